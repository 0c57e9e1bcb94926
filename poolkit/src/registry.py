r"""The registry: every pooler by name, with its flags and a small working instance."""
from __future__ import annotations

from typing import Callable, Dict

# --------------------------------------------------------------------------- registry
_REGISTRY: Dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a :class:`Pooler` available as ``get_pooler(name)``."""

    def deco(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a pooler named {name!r} is already registered ({_REGISTRY[name].__name__})")
        _REGISTRY[name] = cls
        cls.name = name
        return cls

    return deco


def list_poolers() -> list:
    """Names of every registered pooler, sorted."""
    return sorted(_REGISTRY)


def get_pooler(name: str, **kwargs) -> "poolkit.src.base.Pooler":
    """Build the pooler registered as ``name`` with ``kwargs``.

    Raises ``ValueError`` listing the valid names when ``name`` is unknown.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown pooler {name!r}; valid poolers are: {', '.join(list_poolers())}")
    return _REGISTRY[name](**kwargs)


def example_pooler(name: str, in_channels: int, k: int = 4, edge_channels: int = 3, max_nodes: int = 64,
                   **overrides) -> "poolkit.src.base.Pooler":
    """A small working instance of the pooler registered as ``name``, built from its class's
    :meth:`Pooler.example_kwargs` (updated with ``overrides``).

    Code that loops over the whole registry (the registry-wide tests, the report card of
    the evaluation chapter, the cost sweep) builds every pooler through this one function,
    so that a newly registered pooler enters all of them without being named there.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown pooler {name!r}; valid poolers are: {', '.join(list_poolers())}")
    cls = _REGISTRY[name]
    kwargs = cls.example_kwargs(in_channels=in_channels, k=k, edge_channels=edge_channels, max_nodes=max_nodes)
    kwargs.update(overrides)
    return cls(**kwargs)


def pooler_info() -> list:
    """One dict per pooler: name, class, and the four flags of :class:`Pooler`."""
    return [
        {
            "name": n,
            "class": c.__name__,
            "module": c.__module__,
            "dense": c.is_dense,
            "trainable": c.is_trainable,
            "aux_loss": c.has_aux_loss,
            "precomputable": c.is_precomputable,
            "needs_edge_attr": c.needs_edge_attr,
        }
        for n, c in sorted(_REGISTRY.items())
    ]
