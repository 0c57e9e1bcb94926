"""poolkit.experiments: summaries, results files, tables and the command-line dispatcher."""
import json
import sys
import types

import numpy as np
import pytest

from poolkit.experiments import __main__ as cli
from poolkit.experiments import common


def test_summarize_matches_numpy():
    runs = [{"seed": s, "acc": a, "note": "x"} for s, a in enumerate([0.7, 0.8, 0.75, 0.9])]
    summ = common.summarize(runs)
    assert set(summ) == {"acc"}
    assert summ["acc"]["mean"] == pytest.approx(np.mean([0.7, 0.8, 0.75, 0.9]))
    assert summ["acc"]["std"] == pytest.approx(np.std([0.7, 0.8, 0.75, 0.9], ddof=1))
    assert common.summarize([{"acc": 0.5}])["acc"]["std"] == 0.0


def test_command_line_is_the_command_as_typed(monkeypatch):
    from poolkit.experiments.common import command_line

    monkeypatch.setattr(sys, "argv", ["python -m poolkit.experiments", "rethinking", "--models", "a,b", "--seeds", "0", "1"])
    assert command_line("rethinking") == "python -m poolkit.experiments rethinking --models a,b --seeds 0 1"
    monkeypatch.setattr(sys, "argv", ["rethinking.py", "--out", "my results.json"])  # run as its own module
    assert command_line("rethinking", env="OMP_NUM_THREADS=1") == (
        "OMP_NUM_THREADS=1 python -m poolkit.experiments rethinking --out 'my results.json'")
    monkeypatch.setattr(sys, "argv", ["x"])
    assert command_line("edge_esol") == "python -m poolkit.experiments edge_esol"


def test_write_and_table(tmp_path):
    runs = [{"seed": 0, "test_accuracy": 0.80}, {"seed": 1, "test_accuracy": 0.84}]
    path = common.write_results("toy", runs, {"lr": 0.01}, out=tmp_path / "toy.json", wall_seconds=1.5)
    doc = json.loads(path.read_text())
    assert doc["runs"] == runs and doc["config"] == {"lr": 0.01} and doc["wall_seconds"] == 1.5
    assert doc["summary"]["test_accuracy"]["n"] == 2 and "torch" in doc["versions"] and doc["device"]
    df = common.results_table(path, paper={"toy": "85.0 ± 1.0"}, scale=100, digits=1)
    assert df.loc["toy", "test_accuracy"] == "82.0 ± 2.8 (n=2)"
    assert df.loc["toy", "test_accuracy (paper)"] == "85.0 ± 1.0"
    grouped = common.results_table({"name": "g", "runs": [{"pool": "a", "m": 1.0}, {"pool": "b", "m": 3.0},
                                                          {"pool": "b", "m": 5.0}]}, row_key="pool", digits=0)
    assert list(grouped.index) == ["a", "b"] and grouped.loc["b", "m"] == "4 ± 1 (n=2)"


def test_dispatcher_runs_an_experiment(tmp_path, monkeypatch, capsys):
    mod = types.ModuleType("poolkit.experiments.toy_exp")
    mod.__doc__ = "A toy experiment."

    def add_arguments(parser):
        parser.add_argument("--scale", type=float, default=1.0)

    def run(args):
        return {"runs": [{"seed": s, "score": args.scale * s} for s in args.seeds], "config": {"what": "toy"}}

    mod.add_arguments, mod.run = add_arguments, run
    monkeypatch.setitem(sys.modules, "poolkit.experiments.toy_exp", mod)
    monkeypatch.setattr(cli, "list_experiments", lambda: ["toy_exp"])
    out = tmp_path / "r.json"
    assert cli.main(["toy_exp", "--seeds", "1", "2", "--scale", "2", "--device", "cpu", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["score"] for r in doc["runs"]] == [2.0, 4.0]
    assert doc["config"]["what"] == "toy" and doc["config"]["scale"] == 2.0 and doc["summary"]["score"]["mean"] == 3.0
    assert cli.main(["--list"]) == 0 and "toy_exp" in capsys.readouterr().out
    assert cli.main(["nope"]) == 2


def test_list_experiments_finds_modules():
    names = common.list_experiments()
    assert "common" not in names and "__main__" not in names
    assert all(hasattr(__import__(f"poolkit.experiments.{n}", fromlist=["run"]), "run") for n in names)


def _tox21_available():
    try:
        from poolkit.experiments.gmpool_tox21 import tox21_csv

        tox21_csv()
        return True
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _tox21_available(), reason="the raw Tox21 CSV is not in $POOLKIT_DATA")
def test_gmpool_tox21_quick_writes_a_complete_paired_file(tmp_path):
    from poolkit.experiments import gmpool_tox21 as exp

    out = tmp_path / "g.json"
    assert cli.main(["gmpool_tox21", "--quick", "--device", "cpu", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    models = exp.DEFAULT_MODELS.split(",")
    assert doc["complete"] is True and doc["format"] == 2 and doc["protocol"]["quick"] is True
    # folds outermost, every model once per fold, in order
    assert [(r["fold"], r["model"]) for r in doc["runs"]] == [(f, m) for f in range(2) for m in models]
    for r in doc["runs"]:
        assert 0.0 <= r["test_roc_auc"] <= 1.0 and len(r["val_curve"]) == r["epochs"] >= 1
        assert r["best_val_roc_auc"] == max(r["val_curve"]) and r["seconds_per_epoch"] > 0
    tol = [r for r in doc["runs"] if r["model"] == "gmpool_tol"]
    full = [r for r in doc["runs"] if r["model"] == "gmpool"]
    assert all("mean_supernodes" in r and "mean_effective_rank" in r for r in tol + full)
    assert set(doc["summary_by_model"]) == set(models) and doc["summary_by_model"]["sag"]["test_roc_auc"]["n"] == 2
    assert doc["versions"]["torch"] and doc["device"] and doc["wall_seconds"] > 0
    # a quick run is not the paper's protocol, so every claim is inconclusive, with the reason
    check = exp.protocol_check(doc)
    assert not check["ok"] and any("--quick" in r for r in check["reasons"])
    rows = exp.claim_table(doc)
    assert [r["n"] for r in rows] == [2, 2, 2, 2]
    assert all(r["verdict"] == "inconclusive" and "protocol" in r["reason"] for r in rows)


def test_gmpool_tox21_resume_adds_only_missing_runs(tmp_path):
    out = tmp_path / "g.json"
    base = ["gmpool_tox21", "--quick", "--device", "cpu", "--out", str(out)]
    assert cli.main(base + ["--models", "dmpnn"]) == 0
    first = json.loads(out.read_text())
    assert first["complete"] is True and [r["model"] for r in first["runs"]] == ["dmpnn", "dmpnn"]
    assert cli.main(base + ["--models", "topk", "--resume"]) == 0
    doc = json.loads(out.read_text())
    # folds outermost again; the first command's runs kept as they were, not retrained
    assert [(r["fold"], r["model"]) for r in doc["runs"]] == [(0, "dmpnn"), (0, "topk"), (1, "dmpnn"), (1, "topk")]
    assert [r for r in doc["runs"] if r["model"] == "dmpnn"] == first["runs"]
    assert doc["complete"] is True and doc["models"] == ["dmpnn", "topk"] and len(doc["commands"]) == 2
    assert doc["wall_seconds_total"] > first["wall_seconds_total"]
    with pytest.raises(ValueError, match="other settings.*seed"):
        cli.main(base + ["--models", "sag", "--seed", "1", "--resume"])


def test_gmpool_tox21_claims_follow_the_intervals():
    from poolkit.experiments import gmpool_tox21 as exp

    proto = {"data": {"kept": exp.FULL_SIZE}, "folds": 5, "hidden": 200, "dropout": 0.15, "max_epochs": 100,
             "patience": 15, "quick": False}
    auc = {"dmpnn": [0.70, 0.71, 0.72, 0.69, 0.70], "gmpool": [0.75, 0.75, 0.77, 0.74, 0.76],
           "ngmpool": [0.70, 0.80, 0.74, 0.78, 0.72], "topk": [0.70, 0.70, 0.71, 0.69, 0.70]}
    doc = {"protocol": proto, "runs": [{"model": m, "fold": f, "test_roc_auc": v} for m, vs in auc.items()
                                       for f, v in enumerate(vs)]}
    assert exp.protocol_check(doc)["ok"]
    table = exp.claim_table(doc)
    rows = {(r["A"], r["B"]): r for r in table}
    assert rows["gmpool", "dmpnn"]["verdict"] == "reproduced" and rows["gmpool", "dmpnn"]["lo"] > 0
    assert rows["topk", "gmpool"]["verdict"] == "not reproduced" and rows["topk", "gmpool"]["hi"] < 0
    ng = rows["ngmpool", "gmpool"]
    assert ng["verdict"] == "inconclusive" and ng["lo"] < 0 < ng["hi"]
    # the interval is the corrected resampled one: wider than the plain paired t
    from poolkit.stats import paired_difference
    plain = paired_difference(auc["gmpool"], auc["dmpnn"])
    assert rows["gmpool", "dmpnn"]["hi"] - rows["gmpool", "dmpnn"]["lo"] > plain["hi"] - plain["lo"]
    assert all(0 <= r["p_holm"] <= 1 and r["p_holm"] >= r["p"] for r in table)
    # no faithful-path runs in this file, so no faithful-path claims
    assert len(table) == 4 and not any("nonorm" in r["A"] for r in table)
    doc["protocol"] = {**proto, "folds": 2}
    assert all(r["verdict"] == "inconclusive" for r in exp.claim_table(doc))
    # a partial file of the 5-fold protocol: judged only once 3 folds hold every claim's models
    doc["protocol"] = proto
    doc["runs"] = [r for r in doc["runs"] if r["fold"] < 2 or (r["fold"] == 2 and r["model"] != "topk")]
    check = exp.protocol_check(doc)
    assert not check["ok"] and any("2 of the 5 folds" in r for r in check["reasons"])
    assert all(r["verdict"] == "inconclusive" for r in exp.claim_table(doc))


def test_edge_esol_quick_writes_curves_timing_and_pairs(tmp_path):
    out = tmp_path / "esol.json"
    argv = ["edge_esol", "--quick", "--limit", "60", "--seeds", "0", "1", "--epochs", "2", "--patience", "5",
            "--models", "nopool,simple_0.7", "--node-channels", "8,8", "--edge-channels", "4,4", "--device", "cpu",
            "--out", str(out)]
    assert cli.main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and doc["command"].startswith("OMP_NUM_THREADS=1 python -m poolkit.experiments edge_esol")
    # --quick keeps one split; every model ran on it, with its validation curve per epoch
    assert [(r["split"], r["model"]) for r in doc["runs"]] == [(0, "nopool"), (0, "simple_0.7")]
    for r in doc["runs"]:
        assert len(r["curve"]["val_rmse"]) == r["epochs"] == 2 and len(r["curve"]["epoch_seconds"]) == 2
        assert r["best_val_rmse"] == min(r["curve"]["val_rmse"]) or abs(r["best_val_rmse"] - min(r["curve"]["val_rmse"])) < 1e-4
        assert np.isfinite(r["test_rmse"]) and r["sizes"] == [48, 6, 6]
    assert set(doc["timing"][0]["median"]) == {"nopool", "simple_0.7"}
    assert doc["summary"]["nopool"]["test_rmse"]["n"] == 1 and doc["paper"]["metric"]["nopool"]["mean"] == 0.410


def test_edge_bbbp_uses_one_fixed_scaffold_split(tmp_path):
    out = tmp_path / "bbbp.json"
    argv = ["edge_bbbp", "--limit", "200", "--seeds", "0", "1", "--epochs", "1", "--patience", "5",
            "--models", "nopool", "--node-channels", "8,8", "--edge-channels", "4,4", "--timing-rounds", "0",
            "--device", "cpu", "--out", str(out)]
    assert cli.main(argv) == 0
    doc = json.loads(out.read_text())
    assert [(r["split"], r["seed"]) for r in doc["runs"]] == [("scaffold", 0), ("scaffold", 1)]
    assert doc["runs"][0]["sizes"] == doc["runs"][1]["sizes"] == doc["protocol"]["split_sizes"]
    assert 190 <= sum(doc["protocol"]["split_sizes"]) <= 200 and doc["metric"] == "test_roc_auc"
    assert all(0.0 <= r["test_roc_auc"] <= 1.0 for r in doc["runs"]) and doc["timing"] == []


def test_edge_esol_resume_adds_only_missing_runs(tmp_path):
    out = tmp_path / "esol.json"
    base = ["edge_esol", "--limit", "60", "--seeds", "0", "--epochs", "1", "--patience", "5", "--timing-rounds", "1",
            "--node-channels", "8,8", "--edge-channels", "4,4", "--device", "cpu", "--out", str(out)]
    assert cli.main(base + ["--models", "nopool"]) == 0
    first = json.loads(out.read_text())
    assert first["complete"] is True and len(first["runs"]) == 1
    assert cli.main(base + ["--models", "nopool,simple_0.7", "--resume"]) == 0
    doc = json.loads(out.read_text())
    assert [r["model"] for r in doc["runs"]] == ["nopool", "simple_0.7"]
    assert doc["runs"][0] == first["runs"][0]  # kept as it was, not retrained
    assert len(doc["commands"]) == 2 and doc["complete"] is True and doc["models"] == ["nopool", "simple_0.7"]
    assert len(doc["timing"]) == 1  # the split was timed once, by the first command
    with pytest.raises(ValueError, match="other settings"):
        cli.main(base[:-4] + ["--lr", "0.01", "--out", str(out), "--models", "nopool", "--resume"])


def test_edge_table4_widths_per_model():
    """``--table4`` trains each model at the paper's Table 4 widths; without it every model
    takes --node-channels/--edge-channels; a model Table 4 does not tune is refused."""
    import argparse

    from poolkit.experiments.edge_esol import TABLE4, model_channels

    args = argparse.Namespace(table4=True, node_channels="64,64", edge_channels="32,32")
    assert model_channels("edge_esol", "simple_0.9", args) == ((256, 256), (128, 128))
    assert model_channels("edge_bbbp", "coarse_0.8", args) == ((512, 512), (256, 256))
    assert set(TABLE4["edge_esol"]) == {"nopool", "simple_0.9", "coarse_0.9"}
    with pytest.raises(ValueError, match="Table 4 gives no widths"):
        model_channels("edge_esol", "simple_0.7", args)
    args.table4 = False
    assert model_channels("edge_esol", "simple_0.7", args) == ((64, 64), (32, 32))


def test_evaluation_resume_fills_missing_seeds_and_poolers(tmp_path):
    import json

    import poolkit.experiments.__main__ as cli

    out = tmp_path / "evaluation.json"
    base = ["evaluation", "--quick", "--device", "cpu", "--no-progress", "--out", str(out)]
    assert cli.main(base + ["--poolers", "topk", "--seeds", "0", "1"]) == 0
    first = json.loads(out.read_text())
    assert sorted((r["name"], r["seed"]) for r in first["runs"]) == [("topk", 0), ("topk", 1)]
    doc = json.loads(out.read_text())
    doc["runs"] = [r for r in doc["runs"] if r["seed"] == 0]                    # as if cut short after seed 0
    out.write_text(json.dumps(doc))
    assert cli.main(base + ["--poolers", "topk,mincut", "--seeds", "0", "1", "--resume"]) == 0
    again = json.loads(out.read_text())
    assert sorted((r["name"], r["seed"]) for r in again["runs"]) == [("mincut", 0), ("mincut", 1), ("topk", 0),
                                                                     ("topk", 1)]
    drop = ("seconds",)
    strip = lambda r: {k: v for k, v in r.items() if k not in drop}
    assert strip(next(r for r in again["runs"] if (r["name"], r["seed"]) == ("topk", 1))) == \
        strip(next(r for r in first["runs"] if (r["name"], r["seed"]) == ("topk", 1)))   # rerun: the same row
    assert {c["name"] for c in again["cost"]} == {"topk", "mincut"}
