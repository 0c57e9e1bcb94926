"""Load every data set ``poolkit.data`` offers with the network switched off.

The script re-runs itself under ``unshare -rn`` (a private network namespace with no
interface but loopback) when that works on this machine, and in any case replaces
``socket.socket.connect`` with a function that raises, so any attempt to download fails
loudly instead of being silently satisfied. The PyG processing cache goes to a fresh
temporary ``POOLKIT_CACHE``, so every benchmark set is processed from its raw files.

It checks the number of graphs of each set against the expected count (the published
counts less the molecules RDKit cannot parse, see ``../shared/data/README.md``), prints a
table and writes ``_build/offline_data.json``. Exit status 0 when every set loaded with
the expected size.

    python scripts/check_offline_data.py [--skip-benchmarks] [--out FILE]

``POOLKIT_DATA`` must point at the raw folders (the Makefile sets it to ``../shared/data``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (label, call, expected number of graphs)
OFFLINE = [
    ("freesolv()", "D.freesolv()", 642),
    ("solubility()", "D.solubility()", 1282),
    ("nci5k()", "D.nci5k()", 4991),
    ("functional_groups('nci5k', 'brics')", "D.functional_groups('nci5k', kind='brics')", 4991),
    ("sbm()", "[D.sbm()]", 1),
    ("motif_dataset(200)", "D.motif_dataset(200)", 200),
    ("karate()", "[D.karate()]", 1),
]
BENCHMARKS = [
    ("tu_dataset('MUTAG')", "D.tu_dataset('MUTAG')", 188),
    ("tu_dataset('PROTEINS')", "D.tu_dataset('PROTEINS')", 1113),
    ("tu_dataset('NCI1')", "D.tu_dataset('NCI1')", 4110),
    ("tu_dataset('IMDB-BINARY')", "D.tu_dataset('IMDB-BINARY')", 1000),
    ("tu_dataset('DD')", "D.tu_dataset('DD')", 1178),
    ("moleculenet('ESOL')", "D.moleculenet('ESOL')", 1128),
    ("moleculenet('FreeSolv')", "D.moleculenet('FreeSolv')", 642),
    ("moleculenet('Lipo')", "D.moleculenet('Lipo')", 4200),
    ("moleculenet('BBBP')", "D.moleculenet('BBBP')", 2039),
    ("moleculenet('Tox21')", "D.moleculenet('Tox21')", 7823),
    ("moleculenet('HIV')", "D.moleculenet('HIV')", 41120),
]


def _no_network(*args, **kwargs):
    raise OSError("network access attempted while checking offline data")


def check(skip_benchmarks: bool) -> dict:
    socket.socket.connect = _no_network
    socket.socket.connect_ex = _no_network
    import warnings

    import poolkit.data as D

    rows = []
    for label, call, expected in OFFLINE + ([] if skip_benchmarks else BENCHMARKS):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = eval(call, {"D": D})  # noqa: S307 - fixed strings above
            n = len(ds)
            ok = n > 0 and (expected is None or n == expected)
            err = None if ok else f"expected {expected} graphs, got {n}"
        except Exception as exc:  # report every set, not only the first failure
            n, ok, err = None, False, f"{type(exc).__name__}: {exc}"
        rows.append(dict(data=label, graphs=n, expected=expected, ok=ok, seconds=round(time.perf_counter() - t0, 1),
                         error=err))
        print(f"{'ok ' if ok else 'BAD'} {label:40s} {n!s:>7} graphs  {rows[-1]['seconds']:6.1f} s"
              + (f"  {err}" if err else ""), flush=True)
    return {"rows": rows, "ok": all(r["ok"] for r in rows)}


def network_isolated() -> bool:
    """True when no interface but loopback is up (as inside ``unshare -rn``)."""
    try:
        names = [n for _, n in socket.if_nameindex()]
    except OSError:
        return False
    up = []
    for n in names:
        try:
            flags = int(Path(f"/sys/class/net/{n}/flags").read_text(), 16)
        except OSError:
            continue
        if flags & 1 and n != "lo":
            up.append(n)
    return not up


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-benchmarks", action="store_true", help="only the sets that need no POOLKIT_DATA")
    ap.add_argument("--out", default=str(ROOT / "_build" / "offline_data.json"))
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if not args.inside:
        cache = tempfile.mkdtemp(prefix="poolkit-offline-cache-")
        env = dict(os.environ, POOLKIT_CACHE=cache, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, __file__, "--inside", "--out", args.out] + (["--skip-benchmarks"] if args.skip_benchmarks else [])
        unshare = shutil.which("unshare")
        try:
            if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
                return subprocess.run([unshare, "-rn"] + cmd, env=env).returncode
            print("unshare -rn is not available here: checking with sockets blocked only", flush=True)
            return subprocess.run(cmd, env=env).returncode
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    if not args.skip_benchmarks and not os.environ.get("POOLKIT_DATA"):
        print("POOLKIT_DATA is not set: point it at the raw folders (e.g. ../shared/data)", file=sys.stderr)
        return 2
    isolated = network_isolated()
    print(f"network namespace without interfaces: {isolated}; sockets blocked: yes; "
          f"POOLKIT_DATA={os.environ.get('POOLKIT_DATA')}", flush=True)
    t0 = time.perf_counter()
    res = check(args.skip_benchmarks)
    res.update(network_namespace_isolated=isolated, total_seconds=round(time.perf_counter() - t0, 1),
               poolkit_data=os.environ.get("POOLKIT_DATA"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(f"{'all sets loaded offline' if res['ok'] else 'SOME SETS FAILED'} in {res['total_seconds']} s -> {out}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
