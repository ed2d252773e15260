"""Bad input to ``MLPAutoencoder``: a clear error, and a fitted model left exactly as it was.

The conventions of ``test_reliability_input.py``, for a transformer: the
snapshot is the codes and reconstructions of fixed rows plus every weight.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sknn_backprop import MLPAutoencoder

N_FEATURES = 4
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, N_FEATURES))


def _fitted(**params):
    base = dict(hidden_layer_sizes=(3,), max_iter=5, random_state=0, tol=0)
    return MLPAutoencoder(**{**base, **params}).fit(_data())


def _snapshot(ae):
    X = _data(15, seed=1)
    codes = ae.transform(X)
    params = [p.copy() for p in ae.model_.parameters()[0]]
    return codes, ae.inverse_transform(codes), params


def _assert_unchanged(ae, snap):
    codes, recon, params = _snapshot(ae)
    assert_array_equal(codes, snap[0])
    assert_array_equal(recon, snap[1])
    assert len(params) == len(snap[2])
    for a, b in zip(params, snap[2]):
        assert_array_equal(a, b)


def _with(value, at=(3, 2)):
    X = _data()
    X[at] = value
    return X


@pytest.mark.parametrize(
    "bad, msg", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")]
)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "transform", "score"])
@pytest.mark.parametrize("tied", [False, True])
def test_non_finite_X_rejected_and_state_kept(bad, msg, method, tied):
    ae = _fitted(tied_weights=tied)
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match=msg):
        getattr(ae, method)(_with(bad))
    _assert_unchanged(ae, snap)


def test_non_finite_X_on_unfitted_leaves_it_unfitted():
    ae = MLPAutoencoder((3,))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ae.fit(_with(np.nan))
    assert not hasattr(ae, "model_") and not hasattr(ae, "n_features_in_")


@pytest.mark.parametrize("method", ["fit", "partial_fit", "transform"])
def test_empty_arrays(method):
    ae = _fitted()
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match="Found array with 0 sample"):
        getattr(ae, method)(np.empty((0, N_FEATURES)))
    _assert_unchanged(ae, snap)


@pytest.mark.parametrize("method", ["partial_fit", "transform", "score"])
def test_wrong_feature_count(method):
    ae = _fitted()
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match="X has 3 features, but MLPAutoencoder is expecting 4"):
        getattr(ae, method)(_data()[:, :3])
    _assert_unchanged(ae, snap)


def test_inverse_transform_of_wrong_width_or_non_finite_codes():
    ae = _fitted()
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match="expecting 3 features \\(the code size\\)"):
        ae.inverse_transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Input contains NaN"):
        ae.inverse_transform(np.full((2, 3), np.nan))
    _assert_unchanged(ae, snap)


def test_complex_and_object_input():
    ae = _fitted()
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match="Complex data not supported"):
        ae.fit(_data() + 1j)
    with pytest.raises(ValueError, match="could not convert"):
        ae.partial_fit(np.array([["a"] * N_FEATURES] * 5, dtype=object))
    _assert_unchanged(ae, snap)


BAD_PARAMS = [
    ("tied_weights", "yes"),
    ("activity_l1", -1.0),
    ("input_noise", -0.1),
    ("input_dropout", 1.0),
    ("hidden_layer_sizes", "wide"),
    ("early_stopping_metric", "r2"),
    ("solver", "newton"),
]


@pytest.mark.parametrize("name, value", BAD_PARAMS)
def test_bad_hyperparameters(name, value):
    ae = _fitted()
    snap = _snapshot(ae)
    ae.set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of MLPAutoencoder"):
        ae.fit(_data())
    _assert_unchanged(ae, snap)


def test_hidden_sizes_must_be_positive_ints():
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPAutoencoder((4, 0)).fit(_data())


def test_bagging_refused_and_state_kept():
    ae = _fitted()
    snap = _snapshot(ae)
    with pytest.raises(ValueError, match="Invalid parameter 'n_estimators'"):
        ae.set_params(n_estimators=2)
    _assert_unchanged(ae, snap)


def test_failed_refit_inside_training_restores_the_model():
    ae = _fitted()
    snap = _snapshot(ae)
    ae.set_params(early_stopping=True, validation_fraction=0.01)  # too small a split
    with pytest.raises(ValueError, match="validation set is too small"):
        ae.fit(_data())
    _assert_unchanged(ae, snap)


def test_failed_partial_fit_keeps_weights_shared_and_training_going():
    ae = _fitted(tied_weights=True)
    snap = _snapshot(ae)
    with pytest.raises(ValueError):
        ae.partial_fit(_with(np.nan))
    _assert_unchanged(ae, snap)
    decoder = ae.model_.modules[-2]
    assert decoder.tied is ae.model_.modules[0]  # the restored copy still ties the weights
    ae.partial_fit(_data())
    assert np.shares_memory(decoder.weight, ae.coefs_[0])


def test_partial_fit_with_early_stopping_rejected():
    ae = _fitted()
    snap = _snapshot(ae)
    ae.set_params(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        ae.partial_fit(_data())
    _assert_unchanged(ae, snap)


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "score"])
def test_methods_before_fit(method):
    with pytest.raises(NotFittedError):
        getattr(MLPAutoencoder(), method)(_data())
