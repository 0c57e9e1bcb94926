r"""Graphs for judging poolers: WL-distinguishable pairs and point-cloud-like graphs.

* :func:`wl_pairs` — pairs of non-isomorphic graphs with the same number of nodes, the
  same number of edges and even the same degree sequence, that the 1-WL test tells apart
  (their networkx Weisfeiler–Lehman hashes differ). The first graph of a pair has label 0,
  the second label 1, so a model that separates every pair has accuracy 1.

  How this differs from EXPWL1 (Bianchi & Lachi, NeurIPS 2023): EXPWL1 holds 1,500 fixed
  pairs built from 3-SAT formulas (the EXP graphs of Abboud et al., made 1-WL
  distinguishable) and labels a graph by the satisfiability of its formula, so a model can
  also be tested on pairs it never saw. Here each pair is a random connected graph and a
  copy with one *degree-preserving double edge swap*: the two graphs differ in at most four
  nodes' neighbourhoods, and in nothing a degree count can see. There is no rule behind the
  labels, so the task measures whether a pooled model can *separate* two given graphs at
  all (accuracy on the pairs it is trained on), which is the property the expressiveness
  theorem speaks about; it does not measure generalisation.

* :func:`point_cloud` — a ring, a 2-D grid, a triangulated mesh, a torus or a molecule,
  each with 3-D node coordinates in ``pos`` (flat ones have ``z = 0``) and, as the signal to reconstruct, the same
  coordinates centred and scaled to unit RMS in ``x``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data

__all__ = ["wl_pairs", "wl_hash", "point_cloud", "point_clouds", "torus", "triangle_mesh", "POINT_CLOUDS"]

POINT_CLOUDS = ("ring", "grid", "mesh", "torus", "molecule")
TESTOSTERONE = "CC12CCC3C(C1CCC2O)CCC4=CC(=O)CCC34C"


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def wl_hash(data_or_graph, iterations: int = 2) -> str:
    """The networkx Weisfeiler–Lehman graph hash (no node labels) of a ``Data`` or a
    networkx graph, after ``iterations`` refinement rounds."""
    import warnings

    import networkx as nx

    g = data_or_graph
    if isinstance(g, Data):
        g = nx.Graph()
        g.add_nodes_from(range(data_or_graph.num_nodes))
        g.add_edges_from(data_or_graph.edge_index.t().tolist())
    with warnings.catch_warnings():  # networkx 3.5 notes that unlabelled hashes changed once
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(g, iterations=iterations)


def _to_data(g, perm: np.ndarray, label: int, pair: int, changed: Sequence[int], feature: str) -> Data:
    n = g.number_of_nodes()
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)  # node v of g becomes node inv[v]
    e = np.array([(inv[u], inv[v]) for u, v in g.edges()], dtype=np.int64).reshape(-1, 2)
    ei = torch.as_tensor(np.concatenate([e, e[:, ::-1]]).T.copy(), dtype=torch.long)
    key = torch.unique(ei[0] * n + ei[1])
    ei = torch.stack([key // n, key % n])
    mark = torch.zeros(n, dtype=torch.bool)
    mark[torch.as_tensor(inv[list(changed)], dtype=torch.long)] = True
    from .synthetic import _features

    x = _features(feature, n, ei, np.random.default_rng(0), 1)
    return Data(x=x, edge_index=ei, y=torch.tensor([label]), pair=torch.tensor([pair]),
                changed=mark, num_nodes=n)


def wl_pairs(num_pairs: int = 50, num_nodes: Union[int, Tuple[int, int]] = (20, 30), avg_degree: float = 3.0,
             wl_iterations: int = 2, seed: int = 0, feature: str = "degree_onehot") -> List[Data]:
    r"""``2 * num_pairs`` graphs: for each pair a random connected graph ``G`` (label 0) and
    ``G`` after one degree-preserving double edge swap (label 1), kept only when the two
    are still connected and their WL hashes after ``wl_iterations`` rounds differ.

    A double edge swap replaces edges ``(u, v), (x, y)`` by ``(u, x), (v, y)``: node and
    edge counts and every degree stay the same, so the pair can only be told apart by
    looking two hops away. ``wl_iterations`` rounds of 1-WL, hence as many injective
    message-passing layers (GIN), are enough to separate them. Node features are the
    one-hot degree (``feature="degree_onehot"``, 1-WL's first colours, equal within a
    pair) or constant (``feature="constant"``); ``pair`` is the pair's index and ``changed`` marks the (at most four)
    nodes whose neighbours changed. Each graph's nodes are shuffled independently.
    ``num_nodes`` is a size or a range ``(low, high)`` (inclusive) drawn per pair.
    """
    import networkx as nx

    num_pairs = _check_int(num_pairs, "num_pairs", 1)
    wl_iterations = _check_int(wl_iterations, "wl_iterations", 1)
    lo, hi = (num_nodes, num_nodes) if isinstance(num_nodes, (int, np.integer)) else tuple(num_nodes)
    _check_int(lo, "num_nodes", 6), _check_int(hi, "num_nodes", 6)
    if lo > hi:
        raise ValueError(f"num_nodes must be an int >= 6 or a pair (low, high) with low <= high, got {num_nodes!r}")
    if feature not in ("degree_onehot", "constant"):
        raise ValueError(f"feature must be 'degree_onehot' or 'constant', got {feature!r}")
    if not (isinstance(avg_degree, (int, float)) and 2.0 <= float(avg_degree) < lo - 1):
        raise ValueError(f"avg_degree must be a number in [2, {lo - 1}), got {avg_degree!r}")
    rng = np.random.default_rng(seed)
    out: List[Data] = []
    pair = 0
    attempts = 0
    while pair < num_pairs:
        attempts += 1
        if attempts > 200 * num_pairs:  # pragma: no cover - only for impossible settings
            raise RuntimeError("could not generate enough WL-distinguishable pairs; raise avg_degree or num_nodes")
        n = int(rng.integers(lo, hi + 1))
        m = int(round(avg_degree * n / 2))
        g = nx.gnm_random_graph(n, m, seed=int(rng.integers(2**31)))
        if not nx.is_connected(g):
            continue
        edges = list(g.edges())
        i, j = rng.choice(len(edges), size=2, replace=False)
        (u, v), (a, b) = edges[i], edges[j]
        if rng.random() < 0.5:
            a, b = b, a
        # swap (u, v), (a, b) -> (u, a), (v, b); needs four distinct nodes and two new edges
        if len({u, v, a, b}) < 4 or g.has_edge(u, a) or g.has_edge(v, b):
            continue
        h = g.copy()
        h.remove_edges_from([(u, v), (a, b)])
        h.add_edges_from([(u, a), (v, b)])
        if not nx.is_connected(h) or wl_hash(g, wl_iterations) == wl_hash(h, wl_iterations):
            continue
        changed = [u, v, a, b]
        out.append(_to_data(g, rng.permutation(n), 0, pair, changed, feature))
        out.append(_to_data(h, rng.permutation(n), 1, pair, changed, feature))
        pair += 1
    return out


# --------------------------------------------------------------------------- point clouds
def _from_edges(edges, pos: np.ndarray) -> Data:
    n = len(pos)
    e = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
    ei = torch.as_tensor(np.concatenate([e, e[:, ::-1]]).T.copy(), dtype=torch.long)
    key = torch.unique(ei[0] * n + ei[1])
    ei = torch.stack([key // n, key % n])
    p = torch.as_tensor(pos, dtype=torch.float)
    if p.size(1) < 3:  # every cloud lives in 3-D, so that graphs of any kind batch together
        p = torch.cat([p, p.new_zeros(n, 3 - p.size(1))], 1)
    x = p - p.mean(0)
    x = x / x.pow(2).sum(1).mean().sqrt().clamp(min=1e-12)
    return Data(x=x, pos=p, edge_index=ei, num_nodes=n)


def _grid_edges(h: int, w: int, periodic: bool = False, diagonals: bool = False):
    idx = lambda r, c: r * w + c  # noqa: E731
    edges = []
    for r in range(h):
        for c in range(w):
            if c + 1 < w or (periodic and w > 2):
                edges.append((idx(r, c), idx(r, (c + 1) % w)))
            if r + 1 < h or (periodic and h > 2):
                edges.append((idx(r, c), idx((r + 1) % h, c)))
            if diagonals and r + 1 < h and c + 1 < w:
                edges.append((idx(r, c), idx(r + 1, c + 1)))
    return edges


def torus(height: int = 8, width: int = 8, major: float = 2.0, minor: float = 1.0) -> Data:
    """A ``height × width`` periodic grid embedded as a torus in 3-D (``pos``)."""
    height, width = _check_int(height, "height", 3), _check_int(width, "width", 3)
    u = np.repeat(np.arange(height) * 2 * np.pi / height, width)
    v = np.tile(np.arange(width) * 2 * np.pi / width, height)
    pos = np.stack([(major + minor * np.cos(u)) * np.cos(v), (major + minor * np.cos(u)) * np.sin(v),
                    minor * np.sin(u)], 1)
    return _from_edges(_grid_edges(height, width, periodic=True), pos)


def triangle_mesh(height: int = 8, width: int = 8) -> Data:
    """A triangulated ``height × width`` grid (each square cut by one diagonal), flat in 2-D."""
    height, width = _check_int(height, "height", 2), _check_int(width, "width", 2)
    pos = np.stack([np.repeat(np.arange(height), width), np.tile(np.arange(width), height)], 1).astype(float)
    return _from_edges(_grid_edges(height, width, diagonals=True), pos)


def point_cloud(kind: str, size: int = 8, smiles: str = TESTOSTERONE) -> Data:
    """One point-cloud-like graph: ``kind`` in :data:`POINT_CLOUDS`.

    ``size`` is the side of the grid, mesh and torus (``size²`` nodes) and a quarter of
    the ring's length (``4·size`` nodes); ``smiles`` is the molecule (testosterone, 21 heavy atoms, by default),
    laid out in 2-D by RDKit, hydrogens left implicit. ``x`` is ``pos`` centred and scaled
    to unit RMS, the signal an autoencoder must reconstruct.
    """
    size = _check_int(size, "size", 3)
    if kind == "ring":
        n = 4 * size
        t = np.arange(n) * 2 * np.pi / n
        return _from_edges([(i, (i + 1) % n) for i in range(n)], np.stack([np.cos(t), np.sin(t)], 1))
    if kind == "grid":
        pos = np.stack([np.repeat(np.arange(size), size), np.tile(np.arange(size), size)], 1).astype(float)
        return _from_edges(_grid_edges(size, size), pos)
    if kind == "mesh":
        return triangle_mesh(size, size)
    if kind == "torus":
        return torus(size, size)
    if kind == "molecule":
        from rdkit import Chem
        from rdkit.Chem import AllChem

        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f"smiles could not be parsed: {smiles!r}")
        AllChem.Compute2DCoords(mol)
        conf = mol.GetConformer()
        pos = np.array([[conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y] for i in range(mol.GetNumAtoms())])
        edges = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
        data = _from_edges(edges, pos)
        data.smiles = smiles
        return data
    raise ValueError(f"kind must be one of {POINT_CLOUDS}, got {kind!r}")


def point_clouds(kinds: Sequence[str] = ("ring", "grid", "torus", "molecule"), size: int = 6,
                 smiles: Optional[str] = None) -> List[Data]:
    """:func:`point_cloud` for each of ``kinds`` (each ``Data`` gets its ``kind``)."""
    out = []
    for kind in kinds:
        d = point_cloud(kind, size=size, **({} if smiles is None else {"smiles": smiles}))
        d.kind = kind
        out.append(d)
    return out
