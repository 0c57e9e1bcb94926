"""GMPool's square roots and poolers: accuracy, stability and speed, in one run.

1. **Square root of a grouping matrix** (batch of ``B`` random grouping matrices
   ``σ(w·|h_i − h_j| + b)``, diagonal 1, sizes ``n``): forward + backward time and
   reconstruction error ``‖S Sᵀ − M₊‖_F / ‖M₊‖_F`` for

   * ``torch.linalg.eigh`` with PyTorch's own backward (the naive peer),
   * poolkit ``eigh_sqrt`` (``StableEigh``, masked ``1/(λi−λj)``),
   * poolkit ``taylor_sqrt`` (matrix Taylor polynomial, products only), degree 20 and 40,
   * poolkit ``psd_sqrt_newton_schulz`` (coupled Newton–Schulz on ``M²`` then on ``M₊``),
     20 iterations; a ``nan`` error means it overflowed (singular ``M`` in float32).

2. **Stability**: fraction of non-finite gradients on block grouping matrices (repeated
   eigenvalues), naive eigh vs ``StableEigh``.

3. **Grouping matrix**: poolkit's ``grouping_matrix`` (pairs ``i < j`` inside a graph,
   chunked, hand-written backward) against ``grouping_matrix_reference`` (the plain
   ``[B, N, N, F]`` expression), forward + backward, batches of mixed sizes.

4. **Pooler cost against graph size** (``N = 10, 20, 40, 80``): forward + backward of
   GMPool (eigh, the paper's default without a threshold), GMPool with our ``rank_tol=1e-2``,
   GMPool (Taylor), NGMPool and DiffPool (poolkit, ``k=10``) and PyG's ``dense_diff_pool``
   (the peer; torch-geometric-pool has no GMPool and no public GMPool exists).

5. **Batched decomposition against a per-graph loop**: ``eigh_sqrt`` on one padded batch
   of grouping matrices of Tox21-like sizes (20 to 40 nodes) against a Python loop over the
   graphs, each at its own size, forward + backward.

6. **Seconds per training epoch on Tox21** (the 2,629 molecules of the paper's filtering,
   hidden 200, batch 80, Adam, one thread): D-MPNN, + GMPool, + NGMPool, + DiffPool (k=10),
   as ratios to the D-MPNN epoch of the same round, rounds interleaved.

Timing is round-robin (one step of each method in turn, repeated; median reported) so a
load change on a shared machine hits every method alike.

    python benchmarks/bench_gmpool.py           # writes benchmarks/results/gmpool.{json,md}
    python benchmarks/bench_gmpool.py --quick   # smaller, writes gmpool_quick.{json,md}
"""
from __future__ import annotations

import argparse
import functools
import statistics
import time
from pathlib import Path

import torch

import poolkit
import timing
from poolkit.gmpool import eigh_sqrt, grouping_matrix, grouping_matrix_reference, psd_sqrt_newton_schulz, taylor_sqrt
from timing import machine, write_results

RESULTS = Path(__file__).resolve().parent / "results"


def random_grouping(b, n, f=16, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, n, f, generator=g, dtype=dtype)
    lin = torch.nn.Linear(f, 1).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(1, f, generator=g) * 0.5)
        lin.bias.fill_(1.0)
    return grouping_matrix(h, lin).detach()


def psd_part(m):
    lam, o = torch.linalg.eigh(m.double())
    return (o * lam.clamp(min=0).unsqueeze(-2)) @ o.transpose(-1, -2)


def naive_root(m):
    lam, o = torch.linalg.eigh(m)
    return o * lam.clamp(min=0).sqrt().unsqueeze(-2)


ROOTS = {
    "torch eigh (naive backward)": naive_root,
    "poolkit StableEigh": lambda m: eigh_sqrt(m)[0],
    "poolkit Taylor degree 20": lambda m: taylor_sqrt(m, 20),
    "poolkit Taylor degree 40": lambda m: taylor_sqrt(m, 40),
    "poolkit Newton-Schulz x20": lambda m: psd_sqrt_newton_schulz(m, 20),
}


#: Seconds of one call ``fn(*args)``: wall time, this CPU-only benchmark's clock from the start.
step_time = functools.partial(timing.step_time, now=time.perf_counter)


def bench_roots(sizes, batch, repeats):
    rows = []
    for n in sizes:
        m0 = random_grouping(batch, n, seed=n)
        ref = psd_part(m0)
        times = {k: [] for k in ROOTS}

        def run(f):
            m = m0.clone().requires_grad_()
            s = f(m)
            (s @ s.transpose(-1, -2)).sum().backward()

        for _ in range(repeats):
            for k, f in ROOTS.items():
                times[k].append(step_time(run, f))
        for k, f in ROOTS.items():
            with torch.no_grad():
                s = f(m0).double()
                err = (torch.linalg.matrix_norm(s @ s.transpose(-1, -2) - ref) / torch.linalg.matrix_norm(ref)).mean()
            rows.append({"n": n, "batch": batch, "method": k, "median_ms": 1e3 * statistics.median(times[k]),
                         "rel_error": float(err)})
    base = {r["n"]: r["median_ms"] for r in rows if r["method"] == "poolkit StableEigh"}
    for r in rows:
        r["time_vs_stable_eigh"] = r["median_ms"] / base[r["n"]]
    return rows


def bench_stability(trials=50):
    bad = {"torch eigh (naive backward)": 0, "poolkit StableEigh": 0}
    g = torch.Generator().manual_seed(0)
    for t in range(trials):
        k = int(torch.randint(2, 6, (1,), generator=g))
        sizes = torch.randint(1, 6, (k,), generator=g).tolist()
        labels = torch.repeat_interleave(torch.arange(k), torch.tensor(sizes))
        m0 = (labels[:, None] == labels[None, :]).float()
        for name, f in (("torch eigh (naive backward)", naive_root), ("poolkit StableEigh", lambda m: eigh_sqrt(m)[0])):
            m = m0.clone().requires_grad_()
            s = f(m[None])
            (s.sum() ** 2).backward()
            bad[name] += int(not torch.isfinite(m.grad).all())
    return {k: {"nonfinite_grad_fraction": v / trials, "trials": trials} for k, v in bad.items()}


def mixed_batch(sizes, feat, seed):
    g = torch.Generator().manual_seed(seed)
    n = max(sizes)
    x = torch.randn(len(sizes), n, feat, generator=g)
    mask = torch.arange(n)[None] < torch.tensor(sizes)[:, None]
    return x * mask.unsqueeze(-1), mask


def bench_grouping(sizes, batch, feat, repeats):
    rows = []
    lin = torch.nn.Linear(feat, 1)
    for n in sizes:
        g = torch.Generator().manual_seed(n)
        per = torch.randint(max(1, n // 2), n + 1, (batch,), generator=g).tolist()
        per[0] = n
        x0, mask = mixed_batch(per, feat, n)
        fns = {"poolkit grouping_matrix (pairs i<j, chunked)": grouping_matrix,
               "reference [B, N, N, F]": grouping_matrix_reference}
        times = {k: [] for k in fns}

        def run(f):
            x = x0.clone().requires_grad_()
            f(x, lin, mask).sum().backward()

        for _ in range(repeats):
            for k, f in fns.items():
                times[k].append(step_time(run, f))
        base = statistics.median(times["reference [B, N, N, F]"])
        for k, v in times.items():
            rows.append({"n": n, "batch": batch, "features": feat, "method": k, "median_ms": 1e3 * statistics.median(v),
                         "time_vs_reference": statistics.median(v) / base})
    return rows


def bench_poolers(sizes, batch, feat, repeats):
    from torch_geometric.nn import dense_diff_pool

    rows = []
    poolers = {
        "poolkit gmpool (eigh, no threshold)": poolkit.get_pooler("gmpool", in_channels=feat),
        "poolkit gmpool (eigh, rank_tol=1e-2)": poolkit.get_pooler("gmpool", in_channels=feat, rank_tol=1e-2),
        "poolkit gmpool (taylor)": poolkit.get_pooler("gmpool", in_channels=feat, decomposition="taylor"),
        "poolkit ngmpool": poolkit.get_pooler("ngmpool", in_channels=feat),
        "poolkit diffpool (k=10)": poolkit.get_pooler("diffpool", in_channels=feat, k=10),
    }
    lin = torch.nn.Linear(feat, 10)
    for n in sizes:
        g = torch.Generator().manual_seed(n)
        x0 = torch.randn(batch, n, feat, generator=g)
        a = (torch.rand(batch, n, n, generator=g) < 3.0 / n).float()
        a = ((a + a.transpose(1, 2)) > 0).float()
        mask = torch.ones(batch, n, dtype=torch.bool)
        times = {k: [] for k in list(poolers) + ["PyG dense_diff_pool (k=10)"]}

        def run_pk(p):
            x = x0.clone().requires_grad_()
            out = p(x, adj=a, mask=mask)
            (out.x.sum() + out.adj.sum() + out.loss).backward()

        def run_pyg():
            x = x0.clone().requires_grad_()
            xo, ao, l1, l2 = dense_diff_pool(x, a, lin(x), mask)
            (xo.sum() + ao.sum() + l1 + l2).backward()

        for _ in range(repeats):
            for k, p in poolers.items():
                times[k].append(step_time(run_pk, p))
            times["PyG dense_diff_pool (k=10)"].append(step_time(run_pyg))
        base = statistics.median(times["PyG dense_diff_pool (k=10)"])
        for k, v in times.items():
            rows.append({"n": n, "batch": batch, "features": feat, "method": k, "median_ms": 1e3 * statistics.median(v),
                         "time_vs_pyg_diffpool": statistics.median(v) / base})
    return rows


def bench_batched_vs_loop(batch, repeats, low=20, high=40):
    """``eigh_sqrt`` on one padded batch against a loop over the graphs at their own sizes."""
    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(low, high + 1, (batch,), generator=g).tolist()
    n = max(sizes)
    mask = torch.arange(n)[None] < torch.tensor(sizes)[:, None]
    m0 = random_grouping(batch, n, seed=1) * (mask.unsqueeze(2) & mask.unsqueeze(1))

    def batched():
        m = m0.clone().requires_grad_()
        s, _ = eigh_sqrt(m, mask)
        (s @ s.transpose(1, 2)).sum().backward()

    def loop():
        m = m0.clone().requires_grad_()
        tot = 0
        for b, k in enumerate(sizes):
            s, _ = eigh_sqrt(m[b:b + 1, :k, :k])
            tot = tot + (s @ s.transpose(1, 2)).sum()
        tot.backward()

    times = {"batched (one padded eigh)": [], "per-graph loop": []}
    for _ in range(repeats):
        times["batched (one padded eigh)"].append(step_time(batched))
        times["per-graph loop"].append(step_time(loop))
    # the two agree
    with torch.no_grad():
        sb, _ = eigh_sqrt(m0, mask)
        err = max(float((sb[b, :k] @ sb[b, :k].T - eigh_sqrt(m0[b:b + 1, :k, :k])[0][0] @ eigh_sqrt(m0[b:b + 1, :k, :k])[0][0].T)
                        .abs().max()) for b, k in enumerate(sizes))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"batch": batch, "sizes": f"{low}-{high} nodes (uniform)", "median_ms": {k: 1e3 * v for k, v in med.items()},
            "loop_over_batched": med["per-graph loop"] / med["batched (one padded eigh)"],
            "max_abs_difference_SST": err, "repeats": repeats}


def bench_tox21_epochs(rounds, limit=None, models=("dmpnn", "gmpool", "ngmpool", "diffpool")):
    """Seconds per training epoch on the filtered Tox21 molecules, rounds interleaved."""
    from torch_geometric.loader import DataLoader

    from poolkit.experiments.gmpool_tox21 import build_model, load_tox21
    from poolkit.train import task_loss

    graphs, info = load_tox21(limit=limit)
    in_dim, edge_dim = graphs[0].x.size(1), graphs[0].edge_attr.size(1)
    nets = {}
    for name in models:
        torch.manual_seed(0)
        net = build_model(name, in_dim, edge_dim, hidden=200)
        nets[name] = (net, torch.optim.Adam(net.parameters(), lr=1e-3))

    def epoch(name):
        net, opt = nets[name]
        net.train()
        torch.manual_seed(0)
        for data in DataLoader(graphs, batch_size=80, shuffle=True):
            opt.zero_grad(set_to_none=True)
            pred, aux = net(data)
            loss = task_loss(pred, data.y, "classification")
            for v in aux.values():
                loss = loss + v
            loss.backward()
            opt.step()

    epoch("dmpnn")  # warm-up (allocator, first calls)
    secs = {k: [] for k in models}
    for r in range(rounds):
        order = list(models) if r % 2 == 0 else list(models)[::-1]  # alternate the order
        for name in order:
            secs[name].append(step_time(epoch, name))
    ratios = {k: [v / d for v, d in zip(secs[k], secs["dmpnn"])] for k in models}
    return {"molecules": info["kept"], "mean_atoms": info["mean_atoms"], "rounds": rounds, "batch_size": 80,
            "hidden": 200, "seconds": secs,
            "median_seconds": {k: statistics.median(v) for k, v in secs.items()},
            "ratio_to_dmpnn": {k: {"median": statistics.median(v), "min": min(v), "max": max(v)} for k, v in ratios.items()}}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved Tox21 epochs per model (default 3, quick 1)")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    sizes = [10, 20, 40] if args.quick else [10, 20, 40, 80]
    reps = 3 if args.quick else 7
    rounds = args.rounds or (1 if args.quick else 3)
    t0 = time.time()
    host = machine()
    res = {
        "roots": bench_roots(sizes, batch=32, repeats=reps),
        "stability": bench_stability(20 if args.quick else 50),
        "grouping": bench_grouping(sizes, batch=32, feat=200, repeats=reps),
        "poolers": bench_poolers(sizes, batch=32, feat=200, repeats=reps),
        "batched_vs_loop": bench_batched_vs_loop(batch=80, repeats=reps),
        "tox21_epochs": bench_tox21_epochs(rounds, limit=300 if args.quick else None),
        "versions": {"torch": host["torch"], "python": host["python"], "poolkit": poolkit.__version__},
        "device": f"cpu ({host['cpu']})",
        "threads": host["torch_threads"],
        "quick": args.quick,
        "wall_seconds": None,
        "note": ("median of round-robin forward+backward steps (epochs: interleaved rounds, order alternating); "
                 "the machine was shared with other work while this ran, so compare the ratios, not the times"),
    }
    res["wall_seconds"] = time.time() - t0
    stem = "gmpool_quick" if args.quick else "gmpool"
    lines = ["# GMPool benchmark", "",
             f"{'Quick run' if args.quick else 'Full run'}: `python benchmarks/bench_gmpool.py{' --quick' if args.quick else ''}`, "
             f"{res['threads']} thread(s), {res['wall_seconds']:.0f} s. {res['note']}.", "",
             "## Seconds per training epoch on Tox21 (one thread)", "",
             f"{res['tox21_epochs']['molecules']} molecules (20 to 40 heavy atoms, mean {res['tox21_epochs']['mean_atoms']:.1f}), "
             f"batch 80, hidden 200, Adam; {rounds} interleaved round(s); ratio = epoch / D-MPNN epoch of the same round.", "",
             "| model | median s / epoch | × D-MPNN (median) | × D-MPNN (min–max) |", "|---|---|---|---|"]
    te = res["tox21_epochs"]
    for k in te["seconds"]:
        r = te["ratio_to_dmpnn"][k]
        lines.append(f"| {k} | {te['median_seconds'][k]:.2f} | {r['median']:.2f} | {r['min']:.2f}–{r['max']:.2f} |")
    bl = res["batched_vs_loop"]
    lines += ["", f"## Batched decomposition against a per-graph loop ({bl['batch']} graphs of {bl['sizes']}, forward + backward)", "",
              "| method | median ms |", "|---|---|"]
    for k, v in bl["median_ms"].items():
        lines.append(f"| {k} | {v:.1f} |")
    lines += ["", f"Loop / batched: **{bl['loop_over_batched']:.2f}×**; largest difference of S Sᵀ between the two: "
              f"{bl['max_abs_difference_SST']:.1e}.",
              "", "## Grouping matrix, forward + backward (batch 32 of mixed sizes N/2..N, 200 features)", "",
              "| N | method | median ms | × reference |", "|---|---|---|---|"]
    for r in res["grouping"]:
        lines.append(f"| {r['n']} | {r['method']} | {r['median_ms']:.2f} | {r['time_vs_reference']:.2f} |")
    lines += ["", "## Pooler forward + backward against graph size (batch 32, 200 features)", "",
              "| N | method | median ms | × PyG dense_diff_pool |", "|---|---|---|---|"]
    for r in res["poolers"]:
        lines.append(f"| {r['n']} | {r['method']} | {r['median_ms']:.2f} | {r['time_vs_pyg_diffpool']:.2f} |")
    lines += ["", "## Square root of a grouping matrix (batch 32, forward + backward)", "",
              "| n | method | median ms | × StableEigh | rel. error ‖SSᵀ−M₊‖/‖M₊‖ |", "|---|---|---|---|---|"]
    for r in res["roots"]:
        lines.append(f"| {r['n']} | {r['method']} | {r['median_ms']:.2f} | {r['time_vs_stable_eigh']:.2f} | {r['rel_error']:.1e} |")
    lines += ["", "## Non-finite gradients on block grouping matrices (repeated eigenvalues)", "",
              "| method | fraction non-finite |", "|---|---|"]
    for k, v in res["stability"].items():
        lines.append(f"| {k} | {v['nonfinite_grad_fraction']:.2f} ({v['trials']} trials) |")
    write_results(RESULTS / stem, res, lines)
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
