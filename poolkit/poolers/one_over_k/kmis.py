r"""k-MIS pooling (Bacciu, Conte, Grossi, Landolfi and Marino, "Generalizing Downsampling from
Regular Data to Graphs", AAAI 2023).

*Select* greedily builds a maximal ``k``-independent set (pairwise hop distance larger
than ``k``) in the order of a ranking (highest degree first by default) and assigns every
node to the best-ranked MIS node within ``k`` hops; *Reduce* is sum/mean/max over the
cluster or ``keep``; *Connect* is ``Sᵀ A S`` without self-loops.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from poolkit.ops.graph import _check_structure, _hard_connect, _undirected
from poolkit.poolers.one_over_k.graclus import node_priority
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register, sparse_reduce

__all__ = ['kmis_select', 'power_graph', 'KMISPool', 'KMIS']


# --------------------------------------------------------------------------- k-MIS
def kmis_select(
    edge_index: Tensor,
    num_nodes: int,
    k: int = 1,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    ranking: str = "degree",
    score: Optional[Tensor] = None,
    seed: Optional[int] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Greedy maximal ``k``-independent set and the assignment of every node to it.

    Returns ``(mis, cluster)``: the sorted indices of the MIS nodes and, for every node,
    the id of its supernode (the position of an MIS node in ``mis``). Every node is within
    ``k`` hops of its MIS node; MIS nodes are more than ``k`` hops apart.

    The ranking decides which nodes enter first: ``"degree"`` (highest weighted degree
    first), ``"score"`` (highest ``score`` first), ``"random"`` or ``"index"``; ties are
    broken by the node priority (index, or a permutation drawn from ``seed``). Each
    round takes every remaining node that ranks best within its ``k``-hop neighbourhood
    and removes the ``k``-hop neighbourhoods of the new MIS nodes; every node is then
    assigned to the best-ranked MIS node within ``k`` hops.
    """
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    check_positive_int(k, "k")
    n = num_nodes
    dev = edge_index.device
    prio = node_priority(n, seed).double()
    u, v, w = _undirected(edge_index, n, edge_weight)
    if ranking == "degree":
        key = torch.zeros(n, dtype=torch.float64).index_add_(0, u, w).index_add_(0, v, w)
    elif ranking == "score":
        if score is None or score.numel() != n:
            raise ValueError(f"score must hold one value per node ({n}) when ranking='score'")
        key = score.detach().cpu().double().view(-1)
    elif ranking in ("random", "index"):
        key = torch.zeros(n, dtype=torch.float64)
        if ranking == "random":
            prio = node_priority(n, 0 if seed is None else seed).double()
    else:
        raise ValueError(f"ranking must be 'degree', 'score', 'random' or 'index', got {ranking!r}")
    order = np.lexsort((prio.numpy(), -key.numpy()))  # best first
    rank = torch.empty(n, dtype=torch.long)
    rank[torch.from_numpy(order)] = torch.arange(n)
    src, dst = torch.cat([u, v]), torch.cat([v, u])

    def spread_min(val: Tensor) -> Tensor:
        for _ in range(k):
            val = val.scatter_reduce(0, dst, val[src], reduce="amin", include_self=True)
        return val

    in_mis = torch.zeros(n, dtype=torch.bool)
    covered = torch.zeros(n, dtype=torch.bool)
    while not bool(covered.all()):
        best = spread_min(torch.where(covered, torch.full_like(rank, n), rank))
        new = (~covered) & (best == rank)
        in_mis |= new
        reach = new.clone()
        for _ in range(k):
            reach = reach.scatter_reduce(0, dst, reach[src], reduce="amax", include_self=True)
        covered |= reach
    mis = in_mis.nonzero().view(-1)
    owner_rank = spread_min(torch.where(in_mis, rank, torch.full_like(rank, n)))
    pos = torch.full((n + 1,), -1, dtype=torch.long)
    pos[rank[mis]] = torch.arange(mis.numel())
    cluster = pos[owner_rank]
    return mis.to(dev), cluster.to(dev)


def power_graph(edge_index: Tensor, num_nodes: int, k: int = 1) -> Tensor:
    r"""Edges of the ``k``-th power graph: ``i ~ j`` when ``0 < hop(i, j) <= k``, i.e. the
    non-zero off-diagonal entries of :math:`(A + I)^k`.

    A maximal ``k``-independent set of ``A`` is a maximal independent set (``k = 1``) of
    this graph, which is how Bacciu et al. define k-MIS; :func:`kmis_select` never builds
    it (it spreads ranks ``k`` hops instead, in ``O(kE)`` memory, while the power graph can
    have up to ``N²`` edges), but with a ranking that does not depend on the edges
    (``"index"``, ``"random"``, ``"score"``) ``kmis_select(power_graph(A, k), k=1)`` gives the
    same set and clusters as ``kmis_select(A, k=k)`` (``tests/test_one_over_k.py``).
    Dense: for small graphs and for teaching.
    """
    _check_structure(edge_index, num_nodes, None, None)
    check_positive_int(k, "k")
    u, v, _ = _undirected(edge_index, num_nodes, None)
    reach = torch.eye(num_nodes, dtype=torch.float64)
    reach[u, v] = 1.0
    reach[v, u] = 1.0
    step = reach.clone()
    for _ in range(k - 1):
        reach = ((reach @ step) > 0).double()
    reach.fill_diagonal_(0.0)
    return reach.nonzero().t().to(edge_index.device)


@register("kmis")
class KMISPool(SparsePooler):
    r"""k-MIS pooling: supernodes are a maximal ``k``-independent set.

    Args:
        k: independence radius (hops); larger ``k`` pools more aggressively.
        reduce_op: ``"sum"``, ``"mean"``, ``"max"`` over each cluster, or ``"keep"`` (the
            features of the MIS node itself, as in downsampling).
        ranking: ``"degree"``, ``"score"`` (pass ``score=`` to the call), ``"random"`` or
            ``"index"``, see :func:`kmis_select`.
        seed: tie-breaking priority.
    """

    is_precomputable = True

    def __init__(self, k: int = 1, reduce_op: str = "sum", ranking: str = "degree", seed: Optional[int] = None):
        super().__init__()
        self.k = check_positive_int(k, "k")
        if reduce_op not in ("sum", "mean", "max", "keep"):
            raise ValueError(f"reduce_op must be 'sum', 'mean', 'max' or 'keep', got {reduce_op!r}")
        if ranking not in ("degree", "score", "random", "index"):
            raise ValueError(f"ranking must be 'degree', 'score', 'random' or 'index', got {ranking!r}")
        self.reduce_op, self.ranking, self.seed = reduce_op, ranking, seed

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, score=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        mis, cluster = kmis_select(edge_index, n, self.k, edge_weight, batch, self.ranking, score, self.seed)
        so = SelectOutput.from_cluster_index(cluster, mis.numel(), batch=batch)
        so.kept = mis
        return so

    def connect(self, edge_index, so, edge_weight=None):
        return _hard_connect(edge_index, so, edge_weight)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        if self.reduce_op == "keep":
            return x[so.kept]
        return sparse_reduce(x, so, op=self.reduce_op)

    def extra_repr(self) -> str:
        return f"k={self.k}, reduce_op={self.reduce_op!r}, ranking={self.ranking!r}"


KMIS = KMISPool  # the old name, kept for one release
