"""Install the JavaScript the built book loads (MathJax 3, the ipywidgets HTML manager) into
``book/_static/vendor/`` so that no page needs the network.

    python scripts/vendor_js.py            # fetch what is missing, copy into book/_static/vendor
    python scripts/vendor_js.py --check    # only say whether the copies are in place

Each package is pinned below by version and by the sha512 integrity the npm registry
publishes. The tarball is fetched once with ``npm pack`` (npm's own cache backs it) into
``_build/vendor/``, checked against the pin, unpacked there, and the files the pages load
are copied into ``book/_static/vendor/<name>/``. A stamp per package makes a second run a
no-op, so ``make book`` downloads nothing once the cache holds the tarballs; with the
tarballs in place no network is needed at all. Nothing of this is committed
(``.gitignore`` lists both folders).

``_config.yml`` points Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` at the
copies; ``scripts/screenshot_book.py`` proves, with the network blocked, that the pages
typeset their maths and request no remote URL.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / "vendor"
STATIC = ROOT / "book" / "_static" / "vendor"

# name -> (version, npm integrity, folder under _static/vendor, what to copy from the package)
PACKAGES = {
    "mathjax": (
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "mathjax",
        # The combined TeX+MathML->CommonHTML component and everything it loads on demand
        # (TeX extensions, fonts, the menu and its accessibility tools).
        ["LICENSE", "es5/tex-mml-chtml.js", "es5/input", "es5/output/chtml", "es5/output/chtml.js",
         "es5/a11y", "es5/ui", "es5/sre"],
    ),
    "@jupyter-widgets/html-manager": (
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        "html-manager",
        # The standalone bundle (base, controls and output widgets, no RequireJS, no CDN
        # loader) with the icon fonts its stylesheet names.
        ["package.json", "dist/embed.js", "dist/embed.js.LICENSE.txt", "dist/*.woff", "dist/*.woff2",
         "dist/*.ttf", "dist/*.eot", "dist/*.svg"],
    ),
}


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def tarball_name(name: str, version: str) -> str:
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(name: str, version: str, want: str) -> Path:
    """The verified tarball of name@version in the cache, fetched with ``npm pack`` if absent."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tgz = CACHE / tarball_name(name, version)
    if tgz.exists() and integrity(tgz) == want:
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"{name}@{version} is not in {CACHE} and npm is not installed: install Node.js "
                         "(npm) once, or copy the tarball there")
    print(f"+ npm pack {name}@{version}", flush=True)
    res = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(CACHE), "--json",
                          "--no-audit", "--no-fund"], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"npm pack {name}@{version} failed (the npm registry is needed once):\n{res.stderr}")
    got = integrity(tgz)
    if got != want:
        tgz.unlink()
        raise SystemExit(f"{name}@{version}: integrity {got} differs from the pinned {want}")
    return tgz


def unpack(tgz: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(tgz) as tar:
        for m in tar.getmembers():
            parts = Path(m.name).parts
            if not parts or parts[0] != "package" or ".." in parts or not (m.isfile() or m.isdir()):
                continue  # npm tarballs hold one folder, package/; anything else is ignored
            m.name = str(Path(*parts[1:])) if len(parts) > 1 else "."
            tar.extract(m, dest, filter="data") if hasattr(tarfile, "data_filter") else tar.extract(m, dest)


def install(name: str, version: str, want: str, folder: str, include: list) -> Path:
    target = STATIC / folder
    stamp = target / ".installed"
    label = f"{name}@{version} {want}"
    if stamp.exists() and stamp.read_text() == label:
        return target
    src = CACHE / f"{folder}-{version}"
    unpack(fetch(name, version, want), src)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for pattern in include:
        matches = sorted(src.glob(pattern))
        if not matches:
            raise SystemExit(f"{name}@{version} has no {pattern}")
        for m in matches:
            rel = m.relative_to(src)
            # es5/... and dist/... are flattened one level: pages load vendor/mathjax/tex-mml-chtml.js
            rel = Path(*rel.parts[1:]) if rel.parts[0] in ("es5", "dist") else rel
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if m.is_dir() else shutil.copyfile)(m, target / rel)
    stamp.write_text(label)
    print(f"installed {name}@{version} into {target.relative_to(ROOT)}", flush=True)
    return target


def installed() -> dict:
    out = {}
    for name, (version, want, folder, _) in PACKAGES.items():
        stamp = STATIC / folder / ".installed"
        out[name] = stamp.exists() and stamp.read_text() == f"{name}@{version} {want}"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report whether the copies are in place")
    args = ap.parse_args(argv)
    if args.check:
        state = installed()
        print(json.dumps(state))
        return 0 if all(state.values()) else 1
    for name, (version, want, folder, include) in PACKAGES.items():
        install(name, version, want, folder, include)
    return 0


if __name__ == "__main__":
    sys.exit(main())
