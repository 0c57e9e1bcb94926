"""Just Balance pooling (poolkit/poolers/soft/just_balance.py): the balance loss alone, tgp agreement."""
import math

import pytest
import torch

import poolkit
from poolkit import src
from poolkit.soft import JustBalancePool, MinCutPool, just_balance_losses, to_dense_inputs

from peers import tgp_poolers
from test_soft import block_graph, random_batch


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["just_balance"]
    assert info["class"] == "JustBalancePool" and info["dense"] and info["trainable"] and info["aux_loss"]
    assert isinstance(src.example_pooler("just_balance", in_channels=3, k=2), JustBalancePool)


@pytest.mark.parametrize("sizes", [[3, 3, 3], [5, 5], [2, 2, 2, 2]])
def test_equal_hard_clusters_reach_the_minimum_minus_one(sizes):
    a, s = block_graph(sizes)
    assert just_balance_losses(a, s)["balance"].item() == pytest.approx(-1.0, abs=1e-6)


def test_collapse_and_uneven_clusters_score_worse():
    n, k = 8, 4
    a = torch.zeros(n, n)
    collapsed = torch.zeros(n, k)
    collapsed[:, 0] = 1
    assert just_balance_losses(a, collapsed)["balance"].item() == pytest.approx(-1 / math.sqrt(k), abs=1e-6)
    uniform = torch.full((n, k), 1 / k)  # every node spread evenly: column norms sqrt(n)/k
    assert just_balance_losses(a, uniform)["balance"].item() == pytest.approx(-1 / math.sqrt(k), abs=1e-6)
    _, uneven = block_graph([5, 1, 1, 1])
    val = just_balance_losses(a, uneven)["balance"].item()
    assert -1 < val < -1 / math.sqrt(k)
    # closed form: -(sqrt 5 + 3) / sqrt(8 * 4)
    assert val == pytest.approx(-(math.sqrt(5) + 3) / math.sqrt(32), abs=1e-6)


def test_random_soft_assignments_lie_in_the_bounds():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        s = torch.softmax(3 * torch.randn(10, 4, generator=g), -1)
        v = just_balance_losses(torch.zeros(10, 10), s)["balance"].item()
        assert -1 - 1e-6 <= v < 0


def test_batch_equals_graphs_one_by_one_and_pooled_graph_as_mincut():
    torch.manual_seed(0)
    sizes = [5, 9, 7]
    x, ei, batch = random_batch(sizes, f=4)
    pool = JustBalancePool(4, 3).eval()
    out = pool(x, ei, batch)
    per = []
    for gid, n in enumerate(sizes):
        m = batch == gid
        idx = m.nonzero().view(-1)
        sub = ei[:, m[ei[0]]] - idx[0]
        o = pool(x[m], sub)
        per.append(o.losses["balance"])
        assert torch.allclose(out.x[gid], o.x[0], atol=1e-5) and torch.allclose(out.adj[gid], o.adj[0], atol=1e-5)
    assert torch.allclose(out.losses["balance"], torch.stack(per).mean(), atol=1e-6)
    mc = MinCutPool(4, 3)
    mc.load_state_dict(pool.state_dict())
    ref = mc(x, ei, batch)
    assert torch.allclose(out.adj, ref.adj) and torch.allclose(out.x, ref.x)


def test_gradients_are_finite_on_edge_cases():
    pool = JustBalancePool(3, 4)
    x = torch.randn(1, 3, requires_grad=True)  # a one-node graph without edges
    out = pool(x, torch.empty(2, 0, dtype=torch.long))
    out.losses["balance"].backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(out.adj).all()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="k must be"):
        JustBalancePool(3, 0)
    with pytest.raises(ValueError, match="in_channels"):
        JustBalancePool(3, 2)(torch.randn(4, 5), torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="reduction"):
        just_balance_losses(torch.zeros(3, 3), torch.rand(3, 2), reduction="sum")


def test_agrees_with_tgp_just_balance():
    P = tgp_poolers()
    torch.manual_seed(0)
    x, ei, batch = random_batch([6, 10, 8], f=4)
    xd, adj, mask = to_dense_inputs(x, ei, batch)
    ours = JustBalancePool(4, 3)
    ref = P.JustBalancePooling(in_channels=4, k=3)
    with torch.no_grad():
        ref.selector.mlp.lins[0].weight.copy_(ours.mlp[0].weight)
        ref.selector.mlp.lins[0].bias.copy_(ours.mlp[0].bias)
    a = ours(xd, adj, mask=mask)
    b = ref(xd, adj, mask=mask)
    assert torch.allclose(a.x, b.x, atol=1e-5)
    assert torch.allclose(a.adj, b.edge_index, atol=1e-5)
    (name, val), = b.loss.items()
    assert torch.allclose(a.losses["balance"], val, atol=1e-6), name
