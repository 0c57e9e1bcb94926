"""Prove in a real browser that the live view updates while a model trains.

The script

1. starts JupyterLab on 127.0.0.1 (random free port, a fresh token) serving a temporary
   copy of ``scripts/live_demo.ipynb`` (MinCutPool trained on a stochastic block model with
   a :class:`poolkit.live.LiveView`, paced to train for about 30 s);
2. opens it in Debian's ``chromium`` through Playwright (headless; no browser download:
   ``executable_path`` points at the system binary) and runs all cells;
3. waits for the live plotly figure, takes two screenshots of it a few seconds apart while
   the cell is still running, and compares the pixels of the heatmap region (``S`` and
   ``M = S Sᵀ``, the title and loss curves excluded);
4. waits for training to finish and takes a last screenshot;
5. writes the screenshots and ``verdict.json`` to ``--out`` (default
   ``_build/browser_live_test``) and exits 0 when the heatmaps changed during training.

Run it with::

    python scripts/browser_live_test.py [--out DIR] [--chromium /usr/bin/chromium]

Needs ``pip install playwright`` (the Python package only; never ``playwright install``)
and ``chromium`` (Debian: ``apt-get install -y chromium``). ``make test`` runs it last
(``make live-browser-test``); it takes about a minute.

Why the live view needs an Output widget in JupyterLab: see :mod:`poolkit.live`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "scripts" / "live_demo.ipynb"
# A plotly figure anywhere in the notebook: inside the live Output widget while training,
# a plain output (the element is itself .jp-OutputArea-output) once training ended.
PLOT = ".jp-Notebook .js-plotly-plot"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(workdir: Path, port: int, token: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # A private settings folder: no news/update toast over the figure, no network checks.
    settings = workdir / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    cmd = [
        sys.executable, "-m", "jupyterlab", f"--LabApp.user_settings_dir={workdir / '.lab-settings'}", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class="
        "jupyterlab.NeverCheckForUpdate", "--ServerApp.open_browser=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root
    fh = open(log, "w")
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_lab(port: int, token: str, timeout: float) -> None:
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(1.0)
    raise TimeoutError(f"JupyterLab did not answer on port {port} within {timeout:.0f} s")


def heatmap_difference(a: Path, b: Path) -> dict:
    """Fraction of pixels that changed in the heatmap part of two figure screenshots."""
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(a).convert("RGB"), dtype=np.int16)
    y = np.asarray(Image.open(b).convert("RGB"), dtype=np.int16)
    h = min(x.shape[0], y.shape[0])
    w = min(x.shape[1], y.shape[1])
    # The live figure puts S in the left quarter and M in the next third; the title sits in
    # the top ~20%, the loss curves on the right. Keep only the heatmaps.
    top, bottom, right = int(0.22 * h), int(0.95 * h), int(0.64 * w)
    xa, ya = x[top:bottom, :right], y[top:bottom, :right]
    changed = (np.abs(xa - ya).sum(-1) > 30)
    return {"region": [top, bottom, 0, right], "changed_fraction": float(changed.mean()),
            "mean_abs_difference": float(np.abs(xa - ya).mean())}


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="poolkit-live-"))
    shutil.copy(NOTEBOOK, work / "live_demo.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(work, port, token, out / "jupyterlab.log")
    verdict = {"ok": False, "port": port, "notebook": str(NOTEBOOK.relative_to(ROOT))}
    t_start = time.time()
    try:
        wait_for_lab(port, token, args.timeout)
        verdict["lab_ready_seconds"] = round(time.time() - t_start, 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                page.goto(f"http://127.0.0.1:{port}/lab/tree/live_demo.ipynb?token={token}", timeout=args.timeout * 1000)
                page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached", timeout=args.timeout * 1000)
                # wait until the kernel is connected and idle, then Run > Run All Cells
                try:
                    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached",
                                           timeout=args.timeout * 1000)
                except Exception:  # indicator hidden by a setting: give the kernel time instead
                    page.wait_for_timeout(20000)
                page.wait_for_timeout(2000)
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
                page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
                t_run = time.time()
                plot = page.locator(PLOT).first
                plot.wait_for(state="visible", timeout=2 * args.timeout * 1000)  # includes imports
                verdict["first_frame_seconds"] = round(time.time() - t_run, 1)
                # Each frame replaces the plot element, which can detach it in the middle of an
                # action; the output that holds the live widget stays put while training.
                live = page.locator(".jp-Notebook .jp-OutputArea-output:has(.js-plotly-plot)").first
                live.scroll_into_view_if_needed(timeout=args.timeout * 1000)
                page.wait_for_timeout(1500)
                shots = []
                titles = []
                for i in range(2):
                    path = out / f"during_training_{i + 1}.png"
                    live.screenshot(path=str(path), timeout=args.timeout * 1000)
                    shots.append(path)
                    titles.append(page.locator(f"{PLOT} .gtitle").first.text_content())
                    if i == 0:
                        page.wait_for_timeout(args.gap * 1000)
                # is the training cell still running? (its prompt shows [*])
                prompts = page.locator(".jp-InputPrompt").all_text_contents()
                verdict["prompts_after_screenshots"] = [t.strip() for t in prompts]
                verdict["titles"] = titles
                verdict["difference"] = heatmap_difference(shots[0], shots[1])
                # wait for the end of training and keep the final frame
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.jp-OutputArea-output pre'))"
                    ".some(e => e.textContent.includes('done'))",
                    timeout=args.timeout * 1000)
                final = out / "final_frame.png"
                page.locator(PLOT).first.screenshot(path=str(final))
                verdict["final_title"] = page.locator(f"{PLOT} .gtitle").first.text_content()
                verdict["figures_in_output"] = page.locator(PLOT).count()
                page.screenshot(path=str(out / "page.png"), full_page=True)
            except Exception:
                try:
                    page.screenshot(path=str(out / "failure.png"), timeout=120_000)
                    verdict["outputs_text"] = [t[-300:] for t in page.locator(".jp-OutputArea-output").all_text_contents()[:10]]
                except Exception:
                    pass
                raise
            browser.close()
        diff = verdict["difference"]["changed_fraction"]
        still_running = any("*" in t for t in verdict["prompts_after_screenshots"])
        verdict["running_during_screenshots"] = still_running
        verdict["ok"] = bool(diff > args.min_change and still_running and titles[0] != titles[1]
                             and verdict["figures_in_output"] == 1)
        verdict["screenshots"] = [str(s) for s in shots] + [str(final)]
    except Exception as exc:  # keep what we have, and say what went wrong
        verdict["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        verdict["total_seconds"] = round(time.time() - t_start, 1)
        try:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=20)
        except Exception:
            try:
                os.killpg(lab.pid, signal.SIGKILL)
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)
        (out / "verdict.json").write_text(json.dumps(verdict, indent=2))
    return verdict


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "_build" / "browser_live_test"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each stage")
    ap.add_argument("--gap", type=float, default=4.0, help="seconds between the two screenshots")
    ap.add_argument("--min-change", type=float, default=0.002,
                    help="smallest fraction of heatmap pixels that must change")
    args = ap.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"chromium not found at {args.chromium}; on Debian: apt-get install -y chromium", file=sys.stderr)
        return 2
    verdict = run(args)
    print(json.dumps(verdict, indent=2))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
