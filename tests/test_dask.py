"""Scaling out on Dask: GridSearchCV on a local cluster, and out-of-core partial_fit.

Skipped only when the ``dask`` extra is absent; CI installs it.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
import dask.array as da  # noqa: E402

from skadapt import DendriticClassifier  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_gridsearch_runs_on_the_dask_backend(client, digits):
    X, y = digits
    params = {"gain_up": [0.0, 0.3], "scope": ["synapse", "unit"]}
    est = DendriticClassifier((10,), max_iter=3, tol=None, random_state=0)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(est, params, cv=2).fit(X, y)
    local = GridSearchCV(est, params, cv=2).fit(X, y)
    # the workers ran the fits: same (deterministic) results as in this process
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    assert on_dask.best_score_ > 0.7
    assert len(client.scheduler_info()["workers"]) == 2


def test_incremental_trains_out_of_core(client, digits):
    X, y = digits
    Xd = da.from_array(X, chunks=(300, 64))
    yd = da.from_array(y, chunks=300)
    inc = dask_ml_wrappers.Incremental(DendriticClassifier((10,), random_state=0),
                                       scoring="accuracy", shuffle_blocks=False)
    inc.fit(Xd, yd, classes=np.arange(10))
    # one pass, one partial_fit per chunk, in order: the same as doing it by hand
    ref = DendriticClassifier((10,), random_state=0)
    for start in range(0, len(y), 300):
        ref.partial_fit(X[start:start + 300], y[start:start + 300], classes=np.arange(10))
    np.testing.assert_array_equal(inc.estimator_._params, ref._params)
    assert inc.estimator_.t_ == len(y)
    assert inc.score(Xd, yd) == pytest.approx(ref.score(X, y))
    assert inc.score(Xd, yd) > 0.6
