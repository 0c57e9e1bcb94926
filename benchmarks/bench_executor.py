"""Throughput of the experiment executor with 1 and 2 workers, as a ratio in one run.

The same grid of ``--tasks`` CPU-bound tasks of ``--seconds`` each (one torch thread,
``poolkit.experiments.executor.probe_task``: seeded matrix products, the compute pattern of
a small GNN epoch) runs first one after another in this process (``workers=1``), then on an
embedded local Ray cluster with 2 workers. Reported: wall seconds of each, tasks per hour,
and ``speedup = wall(1 worker) / wall(2 workers)``, which includes starting the cluster;
the target on a 2-core machine is 1.8 or more. The two runs must return the same numbers.
Run it on an idle machine: other jobs take the second core.

    python benchmarks/bench_executor.py [--tasks 4] [--seconds 30]

Writes ``benchmarks/results/executor.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from poolkit.experiments.executor import run_tasks

OUT = Path(__file__).resolve().parent / "results"


def grid(workers: int, tasks: int, seconds: float):
    got = {}
    t0 = time.perf_counter()
    failures = run_tasks("poolkit.experiments.executor:probe_task", [{"seed": s, "seconds": seconds} for s in range(tasks)],
                         list(range(tasks)), lambda k, spec, r: got.__setitem__(k, r["value"]), workers=workers,
                         progress=False)
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"tasks failed: {failures}")
    return wall, got


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of work per task (at least 30 for the target)")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    w1, v1 = grid(1, args.tasks, args.seconds)
    w2, v2 = grid(2, args.tasks, args.seconds)
    if v1 != v2:
        raise AssertionError("the two runs returned different numbers")
    res = {"tasks": args.tasks, "seconds_per_task": args.seconds, "cores": os.cpu_count(), "load_before": load,
           "wall_seconds": {"1 worker": round(w1, 2), "2 workers": round(w2, 2)},
           "tasks_per_hour": {"1 worker": round(3600 * args.tasks / w1, 1), "2 workers": round(3600 * args.tasks / w2, 1)},
           "speedup": round(w1 / w2, 3), "target": 1.8, "same_numbers": True,
           "host": platform.platform(), "python": platform.python_version()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "executor.json").write_text(json.dumps(res, indent=1))
    md = ["# Executor throughput, 1 and 2 workers", "",
          f"{args.tasks} tasks of {args.seconds:.0f} s of one-thread work each, on {os.cpu_count()} cores "
          f"(load average {load:.2f} before the run).", "",
          "| workers | wall s | tasks / hour |", "|---|---|---|",
          f"| 1 (this process) | {w1:.1f} | {res['tasks_per_hour']['1 worker']} |",
          f"| 2 (embedded Ray, start included) | {w2:.1f} | {res['tasks_per_hour']['2 workers']} |", "",
          f"Speedup {w1 / w2:.2f} (target 1.8); both runs returned the same numbers."]
    (OUT / "executor.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
