"""The minibatch loop of the stochastic solvers: epochs, minibatches, one training step.

One call of :func:`train_stochastic` trains for up to ``plan.max_iter`` epochs
(one epoch for ``partial_fit``)::

    train_stochastic                    for each epoch:
        controls.on_epoch_begin         (progress)
        run_epoch                       shuffle, then for each minibatch:
            train_step                  objective (forward, loss, backward, penalty)
                                        -> controls.after_gradient (clipping)
                                        -> optimizer.step
                                        -> controls.after_step (max-norm)
        record the epoch                loss_curve_, loss_, n_iter_, t_
        end_epoch                       -> controls.on_epoch_end (verbose, validation,
                                           divergence, schedules, progress)
                                        -> controls.should_stop (patience -> on_plateau)
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing, gen_batches

from .controls import Control, TrainingState, end_epoch

__all__ = ["train_stochastic", "Minibatches", "train_step", "batch_size_for"]

#: up to this many rows the epoch's order is kept as ``intp`` (no conversion per batch)
_INTP_ROWS = 2**16


def _gather(A, idx, buf):
    """``(A[idx], buf)`` for a dense array ``A``, written into ``buf`` (reallocated
    when the batch size changes) instead of a fresh array per minibatch."""
    shape = (len(idx),) + A.shape[1:]
    if buf is None or buf.shape != shape or buf.dtype != A.dtype:
        buf = np.empty(shape, dtype=A.dtype)
    # mode="clip": the default "raise" is 3x slower with out= (indices are valid)
    return np.take(A, idx, axis=0, out=buf, mode="clip"), buf


def _as_targets(yb, dtype, buf):
    """Boolean (one-hot) target rows as ``dtype``, into ``buf``: ``(rows, buf)``.

    Large one-hot targets are kept as booleans for the whole fit (a quarter or an
    eighth of the float copy); each minibatch is cast here, the same 0/1 values.
    """
    if yb.dtype == dtype:
        return yb, buf
    if buf is None or buf.shape != yb.shape or buf.dtype != dtype:
        buf = np.empty(yb.shape, dtype=dtype)
    np.copyto(buf, yb)
    return buf, buf


def batch_size_for(batch_size, n_samples):
    """The minibatch size: ``batch_size`` clipped to the data (``'auto'``: up to 200)."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
        )
    return int(np.clip(batch_size, 1, n_samples))


class Minibatches:
    """The minibatches of one epoch, in scikit-learn's order.

    With ``shuffle`` the row order is permuted by ``random_state`` before each
    epoch (the same draws as ``sklearn.utils.shuffle``, composed over epochs as
    scikit-learn's MLP does); rows of dense arrays are gathered into reused buffers.
    """

    def __init__(self, X, Y, sample_weight, batch_size, shuffle, random_state, min_batch_size=0):
        self.dense = isinstance(X, np.ndarray)
        if self.dense and shuffle and not X.flags.c_contiguous:
            # gathering rows of a strided or Fortran array is ~10x slower than of a
            # C-ordered one: one copy here beats a slow gather on every batch
            X = np.ascontiguousarray(X)
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.n_samples = X.shape[0]
        self.batch_size = batch_size
        self.min_batch_size = min_batch_size  # a smaller last batch joins the one before
        self.shuffle, self.random_state = shuffle, random_state
        # the row order of the current epoch (int32 for large data: half the memory;
        # np.take converts it per batch, ~1 us, nothing beside a large epoch)
        small = self.n_samples <= _INTP_ROWS or self.n_samples >= 2**31
        self._order = np.arange(self.n_samples, dtype=np.intp if small else np.int32)
        # boolean (one-hot) targets are cast to the data's dtype batch by batch
        self._ydtype = X.dtype if (Y.dtype == bool and X.dtype.kind == "f") else Y.dtype
        self._xbuf = self._ybuf = self._yfbuf = None

    @property
    def n_batches(self):
        """Minibatches per epoch (the batches ``__iter__`` yields)."""
        return sum(1 for _ in gen_batches(self.n_samples, self.batch_size,
                                          min_batch_size=self.min_batch_size))  # fmt: skip

    def __iter__(self):
        """Yield ``(X_batch, Y_batch, sw_batch)`` for one epoch."""
        X, Y, sw = self.X, self.Y, self.sample_weight
        if self.shuffle:
            # = order[sklearn.utils.shuffle(arange(n), random_state=...)], the same
            # draws without its checks: shuffling ``order`` itself in place makes the
            # same swaps (they depend only on n), with no permutation array or copy
            self.random_state.shuffle(self._order)
        for batch in gen_batches(
            self.n_samples, self.batch_size, min_batch_size=self.min_batch_size
        ):
            if self.shuffle:
                idx = self._order[batch]
                if self.dense:  # gather into reused buffers: no per-batch allocation
                    xb, self._xbuf = _gather(X, idx, self._xbuf)
                else:
                    xb = _safe_indexing(X, idx)
                yb, self._ybuf = _gather(Y, idx, self._ybuf)
            else:
                idx = batch
                xb, yb = X[batch], Y[batch]
            yb, self._yfbuf = _as_targets(yb, self._ydtype, self._yfbuf)
            yield xb, yb, (None if sw is None else sw[idx])


def _overrides(controls, hook):
    """The bound ``hook`` methods of the controls that define it (the rest are no-ops)."""
    base = getattr(Control, hook)
    return [getattr(c, hook) for c in controls if getattr(type(c), hook, base) is not base]


def train_step(state, objective, xb, yb, swb, after_gradient=(), after_step=()):
    """One minibatch: gradient, gradient controls, optimizer step, step controls."""
    loss = state.loss = objective(xb, yb, swb)
    for hook in after_gradient:
        hook(state)
    state.optimizer.step([state.flat_p], [state.flat_g])
    state.step += 1
    for hook in after_step:
        hook(state)
    return loss


def run_epoch(state, objective, batches, controls, prepare_X):
    """One pass over the minibatches; return the epoch's mean training loss."""
    after_gradient = _overrides(controls, "after_gradient")
    after_step = _overrides(controls, "after_step")
    total = 0.0
    for xb, yb, swb in batches:
        loss = train_step(state, objective, prepare_X(xb), yb, swb, after_gradient, after_step)
        total += loss * xb.shape[0]
    return total / batches.n_samples


def _record_epoch(est, loss, n_samples):
    """The fitted attributes of one more epoch (scikit-learn's order)."""
    est.n_iter_ += 1
    est.loss_ = loss
    est.t_ += n_samples
    est.loss_curve_.append(loss)


def train_stochastic(plan, estimator, X, Y, sample_weight=None):
    """Train with ``plan.optimizer`` on ``(X, Y, sample_weight)``.

    The parameters change in place in ``plan.flat_p``; ``estimator``'s public
    fitted attributes are kept current.  Returns the call's
    :class:`~.controls.TrainingState` (``state.optimizer``: the optimizer to
    continue with, ``None`` after a divergence).
    """
    state = TrainingState(estimator, plan.flat_p, plan.flat_g, plan.optimizer, plan.controls)
    batches = Minibatches(
        X,
        Y,
        sample_weight,
        plan.batch_size,
        plan.shuffle,
        plan.random_state,
        min_batch_size=plan.min_batch_size,
    )
    state.total_steps = plan.max_iter * batches.n_batches
    est, controls = estimator, state.controls
    for control in controls:
        control.on_train_begin(state)
    est.n_iter_ = 0  # counts this call's epochs, as scikit-learn's
    try:
        for state.epoch in range(plan.max_iter):
            for control in controls:
                control.on_epoch_begin(state)
            loss = run_epoch(state, plan.objective, batches, controls, plan.prepare_X)
            _record_epoch(est, loss, batches.n_samples)
            if end_epoch(state) or plan.incremental:
                break
            if est.n_iter_ == plan.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) "
                    "reached and the optimization hasn't converged yet." % plan.max_iter,
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        state.interrupted = True
    for control in controls:
        control.on_train_end(state)
    return state
