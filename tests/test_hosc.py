"""HOSC pooling (poolkit/poolers/soft/hosc.py): the triangle-motif adjacency, analytic cuts, tgp agreement."""
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.soft import HOSCPool, MinCutPool, hosc_losses, mincut_losses, to_dense_inputs, triangle_motif_adjacency

from peers import tgp_poolers
from test_soft import block_graph, random_batch


def dense(n, edges):
    a = torch.zeros(n, n)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    return a


#: two triangles {0,1,2} and {3,4,5} joined by the bridge 2-3, which closes no triangle
BRIDGED = dense(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
HALVES = torch.tensor([[1.0, 0]] * 3 + [[0, 1.0]] * 3)


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["hosc"]
    assert info["class"] == "HOSCPool" and info["dense"] and info["trainable"] and info["aux_loss"]
    assert isinstance(src.example_pooler("hosc", in_channels=3, k=2), HOSCPool)


def test_motif_adjacency_counts_the_triangles_of_each_edge():
    am = triangle_motif_adjacency(BRIDGED)
    assert torch.equal(am, dense(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]))  # bridge: weight 0
    k4 = torch.ones(4, 4) - torch.eye(4)
    assert torch.equal(triangle_motif_adjacency(k4), 2 * k4)  # every edge of K4 lies in two triangles
    assert torch.equal(triangle_motif_adjacency(k4).sum(-1), 2 * torch.full((4,), 3.0))  # D_M = 2 x triangles
    path = dense(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    assert not triangle_motif_adjacency(path).any()  # triangle-free
    assert torch.equal(triangle_motif_adjacency(BRIDGED + torch.eye(6)), am)  # self-loops are no triangles
    batched = triangle_motif_adjacency(torch.stack([BRIDGED, torch.zeros(6, 6)]))
    assert torch.equal(batched[0], am) and not batched[1].any()


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_disjoint_cliques_reach_minus_one(alpha):
    a, s = block_graph([3, 3, 3])
    out = hosc_losses(a, s, alpha=alpha)
    assert out["cut"].item() == pytest.approx(-1.0, abs=1e-6) and out["ortho"].item() == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_a_bridge_costs_only_the_first_order_cut(alpha):
    # Tr(S^T A S) = 12 of the 14 ordered edge entries stay inside; no triangle is split.
    cut = hosc_losses(BRIDGED, HALVES, alpha=alpha)["cut"].item()
    assert cut == pytest.approx((1 - alpha) * (-12 / 14) + alpha * (-1.0), abs=1e-6)


def test_triangle_free_graph_has_no_motif_term():
    path = dense(6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
    first = mincut_losses(path, HALVES)["cut"]
    assert torch.allclose(hosc_losses(path, HALVES, alpha=0.75)["cut"], 0.25 * first)
    assert hosc_losses(path, HALVES, alpha=1.0)["cut"].item() == 0.0


def test_alpha_zero_is_mincut_and_batch_equals_one_by_one():
    torch.manual_seed(0)
    sizes = [5, 9, 7]
    x, ei, batch = random_batch(sizes, f=4)
    hosc, mc = HOSCPool(4, 3, alpha=0.0), MinCutPool(4, 3)
    mc.load_state_dict(hosc.state_dict())
    a, b = hosc(x, ei, batch), mc(x, ei, batch)
    assert torch.allclose(a.x, b.x) and torch.allclose(a.adj, b.adj)
    assert all(torch.allclose(a.losses[k], b.losses[k]) for k in ("cut", "ortho"))
    pool = HOSCPool(4, 3, alpha=0.6)
    out, per = pool(x, ei, batch), []
    for gid in range(len(sizes)):
        m = batch == gid
        idx = m.nonzero().view(-1)
        o = pool(x[m], ei[:, m[ei[0]]] - idx[0])
        per.append(o.losses["cut"])
        assert torch.allclose(out.x[gid], o.x[0], atol=1e-5) and torch.allclose(out.adj[gid], o.adj[0], atol=1e-5)
    assert torch.allclose(out.losses["cut"], torch.stack(per).mean(), atol=1e-6)


def test_gradients_are_finite_without_edges_or_triangles():
    pool = HOSCPool(3, 2, alpha=1.0)
    for n, ei in [(1, torch.empty(2, 0, dtype=torch.long)), (3, torch.tensor([[0, 1], [1, 0]]))]:
        x = torch.randn(n, 3, requires_grad=True)
        out = pool(x, ei)
        sum(out.losses.values()).backward()
        assert torch.isfinite(x.grad).all() and all(torch.isfinite(v) for v in out.losses.values())


def test_bad_input_names_the_argument():
    for bad in (-0.1, 1.5, True, "half"):
        with pytest.raises(ValueError, match="alpha"):
            HOSCPool(3, 2, alpha=bad)
        with pytest.raises(ValueError, match="alpha"):
            hosc_losses(BRIDGED, HALVES, alpha=bad)
    with pytest.raises(ValueError, match="adj must be"):
        triangle_motif_adjacency(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="k must be"):
        HOSCPool(3, 0)


def _tgp_pair(P, alpha):
    ours = HOSCPool(4, 3, alpha=alpha)
    ref = P.HOSCPooling(in_channels=4, k=3, alpha=alpha, mu=1.0)
    with torch.no_grad():
        ref.selector.mlp.lins[0].weight.copy_(ours.mlp[0].weight)
        ref.selector.mlp.lins[0].bias.copy_(ours.mlp[0].bias)
    return ours, ref


def test_agrees_with_tgp_where_the_formulas_agree():
    # alpha = 0 (the first-order cut only): tgp's cut is ours divided by K; pooled graph and
    # orthogonality term (tgp's mu = 1) are equal. The losses are compared through tgp's
    # compute_loss on the raw S^T A S: tgp 1.0.2's forward hands its loss the pooled adjacency
    # after removing its diagonal, so its first-order cut there is always 0 (later tgp computes
    # the loss first).
    P = tgp_poolers()
    torch.manual_seed(0)
    x, ei, batch = random_batch([6, 10, 8], f=4)
    xd, adj, mask = to_dense_inputs(x, ei, batch)
    ours, ref = _tgp_pair(P, 0.0)
    a, b = ours(xd, adj, mask=mask), ref(xd, adj, mask=mask)
    assert torch.allclose(a.x, b.x, atol=1e-5) and torch.allclose(a.adj, b.edge_index, atol=1e-5)
    s = b.so.s
    assert torch.allclose(a.so.s, s, atol=1e-6)
    tgp_loss = ref.compute_loss(adj, s, s.transpose(1, 2) @ adj @ s, mask)
    assert torch.allclose(a.losses["cut"] / 3, tgp_loss["hosc_loss"], atol=1e-6)
    assert torch.allclose(a.losses["ortho"], tgp_loss["ortho_loss"], atol=1e-6)
    assert a.losses["cut"].item() < -0.5  # a real cut, not the 0 of tgp 1.0.2's forward


def test_differs_from_tgp_on_the_motif_as_documented():
    # tgp's motif adjacency is A^3 (walks of length 3): on a 6-cycle, which has no triangle,
    # its motif cut is not 0, where the triangle-motif cut is.
    P = tgp_poolers()
    torch.manual_seed(0)
    cycle = dense(6, [(i, (i + 1) % 6) for i in range(6)]).unsqueeze(0)
    x = torch.randn(1, 6, 4)
    ours, ref = _tgp_pair(P, 1.0)
    out = ours(x, adj=cycle)
    assert out.losses["cut"].item() == 0.0
    s = out.so.s
    assert abs(ref.compute_loss(cycle, s, s.transpose(1, 2) @ cycle @ s)["hosc_loss"].item()) > 1e-3
