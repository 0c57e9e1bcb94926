r"""LaPool: leaders where the Laplacian-filtered signal peaks, soft followers around them.

Noutahi, Beaini, Horwood, Giguère and Tossou, "Towards Interpretable Sparse Graph
Representation Learning with Laplacian Pooling" (2019, arXiv:1905.11577). The graph
Laplacian :math:`L = D - A` measures how much a node's features differ from its
neighbours', :math:`(LX)_i = \sum_j a_{ij}(x_i - x_j)`. Where that signal peaks, the node
stands out from its surroundings; LaPool makes those nodes the *leaders* (the supernodes)
and lets every other node follow the leaders it resembles:

.. math::
    v_i = \|(L X)_i\|_2,\qquad
    \mathcal I = \{\, i : v_i \ge v_j \;\; \forall j \in \mathcal N(i) \,\},

.. math::
    S_{i\cdot} = \mathrm{sparsemax}\Big(\beta_{i\cdot} \odot
        \frac{x_i^\top X_{\mathcal I}^\top}{\|x_i\|\,\|X_{\mathcal I}\|}\Big)
    \;\; (i \notin \mathcal I),\qquad
    S_{i\cdot} = \delta_{i\cdot} \;\; (i \in \mathcal I),

then :math:`X' = S^\top X` and :math:`A' = S^\top A S`. Sparsemax (Martins and Astudillo
2016), the Euclidean projection onto the simplex, :math:`\mathrm{sparsemax}(z)_k =
\max(z_k - \tau(z), 0)` with :math:`\tau` chosen so the row sums to one, gives exact zeros,
so a node follows a few leaders, not all of them. The number of supernodes is the number
of leaders, so it changes from graph to graph: ``mask`` (and ``so.cluster_mask``) marks
each graph's real supernodes, in node order. Nothing is learned, but ``S`` is a
differentiable function of ``X`` (the leader set is not), so a GNN before the pooler is
trained through it.

Our choices, with the reasons:

* **Leaders with** :math:`\ge`. The paper writes :math:`v_i > v_j`; with the strict
  inequality two neighbours with equal signal (for instance the two ends of an edge whose
  only neighbours are each other, :math:`v_i = v_j = \|x_i - x_j\|`) are both rejected and a
  connected component may have no leader at all. With :math:`\ge` (as tgp) the maximum of
  every component is a leader, so every node has one to follow. A node without
  neighbours leads itself. Self-loops are ignored (they change neither :math:`L` nor who
  is a neighbour).
* **Locality.** A node follows only leaders it can reach: leaders in another connected
  component are masked out (tgp does not mask them). ``hops=h`` restricts a node to the
  leaders within ``h`` hops (the authors' code has such a limit), or to its nearest
  leaders when none is that close, so no node is left without a leader.
  ``shortest_path_reg=True`` multiplies the similarities by the paper's
  :math:`\beta_{ij} = 1/d(i, j)`, the inverse hop distance, *inside* the sparsemax as the
  paper writes it (tgp multiplies after its softmax, so its rows no longer sum to one).
* **Sparsemax**, written here with its Jacobian (:class:`Sparsemax`); ``attention="softmax"``
  gives tgp's normalisation.
* **Connect** drops the diagonal of :math:`S^\top A S` and normalises it,
  :math:`A' \leftarrow D'^{-1/2}A'D'^{-1/2}` (tgp's default; poolkit's MinCut does the same);
  ``normalize_adj=False`` gives the paper's plain :math:`S^\top A S`.
* Edge weights enter :math:`L` (:math:`a_{ij}` weighted); the neighbourhood and the hop
  distances use the edges alone.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
import torch.nn.functional as F

from poolkit.src import DensePooler, SelectOutput, check_positive_int, register

__all__ = ['Sparsemax', 'sparsemax', 'lapool_leaders', 'LaPool']


class Sparsemax(torch.autograd.Function):
    r"""Sparsemax along the last axis over the ``allowed`` entries (the others get 0).

    Forward: sort, find the support size :math:`k = \max\{j : 1 + j z_{(j)} > \sum_{l \le j}
    z_{(l)}\}`, :math:`\tau = (\sum_{l \le k} z_{(l)} - 1)/k`, :math:`p = \max(z - \tau, 0)`.
    Backward: with :math:`\mathcal S` the support, :math:`\partial L/\partial z_k =
    [k \in \mathcal S](g_k - \frac{1}{|\mathcal S|}\sum_{l \in \mathcal S} g_l)`. A row with
    no allowed entry is all zeros."""

    @staticmethod
    def forward(ctx, z: Tensor, allowed: Tensor) -> Tensor:
        zm = z.masked_fill(~allowed, float("-inf"))
        zs = zm.sort(dim=-1, descending=True).values
        j = torch.arange(1, z.size(-1) + 1, dtype=z.dtype, device=z.device)
        cs = zs.cumsum(-1)
        supp = ((1 + j * zs) > cs).sum(-1, keepdim=True)
        tau = (cs.gather(-1, (supp - 1).clamp(min=0)) - 1) / supp.clamp(min=1).to(z.dtype)
        tau = torch.where(supp > 0, tau, torch.zeros_like(tau))
        p = (z - tau).clamp(min=0) * allowed.to(z.dtype)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, g: Tensor):
        (p,) = ctx.saved_tensors
        supp = (p > 0).to(g.dtype)
        v = (g * supp).sum(-1, keepdim=True) / supp.sum(-1, keepdim=True).clamp(min=1)
        return supp * (g - v), None


def sparsemax(z: Tensor, allowed: Optional[Tensor] = None) -> Tensor:
    """:class:`Sparsemax` of ``z`` along the last axis (``allowed``: boolean mask, default all)."""
    if allowed is None:
        allowed = torch.ones_like(z, dtype=torch.bool)
    return Sparsemax.apply(z, allowed)


def lapool_leaders(x: Tensor, adj: Tensor, mask: Tensor) -> Tensor:
    r"""The leaders ``[B, N]``: real nodes with :math:`\|(LX)_i\| \ge \|(LX)_j\|` for every
    neighbour ``j`` (``x`` ``[B, N, F]``, ``adj`` ``[B, N, N]`` without self-loops)."""
    with torch.no_grad():
        v = (adj.sum(-1, keepdim=True) * x - adj @ x).norm(dim=-1)
        nb = v.unsqueeze(1).expand_as(adj).masked_fill(adj == 0, float("-inf")).amax(-1)
        return (v >= nb) & mask


def _hop_distances(adj: Tensor, start: Tensor) -> Tensor:
    """Hop distance from every node to every column of ``start`` ``[B, N, K]`` (the one-hot
    positions of the leaders); ``inf`` where unreachable."""
    reach = (adj != 0).to(torch.float32)
    dist = torch.full(start.shape, float("inf"), device=adj.device)
    dist[start] = 0.0
    seen, front = start.clone(), start
    for step in range(1, adj.size(-1)):
        front = ((reach @ front.to(torch.float32)) > 0) & ~seen
        if not bool(front.any()):
            break
        dist[front] = float(step)
        seen |= front
    return dist


@register("lapool")
class LaPool(DensePooler):
    r"""LaPool (Noutahi et al. 2019): leaders are the local maxima of :math:`\|LX\|`, every
    other node follows them by sparsemax of cosine similarity (module docstring).

    Args:
        hops: follow only the leaders within this many hops (the nearest ones when none is
            that close); ``None`` (default): every leader of the node's component.
        shortest_path_reg: multiply the similarities by :math:`1/d(i, j)` before the sparsemax.
        attention: ``"sparsemax"`` (the paper) or ``"softmax"`` (tgp).
        normalize_adj: drop the diagonal of ``A'`` and normalise it symmetrically (default);
            ``False`` returns the plain :math:`S^\top A S`.

    Input as the soft poolers (PyG or a dense batch); dense output ``x`` ``[B, K_max, F]``,
    ``adj`` ``[B, K_max, K_max]``, ``mask`` ``[B, K_max]`` (``K`` = leaders per graph).
    """


    def __init__(self, hops: Optional[int] = None, shortest_path_reg: bool = False, attention: str = "sparsemax",
                 normalize_adj: bool = True):
        super().__init__()
        self.hops = None if hops is None else check_positive_int(hops, "hops")
        if attention not in ("sparsemax", "softmax"):
            raise ValueError(f"attention must be 'sparsemax' or 'softmax', got {attention!r}")
        self.shortest_path_reg, self.attention, self.normalize_adj = bool(shortest_path_reg), attention, bool(normalize_adj)

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        b, n, _ = x.shape
        eye = torch.eye(n, dtype=torch.bool, device=x.device)
        m2 = (mask.unsqueeze(-1) & mask.unsqueeze(-2)).to(adj.dtype)
        a = adj.masked_fill(eye, 0.0) * m2
        lead = lapool_leaders(x, a, mask)
        k = int(lead.sum(1).max()) if n else 0
        k = max(k, 1)
        rank = (lead.long().cumsum(1) - 1).clamp(min=0)
        onehot = F.one_hot(rank, k).bool() & lead.unsqueeze(-1)  # [B, N, K]: leader i -> its column
        cluster_mask = onehot.any(1)
        xn = F.normalize(x, dim=-1)
        lead_x = onehot.transpose(1, 2).to(x.dtype) @ xn  # [B, K, F]
        z = xn @ lead_x.transpose(1, 2)
        dist = _hop_distances(a, onehot)
        allowed = torch.isfinite(dist) & cluster_mask.unsqueeze(1) & mask.unsqueeze(-1)
        if self.hops is not None:
            near = dist.masked_fill(~allowed, float("inf")).amin(-1, keepdim=True)
            allowed = allowed & (dist <= torch.clamp(near, min=float(self.hops)))
        if self.shortest_path_reg:
            z = z / dist.clamp(min=1.0).to(z.dtype)
        if self.attention == "sparsemax":
            att = Sparsemax.apply(z, allowed)
        else:
            row_ok = allowed.any(-1, keepdim=True)  # rows with nothing allowed stay finite, then 0
            att = torch.softmax(z.masked_fill(~allowed & row_ok, float("-inf")), dim=-1) * row_ok.to(z.dtype)
        s = torch.where(lead.unsqueeze(-1), onehot.to(x.dtype), att) * mask.unsqueeze(-1).to(x.dtype)
        so = SelectOutput.from_dense(s, mask, cluster_mask)
        so.extra["leaders"] = lead
        return so

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, hops={self.hops}, shortest_path_reg={self.shortest_path_reg}, "
                f"attention={self.attention!r}, normalize_adj={self.normalize_adj}")
