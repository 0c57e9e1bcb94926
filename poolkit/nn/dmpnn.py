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

    ``pool=None`` is the plain D-MPNN baseline (average of the node states). With a pooler
    name, the node states are pooled: a dense pooler (``"gmpool"``, ``"ngmpool"``,
    ``"diffpool"``, ...) gives ``X' [B, K, H]``, ``A' [B, K, K]`` and ``E' [B, K, K, D]``; a
    sparse one (``"topk"``, ``"sag"``) gives the kept nodes with their induced bonds. The
    supernode states are normalised with a LayerNorm when ``supernode_norm="layer"`` (our
    first choice: ``Sᵀ X`` and ``M X`` grow with the group sizes; it rescales every supernode
    row to unit variance and so undoes GMPool's ``√λ`` column weighting) or left as they are
    with ``supernode_norm="none"`` (the paper's path: no per-supernode normalisation), passed
    through one message-passing layer on the pooled graph,

    .. math:: X'' = \mathrm{ReLU}\big(W_0 X' + W_1 \hat A' X' + W_2 \hat E' X'\big),
              \quad \hat A' = D'^{-1} A', \ \hat E' = D'^{-1} \textstyle\sum_c u_c E'_{:,:,c},
              \ D' = \mathrm{diag}(|A' 1|) + I,

    (``u`` a learned weight per bond feature: the bond features of the pooled graph weight
    its edges), and averaged over the supernodes each graph has (the paper's "global average
    pooling"). The layer runs on the real supernodes only, not on the padding of a dense
    batch. ``forward(data)`` returns ``(prediction, aux_losses)``.

    The edge term mixes the bond channels into one weighted adjacency before the product
    with ``X'``; a weight matrix per bond channel (``Σ_c W_c Ê'_c X'``) would cost ``D``
    more ``H × H`` products per supernode, more than the whole D-MPNN encoder. Since
    pooling is linear in the edge features (``Sᵀ (Σ_c u_c E_c) S = Σ_c u_c Sᵀ E_c S``), the
    mixture ``Σ_c u_c e_{ij,c}`` is formed on the bonds and pooled as one channel.
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
        supernode_norm: str = "layer",
        **pool_kwargs,
    ):
        super().__init__()
        from ..src import get_pooler

        if supernode_norm not in ("layer", "none"):
            raise ValueError(f"supernode_norm must be 'layer' or 'none', got {supernode_norm!r}")
        self.supernode_norm = supernode_norm

        self.encoder = DMPNN(in_channels, edge_dim, hidden, depth, dropout)
        self.pool_name = pool
        self.pool = None
        if pool is not None:
            self.pool = get_pooler(pool, in_channels=hidden, **pool_kwargs)
            self.norm = nn.LayerNorm(hidden) if supernode_norm == "layer" else nn.Identity()
            self.post = nn.Linear(hidden * (3 if edge_dim > 0 else 2), hidden)
            if edge_dim > 0:
                self.edge_mix = nn.Linear(edge_dim, 1, bias=False)
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
        num_graphs = int(getattr(data, "num_graphs", None) or int(batch.max()) + 1)
        if self.pool is None:
            return scatter(h, batch, 0, reduce="mean", dim_size=num_graphs), {}
        ea = getattr(data, "edge_attr", None) if self.edge_dim > 0 else None
        if ea is not None:  # Σ_c u_c e_ij,c on every bond, pooled as one channel
            ea = self.edge_mix(ea.reshape(data.edge_index.size(1), -1).to(h.dtype))
        out = self.pool(h, data.edge_index, batch, edge_attr=ea)
        self.last = out
        if out.is_dense:
            rows, row_batch = self._post_dense(out)
        else:
            rows, row_batch = self._post_sparse(out)
        g = scatter(rows, row_batch, 0, reduce="mean", dim_size=num_graphs)
        return g, dict(out.losses)

    def _post_dense(self, out):
        mask = out.mask
        xd = self.norm(out.x) * mask.unsqueeze(-1).to(out.x.dtype)
        deg = out.adj.sum(-1, keepdim=True).abs() + 1.0
        parts = [xd, (out.adj / deg) @ xd]
        if self.edge_dim > 0:
            if out.edge_attr is None:
                parts.append(torch.zeros_like(xd))
            else:
                parts.append((out.edge_attr[..., 0] / deg) @ xd)  # Σ_c u_c E'_c, [B, K, K]
        rows = torch.relu(self.post(torch.cat(parts, -1)[mask]))  # real supernodes only
        row_batch = torch.arange(mask.size(0), device=mask.device).unsqueeze(1).expand_as(mask)[mask]
        return rows, row_batch

    def _post_sparse(self, out):
        from torch_geometric.utils import scatter

        xp = self.norm(out.x)
        n = xp.size(0)
        src, dst = out.edge_index
        w = out.edge_weight if out.edge_weight is not None else xp.new_ones(src.numel())
        deg = scatter(w, dst, 0, dim_size=n, reduce="sum").abs().unsqueeze(-1) + 1.0
        parts = [xp, scatter(xp[src] * w.unsqueeze(-1), dst, 0, dim_size=n, reduce="sum") / deg]
        if self.edge_dim > 0:
            if out.edge_attr is None:
                parts.append(torch.zeros_like(xp))
            else:
                ew = out.edge_attr.reshape(-1).to(xp.dtype) * w
                parts.append(scatter(xp[src] * ew.unsqueeze(-1), dst, 0, dim_size=n, reduce="sum") / deg)
        batch = out.batch if out.batch is not None else torch.zeros(n, dtype=torch.long, device=xp.device)
        return torch.relu(self.post(torch.cat(parts, -1))), batch

    def forward(self, data):
        g, aux = self.embed(data)
        return self.head(g), aux
