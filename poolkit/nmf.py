"""Deprecated alias of the old ``poolkit.nmf`` module, kept for one release.

Every name it held (public and private) is re-exported from its new home, so that the
chapters, experiments, committed results and users' imports keep working:

* ``poolkit.poolers.nmf``

New code should import from those modules.
"""
from poolkit.poolers.nmf import (  # noqa: F401
    NMFPool,
    _nndsvda,
    nmf,
    nmf_assignment,
)

__all__ = [
    'NMFPool',
    'nmf',
    'nmf_assignment',
]
