r"""Training and evaluation: one loop for graph regression, graph classification and
unsupervised clustering.

Model convention: ``model(data)`` returns ``(prediction, aux_losses)`` where ``aux_losses``
is a dict of named scalar tensors (the unweighted auxiliary losses of the poolers). The
loss minimised is

.. math::  \mathcal{L} = \mathcal{L}_{task} + \sum_{name} w_{name}\, \mathcal{L}_{name}

with ``w_name = aux_weights.get(name, 1.0)``. For ``task="clustering"`` there is no task
loss: the weighted auxiliary sum is the whole objective, and evaluation compares the hard
clusters ``argmax S`` with ``data.y`` by normalised mutual information (NMI).

Callbacks are objects with any of ``on_train_begin(state)``, ``on_step(state)``,
``on_epoch_end(state)``, ``on_train_end(state)``; ``state`` exposes ``model``,
``optimizer``, ``epoch``, ``step``, ``losses`` (last step, floats), ``history`` and
``device``. :class:`poolkit.live.LiveView` is one.
"""
from __future__ import annotations

import copy
import math
import itertools
import os
import random
import time
from types import SimpleNamespace
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "set_seed",
    "get_device",
    "fit",
    "NonFiniteLossError",
    "evaluate",
    "predict",
    "History",
    "TASKS",
    "rmse",
    "mae",
    "accuracy",
    "roc_auc",
    "nmi",
    "task_loss",
]

TASKS = ("classification", "regression", "clustering")


# --------------------------------------------------------------------------- seeds, device
def set_seed(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA). ``deterministic=True`` also asks
    PyTorch for deterministic kernels (slower; some scatter ops on CUDA then warn)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def get_device(device=None) -> torch.device:
    """``device`` if given, else CUDA when present, else CPU. ``POOLKIT_DEVICE`` overrides
    the automatic choice."""
    if device is not None:
        return torch.device(device)
    env = os.environ.get("POOLKIT_DEVICE")
    if env:
        return torch.device(env)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def module_device(model, default=None) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); :func:`get_device` (``default``)
    for a model that has neither. ``evaluate`` runs where the model is, so a model trained
    on CUDA and one moved back with ``model.cpu()`` are both evaluated without a device
    argument."""
    tensors = itertools.chain(getattr(model, "parameters", tuple)(), getattr(model, "buffers", tuple)())
    first = next(tensors, None)
    return first.device if first is not None else get_device(default)


# --------------------------------------------------------------------------- metrics
def _flat(t) -> Tensor:
    return torch.as_tensor(t).detach().cpu().double().reshape(-1)


def rmse(pred, target) -> float:
    """Root mean squared error (NaN targets ignored)."""
    p, t = _flat(pred), _flat(target)
    ok = ~torch.isnan(t)
    return float(((p[ok] - t[ok]) ** 2).mean().sqrt())


def mae(pred, target) -> float:
    """Mean absolute error (NaN targets ignored)."""
    p, t = _flat(pred), _flat(target)
    ok = ~torch.isnan(t)
    return float((p[ok] - t[ok]).abs().mean())


def accuracy(pred_labels, target) -> float:
    """Fraction of equal labels."""
    p, t = _flat(pred_labels), _flat(target)
    return float((p == t).double().mean()) if t.numel() else float("nan")


def roc_auc(scores, target) -> float:
    """Area under the ROC curve for binary ``target`` (Mann–Whitney statistic with average
    ranks for ties). Multi-column input: mean over columns, skipping NaN labels and columns
    with a single class (as MoleculeNet evaluations do)."""
    s = torch.as_tensor(scores).detach().cpu().double()
    t = torch.as_tensor(target).detach().cpu().double()
    if s.dim() > 1 and s.size(-1) > 1:
        t = t.reshape(s.shape)
        vals = [roc_auc(s[:, j], t[:, j]) for j in range(s.size(1))]
        vals = [v for v in vals if not math.isnan(v)]
        return float(np.mean(vals)) if vals else float("nan")
    s, t = s.reshape(-1), t.reshape(-1)
    ok = ~torch.isnan(t)
    s, t = s[ok], t[ok]
    pos = t > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # average ranks (1-based) with ties shared
    order = torch.argsort(s)
    sorted_s = s[order]
    ranks = torch.empty_like(s)
    i, n = 0, s.numel()
    while i < n:
        j = i
        while j + 1 < n and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def nmi(labels_pred, labels_true) -> float:
    """Normalised mutual information ``I(U;V) / mean(H(U), H(V))`` (arithmetic mean, as
    scikit-learn's default). 1 for identical partitions up to relabelling."""
    a = torch.as_tensor(labels_pred).detach().cpu().long().reshape(-1)
    b = torch.as_tensor(labels_true).detach().cpu().long().reshape(-1)
    if a.numel() != b.numel():
        raise ValueError(f"labels_pred has {a.numel()} entries but labels_true has {b.numel()}")
    n = a.numel()
    if n == 0:
        return float("nan")
    _, a = torch.unique(a, return_inverse=True)
    _, b = torch.unique(b, return_inverse=True)
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    c = torch.zeros(ka, kb, dtype=torch.float64)
    c.index_put_((a, b), torch.ones(n, dtype=torch.float64), accumulate=True)
    pij = c / n
    pi, pj = pij.sum(1), pij.sum(0)
    nz = pij > 0
    mi = float((pij[nz] * (pij[nz] / (pi[:, None] * pj[None, :])[nz]).log()).sum())
    ha = float(-(pi[pi > 0] * pi[pi > 0].log()).sum())
    hb = float(-(pj[pj > 0] * pj[pj > 0].log()).sum())
    if ha == 0 and hb == 0:
        return 1.0
    denom = (ha + hb) / 2
    return max(0.0, mi / denom) if denom > 0 else 0.0


# --------------------------------------------------------------------------- losses
def task_loss(pred: Tensor, y: Tensor, task: str) -> Tensor:
    """Cross-entropy (multi-class), binary cross-entropy with logits (one column or
    multi-task, NaN labels masked) or mean squared error (NaN targets masked)."""
    if task == "classification":
        if pred.dim() == 2 and pred.size(1) > 1 and y.numel() == pred.size(0):
            return F.cross_entropy(pred, y.view(-1).long())
        y = y.to(pred.dtype).view_as(pred) if y.numel() == pred.numel() else y.to(pred.dtype)
        ok = ~torch.isnan(y)
        return F.binary_cross_entropy_with_logits(pred[ok], y[ok])
    if task == "regression":
        y = y.to(pred.dtype)
        if y.numel() == pred.numel():
            y = y.view_as(pred)
        ok = ~torch.isnan(y)
        return F.mse_loss(pred[ok], y[ok])
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def _split_output(out):
    """``(prediction, aux)`` from whatever the model returned."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        return out[0], out[1]
    if isinstance(out, dict):
        return None, out
    return out, {}


def _weighted_aux(aux: Dict[str, Tensor], aux_weights: Optional[Dict[str, float]]):
    weights = aux_weights or {}
    total = None
    for name, value in aux.items():
        term = weights.get(name, 1.0) * value
        total = term if total is None else total + term
    return total


# --------------------------------------------------------------------------- history
class NonFiniteLossError(FloatingPointError):
    """Raised by :func:`fit` at the first batch whose loss (or gradient) is not finite.

    The optimiser has not stepped on that batch, so the model keeps the weights it had
    after the last good batch. ``epoch`` and ``batch`` (both from 1) say where it happened,
    ``losses`` holds that batch's values and ``history`` the epochs completed before it.
    """

    def __init__(self, epoch: int, batch: int, losses: Dict[str, float], history):
        self.epoch, self.batch, self.losses, self.history = epoch, batch, dict(losses), history
        what = "loss" if not all(math.isfinite(v) for v in losses.values()) else "gradient"
        parts = ", ".join(f"{k}={v:.4g}" for k, v in losses.items())
        super().__init__(
            f"non-finite {what} at epoch {epoch}, batch {batch} ({parts}); training stopped before the "
            f"optimiser step, so the model keeps the weights of the last good batch. Check the input for "
            f"NaN/inf, or lower the learning rate."
        )


class History(list):
    """One dict per epoch (``epoch``, ``loss``, ``task_loss``, each aux loss, ``val_*``
    metrics, ``seconds``). ``history["loss"]`` returns that column as a list."""

    def __getitem__(self, key):
        if isinstance(key, str):
            return [row.get(key, float("nan")) for row in self]
        return super().__getitem__(key)

    @property
    def last(self) -> dict:
        return self[-1] if len(self) else {}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self))


def _call(callbacks, hook, state):
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(state)


def _progress_enabled(progress: bool) -> bool:
    return bool(progress) and os.environ.get("POOLKIT_PROGRESS", "1") not in ("0", "false", "no")


def fit(
    model: torch.nn.Module,
    train_loader: Iterable,
    val_loader: Optional[Iterable] = None,
    epochs: int = 10,
    task: str = "classification",
    lr: float = 1e-3,
    aux_weights: Optional[Dict[str, float]] = None,
    callbacks: Sequence = (),
    progress: bool = True,
    optimizer: Optional[torch.optim.Optimizer] = None,
    weight_decay: float = 0.0,
    device=None,
    grad_clip: Optional[float] = None,
    monitor: Optional[str] = None,
    patience: Optional[int] = None,
    restore_best: bool = False,
    loss_fn: Optional[Callable] = None,
) -> History:
    """Train ``model`` and return a :class:`History`.

    ``train_loader`` yields PyG batches (a list of ``Data`` also works for a single graph:
    ``[data]``). ``val_loader`` is evaluated after every epoch with :func:`evaluate`; its
    metrics appear as ``val_<name>``. ``monitor`` (e.g. ``"val_loss"``, ``"val_accuracy"``;
    lower is better unless the name contains accuracy/auc/nmi) with ``patience`` stops
    early; ``restore_best`` reloads the best weights at the end. ``loss_fn(pred, data)``
    replaces the task loss.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    device = get_device(device)
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = History()
    callbacks = [cb for cb in callbacks if cb is not None]
    state = SimpleNamespace(model=model, optimizer=optimizer, epoch=0, step=0, losses={}, history=history,
                            device=device, task=task, stop=False, aux_weights=aux_weights or {})
    higher_better = monitor is not None and any(k in monitor for k in ("acc", "auc", "nmi"))
    best, best_state, bad_epochs = None, None, 0

    _call(callbacks, "on_train_begin", state)
    bar = None
    if _progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="training", leave=False)
    try:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            model.train()
            t0 = time.perf_counter()
            sums: Dict[str, float] = {}
            count = 0
            for data in train_loader:
                data = data.to(device)
                optimizer.zero_grad(set_to_none=True)
                pred, aux = _split_output(model(data))
                total = None
                parts: Dict[str, Tensor] = {}
                if task != "clustering":
                    tl = loss_fn(pred, data) if loss_fn is not None else task_loss(pred, data.y, task)
                    parts["task_loss"] = tl
                    total = tl
                aux_total = _weighted_aux(aux, aux_weights)
                if aux_total is not None:
                    total = aux_total if total is None else total + aux_total
                if total is None:
                    raise ValueError("task='clustering' needs the model to return auxiliary losses")
                total.backward()
                detached = {"loss": total.detach(), **{k: v.detach() for k, v in parts.items()},
                            **{k: v.detach() for k, v in aux.items()}}
                # one host transfer for all the numbers of this step, and whether every
                # gradient is finite, before the weights change
                grads = [p.grad for p in model.parameters() if p.grad is not None]
                grad_ok = (torch.stack([torch.isfinite(g).all() for g in grads]).all() if grads
                           else torch.ones((), dtype=torch.bool, device=total.device))
                vals = torch.cat([torch.stack([v.float().reshape(()) for v in detached.values()]),
                                  grad_ok.float().reshape(1)]).cpu().tolist()
                grad_ok = vals.pop() == 1.0
                state.losses = dict(zip(detached.keys(), vals))
                if not (all(math.isfinite(v) for v in vals) and grad_ok):
                    raise NonFiniteLossError(epoch, count + 1, state.losses, history)
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                state.step += 1
                for k, v in state.losses.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                _call(callbacks, "on_step", state)
            row = {"epoch": epoch, **{k: v / max(count, 1) for k, v in sums.items()}}
            row["seconds"] = time.perf_counter() - t0
            if val_loader is not None:
                metrics = evaluate(model, val_loader, task, device=device, aux_weights=aux_weights)
                row.update({f"val_{k}": v for k, v in metrics.items()})
            history.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in ("loss", "val_loss", "val_accuracy", "val_rmse", "val_nmi")})
            _call(callbacks, "on_epoch_end", state)
            if monitor is not None and monitor in row:
                value = row[monitor]
                improved = best is None or (value > best if higher_better else value < best)
                if improved:
                    best, bad_epochs = value, 0
                    if restore_best:
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_epochs += 1
                    if patience is not None and bad_epochs >= patience:
                        state.stop = True
            if state.stop:
                break
    finally:
        if bar is not None:
            bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    _call(callbacks, "on_train_end", state)
    return history


# --------------------------------------------------------------------------- evaluation
def _cluster_labels(pred, data) -> List[tuple]:
    """Per-graph (predicted, true) hard labels from a node assignment ``pred``."""
    from .src import PoolingOutput, SelectOutput

    if isinstance(pred, PoolingOutput):
        pred = pred.so
    y = data.y.view(-1).cpu()
    batch = getattr(data, "batch", None)
    if isinstance(pred, SelectOutput):
        s, mask = pred.to_dense()
        out, start = [], 0
        for g in range(s.size(0)):
            sg = s[g][mask[g]]
            lab = sg.argmax(-1).cpu()
            out.append((lab, y[start:start + lab.numel()]))
            start += lab.numel()
        return out
    if pred.dim() == 3:  # [B, N, K] without mask: assume one unpadded graph per row
        pred = pred.reshape(-1, pred.size(-1))[: y.numel()]
    lab = pred.argmax(-1).cpu()
    if batch is None:
        return [(lab, y)]
    batch = batch.cpu()
    return [(lab[batch == g], y[batch == g]) for g in range(int(batch.max()) + 1)]


@torch.no_grad()
def predict(model, loader, device=None):
    """Concatenated predictions and targets over ``loader`` (graph-level tasks)."""
    device = get_device(device)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    preds, ys = [], []
    try:
        for data in loader:
            data = data.to(device)
            pred, _ = _split_output(model(data))
            preds.append(pred.detach().cpu())
            ys.append(data.y.detach().cpu())
    finally:
        if was_training:
            model.train()
    return torch.cat(preds), torch.cat(ys)


@torch.no_grad()
def evaluate(model, loader, task: str = "classification", device=None, aux_weights=None) -> Dict[str, float]:
    """Metrics over ``loader``.

    * classification: ``loss``, ``accuracy`` and (binary or multi-task) ``roc_auc``;
    * regression: ``loss`` (MSE), ``rmse``, ``mae``;
    * clustering: ``loss`` (weighted auxiliary sum, mean over batches) and ``nmi`` (mean over
      graphs of NMI between ``argmax S`` and ``data.y``).

    Each batch is moved to ``device``, by default the model's own (:func:`module_device`).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    device = torch.device(device) if device is not None else module_device(model)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        if task == "clustering":
            losses, scores = [], []
            for data in loader:
                data = data.to(device)
                pred, aux = _split_output(model(data))
                tot = _weighted_aux(aux, aux_weights)
                if tot is not None:
                    losses.append(float(tot))
                for lp, lt in _cluster_labels(pred, data):
                    scores.append(nmi(lp, lt))
            return {"loss": float(np.mean(losses)) if losses else float("nan"), "nmi": float(np.mean(scores))}
        preds, ys, losses, sizes = [], [], [], []
        for data in loader:
            data = data.to(device)
            pred, _ = _split_output(model(data))
            losses.append(float(task_loss(pred, data.y, task)))
            sizes.append(int(data.y.size(0)))
            preds.append(pred.detach().cpu())
            ys.append(data.y.detach().cpu())
        pred, y = torch.cat(preds), torch.cat(ys)
        loss = float(np.average(losses, weights=sizes))
        if task == "regression":
            return {"loss": loss, "rmse": rmse(pred, y.view_as(pred) if y.numel() == pred.numel() else y),
                    "mae": mae(pred, y.view_as(pred) if y.numel() == pred.numel() else y)}
        if pred.dim() == 2 and pred.size(1) > 1 and y.numel() == pred.size(0):
            out = {"loss": loss, "accuracy": accuracy(pred.argmax(-1), y)}
            if pred.size(1) == 2:
                out["roc_auc"] = roc_auc(pred.softmax(-1)[:, 1], y)
            return out
        yv = y.view_as(pred) if y.numel() == pred.numel() else y
        ok = ~torch.isnan(yv)
        return {"loss": loss, "accuracy": accuracy((pred[ok] > 0).long(), yv[ok]), "roc_auc": roc_auc(pred, yv)}
    finally:
        if was_training:
            model.train()
