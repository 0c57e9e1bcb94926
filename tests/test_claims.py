"""The one claims table: every experiment's claims in one schema, judged by poolkit.stats."""
import math

import numpy as np
import pytest

from poolkit import stats
from poolkit.experiments import claims, claims_table, grid, rethinking


def _rethinking_doc():
    runs = []
    for s in range(10):
        base = 0.80 + 0.01 * (s % 3)          # split difficulty, shared by the models of a seed
        runs += [{"dataset": "NCI1", "model": "graclus", "seed": s, "test_accuracy": base},
                 {"dataset": "NCI1", "model": "complement", "seed": s, "test_accuracy": base + 0.002 * (s % 2)},
                 {"dataset": "NCI1", "model": "none", "seed": s, "test_accuracy": base - 0.06 - 0.01 * (s % 2)}]
    return {"experiment": "rethinking", "runs": runs}


def _grid_doc():
    runs = []
    rng = np.random.default_rng(0)
    for seed in range(5):
        base = 0.75 + 0.02 * rng.standard_normal()
        for pooler, gain in (("nopool", 0.0), ("topk", -0.08), ("mincut", 0.001)):
            runs.append({"dataset": "NCI1", "pooler": pooler, "seed": seed, "graphs": [800, 100, 100],
                         "test_accuracy": base + gain + (0.004 * (-1) ** seed if pooler != "nopool" else 0.0)})
    return {"experiment": "grid", "runs": runs}


def test_the_table_has_one_schema_and_its_numbers_are_poolkit_stats_judge():
    table = claims("rethinking", _rethinking_doc(), chance={"NCI1": 50.0})
    assert list(table.columns[:len(claims_table.COLUMNS)]) == list(claims_table.COLUMNS)
    assert set(table["experiment"]) == {"rethinking"} and len(table) == 2   # no runs, no row
    row = table.set_index("claim").loc["complement ≥ graclus"]
    doc = _rethinking_doc()
    a = [100 * r["test_accuracy"] for r in doc["runs"] if r["model"] == "complement"]
    b = [100 * r["test_accuracy"] for r in doc["runs"] if r["model"] == "graclus"]
    ref = stats.judge(a, b, "noninferior", margin=rethinking.MARGIN, test_train_ratio=0.1 / 0.8,
                      design="random_splits")
    for ours, theirs in (("A - B", "mean"), ("lo", "lo"), ("hi", "hi"), ("p", "p"), ("verdict", "verdict")):
        assert row[ours] == ref[theirs], ours
    assert row["A mean"] == pytest.approx(np.mean(a)) and row["paper A"] == rethinking.PAPER["NCI1"]["complement"][0]
    assert row["smallest_margin"] == pytest.approx(max(0.0, -ref["lo"]))
    # Holm over the rows of the table
    adj = stats.holm(table["p"].tolist())["adjusted"]
    assert table["p_holm"].tolist() == pytest.approx(adj)


def test_several_files_are_one_holm_family_and_absent_files_add_nothing():
    r, g = _rethinking_doc(), _grid_doc()
    one = claims("rethinking", r, chance={"NCI1": 50.0})
    both = claims(["grid", "rethinking"], [g, None])           # a file that is not there adds no rows
    assert set(both["experiment"]) == {"grid"}
    rows = claims_table.claims(["grid"], [g], holm=False)
    assert rows["p_holm"].isna().all() and len(rows) == 4       # 2 poolers x (greater, equal)
    fam = claims("grid", g)
    assert (fam["p_holm"] >= fam["p"] - 1e-15).all()
    assert one["p_holm"].tolist() == pytest.approx(stats.holm(one["p"].tolist())["adjusted"])


def test_the_grid_view_is_built_from_the_same_rows():
    g = _grid_doc()
    wide = grid.claims(g, "NCI1").set_index("pooler")
    long = claims("grid", g, holm=False)
    for _, r in long.iterrows():
        w = wide.loc[r["A"]]
        assert w["diff"] == r["A - B"] and w["lo"] == r["lo"] and w["hi"] == r["hi"]
        assert w["helps" if r["kind"] == "greater" else "on_par"] == r["verdict"]
    assert wide.loc["topk", "outcome"] == "worse" and wide.loc["mincut", "outcome"] == "on par"
    # Holm within each question of the view: over the two poolers, not the four rows
    helps = long[long["kind"] == "greater"]
    adj = stats.holm(helps["p"].tolist())["adjusted"]
    assert [w for w in wide.loc[helps["A"], "helps_holm"]] == [
        "inconclusive" if v == "reproduced" and not p < stats.ALPHA else v for v, p in zip(helps["verdict"], adj)]


def test_optional_columns_are_none_not_nan():
    table = claims("grid", _grid_doc())
    assert all(v is None for v in table["paper A - B"]) and all(v is None for v in table["paper A"])
    greater = table[table["kind"] == "greater"]
    assert all(v is None for v in greater["margin"]) and all(v is None for v in greater["smallest_margin"])
    eq = table[table["kind"] == "equal"]
    assert all(math.isfinite(v) for v in eq["margin"])


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="no claims are defined for 'nosuch'"):
        claims("nosuch", {})
    with pytest.raises(ValueError, match="non-empty list"):
        claims([], [])
    with pytest.raises(ValueError, match="one results dict per name"):
        claims(["grid", "rethinking"], [_grid_doc()])
    with pytest.raises(ValueError, match="list of results"):
        claims(["grid", "rethinking"], _grid_doc())
    with pytest.raises(ValueError, match="kind must be one of"):
        claims_table.claim_row([1, 2], [0, 1], "better", experiment="x", dataset="d", A="a", B="b")
    with pytest.raises(ValueError, match="must pair up"):
        claims_table.claim_row([1, 2, 3], [0, 1], "greater", experiment="x", dataset="d", A="a", B="b")


def test_committed_files_have_their_claims():
    """Every committed results file the chapters judge gives rows in the schema."""
    from poolkit.results import find_results

    for name in ("rethinking", "gmpool_tox21", "edge_esol", "edge_bbbp", "grid"):
        if find_results(name, download=False) is None:
            continue
        table = claims(name, chance={"NCI1": 50.0, "PROTEINS": 59.6, "IMDB-BINARY": 50.0}) \
            if name == "rethinking" else claims(name)
        assert len(table) > 0 and set(table["verdict"]) <= set(stats.VERDICTS), name
        assert (table["holm_verdict"].isin(stats.VERDICTS)).all(), name
