"""``GELU`` (exact and tanh), ``SiLU``, ``Mish`` and ``SELU``: values against PyTorch's
documented formulas (PyTorch itself is not a test dependency), gradient checks,
dtypes, in-place use and printing."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknn_backprop import nn

TOL = 1e-6
X = np.array([-30.0, -3.0, -1.0, -0.5, 0.25, 1.0, 2.5, 30.0])

# PyTorch's documented definitions, written with the standard library only
_SQ = math.sqrt(2 / math.pi)
_ALPHA, _LAMBDA = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
REFERENCE = {
    "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + math.tanh(_SQ * (x + 0.044715 * x**3))),
    "silu": lambda x: x / (1 + math.exp(-x)),
    "mish": lambda x: x * math.tanh(math.log1p(math.exp(x))),
    "selu": lambda x: _LAMBDA * (x if x > 0 else _ALPHA * (math.exp(x) - 1)),
}
MODULES = {
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "selu": nn.SELU,
}


@pytest.mark.parametrize("name", list(MODULES))
def test_values_match_pytorch_formulas(name):
    ref = np.array([REFERENCE[name](v) for v in X])
    assert_allclose(MODULES[name]().forward(X), ref, rtol=1e-12, atol=1e-15)


def test_known_values():
    # textbook values: GELU(1) = Phi(1), SiLU(1) = sigmoid(1), SELU(-1) = lambda alpha (1/e - 1)
    assert_allclose(nn.GELU().forward(np.array([1.0])), [0.8413447460685429], rtol=1e-14)
    assert_allclose(nn.SiLU().forward(np.array([1.0])), [0.7310585786300049], rtol=1e-14)
    assert_allclose(nn.Mish().forward(np.array([1.0])), [0.8650983882673103], rtol=1e-14)
    assert_allclose(nn.SELU().forward(np.array([-1.0])), [-1.1113307378125625], rtol=1e-14)


@pytest.mark.parametrize("name", list(MODULES))
def test_gradient_check(name, rng):
    x = rng.choice([-1.0, 1.0], size=(5, 4)) * rng.uniform(0.1, 3.0, size=(5, 4))
    errors = nn.gradient_check(MODULES[name](), nn.MSECriterion(), x, rng.normal(size=(5, 4)))
    assert errors["input"] < TOL, errors


@pytest.mark.parametrize("name", list(MODULES))
def test_gradient_check_in_a_network(name, rng):
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), MODULES[name](), nn.Linear(4, 2, rng=rng))
    errors = nn.gradient_check(model, nn.MSECriterion(), rng.normal(size=(6, 3)),
                               rng.normal(size=(6, 2)))  # fmt: skip
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name", list(MODULES))
def test_derivative_against_central_differences_far_out(name):
    # the tails (|z| = 30) must not overflow or lose the derivative
    m = MODULES[name]()
    x = X.copy()
    m.forward(x)
    d = m.backward(x, np.ones_like(x))
    h = 1e-6
    numeric = (MODULES[name]().forward(x + h) - MODULES[name]().forward(x - h)) / (2 * h)
    assert_allclose(d, numeric, rtol=1e-6, atol=1e-8)
    assert np.all(np.isfinite(d))


@pytest.mark.parametrize("name", list(MODULES))
def test_float32_in_float32_out(name, rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    m = MODULES[name]()
    y = m.forward(x)
    assert y.dtype == np.float32
    assert m.backward(x, np.ones_like(x)).dtype == np.float32
    assert m.infer(x).dtype == np.float32
    assert_allclose(y, MODULES[name]().forward(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(MODULES))
def test_infer_owned_overwrites_only_when_allowed(name, rng):
    x = rng.normal(size=(4, 3))
    x0 = x.copy()
    m = MODULES[name]()
    y = m.infer(x)
    assert_allclose(x, x0)
    y_owned = m.infer(x.copy(), owned=True)
    assert_allclose(y_owned, y)
    assert m.output is None  # infer writes nothing on the module


def test_selu_in_place(rng):
    x = rng.normal(size=(5, 3))
    ref = nn.SELU()
    y_ref = ref.forward(x.copy())
    g = rng.normal(size=(5, 3))
    gi_ref = ref.backward(x, g.copy())
    m = nn.SELU(inplace=True)
    x2, g2 = x.copy(), g.copy()
    y = m.forward(x2)
    assert y is x2
    gi = m.backward(x2, g2)
    assert gi is g2
    assert_allclose(y, y_ref)
    assert_allclose(gi, gi_ref)


def test_selu_keeps_unit_variance():
    # the self-normalising property: N(0, 1) in, mean ~0 and variance ~1 out
    z = np.random.default_rng(0).standard_normal(400_000)
    y = nn.SELU().forward(z)
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


def test_input_activations_never_run_in_place():
    for cls in (nn.GELU, nn.SiLU, nn.Mish):
        assert cls().inplace is False
        with pytest.raises(TypeError):
            cls(inplace=True)


def test_repr_and_errors():
    assert repr(nn.GELU()) == "nn.GELU"
    assert repr(nn.GELU(approximate="tanh")) == "nn.GELU(approximate='tanh')"
    assert repr(nn.SiLU()) == "nn.SiLU" and repr(nn.Mish()) == "nn.Mish"
    assert repr(nn.SELU()) == "nn.SELU"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="erf")


# -- RealMLP's parametric activation --------------------------------------------------------------
@pytest.mark.parametrize("act", [nn.SELU, nn.Mish, nn.SiLU, nn.Tanh, nn.Identity])
@pytest.mark.parametrize("lr_factor", [1.0, 0.1])
def test_parametric_activation_gradient_check(act, lr_factor, rng):
    m = nn.ParametricActivation(act(), 4, lr_factor=lr_factor)
    m.weight[:] = rng.uniform(-0.5, 1.5, 4) / lr_factor
    x = rng.choice([-1.0, 1.0], size=(5, 4)) * rng.uniform(0.1, 3.0, size=(5, 4))
    errors = nn.gradient_check(m, nn.MSECriterion(), x, rng.normal(size=(5, 4)))
    assert set(errors) == {"input", "param0"}
    assert max(errors.values()) < TOL, errors
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), m, nn.Linear(4, 2, rng=rng))
    errors = nn.gradient_check(
        model, nn.MSECriterion(), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    )
    assert max(errors.values()) < TOL, errors


def test_parametric_activation_is_pytabkits(rng):
    # ParametricActivationLayer.forward_cont: x + (f(x) - x) * weight, weight = c alpha
    m = nn.ParametricActivation(nn.Mish(), 3, lr_factor=0.1)
    x = rng.normal(size=(5, 3))
    assert_allclose(m.forward(x), nn.Mish().forward(x))  # starts at f itself
    assert_allclose(m.weight, 10.0)
    m.weight[:] = [0.0, 5.0, 10.0]  # c alpha = 0 (identity), 0.5, 1
    f = nn.Mish().forward(x)
    assert_allclose(m.forward(x), x + (f - x) * np.array([0.0, 0.5, 1.0]))
    assert_allclose(m.infer(x), m.forward(x))
    assert m.penalized() == [False]
    m.reset_parameters(rng)
    assert_allclose(m.weight, 10.0)


def test_parametric_activation_contract(rng):
    m = nn.ParametricActivation(nn.SELU(), 3, lr_factor=0.1)
    assert m.modules[0] is m.activation
    assert repr(m) == "nn.ParametricActivation(nn.SELU, 3, lr_factor=0.1)"
    assert repr(nn.ParametricActivation(nn.Mish(), 2)) == "nn.ParametricActivation(nn.Mish, 2)"
    m.eval()
    assert not m.activation.training
    x = rng.normal(size=(4, 3)).astype(np.float32)
    m32 = nn.ParametricActivation(nn.SELU(), 3).astype(np.float32)
    y = m32.forward(x)
    assert y.dtype == np.float32 and m32.weight.dtype == np.float32
    assert m32.backward(x, np.ones_like(y)).dtype == np.float32
    x0 = x.copy()
    m32.infer(x)
    assert_allclose(x, x0)  # infer never overwrites the input
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), m)
    flat_p, _ = model.get_parameters()
    assert m.weight.base is flat_p
    with pytest.raises(ValueError, match="in place"):
        nn.ParametricActivation(nn.SELU(inplace=True), 3)
    with pytest.raises(ValueError, match="without parameters"):
        nn.ParametricActivation(nn.PReLU(), 3)
    with pytest.raises(ValueError, match="3 units"):
        m.forward(np.ones((2, 4)))
