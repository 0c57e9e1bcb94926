r"""The DiffPool and MinCutPool models of "Rethinking pooling in graph neural networks"
(Mesquita et al., 2020) as its released code builds them.

The paper's text (Appendix A.2) and its code do not describe the same models, and the
tables came from the code. :mod:`poolkit.nn.rethinking` is our reading of the text; this
module is the code's architecture, rebuilt with PyG's dense layers:

**DiffPool v2** (``main_diffpool.py`` declares ``--v2`` as ``store_true`` with
``default=True``, so the "DiffPool v2" of the paper's Appendix B always ran). Every GNN is
three dense GraphSAGE layers (mean aggregation, no self-loops), ReLU and batch
normalisation after the first two, their outputs concatenated:

.. math::  \mathrm{GNN}(X, A) = [H_1 \,\|\, H_2 \,\|\, H_3],\quad
           H_{l} = \mathrm{SAGE}_l(H_{l-1}, A).

One pooling level (NCI1, PROTEINS, IMDB-B), :math:`K = \lceil 0.1\, N_{\max} \rceil`
clusters (``N_max`` the largest graph of the data set):

.. math::  S = \mathrm{softmax}(\mathrm{Lin}(\mathrm{GNN}_{pool}(X, A))),\quad
           X' = S^\top \mathrm{GNN}_{embed}(X, A),\quad A' = S^\top A S,

then a third GNN on :math:`(X', A')`; the readout concatenates the max over the clusters
of :math:`X'` and of that GNN's output, followed by ``Linear → ReLU → Linear``. Widths 32,
MLP hidden 50. IMDB-B, whose nodes all carry the same 10 ones, first goes through one
``DenseGraphConv`` (sum aggregation, no activation), as the code's ``pre_sum_aggr``.
The learned model adds PyG's link loss :math:`\|A - SS^\top\|_F / (B N^2)` over the batch
and the entropy loss, weight 1. The random variants replace :math:`S` by a fixed matrix
:math:`R \in \mathbb{R}^{N_{\max} \times K}` drawn once (uniform or normal), node ``i``
taking row ``i`` (softmax applied as for the learned ``S``), and train on the supervised
loss alone.

**MinCutPool** (``mincut/mincutpool.py``, three layers): ``GraphConv`` (sum, ReLU), pool
to :math:`K_1 = \lceil N_{\max}/2 \rceil`, ``DenseGraphConv`` (ReLU), pool to
:math:`K_2 = \lceil K_1/2 \rceil`, ``DenseGraphConv`` (no activation), mean over the
clusters, ``Linear → ReLU → Linear``, width 32. :math:`S = \mathrm{Lin}(X)` (one linear
layer; MinCutPool's softmax inside); the loss adds the cut and orthogonality terms of
both levels, weight 1, computed by :func:`poolkit.soft.mincut_losses`: equal to PyG's on
every graph with an edge, and 0 instead of PyG's 0/0 = NaN on a graph without one. The random variant draws :math:`R` uniform on :math:`[0, 1)`, of
:math:`2K \times K` per level, and trains on the supervised loss alone.

Two quirks of the code are kept because they change the function: batch normalisation
pools its statistics over every row of the padded dense batch (padding rows included),
and after the first pooling no mask is used. Models follow ``model(data) -> (prediction,
aux_losses)``.
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import DenseGraphConv, DenseSAGEConv, GraphConv, dense_diff_pool
from torch_geometric.utils import to_dense_adj, to_dense_batch

from ..ops.dense import normalize_pooled_adj
from ..poolers.soft.mincut import mincut_losses
from ..src import check_positive_int

__all__ = ["DiffPoolV2Net", "MinCutNet", "mincut_pool_step", "released_model", "RANDOM_DISTRIBUTIONS"]

RANDOM_DISTRIBUTIONS = ("uniform", "normal")


def _draw(distribution: str, rows: int, cols: int, seed: Optional[int]) -> Tensor:
    if distribution not in RANDOM_DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {RANDOM_DISTRIBUTIONS}, got {distribution!r}")
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    if distribution == "uniform":
        return torch.rand(rows, cols, generator=gen)
    return torch.randn(rows, cols, generator=gen)


def _check_random(random) -> Optional[str]:
    if random is None or random in RANDOM_DISTRIBUTIONS:
        return random
    raise ValueError(f"random must be None (learned S) or one of {RANDOM_DISTRIBUTIONS}, got {random!r}")


class _SAGEStack(nn.Module):
    """Three dense GraphSAGE layers, ReLU + batch norm after the first two, outputs
    concatenated (``out = 2 * hidden + out_channels``), optionally mapped by one
    ``Linear`` to ``out_channels``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, lin: bool):
        super().__init__()
        self.convs = nn.ModuleList([DenseSAGEConv(in_channels, hidden), DenseSAGEConv(hidden, hidden),
                                    DenseSAGEConv(hidden, out_channels)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(hidden), nn.BatchNorm1d(hidden)])
        cat = 2 * hidden + out_channels
        self.lin = nn.Linear(cat, out_channels) if lin else None
        self.out_channels = out_channels if lin else cat

    def forward(self, x: Tensor, adj: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        hs = []
        for i, conv in enumerate(self.convs):
            x = conv(x, adj, mask)
            if i < 2:
                b, n, c = x.shape  # statistics over every row of the padded batch, as the code
                x = self.bns[i](F.relu(x).reshape(b * n, c)).reshape(b, n, c)
            hs.append(x)
        x = torch.cat(hs, dim=-1)
        return self.lin(x) if self.lin is not None else x


class DiffPoolV2Net(nn.Module):
    r"""The released code's DiffPool v2 with one pooling level (see the module doc).

    Args:
        in_channels: node feature size.
        out_channels: number of classes.
        max_nodes: the largest graph of the data set (``K = ⌈ratio · max_nodes⌉``).
        hidden: width of every SAGE layer (32).
        mlp_hidden: hidden width of the classifier (50).
        ratio: clusters as a fraction of ``max_nodes`` (0.1 for one level).
        random: ``None`` for the learned ``S``; ``"uniform"`` or ``"normal"`` for a fixed
            random ``S`` drawn once with ``seed``.
        pre_sum_aggr: one ``DenseGraphConv`` before pooling (the code does it on IMDB-B).
    """

    def __init__(self, in_channels: int, out_channels: int, max_nodes: int, hidden: int = 32, mlp_hidden: int = 50,
                 ratio: float = 0.1, random: Optional[str] = None, seed: Optional[int] = None,
                 pre_sum_aggr: bool = False):
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        self.max_nodes = check_positive_int(max_nodes, "max_nodes")
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
        self.random = _check_random(random)
        self.k = max(1, math.ceil(ratio * self.max_nodes))
        self.pre = DenseGraphConv(in_channels, in_channels) if pre_sum_aggr else None
        self.gnn_pool = None if self.random else _SAGEStack(in_channels, hidden, self.k, lin=True)
        if self.random:
            self.register_buffer("assign", _draw(self.random, self.max_nodes, self.k, seed))
        self.gnn_embed = _SAGEStack(in_channels, hidden, hidden, lin=False)
        dim = self.gnn_embed.out_channels
        self.gnn_final = _SAGEStack(dim, hidden, hidden, lin=False)
        self.lin1 = nn.Linear(2 * dim, check_positive_int(mlp_hidden, "mlp_hidden"))
        self.lin2 = nn.Linear(mlp_hidden, check_positive_int(out_channels, "out_channels"))

    def forward(self, data):
        x, mask = to_dense_batch(data.x.float(), data.batch)
        if x.size(1) > self.max_nodes:
            raise ValueError(f"a graph has {x.size(1)} nodes, more than max_nodes={self.max_nodes}")
        adj = to_dense_adj(data.edge_index, data.batch, max_num_nodes=x.size(1))
        if self.pre is not None:
            x = self.pre(x, adj, mask)
        if self.random:
            s = self.assign[: x.size(1)].unsqueeze(0).expand(x.size(0), -1, -1)
        else:
            s = self.gnn_pool(x, adj, mask)
        z = self.gnn_embed(x, adj, mask)
        xp, ap, link, ent = dense_diff_pool(z, adj, s, mask)
        readout = [xp.max(dim=1).values]
        readout.append(self.gnn_final(xp, ap).max(dim=1).values)
        out = self.lin2(F.relu(self.lin1(torch.cat(readout, dim=-1))))
        losses: Dict[str, Tensor] = {} if self.random else {"link": link, "entropy": ent}
        return out, losses


class MinCutNet(nn.Module):
    r"""The released code's MinCutPool network: three convolutions, two poolings (see the
    module doc).

    Args:
        in_channels, out_channels, max_nodes: as :class:`DiffPoolV2Net`.
        hidden: width (32).
        random: ``None`` for ``S = Lin(X)``, ``"uniform"`` (the code) or ``"normal"``.
    """

    def __init__(self, in_channels: int, out_channels: int, max_nodes: int, hidden: int = 32,
                 random: Optional[str] = None, seed: Optional[int] = None):
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        hidden = check_positive_int(hidden, "hidden")
        self.max_nodes = check_positive_int(max_nodes, "max_nodes")
        self.random = _check_random(random)
        self.conv0 = GraphConv(in_channels, hidden, aggr="add")
        self.conv1 = DenseGraphConv(hidden, hidden)
        self.conv2 = DenseGraphConv(hidden, hidden)
        k1 = math.ceil(0.5 * self.max_nodes)
        k2 = math.ceil(0.5 * k1)
        self.ks = (k1, k2)
        if self.random:
            # the code's fetch_assign_matrix(…, ceil(2 K), K): at least as many rows as nodes
            self.register_buffer("assign1", _draw(self.random, 2 * k1, k1, None if seed is None else seed))
            self.register_buffer("assign2", _draw(self.random, 2 * k2, k2, None if seed is None else seed + 1))
        else:
            self.pool1, self.pool2 = nn.Linear(hidden, k1), nn.Linear(hidden, k2)
        self.lin1 = nn.Linear(hidden, hidden)
        self.lin2 = nn.Linear(hidden, check_positive_int(out_channels, "out_channels"))

    def _s(self, level: int, x: Tensor) -> Tensor:
        if self.random:
            r = self.assign1 if level == 1 else self.assign2
            return r[: x.size(1)].unsqueeze(0).expand(x.size(0), -1, -1)
        return (self.pool1 if level == 1 else self.pool2)(x)

    def forward(self, data):
        x = F.relu(self.conv0(data.x.float(), data.edge_index))
        x, mask = to_dense_batch(x, data.batch)
        if x.size(1) > self.max_nodes:
            raise ValueError(f"a graph has {x.size(1)} nodes, more than max_nodes={self.max_nodes}")
        adj = to_dense_adj(data.edge_index, data.batch, max_num_nodes=x.size(1))
        losses: Dict[str, Tensor] = {}
        for level, m in ((1, mask), (2, None)):
            if level == 2:
                x = F.relu(self.conv1(x, adj))
            s = self._s(level, x)
            if not self.random:
                _add(losses, mincut_losses(adj, torch.softmax(s, dim=-1), m))
            x, adj = mincut_pool_step(x, adj, s, m)
        x = self.conv2(x, adj).mean(dim=1)
        return self.lin2(F.relu(self.lin1(x))), losses


def mincut_pool_step(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None):
    r"""The pooled graph of PyG's ``dense_mincut_pool``, which the released code calls:
    :math:`S = \mathrm{softmax}(s)`, :math:`X' = S^\top X`, :math:`A' = D'^{-1/2}(S^\top A S -
    \mathrm{diag})D'^{-1/2}` (padded rows of ``mask`` zeroed first), without its losses.

    The same numbers as PyG's (``tests/test_rethinking_released.py``), with one difference:
    PyG divides by :math:`\sqrt{d'} + \epsilon`, whose gradient is not finite where a
    supernode's degree :math:`d'` is exactly 0 (a cluster that a saturated softmax leaves with
    no edge, or a padded row at the second level, which the code does not mask). Training then
    stops on a NaN gradient (the released IMDB-B MinCut, seed 4, epoch 65). Here such a
    supernode gets 0 (:func:`poolkit.soft.normalize_pooled_adj`), with a finite gradient."""
    s = torch.softmax(s, dim=-1)
    if mask is not None:
        m = mask.unsqueeze(-1).to(x.dtype)
        x, s = x * m, s * m
    st = s.transpose(1, 2)
    return st @ x, normalize_pooled_adj(st @ adj @ s)


def _add(total: Dict[str, Tensor], new: Dict[str, Tensor]) -> None:
    for k, v in new.items():
        total[k] = total[k] + v if k in total else v


def released_model(family: str, dataset: str, in_channels: int, out_channels: int, max_nodes: int,
                   random: Optional[str] = None, seed: Optional[int] = None) -> nn.Module:
    """The released code's model: ``family`` ``"diffpool"`` (v2, one level, ``pre_sum_aggr``
    on IMDB-BINARY) or ``"mincut"``, with its per-dataset settings (all widths 32)."""
    if family == "diffpool":
        return DiffPoolV2Net(in_channels, out_channels, max_nodes, random=random, seed=seed,
                             pre_sum_aggr=(dataset == "IMDB-BINARY"))
    if family == "mincut":
        return MinCutNet(in_channels, out_channels, max_nodes, random=random, seed=seed)
    raise ValueError(f"family must be 'diffpool' or 'mincut', got {family!r}")
