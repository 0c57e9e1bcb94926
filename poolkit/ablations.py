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

``ComplementGraclus(complement=False)`` is the same pooler clustering the original graph
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
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import to_dense_adj, to_dense_batch

from .src import (
    Pooler,
    PoolingOutput,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    dense_connect,
    dense_reduce,
    register,
    sparse_connect,
)

__all__ = [
    "complement_graph",
    "ComplementGraclus",
    "RandomDiffPool",
    "RandomMinCut",
    "MemoryPool",
    "MemoryDistancePool",
    "MemoryRandomPool",
    "random_matrix",
    "feature_variance",
    "dirichlet_energy",
]

DISTRIBUTIONS = ("uniform", "normal", "bernoulli")


# --------------------------------------------------------------------------- complement graph
def complement_graph(edge_index: Tensor, num_nodes: int, batch: Optional[Tensor] = None) -> Tensor:
    r"""The complement of every graph in a batch: ``(i, j)`` is an edge iff ``i != j``, both
    belong to the same graph and ``(i, j)`` is not in ``edge_index``.

    Exact (it enumerates the pairs of each graph, ``Σ_g n_g²`` work), with no self-loops
    and never an edge between two graphs. For an undirected ``edge_index`` (both directions
    listed, as in PyG) the result is undirected too. Returns a ``[2, E']`` long tensor
    sorted by source, then target.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 0:
        raise ValueError(f"num_nodes must be an integer >= 0, got {num_nodes!r}")
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"edge_index must have shape [2, num_edges], got {shape}")
    dev = edge_index.device
    edge_index = edge_index.long()
    if edge_index.numel() > 0 and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds node indices outside [0, {num_nodes})")
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=dev)
    else:
        batch = batch.long().view(-1)
        if batch.numel() != num_nodes:
            raise ValueError(f"batch must have shape [{num_nodes}] (one graph id per node), got {tuple(batch.shape)}")
        if num_nodes > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted (nodes of one graph stored together), as PyG does")
    if num_nodes == 0:
        return torch.empty(2, 0, dtype=torch.long, device=dev)
    if edge_index.numel() > 0 and bool((batch[edge_index[0]] != batch[edge_index[1]]).any()):
        raise ValueError("edge_index connects nodes of different graphs (check batch)")
    counts = torch.bincount(batch)
    ptr = torch.cumsum(counts, 0) - counts
    nmax = int(counts.max())
    local = torch.arange(num_nodes, device=dev) - ptr[batch]
    adj = torch.zeros(counts.numel(), nmax, nmax, dtype=torch.bool, device=dev)
    if edge_index.numel() > 0:
        adj[batch[edge_index[0]], local[edge_index[0]], local[edge_index[1]]] = True
    real = torch.arange(nmax, device=dev).unsqueeze(0) < counts.unsqueeze(1)  # [B, nmax]
    eye = torch.eye(nmax, dtype=torch.bool, device=dev).unsqueeze(0)
    comp = real.unsqueeze(2) & real.unsqueeze(1) & ~adj & ~eye
    g, i, j = comp.nonzero(as_tuple=True)
    return torch.stack([i + ptr[g], j + ptr[g]])


def _graclus(edge_index, num_nodes, edge_weight=None, batch=None, seed=None) -> Tensor:
    from .one_over_k import graclus_cluster  # the Graclus of chapter 3

    return graclus_cluster(edge_index, num_nodes, edge_weight=edge_weight, batch=batch, seed=seed)


@register("complement_graclus")
class ComplementGraclus(Pooler):
    r"""Graclus on the complement graph, max-pooling and connect on the original graph.

    Args:
        complement: cluster the complement graph (``True``, the COMPLEMENT model) or the
            graph itself (``False``, the GRACLUS baseline with the same reduce and connect).
        binary_edges: give every pooled edge weight 1 (``A'_kl = 1`` iff clusters ``k`` and
            ``l`` are joined by an edge, as the paper states); ``False`` keeps the counts of
            ``Sᵀ A S``.
        seed: how Graclus breaks ties between equally good edges. ``None``: by node index, so
            a graph always gets the same clusters; an ``int``: by a random node order drawn
            from it, fixed for the pooler's life; ``"per_pass"``: by a fresh random order at
            every forward pass, drawn from torch's global generator (``torch.manual_seed``
            makes a run repeatable). PyG's ``graclus``, which the paper used, visits nodes in
            a new random order at every call, so ``"per_pass"`` is the paper's behaviour. Its
            clusters change from pass to pass, so it cannot be precomputed.
    """

    is_precomputable = True
    reduce_op = "max"

    def __init__(self, complement: bool = True, binary_edges: bool = True, seed=None):
        super().__init__()
        if not (seed is None or seed == "per_pass" or (isinstance(seed, int) and not isinstance(seed, bool))):
            raise ValueError(f"seed must be None, an int or 'per_pass', got {seed!r}")
        self.complement = bool(complement)
        self.binary_edges = bool(binary_edges)
        self.seed = seed
        if seed == "per_pass":
            self.is_precomputable = False

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, edge_weight=None, **kwargs) -> SelectOutput:
        n = x.size(0)
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        if self.complement:
            ei, ew = complement_graph(edge_index, n, batch), None
        else:
            ei, ew = edge_index, edge_weight
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,))) if self.seed == "per_pass" else self.seed
        cluster = _graclus(ei, n, edge_weight=ew, batch=batch, seed=seed).long().view(-1)
        if cluster.numel() != n:
            raise RuntimeError(f"graclus_cluster returned {cluster.numel()} labels for {n} nodes")
        # Consecutive ids ordered by graph, so the pooled batch vector is sorted as PyG needs.
        key = batch * (int(cluster.max()) + 1 if n else 1) + cluster
        _, cluster = torch.unique(key, return_inverse=True)
        return SelectOutput.from_cluster_index(cluster, batch=batch)

    def connect(self, edge_index: Tensor, so: SelectOutput, edge_weight: Optional[Tensor] = None):
        ei, ew = sparse_connect(edge_index, so, edge_weight)
        if self.binary_edges:
            ew = torch.ones_like(ew)
        return ei, ew

    def extra_repr(self) -> str:
        return f"complement={self.complement}, binary_edges={self.binary_edges}, seed={self.seed!r}"


# --------------------------------------------------------------------------- dense helpers
def _dense_inputs(x, edge_index, batch, edge_weight, adj, mask) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """Bring PyG input (``x`` [N, F]) or a dense batch (``x`` [B, N, F]) to ``(x, adj, mask)``."""
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 2:
        check_graph_inputs(x, edge_index, batch, None, edge_weight)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        xd, mask = to_dense_batch(x, batch)
        adj = None
        if edge_index is not None:
            adj = to_dense_adj(edge_index, batch, edge_weight, max_num_nodes=xd.size(1))
            if adj.size(0) < xd.size(0):  # trailing graphs without edges
                pad = adj.new_zeros(xd.size(0) - adj.size(0), xd.size(1), xd.size(1))
                adj = torch.cat([adj, pad])
        return xd, adj, mask
    if x.dim() != 3:
        raise ValueError(f"x must have shape [num_nodes, F] or [B, N, F], got {tuple(x.shape)}")
    b, n, _ = x.shape
    if adj is not None and adj.shape != (b, n, n):
        raise ValueError(f"adj must have shape [{b}, {n}, {n}], got {tuple(adj.shape)}")
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
    elif mask.shape != (b, n):
        raise ValueError(f"mask must have shape [{b}, {n}], got {tuple(mask.shape)}")
    return x, adj, mask.bool()


def random_matrix(shape, distribution: str = "uniform", generator: Optional[torch.Generator] = None,
                  low: float = 0.0, high: float = 1.0, mean: float = 0.0, std: float = 1.0, p: float = 0.3) -> Tensor:
    r"""A matrix with i.i.d. entries from :math:`\mathcal U(low, high)`, :math:`\mathcal N(mean, std^2)`
    or :math:`\mathcal B(p)` (the three distributions of the paper's Eq. 6)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if distribution == "uniform":
        if not high > low:
            raise ValueError(f"high must be larger than low, got low={low}, high={high}")
        return low + (high - low) * torch.rand(shape, generator=generator)
    if distribution == "normal":
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std}")
        return mean + std * torch.randn(shape, generator=generator)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return torch.bernoulli(torch.full(shape, float(p)), generator=generator)


def _generator(seed: Optional[int]) -> Optional[torch.Generator]:
    return None if seed is None else torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------------------- random assignments
@register("random_diffpool")
class RandomDiffPool(Pooler):
    r"""DiffPool with a fixed random assignment, ``S = softmax(S̃)`` (never trained).

    Args:
        k: number of supernodes.
        max_nodes: rows of ``S̃`` (the largest graph it can pool); needed unless ``invariant``.
        in_channels: feature size, needed when ``invariant`` (``S = softmax(X W)``, ``W`` is
            ``[in_channels, k]``).
        distribution: ``"uniform"`` (``U(low, high)``), ``"normal"`` (``N(mean, std²)``) or
            ``"bernoulli"`` (``B(p)``).
        invariant: use ``S = softmax(X W)`` with a fixed random ``W`` (permutation invariant).
        seed: seed of the random matrix (``None``: torch's global generator).
        with_losses: also return the auxiliary losses of the pooler it replaces (DiffPool's
            ``link`` and ``entropy``, MinCut's ``cut`` and ``ortho``) to compare them with a
            learned ``S``; off by default because the paper trains without them.

    Accepts PyG input ``(x, edge_index, batch)`` or a dense batch ``(x [B, N, F], adj, mask)``
    and returns a dense :class:`PoolingOutput` (``x`` ``[B, k, F]``, ``adj`` ``[B, k, k]``).
    """

    is_dense = True
    is_trainable = False
    has_aux_loss = False

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k, "max_nodes": max_nodes, "seed": 0}

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "uniform", invariant: bool = False, low: float = 0.0, high: float = 1.0,
                 mean: float = 0.0, std: float = 1.0, p: float = 0.3, seed: Optional[int] = None,
                 with_losses: bool = False):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.with_losses = bool(with_losses)
        self.distribution = distribution
        self.invariant = bool(invariant)
        gen = _generator(seed)
        kw = dict(low=low, high=high, mean=mean, std=std, p=p)
        if self.invariant:
            self.in_channels = check_positive_int(in_channels, "in_channels")
            self.max_nodes = None
            self.register_buffer("weight", random_matrix((self.in_channels, self.k), distribution, gen, **kw))
        else:
            self.max_nodes = check_positive_int(max_nodes, "max_nodes")
            self.in_channels = in_channels
            self.register_buffer("s_tilde", random_matrix((self.max_nodes, self.k), distribution, gen, **kw))

    def logits(self, x: Tensor) -> Tensor:
        """``S̃`` (or ``X W``) for a dense batch ``x`` ``[B, N, F]``: ``[B, N, k]``."""
        b, n, f = x.shape
        if self.invariant:
            if f != self.in_channels:
                raise ValueError(f"x has {f} features but in_channels={self.in_channels}")
            return x @ self.weight.to(x.dtype)
        if n > self.max_nodes:
            raise ValueError(f"a graph has {n} nodes but max_nodes={self.max_nodes}; build the pooler with a larger max_nodes")
        return self.s_tilde[:n].to(x.dtype).unsqueeze(0).expand(b, n, self.k)

    def select(self, x: Tensor, edge_index=None, batch=None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        s = torch.softmax(self.logits(x), dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def connect_dense(self, adj: Tensor, so: SelectOutput) -> Tensor:
        return dense_connect(adj, so.s, so.mask)

    def aux_losses(self, adj: Tensor, so: SelectOutput) -> Dict[str, Tensor]:
        from .soft import diffpool_losses

        return diffpool_losses(adj, so.s, so.mask)

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr=None, edge_weight: Optional[Tensor] = None, adj: Optional[Tensor] = None,
                mask: Optional[Tensor] = None, **kwargs) -> PoolingOutput:
        xd, adj, mask = _dense_inputs(x, edge_index, batch, edge_weight, adj, mask)
        so = self.select(xd, mask=mask)
        x_pool = dense_reduce(xd, so.s, so.mask)
        adj_pool = None if adj is None else self.connect_dense(adj, so)
        kmask = torch.ones(xd.size(0), self.k, dtype=torch.bool, device=xd.device)
        losses = self.aux_losses(adj, so) if (self.with_losses and adj is not None) else {}
        return PoolingOutput(x=x_pool, so=so, adj=adj_pool, mask=kmask, losses=losses)

    def extra_repr(self) -> str:
        return f"k={self.k}, distribution={self.distribution!r}, invariant={self.invariant}"


@register("random_mincut")
class RandomMinCut(RandomDiffPool):
    r"""MinCutPool with a fixed random assignment: ``S = softmax(S̃)``, ``X' = Sᵀ X`` and
    ``A' = D^{-1/2} (Sᵀ A S − diag) D^{-1/2}`` (MinCutPool's connect). The paper's
    ``N``-MINCUTPOOL uses ``distribution="normal"``, the default here."""

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "normal", **kwargs):
        super().__init__(k, max_nodes=max_nodes, in_channels=in_channels, distribution=distribution, **kwargs)

    def connect_dense(self, adj: Tensor, so: SelectOutput) -> Tensor:
        from .soft import normalize_pooled_adj

        return normalize_pooled_adj(dense_connect(adj, so.s, so.mask))

    def aux_losses(self, adj: Tensor, so: SelectOutput) -> Dict[str, Tensor]:
        from .soft import mincut_losses

        return mincut_losses(adj, so.s, so.mask)


# --------------------------------------------------------------------------- memory pooling
@register("gmn")
class MemoryPool(Pooler):
    r"""Graph memory network pooling layer (kernel variant, learned keys).

    Args:
        in_channels, out_channels: sizes of the queries and of the pooled features
            (``X' = Sᵀ Q W`` with ``W`` ``[in_channels, out_channels]``; the model applies
            the non-linearity).
        k: number of keys (supernodes). heads: number of key sets ``H``.
        tau: degrees of freedom of the Student-t kernel.
        max_nodes: rows of the fixed random head matrices (``gmn_random`` only).
        seed: seed of the fixed keys / random matrices of the variants.

    Graph structure is not used (it is already in the queries); when ``adj`` is given the
    pooled ``Sᵀ A S`` is returned too.
    """

    is_dense = True
    is_trainable = True
    has_aux_loss = True
    variant = "kernel"

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "out_channels": in_channels, "k": k, "seed": 0}

    def __init__(self, in_channels: int, out_channels: int, k: int, heads: int = 1, tau: float = 1.0,
                 max_nodes: Optional[int] = None, seed: Optional[int] = None):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.k = check_positive_int(k, "k")
        self.heads = check_positive_int(heads, "heads")
        if not (isinstance(tau, (int, float)) and tau > 0):
            raise ValueError(f"tau must be > 0, got {tau!r}")
        self.tau = float(tau)
        self.max_nodes = None if max_nodes is None else check_positive_int(max_nodes, "max_nodes")
        self.conv = torch.nn.Conv2d(self.heads, 1, kernel_size=1, bias=False)
        self.lin = torch.nn.Linear(self.in_channels, self.out_channels, bias=False)
        self._init_keys(_generator(seed))

    def _init_keys(self, gen):
        self.keys = torch.nn.Parameter(torch.randn(self.heads, self.k, self.in_channels, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        """``[B, H, N, K]``: one (row-normalised) assignment per head."""
        d2 = (x.unsqueeze(1).unsqueeze(3) - self.keys.to(x.dtype).unsqueeze(0).unsqueeze(2)).pow(2).sum(-1)
        s = (1.0 + d2 / self.tau).pow(-(self.tau + 1.0) / 2.0)
        return s / s.sum(-1, keepdim=True)

    def select(self, x: Tensor, edge_index=None, batch=None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        s_heads = self.head_assignments(x)
        s = torch.softmax(self.conv(s_heads).squeeze(1), dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    def losses(self, so: SelectOutput, **kwargs) -> Dict[str, Tensor]:
        if not self.has_aux_loss:
            return {}
        s, mask = so.s, so.mask
        s_c = s.clamp(min=1e-15)
        p = s.pow(2) / s.sum(1, keepdim=True).clamp(min=1e-15)
        p = (p / p.sum(-1, keepdim=True).clamp(min=1e-15)).detach()
        kl = (p * (p.clamp(min=1e-15).log() - s_c.log())).sum(-1)  # [B, N]
        m = mask.to(s.dtype)
        per_graph = (kl * m).sum(1) / m.sum(1).clamp(min=1)
        return {"kl": per_graph.mean()}

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                edge_attr=None, edge_weight: Optional[Tensor] = None, adj: Optional[Tensor] = None,
                mask: Optional[Tensor] = None, **kwargs) -> PoolingOutput:
        xd, adj, mask = _dense_inputs(x, edge_index, batch, edge_weight, adj, mask)
        if xd.size(-1) != self.in_channels:
            raise ValueError(f"x has {xd.size(-1)} features but in_channels={self.in_channels}")
        so = self.select(xd, mask=mask)
        x_pool = self.lin(dense_reduce(xd, so.s, so.mask))
        adj_pool = None if adj is None else dense_connect(adj, so.s, so.mask)
        kmask = torch.ones(xd.size(0), self.k, dtype=torch.bool, device=xd.device)
        return PoolingOutput(x=x_pool, so=so, adj=adj_pool, mask=kmask, losses=self.losses(so=so))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, k={self.k}, heads={self.heads}, variant={self.variant!r}"


@register("gmn_distance")
class MemoryDistancePool(MemoryPool):
    r"""DISTANCE variant: ``S^{(h)}_{ik} ∝ ‖q_i − κ_k^{(h)}‖`` with fixed keys ``κ ~ U(0, 1)``."""

    is_trainable = True  # the head-mixing convolution and W are still learned
    has_aux_loss = False
    variant = "distance"

    def _init_keys(self, gen):
        self.register_buffer("keys", torch.rand(self.heads, self.k, self.in_channels, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        d2 = (x.unsqueeze(1).unsqueeze(3) - self.keys.to(x.dtype).unsqueeze(0).unsqueeze(2)).pow(2).sum(-1)
        d = (d2 + 1e-12).sqrt()
        return d / d.sum(-1, keepdim=True).clamp(min=1e-12)


@register("gmn_random")
class MemoryRandomPool(MemoryPool):
    r"""RANDOM variant: the head matrices are fixed ``U(0, 1)`` noise ``[H, max_nodes, K]``
    (row ``i`` used for the ``i``-th node of every graph, so not permutation invariant)."""

    has_aux_loss = False
    variant = "random"

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {**super().example_kwargs(in_channels, k, edge_channels, max_nodes), "max_nodes": max_nodes}

    def _init_keys(self, gen):
        n = check_positive_int(self.max_nodes, "max_nodes")
        self.register_buffer("noise", torch.rand(self.heads, n, self.k, generator=gen))

    def head_assignments(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        if n > self.noise.size(1):
            raise ValueError(f"a graph has {n} nodes but max_nodes={self.noise.size(1)}")
        r = self.noise[:, :n].to(x.dtype)
        return (r / r.sum(-1, keepdim=True)).unsqueeze(0).expand(b, -1, -1, -1)


# --------------------------------------------------------------------------- homogeneity
def _dense_features(x: Tensor, batch: Optional[Tensor], mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    if x.dim() == 2:
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        return to_dense_batch(x, batch)
    if x.dim() != 3:
        raise ValueError(f"x must have shape [N, F] or [B, N, F], got {tuple(x.shape)}")
    if mask is None:
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    return x, mask.bool()


def feature_variance(x: Tensor, batch: Optional[Tensor] = None, mask: Optional[Tensor] = None,
                     normalize: bool = False) -> Tensor:
    r"""How different the nodes of a graph are: the variance of each feature across the
    nodes of a graph, averaged over features and then over graphs,

    .. math:: h = \frac{1}{G}\sum_g \frac{1}{F}\sum_f \mathrm{Var}_{i \in g}(x_{if}).

    Zero means every node of every graph has the same embedding (the "vertical bars" of the
    paper's Figures 5 and 6). With ``normalize=True`` the sum over features of the
    within-graph variance is divided by the sum over features of the variance over all
    nodes of all graphs: a scale-free fraction in [0, 1] (0: homogeneous inside graphs).
    Accepts ``x`` ``[N, F]`` with ``batch`` or a dense ``[B, N, F]`` with ``mask``.
    """
    xd, mask = _dense_features(x, batch, mask)
    m = mask.unsqueeze(-1).to(xd.dtype)
    cnt = m.sum(1).clamp(min=1)  # [B, 1]
    mean = (xd * m).sum(1) / cnt
    var = (((xd - mean.unsqueeze(1)) ** 2) * m).sum(1) / cnt  # [B, F]
    if not normalize:
        return var.mean(-1).mean()
    flat = xd[mask]
    total = flat.var(0, unbiased=False).sum() if flat.size(0) > 0 else xd.new_zeros(())
    within = var.sum(-1).mean()
    return within / total.clamp(min=1e-12)


def dirichlet_energy(x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, normalize: bool = False) -> Tensor:
    r"""Dirichlet energy per node, averaged over graphs:
    :math:`E_g = \frac{1}{2 n_g} \sum_{(i,j) \in E_g} \lVert x_i - x_j\rVert^2` (each undirected
    edge listed in both directions, as PyG does). ``normalize=True`` divides by the mean
    squared norm of the features, which makes the number scale-free."""
    check_graph_inputs(x, edge_index, batch)
    n = x.size(0)
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=x.device)
    if n == 0:
        return x.new_zeros(())
    g = int(batch.max()) + 1
    counts = torch.bincount(batch, minlength=g).to(x.dtype)
    d = (x[edge_index[0]] - x[edge_index[1]]).pow(2).sum(-1)
    per = x.new_zeros(g).index_add_(0, batch[edge_index[0]], d) / (2 * counts.clamp(min=1))
    e = per.mean()
    if normalize:
        e = e / x.pow(2).sum(-1).mean().clamp(min=1e-12)
    return e
