"""Regressor behaviour shared by every regressor preset.

Targets as float arrays (``y >= 0`` for the Poisson loss), the output layer and
criterion of each loss, and ``predict`` / ``partial_fit``.
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from . import nn

__all__ = ["RegressorNetworkMixin"]


class RegressorNetworkMixin:
    """Targets, outputs and predictions shared by the regressors (``loss`` picks the criterion)."""

    _score_function = staticmethod(r2_score)
    #: the losses every regressor preset offers (``NeuralNetRegressor``: ``criterion``)
    _regressor_constraints = {"loss": [StrOptions({"squared_error", "poisson"})]}

    def _validate_targets(self, y, incremental, reset):
        y = np.asarray(y, dtype=np.float64) if not hasattr(y, "dtype") else y
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return y

    def _output_spec(self):
        if self.loss == "poisson":
            return nn.Exp(), nn.PoissonNLLCriterion(log_input=True), True
        return nn.Identity(), nn.MSECriterion(average_outputs=True), True

    def _out_activation_name(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _decode(self, raw):
        return raw.ravel() if raw.shape[1] == 1 else raw

    def predict(self, X):
        """Predict using the network (or the ensemble's averaged predictions).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_fitted()
        return self._predict(X)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        One epoch of the stochastic solver over the batch, continuing from the
        current weights and optimizer state.  As in scikit-learn, only the
        stochastic solvers have it: with ``solver='lbfgs'`` the attribute does
        not exist.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
