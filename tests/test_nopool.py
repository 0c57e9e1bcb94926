"""NoPool, the identity pooler (poolkit/src.py): S = I, X' = X, A' = A."""
import pytest
import torch

import poolkit
from poolkit import src
from poolkit.src import NoPool

from peers import tgp_poolers


def _graph(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, 3 * n), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    return torch.randn(n, 4, generator=g), ei


def test_registered_with_flags():
    assert "nopool" in poolkit.list_poolers()
    info = {d["name"]: d for d in poolkit.pooler_info()}["nopool"]
    assert info["class"] == "NoPool" and info["precomputable"] and not info["trainable"]
    assert not info["dense"] and not info["aux_loss"] and not info["needs_edge_attr"]
    assert isinstance(src.example_pooler("nopool", in_channels=3), NoPool)


def test_identity_and_equal_to_the_generic_src_path():
    x, ei = _graph()
    ew, ea = torch.rand(ei.size(1)), torch.randn(ei.size(1), 2)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    ei = ei[:, batch[ei[0]] == batch[ei[1]]]
    ew, ea = ew[: ei.size(1)], ea[: ei.size(1)]
    out = NoPool()(x, ei, batch=batch, edge_attr=ea, edge_weight=ew)
    assert out.x is x and out.edge_index is ei and out.edge_weight is ew and out.edge_attr is ea
    assert out.batch is batch and out.losses == {}
    # S is the identity: the generic Sᵀ X, Sᵀ A S and S X' give the same graph
    s, mask = out.so.to_dense()
    for g in range(2):
        assert torch.equal(out.so.assignment(g), torch.eye(int((batch == g).sum())))
    assert torch.allclose(src.sparse_reduce(x, out.so), x)
    gi, gw = src.sparse_connect(ei, out.so, ew, remove_self_loops=False)
    dense = torch.zeros(7, 7).index_put_((ei[0], ei[1]), ew, accumulate=True)
    assert torch.allclose(torch.zeros(7, 7).index_put_((gi[0], gi[1]), gw), dense)
    assert torch.equal(NoPool().lift(out.x, out.so), x)


def test_gradient_passes_unchanged():
    x, ei = _graph()
    x.requires_grad_(True)
    NoPool()(x, ei).x.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_bad_input_names_the_argument():
    x, ei = _graph()
    with pytest.raises(ValueError, match="edge_index"):
        NoPool()(x, torch.tensor([[0, 99], [1, 0]]))
    with pytest.raises(ValueError, match="batch"):
        NoPool()(x, ei, batch=torch.zeros(3, dtype=torch.long))


def test_agrees_with_tgp_nopool():
    tgp = tgp_poolers()
    x, ei = _graph()
    ew = torch.rand(ei.size(1))
    ref = tgp.NoPool()(x, ei, edge_weight=ew)
    out = NoPool()(x, ei, edge_weight=ew)
    assert torch.equal(ref.x, out.x) and torch.equal(ref.edge_index, out.edge_index)
    assert torch.equal(ref.edge_weight, out.edge_weight)
    assert torch.equal(ref.so.node_index, out.so.node_index) and torch.equal(ref.so.cluster_index, out.so.cluster_index)
