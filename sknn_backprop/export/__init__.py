"""Export fitted estimators (and pipelines holding them) to ONNX.

Importing this module registers the estimators with skl2onnx, so that
``skl2onnx.to_onnx`` converts pipelines that mix scikit-learn steps and ours;
:func:`to_onnx` is the same call for one estimator or a pipeline.

Needs the ``onnx`` extra: ``pip install "sknn_backprop[onnx]"`` (onnx and
skl2onnx; onnxruntime to run the exported models).  See ``docs/export.rst``.
"""

try:
    import onnx  # noqa: F401
    import skl2onnx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sknn_backprop.export needs onnx and skl2onnx, which are not installed: "
        'pip install "sknn_backprop[onnx]"'
    ) from exc

import numpy as np

from .._autoencoder import MLPAutoencoder
from .._convnet import ConvNetClassifier, ConvNetRegressor
from .._mlp import MLPClassifier, MLPRegressor
from .._neuralnet import NeuralNetClassifier, NeuralNetRegressor
from .._tabular import TabularMLPClassifier, TabularMLPRegressor
from ._estimators import KINDS, raw_output, register_estimator
from ._graph import MODULE_CONVERTERS, Graph, module_converter, network_graph
from ._tabular import TABULAR_KINDS, tabular_initial_types, tabular_inputs

__all__ = [
    "to_onnx",
    "register_estimator",
    "MODULE_CONVERTERS",
    "KINDS",
    "Graph",
    "network_graph",
    "module_converter",
    "raw_output",
    "tabular_inputs",
    "tabular_initial_types",
]

register_estimator(MLPClassifier, "classifier")
register_estimator(ConvNetClassifier, "classifier")
register_estimator(MLPRegressor, "regressor")
register_estimator(ConvNetRegressor, "regressor")
register_estimator(NeuralNetClassifier, "classifier")
register_estimator(NeuralNetRegressor, "regressor")
register_estimator(MLPAutoencoder, "transformer")
# the tabular estimators: one input per column, the frame encoder inside the graph
skl2onnx.update_registered_converter(
    TabularMLPClassifier, "SknnBackpropTabularMLPClassifier", **TABULAR_KINDS["classifier"]
)
skl2onnx.update_registered_converter(
    TabularMLPRegressor, "SknnBackpropTabularMLPRegressor", **TABULAR_KINDS["regressor"]
)


def to_onnx(estimator, X_sample=None, **kwargs):
    """Convert a fitted estimator, or a pipeline holding ours, to ONNX.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted :class:`~sknn_backprop.MLPClassifier`,
        :class:`~sknn_backprop.MLPRegressor`,
        :class:`~sknn_backprop.ConvNetClassifier` or
        :class:`~sknn_backprop.ConvNetRegressor`, or any estimator skl2onnx
        converts with those inside (a ``Pipeline``, for example).
    X_sample : array-like, default=None
        A few rows of input, for the input's type and width (float32 input: the
        graph computes in float32; float64: in double).  Images of shape
        ``(n, H, W)`` or ``(n, C, H, W)`` are taken as their flat rows, the
        model's input.  ``None`` if ``initial_types`` is given.
    **kwargs
        Passed on to :func:`skl2onnx.to_onnx` (``target_opset``, ``options``
        such as ``{"zipmap": False}``, ``initial_types``, ...).

    Returns
    -------
    onx : onnx.ModelProto
        The model: classifiers have the outputs ``label`` and ``probabilities``
        (a list of dicts with the default ``zipmap=True``), regressors
        ``variable``, of shape ``(N, n_outputs)``.  A
        :class:`~sknn_backprop.TabularMLPClassifier` or
        :class:`~sknn_backprop.TabularMLPRegressor` gets one input per column,
        named as the column (:func:`tabular_inputs` turns a frame into them).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import MLPClassifier
    >>> from sknn_backprop.export import to_onnx
    >>> X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    >>> clf = MLPClassifier((5,), solver="lbfgs", random_state=0).fit(X, X[:, 0] > 0)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> [o.name for o in onx.graph.output]
    ['label', 'probabilities']
    """
    if isinstance(estimator, (TabularMLPClassifier, TabularMLPRegressor)):
        if "initial_types" not in kwargs:  # one input per column, named as the column
            kwargs["initial_types"] = tabular_initial_types(estimator)
        X_sample = None
    if isinstance(X_sample, np.ndarray) and X_sample.ndim > 2:
        X_sample = X_sample.reshape(X_sample.shape[0], -1)
    return skl2onnx.to_onnx(estimator, X_sample, **kwargs)
