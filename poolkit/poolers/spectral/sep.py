r"""SEP (Wu, Chen, Xu and Li, "Structural Entropy Guided Graph Hierarchical Pooling", ICML 2022),
one level.

The partition minimises the two-level structural entropy of Li and Pan
(:func:`structural_entropy`),

.. math::  H^{\mathcal P}(G) = -\sum_{j}\frac{g_j}{\mathrm{vol}(G)}\log_2\frac{V_j}{\mathrm{vol}(G)}
           - \sum_{j}\sum_{i\in X_j}\frac{d_i}{\mathrm{vol}(G)}\log_2\frac{d_i}{V_j},

(``V_j`` the volume of module ``X_j``, ``g_j`` the weight of the edges leaving it), found by
the greedy search of :mod:`poolkit.ops.entropy_search` started from single nodes and from
spectral partitions; ``S`` is the one-hot module matrix, ``X' = Sᵀ X``, ``A' = Sᵀ A S``
without self-loops.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from poolkit.ops.entropy_search import _entropy_search
from poolkit.ops.graph import _check_structure, _hard_connect, _undirected
from poolkit.ops.kmeans import _farthest_point_kmeans, _unit_rows
from poolkit.ops.spectral import _eigh_by_size, _graph_blocks, _padded_laplacians
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register

__all__ = ['structural_entropy', 'structural_entropy_partition', 'SEPPool']


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
    (:func:`structural_entropy`) with a greedy local search (:func:`refine_entropy`: merges
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
class SEPPool(SparsePooler):
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
    updating only what it changed. ``benchmarks/bench_mixed_peers.py`` times it against tgp's
    ``SEPPooling`` on batches of 32 graphs of 10 to 30 nodes and of 8 graphs of 100 to 200
    nodes (see ``benchmarks/results/mixed_peers.md``). ``max_start_clusters=1`` (greedy merging
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
