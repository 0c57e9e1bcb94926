"""Tests for poolkit.soft: DiffPool, MinCutPool, DMoN and TVGNN."""
import math

import networkx as nx
import pytest
import torch
from torch_geometric.nn.dense import DMoNPooling, dense_diff_pool, dense_mincut_pool
from torch_geometric.utils import to_dense_adj, to_dense_batch

import poolkit
from poolkit.soft import (
    LOSS_PARTS,
    DenseSoftPool,
    MinCutPool,
    diffpool_losses,
    dmon_losses,
    mincut_losses,
    to_dense_inputs,
    tvgnn_losses,
)
from poolkit.src import SelectOutput

NAMES = ["diffpool", "mincut", "dmon", "tvgnn"]
LOSSES = {"diffpool": diffpool_losses, "mincut": mincut_losses, "dmon": dmon_losses, "tvgnn": tvgnn_losses}


def block_graph(sizes, self_loops=False):
    """Disjoint cliques with their hard partition S (one-hot)."""
    n, k = sum(sizes), len(sizes)
    a = torch.zeros(n, n)
    s = torch.zeros(n, k)
    start = 0
    for c, m in enumerate(sizes):
        a[start:start + m, start:start + m] = 1
        s[start:start + m, c] = 1
        start += m
    if not self_loops:
        a.fill_diagonal_(0)
    return a, s


def random_graph(n, p, gen):
    a = (torch.rand(n, n, generator=gen) < p).float().triu(1)
    return a + a.t()


def random_batch(sizes, f=4, p=0.4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    xs, eis, bs, off = [], [], [], 0
    for g, n in enumerate(sizes):
        a = random_graph(n, p, gen)
        xs.append(torch.randn(n, f, generator=gen))
        eis.append(a.nonzero().t() + off)
        bs.append(torch.full((n,), g))
        off += n
    return torch.cat(xs), torch.cat(eis, 1), torch.cat(bs)


# --------------------------------------------------------------------------- analytic optima
def test_mincut_optimum_on_block_diagonal_graph():
    a, s = block_graph([4, 4, 4])
    out = mincut_losses(a, s)
    assert out["cut"].item() == pytest.approx(-1.0, abs=1e-6)
    assert out["ortho"].item() == pytest.approx(0.0, abs=1e-6)
    # The uniform S is a degenerate minimiser of the cut term; only ortho rules it out.
    uniform = mincut_losses(a, torch.full_like(s, 1 / 3))
    assert uniform["cut"].item() == pytest.approx(-1.0, abs=1e-6) and uniform["ortho"] > 0.5
    # A hard partition that splits the cliques cuts edges.
    wrong = mincut_losses(a, torch.nn.functional.one_hot(torch.arange(12) % 3, 3).float())
    assert wrong["cut"] > -0.5


@pytest.mark.parametrize("seed", range(5))
def test_dmon_spectral_is_minus_networkx_modularity(seed):
    gen = torch.Generator().manual_seed(seed)
    n, k = 12 + seed, 3
    a = random_graph(n, 0.35, gen)
    labels = torch.randint(0, k, (n,), generator=gen)
    s = torch.nn.functional.one_hot(labels, k).float()
    g = nx.from_numpy_array(a.numpy())
    comms = [set(torch.nonzero(labels == c).view(-1).tolist()) for c in range(k)]
    q = nx.community.modularity(g, [c for c in comms if c])
    assert dmon_losses(a, s)["spectral"].item() == pytest.approx(-q, abs=1e-5)


def test_dmon_spectral_on_block_graph_and_cluster_bounds():
    a, s = block_graph([5, 5, 5])
    g = nx.from_numpy_array(a.numpy())
    q = nx.community.modularity(g, [set(range(0, 5)), set(range(5, 10)), set(range(10, 15))])
    out = dmon_losses(a, s)
    assert out["spectral"].item() == pytest.approx(-q, abs=1e-6)
    assert out["cluster"].item() == pytest.approx(0.0, abs=1e-6)  # balanced clusters
    collapsed = torch.zeros_like(s)
    collapsed[:, 0] = 1
    assert dmon_losses(a, collapsed)["cluster"].item() == pytest.approx(math.sqrt(3) - 1, abs=1e-6)


def test_diffpool_link_is_zero_when_a_equals_s_st():
    gen = torch.Generator().manual_seed(0)
    s = torch.softmax(torch.randn(9, 3, generator=gen), -1)
    assert diffpool_losses(s @ s.t(), s)["link"].item() == pytest.approx(0.0, abs=1e-7)
    a, hard = block_graph([3, 3, 3], self_loops=True)
    out = diffpool_losses(a, hard)
    assert out["link"].item() == pytest.approx(0.0, abs=1e-7)
    assert out["entropy"].item() == pytest.approx(0.0, abs=1e-7)
    uniform = diffpool_losses(a, torch.full((9, 3), 1 / 3))
    assert uniform["entropy"].item() == pytest.approx(math.log(3), abs=1e-6)
    assert uniform["link"].item() > 0


def test_tvgnn_losses_at_their_optima_and_worst_cases():
    a, s = block_graph([4, 4, 4])
    out = tvgnn_losses(a, s)
    assert out["tv"].item() == pytest.approx(0.0, abs=1e-7)
    assert out["balance"].item() == pytest.approx(0.0, abs=1e-7)
    uniform = torch.full_like(s, 1 / 3)
    collapsed = torch.zeros_like(s)
    collapsed[:, 1] = 1
    for bad in (uniform, collapsed):
        assert tvgnn_losses(a, bad)["balance"].item() == pytest.approx(1.0, abs=1e-6)
        assert tvgnn_losses(a, bad)["tv"].item() == pytest.approx(0.0, abs=1e-7)
    # Every edge cut between two hard clusters: the total variation is at its maximum, 1.
    path = torch.tensor([[0.0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    alt = torch.tensor([[1.0, 0], [0, 1], [1, 0], [0, 1]])
    assert tvgnn_losses(path, alt)["tv"].item() == pytest.approx(1.0, abs=1e-6)


def _tv_balance_by_loops(a, s):
    """The paper's definitions written with plain loops, for one graph."""
    n, k = s.shape
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if a[i, j] != 0]
    tv = sum(float(a[i, j]) * float((s[i] - s[j]).abs().sum()) for i, j in edges) / (2 * max(len(edges), 1))
    rho = k - 1
    total = 0.0
    for c in range(k):
        col = sorted(s[:, c].tolist(), reverse=True)
        q = col[min(n // k, n - 1)]  # the rho/(rho+1) quantile
        total += sum(rho * (v - q) if v >= q else q - v for v in s[:, c].tolist())
    return tv, 1 - total / (n * rho)


def test_tvgnn_matches_the_paper_definitions_per_graph():
    x, ei, b = random_batch([6, 9, 4], seed=3)
    _, adj, mask = to_dense_inputs(x, ei, b)
    s = torch.softmax(torch.randn(*mask.shape, 3, generator=torch.Generator().manual_seed(1)), -1) * mask.unsqueeze(-1)
    ours = tvgnn_losses(adj, s, mask, reduction="none")
    for g, n in enumerate([6, 9, 4]):
        tv, bal = _tv_balance_by_loops(adj[g, :n, :n], s[g, :n])
        assert ours["tv"][g].item() == pytest.approx(tv, abs=1e-6)
        assert ours["balance"][g].item() == pytest.approx(bal, abs=1e-6)


def test_loss_parts_name_the_returned_losses():
    a, s = block_graph([3, 3])
    for name, parts in LOSS_PARTS.items():
        assert set(LOSSES[name](a, s)) == {parts["topology"], parts["quality"]}


# --------------------------------------------------------------------------- equivariance and batching
@pytest.mark.parametrize("name", NAMES)
def test_permuting_nodes_permutes_s_and_keeps_pooled_graph(name):
    torch.manual_seed(0)
    pool = poolkit.get_pooler(name, in_channels=4, k=3, hidden_channels=8).eval()
    x, ei, _ = random_batch([10], seed=1)
    perm = torch.randperm(10)
    inv = torch.argsort(perm)
    out = pool(x, ei)
    out_p = pool(x[perm], inv[ei])
    torch.testing.assert_close(out_p.so.s[0], out.so.s[0][perm])
    torch.testing.assert_close(out_p.x, out.x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_p.adj, out.adj, atol=1e-5, rtol=1e-5)
    for key in out.losses:
        torch.testing.assert_close(out_p.losses[key], out.losses[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_graphs_one_by_one(name):
    torch.manual_seed(0)
    pool = poolkit.get_pooler(name, in_channels=4, k=3).eval()
    sizes = [3, 8, 5, 1]
    x, ei, b = random_batch(sizes, seed=2)
    out = pool(x, ei, b)
    per = {key: [] for key in out.losses}
    for g, n in enumerate(sizes):
        sel = b == g
        off = int(torch.nonzero(sel)[0])
        emask = sel[ei[0]]
        og = pool(x[sel], ei[:, emask] - off)
        torch.testing.assert_close(out.so.s[g, :n], og.so.s[0])
        assert torch.all(out.so.s[g, n:] == 0)
        torch.testing.assert_close(out.x[g], og.x[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.adj[g], og.adj[0], atol=1e-5, rtol=1e-5)
        for key in per:
            per[key].append(og.losses[key])
    for key, vals in per.items():
        torch.testing.assert_close(out.losses[key], torch.stack(vals).mean(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_dense_input_gives_the_same_result_as_pyg_input(name):
    torch.manual_seed(0)
    pool = poolkit.get_pooler(name, in_channels=4, k=2).eval()
    x, ei, b = random_batch([5, 7], seed=4)
    xd, mask = to_dense_batch(x, b)
    adj = to_dense_adj(ei, b)
    a, d = pool(x, ei, b), pool(xd, adj, mask=mask)
    torch.testing.assert_close(a.x, d.x)
    torch.testing.assert_close(a.adj, d.adj)
    for key in a.losses:
        torch.testing.assert_close(a.losses[key], d.losses[key])


# --------------------------------------------------------------------------- agreement with PyG
def test_mincut_agrees_with_pyg_including_padding():
    x, ei, b = random_batch([6, 9, 4], seed=5)
    xd, adj, mask = to_dense_inputs(x, ei, b)
    logits = torch.randn(*mask.shape, 3, generator=torch.Generator().manual_seed(0))
    px, padj, pcut, portho = dense_mincut_pool(xd, adj, logits, mask)
    pool = MinCutPool(4, 3)
    so = SelectOutput.from_dense(torch.softmax(logits, -1) * mask.unsqueeze(-1), mask)
    torch.testing.assert_close(pool.reduce(xd, so), px)
    torch.testing.assert_close(pool.connect(adj, so), padj, atol=1e-5, rtol=1e-4)
    ours = pool.losses(adj, so)
    torch.testing.assert_close(ours["cut"], pcut)
    torch.testing.assert_close(ours["ortho"], portho)


def test_diffpool_agrees_with_pyg_on_one_graph_and_differs_on_padded_batch():
    x, ei, b = random_batch([8], seed=6)
    xd, adj, mask = to_dense_inputs(x, ei, b)
    logits = torch.randn(1, 8, 3, generator=torch.Generator().manual_seed(0))
    px, padj, plink, pent = dense_diff_pool(xd, adj, logits)
    pool = poolkit.get_pooler("diffpool", in_channels=4, k=3)
    so = SelectOutput.from_dense(torch.softmax(logits, -1), mask)
    torch.testing.assert_close(pool.reduce(xd, so), px)
    torch.testing.assert_close(pool.connect(adj, so), padj)
    ours = pool.losses(adj, so)
    torch.testing.assert_close(ours["link"], plink)
    torch.testing.assert_close(ours["entropy"], pent)
    # With padding, PyG's link loss is one norm over the padded batch / (B·N_max²): ours is
    # the mean of the per-graph losses, which does not change when a small graph is added.
    x2, ei2, b2 = random_batch([8, 3], seed=6)
    xd2, adj2, mask2 = to_dense_inputs(x2, ei2, b2)
    logits2 = torch.randn(2, 8, 3, generator=torch.Generator().manual_seed(1))
    s2 = torch.softmax(logits2, -1) * mask2.unsqueeze(-1)
    per = diffpool_losses(adj2, s2, mask2, reduction="none")
    single = [diffpool_losses(adj2[g, :n, :n], s2[g, :n], None)["link"] for g, n in enumerate([8, 3])]
    torch.testing.assert_close(per["link"], torch.stack(single))
    _, _, plink2, _ = dense_diff_pool(xd2, adj2, logits2, mask2)
    assert abs(plink2.item() - per["link"].mean().item()) > 1e-3


def _pyg_dmon(s_logits, x, adj, mask):
    ref = DMoNPooling(x.size(-1), s_logits.size(-1))
    ref.mlp = torch.nn.Identity()  # feed the logits straight in: same S for both
    return ref(s_logits, adj, mask)


def test_dmon_agrees_with_pyg_when_graphs_have_equal_size():
    x, ei, b = random_batch([7, 7, 7], seed=7)
    xd, adj, mask = to_dense_inputs(x, ei, b)
    logits = torch.randn(3, 7, 4, generator=torch.Generator().manual_seed(0))
    ps, _, padj, pspec, _, pclus = _pyg_dmon(logits, xd, adj, mask)
    pool = poolkit.get_pooler("dmon", in_channels=4, k=4)
    so = SelectOutput.from_dense(torch.softmax(logits, -1), mask)
    ours = pool.losses(adj, so)
    torch.testing.assert_close(ours["spectral"], pspec)
    torch.testing.assert_close(ours["cluster"], pclus)
    torch.testing.assert_close(pool.connect(adj, so), padj, atol=1e-5, rtol=1e-4)
    ref_x = torch.nn.functional.selu(torch.softmax(logits, -1).transpose(1, 2) @ xd)
    torch.testing.assert_close(pool.reduce(xd, so), ref_x)


def test_dmon_cluster_loss_is_per_graph_unlike_pyg_issue_10148():
    sizes = [3, 10]
    x, ei, b = random_batch(sizes, p=0.7, seed=8)
    xd, adj, mask = to_dense_inputs(x, ei, b)
    logits = torch.randn(2, 10, 4, generator=torch.Generator().manual_seed(0))
    s = torch.softmax(logits, -1) * mask.unsqueeze(-1)
    _, _, _, pspec, _, pclus = _pyg_dmon(logits, xd, adj, mask)
    ours = dmon_losses(adj, s, mask)
    # The per-graph formula, written out: sqrt(K)/n_g * ||sum_i S_i|| - 1, averaged.
    norms = torch.linalg.vector_norm(s.sum(1), dim=-1)
    n = torch.tensor(sizes, dtype=s.dtype)
    torch.testing.assert_close(ours["cluster"], (norms / n * 2 - 1).mean())
    # PyG divides the [B] norms by a [B, 1] count: a [B, B] matrix that mixes graphs.
    torch.testing.assert_close(pclus, (norms.unsqueeze(0) / n.unsqueeze(1) * 2 - 1).mean())
    assert abs(pclus.item() - ours["cluster"].item()) > 0.05
    torch.testing.assert_close(ours["spectral"], pspec)  # the spectral term agrees


# --------------------------------------------------------------------------- degenerate inputs
def degenerate_batches():
    one_node = (torch.randn(1, 4), torch.empty(2, 0, dtype=torch.long), None)
    edgeless = (torch.randn(5, 4), torch.empty(2, 0, dtype=torch.long), None)
    isolated = (torch.randn(6, 4), torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), None)
    mixed = (torch.randn(4, 4), torch.tensor([[1, 2], [2, 1]]), torch.tensor([0, 1, 1, 2]))
    return [one_node, edgeless, isolated, mixed]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", range(4))
def test_no_nan_and_finite_gradients_on_degenerate_graphs(name, case):
    torch.manual_seed(0)
    x, ei, b = degenerate_batches()[case]
    x = x.clone().requires_grad_(True)
    pool = poolkit.get_pooler(name, in_channels=4, k=3, hidden_channels=5)
    out = pool(x, ei, b)
    for t in [out.x, out.adj, out.so.s, *out.losses.values()]:
        assert torch.isfinite(t).all()
    (out.x.sum() + out.adj.sum() + out.loss).backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in pool.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_losses_gradcheck(name):
    gen = torch.Generator().manual_seed(0)
    a = random_graph(7, 0.5, gen).double()
    logits = torch.randn(1, 7, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    fn = LOSSES[name]

    def total(z):
        out = fn(a.unsqueeze(0), torch.softmax(z, -1))
        return sum(out.values())

    assert torch.autograd.gradcheck(total, (logits,))


# --------------------------------------------------------------------------- API and errors
def test_registry_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}
    for name in NAMES:
        assert info[name]["dense"] and info[name]["trainable"] and info[name]["aux_loss"]
        assert not info[name]["precomputable"]


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_value_error(name):
    for k in (0, -1, 2.5):
        with pytest.raises(ValueError, match="k"):
            poolkit.get_pooler(name, in_channels=4, k=k)
    with pytest.raises(ValueError, match="in_channels"):
        poolkit.get_pooler(name, in_channels=0, k=2)
    pool = poolkit.get_pooler(name, in_channels=4, k=2)
    with pytest.raises(ValueError, match="in_channels"):
        pool(torch.randn(5, 3), torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="edge_index"):
        pool(torch.randn(5, 4), torch.tensor([[0, 7], [7, 0]]))
    with pytest.raises(ValueError, match="adj"):
        pool(torch.randn(2, 5, 4), torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="mask"):
        pool(torch.randn(2, 5, 4), torch.zeros(2, 5, 5), mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch"):
        pool(torch.randn(5, 4), torch.tensor([[0, 1], [1, 0]]), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="adj"):
        LOSSES[name](torch.zeros(1, 4, 4), torch.rand(1, 5, 2))


def test_select_can_be_overridden_with_a_fixed_assignment():
    class FixedMinCut(MinCutPool):
        def select(self, x, adj=None, mask=None, **kwargs):
            s = torch.softmax(self.fixed[: x.size(1)], -1).expand(x.size(0), -1, -1) * mask.unsqueeze(-1)
            return SelectOutput.from_dense(s, mask)

    pool = FixedMinCut(4, 2)
    pool.fixed = torch.tensor([[9.0, -9], [9, -9], [-9, 9], [-9, 9]])
    a, _ = block_graph([2, 2])
    out = pool(torch.randn(1, 4, 4), a.unsqueeze(0))
    assert out.losses["cut"].item() == pytest.approx(-1.0, abs=1e-4)
    assert isinstance(pool, DenseSoftPool)


def test_lift_maps_pooled_features_back_to_nodes():
    pool = poolkit.get_pooler("mincut", in_channels=4, k=3)
    x, ei, b = random_batch([4, 6], seed=9)
    out = pool(x, ei, b)
    up = pool.lift(out.x, out.so)
    assert up.shape == (2, 6, 4)
    torch.testing.assert_close(up, out.so.s @ out.x)
    assert torch.all(up[0, 4:] == 0)


# --------------------------------------------------------------------------- DiffPool's two GNNs
def test_diffpool_two_gnn_form_matches_the_paper_and_pyg():
    """assign="gnn", embed=True: S = softmax(GNN_pool(X, A)), Z = GNN_embed(X, A),
    X' = S^T Z, A' = S^T A S; PyG's dense_diff_pool computes the same from (Z, A, logits)."""
    from torch_geometric.nn import DenseGCNConv

    torch.manual_seed(0)
    x, ei, b = random_batch([7, 4], f=5, seed=11)
    xd, adj, mask = to_dense_inputs(x, ei, b)
    pool = poolkit.get_pooler("diffpool", in_channels=5, k=3, assign="gnn", embed=True)
    out = pool(x, ei, b)
    # the formulas, written with the pooler's own layers
    conv_pool, conv_embed = pool.mlp[0], pool.gnn_embed
    assert isinstance(conv_pool, DenseGCNConv) and isinstance(conv_embed, DenseGCNConv)
    logits = conv_pool(xd, adj, mask)
    s = torch.softmax(logits, -1) * mask.unsqueeze(-1)
    z = torch.relu(conv_embed(xd, adj, mask)) * mask.unsqueeze(-1)
    torch.testing.assert_close(out.so.s, s)
    torch.testing.assert_close(out.x, s.transpose(1, 2) @ z)
    torch.testing.assert_close(out.adj, s.transpose(1, 2) @ adj @ s)
    px, padj, _, pent = dense_diff_pool(z, adj, logits, mask)
    torch.testing.assert_close(out.x, px)
    torch.testing.assert_close(out.adj, padj)
    # one graph at a time gives the same pooled graphs as the padded batch
    for g, n in enumerate([7, 4]):
        sel = b == g
        off = int(sel.nonzero()[0])
        keep = (b[ei[0]] == g)
        single = pool(x[sel], ei[:, keep] - off)
        torch.testing.assert_close(single.x[0], out.x[g], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(single.adj[0], out.adj[g], atol=1e-5, rtol=1e-4)


def test_assignment_gnn_sees_the_graph_and_the_mlp_does_not():
    torch.manual_seed(0)
    x = torch.randn(6, 3)
    ring = torch.tensor([[0, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 0, 1, 2, 3, 4, 5]])
    path = ring[:, [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]]  # the ring without the edge 5-0
    for name in NAMES:
        gnn = poolkit.get_pooler(name, in_channels=3, k=2, assign="gnn", hidden_channels=4)
        mlp = poolkit.get_pooler(name, in_channels=3, k=2)
        assert not torch.allclose(gnn(x, ring).so.s, gnn(x, path).so.s)
        torch.testing.assert_close(mlp(x, ring).so.s, mlp(x, path).so.s)
    # permutation equivariance of the GNN assignment: S(PX, PAP^T) = P S(X, A)
    pool = poolkit.get_pooler("mincut", in_channels=3, k=2, assign="gnn")
    perm = torch.randperm(6)
    inv = torch.argsort(perm)
    s = pool(x, ring).so.s[0]
    s_perm = pool(x[perm], inv[ring]).so.s[0]
    torch.testing.assert_close(s_perm, s[perm], atol=1e-6, rtol=1e-5)


def test_assign_option_rejects_bad_values():
    with pytest.raises(ValueError, match="assign"):
        poolkit.get_pooler("mincut", in_channels=3, k=2, assign="transformer")
    pool = poolkit.get_pooler("diffpool", in_channels=3, k=2, assign="gnn")
    with pytest.raises(ValueError, match="adjacency"):
        pool.select(torch.randn(1, 4, 3))


# --------------------------------------------------------------------------- formulas by hand
def test_tv_loss_on_a_hand_computed_graph():
    # Path 0-1-2-3 (E = 3), clusters {0, 1} and {2, 3}: only edge 1-2 is cut, with
    # ||s_1 - s_2||_1 = 2, so tv = (1 / 2E) * 2 = 1/3 (each undirected edge counted once).
    a = torch.zeros(4, 4)
    for i, j in [(0, 1), (1, 2), (2, 3)]:
        a[i, j] = a[j, i] = 1.0
    s = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    torch.testing.assert_close(tvgnn_losses(a, s)["tv"], torch.tensor(1 / 3))
    # a soft row: s_1 = (0.5, 0.5) -> edges 0-1 and 1-2 each differ by 1 in l1: tv = 2 / 6
    s[1] = torch.tensor([0.5, 0.5])
    torch.testing.assert_close(tvgnn_losses(a, s)["tv"], torch.tensor(2 / 6))
    # the maximum, 1, when every edge joins two different one-hot rows (bipartite split)
    s_alt = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(tvgnn_losses(a, s_alt)["tv"], torch.tensor(1.0))


def test_mincut_cut_term_closed_form_and_normalised_adjacency():
    # For a hard partition with the raw A, cut = -1 + 2 * cut_edges / vol.
    gen = torch.Generator().manual_seed(3)
    a = random_graph(12, 0.4, gen)
    cl = torch.randint(0, 3, (12,), generator=gen)
    s = torch.nn.functional.one_hot(cl, 3).float()
    cut_edges = (a * (cl.unsqueeze(0) != cl.unsqueeze(1))).sum() / 2
    torch.testing.assert_close(mincut_losses(a, s)["cut"], -1 + 2 * cut_edges / a.sum())
    # With the paper's normalised adjacency the value differs, and the block optimum is still -1.
    d = a.sum(1).clamp(min=1e-12).rsqrt()
    a_norm = d.unsqueeze(1) * a * d.unsqueeze(0)
    assert abs(mincut_losses(a_norm, s)["cut"].item() - mincut_losses(a, s)["cut"].item()) > 1e-3
    ab, sb = block_graph([3, 5, 4])
    db = ab.sum(1).rsqrt()
    torch.testing.assert_close(mincut_losses(db.unsqueeze(1) * ab * db.unsqueeze(0), sb)["cut"], torch.tensor(-1.0))


def _gtv_dense(h, a, delta, eps):
    diff = (h.unsqueeze(1) - h.unsqueeze(0)).abs().sum(-1)  # [i, j] = ||h_i - h_j||_1
    gamma = a / diff.clamp(min=eps)
    lap = torch.diag(gamma.sum(1)) - gamma
    return h - delta * lap @ h


def test_gtvconv_matches_its_dense_formula_and_is_equivariant():
    from poolkit.soft import GTVConv

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    a = random_graph(9, 0.4, gen)
    a = a * torch.rand(9, 9, generator=gen).triu(1).add(torch.rand(9, 9, generator=gen).triu(1).t())  # weights
    a = (a + a.t()) / 2
    ei = a.nonzero().t()
    w = a[ei[0], ei[1]]
    x = torch.randn(9, 4)
    conv = GTVConv(4, 3, delta=0.2, act=None)
    ref = _gtv_dense(conv.lin(x), a, 0.2, conv.eps)
    torch.testing.assert_close(conv(x, ei, w), ref, atol=1e-5, rtol=1e-4)
    # permutation equivariance
    perm = torch.randperm(9)
    inv = torch.argsort(perm)
    torch.testing.assert_close(conv(x[perm], inv[ei], w), conv(x, ei, w)[perm], atol=1e-5, rtol=1e-4)
    # a constant signal is a fixed point (L_Γ 1 = 0), and equal features give no NaN
    xc = torch.ones(9, 4)
    out = conv(xc, ei, w)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, conv.lin(xc))
    # gradients are finite too (the clamp keeps 1/||.|| bounded)
    xg = xc.clone().requires_grad_(True)
    conv(xg, ei, w).sum().backward()
    assert torch.isfinite(xg.grad).all()


def test_gtvconv_keeps_a_jump_that_laplacian_smoothing_blurs():
    from poolkit.soft import GTVConv

    # A path of 10 nodes with a step of height J = 3 between nodes 4 and 5. One step of
    # Laplacian smoothing shrinks the jump by 2·δ·J; a GTV step moves each end by
    # δ·γ·J = δ (γ = 1/J), so the jump shrinks by 2·δ only: 3 - 0.2 vs 3 - 0.6.
    ei = torch.tensor([[i, i + 1] for i in range(9)] + [[i + 1, i] for i in range(9)]).t()
    x = 3.0 * (torch.arange(10) >= 5).float().unsqueeze(1)
    conv = GTVConv(1, 1, delta=0.1, act=None)
    with torch.no_grad():
        conv.lin.weight.fill_(1.0)
    y = conv(x, ei).view(-1).detach()
    a = torch.zeros(10, 10)
    a[ei[0], ei[1]] = 1.0
    lap = torch.diag(a.sum(1)) - a
    y_lap = (x - 0.1 * lap @ x).view(-1)
    torch.testing.assert_close(y[5] - y[4], torch.tensor(2.8))
    torch.testing.assert_close(y_lap[5] - y_lap[4], torch.tensor(2.4))


def test_gtvconv_rejects_bad_arguments():
    from poolkit.soft import GTVConv

    for kw, match in [({"delta": 0}, "delta"), ({"eps": -1.0}, "eps"), ({"act": "tanh"}, "act")]:
        with pytest.raises(ValueError, match=match):
            GTVConv(2, 2, **kw)
    with pytest.raises(ValueError, match="edge_index"):
        GTVConv(2, 2)(torch.randn(3, 2), torch.tensor([[0, 5], [1, 0]]))
