"""Every registered pooler computes, bit for bit, what ``tests/golden/poolers.pt`` recorded.

The golden file was written by ``scripts/make_golden.py`` (pooled graph, dense ``S`` and
masks, every auxiliary loss, and the gradients of outputs plus losses with respect to the
input and every parameter, in float64, on two fixed batches, sampling under a fixed seed).
It guards refactorings: moving a pooler between modules must not change any number.
Regenerate it only for an intended change of behaviour, and say so in the commit.

Integer and boolean entries (indices, masks, batch vectors) and every shape must be equal
exactly. Floating-point entries must be equal bit for bit or differ by at most 1e-12
(float64): the last bits of a reduction depend on its order, which changes with the CPU's
vector units (an Intel and an AMD EPYC machine differ by up to 2.5e-13 here) and with the
order in which autograd sums two uses of one tensor. The file was recorded from the code
before the template ``forward`` of :class:`poolkit.src.Pooler`; that template computes the
dense ``Sᵀ A S`` right after Select, where the old GMPool and graph-memory ``forward``
computed ``Sᵀ X`` first, so their gradients are summed in another order (≤ 8.9e-15; every
other pooler is equal bit for bit on one machine). A change of behaviour moves numbers by
far more than 1e-12.
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
            if g.is_floating_point():
                assert torch.equal(g.isnan(), w.isnan()), f"{where}: NaN in other places"
                assert torch.allclose(g, w, atol=ATOL, rtol=0, equal_nan=True), f"{where}: differs by more than {ATOL}"
            else:
                assert torch.equal(g, w), f"{where}: not equal"
