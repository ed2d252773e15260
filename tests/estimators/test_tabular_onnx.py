"""ONNX export of the tabular estimators: one input per column, the encoder in the graph."""

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from sknn_backprop import TabularMLPClassifier, TabularMLPRegressor  # noqa: E402
from sknn_backprop.export import tabular_inputs, to_onnx  # noqa: E402
from tests.estimators.test_tabular import _frame  # noqa: E402

X, Y = _frame(240, seed=5)
FAST = dict(hidden_layer_sizes=(16, 16), max_iter=6, random_state=0)


def _session(onx):
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _messy(X):
    """Rows the model never saw: unseen and missing categories, NaN in a column without."""
    X = X.head(30).copy()
    X.loc[X.index[0], "city"] = "Atlantis"
    X.loc[X.index[1], "city"] = None
    X.loc[X.index[2], "count"] = np.nan
    X.loc[X.index[3], "colour"] = None
    return X


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"activation": "mish", "numeric_embedding": False},
        {"front_scale": False, "n_estimators": 2},
    ],
    ids=["default", "mish_no_embedding", "no_scale_bagged"],
)
@pytest.mark.parametrize("multiclass", [False, True], ids=["binary", "multiclass"])
def test_classifier_probabilities_equal_predict_proba(params, multiclass):
    y = np.where(X["num"].fillna(0) > 0.5, "high", Y) if multiclass else Y
    clf = TabularMLPClassifier(**FAST, **params).fit(X, y)
    onx = to_onnx(clf, X, options={"zipmap": False})
    assert [i.name for i in onx.graph.input] == list(X.columns)
    Xt = _messy(X)
    label, proba = _session(onx).run(None, tabular_inputs(clf, Xt))
    np.testing.assert_allclose(proba, clf.predict_proba(Xt), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(label, clf.predict(Xt))


def test_input_types_follow_the_columns():
    clf = TabularMLPClassifier(**FAST).fit(X, Y)
    onx = to_onnx(clf, X, options={"zipmap": False})
    elem = {i.name: i.type.tensor_type.elem_type for i in onx.graph.input}
    # onnx TensorProto: FLOAT = 1, STRING = 8, BOOL = 9
    assert elem == {"num": 1, "count": 1, "colour": 8, "city": 8, "member": 9}
    feeds = tabular_inputs(clf, _messy(X))
    assert feeds["city"][1, 0] == "" and np.isnan(feeds["count"][2, 0])


def test_regressor_predictions_equal_predict():
    y = X["num"].fillna(0).to_numpy() * 50 + 3 * (X["city"] == "Oslo").to_numpy() + 900
    reg = TabularMLPRegressor(**FAST).fit(X, y)
    Xt = _messy(X)
    (pred,) = _session(to_onnx(reg, X)).run(None, tabular_inputs(reg, Xt))
    np.testing.assert_allclose(pred.ravel(), reg.predict(Xt), rtol=1e-5)


def test_one_input_for_a_frame_model_is_refused():
    from skl2onnx.common.data_types import FloatTensorType

    clf = TabularMLPClassifier(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="one input per column"):
        to_onnx(clf, initial_types=[("X", FloatTensorType([None, 5]))])
