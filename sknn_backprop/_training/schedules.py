"""Learning-rate schedules: training controls that set ``optimizer.learning_rate``.

An ``nn`` optimizer only steps with its current ``learning_rate``; these controls
change it between epochs.  scikit-learn's two schedules, with exactly its numbers:

- :class:`InvScaling` (``learning_rate='invscaling'``):
  ``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the number
  of samples seen (the estimator's ``t_``);
- :class:`AdaptiveRate` (``learning_rate='adaptive'``): each time the patience
  of :class:`~.controls.EarlyStopping` runs out, the rate is divided by 5 instead
  of stopping, until it falls to ``1e-6`` or below.

``'constant'`` is no control at all.

And schedules over the steps of a fit, for every estimator through its
``controls`` parameter (they set the rate before every minibatch step from the
fraction of the fit's steps done, ``max_iter`` epochs in all; L-BFGS takes no
steps and ignores them; each ``fit`` / ``partial_fit`` call runs its own course):

- :class:`CosineSchedule`: from ``learning_rate_init`` down to
  ``min_factor * learning_rate_init`` on half a cosine (Loshchilov & Hutter's
  SGDR without restarts; PyTorch's ``CosineAnnealingLR`` over the whole fit);
- :class:`LinearWarmup`: from 0 up to ``learning_rate_init`` over the first
  ``warmup`` fraction of the steps, then constant;
- :class:`OneCycle`: PyTorch's ``OneCycleLR`` (``anneal_strategy='cos'``): up from
  ``learning_rate_init / div_factor`` to ``learning_rate_init`` over ``pct_start``
  of the steps, then down to ``learning_rate_init / (div_factor * final_div_factor)``.
"""

import math

from .controls import Control

__all__ = ["InvScaling", "AdaptiveRate", "CosineSchedule", "LinearWarmup", "OneCycle"]


class InvScaling(Control):
    """scikit-learn's ``'invscaling'``: ``lr = learning_rate_init / (t + 1) ** power_t``.

    Applied at the end of each epoch (after ``t`` samples in all, across
    ``partial_fit`` calls), as scikit-learn's ``iteration_ends``.

    Parameters
    ----------
    power_t : float, default=0.5
    """

    def __init__(self, power_t=0.5):
        self.power_t = power_t

    def rate(self, learning_rate_init, time_step):
        """The rate after ``time_step`` samples."""
        return learning_rate_init / (time_step + 1) ** self.power_t

    def on_epoch_end(self, state):
        opt = state.optimizer
        if opt is not None:  # (None: the divergence guard dropped it)
            opt.learning_rate = self.rate(opt.learning_rate_init, state.estimator.t_)


class AdaptiveRate(Control):
    """scikit-learn's ``'adaptive'``: a plateau divides the rate by 5 instead of stopping.

    Training stops once the rate is at most ``min_rate`` (``1e-6``) when the
    patience runs out again.  What it says (``verbose``) is scikit-learn's text.
    """

    def __init__(self, factor=5.0, min_rate=1e-6):
        self.factor, self.min_rate = factor, min_rate

    def on_plateau(self, state, message):
        opt = state.optimizer
        if opt is None:
            return None
        if opt.learning_rate <= self.min_rate:
            state.say(message + " Learning rate too small. Stopping.")
            return False
        opt.learning_rate /= self.factor
        state.say(message + " Setting learning rate to %f" % opt.learning_rate)
        return True


class StepSchedule(Control):
    """Base of the schedules over a fit's steps: ``lr = learning_rate_init * factor(t)``.

    ``t`` is the fraction of the call's steps taken so far, in ``[0, 1]``
    (``state.step / state.total_steps``); subclasses define :meth:`factor`.
    """

    def factor(self, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, state):
        opt = state.optimizer
        if opt is not None and state.total_steps:
            t = min(1.0, state.step / state.total_steps)
            opt.learning_rate = opt.learning_rate_init * self.factor(t)

    def on_train_begin(self, state):
        self._apply(state)  # the first step's rate

    def after_step(self, state):
        self._apply(state)  # the next step's rate


class CosineSchedule(StepSchedule):
    """Half a cosine from ``learning_rate_init`` to ``min_factor`` times it.

    Parameters
    ----------
    min_factor : float, default=0.0
        The final rate as a fraction of ``learning_rate_init``.
    """

    def __init__(self, min_factor=0.0):
        self.min_factor = min_factor

    def factor(self, t):
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))


class LinearWarmup(StepSchedule):
    """Linear warm-up over the first ``warmup`` fraction of the steps, then constant.

    Parameters
    ----------
    warmup : float, default=0.1
        The fraction of the steps spent warming up, in ``(0, 1]``.
    """

    def __init__(self, warmup=0.1):
        self.warmup = warmup

    def factor(self, t):
        return min(1.0, t / self.warmup)


class OneCycle(StepSchedule):
    """PyTorch's ``OneCycleLR`` with cosine annealing, peaking at ``learning_rate_init``.

    Parameters
    ----------
    pct_start : float, default=0.3
        The fraction of the steps spent increasing the rate.
    div_factor : float, default=25.0
        The first rate is ``learning_rate_init / div_factor``.
    final_div_factor : float, default=1e4
        The last rate is the first one divided by ``final_div_factor``.
    """

    def __init__(self, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.pct_start, self.div_factor = pct_start, div_factor
        self.final_div_factor = final_div_factor

    def factor(self, t):
        start = 1.0 / self.div_factor
        end = start / self.final_div_factor
        if t <= self.pct_start:
            return _cos_between(start, 1.0, t / self.pct_start)
        return _cos_between(1.0, end, (t - self.pct_start) / (1.0 - self.pct_start))


def _cos_between(a, b, t):
    """PyTorch's ``_annealing_cos``: from ``a`` (t=0) to ``b`` (t=1) on half a cosine."""
    return b + (a - b) / 2.0 * (1 + math.cos(math.pi * t))
