r"""Spectral pooling: EigenPool and SEP, poolers whose partition comes from the graph's
spectrum (spectral clustering, then Fourier modes per cluster for EigenPool; the coding tree
of minimal structural entropy, started from spectral partitions, for SEP).

They were first written in the one-over-K chapter module, but neither is a one-over-K
method: EigenPool keeps several Fourier coefficients per cluster, and SEP's partition is
chosen by a global objective. The shared spectral machinery (Laplacians, eigendecomposition by
graph size, farthest-point k-means) is in :mod:`poolkit.ops.spectral` and
:mod:`poolkit.ops.kmeans`.
"""
from .eigenpool import *  # noqa: F401,F403
from .sep import *  # noqa: F401,F403
from .eigenpool import __all__ as _eigenpool_all
from .sep import __all__ as _sep_all

__all__ = list(_eigenpool_all) + list(_sep_all)
