r"""PANPool (Ma, Xuan, Wang, Li and Liò, "Path Integral Based Convolution and Pooling for Graph
Neural Networks", NeurIPS 2020): Top-K on a score that adds the graph's structure, read off
the maximal entropy transition matrix (:func:`met_matrix`), to a projection of the features.

.. math::  M = \sum_{n=0}^{L} e^{-E(n)/T} A^n,\qquad
           y = \beta_1 X p + \beta_2\,\mathrm{diag}(M),\qquad i = \mathrm{top}_k(y),

    X' = (X \odot \tanh(y))_i,\qquad A' = \tilde M_{i,i}\quad(\tilde M = Z^{-1/2} M Z^{-1/2}).
"""
from __future__ import annotations

from typing import Optional
import math

import torch
from torch import Tensor

from poolkit.poolers.score.topk import TopKPool, induced_subgraph, topk_select
from poolkit.src import (
    SelectOutput,
    check_positive_int,
    register,
    sum_duplicate_pairs,
)

__all__ = ['met_matrix', 'PANPool', 'PANPooling']


_PAN_STRUCTURES = ("diag", "degree")


_PAN_NORMS = ("sum", "count")


_PAN_GRAPHS = ("met", "induced")


def met_matrix(edge_index: Tensor, num_nodes: int, path_weights: Tensor,
               edge_weight: Optional[Tensor] = None, norm: str = "sum"):
    r"""The maximal entropy transition (MET) matrix of PAN (Ma et al., NeurIPS 2020), sparse.

    .. math::
        M = \sum_{n=0}^{L} w_n A^n ,\qquad
        \tilde M = Z^{-1/2} M Z^{-1/2}

    with ``A[i, j]`` the weight of edge ``i → j`` and :math:`w_n = e^{-E(n)/T}` the weight
    of a path of length ``n`` (``path_weights``, length ``L + 1``). ``norm`` chooses ``Z``:
    ``"sum"``, the paper's partition function :math:`Z_{ii} = \sum_j M_{ij}`, or
    ``"count"``, the number of non-zero entries of row ``i`` (what PyG's ``PANConv``
    divides by). ``(A^n)_{ii}`` counts the closed walks of length ``n`` through ``i``, so
    ``diag(M)`` is a truncated subgraph centrality (Estrada).

    The powers are sparse products, so a batch (block-diagonal ``A``) gives each graph's
    matrix. Returns ``(index, m, m_norm, diag)``: the pattern ``[2, nnz]`` of ``M`` (the
    pairs joined by a walk of at most ``L`` steps), its values, the values of
    :math:`\tilde M` and :math:`\mathrm{diag}(M)` ``[N]``. Gradients reach
    ``path_weights`` (and ``edge_weight`` when it requires them).
    """
    if norm not in _PAN_NORMS:
        raise ValueError(f"norm must be one of {_PAN_NORMS}, got {norm!r}")
    w = path_weights
    dev, dtype = w.device, w.dtype
    n = int(num_nodes)
    ew = torch.ones(edge_index.size(1), device=dev, dtype=dtype) if edge_weight is None else edge_weight.to(dtype)
    a_row, a_col, a_val = sum_duplicate_pairs(edge_index[0], edge_index[1], ew, n)
    a_ptr = torch.zeros(n + 1, dtype=torch.long, device=dev)
    a_ptr[1:] = torch.cumsum(torch.bincount(a_row, minlength=n), 0)
    eye = torch.arange(n, device=dev)
    p_row, p_col, p_val = eye, eye, torch.ones(n, device=dev, dtype=dtype)  # A^0 = I
    rows, cols, vals = [p_row], [p_col], [w[0] * p_val]
    for step in range(1, w.numel()):
        # A^step = A^(step-1) A: entry (i, k) of the power meets every edge k -> j of A.
        reps = a_ptr[p_col + 1] - a_ptr[p_col]
        first = torch.cumsum(reps, 0) - reps
        pos = a_ptr[p_col].repeat_interleave(reps) + torch.arange(int(reps.sum()), device=dev) - first.repeat_interleave(reps)
        p_row, p_col, p_val = sum_duplicate_pairs(p_row.repeat_interleave(reps), a_col[pos],
                                            p_val.repeat_interleave(reps) * a_val[pos], n)
        rows.append(p_row)
        cols.append(p_col)
        vals.append(w[step] * p_val)
    row, col, m = sum_duplicate_pairs(torch.cat(rows), torch.cat(cols), torch.cat(vals), n)
    index = torch.stack([row, col])
    if norm == "sum":
        z = m.new_zeros(n).index_add(0, row, m)
    else:
        z = torch.bincount(row, minlength=n).to(dtype)
    z_inv_sqrt = torch.where(z > 0, z.clamp_min(torch.finfo(dtype).tiny).rsqrt(), torch.zeros_like(z))
    m_norm = z_inv_sqrt[index[0]] * m * z_inv_sqrt[index[1]]
    on_diag = index[0] == index[1]
    diag = m.new_zeros(n).index_add(0, index[0][on_diag], m[on_diag])
    return index, m, m_norm, diag


@register("pan")
class PANPool(TopKPool):
    r"""PANPool (Ma, Xuan, Wang, Li and Liò, "Path Integral Based Convolution and Pooling
    for Graph Neural Networks", NeurIPS 2020): Top-K on a score that adds the structure
    of the graph, read off the MET matrix :math:`M = \sum_{n=0}^{L} e^{-E(n)/T} A^n`
    (:func:`met_matrix`), to a projection of the features.

    .. math::
        y = \beta_1\, X p + \beta_2\, \mathrm{diag}(M),\quad i = \mathrm{top}_k(y),\quad
        X' = (X \odot \tanh(y))_i,\quad A' = \tilde M_{i,i}

    This is the paper's *hybrid PANPool* (its Eq. 15; Eq. 14 is the structural score
    alone, ``diag(M)``, in the numbering of the authors' reference code). ``diag(M)_i``
    weighs the closed walks through node ``i`` by their length, the subgraph centrality
    the paper relates MET to: in a tree there are no closed walks of odd length, so the
    ``A³`` term picks out the nodes that lie on triangles.

    Args:
        in_channels: node features ``F``.
        ratio: keep ``⌈ratio · n_g⌉`` nodes of each graph (default 0.5 when ``k`` is not given).
        k: keep ``min(k, n_g)`` nodes of each graph instead.
        filter_size: ``L``, the longest path in ``M`` (``L ≥ 1``).
        structure: ``"diag"`` (the paper: :math:`\mathrm{diag}(M)`) or ``"degree"`` (PyG's
            and tgp's ``PANPooling``: the column sums of :math:`\tilde M`,
            :math:`\sum_j \tilde M_{ji}`).
        met_norm: ``Z`` of :math:`\tilde M = Z^{-1/2} M Z^{-1/2}`: ``"sum"`` (the paper's
            partition function, row sums of ``M``) or ``"count"`` (PyG's ``PANConv``:
            non-zeros per row).
        pooled_graph: ``"met"`` (PyG and tgp: the kept rows and columns of
            :math:`\tilde M`, with its self-loops; kept nodes up to ``L`` hops apart are
            linked) or ``"induced"`` (``A_{i,i}`` as in Top-K, edge features carried over).
        gate: as in :class:`TopKPool` (``"tanh"``, as PyG).

    Parameters, initialised as PyG and the authors: ``p = 1``, ``β = (½, ½)``, and the
    energies :math:`E(n)/T = (n+1)\ln 2`, so :math:`w_n = 2^{-(n+1)}`. The path weights
    are :math:`w_n = e^{-E(n)/T}` with the energies learned, so they stay positive (the
    authors clamp theirs to [0, 1] after every step).

    **Differences from PyG's ``PANPooling``** (and tgp's, the same formulas). (1) Their
    structural score is :math:`\deg(\tilde M)` rather than the paper's
    :math:`\mathrm{diag}(M)`; ``structure="degree"`` gives theirs. (2) PyG's ``PANConv``
    normalises by the number of non-zeros per row, not by the partition function;
    ``met_norm="count"``. (3) PyG's ``PANConv`` multiplies its weights cumulatively (the
    coefficient of :math:`A^n` is :math:`\prod_{m \le n} w_m`); here each length has its
    own weight, as in the paper's sum. (4) PyG ranks by ``sign(q) · y`` with a learned
    scalar ``q`` (the sign issue of its SAGPooling, issue 9862); here by ``y``. With
    ``structure="degree"``, ``met_norm="count"``, the same ``M`` and ``q > 0`` the kept
    nodes, pooled features and pooled graph equal PyG's (``tests/test_pan.py``).

    ``forward`` also takes ``met=(index, value)``, a normalised MET matrix computed by a
    PAN convolution before the pooler (the paper's architecture, where pooling reuses the
    convolution's ``M``); ``diag`` then reads :math:`\tilde M_{ii}`.
    """

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5, "filter_size": 3}

    def __init__(self, in_channels: int, ratio: Optional[float] = None, k: Optional[int] = None,
                 filter_size: int = 3, structure: str = "diag", met_norm: str = "sum",
                 pooled_graph: str = "met", gate: str = "tanh"):
        self.filter_size = check_positive_int(filter_size, "filter_size")
        for value, options, label in ((structure, _PAN_STRUCTURES, "structure"), (met_norm, _PAN_NORMS, "met_norm"),
                                      (pooled_graph, _PAN_GRAPHS, "pooled_graph")):
            if value not in options:
                raise ValueError(f"{label} must be one of {options}, got {value!r}")
        self.structure, self.met_norm, self.pooled_graph = structure, met_norm, pooled_graph
        super().__init__(in_channels, ratio=ratio, k=k, gate=gate)

    def _init_scorer(self) -> None:
        self.weight = torch.nn.Parameter(torch.empty(self.in_channels))  # p
        self.beta = torch.nn.Parameter(torch.empty(2))
        self.energy = torch.nn.Parameter(torch.empty(self.filter_size + 1))  # E(n)/T

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.beta.fill_(0.5)
            self.energy.copy_(torch.arange(1, self.filter_size + 2, dtype=self.energy.dtype) * math.log(2.0))

    @property
    def path_weights(self) -> Tensor:
        """:math:`w_n = e^{-E(n)/T}`, ``n = 0 … L``."""
        return torch.exp(-self.energy)

    def met(self, edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None):
        """This pooler's MET matrix: ``(index, M, M̃, diag(M))`` (:func:`met_matrix`)."""
        return met_matrix(edge_index, num_nodes, self.path_weights, edge_weight, norm=self.met_norm)

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
               edge_weight: Optional[Tensor] = None, met=None, **kwargs) -> SelectOutput:
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but the pooler was built with in_channels={self.in_channels}")
        n = x.size(0)
        if met is None:
            index, _, m_norm, diag = self.met(edge_index, n, edge_weight)
        else:
            index, m_norm = met
            if index.dim() != 2 or index.size(0) != 2 or m_norm.shape != (index.size(1),):
                raise ValueError("met must be (index [2, nnz], value [nnz])")
            diag = None
        m_norm = m_norm.to(x.dtype)
        if self.structure == "diag":
            if diag is None:  # a given M~: read its diagonal
                on_diag = (index[0] == index[1]).nonzero().view(-1)
                diag = m_norm.new_zeros(n).index_add(0, index[0][on_diag], m_norm[on_diag])
            s = diag.to(x.dtype)
        else:
            s = x.new_zeros(n).index_add(0, index[1], m_norm)
        y = self.beta[0] * (x @ self.weight) + self.beta[1] * s
        kept = topk_select(y, batch, ratio=self.ratio, k=self.k)
        return SelectOutput(
            node_index=kept, cluster_index=torch.arange(kept.numel(), device=kept.device),
            weight=self._gate(y[kept]), num_nodes=n, num_clusters=kept.numel(), batch=batch,
            cluster_batch=None if batch is None else batch[kept], kept=kept,
            extra={"score": y, "structure": s, "met_index": index, "met_value": m_norm},
        )

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None, edge_attr=None):
        """``M̃_{i,i}`` (``pooled_graph="met"``) or ``A_{i,i}`` (``"induced"``)."""
        if self.pooled_graph == "met":
            ei, ew, _ = induced_subgraph(so.extra["met_index"], so.node_index, so.num_nodes, so.extra["met_value"])
            return ei, ew
        return super().connect(edge_index, so, edge_weight)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", filter_size={self.filter_size}, structure={self.structure!r}, "
                f"met_norm={self.met_norm!r}, pooled_graph={self.pooled_graph!r}")

    def check_input(self, g) -> None:
        if g.edge_attr is not None and self.pooled_graph == "met":
            raise ValueError("the pooled graph of PANPool is the MET matrix, whose edges are walks of up to "
                             "filter_size steps and carry no edge features; use pooled_graph='induced' to keep them")

    def pooled_edges(self, g, so: SelectOutput, x_pool: Tensor):
        if self.pooled_graph == "met":
            ei, ew = self.connect(g.edge_index, so)
            return ei, ew, None
        return super().pooled_edges(g, so, x_pool)


PANPooling = PANPool  # the old name, kept for one release
