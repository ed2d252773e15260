"""The fully connected layer, ``z = W a + b``, and its tied transpose ``z = W^T a + c``."""

import numpy as np

from ._ops import col_sum
from .activation import bias_relu, relu_mask_col_sum
from .init import INITIALIZERS
from .module import Module, WeightBias, check_int

__all__ = ["Linear", "TiedLinear"]


def _matmul_into(a, b, buf):
    """``a @ b``, written into ``buf`` when it has the right shape and dtype.

    ``a`` may be a scipy sparse matrix (then a fresh array is returned).
    """
    if (
        buf is not None
        and isinstance(a, np.ndarray)
        and buf.shape == (a.shape[0], b.shape[1])
        and buf.dtype == a.dtype == b.dtype
    ):
        return np.matmul(a, b, out=buf)
    out = a @ b
    return np.asarray(out)


class Linear(WeightBias, Module):
    """Fully connected layer: ``output = input @ weight.T + bias``.

    Row ``i`` of the output is the lecture's ``z^l = W^l a^{l-1} + b^l`` for
    sample ``i``.  Backward implements ``dL/da^{l-1} = (W^l)^T delta^l``,
    ``dL/dW^l = delta^l (a^{l-1})^T`` and ``dL/db^l = delta^l``, each summed
    over the rows of the minibatch.

    Parameters
    ----------
    n_in : int
        Number of input features.
    n_out : int
        Number of output units.
    bias : bool, default=True
        Whether the layer has a bias.
    rng : numpy.random.Generator or RandomState, default=None
        Generator for the initial weights.  ``None`` uses a generator seeded
        with 0, never the global state.
    dtype : dtype, default=np.float64
        Dtype of the parameters.
    init : str or callable, default='glorot_uniform'
        A name from :data:`sknn_backprop.nn.init.INITIALIZERS` (Glorot uniform is
        scikit-learn's MLP initialisation) or a callable
        ``init(rng, fan_in, fan_out, dtype) -> (W, b)``.

    Attributes
    ----------
    weight : ndarray of shape (n_out, n_in)
        ``W``; row ``j`` holds the incoming weights of unit ``j`` (Torch layout).
    bias : ndarray of shape (n_out,)
        ``b``.
    grad_weight, grad_bias : ndarray
        Accumulated gradients, same shapes as ``weight`` and ``bias``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> layer = nn.Linear(3, 4)
    >>> layer
    nn.Linear(3 -> 4)
    >>> layer.forward(np.ones((5, 3))).shape
    (5, 4)
    """

    def __init__(self, n_in, n_out, bias=True, rng=None, dtype=np.float64, init="glorot_uniform"):
        super().__init__()
        self.n_in = check_int("n_in", n_in)
        self.n_out = check_int("n_out", n_out)
        if not callable(init):
            if init not in INITIALIZERS:
                raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}.")
            init = INITIALIZERS[init]
        self._init = init
        rng = np.random.default_rng(0) if rng is None else rng
        self.weight, b = init(rng, self.n_in, self.n_out, dtype=dtype)
        self.bias = b if bias else None
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._buf_gw = None
        self._grad_is_zero = False

    def reset_parameters(self, rng):
        """Draw ``weight`` and ``bias`` afresh from ``rng`` with the layer's ``init``."""
        init = getattr(self, "_init", None) or INITIALIZERS["glorot_uniform"]
        w, b = init(rng, self.n_in, self.n_out, dtype=self.weight.dtype)
        self.weight[...] = w
        if self.bias is not None:
            self.bias[...] = b

    def __getstate__(self):
        state = super().__getstate__()
        name = getattr(state.get("_init"), "__qualname__", "")
        if "<lambda>" in name or "<locals>" in name:
            state["_init"] = None  # not picklable: reset_parameters falls back to Glorot
        return state

    def extra_repr(self):
        return f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else ", no bias")

    def update_output(self, x, buf=None):
        # forward equation (2): z = W a + b, for every row of the batch at once
        out = _matmul_into(x, self.weight.T, buf)
        if self.bias is not None:
            out += self.bias
        return out

    def forward(self, x):
        self.output = self.update_output(x, buf=self.output)
        return self.output

    def infer(self, x, owned=False):
        return self.update_output(x)

    def update_grad_input(self, x, grad_output):
        # back-propagation equation (2): dL/da^{l-1} = (W^l)^T delta^l
        return _matmul_into(grad_output, self.weight, self.grad_input)

    def acc_grad_parameters(self, x, grad_output, scale=1.0, _bias_sum=None):
        # After zero_grad_parameters() the first accumulation writes the product
        # straight into grad_weight (no zero-fill, no temporary, no extra pass).
        fresh = self._grad_is_zero
        self._grad_is_zero = False
        # back-propagation equation (4): dL/dW = delta a^T, summed over the batch
        if not isinstance(x, np.ndarray):  # sparse input: (x^T delta)^T is sparse-dense
            gw = np.asarray(x.T @ grad_output).T
        elif fresh:
            gw = np.matmul(grad_output.T, x, out=self.grad_weight)
        else:
            gw = self._buf_gw = _matmul_into(grad_output.T, x, self._buf_gw)
        if scale != 1.0:
            gw *= scale
        if gw is not self.grad_weight:
            if fresh:
                self.grad_weight[...] = gw
            else:
                self.grad_weight += gw
        if self.bias is not None:
            # back-propagation equation (3): dL/db = delta, summed over the batch
            if _bias_sum is None:
                gb = col_sum(grad_output, out=self.grad_bias if fresh else None)
            else:  # computed by the fast path (_backward_relu), into grad_bias if fresh
                gb = _bias_sum
            if scale != 1.0:
                gb *= scale
            if not fresh:
                self.grad_bias += gb

    # -- the fast path: this layer and the in-place ReLU after it (see nn.Sequential) ----
    def _forward_relu(self, x, relu):
        """``relu.forward(self.forward(x))`` with ``z + b`` and ``max(., 0)`` in one
        compiled pass (:func:`.activation.bias_relu`); the same array is both outputs."""
        out = _matmul_into(x, self.weight.T, self.output)
        if self.bias is None or not relu.inplace or bias_relu(out, self.bias) is None:
            if self.bias is not None:
                out += self.bias
            self.output = out
            return relu.forward(out)
        self.output = relu.output = out
        return out

    def _backward_relu(self, x, grad_output, relu, scale, need_input_grad=True):
        """``self.backward(x, relu.backward(self.output, grad_output))`` with ReLU's
        mask and the bias gradient in one compiled pass
        (:func:`.activation.relu_mask_col_sum`); ``dL/dx`` only if ``need_input_grad``."""
        gb = None
        if self.bias is not None and relu.inplace:
            out = self.grad_bias if self._grad_is_zero else None
            gb = relu_mask_col_sum(grad_output, relu.output, out)
        if gb is None:
            g = relu.backward(self.output, grad_output, scale)
        else:
            g = relu.grad_input = grad_output  # masked in place, as the in-place ReLU does
        if need_input_grad:
            self.grad_input = self.update_grad_input(x, g)
        self.acc_grad_parameters(x, g, scale, _bias_sum=gb)
        return self.grad_input if need_input_grad else None

    def zero_grad_parameters(self, lazy=False):
        """Zero the gradients; the next backward then writes instead of adding.

        With ``lazy=True`` the zero-fill itself is skipped: the next
        accumulation overwrites ``grad_weight`` / ``grad_bias`` (so read them
        only after a backward).
        """
        if not lazy:
            super().zero_grad_parameters()
        self._grad_is_zero = True


class TiedLinear(Module):
    """A layer whose weight is the transpose of a :class:`Linear`'s: ``output = input @ W + c``.

    The decoder of an autoencoder with tied weights: ``TiedLinear(encoder)``
    maps ``encoder.n_out`` values back to ``encoder.n_in`` with the encoder's
    weight array ``W`` (not a copy) and a bias ``c`` of its own, so the pair
    has half the weights of two ``Linear`` layers.  ``W`` stays the encoder's
    parameter; this layer's ``parameters()`` are its bias only.  Backward adds
    its share of ``dL/dW`` into the encoder's ``grad_weight``: for
    ``z = a W + c``, ``dL/dW = a^T delta`` (the transpose of a ``Linear``'s
    ``delta^T a``), summed with the encoder's own ``delta^T x``.

    Backward runs from the last module to the first, so in a ``Sequential``
    this layer's contribution is accumulated before the encoder's own (which
    then adds instead of overwriting).

    Parameters
    ----------
    linear : Linear
        The layer whose weight is shared.

    Attributes
    ----------
    tied : Linear
        The layer whose weight is shared.
    weight : ndarray of shape (linear.n_in, linear.n_out)
        ``W^T`` in Torch layout (a view of ``tied.weight``, read-only in spirit).
    bias : ndarray of shape (linear.n_in,)
        ``c``, initialised to zeros.
    grad_bias : ndarray
        Accumulated gradient of the bias.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> encoder = nn.Linear(5, 2)
    >>> decoder = nn.TiedLinear(encoder)
    >>> decoder
    nn.TiedLinear(2 -> 5, tied to nn.Linear(5 -> 2))
    >>> decoder.forward(np.ones((3, 2))).shape
    (3, 5)
    >>> np.shares_memory(decoder.weight, encoder.weight)
    True
    """

    def __init__(self, linear):
        super().__init__()
        if not isinstance(linear, Linear):
            raise ValueError(f"linear must be an nn.Linear, got {linear!r}.")
        self.tied = linear
        self.n_in, self.n_out = linear.n_out, linear.n_in
        self.bias = np.zeros(self.n_out, dtype=linear.weight.dtype)
        self.grad_bias = np.zeros_like(self.bias)

    @property
    def weight(self):
        return self.tied.weight.T

    def extra_repr(self):
        return f"{self.n_in} -> {self.n_out}, tied to {self.tied!r}"

    def update_output(self, x):
        out = np.asarray(x @ self.tied.weight)
        out += self.bias
        return out

    def update_grad_input(self, x, grad_output):
        return grad_output @ self.tied.weight.T

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        tied = self.tied
        gw = np.asarray(x.T @ grad_output)  # dL/dW = a^T delta, in W's own layout
        if scale != 1.0:
            gw *= scale
        if getattr(tied, "_grad_is_zero", False):  # the encoder's gradient was lazily zeroed: write
            tied.grad_weight[...] = gw
            if tied.grad_bias is not None:
                tied.grad_bias.fill(0)  # the encoder's bias gradient will now be added
            tied._grad_is_zero = False
        else:
            tied.grad_weight += gw
        gb = col_sum(grad_output)
        self.grad_bias += gb * scale if scale != 1.0 else gb

    def parameters(self):
        return [self.bias], [self.grad_bias]

    def penalized(self):
        return [False]

    def _rebind(self, params, grads):
        self.bias, self.grad_bias = params[0], grads[0]

    def reset_parameters(self, rng):
        """The bias starts at zero; the weight is the tied layer's (reset there)."""
        self.bias[...] = 0
