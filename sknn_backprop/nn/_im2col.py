"""Layout and speed-up code of the convolution and pooling layers.

Nothing here is a lecture equation: these are the helpers that let
:mod:`.conv` and :mod:`.pooling` state theirs as a few array operations.

*im2col.*  The convolution is computed as one matrix product with a column
matrix of layout ``(C, kh, kw, H', W', N)`` (rows = kernel taps, columns =
output positions, the batch axis innermost).  It is filled (:func:`_im2col`),
and its gradient folded back onto the input (:func:`_col2im`), by a loop over
the ``kh * kw`` kernel offsets: each offset moves one strided slice of the
input, whose inner axis is contiguous, so no ``np.add.at`` and no Python loop
over samples or positions is needed.  Zero padding is never materialised: each
offset only touches the output positions whose input lies inside the image
(:func:`_offsets`), and the columns of the padding stay zero.

*Batch-last layout.*  Convolution layers hand each other ``(N, C, H, W)``
arrays stored as ``(C, H, W, N)`` (:func:`_batch_last`), the layout im2col
and the matrix products want, so that no transposes are needed between them;
every module accepts either layout.  :func:`_transpose` and
:func:`_transpose_4d` convert between the two, in cache-sized blocks.
"""

import numpy as np

from . import _fast
from .module import check_int


# -- arguments and shapes ------------------------------------------------------------
def _pair(name, value, low):
    """``value`` (an int or an ``(h, w)`` pair) as a validated pair of ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (h, w), got {value!r}.")
        return check_int(name, value[0], low), check_int(name, value[1], low)
    v = check_int(name, value, low)
    return v, v


def _pair_str(p):
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


def _out_size(name, size, kernel, stride, pad):
    """Floor-sized output length; ``ValueError`` if the kernel does not fit."""
    if size + 2 * pad < kernel:
        raise ValueError(
            f"{name}: input size {size} (padding {pad}) is smaller than the kernel {kernel}."
        )
    return (size + 2 * pad - kernel) // stride + 1


def _as_float(x, dtype):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(dtype)


# -- im2col / col2im -----------------------------------------------------------------
def _span(offset, pad, stride, size, out_size):
    """Output positions ``o`` whose input ``o * stride + offset - pad`` is inside the image.

    Returns ``(lo, hi, in_slice)``: output positions ``lo:hi`` read the input
    positions ``in_slice`` (``hi <= lo`` when there are none).
    """
    d = offset - pad
    lo = max(0, -(d // stride))  # ceil(-d / stride)
    hi = min(out_size, (size - 1 - d) // stride + 1)
    start = lo * stride + d
    return lo, hi, slice(start, start + (hi - lo - 1) * stride + 1, stride)


def _offsets(x_shape, kernel, stride, padding, out_hw):
    """For every kernel offset ``(i, j)``: ``(i, j, out_rows, out_cols, in_rows, in_cols)``."""
    H, W = x_shape[2:]
    res = []
    for i in range(kernel[0]):
        r0, r1, rows = _span(i, padding[0], stride[0], H, out_hw[0])
        if r1 <= r0:
            continue
        for j in range(kernel[1]):
            c0, c1, cols = _span(j, padding[1], stride[1], W, out_hw[1])
            if c1 > c0:
                res.append((i, j, slice(r0, r1), slice(c0, c1), rows, cols))
    return res


def _im2col(xt, cols, offsets):
    """Fill ``cols`` ``(C, kh, kw, H', W', N)`` from ``xt``, the input as ``(C, H, W, N)``.

    Positions that fall in the zero padding are not written (they must be zero).
    With the batch axis innermost every copied run is ``N`` (or ``W' N``) long.
    """
    for i, j, orows, ocols, irows, icols in offsets:
        cols[:, i, j, orows, ocols] = xt[:, irows, icols]
    return cols


def _col2im(dcols, dxt, offsets):
    """Fold ``dcols`` ``(C, kh, kw, H', W', N)`` back onto ``dxt`` ``(C, H, W, N)``.

    The lecture's ``dL/da[f, i, j] = sum_{f', i', j'} delta[f', i', j'] w[f', f, i - i', j - j']``:
    each kernel offset adds its slice of column gradients to the input positions
    it was read from.  The padding is never stored, so nothing needs cropping.
    """
    if _fast.on() and _fast.fits(dcols, dxt) and dcols.ndim == 6 and dxt.ndim == 4:
        return _col2im_kernel(dcols, dxt, _offset_table(offsets))  # the same, compiled
    dxt.fill(0)
    for i, j, orows, ocols, irows, icols in offsets:
        dxt[:, irows, icols] += dcols[:, i, j, orows, ocols]
    return dxt


def _offset_table(offsets):
    """:func:`_offsets` as an integer array for :func:`_col2im_kernel`, one row per offset:
    ``i, j, out rows (start, stop), out cols (start, stop), in rows (start, step), in cols``."""
    return np.array(
        [
            (i, j, orows.start, orows.stop, ocols.start, ocols.stop)
            + (irows.start, irows.step or 1, icols.start, icols.step or 1)
            for i, j, orows, ocols, irows, icols in offsets
        ],
        dtype=np.intp,
    ).reshape(-1, 10)


@_fast.kernel
def _col2im_kernel(dcols, dxt, table):
    """The fast path (numba, ``_fast.py``) of :func:`_col2im`: the same additions in the
    same order (offset by offset onto a zeroed ``dxt``), so bit-identical, without the
    strided temporaries."""
    dxt[...] = 0
    C, N = dxt.shape[0], dxt.shape[3]
    for t in range(table.shape[0]):
        i, j, r0, r1, c0, c1, ir, sr, ic, sc = table[t]
        for c in range(C):
            for r in range(r0, r1):
                h = ir + (r - r0) * sr
                for s in range(c0, c1):
                    w = ic + (s - c0) * sc
                    for n in range(N):
                        dxt[c, h, w, n] += dcols[c, i, j, r, s, n]
    return dxt


def _matmul_nt(a, b, buf):
    """``a @ b.T`` for C-ordered 2-D ``a`` ``(m, k)`` and ``b`` ``(n, k)``, ``k`` long.

    Computed as ``(b @ a.T).T`` into ``buf`` ``(n, m)`` (returned as its
    transposed view): the same dot products (bit for bit on the Intel CPUs
    measured; within rounding where OpenBLAS picks other kernels), but OpenBLAS runs
    the weight gradient of a convolution (``m`` = filters, ``n`` = taps,
    ``k`` = every output position of the batch) 1.5-3x faster this way round.
    """
    buf = _buffer(buf, (b.shape[0], a.shape[0]), a.dtype)
    return np.matmul(b, a.T, out=buf).T


# -- layouts -------------------------------------------------------------------------
def _transpose(src, dst, block=64):
    """``dst[:] = src.T`` for 2-D arrays.

    Done in blocks of ``block`` rows of the longer side: a plain strided copy
    of a large matrix thrashes the cache and is up to ten times slower.
    """
    a, b = src.shape
    if a >= b:
        for s in range(0, a, block):
            dst[:, s : s + block] = src[s : s + block].T
    else:
        for s in range(0, b, block):
            dst[s : s + block] = src[:, s : s + block].T
    return dst


def _buffer(buf, shape, dtype, zero=False):
    """``buf`` if it has this shape and dtype, else a new array (zeroed if ``zero``)."""
    if buf is not None and buf.shape == shape and buf.dtype == dtype:
        return buf
    return np.zeros(shape, dtype) if zero else np.empty(shape, dtype)


def _batch_last(a):
    """Whether the 4-D ``a`` is stored as ``(C, H, W, N)``: a view ``a = m.transpose(3, 0, 1, 2)``
    of a C-contiguous ``m``.  Convolution layers hand each other activations in
    that layout (the one im2col and the GEMMs want), so no transposes are needed
    between them; every other module works on any layout.
    """
    return a.ndim == 4 and a.transpose(1, 2, 3, 0).flags.c_contiguous


def _buffer_batch_last(buf, shape, dtype):
    """A batch-last ``(N, C, H, W)`` array (``buf`` when it already is one of this shape)."""
    if buf is not None and buf.shape == shape and buf.dtype == dtype and _batch_last(buf):
        return buf
    n, c, h, w = shape
    return np.empty((c, h, w, n), dtype).transpose(3, 0, 1, 2)


def _buffer_like(x):
    """The buffer function that keeps the layout of ``x``: batch-last or C order."""
    return _buffer_batch_last if _batch_last(x) else _buffer


def _transpose_4d(src, dst):
    """Copy the ``(N, C, H, W)`` array ``src`` into ``dst`` of the other layout."""
    n = src.shape[0]
    if _batch_last(dst):  # (N, CHW) rows -> (CHW, N) memory
        _transpose(src.reshape(n, -1), dst.transpose(1, 2, 3, 0).reshape(-1, n))
    else:
        _transpose(src.transpose(1, 2, 3, 0).reshape(-1, n), dst.reshape(n, -1))
    return dst


def _chwn(a, dtype, buf=None):
    """The ``(N, C, H, W)`` array ``a`` as a ``(C, H, W, N)`` array of ``dtype``, and ``buf``.

    A view when ``a`` already is batch-last of that dtype (no copy); otherwise
    a blocked transposed copy into ``buf`` (a ``(C H W, N)`` array, reused
    when it fits), which is returned so the caller can keep it.
    """
    n = a.shape[0]
    if _batch_last(a) and a.dtype == dtype:
        return a.transpose(1, 2, 3, 0), buf
    buf = _buffer(buf, (a[0].size, n), dtype)
    _transpose(a.reshape(n, -1), buf)  # (C H W, N): the batch axis innermost
    return buf.reshape(a.shape[1:] + (n,)), buf
