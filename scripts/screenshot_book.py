"""Open the built book in headless Chromium with the network blocked, take screenshots and
check what a reader sees offline.

Every HTML page of ``_build/html`` (the index, every chapter, the search and index pages) is
loaded from disk in Debian's ``chromium`` through Playwright (the Python package only; the
browser is the system one). The network is blocked twice over:

* the script re-runs itself inside ``unshare -rn`` (a network namespace with no interface
  up) where the machine allows it, and
* every request the browser makes for anything but ``file:``, ``data:``, ``blob:`` or
  ``about:`` is recorded and aborted (and host names resolve to nothing).

A page fails when

1. it requests a remote URL (any at all: scripts, styles, fonts, images), or its HTML names
   a remote script, stylesheet, image or frame to load;
2. a local file it asks for is missing (a font or a MathJax component, say);
3. it shows untypeset maths: a ``\\(``, ``\\)``, ``\\[`` or ``$$`` left in the visible text
   (code excluded), a maths element (``.math``, which Sphinx writes for every formula)
   without MathJax output, or a MathJax error;
4. a chapter page has no typeset maths at all, a plotly figure was not drawn, a stored
   widget view was not rendered, a cell shows an error, or a script on the page threw.

Screenshots go to ``_build/screenshots/``: ``<page>.png`` (the full page) and, for pages
with maths, ``<page>-maths.png`` (the first displayed formula and its surroundings, to look
at). ``summary.json`` beside them lists, per page, what was counted.

    python scripts/screenshot_book.py [--chromium /usr/bin/chromium] [--no-unshare]
                                      [--html _build/html] [--out _build/screenshots] [page ...]

``page`` filters by file stem (``01_src``, ``index``). Exit status 0 when every page passes.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "screenshots"
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome-error"}
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--allow-file-access-from-files", "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
NETNS_ENV = "POOLKIT_SCREENSHOT_NETNS"
TIMEOUT_MS = 900_000  # page load, screenshot
WAIT_MS = 180_000  # for widgets and plotly figures to draw once the page loaded
# Resources the HTML itself names for loading (links to other sites are fine: they are
# only followed when a reader clicks).
REMOTE_RESOURCE = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=[\"'](?:https?:)?//[^\"']+"
    r"|<link\b(?=[^>]*\brel=[\"'](?:stylesheet|preload|modulepreload|icon|shortcut icon|prefetch)[\"'])"
    r"[^>]*\bhref=[\"'](?:https?:)?//[^\"']+",
    re.I,
)

# Script errors that are known, harmless and not ours to fix, each with its reason. None
# today: the one every page threw (sphinx_thebe's `const THEBE_JS_URL` written twice) is fixed
# at its cause in _config.yml, so any script error now fails the page.
KNOWN_PAGE_ERRORS: tuple = ()

# Runs in the page once it loaded: waits for MathJax, the widget manager and plotly, then
# counts what the reader sees.
INSPECT_JS = r"""
async (WAIT_MS) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = () => views.filter(v => {
    const prev = v.previousElementSibling;
    return prev && prev.classList.contains('widget-subarea') && prev.querySelector('.jupyter-widgets, .lm-Widget, .widget-output');
  }).length;
  const figs = () => [...document.querySelectorAll('.plotly-graph-div')];
  const drawn = () => figs().filter(f => f.querySelector('.main-svg')).length;
  const until = Date.now() + WAIT_MS;
  while ((rendered() < views.length || drawn() < figs().length) && Date.now() < until) await sleep(200);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;

  const maths = [...document.querySelectorAll('.math')];
  const skip = new Set(['SCRIPT', 'STYLE', 'PRE', 'CODE', 'TEXTAREA', 'NOSCRIPT', 'TEMPLATE']);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement) {
        if (skip.has(e.tagName) || e.tagName.startsWith('MJX-') || e.classList.contains('highlight')) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }
  });
  const leftovers = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    const m = t.match(/\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{/);
    if (m) leftovers.push(t.slice(Math.max(0, m.index - 40), m.index + 60).trim());
  }
  return {
    mathjax_loaded: !!(window.MathJax && MathJax.version),
    mathjax_version: window.MathJax && MathJax.version || null,
    maths_elements: maths.length,
    maths_typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mathjax_errors: document.querySelectorAll('mjx-merror').length,
    untypeset_text: leftovers.slice(0, 10),
    untypeset_count: leftovers.length,
    widget_views: views.length,
    widget_views_rendered: rendered(),
    plotly_figures: figs().length,
    plotly_drawn: drawn(),
    error_outputs: document.querySelectorAll('.output.error, .output.traceback, .output_error').length
      + (document.body.innerText.match(/Traceback \(most recent call last\)/g) || []).length,
    images_broken: [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute('src')),
  };
}
"""


def reexec_in_netns(argv) -> bool:
    """Run this script again inside a network namespace without interfaces; True when done."""
    if os.environ.get(NETNS_ENV) or not shutil.which("unshare"):
        return False
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        return False
    env = dict(os.environ, **{NETNS_ENV: "1"})
    rc = subprocess.call(["unshare", "-rn", sys.executable, str(Path(__file__).resolve()), *argv], env=env)
    raise SystemExit(rc)


def pages_to_check(html: Path, names) -> list:
    pages = sorted(p for p in html.rglob("*.html")
                   if not any(part.startswith("_") for part in p.relative_to(html).parts[:-1]))
    if names:
        pages = [p for p in pages if p.stem in names]
    return pages


def is_chapter(page: Path) -> bool:
    return page.parent.name == "book" and re.match(r"\d\d_", page.stem) is not None


REDIRECT = re.compile(r"<meta[^>]+http-equiv=[\"']refresh[\"'][^>]*url=([^\"'>]+)", re.I)


def check_redirect(page: Path, html: Path, target: str) -> dict:
    """A page that only redirects (Jupyter Book writes one at the root): its target must be
    a local page of the book."""
    dest = (page.parent / target.strip()).resolve()
    ok = not re.match(r"(https?:)?//", target.strip()) and dest.is_file()
    return {"page": str(page.relative_to(html)), "redirect_to": target.strip(), "ok": ok,
            "problems": [] if ok else [f"redirects to {target.strip()}, not a page of the book"],
            "remote_requests": [], "maths_elements": 0, "maths_typeset": 0, "plotly_figures": 0, "plotly_drawn": 0,
            "widget_views": 0, "widget_views_rendered": 0}


def check_page(browser, page: Path, html: Path = HTML, out: Path = OUT) -> dict:
    m = REDIRECT.search(page.read_text(errors="replace"))
    if m:
        return check_redirect(page, html, m.group(1))
    try:
        return _check_page(browser, page, html, out)
    except Exception as e:  # noqa: BLE001  (a page that breaks the browser fails, the others still run)
        r = check_redirect(page, html, "")
        r.update(ok=False, problems=[f"{type(e).__name__}: {str(e)[:300]}"])
        r.pop("redirect_to")
        return r


def _check_page(browser, page: Path, html: Path, out: Path) -> dict:
    rel = page.relative_to(html)
    remote, local_failed, page_errors = [], [], []
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")

    def route(r):
        url = r.request.url
        if urlparse(url).scheme in LOCAL_SCHEMES:
            r.continue_()
        else:
            remote.append(url)
            r.abort("internetdisconnected")

    context.route("**/*", route)
    p = context.new_page()
    p.on("pageerror", lambda e: page_errors.append(str(e)[:300]))
    p.on("requestfailed", lambda req: local_failed.append(req.url) if urlparse(req.url).scheme == "file" else None)
    # Generous limits: on a loaded machine a page with many figures takes minutes to settle.
    p.set_default_timeout(TIMEOUT_MS)
    t0 = time.perf_counter()
    p.goto(page.as_uri(), wait_until="load", timeout=TIMEOUT_MS)
    seen = p.evaluate(INSPECT_JS, WAIT_MS)
    seen["seconds_to_settle"] = round(time.perf_counter() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    stem = "_".join(rel.with_suffix("").parts)
    png = out / f"{stem}.png"
    p.screenshot(path=str(png), full_page=True)
    maths_png = None
    # The first displayed formula in page coordinates (a full-page clip is in page units).
    box = p.evaluate("""() => { const e = document.querySelector('div.math');
        if (!e) return null; const r = e.getBoundingClientRect();
        return {y: r.top + window.scrollY, height: r.height}; }""")
    if box:
        maths_png = out / f"{stem}-maths.png"
        top = max(0, box["y"] - 250)
        p.screenshot(path=str(maths_png), full_page=True,
                     clip={"x": 0, "y": top, "width": 1400, "height": box["height"] + 500})
    context.close()

    static_remote = sorted(set(m.group(0)[-160:] for m in REMOTE_RESOURCE.finditer(page.read_text(errors="replace"))))
    r = {
        "page": str(rel),
        "screenshot": str(png),
        "maths_screenshot": str(maths_png) if maths_png else None,
        "remote_requests": sorted(set(remote)),
        "remote_resources_in_html": static_remote,
        "local_files_missing": sorted(set(local_failed)),
        "page_errors": page_errors,
        **seen,
    }
    problems = []
    if r["remote_requests"]:
        problems.append(f"{len(r['remote_requests'])} remote requests")
    if static_remote:
        problems.append(f"{len(static_remote)} remote resources named in the HTML")
    if r["local_files_missing"]:
        problems.append(f"{len(r['local_files_missing'])} local files missing")
    if r["maths_elements"] and not r["mathjax_loaded"]:
        problems.append("maths on the page but MathJax did not load")
    if r["maths_typeset"] < r["maths_elements"]:
        problems.append(f"{r['maths_elements'] - r['maths_typeset']} of {r['maths_elements']} formulas not typeset")
    if r["mathjax_errors"]:
        problems.append(f"{r['mathjax_errors']} MathJax errors")
    if r["untypeset_count"]:
        problems.append(f"{r['untypeset_count']} bits of raw TeX in the visible text")
    if is_chapter(page) and r["mjx_containers"] == 0:
        problems.append("a chapter without typeset maths")
    if is_chapter(page) and r["plotly_figures"] == 0:
        problems.append("a chapter without plotly figures")
    if r["plotly_drawn"] < r["plotly_figures"]:
        problems.append(f"{r['plotly_figures'] - r['plotly_drawn']} plotly figures not drawn")
    if r["widget_views_rendered"] < r["widget_views"]:
        problems.append(f"{r['widget_views'] - r['widget_views_rendered']} widget views not rendered")
    if r["error_outputs"]:
        problems.append(f"{r['error_outputs']} error outputs")
    if r["images_broken"]:
        problems.append(f"broken images {r['images_broken']}")
    errors = [e for e in page_errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    if errors:
        problems.append(f"{len(errors)} script errors: {errors[:3]}")
    if is_chapter(page) and png.stat().st_size < 10_000:
        problems.append("an (almost) empty screenshot")
    r["problems"] = problems
    r["ok"] = not problems
    return r


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--no-unshare", action="store_true", help="do not enter a network namespace")
    ap.add_argument("--html", type=Path, default=HTML, help="the built book (default: _build/html)")
    ap.add_argument("--out", type=Path, default=OUT, help="screenshots and summary.json (default: _build/screenshots)")
    ap.add_argument("pages", nargs="*", help="page stems (default: every page)")
    args = ap.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"chromium not found at {args.chromium}; on Debian: apt-get install -y chromium", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs the playwright Python package: pip install -e '.[browser]' (never `playwright install`)",
              file=sys.stderr)
        return 2
    html, out = args.html.resolve(), args.out.resolve()
    pages = pages_to_check(html, args.pages)
    if not pages:
        print(f"no pages under {html}: build the book first (make book)", file=sys.stderr)
        return 2
    if not args.no_unshare:
        reexec_in_netns(argv)
    network = "unshare -rn and request blocking" if os.environ.get(NETNS_ENV) else "request blocking only"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=FLAGS, headless=True)
        results = []
        for p in pages:
            results.append(check_page(browser, p, html, out))
            out.mkdir(parents=True, exist_ok=True)
            (out / "summary.partial.json").write_text(json.dumps(results, indent=2))
        browser.close()
    summary = {
        "network": network,
        "pages": len(results),
        "pages_ok": sum(r["ok"] for r in results),
        "remote_requests": sum(len(r["remote_requests"]) for r in results),
        "formulas": sum(r["maths_elements"] for r in results),
        "formulas_typeset": sum(r["maths_typeset"] for r in results),
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"network: {network}")
    for r in results:
        print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['page']}: {r['maths_typeset']}/{r['maths_elements']} formulas typeset, "
              f"{r['plotly_drawn']}/{r['plotly_figures']} figures drawn, "
              f"{r['widget_views_rendered']}/{r['widget_views']} widget views, "
              f"{len(r['remote_requests'])} remote requests"
              + ("" if r["ok"] else " -- " + "; ".join(r["problems"])))
    print(f"{summary['pages_ok']}/{summary['pages']} pages ok, {summary['remote_requests']} remote requests, "
          f"{summary['formulas_typeset']}/{summary['formulas']} formulas typeset; details in {out / 'summary.json'}")
    return 0 if summary["pages_ok"] == summary["pages"] else 1


if __name__ == "__main__":
    sys.exit(main())
