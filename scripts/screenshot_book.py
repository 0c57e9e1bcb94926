"""Open the built book in headless Chromium, take screenshots and check what a reader sees.

For every chapter page in ``_build/html/book/`` this script

1. loads the page in Debian's ``chromium`` (headless, no network needed: plotly.js is
   served from the book's ``_static`` folder) and lets its scripts run;
2. saves a full-page screenshot to ``_build/screenshots/<chapter>.png``;
3. reads the rendered DOM and fails when a plotly figure was not drawn (a figure ``div``
   without the ``main-svg`` plotly draws into) or when a cell shows an error (a traceback or
   an ``Error`` output).

    python scripts/screenshot_book.py [--chromium /usr/bin/chromium] [chapter ...]

Exit status 0 when every page passes; a JSON summary is written beside the screenshots.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--allow-file-access-from-files", "--virtual-time-budget=20000",
]


def chromium(binary: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def check_page(binary: str, page: Path) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    png = OUT / f"{page.stem}.png"
    chromium(binary, page, f"--screenshot={png}", "--window-size=1400,5000")
    dom = chromium(binary, page, "--dump-dom").stdout
    figures = len(re.findall(r'class="plotly-graph-div', dom))
    drawn = len(re.findall(r'class="[^"]*plot-container plotly', dom))
    errors = re.findall(r'(Traceback \(most recent call last\)|class="[^"]*output (?:error|traceback)[^"]*")', dom)
    result = {
        "page": str(page.relative_to(HTML)),
        "screenshot": str(png.relative_to(ROOT)),
        "screenshot_bytes": png.stat().st_size if png.exists() else 0,
        "plotly_figures": figures,
        "plotly_drawn": drawn,
        "error_outputs": len(errors),
    }
    result["ok"] = bool(
        result["screenshot_bytes"] > 10_000 and figures > 0 and drawn == figures and not errors
    )
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("chapters", nargs="*", help="chapter stems (default: every chapter page)")
    args = ap.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"chromium not found at {args.chromium}; on Debian: apt-get install -y chromium", file=sys.stderr)
        return 2
    pages = sorted((HTML / "book").glob("[0-9][0-9]_*.html"))
    if args.chapters:
        pages = [p for p in pages if p.stem in args.chapters]
    if not pages:
        print(f"no chapter pages under {HTML / 'book'}: build the book first (make book)", file=sys.stderr)
        return 2
    results = [check_page(args.chromium, p) for p in pages]
    (OUT / "summary.json").write_text(json.dumps(results, indent=2))
    for r in results:
        print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['page']}: {r['plotly_drawn']}/{r['plotly_figures']} figures drawn, "
              f"{r['error_outputs']} error outputs, screenshot {r['screenshot']}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
