"""Record what every registered pooler computes on a few fixed batches: the golden file.

    PYTHONPATH=. python scripts/make_golden.py            # writes tests/golden/poolers.pt

For each name of ``poolkit.list_poolers()`` the pooler is built from its class's
``example_kwargs`` under a fixed torch seed, cast to float64, and run on each batch of
:func:`golden_batches` in training mode (so that sampling poolers such as BN-Pool draw)
under a fixed seed. Recorded: every tensor of the ``PoolingOutput`` (pooled ``x``, edges,
edge weights and features or the dense adjacency, batch and masks), the dense ``S`` with its
masks, every auxiliary loss, and the gradients of ``sum(outputs) + sum(losses)`` with
respect to the input ``x`` and every parameter. ``tests/test_golden.py`` rebuilds the same
and compares, so that moving code between modules cannot change a result unnoticed.
"""
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "poolers.pt"
F_IN, EDGE_CH, K, MAX_NODES = 4, 2, 3, 16
BUILD_SEED, RUN_SEED = 0, 1


def _undirected(pairs):
    ei = torch.tensor(pairs, dtype=torch.long).t()
    return torch.cat([ei, ei.flip(0)], 1)


def golden_batches():
    """Two batches of three graphs (5, 8 and 6 nodes), the first graph with an isolated node;
    the second batch carries edge weights. Float64 features and edge features.

    No graph has a repeated Laplacian or adjacency eigenvalue (nor a repeated singular value)
    apart from the null space that the isolated node adds: where an eigenvalue repeats (a
    cycle, or a path, whose adjacency spectrum is symmetric), LAPACK may return any basis of
    its eigenspace, and EigenPool, NDP and NMF pooled differently on two CPUs."""
    graphs = [
        (5, [(0, 1), (1, 2), (2, 0), (2, 3)]),                       # a paw; node 4 isolated
        (8, [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 4), (1, 5)]),
        (6, [(0, 1), (1, 2), (2, 3), (3, 4), (1, 4), (4, 5), (2, 4)]),
    ]
    eis, batch, off = [], [], 0
    for gi, (n, pairs) in enumerate(graphs):
        eis.append(_undirected(pairs) + off)
        batch.append(torch.full((n,), gi, dtype=torch.long))
        off += n
    ei, batch = torch.cat(eis, 1), torch.cat(batch)
    g = torch.Generator().manual_seed(123)
    x = torch.randn(off, F_IN, generator=g, dtype=torch.float64)
    edge_attr = torch.randn(ei.size(1), EDGE_CH, generator=g, dtype=torch.float64)
    # symmetric weights: the same weight on (i, j) and (j, i)
    half = ei.size(1) // 2
    w = 0.5 + torch.rand(half, generator=g, dtype=torch.float64)
    return {
        "plain": dict(x=x, edge_index=ei, batch=batch, edge_attr=edge_attr),
        "weighted": dict(x=x, edge_index=ei, batch=batch, edge_attr=edge_attr, edge_weight=torch.cat([w, w])),
    }


def build(name):
    from poolkit.src import example_pooler

    torch.manual_seed(BUILD_SEED)
    pool = example_pooler(name, in_channels=F_IN, k=K, edge_channels=EDGE_CH, max_nodes=MAX_NODES)
    return pool.double().train()


def _float_sum(t):
    return t.sum() if t is not None and t.is_floating_point() else 0.0


def record(name, inputs):
    """The dict of named tensors (or None) that the pooler ``name`` gives on ``inputs``."""
    pool = build(name)
    x = inputs["x"].clone().requires_grad_(True)
    kw = {"batch": inputs["batch"]}
    if pool.needs_edge_attr:
        kw["edge_attr"] = inputs["edge_attr"]
    if "edge_weight" in inputs:
        kw["edge_weight"] = inputs["edge_weight"]
    torch.manual_seed(RUN_SEED)
    out = pool(x, inputs["edge_index"], **kw)
    rec = {}
    for field in ("x", "edge_index", "edge_weight", "edge_attr", "batch", "adj", "mask"):
        rec[f"out.{field}"] = getattr(out, field)
    s, smask = out.so.to_dense()
    rec["so.s_dense"], rec["so.mask_dense"] = s, smask
    for field in ("cluster_mask", "cluster_batch", "kept", "node_index", "cluster_index", "weight"):
        rec[f"so.{field}"] = getattr(out.so, field)
    for key, val in sorted(out.losses.items()):
        rec[f"loss.{key}"] = val
    total = sum(_float_sum(getattr(out, f)) for f in ("x", "edge_weight", "edge_attr", "adj"))
    total = total + _float_sum(s) + sum(out.losses.values(), 0.0)
    params = [(n, p) for n, p in pool.named_parameters() if p.requires_grad]
    wrt = [x] + [p for _, p in params]
    grads = torch.autograd.grad(total, wrt, allow_unused=True) if torch.is_tensor(total) and total.requires_grad \
        else [None] * len(wrt)
    rec["grad.x"] = grads[0]
    for (pname, _), g in zip(params, grads[1:]):
        rec[f"grad.param.{pname}"] = g
    return {k: (v.detach().clone() if torch.is_tensor(v) else v) for k, v in rec.items()}


def record_all():
    import poolkit

    batches = golden_batches()
    return {name: {bname: record(name, b) for bname, b in batches.items()} for name in poolkit.list_poolers()}


def main():
    torch.set_default_dtype(torch.float64)
    golden = record_all()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    torch.save(golden, GOLDEN)
    print(f"{len(golden)} poolers -> {GOLDEN} ({GOLDEN.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    sys.exit(main())
