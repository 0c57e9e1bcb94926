r"""The result of Select: :class:`SelectOutput`, the assignment matrix ``S`` in either layout."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

# --------------------------------------------------------------------------- select output
@dataclass
class SelectOutput:
    r"""The result of Select: the assignment matrix ``S`` and what is needed to use it.

    Dense layout (``s.dim() == 3``): ``s`` is ``[B, N, K]``; ``mask`` ``[B, N]`` marks real
    nodes (padding rows of ``s`` are ignored); ``cluster_mask`` ``[B, K]`` marks the
    supernodes a graph really has (all ``True`` unless a pooler chooses ``K`` per graph).

    Sparse layout: ``node_index``, ``cluster_index`` and ``weight`` list the non-zeros
    ``S[node_index[e], cluster_index[e]] = weight[e]`` over the ``num_nodes`` nodes and
    ``num_clusters`` supernodes of a concatenated batch; ``cluster_batch`` gives the graph
    of each supernode. ``kept`` optionally lists, for score-based poolers, the original
    node each supernode comes from.
    """

    s: Optional[Tensor] = None
    mask: Optional[Tensor] = None
    cluster_mask: Optional[Tensor] = None
    node_index: Optional[Tensor] = None
    cluster_index: Optional[Tensor] = None
    weight: Optional[Tensor] = None
    num_nodes: Optional[int] = None
    num_clusters: Optional[int] = None
    batch: Optional[Tensor] = None
    cluster_batch: Optional[Tensor] = None
    kept: Optional[Tensor] = None
    extra: Dict[str, Tensor] = field(default_factory=dict)

    # ---- constructors -------------------------------------------------------------
    @classmethod
    def from_dense(cls, s: Tensor, mask: Optional[Tensor] = None, cluster_mask: Optional[Tensor] = None) -> "SelectOutput":
        """Wrap a dense ``S`` (``[N, K]`` for one graph or ``[B, N, K]``)."""
        if s.dim() == 2:
            s = s.unsqueeze(0)
            mask = None if mask is None else mask.view(1, -1)
            cluster_mask = None if cluster_mask is None else cluster_mask.view(1, -1)
        if s.dim() != 3:
            raise ValueError(f"s must have shape [N, K] or [B, N, K], got {tuple(s.shape)}")
        b, n, k = s.shape
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=s.device)
        elif mask.shape != (b, n):
            raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
        if cluster_mask is None:
            cluster_mask = torch.ones(b, k, dtype=torch.bool, device=s.device)
        elif cluster_mask.shape != (b, k):
            raise ValueError(f"cluster_mask must have shape [{b}, {k}], got {tuple(cluster_mask.shape)}")
        return cls(s=s, mask=mask.bool(), cluster_mask=cluster_mask.bool())

    @classmethod
    def from_cluster_index(
        cls,
        cluster: Tensor,
        num_clusters: Optional[int] = None,
        batch: Optional[Tensor] = None,
        weight: Optional[Tensor] = None,
    ) -> "SelectOutput":
        """Hard assignment: node ``i`` goes to supernode ``cluster[i]`` (one-over-K poolers).

        ``cluster`` holds values in ``[0, num_clusters)``; a value of ``-1`` drops the node
        (it belongs to no supernode).
        """
        cluster = cluster.long().view(-1)
        n = cluster.numel()
        if num_clusters is None:
            num_clusters = int(cluster.max()) + 1 if n > 0 and int(cluster.max()) >= 0 else 0
        if n > 0 and int(cluster.max()) >= num_clusters:
            raise ValueError(f"cluster holds index {int(cluster.max())} but num_clusters={num_clusters}")
        keep = cluster >= 0
        node_index = torch.arange(n, device=cluster.device)[keep]
        cluster_index = cluster[keep]
        if weight is None:
            weight = torch.ones(node_index.numel(), device=cluster.device)
        else:
            weight = weight.view(-1)[keep]
        cluster_batch = None
        if batch is not None:
            cluster_batch = torch.zeros(num_clusters, dtype=torch.long, device=cluster.device)
            cluster_batch[cluster_index] = batch[node_index]
        return cls(
            node_index=node_index,
            cluster_index=cluster_index,
            weight=weight,
            num_nodes=n,
            num_clusters=num_clusters,
            batch=batch,
            cluster_batch=cluster_batch,
        )

    @classmethod
    def from_kept_nodes(
        cls, kept: Tensor, num_nodes: int, weight: Optional[Tensor] = None, batch: Optional[Tensor] = None
    ) -> "SelectOutput":
        """Score-based selection: supernode ``j`` is original node ``kept[j]``.

        ``S[kept[j], j] = weight[j]`` (1 when no weight is given), every other entry is 0.
        """
        kept = kept.long().view(-1)
        k = kept.numel()
        if k > 0 and (int(kept.min()) < 0 or int(kept.max()) >= num_nodes):
            raise ValueError(f"kept holds indices outside [0, {num_nodes})")
        if weight is None:
            weight = torch.ones(k, device=kept.device)
        return cls(
            node_index=kept,
            cluster_index=torch.arange(k, device=kept.device),
            weight=weight.view(-1),
            num_nodes=num_nodes,
            num_clusters=k,
            batch=batch,
            cluster_batch=None if batch is None else batch[kept],
            kept=kept,
        )

    # ---- views ----------------------------------------------------------------------
    @property
    def is_dense(self) -> bool:
        return self.s is not None

    @property
    def is_hard(self) -> bool:
        """True when every node belongs to at most one supernode (sparse layout)."""
        if self.is_dense:
            return False
        idx = self.node_index
        return idx.numel() == torch.unique(idx).numel()

    def to_dense(self) -> Tuple[Tensor, Tensor]:
        """Return ``(S, mask)`` with ``S`` of shape ``[B, N_max, K_max]``.

        A sparse ``S`` is split per graph (by ``batch`` and ``cluster_batch``, one graph
        when they are absent) and padded.
        """
        if self.is_dense:
            return self.s, self.mask
        dev = self.weight.device
        n, k = self.num_nodes, self.num_clusters
        batch = self.batch if self.batch is not None else torch.zeros(n, dtype=torch.long, device=dev)
        cbatch = (
            self.cluster_batch
            if self.cluster_batch is not None
            else torch.zeros(k, dtype=torch.long, device=dev)
        )
        b = int(max(int(batch.max()) + 1 if n else 1, int(cbatch.max()) + 1 if k else 1))
        n_per = torch.bincount(batch, minlength=b)
        k_per = torch.bincount(cbatch, minlength=b)
        n_off = torch.cumsum(n_per, 0) - n_per
        k_off = torch.cumsum(k_per, 0) - k_per
        n_max = int(n_per.max()) if n else 0
        k_max = int(k_per.max()) if k else 0
        s = torch.zeros(b, n_max, k_max, dtype=self.weight.dtype, device=dev)
        g = batch[self.node_index]
        rows = self.node_index - n_off[g]
        cols = self.cluster_index - k_off[cbatch[self.cluster_index]]
        s.index_put_((g, rows, cols), self.weight, accumulate=True)
        mask = torch.arange(n_max, device=dev).unsqueeze(0) < n_per.unsqueeze(1)
        return s, mask

    def row_sums(self) -> Tensor:
        r"""``Σ_k S_ik`` for every real node ``i`` of the batch (padding rows left out), in
        node order: ``[num_real_nodes]``. A dropped node has row sum 0; the
        expressiveness condition of Bianchi & Lachi asks for the same ``λ > 0`` everywhere
        (see :func:`poolkit.evaluation.expressive_selection`)."""
        if self.is_dense:
            s = self.s if self.cluster_mask is None else self.s * self.cluster_mask.unsqueeze(1).to(self.s.dtype)
            return s.sum(-1)[self.mask]
        out = self.weight.new_zeros(self.num_nodes)
        return out.index_add(0, self.node_index, self.weight)

    def to_sparse_tensor(self) -> Tensor:
        """``S`` as a ``torch.sparse_coo_tensor`` of shape ``[num_nodes, num_clusters]``
        (sparse layout only)."""
        if self.is_dense:
            raise ValueError("to_sparse_tensor() needs a sparse SelectOutput; this one is dense")
        idx = torch.stack([self.node_index, self.cluster_index])
        return torch.sparse_coo_tensor(idx, self.weight, (self.num_nodes, self.num_clusters)).coalesce()

    def assignment(self, graph: int = 0) -> Tensor:
        """The ``[n_g, k_g]`` assignment matrix of one graph, padding removed."""
        s, mask = self.to_dense()
        sg = s[graph][mask[graph]]
        if self.is_dense and self.cluster_mask is not None:
            sg = sg[:, self.cluster_mask[graph]]
        elif not self.is_dense:
            cb = self.cluster_batch
            kg = int((cb == graph).sum()) if cb is not None else self.num_clusters
            sg = sg[:, :kg]
        return sg
