"""Deprecated alias of the old ``poolkit.one_over_k`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.data.pyramid``
* ``poolkit.nn.pyramid``
* ``poolkit.ops.entropy_search``
* ``poolkit.ops.graph``
* ``poolkit.ops.kmeans``
* ``poolkit.ops.spectral``
* ``poolkit.poolers.one_over_k.edge_contraction``
* ``poolkit.poolers.one_over_k.graclus``
* ``poolkit.poolers.one_over_k.kmis``
* ``poolkit.poolers.one_over_k.maxcut``
* ``poolkit.poolers.one_over_k.ndp``
* ``poolkit.poolers.spectral.eigenpool``
* ``poolkit.poolers.spectral.sep``
* ``poolkit.viz.pyramid``

New code should import from those modules.
"""
from poolkit.data.pyramid import (  # noqa: F401
    Precoarsen,
    PyramidData,
    _METHODS,
    pyramid_level,
)
from poolkit.nn.pyramid import (  # noqa: F401
    PyramidGNN,
)
from poolkit.ops.entropy_search import (  # noqa: F401
    _entropy_search,
    _module_cost,
    refine_entropy,
)
from poolkit.ops.graph import (  # noqa: F401
    _check_structure,
    _components,
    _hard_connect,
    _split_graphs,
    _undirected,
)
from poolkit.ops.kmeans import (  # noqa: F401
    _farthest_point_kmeans,
    _sum_terms,
    _unit_rows,
)
from poolkit.ops.spectral import (  # noqa: F401
    _eigh_by_size,
    _graph_blocks,
    _padded_laplacians,
    spectral_partition,
)
from poolkit.poolers.one_over_k.edge_contraction import (  # noqa: F401
    EdgeContractionPool,
    EdgeContractionPooling,
    edge_contraction_cluster,
)
from poolkit.poolers.one_over_k.graclus import (  # noqa: F401
    Graclus,
    GraclusPool,
    _graclus_levels,
    node_priority,
    graclus_cluster,
)
from poolkit.poolers.one_over_k.kmis import (  # noqa: F401
    KMIS,
    KMISPool,
    kmis_select,
    power_graph,
)
from poolkit.poolers.one_over_k.maxcut import (  # noqa: F401
    MaxCutPool,
    _MaxCutScoreNet,
    maxcut_loss,
    nearest_kept_assignment,
)
from poolkit.poolers.one_over_k.ndp import (  # noqa: F401
    NDP,
    NDPPool,
    _maxcut_side,
    kron_reduce_dense,
    kron_reduction,
    ndp_partition,
)
from poolkit.poolers.spectral.eigenpool import (  # noqa: F401
    EigenPool,
    cluster_eigenvectors,
)
from poolkit.poolers.spectral.sep import (  # noqa: F401
    SEARCH_CHUNK,
    SEPPool,
    _spectral_starts,
    structural_entropy,
    structural_entropy_partition,
)
from poolkit.viz.pyramid import (  # noqa: F401
    pyramid_figure,
)

__all__ = [
    'graclus_cluster',
    'ndp_partition',
    'kron_reduction',
    'kron_reduce_dense',
    'kmis_select',
    'power_graph',
    'GraclusPool',
    'NDPPool',
    'KMISPool',
    'PyramidData',
    'Precoarsen',
    'pyramid_level',
    'PyramidGNN',
    'pyramid_figure',
    'edge_contraction_cluster',
    'EdgeContractionPool',
    'maxcut_loss',
    'nearest_kept_assignment',
    'MaxCutPool',
    'spectral_partition',
    'cluster_eigenvectors',
    'EigenPool',
    'structural_entropy',
    'structural_entropy_partition',
    'SEPPool',
    # the old names, kept for one release
    'Graclus',
    'NDP',
    'KMIS',
    'EdgeContractionPooling',
]

# the old private names of helpers that are public now
_priority, _refine_entropy = node_priority, refine_entropy
