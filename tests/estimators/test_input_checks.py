"""Unscaled validation rows next to scaled training rows warn (issue 24)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sknn_backprop import MLPClassifier
from sknn_backprop._input_checks import warn_if_validation_unscaled

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = load_digits(return_X_y=True)
X_tr, X_val, y_tr, y_val = train_test_split(X, y, random_state=0)


def _pipe():
    return make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, max_iter=3, random_state=0))  # fmt: skip


def _user_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if w.category is UserWarning]


def test_raw_x_val_in_a_pipeline_warns():
    # before: early stopping scored the raw rows on the scaled network, with no sign
    pipe = _pipe()
    with pytest.warns(UserWarning, match="X_val does not look like X.*pipe\\[:-1\\]"):
        pipe.fit(X_tr, y_tr, mlpclassifier__X_val=X_val, mlpclassifier__y_val=y_val)


def test_transformed_x_val_does_not_warn():
    pipe = _pipe()
    seen = pipe[:-1].fit(X_tr, y_tr).transform(X_val)
    call = lambda: pipe.fit(X_tr, y_tr, mlpclassifier__X_val=seen, mlpclassifier__y_val=y_val)  # noqa: E731
    assert _user_warnings(call) == []


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler()])
@pytest.mark.parametrize("seed", range(5))
def test_held_out_rows_of_the_same_data_never_warn(scaler, seed):
    a, b = train_test_split(X, random_state=seed, test_size=0.1)
    s = scaler.fit(a)
    assert _user_warnings(lambda: warn_if_validation_unscaled(s.transform(a), s.transform(b))) == []
    assert _user_warnings(lambda: warn_if_validation_unscaled(s.transform(a), b))  # raw: warns


def test_sparse_or_missing_x_val_is_not_checked():
    import scipy.sparse as sp

    assert _user_warnings(lambda: warn_if_validation_unscaled(sp.csr_matrix(X), X * 100)) == []
    assert _user_warnings(lambda: warn_if_validation_unscaled(X, None)) == []
    assert np.isfinite(X).all()
