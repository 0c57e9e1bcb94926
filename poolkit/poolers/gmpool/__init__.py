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
from .grouping import *  # noqa: F401,F403
from .gmpool import *  # noqa: F401,F403
from .ngmpool import *  # noqa: F401,F403
from .grouping import __all__ as _grouping_all
from .gmpool import __all__ as _gmpool_all
from .ngmpool import __all__ as _ngmpool_all

__all__ = list(_grouping_all) + list(_gmpool_all) + list(_ngmpool_all)
