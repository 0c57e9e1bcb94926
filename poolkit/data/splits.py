"""Deterministic train/val/test splits: random and Bemis–Murcko scaffold splits."""
from __future__ import annotations

from collections import defaultdict
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["random_split", "stratified_split", "size_split", "scaffold_split", "stratified_kfold"]


def _check_fractions(fractions: Sequence[float]) -> List[float]:
    fr = [float(f) for f in fractions]
    if not fr or any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {tuple(fractions)}")
    return fr


def _sizes(n: int, fr: List[float]) -> List[int]:
    sizes = [int(round(f * n)) for f in fr[:-1]]
    sizes.append(n - sum(sizes))
    if sizes[-1] < 0:
        sizes[-2] += sizes[-1]
        sizes[-1] = 0
    return sizes


def random_split(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Tuple[np.ndarray, ...]:
    """Shuffle ``range(n)`` with ``seed`` and cut it by ``fractions``; returns one index
    array per fraction (disjoint, covering every index, the same for the same seed)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    fr = _check_fractions(fractions)
    perm = np.random.default_rng(seed).permutation(int(n))
    out, start = [], 0
    for size in _sizes(int(n), fr):
        out.append(np.sort(perm[start:start + size]))
        start += size
    return tuple(out)


def size_split(num_nodes: Sequence[int], test_fraction: float = 0.1, val_fraction: float = 0.1,
               seed: int = 0) -> Tuple[np.ndarray, ...]:
    """A size-generalisation split: the largest ``test_fraction`` of the graphs (by node
    count; ties broken by index, so the test set is the same for every seed) is the test
    set, and the rest is shuffled with ``seed`` into train and validation, validation
    taking ``val_fraction`` of all graphs. Returns sorted ``(train, val, test)`` indices.

    Every training and validation graph is at most as large as the smallest test graph."""
    sizes = np.asarray(num_nodes).reshape(-1)
    n = sizes.size
    for name, f in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0.0 < float(f) < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {f!r}")
    if test_fraction + val_fraction >= 1.0:
        raise ValueError(f"test_fraction + val_fraction must be below 1, got {test_fraction + val_fraction}")
    if n < 3:
        raise ValueError(f"num_nodes must hold at least 3 graphs, got {n}")
    if (sizes < 0).any():
        raise ValueError("num_nodes must be non-negative")
    order = np.lexsort((np.arange(n), sizes))          # by size, then by index
    n_test = max(1, int(round(test_fraction * n)))
    test, rest = order[n - n_test:], order[:n - n_test]
    n_val = max(1, int(round(val_fraction * n)))
    rest = np.random.default_rng(seed).permutation(rest)
    return np.sort(rest[n_val:]), np.sort(rest[:n_val]), np.sort(test)


def stratified_split(y: Sequence, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Tuple[np.ndarray, ...]:
    """Cut every class of the labels ``y`` by ``fractions`` after shuffling it with
    ``seed``, so that each part keeps the class shares (up to rounding within a class);
    returns one sorted index array per fraction, disjoint and covering every index."""
    fr = _check_fractions(fractions)
    y = np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    parts: List[list] = [[] for _ in fr]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for i, size in enumerate(_sizes(len(idx), fr)):
            parts[i].extend(idx[start:start + size].tolist())
            start += size
    return tuple(np.sort(np.asarray(p, dtype=np.int64)) for p in parts)


def murcko_scaffold(smiles: str) -> str:
    """Bemis–Murcko scaffold SMILES (empty string for acyclic or unparsable molecules)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Scaffolds import MurckoScaffold

    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return ""
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
    finally:
        RDLogger.EnableLog("rdApp.*")


def scaffold_split(smiles: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   seed: Optional[int] = 0) -> Tuple[np.ndarray, ...]:
    """Group molecules by Bemis–Murcko scaffold so that no scaffold is in two parts.

    ``seed=None`` is the fixed scaffold split of MoleculeNet (the rule of DeepChem's
    ``ScaffoldSplitter``, which Bal et al. and most MoleculeNet papers use): scaffold sets
    are ordered by size, largest first, ties going to the set whose first molecule comes
    *later*; each set goes to the training part while the training part stays within
    ``fractions[0] · n``, otherwise to the validation part while training + validation stay
    within ``(fractions[0] + fractions[1]) · n``, otherwise to the test part. The rarest
    scaffolds therefore end up in the test part, and the split never changes.

    With an integer ``seed``, sets of equal size are ordered by a shuffle with ``seed``
    instead and each set goes to the first part that still has room, so different seeds
    give different but reproducible splits.
    """
    fr = _check_fractions(fractions)
    n = len(smiles)
    groups = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[murcko_scaffold(s)].append(i)
    parts: List[List[int]] = [[] for _ in fr]
    if seed is None:
        sets = sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True)
        cuts = np.cumsum(fr) * n
        for g in sets:
            total = 0
            for p in range(len(parts)):
                total += len(parts[p])
                if total + len(g) <= cuts[p] + 1e-9 or p == len(parts) - 1:
                    parts[p].extend(g)
                    break
        return tuple(np.array(sorted(p), dtype=np.int64) for p in parts)
    rng = np.random.default_rng(seed)
    keys = list(groups)
    order = rng.permutation(len(keys))
    keys = [keys[i] for i in order]
    keys.sort(key=lambda k: -len(groups[k]))  # stable: ties keep the shuffled order
    caps = _sizes(n, fr)
    for k in keys:
        g = groups[k]
        for p in range(len(parts)):
            if len(parts[p]) + len(g) <= caps[p] or p == len(parts) - 1:
                parts[p].extend(g)
                break
    return tuple(np.array(sorted(p), dtype=np.int64) for p in parts)


def stratified_kfold(y: Sequence, k: int = 10, seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs with class proportions kept (graph classification
    protocols use 10 folds)."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).reshape(len(y), -1)[:, 0]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(np.zeros(len(y)), y)]
