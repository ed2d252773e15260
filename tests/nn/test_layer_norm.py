"""``nn.LayerNorm``: PyTorch's definition (biased variance, eps, affine 1 / 0), gradient
checks for the input and both parameters, rank-3 input, dtypes, flat views, pickling."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6


def _ln(n, rng, **kw):
    ln = nn.LayerNorm(n, **kw)
    if ln.elementwise_affine:  # away from 1 / 0, so both parameters matter
        ln.weight[:] = rng.uniform(0.5, 2.0, n)
        ln.bias[:] = rng.normal(size=n)
    return ln


def _reference(x, w, b, eps=1e-5):
    # torch.nn.functional.layer_norm: biased variance over the last axis
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_values_match_pytorch_definition(rng):
    ln = _ln(4, rng)
    x = rng.normal(3.0, 2.0, size=(6, 4))
    assert_allclose(ln.forward(x), _reference(x, ln.weight, ln.bias), rtol=1e-12)
    # defaults: weight 1, bias 0, eps 1e-5 -> each row mean 0, biased std ~1
    y = nn.LayerNorm(4).forward(x)
    assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    assert_allclose(y.var(axis=1), 1, rtol=1e-4)
    assert_allclose(nn.LayerNorm(3).forward(np.array([[1.0, 2.0, 3.0]])),
                    [[-1.2247356, 0.0, 1.2247356]], rtol=1e-6)  # fmt: skip


def test_rows_are_independent_and_modes_agree(rng):
    ln = _ln(3, rng)
    x = rng.normal(size=(5, 3))
    y = ln.forward(x)
    assert_allclose(ln.forward(x[2:3]), y[2:3])
    assert_allclose(ln.eval().forward(x), y)
    assert_allclose(ln.infer(x), y)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("shape", [(1, 3), (4, 5), (3, 1), (2, 3, 4)])
def test_gradient_check(shape, affine, rng):
    ln = _ln(shape[-1], rng, elementwise_affine=affine)
    errors = nn.gradient_check(ln, nn.MSECriterion(), rng.normal(size=shape),
                               rng.normal(size=shape))  # fmt: skip
    assert set(errors) == {"input"} | ({"param0", "param1"} if affine else set())
    assert max(errors.values()) < TOL, errors


def test_gradient_check_in_a_network_with_sample_weight(rng):
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), _ln(4, rng), nn.GELU(),
                          nn.Linear(4, 2, rng=rng))  # fmt: skip
    errors = nn.gradient_check(
        model,
        nn.MSECriterion(),
        rng.normal(size=(5, 3)),
        rng.normal(size=(5, 2)),
        sample_weight=rng.uniform(0.5, 2, 5),
    )
    assert max(errors.values()) < TOL, errors


def test_halves_agree_with_backward_and_scale(rng):
    ln = _ln(4, rng)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ln.forward(x)
    ln.zero_grad_parameters()
    gi = ln.backward(x, g)
    gw, gb = ln.grad_weight.copy(), ln.grad_bias.copy()
    assert_allclose(ln.update_grad_input(x, g), gi)
    ln.acc_grad_parameters(x, g, scale=0.5)
    assert_allclose(ln.grad_weight, 1.5 * gw)
    assert_allclose(ln.grad_bias, 1.5 * gb)


def test_float32_in_float32_out(rng):
    x = rng.normal(size=(6, 3)).astype(np.float32)
    for ln in (nn.LayerNorm(3), nn.LayerNorm(3, dtype=np.float32)):
        y = ln.forward(x)
        assert y.dtype == np.float32
        assert ln.backward(x, np.ones_like(x)).dtype == np.float32
        assert ln.infer(x).dtype == np.float32
    assert_allclose(y, nn.LayerNorm(3).forward(x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    ln = nn.LayerNorm(3).astype(np.float32)
    assert ln.weight.dtype == ln.grad_bias.dtype == np.float32


def test_not_penalized_and_flat_views(rng):
    ln = nn.LayerNorm(4)
    assert ln.penalized() == [False, False]
    assert nn.LayerNorm(4, elementwise_affine=False).parameters() == ([], [])
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), ln, nn.Linear(4, 2, rng=rng))
    flat_p, flat_g = model.get_parameters(penalized_first=True)
    assert ln.weight.base is flat_p and ln.grad_bias.base is flat_g
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    model.zero_grad_parameters()
    crit = nn.MSECriterion()
    model.backward(x, crit.backward(model.forward(x), y))
    flat_p -= 0.1 * flat_g
    assert not np.allclose(ln.weight, 1)
    ln.reset_parameters(rng)
    assert_array_equal(ln.weight, 1)
    assert_array_equal(ln.bias, 0)


def test_pickle_repr_and_errors(rng):
    ln = _ln(3, rng)
    x = rng.normal(size=(4, 3))
    y = ln.forward(x).copy()
    clone = pickle.loads(pickle.dumps(ln))
    assert clone._buf_mean is None and clone.output is None
    assert_allclose(clone.forward(x), y)
    assert repr(ln) == "nn.LayerNorm(3)"
    assert repr(nn.LayerNorm(3, eps=1e-6, elementwise_affine=False)) == (
        "nn.LayerNorm(3, eps=1e-06, elementwise_affine=False)"
    )
    with pytest.raises(ValueError, match="3 features on the last axis"):
        ln.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="n must be"):
        nn.LayerNorm(0)
