"""Convolution and max-pooling on ``(N, C, H, W)`` image batches (Torch7's
``SpatialConvolutionMM`` and ``SpatialMaxPooling``).

The convolution is the lecture's cross-correlation (no kernel flip)

    z[f', i', j'] = b[f'] + sum_{f, i, j} a[f, s i' + i - p, s j' + j - p] w[f', f, i, j]

computed as im2col + one matrix product: the ``C * kh * kw`` input values under
every output position are copied into a column, and all columns of the batch are
multiplied by the ``(F, C * kh * kw)`` weight matrix at once.

The column matrix has the layout ``(C, kh, kw, N, H', W')`` (rows = kernel
taps, columns = output positions).  It is filled, and its gradient folded back
onto the input (col2im), by a loop over the ``kh * kw`` kernel offsets: each
offset moves one strided slice of the input, whose inner axis is contiguous, so
no ``np.add.at`` and no Python loop over samples or positions is needed.  Zero
padding is never materialised: each offset only touches the output positions
whose input lies inside the image, and the columns of the padding stay zero.
"""

import numpy as np

from .init import INITIALIZERS, glorot_uniform
from .module import Module, WeightBias, check_int

__all__ = ["Conv2d", "MaxPool2d"]

#: upper bound on the im2col buffer of one ``infer`` chunk, in bytes
_INFER_CHUNK_BYTES = 64 * 2**20


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
    dxt.fill(0)
    for i, j, orows, ocols, irows, icols in offsets:
        dxt[:, irows, icols] += dcols[:, i, j, orows, ocols]
    return dxt


def _transpose(src, dst, add=None, block=64):
    """``dst[:] = src.T`` (+ ``add`` broadcast over the rows of ``dst``), for 2-D arrays.

    Done in blocks of ``block`` rows of the longer side: a plain strided copy
    of a large matrix thrashes the cache and is up to ten times slower.
    """
    a, b = src.shape
    if a >= b:
        for s in range(0, a, block):
            part = src[s : s + block].T
            if add is None:
                dst[:, s : s + block] = part
            else:
                np.add(part, add[s : s + block], out=dst[:, s : s + block])
    else:
        for s in range(0, b, block):
            part = src[:, s : s + block].T
            if add is None:
                dst[s : s + block] = part
            else:
                np.add(part, add, out=dst[s : s + block])
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


def _transpose_4d(src, dst):
    """Copy the ``(N, C, H, W)`` array ``src`` into ``dst`` of the other layout."""
    n = src.shape[0]
    if _batch_last(dst):  # (N, CHW) rows -> (CHW, N) memory
        _transpose(src.reshape(n, -1), dst.transpose(1, 2, 3, 0).reshape(-1, n))
    else:
        _transpose(src.transpose(1, 2, 3, 0).reshape(-1, n), dst.reshape(n, -1))
    return dst


def _as_float(x, dtype):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(dtype)


class Conv2d(WeightBias, Module):
    """2-D convolution (cross-correlation) layer on ``(N, C, H, W)`` batches.

    ``output[n, f] = bias[f] + sum_c xcorr(pad(input[n, c]), weight[f, c])``
    sampled every ``stride`` pixels, as Torch7's ``nn.SpatialConvolution`` (and
    PyTorch's ``nn.Conv2d``).  Output size ``H' = (H + 2 padding - kh) // stride + 1``
    (same for ``W'``).  A ``(1, k)`` kernel on ``(N, C, 1, L)`` input is a 1-D
    convolution over a signal.

    Forward is im2col + one matrix product per batch; backward implements
    ``dL/dw[f', f, i, j] = sum_{n, i', j'} delta[n, f', i', j'] a[n, f, s i' + i, s j' + j]``
    (one matrix product with the cached columns), ``dL/db[f'] = sum delta`` and
    ``dL/da`` by a product with the weights followed by col2im.

    Parameters
    ----------
    in_channels : int
        Number of input channels (feature maps) ``C``.
    out_channels : int
        Number of filters ``F``.
    kernel_size : int or (int, int)
        Kernel height and width ``(kh, kw)``.
    stride : int or (int, int), default=1
        Step between output positions.
    padding : int or (int, int), default=0
        Zeros added on both sides of each spatial axis.
    bias : bool, default=True
        Whether the layer has a bias per filter.
    rng : numpy.random.Generator or RandomState, default=None
        Generator for the initial weights.  ``None`` uses a generator seeded
        with 0, never the global state.
    dtype : dtype, default=np.float64
        Dtype of the parameters.
    init : {"glorot_uniform", "he_normal", "lecun_uniform"}, default="glorot_uniform"
        Initialisation.  Glorot uses ``fan_in = C kh kw`` and
        ``fan_out = F kh kw``; the others the functions of :mod:`.init`
        with ``fan_in = C kh kw``.

    Attributes
    ----------
    weight : ndarray of shape (out_channels, in_channels, kh, kw)
        The filters.
    bias : ndarray of shape (out_channels,) or None
        One bias per filter.
    grad_weight, grad_bias : ndarray
        Accumulated gradients, same shapes as ``weight`` and ``bias``.
    output : ndarray of shape (N, out_channels, H', W')
        Output of the last ``forward`` (its buffer is reused by the next one).

    Notes
    -----
    ``forward`` caches the im2col columns of the batch (``C kh kw x N H' W'``
    values) for backward; they are overwritten by the next ``forward`` and
    dropped by :meth:`clear_state`.  ``infer`` caches nothing and works in
    chunks of samples so that its columns stay below 64 MB.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> conv = nn.Conv2d(1, 16, 5)
    >>> conv
    nn.Conv2d(1 -> 16, 5x5)
    >>> conv.forward(np.zeros((2, 1, 32, 32))).shape
    (2, 16, 28, 28)
    >>> nn.Conv2d(3, 8, 3, stride=2, padding=1).forward(np.zeros((4, 3, 7, 5))).shape
    (4, 8, 4, 3)
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        bias=True,
        rng=None,
        dtype=np.float64,
        init="glorot_uniform",
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        self.out_channels = check_int("out_channels", out_channels)
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.stride = _pair("stride", stride, 1)
        self.padding = _pair("padding", padding, 0)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}.")
        self.init = init
        rng = np.random.default_rng(0) if rng is None else rng
        w, b = self._draw(rng, dtype)
        self.weight = w
        self.bias = b if bias else None
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._buf_cols = None  # ((x.shape, dtype), columns) of the last forward
        self._buf_xt = None
        self._buf_dxt = None
        self._buf_y = None
        self._buf_dy = None
        self._buf_dcols = None
        self._buf_gw = None

    def _draw(self, rng, dtype):
        """Initial ``(weight, bias)`` from ``rng`` with the layer's ``init``."""
        C, F = self.in_channels, self.out_channels
        kh, kw = self.kernel_size
        fan_in = C * kh * kw
        if self.init == "glorot_uniform":
            # Glorot with fan_out = F kh kw: r = sqrt(6 / (fan_in + F kh kw)), drawn
            # by glorot_uniform for an (F, fan_in) matrix with the gain rescaled.
            gain = 6.0 * (fan_in + F) / (fan_in + F * kh * kw)
            w, b = glorot_uniform(rng, fan_in, F, dtype=dtype, gain=gain)
        else:
            w, b = INITIALIZERS[self.init](rng, fan_in, F, dtype=dtype)
        return np.ascontiguousarray(w.reshape(F, C, kh, kw), dtype=dtype), np.asarray(b, dtype)

    def reset_parameters(self, rng):
        """Draw ``weight`` and ``bias`` afresh from ``rng`` with the layer's ``init``."""
        w, b = self._draw(rng, self.weight.dtype)
        self.weight[...] = w
        if self.bias is not None:
            self.bias[...] = b

    def extra_repr(self):
        kh, kw = self.kernel_size
        s = f"{self.in_channels} -> {self.out_channels}, {kh}x{kw}"
        if self.stride != (1, 1):
            s += f", stride {_pair_str(self.stride)}"
        if self.padding != (0, 0):
            s += f", pad {_pair_str(self.padding)}"
        if self.bias is None:
            s += ", no bias"
        return s

    # -- shapes -------------------------------------------------------------------
    def _geometry(self, x):
        """Check ``x`` and return ``(H', W', offsets)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_channels}, H, W), got {x.shape}."
            )
        ho = _out_size("Conv2d", x.shape[2], self.kernel_size[0], self.stride[0], self.padding[0])
        wo = _out_size("Conv2d", x.shape[3], self.kernel_size[1], self.stride[1], self.padding[1])
        offsets = _offsets(x.shape, self.kernel_size, self.stride, self.padding, (ho, wo))
        return ho, wo, offsets

    def _cols_shape(self, n, ho, wo):
        return (self.in_channels,) + self.kernel_size + (ho, wo, n)

    def _dtype(self, x):
        return np.result_type(x.dtype, self.weight.dtype)

    # -- forward ------------------------------------------------------------------
    def _columns_of(self, x, offsets, cols, xt=None):
        """im2col of ``x`` into ``cols`` (which must be zero where the padding falls)."""
        n = x.shape[0]
        if _batch_last(x) and x.dtype == cols.dtype:  # already (C, H, W, N): no copy
            _im2col(x.transpose(1, 2, 3, 0), cols, offsets)
            return cols, xt
        xt = _buffer(xt, (x[0].size, n), cols.dtype)
        _transpose(x.reshape(n, -1), xt)  # (C H W, N): the batch axis innermost
        _im2col(xt.reshape(x.shape[1:] + (n,)), cols, offsets)
        return cols, xt

    def _forward(self, cols, y_buf, out):
        """``out`` ``(N, F, H', W')`` from the columns ``(C, kh, kw, H', W', N)``."""
        F = self.out_channels
        k = self.weight[0].size
        wmat = self.weight.reshape(F, k)
        # z = W cols: one (F, K) x (K, H' W' N) product for the whole batch
        y = np.matmul(wmat, cols.reshape(k, -1), out=y_buf)
        n = out.shape[0]
        p = out[0, 0].size
        bias = None if self.bias is None else np.repeat(self.bias, p)
        # (F H' W', N) -> (N, F H' W') with the bias added on the way
        _transpose(y.reshape(F * p, n), out.reshape(n, F * p), add=bias)
        return out

    def forward(self, x):
        x = _as_float(x, self.weight.dtype)
        ho, wo, offsets = self._geometry(x)
        n = x.shape[0]
        dtype = self._dtype(x)
        key = (x.shape, dtype)
        cached = self._buf_cols
        # the buffer is keyed on the input shape: which padding positions stay zero depends on it
        if cached is not None and cached[0] == key:
            cols = cached[1]
        else:
            self._buf_cols = cached = None
            cols = np.zeros(self._cols_shape(n, ho, wo), dtype)
        cols, self._buf_xt = self._columns_of(x, offsets, cols, self._buf_xt)
        self._buf_cols = (key, cols)
        F = self.out_channels
        self._buf_y = y = _buffer(self._buf_y, (F, cols[0, 0, 0].size), dtype)
        # z = W cols: one (F, K) x (K, H' W' N) product for the whole batch, whose
        # result already is the output in the batch-last layout: no transpose
        np.matmul(self.weight.reshape(F, -1), cols.reshape(self.weight[0].size, -1), out=y)
        if self.bias is not None:
            y += self.bias[:, None]
        self.output = y.reshape(F, ho, wo, n).transpose(3, 0, 1, 2)
        return self.output

    def update_output(self, x):
        return self.infer(x)

    def infer(self, x, owned=False):
        x = _as_float(x, self.weight.dtype)
        ho, wo, offsets = self._geometry(x)
        n = x.shape[0]
        dtype = self._dtype(x)
        out = np.empty((n, self.out_channels, ho, wo), dtype)
        per_sample = int(np.prod(self._cols_shape(1, ho, wo))) * dtype.itemsize
        chunk = max(1, min(n, _INFER_CHUNK_BYTES // per_sample))
        cols = xt = None
        for start in range(0, n, chunk):
            xb = x[start : start + chunk]
            cshape = self._cols_shape(xb.shape[0], ho, wo)
            if cols is None or cols.shape != cshape:
                cols = np.zeros(cshape, dtype)
            cols, xt = self._columns_of(xb, offsets, cols, xt)
            self._forward(cols, None, out[start : start + chunk])
        return out

    # -- backward -----------------------------------------------------------------
    def _columns(self, x):
        """The cached columns of ``x`` (recomputed if the cache is for another shape)."""
        dtype = self._dtype(x)
        cached = self._buf_cols
        if cached is None or cached[0] != (x.shape, dtype):
            ho, wo, offsets = self._geometry(x)
            cols = np.zeros(self._cols_shape(x.shape[0], ho, wo), dtype)
            self._buf_cols = ((x.shape, dtype), self._columns_of(x, offsets, cols)[0])
        return self._buf_cols[1]

    def _delta(self, grad_output):
        """``grad_output`` ``(N, F, H', W')`` as the matrix ``(F, H' W' N)``."""
        n = grad_output.shape[0]
        dtype = np.result_type(grad_output.dtype, self.weight.dtype)
        if _batch_last(grad_output) and grad_output.dtype == dtype:
            return grad_output.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)
        m = grad_output[0].size
        self._buf_dy = dy = _buffer(self._buf_dy, (m, n), dtype)
        _transpose(grad_output.reshape(n, m), dy)
        return dy.reshape(self.out_channels, -1)

    def _grad_input(self, x, dy):
        ho, wo, offsets = self._geometry(x)
        n = x.shape[0]
        k = self.weight[0].size
        # dL/dcols = W^T delta, then col2im sums each column back onto its pixels
        dcols = _buffer(self._buf_dcols, (k, dy.shape[1]), dy.dtype)
        self._buf_dcols = dcols = np.matmul(self.weight.reshape(-1, k).T, dy, out=dcols)
        self._buf_dxt = dxt = _buffer(self._buf_dxt, x.shape[1:] + (n,), dy.dtype)
        _col2im(dcols.reshape(self._cols_shape(n, ho, wo)), dxt, offsets)
        return dxt.transpose(3, 0, 1, 2)  # (N, C, H, W), stored batch-last

    def _acc_grad(self, x, dy, scale):
        cols = self._columns(_as_float(x, self.weight.dtype))
        F = self.out_channels
        k = self.weight[0].size
        # dL/dw = delta cols^T: sum over every sample and output position at once
        gw = _buffer(self._buf_gw, (F, k), dy.dtype)
        self._buf_gw = gw = np.matmul(dy, cols.reshape(k, -1).T, out=gw)
        if scale != 1.0:
            gw *= scale
        self.grad_weight += gw.reshape(self.weight.shape)
        if self.bias is not None:
            gb = dy.sum(axis=1)
            if scale != 1.0:
                gb *= scale
            self.grad_bias += gb

    def update_grad_input(self, x, grad_output):
        x = _as_float(x, self.weight.dtype)
        return self._grad_input(x, self._delta(grad_output))

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        self._acc_grad(x, self._delta(grad_output), scale)

    def backward(self, x, grad_output, scale=1.0):
        # both halves share one transposed copy of grad_output
        x = _as_float(x, self.weight.dtype)
        dy = self._delta(grad_output)
        self.grad_input = self._grad_input(x, dy)
        self._acc_grad(x, dy, scale)
        return self.grad_input


class MaxPool2d(Module):
    """2-D max-pooling on ``(N, C, H, W)`` batches, as Torch7's ``nn.SpatialMaxPooling``.

    ``output[n, c, i', j']`` is the maximum of the ``kh x kw`` window starting
    at ``(stride_h i', stride_w j')``.  Windows that would cross the border are
    dropped: ``H' = (H - kh) // stride_h + 1`` (same for ``W'``).

    Backward routes each window's gradient to exactly one input element, its
    argmax (the lecture's indicator ``I((i, j) = argmax)``).  When a window
    holds several equal maxima, the first one in row-major window order (top
    row first, then left to right) gets the whole gradient; where windows
    overlap (``stride < kernel_size``) an element collects the gradients of
    every window it is the argmax of.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window height and width.
    stride : int or (int, int), default=None
        Step between windows; ``None`` means ``kernel_size`` (non-overlapping).

    Attributes
    ----------
    argmax : ndarray of shape (N, C, H', W') or None
        Index ``i * kw + j`` of the maximum inside each window, from the last
        ``forward`` (unsigned integers; what backward uses).
    output : ndarray of shape (N, C, H', W')
        Output of the last ``forward``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> pool = nn.MaxPool2d(2)
    >>> pool
    nn.MaxPool2d(2x2)
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool.forward(x)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> pool.backward(x, np.ones((1, 1, 2, 2)))[0, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair("stride", stride, 1)
        self.argmax = None
        self._buf_mask = None
        self._buf_g = None

    def extra_repr(self):
        s = f"{self.kernel_size[0]}x{self.kernel_size[1]}"
        if self.stride != self.kernel_size:
            s += f", stride {_pair_str(self.stride)}"
        return s

    def _geometry(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), got {x.shape}.")
        ho = _out_size("MaxPool2d", x.shape[2], self.kernel_size[0], self.stride[0], 0)
        wo = _out_size("MaxPool2d", x.shape[3], self.kernel_size[1], self.stride[1], 0)
        return ho, wo

    def _windows(self, x, ho, wo):
        """Yield ``(o, view)``: the ``o``-th element of every window, as an ``(N, C, H', W')`` view.

        With ``stride == kernel_size`` and divisible sizes this is a reshape to
        ``(N, C, H', kh, W', kw)``; otherwise strided slices of ``x``.
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        n, c, h, w = x.shape
        if (sh, sw) == (kh, kw) and h == ho * kh and w == wo * kw:
            x6 = x.reshape(n, c, ho, kh, wo, kw)
            for i in range(kh):
                for j in range(kw):
                    yield i * kw + j, x6[:, :, :, i, :, j]
        else:
            rows, cols = sh * (ho - 1) + 1, sw * (wo - 1) + 1
            for i in range(kh):
                for j in range(kw):
                    yield i * kw + j, x[:, :, i : i + rows : sh, j : j + cols : sw]

    def _pool(self, x, out, argmax=None, mask=None):
        """Running maximum over the window offsets; records the first argmax if asked."""
        ho, wo = out.shape[2:]
        tmp = None if argmax is None else np.empty_like(argmax)
        for o, v in self._windows(x, ho, wo):
            if o == 0:
                np.copyto(out, v)
                if argmax is not None:
                    argmax.fill(0)
                continue
            if argmax is not None:
                # strict '>' keeps the first maximum (row-major) on ties; offsets come
                # in increasing order, so argmax = max(argmax, o * [v > out]) sets o
                np.greater(v, out, out=mask)
                np.multiply(mask, argmax.dtype.type(o), out=tmp)
                np.maximum(argmax, tmp, out=argmax)
            np.maximum(out, v, out=out)
        return out

    def forward(self, x):
        ho, wo = self._geometry(x)
        shape = x.shape[:2] + (ho, wo)
        kh, kw = self.kernel_size
        idx_dtype = np.min_scalar_type(kh * kw - 1)
        buf = _buffer_batch_last if _batch_last(x) else _buffer  # keep the input's layout
        out = buf(self.output, shape, x.dtype)
        self.argmax = buf(self.argmax, shape, idx_dtype)
        self._buf_mask = buf(self._buf_mask, shape, np.bool_)
        self.output = self._pool(x, out, self.argmax, self._buf_mask)
        return self.output

    def update_output(self, x):
        return self.infer(x)

    def infer(self, x, owned=False):
        ho, wo = self._geometry(x)
        return self._pool(x, np.empty(x.shape[:2] + (ho, wo), x.dtype))

    def update_grad_input(self, x, grad_output):
        if self.argmax is None or self.argmax.shape != grad_output.shape:
            raise ValueError("MaxPool2d.backward needs the forward of the same batch first.")
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ho, wo = grad_output.shape[2:]
        dtype = np.result_type(grad_output.dtype, x.dtype)
        buf = _buffer_batch_last if _batch_last(x) else _buffer  # the layout of x
        if _batch_last(x) != _batch_last(grad_output):
            # mixed layouts make every pass below strided (10x slower): one copy first
            grad_output = _transpose_4d(grad_output, buf(self._buf_g, grad_output.shape, dtype))
            self._buf_g = grad_output
        gi = buf(self.grad_input, x.shape, dtype)
        mask = buf(self._buf_mask, grad_output.shape, np.bool_)
        self._buf_mask = mask
        tiled = (sh, sw) == (kh, kw) and x.shape[2] == ho * kh and x.shape[3] == wo * kw
        if not tiled:
            gi.fill(0)
        for o, view in self._windows(gi, ho, wo):
            np.equal(self.argmax, o, out=mask)
            if tiled:  # every input element is in exactly one window: plain writes
                np.multiply(grad_output, mask, out=view)
            else:
                np.add(view, grad_output, out=view, where=mask)
        return gi

    def clear_state(self):
        super().clear_state()
        self.argmax = None
        return self
