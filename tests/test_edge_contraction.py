"""Edge contraction pooling (poolkit/poolers/one_over_k/edge_contraction.py): vectorised greedy matching, PyG agreement."""
import pytest
import torch
from torch_geometric.nn import EdgePooling
from torch_geometric.utils import to_undirected

import poolkit
from poolkit import src
from poolkit.one_over_k import EdgeContractionPool, edge_contraction_cluster

from test_score import random_batch


def sequential_greedy(edge_index, score, n):
    """Reference: the sequential loop over edges sorted by score (ties: listed first)."""
    order = sorted(range(edge_index.size(1)), key=lambda e: (-float(score[e]), e))
    used, pairs = set(), []
    for e in order:
        a, b = int(edge_index[0, e]), int(edge_index[1, e])
        if a == b or a in used or b in used:
            continue
        used |= {a, b}
        pairs.append(frozenset((a, b)))
    return set(pairs)


def pairs_of(cluster):
    out = {}
    for i, c in enumerate(cluster.tolist()):
        out.setdefault(c, []).append(i)
    return {frozenset(v) for v in out.values() if len(v) == 2}


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["edge_contraction"]
    assert info["class"] == "EdgeContractionPool" and info["trainable"] and not info["dense"]
    assert isinstance(src.example_pooler("edge_contraction", in_channels=3), EdgeContractionPool)


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_matching_equals_the_sequential_greedy_loop(seed):
    g = torch.Generator().manual_seed(seed)
    n = 40
    ei = to_undirected(torch.randint(0, n, (2, 90), generator=g))
    score = torch.rand(ei.size(1), generator=g)
    if seed % 2:  # many ties: scores on a coarse grid
        score = (score * 4).floor()
    cluster, matched = edge_contraction_cluster(ei, score, n)
    assert pairs_of(cluster) == sequential_greedy(ei, score, n)
    # a matching (every node in at most one contracted edge) that is maximal
    m = ei[:, matched]
    assert m.flatten().unique().numel() == m.numel()
    single = torch.bincount(cluster, minlength=n)[cluster] == 1
    assert not bool((single[ei[0]] & single[ei[1]] & (ei[0] != ei[1])).any())


def test_a_path_with_increasing_scores_needs_many_rounds_and_is_still_exact():
    n = 12
    ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    score = torch.arange(n - 1, dtype=torch.float)  # best edge at the far end
    cluster, _ = edge_contraction_cluster(ei, score, n)
    assert pairs_of(cluster) == sequential_greedy(ei, score, n)
    assert pairs_of(cluster) == {frozenset((i, i + 1)) for i in range(n - 2, -1, -2)}


def _pair(f=5, **kw):
    torch.manual_seed(0)
    ours = EdgeContractionPool(f, **kw)
    ref = EdgePooling(f, **({} if not kw else {"edge_score_method": getattr(
        EdgePooling, f"compute_edge_score_{kw['edge_score']}")}))
    ref.lin.load_state_dict(ours.lin.state_dict())
    return ours, ref


@pytest.mark.parametrize("kw", [{}, {"edge_score": "tanh"}, {"edge_score": "sigmoid"}])
def test_matches_pyg_edge_pooling(kw):
    ours, ref = _pair(**kw)
    x, ei, batch, _ = random_batch([9, 14, 6], f=5, p=0.35)
    # A node with a single incoming edge gets softmax score exactly 1 (+ 0.5), so such edges
    # tie, and PyG's unstable argsort orders ties arbitrarily. A ring through every graph
    # gives each node at least two incoming edges, hence distinct scores.
    ring = [torch.stack([torch.arange(o, o + n), torch.roll(torch.arange(o, o + n), 1)]) for o, n in [(0, 9), (9, 14), (23, 6)]]
    ei = torch.unique(to_undirected(torch.cat([ei] + ring, 1)), dim=1)
    out = ours(x, ei, batch=batch)
    xr, eir, br, info = ref(x, ei, batch)
    cl, cr = out.so.cluster_index, info.cluster
    assert pairs_of(cl) == pairs_of(cr)
    to_ref = torch.empty(out.x.size(0), dtype=torch.long)
    to_ref[cl] = cr
    assert torch.allclose(out.x, xr[to_ref], atol=1e-6) and torch.equal(out.batch, br[to_ref])
    # PyG keeps contracted edges as self-loops and has no weights: compare the edge sets without them
    mine = {(int(to_ref[a]), int(to_ref[b])) for a, b in out.edge_index.t().tolist()}
    theirs = {(a, b) for a, b in eir.t().tolist() if a != b}
    assert mine == theirs
    out.x.sum().backward()
    xr.sum().backward()
    assert torch.allclose(ours.lin.weight.grad, ref.lin.weight.grad, atol=1e-5)
    # the unpooling of the paper, as PyG's unpool
    back = ours.lift(out.x.detach(), out.so)
    assert torch.allclose(back, ref.unpool(xr.detach(), info)[0], atol=1e-6)


def test_reduce_and_connect_equal_the_matrix_formulas():
    torch.manual_seed(3)
    pool = EdgeContractionPool(4)
    x, ei, _, _ = random_batch([11], f=4, p=0.4)
    ew = torch.rand(ei.size(1))
    out = pool(x, ei, edge_weight=ew)
    s = out.so.assignment(0)
    assert torch.allclose(out.x, s.t() @ x, atol=1e-6)
    assert torch.allclose(s.sum(0), out.so.extra["cluster_score"] * (s > 0).sum(0))
    c = (s > 0).float()
    a = torch.zeros(11, 11).index_put_((ei[0], ei[1]), ew, accumulate=True)
    ref = c.t() @ a @ c
    ref.fill_diagonal_(0)
    k = s.size(1)
    got = torch.zeros(k, k).index_put_((out.edge_index[0], out.edge_index[1]), out.edge_weight)
    assert torch.allclose(got, ref, atol=1e-6)
    assert out.so.extra["cluster_score"].min() >= 0.5


def test_batch_equals_graphs_one_by_one():
    torch.manual_seed(4)
    pool = EdgeContractionPool(5)
    sizes = [7, 12, 5]
    x, ei, batch, _ = random_batch(sizes, f=5)
    out = pool(x, ei, batch=batch)
    xs, off = [], 0
    for g, n in enumerate(sizes):
        m = batch == g
        o = pool(x[m], ei[:, m[ei[0]]] - off)
        xs.append(o.x)
        off += n
    assert torch.allclose(out.x, torch.cat(xs), atol=1e-6)


def test_self_loops_are_ignored_and_edgeless_graphs_keep_every_node():
    pool = EdgeContractionPool(3)
    x = torch.randn(4, 3)
    out = pool(x, torch.empty(2, 0, dtype=torch.long))
    assert torch.allclose(out.x, x) and out.edge_index.size(1) == 0
    ei = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 1, 2, 2]])  # a pair plus self-loops
    out = pool(torch.randn(3, 3), ei)
    assert pairs_of(out.so.cluster_index) == {frozenset((0, 1))} and out.x.size(0) == 2


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="edge_score"):
        EdgeContractionPool(3, edge_score="relu")
    with pytest.raises(ValueError, match="dropout"):
        EdgeContractionPool(3, dropout=-0.1)
    with pytest.raises(ValueError, match="in_channels"):
        EdgeContractionPool(3)(torch.randn(4, 2), torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="edge_index"):
        EdgeContractionPool(3)(torch.randn(4, 3), torch.tensor([[0, 9], [1, 0]]))
