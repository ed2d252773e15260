"""Peak memory a fit adds on top of its data: ours against scikit-learn (MLP-synth, float64).

Each measurement runs in a fresh interpreter (``subprocess``), which imports
everything, makes the MLP-synth data, does a tiny warm-up fit (so imports and
BLAS buffers are not counted), and then measures one full fit (5 epochs,
BLAS pinned to 1 thread) in one of two ways (with the numba fast path, the warm-up
loads its kernels when the measured fit will use them: a once-per-process cost, as
imports, reported on an information row of its own):

- ``rss``: peak resident set size during the fit (``VmHWM``, reset just
  before the fit through ``/proc/self/clear_refs``; ``ru_maxrss`` where that
  is unavailable) minus the resident size after the data is loaded;
- ``tracemalloc``: peak of the traced allocations during the fit (numpy
  reports its array buffers to ``tracemalloc``), which is insensitive to the
  allocator's caching.

Ratio is ours / scikit-learn of the median over the repeats (target <= 1.0).

Run ``python benchmarks/bench_memory.py`` (``--quick`` for a smoke run).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from _common import Row, make_parser, report

MiB = 1024.0**2


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def child(side, mode, quick):
    """Measure one fit in this (fresh) process; print a JSON line."""
    import gc
    import resource
    import tracemalloc

    from _common import (
        import_ours,
        mlp_n_params,
        mlp_params,
        quiet_convergence,
        synth_data,
        threads,
    )

    if side.startswith("convnet"):
        return convnet_child(side, quick)
    if side == "ours":
        cls = import_ours("MLPClassifier")
        if cls is None:
            print(json.dumps({"error": "ours not importable"}))
            return
    else:
        from sklearn.neural_network import MLPClassifier as cls

    X, y = synth_data(quick)
    hidden, epochs = ((64, 32), 1) if quick else ((256, 128), 5)
    fast, before_kb = False, None
    if side == "ours":
        # the numba fast path loads its kernels once per process, at the first fit that
        # is worth it (as imports, not counted): decide for the measured fit here, so the
        # warm-up loads them; the load is reported on its own
        from sknn_backprop import nn

        before_kb = _status_kb("VmRSS")
        fast = nn.choose_fast_path(epochs, X.shape, mlp_n_params([X.shape[1], *hidden, 10]))
    with threads(1), quiet_convergence():
        try:  # warm-up: imports, buffers (and the fast path's kernels: the same layers
            # on 400 rows, so that every kernel the measured fit calls is loaded)
            cls(**mlp_params(hidden, 1)).fit(X[:400], y[:400])
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            return
        gc.collect()
        can_reset = True
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            can_reset = False
        base_kb = _status_kb("VmRSS")
        # what the kernels' load (and the tiny warm-up fit) left resident
        load_kb = base_kb - before_kb if fast else None
        if mode == "tracemalloc":
            tracemalloc.start()
        cls(**mlp_params(hidden, epochs)).fit(X, y)
        if mode == "tracemalloc":
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            added = peak
        else:
            peak_kb = (
                _status_kb("VmHWM")
                if can_reset
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            )
            added = (peak_kb - base_kb) * 1024
    print(
        json.dumps(
            {
                "added_bytes": added,
                "data_bytes": X.nbytes,
                "base_rss_kb": base_kb,
                "hwm_reset": can_reset,
                "fast_path_load_kb": load_kb,
            }
        )
    )


def convnet_child(side, quick):
    """Peak RSS added by a 1-epoch fit of the LeNet-style ConvNet on 20,000 images."""
    import gc

    from _common import import_ours, import_torch, quiet_convergence, threads
    from bench_convnet import convnet_data, ours_params, torch_convnet_fit

    X, y = convnet_data(2000 if quick else 20000)
    with threads(1), quiet_convergence():
        if side == "convnet-ours":
            cls = import_ours("ConvNetClassifier")
            if cls is None:
                print(json.dumps({"error": "ours not importable"}))
                return
            from sknn_backprop import nn

            # the fast path's kernels load at the warm-up, as for the MLP (child())
            nn.choose_fast_path(1, X.shape, 0, convolutional=True)
            cls(**ours_params(1)).fit(X[:256], y[:256])  # warm-up

            def fit():
                cls(**ours_params(1)).fit(X, y)

        else:
            torch = import_torch()
            if torch is None:
                print(json.dumps({"error": "torch not installed"}))
                return
            torch_convnet_fit(torch, X[:256], y[:256], 1)

            def fit():
                torch_convnet_fit(torch, X, y, 1)

        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base_kb = _status_kb("VmRSS")
        fit()
        added = (_status_kb("VmHWM") - base_kb) * 1024
    print(json.dumps({"added_bytes": added, "data_bytes": X.nbytes, "base_rss_kb": base_kb}))


def run_child(side, mode, quick):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", side, "--mode", mode]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    res = json.loads(lines[-1])
    if "error" in res:
        print(f"# {side} ({mode}): {res['error']}", flush=True)
    return res


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument(
        "--child",
        choices=["ours", "sklearn", "convnet-ours", "convnet-torch"],
        help=argparse.SUPPRESS,
    )
    p.add_argument("--mode", choices=["rss", "tracemalloc"], default="rss")
    args = p.parse_args()
    if args.child:
        child(args.child, args.mode, args.quick)
        return
    repeats = args.repeats or (1 if args.quick else 3)
    results = {}
    for mode in ("rss", "tracemalloc"):
        for _ in range(repeats):
            for side in ("ours", "sklearn"):  # interleaved
                r = run_child(side, mode, args.quick)
                results.setdefault((side, mode), []).append(r)
    rows, raw = [], {}
    for mode in ("rss", "tracemalloc"):
        med = {}
        for side in ("ours", "sklearn"):
            vals = [r["added_bytes"] / MiB for r in results[(side, mode)] if "added_bytes" in r]
            med[side] = statistics.median(vals) if vals else None
            raw[f"{side} {mode}"] = vals
        label = "peak RSS" if mode == "rss" else "tracemalloc peak"
        rows.append(
            Row(
                f"Memory added by fit, MLP-synth f64 ({label})",
                med["ours"],
                med["sklearn"],
                ("<=", 1.0),
                unit="MiB",
                peer_name="sklearn",
            )
        )
    data_mib = results[("sklearn", "rss")][0].get("data_bytes", 0) / MiB
    rows[0].note = f"data X itself is {data_mib:.1f} MiB (not counted)"
    loads = [r["fast_path_load_kb"] / 1024 for r in results[("ours", "rss")]
             if r.get("fast_path_load_kb") is not None]  # fmt: skip
    if loads:
        rows.append(
            Row(
                "[info] numba fast path: RSS its kernels add, once per process",
                statistics.median(loads),
                None,
                None,
                unit="MiB",
                note="numba and its kernels loaded by the first fit that uses them "
                "(not counted above, as imports are not)",
            )
        )
        raw["fast path load"] = loads
    # the ConvNet issue's figure: a 20,000-image fit (no target), ours vs PyTorch
    conv = {side: [] for side in ("convnet-ours", "convnet-torch")}
    for _ in range(repeats):
        for side in conv:
            r = run_child(side, "rss", args.quick)
            if "added_bytes" in r:
                conv[side].append(r["added_bytes"] / MiB)
    med = {k: statistics.median(v) if v else None for k, v in conv.items()}
    rows.append(
        Row(
            f"[info] Memory added by fit, ConvNet {2000 if args.quick else 20000:,} imgs f32 "
            "(peak RSS)",
            med["convnet-ours"],
            med["convnet-torch"],
            None,
            unit="MiB",
            peer_name="torch",
            note="1 epoch, batch 128; the images themselves not counted",
        )
    )
    raw.update({f"{k} rss": v for k, v in conv.items()})
    report("bench_memory", rows, args, extra={"added_mib": raw, "data_mib": data_mib})


if __name__ == "__main__":
    main()
