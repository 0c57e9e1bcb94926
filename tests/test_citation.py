"""The book is citable and versioned: one version everywhere it is written."""
import re
import tomllib
from pathlib import Path

import yaml

import poolkit

ROOT = Path(__file__).resolve().parents[1]


def _changelog_date(version: str):
    changelog = (ROOT / "CHANGELOG.md").read_text()
    m = re.search(rf"^## \[{re.escape(version)}\] - (\d{{4}}-\d{{2}}-\d{{2}})$", changelog, re.M)
    return m and m.group(1)


def test_citation_cff_parses_and_names_the_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    # the keys CFF 1.2.0 requires
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["title"] and cff["authors"]
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert str(cff["version"]) == poolkit.__version__
    assert str(cff["date-released"]) == _changelog_date(poolkit.__version__)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cff["license"] == pyproject["project"]["license"]


def test_footer_index_and_changelog_name_the_same_version():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    footer = config["html"]["extra_footer"]
    assert f"poolkit {poolkit.__version__}" in footer and f"book version {poolkit.__version__}" in footer
    # every other version-looking string in the footer is the same version
    assert set(re.findall(r"\d+\.\d+\.\d+\S*", footer)) == {poolkit.__version__}
    assert "#how-to-cite" in footer
    index = (ROOT / "book" / "index.md").read_text()
    assert "## How to cite" in index
    assert re.findall(r"^\s*version\s*=\s*\{([^}]*)\}", index, re.M) == [poolkit.__version__]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert _changelog_date(poolkit.__version__), f"CHANGELOG.md has no section for {poolkit.__version__}"
    assert "## [Unreleased]" in changelog


def test_pyproject_licence_is_an_spdx_string_and_the_version_is_single_sourced():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(meta["project"]["license"], str) and meta["project"]["license"] == "MIT"
    # PEP 639: a licence classifier beside an SPDX expression is an error in setuptools
    assert not any(c.startswith("License ::") for c in meta["project"].get("classifiers", []))
    # setuptools reads an SPDX `license` string from 77 on
    backend = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    m = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", backend[0].replace(" ", "")) if backend else None
    assert m and int(m.group(1)) >= 77, backend
    assert "version" in meta["project"]["dynamic"] and "version" not in meta["project"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "poolkit.__version__"
    # the licence text ships with the package, and it is the licence the expression names
    assert meta["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "The poolkit authors" in text


def test_the_book_loads_jupyter_books_extensions_less_sphinx_thebe():
    """sphinx_thebe's inline `const THEBE_JS_URL` is written twice on every page by
    Sphinx 7.x (sphinx-doc/sphinx#13402), a script error; the book shows no launch button,
    so _config.yml lists Jupyter Book's default extensions without it."""
    from jupyter_book.config import get_default_sphinx_config

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert not config["html"].get("launch_buttons", {}).get("thebe")
    extensions = config["sphinx"]["config"]["extensions"]
    expected = [e for e in get_default_sphinx_config()["extensions"] if e != "sphinx_thebe"]
    assert extensions == expected + ["sphinxcontrib.bibtex"]
