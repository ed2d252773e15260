"""Pickles, joblib and skops files; chunked prediction of large inputs."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import sknn_backprop
from sknn_backprop import MLPClassifier, MLPRegressor, _compute

ConvNetClassifier = getattr(sknn_backprop, "ConvNetClassifier", None)


def _data(n=60, seed=0, n_features=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 1), X[:, 0] - X[:, 1]


def _make(kind, **params):
    base = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    base.update(params)
    return MLPClassifier(**base) if kind == "cls" else MLPRegressor(**base)


def _fit(kind, X=None, **params):
    if X is None:
        X, _, _ = _data()
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1) if kind == "cls" else X[:, 0] - X[:, 1]
    est = _make(kind, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _outputs(est, X):
    out = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        out.append(est.predict_proba(X))
    return out


def _assert_same_predictions(a, b, X):
    for x, y in zip(_outputs(a, X), _outputs(b, X)):
        assert_array_equal(x, y)


def _param_nbytes(est):
    return sum(p.nbytes for p in est.model_.parameters()[0])


def _assert_no_cached_activations(est):
    for m in est.model_.modules:
        assert m.output is None, type(m).__name__
        assert m.grad_input is None, type(m).__name__
        for name, value in vars(m).items():
            if name.startswith("_buf"):
                assert value is None, (type(m).__name__, name)
        for name in ("mask", "noise", "argmax", "shifts"):  # per-batch training state
            assert getattr(m, name, None) is None, (type(m).__name__, name)


# ------------------------------------------------------------------ pickle
@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"dropout": 0.3, "input_noise": 0.1}])
def test_no_cached_activations_after_fit_and_predict(kind, params):
    X, _, _ = _data(n=80)
    est = _fit(kind, **params)
    _assert_no_cached_activations(est)
    _outputs(est, X)
    _assert_no_cached_activations(est)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_pickle_size_bounded_by_weights_and_optimizer_state(kind):
    """Weights + training state needed by ``partial_fit`` (optimizer moments), no activations."""
    X, _, _ = _data(n=300, n_features=40)
    est = _fit(kind, X=X, hidden_layer_sizes=(64,))
    _outputs(est, X)
    opt = est._optimizer
    opt_nbytes = sum(
        a.nbytes for name in ("ms", "vs", "velocities") for a in (getattr(opt, name, None) or [])
    )
    limit = 1.5 * (_param_nbytes(est) + opt_nbytes) + 20_000
    assert len(pickle.dumps(est)) < limit


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_pickle_size_close_to_weights(kind):
    X, _, _ = _data(n=300, n_features=40)
    est = _fit(kind, X=X, hidden_layer_sizes=(256,), solver="lbfgs")  # no optimizer moments
    assert len(pickle.dumps(est)) < 1.5 * _param_nbytes(est) + 20_000


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"n_estimators": 2}, {"solver": "lbfgs"}])
def test_pickle_round_trip(kind, params):
    X, _, _ = _data(seed=2)
    est = _fit(kind, **params)
    clone = pickle.loads(pickle.dumps(est))
    _assert_same_predictions(est, clone, X)
    if "n_estimators" not in params:
        # coefs_ are rebuilt as views of the network's weights
        linears = [m for m in clone.model_.modules if isinstance(m, sknn_backprop.nn.Linear)]
        assert all(np.shares_memory(c, m.weight) for c, m in zip(clone.coefs_, linears))
        assert "coefs_" not in clone.__getstate__()


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"n_estimators": 2}])
def test_pickling_leaves_the_live_estimator_intact(kind, params):
    """Regression: ``__getstate__`` used to pop ``coefs_`` from the live ``__dict__``."""
    X, y_cls, y_reg = _data()
    est = _fit(kind, **params)
    members = est.estimators_ if "n_estimators" in params else [est]
    pickle.dumps(est)
    joblib.dump(est, io.BytesIO())
    assert all(hasattr(m, "coefs_") and hasattr(m, "intercepts_") for m in members)
    est.partial_fit(X, y_cls if kind == "cls" else y_reg)  # needs the members' coefs_


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"dropout": 0.3, "input_noise": 0.1}])
def test_pickling_between_partial_fits_is_deterministic(kind, params):
    X, y_cls, y_reg = _data()
    y = y_cls if kind == "cls" else y_reg
    kw = {"classes": [0, 1, 2]} if kind == "cls" else {}
    a = _make(kind, **params)
    for i in range(3):
        a.partial_fit(X, y, **(kw if i == 0 else {}))
    b = _make(kind, **params)
    b.partial_fit(X, y, **kw)
    b = pickle.loads(pickle.dumps(b))
    b.partial_fit(X, y)
    b = pickle.loads(pickle.dumps(b))
    b.partial_fit(X, y)
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(x, z)


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_joblib_round_trip(kind, tmp_path):
    X, _, _ = _data(seed=3)
    est = _fit(kind)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    _assert_same_predictions(est, joblib.load(path), X)


# ------------------------------------------------------------------- skops
@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"dropout": 0.2, "solver": "sgd"}, {"n_estimators": 2}])
def test_skops_round_trip(kind, params, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, _, _ = _data(seed=4)
    est = _fit(kind, **params)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not t.startswith("sknn_backprop.")]
    assert not foreign, f"types outside sknn_backprop need trusting: {foreign}"
    loaded = sio.load(path, trusted=untrusted)
    _assert_same_predictions(est, loaded, X)
    # and it can be trained further
    loaded.partial_fit(X, est.predict(X))


# ------------------------------------------------------------------ memory
def test_large_predict_is_chunked(monkeypatch):
    rng = np.random.default_rng(0)
    X_small = rng.normal(size=(100, 20))
    est = _fit("reg", X=X_small, hidden_layer_sizes=(64,))
    X = rng.normal(size=(200_000, 20))
    full = est.predict(X)
    assert full.shape == (200_000,) and np.isfinite(full).all()

    seen = []
    original = sknn_backprop.nn.Linear.infer

    def infer(self, x, owned=False):
        seen.append(x.shape[0])
        return original(self, x, owned=owned)

    monkeypatch.setattr(_compute, "_PREDICT_CHUNK_VALUES", 64 * 1000)
    monkeypatch.setattr(sknn_backprop.nn.Linear, "infer", infer)
    chunked = est.predict(X[:20_000])
    assert max(seen) * 64 <= 64 * 1000  # rows per chunk x widest layer <= the bound
    assert len(seen) == 2 * 20  # two Linear layers, 20 chunks
    # BLAS may round a different row count differently: equal to the last few ulps
    assert_allclose(chunked, full[:20_000], rtol=1e-12, atol=1e-12)


def test_chunked_predict_proba_equals_unchunked(monkeypatch):
    X, y, _ = _data(n=500)
    est = _fit("cls", X=X[:60])
    want = est.predict_proba(X)
    want_labels = est.predict(X)
    for bound in (7, 1):  # 1: one row at a time
        monkeypatch.setattr(_compute, "_PREDICT_CHUNK_VALUES", bound)
        assert_allclose(est.predict_proba(X), want, rtol=1e-12, atol=1e-15)
        assert_array_equal(est.predict(X), want_labels)


# --------------------------------------------------------------- ConvNet
@pytest.mark.skipif(ConvNetClassifier is None, reason="ConvNetClassifier not available")
def test_convnet_pickle_and_skops(tmp_path):
    sio = pytest.importorskip("skops.io")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 1, 6, 6))
    y = np.arange(20) % 2
    try:
        est = ConvNetClassifier(
            conv_filters=(2,),
            kernel_size=3,
            hidden_layer_sizes=(5,),
            augment_shift=1,
            dropout=0.2,
            random_state=0,
            max_iter=2,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
    except Exception as exc:  # pragma: no cover - estimator still being written
        pytest.skip(f"ConvNetClassifier cannot fit yet: {exc!r}")
    _assert_no_cached_activations(est)
    clone = pickle.loads(pickle.dumps(est))
    assert_array_equal(clone.predict_proba(X), est.predict_proba(X))
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    assert_array_equal(joblib.load(buf).predict_proba(X), est.predict_proba(X))
    path = tmp_path / "convnet.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith("sknn_backprop.") for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
