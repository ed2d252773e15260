"""Finite-difference gradient checking, Torch7's ``nn.Jacobian`` for students."""

import numpy as np

__all__ = ["gradient_check"]


def gradient_check(module, criterion, x, target, eps=1e-6, sample_weight=None, check_input=True):
    """Compare back-propagated gradients with central finite differences.

    For the scalar ``L = criterion.forward(module.forward(x), target)``, checks
    ``dL/dx`` and ``dL/dparam`` for every parameter of ``module`` against
    ``(L(theta + eps) - L(theta - eps)) / (2 eps)``, one coordinate at a time.
    Run it in float64 and in evaluation mode (or without stochastic layers).

    Parameters
    ----------
    module : Module
        A module or a whole ``Sequential`` network.
    criterion : Criterion
        The loss on the module's output.
    x : ndarray or list of ndarray
        Input batch (converted to float64), or a table of them (for the
        modules of :mod:`sknn_backprop.nn.table`).
    target : ndarray
        Targets for ``criterion``.
    eps : float, default=1e-6
        Finite-difference step.
    sample_weight : ndarray, default=None
        Passed to the criterion.
    check_input : bool, default=True
        Also check ``dL/dx``.  ``False`` for inputs that cannot be perturbed
        (the integer codes of a ``LookupTable``).

    Returns
    -------
    errors : dict
        ``{"input": err, "param0": err, ...}``: the relative error
        ``max|analytic - numeric| / max(1, max|numeric|)`` per array (for a
        table input, ``"input0"``, ``"input1"``, ... per element).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng))
    >>> errors = nn.gradient_check(model, nn.MSECriterion(), rng.normal(size=(5, 3)),
    ...                            rng.normal(size=(5, 2)))
    >>> max(errors.values()) < 1e-6
    True
    """
    table = isinstance(x, (list, tuple))
    x = [np.array(xi, dtype=np.float64) for xi in x] if table else np.array(x, dtype=np.float64)

    def loss():
        return criterion.forward(module.forward(x), target, sample_weight)

    # analytic gradients
    module.zero_grad_parameters()
    out = module.forward(x)
    grad_out = criterion.backward(out, target, sample_weight)
    grad_x = module.backward(x, grad_out)
    params, grads = module.parameters()
    analytic = {}
    if check_input and table:
        for i, g in enumerate(grad_x):
            analytic[f"input{i}"] = np.array(g, dtype=np.float64)
    elif check_input:
        analytic["input"] = np.array(grad_x, dtype=np.float64)
    for i, g in enumerate(grads):
        analytic[f"param{i}"] = g.copy()

    def numeric(arr):
        num = np.zeros(arr.shape)
        flat, nflat = arr.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            lp = loss()
            flat[j] = old - eps
            lm = loss()
            flat[j] = old
            nflat[j] = (lp - lm) / (2 * eps)
        return num

    numerical = {}
    if check_input and table:
        for i, xi in enumerate(x):
            numerical[f"input{i}"] = numeric(xi)
    elif check_input:
        numerical["input"] = numeric(x)
    for i, p in enumerate(params):
        numerical[f"param{i}"] = numeric(p)

    errors = {}
    for key, num in numerical.items():
        ana = analytic[key]
        errors[key] = float(
            np.max(np.abs(ana - num), initial=0.0) / max(1.0, np.max(np.abs(num), initial=0.0))
        )
    return errors
