"""``coefs_`` / ``intercepts_``: scikit-learn's weight lists as views of the network.

Every estimator's ``coefs_[i]`` / ``intercepts_[i]`` are views (``weight.T``,
``bias``) of the ``Linear`` layers of ``model_``, so the two never disagree; a
user who assigns arrays to (or into) them sets the model's weights, as with
scikit-learn's MLP.  Pickles hold the weights once.
"""

import numpy as np

from . import nn

__all__ = ["WeightViewsMixin"]


class WeightViewsMixin:
    """``coefs_`` / ``intercepts_`` kept as views of ``model_``'s ``Linear`` weights."""

    def _refresh_views(self):
        """``coefs_`` / ``intercepts_``: scikit-learn-layout views of the ``Linear`` weights."""
        linears = self.model_.find_modules(nn.Linear)
        self.coefs_ = _Views(m.weight.T for m in linears)
        self.intercepts_ = _Views(m.bias for m in linears)

    def _sync_from_views(self):
        """Copy user-assigned ``coefs_`` / ``intercepts_`` into the network.

        As scikit-learn's MLP, arrays assigned to (or into) ``coefs_`` and
        ``intercepts_`` are the model's weights for ``predict``, warm starts and
        ``partial_fit``.  Unchanged views cost a few identity checks.
        """
        if self._views_current():
            return
        coefs, intercepts = self.__dict__.get("coefs_"), self.__dict__.get("intercepts_")
        if coefs is None or intercepts is None:  # deleted: the network's own weights
            self._refresh_views()
            return
        linears = self.model_.find_modules(nn.Linear)
        if len(coefs) != len(linears) or len(intercepts) != len(linears):
            raise ValueError(
                f"coefs_ and intercepts_ must hold one array per layer ({len(linears)}), "
                f"got {len(coefs)} and {len(intercepts)}."
            )
        for i, (m, coef, intercept) in enumerate(zip(linears, coefs, intercepts)):
            coef, intercept = np.asarray(coef), np.asarray(intercept).reshape(-1)
            if coef.shape != m.weight.T.shape or intercept.shape != m.bias.shape:
                raise ValueError(
                    f"coefs_[{i}] must have shape {m.weight.T.shape} and intercepts_[{i}] "
                    f"shape {m.bias.shape}, got {coef.shape} and {intercept.shape}."
                )
            if not np.shares_memory(m.weight, coef):
                m.weight[...] = coef.T
            if not np.shares_memory(m.bias, intercept):
                m.bias[...] = intercept
        self._refresh_views()

    def _views_current(self):
        """Whether ``coefs_`` / ``intercepts_`` are still the lists of the network's views."""
        d = self.__dict__
        coefs, intercepts = d.get("coefs_"), d.get("intercepts_")
        return (
            type(coefs) is _Views
            and type(intercepts) is _Views
            and not (coefs.changed or intercepts.changed)
        )

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: Python >= 3.11 returns __dict__ itself
        if self._views_current():
            # coefs_/intercepts_ are views of model_'s weights: pickle the weights once
            for name in ("coefs_", "intercepts_", "_views"):  # (_views: older pickles)
                state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state and "coefs_" not in state:
            self._refresh_views()


class _Views(list):
    """The list of ``coefs_`` / ``intercepts_``: the network's weight views, as built.

    Replacing the list, or an item of it, is how a user assigns weights; this
    list notes any change to its items (``changed``), so that checking for an
    assignment before each prediction costs two attribute reads.  It pickles
    and copies as the plain list it holds.
    """

    changed = False

    def __reduce__(self):
        return (list, (list(self),))


def _noting_change(name):
    """``list.<name>`` that first marks the list as changed."""
    method = getattr(list, name)

    def changing(self, *args):
        self.changed = True
        return method(self, *args)

    changing.__name__ = name
    return changing


for _name in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):  # fmt: skip
    setattr(_Views, _name, _noting_change(_name))
del _name
