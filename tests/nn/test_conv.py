"""Tests of ``nn.Conv2d``: gradients, shapes, dtypes, initialisation, state.

The fast paths (im2col + GEMM, col2im) are pinned to loop references in
``test_nn_im2col.py``; the pooling layers are tested in ``test_nn_pooling.py``.
"""

import numpy as np
import pytest

from sknn_backprop import nn
from sknn_backprop.nn import gradient_check
from sknn_backprop.nn._im2col import _batch_last

RNG = np.random.default_rng(42)


def distinct(shape, rng=RNG):
    """Inputs with well separated distinct values, so a max-pool argmax is stable."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0


CONV_CASES = [
    # (input shape, out_channels, kernel_size, stride, padding)
    ((2, 3, 7, 5), 4, 3, 2, 1),
    ((2, 1, 1, 9), 3, (1, 4), 1, 0),
    ((2, 2, 6, 6), 3, 5, 1, 0),
    ((2, 2, 6, 7), 2, (3, 2), (2, 1), (0, 2)),
]


@pytest.mark.parametrize("shape, f, k, s, p", CONV_CASES)
def test_conv_gradient_check(shape, f, k, s, p):
    conv = nn.Conv2d(shape[1], f, k, stride=s, padding=p, rng=np.random.default_rng(0))
    x = RNG.normal(size=shape)
    target = RNG.normal(size=conv.forward(x).shape)
    errors = gradient_check(conv, nn.MSECriterion(), x, target)
    assert set(errors) == {"input", "param0", "param1"}
    assert max(errors.values()) < 1e-6, errors


def test_conv_gradient_check_no_bias():
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
    x = RNG.normal(size=(2, 2, 4, 5))
    errors = gradient_check(conv, nn.MSECriterion(), x, RNG.normal(size=(2, 3, 4, 5)))
    assert set(errors) == {"input", "param0"}
    assert max(errors.values()) < 1e-6, errors


def test_conv_is_cross_correlation_not_convolution():
    conv = nn.Conv2d(1, 1, (1, 2), bias=False)
    conv.weight[...] = [[[[1.0, 0.0]]]]  # picks the left input of each window
    out = conv.forward(np.array([[[[1.0, 2.0, 3.0]]]]))
    np.testing.assert_array_equal(out, [[[[1.0, 2.0]]]])


def test_small_convnet_gradient_check():
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 3 * 2, 4, rng=rng),
    )
    x = distinct((3, 2, 6, 5), rng)
    errors = gradient_check(model, nn.CrossEntropyCriterion(), x, np.array([0, 3, 1]))
    assert len(errors) == 5
    assert max(errors.values()) < 1e-6, errors


def test_lecture_network_shapes():
    conv1, pool1 = nn.Conv2d(1, 16, 5), nn.MaxPool2d(2)
    conv2, pool2 = nn.Conv2d(16, 128, 5), nn.MaxPool2d(2)
    model = nn.Sequential(
        nn.Reshape(1, 32, 32), conv1, nn.ReLU(), pool1, conv2, nn.ReLU(), pool2,
        nn.Reshape(128 * 5 * 5), nn.Linear(128 * 5 * 5, 200), nn.ReLU(), nn.Linear(200, 10),
        nn.LogSoftmax(),
    )  # fmt: skip
    x = RNG.normal(size=(2, 1024))
    out = model.forward(x)
    assert out.shape == (2, 10)
    assert conv1.output.shape == (2, 16, 28, 28)
    assert pool1.output.shape == (2, 16, 14, 14)
    assert conv2.output.shape == (2, 128, 10, 10)
    assert pool2.output.shape == (2, 128, 5, 5)
    assert model.backward(x, np.ones((2, 10))).shape == (2, 1024)
    np.testing.assert_allclose(model.infer(x), out)


def test_float32_is_preserved():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, rng=rng, dtype=np.float32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 3, (1, 2), stride=2, rng=rng, dtype=np.float32),
    )
    x = RNG.normal(size=(3, 2, 8, 8)).astype(np.float32)
    out = model.forward(x)
    assert out.dtype == np.float32
    grad = model.backward(x, np.ones_like(out))
    assert grad.dtype == np.float32
    for m in model:
        assert m.output.dtype == np.float32
        assert m.grad_input.dtype == np.float32
    for p, g in zip(*model.parameters()):
        assert p.dtype == np.float32 and g.dtype == np.float32
    assert model.infer(x).dtype == np.float32


def test_init_options_and_reproducibility():
    a = nn.Conv2d(3, 8, 3, rng=np.random.default_rng(5))
    b = nn.Conv2d(3, 8, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.weight.shape == (8, 3, 3, 3) and a.bias.shape == (8,)
    bound = np.sqrt(6.0 / (3 * 9 + 8 * 9))
    assert np.abs(a.weight).max() <= bound and np.abs(a.bias).max() <= bound
    assert np.abs(a.weight).max() > 0.8 * bound
    he = nn.Conv2d(3, 8, 3, init="he_normal")
    assert he.weight.shape == (8, 3, 3, 3) and np.all(he.bias == 0)
    lecun = nn.Conv2d(3, 8, 3, init="lecun_uniform", dtype=np.float32)
    assert lecun.weight.dtype == np.float32
    assert np.abs(lecun.weight).max() <= 1 / np.sqrt(27)
    with pytest.raises(ValueError, match="init"):
        nn.Conv2d(3, 8, 3, init="zeros")


def _state(module):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(module).items()}


def _same_state(before, module):
    after = vars(module)
    assert before.keys() == after.keys()
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v)
        else:
            assert after[k] is v or after[k] == v, k


def test_infer_equals_forward_and_writes_nothing():
    module, shape = nn.Conv2d(3, 4, 3, stride=2, padding=1), (5, 3, 7, 6)
    x = distinct(shape)
    module.forward(distinct(shape))  # populate the caches, then check infer leaves them alone
    before = _state(module)
    ids = {k: id(v) for k, v in vars(module).items()}
    inferred = module.infer(x)
    assert {k: id(v) for k, v in vars(module).items()} == ids
    _same_state(before, module)
    np.testing.assert_array_equal(inferred, module.forward(x))


@pytest.mark.parametrize("padding", [0, 1])
def test_infer_of_batch_last_input_is_forward(padding):
    """A convolution reads the batch-last output of the one below as is (no transpose);
    without padding its columns are never zeroed, and every one of them is written."""
    first, second = nn.Conv2d(2, 3, 3, padding=padding), nn.Conv2d(3, 4, 2, padding=padding)
    x = RNG.normal(size=(6, 2, 7, 5))
    hidden = first.infer(x)
    assert _batch_last(hidden)
    np.testing.assert_array_equal(hidden, first.forward(x))
    np.testing.assert_allclose(second.infer(hidden), second.forward(first.forward(x)), rtol=1e-14)


def test_fresh_module_infer_writes_nothing():
    conv = nn.Conv2d(2, 3, 3)
    before = _state(conv)
    conv.infer(RNG.normal(size=(2, 2, 5, 5)))
    _same_state(before, conv)


def test_chunked_infer_equals_unchunked(monkeypatch):
    from sknn_backprop.nn import conv as conv_module

    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = RNG.normal(size=(23, 2, 6, 5))
    full = conv.infer(x)
    # columns of one sample: 2*3*3 * 6*5 values of 8 bytes; force chunks of 4 samples
    monkeypatch.setattr(conv_module, "_INFER_CHUNK_BYTES", 4 * 18 * 30 * 8)
    chunked = conv.infer(x)
    # both come out batch-last, as forward's output, so the next layer needs no transpose
    assert _batch_last(full) and _batch_last(chunked)
    np.testing.assert_allclose(chunked, full, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(chunked, conv.forward(x), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": (3, 0)}, "kernel_size"),
        ({"padding": -1}, "padding"),
        ({"stride": 0}, "stride"),
        ({"in_channels": -1}, "in_channels"),
        ({"out_channels": 2.5}, "out_channels"),
    ],
)
def test_conv_bad_arguments(kwargs, name):
    args = {"in_channels": 1, "out_channels": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        nn.Conv2d(**args)


def test_conv_bad_inputs():
    with pytest.raises(ValueError, match="expects input"):
        nn.Conv2d(3, 2, 3).forward(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="kernel"):
        nn.Conv2d(1, 2, 5, padding=1).forward(np.zeros((1, 1, 2, 5)))


def test_repr():
    assert repr(nn.Conv2d(1, 16, 5)) == "nn.Conv2d(1 -> 16, 5x5)"
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    assert repr(conv) == "nn.Conv2d(3 -> 8, 3x3, stride 2, pad 1)"
    assert repr(nn.Conv2d(3, 8, 3, stride=(2, 1), bias=False)) == (
        "nn.Conv2d(3 -> 8, 3x3, stride 2x1, no bias)"
    )
    assert repr(nn.Conv2d(1, 4, (1, 4))) == "nn.Conv2d(1 -> 4, 1x4)"


def test_old_import_path():
    from sknn_backprop.nn.conv import Conv2d, MaxPool2d

    assert Conv2d is nn.Conv2d and MaxPool2d is nn.MaxPool2d


def test_get_parameters_and_training_step():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(3 * 2 * 2, 2, rng=rng),
    )  # fmt: skip
    conv = model[0]
    flat_p, flat_g = model.get_parameters()
    assert flat_p.size == 3 * 9 + 3 + 12 * 2 + 2
    assert np.shares_memory(conv.weight, flat_p) and np.shares_memory(conv.bias, flat_p)
    assert np.shares_memory(conv.grad_weight, flat_g)
    x, y = RNG.normal(size=(4, 1, 6, 6)), np.array([0, 1, 1, 0])
    crit = nn.CrossEntropyCriterion()
    before = flat_p.copy()
    loss0 = crit.forward(model.forward(x), y)
    for _ in range(20):
        model.zero_grad_parameters()
        loss, grad = crit.forward_backward(model.forward(x), y)
        model.backward(x, grad)
        assert np.any(flat_g[: 3 * 9 + 3] != 0)
        flat_p -= 0.1 * flat_g
    assert np.any(flat_p[:30] != before[:30])
    assert crit.forward(model.forward(x), y) < loss0


def test_backward_scale_and_accumulation():
    conv = nn.Conv2d(2, 2, 3, padding=1)
    x = RNG.normal(size=(2, 2, 4, 4))
    g = RNG.normal(size=(2, 2, 4, 4))
    conv.forward(x)
    conv.backward(x, g)
    gw = conv.grad_weight.copy()
    conv.backward(x, g, scale=0.5)
    np.testing.assert_allclose(conv.grad_weight, 1.5 * gw)
    conv.zero_grad_parameters()
    conv.acc_grad_parameters(x, g)
    np.testing.assert_allclose(conv.grad_weight, gw)
    np.testing.assert_allclose(conv.update_grad_input(x, g), conv.backward(x, g))


def test_clear_state_drops_caches():
    conv = nn.Conv2d(1, 2, 3)
    x = RNG.normal(size=(2, 1, 6, 6))
    conv.forward(x)
    conv.clear_state()
    assert conv.output is None
    assert all(v is None for k, v in vars(conv).items() if k.startswith("_buf"))
    # backward after clear_state recomputes the columns
    conv.forward(x)
    conv.clear_state()
    conv.acc_grad_parameters(x, np.ones((2, 2, 4, 4)))
    assert np.any(conv.grad_weight != 0)


def test_init_callable_as_linear():
    calls = []

    def constant(rng, fan_in, fan_out, dtype=np.float64):
        calls.append((fan_in, fan_out, dtype))
        w = np.arange(fan_out * fan_in, dtype=dtype).reshape(fan_out, fan_in)
        return w, np.full(fan_out, 0.5, dtype=dtype)

    conv = nn.Conv2d(3, 4, (2, 5), init=constant, dtype=np.float32)
    # called as Linear calls it, with fan_in = C kh kw and fan_out = F (the rows of W)
    assert calls == [(3 * 2 * 5, 4, np.float32)]
    np.testing.assert_array_equal(conv.weight, np.arange(120).reshape(4, 3, 2, 5))
    assert conv.weight.dtype == np.float32 and conv.weight.flags.c_contiguous
    np.testing.assert_array_equal(conv.bias, np.full(4, 0.5))
    assert conv.bias.dtype == np.float32
    # the functions of nn.init give the same filters as their names
    for name in ("he_normal", "lecun_uniform"):
        by_name = nn.Conv2d(3, 4, 3, rng=np.random.default_rng(1), init=name)
        by_func = nn.Conv2d(3, 4, 3, rng=np.random.default_rng(1), init=nn.init.INITIALIZERS[name])
        np.testing.assert_array_equal(by_func.weight, by_name.weight)
        np.testing.assert_array_equal(by_func.bias, by_name.bias)
    # and the generator handed in is the one the callable gets
    drawn = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(7), init=nn.init.lecun_uniform)
    w, _ = nn.init.lecun_uniform(np.random.default_rng(7), 18, 3)
    np.testing.assert_array_equal(drawn.weight, w.reshape(3, 2, 3, 3))
    assert nn.Conv2d(3, 4, 3, init=constant, bias=False).bias is None
    with pytest.raises(ValueError, match=r"init must return W of shape \(4, 27\)"):
        nn.Conv2d(3, 4, 3, init=lambda rng, fi, fo, dtype: (np.zeros((fi, fo)), np.zeros(fo)))
