r"""How the book judges a reproduction: paired differences, their intervals, and a verdict.

A claim of a paper compares two variants, ``A`` and ``B`` (Graclus and Complement, GMPool
and D-MPNN, ...). We run both on the same seeds or splits, so the runs pair up, and the
quantity to judge is the per-pair difference ``d_i = a_i - b_i``, with mean ``d̄`` and
sample standard deviation ``s_d`` over ``n`` pairs.

**One error level.** Every claim is decided by one-sided tests at ``α = 0.05`` (:data:`ALPHA`).
The interval drawn and used is the two-sided ``1 - 2α = 90 %`` interval

.. math::

    \bar d \pm t_{n-1,\,1-\alpha}\; \mathrm{se}, \qquad
    \mathrm{se}^2 = s_d^2 \Big(\frac 1n + c\Big),

whose lower bound is the one-sided 95 % bound (so "the interval lies above 0" is the
one-sided t-test at 5 %), and both bounds inside ``±m`` is the two one-sided tests (TOST)
of equivalence. ``c = 0`` for independent pairs (seeds of one fixed split). For ``n``
random train/test splits of one data set, which share most of their graphs, ``c =
n_test / n_train``: the corrected resampled t of Nadeau & Bengio (2003), since the plain
interval treats overlapping splits as independent and is too narrow. k-fold designs
overlap too, and no unbiased estimator of their variance exists (Bengio & Grandvalet,
2004); :data:`DESIGNS` records what each design's interval can and cannot say.

**The claims** (:func:`verdict`), for margin ``m`` (:data:`MARGINS`, fixed per metric):

* ``"equal"`` (``A ≈ B``, equivalence): *reproduced* when ``[lo, hi] ⊂ [-m, m]``; *not
  reproduced* only when the whole interval lies outside ``[-m, m]``; *inconclusive*
  otherwise. The row also gives the smallest margin the data certify, ``max(|lo|, |hi|)``.
* ``"noninferior"`` (``A`` is not worse than ``B`` by more than ``m``): *reproduced* when
  ``lo > -m``; *not reproduced* when ``hi < -m``; *inconclusive* otherwise.
* ``"greater"`` (``A > B``, superiority): *reproduced* when ``lo > 0``; *not reproduced* when
  ``hi < 0`` (the order is reversed) or, with the paper's gain ``g > 0``, when ``hi < g``
  while ``lo ≤ 0``: *smaller than the paper's effect*; *inconclusive* otherwise. A reproduced
  direction whose interval lies below ``g`` says so in its reason.

Each verdict carries the p-value of the test that decides *reproduced*. A chapter judges
many claims at once, so :func:`holm` applies Holm's step-down procedure to those p-values,
the family being one chapter: a claim stays *reproduced* only if its adjusted p-value is
below ``α``. The intervals drawn stay unadjusted.

Runs at chance level cannot support any claim: pass ``at_chance=True`` and the verdict is
*inconclusive* whatever the interval.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

VERDICTS = ("reproduced", "not reproduced", "inconclusive")
CLAIMS = ("greater", "equal", "noninferior")
#: One error level for every claim: each one-sided test at 5 %, so the drawn interval is 90 %.
ALPHA = 0.05
#: What a paired interval over each kind of design measures, said once for every chapter.
DESIGNS = {
    "random_splits": "n random train/test splits that share most graphs: corrected resampled t "
                     "(Nadeau & Bengio 2003), variance x (1/n + n_test/n_train)",
    "overlapping_draws": "overlapping stratified test draws (k-fold-like): plain paired t; no unbiased "
                         "variance estimator exists for such designs (Bengio & Grandvalet 2004), so the "
                         "interval may be too narrow",
    "fixed_split": "one fixed split, only the seed varies: the interval measures initialisation noise, "
                   "so the verdict holds for this split alone",
    "fixed_test": "one fixed test set, training and validation redrawn per seed from the other graphs: "
                  "corrected resampled t over the overlapping training sets; the test graphs never change, "
                  "so the verdict holds for this test set alone",
    "seeds": "independent seeds: plain paired t",
}

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


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 1 - 2 * ALPHA,
                      test_train_ratio: float = 0.0, design: Optional[str] = None) -> Dict[str, float]:
    r"""Mean of ``a_i - b_i`` with its two-sided Student-t interval at ``confidence``
    (default 90 %, see the module docstring).

    ``test_train_ratio`` ``c = n_test / n_train`` widens the interval for overlapping random
    splits: ``se² = s_d² (1/n + c)`` (Nadeau & Bengio's corrected resampled t; ``c = 0`` is
    the plain paired t). ``design`` (a key of :data:`DESIGNS`) is recorded with its note.
    ``a`` and ``b`` must be paired (same seeds or splits, same order). With one pair the
    interval is unbounded (``-inf, inf``); with zero variance it is the point ``d̄``.
    """
    a = np.asarray(list(a), dtype=float)
    b = np.asarray(list(b), dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"a and b must be paired 1-D sequences of equal length, got {a.shape} and {b.shape}")
    if not np.isfinite(a).all() or not np.isfinite(b).all():
        raise ValueError("a and b must be finite numbers")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if not (test_train_ratio >= 0.0 and math.isfinite(test_train_ratio)):
        raise ValueError(f"test_train_ratio must be a finite number >= 0, got {test_train_ratio!r}")
    if design is not None and design not in DESIGNS:
        raise ValueError(f"design must be one of {sorted(DESIGNS)}, got {design!r}")
    d = a - b
    n = d.size
    mean = float(d.mean())
    out = {"mean": mean, "n": n, "confidence": confidence, "test_train_ratio": float(test_train_ratio),
           "design": design, "design_note": DESIGNS.get(design)}
    if n < 2:
        out.update({"lo": -math.inf, "hi": math.inf, "std": None, "se": math.inf, "df": 0})
        return out
    sd = float(d.std(ddof=1))
    se = sd * math.sqrt(1.0 / n + test_train_ratio)
    half = _t_quantile(0.5 + confidence / 2, n - 1) * se
    out.update({"lo": mean - half, "hi": mean + half, "std": sd, "se": se, "df": n - 1})
    return out


def _t_quantile(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _p_above(diff: Dict[str, float], threshold: float) -> float:
    """One-sided p-value of ``H0: δ ≤ threshold`` against ``δ > threshold``."""
    from scipy import stats

    mean, se, df = diff["mean"], diff.get("se"), diff.get("df", 0)
    if se is None or not df:  # one pair: no test
        return 1.0
    if se == 0.0:  # every pair agrees: the data decide exactly
        return 0.0 if mean > threshold else 1.0
    return float(stats.t.sf((mean - threshold) / se, df))


def _p_below(diff: Dict[str, float], threshold: float) -> float:
    """One-sided p-value of ``H0: δ ≥ threshold`` against ``δ < threshold``."""
    flipped = dict(diff, mean=-diff["mean"])
    return _p_above(flipped, -threshold)


def verdict(diff: Dict[str, float], claim: str = "greater", paper_diff: Optional[float] = None,
            margin: Optional[float] = None, at_chance: bool = False, alpha: float = ALPHA) -> Dict[str, str]:
    """``{"verdict", "reason", "p", "test", ...}`` for a paired difference (see the module
    docstring for the rule).

    ``claim``: ``"greater"`` (``A > B``; ``paper_diff`` the paper's ``A - B``, optional),
    ``"equal"`` (``A ≈ B`` within ``margin``) or ``"noninferior"`` (``A ≥ B - margin``);
    ``margin`` in the runs' units, required for the last two. ``p`` is the p-value of the
    test that decides *reproduced* (for :func:`holm`). ``diff`` should be the
    ``1 - 2 alpha`` interval of :func:`paired_difference`. ``at_chance=True`` when either
    variant performs at chance level.
    """
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, got {claim!r}")
    if claim in ("equal", "noninferior") and (margin is None or not margin > 0 or not math.isfinite(margin)):
        raise ValueError(f"claim={claim!r} needs a positive finite margin, got {margin!r}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    conf = diff.get("confidence", 1 - 2 * alpha)
    if not math.isclose(conf, 1 - 2 * alpha):
        raise ValueError(f"the rule reads the {1 - 2 * alpha:.0%} interval (alpha={alpha}); "
                         f"this difference has a {conf:.0%} one")
    lo, hi, mean = diff["lo"], diff["hi"], diff["mean"]
    ci = f"mean difference {mean:+.3g}, {conf:.0%} interval [{lo:+.3g}, {hi:+.3g}], n = {diff['n']}"
    out: Dict = {"kind": claim, "margin": margin, "paper_diff": paper_diff, "alpha": alpha}
    if claim == "greater":
        out.update(p=_p_above(diff, 0.0), test="one-sided t, H0: difference <= 0")
        if lo > 0:
            out["verdict"] = "reproduced"
            out["reason"] = f"the interval lies above 0 ({ci})"
            if paper_diff is not None and paper_diff > 0 and hi < paper_diff:
                out["reason"] += f"; yet below the paper's gain {paper_diff:+.3g}"
                out["effect"] = "smaller than the paper's effect"
        elif hi < 0:
            out["verdict"] = "not reproduced"
            out["reason"] = f"the interval lies below 0: the order is reversed ({ci})"
        elif paper_diff is not None and paper_diff > 0 and hi < paper_diff:
            out["verdict"] = "not reproduced"
            out["effect"] = "smaller than the paper's effect"
            out["reason"] = f"smaller than the paper's effect: the interval contains 0 and lies below its {paper_diff:+.3g} ({ci})"
        else:
            out["verdict"] = "inconclusive"
            out["reason"] = f"the interval contains 0" + (
                f" and reaches the paper's {paper_diff:+.3g}" if paper_diff is not None and paper_diff > 0 else "") + f" ({ci})"
    elif claim == "equal":
        out.update(p=max(_p_above(diff, -margin), _p_below(diff, margin)),
                   test=f"two one-sided t-tests (TOST), H0: |difference| >= {margin:g}",
                   smallest_margin=max(abs(lo), abs(hi)))
        if -margin < lo and hi < margin:
            out["verdict"], out["reason"] = "reproduced", f"the interval lies within ±{margin:.3g} ({ci})"
        elif lo > margin or hi < -margin:
            out["verdict"] = "not reproduced"
            out["reason"] = f"the whole interval lies outside ±{margin:.3g} ({ci})"
        else:
            out["verdict"] = "inconclusive"
            out["reason"] = (f"the interval crosses ±{margin:.3g}; the smallest margin these runs certify "
                             f"is ±{out['smallest_margin']:.3g} ({ci})")
    else:  # noninferior
        out.update(p=_p_above(diff, -margin), test=f"one-sided t, H0: difference <= -{margin:g}")
        if lo > -margin:
            out["verdict"], out["reason"] = "reproduced", f"the lower bound lies above -{margin:.3g} ({ci})"
        elif hi < -margin:
            out["verdict"] = "not reproduced"
            out["reason"] = f"the whole interval lies below -{margin:.3g}: A is worse by more than the margin ({ci})"
        else:
            out["verdict"] = "inconclusive"
            out["reason"] = f"the interval crosses -{margin:.3g} ({ci})"
    if at_chance:
        out["verdict"] = "inconclusive"
        out["reason"] = f"a variant is at chance level, so the runs test nothing ({ci})"
        out["p"] = 1.0
    return out


def holm(pvalues: Sequence[float], alpha: float = ALPHA) -> Dict[str, List]:
    """Holm's step-down procedure over one family of p-values: ``{"adjusted": [...],
    "reject": [...]}`` in the input order. The adjusted p-value of the ``i``-th smallest is
    ``max_{j ≤ i} min(1, (m - j + 1) p_(j))``; a hypothesis is rejected when it is below
    ``alpha``. Controls the family-wise error at ``alpha`` under any dependence."""
    p = np.asarray(list(pvalues), dtype=float)
    if p.ndim != 1 or ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise ValueError("pvalues must be a 1-D sequence of numbers in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return {"adjusted": [float(x) for x in adj], "reject": [bool(x < alpha) for x in adj]}


def holm_verdicts(verdicts: Sequence[Dict], alpha: float = ALPHA) -> List[Dict]:
    """The verdicts of one chapter with ``"p_holm"`` and ``"holm_verdict"`` added: a
    *reproduced* claim whose Holm-adjusted p-value is not below ``alpha`` becomes
    *inconclusive*; the other verdicts stay as they are."""
    adj = holm([v["p"] for v in verdicts], alpha)["adjusted"]
    out = []
    for v, pa in zip(verdicts, adj):
        hv = v["verdict"]
        if hv == "reproduced" and not pa < alpha:
            hv = "inconclusive"
        out.append(dict(v, p_holm=pa, holm_verdict=hv))
    return out


def judge(a: Sequence[float], b: Sequence[float], claim: str, *, margin: Optional[float] = None,
          paper_diff: Optional[float] = None, test_train_ratio: float = 0.0, design: Optional[str] = None,
          at_chance: bool = False, alpha: float = ALPHA) -> Dict:
    """:func:`paired_difference` at ``1 - 2 alpha`` then :func:`verdict`, in one row:
    the interval's fields and the verdict's."""
    d = paired_difference(a, b, 1 - 2 * alpha, test_train_ratio=test_train_ratio, design=design)
    return {**d, **verdict(d, claim, paper_diff=paper_diff, margin=margin, at_chance=at_chance, alpha=alpha)}
