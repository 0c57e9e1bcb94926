"""Edge-feature pooling on BBBP: does pooling improve classification? (Bal et al. 2019).

Tests the BBBP column of Table 1 of Bal et al. (no pooling 0.846 ± 0.011 ROC-AUC, simple
pooling ρ = 0.8 0.869 ± 0.010)::

    OMP_NUM_THREADS=1 python -m poolkit.experiments edge_bbbp --seeds 0 1 2 3 4

Protocol (also stored in the results file): the BBBP molecules of the raw MoleculeNet CSV
that RDKit parses (2,039 of 2,050, the paper's count), label ``p_np``; the fixed
MoleculeNet scaffold split, 80/10/10 (:func:`poolkit.data.scaffold_split` with
``seed=None``, DeepChem's rule, which the paper used). As in the paper, the split is the
same for every run and the seed changes the initialisation and the batch order (the paper:
"5 runs over the same scaffold split"). The model, optimiser, early stopping (here on
validation ROC-AUC) and timing are those of :mod:`poolkit.experiments.edge_esol`.
"""
from __future__ import annotations

import argparse
import csv
import sys
from typing import Optional

import numpy as np

from .claims_table import claim_row
from .edge_esol import TABLE4, _csv, _ints, add_arguments as _esol_arguments, run_protocol

PAPER = {
    "nopool": (0.846, 0.011),
    "simple_0.9": (0.839, 0.022),
    "simple_0.8": (0.869, 0.010),
    "simple_0.7": (0.859, 0.009),
    "simple_0.6": (0.852, 0.006),
    "simple_0.5": (0.851, 0.012),
    "coarse_0.9": (0.852, 0.010),
    "coarse_0.8": (0.853, 0.009),
    "coarse_0.7": (0.856, 0.012),
    "coarse_0.6": (0.838, 0.020),
    "coarse_0.5": (0.858, 0.023),
}
DEFAULT_MODELS = "nopool,simple_0.8,coarse_0.8"


def load_bbbp(limit: Optional[int] = None):
    """BBBP as a list of PyG graphs with ``y`` = ``p_np`` (1: penetrates the blood–brain
    barrier). SMILES that RDKit cannot parse are skipped (11 of 2,050)."""
    import warnings

    from ..data import molecules_from_smiles

    with open(_csv("bbbp", "BBBP.csv")) as fh:
        rows = list(csv.DictReader(fh))
    if limit is not None:
        rows = rows[:limit]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return molecules_from_smiles([r["smiles"].strip() for r in rows], [float(r["p_np"]) for r in rows])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _esol_arguments(parser, epochs=200, patience=30)
    for a in parser._actions:
        if a.dest == "models":
            a.default = DEFAULT_MODELS


def run(args) -> dict:
    from ..data import scaffold_split

    if getattr(args, "quick", False):
        args.limit, args.epochs, args.seeds = args.limit or 300, min(args.epochs, 2), list(args.seeds)[:1]
        args.timing_rounds = min(int(args.timing_rounds), 1)
    graphs = load_bbbp(args.limit)
    seeds = [int(v) for v in (args.seeds if isinstance(args.seeds, (list, tuple)) else [args.seeds])]
    parts = scaffold_split([g.smiles for g in graphs], (0.8, 0.1, 0.1), seed=None)
    splits = [("scaffold", s, parts) for s in seeds]
    pos = [float(sum(float(graphs[i].y) for i in p) / max(len(p), 1)) for p in parts]
    protocol = {
        "data": f"BBBP, {len(graphs)} molecules (RDKit could not parse {graphs.skipped}), label p_np, "
                "poolkit.data featurisation, heavy atoms only",
        "split": "the fixed MoleculeNet scaffold split 80/10/10 (poolkit.data.scaffold_split, seed=None, "
                 "DeepChem's ScaffoldSplitter rule); the same split for every run, the seed sets the "
                 "initialisation and the batch order",
        "split_sizes": [len(p) for p in parts], "positive_fraction": pos,
        "seeds": seeds,
        "max_epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size, "lr": args.lr,
        "optimizer": "Adam, constant learning rate", "loss": "binary cross-entropy",
        "node_channels": list(_ints(args.node_channels)), "edge_channels": list(_ints(args.edge_channels)),
        "channels_by_model": ({m: [list(n), list(e)] for m, (n, e) in TABLE4["edge_bbbp"].items()}
                              if getattr(args, "table4", False) else None),
        "selection": "early stopping on validation ROC-AUC; the weights of the best validation epoch are tested",
        "timing": "seconds of one training epoch (no validation), --timing-rounds interleaved rounds before "
                  "training, plus the median epoch of every training run; one process, --threads torch threads",
        "paper": "hyperband-tuned channels per model (Table 4), Adam lr 1e-4, Tesla K80 GPU, "
                 "5 runs over the same DeepChem scaffold split",
    }
    paper = {"metric": {k: {"mean": v[0], "std": v[1]} for k, v in PAPER.items()}}
    return run_protocol("edge_bbbp", args, graphs, splits, "classification", "val_roc_auc", protocol, paper,
                        scale_targets=False)


#: A mean test ROC-AUC below this is treated as chance level.
CHANCE_AUC = 0.6


def claim_rows(res: dict, name: str = "edge_bbbp", model: str = "simple_0.8") -> list:
    """The rows of :func:`poolkit.experiments.claims` for a BBBP results file: Bal et al.'s
    Table 1 says simple pooling at ρ = 0.8 improves BBBP (0.869 against 0.846 ROC-AUC),
    read as "``model`` > nopool", seed by seed on the fixed scaffold split (so the interval
    measures initialisation noise and the verdict holds for this split alone). Only a
    complete file is judged."""
    from .edge_esol import LABELS, paired

    if not res.get("complete"):
        return []
    a, b = paired(res, model, "nopool", "test_roc_auc")
    if len(a) < 2:
        return []
    paper = res["paper"]["metric"]
    label = LABELS.get(name)
    return [claim_row(a, b, "greater", experiment=name, dataset="BBBP", A=model, B="nopool",
                      claim=f"BBBP{f' ({label})' if label else ''}: {model} > nopool (ROC-AUC)",
                      paper_a=paper[model]["mean"], paper_b=paper["nopool"]["mean"], design="fixed_split",
                      at_chance=min(np.mean(a), np.mean(b)) < CHANCE_AUC)]


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["edge_bbbp"] + sys.argv[1:]))
