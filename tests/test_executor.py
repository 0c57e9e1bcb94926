"""The executor: sequential, and on a real Ray cluster on 127.0.0.1 (with a worker killed mid-task)."""
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from poolkit.experiments import executor as ex

PROBE = "poolkit.experiments.executor:probe_task"


def _collect():
    got = []
    return got, (lambda key, spec, res: got.append((key, res)))


def test_sequential_runs_every_task_once_and_reports_the_failed_one():
    got, on_result = _collect()
    specs = [{"seed": 0}, {"seed": 1, "seconds": "not a number"}, {"seed": 2}]
    failures = ex.run_tasks(PROBE, specs, ["a", "b", "c"], on_result, progress=False)
    assert [k for k, _ in got] == ["a", "c"]
    assert list(failures) == ["b"] and "ValueError" in failures["b"]
    again, on_again = _collect()
    ex.run_tasks(PROBE, [{"seed": 0}, {"seed": 2}], ["a", "c"], on_again, progress=False)
    assert [r["value"] for _, r in again] == [r["value"] for _, r in got]      # seeded: the same numbers


@pytest.mark.parametrize("kwargs, match", [
    (dict(fn_path="no_colon", specs=[{}], keys=[0]), "module:function"),
    (dict(fn_path=PROBE, specs=[{}, {}], keys=[0]), "same length"),
    (dict(fn_path=PROBE, specs=[{}, {}], keys=[0, 0]), "unique"),
    (dict(fn_path=PROBE, specs=[{}], keys=[0], workers=0), "workers"),
    (dict(fn_path=PROBE, specs=[{}], keys=[0], gpus_per_task=-1), "gpus_per_task"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ex.run_tasks(on_result=lambda *a: None, progress=False, **kwargs)


def test_importing_poolkit_and_the_experiments_does_not_import_ray():
    code = ("import sys, poolkit, poolkit.experiments.rethinking, poolkit.experiments.executor; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- a real cluster
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TEMP: dict = {}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``ray start --head`` with two CPUs on 127.0.0.1, stopped at the end even on failure."""
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.fail("the ray command is missing: make venv installs ray (the experiments extra)")
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    # Ray >= 2.59 authenticates with a token: the cluster and this driver share one.
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    env = dict(os.environ)
    cmd = [str(ray_bin), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
           "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false", "--disable-usage-stats",
           "--temp-dir", str(temp)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=180)
    _TEMP[f"127.0.0.1:{port}"] = temp
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop_cluster(temp)                  # never `ray stop`: it kills every Ray on the machine
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _procs():
    """``{pid: (ppid, cmdline bytes)}`` of every process."""
    procs = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2:].split()[1])
                procs[int(p.name)] = (ppid, (p / "cmdline").read_bytes())
            except (OSError, ValueError):
                pass
    return procs


def _cluster_pids(temp: Path):
    """The processes of the cluster whose temp dir is ``temp`` (its raylet, GCS, ... name it
    on their command line) and all their descendants (the workers): no other Ray's."""
    procs = _procs()
    mine = {pid for pid, (_, cmd) in procs.items() if str(temp).encode() in cmd}
    grown = True
    while grown:
        kids = {pid for pid, (ppid, _) in procs.items() if ppid in mine} - mine
        grown, mine = bool(kids), mine | kids
    return mine, procs


def _stop_cluster(temp: Path):
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        pids, _ = _cluster_pids(temp)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        t_end = time.time() + wait
        while _cluster_pids(temp)[0] and time.time() < t_end:
            time.sleep(0.2)


def _ray_task_pids(temp: Path):
    """PIDs of this cluster's workers running a task now (Ray titles them ray::call_task)."""
    pids, procs = _cluster_pids(temp)
    return [pid for pid in pids if procs[pid][1].startswith(b"ray::call_task")]


def test_cluster_gives_the_sequential_numbers_and_survives_a_killed_worker(cluster):
    data = os.environ.get("POOLKIT_DATA")
    if not data or not (Path(data) / "TUDataset" / "MUTAG").exists():
        pytest.fail("needs MUTAG under POOLKIT_DATA (make test sets it to ../shared/data)")
    # 1. a tiny rethinking grid: 2 models x 2 seeds x 2 epochs on MUTAG, both ways
    specs = [{"dataset": "MUTAG", "model": m, "seed": s, "epochs": 2, "patience": 50, "batch_size": 32,
              "single_conv": False, "architecture": "ours", "limit": None, "precompute": True, "device": "cpu"}
             for s in (0, 1) for m in ("none", "diffpool")]
    keys = [(sp["model"], sp["seed"]) for sp in specs]
    seq, on_seq = _collect()
    assert ex.run_tasks("poolkit.experiments.rethinking:run_one", specs, keys, on_seq, progress=False) == {}
    par, on_par = _collect()
    assert ex.run_tasks("poolkit.experiments.rethinking:run_one", specs, keys, on_par, address=cluster,
                        progress=False) == {}
    assert sorted(k for k, _ in par) == sorted(keys)                               # each run once
    by_key = dict(par)
    for key, row in seq:
        for field in ("test_accuracy", "val_accuracy", "best_epoch", "curve"):
            assert by_key[key][field] == row[field], (key, field)

    # 2. kill the worker of a running task: Ray retries it, the grid completes, no run twice
    probes = [{"seed": s, "seconds": 4.0} for s in range(4)]
    killed = []

    def killer():
        t_end = time.time() + 60
        while not killed and time.time() < t_end:
            pids = _ray_task_pids(_TEMP[cluster])
            if pids:
                time.sleep(0.5)                                                   # well inside the task
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    got, on_got = _collect()
    failures = ex.run_tasks(PROBE, probes, list(range(4)), on_got, address=cluster, progress=False, max_retries=2)
    th.join(timeout=5)
    assert killed, "no running task was found to kill"
    assert failures == {}
    assert sorted(k for k, _ in got) == [0, 1, 2, 3]
    assert killed[0] not in {r["pid"] for _, r in got}                             # its task ran again elsewhere
    want = {s: ex.probe_task({"seed": s})["value"] for s in range(4)}
    assert {k: r["value"] for k, r in got} == want


def test_embedded_cluster_runs_two_tasks_at_a_time_with_the_same_numbers():
    got, on_got = _collect()
    failures = ex.run_tasks(PROBE, [{"seed": s, "seconds": 3.0} for s in range(2)], [0, 1], on_got, workers=2,
                            progress=False)
    assert failures == {}
    assert len({r["pid"] for _, r in got}) == 2                                   # two worker processes
    assert {k: r["value"] for k, r in got} == {s: ex.probe_task({"seed": s})["value"] for s in range(2)}
    # two at a time: the two 3-second tasks burned at the same moment (not one after the other)
    assert max(r["start"] for _, r in got) < min(r["end"] for _, r in got)
