"""Scale-out: grid searches and bagging through joblib run on a Dask cluster.

The cluster is local (two worker processes on 127.0.0.1); the same code runs on a
real distributed cluster by pointing the ``Client`` at its scheduler.
"""

import pickle
import warnings

import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sknn_backprop import MLPClassifier

distributed = pytest.importorskip("distributed")
from joblib import parallel_config  # noqa: E402

X, y = load_digits(return_X_y=True)
X = X / 16
GRID = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-1]}


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        )
        with cluster, distributed.Client(cluster) as c:
            yield c


def _search():
    return GridSearchCV(MLPClassifier(max_iter=15, random_state=0), GRID, cv=3, n_jobs=-1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_a_dask_cluster_matches_local(client):
    local = _search().fit(X, y)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        remote = _search().fit(X, y)
    assert remote.best_params_ == local.best_params_
    assert remote.best_score_ == local.best_score_
    # the 4 candidates x 3 folds really ran as tasks on the cluster's workers
    assert len(stream.data) >= 12
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])


def test_bagging_members_on_a_dask_cluster(client):
    params = dict(hidden_layer_sizes=(16,), max_iter=10, n_estimators=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = MLPClassifier(**params, n_jobs=1).fit(X, y)
        with parallel_config(backend="dask"):
            remote = MLPClassifier(**params, n_jobs=2).fit(X, y)
    assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def test_estimators_ship_small():
    """What goes over the wire: parameters and optimizer state, no activations or data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, y)
    weights = sum(p.nbytes for p in est.model_.parameters()[0])
    moments = sum(a.nbytes for a in est._optimizer.ms + est._optimizer.vs)
    assert len(pickle.dumps(est)) < weights + moments + 16_000
    assert len(pickle.dumps(MLPClassifier())) < 2_000  # an unfitted one is just its params
