"""Element-wise non-linearities ``a = f(z)`` and the (log-)softmax output layers.

Backward is the lecture's ``delta = dL/da ⊙ f'(z)``, with ``f'`` written in
terms of the cached output where possible (``sigma' = a (1 - a)``,
``tanh' = 1 - a^2``, ``relu' = [a > 0]``), so only the output is kept.

``inplace=True`` (Torch7's ``nn.ReLU(true)``) overwrites the input on forward
and ``grad_output`` on backward; estimators use it right after a ``Linear``
layer, whose output nothing else needs.
"""

import numpy as np
from scipy.special import expit, ndtr

from . import _fast
from ._ops import _GEMV_MAX, row_max, row_sum
from .module import Module, NamedParameters, check_real

__all__ = [
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "Abs",
    "Exp",
    "GELU",
    "SiLU",
    "Mish",
    "SELU",
    "ParametricActivation",
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

    def fuses_with(self, nxt):
        return getattr(nxt, "absorbs_relu", False)  # a MaxPool2d takes the ReLU in

    def fused_forward(self, nxt, x):
        return nxt._forward_relu(x, self)

    def fused_backward(self, nxt, x, grad_output, scale, need_input_grad):
        return nxt._backward_relu(self.output, grad_output, self)

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


def _sigmoid(x):
    """``1 / (1 + e^-z)`` from ``e = exp(-|z|)``: ``1 / (1 + e)`` for ``z >= 0``, ``e / (1 + e)``
    below (no overflow, full relative precision in both tails, and several times faster
    than ``scipy.special.expit``; the numerator ``max(e, [z >= 0])`` avoids ``np.where``,
    which is slow)."""
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    num = np.maximum(e, x >= 0, dtype=e.dtype)
    e += 1
    return np.divide(num, e, out=num)


class _InputActivation(_Elementwise):
    """An activation whose derivative needs its input ``z``: never run in place."""

    def __init__(self):
        super().__init__(inplace=False)


class GELU(_InputActivation):
    """Gaussian error linear unit ``f(z) = z Phi(z)`` (Hendrycks & Gimpel, 2016).

    ``Phi`` is the standard normal CDF, ``Phi(z) = (1 + erf(z / sqrt 2)) / 2``, and
    ``f'(z) = Phi(z) + z phi(z)`` with ``phi`` the normal density.  The exact erf
    form is PyTorch's default ``nn.GELU()``; ``approximate='tanh'`` is PyTorch's
    ``nn.GELU(approximate='tanh')``,
    ``f(z) = z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2``.
    Keeps its input for backward, so it never runs in place.

    Parameters
    ----------
    approximate : {'none', 'tanh'}, default='none'
        The exact form or the tanh approximation.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.GELU().forward(np.array([-1.0, 0.0, 1.0])).round(4)
    array([-0.1587,  0.    ,  0.8413])
    """

    _C = np.sqrt(2.0 / np.pi)
    _A = 0.044715

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}.")
        self.approximate = approximate

    def extra_repr(self):
        return "" if self.approximate == "none" else "approximate='tanh'"

    def _tanh(self, x):
        t = np.multiply(x, x)
        t *= x.dtype.type(self._A)
        t += 1
        t *= x
        t *= x.dtype.type(self._C)
        return np.tanh(t, out=t)  # tanh(sqrt(2/pi) (z + 0.044715 z^3))

    def _f(self, x, out):
        if self.approximate == "tanh":
            t = self._tanh(x)
            t += 1
            t *= x.dtype.type(0.5)
        else:
            t = ndtr(x)  # Phi(z)
        return np.multiply(x, t, out=out)

    def _df(self, x, g, out):
        dt = x.dtype.type
        if self.approximate == "tanh":
            t = self._tanh(x)
            # f' = (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 z^2) / 2
            d = np.multiply(x, x)
            d *= dt(3 * self._A)
            d += 1
            d *= dt(0.5 * self._C)
            d *= x
            d *= 1 - t * t
            t += 1
            t *= dt(0.5)
            d += t
        else:
            # f' = Phi(z) + z phi(z)
            d = np.multiply(x, x)
            d *= dt(-0.5)
            np.exp(d, out=d)
            d *= dt(1 / np.sqrt(2 * np.pi))
            d *= x
            d += ndtr(x)
        return np.multiply(g, d, out=out)


class SiLU(_InputActivation):
    """Sigmoid linear unit (swish) ``f(z) = z sigma(z)``; PyTorch's ``nn.SiLU``.

    ``f'(z) = sigma(z) (1 + z (1 - sigma(z)))`` (Elfwing et al., 2018;
    Ramachandran et al., 2017).  Keeps its input, so it never runs in place.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.SiLU().forward(np.array([-1.0, 0.0, 1.0])).round(4)
    array([-0.2689,  0.    ,  0.7311])
    """

    def _f(self, x, out):
        return np.multiply(x, _sigmoid(x), out=out)

    def _df(self, x, g, out):
        s = _sigmoid(x)
        d = np.subtract(1, s)
        d *= x
        d += 1
        d *= s
        return np.multiply(g, d, out=out)


class Mish(_InputActivation):
    """``f(z) = z tanh(softplus(z))`` (Misra, 2019); PyTorch's ``nn.Mish``.

    ``softplus(z) = log(1 + e^z)``, and
    ``f'(z) = tanh(sp) + z (1 - tanh^2(sp)) sigma(z)``.  RealMLP-TD's activation
    for regression.  Keeps its input, so it never runs in place.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.Mish().forward(np.array([-1.0, 0.0, 1.0])).round(4)
    array([-0.3034,  0.    ,  0.8651])
    """

    @staticmethod
    def _t_sigma(x):
        """``(tanh(softplus(z)), sigma(z))`` from one exponential ``n = e^z``:
        ``tanh(log(1 + n)) = n (n + 2) / (n (n + 2) + 2)`` and ``sigma = n / (1 + n)``
        (a few times faster than ``tanh(logaddexp(0, z))``; ``z`` is capped at 20,
        where both are 1 to float64 precision)."""
        n = np.minimum(x, x.dtype.type(20))
        np.exp(n, out=n)
        sigma = n + 1
        np.divide(n, sigma, out=sigma)
        t = n + 2
        t *= n
        d = t + 2
        t /= d
        return t, sigma

    def _f(self, x, out):
        return np.multiply(x, self._t_sigma(x)[0], out=out)

    def _df(self, x, g, out):
        t, sigma = self._t_sigma(x)
        d = np.multiply(t, t)
        np.subtract(1, d, out=d)
        d *= x
        d *= sigma
        d += t
        return np.multiply(g, d, out=out)


class SELU(_Elementwise):
    """Scaled exponential linear unit (Klambauer et al., 2017); PyTorch's ``nn.SELU``.

    ``f(z) = lambda z`` for ``z > 0`` and ``lambda alpha (e^z - 1)`` otherwise, with
    PyTorch's constants ``alpha = 1.6732632423543772848170429916717`` and
    ``lambda = 1.0507009873554804934193349852946``.  The derivative is written with
    the output ``a``: ``lambda`` for ``a > 0``, ``a + lambda alpha`` otherwise, so
    it may run in place.  RealMLP-TD's activation for classification.

    Parameters
    ----------
    inplace : bool, default=False
        Overwrite the input (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.SELU().forward(np.array([-1.0, 0.0, 1.0])).round(4)
    array([-1.1113,  0.    ,  1.0507])
    """

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def _f(self, x, out):
        dt = x.dtype.type
        neg = np.minimum(x, dt(0))
        np.expm1(neg, out=neg)
        neg *= dt(self.SCALE * self.ALPHA)
        out = np.maximum(x, dt(0), out=out)
        out *= dt(self.SCALE)
        out += neg
        return out

    def _df(self, x, g, out):
        a = self.output
        dt = a.dtype.type
        # lambda [a > 0] + (a + lambda alpha) [a <= 0], with boolean masks (np.where is slow)
        d = a + dt(self.SCALE * self.ALPHA)
        d *= a <= 0
        d += np.multiply(a > 0, dt(self.SCALE), dtype=a.dtype)
        return np.multiply(g, d, out=out)


class ParametricActivation(NamedParameters, Module):
    """RealMLP's parametric activation ``y = z + c alpha_j (f(z) - z)`` per unit ``j``.

    A learned mix of an activation ``f`` and the identity, one ``alpha`` per unit
    (Holzmüller et al., 2024: pytabkit's ``ParametricActivationLayer``; RealMLP-TD
    wraps SELU for classification and Mish for regression, ``act_lr_factor=0.1``).
    ``c alpha`` starts at 1, i.e. at ``f`` itself.  Backward, with ``g = dL/dy``:

    ``dL/dz = g (1 - c alpha) + (g c alpha) f'(z)`` (the second term through the
    wrapped module's own backward) and ``dL/dalpha_j = c sum_n g_nj (f(z_nj) - z_nj)``.

    ``lr_factor`` ``c`` is pytabkit's learning-rate factor as a reparametrisation
    (the stored ``alpha`` starts at ``1 / c``): with Adam-type optimizers the
    effective learning rate of ``c alpha`` is ``c`` times the optimizer's.
    ``alpha`` is not penalised, like :class:`PReLU`'s slopes (pytabkit applies its
    weight decay to it; a penalty pulls the unit towards the identity).

    Parameters
    ----------
    activation : Module
        An element-wise activation without parameters, not in place
        (``nn.SELU()``, ``nn.Mish()``, ``nn.ReLU()``...).  Kept in ``modules``.
    n : int
        Number of units (the last axis of the input).
    lr_factor : float, default=1.0
        ``c`` above, ``> 0``.  RealMLP-TD uses 0.1.
    dtype : dtype, default=np.float64

    Attributes
    ----------
    modules : list of Module
        ``[activation]``.
    weight : ndarray of shape (n,)
        The stored ``alpha``.
    grad_weight : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> act = nn.ParametricActivation(nn.SELU(), 4, lr_factor=0.1)
    >>> act
    nn.ParametricActivation(nn.SELU, 4, lr_factor=0.1)
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0]])
    >>> bool(np.allclose(act.forward(x), nn.SELU().forward(x)))   # starts at f itself
    True
    """

    _PENALIZED = (False,)  # no weight penalty

    def __init__(self, activation, n, lr_factor=1.0, dtype=np.float64):
        super().__init__()
        from .module import check_int

        if not isinstance(activation, Module) or activation.parameters()[0]:
            raise ValueError(
                f"activation must be an nn.Module without parameters, got {activation!r}."
            )
        if getattr(activation, "inplace", False):
            raise ValueError(f"activation must not run in place, got {activation!r}.")
        self.modules = [activation]
        self.n = check_int("n", n)
        self.lr_factor = check_real("lr_factor", lr_factor, 0.0)
        if self.lr_factor == 0:
            raise ValueError("lr_factor must be > 0, got 0.")
        self.weight = np.full(self.n, 1.0 / self.lr_factor, dtype=dtype)
        self.grad_weight = np.zeros_like(self.weight)

    @property
    def activation(self):
        return self.modules[0]

    def extra_repr(self):
        extra = f"{self.activation!r}, {self.n}"
        return extra + ("" if self.lr_factor == 1 else f", lr_factor={self.lr_factor:g}")

    def _alpha(self, dtype):
        return self.weight.astype(dtype, copy=False) * dtype.type(self.lr_factor)

    def _mix(self, x, a, overwrite):
        # y = z + c alpha (f(z) - z), in a's buffer if it may be overwritten
        y = np.subtract(a, x, out=a if overwrite else None)
        y *= self._alpha(y.dtype)
        y += x
        return y

    def _check(self, x):
        if x.shape[-1] != self.n:
            raise ValueError(f"{self!r} expects {self.n} units on the last axis, got {x.shape}.")

    def forward(self, x):
        self._check(x)
        a = self.activation.forward(x)  # the activation keeps its output for backward
        self.output = self._mix(x, a, overwrite=False)
        return self.output

    def update_output(self, x):
        return self.forward(x)

    def infer(self, x, owned=False):
        self._check(x)
        a = self.activation.infer(x)
        return self._mix(x, a, overwrite=a is not x and not self.activation.returns_view)

    def update_grad_input(self, x, grad_output):
        c_alpha = self._alpha(grad_output.dtype)
        gi = self.activation.backward(x, grad_output * c_alpha)
        gi = gi + grad_output * (1 - c_alpha)
        return gi

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        a = self.activation.output
        if a is None or a.shape != np.shape(x):
            a = self.activation.forward(x)
        d = np.subtract(a, x)
        d *= grad_output
        self.grad_weight += (scale * self.lr_factor) * d.reshape(-1, self.n).sum(axis=0)


    def reset_parameters(self, rng):
        """Back to ``c alpha = 1`` (the wrapped activation itself; no randomness)."""
        self.weight[...] = 1.0 / self.lr_factor

    def train(self, mode=True):
        super().train(mode)
        self.activation.train(mode)
        return self

    def clear_state(self):
        super().clear_state()
        self.activation.clear_state()
        return self


class PReLU(NamedParameters, Module):
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

    _PENALIZED = (False,)  # no weight penalty

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
        # the slopes cast to the data's dtype: float32 in, float32 gradient out
        slope = self.weight.astype(grad_output.dtype, copy=False)
        return np.where(x > 0, grad_output, grad_output * slope)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        contrib = np.where(x > 0, 0, x) * grad_output
        if self.n_parameters == 1:
            self.grad_weight += scale * contrib.sum()
        else:
            self.grad_weight += scale * contrib.reshape(-1, self.n_parameters).sum(axis=0)



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
