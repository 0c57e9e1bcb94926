"""Print the built book to one PDF: every page of the table of contents, in its order, from
the offline HTML in ``_build/html``, by Debian's headless ``chromium`` through Playwright.

Each page is opened as scripts/screenshot_book.py opens it (network blocked by ``unshare -rn``
where the machine allows it and by aborting every non-local request; MathJax, plotly and
the widgets waited for), with the print stylesheet (book/_static/layout.css, ``@media
print``), and printed with ``page.pdf``. The parts are merged with ``pypdf`` into one file,
with a bookmark per page, written where the book links to it:

    _build/html/_static/poolkit-book.pdf

The script then reads the merged PDF back and fails, saying why, when

* a page did not settle as printed: formulas not typeset, plotly figures not drawn, widget
  views not rendered, a script error, a remote request or a missing local file;
* something on a page is wider than the paper's text (the layout measure of
  scripts/screenshot_book.py, taken in print);
* the PDF has fewer pages than a sane lower bound (``MIN_PAGES_PER_CHAPTER`` per chapter,
  one for every other page);
* a page's title (its ``h1``) is missing from the text extracted from its part;
* the extracted text holds raw TeX (``\\(``, ``\\)``, ``\\[``, ``\\]``, ``\\mathbf``,
  ``\\frac``, ``\\begin{``), outside what the page's own code cells and outputs show.

    python scripts/make_pdf.py [--chromium /usr/bin/chromium] [--no-unshare]
                               [--html _build/html] [--out _build/html/_static/poolkit-book.pdf]
                               [--toc _toc.yml]

One summary line at the end (pages, size, seconds), the details in ``_build/pdf/summary.json``.
Exit status 0 when every check passes.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screenshot_book as sb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PDF_NAME = "poolkit-book.pdf"
OUT = HTML / "_static" / PDF_NAME
# what was printed and checked, per page
SUMMARY = ROOT / "_build" / "pdf" / "summary.json"
# A chapter is several printed pages of text, figures and outputs; fewer means it was cut.
MIN_PAGES_PER_CHAPTER = 3
RAW_TEX = ("\\(", "\\)", "\\[", "\\]", "\\mathbf", "\\frac", "\\begin{")
PAPER = {"format": "A4", "margin": {"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}}
# Printed at 80 %: a line of the page holds what a 860 px wide window shows, so tables and
# figures keep the shape they have on a laptop's screen.
SCALE = 0.8
# The window the page is laid out in before printing, as wide as the paper's text (A4 less
# the margins, in CSS pixels, divided by SCALE): plotly draws its figures at the width of
# the column they find at load, and that column must be the printed one.
PRINT_WIDTH = round((210 - 28) / 25.4 * 96 / SCALE)
FOOTER = ('<div style="font-size:8px;width:100%;padding:0 14mm;color:#555;display:flex;'
          'justify-content:space-between"><span class="title"></span><span class="pageNumber"></span></div>')
# What the page shows as code (sources and outputs): raw TeX there is what the code prints,
# not a formula that failed to typeset.
CODE_TEXT_JS = r"""
() => [...document.querySelectorAll('pre, code, .highlight, div.cell_output')]
        .map(e => e.textContent).join('\n')
"""
TITLE_JS = r"""
() => { const h = document.querySelector('article h1, main h1, h1');
        return h ? h.textContent.replace(/[#¶]\s*$/, '').trim() : document.title; }
"""


def toc_pages(html: Path, toc: Path = ROOT / "_toc.yml") -> list:
    """The built HTML files of the table of contents, root first, in its order."""
    spec = yaml.safe_load(toc.read_text())
    names = [spec["root"]]

    def walk(entries):
        for e in entries or ():
            if "file" in e:
                names.append(e["file"])
            walk(e.get("sections"))
            for part_ in e.get("parts", ()) if isinstance(e.get("parts"), list) else ():
                walk(part_.get("chapters"))

    walk(spec.get("chapters"))
    for part_ in spec.get("parts", ()):
        walk(part_.get("chapters"))
    return [html / f"{Path(n).with_suffix('')}.html" for n in names]


def normalise(text: str) -> str:
    """Text as compared: compatibility forms folded (the ``ﬁ`` ligature is ``fi``), dashes and
    quotes plain, every run of white space one space."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2019": "'",
                                         "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00ad": None}))
    return re.sub(r"\s+", " ", text).strip()


def raw_tex(text: str, allowed: str = "") -> list:
    """The raw TeX markers in ``text`` that ``allowed`` (the page's code text) does not show,
    each with a little context."""
    found = []
    for mark in RAW_TEX:
        if mark in text and mark not in allowed:
            i = text.index(mark)
            found.append(f"{mark!r} in ...{text[max(0, i - 40):i + 40]}...")
    return found


def title_in(title: str, text: str) -> bool:
    """Whether ``title`` appears in ``text``; white space is ignored (a title printed across a
    line break, or kerned into separate words, still counts)."""
    squash = lambda s: re.sub(r"\s+", "", normalise(s)).lower()  # noqa: E731
    return squash(title) in squash(text)


def check_pdf(parts: list, min_pages: int) -> list:
    """Problems of the merged book: ``parts`` lists, per printed page, its title, the text
    extracted from its part, its page count and the code text of its HTML."""
    problems = []
    total = sum(p["pages"] for p in parts)
    if total < min_pages:
        problems.append(f"{total} pages, fewer than the {min_pages} expected")
    for p in parts:
        if p["pages"] < p["min_pages"]:
            problems.append(f"{p['page']}: {p['pages']} pages, fewer than {p['min_pages']}")
        if not p["title"] or not title_in(p["title"], p["text"]):
            problems.append(f"{p['page']}: its title {p['title']!r} is not in the PDF's text")
        for t in raw_tex(normalise(p["text"]), normalise(p["code_text"])):
            problems.append(f"{p['page']}: raw TeX in the PDF's text: {t}")
    return problems


def print_page(browser, page: Path, dest: Path) -> dict:
    """Open ``page`` for print, wait for it to settle, print it to ``dest``; what was seen."""
    context, p, seen, log = sb.open_page(browser, page, width=PRINT_WIDTH, media="print")
    try:
        title = p.evaluate(TITLE_JS)
        code_text = p.evaluate(CODE_TEXT_JS)
        # what would be cut at the paper's right edge: the screen check's measure, in print
        offenders = sb.find_overflows(p.evaluate(sb.LAYOUT_JS, [sb.TOLERANCE_PX, sb.SQUEEZED]))
        p.pdf(path=str(dest), print_background=True, display_header_footer=True,
              header_template="<span></span>", footer_template=FOOTER, scale=SCALE, **PAPER)
    finally:
        context.close()
    problems = []
    if seen["maths_typeset"] < seen["maths_elements"] or seen["mathjax_errors"]:
        problems.append(f"{seen['maths_elements'] - seen['maths_typeset']} of {seen['maths_elements']} formulas "
                        f"not typeset, {seen['mathjax_errors']} MathJax errors")
    if seen["plotly_drawn"] < seen["plotly_figures"]:
        problems.append(f"{seen['plotly_figures'] - seen['plotly_drawn']} of {seen['plotly_figures']} figures not drawn")
    if seen["widget_views_rendered"] < seen["widget_views"]:
        problems.append(f"{seen['widget_views'] - seen['widget_views_rendered']} widget views not rendered")
    if offenders:
        problems.append(f"{len(offenders)} elements wider than the paper: "
                        + "; ".join(map(sb.describe_offender, offenders[:3])))
    if log["page_errors"]:
        problems.append(f"script errors: {log['page_errors'][:3]}")
    if log["remote"]:
        problems.append(f"{len(log['remote'])} remote requests")
    if log["local_failed"]:
        problems.append(f"local files missing: {sorted(set(log['local_failed']))[:3]}")
    return {"title": title, "code_text": code_text, "seen": seen, "problems": problems, "offenders": offenders}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--no-unshare", action="store_true", help="do not enter a network namespace")
    ap.add_argument("--html", type=Path, default=HTML, help="the built book (default: _build/html)")
    ap.add_argument("--out", type=Path, default=None, help=f"the PDF (default: <html>/_static/{PDF_NAME})")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml", help="the table of contents the book was built from")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if not Path(args.chromium).exists():
        print(f"make_pdf: chromium not found at {args.chromium}; on Debian: apt-get install -y chromium", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
        from pypdf import PdfReader, PdfWriter
    except ImportError as e:
        print(f"make_pdf: needs {e.name}: pip install -e '.[browser]' (never `playwright install`)", file=sys.stderr)
        return 2
    html = args.html.resolve()
    out = (args.out or html / "_static" / PDF_NAME).resolve()
    pages = toc_pages(html, args.toc)
    missing = [p for p in pages if not p.is_file()]
    if missing:
        print(f"make_pdf: {len(missing)} pages of the table of contents are not built "
              f"({', '.join(str(p.relative_to(html)) for p in missing[:3])}): run make book first", file=sys.stderr)
        return 2
    if not args.no_unshare:
        sb.reexec_in_netns(argv, script=__file__)
    network = "unshare -rn and request blocking" if os.environ.get(sb.NETNS_ENV) else "request blocking only"

    parts, problems = [], []
    writer = PdfWriter()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=sb.FLAGS, headless=True)
        for i, page in enumerate(pages):
            rel = str(page.relative_to(html))
            dest = Path(tmp) / f"{i:02d}.pdf"
            t = time.perf_counter()
            try:
                seen = print_page(browser, page, dest)
            except Exception as e:  # noqa: BLE001  (one page failing fails the book, with its reason)
                problems.append(f"{rel}: {type(e).__name__}: {str(e)[:300]}")
                continue
            problems += [f"{rel}: {q}" for q in seen["problems"]]
            reader = PdfReader(str(dest))
            text = "\n".join(pg.extract_text() or "" for pg in reader.pages)
            first = len(writer.pages)
            writer.append(reader)
            writer.add_outline_item(title=seen["title"] or rel, page_number=first)
            parts.append({"page": rel, "title": seen["title"], "pages": len(reader.pages), "text": text,
                          "code_text": seen["code_text"],
                          "min_pages": MIN_PAGES_PER_CHAPTER if sb.is_chapter(page) else 1})
            print(f"  {rel}: {len(reader.pages)} pages, {seen['seen']['maths_typeset']}/{seen['seen']['maths_elements']} "
                  f"formulas, {seen['seen']['plotly_drawn']}/{seen['seen']['plotly_figures']} figures, "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
        browser.close()
    min_pages = sum(MIN_PAGES_PER_CHAPTER if sb.is_chapter(p) else 1 for p in pages)
    problems += check_pdf(parts, min_pages)
    if len(parts) == len(pages):
        writer.add_metadata({"/Title": parts[0]["title"] or "poolkit book"})
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            writer.write(f)
        # what was printed, read back from the file written
        merged = PdfReader(str(out))
        if len(merged.pages) != sum(p["pages"] for p in parts):
            problems.append(f"the merged PDF has {len(merged.pages)} pages, its parts {sum(p['pages'] for p in parts)}")
        total, size = len(merged.pages), out.stat().st_size
    else:
        total, size = sum(p["pages"] for p in parts), 0
    seconds = time.perf_counter() - t0
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps({
        "network": network, "pdf": str(out), "pages": total, "bytes": size, "seconds": round(seconds, 1),
        "parts": [{k: v for k, v in p.items() if k not in ("text", "code_text")} for p in parts],
        "problems": problems}, indent=2))
    for q in problems:
        print(f"make_pdf: FAIL {q}", file=sys.stderr)
    status = "ok" if not problems else f"FAILED ({len(problems)} problems)"
    print(f"make_pdf: {status}: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}, {total} pages from "
          f"{len(parts)}/{len(pages)} book pages, {size / 1e6:.1f} MB, {seconds:.0f} s ({network})")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
