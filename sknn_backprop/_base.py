"""The estimator base: parameters, ``fit`` / ``partial_fit``, prediction.

``BaseNeuralNetwork`` is the scikit-learn face shared by every estimator; each
of its other jobs lives in a module named for it:

- :mod:`._fitting` -- building the network and training it through the core
  (:mod:`._training`), through one :class:`~._training.plan.TrainingPlan`;
- :mod:`._views` -- ``coefs_`` / ``intercepts_`` as views of the network;
- :mod:`._compute` -- BLAS threads for training, chunked prediction;
- :mod:`._class_weight` -- class weights folded into sample weights;
- :mod:`._bagging` -- ensembles, a mixin of the estimators that bag.

A preset (``MLP*``, ``ConvNet*``, ``NeuralNet*``, ``MLPAutoencoder``) says only

- ``_validate_targets(y, incremental, reset)`` -> encoded 2-D float targets;
- ``_build_hidden(n_features, rng, dtype)`` -> the modules before the output layer
  and the width they produce (or ``_build_network`` for a whole network);
- ``_output_spec()`` -> ``(output module, criterion, fused)``: with ``fused`` the
  criterion works on the output layer's input (logits) -- scikit-learn's
  canonical-link shortcut ``delta^L = a^L - y`` -- and the output module is
  only used to predict;
- ``_decode(raw)`` and ``_score_function`` for predictions and validation scores;
- ``_data_state()``: what validation learnt from the data (``n_features_in_``,
  ``classes_`` ...), each mixin adding its own, for a bagging member to share.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import nn
from ._class_weight import sample_weights
from ._compute import ComputePolicyMixin
from ._fitting import NetworkFitMixin, TrainingData
from ._input_checks import warn_if_validation_unscaled
from ._network import ACTIVATIONS
from ._sklearn_callbacks import CallbackSupportMixin
from ._training.controls import Control
from ._training.rollback import transaction
from ._training.solvers import STOCHASTIC_SOLVERS
from ._views import WeightViewsMixin
from ._warnings import user_warnings

#: one-hot targets larger than this as floats stay boolean (the minibatches cast them)
_FLOAT_TARGETS_BYTES = 2**20


def store_params(est, params):
    """``__init__`` body: store every constructor argument unchanged."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


class BaseNeuralNetwork(
    NetworkFitMixin, ComputePolicyMixin, WeightViewsMixin, CallbackSupportMixin, BaseEstimator
):
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

    def _pretrain(self, data):
        """Hook: unsupervised pre-training of a newly built ``model_`` (``_pretrain.py``)."""

    def _data_state(self):
        """What validation learnt from the data, which a bagging member shares."""
        names = ("n_features_in_", "feature_names_in_")
        return {name: self.__dict__[name] for name in names if name in self.__dict__}

    def _check_solver(self):
        """``partial_fit`` exists only for the stochastic solvers (scikit-learn's rule)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

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
        """The user's ``(X_val, y_val, sample_weight_val)``, checked and encoded, or ``None``."""
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
        return self._encode_validation(X_val, np.asarray(y_val), sw_val)

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
        with self._transaction(incremental), user_warnings():  # warnings at the user's line
            return self._fit_unsafe(X, y, sample_weight, incremental, val)

    def _transaction(self, incremental):
        """A failed fit restores every attribute (deep copies when training continues)."""
        continues = self._is_fitted() and (incremental or self.warm_start)
        # coefs_ that are the network's views are rebuilt on restore; assigned ones are kept
        views = "model_" in self.__dict__ and self._views_current()
        return transaction(self, continues, self._refresh_views if views else None)

    def _fit_unsafe(self, X, y, sample_weight, incremental, val):
        _check_controls(self.controls)
        fitted = self._is_fitted()
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
        if not first_pass and "model_" in self.__dict__:
            X = X.astype(self.model_.dtype, copy=False)  # continue in the network's dtype
        if Y.dtype != bool or Y.size * X.dtype.itemsize < _FLOAT_TARGETS_BYTES:
            Y = Y.astype(X.dtype, copy=False)  # (large one-hot Y: cast per batch)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        data = TrainingData(X, Y, y, sample_weight, self._validation_set(val, X.dtype))
        warn_if_validation_unscaled(X, data.val.X if data.val else None)
        self._random_state = check_random_state(self.random_state)
        self._train(data, incremental, first_pass)
        return self

    def _is_fitted(self):
        return hasattr(self, "coefs_")

    def _train(self, data, incremental, first_pass):
        """Train on validated ``data``: one network here; ``_bagging`` trains members."""
        self._fit_network(data, incremental, first_pass)

    # ------------------------------------------------------------- predict
    def _raw_predict(self, X):
        """Network outputs (probabilities or regression values) for validated X."""
        self._sync_from_views()
        return self._infer(X.astype(self.model_.dtype, copy=False))

    def _predict(self, X, check_input=True):
        if check_input:
            X = self._check_X_predict(X)
        return self._decode(self._raw_predict(X))

    def _check_fitted(self):
        """``check_is_fitted``, without scanning every attribute on the fast path."""
        if "model_" not in self.__dict__:
            check_is_fitted(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_controls(controls):
    for control in controls or ():
        if not isinstance(control, Control):
            raise ValueError(
                "controls must be a list of sknn_backprop.training.Control instances, got "
                f"{control!r} in controls."
            )
