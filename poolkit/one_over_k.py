r"""One-over-K pooling: Graclus, Node Decimation Pooling (NDP) and k-MIS.

These poolers extend the "keep one sample out of K" idea of pooling on grids and
sequences to graphs. None of them looks at node features or has parameters, so the
whole pooling pyramid can be computed once per graph, before training
(:class:`Precoarsen`). In SRC terms (see :mod:`poolkit.src`):

**Graclus** (Dhillon, Guan and Kulis, TPAMI 2007). *Select* is a greedy heavy-edge
matching: every node is merged with at most one neighbour, preferring the edge of largest
normalised-cut weight

.. math::  c_{ij} = a_{ij}\,\Big(\frac{1}{d_i} + \frac{1}{d_j}\Big),\qquad d_i = \sum_j a_{ij},

so ``S`` has one column per pair or unmatched node (about ``N/2`` columns). *Reduce* is
``Sᵀ X`` (or mean/max), *Connect* is ``Sᵀ A S`` without self-loops. Repeating it gives
the multi-level coarsening of the paper (``levels``).

**NDP** (Bianchi, Grattarola, Livi and Alippi, TNNLS 2020). *Select* approximates the
MAXCUT with the sign of the eigenvector ``u_max`` of the largest eigenvalue of the
normalised Laplacian ``L_s = I - D^{-1/2} A D^{-1/2}``; one side of the cut is kept
(``S`` selects columns of the identity). When the spectral cut removes less than half the
edge weight (tiny graphs, some non-bipartite graphs) a local search flips single nodes
until every node has at least half of its edge weight across the cut, which guarantees a
cut of at least one half. *Reduce* keeps the features of the kept nodes. *Connect* is the
Kron reduction of the Laplacian ``L = D - A``, the Schur complement

.. math::  L' = L_{++} - L_{+-}\,L_{--}^{-1}\,L_{-+},

which links two kept nodes when a walk joins them through dropped nodes; ``A' = -L'``
off the diagonal, and weights below ``sparsify`` are dropped.

**k-MIS** (Bacciu, Conte, Grossi, Landolfi and Marino, 2022/2023). *Select* greedily
builds a maximal ``k``-independent set (pairwise hop distance larger than ``k``), taking
nodes in the order of a ranking (highest degree first by default), and assigns every node
to the best-ranked MIS node within ``k`` hops. ``k = 1`` is an ordinary maximal
independent set; larger ``k`` pools more aggressively. *Reduce* is sum/mean/max over the
cluster or ``keep`` (the MIS node's own features); *Connect* is ``Sᵀ A S`` without
self-loops.

Permutation behaviour: the three selections depend on node order only through tie
breaking. Graclus breaks ties between equal weights with a node priority (the node index,
or a random permutation drawn from ``seed``); k-MIS breaks ties of its ranking the same
way; NDP depends on the order only through the sign of ``u_max`` and exact eigenvalue
ties. With distinct edge weights (Graclus) or distinct scores (k-MIS), relabelling the
nodes relabels the output (``tests/test_one_over_k.py`` checks it).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .src import (
    Pooler,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    register,
    sparse_reduce,
    sum_duplicate_pairs,
)

__all__ = [
    "graclus_cluster",
    "ndp_partition",
    "kron_reduction",
    "kron_reduce_dense",
    "kmis_select",
    "power_graph",
    "Graclus",
    "NDP",
    "KMIS",
    "PyramidData",
    "Precoarsen",
    "pyramid_level",
    "PyramidGNN",
    "pyramid_figure",
]


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


def _priority(num_nodes: int, seed: Optional[int]) -> Tensor:
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
    prio = _priority(n, seed)
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
class Graclus(Pooler):
    r"""Graclus pooling: merge matched pairs (about ``N / 2^levels`` supernodes).

    Args:
        levels: how many matchings to compose in one call (1 gives 1-over-2 pooling).
        reduce_op: ``"sum"`` (``Sᵀ X``), ``"mean"`` or ``"max"``.
        seed: tie-breaking priority (``None``: node index), see :func:`graclus_cluster`.
        mode: ``"greedy"`` or ``"visit"``, see :func:`graclus_cluster`.

    Example::

        >>> pool = Graclus()
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


# --------------------------------------------------------------------------- NDP
def kron_reduce_dense(L: Tensor, kept: Tensor) -> Tensor:
    r"""Kron reduction of a dense Laplacian: ``L_{++} - L_{+-} L_{--}^{-1} L_{-+}``.

    ``kept`` is a boolean mask or an index of the kept nodes. ``L_{--}`` must be
    invertible (every connected component contains a kept node).
    """
    n = L.size(0)
    mask = torch.zeros(n, dtype=torch.bool, device=L.device)
    mask[kept] = True
    p, m = mask.nonzero().view(-1), (~mask).nonzero().view(-1)
    out = L[p][:, p]
    if m.numel():
        out = out - L[p][:, m] @ torch.linalg.solve(L[m][:, m], L[m][:, p])
    return out


def _maxcut_side(A: np.ndarray) -> Tuple[np.ndarray, bool]:
    """Boolean mask of the kept side of NDP's MAXCUT on one graph's dense adjacency, and
    whether the graph is known to be connected."""
    n = A.shape[0]
    d = A.sum(1)
    if n == 1 or d.sum() == 0:
        return np.ones(n, dtype=bool), n == 1
    inv = np.zeros(n)
    inv[d > 0] = 1.0 / np.sqrt(d[d > 0])
    Ls = np.diag((d > 0).astype(float)) - inv[:, None] * A * inv[None, :]
    if n > 400:
        from scipy.sparse import csr_matrix
        from scipy.sparse.linalg import eigsh

        _, vec = eigsh(csr_matrix(Ls), k=1, which="LA")
        u, connected = vec[:, 0], False
    else:
        lam, vec = np.linalg.eigh(Ls)
        # the multiplicity of the eigenvalue 0 counts the connected components
        u, connected = vec[:, -1], bool(lam[1] > 1e-9)
    z = np.where(u >= 0, 1.0, -1.0)
    total = A.sum()
    if (A * (z[:, None] != z[None, :])).sum() < 0.5 * total:
        # Local search: flip a node while it has more weight on its own side.
        gain = (A @ z) * z
        while gain.max() > 1e-12:
            i = int(np.argmax(gain))
            z[i] = -z[i]
            gain += 2.0 * A[i] * z[i] * z
            gain[i] = -gain[i]
    side = z > 0
    # Keep the larger side (ties: the side of node 0) so the rule does not depend on the
    # arbitrary sign of the eigenvector.
    if side.sum() < n - side.sum() or (2 * side.sum() == n and not side[0]):
        side = ~side
    side[d == 0] = True  # an isolated node has no edge to carry its information away
    return side, connected


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


def ndp_partition(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    sparsify: float = 1e-2,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""NDP select + connect on every graph of a batch.

    Returns ``(kept, edge_index', edge_weight')``: the sorted indices of the kept nodes
    (supernode ``j`` is node ``kept[j]``) and the Kron-reduced, sparsified graph on them
    (no self-loops, both directions stored). Every connected component keeps at least one
    node, so ``L_{--}`` is invertible.
    """
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    if not (isinstance(sparsify, (int, float)) and sparsify >= 0):
        raise ValueError(f"sparsify must be a number >= 0, got {sparsify!r}")
    n = num_nodes
    u, v, w = _undirected(edge_index, n, edge_weight)
    kept_all, rows, cols, vals = [], [], [], []
    n_kept = 0
    for off, ng, ug, vg, wg in _split_graphs(n, u, v, w, batch):
        if ng == 0:
            continue
        A = np.zeros((ng, ng))
        ui, vi, wi = ug.numpy(), vg.numpy(), wg.numpy()
        A[ui, vi] = wi
        A[vi, ui] = wi
        side, connected = _maxcut_side(A)
        if not connected:  # every connected component keeps at least one node
            comp = _components(ng, ug, vg) if ui.size else np.arange(ng)
            has_kept = np.zeros(comp.max() + 1, dtype=bool)
            has_kept[comp[side]] = True
            for cid in np.nonzero(~has_kept)[0]:
                side[np.nonzero(comp == cid)[0][0]] = True
        p, m = np.nonzero(side)[0], np.nonzero(~side)[0]
        L = np.diag(A.sum(1)) - A
        Lr = L[np.ix_(p, p)]
        if m.size:
            Lr = Lr - L[np.ix_(p, m)] @ np.linalg.solve(L[np.ix_(m, m)], L[np.ix_(m, p)])
        Ar = -Lr
        np.fill_diagonal(Ar, 0.0)
        r, c = np.nonzero(Ar > max(sparsify, 1e-12))
        rows.append(r + n_kept)
        cols.append(c + n_kept)
        vals.append(Ar[r, c])
        kept_all.append(p + off)
        n_kept += p.size
    dev = edge_index.device
    dtype = edge_weight.dtype if edge_weight is not None and edge_weight.is_floating_point() else torch.float32
    if not kept_all:
        return torch.empty(0, dtype=torch.long, device=dev), torch.empty(2, 0, dtype=torch.long, device=dev), torch.empty(0, dtype=dtype, device=dev)
    kept = torch.from_numpy(np.concatenate(kept_all)).long().to(dev)
    ei = torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)])).long().to(dev)
    ew = torch.from_numpy(np.concatenate(vals)).to(dtype=dtype, device=dev)
    return kept, ei, ew


def kron_reduction(
    edge_index: Tensor,
    num_nodes: int,
    kept: Tensor,
    edge_weight: Optional[Tensor] = None,
    sparsify: float = 0.0,
) -> Tuple[Tensor, Tensor]:
    """Kron-reduced graph on the ``kept`` nodes of one graph (``A' = -L'`` off the
    diagonal), weights at or below ``sparsify`` dropped. Dense; for small graphs."""
    u, v, w = _undirected(edge_index, num_nodes, edge_weight)
    A = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    A[u, v] = w
    A[v, u] = w
    L = torch.diag(A.sum(1)) - A
    Ar = -kron_reduce_dense(L, kept.cpu())
    Ar.fill_diagonal_(0.0)
    r, c = (Ar > max(sparsify, 1e-12)).nonzero(as_tuple=True)
    return torch.stack([r, c]).to(edge_index.device), Ar[r, c].float().to(edge_index.device)


@register("ndp")
class NDP(Pooler):
    r"""Node Decimation Pooling: keep one side of a spectral MAXCUT, Kron-reduce the graph.

    Args:
        sparsify: Kron-reduced edges with weight at or below this are dropped (the paper
            uses ``1e-2``).

    The pooled graph carries edge weights (``out.edge_weight``).
    """

    is_precomputable = True

    def __init__(self, sparsify: float = 1e-2):
        super().__init__()
        self.sparsify = sparsify

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        kept, ei, ew = ndp_partition(edge_index, n, edge_weight, batch, sparsify=self.sparsify)
        so = SelectOutput.from_kept_nodes(kept, n, batch=batch)
        so.extra["edge_index"], so.extra["edge_weight"] = ei, ew
        return so

    def connect(self, edge_index, so, edge_weight=None):
        if "edge_index" not in so.extra:
            raise ValueError("NDP.connect needs the SelectOutput returned by NDP.select")
        return so.extra["edge_index"], so.extra["edge_weight"]

    def extra_repr(self) -> str:
        return f"sparsify={self.sparsify}"


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
    prio = _priority(n, seed).double()
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
            prio = _priority(n, 0 if seed is None else seed).double()
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
class KMIS(Pooler):
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


# --------------------------------------------------------------------------- pre-coarsening
try:
    from torch_geometric.data import Data
    from torch_geometric.transforms import BaseTransform
except ImportError:  # pragma: no cover - torch_geometric is a dependency
    Data, BaseTransform = object, object


class PyramidData(Data):
    r"""A PyG ``Data`` that carries a precomputed pooling pyramid.

    For level ``l = 1..L``: ``pool{l}_s`` ``[2, nnz]`` lists the non-zeros of ``S_l``
    (row: node of level ``l-1``, column: supernode of level ``l``), ``pool{l}_w`` their
    weights, ``pool{l}_edge_index`` / ``pool{l}_edge_weight`` the pooled graph.
    ``pool_sizes`` ``[1, L+1]`` holds the node count of every level. When a DataLoader
    batches these objects, rows and columns of ``S_l`` and the pooled edges are shifted by
    the node counts of their own level, so every level of the batch stays right.
    """

    _KEYS: Dict[str, Tuple[int, str]] = {}

    @classmethod
    def _level(cls, key: str) -> Tuple[int, str]:
        """``(level, kind)`` of a pyramid key (``(0, "")`` for other keys), cached."""
        hit = cls._KEYS.get(key)
        if hit is None:
            hit = (0, "")
            if key.startswith("pool") and key[4:5].isdigit():
                lvl, rest = key[4:].split("_", 1)
                hit = (int(lvl), rest)
            cls._KEYS[key] = hit
        return hit

    def __inc__(self, key, value, *args, **kwargs):
        lvl, kind = self._level(key)
        if lvl:
            if kind == "s":  # rows: nodes of level l-1, columns: supernodes of level l
                return self.pool_sizes[0, lvl - 1:lvl + 1].view(2, 1)
            if kind == "edge_index":
                return self.pool_sizes[0, lvl]
            return 0
        if key == "pool_sizes":
            return 0
        return super().__inc__(key, value, *args, **kwargs)

    def __cat_dim__(self, key, value, *args, **kwargs):
        lvl, kind = self._level(key)
        if lvl:
            return -1 if kind in ("s", "edge_index") else 0
        if key == "pool_sizes":
            return 0
        return super().__cat_dim__(key, value, *args, **kwargs)

    @property
    def num_levels(self) -> int:
        return self.pool_sizes.size(-1) - 1


_METHODS = {"graclus": Graclus, "ndp": NDP, "kmis": KMIS}


class Precoarsen(BaseTransform):
    r"""Compute the pooling pyramid of a graph once, before training.

    ``Precoarsen("graclus", levels=2)(data)`` returns a :class:`PyramidData` with the
    ``levels`` assignment matrices and pooled graphs (see its docstring). Apply it to a
    list of graphs (``[t(d) for d in dataset]``) or as a dataset ``transform``; then
    :func:`pyramid_level` reads level ``l`` back from a batch. Extra keyword arguments go
    to the pooler (``k=2`` for k-MIS, ``sparsify=`` for NDP, ``seed=`` ...).
    """

    def __init__(self, method: str = "graclus", levels: int = 2, **kwargs):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
        self.method = method
        self.levels = check_positive_int(levels, "levels")
        self.kwargs = kwargs
        self.pooler = _METHODS[method](**kwargs)

    def forward(self, data: Data) -> PyramidData:
        out = PyramidData(**{k: v for k, v in data.items()})
        n = int(data.num_nodes)
        ei = data.edge_index
        ew = getattr(data, "edge_weight", None)
        sizes = [n]
        dummy = torch.empty(0, 0)
        for lvl in range(1, self.levels + 1):
            so = self.pooler.select(dummy, ei, edge_weight=ew, num_nodes=n)
            ei, ew = self.pooler.connect(ei, so, ew)
            n = so.num_clusters
            out[f"pool{lvl}_s"] = torch.stack([so.node_index, so.cluster_index])
            out[f"pool{lvl}_w"] = so.weight.float()
            out[f"pool{lvl}_edge_index"] = ei
            out[f"pool{lvl}_edge_weight"] = ew.float()
            sizes.append(n)
        out.pool_sizes = torch.tensor([sizes])
        return out

    def transform_all(self, graphs) -> List[PyramidData]:
        r"""``[self(g) for g in graphs]``, computed as one batch.

        The poolers are vectorised across the graphs of a PyG batch, so the whole list is
        pooled at once and the levels are split back per graph: on NCI1 (4,110 graphs) this
        is about 30 times faster for Graclus than the loop over graphs
        (``benchmarks/results/one_over_k.md``). The result equals the loop's exactly when
        ties are broken by node index (``seed=None``, the default); with a ``seed``, the
        random tie-breaking priority is drawn over the batch instead of per graph.
        """
        from torch_geometric.data import Batch

        graphs = list(graphs)
        if not graphs:
            return []
        plain = []
        for g in graphs:
            d = Data(edge_index=g.edge_index, num_nodes=int(g.num_nodes))
            if getattr(g, "edge_weight", None) is not None:
                d.edge_weight = g.edge_weight
            plain.append(d)
        big = Batch.from_data_list(plain)
        nb = len(graphs)
        n, ei, b = int(big.num_nodes), big.edge_index, big.batch
        ew = getattr(big, "edge_weight", None)
        n_per = [torch.bincount(b, minlength=nb)]
        levels = []
        dummy = torch.empty(0, 0)
        for _ in range(self.levels):
            so = self.pooler.select(dummy, ei, batch=b, edge_weight=ew, num_nodes=n)
            ei, ew = self.pooler.connect(ei, so, ew)
            cb = so.cluster_batch if so.cluster_batch is not None else torch.zeros(so.num_clusters, dtype=torch.long)
            levels.append((so, b, cb, ei, ew))
            n, b = so.num_clusters, cb
            n_per.append(torch.bincount(cb, minlength=nb))

        def split(values, graph_of, counts):
            order = torch.argsort(graph_of, stable=True)
            return [v.split(counts) for v in (x[..., order] for x in values)]

        outs = [PyramidData(**{k: v for k, v in g.items()}) for g in graphs]
        for lvl, (so, b_prev, b_next, lei, lew) in enumerate(levels, start=1):
            off_prev = torch.cumsum(n_per[lvl - 1], 0) - n_per[lvl - 1]
            off_next = torch.cumsum(n_per[lvl], 0) - n_per[lvl]
            g_s = b_prev[so.node_index]
            s_cnt = torch.bincount(g_s, minlength=nb).tolist()
            (rows, cols, ws) = split([so.node_index, so.cluster_index, so.weight.float()], g_s, s_cnt)
            g_e = b_next[lei[0]] if lei.numel() else torch.zeros(0, dtype=torch.long)
            e_cnt = torch.bincount(g_e, minlength=nb).tolist()
            (er, ec, eww) = split([lei[0], lei[1], lew.float()], g_e, e_cnt)
            for i, out in enumerate(outs):
                out[f"pool{lvl}_s"] = torch.stack([rows[i] - off_prev[i], cols[i] - off_next[i]])
                out[f"pool{lvl}_w"] = ws[i]
                out[f"pool{lvl}_edge_index"] = torch.stack([er[i] - off_next[i], ec[i] - off_next[i]])
                out[f"pool{lvl}_edge_weight"] = eww[i]
        sizes = torch.stack(n_per, 1)
        for i, out in enumerate(outs):
            out.pool_sizes = sizes[i:i + 1].clone()
        return outs

    def __repr__(self) -> str:
        args = ", ".join([repr(self.method), f"levels={self.levels}"] + [f"{k}={v!r}" for k, v in self.kwargs.items()])
        return f"Precoarsen({args})"


def pyramid_level(data: PyramidData, level: int) -> Dict[str, object]:
    r"""Level ``level`` (1-based) of a (batched) :class:`PyramidData`.

    Returns a dict with ``so`` (the :class:`~poolkit.src.SelectOutput` from level
    ``level-1`` to ``level``, with ``batch`` and ``cluster_batch``), ``edge_index``,
    ``edge_weight`` and ``batch`` of the pooled level. Use it as
    ``x = poolkit.src.reduce(x, lv["so"])`` in a model.
    """
    sizes = data.pool_sizes.view(-1, data.pool_sizes.size(-1))
    if not (1 <= level < sizes.size(1)):
        raise ValueError(f"level must be in [1, {sizes.size(1) - 1}], got {level!r}")
    graphs = torch.arange(sizes.size(0), device=sizes.device)
    b_prev = torch.repeat_interleave(graphs, sizes[:, level - 1])
    b_next = torch.repeat_interleave(graphs, sizes[:, level])
    s = data[f"pool{level}_s"]
    so = SelectOutput(
        node_index=s[0],
        cluster_index=s[1],
        weight=data[f"pool{level}_w"],
        num_nodes=int(sizes[:, level - 1].sum()),
        num_clusters=int(sizes[:, level].sum()),
        batch=b_prev,
        cluster_batch=b_next,
    )
    return {
        "so": so,
        "edge_index": data[f"pool{level}_edge_index"],
        "edge_weight": data[f"pool{level}_edge_weight"],
        "batch": b_next,
    }


# --------------------------------------------------------------------------- a model and a figure
class PyramidGNN(torch.nn.Module):
    r"""``[GNN → reduce with the precomputed S_l]×L → GNN → readout → MLP``.

    The model for data coarsened by :class:`Precoarsen`: pooling costs one sparse
    ``Sᵀ X`` per level, with no matching, eigenvector or MIS computed while training.
    Level ``l`` runs its GNN on ``pool{l}_edge_index`` with the pooled edge weights.
    Returns ``(prediction, {})`` as :func:`poolkit.train.fit` expects.
    """

    def __init__(self, in_channels: int, out_channels: int, levels: int = 2, hidden: int = 64,
                 conv: str = "gcn", reduce_op: str = "sum", readout: str = "mean"):
        super().__init__()
        from .nn.gnn import GNN, MLP

        self.levels, self.reduce_op, self.readout_kind = check_positive_int(levels, "levels"), reduce_op, readout
        self.blocks = torch.nn.ModuleList(
            [GNN(in_channels if i == 0 else hidden, hidden, 1, conv=conv) for i in range(levels + 1)]
        )
        self.head = MLP([hidden, hidden, out_channels])

    def forward(self, data):
        from .nn.gnn import readout
        from .src import reduce as src_reduce

        x, ei, ew = data.x.float(), data.edge_index, None
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = data.pool_sizes.view(-1, data.pool_sizes.size(-1)).size(0)
        for lvl, block in enumerate(self.blocks):
            x = block(x, ei, ew)
            if lvl == self.levels:
                break
            lv = pyramid_level(data, lvl + 1)
            x = src_reduce(x, lv["so"], op=self.reduce_op)
            ei, ew, batch = lv["edge_index"], lv["edge_weight"], lv["batch"]
        pred = self.head(readout(x, batch, kind=self.readout_kind, num_graphs=num_graphs))
        return (pred.view(-1) if pred.size(-1) == 1 else pred), {}


def pyramid_figure(datas: Dict[str, PyramidData], pos=None, title: str = "", height: int = 300,
                   seed: int = 0, layout: str = "kamada_kawai"):
    r"""Draw pyramids side by side: one row per entry of ``datas`` (e.g. per method), one
    column per level. Level-0 nodes are coloured by their level-1 supernode; a supernode
    sits at the mean position of the original nodes it stands for; edge width follows the
    pooled edge weight."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from .viz import _color, graph_layout

    names = list(datas)
    first = datas[names[0]]
    n0 = int(first.pool_sizes[0, 0])
    if pos is None:
        pos = graph_layout(first.edge_index.cpu().numpy(), n0, seed=seed, kind=layout)
    pos = np.asarray(pos, dtype=float)
    levels = max(d.num_levels for d in datas.values())
    titles = []
    for nm in names:
        sz = datas[nm].pool_sizes.view(-1).tolist()
        titles += [f"{nm}: level {l} ({sz[l]} nodes)" if l < len(sz) else "" for l in range(levels + 1)]
    fig = make_subplots(rows=len(names), cols=levels + 1, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    for r, nm in enumerate(names, start=1):
        d = datas[nm]
        p = pos
        owner = torch.arange(n0)  # level-0 node -> its node at the current level (-1 dropped)
        for lvl in range(d.num_levels + 1):
            if lvl == 0:
                ei, ew = d.edge_index, torch.ones(d.edge_index.size(1))
            else:
                ei, ew = d[f"pool{lvl}_edge_index"], d[f"pool{lvl}_edge_weight"]
            n_l = int(d.pool_sizes[0, lvl])
            if lvl < d.num_levels:
                s = d[f"pool{lvl + 1}_s"]
                nxt = torch.full((n_l,), -1, dtype=torch.long)
                nxt[s[0]] = s[1]
                colour = nxt.tolist()
            else:
                colour = list(range(n_l))
            wmax = float(ew.max()) if ew.numel() else 1.0
            for (u, v), w in zip(ei.t().tolist(), ew.tolist()):
                if u < v:
                    fig.add_trace(go.Scatter(x=[p[u, 0], p[v, 0]], y=[p[u, 1], p[v, 1]], mode="lines",
                                             line=dict(color="#888", width=0.5 + 2.5 * w / wmax),
                                             hoverinfo="text", text=f"weight {w:.3g}", showlegend=False), r, lvl + 1)
            fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers",
                                     marker=dict(size=8 if lvl == 0 else 10, line=dict(width=0.5, color="#333"),
                                                 color=[_color(c) if c >= 0 else "#dddddd" for c in colour]),
                                     text=[f"node {i} → {c}" for i, c in enumerate(colour)], hoverinfo="text",
                                     showlegend=False), r, lvl + 1)
            if lvl < d.num_levels:
                owner = torch.where(owner >= 0, nxt[owner.clamp(min=0)], owner)
                # supernode position: mean of the original nodes it stands for
                newp = np.zeros((int(d.pool_sizes[0, lvl + 1]), 2))
                cnt = np.zeros(newp.shape[0])
                o = owner.numpy()
                np.add.at(newp, o[o >= 0], pos[o >= 0])
                np.add.at(cnt, o[o >= 0], 1.0)
                p = newp / np.maximum(cnt, 1)[:, None]
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_layout(title=title or None, height=height * len(names), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60 if title else 30, b=10))
    return fig


# --------------------------------------------------------------------------- edge contraction
__all__ += ["edge_contraction_cluster", "EdgeContractionPooling"]


def edge_contraction_cluster(edge_index: Tensor, edge_score: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""Greedy edge contraction, vectorised: contract edges in decreasing order of
    ``edge_score``, skipping an edge when one of its nodes is already contracted.

    Returns ``(cluster, matched)``: a cluster id per node (ids consecutive and ordered by
    the smallest node of each cluster, so a PyG batch keeps its graphs contiguous) and a
    boolean mask of the contracted edges. Ties between equal scores go to the edge listed
    first; self-loops are never contracted.

    The sequential rule ("take the best remaining edge, drop the edges that touch it") is
    computed in rounds, all edges at once: every node points to its best-ranked live edge,
    and an edge that is the best of *both* its nodes is contracted (it would be the next
    one the sequential loop takes at those nodes, whatever it does elsewhere). Contracted
    nodes kill their other edges, and the rounds repeat until no live edge is left. This
    gives exactly the sequential greedy matching, with a few tensor operations per round
    instead of one Python step per edge (the loop that makes PyG's ``EdgePooling`` slow,
    PyG issue 546); the number of rounds is at most the length of the longest chain of
    edges with increasing scores, in practice a handful.
    """
    dev = edge_index.device
    n, m = num_nodes, edge_index.size(1)
    order = torch.sort(edge_score.detach().view(-1), descending=True, stable=True).indices
    rank = torch.empty(m, dtype=torch.long, device=dev)
    rank[order] = torch.arange(m, device=dev)
    u, v = edge_index[0], edge_index[1]
    live = u != v
    matched = torch.zeros(m, dtype=torch.bool, device=dev)
    partner = torch.arange(n, device=dev)
    while bool(live.any()):
        eu, ev, er = u[live], v[live], rank[live]
        best = torch.full((n,), m, dtype=torch.long, device=dev)
        best.scatter_reduce_(0, torch.cat([eu, ev]), torch.cat([er, er]), reduce="amin")
        win = (best[eu] == er) & (best[ev] == er)
        idx = live.nonzero().view(-1)[win]
        matched[idx] = True
        partner[u[idx]], partner[v[idx]] = v[idx], u[idx]
        taken = partner != torch.arange(n, device=dev)
        live &= ~(taken[u] | taken[v])
    rep = torch.minimum(torch.arange(n, device=dev), partner)
    cluster = torch.unique(rep, return_inverse=True)[1]
    return cluster, matched


@register("edge_contraction")
class EdgeContractionPooling(Pooler):
    r"""Edge contraction pooling (EdgePool; Diehl, "Edge Contraction Pooling for Graph Neural
    Networks", 2019; Diehl et al., "Towards Graph Pooling by Edge Contraction", 2019; see
    also Landolfi, "Revisiting Edge Pooling in Graph Neural Networks", ESANN 2022).

    A learned score on every edge decides which pairs of adjacent nodes merge:

    * **Select.** Raw scores :math:`r_{ij} = w^\top [\,x_i \,\|\, x_j\,] + b` for each edge
      ``i → j``, normalised over the edges that enter ``j``
      (:math:`s_{ij} = \mathrm{softmax}_{i}(r_{ij}) + 0.5`, or :math:`\tanh` /
      :math:`\sigma` of :math:`r_{ij}` plus 0.5), then the greedy matching of
      :func:`edge_contraction_cluster`: the best edge is contracted, edges touching its
      nodes are dropped, and so on. Every node ends in a pair or alone (about ``N/2``
      clusters). ``S`` has one non-zero per node, the score of its cluster: ``s_ij`` for
      the nodes of a contracted edge, 1 for a node left alone.
    * **Reduce.** :math:`x'_c = s_c \sum_{i \in c} x_i`, that is :math:`X' = S^\top X`; the
      factor :math:`s_c` is what lets the gradient reach ``w`` (the matching itself is
      piecewise constant, like Top-K's selection).
    * **Connect.** The contracted graph: :math:`A' = C^\top A C` with the hard 0/1 cluster
      matrix ``C``, self-loops dropped, weights of parallel edges summed.
    * **Lift.** :math:`\tilde x_i = x'_{c(i)} / s_{c(i)}`, the paper's unpooling.

    Args:
        in_channels: node features ``F``.
        edge_score: ``"softmax"`` (the paper), ``"tanh"`` or ``"sigmoid"``.
        add_to_edge_score: constant added to every score (0.5 in the paper, so that a
            merged node is never scaled towards zero).
        dropout: on the raw scores (training only).

    **Differences from PyG's ``EdgePooling``**, which this equals otherwise (same
    partition, features and edges in ``tests/test_edge_contraction.py``): PyG's pooled
    graph keeps the edge inside a contracted pair as a self-loop and drops weights (a 0/1
    coalesced edge list); here self-loops are removed and the weights of merged edges are
    summed, the one-over-K convention of this module. PyG numbers clusters in the order
    they were contracted and the singletons after them, mixing the graphs of a batch;
    here clusters follow their smallest node, so graphs stay contiguous. Input self-loops
    are ignored here; PyG scores them and may "contract" a node with itself.
    """

    is_trainable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels}

    def __init__(self, in_channels: int, edge_score: str = "softmax", add_to_edge_score: float = 0.5,
                 dropout: float = 0.0):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        if edge_score not in ("softmax", "tanh", "sigmoid"):
            raise ValueError(f"edge_score must be 'softmax', 'tanh' or 'sigmoid', got {edge_score!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.edge_score, self.add_to_edge_score, self.dropout = edge_score, float(add_to_edge_score), float(dropout)
        self.lin = torch.nn.Linear(2 * in_channels, 1)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def score(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Normalised edge scores ``s_ij`` (shape ``[E]``, self-loops removed beforehand)."""
        import torch.nn.functional as F
        from torch_geometric.utils import softmax

        r = self.lin(torch.cat([x[edge_index[0]], x[edge_index[1]]], dim=-1)).view(-1)
        r = F.dropout(r, self.dropout, self.training)
        if self.edge_score == "softmax":
            s = softmax(r, edge_index[1], num_nodes=x.size(0))
        else:
            s = torch.tanh(r) if self.edge_score == "tanh" else torch.sigmoid(r)
        return s + self.add_to_edge_score

    def select(self, x, edge_index, batch=None, edge_weight=None, **kwargs) -> SelectOutput:
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        loops = edge_index[0] == edge_index[1]
        ei = edge_index[:, ~loops]
        s = self.score(x, ei)
        cluster, matched = edge_contraction_cluster(ei, s, n)
        k = int(cluster.max()) + 1 if n else 0
        cscore = x.new_ones(k).index_put((cluster[ei[0, matched]],), s[matched])
        so = SelectOutput.from_cluster_index(cluster, k, batch=batch, weight=cscore[cluster])
        so.extra.update(edge_score=s, cluster_score=cscore, matched=ei[:, matched])
        return so

    def connect(self, edge_index, so, edge_weight=None):
        return _hard_connect(edge_index, so, edge_weight)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        """The paper's unpooling: ``x̃_i = x'_{c(i)} / s_{c(i)}``."""
        out = (x_pool / so.extra["cluster_score"].unsqueeze(-1))
        cl = torch.empty(so.num_nodes, dtype=torch.long, device=x_pool.device)
        cl[so.node_index] = so.cluster_index
        return out[cl]

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, edge_score={self.edge_score!r}"


# --------------------------------------------------------------------------- MaxCutPool
from .src import PoolingOutput  # noqa: E402

__all__ += ["maxcut_loss", "nearest_kept_assignment", "MaxCutPool"]


def maxcut_loss(score: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, reduction: str = "mean") -> Tensor:
    r"""MaxCutPool's auxiliary loss, per graph and averaged:

    .. math::  \mathcal L_{\mathrm{cut}} = \frac{z^\top A z}{\sum_{ij} a_{ij}},\qquad z \in [-1, 1]^N .

    For a ±1 vector ``z`` it equals :math:`1 - 2\,\mathrm{cut}(z)/\mathrm{vol}` with
    :math:`\mathrm{cut}` the weight of the edges joining the two sides, so it lies in
    ``[-1, 1]`` and is ``-1`` exactly when every edge crosses the cut (a bipartite graph
    split along its two colour classes). A graph without edges contributes 0.
    """
    z = score.view(-1)
    n = z.numel()
    batch = torch.zeros(n, dtype=torch.long, device=z.device) if batch is None else batch
    b = int(batch.max()) + 1 if n else 1
    w = z.new_ones(edge_index.size(1)) if edge_weight is None else edge_weight.view(-1).to(z.dtype)
    g = batch[edge_index[0]]
    num = z.new_zeros(b).index_add_(0, g, w * z[edge_index[0]] * z[edge_index[1]])
    vol = z.new_zeros(b).index_add_(0, g, w)
    out = num / torch.where(vol > 0, vol, torch.ones_like(vol))
    if reduction == "mean":
        return out.mean()
    if reduction == "none":
        return out
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def nearest_kept_assignment(edge_index: Tensor, kept: Tensor, num_nodes: int,
                            max_iter: Optional[int] = None) -> Tensor:
    r"""Assign every node to a kept node at the smallest hop distance.

    ``kept`` lists the kept nodes, in the order that breaks ties. Returns, per node, the position
    in ``kept`` of its supernode (``-1`` for a node that no kept node reaches, such as a
    component without kept nodes, or beyond ``max_iter`` hops). The assignment grows one
    hop per round from the kept nodes: a node reached in this round joins the supernode
    most of its already-assigned neighbours belong to (ties: the supernode listed first
    in ``kept``). Vectorised over all nodes and graphs.
    """
    dev = edge_index.device
    k = kept.numel()
    assign = torch.full((num_nodes,), -1, dtype=torch.long, device=dev)
    assign[kept] = torch.arange(k, device=dev)
    src, dst = edge_index[0], edge_index[1]
    it = 0
    while max_iter is None or it < max_iter:
        it += 1
        ok = (assign[src] >= 0) & (assign[dst] < 0)
        if not bool(ok.any()):
            break
        key, cnt = torch.unique(dst[ok] * k + assign[src[ok]], return_counts=True)
        d, c = key // k, key % k
        # per node: most votes first, then best priority (smallest position in kept)
        order = torch.sort(c, stable=True).indices
        order = order[torch.sort(cnt[order], descending=True, stable=True).indices]
        order = order[torch.sort(d[order], stable=True).indices]
        d, c = d[order], c[order]
        first = torch.ones_like(d, dtype=torch.bool)
        first[1:] = d[1:] != d[:-1]
        assign[d[first]] = c[first]
    return assign


class _MaxCutScoreNet(torch.nn.Module):
    r"""``z = tanh(MLP(HetMP^L(W_0 X)))``: heterophilic message passing with the propagation
    :math:`P = I - \delta L_{\mathrm{sym}} = (1-\delta) I + \delta D^{-1/2} A D^{-1/2}`,
    which for :math:`\delta > 1` amplifies the high graph frequencies (neighbours pushed
    apart, the signal a MAXCUT needs)."""

    def __init__(self, in_channels, mp_units, mlp_units, delta):
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.delta = float(delta)
        self.initial = torch.nn.Linear(in_channels, in_channels)
        sizes = [in_channels] + list(mp_units)
        self.mp = torch.nn.ModuleList([GCNConv(a, b, normalize=False) for a, b in zip(sizes[:-1], sizes[1:])])
        sizes = sizes[-1:] + list(mlp_units)
        self.mlp = torch.nn.ModuleList([torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.final = torch.nn.Linear(sizes[-1], 1)

    def propagation(self, edge_index, edge_weight, n):
        keep = edge_index[0] != edge_index[1]
        ei = edge_index[:, keep]
        w = torch.ones(ei.size(1), device=ei.device) if edge_weight is None else edge_weight.view(-1)[keep].float()
        deg = w.new_zeros(n).index_add_(0, ei[0], w)
        dinv = torch.where(deg > 0, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
        loops = torch.arange(n, device=ei.device)
        pe = torch.cat([ei, torch.stack([loops, loops])], 1)
        pw = torch.cat([self.delta * w * dinv[ei[0]] * dinv[ei[1]], w.new_full((n,), 1.0 - self.delta)])
        return pe, pw

    def forward(self, x, edge_index, edge_weight=None):
        pe, pw = self.propagation(edge_index, edge_weight, x.size(0))
        h = self.initial(x)
        for conv in self.mp:
            h = torch.tanh(conv(h, pe, pw.to(h.dtype)))
        for lin in self.mlp:
            h = torch.relu(lin(h))
        return torch.tanh(self.final(h)).view(-1)


@register("maxcut")
class MaxCutPool(Pooler):
    r"""MaxCutPool (Abate and Bianchi, "MaxCutPool: differentiable feature-aware Maxcut for
    pooling in graph neural networks", ICLR 2025): keep one side of a learned MAXCUT.

    NDP (above) keeps one side of a *spectral* MAXCUT of the topology alone. MaxCutPool
    learns the cut from the features and the topology, end to end:

    * **Select.** A score network (:class:`_MaxCutScoreNet`: an embedding, ``L``
      heterophilic message-passing layers with :math:`P = I - \delta L_{\mathrm{sym}}`,
      an MLP, ``tanh``) gives :math:`z \in [-1, 1]^N`; the auxiliary loss
      :func:`maxcut_loss` :math:`z^\top A z / \mathrm{vol}` pushes adjacent nodes to
      opposite signs. The top :math:`\lceil \mathrm{ratio} \cdot n_g\rceil` nodes of each
      graph by ``z`` become the supernodes, and every other node joins its nearest
      supernode (:func:`nearest_kept_assignment`). ``S`` has one non-zero per node,
      :math:`S_{i, c(i)} = z_i`.
    * **Reduce.** :math:`X' = S^\top X`, i.e. :math:`x'_c = \sum_{i \in c} z_i x_i`
      (the factor ``z`` carries the gradient of the task loss into the score network).
    * **Connect.** :math:`A' = C^\top A C` for the hard 0/1 assignment ``C``, self-loops
      dropped, and (``normalize_edge_weight=True``) every graph's pooled weights divided
      by their maximum, so that repeated pooling does not blow weights up.

    Args:
        in_channels: node features ``F``.
        ratio: supernodes per graph, ``⌈ratio · n_g⌉`` (default 0.5).
        mp_units, mlp_units: widths of the message-passing layers and of the MLP.
        delta: :math:`\delta` of the propagation (2 in the paper).
        max_iter: hop limit of the nearest-supernode assignment (``None``: no limit).
        normalize_edge_weight: divide each graph's pooled edge weights by their maximum.

    The loss is returned as ``losses["cut"]`` (unweighted).

    **Difference from tgp's ``MaxCutPooling``**, which this equals otherwise (same
    supernodes, assignment, pooled features, pooled graph and loss in
    ``tests/test_maxcut.py``): tgp stops the nearest-supernode search after ``max_iter=5``
    hops and assigns the nodes still left to *random* supernodes of their graph (so its
    output is random for graphs with such nodes); here the search runs until no node is
    reached any more (``max_iter=None``), and nodes that no supernode reaches (a component
    of the graph with no kept node) belong to no supernode, as dropped nodes of Top-K do.
    """

    is_trainable = True
    has_aux_loss = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5, "mp_units": (8, 8), "mlp_units": (8,)}

    def __init__(self, in_channels: int, ratio: float = 0.5, mp_units=(32, 32, 32, 32), mlp_units=(16, 16),
                 delta: float = 2.0, max_iter: Optional[int] = None, normalize_edge_weight: bool = True):
        super().__init__()
        from .score import _check_ratio_or_k

        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.ratio, _ = _check_ratio_or_k(ratio, None)
        mp_units = [check_positive_int(u, "mp_units") for u in mp_units]
        mlp_units = [check_positive_int(u, "mlp_units") for u in mlp_units]
        if not isinstance(delta, (int, float)) or isinstance(delta, bool) or delta <= 0:
            raise ValueError(f"delta must be a positive number, got {delta!r}")
        if max_iter is not None:
            check_positive_int(max_iter, "max_iter")
        self.max_iter, self.normalize_edge_weight = max_iter, bool(normalize_edge_weight)
        self.score_net = _MaxCutScoreNet(in_channels, mp_units, mlp_units, delta)

    def select(self, x, edge_index, batch=None, edge_weight=None, **kwargs) -> SelectOutput:
        from .score import topk_select

        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        z = self.score_net(x, edge_index, edge_weight)
        # supernodes numbered by their node index (graphs stay contiguous); ties of the
        # nearest-supernode rule go to the supernode with the smallest index
        kept = torch.sort(topk_select(z, batch, ratio=self.ratio)).values
        cluster = nearest_kept_assignment(edge_index, kept, n, self.max_iter)
        so = SelectOutput.from_cluster_index(cluster, kept.numel(), batch=batch, weight=z)
        so.kept = kept
        so.extra["score"] = z
        return so

    def connect(self, edge_index, so, edge_weight=None):
        if so.node_index.numel() < so.num_nodes:  # nodes that no supernode reached: drop their edges
            has = torch.zeros(so.num_nodes, dtype=torch.bool, device=edge_index.device)
            has[so.node_index] = True
            keep = has[edge_index[0]] & has[edge_index[1]]
            edge_index = edge_index[:, keep]
            edge_weight = None if edge_weight is None else edge_weight[keep]
        ei, ew = _hard_connect(edge_index, so, edge_weight)
        if self.normalize_edge_weight and ew.numel():
            cb = so.cluster_batch if so.cluster_batch is not None else torch.zeros(
                so.num_clusters, dtype=torch.long, device=ew.device)
            g = cb[ei[0]]
            top = ew.new_zeros(int(cb.max()) + 1).scatter_reduce_(0, g, ew.abs(), reduce="amax", include_self=True)
            ew = ew / top[g]
        return ei, ew

    def losses(self, x=None, edge_index=None, batch=None, so=None, edge_weight=None, **kwargs):
        return {"cut": maxcut_loss(so.extra["score"], edge_index, edge_weight, batch)}

    def forward(self, x, edge_index, batch=None, edge_attr=None, edge_weight=None, **kwargs):
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        so = self.select(x, edge_index, batch=batch, edge_weight=edge_weight)
        ei, ew = self.connect(edge_index, so, edge_weight)
        return PoolingOutput(x=self.reduce(x, so), so=so, edge_index=ei, edge_weight=ew, batch=so.cluster_batch,
                             losses=self.losses(edge_index=edge_index, batch=batch, so=so, edge_weight=edge_weight))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, ratio={self.ratio}"


# --------------------------------------------------------------------------- EigenPool
__all__ += ["spectral_partition", "cluster_eigenvectors", "EigenPool"]


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


def _sum_terms(x: Tensor, dim: int = -1) -> Tensor:
    """Sum over ``dim``, term after term in order: unlike ``x.sum(dim)``, whose rounding
    depends on the memory layout and the other dimensions, this gives every entry the same
    bits wherever it sits (fastest for ``dim=0`` of a contiguous tensor)."""
    out = x.select(dim, 0).clone()
    for j in range(1, x.size(dim)):
        out += x.select(dim, j)
    return out


def _unit_rows(emb: Tensor) -> Tensor:
    """Rows scaled to unit length (zero rows stay zero), the norm summed term by term
    (:func:`_sum_terms`) so that a graph's embedding has the same bits in any batch."""
    return emb / _sum_terms(emb.square()).sqrt().clamp_min(1e-12).unsqueeze(-1)


def _farthest_point_kmeans(points: Tensor, valid: Tensor, k: Tensor, iters: int) -> Tensor:
    """Lloyd's k-means on each graph of a padded batch, ``points`` ``[B, n, d]``, with ``k[b]``
    centres. Deterministic: the first centre is the point farthest from the graph's mean, each
    next one the point farthest from the centres so far (ties go to the lower index).

    Sums run term by term (``index_add_`` over nodes, :func:`_sum_terms` over coordinates) and
    distances pair by pair, not through reductions or matrix products whose rounding depends
    on the padding and the layout: a graph gets the same result whichever batch it comes in,
    even where symmetric nodes tie."""
    b, n, dim = points.shape
    kmax = int(k.max()) if k.numel() else 0
    big = torch.finfo(points.dtype).max
    owner = torch.arange(b).unsqueeze(1).expand(b, n)[valid]  # graph of every real point
    real_points = points[valid]
    count_real = valid.sum(1, keepdim=True).clamp_min(1)
    mean = points.new_zeros(b, dim).index_add_(0, owner, real_points) / count_real
    coords = points.permute(2, 0, 1).contiguous()  # [d, B, n]: coordinates first, summed over last
    far = torch.where(valid, _sum_terms((coords - mean.t().unsqueeze(-1)).square_(), 0),
                      torch.full((b, n), -1.0, dtype=points.dtype))
    idx = [far.argmax(1)]
    nearest = torch.full((b, n), big, dtype=points.dtype)
    ar = torch.arange(b)
    for _ in range(1, kmax):
        d = _sum_terms((coords - coords[:, ar, idx[-1]].unsqueeze(-1)).square_(), 0)
        nearest = torch.minimum(nearest, d)
        idx.append(torch.where(valid, nearest, torch.full_like(nearest, -1.0)).argmax(1))
    centres = points[ar.unsqueeze(1), torch.stack(idx, 1)]  # [B, kmax, d]
    centre_ok = torch.arange(kmax).unsqueeze(0) < k.unsqueeze(1)
    assign = torch.zeros(b, n, dtype=torch.long)
    run = torch.arange(b)  # graphs still moving; a graph whose assignment repeats is at a fixed point
    for step in range(iters):
        # each distance from its own coordinates (no matrix product, whose rounding would depend
        # on the padding), in O(b' n kmax) memory
        d = torch.cdist(points[run], centres[run], compute_mode="donot_use_mm_for_euclid_dist").square_()
        d = torch.where(centre_ok[run].unsqueeze(1), d, torch.full_like(d, big))
        new = d.argmin(-1)
        moved = (new != assign[run]).any(1) if step else torch.ones(run.numel(), dtype=torch.bool)
        assign[run] = new
        run = run[moved]
        if not run.numel():
            break
        real_run = valid[run]
        slot = torch.arange(run.numel()).unsqueeze(1).expand(-1, n)[real_run] * kmax + assign[run][real_run]
        count = torch.bincount(slot, minlength=run.numel() * kmax).view(-1, kmax).to(points.dtype)
        sums = points.new_zeros(run.numel() * kmax, dim).index_add_(0, slot, points[run][real_run]).view(-1, kmax, dim)
        centres[run] = torch.where(count.unsqueeze(-1) > 0, sums / count.clamp_min(1).unsqueeze(-1), centres[run])
    return assign


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


def cluster_eigenvectors(edge_index: Tensor, cluster: Tensor, num_clusters: int, modes: int,
                         edge_weight: Optional[Tensor] = None, normalized: bool = True,
                         padding: str = "zero", sign: str = "largest") -> Tensor:
    r"""EigenPool's pooling vectors: ``θ`` ``[N, H]`` with ``θ[i, l]`` the entry of node ``i`` in
    the ``l``-th Laplacian eigenvector (ascending eigenvalues) of the subgraph induced by its
    cluster, i.e. row ``i`` of :math:`\Theta_l = [C^{(1)}u^{(1)}_l, \dots, C^{(K)}u^{(K)}_l]`.

    ``normalized`` picks :math:`I - D^{-1/2}AD^{-1/2}` (the authors' code and tgp) or
    :math:`D - A` for the subgraph Laplacians. A cluster of ``n_c < H`` nodes has no ``l``-th
    eigenvector for ``l ≥ n_c``: ``padding="zero"`` gives it zeros (the columns of all
    :math:`\Theta_l` are then orthonormal), ``"last"`` repeats the last eigenvector (the
    authors' code and tgp). An eigenvector is defined up to its sign: ``sign="largest"`` makes
    its entry of largest magnitude positive, which does not depend on the node order unless
    two entries tie in magnitude; ``"first"`` makes the entry of the cluster's first node
    non-negative (the authors' code and tgp). A single-node cluster has the one eigenvector
    ``[1]``.
    """
    if padding not in ("zero", "last"):
        raise ValueError(f"padding must be 'zero' or 'last', got {padding!r}")
    if sign not in ("largest", "first"):
        raise ValueError(f"sign must be 'largest' or 'first', got {sign!r}")
    modes = check_positive_int(modes, "modes")
    n = cluster.numel()
    dev = cluster.device
    if n == 0:
        return torch.zeros(0, modes, device=dev)
    cl = cluster.cpu().long()
    sizes = torch.bincount(cl, minlength=num_clusters)
    order = torch.argsort(cl, stable=True)
    start = torch.cumsum(sizes, 0) - sizes
    local = torch.empty(n, dtype=torch.long)
    local[order] = torch.arange(n) - start[cl[order]]
    u, v, w = _undirected(edge_index, n, edge_weight)
    inside = cl[u] == cl[v]
    u, v, w = u[inside], v[inside], w[inside]
    lap, _ = _padded_laplacians(torch.cat([u, v]), torch.cat([v, u]), torch.cat([w, w]), cl, local, sizes, normalized)
    vec = _eigh_by_size(lap, sizes)  # [K, m, m]
    m = vec.size(-1)
    col = torch.arange(modes).unsqueeze(0).expand(num_clusters, modes)
    last = (sizes - 1).clamp(min=0).unsqueeze(1)
    src = torch.minimum(col, last) if padding == "last" else col.clamp(max=m - 1)
    modes_vec = torch.gather(vec, 2, src.unsqueeze(1).expand(num_clusters, m, modes))  # [K, m, H]
    if padding == "zero":
        modes_vec = modes_vec * (col < sizes.unsqueeze(1)).unsqueeze(1)
    if sign == "first":
        ref = modes_vec[:, 0, :]  # the first node of each cluster
    else:  # the entry of largest magnitude (rounded, so that equal magnitudes tie by position)
        pick = modes_vec.abs().mul(1e9).round().argmax(1, keepdim=True)
        ref = torch.gather(modes_vec, 1, pick).squeeze(1)
    modes_vec = modes_vec * torch.where(ref < 0, -1.0, 1.0).to(modes_vec.dtype).unsqueeze(1)
    theta = modes_vec[cl, local]  # [N, H]
    return theta.to(device=dev, dtype=torch.get_default_dtype())


@register("eigenpool")
class EigenPool(Pooler):
    r"""EigenPooling (Ma, Wang, Aggarwal and Tang, "Graph Convolutional Networks with
    EigenPooling", KDD 2019): a spectral partition, then a graph Fourier transform inside
    every part.

    * **Select.** Spectral clustering cuts each graph into ``K`` subgraphs
      (:func:`spectral_partition`); ``Ω ∈ {0,1}^{N×K}`` is the one-hot assignment (``S``
      of the :class:`~poolkit.src.SelectOutput`). For every subgraph ``c`` the
      eigenvectors :math:`u^{(c)}_l` of its Laplacian give the pooling matrices
      :math:`\Theta_l = [C^{(1)}u^{(1)}_l, \dots, C^{(K)}u^{(K)}_l] ∈ R^{N×K}`, ``l < H``
      (:func:`cluster_eigenvectors`; :math:`C^{(c)}` puts the subgraph's entries back on
      its nodes).
    * **Reduce.** :math:`X' = [\Theta_0^\top X \,\|\, \Theta_1^\top X \,\|\, \dots \,\|\,
      \Theta_{H-1}^\top X] ∈ R^{K × H F}`: the first ``H`` graph-Fourier coefficients of
      the features on every subgraph, side by side. The output has ``H · F`` channels
      (:meth:`pooled_channels`). With :math:`L = D - A`, :math:`\Theta_0^\top X` is each
      cluster's sum divided by :math:`\sqrt{n_c}`; the higher modes carry how the features
      vary inside it.
    * **Connect.** :math:`A' = \Omega^\top A_{ext}\,\Omega`, with :math:`A_{ext}` the edges
      between different subgraphs: edge weights summed between clusters, no self-loops.
    * **Lift.** :math:`\tilde X = \sum_l \Theta_l X'_l`, exact when ``H`` is at least the
      largest subgraph (with ``padding="zero"``, the columns of the :math:`\Theta_l` form an
      orthonormal basis).

    Nothing is learned and everything depends on the graph alone (``is_precomputable``).

    Args:
        k: subgraphs per graph (``min(k, n_g)``; k-means can leave fewer).
        modes: ``H``, eigenvectors per subgraph.
        normalized: Laplacian of the subgraphs: ``True`` (default, the authors' code and
            tgp) :math:`I - D^{-1/2}AD^{-1/2}`, ``False`` :math:`D - A`.
        padding: ``"zero"`` or ``"last"`` for subgraphs with fewer than ``H`` nodes (see
            :func:`cluster_eigenvectors`).
        sign: how each eigenvector's sign is fixed, ``"largest"`` or ``"first"`` (tgp).

    **Differences from tgp's ``EigenPooling``.** tgp partitions with scikit-learn's
    ``SpectralClustering`` (random k-means restarts; here a deterministic k-means on the
    same spectral embedding). With the same partition, ``normalized=True``,
    ``padding="last"`` and ``sign="first"``, the pooled features equal tgp's except on single-node clusters:
    tgp (like the authors' code) fills them with the node's self-loop weight, 0 on
    graphs without self-loops, so such a node's features vanish; here the node keeps them
    (``θ = 1``, the eigenvector of a one-node graph). tgp also normalises the pooled
    adjacency by degree by default; ``A'`` here is the paper's :math:`\Omega^\top A_{ext}
    \Omega` (tgp with ``degree_norm=False`` gives the same). ``tests/test_eigenpool.py``
    checks both.
    """

    is_precomputable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k, "modes": 2}

    def __init__(self, k: int = 4, modes: int = 2, normalized: bool = True, padding: str = "zero",
                 sign: str = "largest", iters: int = 100):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.modes = check_positive_int(modes, "modes")
        self.iters = check_positive_int(iters, "iters")
        if padding not in ("zero", "last"):
            raise ValueError(f"padding must be 'zero' or 'last', got {padding!r}")
        if sign not in ("largest", "first"):
            raise ValueError(f"sign must be 'largest' or 'first', got {sign!r}")
        self.normalized, self.padding, self.sign = bool(normalized), padding, sign

    def pooled_channels(self, in_channels: int) -> int:
        return self.modes * in_channels

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        cluster, k = spectral_partition(edge_index, n, self.k, edge_weight, batch, iters=self.iters)
        so = SelectOutput.from_cluster_index(cluster, k, batch=batch)
        so.extra["theta"] = cluster_eigenvectors(edge_index, cluster, k, self.modes, edge_weight,
                                                 normalized=self.normalized, padding=self.padding,
                                                 sign=self.sign).to(x.device)
        return so

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``[Θ_0ᵀX ‖ … ‖ Θ_{H-1}ᵀX]``, ``[K, H·F]``."""
        theta = so.extra["theta"].to(x.dtype)  # [N, H]
        cl = torch.empty(so.num_nodes, dtype=torch.long, device=x.device)
        cl[so.node_index] = so.cluster_index
        parts = x.unsqueeze(1) * theta.unsqueeze(-1)  # [N, H, F]
        out = x.new_zeros(so.num_clusters, self.modes, x.size(-1)).index_add(0, cl, parts)
        return out.reshape(so.num_clusters, self.modes * x.size(-1))

    def connect(self, edge_index, so, edge_weight=None):
        """``Ωᵀ A_ext Ω``: edges between clusters, weights summed; intra-cluster edges dropped."""
        return _hard_connect(edge_index, so, edge_weight)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        """``X̃ = Σ_l Θ_l X'_l``: every node gets back its cluster's modes, weighted by its θ."""
        theta = so.extra["theta"].to(x_pool.dtype)
        cl = torch.empty(so.num_nodes, dtype=torch.long, device=x_pool.device)
        cl[so.node_index] = so.cluster_index
        f = x_pool.size(-1) // self.modes
        return (x_pool[cl].view(-1, self.modes, f) * theta.unsqueeze(-1)).sum(1)

    def extra_repr(self) -> str:
        return (f"k={self.k}, modes={self.modes}, normalized={self.normalized}, padding={self.padding!r}, "
                f"sign={self.sign!r}")


# --------------------------------------------------------------------------- SEP
__all__ += ["structural_entropy", "structural_entropy_partition", "SEPPool"]


def structural_entropy(edge_index: Tensor, cluster: Tensor, num_nodes: int,
                       edge_weight: Optional[Tensor] = None) -> float:
    r"""Two-level structural entropy (Li and Pan 2016) of the partition ``cluster`` of one
    graph, in bits:

    .. math::
        H^{\mathcal P}(G) = -\sum_{j}\frac{g_j}{\mathrm{vol}(G)}\log_2\frac{V_j}{\mathrm{vol}(G)}
        \;-\;\sum_{j}\sum_{i\in X_j}\frac{d_i}{\mathrm{vol}(G)}\log_2\frac{d_i}{V_j}

    with ``d_i`` the weighted degree, ``V_j`` the volume of module ``X_j`` and ``g_j`` the
    weight of the edges leaving it: the expected number of bits needed to name the node a
    random walk visits, its module being named only when the walk enters it from outside.
    Both trivial partitions (one module, or one module per node) give the one-level entropy
    :math:`-\sum_i \frac{d_i}{vol}\log_2\frac{d_i}{vol}`. Nodes of degree 0 contribute nothing.
    """
    u, v, w = _undirected(edge_index, num_nodes, edge_weight)
    cl = cluster.cpu().long()
    d = torch.zeros(num_nodes, dtype=torch.float64).index_add_(0, u, w).index_add_(0, v, w)
    vol = float(d.sum())
    if vol == 0:
        return 0.0
    k = int(cl.max()) + 1 if cl.numel() else 0
    big_v = torch.zeros(k, dtype=torch.float64).index_add_(0, cl, d)
    cross = cl[u] != cl[v]
    g = torch.zeros(k, dtype=torch.float64).index_add_(0, cl[u][cross], w[cross]).index_add_(0, cl[v][cross], w[cross])
    pos = d > 0
    nodes = -(d[pos] / vol * torch.log2(d[pos] / big_v[cl[pos]])).sum()
    used = big_v > 0
    modules = -(g[used] / vol * torch.log2(big_v[used] / vol)).sum()
    return float(nodes + modules)


def _module_cost(big_v, g, log_vol):
    r"""The part of ``vol · H`` that depends on the partition, module by module:
    :math:`(V - g)\log_2 V + g\log_2 vol`, since
    :math:`vol\cdot H = -\sum_i d_i\log_2 d_i + \sum_j [(V_j - g_j)\log_2 V_j + g_j\log_2 vol]`
    (numpy arrays; ``log_vol`` is :math:`\log_2 vol`, a number or an array that broadcasts;
    ``0 log 0 = 0``)."""
    logv = np.log2(big_v, out=np.zeros_like(big_v), where=big_v > 0)
    return (big_v - g) * logv + g * log_vol


def _entropy_search(label, w, d, sizes=None, max_rounds: int = 50):
    """:func:`_refine_entropy` for ``S`` searches at once: ``label`` ``[S, n]``, ``w``
    ``[S, n, n]`` (symmetric, zero diagonal), ``d`` ``[S, n]`` (numpy, float64); ``sizes``
    the real number of nodes of each search (padding nodes have degree 0 and never move).
    Every search takes the same steps as it would alone; the searches only share the numpy
    calls. Nothing is recomputed from scratch after a step: the weight ``T`` from every node
    to every module, the weight ``B`` between modules, the volumes ``V``, the cuts ``g``, and
    the tables of what every merge and every move would change are updated where the step
    changed them (a merge of ``b`` into ``a``: the pairs with ``a`` or ``b``; a move from ``a``
    to ``c``: the moves into ``a`` or ``c`` and the cost of leaving for the members of ``a``
    and ``c``), with the same arithmetic as a full recomputation. Only where a search changes
    phase is a table built anew: the move tables when its merges end, the merge table when a
    new round starts. Returns the labels ``[S, n]`` and, for every search,
    ``vol · H`` up to the partition-independent term (the sum of :func:`_module_cost`)."""
    label = np.array(label, dtype=np.int64)
    s_all, n = label.shape
    sizes = np.full(s_all, n) if sizes is None else np.asarray(sizes)
    vol = d.sum(1)
    log_vol = np.array([math.log2(v) if v > 0 else 0.0 for v in vol.tolist()])
    tol = 1e-9 * vol
    ar = np.arange(n)
    inf = np.inf
    es, ei, ej = np.nonzero(w)  # the edges of every search, in order
    ew = w[es, ei, ej]

    def summed(index, weights, shape):  # (bincount of nothing is an integer array)
        return np.bincount(index, weights=weights, minlength=math.prod(shape)).astype(np.float64, copy=False).reshape(shape)

    t = summed((es * n + ei) * n + label[es, ej], ew, (s_all, n, n))
    big_v = summed((np.arange(s_all)[:, None] * n + label).ravel(), d.ravel(), (s_all, n))
    between = summed((es * n + label[es, ei]) * n + label[es, ej], ew, (s_all, n, n))
    g = big_v - np.diagonal(between, axis1=1, axis2=2)
    cost = _module_cost(big_v, g, log_vol[:, None])  # [search, module]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    merge = np.full((s_all, n, n), inf)  # entropy change of merging modules a < b
    join = np.full((s_all, n, n), inf)  # ... of node i joining module c (without leaving its own)
    leave = np.zeros((s_all, n))  # ... of node i leaving its module
    # the minimum of every row of merge and join (and a column where it is): the best step is
    # found from these, O(n) per search, and only the chosen row is scanned for its column
    merge_min, merge_at = np.full((s_all, n), inf), np.zeros((s_all, n), dtype=np.int64)
    join_min, join_at = np.full((s_all, n), inf), np.zeros((s_all, n), dtype=np.int64)
    phase = np.zeros(s_all, dtype=np.int8)  # 0 merging, 1 moving, 2 done
    changed = np.zeros(s_all, dtype=bool)
    rounds = np.zeros(s_all, dtype=np.int64)
    moves = np.zeros(s_all, dtype=np.int64)

    def row_minima(table, low, at, e, se, r, c, vals):
        """Write ``vals`` at ``(e[se], r, c)`` of an all-``inf`` table, and the minimum of every
        row with a column where it is, from the entries alone (they come in row order)."""
        table[e] = inf
        table[e[se], r, c] = vals
        low[e], at[e] = inf, 0
        if not vals.size:
            return
        key = se * n + r
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        low_seg = np.minimum.reduceat(vals, start)
        seg = np.repeat(np.arange(start.size), np.diff(np.r_[start, key.size]))
        first = np.flatnonzero(vals == low_seg[seg])
        first = first[np.r_[True, seg[first][1:] != seg[first][:-1]]]  # the lowest column per row
        low[e[se[start]], r[start]] = low_seg
        at[e[se[first]], r[first]] = c[first]

    def merge_table(e):
        # only adjacent pairs (B > 0) can merge: the entries are computed there only
        se, r, c = np.nonzero(upper & (between[e] > 0))
        q = e[se]
        pair = _module_cost(big_v[q, r] + big_v[q, c], g[q, r] + g[q, c] - 2 * between[q, r, c], log_vol[q])
        row_minima(merge, merge_min, merge_at, e, se, r, c, pair - cost[q, r] - cost[q, c])

    def leave_costs(e, nodes=None):
        """The cost of leaving, for every node of the searches ``e`` or, with ``nodes``
        (``[|e|, n]`` mask), for those only."""
        se, i = np.nonzero(np.ones((e.size, n), dtype=bool) if nodes is None else nodes)
        q = e[se]
        a = label[q, i]
        va, ga, dm = big_v[q, a], g[q, a], d[q, i]
        # leave module a: V - d_i, g - d_i + 2 k_ia
        leave[q, i] = _module_cost(va - dm, ga - dm + 2 * t[q, i, a], log_vol[q]) - _module_cost(va, ga, log_vol[q])

    def join_table(e):
        # join module c: V + d_i, g + d_i - 2 k_ic, for the modules a node has an edge to
        se, i, c = np.nonzero((t[e] > 0) & (ar != label[e][:, :, None]))
        q = e[se]
        new = _module_cost(big_v[q, c] + d[q, i], g[q, c] + d[q, i] - 2 * t[q, i, c], log_vol[q])
        row_minima(join, join_min, join_at, e, se, i, c, new - cost[q, c])

    def rescan(table, low, at, s, cols):
        """Row minima after the columns ``cols`` (one list per search) of ``table`` changed. A row
        whose minimum was in such a column and went up there is scanned again; the others only
        compare with the new entries (the rest of the row did not change)."""
        low_s, at_s = low[s], at[s]
        hit = np.zeros((s.size, n), dtype=bool)
        for col in cols:
            new = table[s, :, col]
            was = at_s == col[:, None]
            hit |= was & (new > low_s)
            take = (new < low_s) | (was & (new <= low_s))
            low_s = np.where(take, new, low_s)
            at_s = np.where(take, col[:, None], at_s)
        low[s], at[s] = low_s, at_s
        rs, rj = np.nonzero(hit)
        if rs.size:
            rows = table[s[rs], rj]
            low[s[rs], rj], at[s[rs], rj] = rows.min(-1), rows.argmin(-1)

    def join_column(s, c):
        tc, ds = t[s, :, c], d[s]  # [k, n]
        new = _module_cost(big_v[s, c][:, None] + ds, g[s, c][:, None] + ds - 2 * tc, log_vol[s, None])
        join[s, :, c] = np.where((tc > 0) & (label[s] != c[:, None]), new - cost[s, c][:, None], inf)

    merge_table(np.arange(s_all))
    while True:
        m = np.flatnonzero(phase == 0)
        if m.size:  # (1) merge the two adjacent modules whose merge lowers the entropy most
            row = merge_min[m].argmin(1)  # the lowest row holding the lowest entry, as a flat argmin
            ok = merge_min[m, row] < -tol[m]
            s, a = m[ok], row[ok]
            if s.size:
                b = merge[s, a].argmin(-1)
                lab = label[s]
                label[s] = np.where(lab == b[:, None], a[:, None], lab)
                t[s, :, a] += t[s, :, b]
                t[s, :, b] = 0
                between[s, a, :] += between[s, b, :]
                between[s, :, a] += between[s, :, b]
                between[s, b, :] = 0
                between[s, :, b] = 0
                big_v[s, a] += big_v[s, b]
                big_v[s, b] = 0
                g[s, a] = big_v[s, a] - between[s, a, a]
                g[s, b] = 0
                cost[s] = _module_cost(big_v[s], g[s], log_vol[s, None])
                # the pairs with a, in the order of terms of merge_table; none with b any more
                ca, cx, bx = cost[s, a][:, None], cost[s], between[s, a]
                pair = _module_cost(big_v[s, a][:, None] + big_v[s], g[s, a][:, None] + g[s] - 2 * bx, log_vol[s, None])
                merge[s, a, :] = np.where((bx > 0) & (ar > a[:, None]), pair - ca - cx, inf)
                merge[s, :, a] = np.where((bx > 0) & (ar < a[:, None]), pair - cx - ca, inf)
                merge[s, b, :] = inf
                merge[s, :, b] = inf
                merge_min[s, b] = inf
                merge_min[s, a], merge_at[s, a] = merge[s, a].min(-1), merge[s, a].argmin(-1)
                rescan(merge, merge_min, merge_at, s, [a, b])
                changed[s] = True
            stop = m[~ok]
            if stop.size:
                phase[stop] = 1
                moves[stop] = 0
                leave_costs(stop)
                join_table(stop)
        m = np.flatnonzero(phase == 1)
        if not m.size:
            if not (phase == 0).any():
                break
            continue
        # (2) move the one node whose move to a neighbouring module lowers the entropy most
        # min over c of fl(leave_i + join_ic) is fl(leave_i + min_c join_ic): rounding is monotone
        total = leave[m] + join_min[m]
        row = total.argmin(1)
        ok = total[np.arange(m.size), row] < -tol[m]
        s, i = m[ok], row[ok]
        if s.size:
            c = (leave[s, i][:, None] + join[s, i]).argmin(-1)
            a = label[s, i]
            di, own_i, to_c = d[s, i], t[s, i, a], t[s, i, c]
            g[s, a] += 2 * own_i - di
            g[s, c] += di - 2 * to_c
            big_v[s, a] -= di
            big_v[s, c] += di
            cost[s] = _module_cost(big_v[s], g[s], log_vol[s, None])
            wi, ti = w[s, :, i], t[s, i, :]  # node i's edges, and its weight to every module before
            t[s, :, a] -= wi
            t[s, :, c] += wi
            between[s, :, c] += ti  # B + Oᵀ W Δ + Δᵀ W O with Δ = e_i (e_c - e_a)ᵀ (no self-loops)
            between[s, :, a] -= ti
            between[s, c, :] += ti
            between[s, a, :] -= ti
            label[s, i] = c
            changed[s] = True
            moves[s] += 1
            leave_costs(s, (label[s] == a[:, None]) | (label[s] == c[:, None]))  # the others did not change
            join_column(s, a)
            join_column(s, c)
            rescan(join, join_min, join_at, s, [a, c])
        end = np.concatenate([m[~ok], s[moves[s] >= sizes[s] ** 2]])
        if end.size:  # end of a round: another one if it changed something
            again = end[changed[end] & (rounds[end] + 1 < max_rounds)]
            rounds[end] += 1
            phase[end] = 2
            phase[again] = 0
            changed[again] = False
            if again.size:
                merge_table(again)
    return label, cost.sum(1)


def _refine_entropy(label, w, d, max_rounds: int = 50):
    """Lower the structural entropy of one graph's partition ``label`` by (1) merging, while
    some merge lowers it, the two adjacent modules whose merge lowers it most, and (2)
    moving, while some move lowers it, the one node whose move to a neighbouring module
    lowers it most; (1) and (2) repeat until neither changes anything (ties: lowest index).
    ``w`` is the symmetric weight matrix and ``d`` the degrees (numpy or torch, float64);
    returns the labels as a tensor. :func:`_entropy_search` runs many of these at once."""
    w = np.asarray(w, dtype=np.float64)[None]
    d = np.asarray(d, dtype=np.float64)[None]
    return torch.from_numpy(_entropy_search(np.asarray(label)[None], w, d, max_rounds=max_rounds)[0][0])


def _spectral_starts(lap: Tensor, sizes: Tensor, kmax: int, iters: int = 100) -> Tensor:
    """Spectral partitions of every graph of a padded batch (normalised Laplacians ``lap``
    ``[G, m, m]``) into ``2 … kmax`` groups: for each ``k``, the first ``k`` eigenvectors, rows
    scaled to unit length, then :func:`_farthest_point_kmeans`, all graphs and all ``k`` in
    one batched call. Returns the groups ``[G, kmax - 1, m]`` (entry ``[g, k - 2]``; only
    ``k < n_g`` is meaningful)."""
    g, m = sizes.numel(), lap.size(-1)
    kt = torch.arange(2, kmax + 1)
    vec = _eigh_by_size(lap, sizes, each=True)[:, :, :kmax]
    emb = (vec.unsqueeze(1) * (torch.arange(kmax) < kt.unsqueeze(1)).unsqueeze(1)).reshape(-1, m, kmax)  # [G·k, m, kmax]
    emb = _unit_rows(emb)
    real = (torch.arange(m) < sizes.unsqueeze(1)).unsqueeze(1).expand(g, kt.numel(), m)
    assign = _farthest_point_kmeans(emb, real.reshape(-1, m), kt.repeat(g), iters)
    return assign.view(g, kt.numel(), m)


#: About how many entries (searches x nodes x nodes) one batched entropy search holds per table.
SEARCH_CHUNK = 1 << 22


def structural_entropy_partition(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None,
                                 batch: Optional[Tensor] = None, max_start_clusters: int = 8) -> Tuple[Tensor, int]:
    r"""Partition every graph by minimising its two-level structural entropy
    (:func:`structural_entropy`) with a greedy local search (:func:`_refine_entropy`: merges
    of adjacent modules, then moves of single nodes), started from one module per node (the
    greedy merging of Li and Pan) and from the spectral partitions with ``2 … max_start_clusters``
    groups (:func:`spectral_partition`); the start that ends with the lowest entropy wins.
    Several starts matter: from single nodes alone the search stops, on two 5-cliques joined
    by one edge, at 2.421 bits with the two bridge nodes paired, above the two cliques' 2.363.
    All the searches of all the graphs run together (:func:`_entropy_search`).

    The number of modules is not given; it is where the entropy stops falling. Isolated nodes
    stay alone. Returns the module of every node (numbered graph by graph, inside a graph by
    their lowest node) and their number.
    """
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    max_start_clusters = check_positive_int(max_start_clusters, "max_start_clusters")
    n = num_nodes
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=edge_index.device), 0
    b, sizes, start, u, v, w = _graph_blocks(edge_index, n, edge_weight, batch)
    local = torch.arange(n) - start[b]
    rows, cols, ww = torch.cat([u, v]), torch.cat([v, u]), torch.cat([w, w])
    lap, _ = _padded_laplacians(rows, cols, ww, b, local, sizes, True)
    num_graphs, m = lap.shape[:2]
    adj = torch.zeros(num_graphs, m, m, dtype=torch.float64)
    adj.index_put_((b[rows], local[rows], local[cols]), ww, accumulate=True)
    deg = adj.sum(-1)
    # the starts: one module per node, then spectral partitions with k = 2 … kmax groups (k < n_g);
    # a padding node j is its own module j, which no real node uses
    kmax = min(max_start_clusters, m - 1)
    starts = [torch.arange(m).expand(num_graphs, m)]
    valid = [sizes > 1]
    if kmax >= 2:
        spec = _spectral_starts(lap, sizes, kmax)
        pad = torch.arange(m) >= sizes.unsqueeze(1)
        for j, k in enumerate(range(2, kmax + 1)):
            starts.append(torch.where(pad, torch.arange(m), spec[:, j]))
            valid.append(sizes > k)
    starts, valid = torch.stack(starts, 1), torch.stack(valid, 1)  # [G, starts, m], [G, starts]
    valid &= (deg.sum(1) > 0).unsqueeze(1)
    gid, sid = (x.numpy() for x in valid.nonzero(as_tuple=True))
    w_np, d_np, size_np, start_np = adj.numpy(), deg.numpy(), sizes.numpy(), starts.numpy()
    cost = np.full(valid.shape, np.inf)
    result = np.full(valid.shape + (m,), -1, dtype=np.int64)
    # the searches in chunks of similar size, each padded to its largest graph only, with at
    # most about SEARCH_CHUNK entries per table (a lone large graph is a chunk of its own)
    order = np.argsort(-size_np[gid], kind="stable")
    lo = 0
    while lo < order.size:
        mc = int(size_np[gid[order[lo]]])
        hi = min(order.size, lo + max(1, SEARCH_CHUNK // max(mc * mc, 1)))
        pick = order[lo:hi]
        g_c, s_c = gid[pick], sid[pick]
        found, found_cost = _entropy_search(start_np[g_c, s_c, :mc], w_np[g_c, :mc, :mc], d_np[g_c, :mc], size_np[g_c])
        cost[g_c, s_c] = found_cost
        result[g_c, s_c, :mc] = found
        lo = hi
    # the first start wins unless a later one is lower by more than the tolerance
    lab = np.broadcast_to(np.arange(m), (num_graphs, m)).copy()
    best = np.full(num_graphs, np.inf)
    tol = 1e-9 * d_np.sum(1)
    for j in range(valid.size(1)):
        better = cost[:, j] < best - tol
        lab[better] = result[better, j]
        best[better] = cost[better, j]
    # number the modules graph by graph, inside a graph by their lowest node
    key = b * m + torch.from_numpy(lab)[b, local]
    first = torch.full((num_graphs * m,), n, dtype=torch.long).scatter_reduce_(0, key, torch.arange(n), "amin")
    used = first < n
    order = torch.argsort(first[used])
    remap = torch.full_like(first, -1)
    remap[used.nonzero().view(-1)[order]] = torch.arange(order.numel())
    return remap[key].to(edge_index.device), int(order.numel())


@register("sep")
class SEPPool(Pooler):
    r"""Structural-entropy pooling (SEP; Wu, Chen, Xu and Li, "Structural Entropy
    Guided Graph Hierarchical Pooling", ICML 2022), one level: the partition of the graph,
    seen as the two-level coding tree of Li and Pan, with the lowest structural entropy
    found by :func:`structural_entropy_partition`.

    * **Select**: that partition; ``S`` is the one-hot assignment. The number of clusters is
      set by the graph, not by a ``k``.
    * **Reduce**: ``Sᵀ X`` (or mean/max).
    * **Connect**: ``Sᵀ A S`` without self-loops.

    Nothing is learned; the partition depends on the topology only (``is_precomputable``).

    **Differences from the paper and tgp's ``SEPPooling``.** SEP builds a coding tree of
    height ``k`` with the authors' merge, combine and compress operators (tgp ports that
    code) and pools level by level down the tree; here one level is a local search for the
    lowest two-level entropy. Both minimise the same entropy for one pooling level, with
    different heuristics, so the partitions can differ; ``tests/test_sep.py`` compares the
    entropy both reach. Deeper hierarchies come from pooling again, not from one deeper tree.

    Cost: eight searches per graph (one from single nodes, seven from spectral starts), all
    the searches of a batch run together in numpy (:func:`_entropy_search`), each step
    updating only what it changed. ``benchmarks/bench_new_poolers.py`` times it against tgp's
    ``SEPPooling`` on batches of 32 graphs of 10 to 30 nodes and of 8 graphs of 100 to 200
    nodes (see ``benchmarks/results/new_poolers.md``). ``max_start_clusters=1`` (greedy merging
    from single nodes only) is cheaper but misses the optimum on some graphs: two cliques
    joined by one edge, and the 8 x 8 grid, where four starts stop at 3.838 bits and eight
    reach 3.829.
    """

    is_precomputable = True

    def __init__(self, reduce_op: str = "sum", max_start_clusters: int = 8):
        super().__init__()
        if reduce_op not in ("sum", "mean", "max"):
            raise ValueError(f"reduce_op must be 'sum', 'mean' or 'max', got {reduce_op!r}")
        self.reduce_op = reduce_op
        self.max_start_clusters = check_positive_int(max_start_clusters, "max_start_clusters")

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        cluster, k = structural_entropy_partition(edge_index, n, edge_weight, batch, self.max_start_clusters)
        return SelectOutput.from_cluster_index(cluster, k, batch=batch)

    def connect(self, edge_index, so, edge_weight=None):
        return _hard_connect(edge_index, so, edge_weight)

    def extra_repr(self) -> str:
        return f"reduce_op={self.reduce_op!r}, max_start_clusters={self.max_start_clusters}"
