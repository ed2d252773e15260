"""The weight battery: fixed fits whose every weight is pinned to a recorded value.

Each entry is a small fit covering one training path (a solver, a regulariser, a
training control, bagging, the ConvNet, float32, warm start, ``partial_fit``).
``tests/data/weights_battery.npz`` holds the weights, loss curves and predictions
these fits gave when the battery was recorded; ``test_weights_battery.py``
refits them and asserts the same numbers (1e-9 relative; float32 1e-4), so that refactoring the
training code cannot change a result unnoticed.

Regenerate (only when a change of numbers is intended, and say so in the commit)::

    python -m tests._battery
"""

import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_regression

DATA = Path(__file__).parent / "data" / "weights_battery.npz"


def _digits(n=240, dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16.0).astype(dtype), y[:n]


def _regression(n=150):
    X, y = make_regression(n_samples=n, n_features=6, n_targets=2, noise=0.1, random_state=0)
    return X, y / 100.0


def _small(**kw):
    base = dict(hidden_layer_sizes=(12,), max_iter=6, random_state=0)
    base.update(kw)
    return base


def _fit_clf(**kw):
    from sknn_backprop import MLPClassifier

    X, y = _digits()
    return MLPClassifier(**_small(**kw)).fit(X, y), X


def _fit_reg(**kw):
    from sknn_backprop import MLPRegressor

    X, y = _regression()
    return MLPRegressor(**_small(**kw)).fit(X, y), X


def _poisson():
    from sknn_backprop import MLPRegressor

    X, y = _regression()
    return MLPRegressor(**_small(loss="poisson")).fit(X, np.abs(y[:, 0])), X


def _float32():
    from sknn_backprop import MLPClassifier

    X, y = _digits(dtype=np.float32)
    return MLPClassifier(**_small()).fit(X, y), X


def _warm_start():
    from sknn_backprop import MLPClassifier

    X, y = _digits()
    est = MLPClassifier(**_small(warm_start=True)).fit(X, y)
    return est.fit(X, y), X


def _partial_fit(solver):
    from sknn_backprop import MLPClassifier

    X, y = _digits()
    est = MLPClassifier(**_small(solver=solver))
    for i in range(3):
        est.partial_fit(X[i * 80 : (i + 1) * 80], y[i * 80 : (i + 1) * 80], classes=np.arange(10))
    return est, X


def _partial_fit_reg():
    from sknn_backprop import MLPRegressor

    X, y = _regression()
    est = MLPRegressor(**_small())
    for i in range(3):
        est.partial_fit(X[i * 50 : (i + 1) * 50], y[i * 50 : (i + 1) * 50])
    return est, X


def _user_validation():
    from sknn_backprop import MLPClassifier

    X, y = _digits(300)
    est = MLPClassifier(**_small(early_stopping=True, max_iter=8))
    return est.fit(X[:240], y[:240], X_val=X[240:], y_val=y[240:]), X


def _convnet(dtype=np.float64, **kw):
    from sknn_backprop import ConvNetClassifier

    X, y = _digits(160, dtype)
    params = dict(
        conv_filters=(4,),
        kernel_size=3,
        pool_size=2,
        padding="same",
        hidden_layer_sizes=(10,),
        batch_size=32,
        learning_rate_init=0.001,  # the default before the ConvNets got their own
        max_iter=3,
        random_state=0,
    )
    params.update(kw)
    return ConvNetClassifier(**params).fit(X, y), X


def _sample_weight():
    from sknn_backprop import MLPClassifier

    X, y = _digits()
    sw = np.linspace(0.5, 1.5, len(y))
    return MLPClassifier(**_small()).fit(X, y, sample_weight=sw), X


BATTERY = {
    "adam": lambda: _fit_clf(),
    "sgd": lambda: _fit_clf(solver="sgd", learning_rate_init=0.05),
    "sgd_invscaling_nomomentum": lambda: _fit_clf(
        solver="sgd", learning_rate="invscaling", momentum=0.0, learning_rate_init=0.1
    ),
    "sgd_adaptive": lambda: _fit_clf(
        solver="sgd", learning_rate="adaptive", nesterovs_momentum=False, max_iter=30
    ),
    "lbfgs": lambda: _fit_clf(solver="lbfgs", max_iter=25),
    "lbfgs_reg": lambda: _fit_reg(solver="lbfgs", max_iter=25),
    "adam_schedule": lambda: _fit_clf(schedule_adam=True, learning_rate="invscaling"),
    "dropout": lambda: _fit_clf(dropout=0.3, hidden_layer_sizes=(12, 8)),
    "input_dropout": lambda: _fit_clf(input_dropout=0.2),
    "early_score": lambda: _fit_clf(early_stopping=True, max_iter=10, n_iter_no_change=2),
    "early_loss": lambda: _fit_clf(
        early_stopping=True, early_stopping_metric="loss", max_iter=10, n_iter_no_change=2
    ),
    "early_user_val": _user_validation,
    "bagging_oob": lambda: _fit_clf(n_estimators=3, oob_score=True),
    "bagging_early": lambda: _fit_clf(n_estimators=2, early_stopping=True, max_iter=5),
    "bagging_reg": lambda: _fit_reg(n_estimators=2, bootstrap=False, max_samples=0.7),
    "class_weight": lambda: _fit_clf(class_weight="balanced"),
    "class_weight_dict": lambda: _fit_clf(class_weight={0: 3.0, 1: 0.5}),
    "sample_weight": _sample_weight,
    "l1": lambda: _fit_clf(alpha=0.01, l1_ratio=0.5),
    "max_norm": lambda: _fit_clf(max_norm=0.5),
    "clip": lambda: _fit_clf(clip_grad_norm=0.1),
    "fgsm": lambda: _fit_clf(adversarial_eps=0.05),
    "input_noise": lambda: _fit_clf(input_noise=0.2),
    "weight_init": lambda: _fit_clf(weight_init="he_normal", activation="tanh"),
    "logistic": lambda: _fit_clf(activation="logistic", loss="squared_error"),
    "regressor": lambda: _fit_reg(),
    "regressor_es": lambda: _fit_reg(early_stopping=True, max_iter=8),
    "poisson": _poisson,
    "float32": _float32,
    "warm_start": _warm_start,
    "partial_fit_adam": lambda: _partial_fit("adam"),
    "partial_fit_sgd": lambda: _partial_fit("sgd"),
    "partial_fit_bagged": lambda: _fit_partial_bagged(),
    "partial_fit_reg": _partial_fit_reg,
    "convnet": lambda: _convnet(),
    "convnet_shift_dropout": lambda: _convnet(augment_shift=1, dropout=0.2, max_norm=1.0),
    "convnet_lbfgs": lambda: _convnet(solver="lbfgs", max_iter=8),
    "convnet_float32_early": lambda: _convnet(np.float32, early_stopping=True, max_iter=4),
}


def _fit_partial_bagged():
    from sknn_backprop import MLPClassifier

    X, y = _digits()
    est = MLPClassifier(**_small(n_estimators=2))
    for i in range(2):
        est.partial_fit(
            X[i * 120 : (i + 1) * 120], y[i * 120 : (i + 1) * 120], classes=np.arange(10)
        )
    return est, X


def _networks(est):
    return [m.model_ for m in est.estimators_] if hasattr(est, "estimators_") else [est.model_]


def record(name):
    """The numbers one battery entry pins: weights, loss curve, outputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, X = BATTERY[name]()
    out = {}
    for i, net in enumerate(_networks(est)):
        for j, p in enumerate(net.parameters()[0]):
            out[f"{name}/net{i}/p{j}"] = np.array(p)
    out[f"{name}/loss_curve"] = np.asarray(est.loss_curve_, dtype=float)
    raw = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    out[f"{name}/output"] = np.asarray(raw)
    for attr in ("validation_scores_", "oob_score_", "n_iter_"):
        value = getattr(est, attr, None)
        if value is not None:
            out[f"{name}/{attr}"] = np.asarray(value, dtype=float)
    return out


def main():
    from threadpoolctl import threadpool_limits

    arrays = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for name in BATTERY:
            arrays.update(record(name))
    DATA.parent.mkdir(exist_ok=True)
    np.savez_compressed(DATA, **arrays)
    print(f"{len(BATTERY)} fits, {len(arrays)} arrays -> {DATA}")


if __name__ == "__main__":
    main()
