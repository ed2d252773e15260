"""Digit classification: squared error vs cross-entropy with sigmoid units
=======================================================================

What it teaches
---------------
The lecture's "Digit Classification: Squared Loss vs Cross Entropy" slide
(Glorot & Bengio, 2010).  With a sigmoid output ``a = sigma(z)`` the squared
error ``L = 1/2 (y - sigma(z))^2`` has the gradient

    dL/dz = (sigma(z) - y) * sigma'(z),

and ``sigma'(z) < 1/4`` vanishes when the unit saturates: a confidently *wrong*
output (``z = -2.5`` for ``y = 1``) barely learns.  Cross-entropy on the same
output has ``dL/dz = sigma(z) - y`` -- the ``sigma'`` factor cancels, and the
larger the error, the larger the gradient.

Two ``MLPClassifier`` networks with logistic hidden units, the same
architecture, seed, optimiser (plain SGD) and data, differ only in ``loss``:
``'squared_error'`` or ``'log_loss'``.  Each epoch is one ``partial_fit``;
the script prints the training loss and the train / test accuracy per epoch
and saves the training curves (``lecture_squared_vs_cross_entropy.png`` in
``--output``, when matplotlib is installed).  Cross-entropy learns much faster.

Run ``python examples/lecture_squared_vs_cross_entropy.py [--output DIR]``;
``SKNN_EXAMPLES_QUICK=1`` makes it a few-second run.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_backprop import MLPClassifier

NAME = "lecture_squared_vs_cross_entropy"
LOSSES = {"squared_error": "squared error", "log_loss": "cross-entropy"}


def load_data(seed=0):
    """Digits scaled to [0, 1], split 2/3 train, 1/3 test."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=1 / 3, random_state=seed, stratify=y)


def train_curves(loss, X_tr, y_tr, X_te, y_te, n_hidden, n_epochs, seed=0):
    """One ``partial_fit`` per epoch; return the per-epoch loss and accuracies."""
    est = MLPClassifier(
        hidden_layer_sizes=(n_hidden,),
        activation="logistic",
        loss=loss,
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.0,
        batch_size=32,
        alpha=0.0,
        random_state=seed,
    )
    classes = np.unique(y_tr)
    curves = {"loss": [], "train": [], "test": []}
    for _ in range(n_epochs):
        est.partial_fit(X_tr, y_tr, classes=classes)
        curves["loss"].append(est.loss_)
        curves["train"].append(est.score(X_tr, y_tr))
        curves["test"].append(est.score(X_te, y_te))
    return est, curves


def save_figure(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for loss, curves in results.items():
        epochs = np.arange(1, len(curves["loss"]) + 1)
        ax_loss.plot(epochs, curves["loss"], label=LOSSES[loss])
        line = ax_acc.plot(epochs, curves["train"], label=f"{LOSSES[loss]} (train)")[0]
        ax_acc.plot(epochs, curves["test"], "--", color=line.get_color(), label="(test)")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (each its own criterion)")
    ax_loss.legend()
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.legend(loc="lower right")
    fig.suptitle("Digits, sigmoid hidden units: squared error vs cross-entropy")
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
    n_hidden, n_epochs = (64, 8) if quick else (1024, 40)

    X_tr, X_te, y_tr, y_te = load_data()
    print(f"digits: {len(X_tr)} train, {len(X_te)} test; {n_hidden} sigmoid hidden units")
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for loss in LOSSES:
            _, curves = train_curves(loss, X_tr, y_tr, X_te, y_te, n_hidden, n_epochs)
            results[loss] = curves

    print()
    print("epoch  " + "  ".join(f"{LOSSES[k]:>32s}" for k in LOSSES))
    print("       " + "  ".join(f"{'loss':>10s} {'train':>10s} {'test':>10s}" for _ in LOSSES))
    for e in range(n_epochs):
        cells = [
            f"{results[k]['loss'][e]:10.4f} {results[k]['train'][e]:10.3f} "
            f"{results[k]['test'][e]:10.3f}"
            for k in LOSSES
        ]
        print(f"{e + 1:5d}  " + "  ".join(cells))
    print()
    for loss, curves in results.items():
        print(f"final test accuracy, {LOSSES[loss]:>14s}: {curves['test'][-1]:.3f}")

    os.makedirs(args.output, exist_ok=True)
    save_figure(results, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
