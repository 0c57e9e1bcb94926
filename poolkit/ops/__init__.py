"""Machinery that several poolers share, below the pooler modules (they import only
:mod:`poolkit.src` and each other):

* ``dense``: batches to padded dense tensors, per-graph masked sums, the normalised pooled
  adjacency;
* ``soft_pool``: the dense soft-assignment pooler that DiffPool, MinCut, DMoN, TVGNN, ...
  share (``DenseSoftPool``);
* ``graph``: structure checks, undirected edge lists, components, hard connect;
* ``kmeans``: farthest-point k-means with batch-independent sums;
* ``spectral``: padded Laplacians, eigendecomposition by graph size, spectral partitions;
* ``eigh``: stable eigendecomposition and matrix square roots with finite gradients;
* ``entropy_search``: the greedy search of minimal structural entropy (SEP);
* ``smoothness``: feature variance and Dirichlet energy of pooled graphs.
"""
