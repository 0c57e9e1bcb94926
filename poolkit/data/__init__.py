"""Data for the book: molecules (RDKit), offline molecular sets, synthetic graphs,
WL-distinguishable pairs and point-cloud graphs (for judging poolers),
benchmark loaders (TUDataset, MoleculeNet) and deterministic splits.

Nothing here downloads anything when the raw files are available locally.
"""
from .molecules import (  # noqa: F401
    ATOM_ELEMENTS,
    NUM_ATOM_FEATURES,
    NUM_BOND_FEATURES,
    atom_features,
    bond_features,
    mol_to_data,
    molecules_from_smiles,
    smiles_to_data,
)
from .offline import freesolv, functional_groups, fragment_smarts, nci5k, solubility  # noqa: F401
from .expressive import point_cloud, point_clouds, torus, triangle_mesh, wl_hash, wl_pairs  # noqa: F401
from .synthetic import from_networkx, grid, karate, motif_dataset, ring, sbm, sbm_dataset  # noqa: F401
from .benchmarks import (  # noqa: F401
    MOLECULENET_DATASETS,
    TU_DATASETS,
    cache_root,
    data_root,
    moleculenet,
    dataset_dirs,
    offline_datasets,
    tu_dataset,
)
from .splits import (murcko_scaffold, random_split, scaffold_split, size_split, stratified_kfold,  # noqa: F401
                     stratified_split)
from .pyramid import Precoarsen, PyramidData, pyramid_level  # noqa: F401
