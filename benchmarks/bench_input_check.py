"""What rejecting non-finite node features costs every pooler.

For each registered pooler (built by ``poolkit.src.example_pooler``, so the whole registry
enters) on a typical training batch, time one forward call and, interleaved with it, two
checks: the exact ``bool(torch.isfinite(x).all())`` and ``poolkit.src.check_finite(x)``,
which poolers run (one sum on the common path); report the median per call over rounds and
the ratios check / forward. The forward includes ``check_finite`` itself. Forward only (no backward), so the ratio is an
upper bound for a training step. On the CPU the clock is the process's CPU time with one
thread, which other jobs on a shared machine inflate less than wall time.

    python benchmarks/bench_input_check.py [--rounds 15] [--device cpu|cuda]

Writes ``benchmarks/results/input_check.json`` and ``benchmarks/results/input_check.md``.
On CUDA the check also forces a host synchronisation per call, which this timing (with a
synchronisation after every call) does not show; see the note in ``poolkit/src.py``.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

import poolkit
from poolkit.src import check_finite, example_pooler
from timing import machine, synced_clock, write_results

RESULTS = Path(__file__).resolve().parent / "results"


def batch(num_graphs=32, low=20, high=40, deg=4, f=64, edge_ch=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs, eis, bs, off = [], [], [], 0
    for i in range(num_graphs):
        n = int(torch.randint(low, high + 1, (1,), generator=g))
        m = n * deg // 2
        src, dst = torch.randint(0, n, (m,), generator=g), torch.randint(0, n, (m,), generator=g)
        keep = src != dst
        ei = torch.stack([src[keep], dst[keep]])
        ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
        xs.append(torch.randn(n, f, generator=g))
        eis.append(ei + off)
        bs.append(torch.full((n,), i))
        off += n
    ei = torch.cat(eis, 1)
    return torch.cat(xs), ei, torch.cat(bs), torch.randn(ei.size(1), edge_ch, generator=g), high


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    x, ei, b, ea, max_nodes = batch()
    x, ei, b, ea = x.to(dev), ei.to(dev), b.to(dev), ea.to(dev)
    now = synced_clock(dev)
    rows = []
    for name in poolkit.list_poolers():
        torch.manual_seed(0)
        pool = example_pooler(name, in_channels=x.size(1), k=8, edge_channels=ea.size(1), max_nodes=max_nodes).to(dev).eval()
        kw = {"edge_attr": ea} if pool.needs_edge_attr else {}
        fwd, chk, exact = [], [], []
        with torch.no_grad():
            pool(x, ei, batch=b, **kw)  # warm-up
            for _ in range(args.rounds):
                t0 = now()
                pool(x, ei, batch=b, **kw)
                t1 = now()
                for _ in range(10):
                    ok = bool(torch.isfinite(x).all())
                t2 = now()
                for _ in range(10):
                    check_finite(x)
                t3 = now()
                assert ok
                fwd.append(t1 - t0)
                exact.append((t2 - t1) / 10)
                chk.append((t3 - t2) / 10)
        f, e, c = statistics.median(fwd), statistics.median(exact), statistics.median(chk)
        rows.append({"pooler": name, "forward_ms": 1e3 * f, "exact_ms": 1e3 * e, "check_ms": 1e3 * c,
                     "exact_ratio": e / f, "ratio": c / f})
        print(f"{name:20s} forward {1e3 * f:8.3f} ms  exact {1e3 * e:7.4f} ms ({e / f:.4f})  "
              f"check_finite {1e3 * c:7.4f} ms ({c / f:.4f})")
    ratios = sorted(r["ratio"] for r in rows)
    exact_ratios = sorted(r["exact_ratio"] for r in rows)
    host = machine(dev)
    meta = {"device": str(dev), "threads": host["torch_threads"], "rounds": args.rounds,
            "batch": {"graphs": 32, "nodes": int(x.size(0)), "features": int(x.size(1)), "edges": int(ei.size(1))},
            "torch": host["torch"], "python": host["python"],
            "median_ratio": statistics.median(ratios), "max_ratio": ratios[-1],
            "median_exact_ratio": statistics.median(exact_ratios), "max_exact_ratio": exact_ratios[-1]}
    lines = [f"# Cost of rejecting non-finite x, per pooler forward "
             f"({dev.type}, {meta['threads']} threads, {args.rounds} rounds)", "",
             f"Batch: 32 graphs, {meta['batch']['nodes']} nodes, {meta['batch']['edges']} edges, "
             f"F={meta['batch']['features']}. `check_finite` / forward: median {meta['median_ratio']:.4f}, "
             f"largest {meta['max_ratio']:.4f}; exact `isfinite(x).all()` / forward: median "
             f"{meta['median_exact_ratio']:.4f}, largest {meta['max_exact_ratio']:.4f}. "
             "Process CPU time on a shared machine; the ratios compare timings interleaved in one run.", "",
             "| pooler | forward ms | isfinite(x).all() ms | ratio | check_finite ms | ratio |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['pooler']} | {r['forward_ms']:.3f} | {r['exact_ms']:.4f} | {r['exact_ratio']:.4f} | "
              f"{r['check_ms']:.4f} | {r['ratio']:.4f} |" for r in rows]
    write_results(RESULTS / "input_check", {"meta": meta, "rows": rows}, lines, indent=1)


if __name__ == "__main__":
    main()
