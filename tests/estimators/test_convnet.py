"""ConvNetClassifier: scikit-learn compatibility, architecture, input layouts, training."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn_backprop import ConvNetClassifier, ConvNetRegressor, nn
from sknn_backprop.nn import RandomShift
from tests._expected_failures import sample_weight_xfails

_SMALL = dict(
    conv_filters=(4,), kernel_size=3, hidden_layer_sizes=(8,), max_iter=20, batch_size="auto"
)
# learning_rate_init=0.01: 20 epochs of two 200-row batches must fit the blobs of
# check_classifiers_train (training accuracy > 0.83) through the small network
ESTIMATORS = [
    ConvNetClassifier(**_SMALL, learning_rate_init=0.01, random_state=0),
    ConvNetClassifier(**_SMALL, learning_rate_init=0.01, random_state=0, n_estimators=2),
    # check_regressors_train wants R^2 > 0.5 on its 200 rows: more epochs than 20 batches
    ConvNetRegressor(**{**_SMALL, "max_iter": 100}, learning_rate_init=0.01, random_state=0),
    ConvNetRegressor(random_state=0),  # the defaults
    ConvNetClassifier(**_SMALL, learning_rate_init=0.01, random_state=0, batch_norm=True),
    ConvNetRegressor(
        **{**_SMALL, "max_iter": 100}, learning_rate_init=0.01, random_state=0, loss="huber"
    ),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=sample_weight_xfails)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0)


def _fit_quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _shapes(model, x):
    """Output shape (without the batch axis) of every module of ``model`` for input ``x``."""
    shapes = []
    for m in model.modules:
        x = m.infer(x)
        shapes.append(x.shape[1:])
    return shapes


def test_lecture_network_layer_shapes():
    """The lecture's Torch network; our output layer is Softmax + fused cross-entropy."""
    rng = np.random.default_rng(0)
    X = rng.random((20, 32 * 32))
    y = np.arange(20) % 10
    clf = ConvNetClassifier(
        conv_filters=(16, 128),
        kernel_size=5,
        pool_size=2,
        padding="valid",
        hidden_layer_sizes=(200,),
        input_shape=(32, 32),
        max_iter=1,
        random_state=0,
    )
    _fit_quiet(clf, X, y)
    types = [type(m) for m in clf.model_.modules]
    assert types == [
        nn.Conv2d,
        nn.ReLU,
        nn.MaxPool2d,
        nn.Conv2d,
        nn.ReLU,
        nn.MaxPool2d,
        nn.Flatten,
        nn.Linear,
        nn.ReLU,
        nn.Linear,
        nn.Softmax,
    ]
    conv1, conv2 = clf.model_.modules[0], clf.model_.modules[3]
    assert conv1.weight.shape == (16, 1, 5, 5)
    assert conv2.weight.shape == (128, 16, 5, 5)
    fc1, fc2 = clf.model_.modules[7], clf.model_.modules[9]
    assert fc1.weight.shape == (200, 128 * 5 * 5)
    assert fc2.weight.shape == (10, 200)
    assert _shapes(clf.model_, X[:2].reshape(2, 1, 32, 32)) == [
        (16, 28, 28),
        (16, 28, 28),
        (16, 14, 14),
        (128, 10, 10),
        (128, 10, 10),
        (128, 5, 5),
        (128 * 5 * 5,),
        (200,),
        (200,),
        (10,),
        (10,),
    ]
    assert clf.input_shape_ == (1, 32, 32)
    assert clf._widest_hidden() == 128 * 10 * 10  # > 16 * 28 * 28: sizes the predict chunks
    assert [c.shape for c in clf.coefs_] == [(3200, 200), (200, 10)]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.random((60, 2, 6, 5))
    y = (X[:, 0, :3].sum(axis=(1, 2)) > X[:, 0, 3:].sum(axis=(1, 2))).astype(int)
    return X, y


def test_4d_and_3d_input_match_2d(images):
    X, y = images
    params = dict(conv_filters=(3,), kernel_size=3, hidden_layer_sizes=(6,), max_iter=5)
    a = _fit_quiet(ConvNetClassifier(**params, random_state=0), X, y)
    b = _fit_quiet(
        ConvNetClassifier(**params, input_shape=(2, 6, 5), random_state=0), X.reshape(60, -1), y
    )
    assert a.input_shape_ == b.input_shape_ == (2, 6, 5)
    assert a.n_features_in_ == 60
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.reshape(60, -1)))
    np.testing.assert_allclose(a.predict_proba(X), a.predict_proba(X.reshape(60, -1)))
    assert a.score(X, y) == b.score(X.reshape(60, -1), y)
    # 3-D: one channel
    X3 = X[:, 0]
    c = _fit_quiet(ConvNetClassifier(**params, random_state=0), X3, y)
    assert c.input_shape_ == (1, 6, 5)
    assert c.model_.modules[0].weight.shape == (3, 1, 3, 3)
    assert c.predict(X3).shape == (60,)
    with pytest.raises(ValueError, match="fitted on"):
        c.predict(X3.reshape(60, 5, 6))  # same number of values, other image shape


def test_one_dimensional_signal_mode():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12))  # 12 is not a perfect square: a 1-D signal
    y = (X[:, :6].sum(axis=1) > 0).astype(int)
    clf = _fit_quiet(
        ConvNetClassifier(conv_filters=(4, 4), kernel_size=3, pool_size=2, max_iter=5,
                          hidden_layer_sizes=(8,), random_state=0),
        X,
        y,
    )  # fmt: skip
    assert clf.input_shape_ == (1, 1, 12)
    convs = [m for m in clf.model_.modules if isinstance(m, nn.Conv2d)]
    pools = [m for m in clf.model_.modules if isinstance(m, nn.MaxPool2d)]
    assert [c.kernel_size for c in convs] == [(1, 3), (1, 3)]
    assert [p.kernel_size for p in pools] == [(1, 2), (1, 2)]
    assert clf.model_.modules[-4].weight.shape == (8, 4 * 1 * 3)  # 12 -> 6 -> 3
    assert clf.predict(X).shape == (80,)


def test_square_default_and_tiny_inputs():
    rng = np.random.default_rng(0)
    y = np.arange(30) % 3
    clf = _fit_quiet(ConvNetClassifier(max_iter=2, random_state=0), rng.random((30, 16)), y)
    assert clf.input_shape_ == (1, 4, 4)
    # images smaller than the kernel / pool: kernels capped, pooling skipped
    for n_features in (1, 2, 3, 4):
        clf = ConvNetClassifier(conv_filters=(2, 2), kernel_size=5, max_iter=2, random_state=0)
        _fit_quiet(clf, rng.random((30, n_features)), y)
        assert clf.predict(rng.random((5, n_features))).shape == (5,)
    assert [m.kernel_size for m in clf.model_.modules if isinstance(m, nn.Conv2d)] == [
        (2, 2),
        (1, 1),
    ]


@pytest.mark.parametrize(
    "params, X_shape, match",
    [
        (dict(input_shape=(5, 5)), (10, 24), "holds 25 values"),
        (dict(input_shape=(2, 3, 4)), (10, 2, 4, 3), "input_shape"),
        (dict(input_shape=(2, 3, 4, 5)), (10, 120), "must be"),
        (dict(input_shape=(0, 4)), (10, 4), "must be"),
        (dict(input_shape=(2.0, 2)), (10, 4), "must be"),
        (dict(conv_filters=(4, 0)), (10, 16), "conv_filters"),
    ],
)
def test_bad_shapes_raise(params, X_shape, match):
    X = np.ones(X_shape)
    with pytest.raises(ValueError, match=match):
        ConvNetClassifier(max_iter=1, **params).fit(X, np.arange(10) % 2)


def test_predict_shape_mismatch_raises(images):
    X, y = images
    clf = _fit_quiet(ConvNetClassifier(conv_filters=(2,), kernel_size=3, max_iter=1), X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X.reshape(60, -1)[:, :-1])
    with pytest.raises(ValueError, match="fitted on"):
        clf.predict(X.reshape(60, 2, 5, 6))
    with pytest.raises(ValueError, match="fitted on"):
        _fit_quiet(clf.set_params(warm_start=True), X.reshape(60, 2, 5, 6), y)


def test_random_shift_module():
    x = np.random.default_rng(0).random((50, 2, 5, 4))
    shift = RandomShift(2, rng=np.random.default_rng(1))
    y = shift.forward(x)
    assert y.shape == x.shape and y is not x
    assert np.abs(shift.shifts).max() == 2 and len(np.unique(shift.shifts, axis=0)) > 5
    # backward is the transpose of the (linear) shift: <S x, g> = <x, S^T g>
    g = np.random.default_rng(2).random(x.shape)
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, shift.backward(x, g)))
    assert shift.infer(x) is x
    assert shift.eval().forward(x) is x


def test_augment_shift_changes_training_not_prediction(images):
    X, y = images
    params = dict(conv_filters=(3,), kernel_size=3, hidden_layer_sizes=(6,), max_iter=5)
    plain = _fit_quiet(ConvNetClassifier(**params, random_state=0), X, y)
    aug = _fit_quiet(ConvNetClassifier(**params, augment_shift=1, random_state=0), X, y)
    again = _fit_quiet(ConvNetClassifier(**params, augment_shift=1, random_state=0), X, y)
    assert isinstance(aug.model_.modules[0], RandomShift)
    assert not np.allclose(plain.coefs_[0], aug.coefs_[0])  # the shifts changed training
    np.testing.assert_array_equal(aug.coefs_[0], again.coefs_[0])  # reproducibly
    p1 = aug.predict_proba(X)
    np.testing.assert_array_equal(p1, aug.predict_proba(X))  # predictions are deterministic
    np.testing.assert_array_equal(aug.predict(X), again.predict(X))
    restored = pickle.loads(pickle.dumps(aug))
    np.testing.assert_array_equal(p1, restored.predict_proba(X))


def test_float32_stays_float32(images):
    X, y = images
    X32 = X.astype(np.float32)
    clf = _fit_quiet(ConvNetClassifier(conv_filters=(2,), kernel_size=3, max_iter=2), X32, y)
    assert all(p.dtype == np.float32 for p in clf.model_.parameters()[0])
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32


def test_partial_fit_and_warm_start(images):
    X, y = images
    params = dict(conv_filters=(3,), kernel_size=3, hidden_layer_sizes=(6,), random_state=0)
    clf = ConvNetClassifier(**params)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1])
    w = clf.model_.modules[0].weight.copy()
    assert clf.n_iter_ == 1 and clf.input_shape_ == (2, 6, 5)
    clf.partial_fit(X[30:], y[30:])
    assert not np.array_equal(w, clf.model_.modules[0].weight)
    assert len(clf.loss_curve_) == 2
    # warm start continues from the fitted filters
    warm = _fit_quiet(ConvNetClassifier(**params, max_iter=3, warm_start=True), X, y)
    w = warm.model_.modules[0].weight.copy()
    model = warm.model_
    _fit_quiet(warm, X, y)
    assert warm.model_ is model and len(warm.loss_curve_) == 6
    assert not np.array_equal(w, warm.model_.modules[0].weight)
    # bagging: members get the image shape, also with partial_fit
    bag = ConvNetClassifier(**params, n_estimators=2).partial_fit(X, y, classes=[0, 1])
    assert bag.input_shape is None
    assert all(m.input_shape_ == (2, 6, 5) for m in bag.estimators_)
    assert bag.predict_proba(X).shape == (60, 2)


def test_shared_training_options(images):
    """Options of the shared loop work through the conv layers too."""
    X, y = images
    params = dict(conv_filters=(3,), kernel_size=3, hidden_layer_sizes=(6,), random_state=0)
    clf = _fit_quiet(
        ConvNetClassifier(**params, early_stopping=True, dropout=0.2, max_norm=1.0, max_iter=5),
        X,
        y,
    )
    assert len(clf.validation_scores_) == clf.n_iter_
    assert any(isinstance(m, nn.Dropout) for m in clf.model_.modules)
    w = clf.model_.modules[0].weight
    assert np.sqrt((w.reshape(len(w), -1) ** 2).sum(axis=1)).max() <= 1.0 + 1e-9
    lbfgs = _fit_quiet(ConvNetClassifier(**params, solver="lbfgs", max_iter=10), X, y)
    assert lbfgs.score(X, y) > 0.7
    fgsm = _fit_quiet(ConvNetClassifier(**params, adversarial_eps=0.01, max_iter=2), X, y)
    assert np.isfinite(fgsm.loss_)


def test_digits_defaults(digits):
    """The class docstring's claim: the defaults reach >= 0.98 on the 8x8 digits."""
    X_train, X_test, y_train, y_test = digits
    clf = _fit_quiet(ConvNetClassifier(random_state=0), X_train, y_train)
    assert clf.n_iter_ == 20
    assert clf.score(X_test, y_test) >= 0.98


def test_convnet_defaults_shared():
    """Both ConvNets have the same architecture and training defaults."""
    cls, reg = ConvNetClassifier().get_params(), ConvNetRegressor().get_params()
    shared = set(cls) & set(reg) - {"loss"}
    assert {k: cls[k] for k in shared} == {k: reg[k] for k in shared}
    assert set(cls) - set(reg) == {"class_weight"}


def test_beats_mlp_in_cross_validation():
    """5-fold CV on digits: the default convnet beats scikit-learn-default MLPClassifier."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sknn_backprop import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    cnn = ConvNetClassifier(random_state=0)
    mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cnn_scores = cross_val_score(cnn, X, y, cv=cv)
        mlp_scores = cross_val_score(mlp, X, y, cv=cv)
    assert cnn_scores.mean() > mlp_scores.mean(), (cnn_scores, mlp_scores)


def test_image_shape_mismatch_at_predict_names_the_shapes(digits):
    X_train, _, y_train, _ = digits
    clf = _fit_quiet(
        ConvNetClassifier(conv_filters=(2,), kernel_size=3, hidden_layer_sizes=(4,), max_iter=1),
        X_train.reshape(-1, 8, 8),
        y_train,
    )
    with pytest.raises(ValueError, match=r"\(1, 6, 6\), but the network was fitted on \(1, 8, 8\)"):
        clf.predict(np.zeros((3, 6, 6)))


# ------------------------------------------------------------------ regressor
@pytest.fixture(scope="module")
def spots():
    """8x8 images of one bright spot; the targets are its (row, column) position."""
    y = np.random.default_rng(0).uniform(1, 7, size=(300, 2))
    r = np.arange(8)
    X = np.exp(-((r[:, None] - y[:, :1, None]) ** 2) - (r - y[:, 1:, None]) ** 2)
    return X, y


def test_regressor_network_and_outputs(spots):
    X, y = spots
    reg = _fit_quiet(
        ConvNetRegressor(conv_filters=(4,), hidden_layer_sizes=(16,), random_state=0), X, y
    )
    types = [type(m) for m in reg.model_.modules]
    assert types == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten] + [
        nn.Linear,
        nn.ReLU,
        nn.Linear,
        nn.Identity,
    ]
    assert reg.input_shape_ == (1, 8, 8) and reg.out_activation_ == "identity"
    assert reg.predict(X).shape == (300, 2) and reg.n_outputs_ == 2
    assert reg.score(X, y) > 0.9
    # one target column: 1-D predictions, the same layouts as the classifier
    one = _fit_quiet(
        ConvNetRegressor(conv_filters=(4,), hidden_layer_sizes=(16,), random_state=0),
        X.reshape(300, -1),
        y[:, 0],
    )
    assert one.predict(X).shape == (300,)


def test_regressor_poisson_and_bagging(spots):
    X, y = spots
    params = dict(conv_filters=(2,), hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    poisson = _fit_quiet(ConvNetRegressor(**params, loss="poisson"), X, y)
    assert isinstance(poisson.model_.modules[-1], nn.Exp)
    assert (poisson.predict(X) > 0).all()
    with pytest.raises(ValueError, match="negative"):
        ConvNetRegressor(**params, loss="poisson").fit(X, -y)
    bag = _fit_quiet(ConvNetRegressor(**params, n_estimators=2, oob_score=True), X, y)
    assert all(m.input_shape_ == (1, 8, 8) for m in bag.estimators_)
    assert bag.oob_prediction_.shape == (300, 2)


# -- reshapes and shrunk blocks are announced (issue 24) --------------------------------


def _fit_recording(clf, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    return [str(w.message) for w in caught if w.category is UserWarning]


def test_non_square_features_without_input_shape_warn_with_the_shape():
    X = np.random.default_rng(0).normal(size=(40, 30))
    with pytest.warns(UserWarning, match="1 x 30 one-channel signal.*input_shape"):
        ConvNetClassifier(max_iter=1, random_state=0).fit(X, np.arange(40) % 2)
    # said at the first fit only, not by partial_fit continuing it
    clf = ConvNetClassifier(max_iter=1, random_state=0)
    with pytest.warns(UserWarning, match="1 x 30"):
        clf.partial_fit(X, np.arange(40) % 2, classes=[0, 1])
    assert not _fit_recording(clf.set_params(warm_start=True), X, np.arange(40) % 2)


def test_tiny_images_warn_that_kernels_and_pools_shrink():
    X = np.random.default_rng(0).normal(size=(40, 4))  # read as 2 x 2 images
    with pytest.warns(UserWarning, match=r"2 x 2 images are too small.*block 1.*shrunk to 2 x 2"):
        ConvNetClassifier(max_iter=1, random_state=0).fit(X, np.arange(40) % 2)


def test_valid_padding_that_shrinks_the_third_block_warns():
    X = np.random.default_rng(0).normal(size=(40, 64))
    clf = ConvNetClassifier(conv_filters=(2, 2, 2), padding="valid", max_iter=1, random_state=0)
    with pytest.warns(UserWarning, match=r"block 3 \(on a 1 x 1 map\): its 3 x 3 kernel shrunk "
                      r"to 1 x 1, its pooling dropped.*padding='same'"):  # fmt: skip
        clf.fit(X, np.arange(40) % 2)


@pytest.mark.parametrize(
    "params, n_features",
    [({}, 64), ({"input_shape": (1, 30)}, 30), ({"kernel_size": 5, "pool_size": 1}, 64)],
)
def test_networks_built_as_asked_do_not_warn(params, n_features):
    X = np.random.default_rng(0).normal(size=(40, n_features))
    clf = ConvNetClassifier(max_iter=1, random_state=0, **params)
    assert _fit_recording(clf, X, np.arange(40) % 2) == []
