"""MaxCutPool (poolkit/poolers/one_over_k/maxcut.py): learned MAXCUT scores, nearest-supernode assignment, tgp agreement."""
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.one_over_k import MaxCutPool, maxcut_loss, nearest_kept_assignment

from peers import tgp_poolers
from test_score import random_batch

pytestmark = pytest.mark.filterwarnings("ignore:Sparse")


def path(n):
    a = torch.arange(n - 1)
    return torch.cat([torch.stack([a, a + 1]), torch.stack([a + 1, a])], 1)


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["maxcut"]
    assert info["class"] == "MaxCutPool" and info["trainable"] and info["aux_loss"] and not info["dense"]
    assert isinstance(src.example_pooler("maxcut", in_channels=3), MaxCutPool)


def test_cut_loss_analytic_values():
    ei = path(6)
    alt = torch.tensor([1.0, -1, 1, -1, 1, -1])  # the two colour classes of a path: every edge cut
    assert maxcut_loss(alt, ei).item() == pytest.approx(-1.0)
    assert maxcut_loss(torch.ones(6), ei).item() == pytest.approx(1.0)
    z = torch.tensor([1.0, 1, -1, -1, -1, 1])  # cuts 2 of 5 edges: 1 - 2 * 2 / 5
    assert maxcut_loss(z, ei).item() == pytest.approx(1 - 4 / 5)
    # per graph and averaged; an edgeless graph contributes 0
    batch = torch.tensor([0] * 6 + [1, 1])
    both = maxcut_loss(torch.cat([alt, torch.ones(2)]), ei, batch=batch, reduction="none")
    assert torch.allclose(both, torch.tensor([-1.0, 0.0]))
    with pytest.raises(ValueError, match="reduction"):
        maxcut_loss(alt, ei, reduction="sum")


def test_nearest_kept_assignment_by_hops_ties_and_unreachable_nodes():
    ei = torch.cat([path(7), torch.tensor([[7, 8], [8, 7]])], 1)  # a path 0..6 and a separate edge 7-8
    pos = nearest_kept_assignment(ei, torch.tensor([0, 6]), 9)
    assert pos.tolist() == [0, 0, 0, 0, 1, 1, 1, -1, -1]  # node 3 is 3 hops from both: the first listed wins
    pos = nearest_kept_assignment(ei, torch.tensor([6, 0]), 9)
    assert pos.tolist() == [1, 1, 1, 0, 0, 0, 0, -1, -1]
    assert nearest_kept_assignment(ei, torch.tensor([0]), 9, max_iter=2).tolist() == [0, 0, 0] + [-1] * 6
    # majority vote: node 5 is two hops from both supernodes; two of its assigned neighbours
    # (3, 4) belong to supernode 2 and one (6) to supernode 0, so it joins 2 despite the tie rule
    g = torch.tensor([[0, 2, 2, 5, 5, 5], [6, 3, 4, 3, 4, 6]])
    pos = nearest_kept_assignment(torch.cat([g, g.flip(0)], 1), torch.tensor([0, 2]), 7)
    assert pos.tolist() == [0, -1, 1, 1, 1, 1, 0]


def _pair(f=5, ratio=0.5):
    P = tgp_poolers()
    torch.manual_seed(0)
    ours = MaxCutPool(f, ratio=ratio)
    ref = P.MaxCutPooling(in_channels=f, ratio=ratio)
    with torch.no_grad():
        for a, b in zip(ours.score_net.state_dict().values(), ref.selector.score_net.state_dict().values()):
            b.copy_(a)
    return ours, ref


@pytest.mark.parametrize("ratio", [0.3, 0.5])
def test_matches_tgp_maxcut_pooling(ratio):
    ours, ref = _pair(ratio=ratio)
    x, ei, batch, _ = random_batch([10, 14, 8], f=5, p=0.4)  # connected within tgp's 5 hops
    ew = torch.ones(ei.size(1))
    o = ours(x, ei, batch=batch, edge_weight=ew)
    r = ref(x, ei, batch=batch, edge_weight=ew)
    assert torch.allclose(o.so.extra["score"], r.so.scores, atol=1e-6)
    assert torch.equal(o.so.node_index, r.so.node_index) and torch.equal(o.so.cluster_index, r.so.cluster_index)
    assert torch.allclose(o.x, r.x, atol=1e-5)
    assert torch.equal(o.edge_index, r.edge_index) and torch.allclose(o.edge_weight, r.edge_weight, atol=1e-6)
    (val,) = r.loss.values()
    assert torch.allclose(o.losses["cut"], val, atol=1e-6)
    (o.x.sum() + o.losses["cut"]).backward()
    (r.x.sum() + val).backward()
    ga = ours.score_net.initial.weight.grad
    gb = ref.selector.score_net.initial_layer.weight.grad
    assert torch.allclose(ga, gb, atol=1e-5)


def test_reduce_and_connect_equal_the_matrix_formulas():
    torch.manual_seed(1)
    pool = MaxCutPool(4, ratio=0.4, mp_units=(8,), mlp_units=(8,), normalize_edge_weight=False)
    x, ei, _, _ = random_batch([12], f=4, p=0.35)
    ew = torch.rand(ei.size(1))
    out = pool(x, ei, edge_weight=ew)
    s = out.so.assignment(0)
    z = out.so.extra["score"]
    assert torch.allclose(s.sum(1), z) and ((s != 0).sum(1) == 1).all()  # one non-zero per node: z_i
    assert torch.allclose(out.x, s.t() @ x, atol=1e-6)
    c = (s != 0).float()
    a = torch.zeros(12, 12).index_put_((ei[0], ei[1]), ew, accumulate=True)
    ref = c.t() @ a @ c
    ref.fill_diagonal_(0)
    k = s.size(1)
    got = torch.zeros(k, k).index_put_((out.edge_index[0], out.edge_index[1]), out.edge_weight)
    assert torch.allclose(got, ref, atol=1e-6)
    assert set(out.so.kept.tolist()) == set(torch.topk(z, k).indices.tolist())


def test_batch_equals_graphs_one_by_one_and_weights_normalised_per_graph():
    torch.manual_seed(2)
    pool = MaxCutPool(5, ratio=0.5, mp_units=(8, 8), mlp_units=(8,))
    sizes = [9, 13, 7]
    x, ei, batch, _ = random_batch(sizes, f=5)
    out = pool(x, ei, batch=batch)
    xs, losses, off = [], [], 0
    for g, n in enumerate(sizes):
        m = batch == g
        o = pool(x[m], ei[:, m[ei[0]]] - off)
        xs.append(o.x)
        losses.append(o.losses["cut"])
        eb = out.batch[out.edge_index[0]] == g
        assert out.edge_weight[eb].max().item() == pytest.approx(1.0)
        off += n
    assert torch.allclose(out.x, torch.cat(xs), atol=1e-6)
    assert torch.allclose(out.losses["cut"], torch.stack(losses).mean(), atol=1e-6)


def test_edgeless_graph_and_components_without_a_supernode():
    pool = MaxCutPool(3, ratio=0.5, mp_units=(4,), mlp_units=(4,))
    x = torch.randn(4, 3, requires_grad=True)
    out = pool(x, torch.empty(2, 0, dtype=torch.long))
    assert out.x.shape == (2, 3) and torch.isfinite(out.x).all() and out.losses["cut"].item() == 0.0
    (out.x.sum() + out.losses["cut"]).backward()
    assert torch.isfinite(x.grad).all()
    assert out.so.node_index.tolist() == out.so.kept.tolist()  # isolated nodes reach no supernode


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="ratio"):
        MaxCutPool(3, ratio=0.0)
    with pytest.raises(ValueError, match="delta"):
        MaxCutPool(3, delta=-1)
    with pytest.raises(ValueError, match="mp_units"):
        MaxCutPool(3, mp_units=(8, 0))
    with pytest.raises(ValueError, match="max_iter"):
        MaxCutPool(3, max_iter=0)
    with pytest.raises(ValueError, match="in_channels"):
        MaxCutPool(3)(torch.randn(4, 2), torch.tensor([[0, 1], [1, 0]]))
