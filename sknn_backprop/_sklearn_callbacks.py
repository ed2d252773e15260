"""scikit-learn's callback API (``sklearn.callback``), where the installed version has it.

Where scikit-learn has it (1.9+), every estimator has ``set_callbacks`` and reports
one task per epoch (or per L-BFGS iteration) under its fit task, through the
:class:`~._training.reporting.ProgressReport` control, so ``ProgressBar`` and the
scoring monitors work, also nested in ``GridSearchCV`` or a ``Pipeline``.  A
callback's ``on_fit_task_end`` returning ``True`` stops training after that epoch.
On older scikit-learn the mixin is an empty class and nothing reports.

(Not to be confused with the training *controls*, :mod:`sknn_backprop.training`,
which are this package's own hooks into the loop.)
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9: no callback API

    class CallbackSupportMixin:
        """Placeholder: this scikit-learn has no callback API."""


__all__ = ["CallbackSupportMixin", "listening"]


def listening(est):
    """Whether a ``sklearn.callback`` listens to ``est`` (set on it, or propagated)."""
    has_api = hasattr(est, "_init_callback_context")
    return has_api and (hasattr(est, "_skl_callbacks") or hasattr(est, "_parent_callback_ctx"))
