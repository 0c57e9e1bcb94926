"""Edge-feature pooling on ESOL: no pooling vs simple vs coarse-grain pooling (Bal et al. 2019).

Reproduces the ESOL column of Table 1 of Bal et al., "Sparse hierarchical representation
learning on molecular graphs" (DLG 2019)::

    OMP_NUM_THREADS=1 python -m poolkit.experiments edge_esol --seeds 0 1 2 3 4

Protocol (also stored in the results file): all 1,128 ESOL molecules (``measured log
solubility``) from the raw MoleculeNet CSV, featurised with
:func:`poolkit.data.smiles_to_data`; one random 80/10/10 split per seed (the paper: 5 runs
over 5 random splits); targets standardised with the training mean and std;
:class:`poolkit.edge.DualMessageNet` with one pooling layer between its two convolutions;
Adam; early stopping on validation RMSE (``--patience`` epochs without improvement, at most
``--epochs``), and the weights of the best validation epoch are tested. Every model of a
split trains on the same split, so the models pair up split by split.

Before training, every split also times ``--timing-rounds`` rounds of one training epoch
of every model, interleaved (model order rotated each round), so the seconds-per-epoch
ratios compare models measured at the same moment on a shared machine.

The results file is rewritten after every run (splits outermost), so a partial file is
already a usable, smaller experiment; ``--resume`` continues one with the same settings
(finished runs are kept, the missing ``(split, model)`` runs are added, and the file lists
every command that wrote to it). :mod:`poolkit.experiments.edge_bbbp` runs the same
protocol on BBBP with a scaffold split.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from .claims_table import claim_row, paired_values
from .common import command_history, command_line, resume_from

# Paper, Table 1 (ESOL RMSE, mean ± std over 5 random splits).
PAPER = {
    "nopool": (0.410, 0.023),
    "simple_0.9": (0.410, 0.018),
    "simple_0.8": (0.417, 0.027),
    "simple_0.7": (0.485, 0.020),
    "simple_0.6": (0.413, 0.021),
    "simple_0.5": (0.437, 0.016),
    "coarse_0.9": (0.420, 0.015),
    "coarse_0.8": (0.430, 0.019),
    "coarse_0.7": (0.472, 0.013),
    "coarse_0.6": (0.495, 0.053),
    "coarse_0.5": (0.412, 0.031),
}
# Paper, Table 2: speed-up of simple pooling over no pooling on HIV (elapsed real time).
PAPER_SPEEDUP = {"simple_0.9": 0.16, "simple_0.8": 0.24, "simple_0.7": 0.47, "simple_0.6": 0.55, "simple_0.5": 0.70}
DEFAULT_MODELS = "nopool,simple_0.9,simple_0.7,coarse_0.9,coarse_0.7"
#: Paper, Table 4: the hyperband-tuned widths of each model, ``(node channels, edge channels)``
#: of its two message-passing layers, per data set. ``--table4`` trains each model at these.
TABLE4 = {
    "edge_esol": {"nopool": ((128, 128), (128, 128)), "simple_0.9": ((256, 256), (128, 128)),
                  "coarse_0.9": ((128, 128), (256, 256))},
    "edge_bbbp": {"nopool": ((128, 128), (256, 256)), "simple_0.8": ((512, 512), (128, 128)),
                  "coarse_0.8": ((512, 512), (256, 256))},
}


def model_channels(experiment: str, model: str, args):
    """``(node channels, edge channels)`` of ``model``: the paper's Table 4 widths with
    ``--table4``, else ``--node-channels`` / ``--edge-channels`` for every model."""
    if getattr(args, "table4", False):
        table = TABLE4[experiment]
        if model not in table:
            raise ValueError(f"--table4: Table 4 gives no widths for {model!r} on {experiment}; "
                             f"it gives {', '.join(table)}")
        return table[model]
    return _ints(args.node_channels), _ints(args.edge_channels)


def _csv(folder: str, file: str) -> Path:
    """``$POOLKIT_DATA/MoleculeNet/<folder>/raw/<file>`` or the ``shared/data`` copy next to
    the checkout."""
    from ..data import data_root

    name = Path("MoleculeNet") / folder / "raw" / file
    here = Path(__file__).resolve().parents[2]
    cands = [Path(data_root()) / name, here.parent / "shared" / "data" / name]
    for c in cands:
        if c.exists():
            return c
    raise FileNotFoundError(f"{file} not found in {[str(c) for c in cands]}")


def esol_csv() -> Path:
    return _csv("esol", "delaney-processed.csv")


def load_esol(limit: Optional[int] = None):
    """ESOL as a list of PyG graphs with ``y`` = measured log solubility (mol/L)."""
    from ..data import molecules_from_smiles

    with open(esol_csv()) as fh:
        rows = list(csv.DictReader(fh))
    if limit is not None:
        rows = rows[:limit]
    smiles = [r["smiles"].strip() for r in rows]
    ys = [float(r["measured log solubility in mols per litre"]) for r in rows]
    return molecules_from_smiles(smiles, ys)


def parse_model(name: str):
    """``"nopool"`` → ``(None, 1.0)``; ``"simple_0.9"`` → ``("simple", 0.9)``."""
    if name == "nopool":
        return None, 1.0
    kind, _, ratio = name.partition("_")
    if kind not in ("simple", "coarse") or not ratio:
        raise ValueError(f"model names are 'nopool', 'simple_<ratio>' or 'coarse_<ratio>', got {name!r}")
    return kind, float(ratio)


def build_model(name: str, in_channels: int, edge_channels: int, node_channels, edge_hidden):
    from ..nn.edge import DualMessageNet

    kind, ratio = parse_model(name)
    return DualMessageNet(in_channels, edge_channels, 1, node_channels=node_channels, edge_hidden=edge_hidden,
                          pool=kind, ratio=ratio)


def add_arguments(parser: argparse.ArgumentParser, epochs: int = 150, patience: int = 20) -> None:
    """Options of this experiment. ``--seeds``, ``--device``, ``--out`` and ``--quick`` are
    the common options of ``python -m poolkit.experiments``; they are added here only when
    the module runs on its own, with the same meaning."""

    def add(*names, **kw):
        if not any(n in parser._option_string_actions for n in names):
            parser.add_argument(*names, **kw)

    add("--models", default=DEFAULT_MODELS, help="comma-separated: nopool, simple_<ρ>, coarse_<ρ>")
    add("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="random seeds, one split and run each")
    add("--epochs", type=int, default=epochs, help="most epochs per run (early stopping usually ends it sooner)")
    add("--patience", type=int, default=patience, help="stop after this many epochs without a better validation score")
    add("--batch-size", type=int, default=32)
    add("--lr", type=float, default=1e-3)
    add("--node-channels", default="64,64")
    add("--edge-channels", default="32,32")
    add("--table4", action="store_true",
        help="train each model at the paper's Table 4 widths (overrides --node-channels/--edge-channels)")
    add("--timing-rounds", type=int, default=1, help="interleaved one-epoch timing rounds per split (0: none)")
    add("--limit", type=int, default=None, help="use only the first molecules (smoke tests)")
    add("--threads", type=int, default=1, help="torch CPU threads")
    add("--resume", action="store_true",
        help="keep the runs already in --out (same settings) and add the missing (split, model) runs")
    add("--quick", action="store_true", help="smoke test: 200 molecules, 2 epochs, one seed")
    add("--device", default=None)
    add("--out", default=None)
    from .executor import add_executor_arguments

    add_executor_arguments(parser)


def _ints(s: str):
    return tuple(int(v) for v in str(s).split(",") if v.strip())


def standardise(graphs, train_idx, idx_lists):
    """Copies of the graphs of each index list with ``y`` standardised by the training mean
    and std; returns ``(parts, mean, std)``."""
    ytr = torch.cat([graphs[i].y.view(-1) for i in train_idx])
    mu, sd = float(ytr.mean()), float(ytr.std())
    parts = []
    for idx in idx_lists:
        out = []
        for i in idx:
            d = graphs[i].clone()
            d.y = (d.y - mu) / sd
            out.append(d)
        parts.append(out)
    return parts, mu, sd


def time_epochs(models: Sequence[str], train_set, make_model: Callable, task: str, lr: float, batch_size: int,
                rounds: int, device, seed: int = 0) -> Dict[str, List[float]]:
    """Training seconds of one epoch of every model, ``rounds`` times, interleaved (model
    order rotated each round) so that every model meets the same machine load."""
    from torch_geometric.loader import DataLoader

    from ..train import fit, set_seed

    times: Dict[str, List[float]] = {m: [] for m in models}
    if rounds <= 0:
        return times
    built = {}
    for m in models:
        set_seed(seed)
        net = make_model(m).to(device)
        built[m] = (net, torch.optim.Adam(net.parameters(), lr=lr))
    for r in range(rounds):
        order = list(models[r % len(models):]) + list(models[:r % len(models)])
        for m in order:
            net, opt = built[m]
            torch.manual_seed(seed + r)
            # one epoch of the same loop the runs train with; fit's clock stops after the
            # epoch's last step, whose losses it has read back (so CUDA has finished)
            hist = fit(net, DataLoader(train_set, batch_size=batch_size, shuffle=True), epochs=1, task=task,
                       optimizer=opt, progress=False, device=device)
            times[m].append(float(hist["seconds"][0]))
    return times


def train_run(name: str, seed: int, sets, make_model: Callable, task: str, monitor: str, args, device,
              scale: float = 1.0) -> dict:
    """Train one model with early stopping on ``monitor``; test the best validation epoch."""
    from torch_geometric.loader import DataLoader

    from ..train import evaluate, fit, set_seed

    train_set, val_set, test_set = sets
    set_seed(seed)
    model = make_model(name)
    t1 = time.time()
    hist = fit(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
               DataLoader(val_set, batch_size=256), epochs=args.epochs, task=task, lr=args.lr,
               progress=False, device=device, monitor=monitor, patience=args.patience, restore_best=True)
    test = evaluate(model, DataLoader(test_set, batch_size=256), task, device=device)
    vals = [h[monitor] for h in hist]
    higher = "auc" in monitor
    best_i = int(np.argmax(vals) if higher else np.argmin(vals))
    key = monitor[len("val_"):]
    sec = [h["seconds"] for h in hist]
    return {
        "model": name, "seed": seed,
        f"test_{key}": test[key] * scale,
        f"best_val_{key}": vals[best_i] * scale,
        "best_epoch": best_i + 1,
        "epochs": len(hist),
        "stopped_early": len(hist) < args.epochs,
        "median_epoch_seconds": float(np.median(sec)),
        "seconds": time.time() - t1,
        "curve": {f"val_{key}": [round(v * scale, 5) for v in vals],
                  "train_loss": [round(h["loss"], 5) for h in hist],
                  "epoch_seconds": [round(s, 4) for s in sec]},
    }



#: The options a training task needs, passed to executor tasks by value.
TASK_ARGS = ("epochs", "lr", "batch_size", "patience", "node_channels", "edge_channels", "table4")
_GRAPHS: dict = {}


def _experiment_graphs(name: str, limit):
    """The molecules of ``edge_esol`` or ``edge_bbbp``, featurised once per process."""
    if (name, limit) not in _GRAPHS:
        # edge_bbbp imports this module, so its loader is found by name, not imported here
        loader = load_esol if name == "edge_esol" else importlib.import_module(f"{__package__}.edge_bbbp").load_bbbp
        _GRAPHS[(name, limit)] = loader(limit)
    return _GRAPHS[(name, limit)]


def run_one(spec: dict) -> dict:
    """One (split, seed, model) training run of ``edge_esol`` or ``edge_bbbp``: what every
    executor task runs. Returns the results file's run row."""
    from types import SimpleNamespace

    from ..train import get_device

    name, graphs = spec["experiment"], _experiment_graphs(spec["experiment"], spec.get("limit"))
    tr, va, te = spec["idx"]
    if spec["scale_targets"]:
        sets, _, sd = standardise(graphs, tr, (tr, va, te))
    else:
        sets, sd = [[graphs[i] for i in idx] for idx in (tr, va, te)], 1.0
    args = SimpleNamespace(**spec["args"])
    in_ch, e_ch = graphs[0].x.size(1), graphs[0].edge_attr.size(1)

    def make_model(m):
        return build_model(m, in_ch, e_ch, *model_channels(name, m, args))

    r = train_run(spec["model"], int(spec["seed"]), sets, make_model, spec["task"], spec["monitor"], args,
                  get_device(spec.get("device")), scale=sd)
    r["split"] = spec["split"]
    r["sizes"] = [len(tr), len(va), len(te)]
    return r


def run_protocol(name: str, args, graphs, splits, task: str, monitor: str, protocol: dict, paper: dict,
                 scale_targets: bool) -> dict:
    """Shared driver of ``edge_esol`` and ``edge_bbbp``.

    ``splits`` is a list of ``(split_label, seed, (train, val, test))`` in run order (the
    outer loop); every model trains on each. The results file (``args.out``) is rewritten
    after every run.
    """
    from ..train import get_device
    from .common import write_results

    t0 = time.time()
    torch.set_num_threads(int(getattr(args, "threads", 1) or 1))
    device = get_device(args.device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        parse_model(m)
        model_channels(name, m, args)
    in_ch, e_ch = graphs[0].x.size(1), graphs[0].edge_attr.size(1)

    def make_model(m):
        return build_model(m, in_ch, e_ch, *model_channels(name, m, args))

    runs: List[dict] = []
    timing: List[dict] = []
    out = args.out or f"results/{name}.json"
    command = command_line(name, env="OMP_NUM_THREADS=1")
    commands = [command]
    wall_before = 0.0
    old = resume_from(out, protocol, ("data", "split", "lr", "batch_size", "max_epochs", "patience",
                                      "node_channels", "edge_channels", "channels_by_model")) if getattr(args, "resume", False) else None
    if old is not None:
        runs = [r for r in old["runs"]]
        timing = list(old.get("timing", []))
        commands = command_history(old, command)
        wall_before = float(old.get("wall_seconds_total", old.get("wall_seconds") or 0.0))
        models = list(old.get("models", [])) + [m for m in models if m not in old.get("models", [])]
    run_models = [m.strip() for m in args.models.split(",") if m.strip()]
    split_order = {(label, seed): i for i, (label, seed, _) in enumerate(splits)}
    done = {(r["split"], r["seed"], r["model"]) for r in runs}

    def save(complete: bool):
        from .common import summarize

        per_model = {m: summarize([{k: v for k, v in r.items() if k != "curve"} for r in runs if r["model"] == m],
                                  skip=("seed", "split", "best_epoch", "epochs"))
                     for m in models if any(r["model"] == m for r in runs)}
        runs.sort(key=lambda r: (split_order.get((r["split"], r["seed"]), len(split_order)), models.index(r["model"])))
        have = {(r["split"], r["seed"], r["model"]) for r in runs}
        complete = complete and all((label, seed, m) in have for (label, seed) in split_order for m in models)
        extra = {"experiment": name, "summary": per_model, "command": command, "commands": commands,
                 "wall_seconds_total": wall_before + time.time() - t0, "protocol": protocol, "paper": paper,
                 "models": models, "timing": timing, "complete": complete,
                 "metric": f"test_{monitor[len('val_'):]}", "threads": torch.get_num_threads()}
        cfg = {k: v for k, v in vars(args).items() if k not in ("func",)}
        return write_results(name, runs, cfg, out=out, device=device, wall_seconds=time.time() - t0, extra=extra)

    # Timing first, one split at a time in this process, so that every model meets the same
    # load; then the training runs, as executor tasks.
    specs, keys = [], []
    for label, seed, (tr, va, te) in splits:
        todo = [m for m in run_models if (label, seed, m) not in done]
        if not todo:
            continue
        timed = any(t["split"] == label and t["seed"] == seed for t in timing)
        rounds = 0 if timed else int(getattr(args, "timing_rounds", 0) or 0)
        if rounds:
            if scale_targets:
                sets, _, _ = standardise(graphs, tr, (tr, va, te))
            else:
                sets = [[graphs[i] for i in idx] for idx in (tr, va, te)]
            t = time_epochs(run_models, sets[0], make_model, task, args.lr, args.batch_size, rounds, device, seed)
            timing.append({"split": label, "seed": seed, "seconds": t,
                           "median": {m: float(np.median(v)) for m, v in t.items()}})
            print(f"split {label}: seconds/epoch " + ", ".join(f"{m} {np.median(v):.2f}" for m, v in t.items()),
                  flush=True)
            save(False)
        for m in todo:
            specs.append({"experiment": name, "limit": getattr(args, "limit", None), "split": label, "seed": seed,
                          "idx": [list(map(int, tr)), list(map(int, va)), list(map(int, te))], "model": m,
                          "scale_targets": scale_targets, "task": task, "monitor": monitor,
                          "device": None if args.device is None else str(args.device),
                          "args": {k: getattr(args, k, None) for k in TASK_ARGS}})
            keys.append((label, seed, m))

    def on_result(key, spec, r):
        runs.append(r)
        k = monitor[len("val_"):]
        print(f"split {key[0]} seed {key[1]} {key[2]:11s} test {k} {r[f'test_{k}']:.3f} "
              f"(best val {r[f'best_val_{k}']:.3f} at epoch {r['best_epoch']}/{r['epochs']}) "
              f"{r['median_epoch_seconds']:.2f} s/epoch", flush=True)
        save(False)

    from .executor import executor_from_args, run_tasks

    opts = executor_from_args(args)
    failures = run_tasks("poolkit.experiments.edge_esol:run_one", specs, keys, on_result,
                         progress=not getattr(args, "no_progress", False), **opts)
    if failures:
        print(f"{len(failures)} runs failed: {failures}", flush=True)
    path = save(True)
    import json

    doc = json.loads(Path(path).read_text())
    return {"runs": runs, "config": doc["config"],
            **{k: doc[k] for k in ("experiment", "summary", "command", "commands", "wall_seconds_total", "protocol", "paper", "models", "timing", "complete",
                                    "metric", "threads")}}


def run(args) -> dict:
    from ..data import random_split

    if getattr(args, "quick", False):
        args.limit, args.epochs, args.seeds = args.limit or 200, min(args.epochs, 2), list(args.seeds)[:1]
        args.timing_rounds = min(int(args.timing_rounds), 1)
    graphs = load_esol(args.limit)
    seeds = [int(v) for v in (args.seeds if isinstance(args.seeds, (list, tuple)) else [args.seeds])]
    splits = [(s, s, random_split(len(graphs), (0.8, 0.1, 0.1), seed=s)) for s in seeds]
    protocol = {
        "data": f"ESOL, {len(graphs)} molecules (RDKit could not parse {graphs.skipped}), "
                "poolkit.data featurisation, heavy atoms only",
        "split": "one random 80/10/10 split per seed (poolkit.data.random_split); every model trains on each",
        "seeds": seeds,
        "max_epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size, "lr": args.lr,
        "optimizer": "Adam, constant learning rate",
        "node_channels": list(_ints(args.node_channels)), "edge_channels": list(_ints(args.edge_channels)),
        "channels_by_model": ({m: [list(n), list(e)] for m, (n, e) in TABLE4["edge_esol"].items()}
                              if getattr(args, "table4", False) else None),
        "targets": "standardised with the training mean/std; RMSE reported in log(mol/L)",
        "selection": "early stopping on validation RMSE; the weights of the best validation epoch are tested",
        "timing": "seconds of one training epoch (no validation), --timing-rounds interleaved rounds per split "
                  "before training, plus the median epoch of every training run; one process, --threads torch threads",
        "paper": "hyperband-tuned channels per model (Table 4), Adam lr 1e-4, Tesla K80 GPU, "
                 "5 runs over 5 random 80/10/10 splits",
    }
    paper = {"metric": {k: {"mean": v[0], "std": v[1]} for k, v in PAPER.items()},
             "speedup_hiv_simple": PAPER_SPEEDUP}
    return run_protocol("edge_esol", args, graphs, splits, "regression", "val_rmse", protocol, paper,
                        scale_targets=True)


# --------------------------------------------------------------------------- reading a results file
#: What a results file's claims are called in the claims table, by file name.
LABELS = {"edge_esol": "ours", "edge_esol_table4": "Table 4 widths, lr 1e-4", "edge_bbbp": None,
          "edge_bbbp_table4": "Table 4 widths, lr 1e-4"}


def runs_of(res: dict, model: str) -> dict:
    """The runs of one model in an edge results file, keyed by ``(split, seed)``: models
    pair up split by split (ESOL) or seed by seed (BBBP's fixed scaffold split)."""
    return {(r["split"], r["seed"]): r for r in res["runs"] if r["model"] == model}


def paired(res: dict, a: str, b: str, key: str):
    """``key`` (``"test_rmse"``, ``"test_roc_auc"``, ...) of models ``a`` and ``b`` over the
    splits or seeds both ran, in the same order."""
    _, xa, xb = paired_values({k: r[key] for k, r in runs_of(res, a).items()},
                              {k: r[key] for k, r in runs_of(res, b).items()})
    return xa, xb


def timing_pairs(res: dict, model: str, base: str = "nopool") -> list:
    """Per split: the speed-up of ``model`` over ``base`` per training epoch,
    ``t_base / t_model - 1``, from the interleaved timing rounds."""
    return [t["median"][base] / t["median"][model] - 1.0 for t in res["timing"] if model in t["median"]]


def model_table(res: dict):
    """One row per model of an edge results file: our metric (mean ± std), the paper's,
    seconds per epoch (interleaved rounds and training) and the epochs the runs took."""
    import pandas as pd

    from ..stats import summary

    metric = res["metric"]
    rows = {}
    for m in res["models"]:
        rs = list(runs_of(res, m).values())
        if not rs:
            continue
        s = summary([r[metric] for r in rs])
        p = res["paper"]["metric"].get(m)
        sec = [t["median"][m] for t in res["timing"] if m in t["median"]]
        rows[m] = {f"ours ({metric[5:]})": f"{s['mean']:.3f} ± {s['std'] or 0:.3f}", "n": s["n"],
                   "paper": f"{p['mean']:.3f} ± {p['std']:.3f}" if p else "–",
                   "s / epoch (interleaved)": round(float(np.median(sec)), 2) if sec else None,
                   "s / epoch (training)": round(float(np.median([r["median_epoch_seconds"] for r in rs])), 2),
                   "best epoch (median)": int(np.median([r["best_epoch"] for r in rs])),
                   "epochs run (median)": int(np.median([r["epochs"] for r in rs]))}
    return pd.DataFrame(rows).T


def claim_rows(res: dict, name: str = "edge_esol", models: Sequence[str] = ("simple_0.9", "coarse_0.9")) -> list:
    """The rows of :func:`poolkit.experiments.claims` for an ESOL results file: Bal et al.'s
    Table 1 says pooling keeps ESOL accuracy, read as "``model`` ≈ nopool" within the RMSE
    margin (:data:`poolkit.stats.MARGINS`), over the five random splits (the corrected
    resampled interval). Only a complete file (every model on every split) is judged."""
    from ..stats import MARGINS

    if not res.get("complete"):
        return []
    margin, paper = MARGINS["rmse"][0], res["paper"]["metric"]
    rows = []
    for m in models:
        a, b = paired(res, m, "nopool", "test_rmse")
        if len(a) < 2:
            continue
        rows.append(claim_row(a, b, "equal", experiment=name, dataset="ESOL", A=m, B="nopool",
                              claim=f"ESOL ({LABELS.get(name, name)}): {m} ≈ nopool (RMSE)", margin=margin,
                              paper_a=paper[m]["mean"], paper_b=paper["nopool"]["mean"],
                              test_train_ratio=0.1 / 0.8, design="random_splits"))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["edge_esol"] + sys.argv[1:]))
