r"""Figure of a pooling pyramid: each level's graph, nodes coloured by their supernode
(:func:`pyramid_figure`).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch

from poolkit.data.pyramid import PyramidData

__all__ = ['pyramid_figure']


def pyramid_figure(datas: Dict[str, PyramidData], pos=None, title: str = "", height: int = 300,
                   seed: int = 0, layout: str = "kamada_kawai"):
    r"""Draw pyramids side by side: one row per entry of ``datas`` (e.g. per method), one
    column per level. Level-0 nodes are coloured by their level-1 supernode; a supernode
    sits at the mean position of the original nodes it stands for; edge width follows the
    pooled edge weight."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from poolkit.viz import cluster_color, graph_layout

    names = list(datas)
    first = datas[names[0]]
    n0 = int(first.pool_sizes[0, 0])
    if pos is None:
        pos = graph_layout(first.edge_index.cpu().numpy(), n0, seed=seed, kind=layout)
    pos = np.asarray(pos, dtype=float)
    levels = max(d.num_levels for d in datas.values())
    titles = []
    for nm in names:
        sz = datas[nm].pool_sizes.view(-1).tolist()
        titles += [f"{nm}: level {l} ({sz[l]} nodes)" if l < len(sz) else "" for l in range(levels + 1)]
    fig = make_subplots(rows=len(names), cols=levels + 1, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    for r, nm in enumerate(names, start=1):
        d = datas[nm]
        p = pos
        owner = torch.arange(n0)  # level-0 node -> its node at the current level (-1 dropped)
        for lvl in range(d.num_levels + 1):
            if lvl == 0:
                ei, ew = d.edge_index, torch.ones(d.edge_index.size(1))
            else:
                ei, ew = d[f"pool{lvl}_edge_index"], d[f"pool{lvl}_edge_weight"]
            n_l = int(d.pool_sizes[0, lvl])
            if lvl < d.num_levels:
                s = d[f"pool{lvl + 1}_s"]
                nxt = torch.full((n_l,), -1, dtype=torch.long)
                nxt[s[0]] = s[1]
                colour = nxt.tolist()
            else:
                colour = list(range(n_l))
            wmax = float(ew.max()) if ew.numel() else 1.0
            for (u, v), w in zip(ei.t().tolist(), ew.tolist()):
                if u < v:
                    fig.add_trace(go.Scatter(x=[p[u, 0], p[v, 0]], y=[p[u, 1], p[v, 1]], mode="lines",
                                             line=dict(color="#888", width=0.5 + 2.5 * w / wmax),
                                             hoverinfo="text", text=f"weight {w:.3g}", showlegend=False), r, lvl + 1)
            fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers",
                                     marker=dict(size=8 if lvl == 0 else 10, line=dict(width=0.5, color="#333"),
                                                 color=[cluster_color(c) if c >= 0 else "#dddddd" for c in colour]),
                                     text=[f"node {i} → {c}" for i, c in enumerate(colour)], hoverinfo="text",
                                     showlegend=False), r, lvl + 1)
            if lvl < d.num_levels:
                owner = torch.where(owner >= 0, nxt[owner.clamp(min=0)], owner)
                # supernode position: mean of the original nodes it stands for
                newp = np.zeros((int(d.pool_sizes[0, lvl + 1]), 2))
                cnt = np.zeros(newp.shape[0])
                o = owner.numpy()
                np.add.at(newp, o[o >= 0], pos[o >= 0])
                np.add.at(cnt, o[o >= 0], 1.0)
                p = newp / np.maximum(cnt, 1)[:, None]
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_layout(title=title or None, height=height * len(names), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60 if title else 30, b=10))
    return fig
