"""The grid of chapter 9: its split, how each pooler is sized, and one real run per kind."""
import math
import os
from pathlib import Path

import numpy as np
import pytest

from poolkit.data import size_split
from poolkit.experiments import grid


def test_size_split_tests_on_the_largest_graphs_the_same_for_every_seed():
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 120, size=500)
    splits = [size_split(sizes, 0.1, 0.1, seed=s) for s in range(3)]
    for tr, va, te in splits:
        assert len(te) == 50 and len(va) == 50 and len(tr) == 400
        assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(500))       # disjoint, complete
        assert sizes[np.concatenate([tr, va])].max() <= sizes[te].min()                     # smaller graphs only
    assert all(np.array_equal(splits[0][2], te) for _, _, te in splits)                       # one test set
    assert not np.array_equal(splits[0][0], splits[1][0])                                    # seeds reshuffle
    assert all(np.array_equal(a, b) for a, b in zip(splits[0], size_split(sizes, 0.1, 0.1, seed=0)))


def test_size_split_breaks_ties_by_index():
    tr, va, te = size_split([5] * 10, 0.2, 0.2, seed=3)
    assert te.tolist() == [8, 9]


@pytest.mark.parametrize("kwargs, match", [
    ({"test_fraction": 0.0}, "test_fraction"), ({"val_fraction": 1.0}, "val_fraction"),
    ({"test_fraction": 0.6, "val_fraction": 0.5}, "below 1")])
def test_size_split_bad_fractions(kwargs, match):
    with pytest.raises(ValueError, match=match):
        size_split(list(range(20)), **kwargs)


def test_size_split_needs_three_graphs():
    with pytest.raises(ValueError, match="at least 3"):
        size_split([4, 5])


def test_pooler_spec_sizes_each_family_by_its_rule():
    assert grid.pooler_spec("diffpool", 0.25, 111)[1] == {"k": math.ceil(0.25 * 111)}
    assert grid.pooler_spec("topk", 0.25, 111)[1] == {"ratio": 0.25}
    assert grid.pooler_spec("graclus", 0.25, 111) == ("graclus", {}, "own rule")
    assert grid.pooler_spec("gmpool", 0.25, 111)[2] == "keeps N"
    assert grid.pooler_spec("gmn", 0.25, 111, hidden=32)[1] == {"k": 28, "out_channels": 32}
    with pytest.raises(ValueError, match="ratio"):
        grid.pooler_spec("topk", 0.0, 10)


def test_grid_poolers():
    core = grid.grid_poolers("core")
    assert "nopool" in core and len(core) >= 13
    everything = grid.grid_poolers("all")
    assert set(core) <= set(everything)
    assert not set(grid.ABLATIONS) & set(everything) and "edge_coarse" not in everything
    assert grid.grid_poolers("mincut, topk") == ["mincut", "topk"]
    with pytest.raises(ValueError, match="unknown poolers"):
        grid.grid_poolers("mincut,nosuchpool")


def _mutag():
    data = os.environ.get("POOLKIT_DATA")
    if not data or not (Path(data) / "TUDataset" / "MUTAG").exists():
        pytest.fail("needs MUTAG under POOLKIT_DATA (make test sets it to ../shared/data)")


SPEC = {"dataset": "MUTAG", "seed": 0, "epochs": 2, "patience": 5, "batch_size": 32, "ratio": 0.25, "hidden": 16,
        "device": "cpu"}


def test_run_one_records_accuracy_reduction_and_cost_and_reruns_exactly():
    _mutag()
    rows = {p: grid.run_one(dict(SPEC, pooler=p)) for p in ("nopool", "diffpool", "topk")}
    n_max = max(g.num_nodes for g in grid.load_graphs("MUTAG"))
    for p, r in rows.items():
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["epochs_run"] == 2 and r["peak_mb"] > 0
        assert 0.0 <= r["test_balanced_accuracy"] <= 1.0 and 0.5 <= r["test_majority_share"] <= 1.0
        assert r["seconds_per_epoch"] > 0 and len(r["curve"]["val_accuracy"]) == 2
    assert rows["nopool"]["nodes_kept_mean"] == rows["nopool"]["nodes_in_mean"]                 # identity
    assert rows["diffpool"]["nodes_kept_mean"] == math.ceil(0.25 * n_max)                      # K supernodes
    assert 1 <= rows["diffpool"]["clusters_used_mean"] <= math.ceil(0.25 * n_max)
    assert 0.25 <= rows["topk"]["kept_fraction_mean"] < 0.25 + 1 / 10                          # ceil(0.25 N)
    again = grid.run_one(dict(SPEC, pooler="diffpool"))
    for field in ("test_accuracy", "val_accuracy", "curve", "nodes_kept_mean", "clusters_used_mean"):
        assert again[field] == rows["diffpool"][field], field
    # paired across poolers: the same split for every pooler of a seed
    assert rows["nopool"]["graphs"] == rows["topk"]["graphs"]


def _synthetic(effects, seeds=8, spread=0.5):
    """A results dict: each pooler's accuracy = 0.70 + effect + the seed's shared noise + its own."""
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 0.02, seeds)
    runs = []
    for p, eff in effects.items():
        own = rng.normal(0, spread / 100, seeds)
        for s in range(seeds):
            runs.append({"dataset": "D", "pooler": p, "seed": s, "test_accuracy": 0.70 + eff + shared[s] + own[s],
                         "graphs": [800, 100, 100]})
    return {"runs": runs}


def test_claims_read_better_worse_on_par_and_undecided():
    res = _synthetic({"nopool": 0.0, "big_gain": 0.08, "big_loss": -0.08, "same": 0.0})
    res["runs"] += [{"dataset": "D", "pooler": "noisy", "seed": s, "graphs": [800, 100, 100],
                     "test_accuracy": r["test_accuracy"] + (0.06 if s % 2 else -0.06)}
                    for s, r in enumerate(x for x in res["runs"] if x["pooler"] == "nopool")]
    table = grid.claims(res, "D").set_index("pooler")
    assert table.loc["big_gain", "outcome"] == "better" and table.loc["big_gain", "helps"] == "reproduced"
    assert table.loc["big_loss", "outcome"] == "worse"
    assert table.loc["same", "outcome"] == "on par"
    assert table.loc["noisy", "outcome"] == "undecided"
    assert list(table["diff"]) == sorted(table["diff"], reverse=True)
    # the corrected interval is wider than the plain paired t by sqrt(1 + n * c)
    from poolkit.stats import paired_difference
    _, a, b = grid._paired(res["runs"], "D", "big_gain", "nopool")
    plain = paired_difference(a, b)
    width = table.loc["big_gain", "hi"] - table.loc["big_gain", "lo"]
    assert width == pytest.approx((plain["hi"] - plain["lo"]) * math.sqrt(1 + 8 * 100 / 800))


def test_size_split_rows_say_the_test_set_is_fixed():
    # NCI1-size keeps one test set for every seed: same interval, another design and note
    res = _synthetic({"nopool": 0.0, "big_gain": 0.08})
    size = {"runs": [dict(r, dataset="NCI1-size") for r in res["runs"]]}
    (g, e), (gs, es) = grid.claim_rows(res), grid.claim_rows(size)
    assert g["design"] == e["design"] == "random_splits" and gs["design"] == es["design"] == "fixed_test"
    assert (gs["lo"], gs["hi"]) == (g["lo"], g["hi"])
    assert grid.design_of("NCI1") == "random_splits" and grid.design_of("NCI1-size") == "fixed_test"


def test_best_set_keeps_what_the_best_does_not_beat():
    res = _synthetic({"nopool": 0.0, "a": 0.05, "b": 0.0499, "c": -0.05})
    bs = grid.best_set(res, "D")
    assert bs["best"] == "a" and set(bs["indistinguishable"]) == {"a", "b"}
    assert set(bs["worse"]) == {"nopool", "c"}
    with pytest.raises(ValueError, match="no runs"):
        grid.best_set(res, "E")


def test_pareto_front():
    pts = [("fast_bad", 1.0, 0.6), ("slow_good", 5.0, 0.8), ("dominated", 6.0, 0.7), ("mid", 2.0, 0.75)]
    assert grid.pareto_front(pts) == ["fast_bad", "slow_good", "mid"]


def test_balanced_accuracy_of_a_constant_predictor_is_one_over_classes():
    import torch
    from torch_geometric.data import Data
    from torch_geometric.loader import DataLoader

    class Constant(torch.nn.Module):
        def forward(self, data):
            return torch.tensor([[0.0, 1.0]]).repeat(data.num_graphs, 1), {}

    graphs = [Data(x=torch.ones(2, 1), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([int(i < 8)]))
              for i in range(10)]
    res = grid.class_balance(Constant(), DataLoader(graphs, batch_size=4), torch.device("cpu"))
    assert res == pytest.approx({"test_balanced_accuracy": 0.5, "test_majority_share": 0.8})
