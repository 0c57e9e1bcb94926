"""The SRC core: reduce / connect / lift on hand-computed examples, both layouts of S,
the registry, and input checks."""
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.src import SelectOutput


def barbell():
    """Two triangles {0,1,2} and {3,4,5} joined by the bridge 2-3 (undirected, both directions)."""
    und = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    ei = torch.tensor(und + [(j, i) for i, j in und]).t()
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [0.0, 4.0], [0.0, 5.0], [1.0, 6.0]])
    return x, ei


def dense_adj(ei, n):
    a = torch.zeros(n, n)
    a[ei[0], ei[1]] = 1.0
    return a


def test_hard_clusters_hand_computed():
    x, ei = barbell()
    so = SelectOutput.from_cluster_index(torch.tensor([0, 0, 0, 1, 1, 1]))
    # X' = S^T X: column sums per triangle
    assert torch.equal(src.reduce(x, so), torch.tensor([[6.0, 1.0], [1.0, 15.0]]))
    assert torch.allclose(src.reduce(x, so, op="mean"), torch.tensor([[2.0, 1 / 3], [1 / 3, 5.0]]))
    assert torch.equal(src.reduce(x, so, op="max"), torch.tensor([[3.0, 1.0], [1.0, 6.0]]))
    # A' = S^T A S: 6 directed edges inside each triangle, one bridge each way
    ei2, w2 = src.sparse_connect(ei, so, remove_self_loops=False)
    a2 = torch.zeros(2, 2)
    a2[ei2[0], ei2[1]] = w2
    assert torch.equal(a2, torch.tensor([[6.0, 1.0], [1.0, 6.0]]))
    ei3, w3 = src.sparse_connect(ei, so)  # self loops removed by default
    assert ei3.tolist() == [[0, 1], [1, 0]] and w3.tolist() == [1.0, 1.0]
    # Lift X~ = S X': every node gets its supernode's vector
    lifted = src.lift(src.reduce(x, so), so)
    assert torch.equal(lifted[:3], torch.tensor([[6.0, 1.0]] * 3))
    assert torch.equal(lifted[3:], torch.tensor([[1.0, 15.0]] * 3))


def test_dense_and_sparse_layouts_agree_for_soft_s():
    torch.manual_seed(0)
    x, ei = barbell()
    s = torch.softmax(torch.randn(6, 3), dim=-1)
    dense = SelectOutput.from_dense(s)
    nz = s.nonzero().t()
    sparse = SelectOutput(
        node_index=nz[0], cluster_index=nz[1], weight=s[nz[0], nz[1]], num_nodes=6, num_clusters=3
    )
    assert not sparse.is_hard
    assert torch.allclose(src.reduce(x, dense)[0], src.reduce(x, sparse), atol=1e-6)
    a = dense_adj(ei, 6)
    a_dense = src.dense_connect(a.unsqueeze(0), dense.s)[0]
    ei2, w2 = src.sparse_connect(ei, sparse, remove_self_loops=False)
    a_sparse = torch.zeros(3, 3)
    a_sparse[ei2[0], ei2[1]] = w2
    assert torch.allclose(a_dense, s.t() @ a @ s, atol=1e-6)
    assert torch.allclose(a_dense, a_sparse, atol=1e-6)
    # without self loops, the dense and sparse connect still agree off the diagonal
    a_dense_nl = src.dense_connect(a.unsqueeze(0), dense.s, remove_self_loops=True)[0]
    ei3, w3 = src.sparse_connect(ei, sparse, remove_self_loops=True)
    a_sparse_nl = torch.zeros(3, 3)
    a_sparse_nl[ei3[0], ei3[1]] = w3
    assert torch.allclose(a_dense_nl, a_sparse_nl, atol=1e-6)
    assert torch.count_nonzero(torch.diagonal(a_dense_nl)) == 0
    xp = torch.randn(3, 2)
    assert torch.allclose(src.lift(xp.unsqueeze(0), dense)[0], src.lift(xp, sparse), atol=1e-6)
    assert torch.allclose(src.lift(xp, sparse), s @ xp, atol=1e-6)


def test_pinv_connect_hand_computed_hard_clusters():
    # Barbell split 4 + 2: S^+ = (S^T S)^{-1} S^T divides row k of S^T A S by |C_k|.
    _, ei = barbell()
    a = dense_adj(ei, 6)
    cl = torch.tensor([0, 0, 0, 1, 1, 1])
    cl[3] = 0  # cluster 0 = {0, 1, 2, 3}, cluster 1 = {4, 5}
    s = torch.nn.functional.one_hot(cl, 2).float()
    plain = src.dense_connect(a.unsqueeze(0), s.unsqueeze(0))[0]
    pinv = src.dense_connect(a.unsqueeze(0), s.unsqueeze(0), pinv=True)[0]
    assert plain.tolist() == [[8.0, 2.0], [2.0, 2.0]]  # 3 triangle edges + bridge, x2 directions
    assert torch.allclose(pinv, torch.tensor([[8 / 4, 2 / 4], [2 / 2, 2 / 2]]))
    assert torch.allclose(pinv, torch.linalg.pinv(s) @ a @ s, atol=1e-6)
    assert not torch.allclose(pinv, pinv.t())  # no longer symmetric for unequal clusters
    # the sparse layout gives the same matrix
    so = SelectOutput.from_cluster_index(cl)
    ei2, w2 = src.sparse_connect(ei, so, remove_self_loops=False, pinv=True)
    a2 = torch.zeros(2, 2)
    a2[ei2[0], ei2[1]] = w2
    assert torch.allclose(a2, pinv, atol=1e-6)
    ei3, w3 = src.sparse_connect(ei, so, pinv=True)  # self-loops dropped
    assert ei3.tolist() == [[0, 1], [1, 0]] and torch.allclose(w3, torch.tensor([0.5, 1.0]))


def test_pinv_connect_soft_s_batch_and_edge_cases():
    torch.manual_seed(0)
    # soft S with full column rank: S^+ = (S^T S)^{-1} S^T, and S^+ S = I
    s = torch.softmax(3 * torch.randn(2, 7, 3), -1)
    a = (torch.rand(2, 7, 7) < 0.4).float()
    a = ((a + a.transpose(1, 2)) > 0).float()
    out = src.dense_connect(a, s, pinv=True)
    for b in range(2):
        left = torch.linalg.solve(s[b].t() @ s[b], s[b].t())
        assert torch.allclose(out[b], left @ a[b] @ s[b], atol=1e-4)
    # padding rows are ignored: one graph padded equals the graph alone
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 5:] = False
    a_pad = a.clone()
    a_pad[1, 5:] = 0
    a_pad[1, :, 5:] = 0
    padded = src.dense_connect(a_pad, s, mask=mask, pinv=True)[1]
    alone = src.dense_connect(a_pad[1:, :5, :5], s[1:, :5], pinv=True)[0]
    assert torch.allclose(padded, alone, atol=1e-4)
    # an empty cluster (zero column) gives a zero row, not NaN, in both layouts
    s0 = torch.nn.functional.one_hot(torch.tensor([0, 0, 2, 2]), 3).float()
    a0 = torch.ones(4, 4) - torch.eye(4)
    d = src.dense_connect(a0.unsqueeze(0), s0.unsqueeze(0), pinv=True)[0]
    assert torch.isfinite(d).all() and d[1].abs().sum() == 0
    so0 = SelectOutput.from_cluster_index(torch.tensor([0, 0, 2, 2]), num_clusters=3)
    ei0 = a0.nonzero().t()
    ei1, w1 = src.sparse_connect(ei0, so0, remove_self_loops=False, pinv=True)
    sp = torch.zeros(3, 3)
    sp[ei1[0], ei1[1]] = w1
    assert torch.allclose(sp, d, atol=1e-6)
    # zero weights (a gate at 0) give zero rows, not NaN
    sow = SelectOutput.from_cluster_index(torch.tensor([0, 0, 1, 1]), weight=torch.tensor([0.0, 0.0, 1.0, 1.0]))
    _, ww = src.sparse_connect(ei0, sow, remove_self_loops=False, pinv=True)
    assert torch.isfinite(ww).all()


def test_pinv_connect_rejects_soft_sparse_s():
    s = torch.softmax(torch.randn(6, 3), dim=-1)
    nz = s.nonzero().t()
    sparse = SelectOutput(node_index=nz[0], cluster_index=nz[1], weight=s[nz[0], nz[1]], num_nodes=6, num_clusters=3)
    _, ei = barbell()
    with pytest.raises(ValueError, match="pinv"):
        src.sparse_connect(ei, sparse, pinv=True)


def test_hard_sparse_to_dense_roundtrip_over_a_batch():
    # graph 0 has 3 nodes -> 2 clusters, graph 1 has 2 nodes -> 1 cluster
    batch = torch.tensor([0, 0, 0, 1, 1])
    so = SelectOutput.from_cluster_index(torch.tensor([0, 0, 1, 2, 2]), batch=batch)
    assert so.cluster_batch.tolist() == [0, 0, 1]
    s, mask = so.to_dense()
    assert s.shape == (2, 3, 2)
    assert mask.tolist() == [[True, True, True], [True, True, False]]
    assert torch.equal(s[0], torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    assert torch.equal(s[1], torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))
    assert torch.equal(so.assignment(1), torch.tensor([[1.0], [1.0]]))
    dense = SelectOutput.from_dense(s, mask)
    x = torch.randn(5, 4)
    xd = torch.zeros(2, 3, 4)
    xd[mask] = x
    pooled_dense = src.reduce(xd, dense)
    pooled_sparse = src.reduce(x, so)
    assert torch.allclose(pooled_dense[0], pooled_sparse[:2])
    assert torch.allclose(pooled_dense[1, :1], pooled_sparse[2:])


def test_dense_reduce_ignores_padding_rows():
    s = torch.rand(1, 4, 2)
    x = torch.rand(1, 4, 3)
    mask = torch.tensor([[True, True, True, False]])
    x_garbage = x.clone()
    x_garbage[0, 3] = 1e6
    assert torch.allclose(src.dense_reduce(x, s, mask), src.dense_reduce(x_garbage, s, mask))
    assert torch.allclose(src.dense_reduce(x, s, mask)[0], s[0, :3].t() @ x[0, :3])


def test_score_based_selection_is_induced_subgraph_and_unpool():
    x, ei = barbell()
    kept = torch.tensor([2, 3, 5])
    score = torch.tensor([0.5, 2.0, -1.0])
    so = SelectOutput.from_kept_nodes(kept, num_nodes=6, weight=score)
    assert torch.allclose(src.reduce(x, so), x[kept] * score.unsqueeze(-1))
    ei2, w2 = src.sparse_connect(ei, so)
    edges = {tuple(e) for e in ei2.t().tolist()}
    # induced subgraph on {2,3,5}: only 2-3 and 3-5 survive, relabelled 0,1,2
    assert edges == {(0, 1), (1, 0), (1, 2), (2, 1)}
    # gated weights multiply the edge: S^T A S with S[kept_j, j] = score_j
    assert torch.allclose(w2.sort().values, torch.tensor([-2.0, -2.0, 1.0, 1.0]))
    up = src.lift(torch.ones(3, 2), SelectOutput.from_kept_nodes(kept, 6))
    assert up.sum(1).tolist() == [0.0, 0.0, 2.0, 2.0, 0.0, 2.0]


def test_connect_edge_cases_have_no_nan():
    so = SelectOutput.from_cluster_index(torch.tensor([0]))
    ei, w = src.sparse_connect(torch.empty(2, 0, dtype=torch.long), so)
    assert ei.shape == (2, 0) and w.numel() == 0
    x = torch.randn(1, 3)
    assert torch.equal(src.reduce(x, so), x)
    # isolated node 2 in its own cluster
    ei = torch.tensor([[0, 1], [1, 0]])
    so = SelectOutput.from_cluster_index(torch.tensor([0, 0, 1]))
    ei2, w2 = src.sparse_connect(ei, so)
    assert ei2.numel() == 0
    s = torch.zeros(1, 2, 2)
    out = src.dense_reduce(torch.randn(1, 2, 3), s, op="mean")
    assert torch.isfinite(out).all()


def test_dropped_nodes_belong_to_no_supernode():
    so = SelectOutput.from_cluster_index(torch.tensor([0, -1, 1]))
    assert so.num_clusters == 2
    x = torch.tensor([[1.0], [10.0], [100.0]])
    assert src.reduce(x, so).view(-1).tolist() == [1.0, 100.0]
    assert src.lift(torch.tensor([[1.0], [2.0]]), so).view(-1).tolist() == [1.0, 0.0, 2.0]


class _Pairs(src.Pooler):
    """Pairs consecutive nodes: the smallest possible one-over-K pooler."""

    is_precomputable = True

    def select(self, x, edge_index, batch=None, **kwargs):
        return SelectOutput.from_cluster_index(torch.arange(x.size(0)) // 2, batch=batch)


def test_pooler_base_runs_select_reduce_connect():
    x, ei = barbell()
    out = _Pairs()(x, ei)
    assert torch.equal(out.x, torch.tensor([[3.0, 0.0], [3.0, 5.0], [1.0, 11.0]]))
    a = torch.zeros(3, 3)
    a[out.edge_index[0], out.edge_index[1]] = out.edge_weight
    expected = torch.tensor([[0.0, 2.0, 0.0], [2.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    assert torch.equal(a, expected)
    assert out.losses == {} and out.loss.item() == 0.0
    assert not out.is_dense


def test_registry_builds_by_name_and_lists_valid_names_on_error():
    src.register("test_pairs")(_Pairs)
    try:
        assert "test_pairs" in poolkit.list_poolers()
        assert poolkit.list_poolers() == sorted(poolkit.list_poolers())
        assert isinstance(poolkit.get_pooler("test_pairs"), _Pairs)
        info = {d["name"]: d for d in poolkit.pooler_info()}
        assert info["test_pairs"]["precomputable"] is True and info["test_pairs"]["dense"] is False
        with pytest.raises(ValueError) as err:
            poolkit.get_pooler("no-such")
        assert "no-such" in str(err.value)
        for name in poolkit.list_poolers():
            assert name in str(err.value)
        with pytest.raises(ValueError, match="already registered"):
            src.register("test_pairs")(type("Other", (src.Pooler,), {}))
    finally:
        src._REGISTRY.pop("test_pairs", None)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=torch.randn(3)), "x must have shape"),
        (dict(edge_index=torch.tensor([0, 1])), "edge_index must have shape"),
        (dict(edge_index=torch.tensor([[0, 5], [5, 0]])), "x has 3 nodes"),
        (dict(edge_index=torch.tensor([[0.0, 1.0], [1.0, 0.0]])), "integers"),
        (dict(batch=torch.tensor([0, 0])), "batch must have shape"),
        (dict(batch=torch.tensor([1, 0, 0])), "sorted"),
        (dict(edge_attr=torch.randn(3, 2)), "edge_attr has 3 rows"),
        (dict(edge_weight=torch.randn(2, 1)), "edge_weight must have shape"),
    ],
)
def test_bad_graph_input_names_the_argument(kwargs, match):
    args = dict(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 0]]))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        src.check_graph_inputs(**args)
    if "x" not in kwargs:
        with pytest.raises(ValueError, match=match):
            _Pairs()(**args)


@pytest.mark.parametrize("ratio", [0, -0.1, 1.5, float("nan"), "0.5", True])
def test_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio"):
        src.check_ratio(ratio)


@pytest.mark.parametrize("k", [0, -1, 2.0, None])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be an integer"):
        src.check_positive_int(k, "k")


def test_select_output_validates_shapes():
    with pytest.raises(ValueError, match="s must have shape"):
        SelectOutput.from_dense(torch.rand(4))
    with pytest.raises(ValueError, match="mask must have shape"):
        SelectOutput.from_dense(torch.rand(2, 4, 3), mask=torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="num_clusters"):
        SelectOutput.from_cluster_index(torch.tensor([0, 3]), num_clusters=2)
    with pytest.raises(ValueError, match="kept"):
        SelectOutput.from_kept_nodes(torch.tensor([0, 7]), num_nodes=3)
    with pytest.raises(ValueError, match="op must be"):
        src.reduce(torch.randn(2, 1), SelectOutput.from_cluster_index(torch.tensor([0, 0])), op="median")


@pytest.mark.parametrize("name", poolkit.list_poolers())
def test_every_registered_pooler_builds_from_its_example_kwargs_and_runs(name):
    pool = src.example_pooler(name, in_channels=5, k=3, edge_channels=2, max_nodes=8)
    assert isinstance(pool, src.Pooler) and pool.name == name
    x = torch.randn(6, 5)
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
    extra = {"edge_attr": torch.randn(ei.size(1), 2)} if pool.needs_edge_attr else {}
    out = pool(x, ei, **extra)
    assert torch.isfinite(out.x).all()


def test_example_pooler_rejects_unknown_names():
    with pytest.raises(ValueError, match="valid poolers"):
        src.example_pooler("no-such", in_channels=3)


def test_non_finite_features_are_rejected_and_large_finite_ones_are_not():
    x = torch.randn(5, 3)
    src.check_finite(x)
    big = torch.full((4, 2), 3e38)                       # the sum overflows, the values are finite
    src.check_finite(big)
    for bad in (float("nan"), float("inf"), float("-inf")):
        y = x.clone()
        y[3, 1] = bad
        with pytest.raises(ValueError, match="x holds 1 non-finite values.*row 3"):
            src.check_graph_inputs(y, torch.tensor([[0, 1], [1, 0]]))
    src.check_finite(torch.tensor([[1, 2]]))             # integer features: nothing to check
    src.check_finite(torch.empty(0, 4))
