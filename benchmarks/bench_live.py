"""Overhead of the live view: training time with ``LiveView`` at its default setting
versus without it, measured inside a real Jupyter kernel (the view only draws there).

The same model (GCN → MinCutPool → GCN → readout → MLP on motif graphs) is trained
``--repeats`` times without and with the view, interleaved so that machine load affects
both alike. Reported: the ratio of median wall times (target ≤ 1.05), and the view's own
time (snapshots + figure building + display messages) as a share of training time.

    python benchmarks/bench_live.py [--epochs 300] [--repeats 3] [--device cpu|cuda]

Writes ``benchmarks/results/live.json`` and ``benchmarks/results/live.md``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from timing import machine, write_results

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"

KERNEL_CODE = r'''
import json, statistics, time, torch
from torch_geometric.loader import DataLoader
from poolkit.data import motif_dataset
from poolkit.nn import HierarchicalGNN
from poolkit.train import fit, set_seed, get_device
from poolkit.live import LiveView

EPOCHS, REPEATS, DEVICE = {epochs}, {repeats}, {device!r}
dev = get_device(DEVICE)
data = motif_dataset(200, base_nodes=20, seed=0)
watched = data[0]

def one_run(with_view):
    set_seed(0)
    loader = DataLoader(data, batch_size=20, shuffle=True)
    model = HierarchicalGNN(1, 2, poolers=[("mincut", {{"k": 6}})], hidden=32)
    view = LiveView(watched, title="overhead benchmark") if with_view else None
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fit(model, loader, epochs=EPOCHS, task="classification", lr=1e-3, device=dev,
        callbacks=[view] if view else [], progress=False)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    return wall, (view.update_seconds if view else 0.0), (view.num_updates if view else 0)

one_run(False)  # warm-up (kernels, allocator, first plotly import)
one_run(True)
rows = []
for r in range(REPEATS):
    w0, _, _ = one_run(False)
    w1, upd, n = one_run(True)
    rows.append(dict(repeat=r, without=w0, with_view=w1, view_seconds=upd, updates=n))
print("RESULT " + json.dumps(dict(rows=rows, device=str(dev), steps_per_run=EPOCHS * len(data) // 20)))
'''


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import nbclient
    import nbformat

    code = KERNEL_CODE.format(epochs=args.epochs, repeats=args.repeats, device=args.device)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    t0 = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    line = [l for l in text.splitlines() if l.startswith("RESULT ")]
    if not line:
        print(text, file=sys.stderr)
        return 1
    res = json.loads(line[-1][len("RESULT "):])
    rows = res["rows"]
    import statistics

    med_without = statistics.median(r["without"] for r in rows)
    med_with = statistics.median(r["with_view"] for r in rows)
    ratio = med_with / med_without
    pair_ratios = [r["with_view"] / r["without"] for r in rows]
    view_share = statistics.median(r["view_seconds"] / r["with_view"] for r in rows)
    host = machine()
    doc = {
        "benchmark": "live view overhead (LiveView default: redraw every 2 s)",
        "device": res["device"],
        "machine": f"{host['machine']}, {host['cpus']} cores",
        "epochs": args.epochs,
        "steps_per_run": res["steps_per_run"],
        "repeats": rows,
        "median_seconds_without": med_without,
        "median_seconds_with": med_with,
        "ratio_with_over_without": ratio,
        "paired_ratios": pair_ratios,
        "view_time_share": view_share,
        "target_ratio": 1.05,
        "meets_target": ratio <= 1.05,
        "total_seconds": time.perf_counter() - t0,
        "python": host["python"],
    }
    md = [
        "# Live view overhead",
        "",
        f"Device: {doc['device']} ({doc['machine']}); {args.epochs} epochs, {doc['steps_per_run']} steps per run, "
        f"{len(rows)} interleaved repeats, measured inside a Jupyter kernel.",
        "",
        "| repeat | without view (s) | with view (s) | ratio | view's own time (s) | redraws |",
        "|---|---|---|---|---|---|",
    ]
    for r, pr in zip(rows, pair_ratios):
        md.append(f"| {r['repeat']} | {r['without']:.2f} | {r['with_view']:.2f} | {pr:.3f} | {r['view_seconds']:.2f} | {r['updates']} |")
    md += ["", f"**Median ratio with/without: {ratio:.3f}** (target ≤ 1.05). "
               f"The view's own work is {100 * view_share:.1f}% of the training time."]
    write_results(Path(args.out) / "live", doc, md)
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
