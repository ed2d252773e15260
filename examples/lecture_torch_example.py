"""The lecture's Torch7 snippet, line for line, on the numpy engine
================================================================

What it teaches
---------------
The lecture ("Machine learning HT 2016, 8. Neural Networks") builds a network in
Torch7 and asks what ``model:forward`` and ``model:backward`` actually do.  This
script runs the same lines with ``sknn_backprop.nn`` and prints
``model.describe()`` twice, as the lecture's two listings of ``model.modules``:

* before the forward pass only the parameters exist (``weight 4x3``,
  ``bias 4`` ...); ``output`` and ``grad_input`` are empty;
* after ``forward`` every module has cached its output (``500x4``, ``500x2``:
  the forward equations ``z = W a + b``, ``a = f(z)`` applied to all 500 rows
  at once), and after ``backward`` every module holds ``grad_input``, the
  lecture's ``delta`` passed down to the layer below, and each ``Linear`` has
  accumulated ``grad_weight = delta^T a`` and ``grad_bias``.

It ends with what the gradients are for: a few plain gradient-descent steps
``W <- W - lr dL/dW`` on the same data, and the loss going down.

Run ``python examples/lecture_torch_example.py``; set ``SKNN_EXAMPLES_QUICK=1``
for fewer gradient steps.
"""

import os

import numpy as np

from sknn_backprop import nn


def main():
    quick = os.environ.get("SKNN_EXAMPLES_QUICK") == "1"
    randn = np.random.default_rng(0).standard_normal  # torch.randn

    # -- the lecture's snippet (Torch's nn.MSELoss is nn.MSECriterion here) --------
    model = nn.Sequential()
    model.add(nn.Linear(3, 4))
    model.add(nn.Sigmoid())
    model.add(nn.Linear(4, 2))
    model.add(nn.Sigmoid())
    criterion = nn.MSECriterion()

    print(model)
    print()
    print("model.modules before the forward pass (only the parameters have a size):")
    print(model.describe())

    inputs = randn((500, 3))
    targets = randn((500, 2))
    model.forward(inputs)
    loss = criterion.forward(model.output, targets)
    deriv = criterion.backward(model.output, targets)
    model.backward(inputs, deriv)

    print()
    print("model.modules after forward and backward (outputs and deltas are cached):")
    print(model.describe())
    print()
    print(f"loss = criterion.forward(model.output, targets) = {loss:.6f}")

    # -- what the gradients are for: gradient descent ------------------------------
    n_steps = 20 if quick else 200
    learning_rate = 1.0
    params, grads = model.parameters()
    print()
    print(f"{n_steps} steps of gradient descent, W <- W - {learning_rate:g} * dL/dW:")
    for step in range(1, n_steps + 1):
        model.zero_grad_parameters()
        loss = criterion.forward(model.forward(inputs), targets)
        model.backward(inputs, criterion.backward(model.output, targets))
        for p, g in zip(params, grads):
            p -= learning_rate * g
        if step == 1 or step % (n_steps // 5) == 0:
            print(f"  step {step:4d}  loss {loss:.6f}")
    final = criterion.forward(model.forward(inputs), targets)
    print(f"final loss {final:.6f}")
    # the targets are random normals but a Sigmoid output lies in (0, 1),
    # so the loss levels off well above zero: there is nothing to learn here
    print("(random targets outside (0, 1): the loss can only fall so far)")
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # not SystemExit(0): sphinx-gallery runs the script in-process
        raise SystemExit(status)
