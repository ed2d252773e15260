"""The learning-rate schedules are controls, with scikit-learn's numbers and messages."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

from sknn_backprop import MLPClassifier, nn
from sknn_backprop._training.controls import EarlyStopping, TrainingState
from sknn_backprop._training.reporting import VerboseLog
from sknn_backprop._training.schedules import AdaptiveRate, InvScaling


class _Est:
    t_ = 0


def _state(optimizer, controls):
    state = TrainingState(_Est(), np.zeros(3), np.zeros(3), optimizer, controls)
    return state


@pytest.mark.parametrize("power_t", [0.5, 0.25])
def test_invscaling_matches_sklearn(power_t):
    opt = nn.SGD([np.zeros(3)], learning_rate_init=0.2)
    ref = SGDOptimizer([np.zeros(3)], learning_rate_init=0.2, lr_schedule="invscaling",
                       power_t=power_t)  # fmt: skip
    schedule = InvScaling(power_t)
    state = _state(opt, [schedule])
    for _ in range(20):
        state.estimator.t_ += 32
        schedule.on_epoch_end(state)
        ref.iteration_ends(state.estimator.t_)
        assert opt.learning_rate == ref.learning_rate  # the same expression, bit for bit
    assert opt.learning_rate == pytest.approx(0.2 / (20 * 32 + 1) ** power_t)


def _plateaus(controls, stop, state, capsys):
    """Run out of patience until training stops: the rates on the way, what was printed."""
    rates = []
    while True:
        stop.no_improvement_count = stop.n_iter_no_change + 1
        if stop.should_stop(state):
            return rates, capsys.readouterr().out
        assert stop.no_improvement_count == 0  # patience starts over
        rates.append(state.optimizer.learning_rate)


def test_adaptive_rate_matches_sklearn(capsys):
    stop = EarlyStopping(False, tol=1e-4, n_iter_no_change=10)
    state = _state(nn.SGD([np.zeros(3)], learning_rate_init=0.1), [])
    state.controls = [VerboseLog(), stop, AdaptiveRate()]
    rates, out = _plateaus(state.controls, stop, state, capsys)

    ref = SGDOptimizer([np.zeros(3)], learning_rate_init=0.1, lr_schedule="adaptive")
    msg = "Training loss did not improve more than tol=0.000100 for 10 consecutive epochs."
    ref_rates = []
    while not ref.trigger_stopping(msg, verbose=True):
        ref_rates.append(ref.learning_rate)
    assert rates == ref_rates  # divided by 5 each time
    assert out == capsys.readouterr().out  # the same lines as scikit-learn's
    assert_allclose(rates, 0.1 / 5.0 ** np.arange(1, len(rates) + 1))
    assert rates[-1] <= 1e-6 < rates[-2]
    assert out.splitlines()[-1].endswith("Learning rate too small. Stopping.")


def test_without_a_schedule_a_plateau_stops_at_once(capsys):
    stop = EarlyStopping(False, n_iter_no_change=2)
    state = _state(nn.Adam([np.zeros(3)]), [])
    state.controls = [stop]
    assert _plateaus(state.controls, stop, state, capsys) == ([], "")  # silent without verbose
    state.controls = [VerboseLog(), stop, InvScaling()]  # (invscaling has no opinion)
    assert _plateaus(state.controls, stop, state, capsys)[1].endswith(" Stopping.\n")


@pytest.mark.parametrize(
    "solver, schedule_adam, learning_rate, expected",
    [
        ("sgd", False, "invscaling", [InvScaling]),
        ("sgd", False, "adaptive", [AdaptiveRate]),
        ("sgd", False, "constant", []),
        ("adam", False, "invscaling", []),  # scikit-learn keeps Adam's step constant
        ("adam", True, "adaptive", [AdaptiveRate]),
    ],
)
def test_the_estimator_trains_with_its_schedule(solver, schedule_adam, learning_rate, expected):
    from sknn_backprop._training.solvers import schedule_controls

    est = MLPClassifier(solver=solver, schedule_adam=schedule_adam, learning_rate=learning_rate)
    assert [type(c) for c in schedule_controls(est)] == expected


def test_an_optimizer_only_steps():
    opt = nn.SGD([np.zeros(3)])
    for name in ("iteration_ends", "trigger_stopping", "lr_schedule", "power_t"):
        assert not hasattr(opt, name)
