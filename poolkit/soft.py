"""Deprecated alias of the old ``poolkit.soft`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.ops.dense``
* ``poolkit.ops.soft_pool``
* ``poolkit.poolers.soft.bnpool``
* ``poolkit.poolers.soft.diffpool``
* ``poolkit.poolers.soft.dmon``
* ``poolkit.poolers.soft.hosc``
* ``poolkit.poolers.soft.just_balance``
* ``poolkit.poolers.soft.mincut``
* ``poolkit.poolers.soft.tvgnn``

New code should import from those modules.
"""
from poolkit.ops.dense import (  # noqa: F401
    EPS,
    _masked,
    _pooled,
    _reduce,
    _trace,
    normalize_pooled_adj,
    to_dense_inputs,
)
from poolkit.ops.soft_pool import (  # noqa: F401
    DenseSoftPool,
    LOSS_PARTS,
)
from poolkit.poolers.soft.bnpool import (  # noqa: F401
    BNPool,
    bnpool_losses,
    stick_breaking,
)
from poolkit.poolers.soft.diffpool import (  # noqa: F401
    DiffPool,
    diffpool_losses,
)
from poolkit.poolers.soft.dmon import (  # noqa: F401
    DMoNPool,
    dmon_losses,
)
from poolkit.poolers.soft.hosc import (  # noqa: F401
    HOSCPool,
    _check_alpha,
    hosc_losses,
    triangle_motif_adjacency,
)
from poolkit.poolers.soft.just_balance import (  # noqa: F401
    JustBalancePool,
    just_balance_losses,
)
from poolkit.poolers.soft.mincut import (  # noqa: F401
    MinCutPool,
    mincut_losses,
)
from poolkit.poolers.soft.tvgnn import (  # noqa: F401
    GTVConv,
    TVGNNPool,
    tvgnn_losses,
)

__all__ = [
    'DenseSoftPool',
    'DiffPool',
    'MinCutPool',
    'DMoNPool',
    'TVGNNPool',
    'GTVConv',
    'to_dense_inputs',
    'normalize_pooled_adj',
    'diffpool_losses',
    'mincut_losses',
    'dmon_losses',
    'tvgnn_losses',
    'LOSS_PARTS',
    'JustBalancePool',
    'just_balance_losses',
    'BNPool',
    'stick_breaking',
    'bnpool_losses',
    'HOSCPool',
    'hosc_losses',
    'triangle_motif_adjacency',
]
