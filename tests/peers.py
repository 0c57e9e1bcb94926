"""Import the peer library torch-geometric-pool (tgp) for agreement tests, or skip.

tgp imports ``torch_scatter`` at module level. When the compiled package is missing, a
minimal stand-in built on ``torch_geometric.utils.scatter`` is registered (``scatter`` and
``scatter_add``; the code paths these tests run use only those), so the tests still
compare against tgp. When tgp itself is missing the test is skipped with the reason.
"""
import sys
import types

import pytest


def _scatter_stand_in() -> None:
    try:
        import torch_scatter  # noqa: F401
        return
    except ImportError:
        pass
    from torch_geometric.utils import scatter as pyg_scatter

    mod = types.ModuleType("torch_scatter")

    def scatter(src, index, dim=0, out=None, dim_size=None, reduce="sum"):
        return pyg_scatter(src, index, dim=dim, dim_size=dim_size, reduce=reduce)

    def unavailable(*args, **kwargs):
        raise NotImplementedError("not provided by the torch_scatter stand-in")

    mod.scatter = scatter
    mod.scatter_max = mod.scatter_min = mod.scatter_mul = unavailable
    mod.scatter_add = lambda src, index, dim=0, out=None, dim_size=None: scatter(src, index, dim, None, dim_size, "sum")
    mod.__version__ = "stand-in"
    sys.modules["torch_scatter"] = mod


def tgp_poolers():
    """``tgp.poolers``, or ``pytest.skip`` with the reason it cannot be imported."""
    try:
        import tgp  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"torch-geometric-pool (tgp) is not installed: {exc}")
    _scatter_stand_in()
    try:
        from tgp import poolers
    except Exception as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"tgp cannot be imported: {exc!r}")
    return poolers
