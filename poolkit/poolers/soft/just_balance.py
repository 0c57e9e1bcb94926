r"""Just Balance pooling (Bianchi, "Simplifying Clustering with Graph Neural Networks", 2023).

.. math::  \mathcal L_\text{balance} = -\frac{\mathrm{Tr}\big(\sqrt{S^\top S}\big)}{\sqrt{N K}},

the balance term alone, with ``S = softmax(MLP(X))`` computed after message passing on the
normalised adjacency; ``A'`` as MinCut.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.ops.dense import EPS, _masked, _reduce
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import register

__all__ = ['just_balance_losses', 'JustBalancePool']


# --------------------------------------------------------------------------- Just Balance
def just_balance_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                        adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""Just Balance: ``balance`` :math:`= -\frac{1}{\sqrt{NK}}\,\mathrm{Tr}\big(\sqrt{S^\top S}\big)`.

    The square root is taken entry by entry, as in the paper's reference code, so the trace
    is :math:`\sum_k \|S_{:,k}\|_2`, the sum of the column norms (for a hard ``S`` the
    matrix :math:`S^\top S` is diagonal and both readings coincide). By Cauchy-Schwarz,
    :math:`\sum_k \|S_{:,k}\|_2 \le \sqrt{K \sum_{ik} S_{ik}^2} \le \sqrt{KN}`, so the loss
    lies in :math:`[-1, 0)` and reaches :math:`-1` exactly at a hard partition into ``K``
    clusters of equal size; a collapsed ``S`` (all nodes in one cluster) gives
    :math:`-1/\sqrt K`. There is no topology term: the graph enters only through the
    message passing that computes ``S``. ``adj`` is accepted (and ignored) so that every
    loss function of the soft family has the same signature.
    """
    adj, s, mask, n = _masked(adj, s, mask)
    k = s.size(-1)
    col = torch.sqrt((s * s).sum(1) + EPS)  # [B, K]: ||S_{:,k}||_2
    balance = -col.sum(-1) / torch.sqrt(n.clamp(min=1) * k)
    return {"balance": _reduce(balance, reduction)}


@register("just_balance")
class JustBalancePool(DenseSoftPool):
    r"""Just Balance pooling (Bianchi, "Simplifying Clustering with Graph Neural Networks",
    NLDL 2023): ``S = softmax(MLP(X))``, :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}` (as MinCut), and a single
    auxiliary loss, the balance term of :func:`just_balance_losses`,

    .. math::  \mathcal{L}_B = -\frac{\mathrm{Tr}\big(\sqrt{S^\top S}\big)}{\sqrt{NK}} .

    The paper's point is that the topology term of MinCut (or DMoN) can be dropped: a GNN
    whose message passing already smooths the features over the graph (the paper uses the
    propagation :math:`I - \delta(I - D^{-1/2} A D^{-1/2})`) produces assignments that
    follow the communities, and only the balance term is needed to stop ``S`` collapsing.
    With the same ``S`` the loss, pooled features and pooled adjacency equal tgp's
    ``JustBalancePooling`` (``tests/test_just_balance.py``).
    """

    loss_fn = staticmethod(just_balance_losses)
