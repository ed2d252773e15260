"""The training core (``sknn_backprop/_training/``): loop, objective, controls, L-BFGS.

Each part is tested on its own here; the estimators' tests cover them end to end
and ``test_weights_battery.py`` pins the numbers they produce.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils import gen_batches, shuffle

from sknn_backprop import MLPClassifier, MLPRegressor, nn
from sknn_backprop._training.controls import (
    Control,
    DivergenceGuard,
    EarlyStopping,
    GradientClipping,
    MaxNorm,
    TrainingState,
)
from sknn_backprop._training.loop import Minibatches
from sknn_backprop._training.objective import PENALTY_BLOCK, Objective, _add_l2_gradient

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


# ------------------------------------------------------------------- objective
@pytest.mark.parametrize("n", [10, PENALTY_BLOCK, 3 * PENALTY_BLOCK + 7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_l2_pass_is_the_plain_formula(n, dtype):
    rng = np.random.default_rng(0)
    w = rng.normal(size=n).astype(dtype)
    g = rng.normal(size=n).astype(dtype)
    expected_g = g + dtype(0.3) * w
    sq = _add_l2_gradient(w, g, 0.3)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(g, expected_g, rtol=rtol)
    assert sq == pytest.approx(float(np.dot(w.astype(float), w.astype(float))), rel=rtol)


def test_elastic_net_penalty_is_the_documented_formula():
    rng = np.random.default_rng(0)
    flat_p = rng.normal(size=20)
    flat_g = np.zeros(20)
    net = nn.Sequential()  # (the penalty does not run the network)
    obj = Objective(net, None, flat_p, flat_g, 12, alpha=0.5, l1_ratio=0.25, adversarial_eps=0)
    loss = obj.penalty(sw_sum=4.0)
    w = flat_p[:12]
    expected = 0.5 * (0.25 * np.abs(w).sum() + 0.75 / 2 * (w @ w)) / 4.0
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(flat_g[:12], 0.5 * (0.25 * np.sign(w) + 0.75 * w) / 4.0)
    assert not flat_g[12:].any()  # biases are never penalised


# ------------------------------------------------------------------ minibatches
def test_minibatches_follow_scikit_learns_shuffle_order():
    X = np.arange(20.0).reshape(10, 2)
    Y = np.arange(10.0).reshape(10, 1)
    ours = Minibatches(X, Y, None, 4, True, np.random.RandomState(0))
    rs, order = np.random.RandomState(0), np.arange(10)
    for _ in range(3):  # three epochs: permutations compose, as scikit-learn's MLP
        order = shuffle(order, random_state=rs)
        expected = [Y[order[b]] for b in gen_batches(10, 4)]
        got = [yb.copy() for _, yb, _ in ours]
        assert len(got) == len(expected) == 3
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("compact", [False, True])
def test_minibatches_of_large_data_are_the_same_batches(compact, monkeypatch):
    # above _INTP_ROWS the order is int32 and shuffled in place; one-hot targets may
    # stay boolean and be cast per batch: the batches are the same as the plain path's
    import sknn_backprop._training.loop as loop

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    Y = np.eye(4, dtype=bool)[rng.integers(0, 4, 50)]
    plain = Minibatches(X, Y.astype(np.float32), None, 8, True, np.random.RandomState(3))
    if compact:
        monkeypatch.setattr(loop, "_INTP_ROWS", 10)
    fast = Minibatches(
        X, Y if compact else Y.astype(np.float32), None, 8, True, np.random.RandomState(3)
    )
    assert fast._order.dtype == (np.int32 if compact else np.intp)
    for _ in range(3):
        for (xa, ya, _), (xb, yb, _) in zip(plain, fast):
            assert yb.dtype == np.float32
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_fit_with_boolean_targets_gives_the_same_weights(digits, monkeypatch):
    import sknn_backprop._base as base

    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    ref = MLPClassifier(**params).fit(X, y)
    monkeypatch.setattr(base, "_FLOAT_TARGETS_BYTES", 0)  # keep Y boolean
    got = MLPClassifier(**params).fit(X, y)
    for a, b in zip(ref.coefs_ + ref.intercepts_, got.coefs_ + got.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert got.loss_curve_ == ref.loss_curve_


# ------------------------------------------------------------------ controls
def _state(p, g=None):
    return TrainingState(None, p, np.zeros_like(p) if g is None else g)


def test_gradient_clipping_caps_the_global_norm():
    g = np.array([3.0, 4.0])
    GradientClipping(1.0).after_gradient(_state(np.zeros(2), g))
    np.testing.assert_allclose(g, [0.6, 0.8])
    small = np.array([0.3, 0.4])
    GradientClipping(1.0).after_gradient(_state(np.zeros(2), small))
    np.testing.assert_array_equal(small, [0.3, 0.4])  # below the cap: untouched


def test_max_norm_caps_each_units_incoming_weights():
    from sknn_backprop import nn

    layer = nn.Linear(3, 2)
    layer.weight[...] = [[3.0, 4.0, 0.0], [0.1, 0.0, 0.0]]
    MaxNorm(1.0, [layer, nn.ReLU()]).after_step(_state(np.zeros(1)))
    np.testing.assert_allclose(layer.weight, [[0.6, 0.8, 0.0], [0.1, 0.0, 0.0]])


class _Est:
    """The public fitted attributes the controls read and write."""

    def __init__(self):
        self.loss_curve_ = []


def test_early_stopping_on_the_training_loss_counts_patience(capsys):
    from sknn_backprop._training.reporting import VerboseLog

    est, state = _Est(), _state(np.zeros(1))
    stop = EarlyStopping(False, tol=0.0, n_iter_no_change=2)
    state.estimator, state.controls = est, [stop]
    stop.on_train_begin(state)
    decisions = []
    for loss in [1.0, 0.5, 0.6, 0.7, 0.8]:
        est.loss_curve_.append(loss)
        stop.on_epoch_end(state)
        decisions.append(stop.should_stop(state))
    assert decisions == [False, False, False, False, True]  # 3 epochs > patience 2
    assert stop.best_loss == est.best_loss_ == 0.5  # its own state, published
    assert stop.no_improvement_count == 3
    assert capsys.readouterr().out == ""  # nothing prints without VerboseLog
    state.controls = [VerboseLog(), stop]
    assert stop.should_stop(state)
    assert capsys.readouterr().out == (
        "Training loss did not improve more than tol=0.000000 for 2 consecutive epochs. "
        "Stopping.\n"
    )


def test_divergence_guard_restores_the_last_finite_weights():
    est = _Est()
    est.diverged_ = False
    est.loss_, est.n_iter_ = 1.0, 1
    p = np.array([1.0, 2.0])
    state = _state(p)
    state.estimator = est
    guard = DivergenceGuard()
    guard.on_train_begin(state)
    p[...] = [3.0, 4.0]
    guard.on_epoch_end(state)  # finite: remembered
    state.epoch, est.n_iter_ = 1, 2
    p[...] = [np.nan, 5.0]
    guard.on_epoch_end(state)
    assert state.stopped and est.diverged_
    np.testing.assert_array_equal(p, [3.0, 4.0])
    with pytest.warns(Warning, match="Training diverged at iteration 2"):
        guard.on_train_end(state)


class Recorder(Control):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append("begin")

    def after_gradient(self, state):
        self.calls.append("gradient")

    def after_step(self, state):
        self.calls.append("step")

    def on_epoch_end(self, state):
        self.calls.append("epoch")

    def should_stop(self, state):
        self.calls.append("stop?")
        return False

    def on_train_end(self, state):
        self.calls.append("end")


def test_the_loop_calls_controls_at_its_fixed_points(digits):
    X, y = digits
    rec = Recorder()
    est = MLPClassifier(max_iter=2, batch_size=150, controls=[rec], random_state=0).fit(X, y)
    epoch = ["gradient", "step", "gradient", "step", "epoch", "stop?"]
    assert est.controls_[0].calls == ["begin"] + epoch * 2 + ["end"]
    assert rec.calls == []  # fit trains a copy: the parameter is left as given
    est.partial_fit(X, y)  # continues with the same copy
    assert est.controls_[0].calls[-8:] == ["begin"] + epoch + ["end"]


def test_lbfgs_calls_controls_each_iteration(digits):
    X, y = digits
    est = MLPRegressor(solver="lbfgs", max_iter=5, controls=[Recorder()], random_state=0)
    est.fit(X, y.astype(float))
    rec = est.controls_[0]
    assert rec.calls[0] == "begin" and rec.calls[-1] == "end"
    assert rec.calls.count("epoch") == est.n_iter_ == rec.calls.count("stop?")
    assert rec.calls.count("gradient") >= est.n_iter_  # one per loss-and-gradient evaluation


class StopBelow(Control):
    def __init__(self, loss):
        self.loss = loss

    def should_stop(self, state):
        return state.estimator.loss_ < self.loss


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_user_control_can_stop_training(digits, solver):
    X, y = digits
    free = MLPClassifier(solver=solver, max_iter=60, random_state=0).fit(X, y)
    target = free.loss_curve_[9]
    est = MLPClassifier(solver=solver, max_iter=60, random_state=0, controls=[StopBelow(target)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopping on request is not a convergence failure
        est.fit(X, y)
    assert est.n_iter_ < free.n_iter_
    assert min(est.loss_curve_) < target <= min(est.loss_curve_[:-1])


def test_controls_must_be_controls(digits):
    X, y = digits
    est = MLPClassifier(max_iter=1, controls=[lambda state: None])
    with pytest.raises(ValueError, match="controls must be a list of sknn_backprop.training"):
        est.fit(X, y)
    assert not hasattr(est, "model_")


def test_lbfgs_keeps_loss_curve_current_for_controls(digits):
    X, y = digits
    seen = []

    class Watch(Control):
        def on_epoch_end(self, state):
            est = state.estimator
            seen.append((est.n_iter_, len(est.loss_curve_), est.loss_ == est.loss_curve_[-1]))

    est = MLPRegressor(solver="lbfgs", max_iter=4, controls=[Watch()], random_state=0)
    est.fit(X, y.astype(float))
    assert seen == [(i, i, True) for i in range(1, 5)]
    assert len(est.loss_curve_) == est.n_iter_ == 4


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_labels_encoded_in_chunks_equal_the_one_call(monkeypatch, kind):
    from sklearn.preprocessing import LabelBinarizer

    from sknn_backprop import _classifier

    rng = np.random.default_rng(0)
    y = {
        "binary": rng.integers(0, 2, 1000),
        "multiclass": rng.integers(0, 7, 1000),
        "multilabel": rng.integers(0, 2, (1000, 4)),
    }[kind]
    lb = LabelBinarizer().fit(y)
    monkeypatch.setattr(_classifier, "ENCODE_CHUNK", 64)
    got = _classifier.encode_labels(lb, y)
    np.testing.assert_array_equal(got, lb.transform(y).astype(bool))
    assert got.dtype == bool
