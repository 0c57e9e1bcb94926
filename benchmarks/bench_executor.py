"""Grid throughput of the experiment executor with 1 and 2 workers, as a ratio in one run.

The same grid tasks run twice: one after another in this process (``workers=1``), then on
an embedded local Ray cluster with 2 workers. Each task is a real grid run
(``poolkit.experiments.grid:run_one``) on NCI1 with a fixed number of epochs and no early
stop, so every task does the same work in both runs (a task that burned a fixed number of
*seconds* would hide contention for the cores). Reported: the wall seconds of each, tasks per
hour, and two ratios: ``speedup = wall(1 worker) / wall(2 workers)`` with starting the cluster
included, and the steady-state ratio with the cluster's start (timed on its own, before the
tasks are sent) left out, which is what a grid of hours sees. The target on a 2-core machine
is 1.8 or more. ``--seeds`` seeds per pooler (default 2, so 8 tasks: with 4, one long task at
the end leaves a worker idle and the ratio measures that, not the executor). The two runs
must return the same numbers.
Run it on an idle machine: other jobs take the second core.

    POOLKIT_DATA=../shared/data python benchmarks/bench_executor.py [--epochs 40]

Writes ``benchmarks/results/executor.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from poolkit.experiments.executor import ray_init_kwargs, run_tasks
from timing import machine, write_results

OUT = Path(__file__).resolve().parent / "results"
POOLERS = ("nopool", "topk", "graclus", "kmis")


def grid(workers: int, epochs: int, seeds: int):
    """Wall seconds of the tasks with the cluster's start, of the start alone, and the results."""
    keys = [(p, s) for s in range(seeds) for p in POOLERS]
    specs = [{"dataset": "NCI1", "pooler": p, "seed": s, "epochs": epochs, "patience": epochs, "batch_size": 64,
              "ratio": 0.25, "hidden": 64, "device": "cpu"} for p, s in keys]
    got = {}
    t0 = time.perf_counter()
    start = 0.0
    if workers > 1:   # start the embedded cluster as run_tasks would, and time it on its own
        import ray

        ray.init(**ray_init_kwargs(workers))
        start = time.perf_counter() - t0
    try:
        failures = run_tasks("poolkit.experiments.grid:run_one", specs, keys,
                             lambda k, spec, r: got.__setitem__(k, r), workers=workers, progress=False)
    finally:
        if workers > 1:
            ray.shutdown()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"tasks failed: {failures}")
    return wall, start, got


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="epochs per task (0.7 to 0.9 s each on NCI1: tasks of 30 s or more)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per pooler: 4 tasks each")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    w1, _, r1 = grid(1, args.epochs, args.seeds)
    w2, start, r2 = grid(2, args.epochs, args.seeds)
    same = all(r1[k]["curve"] == r2[k]["curve"] and r1[k]["test_accuracy"] == r2[k]["test_accuracy"] for k in r1)
    if not same or set(r1) != set(r2):
        raise AssertionError("the two runs returned different numbers")
    task_s = {f"{p}/{s}": round(r["seconds"], 1) for (p, s), r in r1.items()}
    n = len(r1)
    steady = w1 / (w2 - start)
    host = machine()
    res = {"tasks": sorted(task_s), "epochs_per_task": args.epochs, "task_seconds_1_worker": task_s,
           "cores": host["cpus"], "load_before": load,
           "wall_seconds": {"1 worker": round(w1, 2), "2 workers": round(w2, 2)},
           "cluster_start_seconds": round(start, 2),
           "tasks_per_hour": {"1 worker": round(3600 * n / w1, 1), "2 workers": round(3600 * n / w2, 1),
                              "2 workers, start left out": round(3600 * n / (w2 - start), 1)},
           "speedup": round(w1 / w2, 3), "speedup_steady_state": round(steady, 3), "target": 1.8,
           "same_numbers": True, "host": host["platform"], "python": host["python"]}
    md = ["# Executor throughput, 1 and 2 workers", "",
          f"{n} grid tasks (NCI1, {', '.join(POOLERS)} x {args.seeds} seeds; {args.epochs} epochs each, no early "
          f"stop; {min(task_s.values()):.0f} to {max(task_s.values()):.0f} s each alone) on {host['cpus']} cores "
          f"(load average {load:.2f} before the run).", "",
          "| workers | wall s | tasks / hour |", "|---|---|---|",
          f"| 1 (this process) | {w1:.1f} | {res['tasks_per_hour']['1 worker']} |",
          f"| 2 (embedded Ray, start included) | {w2:.1f} | {res['tasks_per_hour']['2 workers']} |",
          f"| 2 (start, {start:.1f} s, left out) | {w2 - start:.1f} | "
          f"{res['tasks_per_hour']['2 workers, start left out']} |", "",
          f"Speedup {w1 / w2:.2f} with the cluster's start, {steady:.2f} without it (target 1.8); both runs "
          "returned the same numbers (curves and test accuracies)."]
    write_results(OUT / "executor", res, md, indent=1)
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
