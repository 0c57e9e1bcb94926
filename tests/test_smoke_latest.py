"""The pure parts of scripts/smoke_latest.py: reading the chapters' Colab install cell,
pointing it at a local wheel, and writing the result file. No venv is built here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import smoke_latest as sl  # noqa: E402

CELL = (
    '# Colab only: install what Colab lacks.\nimport sys\n\nif "google.colab" in sys.modules:\n'
    '    %pip install -q torch_geometric rdkit datamol "poolkit @ git+https://github.com/poolkit-book/gnn-pooling@main"\n'
)


def test_localize_replaces_the_git_url_with_the_local_wheel_and_nothing_else():
    new = sl.localize_install(CELL, "/tmp/w/poolkit-0.1-py3-none-any.whl")
    assert '"poolkit @ file:///tmp/w/poolkit-0.1-py3-none-any.whl"' in new
    assert "git+" not in new and "github" not in new
    assert new.replace('"poolkit @ file:///tmp/w/poolkit-0.1-py3-none-any.whl"', "X") == CELL.replace(
        '"poolkit @ git+https://github.com/poolkit-book/gnn-pooling@main"', "X")
    assert sl.pip_install_args(new) == ["-q", "torch_geometric", "rdkit", "datamol",
                                        "poolkit @ file:///tmp/w/poolkit-0.1-py3-none-any.whl"]


def test_localize_refuses_a_cell_it_cannot_make_offline():
    with pytest.raises(ValueError, match="found 0"):
        sl.localize_install(CELL.replace("poolkit @ git+", "poolkit @ https://"), "/tmp/x.whl")
    with pytest.raises(ValueError, match="remote URL"):
        sl.localize_install(CELL.replace("datamol", "git+https://example.org/datamol"), "/tmp/x.whl")
    with pytest.raises(ValueError, match="not a local path"):
        sl.localize_install(CELL, "https://example.org/poolkit.whl")


def test_every_smoke_chapter_has_one_install_cell_the_script_can_localize():
    for ch in sl.CHAPTERS:
        cells = sl.read_chapter_cells(ROOT / "book" / f"{ch}.md")
        i = sl.find_install_cell(cells)
        assert "file:///w.whl" in sl.localize_install(cells[i], "/w.whl"), ch
    with pytest.raises(ValueError, match="found 0"):
        sl.find_install_cell(["import sys\n", "%pip install x\n"])


def test_base_dependencies_are_names_without_torch_and_nothing_is_pinned():
    deps = sl.base_dependencies((ROOT / "pyproject.toml").read_text())
    assert "torch-geometric" in deps and "rdkit" in deps and "torch" not in deps
    assert sl.unpinned(deps) == []
    assert sl.unpinned(["-q", "rdkit", "pandas<3", "poolkit @ file:///a.whl"]) == ["pandas<3"]


def _doc(status="pass", error=None):
    ch = {"chapter": "01_src", "status": status, "seconds": 12.5}
    if error:
        ch["error"] = error
    return sl.build_result(date="2026-12-06T19:00:00+00:00", python="3.11.7",
                           packages={"torch": "2.13.0+cpu", "torch-geometric": "2.8.1", "pip": "25.0"},
                           chapters=[ch], install={"ran": "pip install ..."})


def test_result_writer_records_versions_and_exits_1_on_a_failed_chapter(tmp_path):
    out = tmp_path / "r.json"
    assert sl.write_result(out, _doc()) == 0
    doc = json.loads(out.read_text())
    assert doc["passed"] is True and doc["versions"]["torch_geometric"] == "2.8.1"
    assert doc["torch_pinned"] == "torch==2.13.0" and "CPU" in doc["torch_note"]
    assert sl.write_result(out, _doc("fail", sl.error_tail("\x1b[31mValueError\x1b[0m: boom\n\n"))) == 1
    assert json.loads(out.read_text())["chapters"][0]["error"] == ["ValueError: boom"]
    with pytest.raises(ValueError, match="error lines"):
        sl.write_result(out, _doc("fail"))
