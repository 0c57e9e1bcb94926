"""One suffix for pooler classes: every registered pooler's class name ends in ``Pool``.

Registry names key the committed results files and do not change; only Python class names
do. The classes renamed to follow the convention keep their old names for one release, as
aliases of the new classes, importable from every module whose ``__all__`` listed them.
"""
import importlib

import pytest

import poolkit
from poolkit.src import _REGISTRY

# registry name: (class name, the old class name kept as an alias)
RENAMED = {
    "asap": ("ASAPool", "ASAPooling"),
    "edge_contraction": ("EdgeContractionPool", "EdgeContractionPooling"),
    "graclus": ("GraclusPool", "Graclus"),
    "kmis": ("KMISPool", "KMIS"),
    "ndp": ("NDPPool", "NDP"),
    "pan": ("PANPool", "PANPooling"),
    "sag": ("SAGPool", "SAGPooling"),
    "topk": ("TopKPool", "TopKPooling"),
    "complement_graclus": ("ComplementGraclusPool", "ComplementGraclus"),
    "random_mincut": ("RandomMinCutPool", "RandomMinCut"),
    "gmn": ("GMNPool", "MemoryPool"),
    "gmn_distance": ("GMNDistancePool", "MemoryDistancePool"),
    "gmn_random": ("GMNRandomPool", "MemoryRandomPool"),
}

# every module that exported the old name (had it in ``__all__``) before the rename: the
# pooler's module, its family package and the deprecated chapter-era alias module
_SCORE = ("poolkit.poolers.score", "poolkit.score")
_ONE_OVER_K = ("poolkit.poolers.one_over_k", "poolkit.one_over_k")
_ABLATIONS = ("poolkit.poolers.ablations", "poolkit.ablations")
OLD_MODULES = {
    "asap": ("poolkit.poolers.score.asap",) + _SCORE,
    "pan": ("poolkit.poolers.score.pan",) + _SCORE,
    "sag": ("poolkit.poolers.score.sag",) + _SCORE,
    "topk": ("poolkit.poolers.score.topk",) + _SCORE,
    "edge_contraction": ("poolkit.poolers.one_over_k.edge_contraction",) + _ONE_OVER_K,
    "graclus": ("poolkit.poolers.one_over_k.graclus",) + _ONE_OVER_K,
    "kmis": ("poolkit.poolers.one_over_k.kmis",) + _ONE_OVER_K,
    "ndp": ("poolkit.poolers.one_over_k.ndp",) + _ONE_OVER_K,
    "complement_graclus": ("poolkit.poolers.ablations.complement",) + _ABLATIONS,
    "random_mincut": ("poolkit.poolers.ablations.random_assign",) + _ABLATIONS,
    "gmn": ("poolkit.poolers.ablations.memory",) + _ABLATIONS,
    "gmn_distance": ("poolkit.poolers.ablations.memory",) + _ABLATIONS,
    "gmn_random": ("poolkit.poolers.ablations.memory",) + _ABLATIONS,
}


def test_every_registered_pooler_class_name_ends_in_pool():
    bad = {name: cls.__name__ for name, cls in _REGISTRY.items() if not cls.__name__.endswith("Pool")}
    assert not bad, bad
    assert all(row["class"].endswith("Pool") for row in poolkit.pooler_info())


def test_the_renamed_poolers_keep_their_registry_names():
    assert set(RENAMED) <= set(poolkit.list_poolers())
    assert set(OLD_MODULES) == set(RENAMED)
    for name in RENAMED:
        assert _REGISTRY[name].name == name


@pytest.mark.parametrize("name", sorted(RENAMED))
def test_get_pooler_builds_the_class_under_its_new_name(name):
    new, _ = RENAMED[name]
    cls = _REGISTRY[name]
    pool = poolkit.get_pooler(name, **cls.example_kwargs(in_channels=4, k=3, edge_channels=2, max_nodes=16))
    assert type(pool).__name__ == new and type(pool).__qualname__ == new
    assert {d["name"]: d for d in poolkit.pooler_info()}[name]["class"] == new


@pytest.mark.parametrize("name", sorted(RENAMED))
def test_old_name_is_the_new_class_wherever_it_was_importable(name):
    new, old = RENAMED[name]
    cls = _REGISTRY[name]
    assert cls.__module__ == OLD_MODULES[name][0]      # the class did not move
    for path in OLD_MODULES[name]:
        module = importlib.import_module(path)
        assert getattr(module, old) is cls, (path, old)
        assert getattr(module, new) is cls, (path, new)
        assert old in module.__all__ and new in module.__all__, path
    namespace = {}
    exec(f"from {OLD_MODULES[name][-1]} import {old}", namespace)
    assert namespace[old] is cls


@pytest.mark.parametrize("path", sorted({p for paths in OLD_MODULES.values() for p in paths}))
def test_star_import_of_the_old_modules_still_works(path):
    namespace = {}
    exec(f"from {path} import *", namespace)
    module = importlib.import_module(path)
    assert all(namespace[n] is getattr(module, n) for n in module.__all__)
