r"""Soft-clustering pooling: DiffPool, MinCutPool, DMoN and TVGNN.

All four learn a dense assignment matrix from the node features,

.. math::  S = \mathrm{softmax}(\mathrm{MLP}(X)) \in [0, 1]^{N \times K},
           \qquad \textstyle\sum_k S_{ik} = 1,

so each node belongs to each of the ``K`` supernodes with a soft *membership*
(``assign="gnn"`` replaces the MLP by dense graph convolutions, DiffPool's pooling GNN). Reduce and
Connect are the SRC defaults :math:`X' = S^\top X` and :math:`A' = S^\top A S`; MinCut,
DMoN and TVGNN then drop the self-loops of :math:`A'` and normalise it symmetrically,
:math:`A' \leftarrow D'^{-1/2} A' D'^{-1/2}`, as their papers do. Left alone, ``S``
collapses (every node in one cluster, or every node spread evenly over all clusters), so
each method adds an auxiliary loss with two parts: a **topology** term (connected nodes
should share a cluster) and a **quality** term (clusters should be crisp and balanced).

=========  =====================================================  =============================================
method     topology term                                          quality term
=========  =====================================================  =============================================
diffpool   ``link``  :math:`\|A - SS^\top\|_F / N^2` (PyG's norm.)  ``entropy`` :math:`\frac1N\sum_i H(S_i)`
mincut     ``cut``   :math:`-\mathrm{Tr}(S^\top AS)/\mathrm{Tr}(S^\top DS)`  ``ortho`` :math:`\|\frac{S^\top S}{\|S^\top S\|_F} - \frac{I_K}{\sqrt K}\|_F`
dmon       ``spectral`` :math:`-\frac{1}{2m}\mathrm{Tr}(S^\top B S)`, :math:`B = A - \frac{dd^\top}{2m}`  ``cluster`` :math:`\frac{\sqrt K}{N}\|\sum_i S_i\|_2 - 1`
tvgnn      ``tv`` :math:`\frac{1}{2E}\sum_{\{i,j\}\in\mathcal E} a_{ij}\|s_i - s_j\|_1`   ``balance`` :math:`1 - \frac{1}{N(K-1)}\sum_k \|S_{:,k} - \mathrm{quant}_\rho(S_{:,k})\|_{1,\rho}`
=========  =====================================================  =============================================

References: Ying et al., "Hierarchical Graph Representation Learning with Differentiable
Pooling", NeurIPS 2018 (DiffPool); Bianchi, Grattarola and Alippi, "Spectral Clustering
with Graph Neural Networks for Graph Pooling", ICML 2020 (MinCutPool); Tsitsulin et al.,
"Graph Clustering with Graph Neural Networks", JMLR 2023 (DMoN); Hansen and Bianchi,
"Total Variation Graph Neural Networks", ICML 2023 (TVGNN, asymmetric Cheeger cut).

Normalisations, where papers and libraries differ: DiffPool's paper writes the link loss
as :math:`\|A - SS^\top\|_F` with no factor; the :math:`1/N^2` is PyTorch Geometric's (it
makes the loss comparable across graph sizes), and we keep it. MinCutPool's paper writes
the cut term with the normalised adjacency :math:`\tilde A = D^{-1/2} A D^{-1/2}` and its
degree matrix; ``mincut_losses`` uses the adjacency it is given, as PyG does, so the
caller chooses: pass ``A`` (the default of :class:`MinCutPool`; for a hard partition the
cut term is then :math:`-1 + 2\,\mathrm{cut}/\mathrm{vol}`, the share of edge endpoints
that leave their cluster) or pass :math:`\tilde A` for the paper's weighting, in which an
edge counts :math:`1/\sqrt{d_i d_j}`. TVGNN's total variation sums over undirected edges
(each once) and divides by their number ``E``; over ordered pairs (both directions, as a
symmetric ``A`` stores them) it is :math:`\frac{1}{4E}\sum_{i,j}`.

Every loss is computed **per graph** (padding ignored, ``N`` = that graph's node count)
and averaged over the graphs of the batch, so it does not depend on batch size or
padding. Differences from PyTorch Geometric (``torch_geometric.nn.dense``), checked in
``tests/test_soft.py``: DiffPool's link loss there is one Frobenius norm over the whole
padded batch divided by ``B·N_max²`` (ours: per graph, equal for a single graph); its
entropy averages over padding rows too; DMoN's cluster loss there divides the ``[B]``
norms by a ``[B, 1]`` node count, which broadcasts to a ``[B, B]`` matrix mixing graphs
(PyG issue 10148; equal to ours only when all graphs have the same size).

Subclasses may override :meth:`DenseSoftPool.select` (for instance with a fixed random
``S``) and keep Reduce, Connect and the losses; the loss functions are public
(:func:`diffpool_losses`, :func:`mincut_losses`, :func:`dmon_losses`, :func:`tvgnn_losses`).
"""
from .diffpool import *  # noqa: F401,F403
from .mincut import *  # noqa: F401,F403
from .dmon import *  # noqa: F401,F403
from .tvgnn import *  # noqa: F401,F403
from .just_balance import *  # noqa: F401,F403
from .bnpool import *  # noqa: F401,F403
from .hosc import *  # noqa: F401,F403
from .diffpool import __all__ as _diffpool_all
from .mincut import __all__ as _mincut_all
from .dmon import __all__ as _dmon_all
from .tvgnn import __all__ as _tvgnn_all
from .just_balance import __all__ as _just_balance_all
from .bnpool import __all__ as _bnpool_all
from .hosc import __all__ as _hosc_all

__all__ = list(_diffpool_all) + list(_mincut_all) + list(_dmon_all) + list(_tvgnn_all) + list(_just_balance_all) + list(_bnpool_all) + list(_hosc_all)
