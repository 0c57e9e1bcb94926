"""scripts/make_pdf.py: the pages it prints come in the table of contents' order, and its
checks of the printed text (titles present, no raw TeX outside code) catch what they name.
One test prints two small pages in the real browser: typeset maths leaves no TeX in the
PDF's text, maths that was never typeset does."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_pdf  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_pages_come_in_toc_order_root_first(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/index\nchapters:\n  - file: book/02_b\n"
                   "    sections:\n      - file: book/02_b_more\n  - file: book/01_a.md\n")
    html = tmp_path / "html"
    assert make_pdf.toc_pages(html, toc) == [html / "book/index.html", html / "book/02_b.html",
                                            html / "book/02_b_more.html", html / "book/01_a.html"]
    pages = make_pdf.toc_pages(html)  # the book's own: the index and its eight chapters
    assert pages[0] == html / "book" / "index.html" and len(pages) >= 9
    assert [p.stem for p in pages[1:3]] == ["01_src", "02_soft"]


def test_titles_are_found_across_line_breaks_and_ligatures():
    assert make_pdf.title_in("1. The SRC framework", "intro\n1. The SRC\nframework ¶ more")
    assert make_pdf.title_in("Soft-clustering pooling", "Soft–clustering pooling")  # en dash from the font
    assert make_pdf.title_in("What a profile finds", "What a proﬁle ﬁnds")  # fi ligatures
    assert not make_pdf.title_in("5. GMPool", "4. Score-based pooling")


def test_raw_tex_is_flagged_unless_the_page_shows_it_as_code():
    text = r"the matrix \(\mathbf{S}\) pools, \frac{1}{2}"
    found = make_pdf.raw_tex(text)
    assert {f.split(" ")[0] for f in found} == {r"'\\('", r"'\\)'", r"'\\mathbf'", r"'\\frac'"}
    assert make_pdf.raw_tex(text, allowed=r'label = r"\(\mathbf{S}\) \frac"') == []
    assert make_pdf.raw_tex("S ∈ ℝ^{N×K}, typeset") == []


def test_check_pdf_names_each_problem():
    good = {"page": "book/01_src.html", "title": "1. The SRC framework", "pages": 12, "min_pages": 3,
            "text": "1. The SRC framework\nS ∈ ℝ", "code_text": ""}
    assert make_pdf.check_pdf([good], min_pages=3) == []
    short = dict(good, pages=2)
    untitled = dict(good, page="book/02_soft.html", title="2. Soft-clustering pooling")
    tex = dict(good, page="book/03_one_over_k.html", text=good["text"] + r" \mathbf{X}")
    problems = make_pdf.check_pdf([short, untitled, tex], min_pages=40)
    assert any("fewer than the 40 expected" in p for p in problems)
    assert any(p.startswith("book/01_src.html: 2 pages") for p in problems)
    assert any("02_soft.html: its title" in p for p in problems)
    assert any("03_one_over_k.html: raw TeX" in p and "mathbf" in p for p in problems)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make chromium)")
def test_printed_maths_is_typeset_text_and_untypeset_maths_is_caught(tmp_path):
    pytest.importorskip("playwright", reason="needs the playwright package (pip install -e '.[browser]')")
    pypdf = pytest.importorskip("pypdf", reason="needs pypdf (pip install -e '.[browser]')")
    from test_screenshot_book import MATHJAX, PAGE, _mathjax
    from playwright.sync_api import sync_playwright

    html = tmp_path / "html"
    shutil.copytree(_mathjax(), html / "_static" / "vendor" / "mathjax")
    (html / "good.html").write_text(PAGE.format(title="Typeset maths", head=MATHJAX, body=""))
    (html / "raw.html").write_text(PAGE.format(title="Raw maths", head="", body=""))
    texts = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=make_pdf.sb.FLAGS, headless=True)
        for name in ("good", "raw"):
            seen = make_pdf.print_page(browser, html / f"{name}.html", tmp_path / f"{name}.pdf")
            reader = pypdf.PdfReader(str(tmp_path / f"{name}.pdf"))
            texts[name] = (seen, "\n".join(p.extract_text() for p in reader.pages))
        browser.close()
    seen, text = texts["good"]
    assert seen["problems"] == [] and seen["title"] == "Typeset maths"
    assert make_pdf.title_in("Typeset maths", text)
    assert make_pdf.raw_tex(make_pdf.normalise(text), make_pdf.normalise(seen["code_text"])) == []
    assert "not maths, code" in text  # the code block is printed, and its \( is allowed
    seen, text = texts["raw"]
    assert any("not typeset" in p for p in seen["problems"])
    assert make_pdf.raw_tex(make_pdf.normalise(text), make_pdf.normalise(seen["code_text"]))
