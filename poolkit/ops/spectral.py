r"""Spectral partitions: padded Laplacians of a batch, eigendecomposition grouped by graph size,
and :func:`spectral_partition` (the ``k`` smallest eigenvectors of the normalised
Laplacian, rows normalised, then farthest-point k-means). Written so that a graph gets the
same bits alone and in any batch.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from poolkit.ops.graph import _check_structure, _undirected
from poolkit.ops.kmeans import _farthest_point_kmeans, _unit_rows
from poolkit.src import check_positive_int

__all__ = ['spectral_partition']


def _graph_blocks(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor], batch: Optional[Tensor]):
    """The graph of every node, each graph's size and first node, and the unique undirected
    edges ``u < v`` with their weights (see :func:`_undirected`), all on the CPU."""
    b = torch.zeros(num_nodes, dtype=torch.long) if batch is None else batch.cpu().long()
    sizes = torch.bincount(b)
    start = torch.cumsum(sizes, 0) - sizes
    u, v, w = _undirected(edge_index, num_nodes, edge_weight)
    return b, sizes, start, u, v, w


def _padded_laplacians(rows: Tensor, cols: Tensor, w: Tensor, group: Tensor, local: Tensor, sizes: Tensor,
                       normalized: bool) -> Tuple[Tensor, Tensor]:
    """Laplacians of several small graphs, padded with zeros into one ``[G, m, m]`` float64
    batch, and the ``[G, m]`` mask of real positions.

    ``group``/``local`` give each node's graph and position in it; the edges ``rows -> cols``
    (node ids) with weights ``w`` lie inside graphs. ``normalized`` gives
    ``I - D^{-1/2} A D^{-1/2}`` (an isolated node gets 0 on the diagonal), else ``D - A``."""
    g, m = sizes.numel(), int(sizes.max()) if sizes.numel() else 0
    a = torch.zeros(g, m, m, dtype=torch.float64)
    a.index_put_((group[rows], local[rows], local[cols]), w, accumulate=True)
    deg = a.sum(-1)
    if normalized:
        inv = torch.where(deg > 0, deg.clamp_min(1e-300).rsqrt(), torch.zeros_like(deg))
        lap = torch.diag_embed((deg > 0).double()) - inv.unsqueeze(-1) * a * inv.unsqueeze(-2)
    else:
        lap = torch.diag_embed(deg) - a
    real = torch.arange(m).unsqueeze(0) < sizes.unsqueeze(1)
    return lap, real


def _eigh_by_size(lap: Tensor, sizes: Tensor, each: bool = False) -> Tensor:
    """Eigenvectors of every real block of a padded Laplacian batch (columns by ascending
    eigenvalue, zeros in the padding). Blocks of one size go through one batched ``eigh`` of
    exactly that size, so a graph gets the same basis, even inside a degenerate eigenspace,
    whether it comes alone or in a batch, up to rounding: a batched ``eigh`` can round
    differently (by about 1e-15) with where a block sits in the batch. ``each=True`` calls
    ``eigh`` block by block instead, for the k-means of spectral clustering, which breaks the
    ties of symmetric nodes on differences that small."""
    vec = torch.zeros_like(lap)
    if each:
        for gi, size in enumerate(sizes.tolist()):
            if size > 0:
                vec[gi, :size, :size] = torch.linalg.eigh(lap[gi, :size, :size])[1]
        return vec
    for size in torch.unique(sizes).tolist():
        if size == 0:
            continue
        idx = (sizes == size).nonzero().view(-1)
        vec[idx, :size, :size] = torch.linalg.eigh(lap[idx, :size, :size])[1]
    return vec


def spectral_partition(edge_index: Tensor, num_nodes: int, k: int, edge_weight: Optional[Tensor] = None,
                       batch: Optional[Tensor] = None, iters: int = 100) -> Tuple[Tensor, int]:
    r"""Split every graph into ``min(k, n_g)`` groups by normalised spectral clustering (Ng,
    Jordan and Weiss 2002): the ``k`` eigenvectors of the smallest eigenvalues of
    :math:`L_s = I - D^{-1/2} A D^{-1/2}`, rows scaled to unit length, then k-means
    (:func:`_farthest_point_kmeans`, deterministic).

    The weights of ``(A + Aᵀ)/2`` are used; self-loops are ignored. Groups that k-means
    leaves empty are dropped, so a graph can get fewer than ``k`` groups. Returns the group
    of every node (numbered graph by graph, inside a graph by their lowest node) and their
    number.
    """
    k = check_positive_int(k, "k")
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    n = num_nodes
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=edge_index.device), 0
    b, sizes, start, u, v, w = _graph_blocks(edge_index, n, edge_weight, batch)
    local = torch.arange(n) - start[b]
    lap, real = _padded_laplacians(torch.cat([u, v]), torch.cat([v, u]), torch.cat([w, w]), b, local, sizes, True)
    kg = sizes.clamp(max=k)
    vec = _eigh_by_size(lap, sizes, each=True)
    emb = vec[:, :, : int(kg.max())] * (torch.arange(int(kg.max())) < kg.unsqueeze(1)).unsqueeze(1)
    emb = _unit_rows(emb)
    assign = _farthest_point_kmeans(emb, real, kg, iters)[b, local]  # k-means group of every node
    # number the non-empty groups of each graph by their lowest node
    key = b * (k + 1) + assign
    first = torch.full((int(key.max()) + 1,), n, dtype=torch.long).scatter_reduce_(0, key, torch.arange(n), "amin")
    used = first < n
    order = torch.argsort(first[used])
    label = torch.empty(int(used.sum()), dtype=torch.long)
    label[order] = torch.arange(order.numel())
    remap = torch.full_like(first, -1)
    remap[used] = label
    cluster = remap[key]
    return cluster.to(edge_index.device), int(label.numel())
