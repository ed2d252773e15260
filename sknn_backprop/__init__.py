"""sknn_backprop: neural networks for scikit-learn users, on a readable numpy backprop engine."""

from . import nn

__version__ = "0.1.0"

__all__ = ["nn", "__version__"]
