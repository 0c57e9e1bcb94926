"""Neural-network building blocks: GNN stacks, readouts and a hierarchical model builder
(``gnn.py``), the D-MPNN backbone used with GMPool (``dmpnn.py``) and the models of the
"rethinking pooling" experiments (``rethinking.py``).

``dmpnn.py`` and ``rethinking.py`` belong to their chapters; they export their public names
through ``__all__`` and are re-exported here unchanged.
"""
from .gnn import *  # noqa: F401,F403
from .gnn import __all__ as _gnn_all

# Sibling modules of the GMPool and "rethinking" chapters (each defines __all__).
from .dmpnn import *  # noqa: F401,F403,E402
from .dmpnn import __all__ as _dmpnn_all  # noqa: E402
from .rethinking import *  # noqa: F401,F403,E402
from .rethinking import __all__ as _rethinking_all  # noqa: E402

__all__ = list(_gnn_all) + list(_dmpnn_all) + list(_rethinking_all)
