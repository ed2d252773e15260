"""``activity_l1``: the lecture's "enforce sparsity" on the hidden activations, every estimator."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits

from sknn_backprop import (
    ConvNetClassifier,
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
    nn,
)
from sknn_backprop._training.objective import Objective

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16.0


def _near_zero(h):
    return float(np.mean(np.abs(h) < 1e-3))


def _hidden(est, X, upto):
    return est._infer(X, upto=upto)


def test_mlp_hidden_activations_become_sparser():
    kw = dict(hidden_layer_sizes=(64,), max_iter=30, random_state=0)
    plain = MLPClassifier(**kw).fit(X_DIGITS, Y_DIGITS)
    sparse = MLPClassifier(activity_l1=0.05, **kw).fit(X_DIGITS, Y_DIGITS)
    assert isinstance(sparse.model_.modules[2], nn.L1Penalty)
    h_plain, h_sparse = _hidden(plain, X_DIGITS, 2), _hidden(sparse, X_DIGITS, 3)
    assert _near_zero(h_sparse) > _near_zero(h_plain) + 0.3
    assert sparse.score(X_DIGITS, Y_DIGITS) > 0.9  # still a good classifier


def test_every_hidden_layer_is_penalised_and_zero_adds_nothing():
    est = MLPRegressor(hidden_layer_sizes=(5, 4), activity_l1=0.1, dropout=0.2, max_iter=2)
    est.set_params(random_state=0).fit(X_DIGITS[:50], Y_DIGITS[:50])
    kinds = [type(m).__name__ for m in est.model_.modules]
    assert kinds == [
        *["Linear", "ReLU", "L1Penalty", "Dropout"],
        *["Linear", "ReLU", "L1Penalty", "Dropout"],
        *["Linear", "Identity"],
    ]
    assert est.model_.modules[2].l1weight == 0.1 and est.model_.modules[2].size_average


def test_activity_l1_zero_gives_exactly_the_default_weights():
    kw = dict(hidden_layer_sizes=(12,), max_iter=5, random_state=0)
    default = MLPClassifier(**kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    zero = MLPClassifier(activity_l1=0.0, **kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert repr(zero.model_) == repr(default.model_)
    for a, b in zip(zero.coefs_ + zero.intercepts_, default.coefs_ + default.intercepts_):
        assert_array_equal(a, b)
    assert zero.loss_curve_ == default.loss_curve_


def test_reported_loss_includes_the_activity_penalty():
    """L-BFGS's final loss is the criterion plus ``activity_l1 * mean_i sum_j |h_ij|``."""
    X, y = X_DIGITS[:200], X_DIGITS[:200, 10]
    est = MLPRegressor(hidden_layer_sizes=(8,), activity_l1=0.02, alpha=0.0, solver="lbfgs")
    est.set_params(max_iter=30, random_state=0).fit(X, y)
    h = _hidden(est, X, 3)
    mse_half = 0.5 * np.mean((est.predict(X) - y) ** 2)
    penalty = 0.02 * np.abs(h).sum(axis=1).mean()
    assert penalty > 1e-3
    assert est.loss_ == pytest.approx(mse_half + penalty, rel=1e-9)
    assert est.loss_curve_[-1] == pytest.approx(est.loss_, rel=1e-9)


@pytest.mark.parametrize("adversarial_eps", [0.0, 0.1])
def test_objective_gradient_matches_finite_differences(adversarial_eps, rng):
    """The objective's loss (penalty included) and its gradient agree, FGSM mixture too."""
    net = nn.Sequential(
        nn.Linear(4, 5, rng=rng), nn.Tanh(), nn.L1Penalty(0.3, size_average=True), nn.Linear(5, 2)
    )
    flat_p, flat_g = net.get_parameters(penalized_first=True)
    n_pen = sum(p.size for p, f in zip(net.parameters()[0], net.penalized()) if f)
    objective = Objective(net, nn.MSECriterion(), flat_p, flat_g, n_pen, 0.0, 0.0, adversarial_eps)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    objective(x, y, None)
    analytic = flat_g.copy()
    numeric = np.zeros_like(flat_p)
    for j in range(flat_p.size):
        old = flat_p[j]
        flat_p[j] = old + 1e-6
        up = objective(x, y, None)
        flat_p[j] = old - 1e-6
        down = objective(x, y, None)
        flat_p[j] = old
        numeric[j] = (up - down) / 2e-6
    if adversarial_eps == 0:
        np.testing.assert_allclose(analytic, numeric, atol=1e-7)
    else:  # the sign of the input gradient is held fixed by the finite differences
        np.testing.assert_allclose(analytic, numeric, atol=1e-5)
    objective(x, y, None)
    assert objective.activity_loss() == pytest.approx(0.3 * np.abs(net.modules[1].output).sum() / 6)


def test_convnet_penalises_its_convolution_blocks_too():
    est = ConvNetClassifier(conv_filters=(4,), kernel_size=3, hidden_layer_sizes=(8,), max_iter=3)
    est.set_params(activity_l1=0.05, random_state=0).fit(X_DIGITS[:200], Y_DIGITS[:200])
    kinds = [type(m).__name__ for m in est.model_.modules]
    assert kinds[:4] == ["Conv2d", "ReLU", "L1Penalty", "MaxPool2d"]
    assert kinds.count("L1Penalty") == 2
    plain = ConvNetClassifier(conv_filters=(4,), kernel_size=3, hidden_layer_sizes=(8,), max_iter=3)
    plain.set_params(random_state=0).fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert est.loss_curve_[0] > plain.loss_curve_[0]  # the penalty is in the reported loss


def test_neuralnet_penalises_hidden_activations_not_the_output():
    module = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax())
    clf = NeuralNetClassifier(module, activity_l1=0.05, max_iter=20, random_state=0)
    clf.fit(X_DIGITS, Y_DIGITS)
    kinds = [type(m).__name__ for m in clf.model_.modules]
    assert kinds == ["Linear", "ReLU", "L1Penalty", "Linear", "Softmax"]
    plain = NeuralNetClassifier(module, max_iter=20, random_state=0).fit(X_DIGITS, Y_DIGITS)
    assert _near_zero(_hidden(clf, X_DIGITS, 3)) > _near_zero(_hidden(plain, X_DIGITS, 2)) + 0.2
    # module_ (the user's layers, trained) has no penalty module in it
    assert not any(isinstance(m, nn.L1Penalty) for m in clf.module_.modules)


def test_neuralnet_without_a_hidden_activation_is_refused():
    reg = NeuralNetRegressor(nn.Sequential(nn.Linear(64, 1)), activity_l1=0.1, max_iter=2)
    with pytest.raises(ValueError, match="activity_l1=0.1 needs a hidden activation"):
        reg.fit(X_DIGITS[:30], Y_DIGITS[:30].astype(float))
    assert not hasattr(reg, "model_")
