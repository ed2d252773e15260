"""The robust regression losses: 'absolute_error' and 'huber' (with ``huber_delta``)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import ConvNetRegressor, MLPRegressor, NeuralNetRegressor, nn
from sknn_backprop._regressor import HuberCriterion

REGRESSORS = [MLPRegressor, ConvNetRegressor, NeuralNetRegressor]


def _loss_kw(cls, loss, **kw):
    return {"criterion" if cls is NeuralNetRegressor else "loss": loss, **kw}


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def corrupted():
    """A smooth target, with 5% of the training targets shifted by +100 (100 x its scale)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] + 0.1 * rng.normal(size=600)
    y_train = y[:400].copy()
    outliers = rng.choice(400, size=20, replace=False)
    y_train[outliers] += 100.0
    clean = np.setdiff1d(np.arange(400), outliers)
    return X[:400], y_train, clean, X[400:], y[400:]


def test_robust_losses_ignore_outlying_targets(corrupted):
    X, y, clean, X_test, y_test = corrupted
    kw = dict(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    errors = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        est = _fit(MLPRegressor(loss=loss, **kw), X, y)
        errors[loss] = (
            np.mean((est.predict(X[clean]) - y[clean]) ** 2),  # the clean training rows
            np.mean((est.predict(X_test) - y_test) ** 2),  # clean unseen rows
        )
    squared = errors["squared_error"]
    assert squared[0] > 5  # the outliers drag the squared-error fit everywhere
    for loss in ("absolute_error", "huber"):
        assert errors[loss][0] < 0.05 * squared[0], errors
        assert errors[loss][1] < 0.05 * squared[1], errors


@pytest.mark.parametrize("cls", REGRESSORS)
@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_each_regressor_takes_the_losses(cls, loss):
    rng = np.random.default_rng(0)
    X = rng.random((60, 16))
    y = np.c_[X[:, :8].sum(axis=1), X[:, 8:].sum(axis=1)]
    kw = dict(max_iter=5, random_state=0)
    if cls is ConvNetRegressor:
        kw.update(conv_filters=(2,), hidden_layer_sizes=(8,))
    est = _fit(cls(**_loss_kw(cls, loss, **kw)), X, y)
    assert isinstance(est.model_.modules[-1], nn.Identity) and est.out_activation_ == "identity"
    assert est.predict(X).shape == (60, 2)
    squared = _fit(cls(**_loss_kw(cls, "squared_error", **kw)), X, y)
    assert not np.allclose(est.predict(X), squared.predict(X))  # the loss is not ignored
    _, criterion, _ = est._output_spec()
    assert type(criterion) is (nn.AbsCriterion if loss == "absolute_error" else HuberCriterion)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_huber_delta_is_used(cls):
    rng = np.random.default_rng(1)
    X = rng.random((60, 16))
    y = 4 * X.sum(axis=1)  # residuals of a few units: both thresholds matter
    kw = dict(max_iter=5, random_state=0)
    if cls is ConvNetRegressor:
        kw.update(conv_filters=(2,), hidden_layer_sizes=(8,))
    small = _fit(cls(**_loss_kw(cls, "huber", huber_delta=0.1, **kw)), X, y)
    large = _fit(cls(**_loss_kw(cls, "huber", huber_delta=3.0, **kw)), X, y)
    assert not np.allclose(small.predict(X), large.predict(X))
    # far beyond every residual, Huber is the squared error
    huge = _fit(cls(**_loss_kw(cls, "huber", huber_delta=1e6, **kw)), X, y)
    squared = _fit(cls(**_loss_kw(cls, "squared_error", **kw)), X, y)
    np.testing.assert_allclose(huge.loss_curve_, squared.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(huge.predict(X), squared.predict(X), rtol=1e-9)


def test_huber_criterion_values_and_gradient():
    crit = HuberCriterion(delta=2.0)
    out, target = np.array([[3.0, -1.0], [0.5, -5.0]]), np.zeros((2, 2))
    # per element: 2 (3 - 1) = 4, 0.5, 0.125, 2 (5 - 1) = 8; mean over outputs and rows
    assert crit.forward(out, target) == pytest.approx((4 + 0.5 + 0.125 + 8) / 4)
    rng = np.random.default_rng(0)
    x = 3 * rng.normal(size=(6, 3))
    errors = nn.gradient_check(nn.Linear(3, 2, rng=rng), crit, x, 4 * rng.normal(size=(6, 2)))
    assert max(errors.values()) < 1e-6
    with pytest.raises(ValueError, match="huber_delta"):
        MLPRegressor(loss="huber", huber_delta=0.0).fit(x, x[:, 0])
