"""Overfitting a big network, and three cures: L2, dropout and early stopping
===========================================================================

What it teaches
---------------
The lecture's "Avoiding Overfitting": a deep network has far more parameters
than a small data set can pin down, so it can fit its training set perfectly --
noise included -- and generalise worse for it.  The setting here makes that
happen: 200 training digits, 30 % of their labels replaced by random ones (as
in a carelessly labelled data set; the validation labels are just as noisy), a
network with two hidden layers of 256 units and 80 epochs of Adam.  Without
regularisation it reaches 100 % training accuracy by memorising the wrong
labels, and its test accuracy suffers.  Each remedy helps:

- *L2 weight decay* (``alpha=0.3``): large weights are penalised, so the
  network cannot bend itself around every mislabelled digit;
- *Dropout* (Srivastava, Hinton, Krizhevsky, 2014): each hidden unit is
  dropped with probability ``p`` on every training example; at test time the
  whole network is used (``dropout=0.5``);
- *Early stopping*: keep a validation set, stop when its score stops improving
  and keep the best weights (``early_stopping=True`` with a user-supplied
  ``X_val`` / ``y_val``).  Networks learn the regular patterns before they
  memorise the noise, so the best epoch comes early.

Every setting is trained with 5 seeds (each draws its own training rows,
label noise and initial weights) and the script prints the mean +/- std of
the training and test accuracy.  The strengths (``alpha``, ``p``) are fixed
beforehand, not tuned on the test set.  ``lecture_overfitting.png`` in
``--output`` (matplotlib) shows, for the first seed, the training and test
accuracy per epoch of the unregularised, L2 and dropout networks, and the
early-stopping run's curves with its restored best epoch
(:class:`sknn_backprop.TrainingCurveDisplay`).

Run ``python examples/lecture_overfitting.py [--output DIR]`` (about 22 s on 2
idle cores, 55 s when other work keeps them busy); ``SKNN_EXAMPLES_QUICK=1`` makes it a
few-second run.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_backprop import MLPClassifier, TrainingCurveDisplay

NAME = "lecture_overfitting"
NOISE = 0.3  # fraction of training and validation labels replaced by random classes
N_VAL = 200


def load_data(n_train, seed):
    """Noisy small training and validation sets, and a clean test set, in [0, 1]."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, train_size=n_train, random_state=seed, stratify=y
    )
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, train_size=N_VAL, random_state=seed, stratify=y_rest
    )
    rng = np.random.default_rng(seed)
    y_tr, y_val = y_tr.copy(), y_val.copy()
    for labels in (y_tr, y_val):
        flip = rng.random(len(labels)) < NOISE
        labels[flip] = rng.integers(0, 10, flip.sum())
    return X_tr, y_tr, X_val, y_val, X_te, y_te


def settings(n_epochs):
    """``{name: MLPClassifier parameters}``: the same network, with each remedy."""
    return {
        "no regularisation": {},
        "L2 (alpha=0.3)": {"alpha": 0.3},
        "dropout 0.5": {"dropout": 0.5},
        "early stopping": {"early_stopping": True, "n_iter_no_change": 20, "tol": 1e-4},
    }


def make(hidden, n_epochs, seed, **params):
    base = dict(
        hidden_layer_sizes=hidden,
        alpha=0.0,
        batch_size=16,
        learning_rate_init=0.001,
        max_iter=n_epochs,
        tol=0.0,  # train for the full budget (early stopping sets its own tol)
        n_iter_no_change=n_epochs,
        random_state=seed,
    )
    return MLPClassifier(**{**base, **params})


def accuracy_curves(est, n_epochs, X_tr, y_tr, X_te, y_te):
    """One epoch per ``partial_fit``: training and test accuracy after each."""
    classes = np.arange(10)
    train, test = [], []
    for _ in range(n_epochs):
        est.partial_fit(X_tr, y_tr, classes=classes)
        train.append(est.score(X_tr, y_tr))
        test.append(est.score(X_te, y_te))
    return train, test


def save_figure(curves, early, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, (ax_acc, ax_early) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, (train, test) in curves.items():
        epochs = np.arange(1, len(train) + 1)
        line = ax_acc.plot(epochs, train, label=f"{name}: train")[0]
        ax_acc.plot(epochs, test, "--", color=line.get_color(), label=f"{name}: test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (training labels are 30 % noise)")
    ax_acc.legend(fontsize=7, loc="lower right")
    ax_acc.set_title("train vs test accuracy (seed 0)")
    TrainingCurveDisplay.from_estimator(early, ax=ax_early, name="early stopping")
    fig.suptitle("A big MLP on 200 noisy-labelled digits")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="directory for the figure")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    hidden, n_epochs, n_seeds = ((64, 64), 30, 2) if quick else ((256, 256), 80, 5)
    n_train = 200

    print(
        f"digits: {n_train} training rows and {N_VAL} validation rows with "
        f"{NOISE:.0%} random labels, a clean test set; hidden layers {hidden}, "
        f"{n_epochs} epochs, {n_seeds} seeds"
    )
    scores = {name: [] for name in settings(n_epochs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(n_seeds):
            X_tr, y_tr, X_val, y_val, X_te, y_te = load_data(n_train, seed)
            for name, params in settings(n_epochs).items():
                est = make(hidden, n_epochs, seed, **params)
                if params.get("early_stopping"):
                    est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
                    if seed == 0:
                        early = est
                else:
                    est.fit(X_tr, y_tr)
                scores[name].append((est.score(X_tr, y_tr), est.score(X_te, y_te), est.n_iter_))
        # per-epoch curves of the first seed, for the figure
        X_tr, y_tr, X_val, y_val, X_te, y_te = load_data(n_train, 0)
        curves = {
            name: accuracy_curves(
                make(hidden, n_epochs, 0, **params), n_epochs, X_tr, y_tr, X_te, y_te
            )
            for name, params in settings(n_epochs).items()
            if not params.get("early_stopping")
        }

    pm = "+/-"
    print()
    print(f"{'':17s}  {'train accuracy':>16s}  {'test accuracy':>16s}  {'epochs':>6s}")
    for name, rows in scores.items():
        rows = np.array(rows)
        train, test, epochs = rows[:, 0], rows[:, 1], rows[:, 2]
        print(
            f"{name:17s}  {train.mean():.3f} {pm} {train.std():.3f}   "
            f"{test.mean():.3f} {pm} {test.std():.3f}  {epochs.mean():6.0f}"
        )
    print()
    best = int(np.argmax(early.validation_scores_)) + 1
    print(
        f"early stopping (seed 0): best validation score {early.best_validation_score_:.3f} "
        f"at epoch {best}, stopped after {early.n_iter_}; the weights of epoch {best} "
        "were restored"
    )
    means = {name: np.mean([row[1] for row in rows]) for name, rows in scores.items()}
    baseline = means.pop("no regularisation")
    better = [name for name, mean in means.items() if mean > baseline]
    print(
        f"test accuracy without regularisation {baseline:.3f}; better with: "
        + (", ".join(f"{name} ({means[name]:.3f})" for name in better) or "none")
    )

    os.makedirs(args.output, exist_ok=True)
    save_figure(curves, early, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
