"""Tune an MLP like any scikit-learn model: ``Pipeline`` + ``GridSearchCV`` on digits
==================================================================================

What it teaches
---------------
The estimators are ordinary scikit-learn estimators, so the scaler and the
network go in one ``Pipeline`` (the scaler is refitted inside every
cross-validation fold: no leakage) and ``GridSearchCV`` searches the network's
``hidden_layer_sizes``, its L2 penalty ``alpha`` and its ``dropout`` rate with the
``step__parameter`` syntax.  It prints every candidate's cross-validated accuracy,
the best parameters and the held-out accuracy of the refitted best model, and,
with matplotlib, saves ``grid_search_pipeline.png`` (accuracy per candidate).

Run ``python examples/grid_search_pipeline.py [--output DIR]`` (about 27 s on
2 idle cores, 50 s when other work keeps them busy); set ``SKNN_EXAMPLES_QUICK=1`` for a
run of a few seconds.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPClassifier


def save_figure(search, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    res = search.cv_results_
    labels = [
        f"{p['mlp__hidden_layer_sizes']} a={p['mlp__alpha']:g} d={p['mlp__dropout']:g}"
        for p in res["params"]
    ]
    order = np.argsort(res["mean_test_score"])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.5))
    ax.barh(
        np.arange(len(order)),
        res["mean_test_score"][order],
        xerr=res["std_test_score"][order],
        color="tab:blue",
    )
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels([labels[i] for i in order], fontsize=8)
    ax.set_xlim(max(0.0, res["mean_test_score"].min() - 0.05), 1.0)
    ax.set_xlabel("cross-validated accuracy")
    ax.set_title("GridSearchCV: hidden sizes, alpha, dropout")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="directory for grid_search_pipeline.png")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:500], y[:500]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(max_iter=30 if quick else 200, random_state=0)),
        ]
    )
    grid = {
        "mlp__hidden_layer_sizes": [(32,), (64,)] if quick else [(50,), (100,), (100, 50)],
        "mlp__alpha": [1e-4, 1e-1] if quick else [1e-4, 1e-2, 1.0],
        "mlp__dropout": [0.0, 0.2] if quick else [0.0, 0.2, 0.5],
    }
    search = GridSearchCV(pipe, grid, cv=2 if quick else 3, n_jobs=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)

    res = search.cv_results_
    print("hidden_layer_sizes  alpha    dropout  accuracy")
    for p, m, s in zip(res["params"], res["mean_test_score"], res["std_test_score"]):
        print(
            f"{str(p['mlp__hidden_layer_sizes']):<18}  {p['mlp__alpha']:<7g}  "
            f"{p['mlp__dropout']:<7g}  {m:.3f} +/- {s:.3f}"
        )
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.3f}")
    print(f"held-out accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

    os.makedirs(args.output, exist_ok=True)
    save_figure(search, os.path.join(args.output, "grid_search_pipeline.png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
