"""Neural-network building blocks and the models of the chapters: GNN stacks, readouts and a
hierarchical model builder (``gnn.py``), the D-MPNN backbone used with GMPool
(``dmpnn.py``), the models of the "rethinking pooling" experiments (``rethinking.py``,
``rethinking_released.py``), the pyramid model of the one-over-K chapter (``pyramid.py``)
and the dual message-passing network of the edge-pooling chapter (``edge.py``).

Models sit above the poolers (:mod:`poolkit.poolers`, :mod:`poolkit.ops`), which never
import them, so every name is re-exported here directly.
"""
from .gnn import *  # noqa: F401,F403
from .gnn import __all__ as _gnn_all
from .dmpnn import *  # noqa: F401,F403
from .dmpnn import __all__ as _dmpnn_all
from .rethinking import *  # noqa: F401,F403
from .rethinking import __all__ as _rethinking_all
from .pyramid import PyramidGNN  # noqa: F401
from .edge import DualMessageNet, gather  # noqa: F401

__all__ = list(_gnn_all) + list(_dmpnn_all) + list(_rethinking_all) + ["PyramidGNN", "DualMessageNet", "gather"]
