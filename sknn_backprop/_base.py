"""The one training loop behind every estimator.

``BaseNeuralNetwork`` owns everything that is not "which network, which loss,
which targets": input validation, the minibatch loop (SGD / Adam), L-BFGS,
penalties, sample and class weights, dropout / noise / adversarial training,
max-norm and gradient clipping, early stopping, divergence handling, warm
start, ``partial_fit``, bagging ensembles and chunked prediction.

A subclass says only

- ``_validate_targets(y, incremental)`` -> encoded 2-D float targets;
- ``_build_hidden(n_features, rng, dtype)`` -> the modules before the output layer
  and the width they produce;
- ``_output_spec()`` -> ``(output module, criterion, fused)``: with ``fused`` the
  criterion works on the output layer's input (logits) -- scikit-learn's
  canonical-link shortcut ``delta^L = a^L - y`` -- and the output module is
  only used to predict;
- ``_decode(raw)`` and ``_score_function`` for predictions and validation scores.
"""

import copy
import warnings
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import (
    _safe_indexing,
    check_random_state,
    column_or_1d,
    gen_batches,
)
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import nn
from ._callbacks import CallbackSupportMixin, progress

try:  # scikit-learn >= 1.6 reports L-BFGS's outcome the same way for every estimator
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover
    _check_optimize_result = None
try:
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover

    def _get_additional_lbfgs_options_dict(key, value):
        return {key: value}


_STOCHASTIC_SOLVERS = ("sgd", "adam")
_MAX_SEED = np.iinfo(np.int32).max
#: elements per block of the weight penalty's pass (fits in L2 cache)
_PENALTY_BLOCK = 16384
#: below this many multiply-adds per matrix product, train with one BLAS thread
_SMALL_GEMM = 2**22
#: prediction processes at most this many activations (per layer) at once: 8 MiB of
#: float64, so a chunk's activations stay in cache and its buffers are reused
#: instead of paging in fresh memory (10,000 x 784 rows: 0.85 of one 2**23 chunk's time)
_PREDICT_CHUNK_VALUES = 2**20

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "abs": nn.Abs,
}

DIVERGED_MSG = (
    "Solver produced non-finite parameter weights. The input data may contain large"
    " values and need to be preprocessed."
)


def _gather(A, idx, buf):
    """``(A[idx], buf)`` for a dense array ``A``, written into ``buf`` (reallocated
    when the batch size changes) instead of a fresh array per minibatch."""
    shape = (len(idx),) + A.shape[1:]
    if buf is None or buf.shape != shape or buf.dtype != A.dtype:
        buf = np.empty(shape, dtype=A.dtype)
    # mode="clip": the default "raise" is 3x slower with out= (indices are valid)
    return np.take(A, idx, axis=0, out=buf, mode="clip"), buf


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _per_layer(value, n_layers, name):
    """A float or one value per hidden layer -> list of ``n_layers`` floats."""
    if np.ndim(value) == 0:
        return [float(value)] * n_layers
    values = [float(v) for v in value]
    if len(values) != n_layers:
        raise ValueError(
            f"{name} must be a float or have one value per hidden layer "
            f"({n_layers}), got {len(values)} values."
        )
    if any(not 0 <= v < 1 for v in values):
        raise ValueError(f"{name} values must be in [0, 1), got {values}.")
    return values


class BaseNeuralNetwork(CallbackSupportMixin, BaseEstimator):
    """Shared fit loop and hyperparameters of every estimator (not for direct use)."""

    _parameter_constraints: dict = {
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
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
        "weight_init": [StrOptions(set(nn.init.INITIALIZERS))],
        "early_stopping_metric": [StrOptions({"score", "loss"})],
        "schedule_adam": ["boolean"],
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

    # --------------------------------------------------------------- network
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if np.any(np.array(sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
        return sizes

    def _init_function(self):
        """The weight initialiser: scikit-learn's Glorot uniform by default."""
        if self.weight_init == "glorot_uniform":
            gain = 2.0 if self.activation == "logistic" else 6.0
            return lambda rng, fi, fo, dtype: nn.init.glorot_uniform(rng, fi, fo, dtype, gain)
        return nn.init.INITIALIZERS[self.weight_init]

    def _activation_module(self):
        if self.activation == "abs":  # needs its input's sign: never in place
            return nn.Abs()
        return ACTIVATIONS[self.activation](inplace=True)

    def _dense_stack(self, fan_in, sizes, rng, dtype):
        """``Linear -> activation [-> Dropout]`` for each hidden size."""
        mods = []
        rates = _per_layer(self.dropout, len(sizes), "dropout")
        init = self._init_function()
        for size, rate in zip(sizes, rates):
            mods.append(nn.Linear(fan_in, size, rng=rng, dtype=dtype, init=init))
            mods.append(self._activation_module())
            if rate > 0:
                mods.append(nn.Dropout(rate))
            fan_in = size
        return mods, fan_in

    def _input_regularisers(self):
        mods = []
        if self.input_noise > 0:
            mods.append(nn.GaussianNoise(self.input_noise))
        if self.input_dropout > 0:
            mods.append(nn.Dropout(self.input_dropout))
        return mods

    def _build_network(self, n_features, n_outputs, rng, dtype):
        hidden, width = self._build_hidden(n_features, rng, dtype)
        out_module, _, _ = self._output_spec()
        last = nn.Linear(width, n_outputs, rng=rng, dtype=dtype, init=self._init_function())
        return nn.Sequential(*hidden, last, out_module)

    def _train_net(self):
        """The part of ``model_`` that training runs forward and backward through."""
        _, _, fused = self._output_spec()
        mods = self.model_.modules
        return nn.Sequential(*(mods[:-1] if fused else mods))

    def _stochastic(self):
        return any(isinstance(m, nn.layers.TrainingOnly) for m in self.model_.modules)

    def _stochastic_rng(self):
        mods = [m for m in self.model_.modules if isinstance(m, nn.layers.TrainingOnly)]
        return mods[0].rng if mods else None

    def _refresh_views(self):
        """``coefs_`` / ``intercepts_``: scikit-learn-layout views of the ``Linear`` weights."""
        linears = [m for m in self.model_.modules if isinstance(m, nn.Linear)]
        self.coefs_ = [m.weight.T for m in linears]
        self.intercepts_ = [m.bias for m in linears]

    def _sync_from_views(self):
        """Copy user-assigned ``coefs_`` / ``intercepts_`` into the network (warm start)."""
        linears = [m for m in self.model_.modules if isinstance(m, nn.Linear)]
        for m, coef, intercept in zip(linears, self.coefs_, self.intercepts_):
            if not np.shares_memory(m.weight, coef):
                m.weight[...] = np.asarray(coef).T
            if not np.shares_memory(m.bias, intercept):
                m.bias[...] = np.asarray(intercept).reshape(m.bias.shape)

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: Python >= 3.11 returns __dict__ itself
        # coefs_/intercepts_ are views of model_'s weights: pickle the weights once
        state.pop("coefs_", None)
        state.pop("intercepts_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state:
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

    @contextmanager
    def _transaction(self, incremental):
        """Undo every change to the estimator if the body raises.

        A failed ``fit`` / ``partial_fit`` leaves the previous model predicting
        exactly as before.  Training changes arrays in place when it continues
        a fitted model, so that case keeps a deep copy; a fresh fit builds new
        arrays and a shallow copy of the attributes is enough.
        """
        fitted = hasattr(self, "model_") or hasattr(self, "estimators_")
        if fitted and (incremental or self.warm_start):
            # callbacks and their contexts are kept by reference: they may hold
            # threads and queues, and are not model state
            shared = {k: v for k, v in self.__dict__.items() if "callback" in k}
            saved = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in shared})
            saved.update(shared)
        else:
            saved = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if "model_" in saved and "coefs_" in saved:
                self._refresh_views()  # a deep copy's coefs_ are no longer views
            raise

    def _fit(self, X, y, sample_weight=None, incremental=False, val=(None, None, None)):
        with self._transaction(incremental):
            return self._fit_unsafe(X, y, sample_weight, incremental, val)

    def _fit_unsafe(self, X, y, sample_weight, incremental, val):
        fitted = hasattr(self, "coefs_") or hasattr(self, "estimators_")
        first_pass = not fitted or (not self.warm_start and not incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        Y = self._validate_targets(y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sample_weight = self._class_sample_weight(y, sample_weight)
        if not first_pass and hasattr(self, "model_") and self.n_estimators == 1:
            X = X.astype(self.model_.parameters()[0][0].dtype, copy=False)
        Y = Y.astype(X.dtype, copy=False)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        X_val, y_val, sw_val = val
        if X_val is not None:
            if not self.early_stopping:
                raise ValueError("X_val is only used with early_stopping=True.")
            X_val = self._check_X_predict(X_val).astype(X.dtype, copy=False)
            if y_val is None:
                raise ValueError("y_val is required with X_val.")
            if sw_val is not None:
                sw_val = _check_sample_weight(sw_val, X_val)
            val = (X_val, np.asarray(y_val), sw_val)
        else:
            val = None
        self._random_state = check_random_state(self.random_state)
        if self.n_estimators > 1:
            self._fit_ensemble(X, Y, y, sample_weight, incremental, first_pass, val)
        else:
            self._fit_single(X, Y, y, sample_weight, incremental, first_pass, val)
        return self

    def _class_sample_weight(self, y, sample_weight):
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        from sklearn.utils.class_weight import compute_sample_weight

        cw = compute_sample_weight(class_weight, y)
        return cw if sample_weight is None else sample_weight * cw

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
        if self.early_stopping:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self.best_validation_loss_ = np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self.best_validation_loss_ = None

    def _fit_single(self, X, Y, y, sample_weight, incremental, first_pass, val):
        n_features = X.shape[1]
        if first_pass or not hasattr(self, "model_"):
            if first_pass:
                self._initialize(n_features, Y.shape[1], X.dtype)
            else:  # coefs_ set by hand (scikit-learn's own tests do this)
                self.model_ = self._build_network(
                    n_features, Y.shape[1], self._random_state, X.dtype
                )
                self._sync_from_views()
        else:
            self._sync_from_views()
        flat_p, flat_g = self.model_.get_parameters(penalized_first=True)
        self._refresh_views()
        if self._stochastic() and (first_pass or self._stochastic_rng() is None):
            # one generator for the masks and noise of the network's whole life:
            # partial_fit and warm starts continue its stream (re-seeding it from an
            # int random_state on every call would repeat the same masks each epoch)
            self.model_.set_rng(np.random.default_rng(self._random_state.randint(_MAX_SEED)))
        self.model_.train()
        try:
            with self._blas_threads(X.shape[0]):
                n_tasks = 1 if incremental and self.solver != "lbfgs" else self.max_iter
                reporter = progress(self, X, y, max_subtasks=n_tasks)
                self._fit_solver(X, Y, y, sample_weight, flat_p, flat_g, incremental, val, reporter)
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

    def _fit_solver(self, X, Y, y, sample_weight, flat_p, flat_g, incremental, val, reporter):
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, Y, y, sample_weight, flat_p, flat_g, incremental, val, reporter)
        else:
            self._fit_lbfgs(X, Y, sample_weight, flat_p, flat_g, reporter)

    def _reconstruction_attributes(self):
        """A snapshot of the network, for callbacks that evaluate a fit in progress."""
        model = copy.deepcopy(self.model_).eval()
        linears = [m for m in model.modules if isinstance(m, nn.Linear)]
        return {
            "model_": model,
            "coefs_": [m.weight.T for m in linears],
            "intercepts_": [m.bias for m in linears],
        }

    # ---------------------------------------------------------- loss & grad
    def _penalty(self, flat_p, flat_g, n_pen, sw_sum):
        """Add the elastic-net penalty's gradient to ``flat_g``; return its loss.

        ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * ||W||^2) / sw_sum`` on
        weights only (never biases), as scikit-learn's L2 term when ``l1_ratio=0``.
        """
        if self.alpha == 0:
            return 0.0
        w, gw = flat_p[:n_pen], flat_g[:n_pen]
        l2 = self.alpha * (1 - self.l1_ratio) / sw_sum
        loss = 0.0
        if l2:
            # ||W||^2 and gW += l2 W in cache-sized blocks: W is read from memory once.
            # (numpy, not scipy.linalg.blas: SciPy ships its own OpenBLAS, whose
            # thread pool spins against numpy's when the two alternate)
            tmp = np.empty(min(w.size, _PENALTY_BLOCK), dtype=w.dtype)
            sq = 0.0
            for start in range(0, w.size, _PENALTY_BLOCK):
                wb, gb = w[start : start + _PENALTY_BLOCK], gw[start : start + _PENALTY_BLOCK]
                sq += float(np.dot(wb, wb))
                tb = np.multiply(wb, l2, out=tmp[: wb.size])
                gb += tb
            loss = 0.5 * l2 * sq
        if self.l1_ratio > 0:
            l1 = self.alpha * self.l1_ratio / sw_sum
            loss += l1 * float(np.abs(w).sum())
            gw += l1 * np.sign(w)
        return loss

    def _loss_grad(self, net, criterion, xb, yb, swb, flat_p, flat_g, n_pen):
        """Forward, criterion, backward and penalty for one batch; grads in ``flat_g``."""
        net.zero_grad_parameters(lazy=True)  # backward overwrites the gradients
        sw_sum = xb.shape[0] if swb is None else (float(swb.sum()) or 1.0)
        eps = self.adversarial_eps
        out = net.forward(xb)
        loss, delta = criterion.forward_backward(out, yb, swb)
        if eps > 0:
            # FGSM (Goodfellow et al.): J = (J(x) + J(x + eps sign(dJ/dx))) / 2
            grad_x = net.backward(xb, delta, scale=0.5)
            x_adv = np.asarray(xb + eps * np.sign(grad_x), dtype=flat_p.dtype)
            out = net.forward(x_adv)
            loss_adv, delta = criterion.forward_backward(out, yb, swb)
            net.backward(x_adv, delta, scale=0.5, need_input_grad=False)
            loss = 0.5 * (loss + loss_adv)
        else:
            net.backward(xb, delta, need_input_grad=False)
        loss += self._penalty(flat_p, flat_g, n_pen, sw_sum)
        return loss

    def _constrain(self, flat_g=None):
        """Gradient clipping (before a step) or max-norm (after it)."""
        if flat_g is not None:
            if self.clip_grad_norm is not None:
                norm = float(np.sqrt(np.dot(flat_g, flat_g)))
                if norm > self.clip_grad_norm:
                    flat_g *= self.clip_grad_norm / norm
            return
        if self.max_norm is not None:
            for m in self.model_.modules:
                w = getattr(m, "weight", None)
                if w is None or not m.penalized()[0]:
                    continue
                rows = w.reshape(w.shape[0], -1)  # one row per unit's incoming weights
                norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
                scale = np.minimum(1.0, self.max_norm / np.maximum(norms, 1e-12))
                rows *= scale[:, None].astype(w.dtype)

    def _n_penalized(self):
        params = self.model_.parameters()[0]
        return sum(p.size for p, f in zip(params, self.model_.penalized()) if f)

    # ----------------------------------------------------------- optimizers
    def _make_optimizer(self, flat_p):
        schedule = self.learning_rate
        if self.solver == "sgd":
            return nn.SGD(
                [flat_p],
                self.learning_rate_init,
                schedule,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return nn.Adam(
            [flat_p],
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            lr_schedule=schedule if self.schedule_adam else "constant",
            power_t=self.power_t,
        )

    def _fit_lbfgs(self, X, Y, sample_weight, flat_p, flat_g, reporter):
        net = self._train_net()
        _, criterion, _ = self._output_spec()
        n_pen = self._n_penalized()
        X = self._prepare_X(X)
        curve, stopped = [], []

        def fun(w):
            np.copyto(flat_p, w, casting="unsafe")
            loss = self._loss_grad(net, criterion, X, Y, sample_weight, flat_p, flat_g, n_pen)
            return loss, flat_g.astype(np.float64)

        def callback(intermediate_result):
            curve.append(float(intermediate_result.fun))
            np.copyto(flat_p, intermediate_result.x, casting="unsafe")
            if reporter.end():
                stopped.append(True)
                raise StopIteration  # a callback asked to stop (scipy >= 1.11)
            reporter.begin("lbfgs-iter")

        reporter.begin("lbfgs-iter")

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        opt_res = scipy.optimize.minimize(
            fun,
            flat_p.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
                **_get_additional_lbfgs_options_dict("iprint", iprint),
            },
        )
        if stopped:  # asked to stop by a callback: not a convergence failure
            self.n_iter_ = opt_res.nit
        elif _check_optimize_result is not None:
            self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        else:  # pragma: no cover
            self.n_iter_ = opt_res.nit
        self.loss_ = float(opt_res.fun)
        self.loss_curve_ = getattr(self, "loss_curve_", None) or []
        self.loss_curve_ += curve
        self.best_loss_ = min(curve) if curve else self.loss_
        np.copyto(flat_p, opt_res.x, casting="unsafe")

    def _split_validation(self, X, Y, y, sample_weight, val):
        if val is not None:
            X_val, y_val, sw_val = val
            return X, Y, sample_weight, (X_val, self._encode_val(y_val), y_val, sw_val)
        # as scikit-learn: stratified on the encoded target when it is one column
        stratify = Y.astype(bool) if (is_classifier(self) and self.n_outputs_ == 1) else None
        arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
        parts = train_test_split(
            *arrays,
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_tr, X_val, Y_tr, Y_val, _, y_val = parts[:6]
        sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return X_tr, Y_tr, sw_tr, (X_val, Y_val, y_val, sw_val)

    def _encode_val(self, y_val):
        return (
            self._validate_targets(y_val, incremental=True, reset=False)
            .astype(self.model_.parameters()[0][0].dtype)
            .reshape(len(y_val), -1)
        )

    def _fit_stochastic(self, X, Y, y, sample_weight, flat_p, flat_g, incremental, val, reporter):
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = self._make_optimizer(flat_p)
        early_stopping = self.early_stopping
        if early_stopping:
            X, Y, sample_weight, val = self._split_validation(X, Y, y, sample_weight, val)
            if self.validation_scores_ is None:  # warm start of a fit without early stopping
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_, self.best_validation_loss_ = -np.inf, np.inf
                self.best_loss_ = None
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        net = self._train_net()
        _, criterion, _ = self._output_spec()
        n_pen = self._n_penalized()
        params, grads = [flat_p], [flat_g]
        dense = isinstance(X, np.ndarray)
        if dense and self.shuffle and not X.flags.c_contiguous:
            # gathering rows of a strided or Fortran array is ~10x slower than of a
            # C-ordered one: one copy here beats a slow gather on every batch
            X = np.ascontiguousarray(X)
        xbuf = ybuf = None
        best = flat_p.copy() if early_stopping else None
        if early_stopping:  # continue from the previous fit's best when warm starting
            if self.early_stopping_metric == "score":
                best_monitored = self.best_validation_score_
            else:
                best_monitored = -self.best_validation_loss_
        last_finite = flat_p.copy()
        stopped_msg = None
        try:
            self.n_iter_ = 0  # counts this call's epochs, as scikit-learn's
            for it in range(self.max_iter):
                reporter.begin("epoch")
                if self.shuffle:
                    # = sklearn.utils.shuffle(sample_idx, random_state=...), the same draws
                    # (a permutation of arange shuffled in place), without its checks
                    perm = np.arange(n_samples)
                    self._random_state.shuffle(perm)
                    sample_idx = sample_idx[perm]
                accumulated_loss = 0.0
                for batch_slice in gen_batches(n_samples, batch_size):
                    if self.shuffle:
                        batch_idx = sample_idx[batch_slice]
                        if dense:  # gather into reused buffers: no per-batch allocation
                            X_batch, xbuf = _gather(X, batch_idx, xbuf)
                        else:
                            X_batch = _safe_indexing(X, batch_idx)
                        Y_batch, ybuf = _gather(Y, batch_idx, ybuf)
                    else:
                        batch_idx = batch_slice
                        X_batch, Y_batch = X[batch_slice], Y[batch_slice]
                    swb = None if sample_weight is None else sample_weight[batch_idx]
                    batch_loss = self._loss_grad(
                        net,
                        criterion,
                        self._prepare_X(X_batch),
                        Y_batch,
                        swb,
                        flat_p,
                        flat_g,
                        n_pen,
                    )
                    self._constrain(flat_g)
                    self._optimizer.step(params, grads)
                    self._constrain()
                    accumulated_loss += batch_loss * (batch_slice.stop - batch_slice.start)

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                finite = np.isfinite(self.loss_) and np.isfinite(flat_p).all()
                if early_stopping:
                    best_monitored = self._update_validation(val, flat_p, best, best_monitored)
                else:
                    self._update_training_loss()
                if not finite:
                    stopped_msg = self._diverged(flat_p, last_finite, best, it)
                    break
                last_finite[...] = flat_p
                if reporter.end():  # a callback (sklearn.callback) asked to stop
                    break
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            if not np.isfinite(flat_p).all():
                np.copyto(flat_p, last_finite)
        if early_stopping and np.isfinite(best).all():
            np.copyto(flat_p, best)  # restore the weights that scored best_validation_score_
        if stopped_msg is not None:
            warnings.warn(stopped_msg, ConvergenceWarning)

    def _diverged(self, flat_p, last_finite, best, it):
        """Non-finite loss or weights: restore finite weights and say what happened."""
        self.diverged_ = True
        self._optimizer = None  # its moments are non-finite too; a new fit starts afresh
        if it == 0 and (best is None or not np.isfinite(best).all()) and self.n_iter_ <= 1:
            return None  # nothing finite was learned: _fit_single raises DIVERGED_MSG
        np.copyto(flat_p, last_finite if best is None else best)
        return (
            f"Training diverged at iteration {self.n_iter_}: the loss or the weights became "
            "non-finite. The last finite weights were restored; try a lower "
            "learning_rate_init, gradient clipping (clip_grad_norm) or scaling the input."
        )

    def _update_training_loss(self):
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

    def _update_validation(self, val, flat_p, best, best_monitored):
        """Score the epoch on the validation set; return the best monitored value."""
        X_val, Y_val, y_val, sw_val = val
        score, loss = self._validation_metrics(X_val, Y_val, y_val, sw_val)
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(loss)
        if self.verbose:
            print("Validation score: %f" % score)
        # the monitored quantity, larger is better
        current = score if self.early_stopping_metric == "score" else -loss
        if current < best_monitored + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if current > best_monitored:
            self.best_validation_score_ = score
            self.best_validation_loss_ = loss
            best[...] = flat_p
            return current
        return best_monitored

    def _validation_metrics(self, X_val, Y_val, y_val, sw_val):
        """Validation score and loss from one eval-mode pass."""
        _, criterion, fused = self._output_spec()
        raw_in = self._infer(X_val, upto=-1 if fused else None)
        with np.errstate(all="ignore"):
            loss = float(criterion.forward(raw_in, Y_val, sw_val))
            raw = self.model_.modules[-1].infer(raw_in) if fused else raw_in
        if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
            return np.nan, np.nan
        return float(self._score_function(y_val, self._decode(raw), sample_weight=sw_val)), loss

    # ------------------------------------------------------------ ensembles
    def _member_seeds(self, n):
        rs = check_random_state(self.random_state)
        return rs.randint(_MAX_SEED, size=n)

    def _fit_ensemble(self, X, Y, y, sample_weight, incremental, first_pass, val):
        from ._bagging import fit_ensemble

        fit_ensemble(self, X, Y, y, sample_weight, incremental, first_pass, val)

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

    def _widest_hidden(self):
        return 0

    def _raw_predict(self, X):
        """Network outputs (probabilities or regression values) for validated X."""
        if self.n_estimators > 1:
            return np.mean([m._raw_predict(X) for m in self.estimators_], axis=0)
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
