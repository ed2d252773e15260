"""Training controls, for the ``controls`` parameter of every estimator.

A control is a small object that the training core calls at fixed points
(``on_train_begin``, ``on_epoch_begin``, ``after_gradient``, ``after_step``,
``on_epoch_end``, ``schedule``, ``should_stop``, ``on_plateau``, ``on_message``,
``on_train_end``: :class:`Control` lists them).  The estimators build the built-in
ones (``verbose`` printing, early stopping, the divergence guard, the
``learning_rate`` schedule, gradient clipping, max-norm, progress reporting:
``sknn_backprop/_training/``) from their hyperparameters, and run the user's after
them; with L-BFGS only the user's controls and progress reporting run.  Subclass
:class:`Control` and override the hooks you need::

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
``controls_`` (``partial_fit`` and warm starts continue with them until
``set_params(controls=...)`` gives new ones), so a control may keep state.  See
``docs/architecture.rst`` for the order of the calls in one training step.
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
