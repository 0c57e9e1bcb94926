"""D-MPNN: hand-computed messages on a three-atom molecule, permutation equivariance, errors."""
import pytest
import torch

from poolkit.nn.dmpnn import DMPNN, reverse_edge_index


def set_weights(model, wi, wm, wa, ba):
    with torch.no_grad():
        model.w_i.weight.copy_(wi)
        model.w_m.weight.copy_(wm)
        model.w_a.weight.copy_(wa)
        model.w_a.bias.copy_(ba)


def test_reverse_edge_index():
    ei = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 0]])
    assert reverse_edge_index(ei, 3).tolist() == [1, 0, 3, 2, -1]


def test_three_atom_molecule_by_hand():
    # A-B-C chain (think C-O-C): atoms 0, 1, 2; bonds 0-1 and 1-2, both directions.
    x = torch.tensor([[1.0], [2.0], [3.0]])
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    e = torch.tensor([[1.0], [1.0], [-1.0], [-1.0]])
    model = DMPNN(1, 1, hidden=2, depth=3, dropout=0.0)
    wi = torch.tensor([[1.0, 0.5], [0.0, 1.0]])  # h0 = relu([x_i + 0.5 e, e])
    wm = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    wa = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    ba = torch.tensor([0.0, -1.0])
    set_weights(model, wi, wm, wa, ba)
    relu = lambda v: v.clamp(min=0)
    # edge states, keyed by (source, target), computed by hand from the formulas
    feats = {(0, 1): (1.0, 1.0), (1, 0): (2.0, 1.0), (1, 2): (2.0, -1.0), (2, 1): (3.0, -1.0)}
    h0 = {k: relu(torch.tensor([xi + 0.5 * ej, ej])) for k, (xi, ej) in feats.items()}
    h = dict(h0)
    nbr = {0: [1], 1: [0, 2], 2: [1]}
    for _ in range(2):
        new = {}
        for (i, j) in h:
            m = sum((h[(k, i)] for k in nbr[i] if k != j), torch.zeros(2))
            new[(i, j)] = relu(h0[(i, j)] + wm @ m)
        h = new
    expect = []
    for i in range(3):
        m = sum((h[(j, i)] for j in nbr[i]), torch.zeros(2))
        expect.append(relu(wa @ torch.cat([x[i], m]) + ba))
    out, edges = model(x, ei, e, return_edges=True)
    assert torch.allclose(out, torch.stack(expect), atol=1e-6)
    order = [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert torch.allclose(edges, torch.stack([h[k] for k in order]), atol=1e-6)
    # the terminal edge 0->1 gets no message at all (its only other neighbour would be the reverse edge)
    assert torch.allclose(edges[0], h0[(0, 1)])


def test_permutation_equivariance_and_batching():
    torch.manual_seed(0)
    model = DMPNN(4, 2, hidden=8, depth=4, dropout=0.0)
    x = torch.randn(6, 4)
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 4, 5], [1, 0, 2, 1, 3, 2, 5, 4]])
    e = torch.randn(8, 2)
    out = model(x, ei, e)
    perm = torch.randperm(6)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(6)
    eperm = torch.randperm(8)
    out2 = model(x[perm], inv[ei][:, eperm], e[eperm])
    assert torch.allclose(out2, out[perm], atol=1e-6)
    # two disconnected components = the two graphs one by one
    a = model(x[:4], ei[:, :6], e[:6])
    assert torch.allclose(a, out[:4], atol=1e-6)


def test_defaults_and_no_edges():
    model = DMPNN(3, 2)
    assert model.hidden == 200 and abs(model.dropout.p - 0.15) < 1e-12
    model.eval()
    out = model(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2))
    assert out.shape == (1, 200) and torch.isfinite(out).all()


def test_bad_input():
    with pytest.raises(ValueError, match="hidden"):
        DMPNN(3, 2, hidden=0)
    with pytest.raises(ValueError, match="edge_dim"):
        DMPNN(3, -1)
    model = DMPNN(3, 2)
    with pytest.raises(ValueError, match="edge_attr"):
        model(torch.randn(2, 3), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="x must have 3"):
        model(torch.randn(2, 4), torch.tensor([[0], [1]]), torch.randn(1, 2))
    with pytest.raises(ValueError, match="edge_index"):
        model(torch.randn(2, 3), torch.tensor([[0], [7]]), torch.randn(1, 2))


@pytest.mark.parametrize("pool,kw", [(None, {}), ("gmpool", {}), ("ngmpool", {}), ("diffpool", {"k": 3}),
                                     ("topk", {"k": 3}), ("sag", {"k": 3})])
def test_pool_net_batch_equals_one_by_one(pool, kw):
    from torch_geometric.data import Batch, Data

    from poolkit.nn.dmpnn import DMPNNPoolNet

    torch.manual_seed(0)
    graphs = []
    for n in (4, 6, 5):
        i = torch.arange(n)
        ei = torch.stack([torch.cat([i, (i + 1) % n]), torch.cat([(i + 1) % n, i])])
        graphs.append(Data(x=torch.randn(n, 3), edge_index=ei, edge_attr=torch.rand(ei.size(1), 2)))
    model = DMPNNPoolNet(3, 2, hidden=8, dropout=0.0, pool=pool, **kw).double().eval()
    for g in graphs:
        g.x, g.edge_attr = g.x.double(), g.edge_attr.double()
    with torch.no_grad():
        together, _ = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(Batch.from_data_list([g]))[0] for g in graphs])
    assert torch.isfinite(together).all()
    assert torch.allclose(together, alone, atol=1e-8)


def test_pool_net_supernode_norm_choice():
    """``supernode_norm="none"`` drops the LayerNorm on the pooled super-node (the GMPool
    paper's text names none); any other value than "layer"/"none" is refused."""
    from poolkit.nn.dmpnn import DMPNNPoolNet

    assert isinstance(DMPNNPoolNet(3, 2, hidden=8, pool="gmpool").norm, torch.nn.LayerNorm)
    bare = DMPNNPoolNet(3, 2, hidden=8, pool="gmpool", supernode_norm="none")
    assert isinstance(bare.norm, torch.nn.Identity)
    assert not any("norm" in name for name, _ in bare.named_parameters())
    with pytest.raises(ValueError, match="supernode_norm"):
        DMPNNPoolNet(3, 2, hidden=8, pool="gmpool", supernode_norm="batch")
