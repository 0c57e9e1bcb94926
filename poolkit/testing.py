"""Deprecated alias of :mod:`poolkit.peer_compat` (the ``torch_scatter`` stand-in and the MET
adapter for PyG's PANPooling), kept for one release under its old, misleading name."""
from poolkit.peer_compat import *  # noqa: F401,F403
from poolkit.peer_compat import __all__  # noqa: F401
