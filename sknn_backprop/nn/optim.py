"""Stochastic optimizers that update parameter arrays in place.

``step(params, grads)`` takes the parallel lists of ``Module.parameters()`` (or
the two flat vectors of ``Module.get_parameters()``) and changes ``params`` in
place; nothing is allocated per step beyond one scratch array per parameter
made on the first call.  The update rules and learning-rate policies are
scikit-learn's (``sklearn.neural_network._stochastic_optimizers``), so an
estimator built on them trains like scikit-learn's MLP:

- ``'constant'``: ``learning_rate_init`` throughout;
- ``'invscaling'``: ``learning_rate_init / (t + 1) ** power_t`` after each
  epoch, ``t`` the number of samples seen;
- ``'adaptive'``: divided by 5 each time training stalls
  (:meth:`trigger_stopping`), until it falls below ``1e-6``.
"""

import math

import numpy as np

from .module import check_real

__all__ = ["Optimizer", "SGD", "Adam"]

_POLICIES = ("constant", "invscaling", "adaptive")
#: bytes per array per block of the element-wise updates: the five arrays of an Adam
#: block (parameters, gradients, two moments, scratch) stay in L2 cache
_BLOCK_BYTES = 2**17


class Optimizer:
    """Base class: learning-rate policy and scratch buffers.

    Parameters
    ----------
    learning_rate_init : float
        Initial step size, ``> 0``.
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
    power_t : float, default=0.5
        Exponent of the ``'invscaling'`` policy.

    Attributes
    ----------
    learning_rate : float
        The current base learning rate.
    """

    def __init__(self, learning_rate_init, lr_schedule="constant", power_t=0.5):
        self.learning_rate_init = check_real("learning_rate_init", learning_rate_init, 0.0)
        if self.learning_rate_init <= 0:
            raise ValueError(f"learning_rate_init must be > 0, got {learning_rate_init!r}.")
        if lr_schedule not in _POLICIES:
            raise ValueError(f"lr_schedule must be one of {_POLICIES}, got {lr_schedule!r}.")
        self.lr_schedule = lr_schedule
        self.power_t = check_real("power_t", power_t, 0.0)
        self.learning_rate = float(learning_rate_init)
        self._scratch = None

    def _buffers(self, params, n):
        """``n`` lists of zero arrays shaped like ``params`` (made once)."""
        return [[np.zeros_like(p) for p in params] for _ in range(n)]

    def _blocks(self, *arrays):
        """Cache-sized blocks of the flattened ``arrays``, plus a scratch block.

        Element-wise updates run block by block, so their passes read each array
        from memory once instead of once per operation, and the only scratch
        space is one block (not a copy of the parameters).
        """
        flat = [a.reshape(-1) for a in arrays]
        dtype = flat[0].dtype
        block = max(1, _BLOCK_BYTES // dtype.itemsize)
        if self._scratch is None or self._scratch.dtype != dtype or self._scratch.size != block:
            self._scratch = np.empty(block, dtype=dtype)
        n = flat[0].size
        if n <= block:  # one block (a small network): no slicing
            return [flat + [self._scratch[:n]]]
        return [
            [f[start : start + block] for f in flat] + [self._scratch[: min(block, n - start)]]
            for start in range(0, n, block)
        ]

    def iteration_ends(self, time_step):
        """Apply the ``'invscaling'`` policy after an epoch (``time_step`` samples seen)."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """Training stalled: return ``True`` to stop, or lower the rate (adaptive)."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False

    def step(self, params, grads):  # pragma: no cover - abstract
        raise NotImplementedError

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_scratch"] = None  # scratch space is not state
        return state

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate:g})"


class SGD(Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum.

    ``v <- momentum * v - lr * g``; the update is ``v`` (classical momentum) or
    ``momentum * v - lr * g`` (Nesterov's, scikit-learn's default).

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (their shapes size the velocity buffers).
    learning_rate_init : float, default=0.1
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
    momentum : float, default=0.9
        In ``[0, 1]``.
    nesterov : bool, default=True
    power_t : float, default=0.5
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.momentum = check_real("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)
        (self.velocities,) = self._buffers(params, 1)

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        lr, mom = self.learning_rate, self.momentum
        for p, g, v in zip(params, grads, self.velocities):
            for pb, gb, vb, tmp in self._blocks(p, g, v):
                np.multiply(gb, lr, out=tmp)  # tmp = lr * g
                vb *= mom
                vb -= tmp
                if self.nesterov:  # p += mom * v - lr * g
                    pb -= tmp
                    np.multiply(vb, mom, out=tmp)
                    pb += tmp
                else:
                    pb += vb


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), in place, with bias correction folded into the step.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    epsilon : float, default=1e-8
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Policy for the base learning rate (scikit-learn keeps Adam's constant;
        estimators pass their ``learning_rate`` here only when asked to).
    power_t : float, default=0.5

    Attributes
    ----------
    t : int
        Number of steps taken.
    ms, vs : list of ndarray
        First and second moment estimates, computed on access (writing into them
        changes nothing): the moments are stored as running sums
        ``m / (1 - beta_1)`` and ``v / (1 - beta_2)``, which saves three of the
        thirteen element-wise passes of a step.
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
        power_t=0.5,
    ):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.beta_1 = check_real("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_real("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_real("epsilon", epsilon, 0.0)
        self.t = 0
        self._m_sums, self._v_sums = self._buffers(params, 2)

    def __setstate__(self, state):
        if "ms" in state:  # pickled before the moments were kept as running sums
            b1, b2 = state["beta_1"], state["beta_2"]
            state["_m_sums"] = [m / (1 - b1) for m in state.pop("ms")]
            state["_v_sums"] = [v / (1 - b2) for v in state.pop("vs")]
        self.__dict__.update(state)

    @property
    def ms(self):
        return [(1 - self.beta_1) * m for m in self._m_sums]

    @property
    def vs(self):
        return [(1 - self.beta_2) * v for v in self._v_sums]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # scikit-learn's step lr_t m / (sqrt(v) + eps), lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
        # with m = (1 - b1) M and v = (1 - b2) V:
        #   = lr_t (1 - b1) / sqrt(1 - b2) * M / (sqrt(V) + eps / sqrt(1 - b2))
        # Python floats: a numpy float64 scalar would make float32 arrays take the
        # float64 loop with casting buffers (NEP 50), 3x slower per pass
        root = math.sqrt(1 - b2)
        lr_t = self.learning_rate * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        k, eps = float(lr_t * (1 - b1) / root), float(self.epsilon / root)
        for p, g, m, v in zip(params, grads, self._m_sums, self._v_sums):
            for pb, gb, mb, vb, tb in self._blocks(p, g, m, v):
                mb *= b1  # M <- b1 M + g
                mb += gb
                np.multiply(gb, gb, out=tb)  # V <- b2 V + g^2
                vb *= b2
                vb += tb
                np.sqrt(vb, out=tb)  # p <- p - k M / (sqrt(V) + eps')
                tb += eps
                np.divide(mb, tb, out=tb)
                tb *= k
                pb -= tb
