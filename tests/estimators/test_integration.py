"""The estimators inside scikit-learn's tooling, and against scikit-learn's own MLPs."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknn_backprop
from sknn_backprop import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def digits_split(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def test_grid_search_pipeline_parallel(digits):
    X, y = digits[0][:600], digits[1][:600]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=100, random_state=0))
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(16,), (32,)],
        "mlpclassifier__alpha": [1e-4, 1e-1],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_score_ > 0.8
    assert search.score(X, y) > 0.9


def test_cross_val_score_vs_logistic_regression(digits):
    X, y = digits
    mlp = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), random_state=0))
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp_scores = cross_val_score(mlp, X, y, cv=3)
    lr_scores = cross_val_score(lr, X, y, cv=3)
    assert mlp_scores.mean() > 0.9
    assert mlp_scores.mean() >= lr_scores.mean() - 0.01


def test_clone_keeps_parameters_not_state(digits_split):
    X, _, y, _ = digits_split
    est = MLPClassifier(hidden_layer_sizes=(7, 5), dropout=0.1, alpha=0.3, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:50], y[:50])
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "model_") and not hasattr(cloned, "coefs_")


def _param_nbytes(est):
    return sum(p.nbytes for p in est.model_.parameters()[0])


def _fitted(Est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Est(max_iter=5, random_state=0).fit(X, y)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_pickle_round_trip(Est, digits_split):
    X, X_test, y, _ = digits_split
    est = _fitted(Est, X, y)
    for m in est.model_.modules:  # no activation or gradient cache left behind
        assert m.output is None and m.grad_input is None
    blob = pickle.dumps(est)
    restored = pickle.loads(blob)
    assert_array_equal(restored.predict(X_test), est.predict(X_test))
    # the sklearn-layout views are views again
    assert np.shares_memory(restored.coefs_[0], restored.model_.modules[0].weight)
    if Est is MLPClassifier:
        assert_array_equal(restored.predict_proba(X_test), est.predict_proba(X_test))


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_pickle_is_small(Est, digits_split):
    """Weights plus Adam's two moment vectors (kept so partial_fit can resume), nothing else."""
    X, _, y, _ = digits_split
    est = _fitted(Est, X, y)
    optimizer_nbytes = sum(a.nbytes for a in est._optimizer.ms + est._optimizer.vs)
    assert len(pickle.dumps(est)) < 1.5 * (_param_nbytes(est) + optimizer_nbytes) + 8192


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_random_state_reproducible(solver, digits_split):
    X, _, y, _ = digits_split
    kw = dict(hidden_layer_sizes=(20,), max_iter=10, random_state=3, solver=solver, dropout=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(**kw).fit(X, y)
        b = MLPClassifier(**kw).fit(X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(ca, cb)


def test_digits_accuracy_matches_sklearn(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    ours = MLPClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    theirs = SkMLPClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= theirs, (ours, theirs)


def test_regression_r2_matches_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    xs = StandardScaler().fit(X_train)
    y_mean, y_std = y_train.mean(), y_train.std()
    X_train, X_test = xs.transform(X_train), xs.transform(X_test)
    y_train_s, y_test_s = (y_train - y_mean) / y_std, (y_test - y_mean) / y_std
    kw = dict(hidden_layer_sizes=(50,), max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(**kw).fit(X_train, y_train_s).score(X_test, y_test_s)
        theirs = SkMLPRegressor(**kw).fit(X_train, y_train_s).score(X_test, y_test_s)
    assert ours >= theirs - 1e-9, (ours, theirs)


def test_float32_stays_float32(digits_split):
    X, X_test, y, _ = digits_split
    X32, X_test32 = X.astype(np.float32), X_test.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(max_iter=5, random_state=0).fit(X32, y)
        reg = MLPRegressor(max_iter=5, random_state=0).fit(X32, y.astype(np.float32))
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X_test32).dtype == np.float32
    assert reg.predict(X_test32).dtype == np.float32
    assert all(c.dtype == np.float32 for c in reg.coefs_)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_sparse_matches_dense(Est, fmt, digits):
    X, y = digits[0][:300] / 16.0, digits[1][:300]
    X_sparse = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = Est(**kw).fit(X, y)
        sparse = Est(**kw).fit(X_sparse, y)
    assert_allclose(sparse.predict(X_sparse), dense.predict(X), rtol=1e-6, atol=1e-8)
    assert_allclose(dense.predict(X_sparse), dense.predict(X), rtol=1e-10, atol=1e-12)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_multilabel_classification():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.7


def test_multi_output_regression():
    X, Y = make_regression(n_samples=200, n_features=10, n_targets=3, random_state=0)
    Y = StandardScaler().fit_transform(Y)
    reg = MLPRegressor(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.n_outputs_ == 3
    assert reg.score(X, Y) > 0.9


def test_verbose_prints_iterations(capsys, digits_split):
    X, _, y, _ = digits_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(max_iter=2, verbose=True, random_state=0).fit(X[:100], y[:100])
    assert "Iteration 1, loss = " in capsys.readouterr().out


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_convergence_warning_at_max_iter(solver, digits_split):
    X, _, y, _ = digits_split
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(solver=solver, max_iter=2, random_state=0).fit(X[:200], y[:200])


@pytest.mark.parametrize(
    "n_classes",
    [
        2,
        3,
    ],
)
def test_predict_proba_strictly_inside_unit_interval(n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = np.digitize(X[:, 0], np.linspace(-0.5, 0.5, n_classes - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(
            hidden_layer_sizes=(10,), solver="lbfgs", max_iter=300, alpha=0, random_state=0
        ).fit(X, y)
    far = np.array([[1e6, 0.0], [-1e6, 0.0], [1e4, 1e4], [-1e4, -1e4]])
    proba = clf.predict_proba(far)
    assert np.all(proba > 0) and np.all(proba < 1)
    assert np.all(np.isfinite(clf.predict_log_proba(far)))
    assert proba.shape == (4, n_classes)


def test_poisson_rejects_negative_y():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.linspace(-1, 3, 10)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, y)


def test_model_prints_torch_style(digits_split):
    X, _, y, _ = digits_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(max_iter=1, random_state=0).fit(X[:100], y[:100])
    text = repr(clf.model_)
    assert "nn.Sequential" in text
    assert "nn.Linear(64 -> 100)" in text
    assert "nn.Linear(100 -> 10)" in text
    assert "nn.Softmax" in text


_ESTIMATORS = [
    "MLPClassifier",
    "MLPRegressor",
    "ConvNetClassifier",
    "ConvNetRegressor",
    "NeuralNetClassifier",
    "NeuralNetRegressor",
    "MLPAutoencoder",
]


@pytest.mark.parametrize("name", _ESTIMATORS)
def test_no_partial_fit_with_lbfgs(name):
    """As scikit-learn: ``partial_fit`` is only an attribute for the stochastic solvers."""
    est = getattr(sknn_backprop, name)(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    assert hasattr(est.set_params(solver="sgd"), "partial_fit")
    # a bound method kept across set_params does not train with lbfgs either
    bound = est.partial_fit
    est.set_params(solver="lbfgs")
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    kwargs = {"classes": [0, 1]} if is_classifier(est) else {}
    y = None if name == "MLPAutoencoder" else y
    with pytest.raises(AttributeError, match="lbfgs is not stochastic"):
        bound(X, y, **kwargs)
    assert not hasattr(est, "model_")
