"""Tests for poolkit/poolers/score/{topk,sag}.py: Top-K selection, TopKPool and SAGPool."""
import math

import pytest
import torch
from torch_geometric.nn import GCNConv, GraphConv
from torch_geometric.nn import SAGPooling as PygSAG
from torch_geometric.nn import TopKPooling as PygTopK

import poolkit
from poolkit.score import SAGPool, TopKPool, induced_subgraph, num_kept, topk_select


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_batch(sizes, f=5, p=0.3, seed=0, edge_dim=None):
    """Concatenated batch of Erdős–Rényi graphs with the given node counts."""
    g = torch.Generator().manual_seed(seed)
    xs, eis, bs, off = [], [], [], 0
    for i, n in enumerate(sizes):
        xs.append(torch.randn(n, f, generator=g))
        a = torch.rand(n, n, generator=g) < p
        a = torch.triu(a, 1)
        a = a | a.t()
        eis.append(a.nonzero().t() + off)
        bs.append(torch.full((n,), i, dtype=torch.long))
        off += n
    x, ei, b = torch.cat(xs), torch.cat(eis, 1), torch.cat(bs)
    ea = None if edge_dim is None else torch.randn(ei.size(1), edge_dim, generator=g)
    return x, ei, b, ea


def assert_pooled_like_pyg(out, x_ref, ei_ref, ew_ref, batch_ref, perm_ref):
    """A sparse PoolingOutput equals PyG's: same kept nodes and batch, pooled features and
    pooled graph (compared as dense matrices, so the edge order may differ)."""
    assert torch.equal(out.so.kept, perm_ref) and torch.equal(out.batch, batch_ref)
    assert torch.allclose(out.x, x_ref, atol=1e-6)
    k = out.x.size(0)

    def dense(ei, ew):
        return torch.zeros(k, k, dtype=ew.dtype).index_put((ei[0], ei[1]), ew, accumulate=True)

    assert torch.allclose(dense(out.edge_index, out.edge_weight), dense(ei_ref, ew_ref).to(out.edge_weight.dtype),
                          atol=1e-6)


def brute_force_topk(score, batch, kg):
    """Reference: per graph, sort (score desc, index asc) in Python."""
    out = []
    for g in range(int(batch.max()) + 1):
        idx = (batch == g).nonzero().view(-1).tolist()
        idx.sort(key=lambda i: (-float(score[i]), i))
        out += idx[: kg[g]]
    return torch.tensor(out, dtype=torch.long)


# --------------------------------------------------------------------------- topk_select
@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 1.0])
def test_topk_select_per_graph_ratio_matches_brute_force(ratio):
    sizes = [1, 2, 3, 7, 10, 13, 30]
    batch = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    score = torch.randn(batch.numel(), generator=torch.Generator().manual_seed(1))
    kg = [math.ceil(round(ratio * n, 9)) for n in sizes]
    kept = topk_select(score, batch, ratio=ratio)
    assert torch.equal(kept, brute_force_topk(score, batch, kg))
    assert torch.bincount(batch[kept], minlength=len(sizes)).tolist() == kg


def test_num_kept_has_no_floating_point_extra_node():
    # 0.3 * 10 = 3.0000000000000004 in float64; a plain ceil would keep 4 nodes.
    assert num_kept(torch.tensor([10]), ratio=0.3).tolist() == [3]
    assert num_kept(torch.tensor([0, 1, 5, 10]), ratio=0.5).tolist() == [0, 1, 3, 5]
    assert num_kept(torch.tensor([0, 1, 5, 10]), k=4).tolist() == [0, 1, 4, 4]


def test_topk_select_fixed_k_and_graphs_smaller_than_k():
    sizes = [2, 5, 9]
    batch = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    score = torch.randn(batch.numel(), generator=torch.Generator().manual_seed(2))
    kept = topk_select(score, batch, k=4)
    assert torch.bincount(batch[kept]).tolist() == [2, 4, 4]  # the 2-node graph keeps both
    assert torch.equal(kept, brute_force_topk(score, batch, [2, 4, 4]))


def test_topk_select_ratio_one_keeps_everything():
    score = torch.randn(12)
    batch = torch.tensor([0] * 5 + [1] * 7)
    kept = topk_select(score, batch, ratio=1.0)
    assert sorted(kept.tolist()) == list(range(12))


def test_topk_select_ties_are_broken_by_node_index():
    score = torch.tensor([1.0, 3.0, 3.0, 1.0, 3.0, 2.0, 2.0, 2.0])
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    kept = topk_select(score, batch, k=2)
    assert kept.tolist() == [1, 2, 4, 5]
    # all-equal scores keep the first nodes, in index order, every time
    flat = torch.zeros(10)
    assert topk_select(flat, ratio=0.5).tolist() == [0, 1, 2, 3, 4]
    assert topk_select(flat, torch.tensor([0] * 4 + [1] * 6), ratio=0.5).tolist() == [0, 1, 4, 5, 6]


def test_topk_select_single_graph_equals_batch_of_one():
    score = torch.randn(11)
    assert torch.equal(topk_select(score, ratio=0.4), topk_select(score, torch.zeros(11, dtype=torch.long), ratio=0.4))


@pytest.mark.parametrize(
    "kwargs",
    [dict(ratio=0.0), dict(ratio=1.5), dict(ratio=-0.1), dict(ratio="half"), dict(k=0), dict(k=2.5), dict(ratio=0.5, k=2), {}],
)
def test_topk_select_bad_size_arguments(kwargs):
    with pytest.raises(ValueError, match="ratio|k"):
        topk_select(torch.randn(5), **kwargs)


def test_topk_select_bad_shapes():
    with pytest.raises(ValueError, match="score"):
        topk_select(torch.randn(5, 2), ratio=0.5)
    with pytest.raises(ValueError, match="batch"):
        topk_select(torch.randn(5), torch.zeros(4, dtype=torch.long), ratio=0.5)


# --------------------------------------------------------------------------- agreement with PyG
@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.8])
def test_topk_pooling_matches_pyg(ratio):
    x, ei, b, ea = random_batch([6, 11, 4, 17], f=5, seed=3, edge_dim=3)
    ours = TopKPool(5, ratio=ratio)
    ref = PygTopK(5, ratio=ratio)
    with torch.no_grad():
        ref.select.weight.copy_(ours.weight.view(1, -1))
    out = ours(x, ei, batch=b, edge_attr=ea)
    rx, rei, rea, rb, perm, rscore = ref(x, ei, edge_attr=ea, batch=b)
    assert torch.equal(out.so.kept, perm)
    assert torch.allclose(out.x, rx, atol=1e-6)
    assert torch.allclose(out.so.weight, rscore, atol=1e-6)
    assert torch.equal(out.edge_index, rei)
    assert torch.equal(out.edge_attr, rea)
    assert torch.equal(out.batch, rb)


def test_topk_pooling_gradients_match_pyg():
    x, ei, b, _ = random_batch([8, 9, 12], f=4, seed=4)
    ours, ref = TopKPool(4, ratio=0.5), PygTopK(4, ratio=0.5)
    with torch.no_grad():
        ref.select.weight.copy_(ours.weight.view(1, -1))
    ours(x, ei, batch=b).x.square().sum().backward()
    ref(x, ei, batch=b)[0].square().sum().backward()
    assert torch.allclose(ours.weight.grad, ref.select.weight.grad.view(-1), atol=1e-5)


def _sag_pair(sign, conv):
    ours = SAGPool(5, ratio=0.5, conv=conv)
    pyg_cls = {"graph": GraphConv, "gcn": GCNConv}[conv]
    ref = PygSAG(5, ratio=0.5, GNN=pyg_cls)
    ref.gnn.load_state_dict(ours.gnn.state_dict())
    with torch.no_grad():
        ref.select.weight.fill_(sign * 0.37)
    return ours, ref


@pytest.mark.parametrize("conv", ["graph", "gcn"])
def test_sag_matches_pyg_when_pyg_sign_is_positive(conv):
    x, ei, b, ea = random_batch([7, 12, 5, 15], f=5, seed=5, edge_dim=2)
    ours, ref = _sag_pair(+1, conv)
    out = ours(x, ei, batch=b, edge_attr=ea)
    rx, rei, rea, rb, perm, rscore = ref(x, ei, edge_attr=ea, batch=b)
    assert torch.equal(out.so.kept, perm)
    assert torch.allclose(out.x, rx, atol=1e-6)
    assert torch.equal(out.edge_index, rei)
    assert torch.equal(out.edge_attr, rea)


@pytest.mark.parametrize("conv", ["graph", "gcn"])
def test_sag_differs_from_pyg_by_pygs_learned_sign(conv):
    """PyG issue 9862: PyG scores with sign(p) * GNN(X, A); we score with GNN(X, A)."""
    x, ei, b, _ = random_batch([9, 14, 6], f=5, seed=6)
    ours, ref = _sag_pair(-1, conv)
    out = ours(x, ei, batch=b)
    rx, _, _, _, perm, _ = ref(x, ei, batch=b)
    # PyG with p < 0 keeps other nodes
    assert not torch.equal(torch.sort(out.so.kept).values, torch.sort(perm).values)
    # PyG with p < 0 equals ours with the GNN negated
    with torch.no_grad():
        for prm in ours.gnn.parameters():
            prm.neg_()
    out = ours(x, ei, batch=b)
    # same nodes and features; the order inside a graph may differ only among tied scores
    # (GCN gives symmetric nodes equal scores; PyG's sort is not stable, ours is)
    a, c = torch.sort(out.so.kept), torch.sort(perm)
    assert torch.equal(a.values, c.values)
    assert torch.allclose(out.x[a.indices], rx[c.indices], atol=1e-6)


def test_pyg_sag_sign_gets_no_gradient():
    """Why dropping the sign loses nothing: PyG's p/|p| never changes during training."""
    x, ei, b, _ = random_batch([9, 14], f=5, seed=7)
    ref = PygSAG(5, ratio=0.5).double()
    ref(x.double(), ei, batch=b)[0].square().sum().backward()
    gnn_grad = max(float(p.grad.abs().max()) for p in ref.gnn.parameters())
    assert gnn_grad > 1e-3
    assert float(ref.select.weight.grad.abs().max()) < 1e-9 * gnn_grad


# --------------------------------------------------------------------------- SRC behaviour
@pytest.mark.parametrize("name", ["topk", "sag"])
def test_registered_and_flags(name):
    assert name in poolkit.list_poolers()
    pool = poolkit.get_pooler(name, in_channels=3, ratio=0.5)
    assert pool.is_trainable and not pool.is_dense and not pool.has_aux_loss


@pytest.mark.parametrize("name", ["topk", "sag"])
def test_batch_equals_graphs_one_by_one(name):
    sizes = [5, 12, 1, 8]
    x, ei, b, ea = random_batch(sizes, f=4, seed=8, edge_dim=2)
    pool = poolkit.get_pooler(name, in_channels=4, ratio=0.4)
    out = pool(x, ei, batch=b, edge_attr=ea)
    off, koff = 0, 0
    for g, n in enumerate(sizes):
        nodes = b == g
        emask = nodes[ei[0]]
        sub = pool(x[nodes], ei[:, emask] - off, edge_attr=ea[emask])
        kg = sub.x.size(0)
        assert torch.allclose(out.x[koff : koff + kg], sub.x, atol=1e-6)
        assert torch.equal(out.so.kept[koff : koff + kg], sub.so.kept + off)
        pe = out.batch[out.edge_index[0]] == g
        assert torch.equal(out.edge_index[:, pe] - koff, sub.edge_index)
        assert torch.equal(out.edge_attr[pe], sub.edge_attr)
        off, koff = off + n, koff + kg


def test_reduce_and_connect_equal_the_src_matrix_formulas():
    """X' = Sᵀ X and A' = A_{i,i} = Bᵀ A B with B the 0/1 version of S."""
    x, ei, _, _ = random_batch([10], f=3, seed=9)
    pool = TopKPool(3, ratio=0.5)
    out = pool(x, ei)
    s, _ = out.so.to_dense()
    s = s[0]
    assert torch.allclose(out.x, s.t() @ x, atol=1e-6)
    a = torch.zeros(10, 10)
    a[ei[0], ei[1]] = 1
    bin_s = (s != 0).float()
    a_pooled = torch.zeros(5, 5)
    a_pooled[out.edge_index[0], out.edge_index[1]] = 1
    assert torch.equal(a_pooled, bin_s.t() @ a @ bin_s)


def test_lift_scatters_back_and_zeros_dropped_nodes():
    x, ei, b, _ = random_batch([6, 9], f=3, seed=10)
    pool = TopKPool(3, ratio=0.5)
    out = pool(x, ei, batch=b)
    up = pool.lift(out.x, out.so)
    assert up.shape == x.shape
    assert torch.equal(up[out.so.kept], out.x)
    dropped = torch.ones(x.size(0), dtype=torch.bool)
    dropped[out.so.kept] = False
    assert up[dropped].abs().sum() == 0


def test_ratio_one_keeps_the_graph():
    x, ei, _, _ = random_batch([9], f=3, seed=11)
    pool = TopKPool(3, ratio=1.0)
    out = pool(x, ei)
    assert out.x.size(0) == 9
    perm = out.so.kept
    # same edge set after relabelling
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(9)
    assert sorted(map(tuple, inv[ei].t().tolist())) == sorted(map(tuple, out.edge_index.t().tolist()))


def test_graph_smaller_than_k_keeps_all_nodes():
    x, ei, b, _ = random_batch([2, 3, 10], f=3, seed=12)
    out = TopKPool(3, k=4)(x, ei, batch=b)
    assert torch.bincount(out.batch).tolist() == [2, 3, 4]


@pytest.mark.parametrize("name", ["topk", "sag"])
def test_edgeless_and_one_node_graphs(name):
    pool = poolkit.get_pooler(name, in_channels=3, ratio=0.5)
    x = torch.randn(7, 3, requires_grad=True)
    b = torch.tensor([0, 1, 1, 1, 2, 2, 2])
    out = pool(x, torch.empty(2, 0, dtype=torch.long), batch=b)
    assert out.edge_index.shape == (2, 0)
    assert torch.bincount(out.batch).tolist() == [1, 2, 2]
    out.x.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(out.x).all()
    one = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long))
    assert one.x.shape == (1, 3) and torch.isfinite(one.x).all()


def test_isolated_nodes_and_edge_weights_carried_over():
    x = torch.randn(6, 3)
    ei = torch.tensor([[0, 1, 1, 2, 4], [1, 0, 2, 1, 4]])  # node 3 and 5 isolated, a self-loop on 4
    w = torch.arange(1.0, 6.0)
    pool = SAGPool(3, ratio=1.0, conv="graph")
    out = pool(x, ei, edge_weight=w)
    assert out.edge_index.size(1) == 5  # nothing dropped, self-loop kept
    assert sorted(out.edge_weight.tolist()) == sorted(w.tolist())
    assert torch.isfinite(out.x).all()


def test_gate_is_what_lets_gradients_reach_the_projection():
    x, ei, b, _ = random_batch([10, 10], f=4, seed=13)
    for gate in ["tanh", "sigmoid"]:
        pool = TopKPool(4, ratio=0.5, gate=gate)
        pool(x, ei, batch=b).x.sum().backward()
        assert pool.weight.grad.abs().sum() > 0
    pool = TopKPool(4, ratio=0.5, gate="none")
    out = pool(x, ei, batch=b)
    assert torch.allclose(out.x, x[out.so.kept])
    assert not out.x.requires_grad or pool.weight.grad is None


def test_sigmoid_gate_values():
    x, ei, _, _ = random_batch([8], f=3, seed=14)
    pool = TopKPool(3, ratio=0.5, gate="sigmoid")
    out = pool(x, ei)
    y = out.so.extra["score"]
    assert torch.allclose(out.so.weight, torch.sigmoid(y[out.so.kept]))
    assert torch.allclose(y, x @ pool.weight / pool.weight.norm())


def test_permutation_equivariance_of_the_selection():
    x, ei, _, _ = random_batch([12], f=3, seed=15)
    pool = TopKPool(3, ratio=0.5)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(12)
    a = pool(x, ei)
    c = pool(x[perm], inv[ei])
    assert torch.equal(perm[c.so.kept], a.so.kept)
    assert torch.allclose(a.x, c.x)


def test_gradcheck_topk_reduce():
    x, ei, _, _ = random_batch([7], f=3, seed=16)
    x = x.double().requires_grad_()
    pool = TopKPool(3, ratio=0.5).double()
    assert torch.autograd.gradcheck(lambda inp: pool(inp, ei).x, (x,))


def test_induced_subgraph_keeps_order_and_features():
    ei = torch.tensor([[0, 1, 2, 3, 2], [1, 2, 3, 0, 2]])
    ea = torch.arange(10.0).view(5, 2)
    sub, w, a = induced_subgraph(ei, torch.tensor([2, 3, 0]), 4, edge_attr=ea)
    assert sub.tolist() == [[0, 1, 0], [1, 2, 0]]  # edges 2->3, 3->0, 2->2 relabelled
    assert w is None and torch.equal(a, ea[[2, 3, 4]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(in_channels=3, ratio=0.0), "ratio"),
        (dict(in_channels=3, ratio=2), "ratio"),
        (dict(in_channels=3, k=0), "k"),
        (dict(in_channels=3, ratio=0.5, k=2), "ratio or k"),
        (dict(in_channels=0), "in_channels"),
        (dict(in_channels=3, gate="relu"), "gate"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TopKPool(**kwargs)


def test_bad_inputs_name_the_argument():
    pool = SAGPool(3, ratio=0.5)
    with pytest.raises(ValueError, match="x has 4 features"):
        pool(torch.randn(5, 4), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="edge_index"):
        pool(torch.randn(5, 3), torch.tensor([[0], [7]]))
    with pytest.raises(ValueError, match="batch"):
        pool(torch.randn(5, 3), torch.tensor([[0], [1]]), batch=torch.tensor([1, 1, 0, 0, 0]))
    with pytest.raises(ValueError, match="conv"):
        SAGPool(3, conv="magic")


# --------------------------------------------------------------------------- selection_spread
def test_selection_spread_on_a_path():
    # path 0-1-2-3-4-5-6-7-8-9
    ei = torch.tensor([list(range(9)), list(range(1, 10))])
    ei = torch.cat([ei, ei.flip(0)], 1)
    close = poolkit.score.selection_spread(ei, 10, torch.tensor([0, 1, 2]))
    assert close["mean_distance"] == pytest.approx((1 + 2 + 1) / 3)
    assert close["coverage"] == pytest.approx(4 / 10)
    far = poolkit.score.selection_spread(ei, 10, torch.tensor([1, 4, 8]))
    assert far["mean_distance"] == pytest.approx((3 + 7 + 4) / 3)
    assert far["coverage"] == pytest.approx(9 / 10)  # only node 6 is not within one hop


def test_selection_spread_edge_cases():
    ei = torch.tensor([[0, 1], [1, 0]])  # nodes 2, 3 isolated
    one = poolkit.score.selection_spread(ei, 4, torch.tensor([2]))
    assert math.isnan(one["mean_distance"]) and one["coverage"] == 0.25
    apart = poolkit.score.selection_spread(ei, 4, torch.tensor([0, 3]))  # no path between them
    assert math.isnan(apart["mean_distance"]) and apart["coverage"] == 0.75
    with pytest.raises(ValueError, match="kept"):
        poolkit.score.selection_spread(ei, 4, torch.tensor([4]))
