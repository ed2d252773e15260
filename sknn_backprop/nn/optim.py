"""Stochastic optimizers that update parameter arrays in place.

``step(params, grads)`` takes the parallel lists of ``Module.parameters()`` (or
the two flat vectors of ``Module.get_parameters()``) and changes ``params`` in
place; nothing is allocated per step beyond one scratch array per parameter
made on the first call.  The update rules are scikit-learn's
(``sklearn.neural_network._stochastic_optimizers``), so an estimator built on
them trains like scikit-learn's MLP.

An optimizer only steps.  Its ``learning_rate`` is the current base step size,
which the learning-rate schedules (scikit-learn's ``'invscaling'`` and
``'adaptive'``, cosine, warm-up ...) set between epochs: they are training
controls (``sknn_backprop/_training/schedules.py``), not part of the optimizer.
"""

import math

import numpy as np

from . import _fast
from .module import check_real

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"]

#: bytes per array per block of the element-wise updates: the five arrays of an Adam
#: block (parameters, gradients, two moments, scratch; 1.25 MiB) stay in L2 cache (2 MiB
#: a core here); 2**18 rather than 2**17 halves the ufunc calls of a large step
_BLOCK_BYTES = 2**18


class Optimizer:
    """Base class: the learning rate and scratch buffers.

    Parameters
    ----------
    learning_rate_init : float
        Initial step size, ``> 0``.

    Attributes
    ----------
    learning_rate : float
        The current base learning rate (schedules change it between steps).
    """

    def __init__(self, learning_rate_init):
        self.learning_rate_init = check_real("learning_rate_init", learning_rate_init, 0.0)
        if self.learning_rate_init <= 0:
            raise ValueError(f"learning_rate_init must be > 0, got {learning_rate_init!r}.")
        self.learning_rate = float(learning_rate_init)
        self._scratch = None

    def _buffers(self, params, n):
        """``n`` lists of zero arrays shaped like ``params`` (made once)."""
        return [[np.zeros_like(p) for p in params] for _ in range(n)]

    def _blocks(self, *arrays, n_scratch=1):
        """Cache-sized blocks of the flattened ``arrays``, plus ``n_scratch`` scratch blocks.

        Element-wise updates run block by block, so their passes read each array
        from memory once instead of once per operation, and the only scratch
        space is a block or two (not a copy of the parameters).
        """
        flat = [a.reshape(-1) for a in arrays]
        dtype = flat[0].dtype
        block = max(1, _BLOCK_BYTES // dtype.itemsize)
        size = block * n_scratch
        if self._scratch is None or self._scratch.dtype != dtype or self._scratch.size != size:
            self._scratch = np.empty(size, dtype=dtype)
        scratch = [self._scratch[i * block : (i + 1) * block] for i in range(n_scratch)]
        n = flat[0].size
        if n <= block:  # one block (a small network): no slicing
            return [flat + [t[:n] for t in scratch]]
        return [
            [f[start : start + block] for f in flat] + [t[: min(block, n - start)] for t in scratch]
            for start in range(0, n, block)
        ]

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

    This is scikit-learn's form: the velocity holds ``lr`` times the gradients.
    PyTorch's ``SGD`` keeps ``b <- momentum * b + g`` and steps ``-lr * b`` (or
    ``-lr * (g + momentum * b)`` with Nesterov); the two agree while the learning
    rate is constant and differ once it changes ('invscaling', 'adaptive'): here
    the past gradients keep the rates they were taken with, in PyTorch they are
    rescaled by the current rate.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (their shapes size the velocity buffers).
    learning_rate_init : float, default=0.1
    momentum : float, default=0.9
        In ``[0, 1]``.
    nesterov : bool, default=True
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        momentum=0.9,
        nesterov=True,
    ):
        super().__init__(learning_rate_init)
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

    scikit-learn's form: ``p <- p - lr_t m / (sqrt(v) + eps)`` with
    ``lr_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``, so ``eps`` is added to the
    square root of the *uncorrected* second moment (Kingma & Ba's Algorithm 1 note).
    PyTorch's ``Adam`` adds ``eps`` after the bias correction,
    ``lr m_hat / (sqrt(v_hat) + eps)``; the two differ only while ``sqrt(v_hat)`` is
    within a few orders of magnitude of ``eps`` (here ``eps`` acts as
    ``eps / sqrt(1 - beta_2^t)``, larger in the first steps).

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    epsilon : float, default=1e-8

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
    ):
        super().__init__(learning_rate_init)
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
        k, eps = self._step_scalars()
        b1, b2 = self.beta_1, self.beta_2
        fast = _fast.on()
        for p, g, m, v in zip(params, grads, self._m_sums, self._v_sums):
            if fast and _adam_fast(p, g, m, v, b1, b2, k, eps):
                continue
            for pb, gb, mb, vb, tb in self._blocks(p, g, m, v):
                _adam_block(pb, gb, mb, vb, tb, b1, b2, k, eps)

    def _step_scalars(self):
        """Advance ``t``; return ``(k, eps')`` of the step ``p -= k M / (sqrt(V) + eps')``."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # scikit-learn's step lr_t m / (sqrt(v) + eps), lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
        # with m = (1 - b1) M and v = (1 - b2) V:
        #   = lr_t (1 - b1) / sqrt(1 - b2) * M / (sqrt(V) + eps / sqrt(1 - b2))
        # Python floats: a numpy float64 scalar would make float32 arrays take the
        # float64 loop with casting buffers (NEP 50), 3x slower per pass
        root = math.sqrt(1 - b2)
        lr_t = self.learning_rate * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        return float(lr_t * (1 - b1) / root), float(self.epsilon / root)


def _adam_block(pb, gb, mb, vb, tb, b1, b2, k, eps):
    """One cache-sized block of Adam's update, in place (``tb`` is scratch)."""
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


@_fast.kernel
def _adam_kernel(p, g, m, v, b1, b2, k, eps, shrink, n_decay):
    """:func:`_adam_block` in one compiled pass over 1-D arrays: the same operations
    in the same order (scalars of the arrays' dtype), so bit-identical to it.  AdamW's
    decay ``p <- shrink p`` of the first ``n_decay`` elements comes first, as in its step."""
    for i in range(p.shape[0]):
        gi = g[i]
        pi = p[i] * shrink if i < n_decay else p[i]
        mi = m[i] * b1 + gi
        vi = v[i] * b2 + gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = pi - mi / (np.sqrt(vi) + eps) * k


def _adam_fast(p, g, m, v, b1, b2, k, eps, shrink=1.0, n_decay=0):
    """Adam's (AdamW's) update of one array by :func:`_adam_kernel`; ``False`` if it does
    not apply."""
    if not _fast.fits(p, g, m, v):
        return False
    t = p.dtype.type  # numpy's weak Python scalars take the arrays' dtype: so do these
    flat = p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    n_decay = n_decay if shrink != 1.0 else 0
    _adam_kernel(*flat, t(b1), t(b2), t(k), t(eps), t(shrink), n_decay)
    return True


def _decay_counts(params, n_decay, decay_mask):
    """Per array of ``params``: how many leading (flattened) elements decay."""
    sizes = [p.size for p in params]
    if n_decay is not None and decay_mask is not None:
        raise ValueError("Pass n_decay or decay_mask, not both.")
    if decay_mask is not None:
        if len(decay_mask) != len(params):
            raise ValueError(f"decay_mask has {len(decay_mask)} entries for {len(params)} arrays.")
        return [n if flag else 0 for n, flag in zip(sizes, decay_mask)]
    if n_decay is None:
        return sizes
    if isinstance(n_decay, bool) or not 0 <= int(n_decay) <= sum(sizes) or n_decay != int(n_decay):
        raise ValueError(f"n_decay must be an integer in [0, {sum(sizes)}], got {n_decay!r}.")
    counts, left = [], int(n_decay)
    for n in sizes:
        counts.append(min(n, left))
        left -= counts[-1]
    return counts


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's ``AdamW``.

    The decay is PyTorch's; the Adam step is :class:`Adam`'s, with ``eps`` placed
    as scikit-learn places it (before the bias correction), not as PyTorch does.

    Each step first shrinks the decayed parameters, ``p <- (1 - lr * weight_decay) p``,
    then takes :class:`Adam`'s step.  The decay is not added to the gradient, so it
    is not rescaled by Adam's ``1 / sqrt(v)`` (what makes it differ from an L2
    penalty); ``lr`` is the current base learning rate, so schedules scale both.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    beta_1, beta_2, epsilon : float
        As :class:`Adam`.
    weight_decay : float, default=0.01
        The decoupled decay ``lambda``, ``>= 0``.
    n_decay : int, default=None
        Decay only the first ``n_decay`` elements of the concatenated, flattened
        ``params``: with ``get_parameters(penalized_first=True)`` the weights come
        first, so ``n_decay`` = the number of weights leaves the biases alone.
    decay_mask : list of bool, default=None
        Alternatively, which arrays of ``params`` decay (e.g. ``model.penalized()``
        with the lists of ``model.parameters()``).  With neither, every element decays.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> w, b = np.ones(3), np.ones(2)
    >>> opt = nn.AdamW([w, b], learning_rate_init=0.1, weight_decay=0.5,
    ...                decay_mask=[True, False])
    >>> opt.step([w, b], [np.zeros(3), np.zeros(2)])   # a zero gradient: only the decay
    >>> w, b
    (array([0.95, 0.95, 0.95]), array([1., 1.]))
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.01,
        n_decay=None,
        decay_mask=None,
    ):
        super().__init__(params, learning_rate_init, beta_1, beta_2, epsilon)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0)
        self.decay_counts = _decay_counts(params, n_decay, decay_mask)

    def step(self, params, grads):
        """Decay, then Adam's update of ``params``, in place."""
        k, eps = self._step_scalars()
        b1, b2 = self.beta_1, self.beta_2
        shrink = float(1.0 - self.learning_rate * self.weight_decay)
        fast = _fast.on()
        for p, g, m, v, n_dec in zip(params, grads, self._m_sums, self._v_sums, self.decay_counts):
            if fast and _adam_fast(p, g, m, v, b1, b2, k, eps, shrink, n_dec):
                continue  # the decay and Adam's step in one compiled pass
            start = 0
            for pb, gb, mb, vb, tb in self._blocks(p, g, m, v):
                if shrink != 1.0 and start < n_dec:  # p <- (1 - lr lambda) p
                    pb[: n_dec - start] *= shrink
                start += pb.size
                _adam_block(pb, gb, mb, vb, tb, b1, b2, k, eps)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): steps scaled by a running RMS of the gradient.

    ``v <- rho v + (1 - rho) g^2`` and ``p <- p - lr g / (sqrt(v) + eps)``: PyTorch's
    ``RMSprop`` (``alpha`` is ``rho``; PyTorch's defaults are ``rho=0.99``,
    ``lr=0.01``).  scikit-neuralnetwork's ``'rmsprop'`` (Lasagne) puts
    ``eps = 1e-6`` inside the square root instead, a difference only while ``v``
    is tiny.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    rho : float, default=0.9
        Decay of the running average, in ``[0, 1)``.
    epsilon : float, default=1e-8

    Attributes
    ----------
    square_avgs : list of ndarray
        The running averages ``v`` (computed on access: stored, as :class:`Adam`'s
        moments, as running sums ``v / (1 - rho)``, one pass fewer per step).
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.001,
        rho=0.9,
        epsilon=1e-8,
    ):
        super().__init__(learning_rate_init)
        self.rho = check_real("rho", rho, 0.0, 1.0, high_open=True)
        self.epsilon = check_real("epsilon", epsilon, 0.0)
        (self._v_sums,) = self._buffers(params, 1)

    @property
    def square_avgs(self):
        return [(1 - self.rho) * v for v in self._v_sums]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        rho, root = self.rho, math.sqrt(1 - self.rho)
        # with v = (1 - rho) V:  lr g / (sqrt(v) + eps) = k g / (sqrt(V) + eps')
        k, eps = float(self.learning_rate / root), float(self.epsilon / root)
        fast = _fast.on()
        for p, g, v in zip(params, grads, self._v_sums):
            if fast and _fast.fits(p, g, v):  # the same in one compiled pass
                t = p.dtype.type
                _rmsprop_kernel(p.reshape(-1), g.reshape(-1), v.reshape(-1), t(rho), t(k), t(eps))
                continue
            for pb, gb, vb, tb in self._blocks(p, g, v):
                np.multiply(gb, gb, out=tb)  # V <- rho V + g^2
                vb *= rho
                vb += tb
                np.sqrt(vb, out=tb)  # p <- p - k g / (sqrt(V) + eps')
                tb += eps
                np.divide(gb, tb, out=tb)
                tb *= k
                pb -= tb


@_fast.kernel
def _rmsprop_kernel(p, g, v, rho, k, eps):
    """RMSprop's block loop in one compiled pass (same operations, same order)."""
    for i in range(p.shape[0]):
        gi = g[i]
        vi = v[i] * rho + gi * gi
        v[i] = vi
        p[i] -= gi / (np.sqrt(vi) + eps) * k


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011): per-coordinate steps shrinking with the
    sum of the squared gradients seen.

    ``s <- s + g^2`` and ``p <- p - lr g / (sqrt(s) + eps)``, PyTorch's ``Adagrad``
    (no ``lr_decay``).  scikit-neuralnetwork's ``'adagrad'`` (Lasagne) puts
    ``eps = 1e-6`` inside the square root.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.01
    epsilon : float, default=1e-10
    initial_accumulator_value : float, default=0.0
        Starting value of ``s``, ``>= 0``.

    Attributes
    ----------
    sums : list of ndarray
        The accumulated squared gradients ``s``.
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.01,
        epsilon=1e-10,
        initial_accumulator_value=0.0,
    ):
        super().__init__(learning_rate_init)
        self.epsilon = check_real("epsilon", epsilon, 0.0)
        init = check_real("initial_accumulator_value", initial_accumulator_value, 0.0)
        (self.sums,) = self._buffers(params, 1)
        for s in self.sums:
            s += init

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        lr, eps = float(self.learning_rate), float(self.epsilon)
        fast = _fast.on()
        for p, g, s in zip(params, grads, self.sums):
            if fast and _fast.fits(p, g, s):  # the same in one compiled pass
                t = p.dtype.type
                _adagrad_kernel(p.reshape(-1), g.reshape(-1), s.reshape(-1), t(lr), t(eps))
                continue
            for pb, gb, sb, tb in self._blocks(p, g, s):
                np.multiply(gb, gb, out=tb)  # s <- s + g^2
                sb += tb
                np.sqrt(sb, out=tb)  # p <- p - lr g / (sqrt(s) + eps)
                tb += eps
                np.divide(gb, tb, out=tb)
                tb *= lr
                pb -= tb


@_fast.kernel
def _adagrad_kernel(p, g, s, lr, eps):
    """Adagrad's block loop in one compiled pass (same operations, same order)."""
    for i in range(p.shape[0]):
        gi = g[i]
        si = s[i] + gi * gi
        s[i] = si
        p[i] -= gi / (np.sqrt(si) + eps) * lr


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): Adagrad's per-coordinate scaling with running averages,
    and steps in the units of the parameters.

    ``v <- rho v + (1 - rho) g^2``, ``u = g sqrt(d + eps) / sqrt(v + eps)``,
    ``p <- p - lr u``, ``d <- rho d + (1 - rho) u^2``: the paper's rule (its
    ``rho=0.95``, ``eps=1e-6``, as Lasagne and so scikit-neuralnetwork's
    ``'adadelta'``), and PyTorch's ``Adadelta`` (whose default is ``rho=0.9``).

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=1.0
        The paper has none (``1``).
    rho : float, default=0.95
        Decay of both running averages, in ``[0, 1)``.
    epsilon : float, default=1e-6

    Attributes
    ----------
    square_avgs, delta_avgs : list of ndarray
        The running averages ``v`` and ``d`` (computed on access: stored as running
        sums ``v / (1 - rho) + eps / (1 - rho)`` and ``d / (1 - rho)``).
    """

    def __init__(
        self,
        params,
        learning_rate_init=1.0,
        rho=0.95,
        epsilon=1e-6,
    ):
        super().__init__(learning_rate_init)
        self.rho = check_real("rho", rho, 0.0, 1.0, high_open=True)
        self.epsilon = check_real("epsilon", epsilon, 0.0)
        # V is kept with its epsilon added, V' = V + eps' (see step), and starts at 0 + eps'
        self._ve_sums, self._d_sums = self._buffers(params, 2)
        self._ve_eps = 0.0  # the eps' that _ve_sums holds (see _sync_eps)
        self._sync_eps()

    def _eps_sum(self):
        """``eps' = eps / (1 - rho)``: epsilon on the scale of the running sums."""
        return float(self.epsilon / (1 - self.rho))

    def _sync_eps(self):
        """Shift the stored ``V + eps'`` to the current ``eps'`` (after ``epsilon`` or
        ``rho`` was set; a no-op otherwise); return ``eps'``."""
        eps = self._eps_sum()
        if eps != self._ve_eps:
            for v in self._ve_sums:
                v += v.dtype.type(eps - self._ve_eps)
            self._ve_eps = eps
        return eps

    def __setstate__(self, state):
        if "_v_sums" in state:  # pickled before V was kept with its epsilon added
            eps = state["epsilon"] / (1 - state["rho"])
            state["_ve_sums"] = [v + v.dtype.type(eps) for v in state.pop("_v_sums")]
            state["_ve_eps"] = eps
        self.__dict__.update(state)

    @property
    def square_avgs(self):
        return [(1 - self.rho) * (v - v.dtype.type(self._ve_eps)) for v in self._ve_sums]

    @property
    def delta_avgs(self):
        return [(1 - self.rho) * d for d in self._d_sums]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        rho, lr = self.rho, float(self.learning_rate)
        # With v = (1 - rho) V and d = (1 - rho) D (running sums), the rule is
        # u = g sqrt((D + eps') / (V + eps')), eps' = eps / (1 - rho).  V is stored as
        # V' = V + eps', whose update V' <- rho V' + g^2 + eps follows from V's: one
        # pass fewer than adding eps' to V every step, and one scratch block (the
        # working set of Adam's step) instead of two.  12 passes a block, 13 when lr != 1.
        eps_d, eps_v = self._sync_eps(), float(self.epsilon)
        n_scratch = 1 if lr == 1.0 else 2
        fast = _fast.on()
        for p, g, v, d in zip(params, grads, self._ve_sums, self._d_sums):
            if fast and _fast.fits(p, g, v, d):  # the same in one compiled pass
                t = p.dtype.type
                flat = (a.reshape(-1) for a in (p, g, v, d))
                _adadelta_kernel(*flat, t(rho), t(lr), lr != 1.0, t(eps_v), t(eps_d))
                continue
            for pb, gb, vb, db, tb, *sb in self._blocks(p, g, v, d, n_scratch=n_scratch):
                np.multiply(gb, gb, out=tb)  # V' <- rho V' + g^2 + eps
                tb += eps_v
                vb *= rho
                vb += tb
                np.add(db, eps_d, out=tb)  # u = g sqrt((D + eps') / V')
                tb /= vb
                np.sqrt(tb, out=tb)
                tb *= gb
                if sb:  # p <- p - lr u
                    np.multiply(tb, lr, out=sb[0])
                    pb -= sb[0]
                else:
                    pb -= tb
                db *= rho  # D <- rho D + u^2
                tb *= tb
                db += tb


@_fast.kernel
def _adadelta_kernel(p, g, v, d, rho, lr, scaled, eps_v, eps_d):
    """Adadelta's block loop in one compiled pass (same operations, same order)."""
    for i in range(p.shape[0]):
        gi = g[i]
        vi = v[i] * rho + (gi * gi + eps_v)
        v[i] = vi
        u = np.sqrt((d[i] + eps_d) / vi) * gi
        p[i] -= u * lr if scaled else u
        d[i] = d[i] * rho + u * u
