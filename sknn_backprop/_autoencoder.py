"""``MLPAutoencoder``: a dense autoencoder as a scikit-learn transformer, on the shared core.

The network is the encoder ``Linear -> activation`` per ``hidden_layer_sizes``
(the last size is the code), then the decoder mirroring it back to the input
width, with a linear output trained on half the mean squared error of the
reconstruction.  The target is ``X`` itself: the class only says how to build
the network, that ``y`` is not needed, and how to read codes and
reconstructions off the trained network; training is the shared core's
(``_training``), the same as every other estimator's.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.metrics import mean_squared_error
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, validate_data

from . import _docs, nn
from ._base import BaseNeuralNetwork, store_params
from ._network import (
    MLPNetworkMixin,
    activation_module,
    activity_penalty,
    init_function,
    input_regularisers,
)

__all__ = ["MLPAutoencoder"]

#: parameters of the other estimators that an autoencoder does not have
_NOT_HERE = ("dropout", "batch_norm")


def _neg_mse(y_true, y_pred, sample_weight=None):
    """The autoencoder's score: minus the mean squared reconstruction error."""
    return -mean_squared_error(y_true, y_pred, sample_weight=sample_weight)


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


class MLPAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, MLPNetworkMixin, BaseNeuralNetwork
):
    __doc__ = (
        """Multi-layer autoencoder: ``transform`` gives codes, ``inverse_transform`` rows.

    An MLP trained to reproduce its input through a narrow code layer, the
    lecture's unsupervised learning of features.  ``hidden_layer_sizes`` are the
    encoder's layers, the last one is the code; the decoder mirrors them:
    ``(64, 8)`` on 30 features is ``30 -> 64 -> 8 -> 64 -> 30``.  Every hidden
    layer, the code layer included, uses ``activation``; the output layer is
    linear and trained on half the mean squared error of the reconstruction
    (averaged over the features), so ``activation='identity'`` makes the whole
    network linear -- whose optimal code spans the same subspace as PCA's.

    Training is the other estimators': every solver and schedule, early stopping
    (on the validation reconstruction loss by default), ``partial_fit``,
    ``warm_start``, weight penalties, max-norm and clipping, float32 and sparse
    input (the reconstruction targets are the dense rows).  A denoising
    autoencoder (Vincent et al., 2008) corrupts its input while training and
    reconstructs the clean rows: ``input_noise`` (Gaussian) and
    ``input_dropout`` (masking noise).  ``activity_l1`` makes the codes sparse,
    and ``tied_weights`` shares the encoder's weights with the decoder.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_encoder_layers,), default=(64, 8)
        Sizes of the encoder's layers; the last is the size of the code.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'abs'}, \
default='relu'
        Activation of every hidden layer of the encoder and of the decoder (the
        code layer included); the output layer is linear.

    tied_weights : bool, default=False
        Decoder weights are the transposes of the encoder's (each decoder layer
        an :class:`~sknn_backprop.nn.TiedLinear` with its own bias): about half
        the parameters.  ``coefs_`` then lists the encoder's layers only.

"""
        + _docs.SOLVER
        + """
    input_dropout : float, default=0.0
        Masking noise: each input feature is zeroed with this probability while
        training (inverted dropout); the target stays the clean input.

"""
        + _docs.PENALTIES
        + _docs.WEIGHT_INIT
        + """\
    early_stopping_metric : {'loss', 'score'}, default='loss'
        The quantity early stopping monitors on the validation rows: their
        reconstruction loss, or the score (minus their mean squared error).

"""
        + _docs.TRAINING_CONTROLS
        + """
    It does not bag (no ``n_estimators``): the codes of separately trained
    autoencoders are not aligned (their units are in any order and any
    rotation), so averaging them would mean nothing.

    Attributes
    ----------
"""
        + _docs.ATTRIBUTES
        + """
    See Also
    --------
    sklearn.decomposition.PCA : The linear autoencoder's subspace, in closed form.
    MLPRegressor : The same core, trained on targets instead of the input.

    Notes
    -----
    ``coefs_`` and ``intercepts_`` list the layers with their own weights:
    encoder then decoder, or only the encoder with ``tied_weights=True`` (the
    decoder's weights are then ``coefs_[i].T``, read backwards); ``n_layers_``
    counts those layers plus one. ``loss_curve_`` is half the mean squared
    reconstruction error (plus the penalties); ``score`` is minus the mean
    squared error, as ``-mean_squared_error(X, inverse_transform(transform(X)))``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn_backprop import MLPAutoencoder
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> ae = MLPAutoencoder((32, 8), activation="tanh", max_iter=50, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:3].tolist()
    ['mlpautoencoder0', 'mlpautoencoder1', 'mlpautoencoder2']
    >>> ae.model_
    nn.Sequential {
      [input -> (1) -> (2) -> (3) -> (4) -> (5) -> (6) -> (7) -> (8) -> output]
      (1): nn.Linear(64 -> 32)
      (2): nn.Tanh
      (3): nn.Linear(32 -> 8)
      (4): nn.Tanh
      (5): nn.Linear(8 -> 32)
      (6): nn.Tanh
      (7): nn.Linear(32 -> 64)
      (8): nn.Identity
    }
    """
    )

    _parameter_constraints: dict = {
        **{k: v for k, v in BaseNeuralNetwork._parameter_constraints.items() if k not in _NOT_HERE},
        **MLPNetworkMixin._mlp_constraints,
        "tied_weights": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(64, 8),
        activation="relu",
        *,
        tied_weights=False,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        input_dropout=0.0,
        l1_ratio=0.0,
        max_norm=None,
        clip_grad_norm=None,
        input_noise=0.0,
        adversarial_eps=0.0,
        activity_l1=0.0,
        weight_init="glorot_uniform",
        early_stopping_metric="loss",
        schedule_adam=False,
        rho=0.9,
        controls=None,
    ):
        store_params(self, locals())

    _score_function = staticmethod(_neg_mse)

    # ------------------------------------------------------------ the hooks
    def _validate_input(self, X, y, incremental, reset):
        """``X`` checked; the target is its dense copy (``y`` is ignored)."""
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset
        )
        return X, _dense(X)

    def _validate_targets(self, y, incremental, reset):
        return _dense(y)

    def _output_spec(self):
        return nn.Identity(), nn.MSECriterion(average_outputs=True), True

    def _out_activation_name(self):
        return "identity"

    def _decode(self, raw):
        return raw

    def _build_network(self, n_features, n_outputs, rng, dtype):
        sizes = self._hidden_sizes()
        if not sizes:
            raise ValueError(
                "An autoencoder needs a code layer: hidden_layer_sizes must hold at least "
                f"one size (the last is the code's), got hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r}."
            )
        init = init_function(self)
        encoder, fan_in = [], n_features
        for size in sizes:
            encoder.append(nn.Linear(fan_in, size, rng=rng, dtype=dtype, init=init))
            encoder.append(activation_module(self.activation))
            fan_in = size
        encoder += activity_penalty(self)  # on the code only: sparse codes
        linears = nn.Sequential(*encoder).find_modules(nn.Linear)
        decoder = []
        for i, size in reversed(list(enumerate([n_features, *sizes[:-1]]))):
            if self.tied_weights:
                decoder.append(nn.TiedLinear(linears[i]))
            else:
                decoder.append(nn.Linear(fan_in, size, rng=rng, dtype=dtype, init=init))
            if i > 0:
                decoder.append(activation_module(self.activation))
            fan_in = size
        regularisers = input_regularisers(self)
        self._code_end = len(regularisers) + len(encoder)  # modules up to the code
        self._n_features_out = sizes[-1]
        return nn.Sequential(*regularisers, *encoder, *decoder, nn.Identity())

    # ------------------------------------------------------------ the face
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, X_val=None, sample_weight_val=None):
        """Fit the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training rows (also the targets).
        y : None
            Ignored (scikit-learn's transformer convention).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val : array-like of shape (n_val_samples, n_features), default=None
            Validation rows for early stopping, instead of carving
            ``validation_fraction`` out of ``X`` (only with ``early_stopping=True``).
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation rows.

        Returns
        -------
        self : object
            Trained autoencoder.
        """
        y_val = None if X_val is None else _dense(X_val)
        return self._fit(X, None, sample_weight, val=(X_val, y_val, sample_weight_val))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the autoencoder with one epoch over ``X``.

        As for every estimator, only the stochastic solvers have it: with
        ``solver='lbfgs'`` the attribute does not exist.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained autoencoder.
        """
        return self._fit(X, None, sample_weight, incremental=True)

    def _network_dtype(self):
        return self.model_.dtype

    def transform(self, X):
        """The codes of ``X``: the activations of the code layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        codes : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            The code of each row (float32 for float32 input).
        """
        self._check_fitted()
        X = self._check_X_predict(X)
        self._sync_from_views()
        return self._infer(X.astype(self._network_dtype(), copy=False), upto=self._code_end)

    def inverse_transform(self, X):
        """Reconstructions from codes: the decoder's output.

        Parameters
        ----------
        X : array-like of shape (n_samples, hidden_layer_sizes[-1])
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            The reconstructed rows.
        """
        self._check_fitted()
        codes = check_array(X, dtype=(np.float64, np.float32))
        if codes.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {codes.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"is expecting {self._n_features_out} features (the code size)."
            )
        self._sync_from_views()
        decoder = nn.Sequential(*self.model_.modules[self._code_end :])
        return decoder.infer(codes.astype(self._network_dtype(), copy=False))

    def score(self, X, y=None):
        """Minus the mean squared reconstruction error of ``X`` (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-mean_squared_error(X, inverse_transform(transform(X)))``.
        """
        self._check_fitted()
        X = self._check_X_predict(X)
        return float(_neg_mse(_dense(X), self._raw_predict(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
