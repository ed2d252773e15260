"""Overfitting a big network, and two cures: dropout and early stopping.

What it teaches
---------------
The lecture's "Avoiding Overfitting": a deep network has far more parameters
than a small data set can pin down, so the training accuracy reaches 100 %
while the validation accuracy stalls (or the validation loss rises again).

- *Early stopping*: keep a validation set, stop when its score stops
  improving and keep the best weights (``early_stopping=True``; here with a
  user-supplied ``X_val`` / ``y_val``; ``validation_scores_`` is the curve).
- *Dropout* (Srivastava, Hinton, Krizhevsky, 2014): each hidden unit is
  dropped with probability ``p`` on every training example; at test time the
  whole network is used (``dropout=0.5``).

A big ``MLPClassifier`` is trained on a small slice of the digits, one
``partial_fit`` per epoch, without regularisation and with dropout; the
script prints the train and validation accuracy / loss per epoch, then the
early-stopping run's stopping epoch and the test accuracy of the three
models.  ``lecture_overfitting.png`` in ``--output`` (matplotlib) shows the
curves.

Run ``python examples/lecture_overfitting.py [--output DIR]``;
``SKNN_EXAMPLES_QUICK=1`` makes it a few-second run.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from sknn_backprop import MLPClassifier

NAME = "lecture_overfitting"


def load_data(n_train, seed=0):
    """A small training set, a validation set and a test set of digits in [0, 1]."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, train_size=n_train, random_state=seed, stratify=y
    )
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, train_size=0.3, random_state=seed, stratify=y_rest
    )
    return X_tr, y_tr, X_val, y_val, X_te, y_te


def make(hidden, **params):
    return MLPClassifier(
        hidden_layer_sizes=hidden,
        alpha=0.0,
        learning_rate_init=0.003,
        batch_size=32,
        random_state=0,
        **params,
    )


def curves(est, n_epochs, X_tr, y_tr, X_val, y_val):
    """Train one epoch per ``partial_fit``; per-epoch train / validation metrics."""
    out = {"train_acc": [], "val_acc": [], "train_loss": [], "val_loss": []}
    classes = np.unique(y_tr)
    for _ in range(n_epochs):
        est.partial_fit(X_tr, y_tr, classes=classes)
        out["train_acc"].append(est.score(X_tr, y_tr))
        out["val_acc"].append(est.score(X_val, y_val))
        out["train_loss"].append(log_loss(y_tr, est.predict_proba(X_tr), labels=classes))
        out["val_loss"].append(log_loss(y_val, est.predict_proba(X_val), labels=classes))
    return out


def save_figure(results, early, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for name, c in results.items():
        epochs = np.arange(1, len(c["train_acc"]) + 1)
        line = ax_acc.plot(epochs, c["train_acc"], label=f"{name}: train")[0]
        ax_acc.plot(epochs, c["val_acc"], "--", color=line.get_color(), label=f"{name}: val")
        ax_loss.plot(epochs, c["train_loss"], color=line.get_color(), label=f"{name}: train")
        ax_loss.plot(epochs, c["val_loss"], "--", color=line.get_color(), label=f"{name}: val")
    epochs = np.arange(1, len(early.validation_scores_) + 1)
    ax_acc.plot(epochs, early.validation_scores_, ":", color="k", label="early stopping: val")
    best = int(np.argmax(early.validation_scores_)) + 1
    ax_acc.axvline(best, color="k", lw=0.8)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend(fontsize=8, loc="lower right")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend(fontsize=8)
    fig.suptitle("A big MLP on a small digits training set")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=".", help="directory for the figure")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    hidden, n_epochs, n_train = ((64, 64), 12, 200) if quick else ((512, 512), 100, 300)

    X_tr, y_tr, X_val, y_val, X_te, y_te = load_data(n_train)
    print(
        f"digits: {len(X_tr)} train, {len(X_val)} validation, {len(X_te)} test; "
        f"hidden layers {hidden}"
    )
    results, models = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, params in (("no regularisation", {}), ("dropout 0.5", {"dropout": 0.5})):
            models[name] = make(hidden, **params)
            results[name] = curves(models[name], n_epochs, X_tr, y_tr, X_val, y_val)
        early = make(hidden, early_stopping=True, n_iter_no_change=10, max_iter=n_epochs)
        early.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)

    for name, c in results.items():
        print()
        print(name)
        print(" epoch  train acc  val acc  train loss  val loss")
        step = max(1, n_epochs // 15)
        for e in list(range(0, n_epochs, step)) + ([n_epochs - 1] if step > 1 else []):
            print(
                f" {e + 1:5d}  {c['train_acc'][e]:9.3f}  {c['val_acc'][e]:7.3f}"
                f"  {c['train_loss'][e]:10.4f}  {c['val_loss'][e]:8.4f}"
            )
        best = int(np.argmin(c["val_loss"]))
        print(f" lowest validation loss at epoch {best + 1}: {c['val_loss'][best]:.4f}")

    print()
    scores = " ".join(f"{s:.3f}" for s in early.validation_scores_)
    print(f"early stopping: validation scores {scores}")
    print(
        f"early stopping: stopped after {early.n_iter_} epochs, best validation score "
        f"{early.best_validation_score_:.3f} (weights of that epoch restored)"
    )
    print()
    for name, est in [*models.items(), ("early stopping", early)]:
        print(f"test accuracy, {name:>17s}: {est.score(X_te, y_te):.3f}")

    os.makedirs(args.output, exist_ok=True)
    save_figure(results, early, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
