"""Input layers of tabular networks: ``LookupTable`` (embeddings of categorical codes),
``Scale`` (a learned per-feature scale) and ``PeriodicEmbedding`` (numeric features).

The last two are the front of RealMLP (Holzmüller, Grinsztajn & Steinwart, "Better by
Default: Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", NeurIPS 2024; code
in pytabkit), after the periodic embeddings of Gorishniy, Rubachev & Babenko, "On
Embeddings for Numerical Features in Tabular Deep Learning", NeurIPS 2022.
"""

import numpy as np

from .module import Module, NamedParameters, check_int, check_real

__all__ = ["LookupTable", "Scale", "PeriodicEmbedding"]


def _rng(rng):
    return np.random.default_rng(0) if rng is None else rng


def _reuse(buf, shape, dtype):
    """``buf`` if it has ``shape`` and ``dtype``, else a fresh empty array."""
    if isinstance(buf, np.ndarray) and buf.shape == tuple(shape) and buf.dtype == dtype:
        return buf
    return np.empty(shape, dtype=dtype)


class LookupTable(NamedParameters, Module):
    """Embeddings: each integer code ``i`` in the input is replaced by row ``i`` of ``weight``.

    ``output[n] = weight[x[n]]`` (Torch7's ``nn.LookupTable``, PyTorch's
    ``nn.Embedding`` with 0-based codes).  The codes may be integers or
    integer-valued floats (a column of an ordinal-encoded float matrix); a code
    that is not an integer in ``[0, n_index)`` (NaN included) raises
    ``ValueError``.  Input ``(N,)`` gives ``(N, n_output)``; input ``(N, k)``
    gives ``(N, k, n_output)`` (follow it with :class:`~sknn_backprop.nn.Flatten`
    for ``(N, k * n_output)``).  Pick one categorical column out of a batch with
    :class:`~sknn_backprop.nn.Select`.

    Backward: ``dL/dweight[i] = sum_{n : x_n = i} dL/doutput[n]`` (rows that
    share a code add up, ``np.add.at``); the codes are not differentiable, so
    the input gradient is zero.

    Initialisation is PyTorch's ``nn.Embedding``: every entry ``N(0, 1)``.  The
    weight **is penalised** (``penalized() == [True]``): it is a weight, not a
    bias, and weight decay applies to it in Torch7 and in PyTorch's optimizers
    by default; a code that never occurs in training then keeps shrinking
    towards zero under a penalty.

    Parameters
    ----------
    n_index : int
        Number of codes (rows of the table), ``>= 1``.
    n_output : int
        Size of each embedding vector, ``>= 1``.
    rng : numpy.random.Generator, default=None
        Generator for the initial weights (``None``: seeded with 0).
    dtype : dtype, default=np.float64
        Dtype of the weight and of the output.

    Attributes
    ----------
    weight : ndarray of shape (n_index, n_output)
        The embedding vectors, one row per code.
    grad_weight : ndarray of shape (n_index, n_output)

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> emb = nn.LookupTable(5, 2)
    >>> emb
    nn.LookupTable(5 -> 2)
    >>> emb.forward(np.array([0.0, 4.0, 4.0])).shape
    (3, 2)
    """

    def __init__(self, n_index, n_output, rng=None, dtype=np.float64):
        super().__init__()
        self.n_index = check_int("n_index", n_index)
        self.n_output = check_int("n_output", n_output)
        self.weight = _rng(rng).standard_normal((self.n_index, self.n_output)).astype(dtype)
        self.grad_weight = np.zeros_like(self.weight)

    def extra_repr(self):
        return f"{self.n_index} -> {self.n_output}"

    def _codes(self, x):
        """The input as ``intp`` codes, after checking each is an integer in range."""
        if not isinstance(x, np.ndarray):
            x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        if x.ndim not in (1, 2):
            raise ValueError(f"{self!r} expects codes of shape (N,) or (N, k), got {x.shape}.")
        if x.dtype.kind in "iu":
            idx = x.astype(np.intp, copy=False)
        else:
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(x).all()
                idx = x.astype(np.intp) if ok else None
            if not ok or not np.array_equal(idx, x):
                raise ValueError(
                    f"{self!r} expects integer codes, got non-integer or non-finite values."
                )
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_index):
            bad = idx[(idx < 0) | (idx >= self.n_index)][0]
            raise ValueError(f"{self!r}: code {bad} is out of range [0, {self.n_index}).")
        return idx

    def _lookup(self, x, buf):
        idx = self._codes(x)
        out = _reuse(buf, idx.shape + (self.n_output,), self.weight.dtype)
        return np.take(self.weight, idx, axis=0, out=out)

    def forward(self, x):
        self.output = self._lookup(x, self.output)
        return self.output

    def update_output(self, x):
        return self._lookup(x, None)

    def update_grad_input(self, x, grad_output):
        # the codes are not differentiable
        return np.zeros(np.shape(x), dtype=grad_output.dtype)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        idx = self._codes(x).ravel()
        g = np.asarray(grad_output).reshape(idx.size, self.n_output)
        if scale != 1.0:
            g = g * scale
        # dL/dW[i] = sum over the rows whose code is i (repeated codes add up)
        np.add.at(self.grad_weight, idx, g)

    def reset_parameters(self, rng):
        """Draw every entry afresh from ``N(0, 1)`` (PyTorch's ``nn.Embedding``)."""
        self.weight[...] = rng.standard_normal(self.weight.shape)


class Scale(NamedParameters, Module):
    """A learned scale per feature: ``output = x * (lr_factor * s)`` (RealMLP's scaling layer).

    Each column ``j`` of an ``(N, n)`` batch is multiplied by its own ``s_j``,
    initialised so that ``lr_factor * s_j = 1`` (the identity).  RealMLP puts it
    in front of its first linear layer, on every column that layer sees (after the
    numeric embeddings and the one-hot codes), where it learns how much each input
    matters.  Backward:
    ``dL/dx = g * lr_factor s`` and ``dL/ds_j = lr_factor sum_n g_nj x_nj``.
    The scale is not penalised (``penalized() == [False]``): a penalty would pull
    it to zero, switching features off, which is not a weight decay's intent.

    ``lr_factor`` is pytabkit's parametrisation (``ScalingLayer(lr_factor=6)``
    in RealMLP-TD): the stored ``s`` starts at ``1 / lr_factor`` and is
    multiplied by ``lr_factor`` in the forward pass.  With a scale-invariant
    optimizer (Adam, AdamW, RMSprop) this multiplies the effective learning rate
    of the scale by ``lr_factor``; with plain SGD by ``lr_factor ** 2``.

    Parameters
    ----------
    n : int
        Number of features (columns of the input).
    lr_factor : float, default=1.0
        See above; ``> 0``.  RealMLP-TD uses 6.
    dtype : dtype, default=np.float64

    Attributes
    ----------
    weight : ndarray of shape (n,)
        The stored scale ``s`` (the effective scale is ``lr_factor * s``).
    grad_weight : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.Scale(3, lr_factor=6.0)
    nn.Scale(3, lr_factor=6)
    >>> nn.Scale(2).forward(np.array([[1.0, 2.0]]))
    array([[1., 2.]])
    """

    _PENALIZED = (False,)  # no weight penalty

    def __init__(self, n, lr_factor=1.0, dtype=np.float64):
        super().__init__()
        self.n = check_int("n", n)
        self.lr_factor = check_real("lr_factor", lr_factor, 0.0)
        if self.lr_factor == 0:
            raise ValueError("lr_factor must be > 0, got 0.")
        self.weight = np.full(self.n, 1.0 / self.lr_factor, dtype=dtype)
        self.grad_weight = np.zeros_like(self.weight)

    def extra_repr(self):
        return str(self.n) + ("" if self.lr_factor == 1 else f", lr_factor={self.lr_factor:g}")

    def _scale(self, dtype):
        s = self.weight.astype(dtype, copy=False)
        return s if self.lr_factor == 1 else s * dtype.type(self.lr_factor)

    def _check(self, x):
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"{self!r} expects input of shape (N, {self.n}), got {x.shape}.")

    def forward(self, x):
        self._check(x)
        out = _reuse(self.output, x.shape, x.dtype)
        self.output = np.multiply(x, self._scale(x.dtype), out=out)
        return self.output

    def update_output(self, x):
        self._check(x)
        return x * self._scale(x.dtype)

    def infer(self, x, owned=False):
        self._check(x)
        return np.multiply(x, self._scale(x.dtype), out=x if owned else None)

    def update_grad_input(self, x, grad_output):
        return grad_output * self._scale(grad_output.dtype)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        gs = np.einsum("ij,ij->j", grad_output, x)
        self.grad_weight += (scale * self.lr_factor) * gs

    def reset_parameters(self, rng):
        """Back to the identity, ``lr_factor * s = 1`` (no randomness)."""
        self.weight[...] = 1.0 / self.lr_factor


class PeriodicEmbedding(NamedParameters, Module):
    """Periodic embeddings of numeric features, RealMLP's "PBLD" form.

    For each of the ``F`` input features ``x_f`` separately (no weight is shared
    between features), with ``K = n_frequencies`` and ``D = d_embedding``:

    ``z_fk = 2 pi w_fk x_f + b_fk``, ``c_fk = cos(z_fk)`` (periodic, with bias),
    ``e_fd = sum_k c_fk V_fkd + u_fd`` (a per-feature linear layer),

    and the output row is ``[e_11 .. e_1D, e_21 .. e_FD, x_1 .. x_F]``: the ``F D``
    embedding values feature by feature, then the features themselves (the
    "densenet" part), ``F (D + 1)`` columns in all (``F D`` with
    ``densenet=False``).  This is pytabkit's ``PLREmbeddingsLayerCosBias`` with
    ``plr_act_name='linear'`` and ``plr_use_densenet=True`` (``num_emb_type='pbld'``),
    in the same output order; RealMLP-TD uses ``sigma=0.1``,
    ``n_frequencies=16`` (``plr_hidden_1``), ``d_embedding=3``
    (``plr_hidden_2 = 4`` counts the densenet column) and ``lr_factor=0.1``.

    Initialisation as pytabkit's: ``w ~ N(0, sigma^2)``, ``b ~ U(-pi, pi)``,
    ``V, u ~ U(-1/sqrt(K), 1/sqrt(K))``.  Gorishniy et al.'s original "PLR"
    embedding uses ``[cos(2 pi w x), sin(2 pi w x)]`` without the bias ``b`` and a
    ReLU after the linear layer; the cosine with a learned phase spans the same
    functions with half the frequencies.

    Differences from pytabkit: pytabkit's ``plr_lr_factor`` is a per-parameter
    learning-rate factor of its optimizer; here ``lr_factor`` is a
    reparametrisation (the stored arrays are the effective ones divided by
    ``lr_factor``, multiplied back in the forward pass), which for Adam-type
    optimizers gives the same effective learning-rate factor (``lr_factor ** 2``
    for plain SGD), and a weight penalty acts on the stored arrays.  pytabkit
    decays all four arrays; here the frequencies ``w`` and the linear weights
    ``V`` are penalised and the biases ``b`` and ``u`` are not (the package's
    rule: biases never are).

    Backward, with ``G`` the gradient of the ``e`` block and ``g`` of the densenet
    block: ``dL/dV_fkd = sum_n c_nfk G_nfd``, ``dL/du_fd = sum_n G_nfd``,
    ``dL/dz_nfk = -sin(z_nfk) sum_d G_nfd V_fkd``, ``dL/dw_fk = 2 pi sum_n
    dL/dz_nfk x_nf``, ``dL/db_fk = sum_n dL/dz_nfk`` and ``dL/dx_nf = 2 pi sum_k
    dL/dz_nfk w_fk + g_nf``.

    Parameters
    ----------
    n_features : int
        Number of numeric features ``F`` (columns of the input).
    n_frequencies : int, default=16
        Frequencies per feature ``K``.
    sigma : float, default=0.1
        Standard deviation of the initial frequencies, ``> 0``.
    d_embedding : int, default=3
        Outputs of each feature's linear layer ``D``.
    densenet : bool, default=True
        Append the input features to the output.
    lr_factor : float, default=1.0
        See "Differences" above; ``> 0``.  RealMLP-TD uses 0.1.
    rng : numpy.random.Generator, default=None
        Generator for the initial parameters (``None``: seeded with 0).
    dtype : dtype, default=np.float64

    Attributes
    ----------
    frequencies : ndarray of shape (n_features, n_frequencies)
        ``w`` (stored; the effective one is ``lr_factor * frequencies``).
    phases : ndarray of shape (n_features, n_frequencies)
        ``b``.
    weight : ndarray of shape (n_features, n_frequencies, d_embedding)
        ``V``.
    bias : ndarray of shape (n_features, d_embedding)
        ``u``.
    grad_frequencies, grad_phases, grad_weight, grad_bias : ndarray
        Their accumulated gradients.
    n_output : int
        Output width, ``n_features * (d_embedding + densenet)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> emb = nn.PeriodicEmbedding(5, n_frequencies=16, sigma=0.1, d_embedding=3)
    >>> emb
    nn.PeriodicEmbedding(5 -> 20, n_frequencies=16, sigma=0.1, d_embedding=3)
    >>> emb.forward(np.zeros((7, 5))).shape
    (7, 20)
    """

    _PARAMS = ("frequencies", "phases", "weight", "bias")
    _PENALIZED = (True, False, True, False)
    _GRADS = tuple((f"grad_{name}", name) for name in _PARAMS)

    def __init__(
        self,
        n_features,
        n_frequencies=16,
        sigma=0.1,
        d_embedding=3,
        densenet=True,
        lr_factor=1.0,
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.n_features = check_int("n_features", n_features)
        self.n_frequencies = check_int("n_frequencies", n_frequencies)
        self.d_embedding = check_int("d_embedding", d_embedding)
        self.sigma = check_real("sigma", sigma, 0.0)
        self.densenet = bool(densenet)
        self.lr_factor = check_real("lr_factor", lr_factor, 0.0)
        if self.sigma == 0 or self.lr_factor == 0:
            raise ValueError("sigma and lr_factor must be > 0.")
        f, k, d = self.n_features, self.n_frequencies, self.d_embedding
        self.n_output = f * (d + self.densenet)
        self.frequencies = np.empty((f, k), dtype=dtype)
        self.phases = np.empty((f, k), dtype=dtype)
        self.weight = np.empty((f, k, d), dtype=dtype)
        self.bias = np.empty((f, d), dtype=dtype)
        self.reset_parameters(_rng(rng))
        for name in self._PARAMS:
            setattr(self, f"grad_{name}", np.zeros_like(getattr(self, name)))
        self._buf_z = self._buf_cos = None  # the last forward's z and cos(z), (F, N, K)

    def reset_parameters(self, rng):
        """Draw ``w ~ N(0, sigma^2)``, ``b ~ U(-pi, pi)``, ``V, u ~ U(+-1/sqrt(K))`` afresh."""
        f, k, d = self.n_features, self.n_frequencies, self.d_embedding
        c = 1.0 / self.lr_factor
        bound = 1.0 / np.sqrt(k)
        self.frequencies[...] = c * self.sigma * rng.standard_normal((f, k))
        self.phases[...] = c * rng.uniform(-np.pi, np.pi, (f, k))
        self.weight[...] = c * rng.uniform(-bound, bound, (f, k, d))
        self.bias[...] = c * rng.uniform(-bound, bound, (f, d))

    def extra_repr(self):
        s = (
            f"{self.n_features} -> {self.n_output}, n_frequencies={self.n_frequencies}, "
            f"sigma={self.sigma:g}, d_embedding={self.d_embedding}"
        )
        if not self.densenet:
            s += ", densenet=False"
        if self.lr_factor != 1:
            s += f", lr_factor={self.lr_factor:g}"
        return s

    def _effective(self, dtype):
        """``(w, b, V, u)`` as used in the forward pass, in the compute dtype."""
        c = dtype.type(self.lr_factor)
        arrays = [getattr(self, name).astype(dtype, copy=False) for name in self._PARAMS]
        return arrays if self.lr_factor == 1 else [a * c for a in arrays]

    def _check(self, x):
        if not isinstance(x, np.ndarray):
            x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.n_features}), got {x.shape}."
            )
        return x if x.dtype.kind == "f" else x.astype(self.weight.dtype)

    def _embed(self, x, out, keep):
        x = self._check(x)
        dt = x.dtype
        w, b, v, u = self._effective(dt)
        n, (f, d) = x.shape[0], u.shape
        # z_fnk = 2 pi w_fk x_nf + b_fk, laid out (F, N, K) so that the per-feature
        # linear layers are one batched matrix product
        xt = np.ascontiguousarray(x.T)
        z = np.multiply(xt[:, :, None], (dt.type(2 * np.pi) * w)[:, None, :])
        z += b[:, None, :]
        c = np.cos(z)
        out = _reuse(out, (n, self.n_output), dt)
        # e_nfd = sum_k c_fnk V_fkd + u_fd, written straight into the output's first F D columns
        e = out[:, : f * d].reshape(n, f, d)  # a view (the columns are contiguous per row)
        np.matmul(c, v, out=e.transpose(1, 0, 2))
        e += u
        if self.densenet:
            out[:, f * d :] = x
        if keep:
            self._buf_z, self._buf_cos = z, c
        return out

    def forward(self, x):
        self.output = self._embed(x, self.output, keep=True)
        return self.output

    def update_output(self, x):
        return self._embed(x, None, keep=False)

    def _dz(self, x, grad_output):
        """``(x, G as (F, N, D), dL/dz as (F, N, K), z, cos z)`` for the last forward's ``x``."""
        x = self._check(x)
        if self._buf_z is None or self._buf_z.shape[1] != x.shape[0]:
            self._embed(x, None, keep=True)  # backward without a matching forward
        z, c = self._buf_z, self._buf_cos
        n, f, d = x.shape[0], self.n_features, self.d_embedding
        g = np.asarray(grad_output, dtype=x.dtype)
        ge = g[:, : f * d].reshape(n, f, d).transpose(1, 0, 2)
        _, _, v, _ = self._effective(x.dtype)
        dz = np.matmul(ge, v.transpose(0, 2, 1))  # dL/dc, (F, N, K)
        dz *= np.sin(z)
        np.negative(dz, out=dz)
        return x, g, ge, dz, c

    def _grad_input(self, x, g, dz):
        w = self._effective(x.dtype)[0]
        # dL/dx_nf = 2 pi sum_k dz_fnk w_fk (+ the densenet block's gradient)
        gi = np.matmul(dz, w[:, :, None])[:, :, 0].T
        gi *= x.dtype.type(2 * np.pi)
        if self.densenet:
            gi += g[:, self.n_features * self.d_embedding :]
        return gi

    def _acc(self, x, ge, dz, c, scale):
        # the sums over the batch are products with x and with ones: a reduction over
        # the middle axis of (F, N, K) is several times slower in numpy
        s = scale * self.lr_factor  # d(effective)/d(stored) = lr_factor
        ones = np.ones(x.shape[0], dtype=dz.dtype)
        self.grad_weight += s * np.matmul(c.transpose(0, 2, 1), ge)
        self.grad_bias += s * np.matmul(ones, ge)
        xt = np.ascontiguousarray(x.T)[:, None, :]
        self.grad_frequencies += (s * 2 * np.pi) * np.matmul(xt, dz)[:, 0]
        self.grad_phases += s * np.matmul(ones, dz)

    def backward(self, x, grad_output, scale=1.0):
        """Both halves at once: ``dL/dz`` is computed once."""
        x, g, ge, dz, c = self._dz(x, grad_output)
        self._acc(x, ge, dz, c, scale)
        self.grad_input = self._grad_input(x, g, dz)
        return self.grad_input

    def update_grad_input(self, x, grad_output):
        x, g, _, dz, _ = self._dz(x, grad_output)
        return self._grad_input(x, g, dz)

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        x, _, ge, dz, c = self._dz(x, grad_output)
        self._acc(x, ge, dz, c, scale)

