"""Full reproduction runs: ``python -m poolkit.experiments NAME [options]``.

Each experiment is a module ``poolkit/experiments/NAME.py`` defining

* ``add_arguments(parser)`` – its own options (the common ones are added for it), and
* ``run(args) -> dict`` – it runs the protocol and returns
  ``{"runs": [per-run metric dicts], "config": {...}}`` (or just the list of runs).

The dispatcher adds the common options ``--root`` (dataset root, default
``$POOLKIT_DATA``), ``--seeds``, ``--device``, ``--out`` (default
``results/NAME.json``) and ``--quick`` (a tiny setting for smoke tests), and writes the
results file with :func:`poolkit.experiments.common.write_results`.
``python -m poolkit.experiments --list`` lists the experiments.
"""
from ..results import load_results  # noqa: F401  (a committed results file by name: load_results("rethinking"))
from .claims_table import claims  # noqa: F401  (every experiment's claims, judged, in one table)
from .common import list_experiments, read_results, results_table, write_results, summarize  # noqa: F401
