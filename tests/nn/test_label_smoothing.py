"""Label smoothing in the classification criteria, PyTorch's convention
``y' = (1 - eps) y + eps / K`` (``K = 2`` per output for the binary criteria):
values against the hand-written formula, gradients, weights, dtypes, and the default
``0`` leaving every number as it was."""

import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6
EPS = [0.0, 0.1, 0.35, 1.0]


def _logsumexp(z):
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))).ravel()


def _torch_ce(z, y, eps, w=None):
    """PyTorch's CrossEntropyLoss(label_smoothing=eps) as documented:
    (1 - eps) * nll + eps * mean_c(-log p_c), averaged over the batch (or weighted)."""
    logp = z - _logsumexp(z)[:, None]
    k = z.shape[1]
    per = -(1 - eps) * logp[np.arange(len(y)), y] - eps / k * logp.sum(axis=1)
    return float(np.average(per, weights=w))


def test_pytorch_example_by_hand():
    # logits (1, 2, 3), class 2, eps 0.1: 0.9 * 0.40761 + 0.1 / 3 * (2.40761 + 1.40761 + 0.40761)
    z = np.array([[1.0, 2.0, 3.0]])
    lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    expected = 0.9 * (lse - 3) + 0.1 / 3 * ((lse - 1) + (lse - 2) + (lse - 3))
    loss = nn.CrossEntropyCriterion(label_smoothing=0.1).forward(z, np.array([2]))
    assert_allclose(loss, expected, rtol=1e-14)
    assert_allclose(loss, 0.5076059644443804, rtol=1e-12)


@pytest.mark.parametrize("eps", EPS)
def test_cross_entropy_matches_pytorch_formula(eps, rng):
    z, y = rng.normal(size=(7, 4)), rng.integers(0, 4, 7)
    w = rng.uniform(0.5, 2.0, 7)
    crit = nn.CrossEntropyCriterion(label_smoothing=eps)
    assert_allclose(crit.forward(z, y), _torch_ce(z, y, eps), rtol=1e-12)
    assert_allclose(crit.forward(z, y, w), _torch_ce(z, y, eps, w), rtol=1e-12)
    # one-hot rows are the same targets as class indices
    onehot = np.eye(4)[y]
    assert_allclose(crit.forward(z, onehot), crit.forward(z, y), rtol=1e-14)


@pytest.mark.parametrize("eps", EPS)
def test_gradient_is_p_minus_smoothed_target(eps, rng):
    z, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5)
    grad = nn.CrossEntropyCriterion(label_smoothing=eps).backward(z, y)
    p = np.exp(z - _logsumexp(z)[:, None])
    target = (1 - eps) * np.eye(3)[y] + eps / 3
    assert_allclose(grad, (p - target) / 5, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "crit, out",
    [
        (nn.CrossEntropyCriterion, None),
        (nn.ClassNLLCriterion, nn.LogSoftmax),
        (nn.BCEWithLogitsCriterion, None),
        (nn.BCECriterion, nn.Sigmoid),
    ],
)
@pytest.mark.parametrize("eps", [0.1, 0.4])
def test_gradient_check(crit, out, eps, rng):
    module = nn.Identity() if out is None else out()
    binary = crit in (nn.BCEWithLogitsCriterion, nn.BCECriterion)
    x = rng.normal(size=(6, 3))
    target = rng.integers(0, 2, (6, 3)).astype(float) if binary else rng.integers(0, 3, 6)
    errors = nn.gradient_check(module, crit(label_smoothing=eps), x, target,
                               sample_weight=rng.uniform(0.5, 2, 6))  # fmt: skip
    assert errors["input"] < TOL, errors


@pytest.mark.parametrize("eps", EPS)
def test_log_softmax_and_nll_equal_fused_cross_entropy(eps, rng):
    z, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    logp = nn.LogSoftmax().forward(z)
    nll = nn.ClassNLLCriterion(label_smoothing=eps)
    ce = nn.CrossEntropyCriterion(label_smoothing=eps)
    assert_allclose(nll.forward(logp, y), ce.forward(z, y), rtol=1e-12)
    model = nn.Sequential(nn.LogSoftmax())
    model.forward(z)
    assert_allclose(model.backward(z, nll.backward(logp, y)), ce.backward(z, y), atol=1e-15)


@pytest.mark.parametrize("eps", EPS)
def test_binary_smoothing_is_pytabkits_and_the_two_class_softmax(eps, rng):
    z, y = rng.normal(size=(8, 1)), rng.integers(0, 2, (8, 1)).astype(float)
    crit = nn.BCEWithLogitsCriterion(label_smoothing=eps)
    plain = nn.BCEWithLogitsCriterion()
    # pytabkit's bce_with_logits_and_label_smoothing
    pytabkit = (1 - eps / 2) * plain.forward(z, y) + eps / 2 * plain.forward(-z, y)
    assert_allclose(crit.forward(z, y), pytabkit, rtol=1e-12)
    # the same as a two-class softmax on logits (0, z) with CrossEntropy's smoothing
    two = np.column_stack([np.zeros(8), z.ravel()])
    softmax = nn.CrossEntropyCriterion(label_smoothing=eps)
    assert_allclose(crit.forward(z, y), softmax.forward(two, y.ravel().astype(int)), rtol=1e-12)
    # the probability criterion agrees with the logit one
    p = 1 / (1 + np.exp(-z))
    assert_allclose(nn.BCECriterion(label_smoothing=eps).forward(p, y), crit.forward(z, y),
                    rtol=1e-10)  # fmt: skip
    grad = crit.backward(z, y)
    assert_allclose(grad, (p - ((1 - eps) * y + eps / 2)) / 8, atol=1e-15)


def test_default_zero_is_bit_identical(rng):
    # eps = 0 must not touch a single number: same loss and gradient bits as without the keyword
    z, y = rng.normal(size=(9, 3)), rng.integers(0, 3, 9)
    w = rng.uniform(0.5, 2.0, 9)
    zb, yb = rng.normal(size=(9, 2)), rng.integers(0, 2, (9, 2)).astype(float)
    for crit, args in [
        (nn.CrossEntropyCriterion, (z, y)),
        (nn.CrossEntropyCriterion, (z.astype(np.float32), np.eye(3)[y])),
        (nn.ClassNLLCriterion, (nn.LogSoftmax().forward(z), y)),
        (nn.BCEWithLogitsCriterion, (zb, yb)),
        (nn.BCECriterion, (1 / (1 + np.exp(-zb)), yb)),
    ]:
        for sw in (None, w):
            a = crit().forward(*args, sample_weight=sw), crit().backward(*args, sample_weight=sw)
            b = (
                crit(label_smoothing=0.0).forward(*args, sample_weight=sw),
                crit(label_smoothing=0.0).backward(*args, sample_weight=sw),
            )
            assert a[0] == b[0]
            assert_array_equal(a[1], b[1])
    # the unsmoothed loss is the plain cross-entropy -log p_y
    logp = z - _logsumexp(z)[:, None]
    assert_allclose(nn.CrossEntropyCriterion().forward(z, y), -logp[np.arange(9), y].mean())


def test_smoothing_changes_the_numbers(rng):
    z, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5)
    assert nn.CrossEntropyCriterion(label_smoothing=0.1).forward(z, y) != (
        nn.CrossEntropyCriterion().forward(z, y)
    )
    # full smoothing: the target is uniform, the gradient p - 1/K
    g = nn.CrossEntropyCriterion(label_smoothing=1.0).backward(z, y)
    p = np.exp(z - _logsumexp(z)[:, None])
    assert_allclose(g, (p - 1 / 3) / 5, atol=1e-15)


def test_smoothing_keeps_float32(rng):
    z = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.integers(0, 3, 4)
    loss, grad = nn.CrossEntropyCriterion(label_smoothing=0.1).forward_backward(z, y)
    assert grad.dtype == np.float32
    zb = rng.normal(size=(4, 1)).astype(np.float32)
    yb = rng.integers(0, 2, (4, 1))
    assert nn.BCEWithLogitsCriterion(label_smoothing=0.1).backward(zb, yb).dtype == np.float32
    assert nn.ClassNLLCriterion(label_smoothing=0.1).backward(z, y).dtype == np.float32


def test_targets_are_not_modified(rng):
    z, onehot = rng.normal(size=(4, 3)), np.eye(3)[[0, 1, 2, 0]]
    keep = onehot.copy()
    nn.CrossEntropyCriterion(label_smoothing=0.2).forward_backward(z, onehot)
    nn.ClassNLLCriterion(label_smoothing=0.2).backward(z, onehot)
    assert_array_equal(onehot, keep)


def test_repr_errors_and_old_pickles():
    assert repr(nn.CrossEntropyCriterion()) == "nn.CrossEntropyCriterion"
    assert repr(nn.CrossEntropyCriterion(label_smoothing=0.1)) == (
        "nn.CrossEntropyCriterion(label_smoothing=0.1)"
    )
    assert repr(nn.BCEWithLogitsCriterion(label_smoothing=0.2)).endswith("(label_smoothing=0.2)")
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="label_smoothing"):
            nn.CrossEntropyCriterion(label_smoothing=bad)
    # a criterion pickled before the attribute existed reads as unsmoothed
    crit = nn.CrossEntropyCriterion(label_smoothing=0.3)
    del crit.label_smoothing
    clone = pickle.loads(pickle.dumps(crit))
    assert clone.label_smoothing == 0.0
