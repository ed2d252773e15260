"""The input layers of tabular networks: ``LookupTable`` (categorical codes),
``Scale`` (RealMLP's per-feature scale) and ``PeriodicEmbedding`` (RealMLP's "PBLD"
numeric embedding): values, gradient checks, initialisation, penalties, dtypes,
flat views and a small tabular network trained through ``get_parameters``."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6


def _check(module, x, rng, **kw):
    out = module.forward(x)
    errors = nn.gradient_check(module, nn.MSECriterion(), x, rng.normal(size=out.shape), **kw)
    n_params = len(module.parameters()[0])
    assert {f"param{i}" for i in range(n_params)} <= set(errors)
    assert max(errors.values()) < TOL, errors
    return errors


# -- LookupTable ----------------------------------------------------------------------------------
def test_lookup_values_for_int_and_float_codes(rng):
    emb = nn.LookupTable(5, 3, rng=rng)
    codes = np.array([4, 0, 4, 2])
    assert_array_equal(emb.forward(codes), emb.weight[codes])
    assert_array_equal(emb.forward(codes.astype(float)), emb.weight[codes])
    assert_array_equal(emb.forward(codes.astype(np.float32)), emb.weight[codes])
    two = np.array([[0, 1], [2, 3.0]])
    assert emb.forward(two).shape == (2, 2, 3)  # as Torch7 / PyTorch: (N, k, n_output)
    assert_array_equal(emb.forward(two)[1, 0], emb.weight[2])


@pytest.mark.parametrize("shape", [(7,), (5, 3)])
def test_lookup_gradient_check(shape, rng):
    emb = nn.LookupTable(4, 2, rng=rng)
    codes = rng.integers(0, 4, shape).astype(float)  # repeated codes: their gradients add up
    _check(emb, codes, rng, check_input=False)


def test_lookup_gradient_accumulates_repeated_codes(rng):
    emb = nn.LookupTable(3, 2, rng=rng)
    codes = np.array([1.0, 1.0, 2.0, 1.0])
    g = rng.normal(size=(4, 2))
    emb.zero_grad_parameters()
    emb.forward(codes)
    gi = emb.backward(codes, g, scale=2.0)
    expected = np.zeros((3, 2))
    for c, row in zip(codes.astype(int), g):  # the definition, one row at a time
        expected[c] += 2.0 * row
    assert_allclose(emb.grad_weight, expected)
    assert_array_equal(gi, 0)  # codes are not differentiable
    assert gi.shape == codes.shape


@pytest.mark.parametrize(
    "codes, match",
    [
        (np.array([0.0, 5.0]), "code 5 is out of range"),
        (np.array([-1, 2]), "code -1 is out of range"),
        (np.array([0.0, 1.5]), "integer codes"),
        (np.array([0.0, np.nan]), "integer codes"),
        (np.array([0.0, np.inf]), "integer codes"),
        (np.zeros((2, 2, 2)), r"shape \(N,\) or \(N, k\)"),
    ],
)
def test_lookup_bad_codes_raise(codes, match):
    emb = nn.LookupTable(5, 2)
    with pytest.raises(ValueError, match=match):
        emb.forward(codes)
    with pytest.raises(ValueError, match=match):
        emb.infer(codes)


def test_lookup_init_penalty_and_reset():
    emb = nn.LookupTable(200, 50, rng=np.random.default_rng(0))
    # PyTorch's nn.Embedding: N(0, 1)
    assert abs(emb.weight.mean()) < 0.02 and abs(emb.weight.std() - 1) < 0.02
    assert emb.penalized() == [True]
    before = emb.weight.copy()
    emb.reset_parameters(np.random.default_rng(1))
    assert not np.array_equal(before, emb.weight)
    assert repr(emb) == "nn.LookupTable(200 -> 50)"
    assert_array_equal(
        nn.LookupTable(3, 2).weight, nn.LookupTable(3, 2).weight
    )  # seeded, no global


def test_lookup_float32_and_buffer_reuse(rng):
    emb = nn.LookupTable(4, 3, rng=rng).astype(np.float32)
    codes = np.array([0, 3, 1], dtype=np.float32)
    out = emb.forward(codes)
    assert out.dtype == np.float32 and emb.grad_weight.dtype == np.float32
    assert emb.forward(codes) is out  # the output buffer is reused
    assert emb.infer(codes) is not out
    emb.backward(codes, np.ones_like(out))
    assert emb.grad_weight.dtype == np.float32


# -- Scale ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lr_factor", [1.0, 6.0])
def test_scale_gradient_check(lr_factor, rng):
    s = nn.Scale(3, lr_factor=lr_factor)
    s.weight[:] = rng.uniform(0.5, 2.0, 3) / lr_factor
    _check(s, rng.normal(size=(5, 3)), rng)


def test_scale_starts_as_identity_and_is_not_penalized(rng):
    x = rng.normal(size=(4, 3))
    for lr_factor in (1.0, 6.0):
        s = nn.Scale(3, lr_factor=lr_factor)
        assert_allclose(s.forward(x), x)
        assert_allclose(s.weight, 1 / lr_factor)
        assert s.penalized() == [False]
    s = nn.Scale(3)
    s.weight[:] = [1.0, 2.0, 0.0]
    assert_allclose(s.forward(x), x * [1.0, 2.0, 0.0])
    s.reset_parameters(rng)
    assert_allclose(s.weight, 1.0)


def test_scale_lr_factor_multiplies_adams_step(rng):
    # with Adam (scale-invariant) the effective scale moves lr_factor times as far
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    moves = []
    for lr_factor in (1.0, 6.0):
        s = nn.Scale(2, lr_factor=lr_factor)
        flat_p, flat_g = s.get_parameters()
        opt = nn.Adam([flat_p], learning_rate_init=0.01)
        crit = nn.MSECriterion()
        s.zero_grad_parameters()
        s.backward(x, crit.backward(s.forward(x), y))
        opt.step([flat_p], [flat_g])
        moves.append(lr_factor * s.weight - 1.0)
    assert_allclose(moves[1], 6.0 * moves[0], rtol=1e-6)


def test_scale_float32_infer_repr_and_errors(rng):
    s = nn.Scale(3, lr_factor=6.0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    assert s.forward(x).dtype == np.float32
    assert s.backward(x, np.ones_like(x)).dtype == np.float32
    assert s.infer(x).dtype == np.float32
    x2 = x.copy()
    assert s.infer(x2, owned=True) is x2
    assert repr(s) == "nn.Scale(3, lr_factor=6)" and repr(nn.Scale(2)) == "nn.Scale(2)"
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        s.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="lr_factor"):
        nn.Scale(3, lr_factor=0.0)


# -- PeriodicEmbedding ----------------------------------------------------------------------------
def _pytabkit_pbld(x, emb):
    """pytabkit's PLREmbeddingsLayerCosBias.forward_cont (linear, densenet), line by line in
    numpy, with the effective parameters (weight_1 (F, 1, K), bias_1 (F, 1, K),
    weight_2 (F, K, D), bias_2 (F, 1, D))."""
    c = emb.lr_factor
    weight_1, bias_1 = c * emb.frequencies[:, None, :], c * emb.phases[:, None, :]
    weight_2, bias_2 = c * emb.weight, c * emb.bias[:, None, :]
    x_orig = x
    x = x.T[:, :, None]  # x.transpose(-1, -2).unsqueeze(-1): (F, N, 1)
    x = 2 * np.pi * np.matmul(x, weight_1)
    x = x + bias_1
    x = np.cos(x)
    x = np.matmul(x, weight_2)
    x = x + bias_2
    x = x.transpose(1, 0, 2)  # x.transpose(-2, -3): (N, F, D)
    x = x.reshape(x.shape[0], -1)
    if emb.densenet:
        x = np.concatenate([x, x_orig], axis=-1)
    return x


@pytest.mark.parametrize("densenet", [True, False])
@pytest.mark.parametrize("lr_factor", [1.0, 0.1])
def test_periodic_matches_pytabkit_forward(densenet, lr_factor, rng):
    emb = nn.PeriodicEmbedding(4, 5, 1.0, 3, densenet=densenet, lr_factor=lr_factor, rng=rng)
    x = rng.normal(size=(7, 4))
    y = emb.forward(x)
    assert y.shape == (7, emb.n_output) == (7, 4 * (3 + densenet))
    assert_allclose(y, _pytabkit_pbld(x, emb), rtol=1e-12, atol=1e-14)
    assert_allclose(emb.infer(x), y)


@pytest.mark.parametrize("densenet", [True, False])
@pytest.mark.parametrize("lr_factor", [1.0, 0.1])
def test_periodic_gradient_check(densenet, lr_factor, rng):
    emb = nn.PeriodicEmbedding(3, 4, 1.0, 2, densenet=densenet, lr_factor=lr_factor, rng=rng)
    errors = _check(emb, rng.normal(size=(5, 3)), rng)
    assert set(errors) == {"input", "param0", "param1", "param2", "param3"}


def test_periodic_halves_agree_with_backward(rng):
    emb = nn.PeriodicEmbedding(3, 4, 1.0, 2, rng=rng)
    x = rng.normal(size=(5, 3))
    g = rng.normal(size=emb.forward(x).shape)
    emb.zero_grad_parameters()
    gi = emb.backward(x, g)
    grads = [a.copy() for a in emb.parameters()[1]]
    assert_allclose(emb.update_grad_input(x, g), gi)
    emb.acc_grad_parameters(x, g, scale=0.5)
    for a, b in zip(grads, emb.parameters()[1]):
        assert_allclose(b, 1.5 * a)
    # backward after forwarding another batch recomputes what it needs
    emb.forward(rng.normal(size=(2, 3)))
    assert_allclose(emb.update_grad_input(x, g), gi)


def test_periodic_initialisation_is_pytabkits():
    k = 16
    emb = nn.PeriodicEmbedding(300, k, 0.1, 3, rng=np.random.default_rng(0))
    assert abs(emb.frequencies.std() - 0.1) < 0.005 and abs(emb.frequencies.mean()) < 0.005
    assert emb.phases.min() >= -np.pi and emb.phases.max() <= np.pi
    assert emb.phases.std() == pytest.approx(np.pi / np.sqrt(3), rel=0.02)  # U(-pi, pi)
    bound = 1 / np.sqrt(k)
    for a in (emb.weight, emb.bias):
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound
    # lr_factor stores the effective parameters divided by it
    small = nn.PeriodicEmbedding(300, k, 0.1, 3, lr_factor=0.1, rng=np.random.default_rng(0))
    for a, b in zip(small.parameters()[0], emb.parameters()[0]):
        assert_allclose(0.1 * a, b, rtol=1e-12)
    before = [a.copy() for a in emb.parameters()[0]]
    emb.reset_parameters(np.random.default_rng(1))
    assert all(not np.array_equal(a, b) for a, b in zip(before, emb.parameters()[0]))


def test_periodic_penalties_dtype_pickle_and_repr(rng):
    emb = nn.PeriodicEmbedding(3, 4, d_embedding=2, rng=rng)
    assert emb.penalized() == [True, False, True, False]  # w, b, V, u: biases never
    x = rng.normal(size=(5, 3))
    y = emb.forward(x).copy()
    clone = pickle.loads(pickle.dumps(emb))
    assert clone._buf_z is None and clone.output is None
    assert_array_equal(clone.grad_weight, 0)
    assert_allclose(clone.forward(x), y)
    e32 = nn.PeriodicEmbedding(3, 4, d_embedding=2, rng=rng).astype(np.float32)
    x32 = x.astype(np.float32)
    out = e32.forward(x32)
    assert out.dtype == np.float32
    assert e32.backward(x32, np.ones_like(out)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in e32.parameters()[1])
    assert e32.infer(x32).dtype == np.float32
    assert repr(emb) == "nn.PeriodicEmbedding(3 -> 9, n_frequencies=4, sigma=0.1, d_embedding=2)"
    assert repr(nn.PeriodicEmbedding(2, densenet=False, lr_factor=0.1)) == (
        "nn.PeriodicEmbedding(2 -> 6, n_frequencies=16, sigma=0.1, d_embedding=3, "
        "densenet=False, lr_factor=0.1)"
    )
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        emb.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="sigma"):
        nn.PeriodicEmbedding(3, sigma=0.0)


# -- a small RealMLP-style network ----------------------------------------------------------------
def _tabular_net(rng):
    """3 numeric columns (periodic-embedded) and 2 categorical codes (embedded), then
    RealMLP's scaling layer in front of the first linear layer."""
    numeric = nn.Sequential(
        nn.Narrow(1, 0, 3), nn.PeriodicEmbedding(3, 8, 0.1, 3, lr_factor=0.1, rng=rng)
    )
    width = 3 * 4 + 2 + 2
    return nn.Sequential(
        nn.ConcatTable(numeric, nn.Select(1, 3), nn.Select(1, 4)),
        nn.ParallelTable(
            nn.Identity(), nn.LookupTable(4, 2, rng=rng), nn.LookupTable(3, 2, rng=rng)
        ),
        nn.JoinTable(1),
        nn.Scale(width, lr_factor=6.0),
        nn.Linear(width, 16, rng=rng),
        nn.SELU(),
        nn.Linear(16, 2, rng=rng),
    )


def test_tabular_network_gradient_check_and_training(rng):
    n = 40
    x = np.column_stack([rng.normal(size=(n, 3)), rng.integers(0, 4, n), rng.integers(0, 3, n)])
    y = ((np.sin(3 * x[:, 0]) + (x[:, 3] == 2)) > 0.5).astype(int)
    model = _tabular_net(rng)
    errors = nn.gradient_check(
        model, nn.CrossEntropyCriterion(0.1), x[:6], y[:6], check_input=False
    )
    assert max(errors.values()) < TOL, errors
    flat_p, flat_g = model.get_parameters(penalized_first=True)
    assert all(p.base is flat_p for p in model.parameters()[0])
    crit = nn.CrossEntropyCriterion(label_smoothing=0.1)
    opt = nn.Adam([flat_p], learning_rate_init=0.02, beta_2=0.95)
    loss0 = crit.forward(model.forward(x), y)
    for _ in range(60):
        model.zero_grad_parameters(lazy=True)
        _, grad = crit.forward_backward(model.forward(x), y)
        model.backward(x, grad, need_input_grad=False)
        opt.step([flat_p], [flat_g])
    assert crit.forward(model.forward(x), y) < 0.6 * loss0
    model32 = _tabular_net(np.random.default_rng(0)).astype(np.float32)
    assert model32.forward(x.astype(np.float32)).dtype == np.float32
