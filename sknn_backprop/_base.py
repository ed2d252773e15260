"""The estimator base: parameters, ``fit`` / ``partial_fit``, prediction, fitted attributes.

``BaseNeuralNetwork`` is the scikit-learn face shared by every estimator; the
training itself is done by the parts in :mod:`._training` (loop, objective,
L-BFGS, controls, validation, rollback) and the ensembles by :mod:`._bagging`.

A preset (``MLP*``, ``ConvNet*``, ``NeuralNet*``) says only

- ``_validate_targets(y, incremental, reset)`` -> encoded 2-D float targets;
- ``_build_hidden(n_features, rng, dtype)`` -> the modules before the output layer
  and the width they produce (or ``_build_network`` for a whole network);
- ``_output_spec()`` -> ``(output module, criterion, fused)``: with ``fused`` the
  criterion works on the output layer's input (logits) -- scikit-learn's
  canonical-link shortcut ``delta^L = a^L - y`` -- and the output module is
  only used to predict;
- ``_decode(raw)`` and ``_score_function`` for predictions and validation scores.
"""

import copy
from collections import namedtuple
from contextlib import nullcontext
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import nn
from ._callbacks import CallbackSupportMixin, progress
from ._network import ACTIVATIONS, init_function
from ._training.lbfgs import fit_lbfgs
from ._training.loop import fit_stochastic
from ._training.objective import Objective, sample_weights
from ._training.rollback import transaction
from ._training.solvers import STOCHASTIC_SOLVERS, objective_penalty

MAX_SEED = np.iinfo(np.int32).max
#: fitted attributes of a single network, which a bagged model keeps per member
NETWORK_ATTRS = ("model_", "module_", "coefs_", "intercepts_")
#: below this many multiply-adds per matrix product, train with one BLAS thread
_SMALL_GEMM = 2**22
#: prediction processes at most this many activations (per layer) at once: 8 MiB of
#: float64, so a chunk's activations stay in cache and its buffers are reused
#: instead of paging in fresh memory (10,000 x 784 rows: 0.85 of one 2**23 chunk's time)
_PREDICT_CHUNK_VALUES = 2**20

DIVERGED_MSG = (
    "Solver produced non-finite parameter weights. The input data may contain large"
    " values and need to be preprocessed."
)

#: what one training call works on: inputs, encoded targets, raw targets,
#: sample weights and the validation set ``(X_val, y_val, sw_val)`` or ``None``
TrainingData = namedtuple("TrainingData", "X Y y sample_weight val")
#: one-hot targets larger than this as floats stay boolean (the minibatches cast them)
_FLOAT_TARGETS_BYTES = 2**20


def store_params(est, params):
    """``__init__`` body: store every constructor argument unchanged."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class BaseNeuralNetwork(CallbackSupportMixin, BaseEstimator):
    """Shared face and fit logic of every estimator (not for direct use)."""

    _parameter_constraints: dict = {
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # -- beyond scikit-learn: regularisers and training controls
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_norm": [None, Interval(Real, 0, None, closed="neither")],
        "clip_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "adversarial_eps": [Interval(Real, 0, None, closed="left")],
        "activity_l1": [Interval(Real, 0, None, closed="left")],
        "weight_init": [StrOptions(set(nn.init.INITIALIZERS))],
        "early_stopping_metric": [StrOptions({"score", "loss"})],
        "schedule_adam": ["boolean"],
        "batch_norm": ["boolean"],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "controls": [None, list, tuple],
        # -- bagging
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean"],
        "n_jobs": [None, Integral],
    }

    # ------------------------------------------------------------------ hooks
    def _validate_targets(self, y, incremental, reset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_hidden(self, n_features, rng, dtype):  # pragma: no cover - abstract
        raise NotImplementedError

    def _output_spec(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(self, raw):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare_X(self, X):
        """Hook for estimators whose networks want another layout (images)."""
        return X

    def _widest_hidden(self):
        return 0

    def _check_solver(self):
        """``partial_fit`` exists only for the stochastic solvers (scikit-learn's rule)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def _preset_controls(self, incremental):
        """Hook: training controls of the preset itself, run before the user's ``controls``
        (each marked ``preset = True``); ``incremental`` for ``partial_fit``."""
        return []

    def _pretrain(self, data):
        """Hook: unsupervised pre-training of a newly built ``model_`` (``_pretrain.py``)."""

    # --------------------------------------------------------------- network
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

    def _batch_statistics(self):
        """Whether the network normalises with batch statistics (needs batches of >= 2)."""
        return any(isinstance(m, nn.normalization._BatchNorm) for m in self.model_.modules)

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

    def _stochastic_modules(self):
        return [m for m in self.model_.modules if isinstance(m, nn.layers.TrainingOnly)]

    # ---------------------------------------------------- coefs_ / intercepts_
    def _refresh_views(self):
        """``coefs_`` / ``intercepts_``: scikit-learn-layout views of the ``Linear`` weights."""
        linears = [m for m in self.model_.modules if isinstance(m, nn.Linear)]
        self.coefs_ = _Views(m.weight.T for m in linears)
        self.intercepts_ = _Views(m.bias for m in linears)

    def _sync_from_views(self):
        """Copy user-assigned ``coefs_`` / ``intercepts_`` into the network.

        As scikit-learn's MLP, arrays assigned to (or into) ``coefs_`` and
        ``intercepts_`` are the model's weights for ``predict``, warm starts and
        ``partial_fit``.  Unchanged views cost a few identity checks.
        """
        if self._views_current():
            return
        coefs, intercepts = self.__dict__.get("coefs_"), self.__dict__.get("intercepts_")
        if coefs is None or intercepts is None:  # deleted: the network's own weights
            self._refresh_views()
            return
        linears = [m for m in self.model_.modules if isinstance(m, nn.Linear)]
        if len(coefs) != len(linears) or len(intercepts) != len(linears):
            raise ValueError(
                f"coefs_ and intercepts_ must hold one array per layer ({len(linears)}), "
                f"got {len(coefs)} and {len(intercepts)}."
            )
        for i, (m, coef, intercept) in enumerate(zip(linears, coefs, intercepts)):
            coef, intercept = np.asarray(coef), np.asarray(intercept).reshape(-1)
            if coef.shape != m.weight.T.shape or intercept.shape != m.bias.shape:
                raise ValueError(
                    f"coefs_[{i}] must have shape {m.weight.T.shape} and intercepts_[{i}] "
                    f"shape {m.bias.shape}, got {coef.shape} and {intercept.shape}."
                )
            if not np.shares_memory(m.weight, coef):
                m.weight[...] = coef.T
            if not np.shares_memory(m.bias, intercept):
                m.bias[...] = intercept
        self._refresh_views()

    def _views_current(self):
        """Whether ``coefs_`` / ``intercepts_`` are still the lists of the network's views."""
        d = self.__dict__
        coefs, intercepts = d.get("coefs_"), d.get("intercepts_")
        return (
            type(coefs) is _Views
            and type(intercepts) is _Views
            and not (coefs.changed or intercepts.changed)
        )

    def __getattr__(self, name):
        # only called for missing attributes: point a bagged model's user to its members
        if name in NETWORK_ATTRS and "estimators_" in self.__dict__:
            raise AttributeError(
                f"This bagged {type(self).__name__} (n_estimators="
                f"{self.__dict__.get('n_estimators')}) has no attribute {name!r}: each "
                f"member has its own network, in estimators_[i].{name}."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: Python >= 3.11 returns __dict__ itself
        if self._views_current():
            # coefs_/intercepts_ are views of model_'s weights: pickle the weights once
            for name in ("coefs_", "intercepts_", "_views"):  # (_views: older pickles)
                state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state and "coefs_" not in state:
            self._refresh_views()

    # ------------------------------------------------------------ validation
    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
            y_numeric=not is_classifier(self),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _check_X_predict(self, X):
        """Validate X for prediction, with a fast path for plain float arrays.

        A 2-D float32/float64 ``ndarray`` with the fitted number of columns, no
        fitted feature names and a finite sum needs nothing from
        ``validate_data`` -- which costs far more than a small network's
        forward pass.  Everything else (wrong shapes, NaN/inf, lists, sparse,
        DataFrames) takes scikit-learn's path and gets its errors and warnings.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float64, np.float32)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(np.sum(X))  # a NaN or inf anywhere makes the sum non-finite
        ):
            return X
        return validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )

    def _validation_set(self, val, dtype):
        """The user's ``(X_val, y_val, sample_weight_val)``, checked, or ``None``."""
        X_val, y_val, sw_val = val
        if X_val is None:
            if y_val is not None:
                raise ValueError("y_val is given without X_val.")
            return None
        if not self.early_stopping:
            raise ValueError("X_val is only used with early_stopping=True.")
        X_val = self._check_X_predict(X_val).astype(dtype, copy=False)
        if y_val is None:
            raise ValueError("y_val is required with X_val.")
        if sw_val is not None:
            sw_val = _check_sample_weight(sw_val, X_val)
        return (X_val, np.asarray(y_val), sw_val)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val, y_val : array-like, default=None
            A validation set for early stopping, used instead of carving
            ``validation_fraction`` out of ``X`` (only with
            ``early_stopping=True``).  Inside a ``Pipeline`` it does not go
            through the earlier steps: transform it yourself.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            Trained model.
        """
        return self._fit(
            X, y, sample_weight, incremental=False, val=(X_val, y_val, sample_weight_val)
        )

    def _fit(self, X, y, sample_weight=None, incremental=False, val=(None, None, None)):
        with transaction(self, incremental):
            return self._fit_unsafe(X, y, sample_weight, incremental, val)

    def _fit_unsafe(self, X, y, sample_weight, incremental, val):
        _check_controls(self.controls)
        fitted = hasattr(self, "coefs_") or hasattr(self, "estimators_")
        first_pass = not fitted or (not self.warm_start and not incremental)
        if incremental:
            self._check_solver()  # a bound partial_fit kept across set_params(solver=...)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        Y = self._validate_targets(y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sample_weight = sample_weights(getattr(self, "class_weight", None), y, sample_weight)
        if not first_pass and hasattr(self, "model_") and self.n_estimators == 1:
            X = X.astype(self.model_.parameters()[0][0].dtype, copy=False)
        if Y.dtype != bool or Y.size * X.dtype.itemsize < _FLOAT_TARGETS_BYTES:
            Y = Y.astype(X.dtype, copy=False)  # (large one-hot Y: cast per batch)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        data = TrainingData(X, Y, y, sample_weight, self._validation_set(val, X.dtype))
        self._random_state = check_random_state(self.random_state)
        if self.n_estimators > 1:
            from ._bagging import fit_ensemble

            fit_ensemble(self, data, incremental, first_pass)
        else:
            self._fit_network(data, incremental, first_pass)
        return self

    def _initialize(self, n_features, n_outputs, dtype):
        for name in ("estimators_", "estimators_samples_", "oob_score_"):
            self.__dict__.pop(name, None)  # left over from an ensemble fit
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        self.model_ = self._build_network(n_features, n_outputs, self._random_state, dtype)
        self.n_layers_ = sum(isinstance(m, nn.Linear) for m in self.model_.modules) + 1
        self.out_activation_ = self._out_activation_name()
        self._optimizer = None
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.diverged_ = False
        es = self.early_stopping
        self.validation_scores_ = [] if es else None
        self.validation_loss_curve_ = [] if es else None
        self.best_validation_score_ = -np.inf if es else None
        self.best_validation_loss_ = np.inf if es else None
        self.best_loss_ = None if es else np.inf

    def _fit_network(self, data, incremental, first_pass):
        """Train the one network of ``model_`` on ``data`` (a bagging member's entry point).

        ``first_pass`` builds a new network from the hyperparameters; otherwise
        training continues from the current weights (warm start, ``partial_fit``).
        """
        X, Y = data.X, data.Y
        if first_pass or "controls_" not in self.__dict__:
            # the user's controls are trained as copies (they may keep state): controls_
            self.controls_ = copy.deepcopy(list(self.controls or []))
        # the preset's own controls (a learning-rate schedule) are made afresh for each call
        user = [c for c in self.controls_ if not getattr(c, "preset", False)]
        self.controls_ = self._preset_controls(incremental) + user
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], X.dtype)
            self._pretrain(data)
        else:
            if not hasattr(self, "model_"):  # coefs_ set by hand (scikit-learn's own tests)
                self.model_ = self._build_network(
                    X.shape[1], Y.shape[1], self._random_state, X.dtype
                )
            self._sync_from_views()
        self._check_batch_statistics(X.shape[0])
        flat_p, flat_g = self.model_.get_parameters(penalized_first=True)
        self._refresh_views()
        stochastic = self._stochastic_modules()
        if stochastic and (first_pass or stochastic[0].rng is None):
            # one generator for the masks and noise of the network's whole life:
            # partial_fit and warm starts continue its stream (re-seeding it from an
            # int random_state on every call would repeat the same masks each epoch)
            self.model_.set_rng(np.random.default_rng(self._random_state.randint(MAX_SEED)))
        self.model_.train()
        try:
            with self._blas_threads(X.shape[0]):
                n_tasks = 1 if incremental else self.max_iter
                reporter = progress(self, X, data.y, max_subtasks=n_tasks)
                if self.solver in STOCHASTIC_SOLVERS:
                    fit_stochastic(self, data, flat_p, flat_g, incremental, reporter)
                else:
                    fit_lbfgs(self, data, flat_p, flat_g, reporter)
                reporter.close()
        finally:
            self.model_.eval()
            self.model_.clear_state()
        if not np.isfinite(flat_p).all():
            raise ValueError(DIVERGED_MSG)

    def _blas_threads(self, n_samples):
        """One BLAS thread when every matrix product of a batch is small.

        Threads cost more than they give on small products (and spin-wait on a
        busy machine); large networks keep the caller's setting.
        """
        batch = n_samples if self.solver == "lbfgs" else min(n_samples, 200)
        if self.batch_size != "auto" and self.solver != "lbfgs":
            batch = min(n_samples, self.batch_size)
        if batch * self._largest_product_per_sample() >= _SMALL_GEMM:
            return nullcontext()
        return _blas_controller().limit(limits=1, user_api="blas")

    def _largest_product_per_sample(self):
        """Multiply-adds per sample of the largest matrix product (dense layers' weights)."""
        params, flags = self.model_.parameters()[0], self.model_.penalized()
        return max((p.size for p, f in zip(params, flags) if f), default=0)

    def _reconstruction_attributes(self):
        """A snapshot of the network, for callbacks that evaluate a fit in progress."""
        model = copy.deepcopy(self.model_).eval()
        linears = [m for m in model.modules if isinstance(m, nn.Linear)]
        return {
            "model_": model,
            "coefs_": [m.weight.T for m in linears],
            "intercepts_": [m.bias for m in linears],
        }

    # ------------------------------------------------------------- predict
    def _infer(self, X, upto=None):
        """Eval-mode forward pass in row chunks; writes nothing on the estimator."""
        net = self.model_ if upto is None else nn.Sequential(*self.model_.modules[:upto])
        n = X.shape[0]
        chunk = n
        if n > 1024:  # bound the activations held at once
            widths = [X.shape[1], self._widest_hidden()]
            widths += [getattr(m, "n_out", 0) for m in net.modules]
            chunk = max(1, _PREDICT_CHUNK_VALUES // max(widths))
        if chunk >= n:
            return net.infer(self._prepare_X(X))
        out = None
        # plain slices: sklearn's gen_batches validates its arguments on every call
        for i in range(0, n, chunk):
            part = net.infer(self._prepare_X(X[i : i + chunk]))
            if out is None:
                out = np.empty((n,) + part.shape[1:], dtype=part.dtype)
            out[i : i + chunk] = part
        return out

    def _raw_predict(self, X):
        """Network outputs (probabilities or regression values) for validated X."""
        if self.n_estimators > 1:
            return np.mean([m._raw_predict(X) for m in self.estimators_], axis=0)
        self._sync_from_views()
        X = X.astype(self.model_.parameters()[0][0].dtype, copy=False)
        return self._infer(X)

    def _predict(self, X, check_input=True):
        if check_input:
            X = self._check_X_predict(X)
        return self._decode(self._raw_predict(X))

    def _check_fitted(self):
        """``check_is_fitted``, without scanning every attribute on the fast path."""
        if "model_" not in self.__dict__ and "estimators_" not in self.__dict__:
            check_is_fitted(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_controls(controls):
    from ._training.controls import Control

    for control in controls or ():
        if not isinstance(control, Control):
            raise ValueError(
                "controls must be a list of sknn_backprop.training.Control instances, got "
                f"{control!r} in controls."
            )


class _Views(list):
    """The list of ``coefs_`` / ``intercepts_``: the network's weight views, as built.

    Replacing the list, or an item of it, is how a user assigns weights; this
    list notes any change to its items (``changed``), so that checking for an
    assignment before each prediction costs two attribute reads.  It pickles
    and copies as the plain list it holds.
    """

    changed = False

    def __reduce__(self):
        return (list, (list(self),))


def _noting_change(name):
    """``list.<name>`` that first marks the list as changed."""
    method = getattr(list, name)

    def changing(self, *args):
        self.changed = True
        return method(self, *args)

    changing.__name__ = name
    return changing


for _name in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):  # fmt: skip
    setattr(_Views, _name, _noting_change(_name))
del _name
