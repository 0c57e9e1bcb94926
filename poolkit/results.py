"""The committed results files that chapters render, found the same way everywhere.

The long runs of the book (the reproductions, the evaluation's full sweep) are not rerun
when a chapter runs: their results files live in ``results/`` of the repository and the
chapter reads them. A chapter runs in three places, and each finds them differently:

* in the checkout (``make book``, ``make test``, a local Jupyter): ``results/`` beside the
  working folder, or one level up (the book's chapters run from ``book/``);
* from an installed poolkit that came from a checkout (``pip install -e .``): the
  ``results/`` folder of that checkout;
* in Colab, or anywhere without the repository: the file is downloaded once from
  :data:`RESULTS_URL` (the repository's ``results/`` on GitHub) into a cache folder.

``POOLKIT_RESULTS`` (a folder) is looked at before all of these, ``POOLKIT_RESULTS_URL``
replaces the download address (``file://`` addresses work, which is how the Colab smoke
test exercises the download path offline) and ``POOLKIT_CACHE`` the cache folder.

    >>> from poolkit.results import load_results
    >>> res = load_results("rethinking")          # doctest: +SKIP
    >>> res["protocol"]["early_stopping"]         # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence

__all__ = ["RESULTS_URL", "RESULT_FILES", "find_results", "load_results", "results_dir"]

#: Where the repository keeps its results files, for readers without a checkout.
RESULTS_URL = "https://raw.githubusercontent.com/poolkit-book/gnn-pooling/main/results/"

#: The results files the chapters read (the stems of ``results/*.json``).
RESULT_FILES = ("rethinking", "rethinking_released", "gmpool_tox21", "edge_esol", "edge_esol_table4",
                "edge_bbbp", "edge_bbbp_table4", "evaluation", "grid")

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _stem(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a results file's name such as 'rethinking', got {name!r}")
    stem = name[:-5] if name.endswith(".json") else name
    if not _NAME.match(stem) or stem in (".", ".."):
        raise ValueError(f"name must be a file name without folders (letters, digits, '_', '-', '.'), got {name!r}")
    return stem


def _local_folders() -> List[Path]:
    """Folders that may hold ``results/*.json`` here, in the order they are tried."""
    folders = []
    if os.environ.get("POOLKIT_RESULTS"):
        folders.append(Path(os.environ["POOLKIT_RESULTS"]))
    folders += [Path("results"), Path("..") / "results"]
    checkout = Path(__file__).resolve().parents[1] / "results"   # an editable install's checkout
    folders.append(checkout)
    return folders


def _cache_folder() -> Path:
    base = os.environ.get("POOLKIT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "poolkit")
    return Path(base) / "results"


def find_results(name: str, download: bool = True, timeout: float = 30.0) -> Optional[Path]:
    """The path of results file ``name`` (``"rethinking"`` or ``"rethinking.json"``): the
    first local copy (see the module docstring), else the cached download, else (with
    ``download``) a fresh download from ``POOLKIT_RESULTS_URL`` or :data:`RESULTS_URL`.
    ``None`` when there is none anywhere (for a file that a run has not written yet)."""
    fname = _stem(name) + ".json"
    for folder in _local_folders():
        if (folder / fname).is_file():
            return folder / fname
    cached = _cache_folder() / fname
    if cached.is_file():
        return cached
    if not download:
        return None
    url = os.environ.get("POOLKIT_RESULTS_URL") or RESULTS_URL
    url = url if url.endswith("/") else url + "/"
    try:
        with urllib.request.urlopen(url + fname, timeout=timeout) as resp:
            body = resp.read()
    except OSError:            # no such file there (404), or no network
        return None
    json.loads(body)           # a page that is not a results file is not cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(cached)
    return cached


def load_results(name: str, required: bool = True, download: bool = True) -> Optional[Dict]:
    """Results file ``name`` as a dict (see :func:`find_results` for where it is looked
    for). A file that cannot be found raises ``FileNotFoundError`` naming every place
    tried, or returns ``None`` with ``required=False``."""
    path = find_results(name, download=download)
    if path is None:
        if not required:
            return None
        tried = [str(f.resolve() / (_stem(name) + ".json")) for f in _local_folders()] + [str(_cache_folder())]
        url = os.environ.get("POOLKIT_RESULTS_URL") or RESULTS_URL
        raise FileNotFoundError(f"no results file {_stem(name)}.json: looked in {', '.join(tried)}"
                                + (f" and at {url}" if download else " (download off)"))
    return json.loads(path.read_text())


def results_dir(names: Sequence[str] = RESULT_FILES, download: bool = True) -> Path:
    """A folder holding the results files ``names`` that exist anywhere, for code that reads
    a whole folder (:func:`poolkit.evaluation.downstream_results`): the local ``results/``
    folder when it holds the first of them, else the cache folder after downloading them."""
    for folder in _local_folders():
        if (folder / (_stem(names[0]) + ".json")).is_file():
            return folder
    cache = _cache_folder()
    for n in names:
        p = find_results(n, download=download)
        if p is not None and p.parent != cache:
            cache.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, cache / p.name)
    return cache
