"""Import the peer library torch-geometric-pool (tgp) for agreement tests, or skip.

tgp imports ``torch_scatter`` at module level. When the compiled package is missing, a
pure-PyTorch stand-in is registered (:func:`poolkit.peer_compat.install_torch_scatter_stand_in`),
so the tests still compare against tgp. When tgp itself is missing the test is skipped with
the reason, except under ``make test`` (``POOLKIT_REQUIRE_PEERS=1``), where ``make venv`` has
installed it and a missing peer is a failure, not a silent skip.
"""
import os

import pytest

from poolkit.peer_compat import install_torch_scatter_stand_in


def _unavailable(reason: str):
    if os.environ.get("POOLKIT_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (POOLKIT_REQUIRE_PEERS=1: make venv installs it)")
    pytest.skip(reason)


def tgp_poolers():
    """``tgp.poolers``, or a skip (a failure under POOLKIT_REQUIRE_PEERS=1) with the reason
    it cannot be imported."""
    try:
        import tgp  # noqa: F401
    except ImportError as exc:
        _unavailable(f"torch-geometric-pool (tgp) is not installed: {exc}")
    install_torch_scatter_stand_in()
    try:
        from tgp import poolers
    except Exception as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"tgp cannot be imported: {exc!r}")
    return poolers
