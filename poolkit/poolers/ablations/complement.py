r"""Graclus on the complement graph (Mesquita, Souza and Kaski, "Rethinking pooling in graph
neural networks", NeurIPS 2020): ``complement_graclus``.

Clusters are Graclus matchings of :math:`\bar A_{ij} = 1 - A_{ij}` (:math:`i \ne j`), pooling
uses the original graph:

.. math::  X'_{kj} = \max_{i: S_{ik} = 1} Z_{ij},\qquad A' = S^\top A S,\ A'_{kk} = 0 .

``complement=False`` is the paper's GRACLUS baseline.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from poolkit.poolers.one_over_k.graclus import graclus_cluster
from poolkit.src import SparsePooler, SelectOutput, register, sparse_connect

__all__ = ['complement_graph', 'ComplementGraclusPool', 'ComplementGraclus']


# --------------------------------------------------------------------------- complement graph
def complement_graph(edge_index: Tensor, num_nodes: int, batch: Optional[Tensor] = None) -> Tensor:
    r"""The complement of every graph in a batch: ``(i, j)`` is an edge iff ``i != j``, both
    belong to the same graph and ``(i, j)`` is not in ``edge_index``.

    Exact (it enumerates the pairs of each graph, ``Σ_g n_g²`` work), with no self-loops
    and never an edge between two graphs. For an undirected ``edge_index`` (both directions
    listed, as in PyG) the result is undirected too. Returns a ``[2, E']`` long tensor
    sorted by source, then target.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 0:
        raise ValueError(f"num_nodes must be an integer >= 0, got {num_nodes!r}")
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"edge_index must have shape [2, num_edges], got {shape}")
    dev = edge_index.device
    edge_index = edge_index.long()
    if edge_index.numel() > 0 and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds node indices outside [0, {num_nodes})")
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=dev)
    else:
        batch = batch.long().view(-1)
        if batch.numel() != num_nodes:
            raise ValueError(f"batch must have shape [{num_nodes}] (one graph id per node), got {tuple(batch.shape)}")
        if num_nodes > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted (nodes of one graph stored together), as PyG does")
    if num_nodes == 0:
        return torch.empty(2, 0, dtype=torch.long, device=dev)
    if edge_index.numel() > 0 and bool((batch[edge_index[0]] != batch[edge_index[1]]).any()):
        raise ValueError("edge_index connects nodes of different graphs (check batch)")
    counts = torch.bincount(batch)
    ptr = torch.cumsum(counts, 0) - counts
    nmax = int(counts.max())
    local = torch.arange(num_nodes, device=dev) - ptr[batch]
    adj = torch.zeros(counts.numel(), nmax, nmax, dtype=torch.bool, device=dev)
    if edge_index.numel() > 0:
        adj[batch[edge_index[0]], local[edge_index[0]], local[edge_index[1]]] = True
    real = torch.arange(nmax, device=dev).unsqueeze(0) < counts.unsqueeze(1)  # [B, nmax]
    eye = torch.eye(nmax, dtype=torch.bool, device=dev).unsqueeze(0)
    comp = real.unsqueeze(2) & real.unsqueeze(1) & ~adj & ~eye
    g, i, j = comp.nonzero(as_tuple=True)
    return torch.stack([i + ptr[g], j + ptr[g]])


def _graclus(edge_index, num_nodes, edge_weight=None, batch=None, seed=None) -> Tensor:

    return graclus_cluster(edge_index, num_nodes, edge_weight=edge_weight, batch=batch, seed=seed)


@register("complement_graclus")
class ComplementGraclusPool(SparsePooler):
    r"""Graclus on the complement graph, max-pooling and connect on the original graph.

    Args:
        complement: cluster the complement graph (``True``, the COMPLEMENT model) or the
            graph itself (``False``, the GRACLUS baseline with the same reduce and connect).
        binary_edges: give every pooled edge weight 1 (``A'_kl = 1`` iff clusters ``k`` and
            ``l`` are joined by an edge, as the paper states); ``False`` keeps the counts of
            ``Sᵀ A S``.
        seed: how Graclus breaks ties between equally good edges. ``None``: by node index, so
            a graph always gets the same clusters; an ``int``: by a random node order drawn
            from it, fixed for the pooler's life; ``"per_pass"``: by a fresh random order at
            every forward pass, drawn from torch's global generator (``torch.manual_seed``
            makes a run repeatable). PyG's ``graclus``, which the paper used, visits nodes in
            a new random order at every call, so ``"per_pass"`` is the paper's behaviour. Its
            clusters change from pass to pass, so it cannot be precomputed.
    """

    is_precomputable = True
    reduce_op = "max"

    def __init__(self, complement: bool = True, binary_edges: bool = True, seed=None):
        super().__init__()
        if not (seed is None or seed == "per_pass" or (isinstance(seed, int) and not isinstance(seed, bool))):
            raise ValueError(f"seed must be None, an int or 'per_pass', got {seed!r}")
        self.complement = bool(complement)
        self.binary_edges = bool(binary_edges)
        self.seed = seed
        if seed == "per_pass":
            self.is_precomputable = False

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, edge_weight=None, **kwargs) -> SelectOutput:
        n = x.size(0)
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        if self.complement:
            ei, ew = complement_graph(edge_index, n, batch), None
        else:
            ei, ew = edge_index, edge_weight
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,))) if self.seed == "per_pass" else self.seed
        cluster = _graclus(ei, n, edge_weight=ew, batch=batch, seed=seed).long().view(-1)
        if cluster.numel() != n:
            raise RuntimeError(f"graclus_cluster returned {cluster.numel()} labels for {n} nodes")
        # Consecutive ids ordered by graph, so the pooled batch vector is sorted as PyG needs.
        key = batch * (int(cluster.max()) + 1 if n else 1) + cluster
        _, cluster = torch.unique(key, return_inverse=True)
        return SelectOutput.from_cluster_index(cluster, batch=batch)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        ei, ew = sparse_connect(edge_index, so, edge_weight)
        if self.binary_edges:
            ew = torch.ones_like(ew)
        return ei, ew

    def extra_repr(self) -> str:
        return f"complement={self.complement}, binary_edges={self.binary_edges}, seed={self.seed!r}"


ComplementGraclus = ComplementGraclusPool  # the old name, kept for one release
