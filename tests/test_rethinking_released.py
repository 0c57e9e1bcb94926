"""The released code's DiffPool v2 and MinCutPool (poolkit.nn.rethinking_released)."""
import json
import math
import os

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import dense_diff_pool
from torch_geometric.utils import from_networkx, to_dense_adj

from poolkit.data import stratified_split
from poolkit.nn.rethinking_released import DiffPoolV2Net, MinCutNet, released_model


def _graphs(n_graphs=5, feat=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n_graphs):
        d = from_networkx(nx.connected_watts_strogatz_graph(6 + 2 * i, 4, 0.3, seed=seed + i))
        d.x = torch.randn(d.num_nodes, feat, generator=g)
        d.y = torch.tensor([i % 2])
        out.append(d)
    return out


MODELS = {
    "diffpool": lambda: DiffPoolV2Net(3, 2, max_nodes=20),
    "uniform_random_diffpool": lambda: DiffPoolV2Net(3, 2, max_nodes=20, random="uniform", seed=1),
    "imdb_diffpool": lambda: DiffPoolV2Net(3, 2, max_nodes=20, pre_sum_aggr=True),
    "mincut": lambda: MinCutNet(3, 2, max_nodes=20),
    "random_mincut": lambda: MinCutNet(3, 2, max_nodes=20, random="uniform", seed=1),
}


def _trained_stats(model, graphs):
    """One training step on a batch, so batch-norm running statistics are not the defaults."""
    model.train()
    out, losses = model(Batch.from_data_list(graphs))
    (out.sum() + sum(losses.values(), torch.tensor(0.0))).backward()
    model.eval()
    return model


def test_cluster_counts_follow_the_code():
    # NCI1's largest graph has 111 nodes: DiffPool v2 keeps ceil(0.1 * 111) = 12 clusters,
    # MinCutPool halves twice: 56 then 28; the random matrices have 2K rows, as the code's.
    assert DiffPoolV2Net(37, 2, max_nodes=111).k == 12
    m = MinCutNet(37, 2, max_nodes=111, random="uniform", seed=0)
    assert m.ks == (56, 28) and tuple(m.assign1.shape) == (112, 56) and tuple(m.assign2.shape) == (56, 28)
    assert float(m.assign1.min()) >= 0 and float(m.assign1.max()) < 1  # U(0, 1), not N(0, 1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batch_equals_one_by_one_and_losses_only_when_learned(name):
    torch.manual_seed(0)
    graphs = _graphs()
    model = _trained_stats(MODELS[name](), graphs)
    with torch.no_grad():
        out, losses = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(Batch.from_data_list([g]))[0] for g in graphs])
    assert torch.allclose(out, alone, atol=1e-5)
    assert torch.isfinite(out).all()
    assert (losses == {}) == ("random" in name)  # the random variants train on the supervised loss alone
    for v in losses.values():
        assert v.dim() == 0 and torch.isfinite(v)


@pytest.mark.parametrize("name", ["diffpool", "mincut"])
def test_learned_models_are_permutation_invariant(name):
    torch.manual_seed(0)
    graphs = _graphs()
    model = _trained_stats(MODELS[name](), graphs)
    g = graphs[3]
    perm = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(3))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    h = g.clone()
    h.x, h.edge_index = g.x[perm], inv[g.edge_index]
    with torch.no_grad():
        a, b = model(Batch.from_data_list([g]))[0], model(Batch.from_data_list([h]))[0]
    assert torch.allclose(a, b, atol=1e-5)


def test_random_diffpool_is_not_permutation_invariant():
    # Node i takes row i of the fixed matrix, so the prediction depends on the node order:
    # the point of the paper's random ablation, and what the code does.
    torch.manual_seed(0)
    graphs = _graphs()
    model = _trained_stats(MODELS["uniform_random_diffpool"](), graphs)
    g = graphs[4]
    perm = torch.arange(g.num_nodes).flip(0)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    h = g.clone()
    h.x, h.edge_index = g.x[perm], inv[g.edge_index]
    with torch.no_grad():
        a, b = model(Batch.from_data_list([g]))[0], model(Batch.from_data_list([h]))[0]
    assert not torch.allclose(a, b, atol=1e-4)


def test_random_assignment_is_rows_of_the_fixed_matrix():
    # The pooled features of the random DiffPool are softmax(R[:n])^T Z, with Z the embedding GNN's output.
    model = DiffPoolV2Net(3, 2, max_nodes=20, random="normal", seed=5).eval()
    g = _graphs()[2]
    b = Batch.from_data_list([g])
    x, adj = b.x.unsqueeze(0), to_dense_adj(b.edge_index, b.batch)
    with torch.no_grad():
        z = model.gnn_embed(x, adj)
        want, _, _, _ = dense_diff_pool(z, adj, model.assign[: g.num_nodes].unsqueeze(0))
        s = torch.softmax(model.assign[: g.num_nodes], -1)
        assert torch.allclose(want[0], s.T @ z[0], atol=1e-5)
    again = DiffPoolV2Net(3, 2, max_nodes=20, random="normal", seed=5)
    assert torch.equal(again.assign, model.assign)  # the same seed draws the same matrix


def test_one_training_step_reduces_nothing_to_nan_on_a_graph_without_edges():
    g = _graphs(1)[0]
    g.edge_index = torch.empty(2, 0, dtype=torch.long)
    for make in MODELS.values():
        model = make()
        out, losses = model(Batch.from_data_list([g, g]))
        assert torch.isfinite(out).all() and all(torch.isfinite(v) for v in losses.values())


def test_bad_input_raises_value_errors():
    with pytest.raises(ValueError, match="random"):
        DiffPoolV2Net(3, 2, max_nodes=10, random="bernoulli")
    with pytest.raises(ValueError, match="max_nodes"):
        MinCutNet(3, 2, max_nodes=0)
    with pytest.raises(ValueError, match="ratio"):
        DiffPoolV2Net(3, 2, max_nodes=10, ratio=0)
    with pytest.raises(ValueError, match="family"):
        released_model("graclus", "NCI1", 3, 2, 10)
    with pytest.raises(ValueError, match="more than max_nodes"):
        DiffPoolV2Net(3, 2, max_nodes=5)(Batch.from_data_list(_graphs(2)))


def test_stratified_split_keeps_class_shares():
    y = np.array([0] * 70 + [1] * 30)
    parts = stratified_split(y, (0.8, 0.1, 0.1), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))
    assert [int((y[p] == 1).sum()) for p in parts] == [24, 3, 3]
    assert all(np.array_equal(a, b) for a, b in zip(parts, stratified_split(y, (0.8, 0.1, 0.1), seed=0)))
    assert not np.array_equal(parts[0], stratified_split(y, (0.8, 0.1, 0.1), seed=1)[0])
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(y, (0.8, 0.3))


@pytest.mark.skipif(not os.path.isdir(os.path.join(os.environ.get("POOLKIT_DATA", ""), "TUDataset", "MUTAG")),
                    reason="needs the raw TUDataset copies (POOLKIT_DATA)")
def test_experiment_runs_the_released_architecture(tmp_path):
    from poolkit.experiments import __main__ as cli

    out = tmp_path / "r.json"
    args = ["rethinking", "--architecture", "released", "--datasets", "MUTAG", "--models",
            "diffpool,uniform_random_diffpool,random_mincut", "--limit", "40", "--epochs", "2", "--patience", "5",
            "--device", "cpu", "--seeds", "0", "--out", str(out)]
    assert cli.main(args) == 0
    res = json.loads(out.read_text())
    assert res["protocol"]["architecture"] == "released" and res["protocol"]["batch_size"] == 16
    assert res["protocol"]["grad_clip"] == 2.0 and "stratified" in res["protocol"]["split"]
    assert [r["architecture"] for r in res["runs"]] == ["released"] * 3
    with pytest.raises(ValueError, match="released runs the models"):
        cli.main([a if a != "diffpool,uniform_random_diffpool,random_mincut" else "graclus" for a in args])
    # a file of one architecture cannot be resumed with the other
    with pytest.raises(ValueError, match="architecture"):
        cli.main(["rethinking", "--datasets", "MUTAG", "--models", "diffpool", "--limit", "40", "--epochs", "2",
                  "--patience", "5", "--device", "cpu", "--seeds", "1", "--out", str(out), "--resume"])
    assert math.isfinite(res["runs"][0]["test_accuracy"])


def _dense_batch_with_logits():
    """The test graphs as one dense batch, and seeded logits for 4 clusters."""
    from torch_geometric.utils import to_dense_batch

    b = Batch.from_data_list(_graphs())
    x, mask = to_dense_batch(b.x, b.batch)
    adj = to_dense_adj(b.edge_index, b.batch)
    s = torch.randn(x.size(0), x.size(1), 4, generator=torch.Generator().manual_seed(0))
    return x, adj, mask, s


def test_mincut_losses_agree_with_pyg_on_graphs_with_edges():
    # The model computes its losses with poolkit.soft.mincut_losses; PyG's dense_mincut_pool,
    # which the released code calls, gives the same numbers wherever a graph has an edge.
    from torch_geometric.nn import dense_mincut_pool

    from poolkit.soft import mincut_losses

    x, adj, mask, s = _dense_batch_with_logits()
    _, _, cut, ortho = dense_mincut_pool(x, adj, s, mask)
    ours = mincut_losses(adj, torch.softmax(s, -1), mask)
    assert torch.allclose(ours["cut"], cut, atol=1e-6) and torch.allclose(ours["ortho"], ortho, atol=1e-6)


def test_mincut_pool_step_is_pygs_pooled_graph_with_a_finite_gradient_at_zero_degree():
    from torch_geometric.nn import dense_mincut_pool

    from poolkit.nn.rethinking_released import mincut_pool_step

    x, adj, mask, s = _dense_batch_with_logits()
    px, padj, _, _ = dense_mincut_pool(x, adj, s, mask)
    ox, oadj = mincut_pool_step(x, adj, s, mask)
    assert torch.allclose(ox, px, atol=1e-6) and torch.allclose(oadj, padj, atol=1e-6)
    # A saturated softmax that leaves cluster 1 without nodes: its degree is exactly 0.
    ring = torch.tensor([[0., 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]).unsqueeze(0)
    logits = torch.tensor([[[0., -200.], [0., -200.], [0., -200.], [0., -200.]]], requires_grad=True)
    feats = torch.ones(1, 4, 2)
    _, theirs, _, _ = dense_mincut_pool(feats, ring, logits, None)
    theirs.sum().backward()
    assert not torch.isfinite(logits.grad).all()          # PyG's sqrt(d) at d = 0
    logits.grad = None
    _, ours = mincut_pool_step(feats, ring, logits, None)
    ours.sum().backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(ours).all()
