"""A failed ``fit`` / ``partial_fit`` leaves the model as it was."""

import copy
from contextlib import contextmanager

__all__ = ["transaction"]


@contextmanager
def transaction(est, incremental):
    """Undo every change to ``est`` if the body raises.

    Training changes arrays in place when it continues a fitted model
    (``partial_fit``, ``warm_start``), so that case keeps a deep copy; a fresh
    fit builds new arrays and a shallow copy of the attributes is enough.
    Callbacks and their contexts are kept by reference: they may hold threads
    and queues, and are not model state.
    """
    fitted = hasattr(est, "model_") or hasattr(est, "estimators_")
    # coefs_ that are the network's views are rebuilt on restore; assigned ones are kept
    views = "model_" in est.__dict__ and est._views_current()
    if fitted and (incremental or est.warm_start):
        shared = {k: v for k, v in est.__dict__.items() if "callback" in k}
        saved = copy.deepcopy({k: v for k, v in est.__dict__.items() if k not in shared})
        saved.update(shared)
    else:
        saved = dict(est.__dict__)
    try:
        yield
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        if views:
            est._refresh_views()  # a deep copy's coefs_ are no longer views
        raise
