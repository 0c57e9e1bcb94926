r"""What every pooler returns: :class:`PoolingOutput`, convertible between the two layouts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from poolkit.src.select import SelectOutput

# --------------------------------------------------------------------------- pooling output
def _num_graphs(*batches: Optional[Tensor]) -> int:
    """Number of graphs that the batch vectors given (``None`` skipped) mention, at least 1."""
    return max([1] + [int(bv.max()) + 1 for bv in batches if bv is not None and bv.numel()])


def _slots(batch: Tensor, b: int) -> Tuple[Tensor, Tensor]:
    """``(counts, pos)``: items per graph and each item's position within its graph, for a
    sorted ``batch``."""
    counts = torch.bincount(batch, minlength=b)
    offset = torch.cumsum(counts, 0) - counts
    return counts, torch.arange(batch.numel(), device=batch.device) - offset[batch]


@dataclass
class PoolingOutput:
    """What every pooler returns.

    Sparse poolers fill ``x`` ``[K_total, F]``, ``edge_index``, ``edge_weight``, ``batch``
    (and ``edge_attr`` when they pool edge features). Dense poolers fill ``x`` ``[B, K, F]``,
    ``adj`` ``[B, K, K]`` and ``mask`` ``[B, K]``. ``so`` is the :class:`SelectOutput`;
    ``losses`` maps names to unweighted auxiliary losses (each a per-graph mean).
    """

    x: Tensor
    so: SelectOutput
    edge_index: Optional[Tensor] = None
    edge_weight: Optional[Tensor] = None
    edge_attr: Optional[Tensor] = None
    batch: Optional[Tensor] = None
    adj: Optional[Tensor] = None
    mask: Optional[Tensor] = None
    losses: Dict[str, Tensor] = field(default_factory=dict)

    @property
    def is_dense(self) -> bool:
        return self.adj is not None or self.x.dim() == 3

    @property
    def loss(self) -> Tensor:
        """Sum of the auxiliary losses (unweighted); zero when there are none."""
        if not self.losses:
            return self.x.new_zeros(())
        return sum(self.losses.values())

    # ---- layouts ----------------------------------------------------------------------
    def to_dense(self) -> "PoolingOutput":
        """The same pooled graph in the dense layout: ``x [B, K_max, F]``, ``adj [B, K_max,
        K_max]``, ``mask [B, K_max]`` (``edge_attr [B, K_max, K_max, D]`` when there are edge
        features) and a dense ``so``; the losses are shared. A dense output is returned as
        it is.

        Supernodes must be sorted by graph (``batch`` non-decreasing, as every sparse pooler
        returns them); a missing ``edge_weight`` counts 1 per edge, and parallel edges add up.
        """
        if self.is_dense:
            return self
        x, dev = self.x, self.x.device
        k = x.size(0)
        batch = self.batch if self.batch is not None else torch.zeros(k, dtype=torch.long, device=dev)
        if k > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted (supernodes grouped by graph) to convert to the dense layout")
        b = _num_graphs(batch, self.so.batch)
        counts, pos = _slots(batch, b)
        k_max = int(counts.max()) if k else 0
        xd = x.new_zeros((b, k_max) + tuple(x.shape[1:]))
        xd[batch, pos] = x
        mask = torch.arange(k_max, device=dev).unsqueeze(0) < counts.unsqueeze(1)
        ei = self.edge_index if self.edge_index is not None else torch.empty(2, 0, dtype=torch.long, device=dev)
        w = self.edge_weight if self.edge_weight is not None else x.new_ones(ei.size(1))
        g, r, c = batch[ei[0]], pos[ei[0]], pos[ei[1]]
        adj = w.new_zeros(b, k_max, k_max).index_put((g, r, c), w, accumulate=True)
        edge_attr = None
        if self.edge_attr is not None:
            ea = self.edge_attr
            edge_attr = ea.new_zeros((b, k_max, k_max) + tuple(ea.shape[1:])).index_put((g, r, c), ea, accumulate=True)
        s, smask = self.so.to_dense()
        cbatch = self.so.cluster_batch if self.so.cluster_batch is not None else batch
        kc = torch.bincount(cbatch, minlength=s.size(0)) if cbatch.numel() else torch.zeros(s.size(0), dtype=torch.long,
                                                                                               device=dev)
        cmask = torch.arange(s.size(2), device=dev).unsqueeze(0) < kc.unsqueeze(1)
        so = SelectOutput.from_dense(s, smask, cmask)
        so.extra = dict(self.so.extra)
        return PoolingOutput(x=xd, so=so, adj=adj, mask=mask, edge_attr=edge_attr, losses=self.losses)

    def to_sparse(self) -> "PoolingOutput":
        """The same pooled graph in the sparse layout: ``x [K_total, F]`` (the real supernodes,
        graph by graph), ``edge_index`` / ``edge_weight`` (the non-zeros of ``adj``, sorted by
        source then target), ``edge_attr`` at those edges, ``batch``, and a sparse ``so``
        listing the non-zeros of ``S``; the losses are shared. A sparse output is returned as
        it is.

        An edge is kept where ``adj`` is non-zero (or, with edge features, where either is),
        between real supernodes only, so ``to_sparse().to_dense()`` gives back the dense
        output on its real entries (each graph's real supernodes packed to the front, where a
        pooler's ``mask`` may have gaps).
        """
        if not self.is_dense:
            return self
        x, dev = self.x, self.x.device
        b, k_max = x.shape[:2]
        mask = self.mask if self.mask is not None else torch.ones(b, k_max, dtype=torch.bool, device=dev)
        counts = mask.sum(1)
        batch = torch.repeat_interleave(torch.arange(b, device=dev), counts)
        glob = torch.full((b, k_max), -1, dtype=torch.long, device=dev)
        glob[mask] = torch.arange(int(counts.sum()), device=dev)
        pair = mask.unsqueeze(2) & mask.unsqueeze(1)
        adj = self.adj if self.adj is not None else x.new_zeros(b, k_max, k_max)
        nz = adj != 0
        if self.edge_attr is not None:
            nz = nz | (self.edge_attr != 0).flatten(3).any(-1)
        g, r, c = (nz & pair).nonzero(as_tuple=True)
        edge_index = torch.stack([glob[g, r], glob[g, c]])
        edge_attr = None if self.edge_attr is None else self.edge_attr[g, r, c]
        so = self.so
        s, smask = so.to_dense()
        if s.size(2) != k_max:
            raise ValueError(f"so has {s.size(2)} supernode columns but x has {k_max}")
        n_counts = smask.sum(1)
        node_glob = torch.full(smask.shape, -1, dtype=torch.long, device=dev)
        node_glob[smask] = torch.arange(int(n_counts.sum()), device=dev)
        gi, i, kk = ((s != 0) & smask.unsqueeze(2) & mask.unsqueeze(1)).nonzero(as_tuple=True)
        sparse_so = SelectOutput(
            node_index=node_glob[gi, i], cluster_index=glob[gi, kk], weight=s[gi, i, kk],
            num_nodes=int(n_counts.sum()), num_clusters=int(counts.sum()),
            batch=torch.repeat_interleave(torch.arange(b, device=dev), n_counts), cluster_batch=batch,
            extra=dict(so.extra),
        )
        return PoolingOutput(x=x[mask], so=sparse_so, edge_index=edge_index, edge_weight=adj[g, r, c],
                             edge_attr=edge_attr, batch=batch, losses=self.losses)
