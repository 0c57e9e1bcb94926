"""SEP (poolkit/poolers/spectral/sep.py): structural entropy, its minimising partition, comparison with tgp."""
import math

import networkx as nx
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.one_over_k import SEPPool, structural_entropy, structural_entropy_partition

from peers import tgp_poolers


def _ei(graph):
    e = torch.tensor(list(graph.edges()), dtype=torch.long).t()
    return torch.cat([e, e.flip(0)], 1)


def _set_partitions(n):
    """Every partition of range(n), as label lists (restricted growth strings)."""
    def rec(i, labels, k):
        if i == n:
            yield list(labels)
            return
        for c in range(k + 1):
            labels.append(c)
            yield from rec(i + 1, labels, max(k, c + 1))
            labels.pop()
    yield from rec(0, [], 0)


def _all_entropies(ei, n):
    """The two-level entropy of every partition of an n-node graph at once, from the
    definition: module volumes V_j, cut weights g_j and degrees d_i."""
    labels = torch.tensor(list(_set_partitions(n)))
    a = torch.zeros(n, n, dtype=torch.float64).index_put((ei[0], ei[1]), torch.ones(ei.size(1), dtype=torch.float64))
    d = a.sum(1)
    vol = float(d.sum())
    onehot = torch.nn.functional.one_hot(labels, n).double()          # [P, n, modules]
    big_v = torch.einsum("pnk,n->pk", onehot, d)
    inner = torch.einsum("pik,ij,pjk->pk", onehot, a, onehot)
    g = big_v - inner
    xlog = lambda t, r: torch.where(t > 0, t * torch.log2(r.clamp_min(1e-300)), torch.zeros_like(t))  # noqa: E731
    modules = -xlog(g, big_v / vol).sum(1) / vol
    v_of_node = torch.gather(big_v, 1, labels)
    nodes = -xlog(d.expand_as(v_of_node), d / v_of_node).sum(1) / vol
    return modules + nodes


SMALL = {
    "two triangles": nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)]),
    "path 8": nx.path_graph(8),
    "star 7": nx.star_graph(6),
    "cycle 8": nx.cycle_graph(8),
    "barbell": nx.barbell_graph(4, 0),
    "random 8": nx.gnp_random_graph(8, 0.4, seed=3),
    "random 8b": nx.gnp_random_graph(8, 0.35, seed=5),
    "lollipop": nx.lollipop_graph(4, 3),
}


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["sep"]
    assert info["class"] == "SEPPool" and info["precomputable"] and not info["trainable"] and not info["dense"]
    assert isinstance(src.example_pooler("sep", in_channels=3), SEPPool)


def test_structural_entropy_follows_its_formula():
    g = nx.gnp_random_graph(10, 0.4, seed=1)
    ei = _ei(g)
    cluster = torch.tensor([i % 3 for i in range(10)])
    deg = dict(g.degree())
    vol = 2 * g.number_of_edges()
    ref = 0.0
    for j in range(3):
        members = [i for i in range(10) if i % 3 == j]
        vj = sum(deg[i] for i in members)
        gj = sum(1 for a, b in g.edges() if (a in members) != (b in members))
        ref -= gj / vol * math.log2(vj / vol)
        ref -= sum(deg[i] / vol * math.log2(deg[i] / vj) for i in members if deg[i] > 0)
    assert abs(structural_entropy(ei, cluster, 10) - ref) < 1e-12


def test_both_trivial_partitions_give_the_one_level_entropy():
    g = nx.gnp_random_graph(12, 0.3, seed=2)
    ei, n = _ei(g), 12
    vol = 2 * g.number_of_edges()
    h1 = -sum(d / vol * math.log2(d / vol) for _, d in g.degree() if d > 0)
    assert abs(structural_entropy(ei, torch.zeros(n, dtype=torch.long), n) - h1) < 1e-12
    assert abs(structural_entropy(ei, torch.arange(n), n) - h1) < 1e-12


@pytest.mark.parametrize("name", list(SMALL))
def test_partition_reaches_the_brute_force_optimum_on_small_graphs(name):
    g = nx.convert_node_labels_to_integers(SMALL[name])
    n, ei = g.number_of_nodes(), _ei(g)
    cluster, k = structural_entropy_partition(ei, n)
    best = float(_all_entropies(ei, n).min())
    assert abs(structural_entropy(ei, cluster, n) - best) < 1e-9, (name, cluster)
    assert k == int(cluster.max()) + 1


def test_greedy_merging_alone_stops_above_the_optimum_on_two_cliques():
    """The reason for several starts: from single nodes, merges and moves stop at the two
    bridge nodes paired (2.421 bits), above the two cliques (2.363)."""
    from poolkit.ops.entropy_search import refine_entropy

    g = nx.barbell_graph(5, 0)
    ei, n = _ei(g), 10
    w = torch.zeros(n, n, dtype=torch.float64).index_put((ei[0], ei[1]), torch.ones(ei.size(1), dtype=torch.float64))
    lab = refine_entropy(torch.arange(n), w, w.sum(1))
    cliques = torch.tensor([0] * 5 + [1] * 5)
    assert structural_entropy(ei, lab, n) > structural_entropy(ei, cliques, n) + 0.05
    cluster, k = structural_entropy_partition(ei, n)
    assert k == 2 and torch.equal(cluster, cliques)


def test_batch_isolated_nodes_and_weights():
    g1, g2 = nx.barbell_graph(4, 0), nx.cycle_graph(6)
    ei = torch.cat([_ei(g1), _ei(g2) + 8], 1)
    batch = torch.tensor([0] * 8 + [1] * 6 + [2])            # graph 2: one isolated node
    together, k = structural_entropy_partition(ei, 15, batch=batch)
    a, ka = structural_entropy_partition(_ei(g1), 8)
    b, kb = structural_entropy_partition(_ei(g2), 6)
    assert torch.equal(together[:14], torch.cat([a, b + ka])) and int(together[14]) == ka + kb and k == ka + kb + 1
    # a heavy edge pulls its ends together
    path = _ei(nx.path_graph(6))
    w = torch.ones(path.size(1))
    w[(path[0] == 2) & (path[1] == 3) | (path[0] == 3) & (path[1] == 2)] = 20.0
    cluster, _ = structural_entropy_partition(path, 6, edge_weight=w)
    assert cluster[2] == cluster[3]


def test_pooler_reduces_and_connects_like_a_hard_clustering():
    g = nx.barbell_graph(4, 1)
    ei, n = _ei(g), g.number_of_nodes()
    x = torch.randn(n, 3)
    out = SEPPool()(x, ei)
    so = out.so
    s = torch.zeros(n, so.num_clusters)
    s[so.node_index, so.cluster_index] = 1.0
    assert torch.allclose(out.x, s.t() @ x, atol=1e-6)
    a = torch.zeros(n, n).index_put((ei[0], ei[1]), torch.ones(ei.size(1)), accumulate=True)
    ref = s.t() @ a @ s
    ref.fill_diagonal_(0)
    got = torch.zeros(so.num_clusters, so.num_clusters).index_put((out.edge_index[0], out.edge_index[1]),
                                                                   out.edge_weight, accumulate=True)
    assert torch.allclose(got, ref)


@pytest.mark.parametrize("kwargs", [dict(reduce_op="median"), dict(max_start_clusters=0)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        SEPPool(**kwargs)


def test_entropy_no_higher_than_tgps_sep_on_small_graphs():
    """tgp ports the authors' coding-tree code; on every small graph here our partition's
    two-level entropy is at most tgp's (it is the brute-force optimum, above)."""
    poolers = tgp_poolers()
    lower = 0
    for name, g in SMALL.items():
        g = nx.convert_node_labels_to_integers(g)
        n, ei = g.number_of_nodes(), _ei(g)
        out = poolers.SEPPooling()(torch.randn(n, 2), ei)
        s = out.so.s.to_dense() if out.so.s.is_sparse else out.so.s
        s = s.squeeze(0) if s.dim() == 3 else s
        theirs = structural_entropy(ei, s.argmax(-1), n)
        ours = structural_entropy(ei, structural_entropy_partition(ei, n)[0], n)
        assert ours <= theirs + 1e-9, (name, ours, theirs)
        lower += ours < theirs - 1e-6
    assert lower >= 1


@pytest.mark.parametrize("sizes, seed", [([5, 5, 19, 26, 31, 16, 40, 7], 2), ([11, 21, 5, 10, 8, 9, 6, 31], 9),
                                         ([5, 15, 9, 24, 12, 30, 8, 17], 0)])
def test_batch_runs_every_search_as_it_would_run_alone(sizes, seed):
    """All searches of a batch run together, padded to its largest graph; each graph still gets
    exactly its own partition (spectral starts included, where symmetric nodes tie)."""
    from batches import partition_graph_by_graph, random_batch

    ei, n, batch = random_batch(sizes, 4, seed)
    together, k = structural_entropy_partition(ei, n, batch=batch)
    alone, k_alone = partition_graph_by_graph(structural_entropy_partition, ei, n, batch)
    assert k == k_alone and torch.equal(together, alone)


def test_searches_split_into_chunks_give_the_same_partition(monkeypatch):
    """Large batches are searched in chunks of similar graph size (SEARCH_CHUNK entries per
    table); one search per chunk must give what one chunk for all gives."""
    from batches import random_batch

    import poolkit.poolers.spectral.sep as sep_module

    ei, n, batch = random_batch([5, 15, 9, 24, 12, 30, 8, 17], 4, 1)
    together = structural_entropy_partition(ei, n, batch=batch)
    monkeypatch.setattr(sep_module, "SEARCH_CHUNK", 1)
    assert all(torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
               for x, y in zip(structural_entropy_partition(ei, n, batch=batch), together))
