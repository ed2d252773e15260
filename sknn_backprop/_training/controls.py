"""Training controls: small objects the training core calls at fixed points.

In the spirit of skorch's callbacks and optax's gradient transformations, every
rule that watches or steers training is one small class that owns its state.
Both the minibatch loop (:mod:`.loop`) and L-BFGS (:mod:`.lbfgs`) call the
controls at these points (each a no-op unless a control overrides it):

==============================  ===================================================
``on_train_begin(state)``       before the first epoch of a ``fit`` / ``partial_fit`` call
``on_epoch_begin(state)``       before each epoch (L-BFGS: each iteration)
``after_gradient(state)``       after each minibatch's gradient, before the optimizer step
``after_step(state)``           after each optimizer step (not L-BFGS)
``on_epoch_end(state)``         after each epoch: measure; ``state.request_stop()`` (once one
                                stopped, only controls with ``runs_after_stop`` still run)
``schedule(state)``             then, unless one stopped: set the next epoch's learning rate
``should_stop(state)``          then: patience rules; ``True`` stops
``on_plateau(state, message)``  a patience rule ran out: ``True`` keeps training (the
                                ``'adaptive'`` schedule lowers the rate), ``False`` stops
                                having said why, ``None`` has no opinion
``on_message(state, text)``     a control said something (:meth:`TrainingState.say`)
``on_train_end(state)``         after the last epoch (also after Ctrl-C or a stop)
==============================  ===================================================

The built-in controls here are early stopping, gradient clipping, max-norm and
the divergence guard; the learning-rate schedules are in :mod:`.schedules` and
progress reporting and ``verbose`` printing in :mod:`.reporting`.  The estimator
builds the ones its hyperparameters ask for; the ``controls`` parameter of every
estimator appends the user's own, which run after them at each point.
``docs/architecture.rst`` shows how to write one.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "Control",
    "TrainingState",
    "EarlyStopping",
    "GradientClipping",
    "MaxNorm",
    "DivergenceGuard",
]


class TrainingState:
    """What the controls see and change during one ``fit`` / ``partial_fit`` call.

    Attributes
    ----------
    estimator : estimator
        The estimator being trained.  The training core keeps its public
        fitted attributes (``loss_curve_``, ``loss_``, ``n_iter_``, ``t_``) up to
        date at each point, and writes nothing else on it.
    flat_p, flat_g : ndarray
        The flat parameter and gradient vectors; the network's arrays are views
        of them, so changing them in place changes the network.
    optimizer : nn.Optimizer or None
        The optimizer (``None`` for L-BFGS, and after a divergence: its moments
        are not finite either, so the next fit starts a new one).
    controls : list of Control
        Every control of this call, in the order they run.
    epoch : int
        Index of the current epoch (or L-BFGS iteration) within this call.
    step : int
        Optimizer steps taken in this call.
    total_steps : int
        Steps the call takes if it runs all its epochs (``max_iter`` times the
        minibatches of an epoch; 0 for L-BFGS).
    best : ndarray or None
        The best weights so far, kept by :class:`EarlyStopping` on a validation set.
    loss : float or None
        The loss of the last minibatch (the stochastic loop sets it before
        ``after_gradient``; ``None`` under L-BFGS).
    interrupted : bool
        Whether training was interrupted by Ctrl-C.
    stopped : bool
        Whether a control asked to stop after this epoch.
    """

    def __init__(self, estimator, flat_p, flat_g, optimizer=None, controls=()):
        self.estimator = estimator
        self.flat_p, self.flat_g = flat_p, flat_g
        self.optimizer = optimizer
        self.controls = list(controls)
        self.epoch = 0
        self.step = self.total_steps = 0
        self.best = None
        self.interrupted = False
        self.stopped = False
        self.loss = None  # the last minibatch's loss (set by the loop before after_gradient)

    def request_stop(self):
        """Stop after this epoch."""
        self.stopped = True

    def say(self, text):
        """Hand ``text`` to every control's ``on_message`` (``verbose`` prints it)."""
        for control in self.controls:
            control.on_message(self, text)


class Control:
    """Base class of the training controls: every hook is a no-op."""

    #: whether ``on_epoch_end`` still runs once an earlier control stopped the epoch
    runs_after_stop = False

    def on_train_begin(self, state):
        """Called once before the first epoch."""

    def on_epoch_begin(self, state):
        """Called before each epoch (each L-BFGS iteration)."""

    def after_gradient(self, state):
        """Called after each minibatch gradient (``state.flat_g``), before the step."""

    def after_step(self, state):
        """Called after each optimizer step (``state.flat_p`` updated)."""

    def on_epoch_end(self, state):
        """Called after each epoch; may call ``state.request_stop()``."""

    def schedule(self, state):
        """Called after ``on_epoch_end`` when no control stopped training: the place to
        set the next epoch's learning rate."""

    def should_stop(self, state):
        """Return ``True`` to stop training after this epoch."""
        return False

    def on_plateau(self, state, message):
        """A patience rule ran out: ``True`` keeps training, ``False`` stops, ``None`` abstains."""
        return None

    def on_message(self, state, text):
        """Called with what another control says (:meth:`TrainingState.say`)."""

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
    ``n_iter_no_change``; past it the controls' ``on_plateau`` decide (the
    ``'adaptive'`` schedule divides the learning rate by 5 instead of stopping).
    On a validation set the best weights are kept and restored at the end, in place.

    The control owns its counter and best values, so the estimator keeps it
    between calls: ``partial_fit`` and warm starts continue them.  It copies
    scikit-learn's fitted attributes (``best_loss_``, ``validation_scores_``,
    ``validation_loss_curve_``, ``best_validation_score_``,
    ``best_validation_loss_``) onto the estimator after every epoch and when
    training ends.

    Parameters
    ----------
    monitor_validation : bool
        Whether the estimator validates (``early_stopping=True``): the
        validation lists start empty instead of ``None``.
    tol : float, default=1e-4
    n_iter_no_change : int or inf, default=10
    metric : {'score', 'loss'}, default='score'
        On a validation set: the estimator's score (higher is better) or the
        training criterion (lower is better).

    Attributes
    ----------
    validation : ValidationSet or None
        The encoded validation set of the current call (set by the estimator);
        ``None`` monitors the training loss.
    scorer : callable or None
        ``scorer(validation) -> (score, loss)`` of the network as it is now.
    no_improvement_count : int
        Consecutive epochs without improvement.
    """

    def __init__(self, monitor_validation, tol=1e-4, n_iter_no_change=10, metric="score"):
        self.tol, self.n_iter_no_change, self.metric = tol, n_iter_no_change, metric
        self.validation = self.scorer = None
        self.no_improvement_count = 0
        self.validation_scores = [] if monitor_validation else None
        self.validation_loss_curve = [] if monitor_validation else None
        self.best_validation_score = -np.inf if monitor_validation else None
        self.best_validation_loss = np.inf if monitor_validation else None
        self.best_loss = None if monitor_validation else np.inf

    @classmethod
    def resume(cls, est):
        """The rule as ``est``'s fitted attributes left it (a pickle from before the
        rule kept its own state: its counter is ``est``'s ``_no_improvement_count``)."""
        d = est.__dict__
        stopping = cls(d.get("validation_scores_") is not None)
        stopping.no_improvement_count = d.pop("_no_improvement_count", 0)
        for name in ("best_loss", "validation_scores", "validation_loss_curve",
                     "best_validation_score", "best_validation_loss"):  # fmt: skip
            if name + "_" in d:
                setattr(stopping, name, d[name + "_"])
        return stopping

    def __getstate__(self):
        state = self.__dict__.copy()
        state["validation"] = state["scorer"] = None  # per call, not state (a mid-fit pickle)
        return state

    def validate_on(self, validation, scorer):
        """Monitor ``validation`` (or the training loss when ``None``) in this call."""
        self.validation, self.scorer = validation, scorer
        if validation is not None and self.validation_scores is None:
            # a warm start of a fit that did not validate: start the curves now
            self.validation_scores, self.validation_loss_curve = [], []
            self.best_validation_score, self.best_validation_loss = -np.inf, np.inf
            self.best_loss = None
        elif validation is None and self.best_loss is None:
            # ... and of one that validated (early_stopping turned off in between, e.g.
            # for partial_fit): the training loss has no best yet
            self.best_loss = np.inf

    def _best_monitored(self):
        if self.metric == "score":
            return self.best_validation_score
        return -self.best_validation_loss

    def on_train_begin(self, state):
        if self.validation is not None:
            state.best = state.flat_p.copy()
        self.publish(state.estimator)

    def on_epoch_end(self, state):
        if self.validation is None:
            self._update_training_loss(state.estimator.loss_curve_[-1])
        else:
            self._update_validation(state)
        self.publish(state.estimator)

    def _update_training_loss(self, loss):
        if loss > self.best_loss - self.tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if loss < self.best_loss:
            self.best_loss = loss

    def _update_validation(self, state):
        score, loss = self.scorer(self.validation)
        self.validation_scores.append(score)
        self.validation_loss_curve.append(loss)
        state.say("Validation score: %f" % score)
        best = self._best_monitored()
        current = score if self.metric == "score" else -loss  # larger is better
        if current < best + self.tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if current > best:
            self.best_validation_score = score
            self.best_validation_loss = loss
            state.best[...] = state.flat_p

    def should_stop(self, state):
        if self.no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Training loss" if self.validation is None else "Validation score"
        message = "%s did not improve more than tol=%f for %d consecutive epochs." % (
            what,
            self.tol,
            self.n_iter_no_change,
        )
        for control in state.controls:
            verdict = control.on_plateau(state, message)
            if verdict is not None:
                break
        else:
            verdict = False
            state.say(message + " Stopping.")
        if verdict:  # a schedule lowered the rate: patience starts over
            self.no_improvement_count = 0
            return False
        return True

    def on_train_end(self, state):
        if self.validation is not None and np.isfinite(state.best).all():
            np.copyto(state.flat_p, state.best)  # the weights that scored best
        self.publish(state.estimator)
        # the call's validation rows and scorer are not state: the counters are
        self.validation = self.scorer = None

    def publish(self, est):
        """Copy scikit-learn's fitted attributes of the stopping rule onto ``est``."""
        est.best_loss_ = self.best_loss
        est.validation_scores_ = self.validation_scores
        est.validation_loss_curve_ = self.validation_loss_curve
        est.best_validation_score_ = self.best_validation_score
        est.best_validation_loss_ = self.best_validation_loss


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
    finite weights are restored too.  It sets the estimator's ``diverged_``.

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
        state.optimizer = None  # its moments are non-finite too; a new fit starts afresh
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
        state.request_stop()

    def on_train_end(self, state):
        if state.interrupted and not np.isfinite(state.flat_p).all():
            np.copyto(state.flat_p, self._last_finite)
        if self._message is not None:
            warnings.warn(self._message, ConvergenceWarning)


def end_epoch(state):
    """The controls' ``on_epoch_end``, then (unless one stopped) ``schedule`` and
    ``should_stop``.

    Returns ``True`` when training stops after this epoch.  The one sequence the
    minibatch loop and L-BFGS share.  Once a control stops the epoch (the divergence
    guard), the later ones' ``on_epoch_end`` is skipped, but for progress reporting's.
    """
    for control in state.controls:
        if not state.stopped or control.runs_after_stop:
            control.on_epoch_end(state)
    if state.stopped:
        return True
    for control in state.controls:
        control.schedule(state)
    return any(control.should_stop(state) for control in state.controls)
