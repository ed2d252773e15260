"""Batch normalisation (Ioffe & Szegedy, 2015), after Torch7's ``BatchNormalization.lua``
and ``SpatialBatchNormalization.lua``.

For each feature (or channel) ``c`` and the ``m`` values ``x_1 .. x_m`` of it in a
batch (the rows of ``(N, C)``; every sample and pixel of ``(N, C, H, W)``), training
mode computes

    mu = 1/m sum_i x_i,   sigma^2 = 1/m sum_i (x_i - mu)^2,
    x_hat_i = (x_i - mu) / sqrt(sigma^2 + eps),   y_i = gamma x_hat_i + beta,

and moves the running estimates towards the batch's
(``running <- (1 - momentum) running + momentum batch``, with the unbiased
variance ``m / (m - 1) sigma^2``, as Torch and PyTorch).  Evaluation mode
(``infer``, and ``forward`` after ``eval()``) uses the running estimates instead,
so a prediction is deterministic and a row's output does not depend on the rest of
its batch.

Backward in training mode, with ``g_i = dL/dy_i`` (the statistics depend on every
``x_i``, which couples the rows of the batch):

    dL/dbeta = sum_i g_i,   dL/dgamma = sum_i g_i x_hat_i,
    dL/dx_i = gamma / sqrt(sigma^2 + eps) * (g_i - 1/m sum_j g_j - x_hat_i 1/m sum_j g_j x_hat_j).
"""

import numpy as np

from ._im2col import _batch_last
from ._ops import col_sum
from .module import Module, check_int, check_real

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _float(x, dtype):
    """``x`` as a float array (integers become ``dtype``; float32 stays float32)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(dtype)


class _BatchNorm(Module):
    """Shared maths of :class:`BatchNorm1d` and :class:`BatchNorm2d`.

    Subclasses implement ``_view(x)``, which returns ``(v, restore)``: ``x`` as a
    2-D ``(m, C)`` or a 3-D ``(a, C, b)`` array (channels on axis 1, the reduced
    axes around it, no copy for the layouts the engine produces) and a function
    turning an array shaped like ``v`` back into the shape and layout of ``x``.
    """

    _n_dim = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        super().__init__()
        self.num_features = check_int("num_features", num_features)
        self.eps = check_real("eps", eps, 0.0)
        self.momentum = check_real("momentum", momentum, 0.0, 1.0)
        self.affine = bool(affine)
        n = self.num_features
        self.weight = np.ones(n, dtype=dtype) if self.affine else None
        self.bias = np.zeros(n, dtype=dtype) if self.affine else None
        self.grad_weight = None if self.weight is None else np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self.running_mean = np.zeros(n, dtype=dtype)
        self.running_var = np.ones(n, dtype=dtype)
        self._buf_mean = self._buf_invstd = None  # the last training batch's statistics

    def extra_repr(self):
        extra = [str(self.num_features)]
        for name, default in (("eps", 1e-5), ("momentum", 0.1)):
            if getattr(self, name) != default:
                extra.append(f"{name}={getattr(self, name):g}")
        if not self.affine:
            extra.append("affine=False")
        return ", ".join(extra)

    # -- per-channel plumbing ---------------------------------------------------------
    def _check(self, x):
        x = _float(x, self.running_mean.dtype)
        if x.ndim != self._n_dim or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r} expects input of {self._n_dim} dimensions with "
                f"{self.num_features} features on axis 1, got shape {x.shape}."
            )
        return x

    @staticmethod
    def _col(a, v):
        """A per-channel vector shaped to broadcast against ``v``."""
        return a if v.ndim == 2 else a[:, None]

    @staticmethod
    def _sum(v):
        """Per-channel sums of ``v`` (over every axis but 1)."""
        if v.ndim == 2:
            return col_sum(v)
        return np.add.reduce(v, axis=(0, 2))

    @staticmethod
    def _dot(a, b):
        """Per-channel sums of ``a * b``, without an array-sized temporary."""
        return np.einsum("ij,ij->j" if a.ndim == 2 else "ijk,ijk->j", a, b)

    def _affine(self, dtype):
        """``(gamma, beta)`` in the compute dtype (ones and zeros without ``affine``)."""
        if not self.affine:
            return np.ones(self.num_features, dtype), np.zeros(self.num_features, dtype)
        return self.weight.astype(dtype, copy=False), self.bias.astype(dtype, copy=False)

    def _like(self, g, x):
        """``g`` (a gradient shaped like ``x``) viewed the way ``_view`` sees ``x``."""
        if _batch_last(x) != _batch_last(g):  # a different memory layout: copy into x's
            out = np.empty_like(x)
            out[...] = g
            g = out
        return self._view(g.astype(x.dtype, copy=False))[0]

    # -- forward ----------------------------------------------------------------------
    def _scale_shift(self, v, a, c, out):
        """``out = v * a + c`` per channel (``out`` may be ``v``)."""
        np.multiply(v, self._col(a, v), out=out)
        out += self._col(c, v)
        return out

    def _eval_coefficients(self, dtype):
        """Eval mode: ``y = a x + c``, ``a = gamma / sqrt(var + eps)``, ``c = beta - a mu``."""
        gamma, beta = self._affine(dtype)
        a = gamma / np.sqrt(self.running_var.astype(dtype) + dtype.type(self.eps))
        return a, beta - a * self.running_mean.astype(dtype)

    def _train_forward(self, v):
        m = v.size // self.num_features
        if m < 2:
            raise ValueError(
                f"{self!r}: training mode needs more than one value per channel "
                f"(got input of {v.size} values); use eval() for single samples."
            )
        mean = self._sum(v) / v.dtype.type(m)
        out = np.subtract(v, self._col(mean, v))  # x - mu, then scaled in place
        var = self._dot(out, out) / v.dtype.type(m)  # biased: the batch's own variance
        invstd = 1.0 / np.sqrt(var + v.dtype.type(self.eps))
        gamma, beta = self._affine(v.dtype)
        self._scale_shift(out, gamma * invstd, beta, out)
        mom = self.momentum
        self.running_mean *= 1 - mom
        self.running_mean += mom * mean
        self.running_var *= 1 - mom
        self.running_var += (mom * m / (m - 1)) * var  # unbiased, as Torch and PyTorch
        self._buf_mean, self._buf_invstd = mean, invstd
        return out

    def forward(self, x):
        x = self._check(x)
        v, restore = self._view(x)
        if self.training:
            out = self._train_forward(v)
        else:
            a, c = self._eval_coefficients(v.dtype)
            out = self._scale_shift(v, a, c, np.empty_like(v))
        self.output = restore(out)
        return self.output

    def update_output(self, x):
        return self.forward(x)

    def infer(self, x, owned=False):
        x = self._check(x)
        v, restore = self._view(x)
        a, c = self._eval_coefficients(v.dtype)
        out = v if owned else np.empty_like(v)  # an owned input is overwritten
        return restore(self._scale_shift(v, a, c, out))

    # -- backward ---------------------------------------------------------------------
    def _statistics(self, v):
        """``(mu, 1 / sqrt(var + eps))`` that the last forward normalised ``v`` with."""
        dtype = v.dtype
        if self.training:
            if self._buf_mean is None:
                raise RuntimeError(f"{self!r}: backward before a training-mode forward.")
            return self._buf_mean.astype(dtype, copy=False), self._buf_invstd.astype(dtype)
        rv = self.running_var.astype(dtype) + dtype.type(self.eps)
        return self.running_mean.astype(dtype), 1.0 / np.sqrt(rv)

    def _sums(self, v, g):
        """``(x_hat, sum g, sum g x_hat)`` per channel."""
        mean, invstd = self._statistics(v)
        x_hat = np.subtract(v, self._col(mean, v))
        x_hat *= self._col(invstd, v)
        return x_hat, self._sum(g), self._dot(g, x_hat)

    def _grad_input(self, v, g, x_hat, sum_g, sum_gx):
        gamma, _ = self._affine(v.dtype)
        _, invstd = self._statistics(v)
        k = gamma * invstd
        if not self.training:  # the running statistics are constants: dL/dx = g a
            return np.multiply(g, self._col(k, v), out=x_hat)
        m = v.dtype.type(v.size // self.num_features)
        # g - mean(g) - x_hat mean(g x_hat), times gamma / sqrt(var + eps), in x_hat's space
        x_hat *= self._col(-sum_gx / m, v)
        x_hat += g
        x_hat -= self._col(sum_g / m, v)
        x_hat *= self._col(k, v)
        return x_hat

    def _acc(self, sum_g, sum_gx, scale):
        if self.affine:
            self.grad_weight += scale * sum_gx
            self.grad_bias += scale * sum_g

    def backward(self, x, grad_output, scale=1.0):
        """Both halves at once: the per-channel sums are computed once."""
        x = self._check(x)
        v, restore = self._view(x)
        g = self._like(grad_output, x)
        x_hat, sum_g, sum_gx = self._sums(v, g)
        self._acc(sum_g, sum_gx, scale)
        self.grad_input = restore(self._grad_input(v, g, x_hat, sum_g, sum_gx))
        return self.grad_input

    def update_grad_input(self, x, grad_output):
        x = self._check(x)
        v, restore = self._view(x)
        g = self._like(grad_output, x)
        return restore(self._grad_input(v, g, *self._sums(v, g)))

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        if self.affine:
            x = self._check(x)
            v, _ = self._view(x)
            _, sum_g, sum_gx = self._sums(v, self._like(grad_output, x))
            self._acc(sum_g, sum_gx, scale)

    # -- parameters -------------------------------------------------------------------
    def parameters(self):
        if not self.affine:
            return [], []
        return [self.weight, self.bias], [self.grad_weight, self.grad_bias]

    def penalized(self):
        # a weight penalty would pull gamma towards 0, i.e. the layer's output towards beta
        return [False, False] if self.affine else []

    def _rebind(self, params, grads):
        if self.affine:
            self.weight, self.bias = params
            self.grad_weight, self.grad_bias = grads

    def astype(self, dtype):
        super().astype(dtype)
        self.running_mean = self.running_mean.astype(dtype)
        self.running_var = self.running_var.astype(dtype)
        return self

    def describe(self):
        """Torch7-style listing of the tensors, the running estimates included."""
        lines = super().describe().splitlines()
        for name in ("running_var", "running_mean"):
            value = getattr(self, name)
            lines.insert(2, f"  {name} : {value.dtype.name} - size: {value.shape[0]}")
        return "\n".join(lines)

    def reset_running_stats(self):
        """Running mean 0 and variance 1, as at construction; return self."""
        self.running_mean.fill(0)
        self.running_var.fill(1)
        return self

    def reset_parameters(self, rng):
        """Scale 1, shift 0 and fresh running statistics, as at construction (no randomness)."""
        if self.affine:
            self.weight.fill(1)
            self.bias.fill(0)
        self.reset_running_stats()


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` inputs, per feature (Torch7's ``nn.BatchNormalization``).

    Training mode normalises each column with the batch's mean and (biased)
    variance, ``y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta``, and updates the
    running estimates (the statistics are unweighted: a criterion's
    ``sample_weight`` does not enter them); evaluation mode (``eval()``, and always
    ``infer``) uses the running mean and variance.  Backward (in training mode) is

    ``dL/dx_i = gamma / sqrt(sigma^2 + eps) * (g_i - mean_j g_j - x_hat_i mean_j(g_j x_hat_j))``

    with ``dL/dgamma = sum_i g_i x_hat_i`` and ``dL/dbeta = sum_i g_i``
    (see :mod:`sknn_backprop.nn.normalization`).

    Parameters
    ----------
    num_features : int
        Number of features ``C`` (columns of the input).
    eps : float, default=1e-5
        Added to the variance before the square root.
    momentum : float, default=0.1
        Weight of the current batch in the running estimates, in ``[0, 1]``:
        ``running <- (1 - momentum) running + momentum batch``.
    affine : bool, default=True
        Learn a per-feature scale ``gamma`` (``weight``) and shift ``beta`` (``bias``).
    dtype : dtype, default=np.float64
        Dtype of the parameters and running estimates.  The computation runs in
        the input's float dtype (float32 in, float32 out).

    Attributes
    ----------
    weight, bias : ndarray of shape (num_features,) or None
        ``gamma`` (initialised to 1) and ``beta`` (to 0); ``None`` without
        ``affine``.  Neither is penalised (``penalized()`` is ``[False, False]``).
    grad_weight, grad_bias : ndarray of shape (num_features,) or None
        Their accumulated gradients.
    running_mean, running_var : ndarray of shape (num_features,)
        Running estimates used in evaluation mode (pickled with the module).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> bn = nn.BatchNorm1d(3)
    >>> bn
    nn.BatchNorm1d(3)
    >>> x = np.random.default_rng(0).normal(5.0, 2.0, size=(100, 3))
    >>> y = bn.forward(x)
    >>> bool(np.allclose(y.mean(axis=0), 0)), bool(np.allclose(y.std(axis=0), 1, atol=1e-3))
    (True, True)
    >>> bn.running_mean.round(1)          # one step of momentum 0.1 towards the mean
    array([0.5, 0.5, 0.5])
    >>> bn.eval().forward(x[:1]).shape    # evaluation mode: rows are independent
    (1, 3)
    """

    _n_dim = 2

    def _view(self, x):
        return x, lambda out: out


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` images, per channel (Torch7's
    ``nn.SpatialBatchNormalization``).

    As :class:`BatchNorm1d`, with the statistics of channel ``c`` taken over every
    sample and pixel, the ``m = N H W`` values ``x[:, c, :, :]``.  Both memory layouts
    of the engine are accepted: C-contiguous ``(N, C, H, W)`` and the "batch-last"
    view of a ``(C, H, W, N)`` array that :class:`~sknn_backprop.nn.Conv2d` produces
    (there the per-channel sums run over contiguous rows).  The output and the input
    gradient keep the layout of the input.

    Parameters
    ----------
    num_channels : int
        Number of channels ``C``.
    eps : float, default=1e-5
    momentum : float, default=0.1
    affine : bool, default=True
    dtype : dtype, default=np.float64
        See :class:`BatchNorm1d`.

    Attributes
    ----------
    weight, bias, grad_weight, grad_bias, running_mean, running_var : ndarray
        As :class:`BatchNorm1d`, one value per channel.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> bn = nn.BatchNorm2d(2)
    >>> x = np.random.default_rng(0).normal(3.0, 1.0, size=(4, 2, 5, 5))
    >>> y = bn.forward(x)
    >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0))
    True
    """

    _n_dim = 4

    def __init__(self, num_channels, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        super().__init__(num_channels, eps, momentum, affine, dtype)

    def _view(self, x):
        n, c, h, w = x.shape
        if _batch_last(x):  # (C, H, W, N) memory: one contiguous row per channel
            v = x.transpose(1, 2, 3, 0).reshape(1, c, h * w * n)
            return v, lambda out: out.reshape(c, h, w, n).transpose(3, 0, 1, 2)
        v = np.ascontiguousarray(x).reshape(n, c, h * w)
        return v, lambda out: out.reshape(n, c, h, w)


class LayerNorm(Module):
    """Layer normalisation (Ba, Kiros & Hinton, 2016) over the last axis (``nn.LayerNorm``).

    Each sample (row) ``x`` of ``n`` features is normalised with its own mean and
    biased variance,

    ``mu = 1/n sum_j x_j``, ``sigma^2 = 1/n sum_j (x_j - mu)^2``,
    ``x_hat_j = (x_j - mu) / sqrt(sigma^2 + eps)``, ``y_j = gamma_j x_hat_j + beta_j``,

    so, unlike :class:`BatchNorm1d`, it behaves the same in training and
    evaluation mode and a row's output does not depend on the rest of its batch.
    Backward, with ``h_j = gamma_j dL/dy_j`` (per row):

    ``dL/dx_j = (h_j - mean_k h_k - x_hat_j mean_k(h_k x_hat_k)) / sqrt(sigma^2 + eps)``,
    ``dL/dgamma_j = sum_rows dL/dy_j x_hat_j``, ``dL/dbeta_j = sum_rows dL/dy_j``.

    PyTorch's conventions: ``eps=1e-5``, ``gamma`` initialised to 1 and ``beta``
    to 0 (``elementwise_affine=True``).  Neither is penalised (as the batch norm's
    scale and shift: a penalty on ``gamma`` would pull the output to ``beta``).
    Inputs of any rank are normalised over their last axis (``(N, n)`` batches,
    or ``(N, k, n)`` token tables).

    Parameters
    ----------
    n : int
        Size of the normalised (last) axis.
    eps : float, default=1e-5
        Added to the variance before the square root.
    elementwise_affine : bool, default=True
        Learn ``gamma`` (``weight``) and ``beta`` (``bias``).
    dtype : dtype, default=np.float64
        Dtype of the parameters; the computation runs in the input's float dtype.

    Attributes
    ----------
    weight, bias : ndarray of shape (n,) or None
        ``gamma`` and ``beta`` (``None`` without ``elementwise_affine``).
    grad_weight, grad_bias : ndarray of shape (n,) or None

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> ln = nn.LayerNorm(3)
    >>> ln
    nn.LayerNorm(3)
    >>> ln.forward(np.array([[1.0, 2.0, 3.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, n, eps=1e-5, elementwise_affine=True, dtype=np.float64):
        super().__init__()
        self.n = check_int("n", n)
        self.eps = check_real("eps", eps, 0.0)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = np.ones(self.n, dtype=dtype) if self.elementwise_affine else None
        self.bias = np.zeros(self.n, dtype=dtype) if self.elementwise_affine else None
        self.grad_weight = None if self.weight is None else np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._buf_mean = self._buf_invstd = None  # per-row statistics of the last forward

    def extra_repr(self):
        extra = [str(self.n)]
        if self.eps != 1e-5:
            extra.append(f"eps={self.eps:g}")
        if not self.elementwise_affine:
            extra.append("elementwise_affine=False")
        return ", ".join(extra)

    def _check(self, x):
        x = _float(x, np.float64 if self.weight is None else self.weight.dtype)
        if x.ndim < 2 or x.shape[-1] != self.n:
            raise ValueError(
                f"{self!r} expects input of at least 2 dimensions with {self.n} features "
                f"on the last axis, got shape {x.shape}."
            )
        return x

    def _statistics(self, x):
        """``(mu, 1 / sqrt(sigma^2 + eps))`` per row, shaped to broadcast against ``x``."""
        dt = x.dtype.type
        mean = x.mean(axis=-1, keepdims=True)
        xc = np.subtract(x, mean)
        var = np.einsum("...j,...j->...", xc, xc)[..., None]
        var /= dt(self.n)  # biased, as PyTorch
        var += dt(self.eps)
        invstd = np.sqrt(var, out=var)
        np.divide(1, invstd, out=invstd)
        return mean, invstd, xc

    def _normalise(self, x, keep, out=None):
        x = self._check(x)
        mean, invstd, xc = self._statistics(x)
        out = np.multiply(xc, invstd, out=xc if out is None else out)
        if self.elementwise_affine:
            out *= self.weight.astype(x.dtype, copy=False)
            out += self.bias.astype(x.dtype, copy=False)
        if keep:
            self._buf_mean, self._buf_invstd = mean, invstd
        return out

    def forward(self, x):
        self.output = self._normalise(x, keep=True)
        return self.output

    def update_output(self, x):
        return self._normalise(x, keep=False)

    def infer(self, x, owned=False):
        return self._normalise(x, keep=False)

    def _x_hat(self, x):
        """``(x_hat, 1 / sqrt(sigma^2 + eps))`` of the last forward (recomputed if it was
        another batch)."""
        mean, invstd = self._buf_mean, self._buf_invstd
        if mean is None or mean.shape[:-1] != x.shape[:-1] or mean.dtype != x.dtype:
            mean, invstd, _ = self._statistics(x)
        x_hat = np.subtract(x, mean)
        x_hat *= invstd
        return x_hat, invstd

    def _grad_input(self, x_hat, invstd, g):
        h = g * self.weight.astype(g.dtype, copy=False) if self.elementwise_affine else g.copy()
        dt = g.dtype.type
        mean_h = h.mean(axis=-1, keepdims=True)
        mean_hx = np.einsum("...j,...j->...", h, x_hat)[..., None]
        mean_hx /= dt(self.n)
        # (h - mean(h) - x_hat mean(h x_hat)) / sqrt(sigma^2 + eps), in h's space
        h -= mean_h
        x_hat *= mean_hx
        h -= x_hat
        h *= invstd
        return h

    def _acc(self, x_hat, g, scale):
        if self.elementwise_affine:
            g2 = g.reshape(-1, self.n)
            self.grad_weight += scale * np.einsum("ij,ij->j", g2, x_hat.reshape(-1, self.n))
            self.grad_bias += scale * col_sum(np.ascontiguousarray(g2))

    def backward(self, x, grad_output, scale=1.0):
        """Both halves at once: ``x_hat`` is computed once."""
        x = self._check(x)
        g = np.asarray(grad_output, dtype=x.dtype)
        x_hat, invstd = self._x_hat(x)
        self._acc(x_hat, g, scale)
        self.grad_input = self._grad_input(x_hat, invstd, g)
        return self.grad_input

    def update_grad_input(self, x, grad_output):
        x = self._check(x)
        g = np.asarray(grad_output, dtype=x.dtype)
        return self._grad_input(*self._x_hat(x), g)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        if self.elementwise_affine:
            x = self._check(x)
            self._acc(self._x_hat(x)[0], np.asarray(grad_output, dtype=x.dtype), scale)

    def parameters(self):
        if not self.elementwise_affine:
            return [], []
        return [self.weight, self.bias], [self.grad_weight, self.grad_bias]

    def penalized(self):
        return [False, False] if self.elementwise_affine else []

    def _rebind(self, params, grads):
        if self.elementwise_affine:
            self.weight, self.bias = params
            self.grad_weight, self.grad_bias = grads

    def reset_parameters(self, rng):
        """Scale 1 and shift 0, as at construction (no randomness)."""
        if self.elementwise_affine:
            self.weight.fill(1)
            self.bias.fill(0)
