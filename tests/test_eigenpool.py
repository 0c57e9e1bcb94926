"""EigenPool (poolkit/poolers/spectral/eigenpool.py): spectral partition, subgraph Fourier modes, agreement with tgp."""
import numpy as np
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.nn import HierarchicalGNN
from poolkit.one_over_k import EigenPool, cluster_eigenvectors, spectral_partition

from peers import tgp_poolers


def _undirected(pairs, offset=0):
    ei = torch.tensor(pairs, dtype=torch.long).t() + offset
    return torch.cat([ei, ei.flip(0)], 1)


def _cliques(sizes, bridges=True):
    """Cliques of the given sizes, consecutive ones joined by one edge."""
    pairs, off, firsts = [], 0, []
    for s in sizes:
        pairs += [(off + i, off + j) for i in range(s) for j in range(i + 1, s)]
        firsts.append(off)
        off += s
    if bridges:
        pairs += [(firsts[i], firsts[i + 1]) for i in range(len(sizes) - 1)]
    return _undirected(pairs), off


def _same_partition(a, b):
    """Two labellings describe the same partition of the nodes."""
    pairs = {}
    for x, y in zip(a.tolist(), b.tolist()):
        if pairs.setdefault(x, y) != y:
            return False
    return len(set(pairs.values())) == len(pairs)


def _dense(ei, n, w=None):
    w = torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double()
    return torch.zeros(n, n, dtype=torch.float64).index_put((ei[0], ei[1]), w, accumulate=True)


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["eigenpool"]
    assert info["class"] == "EigenPool" and info["precomputable"] and not info["trainable"] and not info["dense"]
    assert isinstance(src.example_pooler("eigenpool", in_channels=3), EigenPool)


# --------------------------------------------------------------------------- partition
def test_partition_recovers_cliques_joined_by_single_edges():
    ei, n = _cliques([5, 6, 4])
    cluster, k = spectral_partition(ei, n, 3)
    assert k == 3
    assert _same_partition(cluster, torch.tensor([0] * 5 + [1] * 6 + [2] * 4))


def test_partition_of_a_batch_equals_graph_by_graph_and_numbers_groups_in_order():
    ei1, n1 = _cliques([4, 4])
    ei2, n2 = _cliques([3, 5, 3])
    ei = torch.cat([ei1, ei2 + n1], 1)
    batch = torch.tensor([0] * n1 + [1] * n2)
    together, k = spectral_partition(ei, n1 + n2, 3, batch=batch)
    c1, k1 = spectral_partition(ei1, n1, 3)
    c2, k2 = spectral_partition(ei2, n2, 3)
    assert k == k1 + k2 and torch.equal(together, torch.cat([c1, c2 + k1]))
    first = [int((together == c).nonzero()[0]) for c in range(k)]
    assert first == sorted(first)   # groups numbered by their lowest node


def test_partition_is_invariant_to_node_order():
    ei, n = _cliques([5, 4, 6])
    cluster, _ = spectral_partition(ei, n, 3)
    for seed in range(3):
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(n)
        got, _ = spectral_partition(inv[ei], n, 3)
        assert _same_partition(cluster, got[inv])


def test_small_graphs_and_edge_cases():
    ei, n = _cliques([3])
    assert torch.equal(spectral_partition(ei, n, 5)[0], torch.arange(3))       # k >= n: singletons
    assert torch.equal(spectral_partition(ei, n, 1)[0], torch.zeros(3, dtype=torch.long))
    empty = torch.empty(2, 0, dtype=torch.long)
    cluster, k = spectral_partition(empty, 4, 2)                                 # no edges at all
    assert cluster.numel() == 4 and 1 <= k <= 2
    cluster, k = spectral_partition(empty, 0, 2)
    assert cluster.numel() == 0 and k == 0


# --------------------------------------------------------------------------- modes
def test_modes_are_the_subgraph_laplacian_eigenvectors():
    g = torch.Generator().manual_seed(0)
    ei, n = _cliques([4, 5])
    w = torch.rand(ei.size(1) // 2, generator=g, dtype=torch.float64) + 0.5
    w = torch.cat([w, w])
    cluster, k = spectral_partition(ei, n, 2, edge_weight=w)
    for normalized in (True, False):
        theta = cluster_eigenvectors(ei, cluster, k, 3, edge_weight=w, normalized=normalized).double()
        a = _dense(ei, n, w)
        for c in range(k):
            idx = (cluster == c).nonzero().view(-1)
            sub = a[idx][:, idx]
            d = sub.sum(1)
            lap = (torch.eye(len(idx), dtype=torch.float64) - sub / torch.outer(d.sqrt(), d.sqrt())) if normalized \
                else torch.diag(d) - sub
            vals, vecs = torch.linalg.eigh(lap)
            for mode in range(3):
                u, t = vecs[:, mode], theta[idx, mode]
                assert torch.allclose(lap @ t, vals[mode] * t, atol=1e-5)              # an eigenvector...
                assert torch.isclose(t.norm(), torch.tensor(1.0, dtype=torch.float64), atol=1e-5)
                assert torch.allclose(t.abs().max(), u.abs().max(), atol=1e-5)          # ...of that eigenvalue
                assert t[t.abs().argmax()] > 0                                           # sign="largest"


def test_first_mode_of_the_combinatorial_laplacian_is_a_scaled_sum():
    ei, n = _cliques([4, 6, 5])
    x = torch.randn(n, 3)
    out = EigenPool(k=3, modes=2, normalized=False)(x, ei)
    so = out.so
    for c in range(so.num_clusters):
        members = so.node_index[so.cluster_index == c]
        assert torch.allclose(out.x[c, :3], x[members].sum(0) / len(members) ** 0.5, atol=1e-5)


def test_lift_inverts_reduce_when_every_cluster_fits_in_the_modes():
    ei, n = _cliques([3, 4, 4])
    x = torch.randn(n, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pool = EigenPool(k=3, modes=4)
    out = pool(x, ei)
    assert out.x.shape == (3, 4 * 5) and pool.pooled_channels(5) == 20
    assert torch.allclose(pool.lift(out.x, out.so), x, atol=1e-6)
    # with fewer modes, Lift is the orthogonal projection onto the kept modes: lifting again
    # changes nothing, and the error is orthogonal to the lifted signal
    small = EigenPool(k=3, modes=2)
    o2 = small(x, ei)
    x1 = small.lift(o2.x, o2.so)
    assert torch.allclose(small.lift(small(x1, ei).x, o2.so), x1, atol=1e-6)
    # orthogonal up to the float32 precision of the eigenvectors, relative to the signal's size
    assert abs(float(((x - x1) * x1).sum())) < 1e-6 * float((x1 * x1).sum())


def test_connect_is_omega_transpose_a_ext_omega():
    ei, n = _cliques([4, 3, 5])
    w = torch.arange(1, ei.size(1) + 1, dtype=torch.float)
    out = EigenPool(k=3)(torch.randn(n, 2), ei, edge_weight=w)
    so = out.so
    omega = torch.zeros(n, so.num_clusters, dtype=torch.float64)
    omega[so.node_index, so.cluster_index] = 1.0
    a = _dense(ei, n, w)
    same = omega @ omega.t() > 0
    ref = omega.t() @ (a * ~same) @ omega
    assert torch.allclose(_dense(out.edge_index, so.num_clusters, out.edge_weight), ref)


def test_singleton_clusters_keep_their_features():
    ei = _undirected([(0, 1), (1, 2), (2, 0)])
    x = torch.randn(4, 3)                           # node 3 is isolated
    out = EigenPool(k=2, modes=2)(x, ei)
    lone = int(out.so.cluster_index[out.so.node_index == 3])
    assert torch.allclose(out.x[lone, :3], x[3]) and torch.equal(out.x[lone, 3:], torch.zeros(3))


def test_in_a_hierarchical_model_the_next_layer_gets_modes_times_channels():
    ei, n = _cliques([4, 5])
    data = type("D", (), {})()
    data.x, data.edge_index, data.batch, data.num_graphs = torch.randn(n, 3), ei, torch.zeros(n, dtype=torch.long), 1
    model = HierarchicalGNN(3, 2, poolers=[("eigenpool", dict(k=2, modes=3))], hidden=8)
    assert model.blocks[1].convs[0].in_channels == 24
    pred, _ = model(data)
    pred.sum().backward()
    assert torch.isfinite(pred).all()


@pytest.mark.parametrize("kwargs", [dict(k=0), dict(modes=0), dict(padding="mean"), dict(sign="random"),
                                    dict(iters=0)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        EigenPool(**kwargs)


# --------------------------------------------------------------------------- tgp
def test_modes_reduce_and_connect_match_tgp_on_the_same_partition():
    """Given our partition, tgp's pooling matrix equals ours with normalized=True,
    padding="last", sign="first" (except on single-node clusters, below), and so do the
    pooled features and tgp's A_ext coarsening without degree normalisation."""
    tgp_poolers()
    from tgp.connect import EigenPoolConnect
    from tgp.reduce import EigenPoolReduce
    from tgp.select.eigenpool_select import build_pooling_matrix

    g = torch.Generator().manual_seed(3)
    ei, n = _cliques([4, 6, 5, 3])
    w = torch.rand(ei.size(1) // 2, generator=g) + 0.5
    w = torch.cat([w, w])
    x = torch.randn(n, 4, generator=g)
    modes = 5
    pool = EigenPool(k=4, modes=modes, padding="last", sign="first")
    out = pool(x, ei, edge_weight=w)
    so = out.so
    k = so.num_clusters
    cluster = torch.empty(n, dtype=torch.long)
    cluster[so.node_index] = so.cluster_index
    a = _dense(ei, n, w).float().numpy()
    theta_tgp = torch.as_tensor(build_pooling_matrix(a, cluster.numpy(), modes, normalized=True, expected_num_clusters=k))
    theta = torch.zeros(n, k * modes)
    for mode in range(modes):
        theta[torch.arange(n), mode * k + cluster] = so.extra["theta"][:, mode]
    assert torch.allclose(theta, theta_tgp, atol=1e-5)
    x_tgp = EigenPoolReduce._reshape_mode_major_to_feature_blocks(theta_tgp.t() @ x, k)
    assert torch.allclose(out.x, x_tgp, atol=1e-5)
    omega = torch.nn.functional.one_hot(cluster, k).float()
    adj_tgp = EigenPoolConnect._coarsen_dense_adj(torch.as_tensor(a), omega)
    adj_tgp.fill_diagonal_(0)
    assert torch.allclose(_dense(out.edge_index, k, out.edge_weight).float(), adj_tgp, atol=1e-5)


def test_tgp_zeroes_single_node_clusters():
    tgp_poolers()
    from tgp.select.eigenpool_select import build_pooling_matrix

    ei = _undirected([(0, 1), (1, 2), (2, 0)])
    cluster = torch.tensor([0, 0, 0, 1])
    a = _dense(ei, 4).float().numpy()
    theta_tgp = build_pooling_matrix(a, cluster.numpy(), 2, normalized=True, expected_num_clusters=2)
    ours = cluster_eigenvectors(ei, cluster, 2, 2, padding="last", sign="first")
    assert np.allclose(theta_tgp[3], 0.0)             # tgp: the isolated node's features vanish
    assert torch.allclose(ours[3], torch.ones(2))     # here: theta = 1 (the eigenvector of a 1-node graph)


@pytest.mark.parametrize("sizes, seed", [([13, 10, 30, 22, 38, 5, 6, 5], 3), ([39, 12, 22, 33, 10, 35, 33, 8], 12),
                                         ([30, 38, 16, 8, 17, 24, 29, 17], 36)])
def test_partition_does_not_depend_on_the_batch_even_where_nodes_tie(sizes, seed):
    """Padding a graph to the batch's largest one must not change its rounding: k-means sums
    term by term, one eigh per graph. (With a batched eigh, a reduction over padded rows and
    cdist's matrix-product distances, these batches moved ties of symmetric nodes.)"""
    from batches import partition_graph_by_graph, random_batch

    ei, n, batch = random_batch(sizes, 4, seed)
    for k in (4, 8):
        assert torch.equal(spectral_partition(ei, n, k, batch=batch)[0],
                           partition_graph_by_graph(spectral_partition, ei, n, batch, k=k)[0])
