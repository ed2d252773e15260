"""scikit-learn's callback API (``sklearn.callback``): per-epoch progress, nested too."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sknn_backprop import MLPClassifier, MLPRegressor

pytest.importorskip("sklearn.callback")

X, y = load_digits(return_X_y=True)
X = X[:300] / 16
y = y[:300]


class Recorder:
    """A FitCallback (auto-propagated: it has ``max_propagation_depth``) that logs hooks."""

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        score = None if fitted_estimator is None else fitted_estimator.score(X, y)
        self.events.append(("end", context.task_name, score))
        return (
            self.stop_after is not None
            and context.task_name in ("epoch", "lbfgs-iter")
            and (context.task_id + 1 >= self.stop_after)
        )


def _ends(rec, name):
    return [e for e in rec.events if e[0] == "end" and e[1] == name]


def test_one_task_per_epoch_with_a_usable_snapshot():
    rec = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(max_iter=6, random_state=0).set_callbacks(rec).fit(X, y)
    assert rec.events[0] == ("setup", "MLPClassifier")
    assert rec.events[-1] == ("teardown", "MLPClassifier")
    epochs = _ends(rec, "epoch")
    assert len(epochs) == est.n_iter_ == 6
    scores = [e[2] for e in epochs]
    assert scores[-1] > scores[0]  # each snapshot is the network as it was then
    assert _ends(rec, "fit")[0][2] == pytest.approx(est.score(X, y))
    assert not hasattr(est, "_callback_fit_ctx")  # torn down after fit


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_can_stop_training(solver):
    rec = Recorder(stop_after=3)
    est = MLPRegressor(max_iter=50, random_state=0, solver=solver, tol=0)
    est.set_callbacks(rec).fit(X, y.astype(float))
    assert est.n_iter_ == 3
    assert np.isfinite(est.predict(X)).all()


def test_propagated_from_grid_search():
    rec = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(
            MLPClassifier(max_iter=2, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=2
        ).set_callbacks(rec).fit(X, y)
    # 2 candidates x 2 folds + the refit, two epochs each
    assert len(_ends(rec, "epoch")) == 2 * 5


def test_no_callbacks_no_context():
    est = MLPClassifier(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert not hasattr(est, "_skl_callbacks")


def test_callbacks_survive_partial_fit_and_are_not_copied():
    """partial_fit snapshots the model to roll back on errors; callbacks (which may hold
    locks and threads) are kept by reference, not deep-copied."""
    import threading

    class Locked(Recorder):
        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()  # not deep-copyable

    rec = Locked()
    est = MLPClassifier(max_iter=3, random_state=0).set_callbacks(rec)
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    assert est._skl_callbacks[0] is rec
    assert len(_ends(rec, "epoch")) == 2


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_bagged_fit_reports_one_task_per_member(n_jobs):
    rec = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(max_iter=3, n_estimators=3, n_jobs=n_jobs, random_state=0)
        est.set_callbacks(rec).fit(X, y)
    if n_jobs is None:
        # serial members: each member's own fit task is merged into its "member" task
        # of the ensemble (scikit-learn's propagation), with its epochs nested inside
        assert len(_ends(rec, "fit")) == 3 + 1
        assert len(_ends(rec, "epoch")) == 3 * 3
    else:  # members trained in workers: one task each, reported as they come back
        assert len(_ends(rec, "member")) == 3
    assert rec.events[-1] == ("teardown", "MLPClassifier")
    assert not hasattr(est.estimators_[0], "_callback_fit_ctx")
    assert not hasattr(est.estimators_[0], "_parent_callback_ctx")


def test_a_control_stopping_training_still_ends_the_epochs_task():
    from sknn_backprop.training import Control

    class StopAtTwo(Control):
        def on_epoch_end(self, state):
            if state.epoch == 1:
                state.request_stop()

    rec = Recorder()
    est = MLPClassifier(max_iter=10, controls=[StopAtTwo()], random_state=0)
    est.set_callbacks(rec).fit(X, y)
    epochs = _ends(rec, "epoch")
    assert est.n_iter_ == len(epochs) == 2
    assert all(score is not None for _, _, score in epochs)  # each with its snapshot
