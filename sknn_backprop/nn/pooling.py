"""Pooling on ``(N, C, H, W)`` batches: Torch7's ``SpatialMaxPooling`` and
``SpatialAveragePooling``.

Both reduce every ``kh x kw`` window, the lecture's

    b[i', j'] = max_{(i, j) in Omega(i', j')} a[i, j]     (max-pooling)
    b[i', j'] = 1 / (kh kw) sum_{(i, j) in Omega(i', j')} a[i, j]     (average pooling)

by a loop over the ``kh * kw`` offsets inside a window, each a strided view of
the input covering every window at once.  Windows that would cross the border
are dropped (no padding).  Outputs and gradients keep the memory layout of the
input (C order or the convolutions' batch-last, see ``_im2col.py``).
"""

import numpy as np

from . import _fast
from ._im2col import (
    _as_float,
    _batch_last,
    _buffer_like,
    _out_size,
    _pair,
    _pair_str,
    _transpose_4d,
)
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d"]


class _Pool2d(Module):
    """Window geometry shared by the pooling layers."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair("stride", stride, 1)

    def extra_repr(self):
        s = f"{self.kernel_size[0]}x{self.kernel_size[1]}"
        if self.stride != self.kernel_size:
            s += f", stride {_pair_str(self.stride)}"
        return s

    def _geometry(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), got {x.shape}.")
        name = type(self).__name__
        ho = _out_size(name, x.shape[2], self.kernel_size[0], self.stride[0], 0)
        wo = _out_size(name, x.shape[3], self.kernel_size[1], self.stride[1], 0)
        return ho, wo

    def _tiled(self, x_shape, ho, wo):
        """Whether the windows tile the input exactly (each element in exactly one window)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return (sh, sw) == (kh, kw) and x_shape[2] == ho * kh and x_shape[3] == wo * kw

    def _windows(self, x, ho, wo):
        """Yield ``(o, view)``: the ``o``-th element of every window, as an ``(N, C, H', W')`` view.

        With ``stride == kernel_size`` and divisible sizes this is a reshape to
        ``(N, C, H', kh, W', kw)``; otherwise strided slices of ``x``.
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        n, c, h, w = x.shape
        if self._tiled(x.shape, ho, wo):
            x6 = x.reshape(n, c, ho, kh, wo, kw)
            for i in range(kh):
                for j in range(kw):
                    yield i * kw + j, x6[:, :, :, i, :, j]
        else:
            rows, cols = sh * (ho - 1) + 1, sw * (wo - 1) + 1
            for i in range(kh):
                for j in range(kw):
                    yield i * kw + j, x[:, :, i : i + rows : sh, j : j + cols : sw]

    def update_output(self, x):
        return self.infer(x)


class MaxPool2d(_Pool2d):
    """2-D max-pooling on ``(N, C, H, W)`` batches, as Torch7's ``nn.SpatialMaxPooling``.

    ``output[n, c, i', j']`` is the maximum of the ``kh x kw`` window starting
    at ``(stride_h i', stride_w j')``.  Windows that would cross the border are
    dropped: ``H' = (H - kh) // stride_h + 1`` (same for ``W'``).

    Backward routes each window's gradient to exactly one input element, its
    argmax (the lecture's indicator ``I((i, j) = argmax)``).  When a window
    holds several equal maxima, the first one in row-major window order (top
    row first, then left to right) gets the whole gradient; where windows
    overlap (``stride < kernel_size``) an element collects the gradients of
    every window it is the argmax of.  A window holding NaN outputs NaN and
    sends its gradient to its first NaN element, as PyTorch's ``MaxPool2d`` does
    (the NaN is treated as the maximum).

    ``forward`` returns a reused buffer, which the next ``forward`` of the same shape
    overwrites (as :class:`Conv2d`'s does): copy the output if you keep it.

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

    #: on the fast path a ``ReLU`` before it runs inside its pooling kernel
    absorbs_relu = True

    def __init__(self, kernel_size, stride=None):
        super().__init__(kernel_size, stride)
        self.argmax = None
        self._buf_mask = None
        self._buf_g = None

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
        if argmax is not None and np.isnan(np.sum(out)):  # rare: NaN (or inf - inf) inside
            _argmax_to_nan(self._windows(x, *out.shape[2:]), argmax)
        return out

    def forward(self, x):
        self._relu_fused = False
        ho, wo = self._geometry(x)
        shape = x.shape[:2] + (ho, wo)
        kh, kw = self.kernel_size
        idx_dtype = np.min_scalar_type(kh * kw - 1)
        buf = _buffer_like(x)  # keep the input's layout
        out = buf(self.output, shape, x.dtype)
        self.argmax = buf(self.argmax, shape, idx_dtype)
        if _fast.on() and _maxpool_fast(self, x, out, self.argmax):
            if np.isnan(np.sum(out)):  # rare: the gradient goes to the NaN, as below
                _argmax_to_nan(self._windows(x, ho, wo), self.argmax)
            self.output = out
            return out
        self._buf_mask = buf(self._buf_mask, shape, np.bool_)
        self.output = self._pool(x, out, self.argmax, self._buf_mask)
        return self.output

    def infer(self, x, owned=False):
        ho, wo = self._geometry(x)
        buf, shape = _buffer_like(x), x.shape[:2] + (ho, wo)
        out = buf(None, shape, x.dtype)
        if _fast.on():  # the compiled pass (its argmax is thrown away)
            argmax = buf(None, shape, np.min_scalar_type(np.prod(self.kernel_size) - 1))
            if _maxpool_fast(self, x, out, argmax):
                return out
        return self._pool(x, out)

    # -- the fast path: the ReLU before this layer and this layer (see nn.Sequential) -------
    def _forward_relu(self, x, relu):
        """``self.forward(relu.forward(x))`` as ``max(max_window(x), 0)``, one compiled pass:
        the pooled values and the gradients are the same, ``x`` is left as it is (the
        ReLU's output is not needed: ``relu.output`` is ``x``), and ``argmax`` points at
        the window's largest ``x`` where that is not positive (its gradient is 0 anyway)."""
        ho, wo = self._geometry(x)
        shape = x.shape[:2] + (ho, wo)
        kh, kw = self.kernel_size
        buf = _buffer_like(x)
        out = buf(self.output, shape, x.dtype)
        self.argmax = buf(self.argmax, shape, np.min_scalar_type(kh * kw - 1))
        self._relu_fused = _maxpool_fast(self, x, out, self.argmax, relu=True)
        if not self._relu_fused:
            return self.forward(relu.forward(x))
        relu.output = x
        self.output = out
        return out

    def _backward_relu(self, x, grad_output, relu):
        """``relu.backward(.., self.backward(x, grad_output))``: each window's gradient to
        its argmax where the pooled value is positive, one compiled pass."""
        if not getattr(self, "_relu_fused", False):  # the forward ran unfused
            return relu.backward(relu.output, self.backward(x, grad_output))
        gi = self._grad_input(x, grad_output, relu=True)
        self.grad_input = relu.grad_input = gi
        return gi

    def update_grad_input(self, x, grad_output):
        return self._grad_input(x, grad_output)

    def _grad_input(self, x, grad_output, relu=False):
        if self.argmax is None or self.argmax.shape != grad_output.shape:
            raise ValueError("MaxPool2d.backward needs the forward of the same batch first.")
        ho, wo = grad_output.shape[2:]
        dtype = np.result_type(grad_output.dtype, x.dtype)
        buf = _buffer_like(x)  # the layout of x
        if buf is not _buffer_like(grad_output):
            # mixed layouts make every pass below strided (10x slower): one copy first
            grad_output = _transpose_4d(grad_output, buf(self._buf_g, grad_output.shape, dtype))
            self._buf_g = grad_output
        gi = buf(self.grad_input, x.shape, dtype)
        tiled = self._tiled(x.shape, ho, wo)
        if _fast.on() and _maxpool_backward_fast(self, grad_output, gi, tiled, relu):
            return gi
        mask = buf(self._buf_mask, grad_output.shape, np.bool_)
        self._buf_mask = mask
        if not tiled:
            gi.fill(0)
        for o, view in self._windows(gi, ho, wo):
            np.equal(self.argmax, o, out=mask)
            if tiled:  # every input element is in exactly one window: plain writes
                np.multiply(grad_output, mask, out=view)
            else:
                np.add(view, grad_output, out=view, where=mask)
        if relu:  # after a fused forward (x is the ReLU's input): its mask
            np.multiply(gi, x > 0, out=gi)
        return gi

    def clear_state(self):
        super().clear_state()
        self.argmax = None
        return self


def _argmax_to_nan(windows, argmax):
    """Point ``argmax`` of every window holding a NaN at its first NaN (PyTorch's rule).

    The running ``>`` comparison never selects a NaN, while the forward's
    ``np.maximum`` propagates it; this makes backward send the window's gradient
    to the NaN that produced the output, as ``torch.nn.MaxPool2d`` does.
    """
    views = list(windows)
    for o, v in reversed(views):  # in reverse, so the first NaN wins
        argmax[np.isnan(v)] = o


# -- the fast path (numba, _fast.py) of MaxPool2d --------------------------------------
# One compiled pass over the windows instead of a numpy pass per window offset and
# per step (compare, scale, maximum): the same comparisons, the same first argmax on
# ties, the same products and additions in the same order, so the same numbers (up to
# the sign of a zero maximum tied with another zero).  The kernels see every array as
# (P, H, W, Q), contiguous: (C, H, W, N) for the batch-last layout, (N C, H, W, 1) in C order.


def _phwq(arrays, batch_last):
    """The ``(N, C, H, W)`` arrays as C-contiguous ``(P, H, W, Q)`` views, all of one
    layout; ``None`` if one of them is not stored so."""
    if batch_last:
        views = [a.transpose(1, 2, 3, 0) for a in arrays]
    elif all(a.flags.c_contiguous for a in arrays):  # (then reshape is a view)
        views = [a.reshape(a.shape[0] * a.shape[1], a.shape[2], a.shape[3], 1) for a in arrays]
    else:
        return None
    return views if all(v.flags.c_contiguous for v in views) else None


def _maxpool_fast(pool, x, out, argmax, relu=False):
    views = _phwq((x, out, argmax), _batch_last(x))
    if views is None or not _fast.fits(views[0], views[1]) or x.size == 0:
        return False
    _maxpool_kernel(*views, *pool.kernel_size, *pool.stride, relu, x.dtype.type(0))
    return True


def _maxpool_backward_fast(pool, g, gi, tiled, relu=False):
    views = _phwq((g, pool.argmax, gi, pool.output), _batch_last(gi))
    if views is None or not _fast.fits(views[0], views[2], views[3]) or gi.size == 0:
        return False
    k, s = pool.kernel_size, pool.stride
    _maxpool_backward_kernel(*views, *k, *s, tiled, relu, g.dtype.type(0))
    return True


@_fast.kernel
def _maxpool_kernel(x, out, argmax, kh, kw, sh, sw, relu, zero):
    """``MaxPool2d._pool``: running maximum over the window, first argmax on ties."""
    P, Q = x.shape[0], x.shape[3]
    ho, wo = out.shape[1], out.shape[2]
    for p in range(P):
        for i in range(ho):
            for j in range(wo):
                for q in range(Q):
                    out[p, i, j, q] = x[p, i * sh, j * sw, q]
                    argmax[p, i, j, q] = 0
                for o in range(1, kh * kw):
                    h, w = i * sh + o // kw, j * sw + o % kw
                    for q in range(Q):
                        v, m = x[p, h, w, q], out[p, i, j, q]
                        if v > m:
                            out[p, i, j, q] = v
                            argmax[p, i, j, q] = o
                        elif v != v:  # nan propagates, as np.maximum
                            out[p, i, j, q] = v
                if relu:  # the ReLU before the pooling: max(max(x), 0) = max(max(x, 0))
                    for q in range(Q):
                        m = out[p, i, j, q]
                        out[p, i, j, q] = m if m > 0 or m != m else zero


@_fast.kernel
def _maxpool_backward_kernel(g, argmax, gi, out, kh, kw, sh, sw, tiled, relu, zero):
    """``MaxPool2d.update_grad_input``: each window's gradient to its argmax, offset by offset."""
    P, ho, wo, Q = g.shape
    if tiled:  # g * [argmax == o]: every element written once, window by window
        for p in range(P):
            for i in range(ho):
                for j in range(wo):
                    for o in range(kh * kw):
                        h, w = i * sh + o // kw, j * sw + o % kw
                        for q in range(Q):
                            d = g[p, i, j, q]
                            if relu and not out[p, i, j, q] > 0:  # the ReLU's mask
                                d = d * zero
                            gi[p, h, w, q] = d if argmax[p, i, j, q] == o else d * zero
        return
    gi[...] = 0  # overlapping windows: added offset by offset, numpy's order
    for o in range(kh * kw):
        for p in range(P):
            for i in range(ho):
                for j in range(wo):
                    h, w = i * sh + o // kw, j * sw + o % kw
                    for q in range(Q):
                        if argmax[p, i, j, q] == o:
                            d = g[p, i, j, q]
                            if relu and not out[p, i, j, q] > 0:
                                d = d * zero
                            gi[p, h, w, q] += d


class AvgPool2d(_Pool2d):
    """2-D average pooling on ``(N, C, H, W)`` batches, as Torch7's ``nn.SpatialAveragePooling``.

    ``output[n, c, i', j']`` is the mean of the ``kh x kw`` window starting at
    ``(stride_h i', stride_w j')``, always divided by ``kh kw``.  Windows that
    would cross the border are dropped (no padding, floor-sized output):
    ``H' = (H - kh) // stride_h + 1`` (same for ``W'``).

    The layer is linear, so backward needs nothing from forward: every element
    of a window receives ``1 / (kh kw)`` of the window's gradient, and where
    windows overlap (``stride < kernel_size``) an element sums the shares of
    every window it is in.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window height and width.
    stride : int or (int, int), default=None
        Step between windows; ``None`` means ``kernel_size`` (non-overlapping).

    Attributes
    ----------
    output : ndarray of shape (N, C, H', W')
        Output of the last ``forward``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> pool = nn.AvgPool2d(2)
    >>> pool
    nn.AvgPool2d(2x2)
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool.forward(x)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    >>> pool.backward(x, np.ones((1, 1, 2, 2)))[0, 0]
    array([[0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__(kernel_size, stride)
        self._buf_g = None

    def _pool(self, x, out):
        """Running sum over the window offsets, divided by the window size ``kh kw``."""
        ho, wo = out.shape[2:]
        for o, v in self._windows(x, ho, wo):
            if o == 0:
                np.copyto(out, v)
            else:
                np.add(out, v, out=out)
        return np.divide(out, self.kernel_size[0] * self.kernel_size[1], out=out)

    def forward(self, x):
        x = _as_float(x, np.float64)
        ho, wo = self._geometry(x)
        out = _buffer_like(x)(self.output, x.shape[:2] + (ho, wo), x.dtype)  # x's layout
        self.output = self._pool(x, out)
        return self.output

    def infer(self, x, owned=False):
        x = _as_float(x, np.float64)
        ho, wo = self._geometry(x)
        return self._pool(x, _buffer_like(x)(None, x.shape[:2] + (ho, wo), x.dtype))

    def update_grad_input(self, x, grad_output):
        x = _as_float(x, np.float64)
        ho, wo = self._geometry(x)
        if grad_output.shape != x.shape[:2] + (ho, wo):
            raise ValueError(
                f"{self!r}: grad_output of shape {grad_output.shape} does not match "
                f"the output {x.shape[:2] + (ho, wo)} of the input {x.shape}."
            )
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        dtype = np.result_type(grad_output.dtype, x.dtype)
        buf = _buffer_like(x)  # the layout of x
        # each window's share of its gradient, delta / (kh kw), in the layout of x
        self._buf_g = g = buf(self._buf_g, grad_output.shape, dtype)
        if buf is _buffer_like(grad_output):
            np.divide(grad_output, kh * kw, out=g)
        else:  # mixed layouts would make every pass below strided: one transpose first
            np.divide(_transpose_4d(grad_output, g), kh * kw, out=g)
        gi = buf(self.grad_input, x.shape, dtype)
        tiled = self._tiled(x.shape, ho, wo)
        if not tiled:
            gi.fill(0)  # elements outside every window get no gradient
        overlap = sh < kh or sw < kw
        for _, view in self._windows(gi, ho, wo):
            if overlap:
                np.add(view, g, out=view)
            else:  # every input element is in at most one window: plain writes
                np.copyto(view, g)
        return gi
