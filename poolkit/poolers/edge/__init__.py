r"""Pooling molecules that carry bond features (Bal et al., DLG 2019).

Bal, Triendl, Assmann, Craig, Phillips, Frost, Bashir, Shaker and Stojevic,
"Sparse hierarchical representation learning on molecular graphs" (DLG@KDD 2019,
arXiv:1908.02065). No public implementation exists; this package is written from the paper's
text, and where the paper leaves a detail open the choice made here is stated.

**Dual-message graph convolution** (paper eqs. 3-6). With node features ``a_i``, bond
features ``e_ij`` and neighbours ``NN(i)``:

.. math::

    m_i &= \sum_{j \in NN(i)} f_{W_a}([a_j \,\|\, e_{ij}]), \qquad s_i = W_s a_i + b_s \\
    \tilde a_i &= \mathrm{ReLU}(\mathrm{BN}(m_i + s_i)) \\
    m_{ij} &= g_{W_e}([\tilde a_i + \tilde a_j \,\|\, e_{ij}]), \qquad s_{ij} = W_e e_{ij} + b_e \\
    \tilde e_{ij} &= \mathrm{ReLU}(\mathrm{BN}(m_{ij} + s_{ij}))

``f`` and ``g`` are one linear layer each here (the paper says "fully-connected neural
network" without giving its depth).

**Select** (eqs. 7-8): a projection vector ``p`` scores every atom, ``y_i = p · ã_i`` (the
paper does not divide by ``‖p‖``, so neither do we); each graph keeps its
``K = ⌈ρ · n⌉`` highest-scoring atoms, gated as ``a_i = ã_i · tanh(y_i)``. As a
:class:`~poolkit.src.SelectOutput`: ``S[kept_j, j] = tanh(y_{kept_j})``, so Reduce is
``X' = Sᵀ X``. Ties are broken by the lower atom index; kept atoms stay in their original
order, so the pooled batch vector stays sorted.

**Connect with edge features** (section 2.2, Fig. 1). Kept atoms ``u ≠ v`` are joined in
the pooled graph when the original graph has a path between them of length

1. ``u – v`` (an existing bond between kept atoms),
2. ``u – x – v`` with ``x`` dropped,
3. ``u – x – y – v`` with ``x`` and ``y`` dropped.

Dropped atoms and all their bonds disappear (so a dangling dropped atom just goes).
Every kept pair gets *one* edge whose feature is the **sum over all such paths** of a
path feature (the paper: "overlapping effective edge features ... reduced to a single
vector of the sum"); an existing bond between kept atoms with no parallel path keeps its
feature unchanged.

* ``edge_simple`` (:class:`EdgeSimplePool`): the path feature is the sum of the bond
  features along the path, ``e_ux + e_xv`` or ``e_ux + e_xy + e_yv`` (and ``e_uv`` for a
  kept bond).
* ``edge_coarse`` (:class:`EdgeCoarsePool`): two small networks (Linear-ReLU-Linear).
  The paper says only that "the first network maps the atom and adjoining edge feature
  vectors of dropped nodes to a single effective-edge feature" and "the second network
  calculates effective edge features for kept edges"; our reading is
  ``φ_drop([Σ_{dropped atoms on the path} a \| Σ_{bonds on the path} e])`` for paths 2 and
  3 and ``φ_kept([a_u + a_v \| e_uv])`` for kept bonds, with gated atom features ``a``.
  Both inputs are symmetric in ``u, v``, so an undirected molecule stays undirected.

**Gather** (section 2.1): a linear layer per atom, then
``h_G = tanh([max_i h_i \| Σ_i h_i])`` and a final linear layer;
:class:`DualMessageNet` puts a pooling layer after every convolution but the last.

Example::

    >>> import torch, poolkit
    >>> pool = poolkit.get_pooler("edge_simple", in_channels=8, ratio=0.5)
    >>> x, e = torch.randn(4, 8), torch.randn(6, 3)
    >>> ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    >>> out = pool(x, ei, edge_attr=e)
    >>> out.x.shape, out.edge_attr.shape[1]
    (torch.Size([2, 8]), 3)
"""
from .base import *  # noqa: F401,F403
from .contraction import *  # noqa: F401,F403
from .simple import *  # noqa: F401,F403
from .coarse import *  # noqa: F401,F403
from .base import __all__ as _base_all
from .contraction import __all__ as _contraction_all
from .simple import __all__ as _simple_all
from .coarse import __all__ as _coarse_all

__all__ = list(_base_all) + list(_contraction_all) + list(_simple_all) + list(_coarse_all)
