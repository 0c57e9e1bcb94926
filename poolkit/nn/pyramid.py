r"""The model of the one-over-K chapter: :class:`PyramidGNN`, a GNN that pools along a
precomputed pyramid (:mod:`poolkit.data.pyramid`).
"""
from __future__ import annotations

import torch

from poolkit.data.pyramid import pyramid_level
from poolkit.src import check_positive_int

__all__ = ['PyramidGNN']


# --------------------------------------------------------------------------- a model and a figure
class PyramidGNN(torch.nn.Module):
    r"""``[GNN → reduce with the precomputed S_l]×L → GNN → readout → MLP``.

    The model for data coarsened by :class:`Precoarsen`: pooling costs one sparse
    ``Sᵀ X`` per level, with no matching, eigenvector or MIS computed while training.
    Level ``l`` runs its GNN on ``pool{l}_edge_index`` with the pooled edge weights.
    Returns ``(prediction, {})`` as :func:`poolkit.train.fit` expects.
    """

    def __init__(self, in_channels: int, out_channels: int, levels: int = 2, hidden: int = 64,
                 conv: str = "gcn", reduce_op: str = "sum", readout: str = "mean"):
        super().__init__()
        from poolkit.nn.gnn import GNN, MLP

        self.levels, self.reduce_op, self.readout_kind = check_positive_int(levels, "levels"), reduce_op, readout
        self.blocks = torch.nn.ModuleList(
            [GNN(in_channels if i == 0 else hidden, hidden, 1, conv=conv) for i in range(levels + 1)]
        )
        self.head = MLP([hidden, hidden, out_channels])

    def forward(self, data):
        from poolkit.nn.gnn import readout
        from poolkit.src import reduce as src_reduce

        x, ei, ew = data.x.float(), data.edge_index, None
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = data.pool_sizes.view(-1, data.pool_sizes.size(-1)).size(0)
        for lvl, block in enumerate(self.blocks):
            x = block(x, ei, ew)
            if lvl == self.levels:
                break
            lv = pyramid_level(data, lvl + 1)
            x = src_reduce(x, lv["so"], op=self.reduce_op)
            ei, ew, batch = lv["edge_index"], lv["edge_weight"], lv["batch"]
        pred = self.head(readout(x, batch, kind=self.readout_kind, num_graphs=num_graphs))
        return (pred.view(-1) if pred.size(-1) == 1 else pred), {}
