r"""Backbones and a hierarchical model builder.

* :class:`GNN` – a stack of message-passing layers on PyG (sparse) input;
* :class:`DenseGNN` – the same on a dense padded batch ``(x [B,N,F], adj [B,N,N], mask)``,
  used after a dense (soft-clustering) pooler;
* :func:`readout` – global mean / sum / max (or mean‖max) over each graph's nodes;
* :class:`HierarchicalGNN` – ``[GNN → pool]×L → GNN → readout → MLP`` with any poolers
  from the registry, returning ``(prediction, aux_losses)`` as :func:`poolkit.train.fit`
  expects;
* :class:`NodeClusterer` – ``GNN → pooler``, returning ``(SelectOutput, aux_losses)`` for
  unsupervised clustering (``fit(..., task="clustering")``).
"""
from __future__ import annotations

import inspect
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

__all__ = ["GNN", "DenseGNN", "MLP", "readout", "HierarchicalGNN", "NodeClusterer", "build_pooler", "CONVS"]

CONVS = ("gcn", "gin", "graphconv", "sage")


def _act(name: str) -> nn.Module:
    acts = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh, "identity": nn.Identity}
    if name not in acts:
        raise ValueError(f"act must be one of {sorted(acts)}, got {name!r}")
    return acts[name]()


class MLP(nn.Sequential):
    """``Linear → act → (dropout) → … → Linear``."""

    def __init__(self, channels: Sequence[int], act: str = "relu", dropout: float = 0.0):
        if len(channels) < 2:
            raise ValueError(f"channels needs at least input and output sizes, got {list(channels)}")
        layers: List[nn.Module] = []
        for i in range(len(channels) - 1):
            layers.append(nn.Linear(channels[i], channels[i + 1]))
            if i < len(channels) - 2:
                layers.append(_act(act))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


def _make_conv(kind: str, cin: int, cout: int):
    from torch_geometric import nn as gnn

    if kind == "gcn":
        return gnn.GCNConv(cin, cout)
    if kind == "gin":
        return gnn.GINConv(MLP([cin, cout, cout]), train_eps=True)
    if kind == "graphconv":
        return gnn.GraphConv(cin, cout)
    if kind == "sage":
        return gnn.SAGEConv(cin, cout)
    raise ValueError(f"conv must be one of {CONVS}, got {kind!r}")


def _make_dense_conv(kind: str, cin: int, cout: int):
    from torch_geometric import nn as gnn

    if kind == "gcn":
        return gnn.DenseGCNConv(cin, cout)
    if kind == "gin":
        return gnn.DenseGINConv(MLP([cin, cout, cout]), train_eps=True)
    if kind == "graphconv":
        return gnn.DenseGraphConv(cin, cout)
    if kind == "sage":
        return gnn.DenseSAGEConv(cin, cout)
    raise ValueError(f"conv must be one of {CONVS}, got {kind!r}")


class GNN(nn.Module):
    """``num_layers`` message-passing layers with activation (and optional dropout) after
    each. ``forward(x, edge_index, edge_weight=None)``; edge weights are used by ``gcn`` and
    ``graphconv`` and ignored by ``gin`` and ``sage``."""

    def __init__(self, in_channels: int, hidden: int = 64, num_layers: int = 2, conv: str = "gcn",
                 act: str = "relu", dropout: float = 0.0, out_channels: Optional[int] = None, last_act: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        out_channels = hidden if out_channels is None else out_channels
        sizes = [in_channels] + [hidden] * (num_layers - 1) + [out_channels]
        self.conv_kind = conv
        self.convs = nn.ModuleList(_make_conv(conv, sizes[i], sizes[i + 1]) for i in range(num_layers))
        self.act = _act(act)
        self.dropout = dropout
        self.last_act = last_act
        self.out_channels = out_channels

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        use_w = self.conv_kind in ("gcn", "graphconv") and edge_weight is not None
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index, edge_weight) if use_w else conv(x, edge_index)
            if i < len(self.convs) - 1 or self.last_act:
                x = self.act(x)
                if self.dropout > 0:
                    x = nn.functional.dropout(x, self.dropout, self.training)
        return x


class DenseGNN(nn.Module):
    """Dense counterpart of :class:`GNN`: ``forward(x [B,N,F], adj [B,N,N], mask [B,N])``."""

    def __init__(self, in_channels: int, hidden: int = 64, num_layers: int = 1, conv: str = "graphconv",
                 act: str = "relu", dropout: float = 0.0, last_act: bool = True):
        super().__init__()
        sizes = [in_channels] + [hidden] * num_layers
        self.convs = nn.ModuleList(_make_dense_conv(conv, sizes[i], sizes[i + 1]) for i in range(num_layers))
        self.act = _act(act)
        self.dropout = dropout
        self.last_act = last_act
        self.out_channels = hidden

    def forward(self, x: Tensor, adj: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x, adj, mask)
            if i < len(self.convs) - 1 or self.last_act:
                x = self.act(x)
                if self.dropout > 0:
                    x = nn.functional.dropout(x, self.dropout, self.training)
        return x


def readout(x: Tensor, batch: Optional[Tensor] = None, mask: Optional[Tensor] = None, kind: str = "mean",
            num_graphs: Optional[int] = None) -> Tensor:
    """Graph embedding per graph: ``mean``, ``sum``, ``max`` or ``meanmax`` (concatenated).

    ``x`` is ``[N, F]`` with ``batch`` (PyG layout) or ``[B, N, F]`` with ``mask``.
    """
    if kind == "meanmax":
        return torch.cat([readout(x, batch, mask, "mean", num_graphs), readout(x, batch, mask, "max", num_graphs)], -1)
    if x.dim() == 3:
        m = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if mask is None else mask.bool()
        mf = m.unsqueeze(-1).to(x.dtype)
        if kind == "sum":
            return (x * mf).sum(1)
        if kind == "mean":
            return (x * mf).sum(1) / mf.sum(1).clamp(min=1)
        if kind == "max":
            filled = x.masked_fill(~m.unsqueeze(-1), float("-inf")).amax(1)
            return torch.where(torch.isinf(filled), torch.zeros_like(filled), filled)
        raise ValueError(f"kind must be mean, sum, max or meanmax, got {kind!r}")
    from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    fn = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}.get(kind)
    if fn is None:
        raise ValueError(f"kind must be mean, sum, max or meanmax, got {kind!r}")
    return fn(x, batch, size=num_graphs)


def build_pooler(spec, in_channels: int, **defaults):
    """A pooler from a registry name, a ``(name, kwargs)`` pair, a ``Pooler`` instance or a
    callable ``in_channels -> Pooler``. ``in_channels`` is passed when the pooler's
    constructor takes it and it was not given."""
    from ..src import Pooler, get_pooler, _REGISTRY

    if isinstance(spec, Pooler):
        return spec
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        name, kwargs = spec[0], dict(spec[1])
    elif callable(spec):
        return spec(in_channels)
    else:
        raise ValueError(f"poolers entries must be a name, (name, kwargs), a Pooler or a callable; got {spec!r}")
    if name not in _REGISTRY:
        get_pooler(name)  # raises the registry's ValueError listing valid names
    params = inspect.signature(_REGISTRY[name].__init__).parameters
    kw = {k: v for k, v in defaults.items() if k in params}
    kw.update(kwargs)
    if "in_channels" in params and "in_channels" not in kw:
        kw["in_channels"] = in_channels
    return get_pooler(name, **kw)


def sparse_input(out, x: Tensor):
    """A dense pooled batch in PyG layout, the input of a sparse pooler that follows a dense
    one: ``x [B, K, F]`` (the block's features on the supernodes of ``out``) as ``(x [N, F],
    edge_index, edge_weight, batch)`` from :meth:`~poolkit.src.PoolingOutput.to_sparse`, with
    the self-loops of ``adj`` dropped (the sparse convolutions add their own)."""
    from dataclasses import replace

    from torch_geometric.utils import remove_self_loops

    s = replace(out, x=x).to_sparse()
    edge_index, edge_weight = remove_self_loops(s.edge_index, s.edge_weight)
    return s.x, edge_index, edge_weight, s.batch


class HierarchicalGNN(nn.Module):
    """``GNN → pool → GNN → pool → … → readout → MLP``.

    ``poolers`` lists one entry per pooling level (see :func:`build_pooler`); an empty list
    gives the flat baseline ``GNN → readout → MLP``. After a dense pooler the following
    blocks run on the dense pooled batch (:class:`DenseGNN`); a sparse pooler after a dense
    one gets the dense batch converted back to PyG layout. Auxiliary losses of all levels are
    returned with their own names (summed when two levels use the same name).
    ``model.last_outputs`` keeps the :class:`~poolkit.src.PoolingOutput` of each level of
    the last forward pass.
    """

    def __init__(self, in_channels: int, out_channels: int, poolers: Sequence = ("mincut",), hidden: int = 64,
                 layers_per_block: int = 1, conv: str = "gcn", dense_conv: str = "graphconv", readout: str = "mean",
                 dropout: float = 0.0, mlp_layers: int = 2, pool_kwargs: Optional[dict] = None, act: str = "relu"):
        super().__init__()
        pool_kwargs = pool_kwargs or {}
        self.readout_kind = readout
        self.blocks = nn.ModuleList()
        self.pools = nn.ModuleList()
        dense = False
        cin = in_channels
        for spec in list(poolers) + [None]:
            if dense:
                block = DenseGNN(cin, hidden, layers_per_block, conv=dense_conv, act=act, dropout=dropout)
            else:
                block = GNN(cin, hidden, layers_per_block, conv=conv, act=act, dropout=dropout)
            self.blocks.append(block)
            cin = hidden
            if spec is not None:
                pool = build_pooler(spec, hidden, **pool_kwargs)
                self.pools.append(pool)
                dense = bool(getattr(pool, "is_dense", False))
                cin = pool.pooled_channels(hidden) if hasattr(pool, "pooled_channels") else hidden
        ro = hidden * (2 if readout == "meanmax" else 1)
        self.head = MLP([ro] + [hidden] * (mlp_layers - 1) + [out_channels], act=act, dropout=dropout)
        self.last_outputs: list = []

    def forward(self, data):
        x, edge_index = data.x, data.edge_index
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = int(getattr(data, "num_graphs", int(batch.max()) + 1 if batch.numel() else 1))
        ew = getattr(data, "edge_weight", None)
        adj = mask = None
        aux: Dict[str, Tensor] = {}
        self.last_outputs = []
        for level, block in enumerate(self.blocks):
            if isinstance(block, DenseGNN):
                x = block(x, adj, mask)
            else:
                x = block(x, edge_index, ew)
            if level == len(self.pools):
                break
            pool = self.pools[level]
            if x.dim() == 3 and getattr(pool, "is_dense", False):      # dense batch, dense pooler
                out = pool(x, adj=adj, mask=mask)
            else:
                if x.dim() == 3:                                       # dense batch, sparse pooler
                    x, edge_index, ew, batch = sparse_input(self.last_outputs[-1], x)
                out = pool(x, edge_index, batch=batch, edge_weight=ew)
            # the layout the next block runs in (dense after a dense pooler)
            if isinstance(self.blocks[level + 1], DenseGNN):
                nxt = out.to_dense()
                x, adj = nxt.x, nxt.adj
                mask = nxt.mask if nxt.mask is not None else torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
            else:
                nxt = out.to_sparse()
                x, edge_index, ew = nxt.x, nxt.edge_index, nxt.edge_weight
                batch = nxt.batch if nxt.batch is not None else torch.zeros(x.size(0), dtype=torch.long, device=x.device)
            self.last_outputs.append(out)
            for k, v in out.losses.items():
                aux[k] = aux[k] + v if k in aux else v
        if x.dim() == 3:
            h = readout(x, mask=mask, kind=self.readout_kind)
        else:
            h = readout(x, batch, kind=self.readout_kind, num_graphs=num_graphs)
        pred = self.head(h)
        if pred.size(-1) == 1:
            pred = pred.view(-1)
        return pred, aux


class NodeClusterer(nn.Module):
    """``GNN → pooler`` for unsupervised clustering of the nodes of each graph.

    ``forward(data)`` returns ``(SelectOutput, aux_losses)``; ``fit(model, loader,
    task="clustering")`` minimises the pooler's own losses and ``evaluate`` reports NMI of
    ``argmax S`` against ``data.y``.
    """

    def __init__(self, in_channels: int, k: int, pooler: Union[str, object] = "mincut", hidden: int = 32,
                 num_layers: int = 1, conv: str = "gcn", act: str = "relu", **pool_kwargs):
        super().__init__()
        self.gnn = GNN(in_channels, hidden, num_layers, conv=conv, act=act)
        self.pool = build_pooler(pooler, hidden, k=k, **pool_kwargs)
        self.last_output = None

    def forward(self, data):
        h = self.gnn(data.x, data.edge_index, getattr(data, "edge_weight", None))
        out = self.pool(h, data.edge_index, batch=getattr(data, "batch", None),
                        edge_weight=getattr(data, "edge_weight", None))
        self.last_output = out
        return out.so, out.losses
