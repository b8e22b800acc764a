"""Concurrent use: a fitted model answers predict / predict_proba /
decision_function from 8 threads exactly as it does serially, and is not changed by
it; independent estimators fitted in parallel threads equal the serial fits."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from skadapt import DendriticClassifier

from ._state import assert_same_state

N_THREADS = 8
METHODS = ["predict", "predict_proba", "decision_function", "predict_log_proba"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return DendriticClassifier((30,), max_iter=3, tol=None, random_state=0).fit(X, y)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "float32"])
def test_concurrent_predictions_equal_serial_ones(digits, fitted, fmt):
    X = digits[0]
    if fmt == "float32":
        X = X.astype(np.float32)
    elif fmt != "dense":
        X = sp.csr_matrix(X).asformat(fmt)
    # tasks: every method on overlapping chunks of different sizes, many times over
    chunks = [(start, start + size) for size in (1, 37, 400, X.shape[0])
              for start in (0, 101, 1300)]
    tasks = [(m, c) for m in METHODS for c in chunks] * 4
    serial = {(m, c): getattr(fitted, m)(X[c[0]:c[1]]) for m, c in set(tasks)}
    before = pickle.dumps(fitted)

    def run(task):
        method, (start, stop) = task
        return task, getattr(fitted, method)(X[start:stop])

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        results = list(pool.map(run, tasks))
    assert len(results) == len(tasks)
    for task, out in results:
        expected = serial[task]
        assert out.dtype == expected.dtype and out.shape == expected.shape
        np.testing.assert_array_equal(out, expected, err_msg=str(task))
    assert pickle.dumps(fitted) == before  # predicting never changes the model


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_independent_fits_in_threads_equal_serial_fits(digits, sparse):
    X, y = digits
    X = sp.csr_matrix(X[:600]) if sparse else X[:600]
    y = y[:600]
    configs = [dict(rule=rule, random_state=seed)
               for rule in ("dendritic", "adam", "rprop", "sgd") for seed in (0, 1)]

    def fit(kw):
        return DendriticClassifier((10,), max_iter=2, tol=None, **kw).fit(X, y)

    serial = [fit(kw) for kw in configs]
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        threaded = list(pool.map(fit, configs))
    for a, b in zip(serial, threaded, strict=True):
        assert_same_state(a, b)
