r"""DiffPool (Ying et al., "Hierarchical Graph Representation Learning with
Differentiable Pooling", NeurIPS 2018).

.. math::  S = \mathrm{softmax}(\mathrm{GNN}_\text{pool}(X, A)),\quad
           X' = S^\top Z,\quad A' = S^\top A S,

    \mathcal L_\text{link} = \|A - SS^\top\|_F / N^2,\qquad
    \mathcal L_\text{entropy} = \tfrac1N \textstyle\sum_i H(S_i).

The :math:`1/N^2` of the link loss is PyTorch Geometric's normalisation (the paper has no
factor); both losses are computed per graph and averaged over graphs.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.ops.dense import EPS, _masked, _pooled, _reduce, _trace
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import register

__all__ = ['diffpool_losses', 'DiffPool']


# --------------------------------------------------------------------------- losses
def diffpool_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                    adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""DiffPool: ``link`` :math:`= \|A - SS^\top\|_F / N^2` (the paper has no :math:`1/N^2`;
    it is PyG's normalisation, kept so the loss is comparable across sizes) and ``entropy``
    :math:`= \frac1N \sum_i -\sum_k S_{ik}\log S_{ik}`; both 0 at a hard ``S`` with
    :math:`A = SS^\top` (disjoint cliques with self-loops).

    The Frobenius norm is expanded as :math:`\|A - SS^\top\|_F^2 = \|A\|_F^2 -
    2\,\mathrm{Tr}(S^\top A S) + \|S^\top S\|_F^2`, which reuses the pooled :math:`S^\top A S`
    (``adj_pool``) and never forms the :math:`N \times N` matrix :math:`SS^\top`: one
    :math:`O(N^2K)` product fewer, forward and backward. Near the optimum the expansion
    loses digits (float32: an absolute error of about :math:`\sqrt{\epsilon}\,\|S^\top S\|_F / N^2`);
    it is exact at a hard ``S`` with a 0/1 ``A``."""
    adj, s, mask, n = _masked(adj, s, mask)
    n = n.clamp(min=1)
    ss = s.transpose(1, 2) @ s
    sq = adj.pow(2).sum((-1, -2)) - 2 * _trace(_pooled(adj, s, adj_pool)) + ss.pow(2).sum((-1, -2))
    link = torch.sqrt(sq.clamp(min=EPS)) * (sq > EPS) / n**2
    ent = (-s * torch.log(s + EPS)).sum(-1).sum(-1) / n
    return {"link": _reduce(link, reduction), "entropy": _reduce(ent, reduction)}


@register("diffpool")
class DiffPool(DenseSoftPool):
    r"""DiffPool (Ying et al. 2018): :math:`X' = S^\top Z`, :math:`A' = S^\top A S` (no
    normalisation); losses ``link`` and ``entropy`` (:func:`diffpool_losses`).

    The paper runs two GNNs on the same input, an *embedding* GNN
    :math:`Z = \mathrm{GNN}_\text{embed}(X, A)` and a *pooling* GNN
    :math:`S = \mathrm{softmax}(\mathrm{GNN}_\text{pool}(X, A))`. ``DiffPool(..., assign="gnn",
    embed=True)`` is that two-GNN form (one dense GCN layer ``in_channels → in_channels``
    with ReLU for the embedding GNN, dense GCN layers for the pooling GNN). The default
    (``assign="mlp"``, ``embed=False``) shares the message-passing layers before the pooler
    for both roles: ``Z = X`` and ``S = softmax(MLP(X))``, as MinCutPool and DMoN do. That
    keeps every soft pooler of :mod:`poolkit.soft` a drop-in replacement of the others
    and costs one dense convolution less per level.
    """

    normalize_adj = False
    loss_fn = staticmethod(diffpool_losses)

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0,
                 assign: str = "mlp", embed: bool = False):
        super().__init__(in_channels, k, hidden_channels, dropout, assign)
        self.gnn_embed = None
        if embed:
            from torch_geometric.nn import DenseGCNConv

            self.gnn_embed = DenseGCNConv(self.in_channels, self.in_channels)

    def embed(self, x: Tensor, adj: Tensor, mask: Optional[Tensor]) -> Tensor:
        if self.gnn_embed is None:
            return x
        z = torch.relu(self.gnn_embed(x, adj, mask))
        return z if mask is None else z * mask.unsqueeze(-1).to(z.dtype)
