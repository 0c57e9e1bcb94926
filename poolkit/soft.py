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
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .src import (
    Pooler,
    PoolingOutput,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    dense_connect,
    dense_lift,
    dense_reduce,
    register,
)

__all__ = [
    "DenseSoftPool", "DiffPool", "MinCutPool", "DMoNPool", "TVGNNPool", "GTVConv",
    "to_dense_inputs", "normalize_pooled_adj",
    "diffpool_losses", "mincut_losses", "dmon_losses", "tvgnn_losses", "LOSS_PARTS",
]

EPS = 1e-15

#: For each method, which loss is the topology term and which the quality term.
LOSS_PARTS = {
    "diffpool": {"topology": "link", "quality": "entropy"},
    "mincut": {"topology": "cut", "quality": "ortho"},
    "dmon": {"topology": "spectral", "quality": "cluster"},
    "tvgnn": {"topology": "tv", "quality": "balance"},
}


# --------------------------------------------------------------------------- helpers
def to_dense_inputs(
    x: Tensor,
    edge_index: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
    adj: Optional[Tensor] = None,
    mask: Optional[Tensor] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Return ``(x [B,N,F], adj [B,N,N], mask [B,N])`` from PyG input or a dense batch.

    PyG input: ``x [N,F]`` with ``edge_index`` (and ``batch``, ``edge_weight``). Dense input:
    ``x [B,N,F]`` (or ``[N,F]``) with ``adj [B,N,N]`` (or ``[N,N]``) and an optional
    ``mask``; a 3-D ``x`` may also get its adjacency as the second positional argument.
    """
    if isinstance(x, Tensor) and x.dim() == 3 and adj is None:
        adj, edge_index = edge_index, None
    if adj is not None:
        if not isinstance(x, Tensor) or x.dim() not in (2, 3):
            raise ValueError(f"x must have shape [B, N, F] or [N, F], got {getattr(x, 'shape', type(x))}")
        if x.dim() == 2:
            x = x.unsqueeze(0)
        if adj.dim() == 2:
            adj = adj.unsqueeze(0)
        b, n, _ = x.shape
        if adj.shape != (b, n, n):
            raise ValueError(f"adj must have shape [{b}, {n}, {n}] to match x {tuple(x.shape)}, got {tuple(adj.shape)}")
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
        elif mask.shape != (b, n):
            raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
        return x, adj.to(x.dtype), mask.bool()
    if edge_index is None:
        raise ValueError("give edge_index (PyG input) or adj (dense input)")
    check_graph_inputs(x, edge_index, batch, None, edge_weight)
    from torch_geometric.utils import to_dense_adj, to_dense_batch

    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    xd, mask = to_dense_batch(x, batch)
    w = None if edge_weight is None else edge_weight.to(x.dtype)
    a = to_dense_adj(edge_index, batch, edge_attr=w, max_num_nodes=xd.size(1), batch_size=xd.size(0))
    return xd, a.to(x.dtype), mask


def _masked(adj: Tensor, s: Tensor, mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Optional[Tensor], Tensor]:
    """Zero the padding rows of ``S``; return ``(adj, s, mask, n)`` with ``n`` nodes per graph.

    Padding rows and columns of ``adj`` must already be zero (``to_dense_adj`` makes them so).
    """
    if s.dim() == 2:
        s, adj = s.unsqueeze(0), adj.unsqueeze(0)
        mask = None if mask is None else mask.view(1, -1)
    if adj.shape != (s.size(0), s.size(1), s.size(1)):
        raise ValueError(f"adj must have shape [{s.size(0)}, {s.size(1)}, {s.size(1)}] to match s, got {tuple(adj.shape)}")
    if mask is None:
        return adj.to(s.dtype), s, None, s.new_full((s.size(0),), float(s.size(1)))
    if mask.shape != s.shape[:2]:
        raise ValueError(f"mask must have shape {list(s.shape[:2])}, got {tuple(mask.shape)}")
    m = mask.to(s.dtype)
    return adj.to(s.dtype), s * m.unsqueeze(-1), mask.bool(), m.sum(1)


def _pooled(adj: Tensor, s: Tensor, adj_pool: Optional[Tensor]) -> Tensor:
    """``Sᵀ A S`` (before any normalisation), reusing ``adj_pool`` when the caller has it."""
    if adj_pool is None:
        return s.transpose(1, 2) @ adj @ s
    return adj_pool if adj_pool.dim() == 3 else adj_pool.unsqueeze(0)


def _reduce(v: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return v.mean()
    if reduction == "none":
        return v
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _trace(m: Tensor) -> Tensor:
    return torch.diagonal(m, dim1=-2, dim2=-1).sum(-1)


def normalize_pooled_adj(adj: Tensor) -> Tensor:
    r"""Zero the diagonal of ``A'`` and return :math:`D'^{-1/2} A' D'^{-1/2}`."""
    k = adj.size(-1)
    adj = adj.masked_fill(torch.eye(k, dtype=torch.bool, device=adj.device), 0.0)
    d = adj.sum(-1)
    inv = d.clamp(min=EPS).rsqrt() * (d > 0)  # 0, not inf, for a supernode without edges
    return adj * (inv.unsqueeze(-1) * inv.unsqueeze(-2))


# --------------------------------------------------------------------------- losses
def diffpool_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                    adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""DiffPool: ``link`` :math:`= \|A - SS^\top\|_F / N^2` (the paper has no :math:`1/N^2`;
    it is PyG's normalisation, kept so the loss is comparable across sizes) and ``entropy``
    :math:`= \frac1N \sum_i -\sum_k S_{ik}\log S_{ik}`; both 0 at a hard ``S`` with
    :math:`A = SS^\top` (disjoint cliques with self-loops).

    The Frobenius norm is expanded as :math:`\|A - SS^\top\|_F^2 = \|A\|_F^2 -
    2\,\mathrm{Tr}(S^\top A S) + \|S^\top S\|_F^2`, which reuses the pooled :math:`S^\top A S`
    (``adj_pool``) and never forms the :math:`N \times N` matrix :math:`SS^\top`: one
    :math:`O(N^2K)` product fewer, forward and backward. Near the optimum the expansion
    loses digits (float32: an absolute error of about :math:`\sqrt{\epsilon}\,\|S^\top S\|_F / N^2`);
    it is exact at a hard ``S`` with a 0/1 ``A``."""
    adj, s, mask, n = _masked(adj, s, mask)
    n = n.clamp(min=1)
    ss = s.transpose(1, 2) @ s
    sq = adj.pow(2).sum((-1, -2)) - 2 * _trace(_pooled(adj, s, adj_pool)) + ss.pow(2).sum((-1, -2))
    link = torch.sqrt(sq.clamp(min=EPS)) * (sq > EPS) / n**2
    ent = (-s * torch.log(s + EPS)).sum(-1).sum(-1) / n
    return {"link": _reduce(link, reduction), "entropy": _reduce(ent, reduction)}


def mincut_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                  adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""MinCutPool: ``cut`` :math:`= -\mathrm{Tr}(S^\top A S)/\mathrm{Tr}(S^\top D S)` with ``A``
    as given (the paper writes it with :math:`\tilde A = D^{-1/2}AD^{-1/2}`; pass that for its
    weighting, see the module docstring) (−1 when
    no edge leaves a cluster; 0 for a graph without edges) and ``ortho``
    :math:`= \|S^\top S/\|S^\top S\|_F - I_K/\sqrt K\|_F` (0 for equal-size hard clusters)."""
    adj, s, mask, n = _masked(adj, s, mask)
    num = _trace(_pooled(adj, s, adj_pool))
    den = (adj.sum(-1).unsqueeze(-1) * s * s).sum((-1, -2))
    cut = -num / (den + EPS)
    ss = s.transpose(1, 2) @ s
    k = s.size(-1)
    eye = torch.eye(k, dtype=s.dtype, device=s.device) / k**0.5
    ortho = torch.linalg.matrix_norm(ss / (torch.linalg.matrix_norm(ss, keepdim=True) + EPS) - eye)
    return {"cut": _reduce(cut, reduction), "ortho": _reduce(ortho, reduction)}


def dmon_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""DMoN: ``spectral`` :math:`= -\frac{1}{2m}\mathrm{Tr}(S^\top B S)` with the modularity
    matrix :math:`B = A - dd^\top/2m` (minus the modularity of a hard partition; 0 without
    edges) and ``cluster`` :math:`= \frac{\sqrt K}{N}\|\sum_i S_i\|_2 - 1` (0 for equal-size
    clusters, :math:`\sqrt K - 1` when all nodes share one cluster), with each graph's own ``N``."""
    adj, s, mask, n = _masked(adj, s, mask)
    d = adj.sum(-1)
    two_m = d.sum(-1)
    sd = (s * d.unsqueeze(-1)).sum(1)  # [B, K] = S^T d
    tr = _trace(_pooled(adj, s, adj_pool)) - (sd * sd).sum(-1) / two_m.clamp(min=EPS)
    spectral = torch.where(two_m > 0, -tr / two_m.clamp(min=EPS), torch.zeros_like(tr))
    k = s.size(-1)
    cluster = torch.linalg.vector_norm(s.sum(1), dim=-1) * k**0.5 / n.clamp(min=1) - 1
    return {"spectral": _reduce(spectral, reduction), "cluster": _reduce(cluster, reduction)}


def tvgnn_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                 adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""TVGNN (asymmetric Cheeger cut): ``tv`` :math:`= \frac{1}{2E}\sum_{\{i,j\}} a_{ij}\|s_i-s_j\|_1`
    over the ``E`` undirected edges, each once (:math:`\frac{1}{4E}\sum_{i,j}` over ordered
    pairs; the code sums the ``2E`` stored directions and divides by ``2·2E``); in [0, 1] for
    0/1 edge weights and 0 when no edge crosses clusters; ``balance`` :math:`= 1 - \frac{1}{N\rho}\sum_k\|S_{:,k} -
    \mathrm{quant}_\rho(S_{:,k})\|_{1,\rho}` with :math:`\rho = K-1`, the asymmetric norm
    :math:`|x|_\rho = \rho x` for :math:`x \ge 0`, :math:`-x` otherwise, and
    :math:`\mathrm{quant}_\rho` the :math:`(\lfloor N/K\rfloor+1)`-th largest entry of the
    column; in [0, 1], 0 for equal-size hard clusters, 1 for a collapsed or uniform ``S``."""
    adj, s, mask, n = _masked(adj, s, mask)
    b, nmax, k = s.shape
    # Total variation over the non-zero entries of A only (O(E K) memory, not O(N^2 K)).
    g, i, j = adj.nonzero(as_tuple=True)
    w = adj[g, i, j]
    tv_e = w * (s[g, i] - s[g, j]).abs().sum(-1)
    tv = s.new_zeros(b).index_add_(0, g, tv_e)
    n_edges = torch.bincount(g, minlength=b).to(s.dtype)
    tv = tv / (2 * n_edges.clamp(min=1))
    if k == 1:
        balance = s.new_zeros(b)
    else:
        s_sort = s if mask is None else s.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        srt = torch.sort(s_sort, dim=1, descending=True).values
        idx = torch.minimum(torch.div(n, k, rounding_mode="floor"), (n - 1).clamp(min=0)).long()
        quant = srt.gather(1, idx.view(b, 1, 1).expand(b, 1, k))
        quant = torch.where(torch.isfinite(quant), quant, torch.zeros_like(quant))
        diff = s - quant
        asym = torch.where(diff >= 0, (k - 1) * diff, -diff)
        if mask is not None:
            asym = asym * mask.unsqueeze(-1).to(s.dtype)
        balance = 1 - asym.sum((-1, -2)) / (n.clamp(min=1) * (k - 1))
    return {"tv": _reduce(tv, reduction), "balance": _reduce(balance, reduction)}


# --------------------------------------------------------------------------- poolers
class DenseSoftPool(Pooler):
    r"""Shared Select / Reduce / Connect of the soft-clustering poolers.

    ``S = softmax(MLP(X))`` with an MLP ``in_channels → hidden_channels… → k`` (one linear
    layer when ``hidden_channels`` is ``None``). With ``assign="gnn"`` the same layer sizes
    are dense graph convolutions instead, ``S = softmax(GNN_pool(X, A))`` (DiffPool's
    pooling GNN; ReLU between layers, no activation before the softmax): the
    assignment of a node then depends on its neighbours directly, not only through the
    message passing done before the pooler. Call it with PyG input
    ``pool(x, edge_index, batch)`` or with a dense batch ``pool(x, adj, mask=mask)``; it
    returns a dense :class:`~poolkit.src.PoolingOutput` (``x [B,K,F]``, ``adj [B,K,K]``).
    A subclass may override :meth:`select`; it must return ``S`` with zero padding rows
    (Reduce, Connect and the losses rely on it). Padding rows and columns of a dense ``adj``
    must be zero.
    """

    is_dense = True
    is_trainable = True
    has_aux_loss = True
    normalize_adj: bool = True
    loss_fn = None  # set by each subclass

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "k": k}

    def __init__(
        self,
        in_channels: int,
        k: int,
        hidden_channels: Union[None, int, Sequence[int]] = None,
        dropout: float = 0.0,
        assign: str = "mlp",
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.k = check_positive_int(k, "k")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        if assign not in ("mlp", "gnn"):
            raise ValueError(f"assign must be 'mlp' or 'gnn', got {assign!r}")
        self.dropout, self.assign = float(dropout), assign
        hidden = [] if hidden_channels is None else (
            [hidden_channels] if isinstance(hidden_channels, int) else list(hidden_channels))
        sizes = [self.in_channels] + [check_positive_int(h, "hidden_channels") for h in hidden] + [self.k]
        if assign == "gnn":
            from torch_geometric.nn import DenseGCNConv

            self.mlp = torch.nn.ModuleList(DenseGCNConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        else:
            layers = []
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            self.mlp = torch.nn.Sequential(*layers[:-1])

    def assignment_logits(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None) -> Tensor:
        """``MLP(X)`` or, with ``assign="gnn"``, ``GNN_pool(X, A)``: ``[B, N, K]`` logits."""
        if self.assign == "mlp":
            return self.mlp(x)
        if adj is None:
            raise ValueError("assign='gnn' needs the adjacency: call the pooler with edge_index or adj")
        for i, conv in enumerate(self.mlp):
            x = conv(x, adj, mask)
            if i < len(self.mlp) - 1:
                x = torch.relu(x)
        return x

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    # ---- SRC ------------------------------------------------------------------------
    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        """``S = softmax(MLP(X))`` (or ``softmax(GNN_pool(X, A))``) for a dense batch ``x [B,N,F]``; padding rows are zero."""
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but in_channels={self.in_channels}")
        logits = F.dropout(self.assignment_logits(x, adj, mask), self.dropout, self.training)
        s = torch.softmax(logits, dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return dense_reduce(x, so.s)  # padding rows of S are zero

    def connect(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Tensor:
        """``A' = Sᵀ A S`` (``adj_pool`` when already computed), normalised if the method does."""
        out = dense_connect(adj, so.s) if adj_pool is None else adj_pool
        return normalize_pooled_adj(out) if self.normalize_adj else out

    def lift(self, x_pool: Tensor, so: SelectOutput) -> Tensor:
        return dense_lift(x_pool, so.s, so.mask)

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The method's auxiliary losses (``adj_pool``: the raw ``Sᵀ A S``, to reuse it)."""
        return type(self).loss_fn(adj, so.s, so.mask, adj_pool=adj_pool)

    def forward(
        self,
        x: Tensor,
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        adj: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
        **kwargs,
    ) -> PoolingOutput:
        x, adj, mask = to_dense_inputs(x, edge_index, batch, edge_weight, adj, mask)
        so = self.select(x, adj=adj, mask=mask, **kwargs)
        b, k = so.s.size(0), so.s.size(-1)
        raw = dense_connect(adj, so.s)  # Sᵀ A S once, for Connect and the losses
        return PoolingOutput(
            x=self.reduce(self.embed(x, adj, mask), so),
            so=so,
            adj=self.connect(adj, so, adj_pool=raw),
            mask=torch.ones(b, k, dtype=torch.bool, device=x.device),
            losses=self.losses(adj, so, adj_pool=raw),
        )

    def embed(self, x: Tensor, adj: Tensor, mask: Optional[Tensor]) -> Tensor:
        """The features that Reduce pools, ``X' = Sᵀ Z``: ``Z = X`` unless a subclass adds
        an embedding GNN (DiffPool with ``embed=True``)."""
        return x

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, k={self.k}, assign={self.assign!r}"


@register("diffpool")
class DiffPool(DenseSoftPool):
    r"""DiffPool (Ying et al. 2018): :math:`X' = S^\top Z`, :math:`A' = S^\top A S` (no
    normalisation); losses ``link`` and ``entropy`` (:func:`diffpool_losses`).

    The paper runs two GNNs on the same input, an *embedding* GNN
    :math:`Z = \mathrm{GNN}_\text{embed}(X, A)` and a *pooling* GNN
    :math:`S = \mathrm{softmax}(\mathrm{GNN}_\text{pool}(X, A))`. ``DiffPool(..., assign="gnn",
    embed=True)`` is that two-GNN form (one dense GCN layer ``in_channels → in_channels``
    with ReLU for the embedding GNN, dense GCN layers for the pooling GNN). The default
    (``assign="mlp"``, ``embed=False``) shares the message-passing layers before the pooler
    for both roles: ``Z = X`` and ``S = softmax(MLP(X))``, as MinCutPool and DMoN do. That
    keeps every soft pooler of :mod:`poolkit.soft` a drop-in replacement of the others
    and costs one dense convolution less per level.
    """

    normalize_adj = False
    loss_fn = staticmethod(diffpool_losses)

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0,
                 assign: str = "mlp", embed: bool = False):
        super().__init__(in_channels, k, hidden_channels, dropout, assign)
        self.gnn_embed = None
        if embed:
            from torch_geometric.nn import DenseGCNConv

            self.gnn_embed = DenseGCNConv(self.in_channels, self.in_channels)

    def embed(self, x: Tensor, adj: Tensor, mask: Optional[Tensor]) -> Tensor:
        if self.gnn_embed is None:
            return x
        z = torch.relu(self.gnn_embed(x, adj, mask))
        return z if mask is None else z * mask.unsqueeze(-1).to(z.dtype)


@register("mincut")
class MinCutPool(DenseSoftPool):
    r"""MinCutPool (Bianchi et al. 2020): :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}`; losses ``cut`` and ``ortho``
    (:func:`mincut_losses`)."""

    loss_fn = staticmethod(mincut_losses)


@register("dmon")
class DMoNPool(DenseSoftPool):
    r"""DMoN (Tsitsulin et al. 2023): :math:`X' = \mathrm{SELU}(S^\top X)`, ``A'`` as MinCut;
    losses ``spectral`` (minus modularity) and ``cluster`` (:func:`dmon_losses`)."""

    loss_fn = staticmethod(dmon_losses)

    def reduce(self, x: Tensor, so: SelectOutput) -> Tensor:
        return F.selu(dense_reduce(x, so.s))


class GTVConv(torch.nn.Module):
    r"""Graph total-variation convolution, the message-passing layer of TVGNN (Hansen and
    Bianchi 2023).

    .. math::  \bar X = X\Theta,\qquad
               \gamma_{ij} = \frac{a_{ij}}{\max(\|\bar x_i - \bar x_j\|_1, \varepsilon)},\qquad
               X' = \sigma\big((I - \delta L_\Gamma)\bar X\big),\quad L_\Gamma = D_\Gamma - \Gamma .

    A GCN smooths with fixed edge weights; here an edge's weight shrinks as the features at
    its two ends differ, so one step is a (sub)gradient step on the total variation
    :math:`\sum_{ij} a_{ij}\|\bar x_i - \bar x_j\|_1` rather than on the quadratic
    :math:`\sum_{ij} a_{ij}\|\bar x_i - \bar x_j\|^2`: neighbours with similar features
    are pulled together hard, a jump across a weak edge is kept. Features become piecewise
    constant, which is what lets the pooler after it produce *sharp* (near one-hot)
    assignments. ``forward(x, edge_index, edge_weight=None)`` (PyG layout; a symmetric
    ``edge_index`` with both directions); ``act`` is applied unless it is ``None``.
    """

    def __init__(self, in_channels: int, out_channels: int, delta: float = 0.3, eps: float = 1e-3,
                 act: Optional[str] = "elu"):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        if not (isinstance(delta, (int, float)) and delta > 0):
            raise ValueError(f"delta must be a number > 0, got {delta!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be a number > 0, got {eps!r}")
        if act not in (None, "elu", "relu"):
            raise ValueError(f"act must be None, 'elu' or 'relu', got {act!r}")
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
        self.delta, self.eps, self.act = float(delta), float(eps), act

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        check_graph_inputs(x, edge_index, None, None, edge_weight)
        h = self.lin(x)
        src, dst = edge_index
        w = h.new_ones(src.numel()) if edge_weight is None else edge_weight.to(h.dtype)
        diff = h[dst] - h[src]  # message j -> i along edge (src=j, dst=i)
        gamma = w / diff.abs().sum(-1).clamp(min=self.eps)
        # (L_Γ h)_i = Σ_j γ_ij (h_i - h_j)
        lap = h.new_zeros(h.shape).index_add_(0, dst, gamma.unsqueeze(-1) * diff)
        out = h - self.delta * lap
        if self.act == "elu":
            return F.elu(out)
        return torch.relu(out) if self.act == "relu" else out

    def extra_repr(self) -> str:
        return f"{self.lin.in_features}, {self.lin.out_features}, delta={self.delta}, eps={self.eps}"


@register("tvgnn")
class TVGNNPool(DenseSoftPool):
    r"""TVGNN's asymmetric Cheeger cut pooling (Hansen & Bianchi 2023): ``X'``, ``A'`` as
    MinCut; losses ``tv`` (graph total variation of ``S``) and ``balance`` (asymmetric
    ℓ1 norm around the :math:`\rho`-quantile) (:func:`tvgnn_losses`). The paper's model
    puts :class:`GTVConv` layers before it; build them into the backbone to reproduce it."""

    loss_fn = staticmethod(tvgnn_losses)


# --------------------------------------------------------------------------- Just Balance
def just_balance_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                        adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
    r"""Just Balance: ``balance`` :math:`= -\frac{1}{\sqrt{NK}}\,\mathrm{Tr}\big(\sqrt{S^\top S}\big)`.

    The square root is taken entry by entry, as in the paper's reference code, so the trace
    is :math:`\sum_k \|S_{:,k}\|_2`, the sum of the column norms (for a hard ``S`` the
    matrix :math:`S^\top S` is diagonal and both readings coincide). By Cauchy-Schwarz,
    :math:`\sum_k \|S_{:,k}\|_2 \le \sqrt{K \sum_{ik} S_{ik}^2} \le \sqrt{KN}`, so the loss
    lies in :math:`[-1, 0)` and reaches :math:`-1` exactly at a hard partition into ``K``
    clusters of equal size; a collapsed ``S`` (all nodes in one cluster) gives
    :math:`-1/\sqrt K`. There is no topology term: the graph enters only through the
    message passing that computes ``S``. ``adj`` is accepted (and ignored) so that every
    loss function of this module has the same signature.
    """
    adj, s, mask, n = _masked(adj, s, mask)
    k = s.size(-1)
    col = torch.sqrt((s * s).sum(1) + EPS)  # [B, K]: ||S_{:,k}||_2
    balance = -col.sum(-1) / torch.sqrt(n.clamp(min=1) * k)
    return {"balance": _reduce(balance, reduction)}


@register("just_balance")
class JustBalancePool(DenseSoftPool):
    r"""Just Balance pooling (Bianchi, "Simplifying Clustering with Graph Neural Networks",
    NLDL 2023): ``S = softmax(MLP(X))``, :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}` (as MinCut), and a single
    auxiliary loss, the balance term of :func:`just_balance_losses`,

    .. math::  \mathcal{L}_B = -\frac{\mathrm{Tr}\big(\sqrt{S^\top S}\big)}{\sqrt{NK}} .

    The paper's point is that the topology term of MinCut (or DMoN) can be dropped: a GNN
    whose message passing already smooths the features over the graph (the paper uses the
    propagation :math:`I - \delta(I - D^{-1/2} A D^{-1/2})`) produces assignments that
    follow the communities, and only the balance term is needed to stop ``S`` collapsing.
    With the same ``S`` the loss, pooled features and pooled adjacency equal tgp's
    ``JustBalancePooling`` (``tests/test_just_balance.py``).
    """

    loss_fn = staticmethod(just_balance_losses)


# --------------------------------------------------------------------------- BN-Pool
__all__ += ["JustBalancePool", "just_balance_losses", "BNPool", "stick_breaking", "bnpool_losses"]


def stick_breaking(v: Tensor) -> Tensor:
    r"""Memberships from stick fractions: :math:`\pi_k = v_k \prod_{j<k}(1 - v_j)` for
    :math:`k < K` and :math:`\pi_K = \prod_{j<K}(1 - v_j)` (``v`` ``[..., K-1]`` in (0, 1) →
    ``π`` ``[..., K]``, rows summing to 1). Computed with logarithms, so long sticks do not
    underflow."""
    log_rest = torch.cumsum(torch.log1p(-v), dim=-1)  # log prod_{j<=k} (1 - v_j)
    head = torch.log(v) + F.pad(log_rest[..., :-1], (1, 0))
    return torch.exp(torch.cat([head, log_rest[..., -1:]], dim=-1))


def bnpool_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor], q_alpha: Tensor, q_beta: Tensor,
                  k_matrix: Tensor, alpha_dp: float = 1.0, k_mu: Optional[Tensor] = None, k_var: float = 1.0,
                  reduction: str = "mean") -> Dict[str, Tensor]:
    r"""The three terms of BN-Pool's negative evidence lower bound, each divided by the
    graph's :math:`N^2` and averaged over graphs.

    * ``rec``: the link reconstruction of a stochastic block model with block logits
      :math:`K`: :math:`\sum_{ij} w_{ij}\,\mathrm{BCE}\big(\sigma((S K S^\top)_{ij}), a_{ij}\big)`,
      the positive pairs weighted by :math:`w = (N^2 - E)/E` (``E`` the non-zeros of ``A``)
      so that edges and non-edges count alike in a sparse graph;
    * ``kl``: :math:`\sum_i\sum_{k<K} \mathrm{KL}\big(\mathrm{Beta}(\alpha_{ik}, \beta_{ik})
      \,\|\, \mathrm{Beta}(1, \alpha_{\mathrm{DP}})\big)`, the distance of the posterior
      stick fractions from the Dirichlet-process prior (a small :math:`\alpha_{\mathrm{DP}}`
      favours few clusters);
    * ``k_prior``: :math:`\frac{1}{2\sigma^2}\|K - K_\mu\|_F^2`, the Gaussian prior of the
      block logits (:math:`K_\mu = \mu(2I - \mathbf 1\mathbf 1^\top)`: dense blocks, sparse
      links between them).
    """
    from torch.distributions import Beta, kl_divergence

    adj, s, mask, n = _masked(adj, s, mask)
    n2 = n.clamp(min=1) ** 2
    logits = s @ k_matrix @ s.transpose(1, 2)
    target = (adj > 0).to(s.dtype)
    if mask is not None:
        pair = (mask.unsqueeze(-1) & mask.unsqueeze(-2)).to(s.dtype)
    else:
        pair = torch.ones_like(target)
    e = (target * pair).sum((-1, -2))
    pos_w = (n2 - e).clamp(min=1) / e.clamp(min=1)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    w = 1 + target * (pos_w.view(-1, 1, 1) - 1)
    rec = (bce * w * pair).sum((-1, -2)) / n2
    prior = Beta(torch.ones_like(q_alpha), torch.full_like(q_beta, float(alpha_dp)))
    kl = kl_divergence(Beta(q_alpha, q_beta), prior).sum(-1)
    if mask is not None:
        kl = kl * mask.to(kl.dtype)
    kl = kl.sum(-1) / n2
    if k_mu is None:
        k_mu = torch.zeros_like(k_matrix)
    k_prior = (0.5 * (k_matrix - k_mu) ** 2 / k_var).sum() / n2
    return {"rec": _reduce(rec, reduction), "kl": _reduce(kl, reduction), "k_prior": _reduce(k_prior, reduction)}


@register("bnpool")
class BNPool(DenseSoftPool):
    r"""BN-Pool (Castellana and Bianchi, "BN-Pool: a Bayesian Nonparametric Approach to Graph
    Pooling", 2025): soft clustering whose number of clusters is *learned per graph*.

    ``S`` comes from a truncated stick-breaking construction of a Dirichlet process: an MLP
    gives every node the parameters of ``K-1`` Beta posteriors, the stick fractions are
    drawn from them and broken into memberships,

    .. math::  (\alpha_i, \beta_i) = \mathrm{clamp}(\mathrm{softplus}(\mathrm{MLP}(x_i))),\qquad
               v_{ik} \sim \mathrm{Beta}(\alpha_{ik}, \beta_{ik}),\qquad
               S_{ik} = \pi_{ik} = v_{ik} \prod_{j<k} (1 - v_{ij})

    (:func:`stick_breaking`; reparametrised samples while training, the posterior mean
    :math:`\alpha/(\alpha+\beta)` in ``eval()`` mode so inference is deterministic).
    Reduce and Connect are MinCut's: :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}`. The auxiliary loss is the
    negative ELBO of a stochastic block model on ``A`` with learned block logits ``K``
    (``rec``, ``kl``, ``k_prior``, see :func:`bnpool_losses`). The Dirichlet-process prior
    makes later sticks expensive, so a graph uses only as many clusters as its structure
    pays for: ``out.mask`` (and ``out.so.cluster_mask``) marks, per graph, the clusters that
    are the largest membership of at least one node; the others are empty in all but a
    soft sense. This per-graph cluster count is what GMPool's chapter compares against.

    Args:
        in_channels, k, hidden_channels, dropout: as :class:`DenseSoftPool` (``k``: the
            truncation, the largest number of clusters; the MLP has ``2(k-1)`` outputs).
        alpha_dp: concentration of the DP prior (larger: more clusters).
        k_mu, k_var: mean scale :math:`\mu` and variance :math:`\sigma^2` of the prior of ``K``.
        k_init: initial ``K = k_init (2I - 11ᵀ)``.
        train_k: learn ``K`` (else it stays at its initial value and ``k_prior`` is 0).

    **Difference from tgp's ``BNPool``**, which this equals otherwise (same ``S``, pooled
    graph and ``rec`` and ``kl`` losses for the same draw, ``tests/test_bnpool.py``): tgp
    divides the ``K`` prior, a term shared by the whole batch, by the batch size before
    averaging the per-graph values, so its ``K_prior`` shrinks as batches grow; here each
    graph carries the prior over its own :math:`N^2` like the other terms, so the loss does
    not depend on the batch size (equal for a single graph). tgp also samples in eval mode.
    """

    loss_fn = None

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "k": max(k, 2)}

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0,
                 alpha_dp: float = 1.0, k_mu: float = 10.0, k_var: float = 1.0, k_init: float = 1.0,
                 train_k: bool = True):
        if isinstance(k, int) and not isinstance(k, bool) and k < 2:
            raise ValueError(f"k must be an integer >= 2 (the truncation of the stick-breaking), got {k!r}")
        for name, val in (("alpha_dp", alpha_dp), ("k_var", k_var)):
            if not isinstance(val, (int, float)) or isinstance(val, bool) or not val > 0:
                raise ValueError(f"{name} must be a positive number, got {val!r}")
        k = check_positive_int(k, "k")
        super().__init__(in_channels, 2 * (k - 1), hidden_channels, dropout)
        self.k = k  # the MLP above has 2(k-1) outputs; S has k columns
        self.alpha_dp, self.k_var, self.k_init_value, self.train_k = float(alpha_dp), float(k_var), float(k_init), bool(train_k)
        sign = 2 * torch.eye(k) - 1
        self.register_buffer("k_mu", float(k_mu) * sign)
        self.K = torch.nn.Parameter(float(k_init) * sign.clone(), requires_grad=self.train_k)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            self.K.copy_(self.k_init_value * (2 * torch.eye(self.k, device=self.K.device) - 1))

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        from torch.distributions import Beta

        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} features but in_channels={self.in_channels}")
        out = F.dropout(self.mlp(x), self.dropout, self.training)
        out = torch.clamp(F.softplus(out), min=1e-3, max=1e3)
        qa, qb = out[..., : self.k - 1], out[..., self.k - 1:]
        v = Beta(qa, qb).rsample() if self.training else qa / (qa + qb)
        s = stick_breaking(v)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        b, n, k = s.shape
        m = torch.ones(b, n, dtype=torch.bool, device=s.device) if mask is None else mask
        used = F.one_hot(s.argmax(-1), k).bool() & m.unsqueeze(-1)
        so = SelectOutput.from_dense(s, mask, cluster_mask=used.any(1))
        so.extra.update(q_alpha=qa, q_beta=qb)
        return so

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        out = bnpool_losses(adj, so.s, so.mask, so.extra["q_alpha"], so.extra["q_beta"], self.K,
                            self.alpha_dp, self.k_mu, self.k_var)
        if not self.train_k:
            out["k_prior"] = torch.zeros_like(out["k_prior"])
        return out

    def forward(self, x, edge_index=None, batch=None, edge_attr=None, edge_weight=None, adj=None, mask=None, **kwargs):
        out = super().forward(x, edge_index, batch, edge_attr, edge_weight, adj, mask, **kwargs)
        out.mask = out.so.cluster_mask
        return out


# --------------------------------------------------------------------------- HOSC
__all__ += ["HOSCPool", "hosc_losses", "triangle_motif_adjacency"]


def triangle_motif_adjacency(adj: Tensor) -> Tensor:
    r"""The triangle-motif adjacency :math:`A_M = (A A) \odot A` of a dense ``adj`` (``[N, N]``
    or ``[B, N, N]``): :math:`(A_M)_{ij}` is the number of triangles that contain the edge
    :math:`\{i, j\}` (weighted: :math:`a_{ij}\sum_l a_{il}a_{lj}`). It is zero wherever
    ``adj`` is, so an edge that closes no triangle has no weight, and a triangle-free graph
    (a tree, a grid, a bipartite graph) has :math:`A_M = 0`. Its degree
    :math:`(D_M)_{ii} = \sum_j (A_M)_{ij}` is twice the number of triangles at node ``i``.
    The self-loops of ``adj`` are ignored (a loop would count as a triangle)."""
    if adj.dim() not in (2, 3) or adj.size(-1) != adj.size(-2):
        raise ValueError(f"adj must be [N, N] or [B, N, N], got {tuple(adj.shape)}")
    eye = torch.eye(adj.size(-1), dtype=torch.bool, device=adj.device)
    a = adj.masked_fill(eye, 0.0)
    return (a @ a) * a


def _check_alpha(alpha) -> float:
    """HOSC's weight of the motif cut as a float, or ``ValueError`` outside [0, 1]."""
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def hosc_losses(adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, reduction: str = "mean",
                adj_pool: Optional[Tensor] = None, alpha: float = 0.5) -> Dict[str, Tensor]:
    r"""HOSC: ``cut`` :math:`= (1-\alpha)\,\mathcal{L}_1 + \alpha\,\mathcal{L}_M`, the MinCut
    cut of ``A`` and of its triangle-motif adjacency :math:`A_M`
    (:func:`triangle_motif_adjacency`),

    .. math::  \mathcal{L}_1 = -\frac{\mathrm{Tr}(S^\top A S)}{\mathrm{Tr}(S^\top D S)},\qquad
               \mathcal{L}_M = -\frac{\mathrm{Tr}(S^\top A_M S)}{\mathrm{Tr}(S^\top D_M S)},

    and ``ortho``, MinCut's :math:`\|S^\top S/\|S^\top S\|_F - I_K/\sqrt K\|_F`. Both cuts lie
    in :math:`[-1, 0]`; :math:`\mathcal{L}_M = -1` when no triangle is split between clusters,
    and 0 for a graph without triangles, whose ``cut`` is then :math:`(1-\alpha)\mathcal{L}_1`.
    Every value of the dict is a loss to add, so the two cuts come combined; for either part
    alone call :func:`mincut_losses` on ``A`` or on :math:`A_M`.
    """
    alpha = _check_alpha(alpha)
    first = mincut_losses(adj, s, mask, "none", adj_pool)
    motif = mincut_losses(triangle_motif_adjacency(adj), s, mask, "none")["cut"]
    cut = (1 - alpha) * first["cut"] + alpha * motif
    return {"cut": _reduce(cut, reduction), "ortho": _reduce(first["ortho"], reduction)}


@register("hosc")
class HOSCPool(DenseSoftPool):
    r"""HOSC, higher-order spectral clustering pooling (Duval and Malliaros, "Higher-order
    Clustering and Pooling for Graph Neural Networks", CIKM 2022): MinCutPool whose cut
    also counts *triangles*. ``S = softmax(MLP(X))``, :math:`X' = S^\top X`,
    :math:`A' = D'^{-1/2}(S^\top A S - \mathrm{diag})D'^{-1/2}` (as MinCut), and the losses of
    :func:`hosc_losses`: the cut :math:`(1-\alpha)\mathcal{L}_1 + \alpha\mathcal{L}_M` of the
    edges and of the triangle motifs, plus MinCut's orthogonality term. With
    :math:`\alpha = 0` it is MinCutPool; with :math:`\alpha = 1` only the triangles count, so
    clusters follow the densely knit regions and an edge that closes no triangle (a bridge
    between communities) costs nothing to cut.

    The motif adjacency is the triangle one of Benson, Gleich and Leskovec (Science 2016),
    :math:`A_M = (AA) \odot A`, which the paper builds on. **Difference from tgp's
    ``HOSCPooling``:** tgp uses :math:`A^3` (walks of length three) as the motif adjacency,
    which is non-zero on triangle-free graphs and between nodes that share no edge, and it
    scales both cuts by :math:`1/K`; with :math:`\alpha = 0` the two agree up to that factor
    (``tests/test_hosc.py``). tgp 1.0.2's dense forward also hands its loss the pooled
    adjacency after removing its diagonal, so its first-order cut is 0 there; the test
    compares with tgp's loss on the raw :math:`S^\top A S`. The dense :math:`AA` product
    costs :math:`O(N^3)` per graph, as tgp's :math:`A^3`.

    Args:
        in_channels, k, hidden_channels, dropout, assign: as :class:`DenseSoftPool`.
        alpha: weight of the motif cut, in [0, 1] (default 0.5).
    """

    def __init__(self, in_channels: int, k: int, hidden_channels=None, dropout: float = 0.0, assign: str = "mlp",
                 alpha: float = 0.5):
        alpha = _check_alpha(alpha)
        super().__init__(in_channels, k, hidden_channels, dropout, assign)
        self.alpha = alpha

    def losses(self, adj: Tensor, so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        return hosc_losses(adj, so.s, so.mask, adj_pool=adj_pool, alpha=self.alpha)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", alpha={self.alpha}"
