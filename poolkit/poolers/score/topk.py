r"""Top-K pooling (Gao and Ji, "Graph U-Nets", ICML 2019; Cangea et al., "Towards Sparse
Hierarchical Graph Classifiers", 2018), and the selection every score-based pooler shares.

.. math::  y = X p / \|p\|,\qquad i = \mathrm{top}_k(y)\ \text{per graph},\qquad
           S_{i_j, j} = \sigma(y_{i_j}),

    X' = S^\top X = (X \odot \sigma(y))_i,\qquad A' = A_{i,i},\qquad \tilde X = \mathrm{scatter}(X', i).

The gate :math:`\sigma(y)` carries the gradient to ``p`` (``top_k`` is piecewise constant).
:func:`topk_select` chooses the ``k = ⌈ratio · n⌉`` nodes of each graph for any score, and
:func:`induced_subgraph` is the Connect step (edge weights and features of kept edges
unchanged). The family overview is in :mod:`poolkit.poolers.score`.
"""
from __future__ import annotations

from typing import Optional, Tuple
import math

import torch
from torch import Tensor

from poolkit.src import (
    SelectOutput,
    SparsePooler,
    check_positive_int,
    check_ratio,
    register,
)

__all__ = ['num_kept', 'topk_select', 'induced_subgraph', 'selection_spread', 'TopKPool', 'TopKPooling']


_GATES = ("tanh", "sigmoid", "none")


def _check_ratio_or_k(ratio, k) -> Tuple[Optional[float], Optional[int]]:
    if ratio is not None and k is not None:
        raise ValueError(f"give either ratio or k, not both (got ratio={ratio!r}, k={k!r})")
    if ratio is None and k is None:
        raise ValueError("give one of ratio (a number in (0, 1]) or k (an integer >= 1)")
    if ratio is not None:
        return check_ratio(ratio), None
    return None, check_positive_int(k, "k")


def num_kept(num_nodes: Tensor, ratio: Optional[float] = None, k: Optional[int] = None) -> Tensor:
    r"""How many nodes each graph keeps: ``⌈ratio · n_g⌉`` or ``min(k, n_g)``.

    ``num_nodes`` holds ``n_g`` per graph. The ceiling is taken with a relative tolerance of
    ``1e-9`` so that floating-point error does not add a node (``0.3 · 10`` is
    ``3.0000000000000004`` in float64; it keeps 3 nodes, not 4). A non-empty graph always
    keeps at least one node, an empty graph none.
    """
    ratio, k = _check_ratio_or_k(ratio, k)
    n = num_nodes.long()
    if k is not None:
        return n.clamp(max=k)
    kk = torch.ceil(n.double() * ratio * (1.0 - 1e-9)).long()
    return torch.minimum(kk, n)


def topk_select(
    score: Tensor,
    batch: Optional[Tensor] = None,
    ratio: Optional[float] = None,
    k: Optional[int] = None,
) -> Tensor:
    r"""Indices of the nodes kept by Top-K selection, graph by graph.

    Args:
        score: ``[N]`` (or ``[N, 1]``) node scores.
        batch: ``[N]`` sorted graph id of every node (PyG convention); ``None`` for one graph.
        ratio: keep ``k_g = ⌈ratio · n_g⌉`` nodes of a graph with ``n_g`` nodes
            (``ratio`` in (0, 1]; ``ratio = 1`` keeps every node).
        k: keep ``k_g = min(k, n_g)`` nodes (a graph smaller than ``k`` keeps all of them).

    Exactly one of ``ratio`` and ``k`` must be given.

    Returns:
        ``LongTensor`` of kept node indices, ordered by graph and, inside a graph, by
        decreasing score (the order PyG's ``TopKPooling`` uses). **Ties** are broken
        deterministically: among equal scores the node with the smaller index comes first
        (and is kept first). Scores must not be NaN.
    """
    ratio, k = _check_ratio_or_k(ratio, k)
    if not isinstance(score, Tensor):
        raise ValueError(f"score must be a torch.Tensor, got {type(score).__name__}")
    if score.dim() == 2 and score.size(1) == 1:
        score = score.view(-1)
    if score.dim() != 1:
        raise ValueError(f"score must have shape [num_nodes], got {tuple(score.shape)}")
    n = score.numel()
    dev = score.device
    if batch is None:
        kk = int(num_kept(torch.tensor([n]), ratio, k)[0])
        return torch.sort(score.detach(), descending=True, stable=True).indices[:kk]
    if batch.dim() != 1 or batch.numel() != n:
        raise ValueError(f"batch must have shape [{n}] (one graph id per node), got {tuple(batch.shape)}")
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=dev)
    counts = torch.bincount(batch)
    kg = num_kept(counts, ratio, k)
    # Sort by score (stable: equal scores keep index order), then by graph (stable again),
    # so each graph's nodes are contiguous and in decreasing score order.
    perm = torch.sort(score.detach(), descending=True, stable=True).indices
    b_sorted, perm2 = torch.sort(batch[perm], stable=True)
    perm = perm[perm2]
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n, device=dev) - start[b_sorted]
    return perm[rank < kg[b_sorted]]


def induced_subgraph(
    edge_index: Tensor,
    kept: Tensor,
    num_nodes: int,
    edge_weight: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    r"""``A' = A_{kept, kept}``: the edges between kept nodes, relabelled so that node
    ``kept[j]`` becomes ``j``.

    Edge order, self-loops, edge weights and edge features are preserved for the edges
    that remain. Returns ``(edge_index', edge_weight', edge_attr')`` (``None`` where the
    input was ``None``).
    """
    new_id = torch.full((num_nodes,), -1, dtype=torch.long, device=edge_index.device)
    new_id[kept] = torch.arange(kept.numel(), device=edge_index.device)
    row, col = new_id[edge_index[0]], new_id[edge_index[1]]
    keep = ((row >= 0) & (col >= 0)).nonzero().view(-1)  # one nonzero, then plain gathers
    ei = torch.stack([row[keep], col[keep]])
    ew = None if edge_weight is None else edge_weight[keep]
    ea = None if edge_attr is None else edge_attr[keep]
    return ei, ew, ea


def selection_spread(edge_index: Tensor, num_nodes: int, kept: Tensor) -> dict:
    r"""How spread out a set of kept nodes is over one graph.

    Returns a dict with

    * ``mean_distance``: mean shortest-path distance (in hops) over pairs of kept nodes
      (pairs in different connected components are left out; ``nan`` with fewer than two
      kept nodes or no connected pair);
    * ``coverage``: share of the graph's nodes that are kept or adjacent to a kept node.

    A selection concentrated in one part of the graph has a small mean distance and a small
    coverage; a selection spread evenly has both large.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    kept = torch.as_tensor(kept).long().view(-1).cpu().numpy()
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be >= 1, got {num_nodes}")
    if kept.size and (kept.min() < 0 or kept.max() >= num_nodes):
        raise ValueError(f"kept holds indices outside [0, {num_nodes})")
    ei = edge_index.detach().cpu().numpy()
    adj = coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(num_nodes, num_nodes)).tocsr()
    near = np.zeros(num_nodes, dtype=bool)
    near[kept] = True
    near[adj[kept].nonzero()[1]] = True
    near[adj[:, kept].nonzero()[0]] = True
    mean_distance = float("nan")
    if kept.size >= 2:
        d = shortest_path(adj, unweighted=True, directed=False, indices=kept)[:, kept]
        iu = np.triu_indices(kept.size, 1)
        pair = d[iu]
        pair = pair[np.isfinite(pair)]
        if pair.size:
            mean_distance = float(pair.mean())
    return {"mean_distance": mean_distance, "coverage": float(near.mean())}


@register("topk")
class TopKPool(SparsePooler):
    r"""Top-K pooling (Graph U-Net): score ``y = X p / ‖p‖``, keep the top ``k`` per graph.

    .. math::
        y = \frac{X p}{\lVert p \rVert},\quad i = \mathrm{top}_k(y),\quad
        X' = (X \odot \sigma(y))_i,\quad A' = A_{i,i}

    Args:
        in_channels: number of node features ``F``.
        ratio: keep ``⌈ratio · n_g⌉`` nodes of each graph (default 0.5 when ``k`` is not given).
        k: keep ``min(k, n_g)`` nodes of each graph instead.
        gate: ``σ``: ``"tanh"`` (PyG, Cangea et al.), ``"sigmoid"`` (Gao and Ji) or
            ``"none"`` (no gate: the projection then gets no gradient, see the chapter).

    Nodes are ranked by the raw score ``y`` (the gate is monotone, so this is the same
    ranking as ranking ``σ(y)``, but avoids the ties a saturated ``tanh`` creates). With the
    same ``p`` and ``gate="tanh"`` the kept nodes, pooled features and edges equal PyG's
    ``TopKPooling(in_channels, ratio)`` (``tests/test_score.py``); PyG reads
    ``ratio >= 1`` as a node count, here ``ratio = 1`` keeps every node and ``k`` is a
    separate argument.

    Example::

        >>> pool = TopKPool(in_channels=8, ratio=0.5)
        >>> out = pool(x, edge_index, batch)              # doctest: +SKIP
        >>> out.so.kept, out.x, out.edge_index            # doctest: +SKIP
    """

    is_trainable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, ratio: Optional[float] = None, k: Optional[int] = None, gate: str = "tanh"):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        if ratio is None and k is None:
            ratio = 0.5
        self.ratio, self.k = _check_ratio_or_k(ratio, k)
        if gate not in _GATES:
            raise ValueError(f"gate must be one of {_GATES}, got {gate!r}")
        self.gate = gate
        self._init_scorer()
        self.reset_parameters()

    # ---- the score -------------------------------------------------------------------
    def _init_scorer(self) -> None:
        self.weight = torch.nn.Parameter(torch.empty(self.in_channels))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_channels)
        torch.nn.init.uniform_(self.weight, -bound, bound)

    def score(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        """Raw node scores ``y`` (before the gate), shape ``[N]``."""
        return (x @ self.weight) / self.weight.norm(p=2)

    def _gate(self, y: Tensor) -> Tensor:
        if self.gate == "tanh":
            return torch.tanh(y)
        if self.gate == "sigmoid":
            return torch.sigmoid(y)
        return torch.ones_like(y).detach()

    # ---- SRC -------------------------------------------------------------------------
    def select(
        self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, **kwargs
    ) -> SelectOutput:
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        y = self.score(x, edge_index, edge_weight).view(-1)
        kept = topk_select(y, batch, ratio=self.ratio, k=self.k)
        # SelectOutput.from_kept_nodes without its range check: kept is valid by construction.
        return SelectOutput(
            node_index=kept,
            cluster_index=torch.arange(kept.numel(), device=kept.device),
            weight=self._gate(y[kept]),
            num_nodes=x.size(0),
            num_clusters=kept.numel(),
            batch=batch,
            cluster_batch=None if batch is None else batch[kept],
            kept=kept,
            extra={"score": y},
        )

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``X' = Sᵀ X``: the kept rows times their gates."""
        return x[so.node_index] * so.weight.to(x.dtype).unsqueeze(-1)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None, edge_attr=None):
        """``A' = A_{i,i}`` (see :func:`induced_subgraph`); returns ``(edge_index', edge_weight')``."""
        ei, ew, _ = induced_subgraph(edge_index, so.node_index, so.num_nodes, edge_weight, edge_attr)
        return ei, ew

    def pooled_edges(self, g, so: SelectOutput, x_pool: Tensor):
        """The induced subgraph of the kept nodes, with its edge weights and edge features."""
        return induced_subgraph(g.edge_index, so.node_index, so.num_nodes, g.edge_weight, g.edge_attr)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        """Graph U-Net unpooling: node ``kept[j]`` gets ``x_pool[j]``, dropped nodes get 0."""
        out = x_pool.new_zeros(so.num_nodes, x_pool.size(-1))
        return out.index_copy(0, so.node_index, x_pool)

    def extra_repr(self) -> str:
        size = f"ratio={self.ratio}" if self.ratio is not None else f"k={self.k}"
        return f"name={self.name!r}, in_channels={self.in_channels}, {size}, gate={self.gate!r}"


TopKPooling = TopKPool  # the old name, kept for one release
