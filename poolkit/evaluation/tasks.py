r"""Building and running poolers for the lenses: the WL-pair task and the pooling autoencoder."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from poolkit import src
from poolkit.src import PoolingOutput
from poolkit.evaluation.lenses import expressive_selection, reconstruction_error, reduce_residual, structure_distances
from poolkit.train import fit


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


class _OnBatch(nn.Module):
    """A lens model as :func:`poolkit.train.fit` trains it: ``forward(batch)`` gives the
    prediction and the pooler's named losses (added unweighted to the lens's loss)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, data):
        pred, out = self.model(data.x, data.edge_index, data.batch)[:2]
        return pred, out.losses


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
    y, pair = data.y.view(-1), data.pair.view(-1)
    fit(_OnBatch(model), [data], epochs=epochs, lr=lr, progress=False, device=data.x.device,
        loss_fn=lambda score, _: F.softplus(-_pair_margins(score, y, pair)).mean())
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
    fit(_OnBatch(model), [data], epochs=steps, lr=lr, progress=False, device=data.x.device,
        loss_fn=lambda rec, batch: F.mse_loss(rec, batch.x))
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
