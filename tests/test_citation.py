"""The book is citable and versioned: one version everywhere it is written."""
import re
import tomllib
from pathlib import Path

import yaml

import poolkit

ROOT = Path(__file__).resolve().parents[1]


def test_citation_cff_parses_and_names_the_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"]
    assert str(cff["version"]) == poolkit.__version__
    assert cff["license"] == "MIT"


def test_footer_index_and_changelog_name_the_same_version():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    footer = config["html"]["extra_footer"]
    assert f"poolkit {poolkit.__version__}" in footer and f"book version {poolkit.__version__}" in footer
    index = (ROOT / "book" / "index.md").read_text()
    assert "## How to cite" in index and f"version = {{{poolkit.__version__}}}" in index
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(poolkit.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    assert "## [Unreleased]" in changelog


def test_pyproject_licence_is_an_spdx_string_and_the_version_is_single_sourced():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert not any(c.startswith("License ::") for c in meta["project"].get("classifiers", []))
    assert "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "poolkit.__version__"
