"""Benchmark loaders through PyG's own classes, offline when the raw files are present.

The root comes from the ``POOLKIT_DATA`` environment variable (default: ``~/.cache/poolkit``).
PyG writes ``processed/`` next to ``raw/``; when a dataset folder is read-only (for example
a shared copy of the raw files), its ``raw/`` folder is copied once into a writable cache
(``POOLKIT_CACHE``, default ``~/.cache/poolkit/cache``) and loaded from there, so nothing is
ever written next to the read-only files. Online users without raw files get PyG's usual
download into the (writable) root.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Optional

__all__ = ["data_root", "cache_root", "tu_dataset", "moleculenet", "resolve_dataset_root",
           "TU_DATASETS", "MOLECULENET_DATASETS"]

TU_DATASETS = ("MUTAG", "PROTEINS", "NCI1", "IMDB-BINARY", "DD")
MOLECULENET_DATASETS = ("ESOL", "FreeSolv", "Lipo", "BBBP", "Tox21", "HIV")


def data_root() -> Path:
    """``$POOLKIT_DATA`` or ``~/.cache/poolkit``."""
    env = os.environ.get("POOLKIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "poolkit"


def cache_root() -> Path:
    """Writable cache for copies of read-only raw folders: ``$POOLKIT_CACHE`` or
    ``~/.cache/poolkit/cache``."""
    env = os.environ.get("POOLKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "poolkit" / "cache"


def _writable(path: Path) -> bool:
    """Writable for us *and* not marked read-only (a root user can write anywhere, but a
    folder without write bits is meant to stay untouched)."""
    try:
        return os.access(path, os.W_OK) and bool(os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    except OSError:
        return False


def resolve_dataset_root(collection: str, folder: str, root: Optional[os.PathLike] = None) -> Path:
    """Return the collection root PyG should use for ``<collection>/<folder>``.

    If ``<root>/<collection>/<folder>/raw`` exists in a read-only place, copy it into the
    cache (once) and return the cache's collection folder instead.
    """
    base = Path(root).expanduser() if root is not None else data_root()
    coll = base / collection
    ds = coll / folder
    raw = ds / "raw"
    if not raw.is_dir():
        return coll  # PyG downloads (online) or raises a clear error
    if _writable(ds) and (not (ds / "processed").exists() or _writable(ds / "processed")):
        return coll
    cached_coll = cache_root() / collection
    cached_raw = cached_coll / folder / "raw"
    marker = cached_coll / folder / ".copied_from"
    if not (marker.exists() and marker.read_text() == str(raw.resolve())):
        if cached_raw.exists():
            shutil.rmtree(cached_raw)
        processed = cached_coll / folder / "processed"
        if processed.exists():
            shutil.rmtree(processed)
        cached_raw.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(raw, cached_raw)
        for p in cached_raw.rglob("*"):  # the copy must be writable even if the source was not
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
        cached_raw.chmod(cached_raw.stat().st_mode | stat.S_IWUSR)
        marker.write_text(str(raw.resolve()))
    return cached_coll


def tu_dataset(name: str, root: Optional[os.PathLike] = None, **kwargs):
    """``torch_geometric.datasets.TUDataset(name)`` from ``<root>/TUDataset/<name>``.

    ``kwargs`` go to PyG (``transform``, ``pre_transform``, ``use_node_attr`` ...).
    """
    from torch_geometric.datasets import TUDataset

    coll = resolve_dataset_root("TUDataset", name, root)
    return TUDataset(str(coll), name=name, **kwargs)


def moleculenet(name: str, root: Optional[os.PathLike] = None, **kwargs):
    """``torch_geometric.datasets.MoleculeNet(name)`` from ``<root>/MoleculeNet/<name.lower()>``
    (PyG's own featurisation: 9 integer atom features, 3 bond features)."""
    from torch_geometric.datasets import MoleculeNet

    coll = resolve_dataset_root("MoleculeNet", name.lower(), root)
    return MoleculeNet(str(coll), name=name, **kwargs)
