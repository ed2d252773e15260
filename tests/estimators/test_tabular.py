"""TabularMLPClassifier / TabularMLPRegressor and their frame encoder (issue 23)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import TabularMLPClassifier, TabularMLPRegressor, nn
from sknn_backprop._tabular_network import schedule_factor
from sknn_backprop._tabular_preprocessing import TabularEncoder, smooth_clip

# small and quick: the behaviour, not the accuracy; one network trained on every row
# (the defaults bag two, each with early stopping: ``DEFAULT_FIT`` and the tests of it)
FAST = dict(
    hidden_layer_sizes=(16,), max_iter=8, random_state=0, n_estimators=1, early_stopping=False
)
# (long and fast enough that the members' validation loss turns and the best epoch matters)
DEFAULT_FIT = dict(hidden_layer_sizes=(32,), max_iter=40, learning_rate_init=0.02, random_state=0)


def _frame(n=200, seed=0):
    """A mixed frame: float with NaN, int, category with NaN, object strings, bool."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "count": rng.integers(0, 50, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue", None], n)),
            "city": rng.choice(["Oslo", "Lyon", "Porto", "Graz", "Kyiv"], n).astype(object),
            "member": rng.random(n) < 0.3,
        }
    )
    X.loc[rng.random(n) < 0.1, "num"] = np.nan
    score = X["num"].fillna(0) + (X["colour"] == "red") - 0.5 * X["member"]
    y = np.where(score > 0.3, "yes", "no")
    return X, y


X_FRAME, Y_FRAME = _frame()
Y_REG = (X_FRAME["num"].fillna(0) * 10 + 3 * (X_FRAME["city"] == "Oslo") + 100).to_numpy()


# ---------------------------------------------------------------- the encoder
def test_encoder_numeric_robust_scaling_and_smooth_clip():
    x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [1000.0]])
    enc = TabularEncoder(dtype="float64").fit(x)
    q25, med, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    assert enc.center_[0] == med
    expected = smooth_clip((x[:, 0] - med) / (q75 - q25))
    np.testing.assert_allclose(enc.transform(x)[:, 0], expected)
    assert np.abs(enc.transform(x)).max() < 3  # the outlier is clipped smoothly
    np.testing.assert_allclose(smooth_clip(np.array([0.0, 1e-3])), [0.0, 1e-3], rtol=1e-6)


def test_encoder_constant_and_binary_numeric_columns():
    x = np.array([[0.0, 7.0], [0.0, 7.0], [0.0, 7.0], [1.0, 7.0]])
    out = TabularEncoder(dtype="float64").fit_transform(x)
    assert np.isfinite(out).all()
    assert np.all(out[:, 1] == 0)  # constant column: centred, scale 1


def test_encoder_mixed_frame_layout():
    enc = TabularEncoder().fit(X_FRAME)
    assert enc.kinds_ == ["numeric", "numeric", "categorical", "categorical", "categorical"]
    names = list(enc.get_feature_names_out())
    # numeric values first (the network embeds them), then indicators and categories
    assert names[:2] == ["num", "count"]
    assert "num_missing" in names and "count_missing" not in names
    assert {"colour=red", "colour=green", "colour=blue", "colour_missing"} <= set(names)
    assert "member" in names  # two categories: one -1/+1 column
    Xt = enc.transform(X_FRAME)
    assert Xt.shape == (len(X_FRAME), len(names)) and Xt.dtype == np.float32
    member = Xt[:, names.index("member")]
    assert set(np.unique(member)) == {-1.0, 1.0}
    missing = Xt[:, names.index("num_missing")]
    np.testing.assert_array_equal(missing, X_FRAME["num"].isna())
    assert np.all(Xt[X_FRAME["num"].isna().to_numpy(), 0] == 0)  # imputed by the median
    onehot = Xt[:, [names.index(f"colour={c}") for c in ("red", "green", "blue")]]
    np.testing.assert_array_equal(onehot.sum(axis=1), X_FRAME["colour"].notna())


def test_encoder_unseen_categories_and_new_missing_values():
    enc = TabularEncoder().fit(X_FRAME)
    X = X_FRAME.head(3).copy()
    X["city"] = ["Atlantis", None, "Oslo"]
    X["count"] = [np.nan, 1, 2]  # NaN where fit saw none: imputed, no indicator
    X["colour"] = pd.Categorical(["purple", "red", None])
    Xt = enc.transform(X)
    names = list(enc.get_feature_names_out())
    city = Xt[:, [i for i, n in enumerate(names) if n.startswith("city=")]]
    np.testing.assert_array_equal(city.sum(axis=1), [0, 0, 1])
    assert Xt[0, names.index("count")] == 0
    colour = Xt[:, [i for i, n in enumerate(names) if n.startswith("colour=")]]
    np.testing.assert_array_equal(colour.sum(axis=1), [0, 1, 0])
    assert Xt[2, names.index("colour_missing")] == 1


def test_encoder_max_categories_keeps_the_most_frequent():
    x = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"]})
    enc = TabularEncoder(max_categories=3).fit(x)
    assert list(enc.categories_[0]) == ["a", "b", "c"]
    assert enc.transform(pd.DataFrame({"c": ["d"]})).sum() == 0


def test_encoder_arrays_object_arrays_and_sparse():
    X = np.arange(12.0).reshape(4, 3)
    dense = TabularEncoder().fit_transform(X)
    sparse = TabularEncoder().fit_transform(sp.csr_matrix(X))
    np.testing.assert_array_equal(dense, sparse)
    obj = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"]], dtype=object)
    enc = TabularEncoder().fit(obj)
    assert enc.kinds_ == ["numeric", "categorical"]


def test_encoder_errors():
    enc = TabularEncoder().fit(X_FRAME)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        enc.transform(X_FRAME.rename(columns={"num": "other"}))
    with pytest.raises(ValueError, match="infinity"):
        TabularEncoder().fit(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="expecting 2 features"):
        TabularEncoder().fit(np.ones((3, 2))).transform(np.ones((3, 3)))


# ------------------------------------------------------------- the estimators
@pytest.mark.parametrize("Est, y", [(TabularMLPClassifier, Y_FRAME), (TabularMLPRegressor, Y_REG)])
def test_raw_frame_in_predictions_out(Est, y):
    est = Est(**FAST).fit(X_FRAME, y)
    assert est.n_features_in_ == 5
    assert list(est.feature_names_in_) == list(X_FRAME.columns)
    pred = est.predict(X_FRAME)
    assert pred.shape == (len(X_FRAME),)
    X_new = X_FRAME.head(4).copy()
    X_new["city"] = ["Atlantis", None, "Oslo", "Lyon"]
    assert est.predict(X_new).shape == (4,)


def test_classifier_probabilities_and_labels():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    proba = clf.predict_proba(X_FRAME)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X_FRAME)) <= {"yes", "no"}
    assert list(clf.classes_) == ["no", "yes"]


def test_wrong_columns_at_predict_get_scikit_learns_error():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    with pytest.raises(ValueError, match="The feature names should match"):
        clf.predict(X_FRAME.drop(columns=["city"]))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        clf.predict(X_FRAME[X_FRAME.columns[::-1]])
    with pytest.raises(ValueError, match="X has 4 features, but TabularMLPClassifier"):
        clf.predict(X_FRAME.drop(columns=["city"]).to_numpy())


@pytest.mark.parametrize("kind", ["numpy", "sparse", "list"])
def test_numpy_sparse_and_lists(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    Xin = {"numpy": X, "sparse": sp.csr_matrix(X), "list": X.tolist()}[kind]
    clf = TabularMLPClassifier(**FAST).fit(Xin, y)
    np.testing.assert_allclose(clf.predict_proba(Xin), clf.predict_proba(X), rtol=1e-6)


def test_float32_by_default_and_float64_on_request():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    assert clf.coefs_[0].dtype == np.float32
    clf64 = TabularMLPClassifier(**FAST, dtype="float64").fit(X_FRAME, Y_FRAME)
    assert clf64.coefs_[0].dtype == np.float64


def test_network_has_realmlps_front():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    kinds = [type(m) for m in clf.model_.modules]
    assert kinds[:3] == [nn.ConcatTable, nn.JoinTable, nn.Scale]
    embedding = clf.model_.modules[0].modules[0].modules[1]
    assert isinstance(embedding, nn.PeriodicEmbedding)
    assert embedding.n_features == clf.encoder_.n_numeric_out_ == 2
    plain = TabularMLPClassifier(**FAST, numeric_embedding=False, front_scale=False)
    assert type(plain.fit(X_FRAME, Y_FRAME).model_.modules[0]) is nn.Linear


def test_regressor_standardises_its_target_and_clips_to_its_range():
    reg = TabularMLPRegressor(**FAST).fit(X_FRAME, Y_REG)
    np.testing.assert_allclose(reg.y_mean_, [Y_REG.mean()])
    np.testing.assert_allclose(reg.y_scale_, [Y_REG.std()])
    big = TabularMLPRegressor(**FAST).fit(X_FRAME, Y_REG * 1000)
    np.testing.assert_allclose(big.predict(X_FRAME), 1000 * reg.predict(X_FRAME), rtol=1e-3)
    pred = reg.predict(X_FRAME)
    assert pred.min() >= Y_REG.min() and pred.max() <= Y_REG.max()


def test_regressor_multioutput():
    Y = np.column_stack([Y_REG, -Y_REG / 10])
    reg = TabularMLPRegressor(**FAST).fit(X_FRAME, Y)
    assert reg.predict(X_FRAME).shape == (len(X_FRAME), 2)


def test_defaults_raise_no_convergence_warning():
    X, y = _frame(300, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        TabularMLPClassifier(hidden_layer_sizes=(32, 32), random_state=0).fit(X, y)
        TabularMLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, random_state=0).fit(
            X, y
        )


def test_schedule_factors_and_planned_end():
    assert schedule_factor("cosine", 0) == 1 and schedule_factor("cosine", 1) < 1e-12
    assert schedule_factor("coslog4", 0) == 0 and schedule_factor("coslog4", 1) < 1e-12
    # coslog4 peaks four times: where log2(1 + 15 t) = 0.5, 1.5, 2.5, 3.5
    for k in (0.5, 1.5, 2.5, 3.5):
        assert schedule_factor("coslog4", (2**k - 1) / 15) == pytest.approx(1)
    assert schedule_factor("constant", 0.3) == 1
    clf = TabularMLPClassifier(**{**FAST, "max_iter": 5}, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X_FRAME, Y_FRAME)
    assert clf.n_iter_ == 5
    assert clf.controls_ == []  # the schedule is the call's own, not one of the user's
    # the schedule ran down to (almost) 0 at the end of the last epoch
    assert clf._optimizer.learning_rate < 0.05 * clf.learning_rate_init


def test_constant_schedule_warns_like_scikit_learn():
    clf = TabularMLPClassifier(**FAST, lr_schedule="constant")
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_FRAME, Y_FRAME)


def test_best_epoch_restored_by_validation_loss():
    clf = TabularMLPClassifier(**{**FAST, "max_iter": 20, "early_stopping": True})
    clf.fit(X_FRAME, Y_FRAME)
    assert clf.early_stopping_metric == "loss"
    assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)


def _outputs(est, X, y):
    est.fit(X, y)
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X)


# every hyperparameter changes something measurable: (parameter, value) pairs
CLASSIFIER_CHANGES = [
    ("hidden_layer_sizes", (8, 8)),
    ("activation", "mish"),
    ("activation", "relu"),
    ("dropout", 0.5),
    ("alpha", 1.0),
    ("batch_size", 16),
    ("learning_rate_init", 0.02),
    ("lr_schedule", "coslog4"),
    ("lr_schedule", "constant"),
    ("max_iter", 3),
    ("beta_1", 0.5),
    ("beta_2", 0.999),
    ("epsilon", 0.1),
    ("early_stopping", True),
    ("clip_grad_norm", 1e-3),
    ("numeric_embedding", False),
    ("front_scale", False),
    ("max_categories", 2),
    ("dtype", "float64"),
    ("label_smoothing", 0.4),
    ("class_weight", "balanced"),
    ("shuffle", False),
    ("random_state", 1),
    ("n_estimators", 2),
]
#: the bagging parameters act on the defaults' two members
BAGGED_CHANGES = [
    ("max_samples", 0.5),
    ("bootstrap", True),
    ("n_iter_no_change", 2),
    ("early_stopping", False),
    ("n_estimators", 3),
    ("random_state", 1),
]


@pytest.mark.parametrize("name, value", CLASSIFIER_CHANGES)
def test_each_classifier_hyperparameter_changes_the_model(name, value):
    base = TabularMLPClassifier(**FAST)
    changed = clone(base).set_params(**{name: value})
    assert not np.allclose(_outputs(base, X_FRAME, Y_FRAME), _outputs(changed, X_FRAME, Y_FRAME))


@pytest.mark.parametrize("name, value", BAGGED_CHANGES)
@pytest.mark.parametrize("Est, y", [(TabularMLPClassifier, Y_FRAME), (TabularMLPRegressor, Y_REG)])
def test_each_bagging_default_changes_the_model(Est, y, name, value):
    base = Est(**DEFAULT_FIT)
    changed = clone(base).set_params(**{name: value})
    assert not np.allclose(_outputs(base, X_FRAME, y), _outputs(changed, X_FRAME, y))


@pytest.mark.parametrize(
    "name, value",
    [("loss", "absolute_error"), ("loss", "huber"), ("activation", "selu"), ("alpha", 1.0)],
)
def test_each_regressor_loss_and_activation_changes_the_model(name, value):
    base = TabularMLPRegressor(**FAST)
    changed = clone(base).set_params(**{name: value})
    assert not np.allclose(_outputs(base, X_FRAME, Y_REG), _outputs(changed, X_FRAME, Y_REG))


def test_huber_delta_changes_the_model():
    base = TabularMLPRegressor(**FAST, loss="huber", huber_delta=0.1)
    changed = clone(base).set_params(huber_delta=2.0)
    assert not np.allclose(_outputs(base, X_FRAME, Y_REG), _outputs(changed, X_FRAME, Y_REG))


def test_validation_fraction_changes_the_model():
    base = TabularMLPClassifier(**{**FAST, "early_stopping": True})
    changed = clone(base).set_params(validation_fraction=0.5)
    assert not np.allclose(_outputs(base, X_FRAME, Y_FRAME), _outputs(changed, X_FRAME, Y_FRAME))


def test_patience_and_tol_stop_early():
    clf = TabularMLPClassifier(**{**FAST, "max_iter": 30}, n_iter_no_change=1, tol=1e9)
    clf.set_params(early_stopping=True)
    clf.fit(X_FRAME, Y_FRAME)
    # the first epoch improves on nothing; the next two do not improve by 1e9:
    # scikit-learn's rule stops when the count exceeds the patience of 1
    assert clf.n_iter_ == 3


def test_verbose_prints_the_epochs(capsys):
    TabularMLPClassifier(**FAST, verbose=True).fit(X_FRAME, Y_FRAME)
    assert "Iteration 1, loss" in capsys.readouterr().out


def test_user_controls_run_after_the_schedule():
    from sknn_backprop.training import Control

    class Count(Control):
        epochs = 0

        def on_epoch_end(self, state):
            Count.epochs += 1

    clf = TabularMLPClassifier(**FAST, controls=[Count()])
    clf.fit(X_FRAME, Y_FRAME)
    assert Count.epochs == clf.n_iter_ == FAST["max_iter"]
    assert [type(c) for c in clf.controls_] == [Count]


def test_sample_weight_and_class_weight():
    w = np.where(Y_FRAME == "yes", 5.0, 1.0)
    a = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME, sample_weight=w)
    b = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    assert a.predict_proba(X_FRAME)[:, 1].mean() > b.predict_proba(X_FRAME)[:, 1].mean()


def test_bagging_members_share_the_encoder():
    three = {**FAST, "n_estimators": 3, "bootstrap": True, "max_samples": 1.0}
    clf = TabularMLPClassifier(**three, oob_score=True).fit(X_FRAME, Y_FRAME)
    assert len(clf.estimators_) == 3
    assert all(m.encoder_ is clf.encoder_ for m in clf.estimators_)
    assert 0 <= clf.oob_score_ <= 1
    reg = TabularMLPRegressor(**{**FAST, "n_estimators": 2}).fit(X_FRAME, Y_REG)
    assert reg.predict(X_FRAME).shape == (len(X_FRAME),)


def test_warm_start_continues_and_keeps_the_encoder():
    # (with early stopping a second fit keeps the first's best weights unless it beats them)
    clf = TabularMLPClassifier(**FAST, warm_start=True)
    clf.fit(X_FRAME, Y_FRAME)
    encoder, weights = clf.encoder_, clf.coefs_[0].copy()
    clf.fit(X_FRAME, Y_FRAME)
    assert clf.encoder_ is encoder
    assert not np.allclose(clf.coefs_[0], weights)


def test_partial_fit_only_without_early_stopping():
    assert not hasattr(TabularMLPClassifier(), "partial_fit")  # the default stops early
    assert hasattr(TabularMLPClassifier(early_stopping=False), "partial_fit")
    clf = TabularMLPClassifier(**FAST)
    clf.partial_fit(X_FRAME, Y_FRAME, classes=["no", "yes"])
    clf.partial_fit(X_FRAME, Y_FRAME)
    assert clf.predict(X_FRAME).shape == (len(X_FRAME),)
    reg = TabularMLPRegressor(**FAST)
    reg.partial_fit(X_FRAME, Y_REG).partial_fit(X_FRAME, Y_REG)
    assert reg.predict(X_FRAME).shape == (len(X_FRAME),)


def test_pickle_round_trip():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_FRAME), clf.predict_proba(X_FRAME))


def test_failed_fit_leaves_the_previous_model_usable():
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    before = clf.predict_proba(X_FRAME)
    with pytest.raises(ValueError):
        clf.fit(X_FRAME.assign(num=np.inf), Y_FRAME)
    np.testing.assert_array_equal(clf.predict_proba(X_FRAME), before)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="requires y to be passed"):
        TabularMLPClassifier(**FAST).fit(X_FRAME, None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME[:-1])
    with pytest.raises(ValueError):
        TabularMLPRegressor(**FAST).fit(X_FRAME, Y_FRAME)  # strings as a regression target
    with pytest.raises(ValueError, match="activation"):
        TabularMLPClassifier(activation="softplus").fit(X_FRAME, Y_FRAME)


def test_training_curve_display():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sknn_backprop import TrainingCurveDisplay

    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    disp = TrainingCurveDisplay.from_estimator(clf)
    assert disp.ax_ is not None
    # the default, bagged: the mean's loss and the members' behind it; a member's own
    # validation curve and best epoch on request
    bagged = TabularMLPClassifier(**DEFAULT_FIT).fit(X_FRAME, Y_FRAME)
    disp = TrainingCurveDisplay.from_estimator(bagged)
    assert len(disp.member_lines_) == 2 and disp.validation_loss_line_ is None
    one = bagged.estimators_[1]
    disp = TrainingCurveDisplay.from_estimator(bagged, member=1)
    np.testing.assert_allclose(
        disp.validation_loss_line_.get_ydata(), one.validation_loss_curve_
    )
    assert disp.best_epoch == int(np.argmin(one.validation_loss_curve_)) + 1
    assert disp.estimator_name == "TabularMLPClassifier, member 1"
    for bad in (2, -3, 0.5):
        with pytest.raises(ValueError, match="member must be an int in"):
            TrainingCurveDisplay.from_estimator(bagged, member=bad)
    with pytest.raises(ValueError, match="needs a bagged network"):
        TrainingCurveDisplay.from_estimator(clf, member=0)


@pytest.mark.slow
def test_defaults_beat_scikit_learns_mlp_in_cross_validation():
    """On a frame with categoricals, NaN and 10% label noise (real labels are noisy),
    behind the plumbing scikit-learn's MLP needs: the log-loss of 5-fold CV
    (ours 0.390, scikit-learn's 0.433 when written)."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _frame(800, seed=3)
    flip = np.random.default_rng(1).random(len(y)) < 0.1
    y = np.where(flip, np.where(y == "yes", "no", "yes"), y)
    plumbing = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["num", "count"]),
        (
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="ignore"),
            ),
            ["colour", "city", "member"],
        ),
    )
    X = X.astype({"colour": object})
    sk = make_pipeline(plumbing, MLPClassifier(random_state=0))
    ours = TabularMLPClassifier(random_state=0)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's, at 200 epochs
        theirs = cross_val_score(sk, X, y, cv=cv, scoring="neg_log_loss").mean()
    mine = cross_val_score(ours, X, y, cv=cv, scoring="neg_log_loss").mean()
    assert mine > theirs


def test_metadata_routing_through_grid_search():
    import sklearn
    from sklearn.model_selection import GridSearchCV

    w = np.where(Y_FRAME == "yes", 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = TabularMLPClassifier(**FAST).set_fit_request(sample_weight=True)
        est.set_score_request(sample_weight=False)
        search = GridSearchCV(est, {"dropout": [0.0, 0.2]}, cv=2).fit(
            X_FRAME, Y_FRAME, sample_weight=w
        )
    weighted = TabularMLPClassifier(**FAST, dropout=search.best_params_["dropout"])
    weighted.fit(X_FRAME, Y_FRAME, sample_weight=w)
    np.testing.assert_allclose(
        search.best_estimator_.predict_proba(X_FRAME), weighted.predict_proba(X_FRAME)
    )


def test_progress_callback_changes_nothing():
    callback = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    clf = TabularMLPClassifier(**FAST).set_callbacks(callback.ProgressBar())
    clf.fit(X_FRAME, Y_FRAME)
    reference = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    assert clf.loss_curve_ == reference.loss_curve_


def test_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    clf = TabularMLPClassifier(**FAST).fit(X_FRAME, Y_FRAME)
    data = sio.dumps(clf)
    again = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(again.predict_proba(X_FRAME), clf.predict_proba(X_FRAME))


def test_the_package_imports_without_pandas_and_the_tabular_fit_says_what_it_needs(tmp_path):
    """pandas is the tabular estimators' extra, not a dependency of the package."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "pandas.py").write_text("raise ImportError('no pandas here')\n")
    root = Path(__file__).resolve().parents[2]
    code = (
        "import numpy as np, sknn_backprop\n"
        "from sknn_backprop import TabularMLPClassifier, MLPClassifier\n"
        "X = np.random.default_rng(0).normal(size=(20, 3)); y = np.arange(20) % 2\n"
        "MLPClassifier(max_iter=2).fit(X, y)\n"
        "try:\n"
        "    TabularMLPClassifier(max_iter=1).fit(X, y)\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{root}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert 'pip install "sknn-backprop[tabular]"' in out.stdout


@pytest.mark.parametrize("Est, y", [(TabularMLPClassifier, Y_FRAME), (TabularMLPRegressor, Y_REG)])
def test_default_is_two_cross_fitted_members(Est, y):
    """The default: two networks, each trained on its own 80% of the rows, each with
    the weights of its epoch of least loss on the other 20%; the model is their mean."""
    est = Est(**DEFAULT_FIT).fit(X_FRAME, y)
    n = len(X_FRAME)
    assert len(est.estimators_) == 2
    rows = [np.sort(r) for r in est.estimators_samples_]
    assert all(len(r) == round(0.8 * n) and len(np.unique(r)) == len(r) for r in rows)
    assert not np.array_equal(rows[0], rows[1])
    assert len(np.union1d(*rows)) > 0.9 * n  # together they see (almost) every row
    for member, r in zip(est.estimators_, rows):
        assert member.best_validation_loss_ == min(member.validation_loss_curve_)
        # it trained on all of its rows (validated on the others, not on a split of its own)
        assert member.t_ == member.n_iter_ * len(r)
        assert len(member.validation_loss_curve_) == member.n_iter_
    # the mean of the members' network outputs, decoded once (probabilities; the
    # regressor's targets unscaled and clipped to the training range)
    Xt = est.encoder_.transform(X_FRAME)
    raw = np.mean([m._raw_predict(Xt) for m in est.estimators_], axis=0)
    if hasattr(est, "predict_proba"):  # binary: one sigmoid output, P(second class)
        np.testing.assert_allclose(est.predict_proba(X_FRAME)[:, 1], raw[:, 0], rtol=1e-6)
    else:
        np.testing.assert_allclose(est.predict(X_FRAME), est._decode(raw), rtol=1e-6)


@pytest.mark.parametrize("n", [3, 4, 5, 6, 9])
def test_defaults_fit_a_table_of_a_few_rows(n):
    """Too few rows to hold any out: the members train for their whole schedule."""
    X, y = X_FRAME.head(n), np.arange(n) % 2
    clf = TabularMLPClassifier(**DEFAULT_FIT).fit(X, y)
    reg = TabularMLPRegressor(**DEFAULT_FIT).fit(X, Y_REG[:n])
    assert clf.predict(X).shape == reg.predict(X).shape == (n,)
    for member in clf.estimators_ + reg.estimators_:
        # up to 6 rows: 1 out of the bag, too few of its own to split; 9 rows: 2 out
        assert member.early_stopping is (n > 6)
        assert (member.validation_loss_curve_ is None) is (n <= 6)


@pytest.mark.parametrize("n_estimators", [1, 2])
def test_partial_fit_after_a_default_fit(n_estimators):
    """The defaults stop early; turning that off for partial_fit continues the model
    (the members take the ensemble's new parameters)."""
    clf = TabularMLPClassifier(**{**DEFAULT_FIT, "n_estimators": n_estimators})
    clf.fit(X_FRAME, Y_FRAME)
    before = clf.predict_proba(X_FRAME)
    clf.set_params(early_stopping=False).partial_fit(X_FRAME, Y_FRAME)
    assert not np.allclose(clf.predict_proba(X_FRAME), before)
    members = clf.estimators_ if n_estimators > 1 else [clf]
    assert all(not m.early_stopping and np.isfinite(m.best_loss_) for m in members)


def test_warm_start_with_the_defaults_trains_again():
    """A warm start runs a new schedule and searches its own best epoch: the members'
    weights move (a stopping counter kept from the first fit would end it at once)."""
    clf = TabularMLPClassifier(**DEFAULT_FIT, warm_start=True).fit(X_FRAME, Y_FRAME)
    weights = [m.coefs_[0].copy() for m in clf.estimators_]
    clf.fit(X_FRAME, Y_FRAME)
    for member, w in zip(clf.estimators_, weights):
        assert member.n_iter_ > 1
        assert not np.allclose(member.coefs_[0], w)
    # warm starts switching early stopping off and on again
    clf.set_params(early_stopping=False).fit(X_FRAME, Y_FRAME)
    clf.set_params(early_stopping=True).fit(X_FRAME, Y_FRAME)
    assert all(m.early_stopping for m in clf.estimators_)


def test_defaults_with_few_nonzero_sample_weights():
    """Held-out rows that all weigh 0 are measured unweighted (a weighted mean of
    nothing is undefined) instead of failing the fit."""
    rng = np.random.default_rng(0)
    for seed in range(6):
        sw = np.zeros(len(X_FRAME))
        sw[rng.choice(len(X_FRAME), 3, replace=False)] = 1.0
        clf = TabularMLPClassifier(**{**DEFAULT_FIT, "max_iter": 3, "random_state": seed})
        clf.fit(X_FRAME, Y_FRAME, sample_weight=sw)
        assert np.isfinite(clf.predict_proba(X_FRAME)).all()
