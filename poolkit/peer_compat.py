"""Helpers for comparing poolkit with peer libraries (tests and benchmarks).

torch-geometric-pool (tgp) imports ``torch_scatter``, a compiled extension that has no
wheel for every torch version. :func:`install_torch_scatter_stand_in` registers a small
pure-PyTorch module under that name, built on ``Tensor.scatter_reduce_`` (the kernels PyG's
own ``scatter`` uses), so that tgp imports and its sparse code paths run. It does nothing
when the real ``torch_scatter`` is importable. :class:`MetAsSparseTensor` hands poolkit's MET
matrix to PyG's ``PANPooling``, which reads it as a ``torch_sparse.SparseTensor``.
"""
from __future__ import annotations

import sys
import types

import torch

__all__ = ["install_torch_scatter_stand_in", "MetAsSparseTensor"]

_REDUCE = {"sum": "sum", "add": "sum", "mean": "mean", "min": "amin", "max": "amax", "mul": "prod"}


def _scatter(src: torch.Tensor, index: torch.Tensor, dim: int = -1, out=None, dim_size=None, reduce: str = "sum"):
    """``torch_scatter.scatter``: reduce the slices of ``src`` that share an ``index``."""
    dim = dim if dim >= 0 else src.dim() + dim
    if index.dim() != src.dim():  # a 1-D index along ``dim``, broadcast over the other axes
        shape = [1] * src.dim()
        shape[dim] = -1
        index = index.view(shape).expand_as(src)
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be one of {sorted(_REDUCE)}, got {reduce!r}")
    if out is not None:
        return out.scatter_reduce_(dim, index, src, reduce=_REDUCE[reduce], include_self=True)
    size = list(src.shape)
    size[dim] = int(dim_size) if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
    if reduce == "mul":  # torch_scatter starts a product from 1, so an empty slot stays 1
        return src.new_ones(size).scatter_reduce_(dim, index, src, reduce="prod", include_self=True)
    return src.new_zeros(size).scatter_reduce_(dim, index, src, reduce=_REDUCE[reduce], include_self=False)


def install_torch_scatter_stand_in() -> bool:
    """Register the stand-in as ``torch_scatter`` unless the real one imports; ``True``
    when the stand-in was installed. ``scatter_min``/``scatter_max`` return ``(values,
    None)``: the stand-in has no arg-indices, and code that needs them fails loudly."""
    try:
        import torch_scatter  # noqa: F401

        return False
    except ImportError:
        pass
    mod = types.ModuleType("torch_scatter")
    mod.scatter = _scatter
    for name in ("sum", "add", "mul", "mean"):
        setattr(mod, f"scatter_{name}",
                lambda src, index, dim=-1, out=None, dim_size=None, _r=name: _scatter(src, index, dim, out, dim_size, _r))
    for name in ("min", "max"):
        setattr(mod, f"scatter_{name}",
                lambda src, index, dim=-1, out=None, dim_size=None, _r=name: (_scatter(src, index, dim, out, dim_size, _r),
                                                                              None))
    mod.__version__ = "stand-in"
    sys.modules["torch_scatter"] = mod
    return True


class MetAsSparseTensor:
    """PANPool's MET matrix ``M̃`` as poolkit stores it (``index`` ``[2, E]``, source then
    target, and ``value``), seen through the one ``torch_sparse.SparseTensor`` method that
    PyG's ``PANPooling`` calls: ``coo()``, which gives ``(row, col, value)`` indexed (target,
    source)."""

    def __init__(self, index: torch.Tensor, value: torch.Tensor):
        self._coo = (index[1], index[0], value)

    def coo(self):
        return self._coo
