r"""MinCutPool (Bianchi, Grattarola and Alippi, "Spectral Clustering with Graph Neural
Networks for Graph Pooling", ICML 2020).

.. math::  S = \mathrm{softmax}(\mathrm{MLP}(X)),\quad X' = S^\top X,\quad
           A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2},

    \mathcal L_\text{cut} = -\frac{\mathrm{Tr}(S^\top A S)}{\mathrm{Tr}(S^\top D S)},\qquad
    \mathcal L_\text{ortho} = \Big\|\frac{S^\top S}{\|S^\top S\|_F} - \frac{I_K}{\sqrt K}\Big\|_F .

The paper writes the cut term with :math:`\tilde A = D^{-1/2} A D^{-1/2}`; ``mincut_losses``
uses the adjacency it is given, as PyG does (pass :math:`\tilde A` for the paper's
weighting). For a hard partition the cut term is :math:`-1 + 2\,\mathrm{cut}/\mathrm{vol}`.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.ops.dense import EPS, _masked, _pooled, _reduce, _trace
from poolkit.ops.soft_pool import DenseSoftPool
from poolkit.src import register

__all__ = ['mincut_losses', 'MinCutPool']


def mincut_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                  adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""MinCutPool: ``cut`` :math:`= -\mathrm{Tr}(S^\top A S)/\mathrm{Tr}(S^\top D S)` with ``A``
    as given (the paper writes it with :math:`\tilde A = D^{-1/2}AD^{-1/2}`; pass that for its
    weighting, see the module docstring) (−1 when
    no edge leaves a cluster; 0 for a graph without edges) and ``ortho``
    :math:`= \|S^\top S/\|S^\top S\|_F - I_K/\sqrt K\|_F` (0 for equal-size hard clusters)."""
    adj, s, mask, n = _masked(adj, s, mask)
    num = _trace(_pooled(adj, s, adj_pool))
    den = (adj.sum(-1).unsqueeze(-1) * s * s).sum((-1, -2))
    cut = -num / (den + EPS)
    ss = s.transpose(1, 2) @ s
    k = s.size(-1)
    eye = torch.eye(k, dtype=s.dtype, device=s.device) / k**0.5
    ortho = torch.linalg.matrix_norm(ss / (torch.linalg.matrix_norm(ss, keepdim=True) + EPS) - eye)
    return {"cut": _reduce(cut, reduction), "ortho": _reduce(ortho, reduction)}


@register("mincut")
class MinCutPool(DenseSoftPool):
    r"""MinCutPool (Bianchi et al. 2020): :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}`; losses ``cut`` and ``ortho``
    (:func:`mincut_losses`)."""

    loss_fn = staticmethod(mincut_losses)
