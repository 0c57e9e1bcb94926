"""Edge-feature pooling on ESOL: no pooling vs simple vs coarse-grain pooling (Bal et al. 2019).

Reproduces the ESOL column of Table 1 of Bal et al., "Sparse hierarchical representation
learning on molecular graphs" (DLG 2019) at CPU scale::

    python -m poolkit.experiments edge_esol                 # defaults below
    python -m poolkit.experiments.edge_esol --seeds 0 1 2 3 4 --epochs 150

Protocol (stated in the results file): ESOL (1,128 molecules, ``measured log solubility``)
from the raw MoleculeNet CSV, featurised with :func:`poolkit.data.smiles_to_data` (atom
element/degree/charge/hybridisation/aromaticity/H count, bond type/conjugation/ring);
random 80/10/10 split per seed; targets standardised with the training mean and std;
:class:`poolkit.edge.DualMessageNet` with pooling after every convolution but the last;
Adam; the weights of the epoch with the best validation RMSE are tested. The paper tuned
channels per model with hyperband, trained with lr 1e-4 on a GPU and reports 5 runs over 5
random splits; we use one fixed architecture for every model, fewer epochs and seeds.
"""
from __future__ import annotations

import argparse
import csv
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

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
DEFAULT_MODELS = "nopool,simple_0.9,simple_0.7,coarse_0.9,coarse_0.7"


def esol_csv() -> Path:
    """``$POOLKIT_DATA/MoleculeNet/esol/raw/delaney-processed.csv`` or the ``shared/data``
    copy next to the checkout."""
    from ..data import data_root

    name = Path("MoleculeNet") / "esol" / "raw" / "delaney-processed.csv"
    here = Path(__file__).resolve().parents[2]
    cands = [Path(data_root()) / name, here.parent / "shared" / "data" / name]
    for c in cands:
        if c.exists():
            return c
    raise FileNotFoundError(f"delaney-processed.csv not found in {[str(c) for c in cands]}")


def load_esol(limit: int | None = None):
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
    from ..edge import DualMessageNet

    kind, ratio = parse_model(name)
    return DualMessageNet(in_channels, edge_channels, 1, node_channels=node_channels, edge_hidden=edge_hidden,
                          pool=kind, ratio=ratio)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this experiment. ``--seeds``, ``--device``, ``--out`` and ``--quick`` are
    the common options of ``python -m poolkit.experiments``; they are added here only when
    the module runs on its own, with the same meaning."""

    def add(*names, **kw):
        if not any(n in parser._option_string_actions for n in names):
            parser.add_argument(*names, **kw)

    add("--models", default=DEFAULT_MODELS, help="comma-separated: nopool, simple_<ρ>, coarse_<ρ>")
    add("--seeds", type=int, nargs="+", default=[0, 1, 2], help="random seeds, one split and run each")
    add("--epochs", type=int, default=25)
    add("--batch-size", type=int, default=32)
    add("--lr", type=float, default=1e-3)
    add("--node-channels", default="128,128")
    add("--edge-channels", default="64,64")
    add("--limit", type=int, default=None, help="use only the first molecules (smoke tests)")
    add("--threads", type=int, default=1,
        help="torch CPU threads per process (1 is as fast for small molecules and robust on a busy machine)")
    add("--workers", type=int, default=1, help="processes; each trains one (split, model) pair at a time")
    add("--quick", action="store_true", help="smoke test: 200 molecules, 2 epochs, one seed")
    add("--device", default=None)
    add("--out", default="results/edge_esol.json")


def _ints(s: str):
    return tuple(int(v) for v in str(s).split(",") if v.strip())


_GRAPHS: list = []  # the data set, inherited by forked workers (not pickled per task)


def _run_job(job, node_ch, edge_ch, args, device):
    """Train and test one model (``job = (seed, name)``) on the random split of its seed."""
    s, name = job
    return _run_seed(s, _GRAPHS, [name], node_ch, edge_ch, args, device)


def _run_seed(s, graphs, models, node_ch, edge_ch, args, device):
    """Train and test every model on the random split of seed ``s``."""
    from torch_geometric.loader import DataLoader

    from ..data import random_split
    from ..train import evaluate, fit, set_seed

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    tr, va, te = random_split(len(graphs), (0.8, 0.1, 0.1), seed=s)
    ytr = torch.cat([graphs[i].y.view(-1) for i in tr])
    mu, sd = float(ytr.mean()), float(ytr.std())

    def part(idx):
        out = []
        for i in idx:
            d = graphs[i].clone()
            d.y = (d.y - mu) / sd
            out.append(d)
        return out

    train_set, val_set, test_set = part(tr), part(va), part(te)
    runs = []
    for name in models:
        set_seed(s)
        model = build_model(name, graphs[0].x.size(1), graphs[0].edge_attr.size(1), node_ch, edge_ch)
        t1 = time.time()
        hist = fit(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
                   DataLoader(val_set, batch_size=256), epochs=args.epochs, task="regression", lr=args.lr,
                   progress=False, device=device, monitor="val_rmse", restore_best=True)
        test = evaluate(model, DataLoader(test_set, batch_size=256), "regression", device=device)
        best_val = min(h["val_rmse"] for h in hist) * sd
        epoch_s = float(np.median([h["seconds"] for h in hist]))
        runs.append({"model": name, "seed": s, "test_rmse": test["rmse"] * sd, "best_val_rmse": best_val,
                     "epochs": len(hist), "median_epoch_seconds": epoch_s, "seconds": time.time() - t1})
        print(f"seed {s} {name:11s} test RMSE {test['rmse'] * sd:.3f} (val {best_val:.3f}) "
              f"{epoch_s:.2f} s/epoch", flush=True)
    return runs


def run(args) -> dict:
    from ..train import get_device

    t0 = time.time()
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    if getattr(args, "quick", False):
        args.limit, args.epochs, args.seeds = args.limit or 200, min(args.epochs, 2), list(args.seeds)[:1]
    graphs = load_esol(args.limit)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        parse_model(m)
    node_ch, edge_ch = _ints(args.node_channels), _ints(args.edge_channels)
    seeds = [int(v) for v in (args.seeds if isinstance(args.seeds, (list, tuple)) else [args.seeds])]
    jobs = [(s, name) for s in seeds for name in models]
    _GRAPHS[:] = list(graphs)
    job = partial(_run_job, node_ch=node_ch, edge_ch=edge_ch, args=args, device=device)
    workers = max(1, min(int(getattr(args, "workers", 1) or 1), len(jobs)))
    if workers == 1:
        per_job = [job(j) for j in jobs]
    else:  # one (split, model) run per task; each process uses args.threads torch threads
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
            per_job = list(ex.map(job, jobs))
    runs = [r for rs in per_job for r in rs]
    summary = {}
    base = None
    for name in models:
        v = [r["test_rmse"] for r in runs if r["model"] == name]
        t = [r["median_epoch_seconds"] for r in runs if r["model"] == name]
        summary[name] = {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v),
                         "epoch_seconds": float(np.mean(t)),
                         "paper_mean": PAPER.get(name, (None, None))[0], "paper_std": PAPER.get(name, (None, None))[1]}
        if name == "nopool":
            base = summary[name]["epoch_seconds"]
    if base is not None:
        for name in models:
            summary[name]["speedup"] = base / summary[name]["epoch_seconds"] - 1.0
    argv = []
    for k, v in vars(args).items():
        if k in ("out", "device", "root", "no_progress", "quick", "name", "func", "experiment") or v is None:
            continue
        v = " ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else v
        argv.append(f"--{k.replace('_', '-')} {v}")
    result = {
        "experiment": "edge_esol",
        "command": "python -m poolkit.experiments edge_esol " + " ".join(argv),
        "protocol": {
            "data": f"ESOL, {len(graphs)} molecules (of which RDKit skipped {graphs.skipped}), "
                    "poolkit.data featurisation, heavy atoms only",
            "split": "random 80/10/10 per seed (poolkit.data.random_split), one run per split",
            "seeds": seeds,
            "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "node_channels": list(node_ch), "edge_channels": list(edge_ch),
            "targets": "standardised with the training mean/std; RMSE reported in log(mol/L)",
            "selection": "weights of the epoch with the best validation RMSE",
            "speedup": "median training seconds per epoch of no pooling / of the model, minus 1 "
                       "(CPU, torch threads per process = --threads, on a machine shared with other jobs: "
                       "indicative only)",
            "paper": "hyperband-tuned channels per model, Adam lr 1e-4, GPU, 5 runs over 5 random 80/10/10 splits",
        },
        "metric": "test RMSE",
        "runs": runs,
        "summary": summary,
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "device": str(device),
        "threads": torch.get_num_threads(),
        "wall_seconds": time.time() - t0,
    }
    return result  # the dispatcher writes it with write_results (results/NAME.json or --out)


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["edge_esol"] + sys.argv[1:]))
