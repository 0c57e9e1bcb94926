"""Every pooler, one module each, grouped by family.

========================  =====================================================================
family                    modules (registry names)
========================  =====================================================================
``soft``                  diffpool, mincut, dmon, tvgnn, just_balance, bnpool, hosc
``one_over_k``            graclus, ndp, kmis, edge_contraction, maxcut
``spectral``              eigenpool, sep
``score``                 topk, sag, asap, pan
``gmpool``                gmpool, ngmpool (the grouping matrix in ``grouping.py``)
``edge``                  edge_simple (``simple.py``), edge_coarse (``coarse.py``): Bal et al.
``ablations``             complement_graclus, random_diffpool, random_mincut, gmn, gmn_distance,
                          gmn_random (``complement.py``, ``random_assign.py``, ``memory.py``)
``nmf``, ``lapool``       nmf, lapool
========================  =====================================================================

Pooler modules import only :mod:`poolkit.src`, :mod:`poolkit.ops` and other pooler modules
(a variant subclasses the pooler it varies); models (:mod:`poolkit.nn`), figures
(:mod:`poolkit.viz`) and data transforms (:mod:`poolkit.data`) sit above them. Importing
this package registers every pooler.
"""
from . import soft, one_over_k, spectral, score, gmpool, edge, ablations, nmf, lapool  # noqa: F401
