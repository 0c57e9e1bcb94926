"""poolkit.viz: the figures show exactly S, M = S Sᵀ, the clusters and the pooled graph."""
import numpy as np
import pytest
import torch

from poolkit import viz as V
from poolkit.data import sbm
from poolkit.src import SelectOutput


@pytest.fixture
def s():
    torch.manual_seed(0)
    return torch.rand(7, 3).softmax(-1)


def test_as_assignment_accepts_every_layout(s):
    assert np.allclose(V.as_assignment(s), s.numpy())
    so = SelectOutput.from_dense(torch.stack([s, s.flip(0)]), mask=torch.ones(2, 7, dtype=torch.bool))
    assert np.allclose(V.as_assignment(so, graph=1), s.flip(0).numpy())
    hard = SelectOutput.from_cluster_index(torch.tensor([0, 0, 1, 2, 2, 1, 0]))
    a = V.as_assignment(hard)
    assert a.shape == (7, 3) and np.allclose(a.sum(1), 1) and a[3, 2] == 1
    assert np.allclose(V.as_assignment(np.array([1, 0, -1])), [[0, 1], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="s must be"):
        V.as_assignment(np.zeros((2, 2, 2, 2)))


def test_heatmaps_hold_s_and_m(s):
    f = V.s_heatmap(s)
    assert np.allclose(np.array(f.data[0].z), s.numpy())
    m = V.m_heatmap(s)
    assert np.allclose(np.array(m.data[0].z), (s @ s.T).numpy(), atol=1e-6)
    order = [6, 5, 4, 3, 2, 1, 0]
    mo = V.m_heatmap(s, order=order)
    assert np.allclose(np.array(mo.data[0].z), (s @ s.T).numpy()[np.ix_(order, order)], atol=1e-6)
    both = V.sm_figure(s)
    assert len(both.data) == 2 and np.array(both.data[1].z).shape == (7, 7)
    assert np.allclose(V.grouping_matrix(s), (s @ s.T).numpy(), atol=1e-6)


def test_graph_coloured_by_argmax_cluster(s):
    g = sbm((4, 3), 0.9, 0.2, seed=0)
    f = V.graph_figure(g, s=s)
    nodes = f.data[1]
    expected = [V.PALETTE[k] for k in s.argmax(1).tolist()]
    assert list(nodes.marker.color) == expected
    edges = f.data[0]
    assert sum(v is None for v in edges.x) == g.edge_index.size(1)   # one segment per stored edge
    f2 = V.graph_figure(g, clusters=[0, 0, 0, 0, 1, 1, -1])
    assert f2.data[1].marker.color[-1] == "#cccccc"


def test_pooled_graph_beside_original():
    g = sbm((4, 4), 1.0, 0.0, seed=0)
    g.edge_index = torch.cat([g.edge_index, torch.tensor([[0, 4], [4, 0]])], 1)   # one bridge
    so = SelectOutput.from_cluster_index(g.y)
    f = V.pooled_graph_figure(g, so)
    pooled_nodes = f.data[-1]
    assert len(pooled_nodes.x) == 2
    pooled_edges = [t for t in f.data[2:-1]]
    assert len(pooled_edges) == 1 and "A'[0,1] = 1" in pooled_edges[0].text   # one bridge: A'[0,1] = 1
    # supernodes sit at the mean position of their nodes
    pos = np.random.default_rng(0).normal(size=(8, 2))
    f = V.pooled_graph_figure(g, so, pos=pos)
    assert np.allclose(f.data[-1].x, [pos[:4, 0].mean(), pos[4:, 0].mean()])


def test_molecule_atoms_coloured_by_cluster():
    svg = str(V.molecule_svg("CCO", clusters=[0, 0, 1]))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    plain = str(V.molecule_svg("CCO"))
    assert svg != plain
    with pytest.raises(ValueError, match="clusters"):
        V.molecule_svg("CCO", clusters=[0, 1])
    with pytest.raises(ValueError, match="SMILES"):
        V.molecule_svg("C1CC", clusters=[0, 0, 0])
    grid = str(V.molecules_grid_svg(["CCO", "c1ccccc1"], [[0, 0, 1], [0, 0, 0, 1, 1, 1]], per_row=2))
    assert grid.count("<svg") == 3


def test_loss_figure_from_history():
    from poolkit.train import History

    h = History([{"epoch": 1, "loss": 2.0, "cut": -0.5, "seconds": 0.1}, {"epoch": 2, "loss": 1.0, "cut": -0.8, "seconds": 0.1}])
    f = V.loss_figure(h)
    assert {t.name for t in f.data} == {"loss", "cut"}
    assert list(f.data[0].y) == [2.0, 1.0]


def test_matrices_figure_holds_each_matrix_on_one_colour_scale():
    a, b = torch.tensor([[1.0, -2.0], [0.5, 0.0]]), np.eye(3)
    fig = V.matrices_figure({"A": a, "B": b}, title="t")
    assert len(fig.data) == 2
    assert np.allclose(np.asarray(fig.data[0].z), a.numpy()) and np.allclose(np.asarray(fig.data[1].z), b)
    assert fig.data[0].zmin == fig.data[1].zmin == -2.0 and fig.data[0].zmax == 2.0
    assert [an.text for an in fig.layout.annotations] == ["A", "B"]
    with pytest.raises(ValueError, match="mats"):
        V.matrices_figure({})
    with pytest.raises(ValueError, match="2-D"):
        V.matrices_figure({"v": torch.ones(3)})


def test_side_by_side_copies_every_trace_into_its_column():
    g = sbm((4, 4), p_in=0.9, p_out=0.1, seed=0)
    f1 = V.graph_figure(g, clusters=torch.tensor([0] * 4 + [1] * 4))
    f2 = V.graph_figure(g, clusters=torch.zeros(8, dtype=torch.long))
    fig = V.side_by_side({"one": f1, "two": f2})
    assert len(fig.data) == len(f1.data) + len(f2.data)
    assert fig.data[-1].xaxis == "x2"
    assert np.allclose(np.asarray(fig.data[0].x, dtype=float), np.asarray(f1.data[0].x, dtype=float), equal_nan=True)
    with pytest.raises(ValueError, match="figs"):
        V.side_by_side({})


def test_forest_plot_draws_each_interval_its_band_and_the_papers_mark():
    rows = [{"label": "A ≈ B", "mean": 0.5, "lo": -1.0, "hi": 2.0, "verdict": "inconclusive", "margin": 3.0,
             "kind": "equal", "paper": 0.1},
            {"label": "C ≥ D", "mean": 1.0, "lo": 0.2, "hi": 1.8, "verdict": "reproduced", "margin": 3.0,
             "kind": "noninferior"},
            {"label": "E > F", "mean": -2.0, "lo": -3.0, "hi": -1.0, "verdict": "not reproduced", "kind": "greater"},
            {"label": "one pair", "mean": 0.3, "lo": -float("inf"), "hi": float("inf"), "verdict": "inconclusive"}]
    fig = V.forest_plot(rows)
    by_name = {t.name: t for t in fig.data}
    inc = by_name["inconclusive"]
    assert list(inc.y) == [0, 3] and list(inc.x) == [0.5, 0.3]
    assert list(inc.error_x.array)[0] == pytest.approx(1.5) and list(inc.error_x.arrayminus)[0] == pytest.approx(1.5)
    assert by_name["reproduced"].marker.color == V.VERDICT_COLORS["reproduced"]
    assert list(by_name["paper's difference"].x) == [0.1]
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(b.x0, b.y0) for b in bands] == [(-3.0, -0.4), (-3.0, 0.6)]
    assert bands[1].x1 > 3.0  # non-inferiority: the band is open to the right
    span = fig.layout.xaxis.range[1]
    assert np.isfinite(span) and list(inc.error_x.array)[1] == pytest.approx(span - 0.3)  # inf clipped
    with pytest.raises(ValueError, match="lacks"):
        V.forest_plot([{"label": "x", "mean": 0.0}])
    with pytest.raises(ValueError, match="at least one"):
        V.forest_plot([])
