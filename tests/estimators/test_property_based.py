"""Property-based tests (hypothesis): estimators on random data, engine modules on random shapes."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sknn_backprop import MLPClassifier, MLPRegressor, nn  # noqa: E402

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run: no flaky CI
)
ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "abs"]
SOLVERS = ["adam", "sgd", "lbfgs"]
DTYPES = [np.float32, np.float64]


@st.composite
def problems(draw):
    n_samples = draw(st.integers(2, 30))
    n_features = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    n_classes = draw(st.integers(2, 3))
    y_cls = np.arange(n_samples) % n_classes  # every class present
    rng.shuffle(y_cls)
    y_reg = rng.normal(size=n_samples)
    params = dict(
        hidden_layer_sizes=tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=2))),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        solver=draw(st.sampled_from(SOLVERS)),
        max_iter=draw(st.integers(1, 4)),
        random_state=seed,
    )
    return X, y_cls, y_reg, params


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, batch_size clipping
        return est.fit(X, y)


@SETTINGS
@given(problems())
def test_classifier_fits_and_predicts(problem):
    X, y, _, params = problem
    est = _fit(MLPClassifier(**params), X, y)
    assert est.coefs_[0].dtype == X.dtype
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert set(np.unique(pred)) <= set(np.unique(y))
    proba = est.predict_proba(X)
    assert proba.dtype == X.dtype
    assert proba.shape == (len(X), len(np.unique(y)))
    assert np.all(proba > 0) and np.all(proba < 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5 if X.dtype == np.float32 else 1e-12)
    assert np.isfinite(est.predict_log_proba(X)).all()


@SETTINGS
@given(problems())
def test_regressor_fits_and_predicts(problem):
    X, _, y, params = problem
    est = _fit(MLPRegressor(**params), X, y)
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert pred.dtype == X.dtype
    assert np.isfinite(pred).all()
    # two outputs
    pred2 = _fit(MLPRegressor(**params), X, np.c_[y, -y]).predict(X)
    assert pred2.shape == (len(X), 2) and pred2.dtype == X.dtype


@SETTINGS
@given(problems(), st.data())
def test_non_finite_input_rejected_and_state_kept(problem, data):
    X, y_cls, y_reg, params = problem
    is_cls = data.draw(st.booleans())
    est = MLPClassifier(**params) if is_cls else MLPRegressor(**params)
    y = y_cls if is_cls else y_reg
    _fit(est, X, y)
    before = est.predict_proba(X) if is_cls else est.predict(X)
    coefs = [c.copy() for c in est.coefs_]
    n_bad = data.draw(st.integers(1, X.size))
    flat = data.draw(
        st.lists(st.integers(0, X.size - 1), min_size=n_bad, max_size=n_bad, unique=True)
    )
    bad_value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    Xbad = X.copy()
    Xbad.flat[flat] = bad_value
    what = "NaN" if np.isnan(bad_value) else "infinity"
    methods = ["fit", "predict"] + (["partial_fit"] if params["solver"] != "lbfgs" else [])
    method = data.draw(st.sampled_from(methods))
    with pytest.raises(ValueError, match=f"Input X contains {what}"):
        if method == "predict":
            est.predict(Xbad)
        else:
            getattr(est, method)(Xbad, y)
    after = est.predict_proba(X) if is_cls else est.predict(X)
    assert_array_equal(after, before)
    for a, b in zip(est.coefs_, coefs):
        assert_array_equal(a, b)


# --------------------------------------------------------------- engine modules
def _check_module(module, x, expected_shape):
    out = module.forward(x)
    assert out.shape == expected_shape, (module, out.shape, expected_shape)
    assert out.dtype == x.dtype, (module, out.dtype, x.dtype)
    grad_out = np.ones_like(out)
    grad_in = module.backward(x, grad_out)
    assert grad_in.shape == x.shape, (module, grad_in.shape)
    assert np.isfinite(grad_in).all()
    inferred = module.infer(x.copy())
    assert inferred.shape == expected_shape


ELEMENTWISE = [
    lambda dt: nn.Identity(),
    lambda dt: nn.Sigmoid(),
    lambda dt: nn.Tanh(),
    lambda dt: nn.ReLU(),
    lambda dt: nn.LeakyReLU(),
    lambda dt: nn.Abs(),
    lambda dt: nn.Exp(),
    lambda dt: nn.PReLU(dtype=dt),
    lambda dt: nn.Softmax(),
    lambda dt: nn.LogSoftmax(),
    lambda dt: nn.Dropout(0.5).eval(),
    lambda dt: nn.GaussianNoise(0.3).eval(),
]

module_settings = settings(max_examples=15, deadline=None, derandomize=True)


@module_settings
@given(
    st.integers(0, len(ELEMENTWISE) - 1),
    st.integers(1, 8),
    st.integers(1, 7),
    st.sampled_from(DTYPES),
)
def test_elementwise_modules(i, n, d, dtype):
    x = np.random.default_rng(n * 31 + d).normal(size=(n, d)).astype(dtype)
    _check_module(ELEMENTWISE[i](dtype), x, (n, d))


@module_settings
@given(st.integers(1, 8), st.integers(1, 7), st.integers(1, 7), st.sampled_from(DTYPES))
def test_linear(n, n_in, n_out, dtype):
    x = np.random.default_rng(n).normal(size=(n, n_in)).astype(dtype)
    lin = nn.Linear(n_in, n_out, rng=np.random.default_rng(0), dtype=dtype)
    _check_module(lin, x, (n, n_out))
    assert lin.grad_weight.shape == lin.weight.shape


@module_settings
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.integers(1, 5),
    st.sampled_from(DTYPES),
    st.booleans(),
)
def test_flatten_reshape_dropout_train(sample_shape, n, dtype, train_dropout):
    x = np.random.default_rng(n).normal(size=(n, *sample_shape)).astype(dtype)
    size = int(np.prod(sample_shape))
    _check_module(nn.Flatten(), x, (n, size))
    _check_module(nn.Reshape(size), x, (n, size))
    _check_module(nn.Reshape(*reversed(sample_shape)), x, (n, *reversed(sample_shape)))
    drop = nn.Dropout(0.5, rng=np.random.default_rng(0)).train(train_dropout)
    _check_module(drop, x, x.shape)


@module_settings
@given(
    n=st.integers(1, 3),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    dtype=st.sampled_from(DTYPES),
)
def test_conv2d(n, c_in, c_out, h, w, k, stride, pad, dtype):
    x = np.random.default_rng(h * w).normal(size=(n, c_in, h, w)).astype(dtype)
    conv = nn.Conv2d(
        c_in, c_out, k, stride=stride, padding=pad, rng=np.random.default_rng(0), dtype=dtype
    )
    if h + 2 * pad < k or w + 2 * pad < k:
        with pytest.raises(ValueError, match="smaller than the kernel"):
            conv.forward(x)
        return
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    _check_module(conv, x, (n, c_out, ho, wo))
    assert conv.grad_weight.shape == conv.weight.shape


@module_settings
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    k=st.integers(1, 3),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    dtype=st.sampled_from(DTYPES),
)
def test_maxpool2d(n, c, h, w, k, stride, dtype):
    x = np.random.default_rng(h * w + k).normal(size=(n, c, h, w)).astype(dtype)
    pool = nn.MaxPool2d(k, stride=stride)
    s = k if stride is None else stride
    if h < k or w < k:
        with pytest.raises(ValueError, match="smaller than the kernel"):
            pool.forward(x)
        return
    _check_module(pool, x, (n, c, (h - k) // s + 1, (w - k) // s + 1))
    # the gradient is routed to one input per window: it sums to the number of windows
    grad = pool.backward(x, np.ones(pool.output.shape, dtype=dtype))
    np.testing.assert_allclose(grad.sum(), np.prod(pool.output.shape), rtol=1e-5)
