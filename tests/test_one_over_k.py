"""Tests for poolkit.one_over_k: Graclus, NDP (+ Kron reduction), k-MIS, pre-coarsening."""
import itertools

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import from_networkx

import poolkit
from poolkit.one_over_k import (
    GraclusPool,
    KMISPool,
    NDPPool,
    Precoarsen,
    PyramidData,
    graclus_cluster,
    kmis_select,
    power_graph,
    kron_reduce_dense,
    kron_reduction,
    ndp_partition,
    pyramid_level,
)
from poolkit.src import SelectOutput, reduce


# --------------------------------------------------------------------------- fixtures
def nx_edges(g):
    """edge_index with both directions of a networkx graph (nodes 0..n-1)."""
    e = list(g.edges())
    if not e:
        return torch.empty(2, 0, dtype=torch.long)
    a = torch.tensor(e, dtype=torch.long).t()
    return torch.cat([a, a.flip(0)], 1)


def nx_weighted(g, key="weight"):
    e = list(g.edges(data=key))
    a = torch.tensor([(u, v) for u, v, _ in e], dtype=torch.long).t()
    w = torch.tensor([d for _, _, d in e], dtype=torch.float64)
    return torch.cat([a, a.flip(0)], 1), torch.cat([w, w])


def random_graphs():
    yield nx.gnp_random_graph(30, 0.15, seed=1)
    yield nx.gnp_random_graph(25, 0.3, seed=2)
    yield nx.grid_2d_graph(5, 6)
    yield nx.cycle_graph(11)
    yield nx.path_graph(9)
    yield nx.barbell_graph(5, 3)
    yield nx.karate_club_graph()
    yield nx.disjoint_union(nx.cycle_graph(5), nx.star_graph(4))


def relabel(g):
    return nx.convert_node_labels_to_integers(g)


GRAPHS = [relabel(g) for g in random_graphs()]


def partition(cluster):
    """A clustering as a set of frozensets (ids do not matter)."""
    groups = {}
    for i, c in enumerate(cluster.tolist()):
        groups.setdefault(c, set()).add(i)
    return {frozenset(s) for s in groups.values()}


def hop_distances(g):
    return dict(nx.all_pairs_shortest_path_length(g))


# --------------------------------------------------------------------------- Graclus
def check_matching(g, cluster):
    n = g.number_of_nodes()
    assert cluster.shape == (n,)
    ids = cluster.tolist()
    assert sorted(set(ids)) == list(range(len(set(ids))))  # consecutive
    groups = partition(cluster)
    single = set()
    for grp in groups:
        assert len(grp) in (1, 2)
        if len(grp) == 2:
            a, b = tuple(grp)
            assert g.has_edge(a, b), "matched nodes must be adjacent"
        else:
            single |= grp
    for a, b in g.edges():
        if a != b:
            assert not (a in single and b in single), "maximal: no edge between two singletons"


@pytest.mark.parametrize("mode", ["greedy", "visit"])
@pytest.mark.parametrize("seed", [None, 0, 7])
def test_graclus_returns_a_maximal_matching(mode, seed):
    for g in GRAPHS:
        check_matching(g, graclus_cluster(nx_edges(g), g.number_of_nodes(), seed=seed, mode=mode))


def reference_edge_greedy(g, weight, prio):
    """Sequential greedy matching over edges sorted by (ncut weight, max prio, min prio)."""
    deg = {i: 0.0 for i in g.nodes()}
    for a, b in g.edges():
        deg[a] += weight[(a, b)]
        deg[b] += weight[(a, b)]
    keyed = []
    for a, b in g.edges():
        c = weight[(a, b)] * (1 / deg[a] + 1 / deg[b])
        keyed.append(((c, max(prio[a], prio[b]), min(prio[a], prio[b])), a, b))
    keyed.sort(reverse=True)
    mate = {}
    for _, a, b in keyed:
        if a not in mate and b not in mate:
            mate[a], mate[b] = b, a
    return {frozenset((i, mate.get(i, i))) for i in g.nodes()}


def test_graclus_greedy_equals_sequential_edge_greedy():
    for seed, g in itertools.product([None, 3], GRAPHS):
        n = g.number_of_nodes()
        prio = list(range(n)) if seed is None else torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        ours = partition(graclus_cluster(nx_edges(g), n, seed=seed))
        ref = reference_edge_greedy(g, {e: 1.0 for e in g.edges()}, prio)
        assert ours == ref


def test_graclus_prefers_the_heaviest_normalised_cut_edge():
    # Path 0-1-2-3 with a heavy middle edge: ncut weights favour (1, 2).
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    w = torch.tensor([1.0, 1.0, 5.0, 5.0, 1.0, 1.0])
    assert partition(graclus_cluster(ei, 4, w)) == {frozenset({1, 2}), frozenset({0}), frozenset({3})}
    # Without the weight, the end edges win: d = (1, 2, 2, 1) gives 1.5 > 1.0.
    assert partition(graclus_cluster(ei, 4)) == {frozenset({0, 1}), frozenset({2, 3})}


def test_graclus_is_deterministic_under_a_seed_and_the_seed_matters():
    g = relabel(nx.grid_2d_graph(6, 6))
    ei = nx_edges(g)
    a = graclus_cluster(ei, 36, seed=5)
    assert torch.equal(a, graclus_cluster(ei, 36, seed=5))
    outs = {tuple(graclus_cluster(ei, 36, seed=s).tolist()) for s in range(6)}
    assert len(outs) > 1  # the seed breaks the many ties of a grid differently


def test_graclus_permutation_equivariant_with_distinct_weights():
    g = nx.gnp_random_graph(40, 0.12, seed=4)
    rng = np.random.default_rng(0)
    for a, b in g.edges():
        g[a][b]["weight"] = float(rng.uniform(0.5, 2.0))
    ei, w = nx_weighted(g)
    base = partition(graclus_cluster(ei, 40, w, seed=1))
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(2))  # new label of node i
    for seed in (None, 9):
        out = graclus_cluster(perm[ei], 40, w, seed=seed)
        assert partition(out[perm]) == base


def test_graclus_edge_cases():
    empty = torch.empty(2, 0, dtype=torch.long)
    assert graclus_cluster(empty, 5).tolist() == [0, 1, 2, 3, 4]  # edgeless: singletons
    assert graclus_cluster(empty, 1).tolist() == [0]
    assert graclus_cluster(empty, 0).numel() == 0
    loop = torch.tensor([[0, 0, 1], [0, 1, 0]])  # a self-loop is ignored
    assert graclus_cluster(loop, 3).tolist() == [0, 0, 1]
    kb = relabel(nx.complete_bipartite_graph(3, 3))
    check_matching(kb, graclus_cluster(nx_edges(kb), 6))
    assert graclus_cluster(nx_edges(kb), 6).max() == 2  # perfect matching on K_{3,3}


def test_graclus_batch_equals_one_by_one_and_ids_are_consecutive_per_graph():
    gs = [GRAPHS[0], GRAPHS[3], nx.empty_graph(1), GRAPHS[2]]
    data = [Data(edge_index=nx_edges(g), num_nodes=g.number_of_nodes()) for g in gs]
    b = Batch.from_data_list(data)
    cl = graclus_cluster(b.edge_index, b.num_nodes, batch=b.batch)
    off = 0
    for i, d in enumerate(data):
        mine = cl[b.batch == i]
        single = graclus_cluster(d.edge_index, d.num_nodes)
        assert torch.equal(mine - mine.min(), single)
        assert int(mine.min()) == off
        off += int(single.max()) + 1


def test_graclus_rejects_bad_input():
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="edge_weight"):
        graclus_cluster(ei, 2, torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="edge_index"):
        graclus_cluster(ei, 1)
    with pytest.raises(ValueError, match="mode"):
        graclus_cluster(ei, 2, mode="fast")
    with pytest.raises(ValueError, match="num_nodes"):
        graclus_cluster(ei, -1)
    with pytest.raises(ValueError, match="different graphs"):
        graclus_cluster(ei, 2, batch=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="levels"):
        GraclusPool(levels=0)


def test_graclus_pooler_halves_and_levels_compose():
    g = relabel(nx.grid_2d_graph(8, 8))
    ei, x = nx_edges(g), torch.randn(64, 3)
    one = GraclusPool()(x, ei)
    assert 32 <= one.x.size(0) < 64
    torch.testing.assert_close(one.x.sum(0), x.sum(0))  # Sᵀ X keeps the total
    two = GraclusPool(levels=2)(x, ei)
    again = GraclusPool()(one.x, one.edge_index, edge_weight=one.edge_weight)
    assert two.x.size(0) == again.x.size(0)
    torch.testing.assert_close(two.x, again.x)
    assert not (two.edge_index[0] == two.edge_index[1]).any()


# --------------------------------------------------------------------------- NDP
def laplacian(g, n=None):
    return torch.tensor(nx.laplacian_matrix(g, nodelist=range(n or g.number_of_nodes()), weight=None).toarray(), dtype=torch.float64)


def eliminate_one_by_one(L, kept):
    """Kron reduction by Gaussian elimination of the dropped nodes, one at a time."""
    L = L.clone()
    alive = list(range(L.size(0)))
    for k in [i for i in range(L.size(0)) if i not in set(kept.tolist())]:
        pos = alive.index(k)
        piv = L[pos, pos]
        L = L - torch.outer(L[:, pos], L[pos, :]) / piv
        keep = [i for i in range(L.size(0)) if i != pos]
        L = L[keep][:, keep]
        alive.pop(pos)
    return L


def test_kron_reduction_equals_schur_complement_and_is_a_laplacian():
    for g in GRAPHS:
        n = g.number_of_nodes()
        kept, _, _ = ndp_partition(nx_edges(g), n, sparsify=0.0)
        L = laplacian(g)
        Lr = kron_reduce_dense(L, kept)
        torch.testing.assert_close(Lr, eliminate_one_by_one(L, kept))
        torch.testing.assert_close(Lr.sum(1), torch.zeros(len(kept), dtype=torch.float64), atol=1e-9, rtol=0)
        off = Lr - torch.diag(torch.diagonal(Lr))
        assert (off <= 1e-12).all()
        torch.testing.assert_close(Lr, Lr.t())
        # ndp_partition's sparse output is -L' off the diagonal (nothing sparsified here)
        _, ei, ew = ndp_partition(nx_edges(g), n, sparsify=0.0)
        A = torch.zeros(len(kept), len(kept), dtype=torch.float64)
        A[ei[0], ei[1]] = ew.double()
        torch.testing.assert_close(A, -off, atol=1e-6, rtol=1e-5)


def test_kron_walk_through_a_removed_node_becomes_an_edge():
    # 0 - 1 - 2 (unit weights); removing 1 leaves 0 - 2 with weight 1/2 (resistors in series).
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    e, w = kron_reduction(ei, 3, torch.tensor([0, 2]))
    assert e.tolist() == [[0, 1], [1, 0]]
    torch.testing.assert_close(w, torch.tensor([0.5, 0.5]))
    # Two parallel walks through two removed nodes add up: 0-1-3 and 0-2-3 give 1/2 + 1/2.
    ei = torch.tensor([[0, 1, 0, 2, 1, 3, 2, 3], [1, 0, 2, 0, 3, 1, 3, 2]])
    e, w = kron_reduction(ei, 4, torch.tensor([0, 3]))
    torch.testing.assert_close(w, torch.tensor([1.0, 1.0]))


def cut_fraction(g, kept):
    side = set(kept.tolist())
    tot = sum(1 for _ in g.edges())
    cut = sum(1 for a, b in g.edges() if (a in side) != (b in side))
    return cut / tot


def test_ndp_cut_is_at_least_half_and_bipartite_graphs_are_cut_perfectly():
    for g in GRAPHS:
        kept, _, _ = ndp_partition(nx_edges(g), g.number_of_nodes())
        assert cut_fraction(g, kept) >= 0.5
        assert g.number_of_nodes() / 2 <= len(kept) <= g.number_of_nodes()
    for g in [nx.cycle_graph(10), relabel(nx.grid_2d_graph(4, 5)), nx.path_graph(8)]:
        kept, _, _ = ndp_partition(nx_edges(g), g.number_of_nodes())
        assert cut_fraction(g, kept) == 1.0
        assert len(kept) == g.number_of_nodes() // 2
    # K_{2,5}: the perfect cut keeps the larger side
    kb = nx.complete_bipartite_graph(2, 5)
    kept, _, _ = ndp_partition(nx_edges(kb), 7)
    assert kept.tolist() == [2, 3, 4, 5, 6]


def test_ndp_small_edgeless_and_disconnected_graphs():
    empty = torch.empty(2, 0, dtype=torch.long)
    kept, ei, ew = ndp_partition(empty, 4)
    assert kept.tolist() == [0, 1, 2, 3] and ei.numel() == 0  # nothing to cut: keep all
    kept, _, _ = ndp_partition(empty, 1)
    assert kept.tolist() == [0]
    kept, ei, ew = ndp_partition(torch.tensor([[0, 1], [1, 0]]), 2)
    assert len(kept) == 1 and ei.numel() == 0
    # a triangle (odd cycle): the spectral cut is fixed to cut 2 of 3 edges
    tri = nx_edges(nx.cycle_graph(3))
    kept, _, _ = ndp_partition(tri, 3)
    assert cut_fraction(nx.cycle_graph(3), kept) >= 0.5
    # disconnected with an isolated node: every component keeps a node, no NaN anywhere
    g = nx.disjoint_union_all([nx.path_graph(2), nx.empty_graph(1), nx.cycle_graph(4), nx.complete_graph(3)])
    kept, ei, ew = ndp_partition(nx_edges(g), g.number_of_nodes())
    comps = [set(c) for c in nx.connected_components(g)]
    assert all(c & set(kept.tolist()) for c in comps)
    assert 2 in kept.tolist()
    assert torch.isfinite(ew).all()


def test_ndp_sparsify_drops_small_weights_only():
    g = GRAPHS[0]
    _, ei0, ew0 = ndp_partition(nx_edges(g), 30, sparsify=0.0)
    _, ei1, ew1 = ndp_partition(nx_edges(g), 30, sparsify=0.1)
    assert ei1.size(1) < ei0.size(1)
    assert (ew1 > 0.1).all()
    big = {tuple(e): w for e, w in zip(ei0.t().tolist(), ew0.tolist()) if w > 0.1}
    assert {tuple(e): w for e, w in zip(ei1.t().tolist(), ew1.tolist())} == pytest.approx(big)


def test_ndp_batch_equals_one_by_one_and_pooler_output():
    gs = [GRAPHS[0], GRAPHS[5], nx.empty_graph(1), GRAPHS[3]]
    data = [Data(x=torch.randn(g.number_of_nodes(), 2), edge_index=nx_edges(g)) for g in gs]
    b = Batch.from_data_list(data)
    out = NDPPool()(b.x, b.edge_index, b.batch)
    xs, n_off = [], 0
    for i, d in enumerate(data):
        kept, ei, ew = ndp_partition(d.edge_index, d.num_nodes)
        xs.append(d.x[kept])
        sel = out.batch == i
        assert int(sel.sum()) == len(kept)
        m = (out.edge_index[0] >= n_off) & (out.edge_index[0] < n_off + len(kept))
        assert torch.equal(out.edge_index[:, m] - n_off, ei)
        torch.testing.assert_close(out.edge_weight[m], ew)
        n_off += len(kept)
    torch.testing.assert_close(out.x, torch.cat(xs))


# --------------------------------------------------------------------------- k-MIS
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("ranking", ["degree", "random", "index"])
def test_kmis_is_k_independent_maximal_and_assigns_within_k_hops(k, ranking):
    for g in GRAPHS:
        n = g.number_of_nodes()
        mis, cluster = kmis_select(nx_edges(g), n, k=k, ranking=ranking, seed=1)
        dist = hop_distances(g)
        ms = mis.tolist()
        for a, b in itertools.combinations(ms, 2):
            assert dist[a].get(b, np.inf) > k
        for i in range(n):
            assert any(dist[i].get(m, np.inf) <= k for m in ms), "maximal"
            assert dist[i].get(ms[cluster[i]], np.inf) <= k, "assigned within k hops"
        assert cluster[mis].tolist() == list(range(len(ms)))  # an MIS node owns its cluster


def test_kmis_sizes_on_a_path_and_monotone_in_k():
    n = 20
    ei = nx_edges(nx.path_graph(n))
    for k in range(1, 6):
        mis, _ = kmis_select(ei, n, k=k, ranking="index")
        assert mis.tolist() == list(range(0, n, k + 1))  # ceil(n / (k + 1)) nodes
    g = relabel(nx.grid_2d_graph(7, 7))
    sizes = [len(kmis_select(nx_edges(g), 49, k=k)[0]) for k in range(1, 5)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]


def test_kmis_edge_cases_and_ranking_by_score():
    empty = torch.empty(2, 0, dtype=torch.long)
    mis, cl = kmis_select(empty, 3, k=2)
    assert mis.tolist() == [0, 1, 2] and cl.tolist() == [0, 1, 2]
    mis, cl = kmis_select(empty, 1)
    assert mis.tolist() == [0]
    star = nx_edges(nx.star_graph(5))
    assert kmis_select(star, 6, k=1)[0].tolist() == [0]  # the hub has the highest degree
    assert kmis_select(star, 6, k=1, ranking="score", score=-torch.arange(6.0).flip(0))[0].tolist() == [1, 2, 3, 4, 5]
    kb = nx.complete_bipartite_graph(3, 4)
    mis, _ = kmis_select(nx_edges(kb), 7, k=1)
    assert mis.tolist() == [0, 1, 2]  # the side with higher degree
    with pytest.raises(ValueError, match="k must"):
        kmis_select(star, 6, k=0)
    with pytest.raises(ValueError, match="score"):
        kmis_select(star, 6, ranking="score")
    with pytest.raises(ValueError, match="ranking"):
        KMISPool(ranking="best")
    with pytest.raises(ValueError, match="reduce_op"):
        KMISPool(reduce_op="median")


def test_kmis_permutation_equivariant_with_distinct_scores():
    g = nx.gnp_random_graph(30, 0.15, seed=3)
    ei = nx_edges(g)
    score = torch.randn(30, generator=torch.Generator().manual_seed(0))
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(1))
    s2 = torch.empty(30)
    s2[perm] = score
    for k in (1, 2):
        mis, cl = kmis_select(ei, 30, k=k, ranking="score", score=score)
        mis2, cl2 = kmis_select(perm[ei], 30, k=k, ranking="score", score=s2, seed=4)
        assert sorted(perm[mis].tolist()) == mis2.tolist()
        assert partition(cl2[perm]) == partition(cl)


def test_kmis_pooler_reduce_and_connect():
    g = relabel(nx.grid_2d_graph(5, 5))
    ei, x = nx_edges(g), torch.randn(25, 4, requires_grad=True)
    out = KMISPool(k=1)(x, ei)
    so = out.so
    for op in ("sum", "mean", "max"):
        got = KMISPool(k=1, reduce_op=op)(x, ei).x
        for c in range(so.num_clusters):
            members = x[so.node_index[so.cluster_index == c]]
            ref = {"sum": members.sum(0), "mean": members.mean(0), "max": members.max(0).values}[op]
            torch.testing.assert_close(got[c], ref)
    kept = KMISPool(k=1, reduce_op="keep")(x, ei)
    torch.testing.assert_close(kept.x, x[so.kept])
    # connect: A' = Sᵀ A S without self-loops, compared with dense algebra
    A = torch.zeros(25, 25)
    A[ei[0], ei[1]] = 1.0
    S = torch.zeros(25, so.num_clusters)
    S[so.node_index, so.cluster_index] = 1.0
    ref = S.t() @ A @ S
    ref.fill_diagonal_(0)
    got = torch.zeros_like(ref)
    got[out.edge_index[0], out.edge_index[1]] = out.edge_weight
    torch.testing.assert_close(got, ref)
    out.x.sum().backward()
    assert torch.isfinite(x.grad).all()


# --------------------------------------------------------------------------- registry / common
def test_registry_flags_and_no_nan_on_degenerate_graphs():
    for name, cls in [("graclus", GraclusPool), ("ndp", NDPPool), ("kmis", KMISPool)]:
        assert name in poolkit.list_poolers()
        p = poolkit.get_pooler(name)
        assert isinstance(p, cls) and p.is_precomputable and not p.is_trainable and not p.is_dense
        for n, ei in [(1, torch.empty(2, 0, dtype=torch.long)), (4, torch.empty(2, 0, dtype=torch.long)),
                      (3, torch.tensor([[0, 1], [1, 0]]))]:
            x = torch.randn(n, 2)
            out = p(x, ei)
            assert torch.isfinite(out.x).all() and 1 <= out.x.size(0) <= n
        with pytest.raises(ValueError, match="x must"):
            p(torch.randn(3), torch.empty(2, 0, dtype=torch.long))


@pytest.mark.parametrize("name", ["graclus", "kmis"])
def test_poolers_batch_equals_one_by_one(name):
    gs = [GRAPHS[1], nx.empty_graph(2), GRAPHS[4], GRAPHS[6]]
    data = [Data(x=torch.randn(g.number_of_nodes(), 3), edge_index=nx_edges(g)) for g in gs]
    b = Batch.from_data_list(data)
    p = poolkit.get_pooler(name)
    out = p(b.x, b.edge_index, b.batch)
    singles = [p(d.x, d.edge_index) for d in data]
    torch.testing.assert_close(out.x, torch.cat([s.x for s in singles]))
    sizes = torch.bincount(out.batch, minlength=len(data)).tolist()
    assert sizes == [s.x.size(0) for s in singles]


# --------------------------------------------------------------------------- pre-coarsening
@pytest.mark.parametrize("method,kwargs", [("graclus", {}), ("ndp", {}), ("kmis", {"k": 2})])
def test_precoarsen_batching_keeps_every_level_right(method, kwargs):
    gs = [GRAPHS[0], GRAPHS[2], nx.empty_graph(1), GRAPHS[7], GRAPHS[6]]
    t = Precoarsen(method, levels=3, **kwargs)
    data = [t(Data(x=torch.randn(g.number_of_nodes(), 3), edge_index=nx_edges(g), y=torch.tensor([i])))
            for i, g in enumerate(gs)]
    assert all(isinstance(d, PyramidData) and d.num_levels == 3 for d in data)
    for d in data:  # sizes shrink level by level
        s = d.pool_sizes.view(-1).tolist()
        assert s == sorted(s, reverse=True) and s[-1] >= 1
    loader = DataLoader(data, batch_size=len(data), shuffle=False)
    batch = next(iter(loader))
    assert batch.pool_sizes.shape == (len(data), 4)
    x = batch.x
    xs = [d.x for d in data]
    for lvl in range(1, 4):
        lv = pyramid_level(batch, lvl)
        # reduce on the batch == reduce on each graph, concatenated
        x = reduce(x, lv["so"])
        singles = []
        for i, d in enumerate(data):
            lv1 = pyramid_level(d, lvl)
            xs[i] = reduce(xs[i], lv1["so"])
        torch.testing.assert_close(x, torch.cat(xs))
        # pooled edges stay inside their graph and match the per-graph edges, shifted
        ei, bt = lv["edge_index"], lv["batch"]
        if ei.numel():
            assert torch.equal(bt[ei[0]], bt[ei[1]])
        offs = torch.cat([torch.zeros(1, dtype=torch.long), batch.pool_sizes[:, lvl].cumsum(0)])
        ref = torch.cat([pyramid_level(d, lvl)["edge_index"] + offs[i] for i, d in enumerate(data)], 1)
        assert torch.equal(ei, ref)
        assert torch.equal(lv["so"].cluster_batch, bt)
        assert lv["so"].num_nodes == int(batch.pool_sizes[:, lvl - 1].sum())


@pytest.mark.parametrize("method,kwargs", [("graclus", {}), ("graclus", {"mode": "visit"}), ("ndp", {}),
                                           ("kmis", {"k": 2}), ("kmis", {"k": 1, "reduce_op": "max"})])
def test_precoarsen_transform_all_equals_the_loop_over_graphs(method, kwargs):
    gs = [GRAPHS[0], GRAPHS[2], nx.empty_graph(1), GRAPHS[7], GRAPHS[6], nx.path_graph(2)]
    data = [Data(x=torch.randn(g.number_of_nodes(), 3), edge_index=nx_edges(g), y=torch.tensor([i]))
            for i, g in enumerate(gs)]
    t = Precoarsen(method, levels=3, **kwargs)
    loop = [t(d) for d in data]
    batch = t.transform_all(data)
    assert len(batch) == len(loop) and all(isinstance(d, PyramidData) for d in batch)
    for a, b in zip(loop, batch):
        assert set(a.keys()) == set(b.keys())
        for key in a.keys():
            if a[key].is_floating_point():
                torch.testing.assert_close(a[key], b[key])
            else:
                assert torch.equal(a[key], b[key]), key
    assert t.transform_all([]) == []


def test_kmis_is_a_maximal_independent_set_of_the_power_graph():
    for g in GRAPHS:
        n = g.number_of_nodes()
        ei = nx_edges(g)
        dist = hop_distances(g)
        for k in (1, 2, 3):
            pk = power_graph(ei, n, k)
            # the power graph joins exactly the pairs at hop distance 1..k
            pairs = {(i, j) for i in range(n) for j, d in dist[i].items() if 0 < d <= k}
            assert set(map(tuple, pk.t().tolist())) == pairs
            for ranking in ("index", "random"):
                mis, cl = kmis_select(ei, n, k=k, ranking=ranking, seed=3)
                mis1, cl1 = kmis_select(pk, n, k=1, ranking=ranking, seed=3)
                assert torch.equal(mis, mis1) and torch.equal(cl, cl1), (k, ranking)
            score = torch.randn(n, generator=torch.Generator().manual_seed(k))
            a = kmis_select(ei, n, k=k, ranking="score", score=score)
            b = kmis_select(pk, n, k=1, ranking="score", score=score)
            assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert power_graph(torch.empty(2, 0, dtype=torch.long), 3, 2).shape == (2, 0)
    with pytest.raises(ValueError, match="k"):
        power_graph(nx_edges(GRAPHS[3]), 11, 0)


def test_max_reduce_over_2x2_blocks_is_2x2_max_pooling_and_graclus_max_is_a_cluster_max():
    img = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    r, c = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    blocks = ((r // 2) * 4 + c // 2).reshape(-1)
    so = SelectOutput.from_cluster_index(blocks)
    pooled = reduce(img.reshape(64, 1), so, op="max").view(1, 1, 4, 4)
    torch.testing.assert_close(pooled, torch.nn.functional.max_pool2d(img, 2))
    g = relabel(nx.grid_2d_graph(8, 8))
    x = img.reshape(64, 1)
    out = GraclusPool(levels=2, reduce_op="max")(x, nx_edges(g))
    sizes = torch.bincount(out.so.cluster_index)
    assert int(sizes.max()) <= 4 and out.x.size(0) < 64 / 2
    for k in range(out.x.size(0)):
        members = out.so.node_index[out.so.cluster_index == k]
        assert out.x[k, 0] == x[members, 0].max()


def test_precoarsen_matches_the_pooler_and_rejects_bad_method():
    g = relabel(nx.grid_2d_graph(6, 6))
    x = torch.randn(36, 2)
    d = Precoarsen("graclus", levels=1)(Data(x=x, edge_index=nx_edges(g)))
    out = GraclusPool()(x, nx_edges(g))
    torch.testing.assert_close(reduce(x, pyramid_level(d, 1)["so"]), out.x)
    assert torch.equal(d.pool1_edge_index, out.edge_index)
    with pytest.raises(ValueError, match="method"):
        Precoarsen("topk")
    with pytest.raises(ValueError, match="level"):
        pyramid_level(d, 2)


def test_precoarsen_on_a_pyg_graph_with_networkx_conversion():
    data = from_networkx(nx.karate_club_graph())
    data.x = torch.ones(data.num_nodes, 1)
    d = Precoarsen("kmis", levels=2, k=1)(data)
    assert d.pool_sizes[0, 0] == 34 and d.pool_sizes[0, 2] < d.pool_sizes[0, 1] < 34


def test_pyramid_gnn_runs_on_a_batch_and_matches_graph_by_graph():
    from poolkit.one_over_k import PyramidGNN

    torch.manual_seed(0)
    gs = [GRAPHS[0], GRAPHS[3], nx.empty_graph(1), GRAPHS[6]]
    t = Precoarsen("graclus", levels=2)
    data = [t(Data(x=torch.randn(g.number_of_nodes(), 3), edge_index=nx_edges(g))) for g in gs]
    model = PyramidGNN(3, 2, levels=2, hidden=8)
    batch = Batch.from_data_list(data)
    pred, aux = model(batch)
    assert pred.shape == (4, 2) and aux == {}
    one = torch.cat([model(Batch.from_data_list([d]))[0] for d in data])
    torch.testing.assert_close(pred, one, rtol=1e-5, atol=1e-5)
    pred.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
