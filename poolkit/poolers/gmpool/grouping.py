r"""The grouping matrix of GMPool and NGMPool (Ko et al., AAAI 2023, eqs. 5-6).

.. math::  M_{ij} = \sigma\big(w^\top |h_i - h_j| + b\big),\quad i \neq j,\qquad M_{ii} = 1 .

:func:`grouping_matrix` evaluates the classifier only on the pairs ``i < j`` of one graph,
in chunks, with a hand-written backward (:class:`PairL1`);
:func:`grouping_matrix_reference` is the plain ``[B, N, N, F]`` expression it is tested
against. The family overview (and our reading of the paper) is in
:mod:`poolkit.poolers.gmpool`.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from poolkit.src import check_positive_int

__all__ = ['grouping_matrix_reference', 'PairL1', 'within_graph_pairs', 'grouping_matrix', 'GroupingMatrix']


# --------------------------------------------------------------------------- grouping matrix
def grouping_matrix_reference(h: Tensor, lin: nn.Linear, mask: Optional[Tensor] = None) -> Tensor:
    r"""``M_ij = σ(lin(|h_i - h_j|))``, ``M_ii = 1``, zero on padding; ``h`` is ``[B, N, F]``.

    The plain version: it forms the ``[B, N, N, F]`` tensor of every pair, across the
    padding and both ``(i, j)`` and ``(j, i)``. :func:`grouping_matrix` computes the same
    matrix from the pairs that matter; this one is kept as its reference (the tests assert
    the two agree in values and gradients).
    """
    diff = (h.unsqueeze(2) - h.unsqueeze(1)).abs()
    m = torch.sigmoid(lin(diff).squeeze(-1))
    n = h.size(1)
    eye = torch.eye(n, dtype=torch.bool, device=h.device)
    m = torch.where(eye, torch.ones_like(m), m)
    if mask is not None:
        mm = mask.unsqueeze(2) & mask.unsqueeze(1)
        m = m * mm.to(m.dtype)
    return m


class PairL1(torch.autograd.Function):
    r"""``z_p = Σ_f w_f |h_{i_p f} - h_{j_p f}|`` for a list of pairs ``(i_p, j_p)``.

    ``h`` is ``[n, F]`` and ``w`` is ``[F]``. The forward pass works through the pairs in
    chunks of ``chunk`` rows, so the ``[P, F]`` float difference never exists in full; it
    keeps only the signs ``σ_p = sign(h_{i_p} - h_{j_p})`` (one byte each). With the incoming
    gradient ``g`` and ``U_n = Σ_{p: i_p = n} g_p σ_p - Σ_{p: j_p = n} g_p σ_p``::

        ∂L/∂h = w ⊙ U,    ∂L/∂w = Σ_n h_n ⊙ U_n,

    the second because ``Σ_p g_p |h_{i_p} - h_{j_p}| = Σ_p g_p σ_p ⊙ (h_{i_p} - h_{j_p})``.
    No pair difference is recomputed. ``sign(0) = 0`` is the subgradient autograd uses for
    ``abs`` too, so the gradients equal those of the plain expression.
    """

    @staticmethod
    def forward(ctx, h: Tensor, w: Tensor, i: Tensor, j: Tensor, chunk: int = 1024):  # type: ignore[override]
        out = h.new_empty(i.numel())
        need_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        sgn = torch.empty(i.numel(), h.size(1), dtype=torch.int8, device=h.device) if need_grad else None
        for a in range(0, i.numel(), chunk):
            d = h.index_select(0, i[a:a + chunk]).sub_(h.index_select(0, j[a:a + chunk]))
            if need_grad:
                sgn[a:a + chunk] = d.sign()
            out[a:a + chunk] = torch.mv(d.abs_(), w)
        ctx.save_for_backward(h, w, i, j, sgn)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):  # type: ignore[override]
        h, w, i, j, sgn = ctx.saved_tensors
        t = sgn.to(g.dtype).mul_(g.unsqueeze(1))
        u = torch.zeros_like(h).index_add_(0, i, t).index_add_(0, j, t, alpha=-1)
        gh = u * w if ctx.needs_input_grad[0] else None
        gw = (h * u).sum(0) if ctx.needs_input_grad[1] else None
        return gh, gw, None, None, None


def within_graph_pairs(mask: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Flat positions (in ``[B·N]``) of every node pair ``i < j`` of one graph.

    ``mask`` is ``[B, N]``. Padding nodes and pairs across graphs are left out, so a batch
    of graphs with ``n_b`` nodes gives ``Σ_b n_b (n_b - 1) / 2`` pairs instead of ``B N²``.
    """
    b, n = mask.shape
    flat = mask.reshape(-1).nonzero().squeeze(1)  # real nodes, graph by graph, in order
    counts = mask.sum(1)
    ptr = torch.cumsum(counts, 0) - counts
    tri = torch.triu_indices(n, n, 1, device=mask.device)
    valid = tri[1].unsqueeze(0) < counts.unsqueeze(1)  # [B, T]: pair (a, c) exists in graph b
    gb, t = valid.nonzero(as_tuple=True)
    base = ptr[gb]
    return flat[base + tri[0][t]], flat[base + tri[1][t]]


def grouping_matrix(h: Tensor, lin: nn.Linear, mask: Optional[Tensor] = None, chunk: Optional[int] = None) -> Tensor:
    r"""``M_ij = σ(lin(|h_i - h_j|))``, ``M_ii = 1``, zero on padding; ``h`` is ``[B, N, F]``.

    Evaluates the classifier only on the pairs ``i < j`` inside one graph
    (:func:`within_graph_pairs`) with :class:`PairL1` (chunked, hand-written backward) and
    mirrors the result, since ``M`` is symmetric. Equal to
    :func:`grouping_matrix_reference` in values and gradients. ``chunk`` pairs are
    processed at a time (default: ``2^18 / F`` pairs, about a megabyte of float32, which
    stays in the cache).
    """
    if h.dim() != 3:
        raise ValueError(f"h must have shape [B, N, F], got {tuple(h.shape)}")
    b, n, f = h.shape
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=h.device)
    mask = mask.bool()
    if chunk is None:
        chunk = max(1, (1 << 18) // max(f, 1))
    check_positive_int(chunk, "chunk")
    i, j = within_graph_pairs(mask)
    w = lin.weight.reshape(-1).to(h.dtype)
    z = PairL1.apply(h.reshape(b * n, f), w, i, j, chunk)
    if lin.bias is not None:
        z = z + lin.bias.to(h.dtype)
    vals = torch.sigmoid(z)
    bb, ii, jj = i // n, i % n, j % n
    m = h.new_zeros(b, n, n).index_put((torch.cat([bb, bb]), torch.cat([ii, jj]), torch.cat([jj, ii])),
                                       torch.cat([vals, vals]))
    return m + torch.diag_embed(mask.to(h.dtype))


class GroupingMatrix(nn.Module):
    """The paper's grouping-matrix classifier: one ``in_channels × 1`` linear layer + sigmoid."""

    def __init__(self, in_channels: int):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        self.lin = nn.Linear(in_channels, 1)

    def forward(self, h: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if h.dim() != 3 or h.size(-1) != self.lin.in_features:
            raise ValueError(
                f"x must have shape [B, N, {self.lin.in_features}] here, got {tuple(h.shape)}"
            )
        return grouping_matrix(h, self.lin, mask)


# --------------------------------------------------------------------------- dense inputs
def pool_edge_features(s: Tensor, e: Tensor) -> Tensor:
    """``E'_{:,:,c} = Sᵀ E_{:,:,c} S`` for every channel ``c`` of ``e [B, N, N, C]`` at once
    (two batched products over all channels, not one per channel); ``S`` has zero padding rows."""
    b, n, _, c = e.shape
    k = s.size(-1)
    se = (s.transpose(1, 2) @ e.reshape(b, n, n * c)).reshape(b, k, n, c)  # Σ_i S_ik E_ijc
    return (se.transpose(2, 3).reshape(b, k * c, n) @ s).reshape(b, k, c, k).transpose(2, 3)
