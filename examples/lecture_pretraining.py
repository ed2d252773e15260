"""Unsupervised pre-training with few labels: it rescues deep sigmoid networks, not ReLU ones
==========================================================================================

What it teaches
---------------
The lecture's "unsupervised pre-training" (Hinton et al., 2006; Bengio et
al., 2007): train each hidden layer in turn as a (denoising) autoencoder on
the codes of the layers below, using rows without labels, then fine-tune the
whole stack on the few labelled rows.  It made deep *sigmoid* networks
trainable; ReLUs and better initialisation (Glorot & Bengio, 2010) later made
it much less needed -- the history the lecture tells.

The digits are split, for each seed, into 50 labelled rows, the unlabelled
rest and 500 test rows.  A deep sigmoid network and the same network with
ReLUs are trained from scratch and with ``pretrain=True`` (each hidden layer
an :class:`~sknn_backprop.MLPAutoencoder`, fed ``X_unlabeled``); the script
prints the test accuracy, mean +- std over the seeds, and saves
``lecture_pretraining.png`` (matplotlib) in ``--output``.

Run ``python examples/lecture_pretraining.py [--output DIR]``;
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

NAME = "lecture_pretraining"


def split(X, y, seed, n_labelled=50, n_test=500):
    """``n_labelled`` labelled rows (stratified), the unlabelled rest, ``n_test`` test rows."""
    X_lab, X_rest, y_lab, y_rest = train_test_split(
        X, y, train_size=n_labelled, stratify=y, random_state=seed
    )
    X_unl, X_te, _, y_te = train_test_split(X_rest, y_rest, test_size=n_test, random_state=seed)
    return X_lab, y_lab, X_unl, X_te, y_te


def accuracies(X, y, activation, hidden, pretrain, seeds, pretrain_max_iter):
    """Test accuracy of one setting for each seed."""
    scores = []
    for seed in seeds:
        X_lab, y_lab, X_unl, X_te, y_te = split(X, y, seed)
        clf = MLPClassifier(
            hidden,
            activation=activation,
            pretrain=pretrain,
            pretrain_max_iter=pretrain_max_iter,
            random_state=seed,
        )
        extra = {"X_unlabeled": X_unl} if pretrain else {}
        scores.append(clf.fit(X_lab, y_lab, **extra).score(X_te, y_te))
    return np.array(scores)


def save_figure(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(results)
    x = np.arange(len(names))
    for k, (label, pretrain) in enumerate((("from scratch", False), ("pre-trained", True))):
        means = [results[n][pretrain].mean() for n in names]
        stds = [results[n][pretrain].std() for n in names]
        ax.bar(x + (k - 0.5) * 0.38, means, 0.38, yerr=stds, capsize=4, label=label)
    ax.set_xticks(x, names)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    ax.set_title("Digits, 50 labelled rows: mean ± std over seeds")
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
    hidden, seeds, pretrain_max_iter = (
        ((64, 64, 64), range(2), 10) if quick else ((100, 100, 100), range(8), 50)
    )
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    print(
        f"digits: 50 labelled rows, {len(X) - 550} unlabelled, 500 test; hidden layers "
        f"{hidden}; {len(seeds)} seeds; {pretrain_max_iter} pre-training epochs per layer"
    )
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, activation in (("sigmoid", "logistic"), ("ReLU", "relu")):
            results[name] = {
                pretrain: accuracies(X, y, activation, hidden, pretrain, seeds, pretrain_max_iter)
                for pretrain in (False, True)
            }
    print()
    print(f"{'network':>8s}  {'from scratch':>15s}  {'pre-trained':>15s}  {'gain':>6s}")
    for name, r in results.items():
        scratch, pre = r[False], r[True]
        print(
            f"{name:>8s}  {scratch.mean():.3f} ± {scratch.std():.3f}  "
            f"{pre.mean():.3f} ± {pre.std():.3f}  {pre.mean() - scratch.mean():+.3f}"
        )
    os.makedirs(args.output, exist_ok=True)
    save_figure(results, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
