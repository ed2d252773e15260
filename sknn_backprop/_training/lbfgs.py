"""L-BFGS: scipy's ``L-BFGS-B`` on the :class:`~.objective.Objective` of the other solvers.

The whole training set is one batch; scipy sees the flat parameter vector
(float64) and the objective writes its gradient into the network's flat
gradient vector.  Each iteration is one progress task and ends with the
controls' ``on_epoch_end`` / ``should_stop`` (the built-in ones -- early
stopping, clipping, max-norm -- apply to the stochastic solvers only).

For the user's controls, L-BFGS differs from the minibatch loop in three ways:
``after_gradient`` runs after every loss-and-gradient evaluation of scipy's
line search (not once per iteration), ``after_step`` is never called, and
scipy keeps its own copy of the parameters, so a control that changes
``state.flat_p`` changes nothing.  Ctrl-C propagates out of scipy without
``on_train_end``; the fit is rolled back.
"""

import numpy as np
import scipy.optimize

from .controls import TrainingState

try:  # scikit-learn >= 1.6 reports L-BFGS's outcome the same way for every estimator
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover
    _check_optimize_result = None
try:
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover

    def _get_additional_lbfgs_options_dict(key, value):
        return {key: value}


__all__ = ["fit_lbfgs"]


def fit_lbfgs(est, data, flat_p, flat_g, reporter):
    """Minimise the objective over ``data`` with L-BFGS-B, in place in ``flat_p``."""
    X, Y, _, sample_weight, _ = data
    objective = est._objective(flat_p, flat_g)
    X = est._prepare_X(X)
    controls = est.controls_
    state = TrainingState(est, flat_p, flat_g)
    for control in controls:
        control.on_train_begin(state)
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
        for control in controls:
            control.on_epoch_end(state)
        if reporter.end() or state.stopped or any(c.should_stop(state) for c in controls):
            stopped.append(True)
            raise StopIteration  # asked to stop (scipy >= 1.11)
        state.epoch += 1
        if state.epoch < est.max_iter:  # scipy stops after max_iter: no task beyond it
            reporter.begin("lbfgs-iter")

    reporter.begin("lbfgs-iter")
    iprint = 1 if (est.verbose is True or est.verbose >= 1) else -1
    opt_res = scipy.optimize.minimize(
        fun,
        flat_p.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={
            "maxfun": est.max_fun,
            "maxiter": est.max_iter,
            "gtol": est.tol,
            **_get_additional_lbfgs_options_dict("iprint", iprint),
        },
    )
    if stopped:  # asked to stop by a callback: not a convergence failure
        est.n_iter_ = opt_res.nit
    elif _check_optimize_result is not None:
        est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
    else:  # pragma: no cover
        est.n_iter_ = opt_res.nit
    est.loss_ = float(opt_res.fun)
    this_call = curve[start:]
    est.best_loss_ = min(this_call) if this_call else est.loss_
    np.copyto(flat_p, opt_res.x, casting="unsafe")
    for control in controls:
        control.on_train_end(state)
