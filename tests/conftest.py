"""Shared test set-up.

The package is not necessarily installed in the test environment, so the
repository root goes on ``sys.path`` (as ``python -m pytest`` from the root
would do) before any test module imports ``sknn_backprop``.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def rng():
    """A fresh seeded generator for each test (never the global ``np.random`` state)."""
    return np.random.default_rng(0)


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture of the same name (its own tests in test_sklearn_mlp_suite use it)."""
    return 42


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """Tests use small matrices: threaded BLAS buys nothing there and, on a machine
    busy with other jobs, spin-waiting threads made some tests 10-40x slower.
    (Speed is measured in benchmarks/, never in tests.)"""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(params=["numba", "numpy"])
def both_paths(request, monkeypatch):
    """Run a test twice: with the numba fast path forced on (``SKNN_BACKPROP_NUMBA=1``,
    skipped without numba) and forced off (``=0``), so CI checks both paths."""
    from sknn_backprop.nn import _fast

    if request.param == "numba" and _fast._numba() is None:
        pytest.skip("numba is not installed (pip install sknn-backprop[fast])")
    monkeypatch.setenv("SKNN_BACKPROP_NUMBA", "1" if request.param == "numba" else "0")
    _fast._reset()
    yield request.param
    _fast._reset()


@pytest.fixture
def numpy_path(monkeypatch):
    """Force the numpy path (for tests of its own internals, e.g. its scratch blocks)."""
    from sknn_backprop.nn import _fast

    monkeypatch.setenv("SKNN_BACKPROP_NUMBA", "0")
    _fast._reset()
    yield
    _fast._reset()
