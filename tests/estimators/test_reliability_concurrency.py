"""Thread safety of prediction and determinism of training."""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import MLPClassifier, MLPRegressor

N_THREADS = 8


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1), X[:, 0] - X[:, 3]


def _fit(kind, **params):
    X, y_cls, y_reg = _data()
    base = dict(hidden_layer_sizes=(5,), max_iter=8, random_state=0)
    base.update(params)
    est = MLPClassifier(**base) if kind == "cls" else MLPRegressor(**base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y_cls if kind == "cls" else y_reg)


def _module_state(est):
    """Every module's attributes: arrays copied, everything else by identity."""
    state = []
    for m in est.model_.modules:
        d = {}
        for k, v in vars(m).items():
            d[k] = v.copy() if isinstance(v, np.ndarray) else v
        state.append(d)
    return state


def _assert_same_state(a, b):
    assert len(a) == len(b)
    for da, db in zip(a, b):
        assert da.keys() == db.keys()
        for k in da:
            if isinstance(da[k], np.ndarray):
                assert_array_equal(da[k], db[k])
            else:
                assert da[k] is db[k] or da[k] == db[k], k


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize("params", [{}, {"dropout": 0.3, "input_noise": 0.1}])
def test_concurrent_predict_matches_serial(kind, params):
    est = _fit(kind, **params)
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(int(rng.integers(1, 300)), 4)) for _ in range(32)]
    methods = ["predict"] + (["predict_proba", "predict_log_proba"] if kind == "cls" else [])
    serial = {(i, m): getattr(est, m)(x) for i, x in enumerate(inputs) for m in methods}
    state = _module_state(est)
    jobs = [(i, m) for _ in range(6) for i in range(len(inputs)) for m in methods]
    rng.shuffle(jobs)

    def run(job):
        i, m = job
        return job, getattr(est, m)(inputs[i])

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        results = list(pool.map(run, jobs))
    for job, out in results:
        assert_array_equal(out, serial[job])
    _assert_same_state(state, _module_state(est))


def test_concurrent_score_and_predict_on_ensemble():
    est = _fit("reg", n_estimators=2)
    X, _, y = _data(seed=3)
    want_pred, want_score = est.predict(X), est.score(X, y)
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        preds = list(pool.map(lambda _: est.predict(X), range(24)))
        scores = list(pool.map(lambda _: est.score(X, y), range(24)))
    for p in preds:
        assert_array_equal(p, want_pred)
    assert scores == [want_score] * 24


# ----------------------------------------------------------------- determinism
def _coefs(est):
    if hasattr(est, "estimators_"):
        return [c for m in est.estimators_ for c in m.coefs_ + m.intercepts_]
    return est.coefs_ + est.intercepts_


def _assert_identical(a, b):
    ca, cb = _coefs(a), _coefs(b)
    assert len(ca) == len(cb)
    for x, y in zip(ca, cb):
        assert x.dtype == y.dtype
        assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["cls", "reg"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "sgd"},
        {"solver": "lbfgs"},
        {"dropout": 0.3, "input_dropout": 0.1, "input_noise": 0.2},
        {"adversarial_eps": 0.05, "early_stopping": True},
    ],
)
def test_same_random_state_same_weights(kind, params):
    _assert_identical(_fit(kind, **params), _fit(kind, **params))


@pytest.mark.parametrize("kind", ["cls", "reg"])
def test_bagging_identical_across_n_jobs(kind):
    a = _fit(kind, n_estimators=2, n_jobs=1, dropout=0.2)
    b = _fit(kind, n_estimators=2, n_jobs=2, dropout=0.2)
    _assert_identical(a, b)
    X, _, _ = _data(seed=5)
    assert_array_equal(a.predict(X), b.predict(X))


def test_different_random_state_different_weights():
    a = _fit("reg", random_state=0)
    b = _fit("reg", random_state=1)
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])


def test_float32_training_deterministic():
    X, _, y = _data()
    a = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0, dropout=0.2)
    b = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X.astype(np.float32), y)
        b.fit(X.astype(np.float32), y)
    assert a.coefs_[0].dtype == np.float32
    _assert_identical(a, b)


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
        max_iter=4,
        random_state=0,
    )
    base.update(params)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 16))
    y = (X[:, :8].sum(axis=1) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ConvNetClassifier(**base).fit(X, y)


def test_convnet_concurrent_predict_proba_matches_serial():
    est = _convnet(augment_shift=1, dropout=0.2)
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(int(rng.integers(1, 100)), 16)) for _ in range(16)]
    serial = [est.predict_proba(x) for x in inputs]
    state = _module_state(est)
    jobs = list(range(len(inputs))) * 4
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        results = list(pool.map(lambda i: (i, est.predict_proba(inputs[i])), jobs))
    for i, out in results:
        assert_array_equal(out, serial[i])
    _assert_same_state(state, _module_state(est))


def test_convnet_same_random_state_same_weights():
    params = dict(augment_shift=1, dropout=0.2)
    _assert_identical(_convnet(**params), _convnet(**params))
