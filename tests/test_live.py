"""poolkit.live: the live view snapshots S of the watched graph, throttles, restores the
training mode, redraws in place (an Output widget, or one display in Colab), and leaves a
final frame when a notebook runs headless."""
import numpy as np
import pytest
import torch

from poolkit import live as L
from poolkit.data import sbm
from poolkit.nn import NodeClusterer
from poolkit.train import fit, set_seed


@pytest.fixture
def graph():
    return sbm((8, 8, 8), 0.6, 0.02, seed=0, feature="noisy_block", dim=8)


@pytest.fixture
def display_calls(monkeypatch):
    """Replace IPython's display with a recorder: ("display", obj, raw, display_id) for a new
    display, ("update", obj, raw) for an update of its handle."""
    import IPython.display

    calls = []

    class Handle:
        def update(self, obj, raw=False):
            calls.append(("update", obj, raw))

    def fake_display(obj, raw=False, display_id=None):
        calls.append(("display", obj, raw, display_id))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return calls


def test_snapshot_reads_s_of_the_first_pooler(graph):
    set_seed(0)
    model = NodeClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, model=model, show=False)
    model.train()
    s = view.snapshot()
    assert s.shape == (24, 3) and isinstance(s, np.ndarray)
    ref, _ = model.eval()(graph)
    assert np.allclose(s, ref.assignment(0).detach().numpy(), atol=1e-6)
    assert L.find_pooler(model) is model.pool


def test_training_mode_is_restored(graph):
    class DropoutClusterer(NodeClusterer):
        pass

    model = DropoutClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, show=False)
    seen = []
    model.pool.register_forward_pre_hook(lambda m, inp: seen.append(m.training))
    hist = fit(model, [graph], epochs=5, task="clustering", callbacks=[view], progress=False)
    assert model.training
    # the view ran the model in eval mode at least once (the final frame)
    assert False in seen and len(hist) == 5


def test_throttling_by_steps(graph):
    model = NodeClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, every_steps=5, every_seconds=None, show=False, keep_frames=True)
    fit(model, [graph], epochs=20, task="clustering", callbacks=[view], progress=False, lr=0.05)
    assert view.num_updates == 20 // 5 + 1                   # + the final frame
    assert len(view.frames) == view.num_updates
    assert not np.allclose(view.frames[0], view.frames[-1])  # S changed while training
    assert set(view.losses) == {"loss", "cut", "ortho"} and len(view.losses["loss"]) == 20


def test_throttling_by_time(graph, monkeypatch):
    clock = iter(np.arange(0.0, 1000.0, 0.5))                # each call advances 0.5 s
    monkeypatch.setattr(L.time, "perf_counter", lambda: float(next(clock)))
    model = NodeClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, every_seconds=10.0, show=False)
    monkeypatch.setattr(L.LiveView, "_drawing", lambda self: True)
    monkeypatch.setattr(L.LiveView, "update", lambda self, model=None, final=False: setattr(
        self, "num_updates", self.num_updates + 1) or setattr(self, "_last", L.time.perf_counter()))
    fit(model, [graph], epochs=30, task="clustering", callbacks=[view], progress=False)
    # first step draws, then about every 10 s of (fake) time; far fewer than 30 steps
    assert 2 <= view.num_updates <= 10


def test_display_is_created_once_then_updated_in_place(graph, display_calls):
    calls = display_calls
    model = NodeClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, every_steps=4, every_seconds=None, show=True, title="sbm", mode="display")
    fit(model, [graph], epochs=12, task="clustering", callbacks=[view], progress=False)
    assert calls[0][0] == "display" and calls[0][3] is True
    assert all(c[0] == "update" for c in calls[1:]) and len(calls) == 12 // 4 + 1
    bundle = calls[-1][1]
    fig = bundle["application/vnd.plotly.v1+json"]
    assert "step 12" in fig["layout"]["title"]["text"]
    s_trace, m_trace = fig["data"][0], fig["data"][1]
    s = np.array(s_trace["z"])
    assert s.shape == (24, 3)
    assert np.allclose(np.array(m_trace["z"]), s @ s.T, atol=1e-3)
    assert {t["name"] for t in fig["data"][2:]} == {"loss", "cut", "ortho"}


def test_widget_mode_replaces_the_output_each_frame_and_ends_with_a_plain_output(graph, display_calls, monkeypatch):
    """JupyterLab's plotly renderer ignores display updates, so frames go into an Output
    widget (a fresh output each time); the final frame replaces the widget by a plain output."""
    import ipywidgets

    calls = display_calls
    frames = []
    model = NodeClusterer(graph.num_features, 3, "mincut", hidden=8)
    view = L.LiveView(graph, every_steps=4, every_seconds=None, show=True, mode="widget")
    fit(model, [graph], epochs=4, task="clustering", callbacks=[view], progress=False)
    # first frame: the display shows an Output widget holding one plotly figure
    assert isinstance(calls[0][1], ipywidgets.Output) and calls[0][3] is True
    # end: the display now holds the final figure (JSON + HTML), the widget is emptied and closed
    assert [c[0] for c in calls] == ["display", "update"]
    final = calls[1][1]
    assert set(final) >= {"application/vnd.plotly.v1+json", "text/html"} and calls[1][2] is True
    assert "step 4" in final["application/vnd.plotly.v1+json"]["layout"]["title"]["text"]
    assert calls[0][1].outputs == () and calls[0][1].comm is None and view._out is None

    # while training: each frame replaces the widget's content with exactly one output
    calls.clear()
    view2 = L.LiveView(graph, every_steps=3, every_seconds=None, show=True, mode="widget")

    def record(change):
        if change["new"]:
            frames.append(change["new"])

    orig = L.LiveView._show_in_widget

    def spy(self, bundle):
        orig(self, bundle)
        if len(frames) == 0:
            self._out.observe(record, names="outputs")
            frames.append(self._out.outputs)

    monkeypatch.setattr(L.LiveView, "_show_in_widget", spy)
    fit(NodeClusterer(graph.num_features, 3, "mincut", hidden=8), [graph], epochs=9, task="clustering",
        callbacks=[view2], progress=False)
    assert len(frames) == 3                                  # steps 3, 6, 9 (the last one final)
    titles = []
    for outs in frames:
        assert len(outs) == 1 and outs[0]["output_type"] == "display_data"
        assert set(outs[0]["data"]) == {"application/vnd.plotly.v1+json"}   # no HTML copy while live
        titles.append(outs[0]["data"]["application/vnd.plotly.v1+json"]["layout"]["title"]["text"])
    assert ["step 3" in titles[0], "step 6" in titles[1], "step 9" in titles[2]] == [True] * 3


def test_auto_mode_uses_display_updates_in_colab(monkeypatch):
    import sys
    import types

    assert L.LiveView()._use_widget() is True                # JupyterLab / VS Code / nbclient
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert L.LiveView()._use_widget() is False
    assert L.LiveView(mode="widget")._use_widget() is True


def test_rows_sorted_by_true_blocks_and_plain_callable_model():
    g = sbm((5, 5), 0.9, 0.05, seed=1)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    g.y = g.y[perm]
    s_true = torch.nn.functional.one_hot(g.y, 2).float()
    view = L.LiveView(g, model=lambda data: (s_true, {}), show=False)
    view.s = view.snapshot()
    z = np.array(view.figure_dict()["data"][0]["z"])
    # after sorting rows by y and columns by position, S is block diagonal
    assert np.allclose(z, np.repeat(np.eye(2), 5, axis=0))
    assert np.array(view.figure().data[1].z).shape == (10, 10)


def test_errors():
    with pytest.raises(ValueError, match="every_steps"):
        L.LiveView(every_steps=0)
    with pytest.raises(ValueError, match="every_seconds"):
        L.LiveView(every_seconds=-1)
    with pytest.raises(ValueError, match="mode"):
        L.LiveView(mode="inline")
    with pytest.raises(ValueError, match="data"):
        L.LiveView(model=lambda d: d).snapshot()
    g = sbm((3, 3), 0.9, 0.1)
    with pytest.raises(ValueError, match="assignment"):
        L.LiveView(g, model=lambda d: 3.0).snapshot()


def test_final_frame_is_stored_when_executed_headless(tmp_path):
    """Execute a tiny training notebook with nbclient (no browser): the stored output is
    one plotly figure showing the final step."""
    import nbclient
    import nbformat

    src = (
        "from poolkit.data import sbm\n"
        "from poolkit.nn import NodeClusterer\n"
        "from poolkit.train import fit, set_seed\n"
        "from poolkit.live import LiveView\n"
        "set_seed(0)\n"
        "g = sbm((6, 6, 6), 0.6, 0.02, feature='noisy_block', dim=8)\n"
        "model = NodeClusterer(g.num_features, 3, 'mincut', hidden=8)\n"
        "view = LiveView(g, every_steps=5, every_seconds=None)\n"
        "h = fit(model, [g], epochs=20, task='clustering', callbacks=[view], progress=False)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(outs) == 1                                    # updated in place, not appended
    fig = outs[0].data["application/vnd.plotly.v1+json"]
    assert "step 20" in fig["layout"]["title"]["text"]
    assert np.array(fig["data"][0]["z"]).shape == (18, 3)
    assert "text/html" in outs[0].data                       # the static book can draw it too
    # the Output widget that held the live frames was emptied before it closed, so a stored
    # widget state (nbclient keeps one) carries no frames
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    outputs = [m["state"].get("outputs") for m in state.values() if m.get("model_name") == "OutputModel"]
    assert outputs and all(not o for o in outputs)
