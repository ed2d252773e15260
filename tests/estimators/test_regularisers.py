"""Every regulariser / training control of ``_docs.REGULARISERS`` has an effect.

Each test fails if the hyperparameter it covers were silently ignored: it
compares against the same fit without it, or checks the invariant it promises
(max-norm after every step, clipped gradient norm, restored best weights...).
Small digits subsets, small networks and few epochs keep the file fast.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, recall_score
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils.estimator_checks import check_class_weight_classifiers

from sknn_backprop import MLPClassifier, MLPRegressor, nn
from sknn_backprop.training import Control

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits(n=500, scale=True):
    X, y = load_digits(return_X_y=True)
    if scale:
        X = X / 16.0
    return X[:n], y[:n]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _linears(est):
    return [m for m in est.model_.modules if isinstance(m, nn.Linear)]


def _all_weights(est):
    return np.concatenate([c.ravel() for c in est.coefs_])


def _assert_predicts_with_the_clean_network(est, X):
    """Predictions are the network without its Dropout / noise modules, in eval mode
    (by hand, layer by layer), and therefore the same on every call."""
    clean = [m for m in est.model_.modules if not isinstance(m, nn.layers.TrainingOnly)]
    assert len(clean) < len(est.model_.modules)  # there was something to leave out
    out = X
    for m in clean:
        out = m.infer(out)
    if hasattr(est, "predict_proba"):
        np.testing.assert_allclose(est.predict_proba(X), out, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(est.predict(X), out.ravel(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(est.predict(X), est.predict(X))


# --------------------------------------------------------------------- dropout
def test_dropout_changes_training_but_prediction_is_deterministic():
    X, y = _digits(300)
    kw = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    drop = MLPClassifier(dropout=0.5, **kw).fit(X, y)
    assert not np.allclose(_all_weights(plain), _all_weights(drop))
    # model_: Linear -> ReLU -> Dropout -> Linear -> Softmax
    kinds = [type(m) for m in drop.model_.modules]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.Softmax]
    assert drop.model_.modules[2].p == 0.5
    assert not any(isinstance(m, nn.Dropout) for m in plain.model_.modules)
    # eval mode after fit: predictions are deterministic
    assert all(not m.training for m in drop.model_.modules)
    assert not drop.model_.training
    _assert_predicts_with_the_clean_network(drop, X)
    _assert_predicts_with_the_clean_network(drop, X)


def test_dropout_per_layer_list():
    X, y = _digits(200)
    est = MLPClassifier(
        hidden_layer_sizes=(16, 16, 16), dropout=[0.2, 0.0, 0.4], max_iter=2, random_state=0
    ).fit(X, y)
    mods = est.model_.modules
    drops = [(i, m.p) for i, m in enumerate(mods) if isinstance(m, nn.Dropout)]
    # Linear ReLU Dropout | Linear ReLU | Linear ReLU Dropout | Linear Softmax
    assert drops == [(2, 0.2), (7, 0.4)]
    assert isinstance(mods[5], nn.Linear) and isinstance(mods[8], nn.Linear)
    _assert_predicts_with_the_clean_network(est, X)


@pytest.mark.parametrize("dropout", [[0.1], [0.1, 0.2, 0.3]])
def test_dropout_wrong_list_length(dropout):
    X, y = _digits(100)
    est = MLPClassifier(hidden_layer_sizes=(8, 8), dropout=dropout, max_iter=1)
    with pytest.raises(ValueError, match="one value per hidden layer"):
        est.fit(X, y)


def test_input_dropout_adds_dropout_before_first_linear():
    X, y = _digits(300)
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    est = MLPClassifier(input_dropout=0.2, **kw).fit(X, y)
    first = est.model_.modules[0]
    assert isinstance(first, nn.Dropout) and first.p == 0.2
    assert isinstance(est.model_.modules[1], nn.Linear)
    assert sum(isinstance(m, nn.Dropout) for m in est.model_.modules) == 1
    assert not np.allclose(_all_weights(plain), _all_weights(est))
    _assert_predicts_with_the_clean_network(est, X)


# ----------------------------------------------------------- input noise
def test_input_noise_changes_training_not_prediction():
    X, y = _digits(300)
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    est = MLPClassifier(input_noise=0.3, **kw).fit(X, y)
    noise = est.model_.modules[0]
    assert isinstance(noise, nn.GaussianNoise)
    assert isinstance(est.model_.modules[1], nn.Linear)
    assert not any(isinstance(m, nn.GaussianNoise) for m in plain.model_.modules)
    assert not np.allclose(_all_weights(plain), _all_weights(est))
    _assert_predicts_with_the_clean_network(est, X)
    # the same fit twice is reproducible (noise drawn from random_state)
    again = MLPClassifier(input_noise=0.3, **kw).fit(X, y)
    np.testing.assert_array_equal(_all_weights(est), _all_weights(again))


def test_input_noise_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 4))
    y = X @ np.arange(1.0, 5.0)
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    plain = MLPRegressor(**kw).fit(X, y)
    est = MLPRegressor(input_noise=0.5, **kw).fit(X, y)
    assert isinstance(est.model_.modules[0], nn.GaussianNoise)
    assert not np.allclose(_all_weights(plain), _all_weights(est))
    _assert_predicts_with_the_clean_network(est, X)


# ----------------------------------------------------------- elastic net
def test_l1_ratio_gives_sparse_first_layer():
    X, y = _digits(500)
    kw = dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.0,
        batch_size=500,
        alpha=2.0,
        max_iter=800,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=0,
    )
    l1 = MLPClassifier(l1_ratio=1.0, **kw).fit(X, y)
    l2 = MLPClassifier(l1_ratio=0.0, **kw).fit(X, y)
    frac_l1 = np.mean(np.abs(l1.coefs_[0]) < 1e-3)
    frac_l2 = np.mean(np.abs(l2.coefs_[0]) < 1e-3)
    assert frac_l1 > 0.5, frac_l1
    assert frac_l2 < 0.05, frac_l2


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_penalty_never_touches_biases(l1_ratio):
    X, y = _digits(300)
    est = MLPClassifier(
        hidden_layer_sizes=(16,),
        solver="lbfgs" if l1_ratio == 0 else "adam",
        learning_rate_init=0.01,
        alpha=1e5,
        l1_ratio=l1_ratio,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    w = _all_weights(est)
    b = np.concatenate(est.intercepts_)
    assert np.abs(w).max() < 2e-2, np.abs(w).max()
    # the biases are not pulled to zero: the hidden ones stay near their Glorot
    # initialisation (bound sqrt(6 / 80) ~ 0.27) and the output ones learn
    assert np.abs(est.intercepts_[0]).max() > 0.1
    assert np.abs(b).max() > 10 * np.abs(w).max()


# ------------------------------------------------------------ max-norm
def _row_norms(est):
    return np.concatenate([np.linalg.norm(m.weight, axis=1) for m in _linears(est)])


def test_max_norm_holds_after_every_step():
    X, y = _digits(300)
    max_norm = 0.5
    kw = dict(hidden_layer_sizes=(16,), learning_rate_init=0.05, max_iter=3, random_state=0)
    # without the constraint the incoming-weight norms exceed max_norm
    free = MLPClassifier(**kw).fit(X, y)
    assert _row_norms(free).max() > 2 * max_norm

    seen = []

    class RecordNorms(Control):  # user controls run after the built-in max-norm
        def after_step(self, state):
            seen.append(_row_norms(state.estimator).max())

    est = MLPClassifier(max_norm=max_norm, controls=[RecordNorms()], **kw)
    est.fit(X, y)
    n_steps = est.n_iter_ * int(np.ceil(len(X) / 200))
    assert len(seen) == n_steps
    assert max(seen) <= max_norm + 1e-6
    # coefs_ layout: columns are the units' incoming weight vectors
    for coef in est.coefs_:
        assert np.linalg.norm(coef, axis=0).max() <= max_norm + 1e-6
    # one step per partial_fit call with batch_size = n_samples
    est2 = MLPClassifier(max_norm=max_norm, batch_size=len(X), **kw)
    for _ in range(5):
        est2.partial_fit(X, y, classes=np.arange(10))
        assert _row_norms(est2).max() <= max_norm + 1e-6


# ------------------------------------------------------ gradient clipping
def _record_steps(monkeypatch, cls):
    """Patch ``cls.step``: record the gradient norm and the update norm of each call."""
    grad_norms, update_norms = [], []
    original = cls.step

    def step(self, params, grads):
        before = [p.copy() for p in params]
        grad_norms.append(np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)))
        original(self, params, grads)
        update_norms.append(
            np.sqrt(sum(float(np.sum((p - b) ** 2)) for p, b in zip(params, before)))
        )

    monkeypatch.setattr(cls, "step", step)
    return grad_norms, update_norms


def test_clip_grad_norm_adam(monkeypatch):
    X, y = _digits(300, scale=False)  # raw pixels: large gradients
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    grads, _ = _record_steps(monkeypatch, nn.Adam)
    MLPClassifier(**kw).fit(X, y)
    clip = 0.5
    assert max(grads) > 2 * clip  # the test means something
    grads.clear()
    MLPClassifier(clip_grad_norm=clip, **kw).fit(X, y)
    assert len(grads) == 3 * 2
    assert max(grads) <= clip * (1 + 1e-9)


def test_clip_grad_norm_sgd_bounds_the_update(monkeypatch):
    X, y = _digits(300, scale=False)
    clip = 0.1
    kw = dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=1.0,
        momentum=0.0,
        max_iter=2,
        random_state=0,
    )
    grads, updates = _record_steps(monkeypatch, nn.SGD)
    # continue a fitted model: the clipping also holds for partial_fit
    est = MLPClassifier(clip_grad_norm=clip, **kw).fit(X, y)
    est.partial_fit(X, y)
    assert len(updates) == 3 * 2
    assert max(grads) <= clip * (1 + 1e-9)
    assert max(updates) <= 1.0 * clip * (1 + 1e-6)
    assert max(updates) > 0.5 * clip  # raw-pixel gradients are large: clipping was active


# ------------------------------------------------------ adversarial training
def fgsm(est, X, y, eps):
    """FGSM perturbation of ``X`` against the fitted classifier ``est``."""
    logits_net = nn.Sequential(*est.model_.modules[:-1])
    logits_net.eval()
    Y = (y[:, None] == est.classes_[None, :]).astype(float)
    logits = logits_net.forward(X)
    delta = nn.CrossEntropyCriterion().backward(logits, Y)
    g = logits_net.backward(X, delta)
    est.model_.clear_state()
    return np.clip(X + eps * np.sign(g), 0.0, 1.0)


def test_fgsm_helper_increases_the_loss(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    est.fit(X[:600], y[:600])
    X_adv = fgsm(est, X[600:900], y[600:900], 0.1)
    assert np.abs(X_adv - X[600:900]).max() <= 0.1 + 1e-12
    assert log_loss(y[600:900], est.predict_proba(X_adv), labels=est.classes_) > log_loss(
        y[600:900], est.predict_proba(X[600:900]), labels=est.classes_
    )


def test_adversarial_training_is_more_robust(digits):
    X, y = digits
    X_tr, y_tr, X_te, y_te = X[:1000], y[:1000], X[1000:1400], y[1000:1400]
    eps = 0.1
    kw = dict(hidden_layer_sizes=(64,), max_iter=40, learning_rate_init=0.003, random_state=0)
    drops = {}
    for train_eps in (0.0, eps):
        est = MLPClassifier(adversarial_eps=train_eps, **kw).fit(X_tr, y_tr)
        clean = est.score(X_te, y_te)
        adv = est.score(fgsm(est, X_te, y_te, eps), y_te)
        assert clean > 0.85
        drops[train_eps] = clean - adv
    assert drops[eps] < drops[0.0] - 0.1, drops


def test_adversarial_eps_trains_on_the_fgsm_mixture():
    """With adversarial_eps the objective is (J(x) + J(x + eps sign(dJ/dx))) / 2,
    and its gradient the average of the two gradients (checked by hand)."""
    X, y = _digits(300)
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, alpha=0.0)
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(adversarial_eps=0.05, **kw).fit(X, y)
    assert not np.allclose(_all_weights(a), _all_weights(b))
    Y = b._label_binarizer.transform(y).astype(float)
    flat_p, flat_g = b.model_.get_parameters(penalized_first=True)
    fgsm = b._objective(flat_p, flat_g)
    loss = fgsm(X, Y, None)
    grad = flat_g.copy()
    clean = a._objective(*a.model_.get_parameters(penalized_first=True))
    clean.net, clean.flat_p, clean.flat_g = fgsm.net, flat_p, flat_g  # b's network
    loss_x = clean(X, Y, None)
    grad_x = flat_g.copy()
    dx = clean.net.backward(X, clean.criterion.backward(clean.net.forward(X), Y))
    x_adv = X + 0.05 * np.sign(dx)
    loss_adv = clean(x_adv, Y, None)
    assert loss == pytest.approx(0.5 * (loss_x + loss_adv), rel=1e-12)
    np.testing.assert_allclose(grad, 0.5 * (grad_x + flat_g), rtol=1e-9, atol=1e-12)


# -------------------------------------------------------- weight init
def _initial(monkeypatch, weight_init, X, y, hidden=(64,)):
    """The initial network: fit with an optimizer step that does nothing."""
    monkeypatch.setattr(nn.SGD, "step", lambda self, params, grads: None)
    est = MLPClassifier(
        hidden_layer_sizes=hidden,
        weight_init=weight_init,
        solver="sgd",
        max_iter=1,
        random_state=0,
    )
    return est.fit(X, y)


def test_weight_init_distributions(monkeypatch):
    X, y = _digits(200)
    lecun = _initial(monkeypatch, "lecun_uniform", X, y)
    he = _initial(monkeypatch, "he_normal", X, y)
    glorot = _initial(monkeypatch, "glorot_uniform", X, y)
    for est in (lecun, he):
        for b in est.intercepts_:
            np.testing.assert_array_equal(b, 0)
    assert np.abs(glorot.intercepts_[0]).max() > 0
    for a, b in zip(lecun.coefs_, he.coefs_):
        assert not np.allclose(a, b)
    for coef in lecun.coefs_:
        bound = 1 / np.sqrt(coef.shape[0])  # fan_in
        assert np.abs(coef).max() <= bound
        assert np.abs(coef).max() > 0.95 * bound
        np.testing.assert_allclose(coef.std(), bound / np.sqrt(3), rtol=0.1)
    for coef in he.coefs_:
        std = np.sqrt(2 / coef.shape[0])
        np.testing.assert_allclose(coef.std(), std, rtol=0.1)
        assert abs(coef.mean()) < 0.1 * std
        assert np.abs(coef).max() > 1 / np.sqrt(coef.shape[0])  # not lecun's bound
    for coef in glorot.coefs_:
        bound = np.sqrt(6 / (coef.shape[0] + coef.shape[1]))
        assert np.abs(coef).max() <= bound
        assert np.abs(coef).max() > 0.9 * bound


def test_glorot_uniform_reproduces_sklearn(digits):
    X, y = digits
    X, y = X[:500], y[:500]
    kw = dict(hidden_layer_sizes=(32,), random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(weight_init="glorot_uniform", **kw).fit(X, y)
        ref = SkMLPClassifier(**kw).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)


# ------------------------------------------------------- early stopping
def test_early_stopping_on_validation_loss(digits):
    X, y = digits
    X, y = X[:600], y[:600]
    n_iter_no_change = 3
    est = MLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=0.02,
        early_stopping=True,
        early_stopping_metric="loss",
        n_iter_no_change=n_iter_no_change,
        tol=0.0,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    curve = np.asarray(est.validation_loss_curve_)
    assert len(curve) == est.n_iter_ == len(est.validation_scores_)
    assert est.n_iter_ < 200
    best = int(np.argmin(curve))
    # stopped n_iter_no_change + 1 epochs after the best validation loss
    assert est.n_iter_ == best + 1 + n_iter_no_change + 1
    assert est.best_validation_loss_ == curve[best]
    assert est.best_validation_score_ == est.validation_scores_[best]


def test_early_stopping_restores_best_weights_on_user_validation_set(digits):
    X, y = digits
    X_tr, y_tr = X[:500], y[:500]
    X_val, y_val = X[500:800], y[500:800]
    for max_iter, n_iter_no_change in [(200, 2), (6, 100)]:
        est = MLPClassifier(
            hidden_layer_sizes=(32,),
            learning_rate_init=0.05,
            early_stopping=True,
            n_iter_no_change=n_iter_no_change,
            max_iter=max_iter,
            random_state=0,
        ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
        assert est.best_validation_score_ == max(est.validation_scores_)
        # the restored weights are the ones that scored best_validation_score_ on X_val
        assert est.score(X_val, y_val) == est.best_validation_score_
        proba = est.predict_proba(X_val)
        np.testing.assert_allclose(
            log_loss(y_val, proba, labels=est.classes_), est.best_validation_loss_, rtol=1e-6
        )
        if max_iter == 6:
            assert est.n_iter_ == 6


def test_user_validation_set_is_used(digits):
    X, y = digits
    X_tr, y_tr = X[:500], y[:500]
    # a validation set of only two classes: its scores cannot be the held-out
    # fraction's (which has all ten)
    mask = np.isin(y[500:], [3, 8])
    X_val, y_val = X[500:][mask][:60], y[500:][mask][:60]
    est = MLPClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, max_iter=5, random_state=0
    ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert est.score(X_val, y_val) == est.best_validation_score_
    default = MLPClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, max_iter=5, random_state=0
    ).fit(X_tr, y_tr)
    assert est.validation_scores_ != default.validation_scores_


def test_x_val_without_early_stopping_raises():
    X, y = _digits(100)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(max_iter=1).fit(X, y, X_val=X, y_val=y)


# ---------------------------------------------------------- class weight
@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        n_samples=600,
        n_features=10,
        n_informative=4,
        weights=[0.9, 0.1],
        class_sep=0.5,
        flip_y=0.0,
        random_state=0,
    )
    return X, y


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 9.0}])
def test_class_weight_raises_minority_recall(imbalanced, class_weight):
    X, y = imbalanced
    kw = dict(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    weighted = MLPClassifier(class_weight=class_weight, **kw).fit(X, y)
    r_plain = recall_score(y, plain.predict(X))
    r_weighted = recall_score(y, weighted.predict(X))
    assert r_weighted > r_plain + 0.1, (r_plain, r_weighted)


def test_class_weight_multiplies_sample_weight(imbalanced):
    X, y = imbalanced
    sw = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    cw = {0: 1.0, 1: 3.0}
    kw = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    a = MLPClassifier(class_weight=cw, **kw).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**kw).fit(X, y, sample_weight=sw * np.where(y == 1, 3.0, 1.0))
    c = MLPClassifier(class_weight=cw, **kw).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


def test_balanced_class_weight_counts_sample_weights(imbalanced):
    """'balanced' counts classes by their weight: a row of weight 2 is two rows."""
    from sknn_backprop._class_weight import sample_weights

    X, y = imbalanced
    sw = np.random.RandomState(0).randint(0, 3, size=len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), sw.astype(int))
    repeated = sample_weights("balanced", y[rows], None)
    weighted = sample_weights("balanced", y, sw)
    np.testing.assert_allclose(weighted[rows] / sw[rows], repeated, rtol=1e-12)
    # the weighted counts are balanced: both classes weigh the same in total
    assert weighted[y == 0].sum() == pytest.approx(weighted[y == 1].sum())
    # multilabel: each column balanced on its weighted counts, the columns multiply
    Y = np.c_[y, 1 - y, np.arange(len(y)) % 3 == 0]
    np.testing.assert_allclose(
        sample_weights("balanced", Y[rows], None),
        sample_weights("balanced", Y, sw)[rows] / sw[rows],
        rtol=1e-12,
    )
    kw = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    a = MLPClassifier(class_weight="balanced", **kw).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**kw).fit(X, y, sample_weight=weighted)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_check_class_weight_classifiers():
    check_class_weight_classifiers(
        "MLPClassifier", MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, random_state=0)
    )


# --------------------------------------------------------- schedule_adam
def test_schedule_adam_invscaling():
    X, y = _digits(200)
    kw = dict(
        hidden_layer_sizes=(8,),
        learning_rate="invscaling",
        learning_rate_init=0.01,
        random_state=0,
    )
    est = MLPClassifier(schedule_adam=True, **kw)
    rates = []
    for _ in range(4):
        est.partial_fit(X, y, classes=np.arange(10))
        rates.append(est._optimizer.learning_rate)
    assert rates[0] < 0.01
    assert all(b < a for a, b in zip(rates, rates[1:])), rates
    np.testing.assert_allclose(rates[-1], 0.01 / (4 * len(X) + 1) ** 0.5)

    const = MLPClassifier(schedule_adam=False, **kw)
    for _ in range(4):
        const.partial_fit(X, y, classes=np.arange(10))
        assert const._optimizer.learning_rate == 0.01
    assert not np.allclose(est.coefs_[0], const.coefs_[0])


def test_warm_start_can_turn_early_stopping_on():
    """A warm start of a fit without early stopping may switch it on (scikit-learn's
    MLP fails here: its validation_scores_ is None)."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
        assert est.validation_scores_ is None
        est.set_params(early_stopping=True).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_dropout_masks_continue_across_partial_fit_calls():
    """partial_fit re-seeds its shuffle from an int random_state (as scikit-learn), but
    the dropout masks keep drawing from one stream: the same masks every epoch would
    turn dropout into a fixed sub-network per row."""
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.5, random_state=0)
    est.partial_fit(X[:100], y[:100], classes=np.unique(y))
    drop = next(m for m in est.model_.modules if isinstance(m, nn.Dropout))
    state_1 = drop.rng.bit_generator.state["state"]["state"]
    est.partial_fit(X[:100], y[:100])
    state_2 = drop.rng.bit_generator.state["state"]["state"]
    fresh = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.5, random_state=0)
    fresh.partial_fit(X[:100], y[:100], classes=np.unique(y))
    fresh_drop = next(m for m in fresh.model_.modules if isinstance(m, nn.Dropout))
    assert state_2 != state_1
    assert fresh_drop.rng.bit_generator.state["state"]["state"] == state_1  # reproducible
