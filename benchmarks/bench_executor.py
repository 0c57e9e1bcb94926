"""Grid throughput of the experiment executor with 1 and 2 workers, as a ratio in one run.

The same grid tasks run twice: one after another in this process (``workers=1``), then on
an embedded local Ray cluster with 2 workers. Each task is a real grid run
(``poolkit.experiments.grid:run_one``) on NCI1 with a fixed number of epochs and no early
stop, so every task does the same work in both runs (a task that burned a fixed number of
*seconds* would hide contention for the cores). Reported: the wall seconds of each, tasks per
hour, and ``speedup = wall(1 worker) / wall(2 workers)``, which includes starting the cluster;
the target on a 2-core machine is 1.8 or more. The two runs must return the same numbers.
Run it on an idle machine: other jobs take the second core.

    POOLKIT_DATA=../shared/data python benchmarks/bench_executor.py [--epochs 40]

Writes ``benchmarks/results/executor.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from poolkit.experiments.executor import run_tasks
from timing import machine, write_results

OUT = Path(__file__).resolve().parent / "results"
POOLERS = ("nopool", "topk", "graclus", "kmis")


def grid(workers: int, epochs: int):
    specs = [{"dataset": "NCI1", "pooler": p, "seed": 0, "epochs": epochs, "patience": epochs, "batch_size": 64,
              "ratio": 0.25, "hidden": 64, "device": "cpu"} for p in POOLERS]
    got = {}
    t0 = time.perf_counter()
    failures = run_tasks("poolkit.experiments.grid:run_one", specs, list(POOLERS),
                         lambda k, spec, r: got.__setitem__(k, r), workers=workers, progress=False)
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"tasks failed: {failures}")
    return wall, got


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="epochs per task (0.7 to 0.9 s each on NCI1: tasks of 30 s or more)")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    w1, r1 = grid(1, args.epochs)
    w2, r2 = grid(2, args.epochs)
    same = all(r1[p]["curve"] == r2[p]["curve"] and r1[p]["test_accuracy"] == r2[p]["test_accuracy"] for p in POOLERS)
    if not same:
        raise AssertionError("the two runs returned different numbers")
    task_s = {p: round(r1[p]["seconds"], 1) for p in POOLERS}
    n = len(POOLERS)
    host = machine()
    res = {"tasks": list(POOLERS), "epochs_per_task": args.epochs, "task_seconds_1_worker": task_s,
           "cores": host["cpus"], "load_before": load,
           "wall_seconds": {"1 worker": round(w1, 2), "2 workers": round(w2, 2)},
           "tasks_per_hour": {"1 worker": round(3600 * n / w1, 1), "2 workers": round(3600 * n / w2, 1)},
           "speedup": round(w1 / w2, 3), "target": 1.8, "same_numbers": True,
           "host": host["platform"], "python": host["python"]}
    md = ["# Executor throughput, 1 and 2 workers", "",
          f"{n} grid tasks (NCI1, {', '.join(POOLERS)}; {args.epochs} epochs each, no early stop; "
          f"{min(task_s.values()):.0f} to {max(task_s.values()):.0f} s each alone) on {host['cpus']} cores "
          f"(load average {load:.2f} before the run).", "",
          "| workers | wall s | tasks / hour |", "|---|---|---|",
          f"| 1 (this process) | {w1:.1f} | {res['tasks_per_hour']['1 worker']} |",
          f"| 2 (embedded Ray, start included) | {w2:.1f} | {res['tasks_per_hour']['2 workers']} |", "",
          f"Speedup {w1 / w2:.2f} (target 1.8); both runs returned the same numbers (curves and test accuracies)."]
    write_results(OUT / "executor", res, md, indent=1)
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
