"""The import graph of ``poolkit`` has no circle.

Every ``import`` statement of every module is read with ``ast``, those inside functions
included (a lazy import is still a dependency), and resolved to the module it loads.
Importing ``poolkit.a.b`` also runs ``poolkit/a/__init__.py``, so each module depends on its
parent package too; the root package ``poolkit`` is left out of those implicit edges, since
it is the entry point that imports the pooler families to register them.

The layers, strictly: ``poolkit.ops`` modules import only ``poolkit.src`` and ``poolkit.ops``;
pooler modules (``poolkit.poolers``) import only ``poolkit.src``, ``poolkit.ops`` and other
pooler modules (a variant subclasses the pooler it varies); models, figures, data transforms,
training and experiments sit above them and are never imported by them.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "poolkit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(target: str, modules: dict):
    """The module ``target`` names, or its longest prefix that is a module."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def explicit_imports() -> dict:
    """For each module, the poolkit modules its ``import`` statements name (lazy ones too)."""
    modules = _modules()
    graph = {m: set() for m in modules}
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "poolkit"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    base = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.split(".")[0] == "poolkit":
                    base = node.module
                else:
                    continue
                targets = [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                dep = _resolve(t, modules)
                if dep and dep != mod:
                    graph[mod].add(dep)
    return graph


def _outside(package: str, explicit: dict) -> set:
    """What loading ``package`` imports outside it: the imports of its ``__init__`` and of
    the submodules that ``__init__`` loads, followed inside the package."""
    todo, seen, out = [package], {package}, set()
    while todo:
        for d in explicit[todo.pop()]:
            if d == package or d.startswith(package + "."):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
            else:
                out.add(d)
    return out


def import_graph(explicit: dict = None) -> dict:
    """Module -> the modules it needs loaded: its own imports, plus what its parent package
    (other than the root) imports outside itself, since ``import poolkit.a.b`` first runs
    ``poolkit/a/__init__.py`` and everything that loads."""
    explicit = explicit_imports() if explicit is None else explicit
    graph = {m: set(deps) for m, deps in explicit.items()}
    for mod in explicit:
        parent = mod.rpartition(".")[0]
        if parent and parent != "poolkit":
            graph[mod] |= _outside(parent, explicit) - {mod}
    return graph


def find_cycle(graph: dict):
    """A list of modules forming a circle, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


LOWER = {
    "poolkit.ops": ("poolkit.src", "poolkit.ops"),
    "poolkit.poolers": ("poolkit.src", "poolkit.ops", "poolkit.poolers"),
}


def _inside(mod: str, prefixes) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def layer_violations(explicit: dict = None) -> list:
    """``(module, imported module)`` for every import of an ``ops`` or pooler module that
    leaves the layers below it (lazy imports inside functions included)."""
    explicit = explicit_imports() if explicit is None else explicit
    bad = []
    for mod, deps in sorted(explicit.items()):
        for layer, allowed in LOWER.items():
            if _inside(mod, (layer,)):
                bad += [(mod, d) for d in sorted(deps) if not _inside(d, allowed)]
    return bad


def test_graph_sees_the_imports():
    g = import_graph()
    assert "poolkit.src" in g["poolkit.poolers.soft.mincut"]
    assert "poolkit.ops.soft_pool" in g["poolkit.poolers.soft.mincut"]
    assert "poolkit.nn.gnn" in g["poolkit.nn.pyramid"]                            # a lazy import inside a function
    assert "poolkit.poolers.ablations.complement" in g["poolkit.nn.rethinking"]
    assert "poolkit.poolers.soft.mincut" in g["poolkit.soft"]                     # the deprecated alias


def test_the_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_pooler_importing_a_model_would_be_found():
    """The old circle (``one_over_k -> nn -> rethinking -> ablations -> one_over_k``) began with
    a pooler module importing a model: the layer check must name such an import, and the
    circle it closes must be found."""
    explicit = explicit_imports()
    explicit["poolkit.poolers.one_over_k.graclus"] = explicit["poolkit.poolers.one_over_k.graclus"] | {"poolkit.nn.rethinking"}
    assert ("poolkit.poolers.one_over_k.graclus", "poolkit.nn.rethinking") in layer_violations(explicit)
    cycle = find_cycle(import_graph(explicit))
    assert cycle is not None and "poolkit.poolers.one_over_k.graclus" in cycle
    explicit["poolkit.ops.dense"] = explicit["poolkit.ops.dense"] | {"poolkit.poolers.soft.mincut"}
    assert ("poolkit.ops.dense", "poolkit.poolers.soft.mincut") in layer_violations(explicit)


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_pooler_and_ops_modules_import_only_lower_layers():
    bad = layer_violations()
    assert not bad, "imports across layers: " + ", ".join(f"{m} -> {d}" for m, d in bad)


def test_every_registered_pooler_lives_in_a_pooler_module():
    import poolkit
    from poolkit.src import _REGISTRY

    assert len(poolkit.list_poolers()) == len(_REGISTRY)
    for name, cls in _REGISTRY.items():
        assert cls.__module__.startswith("poolkit.poolers.") or cls.__module__ == "poolkit.src.base", (name, cls.__module__)




def test_no_module_is_long():
    """One pooler per module keeps each readable in one sitting: a pooler module is at most
    300 lines, any other module at most 600."""
    lengths = {m: len(p.read_text().splitlines()) for m, p in _modules().items()}
    long_poolers = {m: n for m, n in lengths.items() if _inside(m, ("poolkit.poolers",)) and n > 300}
    assert not long_poolers, long_poolers
    long = {m: n for m, n in lengths.items() if n > 600}
    assert not long, long


def test_nn_reexports_its_modules():
    import importlib

    import poolkit.nn as nn

    for mod in ("gnn", "dmpnn", "rethinking", "pyramid", "edge"):
        m = importlib.import_module(f"poolkit.nn.{mod}")
        for name in m.__all__:
            assert getattr(nn, name) is getattr(m, name), (mod, name)
    with pytest.raises(AttributeError):
        nn.no_such_name
