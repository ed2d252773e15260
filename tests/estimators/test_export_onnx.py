"""ONNX export: onnxruntime's predictions equal the estimators' own.

Labels exactly; float32 probabilities within ``atol=1e-5`` and regression
outputs within ``rtol=1e-5`` (double graphs much closer).  Skipped when onnx,
skl2onnx or onnxruntime is missing (``pip install ".[onnx]"``).
"""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import skl2onnx  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sknn_backprop import ConvNetClassifier, ConvNetRegressor, MLPClassifier, MLPRegressor, nn  # noqa: E402
from sknn_backprop.export import MODULE_CONVERTERS, to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

NO_ZIPMAP = {"zipmap": False}
DTYPES = [np.float32, np.float64]
#: probabilities' tolerance: float32 as asked, doubles near their rounding error
ATOL = {np.float32: 1e-5, np.float64: 1e-12}
RTOL = {np.float32: 1e-5, np.float64: 1e-10}


def _run(onx, X):
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _classification(dtype, n_classes=3, n_samples=80, n_features=6):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=4,
        n_classes=n_classes,
        random_state=0,
    )
    return X.astype(dtype), y


def _check_classifier(clf, X, atol, **kwargs):
    label, proba = _run(to_onnx(clf, X[:1], options=NO_ZIPMAP, **kwargs), X)
    np.testing.assert_array_equal(label, clf.predict(X))
    assert proba.dtype == X.dtype
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=atol)
    return label, proba


def _check_regressor(reg, X, rtol):
    (pred,) = _run(to_onnx(reg, X[:1]), X)
    expected = reg.predict(X)
    assert pred.shape == (X.shape[0], reg.n_outputs_)
    np.testing.assert_allclose(pred, expected.reshape(pred.shape), rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_mlp_classifier_binary_and_multiclass(dtype, n_classes):
    X, y = _classification(dtype, n_classes)
    clf = MLPClassifier((7, 5), max_iter=30, random_state=0).fit(X, y)
    _check_classifier(clf, X, ATOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_classifier_multilabel(dtype):
    X, Y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3, random_state=0)
    X = X.astype(dtype)
    clf = MLPClassifier((6,), max_iter=30, random_state=0).fit(X, Y)
    label, _ = _check_classifier(clf, X, ATOL[dtype])
    assert label.shape == Y.shape


def test_multilabel_zipmap_and_integer_input():
    X, Y = make_multilabel_classification(n_samples=40, n_features=5, n_classes=3, random_state=0)
    clf = MLPClassifier((6,), max_iter=20, random_state=0).fit(X, Y)
    label, proba = _run(to_onnx(clf, X[:1].astype(np.float32)), X.astype(np.float32))
    np.testing.assert_array_equal(label, clf.predict(X))
    assert sorted(proba[0]) == [0, 1, 2]
    Xi = X.astype(np.int64)  # integer counts: cast to float32 in the graph
    label, proba = _run(to_onnx(clf, Xi[:1], options=NO_ZIPMAP), Xi)
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize(
    "activation", ["identity", "logistic", "tanh", "relu", "leaky_relu", "abs"]
)
def test_every_activation(activation):
    X, y = _classification(np.float32)
    clf = MLPClassifier((6, 4), activation=activation, max_iter=20, random_state=0).fit(X, y)
    _check_classifier(clf, X, ATOL[np.float32])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_squared_error_classifier(dtype, n_classes):
    X, y = _classification(dtype, n_classes)
    clf = MLPClassifier((6,), loss="squared_error", max_iter=20, random_state=0).fit(X, y)
    _check_classifier(clf, X, ATOL[dtype])


def test_string_labels_and_training_only_modules():
    X, y = _classification(np.float32)
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifier(
        (8,), dropout=0.2, input_dropout=0.1, input_noise=0.1, max_iter=20, random_state=0
    ).fit(X, labels)
    assert any(isinstance(m, nn.Dropout) for m in clf.model_.modules)
    assert any(isinstance(m, nn.GaussianNoise) for m in clf.model_.modules)
    label, _ = _check_classifier(clf, X, ATOL[np.float32])
    assert label.dtype == object


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_mlp_regressor_multi_output(dtype, loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)).astype(dtype)
    Y = np.abs(X[:, :2] @ rng.normal(size=(2, 3)))
    reg = MLPRegressor(loss=loss, hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    _check_regressor(reg.fit(X, Y), X, RTOL[dtype])
    _check_regressor(reg.fit(X, Y[:, 0]), X, RTOL[dtype])  # one output: (N, 1)


def _digits_like(dtype, n_classes=3, shape=(6, 6)):
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, size=60)
    X = rng.normal(size=(60, int(np.prod(shape)))) + y[:, None] * 0.3
    return X.astype(dtype), y


@pytest.mark.parametrize("dtype", DTYPES)
def test_convnet_classifier(dtype):
    X, y = _digits_like(dtype)
    clf = ConvNetClassifier(
        conv_filters=(3, 4),
        kernel_size=3,
        hidden_layer_sizes=(8,),
        augment_shift=1,
        dropout=0.1,
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    kinds = {type(m) for m in clf.model_.modules}
    assert {nn.Conv2d, nn.MaxPool2d, nn.RandomShift, nn.Dropout} <= kinds
    # a double graph runs Conv in float32 (no double kernel in onnxruntime)
    label, proba = _check_classifier(clf, X, ATOL[np.float32])
    onx = to_onnx(clf, X[:2].reshape(2, 1, 6, 6), options=NO_ZIPMAP)  # images: flat rows
    np.testing.assert_array_equal(_run(onx, X)[0], label)


def test_convnet_rectangular_strided_binary():
    X, y = _digits_like(np.float32, n_classes=2, shape=(2, 5, 7))
    clf = ConvNetClassifier(
        conv_filters=(3,),
        kernel_size=3,
        pool_size=2,
        padding="valid",
        hidden_layer_sizes=(5,),
        input_shape=(2, 5, 7),
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    _check_classifier(clf, X, ATOL[np.float32])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_convnet_regressor(batch_norm):
    X, _ = _digits_like(np.float32)
    y = np.c_[X[:, :18].mean(axis=1), X[:, 18:].mean(axis=1)]
    reg = ConvNetRegressor(
        conv_filters=(3,),
        hidden_layer_sizes=(8,),
        batch_norm=batch_norm,
        max_iter=5,
        random_state=0,
    )
    _check_regressor(reg.fit(X, y), X, 1e-4)


@pytest.mark.parametrize(
    "est",
    [
        MLPClassifier((5,), n_estimators=3, max_iter=10, random_state=0),
        MLPClassifier((5,), n_estimators=2, loss="squared_error", max_iter=10, random_state=0),
        ConvNetClassifier(
            conv_filters=(2,), kernel_size=3, hidden_layer_sizes=(4,), n_estimators=2, max_iter=3
        ),
    ],
    ids=["mlp", "mlp-squared-error", "convnet"],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bagged_classifiers(est, dtype):
    X, y = _digits_like(dtype)
    est.set_params(random_state=0).fit(X, y)
    assert len(est.estimators_) == est.n_estimators
    atol = ATOL[np.float32] if isinstance(est, ConvNetClassifier) else ATOL[dtype]
    _check_classifier(est, X, atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bagged_regressor(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(dtype)
    reg = MLPRegressor(hidden_layer_sizes=(4,), n_estimators=3, max_iter=10, random_state=0)
    _check_regressor(reg.fit(X, X @ [1.0, -2.0, 0.5]), X, RTOL[dtype])


def test_pipeline_with_plain_skl2onnx():
    X, y = _classification(np.float32)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((6,), max_iter=20, random_state=0))
    pipe.fit(X, y)
    label, proba = _run(skl2onnx.to_onnx(pipe, X[:1]), X)  # default: zipmap=True
    np.testing.assert_array_equal(label, pipe.predict(X))
    as_array = np.array([[row[c] for c in pipe.classes_] for row in proba])
    np.testing.assert_allclose(as_array, pipe.predict_proba(X), rtol=0, atol=1e-5)
    onx = skl2onnx.to_onnx(pipe, X[:1], options={MLPClassifier: {"zipmap": False}})
    np.testing.assert_allclose(_run(onx, X)[1], pipe.predict_proba(X), rtol=0, atol=1e-5)


def test_zipmap_columns_and_nocl():
    X, y = _classification(np.float32)
    clf = MLPClassifier((6,), max_iter=20, random_state=0).fit(X, y + 10)
    outputs = _run(to_onnx(clf, X[:1], options={"zipmap": "columns"}), X)
    np.testing.assert_allclose(np.column_stack(outputs[1:]), clf.predict_proba(X), atol=1e-5)
    label, _ = _run(to_onnx(clf, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(label, clf.predict(X) - 10)


def test_double_input_with_zipmap_is_a_clear_error():
    X, y = _classification(np.float64)
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="zipmap"):
        to_onnx(clf, X[:1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_modules_beyond_the_estimators_defaults(dtype):
    """Reshape, nested Sequential, LogSoftmax, Linear without bias, strided Conv2d
    without bias and overlapping pools: a network given by hand converts too."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 36)).astype(dtype)
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, X[:, :3])
    reg.model_ = nn.Sequential(
        nn.Reshape(1, 6, 6),
        nn.Conv2d(1, 2, 3, stride=2, padding=(1, 0), bias=False, dtype=dtype),
        nn.MaxPool2d(2, stride=1),
        nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False, dtype=dtype), nn.LogSoftmax()),
    )
    # double graphs run Conv in float32
    _check_regressor(reg, X, RTOL[np.float32])
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(to_onnx(reg, X[:1]), full_check=True)


def test_unsupported_module_is_named():
    X, y = _classification(np.float32)
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    clf.model_.modules[1] = nn.PReLU()
    assert nn.PReLU not in MODULE_CONVERTERS
    with pytest.raises(NotImplementedError, match=r"nn\.PReLU is not supported.*nn\.ReLU"):
        to_onnx(clf, X[:1], options=NO_ZIPMAP)


def test_old_opset_is_a_clear_error():
    X, y = _classification(np.float32)
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="target_opset >= 13"):
        to_onnx(clf, X[:1], options=NO_ZIPMAP, target_opset=12)


@pytest.mark.parametrize("est", [MLPRegressor(), MLPClassifier(), ConvNetClassifier()])
def test_unfitted_estimator(est):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(est, np.zeros((1, 4), dtype=np.float32))


# ------------------------------------------------------------------ NeuralNet*
def _user_convnet(n_classes):
    return nn.Sequential(
        nn.Reshape(1, 6, 6),
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Reshape(27),
        nn.Linear(27, n_classes),
        nn.LogSoftmax(),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_neuralnet_classifier(dtype, n_classes):
    from sknn_backprop import NeuralNetClassifier

    X, y = _digits_like(dtype, n_classes=n_classes)
    # a two-class LogSoftmax module has two outputs: the graph takes them as they are
    conv = NeuralNetClassifier(_user_convnet(n_classes), max_iter=5, random_state=0).fit(X, y)
    _check_classifier(conv, X, ATOL[np.float32])
    dense = NeuralNetClassifier(max_iter=5, random_state=0, n_estimators=2).fit(X, y)
    _check_classifier(dense, X, ATOL[dtype])


def test_neuralnet_regressor_and_unsupported_module():
    from sknn_backprop import NeuralNetRegressor

    X, y = _digits_like(np.float32)
    reg = NeuralNetRegressor(max_iter=5, random_state=0).fit(X, y + 5.0)  # away from 0
    _check_regressor(reg, X, RTOL[np.float32])
    prelu = NeuralNetRegressor(
        nn.Sequential(nn.Linear(36, 4), nn.PReLU(), nn.Linear(4, 1)), max_iter=2
    ).fit(X, y.astype(float))
    with pytest.raises(NotImplementedError, match="nn.PReLU is not supported"):
        to_onnx(prelu, X[:1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_avg_pool_and_l1_penalty_modules(dtype):
    from sknn_backprop import NeuralNetClassifier

    X, y = _digits_like(dtype)
    net = nn.Sequential(
        nn.Reshape(1, 6, 6),
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Reshape(27),
        nn.Linear(27, 8),
        nn.BatchNorm1d(8),
        nn.L1Penalty(1e-3),
        nn.Tanh(),
        nn.Linear(8, 3),
    )
    clf = NeuralNetClassifier(net, max_iter=5, random_state=0).fit(X, y)
    bn = clf.module_.modules[2]
    assert not np.allclose(bn.running_mean, 0)  # trained statistics, not the initial ones
    _check_classifier(clf, X, ATOL[np.float32])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tied", [False, True])
def test_autoencoder_transform(dtype, tied):
    from sknn_backprop import MLPAutoencoder

    X, _ = _digits_like(dtype)
    ae = MLPAutoencoder((16, 4), activation="tanh", tied_weights=tied, activity_l1=1e-3,
                        input_noise=0.1, max_iter=5, random_state=0).fit(X)  # fmt: skip
    (codes,) = _run(to_onnx(ae, X[:1]), X)
    assert codes.shape == (len(X), 4) and codes.dtype == X.dtype
    np.testing.assert_allclose(codes, ae.transform(X), rtol=RTOL[dtype], atol=ATOL[dtype])
    # in a pipeline with scikit-learn steps, through plain skl2onnx
    pipe = make_pipeline(StandardScaler(), MLPAutoencoder((8,), max_iter=5, random_state=0))
    pipe.fit(X)
    (codes,) = _run(skl2onnx.to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(codes, pipe.transform(X), rtol=RTOL[dtype], atol=ATOL[dtype])
