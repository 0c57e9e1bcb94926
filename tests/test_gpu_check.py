"""scripts/gpu_check.py on the CPU: the same code paths a CUDA run takes, kept small.

A CUDA run compares the device against the CPU; here the "device" is the CPU too, so the
comparisons must come out equal, and the checks must still catch what they are there for
(a differing value, a view that reads more than the watched graph on the host, a chapter
that fails, an experiment command its parser rejects).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402

CPU = torch.device("cpu")


def test_without_cuda_it_says_so_exits_0_and_writes_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "verdict.json"
    assert gpu_check.main(["--out", str(out)]) == 0
    assert "no CUDA device" in capsys.readouterr().out
    assert not out.exists()
    # Asking for CUDA explicitly where there is none is an error, not a silent pass.
    assert gpu_check.main(["--device", "cuda", "--out", str(out)]) == 2


def test_compare_catches_values_shapes_integers_and_non_finite():
    ref = {"x": torch.ones(3), "idx": torch.arange(3), "n": 3}
    assert gpu_check.compare(ref, dict(ref), 1e-6, 1e-8)["problems"] == []
    assert gpu_check.compare(ref, {**ref, "x": torch.ones(3) + 1e-3}, 1e-6, 1e-8)["problems"]
    assert gpu_check.compare(ref, {**ref, "x": torch.ones(3) + 1e-9}, 1e-6, 1e-8)["problems"] == []
    assert gpu_check.compare(ref, {**ref, "idx": torch.tensor([0, 2, 1])}, 1e-6, 1e-8)["problems"]
    assert gpu_check.compare(ref, {**ref, "x": torch.ones(4)}, 1e-6, 1e-8)["problems"]
    assert gpu_check.compare(ref, {**ref, "x": torch.tensor([1.0, float("nan"), 1.0])}, 1e-6, 1e-8,
                             values=False)["problems"]
    assert gpu_check.compare(ref, {"x": torch.ones(3)}, 1e-6, 1e-8)["problems"]  # an output missing


@pytest.fixture
def float32_only_pooler():
    """A registered pooler that refuses float64, to exercise the float32 fallback (every
    real pooler runs in float64 since their dense inputs share one cast)."""
    from poolkit.src import _REGISTRY, NoPool, register

    @register("_float32_only")
    class Float32Only(NoPool):
        def select(self, x, edge_index, batch=None, **kwargs):
            if x.dtype == torch.float64:
                raise TypeError("float64 not supported")
            return super().select(x, edge_index, batch=batch)

    yield "_float32_only"
    del _REGISTRY["_float32_only"]


def test_pooler_parity_dry_run(float32_only_pooler):
    # One dense, one sparse, one with edge features, one dense pooler without adjacency, one
    # that only runs in float32; the CUDA run loops over the whole registry through the same
    # function.
    names = ["mincut", "topk", "edge_simple", "gmn", float32_only_pooler]
    res = gpu_check.check_poolers(CPU, names)
    assert set(res["poolers"]) == set(names)
    for name, r in res["poolers"].items():
        assert r["ok"], (name, r)
        assert r["tensors"] > 3 and not r["stochastic"] and r["max_abs_diff"] == 0.0
    assert res["poolers"]["mincut"]["dtype"] == "float64"
    assert res["poolers"]["gmn"]["dtype"] == "float64"
    assert res["poolers"][float32_only_pooler]["dtype"] == "float32"  # falls back, and says why
    assert "float64 not supported" in res["poolers"][float32_only_pooler]["float64_error"]
    # Gradients are part of what is compared.
    from poolkit.src import example_pooler

    outs = gpu_check.run_pooler(example_pooler("mincut", in_channels=5, k=3), gpu_check.example_batch(), CPU,
                                torch.float64)
    assert "grad.x" in outs and any(k.startswith("grad.") and k != "grad.x" for k in outs)


def test_pooler_check_reports_a_device_difference(monkeypatch):
    real = gpu_check.run_pooler

    def off_on_the_device(pool, batch, device, dtype, seed=0):
        outs = real(pool, batch, device, dtype, seed)
        if seed == 0 and getattr(off_on_the_device, "calls", 0) == 2:  # the third call is the device run
            outs["x"] = outs["x"] + 1e-3
        off_on_the_device.calls = getattr(off_on_the_device, "calls", 0) + 1
        return outs

    monkeypatch.setattr(gpu_check, "run_pooler", off_on_the_device)
    r = gpu_check.check_poolers(CPU, ["mincut"])["poolers"]["mincut"]
    assert not r["ok"] and any(p.startswith("x:") for p in r["problems"])


def test_fit_dry_run():
    res = gpu_check.check_fit(CPU, epochs=2)
    assert res["ok"], res
    for label, r in res["cases"].items():
        assert r["params_on_device"] and len(r["loss_device"]) == 2 and r["rel_diff"] == [0.0, 0.0], label


def test_live_view_dry_run_reads_only_the_watched_graph():
    res = gpu_check.check_live(CPU)
    assert res["ok"], res
    assert res["frames"] >= 3 and res["frames_changed"] == res["frames_changed_of"]
    assert 0 < res["largest_host_read"] <= res["host_read_bound"] < res["training_nodes"]
    assert "cpu" in res["host_read_ops"] or "numpy" in res["host_read_ops"]


def test_live_check_catches_a_view_that_reads_more(monkeypatch):
    from poolkit.live import LiveView

    real = LiveView.on_step

    def leaky(self, state):
        real(self, state)
        torch.zeros(500, 4).cpu()  # stands for a training batch read on the host

    monkeypatch.setattr(LiveView, "on_step", leaky)
    res = gpu_check.check_live(CPU)
    assert not res["ok"] and res["largest_host_read"] == 2000
    assert any("read a tensor of 2000 elements" in p for p in res["problems"])


def test_experiment_commands_are_accepted_by_each_experiment():
    from poolkit.experiments.__main__ import _common_arguments
    from poolkit.experiments.common import list_experiments

    names = list_experiments()
    assert names
    for name in names:
        cmd = gpu_check.experiment_command(name, "cuda", Path("/tmp/x.json"))
        assert cmd[1:4] == ["-m", "poolkit.experiments", name]
        mod = importlib.import_module(f"poolkit.experiments.{name}")
        parser = argparse.ArgumentParser()
        _common_arguments(parser, name)
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(parser)
        args = parser.parse_args(cmd[4:])
        assert args.device == "cuda" and args.quick and args.seeds == [0] and args.out == "/tmp/x.json"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_chapter_runner_sets_the_device_and_catches_a_failing_cell(tmp_path):
    good = _notebook(tmp_path / "good.ipynb", "from poolkit.train import get_device\nd = get_device()\nassert d.type == 'cpu', d")
    bad = _notebook(tmp_path / "bad.ipynb", "raise RuntimeError('a chapter cell failed')")
    res = gpu_check.check_chapters(CPU, [good, bad])
    assert res["chapters"]["good"]["ok"], res["chapters"]["good"]
    assert res["chapters"]["good"]["probe"]["POOLKIT_DEVICE"] == "cpu"
    assert res["chapters"]["good"]["probe"]["get_device"] == "cpu"
    assert not res["chapters"]["bad"]["ok"] and "a chapter cell failed" in res["chapters"]["bad"]["error"]
    assert not res["ok"] and set(res["seconds_per_chapter"]) == {"good", "bad"}


def test_only_chapters_that_train_must_use_cuda_memory(tmp_path):
    # Run as if on CUDA (POOLKIT_DEVICE=cuda, which get_device honours without a GPU): no CUDA
    # memory is ever allocated here, which fails a chapter that trains with fit and passes
    # one that trains nothing (chapters 1 and 8).
    plain = _notebook(tmp_path / "plain.ipynb", "x = 1 + 1")
    trainer = _notebook(tmp_path / "trainer.ipynb", "def fit(*a):\n    return a\nfit(1)")
    r_plain, r_train = gpu_check.run_notebook(plain, "cuda"), gpu_check.run_notebook(trainer, "cuda")
    assert r_plain["trains"] is False and r_plain["ok"], r_plain
    assert r_train["trains"] is True and not r_train["ok"]
    assert any("no CUDA memory" in p for p in r_train["problems"]), r_train
