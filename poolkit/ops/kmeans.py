r"""Farthest-point k-means for batches of point sets, with sums taken term by term so that a
graph's clusters do not depend on the batch it comes in.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = []


def _sum_terms(x: Tensor, dim: int = -1) -> Tensor:
    """Sum over ``dim``, term after term in order: unlike ``x.sum(dim)``, whose rounding
    depends on the memory layout and the other dimensions, this gives every entry the same
    bits wherever it sits (fastest for ``dim=0`` of a contiguous tensor)."""
    out = x.select(dim, 0).clone()
    for j in range(1, x.size(dim)):
        out += x.select(dim, j)
    return out


def _unit_rows(emb: Tensor) -> Tensor:
    """Rows scaled to unit length (zero rows stay zero), the norm summed term by term
    (:func:`_sum_terms`) so that a graph's embedding has the same bits in any batch."""
    return emb / _sum_terms(emb.square()).sqrt().clamp_min(1e-12).unsqueeze(-1)


def _farthest_point_kmeans(points: Tensor, valid: Tensor, k: Tensor, iters: int) -> Tensor:
    """Lloyd's k-means on each graph of a padded batch, ``points`` ``[B, n, d]``, with ``k[b]``
    centres. Deterministic: the first centre is the point farthest from the graph's mean, each
    next one the point farthest from the centres so far (ties go to the lower index).

    Sums run term by term (``index_add_`` over nodes, :func:`_sum_terms` over coordinates) and
    distances pair by pair, not through reductions or matrix products whose rounding depends
    on the padding and the layout: a graph gets the same result whichever batch it comes in,
    even where symmetric nodes tie."""
    b, n, dim = points.shape
    kmax = int(k.max()) if k.numel() else 0
    big = torch.finfo(points.dtype).max
    owner = torch.arange(b).unsqueeze(1).expand(b, n)[valid]  # graph of every real point
    real_points = points[valid]
    count_real = valid.sum(1, keepdim=True).clamp_min(1)
    mean = points.new_zeros(b, dim).index_add_(0, owner, real_points) / count_real
    coords = points.permute(2, 0, 1).contiguous()  # [d, B, n]: coordinates first, summed over last
    far = torch.where(valid, _sum_terms((coords - mean.t().unsqueeze(-1)).square_(), 0),
                      torch.full((b, n), -1.0, dtype=points.dtype))
    idx = [far.argmax(1)]
    nearest = torch.full((b, n), big, dtype=points.dtype)
    ar = torch.arange(b)
    for _ in range(1, kmax):
        d = _sum_terms((coords - coords[:, ar, idx[-1]].unsqueeze(-1)).square_(), 0)
        nearest = torch.minimum(nearest, d)
        idx.append(torch.where(valid, nearest, torch.full_like(nearest, -1.0)).argmax(1))
    centres = points[ar.unsqueeze(1), torch.stack(idx, 1)]  # [B, kmax, d]
    centre_ok = torch.arange(kmax).unsqueeze(0) < k.unsqueeze(1)
    assign = torch.zeros(b, n, dtype=torch.long)
    run = torch.arange(b)  # graphs still moving; a graph whose assignment repeats is at a fixed point
    for step in range(iters):
        # each distance from its own coordinates (no matrix product, whose rounding would depend
        # on the padding), in O(b' n kmax) memory
        d = torch.cdist(points[run], centres[run], compute_mode="donot_use_mm_for_euclid_dist").square_()
        d = torch.where(centre_ok[run].unsqueeze(1), d, torch.full_like(d, big))
        new = d.argmin(-1)
        moved = (new != assign[run]).any(1) if step else torch.ones(run.numel(), dtype=torch.bool)
        assign[run] = new
        run = run[moved]
        if not run.numel():
            break
        real_run = valid[run]
        slot = torch.arange(run.numel()).unsqueeze(1).expand(-1, n)[real_run] * kmax + assign[run][real_run]
        count = torch.bincount(slot, minlength=run.numel() * kmax).view(-1, kmax).to(points.dtype)
        sums = points.new_zeros(run.numel() * kmax, dim).index_add_(0, slot, points[run][real_run]).view(-1, kmax, dim)
        centres[run] = torch.where(count.unsqueeze(-1) > 0, sums / count.clamp_min(1).unsqueeze(-1), centres[run])
    return assign
