"""Vanishing gradients: a deep sigmoid network vs a deep ReLU network
==================================================================

What it teaches
---------------
The lecture's "Propagating Gradients Backwards (SATURATION)" slide: going
down one layer multiplies the delta by ``w * sigma'(z)``, and
``sigma'(z) <= 1/4``, so

    dL/dz^2 = dL/dz^4 * (w^4 sigma'(z^3)) * (w^3 sigma'(z^2))

shrinks geometrically with depth -- the lower layers of a deep sigmoid
network barely learn.  ReLU's derivative is 1 on its active half, so the
delta keeps its size ("Avoiding Saturation: use rectified linear units").

The script builds two networks with the engine, 5 hidden layers each, the
same Glorot initialisation and seed, differing only in the hidden
activation.  It measures the norm of every ``Linear`` layer's ``grad_weight``
(forward, ``CrossEntropyCriterion`` backward, ``model.backward`` on the whole
training set) at initialisation and after a few epochs of minibatch SGD, and
the test accuracy.  The sigmoid network's first-layer gradient is orders of
magnitude smaller than its last layer's; the ReLU network's is not.
A figure of the per-layer gradient norms is saved as
``lecture_saturation.png`` in ``--output`` when matplotlib is installed.

Run ``python examples/lecture_saturation.py [--output DIR]`` (3 s on 2 idle
cores, but 50 s measured while other work kept them busy: its BLAS threads then
wait for each other); ``SKNN_EXAMPLES_QUICK=1`` makes it a
few-second run.
"""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn_backprop import nn

NAME = "lecture_saturation"
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def load_data(seed=0):
    """Digits scaled to [0, 1] and one-hot targets, split 2/3 train, 1/3 test."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X / 16.0, y, test_size=1 / 3, random_state=seed, stratify=y
    )
    return X_tr, X_te, np.eye(10)[y_tr], np.eye(10)[y_te]


def build(activation, n_hidden, depth, seed=0):
    """``depth`` x (Linear -> activation), then a Linear giving the 10 logits."""
    rng = np.random.default_rng(seed)
    mods, fan_in = [], 64
    for _ in range(depth):
        mods += [nn.Linear(fan_in, n_hidden, rng=rng), ACTIVATIONS[activation]()]
        fan_in = n_hidden
    mods.append(nn.Linear(fan_in, 10, rng=rng))
    return nn.Sequential(*mods)


def layer_grad_norms(model, X, Y):
    """``||dL/dW^l||`` of every Linear layer on (X, Y), first layer first."""
    criterion = nn.CrossEntropyCriterion()
    model.zero_grad_parameters()
    logits = model.forward(X)
    model.backward(X, criterion.backward(logits, Y))
    return [float(np.linalg.norm(m.grad_weight)) for m in model if isinstance(m, nn.Linear)]


def train_epochs(model, X, Y, n_epochs, lr=0.1, batch_size=32, seed=0):
    """Minibatch SGD with momentum on the cross-entropy; return the epoch losses."""
    criterion = nn.CrossEntropyCriterion()
    params, grads = model.parameters()
    optimizer = nn.SGD(params, learning_rate_init=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(n_epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            model.zero_grad_parameters()
            logits = model.forward(X[idx])
            loss, delta = criterion.forward_backward(logits, Y[idx])
            model.backward(X[idx], delta)
            optimizer.step(params, grads)
            total += loss * len(idx)
        losses.append(total / len(X))
    return losses


def accuracy(model, X, Y):
    return float(np.mean(model.infer(X).argmax(axis=1) == Y.argmax(axis=1)))


def save_figure(norms, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, when in zip(axes, ("initialisation", "trained")):
        for act, by_time in norms.items():
            layers = np.arange(1, len(by_time[when]) + 1)
            ax.semilogy(layers, by_time[when], "o-", label=act)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_title(f"gradient norm per layer, {when}")
        ax.set_xticks(layers)
        ax.legend()
    axes[0].set_ylabel("||dL/dW||")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", default=".", help="directory for the figure")
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    depth = 5
    n_hidden, n_epochs = (32, 3) if quick else (128, 20)

    X_tr, X_te, Y_tr, Y_te = load_data()
    print(f"digits: {len(X_tr)} train, {len(X_te)} test; {depth} hidden layers of {n_hidden}")
    norms = {}
    for act in ACTIVATIONS:
        model = build(act, n_hidden, depth)
        at_init = layer_grad_norms(model, X_tr, Y_tr)
        losses = train_epochs(model, X_tr, Y_tr, n_epochs)
        trained = layer_grad_norms(model, X_tr, Y_tr)
        norms[act] = {"initialisation": at_init, "trained": trained}
        print()
        print(f"{act}: training loss per epoch " + " ".join(f"{v:.3f}" for v in losses))
        print(f"{act}: test accuracy after {n_epochs} epochs: {accuracy(model, X_te, Y_te):.3f}")
        print(f"{act}: ||dL/dW|| per layer (1 = input side)")
        print("   layer  " + " ".join(f"{i:>10d}" for i in range(1, depth + 2)))
        for when, values in norms[act].items():
            print(f"   {when[:7]:7s}" + " ".join(f"{v:10.2e}" for v in values))
        ratio = at_init[0] / at_init[-1]
        print(f"{act}: first / last layer gradient norm at initialisation: {ratio:.2e}")

    os.makedirs(args.output, exist_ok=True)
    save_figure(norms, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
