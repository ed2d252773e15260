"""``NeuralNetClassifier`` / ``NeuralNetRegressor``: any ``nn`` network as an estimator."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn_backprop import (
    ConvNetClassifier,
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
    nn,
)
from tests._expected_failures import expected_failed_checks

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small_mlp(n_features, n_outputs):
    return nn.Sequential(nn.Linear(n_features, 16), nn.Tanh(), nn.Linear(16, n_outputs))


def conv_module(n_features, n_outputs):
    """A small convnet for any square one-channel image (check_estimator's data is 2-D)."""
    side = int(np.sqrt(n_features))
    if side * side != n_features:  # not an image: an MLP
        return small_mlp(n_features, n_outputs)
    return nn.Sequential(
        nn.Reshape(1, side, side),
        nn.Conv2d(1, 2, 1),
        nn.ReLU(),
        nn.Reshape(2 * side * side),
        nn.Linear(2 * side * side, n_outputs),
    )


def lecture_convnet():
    """The lecture's Torch7 listing (conv -> ReLU -> pool, twice; dense head;
    LogSoftmax), for 8x8 digits: 3x3 kernels with padding keep the small images."""
    model = nn.Sequential()
    model.add(nn.Reshape(1, 8, 8))
    model.add(nn.Conv2d(1, 8, 3, padding=1))
    model.add(nn.ReLU())
    model.add(nn.MaxPool2d(2))
    model.add(nn.Conv2d(8, 16, 3, padding=1))
    model.add(nn.ReLU())
    model.add(nn.MaxPool2d(2))
    model.add(nn.Reshape(16 * 2 * 2))
    model.add(nn.Linear(16 * 2 * 2, 32))
    model.add(nn.ReLU())
    model.add(nn.Linear(32, 10))
    model.add(nn.LogSoftmax())
    return model


_KW = dict(max_iter=100, learning_rate_init=0.01, random_state=0)
ESTIMATORS = [
    NeuralNetClassifier(),
    NeuralNetRegressor(),
    NeuralNetClassifier(small_mlp, **_KW),
    NeuralNetRegressor(small_mlp, **_KW),
    NeuralNetClassifier(conv_module, **_KW),
    # three members: check_class_weight_classifiers fits unscaled blobs (std 20), on
    # which a 16-tanh-unit member can saturate; whether one of two such members tips
    # the vote depends on the draw (2 of 8 seeds fail with two members, none with three)
    NeuralNetClassifier(small_mlp, n_estimators=3, **_KW),
    NeuralNetRegressor(small_mlp, n_estimators=2, **_KW),
    NeuralNetRegressor(small_mlp, criterion="huber", huber_delta=0.5, solver="rmsprop", **_KW),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_default_module_is_the_default_mlp(digits):
    X, y = digits
    for Net, MLP, target in (
        (NeuralNetClassifier, MLPClassifier, y),
        (NeuralNetRegressor, MLPRegressor, y / 9.0),
    ):
        a = MLP(max_iter=4, random_state=0).fit(X[:300], target[:300])
        b = Net(max_iter=4, random_state=0).fit(X[:300], target[:300])
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(a.predict(X[300:400]), b.predict(X[300:400]))


def test_lecture_listing_equals_convnet_classifier(digits):
    """The listing trains exactly as the ConvNetClassifier that builds the same layers."""
    X, y = digits
    net = nn.Sequential(
        nn.Reshape(1, 8, 8), nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Reshape(64), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10), nn.LogSoftmax(),
    )  # fmt: skip
    kw = dict(batch_size=32, learning_rate_init=0.001, max_iter=3, random_state=0)
    a = NeuralNetClassifier(net, **kw).fit(X[:200], y[:200])
    b = ConvNetClassifier(conv_filters=(4,), kernel_size=3, hidden_layer_sizes=(16,), **kw)
    b.fit(X[:200], y[:200])
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(a.predict_proba(X[200:300]), b.predict_proba(X[200:300]), rtol=1e-10)


def test_fit_never_modifies_module_and_redraws_from_random_state(digits):
    X, y = digits
    net = lecture_convnet()
    before = [p.copy() for p in net.parameters()[0]]
    a = NeuralNetClassifier(net, max_iter=2, random_state=0).fit(X[:100], y[:100])
    for p, q in zip(before, net.parameters()[0]):
        np.testing.assert_array_equal(p, q)
    assert a.module_ is not net
    assert isinstance(a.module_.modules[-1], nn.LogSoftmax)  # module_ is the user's copy
    assert isinstance(a.model_.modules[-1], nn.Softmax)  # model_ predicts probabilities
    # module_ and model_ share the trained layers
    assert a.module_.modules[1] is a.model_.modules[1]
    # parameters drawn afresh from random_state: differ from the module's, same for a seed
    init0 = NeuralNetClassifier(net, max_iter=1, random_state=0).fit(X[:100], y[:100])
    init1 = NeuralNetClassifier(net, max_iter=1, random_state=1).fit(X[:100], y[:100])
    w0, w1 = init0.module_.modules[1].weight, init1.module_.modules[1].weight
    assert not np.allclose(w0, w1)
    again = NeuralNetClassifier(net, max_iter=1, random_state=0).fit(X[:100], y[:100])
    np.testing.assert_array_equal(w0, again.module_.modules[1].weight)


def test_warm_start_starts_from_the_modules_weights(digits):
    X, y = digits
    net = small_mlp(64, 10)
    est = NeuralNetClassifier(net, warm_start=True, solver="sgd", learning_rate_init=1e-12,
                              max_iter=1, random_state=0).fit(X[:100], y[:100])  # fmt: skip
    np.testing.assert_allclose(est.module_.modules[0].weight, net.modules[0].weight, atol=1e-9)


def test_lecture_convnet_in_grid_search(digits):
    X, y = digits
    search = GridSearchCV(
        NeuralNetClassifier(batch_size=32, max_iter=15, random_state=0),
        {"module": [lecture_convnet(), small_mlp(64, 10)], "learning_rate_init": [0.003, 0.01]},
        cv=2,
        n_jobs=2,
    ).fit(X[:400], y[:400])
    assert search.best_score_ > 0.8
    best = search.best_estimator_
    assert best.score(X[400:700], y[400:700]) > 0.8
    assert len(search.cv_results_["params"]) == 4


def test_module_ending_in_softmax_sigmoid_or_linear(digits):
    X, y = digits
    yb = (y > 4).astype(int)
    kw = dict(max_iter=60, learning_rate_init=0.01, random_state=0)
    soft2 = nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 2), nn.Softmax())
    est = NeuralNetClassifier(soft2, **kw).fit(X[:300], yb[:300])
    proba = est.predict_proba(X[300:400])
    assert proba.shape == (100, 2) and np.allclose(proba.sum(axis=1), 1)
    assert est.score(X[300:600], yb[300:600]) > 0.7
    sig = nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    est = NeuralNetClassifier(sig, **kw).fit(X[:300], yb[:300])
    assert isinstance(
        est._objective(*est.model_.get_parameters()).criterion, nn.BCEWithLogitsCriterion
    )
    assert est.score(X[300:600], yb[300:600]) > 0.7
    logits = NeuralNetClassifier(small_mlp, **kw).fit(X[:300], y[:300])
    assert isinstance(logits.model_.modules[-1], nn.Softmax)
    assert logits.score(X[300:600], y[300:600]) > 0.8


def test_wrong_output_width_names_the_module(digits):
    X, y = digits
    est = NeuralNetClassifier(small_mlp(64, 3), max_iter=2)
    with pytest.raises(ValueError, match="module outputs 3 values per sample.*10 classes"):
        est.fit(X[:100], y[:100])
    assert not hasattr(est, "model_")
    with pytest.raises(TypeError, match="must return an nn.Module"):
        NeuralNetRegressor(lambda n_in, n_out: "not a module").fit(X[:50], y[:50])


def test_training_hyperparameters_apply(digits):
    X, y = digits
    base = dict(module=small_mlp, max_iter=5, random_state=0)
    ref = NeuralNetClassifier(**base).fit(X[:300], y[:300])
    extras = [
        dict(alpha=1.0), dict(l1_ratio=0.5, alpha=0.1), dict(max_norm=0.1),
        dict(clip_grad_norm=0.01), dict(adversarial_eps=0.1), dict(input_noise=0.5),
        dict(solver="sgd"), dict(batch_size=16), dict(class_weight="balanced"),
    ]  # fmt: skip
    for extra in extras:
        other = NeuralNetClassifier(**base, **extra).fit(X[:300], y[:300])
        assert not np.allclose(ref.coefs_[0], other.coefs_[0]), extra
    es = NeuralNetClassifier(**{**base, "max_iter": 50}, early_stopping=True, n_iter_no_change=2)
    es.fit(X[:300], y[:300], X_val=X[300:400], y_val=y[300:400])
    assert len(es.validation_scores_) == es.n_iter_ < 50
    sw = np.r_[np.ones(150), np.zeros(150)]
    w = NeuralNetClassifier(**base).fit(X[:300], y[:300], sample_weight=sw)
    cut = NeuralNetClassifier(**base).fit(X[:150], y[:150])
    assert not np.allclose(w.coefs_[0], ref.coefs_[0])
    assert cut.coefs_[0].shape == w.coefs_[0].shape
    f32 = NeuralNetRegressor(small_mlp, max_iter=3).fit(X[:100].astype(np.float32), y[:100])
    assert f32.module_.modules[0].weight.dtype == np.float32
    assert f32.predict(X[:5].astype(np.float32)).dtype == np.float32


def test_partial_fit_warm_start_clone_pickle(digits):
    X, y = digits
    est = NeuralNetClassifier(lecture_convnet(), random_state=0)
    for i in range(3):
        est.partial_fit(
            X[i * 100 : (i + 1) * 100], y[i * 100 : (i + 1) * 100], classes=np.arange(10)
        )
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 3
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X[:50]), est.predict_proba(X[:50]))
    fresh = clone(est)
    assert not hasattr(fresh, "module_") and fresh.module is not est.module
    reg = NeuralNetRegressor(small_mlp, warm_start=True, max_iter=3, random_state=0)
    reg.fit(X[:100], y[:100])
    first = reg.loss_curve_[-1]
    reg.fit(X[:100], y[:100])
    assert len(reg.loss_curve_) == 6 and reg.loss_curve_[-1] < first


def test_regressor_poisson_and_multioutput():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=2, random_state=0)
    reg = NeuralNetRegressor(small_mlp, solver="lbfgs", max_iter=200, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y) > 0.9
    counts = np.random.default_rng(0).poisson(np.exp(X[:, 0] / 3))
    pois = NeuralNetRegressor(small_mlp, criterion="poisson", max_iter=50, random_state=0)
    pred = pois.fit(X, counts).predict(X)
    assert isinstance(pois.model_.modules[-1], nn.Exp) and (pred > 0).all()
    with pytest.raises(ValueError, match="negative"):
        NeuralNetRegressor(criterion="poisson").fit(X, -np.abs(counts) - 1)


def _two_units(n_features, n_outputs):
    return nn.Sequential(nn.Linear(n_features, 8), nn.Tanh(), nn.Linear(8, 2))


@pytest.mark.parametrize("extra", [{}, {"early_stopping": True}])
def test_bagged_two_unit_binary_members_train_a_softmax(digits, extra):
    X, y = digits
    yb = (y[:300] > 4).astype(int)
    kw = dict(n_estimators=3, max_iter=30, learning_rate_init=0.01, random_state=0)
    est = NeuralNetClassifier(_two_units, **kw, **extra)
    est.fit(X[:300], yb)
    assert all(isinstance(m.model_.modules[-1], nn.Softmax) for m in est.estimators_)
    proba = est.predict_proba(X[300:400])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert est.score(X[300:600], (y[300:600] > 4).astype(int)) > 0.6


def test_two_unit_squared_error_probabilities_sum_to_one(digits):
    X, y = digits
    yb = (y[:300] > 4).astype(int)
    est = NeuralNetClassifier(_two_units, criterion="squared_error", max_iter=20, random_state=0)
    proba = est.fit(X[:300], yb).predict_proba(X[300:400])
    assert isinstance(est.model_.modules[-1], nn.Sigmoid)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_one_unit_softmax_is_a_clear_error(digits):
    X, y = digits
    net = nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 1), nn.Softmax())
    with pytest.raises(ValueError, match="one-unit nn.Softmax"):
        NeuralNetClassifier(net, max_iter=1).fit(X[:100], (y[:100] > 4).astype(int))


def test_a_factory_handing_out_one_network_is_not_trained_in_place(digits):
    X, y = digits
    shared = small_mlp(64, 10)
    before = shared.modules[0].weight.copy()
    a = NeuralNetClassifier(lambda n_in, n_out: shared, max_iter=3, random_state=0)
    b = NeuralNetClassifier(lambda n_in, n_out: shared, max_iter=3, random_state=1)
    a.fit(X[:200], y[:200])
    b.fit(X[:200], y[:200])
    np.testing.assert_array_equal(shared.modules[0].weight, before)
    assert a.module_ is not shared and a.module_ is not b.module_
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


# -- errors that name the numbers (issue 24) --------------------------------------------


@pytest.mark.parametrize("n_out", [10, 1])
def test_a_first_layer_of_the_wrong_width_names_both_widths(n_out):
    # before: numpy's "matmul: Input operand 1 has a mismatch in its core dimension 0"
    X = np.zeros((20, 64))
    y = np.arange(20) % (10 if n_out == 10 else 2)
    module = nn.Sequential(nn.Linear(60, 16), nn.ReLU(), nn.Linear(16, n_out))
    with pytest.raises(ValueError, match=r"layer 0, nn.Linear\(60 -> 16\), expects 60 input "
                       r"features, but X has 64 features"):  # fmt: skip
        NeuralNetClassifier(module, max_iter=1).fit(X, y)


def test_a_deeper_layer_of_the_wrong_width_names_both_widths():
    module = nn.Sequential(nn.Reshape(1, 8, 8), nn.Conv2d(1, 2, 3, padding=1), nn.Reshape(128),
                           nn.Linear(100, 1))  # fmt: skip
    with pytest.raises(ValueError, match="layer 3.*expects 100 input features, but it gets 128"):
        NeuralNetRegressor(module, max_iter=1).fit(np.zeros((20, 64)), np.zeros(20))


# -- the engine's criterion objects (issue 24) --------------------------------------------


def test_cross_entropy_criterion_object_trains_as_log_loss():
    # before: InvalidParameterError (only 'log_loss' and 'squared_error' were accepted)
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    crit = nn.CrossEntropyCriterion()
    a = NeuralNetClassifier(random_state=0, max_iter=5).fit(X, y)
    b = NeuralNetClassifier(criterion=crit, random_state=0, max_iter=5).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert b.criterion_ is not crit and b.criterion is crit  # trained as a copy
    assert b.out_activation_ == "softmax"


def test_class_nll_after_log_softmax_and_mse_after_sigmoid():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    nll = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10), nn.LogSoftmax())
    clf = NeuralNetClassifier(nll, criterion=nn.ClassNLLCriterion(), random_state=0,
                              learning_rate_init=0.01, max_iter=60).fit(X, y)  # fmt: skip
    assert clf.score(X, y) > 0.8
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1)
    mse = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10), nn.Sigmoid())
    clf = NeuralNetClassifier(mse, criterion=nn.MSECriterion(), random_state=0,
                              learning_rate_init=0.01, max_iter=60).fit(X, y)  # fmt: skip
    assert clf.score(X, y) > 0.5
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1)


def test_regressor_criterion_object_equals_the_string_it_names():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, -2.0, 0.5]
    a = NeuralNetRegressor(random_state=0, max_iter=20, early_stopping=True).fit(X, y)
    b = NeuralNetRegressor(criterion=nn.MSECriterion(average_outputs=True), random_state=0,
                           max_iter=20, early_stopping=True).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.validation_loss_curve_ == b.validation_loss_curve_
    c = NeuralNetRegressor(criterion=nn.SmoothL1Criterion(), random_state=0, max_iter=50)
    assert c.fit(X, y).score(X, y) > 0.5
    import pickle

    from sklearn.base import clone

    assert pickle.loads(pickle.dumps(c)).predict(X).shape == (120,)
    assert isinstance(clone(c).criterion, nn.SmoothL1Criterion)
