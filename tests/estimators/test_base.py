"""The estimator face (``sknn_backprop/_base.py``): fitted attributes and their rules."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_backprop import ConvNetClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_assigned_weights_are_used_by_predict(digits, Est):
    X, y = digits
    est = Est(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    before = est.predict(X)
    # a new list of new arrays, as scikit-learn users (and its own tests) assign them
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
    zero = est.predict(X)
    assert not np.array_equal(zero, before)
    assert len(np.unique(zero)) == 1  # a zero network predicts the same for every row
    # an array assigned into the list
    other = Est(hidden_layer_sizes=(8,), max_iter=3, random_state=1).fit(X, y)
    est.coefs_ = [c.copy() for c in other.coefs_]
    est.intercepts_ = [b.copy() for b in other.intercepts_]
    np.testing.assert_array_equal(est.predict(X), other.predict(X))
    est.coefs_[0] = np.ones_like(est.coefs_[0])
    est.predict(X)  # the network takes the assigned arrays when it is next used
    assert np.array_equal(est.model_.modules[0].weight, np.ones_like(est.coefs_[0].T))


def test_assigned_weights_start_partial_fit_and_warm_start(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e-12, momentum=0)
    est = MLPClassifier(max_iter=1, random_state=0, **kw).fit(X, y)
    target = [np.full_like(c, 0.01) for c in est.coefs_]
    est.coefs_ = [t.copy() for t in target]
    est.partial_fit(X, y)  # a step of 1e-12: the weights stay the assigned ones
    np.testing.assert_allclose(est.coefs_[0], target[0], atol=1e-9)
    warm = MLPClassifier(max_iter=1, random_state=0, warm_start=True, **kw).fit(X, y)
    warm.coefs_ = [t.copy() for t in target]
    warm.fit(X, y)
    np.testing.assert_allclose(warm.coefs_[0], target[0], atol=1e-9)


def test_assigned_weights_of_the_wrong_shape_are_a_clear_error(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    est.coefs_ = [np.zeros((3, 3)), est.coefs_[1]]
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(64, 8\)"):
        est.predict(X)


def test_assigned_weights_survive_pickling(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("Est", [MLPClassifier, ConvNetClassifier, NeuralNetClassifier])
def test_bagged_model_points_missing_attributes_to_its_members(digits, Est):
    X, y = digits
    est = Est(n_estimators=2, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    for name in ("coefs_", "intercepts_", "model_"):
        with pytest.raises(AttributeError, match=rf"estimators_\[i\]\.{name}"):
            getattr(est, name)
    assert not hasattr(est, "coefs_")
    assert hasattr(est.estimators_[0], "coefs_")
    with pytest.raises(AttributeError, match="has no attribute 'not_there'"):
        est.not_there  # noqa: B018


@pytest.mark.parametrize("call", ["fit", "warm_start", "partial_fit"])
def test_a_failed_fit_keeps_assigned_weights(digits, call):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    expected = est.predict_proba(X[:20])  # the zero weights
    rng = np.random.default_rng(0)
    assigned = [rng.normal(size=c.shape) for c in est.coefs_]
    est.coefs_ = [a.copy() for a in assigned]  # assigned, not used yet
    if call == "warm_start":
        est.set_params(warm_start=True)
    bad = y.astype(float) + 0.5  # not labels of the fitted classes
    with pytest.raises(ValueError):
        est.partial_fit(X, bad) if call == "partial_fit" else est.fit(X, np.full(len(y), np.nan))
    for got, want in zip(est.coefs_, assigned):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(est.predict_proba(X[:20]), expected)  # predicts with them


def test_deleted_coefs_fall_back_to_the_networks_weights(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    expected = est.predict_proba(X)
    del est.coefs_
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    assert est.coefs_[0].shape == (64, 8)


def test_bagged_early_stopping_sets_best_validation_loss(digits):
    X, y = digits
    single = MLPClassifier(early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    assert np.isfinite(single.best_validation_loss_)
    bagged = single.set_params(n_estimators=2).fit(X, y)
    members = [m.best_validation_loss_ for m in bagged.estimators_]
    assert bagged.best_validation_loss_ == pytest.approx(np.mean(members))


def test_every_way_of_changing_the_lists_is_noticed(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    assert est._views_current()
    zero = [np.zeros_like(c) for c in est.coefs_]
    linears = [0, 2]  # Linear, ReLU, Linear, Softmax
    for change, layer in (
        (lambda c: c.__setitem__(0, zero[0]), 0),
        (lambda c: (c.pop(), c.append(zero[1])), 1),
        (lambda c: (c.clear(), c.extend(zero)), 0),
    ):
        est.fit(X, y)
        change(est.coefs_)
        assert not est._views_current()
        est.predict(X)  # takes the assigned arrays
        np.testing.assert_array_equal(est.model_.modules[linears[layer]].weight, 0)
        assert est._views_current()  # and lists the views again
