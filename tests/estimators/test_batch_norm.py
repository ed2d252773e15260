"""``batch_norm=True``: where the layers go, what is not penalised, and what it buys.

The lecture's vanishing gradient: in a deep sigmoid network each layer shrinks the
back-propagated signal (``sigma' <= 1/4``), so the first layers barely learn;
normalising each layer's pre-activations keeps them in the sigmoid's steep part.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import (
    ConvNetClassifier,
    ConvNetRegressor,
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    nn,
)
from sknn_backprop.training import Control

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16


def _fit(est, X=X_DIGITS[:400], y=Y_DIGITS[:400]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _types(est):
    return [type(m) for m in est.model_.modules]


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_batch_norm_after_each_hidden_linear(cls):
    est = _fit(cls(hidden_layer_sizes=(8, 6), batch_norm=True, dropout=0.1, max_iter=2))
    dense = [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout]
    out = [nn.Softmax] if cls is MLPClassifier else [nn.Identity]
    assert _types(est) == dense + dense + [nn.Linear] + out
    assert [m.num_features for m in est.model_.modules if isinstance(m, nn.BatchNorm1d)] == [8, 6]
    assert (
        _types(_fit(cls(hidden_layer_sizes=(8,), max_iter=2)))
        == [nn.Linear, nn.ReLU, nn.Linear] + out
    )


@pytest.mark.parametrize("cls", [ConvNetClassifier, ConvNetRegressor])
def test_batch_norm_after_each_conv(cls):
    est = _fit(cls(conv_filters=(3, 4), hidden_layer_sizes=(5,), batch_norm=True, max_iter=1))
    conv = [nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d]
    assert _types(est)[:9] == [nn.Conv2d, *conv, nn.Conv2d, *conv, nn.Flatten]
    assert _types(est)[9:12] == [nn.Linear, nn.BatchNorm1d, nn.ReLU]
    assert [m.num_features for m in est.model_.modules if isinstance(m, nn.BatchNorm2d)] == [3, 4]


def test_not_a_parameter_of_user_networks():
    assert "batch_norm" not in NeuralNetClassifier().get_params()


def test_scale_and_shift_are_not_penalised():
    """alpha, l1_ratio and max_norm touch the Linear weights only."""
    kw = dict(hidden_layer_sizes=(8,), batch_norm=True, max_iter=1, random_state=0)
    est = _fit(MLPClassifier(**kw))
    bn = est.model_.modules[1]
    linears = [m for m in est.model_.modules if isinstance(m, nn.Linear)]
    assert est._n_penalized() == sum(m.weight.size for m in linears)

    class Gradients(Control):
        """The gradient of every parameter on the first batch."""

        def after_gradient(self, state):
            if not hasattr(self, "grads"):
                self.grads = [g.copy() for g in state.estimator.model_.parameters()[1]]

    def first_gradients(**params):
        fitted = _fit(MLPClassifier(**kw, **params, controls=[Gradients()]))
        return fitted.controls_[0].grads  # fit trains a copy of each control

    plain = first_gradients(alpha=0.0)
    penalised = first_gradients(alpha=10.0, l1_ratio=0.5)
    params = est.model_.parameters()[0]
    for p, a, b in zip(params, plain, penalised):
        if any(p is q for q in (bn.weight, bn.bias) + tuple(m.bias for m in linears)):
            np.testing.assert_array_equal(a, b)  # never penalised
        else:
            assert not np.allclose(a, b)  # weights are
    capped = _fit(MLPClassifier(**{**kw, "max_iter": 5}, max_norm=0.1, learning_rate_init=0.1))
    norms = np.sqrt((capped.coefs_[0] ** 2).sum(axis=0))
    assert norms.max() <= 0.1 + 1e-9
    assert np.abs(capped.model_.modules[1].weight).max() > 0.1  # gamma is not capped


def test_predictions_use_the_running_statistics():
    est = _fit(MLPClassifier(hidden_layer_sizes=(16,), batch_norm=True, max_iter=5, random_state=0))
    bn = est.model_.modules[1]
    assert not np.allclose(bn.running_mean, 0)  # learned from the training batches
    one_by_one = np.vstack([est.predict_proba(X_DIGITS[i : i + 1]) for i in range(20)])
    np.testing.assert_allclose(one_by_one, est.predict_proba(X_DIGITS[:20]), rtol=1e-12)
    assert not np.allclose(
        est.predict_proba(X_DIGITS[:20]),
        _fit(MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)).predict_proba(
            X_DIGITS[:20]
        ),
    )


def test_one_row_batches_are_refused_or_avoided():
    X, y = X_DIGITS[:201], Y_DIGITS[:201]
    est = MLPRegressor(hidden_layer_sizes=(4,), batch_norm=True, max_iter=1)
    with pytest.raises(ValueError, match="n_samples = 1"):
        est.fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="batch_size=1"):
        est.set_params(batch_size=1).fit(X, y)
    assert not hasattr(est, "model_")  # a failed fit leaves the model as it was
    # 201 rows in 'auto' batches of 200: the last row joins the batch before
    _fit(est.set_params(batch_size="auto"), X, y)
    assert est.t_ == 201


def test_deep_sigmoid_network_trains_with_batch_norm():
    """Six sigmoid layers: the gradient vanishes towards the input without batch norm."""

    class FirstGradient(Control):
        def after_gradient(self, state):
            if not hasattr(self, "norms"):
                linears = [m for m in state.estimator.model_.modules if isinstance(m, nn.Linear)]
                self.norms = [float(np.linalg.norm(m.grad_weight)) for m in linears]

    X, y = X_DIGITS[:1000], Y_DIGITS[:1000]
    kw = dict(hidden_layer_sizes=(32,) * 6, activation="logistic", solver="sgd")
    kw.update(learning_rate_init=0.1, batch_size=32, max_iter=10, random_state=0)
    runs = {}
    for bn in (False, True):
        est = _fit(MLPClassifier(**kw, batch_norm=bn, controls=[FirstGradient()]), X, y)
        runs[bn] = est, est.controls_[0].norms
    (plain, plain_norms), (normed, normed_norms) = runs[False], runs[True]
    # without: each layer shrinks the gradient, 1000x from the output to the input
    assert plain_norms[0] < 1e-3 * plain_norms[-1]
    assert normed_norms[0] > 0.1 * normed_norms[-1]  # with: it reaches the first layer
    # without: the loss stays at chance, ln(10); with: it trains
    assert plain.loss_ > 2.0 and plain.score(X_DIGITS[1000:], Y_DIGITS[1000:]) < 0.3
    assert normed.loss_ < 0.5 and normed.score(X_DIGITS[1000:], Y_DIGITS[1000:]) > 0.8
