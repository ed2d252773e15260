"""Element-wise non-linearities ``a = f(z)`` and the (log-)softmax output layers.

Backward is the lecture's ``delta = dL/da ⊙ f'(z)``, with ``f'`` written in
terms of the cached output where possible (``sigma' = a (1 - a)``,
``tanh' = 1 - a^2``, ``relu' = [a > 0]``), so only the output is kept.

``inplace=True`` (Torch7's ``nn.ReLU(true)``) overwrites the input on forward
and ``grad_output`` on backward; estimators use it right after a ``Linear``
layer, whose output nothing else needs.
"""

import numpy as np
from scipy.special import expit

from . import _fast
from ._ops import _GEMV_MAX, row_max, row_sum
from .module import Module, check_real

__all__ = [
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "Abs",
    "Exp",
    "Softmax",
    "LogSoftmax",
]


class _Elementwise(Module):
    """An activation that keeps only its output (and, if needed, its input)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def _f(self, x, out):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_output(self, x):
        return self._f(x, out=None)

    def forward(self, x):
        self.output = self._f(x, out=x if self.inplace else None)
        return self.output

    def infer(self, x, owned=False):
        return self._f(x, out=x if owned else None)

    def backward(self, x, grad_output, scale=1.0):
        out = grad_output if self.inplace else None
        self.grad_input = self._df(x, grad_output, out)
        return self.grad_input

    def update_grad_input(self, x, grad_output):
        return self._df(x, grad_output, None)


class Identity(_Elementwise):
    """``f(z) = z``.  Returns its input unchanged (no copy)."""

    returns_view = True

    def _f(self, x, out):
        return x

    def _df(self, x, g, out):
        return g


class Sigmoid(_Elementwise):
    """Logistic sigmoid ``f(z) = 1 / (1 + exp(-z))``; ``f' = a (1 - a)``."""

    def _f(self, x, out):
        return expit(x, out=out)

    def _df(self, x, g, out):
        a = self.output
        return np.multiply(g, a * (1 - a), out=out)


class Tanh(_Elementwise):
    """Hyperbolic tangent; ``f' = 1 - a^2``."""

    def _f(self, x, out):
        return np.tanh(x, out=out)

    def _df(self, x, g, out):
        a = self.output
        return np.multiply(g, 1 - a * a, out=out)


class ReLU(_Elementwise):
    """Rectified linear unit ``f(z) = max(0, z)``; ``f' = [a > 0]``."""

    def _f(self, x, out):
        return np.maximum(x, 0, out=out)

    def _df(self, x, g, out):
        # multiplying by the boolean mask is ~10x faster than masked assignment
        return np.multiply(g, self.output > 0, out=out)


# -- the fast path (numba, _fast.py): ReLU fused with the Linear layer before it ----------
# ``nn.Sequential`` runs a ``Linear`` with a bias followed by an in-place ``ReLU`` through
# these two kernels when the fast path is on: forward ``a = max(z + b, 0)`` in one pass
# instead of two, backward ``delta = g * [a > 0]`` with the bias gradient
# ``dL/db = sum_rows delta`` in the same pass.  The same operations in numpy's order:
# bit-identical to ``Linear`` + ``ReLU``.


@_fast.kernel
def _bias_relu_kernel(z, b, zero):
    n, k = z.shape
    for i in range(n):
        for j in range(k):
            s = z[i, j] + b[j]
            z[i, j] = s if s > 0 or s != s else zero  # np.maximum(s, 0): +0, nan kept


@_fast.kernel
def _relu_mask_col_sum_kernel(g, a, out, zero):
    n, k = g.shape
    for i in range(n):
        for j in range(k):
            d = g[i, j]
            if not a[i, j] > 0:
                d = d * zero  # g * False, as numpy: 0 (or nan where g is inf / nan)
            g[i, j] = d
            if i == 0:
                out[j] = d  # np.add.reduce(axis=0): the first row, then the others added
            else:
                out[j] += d


def bias_relu(z, b):
    """``np.maximum(z + b, 0)`` in place over the 2-D ``z`` (one compiled pass); ``None``
    if the kernel does not apply (then nothing was written)."""
    if z.ndim != 2 or b.ndim != 1 or not _fast.fits(z, b):
        return None
    _bias_relu_kernel(z, b, z.dtype.type(0))
    return z


def relu_mask_col_sum(g, a, out=None):
    """``g *= a > 0`` in place and return ``g.sum(axis=0)`` (into ``out`` if given), in one
    compiled pass; ``None`` if the kernel does not apply (then nothing was written).

    Only where ``_ops.col_sum`` reduces with ``np.add.reduce`` (whose order of
    additions the kernel follows); its small-batch GEMV adds in the BLAS's order.
    """
    if g.ndim != 2 or g.shape != a.shape or g.size < _GEMV_MAX or not _fast.fits(g, a):
        return None
    if out is None:
        out = np.empty(g.shape[1], g.dtype)
    elif not _fast.fits(g, out) or out.shape != g.shape[1:]:
        return None
    _relu_mask_col_sum_kernel(g, a, out, g.dtype.type(0))
    return out


class LeakyReLU(_Elementwise):
    """``f(z) = z`` for ``z > 0``, ``negative_slope * z`` otherwise.

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs, in ``[0, 1)``.
    inplace : bool, default=False
        Overwrite the input (see the module docstring).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = check_real("negative_slope", negative_slope, 0, 1, True)

    def extra_repr(self):
        return f"{self.negative_slope:g}"

    def _f(self, x, out):
        s = x.dtype.type(self.negative_slope)
        return np.maximum(x, x * s, out=out)  # max(z, s z) since 0 <= s < 1

    def _df(self, x, g, out):
        slope = np.where(self.output > 0, 1, self.negative_slope).astype(g.dtype)
        return np.multiply(g, slope, out=out)


class Abs(_Elementwise):
    """``f(z) = |z|`` (mentioned in the lecture as an alternative to ReLU).

    Needs the sign of ``z``, so it keeps its input: never run it in place.
    """

    def __init__(self):
        super().__init__(inplace=False)

    def _f(self, x, out):
        return np.abs(x, out=out)

    def _df(self, x, g, out):
        return np.multiply(g, np.sign(x), out=out)


class Exp(_Elementwise):
    """``f(z) = exp(z)``: the inverse log link of Poisson regression."""

    def _f(self, x, out):
        return np.exp(x, out=out)

    def _df(self, x, g, out):
        return np.multiply(g, self.output, out=out)


class PReLU(Module):
    """Parametric ReLU: ``f(z) = z`` for ``z > 0``, ``a z`` otherwise, ``a`` learned.

    Parameters
    ----------
    n_parameters : int, default=1
        ``1`` shares one slope across all units; otherwise one slope per unit
        (the size of the last input axis).
    init : float, default=0.25
        Initial slope (the value He et al. use).
    dtype : dtype, default=np.float64

    Attributes
    ----------
    weight : ndarray of shape (n_parameters,)
        The slopes.
    grad_weight : ndarray of shape (n_parameters,)
    """

    def __init__(self, n_parameters=1, init=0.25, dtype=np.float64):
        super().__init__()
        from .module import check_int

        self.n_parameters = check_int("n_parameters", n_parameters)
        self.init = init = check_real("init", init)
        self.weight = np.full(self.n_parameters, init, dtype=dtype)
        self.grad_weight = np.zeros_like(self.weight)

    def reset_parameters(self, rng):
        """Set every slope back to ``init`` (no randomness)."""
        self.weight[...] = getattr(self, "init", 0.25)

    def extra_repr(self):
        return "" if self.n_parameters == 1 else str(self.n_parameters)

    def update_output(self, x):
        return np.where(x > 0, x, x * self.weight.astype(x.dtype, copy=False))

    def update_grad_input(self, x, grad_output):
        return np.where(x > 0, grad_output, grad_output * self.weight)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        contrib = np.where(x > 0, 0, x) * grad_output
        if self.n_parameters == 1:
            self.grad_weight += scale * contrib.sum()
        else:
            self.grad_weight += scale * contrib.reshape(-1, self.n_parameters).sum(axis=0)

    def parameters(self):
        return [self.weight], [self.grad_weight]

    def penalized(self):
        return [False]

    def _rebind(self, params, grads):
        self.weight, self.grad_weight = params[0], grads[0]


def _last_axis(rowwise, reduce, x):
    """``reduce(x, axis=-1, keepdims=True)``, by the fast 2-D ``rowwise`` when ``x`` is 2-D."""
    if x.ndim == 2:
        return rowwise(x)[:, None]
    return reduce(x, axis=-1, keepdims=True)


def _softmax(x, out):
    if x.dtype.kind != "f":  # integer scores: probabilities are floats
        x, out = x.astype(np.float64), None
    e = np.subtract(x, _last_axis(row_max, np.max, x), out=out)
    np.exp(e, out=e)
    e /= _last_axis(row_sum, np.sum, e)
    return e


class Softmax(Module):
    """``p_i = exp(z_i) / sum_j exp(z_j)`` over the last axis (shifted for stability)."""

    def update_output(self, x):
        return _softmax(x, out=None)

    def infer(self, x, owned=False):
        return _softmax(x, out=x if owned else None)

    def update_grad_input(self, x, grad_output):
        p = self.output
        return p * (grad_output - (grad_output * p).sum(axis=-1, keepdims=True))


class LogSoftmax(Module):
    """``a_i = z_i - log sum_j exp(z_j)``, the lecture's output layer for ``ClassNLLCriterion``.

    Backward: ``dL/dz_i = g_i - p_i sum_j g_j`` with ``p = exp(a)``; for the
    NLL loss this is the lecture's ``delta^L = p - y``.
    """

    def update_output(self, x):
        shifted = np.subtract(x, _last_axis(row_max, np.max, x))
        shifted -= np.log(_last_axis(row_sum, np.sum, np.exp(shifted)))
        return shifted

    def update_grad_input(self, x, grad_output):
        p = np.exp(self.output)
        return grad_output - p * grad_output.sum(axis=-1, keepdims=True)
