r"""The model of the edge-pooling chapter (Bal et al., DLG@KDD 2019, section 2.1):
:class:`DualMessageNet` puts a pooling layer after every dual-message convolution but the
last; :func:`gather` is the readout :math:`h_G = \tanh([\max_i h_i \,\|\, \sum_i h_i])`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from poolkit.poolers.edge.base import DualMessageConv
from poolkit.poolers.edge.coarse import EdgeCoarsePool
from poolkit.poolers.edge.simple import EdgeSimplePool
from poolkit.src import PoolingOutput, check_positive_int, check_ratio

__all__ = ['gather', 'DualMessageNet']


# --------------------------------------------------------------------------- gather + model
def gather(x: Tensor, batch: Optional[Tensor] = None, num_graphs: Optional[int] = None) -> Tensor:
    """``tanh([max_i x_i ‖ Σ_i x_i])`` per graph (a graph without atoms gives zeros)."""
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    idx = batch.unsqueeze(-1).expand_as(x)
    mx = x.new_zeros(num_graphs, x.size(1)).scatter_reduce_(0, idx, x, reduce="amax", include_self=False)
    sm = x.new_zeros(num_graphs, x.size(1)).index_add_(0, batch, x)
    return torch.tanh(torch.cat([mx, sm], dim=-1))


class DualMessageNet(nn.Module):
    """Dual-message convolutions with an edge pooling layer after each but the last,
    a per-atom linear layer, the gather layer and a final linear layer.

    ``pool`` is ``None`` (no pooling), ``"simple"`` or ``"coarse"``. ``model(data)`` returns
    ``(prediction [B, out_channels] (squeezed to [B] when out_channels == 1), {})``.
    """

    def __init__(
        self,
        in_channels: int,
        edge_channels: int,
        out_channels: int = 1,
        node_channels: Sequence[int] = (128, 128),
        edge_hidden: Sequence[int] = (128, 128),
        pool: Optional[str] = "simple",
        ratio: float = 0.9,
    ):
        super().__init__()
        if len(node_channels) < 1 or len(node_channels) != len(edge_hidden):
            raise ValueError("node_channels and edge_hidden must be non-empty and of the same length")
        if pool not in (None, "none", "simple", "coarse"):
            raise ValueError(f"pool must be None, 'simple' or 'coarse', got {pool!r}")
        self.pool_kind = None if pool in (None, "none") else pool
        self.ratio = check_ratio(ratio)
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.convs, self.pools = nn.ModuleList(), nn.ModuleList()
        n_in, e_in = in_channels, edge_channels
        for i, (n_out, e_out) in enumerate(zip(node_channels, edge_hidden)):
            self.convs.append(DualMessageConv(n_in, e_in, n_out, e_out))
            if self.pool_kind is not None and i < len(node_channels) - 1:
                if self.pool_kind == "simple":
                    self.pools.append(EdgeSimplePool(n_out, ratio))
                else:
                    self.pools.append(EdgeCoarsePool(n_out, e_out, ratio))
            n_in, e_in = n_out, e_out
        self.node_lin = nn.Linear(n_in, n_in)
        self.head = nn.Linear(2 * n_in, out_channels)

    def levels(self, data) -> Tuple[Tensor, Tensor, List[PoolingOutput]]:
        """Run the convolutions and pooling layers; return node features, their batch vector
        and the pooling outputs."""
        x, ei, ea = data.x.float(), data.edge_index, data.edge_attr.float()
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        outs = []
        for i, conv in enumerate(self.convs):
            x, ea = conv(x, ei, ea)
            if i < len(self.pools):
                out = self.pools[i](x, ei, batch=batch, edge_attr=ea)
                outs.append(out)
                x, ei, ea, batch = out.x, out.edge_index, out.edge_attr, out.batch
        return x, batch, outs

    def forward(self, data):
        x, batch, _ = self.levels(data)
        num_graphs = getattr(data, "num_graphs", None) or (int(batch.max()) + 1 if batch.numel() else 1)
        h = gather(self.node_lin(x), batch, num_graphs)
        pred = self.head(h)
        if self.out_channels == 1:
            pred = pred.squeeze(-1)
        return pred, {}

    @torch.no_grad()
    def coarsen(self, data) -> List[Dict[str, Tensor]]:
        """For every pooling layer: the surviving atoms and the pooled bonds, both in the
        numbering of the input graph (for drawing the paper's Fig. 2)."""
        _, _, outs = self.levels(data)
        ids = torch.arange(data.x.size(0), device=data.x.device)
        res = []
        for out in outs:
            ids = ids[out.so.kept]
            res.append({"atoms": ids.clone(), "edge_index": ids[out.edge_index], "batch": out.batch})
        return res
