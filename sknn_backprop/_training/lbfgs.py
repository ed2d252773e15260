"""L-BFGS: scipy's ``L-BFGS-B`` on the :class:`~.objective.Objective` of the other solvers.

The whole training set is one batch; scipy sees the flat parameter vector
(float64) and the objective writes its gradient into the network's flat
gradient vector.  Each iteration is one epoch for the controls: the same
``on_epoch_begin`` / ``on_epoch_end`` / ``should_stop`` sequence as the minibatch
loop (:func:`~.controls.end_epoch`), so progress reporting and the user's
controls run the same way for every solver.

For the controls, L-BFGS differs from the minibatch loop in three ways:
``after_gradient`` runs after every loss-and-gradient evaluation of scipy's
line search (not once per iteration), ``after_step`` is never called, and
scipy keeps its own copy of the parameters, so a control that changes
``state.flat_p`` changes nothing.  Ctrl-C propagates out of scipy without
``on_train_end``; the fit is rolled back.
"""

import numpy as np
import scipy.optimize

from .controls import TrainingState, end_epoch

try:  # scikit-learn >= 1.6 reports L-BFGS's outcome the same way for every estimator
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover
    _check_optimize_result = None
try:
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover

    def _get_additional_lbfgs_options_dict(key, value):
        return {key: value}


__all__ = ["train_lbfgs"]


def train_lbfgs(plan, estimator, X, Y, sample_weight=None):
    """Minimise ``plan.objective`` over ``(X, Y)`` with L-BFGS-B, in place in ``plan.flat_p``.

    Keeps ``estimator``'s ``loss_curve_``, ``loss_``, ``n_iter_`` current and sets
    ``best_loss_``; returns the call's :class:`~.controls.TrainingState`.
    """
    flat_p, flat_g, objective = plan.flat_p, plan.flat_g, plan.objective
    X = plan.prepare_X(X)
    state = TrainingState(estimator, flat_p, flat_g, controls=plan.controls)
    controls = state.controls
    for control in controls:
        control.on_train_begin(state)
    est = estimator
    est.loss_curve_ = getattr(est, "loss_curve_", None) or []
    curve, stopped = est.loss_curve_, []
    start = len(curve)

    def fun(w):
        np.copyto(flat_p, w, casting="unsafe")
        loss = objective(X, Y, sample_weight)
        for control in controls:
            control.after_gradient(state)
        return loss, flat_g.astype(np.float64)

    def callback(intermediate_result):
        curve.append(float(intermediate_result.fun))  # loss_curve_, kept current
        np.copyto(flat_p, intermediate_result.x, casting="unsafe")
        est.loss_, est.n_iter_ = curve[-1], len(curve) - start  # what the controls read
        if end_epoch(state):
            stopped.append(True)
            raise StopIteration  # asked to stop (scipy >= 1.11)
        state.epoch += 1
        if state.epoch < plan.max_iter:  # scipy stops after max_iter: no epoch beyond it
            for control in controls:
                control.on_epoch_begin(state)

    for control in controls:
        control.on_epoch_begin(state)
    opt_res = scipy.optimize.minimize(
        fun,
        flat_p.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={
            "maxfun": plan.max_fun,
            "maxiter": plan.max_iter,
            "gtol": plan.tol,
            **_get_additional_lbfgs_options_dict("iprint", plan.iprint),
        },
    )
    if stopped:  # asked to stop by a control: not a convergence failure
        est.n_iter_ = opt_res.nit
    elif _check_optimize_result is not None:
        est.n_iter_ = _check_optimize_result("lbfgs", opt_res, plan.max_iter)
    else:  # pragma: no cover
        est.n_iter_ = opt_res.nit
    est.loss_ = float(opt_res.fun)
    this_call = curve[start:]
    est.best_loss_ = min(this_call) if this_call else est.loss_
    np.copyto(flat_p, opt_res.x, casting="unsafe")
    for control in controls:
        control.on_train_end(state)
    return state
