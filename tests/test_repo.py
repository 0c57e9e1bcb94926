"""Repository hygiene: pyproject.toml and environment.yml list the same packages with the
same lower bounds, the pins cover every dependency, the dataset-only dependencies sit in the
``data`` extra that the book's environment installs, CI calls the README's test command."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge spells two packages differently from PyPI
CONDA_NAMES = {"pytorch": "torch", "pytorch_geometric": "torch-geometric"}


def _split(req: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


# The extras the book's environment installs (the Makefile, environment.yml); `browser` is
# installed only by the live browser test.
BOOK_EXTRAS = ("dev", "data")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_requirements():
    project = _pyproject()
    reqs = list(project["dependencies"])
    for extra in BOOK_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return dict(_split(r) for r in reqs)


def conda_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict) or dep.startswith(("python", "pip")):
            continue
        name, spec = _split(dep)
        out[CONDA_NAMES.get(name.replace("-", "_"), name)] = spec
    return out


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_pyproject_uses_lower_bounds_only():
    for name, spec in pyproject_requirements().items():
        assert spec.startswith(">="), f"{name}: {spec!r} is not a lower bound"
        assert "==" not in spec, name
        # jupyter-book 2 reads a different configuration file: the one upper bound we keep
        assert "<" not in spec or name == "jupyter-book", f"{name}: {spec!r}"


def test_constraints_pin_every_dependency():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, spec = _split(line)
            pins[name] = spec
    for name in pyproject_requirements():
        assert name in pins and pins[name].startswith("=="), f"{name} is not pinned in constraints.txt"
    assert pins["torch"] == "==2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_dataset_only_dependencies_are_an_extra():
    project = _pyproject()
    core = {_split(r)[0] for r in project["dependencies"]}
    data = {_split(r)[0] for r in project["optional-dependencies"]["data"]}
    assert "datamol" in data and "datamol" not in core
    # poolkit imports datamol only inside poolkit/data/offline.py
    users = [p.relative_to(ROOT).as_posix() for p in (ROOT / "poolkit").rglob("*.py")
             if re.search(r"^\s*(import|from) datamol", p.read_text(), re.M)]
    assert users == ["poolkit/data/offline.py"]


def test_book_environment_installs_the_extras():
    make = (ROOT / "Makefile").read_text()
    m = re.search(r'pip install[^\n]*-e "\.\[([a-z,]+)\]"', make)
    assert m and set(BOOK_EXTRAS) <= set(m.group(1).split(",")), "the venv rule must install .[dev,data]"
