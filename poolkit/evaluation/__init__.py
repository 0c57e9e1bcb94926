r"""How to judge a pooler: four lenses, measured the same way on every registered pooler.

1. **Expressiveness** (Bianchi & Lachi, NeurIPS 2023). A pooled GNN is as expressive as
   1-WL when the message passing before pooling is injective (GIN), every row of ``S``
   sums to the same ``λ > 0`` and Reduce is ``X' = Sᵀ X``. :func:`expressive_selection`
   checks the ``S`` condition on any :class:`~poolkit.src.SelectOutput` (through
   :meth:`SelectOutput.row_sums`), :func:`reduce_residual` checks Reduce, and
   :func:`pair_accuracy` trains ``GIN → pooler → GIN → sum`` to tell the two graphs of
   each WL-distinguishable pair apart (:func:`poolkit.data.wl_pairs`).
2. **Structure.** :func:`spectral_distance` compares the normalised-Laplacian spectra of
   ``A`` and of the lifted pooled graph ``Ã = S A' Sᵀ`` (:func:`lifted_adjacency`):

   .. math:: d(A, Ã) = \frac1N\sum_{i=1}^N \lvert\lambda_i(L) - \lambda_i(\tilde L)\rvert,
             \qquad L = D^{-1/2}(D - A)D^{-1/2},

   eigenvalues sorted, self-loops removed, isolated nodes given a zero row. Both
   spectra have ``N`` values in ``[0, 2]``, whatever the pooler, and the normalisation
   makes ``d`` blind to the overall scale of ``A'`` (which differs from pooler to pooler:
   sums of weights, degree-normalised, induced). ``d = 0`` when ``S`` is the identity.
3. **Information.** :class:`PoolAutoencoder` encodes, pools, lifts (``X̃ = S X'``) and
   decodes; :func:`reconstruction_error` is ``‖X − X̃‖²_F / ‖X − X̄‖²_F`` per graph (the
   share of the signal's variance that is lost: 0 is perfect, 1 is as bad as predicting
   the mean).
4. **Cost.** :func:`measure_cost` times forward + backward and records peak memory
   (CUDA's allocator statistics on a GPU, :class:`PeakMemory` on a CPU);
   :func:`cost_sweep` runs it for every pooler over graph sizes.

:func:`evaluate_pooler` runs the four lenses on one pooler and :func:`report_card`
gathers every registered pooler into one table. Every pooler is built by
:func:`build_pooler`, which goes through :func:`poolkit.src.example_pooler`, so a newly
registered pooler enters the report card without being named here.

The package: :mod:`~poolkit.evaluation.lenses` (lenses 1-3), :mod:`~poolkit.evaluation.tasks`
(building and running poolers, the WL-pair task, the autoencoder), :mod:`~poolkit.evaluation.cost`
(lens 4) and :mod:`~poolkit.evaluation.report` (one pooler through every lens, the downstream
numbers of the results files, the report card).
"""
from __future__ import annotations

from poolkit.evaluation.lenses import *  # noqa: F401,F403
from poolkit.evaluation.tasks import *  # noqa: F401,F403
from poolkit.evaluation.cost import *  # noqa: F401,F403
from poolkit.evaluation.report import *  # noqa: F401,F403
from poolkit.evaluation import cost, lenses, report, tasks


__all__ = [
    "expressive_selection",
    "reduce_residual",
    "lifted_adjacency",
    "dense_adjacency",
    "laplacian_spectrum",
    "spectral_distance",
    "structure_distances",
    "reconstruction_error",
    "build_pooler",
    "run_pooler",
    "PooledConv",
    "pooled_readout",
    "PairClassifier",
    "pair_accuracy",
    "PoolAutoencoder",
    "autoencoder_lenses",
    "PeakMemory",
    "peak_memory_mb",
    "cost_graph",
    "measure_cost",
    "cost_sweep",
    "downstream_results",
    "evaluate_pooler",
    "report_card",
]


