"""The book's sources: Colab notebooks in sync, links derived from the one repository
setting, a Colab install cell that pins no torch, every chapter in the table of contents."""
import re
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import sync_notebooks  # noqa: E402

CHAPTERS = sync_notebooks.chapters()


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in book/"
    assert CHAPTERS[0].name == "01_src.md"


def test_colab_notebooks_are_in_sync_with_sources():
    repo = sync_notebooks.repository()
    for md in CHAPTERS:
        text = md.read_text()
        assert text == sync_notebooks.fixed_source(md, repo), f"{md.name}: links stale, run scripts/sync_notebooks.py"
        nb = ROOT / "notebooks" / f"{md.stem}.ipynb"
        assert nb.exists(), f"{nb} missing, run scripts/sync_notebooks.py"
        assert nb.read_text() == sync_notebooks.render(sync_notebooks.notebook_for(text)), (
            f"{nb.name} is out of sync with {md.name}: run scripts/sync_notebooks.py"
        )
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert stems == {md.stem for md in CHAPTERS}


def test_links_derive_from_the_repository_setting():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = cfg["repository"]["url"].rstrip("/")
    owner, name = url.split("/")[-2:]
    branch = cfg["repository"]["branch"]
    for md in CHAPTERS:
        text = md.read_text()
        links = re.findall(r"https://colab\.research\.google\.com/github/[^\s)]+", text)
        assert links == [f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/notebooks/{md.stem}.ipynb"], md.name
        assert f"git+{url}@{branch}" in text, f"{md.name}: install cell does not name the repository"


def test_first_code_cell_installs_only_in_colab_and_pins_no_torch():
    for md in CHAPTERS:
        nb = jupytext.read(md)
        code = [c for c in nb.cells if c.cell_type == "code"]
        first = code[0].source
        assert 'if "google.colab" in sys.modules' in first, md.name
        assert "%pip install" in first, md.name
        assert not re.search(r"\btorch\s*[=<>~!]=", first), f"{md.name} pins torch"
        assert not re.search(r"(^|\s)torch(\s|$)", first.split("%pip install", 1)[1]), f"{md.name} installs torch"


def test_every_chapter_is_in_the_toc_and_has_checks_and_exercises():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for c in toc["chapters"]]
    assert files == [f"book/{md.stem}" for md in CHAPTERS]
    for md in CHAPTERS:
        text = md.read_text()
        assert ":tags: [remove-cell]" in text, f"{md.name} asserts no claims"
        assert "## Exercises" in text and "## References" in text, md.name


def test_pages_load_maths_widgets_and_badge_from_the_book_itself():
    """The built book must read offline: MathJax, the widget manager and the Colab badge
    come from ``_static`` (scripts/vendor_js.py installs the first two at build time;
    scripts/screenshot_book.py proves it in a browser with the network blocked)."""
    import vendor_js

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    static = [ROOT / s for s in cfg["html_static_path"]]
    assert static == [ROOT / "book" / "_static"] and vendor_js.STATIC == static[0] / "vendor"
    folders = {folder: include for _, _, folder, include in vendor_js.PACKAGES.values()}
    loaded = [cfg["mathjax_path"], *cfg["nb_ipywidgets_js"]]
    for path in loaded + cfg["html_js_files"]:
        assert not re.match(r"(https?:)?//", path), f"{path} is loaded from the network"
    for path in loaded:
        folder, rest = path.removeprefix("vendor/").split("/", 1)
        # the file is one vendor_js copies (es5/ and dist/ are flattened into the folder)
        assert any(p.split("/", 1)[-1] == rest for p in folders[folder]), path
    for name, (version, integrity, _, _) in vendor_js.PACKAGES.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned to one version"
        assert integrity.startswith("sha512-"), name
    assert (ROOT / "book" / "_static" / "colab-badge.svg").read_text().lstrip().startswith("<svg")
    for md in CHAPTERS:
        images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", md.read_text())
        remote = [u for u in images if re.match(r"(https?:)?//", u)]
        assert not remote, f"{md.name} shows remote images {remote}"
        assert "_static/colab-badge.svg" in images, md.name
    # ... while the notebooks, opened online in Colab, keep Colab's own badge.
    for md in CHAPTERS:
        nb = (ROOT / "notebooks" / f"{md.stem}.ipynb").read_text()
        assert sync_notebooks.REMOTE_BADGE.strip("()") in nb and "_static/colab-badge.svg" not in nb, md.stem


def test_build_executes_every_toc_chapter_into_a_cache_the_build_matches(tmp_path):
    """scripts/build_book.py executes each chapter once into the jupyter-cache and the book
    build reads it from there: that only works if the notebook it executes is the one myst-nb
    reads (the cache is keyed by the code cells and their metadata)."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook

    import build_book

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [ROOT / f"{c['file']}.md" for c in toc["chapters"]]
    found = build_book.chapters()
    assert found == listed and len(found) >= 9    # every chapter of the toc, in toc order; index.md is no notebook
    cache = get_cache(str(tmp_path / "cache"))
    for path in found[:3]:
        nb = build_book.read_chapter(path)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, path
        code[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(path)), check_validity=False, overwrite=True)
        # what myst-nb builds from the same file (its Sphinx reader passes a parser config)
        again = read_myst_markdown_notebook(path.read_text(), add_source_map=True, path=path)
        _, merged = cache.merge_match_into_notebook(again)
        assert [c for c in merged.cells if c.cell_type == "code"][0].outputs[0]["text"] == "ran\n"
    edited = build_book.read_chapter(found[0])
    edited.cells[[c.cell_type for c in edited.cells].index("code")].source += "\n# changed"
    with pytest.raises(KeyError):                 # a changed cell is a miss: the build would execute it
        cache.match_cache_notebook(edited)


def test_the_book_build_executes_the_colab_notebooks_code():
    """make test executes every chapter once, in the strict book build, and not the .ipynb
    files again: that run stands for the notebooks only if their code cells are the cells
    the build executes, byte for byte and in order (cell metadata such as tags too, since
    a tag like raises-exception changes what the run accepts)."""
    import nbformat

    import build_book

    for path in build_book.chapters():
        executed = [c for c in build_book.read_chapter(path).cells if c.cell_type == "code"]
        colab = [c for c in nbformat.read(ROOT / "notebooks" / f"{path.stem}.ipynb", as_version=4).cells
                 if c.cell_type == "code"]
        assert len(colab) == len(executed) > 0, path.name
        for a, b in zip(colab, executed):
            assert a.source == b.source, (path.name, a.source[:80])
            assert a.metadata.get("tags", []) == b.metadata.get("tags", []), (path.name, a.source[:80])


def test_book_cache_mode_and_parallel_jobs_are_wired():
    cfg = (ROOT / "_config.yml").read_text()
    assert "execute_notebooks: cache" in cfg
    make = (ROOT / "Makefile").read_text()
    assert "build_book.py --strict --jobs $(JOBS)" in make and "--dist loadfile notebooks" in make
    # make test: the sync check, then the chapters executed once (in the book build), not twice
    test_recipe = make.split("\ntest: venv\n", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) notebooks-sync" in test_recipe and "$(MAKE) book-strict" in test_recipe
    assert "$(MAKE) notebooks\n" not in test_recipe + "\n"


def test_chapters_import_only_public_names_of_poolkit():
    """Chapters teach through the public API: no ``from poolkit… import _name`` and no
    ``poolkit…._name`` attribute, in any code cell (the IPython magics are left out)."""
    import ast

    import build_book

    for path in build_book.chapters():
        for cell in build_book.read_chapter(path).cells:
            if cell.cell_type != "code":
                continue
            src = "\n".join(line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                            else line for line in cell.source.splitlines())
            tree = ast.parse(src)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "poolkit":
                    bad = [a.name for a in node.names if a.name.startswith("_")]
                    assert not bad, (path.name, node.module, bad)
                if isinstance(node, ast.Import):
                    for a in node.names:
                        assert not any(part.startswith("_") for part in a.name.split(".")), (path.name, a.name)
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("poolkit"):
                    assert not any(p.startswith("_") for p in node.module.split(".")), (path.name, node.module)
