"""scripts/screenshot_book.py catches what a reader offline would see broken.

Three small pages in a temporary "built book": one with maths typeset by the MathJax the
build installs, one whose maths was never typeset (no MathJax), one that loads a remote
image. The checker must pass the first and fail the other two for the right reasons, with
the network blocked (inside ``unshare -rn`` where the machine allows it).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "screenshot_book.py"
sys.path.insert(0, str(ROOT / "scripts"))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><h1>{title}</h1>
<p>The assignment matrix <span class="math notranslate nohighlight">\\(\\mathbf{{S}} \\in \\mathbb{{R}}^{{n \\times k}}\\)</span>
pools the graph.</p>
<div class="math notranslate nohighlight">\\[\\mathbf{{X}}' = \\mathbf{{S}}^\\top \\mathbf{{X}}, \\qquad
\\mathbf{{A}}' = \\mathbf{{S}}^\\top \\mathbf{{A}} \\mathbf{{S}}\\]</div>
<pre><code>print(r"\\(not maths, code\\)")</code></pre>
{body}
</body></html>
"""
MATHJAX = '<script defer src="_static/vendor/mathjax/tex-mml-chtml.js"></script>'


def _mathjax() -> Path:
    import vendor_js

    try:
        vendor_js.main([])
    except SystemExit as e:  # no npm, no registry and no cached tarball
        pytest.skip(f"MathJax could not be installed: {e}")
    return vendor_js.STATIC / "mathjax"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make chromium)")
def test_checker_passes_typeset_pages_and_fails_raw_tex_and_remote_requests(tmp_path):
    pytest.importorskip("playwright", reason="needs the playwright package (pip install -e '.[browser]')")
    html = tmp_path / "html"
    shutil.copytree(_mathjax(), html / "_static" / "vendor" / "mathjax")
    (html / "good.html").write_text(PAGE.format(title="good", head=MATHJAX, body=""))
    (html / "raw.html").write_text(PAGE.format(title="raw", head="", body=""))
    (html / "remote.html").write_text(PAGE.format(title="remote", head=MATHJAX,
                                                  body='<img src="https://example.org/pixel.png" alt="">'))
    # '$$' inside a paragraph: the parser writes '$' + inline maths + '$'
    (html / "dollar.html").write_text(PAGE.format(
        title="dollar", head=MATHJAX, body='<p>and pools them, $<span class="math notranslate nohighlight">\\(x_j\\)</span>$</p>'))
    out = tmp_path / "shots"
    res = subprocess.run([sys.executable, str(SCRIPT), "--html", str(html), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    summary = json.loads((out / "summary.json").read_text())
    pages = {r["page"]: r for r in summary["results"]}
    assert set(pages) == {"good.html", "raw.html", "remote.html", "dollar.html"}
    dollar = pages["dollar.html"]
    assert not dollar["ok"] and dollar["maths_typeset"] == 3 and dollar["untypeset_count"] == 1
    assert dollar["untypeset_text"][0].startswith("$ beside")

    good = pages["good.html"]
    assert good["ok"], good["problems"]
    assert good["maths_elements"] == good["maths_typeset"] == 2 and good["mjx_containers"] == 2
    assert good["untypeset_count"] == 0 and good["remote_requests"] == []
    assert (out / "good-maths.png").stat().st_size > 1000

    raw = pages["raw.html"]
    assert not raw["ok"] and raw["maths_typeset"] == 0 and raw["untypeset_count"] >= 2
    assert any("not typeset" in p for p in raw["problems"])
    assert any("raw TeX" in p for p in raw["problems"])

    remote = pages["remote.html"]
    assert not remote["ok"] and remote["remote_requests"] == ["https://example.org/pixel.png"]
    assert remote["maths_typeset"] == 2  # the maths itself is fine there
    assert summary["remote_requests"] == 1
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"]).returncode == 0:
        assert summary["network"].startswith("unshare -rn")


# The layout check's judgement (find_overflows) on facts as LAYOUT_JS reports them: no
# browser needed. The column runs from x = 100 to x = 900.
def _fact(id, element, left=120, right=880, **kw):
    e = {"id": id, "parent": None, "element": element, "tag": element.split(".")[0], "left": left, "right": right,
         "width": right - left, "scroll_width": right - left, "client_width": right - left, "overflow_x": "visible",
         "white_space": "normal", "inner_right": right, "visible_right": None, "scroller": None,
         "code_output": False, "screen_reader_only": False, "lines": 0, "width_em": 0, "table": None, "text": ""}
    e.update(kw)
    return e


def _layout(*elements, page_scroll_width=1400):
    return {"viewport": 1400, "column": {"left": 100, "right": 900, "width": 800},
            "page_scroll_width": page_scroll_width, "elements": list(elements)}


def test_find_overflows_flags_what_sticks_out_of_the_column():
    import screenshot_book as sb

    wide = _fact(0, "table.dataframe", right=1300)
    inside = _fact(1, "td", right=1250, parent=0)  # inside the one already listed: not again
    found = sb.find_overflows(_layout(wide, inside))
    assert [o["why"] for o in found] == ["outside the column"] and found[0]["element"] == "table.dataframe"
    left = _fact(0, "div.math", left=40, right=600)
    assert [o["why"] for o in sb.find_overflows(_layout(left))] == ["outside the column"]
    # within a pixel is rounding, not an overflow
    assert sb.find_overflows(_layout(_fact(0, "p", right=901))) == []


def test_find_overflows_lets_a_scrolling_box_hold_what_is_wide():
    import screenshot_book as sb

    table = _fact(0, "table", right=1300, scroller="div.pst-scrollable-table-container")
    assert sb.find_overflows(_layout(table)) == []
    # but a box that scrolls is judged itself: too wide is too wide
    box = _fact(0, "div.output", right=1000, overflow_x="auto", scroll_width=1500, client_width=880)
    assert [o["why"] for o in sb.find_overflows(_layout(box))] == ["outside the column"]


def test_find_overflows_flags_clipped_text_unwrapped_outputs_and_squeezed_tables():
    import screenshot_book as sb

    clipped = _fact(0, "span.math", overflow_x="hidden", right=500, inner_right=500, visible_right=540,
                    scroll_width=420, client_width=380)
    # hidden overflow whose drawn content fits (a wider scrollWidth from an invisible child) is fine
    fits = _fact(1, "div.highlight", overflow_x="hidden", right=800, inner_right=800, visible_right=790,
                 scroll_width=900, client_width=680)
    pre = _fact(2, "pre", code_output=True, scroll_width=1200, client_width=760)
    cells = [_fact(3 + i, "td", lines=12, width_em=4.5 + i, table=0) for i in range(3)]
    other = _fact(6, "td", lines=9, width_em=6, table=1)
    tall_but_wide = _fact(7, "td", lines=20, width_em=30, table=1)
    found = sb.find_overflows(_layout(clipped, fits, pre, *cells, other, tall_but_wide))
    assert [o["why"] for o in found] == ["clips its content", "code output does not wrap",
                                         "squeezed table cells", "squeezed table cells"]
    squeezed = found[2]
    assert squeezed["cells"] == 3 and squeezed["width_em"] == 4.5 and squeezed["lines"] == 12
    assert "3 cells" in sb.describe_offender(squeezed)
    assert "1 elements overflow at 1024 px" in sb.overflow_problem(1024, found[:1])


def test_find_overflows_ignores_screen_reader_copies_and_flags_a_page_that_scrolls_sideways():
    import screenshot_book as sb

    sr = _fact(0, "mjx-assistive-mml", right=2000, screen_reader_only=True)
    child = _fact(1, "math", right=2000, parent=0)
    assert sb.find_overflows(_layout(sr, child)) == []
    found = sb.find_overflows(_layout(page_scroll_width=1600))
    assert [o["why"] for o in found] == ["the page scrolls sideways"]


LAYOUT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ margin: 0 }} article.bd-article {{ width: 700px; margin: 0 auto; padding: 0 20px }}
.scroll {{ max-width: 100%; overflow-x: auto }} pre {{ white-space: pre-wrap; overflow-wrap: anywhere }}</style></head>
<body><article class="bd-article"><h1>{title}</h1><p>Text that fits.</p>{body}</article></body></html>
"""
WIDE_TABLE = "<table><tr>" + "".join(f"<td>column_{i}_of_a_wide_table</td>" for i in range(30)) + "</tr></table>"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make chromium)")
def test_checker_fails_what_overflows_the_column_and_script_errors(tmp_path):
    pytest.importorskip("playwright", reason="needs the playwright package (pip install -e '.[browser]')")
    html = tmp_path / "html"
    html.mkdir()
    pages = {
        "fits": f'<div class="scroll">{WIDE_TABLE}</div><div class="cell_output"><pre>{"x" * 400}</pre></div>',
        "wide": WIDE_TABLE,
        "nowrap": f'<div class="cell_output"><pre style="white-space: pre; overflow-x: auto">{"y" * 400}</pre></div>',
        "error": '<script>throw new Error("boom in a page script")</script>',
    }
    for name, body in pages.items():
        (html / f"{name}.html").write_text(LAYOUT_PAGE.format(title=name, body=body))
    out = tmp_path / "shots"
    res = subprocess.run([sys.executable, str(SCRIPT), "--html", str(html), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    results = {r["page"]: r for r in json.loads((out / "summary.json").read_text())["results"]}

    assert results["fits.html"]["ok"], results["fits.html"]["problems"]
    for width in ("1400", "1024"):
        assert results["fits.html"]["layout"][width]["offenders"] == []
        wide = results["wide.html"]["layout"][width]["offenders"]
        assert [o["why"] for o in wide] == ["outside the column", "the page scrolls sideways"], wide
        assert wide[0]["element"] == "table" and wide[0]["right"] > wide[0]["column_right"]
        nowrap = results["nowrap.html"]["layout"][width]["offenders"]
        assert [o["why"] for o in nowrap] == ["code output does not wrap"], nowrap
    assert not results["wide.html"]["ok"] and any("overflow at 1024 px" in p for p in results["wide.html"]["problems"])
    error = results["error.html"]
    assert not error["ok"] and any("script errors" in p and "boom" in p for p in error["problems"])
    assert "FAIL wide.html" in res.stdout and "outside the column" in res.stdout
