"""Bagging ensembles of networks (Breiman, 1994): :class:`BaggingMixin`.

The estimators that bag mix :class:`BaggingMixin` in before the shared base,
which knows nothing of ``n_estimators`` or ``estimators_``.  With
``n_estimators > 1`` the estimator trains that many copies of itself
(``n_estimators=1``), each on a resample of the rows, through the same
single-network training as any estimator, and averages them: probabilities for
classifiers (soft vote), predictions for regressors.

The member protocol -- all that this module asks of an estimator:

- ``clone(est)`` with ``n_estimators=1`` is a member; a member has
  ``_fit_network(data, incremental, first_pass)``, which trains its one network
  on a ``TrainingData`` whose targets are already encoded, and
  ``_raw_predict(X)``, its network's outputs for validated ``X``;
- ``est._data_state()`` is what validation learnt from the data (``classes_``,
  ``n_features_in_`` ...): each mixin adds its own, and members get a copy;
- the ensemble has ``_decode(raw)`` and ``_score_function``
  (and, for classifiers, ``_proba(raw)``) to turn averaged outputs into
  predictions and out-of-bag scores.

Choices, documented in ``docs/regularisation.rst``:

- Targets are encoded once on the full data, so every member knows every class
  even when its resample misses one.
- Member ``i`` has its own ``numpy.random.SeedSequence`` (child ``i`` of one
  seeded by the estimator's ``random_state``), which spawns two independent
  streams: one draws the member's rows (and its online-bagging weights), the
  other its ``random_state`` (initialisation, shuffling, dropout).  Results do
  not depend on ``n_jobs``, and growing ``n_estimators`` with ``warm_start``
  keeps the old members.
- ``sample_weight`` rides along with the drawn rows (a row drawn twice counts
  twice, with its weight each time); class weights are folded in once.
- Early stopping in a member validates on that member's out-of-bag rows (when
  there are at least two), instead of carving a further split out of its resample.
- ``partial_fit`` is online bagging (Oza & Russell, 2001): each member sees the
  batch with Poisson(1) row weights.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.parallel import Parallel, delayed  # workers get our warning filters
from threadpoolctl import threadpool_limits

from ._fitting import TrainingData
from ._sklearn_callbacks import listening
from ._training.plan import MAX_SEED, ValidationSet

__all__ = ["BaggingMixin"]

#: fitted attributes of a single network, which a bagged model keeps per member
NETWORK_ATTRS = ("model_", "module_", "coefs_", "intercepts_")
#: what a single-network fit leaves on the estimator, which an ensemble keeps per member
_SINGLE_NETWORK_ATTRS = (
    *NETWORK_ATTRS, "_optimizer", "_schedule", "_stopping", "controls_", "_controls_given"
)
#: what an ensemble fit leaves, which a single-network fit drops
_ENSEMBLE_ATTRS = ("estimators_", "estimators_samples_", "oob_score_")
#: the spawn keys under a member's seed: its rows, its random_state
_ROWS, _INIT = 0, 1


class BaggingMixin:
    """``n_estimators`` members averaged: the estimators that bag mix this in first."""

    _bagging_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean"],
        "n_jobs": [None, Integral],
    }

    def _is_fitted(self):
        return "estimators_" in self.__dict__ or super()._is_fitted()

    def _train(self, data, incremental, first_pass):
        if self.n_estimators > 1:
            train_ensemble(self, data, incremental, first_pass)
            return
        for name in _ENSEMBLE_ATTRS:
            self.__dict__.pop(name, None)  # left over from an ensemble fit
        super()._train(data, incremental, first_pass)

    def _raw_predict(self, X):
        if "estimators_" in self.__dict__:
            return np.mean([m._raw_predict(X) for m in self.estimators_], axis=0)
        return super()._raw_predict(X)

    def _check_fitted(self):
        if "estimators_" not in self.__dict__:
            super()._check_fitted()

    def __getattr__(self, name):
        # only called for missing attributes: point a bagged model's user to its members
        if name in NETWORK_ATTRS and "estimators_" in self.__dict__:
            raise AttributeError(
                f"This bagged {type(self).__name__} (n_estimators="
                f"{self.__dict__.get('n_estimators')}) has no attribute {name!r}: each "
                f"member has its own network, in estimators_[i].{name}."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _member_seeds(random_state, n):
    """Member ``i``'s ``SeedSequence``: child ``i`` of one seeded by ``random_state``.

    Children are keyed by their index, so member ``i``'s streams do not depend
    on how many members there are (warm starts that grow the ensemble).
    """
    entropy = int(check_random_state(random_state).randint(MAX_SEED))
    return [np.random.SeedSequence(entropy, spawn_key=(i,)) for i in range(n)]


def _stream(seed, *key):
    """The independent stream ``key`` under a member's ``SeedSequence``."""
    return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + key)


def _member_random_state(seed):
    """The member's ``random_state``: an int from its initialisation stream."""
    return int(_stream(seed, _INIT).generate_state(1)[0] % MAX_SEED)


def _n_draw(est, n_samples):
    if isinstance(est.max_samples, float):
        return max(1, int(round(est.max_samples * n_samples)))
    if est.max_samples > n_samples:
        raise ValueError(f"max_samples must be <= n_samples={n_samples}, got {est.max_samples}.")
    return int(est.max_samples)


def _draw_rows(est, seed, n_samples):
    rng = np.random.default_rng(_stream(seed, _ROWS))
    n = _n_draw(est, n_samples)
    if est.bootstrap:
        return np.sort(rng.integers(0, n_samples, n))
    return np.sort(rng.permutation(n_samples)[:n])


def _new_member(est, seed):
    member = clone(est).set_params(
        n_estimators=1,
        oob_score=False,
        n_jobs=None,
        warm_start=False,
        random_state=_member_random_state(seed),
    )
    if "class_weight" in member.get_params():
        member.set_params(class_weight=None)  # already folded into the sample weights
    member.__dict__.pop("_skl_callbacks", None)  # the ensemble reports, not each member
    # what validation learnt from the data: members are never validated themselves
    member.__dict__.update(est._data_state())
    return member


def _train_member(member, X, Y, y, sw, rows, val, first_pass, incremental):
    """Fit one member on ``rows`` of the data (all of it when ``rows`` is None)."""
    if rows is not None:
        X, Y, y = _safe_indexing(X, rows), Y[rows], _safe_indexing(y, rows)
        sw = None if sw is None else sw[rows]
    member._random_state = check_random_state(member.random_state)
    member._fit_network(TrainingData(X, Y, y, sw, val), incremental, first_pass)
    return member


def _train_members(X, Y, y, jobs, blas_threads):
    """One worker's share of the members, with BLAS capped so workers share the cores."""
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return [_train_member(m, X, Y, y, sw, *rest) for m, sw, *rest in jobs]


def _run(est, X, Y, y, jobs):
    """Train the members serially, or in ``n_jobs`` joblib workers.

    As scikit-learn's bagging, each worker gets one contiguous share of the
    members (one task, one copy of the data, one BLAS set-up), and the members
    come back in order.  Callbacks (``sklearn.callback``) see one task per
    member; trained serially, a member's epochs are nested inside its task.
    """
    root = _ensemble_task(est, X, y, len(jobs))
    n_workers = min(effective_n_jobs(est.n_jobs), len(jobs))
    if n_workers <= 1:
        members = [_reported(root, est, X, Y, y, job) for job in jobs]
    else:
        blas = max(1, (os.cpu_count() or 1) // n_workers)
        bounds = np.linspace(0, len(jobs), n_workers + 1).astype(int)
        shares = Parallel(n_jobs=n_workers)(
            delayed(_train_members)(X, Y, y, jobs[a:b], blas) for a, b in zip(bounds, bounds[1:])
        )
        members = [member for share in shares for member in share]
        for _ in members if root is not None else ():
            # the workers' progress is not seen here: one task per member, as it returns
            sub = root.subcontext(task_name="member")
            sub.call_on_fit_task_begin(estimator=est, X=X, y=y)
            sub.call_on_fit_task_end(estimator=est, X=X, y=y)
    if root is not None:
        root.call_on_fit_task_end(estimator=est, X=X, y=y)
    return members


def _ensemble_task(est, X, y, n_members):
    """The ensemble's root callback task (``None`` when no callback listens)."""
    if not listening(est):
        return None
    root = est._init_callback_context(max_subtasks=n_members)
    root.call_on_fit_task_begin(estimator=est, X=X, y=y)
    return root


def _reported(root, est, X, Y, y, job):
    """Train one member inside its own callback task (nested in the ensemble's)."""
    member, sw, *rest = job
    if root is None:
        return _train_member(member, X, Y, y, sw, *rest)
    sub = root.subcontext(task_name="member")
    with sub.propagate_callback_context(member):
        sub.call_on_fit_task_begin(estimator=est, X=X, y=y)
        _train_member(member, X, Y, y, sw, *rest)
        sub.call_on_fit_task_end(estimator=est, X=X, y=y)
    for name in ("_callback_fit_ctx", "_skl_callbacks_to_teardown"):
        member.__dict__.pop(name, None)  # the member's context ends with its task
    return member


def train_ensemble(est, data, incremental, first_pass):
    """Train (or continue training) the members of ``est``; set the ensemble attributes."""
    X, Y, y, sample_weight, val = data
    for name in _SINGLE_NETWORK_ATTRS:
        est.__dict__.pop(name, None)
    n_samples = X.shape[0]
    existing = [] if first_pass else list(getattr(est, "estimators_", []))
    if len(existing) > est.n_estimators:
        raise ValueError(
            f"n_estimators={est.n_estimators} must be larger or equal to "
            f"len(estimators_)={len(existing)} when warm_start==True"
        )
    seeds = _member_seeds(est.random_state, est.n_estimators)
    if incremental:
        jobs = _online_jobs(est, X, Y, y, sample_weight, existing, seeds)
        samples = list(getattr(est, "estimators_samples_", [None] * len(jobs)))
        samples += [None] * (len(jobs) - len(samples))
    else:
        jobs, samples = [], []
        for i, seed in enumerate(seeds):
            if i < len(existing):  # warm start: continue the member on its own rows
                member, rows = existing[i], est.estimators_samples_[i]
                _sync_member(est, member)
                member.set_params(warm_start=True)
            else:
                member, rows = _new_member(est, seed), _draw_rows(est, seed, n_samples)
            member_val = val
            if member_val is None:
                member_val = _oob_validation(est, X, Y, y, sample_weight, rows)
            if member_val is None and est.early_stopping and not _can_split(est, Y, rows):
                # too few rows out of the bag and in it to hold any out (a table of a
                # few rows): this member trains for its whole schedule
                member.set_params(early_stopping=False)
            jobs.append((member, sample_weight, rows, member_val, i >= len(existing), False))
            samples.append(rows)
    est.estimators_ = _run(est, X, Y, y, jobs)
    est.estimators_samples_ = samples
    _aggregate(est)
    if est.oob_score and not incremental:
        _oob_score(est, X, y)


#: the ensemble's parameters that a member does not share
_OWN_PARAMS = frozenset(
    ("n_estimators", "oob_score", "n_jobs", "warm_start", "random_state", "class_weight",
     "max_samples", "bootstrap")
)  # fmt: skip


def _sync_member(est, member):
    """Give a member that training continues the ensemble's current hyperparameters
    (``set_params`` on the ensemble between a fit and a warm start / ``partial_fit``)."""
    own = member.get_params(deep=False)
    shared = est.get_params(deep=False)
    member.set_params(**{k: v for k, v in shared.items() if k in own and k not in _OWN_PARAMS})
    return member


def _can_split(est, Y, rows):
    """Whether a member's own rows can hold out ``validation_fraction`` of them: at
    least 2 held out, 1 left, and, stratified, every class twice and in each part."""
    n = Y.shape[0] if rows is None else len(rows)
    n_val = int(np.ceil(n * est.validation_fraction))
    if n_val < 2 or n - n_val < 1:
        return False
    if is_classifier(est) and Y.shape[1] == 1:  # as _fitting's _hold_out stratifies
        counts = np.unique(Y if rows is None else Y[rows], return_counts=True)[1]
        return counts.min() >= 2 and min(n_val, n - n_val) >= len(counts)
    return True


def _oob_validation(est, X, Y, y, sample_weight, rows):
    """A member's out-of-bag rows as its validation set, encoded (rows of ``Y``)."""
    if not est.early_stopping:
        return None
    oob = np.setdiff1d(np.arange(X.shape[0]), rows)
    if len(oob) < 2:
        return None  # too few out-of-bag rows: the member splits its own resample
    sw = None if sample_weight is None else sample_weight[oob]
    if sw is not None and not np.any(sw):
        return None  # out-of-bag rows that all weigh 0 measure nothing: as too few rows
    Y_oob = Y[oob].astype(X.dtype, copy=False).reshape(len(oob), -1)
    return ValidationSet(_safe_indexing(X, oob), Y_oob, _safe_indexing(y, oob), sw)


def _online_jobs(est, X, Y, y, sample_weight, existing, seeds):
    """Online bagging: each member sees the batch with Poisson(1) row weights."""
    est._n_partial_fits = getattr(est, "_n_partial_fits", 0) + 1
    base = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    jobs = []
    for i, seed in enumerate(seeds):
        first = i >= len(existing)
        member = _new_member(est, seed) if first else _sync_member(est, existing[i])
        rng = np.random.default_rng(_stream(seed, _ROWS, est._n_partial_fits))
        w = base * rng.poisson(1.0, X.shape[0])
        if w.sum() == 0:
            w = base  # an all-zero draw would leave the member untrained
        jobs.append((member, w, None, None, first, True))
    return jobs


def _aggregate(est):
    """Ensemble-level versions of the per-network fitted attributes."""
    members = est.estimators_
    first = members[0]
    for name in ("n_outputs_", "n_layers_", "out_activation_"):
        setattr(est, name, getattr(first, name))
    est.n_iter_ = max(m.n_iter_ for m in members)
    est.t_ = sum(m.t_ for m in members)
    est.loss_ = float(np.mean([m.loss_ for m in members]))
    length = min(len(m.loss_curve_) for m in members)
    est.loss_curve_ = list(np.mean([m.loss_curve_[:length] for m in members], axis=0))
    est.diverged_ = any(m.diverged_ for m in members)
    # per member: estimators_[i].validation_scores_ / validation_loss_curve_
    est.validation_scores_ = est.validation_loss_curve_ = None
    # the mean over the members that have the value (a member of a table too small to
    # hold rows out trained without validation)
    for name in ("best_loss_", "best_validation_score_", "best_validation_loss_"):
        values = [v for v in (getattr(m, name, None) for m in members) if v is not None]
        setattr(est, name, float(np.mean(values)) if values else None)


def _oob_score(est, X, y):
    sums, counts = None, np.zeros(X.shape[0])
    for member, rows in zip(est.estimators_, est.estimators_samples_):
        oob = np.setdiff1d(np.arange(X.shape[0]), rows)
        if len(oob) == 0:
            continue
        raw = member._raw_predict(_safe_indexing(X, oob))
        if sums is None:
            sums = np.zeros((X.shape[0], raw.shape[1]))
        sums[oob] += raw
        counts[oob] += 1
    if sums is None or not counts.any():
        raise ValueError(
            "oob_score needs rows left out by some member, but every member saw every "
            f"row (n_samples={X.shape[0]})."
        )
    seen = counts > 0
    if not seen.all():
        warnings.warn(
            "Some inputs do not have OOB scores. This probably means too few "
            "estimators were used to compute any reliable oob estimates."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        oob_raw = sums / counts[:, None]
    y_seen = _safe_indexing(y, np.flatnonzero(seen))
    pred = est._decode(oob_raw[seen])
    est.oob_score_ = float(est._score_function(y_seen, pred))
    if is_classifier(est):
        seen_proba = est._proba(oob_raw[seen])
        proba = np.full((oob_raw.shape[0], seen_proba.shape[1]), np.nan)
        proba[seen] = seen_proba
        est.oob_decision_function_ = proba
    else:
        est.oob_prediction_ = oob_raw.ravel() if oob_raw.shape[1] == 1 else oob_raw
