"""Neural-network building blocks: GNN stacks, readouts and a hierarchical model builder
(``gnn.py``), the D-MPNN backbone used with GMPool (``dmpnn.py``) and the models of the
"rethinking pooling" experiments (``rethinking.py``).

Layers: ``gnn.py`` is a building block that the pooler modules may use (it depends only on
``src``); ``dmpnn.py`` and ``rethinking.py`` belong to their chapters and sit above the
pooler modules (``rethinking.py`` uses ``ablations``, which uses ``one_over_k``). So that
importing ``poolkit.nn.gnn`` does not pull the chapter models in (an import circle
``one_over_k → nn → rethinking → ablations → one_over_k``), their names are re-exported here
lazily: ``poolkit.nn.RethinkingNet`` imports ``poolkit.nn.rethinking`` on first use.
"""
import importlib

from .gnn import *  # noqa: F401,F403
from .gnn import __all__ as _gnn_all

# name -> submodule, for the chapter modules re-exported on first access (PEP 562)
_LAZY = {
    "dmpnn": ("DMPNN", "DMPNNPoolNet", "reverse_edge_index"),
    "rethinking": ("RethinkingNet", "GlobalPoolNet", "paper_model", "POOLS", "PAPER_CONFIGS", "layer_homogeneity",
                   "HomogeneityTracker", "permutation_sensitivity", "activation_figure", "record_activations",
                   "PrecomputeClusters"),
}
_WHERE = {name: mod for mod, names in _LAZY.items() for name in names}

__all__ = list(_gnn_all) + [n for names in _LAZY.values() for n in names]


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
