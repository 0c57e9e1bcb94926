"""One claims table for every experiment: ``claims(name)``.

Each reproduction tests claims of its paper, and the grid tests each pooler against global
pooling. Every one of them comes out of this function, in one table with one schema, judged
by :mod:`poolkit.stats` (paired differences, the 90 % interval of one-sided tests at 5 %,
the verdict rule, Holm's step-down procedure over the table)::

    >>> from poolkit.experiments import claims      # defined here, in claims_table
    >>> claims("rethinking")                                       # doctest: +SKIP
    >>> claims(["edge_esol", "edge_esol_table4", "edge_bbbp"])      # one Holm family # doctest: +SKIP

``name`` is a results file's name (:func:`poolkit.results.load_results` finds it: the
checkout's ``results/``, or a download in Colab), or a list of names judged as one family.
``doc`` passes results that are already loaded (a dict, or a list of dicts beside the
names). Each experiment module says which claims its runs test, in ``claim_rows(doc,
name, **options)``, which returns the rows before Holm's adjustment; extra options go to
it (``claims=`` for another list of claims, ``dataset=`` for the grid).

The columns (:data:`COLUMNS`; an experiment may add its own after them):

============== =====================================================================
experiment     the results file's name
dataset        the data set the claim is about
claim          the claim in words, ``A ≥ B`` / ``A ≈ B`` / ``A > B``
kind           ``"noninferior"``, ``"equal"`` or ``"greater"`` (:data:`poolkit.stats.CLAIMS`)
A, B           the two models compared (registry or results-file names)
n              the number of pairs (seeds, splits or folds both ran)
A/B mean, std  their means and spreads over those pairs, in the unit of the metric
paper A/B      the paper's numbers, where it gives them
paper A - B    the paper's difference (the diamond of a forest plot)
A - B          our mean paired difference, ``lo``/``hi`` its 90 % interval, ``std`` its spread
margin         the equivalence / non-inferiority margin (:data:`poolkit.stats.MARGINS`)
design         what the interval measures (:data:`poolkit.stats.DESIGNS`)
verdict        reproduced / not reproduced / inconclusive, with its ``reason`` and ``p``
effect         for a reproduced ``greater`` claim, whether it reaches the paper's gain
smallest_margin the smallest margin these runs certify (``equal``, ``noninferior``)
p_holm         Holm-adjusted p over the rows of the table, and ``holm_verdict``
============== =====================================================================
"""
from __future__ import annotations

import importlib
from typing import Dict, List, Mapping, Optional, Sequence, Union

__all__ = ["COLUMNS", "claims", "claim_row"]

COLUMNS = ("experiment", "dataset", "claim", "kind", "A", "B", "n", "A mean", "A std", "B mean", "B std", "paper A", "paper B",
           "paper A - B", "A - B", "lo", "hi", "std", "margin", "design", "verdict", "effect", "reason", "p",
           "smallest_margin", "p_holm", "holm_verdict")
#: Columns that are ``None`` where they do not apply (the paper gives no number, a
#: superiority claim has no margin).
OPTIONAL = ("paper A", "paper B", "paper A - B", "margin", "effect", "smallest_margin")
SYMBOL = {"equal": "≈", "noninferior": "≥", "greater": ">"}

#: results file -> the experiment module whose ``claim_rows`` reads it
_MODULES = {"rethinking": "rethinking", "rethinking_released": "rethinking", "gmpool_tox21": "gmpool_tox21",
            "edge_esol": "edge_esol", "edge_esol_table4": "edge_esol", "edge_bbbp": "edge_bbbp",
            "edge_bbbp_table4": "edge_bbbp", "grid": "grid"}


def claim_row(a: Sequence[float], b: Sequence[float], kind: str, *, experiment: str, dataset: str, A: str, B: str,
              claim: Optional[str] = None, margin: Optional[float] = None, paper_a: Optional[float] = None,
              paper_b: Optional[float] = None, paper_diff: Optional[float] = None, test_train_ratio: float = 0.0,
              design: Optional[str] = None, at_chance: bool = False, **extra) -> Dict:
    """One row of the table from the paired values ``a`` and ``b`` (same order):
    :func:`poolkit.stats.judge` on them, with the names, means and the paper's numbers.
    ``paper_diff`` defaults to ``paper_a - paper_b`` when both are given."""
    from ..stats import judge, summary

    if kind not in SYMBOL:
        raise ValueError(f"kind must be one of {sorted(SYMBOL)}, got {kind!r}")
    if len(a) != len(b):
        raise ValueError(f"a and b must pair up, got {len(a)} and {len(b)} values")
    if paper_diff is None and paper_a is not None and paper_b is not None:
        paper_diff = paper_a - paper_b
    sa, sb = summary(a), summary(b)
    r = judge(a, b, kind, margin=margin if kind != "greater" else None, paper_diff=paper_diff,
              test_train_ratio=test_train_ratio, design=design, at_chance=at_chance)
    smallest = (max(abs(r["lo"]), abs(r["hi"])) if kind == "equal" else max(0.0, -r["lo"]) if kind == "noninferior"
                else None)
    row = {"experiment": experiment, "dataset": dataset, "claim": claim or f"{A} {SYMBOL[kind]} {B}", "kind": kind,
           "A": A, "B": B, "n": len(a), "A mean": sa["mean"], "A std": sa["std"], "B mean": sb["mean"], "B std": sb["std"],
           "paper A": paper_a, "paper B": paper_b, "paper A - B": paper_diff, "A - B": r["mean"], "lo": r["lo"],
           "hi": r["hi"], "std": r["std"], "margin": margin if kind != "greater" else None, "design": design,
           "verdict": r["verdict"], "effect": r.get("effect"), "reason": r["reason"], "p": r["p"],
           "smallest_margin": smallest}
    row.update(extra)
    return row


def _names(name) -> List[str]:
    names = [name] if isinstance(name, str) else list(name)
    if not names:
        raise ValueError("name must be a results file's name or a non-empty list of them")
    for n in names:
        if n not in _MODULES:
            raise ValueError(f"no claims are defined for {n!r}; known: {', '.join(sorted(_MODULES))}")
    return names


def claims(name: Union[str, Sequence[str]], doc: Union[None, Mapping, Sequence[Optional[Mapping]]] = None,
           holm: bool = True, **options):
    """The claims of one results file, or of several judged as one family, as a
    :class:`pandas.DataFrame` with the columns of :data:`COLUMNS` (see the module's
    docstring). A name whose file is not found adds no rows. ``holm=False`` leaves out
    Holm's adjustment (the columns stay, empty) for a caller that forms its own family."""
    import pandas as pd

    from ..results import load_results
    from ..stats import holm_verdicts

    names = _names(name)
    if doc is None:
        docs = [load_results(n, required=False) for n in names]
    elif isinstance(doc, Mapping):
        if len(names) != 1:
            raise ValueError("doc must be a list of results, one per name, when several names are given")
        docs = [doc]
    else:
        docs = list(doc)
        if len(docs) != len(names):
            raise ValueError(f"doc must hold one results dict per name: {len(names)} names, {len(docs)} docs")
    rows = []
    for n, d in zip(names, docs):
        if d is None:
            continue
        module = importlib.import_module(f".{_MODULES[n]}", __package__)
        rows += module.claim_rows(d, n, **options)
    if holm and rows:
        rows = holm_verdicts(rows)
    extra = [k for r in rows for k in r if k not in COLUMNS]
    columns = list(COLUMNS) + list(dict.fromkeys(extra))
    table = pd.DataFrame(rows, columns=columns)
    for col in OPTIONAL:   # None where a paper gives no number or a claim has no margin, not NaN
        table[col] = pd.Series([r.get(col) for r in rows], index=table.index, dtype=object)
    return table


def paired_values(by_key_a: Mapping, by_key_b: Mapping):
    """The keys both mappings have (seeds, folds, ``(split, seed)``), sorted, and the two
    value lists in that order: the pairs of a paired comparison."""
    keys = sorted(set(by_key_a) & set(by_key_b))
    return keys, [by_key_a[k] for k in keys], [by_key_b[k] for k in keys]
