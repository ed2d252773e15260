"""Loss functions (Torch7's criteria): ``forward(output, target) -> float`` and
``backward(output, target) -> dL/d(output)``.

Every criterion averages over the samples of the batch, optionally weighted:
with ``sample_weight`` ``w`` the loss is ``sum_i w_i l_i / sum_i w_i`` (as
``numpy.average``), and its gradient is scaled to match.  The loss of one
sample sums over the output columns, except with ``average_outputs=True``
(``MSECriterion``, ``AbsCriterion``, ``SmoothL1Criterion``), which averages over
them as scikit-learn's squared loss does.

Targets of the classification criteria are either class indices (1-D integer
array, as Torch7) or one-hot / probability rows (2-D, as scikit-learn's
``LabelBinarizer`` produces).
"""

import numpy as np
from scipy.special import expit, xlogy

from . import _fast
from ._ops import row_max, row_sum
from .module import check_real

__all__ = [
    "Criterion",
    "MSECriterion",
    "AbsCriterion",
    "SmoothL1Criterion",
    "ClassNLLCriterion",
    "CrossEntropyCriterion",
    "BCECriterion",
    "BCEWithLogitsCriterion",
    "PoissonNLLCriterion",
]


def _weights(output, sample_weight):
    """Return ``(w, total)``: per-row weights as a column (or None) and their sum."""
    n = output.shape[0]
    if sample_weight is None:
        return None, float(n)
    w = np.asarray(sample_weight, dtype=output.dtype).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries for {n} samples.")
    # a batch whose weights are all zero contributes nothing (and must not divide by 0)
    return w.reshape((n,) + (1,) * (output.ndim - 1)), float(w.sum()) or 1.0


def _onehot(output, target):
    """2-D float targets from class indices (or the targets themselves if 2-D).

    Class indices must lie in ``[0, n_classes)``: a negative index (which numpy
    would read from the end) raises, as PyTorch's criteria do.
    """
    target = np.asarray(target)
    if target.ndim == 1 and output.ndim == 2 and output.shape[1] > 1:
        idx = target.astype(np.intp)
        if idx.size and (idx.min() < 0 or idx.max() >= output.shape[1]):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise ValueError(
                f"Target {bad} is out of bounds: class indices must be in "
                f"[0, {output.shape[1]}) for {output.shape[1]} output columns."
            )
        onehot = np.zeros(output.shape, dtype=output.dtype)
        onehot[np.arange(target.shape[0]), idx] = 1
        return onehot
    return _target(output, target)


def _target_dot(y, a):
    """Per-row ``sum_c y_ic a_ic`` with ``0 * -inf`` read as 0.

    A ``-inf`` log-probability or logit of a class the row does not target adds
    nothing (it would make the plain product NaN); the slow path runs only then.
    """
    with np.errstate(invalid="ignore"):
        prod = np.where(y != 0, y * a, 0)
    return prod.sum(axis=1)


def _target(output, target):
    """``target`` shaped and typed like ``output`` (so float32 stays float32)."""
    return np.asarray(target, dtype=output.dtype).reshape(output.shape)


def _smooth(y, eps, k):
    """PyTorch's label smoothing: ``(1 - eps) y + eps / k`` (``y`` itself when ``eps == 0``)."""
    if not eps:
        return y
    out = y * y.dtype.type(1 - eps)
    out += y.dtype.type(eps / k)
    return out


class _LabelSmoothing:
    """``label_smoothing`` of the classification criteria (checked, shown in the repr)."""

    label_smoothing = 0.0  # (criteria pickled before it existed)

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = check_real("label_smoothing", label_smoothing, 0.0, 1.0)

    def __repr__(self):
        eps = getattr(self, "label_smoothing", 0.0)
        return f"nn.{type(self).__name__}" + (f"(label_smoothing={eps:g})" if eps else "")


def _reduce(per_element, w, total):
    """Weighted average over samples of the per-sample sums."""
    if w is not None:
        per_element = per_element * w
    return float(per_element.sum() / total)


class Criterion:
    """Base class: ``forward`` (the loss) and ``backward`` (its gradient)."""

    def forward(self, output, target, sample_weight=None):  # pragma: no cover
        raise NotImplementedError

    def backward(self, output, target, sample_weight=None):
        """Return ``dL/d(output)``, the ``dL/da^L`` that starts back-propagation."""
        return self.forward_backward(output, target, sample_weight)[1]

    def forward_backward(self, output, target, sample_weight=None):
        """``(loss, grad)`` in one pass (cheaper than two calls for most criteria)."""
        return self.forward(output, target, sample_weight), self.backward(
            output, target, sample_weight
        )

    def __repr__(self):
        return f"nn.{type(self).__name__}"


class MSECriterion(Criterion):
    """The lecture's squared error ``L = 1/2 ||y - y_hat||^2``, averaged over the batch.

    Parameters
    ----------
    average_outputs : bool, default=False
        Also average over the output columns (scikit-learn's ``squared_error``
        loss of a multi-output MLP).
    """

    def __init__(self, average_outputs=False):
        self.average_outputs = bool(average_outputs)

    def _scale(self, output):
        k = output.shape[1] if (self.average_outputs and output.ndim > 1) else 1
        return 1.0 / k

    def forward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        diff = output - _target(output, target)
        return 0.5 * self._scale(output) * _reduce(diff * diff, w, total)

    def forward_backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        grad = output - _target(output, target)
        loss = 0.5 * self._scale(output) * _reduce(grad * grad, w, total)
        if w is not None:
            grad *= w
        grad *= self._scale(output) / total
        return loss, grad


class _Regression(Criterion):
    """A loss on the residual ``d = output - target``, summed (or averaged) over outputs."""

    def __init__(self, average_outputs=False):
        self.average_outputs = bool(average_outputs)

    _scale = MSECriterion._scale

    def _loss_grad(self, d):  # pragma: no cover - abstract
        """``(per-element loss, dloss/dd)``, the gradient written into ``d``."""
        raise NotImplementedError

    def forward(self, output, target, sample_weight=None):
        return self.forward_backward(output, target, sample_weight)[0]

    def forward_backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        per, grad = self._loss_grad(output - _target(output, target))
        loss = self._scale(output) * _reduce(per, w, total)
        if w is not None:
            grad *= w
        grad *= self._scale(output) / total
        return loss, grad


class AbsCriterion(_Regression):
    """Absolute error ``L = ||y - y_hat||_1`` (L1, MAE), averaged over the batch.

    Torch7's ``nn.AbsCriterion``.  The gradient is ``sign(y_hat - y)`` (``0``
    where the two are equal, a subgradient at the kink), divided by the batch
    size (or the sum of ``sample_weight``).  The median, not the mean, minimises
    it, which makes it robust to outlying targets.

    Parameters
    ----------
    average_outputs : bool, default=False
        Also average over the output columns (as :class:`MSECriterion`);
        ``True`` is PyTorch's ``L1Loss()`` (mean over every element) and
        scikit-learn's ``mean_absolute_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.AbsCriterion().forward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2)))
    5.0
    """

    def _loss_grad(self, d):
        per = np.abs(d)
        return per, np.sign(d, out=d)


class SmoothL1Criterion(_Regression):
    """Smooth L1 (Huber) loss, averaged over the batch.

    With ``d = y_hat - y``, each element contributes

    ``l(d) = 0.5 d^2 / beta`` if ``|d| < beta``, else ``|d| - 0.5 beta``,

    quadratic near zero and linear (robust to outliers) beyond ``beta``; the
    gradient is ``clip(d / beta, -1, 1)``.  ``beta=1`` is Torch7's
    ``nn.SmoothL1Criterion``; for any ``beta`` this is PyTorch's
    ``SmoothL1Loss(beta=beta)``, and ``beta * l`` is PyTorch's
    ``HuberLoss(delta=beta)``.  ``beta=0`` is the L1 loss of
    :class:`AbsCriterion`.  scikit-learn's ``HuberRegressor`` is a different
    parametrisation: its ``epsilon`` (default 1.35) is a threshold on the residual
    *divided by a scale* ``sigma`` that it fits jointly, so it corresponds to
    ``beta = epsilon * sigma`` here only for a known ``sigma``.

    Parameters
    ----------
    beta : float, default=1.0
        Where the loss turns from quadratic to linear, ``>= 0``.
    average_outputs : bool, default=False
        Also average over the output columns (``True`` with a batch average is
        PyTorch's default ``reduction='mean'``).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> crit = nn.SmoothL1Criterion(beta=1.0)
    >>> crit.forward(np.array([[0.5], [3.0]]), np.zeros((2, 1)))  # (0.125 + 2.5) / 2
    1.3125
    """

    def __init__(self, beta=1.0, average_outputs=False):
        super().__init__(average_outputs)
        self.beta = check_real("beta", beta, 0.0)

    def __repr__(self):
        return f"nn.SmoothL1Criterion(beta={self.beta:g})"

    def _loss_grad(self, d):
        if self.beta == 0:
            return AbsCriterion._loss_grad(self, d)
        beta = d.dtype.type(self.beta)
        a = np.abs(d)
        # with m = min(|d|, beta): l = m (|d| - m / 2) / beta, both branches at once
        m = np.minimum(a, beta)
        a -= 0.5 * m
        a *= m
        a /= beta
        d /= beta
        return a, np.clip(d, -1, 1, out=d)


class ClassNLLCriterion(_LabelSmoothing, Criterion):
    """Negative log-likelihood of log-probabilities: ``L = -a_y`` (use after ``LogSoftmax``).

    The gradient is ``-1`` at the target class and ``0`` elsewhere, as in the lecture.
    With label smoothing ``eps`` the target row ``y`` becomes
    ``(1 - eps) y + eps / K`` for ``K`` classes and ``L = -sum_c y_c a_c``, so
    ``LogSoftmax`` followed by this criterion equals
    ``CrossEntropyCriterion(label_smoothing=eps)`` (PyTorch's ``NLLLoss`` has no
    smoothing; this is its ``CrossEntropyLoss`` convention).

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in ``[0, 1]``; ``0`` leaves the targets as they are.
    """

    def forward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        y = _smooth(_onehot(output, target), self.label_smoothing, output.shape[-1])
        if np.isfinite(output).all():
            return -_reduce(y * output, w, total)
        # a -inf log-probability: 0 * -inf at the classes a row does not target is 0
        return -_reduce(_target_dot(y, output)[:, None], w, total)

    def backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        y = _smooth(_onehot(output, target), self.label_smoothing, output.shape[-1])
        grad = -y.astype(output.dtype, copy=True)
        if w is not None:
            grad *= w
        return grad / total


class CrossEntropyCriterion(_LabelSmoothing, Criterion):
    """``LogSoftmax`` and ``ClassNLLCriterion`` fused, on raw scores (logits).

    Numerically stable (log-sum-exp with the row maximum subtracted); its
    gradient is the lecture's ``delta^L = p - y``.

    Label smoothing (Szegedy et al., 2016) is PyTorch's
    ``CrossEntropyLoss(label_smoothing=eps)``: the target row (one-hot, or
    probabilities) becomes ``y' = (1 - eps) y + eps / K`` for ``K`` classes, so
    ``L = (1 - eps) L(y) + eps / K sum_c -log p_c`` and ``delta^L = p - y'``.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in ``[0, 1]``; ``0`` (the default) is the plain cross-entropy,
        bit for bit.
    """

    def forward(self, output, target, sample_weight=None):
        return self.forward_backward(output, target, sample_weight)[0]

    def forward_backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        y = _smooth(_onehot(output, target), self.label_smoothing, output.shape[1])
        fast = output.ndim == 2 and _fast.on() and _fast.fits(output, y)
        if fast:  # the same, in one compiled pass (see _shift_kernel)
            p = _shift_kernel(output, np.empty_like(output))
        else:
            p = output - row_max(output)[:, None]  # z shifted by the row max
        ysum = row_sum(y)
        # loss_i = sum_c y_ic (log sum_c' exp(z_ic') - z_ic)
        yz = np.einsum("ij,ij->i", y, p) if w is not None else np.vdot(y, p)
        if np.isnan(yz).any() and not np.isnan(output).any():  # 0 * -inf: a -inf logit
            yz = _target_dot(y, p) if w is not None else float(_target_dot(y, p).sum())
        np.exp(p, out=p)
        norm = row_sum(p)
        log_norm = np.log(norm)
        if w is None:
            loss = float((np.dot(log_norm, ysum) - yz) / total)
        else:
            log_norm *= ysum
            log_norm -= yz
            loss = float(np.dot(log_norm, w.ravel()) / total)
        # delta^L = p * sum_c y_c - y  (= p - y for one-hot rows)
        np.divide(ysum, norm, out=norm)
        if fast:  # the same, in one compiled pass (see _delta_kernel)
            wv = norm[:0] if w is None else w.reshape(-1)
            _delta_kernel(p, y, norm, wv, w is not None, p.dtype.type(total))
            return loss, p
        p *= norm[:, None]
        p -= y
        if w is not None:
            p *= w
        p /= total
        return loss, p


# -- the fast path (numba, _fast.py) of CrossEntropyCriterion: its element-wise passes
# fused, around numpy's exp, logarithm and row sums (numba's exp is not vectorised
# without Intel's SVML, and the row sums keep numpy's order of additions).  The same
# operations in numpy's order: bit-identical to the numpy code above.


@_fast.kernel
def _shift_kernel(z, p):
    """``p = z - row_max(z)[:, None]`` (a nan in a row propagates, as np.maximum)."""
    n, k = z.shape
    for i in range(n):
        m = z[i, 0]
        for j in range(1, k):
            v = z[i, j]
            if v > m or v != v:
                m = v
        for j in range(k):
            p[i, j] = z[i, j] - m
    return p


@_fast.kernel
def _delta_kernel(p, y, r, w, weighted, total):
    """``delta = (p * r[:, None] - y) [* w] / total`` in place over ``p``."""
    n, k = p.shape
    for i in range(n):
        for j in range(k):
            d = p[i, j] * r[i] - y[i, j]
            if weighted:
                d = d * w[i]
            p[i, j] = d / total


def _binary_targets(crit, output, target):
    return _smooth(_target(output, target), crit.label_smoothing, 2)


class BCECriterion(_LabelSmoothing, Criterion):
    """Binary cross-entropy of probabilities (after ``Sigmoid``), clipped to ``[eps, 1-eps]``.

    ``L = -[y log p + (1 - y) log(1 - p)]``, summed over outputs.

    Label smoothing ``eps`` turns each target ``y`` into ``(1 - eps) y + eps / 2``:
    every output is a two-class problem, and this is what PyTorch's
    ``CrossEntropyLoss(label_smoothing=eps)`` does to the equivalent two-class
    softmax (pytabkit's ``bce_with_logits_and_label_smoothing`` is the same
    loss).  PyTorch's ``BCELoss`` / ``BCEWithLogitsLoss`` have no smoothing.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in ``[0, 1]``; ``0`` leaves the targets as they are.
    """

    def _clip(self, output):
        eps = np.finfo(output.dtype).eps if output.dtype.kind == "f" else 1e-15
        return np.clip(output, eps, 1 - eps)

    def forward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        p = self._clip(output)
        y = _binary_targets(self, output, target)
        return -_reduce(xlogy(y, p) + xlogy(1 - y, 1 - p), w, total)

    def backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        p = self._clip(output)
        y = _binary_targets(self, output, target)
        grad = (p - y) / (p * (1 - p))
        if w is not None:
            grad *= w
        return grad / total


class BCEWithLogitsCriterion(_LabelSmoothing, Criterion):
    """``Sigmoid`` and ``BCECriterion`` fused, on logits; gradient ``sigmoid(z) - y``.

    Label smoothing ``eps`` turns each target ``y`` into ``(1 - eps) y + eps / 2``:
    every output is a two-class problem, and this is what PyTorch's
    ``CrossEntropyLoss(label_smoothing=eps)`` does to the equivalent two-class
    softmax (pytabkit's ``bce_with_logits_and_label_smoothing`` is the same
    loss).  PyTorch's ``BCELoss`` / ``BCEWithLogitsLoss`` have no smoothing.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in ``[0, 1]``; ``0`` leaves the targets as they are.
    """

    def forward(self, output, target, sample_weight=None):
        return self.forward_backward(output, target, sample_weight)[0]

    def forward_backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        y = _binary_targets(self, output, target)
        # log(1 + exp(z)) - y z, written so that it never overflows
        per = np.maximum(output, 0) - output * y + np.log1p(np.exp(-np.abs(output)))
        loss = _reduce(per, w, total)
        grad = expit(output)
        grad -= y
        if w is not None:
            grad *= w
        grad /= total
        return loss, grad


class PoissonNLLCriterion(Criterion):
    """Half Poisson deviance ``y log(y / mu) - y + mu`` (scikit-learn's ``poisson`` loss).

    Parameters
    ----------
    log_input : bool, default=True
        ``True``: ``output`` is the log-rate ``eta`` and ``mu = exp(eta)``
        (the canonical link; gradient ``mu - y``).  ``False``: ``output`` is
        the rate ``mu > 0`` itself.
    """

    def __init__(self, log_input=True):
        self.log_input = bool(log_input)

    def forward(self, output, target, sample_weight=None):
        return self.forward_backward(output, target, sample_weight)[0]

    def forward_backward(self, output, target, sample_weight=None):
        w, total = _weights(output, sample_weight)
        y = _target(output, target)
        if self.log_input:
            mu = np.exp(output)
            per = xlogy(y, y) - y * output - y + mu
            grad = mu - y
        else:
            mu = output
            per = xlogy(y, y / mu) - y + mu
            grad = 1 - y / mu
        loss = _reduce(per, w, total)
        if w is not None:
            grad *= w
        grad /= total
        return loss, grad
