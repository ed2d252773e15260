"""Adversarial examples (FGSM) and adversarial training on the digits
==================================================================

What it teaches
---------------
The lecture's "Adversarial Training" slide (Szegedy et al.; Goodfellow et
al.): the fast gradient sign method

    x_adv = x + eps * sign(grad_x J(theta, x, y))

moves every pixel by ``eps`` in the direction that increases the loss -- a
change a person hardly notices, yet the network's accuracy collapses (the
"panda" -> "gibbon" picture).  Training on such examples as well
(``MLPClassifier(adversarial_eps=...)``: each batch's loss is the average of
the clean and the FGSM loss) makes the network much more robust.

The script trains a plain and an adversarially trained network of the same
architecture and seed on digits scaled to ``[0, 1]``, computes the FGSM
perturbation of the test digits against each network with the engine
(``dL/dx`` by forward, ``CrossEntropyCriterion`` backward and
``model.backward`` down to the input) for a few ``eps``, and prints the clean
and perturbed accuracies.  ``lecture_adversarial.png`` in ``--output``
(matplotlib) shows the lecture's figure for one digit -- the digit, the sign
of the gradient, the perturbed digit with the predicted classes and
confidences -- and the accuracy against ``eps``.

Run ``python examples/lecture_adversarial.py [--output DIR]``;
``SKNN_EXAMPLES_QUICK=1`` makes it a few-second run.
"""

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_backprop import MLPClassifier, nn

NAME = "lecture_adversarial"
EPSILONS = (0.0, 0.05, 0.1, 0.2)


def load_data(seed=0):
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=1 / 3, random_state=seed, stratify=y)


def input_gradient(est, X, y):
    """``dL/dx`` of the cross-entropy for the fitted classifier (its logits, engine only)."""
    logits_net = nn.Sequential(*est.model_.modules[:-1])  # drop the final Softmax
    logits_net.eval()
    Y = (np.asarray(y)[:, None] == est.classes_[None, :]).astype(X.dtype)
    logits = logits_net.forward(X)
    grad = logits_net.backward(X, nn.CrossEntropyCriterion().backward(logits, Y))
    est.model_.clear_state()
    return grad


def fgsm(est, X, y, eps):
    """The fast gradient sign perturbation, kept in the valid pixel range [0, 1]."""
    return np.clip(X + eps * np.sign(input_gradient(est, X, y)), 0.0, 1.0)


def save_figure(models, accs, X_te, y_te, eps, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None
    plain = models["plain"]
    X_adv = fgsm(plain, X_te, y_te, eps)
    fooled = np.flatnonzero((plain.predict(X_te) == y_te) & (plain.predict(X_adv) != y_te))
    i = int(fooled[0]) if len(fooled) else 0
    x, sign = X_te[i], np.sign(input_gradient(plain, X_te[i : i + 1], y_te[i : i + 1]))[0]
    p_clean = plain.predict_proba(x[None])[0]
    p_adv = plain.predict_proba(X_adv[i : i + 1])[0]

    fig, axes = plt.subplots(1, 4, figsize=(14, 4))
    panels = [
        (x, f"x\ny = {y_te[i]}: '{p_clean.argmax()}' w/ {p_clean.max():.1%}", "gray_r"),
        (sign, "sign(grad_x J(theta, x, y))", "RdBu_r"),
        (X_adv[i], f"x + {eps:g} sign(...)\n'{p_adv.argmax()}' w/ {p_adv.max():.1%}", "gray_r"),
    ]
    for ax, (img, title, cmap) in zip(axes, panels):
        lim = (-1, 1) if cmap == "RdBu_r" else (0, 1)
        ax.imshow(img.reshape(8, 8), cmap=cmap, vmin=lim[0], vmax=lim[1])
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[3]
    for name, by_eps in accs.items():
        ax.plot(list(by_eps), list(by_eps.values()), "o-", label=name)
    ax.set_xlabel("FGSM eps")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
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
    hidden, max_iter = ((64,), 30) if quick else ((256,), 150)
    train_eps = 0.1

    X_tr, X_te, y_tr, y_te = load_data()
    print(f"digits in [0, 1]: {len(X_tr)} train, {len(X_te)} test; hidden layers {hidden}")
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, eps in (("plain", 0.0), (f"adversarial eps={train_eps:g}", train_eps)):
            models[name] = MLPClassifier(
                hidden_layer_sizes=hidden,
                adversarial_eps=eps,
                learning_rate_init=0.003,
                max_iter=max_iter,
                random_state=0,
            ).fit(X_tr, y_tr)

    accs = {}
    print()
    print("test accuracy on FGSM-perturbed digits (attack against each network itself)")
    print(f"{'network':>24s}  " + "  ".join(f"eps={e:<5g}" for e in EPSILONS))
    for name, est in models.items():
        accs[name] = {e: est.score(fgsm(est, X_te, y_te, e), y_te) for e in EPSILONS}
        print(f"{name:>24s}  " + "  ".join(f"{a:9.3f}" for a in accs[name].values()))

    os.makedirs(args.output, exist_ok=True)
    save_figure(models, accs, X_te, y_te, train_eps, os.path.join(args.output, NAME + ".png"))
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
