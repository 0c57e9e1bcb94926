"""Tests for poolkit.evaluation (the four lenses) and the data it is judged on."""
import json

import networkx as nx
import pytest
import torch

import poolkit
from poolkit import evaluation as ev
from poolkit import src
from poolkit.data import point_cloud, point_clouds, wl_hash, wl_pairs
from poolkit.src import PoolingOutput, SelectOutput


def _ring(n=8):
    i = torch.arange(n)
    e = torch.stack([i, (i + 1) % n])
    return torch.cat([e, e.flip(0)], 1)


def _identity_output(x, edge_index):
    so = SelectOutput.from_cluster_index(torch.arange(x.size(0)))
    ei, ew = src.sparse_connect(edge_index, so)
    return PoolingOutput(x=src.reduce(x, so), so=so, edge_index=ei, edge_weight=ew)


# --------------------------------------------------------------------------- lens 1
def test_row_sums_and_expressive_selection_on_known_cases():
    n = 6
    hard = SelectOutput.from_cluster_index(torch.tensor([0, 0, 1, 1, 2, 2]))
    assert torch.equal(hard.row_sums(), torch.ones(n)) and ev.expressive_selection(hard)
    dropped = SelectOutput.from_kept_nodes(torch.tensor([0, 2, 3, 4, 5]), num_nodes=n)  # node 1 dropped
    assert dropped.row_sums()[1] == 0 and not ev.expressive_selection(dropped)
    soft = SelectOutput.from_dense(torch.softmax(torch.randn(n, 3), -1))
    assert ev.expressive_selection(soft)
    assert ev.expressive_selection(SelectOutput.from_dense(2.5 * torch.softmax(torch.randn(n, 3), -1)))  # λ = 2.5
    uneven = torch.softmax(torch.randn(n, 3), -1)
    uneven[0] *= 1.1
    assert not ev.expressive_selection(SelectOutput.from_dense(uneven))
    assert not ev.expressive_selection(SelectOutput.from_dense(torch.zeros(n, 3)))  # λ = 0
    # padding rows are not real nodes: a padded batch of softmax rows still passes
    s = torch.softmax(torch.randn(2, 4, 3), -1)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    so = SelectOutput.from_dense(s * mask.unsqueeze(-1), mask)
    assert so.row_sums().numel() == 7 and ev.expressive_selection(so)


def test_reduce_residual_is_zero_for_sum_reduce_and_positive_otherwise():
    x, ei = torch.randn(8, 3), _ring(8)
    out = _identity_output(x, ei)
    assert ev.reduce_residual(x, out) == 0.0
    out.x = torch.relu(out.x) + 1
    assert ev.reduce_residual(x, out) > 0.1


# --------------------------------------------------------------------------- lens 2
def test_identity_pooling_has_spectral_distance_zero():
    for data in point_clouds(("ring", "grid", "torus", "molecule"), size=4):
        out = _identity_output(data.x, data.edge_index)
        d = ev.structure_distances(out, data.edge_index, data.num_nodes)
        assert d == pytest.approx([0.0], abs=1e-9)


def test_spectral_distance_is_invariant_to_node_order_and_scale_and_sees_structure():
    a = ev.dense_adjacency(_ring(10), 10)
    perm = torch.randperm(10)
    assert ev.spectral_distance(a, 3.0 * a[perm][:, perm]) == pytest.approx(0.0, abs=1e-9)
    complete = torch.ones(10, 10) - torch.eye(10)
    d = ev.spectral_distance(a, complete)
    # K_10's normalised Laplacian: 0 and 10/9 (nine times); the ring's: 1 - cos(2πj/10)
    ring_eigs = sorted((1 - torch.cos(2 * torch.pi * torch.arange(10) / 10)).tolist())
    k_eigs = [0.0] + [10 / 9] * 9
    assert d == pytest.approx(sum(abs(p - q) for p, q in zip(ring_eigs, k_eigs)) / 10, abs=1e-6)
    with pytest.raises(ValueError, match="adj"):
        ev.spectral_distance(a, complete[:5, :5])


def test_lifted_adjacency_agrees_between_dense_and_sparse_layouts():
    x, ei = torch.randn(6, 2), _ring(6)
    cluster = torch.tensor([0, 0, 1, 1, 2, 2])
    sparse = SelectOutput.from_cluster_index(cluster)
    e2, w2 = src.sparse_connect(ei, sparse, remove_self_loops=False)
    out_s = PoolingOutput(x=src.reduce(x, sparse), so=sparse, edge_index=e2, edge_weight=w2)
    s = torch.nn.functional.one_hot(cluster, 3).float()
    dense = SelectOutput.from_dense(s)
    adj = ev.dense_adjacency(ei, 6).unsqueeze(0)
    out_d = PoolingOutput(x=src.dense_reduce(x.unsqueeze(0), dense.s), so=dense, adj=src.dense_connect(adj, dense.s))
    la, lb = ev.lifted_adjacency(out_s, 6), ev.lifted_adjacency(out_d, 6)
    assert torch.allclose(la, lb)
    assert torch.allclose(la, s @ s.t() @ adj[0] @ s @ s.t())


# --------------------------------------------------------------------------- lens 3
def test_identity_pooling_reconstructs_exactly_and_the_mean_scores_one():
    data = point_cloud("grid", size=4)
    out = _identity_output(data.x, data.edge_index)
    assert ev.reconstruction_error(data.x, src.lift(out.x, out.so)) == pytest.approx([0.0], abs=1e-12)
    assert ev.reconstruction_error(data.x, data.x.mean(0).expand_as(data.x)) == pytest.approx([1.0])
    with pytest.raises(ValueError, match="x_rec"):
        ev.reconstruction_error(data.x, data.x[:3])


def test_dropped_nodes_are_not_reconstructed_by_lift():
    data = point_cloud("ring", size=3)
    so = SelectOutput.from_kept_nodes(torch.arange(0, data.num_nodes, 2), data.num_nodes)
    rec = src.lift(src.reduce(data.x, so), so)
    assert ev.reconstruction_error(data.x, rec)[0] > 0.4


# --------------------------------------------------------------------------- data
def test_wl_pairs_differ_in_wl_hash_but_not_in_counts_or_degrees():
    graphs = wl_pairs(num_pairs=8, num_nodes=(12, 16), seed=3)
    assert len(graphs) == 16
    for a, b in zip(graphs[::2], graphs[1::2]):
        assert a.pair == b.pair and (a.y.item(), b.y.item()) == (0, 1)
        assert a.num_nodes == b.num_nodes and a.edge_index.size(1) == b.edge_index.size(1)
        assert sorted(torch.bincount(a.edge_index[0]).tolist()) == sorted(torch.bincount(b.edge_index[0]).tolist())
        assert wl_hash(a, 2) != wl_hash(b, 2)
        ga, gb = (nx.Graph(g.edge_index.t().tolist()) for g in (a, b))
        assert nx.is_connected(ga) and nx.is_connected(gb) and not nx.is_isomorphic(ga, gb)
        assert 0 < int(a.changed.sum()) <= 4 and torch.equal(a.x.sum(0) > 0, b.x.sum(0) > 0)
    again = wl_pairs(num_pairs=8, num_nodes=(12, 16), seed=3)
    assert all(torch.equal(g.edge_index, h.edge_index) for g, h in zip(graphs, again))


def test_wl_pairs_and_point_clouds_reject_bad_arguments():
    with pytest.raises(ValueError, match="num_pairs"):
        wl_pairs(0)
    with pytest.raises(ValueError, match="num_nodes"):
        wl_pairs(2, num_nodes=(10, 8))
    with pytest.raises(ValueError, match="avg_degree"):
        wl_pairs(2, num_nodes=8, avg_degree=10)
    with pytest.raises(ValueError, match="feature"):
        wl_pairs(2, feature="random")
    with pytest.raises(ValueError, match="kind"):
        point_cloud("sphere")
    with pytest.raises(ValueError, match="smiles"):
        point_cloud("molecule", smiles="not a molecule")


def test_point_clouds_have_unit_rms_centred_coordinates():
    for d in point_clouds(("ring", "grid", "mesh", "torus", "molecule"), size=5):
        assert d.x.shape == (d.num_nodes, 3) and torch.allclose(d.x.mean(0), torch.zeros(3), atol=1e-5)
        assert d.x.pow(2).sum(1).mean().item() == pytest.approx(1.0, rel=1e-4)
        assert d.edge_index.size(1) % 2 == 0 and int(d.edge_index.max()) < d.num_nodes
    assert point_cloud("torus", size=4).edge_index.size(1) == 2 * 2 * 16  # 4-regular


# --------------------------------------------------------------------------- lens 4
def test_peak_memory_counts_allocations_and_frees():
    with ev.PeakMemory() as pm:
        a = torch.zeros(1000, 1000)
        del a
        b = torch.ones(500, 500)
    assert 4_000_000 <= pm.peak < 4_100_000
    assert pm.current == 1_000_000
    del b


def test_peak_memory_sees_the_backward_pass():
    w = torch.randn(300, 300, requires_grad=True)
    with ev.PeakMemory() as fwd:
        (w @ w).sum()
    with ev.PeakMemory() as both:
        (w @ w).sum().backward()
    assert both.peak > fwd.peak


def test_cost_sweep_measures_and_caps():
    rows = ev.cost_sweep(["graclus", "mincut"], sizes=(10, 20), repeats=1, time_cap=0.0)
    by = {(r["name"], r["num_nodes"]): r for r in rows}
    for name in ("graclus", "mincut"):
        assert by[(name, 10)]["seconds"] > 0 and by[(name, 10)]["peak_mb"] > 0
        assert by[(name, 20)]["capped"] and by[(name, 20)]["predicted_seconds"] > 0
    g = ev.cost_graph(10)
    assert g.num_nodes == 10 and g.edge_index.size(1) == 2 * (7 + 6)  # rows of 4: 3+3+1 across, 6 down


# --------------------------------------------------------------------------- downstream
def test_downstream_results_read_every_file_shape_defensively(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"runs": [
        {"dataset": "NCI1", "model": "graclus", "seed": 0, "test_accuracy": 0.5},
        {"dataset": "NCI1", "model": "graclus", "seed": 1, "test_accuracy": 0.7},
        {"dataset": "NCI1", "model": "complement", "seed": 0, "test_accuracy": 0.6},
        {"model": "not_a_pooler", "test_accuracy": 0.9}]}))
    (tmp_path / "b.json").write_text(json.dumps({"runs": [{"model": "topk_0.9", "test_rmse": 0.81}]}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "evaluation.json").write_text(json.dumps({"runs": [{"model": "mincut", "test_accuracy": 1.0}]}))
    res = ev.downstream_results(str(tmp_path), names=["graclus", "complement_graclus", "topk", "mincut"])
    assert res["graclus"] == ["NCI1 acc 60.0 ± 14.1 (n=2, a)"]
    assert res["complement_graclus"] == ["NCI1 acc [complement] 60.0 ± 0.0 (n=1, a)"]
    assert res["topk"] == ["b RMSE [topk_0.9] 0.810 ± 0.000 (n=1, b)"]
    assert res["mincut"] == []  # the evaluation file itself is not a downstream result

    table = ev.downstream_table(str(tmp_path), names=["graclus", "complement_graclus", "topk", "mincut"])
    assert list(table.columns) == ["pooler", "data set", "metric", "as run", "mean ± sd", "n", "file"]
    assert len(table) == sum(len(v) for v in res.values()) == 3          # the same numbers, one row each
    assert table["pooler"].tolist() == ["complement_graclus", "graclus", "topk"]   # sorted by pooler
    g = table[table["pooler"] == "graclus"].iloc[0]
    assert (g["data set"], g["metric"], g["as run"], g["mean ± sd"], g["n"], g["file"]) == \
        ("NCI1", "acc %", "", "60.0 ± 14.1", 2, "a")
    t = table[table["pooler"] == "topk"].iloc[0]
    assert (t["metric"], t["as run"], t["mean ± sd"]) == ("RMSE", "topk_0.9", "0.810 ± 0.000")
    empty = ev.downstream_table(str(tmp_path / "nothing_here"), names=["graclus"])
    assert empty.empty and list(empty.columns) == list(table.columns)


# --------------------------------------------------------------------------- the report card
def test_every_registered_pooler_runs_every_lens_and_is_in_the_report_card():
    pairs = wl_pairs(2, num_nodes=10, seed=0)
    clouds = point_clouds(("ring", "grid"), size=3)
    results = [ev.evaluate_pooler(name, pairs, clouds, pair_epochs=2, ae_steps=2, k=3, cost_sizes=(10,),
                                  cost_repeats=1) for name in poolkit.list_poolers()]
    failed = {r["name"]: r["error"] for r in results if "error" in r}
    assert not failed, failed
    card = ev.report_card(results, downstream=ev.downstream_results("results"), cost_at=10)
    assert set(poolkit.list_poolers()) <= set(card.index)
    assert card.loc[poolkit.list_poolers(), "pair accuracy %"].notna().all()
    assert card.loc[["graclus", "kmis", "mincut"], "S rows sum to λ"].eq("yes").all()
    assert card.loc[["topk", "sag", "ndp"], "S rows sum to λ"].eq("no").all()


def test_a_newly_registered_pooler_enters_the_report_card_without_being_named():
    @src.register("_test_identity")
    class _Identity(src.Pooler):
        def select(self, x, edge_index, batch=None, **kwargs):
            return SelectOutput.from_cluster_index(torch.arange(x.size(0)), batch=batch)

    try:
        pairs = wl_pairs(2, num_nodes=10, seed=0)
        clouds = point_clouds(("ring",), size=3)
        res = ev.evaluate_pooler("_test_identity", pairs, clouds, pair_epochs=1, ae_steps=1)
        assert "error" not in res and res["expressive_S"] and res["spectral"]["ring"] == pytest.approx(0.0, abs=1e-9)
        card = ev.report_card([])
        assert "_test_identity" in card.index and card.loc["_test_identity", "S rows sum to λ"] == "—"
    finally:
        src._REGISTRY.pop("_test_identity")
    assert "_test_identity" not in ev.report_card([]).index


def test_resume_runs_only_the_poolers_the_file_lacks(tmp_path):
    from poolkit.experiments import __main__ as cli

    out = tmp_path / "ev.json"
    base = ["evaluation", "--quick", "--seeds", "0", "--device", "cpu", "--out", str(out)]
    assert cli.main(base + ["--poolers", "nopool,topk"]) == 0
    first = json.loads(out.read_text())
    assert cli.main(base + ["--poolers", "nopool,topk,graclus", "--resume"]) == 0
    second = json.loads(out.read_text())
    assert [r["name"] for r in second["runs"]] == ["nopool", "topk", "graclus"]
    assert second["runs"][:2] == first["runs"]                       # kept, not rerun
    assert [c for c in second["cost"] if c["name"] != "graclus"] == first["cost"]
    assert {c["name"] for c in second["cost"]} == {"nopool", "topk", "graclus"}
    assert len(second["commands"]) == 2 and second["resumed_from"]["poolers"] == ["nopool", "topk"]
    with pytest.raises(ValueError, match="other settings.*seeds"):
        cli.main(base[:3] + ["1"] + base[4:] + ["--poolers", "graclus", "--resume"])


def test_reduced_spectral_distance_compares_like_with_like_on_a_ring():
    """Ring of 8 -> every other node: the induced subgraph is empty (far from the Kron
    reduction, a ring of 4 with weights 1/2), the Kron-reduced Connect scores 0, and a pair
    clustering with Sᵀ A S scores 0 too; the lifted distance penalises the decimation anyway."""
    from poolkit import evaluation as ev

    n = 8
    a = torch.zeros(n, n, dtype=torch.double)
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 1.0
    s_keep = torch.eye(n, dtype=torch.double)[:, ::2]
    red = ev.reduced_adjacency(a, s_keep)
    ring4 = torch.zeros(4, 4, dtype=torch.double)
    for i in range(4):
        ring4[i, (i + 1) % 4] = ring4[(i + 1) % 4, i] = 0.5
    assert torch.allclose(red, ring4, atol=1e-10)
    assert ev.reduced_spectral_distance(a, s_keep, ring4) < 1e-10
    induced = s_keep.t() @ a @ s_keep
    assert ev.reduced_spectral_distance(a, s_keep, induced) == pytest.approx(1.0)  # spectrum [0,1,1,2] vs zeros
    lifted = s_keep @ ring4 @ s_keep.t()
    assert ev.spectral_distance(a, lifted) > 0.3  # the lifted lens still sees 4 isolated nodes
    s_pairs = torch.eye(4, dtype=torch.double)[torch.arange(n) // 2]
    pooled = s_pairs.t() @ a @ s_pairs
    pooled = pooled - torch.diag(torch.diagonal(pooled))
    assert ev.reduced_spectral_distance(a, s_pairs, pooled) < 1e-10
    # permuting the kept columns permutes the reduced graph, the distance stays 0
    perm = torch.tensor([2, 0, 3, 1])
    assert ev.reduced_spectral_distance(a, s_keep[:, perm], ring4[perm][:, perm]) < 1e-10
    with pytest.raises(ValueError, match="adj_pooled"):
        ev.reduced_spectral_distance(a, s_keep, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="adj must be"):
        ev.reduced_adjacency(a, torch.zeros(5, 2))


@pytest.mark.parametrize("name", ["mincut", "topk"])
def test_autoencoder_lens_trains_through_fit_as_its_written_loss(name):
    """The lens trains with poolkit.train.fit; the weights it ends with are those of the loss
    it states, ``MSE(x̃, x) + Σ pooler losses`` (unweighted), stepped by Adam by hand."""
    import torch.nn.functional as F
    from torch_geometric.data import Batch

    from poolkit.data import point_clouds
    from poolkit.evaluation import PoolAutoencoder, autoencoder_lenses

    clouds = point_clouds(("ring", "grid"), size=20)
    res = autoencoder_lenses(name, clouds, steps=6, k=4, ratio=0.5, seed=3, return_model=True)
    torch.manual_seed(3)
    data = Batch.from_data_list(list(clouds))
    ref = PoolAutoencoder(name, data.x.size(1), 32, k=4, ratio=0.5, max_nodes=int(torch.bincount(data.batch).max()))
    opt = torch.optim.Adam(ref.parameters(), lr=5e-3)
    for _ in range(6):
        opt.zero_grad()
        rec, out = ref(data.x, data.edge_index, data.batch)
        (F.mse_loss(rec, data.x) + out.loss).backward()
        opt.step()
    if name == "mincut":
        assert res["out"].losses       # the pooler's losses took part
    for p, q in zip(res["model"].parameters(), ref.parameters()):
        assert torch.equal(p, q)


def test_one_training_loop():
    """Every optimiser step in poolkit is taken in poolkit.train.fit."""
    import ast
    from pathlib import Path

    root = Path(poolkit.__file__).parent
    steps = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step"
                    and isinstance(node.func.value, ast.Name) and "opt" in node.func.value.id):
                steps.append(f"{path.relative_to(root)}:{node.lineno}")
    assert steps and all(s.startswith("train.py:") for s in steps), steps
