r"""The backbones of "Rethinking pooling in graph neural networks" (Mesquita et al., 2020).

Every model is the same stack, only the pooler changes:

.. code-block:: text

    x ─ conv ─ … ─ conv ─┬─ pool ─ conv ─ … ─ pool ─ conv ─┬─ mean readout ─ MLP ─ ŷ
       (convs_before_pool)             (num_pools times)

with the paper's sum-aggregation convolution (its Eq. 1, PyG's ``GraphConv``)

.. math::  Z = \mathrm{ReLU}(X W_1 + A X W_2),

a global mean readout and an MLP with one hidden layer. ``pool`` picks the pooler:

* ``None`` / ``"none"``: no hierarchical pooling, the global-pooling baseline
  ("is pooling overrated?": three convolutions, mean readout, MLP);
* ``"graclus"`` / ``"complement"``: :class:`poolkit.poolers.ablations.ComplementGraclusPool` clustering
  the graph or its complement, max-pooling features, pooled edges from the original graph;
* ``"diffpool"``, ``"mincut"`` (learned, :mod:`poolkit.soft`) and ``"random_diffpool"``,
  ``"random_mincut"`` (fixed random ``S``, :mod:`poolkit.ablations`): dense pooling to
  ``k = ⌈ratio · n⌉`` supernodes per level, ``n`` the largest graph at that level;
* ``"gmn"``, ``"gmn_distance"``, ``"gmn_random"``: memory layers (keys per layer in
  ``pool_kwargs["keys"]``, default ``[10, 1]``) on top of the convolutions (the query network,
  followed by batch normalisation); the memory layers ignore the edges.

``convs_before_pool=1`` is the paper's single-convolution ablation (its Table 2). Models
follow the project convention ``model(data) -> (prediction, aux_losses)``. With
``model.record = True`` the forward pass keeps, in ``model.activations``, the node
embeddings before the first pooling and after each pooling (dense ``[B, N, F]`` with a
mask), the input of the paper's Figures 5 and 6.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import DenseGraphConv, GraphConv, global_mean_pool
from torch_geometric.utils import to_dense_batch

from ..data.pyramid import PyramidData, pyramid_level
from ..ops.smoothness import dirichlet_energy, feature_variance
from ..poolers.ablations.complement import ComplementGraclusPool
from ..src import check_positive_int, check_ratio, get_pooler
from ..train import module_device

__all__ = ["RethinkingNet", "GlobalPoolNet", "paper_model", "POOLS", "PAPER_CONFIGS", "layer_homogeneity",
           "PrecomputeClusters",
           "HomogeneityTracker", "permutation_sensitivity", "activation_figure", "record_activations"]

SPARSE_POOLS = ("graclus", "complement")
DENSE_POOLS = ("diffpool", "mincut", "random_diffpool", "random_mincut")
MEMORY_POOLS = ("gmn", "gmn_distance", "gmn_random")
POOLS = (None, "none") + SPARSE_POOLS + DENSE_POOLS + MEMORY_POOLS


def _add_losses(total: Dict[str, Tensor], new: Dict[str, Tensor]) -> None:
    for k, v in new.items():
        total[k] = total[k] + v if k in total else v


class RethinkingNet(nn.Module):
    r"""Convolutions interleaved with pooling, mean readout and an MLP (see the module doc).

    Args:
        in_channels: node feature size (graphs without ``x`` get a constant feature, use 1).
        out_channels: number of classes (or targets).
        pool: the pooler (one of :data:`POOLS`).
        hidden: width of every convolution.
        num_pools: number of pooling layers (sparse and dense poolers).
        convs_before_pool: convolutions before the first pooling (1 = the ablation).
        convs_after_pool: convolutions after each pooling.
        ratio: supernodes per level as a fraction of the largest graph (dense poolers).
        max_nodes: the largest graph the model will see (dense and random poolers).
        pool_kwargs: extra keyword arguments of the pooler (``distribution``, ``invariant``,
            ``seed`` for the random ones; ``keys``, ``heads`` for memory pooling).
        mlp_hidden: hidden width of the MLP (default ``hidden``).
        dropout: dropout before the MLP's output layer.
        conv_after_last: whether the last pooling is followed by convolutions too (default:
            no for Graclus/Complement, as in the paper's ``conv → conv/pool → conv/pool →
            readout``; yes for the dense poolers).
    """

    def __init__(self, in_channels: int, out_channels: int, pool: Optional[str] = "graclus", hidden: int = 64,
                 num_pools: int = 2, convs_before_pool: int = 2, convs_after_pool: int = 1, ratio: float = 0.25,
                 max_nodes: Optional[int] = None, pool_kwargs: Optional[dict] = None,
                 mlp_hidden: Optional[int] = None, dropout: float = 0.0, conv_after_last: Optional[bool] = None):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.pool_name = None if pool == "none" else pool
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.hidden = check_positive_int(hidden, "hidden")
        self.convs_before_pool = check_positive_int(convs_before_pool, "convs_before_pool")
        self.convs_after_pool = convs_after_pool
        if isinstance(convs_after_pool, bool) or not isinstance(convs_after_pool, int) or convs_after_pool < 0:
            raise ValueError(f"convs_after_pool must be an integer >= 0, got {convs_after_pool!r}")
        self.num_pools = check_positive_int(num_pools, "num_pools") if self.pool_name else 0
        self.ratio = check_ratio(ratio)
        self.dropout = float(dropout)
        kw = dict(pool_kwargs or {})
        self.record = False
        self.activations: List[dict] = []

        dims = [self.in_channels] + [self.hidden] * self.convs_before_pool
        self.pre = nn.ModuleList(GraphConv(a, b, aggr="add") for a, b in zip(dims[:-1], dims[1:]))
        self.pools = nn.ModuleList()
        self.post = nn.ModuleList()
        self.norm = None
        name = self.pool_name
        if name in SPARSE_POOLS:
            last = bool(conv_after_last) if conv_after_last is not None else False
            for level in range(self.num_pools):
                c = self.convs_after_pool if (level < self.num_pools - 1 or last) else 0
                self.pools.append(ComplementGraclusPool(complement=(name == "complement"), **kw))
                self.post.append(nn.ModuleList(GraphConv(self.hidden, self.hidden, aggr="add") for _ in range(c)))
        elif name in DENSE_POOLS:
            if max_nodes is None:
                raise ValueError(f"max_nodes is needed for pool={name!r} (size of the largest graph)")
            n = check_positive_int(max_nodes, "max_nodes")
            seed = kw.pop("seed", None)
            last = True if conv_after_last is None else bool(conv_after_last)
            for level in range(self.num_pools):
                k = max(1, math.ceil(self.ratio * n))
                c = self.convs_after_pool if (level < self.num_pools - 1 or last) else 0
                if name.startswith("random_"):
                    lvl_seed = None if seed is None else seed + level
                    if kw.get("invariant", False):
                        p = get_pooler(name, k=k, in_channels=self.hidden, seed=lvl_seed, **kw)
                    else:
                        p = get_pooler(name, k=k, max_nodes=n, seed=lvl_seed, **kw)
                else:
                    p = get_pooler(name, in_channels=self.hidden, k=k, **kw)
                self.pools.append(p)
                self.post.append(nn.ModuleList(DenseGraphConv(self.hidden, self.hidden, aggr="add")
                                               for _ in range(c)))
                n = k
        elif name in MEMORY_POOLS:
            keys = list(kw.pop("keys", [10, 1]))
            heads = kw.pop("heads", 1)
            self.norm = nn.BatchNorm1d(self.hidden)
            if name == "gmn_random" and max_nodes is None:
                raise ValueError("max_nodes is needed for pool='gmn_random' (size of the largest graph)")
            n = max_nodes
            for k in keys:
                extra = {"max_nodes": n} if name == "gmn_random" else {}
                self.pools.append(get_pooler(name, in_channels=self.hidden, out_channels=self.hidden,
                                             k=check_positive_int(k, "keys"), heads=heads, **extra, **kw))
                self.post.append(nn.ModuleList())
                n = k
            self.num_pools = len(keys)
        mlp_hidden = self.hidden if mlp_hidden is None else check_positive_int(mlp_hidden, "mlp_hidden")
        self.mlp = nn.Sequential(nn.Linear(self.hidden, mlp_hidden), nn.ReLU(), nn.Dropout(self.dropout),
                                 nn.Linear(mlp_hidden, self.out_channels))

    # ------------------------------------------------------------------------------
    def _keep(self, name: str, x: Tensor, batch: Optional[Tensor] = None, mask: Optional[Tensor] = None,
              edge_index: Optional[Tensor] = None) -> None:
        if not self.record:
            return
        if x.dim() == 2:
            xd, mask = to_dense_batch(x, batch)
        else:
            xd = x
            if mask is None:
                mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        self.activations.append({"name": name, "x": xd.detach().cpu(), "mask": mask.detach().cpu(),
                                 "edge_index": None if edge_index is None else edge_index.detach().cpu(),
                                 "batch": None if batch is None else batch.detach().cpu()})

    def embed(self, data):
        """Everything up to the readout; returns ``(graph_embeddings [B, hidden], losses)``."""
        x = getattr(data, "x", None)
        edge_index = data.edge_index
        n = data.num_nodes
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=edge_index.device)
        if x is None:
            x = torch.ones(n, self.in_channels, device=edge_index.device)
        x = x.float()
        if x.size(-1) != self.in_channels:
            raise ValueError(f"data.x has {x.size(-1)} features but in_channels={self.in_channels}")
        self.activations = []
        losses: Dict[str, Tensor] = {}
        for conv in self.pre:
            x = F.relu(conv(x, edge_index))
        if self.norm is not None:
            x = self.norm(x)
        self._keep("before pooling", x, batch, edge_index=edge_index)
        name = self.pool_name
        if name is None:
            return global_mean_pool(x, batch), losses
        if name in SPARSE_POOLS:
            pre = self._precomputed(data)
            for i, (pool, convs) in enumerate(zip(self.pools, self.post)):
                if pre:  # the same clusters, computed once per graph by PrecomputeClusters
                    lv = pyramid_level(data, i + 1)
                    x, edge_index, batch = pool.reduce(x, lv["so"]), lv["edge_index"], lv["batch"]
                else:
                    out = pool(x, edge_index, batch=batch)
                    x, edge_index, batch = out.x, out.edge_index, out.batch
                self._keep(f"after pooling {i + 1}", x, batch, edge_index=edge_index)
                for conv in convs:
                    x = F.relu(conv(x, edge_index))
            return global_mean_pool(x, batch, size=int(data.num_graphs) if hasattr(data, "num_graphs") else None), losses
        # dense and memory poolers
        adj, mask = None, None
        for i, (pool, convs) in enumerate(zip(self.pools, self.post)):
            if adj is None and mask is None:
                out = pool(x, edge_index, batch=batch)
            else:
                out = pool(x, adj=adj, mask=mask)
            x, adj, mask = out.x, out.adj, out.mask
            _add_losses(losses, out.losses)
            if name in MEMORY_POOLS:
                x = F.relu(x)
            self._keep(f"after pooling {i + 1}", x, mask=mask)
            for conv in convs:
                x = F.relu(conv(x, adj, mask))
        m = mask.unsqueeze(-1).to(x.dtype)
        return (x * m).sum(1) / m.sum(1).clamp(min=1), losses

    def forward(self, data):
        h, losses = self.embed(data)
        return self.mlp(h), losses

    def _precomputed(self, data) -> bool:
        """Whether ``data`` carries the clusters of :class:`PrecomputeClusters` for this model."""
        flag = getattr(data, "pool_complement", None)
        if flag is None:
            return False
        want = self.pool_name == "complement"
        if bool((flag.bool() != want).any()):
            raise ValueError(f"data was precomputed for complement={not want}, but the model pools with {self.pool_name!r}")
        if data.pool_sizes.size(-1) - 1 < self.num_pools:
            raise ValueError(f"data carries {data.pool_sizes.size(-1) - 1} precomputed levels, the model pools {self.num_pools} times")
        return True


class PrecomputeClusters:
    r"""Transform: the Graclus (or Complement) clusters of every level of
    :class:`RethinkingNet`, computed once per graph instead of at every forward pass.

    Graclus with ``seed=None`` breaks ties by node index, and the clusters depend only on
    the graph (Complement: on its complement), not on the features, nor on which graphs
    share a batch. So they can be computed once before training, and the model gives the
    same output (``tests/test_rethinking_nn.py`` checks it). The model then only runs the
    max-Reduce on the stored clusters, which makes the Complement model several times
    faster: Graclus on a complement graph of ``n`` nodes sees about ``n²/2`` edges.
    Returns a :class:`poolkit.data.pyramid.PyramidData`.
    """

    def __init__(self, complement: bool, levels: int = 2):
        self.complement = bool(complement)
        self.levels = check_positive_int(levels, "levels")
        self.pooler = ComplementGraclusPool(complement=self.complement)

    def __call__(self, data):

        out = PyramidData(**{k: v for k, v in data.items()})
        n, ei, sizes = int(data.num_nodes), data.edge_index, [int(data.num_nodes)]
        for lvl in range(1, self.levels + 1):
            so = self.pooler.select(torch.empty(n, 0), ei)
            ei, ew = self.pooler.connect(ei, so, None)
            out[f"pool{lvl}_s"] = torch.stack([so.node_index, so.cluster_index])
            out[f"pool{lvl}_w"] = so.weight.float()
            out[f"pool{lvl}_edge_index"] = ei
            out[f"pool{lvl}_edge_weight"] = ew.float()
            n = so.num_clusters
            sizes.append(n)
        out.pool_sizes = torch.tensor([sizes])
        out.pool_complement = torch.tensor([self.complement])
        return out

    def __repr__(self) -> str:
        return f"PrecomputeClusters(complement={self.complement}, levels={self.levels})"


def GlobalPoolNet(in_channels: int, out_channels: int, hidden: int = 64, num_convs: int = 3, **kwargs) -> RethinkingNet:
    """The baseline without hierarchical pooling: ``num_convs`` convolutions, global mean
    readout, MLP (the paper's "is pooling overrated?" model)."""
    return RethinkingNet(in_channels, out_channels, pool=None, hidden=hidden, convs_before_pool=num_convs, **kwargs)


#: The paper's hyper-parameters (Tables S2 and S3): hidden size, number of pooling layers
#: and batch size per dataset, for the Graclus/Complement and DiffPool families.
PAPER_CONFIGS = {
    "graclus": {"NCI1": dict(hidden=64, num_pools=2, batch_size=8),
                "PROTEINS": dict(hidden=64, num_pools=2, batch_size=64),
                "IMDB-BINARY": dict(hidden=64, num_pools=1, batch_size=8)},
    "diffpool": {"NCI1": dict(hidden=32, num_pools=1, mlp_hidden=32, batch_size=16),
                 "PROTEINS": dict(hidden=32, num_pools=2, mlp_hidden=50, batch_size=8),
                 "IMDB-BINARY": dict(hidden=32, num_pools=1, mlp_hidden=50, batch_size=8)},
}


def paper_model(pool: Optional[str], in_channels: int, out_channels: int, dataset: str = "NCI1",
                max_nodes: Optional[int] = None, single_conv: bool = False, **overrides) -> RethinkingNet:
    """Build the paper's model for ``pool`` and ``dataset`` (Tables S2/S3 of the paper).

    Graclus/Complement: ``conv → conv → pool → conv → pool → readout → MLP`` (``#Layers`` =
    3 counts the convolutions; 2 for IMDB-B). DiffPool and the random variants: two
    convolutions, one pooling (two for PROTEINS) each followed by a convolution. ``None``:
    three convolutions and mean readout. ``single_conv=True`` keeps one convolution before
    the first pooling (Table 2). Keyword ``overrides`` replace any setting.
    """
    family = "graclus" if pool in SPARSE_POOLS else "diffpool" if pool in DENSE_POOLS else None
    cfg = dict(PAPER_CONFIGS[family].get(dataset, PAPER_CONFIGS[family]["NCI1"])) if family else dict(hidden=64)
    cfg.pop("batch_size", None)
    if pool in (None, "none"):
        cfg.update(convs_before_pool=3)
    else:
        cfg.update(convs_before_pool=2)
    if single_conv:
        cfg["convs_before_pool"] = 1
    cfg.update(overrides)
    return RethinkingNet(in_channels, out_channels, pool=pool, max_nodes=max_nodes, **cfg)


# --------------------------------------------------------------------------- analysis helpers
@torch.no_grad()
def record_activations(model: RethinkingNet, data) -> List[dict]:
    """Run ``model`` on ``data`` in eval mode with recording on and return its recorded
    activations (one dict per layer: name, x, mask); the model's train/record state is
    restored afterwards."""
    was_training, was_recording = model.training, model.record
    model.eval()
    model.record = True
    try:
        model(data)
        return list(model.activations)
    finally:
        model.record = was_recording
        model.train(was_training)


@torch.no_grad()
def layer_homogeneity(model: RethinkingNet, data) -> Dict[str, float]:
    """Run ``model`` on ``data`` (eval mode) and return, for each recorded layer ("before
    pooling", "after pooling 1", ...), the scale-free within-graph feature variance
    (:func:`poolkit.ablations.feature_variance` with ``normalize=True``: 0 when all nodes
    of a graph have the same embedding)."""
    return {a["name"]: float(feature_variance(a["x"], mask=a["mask"], normalize=True))
            for a in record_activations(model, data)}


class HomogeneityTracker:
    """Training callback (for :func:`poolkit.train.fit`): after every epoch, records
    :func:`layer_homogeneity` of a fixed batch, plus the normalised Dirichlet energy of the
    embeddings before pooling, in ``self.rows`` (one dict per epoch, epoch 0 = before
    training)."""

    def __init__(self, data):
        self.data = data
        self.rows: List[dict] = []

    @torch.no_grad()
    def _measure(self, model, epoch):
        data = self.data.to(module_device(model))
        acts = record_activations(model, data)
        row = {"epoch": epoch}
        for a in acts:
            row[a["name"]] = float(feature_variance(a["x"], mask=a["mask"], normalize=True))
        first = acts[0]
        x = first["x"][first["mask"]]
        row["dirichlet (before pooling)"] = float(dirichlet_energy(x, data.edge_index.cpu(), data.batch.cpu(),
                                                                        normalize=True))
        self.rows.append(row)

    def on_train_begin(self, state):
        self._measure(state.model, 0)

    def on_epoch_end(self, state):
        self._measure(state.model, state.epoch)


@torch.no_grad()
def permutation_sensitivity(model: torch.nn.Module, graphs, num_perms: int = 5, seed: int = 0) -> float:
    """Mean absolute change of the predicted class probabilities when the nodes of each
    graph are randomly renumbered (``num_perms`` permutations per graph). Zero for a
    permutation-invariant model (up to float rounding)."""
    from torch_geometric.data import Batch

    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        base = torch.softmax(model(Batch.from_data_list(list(graphs)))[0], -1)
        diffs = []
        for _ in range(num_perms):
            permuted = []
            for d in graphs:
                perm = torch.randperm(d.num_nodes, generator=g)
                inv = torch.empty_like(perm)
                inv[perm] = torch.arange(d.num_nodes)
                p = d.clone()
                p.x = d.x[perm]
                p.edge_index = inv[d.edge_index]
                permuted.append(p)
            out = torch.softmax(model(Batch.from_data_list(permuted))[0], -1)
            diffs.append((out - base).abs().sum(-1).mean())
        return float(torch.stack(diffs).mean())
    finally:
        model.train(was_training)


@torch.no_grad()
def activation_figure(model: RethinkingNet, data, graphs: Sequence[int] = (0, 1, 2), title: str = "",
                      height: Optional[int] = None):
    """The paper's Figures 5 and 6: node embeddings (nodes × features) of a few graphs,
    before the first pooling and after each pooling, one heatmap per graph and layer, each
    with its own colour range (so homogeneity shows as vertical bars). Rows are graphs,
    columns are layers; subplot titles give the number of nodes in brackets."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    acts = record_activations(model, data)
    graphs = list(graphs)
    titles = []
    mats = []
    for g in graphs:
        row = []
        for a in acts:
            x = a["x"][g][a["mask"][g]].numpy()
            row.append(x)
            titles.append(f"graph {g}, {a['name']} [{x.shape[0]}]")
        mats.append(row)
    fig = make_subplots(rows=len(graphs), cols=len(acts), subplot_titles=titles,
                        horizontal_spacing=0.04, vertical_spacing=0.08)
    for r, row in enumerate(mats, start=1):
        for c, x in enumerate(row, start=1):
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
            fig.add_trace(go.Heatmap(z=x, colorscale="Viridis", zmin=lo, zmax=hi if hi > lo else lo + 1e-9,
                                     showscale=False, hovertemplate="node %{y}, feature %{x}: %{z:.3f}<extra></extra>"),
                          r, c)
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(title=title or None, height=height or 170 * len(graphs) + 60,
                      margin=dict(l=10, r=10, t=70 if title else 40, b=10))
    return fig
