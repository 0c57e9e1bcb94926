r"""The dense soft-assignment pooler that the soft family shares (:class:`DenseSoftPool`).

.. math::  S = \mathrm{softmax}(\mathrm{MLP}(X)) \in [0, 1]^{N \times K},\qquad
           X' = S^\top X,\qquad A' = S^\top A S

(``assign="gnn"``: dense graph convolutions in place of the MLP). A subclass names its loss
function (``loss_fn``) and whether ``A'`` is normalised (``normalize_adj``); DiffPool,
MinCut, DMoN, TVGNN, Just Balance, HOSC and the random ablations are such subclasses.
``LOSS_PARTS`` says, for each method, which loss is the topology term and which the
quality term. The family overview is in :mod:`poolkit.poolers.soft`.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
from torch import Tensor
import torch.nn.functional as F

from poolkit.src import DensePooler, PoolInput, SelectOutput, check_positive_int

__all__ = ['LOSS_PARTS', 'DenseSoftPool']


#: For each method, which loss is the topology term and which the quality term.
LOSS_PARTS = {
    "diffpool": {"topology": "link", "quality": "entropy"},
    "mincut": {"topology": "cut", "quality": "ortho"},
    "dmon": {"topology": "spectral", "quality": "cluster"},
    "tvgnn": {"topology": "tv", "quality": "balance"},
}


# --------------------------------------------------------------------------- poolers
class DenseSoftPool(DensePooler):
    r"""Shared Select / Reduce / Connect of the soft-clustering poolers.

    ``S = softmax(MLP(X))`` with an MLP ``in_channels → hidden_channels… → k`` (one linear
    layer when ``hidden_channels`` is ``None``). With ``assign="gnn"`` the same layer sizes
    are dense graph convolutions instead, ``S = softmax(GNN_pool(X, A))`` (DiffPool's
    pooling GNN; ReLU between layers, no activation before the softmax): the
    assignment of a node then depends on its neighbours directly, not only through the
    message passing done before the pooler. Call it with PyG input
    ``pool(x, edge_index, batch)`` or with a dense batch ``pool(x, adj, mask=mask)``; it
    returns a dense :class:`~poolkit.src.PoolingOutput` (``x [B,K,F]``, ``adj [B,K,K]``).
    A subclass may override :meth:`select`; it must return ``S`` with zero padding rows
    (Reduce, Connect and the losses rely on it). Padding rows and columns of a dense ``adj``
    must be zero.
    """

    is_trainable = True
    has_aux_loss = True
    normalize_adj: bool = True
    loss_fn = None  # set by each subclass

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "k": k}

    def __init__(
        self,
        in_channels: int,
        k: int,
        hidden_channels: Union[None, int, Sequence[int]] = None,
        dropout: float = 0.0,
        assign: str = "mlp",
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.k = check_positive_int(k, "k")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        if assign not in ("mlp", "gnn"):
            raise ValueError(f"assign must be 'mlp' or 'gnn', got {assign!r}")
        self.dropout, self.assign = float(dropout), assign
        hidden = [] if hidden_channels is None else (
            [hidden_channels] if isinstance(hidden_channels, int) else list(hidden_channels))
        sizes = [self.in_channels] + [check_positive_int(h, "hidden_channels") for h in hidden] + [self.k]
        if assign == "gnn":
            from torch_geometric.nn import DenseGCNConv

            self.mlp = torch.nn.ModuleList(DenseGCNConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        else:
            layers = []
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            self.mlp = torch.nn.Sequential(*layers[:-1])

    def assignment_logits(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None) -> Tensor:
        """``MLP(X)`` or, with ``assign="gnn"``, ``GNN_pool(X, A)``: ``[B, N, K]`` logits."""
        if self.assign == "mlp":
            return self.mlp(x)
        if adj is None:
            raise ValueError("assign='gnn' needs the adjacency: call the pooler with edge_index or adj")
        for i, conv in enumerate(self.mlp):
            x = conv(x, adj, mask)
            if i < len(self.mlp) - 1:
                x = torch.relu(x)
        return x

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    # ---- SRC ------------------------------------------------------------------------
    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        """``S = softmax(MLP(X))`` (or ``softmax(GNN_pool(X, A))``) for a dense batch ``x [B,N,F]``; padding rows are zero."""
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but in_channels={self.in_channels}")
        logits = F.dropout(self.assignment_logits(x, adj, mask), self.dropout, self.training)
        s = torch.softmax(logits, dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The method's auxiliary losses (``adj_pool``: the raw ``Sᵀ A S``, to reuse it)."""
        return type(self).loss_fn(adj, so.s, so.mask, adj_pool=adj_pool)

    def reduce_input(self, g: PoolInput, so: SelectOutput) -> Tensor:
        return self.reduce(self.embed(g.x, g.adj, g.mask), so)

    def embed(self, x: Tensor, adj: Tensor, mask: Optional[Tensor]) -> Tensor:
        """The features that Reduce pools, ``X' = Sᵀ Z``: ``Z = X`` unless a subclass adds
        an embedding GNN (DiffPool with ``embed=True``)."""
        return x

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, k={self.k}, assign={self.assign!r}"
