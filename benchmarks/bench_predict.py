"""Prediction latency and throughput: ``predict_proba`` of a fitted 784-256-128-10 MLP.

Both networks are fitted (2 epochs, which does not change the cost of a
prediction) on the first rows of the MLP-synth data, then ``predict_proba``
is timed on 1 row (many repeats, interleaved in blocks; median reported) and
on 10,000 rows (best of the repeats), float64, BLAS pinned to 1 thread (and 2
threads, for information).

Run ``python benchmarks/bench_predict.py`` (``--quick`` for a smoke run).
"""

import time

from _common import (
    Row,
    best,
    import_ours,
    interleave,
    make_parser,
    median,
    mlp_params,
    probe_ours,
    quiet_convergence,
    report,
    synth_data,
    threads,
)
from sklearn.neural_network import MLPClassifier as SkMLP

HIDDEN = (256, 128)


def one_row_times(models, x1, blocks, per_block):
    """Per-call seconds of ``predict_proba(x1)``, sides alternating every block."""
    clock = time.perf_counter
    out = {name: [] for name in models}
    for _ in range(blocks):
        for name, m in models.items():
            ts = out[name]
            for _ in range(per_block):
                t0 = clock()
                m.predict_proba(x1)
                ts.append(clock() - t0)
    return out


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    Ours = import_ours("MLPClassifier")
    X, y = synth_data(args.quick)
    n_fit = 1000 if args.quick else 4000
    n_big = 1000 if args.quick else 10000
    blocks, per_block = (4, 25) if args.quick else (40, 50)
    big_repeats = args.repeats or (1 if args.quick else 7)

    params = mlp_params(HIDDEN, 2)
    models = {}
    with threads(1), quiet_convergence():
        Ours = probe_ours(
            Ours, lambda: models.update(ours=Ours(**params).fit(X[:n_fit], y[:n_fit]))
        )
        models["sklearn"] = SkMLP(**params).fit(X[:n_fit], y[:n_fit])
    x1, Xbig = X[:1].copy(), X[:n_big].copy()
    for m in models.values():  # warm-up
        m.predict_proba(x1)
        m.predict_proba(Xbig)

    rows, raw = [], {}
    for nt in args.threads:
        with threads(nt):
            t1 = one_row_times(models, x1, blocks, per_block)
            tb = interleave(
                {k: (lambda m=m: m.predict_proba(Xbig)) for k, m in models.items()}, big_repeats
            )
        raw[f"{nt}thr"] = {
            "1 row median": {k: median(v) for k, v in t1.items()},
            f"{n_big} rows": tb,
        }
        target1 = ("<=", 0.5) if nt == 1 else None
        targetb = ("<=", 1.0) if nt == 1 else None
        rows.append(
            Row(
                f"Predict 1 row {nt}thr (median of {blocks * per_block})",
                median(t1.get("ours")),
                median(t1["sklearn"]),
                target1,
                peer_name="sklearn",
            )
        )
        rows.append(
            Row(
                f"Predict {n_big} rows {nt}thr (best of {big_repeats})",
                best(tb.get("ours")),
                best(tb["sklearn"]),
                targetb,
                peer_name="sklearn",
            )
        )
    report("bench_predict", rows, args, extra={"times": raw})


if __name__ == "__main__":
    main()
