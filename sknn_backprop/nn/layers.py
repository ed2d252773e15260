"""Shape and stochastic layers: ``Dropout``, ``GaussianNoise``, ``Flatten``, ``Reshape``."""

import numpy as np

from .module import Module, check_int, check_real

__all__ = ["Dropout", "GaussianNoise", "Flatten", "Reshape"]


def _generator(module):
    """The module's generator, created seeded (never the global RNG) if none was given."""
    if module.rng is None:
        module.rng = np.random.default_rng(0)
    return module.rng


class Dropout(Module):
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

    returns_view = True

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_real("p", p, 0.0, 1.0, high_open=True)
        self.rng = rng
        self.mask = None

    def extra_repr(self):
        return f"{self.p:g}"

    def forward(self, x):
        if not isinstance(x, np.ndarray):  # scipy sparse input: masks need dense rows
            x = x.toarray()
        if not self.training or self.p == 0:
            self.mask = None
            self.output = x
            return x
        keep = 1.0 - self.p
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        mask = _generator(self).random(x.shape, dtype=dtype)
        # mask = [u >= p] / (1 - p), computed in place
        np.greater_equal(mask, self.p, out=mask, casting="unsafe")
        mask *= 1.0 / keep
        self.mask = mask
        self.output = x * mask
        return self.output

    def update_output(self, x):
        return self.forward(x)

    def infer(self, x, owned=False):
        return x

    def update_grad_input(self, x, grad_output):
        if self.mask is None:
            return grad_output
        return grad_output * self.mask

    def clear_state(self):
        super().clear_state()
        self.mask = None
        return self


class GaussianNoise(Module):
    """Additive Gaussian noise ``x + N(0, sigma^2)`` in training mode; identity in eval.

    The lecture's "inject noise into the system" regulariser.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise, ``>= 0``.
    rng : numpy.random.Generator, default=None
        Source of the noise (see :class:`Dropout`).
    """

    returns_view = True

    def __init__(self, sigma, rng=None):
        super().__init__()
        self.sigma = check_real("sigma", sigma, 0.0)
        self.rng = rng

    def extra_repr(self):
        return f"{self.sigma:g}"

    def forward(self, x):
        if not isinstance(x, np.ndarray):  # scipy sparse input
            x = x.toarray()
        if not self.training or self.sigma == 0:
            self.output = x
            return x
        noise = _generator(self).standard_normal(x.shape, dtype=x.dtype)
        noise *= self.sigma
        noise += x
        self.output = noise
        return noise

    def update_output(self, x):
        return self.forward(x)

    def infer(self, x, owned=False):
        return x

    def update_grad_input(self, x, grad_output):
        return grad_output


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
