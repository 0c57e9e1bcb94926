"""LaPool (poolkit/poolers/lapool.py): leaders by hand, sparsemax, locality, batches, edge cases, tgp."""
import math

import pytest
import torch

import poolkit
from poolkit.lapool import LaPool, lapool_leaders, sparsemax
from poolkit.soft import normalize_pooled_adj, to_dense_inputs

from peers import tgp_poolers
from test_soft import random_batch

PATH7 = torch.tensor([[i for i in range(6)] + [i + 1 for i in range(6)],
                      [i + 1 for i in range(6)] + [i for i in range(6)]])


def peaks(follower):
    """Features on the path 0-…-6: nodes 1 and 5 are (0, 3), the others ``follower``."""
    x = torch.tensor([follower] * 7)
    x[1] = x[5] = torch.tensor([0.0, 3.0])
    return x


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["lapool"]
    assert info["class"] == "LaPool" and info["dense"]
    assert not info["trainable"] and not info["aux_loss"] and not info["precomputable"]
    assert isinstance(poolkit.get_pooler("lapool"), LaPool)


def test_leaders_by_hand_on_a_path():
    # ||(LX)_i||: node 1: ||2(0,3) - (1,0) - (1,0)|| = ||(-2, 6)|| = 6.32; nodes 0, 2, 4, 6:
    # ||(1, -3)|| = 3.16; node 3: 0. Local maxima: nodes 1 and 5.
    x = peaks([1.0, 0.0])
    xd, adj, mask = to_dense_inputs(x, PATH7)
    lead = lapool_leaders(xd, adj, mask)[0]
    assert lead.nonzero().view(-1).tolist() == [1, 5]
    out = LaPool(normalize_adj=False)(x, PATH7)
    s = out.so.s[0]
    assert out.mask.tolist() == [[True, True]]
    assert torch.equal(s[[1, 5]], torch.eye(2))  # leaders follow themselves
    # followers (1, 0) are orthogonal to both leaders: equal scores, sparsemax splits evenly
    assert torch.allclose(s[[0, 2, 3, 4, 6]], torch.full((5, 2), 0.5))
    assert torch.allclose(out.x[0], s.t() @ x) and torch.allclose(out.adj[0], s.t() @ adj[0] @ s)


def test_hops_and_shortest_path_regulariser_by_hand():
    x = peaks([1.0, 0.0])
    s = LaPool(hops=1)(x, PATH7).so.s[0]
    # node 3 has no leader within one hop, so it keeps its nearest ones (both at two hops)
    want = torch.tensor([[1, 0], [1, 0], [1, 0], [0.5, 0.5], [0, 1], [0, 1], [0, 1]])
    assert torch.allclose(s, want)
    # followers (1, 1): cosine 1/sqrt(2) with each leader, divided by the hop distance
    x = peaks([1.0, 1.0])
    s = LaPool(shortest_path_reg=True)(x, PATH7).so.s[0]
    c = 1 / math.sqrt(2)

    def two(z1, z2):  # sparsemax of two scores, |z1 - z2| < 1
        return [(1 + z1 - z2) / 2, (1 - z1 + z2) / 2]

    assert torch.allclose(s[0], torch.tensor(two(c / 1, c / 5)))
    assert torch.allclose(s[2], torch.tensor(two(c / 1, c / 3)))
    assert torch.allclose(s[3], torch.tensor([0.5, 0.5]))
    assert torch.allclose(s[6], torch.tensor(two(c / 5, c / 1)))  # leader 5 one hop away, leader 1 five
    assert s[6, 1] > s[6, 0] > 0


def test_sparsemax_values_and_sparsity():
    z = torch.tensor([[3.0, 1.0, 0.2], [0.5, 0.4, 0.3], [0.0, 0.0, 0.0], [1.0, 2.0, -5.0]])
    p = sparsemax(z)
    assert torch.allclose(p[0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(p[1], torch.tensor([0.4333, 0.3333, 0.2333]), atol=1e-4)
    assert torch.allclose(p[2], torch.full((3,), 1 / 3))
    assert torch.allclose(p[3], torch.tensor([0.0, 1.0, 0.0]))
    allowed = torch.tensor([[True, False, True]] * 4)
    pm = sparsemax(z, allowed)
    assert (pm[:, 1] == 0).all() and torch.allclose(pm.sum(1), torch.ones(4))
    empty = sparsemax(z, torch.zeros_like(allowed))
    assert torch.equal(empty, torch.zeros_like(z))


def test_sparsemax_gradcheck():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    allowed = torch.rand(6, 5, generator=g) > 0.3
    allowed[0] = False  # an empty row
    assert torch.autograd.gradcheck(lambda t: sparsemax(t, allowed), (z,))
    assert torch.autograd.gradcheck(lambda t: sparsemax(t), (z,))


def test_permutation_equivariance():
    x, ei, _ = random_batch([11], f=3, p=0.35, seed=2)
    perm = torch.randperm(11, generator=torch.Generator().manual_seed(5))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(11)
    for pool in (LaPool(), LaPool(hops=2, shortest_path_reg=True)):
        a, b = pool(x, ei), pool(x[perm], inv[ei])
        assert torch.equal(b.so.extra["leaders"][0], a.so.extra["leaders"][0][perm])
        sa, sb = a.so.s[0], b.so.s[0]
        assert torch.allclose(sb @ sb.t(), (sa @ sa.t())[perm][:, perm], atol=1e-5)


def test_batch_equals_one_by_one():
    x, ei, batch = random_batch([6, 1, 9, 4], f=3, p=0.4, seed=3)
    pool = LaPool(hops=2)
    out = pool(x, ei, batch)
    for g in range(4):
        m = batch == g
        idx = m.nonzero().view(-1)
        one = pool(x[m], ei[:, m[ei[0]]] - idx[0])
        k = int(one.mask.sum())
        assert int(out.mask[g].sum()) == k
        assert torch.allclose(out.so.s[g, : int(m.sum()), :k], one.so.s[0, :, :k], atol=1e-6)
        assert torch.allclose(out.x[g, :k], one.x[0, :k], atol=1e-5)
        assert torch.allclose(out.adj[g, :k, :k], one.adj[0, :k, :k], atol=1e-5)


def test_edge_cases_give_no_nan():
    pool = LaPool()
    x = torch.randn(4, 3, requires_grad=True)
    out = pool(x, torch.empty(2, 0, dtype=torch.long))  # no edges: every node leads itself
    assert torch.equal(out.so.s[0], torch.eye(4)) and out.mask.all()
    one = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long))
    assert torch.equal(one.so.s[0], torch.ones(1, 1))
    # an isolated node (5) leads itself, and nobody follows a leader in another component
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    x = torch.randn(6, 3, requires_grad=True)
    out = pool(x, ei)
    s, lead = out.so.s[0], out.so.extra["leaders"][0]
    assert lead[5]
    col = int(lead[:6].long().cumsum(0)[5]) - 1
    assert s[:, col].tolist() == [0, 0, 0, 0, 0, 1]
    comp = torch.tensor([0, 0, 0, 1, 1, 2])
    lead_comp = comp[lead.nonzero().view(-1)]
    assert ((s > 0) <= (comp.unsqueeze(1) == lead_comp.unsqueeze(0))).all()
    assert torch.allclose(s.sum(1), torch.ones(6))
    (out.x.sum() + out.adj.sum()).backward()
    assert torch.isfinite(x.grad).all()
    # zero features: cosine 0 everywhere, still finite
    z = LaPool(attention="softmax")(torch.zeros(5, 2), PATH7[:, PATH7.max(0).values < 5])
    assert torch.isfinite(z.so.s).all() and torch.isfinite(z.adj).all()


def test_bad_input_names_the_argument():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="hops"):
            LaPool(hops=bad)
    with pytest.raises(ValueError, match="attention"):
        LaPool(attention="max")
    with pytest.raises(ValueError, match="edge_index"):
        LaPool()(torch.randn(3, 2), torch.tensor([[0, 5], [5, 0]]))
    with pytest.raises(ValueError, match="adj"):
        LaPool()(torch.randn(1, 3, 2), torch.ones(1, 4, 4))


def _connected_batch():
    # random graphs made connected by a path through all nodes (tgp masks no component)
    x, ei, batch = random_batch([12, 15, 9], f=4, p=0.15, seed=7)
    extra = [(i, i + 1) for i in range(x.size(0) - 1) if batch[i] == batch[i + 1]]
    e = torch.tensor(extra).t()
    from torch_geometric.utils import coalesce

    return x, coalesce(torch.cat([ei, e, e.flip(0)], 1)), batch


def test_agrees_with_tgp_where_the_formulas_agree():
    # With tgp's softmax in place of sparsemax, on connected graphs (where masking other
    # components changes nothing) and without the shortest-path term (tgp multiplies it in
    # after its softmax; the paper, and we, inside), S, X' and A' are tgp's.
    P = tgp_poolers()
    x, ei, batch = _connected_batch()
    ref = P.LaPooling()(x, ei, batch=batch)
    out = LaPool(attention="softmax")(x, ei, batch)
    ks = out.mask.sum(1)
    assert ref.so.s.shape == out.so.s.shape
    ds = (out.so.s - ref.so.s).abs().max().item()
    dx = (out.x - ref.x).abs().max().item()
    da = (out.adj - ref.edge_index).abs().max().item()
    assert ds < 1e-5 and dx < 1e-5 and da < 1e-5, (ds, dx, da)
    assert (ks > 1).any()  # a real test: some graph has several leaders


def test_differs_from_tgp_as_documented():
    # Across components tgp lets a node follow a leader it cannot reach; we do not.
    P = tgp_poolers()
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    ref = P.LaPooling()(x, ei).so.s[0]
    ours = LaPool(attention="softmax")(x, ei).so.s[0]
    comp = torch.tensor([0, 0, 0, 1, 1])
    lead = LaPool()(x, ei).so.extra["leaders"][0]
    across = comp.unsqueeze(1) != comp[lead.nonzero().view(-1)].unsqueeze(0)
    assert (ref[across] > 0).any() and (ours[across] == 0).all()
    # and the default sparsemax is sparse where a softmax never is
    s = LaPool()(*_connected_batch()).so.s
    assert ((s > 0) & (s < 1)).any() and (s == 0).sum() > (LaPool(attention="softmax")(*_connected_batch()).so.s == 0).sum()
