"""Greedy layer-wise unsupervised pre-training (``pretrain=True``) of ``MLP*`` and ``NeuralNet*``.

The lecture's "unsupervised pre-training" (Hinton et al., 2006; Bengio et al.,
2007): before the supervised fit of a new network, each hidden ``Linear ->
activation`` layer is trained, bottom up, as the encoder of a one-layer
denoising :class:`~sknn_backprop.MLPAutoencoder` on the codes of the layers
below it; its encoder's weights are copied into the layer, and the supervised
training then fine-tunes the whole stack from there.  Each layer's autoencoder
is an ordinary ``MLPAutoencoder`` fit -- the shared training core, no loop of
its own.  The rows are ``X`` and the ``X_unlabeled`` passed to ``fit`` (which
scikit-learn's metadata routing can route to the estimator, as ``X_val``).
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from . import nn
from ._autoencoder import MLPAutoencoder
from ._training.plan import MAX_SEED

__all__ = ["PretrainMixin", "pretrainable_layers"]

#: hidden activation module -> the ``activation`` name of the layer's autoencoder
_ACTIVATION_NAMES = {
    nn.Identity: "identity",
    nn.Sigmoid: "logistic",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.Abs: "abs",
}
#: modules that may sit between the layers of a pre-trainable network
_PASS_THROUGH = (nn.GaussianNoise, nn.Dropout, nn.L1Penalty, *_ACTIVATION_NAMES)
#: the training hyperparameters that each layer's autoencoder takes from the estimator
_TRAINING = (
    "solver",
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "shuffle",
    "tol",
    "momentum",
    "nesterovs_momentum",
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "max_fun",
    "weight_init",
    "schedule_adam",
)


def pretrainable_layers(modules):
    """``[(linear, activation name)]`` of the hidden layers of a ``Linear + activation`` stack.

    Every ``Linear`` before the last one must be followed by one of the
    activations of ``MLPAutoencoder``; only input noise, dropout and activity
    penalties may sit between the layers.  Anything else raises a
    ``ValueError`` that names ``pretrain``.
    """
    last = max((i for i, m in enumerate(modules) if isinstance(m, nn.Linear)), default=-1)
    layers = []
    for i, m in enumerate(modules[: max(last, 0)]):
        if isinstance(m, nn.Linear):
            name = _ACTIVATION_NAMES.get(type(modules[i + 1]))
            if name is None:
                raise ValueError(
                    f"pretrain=True needs each hidden nn.Linear followed by an activation "
                    f"({', '.join(c.__name__ for c in _ACTIVATION_NAMES)}); {m!r} is "
                    f"followed by {modules[i + 1]!r}."
                )
            layers.append((m, name))
        elif not isinstance(m, _PASS_THROUGH):
            raise ValueError(
                "pretrain=True needs a network of nn.Linear layers, each followed by an "
                f"activation (a Sequential of Linear + activation pairs); got {m!r}."
            )
    if not layers:
        raise ValueError("pretrain=True needs at least one hidden layer (Linear + activation).")
    return layers


class PretrainMixin:
    """``pretrain`` and ``fit(..., X_unlabeled=...)`` for the estimators whose layers allow it."""

    _pretrain_constraints = {
        "pretrain": ["boolean"],
        "pretrain_max_iter": [Interval(Integral, 1, None, closed="left")],
        "pretrain_noise": [Interval(Real, 0, None, closed="left")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
        X_unlabeled=None,
    ):
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
        X_unlabeled : {array-like, sparse matrix} of shape (n_unlabeled, n_features), \
default=None
            Rows without labels, used with ``X`` by the unsupervised pre-training
            (only with ``pretrain=True``, and not with bagging).  Routable like
            ``X_val`` (``set_fit_request(X_unlabeled=True)``); inside a
            ``Pipeline`` it does not go through the earlier steps either.

        Returns
        -------
        self : object
            Trained model.
        """
        if X_unlabeled is not None and not self.pretrain:
            raise ValueError("X_unlabeled is only used with pretrain=True.")
        if X_unlabeled is not None and getattr(self, "n_estimators", 1) > 1:
            raise ValueError(
                "X_unlabeled is not supported with bagging (n_estimators > 1): each "
                "member pre-trains on its own resample of X."
            )
        self._X_unlabeled = X_unlabeled
        try:
            return self._fit(X, y, sample_weight, val=(X_val, y_val, sample_weight_val))
        finally:
            self.__dict__.pop("_X_unlabeled", None)

    def _pretrain(self, data):
        """Pre-train the hidden layers of the new ``model_`` in place (``pretrain=True``)."""
        if not self.pretrain:
            return
        layers = pretrainable_layers(self.model_.modules)
        H = self._pretraining_rows(data.X)
        seeds = self._random_state.randint(MAX_SEED, size=len(layers))
        for i, ((linear, activation), seed) in enumerate(zip(layers, seeds)):
            ae = self._layer_autoencoder(linear.n_out, activation, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                ae.fit(H)
            if self.verbose:
                print(f"Pre-training layer {i + 1}: reconstruction loss = {ae.loss_:.8f}")
            encoder = ae.model_.find_modules(nn.Linear)[0]
            np.copyto(linear.weight, encoder.weight, casting="same_kind")
            if linear.bias is not None:
                np.copyto(linear.bias, encoder.bias, casting="same_kind")
            if i + 1 < len(layers):
                H = ae.transform(H)

    def _layer_autoencoder(self, width, activation, seed):
        params = self.get_params(deep=False)
        return MLPAutoencoder(
            hidden_layer_sizes=(width,),
            activation=activation,
            max_iter=self.pretrain_max_iter,
            input_noise=self.pretrain_noise,
            random_state=int(seed),
            **{k: params[k] for k in _TRAINING if k in params},
        )

    def _pretraining_rows(self, X):
        """``X`` and the validated ``X_unlabeled`` rows, stacked (sparse if either is)."""
        unlabeled = self.__dict__.get("_X_unlabeled")
        if unlabeled is None:
            return X
        unlabeled = validate_data(
            self, unlabeled, accept_sparse=["csr", "csc"], dtype=X.dtype, reset=False
        )
        if sp.issparse(X) or sp.issparse(unlabeled):
            return sp.vstack([sp.csr_matrix(X), sp.csr_matrix(unlabeled)], format="csr")
        return np.vstack([X, unlabeled])
