"""Bad input gets a clear error before any state changes.

Every check runs on a *fitted* estimator too: a failed ``fit`` or
``partial_fit`` must leave the previous model predicting exactly as before
(``sknn_backprop._training.rollback.transaction``).
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

import sknn_backprop
from sknn_backprop import MLPClassifier, MLPRegressor

ConvNetClassifier = getattr(sknn_backprop, "ConvNetClassifier", None)

N_FEATURES = 4


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    y_cls = (X[:, 0] + X[:, 1] > 0).astype(int)
    y_reg = np.abs(X[:, 0] + 0.5 * X[:, 1])
    return X, y_cls, y_reg


def _make(kind, **params):
    base = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0, tol=0)
    base.update(params)
    return MLPClassifier(**base) if kind == "cls" else MLPRegressor(**base)


def _fitted(kind, **params):
    X, y_cls, y_reg = _data()
    est = _make(kind, **params)
    with pytest.warns(Warning) if params.get("solver", "adam") != "lbfgs" else _nullcontext():
        est.fit(X, y_cls if kind == "cls" else y_reg)
    return est


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _snapshot(est):
    X, _, _ = _data(n=15, seed=1)
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    return out, [c.copy() for c in est.coefs_], [b.copy() for b in est.intercepts_]


def _assert_unchanged(est, snap):
    out, coefs, intercepts = _snapshot(est)
    assert_array_equal(out, snap[0])
    assert len(coefs) == len(snap[1])
    for a, b in zip(coefs, snap[1]):
        assert_array_equal(a, b)
    for a, b in zip(intercepts, snap[2]):
        assert_array_equal(a, b)


def _bad_X(kind):
    X, _, _ = _data()
    if kind == "nan":
        X[3, 2] = np.nan
    elif kind == "inf":
        X[5, 1] = np.inf
    elif kind == "-inf":
        X[0, 0] = -np.inf
    return X


BAD_X = [
    ("nan", "Input X contains NaN"),
    ("inf", "Input X contains infinity"),
    ("-inf", "Input X contains infinity"),
]


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("bad, msg", BAD_X)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
def test_non_finite_X_rejected_and_state_kept(kind, bad, msg, method):
    est = _fitted(kind)
    snap = _snapshot(est)
    X = _bad_X(bad)
    _, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    with pytest.raises(ValueError, match=msg):
        if method == "predict":
            est.predict(X)
        else:
            getattr(est, method)(X, y)
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_non_finite_X_on_unfitted_leaves_it_unfitted(kind):
    est = _make(kind)
    _, y_cls, y_reg = _data()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(_bad_X("nan"), y_cls if kind == "cls" else y_reg)
    assert not hasattr(est, "model_")
    assert not hasattr(est, "coefs_")
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
def test_empty_arrays(kind, method):
    est = _fitted(kind)
    snap = _snapshot(est)
    with pytest.raises(ValueError, match="Found array with 0 sample"):
        if method == "predict":
            est.predict(np.empty((0, N_FEATURES)))
        else:
            getattr(est, method)(np.empty((0, N_FEATURES)), np.empty(0))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("method", ["partial_fit", "predict", "predict_proba", "score"])
def test_wrong_feature_count(kind, method):
    est = _fitted(kind)
    if method == "predict_proba" and kind == "reg":
        pytest.skip("regressors have no predict_proba")
    snap = _snapshot(est)
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    name = type(est).__name__
    msg = f"X has 3 features, but {name} is expecting 4 features"
    with pytest.raises(ValueError, match=msg):
        if method in ("partial_fit", "score"):
            getattr(est, method)(X[:, :3], y)
        else:
            getattr(est, method)(X[:, :3])
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_complex_dtype_rejected(kind):
    est = _fitted(kind)
    snap = _snapshot(est)
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(X.astype(np.complex128), y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.predict(X.astype(np.complex128))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_object_dtype(kind):
    est = _fitted(kind)
    snap = _snapshot(est)
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    strings = np.array([["a", "b", "c", "d"]] * len(X), dtype=object)
    with pytest.raises(ValueError, match="could not convert string to float"):
        est.fit(strings, y)
    with pytest.raises(ValueError, match="could not convert string to float"):
        est.predict(strings[:3])
    _assert_unchanged(est, snap)
    # numbers stored as objects are converted, as in scikit-learn
    assert_array_equal(est.predict(X[:5].astype(object)), est.predict(X[:5]))


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_y_with_nan(kind, method):
    est = _fitted(kind)
    snap = _snapshot(est)
    X, _, y_reg = _data()
    y = y_reg.copy()
    y[7] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        getattr(est, method)(X, y)
    _assert_unchanged(est, snap)


def test_unseen_classes_in_partial_fit():
    X, y, _ = _data()
    est = _make("cls")
    est.partial_fit(X, y, classes=[0, 1])
    snap = _snapshot(est)
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        est.partial_fit(X, y + 1)
    _assert_unchanged(est, snap)
    assert_array_equal(est.classes_, [0, 1])


def test_partial_fit_first_call_needs_classes():
    X, y, _ = _data()
    est = _make("cls")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    assert not hasattr(est, "model_")


def test_warm_start_with_other_classes():
    X, y, _ = _data()
    est = _fitted("cls", warm_start=True)
    snap = _snapshot(est)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        est.fit(X, y + 1)
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_poisson_negative_y(method):
    X, _, y = _data()
    est = _fitted("reg", loss="poisson")
    snap = _snapshot(est)
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        getattr(est, method)(X, y - 10)
    _assert_unchanged(est, snap)


BAD_PARAMS = [
    ("alpha", -1.0),
    ("learning_rate_init", 0.0),
    ("max_iter", 0),
    ("solver", "newton"),
    ("activation", "softplus"),
    ("batch_size", 0),
    ("momentum", 1.5),
    ("validation_fraction", 1.0),
    ("beta_1", 1.0),
    ("dropout", 1.0),
    ("n_estimators", 0),
    ("weight_init", "zeros"),
    ("activity_l1", -0.1),
    ("pretrain", "yes"),
    ("pretrain_max_iter", 0),
    ("pretrain_noise", -1.0),
]


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("name, value", BAD_PARAMS)
def test_bad_hyperparameters(kind, name, value):
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    est = _fitted(kind)
    snap = _snapshot(est)
    est.set_params(**{name: value})
    cls_name = type(est).__name__
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {cls_name} must"):
        est.fit(X, y)
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_bad_per_layer_dropout(kind):
    X, y_cls, y_reg = _data()
    est = _make(kind, dropout=[0.1, 0.2])  # two rates, one hidden layer
    with pytest.raises(ValueError, match="dropout must be a float or have one value per hidden"):
        est.fit(X, y_cls if kind == "cls" else y_reg)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_failed_refit_restores_previous_model(kind):
    """A fit that fails *after* validation (inside training) also restores the model."""
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    est = _fitted(kind)
    snap = _snapshot(est)
    est.set_params(early_stopping=True, validation_fraction=0.01)  # too small a split
    with pytest.raises(ValueError, match="validation set is too small|test_size = 1"):
        est.fit(X, y)
    _assert_unchanged(est, snap)
    assert est.early_stopping is True  # parameters are the user's, not rolled back


def test_coefs_still_views_after_failed_partial_fit():
    X, y, _ = _data()
    est = _fitted("cls")
    with pytest.raises(ValueError):
        est.partial_fit(_bad_X("nan"), y)
    linears = [m for m in est.model_.modules if isinstance(m, sknn_backprop.nn.Linear)]
    assert all(np.shares_memory(c, m.weight) for c, m in zip(est.coefs_, linears))


def test_partial_fit_with_early_stopping_rejected():
    X, y, _ = _data()
    est = _fitted("cls")
    snap = _snapshot(est)
    est.set_params(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        est.partial_fit(X, y)
    _assert_unchanged(est, snap)


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    X, _, _ = _data()
    for est in (_make("cls"), _make("reg")):
        with pytest.raises(NotFittedError):
            est.predict(X)


@pytest.mark.skipif(ConvNetClassifier is None, reason="ConvNetClassifier not available")
def test_convnet_rejects_nan_and_keeps_state():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 16))
    y = np.arange(20) % 2
    try:
        est = ConvNetClassifier(random_state=0, max_iter=2)
    except TypeError:  # pragma: no cover - constructor still being written
        pytest.skip("ConvNetClassifier constructor not ready")
    try:
        with pytest.warns(Warning):
            est.fit(X.reshape(20, 1, 4, 4), y)
    except Exception as exc:  # pragma: no cover - estimator still being written
        pytest.skip(f"ConvNetClassifier cannot fit yet: {exc!r}")
    before = est.predict_proba(X.reshape(20, 1, 4, 4))
    Xbad = X.copy()
    Xbad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xbad.reshape(20, 1, 4, 4), y)
    assert_array_equal(est.predict_proba(X.reshape(20, 1, 4, 4)), before)
