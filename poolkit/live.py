r"""Watch a pooler learn: live heatmaps of ``S`` and ``M = S Sᵀ`` and the loss curves.

:class:`LiveView` is a :func:`poolkit.train.fit` callback. For one watched graph it shows

* the assignment matrix ``S`` (nodes × supernodes),
* the grouping matrix ``M = S Sᵀ`` (nodes × nodes; ``M_ij`` is large when ``i`` and ``j``
  share supernodes),
* the task loss and each auxiliary loss per training step,

and redraws them while the model trains::

    view = LiveView(data_to_watch)
    fit(model, loader, callbacks=[view], task="clustering")

How it works. At throttled moments (every ``every_steps`` steps and/or every
``every_seconds`` seconds) it runs the model on the watched graph in eval mode under
``torch.no_grad()``, reads ``S`` from the first :class:`~poolkit.src.Pooler` inside the
model through a forward hook (or from the model's output when the model itself returns
``S``), copies only that ``[n, k]`` matrix to the CPU and redraws the figure in place.
Training state is restored afterwards (``model.train()``), and the training batches are
never copied off the device.

Two ways to redraw in place, chosen by ``mode``:

* ``"widget"`` (default in JupyterLab, Notebook 7 and VS Code): each frame replaces the
  content of an ``ipywidgets.Output``. The plotly renderer of JupyterLab
  (``jupyterlab-plotly``) draws a figure once and ignores later ``update_display_data``
  messages for it (its ``renderModel`` returns early once a plot exists; plotly.py issue
  3053), so updating one display would leave the first frame on screen. A fresh output
  inside the widget gets a fresh renderer, which draws the new frame.
* ``"display"`` (default in Colab, or when ipywidgets is missing): one display, replaced
  with ``IPython.display.display(..., display_id=True)`` then ``handle.update``. Colab's
  plotly renderer emits HTML, which Colab redraws on each update.

At the end of training the display holds the final frame as an ordinary output, so a
notebook executed headless (nbval, the book build) stores the trained matrices. Outside a
notebook nothing is drawn during training; :meth:`LiveView.figure` returns the last frame.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from . import _render  # noqa: F401  (selects the plotly renderer)

__all__ = ["LiveView", "find_pooler", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code, nbclient)."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip is not None and getattr(ip, "kernel", None) is not None
    except Exception:  # pragma: no cover - IPython missing
        return False


def find_pooler(model):
    """The first :class:`~poolkit.src.Pooler` among ``model.modules()`` (``None`` if none)."""
    from .src import Pooler

    if isinstance(model, Pooler):
        return model
    if isinstance(model, torch.nn.Module):
        for m in model.modules():
            if isinstance(m, Pooler):
                return m
    return None


def _to_batch(data):
    """A single ``Data`` as a one-graph ``Batch`` (so ``data.batch``/``num_graphs`` exist)."""
    from torch_geometric.data import Batch, Data

    if isinstance(data, Batch):
        return data
    if isinstance(data, Data):
        return Batch.from_data_list([data])
    return data


def _assignment_from(obj) -> Optional[torch.Tensor]:
    """``S`` of graph 0 from a PoolingOutput / SelectOutput / tensor / model output tuple."""
    from .src import PoolingOutput, SelectOutput

    if isinstance(obj, tuple) and obj:
        for item in obj:
            s = _assignment_from(item)
            if s is not None:
                return s
        return None
    if isinstance(obj, PoolingOutput):
        obj = obj.so
    if isinstance(obj, SelectOutput):
        return obj.assignment(0)
    if isinstance(obj, torch.Tensor) and obj.dim() in (2, 3) and obj.is_floating_point():
        return obj[0] if obj.dim() == 3 else obj
    return None


def _sequential_blues() -> list:
    # plotly.js's own "Blues" runs from dark to light, the reverse of plotly.py's (used by
    # poolkit.viz); spell the scale out so live and static heatmaps agree: light = 0.
    from plotly.colors import make_colorscale, sequential

    return [list(c) for c in make_colorscale(sequential.Blues)]


_BLUES = _sequential_blues()


def _downsample(values: List[float], max_points: int) -> (List[float], List[float]):
    """Mean over equal bins so a curve never has more than ``max_points`` points."""
    n = len(values)
    if n <= max_points:
        return list(range(1, n + 1)), values
    edges = np.linspace(0, n, max_points + 1).astype(int)
    arr = np.asarray(values, dtype=float)
    xs = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:]) if b > a]
    ys = [float(np.nanmean(arr[a:b])) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return xs, ys


class LiveView:
    """Live ``S`` / ``M`` / loss view for one graph (a :func:`poolkit.train.fit` callback).

    Args:
        data: the graph to watch (a PyG ``Data``; a one-graph ``Batch`` also works).
        every_steps: redraw every this many optimisation steps (``None``: no step rule).
        every_seconds: redraw when this many seconds passed since the last redraw
            (``None``: no time rule). Default 2 s, which keeps the cost within a few percent
            of training time (see ``benchmarks/bench_live.py``).
        title: figure title.
        pooler: the pooler to read ``S`` from; default: the first Pooler in the model.
        model: a model (or any callable ``model(data)``) to watch without ``fit``; use
            :meth:`update` to redraw.
        order: row order of ``S`` (and rows/columns of ``M``); ``"auto"`` sorts nodes by
            ``data.y`` when it is a node-level label (e.g. true communities), ``None`` keeps
            the node order.
        sort_clusters: order the columns of ``S`` by where their nodes sit, so a good
            clustering looks block diagonal.
        show: ``"auto"`` draws only inside a notebook kernel; ``True``/``False`` force it.
        mode: how frames replace each other: ``"widget"`` (an ``ipywidgets.Output`` whose
            content is replaced), ``"display"`` (``display_id`` updates) or ``"auto"``
            (``"display"`` in Colab or without ipywidgets, ``"widget"`` otherwise). Either way
            the final frame ends up as an ordinary output.
        keep_frames: keep every snapshot of ``S`` (NumPy) in ``self.frames`` (snapshots are
            then taken on schedule even outside a notebook, e.g. to draw them as static frames).
        max_points: most points per loss curve (longer runs are averaged into bins).
        height: figure height in pixels.
    """

    def __init__(self, data=None, every_steps: Optional[int] = None, every_seconds: Optional[float] = 2.0,
                 title: str = "", pooler=None, model: Optional[Callable] = None, order="auto",
                 sort_clusters: bool = True, show="auto", keep_frames: bool = False, max_points: int = 400,
                 height: int = 360, mode: str = "auto"):
        if every_steps is not None and (isinstance(every_steps, bool) or not isinstance(every_steps, int) or every_steps < 1):
            raise ValueError(f"every_steps must be a positive integer or None, got {every_steps!r}")
        if every_seconds is not None and not (isinstance(every_seconds, (int, float)) and every_seconds >= 0):
            raise ValueError(f"every_seconds must be a non-negative number or None, got {every_seconds!r}")
        if mode not in ("auto", "widget", "display"):
            raise ValueError(f"mode must be 'auto', 'widget' or 'display', got {mode!r}")
        self.data = data
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self.title = title
        self.pooler = pooler
        self.model = model
        self.order = order
        self.sort_clusters = sort_clusters
        self.show = show
        self.keep_frames = keep_frames
        self.max_points = max_points
        self.height = height
        self.mode = mode
        self.frames: List[np.ndarray] = []
        self.losses: Dict[str, List[float]] = {}
        self.num_updates = 0
        self.update_seconds = 0.0
        self.s: Optional[np.ndarray] = None
        self.step = 0
        self.epoch = 0
        self._handle = None
        self._out = None
        self._hook = None
        self._captured = None
        self._capturing = False
        self._last = -float("inf")
        self._watched = None
        self._row_order = None

    # ---------------------------------------------------------------- callback hooks
    def on_train_begin(self, state) -> None:
        self.model = state.model
        self.losses = {}
        self._last = -float("inf")
        self._attach(state.model)
        self._handle = None
        self._out = None

    def on_step(self, state) -> None:
        self.step = state.step
        self.epoch = state.epoch
        for k, v in state.losses.items():
            self.losses.setdefault(k, []).append(v)
        due = False
        if self.every_steps is not None and state.step % self.every_steps == 0:
            due = True
        if self.every_seconds is not None and time.perf_counter() - self._last >= self.every_seconds:
            due = True
        if due and (self.keep_frames or self._drawing()):
            self.update(state.model)

    def on_epoch_end(self, state) -> None:
        self.epoch = state.epoch

    def on_train_end(self, state) -> None:
        # Final frame: always computed; shown in place of the live display (or as a new
        # output when nothing was displayed yet) so headless runs store it.
        self.update(state.model, final=True)
        self._detach()

    # ---------------------------------------------------------------- internals
    def _drawing(self) -> bool:
        return in_notebook() if self.show == "auto" else bool(self.show)

    def _attach(self, model) -> None:
        self._detach()
        pooler = self.pooler if self.pooler is not None else find_pooler(model)
        self._pooler = pooler
        if pooler is not None:
            def hook(module, inputs, output):
                if self._capturing:
                    self._captured = output
            self._hook = pooler.register_forward_hook(hook)

    def _detach(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _device(self, model):
        if isinstance(model, torch.nn.Module):
            for p in model.parameters():
                return p.device
            for b in model.buffers():
                return b.device
        return torch.device("cpu")

    def snapshot(self, model=None) -> np.ndarray:
        """Run ``model`` on the watched graph (eval mode, no grad) and return its ``S``
        (``[n, k]`` NumPy array on the CPU)."""
        model = model if model is not None else self.model
        if model is None:
            raise ValueError("model: give a model (or use LiveView as a fit callback)")
        if self.data is None:
            raise ValueError("data: LiveView needs the graph to watch")
        hooked_here = False
        if self._hook is None:
            self._attach(model)
            hooked_here = True
        dev = self._device(model)
        if self._watched is None or self._watched[0] != dev:
            self._watched = (dev, _to_batch(self.data).to(dev))
        was_training = getattr(model, "training", False)
        if hasattr(model, "eval"):
            model.eval()
        self._captured = None
        self._capturing = True
        try:
            with torch.no_grad():
                out = model(self._watched[1])
        finally:
            self._capturing = False
            if was_training:
                model.train()
            if hooked_here:
                self._detach()
        s = _assignment_from(self._captured) if self._captured is not None else None
        if s is None:
            s = _assignment_from(out)
        if s is None:
            raise ValueError("model: found no pooler in the model and its output holds no assignment matrix")
        return s.detach().float().cpu().numpy()

    def _orders(self, s: np.ndarray):
        n, k = s.shape
        rows = None
        if isinstance(self.order, str) and self.order == "auto":
            y = getattr(self.data, "y", None)
            if isinstance(y, torch.Tensor) and y.numel() == n and n > 1 and not y.is_floating_point():
                rows = np.argsort(y.view(-1).cpu().numpy(), kind="stable")
        elif self.order is not None:
            rows = np.asarray(self.order)
        cols = None
        if self.sort_clusters and k > 1:
            ss = s if rows is None else s[rows]
            mass = ss.sum(0)
            centre = (ss * np.arange(n)[:, None]).sum(0) / np.maximum(mass, 1e-12)
            centre[mass <= 1e-12] = n + 1
            cols = np.argsort(centre, kind="stable")
        return rows, cols

    def figure_dict(self, s: Optional[np.ndarray] = None) -> dict:
        """The current frame as a plotly figure dict (S, M = S Sᵀ, loss curves)."""
        s = self.s if s is None else s
        data = []
        if s is not None:
            rows, cols = self._orders(s)
            a = s if rows is None else s[rows]
            a = a if cols is None else a[:, cols]
            m = a @ a.T
            data.append({"type": "heatmap", "z": np.round(a, 4).tolist(), "xaxis": "x", "yaxis": "y",
                         "colorscale": "Viridis", "zmin": 0, "zmax": float(max(1.0, a.max() if a.size else 1.0)),
                         "showscale": False, "hovertemplate": "node %{y}, supernode %{x}: %{z:.3f}<extra></extra>"})
            data.append({"type": "heatmap", "z": np.round(m, 4).tolist(), "xaxis": "x2", "yaxis": "y2",
                         "colorscale": _BLUES, "zmin": 0, "showscale": False,
                         "hovertemplate": "nodes %{y}, %{x}: %{z:.3f}<extra></extra>"})
        for name, vals in self.losses.items():
            xs, ys = _downsample(vals, self.max_points)
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": ys, "name": name,
                         "xaxis": "x3", "yaxis": "y3"})
        sub = f"step {self.step}, epoch {self.epoch}"
        shape = "" if s is None else f" — {s.shape[0]} nodes × {s.shape[1]} supernodes"
        title = (self.title + " — " if self.title else "") + sub + shape
        ax = {"showgrid": False, "zeroline": False}
        layout = {
            "title": {"text": title, "x": 0.01, "font": {"size": 14}},
            "height": self.height,
            "margin": {"l": 40, "r": 10, "t": 70, "b": 40},
            "xaxis": {"domain": [0.0, 0.24], "title": {"text": "supernode"}, **ax},
            "yaxis": {"domain": [0.0, 1.0], "autorange": "reversed", "title": {"text": "node"}, **ax},
            "xaxis2": {"domain": [0.31, 0.62], "anchor": "y2", **ax},
            "yaxis2": {"domain": [0.0, 1.0], "anchor": "x2", "autorange": "reversed", **ax},
            "xaxis3": {"domain": [0.70, 1.0], "anchor": "y3", "title": {"text": "step"}},
            "yaxis3": {"domain": [0.0, 1.0], "anchor": "x3"},
            "legend": {"x": 0.70, "y": 1.12, "orientation": "h", "font": {"size": 10}},
            "annotations": [
                {"text": "S", "x": 0.12, "y": 1.02, "yanchor": "bottom", "xref": "paper", "yref": "paper",
                 "showarrow": False},
                {"text": "M = S Sᵀ", "x": 0.465, "y": 1.02, "yanchor": "bottom", "xref": "paper", "yref": "paper",
                 "showarrow": False},
            ],
        }
        return {"data": data, "layout": layout}

    def figure(self):
        """The current frame as a plotly ``Figure``."""
        import plotly.graph_objects as go

        return go.Figure(self.figure_dict())

    def _use_widget(self) -> bool:
        if self.mode != "auto":
            return self.mode == "widget"
        import sys

        if "google.colab" in sys.modules:
            return False
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True

    def _show(self, bundle: dict) -> None:
        """Create the display, or replace what it shows (the widget, or the last frame)."""
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _show_in_widget(self, bundle: dict) -> None:
        """Replace the content of the Output widget with this frame."""
        if self._out is None:
            import ipywidgets
            from IPython.display import display

            self._out = ipywidgets.Output()
            if self._handle is None:
                self._handle = display(self._out, display_id=True)
            else:
                self._handle.update(self._out)
        # Front-ends that render the plotly JSON need nothing else while training; the HTML
        # fallback (for the static book) comes with the final frame only.
        live = {k: v for k, v in bundle.items() if k != "text/html"} if "application/vnd.plotly.v1+json" in bundle else bundle
        self._out.outputs = ({"output_type": "display_data", "data": live, "metadata": {}},)

    def _close_widget(self) -> None:
        if self._out is not None:
            self._out.outputs = ()  # so a stored widget state stays small
            self._out.close()
            self._out = None

    def _bundle(self, fig_dict: dict) -> dict:
        import plotly.io as pio

        return pio.renderers._build_mime_bundle(fig_dict)

    def update(self, model=None, final: bool = False) -> None:
        """Take a snapshot and redraw (creating the display the first time).

        ``final=True`` draws the frame as an ordinary output in place of the live widget,
        as :func:`~poolkit.train.fit` does at the end of training; call it yourself after
        driving the view by hand, so that a saved notebook keeps the last frame.
        """
        t0 = time.perf_counter()
        self.s = self.snapshot(model)
        if self.keep_frames:
            self.frames.append(self.s.copy())
        self.num_updates += 1
        if self._drawing():
            bundle = self._bundle(self.figure_dict())
            if self._use_widget() and not final:
                self._show_in_widget(bundle)
            else:
                self._show(bundle)
                self._close_widget()
        self.update_seconds += time.perf_counter() - t0
        self._last = time.perf_counter()

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Show the last frame when the view itself is the value of a cell."""
        return self._bundle(self.figure_dict())
