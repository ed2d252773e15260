"""``nn.RMSprop``, ``nn.Adagrad``, ``nn.Adadelta`` and ``nn.AdamW`` against plain,
unblocked reference formulas written here, on vectors longer than one cache block."""

import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn
from sknn_backprop.nn import optim

N = 40_000  # > one block of float64 (16,384) and of float32 (32,768) elements
N_STEPS = 5
SOLVERS = ["RMSprop", "Adagrad", "Adadelta", "AdamW"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=1e-5)}


# -- the plain formulas ---------------------------------------------------------------------------
class RefRMSprop:
    def __init__(self, n, lr=0.001, rho=0.9, eps=1e-8):
        self.lr, self.rho, self.eps, self.v = lr, rho, eps, np.zeros(n)

    def step(self, p, g):
        self.v = self.rho * self.v + (1 - self.rho) * g**2
        return p - self.lr * g / (np.sqrt(self.v) + self.eps)


class RefAdagrad:
    def __init__(self, n, lr=0.01, eps=1e-10, init=0.0):
        self.lr, self.eps, self.s = lr, eps, np.full(n, init)

    def step(self, p, g):
        self.s = self.s + g**2
        return p - self.lr * g / (np.sqrt(self.s) + self.eps)


class RefAdadelta:
    def __init__(self, n, lr=1.0, rho=0.95, eps=1e-6):
        self.lr, self.rho, self.eps = lr, rho, eps
        self.v, self.d = np.zeros(n), np.zeros(n)

    def step(self, p, g):
        self.v = self.rho * self.v + (1 - self.rho) * g**2
        u = g * np.sqrt(self.d + self.eps) / np.sqrt(self.v + self.eps)
        self.d = self.rho * self.d + (1 - self.rho) * u**2
        return p - self.lr * u


class RefAdamW:
    """Decay ``p <- (1 - lr wd) p`` on ``mask``, then scikit-learn's Adam step."""

    def __init__(self, n, lr=0.001, b1=0.9, b2=0.999, eps=1e-8, wd=0.01, mask=None):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, wd
        self.mask = np.ones(n, bool) if mask is None else mask
        self.m, self.v, self.t = np.zeros(n), np.zeros(n), 0

    def step(self, p, g):
        p = np.where(self.mask, p * (1 - self.lr * self.wd), p)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g**2
        lr_t = self.lr * math.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        return p - lr_t * self.m / (np.sqrt(self.v) + self.eps)


CASES = {
    "RMSprop": (
        nn.RMSprop,
        RefRMSprop,
        dict(learning_rate_init=0.01, rho=0.8),
        dict(lr=0.01, rho=0.8),
    ),
    "Adagrad": (
        nn.Adagrad,
        RefAdagrad,
        dict(learning_rate_init=0.05, initial_accumulator_value=0.1),
        dict(lr=0.05, init=0.1),
    ),
    "Adadelta": (nn.Adadelta, RefAdadelta, dict(rho=0.9), dict(rho=0.9)),
    "Adadelta-lr": (nn.Adadelta, RefAdadelta, dict(learning_rate_init=0.5), dict(lr=0.5)),
    "AdamW": (
        nn.AdamW,
        RefAdamW,
        dict(learning_rate_init=0.01, weight_decay=0.1),
        dict(lr=0.01, wd=0.1),
    ),
}


def _make(name, params, **extra):
    cls, _, kwargs, _ = CASES[name]
    return cls(params, **{**kwargs, **extra})


def _ref(name, n, **extra):
    _, ref, _, kwargs = CASES[name]
    return ref(n, **{**kwargs, **extra})


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", CASES)
def test_matches_the_plain_formula_on_several_blocks(name, dtype, rng):
    p = rng.normal(size=N).astype(dtype)
    ref_p = p.astype(np.float64)
    opt, ref = _make(name, [p]), _ref(name, N)
    p_id = id(p)
    for _ in range(N_STEPS):
        g = rng.normal(size=N).astype(dtype)
        opt.step([p], [g])
        ref_p = ref.step(ref_p, g.astype(np.float64))
        assert_allclose(p, ref_p, **TOL[dtype])
    assert id(p) == p_id and p.dtype == dtype  # in place, dtype kept
    state = {
        "RMSprop": lambda: [(opt.square_avgs[0], ref.v)],
        "Adagrad": lambda: [(opt.sums[0], ref.s)],
        "Adadelta": lambda: [(opt.square_avgs[0], ref.v), (opt.delta_avgs[0], ref.d)],
        "AdamW": lambda: [(opt.ms[0], ref.m), (opt.vs[0], ref.v)],
    }[name.split("-")[0]]()
    for ours, theirs in state:
        assert ours.dtype == dtype
        assert_allclose(ours, theirs, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", CASES)
def test_blocked_updates_equal_one_block(name, dtype, rng, monkeypatch):
    """Cache-sized blocks (here 5 elements, so 23 elements take 5 blocks) change nothing."""
    flat = rng.normal(size=23).astype(dtype)
    one, blocked = flat.copy(), flat.copy()
    extra = {"n_decay": 12} if name == "AdamW" else {}
    opt_one, opt_blocked = _make(name, [one], **extra), _make(name, [blocked], **extra)
    grads = [rng.normal(size=23).astype(dtype) for _ in range(N_STEPS)]
    for g in grads:
        opt_one.step([one], [g])
    monkeypatch.setattr(optim, "_BLOCK_BYTES", 5 * np.dtype(dtype).itemsize)
    for g in grads:
        opt_blocked.step([blocked], [g])
    assert_array_equal(blocked, one)


@pytest.mark.parametrize("name", SOLVERS)
def test_decreases_a_quadratic(name, rng):
    curvature = rng.uniform(0.5, 5.0, size=50)
    p = rng.normal(size=50)

    def f(x):
        return 0.5 * float(np.sum(curvature * x * x))

    kwargs = {"RMSprop": {"learning_rate_init": 0.01}, "Adagrad": {"learning_rate_init": 0.5}}
    kwargs.update(Adadelta={"learning_rate_init": 1.0}, AdamW={"learning_rate_init": 0.05})
    opt = getattr(nn, name)([p], **kwargs[name])
    start = f(p)
    for _ in range(300):
        opt.step([p], [curvature * p])
    assert f(p) < 0.1 * start


# -- AdamW's decay mask ---------------------------------------------------------------------------
def test_adamw_n_decay_across_block_boundaries(rng):
    n_decay = 20_000  # the first block (16,384 elements) whole, and part of the second
    p = rng.normal(size=N)
    ref_p = p.copy()
    mask = np.arange(N) < n_decay
    opt = nn.AdamW([p], learning_rate_init=0.01, weight_decay=0.5, n_decay=n_decay)
    ref = RefAdamW(N, lr=0.01, wd=0.5, mask=mask)
    for _ in range(N_STEPS):
        g = rng.normal(size=N)
        opt.step([p], [g])
        ref_p = ref.step(ref_p, g)
    assert_allclose(p, ref_p, rtol=1e-10, atol=1e-12)


def test_adamw_decay_mask_on_lists_equals_n_decay_on_the_flat_vector(rng):
    def model():
        r = np.random.default_rng(3)
        return nn.Sequential(nn.Linear(3, 4, rng=r), nn.Tanh(), nn.Linear(4, 2, rng=r))

    flat_model, list_model = model(), model()
    flat_p, flat_g = flat_model.get_parameters(penalized_first=True)
    n_weights = 3 * 4 + 4 * 2
    flat_opt = nn.AdamW([flat_p], learning_rate_init=0.05, weight_decay=0.3, n_decay=n_weights)
    params, grads = list_model.parameters()
    list_opt = nn.AdamW(
        params, learning_rate_init=0.05, weight_decay=0.3, decay_mask=list_model.penalized()
    )
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    crit = nn.MSECriterion()
    for _ in range(N_STEPS):
        for m in (flat_model, list_model):
            m.zero_grad_parameters()
            m.backward(x, crit.backward(m.forward(x), y))
        flat_opt.step([flat_p], [flat_g])
        list_opt.step(params, grads)
    for a, b in zip(flat_model.parameters()[0], list_model.parameters()[0]):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_adamw_without_decay_is_adam(rng):
    p = rng.normal(size=100)
    a, b = p.copy(), p.copy()
    adam, adamw = nn.Adam([a], learning_rate_init=0.01), nn.AdamW([b], 0.01, weight_decay=0.0)
    for _ in range(N_STEPS):
        g = rng.normal(size=100)
        adam.step([a], [g])
        adamw.step([b], [g])
    assert_array_equal(a, b)


def test_adamw_biases_do_not_decay_with_a_zero_gradient():
    w, b = np.ones(4), np.ones(2)
    opt = nn.AdamW([w, b], learning_rate_init=0.1, weight_decay=0.5, decay_mask=[True, False])
    for _ in range(3):
        opt.step([w, b], [np.zeros(4), np.zeros(2)])
    assert_allclose(w, 0.95**3)
    assert_array_equal(b, 1.0)


def test_adamw_bad_decay_arguments():
    with pytest.raises(ValueError, match="not both"):
        nn.AdamW([np.zeros(3)], n_decay=1, decay_mask=[True])
    with pytest.raises(ValueError, match="n_decay"):
        nn.AdamW([np.zeros(3)], n_decay=4)
    with pytest.raises(ValueError, match="decay_mask"):
        nn.AdamW([np.zeros(3)], decay_mask=[True, False])


# -- the shared interface -------------------------------------------------------------------------
@pytest.mark.parametrize("name", SOLVERS)
def test_pickle_keeps_state_not_scratch(name, rng, numpy_path):
    params = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    opt = _make(name, params)
    for _ in range(3):
        opt.step(params, [rng.normal(size=p.shape) for p in params])
    clone = pickle.loads(pickle.dumps(opt))
    assert clone._scratch is None and opt._scratch is not None
    clone_params = [p.copy() for p in params]
    for _ in range(3):
        g = [rng.normal(size=p.shape) for p in params]
        opt.step(params, g)
        clone.step(clone_params, g)
    for a, b in zip(clone_params, params):
        assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "Adadelta"])
def test_the_step_follows_the_current_learning_rate(name, rng):
    """A schedule's new rate is used by the next step (checked against the formula)."""
    p = rng.normal(size=10)
    ref_p = p.copy()
    opt = _make(name, [p])
    ref = _ref(name, 10)
    opt.learning_rate /= 2  # as a schedule sets it between epochs
    ref.lr = opt.learning_rate
    for _ in range(N_STEPS):
        g = rng.normal(size=10)
        opt.step([p], [g])
        ref_p = ref.step(ref_p, g)
    assert_allclose(p, ref_p, rtol=1e-10)


def test_repr_and_arguments():
    assert repr(nn.RMSprop([np.zeros(2)])) == "RMSprop(learning_rate=0.001)"
    assert repr(nn.Adadelta([np.zeros(2)])) == "Adadelta(learning_rate=1)"
    for bad in (dict(rho=1.0), dict(epsilon=-1.0), dict(learning_rate_init=0.0)):
        with pytest.raises(ValueError):
            nn.RMSprop([np.zeros(2)], **bad)
    with pytest.raises(ValueError):
        nn.Adagrad([np.zeros(2)], initial_accumulator_value=-1.0)
    with pytest.raises(ValueError):
        nn.AdamW([np.zeros(2)], weight_decay=-0.1)


def test_adadelta_pickled_before_v_kept_its_epsilon_continues(rng):
    """An Adadelta pickled when it stored ``V`` alone (not ``V + eps'``) loads and steps on."""
    p = rng.normal(size=50)
    opt = nn.Adadelta([p], rho=0.9)
    for _ in range(3):
        opt.step([p], [rng.normal(size=50)])
    q = p.copy()
    state = pickle.loads(pickle.dumps(opt)).__dict__  # a copy: opt keeps its own arrays
    state["_v_sums"] = [v - opt._eps_sum() for v in state.pop("_ve_sums")]  # the old layout
    old = nn.Adadelta.__new__(nn.Adadelta)
    old.__setstate__(state)
    assert_allclose(old.square_avgs[0], opt.square_avgs[0], rtol=1e-12)
    g = rng.normal(size=50)
    opt.step([p], [g])
    old.step([q], [g.copy()])
    assert_allclose(q, p, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_adadelta_keeps_one_scratch_block_at_unit_rate(dtype, rng, numpy_path):
    """At ``lr=1`` the step needs one scratch block, as Adam's (a second one at other rates)."""
    p = rng.normal(size=N).astype(dtype)
    opt = nn.Adadelta([p])
    opt.step([p], [rng.normal(size=N).astype(dtype)])
    block = opt._scratch.size
    opt.learning_rate = 0.5
    opt.step([p], [rng.normal(size=N).astype(dtype)])
    assert opt._scratch.size == 2 * block


def test_adadelta_epsilon_set_between_steps_takes_effect(rng):
    """``V`` is stored with ``eps'`` added; a new ``epsilon`` moves it, as in the formula."""
    p = rng.normal(size=30)
    ref_p, opt, ref = p.copy(), nn.Adadelta([p]), RefAdadelta(30)
    for step in range(6):
        if step == 3:
            opt.epsilon, ref.eps = 1e-3, 1e-3
            assert_allclose(opt.square_avgs[0], ref.v, rtol=1e-10, atol=1e-15)
        g = rng.normal(size=30)
        opt.step([p], [g])
        ref_p = ref.step(ref_p, g)
        assert_allclose(p, ref_p, rtol=1e-10)
    assert_allclose(opt.square_avgs[0], ref.v, rtol=1e-10)
