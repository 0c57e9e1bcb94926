"""Tests for poolkit.edge: dual-message convolution, edge contraction, edge pooling, gather."""
import itertools

import pytest
import torch
from torch_geometric.data import Batch, Data

import poolkit
from poolkit.edge import (
    DualMessageConv,
    DualMessageNet,
    EdgeCoarsePool,
    EdgeSimplePool,
    contract_edges,
    gather,
    tanh_topk_select,
)


def undirected(pairs, feats):
    """Edge index with both directions and the same feature on both."""
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    f = torch.stack([torch.as_tensor(v, dtype=torch.float) for v in feats])
    return torch.tensor([src, dst]), torch.cat([f, f])


def as_dict(ei, ea):
    return {(int(u), int(v)): ea[i] for i, (u, v) in enumerate(ei.t().tolist())}


def onehot(i, d=6):
    return torch.eye(d)[i]


# ---------------------------------------------------------------- contraction rules
def test_one_dropped_atom_joins_its_kept_neighbours():
    # a(0) - x(1) - b(2), x dropped: a-b with e_ax + e_xb
    ei, ea = undirected([(0, 1), (1, 2)], [onehot(0), onehot(1)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 2]), 3)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(0, 1), (1, 0)}
    torch.testing.assert_close(d[(0, 1)], onehot(0) + onehot(1))
    torch.testing.assert_close(d[(1, 0)], onehot(0) + onehot(1))


def test_two_dropped_atoms_give_sum_of_three_bonds():
    # a(0) - x(1) - y(2) - b(3)
    ei, ea = undirected([(0, 1), (1, 2), (2, 3)], [onehot(0), onehot(1), onehot(2)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 3]), 4)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(0, 1), (1, 0)}
    torch.testing.assert_close(d[(0, 1)], onehot(0) + onehot(1) + onehot(2))


def test_three_dropped_atoms_do_not_connect():
    ei, ea = undirected([(0, 1), (1, 2), (2, 3), (3, 4)], [onehot(i) for i in range(4)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 4]), 5)
    assert new_ei.shape == (2, 0) and new_ea.shape == (0, 6)


def test_dangling_dropped_atom_disappears_with_its_bond():
    # a(0) - b(1) - x(2), x dropped and a leaf
    ei, ea = undirected([(0, 1), (1, 2)], [onehot(0), onehot(1)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 1]), 3)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(0, 1), (1, 0)}
    torch.testing.assert_close(d[(0, 1)], onehot(0))  # kept bond unchanged


def test_existing_kept_bond_stays_and_new_edges_are_added():
    # chain a(0)-b(1)-x(2)-c(3): a-b stays, b-c is new
    ei, ea = undirected([(0, 1), (1, 2), (2, 3)], [onehot(0), onehot(1), onehot(2)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 1, 3]), 4)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    torch.testing.assert_close(d[(0, 1)], onehot(0))
    torch.testing.assert_close(d[(1, 2)], onehot(1) + onehot(2))


def test_two_paths_between_the_same_pair_are_summed():
    # square a(0)-x(1)-b(2)-y(3)-a(0), x and y dropped: two one-atom paths a-b
    ei, ea = undirected([(0, 1), (1, 2), (2, 3), (3, 0)], [onehot(i) for i in range(4)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 2]), 4)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(0, 1), (1, 0)}
    torch.testing.assert_close(d[(0, 1)], onehot(0) + onehot(1) + onehot(2) + onehot(3))


def test_kept_bond_and_parallel_path_are_summed():
    # triangle a(0)-b(1)-x(2): direct bond plus a-x-b
    ei, ea = undirected([(0, 1), (1, 2), (2, 0)], [onehot(0), onehot(1), onehot(2)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([0, 1]), 3)
    d = as_dict(new_ei, new_ea)
    torch.testing.assert_close(d[(0, 1)], onehot(0) + onehot(1) + onehot(2))


def test_dropped_atom_with_three_kept_neighbours_makes_a_triangle():
    # star: centre 0 dropped, leaves 1,2,3 kept
    ei, ea = undirected([(0, 1), (0, 2), (0, 3)], [onehot(1), onehot(2), onehot(3)])
    new_ei, new_ea = contract_edges(ei, ea, torch.tensor([1, 2, 3]), 4)
    d = as_dict(new_ei, new_ea)
    assert set(d) == {(u, v) for u in range(3) for v in range(3) if u != v}
    torch.testing.assert_close(d[(0, 2)], onehot(1) + onehot(3))


def test_contraction_matches_brute_force_on_random_graphs():
    g = torch.Generator().manual_seed(0)
    for trial in range(20):
        n = 9
        pairs = [(i, j) for i, j in itertools.combinations(range(n), 2) if torch.rand(1, generator=g) < 0.3]
        if not pairs:
            continue
        feats = torch.randn(len(pairs), 3, generator=g)
        ei, ea = undirected(pairs, list(feats))
        keep = torch.rand(n, generator=g) < 0.5
        kept = keep.nonzero().view(-1)
        if kept.numel() == 0:
            continue
        new_ei, new_ea = contract_edges(ei, ea, kept, n)
        # brute force over all simple paths u-...-v of length <= 3 through dropped atoms
        e = {}
        for (a, b), f in zip(pairs, feats):
            e[(a, b)] = e[(b, a)] = f
        nb = {i: [j for j in range(n) if (i, j) in e] for i in range(n)}
        expected = {}
        pos = {int(v): i for i, v in enumerate(kept)}
        for u in pos:
            for v in nb[u]:
                if v in pos and v != u:
                    expected.setdefault((pos[u], pos[v]), []).append(e[(u, v)])
            for x in nb[u]:
                if keep[x]:
                    continue
                for v in nb[x]:
                    if v in pos and v != u:
                        expected.setdefault((pos[u], pos[v]), []).append(e[(u, x)] + e[(x, v)])
                for y in nb[x]:
                    if keep[y] or y == x:
                        continue
                    for v in nb[y]:
                        if v in pos and v != u:
                            expected.setdefault((pos[u], pos[v]), []).append(e[(u, x)] + e[(x, y)] + e[(y, v)])
        got = as_dict(new_ei, new_ea)
        assert set(got) == set(expected), trial
        for key, vals in expected.items():
            torch.testing.assert_close(got[key], torch.stack(vals).sum(0), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- selection
def test_topk_keeps_ceil_ratio_per_graph_sorted():
    score = torch.tensor([0.1, 0.9, 0.5, 0.3, 2.0, -1.0, 0.0])
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    kept = tanh_topk_select(score, 0.5, batch)
    assert kept.tolist() == [1, 2, 4, 6]  # ceil(2.0)=2 of graph 0, ceil(1.5)=2 of graph 1
    assert tanh_topk_select(score, 1.0, batch).tolist() == list(range(7))
    # every non-empty graph keeps at least one atom
    assert tanh_topk_select(score, 0.01, batch).tolist() == [1, 4]


def test_pooler_gates_kept_atoms_with_tanh():
    torch.manual_seed(0)
    pool = EdgeSimplePool(4, ratio=0.5)
    x = torch.randn(6, 4)
    ei, ea = undirected([(i, i + 1) for i in range(5)], [onehot(i % 3, 3) for i in range(5)])
    out = pool(x, ei, edge_attr=ea)
    y = x @ pool.p
    kept = torch.topk(y, 3).indices.sort().values
    torch.testing.assert_close(out.x, x[kept] * torch.tanh(y[kept]).unsqueeze(-1))
    assert out.so.kept.tolist() == kept.tolist()
    assert out.batch.tolist() == [0, 0, 0]
    # Select gets a gradient through the gate
    out.x.sum().backward()
    assert pool.p.grad is not None and pool.p.grad.abs().sum() > 0


def test_registry_and_flags():
    assert {"edge_simple", "edge_coarse"} <= set(poolkit.list_poolers())
    p = poolkit.get_pooler("edge_coarse", in_channels=4, edge_channels=3, ratio=0.7)
    assert isinstance(p, EdgeCoarsePool) and p.is_trainable and not p.is_dense and not p.has_aux_loss


# ---------------------------------------------------------------- coarse-grain pooling
def test_coarse_uses_two_networks_and_stays_symmetric():
    torch.manual_seed(1)
    pool = EdgeCoarsePool(5, 3, ratio=0.6)
    x = torch.randn(7, 5)
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 0), (1, 4)]
    ei, ea = undirected(pairs, [torch.randn(3) for _ in pairs])
    out = pool(x, ei, edge_attr=ea)
    d = as_dict(out.edge_index, out.edge_attr)
    assert set(d) == {(v, u) for u, v in d}
    for (u, v), f in d.items():
        torch.testing.assert_close(f, d[(v, u)])
    out.edge_attr.sum().backward()
    assert pool.drop_net[0].weight.grad.abs().sum() > 0
    assert pool.kept_net[0].weight.grad.abs().sum() > 0


def test_coarse_same_topology_as_simple():
    torch.manual_seed(2)
    simple, coarse = EdgeSimplePool(4, 0.5), EdgeCoarsePool(4, 2, 0.5)
    coarse.p.data.copy_(simple.p.data)
    x = torch.randn(8, 4)
    ei, ea = undirected([(i, i + 1) for i in range(7)] + [(0, 5)], [torch.randn(2) for _ in range(8)])
    a, b = simple(x, ei, edge_attr=ea), coarse(x, ei, edge_attr=ea)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.so.kept, b.so.kept)


# ---------------------------------------------------------------- convolution
def test_dual_message_conv_matches_formulas():
    torch.manual_seed(3)
    conv = DualMessageConv(3, 2, 4, 5).eval()
    for bn in (conv.bn_node, conv.bn_edge):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(4, 3)
    ei, ea = undirected([(0, 1), (1, 2), (1, 3)], [torch.randn(2) for _ in range(3)])
    a, e = conv(x, ei, ea)

    def bn(m, z):
        return (z - m.running_mean) / torch.sqrt(m.running_var + m.eps) * m.weight + m.bias

    for i in range(4):
        m = sum((conv.f(torch.cat([x[j], ea[k]])) for k, (j, t) in enumerate(ei.t().tolist()) if t == i), torch.zeros(4))
        torch.testing.assert_close(a[i], torch.relu(bn(conv.bn_node, m + conv.self_node(x[i]))), atol=1e-5, rtol=1e-5)
    for k, (j, i) in enumerate(ei.t().tolist()):
        m = conv.g(torch.cat([a[i] + a[j], ea[k]])) + conv.self_edge(ea[k])
        torch.testing.assert_close(e[k], torch.relu(bn(conv.bn_edge, m)), atol=1e-5, rtol=1e-5)


def test_conv_handles_no_edges_one_atom_and_isolated_atoms():
    conv = DualMessageConv(3, 2, 4, 4).train()
    a, e = conv(torch.randn(5, 3), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2))
    assert a.shape == (5, 4) and e.shape == (0, 4) and torch.isfinite(a).all()
    # a single bond in training mode must not crash batch norm
    a, e = conv(torch.randn(3, 3), torch.tensor([[0], [1]]), torch.randn(1, 2))
    assert torch.isfinite(e).all()
    conv.eval()
    a, e = conv(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2))
    assert a.shape == (1, 4) and torch.isfinite(a).all()


def test_pooling_edgeless_and_one_atom_graphs():
    pool = EdgeCoarsePool(3, 2, ratio=0.5)
    out = pool(torch.randn(4, 3), torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 2))
    assert out.x.shape == (2, 3) and out.edge_index.shape == (2, 0) and out.edge_attr.shape == (0, 2)
    out = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 2))
    assert out.x.shape == (1, 3) and torch.isfinite(out.x).all()


# ---------------------------------------------------------------- model, batching, readout
def molecule(n, seed, node_dim=5, edge_dim=3):
    g = torch.Generator().manual_seed(seed)
    pairs = [(i, i + 1) for i in range(n - 1)]
    if n > 4:
        pairs.append((0, n - 1))  # a ring
    if n > 6:
        pairs.append((2, 5))
    ei, ea = undirected(pairs, [torch.rand(edge_dim, generator=g) for _ in pairs]) if pairs else (
        torch.empty(2, 0, dtype=torch.long), torch.empty(0, edge_dim))
    return Data(x=torch.rand(n, node_dim, generator=g), edge_index=ei, edge_attr=ea, y=torch.rand(1, generator=g))


@pytest.mark.parametrize("pool", [None, "simple", "coarse"])
def test_batch_equals_one_by_one(pool):
    torch.manual_seed(4)
    model = DualMessageNet(5, 3, 2, node_channels=(8, 8, 8), edge_hidden=(6, 6, 6), pool=pool, ratio=0.6).eval()
    mols = [molecule(n, s) for s, n in enumerate([7, 1, 5, 9, 3])]
    batched, _ = model(Batch.from_data_list(mols))
    single = torch.cat([model(Batch.from_data_list([m]))[0] for m in mols])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(batched).all()


@pytest.mark.parametrize("pool", ["simple", "coarse"])
def test_readout_is_permutation_invariant(pool):
    torch.manual_seed(5)
    model = DualMessageNet(5, 3, 1, node_channels=(8, 8, 8), edge_hidden=(4, 4, 4), pool=pool, ratio=0.5).eval()
    mol = molecule(9, 11)
    perm = torch.randperm(9)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(9)
    permuted = Data(x=mol.x[perm], edge_index=inv[mol.edge_index], edge_attr=mol.edge_attr)
    a, _ = model(Batch.from_data_list([mol]))
    b, _ = model(Batch.from_data_list([permuted]))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_gather_is_max_and_sum_with_tanh():
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, -1.0]])
    out = gather(x, torch.tensor([0, 0, 1]))
    expected = torch.tanh(torch.tensor([[1.0, 3.0, 1.5, 1.0], [-1.0, -1.0, -1.0, -1.0]]))
    torch.testing.assert_close(out, expected)
    assert torch.equal(gather(x[torch.tensor([1, 0])], torch.tensor([0, 0])), gather(x[:2], torch.tensor([0, 0])))


def test_model_pools_after_every_conv_but_the_last_and_coarsen_maps_back():
    model = DualMessageNet(5, 3, 1, node_channels=(8, 8, 8), edge_hidden=(4, 4, 4), pool="simple", ratio=0.5).eval()
    assert len(model.pools) == 2
    mol = molecule(9, 12)
    levels = model.coarsen(Batch.from_data_list([mol]))
    assert [lv["atoms"].numel() for lv in levels] == [5, 3]
    assert set(levels[1]["atoms"].tolist()) <= set(levels[0]["atoms"].tolist())
    for lv in levels:
        assert set(lv["edge_index"].view(-1).tolist()) <= set(lv["atoms"].tolist())
    assert len(DualMessageNet(5, 3, pool=None, node_channels=(8, 8), edge_hidden=(4, 4)).pools) == 0


def test_model_trains_a_step():
    torch.manual_seed(6)
    model = DualMessageNet(5, 3, 1, node_channels=(8, 8), edge_hidden=(4, 4), pool="coarse", ratio=0.7)
    data = Batch.from_data_list([molecule(n, s) for s, n in enumerate([6, 8, 4, 7])])
    losses = []
    for _ in range(15):  # plain gradient descent
        model.zero_grad()
        pred, aux = model(data)
        loss = torch.nn.functional.mse_loss(pred, data.y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= 0.05 * p.grad
        losses.append(loss.item())
    assert aux == {} and losses[-1] < losses[0]


# ---------------------------------------------------------------- errors
def test_bad_inputs_raise_value_errors():
    x = torch.randn(3, 4)
    ei, ea = undirected([(0, 1), (1, 2)], [onehot(0, 2), onehot(1, 2)])
    pool = EdgeSimplePool(4, 0.5)
    with pytest.raises(ValueError, match="edge_attr"):
        pool(x, ei)
    with pytest.raises(ValueError, match="edge_attr"):
        pool(x, ei, edge_attr=ea[:3])
    with pytest.raises(ValueError, match="edge_index"):
        pool(x, torch.tensor([[0, 5], [1, 0]]), edge_attr=ea[:2])
    with pytest.raises(ValueError, match="x must have 4"):
        pool(torch.randn(3, 2), ei, edge_attr=ea)
    with pytest.raises(ValueError, match="batch"):
        pool(x, ei, batch=torch.tensor([0, 1]), edge_attr=ea)
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="ratio"):
            EdgeSimplePool(4, bad)
    with pytest.raises(ValueError, match="in_channels"):
        EdgeSimplePool(0, 0.5)
    with pytest.raises(ValueError, match="edge_channels"):
        EdgeCoarsePool(4, 0)
    with pytest.raises(ValueError, match="edge_attr must have 3"):
        EdgeCoarsePool(4, 3)(x, ei, edge_attr=ea)
    with pytest.raises(ValueError, match="edge_channels|edge_attr must have"):
        DualMessageConv(4, 3, 4, 4)(x, ei, ea)
    with pytest.raises(ValueError, match="pool"):
        DualMessageNet(4, 2, pool="max")


def test_pooled_molecule_figure_marks_new_bonds():
    from poolkit.data import smiles_to_data
    from poolkit.edge import pooled_molecule_figure

    mol = smiles_to_data("CCO")  # drop the middle carbon: C0-O2 is a new bond
    kept = torch.tensor([0, 2])
    ei, _ = contract_edges(mol.edge_index, mol.edge_attr, kept, 3)
    fig = pooled_molecule_figure("CCO", mol.edge_index, [{"atoms": kept, "edge_index": kept[ei]}])
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 4  # old / new bonds in each of the two panels
    old0, new0, old1, new1 = (sum(v is not None for v in t.x) // 2 for t in lines)
    assert (old0, new0, old1, new1) == (2, 0, 0, 1)
