r"""NMF pooling: communities from a non-negative factorisation of the adjacency.

Bacciu and Di Sotto, "A Non-Negative Factorization approach to node pooling in Graph
Convolutional Neural Networks", AI*IA 2019 (arXiv:1909.03287), factorise the non-negative
adjacency of each graph into ``K`` non-negative parts,

.. math::  A \approx W H,\qquad W \in \mathbb{R}_{\ge 0}^{N \times K},\;
           H \in \mathbb{R}_{\ge 0}^{K \times N},\qquad
           \min_{W, H \ge 0} \|A - WH\|_F^2,

read :math:`W` as the community centroids and column :math:`i` of :math:`H` as the
soft membership of node :math:`i` in the ``K`` communities, and pool with it,
:math:`X' = H X`, :math:`A' = H A H^\top`. In SRC terms the assignment is
:math:`S = H^\top` (here normalised, see below), so Reduce and Connect are the defaults
:math:`X' = S^\top X` and :math:`A' = S^\top A S`. Nothing is learned: ``S`` depends on the
graph alone (``is_precomputable``), and no gradient flows through the factorisation (the
gradient reaches ``x`` through Reduce).

Our choices, with the reasons:

* **Solver.** Lee and Seung's multiplicative updates for the Frobenius loss,
  :math:`H \leftarrow H \odot \frac{W^\top A}{W^\top W H}`,
  :math:`W \leftarrow W \odot \frac{A H^\top}{W H H^\top}`, in float64, from the
  deterministic NNDSVDa start of Boutsidis and Gallopoulos (positive parts of the leading
  singular pairs, zeros filled with the mean of ``A``), stopping when the relative error
  changes by less than ``tol`` over ten steps or after ``max_iter`` steps. A deterministic
  start makes ``S`` reproducible and equivariant under node relabelling; tgp calls
  scikit-learn with a random start, so its ``S`` changes from call to call.
* **Scale.** ``WH = (WD)(D^{-1}H)`` for any positive diagonal ``D``, so the size of a row
  of ``H`` means nothing by itself. We fix it by giving column ``k`` of ``W`` and row ``k``
  of ``H`` the same norm, then normalise each node's memberships to sum to one,
  :math:`S_{ik} = H_{ki} / \sum_l H_{li}`, so that ``S`` is row-stochastic like the soft
  poolers' and a node that lies in one community gets a one-hot row. tgp takes
  :math:`\mathrm{softmax}(H^\top)` instead, which depends on that arbitrary scale and never
  gives a crisp row (on two disjoint cliques its rows are about (0.73, 0.27)).
* **Nodes without edges** have a zero column of ``A`` and so of ``H``; they are spread
  evenly, :math:`S_{i\cdot} = 1/K`, so their features are kept (softmax of zeros gives tgp
  the same row).
* **Graphs with** :math:`N \le K` **nodes** get :math:`S = I_N` (each node its own supernode,
  as tgp), and ``mask`` / ``so.cluster_mask`` mark the ``N`` real supernodes of such a graph.
* **Connect** drops the diagonal of :math:`S^\top A S` and normalises it,
  :math:`A' \leftarrow D'^{-1/2} A' D'^{-1/2}`, as tgp's default and poolkit's MinCut;
  ``normalize_adj=False`` gives the paper's plain :math:`S^\top A S`.

``A`` must be non-negative (negative edge weights raise a ``ValueError``). A directed
``A`` (``a_ij`` for the edge ``i → j``) is factorised as it is: ``W`` then describes the
nodes as sources, ``H`` as targets.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from poolkit.src import DensePooler, SelectOutput, check_positive_int, register

__all__ = ['nmf', 'nmf_assignment', 'NMFPool']


def _nndsvda(a: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """NNDSVDa start for ``a ≈ W H`` (``a`` ``[N, N]`` non-negative, ``k <= N``)."""
    u, sig, vh = torch.linalg.svd(a)
    w, h = a.new_zeros(a.size(0), k), a.new_zeros(k, a.size(1))
    w[:, 0], h[0] = sig[0].sqrt() * u[:, 0].abs(), sig[0].sqrt() * vh[0].abs()
    for j in range(1, k):
        x, y = u[:, j], vh[j]
        xp, xn, yp, yn = x.clamp(min=0), (-x).clamp(min=0), y.clamp(min=0), (-y).clamp(min=0)
        # Which half to keep may not depend on the arbitrary sign of (u_j, v_j): compare
        # sign-free quantities, the product of the norms first. For a negative eigenvalue of
        # a symmetric A (v_j = -u_j) the products tie exactly, so the larger W part decides.
        keys_p = (xp.norm() * yp.norm(), xp.norm(), xp.max())
        keys_n = (xn.norm() * yn.norm(), xn.norm(), xn.max())
        pick_p = True
        for kp, kn in zip(keys_p, keys_n):
            if abs(float(kp - kn)) > 1e-9 * max(float(kp), float(kn), 1e-300):
                pick_p = bool(kp > kn)
                break
        (xs, ys, m) = (xp, yp, keys_p[0]) if pick_p else (xn, yn, keys_n[0])
        if m > 0:
            scale = (sig[j] * m).sqrt()
            w[:, j], h[j] = scale * xs / xs.norm(), scale * ys / ys.norm()
    fill = a.mean()
    return w.masked_fill(w == 0, fill), h.masked_fill(h == 0, fill)


def nmf(a: Tensor, k: int, max_iter: int = 200, tol: float = 1e-4) -> Tuple[Tensor, Tensor]:
    r"""Non-negative factorisation :math:`a \approx WH` (``a`` ``[N, N]``, non-negative, ``k <= N``)
    by multiplicative updates from NNDSVDa, in float64; returns ``(W [N, k], H [k, N])`` with
    the scale balanced (:math:`\|W_{:,k}\| = \|H_{k,:}\|`)."""
    a = a.detach().double()
    w, h = _nndsvda(a, k)
    eps = 1e-12
    sp = a.to_sparse()  # graphs are sparse: A enters only through A Hᵀ and Aᵀ W, O(E K) each
    sq_a = float((a * a).sum())
    prev = None
    for it in range(max_iter):
        h = h * torch.sparse.mm(sp.t(), w).t() / ((w.t() @ w) @ h).clamp(min=eps)
        ah = torch.sparse.mm(sp, h.t())
        w = w * ah / (w @ (h @ h.t())).clamp(min=eps)
        if it % 10 == 9:
            # ||A - WH||² = ||A||² - 2 tr(Wᵀ A Hᵀ) + tr(WᵀW HHᵀ), without the N x N product
            sq = sq_a - 2 * float((w * torch.sparse.mm(sp, h.t())).sum()) + float(((w.t() @ w) * (h @ h.t())).sum())
            err = max(sq, 0.0) ** 0.5 / max(sq_a, eps) ** 0.5
            if prev is not None and abs(prev - err) <= tol * max(prev, eps):
                break
            prev = err
    wn, hn = w.norm(dim=0), h.norm(dim=1)
    ok = (wn > 0) & (hn > 0)
    r = torch.where(ok, (wn / hn.clamp(min=eps)).sqrt(), torch.ones_like(wn))
    return w / r, h * r.unsqueeze(1)


def nmf_assignment(a: Tensor, k: int, max_iter: int = 200, tol: float = 1e-4) -> Tensor:
    r"""The NMF assignment of one graph: ``S`` ``[N, min(k, N)]`` with
    :math:`S_{ik} = H_{ki}/\sum_l H_{li}` (``1/k`` for a node without edges); :math:`S = I_N`
    when :math:`N \le k`. Computed without gradient, returned in ``a``'s dtype."""
    n = a.size(0)
    if n <= k:
        return torch.eye(n, dtype=a.dtype, device=a.device)
    _, h = nmf(a, k, max_iter, tol)
    s = h.t()
    tot = s.sum(1, keepdim=True)
    empty = tot <= 1e-9 * tot.max().clamp(min=1e-300)
    s = torch.where(empty, torch.full_like(s, 1.0 / k), s / tot.clamp(min=1e-300))
    return s.to(a.dtype)


@register("nmf")
class NMFPool(DensePooler):
    r"""NMF pooling (Bacciu and Di Sotto 2019): :math:`A \approx WH`, :math:`S = H^\top`
    row-normalised, :math:`X' = S^\top X`, :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}`
    (see the module docstring for every choice).

    Args:
        k: number of supernodes (communities) per graph, ``>= 1``.
        max_iter: most multiplicative-update steps per graph.
        tol: stop when the relative reconstruction error changes by less than this over ten steps.
        normalize_adj: drop the diagonal of ``A'`` and normalise it symmetrically (default);
            ``False`` returns the plain :math:`S^\top A S`.

    Call it like the soft poolers: PyG input ``(x, edge_index, batch, edge_weight=...)`` or a
    dense batch ``(x [B,N,F], adj [B,N,N], mask=...)``; the output is dense, ``x`` ``[B, K, F]``,
    ``adj`` ``[B, K, K]`` and ``mask`` ``[B, K]``.
    """

    is_precomputable = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k}

    def __init__(self, k: int, max_iter: int = 200, tol: float = 1e-4, normalize_adj: bool = True):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.max_iter = check_positive_int(max_iter, "max_iter")
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {tol!r}")
        self.tol, self.normalize_adj = float(tol), bool(normalize_adj)

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        b, n = adj.shape[:2]
        m = torch.ones(b, n, dtype=torch.bool, device=adj.device) if mask is None else mask
        s = adj.new_zeros(b, n, self.k)
        cluster_mask = torch.zeros(b, self.k, dtype=torch.bool, device=adj.device)
        with torch.no_grad():
            for g in range(b):
                idx = m[g].nonzero().view(-1)
                if idx.numel() == 0:
                    continue
                sg = nmf_assignment(adj[g][idx][:, idx], self.k, self.max_iter, self.tol)
                s[g, idx, : sg.size(1)] = sg
                cluster_mask[g, : sg.size(1)] = True
        return SelectOutput.from_dense(s.to(x.dtype), m, cluster_mask)

    def prepare(self, x, edge_index=None, batch=None, edge_attr=None, edge_weight=None, **kwargs):
        if edge_weight is not None and edge_weight.numel() and bool((edge_weight < 0).any()):
            raise ValueError("edge_weight must be non-negative: NMF factorises a non-negative adjacency")
        return super().prepare(x, edge_index, batch, edge_attr, edge_weight, **kwargs)

    def check_input(self, g) -> None:
        if g.adj.numel() and bool((g.adj < 0).any()):
            raise ValueError("adj must be non-negative: NMF factorises a non-negative adjacency")

    def extra_repr(self) -> str:
        return f"name={self.name!r}, k={self.k}, max_iter={self.max_iter}, normalize_adj={self.normalize_adj}"
