r"""One-over-K pooling: Graclus, Node Decimation Pooling (NDP) and k-MIS.

These poolers extend the "keep one sample out of K" idea of pooling on grids and
sequences to graphs. None of them looks at node features or has parameters, so the
whole pooling pyramid can be computed once per graph, before training
(:class:`Precoarsen`). In SRC terms (see :mod:`poolkit.src`):

**Graclus** (Dhillon, Guan and Kulis, TPAMI 2007). *Select* is a greedy heavy-edge
matching: every node is merged with at most one neighbour, preferring the edge of largest
normalised-cut weight

.. math::  c_{ij} = a_{ij}\,\Big(\frac{1}{d_i} + \frac{1}{d_j}\Big),\qquad d_i = \sum_j a_{ij},

so ``S`` has one column per pair or unmatched node (about ``N/2`` columns). *Reduce* is
``Sᵀ X`` (or mean/max), *Connect* is ``Sᵀ A S`` without self-loops. Repeating it gives
the multi-level coarsening of the paper (``levels``).

**NDP** (Bianchi, Grattarola, Livi and Alippi, TNNLS 2020). *Select* approximates the
MAXCUT with the sign of the eigenvector ``u_max`` of the largest eigenvalue of the
normalised Laplacian ``L_s = I - D^{-1/2} A D^{-1/2}``; one side of the cut is kept
(``S`` selects columns of the identity). When the spectral cut removes less than half the
edge weight (tiny graphs, some non-bipartite graphs) a local search flips single nodes
until every node has at least half of its edge weight across the cut, which guarantees a
cut of at least one half. *Reduce* keeps the features of the kept nodes. *Connect* is the
Kron reduction of the Laplacian ``L = D - A``, the Schur complement

.. math::  L' = L_{++} - L_{+-}\,L_{--}^{-1}\,L_{-+},

which links two kept nodes when a walk joins them through dropped nodes; ``A' = -L'``
off the diagonal, and weights below ``sparsify`` are dropped.

**k-MIS** (Bacciu, Conte, Grossi, Landolfi and Marino, 2022/2023). *Select* greedily
builds a maximal ``k``-independent set (pairwise hop distance larger than ``k``), taking
nodes in the order of a ranking (highest degree first by default), and assigns every node
to the best-ranked MIS node within ``k`` hops. ``k = 1`` is an ordinary maximal
independent set; larger ``k`` pools more aggressively. *Reduce* is sum/mean/max over the
cluster or ``keep`` (the MIS node's own features); *Connect* is ``Sᵀ A S`` without
self-loops.

Permutation behaviour: the three selections depend on node order only through tie
breaking. Graclus breaks ties between equal weights with a node priority (the node index,
or a random permutation drawn from ``seed``); k-MIS breaks ties of its ranking the same
way; NDP depends on the order only through the sign of ``u_max`` and exact eigenvalue
ties. With distinct edge weights (Graclus) or distinct scores (k-MIS), relabelling the
nodes relabels the output (``tests/test_one_over_k.py`` checks it).
"""
from .graclus import *  # noqa: F401,F403
from .ndp import *  # noqa: F401,F403
from .kmis import *  # noqa: F401,F403
from .edge_contraction import *  # noqa: F401,F403
from .maxcut import *  # noqa: F401,F403
from .graclus import __all__ as _graclus_all
from .ndp import __all__ as _ndp_all
from .kmis import __all__ as _kmis_all
from .edge_contraction import __all__ as _edge_contraction_all
from .maxcut import __all__ as _maxcut_all

__all__ = list(_graclus_all) + list(_ndp_all) + list(_kmis_all) + list(_edge_contraction_all) + list(_maxcut_all)
