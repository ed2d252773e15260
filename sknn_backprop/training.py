"""Training controls, for the ``controls`` parameter of every estimator.

A control is a small object that the training loop calls at fixed points
(after each gradient, after each optimizer step, at the end of each epoch).  The
estimators build the built-in ones (early stopping, gradient clipping, max-norm,
the divergence guard: ``sknn_backprop/_training/controls.py``) from their
hyperparameters, and run the user's after them.  Subclass :class:`Control` and
override the hooks you need::

    from sknn_backprop import MLPClassifier
    from sknn_backprop.training import Control

    class StopBelow(Control):
        def __init__(self, loss):
            self.loss = loss

        def should_stop(self, state):
            return state.estimator.loss_ < self.loss

    MLPClassifier(controls=[StopBelow(0.05)])

Learning-rate schedules over a fit's steps are controls too:
``MLPClassifier(controls=[CosineSchedule()])`` (also :class:`LinearWarmup` and
:class:`OneCycle`; scikit-learn's ``learning_rate`` schedules are built in).

Each fit trains with deep copies of ``controls``, kept in the fitted attribute
``controls_`` (``partial_fit`` and warm starts continue with them), so a
control may keep state.  See ``docs/architecture.rst`` for the order of the
calls in one training step.
"""

from ._training.controls import Control, TrainingState
from ._training.schedules import CosineSchedule, LinearWarmup, OneCycle, StepSchedule

__all__ = [
    "Control",
    "TrainingState",
    "StepSchedule",
    "CosineSchedule",
    "LinearWarmup",
    "OneCycle",
]
