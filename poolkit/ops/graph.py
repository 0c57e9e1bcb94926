r"""Graph helpers of the one-over-K and spectral poolers: structure checks, undirected edge
lists, connected components, per-graph splits of a batch, and the hard Connect
:math:`A' = S^\top A S` without self-loops for a one-hot ``S``.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from poolkit.src import SelectOutput, check_graph_inputs, sum_duplicate_pairs

__all__ = []


# --------------------------------------------------------------------------- helpers
def _check_structure(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor], batch: Optional[Tensor]) -> None:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 0:
        raise ValueError(f"num_nodes must be an integer >= 0, got {num_nodes!r}")
    check_graph_inputs(torch.empty(num_nodes, 0), edge_index, batch, None, edge_weight)
    if edge_weight is not None and edge_weight.numel() and bool((edge_weight < 0).any()):
        raise ValueError("edge_weight must be non-negative")
    if batch is not None and edge_index.numel() and bool((batch[edge_index[0]] != batch[edge_index[1]]).any()):
        raise ValueError("edge_index joins nodes of different graphs in batch")


def _undirected(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    """Unique undirected edges ``u < v`` with the weight of ``(A + Aᵀ)/2``; self-loops and
    zero weights removed (float64 weights)."""
    row, col = edge_index[0].long().cpu(), edge_index[1].long().cpu()
    w = torch.ones(row.numel(), dtype=torch.float64) if edge_weight is None else edge_weight.detach().cpu().double().view(-1)
    keep = (row != col) & (w > 0)
    row, col, w = row[keep], col[keep], w[keep]
    u, v, ws = sum_duplicate_pairs(torch.minimum(row, col), torch.maximum(row, col), w, num_nodes)
    return u, v, ws / 2


def _hard_connect(edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """``Sᵀ A S`` without self-loops when every node has exactly one supernode of weight 1
    (Graclus, k-MIS): relabel the edges and sum duplicates."""
    dev = edge_index.device
    k = so.num_clusters
    w = torch.ones(edge_index.size(1), device=dev) if edge_weight is None else edge_weight.view(-1)
    if edge_index.numel() == 0:
        return torch.empty(2, 0, dtype=torch.long, device=dev), w.new_zeros(0)
    cl = torch.empty(so.num_nodes, dtype=torch.long, device=dev)
    cl[so.node_index] = so.cluster_index
    r, c = cl[edge_index[0]], cl[edge_index[1]]
    keep = r != c
    r, c, w = r[keep], c[keep], w[keep]
    r, c, ew = sum_duplicate_pairs(r, c, w, k)
    return torch.stack([r, c]), ew


def _components(n: int, u: Tensor, v: Tensor) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = coo_matrix((np.ones(u.numel()), (u.numpy(), v.numpy())), shape=(n, n))
    return connected_components(m, directed=False)[1]


def _split_graphs(n: int, u: Tensor, v: Tensor, w: Tensor, batch: Optional[Tensor]):
    """Yield ``(node_offset, n_g, u_g, v_g, w_g)`` per graph of a batch (local indices)."""
    if batch is None:
        yield 0, n, u, v, w
        return
    b = batch.cpu().long()
    counts = torch.bincount(b, minlength=int(b.max()) + 1 if n else 0)
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    g = b[u]
    order = torch.argsort(g, stable=True)
    u, v, w, g = u[order], v[order], w[order], g[order]
    ecounts = torch.bincount(g, minlength=counts.numel()).tolist()
    us, vs, ws = u.split(ecounts), v.split(ecounts), w.split(ecounts)
    for i, ng in enumerate(counts.tolist()):
        off = int(ptr[i])
        yield off, ng, us[i] - off, vs[i] - off, ws[i]
