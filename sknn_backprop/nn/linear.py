"""The fully connected layer, ``z = W a + b``, its tied transpose ``z = W^T a + c``, and
RealMLP's neural-tangent parametrisation ``z = W a / sqrt(n_in) + c b``."""

import numpy as np

from ._ops import col_sum
from .activation import ReLU, bias_relu, relu_mask_col_sum
from .init import INITIALIZERS
from .module import Module, WeightBias, check_int, check_real

__all__ = ["Linear", "TiedLinear", "NTPLinear"]


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
    output : ndarray of shape (N, n_out)
        Output of the last ``forward`` (its buffer is reused by the next one of
        the same shape, as :class:`Conv2d`'s is: copy it if you keep it;
        ``infer`` returns a fresh array).

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
    def fuses_with(self, nxt):
        return self.bias is not None and type(nxt) is ReLU and nxt.inplace

    def fused_forward(self, nxt, x):
        return self._forward_relu(x, nxt)

    def fused_backward(self, nxt, x, grad_output, scale, need_input_grad):
        return self._backward_relu(x, grad_output, nxt, scale, need_input_grad)

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


class NTPLinear(WeightBias, Module):
    """A fully connected layer in the neural-tangent parametrisation (RealMLP's ``'ntk'``).

    ``output = input @ weight.T / sqrt(n_in) + bias_lr_factor * bias``: the stored
    weight is ``N(0, 1)`` and the ``1 / sqrt(n_in)`` is applied in the forward pass
    (pytabkit's ``WeightFitter(weight_param='ntk')``, Jacot et al., 2018), so with
    Adam the effective weight ``W / sqrt(n_in)`` moves ``1 / sqrt(n_in)`` times as
    fast as the optimizer's learning rate: wide layers take smaller steps.  The bias
    is stored divided by ``bias_lr_factor`` (RealMLP-TD's ``bias_lr_factor=0.1``
    is an optimizer factor in pytabkit; here it is this reparametrisation, the same
    for Adam-type optimizers).  Backward: ``dL/da = delta W / sqrt(n_in)``,
    ``dL/dW = delta^T a / sqrt(n_in)``, ``dL/db = bias_lr_factor sum_n delta_n``.
    The weight is penalised, the bias is not.

    The bias starts at zero; :meth:`data_init` is RealMLP-TD's data-dependent
    initialisation (``weight_init_mode='std'``, ``bias_init_mode='he+5'``).

    Parameters
    ----------
    n_in, n_out : int
        Input features and output units.
    bias : bool, default=True
    bias_lr_factor : float, default=1.0
        ``> 0``; RealMLP-TD uses 0.1.
    rng : numpy.random.Generator, default=None
        Generator for the initial weights (``None``: seeded with 0).
    dtype : dtype, default=np.float64

    Attributes
    ----------
    weight : ndarray of shape (n_out, n_in)
        The stored ``W`` (the effective weight is ``W / sqrt(n_in)``).
    bias : ndarray of shape (n_out,) or None
        The stored ``b`` (the effective bias is ``bias_lr_factor * b``).
    grad_weight, grad_bias : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> layer = nn.NTPLinear(4, 3, bias_lr_factor=0.1)
    >>> layer
    nn.NTPLinear(4 -> 3, bias_lr_factor=0.1)
    >>> x = np.ones((2, 4))
    >>> bool(np.allclose(layer.forward(x), x @ layer.weight.T / 2))
    True
    """

    def __init__(self, n_in, n_out, bias=True, bias_lr_factor=1.0, rng=None, dtype=np.float64):
        super().__init__()
        self.n_in = check_int("n_in", n_in)
        self.n_out = check_int("n_out", n_out)
        self.bias_lr_factor = check_real("bias_lr_factor", bias_lr_factor, 0.0)
        if self.bias_lr_factor == 0:
            raise ValueError("bias_lr_factor must be > 0, got 0.")
        self.weight = np.empty((self.n_out, self.n_in), dtype=dtype)
        self.bias = np.zeros(self.n_out, dtype=dtype) if bias else None
        self.reset_parameters(np.random.default_rng(0) if rng is None else rng)
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)

    def reset_parameters(self, rng):
        """``W ~ N(0, 1)``, bias zero."""
        self.weight[...] = rng.standard_normal(self.weight.shape)
        if self.bias is not None:
            self.bias[...] = 0

    def extra_repr(self):
        s = f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else ", no bias")
        return s + ("" if self.bias_lr_factor == 1 else f", bias_lr_factor={self.bias_lr_factor:g}")

    def _factor(self, dtype):
        return dtype.type(1.0 / np.sqrt(self.n_in))

    def _forward(self, x, buf):
        out = _matmul_into(x, self.weight.T, buf)
        out *= self._factor(out.dtype)
        if self.bias is not None:
            out += out.dtype.type(self.bias_lr_factor) * self.bias.astype(out.dtype, copy=False)
        return out

    def forward(self, x):
        self.output = self._forward(x, self.output)
        return self.output

    def update_output(self, x):
        return self._forward(x, None)

    def update_grad_input(self, x, grad_output):
        gi = _matmul_into(grad_output, self.weight, self.grad_input)
        gi *= self._factor(gi.dtype)
        return gi

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        if not isinstance(x, np.ndarray):  # sparse input: (x^T delta)^T is sparse-dense
            gw = np.asarray(x.T @ grad_output).T
        else:
            gw = np.matmul(grad_output.T, x)
        gw *= scale / np.sqrt(self.n_in)
        self.grad_weight += gw
        if self.bias is not None:
            self.grad_bias += (scale * self.bias_lr_factor) * col_sum(grad_output)

    def data_init(self, x, rng):
        """RealMLP-TD's data-dependent initialisation on a batch ``x``; return self.

        ``'std'``: each row of ``W`` (drawn ``N(0, 1)``) is divided by the standard
        deviation of its unit's pre-activation on ``x``, so every unit starts with
        unit variance on the data.  ``'he+5'``: each unit's bias is minus a random
        convex combination (weights ``Dirichlet(1, ..., 1)``) of its pre-activations
        at 5 random rows of ``x``, so its kink passes through the data.  As
        pytabkit's ``WeightFitter`` / ``BiasFitter``.
        """
        x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=self.weight.dtype)
        w = rng.standard_normal(self.weight.shape).astype(self.weight.dtype)
        z = x @ w.T * self._factor(w.dtype)
        std = z.std(axis=0)
        std[std == 0] = 1
        self.weight[...] = w / std[:, None]
        if self.bias is not None:
            z /= std
            idx = rng.integers(0, x.shape[0], size=(self.n_out, 5))
            simplex = rng.exponential(1.0, size=(self.n_out, 5))
            simplex /= simplex.sum(axis=1, keepdims=True)
            picked = z[idx, np.arange(self.n_out)[:, None]]  # (n_out, 5)
            self.bias[...] = -(picked * simplex).sum(axis=1) / self.bias_lr_factor
        return self
