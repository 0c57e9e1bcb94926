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
3. it shows untypeset maths: a ``\\(``, ``\\)``, ``\\[``, ``$$`` or a TeX command (``\\mathbf``)
   left in the visible text
   (code excluded), a ``$`` right beside a formula (``$$`` that did not start a line and was
   read as ``$`` + inline maths + ``$``), a maths element (``.math``, which Sphinx writes for every formula)
   without MathJax output, or a MathJax error;
4. a chapter page has no typeset maths at all, a plotly figure was not drawn, a stored
   widget view was not rendered, a cell shows an error, or a script on the page threw;
5. at the book's width (1400 px) or a laptop's (1024 px), something in the article sticks
   out of the content column (its right edge past the column's) or clips its text (hidden
   overflow narrower than its content), or a code output does not wrap its long lines.
   What sits inside a box that scrolls sideways itself (``overflow-x: auto``, a wide table
   in its wrapper) is fine as long as that box fits. Each offender is listed with a
   selector-like description and its widths.

Screenshots go to ``_build/screenshots/``: ``<page>.png`` (the full page at 1400 px),
``<page>-1024.png`` (the same at 1024 px) and, for pages with maths, ``<page>-maths.png``
(the first displayed formula and its surroundings, to look at). ``summary.json`` beside them lists, per page, what was counted.

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
    const m = t.match(/\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\[A-Za-z]{2,}/);
    if (m) leftovers.push(t.slice(Math.max(0, m.index - 40), m.index + 60).trim());
  }
  // A '$' right beside a formula: '$$' that the parser read as '$' + inline maths + '$'
  // (display maths that does not start a line of its own), shown as stray dollar signs.
  for (const e of maths) {
    const before = e.previousSibling, after = e.nextSibling;
    if ((before && before.nodeType === Node.TEXT_NODE && /\$\s*$/.test(before.textContent))
        || (after && after.nodeType === Node.TEXT_NODE && /^\s*\$/.test(after.textContent))) {
      leftovers.push('$ beside ' + e.textContent.trim().slice(0, 60));
    }
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


# The two widths a page must fit: the book's (what the screenshots show) and a laptop's.
WIDTHS = (1400, 1024)
TOLERANCE_PX = 1  # sub-pixel rounding is not an overflow
# A table cell is squeezed when its column is narrower than `em` and its text takes at
# least `lines` lines there (a column of long entries pressed to a few characters, so
# every row grows tall): such a table wants another shape, not a scrollbar.
SQUEEZED = {"lines": 8, "em": 12}

# Runs in the page at one viewport width: the facts about every element of the article
# that sticks out of the content column, hides part of its content, or is a code output
# wider than its box. Which of them is a problem is decided in Python
# (find_overflows), where it can be tested without a browser.
LAYOUT_JS = r"""
([TOL, SQUEEZE]) => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  // The content column: the article's content box (inside its padding).
  const box = article.getBoundingClientRect(), acs = getComputedStyle(article);
  const col = {left: box.left + parseFloat(acs.paddingLeft) + article.clientLeft,
               right: box.left + article.clientLeft + article.clientWidth - parseFloat(acs.paddingRight)};
  col.width = col.right - col.left;
  // Copies for screen readers, clipped to nothing on purpose (MathJax's assistive MathML).
  const srOnly = (e, cs) => e.tagName === 'MJX-ASSISTIVE-MML' || (cs.position === 'absolute'
    && ((cs.clip && cs.clip !== 'auto') || /^inset\(50%/.test(cs.clipPath)));
  const scrolls = cs => cs.overflowX === 'auto' || cs.overflowX === 'scroll';
  // The right edge of what is drawn inside e: its text and its children, not what is
  // hidden from sight, not past a box that scrolls itself.
  const visibleRight = e => {
    let right = -Infinity;
    const walk = n => {
      for (const c of n.childNodes) {
        if (c.nodeType === Node.TEXT_NODE) {
          if (!c.textContent.trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(c);
          for (const q of range.getClientRects()) right = Math.max(right, q.right);
        } else if (c.nodeType === Node.ELEMENT_NODE) {
          const cs = getComputedStyle(c);
          if (srOnly(c, cs) || cs.display === 'none' || cs.visibility === 'hidden') continue;
          const q = c.getBoundingClientRect();
          if (q.width || q.height) right = Math.max(right, q.right);
          if (!scrolls(cs) && !(c instanceof SVGElement)) walk(c);
        }
      }
    };
    walk(e);
    return right;
  };
  const describe = e => {
    let d = e.tagName.toLowerCase();
    if (e.id) d += '#' + e.id;
    const cls = typeof e.className === 'string' ? e.className.trim().split(/\s+/).filter(Boolean) : [];
    if (cls.length) d += '.' + cls.slice(0, 3).join('.');
    const up = [];
    for (let a = e.parentElement; a && a !== article && up.length < 3; a = a.parentElement) {
      let t = a.tagName.toLowerCase();
      if (a.id) t += '#' + a.id; else if (typeof a.className === 'string' && a.className.trim()) t += '.' + a.className.trim().split(/\s+/)[0];
      up.unshift(t);
    }
    return (up.length ? up.join(' > ') + ' > ' : '') + d;
  };
  const tables = [...article.querySelectorAll('table')];
  const index = new Map();
  const facts = [];
  const all = article.querySelectorAll('*');
  for (const e of all) {
    if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;  // the drawing, not its parts
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not laid out (display: none, collapsed)
    const cs = getComputedStyle(e);
    if (cs.visibility === 'hidden' || cs.display === 'contents') continue;
    const sw = e.scrollWidth, cw = e.clientWidth;
    const hides = ['hidden', 'clip'].includes(cs.overflowX) && cw > 0 && sw > cw + TOL;
    const isOutput = e.tagName === 'PRE' && !!e.closest('div.cell_output, div.output');
    const wide = isOutput && cw > 0 && sw > cw + TOL;
    const out = r.right > col.right + TOL || r.left < col.left - TOL;
    // A table cell pressed into a narrow column: how many lines its text takes.
    let lines = 0, widthEm = 0, table = null;
    if (e.tagName === 'TD' || e.tagName === 'TH') {
      const fs = parseFloat(cs.fontSize) || 16;
      const lh = parseFloat(cs.lineHeight) || 1.2 * fs;
      // the height of the text itself, not of the cell (a row is as tall as its tallest cell)
      const range = document.createRange();
      range.selectNodeContents(e);
      lines = Math.round(range.getBoundingClientRect().height / lh);
      widthEm = Math.round(10 * r.width / fs) / 10;
      table = tables.indexOf(e.closest('table'));
    }
    const squeezed = lines >= SQUEEZE.lines && widthEm < SQUEEZE.em;
    if (!hides && !wide && !out && !squeezed) continue;
    let scroller = null, parent = null, hidden = false;
    for (let a = e.parentElement; a && a !== article; a = a.parentElement) {
      if (parent === null && index.has(a)) parent = index.get(a);
      const acs = getComputedStyle(a);
      if (srOnly(a, acs)) { hidden = true; break; }
      if (scroller === null && scrolls(acs)) scroller = describe(a);
    }
    if (hidden) continue;
    index.set(e, facts.length);
    facts.push({
      id: facts.length, parent, element: describe(e), tag: e.tagName.toLowerCase(),
      left: Math.round(r.left), right: Math.round(r.right), width: Math.round(r.width),
      scroll_width: sw, client_width: cw, overflow_x: cs.overflowX, white_space: cs.whiteSpace,
      inner_right: Math.round(r.left + e.clientLeft + cw),
      visible_right: hides ? Math.round(visibleRight(e)) : null,
      scroller, code_output: isOutput, screen_reader_only: srOnly(e, cs),
      lines, width_em: widthEm, table,
      text: (e.innerText || e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 80),
    });
  }
  return {
    viewport: window.innerWidth,
    column: {left: Math.round(col.left), right: Math.round(col.right), width: Math.round(col.width)},
    page_scroll_width: document.documentElement.scrollWidth,
    elements: facts,
  };
}
"""


def find_overflows(layout: dict, tolerance: int = TOLERANCE_PX) -> list:
    """The elements of ``layout`` (what LAYOUT_JS measured at one width) that a reader would
    see cut or sticking out, outermost first: an element nested in one already listed is
    not listed again. Each comes back with ``why``:

    * ``outside the column``: its box reaches past the content column (left or right),
      unless it sits inside a box that scrolls sideways itself (that box is judged instead);
    * ``clips its content``: overflow hidden or clip, and something drawn inside it (its
      text, a child; not a copy for screen readers) reaching past its right edge;
    * ``code output does not wrap``: a cell output's ``pre`` wider than its box (a reader
      would have to scroll each output; the book's CSS wraps them);
    * ``squeezed table cells``: cells narrower than ``SQUEEZED["em"]`` whose text takes
      ``SQUEEZED["lines"]`` lines or more, listed once per table with the number of cells.
    """
    col = layout["column"]
    judged, out = set(), []  # ids listed, or skipped with everything inside them
    squeezed_tables = {}
    for e in layout["elements"]:
        if e.get("parent") is not None and e["parent"] in judged:
            judged.add(e["id"])  # inside an element already listed or skipped: that one is judged
            continue
        if e.get("screen_reader_only"):
            judged.add(e["id"])
            continue
        why = None
        if e.get("code_output") and e["client_width"] > 0 and e["scroll_width"] > e["client_width"] + tolerance:
            why = "code output does not wrap"
        elif (e["right"] > col["right"] + tolerance or e["left"] < col["left"] - tolerance) and not e.get("scroller"):
            why = "outside the column"
        elif (e.get("overflow_x") in ("hidden", "clip") and e.get("visible_right") is not None
              and e["visible_right"] > e["inner_right"] + tolerance):
            why = "clips its content"
        elif e.get("lines", 0) >= SQUEEZED["lines"] and e.get("width_em", 1e9) < SQUEEZED["em"]:
            why = "squeezed table cells"
            if e.get("table") in squeezed_tables:  # one entry per table, counting its cells
                t = squeezed_tables[e["table"]]
                t.update(cells=t["cells"] + 1, lines=max(t["lines"], e["lines"]),
                         width_em=min(t["width_em"], e["width_em"]))
                continue
        if why is None:
            continue
        judged.add(e["id"])
        o = {"why": why, "element": e["element"], "width": e["width"], "right": e["right"],
             "column_right": col["right"], "scroll_width": e["scroll_width"],
             "client_width": e["client_width"], "text": e.get("text", "")}
        if why == "squeezed table cells":
            o.update(cells=1, lines=e["lines"], width_em=e["width_em"])
            squeezed_tables[e.get("table")] = o
        out.append(o)
    if layout.get("page_scroll_width", 0) > layout.get("viewport", 0) + tolerance and layout.get("viewport"):
        out.append({"why": "the page scrolls sideways", "element": "html", "width": layout["page_scroll_width"],
                    "right": layout["page_scroll_width"], "column_right": col["right"],
                    "scroll_width": layout["page_scroll_width"], "client_width": layout["viewport"], "text": ""})
    return out


def describe_offender(o: dict) -> str:
    """One offender in words: what, why, and the widths that show it."""
    if o["why"] == "squeezed table cells":
        return (f"{o['element']}: {o['why']}, {o['cells']} cells, the narrowest {o['width_em']} em, "
                f"the longest {o['lines']} lines")
    return (f"{o['element']}: {o['why']}, {o['width']} px wide, right edge {o['right']} "
            f"(column ends at {o['column_right']}), content {o['scroll_width']} px in {o['client_width']}")


def overflow_problem(width: int, offenders: list) -> str:
    """One line for the page's problems: how many offenders at this width, the first three."""
    return f"{len(offenders)} elements overflow at {width} px: " + "; ".join(map(describe_offender, offenders[:3]))


def reexec_in_netns(argv, script=None) -> bool:
    """Run ``script`` (default: this one) again inside a network namespace without
    interfaces, and exit with its status; False where that is not possible (or done)."""
    if os.environ.get(NETNS_ENV) or not shutil.which("unshare"):
        return False
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        return False
    env = dict(os.environ, **{NETNS_ENV: "1"})
    rc = subprocess.call(["unshare", "-rn", sys.executable, str(Path(script or __file__).resolve()), *argv],
                         env=env)
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
            "widget_views": 0, "widget_views_rendered": 0, "overflowing": 0, "layout": {}}


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


def open_page(browser, page: Path, width: int = WIDTHS[0], height: int = 1000, media: str = "screen"):
    """Load ``page`` in a fresh context of ``browser`` with every non-local request recorded
    and aborted, and wait until MathJax, the widgets and plotly have drawn (INSPECT_JS).
    Returns ``(context, page, seen, log)``: ``seen`` is what INSPECT_JS counted, ``log`` the
    remote requests, local files that failed to load and script errors. The caller closes
    the context. scripts/make_pdf.py prints the pages it opens this way."""
    log = {"remote": [], "local_failed": [], "page_errors": []}
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")

    def route(r):
        url = r.request.url
        if urlparse(url).scheme in LOCAL_SCHEMES:
            r.continue_()
        else:
            log["remote"].append(url)
            r.abort("internetdisconnected")

    context.route("**/*", route)
    p = context.new_page()
    if media != "screen":
        p.emulate_media(media=media)
    p.on("pageerror", lambda e: log["page_errors"].append(str(e)[:300]))
    p.on("requestfailed", lambda req: log["local_failed"].append(req.url) if urlparse(req.url).scheme == "file" else None)
    # Generous limits: on a loaded machine a page with many figures takes minutes to settle.
    p.set_default_timeout(TIMEOUT_MS)
    t0 = time.perf_counter()
    p.goto(page.as_uri(), wait_until="load", timeout=TIMEOUT_MS)
    seen = p.evaluate(INSPECT_JS, WAIT_MS)
    seen["seconds_to_settle"] = round(time.perf_counter() - t0, 1)
    return context, p, seen, log


def measure_layout(p, width: int) -> dict:
    """Resize the page to ``width`` (when it is not already), let plotly and the theme lay it
    out again, and return LAYOUT_JS's facts with the offenders find_overflows picks."""
    if p.viewport_size["width"] != width:
        p.set_viewport_size({"width": width, "height": p.viewport_size["height"]})
        # plotly redraws responsive figures on the window's resize event; give it frames.
        p.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        p.wait_for_timeout(1000)
    layout = p.evaluate(LAYOUT_JS, [TOLERANCE_PX, SQUEEZED])
    offenders = find_overflows(layout)
    return {"viewport": layout["viewport"], "column": layout["column"], "page_scroll_width": layout["page_scroll_width"],
            "offenders": offenders}


def _check_page(browser, page: Path, html: Path, out: Path) -> dict:
    rel = page.relative_to(html)
    context, p, seen, log = open_page(browser, page, WIDTHS[0])
    remote, local_failed, page_errors = log["remote"], log["local_failed"], log["page_errors"]
    out.mkdir(parents=True, exist_ok=True)
    stem = "_".join(rel.with_suffix("").parts)
    layout = {WIDTHS[0]: measure_layout(p, WIDTHS[0])}
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
                     clip={"x": 0, "y": top, "width": WIDTHS[0], "height": box["height"] + 500})
    for width in WIDTHS[1:]:
        layout[width] = measure_layout(p, width)
        p.screenshot(path=str(out / f"{stem}-{width}.png"), full_page=True)
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
        "layout": {str(w): v for w, v in layout.items()},
        "overflowing": sum(len(v["offenders"]) for v in layout.values()),
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
    for width, v in layout.items():
        if v["offenders"]:
            problems.append(overflow_problem(width, v["offenders"]))
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
        "widths": list(WIDTHS),
        "overflowing_elements": sum(r["overflowing"] for r in results),
        "pages_overflowing": sum(bool(r["overflowing"]) for r in results),
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
              + f", {r['overflowing']} overflowing elements"
              + ("" if r["ok"] else " -- " + "; ".join(r["problems"])))
        for width, v in r["layout"].items():
            for o in v["offenders"]:
                print(f"     at {width} px: {describe_offender(o)}" + (f" -- {o['text'][:60]!r}" if o["text"] else ""))
    print(f"{summary['pages_ok']}/{summary['pages']} pages ok, {summary['remote_requests']} remote requests, "
          f"{summary['formulas_typeset']}/{summary['formulas']} formulas typeset, "
          f"{summary['overflowing_elements']} elements overflowing on {summary['pages_overflowing']} pages "
          f"at {' and '.join(f'{w} px' for w in WIDTHS)}; details in {out / 'summary.json'}")
    return 0 if summary["pages_ok"] == summary["pages"] else 1


if __name__ == "__main__":
    sys.exit(main())
