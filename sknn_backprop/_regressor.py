"""Regressor behaviour shared by every regressor preset.

Targets as float arrays (``y >= 0`` for the Poisson loss), the output layer and
criterion of each loss, and ``predict`` / ``partial_fit``.

=================  =============  ==================================================
``loss``           output layer   criterion (averaged over samples and outputs)
=================  =============  ==================================================
'squared_error'    identity       ``1/2 d^2``
'absolute_error'   identity       ``|d|``
'huber'            identity       ``1/2 d^2`` for ``|d| <= huber_delta``, else
                                  ``huber_delta (|d| - huber_delta / 2)``
'poisson'          exp            half Poisson deviance on the log of the mean
=================  =============  ==================================================
"""

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from . import nn

__all__ = ["RegressorNetworkMixin", "HuberCriterion"]


class HuberCriterion(nn.SmoothL1Criterion):
    """Huber's loss with threshold ``delta``: ``delta`` times ``SmoothL1Criterion(beta=delta)``.

    ``1/2 d^2`` for ``|d| <= delta`` -- the squared error's loss, so the two
    agree on small residuals and as ``delta -> inf`` -- and ``delta (|d| - delta /
    2)`` beyond, whose gradient ``delta * sign(d)`` caps the pull of an outlier.
    PyTorch's ``HuberLoss(delta)``, averaged over the outputs.
    """

    def __init__(self, delta=1.0):
        super().__init__(beta=delta, average_outputs=True)

    def __repr__(self):
        return f"HuberCriterion(delta={self.beta:g})"

    def forward_backward(self, output, target, sample_weight=None):
        loss, grad = super().forward_backward(output, target, sample_weight)
        grad *= grad.dtype.type(self.beta)
        return self.beta * loss, grad


class RegressorNetworkMixin:
    """Targets, outputs and predictions shared by the regressors (``loss`` picks the criterion)."""

    _score_function = staticmethod(r2_score)
    #: the losses every regressor preset offers (``NeuralNetRegressor``: ``criterion``)
    _regressor_constraints = {
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "poisson"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

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
        if self.loss == "absolute_error":
            return nn.Identity(), nn.AbsCriterion(average_outputs=True), True
        if self.loss == "huber":
            return nn.Identity(), HuberCriterion(self.huber_delta), True
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
