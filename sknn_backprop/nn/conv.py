"""The convolution layer, Torch7's ``SpatialConvolutionMM``, on ``(N, C, H, W)`` batches.

The convolution is the lecture's cross-correlation (no kernel flip)

    z[f', i', j'] = b[f'] + sum_{f, i, j} a[f, s i' + i - p, s j' + j - p] w[f', f, i, j]

computed as im2col + one matrix product: the ``C * kh * kw`` input values under
every output position are copied into a column, and all columns of the batch are
multiplied by the ``(F, C * kh * kw)`` weight matrix at once (``Conv2d._affine``,
shared by ``forward`` and ``infer``).  The column layout, im2col / col2im and
the batch-last activations are in ``_im2col.py``; ``MaxPool2d`` moved to
``pooling.py`` (it is re-exported here for old imports).
"""

import numpy as np

from ._im2col import (
    _as_float,
    _buffer,
    _chwn,
    _col2im,
    _im2col,
    _matmul_nt,
    _offsets,
    _out_size,
    _pair,
    _pair_str,
)
from .init import INITIALIZERS, glorot_uniform
from .module import Module, WeightBias, check_int
from .pooling import MaxPool2d

__all__ = ["Conv2d", "MaxPool2d"]

#: upper bound on the im2col buffer of one ``infer`` chunk, in bytes
_INFER_CHUNK_BYTES = 64 * 2**20


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
    init : str or callable, default="glorot_uniform"
        A name from :data:`sknn_backprop.nn.init.INITIALIZERS` or, as for
        :class:`Linear`, a callable ``init(rng, fan_in, fan_out, dtype) -> (W, b)``.
        Callables (and the names ``"he_normal"``, ``"lecun_uniform"``) are
        called with ``fan_in = C kh kw`` and ``fan_out = F`` and must return
        ``W`` of shape ``(F, C kh kw)`` (reshaped to the filters) and ``b`` of
        shape ``(F,)``.  The name ``"glorot_uniform"`` uses the receptive-field
        ``fan_out = F kh kw`` in its bound.

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
        if not callable(init) and init not in INITIALIZERS:
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
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        w, b = _initial_weights(self.init, rng, shape, dtype)
        return np.ascontiguousarray(w.reshape(shape), dtype=dtype), np.asarray(b, dtype=dtype)

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
    def _affine(self, cols, y):
        """``z = W cols + b`` into ``y`` ``(F, H' W' N)``, from ``cols`` ``(C, kh, kw, H', W', N)``.

        The lecture's equation for every output position of the batch at once:
        one ``(F, C kh kw) x (C kh kw, H' W' N)`` product, then the bias of
        each filter.  ``forward`` and ``infer`` both compute the layer with it.
        """
        F = self.out_channels
        np.matmul(self.weight.reshape(F, -1), cols.reshape(self.weight[0].size, -1), out=y)
        if self.bias is not None:
            y += self.bias[:, None]
        return y

    def _fill_columns(self, x, offsets, ho, wo):
        """im2col of ``x`` into the cached column buffer, which is returned.

        The buffer is keyed on the input shape (which padding positions stay
        zero depends on it) and the dtype; it is what backward reads.
        """
        dtype = self._dtype(x)
        key = (x.shape, dtype)
        cached = self._buf_cols
        if cached is not None and cached[0] == key:
            cols = cached[1]
        else:
            self._buf_cols = None  # drop the old columns before allocating new ones
            cols = np.zeros(self._cols_shape(x.shape[0], ho, wo), dtype)
        xt, self._buf_xt = _chwn(x, dtype, self._buf_xt)
        self._buf_cols = (key, _im2col(xt, cols, offsets))
        return cols

    def forward(self, x):
        x = _as_float(x, self.weight.dtype)
        ho, wo, offsets = self._geometry(x)
        cols = self._fill_columns(x, offsets, ho, wo)
        F, n = self.out_channels, x.shape[0]
        self._buf_y = y = _buffer(self._buf_y, (F, ho * wo * n), cols.dtype)
        # (F, H' W' N) already is the output in the batch-last layout: no transpose
        self.output = self._affine(cols, y).reshape(F, ho, wo, n).transpose(3, 0, 1, 2)
        return self.output

    def update_output(self, x):
        return self.infer(x)

    def infer(self, x, owned=False):
        x = _as_float(x, self.weight.dtype)
        ho, wo, offsets = self._geometry(x)
        n, F = x.shape[0], self.out_channels
        dtype = self._dtype(x)
        # the output is batch-last, as forward's: the next convolution reads it
        # without a transpose, and pooling and activations keep its layout
        out = np.empty((F, ho, wo, n), dtype)
        per_sample = int(np.prod(self._cols_shape(1, ho, wo))) * dtype.itemsize
        chunk = max(1, min(n, _INFER_CHUNK_BYTES // per_sample))
        padded = any(self.padding)  # only padding positions must stay zero in the columns
        cols = xt = y = None  # local buffers, reused from chunk to chunk
        for start in range(0, n, chunk):
            xb = x[start : start + chunk]
            nb = xb.shape[0]
            cols = _buffer(cols, self._cols_shape(nb, ho, wo), dtype, zero=padded)
            xbt, xt = _chwn(xb, dtype, xt)
            # a single chunk's product is written straight into the output
            y = out.reshape(F, -1) if nb == n else _buffer(y, (F, ho * wo * nb), dtype)
            self._affine(_im2col(xbt, cols, offsets), y)
            if nb < n:
                out[..., start : start + nb] = y.reshape(F, ho, wo, nb)
        return out.transpose(3, 0, 1, 2)

    # -- backward -----------------------------------------------------------------
    def _columns(self, x):
        """The cached columns of ``x`` (recomputed if the cache is for another shape)."""
        cached = self._buf_cols
        if cached is None or cached[0] != (x.shape, self._dtype(x)):
            ho, wo, offsets = self._geometry(x)
            return self._fill_columns(x, offsets, ho, wo)
        return cached[1]

    def _delta(self, grad_output):
        """``grad_output`` ``(N, F, H', W')`` as the matrix ``(F, H' W' N)``."""
        dtype = np.result_type(grad_output.dtype, self.weight.dtype)
        dy, self._buf_dy = _chwn(grad_output, dtype, self._buf_dy)
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
        gw = _matmul_nt(dy, cols.reshape(k, -1), self._buf_gw)  # (F, k), a view
        self._buf_gw = gw.T
        if scale != 1.0:
            gw *= scale
        self.grad_weight.reshape(F, k)[...] += gw
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


def _initial_weights(init, rng, shape, dtype):
    """``(W, b)`` for filters of ``shape`` ``(F, C, kh, kw)``; ``W`` as ``(F, C kh kw)``."""
    F, C, kh, kw = shape
    fan_in = C * kh * kw
    if isinstance(init, str) and init == "glorot_uniform":
        # Glorot with fan_out = F kh kw: r = sqrt(6 / (fan_in + F kh kw)), drawn
        # by glorot_uniform for an (F, fan_in) matrix with the gain rescaled.
        gain = 6.0 * (fan_in + F) / (fan_in + F * kh * kw)
        return glorot_uniform(rng, fan_in, F, dtype=dtype, gain=gain)
    w, b = (init if callable(init) else INITIALIZERS[init])(rng, fan_in, F, dtype=dtype)
    if np.shape(w) != (F, fan_in) or np.shape(b) != (F,):
        raise ValueError(
            f"init must return W of shape {(F, fan_in)} and b of shape {(F,)}, "
            f"got {np.shape(w)} and {np.shape(b)}."
        )
    return w, b
