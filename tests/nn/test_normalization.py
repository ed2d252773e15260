"""``nn.BatchNorm1d`` and ``nn.BatchNorm2d``: gradients, running statistics, eval mode,
both memory layouts of ``(N, C, H, W)`` activations, dtype, flattening and pickling."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn
from sknn_backprop.nn.normalization import _batch_last

TOL = 1e-6


def _to_batch_last(a):
    """The same values as ``a`` ``(N, C, H, W)``, stored as ``(C, H, W, N)``."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


class BatchLast(nn.Module):
    """Hands its input on in the batch-last layout (as ``Conv2d`` does), so a finite
    difference check perturbs a C-contiguous array but the layer sees batch-last."""

    def update_output(self, x):
        return _to_batch_last(x)

    def update_grad_input(self, x, grad_output):
        return np.ascontiguousarray(grad_output)


def _bn(cls, n, rng, **kw):
    bn = cls(n, **kw)
    if bn.affine:  # away from the initial 1 / 0, so both parameters matter
        bn.weight[:] = rng.uniform(0.5, 2.0, n)
        bn.bias[:] = rng.normal(size=n)
    return bn


def _check(module, x, rng, sample_weight=None):
    target = rng.normal(size=x.shape[:1] + (int(np.prod(x.shape[1:])),)).reshape(x.shape)
    errors = nn.gradient_check(module, nn.MSECriterion(), x, target, sample_weight=sample_weight)
    n_params = len(module.parameters()[0])
    assert set(errors) == {"input"} | {f"param{i}" for i in range(n_params)}
    assert max(errors.values()) < TOL, errors


# -- gradients ------------------------------------------------------------------------------------
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("shape", [(2, 3), (5, 4), (9, 1)])
def test_batchnorm1d_gradient_check_train_mode(shape, affine, rng):
    # train mode: the batch statistics couple the rows; gradient_check perturbs one
    # entry of the same batch at a time, so the check covers that coupling
    bn = _bn(nn.BatchNorm1d, shape[1], rng, affine=affine)
    _check(bn, rng.normal(size=shape), rng)
    _check(bn, rng.normal(size=shape), rng, sample_weight=rng.uniform(0.5, 2, shape[0]))


@pytest.mark.parametrize("layout", ["contiguous", "batch-last"])
@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (3, 2, 3, 1), (1, 2, 2, 3)])
def test_batchnorm2d_gradient_check_train_mode(shape, layout, rng):
    bn = _bn(nn.BatchNorm2d, shape[1], rng)
    module = bn if layout == "contiguous" else nn.Sequential(BatchLast(), bn)
    _check(module, rng.normal(size=shape), rng)
    if layout == "batch-last":
        assert _batch_last(bn.output) and _batch_last(bn.grad_input)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (4, 3)), (nn.BatchNorm2d, (3, 2, 2, 2))])
def test_gradient_check_eval_mode(cls, shape, rng):
    bn = _bn(cls, shape[1], rng)
    bn.running_mean[:] = rng.normal(size=shape[1])
    bn.running_var[:] = rng.uniform(0.5, 2.0, shape[1])
    _check(bn.eval(), rng.normal(size=shape), rng)


def test_gradient_check_in_networks(rng):
    mlp = nn.Sequential(
        nn.Linear(3, 4, rng=rng), _bn(nn.BatchNorm1d, 4, rng), nn.Tanh(), nn.Linear(4, 2, rng=rng)
    )
    errors = nn.gradient_check(
        mlp, nn.MSECriterion(), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    )
    assert max(errors.values()) < TOL, errors
    # Conv2d hands BatchNorm2d its batch-last activations
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, rng=rng),
        _bn(nn.BatchNorm2d, 2, rng),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(2 * 4 * 4, 2, rng=rng),
    )
    x = rng.normal(size=(3, 1, 4, 4))
    errors = nn.gradient_check(net, nn.CrossEntropyCriterion(), x, np.array([0, 1, 1]))
    assert max(errors.values()) < TOL, errors


def test_backward_halves_agree_with_backward(rng):
    bn = _bn(nn.BatchNorm2d, 3, rng)
    x, g = rng.normal(size=(4, 3, 2, 2)), rng.normal(size=(4, 3, 2, 2))
    bn.forward(x)
    bn.zero_grad_parameters()
    dx = bn.backward(x, g, scale=0.5).copy()
    gw, gb = bn.grad_weight.copy(), bn.grad_bias.copy()
    assert_allclose(bn.update_grad_input(x, g), dx, rtol=1e-12)
    bn.acc_grad_parameters(x, g, scale=0.5)  # gradients accumulate
    assert_allclose(bn.grad_weight, 2 * gw, rtol=1e-12)
    assert_allclose(bn.grad_bias, 2 * gb, rtol=1e-12)


def test_explicit_formulas(rng):
    bn = _bn(nn.BatchNorm1d, 3, rng)
    x, g = rng.normal(2.0, 3.0, size=(8, 3)), rng.normal(size=(8, 3))
    mu, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + bn.eps)
    assert_allclose(bn.forward(x), bn.weight * x_hat + bn.bias, rtol=1e-12)
    dx = bn.backward(x, g)
    expected = bn.weight / np.sqrt(var + bn.eps) * (g - g.mean(0) - x_hat * (g * x_hat).mean(0))
    assert_allclose(dx, expected, rtol=1e-10, atol=1e-12)
    assert_allclose(bn.grad_weight, (g * x_hat).sum(0), rtol=1e-12)
    assert_allclose(bn.grad_bias, g.sum(0), rtol=1e-12)


# -- the two layouts ------------------------------------------------------------------------------
def test_batch_last_and_contiguous_layouts_agree(rng):
    x, g = rng.normal(size=(5, 3, 4, 2)), rng.normal(size=(5, 3, 4, 2))
    results = []
    for xl, gl in [(x, g), (_to_batch_last(x), _to_batch_last(g)), (_to_batch_last(x), g)]:
        bn = _bn(nn.BatchNorm2d, 3, np.random.default_rng(1))
        y = bn.forward(xl)
        assert _batch_last(y) == _batch_last(xl)  # the output keeps the input's layout
        dx = bn.backward(xl, gl)
        assert _batch_last(dx) == _batch_last(xl)
        results.append((y, dx, bn.grad_weight, bn.grad_bias, bn.running_mean, bn.running_var))
        y_eval = bn.eval().forward(xl)
        results[-1] += (y_eval, bn.infer(xl))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_batchnorm2d_statistics_are_per_channel(rng):
    x = (
        rng.normal(size=(6, 2, 3, 3)) * np.array([1.0, 5.0])[:, None, None]
        + np.array([0, 3])[:, None, None]
    )
    for xl in (x, _to_batch_last(x)):
        y = nn.BatchNorm2d(2).forward(xl)
        assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
        assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-4)


# -- running statistics and evaluation mode -------------------------------------------------------
def test_running_statistics_one_step_unbiased(rng):
    bn = nn.BatchNorm1d(3, momentum=0.3)
    x = rng.normal(size=(10, 3))
    bn.forward(x)
    assert_allclose(bn.running_mean, 0.3 * x.mean(0), rtol=1e-12)
    assert_allclose(bn.running_var, 0.7 + 0.3 * x.var(0, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (50, 3)), (nn.BatchNorm2d, (10, 3, 2, 2))])
def test_running_statistics_converge_to_the_data(cls, shape, rng):
    mean, std = np.array([-2.0, 0.5, 4.0]), np.array([0.5, 1.0, 3.0])
    shape_c = (3,) + (1,) * (len(shape) - 2)
    bn = cls(3)
    for _ in range(300):
        bn.forward(rng.normal(size=shape) * std.reshape(shape_c) + mean.reshape(shape_c))
    assert_allclose(bn.running_mean, mean, atol=0.15 * std.max())
    assert_allclose(bn.running_var, std**2, rtol=0.15)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (7, 3)), (nn.BatchNorm2d, (7, 3, 2, 2))])
def test_eval_mode_is_deterministic_and_rows_are_independent(cls, shape, rng):
    bn = _bn(cls, 3, rng)
    for _ in range(5):
        bn.forward(rng.normal(1.0, 2.0, size=shape))
    stats = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = rng.normal(size=shape)
    y = bn.forward(x).copy()
    assert_array_equal(bn.forward(x), y)  # deterministic
    for i in range(shape[0]):  # a row's output does not depend on the rest of its batch
        assert_allclose(bn.forward(x[i : i + 1])[0], y[i], rtol=1e-13)
    assert_array_equal(bn.running_mean, stats[0])  # eval mode never updates them
    assert_array_equal(bn.running_var, stats[1])
    shape_c = (3,) + (1,) * (len(shape) - 2)
    a = bn.weight / np.sqrt(bn.running_var + bn.eps)
    expected = (x - bn.running_mean.reshape(shape_c)) * a.reshape(shape_c) + bn.bias.reshape(
        shape_c
    )
    assert_allclose(y, expected, rtol=1e-12)


def test_infer_writes_nothing_and_matches_eval(rng):
    bn = _bn(nn.BatchNorm2d, 3, rng).train()
    x = rng.normal(size=(4, 3, 2, 2))
    bn.forward(x)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(bn).items()}
    x_copy = x.copy()
    y = bn.infer(x)
    y_owned = bn.infer(x.copy(), owned=True)
    for name, value in vars(bn).items():
        if isinstance(value, np.ndarray):
            assert_array_equal(value, before[name])
        else:
            assert value is before[name] or value == before[name]
    assert_array_equal(x, x_copy)
    expected = bn.eval().forward(x)
    assert_allclose(y, expected)
    assert_allclose(y_owned, expected)


def test_training_with_one_value_per_channel_is_an_error():
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3).forward(np.ones((1, 3)))
    assert nn.BatchNorm1d(3).eval().forward(np.ones((1, 3))).shape == (1, 3)


def test_bad_shapes_and_arguments():
    with pytest.raises(ValueError, match="features on axis 1"):
        nn.BatchNorm1d(3).forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="4 dimensions"):
        nn.BatchNorm2d(3).forward(np.ones((4, 3)))
    with pytest.raises(ValueError):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError):
        nn.BatchNorm2d(3, eps=-1.0)


# -- parameters, dtype, pickling, printing --------------------------------------------------------
def test_parameters_are_not_penalized_and_flatten(rng):
    bn = nn.BatchNorm1d(4)
    assert bn.penalized() == [False, False]
    assert nn.BatchNorm1d(4, affine=False).parameters() == ([], [])
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), bn, nn.Linear(4, 2, rng=rng))
    assert model.penalized() == [True, False, False, False, True, False]
    flat_p, flat_g = model.get_parameters(penalized_first=True)
    n_weights = 3 * 4 + 4 * 2
    assert bn.weight.base is flat_p and bn.grad_weight.base is flat_g
    weights = flat_p[:n_weights].copy()
    flat_p[:n_weights] = 0.0  # the weights come first: BatchNorm's gamma and beta lie after
    assert_array_equal(bn.weight, 1)
    assert_array_equal(bn.bias, 0)
    flat_p[:n_weights] = weights
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    model.zero_grad_parameters()
    crit = nn.MSECriterion()
    model.backward(x, crit.backward(model.forward(x), y))
    assert np.abs(bn.grad_weight).sum() > 0
    flat_p -= 0.1 * flat_g  # a step on the flat vector moves the module's arrays
    assert not np.allclose(bn.weight, 1)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm2d, (3, 3, 2, 2))])
def test_float32_stays_float32(cls, shape, rng):
    x = rng.normal(size=shape).astype(np.float32)
    bn64 = cls(3)  # float64 parameters, float32 data: computed in float32
    y = bn64.forward(x)
    assert y.dtype == np.float32
    assert bn64.backward(x, np.ones_like(x)).dtype == np.float32
    bn32 = cls(3, dtype=np.float32)
    assert bn32.forward(x).dtype == np.float32
    assert bn32.backward(x, np.ones_like(x)).dtype == np.float32
    assert all(a.dtype == np.float32 for a in (bn32.running_mean, bn32.running_var))
    assert all(a.dtype == np.float32 for a in bn32.parameters()[0] + bn32.parameters()[1])
    assert bn32.eval().infer(x).dtype == np.float32
    assert_allclose(y, cls(3).forward(x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    cast = cls(3).astype(np.float32)
    assert cast.running_mean.dtype == cast.weight.dtype == np.float32


def test_pickle_keeps_running_statistics_not_gradients(rng):
    bn = _bn(nn.BatchNorm2d, 3, rng)
    x = rng.normal(size=(4, 3, 2, 2))
    bn.forward(x)
    bn.backward(x, np.ones_like(x))
    clone = pickle.loads(pickle.dumps(bn))
    assert_array_equal(clone.running_mean, bn.running_mean)
    assert_array_equal(clone.running_var, bn.running_var)
    assert_array_equal(clone.weight, bn.weight)
    assert_array_equal(clone.grad_weight, 0)
    assert_array_equal(clone.grad_bias, 0)
    assert clone.output is None and clone._buf_mean is None
    assert_array_equal(clone.eval().forward(x), bn.eval().forward(x))


def test_repr_and_describe():
    assert repr(nn.BatchNorm1d(64)) == "nn.BatchNorm1d(64)"
    assert repr(nn.BatchNorm2d(8, eps=1e-3, momentum=0.2, affine=False)) == (
        "nn.BatchNorm2d(8, eps=0.001, momentum=0.2, affine=False)"
    )
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert "(2): nn.BatchNorm1d(4)" in repr(model)
    text = model.describe()
    assert "weight : float64 - size: 4" in text and "nn.BatchNorm1d(4)" in text
    assert "running_mean : float64 - size: 4" in text


def test_reset_running_stats(rng):
    bn = nn.BatchNorm1d(3)
    bn.forward(rng.normal(2.0, 3.0, size=(10, 3)))
    assert bn.reset_running_stats() is bn
    assert_array_equal(bn.running_mean, 0)
    assert_array_equal(bn.running_var, 1)


def test_reset_parameters_restores_the_initial_state():
    bn = nn.BatchNorm1d(3)
    bn.forward(np.random.default_rng(0).normal(2.0, 3.0, size=(20, 3)))
    bn.weight[...] = 5.0
    bn.bias[...] = -1.0
    bn.reset_parameters(np.random.default_rng(1))
    np.testing.assert_array_equal(bn.weight, 1.0)
    np.testing.assert_array_equal(bn.bias, 0.0)
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)
