"""Speed of poolkit's Top-K and SAGPool against PyG and torch-geometric-pool (tgp).

Every implementation gets the same batch and the same weights and runs forward +
backward (``out.x.sum().backward()``, gradients w.r.t. the input features and the
pooler's parameters). Implementations are timed in interleaved rounds, so that a change in
machine load hits all of them alike; on the CPU the clock is the process's CPU time with
one thread (default), which other jobs on a shared machine inflate less than wall time.
We report the median and the minimum per call over rounds, and the ratio
``poolkit / fastest peer`` of both.

    python benchmarks/bench_score.py [--rounds 15] [--device cpu|cuda] [--quick]

Writes ``benchmarks/results/score.json`` and ``benchmarks/results/score.md``.

tgp imports ``torch_scatter``, which has no wheel for this torch version. When it is
missing, :func:`poolkit.peer_compat.install_torch_scatter_stand_in` registers a stand-in
for this process only (``Tensor.scatter_reduce_``, the kernels of PyG's own ``scatter``),
which is all tgp's Top-K and SAGPool paths need. The results file records whether the
stand-in was used.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from poolkit.peer_compat import install_torch_scatter_stand_in
from poolkit.poolers.score import SAGPool, TopKPool
from timing import clock_name, machine, step_time, write_results

RESULTS = Path(__file__).resolve().parent / "results"


def make_batch(num_graphs, n_min, n_max, avg_degree, f, seed, device):
    g = torch.Generator().manual_seed(seed)
    xs, eis, bs, off = [], [], [], 0
    for i in range(num_graphs):
        n = int(torch.randint(n_min, n_max + 1, (1,), generator=g))
        m = n * avg_degree // 2
        src = torch.randint(0, n, (m,), generator=g)
        dst = torch.randint(0, n, (m,), generator=g)
        keep = src != dst
        e = torch.stack([src[keep], dst[keep]])
        e = torch.cat([e, e.flip(0)], 1)
        e = torch.unique(e[0] * n + e[1])
        eis.append(torch.stack([e // n, e % n]) + off)
        xs.append(torch.randn(n, f, generator=g))
        bs.append(torch.full((n,), i, dtype=torch.long))
        off += n
    return (torch.cat(xs).to(device), torch.cat(eis, 1).to(device), torch.cat(bs).to(device))


def build(kind, f, ratio, device):
    """Same weights in every implementation (PyG's and tgp's SAG scale by p/|p|: set p=+1)."""
    from torch_geometric.nn import GraphConv
    from torch_geometric.nn import SAGPooling as PygSAG
    from torch_geometric.nn import TopKPooling as PygTopK

    impls = {}
    if kind == "topk":
        ours = TopKPool(f, ratio=ratio)
        pyg = PygTopK(f, ratio=ratio)
        with torch.no_grad():
            pyg.select.weight.copy_(ours.weight.view(1, -1))
        impls["poolkit"] = (ours, lambda m, x, ei, b: m(x, ei, batch=b).x)
        impls["pyg"] = (pyg, lambda m, x, ei, b: m(x, ei, batch=b)[0])
    else:
        ours = SAGPool(f, ratio=ratio, conv="graph")
        pyg = PygSAG(f, ratio=ratio, GNN=GraphConv)
        pyg.gnn.load_state_dict(ours.gnn.state_dict())
        with torch.no_grad():
            pyg.select.weight.fill_(1.0)
        impls["poolkit"] = (ours, lambda m, x, ei, b: m(x, ei, batch=b).x)
        impls["pyg"] = (pyg, lambda m, x, ei, b: m(x, ei, batch=b)[0])
    try:
        if kind == "topk":
            from tgp.poolers import TopkPooling as TgpTopK

            tgp = TgpTopK(f, ratio=ratio)
            with torch.no_grad():
                tgp.selector.weight.copy_(ours.weight.view_as(tgp.selector.weight))
        else:
            from tgp.poolers import SAGPooling as TgpSAG

            tgp = TgpSAG(f, ratio=ratio, GNN=GraphConv)
            tgp.gnn.load_state_dict(ours.gnn.state_dict())
        impls["tgp"] = (tgp, lambda m, x, ei, b: m(x, adj=ei, batch=b).x)
    except Exception as exc:  # noqa: BLE001 - report, do not hide
        print(f"tgp unavailable for {kind}: {type(exc).__name__}: {exc}")
    return {k: (m.to(device), fn) for k, (m, fn) in impls.items()}


def step(model, fn, x, ei, b):
    model.zero_grad(set_to_none=True)
    xg = x.detach().requires_grad_()
    out = fn(model, xg, ei, b)
    out.sum().backward()
    return out


def steps(model, fn, x, ei, b, inner):
    for _ in range(inner):
        step(model, fn, x, ei, b)


def time_impls(impls, x, ei, b, rounds, inner, device):
    for model, fn in impls.values():  # warm-up
        for _ in range(3):
            step(model, fn, x, ei, b)
    times = {k: [] for k in impls}
    for _ in range(rounds):
        for name, (model, fn) in impls.items():
            times[name].append(step_time(steps, model, fn, x, ei, b, inner, device=device) / inner)
    return times


def check_same_output(impls, x, ei, b):
    outs = {k: step(m, fn, x, ei, b).detach() for k, (m, fn) in impls.items()}
    ref = outs["pyg"]
    return {k: bool(v.shape == ref.shape and torch.allclose(v, ref, atol=1e-5)) for k, v in outs.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: least noise on a shared machine)")
    p.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    p.add_argument("--out", default=str(RESULTS / "score"))
    args = p.parse_args(argv)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    rounds = 3 if args.quick else args.rounds
    standin = install_torch_scatter_stand_in()
    workloads = {
        "64 small graphs (20-40 nodes, deg 4, F=64)": dict(num_graphs=64, n_min=20, n_max=40, avg_degree=4, f=64),
        "4 large graphs (2000 nodes, deg 10, F=64)": dict(num_graphs=4, n_min=2000, n_max=2000, avg_degree=10, f=64),
    }
    rows = []
    for wname, w in workloads.items():
        x, ei, b = make_batch(seed=0, device=device, **w)
        for kind in ("topk", "sag"):
            torch.manual_seed(0)
            impls = build(kind, w["f"], 0.5, device)
            same = check_same_output(impls, x, ei, b)
            inner = 20 if w["num_graphs"] > 4 else 5
            times = time_impls(impls, x, ei, b, rounds, inner, device)
            med = {k: statistics.median(v) for k, v in times.items()}
            best = {k: min(v) for k, v in times.items()}
            peers = [k for k in impls if k != "poolkit"]
            fastest_med = min(peers, key=lambda k: med[k])
            fastest_min = min(peers, key=lambda k: best[k])
            row = dict(
                workload=wname,
                pooler=kind,
                num_nodes=int(x.size(0)),
                num_edges=int(ei.size(1)),
                median_ms={k: 1e3 * v for k, v in med.items()},
                min_ms={k: 1e3 * v for k, v in best.items()},
                same_output_as_pyg=same,
                fastest_peer_median=fastest_med,
                ratio_median=med["poolkit"] / med[fastest_med],
                ratio_min=best["poolkit"] / best[fastest_min],
            )
            rows.append(row)
            print(
                f"{kind:5s} {wname}: "
                + ", ".join(f"{k} {1e3 * med[k]:.3f} ms" for k in impls)
                + f" | ratio vs {fastest_med}: {row['ratio_median']:.2f} (median), {row['ratio_min']:.2f} (min)"
            )
    try:
        from importlib import import_module
        from importlib.metadata import version

        import_module("tgp")  # importable, not only installed

        tgp_version = version("torch-geometric-pool")
    except Exception:  # noqa: BLE001
        tgp_version = None
    import torch_geometric

    host = machine(device)
    result = dict(
        benchmark="score",
        what="forward + backward of one pooling layer, ratio 0.5, same weights",
        device=str(device),
        device_name=host["device_name"],
        torch_threads=host["torch_threads"],
        clock=clock_name(device),
        rounds=rounds,
        versions=dict(
            python=host["python"],
            torch=host["torch"],
            torch_geometric=torch_geometric.__version__,
            tgp=tgp_version,
        ),
        tgp_torch_scatter_standin=standin,
        rows=rows,
    )
    out = Path(args.out)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    lines = [
        f"# Score-based pooling: forward + backward ({device}, {torch.get_num_threads()} threads, {rounds} rounds)",
        "",
        "| workload | pooler | poolkit ms | PyG ms | tgp ms | ratio vs fastest peer (median / min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["median_ms"]
        tg = f"{m['tgp']:.3f}" if "tgp" in m else "n/a"
        lines.append(
            f"| {r['workload']} | {r['pooler']} | {m['poolkit']:.3f} | {m['pyg']:.3f} | {tg} | "
            f"{r['ratio_median']:.2f} / {r['ratio_min']:.2f} |"
        )
    if standin:
        lines += ["", "tgp ran with the `torch_scatter` stand-in of `poolkit.peer_compat` (`Tensor.scatter_reduce_`)."]
    jpath, _ = write_results(out.with_name(out.name + suffix + ".json"), result, lines)
    print(f"wrote {jpath}")
    return result


if __name__ == "__main__":
    main()
