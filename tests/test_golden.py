"""Every registered pooler computes, bit for bit, what ``tests/golden/poolers.pt`` recorded.

The golden file was written by ``scripts/make_golden.py`` (pooled graph, dense ``S`` and
masks, every auxiliary loss, and the gradients of outputs plus losses with respect to the
input and every parameter, in float64, on two fixed batches, sampling under a fixed seed).
It guards refactorings: moving a pooler between modules must not change any number.
Regenerate it only for an intended change of behaviour, and say so in the commit.

Comparison is exact (``torch.equal``); the entries listed in ``TOLERANT`` may differ by at
most 1e-12 (float64), for computations whose last bits depend on the order of a reduction.
"""
import sys
from pathlib import Path

import pytest
import torch

import poolkit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_golden  # noqa: E402

GOLDEN = torch.load(make_golden.GOLDEN, weights_only=True)
# (pooler name) -> why its numbers may move in the last bits; empty while all are exact.
TOLERANT = {}
ATOL = 1e-12


def test_golden_file_covers_the_registry():
    assert sorted(GOLDEN) == poolkit.list_poolers()
    assert make_golden.GOLDEN.stat().st_size < 2 * 1024 * 1024


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_pooler_matches_golden(name, float64):
    batches = make_golden.golden_batches()
    for bname, inputs in batches.items():
        want = GOLDEN[name][bname]
        got = make_golden.record(name, inputs)
        assert sorted(got) == sorted(want), f"{name}/{bname}: recorded entries differ"
        for key, w in want.items():
            g = got[key]
            where = f"{name}/{bname}/{key}"
            if w is None or g is None:
                assert w is None and g is None, f"{where}: one of golden/now is None"
                continue
            assert g.dtype == w.dtype and g.shape == w.shape, f"{where}: {g.dtype}{tuple(g.shape)} != {w.dtype}{tuple(w.shape)}"
            if name in TOLERANT and g.is_floating_point():
                assert torch.allclose(g, w, atol=ATOL, rtol=0, equal_nan=True), f"{where}: differs by more than {ATOL}"
            else:
                assert torch.equal(g, w) or (g.is_floating_point() and torch.equal(g.isnan(), w.isnan())
                                             and torch.equal(g.nan_to_num(), w.nan_to_num())), f"{where}: not equal"
