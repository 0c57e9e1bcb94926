r"""Graclus (Dhillon, Guan and Kulis, "Weighted Graph Cuts without Eigenvectors", TPAMI 2007).

*Select* is a greedy heavy-edge matching: every node is merged with at most one neighbour,
preferring the edge of largest normalised-cut weight

.. math::  c_{ij} = a_{ij}\,\Big(\frac{1}{d_i} + \frac{1}{d_j}\Big),\qquad d_i = \sum_j a_{ij},

so ``S`` has one column per pair or unmatched node (about ``N/2`` columns). *Reduce* is
``Sᵀ X`` (or mean/max), *Connect* is ``Sᵀ A S`` without self-loops; ``levels`` repeats it.
Ties between equal weights are broken by a node priority (the index, or a permutation
drawn from ``seed``).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from poolkit.ops.graph import _check_structure, _hard_connect, _undirected
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register

__all__ = ['node_priority', 'graclus_cluster', 'GraclusPool', 'Graclus']


def node_priority(num_nodes: int, seed: Optional[int]) -> Tensor:
    """A unique priority per node: the index, or a seeded random permutation."""
    if seed is None:
        return torch.arange(num_nodes)
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(num_nodes, generator=g)


# --------------------------------------------------------------------------- Graclus
def graclus_cluster(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    seed: Optional[int] = None,
    mode: str = "greedy",
) -> Tensor:
    r"""Graclus matching: a cluster id per node (pairs of adjacent nodes or singletons).

    Ids are consecutive and ordered by the smallest node of each cluster, so with a PyG
    ``batch`` (nodes of a graph stored together) the clusters of graph ``b`` come before
    those of graph ``b + 1``. The graph is symmetrised (``(A + Aᵀ)/2``), self-loops and
    zero-weight edges are ignored, negative weights are rejected.

    ``mode="greedy"`` (default, vectorised): edges are matched in decreasing order of the
    normalised-cut weight ``a_ij (1/d_i + 1/d_j)``, ties broken by a node priority (the
    node index when ``seed`` is ``None``, else a random permutation drawn from ``seed``).
    It runs in rounds: every unmatched node points to its best unmatched neighbour and
    mutual pairs are matched, which gives exactly the sequential greedy matching over the
    sorted edges. ``mode="visit"`` is Dhillon et al.'s node-centric loop: nodes are visited
    by priority and each unmatched node takes its best unmatched neighbour (slower, pure
    Python). Both return a maximal matching.
    """
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    if mode not in ("greedy", "visit"):
        raise ValueError(f"mode must be 'greedy' or 'visit', got {mode!r}")
    n = num_nodes
    device = edge_index.device
    u, v, w = _undirected(edge_index, n, edge_weight)
    deg = torch.zeros(n, dtype=torch.float64).index_add_(0, u, w).index_add_(0, v, w)
    c = w * (1.0 / deg[u] + 1.0 / deg[v]) if u.numel() else w
    prio = node_priority(n, seed)
    partner = torch.arange(n)
    if mode == "greedy":
        pu, pv = prio[u], prio[v]
        order = np.lexsort((torch.minimum(pu, pv).numpy(), torch.maximum(pu, pv).numpy(), c.numpy()))
        rank = torch.empty(u.numel(), dtype=torch.long)
        rank[torch.from_numpy(order)] = torch.arange(u.numel())
        matched = torch.zeros(n, dtype=torch.bool)
        eu, ev, er = u, v, rank
        while eu.numel():
            best = torch.full((n,), -1, dtype=torch.long)
            best.scatter_reduce_(0, torch.cat([eu, ev]), torch.cat([er, er]), reduce="amax")
            mutual = (best[eu] == er) & (best[ev] == er)
            mu, mv = eu[mutual], ev[mutual]
            partner[mu], partner[mv] = mv, mu
            matched[mu] = True
            matched[mv] = True
            alive = ~(matched[eu] | matched[ev])
            eu, ev, er = eu[alive], ev[alive], er[alive]
    else:
        nbrs: List[List[Tuple[float, int, int]]] = [[] for _ in range(n)]
        pl = prio.tolist()
        for a, b, cw in zip(u.tolist(), v.tolist(), c.tolist()):
            nbrs[a].append((cw, pl[b], b))
            nbrs[b].append((cw, pl[a], a))
        done = [False] * n
        for node in torch.argsort(prio, descending=True).tolist():
            if done[node]:
                continue
            done[node] = True
            cand = [t for t in nbrs[node] if not done[t[2]]]
            if cand:
                other = max(cand)[2]
                done[other] = True
                partner[node], partner[other] = other, node
    rep = torch.minimum(torch.arange(n), partner)
    _, cluster = torch.unique(rep, return_inverse=True)
    return cluster.to(device)


def _graclus_levels(edge_index, num_nodes, edge_weight, batch, seed, levels, mode):
    """Apply Graclus ``levels`` times; return the composed cluster vector and its size."""
    cluster = torch.arange(num_nodes, device=edge_index.device)
    ei, ew, n, b = edge_index, edge_weight, num_nodes, batch
    for _ in range(levels):
        cl = graclus_cluster(ei, n, ew, b, seed=seed, mode=mode)
        k = int(cl.max()) + 1 if n else 0
        so = SelectOutput.from_cluster_index(cl, k, batch=b)
        ei, ew = _hard_connect(ei, so, ew)
        cluster, n, b = cl[cluster], k, so.cluster_batch
    return cluster, n


@register("graclus")
class GraclusPool(SparsePooler):
    r"""Graclus pooling: merge matched pairs (about ``N / 2^levels`` supernodes).

    Args:
        levels: how many matchings to compose in one call (1 gives 1-over-2 pooling).
        reduce_op: ``"sum"`` (``Sᵀ X``), ``"mean"`` or ``"max"``.
        seed: tie-breaking priority (``None``: node index), see :func:`graclus_cluster`.
        mode: ``"greedy"`` or ``"visit"``, see :func:`graclus_cluster`.

    Example::

        >>> pool = GraclusPool()
        >>> out = pool(x, edge_index, batch)          # doctest: +SKIP
        >>> out.x.shape[0] <= x.shape[0]              # doctest: +SKIP
    """

    is_precomputable = True

    def __init__(self, levels: int = 1, reduce_op: str = "sum", seed: Optional[int] = None, mode: str = "greedy"):
        super().__init__()
        self.levels = check_positive_int(levels, "levels")
        if reduce_op not in ("sum", "mean", "max"):
            raise ValueError(f"reduce_op must be 'sum', 'mean' or 'max', got {reduce_op!r}")
        self.reduce_op, self.seed, self.mode = reduce_op, seed, mode

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        cluster, k = _graclus_levels(edge_index, n, edge_weight, batch, self.seed, self.levels, self.mode)
        return SelectOutput.from_cluster_index(cluster, k, batch=batch)

    def connect(self, edge_index, so, edge_weight=None):
        return _hard_connect(edge_index, so, edge_weight)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, reduce_op={self.reduce_op!r}, seed={self.seed}"


Graclus = GraclusPool  # the old name, kept for one release
