"""NMF pooling (poolkit/poolers/nmf.py): cliques recovered, equivariance, batches, edge cases, peers."""
import pytest
import torch

import poolkit
from poolkit.poolers import nmf as nmf_module
from poolkit.nmf import NMFPool, nmf, nmf_assignment
from poolkit.soft import normalize_pooled_adj, to_dense_inputs

from peers import tgp_poolers
from test_soft import block_graph, random_batch


def grouping(s):
    """``M = S Sᵀ``: which nodes share a supernode, whatever the column order."""
    return s @ s.t()


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["nmf"]
    assert info["class"] == "NMFPool" and info["dense"] and info["precomputable"]
    assert not info["trainable"] and not info["aux_loss"]
    assert isinstance(poolkit.get_pooler("nmf", k=2), NMFPool)


@pytest.mark.parametrize("sizes", [[4, 4], [3, 5], [2, 3, 4]])
@pytest.mark.parametrize("self_loops", [False, True])
def test_disjoint_cliques_are_recovered_as_clusters(sizes, self_loops):
    a, truth = block_graph(sizes, self_loops)
    s = nmf_assignment(a, len(sizes))
    assert torch.allclose(grouping(s), grouping(truth), atol=1e-3), s
    assert torch.allclose(s.sum(1), torch.ones(len(s)), atol=1e-6)
    w, h = nmf(a, len(sizes), max_iter=2000, tol=0)
    assert torch.allclose(w.norm(dim=0), h.norm(dim=1), atol=1e-9)  # the scale is balanced
    if self_loops:  # all-ones blocks: A = W H exactly, with W and Hᵀ the clique indicators
        assert torch.allclose(w @ h, a.double(), atol=1e-5)


def test_pooled_graph_of_two_cliques_joined_by_a_bridge():
    a, truth = block_graph([4, 4])
    a[3, 4] = a[4, 3] = 1.0
    x = torch.randn(8, 3)
    out = NMFPool(2, normalize_adj=False)(x.unsqueeze(0), a.unsqueeze(0))
    s = out.so.s[0]
    hard = torch.nn.functional.one_hot(s.argmax(1), 2).float()
    assert torch.equal(grouping(hard), grouping(truth))
    inner = [0, 1, 2, 5, 6, 7]
    assert torch.allclose(s[inner], hard[inner], atol=1e-3)  # crisp away from the bridge
    assert ((s[[3, 4]].max(1).values > 0.6) & (s[[3, 4]].max(1).values < 0.95)).all()  # the bridge's ends are shared
    assert torch.allclose(out.x[0], s.t() @ x, atol=1e-5)
    assert torch.allclose(out.adj[0], s.t() @ a @ s, atol=1e-5)
    normed = NMFPool(2)(x.unsqueeze(0), a.unsqueeze(0)).adj[0]
    assert torch.allclose(normed, normalize_pooled_adj((s.t() @ a @ s).unsqueeze(0))[0], atol=1e-5)
    assert normed[0, 0] == 0 and normed[0, 1] > 0


def test_permutation_equivariance():
    torch.manual_seed(1)
    x, ei, _ = random_batch([12], f=3, p=0.35, seed=3)
    perm = torch.randperm(12)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(12)
    pool = NMFPool(3)
    s = pool(x, ei).so.s[0]
    sp = pool(x[perm], inv[ei]).so.s[0]
    assert torch.allclose(grouping(sp), grouping(s)[perm][:, perm], atol=1e-5)


def test_batch_equals_one_by_one_with_a_graph_smaller_than_k():
    x, ei, batch = random_batch([7, 2, 9, 5], f=3, p=0.5, seed=4)
    pool = NMFPool(3)
    out = pool(x, ei, batch)
    for g in range(4):
        m = batch == g
        idx = m.nonzero().view(-1)
        one = pool(x[m], ei[:, m[ei[0]]] - idx[0])
        n = int(m.sum())
        assert torch.equal(out.mask[g], one.mask[0])
        assert torch.allclose(out.so.s[g, :n], one.so.s[0], atol=1e-6)
        assert torch.allclose(out.x[g], one.x[0], atol=1e-5) and torch.allclose(out.adj[g], one.adj[0], atol=1e-5)
    assert out.mask[1].tolist() == [True, True, False]  # 2 nodes: each its own supernode
    assert torch.equal(out.so.s[1, :2, :2], torch.eye(2))


def test_edge_cases_give_no_nan():
    pool = NMFPool(2)
    # no edges: every node spread evenly
    x = torch.randn(4, 3, requires_grad=True)
    out = pool(x, torch.empty(2, 0, dtype=torch.long))
    assert torch.allclose(out.so.s[0], torch.full((4, 2), 0.5))
    out.x.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(out.adj).all()
    # one node: its own supernode
    one = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long))
    assert torch.equal(one.so.s[0], torch.tensor([[1.0, 0.0]])) and one.mask.tolist() == [[True, False]]
    # an isolated node next to two cliques (with self-loops): uniform row, the others crisp
    a, _ = block_graph([3, 2, 1], self_loops=True)
    a[5, 5] = 0
    s = pool(torch.randn(6, 3), a.nonzero().t()).so.s[0]
    assert torch.allclose(s[5], torch.full((2,), 0.5)) and torch.isfinite(s).all()
    assert torch.allclose(grouping(s[:5]), grouping(torch.tensor([[1.0, 0]] * 3 + [[0, 1.0]] * 2)), atol=1e-3)


def test_bad_input_names_the_argument():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            NMFPool(bad)
    with pytest.raises(ValueError, match="max_iter"):
        NMFPool(2, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        NMFPool(2, tol=-1.0)
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="edge_weight"):
        NMFPool(2)(torch.randn(3, 2), ei, edge_weight=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="adj"):
        NMFPool(2)(torch.randn(1, 3, 2), -torch.ones(1, 3, 3))
    with pytest.raises(ValueError, match="edge_index"):
        NMFPool(2)(torch.randn(3, 2), torch.tensor([[0, 5], [5, 0]]))


def test_factorisation_agrees_with_scikit_learn():
    # The same algorithm (NNDSVDa start, Frobenius multiplicative updates) as scikit-learn's
    # solver="mu": the same product WH. Self-loops of weight 3 keep the leading eigenvalues
    # positive, where NNDSVD's sign rule has no ties to break.
    decomposition = pytest.importorskip("sklearn.decomposition")
    x, ei, _ = random_batch([10], f=1, p=0.3, seed=5)
    _, a, _ = to_dense_inputs(x, ei)
    a = a[0].double() + 3 * torch.eye(10, dtype=torch.float64)
    w, h = nmf(a, 3, max_iter=3000, tol=0)
    w2, h2, _ = decomposition.non_negative_factorization(a.numpy(), n_components=3, init="nndsvda", solver="mu",
                                                        max_iter=3000, tol=0)
    diff = (w @ h - torch.from_numpy(w2 @ h2)).abs().max().item()
    assert diff < 1e-4, diff


def _tgp_nmf(P, x, ei, batch, k):
    torch.manual_seed(0)
    import numpy as np

    np.random.seed(0)  # tgp starts scikit-learn's NMF from a random point
    return P.NMFPooling(k=k)(x, ei, batch=batch)


def test_agrees_with_tgp_where_the_formulas_agree(monkeypatch):
    # Reduce and Connect agree: fed tgp's S, ours gives tgp's pooled features and (diagonal
    # removed, symmetrically normalised) pooled adjacency.
    P = tgp_poolers()
    x, ei, batch = random_batch([6, 9, 7], f=3, p=0.5, seed=6)
    ref = _tgp_nmf(P, x, ei, batch, 3)
    s_tgp = ref.so.s if ref.so.s.dim() == 2 else ref.so.s.reshape(-1, ref.so.s.size(-1))
    rows = iter([s_tgp[batch == g] for g in range(3)])
    monkeypatch.setattr(nmf_module, "nmf_assignment", lambda a, k, *args: next(rows))
    out = NMFPool(3)(x, ei, batch)
    dx = (out.x - ref.x.view_as(out.x)).abs().max().item()
    da = (out.adj - ref.edge_index.view_as(out.adj)).abs().max().item()
    assert dx < 1e-5 and da < 1e-5, (dx, da)


def test_same_clusters_as_tgp_but_crisp_rows():
    # Both find the two cliques. tgp's S is softmax(Hᵀ), which depends on the arbitrary
    # scale of H and is never one-hot; ours divides H's columns by their sums (module
    # docstring), which gives one-hot rows on disjoint cliques.
    P = tgp_poolers()
    a, truth = block_graph([4, 4])
    ei = a.nonzero().t()
    x = torch.randn(8, 3)
    ref = _tgp_nmf(P, x, ei, None, 2).so.s.reshape(8, 2)
    ours = NMFPool(2)(x, ei).so.s[0]
    hard = torch.nn.functional.one_hot(ref.argmax(1), 2).float()
    assert torch.equal(grouping(hard), grouping(truth)) and torch.allclose(grouping(ours), grouping(truth), atol=1e-4)
    assert ref.max() < 0.99
