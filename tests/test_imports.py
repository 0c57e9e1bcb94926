"""The import graph of ``poolkit`` has no circle.

Every ``import`` statement of every module is read with ``ast``, those inside functions
included (a lazy import is still a dependency), and resolved to the module it loads.
Importing ``poolkit.a.b`` also runs ``poolkit/a/__init__.py``, so each module depends on its
parent package too; the root package ``poolkit`` is left out of those implicit edges, since
it is the entry point that imports the pooler families to register them. A package's lazy
re-exports (``poolkit.nn.__getattr__``) load a submodule only when a user asks for one of its
names, after every module is loaded, so they are no dependency of the package.
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


def test_graph_sees_the_imports():
    g = import_graph()
    assert "poolkit.src" in g["poolkit.soft"]
    assert "poolkit.one_over_k" in g["poolkit.ablations"]          # a lazy import inside a function
    assert "poolkit.ablations" in g["poolkit.nn.rethinking"]        # `from .. import ablations`
    assert "poolkit.nn.gnn" in g["poolkit.one_over_k"]


def test_the_original_circle_would_be_found():
    """Were ``poolkit/nn/__init__.py`` to import ``rethinking`` eagerly again, loading
    ``poolkit.nn.gnn`` (as ``one_over_k`` does) would load ``ablations`` and so
    ``one_over_k`` itself: the graph must show that circle."""
    explicit = explicit_imports()
    explicit["poolkit.nn"] = explicit["poolkit.nn"] | {"poolkit.nn.rethinking"}
    cycle = find_cycle(import_graph(explicit))
    assert cycle is not None and "poolkit.one_over_k" in cycle and "poolkit.ablations" in cycle


def test_the_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_pooler_modules_depend_only_on_lower_layers():
    """The chapter modules of the poolers never reach the chapter models above them."""
    g = import_graph()

    def reach(m, seen=None):
        seen = set() if seen is None else seen
        for d in g[m]:
            if d not in seen:
                seen.add(d)
                reach(d, seen)
        return seen

    above = {"poolkit.nn.rethinking", "poolkit.nn.dmpnn", "poolkit.experiments", "poolkit.train", "poolkit.live"}
    for mod in ("poolkit.soft", "poolkit.one_over_k", "poolkit.score", "poolkit.gmpool", "poolkit.edge",
                "poolkit.ablations"):
        assert not (reach(mod) & above), f"{mod} reaches {sorted(reach(mod) & above)}"


def test_lazy_reexports_of_nn_match_the_modules():
    import importlib

    import poolkit.nn as nn

    for mod, names in nn._LAZY.items():
        assert set(names) == set(importlib.import_module(f"poolkit.nn.{mod}").__all__), mod
        for name in names:
            assert getattr(nn, name) is getattr(importlib.import_module(f"poolkit.nn.{mod}"), name)
    with pytest.raises(AttributeError):
        nn.no_such_name
