"""The row/column reductions the training step uses instead of ``ndarray.sum``/``max``."""

import numpy as np
import pytest

from sknn_backprop.nn import _ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (200, 10), (50, 65), (3, 300)])
def test_reductions_match_numpy(shape, dtype):
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(_ops.row_max(z), z.max(axis=1))
    np.testing.assert_allclose(_ops.row_sum(z), z.sum(axis=1), rtol=tol, atol=tol)
    out = np.empty(shape[1], dtype=dtype)
    assert _ops.col_sum(z, out=out) is out
    np.testing.assert_allclose(out, z.sum(axis=0), rtol=tol, atol=tol)
    assert _ops.row_sum(z).dtype == dtype


def test_row_max_of_a_strided_view():
    z = np.arange(60.0).reshape(6, 10)[::2, ::3]
    np.testing.assert_array_equal(_ops.row_max(z), z.max(axis=1))


def test_ones_is_shared_and_read_only():
    a = _ops.ones(5, np.dtype(np.float64))
    assert a is _ops.ones(5, np.dtype(np.float64))
    with pytest.raises(ValueError):
        a[0] = 2.0


def test_large_reductions_do_not_depend_on_the_blas_thread_count():
    """Above _GEMV_MAX elements numpy reduces (OpenBLAS would split a GEMV's sum
    across threads, so results would change with the thread count)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    for shape in [(1000, 500), (65536, 10), (20, 2000)]:
        z = rng.standard_normal(shape)
        assert z.size >= _ops._GEMV_MAX
        with threadpool_limits(1):
            one = _ops.col_sum(z), _ops.row_sum(z)
        with threadpool_limits(2):
            two = _ops.col_sum(z), _ops.row_sum(z)
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])
        np.testing.assert_array_equal(one[0], z.sum(axis=0))
