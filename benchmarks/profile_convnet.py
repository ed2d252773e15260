"""Where a ConvNet training epoch's time goes: the benchmark's 28x28 network, 1 thread.

Fits ``ConvNetClassifier`` (the network of ``bench_convnet.py``, float32, Adam,
batch 128) for one epoch on 10,000 images with every module's ``forward`` and
``backward`` (and the optimizer's ``step``) wrapped in a timer, and prints the
seconds and share of each, best of ``--repeats``; ``--cprofile`` adds the
functions with the most own time (im2col, col2im, the transposes, the GEMMs
are ``numpy.matmul``).

Run ``python benchmarks/profile_convnet.py [--cprofile] [--quick]``.
"""

import collections
import cProfile
import io
import pstats
import time

from _common import import_ours, make_parser, quiet_convergence, threads
from bench_convnet import convnet_data, ours_params


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


def main():
    p = make_parser(__doc__.splitlines()[0])
    p.add_argument("--cprofile", action="store_true")
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


if __name__ == "__main__":
    main()
