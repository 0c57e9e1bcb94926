"""Regenerate the Colab notebooks from the chapter sources.

The chapters in ``book/*.md`` (jupytext MyST markdown) are the source of truth. This
script

1. rewrites, in every chapter, the "Open in Colab" link and the repository named by the
   Colab install cell from the ``repository`` setting of ``_config.yml``, and
2. writes ``notebooks/<chapter>.ipynb`` (no outputs), the file the Colab link opens.

The chapters show the badge from ``book/_static/colab-badge.svg`` so that the built book
needs no network; the notebooks, opened in Colab or Jupyter where the network is at hand,
show Colab's own badge instead (a relative path to ``book/_static`` would not resolve there).

``tests/test_book.py`` fails when a notebook or a link is out of date, so run this after
editing a chapter::

    python scripts/sync_notebooks.py          # write
    python scripts/sync_notebooks.py --check  # only report, exit 1 when out of sync
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"']+")
LOCAL_BADGE = "(_static/colab-badge.svg)"
REMOTE_BADGE = "(https://colab.research.google.com/assets/colab-badge.svg)"
INSTALL_RE = re.compile(r"git\+https://github\.com/[^\s\"'@]+(@[^\s\"']+)?")


def repository() -> dict:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = cfg["repository"]
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", repo["url"])
    if not m:
        raise SystemExit(f"_config.yml repository.url must be a GitHub URL, got {repo['url']!r}")
    return {"owner": m.group(1), "name": m.group(2), "branch": repo.get("branch", "main"), "url": repo["url"].rstrip("/")}


def chapters() -> list:
    return sorted(p for p in BOOK.glob("[0-9][0-9]_*.md"))


def colab_url(stem: str, repo: dict) -> str:
    return (
        f"https://colab.research.google.com/github/{repo['owner']}/{repo['name']}"
        f"/blob/{repo['branch']}/notebooks/{stem}.ipynb"
    )


def install_target(repo: dict) -> str:
    return f"git+{repo['url']}@{repo['branch']}"


def fixed_source(path: Path, repo: dict) -> str:
    text = path.read_text()
    text = COLAB_RE.sub(colab_url(path.stem, repo), text)
    text = INSTALL_RE.sub(install_target(repo), text)
    return text


def notebook_for(text: str) -> nbformat.NotebookNode:
    nb = jupytext.reads(text, fmt="md:myst")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # stable ids keep the file identical run to run
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(LOCAL_BADGE, REMOTE_BADGE)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["colab"] = {"provenance": []}
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = ap.parse_args(argv)
    repo = repository()
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    for md in chapters():
        text = fixed_source(md, repo)
        out = NOTEBOOKS / f"{md.stem}.ipynb"
        nb_text = render(notebook_for(text))
        if text != md.read_text():
            stale.append(str(md.relative_to(ROOT)))
            if not args.check:
                md.write_text(text)
        if not out.exists() or out.read_text() != nb_text:
            stale.append(str(out.relative_to(ROOT)))
            if not args.check:
                out.write_text(nb_text)
    expected = {f"{md.stem}.ipynb" for md in chapters()}
    for nb in NOTEBOOKS.glob("*.ipynb"):
        if nb.name not in expected:
            stale.append(f"{nb.relative_to(ROOT)} (no chapter source)")
            if not args.check:
                nb.unlink()
    if stale:
        print(("out of sync: " if args.check else "updated: ") + ", ".join(stale))
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
