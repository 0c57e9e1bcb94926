"""Run an experiment's tasks in this process, on an embedded Ray cluster, or on a Ray cluster.

An experiment is a list of independent tasks, one per (dataset, model, seed). Each task is
a module-level function ``fn(spec) -> dict`` named by ``"module:function"`` and a spec of
plain values, so that any process can import it and run it:

* ``workers=1`` and no address: the tasks run one after another in this process (no Ray);
* ``workers=N``: Ray starts an embedded local cluster with ``N`` CPUs (no dashboard) and
  runs ``N`` tasks at a time;
* ``address="auto"`` or ``"ray://HOST:PORT"``: the tasks go to an existing Ray cluster
  (``ray start --head`` on one machine, or Ray on Kubernetes or SLURM as Ray documents),
  which runs as many at a time as it has CPUs (or GPUs, with ``gpus_per_task``).

Every task sets ``torch.set_num_threads(threads)`` (one by default) before it runs, in every
mode, so the same seeds give the same numbers sequentially, with local workers or on a
cluster (``tests/test_executor.py`` checks it against a real cluster on 127.0.0.1). Each
finished task is handed to ``on_result`` in the driver as it completes, which is where an
experiment appends the run to its results file and writes the file atomically; a run is
never handed over twice. A task whose worker process dies (killed, out of memory, a lost
node) is retried by Ray up to ``max_retries`` times; a task that raises is not retried (the
same seed would raise again) and is reported in the returned failures, while the others go
on. Ctrl-C cancels what is left and returns the cluster; what ``on_result`` wrote stays.

Ray is imported only when a cluster is used: ``import poolkit`` never imports it.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Callable, Dict, Hashable, Optional, Sequence

__all__ = ["add_executor_arguments", "run_tasks", "call_task", "probe_task", "executor_from_args", "ray_init_kwargs"]

#: Environment a task needs in any worker: the data root, the cache, the device, hashing.
FORWARDED_ENV = ("POOLKIT_DATA", "POOLKIT_CACHE", "POOLKIT_DEVICE", "PYTHONHASHSEED")


def add_executor_arguments(parser) -> None:
    """The executor's command-line options (see the module docstring); added once."""
    if "--workers" in parser._option_string_actions:
        return
    g = parser.add_argument_group("executor")
    g.add_argument("--workers", type=int, default=1,
                   help="tasks at a time; above 1, on an embedded local Ray cluster with that many CPUs")
    g.add_argument("--address", default=None,
                   help="an existing Ray cluster: 'auto' (ray start --head on this machine) or ray://HOST:PORT")
    g.add_argument("--gpus-per-task", type=float, default=0.0,
                   help="GPUs each task reserves on the cluster (0.25: four runs share one GPU)")
    g.add_argument("--max-retries", type=int, default=3, help="retries of a task whose worker process died")


def executor_from_args(args) -> dict:
    """The keyword arguments of :func:`run_tasks` from parsed command-line options."""
    return {"workers": getattr(args, "workers", 1) or 1, "address": getattr(args, "address", None),
            "gpus_per_task": getattr(args, "gpus_per_task", 0.0) or 0.0,
            "max_retries": getattr(args, "max_retries", 3), "threads": getattr(args, "threads", None) or 1}


def call_task(fn_path: str, spec: dict, threads: int = 1):
    """Import ``fn_path`` (``"package.module:function"``), set the torch threads, run it on
    ``spec``. What every worker runs, and the sequential mode too."""
    import torch

    torch.set_num_threads(int(threads))
    module, _, name = fn_path.partition(":")
    if not module or not name:
        raise ValueError(f"fn_path must be 'module:function', got {fn_path!r}")
    fn = getattr(importlib.import_module(module), name)
    return fn(dict(spec))


def probe_task(spec: dict) -> dict:
    """A task for tests and benchmarks: trains nothing, burns ``spec["seconds"]`` of CPU on a
    seeded matrix product and returns a number that depends only on ``spec["seed"]``, with the
    process and the wall-clock interval (``time.time()``, comparable across the processes of
    one machine) in which it burned, so a test can see two tasks run at the same time."""
    import torch

    g = torch.Generator().manual_seed(int(spec.get("seed", 0)))
    a = torch.randn(64, 64, generator=g, dtype=torch.float64)
    start = time.time()
    t_end = time.perf_counter() + float(spec.get("seconds", 0.0))
    b = a.clone()
    while time.perf_counter() < t_end:
        b = torch.tanh(b @ a / 8.0)
    return {"seed": int(spec.get("seed", 0)), "value": float(torch.tanh(a @ a / 8.0).sum()), "pid": os.getpid(),
            "start": start, "end": time.time()}


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", dynamic_ncols=True, file=sys.stderr)


def run_tasks(fn_path: str, specs: Sequence[dict], keys: Sequence[Hashable],
              on_result: Callable[[Hashable, dict, dict], None], *, workers: int = 1, address: Optional[str] = None,
              gpus_per_task: float = 0.0, threads: int = 1, max_retries: int = 3, progress: bool = True,
              ray_init: Optional[dict] = None) -> Dict[Hashable, str]:
    """Run ``fn_path`` on every spec; call ``on_result(key, spec, result)`` in this process
    as each finishes (in order of completion). Returns ``{key: error}`` for the tasks that
    raised (or whose workers died more than ``max_retries`` times); an empty dict when all
    finished. ``ray_init`` adds keyword arguments to ``ray.init`` (tests use it)."""
    if len(specs) != len(keys):
        raise ValueError(f"specs and keys must have the same length, got {len(specs)} and {len(keys)}")
    if len(set(keys)) != len(keys):
        raise ValueError("keys must be unique: each names one run of the results file")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if gpus_per_task < 0 or max_retries < 0 or threads < 1:
        raise ValueError("gpus_per_task and max_retries must be >= 0 and threads >= 1")
    module, _, name = fn_path.partition(":")
    if not module or not name:
        raise ValueError(f"fn_path must be 'module:function', got {fn_path!r}")
    failures: Dict[Hashable, str] = {}
    if not specs:
        return failures
    bar = _progress(len(specs), progress)
    say = (bar.write if bar is not None else print)
    try:
        if workers == 1 and address is None:
            import torch

            caller_threads = torch.get_num_threads()   # given back afterwards: the caller keeps its own
            try:
                return _run_here(fn_path, specs, keys, on_result, threads, bar, say, failures)
            finally:
                torch.set_num_threads(caller_threads)
        return _run_on_ray(fn_path, specs, keys, on_result, workers, address, gpus_per_task, threads, max_retries,
                           bar, say, failures, ray_init or {})
    finally:
        if bar is not None:
            bar.close()


def _run_here(fn_path, specs, keys, on_result, threads, bar, say, failures):
    for key, spec in zip(keys, specs):
        try:
            res = call_task(fn_path, spec, threads)
        except Exception as exc:          # the others go on; reported at the end
            failures[key] = f"{type(exc).__name__}: {exc}"
            say(f"task {key} failed: {failures[key]}")
        else:
            on_result(key, spec, res)
        _tick(bar, 0, failures)
    return failures


def _tick(bar, running: int, failures) -> None:
    """One more task done on the progress bar (when there is one)."""
    if bar is not None:
        bar.update(1)
        bar.set_postfix(running=running, failed=len(failures))


def ray_init_kwargs(workers: int, address: Optional[str] = None, threads: int = 1) -> dict:
    """The keyword arguments of ``ray.init`` that :func:`run_tasks` uses: the embedded
    local instance with ``workers`` CPUs when ``address`` is ``None``, else the cluster at
    ``address``; every worker gets :data:`FORWARDED_ENV` and ``threads`` torch threads."""
    env_vars = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env_vars.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    init = dict(runtime_env={"env_vars": env_vars}, log_to_driver=False, ignore_reinit_error=False)
    if address is None:   # embedded: a new local instance, never a cluster `ray start` left running here
        init.update(address="local", num_cpus=workers, include_dashboard=False)
    else:
        init.update(address=address)
    return init


def _run_on_ray(fn_path, specs, keys, on_result, workers, address, gpus_per_task, threads, max_retries, bar, say,
                failures, ray_init):
    import ray

    init = ray_init_kwargs(workers, address, threads)
    init.update(ray_init)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(**init)
    remote = ray.remote(call_task).options(num_cpus=1, num_gpus=gpus_per_task, max_retries=max_retries,
                                           retry_exceptions=False)
    capacity = int(ray.cluster_resources().get("CPU", workers))
    pending = {remote.remote(fn_path, spec, threads): (key, spec) for key, spec in zip(keys, specs)}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                key, spec = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:       # the task raised: not retried
                    failures[key] = f"{type(exc.cause).__name__ if exc.cause else 'error'}: {exc.cause or exc}"
                    trace = "\n".join(str(exc).splitlines()[-12:])   # the remote traceback's end
                    say(f"task {key} failed: {failures[key]}\n{trace}")
                except ray.exceptions.RayError as exc:           # its worker died more than max_retries times
                    failures[key] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    say(f"task {key} lost: {failures[key]}")
                else:
                    on_result(key, spec, res)
                _tick(bar, min(len(pending), capacity), failures)
        return failures
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        say(f"interrupted: {len(pending)} tasks cancelled; the finished runs are kept")
        raise
    finally:
        if started_here:
            ray.shutdown()
