"""Warnings raised during ``fit``, attributed to the user's line.

A warning raised deep inside the training loop (``ConvergenceWarning``, the
divergence guard's, a clipped ``batch_size``, scikit-learn's
``DataConversionWarning`` from target validation, numpy's overflow warnings)
would name a file of this package, so the user cannot tell which of their
calls it came from.  :class:`user_warnings` records every warning raised in
its body and raises each again on exit, from the first frame of the call stack
that is neither this package nor scikit-learn, joblib or threadpoolctl: the
user's ``fit`` / ``partial_fit`` line, also through a ``Pipeline``, a grid search
or ``cross_val_score``.  The user's filters apply there as usual (filter by
category, e.g. ``filterwarnings("ignore", category=ConvergenceWarning)``; a
``module=`` filter matches the user's module).  The filters also apply where
the warning is raised, first: a warning they ignore there (e.g. with
``module="sknn_backprop"``) is not recorded, and one they turn into an error
raises there, as before.  Repeats of one message are raised once.

``warnings.catch_warnings`` changes process-wide state, so only a fit in the
main thread re-points its warnings; fits in other threads (joblib's threading
backend) warn from where the warning was raised, as before.
"""

import os
import sys
import threading
import warnings

import joblib
import sklearn

__all__ = ["user_warnings"]


def _package_dir(module):
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


_PACKAGE = _package_dir(sys.modules[__package__])
_INTERNAL = (_PACKAGE, _package_dir(sklearn), _package_dir(joblib))
#: scripts of this package that are user code (``python -m sknn_backprop``)
_SCRIPTS = (os.path.join(_PACKAGE, "__main__.py"),)


def _internal(filename):
    filename = os.path.abspath(filename)
    if filename in _SCRIPTS:
        return False
    return filename.startswith(_INTERNAL) or os.path.basename(filename) in (
        "threadpoolctl.py",
        "contextlib.py",
    )


def user_stacklevel():
    """The ``stacklevel`` that points its caller's ``warnings.warn`` at the user's frame.

    Without a user frame (a joblib worker) the outermost frame is used.
    """
    frame = sys._getframe(1)  # the caller, which warns: stacklevel 1
    level = 1
    while frame.f_back is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


class user_warnings:
    """Context manager: re-raise the warnings of its body at the user's line on exit.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with user_warnings():
    ...         warnings.warn("inside")
    >>> [str(w.message) for w in caught]
    ['inside']
    """

    def __enter__(self):
        self._catcher = None
        if threading.current_thread() is threading.main_thread():
            self._catcher = warnings.catch_warnings(record=True)
            self._records = self._catcher.__enter__()
            # no simplefilter("always") here: the user's filters apply where each warning
            # is raised (a module="sknn_backprop" filter, "error"), and joblib workers of
            # bagging (sklearn.utils.parallel) get the user's filters, not ours
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._catcher is None:
            return False
        records = self._records
        self._catcher.__exit__(exc_type, exc, tb)
        seen = set()
        for record in records:
            key = (record.category, str(record.message))
            if key in seen:
                continue
            seen.add(key)
            try:
                warnings.warn(record.message, record.category, stacklevel=user_stacklevel())
            except Warning:  # an "error" filter: raise it, unless fit is failing anyway
                if exc_type is None:
                    raise
        return False
