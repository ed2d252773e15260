"""``nn.L1Penalty``: identity forward, ``lambda sign(a)`` added backward, and its loss.

The criterion never sees the penalty, so the gradient check here differentiates
``criterion(output) + penalty.loss`` by finite differences itself.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn


def _away_from_zero(rng, shape, low=0.2, high=2.0):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def _penalised_gradient_check(model, penalties, criterion, x, target, eps=1e-6):
    """Max relative error of ``dJ/dx`` and ``dJ/dparams`` for ``J = L + sum_p p.loss``."""

    def objective():
        out = model.forward(x)
        return criterion.forward(out, target) + sum(p.loss for p in penalties)

    model.zero_grad_parameters()
    out = model.forward(x)
    analytic = [model.backward(x, criterion.backward(out, target)).copy()]
    params, grads = model.parameters()
    analytic += [g.copy() for g in grads]
    errors = []
    for arr, ana in zip([x, *params], analytic):
        num = np.zeros(arr.shape)
        flat, nflat = arr.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            lp = objective()
            flat[j] = old - eps
            lm = objective()
            flat[j] = old
            nflat[j] = (lp - lm) / (2 * eps)
        errors.append(np.max(np.abs(ana - num)) / max(1.0, np.max(np.abs(num))))
    return max(errors)


@pytest.mark.parametrize("size_average", [False, True])
def test_gradient_check_of_loss_plus_penalty(size_average, rng):
    # Linear -> L1Penalty -> Tanh -> Linear: the penalty acts on the pre-activations;
    # away from 0 so no entry crosses the kink of |a| during the check
    first = nn.Linear(3, 4, rng=rng)
    first.bias[:] = 5.0  # pre-activations well away from zero for these inputs
    penalty = nn.L1Penalty(0.3, size_average=size_average)
    model = nn.Sequential(first, penalty, nn.Tanh(), nn.Linear(4, 2, rng=rng))
    x = rng.uniform(-0.5, 0.5, size=(5, 3))
    assert np.abs(first.forward(x)).min() > 1e-3
    target = rng.normal(size=(5, 2))
    assert _penalised_gradient_check(model, [penalty], nn.MSECriterion(), x, target) < 1e-6
    # leaving the penalty's loss out of J makes the same gradients wrong: the check has teeth
    assert _penalised_gradient_check(model, [], nn.MSECriterion(), x, target) > 1e-3


def test_forward_is_identity_and_records_the_loss(rng):
    x = _away_from_zero(rng, (4, 3))
    penalty = nn.L1Penalty(0.5)
    assert penalty.forward(x) is x
    assert penalty.loss == pytest.approx(0.5 * np.abs(x).sum())
    averaged = nn.L1Penalty(0.5, size_average=True)
    averaged.forward(x)
    assert averaged.loss == pytest.approx(0.5 * np.abs(x).sum() / 4)
    assert penalty.infer(x) is x


def test_backward_adds_the_sign(rng):
    x, g = _away_from_zero(rng, (4, 3)), rng.normal(size=(4, 3))
    g_before = g.copy()
    assert_allclose(nn.L1Penalty(0.2).backward(x, g), g + 0.2 * np.sign(x))
    assert_allclose(nn.L1Penalty(0.2, size_average=True).backward(x, g), g + 0.05 * np.sign(x))
    assert_array_equal(g, g_before)  # grad_output is not overwritten
    assert_array_equal(nn.L1Penalty(0.0).backward(x, g), g)


def test_sparsifies_activations(rng):
    """Training the layer below with the penalty drives its activations towards zero."""
    x = rng.normal(size=(50, 4))
    layer = nn.Linear(4, 6, rng=rng)
    model = nn.Sequential(layer, nn.L1Penalty(0.05, size_average=True), nn.Linear(6, 1, rng=rng))
    y = x[:, :1]
    opt = nn.SGD(model.parameters()[0], learning_rate_init=0.05, momentum=0.0)
    before = np.abs(layer.forward(x)).mean()
    crit = nn.MSECriterion()
    for _ in range(300):
        model.zero_grad_parameters()
        model.backward(x, crit.backward(model.forward(x), y))
        opt.step(*model.parameters())
    assert np.abs(layer.forward(x)).mean() < 0.5 * before


def test_dtype_repr_pickle_and_arguments(rng):
    x = rng.normal(size=(3, 2)).astype(np.float32)
    penalty = nn.L1Penalty(0.1)
    assert penalty.backward(x, np.ones_like(x)).dtype == np.float32
    penalty.forward(x)
    assert isinstance(penalty.loss, float)
    assert repr(nn.L1Penalty(0.1)) == "nn.L1Penalty(0.1)"
    assert repr(nn.L1Penalty(0.1, size_average=True)) == "nn.L1Penalty(0.1, size_average=True)"
    clone = pickle.loads(pickle.dumps(penalty))
    assert clone.l1weight == 0.1 and clone.parameters() == ([], [])
    with pytest.raises(ValueError, match="l1weight"):
        nn.L1Penalty(-1.0)
