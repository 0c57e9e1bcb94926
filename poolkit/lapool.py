"""Deprecated alias of the old ``poolkit.lapool`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.poolers.lapool``

New code should import from those modules.
"""
from poolkit.poolers.lapool import (  # noqa: F401
    LaPool,
    Sparsemax,
    _hop_distances,
    lapool_leaders,
    sparsemax,
)

__all__ = [
    'LaPool',
    'Sparsemax',
    'sparsemax',
    'lapool_leaders',
]
