"""Clocks, timers, peak memory, machine metadata and the results writer of ``benchmarks/``.

Every ``bench_*.py`` imports from here (a script run as ``python benchmarks/bench_x.py``
has ``benchmarks/`` on ``sys.path``, so ``from timing import ...`` needs no path set-up).

* :func:`clock` -- the clock a benchmark reads on a device: ``time.process_time`` on the
  CPU, ``time.perf_counter`` on CUDA. On the CPU the process's CPU time is what a step
  costs *us*: the machine is shared with other jobs, and their load inflates wall time (we
  wait for a core) much more than it inflates our CPU time; with one torch thread the two
  agree on an idle machine. A CUDA step runs asynchronously on the GPU while the host
  waits, so there only wall time, read after :func:`sync`, counts the GPU's work. The
  benchmarks that have always reported wall time on the CPU as well (``bench_gmpool``,
  ``bench_soft``, ``bench_one_over_k``) pass ``now=time.perf_counter`` to the timers, so
  their numbers stay comparable with their committed results; ``bench_executor`` and
  ``bench_live`` time other processes (Ray workers, a Jupyter kernel) and so read wall time.
* :func:`sync` -- waits for the queued CUDA kernels (nothing on the CPU), so that a
  reading of the clock comes after the work it is meant to include.
* :func:`synced_clock` -- a clock that synchronises CUDA before every reading, for code
  that reads the clock between several timed sections.
* :func:`step_time` -- seconds of one call ``fn(*args)``, with :func:`sync` before
  starting and before stopping the clock.
* :func:`timed` -- :func:`step_time` ``repeats`` times in a row: the list of per-repeat
  seconds (callers take the median or the minimum).
* :func:`peak_memory` -- peak bytes of live tensor allocations during one call: on the
  CPU the running sum of the allocations and frees that ``torch.profiler`` records
  (``profile_memory=True``), on CUDA ``torch.cuda.max_memory_allocated`` above what was
  allocated before the call. Neither counts memory that is not a tensor.
* :func:`machine` -- where a result came from: platform, CPU, core count, torch threads,
  Python and torch versions, device and its name, load average.
* :func:`write_results` -- writes a benchmark's JSON payload and its Markdown summary
  side by side (``<stem>.json`` and ``<stem>.md``).
"""
from __future__ import annotations

import json
import os
import platform
import time
from itertools import accumulate
from pathlib import Path
from typing import Callable, Sequence

import torch

__all__ = ["clock", "clock_name", "sync", "synced_clock", "step_time", "timed", "peak_memory", "machine",
           "write_results"]


def _device_type(device) -> str:
    return "cpu" if device is None else torch.device(device).type


def clock(device=None) -> Callable[[], float]:
    """``time.process_time`` on the CPU (``device`` ``None`` or a CPU device), else
    ``time.perf_counter``."""
    return time.process_time if _device_type(device) == "cpu" else time.perf_counter


def clock_name(device=None) -> str:
    """What :func:`clock` measures on ``device``, as results files record it."""
    return "process CPU time" if _device_type(device) == "cpu" else "wall time"


def sync(device=None) -> None:
    """Wait for CUDA's queued work when ``device`` is a CUDA device; nothing otherwise."""
    if _device_type(device) == "cuda":
        torch.cuda.synchronize()


def synced_clock(device=None) -> Callable[[], float]:
    """:func:`clock` of ``device``; on CUDA every reading first waits for the GPU."""
    if _device_type(device) != "cuda":
        return clock(device)
    now = clock(device)

    def synced() -> float:
        torch.cuda.synchronize()
        return now()

    return synced


def step_time(fn: Callable, *args, device=None, now: Callable[[], float] | None = None) -> float:
    """Seconds of one call ``fn(*args)`` on ``now`` (default :func:`clock` of ``device``),
    synchronising CUDA before the clock starts and before it stops."""
    now = now or clock(device)
    sync(device)
    t0 = now()
    fn(*args)
    sync(device)
    return now() - t0


def timed(fn: Callable[[], object], repeats: int, *, device=None, now: Callable[[], float] | None = None) -> list[float]:
    """Seconds of each of ``repeats`` calls ``fn()``, one after another (see :func:`step_time`)."""
    now = now or clock(device)
    return [step_time(fn, device=device, now=now) for _ in range(repeats)]


def peak_memory(fn: Callable[[], object], device=None) -> int:
    """Peak bytes of live tensor memory allocated during one call ``fn()`` (see the module
    docstring for how each device measures it)."""
    if _device_type(device) == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    return max([0] + list(accumulate(e.self_cpu_memory_usage for e in events)))


def machine(device=None) -> dict:
    """Metadata of this machine and run; benchmarks copy the entries their files record."""
    cpu = platform.processor() or platform.machine()
    dev = torch.device("cpu" if device is None else device)
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu,
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def write_results(stem_or_path, payload: dict, md_lines: Sequence[str], *, indent: int = 2) -> tuple[Path, Path]:
    """Write ``payload`` as JSON and ``md_lines`` (one line each) as Markdown; return both paths.

    A path ending in ``.json`` is the JSON file, the Markdown goes beside it with ``.md``;
    any other path is a stem to which ``.json`` and ``.md`` are appended. Missing folders
    are created.
    """
    path = Path(stem_or_path)
    json_path = path if path.suffix == ".json" else path.with_name(path.name + ".json")
    md_path = json_path.with_suffix(".md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(payload, indent=indent) + "\n")
    md_path.write_text("\n".join(md_lines) + "\n")
    return json_path, md_path
