r"""Lens 4, cost: time and peak memory of forward + backward, over graph sizes."""
from __future__ import annotations

import math
import time
import weakref
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import torch
from torch import Tensor

from poolkit import src
from poolkit.evaluation.tasks import build_pooler, run_pooler


# =========================================================================== lens 4: cost
class PeakMemory(torch.utils._python_dispatch.TorchDispatchMode):
    """Peak bytes of the tensors that ATen allocates inside the ``with`` block, forward
    and backward alike (a CPU stand-in for ``torch.cuda.max_memory_allocated``).

    Every operator's outputs are recorded by their storage; a storage counts until the
    last tensor that holds it is freed. Tensors that existed before the block, and
    allocations that bypass ATen, are not counted.
    """

    def __init__(self):
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: Dict[int, list] = {}

    def _release(self, key: int) -> None:
        rec = self._live.get(key)
        if rec is None:
            return
        rec[1] -= 1
        if rec[1] == 0:
            del self._live[key]
            self.current -= rec[0]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        from torch.utils._pytree import tree_flatten

        out = func(*args, **(kwargs or {}))
        inputs = {id(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, Tensor)}
        for t in tree_flatten(out)[0]:
            if not isinstance(t, Tensor) or id(t) in inputs or t.layout != torch.strided:
                continue
            try:
                st = t.untyped_storage()
                key, nbytes = st.data_ptr(), st.nbytes()
            except Exception:  # noqa: BLE001 - tensors without storage (meta, ...)
                continue
            if key == 0 or nbytes == 0:
                continue
            if key in self._live:
                self._live[key][1] += 1
            else:
                self._live[key] = [nbytes, 1]
                self.current += nbytes
                self.peak = max(self.peak, self.current)
            weakref.finalize(t, self._release, key)
        return out


def cost_graph(num_nodes: int, channels: int = 16, seed: int = 0):
    """A 2-D lattice with ``num_nodes`` nodes (rows of ``⌈√N⌉``), random features."""
    from torch_geometric.data import Data

    n = src.check_positive_int(int(num_nodes), "num_nodes")
    w = max(1, math.ceil(math.sqrt(n)))
    i = torch.arange(n)
    right = i[(i % w < w - 1) & (i + 1 < n)]
    down = i[i + w < n]
    e = torch.cat([torch.stack([right, right + 1]), torch.stack([down, down + w])], 1)
    g = torch.Generator().manual_seed(seed)
    return Data(x=torch.randn(n, channels, generator=g), edge_index=torch.cat([e, e.flip(0)], 1), num_nodes=n)


def measure_cost(name: str, num_nodes: int, channels: int = 16, ratio: float = 0.25, repeats: int = 3,
                 device=None, memory: bool = True) -> Dict[str, float]:
    """Median seconds of forward + backward of pooler ``name`` on :func:`cost_graph` with
    ``num_nodes`` nodes (``k = ⌈ratio·N⌉`` supernodes where the pooler takes ``k``), and the
    peak memory in MB of one such step."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    data = cost_graph(num_nodes, channels)
    k = max(2, math.ceil(ratio * num_nodes))
    torch.manual_seed(0)
    pool = build_pooler(name, channels, k=k, ratio=ratio, max_nodes=num_nodes).to(dev)
    x0, ei = data.x.to(dev), data.edge_index.to(dev)

    def step():
        x = x0.clone().requires_grad_(True)
        out = run_pooler(pool, x, ei)
        loss = out.x.sum() + out.loss
        if loss.requires_grad:
            loss.backward()
        pool.zero_grad(set_to_none=True)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    step()  # warm-up (allocator, lazy initialisation)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    res = {"name": name, "num_nodes": num_nodes, "k": k, "seconds": times[len(times) // 2]}
    if memory:
        res["peak_mb"] = peak_memory_mb(step, dev)
    return res


def peak_memory_mb(step: Callable[[], None], device=None) -> float:
    """Peak memory in MB that one call of ``step()`` allocates: CUDA's allocator statistics
    on a GPU (above what was allocated before), :class:`PeakMemory` on a CPU."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        base = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        step()
        torch.cuda.synchronize(dev)
        return (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    with PeakMemory() as pm:
        step()
    return pm.peak / 2**20


def cost_sweep(names: Optional[Iterable[str]] = None, sizes: Sequence[int] = (10, 100, 1000), channels: int = 16,
               ratio: float = 0.25, repeats: int = 3, time_cap: float = 30.0, device=None,
               progress: Optional[callable] = None) -> List[Dict]:
    """:func:`measure_cost` for every pooler (default: all registered) and size, smallest
    first. A size is skipped, and recorded as ``{"capped": True, "predicted_seconds": t}``,
    when the last measured step predicts more than ``time_cap`` seconds for it under
    quadratic growth (``t·(N/N_last)²``, the rate of a dense ``N × N`` adjacency); steps
    over one second are timed once. A pooler that fails records its error."""
    rows = []
    for name in (src.list_poolers() if names is None else names):
        last = None
        for n in sorted(sizes):
            if last is not None:
                pred = last["seconds"] * (n / last["num_nodes"]) ** 2
                if pred > time_cap or last.get("stop"):
                    rows.append({"name": name, "num_nodes": n, "capped": True,
                                 "predicted_seconds": None if last.get("stop") else pred})
                    continue
            try:
                reps = repeats if last is None or last["seconds"] * (n / last["num_nodes"]) ** 2 < 1.0 else 1
                r = measure_cost(name, n, channels, ratio, reps, device)
            except Exception as err:  # noqa: BLE001 - one pooler's failure is a result, not a crash
                rows.append({"name": name, "num_nodes": n, "error": f"{type(err).__name__}: {err}"[:300]})
                last = {"seconds": float("inf"), "num_nodes": n, "stop": True}
                continue
            rows.append(r)
            if progress is not None:
                progress(r)
            last = r
    return rows
