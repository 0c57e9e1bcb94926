r"""Score-based pooling: keep the ``k`` best-scoring nodes of each graph (Top-K, SAGPool).

A score-based pooler gives every node a scalar score ``y_i``, keeps the ``k`` nodes of each
graph with the largest scores, and drops the others. In the Select / Reduce / Connect
language of :mod:`poolkit.src`:

* **Select**: ``y = score(X, A)``, ``i = top_k(y)`` per graph; the assignment matrix
  ``S ∈ R^{N×k}`` has one non-zero per column, ``S[i_j, j] = σ(y_{i_j})`` (the *gate*).
* **Reduce**: ``X' = Sᵀ X = (X ⊙ σ(y))_i``, the kept rows scaled by their gates.
* **Connect**: ``A' = A_{i,i}``, the subgraph induced by the kept nodes (edge weights and
  edge features of the kept edges are carried over unchanged; unlike ``Sᵀ A S``, the gates
  do not rescale the edges).
* **Lift**: ``X̃ = scatter(X', i)``: kept node ``i_j`` gets row ``j`` back, dropped nodes get
  zeros (Graph U-Net's *gUnpool*).

Two scores are implemented:

* :class:`TopKPooling` (``"topk"``; Gao and Ji, "Graph U-Nets", ICML 2019; Cangea et al.,
  "Towards Sparse Hierarchical Graph Classifiers", 2018): a learned projection
  ``y = X p / ‖p‖``.
* :class:`SAGPooling` (``"sag"``; Lee, Lee and Kang, "Self-Attention Graph Pooling", ICML
  2019): a one-channel graph convolution, ``y = GNN(X, A)``, so the score of a node also
  depends on its neighbours.

Why the gate: ``top_k`` is piecewise constant, so without the factor ``σ(y)`` in Reduce no
gradient would reach ``p`` (or the GNN of SAGPool). Multiplying the kept features by
``σ(y_i)`` makes the pooled features a differentiable function of the scores.

The choice of the ``k`` nodes is :func:`topk_select`, reusable on any score.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from .src import (
    Pooler,
    PoolingOutput,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    check_ratio,
    register,
    sum_duplicate_pairs,
)

__all__ = ["topk_select", "num_kept", "induced_subgraph", "selection_spread", "TopKPooling", "SAGPooling"]

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
class TopKPooling(Pooler):
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

        >>> pool = TopKPooling(in_channels=8, ratio=0.5)
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

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        """Graph U-Net unpooling: node ``kept[j]`` gets ``x_pool[j]``, dropped nodes get 0."""
        out = x_pool.new_zeros(so.num_nodes, x_pool.size(-1))
        return out.index_copy(0, so.node_index, x_pool)

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
        so = self.select(x, edge_index, batch=batch, edge_weight=edge_weight)
        ei, ew, ea = induced_subgraph(edge_index, so.node_index, so.num_nodes, edge_weight, edge_attr)
        return PoolingOutput(
            x=self.reduce(x, so), so=so, edge_index=ei, edge_weight=ew, edge_attr=ea, batch=so.cluster_batch
        )

    def extra_repr(self) -> str:
        size = f"ratio={self.ratio}" if self.ratio is not None else f"k={self.k}"
        return f"name={self.name!r}, in_channels={self.in_channels}, {size}, gate={self.gate!r}"


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
class SAGPooling(TopKPooling):
    r"""Self-Attention Graph Pooling: the score is a one-channel graph convolution.

    .. math::
        y = \mathrm{GNN}(X, A) \in R^{N},\quad i = \mathrm{top}_k(y),\quad
        X' = (X \odot \sigma(y))_i,\quad A' = A_{i,i}

    Args:
        in_channels: number of node features ``F``.
        ratio, k, gate: as in :class:`TopKPooling`.
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


# --------------------------------------------------------------------------- ASAPool
__all__ += ["ASAPooling"]


@register("asap")
class ASAPooling(Pooler):
    r"""ASAPool (Ranjan, Sanyal and Talukdar, "ASAP: Adaptive Structure Aware Pooling for
    Learning Hierarchical Graph Representations", AAAI 2020): score *clusters*, not nodes.

    Every node ``i`` proposes a cluster, its 1-hop neighbourhood ``c_i = N(i) ∪ {i}``
    (self-loops are added to ``A``, giving :math:`\hat A`). In SRC terms:

    * **Select.** A *Master2Token* attention weighs the members ``j`` of ``c_i`` against
      a query made from the whole cluster,

      .. math::  m_i = \max_{j \in c_i} x_j,\qquad
                 \alpha_{ij} = \mathrm{softmax}_{j \in c_i}\Big(\mathrm{LeakyReLU}\big(
                 w^\top [\,W m_i \,\|\, x_j\,]\big)\Big),\qquad
                 x^c_i = \sum_{j \in c_i} \alpha_{ij}\, x_j ,

      then a *fitness* of each cluster from a local-extrema convolution (LEConv,
      :math:`\phi_i = \sigma\big(x^c_i\Theta_3 + \sum_{j} \hat a_{ij}(x^c_i\Theta_1 -
      x^c_j\Theta_2)\big)`, PyG's ``LEConv``), and the ``k`` fittest clusters of each
      graph are kept (:func:`topk_select` on :math:`\phi`). ``S ∈ R^{N×k}`` holds the
      memberships: :math:`S_{j,c} = \alpha_{i_c j}` for the members ``j`` of kept cluster
      ``c`` (centre ``i_c``), so a node may belong to several supernodes.
    * **Reduce.** :math:`X' = \mathrm{diag}(\phi_{\mathrm{kept}})\, S^\top X`, the cluster
      features :math:`x^c` of the kept clusters gated by their fitness.
    * **Connect.** :math:`A' = S^\top \hat A S` with self-loops removed (two kept clusters
      are linked when their members are adjacent, weighted by the memberships).

    Args:
        in_channels: node features ``F``.
        ratio: keep ``⌈ratio · n_g⌉`` clusters per graph (default 0.5 when ``k`` is not given).
        k: keep ``min(k, n_g)`` clusters per graph instead.
        negative_slope: of the LeakyReLU in the attention.
        dropout: on the attention coefficients :math:`\alpha` (training only).

    **Difference from PyG's ``ASAPooling``.** PyG passes the fitness to
    ``SelectTopK(1, ratio)``, which multiplies it by a learned scalar and divides by its
    absolute value, so it ranks by ``sign(p) · φ`` (the sign issue of PyG's SAGPooling,
    issue 9862): with a negative draw it keeps the *least* fit clusters. Here, as in the
    paper, the fittest clusters are kept. With PyG's scalar positive, the kept clusters,
    pooled features and pooled graph equal PyG's (``tests/test_asap.py``). PyG's LEConv
    ignores edge weights; here they enter the fitness convolution, so with weighted graphs
    the two differ by design. The optional intra-cluster GNN of the paper (PyG's ``GNN``
    argument, off by default there) is left out: the GNN layers before the pooler play
    that role.
    """

    is_trainable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, ratio: Optional[float] = None, k: Optional[int] = None,
                 negative_slope: float = 0.2, dropout: float = 0.0):
        super().__init__()
        from torch_geometric.nn import LEConv

        self.in_channels = check_positive_int(in_channels, "in_channels")
        if ratio is None and k is None:
            ratio = 0.5
        self.ratio, self.k = _check_ratio_or_k(ratio, k)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.negative_slope, self.dropout = float(negative_slope), float(dropout)
        self.lin = torch.nn.Linear(in_channels, in_channels)  # W, on the master query
        self.att = torch.nn.Linear(2 * in_channels, 1)  # w
        self.fitness = LEConv(in_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.att.reset_parameters()
        self.fitness.reset_parameters()

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
               edge_weight: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        import torch.nn.functional as F
        from torch_geometric.utils import add_remaining_self_loops, softmax

        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        ei, ew = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=n)
        src, dst = ei[0], ei[1]  # edge j -> i: member j of the cluster centred at i
        xj = x[src]
        master = x.new_full((n, x.size(1)), float("-inf")).scatter_reduce_(
            0, dst.unsqueeze(-1).expand_as(xj), xj, reduce="amax", include_self=True)
        logits = self.att(torch.cat([self.lin(master)[dst], xj], dim=-1)).view(-1)
        alpha = softmax(F.leaky_relu(logits, self.negative_slope), dst, num_nodes=n)
        alpha = F.dropout(alpha, self.dropout, self.training)
        xc = x.new_zeros(n, x.size(1)).index_add_(0, dst, xj * alpha.unsqueeze(-1))
        y = self.fitness(xc, ei, ew).view(-1)
        kept = topk_select(y, batch, ratio=self.ratio, k=self.k)
        pos = torch.full((n,), -1, dtype=torch.long, device=x.device)
        pos[kept] = torch.arange(kept.numel(), device=x.device)
        member = pos[dst] >= 0
        return SelectOutput(
            node_index=src[member], cluster_index=pos[dst[member]], weight=alpha[member],
            num_nodes=n, num_clusters=kept.numel(), batch=batch,
            cluster_batch=None if batch is None else batch[kept], kept=kept,
            extra={"score": y, "fitness": torch.sigmoid(y), "cluster_x": xc,
                   "edge_index": ei, "edge_weight": ew},
        )

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``X' = diag(φ) Sᵀ X`` (``Sᵀ X`` is the attention-pooled ``x^c`` of the kept clusters)."""
        return so.extra["cluster_x"][so.kept] * so.extra["fitness"][so.kept].unsqueeze(-1)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        """``A' = Sᵀ Â S`` without self-loops, ``Â`` the graph with self-loops added.

        A node belongs to as many clusters as it has neighbours, so the pairwise expansion of
        :func:`~poolkit.src.sparse_connect` would make ``deg²`` terms per edge; two sparse
        products, ``Sᵀ (Â S)``, cost far less."""
        ei, ew = so.extra["edge_index"], so.extra["edge_weight"]
        n, k = so.num_nodes, so.num_clusters
        w = so.weight
        a = torch.sparse_coo_tensor(ei, w.new_ones(ei.size(1)) if ew is None else ew.to(w.dtype), (n, n))
        sm = torch.sparse_coo_tensor(torch.stack([so.node_index, so.cluster_index]), w, (n, k))
        out = torch.sparse.mm(sm.t(), torch.sparse.mm(a, sm)).coalesce()
        idx, val = out.indices(), out.values()
        keep = idx[0] != idx[1]
        return idx[:, keep], val[keep]

    def extra_repr(self) -> str:
        size = f"ratio={self.ratio}" if self.ratio is not None else f"k={self.k}"
        return f"name={self.name!r}, in_channels={self.in_channels}, {size}"


# --------------------------------------------------------------------------- PANPool
__all__ += ["met_matrix", "PANPooling"]

_PAN_STRUCTURES = ("diag", "degree")
_PAN_NORMS = ("sum", "count")
_PAN_GRAPHS = ("met", "induced")


def met_matrix(edge_index: Tensor, num_nodes: int, path_weights: Tensor,
               edge_weight: Optional[Tensor] = None, norm: str = "sum"):
    r"""The maximal entropy transition (MET) matrix of PAN (Ma et al., NeurIPS 2020), sparse.

    .. math::
        M = \sum_{n=0}^{L} w_n A^n ,\qquad
        \tilde M = Z^{-1/2} M Z^{-1/2}

    with ``A[i, j]`` the weight of edge ``i → j`` and :math:`w_n = e^{-E(n)/T}` the weight
    of a path of length ``n`` (``path_weights``, length ``L + 1``). ``norm`` chooses ``Z``:
    ``"sum"``, the paper's partition function :math:`Z_{ii} = \sum_j M_{ij}`, or
    ``"count"``, the number of non-zero entries of row ``i`` (what PyG's ``PANConv``
    divides by). ``(A^n)_{ii}`` counts the closed walks of length ``n`` through ``i``, so
    ``diag(M)`` is a truncated subgraph centrality (Estrada).

    The powers are sparse products, so a batch (block-diagonal ``A``) gives each graph's
    matrix. Returns ``(index, m, m_norm, diag)``: the pattern ``[2, nnz]`` of ``M`` (the
    pairs joined by a walk of at most ``L`` steps), its values, the values of
    :math:`\tilde M` and :math:`\mathrm{diag}(M)` ``[N]``. Gradients reach
    ``path_weights`` (and ``edge_weight`` when it requires them).
    """
    if norm not in _PAN_NORMS:
        raise ValueError(f"norm must be one of {_PAN_NORMS}, got {norm!r}")
    w = path_weights
    dev, dtype = w.device, w.dtype
    n = int(num_nodes)
    ew = torch.ones(edge_index.size(1), device=dev, dtype=dtype) if edge_weight is None else edge_weight.to(dtype)
    a_row, a_col, a_val = sum_duplicate_pairs(edge_index[0], edge_index[1], ew, n)
    a_ptr = torch.zeros(n + 1, dtype=torch.long, device=dev)
    a_ptr[1:] = torch.cumsum(torch.bincount(a_row, minlength=n), 0)
    eye = torch.arange(n, device=dev)
    p_row, p_col, p_val = eye, eye, torch.ones(n, device=dev, dtype=dtype)  # A^0 = I
    rows, cols, vals = [p_row], [p_col], [w[0] * p_val]
    for step in range(1, w.numel()):
        # A^step = A^(step-1) A: entry (i, k) of the power meets every edge k -> j of A.
        reps = a_ptr[p_col + 1] - a_ptr[p_col]
        first = torch.cumsum(reps, 0) - reps
        pos = a_ptr[p_col].repeat_interleave(reps) + torch.arange(int(reps.sum()), device=dev) - first.repeat_interleave(reps)
        p_row, p_col, p_val = sum_duplicate_pairs(p_row.repeat_interleave(reps), a_col[pos],
                                            p_val.repeat_interleave(reps) * a_val[pos], n)
        rows.append(p_row)
        cols.append(p_col)
        vals.append(w[step] * p_val)
    row, col, m = sum_duplicate_pairs(torch.cat(rows), torch.cat(cols), torch.cat(vals), n)
    index = torch.stack([row, col])
    if norm == "sum":
        z = m.new_zeros(n).index_add(0, row, m)
    else:
        z = torch.bincount(row, minlength=n).to(dtype)
    z_inv_sqrt = torch.where(z > 0, z.clamp_min(torch.finfo(dtype).tiny).rsqrt(), torch.zeros_like(z))
    m_norm = z_inv_sqrt[index[0]] * m * z_inv_sqrt[index[1]]
    on_diag = index[0] == index[1]
    diag = m.new_zeros(n).index_add(0, index[0][on_diag], m[on_diag])
    return index, m, m_norm, diag


@register("pan")
class PANPooling(TopKPooling):
    r"""PANPool (Ma, Xuan, Wang, Li and Liò, "Path Integral Based Convolution and Pooling
    for Graph Neural Networks", NeurIPS 2020): Top-K on a score that adds the structure
    of the graph, read off the MET matrix :math:`M = \sum_{n=0}^{L} e^{-E(n)/T} A^n`
    (:func:`met_matrix`), to a projection of the features.

    .. math::
        y = \beta_1\, X p + \beta_2\, \mathrm{diag}(M),\quad i = \mathrm{top}_k(y),\quad
        X' = (X \odot \tanh(y))_i,\quad A' = \tilde M_{i,i}

    This is the paper's *hybrid PANPool* (its Eq. 15; Eq. 14 is the structural score
    alone, ``diag(M)``, in the numbering of the authors' reference code). ``diag(M)_i``
    weighs the closed walks through node ``i`` by their length, the subgraph centrality
    the paper relates MET to: in a tree there are no closed walks of odd length, so the
    ``A³`` term picks out the nodes that lie on triangles.

    Args:
        in_channels: node features ``F``.
        ratio: keep ``⌈ratio · n_g⌉`` nodes of each graph (default 0.5 when ``k`` is not given).
        k: keep ``min(k, n_g)`` nodes of each graph instead.
        filter_size: ``L``, the longest path in ``M`` (``L ≥ 1``).
        structure: ``"diag"`` (the paper: :math:`\mathrm{diag}(M)`) or ``"degree"`` (PyG's
            and tgp's ``PANPooling``: the column sums of :math:`\tilde M`,
            :math:`\sum_j \tilde M_{ji}`).
        met_norm: ``Z`` of :math:`\tilde M = Z^{-1/2} M Z^{-1/2}`: ``"sum"`` (the paper's
            partition function, row sums of ``M``) or ``"count"`` (PyG's ``PANConv``:
            non-zeros per row).
        pooled_graph: ``"met"`` (PyG and tgp: the kept rows and columns of
            :math:`\tilde M`, with its self-loops; kept nodes up to ``L`` hops apart are
            linked) or ``"induced"`` (``A_{i,i}`` as in Top-K, edge features carried over).
        gate: as in :class:`TopKPooling` (``"tanh"``, as PyG).

    Parameters, initialised as PyG and the authors: ``p = 1``, ``β = (½, ½)``, and the
    energies :math:`E(n)/T = (n+1)\ln 2`, so :math:`w_n = 2^{-(n+1)}`. The path weights
    are :math:`w_n = e^{-E(n)/T}` with the energies learned, so they stay positive (the
    authors clamp theirs to [0, 1] after every step).

    **Differences from PyG's ``PANPooling``** (and tgp's, the same formulas). (1) Their
    structural score is :math:`\deg(\tilde M)` rather than the paper's
    :math:`\mathrm{diag}(M)`; ``structure="degree"`` gives theirs. (2) PyG's ``PANConv``
    normalises by the number of non-zeros per row, not by the partition function;
    ``met_norm="count"``. (3) PyG's ``PANConv`` multiplies its weights cumulatively (the
    coefficient of :math:`A^n` is :math:`\prod_{m \le n} w_m`); here each length has its
    own weight, as in the paper's sum. (4) PyG ranks by ``sign(q) · y`` with a learned
    scalar ``q`` (the sign issue of its SAGPooling, issue 9862); here by ``y``. With
    ``structure="degree"``, ``met_norm="count"``, the same ``M`` and ``q > 0`` the kept
    nodes, pooled features and pooled graph equal PyG's (``tests/test_pan.py``).

    ``forward`` also takes ``met=(index, value)``, a normalised MET matrix computed by a
    PAN convolution before the pooler (the paper's architecture, where pooling reuses the
    convolution's ``M``); ``diag`` then reads :math:`\tilde M_{ii}`.
    """

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5, "filter_size": 3}

    def __init__(self, in_channels: int, ratio: Optional[float] = None, k: Optional[int] = None,
                 filter_size: int = 3, structure: str = "diag", met_norm: str = "sum",
                 pooled_graph: str = "met", gate: str = "tanh"):
        self.filter_size = check_positive_int(filter_size, "filter_size")
        for value, options, label in ((structure, _PAN_STRUCTURES, "structure"), (met_norm, _PAN_NORMS, "met_norm"),
                                      (pooled_graph, _PAN_GRAPHS, "pooled_graph")):
            if value not in options:
                raise ValueError(f"{label} must be one of {options}, got {value!r}")
        self.structure, self.met_norm, self.pooled_graph = structure, met_norm, pooled_graph
        super().__init__(in_channels, ratio=ratio, k=k, gate=gate)

    def _init_scorer(self) -> None:
        self.weight = torch.nn.Parameter(torch.empty(self.in_channels))  # p
        self.beta = torch.nn.Parameter(torch.empty(2))
        self.energy = torch.nn.Parameter(torch.empty(self.filter_size + 1))  # E(n)/T

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.beta.fill_(0.5)
            self.energy.copy_(torch.arange(1, self.filter_size + 2, dtype=self.energy.dtype) * math.log(2.0))

    @property
    def path_weights(self) -> Tensor:
        """:math:`w_n = e^{-E(n)/T}`, ``n = 0 … L``."""
        return torch.exp(-self.energy)

    def met(self, edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None):
        """This pooler's MET matrix: ``(index, M, M̃, diag(M))`` (:func:`met_matrix`)."""
        return met_matrix(edge_index, num_nodes, self.path_weights, edge_weight, norm=self.met_norm)

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
               edge_weight: Optional[Tensor] = None, met=None, **kwargs) -> SelectOutput:
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        if met is None:
            index, _, m_norm, diag = self.met(edge_index, n, edge_weight)
        else:
            index, m_norm = met
            if index.dim() != 2 or index.size(0) != 2 or m_norm.shape != (index.size(1),):
                raise ValueError("met must be (index [2, nnz], value [nnz])")
            diag = None
        m_norm = m_norm.to(x.dtype)
        if self.structure == "diag":
            if diag is None:  # a given M~: read its diagonal
                on_diag = (index[0] == index[1]).nonzero().view(-1)
                diag = m_norm.new_zeros(n).index_add(0, index[0][on_diag], m_norm[on_diag])
            s = diag.to(x.dtype)
        else:
            s = x.new_zeros(n).index_add(0, index[1], m_norm)
        y = self.beta[0] * (x @ self.weight) + self.beta[1] * s
        kept = topk_select(y, batch, ratio=self.ratio, k=self.k)
        return SelectOutput(
            node_index=kept, cluster_index=torch.arange(kept.numel(), device=kept.device),
            weight=self._gate(y[kept]), num_nodes=n, num_clusters=kept.numel(), batch=batch,
            cluster_batch=None if batch is None else batch[kept], kept=kept,
            extra={"score": y, "structure": s, "met_index": index, "met_value": m_norm},
        )

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None, edge_attr=None):
        """``M̃_{i,i}`` (``pooled_graph="met"``) or ``A_{i,i}`` (``"induced"``)."""
        if self.pooled_graph == "met":
            ei, ew, _ = induced_subgraph(so.extra["met_index"], so.node_index, so.num_nodes, so.extra["met_value"])
            return ei, ew
        return super().connect(edge_index, so, edge_weight)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, met=None,
                **kwargs) -> PoolingOutput:
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        if edge_attr is not None and self.pooled_graph == "met":
            raise ValueError("the pooled graph of PANPool is the MET matrix, whose edges are walks of up to "
                             "filter_size steps and carry no edge features; use pooled_graph='induced' to keep them")
        so = self.select(x, edge_index, batch=batch, edge_weight=edge_weight, met=met)
        if self.pooled_graph == "met":
            ei, ew = self.connect(edge_index, so)
            ea = None
        else:
            ei, ew, ea = induced_subgraph(edge_index, so.node_index, so.num_nodes, edge_weight, edge_attr)
        return PoolingOutput(x=self.reduce(x, so), so=so, edge_index=ei, edge_weight=ew, edge_attr=ea,
                             batch=so.cluster_batch)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", filter_size={self.filter_size}, structure={self.structure!r}, "
                f"met_norm={self.met_norm!r}, pooled_graph={self.pooled_graph!r}")
