r"""Random DiffPool and random MinCut (Mesquita, Souza and Kaski, NeurIPS 2020):
``random_diffpool``, ``random_mincut``.

.. math::  S = \mathrm{softmax}(\tilde S),\qquad \tilde S_{ik} \sim \mathcal U(a, b),\
           \mathcal N(\mu, \sigma^2) \text{ or } \mathcal B(\alpha),

drawn once and never trained (``invariant=True``: :math:`S = \mathrm{softmax}(XW)` with a
fixed random ``W``); Reduce and Connect are DiffPool's (and MinCut's normalisation for
``random_mincut``); no auxiliary loss.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import to_dense_adj, to_dense_batch

from poolkit.ops.dense import normalize_pooled_adj
from poolkit.poolers.soft.diffpool import diffpool_losses
from poolkit.poolers.soft.mincut import mincut_losses
from poolkit.src import (
    Pooler,
    PoolingOutput,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    dense_connect,
    dense_reduce,
    register,
)

__all__ = ['random_matrix', 'RandomDiffPool', 'RandomMinCut']


DISTRIBUTIONS = ("uniform", "normal", "bernoulli")


# --------------------------------------------------------------------------- dense helpers
def _dense_inputs(x, edge_index, batch, edge_weight, adj, mask) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """Bring PyG input (``x`` [N, F]) or a dense batch (``x`` [B, N, F]) to ``(x, adj, mask)``."""
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 2:
        check_graph_inputs(x, edge_index, batch, None, edge_weight)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        xd, mask = to_dense_batch(x, batch)
        adj = None
        if edge_index is not None:
            adj = to_dense_adj(edge_index, batch, edge_weight, max_num_nodes=xd.size(1))
            if adj.size(0) < xd.size(0):  # trailing graphs without edges
                pad = adj.new_zeros(xd.size(0) - adj.size(0), xd.size(1), xd.size(1))
                adj = torch.cat([adj, pad])
        return xd, adj, mask
    if x.dim() != 3:
        raise ValueError(f"x must have shape [num_nodes, F] or [B, N, F], got {tuple(x.shape)}")
    b, n, _ = x.shape
    if adj is not None and adj.shape != (b, n, n):
        raise ValueError(f"adj must have shape [{b}, {n}, {n}], got {tuple(adj.shape)}")
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
    elif mask.shape != (b, n):
        raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
    return x, adj, mask.bool()


def random_matrix(shape, distribution: str = "uniform", generator: Optional[torch.Generator] = None,
                  low: float = 0.0, high: float = 1.0, mean: float = 0.0, std: float = 1.0, p: float = 0.3) -> Tensor:
    r"""A matrix with i.i.d. entries from :math:`\mathcal U(low, high)`, :math:`\mathcal N(mean, std^2)`
    or :math:`\mathcal B(p)` (the three distributions of the paper's Eq. 6)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if distribution == "uniform":
        if not high > low:
            raise ValueError(f"high must be larger than low, got low={low}, high={high}")
        return low + (high - low) * torch.rand(shape, generator=generator)
    if distribution == "normal":
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std}")
        return mean + std * torch.randn(shape, generator=generator)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return torch.bernoulli(torch.full(shape, float(p)), generator=generator)


def _generator(seed: Optional[int]) -> Optional[torch.Generator]:
    return None if seed is None else torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------------------- random assignments
@register("random_diffpool")
class RandomDiffPool(Pooler):
    r"""DiffPool with a fixed random assignment, ``S = softmax(S̃)`` (never trained).

    Args:
        k: number of supernodes.
        max_nodes: rows of ``S̃`` (the largest graph it can pool); needed unless ``invariant``.
        in_channels: feature size, needed when ``invariant`` (``S = softmax(X W)``, ``W`` is
            ``[in_channels, k]``).
        distribution: ``"uniform"`` (``U(low, high)``), ``"normal"`` (``N(mean, std²)``) or
            ``"bernoulli"`` (``B(p)``).
        invariant: use ``S = softmax(X W)`` with a fixed random ``W`` (permutation invariant).
        seed: seed of the random matrix (``None``: torch's global generator).
        with_losses: also return the auxiliary losses of the pooler it replaces (DiffPool's
            ``link`` and ``entropy``, MinCut's ``cut`` and ``ortho``) to compare them with a
            learned ``S``; off by default because the paper trains without them.

    Accepts PyG input ``(x, edge_index, batch)`` or a dense batch ``(x [B, N, F], adj, mask)``
    and returns a dense :class:`PoolingOutput` (``x`` ``[B, k, F]``, ``adj`` ``[B, k, k]``).
    """

    is_dense = True
    is_trainable = False
    has_aux_loss = False

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k, "max_nodes": max_nodes, "seed": 0}

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "uniform", invariant: bool = False, low: float = 0.0, high: float = 1.0,
                 mean: float = 0.0, std: float = 1.0, p: float = 0.3, seed: Optional[int] = None,
                 with_losses: bool = False):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.with_losses = bool(with_losses)
        self.distribution = distribution
        self.invariant = bool(invariant)
        gen = _generator(seed)
        kw = dict(low=low, high=high, mean=mean, std=std, p=p)
        if self.invariant:
            self.in_channels = check_positive_int(in_channels, "in_channels")
            self.max_nodes = None
            self.register_buffer("weight", random_matrix((self.in_channels, self.k), distribution, gen, **kw))
        else:
            self.max_nodes = check_positive_int(max_nodes, "max_nodes")
            self.in_channels = in_channels
            self.register_buffer("s_tilde", random_matrix((self.max_nodes, self.k), distribution, gen, **kw))

    def logits(self, x: Tensor) -> Tensor:
        """``S̃`` (or ``X W``) for a dense batch ``x`` ``[B, N, F]``: ``[B, N, k]``."""
        b, n, f = x.shape
        if self.invariant:
            if f != self.in_channels:
                raise ValueError(f"x has {f} features but in_channels={self.in_channels}")
            return x @ self.weight.to(x.dtype)
        if n > self.max_nodes:
            raise ValueError(f"a graph has {n} nodes but max_nodes={self.max_nodes}; build the pooler with a larger max_nodes")
        return self.s_tilde[:n].to(x.dtype).unsqueeze(0).expand(b, n, self.k)

    def select(self, x: Tensor, edge_index=None, batch=None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        s = torch.softmax(self.logits(x), dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def connect_dense(self, adj: Tensor, so: SelectOutput) -> Tensor:
        return dense_connect(adj, so.s, so.mask)

    def aux_losses(self, adj: Tensor, so: SelectOutput) -> Dict[str, Tensor]:

        return diffpool_losses(adj, so.s, so.mask)

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr=None, edge_weight: Optional[Tensor] = None, adj: Optional[Tensor] = None,
                mask: Optional[Tensor] = None, **kwargs) -> PoolingOutput:
        xd, adj, mask = _dense_inputs(x, edge_index, batch, edge_weight, adj, mask)
        so = self.select(xd, mask=mask)
        x_pool = dense_reduce(xd, so.s, so.mask)
        adj_pool = None if adj is None else self.connect_dense(adj, so)
        kmask = torch.ones(xd.size(0), self.k, dtype=torch.bool, device=xd.device)
        losses = self.aux_losses(adj, so) if (self.with_losses and adj is not None) else {}
        return PoolingOutput(x=x_pool, so=so, adj=adj_pool, mask=kmask, losses=losses)

    def extra_repr(self) -> str:
        return f"k={self.k}, distribution={self.distribution!r}, invariant={self.invariant}"


@register("random_mincut")
class RandomMinCut(RandomDiffPool):
    r"""MinCutPool with a fixed random assignment: ``S = softmax(S̃)``, ``X' = Sᵀ X`` and
    ``A' = D^{-1/2} (Sᵀ A S − diag) D^{-1/2}`` (MinCutPool's connect). The paper's
    ``N``-MINCUTPOOL uses ``distribution="normal"``, the default here."""

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "normal", **kwargs):
        super().__init__(k, max_nodes=max_nodes, in_channels=in_channels, distribution=distribution, **kwargs)

    def connect_dense(self, adj: Tensor, so: SelectOutput) -> Tensor:

        return normalize_pooled_adj(dense_connect(adj, so.s, so.mask))

    def aux_losses(self, adj: Tensor, so: SelectOutput) -> Dict[str, Tensor]:

        return mincut_losses(adj, so.s, so.mask)
