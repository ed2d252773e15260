"""Ablation of TabularMLPClassifier / TabularMLPRegressor's defaults (docs/tabular.rst).

Each configuration changes one default; all run on the same data sets of
``bench_tabular.py``, subsampled to ``--rows`` rows, with the same ``--folds``-fold
CV splits (1 BLAS thread per fit).  Results go to a JSON-lines file (one line per
fold; folds already there are skipped, so the run can be resumed), and the report
gives, per configuration, the mean accuracy / log-loss / R^2 over data sets, the
mean rank among the configurations and the mean fit time.

    python benchmarks/ablation_tabular.py --configs default no_pbld --rows 1000
    python benchmarks/ablation_tabular.py --report
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import bench_tabular as bt  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "results", "tabular_ablation.jsonl")
DATASETS = [
    "breast_cancer",
    "digits",
    "credit_data",
    "wa_churn",
    "hpc_data",
    "Titanicp",
    "Chile",
    "Wage",
    "ames",
    "Bikeshare",
]

#: Each round changed one thing at a time from the defaults of its day, so each round's
#: configurations are pinned to those defaults (the estimators' defaults have moved on):
#: rounds 1-4 (``--rows 1000``, and round 3 on full data) from one network with early
#: stopping (patience 8) over 32 epochs; round 1 from its first candidate,
#: ``candidate_e64`` (coslog4 over 64 epochs, patience 16); round 5 (full data, the
#: benchmark's 5 folds) from round 4's outcome, ``single_e32``: one network on every row,
#: no early stopping, 32 epochs (classifier) / 64 (regressor).  ``default`` is today's.
_ONE = {"n_estimators": 1, "max_samples": 1.0, "bootstrap": True}
_R4 = {**_ONE, "max_iter": 32, "n_iter_no_change": 8, "early_stopping": True}
_R5_CLS = {**_ONE, "max_iter": 32, "n_iter_no_change": 8, "early_stopping": False}
_R5_REG = {**_ONE, "max_iter": 64, "n_iter_no_change": 16, "early_stopping": False}
_E64 = {**_R4, "max_iter": 64, "n_iter_no_change": 16, "lr_schedule": "coslog4"}


def _from_e64(**change):
    return ({**_E64, **change}, {**_E64, **change})


def _on(base_cls, base_reg, configs):
    """``configs`` as changes of the given defaults ("bench" / None / strings kept)."""
    def one(base, change):
        return {**base, **change} if isinstance(change, dict) else change

    return {k: (one(base_cls, c), one(base_reg, r)) for k, (c, r) in configs.items()}


#: configuration -> (classifier settings, regressor settings); None = not applicable
CONFIGS = {
    "default": ({}, {}),
    "candidate_e64": _from_e64(),
    "no_pbld": _from_e64(numeric_embedding=False),
    "no_scale": _from_e64(front_scale=False),
    "no_label_smoothing": ({**_E64, "label_smoothing": 0.0}, None),
    "cosine": _from_e64(lr_schedule="cosine"),
    "constant_lr": _from_e64(lr_schedule="constant"),
    "no_dropout": _from_e64(dropout=0.0),
    "no_weight_decay": _from_e64(alpha=0.0),
    "wd_0.1": _from_e64(alpha=0.1),
    "relu": _from_e64(activation="relu"),
    "mish_selu_swapped": ({**_E64, "activation": "mish"}, {**_E64, "activation": "selu"}),
    "float64": _from_e64(dtype="float64"),
    "lr_1e-3": _from_e64(learning_rate_init=1e-3),
    "lr_4e-3": _from_e64(learning_rate_init=4e-3),
    "epochs_32": _from_e64(max_iter=32, n_iter_no_change=8),
    "stop_on_score": ("score", "score"),  # sklearn's rule: validation accuracy / R^2 (e64)
    "no_early_stopping": _from_e64(early_stopping=False),
    "no_clip_output": (None, "noclip"),  # (e64)
    "width_128": _from_e64(hidden_layer_sizes=(128, 128, 128)),
    **_on(_R4, _R4, {
        # round 3 (full data, 5 folds): the schedule against the patience, label
        # smoothing (32 epochs; the patience is 8, or 32: no early end, only the best epoch)
        "coslog4_p8": ({"lr_schedule": "coslog4"}, {"lr_schedule": "coslog4"}),
        "coslog4_best_epoch": (
            {"lr_schedule": "coslog4", "n_iter_no_change": 32},
            {"lr_schedule": "coslog4", "n_iter_no_change": 32},
        ),
        "cosine_p8": ({"lr_schedule": "cosine"}, {"lr_schedule": "cosine"}),
        "cosine_best_epoch": (
            {"lr_schedule": "cosine", "n_iter_no_change": 32},
            {"lr_schedule": "cosine", "n_iter_no_change": 32},
        ),
        "coslog4_best_epoch_no_ls": (
            {"lr_schedule": "coslog4", "n_iter_no_change": 32, "label_smoothing": 0.0},
            None,
        ),
        "cosine_best_epoch_no_ls": (
            {"lr_schedule": "cosine", "n_iter_no_change": 32, "label_smoothing": 0.0},
            None,
        ),
        "cosine_no_early_stopping": ({"early_stopping": False}, {"early_stopping": False}),
        # round 4 (--rows 1000): one change at a time from the defaults of the day
        "round4_base": ({}, {}),
        "final_no_pbld": ({"numeric_embedding": False}, {"numeric_embedding": False}),
        "final_no_scale": ({"front_scale": False}, {"front_scale": False}),
        "final_no_label_smoothing": ({"label_smoothing": 0.0}, None),
        "final_no_dropout": ({"dropout": 0.0}, {"dropout": 0.0}),
        "final_no_early_stopping": ({"early_stopping": False}, {"early_stopping": False}),
        "final_coslog4": ({"lr_schedule": "coslog4"}, {"lr_schedule": "coslog4"}),
        "final_relu": ({"activation": "relu"}, {"activation": "relu"}),
        "final_regressor_e64": (None, {"max_iter": 64, "n_iter_no_change": 16}),
        "final_regressor_e64_no_es": (None, {"max_iter": 64, "early_stopping": False}),
    }),
    **_on(_R5_CLS, _R5_REG, {
        # round 5 (full data, the benchmark's 5 folds): from round 4's outcome
        "single_e32": ({}, {}),
        # a seed ensemble, every member on all rows (TabM's lesson: ensembles pay on tables)
        "ens2": (_ens := {"n_estimators": 2, "bootstrap": False}, _ens),
        "ens3": ({**_ens, "n_estimators": 3}, {**_ens, "n_estimators": 3}),
        "cls_e64": ({"max_iter": 64}, None),
        "cls_e48": ({"max_iter": 48}, None),
        # 64 epochs on 80% of the rows, the epoch of least validation loss restored
        "cls_e64_best": ({"max_iter": 64, "early_stopping": True, "n_iter_no_change": 64}, None),
        # cross-fitted best epochs: each member trains on its own 80% of the rows and
        # restores its epoch of least loss on the other 20%; the mean uses every row
        "bag2_best_e64": (
            _xfit := {"n_estimators": 2, "bootstrap": False, "max_samples": 0.8,
                      "early_stopping": True, "max_iter": 64, "n_iter_no_change": 64},
            _xfit,
        ),
        "bag2_best_e48": ({**_xfit, "max_iter": 48, "n_iter_no_change": 48}, None),
        # ... stopping after 16 epochs without improvement: the new defaults
        "bag2_p16_e64": ({**_xfit, "n_iter_no_change": 16}, {**_xfit, "n_iter_no_change": 16}),
    }),
    # references, the bench's own plumbing
    "sklearn_mlp": ("bench", "bench"),
    "hgb": ("bench", "bench"),
    "linear": ("bench", "bench"),
}


def make_factory(config):
    def make(name, task):
        cls_change, reg_change = CONFIGS[config]
        change = reg_change if task == "regression" else cls_change
        if change == "bench":
            return bt.make_model(config, task)
        from sknn_backprop import TabularMLPClassifier, TabularMLPRegressor

        cls = TabularMLPRegressor if task == "regression" else TabularMLPClassifier
        if change == "score":
            est = cls(random_state=0, **_E64)
            est.early_stopping_metric = "score"  # a fixed setting, not a parameter
            return est
        if change == "noclip":
            est = cls(random_state=0, **_E64)
            est._clip_output = False
            return est
        return cls(random_state=0, **change)

    return make


def applicable(config, task):
    cls_change, reg_change = CONFIGS[config]
    return (reg_change if task == "regression" else cls_change) is not None


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(configs, datasets, rows, folds, out):
    done = {(r["config"], r["dataset"], r["fold"], r["rows"]) for r in load(out)}
    for name in datasets:
        X, y, task = bt.load_dataset(name)
        X, y = bt.subsample(X, y, rows)
        n_classes = None if task == "regression" else int(y.max()) + 1
        from sklearn.model_selection import KFold, StratifiedKFold

        cv = (KFold if task == "regression" else StratifiedKFold)(
            n_splits=folds, shuffle=True, random_state=0
        )
        splits = list(cv.split(X, y))
        for config in configs:
            if not applicable(config, task):
                continue
            for k, (train, test) in enumerate(splits):
                if (config, name, k, rows) in done:
                    continue
                rec = bt.run_fold(
                    "ours", task, X, y, train, test, n_classes, make=make_factory(config)
                )
                rec.update(config=config, dataset=name, fold=k, rows=rows, task=task)
                with open(out, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(json.dumps(rec), flush=True)


def rst_table(table):
    """The summary as an RST simple table (for docs/tabular.rst)."""
    cols = ["config", "datasets", "mean_rank", "logloss_rank", "mean_score", "fit_s"]
    rows = [[str(i), *(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r)]
            for i, r in zip(table.index, table[cols[1:]].itertuples(index=False))]  # fmt: skip
    widths = [max(len(c), *(len(r[k]) for r in rows)) for k, c in enumerate(cols)]
    line = "  ".join("=" * w for w in widths)
    out = [line, "  ".join(c.ljust(w) for c, w in zip(cols, widths)), line]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out + [line])


def report(path, rows, configs=None, rst=False):
    import pandas as pd

    df = pd.DataFrame([r for r in load(path) if r["rows"] == rows])
    if configs:
        df = df[df["config"].isin(configs)]
    # a fold run twice (two processes) counts once
    df = df.drop_duplicates(["config", "dataset", "fold", "rows"], keep="last")
    if df.empty:
        print("no results")
        return
    df["score"] = df["r2"].fillna(df["accuracy"]) if "r2" in df else df["accuracy"]
    per = df.groupby(["config", "dataset"]).agg(
        score=("score", "mean"),
        log_loss=("log_loss", "mean"),
        fit_time=("fit_time", "mean"),
        warnings=("convergence_warnings", "sum"),
        n=("fold", "count"),
    )
    per = per.reset_index()
    complete = per.groupby("dataset")["n"].transform("max")
    per = per[per["n"] == complete]
    per["rank"] = per.groupby("dataset")["score"].rank(ascending=False)
    per["ll_rank"] = per.groupby("dataset")["log_loss"].rank(ascending=True)
    table = per.groupby("config").agg(
        datasets=("dataset", "count"),
        mean_rank=("rank", "mean"),
        logloss_rank=("ll_rank", "mean"),
        mean_score=("score", "mean"),
        mean_logloss=("log_loss", "mean"),
        fit_s=("fit_time", "mean"),
        conv_warn=("warnings", "sum"),
    )
    table = table[table["datasets"] == table["datasets"].max()]  # complete configs only
    pd.set_option("display.width", 200)
    print(table.sort_values("mean_rank").round(4).to_string())
    if rst:
        print(rst_table(table.sort_values("mean_rank")))
    wide = per.pivot(index="dataset", columns="config", values="score").round(4)
    print()
    print(wide.to_string())
    if "default" in wide:
        print()
        print("difference to default (score), per data set:")
        print(wide.sub(wide["default"], axis=0).round(4).to_string())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--report", action="store_true", help="only print the report")
    p.add_argument("--rst", action="store_true", help="also print the summary as RST")
    args = p.parse_args(argv)
    if not args.report:
        run(args.configs, args.datasets, args.rows, args.folds, args.out)
    report(args.out, args.rows, args.configs if args.report else None, args.rst)


if __name__ == "__main__":
    main()
