"""Build the book: put the JavaScript the pages load into the static folder, run Jupyter Book.

    python scripts/build_book.py            # execute every chapter, write _build/html
    python scripts/build_book.py --strict   # the same, with Sphinx warnings as errors

plotly.js comes from the installed ``plotly`` package (the same version that drew the
figures); MathJax 3 and the ipywidgets HTML manager come from the npm registry, pinned and
cached by ``scripts/vendor_js.py`` (downloaded once, then reused). The built pages load all
three from ``_static`` and need no network; ``scripts/screenshot_book.py`` checks that.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import plotly

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vendor_js  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def copy_plotly_js() -> Path:
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    dst = ROOT / "book" / "_static" / "plotly.min.js"
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dst)
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    args = ap.parse_args(argv)
    copy_plotly_js()
    vendor_js.main([])
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(ROOT), "--all"]
    if args.strict:
        cmd += ["--warningiserror", "--keep-going"]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    index = ROOT / "_build" / "html" / "index.html"
    if rc == 0 and not index.exists():
        print(f"build finished but {index} is missing", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
