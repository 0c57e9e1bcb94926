r"""BN-Pool (Castellana and Bianchi, "BN-Pool: a Bayesian Nonparametric Approach to Graph
Pooling", 2025): soft clustering whose number of clusters is learned per graph.

An MLP gives every node the parameters of ``K-1`` Beta posteriors; the stick fractions are
drawn from them (reparameterised while training, the posterior mean in ``eval()``) and broken
into memberships,

.. math::  v_{ik} \sim \mathrm{Beta}(\alpha_{ik}, \beta_{ik}),\qquad
           S_{ik} = \pi_{ik} = v_{ik}\prod_{j<k}(1 - v_{ij}),

Reduce and Connect as MinCut. The losses are the three terms of the negative evidence lower
bound: ``rec`` (link reconstruction by a stochastic block model), ``kl`` (the Beta
posteriors against the Dirichlet-process prior) and ``k_prior`` (the Gaussian prior of the
block logits).
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor
import torch.nn.functional as F

from poolkit.ops.dense import _masked, _reduce
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import SelectOutput, check_positive_int, register

__all__ = ['stick_breaking', 'bnpool_losses', 'BNPool']


def stick_breaking(v: Tensor) -> Tensor:
    r"""Memberships from stick fractions: :math:`\pi_k = v_k \prod_{j<k}(1 - v_j)` for
    :math:`k < K` and :math:`\pi_K = \prod_{j<K}(1 - v_j)` (``v`` ``[..., K-1]`` in (0, 1) →
    ``π`` ``[..., K]``, rows summing to 1). Computed with logarithms, so long sticks do not
    underflow."""
    log_rest = torch.cumsum(torch.log1p(-v), dim=-1)  # log prod_{j<=k} (1 - v_j)
    head = torch.log(v) + F.pad(log_rest[..., :-1], (1, 0))
    return torch.exp(torch.cat([head, log_rest[..., -1:]], dim=-1))


def bnpool_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor], q_alpha: Tensor, q_beta: Tensor,
                  k_matrix: Tensor, alpha_dp: float = 1.0, k_mu: Optional[Tensor] = None, k_var: float = 1.0,
                  reduction: str = "mean") -> Dict[str, Tensor]:
    r"""The three terms of BN-Pool's negative evidence lower bound, each divided by the
    graph's :math:`N^2` and averaged over graphs.

    * ``rec``: the link reconstruction of a stochastic block model with block logits
      :math:`K`: :math:`\sum_{ij} w_{ij}\,\mathrm{BCE}\big(\sigma((S K S^\top)_{ij}), a_{ij}\big)`,
      the positive pairs weighted by :math:`w = (N^2 - E)/E` (``E`` the non-zeros of ``A``)
      so that edges and non-edges count alike in a sparse graph;
    * ``kl``: :math:`\sum_i\sum_{k<K} \mathrm{KL}\big(\mathrm{Beta}(\alpha_{ik}, \beta_{ik})
      \,\|\, \mathrm{Beta}(1, \alpha_{\mathrm{DP}})\big)`, the distance of the posterior
      stick fractions from the Dirichlet-process prior (a small :math:`\alpha_{\mathrm{DP}}`
      favours few clusters);
    * ``k_prior``: :math:`\frac{1}{2\sigma^2}\|K - K_\mu\|_F^2`, the Gaussian prior of the
      block logits (:math:`K_\mu = \mu(2I - \mathbf 1\mathbf 1^\top)`: dense blocks, sparse
      links between them).
    """
    from torch.distributions import Beta, kl_divergence

    adj, s, mask, n = _masked(adj, s, mask)
    n2 = n.clamp(min=1) ** 2
    logits = s @ k_matrix @ s.transpose(1, 2)
    target = (adj > 0).to(s.dtype)
    if mask is not None:
        pair = (mask.unsqueeze(-1) & mask.unsqueeze(-2)).to(s.dtype)
    else:
        pair = torch.ones_like(target)
    e = (target * pair).sum((-1, -2))
    pos_w = (n2 - e).clamp(min=1) / e.clamp(min=1)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    w = 1 + target * (pos_w.view(-1, 1, 1) - 1)
    rec = (bce * w * pair).sum((-1, -2)) / n2
    prior = Beta(torch.ones_like(q_alpha), torch.full_like(q_beta, float(alpha_dp)))
    kl = kl_divergence(Beta(q_alpha, q_beta), prior).sum(-1)
    if mask is not None:
        kl = kl * mask.to(kl.dtype)
    kl = kl.sum(-1) / n2
    if k_mu is None:
        k_mu = torch.zeros_like(k_matrix)
    k_prior = (0.5 * (k_matrix - k_mu) ** 2 / k_var).sum() / n2
    return {"rec": _reduce(rec, reduction), "kl": _reduce(kl, reduction), "k_prior": _reduce(k_prior, reduction)}


@register("bnpool")
class BNPool(DenseSoftPool):
    r"""BN-Pool (Castellana and Bianchi, "BN-Pool: a Bayesian Nonparametric Approach to Graph
    Pooling", 2025): soft clustering whose number of clusters is *learned per graph*.

    ``S`` comes from a truncated stick-breaking construction of a Dirichlet process: an MLP
    gives every node the parameters of ``K-1`` Beta posteriors, the stick fractions are
    drawn from them and broken into memberships,

    .. math::  (\alpha_i, \beta_i) = \mathrm{clamp}(\mathrm{softplus}(\mathrm{MLP}(x_i))),\qquad
               v_{ik} \sim \mathrm{Beta}(\alpha_{ik}, \beta_{ik}),\qquad
               S_{ik} = \pi_{ik} = v_{ik} \prod_{j<k} (1 - v_{ij})

    (:func:`stick_breaking`; reparametrised samples while training, the posterior mean
    :math:`\alpha/(\alpha+\beta)` in ``eval()`` mode so inference is deterministic).
    Reduce and Connect are MinCut's: :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}`. The auxiliary loss is the
    negative ELBO of a stochastic block model on ``A`` with learned block logits ``K``
    (``rec``, ``kl``, ``k_prior``, see :func:`bnpool_losses`). The Dirichlet-process prior
    makes later sticks expensive, so a graph uses only as many clusters as its structure
    pays for: ``out.mask`` (and ``out.so.cluster_mask``) marks, per graph, the clusters that
    are the largest membership of at least one node; the others are empty in all but a
    soft sense. This per-graph cluster count is what GMPool's chapter compares against.

    Args:
        in_channels, k, hidden_channels, dropout: as :class:`DenseSoftPool` (``k``: the
            truncation, the largest number of clusters; the MLP has ``2(k-1)`` outputs).
        alpha_dp: concentration of the DP prior (larger: more clusters).
        k_mu, k_var: mean scale :math:`\mu` and variance :math:`\sigma^2` of the prior of ``K``.
        k_init: initial ``K = k_init (2I - 11ᵀ)``.
        train_k: learn ``K`` (else it stays at its initial value and ``k_prior`` is 0).

    **Difference from tgp's ``BNPool``**, which this equals otherwise (same ``S``, pooled
    graph and ``rec`` and ``kl`` losses for the same draw, ``tests/test_bnpool.py``): tgp
    divides the ``K`` prior, a term shared by the whole batch, by the batch size before
    averaging the per-graph values, so its ``K_prior`` shrinks as batches grow; here each
    graph carries the prior over its own :math:`N^2` like the other terms, so the loss does
    not depend on the batch size (equal for a single graph). tgp also samples in eval mode.
    """

    loss_fn = None

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "k": max(k, 2)}

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0,
                 alpha_dp: float = 1.0, k_mu: float = 10.0, k_var: float = 1.0, k_init: float = 1.0,
                 train_k: bool = True):
        if isinstance(k, int) and not isinstance(k, bool) and k < 2:
            raise ValueError(f"k must be an integer >= 2 (the truncation of the stick-breaking), got {k!r}")
        for name, val in (("alpha_dp", alpha_dp), ("k_var", k_var)):
            if not isinstance(val, (int, float)) or isinstance(val, bool) or not val > 0:
                raise ValueError(f"{name} must be a positive number, got {val!r}")
        k = check_positive_int(k, "k")
        super().__init__(in_channels, 2 * (k - 1), hidden_channels, dropout)
        self.k = k  # the MLP above has 2(k-1) outputs; S has k columns
        self.alpha_dp, self.k_var, self.k_init_value, self.train_k = float(alpha_dp), float(k_var), float(k_init), bool(train_k)
        sign = 2 * torch.eye(k) - 1
        self.register_buffer("k_mu", float(k_mu) * sign)
        self.K = torch.nn.Parameter(float(k_init) * sign.clone(), requires_grad=self.train_k)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            self.K.copy_(self.k_init_value * (2 * torch.eye(self.k, device=self.K.device) - 1))

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        from torch.distributions import Beta

        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but in_channels={self.in_channels}")
        out = F.dropout(self.mlp(x), self.dropout, self.training)
        out = torch.clamp(F.softplus(out), min=1e-3, max=1e3)
        qa, qb = out[..., : self.k - 1], out[..., self.k - 1:]
        v = Beta(qa, qb).rsample() if self.training else qa / (qa + qb)
        s = stick_breaking(v)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        b, n, k = s.shape
        m = torch.ones(b, n, dtype=torch.bool, device=s.device) if mask is None else mask
        used = F.one_hot(s.argmax(-1), k).bool() & m.unsqueeze(-1)
        so = SelectOutput.from_dense(s, mask, cluster_mask=used.any(1))
        so.extra.update(q_alpha=qa, q_beta=qb)
        return so

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        out = bnpool_losses(adj, so.s, so.mask, so.extra["q_alpha"], so.extra["q_beta"], self.K,
                            self.alpha_dp, self.k_mu, self.k_var)
        if not self.train_k:
            out["k_prior"] = torch.zeros_like(out["k_prior"])
        return out
