"""What a small convolutional network learns on the 8x8 digits
===========================================================

What it teaches
---------------
A convolution layer is a bank of small filters slid over the image: each
filter produces one *feature map* that is large where the image locally looks
like the filter.  This script

1. trains :class:`sknn_backprop.ConvNetClassifier` on scikit-learn's 8x8
   digits (``X / 16``, a quarter held out) with the class's defaults
   -- ``conv 16 3x3 -> ReLU -> pool 2 -> conv 32 3x3 ->
   ReLU -> pool 2 -> Linear(128, 200) -> ReLU -> Linear(200, 10) -> Softmax``
   -- and prints the network and its test accuracy (about 0.98-0.99);
2. reads the learned first-layer filters straight from ``model_`` (the
   ``weight`` of the first ``nn.Conv2d``, shape ``(16, 1, 3, 3)``);
3. runs one test digit through the first block with the engine's ``infer``
   and, when matplotlib is installed, saves a figure of the filters and of the
   16 feature maps they produce (``--output``, default
   ``./convnet_filters.png``).  Filters that look like oriented edges light up
   along the strokes of that orientation.

Run ``python examples/convnet_filters.py [--output DIR_OR_FILE.png]``; set
``SKNN_EXAMPLES_QUICK=1`` for a few-second run with a smaller network.
"""

import argparse
import os
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_backprop import ConvNetClassifier, FilterDisplay, nn


def train(quick):
    """Fit the network on the digits; return it with the held-out split."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0)
    # the class's defaults suit the 8x8 digits; quick: a smaller, shorter run
    params = dict(conv_filters=(8,), hidden_layer_sizes=(32,), max_iter=5) if quick else {}
    clf = ConvNetClassifier(random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget
        clf.fit(X_train, y_train)
    return clf, X_test, y_test


def first_block(clf, image):
    """Feature maps of ``image`` after the first ``Conv2d -> activation``: ``(F, H, W)``."""
    x = image.reshape((1,) + clf.input_shape_)
    mods = clf.model_.modules
    first = next(i for i, m in enumerate(mods) if isinstance(m, nn.Conv2d))
    for module in mods[: first + 2]:  # everything up to the first activation
        x = module.infer(x)
    return x[0]


def save_figure(clf, image, maps, label, path):
    """The filters on top (:class:`sknn_backprop.FilterDisplay`, with its shared
    symmetric colour bar), the digit and its feature maps below."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure saved.")
        return None

    n = len(maps)
    fig = plt.figure(figsize=(1.2 * (n + 1), 4.6))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.3, 1])
    # one row of filters; a colour means the same weight in every filter
    FilterDisplay.from_estimator(clf, layer=0, n_cols=n, ax=top.add_subplot())
    axes = bottom.subplots(1, n + 1)
    axes[0].imshow(image.reshape(maps.shape[1:]), cmap="gray_r")
    axes[0].set_title(f"digit {label}", fontsize=7)
    for i in range(n):
        axes[i + 1].imshow(maps[i], cmap="viridis")
        axes[i + 1].set_title(f"map {i}", fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    bottom.suptitle("its ReLU feature maps of one test digit", fontsize=9)
    top.suptitle("first convolution layer: learned 3x3 filters", fontsize=9)
    fig.savefig(path)
    plt.close(fig)
    print(f"figure saved to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--output",
        default=".",
        help="directory (the file is convnet_filters.png) or .png path for the figure",
    )
    args = parser.parse_args(argv)
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"

    clf, X_test, y_test = train(quick)
    print(clf.model_)
    print(f"epochs: {clf.n_iter_}, final training loss: {clf.loss_:.4f}")
    print(f"test accuracy: {clf.score(X_test, y_test):.4f}")

    conv = next(m for m in clf.model_.modules if isinstance(m, nn.Conv2d))
    filters = conv.weight  # (F, C, kh, kw): read straight from the fitted network
    image, label = X_test[0], y_test[0]
    maps = first_block(clf, image)
    print(f"first-layer filters: {filters.shape}, feature maps of one digit: {maps.shape}")

    path = args.output
    if os.path.isdir(path) or not path.endswith(".png"):
        path = os.path.join(path, "convnet_filters.png")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_figure(clf, image, maps, label, path)
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
