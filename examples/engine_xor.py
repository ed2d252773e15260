"""XOR with the engine alone: a hand-written training loop, no estimator
=====================================================================

What it teaches
---------------
XOR is the classic problem a linear model cannot solve: no straight line
separates ``(0, 1), (1, 0)`` from ``(0, 0), (1, 1)``.  One hidden layer of
``tanh`` units is enough.  This script shows the whole training loop that an
estimator hides, written with the Torch7-style engine:

1. ``model.zero_grad_parameters()`` -- gradients accumulate, so clear them;
2. ``model.forward(x)`` and ``criterion.forward(output, y)`` -- the loss;
3. ``criterion.backward`` and ``model.backward`` -- back-propagation fills
   every ``grad_weight`` and ``grad_bias``;
4. ``optimizer.step(params, grads)`` -- Adam updates the weights in place.

It prints the loss every few hundred steps and the final predictions, and,
when matplotlib is installed, saves a figure of the loss curve and of the
learned decision boundary (``--output``, default ``./engine_xor.png``).

Run ``python examples/engine_xor.py [--output DIR_OR_FILE.png]``; set
``SKNN_EXAMPLES_QUICK=1`` for a shorter run.
"""

import argparse
import os

import numpy as np

from sknn_backprop import nn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def build(n_hidden=8, seed=0):
    """``Linear(2, H) -> Tanh -> Linear(H, 1) -> Sigmoid``, seeded."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(2, n_hidden, rng=rng),
        nn.Tanh(),
        nn.Linear(n_hidden, 1, rng=rng),
        nn.Sigmoid(),
    )


def train(model, n_steps, print_every, learning_rate=0.05):
    """Full-batch training with binary cross-entropy and Adam; return the losses."""
    criterion = nn.BCECriterion()
    params, grads = model.parameters()
    optimizer = nn.Adam(params, learning_rate_init=learning_rate)
    losses = []
    for step in range(1, n_steps + 1):
        model.zero_grad_parameters()
        output = model.forward(X)
        loss = criterion.forward(output, Y)
        model.backward(X, criterion.backward(output, Y))
        optimizer.step(params, grads)
        losses.append(loss)
        if step == 1 or step % print_every == 0:
            print(f"step {step:5d}  loss {loss:.6f}")
    return losses


def save_figure(model, losses, path):
    """Loss curve and decision boundary, if matplotlib is available."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None

    fig, (ax_loss, ax_bound) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(np.arange(1, len(losses) + 1), losses)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("binary cross-entropy")
    ax_loss.set_title("training loss")

    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    proba = model.infer(np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    contour = ax_bound.contourf(gx, gy, proba, levels=20, cmap="RdBu_r", vmin=0, vmax=1)
    ax_bound.contour(gx, gy, proba, levels=[0.5], colors="k")
    for label, marker in ((0, "o"), (1, "s")):
        rows = Y.ravel() == label
        ax_bound.scatter(
            X[rows, 0],
            X[rows, 1],
            marker=marker,
            c="w",
            edgecolors="k",
            s=120,
            label=f"y = {label}",
        )
    ax_bound.legend(loc="upper center")
    ax_bound.set_title("P(y = 1 | x) and the 0.5 boundary")
    fig.colorbar(contour, ax=ax_bound)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--output",
        default=".",
        help="directory (the file is engine_xor.png) or .png path for the figure",
    )
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    n_steps, print_every = (400, 100) if quick else (2000, 250)

    model = build()
    print(model)
    losses = train(model, n_steps, print_every)

    proba = model.infer(X).ravel()
    print()
    print(" x1  x2  y  P(y=1)  prediction")
    for (x1, x2), y, p in zip(X, Y.ravel(), proba):
        print(f" {x1:2.0f}  {x2:2.0f}  {y:.0f}  {p:6.3f}  {int(p > 0.5)}")
    errors = int(np.sum((proba > 0.5) != Y.ravel()))
    print(f"classification errors: {errors} / {len(X)}")

    path = args.output
    if os.path.isdir(path) or not path.endswith(".png"):
        path = os.path.join(path, "engine_xor.png")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_figure(model, losses, path)
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
