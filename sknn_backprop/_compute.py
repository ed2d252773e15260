"""The compute policy: how many BLAS threads training uses, and prediction in chunks.

Neither changes a number: threads only where every matrix product of a batch is
large enough to pay for them, and predictions of many rows in chunks whose
activations stay in cache.
"""

from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from . import nn

__all__ = ["ComputePolicyMixin"]

#: below this many multiply-adds per matrix product, train with one BLAS thread
_SMALL_GEMM = 2**22
#: prediction processes at most this many activations (per layer) at once: 8 MiB of
#: float64, so a chunk's activations stay in cache and its buffers are reused
#: instead of paging in fresh memory (10,000 x 784 rows: 0.85 of one 2**23 chunk's time)
_PREDICT_CHUNK_VALUES = 2**20


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class ComputePolicyMixin:
    """BLAS threads for training and chunked, eval-mode forward passes for prediction."""

    def _widest_hidden(self):
        """The widest hidden activation per row (presets with hidden layers say)."""
        return 0

    def _prepare_X(self, X):
        """Hook for estimators whose networks want another layout (images)."""
        return X

    def _blas_threads(self, n_samples):
        """One BLAS thread when every matrix product of a batch is small.

        Threads cost more than they give on small products (and spin-wait on a
        busy machine); large networks keep the caller's setting.
        """
        batch = n_samples if self.solver == "lbfgs" else min(n_samples, 200)
        if self.batch_size != "auto" and self.solver != "lbfgs":
            batch = min(n_samples, self.batch_size)
        if batch * self._largest_product_per_sample() >= _SMALL_GEMM:
            return nullcontext()
        return _blas_controller().limit(limits=1, user_api="blas")

    def _largest_product_per_sample(self):
        """Multiply-adds per sample of the largest matrix product (dense layers' weights)."""
        params, flags = self.model_.parameters()[0], self.model_.penalized()
        return max((p.size for p, f in zip(params, flags) if f), default=0)

    def _infer(self, X, upto=None):
        """Eval-mode forward pass in row chunks; writes nothing on the estimator."""
        net = self.model_ if upto is None else nn.Sequential(*self.model_.modules[:upto])
        n = X.shape[0]
        chunk = n
        if n > 1024:  # bound the activations held at once
            widths = [X.shape[1], self._widest_hidden()]
            widths += [getattr(m, "n_out", 0) for m in net.modules]
            chunk = max(1, _PREDICT_CHUNK_VALUES // max(widths))
        if chunk >= n:
            return net.infer(self._prepare_X(X))
        out = None
        # plain slices: sklearn's gen_batches validates its arguments on every call
        for i in range(0, n, chunk):
            part = net.infer(self._prepare_X(X[i : i + chunk]))
            if out is None:
                out = np.empty((n,) + part.shape[1:], dtype=part.dtype)
            out[i : i + chunk] = part
        return out
