"""The numba fast path (``sknn_backprop/nn/_fast.py``): its switch, and every kernel
pinned to the numpy code it replaces.

Each kernel does numpy's operations in numpy's order, so the comparisons are exact
(``assert_array_equal``, which counts +0 and -0 as equal: the sign of a zero
maximum tied with another zero is the one thing left free), in float64 and float32.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sknn_backprop import nn
from sknn_backprop.nn import _fast, _im2col, activation, criterion, optim

DTYPES = [np.float64, np.float32]


@pytest.fixture
def paths():
    """``run(fn)`` -> ``(numpy path result, fast path result)``."""
    pytest.importorskip("numba")

    def run(fn):
        try:
            _fast._state["on"] = False
            a = fn()
            _fast._state["on"] = True
            b = fn()
        finally:
            _fast._reset()
        return a, b

    return run


def _bits_equal(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert_array_equal(a, b)


# -- the switch -------------------------------------------------------------------------
def _python(code, **env):
    full = {**os.environ, **env}
    full.pop("PYTHONPATH", None)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); " + code],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_and_tiny_fits_do_not_import_numba():
    code = (
        "import sknn_backprop, sknn_backprop.nn; print('numba' in sys.modules);"
        "import numpy as np; from sknn_backprop import MLPClassifier;"
        "X = np.random.default_rng(0).random((40, 4)); y = np.arange(40) % 2;"
        "MLPClassifier((5,), max_iter=3).fit(X, y); print('numba' in sys.modules)"
    )
    # a tiny fit in auto mode: loading the kernels would cost more than they save
    assert _python(code, SKNN_BACKPROP_NUMBA="").split() == ["False", "False"]


@pytest.mark.parametrize(
    "value, mode", [("0", "off"), ("off", "off"), ("1", "on"), ("", "auto"), ("x", "auto")]
)
def test_setting(monkeypatch, value, mode):
    monkeypatch.setenv("SKNN_BACKPROP_NUMBA", value)
    assert _fast.setting() == mode


def test_choose(monkeypatch):
    numba = pytest.importorskip("numba")
    try:
        monkeypatch.setenv("SKNN_BACKPROP_NUMBA", "0")
        assert not _fast.choose(1000, (10**5, 784), 10**6)
        monkeypatch.setenv("SKNN_BACKPROP_NUMBA", "1")
        assert _fast.choose(1, (10, 2), 10)
        monkeypatch.delenv("SKNN_BACKPROP_NUMBA")
        _fast._reset()
        assert not _fast.choose(3, (40, 4), 30)  # tiny: the numpy path
        # bench_convnet's fit (2 epochs of 10,000 28x28 images): its convolutions make it
        # worth loading; the same pixels through an MLP's few element-wise passes are not
        assert not _fast.choose(2, (10000, 1, 28, 28), 30000)
        assert not _fast.choose(2, (10000, 784), 30000)
        assert _fast.choose(2, (10000, 1, 28, 28), 30000, convolutional=True)
        _fast._reset()
        assert _fast.choose(200, (20000, 784), 235146)  # MLP-synth: worth loading
        assert _fast.choose(3, (40, 4), 30)  # loaded: kept for every later fit
        assert _fast._numba() is numba
    finally:
        _fast._reset()


# -- the kernels, each against its numpy reference ----------------------------------------
OPTIMIZERS = {
    "Adam": lambda p: nn.Adam(p, learning_rate_init=0.01),
    "AdamW": lambda p: nn.AdamW(p, learning_rate_init=0.01, weight_decay=0.1, n_decay=30_000),
    "RMSprop": lambda p: nn.RMSprop(p, learning_rate_init=0.01),
    "Adagrad": lambda p: nn.Adagrad(p),
    "Adadelta": lambda p: nn.Adadelta(p),
    "Adadelta(lr=0.5)": lambda p: nn.Adadelta(p, learning_rate_init=0.5),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_kernels_are_their_block_loops(paths, dtype, name):
    """``_adam_kernel`` against ``_adam_block`` (and the other optimizers' kernels
    against their numpy block loops)."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(40_000).astype(dtype)  # more than one numpy block in float32
    grads = [rng.standard_normal(p0.size).astype(dtype) for _ in range(3)]

    def fit():
        p = p0.copy()
        opt = OPTIMIZERS[name]([p])
        for g in grads:
            opt.step([p], [g])
        state = [v for v in vars(opt).values() if isinstance(v, list) and v]
        return [p] + [a for lst in state for a in lst if isinstance(a, np.ndarray)]

    a, b = paths(fit)
    assert len(a) >= 2
    for u, v in zip(a, b):
        _bits_equal(u, v)


def _special(z):
    """A few nan, inf, -0.0 and exact zeros among the values of ``z``."""
    flat = z.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -1.0]
    return z


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_is_bias_then_maximum(paths, dtype):
    rng = np.random.default_rng(0)
    z0 = _special(rng.standard_normal((50, 30)).astype(dtype))
    b = rng.standard_normal(30).astype(dtype)
    b[:4] = 0
    expected = np.maximum(z0 + b, 0)
    _fast._state["on"] = True
    try:
        got = activation.bias_relu(z0.copy(), b)
    finally:
        _fast._reset()
    assert_array_equal(got.view(f"u{got.itemsize}"), expected.view(f"u{got.itemsize}"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_mask_col_sum_is_mask_then_column_sums(dtype):
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    g0 = _special(rng.standard_normal((200, 64)).astype(dtype))
    a = np.maximum(rng.standard_normal((200, 64)), 0).astype(dtype)
    with np.errstate(invalid="ignore"):  # inf * 0
        masked = np.multiply(g0, a > 0)
    g = g0.copy()
    out = activation.relu_mask_col_sum(g, a)
    _bits_equal(g, masked)
    _bits_equal(out, np.add.reduce(masked, axis=0))
    # below _ops' GEMV threshold the column sums are BLAS's: the kernel leaves them
    small = g0[:20].copy()
    assert activation.relu_mask_col_sum(small, a[:20]) is None
    _bits_equal(small, g0[:20])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("need_input_grad", [True, False])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_sequential_fuses_linear_and_relu(paths, dtype, need_input_grad, scale):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 20)).astype(dtype)
    delta = rng.standard_normal((120, 3)).astype(dtype)

    def run():
        r = np.random.default_rng(1)
        net = nn.Sequential(
            nn.Linear(20, 100, rng=r, dtype=dtype),
            nn.ReLU(inplace=True),
            nn.Linear(100, 80, rng=r, dtype=dtype),
            nn.ReLU(inplace=True),
            nn.Linear(80, 3, rng=r, dtype=dtype),
        )
        p, g = net.get_parameters()
        out = net.forward(X).copy()
        for lazy in (True, False):  # writing into fresh gradients, then adding to them
            net.zero_grad_parameters(lazy=lazy)
            gi = net.backward(X, delta.copy(), scale=scale, need_input_grad=need_input_grad)
        gi = np.zeros(1) if gi is None else gi.copy()
        return out, g.copy(), gi, net[1].output.copy(), net[3].grad_input.copy()

    for a, b in zip(*paths(run)):
        _bits_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("onehot", [False, True])
def test_cross_entropy_gradient(paths, dtype, weighted, onehot):
    rng = np.random.default_rng(0)
    z = (5 * rng.standard_normal((200, 10))).astype(dtype)
    z[3, 4] = np.nan
    y = rng.integers(0, 10, 200)
    if onehot:
        y = np.eye(10, dtype=dtype)[y]
    w = rng.random(200) if weighted else None
    crit = nn.CrossEntropyCriterion()
    (la, ga), (lb, gb) = paths(lambda: crit.forward_backward(z, y, w))
    assert np.isnan(la) and np.isnan(lb) or la == lb
    _bits_equal(ga, gb)
    assert not np.isnan(gb[:3]).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_last", [False, True])
@pytest.mark.parametrize(
    "kernel, stride, shape",
    [
        (2, None, (8, 3, 12, 12)),
        (3, 1, (5, 2, 9, 7)),
        (3, 2, (4, 3, 11, 10)),
        (2, None, (4, 2, 9, 9)),
    ],
)
def test_maxpool_kernels(paths, dtype, batch_last, kernel, stride, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, :2, :4] = 1.0  # ties: the first maximum wins
    x[1, 1, 0, 0] = np.nan
    g = rng.standard_normal(nn.MaxPool2d(kernel, stride).forward(x).shape).astype(dtype)
    if batch_last:  # the convolutions' layout
        x, g = (np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2) for a in (x, g))

    def run():
        pool = nn.MaxPool2d(kernel, stride)
        out = pool.forward(x).copy()
        return out, pool.argmax.copy(), pool.backward(x, g).copy(), pool.infer(x)

    for a, b in zip(*paths(run)):
        _bits_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", [(5, 1, 0), (3, 2, 1), (3, 1, 2)])
def test_col2im_kernel(paths, dtype, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 11, 11)).astype(dtype)
    conv = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=rng, dtype=dtype)
    ho, wo, offsets = conv._geometry(x)
    dcols = rng.standard_normal(conv._cols_shape(6, ho, wo)).astype(dtype)

    def run():
        return _im2col._col2im(dcols, np.empty((3, 11, 11, 6), dtype), offsets)

    _bits_equal(*paths(run))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fast_path_fit_is_the_numpy_fit(paths):
    """A whole MLP fit on each path: the same weights, bit for bit."""
    from sklearn.datasets import load_digits

    from sknn_backprop import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16

    def fit():
        clf = MLPClassifier((64,), max_iter=3, random_state=0, tol=0).fit(X, y[:600])
        return np.concatenate([c.ravel() for c in clf.coefs_ + clf.intercepts_])

    _bits_equal(*paths(fit))


def test_kernels_are_beside_their_numpy_code():
    """Each kernel lives in the file of the numpy code it replaces."""
    assert optim._adam_kernel.py.__module__ == optim.__name__
    assert criterion._delta_kernel.py.__module__ == criterion.__name__
    assert activation._bias_relu_kernel.py.__module__ == activation.__name__


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1), (3, 2)])
def test_relu_fused_into_maxpool(paths, dtype, kernel, stride):
    """Conv2d -> ReLU -> MaxPool2d: ``max(max_window(z), 0)`` in the pooling kernel gives
    the numpy path's outputs and gradients (the ReLU's output is not stored, and the
    argmax of a window with no positive value differs: its gradient is 0 either way)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2, 12, 12)).astype(dtype)
    side = (10 - kernel) // (stride or kernel) + 1

    def run():
        r = np.random.default_rng(0)
        net = nn.Sequential(
            nn.Conv2d(2, 4, 3, rng=r, dtype=dtype),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel, stride),
            nn.Flatten(),
            nn.Linear(4 * side**2, 3, rng=r, dtype=dtype),
        )
        out = net.forward(X).copy()
        g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        net.zero_grad_parameters()
        gi = net.backward(X, g).copy()
        return out, gi, net.get_parameters()[1].copy()

    for a, b in zip(*paths(run)):
        _bits_equal(a, b)


def test_estimators_tell_choose_about_convolutions(monkeypatch):
    """The fit asks :func:`_fast.choose` with the sample's full shape and whether the
    network convolves (the ConvNet's 1.2 s an epoch of savings hinge on it)."""
    from sknn_backprop import ConvNetClassifier, MLPClassifier

    calls = []
    monkeypatch.setattr(nn, "choose_fast_path", lambda *a: calls.append(a))
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 64)), np.arange(20) % 2
    ConvNetClassifier(
        conv_filters=(2,), input_shape=(1, 8, 8), hidden_layer_sizes=(3,), max_iter=2
    ).fit(X, y)
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    (n_epochs, shape, _, conv), (_, mlp_shape, _, mlp_conv) = calls
    assert n_epochs == 2 and int(np.prod(shape)) == 20 * 64 and conv is True
    assert mlp_shape == (20, 64) and mlp_conv is False
