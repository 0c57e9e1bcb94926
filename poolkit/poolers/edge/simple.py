r"""``edge_simple`` (Bal et al., DLG@KDD 2019): the path feature is the sum of the bond
features along the path, :math:`e_{ux} + e_{xv}` or :math:`e_{ux} + e_{xy} + e_{yv}` (and
:math:`e_{uv}` for a kept bond).
"""
from __future__ import annotations

from poolkit.poolers.edge.base import EdgeFeaturePool
from poolkit.src import register

__all__ = ['EdgeSimplePool']


@register("edge_simple")
class EdgeSimplePool(EdgeFeaturePool):
    """Simple pooling: new bond features are sums of the bond features along each path."""
