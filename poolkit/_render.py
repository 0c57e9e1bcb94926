"""How plotly figures reach the reader.

One figure has to look right in four places: JupyterLab / VS Code (which render plotly's
own JSON mimetype), Google Colab (plotly's ``colab`` renderer), the built book (static HTML
with no kernel) and headless execution (nbval, the book build), where the output is simply
stored in the notebook.

The ``poolkit`` renderer emits both the plotly JSON mimetype and a ``text/html`` fallback
that draws with ``window.Plotly``. The book loads ``plotly.min.js`` once per page from its
``_static`` folder (``scripts/build_book.py`` copies it from the installed plotly
package), so each figure stays a few kilobytes and the pages need no network.
"""
from __future__ import annotations

import json
import sys

import plotly.io as pio
from plotly.io._renderers import MimetypeRenderer

__all__ = ["figure_html", "setup"]


def figure_html(fig_dict: dict) -> str:
    """``<div>`` + ``<script>`` that draw ``fig_dict`` with an already loaded plotly.js."""
    height = (fig_dict.get("layout") or {}).get("height") or 450
    return pio.to_html(
        fig_dict,
        include_plotlyjs=False,
        full_html=False,
        default_width="100%",
        default_height=f"{int(height)}px",
        config={"displaylogo": False, "responsive": True},
        validate=False,
    )


class PoolkitRenderer(MimetypeRenderer):
    """Plotly JSON for live front-ends, plus HTML for the static book."""

    def to_mimebundle(self, fig_dict):
        data = json.loads(pio.to_json(fig_dict, validate=False))
        return {
            "application/vnd.plotly.v1+json": {"data": data.get("data", []), "layout": data.get("layout", {}),
                                                "config": {"displaylogo": False}},
            "text/html": figure_html(fig_dict),
        }


def setup() -> str:
    """Select the renderer for the current front-end and return its name."""
    if "poolkit" not in pio.renderers:
        pio.renderers["poolkit"] = PoolkitRenderer()
    name = "colab" if "google.colab" in sys.modules else "poolkit"
    pio.renderers.default = name
    return name


setup()
