"""Greedy layer-wise unsupervised pre-training: ``pretrain=True`` and ``fit(..., X_unlabeled=)``."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknn_backprop import MLPClassifier, MLPRegressor, NeuralNetClassifier, nn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16.0


def _few_labels(seed, n_labelled=50, n_test=500):
    X_lab, X_rest, y_lab, y_rest = train_test_split(
        X_DIGITS, Y_DIGITS, train_size=n_labelled, stratify=Y_DIGITS, random_state=seed
    )
    X_unl, X_te, _, y_te = train_test_split(X_rest, y_rest, test_size=n_test, random_state=seed)
    return X_lab, y_lab, X_unl, X_te, y_te


def test_pretraining_helps_a_deep_sigmoid_network_with_few_labels():
    """The lecture's history: layer-wise pre-training rescues deep logistic networks."""
    scratch, pretrained = [], []
    for seed in range(4):
        X_lab, y_lab, X_unl, X_te, y_te = _few_labels(seed)
        kw = dict(hidden_layer_sizes=(100, 100, 100), activation="logistic", random_state=seed)
        scratch.append(MLPClassifier(**kw).fit(X_lab, y_lab).score(X_te, y_te))
        clf = MLPClassifier(pretrain=True, pretrain_max_iter=50, **kw)
        pretrained.append(clf.fit(X_lab, y_lab, X_unlabeled=X_unl).score(X_te, y_te))
    assert np.mean(pretrained) > np.mean(scratch) + 0.05
    assert np.mean(pretrained) > 0.65


def _verbose_losses(capsys):
    out = capsys.readouterr().out
    return [
        float(v) for v in re.findall(r"Pre-training layer \d+: reconstruction loss = (\S+)", out)
    ]


def _fit_verbose(capsys, **params):
    kw = dict(hidden_layer_sizes=(20, 10), random_state=0, max_iter=1, pretrain=True)
    clf = MLPClassifier(verbose=True, **{**kw, **params}).fit(X_DIGITS[:300], Y_DIGITS[:300])
    return clf, _verbose_losses(capsys)


def test_each_hidden_layer_is_pretrained_and_the_options_are_used(capsys):
    clf, losses = _fit_verbose(capsys)
    assert len(losses) == 2  # one autoencoder per hidden layer, none for the output layer
    _, longer = _fit_verbose(capsys, pretrain_max_iter=60)
    assert longer[0] < 0.8 * losses[0]  # more epochs: a better first-layer autoencoder
    _, noisier = _fit_verbose(capsys, pretrain_noise=1.0)
    assert noisier[0] > 1.5 * losses[0]  # denoising a heavier corruption is harder
    _, clean = _fit_verbose(capsys, pretrain_noise=0.0)
    assert clean[0] < losses[0]


def test_pretraining_changes_the_starting_weights_and_false_changes_nothing():
    kw = dict(hidden_layer_sizes=(16,), max_iter=1, random_state=0)
    plain = MLPClassifier(**kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    off = MLPClassifier(pretrain=False, pretrain_noise=0.5, **kw).fit(
        X_DIGITS[:200], Y_DIGITS[:200]
    )
    for a, b in zip(plain.coefs_, off.coefs_):
        assert_array_equal(a, b)
    on = MLPClassifier(pretrain=True, **kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert np.abs(on.coefs_[0] - plain.coefs_[0]).max() > 0.05


def test_x_unlabeled_rows_are_used():
    kw = dict(hidden_layer_sizes=(16,), max_iter=1, random_state=0, pretrain=True)
    alone = MLPRegressor(**kw).fit(X_DIGITS[:100], Y_DIGITS[:100].astype(float))
    more = MLPRegressor(**kw).fit(
        X_DIGITS[:100], Y_DIGITS[:100].astype(float), X_unlabeled=X_DIGITS[100:600]
    )
    assert np.abs(alone.coefs_[0] - more.coefs_[0]).max() > 0.01
    sparse = MLPRegressor(**kw).fit(
        sp.csr_matrix(X_DIGITS[:100]), Y_DIGITS[:100].astype(float), X_unlabeled=X_DIGITS[100:600]
    )
    np.testing.assert_allclose(sparse.coefs_[0], more.coefs_[0], atol=1e-8)


def test_x_unlabeled_errors_keep_the_model():
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    clf.fit(X_DIGITS[:100], Y_DIGITS[:100])
    before = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match="X_unlabeled is only used with pretrain=True"):
        clf.fit(X_DIGITS[:100], Y_DIGITS[:100], X_unlabeled=X_DIGITS[100:200])
    clf.set_params(pretrain=True)
    with pytest.raises(ValueError, match="X has 10 features, but MLPClassifier is expecting 64"):
        clf.fit(X_DIGITS[:100], Y_DIGITS[:100], X_unlabeled=X_DIGITS[100:200, :10])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(X_DIGITS[:100], Y_DIGITS[:100], X_unlabeled=np.full((3, 64), np.nan))
    clf.set_params(n_estimators=2)
    with pytest.raises(ValueError, match="X_unlabeled is not supported with bagging"):
        clf.fit(X_DIGITS[:100], Y_DIGITS[:100], X_unlabeled=X_DIGITS[100:200])
    for a, b in zip(clf.coefs_, before):
        assert_array_equal(a, b)
    assert not hasattr(clf, "_X_unlabeled")


def test_bagging_members_pretrain_on_their_resamples():
    kw = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0, n_estimators=2)
    plain = MLPClassifier(**kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    bagged = MLPClassifier(pretrain=True, **kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    diff = bagged.estimators_[0].coefs_[0] - plain.estimators_[0].coefs_[0]
    assert np.abs(diff).max() > 0.01


def test_neuralnet_stack_of_linear_and_activations():
    module = nn.Sequential(
        nn.Linear(64, 20), nn.Sigmoid(), nn.Linear(20, 10), nn.Tanh(), nn.Linear(10, 10)
    )
    kw = dict(max_iter=1, random_state=0)
    plain = NeuralNetClassifier(module, **kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    pre = NeuralNetClassifier(module, pretrain=True, **kw).fit(X_DIGITS[:200], Y_DIGITS[:200])
    for i in (0, 1):  # both hidden layers pre-trained
        assert np.abs(pre.coefs_[i] - plain.coefs_[i]).max() > 0.01


@pytest.mark.parametrize(
    "module, msg",
    [
        (
            nn.Sequential(
                nn.Reshape(1, 8, 8), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 10)
            ),
            "needs a network of nn.Linear layers.*nn.Reshape",
        ),
        (nn.Sequential(nn.Linear(64, 8), nn.PReLU(8), nn.Linear(8, 10)), "followed by nn.PReLU"),
        (nn.Sequential(nn.Linear(64, 10)), "at least one hidden layer"),
    ],
)
def test_neuralnet_that_cannot_be_pretrained_is_refused(module, msg):
    clf = NeuralNetClassifier(module, pretrain=True, max_iter=1)
    with pytest.raises(ValueError, match=msg):
        clf.fit(X_DIGITS[:50], Y_DIGITS[:50])
    assert not hasattr(clf, "model_")


def test_x_unlabeled_is_routed_through_a_pipeline():
    X_lab, y_lab, X_unl, _, _ = _few_labels(0)
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, pretrain=True)
    direct = MLPClassifier(**kw).fit(X_lab, y_lab, X_unlabeled=X_unl)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MLPClassifier(**kw).set_fit_request(X_unlabeled=True)
        pipe = make_pipeline(FunctionTransformer(), clf).fit(X_lab, y_lab, X_unlabeled=X_unl)
        for a, b in zip(pipe[-1].coefs_, direct.coefs_):
            assert_array_equal(a, b)
        unrequested = make_pipeline(FunctionTransformer(), MLPClassifier(**kw))
        with pytest.raises(ValueError, match="X_unlabeled"):
            unrequested.fit(X_lab, y_lab, X_unlabeled=X_unl)
