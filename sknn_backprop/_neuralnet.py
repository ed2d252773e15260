"""``NeuralNetClassifier`` and ``NeuralNetRegressor``: any ``nn`` network as an estimator.

The user's ``module`` (an ``nn.Module``, a callable ``module(n_features,
n_outputs)`` or ``None`` for a small default MLP) is copied into ``module_`` and
trained by the same core as every other estimator.  The output layer is
chosen from the module's last layer and the targets:

=======================  ==============================  ===========================
module ends in           classifier trains               predicts
=======================  ==============================  ===========================
``Softmax``              cross-entropy on its input      its output
``LogSoftmax``           cross-entropy on its input      ``Softmax`` of its input
``Sigmoid``              binary cross-entropy on input   its output
anything else (logits)   + ``Softmax`` / ``Sigmoid``     the appended layer's output
=======================  ==============================  ===========================

A regressor's module output is the prediction (``criterion='poisson'``: its log).
"""

import copy

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from . import _docs, nn
from ._bagging import BaggingMixin
from ._base import BaseNeuralNetwork, store_params
from ._classifier import ClassifierNetworkMixin
from ._pretrain import PretrainMixin
from ._regressor import RegressorNetworkMixin

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

#: hyperparameters of the built-in architectures, which a user's module replaces
_ARCHITECTURE = ("activation", "dropout", "input_dropout", "weight_init", "batch_norm")
_OUTPUTS = (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)
#: the hidden activations that ``activity_l1`` places an ``nn.L1Penalty`` after
_HIDDEN_ACTIVATIONS = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.Abs)


def _chain(module):
    """The modules of ``module`` in order (a ``Sequential``'s nested chains opened)."""
    return module.flattened() if isinstance(module, nn.Sequential) else [module]


def default_module(n_features, n_outputs, hidden=100):
    """The default network: ``Linear(n_features, 100) -> ReLU -> Linear(100, n_outputs)``.

    The same layers, in the same order, as a default ``MLPClassifier`` /
    ``MLPRegressor``, so the same ``random_state`` gives the same weights.
    """
    return nn.Sequential(
        nn.Linear(n_features, hidden, init=nn.init.GlorotUniform()),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, n_outputs, init=nn.init.GlorotUniform()),
    )


class _UserNetwork:
    """Builds ``module_`` and ``model_`` from the ``module`` parameter."""

    def _make_module(self, n_features, n_outputs):
        module = self.module
        if module is None:
            return default_module(n_features, n_outputs)
        if isinstance(module, nn.Module):
            return copy.deepcopy(module)  # fit never modifies the module passed in
        if callable(module):
            built = module(n_features, n_outputs)
            if not isinstance(built, nn.Module):
                raise TypeError(
                    "module must return an nn.Module when called as module(n_features, "
                    f"n_outputs), got {type(built).__name__}."
                )
            return copy.deepcopy(built)  # a factory may hand out the same network twice
        raise TypeError(
            "module must be an nn.Module, a callable module(n_features, n_outputs) "
            f"returning one, or None; got {type(module).__name__}."
        )

    def _output_width(self, n_features, n_outputs):
        """Values per sample that the module outputs (from one eval-mode row)."""
        module = self.module if isinstance(self.module, nn.Module) else None
        if module is None:
            module = self._make_module(n_features, n_outputs)
        return _probe_widths(_chain(module), n_features, np.float64)[0]

    def _build_network(self, n_features, n_outputs, rng, dtype):
        module = self._make_module(n_features, n_outputs).astype(dtype)
        if not (self.warm_start and isinstance(self.module, nn.Module)):
            module.reset_parameters(rng)  # drawn afresh from random_state
        leaves = _chain(module)
        width, self._widest = _probe_widths(leaves, n_features, dtype)
        if width == 1 and isinstance(leaves[-1], (nn.Softmax, nn.LogSoftmax)):
            raise ValueError(
                f"module ends in a one-unit nn.{type(leaves[-1]).__name__}, whose output is "
                "constant: give it two units for two classes, or end in nn.Sigmoid or a Linear."
            )
        if width != n_outputs:
            raise ValueError(
                f"module outputs {width} values per sample, but the targets need "
                f"{n_outputs} ({self._targets_word()})."
            )
        self.module_ = module
        leaves = _with_activity_penalty(leaves, self.activity_l1)
        if isinstance(self.criterion, nn.Criterion):
            # the user's criterion sees the module's own output (fit trains a copy of it);
            # a layer appended after it turns that output into predictions
            self.criterion_ = copy.deepcopy(self.criterion)
            leaves = leaves + [self._prediction_layer(leaves[-1])]
            noise = [nn.GaussianNoise(self.input_noise)] if self.input_noise > 0 else []
            return nn.Sequential(*noise, *leaves)
        output = self._output_module(leaves[-1])
        if output is not leaves[-1]:
            keep = leaves[:-1] if isinstance(leaves[-1], _OUTPUTS) else leaves
            leaves = keep + [output]
        noise = [nn.GaussianNoise(self.input_noise)] if self.input_noise > 0 else []
        return nn.Sequential(*noise, *leaves)

    def _prediction_layer(self, last):  # pragma: no cover - defined by each estimator
        raise NotImplementedError

    def _criterion_spec(self):
        """``_output_spec`` for a criterion object: the appended layer, the criterion, fused."""
        out = self.model_.modules[-1] if "model_" in self.__dict__ else nn.Identity()
        return out, self.__dict__.get("criterion_", self.criterion), True

    def _probability_module(self):
        """The layer whose output the predictions are (the user's, before an Identity)."""
        mods = self.model_.modules
        custom = isinstance(self.criterion, nn.Criterion) and isinstance(mods[-1], nn.Identity)
        return mods[-2] if custom and len(mods) > 1 else mods[-1]

    def _prepare_X(self, X):
        if sp.issparse(X) and not isinstance(self.model_.modules[0], nn.Linear):
            return X.toarray()  # reshapes and convolutions want dense arrays
        return X

    def _widest_hidden(self):
        return getattr(self, "_widest", 0)


def _with_activity_penalty(leaves, l1weight):
    """``leaves`` with an ``nn.L1Penalty`` after every hidden activation (not the last layer)."""
    if l1weight == 0:
        return leaves
    out = []
    for i, m in enumerate(leaves):
        out.append(m)
        if i < len(leaves) - 1 and isinstance(m, _HIDDEN_ACTIVATIONS):
            out.append(nn.L1Penalty(l1weight, size_average=True))
    if len(out) == len(leaves):
        raise ValueError(
            f"activity_l1={l1weight} needs a hidden activation to penalise (one of "
            f"{', '.join(c.__name__ for c in _HIDDEN_ACTIVATIONS)} before the last layer), "
            "but the module has none."
        )
    return out


def _probe_widths(leaves, n_features, dtype):
    """``(output width, widest activation)`` in values per sample, from one zero row."""
    x = np.zeros((1, n_features), dtype=dtype)
    widest = 0
    for i, m in enumerate(leaves):
        n_in = getattr(m, "n_in", None) if isinstance(m, nn.Linear) else None
        if n_in is not None and x.ndim == 2 and x.shape[1] != n_in:
            got = (
                f"X has {n_features} features"
                if i == 0
                else f"it gets {x.shape[1]} values per sample from X's {n_features} features"
            )
            raise ValueError(
                f"The module's layer {i}, {m!r}, expects {n_in} input features, but {got}: "
                "build the module for the data's width, or pass a callable "
                "module(n_features, n_outputs)."
            )
        try:
            x = m.infer(x)
        except ValueError as exc:  # another layer that cannot take what reaches it
            raise ValueError(
                f"The module cannot take X with {n_features} features: its layer {i}, "
                f"{m!r}, gets input of shape {x.shape[1:]} per sample ({exc})"
            ) from exc
        widest = max(widest, x[0].size)
    return x[0].size, widest


class NeuralNetClassifier(
    _UserNetwork,
    ClassifierNetworkMixin,
    PretrainMixin,
    BaggingMixin,
    ClassifierMixin,
    BaseNeuralNetwork,
):
    __doc__ = (
        """Any ``nn`` network as a scikit-learn classifier.

    ``module`` is trained by the same core as :class:`MLPClassifier`, with every
    training hyperparameter of the MLPs: solvers and schedules, penalties,
    early stopping, class and sample weights, clipping, max-norm, adversarial
    training, input noise, bagging, ``warm_start``, ``partial_fit`` and
    callbacks.  ``fit`` never changes ``module``: it trains a copy,
    ``module_``, whose parameters are drawn afresh from ``random_state`` by each
    layer's own initialiser (unless ``warm_start=True``, which starts from the
    module's own weights).

    Parameters
    ----------
    module : nn.Module, callable or None, default=None
        The network: an ``nn.Module`` mapping ``(n_samples, n_features)`` rows to
        one value per class (one for two classes, or two with a ``Softmax``);
        a callable ``module(n_features, n_outputs)`` returning one, so the
        network can follow the width of the data; or ``None`` for
        ``Linear(n_features, 100) -> ReLU -> Linear(100, n_outputs)``, the
        default ``MLPClassifier``'s network.  A module that ends in ``Softmax``,
        ``LogSoftmax`` or ``Sigmoid`` is trained with the matching
        cross-entropy on that layer's input; any other last layer gives logits,
        and a ``Softmax`` (multiclass) or ``Sigmoid`` (binary, multilabel)
        output layer is appended.

    criterion : {'log_loss', 'squared_error'}, nn.Criterion or None, default=None
        The loss: cross-entropy (``None`` or 'log_loss'), or the lecture's
        squared error on sigmoid outputs (one per class; a last ``Softmax`` or
        ``LogSoftmax`` is replaced by the sigmoids).  Or any of the engine's
        criteria, e.g. ``nn.CrossEntropyCriterion()`` on logits or
        ``nn.ClassNLLCriterion()`` after a ``LogSoftmax``: ``fit`` trains a copy,
        ``criterion_``, on the module's own output against one-hot rows (a
        single 0/1 column for two classes, unless the module outputs two); the
        predicted probabilities are the module's output when it ends in
        ``Softmax`` or ``Sigmoid``, its ``exp`` after ``LogSoftmax``, else the
        ``Softmax`` (``Sigmoid`` for one column) of it.

"""
        + _docs.SOLVER
        + """
"""
        + _docs.CLASS_WEIGHT
        + "\n"
        + _docs.NETWORK_REGULARISERS
        + "\n"
        + _docs.PRETRAIN
        + _docs.BAGGING
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    module_ : nn.Module
        The trained copy of ``module`` (its layers are those of ``model_``).

    criterion_ : nn.Criterion
        The copy of ``criterion`` that ``fit`` trained with (only when
        ``criterion`` is an ``nn.Criterion``).

"""
        + _docs.ATTRIBUTES
        + """
    See Also
    --------
    NeuralNetRegressor : Any ``nn`` network as a regressor.
    MLPClassifier : The same core with a network built from hyperparameters.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn_backprop import NeuralNetClassifier, nn
    >>> X, y = load_digits(return_X_y=True)
    >>> net = nn.Sequential()  # the lecture's Torch7 listing, for 8x8 images
    >>> net = net.add(nn.Reshape(1, 8, 8)).add(nn.Conv2d(1, 8, 3, padding=1)).add(nn.ReLU())
    >>> net = net.add(nn.MaxPool2d(2)).add(nn.Reshape(8 * 4 * 4)).add(nn.Linear(128, 32))
    >>> net = net.add(nn.ReLU()).add(nn.Linear(32, 10)).add(nn.LogSoftmax())
    >>> clf = NeuralNetClassifier(net, batch_size=32, max_iter=15, random_state=0)
    >>> clf.fit(X[:450] / 16, y[:450]).score(X[450:600] / 16, y[450:600]) > 0.85
    True
    """
    )

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in BaseNeuralNetwork._parameter_constraints.items()
            if k not in _ARCHITECTURE
        },
        "module": [None, nn.Module, callable],
        **PretrainMixin._pretrain_constraints,
        **BaggingMixin._bagging_constraints,
        "criterion": [None, StrOptions({"log_loss", "squared_error"}), nn.Criterion],
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(
        self,
        module=None,
        criterion=None,
        *,
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
        class_weight=None,
        l1_ratio=0.0,
        max_norm=None,
        clip_grad_norm=None,
        input_noise=0.0,
        adversarial_eps=0.0,
        activity_l1=0.0,
        early_stopping_metric="score",
        schedule_adam=False,
        rho=0.9,
        pretrain=False,
        pretrain_max_iter=20,
        pretrain_noise=0.1,
        n_estimators=1,
        max_samples=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())

    # the classifier behaviour reads ``loss``; here it is ``criterion`` (an nn.Criterion
    # object counts as 'log_loss' there: it trains the module's output, see _build_network)
    @property
    def loss(self):
        if isinstance(self.criterion, nn.Criterion):
            return "log_loss"
        return self.criterion or "log_loss"

    def _prediction_layer(self, last):
        """After a criterion object: probabilities from the module's output."""
        if isinstance(last, (nn.Softmax, nn.Sigmoid)):
            return nn.Identity()  # already probabilities
        if isinstance(last, nn.LogSoftmax):
            return nn.Exp()  # log-probabilities
        two = getattr(self, "_two_column_binary", False)
        return nn.Softmax() if (self._multiclass() or two) else nn.Sigmoid()

    def _targets_word(self):
        return f"{len(self.classes_)} classes"

    def _data_state(self):
        state = super()._data_state()
        if "_two_column_binary" in self.__dict__:
            state["_two_column_binary"] = self._two_column_binary
        return state

    def _validate_targets(self, y, incremental, reset):
        Y = super()._validate_targets(y, incremental, reset)
        if reset:
            one = Y.ndim == 2 and Y.shape[1] == 1
            self._two_column_binary = one and self._output_width(self.n_features_in_, 1) == 2
        if getattr(self, "_two_column_binary", False) and Y.shape[1] == 1:
            Y = np.hstack([~Y, Y])  # a two-unit softmax for two classes
        return Y

    def _output_module(self, last):
        if self.loss == "squared_error":
            return nn.Sigmoid()
        if isinstance(last, (nn.Softmax, nn.Sigmoid)):
            return last
        if isinstance(last, nn.LogSoftmax):
            return nn.Softmax()  # the same loss, fused; predictions are probabilities
        two = getattr(self, "_two_column_binary", False)
        return nn.Softmax() if (self._multiclass() or two) else nn.Sigmoid()

    def _output_spec(self):
        if isinstance(self.criterion, nn.Criterion):
            return self._criterion_spec()
        out = self.model_.modules[-1] if hasattr(self, "model_") else None
        if self.loss == "squared_error":
            return nn.Sigmoid(), nn.MSECriterion(), False
        if isinstance(out, nn.Softmax) or (out is None and self._multiclass()):
            return nn.Softmax(), nn.CrossEntropyCriterion(), True
        return nn.Sigmoid(), nn.BCEWithLogitsCriterion(), True

    def _out_activation_name(self):
        out = self._probability_module()
        return "softmax" if isinstance(out, (nn.Softmax, nn.Exp)) else "logistic"

    def _decode(self, raw):
        if getattr(self, "_two_column_binary", False):
            raw = raw[:, 1]
        return super()._decode(raw)

    def _normalises_sigmoids(self):
        net = self.estimators_[0] if "estimators_" in self.__dict__ else self
        sigmoids = isinstance(net._probability_module(), nn.Sigmoid)
        multilabel = self._label_binarizer.y_type_.startswith("multilabel")
        return sigmoids and self.n_outputs_ > 1 and not multilabel


class NeuralNetRegressor(
    _UserNetwork,
    RegressorNetworkMixin,
    PretrainMixin,
    BaggingMixin,
    RegressorMixin,
    BaseNeuralNetwork,
):
    __doc__ = (
        """Any ``nn`` network as a scikit-learn regressor.

    ``module`` is trained by the same core as :class:`MLPRegressor`, with every
    training hyperparameter of the MLPs (see :class:`NeuralNetClassifier`).

    Parameters
    ----------
    module : nn.Module, callable or None, default=None
        The network: an ``nn.Module`` mapping ``(n_samples, n_features)`` rows to
        ``(n_samples, n_outputs)`` predictions; a callable
        ``module(n_features, n_outputs)`` returning one; or ``None`` for
        ``Linear(n_features, 100) -> ReLU -> Linear(100, n_outputs)``, the
        default ``MLPRegressor``'s network.

    criterion : {'squared_error', 'absolute_error', 'huber', 'poisson'} or None, \
default=None
        The loss: half the mean squared error (``None``), the mean absolute
        error, Huber's loss (``huber_delta``), or the half Poisson deviance with
        the module's output as the log of the mean (an ``Exp`` output layer is
        appended; ``y >= 0``).  The same losses as :class:`MLPRegressor`'s
        ``loss``.  Or any of the engine's criteria (``nn.SmoothL1Criterion()``,
        ``nn.MSECriterion()``, ...): ``fit`` trains a copy, ``criterion_``, on
        the module's output, which is the prediction.

"""
        + _docs.HUBER_DELTA
        + _docs.SOLVER
        + "\n"
        + _docs.NETWORK_REGULARISERS
        + "\n"
        + _docs.PRETRAIN
        + _docs.BAGGING
        + """
    Attributes
    ----------
    module_ : nn.Module
        The trained copy of ``module`` (its layers are those of ``model_``).

    criterion_ : nn.Criterion
        The copy of ``criterion`` that ``fit`` trained with (only when
        ``criterion`` is an ``nn.Criterion``).

"""
        + _docs.ATTRIBUTES
        + """
    See Also
    --------
    NeuralNetClassifier : Any ``nn`` network as a classifier.
    MLPRegressor : The same core with a network built from hyperparameters.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import NeuralNetRegressor, nn
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = X @ [1.0, -2.0, 0.5]
    >>> net = lambda n_in, n_out: nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(),
    ...                                         nn.Linear(16, n_out))
    >>> reg = NeuralNetRegressor(net, solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """
    )

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in BaseNeuralNetwork._parameter_constraints.items()
            if k not in _ARCHITECTURE
        },
        "module": [None, nn.Module, callable],
        **PretrainMixin._pretrain_constraints,
        **BaggingMixin._bagging_constraints,
        "criterion": [None, *RegressorNetworkMixin._regressor_constraints["loss"], nn.Criterion],
        "huber_delta": RegressorNetworkMixin._regressor_constraints["huber_delta"],
    }

    def __init__(
        self,
        module=None,
        criterion=None,
        *,
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
        l1_ratio=0.0,
        max_norm=None,
        clip_grad_norm=None,
        input_noise=0.0,
        adversarial_eps=0.0,
        activity_l1=0.0,
        early_stopping_metric="score",
        schedule_adam=False,
        rho=0.9,
        huber_delta=1.0,
        pretrain=False,
        pretrain_max_iter=20,
        pretrain_noise=0.1,
        n_estimators=1,
        max_samples=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())

    @property
    def loss(self):
        if isinstance(self.criterion, nn.Criterion):
            return "squared_error"  # (the regressor behaviour's default; the object trains)
        return self.criterion or "squared_error"

    def _prediction_layer(self, last):
        """After a criterion object: the module's output is the prediction."""
        return nn.Identity()

    def _output_spec(self):
        if isinstance(self.criterion, nn.Criterion):
            return self._criterion_spec()
        return super()._output_spec()

    def _targets_word(self):
        return "one per target column"

    def _output_module(self, last):
        return nn.Exp() if self.loss == "poisson" else nn.Identity()
