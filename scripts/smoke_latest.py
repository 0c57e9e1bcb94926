"""Run chapters 1, 2 and 5 as a Colab reader does, against the newest releases of today.

    python3 scripts/smoke_latest.py                 # what `make smoke-latest` runs
    python3 scripts/smoke_latest.py --chapters 01_src --out /tmp/smoke.json

The pinned environment (`.venv`, `requirements/constraints.txt`) says that the book works
with the versions we chose; a Colab reader gets whatever the package index serves the day
they press "Run all". This script builds that reader's environment and runs the chapters in
it:

1. a fresh virtual environment, ``_build/smoke-latest/venv``, with no pins and no
   constraints file (the machine-wide pip constraint is switched off with
   ``PIP_CONSTRAINT=``). Only torch is pinned: ``torch==2.13.0``, installed first, is the
   CPU build on this index, whereas an unpinned torch pulls the CUDA build and gigabytes of
   NVIDIA libraries. Colab keeps its own torch too (the install cell never installs torch);
   everything else comes in at its newest release;
2. poolkit installed as the chapters' Colab install cell installs it: the cell's own
   ``%pip install`` line, read from ``book/01_src.md``, with its ``git+https://...`` URL
   replaced by a wheel built from this checkout (the working tree, copied so that the
   build leaves nothing in it), plus poolkit's base dependencies and the notebook tools
   (nbclient, nbformat, ipykernel, jupytext), all unpinned;
3. a stand-in ``google.colab`` package (``_build/smoke-latest/colab/``, on the venv's path
   through a ``.pth`` file) that the kernel imports at start-up, as Colab's kernel does, so
   that every ``if "google.colab" in sys.modules`` branch runs: the install cell, plotly's
   ``colab`` renderer (``poolkit._render``), the live view's plain display
   (``poolkit.live``). It provides ``google.colab.output.enable_custom_widget_manager`` and
   ``disable_custom_widget_manager``, which do nothing here;
4. each chapter converted from ``book/NN_*.md`` with jupytext and executed top to bottom by
   nbclient in a kernel of the smoke venv (a kernelspec registered there with
   ``--sys-prefix``), from an empty working folder (Colab's ``/content``: no checkout
   beside the notebook), with a fresh ``POOLKIT_CACHE`` and ``POOLKIT_DATA`` from the
   environment (the Makefile points it at ``../shared/data``). The install cell is run as
   written except for the URL; its kernel has ``PIP_NO_INDEX=1``, so it installs from the
   local wheel and fails, rather than downloads, if it needs anything the environment
   lacks. The committed results files that chapters 5 to 8 render are not beside the
   notebook either: ``poolkit.results`` downloads them, here from ``POOLKIT_RESULTS_URL``
   set to the checkout's ``results/`` as a ``file://`` address. A last probe cell, appended after the chapter, records that ``google.colab`` was
   imported and which plotly renderer the chapter used. A chapter that fails is run once
   more from ``book/``, beside the checkout, and the result says how that went: a failure
   there too comes from the versions, a pass there from the Colab layout.

The result (date, Python, every installed version, pass or fail per chapter with seconds
and the error's last lines) goes to ``results/smoke_latest.json``; the exit status is 1 if
any chapter failed. It is not part of ``make test``: it depends on what the index serves
that day.

The driver needs only the standard library (any Python 3.11+); the chapters run under the
smoke venv's own nbclient and jupytext (``--execute``, called by the driver).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "_build" / "smoke-latest"
CHAPTERS = ("01_src", "02_soft", "05_gmpool")
TORCH_PIN = "torch==2.13.0"
TORCH_NOTE = (
    "torch is the one pinned package: torch==2.13.0 is installed first, the CPU build on this "
    "index; an unpinned torch would pull the CUDA build and gigabytes of NVIDIA libraries. "
    "Colab keeps its own torch as well (the install cell does not install torch). Everything "
    "else is the newest release the index served, with no constraints file."
)
# The notebook tools the smoke run itself needs, beside what the install cell and
# poolkit's base dependencies bring.
TOOLS = ("nbclient", "nbformat", "ipykernel", "jupytext")
# The versions the result file lists first (all installed versions follow in "packages").
KEY_PACKAGES = ("torch", "torch_geometric", "rdkit", "plotly", "ipywidgets", "pandas", "numpy", "scipy",
                "networkx", "scikit-learn", "datamol", "nbclient", "nbformat", "ipykernel", "ipython",
                "jupytext", "jupyter_client", "setuptools", "pip", "poolkit")
KERNEL_NAME = "poolkit-smoke-latest"
CELL_TIMEOUT = 3600
ERROR_LINES = 30

# `"poolkit @ git+https://...@ref"` or `poolkit@git+...`, quoted or not, in a %pip line.
_GIT_REQ = re.compile(r"""(?P<q>["']?)poolkit(?:\[[^\]]*\])?\s*@\s*git\+[^\s"']+(?P=q)""")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ------------------------------------------------------------------ pure parts (unit tested)

def find_install_cell(sources: list[str]) -> int:
    """Index of the Colab install cell: the one guarded by ``"google.colab" in sys.modules``
    that runs ``%pip install``. Exactly one must exist."""
    hits = [i for i, s in enumerate(sources)
            if re.search(r"""["']google\.colab["']\s+in\s+sys\.modules""", s) and re.search(r"^\s*[%!]pip\s+install\b", s, re.M)]
    if len(hits) != 1:
        raise ValueError(f"expected one Colab install cell (google.colab guard + %pip install), found {len(hits)}")
    return hits[0]


def localize_install(source: str, local: str) -> str:
    """The install cell with its ``poolkit @ git+...`` requirement replaced by
    ``"poolkit @ <local>"`` (a ``file://`` URL of a wheel or folder). Raises ``ValueError``
    unless exactly one git requirement for poolkit is there, or if any other remote URL is
    left, so that a changed cell fails the smoke run instead of reaching the network."""
    if not re.match(r"^(file://|/)", local):
        raise ValueError(f"not a local path or file:// URL: {local!r}")
    url = local if local.startswith("file://") else Path(local).as_uri()
    new, n = _GIT_REQ.subn(lambda m: f'"poolkit @ {url}"', source)
    if n != 1:
        raise ValueError(f"expected one 'poolkit @ git+...' requirement in the install cell, found {n}")
    if re.search(r"git\+|https?://", new):
        raise ValueError("the install cell still names a remote URL after the poolkit one was replaced")
    return new


def pip_install_args(source: str) -> list[str]:
    """The arguments of the cell's ``%pip install`` line, e.g. ``['-q', 'torch_geometric', ...]``."""
    lines = [ln.strip() for ln in source.splitlines() if re.match(r"^\s*[%!]pip\s+install\b", ln)]
    if len(lines) != 1:
        raise ValueError(f"expected one %pip install line, found {len(lines)}")
    return shlex.split(lines[0])[2:]


def requirement_name(req: str) -> str:
    """``"torch-geometric>=2.5"`` -> ``"torch-geometric"``; ``"poolkit @ file:..."`` -> ``"poolkit"``."""
    return re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def base_dependencies(pyproject_text: str) -> list[str]:
    """Names (no version bounds) of poolkit's base dependencies, torch left out."""
    import tomllib

    deps = tomllib.loads(pyproject_text)["project"]["dependencies"]
    return [requirement_name(d) for d in deps if canonical(requirement_name(d)) != "torch"]


def unpinned(reqs: list[str]) -> list[str]:
    """The requirements of ``reqs`` that carry a version specifier (other than a local
    ``name @ file://`` one); the smoke run asserts this is empty."""
    out = []
    for r in reqs:
        if r.startswith("-"):
            continue
        if "@" in r and re.search(r"@\s*file://", r):
            continue
        if re.search(r"[<>=!~]", r):
            out.append(r)
    return out


def error_tail(text: str, n: int = ERROR_LINES) -> list[str]:
    """The last ``n`` non-empty lines of an error text, ANSI colours removed."""
    lines = [ln.rstrip() for ln in _ANSI.sub("", text or "").splitlines() if ln.strip()]
    return lines[-n:]


def key_versions(packages: dict[str, str]) -> dict[str, str | None]:
    """``KEY_PACKAGES`` looked up in ``packages`` ({name: version}) by canonical name."""
    by = {canonical(k): v for k, v in packages.items()}
    return {name: by.get(canonical(name)) for name in KEY_PACKAGES}


def build_result(*, date: str, python: str, packages: dict[str, str], chapters: list[dict], install: dict,
                 extra: dict | None = None) -> dict:
    """The document written to ``results/smoke_latest.json``."""
    doc = {
        "command": "make smoke-latest",
        "what": "chapters executed top to bottom as in Colab (stand-in google.colab module), in a fresh venv "
                "with the newest release of every package but torch",
        "date": date,
        "python": python,
        "torch_pinned": TORCH_PIN,
        "torch_note": TORCH_NOTE,
        "passed": bool(chapters) and all(c["status"] == "pass" for c in chapters),
        "chapters": chapters,
        "install": install,
        "versions": key_versions(packages),
        "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower())),
    }
    if extra:
        doc.update(extra)
    return doc


def write_result(path: Path, doc: dict) -> int:
    """Write ``doc`` as JSON; return the exit status (0 when every chapter passed)."""
    for key in ("date", "python", "packages", "chapters", "torch_note"):
        if key not in doc:
            raise ValueError(f"result lacks {key!r}")
    for c in doc["chapters"]:
        if c["status"] not in ("pass", "fail") or not isinstance(c.get("seconds"), (int, float)):
            raise ValueError(f"bad chapter entry: {c}")
        if c["status"] == "fail" and not c.get("error"):
            raise ValueError(f"a failed chapter needs its error lines: {c['chapter']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0 if doc["passed"] else 1


# ------------------------------------------------------------------ the stand-in google.colab

COLAB_INIT = '''"""Stand-in for Colab's ``google.colab`` (poolkit's smoke-latest check), imported when the
kernel starts as Colab's kernel does, so that ``"google.colab" in sys.modules`` holds."""
from . import output  # noqa: F401

__version__ = "0+poolkit.standin"
STANDIN = True
'''
COLAB_OUTPUT = '''"""``google.colab.output``: the calls a notebook makes for widgets, recorded and otherwise no-ops."""
custom_widget_manager_enabled = False


def enable_custom_widget_manager():
    global custom_widget_manager_enabled
    custom_widget_manager_enabled = True


def disable_custom_widget_manager():
    global custom_widget_manager_enabled
    custom_widget_manager_enabled = False


def clear(wait=False, output_tags=()):
    from IPython.display import clear_output

    clear_output(wait=wait)
'''
PROBE = '''import json as _j, sys as _s
import plotly.io as _pio
print("SMOKE-PROBE " + _j.dumps({
    "google_colab_imported": "google.colab" in _s.modules,
    "google_colab_standin": bool(getattr(_s.modules.get("google.colab"), "STANDIN", False)),
    "plotly_renderer": _pio.renderers.default,
    "poolkit_file": _s.modules["poolkit"].__file__ if "poolkit" in _s.modules else None,
    "executable": _s.executable,
}))
'''


# ------------------------------------------------------------------ driver

def _run(cmd: list[str], env: dict, **kw) -> None:
    print("+", " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], env=env, check=True, **kw)


def _pip_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PIP_CONSTRAINT"] = ""          # no constraints file, not even the machine-wide one
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _checkout_copy(dest: Path) -> Path:
    """The working tree (tracked and untracked-but-not-ignored files) copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    if dest.exists():
        shutil.rmtree(dest)
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)
    return dest


def setup(work: Path) -> dict:
    """Create the smoke venv; return what was installed how."""
    env = _pip_env()
    venv = work / "venv"
    if venv.exists():
        shutil.rmtree(venv)
    _run([sys.executable, "-m", "venv", venv], env)
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], env)
    _run([py, "-m", "pip", "install", "-q", TORCH_PIN], env)

    # poolkit as a wheel of this checkout (built from a copy: an in-tree build leaves build/)
    wheels = work / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    _run([py, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, _checkout_copy(work / "checkout")], env)
    (wheel,) = wheels.glob("poolkit-*.whl")
    shutil.rmtree(work / "checkout")

    cell = read_chapter_cells(ROOT / "book" / f"{CHAPTERS[0]}.md")
    cell_src = cell[find_install_cell(cell)]
    localized = localize_install(cell_src, wheel.as_uri())
    cell_args = pip_install_args(localized)
    extra = base_dependencies((ROOT / "pyproject.toml").read_text()) + list(TOOLS)
    reqs = cell_args + [r for r in extra if canonical(r) not in {canonical(requirement_name(a)) for a in cell_args if not a.startswith("-")}]
    bad = unpinned(reqs)
    if bad:
        raise SystemExit(f"smoke-latest installs nothing pinned but torch; these carry versions: {bad}")
    _run([py, "-m", "pip", "install", *reqs], env)

    # the stand-in google.colab: a namespace `google` (no __init__.py, so protobuf's and the
    # cloud clients' google.* stay importable), on the path through a .pth file
    stub = work / "colab"
    shutil.rmtree(stub, ignore_errors=True)
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text(COLAB_INIT)
    (stub / "google" / "colab" / "output.py").write_text(COLAB_OUTPUT)
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "poolkit_smoke_colab.pth").write_text(str(stub) + "\n")

    # the kernel: registered inside the venv, importing google.colab at start-up like Colab's,
    # and with no package index (the install cell must not download anything)
    _run([py, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
          "--display-name", "Python 3 (smoke-latest)"], env, stdout=subprocess.DEVNULL)
    spec_file = venv / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    spec = json.loads(spec_file.read_text())
    spec["argv"] = [str(py)] + spec["argv"][1:] + ["--IPKernelApp.exec_lines=import google.colab"]
    spec["env"] = {"PIP_NO_INDEX": "1", "PIP_CONSTRAINT": "", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    spec_file.write_text(json.dumps(spec, indent=1))
    return {
        "colab_cell": cell_src.strip().splitlines()[-1].strip(),
        "ran": "pip install " + " ".join(shlex.quote(r) for r in reqs),
        "first": f"pip install {TORCH_PIN}",
        "poolkit_wheel": f"built from the working tree at git {git_head()}",
        "pip_constraint": "PIP_CONSTRAINT= (no constraints file)",
        "kernel": f"{KERNEL_NAME}, registered with --sys-prefix in the smoke venv; imports google.colab at "
                  "start-up; PIP_NO_INDEX=1",
        "in_chapter": "the install cell runs with its git URL replaced by the local wheel",
    }


def git_head() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return out + (" with uncommitted changes" if dirty else "")


def read_chapter_cells(md: Path) -> list[str]:
    """Code-cell sources of a MyST chapter (stdlib only: the driver has no jupytext)."""
    text = md.read_text()
    return re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def installed_packages(py: Path) -> dict[str, str]:
    out = subprocess.run([py, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True,
                         env=_pip_env()).stdout
    return {d["name"]: d["version"] for d in json.loads(out)}


def execute(chapters: list[str], work: Path, out: Path, in_checkout: bool = False) -> None:
    """Run inside the smoke venv: execute each chapter, write a JSON list of outcomes."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    wheel = next((work / "wheel").glob("poolkit-*.whl"))
    done = []
    (work / "executed").mkdir(exist_ok=True)
    for ch in chapters:
        nb = jupytext.read(ROOT / "book" / f"{ch}.md")
        code = [c for c in nb.cells if c.cell_type == "code"]
        i = find_install_cell([c.source for c in code])
        code[i].source = localize_install(code[i].source, wheel.as_uri())
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        if in_checkout:                           # as the book build runs it, beside the checkout
            content = ROOT / "book"
        else:                                     # Colab's /content: an empty folder
            content = work / "content" / ch
            shutil.rmtree(content, ignore_errors=True)
            content.mkdir(parents=True)
        client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT, allow_errors=False,
                                resources={"metadata": {"path": str(content)}})
        entry = {"chapter": ch, "source": f"book/{ch}.md", "cells": len(code) + 1}
        t0 = time.perf_counter()
        try:
            client.execute()
            entry["status"] = "pass"
        except (CellExecutionError, CellTimeoutError, Exception) as exc:  # noqa: B014
            entry["status"] = "fail"
            entry["error"] = error_tail(str(exc))
            entry["error_type"] = type(exc).__name__
            failed = next((k for k, c in enumerate(code) if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            if failed is not None:
                entry["failed_code_cell"] = failed + 1
                entry["failed_cell_start"] = code[failed].source.strip().splitlines()[:3]
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        probe = [o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream"]
        for line in "".join(probe).splitlines():
            if line.startswith("SMOKE-PROBE "):
                entry["colab"] = json.loads(line[len("SMOKE-PROBE "):])
        nbformat.write(nb, work / "executed" / f"{ch}.ipynb")
        print(f"{ch}: {entry['status']} in {entry['seconds']} s", flush=True)
        done.append(entry)
        out.write_text(json.dumps(done, indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapters", nargs="+", default=list(CHAPTERS))
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "smoke_latest.json")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--reuse-venv", action="store_true", help="skip the install (to rerun the chapters only)")
    ap.add_argument("--in-checkout", action="store_true",
                    help="run each chapter from book/ instead of an empty folder (a diagnostic: tells a failure "
                         "of the Colab layout from one of the versions)")
    ap.add_argument("--execute", type=Path, help=argparse.SUPPRESS)   # internal: run inside the smoke venv
    args = ap.parse_args(argv)
    work = args.work.resolve()
    if args.execute:
        execute(args.chapters, work, args.execute, args.in_checkout)
        return 0

    work.mkdir(parents=True, exist_ok=True)
    install_file = work / "install.json"
    if args.reuse_venv and install_file.exists():
        install = json.loads(install_file.read_text())
    else:
        install = setup(work)
        install_file.write_text(json.dumps(install, indent=1))
    py = work / "venv" / "bin" / "python"
    env = _pip_env()
    env["POOLKIT_CACHE"] = str(work / "cache")      # processed data rebuilt by today's PyG
    # Colab has no results/ beside the notebook: poolkit.results downloads the committed files;
    # here from the checkout's results/ by a file:// address, the same code path offline.
    env["POOLKIT_RESULTS_URL"] = (ROOT / "results").as_uri() + "/"
    shutil.rmtree(work / "cache", ignore_errors=True)
    if env.get("POOLKIT_DATA"):
        print("POOLKIT_DATA =", env["POOLKIT_DATA"])
    outcomes = work / "chapters.json"
    outcomes.unlink(missing_ok=True)
    proc = subprocess.run([py, Path(__file__).resolve(), "--execute", outcomes, "--work", work, "--chapters",
                           *args.chapters] + (["--in-checkout"] if args.in_checkout else []), env=env)
    chapters = json.loads(outcomes.read_text()) if outcomes.exists() else []
    if proc.returncode != 0 or len(chapters) != len(args.chapters):
        ran = {c["chapter"] for c in chapters}
        chapters += [{"chapter": ch, "status": "fail", "seconds": 0.0,
                      "error": [f"the executor exited with status {proc.returncode} before this chapter finished"]}
                     for ch in args.chapters if ch not in ran]
    failed = [c["chapter"] for c in chapters if c["status"] == "fail"]
    if failed and not args.in_checkout:
        # the same chapters from book/, beside the checkout: tells a failure of the Colab
        # layout (a file the notebook expects beside it) from one of the versions
        again = work / "chapters_checkout.json"
        again.unlink(missing_ok=True)
        subprocess.run([py, Path(__file__).resolve(), "--execute", again, "--work", work, "--in-checkout",
                        "--chapters", *failed], env=env)
        redo = {c["chapter"]: c for c in (json.loads(again.read_text()) if again.exists() else [])}
        for c in chapters:
            if c["chapter"] in redo:
                r = redo[c["chapter"]]
                c["beside_checkout"] = {"status": r["status"], "seconds": r["seconds"],
                                        **({"error": r["error"][-10:]} if r["status"] == "fail" else {})}
    python = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                            text=True).stdout.strip()
    doc = build_result(date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), python=python,
                       packages=installed_packages(py), chapters=chapters, install=install,
                       extra={"poolkit_data": env.get("POOLKIT_DATA"), "poolkit_results_url": env["POOLKIT_RESULTS_URL"],
                              "working_folder": "book/ of the checkout (--in-checkout)" if args.in_checkout else
                              "empty per chapter, like Colab's /content (no checkout beside the notebook)"})
    rc = write_result(args.out, doc)
    for c in chapters:
        print(f"{c['chapter']}: {c['status']} ({c['seconds']} s)")
        if c["status"] == "fail":
            print("   " + "\n   ".join(c["error"][-8:]))
            if "beside_checkout" in c:
                print(f"   run from book/ beside the checkout instead: {c['beside_checkout']['status']}")
    print(f"written {args.out}; {'all chapters passed' if rc == 0 else 'FAILED'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
