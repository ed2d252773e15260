"""Tests of the pooling layers ``nn.MaxPool2d`` and ``nn.AvgPool2d``: gradients,
loop references, ties, both memory layouts, state."""

import numpy as np
import pytest

from sknn_backprop import nn
from sknn_backprop.nn import gradient_check
from sknn_backprop.nn._im2col import _batch_last

RNG = np.random.default_rng(42)

POOL_CASES = [
    # (input shape, kernel_size, stride): tiled, floor-cropped, overlapping, gapped, rectangular
    ((2, 3, 6, 6), 2, None),
    ((2, 2, 7, 5), 2, None),
    ((2, 2, 7, 8), 3, 2),
    ((2, 2, 7, 8), 2, 3),
    ((1, 2, 5, 6), (2, 3), (1, 2)),
]


def distinct(shape, rng=RNG):
    """Inputs with well separated distinct values, so a max-pool argmax is stable."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0


def batch_last(a):
    """The same ``(N, C, H, W)`` values stored as ``(C, H, W, N)`` (the conv layers' layout)."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def naive_pool(x, kernel, stride, reduce):
    """Loop reference: ``reduce`` over every window, plus the window of each output."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = reduce(x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw])
    return out


def naive_maxpool_grad(x, g, kernel, stride):
    """Each window's delta to its first (row-major) maximum."""
    (kh, kw), (sh, sw) = kernel, stride
    gi = np.zeros_like(x)
    for s, c, i, j in np.ndindex(g.shape):
        win = x[s, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        a, b = np.unravel_index(np.argmax(win), win.shape)  # argmax: first maximum
        gi[s, c, i * sh + a, j * sw + b] += g[s, c, i, j]
    return gi


@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_maxpool_gradient_check(shape, k, s):
    pool = nn.MaxPool2d(k, s)
    x = distinct(shape)
    target = RNG.normal(size=pool.forward(x).shape)
    # values are 0.1 apart, so a step of 1e-4 never changes the argmax
    errors = gradient_check(pool, nn.MSECriterion(), x, target, eps=1e-4)
    assert errors["input"] < 1e-6, errors


@pytest.mark.parametrize("layout", ["C", "batch-last"])
@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_maxpool_matches_loop_reference(shape, k, s, layout):
    pool = nn.MaxPool2d(k, s)
    x = RNG.normal(size=shape)
    x[0, 0, :2, :2] = 1.5  # a tie: the first maximum of the window wins
    expected = naive_pool(x, pool.kernel_size, pool.stride, lambda w: w.max(axis=(2, 3)))
    g = RNG.normal(size=expected.shape)
    expected_grad = naive_maxpool_grad(x, g, pool.kernel_size, pool.stride)
    if layout == "batch-last":
        x, g = batch_last(x), batch_last(g)
    np.testing.assert_array_equal(pool.forward(x), expected)
    np.testing.assert_array_equal(pool.infer(x), expected)
    # overlapping windows sum their deltas in another order: equal to rounding
    np.testing.assert_allclose(pool.backward(x, g), expected_grad, rtol=1e-14, atol=1e-15)


def test_maxpool_output_and_floor_size():
    x = distinct((2, 3, 7, 5))
    out = nn.MaxPool2d(2).forward(x)
    assert out.shape == (2, 3, 3, 2)
    expected = x[:, :, :6, :4].reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out, expected)
    out = nn.MaxPool2d(3, stride=2).forward(x)
    assert out.shape == (2, 3, 3, 2)
    assert out[1, 2, 2, 1] == x[1, 2, 4:7, 2:5].max()


@pytest.mark.parametrize("k, s", [(2, None), (3, 2), (2, 1)])
def test_maxpool_ties_route_to_exactly_one_element(k, s):
    pool = nn.MaxPool2d(k, s)
    x = np.ones((2, 2, 6, 6))
    out = pool.forward(x)
    grad = pool.backward(x, np.ones_like(out))
    # the first element of each window (row-major) gets the whole gradient
    assert grad.sum() == out.size
    assert np.all(pool.argmax == 0)
    stride = pool.stride[0]
    expected = np.zeros_like(x)
    expected[:, :, : stride * out.shape[2] : stride, : stride * out.shape[3] : stride] = 1
    np.testing.assert_array_equal(grad, expected)


def test_maxpool_ties_first_max_in_row_major_order():
    pool = nn.MaxPool2d(2)
    x = np.array([[[[0.0, 5.0], [5.0, 5.0]]]])
    pool.forward(x)
    grad = pool.backward(x, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_avgpool_gradient_check(shape, k, s):
    pool = nn.AvgPool2d(k, s)
    x = RNG.normal(size=shape)
    target = RNG.normal(size=pool.forward(x).shape)
    errors = gradient_check(pool, nn.MSECriterion(), x, target)
    assert set(errors) == {"input"}
    assert errors["input"] < 1e-6, errors


def naive_avgpool_grad(x, g, kernel, stride):
    """Each window's delta shared equally, ``1 / (kh kw)``, by its elements."""
    (kh, kw), (sh, sw) = kernel, stride
    gi = np.zeros_like(x)
    for s, c, i, j in np.ndindex(g.shape):
        gi[s, c, i * sh : i * sh + kh, j * sw : j * sw + kw] += g[s, c, i, j] / (kh * kw)
    return gi


@pytest.mark.parametrize("layout", ["C", "batch-last"])
@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_avgpool_matches_loop_reference(shape, k, s, layout):
    pool = nn.AvgPool2d(k, s)
    x = RNG.normal(size=shape)
    expected = naive_pool(x, pool.kernel_size, pool.stride, lambda w: w.mean(axis=(2, 3)))
    g = RNG.normal(size=expected.shape)
    expected_grad = naive_avgpool_grad(x, g, pool.kernel_size, pool.stride)
    if layout == "batch-last":
        x, g = batch_last(x), batch_last(g)
    np.testing.assert_allclose(pool.forward(x), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(pool.infer(x), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(pool.backward(x, g), expected_grad, rtol=1e-14, atol=1e-15)


def test_avgpool_output_and_backward_without_forward():
    x = np.arange(2 * 3 * 7 * 5).reshape(2, 3, 7, 5)  # integers: averaged in float64
    out = nn.AvgPool2d(2).forward(x)
    assert out.shape == (2, 3, 3, 2) and out.dtype == np.float64
    expected = x[:, :, :6, :4].reshape(2, 3, 3, 2, 2, 2).mean(axis=(3, 5))
    np.testing.assert_array_equal(out, expected)
    # linear: backward needs nothing from a forward; cropped rows/columns get zero
    grad = nn.AvgPool2d(2).backward(x, np.ones((2, 3, 3, 2)))
    np.testing.assert_array_equal(grad[:, :, :6, :4], 0.25)
    assert not grad[:, :, 6:].any() and not grad[:, :, :, 4:].any()
    x32 = x.astype(np.float32)
    assert nn.AvgPool2d(3, 2).forward(x32).dtype == np.float32
    assert nn.AvgPool2d(3, 2).backward(x32, np.ones((2, 3, 3, 2), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="grad_output"):
        nn.AvgPool2d(2).backward(x, np.ones((2, 3, 2, 2)))


def test_avgpool_in_a_convnet():
    """Behind a Conv2d (batch-last activations) and in front of Flatten."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, rng=rng),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(3, 2, 2, rng=rng),
        nn.AvgPool2d((2, 1), 1),
        nn.Flatten(),
        nn.Linear(2 * 1 * 1, 3, rng=rng),
    )
    x = rng.normal(size=(3, 2, 6, 5))
    errors = gradient_check(model, nn.CrossEntropyCriterion(), x, np.array([0, 2, 1]))
    assert len(errors) == 7
    assert max(errors.values()) < 1e-6, errors
    np.testing.assert_allclose(model.infer(x), model.forward(x), rtol=1e-14, atol=1e-15)


def test_exported():
    assert "AvgPool2d" in nn.__all__ and "MaxPool2d" in nn.__all__
    from sknn_backprop.nn.pooling import AvgPool2d, MaxPool2d

    assert AvgPool2d is nn.AvgPool2d and MaxPool2d is nn.MaxPool2d


POOLS = [nn.MaxPool2d, nn.AvgPool2d]


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_both_layouts_give_the_same_numbers(cls, shape, k, s):
    """Every combination of input and delta layout; outputs keep the input's layout."""
    pool = cls(k, s)
    x = distinct(shape)
    ref = pool.forward(x).copy()
    g = RNG.normal(size=ref.shape)
    ref_grad = pool.backward(x, g).copy()
    for xl in (x, batch_last(x)):
        out = pool.forward(xl)
        assert _batch_last(out) == _batch_last(xl)
        np.testing.assert_array_equal(out, ref)
        inferred = pool.infer(xl)
        assert _batch_last(inferred) == _batch_last(xl)
        np.testing.assert_array_equal(inferred, ref)
        for gl in (g, batch_last(g)):
            grad = pool.backward(xl, gl)
            np.testing.assert_array_equal(grad, ref_grad)


@pytest.mark.parametrize("cls", POOLS)
def test_infer_equals_forward_and_writes_nothing(cls):
    module, shape = cls(3, 2), (5, 3, 7, 6)
    x = distinct(shape)
    module.forward(distinct(shape))  # populate the caches, then check infer leaves them alone
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(module).items()}
    ids = {k: id(v) for k, v in vars(module).items()}
    inferred = module.infer(x)
    assert {k: id(v) for k, v in vars(module).items()} == ids
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(getattr(module, k), v)
    np.testing.assert_array_equal(inferred, module.forward(x))


@pytest.mark.parametrize("cls", POOLS)
def test_bad_arguments_and_inputs(cls):
    with pytest.raises(ValueError, match="kernel_size"):
        cls(0)
    with pytest.raises(ValueError, match="stride"):
        cls(2, stride=-1)
    with pytest.raises(ValueError, match="kernel"):
        cls(3).forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(ValueError, match="expects input"):
        cls(2).forward(np.zeros((2, 4, 4)))


def test_maxpool_backward_needs_forward():
    with pytest.raises(ValueError, match="forward"):
        nn.MaxPool2d(2).backward(np.zeros((1, 1, 4, 4)), np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize("cls", POOLS)
def test_repr(cls):
    name = cls.__name__
    assert repr(cls(2)) == f"nn.{name}(2x2)"
    assert repr(cls(3, 2)) == f"nn.{name}(3x3, stride 2)"
    assert repr(cls((2, 3), (1, 2))) == f"nn.{name}(2x3, stride 1x2)"


@pytest.mark.parametrize("cls", POOLS)
def test_clear_state_drops_caches(cls):
    pool = cls(2)
    x = RNG.normal(size=(2, 1, 6, 6))
    pool.backward(x, np.ones(pool.forward(x).shape))
    pool.clear_state()
    assert pool.output is None and pool.grad_input is None
    assert getattr(pool, "argmax", None) is None
    assert all(v is None for k, v in vars(pool).items() if k.startswith("_buf"))
