r"""GMPool and NGMPool: pooling with a grouping matrix and an adaptive number of clusters.

Ko, Kim, Kwon, Cho, Jin, Lee and Ahn, "Grouping-Matrix based Graph Pooling with Adaptive
Number of Clusters" (AAAI 2023, arXiv:2209.02939). No implementation was published; this
module writes down exactly which formulas we implement (equation numbers are the paper's).

**Grouping matrix** (eqs. 5-6 and the hyperparameter section). For node embeddings
``h_i ∈ R^F`` from the backbone GNN,

.. math::

    M_{ij} = \sigma\big(w^\top |h_i - h_j| + b\big), \qquad i \neq j,
    \qquad M_{ii} = 1,

a classifier (one ``F × 1`` linear layer and a sigmoid, as in the paper) on the
commutative pair function ``f(h_i, h_j) = |h_i - h_j|``. The paper says it uses the
Euclidean distance between the two vectors; the element-wise absolute difference is
**our reading**: it keeps the classifier's input ``F``-dimensional, which the paper's
``200 × 1`` layer needs (a distance is one number).
``M`` is symmetric because ``f`` is. **Diagonal convention**: ``M_ii = 1`` (a node is
always in its own group, as in the block form of eq. 7); the classifier is not evaluated
on the diagonal. Padding rows and columns of a batch are zero. :func:`grouping_matrix`
evaluates the classifier only on the pairs ``i < j`` of one graph, in chunks, with a
hand-written backward (:class:`PairL1`); :func:`grouping_matrix_reference` is the plain
``[B, N, N, F]`` expression it is tested against.

**GMPool** (eqs. 9, 11-15). ``M`` is the grouping matrix of a pooling operator,
``M = S Sᵀ``. With the eigendecomposition ``M = O Λ Oᵀ`` (eigenvalues in decreasing
order) we take

.. math::

    S = O \sqrt{\Lambda_+}, \qquad \Lambda_+ = \max(\Lambda, 0),

so ``S Sᵀ = M`` whenever ``M`` is positive semi-definite (a sigmoid classifier does not
guarantee that; negative eigenvalues are clipped, which gives the nearest PSD matrix in
Frobenius norm). Column ``k`` of ``S`` is supernode ``k``; its sign is fixed so that the
column sums to a non-negative number (eigenvectors are defined up to sign). As in the
paper, ``S`` keeps every direction (``n_{l+1} = n_l``, eq. 12) and the eigenvalues
themselves suppress the useless ones: by default only the directions whose eigenvalue
is zero to machine precision (:func:`numerical_rank_tol`, or negative) are dropped, so
``S Sᵀ = M₊`` holds exactly; graphs of one batch get different numbers of columns
(``cluster_mask``). The paper builds ``M`` "without any parameters related to cluster
numbers or thresholds". ``rank_tol=t`` is **our option, not the paper's**: it also drops
the directions with ``λ ≤ t · λ_max``, which changes what a mean readout over supernodes
computes. How many clusters a graph "has" is then a matter of measure: ``so.extra``
reports ``num_clusters`` (columns kept) and ``effective_rank`` (Roy and Vetterli's
``exp`` of the eigenvalue entropy, a continuous count that is ``r`` for ``r`` equal
blocks); the book uses the effective rank. ``k=...`` keeps only the top ``k``
eigen-directions (the paper's Figure 3a ablation). The pooled graph is (eqs. 13-15, written as in the paper's preliminaries)

.. math::

    X' = S^\top X, \qquad A' = S^\top A S, \qquad E'_{:,:,c} = S^\top E_{:,:,c} S.

The backward pass of the eigendecomposition contains ``1/(λ_i - λ_j)`` (eq. 16), which is
infinite for repeated eigenvalues, and a grouping matrix with ``r`` groups has ``n - r``
repeated zero eigenvalues. :class:`StableEigh` uses the standard formula with those
factors set to zero where ``|λ_i - λ_j| < eps`` (the degenerate directions of an
eigenspace carry no information for a loss that depends on ``S Sᵀ``), and ``√λ`` gets a
zero gradient below ``eps``. ``decomposition="taylor"`` replaces the
eigendecomposition by the matrix Taylor polynomial of the symmetric square root
``S ≈ M^{1/2}`` and ``decomposition="newton_schulz"`` by the coupled Newton-Schulz
iteration (Higham 2008; both used for this purpose by Song, Sebe and Wang 2021/2022, the
work the paper cites): only matrix products, differentiated by autograd. Newton-Schulz
also iterates towards ``M^{-1/2}``, which does not exist for a singular grouping matrix,
so in float32 it can overflow (the benchmark counts how often); the Taylor polynomial has
no inverse and stays finite, at the price of a slow convergence for eigenvalues near 0. Both roots
satisfy ``S Sᵀ = M_+`` and differ by an orthogonal change of basis of the supernodes
(``M^{1/2} = S_{eig} Oᵀ``); the Newton-Schulz root keeps all ``n`` columns (it never
computes eigenvalues, which is why it is fast).

**NGMPool** ("Pooling without decomposing the grouping matrix", eqs. 17-19, which are
garbled in our copy of the text; this is our reading). It keeps the pooling depth to one
and never forms ``S``: features are pooled and lifted back, ``S (Sᵀ X) = M X``, so

.. math::

    X' = M X, \qquad A' = M A M, \qquad E'_{:,:,c} = M E_{:,:,c} M,

which is Select-Reduce-Connect with the assignment matrix ``S := M`` (``n`` supernodes,
one per node). A sum readout over the result reads two ways. With GMPool's factor ``F``
(``M = F Fᵀ``), ``1ᵀ M X = (Fᵀ 1)ᵀ (Fᵀ X)``: GMPool's pooled graph read out with the weights
``Fᵀ 1``, the column sums of ``F`` (the paper's eq. 17). With NGMPool's ``S := M``, it is
``(M 1)ᵀ X``: the original nodes weighted by the row sums of ``M``.
It costs ``O(n^2)`` and needs no decomposition. The paper names two caveats: it is only
valid for a single pooling level (two pooling operators do not combine into one grouping
matrix), and the activation functions that follow are not equivariant with pooling
(``σ(S Sᵀ X) ≠ S σ(Sᵀ X)`` in general), which the paper presumes to be a small effect
for element-wise monotonic activations.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.utils import to_dense_adj, to_dense_batch

from .src import PoolingOutput, Pooler, SelectOutput, check_graph_inputs, check_positive_int, register

__all__ = [
    "StableEigh",
    "stable_eigh",
    "eigh_sqrt",
    "newton_schulz_sqrt",
    "psd_sqrt_newton_schulz",
    "taylor_sqrt",
    "grouping_matrix",
    "grouping_matrix_reference",
    "within_graph_pairs",
    "PairL1",
    "effective_rank",
    "numerical_rank_tol",
    "GroupingMatrix",
    "GMPool",
    "NGMPool",
]


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
def _densify(pooler, x, edge_index, batch, edge_attr, edge_weight, adj, mask):
    """PyG input (or an already dense batch) → ``x [B,N,F]``, ``adj [B,N,N]``, ``mask``,
    ``e [B,N,N,de]`` (or None)."""
    if x.dim() == 3:
        if adj is None or adj.dim() != 3 or adj.shape != (x.size(0), x.size(1), x.size(1)):
            raise ValueError(
                f"adj must have shape [B, N, N] = {(x.size(0), x.size(1), x.size(1))} for a dense x, "
                f"got {None if adj is None else tuple(adj.shape)}"
            )
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        elif mask.shape != x.shape[:2]:
            raise ValueError(f"mask must have shape {tuple(x.shape[:2])}, got {tuple(mask.shape)}")
        if edge_attr is not None and (edge_attr.dim() != 4 or edge_attr.shape[:3] != adj.shape):
            raise ValueError(f"edge_attr must have shape [B, N, N, D] for a dense x, got {tuple(edge_attr.shape)}")
        return x, adj, mask.bool(), edge_attr
    check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
    if edge_index is None:
        raise ValueError("edge_index is required for PyG-style input")
    if x.size(0) == 0:
        raise ValueError("x must hold at least one node")
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    xd, mask = to_dense_batch(x, batch)
    b, n = mask.shape
    if edge_index.numel() == 0:
        adj = x.new_zeros(b, n, n)
        e = None if edge_attr is None else x.new_zeros(b, n, n, edge_attr.view(edge_attr.size(0), -1).size(1))
    else:
        adj = to_dense_adj(edge_index, batch, edge_attr=edge_weight, max_num_nodes=n, batch_size=b).to(x.dtype)
        e = None
        if edge_attr is not None:
            ea = edge_attr.view(edge_attr.size(0), -1).to(x.dtype)
            e = to_dense_adj(edge_index, batch, edge_attr=ea, max_num_nodes=n, batch_size=b)
    return xd, adj, mask, e


def _pool_dense(s: Tensor, x: Tensor, adj: Tensor, e: Optional[Tensor], node_mask: Tensor):
    """``Sᵀ X``, ``Sᵀ A S`` and ``Sᵀ E_c S`` for every channel ``c`` (padding rows of S zeroed)."""
    s = s * node_mask.unsqueeze(-1).to(s.dtype)
    st = s.transpose(1, 2)
    xp = st @ x
    ap = st @ adj @ s
    ep = None
    if e is not None:  # two batched products over all channels at once, not one per channel
        b, n, _, c = e.shape
        k = s.size(-1)
        se = (st @ e.reshape(b, n, n * c)).reshape(b, k, n, c)  # Σ_i S_ik E_ijc
        ep = (se.transpose(2, 3).reshape(b, k * c, n) @ s).reshape(b, k, c, k).transpose(2, 3)
    return xp, ap, ep


# --------------------------------------------------------------------------- poolers
@register("gmpool")
class GMPool(Pooler):
    r"""GMPool: ``S`` is a square root of the learned grouping matrix (see module docstring).

    Args:
        in_channels: node embedding size ``F`` (the grouping classifier is ``F × 1``).
        decomposition: ``"eigh"`` (``S = O √Λ₊`` with :class:`StableEigh`, variable number of
            clusters), ``"taylor"`` (``S ≈ M^{1/2}`` by :func:`taylor_sqrt`, ``n`` columns, no
            eigenvalues) or ``"newton_schulz"`` (``S ≈ M₊^{1/2}`` by
            :func:`psd_sqrt_newton_schulz`; can overflow on singular ``M`` in float32, see
            the benchmark).
        k: force this many clusters (top-``k`` eigen-directions with a positive eigenvalue),
            ``None`` = every direction with a positive eigenvalue (the paper).
        rank_tol: ``None`` (default, the paper): keep every eigen-direction whose eigenvalue
            is positive, i.e. above the numerical zero :func:`numerical_rank_tol`, so that
            ``S Sᵀ = M₊``. A number ``t`` in ``[0, 1)`` is **our option, not the paper's**:
            drop the directions with ``λ ≤ t · λ_max`` (``t = 1e-2`` was this pooler's
            earlier default). With the mean readout over supernodes of
            :class:`~poolkit.nn.dmpnn.DMPNNPoolNet` it changes what the model computes.
        eps: gap/eigenvalue threshold of the stable backward.
        num_iters: Newton-Schulz iterations, or the degree of the Taylor polynomial.

    Input: PyG-style ``(x, edge_index, batch, edge_attr, edge_weight)``, or a dense batch
    ``x [B, N, F]`` with ``adj=[B, N, N]``, ``mask=[B, N]`` and optionally
    ``edge_attr=[B, N, N, D]``. Output: a dense :class:`PoolingOutput` (``x [B, K, F]``,
    ``adj [B, K, K]``, ``mask [B, K]`` the supernodes each graph really has, ``edge_attr
    [B, K, K, D]``); ``so.extra`` holds ``M``, the eigenvalues and the cluster counts.
    """

    is_dense = True
    is_trainable = True
    has_aux_loss = False
    is_precomputable = False

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels}

    def __init__(
        self,
        in_channels: int,
        decomposition: str = "eigh",
        k: Optional[int] = None,
        rank_tol: Optional[float] = None,
        eps: float = 1e-6,
        num_iters: int = 20,
    ):
        super().__init__()
        if decomposition not in ("eigh", "taylor", "newton_schulz"):
            raise ValueError(f"decomposition must be 'eigh', 'taylor' or 'newton_schulz', got {decomposition!r}")
        if k is not None:
            check_positive_int(k, "k")
            if decomposition != "eigh":
                raise ValueError("k (a forced number of clusters) needs decomposition='eigh'")
        if rank_tol is not None and not (isinstance(rank_tol, (int, float)) and not isinstance(rank_tol, bool)
                                         and 0.0 <= rank_tol < 1.0):
            raise ValueError(f"rank_tol must be None or a number in [0, 1), got {rank_tol!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        check_positive_int(num_iters, "num_iters")
        self.grouping = GroupingMatrix(in_channels)
        self.decomposition, self.k, self.rank_tol, self.eps, self.num_iters = (
            decomposition, k, None if rank_tol is None else float(rank_tol), float(eps), num_iters,
        )

    def select_dense(self, x: Tensor, mask: Tensor) -> SelectOutput:
        m = self.grouping(x, mask)
        if self.decomposition != "eigh":
            root = taylor_sqrt(m, self.num_iters) if self.decomposition == "taylor" else psd_sqrt_newton_schulz(m, self.num_iters)
            s = root * mask.unsqueeze(-1).to(m.dtype)
            so = SelectOutput.from_dense(s, mask, cluster_mask=mask)
            so.extra.update(M=m, num_clusters=mask.sum(-1))
            return so
        s, lam = eigh_sqrt(m, mask, self.eps)
        sizes = mask.sum(-1)
        zero = numerical_rank_tol(lam, sizes)
        if self.rank_tol is not None:  # our option: a threshold relative to λ_max
            zero = torch.maximum(zero, self.rank_tol * lam[:, :1])
        keep = lam > zero
        # A graph of n_b nodes has at most n_b directions (padding eigenvalues are 0).
        keep &= torch.arange(lam.size(-1), device=lam.device).unsqueeze(0) < sizes.unsqueeze(-1)
        if self.k is not None:
            keep[:, self.k:] = False
        kmax = max(int(keep.sum(-1).max()), 1)
        s = (s * keep.unsqueeze(-2).to(s.dtype))[:, :, :kmax]
        cmask = keep[:, :kmax]
        so = SelectOutput.from_dense(s, mask, cluster_mask=cmask)
        so.extra.update(M=m, eigenvalues=lam, num_clusters=keep.sum(-1), effective_rank=effective_rank(lam, None))
        return so

    def forward(
        self,
        x: Tensor,
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        adj: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
    ) -> PoolingOutput:
        xd, ad, mask, e = _densify(self, x, edge_index, batch, edge_attr, edge_weight, adj, mask)
        so = self.select_dense(xd, mask)
        xp, ap, ep = _pool_dense(so.s, xd, ad, e, mask)
        cm = so.cluster_mask
        xp = xp * cm.unsqueeze(-1).to(xp.dtype)
        return PoolingOutput(x=xp, so=so, adj=ap, mask=cm, edge_attr=ep, losses={})


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
