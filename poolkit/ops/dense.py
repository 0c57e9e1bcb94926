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

from poolkit.src.functional import EPS, normalize_pooled_adj, to_dense_inputs  # noqa: F401  (EPS: re-exported for poolkit.soft)

__all__ = ['to_dense_inputs', 'normalize_pooled_adj']



# --------------------------------------------------------------------------- helpers
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
