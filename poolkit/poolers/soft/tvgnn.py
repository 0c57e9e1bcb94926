r"""TVGNN (Hansen and Bianchi, "Total Variation Graph Neural Networks", ICML 2023).

.. math::  \mathcal L_\text{tv} = \frac{1}{2E}\sum_{\{i,j\}\in\mathcal E} a_{ij}\|s_i - s_j\|_1,\qquad
           \mathcal L_\text{balance} = 1 - \frac{1}{N(K-1)}\sum_k \|S_{:,k} - \mathrm{quant}_\rho(S_{:,k})\|_{1,\rho}

(the asymmetric Cheeger cut), with ``A'`` as MinCut. :class:`GTVConv` is the paper's graph
total-variation convolution,
:math:`X' = \sigma((I - \delta L_\Gamma)X\Theta)` with
:math:`\gamma_{ij} = a_{ij}/\max(\|\bar x_i - \bar x_j\|_1, \varepsilon)`.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor
import torch.nn.functional as F

from poolkit.ops.dense import _masked, _reduce
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import check_graph_inputs, check_positive_int, register

__all__ = ['tvgnn_losses', 'GTVConv', 'TVGNNPool']


def tvgnn_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                 adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""TVGNN (asymmetric Cheeger cut): ``tv`` :math:`= \frac{1}{2E}\sum_{\{i,j\}} a_{ij}\|s_i-s_j\|_1`
    over the ``E`` undirected edges, each once (:math:`\frac{1}{4E}\sum_{i,j}` over ordered
    pairs; the code sums the ``2E`` stored directions and divides by ``2·2E``); in [0, 1] for
    0/1 edge weights and 0 when no edge crosses clusters; ``balance`` :math:`= 1 - \frac{1}{N\rho}\sum_k\|S_{:,k} -
    \mathrm{quant}_\rho(S_{:,k})\|_{1,\rho}` with :math:`\rho = K-1`, the asymmetric norm
    :math:`|x|_\rho = \rho x` for :math:`x \ge 0`, :math:`-x` otherwise, and
    :math:`\mathrm{quant}_\rho` the :math:`(\lfloor N/K\rfloor+1)`-th largest entry of the
    column; in [0, 1], 0 for equal-size hard clusters, 1 for a collapsed or uniform ``S``."""
    adj, s, mask, n = _masked(adj, s, mask)
    b, nmax, k = s.shape
    # Total variation over the non-zero entries of A only (O(E K) memory, not O(N^2 K)).
    g, i, j = adj.nonzero(as_tuple=True)
    w = adj[g, i, j]
    tv_e = w * (s[g, i] - s[g, j]).abs().sum(-1)
    tv = s.new_zeros(b).index_add_(0, g, tv_e)
    n_edges = torch.bincount(g, minlength=b).to(s.dtype)
    tv = tv / (2 * n_edges.clamp(min=1))
    if k == 1:
        balance = s.new_zeros(b)
    else:
        s_sort = s if mask is None else s.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        srt = torch.sort(s_sort, dim=1, descending=True).values
        idx = torch.minimum(torch.div(n, k, rounding_mode="floor"), (n - 1).clamp(min=0)).long()
        quant = srt.gather(1, idx.view(b, 1, 1).expand(b, 1, k))
        quant = torch.where(torch.isfinite(quant), quant, torch.zeros_like(quant))
        diff = s - quant
        asym = torch.where(diff >= 0, (k - 1) * diff, -diff)
        if mask is not None:
            asym = asym * mask.unsqueeze(-1).to(s.dtype)
        balance = 1 - asym.sum((-1, -2)) / (n.clamp(min=1) * (k - 1))
    return {"tv": _reduce(tv, reduction), "balance": _reduce(balance, reduction)}


class GTVConv(torch.nn.Module):
    r"""Graph total-variation convolution, the message-passing layer of TVGNN (Hansen and
    Bianchi 2023).

    .. math::  \bar X = X\Theta,\qquad
               \gamma_{ij} = \frac{a_{ij}}{\max(\|\bar x_i - \bar x_j\|_1, \varepsilon)},\qquad
               X' = \sigma\big((I - \delta L_\Gamma)\bar X\big),\quad L_\Gamma = D_\Gamma - \Gamma .

    A GCN smooths with fixed edge weights; here an edge's weight shrinks as the features at
    its two ends differ, so one step is a (sub)gradient step on the total variation
    :math:`\sum_{ij} a_{ij}\|\bar x_i - \bar x_j\|_1` rather than on the quadratic
    :math:`\sum_{ij} a_{ij}\|\bar x_i - \bar x_j\|^2`: neighbours with similar features
    are pulled together hard, a jump across a weak edge is kept. Features become piecewise
    constant, which is what lets the pooler after it produce *sharp* (near one-hot)
    assignments. ``forward(x, edge_index, edge_weight=None)`` (PyG layout; a symmetric
    ``edge_index`` with both directions); ``act`` is applied unless it is ``None``.
    """

    def __init__(self, in_channels: int, out_channels: int, delta: float = 0.3, eps: float = 1e-3,
                 act: Optional[str] = "elu"):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        if not (isinstance(delta, (int, float)) and delta > 0):
            raise ValueError(f"delta must be a number > 0, got {delta!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be a number > 0, got {eps!r}")
        if act not in (None, "elu", "relu"):
            raise ValueError(f"act must be None, 'elu' or 'relu', got {act!r}")
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
        self.delta, self.eps, self.act = float(delta), float(eps), act

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        check_graph_inputs(x, edge_index, None, None, edge_weight)
        h = self.lin(x)
        src, dst = edge_index
        w = h.new_ones(src.numel()) if edge_weight is None else edge_weight.to(h.dtype)
        diff = h[dst] - h[src]  # message j -> i along edge (src=j, dst=i)
        gamma = w / diff.abs().sum(-1).clamp(min=self.eps)
        # (L_Γ h)_i = Σ_j γ_ij (h_i - h_j)
        lap = h.new_zeros(h.shape).index_add_(0, dst, gamma.unsqueeze(-1) * diff)
        out = h - self.delta * lap
        if self.act == "elu":
            return F.elu(out)
        return torch.relu(out) if self.act == "relu" else out

    def extra_repr(self) -> str:
        return f"{self.lin.in_features}, {self.lin.out_features}, delta={self.delta}, eps={self.eps}"


@register("tvgnn")
class TVGNNPool(DenseSoftPool):
    r"""TVGNN's asymmetric Cheeger cut pooling (Hansen & Bianchi 2023): ``X'``, ``A'`` as
    MinCut; losses ``tv`` (graph total variation of ``S``) and ``balance`` (asymmetric
    ℓ1 norm around the :math:`\rho`-quantile) (:func:`tvgnn_losses`). The paper's model
    puts :class:`GTVConv` layers before it; build them into the backbone to reproduce it."""

    loss_fn = staticmethod(tvgnn_losses)
