r"""Figures of the edge-pooling chapter: a molecule and its pooled graph
(:func:`pooled_molecule_figure`).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

from torch import Tensor

__all__ = ['pooled_molecule_figure']


# --------------------------------------------------------------------------- figures
def _mol_coords(smiles: str):
    """RDKit 2D depiction coordinates ``[n, 2]`` and element symbols of a SMILES."""
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    mol = Chem.MolFromSmiles(smiles)
    rdDepictor.Compute2DCoords(mol)
    conf = mol.GetConformer()
    pos = np.array([[conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y] for i in range(mol.GetNumAtoms())])
    return pos, [a.GetSymbol() for a in mol.GetAtoms()]


def pooled_molecule_figure(smiles: str, edge_index: Tensor, levels: Sequence[Dict[str, Tensor]],
                           titles: Optional[Sequence[str]] = None, height: int = 330):
    """Plotly figure: the molecule (heavy atoms, RDKit 2D layout) and, beside it, the graph
    after each pooling level, drawn at the original atom positions.

    ``levels`` is a list of dicts with ``atoms`` (surviving atom ids) and ``edge_index``
    (pooled bonds in original atom ids), as returned by :meth:`DualMessageNet.coarsen`
    (one molecule) or built from :func:`contract_edges`. Bonds that were in the molecule
    are grey; bonds created by pooling are thick and orange. Dropped atoms are faint.
    """
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    pos, symbols = _mol_coords(smiles)
    n = len(symbols)
    ei0 = edge_index.cpu().numpy()
    original = {(int(u), int(v)) for u, v in ei0.T}
    panels = [{"atoms": np.arange(n), "edge_index": ei0}]
    panels += [{"atoms": lv["atoms"].cpu().numpy(), "edge_index": lv["edge_index"].cpu().numpy()} for lv in levels]
    if titles is None:
        titles = ["molecule"] + [f"after pooling {i + 1}" for i in range(len(levels))]
    titles = [f"{t} ({len(p['atoms'])} atoms)" for t, p in zip(titles, panels)]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.02)
    colors = {"C": "#555555", "N": "#3050F8", "O": "#FF0D0D", "S": "#C8A800", "F": "#22AA22", "Cl": "#1FAA1F",
              "Br": "#A62929", "I": "#940094", "P": "#FF8000"}
    for c, p in enumerate(panels, start=1):
        for new in (False, True):
            xs, ys = [], []
            for u, v in p["edge_index"].T:
                if u < v and (((int(u), int(v)) not in original) == new):
                    xs += [pos[u, 0], pos[v, 0], None]
                    ys += [pos[u, 1], pos[v, 1], None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color="#ff7f0e" if new else "#aaaaaa", width=4 if new else 2,
                                               dash="dot" if new else "solid")), 1, c)
        kept = np.zeros(n, dtype=bool)
        kept[p["atoms"]] = True
        for alive in (False, True):
            idx = np.nonzero(kept == alive)[0]
            fig.add_trace(go.Scatter(
                x=pos[idx, 0], y=pos[idx, 1], mode="markers+text", showlegend=False,
                text=[symbols[i] for i in idx], textfont=dict(color="white" if alive else "#bbbbbb", size=10),
                hovertext=[f"atom {i} ({symbols[i]})" for i in idx], hoverinfo="text",
                marker=dict(size=18 if alive else 10, opacity=1.0 if alive else 0.35,
                            color=[colors.get(symbols[i], "#888888") for i in idx],
                            line=dict(width=1, color="#333"))), 1, c)
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False)
    for c in range(1, len(panels) + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if c == 1 else c}", scaleratio=1, row=1, col=c)
    fig.update_layout(height=height, plot_bgcolor="white", margin=dict(l=5, r=5, t=40, b=5))
    return fig
