r"""Score-based pooling: keep the ``k`` best-scoring nodes of each graph (Top-K, SAGPool).

A score-based pooler gives every node a scalar score ``y_i``, keeps the ``k`` nodes of each
graph with the largest scores, and drops the others. In the Select / Reduce / Connect
language of :mod:`poolkit.src`:

* **Select**: ``y = score(X, A)``, ``i = top_k(y)`` per graph; the assignment matrix
  ``S ∈ R^{N×k}`` has one non-zero per column, ``S[i_j, j] = σ(y_{i_j})`` (the *gate*).
* **Reduce**: ``X' = Sᵀ X = (X ⊙ σ(y))_i``, the kept rows scaled by their gates.
* **Connect**: ``A' = A_{i,i}``, the subgraph induced by the kept nodes (edge weights and
  edge features of the kept edges are carried over unchanged; unlike ``Sᵀ A S``, the gates
  do not rescale the edges).
* **Lift**: ``X̃ = scatter(X', i)``: kept node ``i_j`` gets row ``j`` back, dropped nodes get
  zeros (Graph U-Net's *gUnpool*).

Two scores are implemented:

* :class:`TopKPool` (``"topk"``; Gao and Ji, "Graph U-Nets", ICML 2019; Cangea et al.,
  "Towards Sparse Hierarchical Graph Classifiers", 2018): a learned projection
  ``y = X p / ‖p‖``.
* :class:`SAGPool` (``"sag"``; Lee, Lee and Kang, "Self-Attention Graph Pooling", ICML
  2019): a one-channel graph convolution, ``y = GNN(X, A)``, so the score of a node also
  depends on its neighbours.

Why the gate: ``top_k`` is piecewise constant, so without the factor ``σ(y)`` in Reduce no
gradient would reach ``p`` (or the GNN of SAGPool). Multiplying the kept features by
``σ(y_i)`` makes the pooled features a differentiable function of the scores.

The choice of the ``k`` nodes is :func:`topk_select`, reusable on any score.
"""
from .topk import *  # noqa: F401,F403
from .sag import *  # noqa: F401,F403
from .asap import *  # noqa: F401,F403
from .pan import *  # noqa: F401,F403
from .topk import __all__ as _topk_all
from .sag import __all__ as _sag_all
from .asap import __all__ as _asap_all
from .pan import __all__ as _pan_all

__all__ = list(_topk_all) + list(_sag_all) + list(_asap_all) + list(_pan_all)
