r"""GMPool (Ko et al., "Grouping-Matrix based Graph Pooling with Adaptive Number of
Clusters", AAAI 2023, eqs. 9, 11-15).

With the grouping matrix :math:`M = O\Lambda O^\top` (:mod:`.grouping`),

.. math::  S = O\sqrt{\Lambda_+},\qquad X' = S^\top X,\qquad A' = S^\top A S,\qquad
           E'_{:,:,c} = S^\top E_{:,:,c} S,

keeping every direction whose eigenvalue is not zero to machine precision (``rank_tol``,
``k``: our options), so graphs of one batch get different numbers of supernodes. The
eigendecomposition's backward is :class:`poolkit.ops.eigh.StableEigh`; ``decomposition``
chooses the Taylor or Newton-Schulz root instead.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.ops.eigh import (
    effective_rank,
    eigh_sqrt,
    numerical_rank_tol,
    psd_sqrt_newton_schulz,
    taylor_sqrt,
)
from poolkit.poolers.gmpool.grouping import GroupingMatrix, pool_edge_features
from poolkit.src import DensePooler, PoolInput, SelectOutput, check_positive_int, dense_reduce, register

__all__ = ['GMPool']


# --------------------------------------------------------------------------- poolers
@register("gmpool")
class GMPool(DensePooler):
    r"""GMPool: ``S`` is a square root of the learned grouping matrix (see :mod:`poolkit.poolers.gmpool`).

    Args:
        in_channels: node embedding size ``F`` (the grouping classifier is ``F × 1``).
        decomposition: ``"eigh"`` (``S = O √Λ₊`` with :class:`StableEigh`, variable number of
            clusters), ``"taylor"`` (``S ≈ M^{1/2}`` by :func:`taylor_sqrt`, ``n`` columns, no
            eigenvalues) or ``"newton_schulz"`` (``S ≈ M₊^{1/2}`` by
            :func:`psd_sqrt_newton_schulz`; can overflow on singular ``M`` in float32, see
            the benchmark).
        k: force this many clusters (top-``k`` eigen-directions with a positive eigenvalue),
            ``None`` = every direction with a positive eigenvalue (the paper).
        rank_tol: ``None`` (default, the paper): keep every eigen-direction whose eigenvalue
            is positive, i.e. above the numerical zero :func:`numerical_rank_tol`, so that
            ``S Sᵀ = M₊``. A number ``t`` in ``[0, 1)`` is **our option, not the paper's**:
            drop the directions with ``λ ≤ t · λ_max`` (``t = 1e-2`` was this pooler's
            earlier default). With the mean readout over supernodes of
            :class:`~poolkit.nn.dmpnn.DMPNNPoolNet` it changes what the model computes.
        eps: gap/eigenvalue threshold of the stable backward.
        num_iters: Newton-Schulz iterations, or the degree of the Taylor polynomial.

    Input: PyG-style ``(x, edge_index, batch, edge_attr, edge_weight)``, or a dense batch
    ``x [B, N, F]`` with ``adj=[B, N, N]``, ``mask=[B, N]`` and optionally
    ``edge_attr=[B, N, N, D]``. Output: a dense :class:`PoolingOutput` (``x [B, K, F]``,
    ``adj [B, K, K]``, ``mask [B, K]`` the supernodes each graph really has, ``edge_attr
    [B, K, K, D]``); ``so.extra`` holds ``M``, the eigenvalues and the cluster counts.
    """

    is_trainable = True
    has_aux_loss = False
    pools_edge_attr = True
    is_precomputable = False

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels}

    def __init__(
        self,
        in_channels: int,
        decomposition: str = "eigh",
        k: Optional[int] = None,
        rank_tol: Optional[float] = None,
        eps: float = 1e-6,
        num_iters: int = 20,
    ):
        super().__init__()
        if decomposition not in ("eigh", "taylor", "newton_schulz"):
            raise ValueError(f"decomposition must be 'eigh', 'taylor' or 'newton_schulz', got {decomposition!r}")
        if k is not None:
            check_positive_int(k, "k")
            if decomposition != "eigh":
                raise ValueError("k (a forced number of clusters) needs decomposition='eigh'")
        if rank_tol is not None and not (isinstance(rank_tol, (int, float)) and not isinstance(rank_tol, bool)
                                         and 0.0 <= rank_tol < 1.0):
            raise ValueError(f"rank_tol must be None or a number in [0, 1), got {rank_tol!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        check_positive_int(num_iters, "num_iters")
        self.grouping = GroupingMatrix(in_channels)
        self.decomposition, self.k, self.rank_tol, self.eps, self.num_iters = (
            decomposition, k, None if rank_tol is None else float(rank_tol), float(eps), num_iters,
        )

    def select_dense(self, x: Tensor, mask: Tensor) -> SelectOutput:
        m = self.grouping(x, mask)
        if self.decomposition != "eigh":
            root = taylor_sqrt(m, self.num_iters) if self.decomposition == "taylor" else psd_sqrt_newton_schulz(m, self.num_iters)
            s = root * mask.unsqueeze(-1).to(m.dtype)
            so = SelectOutput.from_dense(s, mask, cluster_mask=mask)
            so.extra.update(M=m, num_clusters=mask.sum(-1))
            return so
        s, lam = eigh_sqrt(m, mask, self.eps)
        sizes = mask.sum(-1)
        zero = numerical_rank_tol(lam, sizes)
        if self.rank_tol is not None:  # our option: a threshold relative to λ_max
            zero = torch.maximum(zero, self.rank_tol * lam[:, :1])
        keep = lam > zero
        # A graph of n_b nodes has at most n_b directions (padding eigenvalues are 0).
        keep &= torch.arange(lam.size(-1), device=lam.device).unsqueeze(0) < sizes.unsqueeze(-1)
        if self.k is not None:
            keep[:, self.k:] = False
        kmax = max(int(keep.sum(-1).max()), 1)
        s = (s * keep.unsqueeze(-2).to(s.dtype))[:, :, :kmax]
        cmask = keep[:, :kmax]
        so = SelectOutput.from_dense(s, mask, cluster_mask=cmask)
        so.extra.update(M=m, eigenvalues=lam, num_clusters=keep.sum(-1), effective_rank=effective_rank(lam, None))
        return so

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        return self.select_dense(x, mask)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``X' = Sᵀ X``, zero on the supernodes a graph does not have."""
        return dense_reduce(x, so.s) * so.cluster_mask.unsqueeze(-1).to(x.dtype)

    def connect_input(self, g: PoolInput, so: SelectOutput, x_pool: Tensor):
        """``A' = Sᵀ A S``, ``E'_{:,:,c} = Sᵀ E_{:,:,c} S`` and the real supernodes."""
        out = super().connect_input(g, so, x_pool)
        out["edge_attr"] = None if g.edge_attr is None else pool_edge_features(so.s, g.edge_attr)
        return out
