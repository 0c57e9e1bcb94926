import math

import numpy as np
import pytest
from scipy import stats as sps

from poolkit.stats import (ALPHA, DESIGNS, MARGINS, holm, holm_verdicts, judge, paired_difference, summary,
                           verdict)


def test_paired_difference_matches_scipy_one_sample_t_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, 10), rng.normal(0.78, 0.02, 10)
    d = paired_difference(a, b, confidence=0.95)
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
    (0.01, 0.05, "inconclusive"),  # the mean 0.03 lies beyond the margin, yet gaps of 0.01 are inside
    (-0.05, -0.021, "not reproduced"),
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
    with pytest.raises(ValueError, match="margin"):
        verdict(d, "noninferior", margin=0.0)
    with pytest.raises(ValueError, match="90%"):
        verdict(paired_difference([1, 2, 3], [0, 0, 0], confidence=0.95), "greater")


def test_summary_uses_the_sample_standard_deviation():
    s = summary([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": 1.0, "n": 3}
    assert summary([4.0])["std"] is None


T2 = 2.919985580353725  # t quantile 0.95 with 2 degrees of freedom (tables)
T1 = 6.313751514675043  # with 1 degree of freedom


def test_the_interval_is_90_percent_by_default_worked_by_hand():
    # d = [1, 2, 3]: mean 2, s_d = 1, se = 1/sqrt(3); half width t_{2, 0.95} / sqrt(3)
    d = paired_difference([2, 3, 4], [1, 1, 1])
    assert ALPHA == 0.05 and d["confidence"] == 0.9
    assert math.isclose(d["lo"], 2 - T2 / math.sqrt(3), rel_tol=1e-9)
    assert math.isclose(d["hi"], 2 + T2 / math.sqrt(3), rel_tol=1e-9)


def test_corrected_resampled_t_worked_by_hand():
    # Nadeau & Bengio: se^2 = s_d^2 (1/n + n_test/n_train); 10/80 split => ratio 1/8... here 1/4
    d = paired_difference([2, 3, 4], [1, 1, 1], test_train_ratio=0.25, design="random_splits")
    half = T2 * math.sqrt(1 / 3 + 0.25)  # = 2.9200 * 0.76376 = 2.23018
    assert math.isclose(half, 2.230176, rel_tol=1e-5)
    assert math.isclose(d["hi"] - d["mean"], half, rel_tol=1e-9) and math.isclose(d["lo"], 2 - half, rel_tol=1e-9)
    assert "Nadeau" in d["design_note"]
    plain = paired_difference([2, 3, 4], [1, 1, 1])
    assert d["hi"] - d["lo"] > plain["hi"] - plain["lo"]
    with pytest.raises(ValueError, match="test_train_ratio"):
        paired_difference([1, 2], [0, 0], test_train_ratio=-0.1)
    with pytest.raises(ValueError, match="design"):
        paired_difference([1, 2], [0, 0], design="bootstrap")


def test_tost_equivalence_hand_computed():
    # 90 % interval of d = [1, 2, 3] is [0.3141, 3.6859]
    r = judge([2, 3, 4], [1, 1, 1], "equal", margin=4.0)
    assert r["verdict"] == "reproduced"
    # TOST p = max(P(T > (2 + 4)/se), P(T < (2 - 4)/se)) = P(T_2 < -2 sqrt 3)
    assert math.isclose(r["p"], sps.t.cdf(-2 * math.sqrt(3), 2), rel_tol=1e-9) and r["p"] < ALPHA
    assert math.isclose(r["smallest_margin"], 2 + T2 / math.sqrt(3), rel_tol=1e-9)
    r3 = judge([2, 3, 4], [1, 1, 1], "equal", margin=3.0)
    assert r3["verdict"] == "inconclusive" and r3["p"] > ALPHA and "3.69" in r3["reason"]
    assert judge([2, 3, 4], [1, 1, 1], "equal", margin=0.3)["verdict"] == "not reproduced"


def test_tost_p_below_alpha_exactly_when_the_interval_is_inside_the_margin():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        a, b = rng.normal(0, 1, n), rng.normal(rng.normal(0, 0.5), 1, n)
        for claim, m in (("equal", 0.8), ("noninferior", 0.5), ("greater", None)):
            r = judge(a, b, claim, margin=m)
            assert (r["p"] < ALPHA) == (r["verdict"] == "reproduced"), (claim, r)


@pytest.mark.parametrize("lo, hi, expected", [
    (-0.02, 0.05, "reproduced"),  # lower bound above -m = -0.03
    (-0.08, -0.04, "not reproduced"),  # whole interval below -m
    (-0.05, 0.01, "inconclusive"),
])
def test_noninferiority_claim(lo, hi, expected):
    d = {"mean": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 10}
    assert verdict(d, "noninferior", margin=0.03)["verdict"] == expected


def test_superiority_names_an_effect_smaller_than_the_papers():
    small = {"mean": 0.01, "lo": -0.005, "hi": 0.02, "n": 5}
    v = verdict(small, "greater", paper_diff=0.043)
    assert v["verdict"] == "not reproduced" and v["effect"] == "smaller than the paper's effect"
    real_but_small = {"mean": 0.01, "lo": 0.005, "hi": 0.02, "n": 5}
    v = verdict(real_but_small, "greater", paper_diff=0.043)
    assert v["verdict"] == "reproduced" and v["effect"] == "smaller than the paper's effect"
    assert "effect" not in verdict(real_but_small, "greater", paper_diff=0.01)


def test_holm_worked_example():
    # sorted p: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06, monotone)
    h = holm([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(h["adjusted"], [0.03, 0.06, 0.06, 0.02])
    assert h["reject"] == [True, False, False, True]
    assert holm([])["adjusted"] == []
    with pytest.raises(ValueError, match="pvalues"):
        holm([0.5, 1.2])


def test_holm_verdicts_demote_only_reproduced_claims():
    vs = [{"verdict": "reproduced", "p": 0.001}, {"verdict": "reproduced", "p": 0.03},
          {"verdict": "not reproduced", "p": 0.9}, {"verdict": "inconclusive", "p": 0.2}]
    out = holm_verdicts(vs)
    assert [v["holm_verdict"] for v in out] == ["reproduced", "inconclusive", "not reproduced", "inconclusive"]
    assert math.isclose(out[1]["p_holm"], 0.09)


def test_edge_cases_two_pairs_zero_variance_and_unbounded():
    d = paired_difference([1, 3], [0, 0])  # mean 2, s_d = sqrt 2, se = 1
    assert math.isclose(d["lo"], 2 - T1) and math.isclose(d["hi"], 2 + T1)
    z = judge([1.5, 2.5, 3.5], [1.0, 2.0, 3.0], "greater")  # every pair differs by 0.5
    assert z["std"] == 0.0 and z["lo"] == z["hi"] == 0.5 and z["verdict"] == "reproduced" and z["p"] == 0.0
    assert judge([1.5, 2.5, 3.5], [1.0, 2.0, 3.0], "equal", margin=1.0)["verdict"] == "reproduced"
    assert judge([1.5, 2.5, 3.5], [1.0, 2.0, 3.0], "equal", margin=0.1)["verdict"] == "not reproduced"
    one = judge([1.0], [0.0], "equal", margin=1.0)
    assert one["lo"] == -math.inf and one["verdict"] == "inconclusive" and one["p"] == 1.0
    assert all(math.isfinite(v["p"]) for v in holm_verdicts([one, z]))
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, float("nan")], [0.0, 0.0])


def test_margins_and_designs_are_documented():
    assert set(MARGINS) >= {"accuracy", "roc_auc", "rmse"}
    assert all(m > 0 and len(src) > 20 for m, src in MARGINS.values())
    assert set(DESIGNS) == {"random_splits", "overlapping_draws", "fixed_split", "fixed_test", "seeds"}
