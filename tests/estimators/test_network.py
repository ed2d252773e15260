"""Building networks from hyperparameters (``sknn_backprop/_network.py``)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_backprop import ConvNetClassifier, MLPClassifier, MLPRegressor, nn


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor, ConvNetClassifier])
@pytest.mark.parametrize("sizes", [(10.5,), (4, 2.0), ("3",)])
def test_non_integer_hidden_sizes_name_the_parameter(Est, sizes):
    X, y = load_digits(return_X_y=True)
    est = Est(hidden_layer_sizes=sizes, max_iter=1)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be an int or a sequence"):
        est.fit(X[:50], y[:50])
    assert not hasattr(est, "model_")


def test_non_integer_conv_filters_name_the_parameter():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="conv_filters must be an int or a sequence"):
        ConvNetClassifier(conv_filters=(4.5,), max_iter=1).fit(X[:50], y[:50])


@pytest.mark.parametrize("activation, gain", [("logistic", 2.0), ("relu", 6.0)])
def test_conv_layers_get_the_activations_glorot_gain(activation, gain):
    """Glorot's gain is 2 for logistic units in conv layers too, as in the dense ones."""
    X, y = load_digits(return_X_y=True)
    est = ConvNetClassifier(
        conv_filters=(32,), kernel_size=3, hidden_layer_sizes=(200,), activation=activation,
        solver="sgd", learning_rate_init=1e-12, momentum=0, max_iter=1, random_state=0,
    )  # fmt: skip
    est.fit(X[:50] / 16, y[:50])
    conv = next(m for m in est.model_.modules if isinstance(m, nn.Conv2d))
    fan_in, fan_out = 1 * 3 * 3, 32 * 3 * 3  # Glorot's fans of a filter bank
    bound = np.sqrt(gain / (fan_in + fan_out))
    assert np.abs(conv.weight).max() <= bound
    assert np.abs(conv.weight).max() > 0.9 * bound
    dense = next(m for m in est.model_.modules if isinstance(m, nn.Linear))
    assert np.abs(dense.weight).max() <= np.sqrt(gain / (dense.n_in + dense.n_out))
