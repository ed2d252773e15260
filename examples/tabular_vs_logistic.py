"""A raw table, no plumbing: TabularMLPClassifier against logistic regression and boosting
=======================================================================================

What it teaches
---------------
Real tables have string categories and holes.  ``TabularMLPClassifier`` takes the
frame as it is -- numeric, ``category`` and ``bool`` columns, NaN anywhere -- as
``HistGradientBoostingClassifier(categorical_features="from_dtype")`` does, so
``cross_val_score`` compares the three models on the same folds with no
preprocessing written for the network or the trees.  ``LogisticRegression``
cannot read such a frame: it needs the usual ``ColumnTransformer`` (impute, scale,
one-hot), shown here because that is the plumbing the tabular estimators spare you.

The frame is scikit-learn's breast-cancer table (it ships with scikit-learn,
nothing is downloaded) made to look like a real export: three measurements are
reported as size classes (``category``), one as a yes/no flag (``bool``), and 8%
of the values of four columns are missing.  The script prints mean +/- std of
the accuracy and log-loss over 5 folds and, with matplotlib, saves
``tabular_vs_logistic.png``.

Run ``python examples/tabular_vs_logistic.py [--output DIR]``; set
``SKNN_EXAMPLES_QUICK=1`` for a run of a few seconds.
"""

import argparse
import os

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknn_backprop import TabularMLPClassifier


def messy_breast_cancer(seed=0):
    """The breast-cancer frame with categorical, boolean and missing values."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    rng = np.random.default_rng(seed)
    X = X.copy()
    for col in ("mean radius", "mean texture", "worst smoothness"):
        X[col] = pd.qcut(X[col], 4, labels=["small", "medium", "large", "very large"])
    X["symmetric"] = X.pop("mean symmetry") < 0.18
    for col in ("mean area", "worst texture", "mean texture", "area error"):
        X.loc[rng.random(len(X)) < 0.08, col] = np.nan
    return X, y


def linear_plumbing():
    """What ``LogisticRegression`` needs before it can read the frame."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    return make_column_transformer(
        (numeric, make_column_selector(dtype_include=["number", "bool"])),
        (categorical, make_column_selector(dtype_include="category")),
    )


def save_figure(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot([-r["test_neg_log_loss"] for r in results.values()])
    ax.set_xticks(range(1, len(results) + 1))
    ax.set_xticklabels(list(results), rotation=10)
    ax.set_ylabel("log-loss per fold (lower is better)")
    ax.set_title("breast cancer with categories and NaN: 5-fold CV")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="directory for tabular_vs_logistic.png")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"

    X, y = messy_breast_cancer()
    print(X.dtypes.value_counts().to_string(), f"\n{int(X.isna().sum().sum())} missing values\n")
    tabular = TabularMLPClassifier(random_state=0)
    if quick:
        tabular.set_params(hidden_layer_sizes=(64, 64), max_iter=16)
    models = {
        "TabularMLPClassifier": tabular,  # the raw frame
        "HistGradientBoosting": HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=0
        ),  # the raw frame
        "LogisticRegression": make_pipeline(linear_plumbing(), LogisticRegression(max_iter=1000)),
    }
    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    results = {}
    for name, model in models.items():
        r = cross_validate(model, X, y, cv=cv, scoring=["accuracy", "neg_log_loss"])
        results[name] = r
        print(
            f"{name:<22} accuracy {r['test_accuracy'].mean():.3f} +/- "
            f"{r['test_accuracy'].std():.3f}   log-loss {-r['test_neg_log_loss'].mean():.3f}"
            f"   fit {r['fit_time'].mean():.2f}s",
            flush=True,
        )
    os.makedirs(args.output, exist_ok=True)
    save_figure(results, os.path.join(args.output, "tabular_vs_logistic.png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
