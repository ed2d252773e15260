"""Row and column reductions of ``(batch, width)`` arrays, on every minibatch's path.

numpy reduces a C-ordered ``(n, k)`` array along its last axis one row at a
time, which for the ten-odd columns of an output layer costs 3-4x a single
sweep.  So row sums are a GEMV with a vector of ones, row maxima are taken over
a transposed copy, and column sums (bias gradients) are a GEMV too (3x faster
than ``sum(axis=0)`` on a 200 x 10 batch).  Rounding differs from ``ndarray.sum``
only in the order of the additions.

A GEMV is used only below ``_GEMV_MAX`` elements: OpenBLAS runs smaller ones on
one thread, larger ones split the sum across threads, and results would then
depend on the number of BLAS threads (fits are bit-identical across thread
counts and ``n_jobs``); numpy's own reduction is used above.
"""

import functools

import numpy as np

#: rows up to this long are reduced through a transposed copy
_SHORT_ROW = 64
#: OpenBLAS's GEMV is single-threaded below m * n < 2304 * GEMM_MULTITHREAD_THRESHOLD (4)
_GEMV_MAX = 2304 * 4


@functools.lru_cache(maxsize=64)
def ones(n, dtype):
    """A read-only vector of ``n`` ones (cached: one per batch size and dtype)."""
    a = np.ones(n, dtype=dtype)
    a.flags.writeable = False
    return a


def row_sum(z):
    """``z.sum(axis=1)`` of a 2-D float array."""
    if z.size >= _GEMV_MAX:
        return np.add.reduce(z, axis=1)
    return z @ ones(z.shape[1], z.dtype)


def col_sum(z, out=None):
    """``z.sum(axis=0)`` of a 2-D float array, into ``out`` if given."""
    if z.size >= _GEMV_MAX:
        return np.add.reduce(z, axis=0, out=out)
    return np.matmul(ones(z.shape[0], z.dtype), z, out=out)


def row_max(z):
    """``z.max(axis=1)`` of a 2-D array."""
    if z.shape[1] <= _SHORT_ROW and z.shape[0] >= 32:  # (the copy costs more on a few rows)
        return np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)
    return np.maximum.reduce(z, axis=1)
