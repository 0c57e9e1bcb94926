r"""Connect with edge features for Bal et al.'s pooling (section 2.2, Fig. 1): kept atoms
``u ≠ v`` are joined when a path ``u–v``, ``u–x–v`` or ``u–x–y–v`` through dropped atoms
joins them, and the pooled edge feature is the sum over those paths of a path feature.
:func:`contraction_paths` lists the paths, :func:`contract_edges` sums their features.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = ['contraction_paths', 'contract_edges']


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
