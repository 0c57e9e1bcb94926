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
    out = tmp_path / "shots"
    res = subprocess.run([sys.executable, str(SCRIPT), "--html", str(html), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    summary = json.loads((out / "summary.json").read_text())
    pages = {r["page"]: r for r in summary["results"]}
    assert set(pages) == {"good.html", "raw.html", "remote.html"}

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
