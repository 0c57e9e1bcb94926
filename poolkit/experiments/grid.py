"""Every pooler on one protocol: the grid behind chapter 9, "Which pooler should I use?".

One backbone per data set, the same for every pooler on it, so that the pooler is the only
thing that changes:

    GIN x 2 -> pooler (one level) -> GIN x 2 (dense GIN after a dense pooler) -> mean -> MLP

The global-pooling baseline is the same model with ``nopool`` (the identity pooler), so it
has the same depth and parameters outside the pooler. Every auxiliary loss has weight 1.

How much each pooler reduces (:func:`pooler_spec`):

* dense soft poolers take ``K = ceil(ratio * N_max)`` supernodes, ``N_max`` the largest
  graph of the data set (DiffPool's convention);
* node-dropping poolers (Top-K, SAG, ASAP, PAN) and the other ratio poolers keep ``ratio``
  of each graph's nodes;
* Graclus, NDP, k-MIS, EdgeContraction, SEP and LaPool reduce by their own rule, and
  GMPool and NGMPool keep N.

Each run records what it measured: mean nodes in and kept per test graph, the clusters a
dense pooler really uses (argmax), seconds per epoch and the peak memory of one training
step, next to the accuracy.

Data (``--datasets``): ``NCI1`` and ``PROTEINS`` with random 80/10/10 splits per seed, and
``NCI1-size``, a size-generalisation split (train and validate on the smaller 90 % of the
graphs, test on the largest 10 %: :func:`poolkit.data.size_split`). Seeds are paired: the
same split and the same initial seed for every pooler.

Protocol: Adam, lr 1e-3 halved after 10 epochs without validation improvement (min 1e-5),
batch 64, early stopping on validation accuracy (patience ``--patience``), test accuracy of
the best validation epoch.

    python -m poolkit.experiments grid --poolers core --datasets NCI1,NCI1-size \\
        --seeds 0 1 2 3 4 --workers 2 --resume
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .common import command_history, command_line, resume_from, write_json_atomic
from .claims_table import claim_row, paired_values

#: The core set: the global-pooling baseline and one or two poolers per family.
CORE = ("nopool", "diffpool", "mincut", "dmon", "bnpool", "graclus", "kmis", "ndp", "edge_contraction", "topk",
        "sag", "asap", "lapool", "nmf")
#: Registered poolers that are ablations of another (chapter 6's subject, not this grid's).
ABLATIONS = ("random_diffpool", "random_mincut", "complement_graclus", "gmn_random", "gmn_distance")
#: Poolers that need bond features: the molecular set, not the TU sets.
EDGE_FEATURE_POOLERS = ("edge_simple", "edge_coarse")
DENSE_K = ("diffpool", "mincut", "dmon", "tvgnn", "bnpool", "hosc", "just_balance", "nmf", "eigenpool")
RATIO = ("topk", "sag", "asap", "pan", "maxcut", "edge_simple", "edge_coarse")
DATASETS = ("NCI1", "NCI1-size", "PROTEINS", "MUTAG")   # MUTAG: quick demonstrations and tests
#: The protocol entries that runs must share to be kept by ``--resume``.
SAME_PROTOCOL = ("backbone", "optimizer", "early_stopping", "epochs", "batch_size", "ratio", "hidden")


def grid_poolers(which: str = "core") -> list:
    """``"core"``, ``"all"`` (every registered pooler but the ablations and those that need
    bond features) or a comma-separated list of registry names."""
    from ..src import list_poolers

    if which == "core":
        return list(CORE)
    names = list_poolers()
    if which == "all":
        return [n for n in names if n not in ABLATIONS and n not in EDGE_FEATURE_POOLERS]
    chosen = [n.strip() for n in which.split(",") if n.strip()]
    bad = [n for n in chosen if n not in names]
    if bad or not chosen:
        raise ValueError(f"unknown poolers {bad or which!r}; give core, all or names from: {', '.join(names)}")
    return chosen


def pooler_spec(name: str, ratio: float, max_nodes: int, hidden: int = 64) -> tuple:
    """``(name, kwargs, rule)`` for one pooler of the grid: ``K = ceil(ratio * max_nodes)``
    for the dense soft poolers (and EigenPool's number of clusters), ``ratio`` for the
    node-dropping ones, the pooler's own defaults otherwise (``rule`` says which)."""
    if not 0.0 < float(ratio) <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
    if name == "gmn":                       # memory keys: K clusters, pooled features of the hidden width
        k = max(2, math.ceil(ratio * max_nodes))
        return name, {"k": k, "out_channels": hidden}, f"K = ceil({ratio} * {max_nodes})"
    if name in DENSE_K:
        return name, {"k": max(2, math.ceil(ratio * max_nodes))}, f"K = ceil({ratio} * {max_nodes})"
    if name in RATIO:
        return name, {"ratio": float(ratio)}, f"ratio {ratio}"
    if name in ("gmpool", "ngmpool"):
        return name, {}, "keeps N"
    if name == "nopool":
        return name, {}, "global pooling"
    return name, {}, "own rule"


def build_model(name: str, in_channels: int, num_classes: int, ratio: float, max_nodes: int, hidden: int = 64):
    """The grid's backbone around pooler ``name`` (see the module docstring)."""
    from ..nn.gnn import HierarchicalGNN

    pname, kwargs, _ = pooler_spec(name, ratio, max_nodes, hidden)
    return HierarchicalGNN(in_channels, num_classes, poolers=[(pname, kwargs)], hidden=hidden, layers_per_block=2,
                           conv="gin", dense_conv="gin", readout="mean", mlp_layers=2)


_DATA: dict = {}


def load_graphs(dataset: str) -> list:
    """The graphs of ``NCI1``/``NCI1-size`` (the same graphs), ``PROTEINS`` or ``MUTAG``, once per process."""
    from ..data import tu_dataset

    base = dataset.split("-")[0]
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    if base not in _DATA:
        ds = tu_dataset(base)
        _DATA[base] = [ds[i] for i in range(len(ds))]
    return _DATA[base]


def split_for(dataset: str, graphs: list, seed: int) -> tuple:
    """Random 80/10/10, or the size split for ``*-size``; the same for every pooler."""
    from ..data import random_split, size_split

    if dataset.endswith("-size"):
        return size_split([g.num_nodes for g in graphs], 0.1, 0.1, seed=seed)
    return random_split(len(graphs), (0.8, 0.1, 0.1), seed=seed)


def reduction(model, loader, device) -> dict:
    """Mean nodes in, supernodes out, and (dense poolers) clusters really used by the argmax
    of ``S``, per graph of ``loader``, after one pass of ``model`` in eval mode."""
    nodes_in, kept, used = [], [], []
    model.eval()
    with torch.no_grad():
        for data in loader:
            data = data.to(device)
            model(data)
            out = model.last_outputs[0]
            counts = torch.bincount(data.batch, minlength=data.num_graphs)
            nodes_in += counts.tolist()
            if out.x.dim() == 3:
                mask = out.mask if out.mask is not None else torch.ones(out.x.shape[:2], dtype=torch.bool)
                kept += mask.sum(1).tolist()
                so = out.so
                if so is not None and so.s is not None and so.s.dim() == 3:
                    arg = so.s.argmax(-1)
                    for g in range(arg.size(0)):
                        used.append(int(torch.unique(arg[g][so.mask[g]]).numel()))
            else:
                b = out.batch if out.batch is not None else torch.zeros(out.x.size(0), dtype=torch.long)
                kept += torch.bincount(b, minlength=data.num_graphs).tolist()
    res = {"nodes_in_mean": float(np.mean(nodes_in)), "nodes_kept_mean": float(np.mean(kept))}
    res["kept_fraction_mean"] = float(np.mean(np.asarray(kept) / np.maximum(np.asarray(nodes_in), 1)))
    if used:
        res["clusters_used_mean"] = float(np.mean(used))
    return res


def class_balance(model, loader, device) -> dict:
    """Balanced accuracy (the mean of the per-class recalls) on ``loader`` and the share of
    its majority class: on the size split the largest graphs are mostly of one class, so
    plain accuracy alone would reward predicting that class."""
    from ..train import predict

    with torch.no_grad():
        pred, y = predict(model, loader, device)
    labels, y = pred.argmax(-1).view(-1), y.view(-1)
    classes = torch.unique(y)
    recalls = [float((labels[y == c] == c).float().mean()) for c in classes]
    return {"test_balanced_accuracy": float(np.mean(recalls)),
            "test_majority_share": float(max(float((y == c).float().mean()) for c in classes))}


def step_peak_mb(model, batch, device) -> float:
    """Peak memory (MB) of one forward + backward on ``batch``
    (:func:`poolkit.evaluation.peak_memory_mb`)."""
    from ..evaluation import peak_memory_mb

    model.train()
    batch = batch.to(device)

    def step():
        pred, aux = model(batch)
        loss = torch.nn.functional.cross_entropy(pred, batch.y.view(-1)) + sum(aux.values(), pred.new_zeros(()))
        loss.backward()
        model.zero_grad(set_to_none=True)

    return peak_memory_mb(step, device)


def run_one(spec: dict) -> dict:
    """One (dataset, pooler, seed) run of the grid: what every executor task runs."""
    from torch_geometric.loader import DataLoader

    from ..train import evaluate, fit, get_device, set_seed
    from .rethinking import PlateauDecay

    dname, pname, seed = spec["dataset"], spec["pooler"], int(spec["seed"])
    device = get_device(spec.get("device"))
    graphs = load_graphs(dname)
    tr, va, te = split_for(dname, graphs, seed)
    max_nodes = max(g.num_nodes for g in graphs)
    n_cls = int(max(int(g.y) for g in graphs)) + 1
    set_seed(seed)
    model = build_model(pname, graphs[0].x.size(-1), n_cls, spec["ratio"], max_nodes, spec.get("hidden", 64))
    gen = torch.Generator().manual_seed(seed)
    bs = spec.get("batch_size", 64)
    train_loader = DataLoader([graphs[i] for i in tr], batch_size=bs, shuffle=True, generator=gen)
    val_loader = DataLoader([graphs[i] for i in va], batch_size=256)
    test_loader = DataLoader([graphs[i] for i in te], batch_size=256)
    t0 = time.time()
    hist = fit(model, train_loader, val_loader, epochs=spec["epochs"], task="classification", lr=1e-3,
               callbacks=[PlateauDecay()], progress=False, device=device, monitor="val_accuracy",
               patience=spec["patience"], restore_best=True)
    seconds = time.time() - t0
    test = evaluate(model, test_loader, "classification", device=device)
    val = hist["val_accuracy"]
    best = int(np.nanargmax(val)) if len(hist) else -1
    _, _, rule = pooler_spec(pname, spec["ratio"], max_nodes)
    row = {"dataset": dname, "pooler": pname, "seed": seed, "rule": rule,
           "test_accuracy": test["accuracy"], "val_accuracy": val[best] if len(hist) else float("nan"),
           "epochs_run": len(hist), "best_epoch": best + 1, "seconds": seconds,
           "seconds_per_epoch": float(np.mean(hist["seconds"])) if len(hist) else float("nan"),
           "parameters": sum(p.numel() for p in model.parameters()),
           "graphs": [len(tr), len(va), len(te)],
           "max_train_nodes": int(max(graphs[i].num_nodes for i in tr)),
           "min_test_nodes": int(min(graphs[i].num_nodes for i in te)),
           "curve": {"loss": [round(float(v), 5) for v in hist["loss"]],
                     "val_accuracy": [round(float(v), 5) for v in val]}}
    row.update(class_balance(model, test_loader, device))
    row.update(reduction(model, test_loader, device))
    row["peak_mb"] = step_peak_mb(model, next(iter(DataLoader([graphs[i] for i in tr[:bs]], batch_size=bs))),
                                  device)
    row["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return row


def add_arguments(parser) -> None:
    parser.add_argument("--datasets", default="NCI1,NCI1-size", help="comma-separated, from: " + ", ".join(DATASETS))
    parser.add_argument("--poolers", default="core", help="core, all, or comma-separated registry names")
    parser.add_argument("--ratio", type=float, default=0.25, help="K = ceil(ratio * N_max); node-droppers keep ratio")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=30, help="early stopping on validation accuracy")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in --out and do only the missing (dataset, pooler, seed) runs")
    from .executor import add_executor_arguments

    add_executor_arguments(parser)


def run(args) -> dict:
    from ..stats import summary
    from ..train import get_device
    from .executor import executor_from_args, run_tasks

    seeds = list(args.seeds)
    poolers = grid_poolers(args.poolers)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    bad = [d for d in datasets if d not in DATASETS]
    if bad:
        raise ValueError(f"unknown datasets {bad}; valid: {', '.join(DATASETS)}")
    if getattr(args, "quick", False):
        args.epochs, seeds = min(args.epochs, 3), seeds[:1]
    t_start = time.time()
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "experiment": "grid", "command": command_line("grid"),
        "protocol": {
            "backbone": "GIN x2 -> pooler (one level) -> GIN x2 (dense GIN after a dense pooler) -> mean -> MLP; "
                        "nopool is the identity pooler in the same model; auxiliary losses weight 1",
            "optimizer": "Adam lr 1e-3, halved after 10 epochs without validation-accuracy improvement, min 1e-5",
            "early_stopping": f"validation accuracy, patience {args.patience}; test accuracy of the best validation "
                              "epoch",
            "epochs": args.epochs, "batch_size": args.batch_size, "ratio": args.ratio, "hidden": args.hidden,
            "splits": "NCI1, PROTEINS: random 80/10/10 per seed; NCI1-size: test on the largest 10 % of the graphs, "
                      "train/val (80/10) on the rest (poolkit.data.size_split); the same splits for every pooler",
            "reduction": "dense soft poolers K = ceil(ratio * N_max); node-droppers keep ratio; Graclus, NDP, k-MIS, "
                         "EdgeContraction, SEP, LaPool by their own rule; GMPool/NGMPool keep N",
        },
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "torch_geometric": __import__("torch_geometric").__version__, "numpy": np.__version__},
        "device": str(get_device(args.device)), "host": platform.platform(), "runs": [], "summary": {},
    }
    result["commands"] = [result["command"]]
    done = set()
    old = resume_from(out_path, result["protocol"], SAME_PROTOCOL) if getattr(args, "resume", False) else None
    if old is not None:
        result["runs"] = list(old.get("runs", []))
        result["commands"] = command_history(old, result["command"])
        result["resumed_from"] = {"wall_seconds": old.get("wall_seconds")}
        done = {(r["dataset"], r["pooler"], r["seed"]) for r in result["runs"]}

    def summarise():
        result["summary"] = {}
        for r in result["runs"]:
            accs = [q["test_accuracy"] * 100 for q in result["runs"]
                    if (q["dataset"], q["pooler"]) == (r["dataset"], r["pooler"])]
            result["summary"].setdefault(r["dataset"], {})[r["pooler"]] = summary(np.asarray(accs))

    def save():
        prev = (result.get("resumed_from") or {}).get("wall_seconds") or 0.0
        result["wall_seconds"] = time.time() - t_start + prev
        write_json_atomic(out_path, result)

    # seeds outermost, so a grid cut short still covers every pooler with its first seeds
    specs, keys = [], []
    for seed in seeds:
        for dname in datasets:
            for pname in poolers:
                if (dname, pname, seed) in done:
                    continue
                specs.append({"dataset": dname, "pooler": pname, "seed": seed, "epochs": args.epochs,
                              "patience": args.patience, "batch_size": args.batch_size, "ratio": args.ratio,
                              "hidden": args.hidden, "device": None if args.device is None else str(args.device)})
                keys.append((dname, pname, seed))

    def on_result(key, spec, row):
        result["runs"].append(row)
        brief = {k: row[k] for k in ("dataset", "pooler", "seed", "test_accuracy", "epochs_run", "seconds_per_epoch",
                                     "nodes_kept_mean")}
        print(json.dumps(brief), flush=True)
        summarise()
        save()

    opts = executor_from_args(args)
    result["executor"] = {k: opts[k] for k in ("workers", "address", "gpus_per_task", "threads")}
    failures = run_tasks("poolkit.experiments.grid:run_one", specs, keys, on_result,
                         progress=not getattr(args, "no_progress", False), **opts)
    if failures:
        result["failed"] = {"/".join(map(str, k)): v for k, v in failures.items()}
    summarise()
    save()
    return result


# --------------------------------------------------------------------------- claims
def _paired(runs, dataset: str, pooler: str, other: str, metric: str = "test_accuracy"):
    """The two poolers' ``metric`` (in points) over the seeds both have, paired by seed."""
    def by_seed(name):
        return {r["seed"]: 100 * r[metric] for r in runs if r["dataset"] == dataset and r["pooler"] == name
                and metric in r}

    return paired_values(by_seed(pooler), by_seed(other))


def _split_ratio(runs, dataset: str) -> float:
    """``n_test / n_train`` of the data set's splits (the corrected resampled t's ``c``)."""
    for r in runs:
        if r["dataset"] == dataset:
            tr, _, te = r["graphs"]
            return te / tr
    raise ValueError(f"no runs on {dataset!r}")


def design_of(dataset: str) -> str:
    """The :data:`poolkit.stats.DESIGNS` key of ``dataset``'s splits: ``NCI1-size`` keeps one
    test set (the largest graphs) for every seed, the others redraw all three parts."""
    return "fixed_test" if dataset.endswith("-size") else "random_splits"


def claim_rows(results: dict, name: str = "grid", dataset: Optional[str] = None, baseline: str = "nopool",
               margin: Optional[float] = None, metric: str = "test_accuracy") -> list:
    """The rows of :func:`poolkit.experiments.claims` for the grid: for each data set (or
    only ``dataset``) and each pooler with at least 2 seeds paired with ``baseline``, two
    claims about its paired difference to it (accuracy points, pooler minus baseline, 90 %
    corrected resampled-t interval since the seeds' random splits overlap): *pooling helps*
    (``greater``) and *on par* (``equal`` within the accuracy margin)."""
    from ..stats import MARGINS

    m = MARGINS["accuracy"][0] if margin is None else margin
    runs = results["runs"]
    datasets = [dataset] if dataset is not None else sorted({r["dataset"] for r in runs})
    rows = []
    for ds in datasets:
        c = _split_ratio(runs, ds)
        poolers = sorted({r["pooler"] for r in runs if r["dataset"] == ds and r["pooler"] != baseline})
        for p in poolers:
            seeds, a, b = _paired(runs, ds, p, baseline, metric)
            if len(seeds) < 2:
                continue
            for kind in ("greater", "equal"):
                rows.append(claim_row(a, b, kind, experiment=name, dataset=ds, A=p, B=baseline, margin=m,
                                      test_train_ratio=c, design=design_of(ds)))
    return rows


def claims(results: dict, dataset: str, baseline: str = "nopool", margin: Optional[float] = None,
           metric: str = "test_accuracy"):
    """Chapter 9's view of the grid's claims on ``dataset`` (:func:`claim_rows`), one row
    per pooler: its paired difference to ``baseline`` with the 90 % interval and both
    verdicts, *pooling helps* and *on par*, each also after Holm's correction over the
    poolers of the data set (one family per question). ``metric`` may be
    ``"test_balanced_accuracy"`` (the size split's). ``outcome`` reads them together:
    ``better``, ``worse``, ``on par`` or ``undecided``. A :class:`pandas.DataFrame` sorted
    by the mean difference. ``poolkit.experiments.claims("grid")`` gives the same rows in
    the book's one claims table, with one Holm family over all of them."""
    import pandas as pd

    from ..stats import holm_verdicts

    rows = claim_rows(results, dataset=dataset, baseline=baseline, margin=margin, metric=metric)
    greater = [r for r in rows if r["kind"] == "greater"]
    equal = [r for r in rows if r["kind"] == "equal"]
    if not greater:
        return pd.DataFrame(columns=["pooler", "n", "accuracy", "baseline", "diff", "lo", "hi", "helps", "on_par",
                                     "outcome"])
    out = []
    for g, e in zip(holm_verdicts(greater), holm_verdicts(equal)):
        row = {"pooler": g["A"], "n": g["n"], "accuracy": g["A mean"], "baseline": g["B mean"], "diff": g["A - B"],
               "lo": g["lo"], "hi": g["hi"], "helps": g["verdict"], "helps_holm": g["holm_verdict"],
               "on_par": e["verdict"], "on_par_holm": e["holm_verdict"]}
        if row["lo"] > 0:
            row["outcome"] = "better"
        elif row["hi"] < 0:
            row["outcome"] = "worse"
        elif e["verdict"] == "reproduced":
            row["outcome"] = "on par"
        else:
            row["outcome"] = "undecided"
        out.append(row)
    return pd.DataFrame(out).sort_values("diff", ascending=False).reset_index(drop=True)


def best_set(results: dict, dataset: str, metric: str = "test_accuracy") -> dict:
    """The pooler with the highest mean accuracy on ``dataset`` and the poolers not
    distinguishable from it: those whose paired difference to the best has a 90 %
    interval (corrected resampled t) reaching 0, so that "the best is better" is not shown
    at the 5 % level. ``{"best", "indistinguishable", "worse"}``; a pooler seen on fewer
    than 2 of the best's seeds is left out."""
    from ..stats import judge

    runs = [r for r in results["runs"] if r["dataset"] == dataset]
    if not runs:
        raise ValueError(f"no runs on {dataset!r}")
    means = {}
    for r in runs:
        if metric in r:
            means.setdefault(r["pooler"], []).append(r[metric])
    best = max(means, key=lambda p: (np.mean(means[p]), p))
    c = _split_ratio(runs, dataset)
    same, worse = [best], []
    for p in sorted(means):
        if p == best:
            continue
        seeds, a, b = _paired(runs, dataset, best, p, metric)
        if len(seeds) < 2:
            continue
        v = judge(a, b, "greater", test_train_ratio=c, design=design_of(dataset))
        (worse if v["lo"] > 0 else same).append(p)
    return {"best": best, "indistinguishable": same, "worse": worse}


def pareto_front(points: Sequence[tuple]) -> list:
    """The names of the points ``(name, cost, accuracy)`` that no other point beats on both
    (lower or equal cost and higher or equal accuracy, one of them strictly)."""
    front = []
    for name, cost, acc in points:
        dominated = any((c2 <= cost and a2 >= acc) and (c2 < cost or a2 > acc) for _, c2, a2 in points)
        if not dominated:
            front.append(name)
    return front
