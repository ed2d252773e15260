"""Warnings raised during fit point at the user's line (issue 24)."""

import threading
import warnings

import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPAutoencoder, MLPClassifier, MLPRegressor

X, y = load_iris(return_X_y=True)


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


def _where(caught, category):
    return [(w.filename, w.lineno) for w in caught if issubclass(w.category, category)]


@pytest.mark.parametrize(
    "call",
    [
        lambda: MLPClassifier(max_iter=2, random_state=0).fit(X, y),
        lambda: MLPClassifier(batch_size=10**4).partial_fit(X, y, classes=[0, 1, 2]),
        lambda: MLPRegressor(max_iter=2, random_state=0).fit(X, X[:, 0]),
        lambda: MLPClassifier(solver="lbfgs", max_iter=2, random_state=0).fit(X, y),
        lambda: MLPClassifier(solver="sgd", learning_rate_init=1e3, random_state=0).fit(X, y),
        lambda: MLPAutoencoder((2,), max_iter=2, random_state=0).fit(X),
        lambda: MLPClassifier(max_iter=2, n_estimators=2, random_state=0).fit(X, y),
        lambda: make_pipeline(StandardScaler(), MLPClassifier(max_iter=2)).fit(X, y),
        lambda: cross_val_score(MLPClassifier(max_iter=2), X, y, cv=2),
    ],
    ids=["fit", "partial_fit", "regressor", "lbfgs", "diverged", "autoencoder", "bagged",
         "pipeline", "cross_val_score"],  # fmt: skip
)
def test_warnings_of_fit_point_at_the_users_line(call):
    # ConvergenceWarning (partial_fit: the clipped batch_size's UserWarning); before they
    # named sknn_backprop/_training/loop.py:165, controls.py or sklearn/utils/optimize.py
    where = _where(_caught(call), Warning)
    assert where and {f for f, _ in where} == {__file__}


def test_scikit_learns_own_warnings_during_fit_point_at_the_user_too():
    caught = _caught(lambda: MLPRegressor(max_iter=2).fit(X, X[:, :1]))  # y as a column
    assert {f for f, _ in _where(caught, DataConversionWarning)} == {__file__}


def test_a_warning_repeated_by_every_epoch_or_member_is_raised_once():
    caught = _caught(lambda: MLPClassifier(max_iter=2, n_estimators=3, random_state=0).fit(X, y))
    assert len(_where(caught, ConvergenceWarning)) == 1


def test_category_filters_apply_and_error_filters_roll_back():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        MLPClassifier(max_iter=2).fit(X, y)
    assert not _where(caught, ConvergenceWarning)
    est = MLPClassifier(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            est.fit(X, y)
    assert not hasattr(est, "model_")  # the failed fit left it unfitted


def test_a_fit_in_another_thread_still_warns():
    caught = []

    def run():
        with warnings.catch_warnings(record=True) as c:
            warnings.simplefilter("always")
            MLPClassifier(max_iter=2).fit(X, y)
        caught.extend(c)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert _where(caught, ConvergenceWarning)
