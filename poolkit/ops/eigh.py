r"""Stable eigendecomposition and matrix square roots with finite gradients (GMPool).

:class:`StableEigh` is ``torch.linalg.eigh`` with the backward factors
:math:`1/(\lambda_i - \lambda_j)` set to zero where :math:`|\lambda_i - \lambda_j| <` ``eps``
(repeated eigenvalues, as in a grouping matrix with ``r`` groups); :func:`eigh_sqrt` is
:math:`S = O\sqrt{\Lambda_+}`; :func:`taylor_sqrt` and :func:`newton_schulz_sqrt` are the
decomposition-free roots (Higham 2008; Song, Sebe and Wang 2021/2022);
:func:`effective_rank` is Roy and Vetterli's ``exp`` of the eigenvalue entropy.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from poolkit.src import check_positive_int

__all__ = ['StableEigh', 'stable_eigh', 'eigh_sqrt', 'newton_schulz_sqrt', 'taylor_sqrt', 'psd_sqrt_newton_schulz', 'numerical_rank_tol', 'effective_rank']


# --------------------------------------------------------------------------- eigendecomposition
class StableEigh(torch.autograd.Function):
    r"""``λ, O = eigh(A)`` for symmetric ``A`` (``[..., n, n]``) with a finite backward.

    Backward (Ionescu et al. 2015, the paper's eq. 16), with ``Ō`` and ``λ̄`` the incoming
    gradients::

        Ā = O (diag(λ̄) + F ∘ (Oᵀ Ō)) Oᵀ,   F_ij = 1/(λ_j - λ_i) if |λ_j - λ_i| ≥ eps else 0,

    then symmetrised, ``(Ā + Āᵀ)/2``. ``eps`` is relative: ``eps · max(1, max|λ|)``.
    """

    @staticmethod
    def forward(ctx, a: Tensor, eps: float = 1e-6):  # type: ignore[override]
        lam, vec = torch.linalg.eigh(a)
        ctx.save_for_backward(lam, vec)
        ctx.eps = eps
        return lam, vec

    @staticmethod
    def backward(ctx, g_lam: Optional[Tensor], g_vec: Optional[Tensor]):  # type: ignore[override]
        lam, vec = ctx.saved_tensors
        vt = vec.transpose(-1, -2)
        inner = torch.zeros_like(vec)
        if g_vec is not None:
            gap = lam.unsqueeze(-2) - lam.unsqueeze(-1)  # gap[i, j] = λ_j - λ_i
            scale = lam.abs().amax(-1, keepdim=True).clamp(min=1.0).unsqueeze(-1)
            safe = gap.abs() >= ctx.eps * scale
            f = torch.where(safe, 1.0 / torch.where(safe, gap, torch.ones_like(gap)), torch.zeros_like(gap))
            inner = f * (vt @ g_vec)
        if g_lam is not None:
            inner = inner + torch.diag_embed(g_lam)
        g_a = vec @ inner @ vt
        return 0.5 * (g_a + g_a.transpose(-1, -2)), None


def stable_eigh(a: Tensor, eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors of symmetric ``a`` with :class:`StableEigh`'s
    finite backward."""
    return StableEigh.apply(a, eps)


def _safe_sqrt(lam: Tensor, eps: float) -> Tensor:
    """``√max(λ, 0)``, exact in the forward pass, with a zero gradient where ``λ ≤ eps``
    (``d√λ/dλ = 1/(2√λ)`` is infinite at 0)."""
    keep = lam > eps
    root = torch.sqrt(torch.where(keep, lam, torch.ones_like(lam)))
    return torch.where(keep, root, lam.detach().clamp(min=0).sqrt())


def eigh_sqrt(m: Tensor, mask: Optional[Tensor] = None, eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    r"""``S = O √Λ₊`` with columns in decreasing eigenvalue order and signs fixed so every
    column sums to ``≥ 0`` over the real nodes. Returns ``(S, λ)`` (``λ`` decreasing)."""
    lam, vec = stable_eigh(m, eps)
    lam, vec = lam.flip(-1), vec.flip(-1)
    s = vec * _safe_sqrt(lam, eps).unsqueeze(-2)
    col = s if mask is None else s * mask.unsqueeze(-1).to(s.dtype)
    sign = torch.where(col.sum(-2) >= 0, 1.0, -1.0).to(s.dtype).detach()
    return s * sign.unsqueeze(-2), lam


def newton_schulz_sqrt(a: Tensor, num_iters: int = 20) -> Tensor:
    r"""Symmetric square root of a PSD matrix by the coupled Newton-Schulz iteration.

    ``Y₀ = A/‖A‖_F``, ``Z₀ = I``, ``T_k = (3I - Z_k Y_k)/2``, ``Y_{k+1} = Y_k T_k``,
    ``Z_{k+1} = T_k Z_k``; then ``A^{1/2} ≈ √‖A‖_F · Y_K`` (and ``Z_K ≈ A^{-1/2}``).
    Converges for PSD ``A`` (eigenvalues of ``A/‖A‖_F`` in ``[0, 1]``); eigenvalues far
    below ``‖A‖_F`` converge slowly, which the benchmark measures. Negative eigenvalues make
    it diverge: use :func:`psd_sqrt_newton_schulz` for a matrix that may not be PSD.
    """
    check_positive_int(num_iters, "num_iters")
    norm = torch.linalg.matrix_norm(a).clamp(min=1e-12)[..., None, None]
    y = a / norm
    eye = torch.eye(a.size(-1), dtype=a.dtype, device=a.device).expand_as(a)
    z = eye
    for _ in range(num_iters):
        t = 0.5 * (3.0 * eye - z @ y)
        y, z = y @ t, t @ z
    return y * norm.sqrt()


def taylor_sqrt(a: Tensor, degree: int = 40) -> Tensor:
    r"""Symmetric square root by the matrix Taylor polynomial (Song, Sebe and Wang 2022).

    With ``c = ‖A‖_F`` and ``Z = I - A/c`` (eigenvalues in ``[0, 1]`` for PSD ``A``)::

        A^{1/2} ≈ √c · Σ_{k=0}^{K} binom(1/2, k) (-Z)^k,

    evaluated with Horner's rule (``K`` matrix products, no inverse). The series converges
    for every eigenvalue in ``[0, c]``, also for exact zeros (the singular grouping
    matrices where Newton-Schulz's inverse iterate blows up), slowly near zero: the error of
    ``√λ`` at ``λ = 0`` is about ``√(c/(πK))``. A small negative eigenvalue (``z`` a little
    above 1) keeps the truncated series finite.
    """
    check_positive_int(degree, "degree")
    c = torch.linalg.matrix_norm(a).clamp(min=1e-12)[..., None, None]
    eye = torch.eye(a.size(-1), dtype=a.dtype, device=a.device).expand_as(a)
    z = eye - a / c
    coef = [1.0]
    for k in range(1, degree + 1):  # binom(1/2, k) (-1)^k
        coef.append(coef[-1] * (k - 1.5) / k)
    p = coef[degree] * eye
    for k in range(degree - 1, -1, -1):
        p = p @ z + coef[k] * eye
    return p * c.sqrt()


def psd_sqrt_newton_schulz(m: Tensor, num_iters: int = 20) -> Tensor:
    r"""``M₊^{1/2}`` for symmetric ``M`` without an eigendecomposition.

    ``|M| = (M²)^{1/2}`` and ``M₊ = (M + |M|)/2`` (the PSD part: negative eigenvalues set to
    zero), then ``M₊^{1/2}``, each by :func:`newton_schulz_sqrt`.
    """
    absm = newton_schulz_sqrt(m @ m, num_iters)
    return newton_schulz_sqrt(0.5 * (m + absm), num_iters)


def numerical_rank_tol(lam: Tensor, sizes: Tensor) -> Tensor:
    r"""The numerical-zero threshold of each row of ``lam`` (``[B, n]``, eigenvalues of
    graphs with ``sizes[b]`` real nodes): ``n_b · ε · max_k |λ_k|``, with ``ε`` the machine
    epsilon of the dtype. This is the default tolerance of ``numpy.linalg.matrix_rank``:
    eigenvalues below it cannot be told apart from 0 in floating point. Returns ``[B, 1]``."""
    eps = torch.finfo(lam.dtype).eps
    return (sizes.to(lam.dtype).clamp(min=1) * eps * lam.abs().amax(-1)).unsqueeze(-1)


def effective_rank(lam: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    r"""Roy and Vetterli's effective rank ``exp(-Σ p_k log p_k)``, ``p = λ₊/Σλ₊``, per row of
    ``lam`` (``[..., n]``): a continuous count of clusters (``r`` for ``r`` equal blocks)."""
    lam = lam.clamp(min=0)
    if mask is not None:
        lam = lam * mask.to(lam.dtype)
    p = lam / lam.sum(-1, keepdim=True).clamp(min=1e-12)
    ent = -(p * torch.log(p.clamp(min=1e-30))).sum(-1)
    return ent.exp()
