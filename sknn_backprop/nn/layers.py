"""Shape, stochastic and penalty layers: ``Dropout``, ``GaussianNoise``, ``RandomShift``,
``Flatten``, ``Reshape``, ``L1Penalty``."""

import numpy as np

from .module import Module, check_int, check_real

__all__ = [
    "TrainingOnly",
    "Dropout", "GaussianNoise", "RandomShift", "Flatten", "Reshape", "L1Penalty"]


class TrainingOnly(Module):
    """A stochastic layer that acts in training mode only (identity in eval mode).

    Subclasses implement ``_train_forward(x)`` (store what backward needs) and
    ``update_grad_input``; ``forward`` falls back to the identity in eval mode
    or when the layer is switched off (``_active()`` false), and ``infer`` -- the
    prediction path -- always is the identity.  Randomness comes from ``rng``,
    handed over by ``set_rng``; ``None`` means a generator seeded with 0, never
    the global state.
    """

    returns_view = True
    _state = ()  # names of what the last training forward stored for backward

    def __init__(self, rng=None):
        super().__init__()
        self.rng = rng
        for name in self._state:
            setattr(self, name, None)

    def _generator(self):
        if self.rng is None:
            self.rng = np.random.default_rng(0)
        return self.rng

    def _active(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x):
        if not isinstance(x, np.ndarray):  # scipy sparse input: the layers need dense rows
            x = x.toarray()
        if not self.training or not self._active():
            for name in self._state:
                setattr(self, name, None)
            self.output = x
            return x
        self.output = self._train_forward(x)
        return self.output

    def update_output(self, x):
        return self.forward(x)

    def infer(self, x, owned=False):
        return x

    def clear_state(self):
        super().clear_state()
        for name in self._state:
            setattr(self, name, None)
        return self


class Dropout(TrainingOnly):
    """Inverted dropout (Srivastava et al., 2014).

    In training mode each input is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``, so the expected activation is
    unchanged and evaluation mode is the identity (the lecture's "halving the
    weights" at test time, applied at train time instead).

    Parameters
    ----------
    p : float, default=0.5
        Drop probability, in ``[0, 1)``.
    rng : numpy.random.Generator, default=None
        Source of the masks.  Estimators hand one over at fit time with
        :meth:`set_rng`; ``None`` means "seeded with 0" (never the global RNG).

    Attributes
    ----------
    mask : ndarray or None
        The scaled mask of the last training-mode forward (what backward uses).
    """

    _state = ("mask",)

    def __init__(self, p=0.5, rng=None):
        self.p = check_real("p", p, 0.0, 1.0, high_open=True)
        super().__init__(rng)

    def extra_repr(self):
        return f"{self.p:g}"

    def _active(self):
        return self.p > 0

    def _train_forward(self, x):
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        mask = self._generator().random(x.shape, dtype=dtype)
        # mask = [u >= p] / (1 - p), computed in place
        np.greater_equal(mask, self.p, out=mask, casting="unsafe")
        mask *= 1.0 / (1.0 - self.p)
        self.mask = mask
        return x * mask

    def update_grad_input(self, x, grad_output):
        if self.mask is None:
            return grad_output
        return grad_output * self.mask


class GaussianNoise(TrainingOnly):
    """Additive Gaussian noise ``x + N(0, sigma^2)`` in training mode; identity in eval.

    The lecture's "inject noise into the system" regulariser.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise, ``>= 0``.
    rng : numpy.random.Generator, default=None
        Source of the noise (see :class:`Dropout`).
    """

    def __init__(self, sigma, rng=None):
        self.sigma = check_real("sigma", sigma, 0.0)
        super().__init__(rng)

    def extra_repr(self):
        return f"{self.sigma:g}"

    def _active(self):
        return self.sigma > 0

    def _train_forward(self, x):
        noise = self._generator().standard_normal(x.shape, dtype=x.dtype)
        noise *= self.sigma
        noise += x
        return noise

    def update_grad_input(self, x, grad_output):
        return grad_output


class RandomShift(TrainingOnly):
    """Random translations of ``(N, C, H, W)`` images in training mode; identity in eval.

    Each image of a training batch is shifted by its own ``(dy, dx)``, drawn
    uniformly from ``[-max_shift, max_shift]`` on each spatial axis (capped at
    ``size - 1``, so a single-row signal only moves sideways); pixels shifted
    in are zero.  Backward shifts the gradient back.  Evaluation mode (every
    prediction and validation score) passes the input through unchanged, as
    :class:`~sknn_backprop.nn.Dropout` does: data augmentation for training only.

    Parameters
    ----------
    max_shift : int
        Largest translation in pixels, ``>= 0``.
    rng : numpy.random.Generator, default=None
        Source of the shifts; estimators hand one over with ``set_rng``.
        ``None`` means "seeded with 0" (never the global RNG).

    Attributes
    ----------
    shifts : ndarray of shape (N, 2) or None
        The ``(dy, dx)`` of each image of the last training-mode forward.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> shift = nn.RandomShift(1, rng=np.random.default_rng(0))
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> y = shift.forward(x)
    >>> bool(np.abs(shift.shifts).max() <= 1), y.shape
    (True, (1, 1, 3, 3))
    >>> shift.eval().forward(x) is x
    True
    """

    _state = ("shifts",)

    def __init__(self, max_shift, rng=None):
        self.max_shift = check_int("max_shift", max_shift, 0)
        super().__init__(rng)

    def extra_repr(self):
        return str(self.max_shift)

    def _active(self):
        return self.max_shift > 0

    @staticmethod
    def _slices(d, size):
        """``(destination, source)`` slices of a shift by ``d`` along an axis of ``size``."""
        if d >= 0:
            return slice(d, size), slice(0, size - d)
        return slice(0, size + d), slice(-d, size)

    def _move(self, src, shifts, back=False):
        """``src`` with image ``n`` moved by ``shifts[n]`` (by ``-shifts[n]`` if ``back``)."""
        out = np.zeros_like(src)
        h, w = src.shape[2:]
        pairs, groups = np.unique(shifts, axis=0, return_inverse=True)
        for g, (dy, dx) in enumerate(pairs):
            rows = np.flatnonzero(groups.ravel() == g)
            (ry, sy), (rx, sx) = self._slices(dy, h), self._slices(dx, w)
            if back:  # the gradient flows from where a pixel went to where it came from
                ry, sy, rx, sx = sy, ry, sx, rx
            out[rows, :, ry, rx] = src[rows, :, sy, sx]
        return out

    def _train_forward(self, x):
        limits = np.minimum(self.max_shift, np.array(x.shape[2:]) - 1)
        self.shifts = self._generator().integers(-limits, limits + 1, size=(x.shape[0], 2))
        return self._move(x, self.shifts)

    def update_grad_input(self, x, grad_output):
        if self.shifts is None:
            return grad_output
        return self._move(grad_output, self.shifts, back=True)


class Reshape(Module):
    """Reshape each sample to ``shape`` (the batch axis is kept), like Torch7's ``nn.Reshape``.

    Parameters
    ----------
    *shape : int
        The per-sample shape, e.g. ``Reshape(1, 32, 32)`` or ``Reshape(128 * 5 * 5)``.
    """

    returns_view = True

    def __init__(self, *shape):
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not shape:
            raise ValueError("shape must have at least one dimension.")
        self.shape = tuple(check_int("shape", s) for s in shape)

    def extra_repr(self):
        return "x".join(map(str, self.shape))

    def update_output(self, x):
        if int(np.prod(x.shape[1:])) != int(np.prod(self.shape)):
            raise ValueError(
                f"Reshape{self.shape}: cannot reshape samples of shape {x.shape[1:]} "
                f"({int(np.prod(x.shape[1:]))} values) to {self.shape}."
            )
        return x.reshape((x.shape[0],) + self.shape)

    def update_grad_input(self, x, grad_output):
        return grad_output.reshape(x.shape)


class Flatten(Module):
    """Flatten each sample to a vector: ``(n, ...) -> (n, prod(...))``."""

    returns_view = True

    def update_output(self, x):
        return x.reshape(x.shape[0], -1)

    def update_grad_input(self, x, grad_output):
        return grad_output.reshape(x.shape)


class L1Penalty(Module):
    """Identity forward, an L1 penalty on the activations backward (Torch7's ``nn.L1Penalty``).

    The lecture's "enforce sparsity in the neural network": placed after a
    layer, it adds ``P = lambda sum_{i,j} |a_ij|`` (divided by the batch size
    ``n`` with ``size_average``) to the objective.  Forward passes ``a``
    through unchanged and records ``P`` in :attr:`loss`; backward adds
    ``dP/da = lambda sign(a)`` (over ``n`` with ``size_average``) to the gradient
    coming from above, so the layers below learn sparse activations.  The
    criterion never sees ``P``: a training loop that reports its loss adds
    ``penalty.loss`` itself.

    Parameters
    ----------
    l1weight : float
        The penalty's weight ``lambda``, ``>= 0``.
    size_average : bool, default=False
        Divide the penalty (and its gradient) by the batch size.  The engine's
        criteria average over the batch, so ``True`` keeps the penalty on the
        same per-sample scale as the loss.

    Attributes
    ----------
    loss : float
        The penalty ``P`` of the last ``forward`` (``0.0`` before any).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> penalty = nn.L1Penalty(0.1)
    >>> a = np.array([[1.0, -2.0], [0.0, 3.0]])
    >>> penalty.forward(a) is a, round(penalty.loss, 6)
    (True, 0.6)
    >>> penalty.backward(a, np.zeros_like(a))
    array([[ 0.1, -0.1],
           [ 0. ,  0.1]])
    """

    returns_view = True

    def __init__(self, l1weight, size_average=False):
        super().__init__()
        self.l1weight = check_real("l1weight", l1weight, 0.0)
        self.size_average = bool(size_average)
        self.loss = 0.0

    def extra_repr(self):
        return f"{self.l1weight:g}" + (", size_average=True" if self.size_average else "")

    def _weight(self, x):
        """``lambda``, or ``lambda / n`` with ``size_average``."""
        return self.l1weight / x.shape[0] if self.size_average else self.l1weight

    def update_output(self, x):
        # P = lambda sum_ij |a_ij|, recorded for the training loop's reported loss
        self.loss = self._weight(x) * float(np.abs(x).sum())
        return x

    def infer(self, x, owned=False):
        return x

    def update_grad_input(self, x, grad_output):
        # dP/da = lambda sign(a), added to dL/da from the layers above
        grad = np.sign(x).astype(grad_output.dtype, copy=False)
        grad *= grad_output.dtype.type(self._weight(x))
        grad += grad_output
        return grad
