r"""HOSC pooling (Duval and Malliaros, "Higher-order Clustering and Pooling for Graph Neural
Networks", CIKM 2022): MinCutPool whose cut also counts triangles.

With the triangle-motif adjacency :math:`A_M = (A A) \odot A` (:func:`triangle_motif_adjacency`),

.. math::  \mathcal L_\text{cut} = (1-\alpha)\Big(-\frac{\mathrm{Tr}(S^\top A S)}{\mathrm{Tr}(S^\top D S)}\Big)
           + \alpha\Big(-\frac{\mathrm{Tr}(S^\top A_M S)}{\mathrm{Tr}(S^\top D_M S)}\Big),

and ``ortho`` is MinCut's orthogonality term; ``A'`` as MinCut.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.ops.dense import _reduce
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.poolers.soft.mincut import mincut_losses
from poolkit.src import SelectOutput, register

__all__ = ['triangle_motif_adjacency', 'hosc_losses', 'HOSCPool']


def triangle_motif_adjacency(adj: Tensor) -> Tensor:
    r"""The triangle-motif adjacency :math:`A_M = (A A) \odot A` of a dense ``adj`` (``[N, N]``
    or ``[B, N, N]``): :math:`(A_M)_{ij}` is the number of triangles that contain the edge
    :math:`\{i, j\}` (weighted: :math:`a_{ij}\sum_l a_{il}a_{lj}`). It is zero wherever
    ``adj`` is, so an edge that closes no triangle has no weight, and a triangle-free graph
    (a tree, a grid, a bipartite graph) has :math:`A_M = 0`. Its degree
    :math:`(D_M)_{ii} = \sum_j (A_M)_{ij}` is twice the number of triangles at node ``i``.
    The self-loops of ``adj`` are ignored (a loop would count as a triangle)."""
    if adj.dim() not in (2, 3) or adj.size(-1) != adj.size(-2):
        raise ValueError(f"adj must be [N, N] or [B, N, N], got {tuple(adj.shape)}")
    eye = torch.eye(adj.size(-1), dtype=torch.bool, device=adj.device)
    a = adj.masked_fill(eye, 0.0)
    return (a @ a) * a


def _check_alpha(alpha) -> float:
    """HOSC's weight of the motif cut as a float, or ``ValueError`` outside [0, 1]."""
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def hosc_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                adj_pool: Optional[Tensor] = None, alpha: float = 0.5) -> Dict[str, Tensor]:
    r"""HOSC: ``cut`` :math:`= (1-\alpha)\,\mathcal{L}_1 + \alpha\,\mathcal{L}_M`, the MinCut
    cut of ``A`` and of its triangle-motif adjacency :math:`A_M`
    (:func:`triangle_motif_adjacency`),

    .. math::  \mathcal{L}_1 = -\frac{\mathrm{Tr}(S^\top A S)}{\mathrm{Tr}(S^\top D S)},\qquad
               \mathcal{L}_M = -\frac{\mathrm{Tr}(S^\top A_M S)}{\mathrm{Tr}(S^\top D_M S)},

    and ``ortho``, MinCut's :math:`\|S^\top S/\|S^\top S\|_F - I_K/\sqrt K\|_F`. Both cuts lie
    in :math:`[-1, 0]`; :math:`\mathcal{L}_M = -1` when no triangle is split between clusters,
    and 0 for a graph without triangles, whose ``cut`` is then :math:`(1-\alpha)\mathcal{L}_1`.
    Every value of the dict is a loss to add, so the two cuts come combined; for either part
    alone call :func:`mincut_losses` on ``A`` or on :math:`A_M`.
    """
    alpha = _check_alpha(alpha)
    first = mincut_losses(adj, s, mask, "none", adj_pool)
    motif = mincut_losses(triangle_motif_adjacency(adj), s, mask, "none")["cut"]
    cut = (1 - alpha) * first["cut"] + alpha * motif
    return {"cut": _reduce(cut, reduction), "ortho": _reduce(first["ortho"], reduction)}


@register("hosc")
class HOSCPool(DenseSoftPool):
    r"""HOSC, higher-order spectral clustering pooling (Duval and Malliaros, "Higher-order
    Clustering and Pooling for Graph Neural Networks", CIKM 2022): MinCutPool whose cut
    also counts *triangles*. ``S = softmax(MLP(X))``, :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}` (as MinCut), and the losses of
    :func:`hosc_losses`: the cut :math:`(1-\alpha)\mathcal{L}_1 + \alpha\mathcal{L}_M` of the
    edges and of the triangle motifs, plus MinCut's orthogonality term. With
    :math:`\alpha = 0` it is MinCutPool; with :math:`\alpha = 1` only the triangles count, so
    clusters follow the densely knit regions and an edge that closes no triangle (a bridge
    between communities) costs nothing to cut.

    The motif adjacency is the triangle one of Benson, Gleich and Leskovec (Science 2016),
    :math:`A_M = (AA) \odot A`, which the paper builds on. **Difference from tgp's
    ``HOSCPooling``:** tgp uses :math:`A^3` (walks of length three) as the motif adjacency,
    which is non-zero on triangle-free graphs and between nodes that share no edge, and it
    scales both cuts by :math:`1/K`; with :math:`\alpha = 0` the two agree up to that factor
    (``tests/test_hosc.py``). tgp 1.0.2's dense forward also hands its loss the pooled
    adjacency after removing its diagonal, so its first-order cut is 0 there; the test
    compares with tgp's loss on the raw :math:`S^\top A S`. The dense :math:`AA` product
    costs :math:`O(N^3)` per graph, as tgp's :math:`A^3`.

    Args:
        in_channels, k, hidden_channels, dropout, assign: as :class:`DenseSoftPool`.
        alpha: weight of the motif cut, in [0, 1] (default 0.5).
    """

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0, assign: str = "mlp",
                 alpha: float = 0.5):
        alpha = _check_alpha(alpha)
        super().__init__(in_channels, k, hidden_channels, dropout, assign)
        self.alpha = alpha

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        return hosc_losses(adj, so.s, so.mask, adj_pool=adj_pool, alpha=self.alpha)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", alpha={self.alpha}"
