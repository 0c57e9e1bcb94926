r"""Select, Reduce, Connect, Lift: the common language of every pooler.

Grattarola, Zambon, Bianchi and Alippi, "Understanding Pooling in Graph Neural
Networks" (IEEE TNNLS 2022, arXiv:2110.05292) write any pooling operator as three
functions applied to a graph with ``N`` nodes, features ``X ∈ R^{N×F}`` and adjacency
``A ∈ R^{N×N}``:

* **Select** computes an assignment matrix ``S ∈ R^{N×K}``; column ``k`` says how much
  each node belongs to supernode ``k``.
* **Reduce** computes the supernode features, by default ``X' = Sᵀ X``.
* **Connect** computes the supernode adjacency, by default ``A' = Sᵀ A S``.
* **Lift** (for decoders, U-Nets, node-level tasks) maps a pooled signal back to the
  original nodes, ``X̃ = S X'``.

This module holds those four pieces for two layouts of ``S``:

* **dense**: a padded tensor ``S ∈ R^{B×N×K}`` for a batch of ``B`` graphs with at most
  ``N`` nodes, plus a boolean node mask ``[B, N]`` (soft-clustering poolers);
* **sparse**: a list of non-zeros ``(node, cluster, weight)`` over the nodes of a
  PyG-style concatenated batch (one-over-K and score-based poolers, where each node
  belongs to at most a few supernodes).

Both layouts give the same pooled graph (``tests/test_src.py`` checks it), so a reader can
move between the matrix formulas of the papers and the sparse code that scales.

The package, one concern per module:

* :mod:`poolkit.src.checks`: input checks that raise a ``ValueError`` naming the argument;
* :mod:`poolkit.src.select`: :class:`SelectOutput`, ``S`` in either layout;
* :mod:`poolkit.src.functional`: Reduce, Connect and Lift as functions, and the dense inputs;
* :mod:`poolkit.src.output`: :class:`PoolingOutput`, with ``to_dense()`` / ``to_sparse()``;
* :mod:`poolkit.src.base`: :class:`Pooler` with the one template ``forward``,
  :class:`SparsePooler`, :class:`DensePooler`, and the identity :class:`NoPool`;
* :mod:`poolkit.src.registry`: ``register``, ``get_pooler``, ``example_pooler``.
"""
from __future__ import annotations

from poolkit.src.checks import check_finite, check_graph_inputs, check_positive_int, check_ratio
from poolkit.src.select import SelectOutput
from poolkit.src.functional import (
    connect,
    dense_connect,
    dense_inputs,
    dense_lift,
    dense_reduce,
    lift,
    normalize_pooled_adj,
    reduce,
    sparse_connect,
    sparse_lift,
    sparse_reduce,
    sum_duplicate_pairs,
    to_dense_inputs,
)
from poolkit.src.output import PoolingOutput
from poolkit.src.registry import _REGISTRY, example_pooler, get_pooler, list_poolers, pooler_info, register
from poolkit.src.base import DensePooler, NoPool, PoolInput, Pooler, SparsePooler

__all__ = [
    "SelectOutput",
    "PoolingOutput",
    "PoolInput",
    "Pooler",
    "SparsePooler",
    "DensePooler",
    "NoPool",
    "reduce",
    "connect",
    "lift",
    "dense_reduce",
    "dense_connect",
    "dense_lift",
    "dense_inputs",
    "to_dense_inputs",
    "normalize_pooled_adj",
    "sparse_reduce",
    "sparse_connect",
    "sparse_lift",
    "register",
    "get_pooler",
    "example_pooler",
    "list_poolers",
    "pooler_info",
    "check_graph_inputs",
    "check_ratio",
    "check_positive_int",
    "check_finite",
    "sum_duplicate_pairs",
]
