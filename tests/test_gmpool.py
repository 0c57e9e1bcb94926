"""GMPool / NGMPool: square roots of grouping matrices, the stable backward, batching."""
import pytest
import torch
from torch_geometric.utils import to_dense_adj

import poolkit
from poolkit.gmpool import (
    GMPool,
    NGMPool,
    StableEigh,
    effective_rank,
    eigh_sqrt,
    grouping_matrix,
    newton_schulz_sqrt,
    psd_sqrt_newton_schulz,
    stable_eigh,
)


def block_ones(sizes, dtype=torch.float64):
    return torch.block_diag(*[torch.ones(k, k, dtype=dtype) for k in sizes])


def random_psd(n, rank, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(n, rank, generator=g, dtype=torch.float64)
    return z @ z.T


def ring(n, offset=0):
    i = torch.arange(n)
    j = (i + 1) % n
    return torch.stack([torch.cat([i, j]), torch.cat([j, i])]) + offset


def test_registry():
    assert {"gmpool", "ngmpool"} <= set(poolkit.list_poolers())
    p = poolkit.get_pooler("gmpool", in_channels=4)
    assert isinstance(p, GMPool) and p.is_dense and p.is_trainable and not p.has_aux_loss
    assert isinstance(poolkit.get_pooler("ngmpool", in_channels=4), NGMPool)


@pytest.mark.parametrize("m", [block_ones([3, 2, 4]), random_psd(7, 3), random_psd(6, 6, seed=1)])
def test_eigh_root_reconstructs_m(m):
    s, lam = eigh_sqrt(m[None])
    assert torch.allclose(s[0] @ s[0].T, m, atol=1e-10)
    assert bool((lam[0, :-1] >= lam[0, 1:] - 1e-12).all())  # decreasing
    assert bool((s[0].sum(0) >= -1e-12).all())  # sign convention


@pytest.mark.parametrize("m", [block_ones([3, 2, 4]), random_psd(7, 7, seed=2) + torch.eye(7, dtype=torch.float64)])
def test_newton_schulz_root(m):
    r = newton_schulz_sqrt(m[None], num_iters=30)[0]
    assert torch.allclose(r, r.T, atol=1e-8)
    assert torch.allclose(r @ r, m, atol=1e-6)
    # equals the symmetric eigen root O sqrt(L) O^T
    lam, o = torch.linalg.eigh(m)
    ref = o @ torch.diag(lam.clamp(min=0).sqrt()) @ o.T
    assert torch.allclose(r, ref, atol=1e-5)


def test_psd_part_newton_schulz_clips_negative_eigenvalues():
    m = torch.tensor([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]], dtype=torch.float64)
    lam, o = torch.linalg.eigh(m)
    assert lam.min() < 0  # a sigmoid grouping matrix need not be PSD
    m_plus = o @ torch.diag(lam.clamp(min=0)) @ o.T
    r = psd_sqrt_newton_schulz(m[None], num_iters=40)[0]
    assert torch.isfinite(r).all()
    assert torch.allclose(r @ r, m_plus, atol=1e-3)
    s, _ = eigh_sqrt(m[None])
    assert torch.allclose(s[0] @ s[0].T, m_plus, atol=1e-10)


@pytest.mark.parametrize("sizes", [[3, 2, 4], [2, 2, 2], [1, 5]])
def test_block_diagonal_rank_and_groups(sizes):
    n = sum(sizes)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))[perm]
    m = (labels[:, None] == labels[None, :]).double()
    s, lam = eigh_sqrt(m[None])
    rank = int((lam[0] > 1e-2 * lam[0, 0]).sum())
    assert rank == len(sizes)
    assert abs(float(effective_rank(lam)[0]) - len(sizes)) < 1e-6 or len(set(sizes)) > 1
    s = s[0, :, :rank]
    # rows of one group are identical, rows of different groups are orthogonal
    for i in range(n):
        for j in range(n):
            if labels[i] == labels[j]:
                assert torch.allclose(s[i], s[j], atol=1e-8)
            else:
                assert abs(float(s[i] @ s[j])) < 1e-8
    if len(set(sizes)) == len(sizes):  # distinct eigenvalues: columns are the group indicators
        ind = torch.stack([(labels == g).double() for g in range(len(sizes))], 1)
        match = (s.T @ ind).abs()
        assert torch.allclose(match.max(1).values, torch.tensor(sizes, dtype=torch.float64)[match.argmax(1)])
        assert torch.allclose(s.abs().sum(1), torch.ones(n, dtype=torch.float64))


def test_stable_eigh_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 5, dtype=torch.float64, generator=g)

    def f(x):
        x = 0.5 * (x + x.T)
        lam, vec = stable_eigh(x)
        vec = vec * torch.sign(vec[:1])  # fix eigenvector signs so the output is a function
        return lam, vec

    assert torch.autograd.gradcheck(f, (a.requires_grad_(),))

    def root(x):
        x = x @ x.T + 0.1 * torch.eye(5, dtype=x.dtype)
        s, _ = eigh_sqrt(x[None])
        return s @ s.transpose(1, 2), s.sum(1)

    assert torch.autograd.gradcheck(root, (torch.randn(5, 5, dtype=torch.float64, generator=g).requires_grad_(),))


def test_stable_eigh_matches_torch_on_distinct_eigenvalues():
    a = torch.randn(6, 6, dtype=torch.float64)
    a = a + a.T
    w = torch.randn(6, 6, dtype=torch.float64)
    grads = []
    for fn in (torch.linalg.eigh, stable_eigh):
        x = a.clone().requires_grad_()
        lam, vec = fn(x)
        ((vec * torch.sign(vec[:1])) * w).sum().add(lam.pow(2).sum()).backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-8)


def test_finite_gradients_with_repeated_eigenvalues():
    m = block_ones([2, 2, 2, 3])  # eigenvalue 2 three times, 0 five times
    x = m.clone().requires_grad_()
    lam, vec = torch.linalg.eigh(x)
    (vec[:, -4:].sum() ** 2).backward()
    naive = x.grad
    x = m.clone().requires_grad_()
    s, _ = eigh_sqrt(x[None])
    (s.sum() ** 2 + (s @ s.transpose(1, 2)).pow(2).sum()).backward()
    assert not torch.isfinite(naive).all() or naive.abs().max() > 1e6  # the failure the paper reports
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() < 1e3


def test_grouping_matrix_properties_and_permutation():
    torch.manual_seed(0)
    pool = GMPool(6)
    h = torch.randn(1, 7, 6)
    m = pool.grouping(h)
    assert torch.allclose(m, m.transpose(1, 2))
    assert torch.allclose(torch.diagonal(m, dim1=1, dim2=2), torch.ones(1, 7))
    assert bool(((m >= 0) & (m <= 1)).all())
    perm = torch.randperm(7)
    m2 = pool.grouping(h[:, perm])
    assert torch.allclose(m2, m[:, perm][:, :, perm], atol=1e-6)


@pytest.mark.parametrize("name,kw", [("gmpool", {}), ("gmpool", {"decomposition": "taylor"}), ("ngmpool", {})])
def test_pooled_readout_is_permutation_invariant(name, kw):
    torch.manual_seed(1)
    pool = poolkit.get_pooler(name, in_channels=5, **kw).double()
    n = 8
    x = torch.randn(n, 5, dtype=torch.float64)
    ei = ring(n)
    ea = torch.randn(ei.size(1), 2, dtype=torch.float64)
    out = pool(x, ei, edge_attr=ea)
    perm = torch.randperm(n)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    out2 = pool(x[perm], inv[ei], edge_attr=ea)
    read = lambda o: torch.cat([torch.relu(o.x).sum(1), o.adj.sum((1, 2))[:, None], o.edge_attr.sum((1, 2))], -1)
    assert torch.allclose(read(out), read(out2), atol=1e-7)
    if name == "ngmpool":  # node-level output is permutation equivariant
        assert torch.allclose(out2.x[0], out.x[0][perm], atol=1e-8)


@pytest.mark.parametrize("name,kw", [("gmpool", {}), ("gmpool", {"k": 2}), ("gmpool", {"decomposition": "taylor"}), ("ngmpool", {})])
def test_batch_equals_one_by_one(name, kw):
    torch.manual_seed(2)
    pool = poolkit.get_pooler(name, in_channels=4, **kw).double()
    sizes = [5, 3, 7]
    xs = [torch.randn(n, 4, dtype=torch.float64) for n in sizes]
    eis = [ring(n) for n in sizes]
    eas = [torch.rand(e.size(1), 3, dtype=torch.float64) for e in eis]
    offs = [0, 5, 8]
    x = torch.cat(xs)
    ei = torch.cat([e + o for e, o in zip(eis, offs)], 1)
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    out = pool(x, ei, batch, edge_attr=torch.cat(eas))
    for g in range(3):
        one = pool(xs[g], eis[g], edge_attr=eas[g])
        k = int(one.mask.sum())
        assert int(out.mask[g].sum()) == k
        read_b = torch.relu(out.x[g][out.mask[g]]).sum(0)
        read_1 = torch.relu(one.x[0][one.mask[0]]).sum(0)
        assert torch.allclose(read_b, read_1, atol=1e-7)
        cm = out.mask[g]
        assert torch.allclose(out.adj[g][cm][:, cm].sum(), one.adj[0].sum(), atol=1e-7)
        assert torch.allclose(out.edge_attr[g][cm][:, cm].sum((0, 1)), one.edge_attr[0].sum((0, 1)), atol=1e-7)
        s_b = out.so.assignment(g)
        s_1 = one.so.assignment(0)
        assert torch.allclose(s_b @ s_b.T, s_1 @ s_1.T, atol=1e-7)


def test_pooling_formulas_and_forced_k():
    torch.manual_seed(3)
    pool = GMPool(4).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    ei = ring(6)
    out = pool(x, ei)
    s = out.so.s[0]
    a = to_dense_adj(ei, max_num_nodes=6)[0].double()
    assert torch.allclose(out.x[0], s.T @ x)
    assert torch.allclose(out.adj[0], s.T @ a @ s)
    m = out.so.extra["M"][0]
    lam = torch.linalg.eigvalsh(m)
    assert torch.allclose(s @ s.T, m - (torch.linalg.eigh(m)[1] * lam.clamp(max=0)) @ torch.linalg.eigh(m)[1].T, atol=1e-8)
    forced = GMPool(4, k=2).double()
    forced.load_state_dict(pool.state_dict())
    o2 = forced(x, ei)
    assert o2.x.shape == (1, 2, 4) and torch.allclose(o2.so.s[0], s[:, :2])
    ng = NGMPool(4).double()
    ng.load_state_dict(pool.state_dict())
    o3 = ng(x, ei)
    assert torch.allclose(o3.x[0], m @ x) and torch.allclose(o3.adj[0], m @ a @ m)


def test_dense_input_matches_pyg_input():
    torch.manual_seed(4)
    pool = GMPool(3).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    ei = ring(5)
    a = to_dense_adj(ei).double()
    o1 = pool(x, ei)
    o2 = pool(x[None], adj=a)
    assert torch.allclose(o1.x, o2.x) and torch.allclose(o1.adj, o2.adj)


def test_edge_cases_no_nan():
    pool = GMPool(3)
    for x, ei in [
        (torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long)),  # one node
        (torch.randn(4, 3), torch.empty(2, 0, dtype=torch.long)),  # no edges
        (torch.zeros(4, 3), ring(3)),  # isolated node, identical features
    ]:
        x = x.requires_grad_()
        for p in (pool, NGMPool(3), GMPool(3, decomposition="taylor")):
            out = p(x, ei)
            assert torch.isfinite(out.x).all() and torch.isfinite(out.adj).all()
            out.x.sum().backward()
            assert torch.isfinite(x.grad).all()
            x.grad = None


def test_bad_input():
    with pytest.raises(ValueError, match="decomposition"):
        GMPool(4, decomposition="svd")
    with pytest.raises(ValueError, match="k"):
        GMPool(4, k=0)
    with pytest.raises(ValueError, match="k"):
        GMPool(4, k=2, decomposition="newton_schulz")
    with pytest.raises(ValueError, match="in_channels"):
        GMPool(0)
    with pytest.raises(ValueError, match="rank_tol"):
        GMPool(4, rank_tol=1.5)
    pool = GMPool(4)
    with pytest.raises(ValueError, match="edge_index"):
        pool(torch.randn(3, 4), torch.tensor([[0, 5], [1, 0]]))
    with pytest.raises(ValueError, match="x must have shape"):
        pool(torch.randn(3, 5), ring(3))
    with pytest.raises(ValueError, match="adj"):
        pool(torch.randn(1, 3, 4))
    with pytest.raises(ValueError, match="batch"):
        pool(torch.randn(3, 4), ring(3), batch=torch.tensor([0, 1]))


def test_taylor_root():
    from poolkit.gmpool import taylor_sqrt

    m = random_psd(6, 6, seed=5) + 2 * torch.eye(6, dtype=torch.float64)  # well conditioned
    lam, o = torch.linalg.eigh(m)
    ref = o @ torch.diag(lam.sqrt()) @ o.T
    assert torch.allclose(taylor_sqrt(m[None], degree=80)[0], ref, atol=1e-4)
    b = block_ones([3, 2, 4])  # singular: converges slowly but stays finite and improves with the degree
    errs = [float((taylor_sqrt(b[None], d)[0].matrix_power(2) - b).norm() / b.norm()) for d in (10, 40, 160)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.05


# --------------------------------------------------------------------------- faithful default
def _random_batch(sizes, f, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    n = max(sizes)
    h = torch.randn(len(sizes), n, f, generator=g, dtype=dtype)
    mask = torch.arange(n)[None] < torch.tensor(sizes)[:, None]
    return h, mask


def test_default_has_no_rank_threshold_and_s_st_equals_m_plus():
    pool = poolkit.get_pooler("gmpool", in_channels=6)
    assert pool.rank_tol is None and pool.k is None
    for seed in range(5):
        torch.manual_seed(seed)
        pool = poolkit.get_pooler("gmpool", in_channels=6).double()
        with torch.no_grad():  # spread the classifier so M has small and negative eigenvalues
            pool.grouping.lin.weight.mul_(4.0)
        sizes = [3, 9, 1, 6]
        h, mask = _random_batch(sizes, 6, seed)
        so = pool.select_dense(h, mask)
        m = so.extra["M"]
        for g, n in enumerate(sizes):
            lam, o = torch.linalg.eigh(m[g, :n, :n])
            m_plus = (o * lam.clamp(min=0)) @ o.T
            s = so.assignment(g)
            assert torch.allclose(s @ s.T, m_plus, atol=1e-12, rtol=0)
            # every positive eigen-direction is kept (numerical zero only)
            assert int(so.extra["num_clusters"][g]) == int((lam > n * torch.finfo(lam.dtype).eps * lam.abs().max()).sum())


def test_rank_tol_is_an_explicit_option_that_drops_directions():
    torch.manual_seed(0)
    base = GMPool(5).double()
    thr = GMPool(5, rank_tol=0.2).double()
    thr.load_state_dict(base.state_dict())
    h, mask = _random_batch([8, 6], 5, 1)
    a, b = base.select_dense(h, mask), thr.select_dense(h, mask)
    lam = a.extra["eigenvalues"]
    assert torch.equal(b.extra["num_clusters"], (lam > 0.2 * lam[:, :1]).sum(-1))
    assert bool((b.extra["num_clusters"] <= a.extra["num_clusters"]).all())
    assert bool((b.extra["num_clusters"] < a.extra["num_clusters"]).any())
    assert torch.allclose(a.extra["effective_rank"], b.extra["effective_rank"])  # the measure does not depend on it
    with pytest.raises(ValueError, match="rank_tol"):
        GMPool(4, rank_tol=True)


# --------------------------------------------------------------------------- fast grouping matrix
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_grouping_matrix_equals_reference_values_and_gradients(dtype, tol, seed):
    from poolkit.gmpool import grouping_matrix_reference

    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(1, 13, (6,), generator=g).tolist()
    h, mask = _random_batch(sizes, 7, seed, dtype)
    h[0, 1] = h[0, 0]  # identical embeddings: |h_i - h_j| has a zero, where sign(0) = 0 matters
    if seed == 2:  # a mask that is not a prefix, as a dense caller may pass
        mask = torch.rand(mask.shape, generator=g) < 0.6
        mask[:, 0] = True
    lin = torch.nn.Linear(7, 1).to(dtype)
    upstream = torch.randn(len(sizes), h.size(1), h.size(1), generator=g, dtype=dtype)
    grads = []
    for fn, kw in ((grouping_matrix, {"chunk": 5}), (grouping_matrix, {}), (grouping_matrix_reference, {})):
        hh = h.clone().requires_grad_()
        lin.zero_grad()
        m = fn(hh, lin, mask, **kw)
        (m * upstream).sum().backward()
        grads.append((m.detach(), hh.grad, lin.weight.grad.clone(), lin.bias.grad.clone()))
    for fast in grads[:2]:
        for a, b in zip(fast, grads[2]):
            assert torch.allclose(a, b, atol=tol, rtol=tol)


def test_pair_l1_gradcheck():
    from poolkit.gmpool import PairL1, within_graph_pairs

    g = torch.Generator().manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    i, j = within_graph_pairs(mask)
    assert i.numel() == 6 + 1 + 10 and bool((i < j).all())
    assert bool((i // 5 == j // 5).all())  # never across graphs
    h = torch.randn(15, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: PairL1.apply(a, b, i, j, 3), (h, w))


def test_within_graph_pairs_counts():
    from poolkit.gmpool import within_graph_pairs

    sizes = [0, 1, 4, 7]
    mask = torch.arange(7)[None] < torch.tensor(sizes)[:, None]
    i, j = within_graph_pairs(mask)
    assert i.numel() == sum(n * (n - 1) // 2 for n in sizes)
    pairs = set(zip(i.tolist(), j.tolist()))
    want = {(b * 7 + a, b * 7 + c) for b, n in enumerate(sizes) for a in range(n) for c in range(a + 1, n)}
    assert pairs == want
