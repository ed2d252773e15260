"""Progress reporting through scikit-learn's callback API (``sklearn.callback``).

Where the installed scikit-learn has it (1.9+), every estimator has
``set_callbacks`` and reports one task per epoch (or per L-BFGS iteration) under
its fit task, so ``ProgressBar`` and the scoring monitors work, also nested in
``GridSearchCV`` or a ``Pipeline``.  A callback's ``on_fit_task_end`` returning
``True`` stops training after that epoch.  On older scikit-learn the mixin is an
empty class and the training loop skips all of this.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9: no callback API

    class CallbackSupportMixin:
        """Placeholder: this scikit-learn has no callback API."""


__all__ = ["CallbackSupportMixin", "progress"]


class _NoProgress:
    """What the loop talks to when nobody listens: every hook is a no-op."""

    def begin(self, task_name):
        pass

    def end(self):
        return False

    def close(self):
        pass


_NO_PROGRESS = _NoProgress()


class _Progress:
    """One root task for the fit, one subtask per epoch / iteration."""

    def __init__(self, est, X, y, max_subtasks):
        self.est, self.X, self.y = est, X, y
        self.root = est._init_callback_context(max_subtasks=max_subtasks)
        self.root.call_on_fit_task_begin(estimator=est, X=X, y=y)
        self.sub = None

    def begin(self, task_name):
        self.sub = self.root.subcontext(task_name=task_name)
        self.sub.call_on_fit_task_begin(estimator=self.est, X=self.X, y=self.y)

    def end(self):
        """End the current subtask; ``True`` when a callback asks to stop."""
        sub, self.sub = self.sub, None
        return bool(
            sub.call_on_fit_task_end(
                estimator=self.est,
                X=self.X,
                y=self.y,
                reconstruction_attributes=self.est._reconstruction_attributes,
            )
        )

    def close(self):
        if self.sub is not None:  # a subtask that never ran (L-BFGS's last)
            self.sub.call_on_fit_task_end(estimator=self.est)
        self.root.call_on_fit_task_end(
            estimator=self.est,
            X=self.X,
            y=self.y,
            reconstruction_attributes=self.est._reconstruction_attributes,
        )


def progress(est, X, y, max_subtasks):
    """The reporter for one fit: real only when callbacks are set or propagated."""
    listening = hasattr(est, "_skl_callbacks") or hasattr(est, "_parent_callback_ctx")
    if not listening or not hasattr(est, "_init_callback_context"):
        return _NO_PROGRESS
    return _Progress(est, X, y, max_subtasks)
