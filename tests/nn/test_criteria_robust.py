"""The robust regression criteria ``nn.AbsCriterion`` (L1) and ``nn.SmoothL1Criterion``
(Huber): values, gradients away from the kinks, sample weights, options and dtype."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import mean_absolute_error

from sknn_backprop import nn

CRITERIA = {
    "Abs": nn.AbsCriterion,
    "Abs-average_outputs": lambda: nn.AbsCriterion(average_outputs=True),
    "SmoothL1": nn.SmoothL1Criterion,
    "SmoothL1-beta0.5": lambda: nn.SmoothL1Criterion(beta=0.5),
    "SmoothL1-beta2-average_outputs": lambda: nn.SmoothL1Criterion(2.0, average_outputs=True),
    "SmoothL1-beta0": lambda: nn.SmoothL1Criterion(beta=0.0),
}


def _residuals(rng, shape, kinks=(0.0, 0.5, 1.0, 2.0), gap=0.05):
    """Residuals in ``[-4, 4]`` at least ``gap`` from ``+-k`` for every kink ``k``."""
    d = rng.uniform(-4, 4, size=shape)
    for k in kinks:
        for s in (-k, k):
            near = np.abs(d - s) < gap
            d[near] = s + np.where(d[near] >= s, gap, -gap) * 2
    return d


def _huber_reference(d, beta):
    """PyTorch's ``SmoothL1Loss(beta)`` element-wise, written with ``where``."""
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d**2 / beta, a - 0.5 * beta)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (8, 1)])
@pytest.mark.parametrize("name", CRITERIA)
def test_gradient_check_away_from_kinks(name, shape, weighted, rng):
    target = rng.normal(size=shape)
    output = target + _residuals(rng, shape)
    sw = rng.uniform(0.5, 2.0, shape[0]) if weighted else None
    errors = nn.gradient_check(nn.Identity(), CRITERIA[name](), output, target, sample_weight=sw)
    assert errors["input"] < 1e-6, errors


@pytest.mark.parametrize("name", CRITERIA)
def test_weight_two_is_a_duplicated_row(name, rng):
    crit = CRITERIA[name]()
    output, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    sw = np.array([1.0, 2.0, 1.0, 1.0, 1.0])
    dup = np.array([0, 1, 1, 2, 3, 4])
    loss_w, grad_w = crit.forward_backward(output, target, sample_weight=sw)
    loss_d, grad_d = crit.forward_backward(output[dup], target[dup])
    assert loss_w == pytest.approx(loss_d, rel=1e-12)
    # the duplicated row's gradient is the sum over its two copies
    folded = np.zeros_like(grad_w)
    np.add.at(folded, dup, grad_d)
    assert_allclose(grad_w, folded, rtol=1e-12)


@pytest.mark.parametrize("name", CRITERIA)
def test_forward_backward_consistent(name, rng):
    crit = CRITERIA[name]()
    output, target = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    sw = rng.uniform(0.5, 2.0, 4)
    loss, grad = crit.forward_backward(output, target, sw)
    assert crit.forward(output, target, sw) == loss
    assert_allclose(crit.backward(output, target, sw), grad)
    out_before = output.copy()
    crit.forward_backward(output, target)
    assert_allclose(output, out_before)  # the output is never overwritten


def test_abs_values_and_gradient(rng):
    output, target = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    loss, grad = nn.AbsCriterion().forward_backward(output, target)
    assert loss == pytest.approx(np.abs(output - target).sum(axis=1).mean(), rel=1e-12)
    assert_allclose(grad, np.sign(output - target) / 6)
    mae = nn.AbsCriterion(average_outputs=True).forward(output, target)
    assert mae == pytest.approx(mean_absolute_error(target, output), rel=1e-12)
    assert nn.AbsCriterion().backward(np.ones((2, 1)), np.ones((2, 1))).sum() == 0  # at the kink


@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
def test_smooth_l1_matches_the_piecewise_formula(beta, rng):
    output, target = rng.normal(scale=3, size=(7, 2)), rng.normal(size=(7, 2))
    d = output - target
    crit = nn.SmoothL1Criterion(beta=beta)
    loss, grad = crit.forward_backward(output, target)
    assert loss == pytest.approx(_huber_reference(d, beta).sum(axis=1).mean(), rel=1e-12)
    assert_allclose(grad, np.where(np.abs(d) < beta, d / beta, np.sign(d)) / 7, rtol=1e-12)
    # beta * SmoothL1(beta) is the Huber loss with delta = beta (PyTorch's HuberLoss)
    huber = np.where(np.abs(d) < beta, 0.5 * d**2, beta * (np.abs(d) - 0.5 * beta))
    assert beta * loss == pytest.approx(huber.sum(axis=1).mean(), rel=1e-12)
    # average_outputs: PyTorch's default reduction='mean' over every element
    mean_all = nn.SmoothL1Criterion(beta, average_outputs=True).forward(output, target)
    assert mean_all == pytest.approx(_huber_reference(d, beta).mean(), rel=1e-12)


def test_smooth_l1_limits(rng):
    output, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    l1 = nn.AbsCriterion().forward_backward(output, target)
    zero = nn.SmoothL1Criterion(beta=0.0).forward_backward(output, target)
    assert zero[0] == pytest.approx(l1[0], rel=1e-12)
    assert_allclose(zero[1], l1[1])
    # a beta beyond every residual is the squared error divided by beta
    mse = nn.MSECriterion().forward_backward(output, target)
    wide = nn.SmoothL1Criterion(beta=100.0).forward_backward(output, target)
    assert 100.0 * wide[0] == pytest.approx(mse[0], rel=1e-12)
    assert_allclose(100.0 * wide[1], mse[1], rtol=1e-12)


@pytest.mark.parametrize("name", CRITERIA)
def test_float32_stays_float32(name, rng):
    output = rng.normal(size=(4, 3)).astype(np.float32)
    loss, grad = CRITERIA[name]().forward_backward(output, rng.normal(size=(4, 3)))
    assert grad.dtype == np.float32 and isinstance(loss, float)


def test_arguments_and_repr():
    with pytest.raises(ValueError, match="beta"):
        nn.SmoothL1Criterion(beta=-1.0)
    assert repr(nn.AbsCriterion()) == "nn.AbsCriterion"
    assert repr(nn.SmoothL1Criterion(0.5)) == "nn.SmoothL1Criterion(beta=0.5)"
    with pytest.raises(ValueError, match="sample_weight"):
        nn.AbsCriterion().forward(np.zeros((3, 1)), np.zeros((3, 1)), sample_weight=[1.0, 2.0])
