"""The chapter-1 explorer: assignments are parsed with reader-facing errors, and the
figure shows what the SRC formulas compute."""
import pytest
import torch

from poolkit.explorer import example_graphs, parse_assignment, src_explorer, src_figure


def test_example_graphs_are_symmetric_and_have_valid_default_assignments():
    for name, g in example_graphs().items():
        ei = g.edge_index
        pairs = set(map(tuple, ei.t().tolist()))
        assert all((j, i) in pairs for i, j in pairs), name
        assert len(g.assignment) == g.num_nodes == g.signal.size(0), name
        assert parse_assignment(",".join(map(str, g.assignment)), g.num_nodes) == g.assignment


def test_parse_assignment_relabels_and_rejects_bad_text():
    assert parse_assignment("3, 3, 7, -1", 4) == [0, 0, 1, -1]
    with pytest.raises(ValueError, match="integers"):
        parse_assignment("0,a", 2)
    with pytest.raises(ValueError, match="3 entries but the graph has 2 nodes"):
        parse_assignment("0,0,1", 2)
    with pytest.raises(ValueError, match=">= 0"):
        parse_assignment("0,-2", 2)
    with pytest.raises(ValueError, match="at least one node"):
        parse_assignment("-1,-1", 2)


def test_figure_lifted_signal_is_the_cluster_mean():
    g = example_graphs()["barbell"]
    fig = src_figure(g, op="mean")
    lifted = torch.tensor(fig.data[-1].marker.color)
    sig = g.signal.view(-1)
    assert torch.allclose(lifted[:3], sig[:3].mean().expand(3), atol=1e-6)
    assert torch.allclose(lifted[3:], sig[3:].mean().expand(3), atol=1e-6)
    heat = [t for t in fig.data if t.type == "heatmap"][0]
    assert torch.tensor(heat.z).shape == (6, 2)


def test_explorer_builds_and_reports_bad_input():
    box = src_explorer()
    text = box.children[1]
    message = box.children[2]
    text.value = "0,1"
    assert "entries" in message.value
    text.value = "0,0,0,1,1,2"
    assert "3 supernodes" in message.value
