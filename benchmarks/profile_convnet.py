"""Where a ConvNet training epoch's time goes: the benchmark's 28x28 network, 1 thread.

Fits ``ConvNetClassifier`` (the network of ``bench_convnet.py``, float32, Adam,
batch 128) for one epoch on 10,000 images with every module's ``forward`` and
``backward`` (and the optimizer's ``step``) wrapped in a timer, and prints the
seconds and share of each, best of ``--repeats``; ``--cprofile`` adds the
functions with the most own time (im2col, col2im, the transposes, the GEMMs
are ``numpy.matmul``).

``--gemms`` also times the five matrix products of one batch alone (the two
convolutions' forward and weight-gradient products and the second one's
input-gradient product, float32, into preallocated outputs), with the kernel set
OpenBLAS chose (set ``OPENBLAS_CORETYPE`` in the environment, e.g.
``OPENBLAS_CORETYPE=Haswell python ...``, to try another); ``--torch`` prints
``torch.profiler``'s table of one epoch of the same network in PyTorch
(``bench_convnet.py``'s loop), operator by operator. Both run after the
module-by-module profile.

Run ``python benchmarks/profile_convnet.py [--cprofile] [--gemms] [--torch] [--quick]``.
"""

import collections
import cProfile
import functools
import io
import pstats
import time

import numpy as np
from _common import (
    blas_description,
    import_ours,
    import_torch,
    make_parser,
    quiet_convergence,
    threads,
    timed,
)
from bench_convnet import convnet_data, ours_params, torch_convnet_fit


def _wrap(obj, name, key, acc):
    fn = getattr(obj, name)

    def timed(*a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        acc[key] += time.perf_counter() - t0
        return out

    setattr(obj, name, timed)


def profiled_fit(Ours, X, y, acc):
    est = Ours(**ours_params(1))
    orig_build = est._build_network

    def build(*a, **k):
        model = orig_build(*a, **k)
        for i, m in enumerate(model.modules):
            label = f"{i + 1:>2} {m!r}"
            _wrap(m, "forward", (label, "forward"), acc)
            _wrap(m, "backward", (label, "backward"), acc)
            if hasattr(m, "acc_grad_parameters"):
                _wrap(m, "acc_grad_parameters", (label, "backward"), acc)
        return model

    est._build_network = build
    from sknn_backprop.nn import optim

    step = optim.Adam.step

    def timed_step(self, *a, **k):
        t0 = time.perf_counter()
        step(self, *a, **k)
        acc[("Adam", "step")] += time.perf_counter() - t0

    optim.Adam.step = timed_step
    try:
        t0 = time.perf_counter()
        est.fit(X, y)
        total = time.perf_counter() - t0
    finally:
        optim.Adam.step = step
    return total


def convolutions(est):
    """``(label, filters F, taps C kh kw, output positions H' W', needs dL/dinput)`` of
    each ``Conv2d`` of the fitted ``est``, in order (the first one's input is the data)."""
    x = np.zeros((1, *est.input_shape_), np.float32)
    convs = []
    for m in est.model_.modules:
        out = m.infer(x)
        if type(m).__name__ == "Conv2d":
            hw = out.shape[2] * out.shape[3]
            convs.append((repr(m)[3:], m.out_channels, m.weight[0].size, hw, bool(convs)))
        x = out
    return convs


def gemms_alone(est, repeats=20):
    """Print the best time of each convolution product of one batch of ``est``, run alone."""
    rng = np.random.default_rng(0)
    dt = np.float32
    batch = est.batch_size
    convs = convolutions(est)
    print(f"the convolutions' products of one batch of {batch}, alone (best of {repeats}):")
    print(f"BLAS: {blas_description()}")
    total = 0.0
    for label, F, K, hw, input_grad in convs:
        P = hw * batch
        W, cols = rng.standard_normal((F, K)).astype(dt), rng.standard_normal((K, P)).astype(dt)
        dy = rng.standard_normal((F, P)).astype(dt)
        y, gw, dcols = np.empty((F, P), dt), np.empty((K, F), dt), np.empty((K, P), dt)
        products = [  # (name, a, b, out) of a @ b, as Conv2d computes them (conv.py, _im2col)
            ("forward  W cols", W, cols, y),
            ("dL/dW   (cols delta^T)^T", cols, dy.T, gw),
        ]
        if input_grad:
            products.append(("dL/dcols W^T delta", W.T, dy, dcols))
        for name, a, b, out in products:
            product = functools.partial(np.matmul, a, b, out=out)
            product()  # warm-up
            best = min(timed(product)[0] for _ in range(repeats))
            total += best
            gflops = 2.0 * F * K * P / best / 1e9
            print(f"  {label:<24}{name:<28}{best * 1e3:>8.3f} ms{gflops:>8.1f} GFLOP/s")
    print(f"  {'all of them':<52}{total * 1e3:>8.3f} ms")


def torch_profile(X, y):
    """Print ``torch.profiler``'s operator table for one epoch of PyTorch's network."""
    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: no --torch table")
        return
    from torch.profiler import ProfilerActivity, profile

    with threads(1, torch):
        torch_convnet_fit(torch, X[:256], y[:256], 1)  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            torch_convnet_fit(torch, X, y, 1)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--cprofile", action="store_true")
    p.add_argument("--gemms", action="store_true", help="time the convolutions' products alone")
    p.add_argument("--torch", action="store_true", help="torch.profiler table of PyTorch's epoch")
    args = p.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    Ours = import_ours("ConvNetClassifier")
    X, y = convnet_data(512 if args.quick else 10000)
    runs = []
    with threads(1), quiet_convergence():
        Ours(**ours_params(1)).fit(X[:256], y[:256])  # warm-up
        for _ in range(repeats):
            acc = collections.defaultdict(float)
            runs.append((profiled_fit(Ours, X, y, acc), acc))
        total, acc = min(runs, key=lambda r: r[0])
        print(f"ConvNet, one epoch, {X.shape[0]} images, float32, 1 thread: {total:.3f} s")
        print(f"{'module':<40}{'phase':<10}{'seconds':>9}{'share':>8}")
        for (label, phase), t in acc.items():
            print(f"{label:<40}{phase:<10}{t:>9.4f}{t / total:>8.1%}")
        rest = total - sum(acc.values())
        print(f"{'rest (loss, batches, set-up)':<50}{rest:>9.4f}{rest / total:>8.1%}")
        if args.cprofile:
            prof = cProfile.Profile()
            prof.enable()
            Ours(**ours_params(1)).fit(X, y)
            prof.disable()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(18)
            print(s.getvalue())
        if args.gemms:
            est = Ours(**ours_params(1)).fit(X[:256], y[:256])
            gemms_alone(est, repeats=3 if args.quick else 20)
    if args.torch:
        torch_profile(X, y)


if __name__ == "__main__":
    main()
