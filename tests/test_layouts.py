"""``PoolingOutput.to_dense()`` and ``to_sparse()``: one pooled graph, two layouts.

For every registered pooler, on the golden batches (three graphs, one with an isolated
node, float64): a dense output converted to the sparse layout and back gives, graph by
graph, the same tensors on its real supernodes (packed to the front, padding zero), and a sparse output converted
to the dense layout and back gives the same supernodes, batch, edges (coalesced), edge
weights and assignment matrix.
"""
import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.utils import coalesce

import poolkit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_golden  # noqa: E402

NAMES = poolkit.list_poolers()


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _run(name):
    pool = make_golden.build(name).eval()
    inputs = make_golden.golden_batches()["weighted"]
    kw = {"batch": inputs["batch"], "edge_weight": inputs["edge_weight"]}
    if pool.needs_edge_attr:
        kw["edge_attr"] = inputs["edge_attr"]
    with torch.no_grad():
        return pool(inputs["x"], inputs["edge_index"], **kw)


def _equal(a, b, where):
    assert a.shape == b.shape, f"{where}: {tuple(a.shape)} != {tuple(b.shape)}"
    assert torch.equal(a, b), f"{where}: differs by {(a - b).abs().max().item() if a.is_floating_point() else 'index'}"


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name, float64):
    out = _run(name)
    if out.is_dense:
        assert out.to_dense() is out
        sparse = out.to_sparse()
        assert not sparse.is_dense and sparse.x.dim() == 2
        back = sparse.to_dense()
        # graph by graph, the real supernodes (packed to the front after the trip)
        s, smask = out.so.to_dense()
        s2, smask2 = back.so.to_dense()
        _equal(smask2, smask, f"{name} S mask")
        for g in range(out.x.size(0)):
            real, real2 = out.mask[g], back.mask[g]
            n_real = int(real.sum())
            _equal(real2, torch.arange(real2.numel()) < n_real, f"{name} mask of graph {g}")
            _equal(back.x[g][real2], out.x[g][real], f"{name} x of graph {g}")
            _equal(back.adj[g][real2][:, real2], out.adj[g][real][:, real], f"{name} adj of graph {g}")
            if out.edge_attr is not None:
                _equal(back.edge_attr[g][real2][:, real2], out.edge_attr[g][real][:, real], f"{name} edge_attr of graph {g}")
            _equal(s2[g][smask[g]][:, real2], s[g][smask[g]][:, real], f"{name} S of graph {g}")
            assert not back.x[g][~real2].any() and not back.adj[g][~real2].any() and not s2[g][:, ~real2].any()
        _equal(back.so.cluster_mask, back.mask, f"{name} cluster mask")
        assert back.losses is out.losses
    else:
        assert out.to_sparse() is out
        dense = out.to_dense()
        assert dense.is_dense and dense.x.dim() == 3
        back = dense.to_sparse()
        k = out.x.size(0)
        batch = out.batch if out.batch is not None else torch.zeros(k, dtype=torch.long)
        _equal(back.x, out.x, f"{name} x")
        _equal(back.batch, batch, f"{name} batch")
        w = out.edge_weight if out.edge_weight is not None else torch.ones(out.edge_index.size(1))
        keep = w != 0
        ei, w = coalesce(out.edge_index[:, keep], w[keep], num_nodes=k)
        _equal(back.edge_index, ei, f"{name} edge_index")
        _equal(back.edge_weight, w, f"{name} edge_weight")
        if out.edge_attr is not None:
            _, ea = coalesce(out.edge_index[:, keep], out.edge_attr[keep], num_nodes=k)
            _equal(back.edge_attr, ea, f"{name} edge_attr")
        s, smask = out.so.to_dense()
        s2, smask2 = back.so.to_dense()
        _equal(s2, s, f"{name} S")
        _equal(smask2, smask, f"{name} S mask")
        assert back.losses is out.losses


def test_to_dense_needs_sorted_supernodes():
    so = poolkit.SelectOutput.from_cluster_index(torch.tensor([0, 1]), 2, batch=torch.tensor([1, 0]))
    out = poolkit.PoolingOutput(x=torch.randn(2, 3), so=so, edge_index=torch.empty(2, 0, dtype=torch.long),
                                batch=torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="batch must be sorted"):
        out.to_dense()


def test_gradients_flow_through_both_conversions():
    pool = poolkit.get_pooler("mincut", in_channels=4, k=2)
    x = torch.randn(5, 4, requires_grad=True)
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    out = pool(x, ei, batch=torch.tensor([0, 0, 0, 1, 1]))
    sp = out.to_sparse()
    (sp.x.sum() + sp.edge_weight.sum() + sp.so.weight.sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
