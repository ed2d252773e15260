"""Classifier behaviour shared by every classifier preset.

Target encoding (a ``LabelBinarizer``: one column for two classes, one-hot for
more, indicator columns for multilabel ``y``), the output layer and criterion
that go with it, and decoding: ``predict``, ``predict_proba``,
``predict_log_proba`` and ``partial_fit`` with its ``classes``.
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)

from . import nn
from ._warnings import user_warnings

__all__ = ["ClassifierNetworkMixin", "encode_labels"]

#: rows per call of ``LabelBinarizer.transform``, which builds int64 indicators (and a
#: sparse intermediate) before they become booleans: 80+ bytes a row for 10 classes
ENCODE_CHUNK = 8192


def encode_labels(binarizer, y):
    """``binarizer.transform(y)`` as booleans, built in chunks of rows.

    The same array as ``binarizer.transform(y).astype(bool)``, without holding
    the int64 indicators of every row at once (114 MiB for 10^6 rows of 10 classes).
    """
    n = len(y)
    if n <= ENCODE_CHUNK:
        return binarizer.transform(y).astype(bool)
    first = binarizer.transform(y[:ENCODE_CHUNK])
    out = np.empty((n,) + first.shape[1:], dtype=bool)
    out[:ENCODE_CHUNK] = first
    for start in range(ENCODE_CHUNK, n, ENCODE_CHUNK):
        out[start : start + ENCODE_CHUNK] = binarizer.transform(y[start : start + ENCODE_CHUNK])
    return out


class ClassifierNetworkMixin:
    """Target encoding, outputs and predictions shared by the classifiers."""

    _score_function = staticmethod(accuracy_score)

    def _data_state(self):
        state = super()._data_state()
        for name in ("classes_", "_label_binarizer"):
            if name in self.__dict__:
                state[name] = self.__dict__[name]
        return state

    def _validate_targets(self, y, incremental, reset):
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return encode_labels(self._label_binarizer, y)

    def _multiclass(self):
        return self._label_binarizer.y_type_ == "multiclass"

    def _output_spec(self):
        if self.loss == "squared_error":
            # the lecture's 1/2 ||y - sigma(z)||^2: one saturating sigmoid per class
            return nn.Sigmoid(), nn.MSECriterion(), False
        if self._multiclass():
            return nn.Softmax(), nn.CrossEntropyCriterion(), True
        # canonical links: the criteria work on the logits, delta^L = p - y
        return nn.Sigmoid(), nn.BCEWithLogitsCriterion(), True

    def _out_activation_name(self):
        return "softmax" if self._multiclass() and self.loss == "log_loss" else "logistic"

    def _decode(self, raw):
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw.ravel()
        return self._label_binarizer.inverse_transform(raw)

    def predict(self, X):
        """Predict using the network (or the ensemble's averaged probabilities).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_fitted()
        return self._predict(X)

    def predict_proba(self, X):
        """Probability estimates, strictly inside (0, 1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of each class, ordered as ``classes_``.
        """
        self._check_fitted()
        return self._proba(self._raw_predict(self._check_X_predict(X)))

    def _normalises_sigmoids(self):
        """Whether the outputs are one sigmoid per class of a single-label problem, which
        ``predict_proba`` divides by their sum (the ONNX export does the same)."""
        return self.loss == "squared_error" and self._multiclass()

    def _proba(self, p):
        """Network outputs -> class probabilities, strictly inside (0, 1)."""
        if p.shape[1] == 1:
            p = np.hstack([1 - p, p])
        elif self._normalises_sigmoids():
            p /= p.sum(axis=1, keepdims=True)  # independent sigmoids -> a distribution
        # strictly inside (0, 1), so predict_log_proba stays finite
        eps = np.finfo(p.dtype).eps
        return np.clip(p, eps * eps, 1 - eps, out=p)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (finite, since probabilities are clipped).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The log-probability of each class, ordered as ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        One epoch of the stochastic solver over the batch, continuing from the
        current weights and optimizer state.  As in scikit-learn, only the
        stochastic solvers have it: with ``solver='lbfgs'`` the attribute does
        not exist.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            Trained model.
        """
        with self._transaction(incremental=True), user_warnings():
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
            return self._fit_unsafe(X, y, sample_weight, True, (None, None, None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
