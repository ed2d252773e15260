"""Training that continues (partial_fit, warm starts, old pickles) gives the numbers it
gave before the controls kept their own state, and scikit-learn's where it has them."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from sknn_backprop import MLPClassifier, MLPRegressor
from sknn_backprop.training import Control

DATA = Path(__file__).resolve().parents[1] / "data"
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def clf_data():
    return make_classification(120, 6, random_state=0)


def _old(name):
    # pickled by the package as it was before this change (58a138b): MLPClassifier((5,),
    # max_iter=4, random_state=0, ...) fitted on make_classification(120, 6, random_state=0)
    with open(DATA / name, "rb") as f:
        return pickle.load(f)


def test_an_old_pickle_continues_its_adaptive_schedule_and_patience(clf_data):
    X, y = clf_data
    est = _old("old_sgd_adaptive.pkl")  # sgd, learning_rate='adaptive', n_iter_no_change=3
    for _ in range(3):
        est.partial_fit(X, y)
    # the numbers the old package gives for the same calls
    assert est._no_improvement_count == 2
    assert est.best_loss_ == pytest.approx(0.7534894308129474, rel=1e-12)
    assert est._optimizer.learning_rate == pytest.approx(2e-4, rel=1e-12)
    assert np.sum(est.coefs_[0]) == pytest.approx(3.596476429036786, rel=1e-12)


def test_an_old_pickle_warm_starts_its_early_stopping(clf_data):
    X, y = clf_data
    est = _old("old_warm_es.pkl")  # early_stopping=True, n_iter_no_change=3, warm_start
    est.set_params(max_iter=3).fit(X, y)
    assert est.validation_scores_ == pytest.approx([5 / 12] * 4 + [1 / 3])  # old + new
    assert est._no_improvement_count == 4
    assert np.sum(est.coefs_[0]) == pytest.approx(3.5926719198053565, rel=1e-12)


def test_partial_fit_keeps_the_schedule_it_started_with_as_scikit_learn():
    X, y = make_regression(100, 5, random_state=0)
    y = y / 100
    kw = dict(hidden_layer_sizes=(5,), random_state=0, solver="sgd", learning_rate="invscaling")
    ours, theirs = MLPRegressor(**kw), SkMLPRegressor(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in (ours, theirs):
            for _ in range(2):
                est.partial_fit(X, y)
            est.set_params(learning_rate="constant")  # the optimizer (and schedule) stay
            for _ in range(2):
                est.partial_fit(X, y)
    assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


class StopAtOnce(Control):
    def on_epoch_end(self, state):
        state.request_stop()


def test_a_stopped_epoch_does_not_advance_the_schedule():
    X, y = make_regression(60, 4, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling",
                       controls=[StopAtOnce()], random_state=0)  # fmt: skip
    for _ in range(3):
        est.partial_fit(X, y)
    # scikit-learn's rule: the rate moves only after an epoch that training goes on from
    assert est._optimizer.learning_rate == est.learning_rate_init


def test_a_stochastic_warm_start_after_lbfgs_continues_its_best_loss(clf_data):
    X, y = clf_data
    est = MLPClassifier((5,), max_iter=30, random_state=0, solver="lbfgs", warm_start=True,
                        n_iter_no_change=1, tol=1e-3).fit(X, y)  # fmt: skip
    lbfgs_best = est.best_loss_
    est.set_params(solver="sgd", max_iter=10, learning_rate_init=1e-4).fit(X, y)
    assert est.n_iter_ == 2  # patience 1 counted from L-BFGS's best loss (as before)
    assert est.best_loss_ <= lbfgs_best


def test_early_stopping_does_not_pickle_the_calls_validation_rows(clf_data):
    X, y = clf_data
    sizes = []

    class Checkpoint(Control):
        def on_epoch_end(self, state):
            sizes.append(len(pickle.dumps(state.estimator._stopping)))

    est = MLPClassifier((5,), max_iter=2, early_stopping=True, controls=[Checkpoint()],
                        random_state=0).fit(X, y)  # fmt: skip
    assert max(sizes) < 2000  # counters and curves only, no rows
    assert est._stopping.validation is None and est._stopping.scorer is None


def test_partial_fit_after_an_early_stopping_fit():
    """A fit that validated, then ``early_stopping=False`` and ``partial_fit``: the
    training loss starts its own best (scikit-learn's MLP fails comparing with None)."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), early_stopping=True, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.best_loss_ is None
    clf.set_params(early_stopping=False).partial_fit(X, y)
    assert clf.best_loss_ == clf.loss_curve_[-1]
