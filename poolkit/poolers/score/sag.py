r"""SAGPool (Lee, Lee and Kang, "Self-Attention Graph Pooling", ICML 2019).

.. math::  y = \mathrm{GNN}(X, A) \in \mathbb R^N,\qquad i = \mathrm{top}_k(y),\qquad
           X' = (X \odot \mathrm{gate}(y))_i,\qquad A' = A_{i,i},

Top-K (:mod:`.topk`) with a one-channel graph convolution as the score, so a node's score
also depends on its neighbours.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.poolers.score.topk import TopKPool
from poolkit.src import register

__all__ = ['SAGPool', 'SAGPooling']


def _make_conv(conv, in_channels: int, **kwargs) -> torch.nn.Module:
    from torch_geometric.nn import GCNConv, GraphConv

    if conv == "gcn":
        return GCNConv(in_channels, 1, **kwargs)
    if conv == "graph":
        return GraphConv(in_channels, 1, **kwargs)
    if isinstance(conv, type) and issubclass(conv, torch.nn.Module):
        return conv(in_channels, 1, **kwargs)
    raise ValueError(f"conv must be 'gcn', 'graph' or a torch.nn.Module class, got {conv!r}")


@register("sag")
class SAGPool(TopKPool):
    r"""Self-Attention Graph Pooling: the score is a one-channel graph convolution.

    .. math::
        y = \mathrm{GNN}(X, A) \in R^{N},\quad i = \mathrm{top}_k(y),\quad
        X' = (X \odot \sigma(y))_i,\quad A' = A_{i,i}

    Args:
        in_channels: number of node features ``F``.
        ratio, k, gate: as in :class:`TopKPool`.
        conv: the scoring GNN: ``"gcn"`` (default, the paper's
            ``D̃^{-1/2} Ã D̃^{-1/2} X θ``), ``"graph"`` (PyG's default ``GraphConv``,
            ``θ_1 x_i + θ_2 Σ_j a_ji x_j``), or a PyG convolution class called as
            ``conv(in_channels, 1, **conv_kwargs)``.

    **Difference from PyG's ``SAGPooling`` (PyG issue 9862).** PyG feeds the one-channel
    GNN output into ``SelectTopK(1, ...)``, which multiplies it by a learned scalar ``p``
    and divides by ``|p|``: its score is ``sign(p) · GNN(X, A)``. The sign is drawn at
    initialisation and never changes in training (``p/|p|`` has zero gradient), so half of
    PyG's models rank by ``-GNN(X, A)``. The sign is redundant (the GNN can learn it), and
    the paper has no such factor, so here ``y = GNN(X, A)``. With the same GNN weights ours
    equals PyG when PyG's ``p > 0``, and equals PyG with negated GNN weights when ``p < 0``
    (both checked in ``tests/test_score.py``).
    """

    def __init__(
        self,
        in_channels: int,
        ratio: Optional[float] = None,
        k: Optional[int] = None,
        gate: str = "tanh",
        conv="gcn",
        **conv_kwargs,
    ):
        self._conv, self._conv_kwargs = conv, conv_kwargs
        super().__init__(in_channels, ratio=ratio, k=k, gate=gate)

    def _init_scorer(self) -> None:
        self.gnn = _make_conv(self._conv, self.in_channels, **self._conv_kwargs)

    def reset_parameters(self) -> None:
        self.gnn.reset_parameters()

    def score(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        if edge_weight is None:
            return self.gnn(x, edge_index).view(-1)
        return self.gnn(x, edge_index, edge_weight).view(-1)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", conv={type(self.gnn).__name__}"


SAGPooling = SAGPool  # the old name, kept for one release
