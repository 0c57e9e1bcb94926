r"""Input checks shared by every pooler: each raises a ``ValueError`` that names the argument."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

# --------------------------------------------------------------------------- input checks
def check_finite(t: Tensor, name: str = "x") -> None:
    """Raise a ``ValueError`` when the floating-point tensor ``t`` holds NaN or ±inf.

    Every pooler checks its node features this way (through :func:`check_graph_inputs`), so
    a NaN is reported where it enters instead of coming out of every pooled graph. The cost
    is measured by ``benchmarks/bench_input_check.py`` (results in ``benchmarks/results/``):
    on a typical CPU batch the exact ``isfinite(x).all()`` costs 1-15 % of one forward, so
    the common path is a single sum, ``isfinite(x.sum())`` (about a fifth of that: 0.1-3.4 %
    of a forward, median about 1 %), since any NaN or inf makes the sum non-finite. Only
    when the sum is not finite does the exact test run, so a sum that merely overflows is
    not taken for bad input. On a GPU the check, like the index-range checks of
    :func:`check_graph_inputs`, waits for the device once per call.
    """
    if not t.is_floating_point() or t.numel() == 0:
        return
    with torch.no_grad():
        if bool(torch.isfinite(t.sum())):
            return
        bad = ~torch.isfinite(t)
        if not bool(bad.any()):
            return
        rows = bad.view(t.size(0), -1).any(1).nonzero().view(-1) if t.dim() > 1 else bad.nonzero().view(-1)
        raise ValueError(
            f"{name} holds {int(bad.sum())} non-finite values (NaN or inf), first in row {int(rows[0])}; "
            f"poolers need finite {name}"
        )


def check_graph_inputs(
    x: Tensor,
    edge_index: Optional[Tensor],
    batch: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None,
) -> None:
    """Raise a ``ValueError`` naming the argument when PyG-style input is malformed."""
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape [num_nodes, num_features], got {tuple(x.shape)}")
    check_finite(x, "x")
    n = x.size(0)
    if edge_index is not None:
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
            shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
            raise ValueError(f"edge_index must have shape [2, num_edges], got {shape}")
        if edge_index.dtype not in (torch.long, torch.int, torch.int32, torch.int64):
            raise ValueError(f"edge_index must hold integers, got {edge_index.dtype}")
        if edge_index.numel() > 0:
            lo, hi = int(edge_index.min()), int(edge_index.max())
            if lo < 0 or hi >= n:
                raise ValueError(
                    f"edge_index holds node indices in [{lo}, {hi}] but x has {n} nodes"
                )
        m = edge_index.size(1)
        if edge_attr is not None and edge_attr.size(0) != m:
            raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but edge_index has {m} edges")
        if edge_weight is not None and (edge_weight.dim() != 1 or edge_weight.numel() != m):
            raise ValueError(
                f"edge_weight must have shape [{m}] (one weight per edge), got {tuple(edge_weight.shape)}"
            )
    if batch is not None:
        if batch.dim() != 1 or batch.numel() != n:
            raise ValueError(f"batch must have shape [{n}] (one graph id per node), got {tuple(batch.shape)}")
        if n > 0 and int(batch.min()) < 0:
            raise ValueError("batch holds negative graph ids")
        if n > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted (nodes of one graph stored together), as PyG does")


def check_ratio(ratio: float, name: str = "ratio") -> float:
    """``ratio`` must lie in (0, 1]."""
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not (0.0 < float(ratio) <= 1.0):
        raise ValueError(f"{name} must be a number in (0, 1], got {ratio!r}")
    return float(ratio)


def check_positive_int(value: int, name: str = "k") -> int:
    """``value`` must be an integer ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value
