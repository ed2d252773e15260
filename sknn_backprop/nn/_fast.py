"""The switch of the optional compiled fast path (numba, the ``fast`` extra).

Nothing here is a lecture equation.  A few hot loops of the engine have a numba
kernel written beside the numpy code it replaces (``_adam_kernel`` and the other
optimizers' in ``optim.py``, ``_bias_relu_kernel`` and ``_relu_mask_col_sum_kernel``
in ``activation.py``, ``_shift_kernel`` and ``_delta_kernel`` in ``criterion.py``,
``_maxpool_kernel`` and ``_maxpool_backward_kernel`` in ``pooling.py``,
``_col2im_kernel`` in ``_im2col.py``; ``Sequential`` runs the fused pairs);
the numpy code stays the reference, and a test pins every kernel to it.  The
hot code asks :func:`on` and takes the kernel when it says so::

    if _fast.on():
        _adam_kernel(p, g, m, v, ...)       # compiled, one pass
    else:
        _adam_block(...)                    # the numpy reference

The fast path is used when numba imports, unless the environment variable
``SKNN_BACKPROP_NUMBA=0``; ``SKNN_BACKPROP_NUMBA=1`` uses it for every fit,
however small.  numba is imported at the first fit that wants it, never at
``import sknn_backprop``.  Loading the kernels costs a fresh process 0.4-0.7 s
of CPU even from numba's on-disk cache (``cache=True``; compiling them cold took
4 s on a loaded 2-core host, once per install), so an estimator's fit first asks
:func:`choose` with the size of its work, and a fit too small to win that
back (or a fresh joblib worker's small bagging member) runs the numpy path.
"""

import os

import numpy as np

__all__ = ["on", "choose", "kernel", "fits", "setting", "forced"]

#: A fit's estimated saving per step: about this many seconds per parameter
#: (Adam's single pass instead of ten) plus a fixed part per step (numpy calls
#: saved); measured on MLP-synth and MLP-digits (docs/performance.rst).
_SAVING_PER_PARAM_STEP = 1.5e-9
_SAVING_PER_STEP = 20e-6
#: ... and per input value of an epoch (the element-wise passes over the activations:
#: the fused ReLU, pooling, col2im): 3e-8 s on MLP-synth and MLP-digits; a network
#: with convolutions saves about 2e-7 s (its activations have channels: 1.2 s an epoch
#: of 10,000 28x28 images in bench_convnet)
_SAVING_PER_INPUT = 3e-8
_SAVING_PER_CONV_INPUT = 2e-7
#: ... against what loading the kernels costs a process that has not used them.
_LOAD_COST = 0.5

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_state = {"numba": None, "on": None}  # numba: None untried / False missing / module


def setting():
    """``'off'``, ``'on'`` (forced) or ``'auto'``, from ``SKNN_BACKPROP_NUMBA``."""
    value = os.environ.get("SKNN_BACKPROP_NUMBA", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    if value in ("1", "true", "yes", "on"):
        return "on"
    return "auto"


def forced():
    """Whether the environment forces the fast path on for every fit."""
    return setting() == "on"


def _numba():
    """The numba module, imported on first use; ``None`` when it is not installed."""
    if _state["numba"] is None:
        try:
            import numba
        except ImportError:  # the default install: numpy only
            _state["numba"] = False
        else:
            _state["numba"] = numba
    return _state["numba"] or None


def on():
    """Whether the hot code takes its compiled kernels now.

    Undecided (no fit asked :func:`choose` yet, e.g. a hand-written ``nn``
    training loop): on when numba imports and the environment does not turn it off.
    """
    if _state["on"] is None:
        _state["on"] = setting() != "off" and _numba() is not None
    return _state["on"]


def choose(n_epochs=None, shape=(0, 0), n_params=0, convolutional=False):
    """Decide, at the start of a fit, whether it runs the compiled kernels.

    A fit of up to ``n_epochs`` epochs over data of ``shape`` (samples, then the
    sample's shape: features, or channels x height x width) with ``n_params``
    parameters, through a network with convolutions or not: what the kernels
    would save (see the constants above) against the cost of loading them in this
    process; once loaded, every later fit of the process uses them.
    ``n_epochs=None``: on if numba imports.  Returns the decision.
    """
    mode = setting()
    if mode == "off":
        _state["on"] = False
    elif mode == "on" or _state["on"] or n_epochs is None:
        _state["on"] = _numba() is not None
    else:
        n, d = shape[0], int(np.prod(shape[1:], dtype=np.int64))
        steps = n_epochs * -(-n // 200)
        saving = steps * (_SAVING_PER_STEP + _SAVING_PER_PARAM_STEP * n_params)
        per_input = _SAVING_PER_CONV_INPUT if convolutional else _SAVING_PER_INPUT
        saving += n_epochs * n * d * per_input
        _state["on"] = saving > _LOAD_COST and _numba() is not None
    return _state["on"]


def fits(*arrays):
    """Whether kernels take these arrays: C-contiguous float32 / float64 arrays of one dtype
    (any other case runs the numpy code)."""
    dt = arrays[0].dtype
    if dt not in _FLOATS:
        return False
    for a in arrays:  # (a loop: this runs a few times a minibatch)
        if not isinstance(a, np.ndarray) or a.dtype != dt or not a.flags.c_contiguous:
            return False
    return True


def _reset():
    """Forget the decision (tests): the next :func:`on` decides afresh."""
    _state["on"] = None


class kernel:
    """A numba kernel compiled on its first call (``njit``, cached on disk).

    ``error_model="numpy"``: a division by zero gives inf / nan as in numpy,
    and, without a check per division, the loops vectorise.  No ``fastmath``:
    the kernels do numpy's operations in numpy's order, so float64 results are
    bit-identical to the numpy code.  ``py`` is the plain Python function.
    """

    def __init__(self, py):
        self.py = py
        self.__name__ = py.__name__
        self.__doc__ = py.__doc__
        self._jit = None

    def __call__(self, *args):
        jit = self._jit
        if jit is None:
            jit = self._jit = _numba().njit(cache=True, error_model="numpy", nogil=True)(self.py)
        return jit(*args)
