r"""NGMPool (Ko et al., AAAI 2023, eqs. 17-19, our reading): GMPool without decomposing the
grouping matrix.

.. math::  X' = M X,\qquad A' = M A M,\qquad E'_{:,:,c} = M E_{:,:,c} M,

Select-Reduce-Connect with ``S := M`` (one supernode per node); valid for one pooling
level only, as the paper says.
"""
from __future__ import annotations

from torch import Tensor

from poolkit.poolers.gmpool.gmpool import GMPool
from poolkit.src import SelectOutput, register

__all__ = ['NGMPool']


@register("ngmpool")
class NGMPool(GMPool):
    r"""NGMPool: ``X' = M X``, ``A' = M A M``, ``E'_c = M E_c M`` (``S := M``; see the module
    docstring). Same input and output as :class:`GMPool`; ``K = N`` per graph."""

    def __init__(self, in_channels: int):
        super().__init__(in_channels)

    def select_dense(self, x: Tensor, mask: Tensor) -> SelectOutput:
        m = self.grouping(x, mask)
        so = SelectOutput.from_dense(m, mask, cluster_mask=mask)
        so.extra.update(M=m, num_clusters=mask.sum(-1))
        return so
