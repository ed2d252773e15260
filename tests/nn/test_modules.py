"""Tests of the engine: every module and criterion checked against finite
differences (the lecture's back-propagation equations proven numerically, as
Torch7's ``nn.Jacobian`` did), plus the module contract that ``nn/module.py``
documents (forward/backward, accumulated gradients, parameters, modes, dtypes).

Convolution, pooling and their layout code are tested in ``test_nn_conv.py``,
``test_nn_pooling.py`` and ``test_nn_im2col.py``; batch norm, the robust
criteria, ``L1Penalty`` and the newer optimizers in their own ``test_nn_*`` /
``test_optim_more.py`` files.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6
SHAPES = [(1, 3), (4, 5), (7, 2)]  # (n_samples, n_features)


def _away_from_zero(rng, shape, low=0.2, high=2.0):
    """Random values with ``|x| >= low``: no input sits on a ReLU/Abs kink."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


class _FixedRNG:
    """Stands in for a Generator and hands out the same draws on every call,
    so a train-mode Dropout/GaussianNoise is a fixed (differentiable) function."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape, dtype=np.float64):
        return np.random.default_rng(self.seed).random(shape, dtype=dtype)

    def standard_normal(self, shape, dtype=np.float64):
        return np.random.default_rng(self.seed).standard_normal(shape, dtype=dtype)


def _prelu_per_unit(rng, d):
    m = nn.PReLU(d)
    m.weight[:] = rng.uniform(0.05, 0.5, d)
    return m


# name -> factory(rng, d) returning (module, per-sample input shape)
MODULES = {
    "Linear": lambda rng, d: (nn.Linear(d, 3, rng=rng), (d,)),
    "Linear-nobias": lambda rng, d: (nn.Linear(d, 4, bias=False, rng=rng), (d,)),
    "Identity": lambda rng, d: (nn.Identity(), (d,)),
    "Sigmoid": lambda rng, d: (nn.Sigmoid(), (d,)),
    "Tanh": lambda rng, d: (nn.Tanh(), (d,)),
    "ReLU": lambda rng, d: (nn.ReLU(), (d,)),
    "LeakyReLU": lambda rng, d: (nn.LeakyReLU(0.1), (d,)),
    "PReLU-shared": lambda rng, d: (nn.PReLU(init=0.3), (d,)),
    "PReLU-per-unit": lambda rng, d: (_prelu_per_unit(rng, d), (d,)),
    "Abs": lambda rng, d: (nn.Abs(), (d,)),
    "Exp": lambda rng, d: (nn.Exp(), (d,)),
    "Softmax": lambda rng, d: (nn.Softmax(), (d,)),
    "LogSoftmax": lambda rng, d: (nn.LogSoftmax(), (d,)),
    "Dropout-eval": lambda rng, d: (nn.Dropout(0.5).eval(), (d,)),
    "Dropout-train-fixed-mask": lambda rng, d: (nn.Dropout(0.3).set_rng(_FixedRNG(3)), (d,)),
    "GaussianNoise-eval": lambda rng, d: (nn.GaussianNoise(0.5).eval(), (d,)),
    "GaussianNoise-train-fixed": lambda rng, d: (
        nn.GaussianNoise(0.5).set_rng(_FixedRNG(4)),
        (d,),
    ),
    "Flatten": lambda rng, d: (nn.Flatten(), (d, 2)),
    "Reshape": lambda rng, d: (nn.Reshape(2, d), (2 * d,)),
}

# name -> (criterion factory, output head factory, target(rng, n, k), classification?)
CRITERIA = {
    "MSE": (nn.MSECriterion, nn.Identity, lambda rng, n, k: rng.normal(size=(n, k)), False),
    "MSE-average_outputs": (
        lambda: nn.MSECriterion(average_outputs=True),
        nn.Identity,
        lambda rng, n, k: rng.normal(size=(n, k)),
        False,
    ),
    "ClassNLL-int": (
        nn.ClassNLLCriterion,
        nn.LogSoftmax,
        lambda rng, n, k: rng.integers(0, k, n),
        True,
    ),
    "ClassNLL-onehot": (
        nn.ClassNLLCriterion,
        nn.LogSoftmax,
        lambda rng, n, k: np.eye(k)[rng.integers(0, k, n)],
        True,
    ),
    "CrossEntropy-int": (
        nn.CrossEntropyCriterion,
        nn.Identity,
        lambda rng, n, k: rng.integers(0, k, n),
        True,
    ),
    "CrossEntropy-onehot": (
        nn.CrossEntropyCriterion,
        nn.Identity,
        lambda rng, n, k: np.eye(k)[rng.integers(0, k, n)],
        True,
    ),
    "BCE": (nn.BCECriterion, nn.Sigmoid, lambda rng, n, k: rng.uniform(0, 1, (n, k)), False),
    "BCEWithLogits": (
        nn.BCEWithLogitsCriterion,
        nn.Identity,
        lambda rng, n, k: rng.integers(0, 2, (n, k)).astype(float),
        False,
    ),
    "PoissonNLL-log_input": (
        lambda: nn.PoissonNLLCriterion(log_input=True),
        nn.Identity,
        lambda rng, n, k: rng.poisson(1.5, (n, k)).astype(float),
        False,
    ),
    "PoissonNLL-rate": (
        lambda: nn.PoissonNLLCriterion(log_input=False),
        nn.Exp,
        lambda rng, n, k: rng.poisson(1.5, (n, k)).astype(float),
        False,
    ),
}
CRITERION_SHAPES = [(1, 3, 2), (5, 4, 3), (8, 2, 1)]  # (n_samples, n_features, n_outputs)
CRITERION_CASES = [
    pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
    for name, (_, _, _, classification) in CRITERIA.items()
    for shape in CRITERION_SHAPES
    if not (classification and shape[2] < 2)
]


def _assert_gradcheck(errors, module):
    assert set(errors) == {"input"} | {f"param{i}" for i in range(len(module.parameters()[0]))}
    assert max(errors.values()) < TOL, errors


# -- finite-difference gradient checks ------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", MODULES)
def test_module_gradient_check(name, shape, weighted):
    rng = np.random.default_rng(42)
    n, d = shape
    module, sample_shape = MODULES[name](rng, d)
    x = _away_from_zero(rng, (n,) + sample_shape)
    out = module.forward(x.copy())
    target = rng.normal(size=out.shape)
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    errors = nn.gradient_check(module, nn.MSECriterion(), x, target, sample_weight=sw)
    _assert_gradcheck(errors, module)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("name, shape", CRITERION_CASES)
def test_criterion_gradient_check(name, shape, weighted):
    # Linear -> head -> criterion: checks dL/dx and dL/dW, dL/db through the criterion
    rng = np.random.default_rng(7)
    make_criterion, make_head, make_target, _ = CRITERIA[name]
    n, d, k = shape
    module = nn.Sequential(nn.Linear(d, k, rng=rng), make_head())
    x = rng.normal(size=(n, d))
    target = make_target(rng, n, k)
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    errors = nn.gradient_check(module, make_criterion(), x, target, sample_weight=sw)
    _assert_gradcheck(errors, module)


@pytest.mark.parametrize("name, shape", CRITERION_CASES)
def test_criterion_gradient_check_on_raw_output(name, shape):
    # the criterion alone (an Identity module): dL/d(output) against finite differences
    rng = np.random.default_rng(8)
    make_criterion, make_head, make_target, _ = CRITERIA[name]
    n, _, k = shape
    head = make_head()
    output = head.forward(rng.normal(size=(n, k)))
    if isinstance(head, nn.Sigmoid):
        output = np.clip(output, 0.05, 0.95)
    errors = nn.gradient_check(nn.Identity(), make_criterion(), output, make_target(rng, n, k))
    assert errors["input"] < TOL, errors


def test_whole_network_gradient_check():
    rng = np.random.default_rng(1)
    model = nn.Sequential(
        nn.Linear(4, 6, rng=rng),
        nn.Tanh(),
        nn.Linear(6, 5, rng=rng),
        nn.PReLU(5),
        nn.Dropout(0.4).set_rng(_FixedRNG(0)),
        nn.Linear(5, 3, rng=rng),
        nn.LogSoftmax(),
    )
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    sw = rng.uniform(0.5, 2.0, 6)
    errors = nn.gradient_check(model, nn.ClassNLLCriterion(), x, y, sample_weight=sw)
    _assert_gradcheck(errors, model)


# -- dtypes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(MODULES) + ["Dropout-train", "GaussianNoise-train"])
def test_module_keeps_dtype(name, dtype):
    rng = np.random.default_rng(0)
    if name == "Dropout-train":
        module, sample_shape = nn.Dropout(0.5, rng=rng), (4,)
    elif name == "GaussianNoise-train":
        module, sample_shape = nn.GaussianNoise(0.5, rng=rng), (4,)
    else:
        module, sample_shape = MODULES[name](rng, 4)
    module.astype(dtype)
    x = _away_from_zero(rng, (5,) + sample_shape).astype(dtype)
    out = module.forward(x)
    assert out.dtype == dtype
    grad_in = module.backward(x, rng.normal(size=out.shape).astype(dtype))
    assert grad_in.dtype == dtype
    assert module.infer(x).dtype == dtype
    params, grads = module.parameters()
    assert all(p.dtype == dtype for p in params)
    assert all(g.dtype == dtype for g in grads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_dtype_argument(dtype):
    layer = nn.Linear(3, 2, dtype=dtype)
    assert layer.weight.dtype == layer.bias.dtype == dtype
    assert layer.grad_weight.dtype == layer.grad_bias.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, target_dtype",
    [
        pytest.param(name, t, id=f"{name}-target_{np.dtype(t).name}")
        for name in CRITERIA
        for t in (np.float32, np.float64, np.int64)
        # integer targets are class indices, or 0/1 labels / counts
        if t != np.int64 or name.endswith("-int") or "Logits" in name or "Poisson" in name
    ],
)
def test_criterion_keeps_dtype(name, target_dtype, dtype):
    # the gradient takes the dtype of the output whatever the targets' dtype
    rng = np.random.default_rng(0)
    make_criterion, make_head, make_target, _ = CRITERIA[name]
    output = make_head().forward(rng.normal(size=(6, 3))).astype(dtype)
    target = make_target(rng, 6, 3).astype(target_dtype)
    criterion = make_criterion()
    loss, grad = criterion.forward_backward(output, target)
    assert isinstance(loss, float)
    assert grad.dtype == dtype
    assert criterion.backward(output, target).dtype == dtype
    assert_allclose(criterion.forward(output, target), loss, rtol=1e-6)


# -- in-place activations -------------------------------------------------------------------------
INPLACE = {
    "Identity": lambda inplace: nn.Identity(inplace=inplace),
    "Sigmoid": lambda inplace: nn.Sigmoid(inplace=inplace),
    "Tanh": lambda inplace: nn.Tanh(inplace=inplace),
    "ReLU": lambda inplace: nn.ReLU(inplace=inplace),
    "LeakyReLU": lambda inplace: nn.LeakyReLU(0.2, inplace=inplace),
    "Exp": lambda inplace: nn.Exp(inplace=inplace),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_activation_same_values(name, rng):
    x = _away_from_zero(rng, (6, 4))
    g = rng.normal(size=(6, 4))
    ref = INPLACE[name](False)
    out_ref = ref.forward(x.copy())
    gin_ref = ref.backward(x, g.copy())

    mod = INPLACE[name](True)
    xi = x.copy()
    out = mod.forward(xi)
    assert np.shares_memory(out, xi)  # really in place
    gi = g.copy()
    gin = mod.backward(xi, gi)
    assert_allclose(out, out_ref)
    assert_allclose(gin, gin_ref)
    assert_allclose(mod.infer(x.copy(), owned=True), out_ref)


def test_inplace_network_same_gradients(rng):
    def build(inplace):
        r = np.random.default_rng(3)
        return nn.Sequential(
            nn.Linear(4, 5, rng=r),
            nn.ReLU(inplace=inplace),
            nn.Linear(5, 5, rng=r),
            nn.Tanh(inplace=inplace),
            nn.Linear(5, 2, rng=r),
            nn.Sigmoid(inplace=inplace),
        )

    x, y = rng.normal(size=(8, 4)), rng.uniform(size=(8, 2))
    results = []
    for inplace in (False, True):
        model, crit = build(inplace), nn.BCECriterion()
        out = model.forward(x).copy()
        gin = model.backward(x, crit.backward(model.output, y)).copy()
        results.append((out, gin, [g.copy() for g in model.parameters()[1]]))
    (o0, gi0, g0), (o1, gi1, g1) = results
    assert_allclose(o1, o0)
    assert_allclose(gi1, gi0)
    for a, b in zip(g1, g0):
        assert_allclose(a, b)


# -- infer ----------------------------------------------------------------------------------------
def _snapshot(module):
    mods = [module] + (list(module.modules) if isinstance(module, nn.Sequential) else [])
    snap = []
    for m in mods:
        state = {}
        for key, value in vars(m).items():
            if isinstance(value, np.ndarray):
                state[key] = (id(value), value.copy())
            elif isinstance(value, np.random.Generator):
                state[key] = (id(value), value.bit_generator.state)
            else:
                state[key] = (id(value), None)
        snap.append(state)
    return snap


def _assert_same_snapshot(before, after):
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert b.keys() == a.keys()
        for key in b:
            assert a[key][0] == b[key][0], key  # same object
            if isinstance(b[key][1], np.ndarray):
                assert_array_equal(a[key][1], b[key][1])
            else:
                assert a[key][1] == b[key][1], key


def _infer_network(rng, d):
    return nn.Sequential(
        nn.Linear(d, 6, rng=rng),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5).set_rng(np.random.default_rng(1)),
        nn.Linear(6, 4, rng=rng),
        nn.Tanh(),
        nn.GaussianNoise(0.3).set_rng(np.random.default_rng(2)),
        nn.Reshape(2, 2),
        nn.Flatten(),
        nn.LogSoftmax(),
    ), (d,)


@pytest.mark.parametrize("name", list(MODULES) + ["Sequential"])
def test_infer_is_eval_forward_and_stateless(name):
    rng = np.random.default_rng(5)
    if name == "Sequential":
        module, sample_shape = _infer_network(rng, 3)
    else:
        module, sample_shape = MODULES[name](rng, 3)
    module.train()
    x = _away_from_zero(rng, (5,) + sample_shape)
    x_before = x.copy()
    module.forward(x.copy())  # populate the caches infer must leave alone
    before = _snapshot(module)
    y = module.infer(x)
    y_owned = module.infer(x.copy(), owned=True)
    _assert_same_snapshot(before, _snapshot(module))
    assert_array_equal(x, x_before)
    y = np.array(y)
    module.eval()
    expected = module.forward(x.copy())
    assert_allclose(y, expected)
    assert_allclose(y_owned, expected)


# -- the module contract --------------------------------------------------------------------------
def _mlp(rng):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 5, rng=rng),
        nn.Tanh(),
        nn.Linear(5, 4, rng=rng),
        nn.PReLU(4),
        nn.Linear(4, 3, bias=False, rng=rng),
    )


def test_need_input_grad_false_same_parameter_gradients(rng):
    model = _mlp(rng)
    x, y = rng.normal(size=(7, 2, 3)), rng.normal(size=(7, 3))
    crit = nn.MSECriterion()
    model.zero_grad_parameters()
    model.backward(x, crit.backward(model.forward(x), y))
    expected = [g.copy() for g in model.parameters()[1]]

    model.zero_grad_parameters()
    out = model.backward(x, crit.backward(model.forward(x), y), need_input_grad=False)
    assert out is None
    for g, e in zip(model.parameters()[1], expected):
        assert_allclose(g, e)


def test_gradients_accumulate_until_zeroed(rng):
    model = _mlp(rng)
    x, y = rng.normal(size=(7, 2, 3)), rng.normal(size=(7, 3))
    crit = nn.MSECriterion()
    model.zero_grad_parameters()
    out = model.forward(x)
    g_out = crit.backward(out, y)
    model.backward(x, g_out)
    once = [g.copy() for g in model.parameters()[1]]
    assert all(np.any(g != 0) for g in once)

    model.backward(x, g_out)
    for g, g1 in zip(model.parameters()[1], once):
        assert_allclose(g, 2 * g1)

    model.zero_grad_parameters()
    assert all(not np.any(g) for g in model.parameters()[1])

    model.backward(x, g_out, scale=0.5)
    for g, g1 in zip(model.parameters()[1], once):
        assert_allclose(g, 0.5 * g1)


def test_parameters_returns_same_objects(rng):
    model = _mlp(rng)
    p1, g1 = model.parameters()
    p2, g2 = model.parameters()
    assert len(p1) == len(g1) == 6  # W, b, W, b, PReLU slope, W (no bias)
    assert all(a is b for a, b in zip(p1, p2))
    assert all(a is b for a, b in zip(g1, g2))
    assert model.penalized() == [True, False, True, False, False, True]


def test_get_parameters_flat_views(rng):
    model = _mlp(rng)
    x, y = rng.normal(size=(7, 2, 3)), rng.normal(size=(7, 3))
    before = [p.copy() for p in model.parameters()[0]]
    out_before = model.forward(x).copy()

    flat_p, flat_g = model.get_parameters()
    params, grads = model.parameters()
    assert flat_p.shape == flat_g.shape == (sum(p.size for p in before),)
    assert_array_equal(flat_p, np.concatenate([p.ravel() for p in before]))
    for p, g, b in zip(params, grads, before):
        assert np.shares_memory(p, flat_p)
        assert np.shares_memory(g, flat_g)
        assert_array_equal(p, b)
    assert_allclose(model.forward(x), out_before)
    assert all(a is b for a, b in zip(params, model.parameters()[0]))

    # writing the flat vector changes the module's arrays
    flat_p += 1.0
    assert_allclose(model[1].weight, before[0] + 1.0)
    flat_p[0] = 42.0
    assert model[1].weight[0, 0] == 42.0

    # backward accumulates into the flat gradient vector
    model.zero_grad_parameters()
    model.backward(x, nn.MSECriterion().backward(model.forward(x), y))
    assert np.any(flat_g != 0)
    assert_array_equal(flat_g, np.concatenate([g.ravel() for g in model.parameters()[1]]))


def test_get_parameters_keeps_float32(rng):
    model = _mlp(rng).astype(np.float32)
    flat_p, flat_g = model.get_parameters()
    assert flat_p.dtype == flat_g.dtype == np.float32


def test_train_eval_recursive():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model = nn.Sequential(nn.Dropout(0.2), inner, nn.GaussianNoise(0.1))

    def modes(m):
        out = [m.training]
        for sub in getattr(m, "modules", []):
            out += modes(sub)
        return out

    assert all(modes(model))
    assert model.eval() is model
    assert not any(modes(model))
    model.train()
    assert all(modes(model))
    model.train(False)
    assert not any(modes(model))


# -- Dropout --------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_train_mode_statistics(p):
    drop = nn.Dropout(p, rng=np.random.default_rng(0))
    x = np.ones((400, 250))
    out = drop.forward(x)
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.01
    assert_allclose(out[~dropped], 1.0 / (1.0 - p))
    # backward uses the same mask
    g = drop.backward(x, np.ones_like(x))
    assert_array_equal(g, out)


def test_dropout_eval_is_identity(rng):
    drop = nn.Dropout(0.5, rng=rng).eval()
    x = rng.normal(size=(5, 4))
    assert_array_equal(drop.forward(x), x)
    g = rng.normal(size=(5, 4))
    assert_array_equal(drop.backward(x, g), g)
    assert drop.mask is None


def test_dropout_same_seed_same_mask():
    x = np.ones((20, 30))
    a = nn.Dropout(0.5).set_rng(np.random.default_rng(123)).forward(x)
    b = nn.Dropout(0.5).set_rng(np.random.default_rng(123)).forward(x)
    c = nn.Dropout(0.5).set_rng(np.random.default_rng(124)).forward(x)
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.fixture
def global_seed():
    """Seed the legacy global ``np.random`` state; restore it afterwards."""
    saved = np.random.get_state()  # noqa: NPY002
    yield lambda seed: np.random.seed(seed)  # noqa: NPY002
    np.random.set_state(saved)  # noqa: NPY002


def test_dropout_ignores_global_random_state(global_seed):
    x = np.ones((20, 30))
    masks = []
    for seed in (0, 1):
        global_seed(seed)
        masks.append(nn.Dropout(0.5).set_rng(np.random.default_rng(7)).forward(x).copy())
        global_seed(seed)
        masks.append(nn.Dropout(0.5).forward(x).copy())  # no generator given: seeded, not global
        global_seed(seed)
        model = nn.Sequential(nn.Linear(30, 30), nn.Dropout(0.5))
        model.set_rng(np.random.default_rng(7))
        model.forward(x)
        masks.append(model[1].mask.copy())
    assert_array_equal(masks[0], masks[3])
    assert_array_equal(masks[1], masks[4])
    assert_array_equal(masks[2], masks[5])


def test_gaussian_noise(rng):
    noise = nn.GaussianNoise(0.5, rng=np.random.default_rng(0))
    x = np.zeros((500, 100))
    out = noise.forward(x)
    assert abs(out.std() - 0.5) < 0.01
    assert_array_equal(noise.eval().forward(x), x)


# -- printing -------------------------------------------------------------------------------------
def test_repr():
    assert repr(nn.Linear(3, 4)) == "nn.Linear(3 -> 4)"
    assert repr(nn.Sigmoid()) == "nn.Sigmoid"
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid())
    assert repr(model) == (
        "nn.Sequential {\n"
        "  [input -> (1) -> (2) -> (3) -> (4) -> output]\n"
        "  (1): nn.Linear(3 -> 4)\n"
        "  (2): nn.Sigmoid\n"
        "  (3): nn.Linear(4 -> 2)\n"
        "  (4): nn.Sigmoid\n"
        "}"
    )


@pytest.mark.parametrize(
    "module",
    [nn.Linear(3, 4, bias=False), nn.LeakyReLU(), nn.PReLU(3), nn.Dropout(), nn.Reshape(2, 3)],
    ids=lambda m: type(m).__name__,
)
def test_every_repr_is_one_line(module):
    text = repr(module)
    assert text.startswith(f"nn.{type(module).__name__}")
    assert "\n" not in text


def _parse_describe(text):
    """``{module index: {field: size}}`` from ``Sequential.describe()``."""
    blocks, current = {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and stripped[:-1].strip().isdigit():
            current = blocks.setdefault(int(stripped[:-1]), {})
        elif current is not None and " - size: " in stripped:
            field = stripped.split(":")[0].strip()
            current[field] = stripped.split(" - size: ")[1]
    return blocks


def test_lecture_torch_example():
    # the lecture's listing: model:forward, criterion:forward/backward, model:backward
    model = nn.Sequential()
    model.add(nn.Linear(3, 4))
    model.add(nn.Sigmoid())
    model.add(nn.Linear(4, 2))
    model.add(nn.Sigmoid())
    criterion = nn.MSECriterion()
    randn = np.random.default_rng(0).standard_normal
    inputs = randn((500, 3))
    targets = randn((500, 2))

    before = _parse_describe(model.describe())
    assert before[1]["weight"] == "4x3" and before[1]["output"] == "empty"
    assert before[2] == {"grad_input": "empty", "output": "empty"}

    model.forward(inputs)
    loss = criterion.forward(model.output, targets)
    deriv = criterion.backward(model.output, targets)
    grad = model.backward(inputs, deriv)
    assert np.isfinite(loss) and loss > 0
    assert grad.shape == (500, 3)

    after = _parse_describe(model.describe())
    assert after[1] == {
        "weight": "4x3",
        "grad_weight": "4x3",
        "bias": "4",
        "grad_bias": "4",
        "grad_input": "500x3",
        "output": "500x4",
    }
    assert after[2] == {"grad_input": "500x4", "output": "500x4"}
    assert after[3]["weight"] == "2x4" and after[3]["grad_weight"] == "2x4"
    assert after[3]["bias"] == "2" and after[3]["output"] == "500x2"
    assert after[4] == {"grad_input": "500x2", "output": "500x2"}


# -- Linear: the lecture's equations --------------------------------------------------------------
def test_linear_weight_layout_and_explicit_formulas(rng):
    layer = nn.Linear(3, 4, rng=rng)
    assert layer.weight.shape == (4, 3)  # (n_out, n_in): row j = incoming weights of unit j
    assert layer.bias.shape == (4,)
    a = rng.normal(size=(6, 3))
    delta = rng.normal(size=(6, 4))
    z = layer.forward(a)
    for i in range(6):  # z^l = W^l a^{l-1} + b^l, one sample (column vector) at a time
        assert_allclose(z[i], layer.weight @ a[i] + layer.bias)
    grad_a = layer.backward(a, delta)
    # dL/dW = sum_i delta_i (a_i)^T, dL/db = sum_i delta_i, dL/da_i = W^T delta_i
    expected_gw = sum(np.outer(delta[i], a[i]) for i in range(6))
    assert_allclose(layer.grad_weight, expected_gw)
    assert_allclose(layer.grad_weight, delta.T @ a)
    assert_allclose(layer.grad_bias, delta.sum(axis=0))
    for i in range(6):
        assert_allclose(grad_a[i], layer.weight.T @ delta[i])


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array"])
def test_linear_sparse_input_matches_dense(fmt, rng):
    dense = sp.random(8, 5, density=0.4, format="csr", random_state=0).toarray()
    x = getattr(sp, fmt)(dense)
    g = rng.normal(size=(8, 3))
    ref = nn.Linear(5, 3, rng=np.random.default_rng(1))
    out_ref = ref.forward(dense).copy()
    ref.backward(dense, g)
    layer = nn.Linear(5, 3, rng=np.random.default_rng(1))
    out = layer.forward(x)
    assert isinstance(out, np.ndarray)
    assert_allclose(out, out_ref)
    assert_allclose(layer.infer(x), out_ref)
    layer.acc_grad_parameters(x, g)
    assert_allclose(layer.grad_weight, ref.grad_weight)
    assert_allclose(layer.grad_bias, ref.grad_bias)


@pytest.mark.parametrize("weighted", [False, True])
def test_logsoftmax_classnll_delta_is_p_minus_y(weighted, rng):
    # the lecture's output layer: delta^L = p - y (averaged over the batch)
    z, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    w = rng.uniform(0.5, 2.0, 6) if weighted else np.ones(6)
    lsm, nll = nn.LogSoftmax(), nn.ClassNLLCriterion()
    a = lsm.forward(z)
    dl_da = nll.backward(a, y, sample_weight=w if weighted else None)
    onehot = np.eye(4)[y]
    assert_allclose(dl_da, -onehot * w[:, None] / w.sum())  # -1 at the target class
    delta = lsm.backward(z, dl_da)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = (p - onehot) * w[:, None] / w.sum()
    assert_allclose(delta, expected)
    ce, sw = nn.CrossEntropyCriterion(), (w if weighted else None)
    assert_allclose(ce.backward(z, y, sample_weight=sw), expected)
    assert_allclose(ce.forward(z, y, sw), nll.forward(a, y, sw))


# -- argument checks ------------------------------------------------------------------------------
BAD_ARGS = {
    "Linear-n_in": (lambda: nn.Linear(-1, 3), "n_in"),
    "Linear-n_in-float": (lambda: nn.Linear(2.5, 3), "n_in"),
    "Linear-n_out": (lambda: nn.Linear(3, 0), "n_out"),
    "Dropout-1": (lambda: nn.Dropout(1.0), "p"),
    "Dropout-neg": (lambda: nn.Dropout(-0.1), "p"),
    "LeakyReLU": (lambda: nn.LeakyReLU(2), "negative_slope"),
    "Reshape": (lambda: nn.Reshape(0), "shape"),
    "GaussianNoise": (lambda: nn.GaussianNoise(-1.0), "sigma"),
    "PReLU": (lambda: nn.PReLU(0), "n_parameters"),
    "SGD-momentum": (lambda: nn.SGD([np.zeros(3)], momentum=2), "momentum"),
    "Adam-beta_1": (lambda: nn.Adam([np.zeros(3)], beta_1=1), "beta_1"),
    "Adam-beta_2": (lambda: nn.Adam([np.zeros(3)], beta_2=1.5), "beta_2"),
    "SGD-learning_rate_init": (
        lambda: nn.SGD([np.zeros(3)], learning_rate_init=0),
        "learning_rate_init",
    ),
}


@pytest.mark.parametrize("name", BAD_ARGS)
def test_bad_constructor_arguments(name):
    make, argname = BAD_ARGS[name]
    with pytest.raises(ValueError, match=argname):
        make()


@pytest.mark.parametrize("bad", ["relu", nn.MSECriterion(), None])
def test_sequential_add_rejects_non_modules(bad):
    with pytest.raises(ValueError, match="module"):
        nn.Sequential().add(bad)


# -- training with the engine alone ---------------------------------------------------------------
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


@pytest.mark.parametrize(
    "loss, solver",
    [("mse", "adam"), ("bce", "adam"), ("bce", "sgd"), ("mse", "sgd")],
)
def test_xor_reaches_zero_error(loss, solver):
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng), nn.Sigmoid()
    )
    crit = nn.MSECriterion() if loss == "mse" else nn.BCECriterion()
    params, grads = model.parameters()
    if solver == "adam":
        opt = nn.Adam(params, learning_rate_init=0.05)
    else:
        opt = nn.SGD(params, learning_rate_init=0.5, momentum=0.9)
    for _ in range(1500):
        model.zero_grad_parameters()
        out = model.forward(XOR_X)
        model.backward(XOR_X, crit.backward(out, XOR_Y), need_input_grad=False)
        opt.step(params, grads)
    pred = (model.infer(XOR_X) > 0.5).astype(float)
    assert_array_equal(pred, XOR_Y)


def test_softmax_of_integer_scores_is_a_float_distribution():
    x = np.array([[1, 2, 3], [0, 0, 0]])
    for p in (nn.Softmax().forward(x), nn.Softmax().infer(x, owned=True)):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_allclose(p[1], 1 / 3)
    np.testing.assert_array_equal(x, [[1, 2, 3], [0, 0, 0]])


def test_infer_never_overwrites_the_input_through_a_nested_view(rng):
    """A nested Sequential that only reshapes returns a view: the module after it
    must not treat that view as a scratch array it owns."""
    x = rng.standard_normal((4, 3))
    x0 = x.copy()
    for net in (
        nn.Sequential(nn.Sequential(nn.Flatten()), nn.Softmax()),
        nn.Sequential(nn.Sequential(nn.Flatten(), nn.Identity()), nn.ReLU()),
    ):
        out = net.infer(x)
        np.testing.assert_array_equal(x, x0)
        assert not np.shares_memory(out, x)
    assert nn.Sequential(nn.Flatten()).returns_view
    assert not nn.Sequential(nn.Linear(3, 2), nn.Flatten()).returns_view
