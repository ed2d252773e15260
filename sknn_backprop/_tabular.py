"""``TabularMLPClassifier`` and ``TabularMLPRegressor``: strong defaults on raw tables.

Presets over the shared base, like the MLPs, with three differences:

- ``_validate_input`` encodes the raw table with :class:`TabularEncoder`
  (``_tabular_preprocessing.py``): DataFrames with numeric, categorical, string,
  bool columns and NaN, numpy arrays and sparse matrices;
- the network and its schedule come from ``_tabular_network.py``;
- the defaults are chosen to win on real tables (``docs/tabular.rst`` has the
  measurements), not to match scikit-learn's MLP.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_y, check_consistent_length

from ._bagging import BaggingMixin
from ._base import BaseNeuralNetwork, store_params
from ._classifier import ClassifierNetworkMixin
from ._network import positive_ints
from ._regressor import RegressorNetworkMixin
from ._tabular_network import ACTIVATIONS, LearningRateSchedule, tabular_front, tabular_network
from ._tabular_preprocessing import TabularEncoder

__all__ = ["TabularMLPClassifier", "TabularMLPRegressor"]


class _TabularMLP:
    """What both tabular estimators share: input encoding, network, schedule."""

    #: a warm start runs a new schedule, and early stopping looks for its best epoch
    _warm_start_restarts_stopping = True

    # -- the base's training settings that these estimators fix (not parameters)
    solver = "adamw"
    learning_rate = "constant"  # the schedule is ``lr_schedule`` (a control)
    schedule_adam = False
    power_t = 0.5
    momentum = 0.9
    nesterovs_momentum = True
    rho = 0.9
    max_fun = 15000
    l1_ratio = 0.0
    max_norm = None
    input_noise = 0.0
    input_dropout = 0.0
    adversarial_eps = 0.0
    activity_l1 = 0.0
    batch_norm = False
    early_stopping_metric = "loss"

    _tabular_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"constant", "cosine", "coslog4"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "numeric_embedding": ["boolean"],
        "front_scale": ["boolean"],
        "max_categories": [Interval(Integral, 2, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "controls": [None, list, tuple],
        **BaggingMixin._bagging_constraints,
    }

    # ------------------------------------------------------------- the input
    def _validate_input(self, X, y, incremental, reset):
        """Encode the raw table (fitting the encoder on a first pass) and check ``y``."""
        _check_feature_names(self, X, reset=reset)
        if reset:
            encoder = TabularEncoder(max_categories=self.max_categories, dtype=self.dtype)
            encoder._owner = type(self).__name__
            Xt = encoder.fit_transform(X)
            self.encoder_ = encoder
            self.n_features_in_ = encoder.n_features_in_
        else:
            Xt = self.encoder_.transform(X)
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the "
                "target y is None."
            )
        y = _check_y(y, multi_output=True, y_numeric=not is_classifier(self), estimator=self)
        check_consistent_length(Xt, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return Xt, y

    def _check_X_predict(self, X):
        _check_feature_names(self, X, reset=False)
        return self.encoder_.transform(X)

    # ----------------------------------------------------------- the network
    def _hidden_sizes(self):
        return positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _widest_hidden(self):
        return max(self._hidden_sizes())

    def _build_network(self, n_features, n_outputs, rng, dtype):
        out_module, _, _ = self._output_spec()
        front, width = tabular_front(
            n_features,
            self.encoder_.n_numeric_out_,
            self.numeric_embedding,
            self.front_scale,
            rng,
            dtype,
        )
        return tabular_network(
            front,
            width,
            self._hidden_sizes(),
            self.activation,
            self.dropout,
            out_module,
            n_outputs,
            rng,
            dtype,
        )

    def _preset_controls(self, incremental):
        """The learning-rate schedule of this call (a new one for each ``fit``)."""
        if incremental or self.lr_schedule == "constant":
            return []  # partial_fit: one epoch at a time, at learning_rate_init
        return [LearningRateSchedule(self.lr_schedule, self.max_iter)]

    def _data_state(self):
        state = super()._data_state()
        for name in self._member_state:  # what a bagging member needs of the ensemble's fit
            if name in self.__dict__:
                state[name] = self.__dict__[name]
        return state

    def _check_solver(self):
        """``partial_fit`` needs ``early_stopping=False`` (it trains one epoch, unvalidated)."""
        if self.early_stopping:
            raise AttributeError(
                "partial_fit is only available with early_stopping=False (it trains one "
                "epoch on the data it is given, with no held-out split)."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        return tags


_COMMON_DOC = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(256, 256, 256)
        The width of each hidden layer.

    activation : {'selu', 'mish', 'relu', 'tanh'}, default=$activation
        Activation of the hidden layers.

    dropout : float, default=$dropout
        Dropout rate after each hidden activation.

    alpha : float, default=$alpha
        AdamW's decoupled weight decay: each step multiplies the weights (not
        the biases) by ``1 - lr * alpha``.

    batch_size : int or 'auto', default='auto'
        Rows per minibatch; 'auto' is ``min(200, n_samples)``.

    learning_rate_init : float, default=$learning_rate_init
        The peak learning rate of AdamW.

    lr_schedule : {'coslog4', 'cosine', 'constant'}, default=$lr_schedule
        The learning rate over the ``max_iter`` epochs: 'cosine' decays from
        ``learning_rate_init`` to 0; 'coslog4' (RealMLP's) rises from 0 and falls
        back four times, each cycle longer; 'constant' keeps it.  With a
        schedule, training ends after ``max_iter`` epochs as planned (no
        ``ConvergenceWarning``).

    max_iter : int, default=$max_iter
        Number of epochs (the length of the schedule).

    beta_1, beta_2 : float, default=0.9, 0.95
        AdamW's moment decays (``beta_2=0.95`` as RealMLP).

    epsilon : float, default=1e-8
        AdamW's numerical stabiliser.

    early_stopping : bool, default=True
        Measure the loss on held-out rows after every epoch, stop after
        ``n_iter_no_change`` epochs without improvement, and restore the weights
        of the best epoch (RealMLP's best-epoch selection).  The held-out rows
        are a bagging member's out-of-bag rows (with the defaults, the 20% of
        rows that each of the two members does not train on), else
        ``validation_fraction`` of the rows.  ``partial_fit`` needs it off.

    validation_fraction : float, default=0.2
        The share of rows held out (stratified for classification), with
        ``early_stopping`` and no out-of-bag rows.

    n_iter_no_change : int, default=$n_iter_no_change
        Patience of early stopping, in epochs (with ``early_stopping``).

    tol : float, default=0.0
        Minimum improvement of the validation loss that resets the patience.

    clip_grad_norm : float, default=None
        Rescale each minibatch gradient to at most this Euclidean norm.

    numeric_embedding : bool, default=True
        Periodic embeddings of the numeric columns (``nn.PeriodicEmbedding``,
        RealMLP's "PBLD": 16 learned frequencies per column, 3 outputs plus the
        value itself) before the first hidden layer.

    front_scale : bool, default=True
        A learned scale per input of the first hidden layer (``nn.Scale``,
        RealMLP's scaling layer, with its learning-rate factor 6).

    max_categories : int, default=64
        At most this many categories of a categorical column are one-hot encoded
        (the most frequent ones); rarer ones are treated as unseen.

    dtype : {'float32', 'float64'}, default='float32'
        The precision of the network and its training.

    shuffle : bool, default=True
        Shuffle the rows before each epoch.

    random_state : int, RandomState instance, default=None
        Seeds the initial weights, the validation split, the minibatches,
        the dropout masks and bagging's resamples.

    verbose : bool, default=False
        Print the loss of each epoch.

    warm_start : bool, default=False
        Continue from the current weights on the next ``fit`` (same encoder,
        a new schedule, and early stopping looks for the best epoch of that
        schedule).

    n_estimators : int, default=2
        Train this many networks, each on its own draw of ``max_samples`` rows
        (without replacement unless ``bootstrap``), and average their outputs.
        With the defaults (2 members, 80% of the rows each, ``early_stopping``)
        each member chooses its best epoch on the 20% it did not train on;
        the two draws are independent, so together they train on about 96%
        of the rows.  In ``docs/tabular.rst`` (round 5) this ranked level with
        one network on every row for the whole schedule, with a higher mean
        score and a worse log-loss, at 1.6x its CPU time.  ``n_estimators=1``
        gives one network (``model_``, ``loss_curve_``); a bagged model keeps
        them per member, in ``estimators_``.  A table too small to hold rows
        out (a member with fewer than 2 rows out of its draw and too few to
        split) trains that member for its whole schedule.

    max_samples : int or float, default=0.8
        Rows drawn per member (a fraction of ``n_samples`` if a float).

    bootstrap : bool, default=False
        Draw the members' rows with replacement.

    oob_score : bool, default=False
        Score each row with the members that did not see it (``oob_score_``).
        With the defaults only about a third of the rows are out of some
        member's draw (a warning says so), and each member chose its best
        epoch on those rows: the score is optimistic.

    n_jobs : int, default=None
        Members trained in parallel (joblib).

    controls : list of sknn_backprop.training.Control, default=None
        Extra training controls, run after the built-in ones.
"""


def _common_doc(**defaults):
    from string import Template

    return Template(_COMMON_DOC).substitute(defaults)


_ATTRIBUTES_DOC = """\
    encoder_ : TabularEncoder
        The fitted frame encoder (numeric scaling, categories, missing indicators).

    n_features_in_ : int
        Number of columns seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during ``fit`` (DataFrames with string names only).

    model_ : nn.Sequential
        The trained network (its input is ``encoder_.transform(X)``), with
        ``n_estimators=1`` (else per member, see ``estimators_``).

    coefs_, intercepts_ : list of ndarray
        The weights and biases of each ``Linear`` layer, scikit-learn's layout.

    loss_ : float
        Training loss of the last epoch.

    loss_curve_ : list of float
        Training loss of each epoch.

    validation_loss_curve_ : list of float or None
        Validation loss of each epoch (with ``early_stopping``).

    validation_scores_ : list of float or None
        Validation score (accuracy or R^2) of each epoch (with ``early_stopping``).

    best_validation_loss_ : float or None
        The best validation loss: that epoch's weights are the model's.

    best_validation_score_ : float or None
        The validation score of that epoch.

    best_loss_ : float or None
        Best training loss (without ``early_stopping``).

    n_iter_ : int
        Epochs run by the last ``fit``.

    t_ : int
        Training rows seen.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs of the network.

    out_activation_ : str
        Name of the output activation.

    diverged_ : bool
        Whether training diverged (the last finite weights were restored).

    controls_ : list
        The controls used by the last fit (the schedule and copies of ``controls``).

    estimators_ : list of estimators
        With ``n_estimators > 1`` (the default): the members.  Each has its own
        network attributes (``model_``, ``coefs_``, ``intercepts_``,
        ``controls_``, ``validation_loss_curve_``, ``validation_scores_``); the
        ensemble has the encoder and input attributes, ``loss_`` and
        ``loss_curve_`` (the members' mean, cut to the shortest), ``n_iter_``
        (the longest member's), ``t_`` (the sum) and ``best_*`` (the members'
        mean, each measured on its own held-out rows), and its
        ``validation_loss_curve_`` and ``validation_scores_`` are None.

    oob_score_ : float
        With ``oob_score=True``: out-of-bag score.
"""


class TabularMLPClassifier(
    _TabularMLP, ClassifierNetworkMixin, BaggingMixin, ClassifierMixin, BaseNeuralNetwork
):
    __doc__ = (
        """A neural-network classifier for raw tables, with defaults chosen to win.

    Takes what ``HistGradientBoostingClassifier(categorical_features="from_dtype")``
    takes -- a DataFrame with numeric, ``category``, string, object and ``bool``
    columns, NaN anywhere and categories unseen in ``fit`` -- and numpy arrays
    and sparse matrices.  Numeric columns are scaled robustly and clipped
    smoothly, categorical ones one-hot encoded, missing values imputed and
    flagged (:class:`TabularEncoder`).  The network and its training follow
    RealMLP-TD (Holzmüller et al., 2024) where it measurably helps here: three
    hidden layers of 256 SELU units with dropout, AdamW with ``beta_2=0.95``,
    a cosine learning-rate schedule and label smoothing, and each of two
    networks keeps its best epoch by the loss on the 20% of rows it did not
    train on (together they train on about 96% of the rows).
    ``docs/tabular.rst`` has the measurements.

    Parameters
    ----------
"""
        + _common_doc(
            activation="'selu'",
            dropout="0.15",
            alpha="0.01",
            learning_rate_init="0.002",
            lr_schedule="'cosine'",
            max_iter="64",
            n_iter_no_change="16",
        )
        + """
    label_smoothing : float, default=0.1
        Train on targets ``(1 - label_smoothing) y + label_smoothing / n_classes``
        (two classes for a binary or multilabel output column).

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss, as scikit-learn's.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    TabularMLPRegressor : The regressor.
    MLPClassifier : scikit-learn's MLP, a drop-in.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sknn_backprop import TabularMLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=300),
    ...                   "colour": pd.Categorical(rng.choice(["red", "blue"], 300))})
    >>> X.loc[::10, "x"] = np.nan
    >>> y = (X["x"].fillna(0) + (X["colour"] == "red")) > 0.5
    >>> clf = TabularMLPClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X.head(2)).shape
    (2, 2)
    """
    )

    loss = "log_loss"
    _member_state = ("encoder_",)

    _parameter_constraints: dict = {
        **_TabularMLP._tabular_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256, 256),
        activation="selu",
        *,
        dropout=0.15,
        alpha=0.01,
        batch_size="auto",
        learning_rate_init=0.002,
        lr_schedule="cosine",
        max_iter=64,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=16,
        tol=0.0,
        clip_grad_norm=None,
        numeric_embedding=True,
        front_scale=True,
        max_categories=64,
        dtype="float32",
        label_smoothing=0.1,
        class_weight=None,
        shuffle=True,
        random_state=None,
        verbose=False,
        warm_start=False,
        n_estimators=2,
        max_samples=0.8,
        bootstrap=False,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())

    def _output_spec(self):
        out, criterion, fused = super()._output_spec()
        if self.label_smoothing:
            criterion = type(criterion)(label_smoothing=self.label_smoothing)
        return out, criterion, fused


class TabularMLPRegressor(
    _TabularMLP, RegressorNetworkMixin, BaggingMixin, RegressorMixin, BaseNeuralNetwork
):
    __doc__ = (
        """A neural-network regressor for raw tables, with defaults chosen to win.

    The input handling and the network of :class:`TabularMLPClassifier`; the
    targets are standardised for training (``y_mean_``, ``y_scale_``) and the
    predictions mapped back and clipped to the range of the training targets.

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber'}, default='squared_error'
        The loss on the standardised targets.

    huber_delta : float, default=1.0
        Threshold of the Huber loss, in standard deviations of the target.

"""
        + _common_doc(
            activation="'mish'",
            dropout="0.15",
            alpha="0.01",
            learning_rate_init="0.002",
            lr_schedule="'cosine'",
            max_iter="64",
            n_iter_no_change="16",
        )
        + """
    Attributes
    ----------
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        The mean and standard deviation of the training targets.

    y_min_, y_max_ : ndarray of shape (n_outputs,)
        The range of the training targets, to which predictions are clipped.

"""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    TabularMLPClassifier : The classifier.
    MLPRegressor : scikit-learn's MLP, a drop-in.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sknn_backprop import TabularMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=300),
    ...                   "city": rng.choice(["Oslo", "Lyon", None], 300)})
    >>> y = 1000 + 50 * X["x"] + 80 * (X["city"] == "Oslo")
    >>> reg = TabularMLPRegressor(max_iter=30, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **_TabularMLP._tabular_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(256, 256, 256),
        activation="mish",
        *,
        huber_delta=1.0,
        dropout=0.15,
        alpha=0.01,
        batch_size="auto",
        learning_rate_init=0.002,
        lr_schedule="cosine",
        max_iter=64,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=16,
        tol=0.0,
        clip_grad_norm=None,
        numeric_embedding=True,
        front_scale=True,
        max_categories=64,
        dtype="float32",
        shuffle=True,
        random_state=None,
        verbose=False,
        warm_start=False,
        n_estimators=2,
        max_samples=0.8,
        bootstrap=False,
        oob_score=False,
        n_jobs=None,
        controls=None,
    ):
        store_params(self, locals())

    #: clip predictions to the training targets' range (RealMLP's ``clamp_output``)
    _clip_output = True
    #: what bagging members need of the ensemble's fitted state
    _member_state = ("encoder_", "y_mean_", "y_scale_", "y_min_", "y_max_")

    def _validate_targets(self, y, incremental, reset):
        y = super()._validate_targets(y, incremental, reset)
        y = np.asarray(y, dtype=np.float64)
        if reset:
            Y = y.reshape(len(y), -1)
            self.y_mean_ = Y.mean(axis=0)
            scale = Y.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
            self.y_min_, self.y_max_ = Y.min(axis=0), Y.max(axis=0)
        if y.ndim == 1:
            return (y - self.y_mean_[0]) / self.y_scale_[0]
        return (y - self.y_mean_) / self.y_scale_

    def _decode(self, raw):
        out = raw * self.y_scale_ + self.y_mean_
        if self._clip_output:
            out = np.clip(out, self.y_min_, self.y_max_)
        return out.ravel() if out.shape[1] == 1 else out
