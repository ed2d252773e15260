"""Solver names -> the ``nn`` optimizers that update the flat parameter vector."""

from .. import nn

__all__ = ["STOCHASTIC_SOLVERS", "make_optimizer"]

#: the solvers trained by the minibatch loop (every other solver is L-BFGS)
STOCHASTIC_SOLVERS = ("sgd", "adam")


def make_optimizer(est, flat_p):
    """The optimizer of ``est.solver`` over ``flat_p``, with the estimator's settings."""
    schedule = est.learning_rate
    if est.solver == "sgd":
        return nn.SGD(
            [flat_p],
            est.learning_rate_init,
            schedule,
            est.momentum,
            est.nesterovs_momentum,
            est.power_t,
        )
    return nn.Adam(
        [flat_p],
        est.learning_rate_init,
        est.beta_1,
        est.beta_2,
        est.epsilon,
        lr_schedule=schedule if est.schedule_adam else "constant",
        power_t=est.power_t,
    )
