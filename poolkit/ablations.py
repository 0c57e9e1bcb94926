"""Deprecated alias of the old ``poolkit.ablations`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.ops.smoothness``
* ``poolkit.poolers.ablations.complement``
* ``poolkit.poolers.ablations.memory``
* ``poolkit.poolers.ablations.random_assign``

New code should import from those modules.
"""
from poolkit.ops.smoothness import (  # noqa: F401
    _dense_features,
    dirichlet_energy,
    feature_variance,
)
from poolkit.poolers.ablations.complement import (  # noqa: F401
    ComplementGraclus,
    ComplementGraclusPool,
    _graclus,
    complement_graph,
)
from poolkit.poolers.ablations.memory import (  # noqa: F401
    GMNDistancePool,
    GMNPool,
    GMNRandomPool,
    MemoryDistancePool,
    MemoryPool,
    MemoryRandomPool,
)
from poolkit.poolers.ablations.random_assign import (  # noqa: F401
    DISTRIBUTIONS,
    RandomDiffPool,
    RandomMinCut,
    RandomMinCutPool,
    _generator,
    random_matrix,
)

__all__ = [
    'complement_graph',
    'ComplementGraclusPool',
    'RandomDiffPool',
    'RandomMinCutPool',
    'GMNPool',
    'GMNDistancePool',
    'GMNRandomPool',
    'random_matrix',
    'feature_variance',
    'dirichlet_energy',
    # the old names, kept for one release
    'ComplementGraclus',
    'RandomMinCut',
    'MemoryPool',
    'MemoryDistancePool',
    'MemoryRandomPool',
]
