r"""EigenPool (Ma, Wang, Aggarwal and Tang, "Graph Convolutional Networks with EigenPooling",
KDD 2019).

Nodes are split into ``k`` clusters by spectral clustering; for each cluster ``c`` the first
``H`` eigenvectors :math:`u^{(c)}_1, \dots, u^{(c)}_H` of its own Laplacian give the pooled
features

.. math::  X'_c = \big[\,u^{(c)\top}_1 X_c \,\|\, \dots \,\|\, u^{(c)\top}_H X_c\,\big],\qquad
           A' = S^\top A S\ (S \text{ the one-hot cluster matrix}),

so the pooled graph has ``H·F`` channels (:meth:`EigenPool.pooled_channels`).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.ops.graph import _hard_connect, _undirected
from poolkit.ops.spectral import _eigh_by_size, _padded_laplacians, spectral_partition
from poolkit.src import SparsePooler, SelectOutput, check_positive_int, register

__all__ = ['cluster_eigenvectors', 'EigenPool']


def cluster_eigenvectors(edge_index: Tensor, cluster: Tensor, num_clusters: int, modes: int,
                         edge_weight: Optional[Tensor] = None, normalized: bool = True,
                         padding: str = "zero", sign: str = "largest") -> Tensor:
    r"""EigenPool's pooling vectors: ``θ`` ``[N, H]`` with ``θ[i, l]`` the entry of node ``i`` in
    the ``l``-th Laplacian eigenvector (ascending eigenvalues) of the subgraph induced by its
    cluster, i.e. row ``i`` of :math:`\Theta_l = [C^{(1)}u^{(1)}_l, \dots, C^{(K)}u^{(K)}_l]`.

    ``normalized`` picks :math:`I - D^{-1/2}AD^{-1/2}` (the authors' code and tgp) or
    :math:`D - A` for the subgraph Laplacians. A cluster of ``n_c < H`` nodes has no ``l``-th
    eigenvector for ``l ≥ n_c``: ``padding="zero"`` gives it zeros (the columns of all
    :math:`\Theta_l` are then orthonormal), ``"last"`` repeats the last eigenvector (the
    authors' code and tgp). An eigenvector is defined up to its sign: ``sign="largest"`` makes
    its entry of largest magnitude positive, which does not depend on the node order unless
    two entries tie in magnitude; ``"first"`` makes the entry of the cluster's first node
    non-negative (the authors' code and tgp). A single-node cluster has the one eigenvector
    ``[1]``.
    """
    if padding not in ("zero", "last"):
        raise ValueError(f"padding must be 'zero' or 'last', got {padding!r}")
    if sign not in ("largest", "first"):
        raise ValueError(f"sign must be 'largest' or 'first', got {sign!r}")
    modes = check_positive_int(modes, "modes")
    n = cluster.numel()
    dev = cluster.device
    if n == 0:
        return torch.zeros(0, modes, device=dev)
    cl = cluster.cpu().long()
    sizes = torch.bincount(cl, minlength=num_clusters)
    order = torch.argsort(cl, stable=True)
    start = torch.cumsum(sizes, 0) - sizes
    local = torch.empty(n, dtype=torch.long)
    local[order] = torch.arange(n) - start[cl[order]]
    u, v, w = _undirected(edge_index, n, edge_weight)
    inside = cl[u] == cl[v]
    u, v, w = u[inside], v[inside], w[inside]
    lap, _ = _padded_laplacians(torch.cat([u, v]), torch.cat([v, u]), torch.cat([w, w]), cl, local, sizes, normalized)
    vec = _eigh_by_size(lap, sizes)  # [K, m, m]
    m = vec.size(-1)
    col = torch.arange(modes).unsqueeze(0).expand(num_clusters, modes)
    last = (sizes - 1).clamp(min=0).unsqueeze(1)
    src = torch.minimum(col, last) if padding == "last" else col.clamp(max=m - 1)
    modes_vec = torch.gather(vec, 2, src.unsqueeze(1).expand(num_clusters, m, modes))  # [K, m, H]
    if padding == "zero":
        modes_vec = modes_vec * (col < sizes.unsqueeze(1)).unsqueeze(1)
    if sign == "first":
        ref = modes_vec[:, 0, :]  # the first node of each cluster
    else:  # the entry of largest magnitude (rounded, so that equal magnitudes tie by position)
        pick = modes_vec.abs().mul(1e9).round().argmax(1, keepdim=True)
        ref = torch.gather(modes_vec, 1, pick).squeeze(1)
    modes_vec = modes_vec * torch.where(ref < 0, -1.0, 1.0).to(modes_vec.dtype).unsqueeze(1)
    theta = modes_vec[cl, local]  # [N, H]
    return theta.to(device=dev, dtype=torch.get_default_dtype())


@register("eigenpool")
class EigenPool(SparsePooler):
    r"""EigenPooling (Ma, Wang, Aggarwal and Tang, "Graph Convolutional Networks with
    EigenPooling", KDD 2019): a spectral partition, then a graph Fourier transform inside
    every part.

    * **Select.** Spectral clustering cuts each graph into ``K`` subgraphs
      (:func:`spectral_partition`); ``Ω ∈ {0,1}^{N×K}`` is the one-hot assignment (``S``
      of the :class:`~poolkit.src.SelectOutput`). For every subgraph ``c`` the
      eigenvectors :math:`u^{(c)}_l` of its Laplacian give the pooling matrices
      :math:`\Theta_l = [C^{(1)}u^{(1)}_l, \dots, C^{(K)}u^{(K)}_l] ∈ R^{N×K}`, ``l < H``
      (:func:`cluster_eigenvectors`; :math:`C^{(c)}` puts the subgraph's entries back on
      its nodes).
    * **Reduce.** :math:`X' = [\Theta_0^\top X \,\|\, \Theta_1^\top X \,\|\, \dots \,\|\,
      \Theta_{H-1}^\top X] ∈ R^{K × H F}`: the first ``H`` graph-Fourier coefficients of
      the features on every subgraph, side by side. The output has ``H · F`` channels
      (:meth:`pooled_channels`). With :math:`L = D - A`, :math:`\Theta_0^\top X` is each
      cluster's sum divided by :math:`\sqrt{n_c}`; the higher modes carry how the features
      vary inside it.
    * **Connect.** :math:`A' = \Omega^\top A_{ext}\,\Omega`, with :math:`A_{ext}` the edges
      between different subgraphs: edge weights summed between clusters, no self-loops.
    * **Lift.** :math:`\tilde X = \sum_l \Theta_l X'_l`, exact when ``H`` is at least the
      largest subgraph (with ``padding="zero"``, the columns of the :math:`\Theta_l` form an
      orthonormal basis).

    Nothing is learned and everything depends on the graph alone (``is_precomputable``).

    Args:
        k: subgraphs per graph (``min(k, n_g)``; k-means can leave fewer).
        modes: ``H``, eigenvectors per subgraph.
        normalized: Laplacian of the subgraphs: ``True`` (default, the authors' code and
            tgp) :math:`I - D^{-1/2}AD^{-1/2}`, ``False`` :math:`D - A`.
        padding: ``"zero"`` or ``"last"`` for subgraphs with fewer than ``H`` nodes (see
            :func:`cluster_eigenvectors`).
        sign: how each eigenvector's sign is fixed, ``"largest"`` or ``"first"`` (tgp).

    **Differences from tgp's ``EigenPooling``.** tgp partitions with scikit-learn's
    ``SpectralClustering`` (random k-means restarts; here a deterministic k-means on the
    same spectral embedding). With the same partition, ``normalized=True``,
    ``padding="last"`` and ``sign="first"``, the pooled features equal tgp's except on single-node clusters:
    tgp (like the authors' code) fills them with the node's self-loop weight, 0 on
    graphs without self-loops, so such a node's features vanish; here the node keeps them
    (``θ = 1``, the eigenvector of a one-node graph). tgp also normalises the pooled
    adjacency by degree by default; ``A'`` here is the paper's :math:`\Omega^\top A_{ext}
    \Omega` (tgp with ``degree_norm=False`` gives the same). ``tests/test_eigenpool.py``
    checks both.
    """

    is_precomputable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k, "modes": 2}

    def __init__(self, k: int = 4, modes: int = 2, normalized: bool = True, padding: str = "zero",
                 sign: str = "largest", iters: int = 100):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.modes = check_positive_int(modes, "modes")
        self.iters = check_positive_int(iters, "iters")
        if padding not in ("zero", "last"):
            raise ValueError(f"padding must be 'zero' or 'last', got {padding!r}")
        if sign not in ("largest", "first"):
            raise ValueError(f"sign must be 'largest' or 'first', got {sign!r}")
        self.normalized, self.padding, self.sign = bool(normalized), padding, sign

    def pooled_channels(self, in_channels: int) -> int:
        return self.modes * in_channels

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        cluster, k = spectral_partition(edge_index, n, self.k, edge_weight, batch, iters=self.iters)
        so = SelectOutput.from_cluster_index(cluster, k, batch=batch)
        so.extra["theta"] = cluster_eigenvectors(edge_index, cluster, k, self.modes, edge_weight,
                                                 normalized=self.normalized, padding=self.padding,
                                                 sign=self.sign).to(x.device)
        return so

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        """``[Θ_0ᵀX ‖ … ‖ Θ_{H-1}ᵀX]``, ``[K, H·F]``."""
        theta = so.extra["theta"].to(x.dtype)  # [N, H]
        cl = torch.empty(so.num_nodes, dtype=torch.long, device=x.device)
        cl[so.node_index] = so.cluster_index
        parts = x.unsqueeze(1) * theta.unsqueeze(-1)  # [N, H, F]
        out = x.new_zeros(so.num_clusters, self.modes, x.size(-1)).index_add(0, cl, parts)
        return out.reshape(so.num_clusters, self.modes * x.size(-1))

    def connect(self, edge_index, so, edge_weight=None):
        """``Ωᵀ A_ext Ω``: edges between clusters, weights summed; intra-cluster edges dropped."""
        return _hard_connect(edge_index, so, edge_weight)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        """``X̃ = Σ_l Θ_l X'_l``: every node gets back its cluster's modes, weighted by its θ."""
        theta = so.extra["theta"].to(x_pool.dtype)
        cl = torch.empty(so.num_nodes, dtype=torch.long, device=x_pool.device)
        cl[so.node_index] = so.cluster_index
        f = x_pool.size(-1) // self.modes
        return (x_pool[cl].view(-1, self.modes, f) * theta.unsqueeze(-1)).sum(1)

    def extra_repr(self) -> str:
        return (f"k={self.k}, modes={self.modes}, normalized={self.normalized}, padding={self.padding!r}, "
                f"sign={self.sign!r}")
