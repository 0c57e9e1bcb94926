"""poolkit: graph pooling operators written as Select, Reduce, Connect (and Lift).

Every pooler is registered by name::

    >>> import poolkit
    >>> "mincut" in poolkit.list_poolers()   # doctest: +SKIP
    >>> pool = poolkit.get_pooler("mincut", in_channels=16, k=4)   # doctest: +SKIP

and returns a :class:`poolkit.src.PoolingOutput`. See ``poolkit/src.py`` for the contract,
``poolkit/poolers/`` for the poolers (one module each) and ``poolkit/ops/`` for what they share.
"""
# The one place the version is written: pyproject.toml reads it (dynamic = ["version"]);
# CITATION.cff, CHANGELOG.md, book/index.md and the page footer in _config.yml repeat it
# and tests/test_citation.py checks that they agree.
__version__ = "0.1.0"

from .src import (  # noqa: F401
    PoolingOutput,
    Pooler,
    SelectOutput,
    connect,
    get_pooler,
    lift,
    list_poolers,
    pooler_info,
    reduce,
    register,
)

# Figures render in Jupyter, Colab and the static book alike (see _render.py).
from . import _render  # noqa: F401,E402

# Importing the pooler package registers every pooler (one module per pooler, by family).
from . import poolers, ops  # noqa: F401,E402

# The chapter-era modules, now deprecated aliases that re-export from the new layout.
from . import soft, one_over_k, score, gmpool, edge, ablations, nmf, lapool  # noqa: F401,E402

