"""Tests for poolkit.nn.rethinking: the backbones of the rethinking-pooling chapter."""
import networkx as nx
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GraphConv
from torch_geometric.utils import from_networkx

from poolkit.nn.rethinking import POOLS, GlobalPoolNet, RethinkingNet, paper_model


def _graphs(features=True):
    gs = [nx.gnp_random_graph(8, 0.4, seed=1), nx.cycle_graph(6), nx.path_graph(5),
          nx.empty_graph(3), nx.star_graph(6)]
    out = []
    g = torch.Generator().manual_seed(0)
    for i, G in enumerate(gs):
        d = from_networkx(G)
        d.edge_index = d.edge_index.long()
        if features:
            d.x = torch.randn(G.number_of_nodes(), 4, generator=g)
        else:
            d.num_nodes = G.number_of_nodes()
        d.y = torch.tensor([i % 2])
        out.append(d)
    return out


def _model(pool, **kw):
    torch.manual_seed(0)
    extra = {}
    if pool in ("random_diffpool", "random_mincut"):
        extra["pool_kwargs"] = {"seed": 0}
    if pool in ("gmn", "gmn_distance", "gmn_random"):
        extra["pool_kwargs"] = {"keys": [3, 1], "seed": 0}
    return RethinkingNet(4, 2, pool=pool, hidden=8, max_nodes=10, **extra, **kw)


ALL = [p for p in POOLS if p != "none"]


@pytest.mark.parametrize("pool", ALL)
def test_every_backbone_trains_and_returns_prediction_and_losses(pool):
    batch = Batch.from_data_list(_graphs())
    model = _model(pool)
    out, losses = model(batch)
    assert out.shape == (5, 2) and torch.isfinite(out).all()
    assert isinstance(losses, dict)
    loss = torch.nn.functional.cross_entropy(out, batch.y) + sum(losses.values(), torch.zeros(()))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("pool", [None, "graclus", "complement", "diffpool", "random_diffpool", "gmn_distance"])
def test_batch_equals_one_by_one(pool):
    graphs = _graphs()
    model = _model(pool).eval()
    with torch.no_grad():
        together, _ = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(Batch.from_data_list([g]))[0] for g in graphs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_auxiliary_losses_come_from_learned_poolers_only():
    batch = Batch.from_data_list(_graphs())
    assert set(_model("diffpool")(batch)[1]) == {"link", "entropy"}
    assert set(_model("mincut")(batch)[1]) == {"cut", "ortho"}
    assert set(_model("gmn")(batch)[1]) == {"kl"}
    for pool in ("random_diffpool", "random_mincut", "graclus", "complement", None):
        assert _model(pool)(batch)[1] == {}


def test_random_assignment_unchanged_by_training():
    batch = Batch.from_data_list(_graphs())
    model = _model("random_diffpool")
    before = model.pools[0].s_tilde.clone()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        out, _ = model(batch)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(out, batch.y).backward()
        opt.step()
    assert torch.equal(model.pools[0].s_tilde, before)


def test_single_convolution_switch_and_paper_layouts():
    one = paper_model("graclus", 4, 2, single_conv=True)
    two = paper_model("graclus", 4, 2)
    assert len(one.pre) == 1 and len(two.pre) == 2
    # conv -> conv -> pool -> conv -> pool -> readout: one conv between the two poolings
    assert [len(c) for c in two.post] == [1, 0]
    convs = sum(isinstance(m, GraphConv) for m in two.modules())
    assert convs == 3
    dp = paper_model("random_diffpool", 4, 2, dataset="PROTEINS", max_nodes=20)
    assert len(dp.pools) == 2 and dp.hidden == 32
    base = GlobalPoolNet(4, 2)
    assert len(base.pools) == 0 and len(base.pre) == 3


def test_recorded_activations_before_and_after_pooling():
    batch = Batch.from_data_list(_graphs())
    model = _model("complement")
    model.record = True
    model(batch)
    names = [a["name"] for a in model.activations]
    assert names == ["before pooling", "after pooling 1", "after pooling 2"]
    first, second = model.activations[0], model.activations[1]
    assert first["x"].shape[0] == 5 and int(first["mask"].sum()) == batch.num_nodes
    assert int(second["mask"].sum()) < int(first["mask"].sum())
    model.record = False
    model(batch)
    assert model.activations == []


def test_graphs_without_features_get_a_constant_feature():
    batch = Batch.from_data_list(_graphs(features=False))
    model = RethinkingNet(1, 2, pool="graclus", hidden=8)
    out, _ = model(batch)
    assert out.shape == (5, 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="pool"):
        RethinkingNet(4, 2, pool="nope")
    with pytest.raises(ValueError, match="max_nodes"):
        RethinkingNet(4, 2, pool="random_diffpool")
    with pytest.raises(ValueError, match="convs_before_pool"):
        RethinkingNet(4, 2, pool="graclus", convs_before_pool=0)
    with pytest.raises(ValueError, match="ratio"):
        RethinkingNet(4, 2, pool="diffpool", max_nodes=5, ratio=1.5)
    with pytest.raises(ValueError, match="in_channels"):
        RethinkingNet(3, 2, pool="graclus")(Batch.from_data_list(_graphs()))
    small = RethinkingNet(4, 2, pool="random_diffpool", max_nodes=4)
    with pytest.raises(ValueError, match="max_nodes"):
        small(Batch.from_data_list(_graphs()))


def test_permutation_sensitivity_zero_for_invariant_and_positive_for_plain_random():
    from poolkit.nn.rethinking import permutation_sensitivity

    graphs = _graphs()
    inv = RethinkingNet(4, 2, pool="random_diffpool", hidden=8, max_nodes=10,
                        pool_kwargs={"invariant": True, "seed": 0, "distribution": "normal"})
    plain = RethinkingNet(4, 2, pool="random_diffpool", hidden=8, max_nodes=10,
                          pool_kwargs={"seed": 0, "distribution": "normal", "std": 5.0})
    assert permutation_sensitivity(inv, graphs, num_perms=3) < 1e-5
    assert permutation_sensitivity(plain, graphs, num_perms=3) > 1e-4


def test_layer_homogeneity_and_tracker():
    from types import SimpleNamespace

    from poolkit.nn.rethinking import HomogeneityTracker, layer_homogeneity

    batch = Batch.from_data_list(_graphs())
    model = _model("random_diffpool")
    h = layer_homogeneity(model, batch)
    assert set(h) == {"before pooling", "after pooling 1", "after pooling 2"}
    assert all(0.0 <= v <= 1.0 + 1e-6 for v in h.values())
    assert model.training and not model.record  # state restored
    tracker = HomogeneityTracker(batch)
    state = SimpleNamespace(model=model, epoch=0)
    tracker.on_train_begin(state)
    state.epoch = 1
    tracker.on_epoch_end(state)
    assert [r["epoch"] for r in tracker.rows] == [0, 1]
    assert tracker.rows[0]["dirichlet (before pooling)"] >= 0


def test_activation_figure_has_one_heatmap_per_graph_and_layer():
    from poolkit.nn.rethinking import activation_figure

    fig = activation_figure(_model("complement"), Batch.from_data_list(_graphs()), graphs=(0, 1))
    assert len(fig.data) == 2 * 3


def test_experiment_builder_names():
    from poolkit.experiments.rethinking import MODELS, build

    for name in MODELS:
        m = build(name, "NCI1", 4, 2, max_nodes=10, seed=0)
        assert isinstance(m, RethinkingNet)
    with pytest.raises(ValueError, match="unknown model"):
        build("nope", "NCI1", 4, 2, max_nodes=10, seed=0)


@pytest.mark.parametrize("pool", ["graclus", "complement"])
def test_precomputed_clusters_give_the_same_model_output(pool):
    from torch_geometric.data import Batch, Data
    from torch_geometric.utils import to_undirected

    from poolkit.nn.rethinking import PrecomputeClusters

    gen = torch.Generator().manual_seed(0)
    graphs = []
    for n in (7, 12, 5, 9):
        ei = torch.randint(0, n, (2, 2 * n), generator=gen)
        ei = to_undirected(ei[:, ei[0] != ei[1]], num_nodes=n)
        graphs.append(Data(x=torch.randn(n, 3, generator=gen), edge_index=ei, y=torch.tensor([0])))
    torch.manual_seed(0)
    model = paper_model(pool, 3, 2, dataset="NCI1").eval()
    t = PrecomputeClusters(complement=(pool == "complement"), levels=model.num_pools)
    plain, pre = Batch.from_data_list(graphs), Batch.from_data_list([t(g) for g in graphs])
    with torch.no_grad():
        a, b = model(plain)[0], model(pre)[0]
    assert torch.allclose(a, b, atol=1e-6), (a, b)
    other = paper_model("graclus" if pool == "complement" else "complement", 3, 2, dataset="NCI1")
    with pytest.raises(ValueError, match="precomputed for complement"):
        other(pre)
