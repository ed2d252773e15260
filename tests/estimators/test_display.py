"""TrainingCurveDisplay and FilterDisplay: what they draw is what the fit recorded."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn_backprop import (
    ConvNetClassifier,
    FilterDisplay,
    MLPClassifier,
    MLPRegressor,
    TrainingCurveDisplay,
    nn,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

X, y = load_digits(return_X_y=True)
X, y = X[:400] / 16, y[:400]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fit(est, X=X, y=y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


@pytest.fixture(scope="module")
def early_stopped():
    return _fit(
        MLPClassifier(
            hidden_layer_sizes=(32,),
            early_stopping=True,
            n_iter_no_change=4,
            max_iter=40,
            random_state=0,
        )
    )


def test_lines_are_the_recorded_curves(early_stopped):
    clf = early_stopped
    display = TrainingCurveDisplay.from_estimator(clf)
    n = len(clf.loss_curve_)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, n + 1))
    assert_allclose(display.line_.get_ydata(), clf.loss_curve_)
    assert_allclose(display.validation_loss_line_.get_ydata(), clf.validation_loss_curve_)
    assert_allclose(display.validation_score_line_.get_ydata(), clf.validation_scores_)
    assert_array_equal(display.validation_score_line_.get_xdata(), np.arange(1, n + 1))
    # the score is on its own (twin) axis, the losses share ax_
    assert display.validation_score_line_.axes is display.score_ax_
    assert display.score_ax_ is not display.ax_
    assert display.line_.axes is display.validation_loss_line_.axes is display.ax_
    assert display.figure_ is display.ax_.figure
    assert display.member_lines_ == []
    assert display.score_ax_.get_ylabel() == "validation accuracy"


def test_best_epoch_marker_on_best_validation_score(early_stopped):
    clf = early_stopped
    display = TrainingCurveDisplay.from_estimator(clf)
    best = int(np.argmax(clf.validation_scores_)) + 1
    assert display.best_epoch == best
    assert_array_equal(display.best_epoch_line_.get_xdata(), [best, best])
    # the marked epoch scored the restored weights' score
    assert clf.validation_scores_[best - 1] == clf.best_validation_score_
    assert best < len(clf.loss_curve_)  # the marker is not simply at the last epoch


def test_best_epoch_marker_on_min_validation_loss():
    rng = np.random.default_rng(0)
    X_val, y_val = rng.random((60, 64)), rng.integers(0, 10, 60)
    clf = _fit(
        MLPClassifier(
            hidden_layer_sizes=(32,),
            early_stopping=True,
            early_stopping_metric="loss",
            max_iter=25,
            random_state=0,
        ),
        X_val=X[300:],
        y_val=y[300:],
    )
    del X_val, y_val
    display = TrainingCurveDisplay.from_estimator(clf)
    best = int(np.argmin(clf.validation_loss_curve_)) + 1
    assert display.best_epoch == best
    assert_array_equal(display.best_epoch_line_.get_xdata(), [best, best])
    assert clf.validation_loss_curve_[best - 1] == clf.best_validation_loss_


def test_lbfgs_has_only_the_training_curve():
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30), y=y * 1.0)
    display = TrainingCurveDisplay.from_estimator(reg, log_scale=True)
    assert_allclose(display.line_.get_ydata(), reg.loss_curve_)
    assert display.validation_loss_line_ is None
    assert display.validation_score_line_ is None and display.score_ax_ is None
    assert display.best_epoch_line_ is None
    assert display.ax_.get_yscale() == "log"


def test_bagged_members_drawn():
    clf = _fit(MLPClassifier(hidden_layer_sizes=(16,), n_estimators=3, max_iter=15, random_state=0))
    display = TrainingCurveDisplay.from_estimator(clf)
    assert len(display.member_lines_) == 3
    for line, member in zip(display.member_lines_, clf.estimators_):
        assert_allclose(line.get_ydata(), member.loss_curve_)
    assert_allclose(display.line_.get_ydata(), clf.loss_curve_)
    assert TrainingCurveDisplay.from_estimator(clf, members=False).member_lines_ == []


def test_ax_reuse_and_pipeline(early_stopped):
    fig, (ax1, ax2) = plt.subplots(1, 2)
    pipe = make_pipeline(MinMaxScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=10))
    _fit(pipe)
    first = TrainingCurveDisplay.from_estimator(pipe, ax=ax1, name="small")
    second = TrainingCurveDisplay.from_estimator(early_stopped, ax=ax1, loss_kw={"c": "k"})
    assert first.ax_ is second.ax_ is ax1 and first.figure_ is fig
    # two training curves, the second one's validation loss and best-epoch marker
    assert len(ax1.get_lines()) == 4
    assert second.line_.get_color() == "k"
    assert "small" in first.line_.get_label()
    assert not ax2.get_lines()


def test_display_from_recorded_curves():
    display = TrainingCurveDisplay(
        loss_curve=[3.0, 2.0, 1.5, 1.4],
        validation_scores=[0.5, 0.7],
        best_epoch=4,
        member_curves=[[3.1, 2.2], [2.9, 1.9, 1.6]],
        estimator_name="net",
    ).plot()
    # a shorter validation curve (a warm start that turned early stopping on) ends
    # at the last epoch
    assert_array_equal(display.validation_score_line_.get_xdata(), [3, 4])
    assert [len(line.get_xdata()) for line in display.member_lines_] == [2, 3]
    assert display.ax_.get_title() == "net"


def test_errors():
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(MLPClassifier())
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(make_pipeline(MinMaxScaler(), MLPClassifier()))
    with pytest.raises(TypeError, match="loss_curve_"):
        TrainingCurveDisplay.from_estimator(LogisticRegression(max_iter=200).fit(X, y))
    with pytest.raises(ValueError, match="empty"):
        TrainingCurveDisplay(loss_curve=[]).plot()
    with pytest.raises(TypeError, match="aliases"):
        TrainingCurveDisplay(loss_curve=[1.0]).plot(loss_kw={"c": "k", "color": "r"})
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(ConvNetClassifier())


# ------------------------------------------------------------------ FilterDisplay
@pytest.fixture(scope="module")
def cnn():
    return _fit(
        ConvNetClassifier(conv_filters=(6, 4), hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    )


def _convs(est):
    return [m for m in est.model_.modules if isinstance(m, nn.Conv2d)]


def test_filters_drawn_on_one_symmetric_scale(cnn):
    display = FilterDisplay.from_estimator(cnn, layer=0)
    weight = _convs(cnn)[0].weight  # (6, 1, 3, 3)
    assert display.axes_.shape == (2, 3)  # near-square grid of 6
    limit = np.abs(weight).max()
    for f in range(6):
        image = display.images_.flat[f]
        assert_allclose(image.get_array(), weight[f, 0])
        assert image.get_clim() == (-limit, limit)
    assert display.colorbar_.mappable is display.images_.flat[0]
    assert display.figure_ is display.axes_[0, 0].figure


def test_second_layer_grid_and_channel(cnn):
    weight = _convs(cnn)[1].weight  # (4, 6, 3, 3)
    display = FilterDisplay.from_estimator(cnn, layer=-1, colorbar=False)
    assert display.axes_.shape == (4, 6) and display.colorbar_ is None
    assert_allclose(display.images_[2, 5].get_array(), weight[2, 5])
    one = FilterDisplay.from_estimator(cnn, layer=1, channel=3, n_cols=4)
    assert one.axes_.shape == (1, 4)
    assert_allclose(one.images_[0, 1].get_array(), weight[1, 3])


def test_filters_in_a_given_ax_and_unused_axes(cnn):
    fig, (left, right) = plt.subplots(1, 2)
    display = FilterDisplay.from_estimator(cnn, ax=right, n_cols=4)
    assert display.figure_ is fig and display.axes_.shape == (2, 4)
    assert display.images_[1, 2] is None and display.images_[1, 3] is None
    assert not right.axison
    axes = plt.subplots(2, 4)[1]
    display = FilterDisplay.from_estimator(cnn, ax=axes)
    assert display.axes_ is not None and display.images_.shape == (2, 4)
    with pytest.raises(ValueError, match="at least 6 axes"):
        FilterDisplay.from_estimator(cnn, ax=axes[0])


def test_filter_display_errors(cnn):
    with pytest.raises(ValueError, match="out of range"):
        FilterDisplay.from_estimator(cnn, layer=2)
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        FilterDisplay.from_estimator(_fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2)))
    with pytest.raises(ValueError, match="channel"):
        FilterDisplay.from_estimator(cnn, layer=1, channel=6)
    with pytest.raises(ValueError, match="shape"):
        FilterDisplay(filters=np.zeros((3, 3))).plot()


def test_filters_of_a_bagged_member():
    bagged = _fit(
        ConvNetClassifier(
            conv_filters=(4,), hidden_layer_sizes=(8,), n_estimators=2, max_iter=1, random_state=0
        )
    )
    display = FilterDisplay.from_estimator(bagged, member=1)
    weight = _convs(bagged.estimators_[1])[0].weight
    assert_allclose(display.images_[0, 0].get_array(), weight[0, 0])
