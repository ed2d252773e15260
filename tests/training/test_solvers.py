"""The stochastic solvers beyond SGD and Adam, through the estimators.

Each solver is trained by the same loop (``partial_fit``, schedules, early stopping,
bagging); AdamW's decay is the L2 share of ``alpha``, applied to the weights only
and not also added to the objective.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import MLPAutoencoder, MLPClassifier, MLPRegressor, NeuralNetClassifier, nn
from sknn_backprop._training.solvers import STOCHASTIC_SOLVERS, objective_penalty

NEW_SOLVERS = ["adamw", "rmsprop", "adagrad", "adadelta"]
OPTIMIZERS = {
    "sgd": nn.SGD,
    "adam": nn.Adam,
    "adamw": nn.AdamW,
    "rmsprop": nn.RMSprop,
    "adagrad": nn.Adagrad,
    "adadelta": nn.Adadelta,
}
# a setting each solver learns the digits with in a few epochs
SETTINGS = {
    "adamw": dict(learning_rate_init=0.003),
    "rmsprop": dict(learning_rate_init=0.003),
    "adagrad": dict(learning_rate_init=0.05),
    "adadelta": dict(learning_rate_init=1.0, epsilon=1e-6),
}

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16


def _fit(est, X=X_DIGITS[:600], y=Y_DIGITS[:600], **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def test_solver_table_is_complete():
    assert set(STOCHASTIC_SOLVERS) == set(OPTIMIZERS)


@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_each_solver_trains_with_its_optimizer(solver):
    kw = dict(hidden_layer_sizes=(32,), max_iter=15, batch_size=32, random_state=0)
    est = _fit(MLPClassifier(solver=solver, **kw, **SETTINGS[solver]))
    assert type(est._optimizer) is OPTIMIZERS[solver]
    assert est.score(X_DIGITS[1000:], Y_DIGITS[1000:]) > 0.85
    adam = _fit(MLPClassifier(**kw, **SETTINGS[solver]))
    assert not np.allclose(est.coefs_[0], adam.coefs_[0])  # the solver is not ignored


@pytest.mark.parametrize("solver", ["rmsprop", "adadelta"])
def test_rho_is_used(solver):
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, solver=solver)
    a = _fit(MLPClassifier(rho=0.9, **kw, **SETTINGS[solver]))
    b = _fit(MLPClassifier(rho=0.5, **kw, **SETTINGS[solver]))
    assert a._optimizer.rho == 0.9 and b._optimizer.rho == 0.5
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_partial_fit_early_stopping_bagging(solver):
    params = dict(hidden_layer_sizes=(16,), random_state=0, solver=solver, **SETTINGS[solver])
    est = MLPClassifier(**params)
    est.partial_fit(X_DIGITS[:300], Y_DIGITS[:300], classes=np.arange(10))
    optimizer, w = est._optimizer, est.coefs_[0].copy()
    est.partial_fit(X_DIGITS[300:600], Y_DIGITS[300:600])
    assert est._optimizer is optimizer  # its state carries over between calls
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 2
    assert not np.array_equal(w, est.coefs_[0])
    es = _fit(MLPClassifier(**params, early_stopping=True, max_iter=50, n_iter_no_change=3))
    assert len(es.validation_scores_) == es.n_iter_ < 50
    assert es.best_validation_score_ == max(es.validation_scores_)
    bag = _fit(MLPClassifier(**params, max_iter=5, n_estimators=2))
    assert all(type(m._optimizer) is OPTIMIZERS[solver] for m in bag.estimators_)


@pytest.mark.parametrize("solver", ["adam", *NEW_SOLVERS])
def test_schedule_adam_schedules_every_adaptive_solver(solver):
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, solver=solver)
    kw.update(SETTINGS.get(solver, {}), learning_rate="invscaling", power_t=0.5)
    lr = kw.get("learning_rate_init", 0.001)
    plain = _fit(MLPClassifier(**kw))
    assert plain._optimizer.learning_rate == lr  # scikit-learn's rule: constant
    scheduled = _fit(MLPClassifier(**kw, schedule_adam=True))
    assert scheduled._optimizer.learning_rate == pytest.approx(lr / (scheduled.t_ + 1) ** 0.5)


def test_adamw_decay_is_alpha_on_the_weights_only():
    """One full-batch step: AdamW(alpha) = Adam(alpha=0) and ``w *= 1 - lr alpha``."""
    X, y = X_DIGITS[:200], Y_DIGITS[:200]
    kw = dict(hidden_layer_sizes=(8,), max_iter=1, batch_size=200, shuffle=False, random_state=0)
    lr, alpha = 0.01, 0.5
    adam = MLPClassifier(**kw, solver="adam", alpha=0.0, learning_rate_init=lr)
    adamw = MLPClassifier(**kw, solver="adamw", alpha=alpha, learning_rate_init=lr)
    # the initial weights (the same random_state): a step of 1e-300 leaves them as drawn
    w0 = _fit(MLPClassifier(**kw, learning_rate_init=1e-300), X, y)
    _fit(adam, X, y)
    _fit(adamw, X, y)
    for c0, ca, cw in zip(w0.coefs_, adam.coefs_, adamw.coefs_):
        np.testing.assert_allclose(cw, ca - lr * alpha * c0, rtol=1e-12, atol=1e-15)
    for ba, bw in zip(adam.intercepts_, adamw.intercepts_):
        np.testing.assert_array_equal(ba, bw)  # biases do not decay
    # the objective has no L2 term for adamw: its loss is Adam's without the penalty
    assert adamw.loss_ == adam.loss_
    penalised = MLPClassifier(**kw, solver="adam", alpha=alpha, learning_rate_init=lr)
    squares = sum(float((c**2).sum()) for c in w0.coefs_)
    assert _fit(penalised, X, y).loss_ == pytest.approx(adam.loss_ + 0.5 * alpha * squares / 200)


def test_adamw_keeps_the_l1_share_in_the_objective():
    est = MLPRegressor(solver="adamw", alpha=0.4, l1_ratio=0.25)
    assert objective_penalty(est) == (pytest.approx(0.1), 1.0)
    _fit(est.set_params(hidden_layer_sizes=(4,), max_iter=2), X_DIGITS[:100], Y_DIGITS[:100])
    assert est._optimizer.weight_decay == pytest.approx(0.3)
    assert est._optimizer.decay_counts == [est._n_penalized()]
    assert objective_penalty(MLPRegressor(solver="adam", alpha=0.4, l1_ratio=0.25)) == (0.4, 0.25)


def test_new_solvers_on_a_users_network():
    net = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    kw = dict(batch_size=32, learning_rate_init=0.003, max_iter=10, random_state=0)
    est = _fit(NeuralNetClassifier(net, solver="rmsprop", **kw))
    assert type(est._optimizer) is nn.RMSprop
    assert est.score(X_DIGITS[1000:], Y_DIGITS[1000:]) > 0.8


@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_new_solvers_train_the_autoencoder(solver):
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, solver=solver)
    ae = _fit(MLPAutoencoder(**kw, **SETTINGS[solver]), X_DIGITS[:300], None)
    assert type(ae._optimizer) is OPTIMIZERS[solver]
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    if solver in ("rmsprop", "adadelta"):
        other = _fit(MLPAutoencoder(**kw, **SETTINGS[solver], rho=0.5), X_DIGITS[:300], None)
        assert not np.allclose(ae.coefs_[0], other.coefs_[0])
