"""How the cost of a fit grows with the number of rows: time per sample and added memory.

``MLPClassifier`` (hidden (256, 128), ReLU, Adam, batch 200, float32, BLAS 1
thread, 2 epochs) on MLP-synth-like data (40 features, 10 informative, 10
classes: Gaussian clusters at hypercube vertices, as ``make_classification``,
generated in chunks so no float64 copy of the whole set is ever made) at
``10^4``, ``10^5`` and ``10^6`` rows.

- *Time per sample*: fit time divided by ``n * epochs``.  Each measurement
  covers as many rows as the largest fit (``10^6 / n`` fits of ``n`` rows back
  to back, set-up included), so each size is timed for the same length of
  time; the sizes run interleaved (``1e4, 1e5, 1e6, 1e4, ...``) in one
  process, best of the repeats.  Target: the slowest size within 15 % of the fastest.
- *Memory*: in a fresh interpreter per size (data made, tiny warm-up fit, which
  loads the numba fast path's kernels when the measured fit will use them),
  the peak of :mod:`tracemalloc` during one fit (numpy reports its buffers to
  it), the data itself excluded; and, in a second fit, what is held while the
  training loop runs (the encoded targets, the network) plus the loop's own
  peak: the fit without the targets' encoding.  Target: what a fit adds grows by at most
  10 % of the data's growth, ``(added(n) - added(n_0)) <= 0.10 (data(n) - data(n_0))``
  (the constant is the smallest size's figure: network, optimizer, batch buffers).

Prints the curve as rows with PASS/FAIL; ``--plot FILE`` saves it as a PNG
(``docs/_static/scaling.png`` in the docs).

Run ``python benchmarks/bench_scaling.py [--plot docs/_static/scaling.png]``.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from _common import (
    Row,
    import_ours,
    interleave,
    make_parser,
    mlp_n_params,
    mlp_params,
    probe_ours,
    quiet_convergence,
    report,
    threads,
)

MiB = 1024.0**2
N_FEATURES, N_INFORMATIVE, N_CLASSES = 40, 10, 10
HIDDEN, EPOCHS = (256, 128), 2
SIZES = (10**4, 10**5, 10**6)
SIZES_QUICK = (10**3, 3 * 10**3, 10**4)
CHUNK = 50_000


def scaling_data(n, seed=0, dtype=np.float32):
    """``n`` rows of ``make_classification``-like data, made ``CHUNK`` rows at a time.

    One cluster per class at a vertex of the informative hypercube (side 2),
    each with its own random covariance; 10 redundant features (linear
    combinations of the informative ones), the rest noise; columns shuffled.
    Only ``CHUNK`` rows ever exist in float64.
    """
    rng = np.random.default_rng(seed)
    k, n_red = N_INFORMATIVE, 10
    n_noise = N_FEATURES - k - n_red
    centroids = rng.choice([-1.0, 1.0], size=(N_CLASSES, k))
    covs = rng.uniform(-1, 1, size=(N_CLASSES, k, k))
    mix = rng.uniform(-1, 1, size=(k, n_red))
    cols = rng.permutation(N_FEATURES)
    X = np.empty((n, N_FEATURES), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        yc = rng.integers(0, N_CLASSES, size=m)
        z = rng.standard_normal((m, k))
        xi = np.einsum("ni,nij->nj", z, covs[yc]) + centroids[yc]
        block = np.hstack([xi, xi @ mix, rng.standard_normal((m, n_noise))])
        X[start : start + m] = block[:, cols]
        y[start : start + m] = yc
    return X, y


def _params():
    return mlp_params(HIDDEN, EPOCHS)


def child(n):
    """Peak tracemalloc bytes a fit on ``n`` rows adds (run in a fresh interpreter)."""
    import gc
    import tracemalloc

    import sknn_backprop._fitting as base

    Ours = import_ours("MLPClassifier")
    X, y = scaling_data(n)
    train = {}
    train_stochastic = base.train_stochastic

    def traced_train_stochastic(*args, **kwargs):
        # the training loop alone: its peak above what the fit held when it started
        # (the encoded targets, the network), the targets' encoding excluded
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return_value = train_stochastic(*args, **kwargs)
        train["peak"] = tracemalloc.get_traced_memory()[1] - held
        train["held"] = held
        return return_value

    with threads(1), quiet_convergence():
        # the numba fast path loads its kernels once per process, at the first fit worth
        # it (as imports, not counted): decide for the measured fit, so the warm-up loads them
        from sknn_backprop import nn

        nn.choose_fast_path(EPOCHS, X.shape, mlp_n_params([X.shape[1], *HIDDEN, int(y.max()) + 1]))
        Ours(**mlp_params(HIDDEN, 1)).fit(X[:400], y[:400])  # warm-up: imports, buffers
        gc.collect()
        tracemalloc.start()
        Ours(**_params()).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        base.train_stochastic = traced_train_stochastic
        tracemalloc.start()  # again, for the loop alone (a global peak cannot be split)
        Ours(**_params()).fit(X, y)
        tracemalloc.stop()
    res = {"added_bytes": peak, "data_bytes": X.nbytes + y.nbytes}
    res["train_bytes"] = train["held"] + train["peak"]
    print(json.dumps(res))


def run_child(n):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"# memory child n={n} failed: {proc.stderr.strip()[-300:]}", flush=True)
        return None
    return json.loads(lines[-1])


def plot(path, sizes, per_sample, added, train, data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    us = [t * 1e6 for t in per_sample]
    a1.plot(sizes, us, "o-", label="ours")
    a1.axhspan(us[0] * 0.85, us[0] * 1.15, color="0.9", label="target: within 15 %")
    a1.set_xscale("log")
    a1.set_ylim(0, max(us) * 1.4)
    a1.set_xlabel("rows n")
    a1.set_ylabel("µs per sample per epoch")
    a1.set_title("time per sample")
    a1.legend(loc="lower right", fontsize=8)
    a2.plot(sizes, [d / MiB for d in data], "s--", color="0.5", label="the data (X, y)")
    a2.plot(sizes, [a / MiB for a in added], "o-", label="added by fit (tracemalloc)")
    a2.plot(sizes, [a / MiB for a in train], "^-", label="... by its training loop")
    bound = [added[0] + 0.1 * (d - data[0]) for d in data]
    a2.plot(sizes, [b / MiB for b in bound], ":", color="C3", label="target bound")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("rows n")
    a2.set_ylabel("MiB")
    a2.set_title("peak memory")
    a2.legend(loc="upper left", fontsize=8)
    fig.suptitle(
        f"MLPClassifier{HIDDEN}, {N_FEATURES} features, float32, Adam, batch 200, 1 thread",
        fontsize=9,
    )
    fig.savefig(path, dpi=100)
    print(f"# plot saved to {path}")


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--plot", default=None, help="save the curves as a PNG to this file")
    p.add_argument("--no-memory", action="store_true", help="time only")
    args = p.parse_args()
    if args.child:
        child(args.child)
        return
    sizes = SIZES_QUICK if args.quick else SIZES
    repeats = args.repeats or (1 if args.quick else 5)
    Ours = import_ours("MLPClassifier")
    data = {n: scaling_data(n) for n in sizes}
    with threads(1), quiet_convergence():
        X0, y0 = data[sizes[0]]
        Ours = probe_ours(Ours, lambda: Ours(**_params()).fit(X0[:2000], y0[:2000]))
        if Ours is None:
            return

        def fitter(n):
            # every measurement trains on the same number of rows (the largest size's
            # fit, or that many smaller fits back to back): the same length of time,
            # so a noisy machine cannot favour the short fits' best-of
            X, y = data[n]
            reps = sizes[-1] // n

            def fit():
                for _ in range(reps):
                    Ours(**_params()).fit(X, y)

            return fit

        times = interleave({n: fitter(n) for n in sizes}, repeats)
    data.clear()  # free the data before the memory children run
    per_sample = [min(times[n]) / (sizes[-1] * EPOCHS) for n in sizes]
    rows = []
    for n, t in zip(sizes, per_sample):
        rows.append(
            Row(
                f"time/sample, n={n:.0e}, vs n={sizes[0]:.0e}",
                t * 1e6,
                per_sample[0] * 1e6,
                ("<=", 1.15),
                unit="us",
                peer_name=f"n={sizes[0]:.0e}",
            )
        )
    rows.append(
        Row(
            "time/sample spread, slowest / fastest size",
            max(per_sample) * 1e6,
            min(per_sample) * 1e6,
            ("<=", 1.15),
            unit="us",
            peer_name="fastest",
        )
    )
    mem = [] if args.no_memory else [run_child(n) for n in sizes]
    extra = {"sizes": list(sizes), "times": {str(k): v for k, v in times.items()}}
    if mem and all(mem):
        added = [m["added_bytes"] for m in mem]
        data_b = [m["data_bytes"] for m in mem]
        for n, a, d in zip(sizes, added, data_b):
            # growth of what fit adds over the growth of the data (the constant cancels)
            ratio = 0.0 if n == sizes[0] else (a - added[0]) / (d - data_b[0])
            rows.append(
                Row(
                    f"memory added, n={n:.0e} (data {d / MiB:.1f} MiB)",
                    a / MiB,
                    d / MiB,
                    ("<=", 0.10),
                    unit="MiB",
                    peer_name="data",
                    ratio=ratio,
                )
            )
        train = [m["train_bytes"] for m in mem]
        for n, a, d in zip(sizes, train, data_b):
            rows.append(
                Row(
                    f"memory during training (targets encoded), n={n:.0e}",
                    a / MiB,
                    d / MiB,
                    ("<=", 0.10),
                    unit="MiB",
                    peer_name="data",
                    ratio=0.0 if n == sizes[0] else (a - train[0]) / (d - data_b[0]),
                )
            )
        rows[len(sizes) + 1].note = (
            "ratio = (added(n) - added(n0)) / (data(n) - data(n0)): the growth of "
            "fit's peak over the data's growth"
        )
        extra.update(added_bytes=added, train_bytes=train, data_bytes=data_b)
        if args.plot:
            plot(args.plot, sizes, per_sample, added, train, data_b)
    report("bench_scaling", rows, args, extra=extra)


if __name__ == "__main__":
    main()
