"""The validation set of early stopping, and the metrics scored on it."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split

__all__ = ["split_validation", "validation_metrics"]


def split_validation(est, X, Y, y, sample_weight, val):
    """``(X_train, Y_train, sw_train, (X_val, Y_val, y_val, sw_val))``.

    ``val`` is the user's ``(X_val, y_val, sw_val)`` (or a bagging member's
    out-of-bag rows); without it, ``validation_fraction`` of the rows are held
    out as scikit-learn does: stratified on the encoded target when it is one
    column, with the estimator's random state.
    """
    if val is not None:
        X_val, y_val, sw_val = val
        return X, Y, sample_weight, (X_val, _encode(est, y_val), y_val, sw_val)
    stratify = Y.astype(bool) if (is_classifier(est) and est.n_outputs_ == 1) else None
    arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
    parts = train_test_split(
        *arrays,
        random_state=est._random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    X_tr, X_val, Y_tr, Y_val, _, y_val = parts[:6]
    sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return X_tr, Y_tr, sw_tr, (X_val, Y_val, y_val, sw_val)


def _encode(est, y_val):
    return (
        est._validate_targets(y_val, incremental=True, reset=False)
        .astype(est.model_.parameters()[0][0].dtype)
        .reshape(len(y_val), -1)
    )


def validation_metrics(est, X_val, Y_val, y_val, sw_val):
    """``(score, loss)`` of the network on the validation set, from one eval-mode pass.

    The score is the estimator's ``score`` metric (accuracy, R^2); the loss is
    the training criterion without penalties.  Non-finite outputs give NaNs.
    """
    _, criterion, fused = est._output_spec()
    raw_in = est._infer(X_val, upto=-1 if fused else None)
    with np.errstate(all="ignore"):
        loss = float(criterion.forward(raw_in, Y_val, sw_val))
        raw = est.model_.modules[-1].infer(raw_in) if fused else raw_in
    if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
        return np.nan, np.nan
    return float(est._score_function(y_val, est._decode(raw), sample_weight=sw_val)), loss
