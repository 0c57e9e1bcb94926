"""Tox21 with the GMPool paper's filtering: D-MPNN against D-MPNN + a pooler.

Paper protocol (Ko et al., AAAI 2023): Tox21 molecules with 20 to 40 heavy atoms, label
positive if any of the 12 assays is positive, five folds with 10% held-out test, batch 80,
Adam, D-MPNN hidden 200, dropout 0.15 (the number of epochs is not stated). Reported test
ROC-AUC (Table 2): D-MPNN 0.7191 ± 0.0138, Top-K 0.7593 ± 0.0160, SAGPool 0.7155 ±
0.0342, DiffPool 0.6619 ± 0.0155, GMPool 0.7451 ± 0.0197, NGMPool 0.7617 ± 0.0201.

Models (all on the same D-MPNN backbone, :class:`poolkit.nn.dmpnn.DMPNNPoolNet`):
``dmpnn`` (no pooling), ``gmpool`` (the paper's: no threshold), ``ngmpool``,
``gmpool_tol`` (GMPool with **our** ``rank_tol=1e-2``, not the paper's, to show what a
threshold changes), ``topk`` and ``sag`` (keep 10 nodes, the paper's pooling size for
baselines), ``diffpool`` (``k=10``) and ``gmpool_ns`` (Newton-Schulz root).

Each fold: a stratified 10% test split (different per fold), 10% of the rest for
validation; every model of a fold starts from the same seed; training runs until the
validation ROC-AUC has not improved for ``--patience`` epochs (at most ``--epochs``),
and the weights of the best validation epoch are evaluated on the test split. Folds are
the outer loop and the results file is rewritten after every run (``"complete": false``
until the end), so a partial file already holds whole folds of paired runs.

    python -m poolkit.experiments gmpool_tox21                 # the full protocol, 5 folds
    python -m poolkit.experiments gmpool_tox21 --quick         # a smoke test, < 1 minute
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from .claims_table import COLUMNS, claim_row, claims as _claims, paired_values

PAPER = {
    "dmpnn": (0.7191, 0.0138),
    "topk": (0.7593, 0.0160),
    "sag": (0.7155, 0.0342),
    "diffpool": (0.6619, 0.0155),
    "gmpool": (0.7451, 0.0197),
    "ngmpool": (0.7617, 0.0201),
}
LABELS = {
    "dmpnn": "D-MPNN", "gmpool": "D-MPNN + GMPool", "ngmpool": "D-MPNN + NGMPool",
    "gmpool_tol": "D-MPNN + GMPool, rank_tol=1e-2 (ours)", "topk": "D-MPNN + Top-K", "sag": "D-MPNN + SAGPool",
    "diffpool": "D-MPNN + DiffPool", "gmpool_ns": "D-MPNN + GMPool (Newton-Schulz)",
    "gmpool_nonorm": "D-MPNN + GMPool, no supernode LayerNorm (the paper's path)",
    "ngmpool_nonorm": "D-MPNN + NGMPool, no supernode LayerNorm (the paper's path)",
}
MODELS = tuple(LABELS)
DEFAULT_MODELS = "dmpnn,gmpool,ngmpool,gmpool_tol,topk,sag"
#: The claims chapter 5 tests: (A, B, what the paper says). "greater": A > B in the paper.
CLAIMS = (
    ("gmpool", "dmpnn", "GMPool beats D-MPNN"),
    ("ngmpool", "gmpool", "NGMPool beats GMPool"),
    ("ngmpool", "dmpnn", "NGMPool beats D-MPNN (the paper's headline, +0.043)"),
    ("topk", "gmpool", "Top-K beats GMPool (the paper's own Table 2)"),
)
#: The faithful-path claims: the same three with the supernode LayerNorm removed. D-MPNN has
#: no pooling, so its runs pair with these on the same folds.
CLAIMS_NONORM = (
    ("gmpool_nonorm", "dmpnn", "GMPool beats D-MPNN (no supernode LayerNorm)"),
    ("ngmpool_nonorm", "gmpool_nonorm", "NGMPool beats GMPool (no supernode LayerNorm)"),
    ("ngmpool_nonorm", "dmpnn", "NGMPool beats D-MPNN (no supernode LayerNorm)"),
)
#: Test over train molecules of one fold (10 % test, 10 % of the rest validation): the
#: Nadeau-Bengio correction for the five overlapping random test draws.
TEST_TRAIN_RATIO = 0.1 / 0.81
CHANCE_AUC = 0.55  # a mean test ROC-AUC below this is treated as chance level
FULL_SIZE = 2629  # molecules left by the paper's filtering of our Tox21 file
OWN_OPTIONS = ("models", "folds", "epochs", "patience", "batch_size", "lr", "hidden", "dropout", "limit", "seed")


def tox21_csv() -> Path:
    """The raw Tox21 CSV: ``$POOLKIT_DATA/MoleculeNet/tox21/raw/tox21.csv`` or the
    ``shared/data`` copy next to the checkout."""
    from ..data import data_root

    cands = [Path(data_root()) / "MoleculeNet" / "tox21" / "raw" / "tox21.csv"]
    here = Path(__file__).resolve().parents[2]
    cands += [here.parent / "shared" / "data" / "MoleculeNet" / "tox21" / "raw" / "tox21.csv"]
    for c in cands:
        if c.exists():
            return c
    raise FileNotFoundError(f"tox21.csv not found in {[str(c) for c in cands]}")


def load_tox21(min_atoms: int = 20, max_atoms: int = 40, limit: int | None = None):
    """Tox21 as PyG graphs (poolkit.data featurisation: atom and bond features), filtered to
    ``min_atoms ≤ heavy atoms ≤ max_atoms``; ``y`` = 1 if any of the 12 assays is positive.
    Returns ``(graphs, info)``."""
    import csv

    from ..data import smiles_to_data

    rows = list(csv.DictReader(open(tox21_csv())))
    tasks = [c for c in rows[0] if c not in ("mol_id", "smiles")]
    graphs, unparsable = [], 0
    for r in rows:
        d = smiles_to_data(r["smiles"])
        if d is None:
            unparsable += 1
            continue
        if not (min_atoms <= d.num_nodes <= max_atoms):
            continue
        vals = [r[t] for t in tasks]
        pos = any(v not in ("", None) and float(v) == 1.0 for v in vals)
        d.y = torch.tensor([[1.0 if pos else 0.0]])
        graphs.append(d)
        if limit is not None and len(graphs) >= limit:
            break
    info = {
        "rows": len(rows),
        "unparsable": unparsable,
        "kept": len(graphs),
        "positive_fraction": float(np.mean([float(g.y) for g in graphs])) if graphs else float("nan"),
        "mean_atoms": float(np.mean([g.num_nodes for g in graphs])) if graphs else float("nan"),
        "filter": f"{min_atoms} <= heavy atoms <= {max_atoms}; y = any of {len(tasks)} assays positive",
    }
    return graphs, info


def build_model(name: str, in_channels: int, edge_dim: int, hidden: int = 200, k: int = 10, dropout: float = 0.15):
    """One of :data:`MODELS` on the D-MPNN backbone."""
    from ..nn.dmpnn import DMPNNPoolNet

    kw = {"hidden": hidden, "dropout": dropout}
    if name == "dmpnn":
        return DMPNNPoolNet(in_channels, edge_dim, **kw)
    if name in ("diffpool", "topk", "sag"):
        return DMPNNPoolNet(in_channels, edge_dim, pool=name, k=k, **kw)
    if name in ("gmpool", "ngmpool"):
        return DMPNNPoolNet(in_channels, edge_dim, pool=name, **kw)
    if name in ("gmpool_nonorm", "ngmpool_nonorm"):
        return DMPNNPoolNet(in_channels, edge_dim, pool=name[: -len("_nonorm")], supernode_norm="none", **kw)
    if name == "gmpool_tol":
        return DMPNNPoolNet(in_channels, edge_dim, pool="gmpool", rank_tol=1e-2, **kw)
    if name == "gmpool_ns":
        return DMPNNPoolNet(in_channels, edge_dim, pool="gmpool", decomposition="newton_schulz", **kw)
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated, from: " + ", ".join(MODELS))
    parser.add_argument("--folds", type=int, default=5, help="number of folds (the paper: 5)")
    parser.add_argument("--epochs", type=int, default=100, help="maximum epochs per run")
    parser.add_argument("--patience", type=int, default=15,
                        help="stop after this many epochs without a better validation ROC-AUC")
    parser.add_argument("--batch-size", type=int, default=80)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--dropout", type=float, default=0.15)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N filtered molecules")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits; fold f trains from seed + f")
    # ``python -m poolkit.experiments`` already defines --device, --out and --quick
    if "--device" not in parser._option_string_actions:
        parser.add_argument("--device", default=None)
    if "--out" not in parser._option_string_actions:
        parser.add_argument("--out", default="results/gmpool_tox21.json")
    if "--quick" not in parser._option_string_actions:
        parser.add_argument("--quick", action="store_true")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in --out (same settings) and do only the missing (model, fold) runs")
    from .executor import add_executor_arguments

    add_executor_arguments(parser)


def _apply_quick(args) -> None:
    """``--quick``: 120 molecules, 2 folds, 2 epochs, hidden 32 (a smoke test, not a result)."""
    args.limit = min(args.limit or 120, 120)
    args.folds, args.epochs, args.patience, args.hidden = 2, 2, 2, 32


def _cluster_stats(model, loader, device) -> dict:
    """Mean number of supernodes kept and mean effective rank of ``M`` over ``loader``."""
    kept, eff = [], []
    model.eval()
    with torch.no_grad():
        for data in loader:
            model(data.to(device))
            extra = model.last.so.extra if model.last is not None else {}
            if "num_clusters" in extra:
                kept.append(extra["num_clusters"].float().cpu())
            if "effective_rank" in extra:
                eff.append(extra["effective_rank"].float().cpu())
    out = {}
    if kept:
        out["mean_supernodes"] = float(torch.cat(kept).mean())
    if eff:
        out["mean_effective_rank"] = float(torch.cat(eff).mean())
    return out


def protocol(args, info) -> dict:
    return {
        "data": info,
        "folds": args.folds,
        "split": "per fold: stratified 10% test (StratifiedShuffleSplit), 10% of the rest validation",
        "max_epochs": args.epochs,
        "early_stopping": f"validation ROC-AUC, patience {args.patience}",
        "patience": args.patience,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": "Adam",
        "hidden": args.hidden,
        "dropout": args.dropout,
        "pool_size_baselines": 10,
        "selection": "weights of the epoch with the best validation ROC-AUC",
        "pairing": "every model of a fold uses the same split and the same seed (seed + fold)",
        "paper": "five folds, 10% test, batch 80, Adam, hidden 200, dropout 0.15 (epochs not stated)",
        "quick": bool(getattr(args, "quick", False)),
    }


def run(args) -> dict:
    from sklearn.model_selection import StratifiedShuffleSplit, train_test_split

    from ..train import get_device
    from .common import command_history, command_line, resume_from, write_results

    if getattr(args, "quick", False):
        _apply_quick(args)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            raise ValueError(f"--models: unknown model {m!r}; known: {', '.join(MODELS)}")
    if args.folds < 1 or args.epochs < 1 or args.patience < 1:
        raise ValueError("--folds, --epochs and --patience must be at least 1")
    t0 = time.time()
    device = get_device(args.device)
    graphs, info = load_tox21(limit=args.limit)
    y = np.array([int(g.y) for g in graphs])
    proto = protocol(args, info)
    splitter = StratifiedShuffleSplit(n_splits=args.folds, test_size=0.1, random_state=args.seed)
    runs = []
    command = command_line("gmpool_tox21")
    old = None
    if getattr(args, "resume", False) and args.out:
        old = resume_from(args.out, proto, ("data", "folds", "split", "max_epochs", "patience", "batch_size", "lr",
                                            "hidden", "dropout"), config=vars(args), same_config=("seed",))
    all_models = list(models)
    wall_before = 0.0
    if old is not None:
        runs = list(old.get("runs", []))
        all_models = [m for m in old.get("models", [r["model"] for r in runs]) if m in MODELS]
        all_models = list(dict.fromkeys(all_models + models))
        wall_before = float(old.get("wall_seconds_total", old.get("wall_seconds") or 0.0))
    done = {(r["model"], int(r["fold"])) for r in runs}
    commands = command_history(old, command)

    def save(complete: bool):
        have = {(r["model"], int(r["fold"])) for r in runs}
        complete = complete and all((m, f) in have for m in all_models for f in range(args.folds))
        extra = {"experiment": "gmpool_tox21", "format": 2, "protocol": proto, "metric": "test ROC-AUC",
                 "paper": {k: {"mean": m, "std": s} for k, (m, s) in PAPER.items()},
                 "summary_by_model": summary_by_model(runs), "complete": complete, "models": all_models,
                 "commands": commands, "wall_seconds_total": wall_before + time.time() - t0}
        if not complete:  # the dispatcher writes the final file
            write_results("gmpool_tox21", runs, {k: getattr(args, k, None) for k in OWN_OPTIONS}, out=args.out,
                          device=device, wall_seconds=time.time() - t0, extra=extra)
        return extra

    specs, keys = [], []
    for fold, (trval, test) in enumerate(splitter.split(np.zeros(len(y)), y)):  # folds outermost
        tr, va = train_test_split(trval, test_size=0.1, stratify=y[trval], random_state=args.seed + fold)
        for name in models:
            if (name, fold) in done:
                continue
            specs.append({"model": name, "fold": fold, "seed": args.seed + fold, "limit": args.limit,
                          "idx": [list(map(int, tr)), list(map(int, va)), list(map(int, test))],
                          "device": None if args.device is None else str(args.device),
                          **{k: getattr(args, k) for k in ("epochs", "patience", "batch_size", "lr", "hidden",
                                                           "dropout")}})
            keys.append((name, fold))

    def on_result(key, spec, row):
        runs.append(row)
        print(f"fold {row['fold']} {row['model']:10s} test ROC-AUC {row['test_roc_auc']:.4f} "
              f"(best val {row['best_val_roc_auc']:.4f} at epoch {row['best_epoch']}/{row['epochs']}) "
              f"{row['seconds']:.0f}s, {row['seconds_per_epoch']:.2f} s/epoch", flush=True)
        save(complete=False)

    from .executor import executor_from_args, run_tasks

    failures = run_tasks("poolkit.experiments.gmpool_tox21:run_one", specs, keys, on_result,
                         progress=not getattr(args, "no_progress", False), **executor_from_args(args))
    if failures:
        print(f"{len(failures)} runs failed: {failures}", flush=True)
    runs.sort(key=lambda r: (int(r["fold"]), all_models.index(r["model"]) if r["model"] in all_models else len(all_models)))
    extra = save(complete=True)   # "complete": False while a (model, fold) of the file is missing
    return {"runs": runs, "config": {"models": all_models}, **extra}


_GRAPHS: dict = {}


def run_one(spec: dict) -> dict:
    """One (model, fold) run: what every executor task runs. ``spec`` holds the model, the
    fold, its seed, the indices of its train, validation and test molecules, the
    hyperparameters and the device; returns the results file's run row."""
    from torch_geometric.loader import DataLoader

    from ..train import evaluate, fit, get_device, set_seed

    if spec.get("limit") not in _GRAPHS:
        _GRAPHS[spec.get("limit")] = load_tox21(limit=spec.get("limit"))[0]
    graphs = _GRAPHS[spec.get("limit")]
    device = get_device(spec.get("device"))
    name, fold = spec["model"], int(spec["fold"])
    tr, va, test = spec["idx"]
    sub = lambda idx: [graphs[i] for i in idx]
    set_seed(int(spec["seed"]))
    train_loader = DataLoader(sub(tr), batch_size=spec["batch_size"], shuffle=True)
    val_loader = DataLoader(sub(va), batch_size=256)
    test_loader = DataLoader(sub(test), batch_size=256)
    model = build_model(name, graphs[0].x.size(1), graphs[0].edge_attr.size(1), hidden=spec["hidden"],
                        dropout=spec["dropout"])
    t1 = time.time()
    hist = fit(model, train_loader, val_loader, epochs=spec["epochs"], task="classification", lr=spec["lr"],
               progress=False, device=device, monitor="val_roc_auc", patience=spec["patience"], restore_best=True)
    test_m = evaluate(model, test_loader, "classification", device=device)
    curve = [float(v) for v in hist["val_roc_auc"]]
    finite = [v if math.isfinite(v) else -math.inf for v in curve]
    best_epoch = int(np.argmax(finite)) + 1
    row = {"model": name, "fold": fold, "test_roc_auc": float(test_m["roc_auc"]),
           "best_val_roc_auc": curve[best_epoch - 1], "best_epoch": best_epoch, "epochs": len(hist),
           "seconds": time.time() - t1,
           "seconds_per_epoch": float(np.median([h["seconds"] for h in hist])),
           "val_curve": curve, "train_loss_curve": [float(v) for v in hist["loss"]],
           "train_size": len(tr), "val_size": len(va), "test_size": len(test)}
    if model.pool is not None and name.startswith(("gmpool", "ngmpool")):
        row.update(_cluster_stats(model, test_loader, device))
    return row


# --------------------------------------------------------------------------- reading a results file
def runs_by_model(doc: dict) -> dict:
    """``{model: {fold: test ROC-AUC}}`` from a results file (either format)."""
    out: dict = {}
    for r in doc.get("runs", []):
        v = r.get("test_roc_auc")
        if v is not None and math.isfinite(float(v)):
            out.setdefault(r["model"], {})[int(r.get("fold", 0))] = float(v)
    return out


def summary_by_model(runs) -> dict:
    from ..stats import summary

    groups: dict = {}
    for r in runs:
        groups.setdefault(r["model"], []).append(r)
    out = {}
    for name, rs in groups.items():
        out[name] = {"test_roc_auc": summary([r["test_roc_auc"] for r in rs])}
        for key in ("seconds_per_epoch", "epochs", "mean_supernodes", "mean_effective_rank"):
            vals = [r[key] for r in rs if r.get(key) is not None]
            if vals:
                out[name][key] = summary(vals)
    return out


def protocol_check(doc: dict) -> dict:
    """Does a results file follow the paper's protocol? ``{"ok": bool, "reasons": [...]}``
    listing every way it departs (old-format files lack most fields)."""
    p = doc.get("protocol", {})
    reasons = []
    kept = p.get("data", {}).get("kept")
    if kept != FULL_SIZE:
        reasons.append(f"{kept} of the {FULL_SIZE} filtered molecules")
    if (p.get("folds") or 0) < 3:
        reasons.append(f"{p.get('folds')} fold(s), fewer than 3")
    else:  # a partial file of a 5-fold run: judge only once 3 folds have every claim's models
        need = {m for a, b, _ in CLAIMS for m in (a, b)}
        by = runs_by_model(doc)
        done = [f for f in range(p["folds"]) if all(f in by.get(m, {}) for m in need)]
        if len(done) < 3:
            reasons.append(f"{len(done)} of the {p['folds']} folds run so far for every model of the claims, fewer than 3")
    if p.get("hidden") != 200:
        reasons.append(f"hidden size {p.get('hidden')}, not 200")
    if p.get("dropout", None) not in (0.15,):
        reasons.append("dropout " + ("not recorded" if p.get("dropout") is None else f"{p.get('dropout')}") + ", not 0.15")
    max_ep = p.get("max_epochs", p.get("epochs"))
    if (max_ep or 0) < 50 or not p.get("patience"):
        reasons.append(f"{max_ep} epochs" + ("" if p.get("patience") else " without early stopping")
                       + ", not training until the validation ROC-AUC stops improving (at least 50 epochs)")
    if p.get("quick"):
        reasons.append("a --quick smoke run")
    return {"ok": not reasons, "reasons": reasons}


def claim_rows(doc: dict, name: str = "gmpool_tox21", claims=None) -> list:
    """The rows of :func:`poolkit.experiments.claims` for a Tox21 results file: for each of
    ``claims`` (``(A, B, text)``, default :data:`CLAIMS`, plus :data:`CLAIMS_NONORM` when the
    file has those runs), the paired difference of mean test ROC-AUC over the folds both
    models ran, its 90 % interval corrected for overlapping test draws (Nadeau & Bengio) and
    the verdict of "A > B". ``numbers_say`` is what the numbers alone give; ``verdict`` is
    what the book states, *inconclusive* when the file is not the paper's protocol
    (:func:`protocol_check`). A claim without paired runs gets a row with ``n = 0``."""

    by = runs_by_model(doc)
    check = protocol_check(doc)
    if claims is None:
        claims = CLAIMS + tuple(c for c in CLAIMS_NONORM if c[0] in by and c[1] in by)
    rows = []
    for a, b, text in claims:
        pa, pb = PAPER[a.replace("_nonorm", "")][0], PAPER[b.replace("_nonorm", "")][0]
        folds, xa, xb = paired_values(by.get(a, {}), by.get(b, {}))
        if not folds:
            row = dict.fromkeys(COLUMNS)
            row.update({"experiment": name, "dataset": "Tox21", "claim": text, "kind": "greater", "A": a, "B": b,
                        "n": 0, "paper A": pa, "paper B": pb, "paper A - B": pa - pb, "A - B": float("nan"),
                        "lo": float("nan"), "hi": float("nan"), "design": "random_splits", "p": 1.0,
                        "verdict": "inconclusive", "reason": f"no paired runs of {a} and {b} in this file",
                        "numbers_say": "inconclusive"})
            rows.append(row)
            continue
        at_chance = min(np.mean(xa), np.mean(xb)) < CHANCE_AUC
        row = claim_row(xa, xb, "greater", experiment=name, dataset="Tox21", A=a, B=b, claim=text, paper_a=pa,
                        paper_b=pb, test_train_ratio=TEST_TRAIN_RATIO, design="random_splits", at_chance=at_chance)
        row["numbers_say"] = row["verdict"]
        if not check["ok"]:
            row.update({"verdict": "inconclusive", "p": 1.0,
                        "reason": "the runs are not the paper's protocol (" + "; ".join(check["reasons"]) + ")"})
        rows.append(row)
    return rows


def claim_table(doc: dict, claims=None) -> list:
    """``poolkit.experiments.claims("gmpool_tox21", doc).to_dict("records")``: the claims of
    a Tox21 results file, Holm-adjusted among themselves, kept for code written before
    that table existed."""

    return _claims("gmpool_tox21", doc, claims=claims).to_dict("records")


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["gmpool_tox21"] + sys.argv[1:]))
