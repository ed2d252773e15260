"""The validation split of early stopping."""

from sklearn.model_selection import train_test_split

from .plan import ValidationSet

__all__ = ["split_validation"]


def split_validation(X, Y, y, sample_weight, fraction, random_state, stratify=False):
    """Hold out ``fraction`` of the rows: ``(X_train, Y_train, sw_train, ValidationSet)``.

    As scikit-learn's MLP: ``train_test_split`` with the estimator's random
    state, stratified on the encoded target when ``stratify`` (a classifier with
    one output column).
    """
    arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
    parts = train_test_split(
        *arrays,
        random_state=random_state,
        test_size=fraction,
        stratify=Y.astype(bool) if stratify else None,
    )
    X_tr, X_val, Y_tr, Y_val, _, y_val = parts[:6]
    sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return X_tr, Y_tr, sw_tr, ValidationSet(X_val, Y_val, y_val, sw_val)
