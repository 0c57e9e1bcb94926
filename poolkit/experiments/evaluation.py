"""How to judge a pooler: the four lenses of chapter 8 on every registered pooler.

For every name in ``poolkit.list_poolers()`` (built by ``poolkit.src.example_pooler``, so
poolers registered later are included without changes here) and every seed:

1. **Expressiveness.** ``--pairs`` WL-distinguishable pairs (``poolkit.data.wl_pairs``,
   20-28 nodes, one-hot degree features), ``GIN×2 → pooler → GIN → sum → MLP`` trained
   for ``--pair-epochs`` full-batch epochs to tell the two graphs of each pair apart;
   accuracy on the pairs, the ``S`` row-sum condition and the Reduce residual of the
   trained pooler.
2. **Structure** and 3. **information.** An autoencoder (``GIN×2 → pooler → Lift →
   GIN×2``) trained for ``--ae-steps`` steps to reconstruct the coordinates of a ring,
   a grid, a triangulated mesh, a torus and a molecule (``--cloud-size``); per graph the
   reconstruction error and the spectral distance of the lifted pooled graph.
4. **Cost** (once, not per seed). Forward + backward seconds and peak memory on 2-D
   lattices of ``--sizes`` nodes, ``k = ⌈N/4⌉`` supernodes, 16 features; a size is
   skipped when the previous step predicts more than ``--time-cap`` seconds for it.

Every pooler is asked to keep a share of the nodes where it can be told (``--ratio``,
0.25, for the point clouds and the cost; ``--pair-ratio``, 0.1, for the pairs; score
poolers take it as their ratio, clustering poolers as ``k = ratio·N``); one-over-K
poolers choose their own size. Runs on one CPU thread by default (``--threads``).

    python -m poolkit.experiments evaluation --seeds 0 1 2
"""
from __future__ import annotations

import math
import sys

import torch

DEFAULT_SIZES = (10, 30, 100, 300, 1000, 3000, 5000)


def add_arguments(parser) -> None:
    parser.add_argument("--poolers", default=None, help="comma-separated names (default: every registered pooler)")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--pair-epochs", type=int, default=100)
    parser.add_argument("--ae-steps", type=int, default=150)
    parser.add_argument("--cloud-size", type=int, default=7)
    parser.add_argument("--ratio", type=float, default=0.25, help="share of nodes kept (point clouds, cost)")
    parser.add_argument("--pair-ratio", type=float, default=0.1, help="share of nodes kept in the pair task")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--time-cap", type=float, default=5.0, help="seconds per step above which a size is skipped")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resume", action="store_true",
                        help="keep the poolers that --out already holds (made with the same protocol and seeds) "
                             "and run only the others, such as poolers registered since")
    from .executor import add_executor_arguments

    add_executor_arguments(parser)


def run(args) -> dict:
    import poolkit
    from poolkit import evaluation as ev
    from poolkit.data import point_clouds, wl_pairs

    torch.set_num_threads(args.threads)
    names = args.poolers.split(",") if args.poolers else poolkit.list_poolers()
    sizes = [int(s) for s in str(args.sizes).split(",")]
    pairs_n, epochs, steps, csize = args.pairs, args.pair_epochs, args.ae_steps, args.cloud_size
    if args.quick:
        pairs_n, epochs, steps, csize, sizes = 4, 5, 5, 3, [10, 30]
    pairs = wl_pairs(pairs_n, (20, 28), seed=0)
    clouds = point_clouds(("ring", "grid", "mesh", "torus", "molecule"), size=csize)
    mean_nodes = sum(g.num_nodes for g in pairs) / len(pairs)
    k_pairs = max(2, round(args.pair_ratio * mean_nodes))
    k_clouds = max(2, round(args.ratio * sum(d.num_nodes for d in clouds) / len(clouds)))
    protocol = (f"{pairs_n} WL pairs (20-28 nodes), {epochs} epochs; autoencoder {steps} steps on ring/grid/mesh/"
                f"torus/molecule (size {csize}); k = round(ratio * mean nodes) = {k_pairs} (pairs, "
                f"ratio {args.pair_ratio}), {k_clouds} (clouds, ratio {args.ratio}); cost on 2-D lattices N in {sizes}, k = ceil(N/4), 16 features, "
                f"time cap {args.time_cap} s per step; {args.threads} thread(s)")
    kept_runs, kept_cost, history = [], [], {}
    if getattr(args, "resume", False):
        kept_runs, kept_cost, history = _resume(args.out, protocol, list(args.seeds), names)
    have = {(r["name"], r.get("seed")) for r in kept_runs}
    costed = {c.get("name") for c in kept_cost}
    todo = [n for n in names if n not in costed]          # poolers still without a cost sweep
    runs = list(kept_runs)
    specs = [{"name": name, "seed": int(seed), "pairs": pairs_n, "cloud_size": csize, "pair_epochs": epochs,
              "ae_steps": steps, "k": k_pairs, "ratio": args.ratio, "ae_k": k_clouds, "pair_ratio": args.pair_ratio}
             for name in names for seed in args.seeds if (name, int(seed)) not in have]
    keys = [(sp["name"], sp["seed"]) for sp in specs]
    order = {k: i for i, k in enumerate(keys)}

    def on_result(key, spec, flat):
        runs.append(flat)
        print(f"{key[0]:20s} seed {key[1]}: pair acc {flat.get('accuracy', float('nan')):.3f}, "
              f"spectral {flat.get('spectral_mean', float('nan')):.3f}, "
              f"reconstruction {flat.get('reconstruction_mean', float('nan')):.3f} "
              f"({flat['seconds']:.1f} s) {flat.get('error', '')}", file=sys.stderr, flush=True)
        if getattr(args, "out", None):      # the runs so far, so an interrupted sweep keeps them
            from .common import write_results

            write_results("evaluation", runs, {"poolers": names, "partial": True}, out=args.out,
                          extra={**history, "cost": list(kept_cost), "protocol": protocol, "threads": args.threads,
                                 "complete": False})

    from .executor import executor_from_args, run_tasks

    failures = run_tasks("poolkit.experiments.evaluation:run_one", specs, keys, on_result,
                         progress=not getattr(args, "no_progress", False), **executor_from_args(args))
    if failures:
        print(f"{len(failures)} runs failed: {failures}", file=sys.stderr, flush=True)
    new_runs = sorted(runs[len(kept_runs):], key=lambda r: order.get((r["name"], r.get("seed")), len(order)))
    runs = list(kept_runs) + new_runs
    # The cost sweep times poolers against each other: one at a time, in this process.
    cost = kept_cost + ev.cost_sweep(todo, sizes, ratio=args.ratio, repeats=3, time_cap=args.time_cap, device=args.device,
                         progress=lambda c: print(f"cost {c['name']:20s} N={c['num_nodes']:5d} "
                                                  f"{c['seconds'] * 1e3:9.1f} ms {c.get('peak_mb', math.nan):9.1f} MB",
                                                  file=sys.stderr, flush=True))
    return {**history, "runs": runs, "config": {"poolers": names, "sizes": sizes, "k_pairs": k_pairs, "k_clouds": k_clouds},
            "cost": cost, "protocol": protocol, "threads": args.threads, "complete": not failures}


_INPUTS: dict = {}


def run_one(spec: dict) -> dict:
    """One (pooler, seed) of the expressiveness, structure and information lenses: what every
    executor task runs. Returns the results file's flat run row."""
    from poolkit import evaluation as ev
    from poolkit.data import point_clouds, wl_pairs

    key = (spec["pairs"], spec["cloud_size"])
    if key not in _INPUTS:
        _INPUTS[key] = (wl_pairs(spec["pairs"], (20, 28), seed=0),
                        point_clouds(("ring", "grid", "mesh", "torus", "molecule"), size=spec["cloud_size"]))
    pairs, clouds = _INPUTS[key]
    r = ev.evaluate_pooler(spec["name"], pairs, clouds, pair_epochs=spec["pair_epochs"], ae_steps=spec["ae_steps"],
                           k=spec["k"], ratio=spec["ratio"], seed=spec["seed"], ae_k=spec["ae_k"],
                           pair_ratio=spec["pair_ratio"])
    flat = {k: v for k, v in r.items() if k not in ("spectral", "reconstruction", "traceback")}
    for kind, v in r.get("spectral", {}).items():
        flat[f"spectral_{kind}"] = v
    for kind, v in r.get("reconstruction", {}).items():
        flat[f"reconstruction_{kind}"] = v
    return flat


def _resume(out, protocol: str, seeds: list, names: list):
    """The runs and cost rows of the poolers in ``names`` that the results file ``out`` holds,
    and its history (``commands``, ``resumed_from``); nothing when there is no file.
    Raises ``ValueError`` when the file was made with another protocol or other seeds."""
    from .common import command_history, command_line, resume_from

    old = resume_from(out, protocol, None, config={"seeds": seeds}, same_config=("seeds",))
    if old is None:
        return [], [], {}
    keep = set(names)
    runs = [r for r in old.get("runs", []) if r.get("name") in keep]
    have = {r["name"] for r in runs}
    cost = [c for c in old.get("cost", []) if c.get("name") in have]
    history = {"commands": command_history(old, command_line("evaluation")),
               "resumed_from": {"created": old.get("created"), "wall_seconds": old.get("wall_seconds"),
                                "poolers": sorted(have)}}
    return runs, cost, history
