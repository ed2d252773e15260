"""Solver names -> the ``nn`` optimizers that update the flat parameter vector.

Which estimator hyperparameters each stochastic solver reads:

============  ==============================================================
``sgd``       ``learning_rate_init``, ``momentum``, ``nesterovs_momentum``
``adam``      ``learning_rate_init``, ``beta_1``, ``beta_2``, ``epsilon``
``adamw``     as ``adam``, plus the L2 share of ``alpha`` as decoupled decay
``rmsprop``   ``learning_rate_init``, ``rho``, ``epsilon``
``adagrad``   ``learning_rate_init``, ``epsilon``
``adadelta``  ``learning_rate_init`` (the paper's step is 1), ``rho``, ``epsilon``
============  ==============================================================

``learning_rate`` (with ``power_t``) schedules 'sgd' always and the adaptive
solvers (every other one) only with ``schedule_adam=True``, as scikit-learn keeps
Adam's step constant.

AdamW's weight decay is the L2 part of the penalty, ``alpha * (1 - l1_ratio)``,
applied as ``w <- (1 - lr * decay) w`` to the penalised weights only (the first
``n_penalized`` entries of the flat vector); :func:`objective_penalty` takes it out
of the objective so it is not applied twice.  Unlike the objective's L2 term it is
not divided by the number of samples (PyTorch's ``weight_decay``).
"""

from .. import nn
from .schedules import AdaptiveRate, InvScaling

__all__ = ["STOCHASTIC_SOLVERS", "make_optimizer", "objective_penalty", "schedule_controls"]

#: the solvers trained by the minibatch loop (every other solver is L-BFGS)
STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")


def objective_penalty(est):
    """``(alpha, l1_ratio)`` of the objective's elastic-net term for ``est.solver``.

    AdamW decays the weights itself: only the L1 share stays in the objective.
    """
    if est.solver == "adamw":
        return est.alpha * est.l1_ratio, 1.0
    return est.alpha, est.l1_ratio


def make_optimizer(est, flat_p, n_penalized):
    """The optimizer of ``est.solver`` over ``flat_p``, with the estimator's settings.

    ``n_penalized``: how many leading entries of ``flat_p`` are weights (AdamW's decay).
    """
    lr, solver = est.learning_rate_init, est.solver
    if solver == "sgd":
        return nn.SGD([flat_p], lr, est.momentum, est.nesterovs_momentum)
    if solver == "adam":
        return nn.Adam([flat_p], lr, est.beta_1, est.beta_2, est.epsilon)
    if solver == "adamw":
        decay = est.alpha * (1 - est.l1_ratio)
        return nn.AdamW([flat_p], lr, est.beta_1, est.beta_2, est.epsilon, decay, n_penalized)
    if solver == "rmsprop":
        return nn.RMSprop([flat_p], lr, est.rho, est.epsilon)
    if solver == "adagrad":
        return nn.Adagrad([flat_p], lr, est.epsilon)
    return nn.Adadelta([flat_p], lr, est.rho, est.epsilon)


def schedule_controls(est):
    """The learning-rate schedule of ``est.learning_rate``, as controls (:mod:`.schedules`).

    'sgd' follows ``learning_rate`` always, the adaptive solvers only with
    ``schedule_adam=True`` (scikit-learn keeps Adam's step constant).
    """
    schedule = est.learning_rate if (est.solver == "sgd" or est.schedule_adam) else "constant"
    if schedule == "invscaling":
        return [InvScaling(est.power_t)]
    if schedule == "adaptive":
        return [AdaptiveRate()]
    return []
