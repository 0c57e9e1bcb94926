r"""Dense batches for the soft poolers: padding, per-graph masked sums, the pooled adjacency.

:func:`to_dense_inputs` turns PyG input (``x``, ``edge_index``, ``batch``) into padded
``[B, N, F]`` features, ``[B, N, N]`` adjacency and a ``[B, N]`` mask;
:func:`normalize_pooled_adj` is the step MinCut, DMoN and TVGNN apply to ``A' = SᵀAS``,
:math:`A' \leftarrow D'^{-1/2}(A' - \mathrm{diag}(A'))D'^{-1/2}`. The private helpers
(``_masked``, ``_pooled``, ``_reduce``, ``_trace``) compute the per-graph terms of the
auxiliary losses, which are then averaged over graphs.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from poolkit.src import check_graph_inputs

__all__ = ['to_dense_inputs', 'normalize_pooled_adj']


EPS = 1e-15


# --------------------------------------------------------------------------- helpers
def to_dense_inputs(
    x: Tensor,
    edge_index: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
    adj: Optional[Tensor] = None,
    mask: Optional[Tensor] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Return ``(x [B,N,F], adj [B,N,N], mask [B,N])`` from PyG input or a dense batch.

    PyG input: ``x [N,F]`` with ``edge_index`` (and ``batch``, ``edge_weight``). Dense input:
    ``x [B,N,F]`` (or ``[N,F]``) with ``adj [B,N,N]`` (or ``[N,N]``) and an optional
    ``mask``; a 3-D ``x`` may also get its adjacency as the second positional argument.
    """
    if isinstance(x, Tensor) and x.dim() == 3 and adj is None:
        adj, edge_index = edge_index, None
    if adj is not None:
        if not isinstance(x, Tensor) or x.dim() not in (2, 3):
            raise ValueError(f"x must have shape [B, N, F] or [N, F], got {getattr(x, 'shape', type(x))}")
        if x.dim() == 2:
            x = x.unsqueeze(0)
        if adj.dim() == 2:
            adj = adj.unsqueeze(0)
        b, n, _ = x.shape
        if adj.shape != (b, n, n):
            raise ValueError(f"adj must have shape [{b}, {n}, {n}] to match x {tuple(x.shape)}, got {tuple(adj.shape)}")
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
        elif mask.shape != (b, n):
            raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
        return x, adj.to(x.dtype), mask.bool()
    if edge_index is None:
        raise ValueError("give edge_index (PyG input) or adj (dense input)")
    check_graph_inputs(x, edge_index, batch, None, edge_weight)
    from torch_geometric.utils import to_dense_adj, to_dense_batch

    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    xd, mask = to_dense_batch(x, batch)
    w = None if edge_weight is None else edge_weight.to(x.dtype)
    a = to_dense_adj(edge_index, batch, edge_attr=w, max_num_nodes=xd.size(1), batch_size=xd.size(0))
    return xd, a.to(x.dtype), mask


def _masked(adj: Tensor, s: Tensor, mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Optional[Tensor], Tensor]:
    """Zero the padding rows of ``S``; return ``(adj, s, mask, n)`` with ``n`` nodes per graph.

    Padding rows and columns of ``adj`` must already be zero (``to_dense_adj`` makes them so).
    """
    if s.dim() == 2:
        s, adj = s.unsqueeze(0), adj.unsqueeze(0)
        mask = None if mask is None else mask.view(1, -1)
    if adj.shape != (s.size(0), s.size(1), s.size(1)):
        raise ValueError(f"adj must have shape [{s.size(0)}, {s.size(1)}, {s.size(1)}] to match s, got {tuple(adj.shape)}")
    if mask is None:
        return adj.to(s.dtype), s, None, s.new_full((s.size(0),), float(s.size(1)))
    if mask.shape != s.shape[:2]:
        raise ValueError(f"mask must have shape {list(s.shape[:2])}, got {tuple(mask.shape)}")
    m = mask.to(s.dtype)
    return adj.to(s.dtype), s * m.unsqueeze(-1), mask.bool(), m.sum(1)


def _pooled(adj: Tensor, s: Tensor, adj_pool: Optional[Tensor]) -> Tensor:
    """``Sᵀ A S`` (before any normalisation), reusing ``adj_pool`` when the caller has it."""
    if adj_pool is None:
        return s.transpose(1, 2) @ adj @ s
    return adj_pool if adj_pool.dim() == 3 else adj_pool.unsqueeze(0)


def _reduce(v: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return v.mean()
    if reduction == "none":
        return v
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _trace(m: Tensor) -> Tensor:
    return torch.diagonal(m, dim1=-2, dim2=-1).sum(-1)


def normalize_pooled_adj(adj: Tensor) -> Tensor:
    r"""Zero the diagonal of ``A'`` and return :math:`D'^{-1/2} A' D'^{-1/2}`."""
    k = adj.size(-1)
    adj = adj.masked_fill(torch.eye(k, dtype=torch.bool, device=adj.device), 0.0)
    d = adj.sum(-1)
    inv = d.clamp(min=EPS).rsqrt() * (d > 0)  # 0, not inf, for a supernode without edges
    return adj * (inv.unsqueeze(-1) * inv.unsqueeze(-2))
