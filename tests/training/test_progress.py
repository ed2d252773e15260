"""sklearn.callback.ProgressBar (the ``progress`` extra, rich) draws our fits' epochs."""

import warnings

import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

callback = pytest.importorskip("sklearn.callback")
pytest.importorskip("rich")

from sknn_backprop import MLPClassifier  # noqa: E402


def test_progress_bar_runs_through_a_fit():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_callbacks(callback.ProgressBar()).fit(X, y)
    assert clf.n_iter_ == 5
    reference = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
    assert clf.loss_curve_ == reference.loss_curve_  # the bar changes nothing in the fit
