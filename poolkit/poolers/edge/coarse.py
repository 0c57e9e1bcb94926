r"""``edge_coarse`` (Bal et al., DLG@KDD 2019): two small networks give the path features,
:math:`\varphi_\text{drop}([\sum a \,\|\, \sum e])` over the dropped atoms and bonds of a path
and :math:`\varphi_\text{kept}([a_u + a_v \,\|\, e_{uv}])` for a kept bond (our reading of
the paper's text; both symmetric in ``u, v``).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from poolkit.poolers.edge.base import EdgeFeaturePool
from poolkit.poolers.edge.contraction import contract_edges
from poolkit.src import check_positive_int, register

__all__ = ['EdgeCoarsePool']


@register("edge_coarse")
class EdgeCoarsePool(EdgeFeaturePool):
    """Coarse-grain pooling: two small networks compute the new bond features."""

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "edge_channels": edge_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, edge_channels: int, ratio: float = 0.5, hidden_channels: Optional[int] = None):
        super().__init__(in_channels, ratio)
        self.edge_channels = check_positive_int(edge_channels, "edge_channels")
        h = check_positive_int(hidden_channels or edge_channels, "hidden_channels")
        d = in_channels + edge_channels

        def mlp():
            return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, edge_channels))

        self.drop_net, self.kept_net = mlp(), mlp()

    def connect_edges(self, edge_index, edge_attr, so, x_pool, x):
        if edge_attr.size(1) != self.edge_channels:
            raise ValueError(f"edge_attr must have {self.edge_channels} features per edge, got {edge_attr.size(1)}")
        gated = x * torch.tanh(so.extra["score"]).unsqueeze(-1)
        return contract_edges(edge_index, edge_attr, so.kept, so.num_nodes, gated, self.drop_net, self.kept_net)
