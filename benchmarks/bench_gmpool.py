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

3. **Pooler cost against graph size**: forward + backward of GMPool (eigh), GMPool
   (Taylor), NGMPool and DiffPool (poolkit, ``k=10``) and PyG's ``dense_diff_pool``
   (the peer; torch-geometric-pool has no GMPool and no public GMPool exists).

Timing is round-robin (one step of each method in turn, repeated; median reported) so a
load change on a shared machine hits every method alike.

    python benchmarks/bench_gmpool.py           # writes benchmarks/results/gmpool.{json,md}
    python benchmarks/bench_gmpool.py --quick
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import poolkit  # noqa: E402
from poolkit.gmpool import eigh_sqrt, grouping_matrix, psd_sqrt_newton_schulz, taylor_sqrt  # noqa: E402

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


def step_time(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


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


def bench_poolers(sizes, batch, feat, repeats):
    from torch_geometric.nn import dense_diff_pool

    rows = []
    poolers = {
        "poolkit gmpool (eigh)": poolkit.get_pooler("gmpool", in_channels=feat),
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
            rows.append({"n": n, "batch": batch, "method": k, "median_ms": 1e3 * statistics.median(v),
                         "time_vs_pyg_diffpool": statistics.median(v) / base})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    sizes = [10, 20, 40] if args.quick else [10, 20, 40, 80, 160]
    reps = 3 if args.quick else 7
    t0 = time.time()
    res = {
        "roots": bench_roots(sizes, batch=32, repeats=reps),
        "stability": bench_stability(20 if args.quick else 50),
        "poolers": bench_poolers(sizes, batch=32, feat=64, repeats=reps),
        "versions": {"torch": torch.__version__, "python": platform.python_version(), "poolkit": poolkit.__version__},
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "wall_seconds": None,
        "note": "median of round-robin forward+backward steps; the machine may be shared, compare ratios",
    }
    res["wall_seconds"] = time.time() - t0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gmpool.json").write_text(json.dumps(res, indent=2))
    lines = ["# GMPool benchmark", "", "## Square root of a grouping matrix (batch 32, forward + backward)", "",
             "| n | method | median ms | × StableEigh | rel. error ‖SSᵀ−M₊‖/‖M₊‖ |", "|---|---|---|---|---|"]
    for r in res["roots"]:
        lines.append(f"| {r['n']} | {r['method']} | {r['median_ms']:.2f} | {r['time_vs_stable_eigh']:.2f} | {r['rel_error']:.1e} |")
    lines += ["", "## Non-finite gradients on block grouping matrices (repeated eigenvalues)", "",
              "| method | fraction non-finite |", "|---|---|"]
    for k, v in res["stability"].items():
        lines.append(f"| {k} | {v['nonfinite_grad_fraction']:.2f} ({v['trials']} trials) |")
    lines += ["", "## Pooler forward + backward against graph size (batch 32, 64 features)", "",
              "| n | method | median ms | × PyG dense_diff_pool |", "|---|---|---|---|"]
    for r in res["poolers"]:
        lines.append(f"| {r['n']} | {r['method']} | {r['median_ms']:.2f} | {r['time_vs_pyg_diffpool']:.2f} |")
    (RESULTS / "gmpool.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
