"""Reporting controls: ``verbose`` printing and progress for ``sklearn.callback``.

Both are ordinary training controls, called the same way by the minibatch loop
and by L-BFGS:

- :class:`VerboseLog` prints scikit-learn's lines (``Iteration %d, loss = ...``,
  the validation score, why training stopped) -- every other control says what
  it has to say through :meth:`~.controls.TrainingState.say`, and only this one
  prints;
- :class:`ProgressReport` reports one task per epoch (or L-BFGS iteration) to
  scikit-learn's callback API under the fit's root task; a callback whose
  ``on_fit_task_end`` returns ``True`` stops training after that epoch.
"""

from .controls import Control

__all__ = ["VerboseLog", "ProgressReport"]


class VerboseLog(Control):
    """``verbose=True``: print each epoch's loss and what the other controls say."""

    def on_epoch_end(self, state):
        est = state.estimator
        print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))

    def on_message(self, state, text):
        print(text)


class ProgressReport(Control):
    """One ``sklearn.callback`` subtask per epoch, under the fit's root task.

    Parameters
    ----------
    root : callback context
        The fit's root task (``estimator._init_callback_context(...)``), not yet begun.
    estimator, X, y
        What the callbacks are told about.
    snapshot : callable
        ``snapshot() -> dict``: the fitted attributes of the network as it is
        now, for callbacks that evaluate a fit in progress.
    task_name : str, default='epoch'
    """

    def __init__(self, root, estimator, X, y, snapshot, task_name="epoch"):
        self._root, self._est, self._X, self._y = root, estimator, X, y
        self._snapshot, self.task_name = snapshot, task_name
        self._sub = None

    def _context(self):
        return {"estimator": self._est, "X": self._X, "y": self._y}

    def on_train_begin(self, state):
        self._root.call_on_fit_task_begin(**self._context())

    def on_epoch_begin(self, state):
        self._sub = self._root.subcontext(task_name=self.task_name)
        self._sub.call_on_fit_task_begin(**self._context())

    def on_epoch_end(self, state):
        sub, self._sub = self._sub, None
        if sub.call_on_fit_task_end(**self._context(), reconstruction_attributes=self._snapshot):
            state.request_stop()  # a callback asked to stop

    def on_train_end(self, state):
        if self._sub is not None:  # a subtask that never ran (L-BFGS's last)
            self._sub.call_on_fit_task_end(estimator=self._est)
            self._sub = None
        self._root.call_on_fit_task_end(
            **self._context(), reconstruction_attributes=self._snapshot
        )
