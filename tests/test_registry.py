"""Properties every registered pooler must have, checked over the whole registry.

The names are read from ``poolkit.list_poolers()`` when the tests are collected and every
pooler is built by ``poolkit.src.example_pooler``, so a newly registered pooler enters each
test here without being named:

* forward and backward give finite values on the awkward graphs: one node, no edges, an
  isolated node, a star, a complete graph, two components;
* a batch of graphs gives, graph by graph, what the graphs give one by one (pooled features
  and auxiliary losses, which are per-graph means);
* the sum readout of the pooled graph does not change when the nodes are relabelled;
* every malformed input (shapes, index ranges, missing edge features, out-of-range
  constructor arguments) raises a ``ValueError``.

Permutation invariance can only hold where a pooler has nothing to decide by node order.
The test graph has distinct edge weights and random features, so the matchings, maximal
independent sets and cuts of the one-over-K poolers have no ties; the poolers that remain
exempt are listed in ``ORDER_DEPENDENT`` with the reason, and every registered pooler must
be classified (``test_every_pooler_is_classified``), so a new pooler cannot slip through.
"""
import pytest
import torch

import poolkit
from poolkit.src import example_pooler

NAMES = poolkit.list_poolers()
F_IN, EDGE_CH, K, MAX_NODES = 4, 2, 3, 16

# Poolers exempt from the permutation test (and only from it), with the reason. Each entry
# is checked to really change its readout under a permutation, so the list cannot go stale.
ORDER_DEPENDENT = {
    # S is a fixed random matrix whose row i belongs to the node stored at position i (the
    # point of the ablation: an assignment that ignores the graph); relabelled nodes get
    # other rows.
    "random_diffpool": "fixed random S indexed by node position",
    "random_mincut": "fixed random S indexed by node position",
    "gmn_random": "fixed random head matrices indexed by node position",
    # Graclus on the complement graph: the complement's edges carry no weight (weight 1
    # each), so the matching always has ties, broken by node index.
    "complement_graclus": "unweighted complement graph: matching ties broken by node index",
    # MaxCutPool assigns each dropped node to the nearest kept node by hop distance, with a
    # vote among neighbours; hop distances are integers, so equal distances and equal votes
    # are common, and they go to the kept node with the smallest index.
    "maxcut": "nearest-supernode ties (integer hop distances) broken by node index",
    # EigenPool's second mode on a two-node cluster is (1, -1)/sqrt(2) up to sign: its two
    # entries tie in magnitude, so no rule on the entries fixes the sign, and node order does
    # (the partition itself is invariant; tests/test_eigenpool.py checks it, and checks the
    # whole pooler on clusters without such ties).
    "eigenpool": "sign of a two-node cluster's second eigenvector fixed by node order",
}
# Every other pooler must be invariant on a graph without ties.
PERMUTATION_INVARIANT = set(NAMES) - set(ORDER_DEPENDENT)


def _undirected(pairs, n):
    if not pairs:
        return torch.empty(2, 0, dtype=torch.long)
    ei = torch.tensor(pairs, dtype=torch.long).t()
    return torch.cat([ei, ei.flip(0)], 1)


def _graphs():
    star = [(0, i) for i in range(1, 6)]
    complete = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    return {
        "one_node": (1, []),
        "edgeless": (5, []),
        "isolated_node": (5, [(0, 1), (1, 2), (2, 3)]),
        "star": (6, star),
        "complete": (5, complete),
        "two_components": (6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]),
    }


GRAPHS = _graphs()


def _build(name, seed=0):
    torch.manual_seed(seed)
    pool = example_pooler(name, in_channels=F_IN, k=K, edge_channels=EDGE_CH, max_nodes=MAX_NODES)
    return pool.eval()


def _inputs(pool, n, edge_index, seed=0, weights=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, F_IN, generator=g)
    kw = {}
    if pool.needs_edge_attr:
        kw["edge_attr"] = torch.randn(edge_index.size(1), EDGE_CH, generator=g)
    if weights is not None:
        kw["edge_weight"] = weights
    return x, kw


def _per_graph(out, num_graphs):
    """Pooled features of each graph (padding removed), in the pooler's order."""
    if out.x.dim() == 3:
        return [out.x[b][out.mask[b]] for b in range(num_graphs)]
    batch = out.batch if out.batch is not None else torch.zeros(out.x.size(0), dtype=torch.long)
    return [out.x[batch == b] for b in range(num_graphs)]


def _readout(out):
    """A sum readout over the supernodes, ``[Σ_k x'_k, Σ_k x'_k²]``. The squares matter: the
    plain sum of a row-stochastic ``S`` is ``Σ_i x_i`` whatever ``S`` is, which would make
    the test blind to how nodes are grouped."""
    x = out.x if out.x.dim() == 2 else out.x[out.mask]
    return torch.cat([x.sum(0), x.pow(2).sum(0)])


# --------------------------------------------------------------------------- classification
def test_every_pooler_is_classified():
    """The exemption list names only registered poolers, and the test below covers the rest."""
    assert set(ORDER_DEPENDENT) <= set(NAMES), set(ORDER_DEPENDENT) - set(NAMES)
    assert PERMUTATION_INVARIANT | set(ORDER_DEPENDENT) == set(NAMES)
    assert len(NAMES) >= 19  # the registry is really populated (the family modules imported)


# --------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_finite_on_awkward_graphs(name, graph):
    n, pairs = GRAPHS[graph]
    ei = _undirected(pairs, n)
    pool = _build(name)
    x, kw = _inputs(pool, n, ei)
    x.requires_grad_(True)
    if "edge_attr" in kw:
        kw["edge_attr"].requires_grad_(True)
    out = pool(x, ei, **kw)
    assert torch.isfinite(out.x).all(), f"{name} on {graph}: pooled x not finite"
    for key, val in out.losses.items():
        assert torch.isfinite(val).all(), f"{name} on {graph}: loss {key} = {val}"
    for field in ("adj", "edge_weight", "edge_attr"):
        val = getattr(out, field)
        if val is not None:
            assert torch.isfinite(val).all(), f"{name} on {graph}: {field} not finite"
    total = out.x.sum() + out.loss
    if out.adj is not None:
        total = total + out.adj.sum()
    if out.edge_weight is not None and out.edge_weight.requires_grad:
        total = total + out.edge_weight.sum()
    if out.edge_attr is not None:
        total = total + out.edge_attr.sum()
    if not total.requires_grad:
        pytest.fail(f"{name} on {graph}: nothing to differentiate (no gradient reaches x)")
    total.backward()
    grads = [x.grad] + [p.grad for p in pool.parameters()] + ([kw["edge_attr"].grad] if "edge_attr" in kw else [])
    for gr in grads:
        if gr is not None:
            assert torch.isfinite(gr).all(), f"{name} on {graph}: gradient not finite"
    assert x.grad is not None, f"{name} on {graph}: no gradient reaches x"


# --------------------------------------------------------------------------- batch vs one by one
def _batch_graphs():
    sizes_pairs = [
        (6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)]),
        (4, [(0, 1), (1, 2), (2, 3)]),
        (7, [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 4)]),
        (1, []),
    ]
    return [(n, _undirected(p, n)) for n, p in sizes_pairs]


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_one_by_one(name):
    pool = _build(name)
    graphs = _batch_graphs()
    xs, eis, eas, batch, off = [], [], [], [], 0
    for gi, (n, ei) in enumerate(graphs):
        x, kw = _inputs(pool, n, ei, seed=gi)
        xs.append(x)
        eis.append(ei + off)
        if "edge_attr" in kw:
            eas.append(kw["edge_attr"])
        batch.append(torch.full((n,), gi, dtype=torch.long))
        off += n
    kw = {"edge_attr": torch.cat(eas)} if eas else {}
    with torch.no_grad():
        out = pool(torch.cat(xs), torch.cat(eis, 1), batch=torch.cat(batch), **kw)
        together = _per_graph(out, len(graphs))
        singles, losses = [], {}
        for gi, (n, ei) in enumerate(graphs):
            kw1 = {"edge_attr": eas[gi]} if eas else {}
            o = pool(xs[gi], ei, **kw1)
            singles.append(_per_graph(o, 1)[0])
            for key, val in o.losses.items():
                losses.setdefault(key, []).append(val)
    for gi, (a, b) in enumerate(zip(together, singles)):
        assert a.shape == b.shape, f"{name}: graph {gi} pooled to {tuple(a.shape)} in a batch, {tuple(b.shape)} alone"
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), f"{name}: graph {gi} differs in a batch"
    assert set(out.losses) == set(losses)
    for key, vals in losses.items():
        mean = torch.stack(vals).mean()
        assert torch.allclose(out.losses[key], mean, atol=1e-5, rtol=1e-4), (
            f"{name}: batched loss {key} = {float(out.losses[key]):.6f}, mean of one-by-one = {float(mean):.6f}")


# --------------------------------------------------------------------------- permutations
def _tie_free_graph(seed=0):
    """A connected 9-node graph with distinct edge weights (no ties for matchings, MIS, cuts)."""
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (0, 4), (2, 6), (1, 7), (3, 8)]
    ei = _undirected(pairs, 9)
    g = torch.Generator().manual_seed(seed)
    w = 0.5 + torch.randperm(len(pairs), generator=g).double() / len(pairs)
    return 9, ei, torch.cat([w, w]).float()


@pytest.mark.parametrize("name", sorted(PERMUTATION_INVARIANT))
def test_sum_readout_invariant_to_node_permutations(name):
    n, ei, w = _tie_free_graph()
    pool = _build(name)
    x, kw = _inputs(pool, n, ei, weights=w)
    with torch.no_grad():
        ref = _readout(pool(x, ei, **kw))
        for seed in range(3):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(100 + seed))
            inv = torch.empty_like(perm)
            inv[perm] = torch.arange(n)   # node i is stored at position inv[i]
            kwp = dict(kw)
            got = _readout(pool(x[perm], inv[ei], **kwp))
            assert torch.allclose(got, ref, atol=1e-4, rtol=1e-4), f"{name}: readout changed under permutation {perm.tolist()}"


def _supernodes(out):
    """The pooled feature rows as a multiset (sorted), independent of the supernode order."""
    x = out.x if out.x.dim() == 2 else out.x[out.mask]
    return x[torch.argsort(x.sum(1))]


def test_order_dependent_poolers_really_depend_on_order():
    """The exemptions are real: relabelling the nodes changes what each exempt pooler outputs
    (its set of supernode features) for at least one of five relabellings, so no invariant
    pooler hides in the list. (One relabelling can leave the order of the tied nodes as it
    was, and then the output with it.)"""
    n, ei, w = _tie_free_graph()
    for name in ORDER_DEPENDENT:
        pool = _build(name)
        x, kw = _inputs(pool, n, ei, weights=w)
        changed = False
        for seed in range(7, 12):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            inv = torch.empty_like(perm)
            inv[perm] = torch.arange(n)
            with torch.no_grad():
                a, b = _supernodes(pool(x, ei, **kw)), _supernodes(pool(x[perm], inv[ei], **kw))
            changed = changed or a.shape != b.shape or not torch.allclose(a, b, atol=1e-5)
        assert changed, f"{name} is listed as order-dependent but gives the same supernodes after five permutations"


# --------------------------------------------------------------------------- bad input
def _bad_inputs(pool):
    n = 5
    ei = _undirected([(0, 1), (1, 2), (2, 3), (3, 4)], n)
    x, kw = _inputs(pool, n, ei)
    cases = {
        "x 1-D": dict(x=x[:, 0]),
        "x holds NaN": dict(x=x.index_put((torch.tensor([2]), torch.tensor([1])), torch.tensor(float("nan")))),
        "x holds inf": dict(x=x.index_put((torch.tensor([4]), torch.tensor([0])), torch.tensor(float("-inf")))),
        "edge_index shape": dict(edge_index=ei[0]),
        "edge_index 3 rows": dict(edge_index=torch.cat([ei, ei[:1]])),
        "edge_index out of range": dict(edge_index=torch.cat([ei, torch.tensor([[0], [n]])], 1)),
        "edge_index negative": dict(edge_index=torch.cat([ei, torch.tensor([[0], [-1]])], 1)),
        "edge_index float": dict(edge_index=ei.float()),
        "batch length": dict(batch=torch.zeros(n - 1, dtype=torch.long)),
        "batch unsorted": dict(batch=torch.tensor([1, 0, 0, 0, 0])),
        "batch negative": dict(batch=torch.tensor([-1, 0, 0, 0, 0])),
        "edge_weight shape": dict(edge_weight=torch.ones(ei.size(1) + 1)),
        "edge_weight 2-D": dict(edge_weight=torch.ones(ei.size(1), 1)),
    }
    # arguments the pooler was built with fix what the input must look like
    built = type(pool).example_kwargs(F_IN, k=K, edge_channels=EDGE_CH, max_nodes=MAX_NODES)
    if "in_channels" in built:
        cases["x wrong feature count"] = dict(x=torch.randn(n, F_IN + 1))
    if pool.needs_edge_attr:
        cases["edge_attr missing"] = dict(edge_attr=None)
        cases["edge_attr rows"] = dict(edge_attr=torch.randn(ei.size(1) + 1, EDGE_CH))
    if "edge_channels" in built:
        cases["edge_attr channels"] = dict(edge_attr=torch.randn(ei.size(1), EDGE_CH + 1))
    if "max_nodes" in built:
        big = MAX_NODES + 3
        cases["more nodes than max_nodes"] = dict(x=torch.randn(big, F_IN), edge_index=_undirected([(0, 1)], big),
                                                  edge_attr=kw.get("edge_attr"))
    base = dict(x=x, edge_index=ei, **kw)
    return {label: {**base, **change} for label, change in cases.items()}


@pytest.mark.parametrize("name", NAMES)
def test_malformed_input_raises_value_error(name):
    pool = _build(name)
    for label, args in _bad_inputs(pool).items():
        if args.get("edge_attr") is None:
            args.pop("edge_attr", None)
        with pytest.raises(ValueError):
            pool(**args)
            pytest.fail(f"{name}: {label} was accepted")


def _bad_constructor_values(key, value):
    """Out-of-range replacements for one constructor argument of ``example_kwargs``."""
    if key == "seed" or isinstance(value, (bool, str)) or value is None:
        return []
    if key == "ratio":
        return [0, -0.5, 1.5, float("nan")]
    if isinstance(value, int):
        return [0, -2, 2.5]
    if isinstance(value, float):
        return [float("nan"), -1.0] if value > 0 else []
    return []


@pytest.mark.parametrize("name", NAMES)
def test_out_of_range_constructor_arguments_raise_value_error(name):
    cls = type(_build(name))
    kwargs = cls.example_kwargs(F_IN, k=K, edge_channels=EDGE_CH, max_nodes=MAX_NODES)
    tried = 0
    for key, value in kwargs.items():
        for bad in _bad_constructor_values(key, value):
            tried += 1
            with pytest.raises(ValueError):
                cls(**{**kwargs, key: bad})
                pytest.fail(f"{name}: {key}={bad!r} was accepted")
    if name in ("topk", "sag"):
        assert tried > 0
