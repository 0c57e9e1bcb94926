"""BN-Pool (poolkit/poolers/soft/bnpool.py): stick-breaking S, negative ELBO, per-graph cluster counts, tgp agreement."""
import math

import pytest
import torch
import torch.nn.functional as F

import poolkit
from poolkit import src
from poolkit.soft import BNPool, bnpool_losses, stick_breaking, to_dense_inputs

from peers import tgp_poolers
from test_soft import block_graph, random_batch


def test_registered_with_flags():
    info = {d["name"]: d for d in poolkit.pooler_info()}["bnpool"]
    assert info["class"] == "BNPool" and info["dense"] and info["trainable"] and info["aux_loss"]
    assert isinstance(src.example_pooler("bnpool", in_channels=3, k=4), BNPool)


def test_stick_breaking_closed_form_and_rows_sum_to_one():
    v = torch.tensor([[0.5, 0.5, 0.5]])
    assert torch.allclose(stick_breaking(v), torch.tensor([[0.5, 0.25, 0.125, 0.125]]))
    v = torch.rand(7, 9) * 0.98 + 0.01
    assert torch.allclose(stick_breaking(v).sum(-1), torch.ones(7), atol=1e-6)
    long = stick_breaking(torch.full((1, 200), 0.9, dtype=torch.float64))  # deep sticks do not underflow to NaN
    assert torch.isfinite(long).all() and long[0, -1].item() == pytest.approx(0.1 ** 200, rel=1e-9)


def test_losses_vanish_at_their_optima():
    k = 3
    a, s = block_graph([3, 3, 3])
    mu = 10.0 * (2 * torch.eye(k) - 1)
    # posterior equal to the prior Beta(1, alpha_DP): no KL; K at its prior mean: no prior loss
    qa, qb = torch.ones(1, 9, k - 1), torch.full((1, 9, k - 1), 2.0)
    out = bnpool_losses(a, s, None, qa, qb, mu, alpha_dp=2.0, k_mu=mu, k_var=1.0)
    assert out["kl"].abs().item() < 1e-6 and out["k_prior"].item() == 0.0
    # rec: the weighted BCE written out; small when K separates the true blocks
    logits = s @ mu @ s.t()
    e = a.sum()
    w = torch.where(a > 0, (81 - e) / e, torch.ones_like(a))
    ref = (w * F.binary_cross_entropy_with_logits(logits, a, reduction="none")).sum() / 81
    assert out["rec"].item() == pytest.approx(ref.item(), rel=1e-6)
    # the diagonal of A (no self-loops) is a non-edge that S K Sᵀ predicts as an edge
    assert out["rec"].item() == pytest.approx(9 * F.softplus(torch.tensor(10.0)).item() / 81, rel=1e-3)


def _pair(f=4, k=5):
    P = tgp_poolers()
    torch.manual_seed(0)
    ours, ref = BNPool(f, k), P.BNPool(in_channels=f, k=k)
    with torch.no_grad():
        ref.selector.mlp.lins[0].weight.copy_(ours.mlp[0].weight)
        ref.selector.mlp.lins[0].bias.copy_(ours.mlp[0].bias)
    return ours, ref


@pytest.mark.parametrize("sizes", [[9], [6, 10, 8]])
def test_matches_tgp_bnpool_for_the_same_draw(sizes):
    ours, ref = _pair()
    x, ei, batch = random_batch(sizes, f=4)
    xd, adj, mask = to_dense_inputs(x, ei, batch)
    torch.manual_seed(5)
    a = ours(xd, adj, mask=mask)
    torch.manual_seed(5)
    b = ref(xd, adj, mask=mask)
    assert torch.allclose(a.so.s, b.so.s, atol=1e-6)
    assert torch.allclose(a.x, b.x, atol=1e-5) and torch.allclose(a.adj, b.edge_index, atol=1e-5)
    assert torch.allclose(a.losses["rec"], b.loss["quality"], atol=1e-5)
    assert torch.allclose(a.losses["kl"], b.loss["kl"], atol=1e-6)
    # tgp divides the batch-wide K prior once more by the batch size (see the BNPool docstring)
    assert torch.allclose(a.losses["k_prior"], b.loss["K_prior"] * len(sizes), rtol=1e-5)
    sum(a.losses.values()).backward()
    sum(b.loss.values()).backward()
    if len(sizes) == 1:  # with one graph the K priors agree, hence the whole gradient of K
        assert torch.allclose(ours.K.grad, ref.K.grad, rtol=1e-4, atol=1e-6)
    assert torch.allclose(ours.mlp[0].weight.grad, ref.selector.mlp.lins[0].weight.grad, atol=1e-5)


def test_eval_is_deterministic_and_batch_equals_graphs_one_by_one():
    torch.manual_seed(1)
    pool = BNPool(4, 5).eval()
    sizes = [5, 9, 7]
    x, ei, batch = random_batch(sizes, f=4)
    out = pool(x, ei, batch)
    assert torch.equal(out.x, pool(x, ei, batch).x)
    off, per = 0, {"rec": [], "kl": [], "k_prior": []}
    for g, n in enumerate(sizes):
        m = batch == g
        o = pool(x[m], ei[:, m[ei[0]]] - off)
        assert torch.allclose(out.x[g], o.x[0], atol=1e-5) and torch.allclose(out.adj[g], o.adj[0], atol=1e-5)
        assert torch.equal(out.mask[g], o.mask[0])
        for key in per:
            per[key].append(o.losses[key])
        off += n
    for key, vals in per.items():
        assert torch.allclose(out.losses[key], torch.stack(vals).mean(), rtol=1e-5), key


def test_cluster_mask_counts_the_clusters_each_graph_uses():
    torch.manual_seed(2)
    pool = BNPool(4, 6).eval()
    x, ei, batch = random_batch([8, 12], f=4)
    out = pool(x, ei, batch)
    s, mask = out.so.s, out.so.mask
    for g in range(2):
        used = set(s[g][mask[g]].argmax(-1).tolist())
        assert set(out.mask[g].nonzero().view(-1).tolist()) == used
    # a DP prior that makes later sticks cheap or expensive changes the count after training
    # is a property of training; here: a node whose first stick is ~1 uses cluster 0 only
    with torch.no_grad():
        pool.mlp[0].weight.zero_()
        pool.mlp[0].bias.copy_(torch.tensor([50.0] * 5 + [-50.0] * 5))  # alpha large, beta ~0: v ~ 1
    out = pool(x, ei, batch)
    assert out.mask.sum(-1).tolist() == [1, 1]


def test_one_node_graph_and_gradients_are_finite():
    pool = BNPool(3, 4)
    x = torch.randn(1, 3, requires_grad=True)
    out = pool(x, torch.empty(2, 0, dtype=torch.long))
    sum(out.losses.values()).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(pool.K.grad).all()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        BNPool(3, 1)
    with pytest.raises(ValueError, match="alpha_dp"):
        BNPool(3, 4, alpha_dp=0)
    with pytest.raises(ValueError, match="k_var"):
        BNPool(3, 4, k_var=-1.0)
    with pytest.raises(ValueError, match="in_channels"):
        BNPool(3, 4)(torch.randn(4, 5), torch.tensor([[0, 1], [1, 0]]))
