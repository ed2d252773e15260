"""The network and training schedule of the tabular estimators.

- :func:`tabular_network`: ``[Linear -> activation -> Dropout] x n -> Linear -> output``,
  LeCun-normal weights (the initialisation SELU's self-normalisation assumes);
- :class:`LearningRateSchedule`: a training control that sets the optimizer's
  learning rate before every step (cosine decay, or RealMLP's ``coslog4``) and
  ends training when the schedule is over -- the planned end of a fit, so no
  ``ConvergenceWarning``.

The front of the network is RealMLP's: periodic embeddings of the numeric
columns (``nn.PeriodicEmbedding``, "PBLD") beside the other encoded columns,
then a learned per-feature scale (``nn.Scale``).
"""

import math

import numpy as np

from . import nn
from ._training.controls import Control

__all__ = [
    "ACTIVATIONS",
    "LearningRateSchedule",
    "lecun_normal",
    "tabular_front",
    "tabular_network",
]

#: hidden activations of the tabular networks (in place where the engine allows it)
ACTIVATIONS = {
    "selu": lambda: nn.SELU(inplace=True),
    "mish": nn.Mish,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "relu": lambda: nn.ReLU(inplace=True),
}


def lecun_normal(rng, fan_in, fan_out, dtype=np.float64):
    """``N(0, 1 / fan_in)`` weights, zero biases."""
    w = rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)
    return w.astype(dtype), np.zeros(fan_out, dtype=dtype)


def tabular_front(n_features, n_numeric, numeric_embedding, front_scale, rng, dtype):
    """``(modules, width)`` of the input side: numeric embeddings, then the scale.

    The encoder puts the ``n_numeric`` scaled numeric columns first; with
    ``numeric_embedding`` they go through ``nn.PeriodicEmbedding`` (RealMLP-TD's
    settings: 16 frequencies, ``sigma=0.1``, 3 outputs per feature plus the
    feature itself, learning-rate factor 0.1) and the other columns (missing
    indicators, categories) pass beside them.
    """
    mods, width = [], n_features
    if numeric_embedding and n_numeric > 0:
        emb = nn.PeriodicEmbedding(
            n_numeric, n_frequencies=16, sigma=0.1, d_embedding=3, lr_factor=0.1, rng=rng,
            dtype=dtype,
        )  # fmt: skip
        branches = [nn.Sequential(nn.Narrow(1, 0, n_numeric), emb)]
        if n_features > n_numeric:
            branches.append(nn.Narrow(1, n_numeric, n_features - n_numeric))
        mods += [nn.ConcatTable(*branches), nn.JoinTable(1)]
        width = emb.n_output + n_features - n_numeric
    if front_scale:
        mods.append(nn.Scale(width, lr_factor=6.0, dtype=dtype))
    return mods, width


def tabular_network(front, width, sizes, activation, dropout, out_module, n_outputs, rng, dtype):
    """``front``, then ``Linear -> activation [-> Dropout]`` per hidden size, the output."""
    mods, fan_in = list(front), width
    for size in sizes:
        mods.append(nn.Linear(fan_in, size, rng=rng, dtype=dtype, init=lecun_normal))
        mods.append(ACTIVATIONS[activation]())
        if dropout > 0:
            mods.append(nn.Dropout(dropout))
        fan_in = size
    mods.append(nn.Linear(fan_in, n_outputs, rng=rng, dtype=dtype, init=lecun_normal))
    return nn.Sequential(*mods, out_module)


def schedule_factor(name, t):
    """The learning rate's multiplier at training progress ``t`` in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    if name == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if name == "coslog4":  # RealMLP: 4 cosine cycles, evenly spaced in log(1 + 15 t)
        return 0.5 - 0.5 * math.cos(2 * math.pi * math.log2(1 + 15 * t))
    return 1.0


class LearningRateSchedule(Control):
    """Set the learning rate before each step from the progress through ``n_epochs``.

    The progress of step ``i`` of epoch ``e`` is ``(e + i / n_batches) / n_epochs``
    (``n_batches`` counted in the first epoch).  After ``n_epochs`` epochs the
    schedule is over and training stops.

    Parameters
    ----------
    name : {'constant', 'cosine', 'coslog4'}
        ``'cosine'`` decays from ``learning_rate_init`` to 0; ``'coslog4'`` is
        RealMLP's: four cycles from 0 up to ``learning_rate_init`` and back, each
        longer than the one before.
    n_epochs : int
        The length of the schedule.
    """

    def __init__(self, name, n_epochs):
        self.name = name
        self.n_epochs = n_epochs

    def on_train_begin(self, state):
        self._lr0 = state.optimizer.learning_rate_init if state.optimizer else None
        self._epoch, self._step, self._n_batches = 0, 0, None

    def after_gradient(self, state):
        if self._lr0 is None:
            return
        per_epoch = self._n_batches or max(self._step + 1, 1)
        t = (self._epoch + self._step / per_epoch) / self.n_epochs
        state.optimizer.learning_rate = self._lr0 * schedule_factor(self.name, t)
        self._step += 1

    def on_epoch_end(self, state):
        if self._n_batches is None:
            self._n_batches = self._step
        self._epoch += 1
        self._step = 0

    def should_stop(self, state):
        return self.name != "constant" and self._epoch >= self.n_epochs
