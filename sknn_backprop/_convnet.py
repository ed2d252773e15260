"""``ConvNetClassifier`` and ``ConvNetRegressor``: convolutional networks on the shared core.

:class:`_ConvNetwork` says how to lay out the input (flat rows -> ``(N, C, H,
W)`` images) and how to build ``Conv2d -> activation -> MaxPool2d`` blocks in
front of the dense head; targets, outputs and predictions are the classifiers'
(``ClassifierNetworkMixin``) or the regressors' (``RegressorNetworkMixin``) and
every training hyperparameter is ``BaseNeuralNetwork``'s.
"""

import math
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from . import _docs, nn
from ._bagging import BaggingMixin
from ._base import BaseNeuralNetwork, store_params
from ._classifier import ClassifierNetworkMixin
from ._network import (
    activation_module,
    activity_penalty,
    batch_norm,
    dense_stack,
    init_function,
    input_regularisers,
    positive_ints,
)
from ._regressor import RegressorNetworkMixin

__all__ = ["ConvNetClassifier", "ConvNetRegressor"]


def _conv_out(size, kernel, pad, stride=1):
    return (size + 2 * pad - kernel) // stride + 1


class _ConvNetwork:
    """The image layout and the convolution blocks shared by both ConvNets."""

    _convnet_constraints = {
        "conv_filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"same", "valid"})],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "input_shape": [None, "array-like"],
        "augment_shift": [Interval(Integral, 0, None, closed="left")],
    }

    # ------------------------------------------------------------ input layout
    @staticmethod
    def _flatten_images(X):
        """3-D / 4-D ``X`` -> ``(2-D X, (C, H, W))``; anything else -> ``(X, None)``."""
        if sp.issparse(X):
            return X, None
        try:
            ndim = np.ndim(X)
        except (ValueError, TypeError):  # ragged lists: validate_data will say what is wrong
            return X, None
        if ndim not in (3, 4):
            return X, None
        X = np.asarray(X)
        image = tuple(int(s) for s in X.shape[1:])
        if ndim == 3:
            image = (1,) + image
        return X.reshape(X.shape[0], -1), image

    def _resolve_input_shape(self, n_features, image=None, warn=False):
        """The ``(C, H, W)`` of one sample, from ``input_shape``, the array or ``n_features``."""
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) not in (2, 3) or not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in shape
            ):
                raise ValueError(
                    "input_shape must be (H, W) or (C, H, W) with positive integers, "
                    f"got {self.input_shape!r}."
                )
            shape = tuple(int(s) for s in shape)
            shape = (1,) + shape if len(shape) == 2 else shape
            if image is not None and image != shape:
                raise ValueError(
                    f"X holds samples of shape (C, H, W) = {image}, but input_shape="
                    f"{self.input_shape!r} was given."
                )
            if math.prod(shape) != n_features:
                raise ValueError(
                    f"input_shape={self.input_shape!r} holds {math.prod(shape)} values per "
                    f"sample, but X has {n_features} features."
                )
            return shape
        if image is not None:
            return image
        side = math.isqrt(n_features)
        if side * side == n_features or not warn:
            return (1, side, side) if side * side == n_features else (1, 1, n_features)
        warnings.warn(
            f"X has {n_features} features, not a perfect square, and input_shape is None: "
            f"each row is read as a 1 x {n_features} one-channel signal (kernels of "
            f"1 x {self.kernel_size}). Pass input_shape=(H, W) or (C, H, W) to read it as "
            "images.",
            UserWarning,
        )
        return (1, 1, n_features)

    def _data_state(self):
        state = super()._data_state()
        if "input_shape_" in self.__dict__:
            state["input_shape_"] = self.input_shape_
        return state

    def _validate_input(self, X, y, incremental, reset):
        X, image = self._flatten_images(X)
        X, y = super()._validate_input(X, y, incremental, reset)
        shape = self._resolve_input_shape(X.shape[1], image, warn=reset)
        if reset:
            self.input_shape_ = shape
        elif shape != self.input_shape_:
            raise ValueError(
                f"X holds samples of shape (C, H, W) = {shape}, but the network was fitted "
                f"on {self.input_shape_}."
            )
        return X, y

    def _check_X_predict(self, X):
        X, image = self._flatten_images(X)
        if image is not None and hasattr(self, "input_shape_") and image != self.input_shape_:
            raise ValueError(
                f"X holds samples of shape (C, H, W) = {image}, but the network was fitted "
                f"on {self.input_shape_}."
            )
        return super()._check_X_predict(X)

    def _prepare_X(self, X):
        """Flat rows -> ``(N, C, H, W)`` images (a view when ``X`` is C-contiguous)."""
        if sp.issparse(X):
            X = X.toarray()
        return X.reshape((X.shape[0],) + tuple(self.input_shape_))

    # ----------------------------------------------------------------- network
    def _conv_filters(self):
        return positive_ints(self.conv_filters, "conv_filters")

    def _hidden_sizes(self):
        return positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _plan(self, shape, warn=False):
        """One ``(filters, kernel, padding, pool)`` per block, pairs capped to the map size.

        With ``warn``, a ``UserWarning`` names every block whose kernel or pooling
        window had to be shrunk (or whose pooling was dropped) because the feature
        map is smaller than asked; the height of a one-row input (a 1-D signal)
        is capped silently, as documented.
        """
        c, h, w = shape
        signal = h == 1  # a 1-D signal: 1 x k kernels and pools are the design
        blocks, changes = [], []
        for i, f in enumerate(self._conv_filters(), start=1):
            size = (h, w)
            kernel = (min(self.kernel_size, h), min(self.kernel_size, w))
            pad = tuple((k - 1) // 2 if self.padding == "same" else 0 for k in kernel)
            h, w = _conv_out(h, kernel[0], pad[0]), _conv_out(w, kernel[1], pad[1])
            pool = (min(self.pool_size, h), min(self.pool_size, w))
            h, w = h // pool[0], w // pool[1]
            blocks.append((f, kernel, pad, pool))
            c = f
            axes = (1,) if signal else (0, 1)
            what = []
            if any(kernel[a] < self.kernel_size for a in axes):
                what.append(
                    f"its {self.kernel_size} x {self.kernel_size} kernel shrunk to "
                    f"{kernel[0]} x {kernel[1]}"
                )
            if self.pool_size > 1 and any(pool[a] < self.pool_size for a in axes):
                what.append(
                    "its pooling dropped"
                    if pool == (1, 1)
                    else f"its pooling shrunk to {pool[0]} x {pool[1]}"
                )
            if what:
                changes.append(f"block {i} (on a {size[0]} x {size[1]} map): {', '.join(what)}")
        if warn and changes:
            warnings.warn(
                f"The {shape[1]} x {shape[2]} images are too small for {len(blocks)} "
                f"convolution block(s) of kernel_size={self.kernel_size}, "
                f"pool_size={self.pool_size}, padding={self.padding!r}: "
                + "; ".join(changes)
                + ". Use fewer conv_filters, a smaller kernel_size or pool_size"
                + (", padding='same'" if self.padding == "valid" else "")
                + " or larger images (input_shape).",
                UserWarning,
            )
        return blocks, (c, h, w)

    def _build_hidden(self, n_features, rng, dtype):
        shape = self.input_shape_  # set by _validate_input (or copied into bagging members)
        mods = []
        if self.augment_shift > 0:
            mods.append(nn.RandomShift(self.augment_shift))
        mods += input_regularisers(self)
        blocks, out_shape = self._plan(shape, warn=True)
        in_channels = shape[0]
        for filters, kernel, pad, pool in blocks:
            conv = nn.Conv2d(
                in_channels,
                filters,
                kernel,
                padding=pad,
                rng=rng,
                dtype=dtype,
                init=init_function(self, kernel[0] * kernel[1]),
            )
            mods += [conv, *batch_norm(self, filters, dtype, images=True)]
            mods += [activation_module(self.activation), *activity_penalty(self)]
            if pool != (1, 1):
                mods.append(nn.MaxPool2d(pool))
            in_channels = filters
        mods.append(nn.Flatten())
        dense, width = dense_stack(self, math.prod(out_shape), self._hidden_sizes(), rng, dtype)
        return mods + dense, width

    def _layer_sizes(self):
        """``(values per sample, multiply-adds per sample)`` of every module of ``model_``."""
        c, h, w = self.input_shape_
        sizes = [(c * h * w, 0)]
        for m in self.model_.modules:
            macs = 0
            if isinstance(m, nn.Conv2d):
                (kh, kw), (sh, sw), (ph, pw) = m.kernel_size, m.stride, m.padding
                c, h, w = m.out_channels, _conv_out(h, kh, ph, sh), _conv_out(w, kw, pw, sw)
                macs = h * w * m.weight.size  # one weight use per output position
            elif isinstance(m, nn.MaxPool2d):
                (kh, kw), (sh, sw) = m.kernel_size, m.stride
                h, w = _conv_out(h, kh, 0, sh), _conv_out(w, kw, 0, sw)
            elif isinstance(m, nn.Linear):
                c, h, w = m.n_out, 1, 1
                macs = m.weight.size
            sizes.append((c * h * w, macs))
        return sizes

    def _widest_hidden(self):
        """Values per sample of the widest activation of ``model_`` (for prediction chunks)."""
        return max(values for values, _ in self._layer_sizes())

    def _largest_product_per_sample(self):
        return max(macs for _, macs in self._layer_sizes())


class ConvNetClassifier(
    ClassifierNetworkMixin, _ConvNetwork, BaggingMixin, ClassifierMixin, BaseNeuralNetwork
):
    __doc__ = (
        """Convolutional neural network classifier for images (or 1-D signals).

    ``conv_filters`` blocks of ``Conv2d -> activation -> MaxPool2d``, then the
    dense head of :class:`MLPClassifier` (``Flatten -> Linear -> activation
    [-> Dropout]`` per ``hidden_layer_sizes``) and a softmax (multiclass) or
    sigmoid (binary, multilabel) output layer.  Training is exactly
    :class:`MLPClassifier`'s: same solvers, schedules, early stopping,
    regularisers, class weights, bagging, ``warm_start`` and ``partial_fit``.

    The lecture's Torch network (32x32 input, ``conv 16 5x5 -> ReLU -> pool 2
    -> conv 128 5x5 -> ReLU -> pool 2 -> Linear(128*5*5, 200) -> ReLU ->
    Linear(200, 10) -> LogSoftmax``) is ``ConvNetClassifier(conv_filters=(16,
    128), kernel_size=5, pool_size=2, padding='valid', hidden_layer_sizes=(200,),
    input_shape=(32, 32))``, except that the output layer is a ``Softmax``
    trained through the fused cross-entropy criterion on its logits (the same
    loss as ``LogSoftmax`` + ``ClassNLLCriterion``, with ``delta = p - y``).

    The defaults are a setting that trains fast and well on small images: 3x3
    kernels, minibatches of 32, ``learning_rate_init=0.003`` and 20 epochs
    (``max_iter=20``, which ends with a ``ConvergenceWarning``, as
    :class:`MLPClassifier` usually does at ``max_iter``).  On the 8x8 digits
    (``load_digits``, ``X / 16``, ``train_test_split(test_size=0.25,
    random_state=0)``) ``ConvNetClassifier()`` reaches 98-99 % test accuracy
    (0.980-0.991 over ``random_state`` 0-7; a default :class:`MLPClassifier`
    0.967-0.980) in about a second on one core, about three times the
    MLP's fit time.  Larger images want more epochs (``max_iter``) and filters.

    Parameters
    ----------
"""
        + _docs.CONVNET
        + _docs.CONVNET_SOLVER
        + """
"""
        + _docs.CLASSIFIER
        + "\n"
        + _docs.REGULARISERS
        + "\n"
        + _docs.BAGGING
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    input_shape_ : tuple of (int, int, int)
        The ``(C, H, W)`` shape of one sample, as the network sees it.

"""
        + _docs.ATTRIBUTES
        + """
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        With ``oob_score=True``: out-of-bag class probabilities (NaN for rows that
        every member saw).

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.
    ConvNetRegressor : The same network for image regression.

    Notes
    -----
"""
        + _docs.CONVNET_NOTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sknn_backprop import ConvNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X[:600] / 16, y[:600], random_state=0)
    >>> clf = ConvNetClassifier(conv_filters=(8,), hidden_layer_sizes=(32,),
    ...                         max_iter=15, random_state=0)
    >>> clf.fit(X_train, y_train).input_shape_
    (1, 8, 8)
    >>> clf.score(X_test, y_test) > 0.9
    True
    >>> clf.model_
    nn.Sequential {
      [input -> (1) -> (2) -> (3) -> (4) -> (5) -> (6) -> (7) -> (8) -> output]
      (1): nn.Conv2d(1 -> 8, 3x3, pad 1)
      (2): nn.ReLU
      (3): nn.MaxPool2d(2x2)
      (4): nn.Flatten
      (5): nn.Linear(128 -> 32)
      (6): nn.ReLU
      (7): nn.Linear(32 -> 10)
      (8): nn.Softmax
    }
    """
    )

    _parameter_constraints: dict = {
        **BaseNeuralNetwork._parameter_constraints,
        **_ConvNetwork._convnet_constraints,
        **BaggingMixin._bagging_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(
        self,
        conv_filters=(16, 32),
        kernel_size=3,
        pool_size=2,
        padding="same",
        hidden_layer_sizes=(200,),
        input_shape=None,
        augment_shift=0,
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size=32,
        learning_rate="constant",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter=20,
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
        loss="log_loss",
        class_weight=None,
        dropout=0.0,
        input_dropout=0.0,
        l1_ratio=0.0,
        max_norm=None,
        clip_grad_norm=None,
        input_noise=0.0,
        adversarial_eps=0.0,
        activity_l1=0.0,
        weight_init="glorot_uniform",
        early_stopping_metric="score",
        schedule_adam=False,
        batch_norm=False,
        rho=0.9,
        n_estimators=1,
        max_samples=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())


class ConvNetRegressor(
    _ConvNetwork, RegressorNetworkMixin, BaggingMixin, RegressorMixin, BaseNeuralNetwork
):
    __doc__ = (
        """Convolutional neural network regressor for images (or 1-D signals).

    The network of :class:`ConvNetClassifier` (``conv_filters`` blocks of
    ``Conv2d -> activation -> MaxPool2d``, then the dense hidden layers) with
    :class:`MLPRegressor`'s output and losses: one identity output per target
    column (an exponential one for ``loss='poisson'``), multi-output ``y``
    included.  Same defaults and training as :class:`ConvNetClassifier`.

    Parameters
    ----------
"""
        + _docs.CONVNET
        + _docs.CONVNET_SOLVER
        + """
"""
        + _docs.REGRESSION_LOSS
        + _docs.HUBER_DELTA
        + _docs.REGULARISERS
        + "\n"
        + _docs.BAGGING
        + """
    Attributes
    ----------
    input_shape_ : tuple of (int, int, int)
        The ``(C, H, W)`` shape of one sample, as the network sees it.

"""
        + _docs.ATTRIBUTES
        + """
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        With ``oob_score=True``: out-of-bag predictions (NaN for rows every member saw).

    See Also
    --------
    ConvNetClassifier : The same network for image classification.
    MLPRegressor : Multi-layer perceptron regressor.

    Notes
    -----
"""
        + _docs.CONVNET_NOTES
        + """
    Examples
    --------
    Find a bright spot in 8x8 images: regress its (row, column) position.

    >>> import numpy as np
    >>> from sknn_backprop import ConvNetRegressor
    >>> y = np.random.default_rng(0).uniform(1, 7, size=(300, 2))
    >>> r = np.arange(8)
    >>> X = np.exp(-(r[:, None] - y[:, :1, None]) ** 2 - (r - y[:, 1:, None]) ** 2)
    >>> X.shape
    (300, 8, 8)
    >>> reg = ConvNetRegressor(conv_filters=(8,), hidden_layer_sizes=(32,),
    ...                        random_state=0).fit(X[:200], y[:200])
    >>> reg.predict(X[200:]).shape
    (100, 2)
    >>> reg.score(X[200:], y[200:]) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseNeuralNetwork._parameter_constraints,
        **_ConvNetwork._convnet_constraints,
        **BaggingMixin._bagging_constraints,
        **RegressorNetworkMixin._regressor_constraints,
    }

    def __init__(
        self,
        conv_filters=(16, 32),
        kernel_size=3,
        pool_size=2,
        padding="same",
        hidden_layer_sizes=(200,),
        input_shape=None,
        augment_shift=0,
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size=32,
        learning_rate="constant",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter=20,
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
        loss="squared_error",
        dropout=0.0,
        input_dropout=0.0,
        l1_ratio=0.0,
        max_norm=None,
        clip_grad_norm=None,
        input_noise=0.0,
        adversarial_eps=0.0,
        activity_l1=0.0,
        weight_init="glorot_uniform",
        early_stopping_metric="score",
        schedule_adam=False,
        batch_norm=False,
        rho=0.9,
        huber_delta=1.0,
        n_estimators=1,
        max_samples=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())
