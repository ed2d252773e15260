"""Is a neural network worth it?  MLPs against logistic regression, cross-validated
================================================================================

What it teaches
---------------
A fair comparison uses the same folds for every model and looks at the spread
over folds, not one split: ``cross_validate`` with one ``StratifiedKFold`` runs
``LogisticRegression`` (a linear model -- a network with no hidden layer),
``MLPClassifier`` with one and two hidden layers, and a dropout MLP, each in a
``Pipeline`` with ``StandardScaler``, on digits.  It prints mean +/- std accuracy
and fit time, and, with matplotlib, saves ``compare_logistic_regression.png``
(a boxplot of the fold accuracies).

Run ``python examples/compare_logistic_regression.py [--output DIR]``; set
``SKNN_EXAMPLES_QUICK=1`` for a run of a few seconds.
"""

import argparse
import os
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPClassifier


def save_figure(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot([r["test_score"] for r in results.values()])
    ax.set_xticks(range(1, len(results) + 1))
    ax.set_xticklabels(list(results), rotation=15)
    ax.set_ylabel("accuracy per fold")
    ax.set_title("digits: cross-validated accuracy")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--output", default=".", help="directory for compare_logistic_regression.png"
    )
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:600], y[:600]
    max_iter = 40 if quick else 200
    models = {
        "LogisticRegression": LogisticRegression(max_iter=1000),
        "MLP (100,)": MLPClassifier(max_iter=max_iter, random_state=0),
        "MLP (100, 50)": MLPClassifier((100, 50), max_iter=max_iter, random_state=0),
        "MLP dropout 0.2": MLPClassifier(dropout=0.2, max_iter=max_iter, random_state=0),
    }
    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            results[name] = cross_validate(make_pipeline(StandardScaler(), model), X, y, cv=cv)
            r = results[name]
            print(
                f"{name:<20} accuracy {r['test_score'].mean():.3f} +/- "
                f"{r['test_score'].std():.3f}   fit time {r['fit_time'].mean():.2f}s",
                flush=True,
            )
    os.makedirs(args.output, exist_ok=True)
    save_figure(results, os.path.join(args.output, "compare_logistic_regression.png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
