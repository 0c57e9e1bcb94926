r"""MaxCutPool (Abate and Bianchi, "MaxCutPool: differentiable feature-aware Maxcut for pooling
in graph neural networks", ICLR 2025).

A score network gives :math:`z \in [-1, 1]^N`; the auxiliary loss

.. math::  \mathcal L_{\mathrm{cut}} = \frac{z^\top A z}{\sum_{ij} a_{ij}}

is minimised by a maximum cut. The top-scoring nodes are kept (:func:`topk_select`), every
dropped node joins its nearest kept node by hop distance (:func:`nearest_kept_assignment`),
and ``A' = Sᵀ A S`` without self-loops.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.ops.graph import _hard_connect
from poolkit.poolers.score.topk import _check_ratio_or_k, topk_select
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register

__all__ = ['maxcut_loss', 'nearest_kept_assignment', 'MaxCutPool']


def maxcut_loss(score: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, reduction: str = "mean") -> Tensor:
    r"""MaxCutPool's auxiliary loss, per graph and averaged:

    .. math::  \mathcal L_{\mathrm{cut}} = \frac{z^\top A z}{\sum_{ij} a_{ij}},\qquad z \in [-1, 1]^N .

    For a ±1 vector ``z`` it equals :math:`1 - 2\,\mathrm{cut}(z)/\mathrm{vol}` with
    :math:`\mathrm{cut}` the weight of the edges joining the two sides, so it lies in
    ``[-1, 1]`` and is ``-1`` exactly when every edge crosses the cut (a bipartite graph
    split along its two colour classes). A graph without edges contributes 0.
    """
    z = score.view(-1)
    n = z.numel()
    batch = torch.zeros(n, dtype=torch.long, device=z.device) if batch is None else batch
    b = int(batch.max()) + 1 if n else 1
    w = z.new_ones(edge_index.size(1)) if edge_weight is None else edge_weight.view(-1).to(z.dtype)
    g = batch[edge_index[0]]
    num = z.new_zeros(b).index_add_(0, g, w * z[edge_index[0]] * z[edge_index[1]])
    vol = z.new_zeros(b).index_add_(0, g, w)
    out = num / torch.where(vol > 0, vol, torch.ones_like(vol))
    if reduction == "mean":
        return out.mean()
    if reduction == "none":
        return out
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def nearest_kept_assignment(edge_index: Tensor, kept: Tensor, num_nodes: int,
                            max_iter: Optional[int] = None) -> Tensor:
    r"""Assign every node to a kept node at the smallest hop distance.

    ``kept`` lists the kept nodes, in the order that breaks ties. Returns, per node, the position
    in ``kept`` of its supernode (``-1`` for a node that no kept node reaches, such as a
    component without kept nodes, or beyond ``max_iter`` hops). The assignment grows one
    hop per round from the kept nodes: a node reached in this round joins the supernode
    most of its already-assigned neighbours belong to (ties: the supernode listed first
    in ``kept``). Vectorised over all nodes and graphs.
    """
    dev = edge_index.device
    k = kept.numel()
    assign = torch.full((num_nodes,), -1, dtype=torch.long, device=dev)
    assign[kept] = torch.arange(k, device=dev)
    src, dst = edge_index[0], edge_index[1]
    it = 0
    while max_iter is None or it < max_iter:
        it += 1
        ok = (assign[src] >= 0) & (assign[dst] < 0)
        if not bool(ok.any()):
            break
        key, cnt = torch.unique(dst[ok] * k + assign[src[ok]], return_counts=True)
        d, c = key // k, key % k
        # per node: most votes first, then best priority (smallest position in kept)
        order = torch.sort(c, stable=True).indices
        order = order[torch.sort(cnt[order], descending=True, stable=True).indices]
        order = order[torch.sort(d[order], stable=True).indices]
        d, c = d[order], c[order]
        first = torch.ones_like(d, dtype=torch.bool)
        first[1:] = d[1:] != d[:-1]
        assign[d[first]] = c[first]
    return assign


class _MaxCutScoreNet(torch.nn.Module):
    r"""``z = tanh(MLP(HetMP^L(W_0 X)))``: heterophilic message passing with the propagation
    :math:`P = I - \delta L_{\mathrm{sym}} = (1-\delta) I + \delta D^{-1/2} A D^{-1/2}`,
    which for :math:`\delta > 1` amplifies the high graph frequencies (neighbours pushed
    apart, the signal a MAXCUT needs)."""

    def __init__(self, in_channels, mp_units, mlp_units, delta):
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.delta = float(delta)
        self.initial = torch.nn.Linear(in_channels, in_channels)
        sizes = [in_channels] + list(mp_units)
        self.mp = torch.nn.ModuleList([GCNConv(a, b, normalize=False) for a, b in zip(sizes[:-1], sizes[1:])])
        sizes = sizes[-1:] + list(mlp_units)
        self.mlp = torch.nn.ModuleList([torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.final = torch.nn.Linear(sizes[-1], 1)

    def propagation(self, edge_index, edge_weight, n):
        keep = edge_index[0] != edge_index[1]
        ei = edge_index[:, keep]
        w = torch.ones(ei.size(1), device=ei.device) if edge_weight is None else edge_weight.view(-1)[keep].float()
        deg = w.new_zeros(n).index_add_(0, ei[0], w)
        dinv = torch.where(deg > 0, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
        loops = torch.arange(n, device=ei.device)
        pe = torch.cat([ei, torch.stack([loops, loops])], 1)
        pw = torch.cat([self.delta * w * dinv[ei[0]] * dinv[ei[1]], w.new_full((n,), 1.0 - self.delta)])
        return pe, pw

    def forward(self, x, edge_index, edge_weight=None):
        pe, pw = self.propagation(edge_index, edge_weight, x.size(0))
        h = self.initial(x)
        for conv in self.mp:
            h = torch.tanh(conv(h, pe, pw.to(h.dtype)))
        for lin in self.mlp:
            h = torch.relu(lin(h))
        return torch.tanh(self.final(h)).view(-1)


@register("maxcut")
class MaxCutPool(SparsePooler):
    r"""MaxCutPool (Abate and Bianchi, "MaxCutPool: differentiable feature-aware Maxcut for
    pooling in graph neural networks", ICLR 2025): keep one side of a learned MAXCUT.

    NDP (above) keeps one side of a *spectral* MAXCUT of the topology alone. MaxCutPool
    learns the cut from the features and the topology, end to end:

    * **Select.** A score network (:class:`_MaxCutScoreNet`: an embedding, ``L``
      heterophilic message-passing layers with :math:`P = I - \delta L_{\mathrm{sym}}`,
      an MLP, ``tanh``) gives :math:`z \in [-1, 1]^N`; the auxiliary loss
      :func:`maxcut_loss` :math:`z^\top A z / \mathrm{vol}` pushes adjacent nodes to
      opposite signs. The top :math:`\lceil \mathrm{ratio} \cdot n_g\rceil` nodes of each
      graph by ``z`` become the supernodes, and every other node joins its nearest
      supernode (:func:`nearest_kept_assignment`). ``S`` has one non-zero per node,
      :math:`S_{i, c(i)} = z_i`.
    * **Reduce.** :math:`X' = S^\top X`, i.e. :math:`x'_c = \sum_{i \in c} z_i x_i`
      (the factor ``z`` carries the gradient of the task loss into the score network).
    * **Connect.** :math:`A' = C^\top A C` for the hard 0/1 assignment ``C``, self-loops
      dropped, and (``normalize_edge_weight=True``) every graph's pooled weights divided
      by their maximum, so that repeated pooling does not blow weights up.

    Args:
        in_channels: node features ``F``.
        ratio: supernodes per graph, ``⌈ratio · n_g⌉`` (default 0.5).
        mp_units, mlp_units: widths of the message-passing layers and of the MLP.
        delta: :math:`\delta` of the propagation (2 in the paper).
        max_iter: hop limit of the nearest-supernode assignment (``None``: no limit).
        normalize_edge_weight: divide each graph's pooled edge weights by their maximum.

    The loss is returned as ``losses["cut"]`` (unweighted).

    **Difference from tgp's ``MaxCutPooling``**, which this equals otherwise (same
    supernodes, assignment, pooled features, pooled graph and loss in
    ``tests/test_maxcut.py``): tgp stops the nearest-supernode search after ``max_iter=5``
    hops and assigns the nodes still left to *random* supernodes of their graph (so its
    output is random for graphs with such nodes); here the search runs until no node is
    reached any more (``max_iter=None``), and nodes that no supernode reaches (a component
    of the graph with no kept node) belong to no supernode, as dropped nodes of Top-K do.
    """

    is_trainable = True
    has_aux_loss = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5, "mp_units": (8, 8), "mlp_units": (8,)}

    def __init__(self, in_channels: int, ratio: float = 0.5, mp_units=(32, 32, 32, 32), mlp_units=(16, 16),
                 delta: float = 2.0, max_iter: Optional[int] = None, normalize_edge_weight: bool = True):
        super().__init__()

        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.ratio, _ = _check_ratio_or_k(ratio, None)
        mp_units = [check_positive_int(u, "mp_units") for u in mp_units]
        mlp_units = [check_positive_int(u, "mlp_units") for u in mlp_units]
        if not isinstance(delta, (int, float)) or isinstance(delta, bool) or delta <= 0:
            raise ValueError(f"delta must be a positive number, got {delta!r}")
        if max_iter is not None:
            check_positive_int(max_iter, "max_iter")
        self.max_iter, self.normalize_edge_weight = max_iter, bool(normalize_edge_weight)
        self.score_net = _MaxCutScoreNet(in_channels, mp_units, mlp_units, delta)

    def select(self, x, edge_index, batch=None, edge_weight=None, **kwargs) -> SelectOutput:

        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        z = self.score_net(x, edge_index, edge_weight)
        # supernodes numbered by their node index (graphs stay contiguous); ties of the
        # nearest-supernode rule go to the supernode with the smallest index
        kept = torch.sort(topk_select(z, batch, ratio=self.ratio)).values
        cluster = nearest_kept_assignment(edge_index, kept, n, self.max_iter)
        so = SelectOutput.from_cluster_index(cluster, kept.numel(), batch=batch, weight=z)
        so.kept = kept
        so.extra["score"] = z
        return so

    def connect(self, edge_index, so, edge_weight=None):
        if so.node_index.numel() < so.num_nodes:  # nodes that no supernode reached: drop their edges
            has = torch.zeros(so.num_nodes, dtype=torch.bool, device=edge_index.device)
            has[so.node_index] = True
            keep = has[edge_index[0]] & has[edge_index[1]]
            edge_index = edge_index[:, keep]
            edge_weight = None if edge_weight is None else edge_weight[keep]
        ei, ew = _hard_connect(edge_index, so, edge_weight)
        if self.normalize_edge_weight and ew.numel():
            cb = so.cluster_batch if so.cluster_batch is not None else torch.zeros(
                so.num_clusters, dtype=torch.long, device=ew.device)
            g = cb[ei[0]]
            top = ew.new_zeros(int(cb.max()) + 1).scatter_reduce_(0, g, ew.abs(), reduce="amax", include_self=True)
            ew = ew / top[g]
        return ei, ew

    def losses(self, x=None, edge_index=None, batch=None, so=None, edge_weight=None, **kwargs):
        return {"cut": maxcut_loss(so.extra["score"], edge_index, edge_weight, batch)}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, ratio={self.ratio}"
