"""Deprecated alias of the old ``poolkit.edge`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.nn.edge``
* ``poolkit.poolers.edge.base``
* ``poolkit.poolers.edge.coarse``
* ``poolkit.poolers.edge.contraction``
* ``poolkit.poolers.edge.simple``
* ``poolkit.viz.edge``

New code should import from those modules.
"""
from poolkit.nn.edge import (  # noqa: F401
    DualMessageNet,
    gather,
)
from poolkit.poolers.edge.base import (  # noqa: F401
    DualMessageConv,
    EdgeFeaturePool,
    EdgePool,
    _batch_norm,
    _check_edge_attr,
    tanh_topk_select,
)
from poolkit.poolers.edge.coarse import (  # noqa: F401
    EdgeCoarsePool,
)
from poolkit.poolers.edge.contraction import (  # noqa: F401
    _extend,
    contract_edges,
    contraction_paths,
)
from poolkit.poolers.edge.simple import (  # noqa: F401
    EdgeSimplePool,
)
from poolkit.viz.edge import (  # noqa: F401
    _mol_coords,
    pooled_molecule_figure,
)

__all__ = [
    'DualMessageConv',
    'tanh_topk_select',
    'contract_edges',
    'EdgeFeaturePool',
    'EdgePool',
    'EdgeSimplePool',
    'EdgeCoarsePool',
    'gather',
    'DualMessageNet',
    'pooled_molecule_figure',
]
