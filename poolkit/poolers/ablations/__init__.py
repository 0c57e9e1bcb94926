r"""Ablations of local pooling: random assignments, the complement graph, memory pooling.

Mesquita, Souza and Kaski, "Rethinking pooling in graph neural networks" (NeurIPS 2020)
replace the *local* part of three poolers by something that ignores locality, and find
that accuracy does not drop. Each ablation is an ordinary SRC pooler:

**Complement** (``complement_graclus``). Graclus clusters are computed on the complement
graph :math:`\bar G`, with :math:`\bar A_{ij} = 1 - A_{ij}` for :math:`i \ne j` and
:math:`\bar A_{ii} = 0`, so a cluster groups nodes that are *not* neighbours. Pooling then
uses the original graph:

.. math::

    X'_{kj} = \max_{i: S_{ik} = 1} Z_{ij}, \qquad A' = S^\top A S,\ A'_{kk} = 0 .

``ComplementGraclusPool(complement=False)`` is the same pooler clustering the original graph
(the paper's GRACLUS baseline), so the two differ in nothing but the graph clustered.

**Random DiffPool / MinCut** (``random_diffpool``, ``random_mincut``). The learned
assignment :math:`S = \mathrm{softmax}(\mathrm{GNN}(A, X))` is replaced by
:math:`S = \mathrm{softmax}(\tilde S)` with :math:`\tilde S_{ik}` drawn once, before
training, from :math:`\mathcal U(a, b)`, :math:`\mathcal N(\mu, \sigma^2)` or
:math:`\mathcal B(\alpha)`, stored as a buffer and never trained. Row ``i`` of
:math:`\tilde S` is used for the ``i``-th node of every graph, so the result depends on
node order. The invariant variant (``invariant=True``) uses :math:`S = \mathrm{softmax}(X W)`
with a fixed random :math:`W`, which permutes with the nodes. Reduce and connect are
DiffPool's :math:`X' = S^\top X`, :math:`A' = S^\top A S`; ``random_mincut`` also zeroes
the diagonal of :math:`A'` and normalises it, :math:`D^{-1/2} A' D^{-1/2}`, as MinCutPool
does. The paper trains both with the supervised loss only, so they have no auxiliary loss.

**Graph memory pooling** (``gmn``, ``gmn_distance``, ``gmn_random``; Khasahmadi et al.,
ICLR 2020). Each of ``H`` heads compares queries (node embeddings) with ``K`` keys,

.. math::

    S^{(h)}_{ik} \propto \Big(1 + \lVert q_i - \kappa^{(h)}_k \rVert^2/\tau\Big)^{-\frac{\tau+1}{2}},

a :math:`1\times1` convolution mixes the heads and a row softmax gives :math:`S`; then
:math:`X' = S^\top Q W`. The auxiliary loss is :math:`\mathrm{KL}(P\,\|\,S)` with the
sharpened target :math:`P_{ik} \propto S_{ik}^2 / \sum_j S_{jk}`. The DISTANCE variant
replaces the kernel by the Euclidean distance to fixed uniform keys (so a node goes to the
key it is *farthest* from); the RANDOM variant replaces the head matrices by fixed uniform
noise. Neither has keys to learn, so neither has the auxiliary loss.

The module also holds two numbers for the paper's "homogeneous embeddings" argument:
:func:`feature_variance` (how much node features vary inside a graph) and
:func:`dirichlet_energy` (how much they vary across edges).
"""
from .complement import *  # noqa: F401,F403
from .random_assign import *  # noqa: F401,F403
from .memory import *  # noqa: F401,F403
from .complement import __all__ as _complement_all
from .random_assign import __all__ as _random_assign_all
from .memory import __all__ as _memory_all

__all__ = list(_complement_all) + list(_random_assign_all) + list(_memory_all)
