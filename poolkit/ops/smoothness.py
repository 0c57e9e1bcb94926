r"""How homogeneous node features are (the "rethinking pooling" argument):
:func:`feature_variance` inside each graph and :func:`dirichlet_energy` across edges,
:math:`\frac12\sum_{ij} a_{ij}\|x_i - x_j\|^2`.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import to_dense_batch

from poolkit.src import check_graph_inputs

__all__ = ['feature_variance', 'dirichlet_energy']


# --------------------------------------------------------------------------- homogeneity
def _dense_features(x: Tensor, batch: Optional[Tensor], mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    if x.dim() == 2:
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        return to_dense_batch(x, batch)
    if x.dim() != 3:
        raise ValueError(f"x must have shape [N, F] or [B, N, F], got {tuple(x.shape)}")
    if mask is None:
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    return x, mask.bool()


def feature_variance(x: Tensor, batch: Optional[Tensor] = None, mask: Optional[Tensor] = None,
                     normalize: bool = False) -> Tensor:
    r"""How different the nodes of a graph are: the variance of each feature across the
    nodes of a graph, averaged over features and then over graphs,

    .. math:: h = \frac{1}{G}\sum_g \frac{1}{F}\sum_f \mathrm{Var}_{i \in g}(x_{if}).

    Zero means every node of every graph has the same embedding (the "vertical bars" of the
    paper's Figures 5 and 6). With ``normalize=True`` the sum over features of the
    within-graph variance is divided by the sum over features of the variance over all
    nodes of all graphs: a scale-free fraction in [0, 1] (0: homogeneous inside graphs).
    Accepts ``x`` ``[N, F]`` with ``batch`` or a dense ``[B, N, F]`` with ``mask``.
    """
    xd, mask = _dense_features(x, batch, mask)
    m = mask.unsqueeze(-1).to(xd.dtype)
    cnt = m.sum(1).clamp(min=1)  # [B, 1]
    mean = (xd * m).sum(1) / cnt
    var = (((xd - mean.unsqueeze(1)) ** 2) * m).sum(1) / cnt  # [B, F]
    if not normalize:
        return var.mean(-1).mean()
    flat = xd[mask]
    total = flat.var(0, unbiased=False).sum() if flat.size(0) > 0 else xd.new_zeros(())
    within = var.sum(-1).mean()
    return within / total.clamp(min=1e-12)


def dirichlet_energy(x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, normalize: bool = False) -> Tensor:
    r"""Dirichlet energy per node, averaged over graphs:
    :math:`E_g = \frac{1}{2 n_g} \sum_{(i,j) \in E_g} \lVert x_i - x_j\rVert^2` (each undirected
    edge listed in both directions, as PyG does). ``normalize=True`` divides by the mean
    squared norm of the features, which makes the number scale-free."""
    check_graph_inputs(x, edge_index, batch)
    n = x.size(0)
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=x.device)
    if n == 0:
        return x.new_zeros(())
    g = int(batch.max()) + 1
    counts = torch.bincount(batch, minlength=g).to(x.dtype)
    d = (x[edge_index[0]] - x[edge_index[1]]).pow(2).sum(-1)
    per = x.new_zeros(g).index_add_(0, batch[edge_index[0]], d) / (2 * counts.clamp(min=1))
    e = per.mean()
    if normalize:
        e = e / x.pow(2).sum(-1).mean().clamp(min=1e-12)
    return e
