"""Deprecated alias of the old ``poolkit.gmpool`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.ops.eigh``
* ``poolkit.poolers.gmpool.gmpool``
* ``poolkit.poolers.gmpool.grouping``
* ``poolkit.poolers.gmpool.ngmpool``

New code should import from those modules.
"""
from poolkit.ops.eigh import (  # noqa: F401
    StableEigh,
    _safe_sqrt,
    effective_rank,
    eigh_sqrt,
    newton_schulz_sqrt,
    numerical_rank_tol,
    psd_sqrt_newton_schulz,
    stable_eigh,
    taylor_sqrt,
)
from poolkit.poolers.gmpool.gmpool import (  # noqa: F401
    GMPool,
)
from poolkit.poolers.gmpool.grouping import (  # noqa: F401
    GroupingMatrix,
    PairL1,
    pool_edge_features,
    grouping_matrix,
    grouping_matrix_reference,
    within_graph_pairs,
)
from poolkit.poolers.gmpool.ngmpool import (  # noqa: F401
    NGMPool,
)

__all__ = [
    'StableEigh',
    'stable_eigh',
    'eigh_sqrt',
    'newton_schulz_sqrt',
    'psd_sqrt_newton_schulz',
    'taylor_sqrt',
    'grouping_matrix',
    'grouping_matrix_reference',
    'within_graph_pairs',
    'PairL1',
    'effective_rank',
    'numerical_rank_tol',
    'GroupingMatrix',
    'GMPool',
    'NGMPool',
]
