r"""One pooler through every lens, the downstream numbers of the results files, the report card."""
from __future__ import annotations

import glob
import json
import math
import os
import time
import traceback
from typing import Dict, List, Mapping, Optional, Sequence


from poolkit import src
from poolkit.evaluation.cost import cost_sweep
from poolkit.evaluation.tasks import autoencoder_lenses, pair_accuracy


# =========================================================================== downstream (results files)
_METRICS = (("test_accuracy", "acc", 100.0), ("test_roc_auc", "ROC-AUC", 100.0), ("test_rmse", "RMSE", 1.0),
            ("test_mae", "MAE", 1.0))


def _registry_name(model: str, names: Sequence[str]) -> Optional[str]:
    """Map a model label of a results file to a registered pooler: the label itself, the
    label without a trailing ``_<ratio>``, or the one registered name that starts with
    ``label_`` or ends with ``_label`` (``complement`` → ``complement_graclus``)."""
    if model in names:
        return model
    base = model.rsplit("_", 1)[0] if "_" in model and model.rsplit("_", 1)[1].replace(".", "", 1).isdigit() else model
    if base in names:
        return base
    cands = [n for n in names if n.startswith(base + "_") or n.endswith("_" + base)]
    return cands[0] if len(cands) == 1 else None


def _downstream_groups(results_dir: str, names: Sequence[str], skip: Sequence[str]) -> Dict[tuple, List[float]]:
    """``{(pooler, data set, metric, model label, file stem, scale): [values]}`` from the
    ``runs`` of every results file (see downstream_results)."""
    groups: Dict[tuple, List[float]] = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in skip:
            continue
        try:
            with open(path) as fh:
                doc = json.load(fh)
            runs = doc.get("runs", []) if isinstance(doc, dict) else []
        except (OSError, ValueError):
            continue
        for r in runs if isinstance(runs, list) else []:
            if not isinstance(r, dict):
                continue
            label = r.get("model", r.get("pooler"))
            pooler = _registry_name(str(label), names) if label is not None else None
            if pooler is None:
                continue
            for key, short, scale in _METRICS:
                v = r.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    ds = r.get("dataset") or (doc.get("dataset") if isinstance(doc, dict) else None) or stem
                    groups.setdefault((pooler, str(ds), short, str(label), stem, scale), []).append(float(v))
                    break
    return groups


def _mean_sd(vals: List[float]) -> tuple:
    m = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return m, sd


def downstream_results(results_dir: str = "results", names: Optional[Sequence[str]] = None,
                       skip: Sequence[str] = ("evaluation",)) -> Dict[str, List[str]]:
    """Downstream numbers per registered pooler, read from the ``runs`` of every results
    file in ``results_dir``: ``{pooler: ["NCI1 acc 62.7 ± 5.0 (n=3, rethinking)", ...]}``.

    Files are read defensively: a file that cannot be parsed, a run without a model label
    or a known metric, or a label that is not a registered pooler is skipped.
    """
    names = list(src.list_poolers() if names is None else names)
    out: Dict[str, List[str]] = {n: [] for n in names}
    for (pooler, ds, short, label, stem, scale), vals in _downstream_groups(results_dir, names, skip).items():
        m, sd = _mean_sd(vals)
        digits = 1 if scale == 100.0 else 3
        variant = "" if label == pooler else f" [{label}]"
        out[pooler].append(f"{ds} {short}{variant} {m * scale:.{digits}f} ± {sd * scale:.{digits}f} "
                           f"(n={len(vals)}, {stem})")
    return out


def downstream_table(results_dir: str = "results", names: Optional[Sequence[str]] = None,
                     skip: Sequence[str] = ("evaluation",)):
    """The numbers of downstream_results as a table with short cells, one row per pooler,
    data set, metric and model label: columns ``pooler``, ``data set``, ``metric``,
    ``as run`` (the results file's model label where it is not the pooler's name, such as
    ``coarse_0.9``), ``mean ± sd`` (accuracies and ROC-AUC in %), ``n`` and ``file``.
    Sorted by pooler, then data set. Empty (with those columns) when no file has a number."""
    import pandas as pd

    names = list(src.list_poolers() if names is None else names)
    rows = []
    for (pooler, ds, short, label, stem, scale), vals in _downstream_groups(results_dir, names, skip).items():
        m, sd = _mean_sd(vals)
        digits = 1 if scale == 100.0 else 3
        rows.append({"pooler": pooler, "data set": ds, "metric": short + (" %" if scale == 100.0 else ""),
                     "as run": "" if label == pooler else label,
                     "mean ± sd": f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f}", "n": len(vals), "file": stem})
    cols = ["pooler", "data set", "metric", "as run", "mean ± sd", "n", "file"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["pooler", "data set", "file", "as run"], kind="stable").reset_index(drop=True)


# =========================================================================== one pooler, all lenses
def evaluate_pooler(name: str, pairs: Sequence, clouds: Sequence, pair_epochs: int = 100, ae_steps: int = 150,
                    k: int = 4, ratio: float = 0.25, seed: int = 0, cost_sizes: Sequence[int] = (),
                    cost_repeats: int = 3, ae_k: Optional[int] = None, pair_ratio: Optional[float] = None) -> Dict:
    """Lenses 1-3 (and 4 when ``cost_sizes`` is given) for one pooler: ``k`` supernodes and
    ``pair_ratio`` (default ``ratio``) for the pairs, ``ae_k`` (default ``k``) and ``ratio``
    for the point clouds. A pooler that
    raises gets ``{"error": ...}`` instead of numbers, so one broken pooler never hides
    the others."""
    res: Dict = {"name": name, "seed": seed}
    info = {d["name"]: d for d in src.pooler_info()}.get(name, {})
    res.update({f: info.get(f) for f in ("dense", "trainable", "precomputable")})
    t0 = time.perf_counter()
    try:
        res.update(pair_accuracy(name, pairs, epochs=pair_epochs, k=k, ratio=pair_ratio or ratio, seed=seed))
        lens = autoencoder_lenses(name, clouds, steps=ae_steps, k=ae_k or k, ratio=ratio, seed=seed)
        kinds = [getattr(d, "kind", str(i)) for i, d in enumerate(clouds)]
        res["spectral"] = dict(zip(kinds, lens["spectral"]))
        res["reconstruction"] = dict(zip(kinds, lens["reconstruction"]))
        res["spectral_mean"] = sum(lens["spectral"]) / len(lens["spectral"])
        res["reconstruction_mean"] = sum(lens["reconstruction"]) / len(lens["reconstruction"])
        if cost_sizes:
            res["cost"] = cost_sweep([name], cost_sizes, ratio=ratio, repeats=cost_repeats)
    except Exception as err:  # noqa: BLE001
        res["error"] = f"{type(err).__name__}: {err}"[:300]
        res["traceback"] = traceback.format_exc(limit=3)[-1000:]
    res["seconds"] = time.perf_counter() - t0
    return res


def _fmt(v, digits=2, scale=1.0):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v * scale:.{digits}f}"


def report_card(results: Sequence[Mapping], downstream: Optional[Mapping[str, List[str]]] = None,
                cost_at: Optional[int] = None, names: Optional[Sequence[str]] = None):
    """One row per registered pooler (every name of ``poolkit.list_poolers()``, plus any
    other name in ``results``), lenses as columns; numbers are means over the runs of a
    pooler (seeds). A pooler with no result gets '—'; one whose run failed, its error."""
    import pandas as pd

    names = list(src.list_poolers() if names is None else names)
    by: Dict[str, List[Mapping]] = {}
    for r in results:
        by.setdefault(r["name"], []).append(r)
    for n in by:
        if n not in names:
            names.append(n)

    def mean(runs, key):
        vals = [float(r[key]) for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)
                and math.isfinite(float(r[key]))]
        return sum(vals) / len(vals) if vals else None

    rows = []
    for n in names:
        runs = [r for r in by.get(n, []) if "error" not in r]
        errs = [r["error"] for r in by.get(n, []) if "error" in r]
        row = {"pooler": n}
        s_ok = [bool(r["expressive_S"]) for r in runs if "expressive_S" in r]
        row["S rows sum to λ"] = ("yes" if all(s_ok) else "no") if s_ok else "—"
        row["Reduce = SᵀX"] = (("yes" if mean(runs, "reduce_residual") < 1e-4 else "no")
                               if mean(runs, "reduce_residual") is not None else "—")
        row["pair accuracy %"] = mean(runs, "accuracy")
        row["spectral distance"] = mean(runs, "spectral_mean")
        row["reconstruction error"] = mean(runs, "reconstruction_mean")
        if cost_at is not None:
            secs = [c.get("seconds") for r in runs for c in r.get("cost", []) if c.get("num_nodes") == cost_at]
            mems = [c.get("peak_mb") for r in runs for c in r.get("cost", []) if c.get("num_nodes") == cost_at]
            secs = [s for s in secs if s is not None]
            mems = [m for m in mems if m is not None]
            row[f"ms at N={cost_at}"] = 1e3 * sum(secs) / len(secs) if secs else None
            row[f"MB at N={cost_at}"] = sum(mems) / len(mems) if mems else None
        if downstream is not None:
            row["downstream (results/)"] = "; ".join(downstream.get(n, [])) or "—"
        if errs and not runs:
            row["note"] = errs[0]
        rows.append(row)
    df = pd.DataFrame(rows).set_index("pooler")
    if "pair accuracy %" in df:
        df["pair accuracy %"] = df["pair accuracy %"] * 100
    return df
