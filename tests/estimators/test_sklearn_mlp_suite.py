"""scikit-learn's own MLP tests, run against our estimators.

The test module shipped with the installed scikit-learn is read, its import line
switched to ``sknn_backprop``, and its test functions collected here: the drop-in
compatibility spec of ``MLPClassifier`` / ``MLPRegressor``.  Tests that read
scikit-learn's private attributes or assert a behaviour we deliberately changed
are marked xfail with the reason.  Every test runs twice, on the numba fast path and
on the numpy path (the ``both_paths`` fixture of ``conftest.py``).
"""

from pathlib import Path

import pytest
import sklearn

_SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

_src = _SOURCE.read_text()
assert _IMPORT in _src, "scikit-learn's test module changed its import line"
exec(
    compile(
        _src.replace(_IMPORT, "from sknn_backprop import MLPClassifier, MLPRegressor"),
        str(_SOURCE),
        "exec",
    )
)


@pytest.fixture(autouse=True)
def _on_both_paths(both_paths):
    """Every collected test, with the fast path forced on and forced off."""
    return both_paths


_XFAIL = {
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs (we check gradients "
    "with nn.gradient_check instead)",
    "test_mlp_diverging_loss": "asserts that the diverged epoch's validation score is NaN; "
    "our divergence guard stops the fit as soon as the loss explodes while still finite "
    "(docs/reliability.rst), so the last score is finite and diverged_ is True "
    "(test_reliability_faults.py::test_sklearn_diverging_loss_is_caught_finite)",
}
for _name, _reason in _XFAIL.items():
    globals()[_name] = pytest.mark.xfail(reason=_reason, strict=True)(globals()[_name])
