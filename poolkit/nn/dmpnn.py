r"""Directed message passing (D-MPNN, Yang et al. 2019), the GMPool paper's backbone.

Hidden states live on *directed* edges ``i → j``. With node features ``x_i``, edge
features ``e_ij``, ``T`` steps and ``N(i)`` the neighbours of ``i``:

.. math::

    h^0_{ij} &= \mathrm{ReLU}(W_i [x_i \,\|\, e_{ij}])                     &&\text{(edge and source node)}\\
    m^{t+1}_{ij} &= \textstyle\sum_{k \in N(i) \setminus j} h^t_{ki}      &&\text{(paper eq. 1: no reverse edge)}\\
    h^{t+1}_{ij} &= \mathrm{Dropout}(\mathrm{ReLU}(h^0_{ij} + W_m m^{t+1}_{ij}))  &&\text{(eq. 2)}\\
    m_i &= \textstyle\sum_{j \in N(i)} h^T_{ji}                            &&\text{(eq. 3)}\\
    h_i &= \mathrm{Dropout}(\mathrm{ReLU}(W_a [x_i \,\|\, m_i]))            &&\text{(eq. 4)}

Hidden size 200 and dropout 0.15 by default, as in the paper. ``m^{t+1}_{ij}`` is
computed as (all messages into ``i``) minus (the message ``j → i``), so one step costs
``O(|E|)``. A directed edge without a reverse edge in ``edge_index`` subtracts nothing.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..src import check_graph_inputs, check_positive_int

__all__ = ["DMPNN", "DMPNNPoolNet", "reverse_edge_index"]


def reverse_edge_index(edge_index: Tensor, num_nodes: int) -> Tensor:
    """For each edge ``e = (i, j)`` the position of ``(j, i)`` in ``edge_index``, or -1."""
    src, dst = edge_index
    key = src * num_nodes + dst
    rkey = dst * num_nodes + src
    order = torch.argsort(key)
    skey = key[order]
    pos = torch.searchsorted(skey, rkey).clamp(max=max(skey.numel() - 1, 0))
    found = skey.numel() > 0
    rev = torch.full_like(src, -1)
    if found:
        hit = skey[pos] == rkey
        rev[hit] = order[pos[hit]]
    return rev


class DMPNN(nn.Module):
    r"""D-MPNN encoder: ``forward(x, edge_index, edge_attr)`` returns node states ``[N, hidden]``.

    Args:
        in_channels: node feature size.
        edge_dim: edge feature size (0 for graphs without edge features).
        hidden: hidden size (200 in the paper).
        depth: ``T + 1`` in the formulas: ``h^0`` counts as the first step, then ``depth - 1``
            updates (Chemprop's convention; ``depth=3`` is Chemprop's default).
        dropout: dropout after each update (0.15 in the paper).
    """

    def __init__(self, in_channels: int, edge_dim: int, hidden: int = 200, depth: int = 3, dropout: float = 0.15):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(hidden, "hidden")
        check_positive_int(depth, "depth")
        if isinstance(edge_dim, bool) or not isinstance(edge_dim, int) or edge_dim < 0:
            raise ValueError(f"edge_dim must be an integer >= 0, got {edge_dim!r}")
        if not (0.0 <= dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.in_channels, self.edge_dim, self.hidden, self.depth = in_channels, edge_dim, hidden, depth
        self.w_i = nn.Linear(in_channels + edge_dim, hidden, bias=False)
        self.w_m = nn.Linear(hidden, hidden, bias=False)
        self.w_a = nn.Linear(in_channels + hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None, return_edges: bool = False):
        check_graph_inputs(x, edge_index, edge_attr=edge_attr)
        if x.size(1) != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} features, got {x.size(1)}")
        m_edges = edge_index.size(1)
        if self.edge_dim > 0:
            if edge_attr is None:
                raise ValueError(f"edge_attr is required (edge_dim={self.edge_dim})")
            edge_attr = edge_attr.reshape(m_edges, edge_attr.numel() // max(m_edges, 1) if m_edges else self.edge_dim)
            if edge_attr.size(1) != self.edge_dim:
                raise ValueError(f"edge_attr must have {self.edge_dim} features, got {edge_attr.size(1)}")
        n = x.size(0)
        src, dst = edge_index[0], edge_index[1]
        inp = x[src] if self.edge_dim == 0 else torch.cat([x[src], edge_attr.to(x.dtype)], -1)
        h0 = torch.relu(self.w_i(inp))
        h = h0
        rev = reverse_edge_index(edge_index, n)
        has_rev = (rev >= 0).unsqueeze(-1).to(x.dtype)
        rev_c = rev.clamp(min=0)
        for _ in range(self.depth - 1):
            into = x.new_zeros(n, self.hidden).index_add_(0, dst, h)  # Σ_k h_{k→i}, indexed by i
            msg = into[src] - h[rev_c] * has_rev  # drop the reverse edge j → i
            h = self.dropout(torch.relu(h0 + self.w_m(msg)))
        m_node = x.new_zeros(n, self.hidden).index_add_(0, dst, h)
        out = self.dropout(torch.relu(self.w_a(torch.cat([x, m_node], -1))))
        return (out, h) if return_edges else out

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, edge_dim={self.edge_dim}, hidden={self.hidden}, depth={self.depth}"


class DMPNNPoolNet(nn.Module):
    r"""Graph-level model of the GMPool paper: D-MPNN → (one pooling level) → readout → MLP.

    ``pool=None`` is the plain D-MPNN baseline (average of the node states). With a dense
    pooler name (``"gmpool"``, ``"ngmpool"``, ``"diffpool"``, ...), the node states are
    pooled to ``X' [B, K, H]``, ``A' [B, K, K]`` (and ``E' [B, K, K, D]`` when the pooler
    pools edge features), normalised with a LayerNorm (our choice: ``Sᵀ X`` and ``M X``
    grow with the group sizes), passed through one dense message-passing layer on the
    pooled graph,

    .. math:: X'' = \mathrm{ReLU}\big(W_0 X' + W_1 \hat A' X' + \textstyle\sum_c W_{c+1} \hat E'_c X'\big),
              \quad \hat A' = D'^{-1} A', \ \hat E'_c = D'^{-1} E'_c,\ D' = \mathrm{diag}(A' 1) + I,

    and averaged over the supernodes each graph has (``out.mask``): the paper's "global
    average pooling". ``forward(data)`` returns ``(prediction, aux_losses)``.
    """

    def __init__(
        self,
        in_channels: int,
        edge_dim: int,
        out_channels: int = 1,
        hidden: int = 200,
        depth: int = 3,
        dropout: float = 0.15,
        pool: Optional[str] = None,
        **pool_kwargs,
    ):
        super().__init__()
        from ..src import get_pooler

        self.encoder = DMPNN(in_channels, edge_dim, hidden, depth, dropout)
        self.pool_name = pool
        self.pool = None
        if pool is not None:
            self.pool = get_pooler(pool, in_channels=hidden, **pool_kwargs)
            if not self.pool.is_dense:
                raise ValueError(f"pool must name a dense pooler, {pool!r} is sparse")
            self.norm = nn.LayerNorm(hidden)
            self.post = nn.Linear(hidden * (2 + edge_dim), hidden)
        self.edge_dim = edge_dim
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_channels))
        self.last = None  # the last PoolingOutput, for figures

    def embed(self, data):
        """Graph embeddings ``[B, hidden]`` and the auxiliary losses."""
        from torch_geometric.utils import scatter

        h = self.encoder(data.x, data.edge_index, getattr(data, "edge_attr", None))
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(h.size(0), dtype=torch.long, device=h.device)
        if self.pool is None:
            return scatter(h, batch, 0, reduce="mean", dim_size=int(getattr(data, "num_graphs", int(batch.max()) + 1))), {}
        ea = getattr(data, "edge_attr", None) if self.edge_dim > 0 else None
        out = self.pool(h, data.edge_index, batch, edge_attr=ea)
        self.last = out
        xp = self.norm(out.x)
        mask = out.mask.unsqueeze(-1).to(xp.dtype)
        xp = xp * mask
        deg = out.adj.sum(-1, keepdim=True).abs() + 1.0
        parts = [xp, (out.adj / deg) @ xp]
        if self.edge_dim > 0:
            e = out.edge_attr
            if e is None:
                parts.append(xp.new_zeros(xp.size(0), xp.size(1), self.edge_dim * xp.size(2)))
            else:  # Σ_l E'_{klc} x'_l / d_k for every channel c, as one product
                ex = torch.einsum("bklc,blh->bkch", e, xp) / deg.unsqueeze(-1)
                parts.append(ex.reshape(xp.size(0), xp.size(1), -1))
        x2 = torch.relu(self.post(torch.cat(parts, -1))) * mask
        g = x2.sum(1) / mask.sum(1).clamp(min=1.0)
        return g, dict(out.losses)

    def forward(self, data):
        g, aux = self.embed(data)
        return self.head(g), aux
