"""Class weights folded into sample weights, once per fit (every solver then sees
one weight per row: the objective's ``sum_i s_i L_i / sum_i s_i``)."""

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

__all__ = ["sample_weights"]


def sample_weights(class_weight, y, sample_weight):
    """``sample_weight`` times the class weights of ``y`` (``None`` when there are neither).

    'balanced' counts each class by its total sample weight, as scikit-learn's
    ``LogisticRegression`` does: a row of weight 2 counts as two rows.
    """
    if class_weight is None:
        return sample_weight
    if class_weight == "balanced" and sample_weight is not None:
        return sample_weight * _balanced_weights(y, sample_weight)
    cw = compute_sample_weight(class_weight, y)
    return cw if sample_weight is None else sample_weight * cw


def _balanced_weights(y, sample_weight):
    """Per-row ``sum(w) / (n_classes * sum of w in the row's class)``, per output column.

    ``compute_class_weight('balanced', sample_weight=...)``'s formula, with the
    classes of zero total weight left out of ``n_classes`` (as if their rows
    were removed, which is what a zero weight means) instead of dividing by 0.
    """
    Y = np.asarray(y)
    Y = Y.reshape(len(Y), -1)
    weights = np.ones(len(Y))
    for column in Y.T:  # multi-output: the columns' weights multiply
        _, idx = np.unique(column, return_inverse=True)
        counts = np.bincount(idx.ravel(), weights=sample_weight)
        present = counts > 0
        per_class = np.zeros_like(counts)
        per_class[present] = counts.sum() / (present.sum() * counts[present])
        weights *= per_class[idx.ravel()]
    return weights
