"""Bagging ensembles of networks (``n_estimators > 1``)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.ensemble import BaggingClassifier, VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:300], y[:300]


def _bag(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=10, n_estimators=3, random_state=0)
    params.update(kw)
    return MLPClassifier(**params)


def test_predict_proba_is_mean_of_members(small):
    X, y = small
    clf = _bag(dropout=0.1).fit(X, y)
    assert len(clf.estimators_) == 3
    members = np.mean([m.predict_proba(X) for m in clf.estimators_], axis=0)
    assert_allclose(clf.predict_proba(X), members, rtol=1e-12, atol=1e-15)
    assert_array_equal(clf.predict(X), clf.classes_[members.argmax(axis=1)])
    assert not hasattr(clf, "model_")


def test_n_jobs_does_not_change_results(small):
    X, y = small
    serial = _bag(n_jobs=1, dropout=0.1).fit(X, y)
    parallel = _bag(n_jobs=2, dropout=0.1).fit(X, y)
    assert_array_equal(serial.predict_proba(X), parallel.predict_proba(X))
    for a, b in zip(serial.estimators_samples_, parallel.estimators_samples_):
        assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
def test_oob_score_close_to_held_out(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    clf = MLPClassifier(
        hidden_layer_sizes=(32,), max_iter=40, n_estimators=8, oob_score=True, random_state=0
    ).fit(X_train, y_train)
    held_out = clf.score(X_test, y_test)
    assert abs(clf.oob_score_ - held_out) < 0.05, (clf.oob_score_, held_out)
    assert clf.oob_decision_function_.shape == (len(X_train), 10)
    seen = ~np.isnan(clf.oob_decision_function_).any(axis=1)
    assert_allclose(clf.oob_decision_function_[seen].sum(axis=1), 1)


def test_bagged_dropout_mlp_beats_single(digits):
    # measured: single 0.936 (0.947, 0.928, 0.933), bagged 0.953 (0.957, 0.948, 0.955)
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    kw = dict(hidden_layer_sizes=(32,), max_iter=40, dropout=0.2, random_state=0)
    single = make_pipeline(StandardScaler(), MLPClassifier(**kw))
    bagged = make_pipeline(StandardScaler(), MLPClassifier(n_estimators=5, **kw))
    s1 = cross_val_score(single, X, y, cv=cv)
    s5 = cross_val_score(bagged, X, y, cv=cv)
    assert s5.mean() >= s1.mean(), (s1, s5)


def test_every_member_knows_every_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.array([0] * 15 + [1] * 14 + [2])  # class 2 has a single row
    clf = MLPClassifier(
        hidden_layer_sizes=(5,), max_iter=5, n_estimators=4, max_samples=0.3, random_state=0
    ).fit(X, y)
    missing = [2 not in y[rows] for rows in clf.estimators_samples_]
    assert any(missing)  # the set-up really leaves the rare class out of some resample
    for member in clf.estimators_:
        assert_array_equal(member.classes_, [0, 1, 2])
        assert member.predict_proba(X).shape == (30, 3)
    assert clf.predict_proba(X).shape == (30, 3)


@pytest.mark.parametrize("max_samples, expected", [(0.5, 150), (1.0, 300), (40, 40)])
def test_samples_follow_max_samples(small, max_samples, expected):
    X, y = small
    clf = _bag(max_iter=2, max_samples=max_samples).fit(X, y)
    assert len(clf.estimators_samples_) == 3
    assert [len(rows) for rows in clf.estimators_samples_] == [expected] * 3


def test_without_bootstrap_rows_are_distinct(small):
    X, y = small
    clf = _bag(max_iter=2, bootstrap=False, max_samples=0.7).fit(X, y)
    for rows in clf.estimators_samples_:
        assert len(rows) == 210
        assert len(np.unique(rows)) == len(rows)
    with_replacement = _bag(max_iter=2, max_samples=0.7).fit(X, y)
    assert any(len(np.unique(r)) < len(r) for r in with_replacement.estimators_samples_)


def test_warm_start_adds_members_and_keeps_old_ones(small):
    X, y = small
    clf = _bag(max_iter=3, warm_start=True).fit(X, y)
    old = list(clf.estimators_)
    old_rows = [r.copy() for r in clf.estimators_samples_]
    old_curves = [len(m.loss_curve_) for m in old]
    clf.set_params(n_estimators=5).fit(X, y)
    assert len(clf.estimators_) == 5
    for member, before, rows, n in zip(clf.estimators_, old, old_rows, old_curves):
        assert member is before
        assert_array_equal(clf.estimators_samples_[old.index(member)], rows)
        assert len(member.loss_curve_) == 2 * n  # trained further, not re-initialised
    # the new members are the ones a fresh 5-member fit would have
    fresh = _bag(max_iter=3, n_estimators=5).fit(X, y)
    for new, ref in zip(clf.estimators_[3:], fresh.estimators_[3:]):
        for a, b in zip(new.coefs_, ref.coefs_):
            assert_array_equal(a, b)
    with pytest.raises(ValueError, match="n_estimators"):
        clf.set_params(n_estimators=2).fit(X, y)


def test_partial_fit_updates_every_member(small):
    X, y = small
    clf = _bag()
    clf.partial_fit(X[:150], y[:150], classes=np.unique(y))
    before = [m.coefs_[0].copy() for m in clf.estimators_]
    clf.partial_fit(X[150:], y[150:])
    assert len(clf.estimators_) == 3
    for m, b in zip(clf.estimators_, before):
        assert not np.array_equal(m.coefs_[0], b)
    assert clf.predict(X).shape == (300,)


def test_early_stopping_uses_out_of_bag_rows(small):
    X, y = small
    clf = _bag(max_iter=20, early_stopping=True).fit(X, y)
    for member, rows in zip(clf.estimators_, clf.estimators_samples_):
        assert member.validation_scores_ and len(member.validation_scores_) == member.n_iter_
        # the member trained on all its drawn rows: no further split for validation
        assert member.t_ == member.n_iter_ * len(rows)
    assert clf.best_validation_score_ == pytest.approx(
        np.mean([m.best_validation_score_ for m in clf.estimators_])
    )


def test_inside_sklearn_ensembles(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bag = BaggingClassifier(
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=50), n_estimators=3, random_state=0
        ).fit(X, y)
        vote = VotingClassifier(
            [
                ("a", MLPClassifier(max_iter=50, random_state=0)),
                ("lr", LogisticRegression(max_iter=500)),
            ],
            voting="soft",
        ).fit(X, y)
    assert len(bag.estimators_) == 3
    assert bag.score(X, y) > 0.8
    assert vote.predict_proba(X).shape == (300, 10)
    assert vote.score(X, y) > 0.9


@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
def test_regressor_bagging_averages_and_sets_oob_prediction():
    X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    y = (y - y.mean()) / y.std()
    reg = MLPRegressor(
        hidden_layer_sizes=(16,),
        solver="lbfgs",
        max_iter=200,
        n_estimators=4,
        oob_score=True,
        random_state=0,
    ).fit(X, y)
    members = np.mean([m.predict(X) for m in reg.estimators_], axis=0)
    assert_allclose(reg.predict(X), members, rtol=1e-12, atol=1e-12)
    assert reg.oob_prediction_.shape == (200,)
    seen = ~np.isnan(reg.oob_prediction_)
    assert seen.sum() > 150
    assert reg.oob_score_ > 0.8


def test_a_members_rows_and_its_initialisation_draw_from_separate_streams():
    from sknn_backprop import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    bag = MLPClassifier((4,), max_iter=2, n_estimators=3, random_state=0).fit(X, y)
    for member, rows in zip(bag.estimators_, bag.estimators_samples_):
        # (one integer seed used to feed both: its RandomState redrew the same rows)
        same_stream = np.sort(np.random.RandomState(member.random_state).randint(0, 60, 60))
        assert not np.array_equal(rows, same_stream)
    # member i's streams do not depend on how many members there are
    grown = MLPClassifier((4,), max_iter=2, n_estimators=4, random_state=0).fit(X, y)
    for a, b in zip(bag.estimators_samples_, grown.estimators_samples_):
        np.testing.assert_array_equal(a, b)
    assert [m.random_state for m in bag.estimators_] == [
        m.random_state for m in grown.estimators_[:3]
    ]


def test_members_share_what_validation_learnt_through_each_parts_hook():
    from sknn_backprop import ConvNetClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 16))
    y = np.array(["a", "b"] * 20)
    cnn = ConvNetClassifier(conv_filters=(2,), hidden_layer_sizes=(4,), max_iter=1,
                            n_estimators=2, random_state=0).fit(X, y)  # fmt: skip
    assert set(cnn._data_state()) == {"n_features_in_", "classes_", "_label_binarizer",
                                      "input_shape_"}  # fmt: skip
    for member in cnn.estimators_:
        assert member.input_shape_ == (1, 4, 4) and list(member.classes_) == ["a", "b"]
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, n_estimators=2, random_state=0)
    reg.fit(X, X[:, 0])
    assert set(reg._data_state()) == {"n_features_in_"}


def test_n_jobs_docs_say_when_worker_processes_pay():
    # issue 24: n_jobs=2 on small members was slower than serial with no word about it
    from pathlib import Path

    from sknn_backprop import MLPClassifier

    guide = (Path(__file__).resolve().parents[2] / "docs" / "estimators.rst").read_text()
    assert "**When** ``n_jobs`` **pays.**" in guide and "0.20 s with ``n_jobs=2``" in guide
    assert "a few tenths of a second" in MLPClassifier.__doc__
