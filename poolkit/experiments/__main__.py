"""``python -m poolkit.experiments NAME [options]`` (``--list`` lists the experiments)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from .common import list_experiments, write_results


def _common_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    g = parser.add_argument_group("common options")
    g.add_argument("--root", default=os.environ.get("POOLKIT_DATA"),
                   help="dataset root holding TUDataset/ and MoleculeNet/ (default: $POOLKIT_DATA)")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="random seeds, one run each")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    g.add_argument("--out", default=os.path.join("results", f"{name}.json"), help="results file")
    g.add_argument("--quick", action="store_true", help="tiny setting for a smoke test (minutes on a CPU)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = list_experiments()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\nexperiments: " + (", ".join(names) if names else "(none yet)"))
        return 0
    if argv[0] == "--list":
        for n in names:
            print(n)
        return 0
    name = argv.pop(0)
    if name not in names:
        print(f"unknown experiment {name!r}; known: {', '.join(names) or '(none)'}", file=sys.stderr)
        return 2
    mod = importlib.import_module(f"poolkit.experiments.{name}")
    parser = argparse.ArgumentParser(prog=f"python -m poolkit.experiments {name}",
                                     description=(mod.__doc__ or "").strip().splitlines()[0] if mod.__doc__ else None)
    _common_arguments(parser, name)
    if hasattr(mod, "add_arguments"):
        mod.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.no_progress:
        os.environ["POOLKIT_PROGRESS"] = "0"
    if args.root:
        os.environ["POOLKIT_DATA"] = str(args.root)
    t0 = time.perf_counter()
    result = mod.run(args)
    wall = time.perf_counter() - t0
    if isinstance(result, dict) and "runs" in result:
        runs, config = result["runs"], result.get("config", {})
        extra = {k: v for k, v in result.items() if k not in ("runs", "config")}
    else:
        runs, config, extra = list(result), {}, {}
    config = {**{k: v for k, v in vars(args).items()}, **config}
    path = write_results(name, runs, config, out=args.out, device=args.device or _auto_device(), wall_seconds=wall,
                         extra=extra)
    print(f"wrote {path} ({len(runs)} runs, {wall:.1f} s)")
    return 0


def _auto_device():
    from ..train import get_device

    return get_device()


if __name__ == "__main__":
    sys.exit(main())
