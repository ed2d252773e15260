"""Tests of the convolution layers' layout and speed-up code (``nn/_im2col.py``).

The fast paths are pinned to the plain formulas: ``Conv2d`` (im2col + one
matrix product) to a loop over output positions of the lecture's
cross-correlation, its backward (a product, then col2im) to the loop of the
chain rule, for both input layouts, with stride and padding; then each helper
on its own against a direct computation.
"""

import numpy as np
import pytest

from sknn_backprop import nn
from sknn_backprop.nn._im2col import (
    _batch_last,
    _buffer,
    _buffer_batch_last,
    _buffer_like,
    _chwn,
    _col2im,
    _im2col,
    _matmul_nt,
    _offsets,
    _out_size,
    _pair,
    _pair_str,
    _span,
    _transpose,
    _transpose_4d,
)

RNG = np.random.default_rng(42)

CONV_CASES = [
    # (input shape, out_channels, kernel_size, stride, padding)
    ((2, 3, 7, 5), 4, 3, 2, 1),
    ((2, 1, 1, 9), 3, (1, 4), 1, 0),
    ((2, 2, 6, 6), 3, 5, 1, 0),
    ((2, 2, 6, 7), 2, (3, 2), (2, 1), (0, 2)),
    ((3, 2, 5, 5), 2, 3, 3, 2),
    ((3, 2, 1, 5), 2, (5, 3), (1, 3), 2),  # 4 of the 5 kernel rows read only padding
]
LAYOUTS = ["C", "batch-last"]


def batch_last(a):
    """The same ``(N, C, H, W)`` values stored as ``(C, H, W, N)`` (the conv layers' layout)."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def in_layout(a, layout):
    return batch_last(a) if layout == "batch-last" else np.ascontiguousarray(a)


def naive_conv(x, weight, bias, stride, padding):
    """Loop reference, the lecture's cross-correlation with zero padding and stride:

    ``z[n, f', i', j'] = b[f'] + sum_{f, i, j} a[n, f, s i' + i - p, s j' + j - p] w[f', f, i, j]``.
    """
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((n, f, ho, wo))
    for s in range(n):
        for g in range(f):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[s, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[s, g, i, j] = np.sum(patch * weight[g]) + (0 if bias is None else bias[g])
    return out


def naive_conv_grads(x, weight, delta, stride, padding):
    """The chain rule output position by output position: ``(dL/da, dL/dw, dL/db)``."""
    n, c, h, w = x.shape
    _, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(weight)
    for s, g, i, j in np.ndindex(delta.shape):
        rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
        dw[g] += delta[s, g, i, j] * xp[s, :, rows, cols]
        dxp[s, :, rows, cols] += delta[s, g, i, j] * weight[g]
    return dxp[:, :, ph : ph + h, pw : pw + w], dw, delta.sum(axis=(0, 2, 3))


# -- the fast paths against the plain formulas ------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape, f, k, s, p", CONV_CASES)
def test_conv_matches_naive_cross_correlation(shape, f, k, s, p, layout):
    conv = nn.Conv2d(shape[1], f, k, stride=s, padding=p, rng=np.random.default_rng(1))
    x = RNG.normal(size=shape)
    expected = naive_conv(x, conv.weight, conv.bias, conv.stride, conv.padding)
    x = in_layout(x, layout)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.infer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("delta_layout", LAYOUTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape, f, k, s, p", CONV_CASES)
def test_conv_backward_matches_naive_chain_rule(shape, f, k, s, p, layout, delta_layout):
    conv = nn.Conv2d(shape[1], f, k, stride=s, padding=p, rng=np.random.default_rng(2))
    x = RNG.normal(size=shape)
    delta = RNG.normal(size=conv.infer(x).shape)
    dx, dw, db = naive_conv_grads(x, conv.weight, delta, conv.stride, conv.padding)
    x, delta = in_layout(x, layout), in_layout(delta, delta_layout)
    conv.forward(x)
    np.testing.assert_allclose(conv.backward(x, delta), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.grad_weight, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.grad_bias, db, rtol=1e-12, atol=1e-12)


def _geometry(shape, k, s, p):
    kernel, stride, padding = _pair("k", k, 1), _pair("s", s, 1), _pair("p", p, 0)
    ho = _out_size("t", shape[2], kernel[0], stride[0], padding[0])
    wo = _out_size("t", shape[3], kernel[1], stride[1], padding[1])
    return kernel, stride, padding, (ho, wo), _offsets(shape, kernel, stride, padding, (ho, wo))


@pytest.mark.parametrize("shape, f, k, s, p", CONV_CASES)
def test_im2col_equals_padded_patches(shape, f, k, s, p):
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), offsets = _geometry(shape, k, s, p)
    n, c = shape[:2]
    x = RNG.normal(size=shape)
    cols = _im2col(
        np.ascontiguousarray(x.transpose(1, 2, 3, 0)), np.zeros((c, kh, kw, ho, wo, n)), offsets
    )
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    expected = np.zeros_like(cols)
    for ch, i, j, a, b in np.ndindex(c, kh, kw, ho, wo):
        expected[ch, i, j, a, b] = xp[:, ch, a * sh + i, b * sw + j]
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize("shape, f, k, s, p", CONV_CASES)
def test_col2im_equals_naive_scatter_add(shape, f, k, s, p):
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), offsets = _geometry(shape, k, s, p)
    n, c, h, w = shape
    dcols = RNG.normal(size=(c, kh, kw, ho, wo, n))
    dxt = np.full((c, h, w, n), np.nan)  # col2im overwrites every element
    _col2im(dcols, dxt, offsets)
    dxp = np.zeros((c, h + 2 * ph, w + 2 * pw, n))
    for ch, i, j, a, b in np.ndindex(c, kh, kw, ho, wo):
        dxp[ch, a * sh + i, b * sw + j] += dcols[ch, i, j, a, b]
    np.testing.assert_allclose(dxt, dxp[:, ph : ph + h, pw : pw + w], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m, n, k", [(32, 400, 8192), (3, 5, 7), (1, 1, 1)])
def test_matmul_nt_is_a_times_b_transposed(m, n, k, dtype):
    a = RNG.normal(size=(m, k)).astype(dtype)
    b = RNG.normal(size=(n, k)).astype(dtype)
    got = _matmul_nt(a, b, None)
    assert got.shape == (m, n) and got.dtype == dtype
    # the same dot products; whether their rounding is the same bit for bit depends on
    # the CPU's BLAS kernels, so the test allows the dot product's rounding bound
    exact = a.astype(np.float64) @ b.astype(np.float64).T
    bound = k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(b).T)
    assert np.all(np.abs(got - exact) <= bound + np.finfo(dtype).tiny)
    np.testing.assert_allclose(got, a @ b.T, rtol=1e-3 if dtype == np.float32 else 1e-10, atol=1e-3)
    buf = got.T
    assert np.shares_memory(_matmul_nt(a, b, buf), got)  # the buffer is reused


# -- the helpers -----------------------------------------------------------------------
def test_span_is_the_set_of_positions_inside_the_image():
    for size, kernel, pad, stride in np.ndindex(7, 5, 4, 4):
        size, kernel, stride = size + 1, kernel + 1, stride + 1
        if size + 2 * pad < kernel:
            continue
        out_size = _out_size("t", size, kernel, stride, pad)
        for offset in range(kernel):
            inside = [o for o in range(out_size) if 0 <= o * stride + offset - pad < size]
            lo, hi, sl = _span(offset, pad, stride, size, out_size)
            if not inside:
                assert hi <= lo
                continue
            assert list(range(lo, hi)) == inside
            reads = [o * stride + offset - pad for o in inside]
            np.testing.assert_array_equal(np.arange(size)[sl], reads)


def test_pair_out_size_and_pair_str():
    assert _pair("k", 3, 1) == (3, 3) and _pair("k", (2, 5), 1) == (2, 5)
    assert _pair("p", 0, 0) == (0, 0)
    for bad in [(1, 2, 3), 0, (1, 0), 1.5]:
        with pytest.raises(ValueError, match="k"):
            _pair("k", bad, 1)
    assert _out_size("t", 7, 3, 2, 1) == 4 and _out_size("t", 5, 5, 1, 0) == 1
    with pytest.raises(ValueError, match="smaller than the kernel"):
        _out_size("t", 2, 5, 1, 1)
    assert _pair_str((2, 2)) == "2" and _pair_str((2, 1)) == "2x1"


@pytest.mark.parametrize("shape", [(130, 7), (7, 130), (64, 64), (1, 1), (33, 200)])
def test_blocked_transpose(shape):
    src = RNG.normal(size=shape)
    dst = np.empty(shape[::-1])
    np.testing.assert_array_equal(_transpose(src, dst, block=16), src.T)
    strided = RNG.normal(size=(shape[0], 2 * shape[1]))[:, ::2]
    np.testing.assert_array_equal(_transpose(strided, dst, block=16), strided.T)


def test_batch_last_detection():
    a = RNG.normal(size=(3, 2, 4, 5))
    assert not _batch_last(a) and _batch_last(batch_last(a))
    assert not _batch_last(a[:, :, ::2]) and not _batch_last(a.reshape(6, 4, 5))
    assert _batch_last(batch_last(a)[:, :1])  # a slice of the channels stays batch-last
    assert not _batch_last(batch_last(a)[:2])  # a slice of the samples does not


def test_buffers_are_reused_only_when_they_fit():
    buf = np.ones((2, 3))
    assert _buffer(buf, (2, 3), np.float64) is buf
    assert _buffer(buf, (3, 2), np.float64) is not buf
    assert _buffer(buf, (2, 3), np.float32).dtype == np.float32
    assert not _buffer(None, (2, 3), np.float64, zero=True).any()
    bl = _buffer_batch_last(None, (2, 3, 4, 5), np.float32)
    assert bl.shape == (2, 3, 4, 5) and bl.dtype == np.float32 and _batch_last(bl)
    assert _buffer_batch_last(bl, (2, 3, 4, 5), np.float32) is bl
    c_order = np.empty((2, 3, 4, 5), np.float32)
    assert _buffer_batch_last(c_order, c_order.shape, np.float32) is not c_order
    assert _buffer_like(bl) is _buffer_batch_last and _buffer_like(c_order) is _buffer


def test_transpose_4d_converts_both_ways():
    a = RNG.normal(size=(3, 2, 4, 5))
    to_bl = _transpose_4d(a, _buffer_batch_last(None, a.shape, a.dtype))
    assert _batch_last(to_bl)
    np.testing.assert_array_equal(to_bl, a)
    back = _transpose_4d(to_bl, np.empty(a.shape))
    assert back.flags.c_contiguous
    np.testing.assert_array_equal(back, a)


def test_chwn_is_a_view_of_batch_last_input_and_a_copy_otherwise():
    a = RNG.normal(size=(3, 2, 4, 5))
    expected = a.transpose(1, 2, 3, 0)
    view, buf = _chwn(batch_last(a), np.float64)
    np.testing.assert_array_equal(view, expected)
    assert buf is None  # no copy made
    x = batch_last(a)
    assert np.shares_memory(_chwn(x, np.float64)[0], x)
    copy, buf = _chwn(a, np.float64)
    np.testing.assert_array_equal(copy, expected)
    assert buf.shape == (2 * 4 * 5, 3) and np.shares_memory(copy, buf)
    again, buf2 = _chwn(a + 1, np.float64, buf)
    assert buf2 is buf
    np.testing.assert_array_equal(again, expected + 1)
    cast, _ = _chwn(batch_last(a.astype(np.float32)), np.float64)  # other dtype: a cast copy
    assert cast.dtype == np.float64
    np.testing.assert_array_equal(cast, expected.astype(np.float32))
