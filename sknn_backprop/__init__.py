"""sknn_backprop: neural networks for scikit-learn users, on a readable numpy backprop engine."""

from . import nn
from ._autoencoder import MLPAutoencoder
from ._convnet import ConvNetClassifier, ConvNetRegressor
from ._display import FilterDisplay, TrainingCurveDisplay
from ._mlp import MLPClassifier, MLPRegressor
from ._neuralnet import NeuralNetClassifier, NeuralNetRegressor
from ._tabular import TabularMLPClassifier, TabularMLPRegressor

__version__ = "0.1.0"

__all__ = [
    "nn",
    "MLPClassifier",
    "MLPRegressor",
    "ConvNetClassifier",
    "ConvNetRegressor",
    "NeuralNetClassifier",
    "NeuralNetRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "MLPAutoencoder",
    "TrainingCurveDisplay",
    "FilterDisplay",
    "__version__",
]
