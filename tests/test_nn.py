"""poolkit.nn.gnn: readouts, permutation invariance, batch equals one-by-one, mixed dense
and sparse pooling levels."""
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import to_dense_adj, to_dense_batch

from poolkit.data import motif_dataset, sbm
from poolkit.nn import GNN, DenseGNN, HierarchicalGNN, NodeClusterer, build_pooler, readout
from poolkit.nn.gnn import sparse_input
from poolkit.src import PoolingOutput, SelectOutput
from poolkit.src import SelectOutput


def _graphs():
    return [sbm((4, 5), 0.7, 0.2, seed=i, feature="random", dim=5) for i in range(3)] + [
        sbm((3, 3, 2), 0.8, 0.1, seed=9, feature="random", dim=5)]


@pytest.mark.parametrize("kind", ["mean", "sum", "max", "meanmax"])
def test_dense_and_sparse_readout_agree(kind):
    b = Batch.from_data_list(_graphs())
    xd, mask = to_dense_batch(b.x, b.batch)
    assert torch.allclose(readout(b.x, b.batch, kind=kind), readout(xd, mask=mask, kind=kind), atol=1e-6)


def test_dense_to_sparse_roundtrip():
    b = Batch.from_data_list(_graphs())
    xd, mask = to_dense_batch(b.x, b.batch)
    adj = to_dense_adj(b.edge_index, b.batch)
    adj_loops = adj + torch.diag_embed(mask.to(adj.dtype))   # self-loops are dropped on the way
    eye = torch.eye(xd.size(1)).expand(xd.size(0), -1, -1) * mask.unsqueeze(-1)
    out = PoolingOutput(x=torch.zeros_like(xd), so=SelectOutput.from_dense(eye, mask, mask), adj=adj_loops, mask=mask)
    x, ei, w, batch = sparse_input(out, xd)
    assert torch.equal(x, b.x) and torch.equal(batch, b.batch)
    assert bool((ei[0] != ei[1]).all())
    assert torch.equal(to_dense_adj(ei, batch, w), adj)


@pytest.mark.parametrize("pools", [[], [("mincut", {"k": 3})], [("topk", {"ratio": 0.5})],
                                   [("topk", {"ratio": 0.5}), ("diffpool", {"k": 2})],
                                   [("mincut", {"k": 3}), ("topk", {"ratio": 0.5})]])
def test_batch_equals_one_by_one_and_permutation_invariance(pools):
    torch.manual_seed(0)
    graphs = _graphs()
    model = HierarchicalGNN(5, 2, poolers=pools, hidden=8).eval()
    with torch.no_grad():
        batched, aux = model(Batch.from_data_list(graphs))
        single = torch.cat([model(Batch.from_data_list([g]))[0] for g in graphs])
        assert torch.allclose(batched, single, atol=1e-5)
        g = graphs[0]
        perm = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(1))
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(perm.numel())
        gp = g.clone()
        gp.x, gp.edge_index = g.x[perm], inv[g.edge_index]
        a = model(Batch.from_data_list([g]))[0]
        b = model(Batch.from_data_list([gp]))[0]
        assert torch.allclose(a, b, atol=1e-5)
    if any((p[0] if isinstance(p, tuple) else p) == "mincut" for p in pools):
        assert set(aux) >= {"cut", "ortho"}
    assert len(model.last_outputs) == len(pools)


def test_gradients_reach_every_block():
    model = HierarchicalGNN(5, 1, poolers=[("mincut", {"k": 3})], hidden=8)
    pred, aux = model(Batch.from_data_list(_graphs()))
    assert pred.shape == (4,)
    (pred.sum() + sum(aux.values())).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_gnn_layers_and_errors():
    g = _graphs()[0]
    for conv in ("gcn", "gin", "graphconv", "sage"):
        assert GNN(5, 7, 2, conv=conv)(g.x, g.edge_index).shape == (g.num_nodes, 7)
    xd, mask = to_dense_batch(g.x)
    assert DenseGNN(5, 6, 2)(xd, to_dense_adj(g.edge_index), mask).shape == (1, g.num_nodes, 6)
    with pytest.raises(ValueError, match="conv"):
        GNN(5, 7, conv="nope")
    with pytest.raises(ValueError, match="unknown pooler"):
        build_pooler("no_such_pooler", 8)
    with pytest.raises(ValueError, match="poolers entries"):
        build_pooler(3.5, 8)
    with pytest.raises(ValueError, match="readout|kind"):
        readout(g.x, kind="median")


def test_node_clusterer_returns_select_output():
    g = sbm((5, 5), 0.8, 0.1, seed=0, feature="random", dim=4)
    model = NodeClusterer(4, 2, "mincut", hidden=6)
    so, aux = model(g)
    assert isinstance(so, SelectOutput) and so.assignment(0).shape == (10, 2)
    assert set(aux) == {"cut", "ortho"}


def test_edgeless_and_one_node_graphs_give_finite_outputs():
    from torch_geometric.data import Data

    graphs = [Data(x=torch.randn(1, 5), edge_index=torch.empty(2, 0, dtype=torch.long)),
              Data(x=torch.randn(4, 5), edge_index=torch.empty(2, 0, dtype=torch.long))]
    for pools in ([], [("mincut", {"k": 2})], [("topk", {"ratio": 0.5})]):
        model = HierarchicalGNN(5, 3, poolers=pools, hidden=8)
        pred, aux = model(Batch.from_data_list(graphs))
        assert pred.shape == (2, 3) and torch.isfinite(pred).all()
        assert all(torch.isfinite(v) for v in aux.values())
