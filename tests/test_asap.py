"""ASAPool (poolkit/poolers/score/asap.py): cluster attention, fitness, S^T Â S; agreement with PyG."""
import pytest
import torch
from torch_geometric.nn import ASAPooling as PygASAP
from torch_geometric.utils import add_remaining_self_loops

import poolkit
from poolkit import src
from poolkit.score import ASAPool

from test_score import assert_pooled_like_pyg, random_batch

pytestmark = pytest.mark.filterwarnings("ignore:Sparse")  # beta sparse tensors (PyG and our connect)


def _pair(f=5, ratio=0.5, sign=1.0):
    torch.manual_seed(0)
    ours = ASAPool(f, ratio=ratio)
    ref = PygASAP(f, ratio=ratio)
    ref.lin.load_state_dict(ours.lin.state_dict())
    ref.att.load_state_dict(ours.att.state_dict())
    ref.gnn_score.load_state_dict(ours.fitness.state_dict())
    with torch.no_grad():
        ref.select.weight.fill_(sign)
    return ours, ref


def _dense(ei, ew, k):
    return torch.zeros(k, k).index_put_((ei[0], ei[1]), ew, accumulate=True)


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["asap"]
    assert info["class"] == "ASAPool" and info["trainable"] and not info["dense"] and not info["aux_loss"]
    assert isinstance(src.example_pooler("asap", in_channels=3), ASAPool)


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.8])
def test_matches_pyg_when_pygs_sign_is_positive(ratio):
    ours, ref = _pair(ratio=ratio)
    x, ei, batch, _ = random_batch([7, 11, 9], f=5)
    ew = torch.ones(ei.size(1))  # PyG returns pooled weights only when it gets weights
    out = ours(x, ei, batch=batch, edge_weight=ew)
    xr, eir, ewr, br, perm = ref(x, ei, edge_weight=ew, batch=batch)
    assert_pooled_like_pyg(out, xr, eir, ewr, br, perm)
    # gradients agree too
    out.x.sum().backward()
    xr.sum().backward()
    assert torch.allclose(ours.att.weight.grad, ref.att.weight.grad, atol=1e-5)
    assert torch.allclose(ours.fitness.lin1.weight.grad, ref.gnn_score.lin1.weight.grad, atol=1e-5)


def test_pyg_with_a_negative_sign_keeps_the_least_fit_clusters():
    ours, ref = _pair(sign=-1.0)
    x, ei, batch, _ = random_batch([12], f=5)
    out = ours(x, ei)
    perm = ref(x, ei)[4]
    fit = out.so.extra["fitness"]
    assert fit[out.so.kept].min() >= fit[perm].max()  # ours: the fittest; PyG: the least fit
    assert set(perm.tolist()).isdisjoint(out.so.kept.tolist())


def test_select_reduce_connect_equal_the_matrix_formulas():
    torch.manual_seed(1)
    pool = ASAPool(4, ratio=0.5)
    x, ei, _, _ = random_batch([10], f=4, p=0.35)
    out = pool(x, ei)
    s = out.so.assignment(0)  # [N, k]
    assert torch.allclose(s.sum(0), torch.ones(s.size(1)))  # memberships of a cluster sum to 1
    fit = out.so.extra["fitness"][out.so.kept]
    assert torch.allclose(out.x, fit.unsqueeze(-1) * (s.t() @ x), atol=1e-6)
    ahat = _dense(*add_remaining_self_loops(ei, torch.ones(ei.size(1)), num_nodes=10), 10)
    ref = s.t() @ ahat @ s
    ref.fill_diagonal_(0)
    assert torch.allclose(_dense(out.edge_index, out.edge_weight, s.size(1)), ref, atol=1e-6)
    # each cluster's members are its centre and the centre's neighbours
    for c, centre in enumerate(out.so.kept.tolist()):
        members = set(s[:, c].nonzero().view(-1).tolist())
        assert members == set(ei[0, ei[1] == centre].tolist()) | {centre}


def test_batch_equals_graphs_one_by_one():
    torch.manual_seed(2)
    pool = ASAPool(5, ratio=0.5)
    sizes = [6, 10, 8]
    x, ei, batch, _ = random_batch(sizes, f=5)
    out = pool(x, ei, batch=batch)
    xs, off, koff = [], 0, 0
    for g, n in enumerate(sizes):
        m = batch == g
        sub = ei[:, m[ei[0]]] - off
        o = pool(x[m], sub)
        assert torch.equal(out.so.kept[out.batch == g] - off, o.so.kept)
        k = o.x.size(0)
        sel = (out.batch[out.edge_index[0]] == g)
        mine = _dense(out.edge_index[:, sel] - koff, out.edge_weight[sel], k)
        assert torch.allclose(mine, _dense(o.edge_index, o.edge_weight, k), atol=1e-6)
        xs.append(o.x)
        off, koff = off + n, koff + k
    assert torch.allclose(out.x, torch.cat(xs), atol=1e-6)


def test_edgeless_and_one_node_graphs_are_finite():
    pool = ASAPool(3, k=2)
    x = torch.randn(4, 3, requires_grad=True)
    out = pool(x, torch.empty(2, 0, dtype=torch.long), batch=torch.tensor([0, 0, 1, 2]))
    assert out.x.shape == (4, 3) and torch.isfinite(out.x).all() and out.edge_index.size(1) == 0
    out.x.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="ratio"):
        ASAPool(3, ratio=1.5)
    with pytest.raises(ValueError, match="either ratio or k"):
        ASAPool(3, ratio=0.5, k=2)
    with pytest.raises(ValueError, match="dropout"):
        ASAPool(3, dropout=1.0)
    with pytest.raises(ValueError, match="in_channels"):
        ASAPool(3)(torch.randn(4, 2), torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="edge_index"):
        ASAPool(3)(torch.randn(4, 3), torch.tensor([[0, 9], [1, 0]]))


def test_gradient_through_the_pooled_edge_weights_equals_the_dense_formula():
    torch.manual_seed(5)
    pool = ASAPool(4, ratio=0.5)
    x, ei, _, _ = random_batch([10], f=4, p=0.35)
    out = pool(x, ei)
    (out.edge_weight ** 2).sum().backward()
    sparse_grad = pool.att.weight.grad.clone()
    pool.zero_grad()
    s = pool(x, ei).so.assignment(0)
    ahat = _dense(*add_remaining_self_loops(ei, torch.ones(ei.size(1)), num_nodes=10), 10)
    ref = s.t() @ ahat @ s
    (ref - torch.diag(torch.diag(ref))).pow(2).sum().backward()
    assert sparse_grad.abs().sum() > 0 and torch.allclose(sparse_grad, pool.att.weight.grad, atol=1e-5)
