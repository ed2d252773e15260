"""The minibatch loop of the stochastic solvers: epochs, minibatches, one training step.

One call of :func:`fit_stochastic` trains for up to ``max_iter`` epochs (one
epoch for ``partial_fit``)::

    fit_stochastic                      set up, then for each epoch:
        run_epoch                       shuffle, then for each minibatch:
            train_step                  objective (forward, loss, backward, penalty)
                                        -> controls.after_gradient (clipping)
                                        -> optimizer.step
                                        -> controls.after_step (max-norm)
        end_epoch                       record the loss
                                        -> controls.on_epoch_end (validation, divergence)
                                        -> progress callbacks
                                        -> the learning-rate schedule
                                        -> controls.should_stop (patience)
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing, gen_batches

from .controls import Control, TrainingState, builtin_controls
from .solvers import make_optimizer
from .validation import split_validation

__all__ = ["fit_stochastic", "Minibatches", "train_step"]

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


def batch_size_for(est, n_samples):
    """The minibatch size: ``batch_size`` clipped to the data (``'auto'``: up to 200)."""
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
        )
    return int(np.clip(est.batch_size, 1, n_samples))


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


def end_epoch(state, controls, reporter, incremental):
    """Record the epoch and ask the controls whether to go on; ``True`` stops."""
    est = state.estimator
    for control in controls:
        control.on_epoch_end(state)
        if state.stopped:
            break
    if reporter.end() or state.stopped:  # a callback (sklearn.callback) asked to stop
        return True
    state.optimizer.iteration_ends(est.t_)
    if any(control.should_stop(state) for control in controls):
        return True
    if incremental:
        return True
    if est.n_iter_ == est.max_iter:
        warnings.warn(
            "Stochastic Optimizer: Maximum iterations (%d) "
            "reached and the optimization hasn't converged yet." % est.max_iter,
            ConvergenceWarning,
        )
    return False


def _record_epoch(est, loss, n_samples):
    est.n_iter_ += 1
    est.loss_ = loss
    est.t_ += n_samples
    est.loss_curve_.append(loss)
    if est.verbose:
        print("Iteration %d, loss = %.8f" % (est.n_iter_, loss))


def _start_validation(est, X, Y, y, sample_weight, val):
    """Hold out the validation set; start its curves on a warm start without one."""
    X, Y, sample_weight, val = split_validation(est, X, Y, y, sample_weight, val)
    if est.validation_scores_ is None:  # warm start of a fit without early stopping
        est.validation_scores_, est.validation_loss_curve_ = [], []
        est.best_validation_score_, est.best_validation_loss_ = -np.inf, np.inf
        est.best_loss_ = None
    return X, Y, sample_weight, val


def fit_stochastic(est, data, flat_p, flat_g, incremental, reporter):
    """Train ``est.model_`` with a stochastic solver on ``data`` (a :class:`TrainingData`)."""
    X, Y, y, sample_weight, val = data
    if not incremental or getattr(est, "_optimizer", None) is None:
        est._optimizer = make_optimizer(est, flat_p, est._n_penalized())
    if est.early_stopping:
        X, Y, sample_weight, val = _start_validation(est, X, Y, y, sample_weight, val)
    batches = Minibatches(
        X,
        Y,
        sample_weight,
        batch_size_for(est, X.shape[0]),
        est.shuffle,
        est._random_state,
        min_batch_size=2 if est._batch_statistics() else 0,
    )
    objective = est._objective(flat_p, flat_g)
    controls = builtin_controls(est, val if est.early_stopping else None) + est.controls_
    state = TrainingState(est, flat_p, flat_g, est._optimizer)
    for control in controls:
        control.on_train_begin(state)
    est.n_iter_ = 0  # counts this call's epochs, as scikit-learn's
    try:
        for state.epoch in range(est.max_iter):
            reporter.begin("epoch")
            loss = run_epoch(state, objective, batches, controls, est._prepare_X)
            _record_epoch(est, loss, batches.n_samples)
            if end_epoch(state, controls, reporter, incremental):
                break
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        state.interrupted = True
    for control in controls:
        control.on_train_end(state)
