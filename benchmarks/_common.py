"""Shared helpers of the benchmark scripts: timing, interleaving, BLAS pinning, reporting.

Every ``bench_*.py`` script builds a list of :class:`Row` objects and hands them to
:func:`report`, which prints the table (workload, ours, peer, ratio, target,
PASS/FAIL) and one machine-readable line starting with ``RESULT_JSON ``.

Timing rules (see ``docs/performance.rst``):

- the two sides run interleaved, ``ours, peer, ours, peer, ...``, in the same
  process, so slow phases of a shared, noisy machine hit both alike;
- a fit is summarised by its best (minimum) time over ``>= 3`` repeats, a
  single-row prediction by the median over many repeats;
- BLAS is pinned with ``threadpoolctl.threadpool_limits`` (and PyTorch with
  ``torch.set_num_threads``) for the whole measured call.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

RESULT_PREFIX = "RESULT_JSON "


# -- command line -----------------------------------------------------------------
def make_parser(description):
    """The options every script shares: ``--quick``, ``--repeats``, ``--json-out``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    p.add_argument("--repeats", type=int, default=None, help="repeats per side (default 3)")
    p.add_argument("--json-out", default=None, help="also write the result JSON to this file")
    return p


def n_repeats(args, full=3, quick=1):
    if args.repeats is not None:
        return max(1, args.repeats)
    return quick if args.quick else full


# -- optional imports -------------------------------------------------------------
def import_ours(name):
    """``sknn_backprop.<name>``, or ``None`` (with the reason printed) if not importable."""
    try:
        import sknn_backprop

        return getattr(sknn_backprop, name)
    except Exception as exc:  # ImportError, AttributeError, or a broken module
        print(f"# ours: sknn_backprop.{name} is not importable ({exc!r}); its rows are N/A")
        return None


def import_torch():
    """The ``torch`` module, or ``None`` with a line saying the PyTorch rows are skipped."""
    try:
        import torch
    except Exception as exc:
        print(f"# PyTorch is not importable ({exc!r}): PyTorch rows are skipped")
        return None
    return torch


# -- threads ----------------------------------------------------------------------
@contextlib.contextmanager
def threads(n, torch=None):
    """Pin BLAS/OpenMP pools (threadpoolctl) and, if given, PyTorch to ``n`` threads."""
    old = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old)


def blas_description():
    """Each loaded BLAS / OpenMP library: version, threads and (OpenBLAS) its kernel set.

    OpenBLAS picks its kernels for the processor it finds (``architecture``, e.g.
    ``SkylakeX`` on an AVX-512 CPU, ``Haswell`` on AVX2) unless ``OPENBLAS_CORETYPE``
    is set before it loads; on one host the choice moved the convolutions' products
    by a third, one of them 2x (docs/performance.rst), so it is part of the
    machine's description.
    """
    parts = []
    for info in threadpool_info():
        arch = info.get("architecture")
        parts.append(
            f"{info.get('internal_api')} {info.get('version')} "
            f"({info.get('user_api')}, {info.get('num_threads')} threads"
            + (f", {arch} kernels" if arch else "")
            + ")"
        )
    forced = os.environ.get("OPENBLAS_CORETYPE")
    return "; ".join(parts) + (f"; OPENBLAS_CORETYPE={forced}" if forced else "")


def cpu_simd():
    """The widest vector extension in ``/proc/cpuinfo``'s flags (``'avx512f'``, ...)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = (line for line in f if line.startswith("flags"))
            flags = next(lines, ":").split(":", 1)[1].split()
    except OSError:
        return None
    return next((x for x in ("avx512f", "avx2", "avx", "sse4_2") if x in flags), None)


# -- timing -----------------------------------------------------------------------
def timed(fn):
    """Run ``fn()`` once; return ``(seconds, result)``."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def interleave(sides, repeats):
    """Time each callable of ``sides`` (name -> fn) ``repeats`` times, interleaved.

    Order is ``a, b, a, b, ...``.  A side mapped to ``None`` is skipped.
    Returns name -> list of seconds.
    """
    times = {name: [] for name, fn in sides.items() if fn is not None}
    for _ in range(repeats):
        for name, fn in sides.items():
            if fn is not None:
                times[name].append(timed(fn)[0])
    return times


def best(ts):
    return min(ts) if ts else None


def median(ts):
    return statistics.median(ts) if ts else None


@contextlib.contextmanager
def quiet_convergence():
    """Silence scikit-learn's (and ours') ConvergenceWarning for fixed-epoch fits."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*[Mm]aximum iterations.*")
        yield


def gemm_peak(n=1024, dtype=np.float64, repeats=7, n_threads=1):
    """Best GFLOP/s of an ``n x n`` matmul (``2 n^3`` flops) at ``n_threads`` BLAS threads."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    with threadpool_limits(limits=n_threads):
        np.matmul(a, b, out=c)  # warm up
        t = min(timed(lambda: np.matmul(a, b, out=c))[0] for _ in range(repeats))
    return 2.0 * n**3 / t / 1e9


def mlp_n_params(sizes):
    """Weights and biases of a dense network with layer widths ``sizes``."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


# -- reporting --------------------------------------------------------------------
@dataclass
class Row:
    """One line of a results table.

    ``ratio`` is ``ours / peer`` unless given; ``target`` is ``("<=", 0.75)`` or
    ``(">=", 1.7)`` or ``None`` (information only).  Status is PASS / FAIL, or
    N/A when a side is missing, or INFO without a target.
    """

    workload: str
    ours: float | None
    peer: float | None
    target: tuple | None = None
    unit: str = "s"
    peer_name: str = ""
    ratio: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.ratio is None and self.ours is not None and self.peer:
            self.ratio = self.ours / self.peer

    @property
    def status(self):
        if self.target is None:
            return "INFO"
        if self.ratio is None:
            return "N/A"
        op, bound = self.target
        ok = self.ratio <= bound if op == "<=" else self.ratio >= bound
        return "PASS" if ok else "FAIL"

    def as_dict(self):
        d = asdict(self)
        d["status"] = self.status
        d["target"] = None if self.target is None else f"{self.target[0]} {self.target[1]}"
        return d


def _fmt(x, unit=""):
    if x is None:
        return "n/a"
    if unit == "s" and x < 0.01:
        return f"{x * 1e3:.3f} ms"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.2f}"


def format_table(rows):
    header = ["workload", "unit", "ours", "peer", "ratio", "target", "status"]
    body = []
    for r in rows:
        target = "" if r.target is None else f"{r.target[0]} {r.target[1]}"
        peer = _fmt(r.peer, r.unit) + (f" ({r.peer_name})" if r.peer_name else "")
        body.append(
            [
                r.workload,
                r.unit,
                _fmt(r.ours, r.unit),
                peer,
                _fmt(r.ratio),
                target,
                r.status,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]
    notes = [f"  [{r.workload}] {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["notes:"] + notes if notes else []))


def machine_info():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import sklearn

    info = {
        "cpu": model,
        "simd": cpu_simd(),
        "n_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "blas": blas_description(),
        "date": datetime.date.today().isoformat(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except Exception:
        info["torch"] = None
    return info


def report(name, rows, args, extra=None):
    """Print the table and the ``RESULT_JSON`` line; return the result dict."""
    result = {
        "benchmark": name,
        "quick": bool(args.quick),
        "machine": machine_info(),
        "rows": [r.as_dict() for r in rows],
    }
    if extra:
        result.update(extra)
    print()
    print(f"== {name}{' (--quick: sizes too small to judge the targets)' if args.quick else ''}")
    print(format_table(rows))
    print(RESULT_PREFIX + json.dumps(result, default=float))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1, default=float)
    sys.stdout.flush()
    return result


# -- shared workloads -------------------------------------------------------------
MLP_SYNTH = dict(n_samples=20000, n_features=784, n_informative=100, n_classes=10, random_state=0)
MLP_SYNTH_QUICK = dict(
    n_samples=1000, n_features=784, n_informative=100, n_classes=10, random_state=0
)


def synth_data(quick=False, dtype=np.float64):
    """The MLP-synth data set (``make_classification``), features as ``dtype``."""
    from sklearn.datasets import make_classification

    X, y = make_classification(**(MLP_SYNTH_QUICK if quick else MLP_SYNTH))
    return X.astype(dtype, copy=False), y


def mlp_params(hidden, max_iter, random_state=0):
    """The estimator parameters shared by ours and scikit-learn's MLPClassifier.

    ``tol=0`` and ``n_iter_no_change > max_iter`` make every epoch run.
    """
    return dict(
        hidden_layer_sizes=tuple(hidden),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=1e-3,
        max_iter=max_iter,
        shuffle=True,
        random_state=random_state,
        tol=0.0,
        n_iter_no_change=max_iter + 1,
        early_stopping=False,
    )


def engine_mlp_fit(X, y, hidden, epochs, batch_size=200, lr=1e-3, alpha=1e-4, seed=0, timers=None):
    """A bare training loop on ``sknn_backprop.nn`` (no estimator), for reference.

    ``Sequential(Linear, ReLU(inplace), ..., Linear)`` + ``CrossEntropyCriterion``
    + ``Adam`` on the flat vectors of ``get_parameters()``; L2 as scikit-learn's
    (``alpha * W / batch`` added to the weight gradients).  With a ``timers`` dict
    the time of each phase (shuffle, forward, loss, backward, penalty, step) is
    accumulated into it.
    """
    from sknn_backprop import nn

    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], *hidden, int(y.max()) + 1]
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b, rng=rng, dtype=X.dtype))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU(inplace=True))
    model = nn.Sequential(*mods)
    flat_p, flat_g = model.get_parameters()
    weights = [(p, g) for (p, g, pen) in zip(*model.parameters(), model.penalized()) if pen]
    opt = nn.Adam([flat_p], learning_rate_init=lr)
    crit = nn.CrossEntropyCriterion()
    n = X.shape[0]
    clock = time.perf_counter
    t = timers if timers is not None else {}
    for k in ("shuffle", "forward", "loss", "backward", "penalty", "step"):
        t.setdefault(k, 0.0)
    for _ in range(epochs):
        t0 = clock()
        perm = rng.permutation(n)
        Xs, ys = X[perm], y[perm]
        t["shuffle"] += clock() - t0
        for s in range(0, n, batch_size):
            xb, yb = Xs[s : s + batch_size], ys[s : s + batch_size]
            t0 = clock()
            out = model.forward(xb)
            t1 = clock()
            _, grad = crit.forward_backward(out, yb)
            t2 = clock()
            flat_g.fill(0)
            model.backward(xb, grad, need_input_grad=False)
            t3 = clock()
            scale = alpha / xb.shape[0]
            for w, gw in weights:
                gw += scale * w
            t4 = clock()
            opt.step([flat_p], [flat_g])
            t5 = clock()
            t["forward"] += t1 - t0
            t["loss"] += t2 - t1
            t["backward"] += t3 - t2
            t["penalty"] += t4 - t3
            t["step"] += t5 - t4
    return model


def probe_ours(Ours, fn):
    """Run ``fn()`` (a small warm-up fit of ours); on any error print it and return None.

    The estimators are developed alongside the benchmarks: a broken one turns its
    rows into N/A instead of stopping the whole script.
    """
    if Ours is None:
        return None
    try:
        fn()
    except Exception as exc:
        print(
            f"# ours: {Ours.__name__} failed its warm-up fit ({type(exc).__name__}: {exc}); "
            "its rows are N/A"
        )
        return None
    return Ours


def torch_train(
    torch, model, Xt, yt, epochs, batch_size, lr=1e-3, alpha=1e-4, seed=0, loss_fn=None
):
    """The PyTorch peer's plain training loop: Adam, a ``randperm`` shuffle per epoch.

    ``loss_fn`` defaults to ``CrossEntropyLoss()`` (a regressor passes ``MSELoss()``).

    scikit-learn adds ``alpha / (2 * batch) * ||W||^2`` to the mean batch loss,
    i.e. ``alpha * W / batch`` to the weight gradients and nothing to the
    biases; Adam's ``weight_decay`` (an L2 term added to the gradient) of
    ``alpha / batch_size`` on the weights only is the same thing (exact except
    for a smaller last batch).
    """
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    opt = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": alpha / batch_size},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    loss_fn = torch.nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    gen = torch.Generator().manual_seed(seed)
    n = Xt.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model
