"""Check on a CUDA machine that the library, the live view, the experiments and every chapter
run on the GPU, and write a JSON verdict.

    python scripts/gpu_check.py                    # CUDA when present; otherwise say so, exit 0
    python scripts/gpu_check.py --device cpu       # the same code paths on the CPU (dry run)
    python scripts/gpu_check.py --sections poolers fit live

Sections (all by default):

``poolers``
    every name of ``poolkit.list_poolers()``, built by ``poolkit.src.example_pooler`` (so a
    new pooler is checked without being named here), runs forward and backward on a batch
    of three small graphs on the device and on the CPU from the same weights. Every tensor
    of the output (pooled graph, ``S``, losses) and every gradient (input features, edge
    features, parameters) must agree: in float64, ``|a - b| <= 1e-8 + 1e-6 |b|``; a pooler
    that does not run in float64 is compared in float32 with ``1e-5 + 1e-4 |b|``. Integer
    tensors (indices, masks) must be equal. A pooler whose forward draws random numbers
    (two CPU runs with different seeds disagree) cannot match the CPU stream; it is checked
    for the same shapes and finite values, and the verdict says so.
``fit``
    ``poolkit.train.fit`` trains a node clusterer (MinCut) and two graph classifiers (a
    sparse and a dense pooler) on the device and on the CPU from the same weights, one full
    batch per epoch: the first epoch's loss (the untrained model) must agree within
    ``1e-4`` relative, later epochs within ``1e-2`` (scatter sums on CUDA add in another
    order and Adam amplifies the rounding), the parameters must stay on the device and
    ``evaluate`` must run there.
``live``
    a :class:`poolkit.live.LiveView` watches one graph while ``fit`` trains on a larger
    batch on the device. Every tensor read on the host inside the view's hooks is recorded
    (``.cpu()``, ``.numpy()``, ``.item()``, ``.tolist()``, ``.to()`` to the CPU, ...): each
    must be at most the size of the watched ``S`` (``n × k``), so no training batch leaves
    the device, and the frames must change while training.
``experiments``
    one short reproduction per experiment of ``python -m poolkit.experiments --list``, with
    ``--device DEVICE --quick --seeds 0``, written under ``--work``; its results file must
    name the device.
``chapters``
    every ``notebooks/*.ipynb`` executed top to bottom with ``POOLKIT_DEVICE=DEVICE`` (which
    ``poolkit.train.get_device`` and therefore ``fit``, ``evaluate`` and the experiments
    honour); on CUDA a last cell must find CUDA memory used in every chapter that
    trains with ``fit`` or ``train_eval``. Seconds per chapter go into
    the verdict.

The verdict goes to ``results/gpu_check.json`` on CUDA (commit it) and to
``_build/gpu_check_<device>.json`` otherwise. Exit status 0 when every check passed, and
0 without doing anything when CUDA is absent and no ``--device`` was given (so ``make
test`` can call it on any machine).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.overrides import TorchFunctionMode  # noqa: E402

SECTIONS = ("poolers", "fit", "live", "experiments", "chapters")
TOL = {torch.float64: (1e-6, 1e-8), torch.float32: (1e-4, 1e-5)}  # dtype -> (rtol, atol)
FIT_RTOL_FIRST, FIT_RTOL_LATER = 1e-4, 1e-2
PROBE = "GPU_CHECK_PROBE "


# --------------------------------------------------------------------------- helpers
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def leaves(obj, prefix: str = "") -> Dict[str, object]:
    """Every tensor and number inside a (nested) dataclass / dict / tuple, by path."""
    out: Dict[str, object] = {}
    if isinstance(obj, torch.Tensor):
        out[prefix or "value"] = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            out.update(leaves(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(leaves(v, f"{prefix}[{k}]"))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(leaves(v, f"{prefix}[{i}]"))
    elif isinstance(obj, (int, float, bool)) and not isinstance(obj, type):
        out[prefix] = obj
    return out


def compare(ref: Dict[str, object], got: Dict[str, object], rtol: float, atol: float, values: bool = True) -> dict:
    """Compare two leaf dicts (``ref`` on the CPU). Returns the worst error and what differs."""
    problems, worst = [], 0.0
    if set(ref) != set(got):
        problems.append(f"different outputs: {sorted(set(ref) ^ set(got))}")
    for key in sorted(set(ref) & set(got)):
        a, b = ref[key], got[key]
        if isinstance(a, torch.Tensor) != isinstance(b, torch.Tensor):
            problems.append(f"{key}: tensor on one side only")
            continue
        if not isinstance(a, torch.Tensor):
            if values and a != b:
                problems.append(f"{key}: {a} != {b}")
            continue
        b = b.detach().cpu()
        a = a.detach()
        if a.shape != b.shape:
            problems.append(f"{key}: shape {tuple(a.shape)} != {tuple(b.shape)}")
            continue
        if a.is_floating_point():
            if not torch.isfinite(b).all():
                problems.append(f"{key}: non-finite values on the device")
                continue
            if not values or a.numel() == 0:
                continue
            err = (a.double() - b.double()).abs()
            worst = max(worst, float(err.max()))
            bad = err > atol + rtol * a.double().abs()
            if bad.any():
                problems.append(f"{key}: {int(bad.sum())} of {a.numel()} values differ (max |diff| {float(err.max()):.3g})")
        elif values and not torch.equal(a, b):
            problems.append(f"{key}: integer values differ")
    return {"max_abs_diff": worst, "problems": problems}


# --------------------------------------------------------------------------- poolers
def example_batch(feat: int = 5, edge_channels: int = 3, sizes=(6, 9, 12), seed: int = 0):
    """Three small connected graphs (a ring plus random chords each) as one PyG batch."""
    from torch_geometric.data import Batch, Data

    g = torch.Generator().manual_seed(seed)
    graphs = []
    for n in sizes:
        ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
        chords = torch.randint(0, n, (2, n // 2), generator=g)
        chords = chords[:, chords[0] != chords[1]]
        und = torch.cat([ring, chords], 1)
        und = torch.unique(torch.sort(und, 0).values, dim=1)
        ei = torch.cat([und, und.flip(0)], 1)
        x = torch.randn(n, feat, generator=g)
        ea = torch.randn(und.size(1), edge_channels, generator=g).repeat(2, 1)
        graphs.append(Data(x=x, edge_index=ei, edge_attr=ea, num_nodes=n))
    return Batch.from_data_list(graphs)


def run_pooler(pool, batch, device, dtype, seed: int = 0):
    """Forward + backward of ``pool`` on ``batch`` (both copied to ``device``)."""
    pool = copy.deepcopy(pool).to(device=device, dtype=dtype)
    pool.train()
    x = batch.x.detach().clone().to(device=device, dtype=dtype).requires_grad_(True)
    ea = batch.edge_attr.detach().clone().to(device=device, dtype=dtype).requires_grad_(True)
    kwargs = {"batch": batch.batch.to(device)}
    if getattr(pool, "needs_edge_attr", False):
        kwargs["edge_attr"] = ea
    torch.manual_seed(seed)
    out = pool(x, batch.edge_index.to(device), **kwargs)
    outs = leaves(out)
    # A fixed random weighting of every float output (drawn on the CPU, so both devices
    # use the same), plus every auxiliary loss: one scalar whose gradient touches it all.
    g = torch.Generator().manual_seed(1)
    total = x.new_zeros(())
    for key in sorted(outs):
        t = outs[key]
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad:
            w = torch.randn(t.shape, generator=g, dtype=torch.float64).to(device=device, dtype=t.dtype)
            total = total + (t * w).sum()
    if total.requires_grad:
        total.backward()
    grads = {"grad.x": x.grad, "grad.edge_attr": ea.grad if "edge_attr" in kwargs else None}
    grads.update({f"grad.{n}": p.grad for n, p in pool.named_parameters()})
    outs.update({k: v for k, v in grads.items() if v is not None})
    return outs


def check_poolers(device: torch.device, names: Optional[List[str]] = None) -> dict:
    import poolkit
    from poolkit.src import example_pooler

    batch = example_batch()
    results = {}
    for name in names or poolkit.list_poolers():
        r: dict = {}
        try:
            torch.manual_seed(0)
            pool = example_pooler(name, in_channels=batch.x.size(1), k=3, edge_channels=batch.edge_attr.size(1),
                                  max_nodes=16)
            dtype = torch.float64
            try:
                ref = run_pooler(pool, batch, torch.device("cpu"), dtype)
            except Exception as e:  # noqa: BLE001  (not every pooler runs in float64)
                r["float64_error"] = f"{type(e).__name__}: {e}"[:200]
                dtype = torch.float32
                ref = run_pooler(pool, batch, torch.device("cpu"), dtype)
            again = run_pooler(pool, batch, torch.device("cpu"), dtype, seed=1)
            stochastic = bool(compare(ref, again, 0.0, 0.0)["problems"])
            sync(device)
            t0 = time.perf_counter()
            got = run_pooler(pool, batch, device, dtype)
            sync(device)
            r["device_seconds"] = round(time.perf_counter() - t0, 4)
            rtol, atol = TOL[dtype]
            cmp = compare(ref, got, rtol, atol, values=not stochastic)
            r.update(dtype=str(dtype).replace("torch.", ""), rtol=rtol, atol=atol, stochastic=stochastic,
                     compared="shapes and finiteness (forward draws random numbers)" if stochastic else "values",
                     tensors=len(ref), **cmp)
            r["ok"] = not cmp["problems"]
        except Exception as e:  # noqa: BLE001
            r.update(ok=False, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
        results[name] = r
    return {"ok": all(r["ok"] for r in results.values()), "poolers": results}


# --------------------------------------------------------------------------- fit
FEATURES = {"feature": "noisy_block", "dim": 8}  # the same feature size for graphs of any size


def _sbm_graphs(n_graphs: int, seed: int = 0):
    from poolkit.data.synthetic import sbm

    graphs = []
    for i in range(n_graphs):
        d = sbm(sizes=(8, 8, 8), p_in=0.5, p_out=0.05, seed=seed + i, **FEATURES)
        d.y_nodes = d.y
        d.y = torch.tensor([i % 2])
        graphs.append(d)
    return graphs


def check_fit(device: torch.device, epochs: int = 4) -> dict:
    from torch_geometric.data import Batch

    from poolkit.data.synthetic import sbm
    from poolkit.nn import HierarchicalGNN, NodeClusterer
    from poolkit.train import evaluate, fit, set_seed

    cases = {}
    graph = sbm(sizes=(10, 10, 10), p_in=0.5, p_out=0.03, seed=0, **FEATURES)
    feats = graph.num_features
    set_seed(0)
    cases["mincut clustering"] = (NodeClusterer(feats, 3, pooler="mincut", hidden=16), [graph], "clustering")
    graphs = [Batch.from_data_list(_sbm_graphs(8))]
    for spec in ("topk", "diffpool"):
        set_seed(0)
        model = HierarchicalGNN(feats, 2, poolers=(spec,), hidden=16, pool_kwargs={"k": 4, "max_nodes": 24}
                                if spec == "diffpool" else {"ratio": 0.5})
        cases[f"{spec} classification"] = (model, graphs, "classification")
    results = {}
    for label, (model, loader, task) in cases.items():
        r: dict = {}
        try:
            cpu_model, dev_model = copy.deepcopy(model), copy.deepcopy(model)
            h_cpu = fit(cpu_model, loader, epochs=epochs, task=task, lr=1e-2, progress=False, device="cpu")
            sync(device)
            t0 = time.perf_counter()
            h_dev = fit(dev_model, loader, epochs=epochs, task=task, lr=1e-2, progress=False, device=device)
            sync(device)
            r["device_seconds"] = round(time.perf_counter() - t0, 4)
            a = [e["loss"] for e in h_cpu]
            b = [e["loss"] for e in h_dev]
            rel = [abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)]
            on_device = {p.device.type for p in dev_model.parameters()} == {device.type}
            metrics = evaluate(dev_model, loader, task=task, device=device)
            r.update(loss_cpu=a, loss_device=b, rel_diff=rel, params_on_device=on_device,
                     evaluate={k: float(v) for k, v in metrics.items()})
            problems = []
            if not on_device:
                problems.append("parameters left the device")
            if not all(map(lambda v: v == v and abs(v) != float("inf"), b)):
                problems.append("non-finite loss on the device")
            if rel and rel[0] > FIT_RTOL_FIRST:
                problems.append(f"first-epoch loss differs by {rel[0]:.2g} (relative)")
            if any(v > FIT_RTOL_LATER for v in rel[1:]):
                problems.append(f"later losses differ by up to {max(rel[1:]):.2g} (relative)")
            r["problems"] = problems
            r["ok"] = not problems
        except Exception as e:  # noqa: BLE001
            r.update(ok=False, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
        results[label] = r
    return {"ok": all(r["ok"] for r in results.values()), "rtol_first_epoch": FIT_RTOL_FIRST,
            "rtol_later_epochs": FIT_RTOL_LATER, "cases": results}


# --------------------------------------------------------------------------- live view
HOST_READS = {"cpu", "numpy", "item", "tolist", "__array__", "__float__", "__int__", "__bool__", "__index__"}


class HostReads(TorchFunctionMode):
    """Records every tensor read on the host (or copied to the CPU) while active.

    On a CUDA model every such read of a CUDA tensor is a device-to-host copy. In the CPU
    dry run the same calls are recorded, which over-counts (a CPU tensor's ``.cpu()`` copies
    nothing), so the bound below is checked conservatively.
    """

    def __init__(self, device: torch.device):
        super().__init__()
        self.device = device
        self.reads: List[dict] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        src = args[0] if args and isinstance(args[0], torch.Tensor) else None
        out = func(*args, **kwargs)
        if src is not None and src.device.type == self.device.type:
            # .to() / .copy_() count when they really leave the device (never in a CPU run).
            to_host = name in HOST_READS or (
                name in ("to", "copy_") and src.device.type != "cpu" and isinstance(out, torch.Tensor)
                and out.device.type == "cpu")
            if to_host:
                self.reads.append({"op": name, "shape": list(src.shape), "numel": src.numel()})
        return out


def check_live(device: torch.device, epochs: int = 12, every_steps: int = 2) -> dict:
    from torch_geometric.data import Batch

    from poolkit.data.synthetic import sbm
    from poolkit.live import LiveView
    from poolkit.nn import NodeClusterer
    from poolkit.train import fit, set_seed

    k = 3
    watched = sbm(sizes=(6, 6, 6), p_in=0.6, p_out=0.05, seed=1, **FEATURES)
    train = Batch.from_data_list([sbm(sizes=(30, 30, 30), p_in=0.3, p_out=0.02, seed=s, **FEATURES)
                                  for s in range(4)])
    set_seed(0)
    model = NodeClusterer(watched.num_features, k, pooler="mincut", hidden=16)
    view = LiveView(watched, every_steps=every_steps, every_seconds=None, show=False, keep_frames=True)
    reads = HostReads(device)

    class Recorded:
        """Forwards the view's fit hooks, recording host reads only while they run."""

        def __getattr__(self, hook):
            fn = getattr(view, hook)

            def call(state):
                with reads:
                    fn(state)
            return call

    sync(device)
    t0 = time.perf_counter()
    fit(model, [train], epochs=epochs, task="clustering", lr=2e-2, progress=False, device=device, callbacks=[Recorded()])
    sync(device)
    seconds = time.perf_counter() - t0
    n = watched.num_nodes
    bound = n * k
    biggest = max((r["numel"] for r in reads.reads), default=0)
    frames = view.frames
    # Frames taken during training (the last one is the final frame, taken after the last
    # step, so it repeats the frame of that step) must each differ from the one before.
    during = frames[:-1]
    changed = sum(not torch.allclose(torch.from_numpy(a), torch.from_numpy(b)) for a, b in zip(during, during[1:]))
    expected_frames = epochs // every_steps + 1  # one step per epoch (one batch), plus the final frame
    problems = []
    if len(frames) != expected_frames:
        problems.append(f"{len(frames)} frames, expected {expected_frames}")
    if any(f.shape != (n, k) for f in frames):
        problems.append("a frame is not the watched graph's n x k assignment")
    if changed < len(during) - 1:
        problems.append(f"only {changed} of {len(during) - 1} frames changed while training")
    final = view.snapshot(model)
    if frames and not torch.allclose(torch.from_numpy(frames[-1]), torch.from_numpy(final), atol=1e-6):
        problems.append("the final frame is not the trained model's S")
    if biggest > bound:
        problems.append(f"the view read a tensor of {biggest} elements on the host; the watched S has {bound}")
    on_device = {p.device.type for p in model.parameters()} == {device.type}
    if not on_device:
        problems.append("the model left the device")
    return {
        "ok": not problems, "problems": problems, "frames": len(frames), "frames_changed": changed,
        "frames_changed_of": max(len(during) - 1, 0), "watched_nodes": n, "k": k, "training_nodes": int(train.num_nodes), "host_reads": len(reads.reads),
        "host_read_elements": sum(r["numel"] for r in reads.reads), "largest_host_read": biggest,
        "host_read_bound": bound, "host_read_ops": sorted({r["op"] for r in reads.reads}),
        "view_seconds": round(view.update_seconds, 4), "fit_seconds": round(seconds, 4),
    }


# --------------------------------------------------------------------------- experiments
def experiment_command(name: str, device: str, out: Path) -> List[str]:
    return [sys.executable, "-m", "poolkit.experiments", name, "--device", device, "--quick", "--seeds", "0",
            "--no-progress", "--out", str(out)]


def _env(device: str) -> dict:
    env = dict(os.environ, POOLKIT_DEVICE=device, POOLKIT_PROGRESS="0")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def check_experiments(device: torch.device, work: Path, names: Optional[List[str]] = None,
                      timeout: float = 1800) -> dict:
    from poolkit.experiments.common import list_experiments

    results = {}
    for name in names or list_experiments():
        out = work / "experiments" / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.unlink()
        cmd = experiment_command(name, str(device), out)
        t0 = time.perf_counter()
        try:
            res = subprocess.run(cmd, cwd=ROOT, env=_env(str(device)), capture_output=True, text=True, timeout=timeout)
            rc, tail = res.returncode, (res.stdout + res.stderr)[-1500:]
        except subprocess.TimeoutExpired:
            rc, tail = None, f"timed out after {timeout} s"
        r = {"command": " ".join(cmd[1:]), "rc": rc, "seconds": round(time.perf_counter() - t0, 2)}
        problems = []
        if rc != 0:
            problems.append(f"exit status {rc}")
            r["output_tail"] = tail
        elif not out.exists():
            problems.append("no results file")
        else:
            doc = json.loads(out.read_text())
            r["results_device"] = doc.get("device")
            r["runs"] = len(doc.get("runs", []))
            if not str(doc.get("device", "")).startswith(device.type):
                problems.append(f"results file says device {doc.get('device')!r}")
        r["problems"] = problems
        r["ok"] = not problems
        results[name] = r
    return {"ok": all(r["ok"] for r in results.values()), "experiments": results}


# --------------------------------------------------------------------------- chapters
PROBE_CELL = (
    "import json as _json, os as _os, torch as _torch\n"
    "import poolkit.train as _pt\n"
    "_cuda = _torch.cuda.is_available()\n"
    f"print({PROBE!r} + _json.dumps({{'POOLKIT_DEVICE': _os.environ.get('POOLKIT_DEVICE'),\n"
    "    'get_device': str(_pt.get_device()), 'cuda': _cuda,\n"
    "    'max_memory_allocated': _torch.cuda.max_memory_allocated() if _cuda else 0}))\n"
)


TRAINERS = ("fit(", "train_eval(")


def run_notebook(path: Path, device: str, timeout: int = 1800) -> dict:
    """Execute ``path`` with ``POOLKIT_DEVICE=device`` plus a last probe cell; seconds and probe."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    # A chapter that trains through fit (or an experiment's train_eval) must use the GPU;
    # chapters 1 and 8 train nothing that way, and their small CPU models stay on the CPU.
    trains = any(any(t in c.source for t in TRAINERS) for c in nb.cells if c.cell_type == "code")
    nb.cells.append(nbformat.v4.new_code_cell(PROBE_CELL))
    saved = {k: os.environ.get(k) for k in ("POOLKIT_DEVICE", "POOLKIT_PROGRESS", "PYTHONPATH")}
    os.environ.update({k: v for k, v in _env(device).items() if k in saved})
    r: dict = {"notebook": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
               "trains": trains}
    t0 = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        r["error"] = None
    except CellExecutionError as e:
        r["error"] = str(e)[-1500:]
    except Exception as e:  # noqa: BLE001
        r["error"] = f"{type(e).__name__}: {e}"[-1500:]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    r["seconds"] = round(time.perf_counter() - t0, 2)
    probe = None
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith(PROBE):
                probe = json.loads(line[len(PROBE):])
    r["probe"] = probe
    problems = []
    if r["error"]:
        problems.append("a cell failed")
    elif probe is None:
        problems.append("the probe cell printed nothing")
    else:
        if probe["get_device"].split(":")[0] != device.split(":")[0]:
            problems.append(f"get_device() gave {probe['get_device']}")
        if device.startswith("cuda") and r["trains"] and not probe["max_memory_allocated"]:
            problems.append("no CUDA memory was ever allocated: the models did not run on the GPU")
    r["problems"] = problems
    r["ok"] = not problems
    return r


def check_chapters(device: torch.device, notebooks: Optional[List[Path]] = None) -> dict:
    paths = notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = {p.stem: run_notebook(p, str(device)) for p in paths}
    return {"ok": all(r["ok"] for r in results.values()), "chapters": results,
            "seconds_per_chapter": {k: r["seconds"] for k, r in results.items()}}


# --------------------------------------------------------------------------- main
def environment(device: torch.device) -> dict:
    import platform

    env = {"python": platform.python_version(), "torch": torch.__version__, "device": str(device),
           "cuda_available": torch.cuda.is_available()}
    try:
        import torch_geometric

        env["torch_geometric"] = torch_geometric.__version__
    except ImportError:
        pass
    if device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda when present, else do nothing)")
    ap.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--poolers", nargs="+", default=None, help="only these registry names (default: all)")
    ap.add_argument("--experiments", nargs="+", default=None, help="only these experiments (default: all)")
    ap.add_argument("--chapters", nargs="+", default=None, help="only these notebooks (paths; default: all)")
    ap.add_argument("--work", default=str(ROOT / "_build" / "gpu_check"), help="scratch folder (experiment results)")
    ap.add_argument("--out", default=None, help="verdict file (default: results/gpu_check.json on CUDA, "
                                                 "_build/gpu_check_<device>.json otherwise)")
    args = ap.parse_args(argv)
    if args.device is None:
        if not torch.cuda.is_available():
            print("gpu-check: no CUDA device on this machine (torch "
                  f"{torch.__version__}); nothing checked. Run it on a GPU machine, or "
                  "`--device cpu` for a dry run of the same code paths.")
            return 0
        args.device = "cuda"
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"gpu-check: --device {args.device} asked for, but CUDA is not available", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else (ROOT / "results" / "gpu_check.json" if device.type == "cuda"
                                           else ROOT / "_build" / f"gpu_check_{device.type}.json")
    work = Path(args.work)
    verdict = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "environment": environment(device),
               "command": "python scripts/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "sections": {}}
    t_all = time.perf_counter()
    for section in args.sections:
        t0 = time.perf_counter()
        print(f"gpu-check: {section} on {device} ...", flush=True)
        try:
            if section == "poolers":
                res = check_poolers(device, args.poolers)
            elif section == "fit":
                res = check_fit(device)
            elif section == "live":
                res = check_live(device)
            elif section == "experiments":
                res = check_experiments(device, work, args.experiments)
            else:
                res = check_chapters(device, [Path(p).resolve() for p in args.chapters] if args.chapters else None)
        except Exception as e:  # noqa: BLE001
            res = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
        res["seconds"] = round(time.perf_counter() - t0, 2)
        verdict["sections"][section] = res
        print(f"gpu-check: {section}: {'ok' if res['ok'] else 'FAILED'} ({res['seconds']} s)", flush=True)
    if "chapters" in verdict["sections"]:
        verdict["seconds_per_chapter"] = verdict["sections"]["chapters"].get("seconds_per_chapter", {})
    verdict["seconds"] = round(time.perf_counter() - t_all, 2)
    verdict["ok"] = all(s["ok"] for s in verdict["sections"].values())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(verdict, indent=2, default=str) + "\n")
    for section, res in verdict["sections"].items():
        for group in ("poolers", "cases", "experiments", "chapters"):
            for name, r in (res.get(group) or {}).items():
                if not r.get("ok"):
                    print(f"  FAILED {section}/{name}: {r.get('error') or '; '.join(r.get('problems', []))}")
        if res.get("problems"):
            print(f"  {section}: {'; '.join(res['problems'])}")
    print(f"gpu-check: {'all checks passed' if verdict['ok'] else 'FAILED'} on {device}; verdict in {out}")
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
