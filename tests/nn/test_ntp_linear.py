"""``nn.NTPLinear``: RealMLP's neural-tangent parametrisation of a linear layer and its
data-dependent initialisation (pytabkit's ``weight_param='ntk'``, ``'std'``, ``'he+5'``)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bias_lr_factor", [1.0, 0.1])
def test_gradient_check(bias, bias_lr_factor, rng):
    layer = nn.NTPLinear(4, 3, bias=bias, bias_lr_factor=bias_lr_factor, rng=rng)
    if bias:
        layer.bias[:] = rng.normal(size=3)
    errors = nn.gradient_check(layer, nn.MSECriterion(), rng.normal(size=(5, 4)),
                               rng.normal(size=(5, 3)))  # fmt: skip
    assert set(errors) == {"input", "param0"} | ({"param1"} if bias else set())
    assert max(errors.values()) < TOL, errors
    model = nn.Sequential(layer, nn.SELU(), nn.NTPLinear(3, 2, rng=rng))
    errors = nn.gradient_check(model, nn.CrossEntropyCriterion(0.1), rng.normal(size=(6, 4)),
                               rng.integers(0, 2, 6))  # fmt: skip
    assert max(errors.values()) < TOL, errors


def test_forward_equation_and_init(rng):
    layer = nn.NTPLinear(16, 300, bias_lr_factor=0.1, rng=rng)
    assert abs(layer.weight.std() - 1) < 0.02  # stored N(0, 1)
    assert_array_equal(layer.bias, 0)
    layer.bias[:] = rng.normal(size=300)
    x = rng.normal(size=(7, 16))
    assert_allclose(layer.forward(x), x @ layer.weight.T / 4 + 0.1 * layer.bias)
    assert_allclose(layer.infer(x), layer.forward(x))
    assert layer.penalized() == [True, False]
    assert nn.NTPLinear(3, 2, bias=False).penalized() == [True]


def test_adam_step_of_the_effective_parameters(rng):
    # Adam moves stored parameters by ~lr: the effective weight moves lr / sqrt(n_in),
    # the effective bias lr * bias_lr_factor
    layer = nn.NTPLinear(25, 2, bias_lr_factor=0.1, rng=rng)
    flat_p, flat_g = layer.get_parameters()
    w0, b0 = layer.weight.copy() / 5, 0.1 * layer.bias.copy()
    opt = nn.Adam([flat_p], learning_rate_init=0.01)
    x, y = rng.normal(size=(8, 25)), rng.normal(size=(8, 2))
    crit = nn.MSECriterion()
    layer.zero_grad_parameters()
    layer.backward(x, crit.backward(layer.forward(x), y))
    opt.step([flat_p], [flat_g])
    assert_allclose(np.abs(layer.weight / 5 - w0), 0.01 / 5, rtol=1e-3)
    assert_allclose(np.abs(0.1 * layer.bias - b0), 0.01 * 0.1, rtol=1e-3)


def test_data_init_is_realmlps_std_and_he5(rng):
    x = rng.normal(2.0, 3.0, size=(200, 6))
    layer = nn.NTPLinear(6, 40, bias_lr_factor=0.1).data_init(x, np.random.default_rng(1))
    z = x @ layer.weight.T / np.sqrt(6)
    assert_allclose(z.std(axis=0), 1.0, rtol=1e-10)  # 'std': unit variance on the data
    b = 0.1 * layer.bias
    # 'he+5': minus a convex combination of 5 of the unit's pre-activations, so the
    # unit's kink lies inside the range of its data
    assert np.all(-b >= z.min(axis=0)) and np.all(-b <= z.max(axis=0))
    again = nn.NTPLinear(6, 40, bias_lr_factor=0.1).data_init(x, np.random.default_rng(1))
    assert_array_equal(again.weight, layer.weight)
    assert_array_equal(again.bias, layer.bias)
    constant = nn.NTPLinear(2, 3).data_init(np.ones((5, 2)), rng)  # zero variance: no NaN
    assert np.all(np.isfinite(constant.weight))


def test_float32_sparse_pickle_and_repr(rng):
    layer = nn.NTPLinear(4, 3, rng=rng).astype(np.float32)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert layer.backward(x, np.ones_like(y)).dtype == np.float32
    assert layer.grad_weight.dtype == np.float32
    dense = nn.NTPLinear(4, 3, rng=np.random.default_rng(0))
    xs = sp.random(5, 4, density=0.5, random_state=0, format="csr")
    assert_allclose(dense.forward(xs), dense.forward(xs.toarray()))
    dense.zero_grad_parameters()
    dense.backward(xs, np.ones((5, 3)))
    gw = dense.grad_weight.copy()
    dense.zero_grad_parameters()
    dense.backward(xs.toarray(), np.ones((5, 3)))
    assert_allclose(gw, dense.grad_weight)
    clone = pickle.loads(pickle.dumps(dense))
    assert_allclose(clone.forward(xs.toarray()), dense.forward(xs.toarray()))
    assert repr(nn.NTPLinear(4, 3)) == "nn.NTPLinear(4 -> 3)"
    assert repr(nn.NTPLinear(4, 3, bias=False, bias_lr_factor=0.1)) == (
        "nn.NTPLinear(4 -> 3, no bias, bias_lr_factor=0.1)"
    )
    with pytest.raises(ValueError, match="bias_lr_factor"):
        nn.NTPLinear(4, 3, bias_lr_factor=0.0)
