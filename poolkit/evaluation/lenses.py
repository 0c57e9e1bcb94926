r"""The first three lenses: expressiveness, structure and information (see :mod:`poolkit.evaluation`)."""
from __future__ import annotations

from typing import List, Optional

import torch
from torch import Tensor

from poolkit.src import PoolingOutput, SelectOutput, dense_reduce, sparse_reduce


# =========================================================================== lens 1: expressiveness
def expressive_selection(so: SelectOutput, rtol: float = 1e-4) -> bool:
    r"""True when every row of ``S`` (every real node of every graph) sums to the same
    ``λ > 0``: the condition on ``S`` of Bianchi & Lachi's theorem.

    A pooler that drops a node has a zero row, so it fails; soft clustering (softmax rows)
    and hard one-over-K clusters (one 1 per row) pass with ``λ = 1``.
    """
    r = so.row_sums()
    if r.numel() == 0:
        return False
    lam = float(r.mean())
    spread = float((r - lam).abs().max())
    return lam > rtol and spread <= rtol * max(1.0, abs(lam))


def _dense_x(x: Tensor, so: SelectOutput, batch: Optional[Tensor]) -> Tensor:
    from torch_geometric.utils import to_dense_batch

    if x.dim() == 3:
        return x
    xd, _ = to_dense_batch(x, batch, max_num_nodes=so.s.size(1), batch_size=so.s.size(0))
    return xd


def reduce_residual(x: Tensor, out: PoolingOutput, batch: Optional[Tensor] = None) -> float:
    r"""``‖X' − Sᵀ X‖_F / ‖Sᵀ X‖_F`` for the pooler's output ``out`` on input ``x``: 0 when
    Reduce is the sum ``X' = Sᵀ X``; ``inf`` when the shapes do not even match."""
    so = out.so
    with torch.no_grad():
        if so.is_dense:
            ref = dense_reduce(_dense_x(x, so, batch), so.s, so.mask)
            got = out.x
            if got.shape != ref.shape:
                return float("inf")
            if out.mask is not None and out.mask.shape == ref.shape[:2]:
                m = out.mask.unsqueeze(-1).to(ref.dtype)
                ref, got = ref * m, got * m
        else:
            ref, got = sparse_reduce(x, so, op="sum"), out.x
            if got.shape != ref.shape:
                return float("inf")
        return float((got - ref).norm() / ref.norm().clamp(min=1e-12))


# =========================================================================== lens 2: structure
def dense_adjacency(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None) -> Tensor:
    """``[N, N]`` adjacency from ``edge_index`` (duplicate edges add up)."""
    a = torch.zeros(num_nodes, num_nodes, dtype=torch.float, device=edge_index.device)
    if edge_index.numel():
        w = torch.ones(edge_index.size(1), device=edge_index.device) if edge_weight is None else edge_weight.float()
        a.index_put_((edge_index[0], edge_index[1]), w.view(-1), accumulate=True)
    return a


def lifted_adjacency(out: PoolingOutput, num_nodes: int, batch: Optional[Tensor] = None) -> Tensor:
    r"""``Ã = S A' Sᵀ`` as one ``[N, N]`` matrix over the nodes of the input batch
    (block-diagonal: supernodes never join graphs), for either layout of ``S``.

    Dense poolers give ``A'`` as ``out.adj``; sparse ones as ``out.edge_index`` and
    ``out.edge_weight`` (weight 1 when absent). Dropped nodes get zero rows.
    """
    so = out.so
    with torch.no_grad():
        if so.is_dense:
            s = so.s * so.mask.unsqueeze(-1).to(so.s.dtype)
            k = s.size(-1)
            adj = out.adj if out.adj is not None else s.new_zeros(s.size(0), k, k)
            full = s @ adj[:, :k, :k].to(s.dtype) @ s.transpose(1, 2)  # [B, Nmax, Nmax]
            res = s.new_zeros(num_nodes, num_nodes)
            b = torch.zeros(num_nodes, dtype=torch.long, device=s.device) if batch is None else batch
            for g in range(s.size(0)):
                idx = (b == g).nonzero().view(-1)
                mg = so.mask[g]
                res[idx.unsqueeze(1), idx.unsqueeze(0)] = full[g][mg][:, mg]
            return res
        kk = so.num_clusters
        s = torch.zeros(so.num_nodes, kk, dtype=torch.float, device=so.weight.device)
        s.index_put_((so.node_index, so.cluster_index), so.weight.float(), accumulate=True)
        a_pool = dense_adjacency(out.edge_index, kk, out.edge_weight) if out.edge_index is not None \
            else s.new_zeros(kk, kk)
        return s @ a_pool @ s.t()


def laplacian_spectrum(adj: Tensor) -> Tensor:
    r"""Sorted eigenvalues of ``L = D^{-1/2}(D − A)D^{-1/2}`` (diagonal of ``A`` removed,
    ``|A|`` used so a signed ``A'`` cannot give negative degrees; isolated nodes give 0)."""
    a = adj.detach().double().abs()
    a = 0.5 * (a + a.t())
    a = a - torch.diag(torch.diagonal(a))
    deg = a.sum(1)
    inv = torch.where(deg > 1e-12, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
    lap = inv.unsqueeze(1) * (torch.diag(deg) - a) * inv.unsqueeze(0)
    return torch.linalg.eigvalsh(lap).clamp(min=0.0)


def spectral_distance(adj: Tensor, adj_other: Tensor) -> float:
    r"""Mean absolute difference of the sorted normalised-Laplacian spectra of two
    ``[N, N]`` adjacencies; in ``[0, 2]``, 0 for the same graph up to node order and
    overall scale."""
    if adj.shape != adj_other.shape or adj.dim() != 2 or adj.size(0) != adj.size(1):
        raise ValueError(f"adj and adj_other must be square and of the same shape, got {tuple(adj.shape)} "
                         f"and {tuple(adj_other.shape)}")
    if adj.size(0) == 0:
        return 0.0
    return float((laplacian_spectrum(adj) - laplacian_spectrum(adj_other)).abs().mean())


def reduced_adjacency(adj: Tensor, s: Tensor) -> Tensor:
    r"""The original graph reduced to the ``K`` supernodes of ``s`` ``[N, K]``, the operator a
    pooled graph should be compared with (like with like).

    * A *selection* (every column of ``s`` one node, every node in at most one column: Top-K,
      SAGPool, NDP) gives the **Kron reduction** of the combinatorial Laplacian onto the kept
      nodes, ``L_red = L_kk − L_kd L_dd⁺ L_dk`` (Dörfler and Bullo), whose off-diagonal
      ``−L_red`` is the adjacency: paths through dropped nodes become weighted edges.
    * Any other ``s`` (a clustering, soft or hard) gives ``Sᵀ A S`` without its diagonal.
    """
    if adj.dim() != 2 or adj.size(0) != adj.size(1) or s.dim() != 2 or s.size(0) != adj.size(0):
        raise ValueError(f"adj must be [N, N] and s [N, K], got {tuple(adj.shape)} and {tuple(s.shape)}")
    a = adj.detach().double()
    a = 0.5 * (a + a.t())
    a = a - torch.diag(torch.diagonal(a))
    sd = s.detach().double()
    nz = sd != 0
    selection = bool((nz.sum(0) == 1).all() and (nz.sum(1) <= 1).all())
    if selection:
        kept = nz.any(1)
        order = nz.double().argmax(0)  # the node of each column, in column order
        lap = torch.diag(a.sum(1)) - a
        drop = (~kept).nonzero().view(-1)
        l_kk = lap[order][:, order]
        if drop.numel():
            l_kd = lap[order][:, drop]
            l_red = l_kk - l_kd @ torch.linalg.pinv(lap[drop][:, drop]) @ l_kd.t()
        else:
            l_red = l_kk
        red = -l_red
    else:
        red = sd.t() @ a @ sd
    return red - torch.diag(torch.diagonal(red))


def reduced_spectral_distance(adj: Tensor, s: Tensor, adj_pooled: Tensor) -> float:
    r""":func:`spectral_distance` between the pooled graph ``adj_pooled`` ``[K, K]`` and the
    original graph reduced to the same ``K`` nodes (:func:`reduced_adjacency`). Unlike the
    lifted distance, a node-dropping pooler is not penalised for the ``N − K`` nodes it drops:
    a perfect decimation (a ring of 8 to a ring of 4 with Kron reduction) scores 0. It asks
    whether Connect built the reduced operator, not whether the pooled graph is the original."""
    red = reduced_adjacency(adj, s)
    if adj_pooled.shape != red.shape:
        raise ValueError(f"adj_pooled must be [K, K] = {tuple(red.shape)}, got {tuple(adj_pooled.shape)}")
    return spectral_distance(red, adj_pooled.detach().double())


def structure_distances(out: PoolingOutput, edge_index: Tensor, num_nodes: int,
                        batch: Optional[Tensor] = None) -> List[float]:
    """:func:`spectral_distance` between each graph of the batch and its lifted pooled graph."""
    a = dense_adjacency(edge_index, num_nodes)
    lifted = lifted_adjacency(out, num_nodes, batch)
    b = torch.zeros(num_nodes, dtype=torch.long) if batch is None else batch.cpu()
    res = []
    for g in range(int(b.max()) + 1 if num_nodes else 0):
        idx = (b == g).nonzero().view(-1)
        res.append(spectral_distance(a[idx][:, idx].cpu(), lifted[idx][:, idx].cpu()))
    return res


# =========================================================================== lens 3: information
def reconstruction_error(x: Tensor, x_rec: Tensor, batch: Optional[Tensor] = None) -> List[float]:
    r"""``‖X_g − X̃_g‖²_F / ‖X_g − X̄_g‖²_F`` for every graph ``g`` of the batch."""
    if x.shape != x_rec.shape:
        raise ValueError(f"x and x_rec must have the same shape, got {tuple(x.shape)} and {tuple(x_rec.shape)}")
    b = torch.zeros(x.size(0), dtype=torch.long, device=x.device) if batch is None else batch
    res = []
    with torch.no_grad():
        for g in range(int(b.max()) + 1 if x.size(0) else 0):
            xg, rg = x[b == g], x_rec[b == g]
            den = (xg - xg.mean(0)).pow(2).sum().clamp(min=1e-12)
            res.append(float((xg - rg).pow(2).sum() / den))
    return res
