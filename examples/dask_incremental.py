"""Out-of-core training on a dask array with ``dask_ml.wrappers.Incremental``
=============================================================================

What it teaches
---------------
A data set too large for memory can still train a network: ``partial_fit``
takes one block of rows at a time, and ``dask_ml.wrappers.Incremental`` calls
it once per block of a ``dask.array``, in order (or in a shuffled order with
``shuffle_blocks=True``), so only one block is ever computed and held in
memory.  Each ``Incremental.partial_fit`` call is one pass over all the blocks;
a loop of them is a number of epochs.  ``predict`` and ``score`` run block-wise
too and return dask arrays.

The data are generated lazily, block by block, by ``dask.array``'s random
generator (nothing is downloaded and the whole array never exists in memory):
the label is ``x0 * x1 + sin(2 x2) > 0``, which no linear model separates.
An ``MLPClassifier`` is trained on it through ``Incremental`` on a local
in-process Dask cluster; point ``Client`` at a real scheduler's address and
nothing else changes.  The script prints the held-out accuracy after every
pass over the blocks, against a linear ``SGDClassifier`` trained the same way.

Needs ``pip install "sknn-backprop[dask]"`` (dask, dask-ml, distributed); without
them the script says so and exits.  Run ``python examples/dask_incremental.py``
(about 10 s on 2 cores); ``SKNN_EXAMPLES_QUICK=1`` makes it a few-second run.
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDClassifier

from sknn_backprop import MLPClassifier


def make_data(n_rows, block_rows, seed):
    """A lazy ``(X, y)``: 10 features, label ``x0 x1 + sin(2 x2) > 0``."""
    import dask.array as da

    rs = da.random.RandomState(seed)
    X = rs.normal(size=(n_rows, 10), chunks=(block_rows, 10))
    y = (X[:, 0] * X[:, 1] + da.sin(2 * X[:, 2]) > 0).astype(int)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="unused; for a uniform interface")
    parser.parse_args(argv)
    try:
        import distributed
        from dask_ml.wrappers import Incremental
    except ImportError:
        print('dask-ml and distributed are not installed: pip install "sknn-backprop[dask]"')
        return 0
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    n_rows, block_rows = (40_000, 10_000) if quick else (400_000, 20_000)
    passes = 3 if quick else 5
    X, y = make_data(n_rows, block_rows, seed=0)
    X_test, y_test = make_data(20_000, 10_000, seed=1)
    y_test = y_test.compute()  # small: compare with numpy
    print(
        f"training data: {n_rows} rows x 10 features in {X.numblocks[0]} blocks of "
        f"{block_rows} ({X.nbytes / 1e6:.0f} MB as float64, computed one block at a time)"
    )
    models = {
        "MLPClassifier(64, 64)": MLPClassifier(
            hidden_layer_sizes=(64, 64), batch_size=200, random_state=0
        ),
        "SGDClassifier (linear)": SGDClassifier(loss="log_loss", random_state=0),
    }
    warnings.simplefilter("ignore")  # the cluster's start-up chatter
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        for name, est in models.items():
            inc = Incremental(est, shuffle_blocks=True, random_state=0)
            start = time.perf_counter()
            for k in range(1, passes + 1):
                inc.partial_fit(X, y, classes=np.array([0, 1]))
                accuracy = np.mean(inc.predict(X_test).compute() == y_test)
                print(f"{name:<23} pass {k}/{passes}: held-out accuracy {accuracy:.3f}")
            print(f"{name:<23} {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
