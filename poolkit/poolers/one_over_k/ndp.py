r"""Node Decimation Pooling (Bianchi, Grattarola, Livi and Alippi, "Hierarchical
Representation Learning in Graph Neural Networks with Node Decimation Pooling", TNNLS 2020).

*Select* keeps one side of the MAXCUT approximated by the sign of the eigenvector
:math:`u_\max` of :math:`L_s = I - D^{-1/2} A D^{-1/2}` (a local search flips nodes until the
cut holds at least half the edge weight). *Reduce* keeps the kept nodes' features.
*Connect* is the Kron reduction of :math:`L = D - A`,

.. math::  L' = L_{++} - L_{+-}\,L_{--}^{-1}\,L_{-+},\qquad A' = -L'\ \text{off the diagonal},

with weights below ``sparsify`` dropped.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from poolkit.ops.graph import _check_structure, _components, _split_graphs, _undirected
from poolkit.src import SparsePooler, SelectOutput, register

__all__ = ['kron_reduce_dense', 'ndp_partition', 'kron_reduction', 'NDPPool', 'NDP']


# --------------------------------------------------------------------------- NDP
def kron_reduce_dense(L: Tensor, kept: Tensor) -> Tensor:
    r"""Kron reduction of a dense Laplacian: ``L_{++} - L_{+-} L_{--}^{-1} L_{-+}``.

    ``kept`` is a boolean mask or an index of the kept nodes. ``L_{--}`` must be
    invertible (every connected component contains a kept node).
    """
    n = L.size(0)
    mask = torch.zeros(n, dtype=torch.bool, device=L.device)
    mask[kept] = True
    p, m = mask.nonzero().view(-1), (~mask).nonzero().view(-1)
    out = L[p][:, p]
    if m.numel():
        out = out - L[p][:, m] @ torch.linalg.solve(L[m][:, m], L[m][:, p])
    return out


def _maxcut_side(A: np.ndarray) -> Tuple[np.ndarray, bool]:
    """Boolean mask of the kept side of NDP's MAXCUT on one graph's dense adjacency, and
    whether the graph is known to be connected."""
    n = A.shape[0]
    d = A.sum(1)
    if n == 1 or d.sum() == 0:
        return np.ones(n, dtype=bool), n == 1
    inv = np.zeros(n)
    inv[d > 0] = 1.0 / np.sqrt(d[d > 0])
    Ls = np.diag((d > 0).astype(float)) - inv[:, None] * A * inv[None, :]
    if n > 400:
        from scipy.sparse import csr_matrix
        from scipy.sparse.linalg import eigsh

        _, vec = eigsh(csr_matrix(Ls), k=1, which="LA")
        u, connected = vec[:, 0], False
    else:
        lam, vec = np.linalg.eigh(Ls)
        # the multiplicity of the eigenvalue 0 counts the connected components
        u, connected = vec[:, -1], bool(lam[1] > 1e-9)
    z = np.where(u >= 0, 1.0, -1.0)
    total = A.sum()
    if (A * (z[:, None] != z[None, :])).sum() < 0.5 * total:
        # Local search: flip a node while it has more weight on its own side.
        gain = (A @ z) * z
        while gain.max() > 1e-12:
            i = int(np.argmax(gain))
            z[i] = -z[i]
            gain += 2.0 * A[i] * z[i] * z
            gain[i] = -gain[i]
    side = z > 0
    # Keep the larger side (ties: the side of node 0) so the rule does not depend on the
    # arbitrary sign of the eigenvector.
    if side.sum() < n - side.sum() or (2 * side.sum() == n and not side[0]):
        side = ~side
    side[d == 0] = True  # an isolated node has no edge to carry its information away
    return side, connected


def ndp_partition(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    sparsify: float = 1e-2,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""NDP select + connect on every graph of a batch.

    Returns ``(kept, edge_index', edge_weight')``: the sorted indices of the kept nodes
    (supernode ``j`` is node ``kept[j]``) and the Kron-reduced, sparsified graph on them
    (no self-loops, both directions stored). Every connected component keeps at least one
    node, so ``L_{--}`` is invertible.
    """
    _check_structure(edge_index, num_nodes, edge_weight, batch)
    if not (isinstance(sparsify, (int, float)) and sparsify >= 0):
        raise ValueError(f"sparsify must be a number >= 0, got {sparsify!r}")
    n = num_nodes
    u, v, w = _undirected(edge_index, n, edge_weight)
    kept_all, rows, cols, vals = [], [], [], []
    n_kept = 0
    for off, ng, ug, vg, wg in _split_graphs(n, u, v, w, batch):
        if ng == 0:
            continue
        A = np.zeros((ng, ng))
        ui, vi, wi = ug.numpy(), vg.numpy(), wg.numpy()
        A[ui, vi] = wi
        A[vi, ui] = wi
        side, connected = _maxcut_side(A)
        if not connected:  # every connected component keeps at least one node
            comp = _components(ng, ug, vg) if ui.size else np.arange(ng)
            has_kept = np.zeros(comp.max() + 1, dtype=bool)
            has_kept[comp[side]] = True
            for cid in np.nonzero(~has_kept)[0]:
                side[np.nonzero(comp == cid)[0][0]] = True
        p, m = np.nonzero(side)[0], np.nonzero(~side)[0]
        L = np.diag(A.sum(1)) - A
        Lr = L[np.ix_(p, p)]
        if m.size:
            Lr = Lr - L[np.ix_(p, m)] @ np.linalg.solve(L[np.ix_(m, m)], L[np.ix_(m, p)])
        Ar = -Lr
        np.fill_diagonal(Ar, 0.0)
        r, c = np.nonzero(Ar > max(sparsify, 1e-12))
        rows.append(r + n_kept)
        cols.append(c + n_kept)
        vals.append(Ar[r, c])
        kept_all.append(p + off)
        n_kept += p.size
    dev = edge_index.device
    dtype = edge_weight.dtype if edge_weight is not None and edge_weight.is_floating_point() else torch.float32
    if not kept_all:
        return torch.empty(0, dtype=torch.long, device=dev), torch.empty(2, 0, dtype=torch.long, device=dev), torch.empty(0, dtype=dtype, device=dev)
    kept = torch.from_numpy(np.concatenate(kept_all)).long().to(dev)
    ei = torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)])).long().to(dev)
    ew = torch.from_numpy(np.concatenate(vals)).to(dtype=dtype, device=dev)
    return kept, ei, ew


def kron_reduction(
    edge_index: Tensor,
    num_nodes: int,
    kept: Tensor,
    edge_weight: Optional[Tensor] = None,
    sparsify: float = 0.0,
) -> Tuple[Tensor, Tensor]:
    """Kron-reduced graph on the ``kept`` nodes of one graph (``A' = -L'`` off the
    diagonal), weights at or below ``sparsify`` dropped. Dense; for small graphs."""
    u, v, w = _undirected(edge_index, num_nodes, edge_weight)
    A = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    A[u, v] = w
    A[v, u] = w
    L = torch.diag(A.sum(1)) - A
    Ar = -kron_reduce_dense(L, kept.cpu())
    Ar.fill_diagonal_(0.0)
    r, c = (Ar > max(sparsify, 1e-12)).nonzero(as_tuple=True)
    return torch.stack([r, c]).to(edge_index.device), Ar[r, c].float().to(edge_index.device)


@register("ndp")
class NDPPool(SparsePooler):
    r"""Node Decimation Pooling: keep one side of a spectral MAXCUT, Kron-reduce the graph.

    Args:
        sparsify: Kron-reduced edges with weight at or below this are dropped (the paper
            uses ``1e-2``).

    The pooled graph carries edge weights (``out.edge_weight``).
    """

    is_precomputable = True

    def __init__(self, sparsify: float = 1e-2):
        super().__init__()
        self.sparsify = sparsify

    def select(self, x, edge_index, batch=None, edge_weight=None, num_nodes=None, **kwargs) -> SelectOutput:
        n = x.size(0) if num_nodes is None else num_nodes
        kept, ei, ew = ndp_partition(edge_index, n, edge_weight, batch, sparsify=self.sparsify)
        so = SelectOutput.from_kept_nodes(kept, n, batch=batch)
        so.extra["edge_index"], so.extra["edge_weight"] = ei, ew
        return so

    def connect(self, edge_index, so, edge_weight=None):
        if "edge_index" not in so.extra:
            raise ValueError("NDPPool.connect needs the SelectOutput returned by NDPPool.select")
        return so.extra["edge_index"], so.extra["edge_weight"]

    def extra_repr(self) -> str:
        return f"sparsify={self.sparsify}"


NDP = NDPPool  # the old name, kept for one release
