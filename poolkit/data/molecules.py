"""Molecules as graphs: SMILES → PyG :class:`~torch_geometric.data.Data` with RDKit features.

Atom features (one-hot blocks, concatenated): element (a fixed list plus "other"),
degree (0–5+), formal charge (−2…+2, clipped), hybridisation, aromaticity, total number
of hydrogens (0–4+). Bond features: type (single, double, triple, aromatic), conjugated,
in ring. Edges are stored in both directions, as PyG expects for undirected graphs.
"""
from __future__ import annotations

import warnings
from typing import Iterable, List, Optional, Sequence

import torch
from torch_geometric.data import Data

__all__ = [
    "ATOM_ELEMENTS",
    "NUM_ATOM_FEATURES",
    "NUM_BOND_FEATURES",
    "atom_features",
    "bond_features",
    "smiles_to_data",
    "mol_to_data",
    "molecules_from_smiles",
]

ATOM_ELEMENTS = ["C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H"]
DEGREES = [0, 1, 2, 3, 4, 5]
FORMAL_CHARGES = [-2, -1, 0, 1, 2]
HYBRIDISATIONS = ["S", "SP", "SP2", "SP3", "SP3D", "SP3D2"]
NUM_HS = [0, 1, 2, 3, 4]
BOND_TYPES = ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC"]

# element (+other) | degree | formal charge | hybridisation (+other) | aromatic | total Hs
NUM_ATOM_FEATURES = (len(ATOM_ELEMENTS) + 1) + len(DEGREES) + len(FORMAL_CHARGES) + (len(HYBRIDISATIONS) + 1) + 1 + len(NUM_HS)
# bond type | conjugated | in ring
NUM_BOND_FEATURES = len(BOND_TYPES) + 2


def _one_hot(value, choices: Sequence, other: bool = False, clip: bool = False) -> List[float]:
    """One-hot of ``value`` among ``choices``; ``other`` adds a last slot for unknown values,
    ``clip`` maps out-of-range numbers to the nearest end."""
    if clip and value not in choices:
        value = min(max(value, choices[0]), choices[-1])
    vec = [0.0] * (len(choices) + (1 if other else 0))
    if value in choices:
        vec[choices.index(value)] = 1.0
    elif other:
        vec[-1] = 1.0
    return vec


def atom_features(atom) -> List[float]:
    """Feature vector (length :data:`NUM_ATOM_FEATURES`) of one RDKit atom."""
    return (
        _one_hot(atom.GetSymbol(), ATOM_ELEMENTS, other=True)
        + _one_hot(atom.GetDegree(), DEGREES, clip=True)
        + _one_hot(atom.GetFormalCharge(), FORMAL_CHARGES, clip=True)
        + _one_hot(str(atom.GetHybridization()), HYBRIDISATIONS, other=True)
        + [1.0 if atom.GetIsAromatic() else 0.0]
        + _one_hot(atom.GetTotalNumHs(), NUM_HS, clip=True)
    )


def bond_features(bond) -> List[float]:
    """Feature vector (length :data:`NUM_BOND_FEATURES`) of one RDKit bond."""
    return _one_hot(str(bond.GetBondType()), BOND_TYPES) + [
        1.0 if bond.GetIsConjugated() else 0.0,
        1.0 if bond.IsInRing() else 0.0,
    ]


def mol_to_data(mol, y=None, smiles: Optional[str] = None) -> Data:
    """An RDKit ``Mol`` → ``Data(x, edge_index, edge_attr, y, smiles)`` (heavy atoms only)."""
    from rdkit import Chem

    x = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float).view(-1, NUM_ATOM_FEATURES)
    rows, cols, feats = [], [], []
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        f = bond_features(b)
        rows += [i, j]
        cols += [j, i]
        feats += [f, f]
    edge_index = torch.tensor([rows, cols], dtype=torch.long).view(2, -1)
    edge_attr = torch.tensor(feats, dtype=torch.float).view(-1, NUM_BOND_FEATURES)
    data = Data(x=x, edge_index=edge_index, edge_attr=edge_attr)
    data.smiles = smiles if smiles is not None else Chem.MolToSmiles(mol)
    if y is not None:
        y = torch.as_tensor(y, dtype=torch.float).view(1, -1)
        data.y = y
    return data


def smiles_to_data(smiles: str, y=None) -> Optional[Data]:
    """Parse ``smiles`` with RDKit and featurise it; returns ``None`` when RDKit cannot parse
    it (or it has no atoms)."""
    from rdkit import Chem, RDLogger

    if not isinstance(smiles, str) or not smiles.strip():
        return None
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol_to_data(mol, y=y, smiles=smiles)


def molecules_from_smiles(smiles: Iterable[str], ys: Optional[Iterable] = None, warn: bool = True) -> List[Data]:
    """Featurise many SMILES; invalid ones are skipped, counted, and reported with one
    warning (never an exception). The number skipped is stored on the returned list's
    ``skipped`` attribute, their SMILES on ``invalid`` and the positions of the kept ones
    on ``kept``."""
    smiles = list(smiles)
    ys = [None] * len(smiles) if ys is None else list(ys)
    if len(ys) != len(smiles):
        raise ValueError(f"ys has {len(ys)} entries but smiles has {len(smiles)}")
    out = _MolList()
    bad, kept = [], []
    for i, (s, y) in enumerate(zip(smiles, ys)):
        d = smiles_to_data(s, y)
        if d is None:
            bad.append(s)
        else:
            out.append(d)
            kept.append(i)
    out.skipped = len(bad)
    out.kept = kept
    out.invalid = bad
    if bad and warn:
        warnings.warn(
            f"skipped {len(bad)} of {len(smiles)} SMILES that RDKit cannot parse (first: {bad[0]!r})",
            RuntimeWarning,
            stacklevel=2,
        )
    return out


class _MolList(list):
    """A list of Data that also remembers how many SMILES were skipped."""

    skipped: int = 0
    invalid: list = []
    kept: list = []
