r"""Reduce, Connect and Lift as functions, for the dense and the sparse layout of ``S``."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import coalesce, to_dense_adj, to_dense_batch

from poolkit.src.checks import check_graph_inputs
from poolkit.src.select import SelectOutput


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


# --------------------------------------------------------------------------- dense layout
EPS = 1e-15


def normalize_pooled_adj(adj: Tensor) -> Tensor:
    r"""Zero the diagonal of ``A'`` and return :math:`D'^{-1/2} A' D'^{-1/2}` (the Connect of
    MinCut, DMoN and TVGNN); a supernode without edges gets a zero row, not inf."""
    k = adj.size(-1)
    adj = adj.masked_fill(torch.eye(k, dtype=torch.bool, device=adj.device), 0.0)
    d = adj.sum(-1)
    inv = d.clamp(min=EPS).rsqrt() * (d > 0)
    return adj * (inv.unsqueeze(-1) * inv.unsqueeze(-2))


def dense_inputs(
    x: Tensor,
    edge_index: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
    adj: Optional[Tensor] = None,
    mask: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    require_adj: bool = True,
) -> Tuple[Tensor, Optional[Tensor], Tensor, Optional[Tensor]]:
    """Bring PyG input or a dense batch to ``(x [B,N,F], adj [B,N,N], mask [B,N], edge_attr)``.

    PyG input: ``x [N, F]`` with ``edge_index`` (and ``batch``, ``edge_weight``, ``edge_attr
    [E, D]``, densified to ``[B, N, N, D]``). Dense input: ``x [B, N, F]`` (or ``[N, F]``) with
    ``adj [B, N, N]`` (or ``[N, N]``), an optional ``mask`` and ``edge_attr [B, N, N, D]``; a
    3-D ``x`` may get its adjacency as the second positional argument. With
    ``require_adj=False`` the adjacency may be missing (then ``adj`` is ``None``).
    """
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 3 and adj is None:
        adj, edge_index = edge_index, None
    if x.dim() == 3 or adj is not None:
        if x.dim() not in (2, 3):
            raise ValueError(f"x must have shape [B, N, F] or [N, F], got {tuple(x.shape)}")
        if x.dim() == 2:
            x = x.unsqueeze(0)
        b, n, _ = x.shape
        if adj is None:
            if require_adj:
                raise ValueError(f"a dense x {tuple(x.shape)} needs adj of shape [{b}, {n}, {n}] "
                                 "(or give x [N, F] with edge_index)")
        else:
            if not isinstance(adj, Tensor):
                raise ValueError(f"adj must be a torch.Tensor, got {type(adj).__name__}")
            if adj.dim() == 2:
                adj = adj.unsqueeze(0)
            if adj.shape != (b, n, n):
                raise ValueError(f"adj must have shape [{b}, {n}, {n}] to match x {tuple(x.shape)}, "
                                 f"got {tuple(adj.shape)}")
            adj = adj.to(x.dtype)
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
        elif mask.shape != (b, n):
            raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
        if edge_attr is not None and (edge_attr.dim() != 4 or edge_attr.shape[:3] != (b, n, n)):
            raise ValueError(f"edge_attr must have shape [{b}, {n}, {n}, D] for a dense x, got {tuple(edge_attr.shape)}")
        return x, adj, mask.bool(), edge_attr
    if edge_index is None and require_adj:
        raise ValueError("give edge_index (PyG input) or adj (dense input)")
    check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
    if x.size(0) == 0:
        raise ValueError("x must hold at least one node")
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    xd, mask = to_dense_batch(x, batch)
    b, n = mask.shape
    if edge_index is None:
        return xd, None, mask, None
    if edge_index.numel() == 0:
        a = x.new_zeros(b, n, n)
        e = None if edge_attr is None else x.new_zeros(b, n, n, edge_attr.view(edge_attr.size(0), -1).size(1))
        return xd, a, mask, e
    w = None if edge_weight is None else edge_weight.to(x.dtype)
    a = to_dense_adj(edge_index, batch, edge_attr=w, max_num_nodes=n, batch_size=b).to(x.dtype)
    e = None
    if edge_attr is not None:
        ea = edge_attr.view(edge_attr.size(0), -1).to(x.dtype)
        e = to_dense_adj(edge_index, batch, edge_attr=ea, max_num_nodes=n, batch_size=b)
    return xd, a, mask, e


def to_dense_inputs(x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                    edge_weight: Optional[Tensor] = None, adj: Optional[Tensor] = None,
                    mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """``(x [B,N,F], adj [B,N,N], mask [B,N])`` from PyG input or a dense batch (:func:`dense_inputs`
    without edge features, the adjacency required)."""
    x, adj, mask, _ = dense_inputs(x, edge_index, batch, edge_weight, adj, mask)
    return x, adj, mask
