"""Cost of the newer engine pieces: batch normalisation and the adaptive optimizers.

Rows (BLAS pinned to 1 thread with threadpoolctl, float64 and float32):

- ``BatchNorm1d`` forward + backward on a ``(200, 256)`` batch, relative to the
  ``Linear(784 -> 256)`` it follows (information);
- ``BatchNorm2d`` forward + backward on ``Conv2d(16 -> 32, 5x5)``'s batch-last output
  ``(200, 32, 8, 8)``, relative to that convolution (information);
- an MLP-synth epoch (784-256-128-10, batch 200, Adam) with a ``BatchNorm1d`` after
  each hidden ``Linear`` over the same epoch without: target ``<= 1.25``;
- one step of ``RMSprop``, ``Adagrad``, ``Adadelta`` and ``AdamW`` (``n_decay`` = the
  weights) on the MLP-synth flat parameter vector (235,146 values), over ``Adam``'s
  step on the same vector: target ``<= 1.3`` each.

Run ``python benchmarks/bench_layers.py`` (``--quick`` for a smoke run of seconds).
"""

import numpy as np
from _common import Row, best, interleave, make_parser, n_repeats, report, synth_data, threads

from sknn_backprop import nn

DTYPES = {"f64": np.float64, "f32": np.float32}
HIDDEN = (256, 128)
SOLVERS = ["RMSprop", "Adagrad", "Adadelta", "AdamW"]


def fwd_bwd(module, x, g, loops):
    """A callable running ``loops`` forward + backward passes of ``module``."""

    def run():
        for _ in range(loops):
            module.forward(x)
            module.backward(x, g)

    return run


def layer_rows(dt, dname, repeats, quick):
    rng = np.random.default_rng(0)
    n, loops = (200, 5) if quick else (200, 50)
    x = rng.normal(size=(n, 784)).astype(dt)
    lin = nn.Linear(784, 256, rng=rng, dtype=dt)
    z = lin.forward(x)
    bn1 = nn.BatchNorm1d(256, dtype=dt)
    conv = nn.Conv2d(16, 32, 5, rng=rng, dtype=dt)
    images = rng.normal(size=(n if not quick else 50, 16, 12, 12)).astype(dt)
    maps = conv.forward(images)  # batch-last (C, H, W, N) memory, as Conv2d hands it on
    bn2 = nn.BatchNorm2d(32, dtype=dt)
    conv_loops = max(1, loops // 5)
    sides = {
        "linear": fwd_bwd(lin, x, np.ones_like(z), loops),
        "bn1d": fwd_bwd(bn1, z, np.ones_like(z), loops),
        "conv": fwd_bwd(conv, images, np.ones_like(maps), conv_loops),
        "bn2d": fwd_bwd(bn2, maps, np.ones_like(maps), conv_loops),
    }
    for f in sides.values():  # warm up
        f()
    with threads(1):
        t = interleave(sides, repeats)
    per = {k: best(v) / (loops if k in ("linear", "bn1d") else conv_loops) for k, v in t.items()}
    return [
        Row(f"BatchNorm1d(256) fwd+bwd / Linear(784->256) {dname}", per["bn1d"], per["linear"],
            None, peer_name="Linear", note="per forward + backward of a 200-row batch"),
        Row(f"BatchNorm2d(32) fwd+bwd / Conv2d(16->32, 5x5) {dname}", per["bn2d"], per["conv"],
            None, peer_name="Conv2d", note="on Conv2d's batch-last (C, H, W, N) output"),
    ]  # fmt: skip


def mlp(X, y, batch_norm, seed=0):
    """An engine MLP-synth network (optionally with BatchNorm1d) and its training epoch."""
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], *HIDDEN, int(y.max()) + 1]
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b, rng=rng, dtype=X.dtype))
        if i < len(sizes) - 2:
            if batch_norm:
                mods.append(nn.BatchNorm1d(b, dtype=X.dtype))
            mods.append(nn.ReLU(inplace=True))
    model = nn.Sequential(*mods)
    flat_p, flat_g = model.get_parameters()
    opt, crit = nn.Adam([flat_p]), nn.CrossEntropyCriterion()

    def epoch():
        perm = rng.permutation(X.shape[0])
        Xs, ys = X[perm], y[perm]
        for s in range(0, X.shape[0], 200):
            xb, yb = Xs[s : s + 200], ys[s : s + 200]
            _, grad = crit.forward_backward(model.forward(xb), yb)
            flat_g.fill(0)
            model.backward(xb, grad, need_input_grad=False)
            opt.step([flat_p], [flat_g])

    return epoch


def epoch_rows(dt, dname, repeats, quick):
    X, y = synth_data(quick, dtype=dt)
    if not quick:
        X, y = X[:6000], y[:6000]  # a third of the epoch: the ratio is per batch
    sides = {"plain": mlp(X, y, False), "bn": mlp(X, y, True)}
    for f in sides.values():
        f()
    with threads(1):
        t = interleave(sides, repeats)
    return [
        Row(f"MLP-synth epoch with BatchNorm1d / without {dname}", best(t["bn"]),
            best(t["plain"]), ("<=", 1.25), peer_name="no BN",
            note=f"engine loop, Adam, {X.shape[0]} samples, BatchNorm1d after each hidden Linear"),
    ]  # fmt: skip


def solver_rows(dt, dname, repeats, quick):
    sizes = [784, *HIDDEN, 10]
    n_weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n = n_weights + sum(sizes[1:])
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=n).astype(dt) for _ in range(4)]
    loops = 5 if quick else 40

    def stepper(name):
        p = rng.normal(size=n).astype(dt)
        kwargs = {"n_decay": n_weights} if name == "AdamW" else {}
        opt = getattr(nn, name)([p], **kwargs)

        def run():
            for i in range(loops):
                opt.step([p], [grads[i % 4]])

        return run

    sides = {name: stepper(name) for name in ["Adam", *SOLVERS]}
    for f in sides.values():
        f()
    with threads(1):
        t = interleave(sides, repeats)
    return [
        Row(f"{name} step / Adam step, {n} params {dname}", best(t[name]) / loops,
            best(t["Adam"]) / loops, ("<=", 1.3), peer_name="Adam")
        for name in SOLVERS
    ]  # fmt: skip


def main():
    args = make_parser(__doc__.splitlines()[0]).parse_args()
    repeats = n_repeats(args, full=5, quick=1)
    rows = []
    for dname, dt in DTYPES.items():
        rows += layer_rows(dt, dname, repeats, args.quick)
        rows += epoch_rows(dt, dname, repeats, args.quick)
        rows += solver_rows(dt, dname, max(repeats, 3), args.quick)  # cheap: always 3+
    report("bench_layers", rows, args)


if __name__ == "__main__":
    main()
