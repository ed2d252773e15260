"""Bagging networks: accuracy and predictive uncertainty as the ensemble grows
===========================================================================

What it teaches
---------------
``MLPClassifier(n_estimators=k)`` trains ``k`` networks on bootstrap resamples and
averages their probabilities.  This script trains one ensemble of 16 members
(4 in quick mode), then averages the probabilities of its first ``k`` members --
exactly the ensemble ``n_estimators=k`` with the same ``random_state`` would
build -- and, for every ``k``, measures on held-out digits

- the ensemble's accuracy;
- its predictive uncertainty, the mean entropy of ``predict_proba`` (in nats);
- member disagreement, the fraction of (sample, member) pairs whose vote
  differs from the ensemble's -- zero for a single network;
- the entropy on the misclassified samples against the correct ones: an
  ensemble is most uncertain exactly where it is wrong.

It prints one line per size and, with matplotlib, saves ``bagging_uncertainty.png``.

Run ``python examples/bagging_uncertainty.py [--output DIR]``; set
``SKNN_EXAMPLES_QUICK=1`` for a run of a few seconds.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPClassifier


def entropy(proba):
    return -np.sum(proba * np.log(proba), axis=1)


def measure(member_probas, classes, y):
    """Accuracy and uncertainty of the ensemble of the given members' probabilities."""
    proba = np.mean(member_probas, axis=0)
    pred = classes[proba.argmax(axis=1)]
    votes = classes[np.argmax(member_probas, axis=2)]  # (members, samples)
    h = entropy(proba)
    wrong = pred != y
    return {
        "accuracy": float(np.mean(~wrong)),
        "entropy": float(h.mean()),
        "disagreement": float(np.mean(votes != pred)),
        "entropy_wrong": float(h[wrong].mean()) if wrong.any() else np.nan,
        "entropy_right": float(h[~wrong].mean()),
    }


def save_figure(sizes, rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, (ax_acc, ax_unc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_acc.plot(sizes, [r["accuracy"] for r in rows], "o-")
    ax_acc.set_xlabel("number of members")
    ax_acc.set_ylabel("held-out accuracy")
    ax_acc.set_title("ensemble accuracy")
    for key, label in (
        ("entropy", "mean entropy"),
        ("entropy_wrong", "entropy, misclassified"),
        ("entropy_right", "entropy, correct"),
        ("disagreement", "member disagreement"),
    ):
        ax_unc.plot(sizes, [r[key] for r in rows], "o-", label=label)
    ax_unc.set_xlabel("number of members")
    ax_unc.set_title("predictive uncertainty")
    ax_unc.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="directory for bagging_uncertainty.png")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    sizes = [1, 2, 4] if quick else [1, 2, 3, 5, 8, 12, 16]
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        dropout=0.2,
        max_iter=15 if quick else 60,
        random_state=0,
    )
    clf.set_params(n_estimators=sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    member_probas = np.array([m.predict_proba(X_test) for m in clf.estimators_])
    # the full ensemble's predict_proba is the mean of its members'
    assert np.allclose(clf.predict_proba(X_test), member_probas.mean(axis=0))
    rows = []
    print("members  accuracy  mean entropy  disagreement  entropy wrong/right")
    for k in sizes:
        r = measure(member_probas[:k], clf.classes_, y_test)
        rows.append(r)
        print(
            f"{k:7d}  {r['accuracy']:8.3f}  {r['entropy']:12.3f}  {r['disagreement']:12.3f}"
            f"  {r['entropy_wrong']:.3f} / {r['entropy_right']:.3f}",
            flush=True,
        )
    os.makedirs(args.output, exist_ok=True)
    save_figure(sizes, rows, os.path.join(args.output, "bagging_uncertainty.png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
