r"""Select, Reduce, Connect, Lift: the common language of every pooler.

Grattarola, Zambon, Bianchi and Alippi, "Understanding Pooling in Graph Neural
Networks" (IEEE TNNLS 2022, arXiv:2110.05292) write any pooling operator as three
functions applied to a graph with ``N`` nodes, features ``X ∈ R^{N×F}`` and adjacency
``A ∈ R^{N×N}``:

* **Select** computes an assignment matrix ``S ∈ R^{N×K}``; column ``k`` says how much
  each node belongs to supernode ``k``.
* **Reduce** computes the supernode features, by default ``X' = Sᵀ X``.
* **Connect** computes the supernode adjacency, by default ``A' = Sᵀ A S``.
* **Lift** (for decoders, U-Nets, node-level tasks) maps a pooled signal back to the
  original nodes, ``X̃ = S X'``.

This module holds those four pieces for two layouts of ``S``:

* **dense**: a padded tensor ``S ∈ R^{B×N×K}`` for a batch of ``B`` graphs with at most
  ``N`` nodes, plus a boolean node mask ``[B, N]`` (soft-clustering poolers);
* **sparse**: a list of non-zeros ``(node, cluster, weight)`` over the nodes of a
  PyG-style concatenated batch (one-over-K and score-based poolers, where each node
  belongs to at most a few supernodes).

Both layouts give the same pooled graph (``tests/test_src.py`` checks it), so a reader can
move between the matrix formulas of the papers and the sparse code that scales.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Dict, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import coalesce

__all__ = [
    "SelectOutput",
    "PoolingOutput",
    "Pooler",
    "reduce",
    "connect",
    "lift",
    "dense_reduce",
    "dense_connect",
    "dense_lift",
    "sparse_reduce",
    "sparse_connect",
    "sparse_lift",
    "register",
    "get_pooler",
    "list_poolers",
    "pooler_info",
    "check_graph_inputs",
    "check_ratio",
    "check_positive_int",
    "check_finite",
    "sum_duplicate_pairs",
]


# --------------------------------------------------------------------------- input checks
def check_finite(t: Tensor, name: str = "x") -> None:
    """Raise a ``ValueError`` when the floating-point tensor ``t`` holds NaN or ±inf.

    Every pooler checks its node features this way (through :func:`check_graph_inputs`), so
    a NaN is reported where it enters instead of coming out of every pooled graph. The cost
    is measured by ``benchmarks/bench_input_check.py`` (results in ``benchmarks/results/``):
    on a typical CPU batch the exact ``isfinite(x).all()`` costs 1-15 % of one forward, so
    the common path is a single sum, ``isfinite(x.sum())`` (about a fifth of that: 0.1-3.4 %
    of a forward, median about 1 %), since any NaN or inf makes the sum non-finite. Only
    when the sum is not finite does the exact test run, so a sum that merely overflows is
    not taken for bad input. On a GPU the check, like the index-range checks of
    :func:`check_graph_inputs`, waits for the device once per call.
    """
    if not t.is_floating_point() or t.numel() == 0:
        return
    with torch.no_grad():
        if bool(torch.isfinite(t.sum())):
            return
        bad = ~torch.isfinite(t)
        if not bool(bad.any()):
            return
        rows = bad.view(t.size(0), -1).any(1).nonzero().view(-1) if t.dim() > 1 else bad.nonzero().view(-1)
        raise ValueError(
            f"{name} holds {int(bad.sum())} non-finite values (NaN or inf), first in row {int(rows[0])}; "
            f"poolers need finite {name}"
        )


def check_graph_inputs(
    x: Tensor,
    edge_index: Optional[Tensor],
    batch: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
) -> None:
    """Raise a ``ValueError`` naming the argument when PyG-style input is malformed."""
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape [num_nodes, num_features], got {tuple(x.shape)}")
    check_finite(x, "x")
    n = x.size(0)
    if edge_index is not None:
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
            shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
            raise ValueError(f"edge_index must have shape [2, num_edges], got {shape}")
        if edge_index.dtype not in (torch.long, torch.int, torch.int32, torch.int64):
            raise ValueError(f"edge_index must hold integers, got {edge_index.dtype}")
        if edge_index.numel() > 0:
            lo, hi = int(edge_index.min()), int(edge_index.max())
            if lo < 0 or hi >= n:
                raise ValueError(
                    f"edge_index holds node indices in [{lo}, {hi}] but x has {n} nodes"
                )
        m = edge_index.size(1)
        if edge_attr is not None and edge_attr.size(0) != m:
            raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but edge_index has {m} edges")
        if edge_weight is not None and (edge_weight.dim() != 1 or edge_weight.numel() != m):
            raise ValueError(
                f"edge_weight must have shape [{m}] (one weight per edge), got {tuple(edge_weight.shape)}"
            )
    if batch is not None:
        if batch.dim() != 1 or batch.numel() != n:
            raise ValueError(f"batch must have shape [{n}] (one graph id per node), got {tuple(batch.shape)}")
        if n > 0 and int(batch.min()) < 0:
            raise ValueError("batch holds negative graph ids")
        if n > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted (nodes of one graph stored together), as PyG does")


def check_ratio(ratio: float, name: str = "ratio") -> float:
    """``ratio`` must lie in (0, 1]."""
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not (0.0 < float(ratio) <= 1.0):
        raise ValueError(f"{name} must be a number in (0, 1], got {ratio!r}")
    return float(ratio)


def check_positive_int(value: int, name: str = "k") -> int:
    """``value`` must be an integer ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


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


# --------------------------------------------------------------------------- reduce
def dense_reduce(x: Tensor, s: Tensor, mask: Optional[Tensor] = None, op: str = "sum") -> Tensor:
    r"""``X' = Sᵀ X`` for a dense batch: ``x`` ``[B, N, F]``, ``s`` ``[B, N, K]`` → ``[B, K, F]``.

    ``op="mean"`` divides each supernode by its total membership ``Σ_i S_ik``.
    Padding rows (``mask`` false) are ignored.
    """
    if mask is not None:
        m = mask.unsqueeze(-1).to(x.dtype)
        x, s = x * m, s * m.to(s.dtype)
    out = s.transpose(1, 2) @ x
    if op == "mean":
        out = out / s.sum(1).unsqueeze(-1).clamp(min=1e-12)
    elif op != "sum":
        raise ValueError(f"op must be 'sum' or 'mean' for a dense S, got {op!r}")
    return out


def sparse_reduce(x: Tensor, so: SelectOutput, op: str = "sum") -> Tensor:
    r"""``X'_k = ⊕_{i: S_ik ≠ 0} S_ik · x_i`` with ``⊕`` one of sum, mean, max, min.

    With ``op="sum"`` this is exactly ``X' = Sᵀ X``; ``mean`` and ``max`` are the usual
    variants for hard clusters (weights multiply before aggregation).
    """
    src = x[so.node_index] * so.weight.to(x.dtype).unsqueeze(-1)
    k, f = so.num_clusters, x.size(-1)
    index = so.cluster_index.unsqueeze(-1).expand_as(src)
    if op == "sum":
        return x.new_zeros(k, f).scatter_add_(0, index, src)
    if op in ("mean", "max", "min"):
        red = {"mean": "mean", "max": "amax", "min": "amin"}[op]
        return x.new_zeros(k, f).scatter_reduce_(0, index, src, reduce=red, include_self=False)
    raise ValueError(f"op must be one of 'sum', 'mean', 'max', 'min', got {op!r}")


def reduce(x: Tensor, so: SelectOutput, op: str = "sum") -> Tensor:
    """Reduce for either layout (see :func:`dense_reduce` and :func:`sparse_reduce`)."""
    if so.is_dense:
        return dense_reduce(x, so.s, so.mask, op=op)
    return sparse_reduce(x, so, op=op)


# --------------------------------------------------------------------------- connect
def dense_connect(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, remove_self_loops: bool = False,
                  pinv: bool = False) -> Tensor:
    r"""``A' = Sᵀ A S`` for a dense batch: ``adj`` ``[B, N, N]``, ``s`` ``[B, N, K]`` → ``[B, K, K]``.

    With ``pinv=True`` the left factor is the Moore-Penrose pseudo-inverse,
    ``A' = S⁺ A S`` (``S⁺ = (SᵀS)⁻¹Sᵀ`` when ``S`` has full column rank). For a hard
    clustering ``S⁺`` divides row ``k`` of ``Sᵀ`` by the size of cluster ``k``, so
    ``a'_kl`` is the number of edges from cluster ``k`` to cluster ``l`` *per member of
    k*, and ``A'`` is no longer symmetric when clusters differ in size. Empty clusters
    (zero columns of ``S``) get zero rows, not NaN. With ``remove_self_loops=True`` the
    diagonal of ``A'`` is set to zero (MinCutPool and DMoN do this before normalising,
    see :mod:`poolkit.soft`).
    """
    if mask is not None:
        s = s * mask.unsqueeze(-1).to(s.dtype)
    left = torch.linalg.pinv(s) if pinv else s.transpose(1, 2)
    out = left @ adj @ s
    if remove_self_loops:
        out = out - torch.diag_embed(torch.diagonal(out, dim1=-2, dim2=-1))
    return out


def sum_duplicate_pairs(row: Tensor, col: Tensor, val: Tensor, n: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The pairs ``(row, col)`` once each (``0 <= row, col < n``), sorted by row then column,
    with the values of repeated pairs summed."""
    n = max(int(n), 1)
    key, inv = torch.unique(row * n + col, return_inverse=True)
    return key // n, key % n, val.new_zeros(key.numel()).index_add_(0, inv, val)


def sparse_connect(
    edge_index: Tensor,
    so: SelectOutput,
    edge_weight: Optional[Tensor] = None,
    remove_self_loops: bool = True,
    pinv: bool = False,
) -> Tuple[Tensor, Tensor]:
    r"""``A' = Sᵀ A S`` with ``A`` and ``S`` sparse; returns ``(edge_index', edge_weight')``.

    Each edge ``(i, j, a_ij)`` contributes ``S_ik · a_ij · S_jl`` to ``A'_kl``; duplicates
    are summed. With ``remove_self_loops=True`` (the default for one-over-K and score-based
    pooling) entries with ``k = l`` are dropped.

    ``pinv=True`` computes ``A' = S⁺ A S`` for a *hard* ``S`` (each node in at most one
    supernode): then ``SᵀS`` is diagonal, ``S⁺ = (SᵀS)⁻¹Sᵀ``, and row ``k`` of ``Sᵀ A S``
    is divided by ``Σ_i S_ik²`` (the cluster size for 0/1 weights). A soft sparse ``S`` is
    rejected with a ``ValueError``; use :func:`dense_connect` for it.
    """
    if pinv and not so.is_hard:
        raise ValueError("pinv=True needs a hard S (every node in at most one supernode); "
                         "use dense_connect(adj, s, pinv=True) for a soft S")
    dev = edge_index.device
    k = so.num_clusters
    w = torch.ones(edge_index.size(1), device=dev) if edge_weight is None else edge_weight.view(-1)
    if edge_index.numel() == 0 or so.node_index.numel() == 0:
        return torch.empty(2, 0, dtype=torch.long, device=dev), w.new_zeros(0)
    # Non-zeros of S grouped by node: node i owns entries order[ptr[i]:ptr[i] + cnt[i]].
    order = torch.argsort(so.node_index, stable=True)
    cnt = torch.bincount(so.node_index, minlength=so.num_nodes)
    ptr = torch.cumsum(cnt, 0) - cnt
    src_, dst = edge_index[0], edge_index[1]
    pairs = cnt[src_] * cnt[dst]  # S_ik a_ij S_jl terms contributed by edge (i, j)
    e = torch.repeat_interleave(torch.arange(src_.numel(), device=dev), pairs)
    local = torch.arange(e.numel(), device=dev) - (torch.cumsum(pairs, 0) - pairs)[e]
    a = order[ptr[src_[e]] + torch.div(local, cnt[dst[e]], rounding_mode="floor")]
    b = order[ptr[dst[e]] + local % cnt[dst[e]]]
    sw = so.weight.to(w.dtype)
    vals = sw[a] * w[e] * sw[b]
    r, c = so.cluster_index[a], so.cluster_index[b]
    if pinv:
        norm = sw.new_zeros(k).index_add_(0, so.cluster_index, sw * sw)[r].to(vals.dtype)
        vals = torch.where(norm > 0, vals / norm.clamp(min=torch.finfo(vals.dtype).tiny), torch.zeros_like(vals))
    if remove_self_loops:
        keep = r != c
        r, c, vals = r[keep], c[keep], vals[keep]
    return coalesce(torch.stack([r, c]), vals, num_nodes=k, reduce="sum")


def connect(*args, **kwargs):
    """Connect for either layout: ``connect(adj, so)`` (dense) or
    ``connect(edge_index, so, edge_weight)`` (sparse)."""
    so = args[1] if len(args) > 1 else kwargs["so"]
    if so.is_dense:
        adj = args[0] if args else kwargs["adj"]
        return dense_connect(adj, so.s, so.mask, remove_self_loops=kwargs.get("remove_self_loops", False),
                             pinv=kwargs.get("pinv", False))
    return sparse_connect(*args, **kwargs)


# --------------------------------------------------------------------------- lift
def dense_lift(x_pool: Tensor, s: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    r"""``X̃ = S X'``: ``x_pool`` ``[B, K, F]`` → ``[B, N, F]`` (padding rows are zero)."""
    out = s @ x_pool
    if mask is not None:
        out = out * mask.unsqueeze(-1).to(out.dtype)
    return out


def sparse_lift(x_pool: Tensor, so: SelectOutput) -> Tensor:
    r"""``X̃ = S X'`` with a sparse ``S``: node ``i`` gets ``Σ_k S_ik x'_k`` (zero for nodes
    that belong to no supernode, as in Graph U-Net's unpooling)."""
    src = x_pool[so.cluster_index] * so.weight.to(x_pool.dtype).unsqueeze(-1)
    out = x_pool.new_zeros(so.num_nodes, x_pool.size(-1))
    return out.index_add_(0, so.node_index, src)


def lift(x_pool: Tensor, so: SelectOutput) -> Tensor:
    """Lift for either layout."""
    if so.is_dense:
        return dense_lift(x_pool, so.s, so.mask)
    return sparse_lift(x_pool, so)


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


# --------------------------------------------------------------------------- registry
_REGISTRY: Dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a :class:`Pooler` available as ``get_pooler(name)``."""

    def deco(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a pooler named {name!r} is already registered ({_REGISTRY[name].__name__})")
        _REGISTRY[name] = cls
        cls.name = name
        return cls

    return deco


def list_poolers() -> list:
    """Names of every registered pooler, sorted."""
    return sorted(_REGISTRY)


def get_pooler(name: str, **kwargs) -> "Pooler":
    """Build the pooler registered as ``name`` with ``kwargs``.

    Raises ``ValueError`` listing the valid names when ``name`` is unknown.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown pooler {name!r}; valid poolers are: {', '.join(list_poolers())}")
    return _REGISTRY[name](**kwargs)


def example_pooler(name: str, in_channels: int, k: int = 4, edge_channels: int = 3, max_nodes: int = 64,
                   **overrides) -> "Pooler":
    """A small working instance of the pooler registered as ``name``, built from its class's
    :meth:`Pooler.example_kwargs` (updated with ``overrides``).

    Code that loops over the whole registry (the registry-wide tests, the report card of
    the evaluation chapter, the cost sweep) builds every pooler through this one function,
    so that a newly registered pooler enters all of them without being named there.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown pooler {name!r}; valid poolers are: {', '.join(list_poolers())}")
    cls = _REGISTRY[name]
    kwargs = cls.example_kwargs(in_channels=in_channels, k=k, edge_channels=edge_channels, max_nodes=max_nodes)
    kwargs.update(overrides)
    return cls(**kwargs)


def pooler_info() -> list:
    """One dict per pooler: name, class, and the four flags of :class:`Pooler`."""
    return [
        {
            "name": n,
            "class": c.__name__,
            "module": c.__module__,
            "dense": c.is_dense,
            "trainable": c.is_trainable,
            "aux_loss": c.has_aux_loss,
            "precomputable": c.is_precomputable,
            "needs_edge_attr": c.needs_edge_attr,
        }
        for n, c in sorted(_REGISTRY.items())
    ]


class Pooler(torch.nn.Module):
    """Base class: ``forward`` runs ``select → reduce → connect`` and returns a
    :class:`PoolingOutput`.

    Subclasses implement :meth:`select` and, when they differ from the defaults
    (``Sᵀ X``, ``Sᵀ A S``), :meth:`reduce` / :meth:`connect`; :meth:`losses` returns their
    auxiliary losses. The class flags say what kind of pooler it is.
    """

    name: ClassVar[str] = "pooler"
    is_dense: ClassVar[bool] = False
    is_trainable: ClassVar[bool] = False
    has_aux_loss: ClassVar[bool] = False
    is_precomputable: ClassVar[bool] = False
    needs_edge_attr: ClassVar[bool] = False  # forward() requires ``edge_attr``

    reduce_op: str = "sum"

    @classmethod
    def example_kwargs(cls, in_channels: int, k: int = 4, edge_channels: int = 3, max_nodes: int = 64) -> dict:
        """Constructor arguments of a small working instance for graphs with ``in_channels``
        node features, ``edge_channels`` edge features and at most ``max_nodes`` nodes; ``k``
        is the number of clusters for poolers that take one. Every registered pooler must be
        buildable as ``cls(**cls.example_kwargs(...))`` (see :func:`example_pooler`)."""
        return {}

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        raise NotImplementedError

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return reduce(x, so, op=self.reduce_op)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        return sparse_connect(edge_index, so, edge_weight)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return lift(x_pool, so)

    def pooled_channels(self, in_channels: int) -> int:
        """Feature channels of the pooled graph for ``in_channels`` at the input: the same
        for every pooler but EigenPool, which stacks several Fourier modes."""
        return in_channels

    def losses(self, **kwargs) -> Dict[str, Tensor]:
        return {}

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        **kwargs,
    ) -> PoolingOutput:
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        so = self.select(x, edge_index, batch=batch, edge_weight=edge_weight, **kwargs)
        x_pool = self.reduce(x, so)
        ei, ew = self.connect(edge_index, so, edge_weight)
        return PoolingOutput(
            x=x_pool,
            so=so,
            edge_index=ei,
            edge_weight=ew,
            batch=so.cluster_batch,
            losses=self.losses(x=x, edge_index=edge_index, batch=batch, so=so),
        )

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


# --------------------------------------------------------------------------- the identity
@register("nopool")
class NoPool(Pooler):
    r"""The identity pooler: ``S = I_N``, so nothing is pooled.

    .. math::  S = I_N,\qquad X' = S^\top X = X,\qquad A' = S^\top A S = A,\qquad
               \tilde X = S X' = X'

    It is the flat baseline of every comparison: a model built with ``nopool`` in place
    of a pooler is the same GNN without coarsening, so whatever a pooler adds (or costs)
    shows as the difference to it. Features, edges, edge weights, edge features and the
    batch vector are returned unchanged (the same tensors, no copy); the
    :class:`SelectOutput` lists the ``N`` non-zeros ``S[i, i] = 1``. It lives here rather
    than in a family module because it belongs to no family: it is the trivial instance
    of Select, Reduce, Connect and Lift.
    """

    is_precomputable = True

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        n = x.size(0)
        idx = torch.arange(n, device=x.device)
        return SelectOutput(
            node_index=idx, cluster_index=idx, weight=x.new_ones(n), num_nodes=n, num_clusters=n,
            batch=batch, cluster_batch=batch,
        )

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return x

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        return edge_index, edge_weight

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return x_pool

    def forward(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, **kwargs) -> PoolingOutput:
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        so = self.select(x, edge_index, batch=batch)
        return PoolingOutput(x=x, so=so, edge_index=edge_index, edge_weight=edge_weight, edge_attr=edge_attr,
                             batch=batch)

__all__ += ["NoPool"]
