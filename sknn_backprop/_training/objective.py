"""The objective every solver minimises: loss + penalties, with sample weights.

``J(W) = sum_i s_i L(y_i, f(x_i; W)) / sum_i s_i + alpha * P(W) / sum_i s_i``

where ``s_i`` are the sample weights (class weights folded in), ``L`` the
criterion and ``P`` the elastic-net penalty on the weights (never the biases;
AdamW applies its L2 share as decoupled decay instead, see :mod:`.solvers`).
``nn.L1Penalty`` modules in the network (``activity_l1``) add their penalty on
the activations, ``lambda * sum_ij |a_ij| / n``, to the reported loss; its
gradient they add themselves on the way back.
With ``adversarial_eps > 0`` the loss term is Goodfellow et al.'s FGSM mixture
``(J(x) + J(x + eps sign(dJ/dx))) / 2``.  Every solver (L-BFGS too) calls the same
:class:`Objective`, so the formula lives in one place.
"""

import numpy as np

from ..nn import L1Penalty

__all__ = ["Objective", "PENALTY_BLOCK"]

#: elements per block of the weight penalty's pass (fits in L2 cache)
PENALTY_BLOCK = 16384


class Objective:
    """Loss and gradient of one batch, written into the flat gradient vector.

    Parameters
    ----------
    net : nn.Module
        The part of the network that training runs forward and backward through.
    criterion : nn.Criterion
        The loss of the network's output.
    flat_p, flat_g : ndarray
        The flat parameter and gradient vectors (``get_parameters(penalized_first=True)``):
        the first ``n_penalized`` entries are the weights.
    n_penalized : int
        How many leading entries of ``flat_p`` the penalty applies to.
    alpha, l1_ratio : float
        Strength and L1 share of the elastic-net penalty.
    adversarial_eps : float
        FGSM step; 0 trains on the clean inputs only.
    """

    def __init__(
        self, net, criterion, flat_p, flat_g, n_penalized, alpha, l1_ratio, adversarial_eps
    ):
        self.net, self.criterion = net, criterion
        self.flat_p, self.flat_g = flat_p, flat_g
        self.n_penalized = n_penalized
        self.alpha, self.l1_ratio = alpha, l1_ratio
        self.adversarial_eps = adversarial_eps
        self.activity = net.find_modules(L1Penalty)

    def __call__(self, xb, yb, swb):
        """Forward, criterion, backward and penalty for one batch; return the loss.

        The gradient of the returned loss is left in ``flat_g``.
        """
        net, criterion = self.net, self.criterion
        net.zero_grad_parameters(lazy=True)  # backward overwrites the gradients
        sw_sum = xb.shape[0] if swb is None else (float(swb.sum()) or 1.0)
        eps = self.adversarial_eps
        out = net.forward(xb)
        loss, delta = criterion.forward_backward(out, yb, swb)
        loss += self.activity_loss()
        if eps > 0:
            # FGSM (Goodfellow et al.): J = (J(x) + J(x + eps sign(dJ/dx))) / 2
            grad_x = net.backward(xb, delta, scale=0.5)
            x_adv = np.asarray(xb + eps * np.sign(grad_x), dtype=self.flat_p.dtype)
            out = net.forward(x_adv)
            loss_adv, delta = criterion.forward_backward(out, yb, swb)
            loss_adv += self.activity_loss()
            net.backward(x_adv, delta, scale=0.5, need_input_grad=False)
            loss = 0.5 * (loss + loss_adv)
        else:
            net.backward(xb, delta, need_input_grad=False)
        loss += self.penalty(sw_sum)
        return loss

    def activity_loss(self):
        """The activity penalties of the last forward (``nn.L1Penalty.loss``), summed."""
        return sum(m.loss for m in self.activity) if self.activity else 0.0

    def penalty(self, sw_sum):
        """Add the elastic-net penalty's gradient to ``flat_g``; return its loss.

        ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * ||W||^2) / sw_sum`` on
        weights only (never biases), as scikit-learn's L2 term when ``l1_ratio=0``.
        """
        if self.alpha == 0:
            return 0.0
        n = self.n_penalized
        w, gw = self.flat_p[:n], self.flat_g[:n]
        l2 = self.alpha * (1 - self.l1_ratio) / sw_sum
        loss = 0.0
        if l2:
            loss = 0.5 * l2 * _add_l2_gradient(w, gw, l2)
        if self.l1_ratio > 0:
            l1 = self.alpha * self.l1_ratio / sw_sum
            loss += l1 * float(np.abs(w).sum())
            gw += l1 * np.sign(w)
        return loss


def _add_l2_gradient(w, gw, l2):
    """``gw += l2 * w``; return ``||w||^2``.

    The plain formula in cache-sized blocks, so ``w`` is read from memory once
    (numpy, not scipy.linalg.blas: SciPy ships its own OpenBLAS, whose thread
    pool spins against numpy's when the two alternate).
    """
    tmp = np.empty(min(w.size, PENALTY_BLOCK), dtype=w.dtype)
    sq = 0.0
    for start in range(0, w.size, PENALTY_BLOCK):
        wb, gb = w[start : start + PENALTY_BLOCK], gw[start : start + PENALTY_BLOCK]
        sq += float(np.dot(wb, wb))
        tb = np.multiply(wb, l2, out=tmp[: wb.size])
        gb += tb
    return sq
