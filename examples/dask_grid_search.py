"""Scale a grid search (and bagging) out to a Dask cluster through joblib
======================================================================

scikit-learn's ``GridSearchCV`` and our bagging members are dispatched with
joblib, so any joblib backend can run them.  Here a local Dask cluster (two worker
processes on 127.0.0.1) stands in for a real one: point ``Client`` at your
scheduler's address instead and nothing else changes.

Needs ``pip install distributed``; without it the script says so and exits.
Run ``python examples/dask_grid_search.py`` (6 s on 2 idle cores, 45 s
measured while other work kept them busy: the grid search runs twice, locally and
on the cluster, and the two worker processes compete with it); ``SKNN_EXAMPLES_QUICK=1`` makes it a
run of a few seconds.
"""

import argparse
import os
import time
import warnings

from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sknn_backprop import MLPClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="unused; for a uniform interface")
    parser.parse_args(argv)
    try:
        import distributed
        from joblib import parallel_config
    except ImportError:
        print("distributed is not installed: pip install distributed")
        return 0
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    max_iter = 10 if quick else 100
    search = GridSearchCV(MLPClassifier(max_iter=max_iter, random_state=0), grid, cv=3, n_jobs=-1)
    warnings.simplefilter("ignore", ConvergenceWarning)

    start = time.perf_counter()
    local = clone(search).fit(X, y)
    print(
        f"local : best {local.best_params_} score {local.best_score_:.4f} "
        f"({time.perf_counter() - start:.1f} s)"
    )

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        print("cluster:", client)
        with parallel_config(backend="dask"):
            start = time.perf_counter()
            remote = clone(search).fit(X, y)
            print(
                f"dask  : best {remote.best_params_} score {remote.best_score_:.4f} "
                f"({time.perf_counter() - start:.1f} s)"
            )
            bag = MLPClassifier(
                hidden_layer_sizes=(32,),
                max_iter=max_iter,
                n_estimators=4,
                n_jobs=2,
                random_state=0,
            ).fit(X, y)
            print(
                f"bagging on the cluster: {len(bag.estimators_)} members, "
                f"training accuracy {bag.score(X, y):.4f}"
            )
    print("same best parameters:", local.best_params_ == remote.best_params_)
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
