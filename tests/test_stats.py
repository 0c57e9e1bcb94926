import math

import numpy as np
import pytest
from scipy import stats as sps

from poolkit.stats import paired_difference, summary, verdict


def test_paired_difference_matches_scipy_one_sample_t_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, 10), rng.normal(0.78, 0.02, 10)
    d = paired_difference(a, b)
    lo, hi = sps.t.interval(0.95, 9, loc=(a - b).mean(), scale=sps.sem(a - b))
    assert math.isclose(d["lo"], lo, rel_tol=1e-9) and math.isclose(d["hi"], hi, rel_tol=1e-9)
    assert d["n"] == 10 and math.isclose(d["mean"], (a - b).mean())


def test_pairing_removes_the_shared_split_effect():
    split_effect = np.linspace(-0.1, 0.1, 8)
    a, b = 0.8 + split_effect + 0.01, 0.8 + split_effect
    d = paired_difference(a, b)
    assert math.isclose(d["lo"], 0.01, abs_tol=1e-12) and math.isclose(d["hi"], 0.01, abs_tol=1e-12)


def test_one_pair_has_an_unbounded_interval_and_bad_input_is_rejected():
    d = paired_difference([1.0], [0.5])
    assert d["lo"] == -math.inf and d["hi"] == math.inf
    assert verdict(d)["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="paired"):
        paired_difference([1, 2], [1])
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1, 2], [1, 2], confidence=1.5)
    with pytest.raises(ValueError, match="at least one"):
        summary([])


@pytest.mark.parametrize("lo, hi, paper, expected", [
    (0.01, 0.03, None, "reproduced"),
    (-0.03, -0.01, None, "not reproduced"),
    (-0.01, 0.01, 0.05, "not reproduced"),
    (-0.01, 0.06, 0.05, "inconclusive"),
    (-0.01, 0.01, None, "inconclusive"),
])
def test_greater_claim(lo, hi, paper, expected):
    d = {"mean": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 10}
    assert verdict(d, "greater", paper_diff=paper)["verdict"] == expected


@pytest.mark.parametrize("lo, hi, expected", [
    (-0.01, 0.01, "reproduced"),
    (0.03, 0.05, "not reproduced"),
    (-0.03, 0.01, "inconclusive"),
    (0.001, 0.03, "inconclusive"),  # excludes 0 but the mean lies inside the margin
])
def test_equal_claim(lo, hi, expected):
    d = {"mean": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 10}
    assert verdict(d, "equal", margin=0.02)["verdict"] == expected


def test_runs_at_chance_are_inconclusive_and_equal_needs_a_margin():
    d = {"mean": 0.0, "lo": -0.001, "hi": 0.001, "n": 10}
    assert verdict(d, "equal", margin=0.02, at_chance=True)["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="margin"):
        verdict(d, "equal")
    with pytest.raises(ValueError, match="claim"):
        verdict(d, "less")


def test_summary_uses_the_sample_standard_deviation():
    s = summary([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": 1.0, "n": 3}
    assert summary([4.0])["std"] is None
