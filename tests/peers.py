"""Import the peer library torch-geometric-pool (tgp) for agreement tests, or skip.

tgp imports ``torch_scatter`` at module level. When the compiled package is missing, a
pure-PyTorch stand-in is registered (:func:`poolkit.testing.install_torch_scatter_stand_in`),
so the tests still compare against tgp. When tgp itself is missing the test is skipped with the reason.
"""
import pytest

from poolkit.testing import install_torch_scatter_stand_in


def tgp_poolers():
    """``tgp.poolers``, or ``pytest.skip`` with the reason it cannot be imported."""
    try:
        import tgp  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"torch-geometric-pool (tgp) is not installed: {exc}")
    install_torch_scatter_stand_in()
    try:
        from tgp import poolers
    except Exception as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"tgp cannot be imported: {exc!r}")
    return poolers
