r"""The parts that both edge poolers of Bal et al. share ("Sparse hierarchical representation
learning on molecular graphs", DLG@KDD 2019): the dual-message convolution (eqs. 3-6), the
tanh-gated top-k selection (eqs. 7-8),

.. math::  y_i = p\cdot\tilde a_i,\qquad K = \lceil\rho n\rceil,\qquad S_{\mathrm{kept}_j, j} = \tanh(y_{\mathrm{kept}_j}),

and :class:`EdgeFeaturePool`, whose subclasses differ only in the path feature of Connect. The
family overview is in :mod:`poolkit.poolers.edge`.
"""
from __future__ import annotations

from typing import Optional, Tuple
import math

import torch
from torch import Tensor, nn

from poolkit.poolers.edge.contraction import contract_edges
from poolkit.src import (
    SelectOutput,
    SparsePooler,
    check_graph_inputs,
    check_positive_int,
    check_ratio,
)

__all__ = ['DualMessageConv', 'tanh_topk_select', 'EdgeFeaturePool', 'EdgePool']


def _batch_norm(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """Batch norm that survives 0 or 1 rows (pooled batches can have no bonds at all)."""
    if x.size(0) == 0:
        return x
    if bn.training and x.size(0) == 1:
        # Statistics of a single row are undefined: use the running ones, update nothing.
        return nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return bn(x)


def _check_edge_attr(edge_index: Tensor, edge_attr: Optional[Tensor], channels: Optional[int] = None) -> None:
    if edge_attr is None:
        raise ValueError("edge_attr is required: these layers pool graphs with bond features")
    if not isinstance(edge_attr, Tensor) or edge_attr.dim() != 2:
        shape = tuple(edge_attr.shape) if isinstance(edge_attr, Tensor) else type(edge_attr).__name__
        raise ValueError(f"edge_attr must have shape [num_edges, num_edge_features], got {shape}")
    if edge_attr.size(0) != edge_index.size(1):
        raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but edge_index has {edge_index.size(1)} edges")
    if channels is not None and edge_attr.size(1) != channels:
        raise ValueError(f"edge_attr must have {channels} features per edge, got {edge_attr.size(1)}")


# --------------------------------------------------------------------------- convolution
class DualMessageConv(nn.Module):
    r"""Dual-message graph convolution (eqs. 3-6): updates atoms *and* bonds.

    ``forward(x, edge_index, edge_attr) -> (x', edge_attr')``; ``edge_index[0]`` is the
    source ``j``, ``edge_index[1]`` the target ``i`` (PyG's convention), and molecules hold
    each bond in both directions.
    """

    def __init__(self, in_channels: int, edge_channels: int, out_channels: int, edge_out_channels: int):
        super().__init__()
        for v, n in ((in_channels, "in_channels"), (edge_channels, "edge_channels"),
                     (out_channels, "out_channels"), (edge_out_channels, "edge_out_channels")):
            check_positive_int(v, n)
        self.in_channels, self.edge_channels = in_channels, edge_channels
        self.f = nn.Linear(in_channels + edge_channels, out_channels)  # f_{W_a}
        self.self_node = nn.Linear(in_channels, out_channels)  # W_s, b_s
        self.bn_node = nn.BatchNorm1d(out_channels)
        self.g = nn.Linear(out_channels + edge_channels, edge_out_channels)  # g_{W_e}
        self.self_edge = nn.Linear(edge_channels, edge_out_channels)  # W_e, b_e
        self.bn_edge = nn.BatchNorm1d(edge_out_channels)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tuple[Tensor, Tensor]:
        check_graph_inputs(x, edge_index, edge_attr=edge_attr)
        _check_edge_attr(edge_index, edge_attr, self.edge_channels)
        if x.size(1) != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} features per node, got {x.size(1)}")
        src, dst = edge_index
        msg = self.f(torch.cat([x[src], edge_attr], dim=-1))  # f(a_j, e_ij)
        m = x.new_zeros(x.size(0), msg.size(1)).index_add_(0, dst, msg)  # eq. 3
        a = torch.relu(_batch_norm(self.bn_node, m + self.self_node(x)))  # eq. 4
        m_e = self.g(torch.cat([a[src] + a[dst], edge_attr], dim=-1))  # eq. 5
        e = torch.relu(_batch_norm(self.bn_edge, m_e + self.self_edge(edge_attr)))  # eq. 6
        return a, e


# --------------------------------------------------------------------------- select
def tanh_topk_select(score: Tensor, ratio: float, batch: Optional[Tensor] = None) -> Tensor:
    """Indices of the ``⌈ratio · n_g⌉`` highest scores of every graph, in ascending order.

    Ties go to the lower index, so the result is deterministic.
    """
    ratio = check_ratio(ratio)
    n = score.numel()
    dev = score.device
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=dev)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=dev)
    # Rank nodes inside their graph: sort by score (descending, stable), then by graph.
    order = torch.sort(-score.detach(), stable=True).indices
    order = order[torch.sort(batch[order], stable=True).indices]
    counts = torch.bincount(batch)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n, device=dev) - start[batch[order]]
    k = torch.ceil(counts.to(torch.float64) * ratio).long()
    keep = order[rank < k[batch[order]]]
    return torch.sort(keep).values


# --------------------------------------------------------------------------- poolers
class EdgeFeaturePool(SparsePooler):
    """Bal et al.'s edge-feature pooling: Top-K with ``tanh`` gating plus edge contraction
    of the bond features (see :mod:`poolkit.poolers.edge`). Named for the edge features it
    pools, not to be confused with edge contraction pooling
    (:class:`~poolkit.poolers.one_over_k.EdgeContractionPool`, Diehl's EdgePool)."""

    is_trainable = True

    needs_edge_attr = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, ratio: float = 0.5):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.ratio = check_ratio(ratio)
        self.p = nn.Parameter(torch.empty(in_channels))
        nn.init.uniform_(self.p, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))

    def score(self, x: Tensor) -> Tensor:
        """``y_i = p · ã_i`` (eq. 8)."""
        return x @ self.p

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        y = self.score(x)
        kept = tanh_topk_select(y, self.ratio, batch)
        so = SelectOutput.from_kept_nodes(kept, x.size(0), weight=torch.tanh(y[kept]), batch=batch)
        so.extra["score"] = y
        return so

    def connect_edges(self, edge_index: Tensor, edge_attr: Tensor, so: SelectOutput, x_pool: Tensor, x: Tensor):
        return contract_edges(edge_index, edge_attr, so.kept, so.num_nodes)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, ratio={self.ratio}"

    def check_input(self, g) -> None:
        _check_edge_attr(g.edge_index, g.edge_attr)
        if g.x.size(1) != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} features per node, got {g.x.size(1)}")

    def pooled_edges(self, g, so: SelectOutput, x_pool: Tensor):
        ei, ea = self.connect_edges(g.edge_index, g.edge_attr, so, x_pool, g.x)
        return ei, None, ea

    def connect_input(self, g, so: SelectOutput, x_pool: Tensor):
        out = super().connect_input(g, so, x_pool)
        if out["batch"] is None:  # one graph: its supernodes all belong to graph 0
            out["batch"] = torch.zeros(so.num_clusters, dtype=torch.long, device=x_pool.device)
        return out


EdgePool = EdgeFeaturePool  # the old name, kept for one release
