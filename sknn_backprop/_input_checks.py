"""Cheap checks of what the user passed, which warn instead of failing.

``warn_if_validation_unscaled``: ``X_val`` handed to ``fit`` is used exactly as
given -- inside a ``Pipeline`` it skips the earlier steps -- so unscaled
validation rows next to scaled training rows give early stopping a wrong
validation curve and no error.  The tell is cheap to see: after any scaler,
the training rows fill a range per feature, and correctly transformed
validation rows fall inside it or near it.
"""

import warnings

import numpy as np

__all__ = ["warn_if_validation_unscaled"]

#: share of the validation values far outside their feature's training range that warns
UNSCALED_SHARE = 0.05


def warn_if_validation_unscaled(X, X_val):
    """Warn when many values of ``X_val`` lie far outside the training range of ``X``.

    A value is *far outside* when it is beyond the training minimum or maximum
    of its feature by more than the width of that range (``max - min``; at
    least ``1e-12 + 1e-3 * |max|`` for constant features).  Validation rows
    drawn from the training distribution almost never are (the same range
    twice over); raw features next to standardised ones typically are in a
    large share of their values.  Warns when more than ``UNSCALED_SHARE`` (5%)
    of the values are.  Dense arrays only (sparse input is not checked).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training rows, as the network sees them.
    X_val : ndarray of shape (n_val_samples, n_features) or None
        The validation rows given to ``fit``.
    """
    if X_val is None or not isinstance(X, np.ndarray) or not isinstance(X_val, np.ndarray):
        return
    if X.size == 0 or X_val.size == 0 or X.shape[1] != X_val.shape[1]:
        return
    lo, hi = X.min(axis=0), X.max(axis=0)
    width = np.maximum(hi - lo, 1e-12 + 1e-3 * np.abs(hi))
    far = (X_val < lo - width) | (X_val > hi + width)
    share = float(far.mean())
    if share > UNSCALED_SHARE:
        warnings.warn(
            f"X_val does not look like X: {share:.0%} of its values lie outside their "
            "feature's training range by more than the range's width. X_val is used as "
            "given: in a Pipeline it does not go through the earlier steps (a scaler), so "
            "transform it with them first, e.g. pipe[:-1].transform(X_val) "
            "(docs/estimators.rst, 'Your own validation set, and pipelines').",
            UserWarning,
        )
