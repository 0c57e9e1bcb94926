"""Tests for poolkit.ablations: complement graph, complement Graclus, random assignments,
memory pooling and the homogeneity numbers."""
import itertools

import networkx as nx
import pytest
import torch
from torch_geometric.nn import MemPooling
from torch_geometric.utils import to_dense_adj

import poolkit
from poolkit.ablations import (
    ComplementGraclusPool,
    GMNDistancePool,
    GMNPool,
    GMNRandomPool,
    RandomDiffPool,
    RandomMinCutPool,
    complement_graph,
    dirichlet_energy,
    feature_variance,
    random_matrix,
)
from poolkit.soft import diffpool_losses, mincut_losses, normalize_pooled_adj


def _nx_batch(graphs):
    """Concatenate networkx graphs into a PyG-style (edge_index, batch, num_nodes)."""
    rows, cols, batch, off = [], [], [], 0
    for g, G in enumerate(graphs):
        for u, v in G.edges():
            rows += [u + off, v + off]
            cols += [v + off, u + off]
        batch += [g] * G.number_of_nodes()
        off += G.number_of_nodes()
    ei = torch.tensor([rows, cols], dtype=torch.long).view(2, -1)
    return ei, torch.tensor(batch, dtype=torch.long), off


def _edge_set(ei):
    return set(map(tuple, ei.t().tolist()))


GRAPHS = [nx.gnp_random_graph(7, 0.4, seed=1), nx.path_graph(5), nx.empty_graph(4), nx.empty_graph(1),
          nx.complete_graph(4), nx.gnp_random_graph(9, 0.3, seed=2)]


# --------------------------------------------------------------------------- complement graph
def test_complement_matches_networkx_per_graph():
    ei, batch, n = _nx_batch(GRAPHS)
    comp = complement_graph(ei, n, batch)
    expected, off = set(), 0
    for G in GRAPHS:
        for u, v in nx.complement(G).edges():
            expected |= {(u + off, v + off), (v + off, u + off)}
        off += G.number_of_nodes()
    assert _edge_set(comp) == expected
    assert comp.size(1) == len(expected)  # no duplicates


def test_complement_has_no_self_loops_and_no_cross_graph_edges():
    ei, batch, n = _nx_batch(GRAPHS)
    comp = complement_graph(ei, n, batch)
    assert bool((comp[0] != comp[1]).all())
    assert bool((batch[comp[0]] == batch[comp[1]]).all())


def test_complement_of_complement_is_the_graph():
    ei, batch, n = _nx_batch(GRAPHS)
    twice = complement_graph(complement_graph(ei, n, batch), n, batch)
    assert _edge_set(twice) == _edge_set(ei)


def test_complement_of_edgeless_graph_is_complete_and_single_node_is_empty():
    comp = complement_graph(torch.empty(2, 0, dtype=torch.long), 4)
    assert comp.size(1) == 12
    assert complement_graph(torch.empty(2, 0, dtype=torch.long), 1).size(1) == 0
    assert complement_graph(torch.empty(2, 0, dtype=torch.long), 0).shape == (2, 0)


@pytest.mark.parametrize(
    "args, match",
    [
        ((torch.tensor([0, 1]), 3), "edge_index"),
        ((torch.tensor([[0], [5]]), 3), "edge_index"),
        ((torch.tensor([[0], [1]]), -1), "num_nodes"),
        ((torch.tensor([[0], [1]]), 3, torch.tensor([0, 0])), "batch"),
        ((torch.tensor([[0], [2]]), 3, torch.tensor([0, 0, 1])), "different graphs"),
        ((torch.tensor([[0], [1]]), 3, torch.tensor([1, 0, 0])), "sorted"),
    ],
)
def test_complement_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        complement_graph(*args)


# --------------------------------------------------------------------------- complement graclus
def _clusters(so):
    out = {}
    for node, c in zip(so.node_index.tolist(), so.cluster_index.tolist()):
        out.setdefault(c, []).append(node)
    return out


@pytest.mark.parametrize("complement", [True, False])
def test_complement_graclus_groups_non_neighbours_and_uses_original_edges(complement):
    ei, batch, n = _nx_batch(GRAPHS)
    x = torch.randn(n, 3)
    out = ComplementGraclusPool(complement=complement)(x, ei, batch)
    edges = _edge_set(ei)
    cl = _clusters(out.so)
    assert sorted(v for c in cl.values() for v in c) == list(range(n))  # a partition
    for members in cl.values():
        assert len(members) <= 2
        assert len({int(batch[m]) for m in members}) == 1  # never across graphs
        if len(members) == 2:
            pair_is_edge = tuple(members) in edges
            assert pair_is_edge != complement  # complement pairs non-neighbours, graclus neighbours
    # reduce: max over each cluster
    for c, members in cl.items():
        assert torch.equal(out.x[c], x[members].max(0).values)
    # connect: the ORIGINAL edges relabelled, self-loops dropped, weight 1
    node_to_c = {v: c for c, m in cl.items() for v in m}
    expected = {(node_to_c[u], node_to_c[v]) for u, v in edges if node_to_c[u] != node_to_c[v]}
    assert _edge_set(out.edge_index) == expected
    assert torch.equal(out.edge_weight, torch.ones_like(out.edge_weight))
    # pooled batch vector is sorted and per graph
    assert bool((out.batch[1:] >= out.batch[:-1]).all())


def test_complement_graclus_pairs_most_nodes_of_a_sparse_graph():
    # On a path the complement is dense, so nearly every node finds a partner.
    ei, batch, n = _nx_batch([nx.path_graph(10)])
    out = ComplementGraclusPool()(torch.randn(n, 2), ei, batch)
    assert out.so.num_clusters == 5


def test_complement_graclus_batch_equals_one_by_one():
    ei, batch, n = _nx_batch(GRAPHS)
    x = torch.randn(n, 4)
    pool = ComplementGraclusPool()
    out = pool(x, ei, batch)
    off, xs = 0, []
    for G in GRAPHS:
        e, b, m = _nx_batch([G])
        xs.append(pool(x[off:off + m], e, b).x)
        off += m
    assert torch.allclose(out.x, torch.cat(xs))


def test_complement_graclus_edgeless_and_one_node_graphs_have_no_nan():
    ei, batch, n = _nx_batch([nx.empty_graph(5), nx.empty_graph(1)])
    out = ComplementGraclusPool()(torch.randn(n, 2), ei, batch)
    assert torch.isfinite(out.x).all() and out.edge_index.size(1) == 0
    assert out.so.num_clusters == 4  # 2 pairs + 1 single in the 5-node graph, 1 single node


def test_complement_graclus_registered_and_bad_input():
    assert "complement_graclus" in poolkit.list_poolers()
    pool = poolkit.get_pooler("complement_graclus")
    with pytest.raises(ValueError, match="edge_index"):
        pool(torch.randn(3, 2), torch.tensor([[0, 1], [1, 7]]))
    with pytest.raises(ValueError, match="x must"):
        pool(torch.randn(3), torch.tensor([[0], [1]]))


@pytest.mark.parametrize("complement", [True, False])
def test_complement_graclus_per_pass_order_changes_clusters_and_repeats_under_a_seed(complement):
    # A cycle of 12 nodes: every edge of it (and of its complement) ties with every other, so
    # the pairing is decided by the node order alone. Index order gives one pairing for ever;
    # "per_pass" draws a new order at every forward pass, reproducibly under torch.manual_seed.
    ei, batch, n = _nx_batch([nx.cycle_graph(12)])
    x = torch.randn(n, 2)
    clusters = lambda pool: tuple(pool.select(x, ei, batch).cluster_index.tolist())
    fixed = ComplementGraclusPool(complement=complement)
    assert len({clusters(fixed) for _ in range(5)}) == 1 and fixed.is_precomputable
    shuffled = ComplementGraclusPool(complement=complement, seed="per_pass")
    assert not shuffled.is_precomputable and "per_pass" in repr(shuffled)
    torch.manual_seed(0)
    first = [clusters(shuffled) for _ in range(8)]
    assert len(set(first)) > 1
    torch.manual_seed(0)
    assert [clusters(shuffled) for _ in range(8)] == first
    # every pass is still a matching: clusters of one or two nodes, same pooled size rule
    for c in first:
        sizes = torch.bincount(torch.tensor(c))
        assert int(sizes.max()) <= 2 and int(sizes.min()) >= 1


@pytest.mark.parametrize("seed", ["each", 1.5, True])
def test_complement_graclus_rejects_a_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be"):
        ComplementGraclusPool(seed=seed)


# --------------------------------------------------------------------------- random assignments
def _dense_batch_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    ei, batch, n = _nx_batch([nx.gnp_random_graph(6, 0.5, seed=3), nx.cycle_graph(4), nx.empty_graph(1)])
    return torch.randn(n, 5, generator=g), ei, batch


@pytest.mark.parametrize("cls", [RandomDiffPool, RandomMinCutPool])
@pytest.mark.parametrize("distribution", ["uniform", "normal", "bernoulli"])
def test_random_assignment_is_fixed_softmaxed_and_gets_no_gradient(cls, distribution):
    x, ei, batch = _dense_batch_data()
    pool = cls(k=3, max_nodes=10, distribution=distribution, seed=0)
    assert list(pool.parameters()) == []
    before = pool.s_tilde.clone()
    x = x.requires_grad_()
    o1, o2 = pool(x, ei, batch), pool(x, ei, batch)
    assert torch.equal(o1.so.s, o2.so.s)
    assert not o1.so.s.requires_grad  # S does not depend on anything trainable
    s, mask = o1.so.s, o1.so.mask
    assert torch.allclose(s.sum(-1)[mask], torch.ones(int(mask.sum())))
    assert torch.equal(s[~mask], torch.zeros_like(s[~mask]))
    o1.x.sum().backward()  # gradients reach x, not S
    assert x.grad is not None and pool.s_tilde.grad is None
    assert torch.equal(pool.s_tilde, before)
    # every graph uses the same rows: graph 1 has the first 4 rows of graph 0's S
    assert torch.allclose(s[1, :4], s[0, :4])


def test_random_matrix_distributions():
    g = torch.Generator().manual_seed(0)
    u = random_matrix((200, 5), "uniform", g, low=-2.0, high=3.0)
    assert float(u.min()) >= -2.0 and float(u.max()) <= 3.0
    b = random_matrix((200, 5), "bernoulli", g, p=0.3)
    assert set(b.unique().tolist()) <= {0.0, 1.0} and 0.15 < float(b.mean()) < 0.45
    nrm = random_matrix((2000, 5), "normal", g, mean=1.0, std=2.0)
    assert abs(float(nrm.mean()) - 1.0) < 0.2 and abs(float(nrm.std()) - 2.0) < 0.2
    a = RandomDiffPool(k=3, max_nodes=8, seed=4).s_tilde
    assert torch.equal(a, RandomDiffPool(k=3, max_nodes=8, seed=4).s_tilde)
    assert not torch.equal(a, RandomDiffPool(k=3, max_nodes=8, seed=5).s_tilde)


def test_random_diffpool_reduce_and_connect_are_diffpools():
    x, ei, batch = _dense_batch_data()
    out = RandomDiffPool(k=3, max_nodes=10, seed=1, with_losses=True)(x, ei, batch)
    s, mask = out.so.s, out.so.mask
    from torch_geometric.utils import to_dense_batch

    xd, _ = to_dense_batch(x, batch)
    adj = to_dense_adj(ei, batch, max_num_nodes=xd.size(1))
    assert torch.allclose(out.x, s.transpose(1, 2) @ xd, atol=1e-6)
    assert torch.allclose(out.adj, s.transpose(1, 2) @ adj @ s, atol=1e-6)
    ref = diffpool_losses(adj, s, mask)
    assert set(out.losses) == {"link", "entropy"}
    assert all(torch.allclose(out.losses[k], ref[k]) for k in ref)
    assert RandomDiffPool(k=3, max_nodes=10)(x, ei, batch).losses == {}


def test_random_mincut_connect_is_mincuts():
    x, ei, batch = _dense_batch_data()
    out = RandomMinCutPool(k=3, max_nodes=10, seed=1, with_losses=True)(x, ei, batch)
    s = out.so.s
    adj = to_dense_adj(ei, batch, max_num_nodes=s.size(1))
    assert torch.allclose(out.adj, normalize_pooled_adj(s.transpose(1, 2) @ adj @ s), atol=1e-6)
    assert torch.allclose(torch.diagonal(out.adj, dim1=1, dim2=2), torch.zeros(3, 3))
    assert torch.allclose(out.adj, out.adj.transpose(1, 2))
    assert torch.allclose(out.losses["cut"], mincut_losses(adj, s, out.so.mask)["cut"])


def _permute_one_graph(n=7, f=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    G = nx.gnp_random_graph(n, 0.5, seed=seed)
    ei, batch, _ = _nx_batch([G])
    x = torch.randn(n, f, generator=g)
    perm = torch.randperm(n, generator=g)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    return x, ei, x[perm], inv[ei]


def test_invariant_random_variant_is_permutation_invariant():
    x, ei, xp, eip = _permute_one_graph()
    pool = RandomDiffPool(k=3, in_channels=4, invariant=True, distribution="normal", seed=0)
    assert list(pool.parameters()) == [] and pool.weight.shape == (4, 3)
    a, b = pool(x, ei), pool(xp, eip)
    assert torch.allclose(a.x, b.x, atol=1e-5)
    assert torch.allclose(a.adj, b.adj, atol=1e-5)


def test_plain_random_variant_is_not_permutation_invariant():
    x, ei, xp, eip = _permute_one_graph()
    pool = RandomDiffPool(k=3, max_nodes=7, distribution="normal", seed=0)
    a, b = pool(x, ei), pool(xp, eip)
    assert not torch.allclose(a.x, b.x, atol=1e-3)


@pytest.mark.parametrize("invariant", [True, False])
def test_random_diffpool_batch_equals_one_by_one(invariant):
    x, ei, batch = _dense_batch_data()
    kw = dict(in_channels=5, invariant=True) if invariant else dict(max_nodes=10)
    pool = RandomDiffPool(k=2, seed=3, **kw)
    out = pool(x, ei, batch)
    for g in range(3):
        idx = (batch == g).nonzero().view(-1)
        keep = (batch[ei[0]] == g)
        sub = pool(x[idx], ei[:, keep] - idx[0])
        assert torch.allclose(out.x[g], sub.x[0], atol=1e-6)
        assert torch.allclose(out.adj[g], sub.adj[0], atol=1e-6)


def test_random_diffpool_accepts_dense_input_for_deeper_levels():
    x, ei, batch = _dense_batch_data()
    first = RandomDiffPool(k=4, max_nodes=10, seed=0)(x, ei, batch)
    second = RandomDiffPool(k=2, max_nodes=4, seed=1)(first.x, adj=first.adj, mask=first.mask)
    assert second.x.shape == (3, 2, 5) and torch.isfinite(second.adj).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0, max_nodes=5), "k must"),
        (dict(k=2), "max_nodes"),
        (dict(k=2, invariant=True), "in_channels"),
        (dict(k=2, max_nodes=5, distribution="cauchy"), "distribution"),
        (dict(k=2, max_nodes=5, distribution="bernoulli", p=1.5), "p must"),
        (dict(k=2, max_nodes=5, distribution="normal", std=0.0), "std"),
        (dict(k=2, max_nodes=5, low=1.0, high=0.0), "high"),
    ],
)
def test_random_diffpool_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomDiffPool(**kwargs)


def test_random_diffpool_bad_input():
    x, ei, batch = _dense_batch_data()
    with pytest.raises(ValueError, match="max_nodes"):
        RandomDiffPool(k=2, max_nodes=3)(x, ei, batch)
    with pytest.raises(ValueError, match="in_channels"):
        RandomDiffPool(k=2, in_channels=3, invariant=True)(x, ei, batch)
    with pytest.raises(ValueError, match="batch"):
        RandomDiffPool(k=2, max_nodes=20)(x, ei, batch[:-1])
    with pytest.raises(ValueError, match="adj"):
        RandomDiffPool(k=2, max_nodes=20)(torch.randn(2, 3, 4), adj=torch.zeros(2, 3, 2))


# --------------------------------------------------------------------------- memory pooling
def test_memory_pool_matches_pyg_mempooling():
    torch.manual_seed(0)
    x, ei, batch = _dense_batch_data()
    ours = GMNPool(5, 3, k=4, heads=2, tau=1.0)
    ref = MemPooling(5, 3, heads=2, num_clusters=4, tau=1.0)
    with torch.no_grad():
        ref.k.copy_(ours.keys)
        ref.conv.weight.copy_(ours.conv.weight)
        ref.lin.weight.copy_(ours.lin.weight)
    out = ours(x, ei, batch)
    rx, rs = ref(x, batch)
    assert torch.allclose(out.x, rx, atol=1e-5)
    assert torch.allclose(out.so.s, rs, atol=1e-6)
    # PyG's KL is summed over the nodes of the batch and divided by B; ours is a mean
    # over each graph's nodes, so the two agree on a single graph up to the factor n.
    one = (batch == 0)
    s1 = rs[:1, : int(one.sum())]
    ours_kl = ours(x[one], ei[:, one[ei[0]]]).losses["kl"]
    assert torch.allclose(ours_kl * int(one.sum()), MemPooling.kl_loss(s1), atol=1e-5)


def test_memory_kl_is_zero_for_uniform_assignments():
    # Remark 2 of the paper: identical keys give uniform S, a perfect minimiser of the KL.
    x, ei, batch = _dense_batch_data()
    pool = GMNPool(5, 3, k=4, heads=1)
    with torch.no_grad():
        pool.keys.copy_(pool.keys[:, :1].expand_as(pool.keys))
    out = pool(x, ei, batch)
    assert torch.allclose(out.so.s[out.so.mask], torch.full((int(out.so.mask.sum()), 4), 0.25), atol=1e-6)
    assert float(out.losses["kl"].detach()) < 1e-6
    sharp = GMNPool(5, 3, k=4, heads=1)(x * 10, ei, batch).losses["kl"].detach()
    assert float(sharp) > 0


def test_memory_distance_variant_prefers_far_keys_and_fixed_keys():
    pool = GMNDistancePool(2, 2, k=2, heads=1, seed=0)
    assert "keys" in dict(pool.named_buffers()) and "keys" not in dict(pool.named_parameters())
    with torch.no_grad():
        pool.keys.copy_(torch.tensor([[[0.0, 0.0], [1.0, 0.0]]]))
    x = torch.tensor([[[0.1, 0.0]]])
    s_heads = pool.head_assignments(x)
    assert float(s_heads[0, 0, 0, 1]) > float(s_heads[0, 0, 0, 0])  # the farther key wins
    assert pool(x, adj=torch.zeros(1, 1, 1)).losses == {}


@pytest.mark.parametrize("cls", [GMNPool, GMNDistancePool])
def test_memory_kernel_and_distance_are_permutation_invariant(cls):
    x, ei, xp, eip = _permute_one_graph()
    pool = cls(4, 3, k=3, heads=2, seed=0)
    assert torch.allclose(pool(x, ei).x, pool(xp, eip).x, atol=1e-5)


def test_memory_random_variant_is_fixed_and_not_invariant():
    x, ei, xp, eip = _permute_one_graph()
    pool = GMNRandomPool(4, 3, k=3, heads=2, max_nodes=7, seed=0)
    assert "noise" in dict(pool.named_buffers())
    assert torch.equal(pool(x, ei).so.s, pool(x, ei).so.s)
    assert not torch.allclose(pool(x, ei).x, pool(xp, eip).x, atol=1e-4)
    with pytest.raises(ValueError, match="max_nodes"):
        GMNRandomPool(4, 3, k=3, max_nodes=None)
    with pytest.raises(ValueError, match="max_nodes"):
        GMNRandomPool(4, 3, k=3, max_nodes=3)(x, ei)


def test_memory_bad_arguments():
    with pytest.raises(ValueError, match="tau"):
        GMNPool(4, 3, k=2, tau=0)
    with pytest.raises(ValueError, match="heads"):
        GMNPool(4, 3, k=2, heads=0)
    with pytest.raises(ValueError, match="in_channels"):
        GMNPool(4, 3, k=2)(torch.randn(3, 5), torch.tensor([[0], [1]]))


def test_all_ablation_poolers_registered():
    names = set(poolkit.list_poolers())
    assert {"complement_graclus", "random_diffpool", "random_mincut", "gmn", "gmn_distance", "gmn_random"} <= names


# --------------------------------------------------------------------------- homogeneity
def test_feature_variance_matches_direct_computation():
    x, ei, batch = _dense_batch_data()
    expected = torch.stack([x[batch == g].var(0, unbiased=False).mean() for g in range(3)]).mean()
    assert torch.allclose(feature_variance(x, batch), expected, atol=1e-6)
    r = feature_variance(x, batch, normalize=True)
    assert 0.0 <= float(r) <= 1.0


def test_homogeneous_features_score_zero():
    x, ei, batch = _dense_batch_data()
    const = torch.randn(3, 5)[batch]  # one vector per graph
    assert float(feature_variance(const, batch)) < 1e-12
    assert float(feature_variance(const, batch, normalize=True)) < 1e-6
    assert float(dirichlet_energy(const, ei, batch)) < 1e-12


def test_dirichlet_energy_on_a_path():
    ei, batch, n = _nx_batch([nx.path_graph(3)])
    x = torch.tensor([[0.0], [1.0], [3.0]])
    # edges (0,1) and (1,2): (1 + 4) per direction, both directions, / (2 * 3 nodes)
    assert torch.allclose(dirichlet_energy(x, ei, batch), torch.tensor(5.0 / 3.0))
    assert torch.allclose(dirichlet_energy(2 * x, ei, batch, normalize=True), dirichlet_energy(x, ei, batch, normalize=True))
