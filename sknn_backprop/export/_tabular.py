"""ONNX export of the tabular estimators: the frame encoder inside the graph.

The graph has one input per column, named as the column (skl2onnx's convention
for DataFrames): numeric columns as float (NaN for a missing value), ``bool``
columns as bool, categorical columns as strings with a missing value fed as the
empty string ``''``.  The encoder's work follows in the graph --

- numeric: ``(x - median) * scale``, smooth clipping ``v / sqrt(1 + (v / 3)^2)``,
  NaN -> 0 and, when the column had NaN in ``fit``, its 0/1 missing indicator;
- categorical: one ``Equal`` against the category strings (one-hot), the
  -1 / +1 column of a two-category column, and the missing indicator ``x == ''``;

then the network (with converters for the tabular modules: ``Scale``,
``PeriodicEmbedding``, ``ConcatTable`` / ``Narrow`` / ``JoinTable``, ``SELU``,
``Mish``) and the estimator's output: ``predict_proba``'s probabilities and the
labels, or the regressor's de-standardised, clipped predictions.

>>> import numpy as np, pandas as pd
>>> from sknn_backprop import TabularMLPClassifier
>>> from sknn_backprop.export import to_onnx, tabular_inputs
>>> X = pd.DataFrame({"x": [0.1, np.nan, 2.0, 3.0] * 10, "c": ["a", "b", None, "a"] * 10})
>>> clf = TabularMLPClassifier((8,), max_iter=2, random_state=0).fit(X, [0, 1, 1, 0] * 10)
>>> onx = to_onnx(clf, X, options={"zipmap": False})
>>> [i.name for i in onx.graph.input]
['x', 'c']
>>> feeds = tabular_inputs(clf, X)   # the frame as the graph's inputs
>>> sorted(feeds), feeds["c"][2]
(['c', 'x'], array([''], dtype=object))
"""

import numpy as np
from skl2onnx.common.data_types import (
    BooleanTensorType,
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)
from skl2onnx.common.utils_classifier import get_label_classes
from sklearn.utils.validation import check_is_fitted

from .. import nn
from .._tabular_preprocessing import CLIP
from ._estimators import _label_values, _labels, _probabilities, raw_output
from ._graph import MODULE_CONVERTERS, Graph, module_converter

__all__ = ["tabular_inputs", "tabular_initial_types", "TABULAR_KINDS"]


# ------------------------------------------------------- module converters
def _scale(g, m, x):
    return g.op("Mul", [x, g.const(m._scale(g.dtype), "scale")])


def _narrow(g, m, x):
    def ints(v):
        return g.const([v], "narrow", dtype=np.int64)

    return g.op("Slice", [x, ints(m.offset), ints(m.offset + m.length), ints(m.dim)])


def _concat_table(g, m, x):
    """A table: the list of the children's output names."""
    return [module_converter(child)(g, child, x) for child in m.modules]


def _join_table(g, m, xs):
    return g.op("Concat", list(xs), axis=m.dim)


def _selu(g, m, x):
    return g.op("Selu", [x], alpha=float(m.ALPHA), gamma=float(m.SCALE))


def _mish(g, m, x):
    return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])


def _periodic_embedding(g, m, x):
    """``e_nfd = sum_k cos(2 pi w_fk x_nf + b_fk) V_fkd + u_fd``, then ``[e, x]``."""
    w, b, v, u = m._effective(g.dtype)
    f, d = u.shape
    axes = g.const([2], "axes", dtype=np.int64)
    z = g.op("Mul", [g.op("Unsqueeze", [x, axes]), g.const(2 * np.pi * w[None], "freq")])
    c = g.op("Cos", [g.op("Add", [z, g.const(b[None], "phase")])])  # (N, F, K)
    e = g.op("MatMul", [g.op("Transpose", [c], perm=[1, 0, 2]), g.const(v, "plr_weight")])
    e = g.op("Add", [e, g.const(u[:, None, :], "plr_bias")])  # (F, N, D)
    e = g.op("Transpose", [e], perm=[1, 0, 2])
    e = g.op("Reshape", [e, g.const([0, f * d], "plr_shape", dtype=np.int64)])
    return g.op("Concat", [e, x], axis=1) if m.densenet else e


MODULE_CONVERTERS.update(
    {
        nn.Scale: _scale,
        nn.Narrow: _narrow,
        nn.ConcatTable: _concat_table,
        nn.JoinTable: _join_table,
        nn.SELU: _selu,
        nn.Mish: _mish,
        nn.PeriodicEmbedding: _periodic_embedding,
    }
)


# ---------------------------------------------------------------- the encoder
def _input_kind(enc, j):
    if enc.kinds_[j] == "numeric":
        return "numeric"
    return "bool" if set(enc.categories_[j]) <= {"True", "False"} else "string"


def tabular_inputs(est, X):
    """The graph's inputs for the rows of the frame ``X``: ``{column: (N, 1) array}``.

    Numeric columns as float32 (NaN where missing), bool columns as bool,
    categorical columns as strings (``''`` where missing).
    """
    enc = est.encoder_
    feeds = {}
    for j, name in enumerate(est.feature_names_in_):
        col = X[name]
        kind = _input_kind(enc, j)
        if kind == "numeric":
            values = col.to_numpy(dtype=np.float32, na_value=np.nan)
        elif kind == "bool" and col.dtype == bool:
            values = col.to_numpy(dtype=bool)
        else:
            values = np.array(["" if v is None or v != v else str(v) for v in col], dtype=object)
        feeds[str(name)] = values.reshape(-1, 1)
    return feeds


def tabular_initial_types(est):
    """skl2onnx's ``initial_types`` of ``est``: one ``(None, 1)`` input per column."""
    enc = est.encoder_
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = [f"x{j}" for j in range(enc.n_features_in_)]
    types = {"numeric": FloatTensorType, "bool": BooleanTensorType, "string": StringTensorType}
    return [(str(n), types[_input_kind(enc, j)]([None, 1])) for j, n in enumerate(names)]


def _numeric(g, enc, j, x):
    isnan = g.op("IsNaN", [x])
    v = g.op("Mul", [g.op("Sub", [x, g.const([enc.center_[j]], "median")]),
                     g.const([enc.scale_[j]], "robust_scale")])  # fmt: skip
    r = g.op("Div", [v, g.const([CLIP], "clip")])
    r = g.op("Sqrt", [g.op("Add", [g.const([1.0], "one"), g.op("Mul", [r, r])])])
    v = g.op("Where", [isnan, g.const([0.0], "zero"), g.op("Div", [v, r])])
    return v, (g.cast(isnan, g.proto) if enc.has_missing_[j] else None)


def _categorical(g, enc, j, var):
    x = var.full_name
    if isinstance(var.type, BooleanTensorType):  # as the encoder sees it: "True" / "False"
        strings = np.array([b"True", b"False"], dtype=object)
        x = g.op("Where", [x, g.const(strings[:1], "true", dtype=object),
                           g.const(strings[1:], "false", dtype=object)])  # fmt: skip
    cats = np.array([str(c).encode("utf-8") for c in enc.categories_[j]], dtype=object)
    width = enc._width(j)
    parts = []
    if len(cats):
        onehot = g.cast(g.op("Equal", [x, g.const(cats, "categories", dtype=object)]), g.proto)
        if width == 1 and not enc.has_missing_[j] and len(cats) == 2:  # -1 / +1
            parts.append(g.op("MatMul", [onehot, g.const([[-1.0], [1.0]], "signs")]))
        else:
            parts.append(onehot)
    if enc.has_missing_[j]:
        empty = g.const(np.array([b""], dtype=object), "missing", dtype=object)
        parts.append(g.cast(g.op("Equal", [x, empty]), g.proto))
    return parts


def encoder_graph(g, est, inputs):
    """The nodes of ``est.encoder_.transform`` on one input per column; the output name."""
    enc = est.encoder_
    if len(inputs) != enc.n_features_in_:
        raise ValueError(
            f"The ONNX export of {type(est).__name__} takes one input per column "
            f"({enc.n_features_in_}), got {len(inputs)}: convert it with the training "
            "DataFrame as X_sample (to_onnx(est, X)), or name one input per column in "
            "initial_types."
        )
    values, rest = [], []
    for j, var in enumerate(inputs):
        if enc.kinds_[j] == "numeric":
            x = var.full_name
            if not isinstance(var.type, FloatTensorType if g.dtype == np.float32 else
                              DoubleTensorType):  # fmt: skip
                x = g.cast(x, g.proto)
            v, missing = _numeric(g, enc, j, x)
            values.append(v)
            if missing is not None:
                rest.append(missing)
        else:
            rest += _categorical(g, enc, j, var)
    return g.op("Concat", values + rest, axis=1)


# ------------------------------------------------------------ shapes, converters
def _float_type(est):
    return DoubleTensorType if est.dtype == "float64" else FloatTensorType


def _check(operator, n_outputs):
    est = operator.raw_operator
    check_is_fitted(est)
    if len(operator.outputs) != n_outputs:  # pragma: no cover - skl2onnx's own parsers
        raise RuntimeError(f"expected {n_outputs} outputs, got {len(operator.outputs)}")
    return est


def tabular_classifier_shapes(operator):
    est = _check(operator, 2)
    n = operator.inputs[0].get_first_dimension()
    classes = _label_values(get_label_classes(operator.scope_inst, est))
    label_type = StringTensorType if classes.dtype == object else Int64TensorType
    multilabel = est._label_binarizer.y_type_ == "multilabel-indicator"
    operator.outputs[0].type = label_type([n, len(classes)] if multilabel else [n])
    operator.outputs[1].type = _float_type(est)([n, len(classes)])


def tabular_regressor_shapes(operator):
    est = _check(operator, 1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(est)([n, est.n_outputs_])


def _graph(scope, operator, container):
    est = operator.raw_operator
    g = Graph(scope, container, np.dtype(est.dtype))
    return est, g, raw_output(g, est, encoder_graph(g, est, operator.inputs))


def convert_tabular_classifier(scope, operator, container):
    est, g, raw = _graph(scope, operator, container)
    label, proba = (out.full_name for out in operator.outputs)
    _probabilities(g, est, raw, proba)
    _labels(g, est, get_label_classes(scope, est), raw, label)


def convert_tabular_regressor(scope, operator, container):
    est, g, raw = _graph(scope, operator, container)
    y = g.op("Add", [g.op("Mul", [raw, g.const(est.y_scale_, "y_scale")]),
                     g.const(est.y_mean_, "y_mean")])  # fmt: skip
    if est._clip_output:
        y = g.op("Max", [g.op("Min", [y, g.const(est.y_max_, "y_max")]),
                         g.const(est.y_min_, "y_min")])  # fmt: skip
    g.op("Identity", [y], operator.outputs[0].full_name)


#: the arguments of ``skl2onnx.update_registered_converter`` per kind
TABULAR_KINDS = {
    "classifier": dict(
        shape_fct=tabular_classifier_shapes,
        convert_fct=convert_tabular_classifier,
        options={
            "zipmap": [True, False, "columns"],
            "nocl": [False, True],
            "output_class_labels": [False, True],
        },
    ),
    "regressor": dict(shape_fct=tabular_regressor_shapes, convert_fct=convert_tabular_regressor),
}
