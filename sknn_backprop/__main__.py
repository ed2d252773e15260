"""``python -m sknn_backprop``: the demo (engine-only until the estimators land)."""

import argparse

import numpy as np

from . import nn


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sknn_backprop", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a sub-minute run")
    parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    model = nn.Sequential(
        nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng), nn.Sigmoid()
    )
    crit = nn.MSECriterion()
    opt = nn.Adam(model.parameters()[0], learning_rate_init=0.05)
    for _ in range(2000):
        model.zero_grad_parameters()
        out = model.forward(x)
        model.backward(x, crit.backward(out, y))
        opt.step(*model.parameters())
    print(model)
    print("XOR predictions:", np.round(model.forward(x).ravel(), 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
