r"""Pooling molecules that carry bond features (Bal et al., DLG 2019).

Bal, Triendl, Assmann, Craig, Phillips, Frost, Bashir, Shaker and Stojevic,
"Sparse hierarchical representation learning on molecular graphs" (DLG@KDD 2019,
arXiv:1908.02065). No public implementation exists; this file is written from the paper's
text, and where the paper leaves a detail open the choice made here is stated.

**Dual-message graph convolution** (paper eqs. 3-6). With node features ``a_i``, bond
features ``e_ij`` and neighbours ``NN(i)``:

.. math::

    m_i &= \sum_{j \in NN(i)} f_{W_a}([a_j \,\|\, e_{ij}]), \qquad s_i = W_s a_i + b_s \\
    \tilde a_i &= \mathrm{ReLU}(\mathrm{BN}(m_i + s_i)) \\
    m_{ij} &= g_{W_e}([\tilde a_i + \tilde a_j \,\|\, e_{ij}]), \qquad s_{ij} = W_e e_{ij} + b_e \\
    \tilde e_{ij} &= \mathrm{ReLU}(\mathrm{BN}(m_{ij} + s_{ij}))

``f`` and ``g`` are one linear layer each here (the paper says "fully-connected neural
network" without giving its depth).

**Select** (eqs. 7-8): a projection vector ``p`` scores every atom, ``y_i = p · ã_i`` (the
paper does not divide by ``‖p‖``, so neither do we); each graph keeps its
``K = ⌈ρ · n⌉`` highest-scoring atoms, gated as ``a_i = ã_i · tanh(y_i)``. As a
:class:`~poolkit.src.SelectOutput`: ``S[kept_j, j] = tanh(y_{kept_j})``, so Reduce is
``X' = Sᵀ X``. Ties are broken by the lower atom index; kept atoms stay in their original
order, so the pooled batch vector stays sorted.

**Connect with edge features** (section 2.2, Fig. 1). Kept atoms ``u ≠ v`` are joined in
the pooled graph when the original graph has a path between them of length

1. ``u – v`` (an existing bond between kept atoms),
2. ``u – x – v`` with ``x`` dropped,
3. ``u – x – y – v`` with ``x`` and ``y`` dropped.

Dropped atoms and all their bonds disappear (so a dangling dropped atom just goes).
Every kept pair gets *one* edge whose feature is the **sum over all such paths** of a
path feature (the paper: "overlapping effective edge features ... reduced to a single
vector of the sum"); an existing bond between kept atoms with no parallel path keeps its
feature unchanged.

* ``edge_simple`` (:class:`EdgeSimplePool`): the path feature is the sum of the bond
  features along the path, ``e_ux + e_xv`` or ``e_ux + e_xy + e_yv`` (and ``e_uv`` for a
  kept bond).
* ``edge_coarse`` (:class:`EdgeCoarsePool`): two small networks (Linear-ReLU-Linear).
  The paper says only that "the first network maps the atom and adjoining edge feature
  vectors of dropped nodes to a single effective-edge feature" and "the second network
  calculates effective edge features for kept edges"; our reading is
  ``φ_drop([Σ_{dropped atoms on the path} a \| Σ_{bonds on the path} e])`` for paths 2 and
  3 and ``φ_kept([a_u + a_v \| e_uv])`` for kept bonds, with gated atom features ``a``.
  Both inputs are symmetric in ``u, v``, so an undirected molecule stays undirected.

**Gather** (section 2.1): a linear layer per atom, then
``h_G = tanh([max_i h_i \| Σ_i h_i])`` and a final linear layer;
:class:`DualMessageNet` puts a pooling layer after every convolution but the last.

Example::

    >>> import torch, poolkit
    >>> pool = poolkit.get_pooler("edge_simple", in_channels=8, ratio=0.5)
    >>> x, e = torch.randn(4, 8), torch.randn(6, 3)
    >>> ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    >>> out = pool(x, ei, edge_attr=e)
    >>> out.x.shape, out.edge_attr.shape[1]
    (torch.Size([2, 8]), 3)
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .src import (
    PoolingOutput,
    Pooler,
    SelectOutput,
    check_graph_inputs,
    check_positive_int,
    check_ratio,
    register,
    sparse_reduce,
)

__all__ = [
    "DualMessageConv",
    "tanh_topk_select",
    "contract_edges",
    "EdgePool",
    "EdgeSimplePool",
    "EdgeCoarsePool",
    "gather",
    "DualMessageNet",
    "pooled_molecule_figure",
]


def _batch_norm(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """Batch norm that survives 0 or 1 rows (pooled batches can have no bonds at all)."""
    if x.size(0) == 0:
        return x
    if bn.training and x.size(0) == 1:
        # Statistics of a single row are undefined: use the running ones, update nothing.
        return nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return bn(x)


def _check_edge_attr(edge_index: Tensor, edge_attr: Optional[Tensor], channels: Optional[int] = None) -> None:
    if edge_attr is None:
        raise ValueError("edge_attr is required: these layers pool graphs with bond features")
    if not isinstance(edge_attr, Tensor) or edge_attr.dim() != 2:
        shape = tuple(edge_attr.shape) if isinstance(edge_attr, Tensor) else type(edge_attr).__name__
        raise ValueError(f"edge_attr must have shape [num_edges, num_edge_features], got {shape}")
    if edge_attr.size(0) != edge_index.size(1):
        raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but edge_index has {edge_index.size(1)} edges")
    if channels is not None and edge_attr.size(1) != channels:
        raise ValueError(f"edge_attr must have {channels} features per edge, got {edge_attr.size(1)}")


# --------------------------------------------------------------------------- convolution
class DualMessageConv(nn.Module):
    r"""Dual-message graph convolution (eqs. 3-6): updates atoms *and* bonds.

    ``forward(x, edge_index, edge_attr) -> (x', edge_attr')``; ``edge_index[0]`` is the
    source ``j``, ``edge_index[1]`` the target ``i`` (PyG's convention), and molecules hold
    each bond in both directions.
    """

    def __init__(self, in_channels: int, edge_channels: int, out_channels: int, edge_out_channels: int):
        super().__init__()
        for v, n in ((in_channels, "in_channels"), (edge_channels, "edge_channels"),
                     (out_channels, "out_channels"), (edge_out_channels, "edge_out_channels")):
            check_positive_int(v, n)
        self.in_channels, self.edge_channels = in_channels, edge_channels
        self.f = nn.Linear(in_channels + edge_channels, out_channels)  # f_{W_a}
        self.self_node = nn.Linear(in_channels, out_channels)  # W_s, b_s
        self.bn_node = nn.BatchNorm1d(out_channels)
        self.g = nn.Linear(out_channels + edge_channels, edge_out_channels)  # g_{W_e}
        self.self_edge = nn.Linear(edge_channels, edge_out_channels)  # W_e, b_e
        self.bn_edge = nn.BatchNorm1d(edge_out_channels)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tuple[Tensor, Tensor]:
        check_graph_inputs(x, edge_index, edge_attr=edge_attr)
        _check_edge_attr(edge_index, edge_attr, self.edge_channels)
        if x.size(1) != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} features per node, got {x.size(1)}")
        src, dst = edge_index
        msg = self.f(torch.cat([x[src], edge_attr], dim=-1))  # f(a_j, e_ij)
        m = x.new_zeros(x.size(0), msg.size(1)).index_add_(0, dst, msg)  # eq. 3
        a = torch.relu(_batch_norm(self.bn_node, m + self.self_node(x)))  # eq. 4
        m_e = self.g(torch.cat([a[src] + a[dst], edge_attr], dim=-1))  # eq. 5
        e = torch.relu(_batch_norm(self.bn_edge, m_e + self.self_edge(edge_attr)))  # eq. 6
        return a, e


# --------------------------------------------------------------------------- select
def tanh_topk_select(score: Tensor, ratio: float, batch: Optional[Tensor] = None) -> Tensor:
    """Indices of the ``⌈ratio · n_g⌉`` highest scores of every graph, in ascending order.

    Ties go to the lower index, so the result is deterministic.
    """
    ratio = check_ratio(ratio)
    n = score.numel()
    dev = score.device
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=dev)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=dev)
    # Rank nodes inside their graph: sort by score (descending, stable), then by graph.
    order = torch.sort(-score.detach(), stable=True).indices
    order = order[torch.sort(batch[order], stable=True).indices]
    counts = torch.bincount(batch)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n, device=dev) - start[batch[order]]
    k = torch.ceil(counts.to(torch.float64) * ratio).long()
    keep = order[rank < k[batch[order]]]
    return torch.sort(keep).values


# --------------------------------------------------------------------------- connect
def _extend(paths_end: Tensor, edge_src: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    """All (path, edge) pairs where the edge leaves the path's last node.

    Returns ``(path_id, edge_id)`` over the given candidate edges (``edge_src`` lists their
    sources; ``edge_id`` indexes into that list).
    """
    dev = edge_src.device
    order = torch.argsort(edge_src, stable=True)
    deg = torch.bincount(edge_src, minlength=num_nodes)
    ptr = torch.cumsum(deg, 0) - deg
    reps = deg[paths_end]
    path_id = torch.repeat_interleave(torch.arange(paths_end.numel(), device=dev), reps)
    within = torch.arange(path_id.numel(), device=dev) - torch.repeat_interleave(torch.cumsum(reps, 0) - reps, reps)
    edge_id = order[ptr[paths_end[path_id]] + within]
    return path_id, edge_id


def contraction_paths(edge_index: Tensor, keep_mask: Tensor) -> Dict[str, Tensor]:
    """Enumerate the kept-to-kept paths of section 2.2 as edge-index triples.

    Returns a dict with ``kept`` (ids of kept–kept edges), ``one`` (``[2, P1]``: edge ids
    ``u→x``, ``x→v``) and ``two`` (``[3, P2]``: ``u→x``, ``x→y``, ``y→v``), with ``u ≠ v``
    kept and ``x, y`` dropped.
    """
    n = keep_mask.numel()
    src, dst = edge_index
    ks, kd = keep_mask[src], keep_mask[dst]
    eid = torch.arange(src.numel(), device=src.device)
    kept_e = eid[ks & kd & (src != dst)]
    in_drop = eid[ks & ~kd]  # u -> x
    drop_out = eid[~ks & kd]  # x -> v
    drop_drop = eid[~ks & ~kd & (src != dst)]  # x -> y
    # u -> x -> v
    p, e = _extend(dst[in_drop], src[drop_out], n)
    one = torch.stack([in_drop[p], drop_out[e]])
    one = one[:, src[one[0]] != dst[one[1]]]
    # u -> x -> y, then -> v
    p, e = _extend(dst[in_drop], src[drop_drop], n)
    half = torch.stack([in_drop[p], drop_drop[e]])
    p, e = _extend(dst[half[1]], src[drop_out], n)
    two = torch.cat([half[:, p], drop_out[e].unsqueeze(0)])
    two = two[:, src[two[0]] != dst[two[2]]]
    return {"kept": kept_e, "one": one, "two": two}


def contract_edges(
    edge_index: Tensor,
    edge_attr: Tensor,
    kept: Tensor,
    num_nodes: int,
    x: Optional[Tensor] = None,
    drop_net: Optional[nn.Module] = None,
    kept_net: Optional[nn.Module] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Pooled ``(edge_index, edge_attr)`` over the kept atoms (numbered ``0..K-1`` in the
    order of ``kept``).

    Without networks this is simple pooling: every path contributes the sum of its bond
    features. With ``drop_net``/``kept_net`` (and gated atom features ``x``) it is
    coarse-grain pooling: paths through dropped atoms contribute
    ``drop_net([Σ a_dropped ‖ Σ e_path])``, kept bonds ``kept_net([a_u + a_v ‖ e_uv])``.
    Contributions to the same kept pair are summed; the output is sorted by (source, target).
    """
    dev = edge_index.device
    keep_mask = torch.zeros(num_nodes, dtype=torch.bool, device=dev)
    keep_mask[kept] = True
    new_id = torch.full((num_nodes,), -1, dtype=torch.long, device=dev)
    new_id[kept] = torch.arange(kept.numel(), device=dev)
    src, dst = edge_index
    paths = contraction_paths(edge_index, keep_mask)
    k, one, two = paths["kept"], paths["one"], paths["two"]

    e_kept = edge_attr[k]
    e_one = edge_attr[one[0]] + edge_attr[one[1]]
    e_two = edge_attr[two[0]] + edge_attr[two[1]] + edge_attr[two[2]]
    if drop_net is not None:
        a_one = x[dst[one[0]]]
        a_two = x[dst[two[0]]] + x[dst[two[1]]]
        e_one = drop_net(torch.cat([a_one, e_one], dim=-1))
        e_two = drop_net(torch.cat([a_two, e_two], dim=-1))
    if kept_net is not None:
        e_kept = kept_net(torch.cat([x[src[k]] + x[dst[k]], e_kept], dim=-1))

    u = torch.cat([src[k], src[one[0]], src[two[0]]])
    v = torch.cat([dst[k], dst[one[1]], dst[two[2]]])
    feats = torch.cat([e_kept, e_one, e_two], dim=0)
    kk = kept.numel()
    key = new_id[u] * kk + new_id[v]
    uniq, inv = torch.unique(key, sorted=True, return_inverse=True)
    out = feats.new_zeros(uniq.numel(), feats.size(1)).index_add_(0, inv, feats)
    ei = torch.stack([uniq // max(kk, 1), uniq % max(kk, 1)])
    return ei, out


# --------------------------------------------------------------------------- poolers
class EdgePool(Pooler):
    """Top-K with ``tanh`` gating plus edge contraction; see the module docstring."""

    is_trainable = True

    needs_edge_attr = True

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, ratio: float = 0.5):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.ratio = check_ratio(ratio)
        self.p = nn.Parameter(torch.empty(in_channels))
        nn.init.uniform_(self.p, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))

    def score(self, x: Tensor) -> Tensor:
        """``y_i = p · ã_i`` (eq. 8)."""
        return x @ self.p

    def select(self, x: Tensor, edge_index: Tensor, batch: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        y = self.score(x)
        kept = tanh_topk_select(y, self.ratio, batch)
        so = SelectOutput.from_kept_nodes(kept, x.size(0), weight=torch.tanh(y[kept]), batch=batch)
        so.extra["score"] = y
        return so

    def connect_edges(self, edge_index: Tensor, edge_attr: Tensor, so: SelectOutput, x_pool: Tensor, x: Tensor):
        return contract_edges(edge_index, edge_attr, so.kept, so.num_nodes)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        **kwargs,
    ) -> PoolingOutput:
        check_graph_inputs(x, edge_index, batch, edge_attr, edge_weight)
        _check_edge_attr(edge_index, edge_attr)
        if x.size(1) != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} features per node, got {x.size(1)}")
        so = self.select(x, edge_index, batch=batch)
        x_pool = sparse_reduce(x, so, op="sum")  # a_i = ã_i tanh(y_i) for the kept atoms
        ei, ea = self.connect_edges(edge_index, edge_attr, so, x_pool, x)
        out_batch = so.cluster_batch
        if out_batch is None:
            out_batch = torch.zeros(so.num_clusters, dtype=torch.long, device=x.device)
        return PoolingOutput(x=x_pool, so=so, edge_index=ei, edge_attr=ea, batch=out_batch)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_channels={self.in_channels}, ratio={self.ratio}"


@register("edge_simple")
class EdgeSimplePool(EdgePool):
    """Simple pooling: new bond features are sums of the bond features along each path."""


@register("edge_coarse")
class EdgeCoarsePool(EdgePool):
    """Coarse-grain pooling: two small networks compute the new bond features."""

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"in_channels": in_channels, "edge_channels": edge_channels, "ratio": 0.5}

    def __init__(self, in_channels: int, edge_channels: int, ratio: float = 0.5, hidden_channels: Optional[int] = None):
        super().__init__(in_channels, ratio)
        self.edge_channels = check_positive_int(edge_channels, "edge_channels")
        h = check_positive_int(hidden_channels or edge_channels, "hidden_channels")
        d = in_channels + edge_channels

        def mlp():
            return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, edge_channels))

        self.drop_net, self.kept_net = mlp(), mlp()

    def connect_edges(self, edge_index, edge_attr, so, x_pool, x):
        if edge_attr.size(1) != self.edge_channels:
            raise ValueError(f"edge_attr must have {self.edge_channels} features per edge, got {edge_attr.size(1)}")
        gated = x * torch.tanh(so.extra["score"]).unsqueeze(-1)
        return contract_edges(edge_index, edge_attr, so.kept, so.num_nodes, gated, self.drop_net, self.kept_net)


# --------------------------------------------------------------------------- gather + model
def gather(x: Tensor, batch: Optional[Tensor] = None, num_graphs: Optional[int] = None) -> Tensor:
    """``tanh([max_i x_i ‖ Σ_i x_i])`` per graph (a graph without atoms gives zeros)."""
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    idx = batch.unsqueeze(-1).expand_as(x)
    mx = x.new_zeros(num_graphs, x.size(1)).scatter_reduce_(0, idx, x, reduce="amax", include_self=False)
    sm = x.new_zeros(num_graphs, x.size(1)).index_add_(0, batch, x)
    return torch.tanh(torch.cat([mx, sm], dim=-1))


class DualMessageNet(nn.Module):
    """Dual-message convolutions with an edge pooling layer after each but the last,
    a per-atom linear layer, the gather layer and a final linear layer.

    ``pool`` is ``None`` (no pooling), ``"simple"`` or ``"coarse"``. ``model(data)`` returns
    ``(prediction [B, out_channels] (squeezed to [B] when out_channels == 1), {})``.
    """

    def __init__(
        self,
        in_channels: int,
        edge_channels: int,
        out_channels: int = 1,
        node_channels: Sequence[int] = (128, 128),
        edge_hidden: Sequence[int] = (128, 128),
        pool: Optional[str] = "simple",
        ratio: float = 0.9,
    ):
        super().__init__()
        if len(node_channels) < 1 or len(node_channels) != len(edge_hidden):
            raise ValueError("node_channels and edge_hidden must be non-empty and of the same length")
        if pool not in (None, "none", "simple", "coarse"):
            raise ValueError(f"pool must be None, 'simple' or 'coarse', got {pool!r}")
        self.pool_kind = None if pool in (None, "none") else pool
        self.ratio = check_ratio(ratio)
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.convs, self.pools = nn.ModuleList(), nn.ModuleList()
        n_in, e_in = in_channels, edge_channels
        for i, (n_out, e_out) in enumerate(zip(node_channels, edge_hidden)):
            self.convs.append(DualMessageConv(n_in, e_in, n_out, e_out))
            if self.pool_kind is not None and i < len(node_channels) - 1:
                if self.pool_kind == "simple":
                    self.pools.append(EdgeSimplePool(n_out, ratio))
                else:
                    self.pools.append(EdgeCoarsePool(n_out, e_out, ratio))
            n_in, e_in = n_out, e_out
        self.node_lin = nn.Linear(n_in, n_in)
        self.head = nn.Linear(2 * n_in, out_channels)

    def levels(self, data) -> Tuple[Tensor, Tensor, List[PoolingOutput]]:
        """Run the convolutions and pooling layers; return node features, their batch vector
        and the pooling outputs."""
        x, ei, ea = data.x.float(), data.edge_index, data.edge_attr.float()
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        outs = []
        for i, conv in enumerate(self.convs):
            x, ea = conv(x, ei, ea)
            if i < len(self.pools):
                out = self.pools[i](x, ei, batch=batch, edge_attr=ea)
                outs.append(out)
                x, ei, ea, batch = out.x, out.edge_index, out.edge_attr, out.batch
        return x, batch, outs

    def forward(self, data):
        x, batch, _ = self.levels(data)
        num_graphs = getattr(data, "num_graphs", None) or (int(batch.max()) + 1 if batch.numel() else 1)
        h = gather(self.node_lin(x), batch, num_graphs)
        pred = self.head(h)
        if self.out_channels == 1:
            pred = pred.squeeze(-1)
        return pred, {}

    @torch.no_grad()
    def coarsen(self, data) -> List[Dict[str, Tensor]]:
        """For every pooling layer: the surviving atoms and the pooled bonds, both in the
        numbering of the input graph (for drawing the paper's Fig. 2)."""
        _, _, outs = self.levels(data)
        ids = torch.arange(data.x.size(0), device=data.x.device)
        res = []
        for out in outs:
            ids = ids[out.so.kept]
            res.append({"atoms": ids.clone(), "edge_index": ids[out.edge_index], "batch": out.batch})
        return res


# --------------------------------------------------------------------------- figures
def _mol_coords(smiles: str):
    """RDKit 2D depiction coordinates ``[n, 2]`` and element symbols of a SMILES."""
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    mol = Chem.MolFromSmiles(smiles)
    rdDepictor.Compute2DCoords(mol)
    conf = mol.GetConformer()
    pos = np.array([[conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y] for i in range(mol.GetNumAtoms())])
    return pos, [a.GetSymbol() for a in mol.GetAtoms()]


def pooled_molecule_figure(smiles: str, edge_index: Tensor, levels: Sequence[Dict[str, Tensor]],
                           titles: Optional[Sequence[str]] = None, height: int = 330):
    """Plotly figure: the molecule (heavy atoms, RDKit 2D layout) and, beside it, the graph
    after each pooling level, drawn at the original atom positions.

    ``levels`` is a list of dicts with ``atoms`` (surviving atom ids) and ``edge_index``
    (pooled bonds in original atom ids), as returned by :meth:`DualMessageNet.coarsen`
    (one molecule) or built from :func:`contract_edges`. Bonds that were in the molecule
    are grey; bonds created by pooling are thick and orange. Dropped atoms are faint.
    """
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    pos, symbols = _mol_coords(smiles)
    n = len(symbols)
    ei0 = edge_index.cpu().numpy()
    original = {(int(u), int(v)) for u, v in ei0.T}
    panels = [{"atoms": np.arange(n), "edge_index": ei0}]
    panels += [{"atoms": lv["atoms"].cpu().numpy(), "edge_index": lv["edge_index"].cpu().numpy()} for lv in levels]
    if titles is None:
        titles = ["molecule"] + [f"after pooling {i + 1}" for i in range(len(levels))]
    titles = [f"{t} ({len(p['atoms'])} atoms)" for t, p in zip(titles, panels)]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.02)
    colors = {"C": "#555555", "N": "#3050F8", "O": "#FF0D0D", "S": "#C8A800", "F": "#22AA22", "Cl": "#1FAA1F",
              "Br": "#A62929", "I": "#940094", "P": "#FF8000"}
    for c, p in enumerate(panels, start=1):
        for new in (False, True):
            xs, ys = [], []
            for u, v in p["edge_index"].T:
                if u < v and (((int(u), int(v)) not in original) == new):
                    xs += [pos[u, 0], pos[v, 0], None]
                    ys += [pos[u, 1], pos[v, 1], None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color="#ff7f0e" if new else "#aaaaaa", width=4 if new else 2,
                                               dash="dot" if new else "solid")), 1, c)
        kept = np.zeros(n, dtype=bool)
        kept[p["atoms"]] = True
        for alive in (False, True):
            idx = np.nonzero(kept == alive)[0]
            fig.add_trace(go.Scatter(
                x=pos[idx, 0], y=pos[idx, 1], mode="markers+text", showlegend=False,
                text=[symbols[i] for i in idx], textfont=dict(color="white" if alive else "#bbbbbb", size=10),
                hovertext=[f"atom {i} ({symbols[i]})" for i in idx], hoverinfo="text",
                marker=dict(size=18 if alive else 10, opacity=1.0 if alive else 0.35,
                            color=[colors.get(symbols[i], "#888888") for i in idx],
                            line=dict(width=1, color="#333"))), 1, c)
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False)
    for c in range(1, len(panels) + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if c == 1 else c}", scaleratio=1, row=1, col=c)
    fig.update_layout(height=height, plot_bgcolor="white", margin=dict(l=5, r=5, t=40, b=5))
    return fig
