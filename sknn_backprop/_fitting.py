"""Training one network: what an estimator hands the training core, and what it keeps.

:class:`NetworkFitMixin` is the estimator's side of the interface of
:mod:`._training.plan`.  For each ``fit`` / ``partial_fit`` call it

1. builds the network (first pass) or continues the current one,
2. encodes the validation set once (:class:`~._training.plan.ValidationSet`),
3. assembles the controls: ``verbose`` printing, early stopping (kept between
   calls: it owns its counters), the divergence guard, the learning-rate
   schedule, clipping and max-norm, the user's ``controls_``, progress reporting,
4. hands the core a :class:`~._training.plan.TrainingPlan` and keeps the
   optimizer it hands back.

A bagging member is trained by the same :meth:`_fit_network` (``_bagging.py``).
"""

import copy
from collections import namedtuple

import numpy as np
from sklearn.base import is_classifier

from . import nn
from ._network import init_function
from ._sklearn_callbacks import listening
from ._training.controls import DivergenceGuard, EarlyStopping, GradientClipping, MaxNorm
from ._training.lbfgs import train_lbfgs
from ._training.loop import batch_size_for, train_stochastic
from ._training.objective import Objective
from ._training.plan import MAX_SEED, TrainingPlan, ValidationSet
from ._training.reporting import ProgressReport, VerboseLog
from ._training.solvers import (
    STOCHASTIC_SOLVERS,
    make_optimizer,
    objective_penalty,
    schedule_controls,
)
from ._training.validation import split_validation

__all__ = ["NetworkFitMixin", "TrainingData", "DIVERGED_MSG"]

DIVERGED_MSG = (
    "Solver produced non-finite parameter weights. The input data may contain large"
    " values and need to be preprocessed."
)

#: what one training call works on: inputs, encoded targets, raw targets,
#: sample weights and the encoded validation set (a ``ValidationSet``) or ``None``
TrainingData = namedtuple("TrainingData", "X Y y sample_weight val")


class NetworkFitMixin:
    """Build, train and keep one network (``model_``) through the training core."""

    #: whether a warm-start ``fit`` starts early stopping afresh (its counter and best
    #: epoch); scikit-learn's MLPs continue both, the tabular estimators' new schedule
    #: searches its own best epoch
    _warm_start_restarts_stopping = False

    # -------------------------------------------------------------- network
    def _build_network(self, n_features, n_outputs, rng, dtype):
        hidden, width = self._build_hidden(n_features, rng, dtype)
        out_module, _, _ = self._output_spec()
        last = nn.Linear(width, n_outputs, rng=rng, dtype=dtype, init=init_function(self))
        return nn.Sequential(*hidden, last, out_module)

    def _train_net(self):
        """The part of ``model_`` that training runs forward and backward through."""
        _, _, fused = self._output_spec()
        mods = self.model_.modules
        return nn.Sequential(*(mods[:-1] if fused else mods))

    def _objective(self, flat_p, flat_g):
        """The loss-and-gradient function every solver minimises (:mod:`._training.objective`)."""
        _, criterion, _ = self._output_spec()
        alpha, l1_ratio = objective_penalty(self)  # AdamW decays the weights itself
        return Objective(
            self._train_net(),
            criterion,
            flat_p,
            flat_g,
            self._n_penalized(),
            alpha,
            l1_ratio,
            self.adversarial_eps,
        )

    def _n_penalized(self):
        """How many leading entries of the flat parameter vector are penalised weights."""
        params, flags = self.model_.parameters()[0], self.model_.penalized()
        return sum(p.size for p, f in zip(params, flags) if f)

    def _preset_controls(self, incremental):
        """Hook: controls of the preset itself (a learning-rate schedule), made for each
        call and run before the user's ``controls``."""
        return []

    def _batch_statistics(self):
        """Whether the network normalises with batch statistics (needs batches of >= 2)."""
        return bool(self.model_.find_modules((nn.BatchNorm1d, nn.BatchNorm2d)))

    def _check_batch_statistics(self, n_samples):
        """Batch normalisation cannot train on one-row batches: say so up front."""
        if not self._batch_statistics():
            return
        if n_samples < 2:
            raise ValueError(
                "Batch normalisation needs at least 2 samples to train (it normalises with "
                f"their statistics), got n_samples = {n_samples}."
            )
        if self.solver != "lbfgs" and self.batch_size == 1:
            raise ValueError(
                "Batch normalisation needs minibatches of at least 2 samples, got batch_size=1."
            )

    @property
    def _no_improvement_count(self):
        """scikit-learn's counter of epochs without improvement (its own tests read and
        set it): the early-stopping control's ``no_improvement_count``."""
        stopping = self.__dict__.get("_stopping")
        if stopping is None:  # (a pickle from before the rule kept its own state)
            if "_no_improvement_count" in self.__dict__:
                return self.__dict__["_no_improvement_count"]
            raise AttributeError("_no_improvement_count")
        return stopping.no_improvement_count

    @_no_improvement_count.setter
    def _no_improvement_count(self, value):
        if "_stopping" not in self.__dict__:
            self._stopping = EarlyStopping.resume(self)
        self._stopping.no_improvement_count = value

    # ----------------------------------------------------------------- fit
    def _initialize(self, n_features, n_outputs, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        self.model_ = self._build_network(n_features, n_outputs, self._random_state, dtype)
        self.n_layers_ = len(self.model_.find_modules(nn.Linear)) + 1
        self.out_activation_ = self._out_activation_name()
        self._optimizer = None
        self.loss_curve_ = []
        self.diverged_ = False
        # the stopping rule's counters and best values live in the control itself
        self._stopping = EarlyStopping(self.early_stopping)
        self._stopping.publish(self)

    def _fit_network(self, data, incremental, first_pass):
        """Train the one network of ``model_`` on ``data`` (a bagging member's entry point).

        ``first_pass`` builds a new network from the hyperparameters; otherwise
        training continues from the current weights (warm start, ``partial_fit``).
        """
        X, Y = data.X, data.Y
        if first_pass or self.__dict__.get("_controls_given", ()) is not self.controls:
            # the user's controls are trained as copies (they may keep state): controls_,
            # continued by partial_fit and warm starts until the parameter changes
            self.controls_ = copy.deepcopy(list(self.controls or []))
            self._controls_given = self.controls
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], X.dtype)
            self._pretrain(data)
        else:
            if not hasattr(self, "model_"):  # coefs_ set by hand (scikit-learn's own tests)
                self.model_ = self._build_network(
                    X.shape[1], Y.shape[1], self._random_state, X.dtype
                )
            self._sync_from_views()
            if "_stopping" not in self.__dict__:  # (coefs_ set by hand, or an old pickle)
                self._stopping = EarlyStopping.resume(self)
            elif not incremental and self._warm_start_restarts_stopping:
                # a warm start that runs a new schedule searches its own best epoch
                self._stopping = EarlyStopping(self.early_stopping)
        self._check_batch_statistics(X.shape[0])
        flat_p, flat_g = self.model_.get_parameters(penalized_first=True)
        self._refresh_views()
        stochastic = self.model_.find_modules(nn.TrainingOnly)
        if stochastic and (first_pass or stochastic[0].rng is None):
            # one generator for the masks and noise of the network's whole life:
            # partial_fit and warm starts continue its stream (re-seeding it from an
            # int random_state on every call would repeat the same masks each epoch)
            self.model_.set_rng(np.random.default_rng(self._random_state.randint(MAX_SEED)))
        self.model_.train()
        try:
            with self._blas_threads(X.shape[0]):
                n_epochs = 1 if incremental else self.max_iter
                convolutional = bool(self.model_.find_modules(nn.Conv2d))
                # numba: worth loading for this fit?
                nn.choose_fast_path(n_epochs, X.shape, flat_p.size, convolutional)
                self._train_with_core(data, flat_p, flat_g, incremental)
        finally:
            self.model_.eval()
            self.model_.clear_state()
        if not np.isfinite(flat_p).all():
            raise ValueError(DIVERGED_MSG)

    def _train_with_core(self, data, flat_p, flat_g, incremental):
        """Assemble the :class:`TrainingPlan` of this call, train, keep the optimizer."""
        X, Y, y, sample_weight, val = data
        n_tasks = 1 if incremental else self.max_iter
        progress = self._progress_controls(X, y, n_tasks)
        plan = TrainingPlan(
            self._objective(flat_p, flat_g),
            flat_p,
            flat_g,
            max_iter=self.max_iter,
            prepare_X=self._prepare_X,
            random_state=self._random_state,
            incremental=incremental,
        )
        if self.solver not in STOCHASTIC_SOLVERS:  # the user's controls and progress only
            plan.controls = self._preset_controls(incremental) + self.controls_ + progress
            plan.max_fun, plan.tol = self.max_fun, self.tol
            plan.iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
            train_lbfgs(plan, self, X, Y, sample_weight)
            self._stopping.best_loss = self.best_loss_  # (a stochastic warm start continues it)
            return
        if not incremental or self.__dict__.get("_optimizer") is None:
            # the schedule is fixed with the optimizer, as scikit-learn's (partial_fit
            # continues both, whatever learning_rate says by then)
            self._optimizer = make_optimizer(self, flat_p, self._n_penalized())
            self._schedule = schedule_controls(self)
        elif "_schedule" not in self.__dict__:  # an optimizer pickled before schedules
            self._schedule = schedule_controls(self)  # were controls: it had this one
        if self.early_stopping:
            X, Y, sample_weight, val = self._hold_out(X, Y, y, sample_weight, val)
        stopping = self._stopping
        stopping.tol, stopping.n_iter_no_change = self.tol, self.n_iter_no_change
        stopping.metric = self.early_stopping_metric
        stopping.validate_on(val if self.early_stopping else None, self._score_validation)
        plan.optimizer = self._optimizer
        plan.batch_size = batch_size_for(self.batch_size, X.shape[0])
        plan.shuffle = self.shuffle
        plan.min_batch_size = 2 if self._batch_statistics() else 0
        plan.controls = (
            ([VerboseLog()] if self.verbose else [])
            + [stopping, DivergenceGuard()]
            + self._schedule
            + ([GradientClipping(self.clip_grad_norm)] if self.clip_grad_norm else [])
            + ([MaxNorm(self.max_norm, self.model_.list_modules())] if self.max_norm else [])
            + self._preset_controls(incremental)
            + self.controls_
            + progress
        )
        state = train_stochastic(plan, self, X, Y, sample_weight)
        self._optimizer = state.optimizer

    def _hold_out(self, X, Y, y, sample_weight, val):
        """The validation set of early stopping: the given one, or a split of the rows."""
        if val is not None:
            return X, Y, sample_weight, val
        stratify = is_classifier(self) and self.n_outputs_ == 1
        return split_validation(
            X, Y, y, sample_weight, self.validation_fraction, self._random_state, stratify
        )

    def _encode_validation(self, X_val, y_val, sw_val):
        """A :class:`ValidationSet`, its targets encoded as the training targets are."""
        Y_val = self._validate_targets(y_val, incremental=True, reset=False)
        Y_val = np.asarray(Y_val).astype(X_val.dtype).reshape(len(y_val), -1)
        return ValidationSet(X_val, Y_val, y_val, sw_val)

    def _score_validation(self, val):
        """``(score, loss)`` of the network on ``val``, from one eval-mode pass.

        The score is the estimator's ``score`` metric (accuracy, R^2); the loss is
        the training criterion without penalties.  Non-finite outputs give NaNs.
        """
        _, criterion, fused = self._output_spec()
        raw_in = self._infer(val.X, upto=-1 if fused else None)
        sw = val.sample_weight
        if sw is not None and not np.any(sw):
            sw = None  # validation rows that all weigh 0: a weighted mean is undefined
        with np.errstate(all="ignore"):
            loss = float(criterion.forward(raw_in, val.Y, sw))
            raw = self.model_.modules[-1].infer(raw_in) if fused else raw_in
        if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
            return np.nan, np.nan
        score = self._score_function(val.y, self._decode(raw), sample_weight=sw)
        return float(score), loss

    # ------------------------------------------------------------ progress
    def _progress_controls(self, X, y, n_tasks):
        """``[ProgressReport]`` when a ``sklearn.callback`` listens, else ``[]``."""
        if not listening(self):
            return []
        root = self._init_callback_context(max_subtasks=n_tasks)
        task = "epoch" if self.solver in STOCHASTIC_SOLVERS else "lbfgs-iter"
        return [ProgressReport(root, self, X, y, self._reconstruction_attributes, task)]

    def _reconstruction_attributes(self):
        """A snapshot of the network, for callbacks that evaluate a fit in progress."""
        model = copy.deepcopy(self.model_).eval()
        linears = model.find_modules(nn.Linear)
        return {
            "model_": model,
            "coefs_": [m.weight.T for m in linears],
            "intercepts_": [m.bias for m in linears],
        }
