"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLPs on the engine.

Each class only says how to build its network, which loss and output layer it
uses and how it encodes targets; training is the shared core's (``_training``).
"""

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from . import _docs
from ._bagging import BaggingMixin
from ._base import BaseNeuralNetwork, store_params
from ._classifier import ClassifierNetworkMixin
from ._network import MLPNetworkMixin
from ._pretrain import PretrainMixin
from ._regressor import RegressorNetworkMixin

__all__ = ["MLPClassifier", "MLPRegressor"]


class MLPClassifier(
    ClassifierNetworkMixin,
    MLPNetworkMixin,
    PretrainMixin,
    BaggingMixin,
    ClassifierMixin,
    BaseNeuralNetwork,
):
    __doc__ = (
        """Multi-layer perceptron classifier, a drop-in superset of scikit-learn's.

    Same parameters, defaults, fitted attributes and behaviour as
    :class:`sklearn.neural_network.MLPClassifier`, trained by the
    ``sknn_backprop.nn`` engine; plus dropout, elastic-net and max-norm
    penalties, gradient clipping, input noise, adversarial training, a choice of
    initialisation, richer early stopping, class weights and bagging.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'abs'}, \
default='relu'
        Activation function for the hidden layers ('leaky_relu' has slope 0.01,
        'abs' is ``|z|``, both from the lecture).

"""
        + _docs.SOLVER
        + """
"""
        + _docs.CLASSIFIER
        + "\n"
        + _docs.REGULARISERS
        + "\n"
        + _docs.PRETRAIN
        + _docs.BAGGING
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

"""
        + _docs.ATTRIBUTES
        + """
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        With ``oob_score=True``: out-of-bag class probabilities (NaN for rows that
        every member saw).

    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor.
    ConvNetClassifier : Convolutional network classifier.

    Examples
    --------
    >>> from sknn_backprop import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
    ...                                                     random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 2)
    >>> clf.score(X_test, y_test) > 0.8
    True
    >>> clf.model_
    nn.Sequential {
      [input -> (1) -> (2) -> (3) -> (4) -> output]
      (1): nn.Linear(20 -> 100)
      (2): nn.ReLU
      (3): nn.Linear(100 -> 1)
      (4): nn.Sigmoid
    }
    """
    )

    _parameter_constraints: dict = {
        **BaseNeuralNetwork._parameter_constraints,
        **MLPNetworkMixin._mlp_constraints,
        **PretrainMixin._pretrain_constraints,
        **BaggingMixin._bagging_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
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


class MLPRegressor(
    MLPNetworkMixin,
    PretrainMixin,
    RegressorNetworkMixin,
    BaggingMixin,
    RegressorMixin,
    BaseNeuralNetwork,
):
    __doc__ = (
        """Multi-layer perceptron regressor, a drop-in superset of scikit-learn's.

    Same parameters, defaults, fitted attributes and behaviour as
    :class:`sklearn.neural_network.MLPRegressor`, trained by the
    ``sknn_backprop.nn`` engine, with the regularisers and bagging of
    :class:`MLPClassifier`.

    Parameters
    ----------
"""
        + _docs.REGRESSION_LOSS
        + _docs.HUBER_DELTA
        + """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'abs'}, \
default='relu'
        Activation function for the hidden layers.

"""
        + _docs.SOLVER
        + "\n"
        + _docs.REGULARISERS
        + "\n"
        + _docs.PRETRAIN
        + _docs.BAGGING
        + """
    Attributes
    ----------
"""
        + _docs.ATTRIBUTES
        + """
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        With ``oob_score=True``: out-of-bag predictions (NaN for rows every member saw).

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.

    Examples
    --------
    >>> from sknn_backprop import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1)
    >>> regr.fit(X_train, y_train)
    MLPRegressor(max_iter=2000, random_state=1, tol=0.1)
    >>> regr.score(X_test, y_test) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseNeuralNetwork._parameter_constraints,
        **MLPNetworkMixin._mlp_constraints,
        **PretrainMixin._pretrain_constraints,
        **BaggingMixin._bagging_constraints,
        **RegressorNetworkMixin._regressor_constraints,
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
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
