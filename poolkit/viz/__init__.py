r"""Static figures: assignment matrices, grouping matrices, graphs and molecules coloured by
cluster, pooled graphs beside the original, loss curves.

Every function returns a plotly ``Figure`` (or, for molecules, an SVG that notebooks and
the book display), so a chapter can ``fig.show()`` it or compose it. Anything that holds an
assignment is accepted where ``S`` is expected: a ``[N, K]`` tensor or array, a
:class:`~poolkit.src.SelectOutput` or a :class:`~poolkit.src.PoolingOutput` (graph
``graph`` of the batch is shown).

The grouping matrix is :math:`M = S S^\top`: ``M_ij`` is large when nodes ``i`` and ``j``
fall in the same supernodes.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from .. import _render  # noqa: F401  (selects the plotly renderer)

__all__ = [
    "cluster_color",
    "matrices_figure",
    "side_by_side",
    "PALETTE",
    "as_assignment",
    "grouping_matrix",
    "s_heatmap",
    "m_heatmap",
    "sm_figure",
    "graph_figure",
    "pooled_graph_figure",
    "molecule_svg",
    "molecules_grid_svg",
    "loss_figure",
    "graph_layout",
]

PALETTE = [
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
    "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
    "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD",
    "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF",
]


def cluster_color(k: int) -> str:
    """The colour of cluster ``k`` in every figure of the book (the palette repeats)."""
    return PALETTE[int(k) % len(PALETTE)]


_color = cluster_color  # the old private name, kept for code that imported it


def as_assignment(s, graph: int = 0) -> np.ndarray:
    """``[n, k]`` NumPy array of graph ``graph``'s assignment from a tensor, array,
    ``SelectOutput`` or ``PoolingOutput``."""
    from ..src import PoolingOutput, SelectOutput

    if isinstance(s, PoolingOutput):
        s = s.so
    if isinstance(s, SelectOutput):
        s = s.assignment(graph)
    if isinstance(s, torch.Tensor):
        s = s.detach()
        if s.dim() == 3:
            s = s[graph]
        s = s.float().cpu().numpy()
    s = np.asarray(s, dtype=float)
    if s.ndim == 1:  # hard labels → one-hot
        labels = s.astype(int)
        k = int(labels.max()) + 1 if labels.size else 0
        out = np.zeros((labels.size, k))
        ok = labels >= 0
        out[np.arange(labels.size)[ok], labels[ok]] = 1.0
        return out
    if s.ndim != 2:
        raise ValueError(f"s must be [N, K] (or [B, N, K] with graph=), got shape {s.shape}")
    return s


def grouping_matrix(s, graph: int = 0) -> np.ndarray:
    """``M = S Sᵀ`` (``[n, n]``)."""
    a = as_assignment(s, graph)
    return a @ a.T


def _heatmap(z: np.ndarray, colorscale: str, zmin=None, zmax=None, showscale=True, name=""):
    return go.Heatmap(z=z, colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=showscale, name=name,
                      hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>")


def s_heatmap(s, graph: int = 0, title: str = "Assignment matrix S", order: Optional[Sequence[int]] = None,
              height: int = 420, zmax: Optional[float] = None) -> go.Figure:
    """Heatmap of ``S`` (rows: nodes, columns: supernodes). ``order`` permutes the rows
    (e.g. sort nodes by their true community)."""
    a = as_assignment(s, graph)
    if order is not None:
        a = a[np.asarray(order)]
    fig = go.Figure(_heatmap(a, "Viridis", zmin=0, zmax=zmax))
    fig.update_layout(title=title, height=height, xaxis_title="supernode k", yaxis_title="node i",
                      yaxis_autorange="reversed", margin=dict(l=50, r=20, t=50, b=40))
    return fig


def m_heatmap(s, graph: int = 0, title: str = "Grouping matrix M = S Sᵀ", order: Optional[Sequence[int]] = None,
              height: int = 420) -> go.Figure:
    """Heatmap of ``M = S Sᵀ`` (nodes × nodes)."""
    m = grouping_matrix(s, graph)
    if order is not None:
        o = np.asarray(order)
        m = m[np.ix_(o, o)]
    fig = go.Figure(_heatmap(m, "Blues", zmin=0))
    fig.update_layout(title=title, height=height, xaxis_title="node j", yaxis_title="node i",
                      yaxis_autorange="reversed", margin=dict(l=50, r=20, t=50, b=40))
    return fig


def sm_figure(s, graph: int = 0, order: Optional[Sequence[int]] = None, title: str = "",
              height: int = 380) -> go.Figure:
    """``S`` and ``M = S Sᵀ`` side by side."""
    a = as_assignment(s, graph)
    m = a @ a.T
    if order is not None:
        o = np.asarray(order)
        a, m = a[o], m[np.ix_(o, o)]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.12,
                        subplot_titles=("S (nodes × supernodes)", "M = S Sᵀ (nodes × nodes)"))
    fig.add_trace(go.Heatmap(z=a, colorscale="Viridis", zmin=0, zmax=max(1.0, float(a.max()) if a.size else 1.0),
                             colorbar=dict(x=0.36, len=0.9), hovertemplate="node %{y}, supernode %{x}: %{z:.3f}<extra></extra>"),
                  1, 1)
    fig.add_trace(go.Heatmap(z=m, colorscale="Blues", zmin=0, colorbar=dict(x=1.0, len=0.9),
                             hovertemplate="nodes %{y}, %{x}: %{z:.3f}<extra></extra>"), 1, 2)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title or None, height=height, margin=dict(l=40, r=20, t=60 if title else 40, b=30))
    return fig


def matrices_figure(mats: dict, title: str = "", height: int = 330, text: bool = True,
                    colorscale: str = "RdBu", symmetric: bool = True, xlabel: str = "", ylabel: str = "") -> go.Figure:
    """Small matrices side by side, one heatmap per entry of ``mats`` (name → matrix), with
    the values printed in the cells (``text``). ``symmetric`` centres the colour scale on 0
    with the same range for every panel, so equal colours mean equal values."""
    names = list(mats)
    if not names:
        raise ValueError("mats must hold at least one matrix")
    arrs = [np.asarray(torch.as_tensor(mats[n]).detach().cpu(), dtype=float) for n in names]
    if any(a.ndim != 2 for a in arrs):
        raise ValueError("every entry of mats must be a 2-D matrix")
    vmax = max([float(np.abs(a).max()) for a in arrs if a.size] + [1e-12])
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for c, a in enumerate(arrs, start=1):
        kw = dict(zmid=0, zmin=-vmax, zmax=vmax) if symmetric else {}
        fig.add_trace(go.Heatmap(z=a, colorscale=colorscale, showscale=c == len(names),
                                 texttemplate="%{z:.2f}" if text else None,
                                 hovertemplate="[%{y}, %{x}] = %{z:.3f}<extra></extra>", **kw), 1, c)
        fig.update_yaxes(autorange="reversed", title_text=ylabel if c == 1 else None, row=1, col=c)
        fig.update_xaxes(title_text=xlabel or None, row=1, col=c)
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig


def side_by_side(figs: dict, title: str = "", height: int = 380) -> go.Figure:
    """Put single-panel figures (e.g. from :func:`graph_figure`) in one row, one column
    per entry of ``figs`` (subplot title → figure); axes are hidden as in graph figures."""
    names = list(figs)
    if not names:
        raise ValueError("figs must hold at least one figure")
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.03)
    for c, n in enumerate(names, start=1):
        for tr in figs[n].data:
            fig.add_trace(tr, 1, c)
    _hide_axes(fig)
    fig.update_layout(title=title or None, height=height, showlegend=False, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig


# --------------------------------------------------------------------------- graphs
def _edge_index_of(graph) -> tuple:
    """``(edge_index [2, E] numpy, num_nodes, pos or None)`` from Data / tensor / networkx."""
    import networkx as nx

    if isinstance(graph, nx.Graph):
        g = nx.convert_node_labels_to_integers(graph, ordering="sorted")
        ei = np.array(list(g.edges()), dtype=int).reshape(-1, 2).T
        return ei, g.number_of_nodes(), None
    if isinstance(graph, torch.Tensor):
        ei = graph.detach().cpu().numpy()
        return ei, int(ei.max()) + 1 if ei.size else 0, None
    ei = graph.edge_index.detach().cpu().numpy()
    pos = getattr(graph, "pos", None)
    pos = None if pos is None else pos.detach().cpu().numpy()[:, :2]
    return ei, int(graph.num_nodes), pos


def graph_layout(edge_index: np.ndarray, num_nodes: int, seed: int = 0, kind: str = "spring") -> np.ndarray:
    """Node positions ``[n, 2]`` from a networkx layout (deterministic for a seed)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(num_nodes))
    g.add_edges_from((int(u), int(v)) for u, v in edge_index.T if u != v)
    if kind == "spring":
        pos = nx.spring_layout(g, seed=seed)
    elif kind == "kamada_kawai":
        pos = nx.kamada_kawai_layout(g)
    elif kind == "spectral":
        pos = nx.spectral_layout(g)
    elif kind == "circular":
        pos = nx.circular_layout(g)
    else:
        raise ValueError(f"kind must be spring, kamada_kawai, spectral or circular, got {kind!r}")
    return np.array([pos[i] for i in range(num_nodes)], dtype=float).reshape(num_nodes, 2)


def _edge_trace(ei: np.ndarray, pos: np.ndarray, color="#999", width=1.0, name="edges"):
    xs, ys = [], []
    for u, v in ei.T:
        if u == v:
            continue
        xs += [pos[u, 0], pos[v, 0], None]
        ys += [pos[u, 1], pos[v, 1], None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width), hoverinfo="skip",
                      showlegend=False, name=name)


def _node_trace(pos, clusters=None, values=None, size=12, text=None, name="nodes", showscale=False):
    if values is not None:
        marker = dict(size=size, color=values, colorscale="Viridis", showscale=showscale, line=dict(width=1, color="#333"))
    elif clusters is not None:
        marker = dict(size=size, color=[cluster_color(c) if c >= 0 else "#cccccc" for c in clusters], line=dict(width=1, color="#333"))
    else:
        marker = dict(size=size, color=PALETTE[0], line=dict(width=1, color="#333"))
    if text is None:
        text = [f"node {i}" + (f", cluster {clusters[i]}" if clusters is not None else "") for i in range(len(pos))]
    return go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers", marker=marker, text=text, hoverinfo="text",
                      showlegend=False, name=name)


def _hide_axes(fig, rows_cols=None):
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False)


def graph_figure(graph, s=None, clusters=None, values=None, pos=None, seed: int = 0, layout: str = "spring",
                 title: str = "", node_size: int = 12, height: int = 420, graph_index: int = 0) -> go.Figure:
    """Draw ``graph`` (PyG ``Data``, ``edge_index`` or networkx graph) with nodes coloured by
    cluster: ``clusters`` (hard labels) or ``argmax`` of the assignment ``s``; or by a
    continuous ``values`` vector. Positions: ``pos``, else ``data.pos``, else a networkx
    layout with ``seed``."""
    ei, n, dpos = _edge_index_of(graph)
    if pos is None:
        pos = dpos if dpos is not None else graph_layout(ei, n, seed=seed, kind=layout)
    pos = np.asarray(pos, dtype=float)
    if clusters is None and s is not None:
        a = as_assignment(s, graph_index)
        clusters = a.argmax(1) if a.shape[1] else np.zeros(a.shape[0], dtype=int)
    if clusters is not None:
        clusters = np.asarray(torch.as_tensor(clusters).cpu()).astype(int).reshape(-1)
    if values is not None:
        values = np.asarray(torch.as_tensor(values).detach().cpu(), dtype=float).reshape(-1)
    fig = go.Figure([_edge_trace(ei, pos), _node_trace(pos, clusters, values, node_size)])
    fig.update_layout(title=title or None, height=height, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10))
    _hide_axes(fig)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def pooled_graph_figure(graph, out, pos=None, seed: int = 0, layout: str = "spring", title: str = "",
                        height: int = 420, graph_index: int = 0, node_size: int = 12) -> go.Figure:
    """The original graph coloured by cluster (left) beside the pooled graph (right).

    ``out`` is a :class:`~poolkit.src.PoolingOutput` (or a ``SelectOutput``/``S``, in which
    case the pooled adjacency is computed as ``Sᵀ A S``). Supernode ``k`` is drawn at the
    ``S``-weighted mean position of its nodes, with size growing with its total membership;
    edge widths follow the pooled edge weights.
    """
    from ..src import PoolingOutput

    ei, n, dpos = _edge_index_of(graph)
    if pos is None:
        pos = dpos if dpos is not None else graph_layout(ei, n, seed=seed, kind=layout)
    pos = np.asarray(pos, dtype=float)
    a = as_assignment(out, graph_index)
    k = a.shape[1]
    # pooled adjacency of this graph
    adj = np.zeros((n, n))
    if ei.size:
        np.add.at(adj, (ei[0], ei[1]), 1.0)
    ew = getattr(graph, "edge_weight", None)
    if ew is not None and ei.size:
        adj[:] = 0
        np.add.at(adj, (ei[0], ei[1]), ew.detach().cpu().numpy())
    a_pool = a.T @ adj @ a
    np.fill_diagonal(a_pool, 0.0)
    if isinstance(out, PoolingOutput) and out.adj is not None and out.adj.dim() == 3:
        a_pool = out.adj[graph_index].detach().cpu().float().numpy()[:k, :k].copy()
        np.fill_diagonal(a_pool, 0.0)
    mass = a.sum(0)
    ppos = (a.T @ pos) / np.maximum(mass[:, None], 1e-9)
    clusters = a.argmax(1) if k else np.zeros(n, dtype=int)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"original ({n} nodes)", f"pooled ({k} supernodes)"))
    fig.add_trace(_edge_trace(ei, pos), 1, 1)
    fig.add_trace(_node_trace(pos, clusters, size=node_size), 1, 2 - 1)
    wmax = float(np.abs(a_pool).max()) if a_pool.size else 0.0
    for i in range(k):
        for j in range(i + 1, k):
            w = max(abs(a_pool[i, j]), abs(a_pool[j, i]))
            if w > 1e-6 * max(wmax, 1e-12):
                fig.add_trace(go.Scatter(x=[ppos[i, 0], ppos[j, 0]], y=[ppos[i, 1], ppos[j, 1]], mode="lines",
                                         line=dict(color="#777", width=0.5 + 5.0 * w / wmax), hoverinfo="text",
                                         text=f"A'[{i},{j}] = {w:.3g}", showlegend=False), 1, 2)
    sizes = node_size + 18 * np.sqrt(mass / max(float(mass.max()), 1e-9)) if k else []
    fig.add_trace(go.Scatter(x=ppos[:, 0], y=ppos[:, 1], mode="markers+text", text=[str(i) for i in range(k)],
                             textposition="middle center", textfont=dict(color="white", size=10),
                             marker=dict(size=sizes, color=[cluster_color(i) for i in range(k)], line=dict(width=1, color="#333")),
                             hovertext=[f"supernode {i}, mass {mass[i]:.2f}" for i in range(k)], hoverinfo="text",
                             showlegend=False), 1, 2)
    fig.update_layout(title=title or None, height=height, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    _hide_axes(fig)
    fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", scaleratio=1, row=1, col=2)
    return fig


# --------------------------------------------------------------------------- molecules
def _hex_to_rgb(h: str) -> tuple:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def _mol_svg_text(mol, clusters, size, legend: str = "") -> str:
    from rdkit.Chem.Draw import rdMolDraw2D

    clusters = [int(c) for c in clusters]
    atoms = [i for i, c in enumerate(clusters) if c >= 0]
    colors = {i: _hex_to_rgb(cluster_color(clusters[i])) for i in atoms}
    bonds, bcolors = [], {}
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        if clusters[i] >= 0 and clusters[i] == clusters[j]:
            bonds.append(b.GetIdx())
            bcolors[b.GetIdx()] = colors[i]
    d = rdMolDraw2D.MolDraw2DSVG(size[0], size[1])
    d.drawOptions().addAtomIndices = False
    rdMolDraw2D.PrepareAndDrawMolecule(d, mol, legend=legend, highlightAtoms=atoms, highlightAtomColors=colors,
                                       highlightBonds=bonds, highlightBondColors=bcolors)
    d.FinishDrawing()
    return d.GetDrawingText()


class _SVG:
    """Minimal SVG holder that notebooks display (``_repr_svg_``) and that stays a string."""

    def __init__(self, data: str):
        self.data = data

    def _repr_svg_(self) -> str:
        return self.data

    def __str__(self) -> str:
        return self.data


def molecule_svg(mol, s=None, clusters=None, size=(400, 300), legend: str = "", graph_index: int = 0):
    """Draw a molecule (SMILES, RDKit ``Mol`` or a ``Data`` with ``smiles``) with each atom
    highlighted in the colour of its cluster (``clusters`` or ``argmax S``; −1 = none).
    Atom order is RDKit's, which is the node order of :func:`poolkit.data.smiles_to_data`."""
    from rdkit import Chem

    if hasattr(mol, "smiles") and not isinstance(mol, str):
        mol = mol.smiles
    if isinstance(mol, str):
        smi = mol
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise ValueError(f"mol: RDKit cannot parse SMILES {smi!r}")
    n = mol.GetNumAtoms()
    if clusters is None:
        clusters = as_assignment(s, graph_index).argmax(1) if s is not None else [-1] * n
    clusters = list(np.asarray(torch.as_tensor(clusters).cpu()).astype(int).reshape(-1))
    if len(clusters) != n:
        raise ValueError(f"clusters has {len(clusters)} entries but the molecule has {n} atoms")
    return _SVG(_mol_svg_text(mol, clusters, size, legend))


def molecules_grid_svg(mols: Sequence, clusters: Sequence, legends: Optional[Sequence[str]] = None,
                       per_row: int = 4, size=(250, 200)):
    """Several molecules coloured by cluster, in one SVG grid."""
    cells = [str(molecule_svg(m, clusters=c, size=size, legend=(legends[i] if legends else "")))
             for i, (m, c) in enumerate(zip(mols, clusters))]
    rows = (len(cells) + per_row - 1) // per_row
    w, h = size[0] * min(per_row, max(1, len(cells))), size[1] * rows
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">']
    for i, c in enumerate(cells):
        body = c[c.find("<svg"):]
        body = body.replace("<svg", f'<svg x="{(i % per_row) * size[0]}" y="{(i // per_row) * size[1]}"', 1)
        parts.append(body)
    parts.append("</svg>")
    return _SVG("".join(parts))


# --------------------------------------------------------------------------- curves
def loss_figure(history, keys: Optional[Sequence[str]] = None, title: str = "Training losses", log_y: bool = False,
                height: int = 320) -> go.Figure:
    """Curves from a :class:`poolkit.train.History` (or a dict of lists)."""
    if isinstance(history, dict):
        cols = history
    else:
        rows = list(history)
        names = keys or [k for k in (rows[0] if rows else {}) if k not in ("epoch", "seconds")]
        cols = {k: [r.get(k, float("nan")) for r in rows] for k in names}
    fig = go.Figure()
    for k, v in cols.items():
        if keys is None or k in keys:
            fig.add_trace(go.Scatter(y=list(v), x=list(range(1, len(v) + 1)), mode="lines", name=k))
    fig.update_layout(title=title, height=height, xaxis_title="epoch", yaxis_type="log" if log_y else None,
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig


#: The colour of each verdict in :func:`forest_plot`.
VERDICT_COLORS = {"reproduced": "#1b9e77", "not reproduced": "#d95f02", "inconclusive": "#7570b3",
                  "not tested": "#999999"}


def forest_plot(rows: Sequence[dict], title: str = "Claims: paired difference A − B, 90 % interval",
                unit: str = "", verdict_key: str = "verdict", height: Optional[int] = None) -> go.Figure:
    """A forest plot of a chapter's verdicts: one row per claim, its paired difference with
    the (unadjusted) interval, the claim's margin band shaded (``±m`` for an equivalence,
    ``[-m, ∞)`` for a non-inferiority), the paper's difference as a diamond, and the verdict
    as the colour.

    Each row is a dict with ``label``, ``mean``, ``lo``, ``hi``, ``verdict_key`` and optionally
    ``margin``, ``kind`` (``"equal"``, ``"noninferior"``, ``"greater"``) and ``paper``.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("forest_plot needs at least one row")
    for r in rows:
        missing = {"label", "mean", "lo", "hi", verdict_key} - set(r)
        if missing:
            raise ValueError(f"a forest_plot row lacks {sorted(missing)}: {r}")
    labels = [r["label"] for r in rows]
    finite = [v for r in rows for v in (r["lo"], r["hi"], r.get("paper"), r.get("margin"))
              if v is not None and np.isfinite(v)]
    span = max(abs(v) for v in finite) * 1.15 if finite else 1.0
    fig = go.Figure()
    for i, r in enumerate(rows):
        m, kind = r.get("margin"), r.get("kind")
        if m:
            x0, x1 = (-m, m) if kind != "noninferior" else (-m, span)
            fig.add_shape(type="rect", x0=x0, x1=x1, y0=i - 0.4, y1=i + 0.4, fillcolor="rgba(120,120,120,0.15)",
                          line_width=0, layer="below")
    shown = set()
    for v, color in VERDICT_COLORS.items():
        idx = [i for i, r in enumerate(rows) if r[verdict_key] == v]
        if not idx:
            continue
        lo = [max(rows[i]["lo"], -span) for i in idx]
        hi = [min(rows[i]["hi"], span) for i in idx]
        mean = [rows[i]["mean"] for i in idx]
        fig.add_trace(go.Scatter(
            x=mean, y=idx, mode="markers", name=v, marker=dict(color=color, size=10),
            error_x=dict(type="data", symmetric=False, array=[h - c for h, c in zip(hi, mean)],
                         arrayminus=[c - lw for c, lw in zip(mean, lo)], color=color, thickness=2.5, width=6),
            customdata=[[labels[i], rows[i]["lo"], rows[i]["hi"]] for i in idx],
            hovertemplate="%{customdata[0]}<br>%{x:+.3g} [%{customdata[1]:+.3g}, %{customdata[2]:+.3g}]<extra>" + v + "</extra>"))
        shown.add(v)
    papers = [(i, r["paper"]) for i, r in enumerate(rows) if r.get("paper") is not None and np.isfinite(r["paper"])]
    if papers:
        fig.add_trace(go.Scatter(x=[p for _, p in papers], y=[i for i, _ in papers], mode="markers",
                                 name="paper's difference", marker=dict(symbol="diamond-open", size=11, color="black")))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=labels, autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=("difference A − B" + (f" ({unit})" if unit else "")), range=[-span, span],
                     zeroline=False)
    fig.update_layout(title=title, height=height or 120 + 34 * len(rows), legend=dict(orientation="h", y=-0.25),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig
