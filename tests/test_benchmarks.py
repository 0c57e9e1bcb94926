"""The benchmark scripts: each compiles and imports the way ``python benchmarks/bench_x.py``
runs it (``benchmarks/`` on ``sys.path``, nothing else), none edits ``sys.path``, and the
shared helpers of ``benchmarks/timing.py`` measure what they say. Fast, no data."""
import importlib.util
import json
import os
import runpy
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SCRIPTS = sorted(BENCH.glob("bench_*.py"))


def _load_timing():
    spec = importlib.util.spec_from_file_location("_bench_timing", BENCH / "timing.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


timing = _load_timing()


def test_the_benchmarks_are_there():
    assert len(SCRIPTS) >= 8, [p.name for p in SCRIPTS]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_compiles_and_leaves_sys_path_alone(path):
    source = path.read_text()
    compile(source, str(path), "exec")
    assert "sys.path.insert" not in source and "sys.path.append" not in source


def test_scripts_import_with_only_benchmarks_on_the_path(monkeypatch, tmp_path):
    """Each script runs (under a name other than ``__main__``, so ``main()`` does not) with
    ``benchmarks/`` first on ``sys.path``, as ``python benchmarks/bench_x.py`` has it, and
    neither the checkout's root nor the working directory there; it writes nothing."""
    outside = {"", ".", str(ROOT), os.getcwd()}
    monkeypatch.setattr(sys, "path", [str(BENCH)] + [p for p in sys.path if p not in outside])
    monkeypatch.chdir(tmp_path)
    results = {p.name: p.stat().st_mtime_ns for p in (BENCH / "results").iterdir()}
    before = set(sys.modules)
    try:
        for path in SCRIPTS:
            namespace = runpy.run_path(str(path), run_name=f"_import_check_{path.stem}")
            assert callable(namespace.get("main")), path.name
    finally:  # the scripts' sibling modules (timing, bench_score) are not this suite's
        for name in set(sys.modules) - before:
            if name == "timing" or name.startswith("bench_"):
                del sys.modules[name]
    assert not any(tmp_path.iterdir()), "importing a benchmark wrote files"
    assert {p.name: p.stat().st_mtime_ns for p in (BENCH / "results").iterdir()} == results


def _busy(seconds=2e-3):
    t = time.process_time()
    x = 0
    while time.process_time() - t < seconds:
        x += 1
    return x


def test_clocks_per_device():
    assert timing.clock(torch.device("cpu")) is time.process_time
    assert timing.clock(None) is time.process_time
    assert timing.clock(torch.device("cuda")) is time.perf_counter
    assert timing.synced_clock("cpu") is time.process_time
    assert timing.clock_name("cpu") == "process CPU time" and timing.clock_name("cuda") == "wall time"


def test_timed_returns_one_positive_float_per_repeat():
    times = timing.timed(_busy, 4)
    assert len(times) == 4
    assert all(isinstance(t, float) and t > 0 for t in times), times
    assert min(times) >= 1.5e-3  # the CPU time _busy spins for, not less


def test_timed_synchronises_cuda_around_every_call(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: calls.append("sync"))
    times = timing.timed(lambda: calls.append("fn"), 3, device=torch.device("cuda"))
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert calls == ["sync", "fn", "sync"] * 3


def test_step_time_passes_arguments_and_uses_the_given_clock():
    ticks = iter([10.0, 10.5])
    seen = []
    assert timing.step_time(lambda a, b: seen.append((a, b)), 1, 2, now=lambda: next(ticks)) == 0.5
    assert seen == [(1, 2)]


def test_cpu_peak_memory_counts_a_tensor_allocated_inside():
    def alloc():
        x = torch.ones(1_000_000)  # 4 MB of float32
        return float(x[0])

    assert timing.peak_memory(alloc, torch.device("cpu")) >= 4e6
    assert timing.peak_memory(lambda: None, "cpu") < 1e6


def test_machine_metadata():
    m = timing.machine()
    for key in ("platform", "machine", "cpu", "cpus", "torch_threads", "python", "torch", "device", "device_name"):
        assert m[key] not in (None, ""), key
    assert m["torch"] == torch.__version__ and m["torch_threads"] == torch.get_num_threads()
    json.dumps(m)


def test_write_results_writes_json_and_markdown(tmp_path):
    payload = {"benchmark": "x", "rows": [{"a": 1.5}]}
    j, md = timing.write_results(tmp_path / "sub" / "x", payload, ["# X", "", "| a |"])
    assert (j, md) == (tmp_path / "sub" / "x.json", tmp_path / "sub" / "x.md")
    assert json.loads(j.read_text()) == payload
    assert md.read_text() == "# X\n\n| a |\n"
    j2, md2 = timing.write_results(tmp_path / "y.json", payload, ["y"], indent=1)
    assert (j2, md2) == (tmp_path / "y.json", tmp_path / "y.md")
    assert json.loads(j2.read_text()) == payload and md2.read_text() == "y\n"
