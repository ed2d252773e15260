"""Fault injection: non-finite gradients, diverging learning rates, Ctrl-C during fit.

Faults are injected through the training controls (the ``controls`` parameter),
the same hook points the built-in early stopping, clipping and divergence guard use.
As any control, a fault is trained as a copy: the one that ran is ``est.controls_[0]``.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import MLPClassifier, MLPRegressor
from sknn_backprop.training import Control

N = 50


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    return X, (X[:, 0] > 0).astype(int), X[:, 0] - 0.5 * X[:, 1]


def _make(kind, **params):
    # batch_size="auto" = all samples (< 200): one minibatch, one gradient per epoch
    base = dict(hidden_layer_sizes=(5,), max_iter=10, random_state=0, tol=0, n_iter_no_change=50)
    base.update(params)
    return MLPClassifier(**base) if kind == "cls" else MLPRegressor(**base)


def _target(kind):
    X, y_cls, y_reg = _data()
    return X, (y_cls if kind == "cls" else y_reg)


class Fault(Control):
    """Make the gradient non-finite (or raise Ctrl-C) at the ``at``-th minibatch.

    ``record`` holds the weights after every optimizer step.  ``disarm()`` turns the
    fault off, for training the same estimator further.
    """

    def __init__(self, at, fault="nan"):
        self.at, self.fault = at, fault
        self.calls = 0
        self.record = []

    def after_gradient(self, state):
        self.calls += 1
        if self.calls == self.at:
            if self.fault == "interrupt":
                raise KeyboardInterrupt
            state.flat_g[0] = np.nan if self.fault == "nan" else np.inf

    def after_step(self, state):
        self.record.append([c.copy() for c in state.estimator.coefs_])

    def disarm(self):
        self.at = None


def _inject(est, at, fault="nan"):
    """Arm ``est``'s next ``fit`` / ``partial_fit`` with a :class:`Fault` (a new
    ``controls`` parameter takes effect at the next call, also for ``partial_fit``)."""
    est.set_params(controls=[Fault(at, fault)])


def _assert_finite_model(est, X):
    for c in est.coefs_ + est.intercepts_:
        assert np.isfinite(c).all()
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    assert np.isfinite(out).all()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("fault", ["nan", "inf"])
def test_non_finite_gradient_in_epoch_k(kind, solver, fault):
    k = 4
    X, y = _target(kind)
    est = _make(kind, solver=solver)
    _inject(est, k, fault)
    with pytest.warns(ConvergenceWarning, match="learning_rate_init"):
        est.fit(X, y)
    assert est.diverged_ is True
    assert est.n_iter_ == k
    _assert_finite_model(est, X)
    # the weights of the last finite epoch (k - 1) are restored
    for got, want in zip(est.coefs_, est.controls_[0].record[k - 2]):
        assert_array_equal(got, want)
    # a new fit starts afresh (with a new copy of the now disarmed parameter)
    est.controls[0].disarm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.diverged_ is False


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_non_finite_gradient_in_first_epoch_raises(kind):
    X, y = _target(kind)
    est = _make(kind)
    _inject(est, 1)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        est.fit(X, y)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_non_finite_gradient_in_first_epoch_keeps_previous_model(kind):
    X, y = _target(kind)
    est = _make(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = est.predict(X)
    coefs = [c.copy() for c in est.coefs_]
    _inject(est, 1)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        est.fit(X, y)
    assert_array_equal(est.predict(X), before)
    for a, b in zip(est.coefs_, coefs):
        assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_non_finite_gradient_in_partial_fit(kind):
    X, y = _target(kind)
    est = _make(kind)
    kwargs = {"classes": [0, 1]} if kind == "cls" else {}
    est.partial_fit(X, y, **kwargs)
    est.partial_fit(X, y)
    before = est.predict(X)
    _inject(est, 1)
    # the first epoch of this call diverges: nothing finite learned *in this call*
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            est.partial_fit(X, y)
    except ValueError as exc:
        assert "non-finite" in str(exc)
        assert_array_equal(est.predict(X), before)
    else:
        assert est.diverged_ is True
        _assert_finite_model(est, X)


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_diverging_learning_rate_never_predicts_nan(kind, solver):
    X, y = _target(kind)
    X = X * 1e4  # unscaled
    y = y if kind == "cls" else y * 1e4
    est = _make(kind, solver=solver, learning_rate_init=1e3, max_iter=20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
    except ValueError as exc:
        assert "non-finite parameter weights" in str(exc)
        assert not hasattr(est, "model_")
        return
    _assert_finite_model(est, X)
    if kind == "reg" and solver == "sgd":  # Adam's steps are bounded by learning_rate_init
        assert est.diverged_ is True


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_early_stopping_nan_validation_restores_best(kind):
    k = 5
    X, y = _target(kind)
    est = _make(kind, early_stopping=True, validation_fraction=0.2)
    _inject(est, k)
    with pytest.warns(ConvergenceWarning, match="learning_rate_init"):
        est.fit(X, y)
    assert est.diverged_ is True
    assert est.n_iter_ == k
    assert len(est.validation_scores_) == k
    assert np.isnan(est.validation_scores_[-1])  # recorded, as scikit-learn would
    assert np.isfinite(est.validation_scores_[:-1]).all()
    best = int(np.argmax(est.validation_scores_[:-1]))  # first maximum wins
    assert est.best_validation_score_ == est.validation_scores_[best]
    for got, want in zip(est.coefs_, est.controls_[0].record[best]):
        assert_array_equal(got, want)
    _assert_finite_model(est, X)


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_keyboard_interrupt_in_epoch_3(kind, solver):
    X, y = _target(kind)
    est = _make(kind, solver=solver)
    _inject(est, 3, fault="interrupt")
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2
    _assert_finite_model(est, X)
    for got, want in zip(est.coefs_, est.controls_[0].record[-1]):  # after epoch 2
        assert_array_equal(got, want)
    # the model can be trained further (partial_fit continues with the copy that ran)
    est.controls_[0].disarm()
    est.partial_fit(X, y)
    _assert_finite_model(est, X)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_keyboard_interrupt_with_early_stopping_keeps_best(kind):
    X, y = _target(kind)
    est = _make(kind, early_stopping=True, validation_fraction=0.2)
    _inject(est, 4, fault="interrupt")
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert len(est.validation_scores_) == 3
    best = int(np.argmax(est.validation_scores_))
    for got, want in zip(est.coefs_, est.controls_[0].record[best]):
        assert_array_equal(got, want)
    _assert_finite_model(est, X)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_keyboard_interrupt_in_lbfgs_propagates_and_restores(kind):
    """L-BFGS runs in scipy: Ctrl-C propagates, and the estimator is left as before."""
    X, y = _target(kind)
    est = _make(kind, solver="lbfgs", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = est.predict(X)
    _inject(est, 3, fault="interrupt")  # the 3rd loss-and-gradient evaluation
    with pytest.raises(KeyboardInterrupt):  # (raised by the fault: it ran)
        est.fit(X, y)
    assert_array_equal(est.predict(X), before)
    assert est.controls_ == []  # rolled back to the previous fit's (no) controls


# -------------------------------------------------------------- ConvNetClassifier
def _convnet(**params):
    import sknn_backprop

    ConvNetClassifier = getattr(sknn_backprop, "ConvNetClassifier", None)
    if ConvNetClassifier is None:
        pytest.skip("ConvNetClassifier not available")
    base = dict(
        conv_filters=(2,),
        kernel_size=3,
        hidden_layer_sizes=(5,),
        input_shape=(1, 4, 4),
        batch_size="auto",  # the MLPs' batches, which the injected faults count
        max_iter=10,
        random_state=0,
        tol=0,
        n_iter_no_change=50,
    )
    base.update(params)
    return ConvNetClassifier(**base)


def _images():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 16))
    return X, (X[:, :8].sum(axis=1) > 0).astype(int)


def test_convnet_non_finite_gradient_in_epoch_k():
    X, y = _images()
    est = _convnet(augment_shift=1)
    _inject(est, 3)
    with pytest.warns(ConvergenceWarning, match="learning_rate_init"):
        est.fit(X, y)
    assert est.diverged_ is True
    assert est.n_iter_ == 3
    _assert_finite_model(est, X)
    for got, want in zip(est.coefs_, est.controls_[0].record[1]):
        assert_array_equal(got, want)


def test_convnet_keyboard_interrupt():
    X, y = _images()
    est = _convnet()
    _inject(est, 3, fault="interrupt")
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert est.n_iter_ == 2
    _assert_finite_model(est, X)


# -- a loss that explodes while staying finite (issue 24) ------------------------------


def _exploding(name):
    """An estimator and data on which ``sgd`` with ``learning_rate_init=1e3`` blows up."""
    from sklearn.datasets import load_iris

    from sknn_backprop import (
        ConvNetClassifier,
        MLPAutoencoder,
        NeuralNetClassifier,
        NeuralNetRegressor,
    )

    X, y = load_iris(return_X_y=True)
    common = dict(solver="sgd", learning_rate_init=1e3, max_iter=30, random_state=0)
    if name == "MLPClassifier":
        return MLPClassifier(**common), X, y
    if name == "MLPClassifier-bagged":
        return MLPClassifier(n_estimators=2, **common), X, y
    if name == "MLPRegressor":
        return MLPRegressor(**common), X, X[:, 0] * 10
    if name == "NeuralNetClassifier":
        return NeuralNetClassifier(**common), X, y
    if name == "NeuralNetRegressor":
        return NeuralNetRegressor(**common), X, X[:, 0] * 10
    if name == "MLPAutoencoder":
        return MLPAutoencoder((3,), **common), X, None
    assert name == "ConvNetClassifier"
    images = np.random.default_rng(0).normal(size=(60, 16)) * 10
    return (
        ConvNetClassifier(conv_filters=(2,), hidden_layer_sizes=(), **common),
        images,
        (images[:, 0] > 0).astype(int),
    )


@pytest.mark.parametrize(
    "name",
    [
        "MLPClassifier",
        "MLPClassifier-bagged",
        "MLPRegressor",
        "NeuralNetClassifier",
        "NeuralNetRegressor",
        "MLPAutoencoder",
        "ConvNetClassifier",
    ],
)
def test_a_finite_explosion_of_the_loss_is_divergence(name):
    # before: the loss climbed to 1e17-1e30 and stayed finite; diverged_ stayed False
    est, X, y = _exploding(name)
    with pytest.warns(ConvergenceWarning, match="Training diverged at iteration"):
        est.fit(X, y) if y is not None else est.fit(X)
    assert est.diverged_ is True
    out = est.transform(X) if y is None else est.predict(X)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("dataset", ["iris", "digits"])
@pytest.mark.parametrize("seed", [0, 1])
def test_issue_24_diverging_classifier_is_caught(dataset, seed):
    from sklearn.datasets import load_digits, load_iris

    X, y = (load_iris if dataset == "iris" else load_digits)(return_X_y=True)
    est = MLPClassifier(solver="sgd", learning_rate_init=1e3, random_state=seed)
    with pytest.warns(ConvergenceWarning, match="the loss grew to"):
        est.fit(X, y)
    assert est.diverged_ is True
    # the weights from before the explosion: the loss there is the start's, not 1e20
    assert est.loss_curve_[-1] > 1e6 * est.loss_curve_[0] or len(est.loss_curve_) == 1
    assert np.isfinite(est.predict_proba(X)).all()


def test_sklearn_diverging_loss_is_caught_finite():
    # scikit-learn's test_mlp_diverging_loss: there the fit runs on to a NaN validation
    # score; here the guard stops it while the loss is still finite
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    mlp = MLPRegressor(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="Training diverged"):
            mlp.fit(X, y)
    assert mlp.diverged_ is True
    assert np.isfinite(mlp.best_validation_score_)
    assert np.isfinite(mlp.predict(X)).all()


def test_the_guard_compares_with_earlier_calls_of_a_warm_start():
    # a partial_fit whose start is already near zero loss keeps the first call's scale
    from sknn_backprop._training.controls import DivergenceGuard, TrainingState

    est = MLPRegressor()
    est.loss_curve_ = [2.0, 1.0, 1e-9]
    guard = DivergenceGuard()
    state = TrainingState(est, np.zeros(3), np.zeros(3))
    guard.on_train_begin(state)
    state.loss = 1e-9
    guard.after_gradient(state)
    assert guard._reference == 2.0
    est.loss_, est.n_iter_, est.diverged_ = 1e-3, 1, False  # noisy, not divergence
    guard.on_epoch_end(state)
    assert not state.stopped and est.diverged_ is False
    est.loss_ = 3e6  # more than a million times the reference
    guard.on_epoch_end(state)
    assert state.stopped and est.diverged_ is True


def test_a_diverged_epoch_is_no_reference_for_the_next_call():
    from sknn_backprop._training.controls import DivergenceGuard, TrainingState

    est = MLPRegressor()
    est.loss_curve_, est.diverged_ = [2.0, 1.0, 4e7], True  # the guard stopped at 4e7
    guard = DivergenceGuard()
    guard.on_train_begin(TrainingState(est, np.zeros(3), np.zeros(3)))
    assert guard._reference == 2.0
