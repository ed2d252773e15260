"""skl2onnx shape calculators, parsers and converters of the estimators.

Every estimator is converted in two steps:

1. :func:`raw_output` -- the nodes of ``_raw_predict``: the input laid out as
   the network wants it (``(N, C, H, W)`` images when the estimator has
   ``input_shape_``), the network of ``model_`` (:func:`~._graph.network_graph`),
   and for a bagged estimator (``n_estimators > 1``) the mean of its members'
   outputs;
2. the post-processing of its kind (:data:`KINDS`): ``"classifier"`` -- labels
   and ``predict_proba``'s probabilities, as skl2onnx's classifiers (two
   outputs, option ``zipmap``); ``"regressor"`` -- the ``(N, n_outputs)``
   predictions.

Covering a new estimator is :func:`register_estimator` with its kind, as long
as its network is made of modules of :data:`~._graph.MODULE_CONVERTERS`.
"""

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx._parse import _parse_sklearn_classifier
from skl2onnx.common.data_types import (
    BooleanTensorType,
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)
from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types
from skl2onnx.common.utils_classifier import get_label_classes
from sklearn.utils.validation import check_is_fitted

from ._graph import Graph, network_graph

__all__ = ["KINDS", "raw_output", "register_estimator"]

_INPUT_TYPES = [FloatTensorType, DoubleTensorType, Int64TensorType, BooleanTensorType]
#: the opset of ReduceSum's ``axes`` input and of Softmax over the last axis
MIN_OPSET = 13


def _dtype_of(variable):
    """The graph computes in double for a double input, else in float32 (as skl2onnx)."""
    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _tensor_type(variable):
    return DoubleTensorType if _dtype_of(variable) == np.float64 else FloatTensorType


def _check_operator(operator, n_outputs):
    """Check the operator's inputs, outputs and estimator (fitted); return the estimator."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_outputs)
    check_input_and_output_types(operator, good_input_types=_INPUT_TYPES)
    check_is_fitted(operator.raw_operator)
    return operator.raw_operator


def _start(scope, operator, container):
    """Check the opset; return ``(estimator, Graph, input name)``."""
    est = operator.raw_operator
    if container.target_opset < MIN_OPSET:
        raise ValueError(
            f"The ONNX export of {type(est).__name__} needs target_opset >= {MIN_OPSET}, "
            f"got {container.target_opset}."
        )
    g = Graph(scope, container, _dtype_of(operator.inputs[0]))
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, (FloatTensorType, DoubleTensorType)):
        x = g.cast(x, g.proto)
    return est, g, x


def raw_output(g, est, x):
    """Emit the nodes of ``est._raw_predict`` on ``x``; return the output name.

    Parameters
    ----------
    g : Graph
        Where the nodes go.
    est : estimator
        A fitted estimator: ``model_``, or ``estimators_`` when ``n_estimators > 1``,
        and ``input_shape_`` if its network takes ``(N, C, H, W)`` images.
    x : str
        Name of the input: flat rows, in the graph's dtype.

    Returns
    -------
    raw : str
        Name of the network's output (the members' mean for a bagged estimator).
    """
    shape = getattr(est, "input_shape_", None)
    if shape is not None:  # _prepare_X: flat rows -> (N, C, H, W) images
        x = g.op("Reshape", [x, g.const([-1, *shape], "input_shape", dtype=np.int64)])
    members = est.estimators_ if getattr(est, "n_estimators", 1) > 1 else [est]
    outputs = [network_graph(g, member.model_, x) for member in members]
    if len(outputs) == 1:
        return outputs[0]
    # the members' average (onnxruntime has no double Mean kernel: Sum, then Div)
    return g.op("Div", [g.op("Sum", outputs), g.const(len(outputs), "n_estimators")])


# ---------------------------------------------------------------- classifiers
def _multilabel(est):
    return est._label_binarizer.y_type_ == "multilabel-indicator"


def _label_values(classes):
    """Class labels as an int64 or a string tensor (skl2onnx's label types)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.array_equal(classes, np.round(classes)):
            raise ValueError(
                f"ONNX labels are integers or strings; the classes {classes} are neither."
            )
        return classes.astype(np.int64)
    return np.array([str(c).encode("utf-8") for c in classes], dtype=object)


def classifier_shapes(operator):
    """Label ``(N,)`` (``(N, n_classes)`` multilabel) and probabilities ``(N, n_classes)``."""
    est = _check_operator(operator, 2)
    n = operator.inputs[0].get_first_dimension()
    classes = _label_values(get_label_classes(operator.scope_inst, est))
    label_type = StringTensorType if classes.dtype == object else Int64TensorType
    operator.outputs[0].type = label_type([n, len(classes)] if _multilabel(est) else [n])
    operator.outputs[1].type = _tensor_type(operator.inputs[0])([n, len(classes)])


def classifier_parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (options zipmap, nocl, output_class_labels)."""
    check_is_fitted(model)
    zipmap = scope.get_options(model, dict(zipmap=True))["zipmap"]
    if zipmap is True and isinstance(inputs[0].type, DoubleTensorType):
        raise ValueError(
            "onnxruntime's ZipMap takes float32 probabilities only: convert a double "
            "input with options={'zipmap': False} (or 'columns')."
        )
    outputs = _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)
    if zipmap is not False and _multilabel(model):  # ZipMap passes the labels on
        outputs[0].type = Int64TensorType([None, len(model.classes_)])
    return outputs


def _probabilities(g, est, raw, output):
    """``est._proba(raw)``: ``[1 - p, p]`` (binary), renormalised sigmoids, clipped."""
    if est.n_outputs_ == 1:
        p = g.op("Concat", [g.op("Sub", [g.const(1, "one"), raw]), raw], axis=1)
    elif est._normalises_sigmoids():
        axes = g.const([1], "axes", dtype=np.int64)
        p = g.op("Div", [raw, g.op("ReduceSum", [raw, axes], keepdims=1)])
    else:
        p = raw
    eps = np.finfo(g.dtype).eps  # strictly inside (0, 1), as predict_proba
    bounds = [g.const(eps * eps, "proba_min"), g.const(1 - eps, "proba_max")]
    return g.op("Clip", [p, *bounds], output)


def _labels(g, est, classes, raw, output):
    """``est._decode(raw)``: the labels of ``LabelBinarizer.inverse_transform``."""
    if _multilabel(est):  # indicators p > 0.5
        above = g.op("Greater", [raw, g.const(0.5, "threshold")])
        return g.op("Cast", [above], output, to=TensorProto.INT64)
    if est.n_outputs_ == 1:  # binary: p > 0.5 is the argmax of [1 - p, p]
        raw = g.op("Concat", [g.op("Sub", [g.const(1, "one"), raw]), raw], axis=1)
    index = g.op("ArgMax", [raw], axis=1, keepdims=0)  # the first maximum, as numpy's
    classes = _label_values(classes)
    return g.op("Gather", [g.const(classes, "classes", dtype=classes.dtype), index], output)


def convert_classifier(scope, operator, container):
    """Labels (``predict``) and probabilities (``predict_proba``) of a classifier."""
    est, g, x = _start(scope, operator, container)
    raw = raw_output(g, est, x)
    label, proba = (out.full_name for out in operator.outputs)
    _probabilities(g, est, raw, proba)
    _labels(g, est, get_label_classes(scope, est), raw, label)


# ----------------------------------------------------------------- regressors
def regressor_shapes(operator):
    """Predictions ``(N, n_outputs)``, in the input's float type."""
    est = _check_operator(operator, 1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(operator.inputs[0])([n, est.n_outputs_])


def convert_regressor(scope, operator, container):
    """``predict`` of a regressor, always 2-D ``(N, n_outputs)`` (as skl2onnx's)."""
    est, g, x = _start(scope, operator, container)
    g.op("Identity", [raw_output(g, est, x)], operator.outputs[0].full_name)


# --------------------------------------------------------------- transformers
def transformer_shapes(operator):
    """Codes ``(N, n_codes)``, in the input's float type (``MLPAutoencoder.transform``)."""
    est = _check_operator(operator, 1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(operator.inputs[0])([n, est._n_features_out])


def convert_transformer(scope, operator, container):
    """``transform`` of an autoencoder: the network up to its code layer."""
    est, g, x = _start(scope, operator, container)
    code = network_graph(g, est.model_.modules[: est._code_end], x)
    g.op("Identity", [code], operator.outputs[0].full_name)


#: estimator kind -> the arguments of ``skl2onnx.update_registered_converter``
KINDS = {
    "classifier": dict(
        shape_fct=classifier_shapes,
        convert_fct=convert_classifier,
        parser=classifier_parser,
        options={
            "zipmap": [True, False, "columns"],
            "nocl": [False, True],
            "output_class_labels": [False, True],
        },
    ),
    "regressor": dict(shape_fct=regressor_shapes, convert_fct=convert_regressor),
    "transformer": dict(shape_fct=transformer_shapes, convert_fct=convert_transformer),
}


def register_estimator(cls, kind, alias=None):
    """Register ``cls`` with skl2onnx as an estimator of ``kind``.

    Parameters
    ----------
    cls : type
        An estimator class whose fitted instances have ``model_`` (or, bagged,
        ``estimators_``) made of supported modules.
    kind : {'classifier', 'regressor', 'transformer'}
        Its post-processing (see :data:`KINDS`).
    alias : str, default=None
        skl2onnx's name of the operator; ``'SknnBackprop' + cls.__name__`` by default.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}.")
    update_registered_converter(cls, alias or f"SknnBackprop{cls.__name__}", **KINDS[kind])
