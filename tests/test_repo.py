"""Repository hygiene: pyproject.toml and environment.yml list the same packages with the
same lower bounds, the pins cover every dependency, CI calls the README's test command."""
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


def pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["dev"])
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
