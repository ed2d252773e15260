"""A failed ``fit`` / ``partial_fit`` leaves the model as it was."""

import copy
from contextlib import contextmanager

__all__ = ["transaction"]


@contextmanager
def transaction(obj, deep, after_restore=None):
    """Undo every change to ``obj``'s attributes if the body raises.

    Training changes arrays in place when it continues a fitted model
    (``partial_fit``, ``warm_start``): pass ``deep=True`` there, and a deep
    copy is kept; a fresh fit builds new arrays and a shallow copy of the
    attributes is enough.  Attributes whose names hold "callback" are kept by
    reference: they may hold threads and queues, and are not model state.
    ``after_restore()`` runs after a restore (the estimator re-binds its views).
    """
    if deep:
        shared = {k: v for k, v in obj.__dict__.items() if "callback" in k}
        saved = copy.deepcopy({k: v for k, v in obj.__dict__.items() if k not in shared})
        saved.update(shared)
    else:
        saved = dict(obj.__dict__)
    try:
        yield
    except BaseException:
        obj.__dict__.clear()
        obj.__dict__.update(saved)
        if after_restore is not None:
            after_restore()
        raise
