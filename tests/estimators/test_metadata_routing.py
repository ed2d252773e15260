"""Fit parameters routed by scikit-learn's metadata routing (``set_fit_request``).

``sample_weight``, ``X_val`` / ``y_val`` (and ``sample_weight_val``) reach our
estimators through ``Pipeline`` and ``GridSearchCV`` when requested. The
validation rows do not pass through the earlier steps of a pipeline: they are
the user's own, used as given.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_backprop import MLPClassifier, MLPRegressor, NeuralNetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = load_digits(return_X_y=True)
X_tr, y_tr, X_val, y_val = X[:600], y[:600], X[600:800], y[600:800]


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _pipe(est):
    return make_pipeline(StandardScaler().set_fit_request(sample_weight=False), est)


@pytest.mark.parametrize("Est", [MLPClassifier, NeuralNetClassifier])
def test_validation_set_reaches_the_estimator_through_a_pipeline(Est):
    est = Est(max_iter=6, early_stopping=True, random_state=0)
    est.set_fit_request(X_val=True, y_val=True)
    pipe = _pipe(est).fit(X_tr, y_tr, X_val=X_val / 16, y_val=y_val)
    fitted = pipe[-1]
    assert len(fitted.validation_scores_) == fitted.n_iter_
    # the scores are those of the given rows, as given (not standardised by the pipeline)
    Xs = pipe[0].transform(X_tr)
    direct = Est(max_iter=6, early_stopping=True, random_state=0)
    direct.fit(Xs, y_tr, X_val=X_val / 16, y_val=y_val)
    np.testing.assert_allclose(fitted.validation_scores_, direct.validation_scores_)


def test_sample_weight_is_routed_and_used():
    sw = np.r_[np.ones(300), np.zeros(300)]
    est = MLPClassifier(max_iter=5, random_state=0).set_fit_request(sample_weight=True)
    weighted = _pipe(est).fit(X_tr, y_tr, sample_weight=sw)[-1]
    plain = _pipe(MLPClassifier(max_iter=5, random_state=0)).fit(X_tr, y_tr)[-1]
    assert not np.allclose(weighted.coefs_[0], plain.coefs_[0])
    ones = _pipe(clone(est)).fit(X_tr, y_tr, sample_weight=np.ones(len(y_tr)))[-1]
    np.testing.assert_allclose(ones.coefs_[0], plain.coefs_[0], rtol=1e-10, atol=1e-12)


def test_unrequested_metadata_is_an_error():
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
        _pipe(MLPClassifier(max_iter=2, early_stopping=True)).fit(
            X_tr, y_tr, X_val=X_val, y_val=y_val
        )


def test_grid_search_routes_fit_params():
    est = MLPRegressor(max_iter=5, early_stopping=True, random_state=0)
    est.set_fit_request(X_val=True, y_val=True, sample_weight=True)
    est.set_score_request(sample_weight=True)  # the folds are scored with their weights too
    search = GridSearchCV(_pipe(est), {"mlpregressor__alpha": [1e-4, 1e-1]}, cv=2)
    sw = np.linspace(0.5, 1.5, len(y_tr))
    search.fit(X_tr, y_tr.astype(float), sample_weight=sw, X_val=X_val, y_val=y_val.astype(float))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()  # no failed fit
    best = search.best_estimator_[-1]
    assert len(best.validation_scores_) == best.n_iter_
