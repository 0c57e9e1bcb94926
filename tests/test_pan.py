"""PANPool (poolkit/poolers/score/pan.py): the MET matrix, the paper's structural score, agreement with PyG."""
import math

import pytest
import torch
from torch_geometric.nn import PANPooling as PygPAN

import poolkit
from poolkit import src
from poolkit.score import PANPool, met_matrix
from poolkit.peer_compat import MetAsSparseTensor

from test_score import assert_pooled_like_pyg, random_batch


def _dense(index, value, n):
    return torch.zeros(n, n, dtype=value.dtype).index_put((index[0], index[1]), value, accumulate=True)


def _adjacency(ei, n, ew=None, dtype=torch.float64):
    ew = torch.ones(ei.size(1), dtype=dtype) if ew is None else ew
    return torch.zeros(n, n, dtype=dtype).index_put((ei[0], ei[1]), ew, accumulate=True)


def _undirected(pairs):
    ei = torch.tensor(pairs, dtype=torch.long).t()
    return torch.cat([ei, ei.flip(0)], 1)


def _set_weights(pool, w):
    """Give ``pool`` the path weights ``w`` (its energies are ``-log w``)."""
    with torch.no_grad():
        pool.energy.copy_(-torch.log(torch.as_tensor(w, dtype=pool.energy.dtype)))


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["pan"]
    assert info["class"] == "PANPool" and info["trainable"] and not info["dense"] and not info["aux_loss"]
    assert isinstance(src.example_pooler("pan", in_channels=3), PANPool)


# --------------------------------------------------------------------------- the MET matrix
@pytest.mark.parametrize("norm", ["sum", "count"])
def test_met_matrix_equals_the_dense_sum_of_weighted_powers(norm):
    """M = sum_n w_n A^n on a weighted directed multigraph; M~ = Z^-1/2 M Z^-1/2 with the
    partition function (row sums) or the non-zeros per row; diag(M)."""
    g = torch.Generator().manual_seed(0)
    n = 10
    ei = torch.randint(0, n, (2, 32), generator=g)
    ew = torch.rand(32, generator=g, dtype=torch.float64) + 0.1
    w = torch.tensor([0.7, 0.4, 0.2, 0.1], dtype=torch.float64)
    index, m, m_norm, diag = met_matrix(ei, n, w, ew, norm=norm)
    a = _adjacency(ei, n, ew)
    ref = sum(w[k] * torch.linalg.matrix_power(a, k) for k in range(4))
    assert torch.allclose(_dense(index, m, n), ref)
    assert torch.equal((_dense(index, m, n) != 0), ref != 0)   # the pattern: pairs joined by <= L steps
    assert torch.allclose(diag, ref.diagonal())
    z = ref.sum(1) if norm == "sum" else (ref != 0).sum(1).double()
    assert torch.allclose(_dense(index, m_norm, n), ref / torch.outer(z.sqrt(), z.sqrt()))


def test_met_gradients_by_gradcheck():
    g = torch.Generator().manual_seed(1)
    n = 7
    ei = torch.randint(0, n, (2, 16), generator=g)
    ew = (torch.rand(16, generator=g, dtype=torch.float64) + 0.2).requires_grad_()
    w = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64, requires_grad=True)
    for k in (1, 2, 3):
        assert torch.autograd.gradcheck(lambda w, ew: met_matrix(ei, n, w, ew)[k], (w, ew))


def test_closed_walk_counts_on_known_graphs():
    """(A^n)_ii counts closed walks: on K_5, A^2_ii = 4 and A^3_ii = 4 * 3; a tree has no
    closed walk of odd length, so the A^3 term is zero on trees and marks triangle nodes."""
    k5 = _undirected([(i, j) for i in range(5) for j in range(i + 1, 5)])
    for power, expected in [(2, 4.0), (3, 12.0)]:
        w = torch.zeros(4, dtype=torch.float64)
        w[power] = 1.0
        assert torch.allclose(met_matrix(k5, 5, w)[3], torch.full((5,), expected, dtype=torch.float64))
    # a path 0-1-2-3-4-5 with a triangle 5-6-7 hung at its end
    ei = _undirected([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 5)])
    only_cubes = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    diag = met_matrix(ei, 8, only_cubes)[3]
    assert torch.equal(diag[:5], torch.zeros(5, dtype=torch.float64))
    assert torch.equal(diag[5:], torch.full((3,), 2.0, dtype=torch.float64))


def test_structural_score_alone_keeps_the_triangle():
    """With beta = (0, 1) and the weight on A^3, PANPool keeps exactly the triangle nodes of
    a tree-plus-triangle graph, whatever the features."""
    ei = _undirected([(0, 1), (1, 2), (2, 3), (1, 4), (4, 5), (5, 6), (6, 7), (7, 5), (3, 8)])
    pool = PANPool(4, k=3)
    _set_weights(pool, [1e-6, 1e-6, 1e-6, 1.0])
    with torch.no_grad():
        pool.beta.copy_(torch.tensor([0.0, 1.0]))
    out = pool(torch.randn(9, 4), ei)
    assert sorted(out.so.kept.tolist()) == [5, 6, 7]


def test_isolated_nodes_and_edgeless_graphs_are_finite():
    pool = PANPool(3, ratio=0.5)
    for ei, n in [(torch.empty(2, 0, dtype=torch.long), 4), (_undirected([(0, 1)]), 3)]:
        x = torch.randn(n, 3, requires_grad=True)
        out = pool(x, ei)
        assert torch.isfinite(out.x).all() and torch.isfinite(out.edge_weight).all()
        (out.x.sum() + out.edge_weight.sum()).backward()
        assert all(torch.isfinite(p.grad).all() for p in pool.parameters())


def test_initial_weights_follow_pyg_and_the_authors():
    """p = 1, beta = (1/2, 1/2), and w_n = 2^-(n+1): the coefficients PyG's PANConv starts
    from (its weights 1/2, multiplied cumulatively)."""
    pool = PANPool(4, filter_size=3)
    assert torch.equal(pool.weight.data, torch.ones(4)) and torch.equal(pool.beta.data, torch.full((2,), 0.5))
    assert torch.allclose(pool.path_weights, torch.tensor([0.5, 0.25, 0.125, 0.0625]))


# --------------------------------------------------------------------------- PyG
def _pyg_met_formula(ei, n, pyg_weights):
    """PyG's PANConv, read as a formula: coefficients are cumulative products of its weights,
    Z counts the non-zeros per row, and its matrix is indexed (target, source)."""
    a_t = _adjacency(ei, n).t()
    coef = torch.cumprod(pyg_weights, 0)
    m = sum(coef[k] * torch.linalg.matrix_power(a_t, k) for k in range(len(pyg_weights)))
    z = (m != 0).sum(1).double()
    return m / torch.outer(z.sqrt(), z.sqrt())


def test_met_with_count_norm_and_cumulative_weights_equals_pygs_panconv_formula():
    x, ei, batch, _ = random_batch([6, 9], f=3)
    n = x.size(0)
    pyg_w = torch.tensor([0.5, 0.8, 0.3], dtype=torch.float64)
    index, _, m_norm, _ = met_matrix(ei, n, torch.cumprod(pyg_w, 0), norm="count")
    assert torch.allclose(_dense(index, m_norm, n), _pyg_met_formula(ei, n, pyg_w))


def test_met_equals_pygs_panconv_when_torch_sparse_is_installed():
    pytest.importorskip("torch_sparse", reason="PyG's PANConv needs torch_sparse, which has no wheel for this torch")
    from torch_geometric.nn import PANConv

    x, ei, _, _ = random_batch([6, 9], f=3)
    conv = PANConv(3, 4, filter_size=2)
    _, m_pyg = conv(x, ei)
    row, col, val = m_pyg.coo()
    index, _, m_norm, _ = met_matrix(ei, x.size(0), torch.cumprod(conv.weight.detach(), 0), norm="count")
    assert torch.allclose(_dense(index, m_norm, x.size(0)).float(), _dense(torch.stack([col, row]), val, x.size(0)),
                          atol=1e-6)


def _pair(f=5, ratio=0.5, sign=1.0, filter_size=2):
    ours = PANPool(f, ratio=ratio, filter_size=filter_size, structure="degree", met_norm="count")
    ref = PygPAN(f, ratio=ratio)
    with torch.no_grad():
        ref.select.weight.fill_(sign)
        ref.p.copy_(torch.linspace(-1.0, 1.0, f))
        ours.weight.copy_(ref.p)
        ref.beta.copy_(torch.tensor([0.8, 1.5]))
        ours.beta.copy_(ref.beta)
    return ours, ref


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.8])
def test_matches_pygs_panpooling_on_the_same_met(ratio):
    """PyG's PANPooling runs on the M~ computed here (it reads M through ``coo()``): same kept
    nodes, pooled features, pooled graph and gradients as structure="degree"."""
    ours, ref = _pair(ratio=ratio)
    x, ei, batch, _ = random_batch([7, 11, 9], f=5)
    out = ours(x, ei, batch=batch)
    index, m_norm = out.so.extra["met_index"], out.so.extra["met_value"]
    # PyG's M is indexed (target, source); for these undirected graphs M~ is symmetric
    xr, eir, ewr, br, perm, _ = ref(x, MetAsSparseTensor(index, m_norm.detach()), batch=batch)
    assert_pooled_like_pyg(out, xr, eir, ewr, br, perm)
    out.x.sum().backward()
    xr.sum().backward()
    assert torch.allclose(ours.weight.grad, ref.p.grad, atol=1e-5)
    assert torch.allclose(ours.beta.grad, ref.beta.grad, atol=1e-5)


def test_pyg_with_a_negative_sign_keeps_the_lowest_scores():
    ours, ref = _pair(sign=-1.0)
    x, ei, _, _ = random_batch([12], f=5)
    out = ours(x, ei)
    index, m_norm = out.so.extra["met_index"], out.so.extra["met_value"]
    perm = ref(x, MetAsSparseTensor(index, m_norm.detach()))[4]
    y = out.so.extra["score"]
    assert set(perm.tolist()) == set(torch.argsort(y)[: perm.numel()].tolist())
    assert set(perm.tolist()).isdisjoint(out.so.kept.tolist())


# --------------------------------------------------------------------------- options
def test_precomputed_met_gives_the_same_pooling():
    x, ei, batch, _ = random_batch([8, 10], f=4)
    pool = PANPool(4, ratio=0.5, structure="degree")
    out = pool(x, ei, batch=batch)
    met = (out.so.extra["met_index"], out.so.extra["met_value"].detach())
    again = pool(x, ei, batch=batch, met=met)
    assert torch.equal(out.so.kept, again.so.kept) and torch.allclose(out.x, again.x)
    diag_pool = PANPool(4, ratio=0.5)
    got = diag_pool(x, ei, batch=batch, met=met)
    on = met[0][0] == met[0][1]
    expected = torch.zeros(x.size(0)).index_add(0, met[0][0][on], met[1][on])
    assert torch.allclose(got.so.extra["structure"], expected)


def test_induced_pooled_graph_keeps_edges_and_features():
    x, ei, batch, ea = random_batch([9, 7], f=4, edge_dim=3)
    pool = PANPool(4, ratio=0.5, pooled_graph="induced")
    out = pool(x, ei, batch=batch, edge_attr=ea)
    kept = out.so.kept
    a = _adjacency(ei, x.size(0))
    assert torch.equal(_dense(out.edge_index, torch.ones(out.edge_index.size(1), dtype=torch.float64), kept.numel()),
                       a[kept][:, kept])
    assert out.edge_attr is not None and out.edge_attr.size(0) == out.edge_index.size(1)


def test_met_pooled_graph_links_kept_nodes_within_L_hops():
    ei = _undirected([(i, i + 1) for i in range(7)])     # a path of 8 nodes
    pool = PANPool(2, k=8, filter_size=2)
    out = pool(torch.randn(8, 2), ei)
    kept = out.so.kept.tolist()
    pairs = {(kept[i], kept[j]) for i, j in out.edge_index.t().tolist()}
    assert pairs == {(i, j) for i in range(8) for j in range(8) if abs(i - j) <= 2}


def test_training_moves_the_path_weights():
    x, ei, batch, _ = random_batch([8, 10], f=4)
    pool = PANPool(4, ratio=0.5)
    before = pool.energy.detach().clone()
    opt = torch.optim.SGD(pool.parameters(), lr=0.1)
    pool(x, ei, batch=batch).x.pow(2).sum().backward()
    assert pool.energy.grad is not None and pool.energy.grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(pool.energy.detach(), before)


@pytest.mark.parametrize("kwargs", [dict(structure="trace"), dict(met_norm="max"), dict(pooled_graph="dense"),
                                    dict(filter_size=0), dict(filter_size=1.5), dict(gate="relu"),
                                    dict(ratio=0.5, k=2)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        PANPool(4, **kwargs)


def test_bad_inputs_raise():
    x, ei, _, ea = random_batch([6], f=4, edge_dim=2)
    pool = PANPool(4, ratio=0.5)
    with pytest.raises(ValueError, match="edge features"):
        pool(x, ei, edge_attr=ea)
    with pytest.raises(ValueError, match="met must be"):
        pool(x, ei, met=(ei[0], torch.ones(ei.size(1))))
    with pytest.raises(ValueError, match="norm"):
        met_matrix(ei, 6, torch.ones(3), norm="max")
    assert math.isfinite(float(pool(x, ei).x.detach().sum()))
