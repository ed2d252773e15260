"""The engine's optimizers against scikit-learn's (``_stochastic_optimizers``).

``nn.SGD`` and ``nn.Adam`` update arrays in place with preallocated scratch
space; scikit-learn's build new lists each step.  The trajectories must agree.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from sknn_backprop import nn

SHAPES = [(3, 4), (4,), (4, 2), (2,)]
N_STEPS = 6


def _params(rng, dtype=np.float64):
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def _grads(rng, dtype=np.float64):
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def _copy(arrays):
    return [a.copy() for a in arrays]


def _assert_lists_close(actual, expected, **kw):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_allclose(a, e, **kw)


@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "classical"])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_sgd_matches_sklearn(momentum, nesterov, rng):
    params = _params(rng)
    ours, theirs = _copy(params), _copy(params)
    opt = nn.SGD(ours, learning_rate_init=0.05, momentum=momentum, nesterov=nesterov)
    ref = SGDOptimizer(theirs, learning_rate_init=0.05, momentum=momentum, nesterov=nesterov)
    ours_ids = [id(p) for p in ours]
    for _ in range(N_STEPS):
        grads = _grads(rng)
        opt.step(ours, grads)
        ref.update_params(theirs, _copy(grads))
        _assert_lists_close(ours, theirs, rtol=1e-12, atol=1e-12)
        _assert_lists_close(opt.velocities, ref.velocities, rtol=1e-12, atol=1e-12)
    assert [id(p) for p in ours] == ours_ids  # updated in place


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"learning_rate_init": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6},
        {"learning_rate_init": 0.1, "beta_1": 0.0, "beta_2": 0.99},
    ],
    ids=["default", "custom", "no-momentum"],
)
def test_adam_matches_sklearn(kwargs, rng):
    params = _params(rng)
    ours, theirs = _copy(params), _copy(params)
    opt = nn.Adam(ours, **kwargs)
    ref = AdamOptimizer(theirs, **kwargs)
    for _ in range(N_STEPS):
        grads = _grads(rng)
        opt.step(ours, grads)
        ref.update_params(theirs, _copy(grads))
        _assert_lists_close(ours, theirs, rtol=1e-10, atol=1e-12)
        _assert_lists_close(opt.ms, ref.ms, rtol=1e-12)
        _assert_lists_close(opt.vs, ref.vs, rtol=1e-12)
        assert opt.t == ref.t


def _model(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 5, rng=rng), nn.Tanh(), nn.Linear(5, 2, rng=rng))


@pytest.mark.parametrize("solver", ["SGD", "Adam"])
def test_step_on_flat_vectors(solver, rng):
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    crit = nn.MSECriterion()
    make = nn.SGD if solver == "SGD" else nn.Adam

    flat_model, list_model = _model(1), _model(1)
    flat_p, flat_g = flat_model.get_parameters()
    flat_opt = make([flat_p], learning_rate_init=0.05)
    params, grads = list_model.parameters()
    list_opt = make(params, learning_rate_init=0.05)
    ref_p = flat_p.copy()
    ref = (SGDOptimizer if solver == "SGD" else AdamOptimizer)([ref_p], learning_rate_init=0.05)

    for _ in range(N_STEPS):
        for model in (flat_model, list_model):
            model.zero_grad_parameters()
            model.backward(x, crit.backward(model.forward(x), y))
        ref.update_params([ref_p], [flat_g.copy()])
        flat_opt.step([flat_p], [flat_g])
        list_opt.step(params, grads)
        assert_allclose(flat_p, ref_p, rtol=1e-10, atol=1e-12)
        # the flat step moved the modules' own arrays, exactly as per-array steps do
        _assert_lists_close(flat_model.parameters()[0], list_model.parameters()[0], rtol=1e-12)
    assert not np.allclose(flat_p, _model(1).get_parameters()[0])


@pytest.mark.parametrize("solver", ["SGD", "Adam"])
def test_float32_stays_float32(solver, rng):
    make = nn.SGD if solver == "SGD" else nn.Adam
    p32 = _params(rng, np.float32)
    p64 = [p.astype(np.float64) for p in p32]
    opt32, opt64 = make(p32, learning_rate_init=0.01), make(p64, learning_rate_init=0.01)
    ids = [id(p) for p in p32]
    for _ in range(N_STEPS):
        g = _grads(rng, np.float32)
        opt32.step(p32, g)
        opt64.step(p64, [a.astype(np.float64) for a in g])
    assert [id(p) for p in p32] == ids
    assert all(p.dtype == np.float32 for p in p32)
    state = opt32.velocities if solver == "SGD" else opt32.ms + opt32.vs
    assert all(s.dtype == np.float32 for s in state)
    _assert_lists_close(p32, p64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("solver", ["SGD", "Adam"])
def test_pickle_keeps_state_not_scratch(solver, rng, numpy_path):
    make = nn.SGD if solver == "SGD" else nn.Adam
    params = _params(rng)
    opt = make(params, learning_rate_init=0.05)
    for _ in range(3):
        opt.step(params, _grads(rng))
    assert opt._scratch is not None

    clone = pickle.loads(pickle.dumps(opt))
    assert clone._scratch is None
    assert opt._scratch is not None  # pickling does not drop the original's buffers
    names = ["velocities"] if solver == "SGD" else ["ms", "vs"]
    for name in names:
        _assert_lists_close(getattr(clone, name), getattr(opt, name), rtol=0, atol=0)
    if solver == "Adam":
        assert clone.t == opt.t == 3
    assert clone.learning_rate == opt.learning_rate

    # both continue along the same trajectory
    clone_params = _copy(params)
    for _ in range(3):
        g = _grads(rng)
        opt.step(params, g)
        clone.step(clone_params, g)
    _assert_lists_close(clone_params, params, rtol=0, atol=0)


def test_repr():
    assert repr(nn.SGD([np.zeros(2)], learning_rate_init=0.1)) == "SGD(learning_rate=0.1)"
    assert repr(nn.Adam([np.zeros(2)])) == "Adam(learning_rate=0.001)"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [nn.Adam, lambda p: nn.SGD(p, momentum=0.5)], ids=["adam", "sgd"])
def test_blocked_updates_equal_one_block(make, dtype, rng, monkeypatch):
    """Cache-sized blocks (here 5 elements, so a 23-element vector takes 5) change nothing."""
    from sknn_backprop.nn import optim

    flat = rng.normal(size=23).astype(dtype)
    one, blocked = flat.copy(), flat.copy()
    opt_one, opt_blocked = make([one]), make([blocked])
    grads = [rng.normal(size=23).astype(dtype) for _ in range(N_STEPS)]
    for g in grads:
        opt_one.step([one], [g])
    monkeypatch.setattr(optim, "_BLOCK_BYTES", 5 * np.dtype(dtype).itemsize)
    for g in grads:
        opt_blocked.step([blocked], [g])
    np.testing.assert_array_equal(blocked, one)
    assert blocked.dtype == dtype


def test_adam_pickled_with_plain_moments_continues(rng):
    """An Adam pickled when it stored ``ms``/``vs`` (not running sums) loads and steps on."""
    params = _params(rng)
    ours, ref = _copy(params), _copy(params)
    opt, ref_opt = nn.Adam(ours), nn.Adam(ref)
    for _ in range(3):
        g = _grads(rng)
        opt.step(ours, g)
        ref_opt.step(ref, _copy(g))
    state = opt.__getstate__()
    state["ms"], state["vs"] = opt.ms, opt.vs  # the old layout
    del state["_m_sums"], state["_v_sums"]
    old = nn.Adam.__new__(nn.Adam)
    old.__setstate__(state)
    g = _grads(rng)
    old.step(ours, g)
    ref_opt.step(ref, _copy(g))
    _assert_lists_close(ours, ref, rtol=1e-12, atol=1e-14)
    _assert_lists_close(old.vs, ref_opt.vs, rtol=1e-12)
