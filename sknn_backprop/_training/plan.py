"""The interface between the estimators and the training core.

An estimator hands the core one :class:`TrainingPlan` -- the objective over the
flat parameter vector, how to prepare a batch, the random generator, batch
settings, the optimizer and the controls -- with the data, and reads back what
training produced: the parameters (in place), the optimizer to continue with,
and the fitted attributes the core and the controls keep current on
``state.estimator`` (``loss_curve_``, ``loss_``, ``n_iter_``, ``t_``, and those the
controls publish).  The core never reads the estimator's private state.
"""

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainingPlan", "ValidationSet", "MAX_SEED"]

#: seeds drawn from a ``RandomState`` for other generators lie in ``[0, MAX_SEED)``
MAX_SEED = np.iinfo(np.int32).max

#: a validation set, encoded once: inputs, encoded targets, raw targets, sample weights
ValidationSet = namedtuple("ValidationSet", "X Y y sample_weight")


def _identity(X):
    return X


@dataclass
class TrainingPlan:
    """What one ``fit`` / ``partial_fit`` call trains, and how.

    Attributes
    ----------
    objective : Objective
        Loss and gradient of a batch, written into ``flat_g`` (:mod:`.objective`).
    flat_p, flat_g : ndarray
        The flat parameter and gradient vectors the network's arrays view.
    controls : list of Control
        Every control of the call, in the order they run (:mod:`.controls`).
    max_iter : int
        Epochs (L-BFGS: iterations) at most.
    prepare_X : callable
        Turns a batch of rows into the network's input layout (images, ...).
    optimizer : nn.Optimizer or None
        The stochastic solver's optimizer (``None`` for L-BFGS).
    batch_size, shuffle, random_state, min_batch_size
        The minibatches (:class:`~.loop.Minibatches`).
    incremental : bool
        ``partial_fit``: one epoch, no convergence warning.
    max_fun, tol, iprint
        L-BFGS's settings (scipy's ``maxfun``, ``gtol`` and ``iprint``).
    """

    objective: Any
    flat_p: np.ndarray
    flat_g: np.ndarray
    controls: list = field(default_factory=list)
    max_iter: int = 200
    prepare_X: Callable = _identity
    optimizer: Any = None
    batch_size: int = 200
    shuffle: bool = True
    random_state: Any = None
    min_batch_size: int = 0
    incremental: bool = False
    max_fun: int = 15000
    tol: float = 1e-4
    iprint: int = -1
