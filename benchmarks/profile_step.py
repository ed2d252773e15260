"""Where a training step's time goes: one MLP-synth epoch, BLAS pinned to 1 thread.

Times one epoch (20,000 x 784 float64, hidden (256, 128), batch 200, Adam) of

- the bare ``sknn_backprop.nn`` loop, phase by phase (shuffle, forward, loss,
  backward, L2 penalty, Adam step), and
- ``sknn_backprop.MLPClassifier(max_iter=1)`` if it is importable,

against the same matrix products run alone (the 3 forward GEMMs, the 3
weight-gradient GEMMs and the 2 input-gradient GEMMs of every batch, into
preallocated outputs).  ``GEMM share = GEMMs alone / epoch``: the rest is
overhead a faster implementation can remove; ``1 - share`` is the ceiling of
what it can gain.

scikit-learn's ``MLPClassifier`` is timed in the same run, so the last lines
print both fits' ratio and the floor the products set: ``GEMMs alone /
scikit-learn's fit`` is the ratio no engine that runs these products (in this
orientation, on this BLAS) can go below, and the rest of the gap to a target is
what the element-wise work, the optimizer and the data gather may still take.
Two passes that any engine makes beside the products are timed alone too: the
square root of Adam's step over all parameters and the gather of the shuffled rows.

With ``--digits`` the workload is MLP-digits instead (1,797 x 64, hidden (100,),
50 epochs, timed as one run): a step whose matrix products are small, so the
element-wise work and the numpy calls around them are what the rest measures.

Run ``python benchmarks/profile_step.py [--dtype float32] [--digits] [--quick]``.
"""

import time

import numpy as np
from _common import (
    engine_mlp_fit,
    gemm_peak,
    import_ours,
    make_parser,
    mlp_n_params,
    mlp_params,
    probe_ours,
    quiet_convergence,
    synth_data,
    threads,
    timed,
)
from sklearn.neural_network import MLPClassifier as SkMLP

BATCH = 200


def gemms_alone(X, sizes, batch=BATCH):
    """Seconds for one epoch's matrix products alone (shapes as in training)."""
    rng = np.random.default_rng(0)
    dt = X.dtype
    Ws = [rng.standard_normal((b, a)).astype(dt) for a, b in zip(sizes[:-1], sizes[1:])]
    n = X.shape[0]
    t = 0.0
    clock = time.perf_counter
    bufs = {}

    def buf(key, shape):
        if bufs.get(key) is None or bufs[key].shape != shape:
            bufs[key] = np.empty(shape, dtype=dt)
        return bufs[key]

    acts = [None] * len(sizes)
    for s in range(0, n, batch):
        xb = X[s : s + batch]
        m = xb.shape[0]
        acts[0] = xb
        t0 = clock()
        for i, W in enumerate(Ws):  # forward: A_{i+1} = A_i W_i^T
            acts[i + 1] = np.matmul(acts[i], W.T, out=buf(("f", i, m), (m, W.shape[0])))
        delta = acts[-1]
        for i in range(len(Ws) - 1, -1, -1):  # backward
            np.matmul(delta.T, acts[i], out=buf(("gw", i), Ws[i].shape))  # dW = delta^T A
            if i > 0:  # dA = delta W (not for the data)
                delta = np.matmul(delta, Ws[i], out=buf(("gi", i, m), (m, Ws[i].shape[1])))
        t += clock() - t0
    return t


def unavoidable_alone(X, n_params, epochs, batch=BATCH, repeats=5):
    """Seconds for the passes every engine makes beside the products, each run alone.

    ``(square root, gather)``: the square root of Adam's second moment over all
    parameters once per step (scikit-learn's Adam takes it too), and gathering the
    shuffled rows of every minibatch, for ``epochs`` epochs; best of ``repeats``.
    """
    rng = np.random.default_rng(0)
    v = rng.random(n_params).astype(X.dtype)
    out = np.empty_like(v)
    order = rng.permutation(X.shape[0])
    buf = np.empty((batch, X.shape[1]), X.dtype)
    steps = epochs * -(-X.shape[0] // batch)

    def square_roots():
        for _ in range(steps):
            np.sqrt(v, out=out)

    def gathers():
        for _ in range(epochs):
            for s in range(0, X.shape[0], batch):
                idx = order[s : s + batch]
                np.take(X, idx, axis=0, out=buf[: len(idx)], mode="clip")

    t_sqrt = min(timed(square_roots)[0] for _ in range(repeats))
    t_gather = min(timed(gathers)[0] for _ in range(repeats))
    return t_sqrt, t_gather


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--digits", action="store_true", help="MLP-digits, 50 epochs")
    args = p.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    epochs = 1
    if args.digits:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X.astype(args.dtype)
        hidden, epochs = (100,), (3 if args.quick else 50)
    else:
        X, y = synth_data(args.quick, np.dtype(args.dtype))
        hidden = (64, 32) if args.quick else (256, 128)
    sizes = [X.shape[1], *hidden, 10]
    Ours = import_ours("MLPClassifier")

    gemm_n = 256 if args.quick else 1024
    with threads(1):
        peak = gemm_peak(gemm_n, X.dtype)
        engine_mlp_fit(X[:400], y[:400], hidden, 1)  # warm-up
        with quiet_convergence():
            Ours = probe_ours(Ours, lambda: Ours(**mlp_params(hidden, 1)).fit(X[:400], y[:400]))
            SkMLP(**mlp_params(hidden, 1)).fit(X[:400], y[:400])
        gemms_alone(X[:400], sizes)
        runs = []
        for _ in range(repeats):
            timers = {}
            t0 = time.perf_counter()
            engine_mlp_fit(X, y, hidden, epochs, timers=timers)
            t_engine = time.perf_counter() - t0
            t_gemm = sum(gemms_alone(X, sizes) for _ in range(epochs))
            t_ours = None
            if Ours is not None:
                t0 = time.perf_counter()
                with quiet_convergence():
                    Ours(**mlp_params(hidden, epochs)).fit(X, y)
                t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            with quiet_convergence():
                SkMLP(**mlp_params(hidden, epochs)).fit(X, y)
            t_sk = time.perf_counter() - t0
            runs.append((t_engine, t_gemm, t_ours, timers, t_sk))
        peak = max(peak, gemm_peak(gemm_n, X.dtype))  # best of before and after
        t_sqrt, t_gather = unavoidable_alone(X, mlp_n_params(sizes), epochs)

    t_engine, t_gemm, t_ours, timers, _ = min(runs, key=lambda r: r[0])
    t_gemm = min(r[1] for r in runs)
    t_sk = min(r[4] for r in runs)
    if t_ours is not None:
        t_ours = min(r[2] for r in runs)
    flops = 6.0 * X.shape[0] * epochs * mlp_n_params(sizes)
    print(
        f"{'MLP-digits' if args.digits else 'MLP-synth'}, {epochs} epoch(s), "
        f"{X.shape[0]} x {X.shape[1]} {X.dtype}, hidden {hidden}, "
        f"batch {BATCH}, BLAS 1 thread (best of {repeats})"
    )
    print(
        f"1-thread GEMM peak ({X.dtype}): {peak:.1f} GFLOP/s; "
        f"6*n*params = {flops / 1e9:.2f} GFLOP in all"
    )
    print(f"\n{'phase (nn engine loop)':<28}{'seconds':>10}{'share':>8}")
    for k, v in timers.items():
        print(f"{k:<28}{v:>10.4f}{v / t_engine:>8.1%}")
    other = t_engine - sum(timers.values())
    print(f"{'python loop / slicing':<28}{other:>10.4f}{other / t_engine:>8.1%}")
    print(f"{'total':<28}{t_engine:>10.4f}{1:>8.1%}")
    # what the products alone really do: forward and dW of every layer, dA of all but the first
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = 2 * sum(a * b for a, b in pairs) + sum(a * b for a, b in pairs[1:])
    gemm_flops = 2.0 * X.shape[0] * epochs * macs
    rate = gemm_flops / t_gemm / 1e9
    print(
        f"\nmatrix products alone: {t_gemm:.4f} s ({gemm_flops / 1e9:.2f} GFLOP at {rate:.1f} "
        f"GFLOP/s, {rate / peak:.0%} of the square-GEMM peak)"
    )
    print("(the 'of peak' figures below use the nominal 6 * n * params flops)")
    print(
        f"GEMM share of the nn engine epoch: {t_gemm / t_engine:.1%} "
        f"(epoch at {flops / t_engine / 1e9 / peak:.0%} of peak)"
    )
    if t_ours is not None:
        print(
            f"GEMM share of sknn_backprop's MLPClassifier(max_iter={epochs}).fit: "
            f"{t_gemm / t_ours:.1%} "
            f"({t_ours:.4f} s, {flops / t_ours / 1e9 / peak:.0%} of peak)"
        )
    else:
        print("MLPClassifier not importable: estimator epoch not profiled")
    print(f"\nscikit-learn's MLPClassifier(max_iter={epochs}).fit: {t_sk:.4f} s")
    if t_ours is not None:
        print(f"ours / scikit-learn's: {t_ours / t_sk:.3f}")
        rest_ours, rest_sk = t_ours - t_gemm, t_sk - t_gemm
        share = f" ({rest_ours / rest_sk:.2f} of it)" if rest_sk > 0 else ""
        print(
            f"time beside the products: ours {rest_ours:.4f} s, "
            f"scikit-learn's {rest_sk:.4f} s{share}"
        )
    print(
        f"floor set by the products alone: {t_gemm / t_sk:.3f} of scikit-learn's fit "
        f"(no engine running these GEMMs, in this orientation on this BLAS, goes below it)"
    )
    print(
        f"passes beside them, alone: Adam's square root {t_sqrt:.4f} s, the row gather "
        f"{t_gather:.4f} s; with the products {(t_gemm + t_sqrt + t_gather) / t_sk:.3f} "
        f"of scikit-learn's fit"
    )


if __name__ == "__main__":
    main()
