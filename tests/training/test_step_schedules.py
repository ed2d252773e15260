"""The schedules over a fit's steps: their formulas, and that they steer every estimator."""

import math

import numpy as np
import pytest

from sknn_backprop import ConvNetClassifier, MLPClassifier, NeuralNetRegressor
from sknn_backprop.training import CosineSchedule, LinearWarmup, OneCycle


def test_cosine_goes_from_the_initial_rate_to_its_floor():
    s = CosineSchedule(min_factor=0.1)
    assert s.factor(0.0) == 1.0
    assert s.factor(0.5) == pytest.approx(0.55)
    assert s.factor(1.0) == pytest.approx(0.1)


def test_warmup_is_linear_then_flat():
    s = LinearWarmup(warmup=0.25)
    assert [s.factor(t) for t in (0.0, 0.125, 0.25, 0.9)] == [0.0, 0.5, 1.0, 1.0]


def test_one_cycle_is_pytorchs():
    s = OneCycle(pct_start=0.3, div_factor=25.0, final_div_factor=1e4)
    assert s.factor(0.0) == pytest.approx(1 / 25)
    assert s.factor(0.3) == pytest.approx(1.0)
    assert s.factor(1.0) == pytest.approx(1 / 25 / 1e4)
    # halfway up: the mean of the two ends (cosine annealing)
    assert s.factor(0.15) == pytest.approx((1 / 25 + 1) / 2)


class Rates(CosineSchedule):
    """Records the rate of every step."""

    def after_step(self, state):
        self.rates = getattr(self, "rates", []) + [state.optimizer.learning_rate]
        super().after_step(state)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 16))
    return X, (X[:, 0] > 0).astype(int)


def test_a_fit_follows_the_cosine_step_by_step(data):
    X, y = data
    est = MLPClassifier((8,), batch_size=16, max_iter=5, learning_rate_init=0.01,
                        controls=[Rates()], random_state=0).fit(X, y)  # fmt: skip
    rates = est.controls_[0].rates  # the rate each step used (4 batches x 5 epochs)
    total = 20
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * k / total)) for k in range(total)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert est._optimizer.learning_rate == pytest.approx(0.0)  # after the last step


@pytest.mark.parametrize(
    "make",
    [
        lambda c: MLPClassifier((8,), max_iter=4, controls=c, random_state=0),
        lambda c: ConvNetClassifier(conv_filters=(2,), hidden_layer_sizes=(4,), max_iter=2,
                                    input_shape=(4, 4), controls=c, random_state=0),
        lambda c: NeuralNetRegressor(max_iter=4, controls=c, random_state=0),
    ],
)  # fmt: skip
def test_every_estimator_takes_a_schedule(data, make):
    X, y = data
    plain = make(None).fit(X, y)
    scheduled = make([OneCycle()]).fit(X, y)
    assert not np.allclose(plain.loss_curve_, scheduled.loss_curve_)
