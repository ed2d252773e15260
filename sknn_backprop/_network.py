"""Hyperparameters -> ``nn`` modules: the pieces every preset builds its network from.

The presets (``MLP*``, ``ConvNet*``) say which pieces they stack; this module
holds how each piece is made from the estimator's hyperparameters: activations,
the weight initialiser, batch normalisation, the dense hidden stack with its
dropout, and the input regularisers.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from . import nn

__all__ = [
    "ACTIVATIONS",
    "MLPNetworkMixin",
    "activation_module",
    "activity_penalty",
    "batch_norm",
    "dense_stack",
    "init_function",
    "input_regularisers",
    "positive_ints",
]

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "abs": nn.Abs,
}


def positive_ints(value, name):
    """An int or a sequence of ints -> a list of ints > 0, or a ``ValueError`` naming ``name``."""
    values = list(value) if hasattr(value, "__iter__") else [value]
    ok = all(isinstance(v, Integral | np.integer) and not isinstance(v, bool) for v in values)
    if not ok:
        raise ValueError(f"{name} must be an int or a sequence of ints, got {value!r}.")
    if any(v <= 0 for v in values):
        raise ValueError("%s must be > 0, got %s." % (name, [int(v) for v in values]))
    return [int(v) for v in values]


def per_layer(value, n_layers, name):
    """A float or one value per hidden layer -> list of ``n_layers`` floats."""
    if np.ndim(value) == 0:
        return [float(value)] * n_layers
    values = [float(v) for v in value]
    if len(values) != n_layers:
        raise ValueError(
            f"{name} must be a float or have one value per hidden layer "
            f"({n_layers}), got {len(values)} values."
        )
    if any(not 0 <= v < 1 for v in values):
        raise ValueError(f"{name} values must be in [0, 1), got {values}.")
    return values


def init_function(est, kernel_area=1):
    """The weight initialiser: scikit-learn's Glorot uniform by default.

    As scikit-learn, Glorot's gain is 2 instead of 6 for logistic units, for
    dense and convolution layers alike (``kernel_area``: ``kh * kw`` of a filter).
    """
    if est.weight_init == "glorot_uniform":
        gain = 2.0 if est.activation == "logistic" else 6.0
        return nn.init.GlorotUniform(gain, kernel_area)
    return nn.init.INITIALIZERS[est.weight_init]


def activation_module(activation):
    """A fresh hidden activation module (in place, except ``abs``, which needs its input)."""
    if activation == "abs":  # needs its input's sign: never in place
        return nn.Abs()
    return ACTIVATIONS[activation](inplace=True)


def activity_penalty(est):
    """``[nn.L1Penalty]`` after a hidden activation when ``activity_l1 > 0``, else ``[]``."""
    if est.activity_l1 > 0:
        return [nn.L1Penalty(est.activity_l1, size_average=True)]
    return []


def batch_norm(est, n_features, dtype, images=False):
    """``[BatchNorm1d]`` (``[BatchNorm2d]`` after a convolution) with ``batch_norm``, else ``[]``.

    It goes between a hidden layer's ``Linear`` / ``Conv2d`` and its activation
    (Ioffe & Szegedy's placement); its scale and shift are never penalised.
    """
    if not getattr(est, "batch_norm", False):
        return []
    module = nn.BatchNorm2d if images else nn.BatchNorm1d
    return [module(n_features, dtype=dtype)]


def dense_stack(est, fan_in, sizes, rng, dtype):
    """``Linear [-> BatchNorm1d] -> activation [-> L1Penalty] [-> Dropout]`` per hidden size.

    Returns ``(mods, width)``.
    """
    mods = []
    rates = per_layer(est.dropout, len(sizes), "dropout")
    init = init_function(est)
    for size, rate in zip(sizes, rates):
        mods.append(nn.Linear(fan_in, size, rng=rng, dtype=dtype, init=init))
        mods += batch_norm(est, size, dtype)
        mods.append(activation_module(est.activation))
        mods += activity_penalty(est)
        if rate > 0:
            mods.append(nn.Dropout(rate))
        fan_in = size
    return mods, fan_in


def input_regularisers(est):
    """The input regularisers that ``input_noise`` and ``input_dropout`` ask for."""
    mods = []
    if est.input_noise > 0:
        mods.append(nn.GaussianNoise(est.input_noise))
    if est.input_dropout > 0:
        mods.append(nn.Dropout(est.input_dropout))
    return mods


class MLPNetworkMixin:
    """The dense part of the MLPs and the autoencoder: input regularisers, hidden layers."""

    _mlp_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    }

    def _hidden_sizes(self):
        return positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _build_hidden(self, n_features, rng, dtype):
        dense, width = dense_stack(self, n_features, self._hidden_sizes(), rng, dtype)
        return input_regularisers(self) + dense, width

    def _widest_hidden(self):
        return max(self._hidden_sizes())
