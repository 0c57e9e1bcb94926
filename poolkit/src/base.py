r"""The pooler base classes, with the one template ``forward`` every pooler runs.

.. code-block:: text

    forward(x, edge_index, batch, edge_attr, edge_weight, **options)
      g   = prepare(...)                  check the input, bring it to the pooler's layout
      so  = select_input(g)    → select(...)      S
      x'  = reduce_input(g, so) → reduce(x, so)   X' = Sᵀ X
      out = connect_input(g, so, x')  → connect(...)   A' = Sᵀ A S  (and E', the pooled batch or mask)
      L   = losses_input(g, so, out)  → losses(...)    the unweighted auxiliary losses
      return PoolingOutput(x', so, **out, losses=L)

A pooler implements the four methods of its layout, each with one signature:

=========================  =================================================  ==========================================
method                     :class:`SparsePooler` (PyG batch)                  :class:`DensePooler` (padded batch)
=========================  =================================================  ==========================================
``select``                 ``(x, edge_index, batch=, edge_weight=, **opts)``  ``(x, adj=, mask=, **opts)``
``reduce``                 ``(x, so)``                                        ``(x, so)``
``connect``                ``(edge_index, so, edge_weight) → (ei', ew')``     ``(adj, so, adj_pool=None) → A'``
``losses``                 ``(x=, edge_index=, batch=, edge_weight=, so=)``   ``(adj, so, adj_pool=None)``
=========================  =================================================  ==========================================

The ``*_input`` steps only translate a :class:`PoolInput` into those calls; a pooler
overrides one of them where its pooled graph carries more than the layout's default
(edge features, the supernodes a graph really has), never ``forward``. :meth:`Pooler.check_input`
is where a pooler adds its own checks of the prepared input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Tuple

import torch
from torch import Tensor

from poolkit.src.checks import check_graph_inputs
from poolkit.src.functional import dense_connect, dense_inputs, dense_lift, dense_reduce, lift, normalize_pooled_adj, \
    reduce, sparse_connect
from poolkit.src.output import PoolingOutput
from poolkit.src.registry import register
from poolkit.src.select import SelectOutput

__all__ = ["PoolInput", "Pooler", "SparsePooler", "DensePooler", "NoPool"]


@dataclass
class PoolInput:
    """One call's input after :meth:`Pooler.prepare`: checked, in the pooler's layout.

    Sparse layout: ``x [N, F]``, ``edge_index``, ``batch``, ``edge_attr [E, D]``,
    ``edge_weight [E]``. Dense layout: ``x [B, N, F]``, ``adj [B, N, N]`` (``None`` only for a
    pooler that needs no adjacency and got none), ``mask [B, N]``, ``edge_attr [B, N, N, D]``
    for a pooler that pools edge features. ``options`` are the other keyword arguments of the
    call, handed to ``select``; ``adj_pool`` is the raw ``Sᵀ A S`` that the dense Connect
    computes once and the losses reuse.
    """

    x: Tensor
    edge_index: Optional[Tensor] = None
    batch: Optional[Tensor] = None
    edge_attr: Optional[Tensor] = None
    edge_weight: Optional[Tensor] = None
    adj: Optional[Tensor] = None
    mask: Optional[Tensor] = None
    options: Dict[str, Any] = field(default_factory=dict)
    adj_pool: Optional[Tensor] = None


class Pooler(torch.nn.Module):
    """Base class of every pooler: the template ``forward`` and the class flags.

    ``Pooler`` itself works in the sparse layout (a subclass that only implements
    :meth:`select` is a sparse pooler); :class:`SparsePooler` is the same class by its
    layout's name and :class:`DensePooler` the padded layout. See the module docstring for
    the steps and the one signature of each method.
    """

    name: ClassVar[str] = "pooler"
    is_dense: ClassVar[bool] = False
    is_trainable: ClassVar[bool] = False
    has_aux_loss: ClassVar[bool] = False
    is_precomputable: ClassVar[bool] = False
    needs_edge_attr: ClassVar[bool] = False  # forward() requires ``edge_attr``

    reduce_op: str = "sum"

    @classmethod
    def example_kwargs(cls, in_channels: int, k: int = 4, edge_channels: int = 3, max_nodes: int = 64) -> dict:
        """Constructor arguments of a small working instance for graphs with ``in_channels``
        node features, ``edge_channels`` edge features and at most ``max_nodes`` nodes; ``k``
        is the number of clusters for poolers that take one. Every registered pooler must be
        buildable as ``cls(**cls.example_kwargs(...))`` (see :func:`example_pooler`)."""
        return {}

    # ---- the template -----------------------------------------------------------------
    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, **options) -> PoolingOutput:
        """Pool a batch: ``prepare → select → reduce → connect → losses`` (never overridden)."""
        g = self.prepare(x, edge_index, batch, edge_attr, edge_weight, **options)
        so = self.select_input(g)
        x_pool = self.reduce_input(g, so)
        graph = self.connect_input(g, so, x_pool)
        return PoolingOutput(x=x_pool, so=so, losses=self.losses_input(g, so, graph), **graph)

    def check_input(self, g: PoolInput) -> None:
        """The pooler's own checks of the prepared input (raise ``ValueError``); none by default."""

    # ---- sparse layout ------------------------------------------------------------------
    def prepare(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, **options) -> PoolInput:
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        g = PoolInput(x=x, edge_index=edge_index, batch=batch, edge_attr=edge_attr, edge_weight=edge_weight,
                      options=options)
        self.check_input(g)
        return g

    def select_input(self, g: PoolInput) -> SelectOutput:
        return self.select(g.x, g.edge_index, batch=g.batch, edge_weight=g.edge_weight, **g.options)

    def reduce_input(self, g: PoolInput, so: SelectOutput) -> Tensor:
        return self.reduce(g.x, so)

    def connect_input(self, g: PoolInput, so: SelectOutput, x_pool: Tensor) -> Dict[str, Optional[Tensor]]:
        """The pooled graph's fields of :class:`PoolingOutput` other than ``x``: here the pooled
        edges (:meth:`pooled_edges`) and the supernodes' batch vector."""
        ei, ew, ea = self.pooled_edges(g, so, x_pool)
        return {"edge_index": ei, "edge_weight": ew, "edge_attr": ea, "batch": so.cluster_batch}

    def pooled_edges(self, g: PoolInput, so: SelectOutput, x_pool: Tensor
                     ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        """``(edge_index', edge_weight', edge_attr')``: :meth:`connect`, and no edge features
        unless a pooler pools them."""
        ei, ew = self.connect(g.edge_index, so, g.edge_weight)
        return ei, ew, None

    def losses_input(self, g: PoolInput, so: SelectOutput, graph: Dict[str, Optional[Tensor]]) -> Dict[str, Tensor]:
        return self.losses(x=g.x, edge_index=g.edge_index, batch=g.batch, edge_weight=g.edge_weight, so=so)

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        raise NotImplementedError

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return reduce(x, so, op=self.reduce_op)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        return sparse_connect(edge_index, so, edge_weight)

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return lift(x_pool, so)

    def losses(self, **kwargs) -> Dict[str, Tensor]:
        return {}

    def pooled_channels(self, in_channels: int) -> int:
        """Feature channels of the pooled graph for ``in_channels`` at the input: the same
        for every pooler but EigenPool, which stacks several Fourier modes."""
        return in_channels

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class SparsePooler(Pooler):
    """A pooler in the sparse layout: PyG input, ``S`` as a list of non-zeros, pooled
    ``edge_index``/``edge_weight`` and ``batch`` (the methods of :class:`Pooler`)."""


class DensePooler(Pooler):
    r"""A pooler in the dense layout: a padded batch ``x [B, N, F]``, ``adj [B, N, N]``,
    ``mask [B, N]``, and a dense ``S [B, N, K]`` with zero padding rows.

    ``select`` must return ``S`` with zero padding rows: Reduce, Connect and the losses rely
    on it rather than masking ``S`` again. It takes PyG input (``x [N, F]``, ``edge_index``, ``batch``, ``edge_weight``) or a dense
    batch (``adj=``, ``mask=``; see :func:`~poolkit.src.functional.dense_inputs`). Connect
    is ``A' = Sᵀ A S``, computed once (``adj_pool``) and normalised as MinCut and DMoN do
    when ``normalize_adj`` is true; the output ``mask`` is ``so.cluster_mask``, the
    supernodes each graph really has.

    Class options: ``needs_adj`` (false: a pooler that can pool features without any
    adjacency, whose pooled ``adj`` is then ``None``) and ``pools_edge_attr`` (densify
    ``edge_attr`` to ``[B, N, N, D]`` for :meth:`connect_input`).
    """

    is_dense = True
    normalize_adj: bool = False
    needs_adj: ClassVar[bool] = True
    pools_edge_attr: ClassVar[bool] = False

    def prepare(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, edge_weight: Optional[Tensor] = None, adj: Optional[Tensor] = None,
                mask: Optional[Tensor] = None, **options) -> PoolInput:
        x, adj, mask, e = dense_inputs(x, edge_index, batch, edge_weight, adj, mask,
                                       edge_attr=edge_attr if self.pools_edge_attr else None,
                                       require_adj=self.needs_adj)
        g = PoolInput(x=x, adj=adj, mask=mask, edge_attr=e, options=options)
        self.check_input(g)
        return g

    def select_input(self, g: PoolInput) -> SelectOutput:
        """Select, then ``Sᵀ A S`` once (``g.adj_pool``), which Connect and the losses reuse."""
        so = self.select(g.x, adj=g.adj, mask=g.mask, **g.options)
        g.adj_pool = None if g.adj is None else dense_connect(g.adj, so.s)  # padding rows of S are zero
        return so

    def connect_input(self, g: PoolInput, so: SelectOutput, x_pool: Tensor) -> Dict[str, Optional[Tensor]]:
        """``adj`` (Connect, from ``Sᵀ A S`` computed once) and ``mask`` (the real supernodes)."""
        adj = None if g.adj is None else self.connect(g.adj, so, adj_pool=g.adj_pool)
        return {"adj": adj, "mask": so.cluster_mask.clone()}

    def losses_input(self, g: PoolInput, so: SelectOutput, graph: Dict[str, Optional[Tensor]]) -> Dict[str, Tensor]:
        return self.losses(g.adj, so, adj_pool=g.adj_pool)

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        raise NotImplementedError

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return dense_reduce(x, so.s)  # padding rows of S are zero

    def connect(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Tensor:
        """``A' = Sᵀ A S`` (``adj_pool`` when already computed), normalised if ``normalize_adj``."""
        out = dense_connect(adj, so.s) if adj_pool is None else adj_pool
        return normalize_pooled_adj(out) if self.normalize_adj else out

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return dense_lift(x_pool, so.s, so.mask)

    def losses(self, adj: Optional[Tensor], so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        return {}


# --------------------------------------------------------------------------- the identity
@register("nopool")
class NoPool(SparsePooler):
    r"""The identity pooler: ``S = I_N``, so nothing is pooled.

    .. math::  S = I_N,\qquad X' = S^\top X = X,\qquad A' = S^\top A S = A,\qquad
               \tilde X = S X' = X'

    It is the flat baseline of every comparison: a model built with ``nopool`` in place
    of a pooler is the same GNN without coarsening, so whatever a pooler adds (or costs)
    shows as the difference to it. Features, edges, edge weights, edge features and the
    batch vector are returned unchanged (the same tensors, no copy); the
    :class:`SelectOutput` lists the ``N`` non-zeros ``S[i, i] = 1``. It lives here rather
    than in a family module because it belongs to no family: it is the trivial instance
    of Select, Reduce, Connect and Lift.
    """

    is_precomputable = True

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        n = x.size(0)
        idx = torch.arange(n, device=x.device)
        return SelectOutput(
            node_index=idx, cluster_index=idx, weight=x.new_ones(n), num_nodes=n, num_clusters=n,
            batch=batch, cluster_batch=batch,
        )

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return x

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        return edge_index, edge_weight

    def pooled_edges(self, g: PoolInput, so: SelectOutput, x_pool: Tensor):
        return g.edge_index, g.edge_weight, g.edge_attr

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return x_pool
