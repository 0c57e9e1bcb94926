r"""ASAPool (Ranjan, Sanyal and Talukdar, "ASAP: Adaptive Structure Aware Pooling for Learning
Hierarchical Graph Representations", AAAI 2020): score clusters, not nodes.

Every node ``i`` proposes its 1-hop neighbourhood as a cluster; a Master2Token attention
weighs the members,

.. math::  m_i = \max_{j \in c_i} x_j,\qquad
           \alpha_{ij} = \mathrm{softmax}_{j \in c_i}\big(\mathrm{LeakyReLU}(w^\top[W m_i \,\|\, x_j])\big),\qquad
           x^c_i = \sum_{j \in c_i}\alpha_{ij} x_j,

a local-extrema convolution (LEConv) gives each cluster a fitness :math:`\phi_i`, the top
:math:`\lceil \mathrm{ratio}\cdot n\rceil` clusters of each graph are kept, their features
gated by the fitness, and :math:`A' = S^\top \hat A S` (:math:`\hat A` with self-loops).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.poolers.score.topk import _check_ratio_or_k, topk_select
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register

__all__ = ['ASAPool', 'ASAPooling']


@register("asap")
class ASAPool(SparsePooler):
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


ASAPooling = ASAPool  # the old name, kept for one release
