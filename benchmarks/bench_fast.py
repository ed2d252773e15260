"""The two paths in one process: ours on the numba fast path, ours on the numpy path, and the peer.

For MLP-digits (50 epochs) and MLP-synth (2 epochs; ``--synth-epochs``) against
scikit-learn, and the 28x28 ConvNet of ``bench_convnet.py`` (1 epoch) against PyTorch,
1 BLAS thread: each round fits the peer, ours with the fast path forced on and ours
with it forced off (``SKNN_BACKPROP_NUMBA=1`` / ``=0``, switched in-process), and the
ratios are taken round by round.  On a shared host whose speed swings from one fit to
the next, the **median of the pairwise ratios** (printed as the row's ratio; min and
max in the note) is the figure to read.  Targets: MLP-digits float64 <= 0.50,
MLP-synth float64 <= 0.74, ConvNet <= 1.0 (docs/performance.rst, round 3).

Run ``python benchmarks/bench_fast.py [--dtype float32] [--rounds 9]`` (``--quick``
for a smoke run); needs numba (``pip install -e ".[fast]"``), and PyTorch for the
ConvNet rows.
"""

import os
import statistics
import time

import numpy as np
from _common import (
    Row,
    import_ours,
    import_torch,
    make_parser,
    mlp_params,
    quiet_convergence,
    report,
    synth_data,
    threads,
)


def _ours(fit, on):
    """Time ``fit()`` with the fast path forced ``on`` or off."""
    from sknn_backprop.nn import _fast

    os.environ["SKNN_BACKPROP_NUMBA"] = "1" if on else "0"
    _fast._reset()
    t = time.perf_counter()
    fit()
    return time.perf_counter() - t


def _timed(fit):
    t = time.perf_counter()
    fit()
    return time.perf_counter() - t


def rounds_of(peer_fit, ours_fit, rounds):
    """``{'peer': [...], 'fast': [...], 'numpy': [...]}`` seconds, interleaved by round."""
    _timed(peer_fit), _ours(ours_fit, True), _ours(ours_fit, False)  # warm-up, compile
    times = {"peer": [], "fast": [], "numpy": []}
    for _ in range(rounds):
        times["peer"].append(_timed(peer_fit))
        times["fast"].append(_ours(ours_fit, True))
        times["numpy"].append(_ours(ours_fit, False))
    return times


def rows_of(name, times, peer_name, target):
    """Rows: fast / peer (with the target), numpy / peer, fast / numpy; medians of pairs."""
    out = []
    for a, b, tgt in [("fast", "peer", target), ("numpy", "peer", None), ("fast", "numpy", None)]:
        r = [x / y for x, y in zip(times[a], times[b])]
        label = {"peer": peer_name, "fast": "fast path", "numpy": "numpy path"}
        out.append(
            Row(
                f"{name}: {label[a]} / {label[b]}",
                statistics.median(times[a]),
                statistics.median(times[b]),
                tgt,
                peer_name=label[b],
                ratio=statistics.median(r),
                note=f"median of {len(r)} pairwise ratios, min {min(r):.3f}, max {max(r):.3f}",
            )
        )
    return out


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7)")
    p.add_argument("--synth-epochs", type=int, default=2)
    p.add_argument("--no-convnet", action="store_true")
    args = p.parse_args()
    rounds = args.rounds or (1 if args.quick else 7)
    dt = np.dtype(args.dtype)
    Ours = import_ours("MLPClassifier")
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkMLP

    rows, raw = [], {}
    with threads(1), quiet_convergence():
        X, y = load_digits(return_X_y=True)
        X = X.astype(dt)
        prm = mlp_params((100,), 3 if args.quick else 50)
        t = rounds_of(lambda: SkMLP(**prm).fit(X, y), lambda: Ours(**prm).fit(X, y), rounds)
        raw["digits"] = t
        rows += rows_of(f"MLP-digits {dt.name}", t, "sklearn", ("<=", 0.50))

        X, y = synth_data(args.quick, dt)
        hidden = (64, 32) if args.quick else (256, 128)
        prm = mlp_params(hidden, 1 if args.quick else args.synth_epochs)
        t = rounds_of(lambda: SkMLP(**prm).fit(X, y), lambda: Ours(**prm).fit(X, y), rounds)
        raw["synth"] = t
        rows += rows_of(f"MLP-synth {dt.name}", t, "sklearn", ("<=", 0.74))

    torch = None if args.no_convnet else import_torch()
    if torch is not None:
        from bench_convnet import convnet_data, ours_params, torch_convnet_fit

        Conv = import_ours("ConvNetClassifier")
        Xc, yc = convnet_data(512 if args.quick else 10000)
        with threads(1, torch), quiet_convergence():
            t = rounds_of(
                lambda: torch_convnet_fit(torch, Xc, yc, 1),
                lambda: Conv(**ours_params(1)).fit(Xc, yc),
                rounds,
            )
        raw["convnet"] = t
        rows += rows_of("ConvNet 28x28 float32, 1 epoch", t, "torch", ("<=", 1.0))
    os.environ.pop("SKNN_BACKPROP_NUMBA", None)
    report("bench_fast", rows, args, extra={"times": raw, "rounds": rounds})


if __name__ == "__main__":
    main()
