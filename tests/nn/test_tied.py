"""``nn.TiedLinear``: a decoder layer sharing the transpose of an encoder ``Linear``'s weight."""

import copy
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn


def _autoencoder(rng, n_in=5, n_code=3):
    encoder = nn.Linear(n_in, n_code, rng=rng)
    decoder = nn.TiedLinear(encoder)
    decoder.bias[:] = rng.normal(size=n_in)
    return nn.Sequential(encoder, nn.Tanh(), decoder), encoder, decoder


def test_gradient_check_of_the_shared_weight(rng):
    model, encoder, _ = _autoencoder(rng)
    x = rng.normal(size=(6, 5))
    errors = nn.gradient_check(model, nn.MSECriterion(), x, x)
    # param0 is W, fed by both layers; param1 the encoder bias; param2 the decoder's
    assert sorted(errors) == ["input", "param0", "param1", "param2"]
    assert max(errors.values()) < 1e-6
    assert model.parameters()[0][0] is encoder.weight


def test_gradient_check_through_the_flat_vector_and_lazy_zeroing(rng):
    """After ``get_parameters`` and a lazy zero the tied gradient is still summed, not lost."""
    model, encoder, decoder = _autoencoder(rng)
    flat_p, flat_g = model.get_parameters(penalized_first=True)
    x = rng.normal(size=(4, 5))
    crit = nn.MSECriterion()
    for _ in range(2):  # the second pass must overwrite, not add to, the first
        model.zero_grad_parameters(lazy=True)
        model.backward(x, crit.backward(model.forward(x), x), need_input_grad=False)
    analytic = flat_g.copy()
    reference = nn.gradient_check(model, crit, x, x)
    assert max(reference.values()) < 1e-6
    assert_allclose(analytic, flat_g)  # gradient_check zeroed and recomputed: the same
    assert np.shares_memory(decoder.weight, flat_p)


def test_half_the_weights_and_the_transpose(rng):
    model, encoder, decoder = _autoencoder(rng, 6, 2)
    untied = nn.Sequential(nn.Linear(6, 2), nn.Tanh(), nn.Linear(2, 6))
    n_tied = sum(p.size for p in model.parameters()[0])
    n_untied = sum(p.size for p in untied.parameters()[0])
    assert n_tied == n_untied - 12
    z = rng.normal(size=(3, 2))
    assert_allclose(decoder.forward(z), z @ encoder.weight + decoder.bias)
    assert decoder.penalized() == [False]  # W is penalised once, as the encoder's


def test_copies_keep_the_weight_shared(rng):
    model, _, _ = _autoencoder(rng)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert other.modules[2].tied is other.modules[0]
    model.astype(np.float32)
    assert model.modules[2].weight.dtype == np.float32
    assert model.modules[2].forward(np.ones((1, 3), np.float32)).dtype == np.float32


def test_repr_reset_and_arguments(rng):
    model, encoder, decoder = _autoencoder(rng)
    assert repr(decoder) == "nn.TiedLinear(3 -> 5, tied to nn.Linear(5 -> 3))"
    model.reset_parameters(np.random.default_rng(1))
    assert_array_equal(decoder.bias, 0)
    with pytest.raises(ValueError, match="linear must be an nn.Linear"):
        nn.TiedLinear(nn.Tanh())
