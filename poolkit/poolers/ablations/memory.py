r"""Graph memory pooling (Khasahmadi et al., "Memory-Based Graph Networks", ICLR 2020) and the
two ablations of Mesquita et al. (NeurIPS 2020): ``gmn``, ``gmn_distance``, ``gmn_random``.

.. math::  S^{(h)}_{ik} \propto \Big(1 + \lVert q_i - \kappa^{(h)}_k \rVert^2/\tau\Big)^{-\frac{\tau+1}{2}},
           \qquad X' = S^\top Q W,\qquad \mathcal L = \mathrm{KL}(P\,\|\,S),\
           P_{ik} \propto S_{ik}^2 / \textstyle\sum_j S_{jk},

heads mixed by a :math:`1\times1` convolution. DISTANCE: Euclidean distance to fixed keys;
RANDOM: fixed uniform head matrices; neither has the auxiliary loss.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.poolers.ablations.random_assign import _generator
from poolkit.src import DensePooler, SelectOutput, check_positive_int, dense_reduce, register

__all__ = ['GMNPool', 'GMNDistancePool', 'GMNRandomPool', 'MemoryPool', 'MemoryDistancePool', 'MemoryRandomPool']


# --------------------------------------------------------------------------- memory pooling
@register("gmn")
class GMNPool(DensePooler):
    r"""Graph memory network pooling layer (kernel variant, learned keys).

    Args:
        in_channels, out_channels: sizes of the queries and of the pooled features
            (``X' = Sᵀ Q W`` with ``W`` ``[in_channels, out_channels]``; the model applies
            the non-linearity).
        k: number of keys (supernodes). heads: number of key sets ``H``.
        tau: degrees of freedom of the Student-t kernel.
        max_nodes: rows of the fixed random head matrices (``gmn_random`` only).
        seed: seed of the fixed keys / random matrices of the variants.

    Graph structure is not used (it is already in the queries); when ``adj`` is given the
    pooled ``Sᵀ A S`` is returned too.
    """

    is_trainable = True
    has_aux_loss = True
    needs_adj = False  # pools features without an adjacency, as the paper's model does
    variant = "kernel"

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "out_channels": in_channels, "k": k, "seed": 0}

    def __init__(self, in_channels: int, out_channels: int, k: int, heads: int = 1, tau: float = 1.0,
                 max_nodes: Optional[int] = None, seed: Optional[int] = None):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.k = check_positive_int(k, "k")
        self.heads = check_positive_int(heads, "heads")
        if not (isinstance(tau, (int, float)) and tau > 0):
            raise ValueError(f"tau must be > 0, got {tau!r}")
        self.tau = float(tau)
        self.max_nodes = None if max_nodes is None else check_positive_int(max_nodes, "max_nodes")
        self.conv = torch.nn.Conv2d(self.heads, 1, kernel_size=1, bias=False)
        self.lin = torch.nn.Linear(self.in_channels, self.out_channels, bias=False)
        self._init_keys(_generator(seed))

    def _init_keys(self, gen):
        self.keys = torch.nn.Parameter(torch.randn(self.heads, self.k, self.in_channels, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        """``[B, H, N, K]``: one (row-normalised) assignment per head."""
        d2 = (x.unsqueeze(1).unsqueeze(3) - self.keys.to(x.dtype).unsqueeze(0).unsqueeze(2)).pow(2).sum(-1)
        s = (1.0 + d2 / self.tau).pow(-(self.tau + 1.0) / 2.0)
        return s / s.sum(-1, keepdim=True)

    def check_input(self, g) -> None:
        if g.x.size(-1) != self.in_channels:
            raise ValueError(f"x has {g.x.size(-1)} features but in_channels={self.in_channels}")

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        s_heads = self.head_assignments(x)
        s = torch.softmax(self.conv(s_heads).squeeze(1), dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``X' = Sᵀ Q W``."""
        return self.lin(dense_reduce(x, so.s))

    def losses(self, adj: Optional[Tensor], so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        if not self.has_aux_loss:
            return {}
        s, mask = so.s, so.mask
        s_c = s.clamp(min=1e-15)
        p = s.pow(2) / s.sum(1, keepdim=True).clamp(min=1e-15)
        p = (p / p.sum(-1, keepdim=True).clamp(min=1e-15)).detach()
        kl = (p * (p.clamp(min=1e-15).log() - s_c.log())).sum(-1)  # [B, N]
        m = mask.to(s.dtype)
        per_graph = (kl * m).sum(1) / m.sum(1).clamp(min=1)
        return {"kl": per_graph.mean()}

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, k={self.k}, heads={self.heads}, variant={self.variant!r}"


@register("gmn_distance")
class GMNDistancePool(GMNPool):
    r"""DISTANCE variant: ``S^{(h)}_{ik} ∝ ‖q_i − κ_k^{(h)}‖`` with fixed keys ``κ ~ U(0, 1)``."""

    is_trainable = True  # the head-mixing convolution and W are still learned
    has_aux_loss = False
    variant = "distance"

    def _init_keys(self, gen):
        self.register_buffer("keys", torch.rand(self.heads, self.k, self.in_channels, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        d2 = (x.unsqueeze(1).unsqueeze(3) - self.keys.to(x.dtype).unsqueeze(0).unsqueeze(2)).pow(2).sum(-1)
        d = (d2 + 1e-12).sqrt()
        return d / d.sum(-1, keepdim=True).clamp(min=1e-12)


@register("gmn_random")
class GMNRandomPool(GMNPool):
    r"""RANDOM variant: the head matrices are fixed ``U(0, 1)`` noise ``[H, max_nodes, K]``
    (row ``i`` used for the ``i``-th node of every graph, so not permutation invariant)."""

    has_aux_loss = False
    variant = "random"

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {**super().example_kwargs(in_channels, k, edge_channels, max_nodes), "max_nodes": max_nodes}

    def _init_keys(self, gen):
        n = check_positive_int(self.max_nodes, "max_nodes")
        self.register_buffer("noise", torch.rand(self.heads, n, self.k, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        if n > self.noise.size(1):
            raise ValueError(f"a graph has {n} nodes but max_nodes={self.noise.size(1)}")
        r = self.noise[:, :n].to(x.dtype)
        return (r / r.sum(-1, keepdim=True)).unsqueeze(0).expand(b, -1, -1, -1)


# the old names, kept for one release
MemoryPool, MemoryDistancePool, MemoryRandomPool = GMNPool, GMNDistancePool, GMNRandomPool
