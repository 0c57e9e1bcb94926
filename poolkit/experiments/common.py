"""Results files for the reproduction runs, and their tables in the book.

A results file (``results/NAME.json``) holds::

    {"name": ..., "config": {...}, "runs": [{"seed": 0, "test_accuracy": 0.81, ...}, ...],
     "summary": {"test_accuracy": {"mean": ..., "std": ..., "n": ...}, ...},
     "versions": {"python": ..., "torch": ..., "torch_geometric": ..., "poolkit": ...},
     "device": "cpu" | "cuda (NVIDIA ...)", "wall_seconds": ..., "created": ISO time,
     "command": "python -m poolkit.experiments ..."}

:func:`results_table` turns one (or several) such files into a pandas DataFrame with
``mean ± std`` cells, optionally beside the paper's numbers, for a chapter to show.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
import pkgutil
import platform
import shlex
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = ["write_results", "read_results", "summarize", "results_table", "list_experiments", "versions",
           "device_name", "format_mean_std", "command_line", "command_history", "resume_from"]

_NOT_EXPERIMENTS = {"common", "executor", "claims_table", "__main__"}


def list_experiments() -> List[str]:
    """Names of the modules in ``poolkit/experiments`` that define ``run`` (found by
    pkgutil, so a new file is picked up without registration)."""
    pkg_dir = Path(__file__).parent
    names = []
    for info in pkgutil.iter_modules([str(pkg_dir)]):
        if info.name.startswith("_") or info.name in _NOT_EXPERIMENTS:
            continue
        names.append(info.name)
    return sorted(names)


def versions() -> Dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("torch", "torch_geometric", "numpy", "rdkit", "poolkit"):
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:
            pass
    return out


def device_name(device=None) -> str:
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"{dev.type} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def summarize(runs: Sequence[Mapping], skip: Iterable[str] = ("seed", "fold")) -> Dict[str, Dict[str, float]]:
    """Mean, sample std (``ddof=1``; 0 for one run) and count of every numeric metric."""
    skip = set(skip)
    keys: List[str] = []
    for r in runs:
        for k, v in r.items():
            if k not in skip and _is_number(v) and k not in keys:
                keys.append(k)
    out = {}
    for k in keys:
        vals = [float(r[k]) for r in runs if _is_number(r.get(k))]
        n = len(vals)
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
        out[k] = {"mean": mean, "std": std, "n": n}
    return out


def resume_from(out: Union[str, os.PathLike], protocol: Union[Mapping, str], same: Optional[Sequence[str]],
                config: Optional[Mapping] = None, same_config: Sequence[str] = ()) -> Optional[dict]:
    """The results file ``out`` that ``--resume`` continues, or ``None`` when there is none.

    Raises ``ValueError`` when the file was made with other settings: any key of ``same``
    that differs between its ``protocol`` and ``protocol`` (with ``same=None``, the two
    protocols as a whole), or of ``same_config`` between its
    ``config`` and ``config``. Runs with other settings cannot be paired with new ones."""
    path = Path(out)
    if not path.exists():
        return None
    old = json.loads(path.read_text())
    if same is None:  # a protocol that is one description (a string): it must be equal as a whole
        diff = ["protocol"] if old.get("protocol") != protocol else []
    else:
        diff = [k for k in same if old.get("protocol", {}).get(k) != protocol.get(k)]
    diff += [k for k in same_config if old.get("config", {}).get(k) != (config or {}).get(k)]
    if diff:
        raise ValueError(f"--resume: {path} was made with other settings ({', '.join(diff)}); "
                         "use another --out or the same settings")
    return old


def command_line(name: str, env: str = "") -> str:
    """The command that is running experiment ``name``, as typed: ``python -m
    poolkit.experiments NAME ARGS`` (``env``, such as ``"OMP_NUM_THREADS=1"``, goes first),
    whether it was started through ``poolkit.experiments`` or as its own module."""
    argv = list(sys.argv[1:])
    if argv and argv[0] == name:
        argv = argv[1:]
    return ((env + " ") if env else "") + "python -m poolkit.experiments " + name + (" " + shlex.join(argv) if argv else "")


def command_history(old: Optional[Mapping], command: str) -> List[str]:
    """Every command that wrote a resumed results file, oldest first, then ``command``."""
    if not old:
        return [command]
    return [c for c in old.get("commands", [old.get("command")]) if c] + [command]


def write_json_atomic(path: Union[str, os.PathLike], doc) -> None:
    """Write ``doc`` as JSON to ``path`` through a temporary file and a rename, so that a
    reader (or a run cut short) never sees half a file."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)


def write_results(name: str, runs: Sequence[Mapping], config: Optional[Mapping] = None, out: Optional[os.PathLike] = None,
                  device=None, wall_seconds: Optional[float] = None, extra: Optional[Mapping] = None) -> Path:
    """Write ``results/NAME.json`` (or ``out``) and return its path."""
    path = Path(out) if out is not None else Path("results") / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": name,
        "config": _jsonable(dict(config or {})),
        "runs": [_jsonable(dict(r)) for r in runs],
        "summary": summarize(runs),
        "versions": versions(),
        "device": device_name(device),
        "wall_seconds": wall_seconds,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), "-m", "poolkit.experiments"] + sys.argv[1:]),
    }
    if extra:
        doc.update(_jsonable(dict(extra)))
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False))
    tmp.replace(path)
    return path


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            return obj.tolist()
        if isinstance(obj, torch.device):
            return str(obj)
    except Exception:  # pragma: no cover
        pass
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def read_results(path: os.PathLike) -> dict:
    """A results file read from ``path`` (a file path; to find a committed file by its name,
    use :func:`poolkit.experiments.load_results`)."""
    return json.loads(Path(path).read_text())


def format_mean_std(mean: float, std: float, scale: float = 1.0, digits: int = 2) -> str:
    """``"81.20 ± 1.31"`` style cell (``scale=100`` for percentages)."""
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def results_table(paths: Union[os.PathLike, Sequence[os.PathLike], dict, Sequence[dict]], metrics: Optional[Sequence[str]] = None,
                  paper: Optional[Mapping] = None, scale: float = 1.0, digits: int = 2, label: str = "name",
                  row_key: Optional[str] = None):
    """A DataFrame with one row per results file (or per value of ``row_key`` in the runs)
    and ``mean ± std (n)`` cells; ``paper`` adds the paper's numbers beside them.

    ``paper`` maps a row label to either a number/string (one metric) or a dict
    ``{metric: value}``; its values appear in a column ``"<metric> (paper)"``.
    """
    import pandas as pd

    docs = []
    items = paths if isinstance(paths, (list, tuple)) else [paths]
    for p in items:
        docs.append(p if isinstance(p, dict) else read_results(p))
    rows = []
    for doc in docs:
        groups: Dict[str, List[Mapping]] = {}
        if row_key is None:
            groups[str(doc.get(label, doc.get("name")))] = doc["runs"]
        else:
            for r in doc["runs"]:
                groups.setdefault(str(r.get(row_key)), []).append(r)
        for gname, runs in groups.items():
            summ = summarize(runs, skip=("seed", "fold") + ((row_key,) if row_key else ()))
            keys = metrics or list(summ)
            row = {"": gname}
            for k in keys:
                if k in summ:
                    s = summ[k]
                    row[k] = format_mean_std(s["mean"], s["std"], scale, digits) + f" (n={s['n']})"
                else:
                    row[k] = "–"
                if paper is not None and gname in paper:
                    pv = paper[gname]
                    if isinstance(pv, Mapping):
                        if k in pv:
                            row[f"{k} (paper)"] = pv[k]
                    elif len(keys) == 1:
                        row[f"{k} (paper)"] = pv
            rows.append(row)
    df = pd.DataFrame(rows).set_index("")
    df.index.name = None
    return df
