"""fit_parallel: several fits in threads give exactly the serial fits; the
compiled loop releases the GIL so that threads can run at once."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier

from skadapt import DendriticClassifier, fit_parallel
from skadapt._learner import EPOCH_KERNELS

from ._state import assert_same_state


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.mark.parametrize("sparse", [False, True])
def test_parallel_fits_equal_serial_fits(digits, sparse):
    X, y = digits
    X = sp.csr_matrix(X) if sparse else X
    ests = [DendriticClassifier((20,), max_iter=3, tol=None, random_state=s) for s in range(3)]
    ests.append(DendriticClassifier((20,), rule="adam", max_iter=3, tol=None, random_state=0))
    sw = np.linspace(0.5, 2.0, len(y))
    fitted = fit_parallel(ests, X, y, n_jobs=2, sample_weight=sw)
    assert len(fitted) == len(ests)
    for est, par in zip(ests, fitted, strict=True):
        assert par is not est and not hasattr(est, "classes_")  # clones; inputs untouched
        ser = clone(est).fit(X, y, sample_weight=sw)
        assert par.get_params() == est.get_params()
        assert_same_state(par, ser)


def test_other_estimators_and_empty_list(digits):
    X, y = digits
    sgd = SGDClassifier(max_iter=5, tol=None, random_state=0)
    (fitted,) = fit_parallel([sgd], X, y, n_jobs=2)
    np.testing.assert_array_equal(fitted.coef_, clone(sgd).fit(X, y).coef_)
    assert fit_parallel([], X, y) == []


def test_invalid_n_jobs_is_rejected(digits):
    X, y = digits
    with pytest.raises(ValueError, match="n_jobs"):
        fit_parallel([DendriticClassifier()], X, y, n_jobs="two")


def test_training_loops_release_the_gil():
    for kernel in EPOCH_KERNELS.values():
        assert kernel.targetoptions.get("nogil") is True, kernel
