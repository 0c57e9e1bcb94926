"""Forward + backward time and peak memory of the soft-clustering poolers.

poolkit's ``diffpool``, ``mincut``, ``dmon`` and ``tvgnn`` against PyTorch Geometric
(``dense_diff_pool``, ``dense_mincut_pool``, ``DMoNPooling``; PyG has no TVGNN) and
torch-geometric-pool (tgp: ``DiffPool``, ``MinCutPooling``, ``DMoNPooling``,
``AsymCheegerCutPooling``) on the same dense batches, in one run.

Each step computes ``S`` from the features with one linear layer, pools, adds the pooled
features, the pooled adjacency and every auxiliary loss into one scalar and back-propagates.
Implementations are timed round-robin (one step of each in turn, repeated), so a load
change on a shared machine hits all of them alike; the median step time is reported.
Peak memory is the peak of live tensor allocations during one step, read from the PyTorch
profiler (CPU) or ``torch.cuda.max_memory_allocated`` (GPU).

    python benchmarks/bench_soft.py            # writes benchmarks/results/soft.{json,md}
    python benchmarks/bench_soft.py --quick    # small shapes, few repeats

tgp needs ``torch_scatter``; when it is not installed,
:func:`poolkit.peer_compat.install_torch_scatter_stand_in` registers a stand-in (only the
batched dense code paths of these four poolers use it, for the TVGNN edge sums).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import poolkit
from timing import machine, peak_memory, step_time, write_results

RESULTS = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------------- peers
def load_tgp():
    from poolkit.peer_compat import install_torch_scatter_stand_in

    stand_in = install_torch_scatter_stand_in()
    try:
        import tgp
        from tgp import poolers
    except Exception as exc:  # pragma: no cover - depends on the environment
        return None, f"tgp not importable: {exc!r}"
    ver = getattr(tgp, "__version__", "?")
    return poolers, f"tgp {ver}" + (" (torch_scatter stand-in)" if stand_in else "")


def step_sum(*tensors):
    return sum(t.sum() for t in tensors)


def make_impls(name, f, k, device, tgp_poolers):
    """Return {impl: (module, step(x, adj, mask) -> scalar)} for one pooler."""
    from torch_geometric.nn.dense import DMoNPooling, dense_diff_pool, dense_mincut_pool

    impls = {}
    ours = poolkit.get_pooler(name, in_channels=f, k=k).to(device)

    def ours_step(x, adj, mask, p=ours):
        out = p(x, adj, mask=mask)
        return step_sum(out.x, out.adj, *out.losses.values())

    impls["poolkit"] = (ours, ours_step)
    if name in ("diffpool", "mincut"):
        lin = torch.nn.Linear(f, k).to(device)
        fn = dense_diff_pool if name == "diffpool" else dense_mincut_pool

        def pyg_step(x, adj, mask, lin=lin, fn=fn):
            return step_sum(*fn(x, adj, lin(x), mask))

        impls["pyg"] = (lin, pyg_step)
    elif name == "dmon":
        ref = DMoNPooling(f, k).to(device)

        def pyg_step(x, adj, mask, ref=ref):
            _, out, out_adj, spec, orth, clus = ref(x, adj, mask)
            return step_sum(out, out_adj, spec, clus)  # ortho is not part of DMoN's paper loss

        impls["pyg"] = (ref, pyg_step)
    if tgp_poolers is not None:
        cls = {
            "diffpool": "DiffPool",
            "mincut": "MinCutPooling",
            "dmon": "DMoNPooling",
            "tvgnn": "AsymCheegerCutPooling",
        }[name]
        t = getattr(tgp_poolers, cls)(in_channels=f, k=k).to(device)

        def tgp_step(x, adj, mask, t=t):
            out = t(x, adj, mask=mask)
            return step_sum(out.x, out.edge_index, *out.loss.values())

        impls["tgp"] = (t, tgp_step)
    return impls


# --------------------------------------------------------------------------- measurement
def make_batch(b, n_min, n_max, f, seed, device):
    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(n_min, n_max + 1, (b,), generator=g)
    n = int(sizes.max())
    mask = torch.arange(n).unsqueeze(0) < sizes.unsqueeze(1)
    x = torch.randn(b, n, f, generator=g) * mask.unsqueeze(-1)
    p = 6.0 / n  # about six neighbours per node
    a = (torch.rand(b, n, n, generator=g) < p).float().triu(1)
    a = (a + a.transpose(1, 2)) * mask.unsqueeze(1) * mask.unsqueeze(2)
    return x.to(device), a.to(device), mask.to(device)


def run_step(module, step, x, adj, mask):
    module.zero_grad(set_to_none=True)
    xg = x.detach().requires_grad_(True)
    step(xg, adj, mask).backward()


def bench_config(cfg, names, device, tgp_poolers, repeats, warmup):
    x, adj, mask = make_batch(cfg["B"], cfg["n_min"], cfg["n_max"], cfg["F"], 0, device)
    rows = []
    for name in names:
        torch.manual_seed(0)
        impls = make_impls(name, cfg["F"], cfg["K"], device, tgp_poolers)
        times = {k: [] for k in impls}
        for _ in range(warmup):
            for k, (m, s) in impls.items():
                run_step(m, s, x, adj, mask)
        for _ in range(repeats):
            for k, (m, s) in impls.items():  # wall time on every device (this benchmark's clock from the start)
                times[k].append(step_time(run_step, m, s, x, adj, mask, device=device, now=time.perf_counter))
        res = {k: {"median_ms": 1e3 * statistics.median(v), "min_ms": 1e3 * min(v),
                   "peak_mem_mb": peak_memory(lambda k=k: run_step(*impls[k], x, adj, mask), device) / 2**20}
               for k, v in times.items()}
        peers = [k for k in res if k != "poolkit"]
        fastest = min(peers, key=lambda k: res[k]["median_ms"]) if peers else None
        row = {"pooler": name, **{k: cfg[k] for k in ("B", "n_min", "n_max", "F", "K")}, "N_max": x.size(1),
               "results": res, "fastest_peer": fastest}
        if fastest:
            row["time_ratio"] = res["poolkit"]["median_ms"] / res[fastest]["median_ms"]
            low_mem = min(peers, key=lambda k: res[k]["peak_mem_mb"])
            row["mem_ratio"] = res["poolkit"]["peak_mem_mb"] / max(res[low_mem]["peak_mem_mb"], 1e-9)
        rows.append(row)
        print(f"{name:9s} B={cfg['B']:3d} N<={x.size(1):4d} K={cfg['K']:3d} "
              + "  ".join(f"{k}={v['median_ms']:.2f}ms/{v['peak_mem_mb']:.1f}MB" for k, v in res.items())
              + (f"  ratio={row['time_ratio']:.2f} (vs {fastest})" if fastest else ""), flush=True)
    return rows


def markdown_lines(payload):
    lines = [
        "# Soft-clustering poolers: poolkit vs PyG and tgp",
        "",
        f"Device: {payload['device']}; torch {payload['versions']['torch']}, "
        f"torch_geometric {payload['versions']['torch_geometric']}, {payload['versions']['tgp']}; "
        f"{payload['repeats']} timed steps (forward + backward), median.",
        "",
        "| pooler | B | N max | K | poolkit ms | PyG ms | tgp ms | ratio vs fastest peer | poolkit MB | peer MB (min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["rows"]:
        res = r["results"]
        cell = lambda k: f"{res[k]['median_ms']:.2f}" if k in res else "—"  # noqa: E731
        peers_mem = [v["peak_mem_mb"] for k, v in res.items() if k != "poolkit"]
        lines.append(
            f"| {r['pooler']} | {r['B']} | {r['N_max']} | {r['K']} | {cell('poolkit')} | {cell('pyg')} | {cell('tgp')} | "
            f"{r.get('time_ratio', float('nan')):.2f} ({r.get('fastest_peer')}) | {res['poolkit']['peak_mem_mb']:.1f} | "
            f"{min(peers_mem) if peers_mem else float('nan'):.1f} |"
        )
    lines += ["", payload.get("note", "")]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small shapes and few repeats")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--poolers", nargs="*", default=["diffpool", "mincut", "dmon", "tvgnn"])
    ap.add_argument("--out", default=str(RESULTS / "soft.json"))
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads for torch (1 keeps timings stable on a shared machine)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = [
        {"B": 32, "n_min": 10, "n_max": 30, "F": 32, "K": 8},      # molecule-sized graphs
        {"B": 16, "n_min": 50, "n_max": 150, "F": 32, "K": 16},    # protein-sized graphs
        {"B": 8, "n_min": 200, "n_max": 400, "F": 32, "K": 32},    # large graphs
    ]
    if args.quick:
        configs = configs[:1]
    repeats = args.repeats or (10 if args.quick else 40)
    tgp_poolers, tgp_note = load_tgp()
    import torch_geometric

    rows, t0 = [], time.time()
    for cfg in configs:
        rows += bench_config(cfg, args.poolers, device, tgp_poolers, repeats, warmup=3)
    ratios = [r["time_ratio"] for r in rows if "time_ratio" in r]
    wall_s = time.time() - t0
    host = machine(device)
    payload = {
        "benchmark": "soft",
        "device": f"{device.type} ({host['device_name']}, {host['torch_threads']} threads, {host['cpus']} cpus)",
        "versions": {"torch": host["torch"], "torch_geometric": torch_geometric.__version__,
                     "poolkit": poolkit.__version__, "tgp": tgp_note, "python": host["python"]},
        "repeats": repeats,
        "wall_s": wall_s,
        "load_average_1_5_15": host["load_average_1_5_15"],
        "max_time_ratio": max(ratios) if ratios else None,
        "rows": rows,
        "note": (
            "time_ratio = poolkit median / fastest peer median (forward + backward, same batch). "
            "PyG has no TVGNN. PyG's DMoN step leaves out its orthogonality loss (not in the DMoN "
            "paper, not computed by poolkit). tgp computes its losses for the same quantities. "
            "On a shared, loaded CPU the run-to-run spread of a ratio is about ±0.15; compare "
            "several runs (load_average records the machine's load at the end of this one)."
        ),
    }
    out, md = write_results(args.out, payload, markdown_lines(payload))
    print(f"wrote {out} and {md}; max ratio {payload['max_time_ratio']}")
    return payload


if __name__ == "__main__":
    main()
