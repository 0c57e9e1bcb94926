"""Synthetic graphs with known structure: community graphs, motifs, grids, rings, karate.

Every generator is deterministic given ``seed`` and returns PyG ``Data`` with undirected
edges stored in both directions. Node-level ground truth (communities, factions) is in
``data.y``; graph-level labels (motif present or not) in ``data.y`` of each graph.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

__all__ = ["sbm", "karate", "grid", "ring", "motif_dataset", "sbm_dataset", "from_networkx"]

FEATURES = ("onehot", "random", "degree", "degree_onehot", "constant", "noisy_block")
#: degrees at or above this share the last slot of ``feature="degree_onehot"``
MAX_ONEHOT_DEGREE = 8


def _edge_index_from_pairs(pairs: np.ndarray, n: int) -> torch.Tensor:
    """Undirected pairs ``[m, 2]`` → coalesced ``edge_index`` with both directions."""
    if len(pairs) == 0:
        return torch.empty(2, 0, dtype=torch.long)
    p = torch.as_tensor(np.asarray(pairs), dtype=torch.long)
    ei = torch.cat([p.t(), p.t().flip(0)], 1)
    key = torch.unique(ei[0] * n + ei[1])
    return torch.stack([key // n, key % n])


def _features(kind: str, n: int, edge_index: torch.Tensor, rng: np.random.Generator, dim: int,
              blocks: Optional[np.ndarray] = None, noise: float = 1.0) -> torch.Tensor:
    if kind == "onehot":
        return torch.eye(n)
    if kind == "random":
        return torch.as_tensor(rng.standard_normal((n, dim)), dtype=torch.float)
    if kind == "constant":
        return torch.ones(n, 1)
    if kind == "degree":
        deg = torch.bincount(edge_index[0], minlength=n).float()
        return torch.stack([deg, torch.ones(n)], 1)
    if kind == "degree_onehot":
        deg = torch.bincount(edge_index[0], minlength=n).clamp(max=MAX_ONEHOT_DEGREE)
        return torch.nn.functional.one_hot(deg, MAX_ONEHOT_DEGREE + 1).float()
    if kind == "noisy_block":
        if blocks is None:
            raise ValueError("feature='noisy_block' needs block labels")
        k = int(blocks.max()) + 1
        centres = rng.standard_normal((k, dim))
        return torch.as_tensor(centres[blocks] + noise * rng.standard_normal((n, dim)), dtype=torch.float)
    raise ValueError(f"feature must be one of {FEATURES}, got {kind!r}")


def sbm(sizes: Sequence[int] = (20, 20, 20), p_in: float = 0.3, p_out: float = 0.02, seed: int = 0,
        feature: str = "onehot", dim: int = 16, noise: float = 1.0) -> Data:
    """A stochastic block model: blocks of ``sizes`` nodes, edge probability ``p_in``
    inside a block and ``p_out`` between blocks. ``y`` [N] is the block of each node.

    ``feature``: ``"onehot"`` (identity, structure only), ``"random"`` (Gaussian, ``dim``),
    ``"degree"`` (degree and a constant), ``"degree_onehot"`` (one-hot degree, the last slot
    for degree ≥ :data:`MAX_ONEHOT_DEGREE`), ``"constant"``, or ``"noisy_block"`` (block centre + Gaussian noise of
    scale ``noise``: features that carry the communities too).
    """
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"sizes must be positive integers, got {tuple(sizes)}")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    rng = np.random.default_rng(seed)
    blocks = np.repeat(np.arange(len(sizes)), sizes)
    n = len(blocks)
    iu, ju = np.triu_indices(n, k=1)
    prob = np.where(blocks[iu] == blocks[ju], p_in, p_out)
    keep = rng.random(len(iu)) < prob
    edge_index = _edge_index_from_pairs(np.stack([iu[keep], ju[keep]], 1), n)
    x = _features(feature, n, edge_index, rng, dim, blocks, noise)
    return Data(x=x, edge_index=edge_index, y=torch.as_tensor(blocks, dtype=torch.long), num_nodes=n)


def sbm_dataset(num_graphs: int = 100, sizes: Sequence[int] = (10, 10, 10), p_in: float = 0.5,
                p_out: float = 0.03, seed: int = 0, feature: str = "noisy_block", jitter: int = 3, **kw) -> List[Data]:
    """Many SBM graphs whose block sizes vary by up to ``jitter`` nodes (node labels = blocks)."""
    rng = np.random.default_rng(seed)
    out = []
    for g in range(num_graphs):
        sz = [max(2, int(s + rng.integers(-jitter, jitter + 1))) for s in sizes]
        out.append(sbm(sz, p_in, p_out, seed=int(rng.integers(2**31)), feature=feature, **kw))
    return out


def from_networkx(g, feature: str = "onehot", dim: int = 16, seed: int = 0) -> Data:
    """A networkx graph (nodes relabelled 0..n-1 in sorted order) → ``Data``."""
    import networkx as nx

    g = nx.convert_node_labels_to_integers(g, ordering="sorted")
    n = g.number_of_nodes()
    pairs = np.array([(u, v) for u, v in g.edges() if u != v], dtype=np.int64).reshape(-1, 2)
    edge_index = _edge_index_from_pairs(pairs, n)
    x = _features(feature, n, edge_index, np.random.default_rng(seed), dim)
    return Data(x=x, edge_index=edge_index, num_nodes=n)


def karate(feature: str = "onehot") -> Data:
    """Zachary's karate club (34 members); ``y`` = faction after the split (0: Mr. Hi,
    1: Officer), as networkx records it."""
    import networkx as nx

    g = nx.karate_club_graph()
    data = from_networkx(g, feature=feature)
    data.y = torch.tensor([0 if g.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(g.number_of_nodes())])
    return data


def grid(height: int = 8, width: int = 8, feature: str = "constant") -> Data:
    """A 2-D grid; ``pos`` holds the coordinates (handy for drawing)."""
    import networkx as nx

    g = nx.grid_2d_graph(height, width)
    data = from_networkx(g, feature=feature)
    data.pos = torch.tensor(sorted(g.nodes()), dtype=torch.float)
    return data


def ring(n: int = 20, feature: str = "constant") -> Data:
    """A cycle of ``n`` nodes; ``pos`` places it on the unit circle."""
    import networkx as nx

    data = from_networkx(nx.cycle_graph(n), feature=feature)
    t = torch.arange(n, dtype=torch.float) * (2 * np.pi / n)
    data.pos = torch.stack([t.cos(), t.sin()], 1)
    return data


_HOUSE = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 4), (1, 4)]   # square 0-1-2-3 with roof 4
_BOWTIE = [(0, 1), (1, 2), (2, 0), (0, 3), (3, 4), (4, 0)]  # two triangles sharing node 0


def motif_dataset(num_graphs: int = 200, base_nodes=20, seed: int = 0, feature: str = "constant",
                  base: str = "ba") -> List[Data]:
    """Graph classification: a random base graph (Barabási–Albert, ``m=1``, or Erdős–Rényi)
    with a *house* motif attached (label 1) or a *bow-tie* (label 0).

    Both motifs have 5 nodes and 6 edges, so the label is decided by structure alone, not by
    size or degree counts. ``data.motif`` marks the motif's nodes. ``base_nodes`` is the size
    of the base graph, or a pair ``(low, high)``: each graph then draws its size uniformly
    from ``low..high`` (inclusive), the same way for both labels.
    """
    import networkx as nx

    pair = tuple(base_nodes) if isinstance(base_nodes, (tuple, list)) else (base_nodes, base_nodes)
    if len(pair) != 2 or not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in pair) \
            or not 2 <= pair[0] <= pair[1]:
        raise ValueError(f"base_nodes must be an int >= 2 or a pair (low, high) with 2 <= low <= high, got {base_nodes!r}")
    lo, hi = int(pair[0]), int(pair[1])
    rng = np.random.default_rng(seed)
    out = []
    for g_id in range(num_graphs):
        label = int(g_id % 2 == 0) if num_graphs > 1 else 1
        s = int(rng.integers(2**31))
        n_base = lo if lo == hi else int(rng.integers(lo, hi + 1))  # a fixed size draws nothing
        if base == "ba":
            g = nx.barabasi_albert_graph(n_base, 1, seed=s)
        elif base == "er":
            g = nx.gnp_random_graph(n_base, 3.0 / n_base, seed=s)
        else:
            raise ValueError(f"base must be 'ba' or 'er', got {base!r}")
        motif = _HOUSE if label else _BOWTIE
        off = n_base
        pairs = [(u, v) for u, v in g.edges()] + [(u + off, v + off) for u, v in motif]
        pairs.append((int(rng.integers(n_base)), off + int(rng.integers(5))))
        n = n_base + 5
        ei = _edge_index_from_pairs(np.array(pairs, dtype=np.int64), n)
        x = _features(feature, n, ei, rng, 16)
        d = Data(x=x, edge_index=ei, y=torch.tensor([label]), num_nodes=n)
        d.motif = torch.cat([torch.zeros(n_base, dtype=torch.bool), torch.ones(5, dtype=torch.bool)])
        out.append(d)
    perm = rng.permutation(len(out))
    return [out[i] for i in perm]
