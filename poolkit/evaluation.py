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
"""
from __future__ import annotations

import glob
import json
import math
import os
import time
import traceback
import weakref
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import src
from .src import PoolingOutput, SelectOutput, dense_reduce, sparse_reduce

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


# =========================================================================== lens 1: expressiveness
def expressive_selection(so: SelectOutput, rtol: float = 1e-4) -> bool:
    r"""True when every row of ``S`` (every real node of every graph) sums to the same
    ``λ > 0``: the condition on ``S`` of Bianchi & Lachi's theorem.

    A pooler that drops a node has a zero row, so it fails; soft clustering (softmax rows)
    and hard one-over-K clusters (one 1 per row) pass with ``λ = 1``.
    """
    r = so.row_sums()
    if r.numel() == 0:
        return False
    lam = float(r.mean())
    spread = float((r - lam).abs().max())
    return lam > rtol and spread <= rtol * max(1.0, abs(lam))


def _dense_x(x: Tensor, so: SelectOutput, batch: Optional[Tensor]) -> Tensor:
    from torch_geometric.utils import to_dense_batch

    if x.dim() == 3:
        return x
    xd, _ = to_dense_batch(x, batch, max_num_nodes=so.s.size(1), batch_size=so.s.size(0))
    return xd


def reduce_residual(x: Tensor, out: PoolingOutput, batch: Optional[Tensor] = None) -> float:
    r"""``‖X' − Sᵀ X‖_F / ‖Sᵀ X‖_F`` for the pooler's output ``out`` on input ``x``: 0 when
    Reduce is the sum ``X' = Sᵀ X``; ``inf`` when the shapes do not even match."""
    so = out.so
    with torch.no_grad():
        if so.is_dense:
            ref = dense_reduce(_dense_x(x, so, batch), so.s, so.mask)
            got = out.x
            if got.shape != ref.shape:
                return float("inf")
            if out.mask is not None and out.mask.shape == ref.shape[:2]:
                m = out.mask.unsqueeze(-1).to(ref.dtype)
                ref, got = ref * m, got * m
        else:
            ref, got = sparse_reduce(x, so, op="sum"), out.x
            if got.shape != ref.shape:
                return float("inf")
        return float((got - ref).norm() / ref.norm().clamp(min=1e-12))


# =========================================================================== lens 2: structure
def dense_adjacency(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None) -> Tensor:
    """``[N, N]`` adjacency from ``edge_index`` (duplicate edges add up)."""
    a = torch.zeros(num_nodes, num_nodes, dtype=torch.float, device=edge_index.device)
    if edge_index.numel():
        w = torch.ones(edge_index.size(1), device=edge_index.device) if edge_weight is None else edge_weight.float()
        a.index_put_((edge_index[0], edge_index[1]), w.view(-1), accumulate=True)
    return a


def lifted_adjacency(out: PoolingOutput, num_nodes: int, batch: Optional[Tensor] = None) -> Tensor:
    r"""``Ã = S A' Sᵀ`` as one ``[N, N]`` matrix over the nodes of the input batch
    (block-diagonal: supernodes never join graphs), for either layout of ``S``.

    Dense poolers give ``A'`` as ``out.adj``; sparse ones as ``out.edge_index`` and
    ``out.edge_weight`` (weight 1 when absent). Dropped nodes get zero rows.
    """
    so = out.so
    with torch.no_grad():
        if so.is_dense:
            s = so.s * so.mask.unsqueeze(-1).to(so.s.dtype)
            k = s.size(-1)
            adj = out.adj if out.adj is not None else s.new_zeros(s.size(0), k, k)
            full = s @ adj[:, :k, :k].to(s.dtype) @ s.transpose(1, 2)  # [B, Nmax, Nmax]
            res = s.new_zeros(num_nodes, num_nodes)
            b = torch.zeros(num_nodes, dtype=torch.long, device=s.device) if batch is None else batch
            for g in range(s.size(0)):
                idx = (b == g).nonzero().view(-1)
                mg = so.mask[g]
                res[idx.unsqueeze(1), idx.unsqueeze(0)] = full[g][mg][:, mg]
            return res
        kk = so.num_clusters
        s = torch.zeros(so.num_nodes, kk, dtype=torch.float, device=so.weight.device)
        s.index_put_((so.node_index, so.cluster_index), so.weight.float(), accumulate=True)
        a_pool = dense_adjacency(out.edge_index, kk, out.edge_weight) if out.edge_index is not None \
            else s.new_zeros(kk, kk)
        return s @ a_pool @ s.t()


def laplacian_spectrum(adj: Tensor) -> Tensor:
    r"""Sorted eigenvalues of ``L = D^{-1/2}(D − A)D^{-1/2}`` (diagonal of ``A`` removed,
    ``|A|`` used so a signed ``A'`` cannot give negative degrees; isolated nodes give 0)."""
    a = adj.detach().double().abs()
    a = 0.5 * (a + a.t())
    a = a - torch.diag(torch.diagonal(a))
    deg = a.sum(1)
    inv = torch.where(deg > 1e-12, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
    lap = inv.unsqueeze(1) * (torch.diag(deg) - a) * inv.unsqueeze(0)
    return torch.linalg.eigvalsh(lap).clamp(min=0.0)


def spectral_distance(adj: Tensor, adj_other: Tensor) -> float:
    r"""Mean absolute difference of the sorted normalised-Laplacian spectra of two
    ``[N, N]`` adjacencies; in ``[0, 2]``, 0 for the same graph up to node order and
    overall scale."""
    if adj.shape != adj_other.shape or adj.dim() != 2 or adj.size(0) != adj.size(1):
        raise ValueError(f"adj and adj_other must be square and of the same shape, got {tuple(adj.shape)} "
                         f"and {tuple(adj_other.shape)}")
    if adj.size(0) == 0:
        return 0.0
    return float((laplacian_spectrum(adj) - laplacian_spectrum(adj_other)).abs().mean())


def reduced_adjacency(adj: Tensor, s: Tensor) -> Tensor:
    r"""The original graph reduced to the ``K`` supernodes of ``s`` ``[N, K]``, the operator a
    pooled graph should be compared with (like with like).

    * A *selection* (every column of ``s`` one node, every node in at most one column: Top-K,
      SAGPool, NDP) gives the **Kron reduction** of the combinatorial Laplacian onto the kept
      nodes, ``L_red = L_kk − L_kd L_dd⁺ L_dk`` (Dörfler and Bullo), whose off-diagonal
      ``−L_red`` is the adjacency: paths through dropped nodes become weighted edges.
    * Any other ``s`` (a clustering, soft or hard) gives ``Sᵀ A S`` without its diagonal.
    """
    if adj.dim() != 2 or adj.size(0) != adj.size(1) or s.dim() != 2 or s.size(0) != adj.size(0):
        raise ValueError(f"adj must be [N, N] and s [N, K], got {tuple(adj.shape)} and {tuple(s.shape)}")
    a = adj.detach().double()
    a = 0.5 * (a + a.t())
    a = a - torch.diag(torch.diagonal(a))
    sd = s.detach().double()
    nz = sd != 0
    selection = bool((nz.sum(0) == 1).all() and (nz.sum(1) <= 1).all())
    if selection:
        kept = nz.any(1)
        order = nz.double().argmax(0)  # the node of each column, in column order
        lap = torch.diag(a.sum(1)) - a
        drop = (~kept).nonzero().view(-1)
        l_kk = lap[order][:, order]
        if drop.numel():
            l_kd = lap[order][:, drop]
            l_red = l_kk - l_kd @ torch.linalg.pinv(lap[drop][:, drop]) @ l_kd.t()
        else:
            l_red = l_kk
        red = -l_red
    else:
        red = sd.t() @ a @ sd
    return red - torch.diag(torch.diagonal(red))


def reduced_spectral_distance(adj: Tensor, s: Tensor, adj_pooled: Tensor) -> float:
    r""":func:`spectral_distance` between the pooled graph ``adj_pooled`` ``[K, K]`` and the
    original graph reduced to the same ``K`` nodes (:func:`reduced_adjacency`). Unlike the
    lifted distance, a node-dropping pooler is not penalised for the ``N − K`` nodes it drops:
    a perfect decimation (a ring of 8 to a ring of 4 with Kron reduction) scores 0. It asks
    whether Connect built the reduced operator, not whether the pooled graph is the original."""
    red = reduced_adjacency(adj, s)
    if adj_pooled.shape != red.shape:
        raise ValueError(f"adj_pooled must be [K, K] = {tuple(red.shape)}, got {tuple(adj_pooled.shape)}")
    return spectral_distance(red, adj_pooled.detach().double())


def structure_distances(out: PoolingOutput, edge_index: Tensor, num_nodes: int,
                        batch: Optional[Tensor] = None) -> List[float]:
    """:func:`spectral_distance` between each graph of the batch and its lifted pooled graph."""
    a = dense_adjacency(edge_index, num_nodes)
    lifted = lifted_adjacency(out, num_nodes, batch)
    b = torch.zeros(num_nodes, dtype=torch.long) if batch is None else batch.cpu()
    res = []
    for g in range(int(b.max()) + 1 if num_nodes else 0):
        idx = (b == g).nonzero().view(-1)
        res.append(spectral_distance(a[idx][:, idx].cpu(), lifted[idx][:, idx].cpu()))
    return res


# =========================================================================== lens 3: information
def reconstruction_error(x: Tensor, x_rec: Tensor, batch: Optional[Tensor] = None) -> List[float]:
    r"""``‖X_g − X̃_g‖²_F / ‖X_g − X̄_g‖²_F`` for every graph ``g`` of the batch."""
    if x.shape != x_rec.shape:
        raise ValueError(f"x and x_rec must have the same shape, got {tuple(x.shape)} and {tuple(x_rec.shape)}")
    b = torch.zeros(x.size(0), dtype=torch.long, device=x.device) if batch is None else batch
    res = []
    with torch.no_grad():
        for g in range(int(b.max()) + 1 if x.size(0) else 0):
            xg, rg = x[b == g], x_rec[b == g]
            den = (xg - xg.mean(0)).pow(2).sum().clamp(min=1e-12)
            res.append(float((xg - rg).pow(2).sum() / den))
    return res


# =========================================================================== building and running
def build_pooler(name: str, in_channels: int, k: int = 4, ratio: Optional[float] = None, max_nodes: int = 64,
                 edge_channels: int = 3) -> src.Pooler:
    """The registered pooler ``name`` from :func:`poolkit.src.example_pooler`; poolers that
    keep a ``ratio`` of the nodes get ``ratio`` when it is given (no pooler is named)."""
    pool = src.example_pooler(name, in_channels=in_channels, k=k, edge_channels=edge_channels, max_nodes=max_nodes)
    if ratio is not None and getattr(pool, "ratio", None) is not None:
        try:
            pool = src.example_pooler(name, in_channels=in_channels, k=k, edge_channels=edge_channels,
                                      max_nodes=max_nodes, ratio=ratio)
        except (TypeError, ValueError):
            pass
    return pool


def run_pooler(pool: src.Pooler, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None,
               edge_attr: Optional[Tensor] = None) -> PoolingOutput:
    """Call any pooler on PyG input; edge poolers get all-ones edge features when none are given."""
    if getattr(pool, "needs_edge_attr", False) and edge_attr is None:
        ch = getattr(pool, "edge_channels", None) or 3
        edge_attr = x.new_ones(edge_index.size(1), ch)
    extra = {"edge_attr": edge_attr} if edge_attr is not None else {}
    return pool(x, edge_index, batch=batch, **extra)


def _dense_mask(out: PoolingOutput) -> Tensor:
    if out.mask is not None and out.mask.shape == out.x.shape[:2]:
        return out.mask
    return torch.ones(out.x.shape[:2], dtype=torch.bool, device=out.x.device)


class PooledConv(nn.Module):
    r"""One GIN layer on the pooled graph, for either layout: ``h' = MLP(h + A' h)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels))

    def forward(self, out: PoolingOutput) -> Tensor:
        h = out.x
        if h.dim() == 3:
            adj = out.adj if out.adj is not None else h.new_zeros(h.size(0), h.size(1), h.size(1))
            return self.mlp(h + adj.to(h.dtype) @ h) * _dense_mask(out).unsqueeze(-1).to(h.dtype)
        agg = torch.zeros_like(h)
        ei = out.edge_index
        if ei is not None and ei.numel():
            w = out.edge_weight if out.edge_weight is not None else h.new_ones(ei.size(1))
            agg = agg.index_add(0, ei[1], w.view(-1, 1).to(h.dtype) * h[ei[0]])
        return self.mlp(h + agg)


def pooled_readout(h: Tensor, out: PoolingOutput, num_graphs: int) -> Tensor:
    """Sum over each graph's supernodes: ``[num_graphs, F]``."""
    if h.dim() == 3:
        return (h * _dense_mask(out).unsqueeze(-1).to(h.dtype)).sum(1)
    b = out.batch if out.batch is not None else torch.zeros(h.size(0), dtype=torch.long, device=h.device)
    return h.new_zeros(num_graphs, h.size(-1)).index_add(0, b, h)


def _gin(cin: int, cout: int):
    from torch_geometric.nn import GINConv

    return GINConv(nn.Sequential(nn.Linear(cin, cout), nn.ReLU(), nn.Linear(cout, cout)))


def _num_graphs(batch: Optional[Tensor]) -> int:
    return 1 if batch is None or batch.numel() == 0 else int(batch.max()) + 1


# =========================================================================== pair task
class PairClassifier(nn.Module):
    """``GIN × layers → pooler → GIN on the pooled graph → sum → MLP → one score per graph``."""

    def __init__(self, pooler: str, in_channels: int = 1, hidden: int = 32, layers: int = 2, k: int = 4,
                 ratio: Optional[float] = None, max_nodes: int = 64):
        super().__init__()
        self.convs = nn.ModuleList([_gin(in_channels if i == 0 else hidden, hidden) for i in range(layers)])
        self.pool = build_pooler(pooler, hidden, k=k, ratio=ratio, max_nodes=max_nodes)
        self.post = PooledConv(self.pool.pooled_channels(hidden), hidden)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def embed(self, x, edge_index):
        for conv in self.convs:
            x = F.relu(conv(x, edge_index))
        return x

    def forward(self, x, edge_index, batch):
        h = self.embed(x, edge_index)
        out = run_pooler(self.pool, h, edge_index, batch)
        g = pooled_readout(self.post(out), out, _num_graphs(batch))
        return self.head(g).view(-1), out, h


def _pair_margins(score: Tensor, y: Tensor, pair: Tensor) -> Tensor:
    """``z(second graph) − z(first graph)`` for every pair (``y`` says which is which)."""
    m = int(pair.max()) + 1
    sign = torch.where(y == 1, 1.0, -1.0).to(score.dtype)
    return score.new_zeros(m).index_add(0, pair, sign * score)


def pair_accuracy(pooler: str, graphs: Sequence, epochs: int = 100, lr: float = 5e-3, hidden: int = 32,
                  layers: int = 2, k: int = 4, ratio: Optional[float] = None, seed: int = 0,
                  tol: float = 1e-4) -> Dict[str, float]:
    r"""Train :class:`PairClassifier` to tell the two graphs of every pair apart, and report
    its accuracy on them, with whether the trained selection meets the ``S`` condition
    (its row-sum range, and the share of nodes it ``dropped``: zero rows) and the Reduce
    residual.

    Within a pair the labels 0/1 carry no rule, so the model is trained on pairs: the
    score ``z`` of the graph labelled 1 must exceed that of its partner, by the logistic
    loss :math:`\log(1 + e^{-(z_1 - z_0)})`. Each graph is then classified by comparing
    it with its partner; a pair whose scores tie (``|z_1 − z_0| ≤ tol·(1 + |z_0| + |z_1|)``,
    what a pooler that loses the difference produces) counts as a coin flip, 50 %.
    """
    from torch_geometric.data import Batch

    torch.manual_seed(seed)
    data = Batch.from_data_list(list(graphs))
    max_nodes = int(torch.bincount(data.batch).max())
    model = PairClassifier(pooler, data.x.size(1), hidden, layers, k=k, ratio=ratio, max_nodes=max_nodes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    y, pair = data.y.view(-1), data.pair.view(-1)
    model.train()
    for _ in range(epochs):
        opt.zero_grad()
        score, out, _ = model(data.x, data.edge_index, data.batch)
        loss = F.softplus(-_pair_margins(score, y, pair)).mean() + out.loss
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        score, out, h = model(data.x, data.edge_index, data.batch)
        d = _pair_margins(score, y, pair)
        size = score.new_zeros(d.numel()).index_add(0, pair, score.abs())
        tie = d.abs() <= tol * (1 + size)
        right = torch.where(tie, 0.5, (d > 0).to(score.dtype))
    r = out.so.row_sums()
    return {
        "accuracy": float(right.mean()),
        "pairs_tied": float(tie.float().mean()),
        "expressive_S": bool(expressive_selection(out.so)),
        "row_sum_min": float(r.min()) if r.numel() else float("nan"),
        "row_sum_max": float(r.max()) if r.numel() else float("nan"),
        "dropped": float((r.abs() < 1e-12).float().mean()) if r.numel() else float("nan"),
        "reduce_residual": reduce_residual(h, out, data.batch),
    }


# =========================================================================== autoencoder
class PoolAutoencoder(nn.Module):
    r"""``Linear → GIN × 2 → pooler → Lift (X̃ = S X') → GIN × 2 (original graph) → Linear``.

    The decoder runs on the original graph, so a node that was dropped (zero row of
    ``S``) can still be filled in from lifted neighbours, as in Graph U-Nets.
    """

    def __init__(self, pooler: str, in_channels: int, hidden: int = 32, k: int = 4, ratio: Optional[float] = None,
                 max_nodes: int = 64):
        super().__init__()
        self.inp = nn.Linear(in_channels, hidden)
        self.enc = nn.ModuleList([_gin(hidden, hidden) for _ in range(2)])
        self.pool = build_pooler(pooler, hidden, k=k, ratio=ratio, max_nodes=max_nodes)
        self.dec = nn.ModuleList([_gin(hidden, hidden) for _ in range(2)])
        self.out = nn.Linear(hidden, in_channels)

    def lift(self, out: PoolingOutput) -> Tensor:
        x_lift = self.pool.lift(out.x, out.so)
        if x_lift.dim() == 3:  # dense: [B, Nmax, F] -> the real nodes, in batch order
            x_lift = x_lift[out.so.mask]
        return x_lift

    def forward(self, x, edge_index, batch=None):
        h = self.inp(x)
        for conv in self.enc:
            h = F.relu(conv(h, edge_index))
        out = run_pooler(self.pool, h, edge_index, batch)
        z = self.lift(out)
        for conv in self.dec:
            z = F.relu(conv(z, edge_index))
        return self.out(z), out


def autoencoder_lenses(pooler: str, graphs: Sequence, steps: int = 150, lr: float = 5e-3, hidden: int = 32,
                       k: int = 4, ratio: Optional[float] = None, seed: int = 0, return_model: bool = False):
    """Train :class:`PoolAutoencoder` on ``graphs`` (one batch) to reconstruct ``x``, then
    measure per graph the reconstruction error (lens 3) and the spectral distance of the
    trained pooler's lifted graph (lens 2). Returns ``{"reconstruction": [...],
    "spectral": [...]}`` (and the model and its reconstruction when ``return_model``)."""
    from torch_geometric.data import Batch

    torch.manual_seed(seed)
    data = Batch.from_data_list(list(graphs))
    max_nodes = int(torch.bincount(data.batch).max())
    model = PoolAutoencoder(pooler, data.x.size(1), hidden, k=k, ratio=ratio, max_nodes=max_nodes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        rec, out = model(data.x, data.edge_index, data.batch)
        loss = F.mse_loss(rec, data.x) + out.loss
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        rec, out = model(data.x, data.edge_index, data.batch)
    res = {
        "reconstruction": reconstruction_error(data.x, rec, data.batch),
        "spectral": structure_distances(out, data.edge_index, data.num_nodes, data.batch),
    }
    if return_model:
        res.update(model=model, x_rec=rec, out=out, data=data)
    return res


# =========================================================================== lens 4: cost
class PeakMemory(torch.utils._python_dispatch.TorchDispatchMode):
    """Peak bytes of the tensors that ATen allocates inside the ``with`` block, forward
    and backward alike (a CPU stand-in for ``torch.cuda.max_memory_allocated``).

    Every operator's outputs are recorded by their storage; a storage counts until the
    last tensor that holds it is freed. Tensors that existed before the block, and
    allocations that bypass ATen, are not counted.
    """

    def __init__(self):
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: Dict[int, list] = {}

    def _release(self, key: int) -> None:
        rec = self._live.get(key)
        if rec is None:
            return
        rec[1] -= 1
        if rec[1] == 0:
            del self._live[key]
            self.current -= rec[0]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        from torch.utils._pytree import tree_flatten

        out = func(*args, **(kwargs or {}))
        inputs = {id(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, Tensor)}
        for t in tree_flatten(out)[0]:
            if not isinstance(t, Tensor) or id(t) in inputs or t.layout != torch.strided:
                continue
            try:
                st = t.untyped_storage()
                key, nbytes = st.data_ptr(), st.nbytes()
            except Exception:  # noqa: BLE001 - tensors without storage (meta, ...)
                continue
            if key == 0 or nbytes == 0:
                continue
            if key in self._live:
                self._live[key][1] += 1
            else:
                self._live[key] = [nbytes, 1]
                self.current += nbytes
                self.peak = max(self.peak, self.current)
            weakref.finalize(t, self._release, key)
        return out


def cost_graph(num_nodes: int, channels: int = 16, seed: int = 0):
    """A 2-D lattice with ``num_nodes`` nodes (rows of ``⌈√N⌉``), random features."""
    from torch_geometric.data import Data

    n = src.check_positive_int(int(num_nodes), "num_nodes")
    w = max(1, math.ceil(math.sqrt(n)))
    i = torch.arange(n)
    right = i[(i % w < w - 1) & (i + 1 < n)]
    down = i[i + w < n]
    e = torch.cat([torch.stack([right, right + 1]), torch.stack([down, down + w])], 1)
    g = torch.Generator().manual_seed(seed)
    return Data(x=torch.randn(n, channels, generator=g), edge_index=torch.cat([e, e.flip(0)], 1), num_nodes=n)


def measure_cost(name: str, num_nodes: int, channels: int = 16, ratio: float = 0.25, repeats: int = 3,
                 device=None, memory: bool = True) -> Dict[str, float]:
    """Median seconds of forward + backward of pooler ``name`` on :func:`cost_graph` with
    ``num_nodes`` nodes (``k = ⌈ratio·N⌉`` supernodes where the pooler takes ``k``), and the
    peak memory in MB of one such step."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    data = cost_graph(num_nodes, channels)
    k = max(2, math.ceil(ratio * num_nodes))
    torch.manual_seed(0)
    pool = build_pooler(name, channels, k=k, ratio=ratio, max_nodes=num_nodes).to(dev)
    x0, ei = data.x.to(dev), data.edge_index.to(dev)

    def step():
        x = x0.clone().requires_grad_(True)
        out = run_pooler(pool, x, ei)
        loss = out.x.sum() + out.loss
        if loss.requires_grad:
            loss.backward()
        pool.zero_grad(set_to_none=True)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    step()  # warm-up (allocator, lazy initialisation)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    res = {"name": name, "num_nodes": num_nodes, "k": k, "seconds": times[len(times) // 2]}
    if memory:
        res["peak_mb"] = peak_memory_mb(step, dev)
    return res


def peak_memory_mb(step: Callable[[], None], device=None) -> float:
    """Peak memory in MB that one call of ``step()`` allocates: CUDA's allocator statistics
    on a GPU (above what was allocated before), :class:`PeakMemory` on a CPU."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        base = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        step()
        torch.cuda.synchronize(dev)
        return (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    with PeakMemory() as pm:
        step()
    return pm.peak / 2**20


def cost_sweep(names: Optional[Iterable[str]] = None, sizes: Sequence[int] = (10, 100, 1000), channels: int = 16,
               ratio: float = 0.25, repeats: int = 3, time_cap: float = 30.0, device=None,
               progress: Optional[callable] = None) -> List[Dict]:
    """:func:`measure_cost` for every pooler (default: all registered) and size, smallest
    first. A size is skipped, and recorded as ``{"capped": True, "predicted_seconds": t}``,
    when the last measured step predicts more than ``time_cap`` seconds for it under
    quadratic growth (``t·(N/N_last)²``, the rate of a dense ``N × N`` adjacency); steps
    over one second are timed once. A pooler that fails records its error."""
    rows = []
    for name in (src.list_poolers() if names is None else names):
        last = None
        for n in sorted(sizes):
            if last is not None:
                pred = last["seconds"] * (n / last["num_nodes"]) ** 2
                if pred > time_cap or last.get("stop"):
                    rows.append({"name": name, "num_nodes": n, "capped": True,
                                 "predicted_seconds": None if last.get("stop") else pred})
                    continue
            try:
                reps = repeats if last is None or last["seconds"] * (n / last["num_nodes"]) ** 2 < 1.0 else 1
                r = measure_cost(name, n, channels, ratio, reps, device)
            except Exception as err:  # noqa: BLE001 - one pooler's failure is a result, not a crash
                rows.append({"name": name, "num_nodes": n, "error": f"{type(err).__name__}: {err}"[:300]})
                last = {"seconds": float("inf"), "num_nodes": n, "stop": True}
                continue
            rows.append(r)
            if progress is not None:
                progress(r)
            last = r
    return rows


# =========================================================================== downstream (results files)
_METRICS = (("test_accuracy", "acc", 100.0), ("test_roc_auc", "ROC-AUC", 100.0), ("test_rmse", "RMSE", 1.0),
            ("test_mae", "MAE", 1.0))


def _registry_name(model: str, names: Sequence[str]) -> Optional[str]:
    """Map a model label of a results file to a registered pooler: the label itself, the
    label without a trailing ``_<ratio>``, or the one registered name that starts with
    ``label_`` or ends with ``_label`` (``complement`` → ``complement_graclus``)."""
    if model in names:
        return model
    base = model.rsplit("_", 1)[0] if "_" in model and model.rsplit("_", 1)[1].replace(".", "", 1).isdigit() else model
    if base in names:
        return base
    cands = [n for n in names if n.startswith(base + "_") or n.endswith("_" + base)]
    return cands[0] if len(cands) == 1 else None


def _downstream_groups(results_dir: str, names: Sequence[str], skip: Sequence[str]) -> Dict[tuple, List[float]]:
    """``{(pooler, data set, metric, model label, file stem, scale): [values]}`` from the
    ``runs`` of every results file (see downstream_results)."""
    groups: Dict[tuple, List[float]] = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in skip:
            continue
        try:
            with open(path) as fh:
                doc = json.load(fh)
            runs = doc.get("runs", []) if isinstance(doc, dict) else []
        except (OSError, ValueError):
            continue
        for r in runs if isinstance(runs, list) else []:
            if not isinstance(r, dict):
                continue
            label = r.get("model", r.get("pooler"))
            pooler = _registry_name(str(label), names) if label is not None else None
            if pooler is None:
                continue
            for key, short, scale in _METRICS:
                v = r.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    ds = r.get("dataset") or (doc.get("dataset") if isinstance(doc, dict) else None) or stem
                    groups.setdefault((pooler, str(ds), short, str(label), stem, scale), []).append(float(v))
                    break
    return groups


def _mean_sd(vals: List[float]) -> tuple:
    m = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return m, sd


def downstream_results(results_dir: str = "results", names: Optional[Sequence[str]] = None,
                       skip: Sequence[str] = ("evaluation",)) -> Dict[str, List[str]]:
    """Downstream numbers per registered pooler, read from the ``runs`` of every results
    file in ``results_dir``: ``{pooler: ["NCI1 acc 62.7 ± 5.0 (n=3, rethinking)", ...]}``.

    Files are read defensively: a file that cannot be parsed, a run without a model label
    or a known metric, or a label that is not a registered pooler is skipped.
    """
    names = list(src.list_poolers() if names is None else names)
    out: Dict[str, List[str]] = {n: [] for n in names}
    for (pooler, ds, short, label, stem, scale), vals in _downstream_groups(results_dir, names, skip).items():
        m, sd = _mean_sd(vals)
        digits = 1 if scale == 100.0 else 3
        variant = "" if label == pooler else f" [{label}]"
        out[pooler].append(f"{ds} {short}{variant} {m * scale:.{digits}f} ± {sd * scale:.{digits}f} "
                           f"(n={len(vals)}, {stem})")
    return out


def downstream_table(results_dir: str = "results", names: Optional[Sequence[str]] = None,
                     skip: Sequence[str] = ("evaluation",)):
    """The numbers of downstream_results as a table with short cells, one row per pooler,
    data set, metric and model label: columns ``pooler``, ``data set``, ``metric``,
    ``as run`` (the results file's model label where it is not the pooler's name, such as
    ``coarse_0.9``), ``mean ± sd`` (accuracies and ROC-AUC in %), ``n`` and ``file``.
    Sorted by pooler, then data set. Empty (with those columns) when no file has a number."""
    import pandas as pd

    names = list(src.list_poolers() if names is None else names)
    rows = []
    for (pooler, ds, short, label, stem, scale), vals in _downstream_groups(results_dir, names, skip).items():
        m, sd = _mean_sd(vals)
        digits = 1 if scale == 100.0 else 3
        rows.append({"pooler": pooler, "data set": ds, "metric": short + (" %" if scale == 100.0 else ""),
                     "as run": "" if label == pooler else label,
                     "mean ± sd": f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f}", "n": len(vals), "file": stem})
    cols = ["pooler", "data set", "metric", "as run", "mean ± sd", "n", "file"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["pooler", "data set", "file", "as run"], kind="stable").reset_index(drop=True)


# =========================================================================== one pooler, all lenses
def evaluate_pooler(name: str, pairs: Sequence, clouds: Sequence, pair_epochs: int = 100, ae_steps: int = 150,
                    k: int = 4, ratio: float = 0.25, seed: int = 0, cost_sizes: Sequence[int] = (),
                    cost_repeats: int = 3, ae_k: Optional[int] = None, pair_ratio: Optional[float] = None) -> Dict:
    """Lenses 1-3 (and 4 when ``cost_sizes`` is given) for one pooler: ``k`` supernodes and
    ``pair_ratio`` (default ``ratio``) for the pairs, ``ae_k`` (default ``k``) and ``ratio``
    for the point clouds. A pooler that
    raises gets ``{"error": ...}`` instead of numbers, so one broken pooler never hides
    the others."""
    res: Dict = {"name": name, "seed": seed}
    info = {d["name"]: d for d in src.pooler_info()}.get(name, {})
    res.update({f: info.get(f) for f in ("dense", "trainable", "precomputable")})
    t0 = time.perf_counter()
    try:
        res.update(pair_accuracy(name, pairs, epochs=pair_epochs, k=k, ratio=pair_ratio or ratio, seed=seed))
        lens = autoencoder_lenses(name, clouds, steps=ae_steps, k=ae_k or k, ratio=ratio, seed=seed)
        kinds = [getattr(d, "kind", str(i)) for i, d in enumerate(clouds)]
        res["spectral"] = dict(zip(kinds, lens["spectral"]))
        res["reconstruction"] = dict(zip(kinds, lens["reconstruction"]))
        res["spectral_mean"] = sum(lens["spectral"]) / len(lens["spectral"])
        res["reconstruction_mean"] = sum(lens["reconstruction"]) / len(lens["reconstruction"])
        if cost_sizes:
            res["cost"] = cost_sweep([name], cost_sizes, ratio=ratio, repeats=cost_repeats)
    except Exception as err:  # noqa: BLE001
        res["error"] = f"{type(err).__name__}: {err}"[:300]
        res["traceback"] = traceback.format_exc(limit=3)[-1000:]
    res["seconds"] = time.perf_counter() - t0
    return res


def _fmt(v, digits=2, scale=1.0):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v * scale:.{digits}f}"


def report_card(results: Sequence[Mapping], downstream: Optional[Mapping[str, List[str]]] = None,
                cost_at: Optional[int] = None, names: Optional[Sequence[str]] = None):
    """One row per registered pooler (every name of ``poolkit.list_poolers()``, plus any
    other name in ``results``), lenses as columns; numbers are means over the runs of a
    pooler (seeds). A pooler with no result gets '—'; one whose run failed, its error."""
    import pandas as pd

    names = list(src.list_poolers() if names is None else names)
    by: Dict[str, List[Mapping]] = {}
    for r in results:
        by.setdefault(r["name"], []).append(r)
    for n in by:
        if n not in names:
            names.append(n)

    def mean(runs, key):
        vals = [float(r[key]) for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)
                and math.isfinite(float(r[key]))]
        return sum(vals) / len(vals) if vals else None

    rows = []
    for n in names:
        runs = [r for r in by.get(n, []) if "error" not in r]
        errs = [r["error"] for r in by.get(n, []) if "error" in r]
        row = {"pooler": n}
        s_ok = [bool(r["expressive_S"]) for r in runs if "expressive_S" in r]
        row["S rows sum to λ"] = ("yes" if all(s_ok) else "no") if s_ok else "—"
        row["Reduce = SᵀX"] = (("yes" if mean(runs, "reduce_residual") < 1e-4 else "no")
                               if mean(runs, "reduce_residual") is not None else "—")
        row["pair accuracy %"] = mean(runs, "accuracy")
        row["spectral distance"] = mean(runs, "spectral_mean")
        row["reconstruction error"] = mean(runs, "reconstruction_mean")
        if cost_at is not None:
            secs = [c.get("seconds") for r in runs for c in r.get("cost", []) if c.get("num_nodes") == cost_at]
            mems = [c.get("peak_mb") for r in runs for c in r.get("cost", []) if c.get("num_nodes") == cost_at]
            secs = [s for s in secs if s is not None]
            mems = [m for m in mems if m is not None]
            row[f"ms at N={cost_at}"] = 1e3 * sum(secs) / len(secs) if secs else None
            row[f"MB at N={cost_at}"] = sum(mems) / len(mems) if mems else None
        if downstream is not None:
            row["downstream (results/)"] = "; ".join(downstream.get(n, [])) or "—"
        if errs and not runs:
            row["note"] = errs[0]
        rows.append(row)
    df = pd.DataFrame(rows).set_index("pooler")
    if "pair accuracy %" in df:
        df["pair accuracy %"] = df["pair accuracy %"] * 100
    return df
