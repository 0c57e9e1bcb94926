"""The rethinking reproduction: per-epoch curves, both random DiffPool variants, resuming."""
import json
import os

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
