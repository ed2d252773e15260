"""The frame encoder of the tabular estimators: a raw table -> one float matrix.

:class:`TabularEncoder` takes what ``HistGradientBoosting*(categorical_features=
"from_dtype")`` takes -- pandas DataFrames with numeric, ``category``, object /
string and ``bool`` columns, NaN anywhere, categories unseen in ``fit`` -- and
numpy arrays and sparse matrices, and returns the network's input:

==========================  ==============================================================
column                      encoded as
==========================  ==============================================================
numeric                     RealMLP's robust scaling with smooth clipping (below), NaN
                            imputed by the median (0 after centring), plus a 0/1
                            missing indicator when the column had NaN in ``fit``
categorical, 2 categories   one column: -1 / +1, and 0 for missing or unseen values
categorical, more           one-hot of its ``max_categories`` most frequent categories (the
                            rest, missing and unseen values: all zeros), plus a missing
                            indicator when the column had missing values in ``fit``
==========================  ==============================================================

Numeric columns (Holzmüller et al. 2024, "Better by Default", section 3): centre on
the median ``m``, scale by ``1 / (q75 - q25)`` (``2 / (max - min)`` when the
quartiles coincide, 1 for a constant column), then clip smoothly,
``x / sqrt(1 + (x / 3)^2)``, which is the identity near 0 and tends to +-3, so an
outlier cannot dominate a unit.

A one-hot code fed to the first ``Linear`` layer is the same function as an
embedding of the category (a row of that layer's weights), so large categoricals
need no separate embedding table for the network to learn one.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _assert_all_finite, check_array, check_is_fitted

__all__ = ["TabularEncoder", "smooth_clip"]

#: the smooth clipping's asymptote: x / sqrt(1 + (x / CLIP)^2) -> +-CLIP
CLIP = 3.0



def _pandas():
    """pandas, imported when a table is first encoded (it is not a dependency of the
    package: ``pip install "sknn-backprop[tabular]"``)."""
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is in the test extra
        raise ImportError(
            "TabularMLPClassifier and TabularMLPRegressor need pandas to encode their "
            'input: pip install "sknn-backprop[tabular]" (or pandas).'
        ) from exc
    return pandas

def smooth_clip(x):
    """``x / sqrt(1 + (x / 3)^2)``: about ``x`` for small values, +-3 for large ones."""
    return x / np.sqrt(1.0 + (x / CLIP) ** 2)


def _is_categorical(series):
    """Whether a DataFrame column is categorical (HistGradientBoosting's "from_dtype"),
    or a bool / object / string column, which it would reject and we encode."""
    pd = _pandas()
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    return not pd.api.types.is_numeric_dtype(dtype)


def _as_strings(values):
    """An object array of ``str`` values, with ``None`` where a value is missing."""
    pd = _pandas()
    values = pd.Series(np.asarray(values, dtype=object))
    missing = values.isna().to_numpy()
    out = values.astype(str).to_numpy(dtype=object)
    out[missing] = None
    return out


def _numeric_columns(X):
    """``X`` as a 2-D float64 array when every column is numeric, else ``None``."""
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return None


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encode a raw table (DataFrame, array or sparse matrix) for a tabular network.

    Parameters
    ----------
    max_categories : int, default=64
        At most this many categories of a column get a one-hot column (the
        most frequent ones); the others are encoded as unseen categories.

    dtype : {'float32', 'float64'}, default='float32'
        Dtype of the encoded matrix.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit`` (only for DataFrames with string column names).
    kinds_ : list of str
        ``'numeric'`` or ``'categorical'`` for each input column.
    categories_ : list of ndarray or None
        For each input column, the categories that get a code (as strings,
        most frequent first), or ``None`` for a numeric column.
    center_, scale_ : ndarray of shape (`n_features_in_`,)
        The median and the robust scale of each numeric column (NaN for
        categorical columns).
    has_missing_ : ndarray of bool of shape (`n_features_in_`,)
        Whether the column had missing values in ``fit`` (it then gets an indicator).
    n_features_out_ : int
        Width of the encoded matrix.
    n_numeric_out_ : int
        Number of numeric columns: the first ``n_numeric_out_`` encoded columns
        are their scaled values (indicators and categories follow).
    """

    _parameter_constraints: dict = {
        "max_categories": [Interval(Integral, 2, None, closed="left")],
        "dtype": [str],
    }

    def __init__(self, max_categories=64, dtype="float32"):
        self.max_categories = max_categories
        self.dtype = dtype

    # ----------------------------------------------------------------- input
    def _columns(self, X, reset):
        """``X`` as a list of columns: float arrays (numeric) or object arrays (categorical).

        On ``fit`` (``reset=True``) this also decides each column's kind.
        """
        pd = _pandas()
        if isinstance(X, pd.DataFrame):
            if reset:
                self.kinds_ = [
                    "categorical" if _is_categorical(X.iloc[:, j]) else "numeric"
                    for j in range(X.shape[1])
                ]
            cols = []
            for j, kind in enumerate(self.kinds_[: X.shape[1]]):
                col = X.iloc[:, j]
                if kind == "numeric":
                    cols.append(self._numeric(col, j))
                else:
                    cols.append(_as_strings(col))
            return cols
        if sp.issparse(X):
            X = check_array(X, accept_sparse=["csr", "csc", "coo"], dtype=np.float64)
            X = X.toarray()
        else:
            X = check_array(X, dtype=None, ensure_all_finite=False)
        numeric = X if X.dtype.kind in "fiub" else _numeric_columns(X)
        if numeric is not None:
            numeric = np.asarray(numeric, dtype=np.float64)
            if reset:
                self.kinds_ = ["numeric"] * numeric.shape[1]
            return [self._check_finite(numeric[:, j]) for j in range(numeric.shape[1])]
        if reset:  # an object array: a column is numeric if all its values are
            self.kinds_ = [
                "numeric" if _numeric_columns(X[:, j]) is not None else "categorical"
                for j in range(X.shape[1])
            ]
        cols = []
        for j, kind in enumerate(self.kinds_[: X.shape[1]]):
            if kind == "numeric":
                values = _numeric_columns(X[:, j])
                if values is None:
                    raise ValueError(
                        f"Column {j} was numeric in fit but holds non-numeric values: "
                        f"{X[:, j][:5]!r}."
                    )
                cols.append(self._check_finite(values))
            else:
                cols.append(_as_strings(X[:, j]))
        return cols

    def _numeric(self, series, j):
        try:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Column {series.name!r} was numeric in fit but holds non-numeric values "
                f"(dtype {series.dtype})."
            ) from exc
        return self._check_finite(values)

    @staticmethod
    def _check_finite(values):
        _assert_all_finite(values, allow_nan=True, input_name="X")
        return values

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Learn each column's kind, scaling and categories from ``X``.

        Parameters
        ----------
        X : {DataFrame, array-like, sparse matrix} of shape (n_samples, n_features)
            The raw table.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted encoder.
        """
        self._validate_params()
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")
        self._check_names(X, reset=True)
        cols = self._columns(X, reset=True)
        self.n_features_in_ = len(cols)
        if self.n_features_in_ == 0:
            raise ValueError("0 feature(s) (shape=(n, 0)) while a minimum of 1 is required.")
        n = self.n_features_in_
        self.center_, self.scale_ = np.full(n, np.nan), np.full(n, np.nan)
        self.has_missing_ = np.zeros(n, dtype=bool)
        self.categories_ = [None] * n
        for j, (kind, col) in enumerate(zip(self.kinds_, cols)):
            if kind == "numeric":
                self._fit_numeric(j, col)
            else:
                self._fit_categorical(j, col)
        self.n_features_out_ = sum(self._width(j) for j in range(n))
        numeric = [j for j in range(n) if self.kinds_[j] == "numeric"]
        self.n_numeric_out_ = len(numeric)
        self._numeric_index = dict(zip(numeric, range(len(numeric))))
        return self

    def _fit_numeric(self, j, col):
        present = col[~np.isnan(col)]
        self.has_missing_[j] = present.size < col.size
        if present.size == 0:
            self.center_[j], self.scale_[j] = 0.0, 1.0
            return
        q25, median, q75 = np.quantile(present, [0.25, 0.5, 0.75])
        spread = q75 - q25
        if spread <= 0:
            spread = 0.5 * (present.max() - present.min())
        self.center_[j] = median
        self.scale_[j] = 1.0 / spread if spread > 0 else 1.0

    def _fit_categorical(self, j, col):
        pd = _pandas()
        missing = pd.isna(col)
        self.has_missing_[j] = bool(missing.any())
        counts = pd.Series(col[~missing]).value_counts(sort=False)
        # most frequent first; ties in sorted order, so the encoding never
        # depends on the order of the rows
        order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.categories_[j] = np.array([c for c, _ in order[: self.max_categories]], dtype=object)

    def _binary(self, j):
        cats = self.categories_[j]
        return cats is not None and len(cats) == 2 and not self.has_missing_[j]

    def _width(self, j):
        if self.kinds_[j] == "numeric":
            return 1 + int(self.has_missing_[j])
        if self._binary(j) or (len(self.categories_[j]) <= 1 and not self.has_missing_[j]):
            return 1
        return len(self.categories_[j]) + int(self.has_missing_[j])

    # ------------------------------------------------------------- transform
    def _check_names(self, X, reset):
        from sklearn.utils.validation import _check_feature_names

        if reset or getattr(self, "_owner", None) is None:  # (an estimator checks its own)
            _check_feature_names(self, X, reset=reset)

    def transform(self, X):
        """Encode ``X`` into the network's input matrix.

        Parameters
        ----------
        X : {DataFrame, array-like, sparse matrix} of shape (n_samples, n_features)
            A table with the columns seen in ``fit``.

        Returns
        -------
        X_enc : ndarray of shape (n_samples, n_features_out_)
            The encoded matrix, of ``dtype``.
        """
        check_is_fitted(self)
        self._check_names(X, reset=False)
        cols = self._columns(X, reset=False)
        if len(cols) != self.n_features_in_:
            raise ValueError(
                f"X has {len(cols)} features, but {getattr(self, '_owner', type(self).__name__)}"
                " is expecting "
                f"{self.n_features_in_} features as input."
            )
        n = len(cols[0])
        out = np.zeros((n, self.n_features_out_), dtype=self.dtype)
        # the numeric values first (the network embeds them), then the rest
        k = self.n_numeric_out_
        for j, col in enumerate(cols):
            if self.kinds_[j] == "numeric":
                self._encode_numeric(j, col, out, self._numeric_index[j], k)
                k += int(self.has_missing_[j])
            else:
                width = self._width(j)
                self._encode_categorical(j, col, out[:, k : k + width])
                k += width
        return out

    def _encode_numeric(self, j, col, out, value_col, missing_col):
        missing = np.isnan(col)
        x = smooth_clip((col - self.center_[j]) * self.scale_[j])
        x[missing] = 0.0  # the median
        out[:, value_col] = x
        if self.has_missing_[j]:
            out[:, missing_col] = missing

    def _encode_categorical(self, j, col, block):
        pd = _pandas()
        cats = self.categories_[j]
        codes = pd.Index(cats).get_indexer(col)  # -1: missing or unseen
        if block.shape[1] == 1 and not self.has_missing_[j]:
            if len(cats) == 2:  # -1 / +1, and 0 for anything else
                block[:, 0] = np.where(codes == 1, 1.0, np.where(codes == 0, -1.0, 0.0))
            elif len(cats) == 1:
                block[:, 0] = codes == 0
            return
        rows = np.flatnonzero(codes >= 0)
        block[rows, codes[rows]] = 1.0
        if self.has_missing_[j]:
            block[:, -1] = pd.isna(col)

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded columns: the numeric ``col`` first, then ``col_missing``,
        ``col=category`` (and ``col`` for a two-category column).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; the names seen in ``fit`` are used (``x0``, ``x1``, ... for arrays).

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per encoded column.
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{j}" for j in range(self.n_features_in_)]
        numeric = [str(names[j]) for j in range(self.n_features_in_) if self.kinds_[j] == "numeric"]
        out = []
        for j, name in enumerate(names):
            if self.kinds_[j] == "numeric":
                pass
            elif self._width(j) == 1 and not self.has_missing_[j]:
                out.append(str(name))
            else:
                out += [f"{name}={c}" for c in self.categories_[j]]
            if self.has_missing_[j]:
                out.append(f"{name}_missing")
        out = numeric + out
        return np.asarray(out, dtype=object)
