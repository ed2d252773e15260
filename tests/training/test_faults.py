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
