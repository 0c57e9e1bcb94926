"""The Select-Reduce-Connect-Lift explorer of chapter 1.

``src_figure`` draws, for one graph and one assignment, the four SRC steps side by side:
the graph coloured by supernode, the assignment matrix ``S``, the pooled graph
(``X' = Sᵀ X`` on the nodes, ``A' = Sᵀ A S`` on the edges) and the lifted signal
``X̃ = S X'``. ``src_explorer`` wraps it in ipywidgets so a reader can type an assignment
and watch the pooled graph change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import networkx as nx
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from . import _render  # noqa: F401  (selects the plotly renderer)
from .src import SelectOutput, reduce, lift, sparse_connect

__all__ = ["ExampleGraph", "example_graphs", "parse_assignment", "src_figure", "src_explorer"]

PALETTE = [
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
    "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
]


@dataclass
class ExampleGraph:
    """A small graph with a layout, a node signal and a sensible default assignment."""

    name: str
    edge_index: torch.Tensor
    pos: np.ndarray
    signal: torch.Tensor
    assignment: List[int]

    @property
    def num_nodes(self) -> int:
        return self.pos.shape[0]


def _from_nx(name: str, g: nx.Graph, pos: Dict, assignment: Sequence[int]) -> ExampleGraph:
    g = nx.convert_node_labels_to_integers(g, ordering="sorted")
    und = list(g.edges())
    ei = torch.tensor(und + [(j, i) for i, j in und], dtype=torch.long).t().reshape(2, -1)
    p = np.array([pos[v] for v in sorted(pos)], dtype=float)
    p = (p - p.mean(0)) / (np.abs(p - p.mean(0)).max() + 1e-9)
    # A smooth signal: the horizontal coordinate, so pooling visibly averages it.
    signal = torch.tensor(p[:, 0], dtype=torch.float32).unsqueeze(-1)
    return ExampleGraph(name, ei, p, signal, list(assignment))


def example_graphs() -> Dict[str, ExampleGraph]:
    """Barbell, ring, grid, house and the karate club, each with a default assignment."""
    graphs = {}
    g = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    pos = {0: (-2, 0.8), 1: (-2, -0.8), 2: (-0.8, 0), 3: (0.8, 0), 4: (2, 0.8), 5: (2, -0.8)}
    graphs["barbell"] = _from_nx("barbell", g, pos, [0, 0, 0, 1, 1, 1])
    g = nx.cycle_graph(8)
    pos = {i: (np.cos(2 * np.pi * i / 8), np.sin(2 * np.pi * i / 8)) for i in range(8)}
    graphs["ring"] = _from_nx("ring", g, pos, [i // 2 for i in range(8)])
    g = nx.grid_2d_graph(4, 4)
    pos = {v: (v[1], -v[0]) for v in g}
    assign = [2 * (r // 2) + (c // 2) for r in range(4) for c in range(4)]
    graphs["grid"] = _from_nx("grid", g, pos, assign)
    g = nx.house_graph()
    pos = {0: (-1, -1), 1: (1, -1), 2: (-1, 0.5), 3: (1, 0.5), 4: (0, 1.5)}
    graphs["house"] = _from_nx("house", g, pos, [0, 0, 1, 1, 1])
    g = nx.karate_club_graph()
    pos = nx.spring_layout(g, seed=3)
    club = [0 if g.nodes[v]["club"] == "Mr. Hi" else 1 for v in sorted(g)]
    graphs["karate"] = _from_nx("karate", g, pos, club)
    return graphs


def parse_assignment(text: str, num_nodes: int) -> List[int]:
    """``"0,0,1,1"`` → ``[0, 0, 1, 1]``; ``-1`` drops a node. Raises ``ValueError`` with a
    message meant for the reader."""
    parts = [p for p in text.replace(" ", ",").split(",") if p != ""]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError("the assignment must be integers separated by commas, e.g. 0,0,1,1") from None
    if len(values) != num_nodes:
        raise ValueError(f"the assignment has {len(values)} entries but the graph has {num_nodes} nodes")
    if any(v < -1 for v in values):
        raise ValueError("cluster ids must be >= 0 (or -1 to drop a node)")
    used = sorted({v for v in values if v >= 0})
    if not used:
        raise ValueError("at least one node must belong to a supernode")
    relabel = {v: i for i, v in enumerate(used)}  # consecutive ids: empty clusters vanish
    return [relabel[v] if v >= 0 else -1 for v in values]


def _edge_trace(pos: np.ndarray, edge_index: torch.Tensor, weights=None, color="#888", max_width=8.0):
    traces = []
    ei = edge_index.t().tolist()
    w = None if weights is None else [float(v) for v in weights]
    seen = set()
    for e, (i, j) in enumerate(ei):
        if (j, i) in seen or i == j:
            continue
        seen.add((i, j))
        width = 2.0 if w is None else 1.0 + (max_width - 1.0) * w[e] / max(max(w), 1e-9)
        traces.append(
            go.Scatter(
                x=[pos[i, 0], pos[j, 0]], y=[pos[i, 1], pos[j, 1]], mode="lines",
                line=dict(color=color, width=width), hoverinfo="text" if w else "skip",
                text=None if w is None else f"A'[{i},{j}] = {w[e]:.3g}", showlegend=False,
            )
        )
    return traces


def src_figure(graph: ExampleGraph, assignment: Optional[Sequence[int]] = None, op: str = "mean") -> go.Figure:
    """The four SRC panels for ``graph`` pooled with the hard ``assignment``.

    Reduce uses ``op`` (``"mean"`` keeps the lifted signal on the scale of the original;
    ``"sum"`` is the plain ``Sᵀ X``). Pooled edge widths are proportional to ``A'``
    (self-loops removed, as one-over-K poolers do).
    """
    assignment = list(graph.assignment if assignment is None else assignment)
    so = SelectOutput.from_cluster_index(torch.tensor(assignment))
    s = so.assignment(0)
    x_pool = reduce(graph.signal, so, op=op)
    ei_pool, w_pool = sparse_connect(graph.edge_index, so)
    x_lift = lift(x_pool, so)
    k = so.num_clusters
    # supernode position: mean of its members' positions
    members = s / s.sum(0, keepdim=True).clamp(min=1e-12)
    pos_pool = members.t().numpy() @ graph.pos
    colors = [PALETTE[c % len(PALETTE)] if c >= 0 else "#ffffff" for c in assignment]
    sig = graph.signal.view(-1).numpy()
    lo, hi = float(min(sig.min(), x_lift.min())), float(max(sig.max(), x_lift.max()))

    fig = make_subplots(
        rows=1, cols=4, column_widths=[0.28, 0.16, 0.28, 0.28], horizontal_spacing=0.04,
        subplot_titles=("Select", "S", "Reduce, Connect", "Lift: S X'"),
    )
    for t in _edge_trace(graph.pos, graph.edge_index):
        fig.add_trace(t, 1, 1)
    fig.add_trace(go.Scatter(
        x=graph.pos[:, 0], y=graph.pos[:, 1], mode="markers+text", text=[str(i) for i in range(graph.num_nodes)],
        textfont=dict(color="white", size=10),
        marker=dict(size=20, color=colors, line=dict(color="black", width=1)),
        hovertext=[f"node {i} → supernode {c}" for i, c in enumerate(assignment)], hoverinfo="text",
        showlegend=False), 1, 1)
    fig.add_trace(go.Heatmap(
        z=s.numpy(), colorscale="Blues", zmin=0, zmax=1, showscale=False,
        x=[f"{c}" for c in range(k)], y=[str(i) for i in range(graph.num_nodes)],
        hovertemplate="S[%{y},%{x}] = %{z}<extra></extra>"), 1, 2)
    for t in _edge_trace(pos_pool, ei_pool, w_pool):
        fig.add_trace(t, 1, 3)
    fig.add_trace(go.Scatter(
        x=pos_pool[:, 0], y=pos_pool[:, 1], mode="markers+text", text=[str(c) for c in range(k)],
        textfont=dict(color="white"),
        marker=dict(size=14 + 6 * s.sum(0).numpy(), color=[PALETTE[c % len(PALETTE)] for c in range(k)],
                    line=dict(color="black", width=1)),
        hovertext=[f"supernode {c}: x' = {float(x_pool[c, 0]):.3f}, size {int(s[:, c].sum())}" for c in range(k)],
        hoverinfo="text", showlegend=False), 1, 3)
    for t in _edge_trace(graph.pos, graph.edge_index, color="#ccc"):
        fig.add_trace(t, 1, 4)
    fig.add_trace(go.Scatter(
        x=graph.pos[:, 0], y=graph.pos[:, 1], mode="markers",
        marker=dict(size=18, color=x_lift.view(-1).numpy(), colorscale="RdBu", cmin=lo, cmax=hi,
                    line=dict(color="black", width=1), showscale=True,
                    colorbar=dict(title="signal", len=0.8, thickness=12)),
        hovertext=[f"node {i}: x = {sig[i]:.3f}, x̃ = {float(x_lift[i, 0]):.3f}" for i in range(graph.num_nodes)],
        hoverinfo="text", showlegend=False), 1, 4)
    for col in (1, 3, 4):
        fig.update_xaxes(visible=False, row=1, col=col)
        fig.update_yaxes(visible=False, scaleanchor=f"x{col}" if col > 1 else "x", row=1, col=col)
    fig.update_yaxes(autorange="reversed", title_text="node", row=1, col=2)
    fig.update_xaxes(title_text="supernode", row=1, col=2)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=70, b=10), plot_bgcolor="white",
                      title=dict(text=f"{graph.name}: N = {graph.num_nodes} nodes → K = {k} supernodes",
                                 x=0.02, y=0.98, font=dict(size=13)))
    return fig


def src_explorer(graphs: Optional[Dict[str, ExampleGraph]] = None):
    """An ipywidgets explorer: pick a graph, type an assignment, see S, the pooled graph
    and the lifted signal. Needs a running kernel (Jupyter, Colab, VS Code)."""
    import ipywidgets as widgets
    from IPython.display import display

    graphs = graphs or example_graphs()
    names = list(graphs)
    choose = widgets.Dropdown(options=names, value=names[0], description="graph")
    text = widgets.Text(description="assignment", layout=widgets.Layout(width="60%"),
                        value=",".join(map(str, graphs[names[0]].assignment)))
    op = widgets.ToggleButtons(options=["mean", "sum", "max"], value="mean", description="reduce")
    message = widgets.HTML()
    out = widgets.Output()

    def redraw(*_):
        g = graphs[choose.value]
        try:
            assignment = parse_assignment(text.value, g.num_nodes)
        except ValueError as err:
            message.value = f"<span style='color:#b00'>{err}</span>"
            return
        message.value = f"{g.num_nodes} nodes → {max(assignment) + 1} supernodes"
        out.clear_output(wait=True)
        with out:
            display(src_figure(g, assignment, op=op.value))

    def new_graph(change):
        text.value = ",".join(map(str, graphs[change["new"]].assignment))
        redraw()

    choose.observe(new_graph, names="value")
    text.observe(redraw, names="value")
    op.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choose, op]), text, message, out])
