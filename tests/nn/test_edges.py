"""Engine edges found against PyTorch (issue 24): each test failed before its fix."""

import numpy as np
import pytest

from sknn_backprop import nn


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_a_minus_inf_logit_is_finite(weighted):
    # PyTorch: F.cross_entropy(tensor([[1, -inf, 0.5]]), tensor([0])) = 0.4741
    x = np.array([[1.0, -np.inf, 0.5]])
    sw = np.array([2.0]) if weighted else None
    loss, grad = nn.CrossEntropyCriterion().forward_backward(x, np.array([0]), sw)
    assert loss == pytest.approx(0.4740769841801067, rel=1e-14)
    assert np.isfinite(grad).all() and grad[0, 1] == 0
    assert nn.CrossEntropyCriterion().forward(x, np.array([[1.0, 0.0, 0.0]])) == pytest.approx(
        0.4740769841801067, rel=1e-14
    )


def test_class_nll_with_a_minus_inf_log_probability_is_finite():
    out = np.array([[np.log(0.5), -np.inf, np.log(0.5)]])
    assert nn.ClassNLLCriterion().forward(out, np.array([0])) == pytest.approx(np.log(2))
    # the targeted class at -inf: an infinite loss, as PyTorch's
    assert nn.ClassNLLCriterion().forward(out, np.array([1])) == np.inf


@pytest.mark.parametrize("criterion", [nn.CrossEntropyCriterion(), nn.ClassNLLCriterion()])
@pytest.mark.parametrize("bad", [-1, 3])
def test_class_index_out_of_range_raises(criterion, bad):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=f"Target {bad} is out of bounds"):
        criterion.forward(x, np.array([0, bad]))


def test_prelu_backward_keeps_float32():
    prelu = nn.PReLU()
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    prelu.forward(x)
    assert prelu.backward(x, np.ones_like(x)).dtype == np.float32


@pytest.mark.parametrize("first", [True, False])
def test_max_pool_sends_the_gradient_of_a_nan_window_to_the_nan(first):
    # PyTorch's rule: NaN is the maximum of its window
    x = np.array([[[[np.nan, 1.0], [3.0, 2.0]]]]) if first else np.array(
        [[[[1.0, np.nan], [3.0, 2.0]]]]
    )
    pool = nn.MaxPool2d(2)
    assert np.isnan(pool.forward(x)).all()
    gi = pool.backward(x, np.ones((1, 1, 1, 1)))
    assert_nan_gets_it = gi[np.isnan(x)]
    assert assert_nan_gets_it.tolist() == [1.0] and gi.sum() == 1.0


def test_max_pool_without_nan_is_unchanged():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    pool = nn.MaxPool2d(2)
    pool.forward(x)
    gi = pool.backward(x, np.ones((1, 1, 2, 2)))
    assert gi[0, 0, 1, 1] == gi[0, 0, 3, 3] == 1 and gi.sum() == 4


@pytest.mark.parametrize(
    "cls, words",
    [
        (nn.optim.SGD, ["PyTorch", "velocity"]),
        (nn.optim.Adam, ["PyTorch", "eps"]),
        (nn.optim.AdamW, ["eps", "scikit-learn"]),
        (nn.Linear, ["reused"]),
        (nn.MaxPool2d, ["reused", "NaN"]),
    ],
)
def test_docstrings_say_how_they_differ_from_pytorch(cls, words):
    for word in words:
        assert word in cls.__doc__
