r"""DMoN (Tsitsulin, Palowitch, Perozzi and Müller, "Graph Clustering with Graph Neural
Networks", JMLR 2023).

.. math::  X' = \mathrm{SELU}(S^\top X),\quad A' \text{ as MinCut},\qquad
           \mathcal L_\text{spectral} = -\frac{1}{2m}\mathrm{Tr}(S^\top B S),\ B = A - \frac{dd^\top}{2m},
           \qquad \mathcal L_\text{cluster} = \frac{\sqrt K}{N}\Big\|\sum_i S_i\Big\|_2 - 1 .

The spectral loss is minus the modularity of the soft partition. PyG's cluster loss mixes
graphs of different sizes (PyG issue 10148); ours is computed per graph.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor
import torch.nn.functional as F

from poolkit.ops.dense import EPS, _masked, _pooled, _reduce, _trace
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import SelectOutput, dense_reduce, register

__all__ = ['dmon_losses', 'DMoNPool']


def dmon_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""DMoN: ``spectral`` :math:`= -\frac{1}{2m}\mathrm{Tr}(S^\top B S)` with the modularity
    matrix :math:`B = A - dd^\top/2m` (minus the modularity of a hard partition; 0 without
    edges) and ``cluster`` :math:`= \frac{\sqrt K}{N}\|\sum_i S_i\|_2 - 1` (0 for equal-size
    clusters, :math:`\sqrt K - 1` when all nodes share one cluster), with each graph's own ``N``."""
    adj, s, mask, n = _masked(adj, s, mask)
    d = adj.sum(-1)
    two_m = d.sum(-1)
    sd = (s * d.unsqueeze(-1)).sum(1)  # [B, K] = S^T d
    tr = _trace(_pooled(adj, s, adj_pool)) - (sd * sd).sum(-1) / two_m.clamp(min=EPS)
    spectral = torch.where(two_m > 0, -tr / two_m.clamp(min=EPS), torch.zeros_like(tr))
    k = s.size(-1)
    cluster = torch.linalg.vector_norm(s.sum(1), dim=-1) * k**0.5 / n.clamp(min=1) - 1
    return {"spectral": _reduce(spectral, reduction), "cluster": _reduce(cluster, reduction)}


@register("dmon")
class DMoNPool(DenseSoftPool):
    r"""DMoN (Tsitsulin et al. 2023): :math:`X' = \mathrm{SELU}(S^\top X)`, ``A'`` as MinCut;
    losses ``spectral`` (minus modularity) and ``cluster`` (:func:`dmon_losses`)."""

    loss_fn = staticmethod(dmon_losses)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return F.selu(dense_reduce(x, so.s))
