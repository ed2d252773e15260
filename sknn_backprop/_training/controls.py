"""Training controls: small objects the training loop calls at fixed points.

In the spirit of skorch's callbacks and optax's gradient transformations, every
rule that watches or steers training is one small class, called by the loop of
:mod:`.loop` at these points (each a no-op unless a control overrides it):

=========================  ==================================================
``on_train_begin(state)``  before the first epoch of a ``fit`` / ``partial_fit`` call
``after_gradient(state)``  after each minibatch's gradient, before the optimizer step
``after_step(state)``      after each optimizer step
``on_epoch_end(state)``    after each epoch: measure; ``state.request_stop(...)`` to stop
``should_stop(state)``     after the learning-rate schedule: patience rules; ``True`` stops
``on_train_end(state)``    after the last epoch (also after Ctrl-C or a stop)
=========================  ==================================================

The estimator builds the built-in controls from its hyperparameters
(:func:`builtin_controls`); the ``controls`` parameter of every estimator appends
the user's own, which run after them at each point.  ``docs/architecture.rst``
shows how to write one.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .validation import validation_metrics

__all__ = [
    "Control",
    "TrainingState",
    "EarlyStopping",
    "GradientClipping",
    "MaxNorm",
    "DivergenceGuard",
    "builtin_controls",
]


class TrainingState:
    """What the controls see and change during one ``fit`` / ``partial_fit`` call.

    Attributes
    ----------
    estimator : estimator
        The estimator being trained; its fitted attributes (``loss_curve_``,
        ``n_iter_``, ``validation_scores_`` ...) are up to date at each point.
    flat_p, flat_g : ndarray
        The flat parameter and gradient vectors; the network's arrays are views
        of them, so changing them in place changes the network.
    optimizer : nn.Optimizer or None
        The optimizer (``None`` for L-BFGS).
    epoch : int
        Index of the current epoch (or L-BFGS iteration) within this call.
    best : ndarray or None
        The best weights so far, kept by :class:`EarlyStopping` on a validation set.
    loss : float or None
        The loss of the last minibatch (the stochastic loop sets it before
        ``after_gradient``; ``None`` under L-BFGS).
    interrupted : bool
        Whether training was interrupted by Ctrl-C.
    stop_message : str or None
        Why training stopped early (a warning, emitted by the control that set it).
    """

    def __init__(self, estimator, flat_p, flat_g, optimizer=None):
        self.estimator = estimator
        self.flat_p, self.flat_g = flat_p, flat_g
        self.optimizer = optimizer
        self.epoch = 0
        self.best = None
        self.interrupted = False
        self.stopped = False
        self.stop_message = None
        self.loss = None  # the last minibatch's loss (set by the loop before after_gradient)

    def request_stop(self, message=None):
        """Stop after this epoch; ``message`` is kept for the control that warns."""
        self.stopped = True
        if message is not None:
            self.stop_message = message


class Control:
    """Base class of the training controls: every hook is a no-op."""

    def on_train_begin(self, state):
        """Called once before the first epoch."""

    def after_gradient(self, state):
        """Called after each minibatch gradient (``state.flat_g``), before the step."""

    def after_step(self, state):
        """Called after each optimizer step (``state.flat_p`` updated)."""

    def on_epoch_end(self, state):
        """Called after each epoch; may call ``state.request_stop()``."""

    def should_stop(self, state):
        """Return ``True`` to stop training after this epoch."""
        return False

    def on_train_end(self, state):
        """Called once after the last epoch, also after Ctrl-C or a stop."""

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class GradientClipping(Control):
    """Rescale the minibatch gradient to a Euclidean norm of at most ``max_norm``."""

    def __init__(self, max_norm):
        self.max_norm = max_norm

    def after_gradient(self, state):
        g = state.flat_g
        norm = float(np.sqrt(np.dot(g, g)))
        if norm > self.max_norm:
            g *= self.max_norm / norm


class MaxNorm(Control):
    """After every step, cap the norm of each unit's incoming weights at ``max_norm``.

    A unit's incoming weights are one row of a ``Linear`` weight, or one filter
    of a ``Conv2d``; biases are never constrained.
    """

    def __init__(self, max_norm, modules):
        self.max_norm = max_norm
        self._modules = [m for m in modules if getattr(m, "weight", None) is not None]
        self._modules = [m for m in self._modules if m.penalized()[0]]

    def after_step(self, state):
        for m in self._modules:
            w = m.weight
            rows = w.reshape(w.shape[0], -1)  # one row per unit's incoming weights
            norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
            scale = np.minimum(1.0, self.max_norm / np.maximum(norms, 1e-12))
            rows *= scale[:, None].astype(w.dtype)


class EarlyStopping(Control):
    """scikit-learn's stopping rule, on a validation set or on the training loss.

    After each epoch the monitored value is compared with the best so far: an
    epoch that does not improve it by ``tol`` counts towards the patience
    ``n_iter_no_change``; past it the optimizer is asked to stop (the
    ``'adaptive'`` schedule divides the learning rate by 5 instead).  On a
    validation set the best weights are kept and restored at the end, in place.

    Parameters
    ----------
    validation : tuple or None
        ``(X_val, Y_val, y_val, sw_val)``; ``None`` monitors the training loss.
    metric : {'score', 'loss'}
        On a validation set: the estimator's score (higher is better) or the
        training criterion (lower is better).

    The counters and best values live on the estimator (``_no_improvement_count``,
    ``best_loss_``, ``best_validation_score_``, ``best_validation_loss_``), so that
    ``partial_fit`` and warm starts continue them.
    """

    def __init__(self, validation=None, metric="score"):
        self.validation = validation
        self.metric = metric

    def on_train_begin(self, state):
        est = state.estimator
        if self.validation is None:
            return
        state.best = state.flat_p.copy()
        # continue from the previous fit's best when warm starting
        if self.metric == "score":
            self._best_monitored = est.best_validation_score_
        else:
            self._best_monitored = -est.best_validation_loss_

    def on_epoch_end(self, state):
        if self.validation is None:
            self._update_training_loss(state.estimator)
        else:
            self._update_validation(state)

    @staticmethod
    def _update_training_loss(est):
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]

    def _update_validation(self, state):
        est = state.estimator
        score, loss = validation_metrics(est, *self.validation)
        est.validation_scores_.append(score)
        est.validation_loss_curve_.append(loss)
        if est.verbose:
            print("Validation score: %f" % score)
        current = score if self.metric == "score" else -loss  # larger is better
        if current < self._best_monitored + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if current > self._best_monitored:
            est.best_validation_score_ = score
            est.best_validation_loss_ = loss
            state.best[...] = state.flat_p
            self._best_monitored = current

    def should_stop(self, state):
        est = state.estimator
        if est._no_improvement_count <= est.n_iter_no_change:
            return False
        what = "Training loss" if self.validation is None else "Validation score"
        msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
            what,
            est.tol,
            est.n_iter_no_change,
        )
        if state.optimizer.trigger_stopping(msg, est.verbose):
            return True
        est._no_improvement_count = 0
        return False

    def on_train_end(self, state):
        if self.validation is not None and np.isfinite(state.best).all():
            np.copyto(state.flat_p, state.best)  # the weights that scored best


class DivergenceGuard(Control):
    """A loss or weights that blow up: stop, restore the last good weights, and warn.

    Two signs of divergence are checked after every epoch:

    * **non-finite**: the epoch's loss or the weights are NaN or infinite.  The
      weights of the last finite epoch are restored.
    * **exploding while finite**: the epoch's mean loss exceeds ``growth``
      (``1e6``) times the *reference loss*, the larger of the loss of this
      call's first minibatch (the weights training started from) and the
      largest loss of the earlier calls of a warm start or ``partial_fit``.  A
      training step that works makes the loss smaller than at the start; one
      million times larger means the weights have run away (softmax outputs
      saturated on the wrong class, regression outputs a thousand times too
      large), which no fit that goes on to converge passes through.  The weights
      at the start of the last epoch whose loss stayed below the limit are
      restored (the weights at the end of that epoch may already be on the way
      up).  The check is skipped while the reference is not positive.

    In both cases the best weights are restored instead when
    :class:`EarlyStopping` keeps them.  A non-finite loss in the very first
    epoch leaves nothing finite learned: the fit then fails with
    scikit-learn's "non-finite parameter weights" error.  After Ctrl-C the last
    finite weights are restored too.

    Parameters
    ----------
    growth : float, default=1e6
        How many times the reference loss an epoch's loss may reach.
    """

    MESSAGE = (
        "Training diverged at iteration {n_iter}: the loss or the weights became "
        "non-finite. The last finite weights were restored; try a lower "
        "learning_rate_init, gradient clipping (clip_grad_norm) or scaling the input."
    )
    EXPLODED = (
        "Training diverged at iteration {n_iter}: the loss grew to {loss:.3g}, more than "
        "{growth:.0e} times its value at the start of training ({reference:.3g}). The "
        "weights from before it grew were restored; try a lower learning_rate_init, "
        "gradient clipping (clip_grad_norm) or scaling the input."
    )

    def __init__(self, growth=1e6):
        self.growth = growth

    def on_train_begin(self, state):
        self._last_finite = state.flat_p.copy()  # the weights at the end of the last good epoch
        self._good_start = self._last_finite.copy()  # ... and at its start
        self._message = None
        curve = list(state.estimator.loss_curve_ or ())
        if getattr(state.estimator, "diverged_", False):
            curve = curve[:-1]  # the epoch the guard stopped at is no reference
        earlier = [v for v in curve if np.isfinite(v)]
        self._reference = max(earlier, default=-np.inf)
        self._first = True

    def after_gradient(self, state):
        if self._first:  # the loss at the weights this call starts from
            self._first = False
            loss = getattr(state, "loss", None)
            if loss is not None and np.isfinite(loss):
                self._reference = max(self._reference, float(loss))

    def _exploded(self, loss):
        ref = self._reference
        return ref > 0 and loss > self.growth * ref

    def on_epoch_end(self, state):
        est, flat_p = state.estimator, state.flat_p
        finite = np.isfinite(est.loss_) and np.isfinite(flat_p).all()
        if finite and not self._exploded(est.loss_):
            # the start of this epoch becomes the last good start; keep its end
            self._good_start, self._last_finite = self._last_finite, self._good_start
            self._last_finite[...] = flat_p
            return
        est.diverged_ = True
        est._optimizer = None  # its moments are non-finite too; a new fit starts afresh
        best = state.best
        no_finite_best = best is None or not np.isfinite(best).all()
        if not finite and state.epoch == 0 and no_finite_best and est.n_iter_ <= 1:
            state.request_stop()  # nothing finite was learned: the fit fails
            return
        if finite:
            restore = self._good_start if no_finite_best else best
            self._message = self.EXPLODED.format(
                n_iter=est.n_iter_, loss=est.loss_, growth=self.growth, reference=self._reference
            )
        else:
            restore = self._last_finite if best is None else best
            self._message = self.MESSAGE.format(n_iter=est.n_iter_)
        np.copyto(flat_p, restore)
        state.request_stop(self._message)

    def on_train_end(self, state):
        if state.interrupted and not np.isfinite(state.flat_p).all():
            np.copyto(state.flat_p, self._last_finite)
        if self._message is not None:
            warnings.warn(self._message, ConvergenceWarning)


def builtin_controls(est, validation):
    """The controls that ``est``'s hyperparameters ask for, in the order they run."""
    metric = est.early_stopping_metric
    controls = [EarlyStopping(validation, metric), DivergenceGuard()]
    if est.clip_grad_norm is not None:
        controls.append(GradientClipping(est.clip_grad_norm))
    if est.max_norm is not None:
        controls.append(MaxNorm(est.max_norm, est.model_.modules))
    return controls
