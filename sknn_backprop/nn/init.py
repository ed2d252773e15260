"""Weight initialisation: each function takes a generator and returns ``(W, b)``.

``W`` has the Torch layout ``(fan_out, fan_in)``.  Every function draws from
the ``numpy.random.Generator`` (or ``RandomState``) it is handed, never from the
global state, and returns arrays of the requested dtype.

Biases: ``glorot_uniform`` draws them from the same interval as the weights,
exactly as scikit-learn's MLP does (so defaults reproduce its behaviour);
``he_normal`` and ``lecun_uniform`` start them at zero, the usual choice for
ReLU units (the lecture's "how about the biases?": zero or a small constant
is enough once the weights break the symmetry).
"""

import numpy as np

__all__ = ["glorot_uniform", "GlorotUniform", "he_normal", "lecun_uniform", "INITIALIZERS"]


def _uniform(rng, bound, shape, dtype):
    return rng.uniform(-bound, bound, shape).astype(dtype, copy=False)


def glorot_uniform(rng, fan_in, fan_out, dtype=np.float64, gain=6.0):
    """Glorot & Bengio (2010) uniform, scikit-learn's MLP initialisation.

    Weights and biases are drawn from ``U(-r, r)`` with
    ``r = sqrt(gain / (fan_in + fan_out))``; scikit-learn uses ``gain=6`` and
    ``gain=2`` for logistic units.  The weights are drawn in scikit-learn's
    ``(fan_in, fan_out)`` order and transposed, so a given seed gives the
    same network as scikit-learn's.
    """
    bound = np.sqrt(gain / (fan_in + fan_out))
    w = _uniform(rng, bound, (fan_in, fan_out), dtype)
    b = _uniform(rng, bound, fan_out, dtype)
    return np.ascontiguousarray(w.T), b


class GlorotUniform:
    """:func:`glorot_uniform` with a fixed ``gain``, as a picklable callable.

    The estimators hand it to their layers as ``init`` (gain 2 for logistic
    units), so a layer can redraw its weights later (``reset_parameters``).
    For a convolution, ``kernel_area = kh * kw`` makes Glorot's ``fan_out`` the
    filter count times the kernel area, as ``Conv2d(init='glorot_uniform')``.
    """

    def __init__(self, gain=6.0, kernel_area=1):
        self.gain = float(gain)
        self.kernel_area = int(kernel_area)

    def __call__(self, rng, fan_in, fan_out, dtype=np.float64):
        gain = self.gain
        if self.kernel_area != 1:  # r = sqrt(gain / (fan_in + fan_out kh kw))
            gain = gain * (fan_in + fan_out) / (fan_in + fan_out * self.kernel_area)
        return glorot_uniform(rng, fan_in, fan_out, dtype, gain)

    def __repr__(self):
        return f"GlorotUniform(gain={self.gain:g}, kernel_area={self.kernel_area})"


def he_normal(rng, fan_in, fan_out, dtype=np.float64):
    """He et al. (2015) normal: ``N(0, 2 / fan_in)`` weights, zero biases (for ReLU)."""
    w = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)).astype(dtype)
    return w, np.zeros(fan_out, dtype=dtype)


def lecun_uniform(rng, fan_in, fan_out, dtype=np.float64):
    """The lecture's ``w ~ U[-1/sqrt(n), 1/sqrt(n)]`` with ``n = fan_in``; zero biases."""
    w = _uniform(rng, 1.0 / np.sqrt(fan_in), (fan_out, fan_in), dtype)
    return w, np.zeros(fan_out, dtype=dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
}
