"""Benchmark loaders through PyG's own classes, offline when the raw files are present.

Two folders, with one rule: **poolkit only reads the data folder and writes only into the
cache.**

* The data folder (``POOLKIT_DATA``, default ``~/.cache/poolkit``) holds raw files as PyG
  lays them out: ``TUDataset/<NAME>/raw/`` and ``MoleculeNet/<name>/raw/``. It may be a
  read-only shared copy or a user's own writable folder; either way nothing is written into
  it (no ``processed/`` folder, no download).
* The cache (``POOLKIT_CACHE``, default ``~/.cache/poolkit/cache``) receives PyG's
  ``processed/`` files, one folder per raw source (keyed by the raw folder's path, and
  rebuilt when its files change), and the raw files PyG downloads when the data folder does
  not have them (online readers).

Offline, a set that is neither in the data folder nor in the cache raises a
``FileNotFoundError`` naming the data folder, the sets it does hold and the download error,
instead of a network library's traceback.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional, Tuple

__all__ = ["data_root", "cache_root", "tu_dataset", "moleculenet", "dataset_dirs", "offline_datasets",
           "TU_DATASETS", "MOLECULENET_DATASETS"]

TU_DATASETS = ("MUTAG", "PROTEINS", "NCI1", "IMDB-BINARY", "DD")
MOLECULENET_DATASETS = ("ESOL", "FreeSolv", "Lipo", "BBBP", "Tox21", "HIV")
_COLLECTIONS = {"TUDataset": "tu_dataset", "MoleculeNet": "moleculenet"}


def data_root() -> Path:
    """``$POOLKIT_DATA`` or ``~/.cache/poolkit`` (read only by poolkit)."""
    env = os.environ.get("POOLKIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "poolkit"


def cache_root() -> Path:
    """Where poolkit writes (processed files, downloads): ``$POOLKIT_CACHE`` or
    ``~/.cache/poolkit/cache``."""
    env = os.environ.get("POOLKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "poolkit" / "cache"


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.iterdir())


def _fingerprint(raw: Path) -> List[list]:
    """Names, sizes and modification times of the raw files (to notice replaced files)."""
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(raw.iterdir()) if p.is_file()]


def dataset_dirs(collection: str, folder: str, root: Optional[os.PathLike] = None,
                 raw_name: str = "raw") -> Tuple[Path, Path]:
    """``(raw_dir, processed_dir)`` for ``<collection>/<folder>``.

    ``raw_dir`` is ``<root>/<collection>/<folder>/<raw_name>`` when it holds files, else the
    cache's own ``raw`` folder for the set (where a download goes). ``processed_dir`` is
    always in the cache, in a folder named after a hash of ``raw_dir``'s resolved path.
    """
    base = Path(root).expanduser() if root is not None else data_root()
    raw = base / collection / folder / raw_name
    if not _has_files(raw):
        raw = cache_root() / collection / folder / raw_name
    key = hashlib.sha1(str(raw.resolve()).encode()).hexdigest()[:12]
    processed = cache_root() / collection / folder / f"processed-{key}" / raw_name.replace("raw", "processed")
    return raw, processed


def offline_datasets(collection: str, root: Optional[os.PathLike] = None) -> List[str]:
    """Names of the ``collection`` sets whose raw files are in the data folder or the cache."""
    base = Path(root).expanduser() if root is not None else data_root()
    names = set()
    for parent in (base / collection, cache_root() / collection):
        if parent.is_dir():
            names |= {d.name for d in parent.iterdir() if _has_files(d / "raw")}
    if collection == "MoleculeNet":  # folders are lower case; show the spelling we document
        spell = {n.lower(): n for n in MOLECULENET_DATASETS}
        names = {spell.get(n, n) for n in names}
    return sorted(names)


from torch_geometric.datasets import MoleculeNet as _PygMoleculeNet  # noqa: E402
from torch_geometric.datasets import TUDataset as _PygTUDataset  # noqa: E402


class _Located:
    """Mixin for PyG dataset classes: raw files from ``raw_dir``, processed files in
    ``processed_dir`` (given, not derived from ``root``), and a download failure turned into
    a ``FileNotFoundError`` that says where the data was looked for."""

    def __init__(self, raw_dir: Path, processed_dir: Path, collection: str, label: str, looked: Path,
                 base: Path, **kwargs):
        self._pk_raw, self._pk_processed = str(raw_dir), str(processed_dir)
        self._pk_collection, self._pk_label, self._pk_looked, self._pk_base = collection, label, looked, base
        super().__init__(str(Path(processed_dir).parent), **kwargs)

    @property
    def raw_dir(self) -> str:
        return self._pk_raw

    @property
    def processed_dir(self) -> str:
        return self._pk_processed

    def download(self) -> None:
        raw = Path(self._pk_raw)
        if cache_root().resolve() not in raw.resolve().parents:
            # raw files found in the data folder but not the ones PyG needs: never download
            # into (or clean up) the data folder
            missing = [f for f in self.raw_file_names if not (raw / f).exists()] if isinstance(
                self.raw_file_names, (list, tuple)) else [self.raw_file_names]
            raise FileNotFoundError(
                f"{_COLLECTIONS[self._pk_collection]}({self._pk_label!r}): the raw folder {raw} in the data root "
                f"lacks {', '.join(missing)}; poolkit only reads the data root, so complete that folder "
                f"or remove it to download into the cache ({cache_root()})."
            )
        try:
            super().download()
        except Exception as exc:  # any network or HTTP error: report it in one message
            shutil.rmtree(self._pk_raw, ignore_errors=True)  # a partial download in the cache
            offline = offline_datasets(self._pk_collection, self._pk_base)
            first = str(exc).splitlines()[0] if str(exc) else "no message"
            raise FileNotFoundError(
                f"{_COLLECTIONS[self._pk_collection]}({self._pk_label!r}): no raw files under the data root "
                f"{self._pk_base} (looked in {self._pk_looked}) and the download failed "
                f"({type(exc).__name__}: {first}). Sets available offline there: "
                f"{', '.join(offline) if offline else 'none'}. Set POOLKIT_DATA to a folder holding "
                f"{self._pk_collection}/<name>/raw/, or connect to the internet."
            ) from None


class TUDataset(_Located, _PygTUDataset):
    """PyG's ``TUDataset`` reading raw files from the data folder, writing to the cache."""


class MoleculeNet(_Located, _PygMoleculeNet):
    """PyG's ``MoleculeNet`` reading raw files from the data folder, writing to the cache."""


@contextmanager
def _exclusive(folder: Path):
    """Hold an exclusive lock on ``folder/.lock`` (POSIX ``flock``; a no-op where there is none).

    Processes that load one set at once (executor workers on a fresh machine) would otherwise
    each process it, and one would read the ``data.pt`` another is still writing (EOFError)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:                                   # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _load(cls, collection: str, folder: str, label: str, root, raw_name: str = "raw", **kwargs):
    base = Path(root).expanduser() if root is not None else data_root()
    raw, processed = dataset_dirs(collection, folder, base, raw_name)
    stamp = processed.parent / "source.json"
    with _exclusive(processed.parent):
        if _has_files(raw) and "force_reload" not in kwargs and stamp.exists():
            kwargs["force_reload"] = json.loads(stamp.read_text()) != _fingerprint(raw)
        ds = cls(raw, processed, collection, label, base / collection / folder / raw_name, base, **kwargs)
        text = json.dumps(_fingerprint(raw))
        if not stamp.exists() or stamp.read_text() != text:
            # atomically as well: a reader without the lock (an older poolkit) never sees half a stamp
            tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            tmp.replace(stamp)
    return ds


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    return name


def tu_dataset(name: str, root: Optional[os.PathLike] = None, **kwargs):
    """``torch_geometric.datasets.TUDataset(name)`` with raw files from
    ``<root>/TUDataset/<name>/raw`` (``root`` defaults to :func:`data_root`) and processed
    files in :func:`cache_root`; see the module docstring.

    ``kwargs`` go to PyG (``transform``, ``pre_transform``, ``use_node_attr``, ``cleaned`` ...).
    """
    name = _check_name(name)
    raw_name = "raw_cleaned" if kwargs.get("cleaned") else "raw"
    return _load(TUDataset, "TUDataset", name, name, root, raw_name, name=name, **kwargs)


def moleculenet(name: str, root: Optional[os.PathLike] = None, **kwargs):
    """``torch_geometric.datasets.MoleculeNet(name)`` with raw files from
    ``<root>/MoleculeNet/<name.lower()>/raw`` and processed files in :func:`cache_root`
    (PyG's own featurisation: 9 integer atom features, 3 bond features)."""
    name = _check_name(name)
    names = _PygMoleculeNet.names
    if name.lower() not in names:
        spell = {n.lower(): n for n in MOLECULENET_DATASETS}
        valid = ", ".join(spell.get(k, k) for k in sorted(names))
        raise ValueError(f"unknown MoleculeNet data set {name!r}; valid names (any case): {valid}")
    return _load(MoleculeNet, "MoleculeNet", name.lower(), name, root, name=name, **kwargs)
