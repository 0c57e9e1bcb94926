r"""How the book judges a reproduction: paired differences, their intervals, and a verdict.

A claim of a paper compares two variants, ``A`` and ``B`` (Graclus and Complement, GMPool
and D-MPNN, ...). We run both on the same seeds or splits, so the runs pair up, and the
quantity to judge is the per-pair difference ``d_i = a_i - b_i``. Its mean ``d̄`` has the
Student-t interval

.. math::

    \bar d \pm t_{n-1,\,0.975}\, \frac{s_d}{\sqrt n},

which is narrower than comparing two unpaired means whenever the pairs share a split (the
split's difficulty cancels). :func:`verdict` then reads that interval against the claim:

* ``"greater"`` (the paper says ``A > B``): *reproduced* when the interval lies above 0;
  *not reproduced* when it lies below 0, or below the paper's own difference (our runs
  exclude the effect the paper reports); *inconclusive* otherwise.
* ``"equal"`` (the paper says ``A ≈ B``, within a stated ``margin``): *reproduced* when the
  whole interval lies inside ``[-margin, margin]``; *not reproduced* when it excludes 0 and
  its mean lies outside the margin; *inconclusive* otherwise (too few runs to tell).

Runs at chance level cannot support either kind of claim: pass ``chance`` and the level of
each variant, and a verdict with a variant at chance is *inconclusive* whatever the interval.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np

VERDICTS = ("reproduced", "not reproduced", "inconclusive")

#: The equivalence / non-inferiority margin of each metric, fixed before any verdict was
#: recomputed with the rule below, and never tuned to a result. ``(margin, source)``.
MARGINS = {
    "accuracy": (3.0, "accuracy points: the largest gap the Rethinking paper itself reads as on par "
                      "(PROTEINS, Complement 75.3 vs Graclus 72.6, its Section 3.1), rounded up"),
    "roc_auc": (0.02, "ROC-AUC: about the run-to-run spread the papers report for one model "
                      "(GMPool Table 2: std 0.0197 and 0.0201 on Tox21; Bal et al. Table 3: 0.011 on BBBP), "
                      "so a gap inside it is one the papers' own runs could not tell apart"),
    "rmse": (0.05, "ESOL RMSE in log(mol/L): about a tenth of the RMSE, and below the 0.08 by which Bal et al. "
                   "call their model significantly better than the best earlier one (0.410 vs PotentialNet's 0.490)"),
}


def summary(values: Sequence[float]) -> Dict[str, float]:
    """Mean, standard deviation (``ddof=1``; ``None`` for one value) and ``n``."""
    a = np.asarray(list(values), dtype=float)
    if a.size == 0:
        raise ValueError("values must hold at least one number")
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else None, "n": int(a.size)}


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Dict[str, float]:
    """Mean of ``a_i - b_i`` with its two-sided Student-t interval.

    ``a`` and ``b`` must be paired (same seeds or splits, same order). With one pair the
    interval is unbounded (``-inf, inf``).
    """
    from scipy import stats

    a = np.asarray(list(a), dtype=float)
    b = np.asarray(list(b), dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"a and b must be paired 1-D sequences of equal length, got {a.shape} and {b.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    d = a - b
    n = d.size
    mean = float(d.mean())
    if n < 2:
        return {"mean": mean, "lo": -math.inf, "hi": math.inf, "std": None, "n": n, "confidence": confidence}
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "std": sd, "n": n, "confidence": confidence}


def verdict(diff: Dict[str, float], claim: str = "greater", paper_diff: Optional[float] = None,
            margin: Optional[float] = None, at_chance: bool = False) -> Dict[str, str]:
    """``{"verdict": ..., "reason": ...}`` for a paired difference (see the module docstring).

    ``claim`` is ``"greater"`` (the paper: ``A > B``; ``paper_diff`` its ``A - B``, optional)
    or ``"equal"`` (the paper: ``A ≈ B``; ``margin`` required, same units as the runs).
    ``at_chance=True`` when either variant performs at chance level.
    """
    lo, hi, mean = diff["lo"], diff["hi"], diff["mean"]
    ci = f"mean difference {mean:+.3g}, {diff.get('confidence', 0.95):.0%} interval [{lo:+.3g}, {hi:+.3g}], n = {diff['n']}"
    if at_chance:
        return {"verdict": "inconclusive", "reason": f"a variant is at chance level, so the runs test nothing ({ci})"}
    if claim == "greater":
        if lo > 0:
            return {"verdict": "reproduced", "reason": f"the interval lies above 0 ({ci})"}
        if hi < 0:
            return {"verdict": "not reproduced", "reason": f"the interval lies below 0: the order is reversed ({ci})"}
        if paper_diff is not None and paper_diff > 0 and hi < paper_diff:
            return {"verdict": "not reproduced",
                    "reason": f"the interval contains 0 and excludes the paper's difference {paper_diff:+.3g} ({ci})"}
        return {"verdict": "inconclusive", "reason": f"the interval contains 0 ({ci})"}
    if claim == "equal":
        if margin is None or not margin > 0:
            raise ValueError(f"claim='equal' needs a positive margin, got {margin!r}")
        if -margin <= lo and hi <= margin:
            return {"verdict": "reproduced", "reason": f"the interval lies within ±{margin:.3g} ({ci})"}
        if (lo > 0 or hi < 0) and abs(mean) > margin:
            return {"verdict": "not reproduced",
                    "reason": f"the interval excludes 0 and the mean lies outside ±{margin:.3g} ({ci})"}
        return {"verdict": "inconclusive",
                "reason": f"the interval is not inside ±{margin:.3g}, yet does not show a difference beyond it ({ci})"}
    raise ValueError(f"claim must be 'greater' or 'equal', got {claim!r}")
