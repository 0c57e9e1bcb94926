"""Speed of ten poolers outside the family benchmarks (NoPool, Just Balance, ASAPool, edge contraction, MaxCutPool,
BN-Pool, HOSC, PANPool, EigenPool and SEP, each against its fastest peer (PyG and/or torch-geometric-pool, tgp).

Every implementation gets the same batch and the same weights and runs forward + backward
(the pooled features, the pooled adjacency of dense poolers and every auxiliary loss summed
into one scalar). Implementations are timed in interleaved rounds (one call of each in turn,
repeated), so a change in machine load hits all of them alike; on the CPU the clock is the
process's CPU time with one thread, which other jobs on a shared machine inflate less than
wall time. Reported: median per call over rounds, and ``ratio = poolkit / fastest peer``.

    python benchmarks/bench_mixed_peers.py [--rounds 15] [--device cpu|cuda] [--quick]

Writes ``benchmarks/results/mixed_peers.json`` and ``.md``. tgp needs ``torch_scatter``;
when it is missing, :func:`poolkit.peer_compat.install_torch_scatter_stand_in` registers a
stand-in for this process.

Peers: ``nopool`` tgp ``NoPool``; ``just_balance`` tgp ``JustBalancePooling``; ``asap`` PyG
``ASAPooling`` (tgp's ``ASAPooling`` connects the kept nodes' induced subgraph instead of
``Sᵀ Â S``, a different operator, so it is timed but not a peer); ``edge_contraction`` PyG
``EdgePooling`` and tgp ``EdgeContractionPooling``; ``maxcut`` tgp ``MaxCutPooling``;
``bnpool`` tgp ``BNPool`` (training mode for both: a Beta sample per call); ``hosc`` tgp
``HOSCPooling`` (its motif adjacency is :math:`A^3`, ours :math:`(AA) \odot A`: one dense
product fewer, the same order of cost); ``pan`` PyG ``PANPooling`` on the same MET matrix
(PyG's pooler takes the ``M`` of a ``PANConv``, which needs ``torch_sparse``; both get the
``M`` computed once by :func:`poolkit.score.met_matrix`, and ours runs with
``structure="degree", met_norm="count"``, PyG's formulas). ``poolkit+MET`` also times ours
computing ``M`` itself from the graph (``filter_size`` 2); it has no peer and is not a ratio.
``eigenpool`` tgp ``EigenPooling`` (``k`` clusters, 2 modes, whole forward + backward: tgp's
spectral clustering is scikit-learn's, run graph by graph; ours is one batched ``eigh`` per
graph size and a batched k-means); ``sep`` tgp ``SEPPooling`` (both search a partition of low
structural entropy graph by graph, with different heuristics: tgp ports the authors' coding
tree, ours restarts a greedy local search from several partitions, all searches of the batch
at once).
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import torch

from poolkit.poolers.one_over_k import EdgeContractionPool, MaxCutPool
from poolkit.poolers.spectral import EigenPool, SEPPool
from poolkit.peer_compat import MetAsSparseTensor, install_torch_scatter_stand_in
from poolkit.poolers.score import ASAPool, PANPool
from poolkit.soft import BNPool, HOSCPool, JustBalancePool, to_dense_inputs
from poolkit.src import NoPool
from bench_score import make_batch
from timing import machine, step_time, write_results

RESULTS = Path(__file__).resolve().parent / "results"
#: The dense soft poolers timed on the padded batch: ours, and the name of tgp's peer.
DENSE = {"just_balance": (JustBalancePool, "JustBalancePooling"), "bnpool": (BNPool, "BNPool"),
         "hosc": (HOSCPool, "HOSCPooling")}
warnings.filterwarnings("ignore")


def _total(*parts):
    return sum(p.sum() for p in parts if p is not None)


def _outs(out):
    """Pooled features and pooled edge weights of a PoolingOutput (ours or tgp's)."""
    return out.x, out.edge_weight if out.edge_weight is not None and out.edge_weight.dtype.is_floating_point else None


def build(name, f, k, device, tgp):
    """{impl: (module, fn(x, ei, b, dense) -> scalar)} with shared weights; None = not a peer."""
    from torch_geometric.nn import ASAPooling as PygASAP
    from torch_geometric.nn import EdgePooling

    impls = {}
    if name == "nopool":
        ours = NoPool()
        impls["poolkit"] = (ours, lambda x, ei, b, d: ours(x, ei, batch=b).x.sum())
        if tgp is not None:
            t = tgp.NoPool()
            impls["tgp"] = (t, lambda x, ei, b, d: t(x, ei, batch=b).x.sum())
    elif name == "asap":
        ours = ASAPool(f, ratio=0.5)
        impls["poolkit"] = (ours, lambda x, ei, b, d: _total(ours(x, ei, batch=b).x))
        ref = PygASAP(f, ratio=0.5)
        ref.lin.load_state_dict(ours.lin.state_dict())
        ref.att.load_state_dict(ours.att.state_dict())
        ref.gnn_score.load_state_dict(ours.fitness.state_dict())
        with torch.no_grad():
            ref.select.weight.fill_(1.0)
        impls["pyg"] = (ref, lambda x, ei, b, d: ref(x, ei, batch=b)[0].sum())
    elif name == "edge_contraction":
        ours = EdgeContractionPool(f)
        impls["poolkit"] = (ours, lambda x, ei, b, d: ours(x, ei, batch=b).x.sum())
        ref = EdgePooling(f)
        ref.lin.load_state_dict(ours.lin.state_dict())
        impls["pyg"] = (ref, lambda x, ei, b, d: ref(x, ei, b)[0].sum())
        if tgp is not None:
            t = tgp.EdgeContractionPooling(in_channels=f)
            impls["tgp"] = (t, lambda x, ei, b, d: t(x, ei, batch=b).x.sum())
    elif name == "maxcut":
        ours = MaxCutPool(f, ratio=0.5)

        def mine(x, ei, b, d):
            out = ours(x, ei, batch=b)
            return _total(out.x, out.edge_weight, *out.losses.values())

        impls["poolkit"] = (ours, mine)
        if tgp is not None:
            t = tgp.MaxCutPooling(in_channels=f, ratio=0.5)
            with torch.no_grad():
                for a, c in zip(ours.score_net.state_dict().values(), t.selector.score_net.state_dict().values()):
                    c.copy_(a)
            ew1 = {}

            def theirs(x, ei, b, d):
                w = ew1.setdefault(ei.size(1), torch.ones(ei.size(1), device=ei.device))
                out = t(x, ei, batch=b, edge_weight=w)
                return _total(out.x, out.edge_weight, *out.loss.values())

            impls["tgp"] = (t, theirs)
    elif name == "pan":
        from torch_geometric.nn import PANPooling as PygPAN

        ours = PANPool(f, ratio=0.5, filter_size=2, structure="degree", met_norm="count")
        ref = PygPAN(f, ratio=0.5)
        with torch.no_grad():
            ref.select.weight.fill_(1.0)
        mets = {}

        def met(x, ei):
            key = (ei.data_ptr(), ei.size(1))
            if key not in mets:
                index, _, m_norm, _ = ours.met(ei, x.size(0))
                mets[key] = (index, m_norm.detach())
            return mets[key]

        impls["poolkit"] = (ours, lambda x, ei, b, d: ours(x, ei, batch=b, met=met(x, ei)).x.sum())
        impls["poolkit+MET"] = (ours, lambda x, ei, b, d: ours(x, ei, batch=b).x.sum())
        impls["pyg"] = (ref, lambda x, ei, b, d: ref(x, MetAsSparseTensor(*met(x, ei)), batch=b)[0].sum())
    elif name == "eigenpool":
        ours = EigenPool(k=k, modes=2)
        impls["poolkit"] = (ours, lambda x, ei, b, d: _total(*_outs(ours(x, ei, batch=b))))
        if tgp is not None:
            t = tgp.EigenPooling(k=k, num_modes=2)
            impls["tgp"] = (t, lambda x, ei, b, d: _total(*_outs(t(x, ei, batch=b))))
    elif name == "sep":
        ours = SEPPool()
        impls["poolkit"] = (ours, lambda x, ei, b, d: _total(*_outs(ours(x, ei, batch=b))))
        if tgp is not None:
            t = tgp.SEPPooling()
            impls["tgp"] = (t, lambda x, ei, b, d: _total(*_outs(t(x, ei, batch=b))))
    elif name in DENSE:
        ours = DENSE[name][0](f, k)

        def mine(x, ei, b, d, ours=ours):
            xd, adj, mask = d
            out = ours(xd, adj, mask=mask)
            return _total(out.x, out.adj, *out.losses.values())

        impls["poolkit"] = (ours, mine)
        if tgp is not None:
            t = getattr(tgp, DENSE[name][1])(in_channels=f, k=k)
            with torch.no_grad():
                t.selector.mlp.lins[0].weight.copy_(ours.mlp[0].weight)
                t.selector.mlp.lins[0].bias.copy_(ours.mlp[0].bias)

            def theirs(x, ei, b, d, t=t):
                xd, adj, mask = d
                out = t(xd, adj, mask=mask)
                return _total(out.x, out.edge_index, *out.loss.values())

            impls["tgp"] = (t, theirs)
    for m, _ in impls.values():
        m.to(device).train()
    return impls


def run_once(module, fn, x, ei, b, d):
    module.zero_grad(set_to_none=True)
    xg = x.detach().requires_grad_(True)
    dd = None if d is None else (d[0].detach().requires_grad_(True), d[1], d[2])
    fn(xg, ei, b, dd).backward()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--poolers", nargs="*", default=["nopool", "just_balance", "asap", "edge_contraction", "maxcut", "bnpool",
                                                          "hosc", "pan", "eigenpool", "sep"])
    p.add_argument("--out", default=str(RESULTS / "mixed_peers.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    device = torch.device(args.device)
    stand_in = install_torch_scatter_stand_in()
    try:
        from tgp import poolers as tgp
    except Exception as exc:  # pragma: no cover
        print("tgp not importable:", repr(exc))
        tgp = None
    rounds = 3 if args.quick else args.rounds
    configs = [dict(B=32, n_min=10, n_max=30, F=32, K=8), dict(B=8, n_min=100, n_max=200, F=32, K=16)]
    if args.quick:
        configs = configs[:1]
    rows, t_start = [], time.time()
    for cfg in configs:
        x, ei, b = make_batch(cfg["B"], cfg["n_min"], cfg["n_max"], 6, cfg["F"], 0, device)
        dense = to_dense_inputs(x, ei, b)
        for name in args.poolers:
            torch.manual_seed(0)
            impls = build(name, cfg["F"], cfg["K"], device, tgp)
            d = dense if name in DENSE else None
            for m, fn in impls.values():  # warm-up
                run_once(m, fn, x, ei, b, d)
            times = {k: [] for k in impls}
            for _ in range(rounds):
                for k, (m, fn) in impls.items():
                    times[k].append(step_time(run_once, m, fn, x, ei, b, d, device=device))
            med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
            peers = [k for k in med if not k.startswith("poolkit")]
            fastest = min(peers, key=med.get) if peers else None
            row = dict(pooler=name, **cfg, median_ms=med, fastest_peer=fastest,
                       ratio=med["poolkit"] / med[fastest] if fastest else None)
            rows.append(row)
            print(f"{name:17s} B={cfg['B']:2d} N<={cfg['n_max']:3d} " + "  ".join(f"{k}={v:.2f}ms" for k, v in med.items())
                  + (f"  ratio={row['ratio']:.2f} (vs {fastest})" if fastest else ""), flush=True)
    import torch_geometric

    wall_s = time.time() - t_start
    host = machine(device)
    payload = dict(
        benchmark="mixed_peers", device=f"{device.type} ({host['machine']}, {host['torch_threads']} thread, {host['cpus']} cpus)",
        versions=dict(torch=host["torch"], torch_geometric=torch_geometric.__version__,
                      tgp=("tgp (torch_scatter stand-in)" if stand_in else "tgp") if tgp is not None else "not importable"),
        rounds=rounds, wall_s=wall_s,
        load_average_1_5_15=host["load_average_1_5_15"],
        rows=rows,
    )
    lines = [f"# New poolers: forward + backward vs the fastest peer ({payload['device']}, {rounds} interleaved rounds, median CPU time per call)", "",
             f"torch {payload['versions']['torch']}, torch_geometric {payload['versions']['torch_geometric']}, {payload['versions']['tgp']}; "
             f"load average at the end (1/5/15 min): {payload['load_average_1_5_15']}", "",
             "| pooler | B | N max | poolkit ms | PyG ms | tgp ms | ratio vs fastest peer |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        c = lambda k: f"{r['median_ms'][k]:.2f}" if k in r["median_ms"] else "—"  # noqa: E731
        ratio = f"{r['ratio']:.2f} ({r['fastest_peer']})" if r["ratio"] is not None else "—"
        lines.append(f"| {r['pooler']} | {r['B']} | {r['n_max']} | {c('poolkit')} | {c('pyg')} | {c('tgp')} | {ratio} |")
    out, md = write_results(args.out, payload, lines)
    print("wrote", out, "and", md)


if __name__ == "__main__":
    main()
