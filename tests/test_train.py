"""poolkit.train: metrics against scikit-learn, a short fit that lowers the loss, weighted
auxiliary losses, callbacks, seeds, early stopping and clear errors."""
import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from poolkit import train as T
from poolkit.data import sbm


# --------------------------------------------------------------------------- metrics
def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=50), rng.normal(size=50)
    assert T.rmse(p, t) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)))
    assert T.mae(p, t) == pytest.approx(skm.mean_absolute_error(t, p))
    t2 = t.copy()
    t2[:5] = np.nan                                           # NaN targets are ignored
    assert T.rmse(p, t2) == pytest.approx(np.sqrt(skm.mean_squared_error(t[5:], p[5:])))


def test_accuracy_and_roc_auc_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)                # rounding creates ties
    assert T.accuracy(s > 0.5, y) == pytest.approx(skm.accuracy_score(y, s > 0.5))
    assert T.roc_auc(s, y) == pytest.approx(skm.roc_auc_score(y, s))
    # multi-task with missing labels: mean over tasks of the per-task AUC
    Y = rng.integers(0, 2, (100, 3)).astype(float)
    S = rng.normal(size=(100, 3)) + Y
    Y[:10, 1] = np.nan
    ref = np.mean([skm.roc_auc_score(Y[~np.isnan(Y[:, j]), j], S[~np.isnan(Y[:, j]), j]) for j in range(3)])
    assert T.roc_auc(S, Y) == pytest.approx(ref)
    assert np.isnan(T.roc_auc([0.1, 0.2], [1, 1]))          # one class: undefined


def test_nmi_matches_sklearn():
    rng = np.random.default_rng(2)
    for _ in range(5):
        a, b = rng.integers(0, 4, 60), rng.integers(0, 3, 60)
        assert T.nmi(a, b) == pytest.approx(skm.normalized_mutual_info_score(b, a), abs=1e-10)
    a = rng.integers(0, 4, 30)
    assert T.nmi((a + 1) % 4, a) == pytest.approx(1.0)       # relabelling does not matter


# --------------------------------------------------------------------------- fit / evaluate
class SizeRegressor(torch.nn.Module):
    """Predict a graph's node count from the sum of constant features."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(1, 1)

    def forward(self, data):
        from torch_geometric.nn import global_add_pool

        return self.lin(global_add_pool(data.x, data.batch)).view(-1), {}


def _size_graphs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 10))
        out.append(Data(x=torch.ones(k, 1), edge_index=torch.empty(2, 0, dtype=torch.long), y=torch.tensor([k / 10.0])))
    return out


def test_short_fit_lowers_the_loss_and_evaluates():
    T.set_seed(0)
    loader = DataLoader(_size_graphs(), batch_size=8, shuffle=True)
    model = SizeRegressor()
    before = T.evaluate(model, loader, "regression")
    hist = T.fit(model, loader, loader, epochs=30, task="regression", lr=0.05, progress=False)
    after = T.evaluate(model, loader, "regression")
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    assert after["rmse"] < 0.3 * before["rmse"] and after["loss"] == pytest.approx(after["rmse"] ** 2, rel=1e-4)
    assert len(hist) == 30 and "val_rmse" in hist.last and hist.last["seconds"] > 0
    assert list(hist.to_frame()["epoch"]) == list(range(1, 31))


class AuxModel(torch.nn.Module):
    """Prediction from ``w``; an auxiliary loss ``a = v²`` on a second parameter."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.v = torch.nn.Parameter(torch.ones(1))

    def forward(self, data):
        pred = self.w.expand(data.num_graphs)
        return pred, {"a": (self.v ** 2).sum(), "b": (self.v * 0).sum()}


def test_aux_losses_are_weighted():
    data = [Data(x=torch.ones(1, 1), edge_index=torch.empty(2, 0, dtype=torch.long), y=torch.tensor([1.0]))]
    loader = DataLoader(data, batch_size=1)
    m0 = AuxModel()
    T.fit(m0, loader, epochs=20, task="regression", lr=0.1, aux_weights={"a": 0.0}, progress=False)
    assert float(m0.v.detach()) == pytest.approx(1.0)                 # weight 0: v untouched
    m1 = AuxModel()
    hist = T.fit(m1, loader, epochs=20, task="regression", lr=0.1, progress=False)
    assert abs(float(m1.v.detach())) < 0.5                            # default weight 1: v shrinks
    assert hist[0]["loss"] == pytest.approx(hist[0]["task_loss"] + hist[0]["a"])
    m2 = AuxModel()
    h2 = T.fit(m2, loader, epochs=1, task="regression", aux_weights={"a": 3.0}, progress=False)
    assert h2[0]["loss"] == pytest.approx(h2[0]["task_loss"] + 3.0 * h2[0]["a"])


class Recorder:
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append(("begin", state.epoch, state.step))

    def on_step(self, state):
        self.calls.append(("step", state.epoch, state.step, sorted(state.losses)))

    def on_epoch_end(self, state):
        self.calls.append(("epoch", state.epoch, state.step))

    def on_train_end(self, state):
        self.calls.append(("end", state.epoch, state.step))


def test_callbacks_are_called_in_order():
    loader = DataLoader(_size_graphs(12), batch_size=4)
    rec = Recorder()
    T.fit(SizeRegressor(), loader, epochs=2, task="regression", callbacks=[rec], progress=False)
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["begin"] + ["step"] * 3 + ["epoch"] + ["step"] * 3 + ["epoch", "end"]
    assert rec.calls[-1][2] == 6 and rec.calls[1][3] == ["loss", "task_loss"]


def test_seed_makes_fit_reproducible():
    def run():
        T.set_seed(7)
        loader = DataLoader(_size_graphs(), batch_size=8, shuffle=True)
        model = SizeRegressor()
        return T.fit(model, loader, epochs=3, task="regression", progress=False)["loss"]

    assert run() == run()


def test_classification_losses_and_metrics():
    torch.manual_seed(0)
    # multi-class logits
    pred = torch.randn(10, 3)
    y = torch.randint(0, 3, (10,))
    assert T.task_loss(pred, y, "classification") == pytest.approx(float(torch.nn.functional.cross_entropy(pred, y)))
    # binary with one logit column and multi-task with NaN labels
    p1, y1 = torch.randn(10), torch.randint(0, 2, (10,)).float()
    ref = torch.nn.functional.binary_cross_entropy_with_logits(p1, y1)
    assert float(T.task_loss(p1, y1.view(-1, 1), "classification")) == pytest.approx(float(ref))
    pm, ym = torch.randn(6, 2), torch.tensor([[1.0, float("nan")], [0, 1], [1, 0], [0, 0], [1, 1], [float("nan"), 0]])
    ok = ~torch.isnan(ym)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(pm[ok], ym[ok])
    assert float(T.task_loss(pm, ym, "classification")) == pytest.approx(float(ref))


class PerfectClusterer(torch.nn.Module):
    def forward(self, data):
        s = torch.nn.functional.one_hot(data.y, 3).float()
        return s, {"zero": s.sum() * 0}


def test_clustering_evaluation_is_nmi_per_graph():
    graphs = [sbm((4, 4, 4), 0.9, 0.1, seed=i) for i in range(3)]
    loader = DataLoader(graphs, batch_size=3)
    out = T.evaluate(PerfectClusterer(), loader, "clustering")
    assert out["nmi"] == pytest.approx(1.0) and out["loss"] == 0.0


def test_clustering_fit_minimises_aux_only():
    from poolkit.nn import NodeClusterer

    T.set_seed(0)
    g = sbm((10, 10, 10), 0.6, 0.02, seed=0, feature="noisy_block", dim=8)
    model = NodeClusterer(g.num_features, 3, "mincut", hidden=16)
    hist = T.fit(model, [g], [g], epochs=60, task="clustering", lr=0.01, progress=False)
    assert "task_loss" not in hist.last
    assert hist.last["loss"] == pytest.approx(sum(v for k, v in hist.last.items() if k in ("cut", "ortho")), abs=1e-5)
    assert hist["loss"][-1] < hist["loss"][0] - 0.1
    assert hist.last["val_nmi"] > 0.5


def test_early_stopping_and_restore_best():
    loader = DataLoader(_size_graphs(16), batch_size=16)
    model = SizeRegressor()
    hist = T.fit(model, loader, loader, epochs=50, task="regression", lr=0.0, monitor="val_loss", patience=3,
                 progress=False)
    assert len(hist) == 4                                      # lr 0: no improvement after epoch 1


def test_device_and_errors(monkeypatch):
    assert T.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("POOLKIT_DEVICE", "cpu")
    assert T.get_device() == torch.device("cpu")
    monkeypatch.delenv("POOLKIT_DEVICE")
    assert T.get_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    loader = DataLoader(_size_graphs(4), batch_size=4)
    with pytest.raises(ValueError, match="task"):
        T.fit(SizeRegressor(), loader, task="ranking", progress=False)
    with pytest.raises(ValueError, match="epochs"):
        T.fit(SizeRegressor(), loader, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="task"):
        T.evaluate(SizeRegressor(), loader, task="nope")


# --------------------------------------------------------------------------- non-finite losses
def _poisoned_graphs(bad_index, n=12):
    """Size graphs with NaN features in graph ``bad_index`` (with batch_size 4, index 8 is in
    the third batch)."""
    graphs = _size_graphs(n)
    graphs[bad_index] = Data(x=torch.full((3, 1), float("nan")), edge_index=torch.empty(2, 0, dtype=torch.long),
                             y=torch.tensor([0.3]))
    return graphs


class _SecondEpochOnly:
    """A loader that is clean in epoch 1 and yields a NaN batch (its 3rd) in epoch 2."""

    def __init__(self):
        self.clean = DataLoader(_size_graphs(12), batch_size=4)
        self.bad = DataLoader(_poisoned_graphs(8), batch_size=4)
        self.epoch = 0

    def __iter__(self):
        self.epoch += 1
        return iter(self.clean if self.epoch == 1 else self.bad)


def test_fit_stops_at_the_first_non_finite_loss_and_keeps_the_last_good_weights():
    T.set_seed(0)
    model = SizeRegressor()
    loader = _SecondEpochOnly()
    seen = []

    class Record:
        def on_step(self, state):
            seen.append({k: v.detach().clone() for k, v in state.model.state_dict().items()})

    with pytest.raises(T.NonFiniteLossError, match=r"epoch 2, batch 3") as err:
        T.fit(model, loader, epochs=5, task="regression", lr=0.05, progress=False, callbacks=[Record()])
    assert err.value.epoch == 2 and err.value.batch == 3 and np.isnan(err.value.losses["loss"])
    assert len(err.value.history) == 1                         # epoch 1 completed, and is kept
    assert len(seen) == 3 + 2                                  # steps: 3 in epoch 1, 2 good ones in epoch 2
    for k, v in model.state_dict().items():
        assert torch.isfinite(v).all()
        assert torch.equal(v, seen[-1][k])                     # the weights after the last good batch


class _NanGradient(torch.nn.Module):
    """A finite loss whose gradient is NaN: d/dw sqrt(w) at w = 0 is inf, times 0 gives NaN."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, data):
        return (torch.sqrt(self.w) * 0).expand(data.num_graphs), {}


def test_fit_stops_on_a_non_finite_gradient_before_stepping():
    loader = DataLoader(_size_graphs(4), batch_size=4)
    model = _NanGradient()
    with pytest.raises(T.NonFiniteLossError, match=r"non-finite gradient at epoch 1, batch 1"):
        T.fit(model, loader, epochs=2, task="regression", progress=False)
    assert float(model.w.detach()) == 0.0


def test_evaluate_runs_where_the_model_is(monkeypatch):
    # After training on a GPU a chapter moves the model back with model.cpu(); evaluate must
    # then run on the CPU even though get_device() names another device. "meta" stands in
    # for CUDA here: a batch moved there could not meet the CPU weights.
    loader = DataLoader(_size_graphs(8), batch_size=4)
    model = SizeRegressor()
    monkeypatch.setenv("POOLKIT_DEVICE", "meta")
    assert T.get_device().type == "meta"
    assert T.module_device(model) == torch.device("cpu")
    assert np.isfinite(T.evaluate(model, loader, "regression")["rmse"])
    assert T.module_device(torch.nn.Identity()).type == "meta"         # no weights: get_device()
    with pytest.raises(Exception):                                       # an explicit device wins
        T.evaluate(model, loader, "regression", device="meta")
