"""The rethinking reproduction: per-epoch curves, both random DiffPool variants, resuming."""
import json
import os
import time

import pytest

from poolkit.experiments import __main__ as cli
from poolkit.experiments import rethinking

pytestmark = pytest.mark.skipif(
    not os.path.isdir(os.path.join(os.environ.get("POOLKIT_DATA", ""), "TUDataset", "MUTAG")),
    reason="needs the raw TUDataset copies (POOLKIT_DATA)")


def test_paper_numbers_belong_to_the_variant_that_is_run():
    # U-DiffPool (uniform) is what the paper's Table 2 reports on NCI1 and IMDB-B; N-DiffPool on PROTEINS.
    assert "uniform_random_diffpool" in rethinking.PAPER["NCI1"] and "random_diffpool" not in rethinking.PAPER["NCI1"]
    assert "random_diffpool" in rethinking.PAPER["PROTEINS"]
    for table in rethinking.PAPER.values():
        assert set(table) <= set(rethinking.MODELS)
    uni = rethinking.build("uniform_random_diffpool", "NCI1", 3, 2, 20, seed=0)
    nor = rethinking.build("random_diffpool", "NCI1", 3, 2, 20, seed=0)
    pools = [m for m in uni.modules() if m.__class__.__name__ == "RandomDiffPool"]
    assert pools and pools[0].distribution == "uniform"
    assert [m for m in nor.modules() if m.__class__.__name__ == "RandomDiffPool"][0].distribution == "normal"


def test_runs_record_curves_and_resume_adds_only_missing_runs(tmp_path):
    out = tmp_path / "r.json"
    base = ["rethinking", "--datasets", "MUTAG", "--models", "graclus,uniform_random_diffpool", "--limit", "40",
            "--epochs", "2", "--patience", "5", "--batch-size", "16", "--device", "cpu", "--out", str(out)]
    assert cli.main(base + ["--seeds", "0"]) == 0
    first = json.loads(out.read_text())
    assert len(first["runs"]) == 2
    for r in first["runs"]:
        assert len(r["curve"]["val_accuracy"]) == r["epochs_run"] == len(r["curve"]["loss"])
        assert r["val_accuracy"] == max(r["curve"]["val_accuracy"])
        assert 1 <= r["best_epoch"] <= r["epochs_run"] and r["seconds_per_epoch"] > 0
    assert cli.main(base + ["--seeds", "0", "1", "--resume"]) == 0
    second = json.loads(out.read_text())
    assert [(r["model"], r["seed"]) for r in second["runs"]] == [
        ("graclus", 0), ("uniform_random_diffpool", 0), ("graclus", 1), ("uniform_random_diffpool", 1)]
    assert second["runs"][:2] == first["runs"][:2]  # kept as they were, not re-run
    assert second["summary"]["MUTAG"]["graclus"]["n"] == 2
    assert len(second["commands"]) == 2 and second["commands"][0] == first["command"]
    with pytest.raises(ValueError, match="other settings.*epochs"):      # runs that could not be paired
        cli.main([a if a != "2" else "3" for a in base] + ["--seeds", "2", "--resume"])


def test_judge_pairs_by_seed_and_reads_the_interval_against_the_margin():
    runs = []
    for s in range(10):
        base = 0.80 + 0.01 * (s % 3)  # split difficulty, shared by both models
        runs += [{"dataset": "NCI1", "model": "graclus", "seed": s, "test_accuracy": base},
                 {"dataset": "NCI1", "model": "complement", "seed": s, "test_accuracy": base + 0.002 * (s % 2)},
                 {"dataset": "NCI1", "model": "none", "seed": s, "test_accuracy": base - 0.06 - 0.01 * (s % 2)}]
    runs.append({"dataset": "NCI1", "model": "complement", "seed": 99, "test_accuracy": 0.1})  # unpaired: ignored
    rows = {r["claim"]: r for r in rethinking.judge({"runs": runs}, chance={"NCI1": 50.0})}
    comp = rows["complement ≥ graclus"]
    assert comp["n"] == 10 and comp["verdict"] == "reproduced" and comp["kind"] == "noninferior"
    assert -rethinking.MARGIN < comp["lo"] and comp["holm_verdict"] == "reproduced"
    assert rows["none ≈ graclus"]["verdict"] == "not reproduced" and rows["none ≈ graclus"]["hi"] < 0
    assert "random_mincut ≥ mincut" not in rows  # no runs, no row
    at_chance = [dict(r, test_accuracy=0.5) for r in runs if r["model"] in ("graclus", "complement")]
    (row,) = rethinking.judge({"runs": at_chance}, chance={"NCI1": 50.0})
    assert row["verdict"] == "inconclusive" and "chance" in row["reason"]


def test_shuffled_models_break_ties_per_pass_and_are_not_precomputed():
    for name, complement in (("graclus_shuffled", False), ("complement_shuffled", True)):
        model = rethinking.build(name, "NCI1", 37, 2, max_nodes=30, seed=0)
        assert len(model.pools) == 2
        for pool in model.pools:
            assert pool.seed == "per_pass" and pool.complement is complement and not pool.is_precomputable
    assert all(p.seed is None for p in rethinking.build("complement", "NCI1", 37, 2, 30, 0).pools)


def test_merge_joins_the_runs_of_two_processes_without_rerunning(tmp_path):
    # Two processes resume from the same file on two cores; --merge joins what each added.
    base = ["rethinking", "--datasets", "MUTAG", "--limit", "40", "--epochs", "2", "--patience", "5",
            "--batch-size", "16", "--device", "cpu", "--seeds", "0"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli.main(base + ["--models", "graclus", "--out", str(a)]) == 0
    b.write_text(a.read_text())
    assert cli.main(base + ["--models", "none", "--out", str(b), "--resume"]) == 0
    assert cli.main(base + ["--models", "uniform_random_diffpool", "--out", str(a), "--resume"]) == 0
    before_a, before_b = json.loads(a.read_text()), json.loads(b.read_text())
    assert cli.main(base + ["--models", "graclus,none,uniform_random_diffpool", "--out", str(a), "--resume",
                            "--merge", str(b)]) == 0
    merged = json.loads(a.read_text())
    assert [r["model"] for r in merged["runs"]] == ["graclus", "uniform_random_diffpool", "none"]
    assert merged["runs"][:2] == before_a["runs"] and merged["runs"][2] == before_b["runs"][1]  # not re-run
    assert set(merged["summary"]["MUTAG"]) == {"graclus", "none", "uniform_random_diffpool"}
    assert merged["commands"][:3] == before_a["commands"][:2] + [before_b["commands"][1]]
    assert merged["merged"][0]["runs_added"] == 1
    own_b = before_b["wall_seconds"] - before_b["resumed_from"]["wall_seconds"]
    assert merged["merged"][0]["wall_seconds"] == pytest.approx(own_b)
    assert merged["wall_seconds"] >= before_a["wall_seconds"] + own_b
    # a later resume keeps the record of the merge without counting its time twice
    t0 = time.perf_counter()
    assert cli.main(base + ["--models", "graclus", "--out", str(a), "--resume"]) == 0
    elapsed = time.perf_counter() - t0
    later = json.loads(a.read_text())
    assert later["merged"] == [dict(merged["merged"][0], by_earlier_command=True)]
    assert 0 <= later["wall_seconds"] - merged["wall_seconds"] <= elapsed
    with pytest.raises(ValueError, match="other settings.*epochs"):      # runs that could not be paired
        cli.main(base + ["--models", "none", "--out", str(b), "--resume", "--merge", str(_other(a, tmp_path))])
    with pytest.raises(FileNotFoundError, match="no results file"):
        cli.main(base + ["--models", "none", "--out", str(a), "--resume", "--merge", str(tmp_path / "missing.json")])
    with pytest.raises(ValueError, match="give --resume"):
        cli.main(base + ["--models", "none", "--out", str(tmp_path / "d.json"), "--merge", str(b)])


def _other(path, tmp_path):
    """A copy of the results file ``path`` that claims another number of epochs."""
    doc = json.loads(path.read_text())
    doc["protocol"]["epochs"] = 3
    out = tmp_path / "other.json"
    out.write_text(json.dumps(doc))
    return out
