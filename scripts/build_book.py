"""Build the book: put the JavaScript the pages load into the static folder, run Jupyter Book.

    python scripts/build_book.py              # execute every chapter, write _build/html
    python scripts/build_book.py --strict     # the same, with Sphinx warnings as errors
    python scripts/build_book.py --jobs 2     # execute two chapters at a time

Every chapter is executed afresh on every build, ``--jobs`` at a time (each kernel with one
torch thread when more than one runs), into the jupyter-cache that the build then reads
(``execute_notebooks: cache`` in ``_config.yml``): the cache is emptied first, so no page
ever shows the output of an earlier run, and a chapter that the build had to execute itself
(its notebook did not match the one executed here) fails the strict build, since that would
execute it twice. A chapter that raises fails the build with its traceback.

plotly.js comes from the installed ``plotly`` package (the same version that drew the
figures); MathJax 3 and the ipywidgets HTML manager come from the npm registry, pinned and
cached by ``scripts/vendor_js.py`` (downloaded once, then reused). The built pages load all
three from ``_static`` and need no network; ``scripts/screenshot_book.py`` checks that.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import plotly
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vendor_js  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"   # where myst-nb looks when execute.cache is unset


def chapters() -> list:
    """The pages of the toc that are notebooks (jupytext MyST with a kernel), in toc order."""
    from myst_nb.core.read import is_myst_markdown_notebook

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    paths = [ROOT / f"{f}.md" for f in files]
    return [p for p in paths if p.exists() and is_myst_markdown_notebook(p.read_text())]


def read_chapter(path: Path):
    """The notebook myst-nb builds from a chapter (the same reader, so the cache matches)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(), add_source_map=True, path=path)


def _one_thread():
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")   # the kernel inherits it


def _execute(path: str, timeout: int):
    from jupyter_cache.executors.utils import single_nb_execution
    from jupyter_client.manager import KernelManager

    nb = read_chapter(Path(path))
    # IPC sockets, not TCP ports: two kernels started at the same moment by two workers can be
    # handed the same free ports, and a client then waits for a kernel that never answers
    sock = Path(tempfile.gettempdir()) / f"poolkit-kernel-{uuid.uuid4().hex}"   # one socket prefix per kernel
    km = KernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"), transport="ipc",
                       ip=str(sock))
    try:
        res = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=False,
                                  meta_override=True, km=km)
    finally:
        for leftover in sock.parent.glob(sock.name + "-*"):
            leftover.unlink(missing_ok=True)
    return path, res.nb, res.time, res.exc_string


def execute_chapters(jobs: int) -> int:
    """Execute every chapter, ``jobs`` at a time, into an emptied jupyter-cache; 0 on success."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    shutil.rmtree(CACHE, ignore_errors=True)
    cache = get_cache(str(CACHE))
    timeout = int(yaml.safe_load((ROOT / "_config.yml").read_text()).get("execute", {}).get("timeout", 900))
    paths = chapters()
    jobs = max(1, min(jobs, len(paths)))
    t0, failed = time.perf_counter(), []
    print(f"executing {len(paths)} chapters, {jobs} at a time", flush=True)
    # spawn, not fork: a forked worker's kernel client hangs on the parent's zmq/asyncio state
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_one_thread if jobs > 1 else None) as pool:
        futures = [pool.submit(_execute, str(p), timeout) for p in paths]
        for fut in futures:
            path, nb, seconds, err = fut.result()
            name = Path(path).relative_to(ROOT)
            if err is not None:
                failed.append(name)
                print(f"{name}: FAILED after {seconds:.1f} s\n{err}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"{name}: executed in {seconds:.1f} s", flush=True)
    print(f"all chapters executed in {time.perf_counter() - t0:.1f} s (wall)", flush=True)
    return 1 if failed else 0


def cached_records() -> set:
    from jupyter_cache import get_cache

    return {r.pk for r in get_cache(str(CACHE)).list_cache_records()}


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
    ap.add_argument("--jobs", type=int, default=1, help="chapters executed at a time (default 1)")
    args = ap.parse_args(argv)
    copy_plotly_js()
    vendor_js.main([])
    if execute_chapters(args.jobs):
        return 1
    executed = cached_records()
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(ROOT), "--all"]
    if args.strict:
        cmd += ["--warningiserror", "--keep-going"]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    index = ROOT / "_build" / "html" / "index.html"
    if rc == 0 and not index.exists():
        print(f"build finished but {index} is missing", file=sys.stderr)
        return 1
    again = cached_records() - executed
    if again:
        print(f"the build executed {len(again)} chapter(s) again: their notebooks did not match the cache",
              file=sys.stderr)
        if args.strict and rc == 0:
            return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
