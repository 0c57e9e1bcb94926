"""Deprecated alias of the old ``poolkit.score`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.poolers.score.asap``
* ``poolkit.poolers.score.pan``
* ``poolkit.poolers.score.sag``
* ``poolkit.poolers.score.topk``

New code should import from those modules.
"""
from poolkit.poolers.score.asap import (  # noqa: F401
    ASAPool,
    ASAPooling,
)
from poolkit.poolers.score.pan import (  # noqa: F401
    PANPool,
    PANPooling,
    _PAN_GRAPHS,
    _PAN_NORMS,
    _PAN_STRUCTURES,
    met_matrix,
)
from poolkit.poolers.score.sag import (  # noqa: F401
    SAGPool,
    SAGPooling,
    _make_conv,
)
from poolkit.poolers.score.topk import (  # noqa: F401
    TopKPool,
    TopKPooling,
    _GATES,
    _check_ratio_or_k,
    induced_subgraph,
    num_kept,
    selection_spread,
    topk_select,
)

__all__ = [
    'topk_select',
    'num_kept',
    'induced_subgraph',
    'selection_spread',
    'TopKPool',
    'SAGPool',
    'ASAPool',
    'met_matrix',
    'PANPool',
    # the old names, kept for one release
    'TopKPooling',
    'SAGPooling',
    'ASAPooling',
    'PANPooling',
]
