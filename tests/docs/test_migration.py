"""What docs/migration.rst tells scikit-learn users holds.

scikit-learn's gallery silences its MLPs with
``warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")``.
``module`` is a regular expression matched against the start of the module the
warning is attributed to.  Ours are shown at the user's line (the module that called
``fit``), and a filter also applies where the warning was raised (in
``sknn_backprop``): the ``module="sklearn"`` filter lets our warnings through,
``module="sknn_backprop"`` or a filter by category alone stops them.
"""

import warnings

import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from sknn_backprop import MLPClassifier

X, y = load_iris(return_X_y=True)


def _fit_unconverged():
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)


def _caught(*filter_kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kwargs in filter_kwargs:
            warnings.filterwarnings("ignore", category=ConvergenceWarning, **kwargs)
        _fit_unconverged()
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_sklearn_gallery_filter_does_not_match_ours():
    caught = _caught({"module": "sklearn"})
    assert caught, "the module='sklearn' filter was expected to let ours through"
    assert all(w.filename == __file__ for w in caught)  # shown at the user's line


@pytest.mark.parametrize("kwargs", [{"module": "sknn_backprop"}, {}], ids=["module", "any"])
def test_recommended_filters_silence_ours(kwargs):
    assert _caught(kwargs) == []


def test_both_libraries_at_once():
    from sklearn.neural_network import MLPClassifier as SkMLP

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sknn_backprop")
        _fit_unconverged()
        SkMLP(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_parallel_bagging_carries_warning_filters_to_its_workers():
    """Bagging runs its workers through scikit-learn's joblib wrapper, which hands each
    worker the caller's warning filters and configuration (plain joblib would not)."""
    import sklearn.utils.parallel

    from sknn_backprop import _bagging

    assert _bagging.Parallel is sklearn.utils.parallel.Parallel
    assert _bagging.delayed is sklearn.utils.parallel.delayed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sknn_backprop")
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, n_estimators=2, n_jobs=2).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
