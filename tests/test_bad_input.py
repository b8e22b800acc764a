"""Bad input: a clear ValueError/TypeError naming the problem, or correct behaviour.

Never a Numba traceback, a crash, a hang or NaN output; and a call that fails leaves
the estimator exactly as it was (its pickle is byte-identical before and after, so an
unfitted estimator stays unfitted and a fitted one keeps its parameters and optimiser
state).

The cases are counted by their test ids (``pytest --collect-only -q``):

- ``test_clear_error[...]``: the call raises a ValueError/TypeError whose message
  names the problem, raised before the compiled kernel runs, and the estimator is
  unchanged;
- ``test_correct_behaviour[...]``: the call works and gives the right result;
- ``test_huge_input_fit[...]``: ``X * 1e300`` either raises a clear
  ``skadapt.DivergenceError`` (estimator unchanged) or fits a model whose outputs
  are all finite;
- ``test_int_X_gives_the_same_model_as_float_X``, ``test_feature_names_*``: the
  remaining checks, written out.
"""

import os
import pickle
import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from skadapt import DendriticClassifier, DivergenceError

KW = dict(hidden_layer_sizes=(3,), max_iter=2, tol=None, random_state=0)
X = np.random.RandomState(0).randn(40, 5)
y = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes, 13/14/13 examples
YML = (X[:, 1:4] > 0).astype(int)  # a multilabel indicator matrix of three labels
CLASSES = np.array([0, 1, 2])
N_FEATURES = X.shape[1]


def _with(value, X=X):
    out = X.copy()
    out[3, 2] = value
    return out


def _sparse_with(value, fmt):
    out = sp.csr_matrix(_with(value))
    return out.asformat(fmt)


def _out_of_range_csr():
    """A CSR matrix whose column indices point past its width (scipy builds it)."""
    n = X.shape[0]
    return sp.csr_matrix(
        (np.ones(n), np.full(n, 99, np.int32), np.arange(n + 1)), shape=(n, N_FEATURES)
    )


@pytest.fixture(scope="module")
def fitted_bytes():
    return pickle.dumps(DendriticClassifier(**KW).fit(X, y))


def _big_weights_model(fitted_bytes):
    """A linear model with large weights: an input near 1e308 overflows its logits."""
    lin = DendriticClassifier((), max_iter=1, tol=None, random_state=0).fit(X, y)
    lin.coefs_[0][:] = np.where(np.arange(N_FEATURES)[:, None] % 2 == 0, 10.0, -10.0)
    return lin


def _relu_model(fitted_bytes):
    """A ReLU network whose first layer passes a huge input on, unbounded."""
    relu = DendriticClassifier((4,), activation="relu", max_iter=1, random_state=0).fit(X, y)
    relu.coefs_[0][:] = 1.0
    return relu


def _float32_model(fitted_bytes):
    """A float32 linear model: its logits overflow near 3.4e38."""
    lin = DendriticClassifier((), max_iter=1, random_state=0).fit(X.astype(np.float32), y)
    lin.coefs_[0][:] = 1.0
    return lin


TARGETS = {
    "fresh": lambda b: DendriticClassifier(**KW),
    "fitted": pickle.loads,
    "fitted_warm": lambda b: pickle.loads(b).set_params(warm_start=True),
    "multilabel": lambda b: DendriticClassifier(**KW).fit(X, YML),
    "multilabel_warm": lambda b: DendriticClassifier(**KW, warm_start=True).fit(X, YML),
    "multilabel_class_weight": (
        lambda b: DendriticClassifier(**KW).fit(X, YML).set_params(class_weight={0: 2.0})),
    "big_weights": _big_weights_model,
    "relu": _relu_model,
    "float32": _float32_model,
}

_HUGE = np.full((2, N_FEATURES), 1e308)  # finite input whose logits overflow

ERROR_CASES = [
    # --- NaN / inf in X
    ("fresh", lambda e: e.fit(_with(np.nan), y), "Input X contains NaN", "fit-nan-X"),
    ("fresh", lambda e: e.fit(_with(np.inf), y), "Input X contains infinity", "fit-inf-X"),
    ("fresh", lambda e: e.fit(_with(-np.inf), y), "Input X contains infinity", "fit-neg-inf-X"),
    ("fresh", lambda e: e.fit(_sparse_with(np.nan, "csr"), y), "Input X contains NaN",
     "fit-nan-X-csr"),
    ("fresh", lambda e: e.fit(_sparse_with(np.inf, "dok"), y), "Input X contains infinity",
     "fit-inf-X-dok"),
    ("fitted", lambda e: e.partial_fit(_with(np.nan), y), "Input X contains NaN",
     "partial_fit-nan-X"),
    ("fitted", lambda e: e.partial_fit(_with(np.inf), y), "Input X contains infinity",
     "partial_fit-inf-X"),
    ("fitted_warm", lambda e: e.fit(_with(np.nan), y), "Input X contains NaN",
     "warm_start-fit-nan-X"),
    ("fitted", lambda e: e.predict(_with(np.nan)), "Input X contains NaN", "predict-nan-X"),
    ("fitted", lambda e: e.predict_proba(_with(np.inf)), "Input X contains infinity",
     "predict_proba-inf-X"),
    ("fitted", lambda e: e.decision_function(_with(np.nan)), "Input X contains NaN",
     "decision_function-nan-X"),
    ("fitted", lambda e: e.predict_log_proba(_sparse_with(np.nan, "dok")),
     "Input X contains NaN", "predict_log_proba-nan-X-dok"),
    ("fitted", lambda e: e.score(_with(np.nan), y), "Input X contains NaN", "score-nan-X"),
    ("fresh", lambda e: e.fit(X, y, sample_weight=np.full(40, np.nan)),
     "Input sample_weight contains NaN", "fit-nan-sample_weight"),
    ("fresh", lambda e: e.fit(X, y, sample_weight=np.full(40, np.inf)),
     "Input sample_weight contains infinity", "fit-inf-sample_weight"),
    ("fresh", lambda e: e.fit(X, np.where(y == 1, np.nan, y)), "Input y contains NaN",
     "fit-nan-y"),
    # --- wrong number of features
    ("fitted", lambda e: e.predict(X[:, :4]),
     "X has 4 features, but DendriticClassifier is expecting 5 features",
     "predict-too-few-features"),
    ("fitted", lambda e: e.predict_proba(np.hstack([X, X[:, :1]])),
     "X has 6 features, but DendriticClassifier is expecting 5 features",
     "predict_proba-too-many-features"),
    ("fitted", lambda e: e.predict(sp.csr_matrix(X[:, :4])),
     "X has 4 features, but DendriticClassifier is expecting 5 features",
     "predict-sparse-too-few-features"),
    ("fitted", lambda e: e.partial_fit(X[:, :4], y),
     "X has 4 features, but DendriticClassifier is expecting 5 features",
     "partial_fit-too-few-features"),
    ("fitted_warm", lambda e: e.fit(X[:, :4], y),
     "X has 4 features, but DendriticClassifier is expecting 5 features",
     "warm_start-fit-too-few-features"),
    # --- empty X
    ("fresh", lambda e: e.fit(X[:0], y[:0]), r"0 sample\(s\)", "fit-0-rows"),
    ("fresh", lambda e: e.fit(sp.csr_matrix(X[:0]), y[:0]), r"0 sample\(s\)",
     "fit-0-rows-sparse"),
    ("fresh", lambda e: e.fit(X[:, :0], y), r"0 feature\(s\)", "fit-0-columns"),
    ("fresh", lambda e: e.partial_fit(X[:0], y[:0], classes=CLASSES), r"0 sample\(s\)",
     "partial_fit-first-call-0-rows"),
    ("fitted", lambda e: e.partial_fit(X[:0], y[:0]), r"0 sample\(s\)", "partial_fit-0-rows"),
    ("fitted", lambda e: e.predict(X[:0]), r"0 sample\(s\)", "predict-0-rows"),
    ("fitted", lambda e: e.predict_proba(X[:, :0]), r"0 feature\(s\)", "predict_proba-0-columns"),
    # --- one sample, one class
    ("fresh", lambda e: e.fit(X[:1], y[:1]),
     "The number of classes has to be greater than one; got 1 class", "fit-one-sample"),
    ("fresh", lambda e: e.fit(X, np.zeros(40)),
     "The number of classes has to be greater than one; got 1 class", "fit-one-class"),
    ("fresh", lambda e: e.fit(X, np.array(["a"] * 40)),
     "The number of classes has to be greater than one; got 1 class", "fit-one-string-class"),
    ("fresh", lambda e: e.partial_fit(X, np.zeros(40), classes=[0]),
     "The number of classes has to be greater than one; got 1 class",
     "partial_fit-one-class-in-classes"),
    ("fresh", lambda e: e.partial_fit(X, y), "classes must be passed on the first call",
     "partial_fit-first-call-without-classes"),
    # --- labels and classes
    ("fitted", lambda e: e.partial_fit(X, np.where(y == 2, 7, y)),
     r"y contains labels not in classes: \[7\]", "partial_fit-unseen-label"),
    ("fresh", lambda e: e.partial_fit(X, y, classes=[0, 1]),
     r"y contains labels not in classes: \[2\]", "partial_fit-first-call-label-not-in-classes"),
    ("fitted_warm", lambda e: e.fit(X, np.where(y == 2, 7, y)),
     r"y contains labels not in classes: \[7\]", "warm_start-fit-unseen-label"),
    ("fitted", lambda e: e.partial_fit(X, y, classes=[0, 1, 2, 3]),
     r"`classes=\[0, 1, 2, 3\]` is not the same as on last call to partial_fit",
     "partial_fit-classes-added"),
    ("fitted", lambda e: e.partial_fit(X[y < 2], y[y < 2], classes=[0, 1]),
     r"`classes=\[0, 1\]` is not the same as on last call to partial_fit",
     "partial_fit-classes-removed"),
    ("fitted", lambda e: e.partial_fit(X, y.astype(str), classes=["0", "1", "2"]),
     "is not the same as on last call to partial_fit", "partial_fit-classes-retyped"),
    ("fresh", lambda e: e.fit(X, X[:, 0]), "Unknown label type: continuous", "fit-continuous-y"),
    ("fitted", lambda e: e.partial_fit(X, X[:, 0] + 0.5), "Unknown label type: continuous",
     "partial_fit-continuous-y"),
    # --- 2-D y: a multilabel indicator matrix only, and the kind of target kept
    ("fresh", lambda e: e.fit(X, np.c_[y, y]), "Multiclass-multioutput targets are not supported",
     "fit-multiclass-multioutput-y"),
    ("fresh", lambda e: e.fit(X, sp.csr_matrix(np.c_[y, y])),
     "Multiclass-multioutput targets are not supported", "fit-sparse-multiclass-multioutput-y"),
    ("fitted", lambda e: e.partial_fit(X, np.c_[y, y]),
     "Multiclass-multioutput targets are not supported",
     "partial_fit-multiclass-multioutput-y"),
    ("fresh", lambda e: e.fit(X, X[:, :2]), "Unknown label type: continuous-multioutput",
     "fit-continuous-multioutput-y"),
    ("fitted", lambda e: e.partial_fit(X, YML),
     r"y is a multilabel indicator matrix, but the model was fitted on class labels",
     "partial_fit-multilabel-after-multiclass"),
    ("fitted_warm", lambda e: e.fit(X, YML),
     r"y is a multilabel indicator matrix, but the model was fitted on class labels.*"
     "refit without warm_start", "warm_start-fit-multilabel-after-multiclass"),
    ("multilabel", lambda e: e.partial_fit(X, y),
     "y is a 1-D array of class labels, but the model was fitted on a multilabel indicator "
     "matrix of 3 labels", "partial_fit-multiclass-after-multilabel"),
    ("multilabel", lambda e: e.partial_fit(X, y, classes=CLASSES),
     "y is a 1-D array of class labels, but the model was fitted on a multilabel indicator "
     "matrix of 3 labels", "partial_fit-multiclass-with-classes-after-multilabel"),
    ("multilabel_warm", lambda e: e.fit(X, y),
     "y is a 1-D array of class labels, but the model was fitted on a multilabel indicator "
     "matrix of 3 labels", "warm_start-fit-multiclass-after-multilabel"),
    ("multilabel", lambda e: e.partial_fit(X, YML[:, :2]),
     r"y is a multilabel indicator matrix of 2 labels \(columns\), but the model was fitted "
     "on 3 labels", "partial_fit-multilabel-fewer-labels"),
    ("multilabel_warm", lambda e: e.fit(X, np.c_[YML, YML[:, :1]]),
     r"4 labels \(columns\), but the model was fitted on 3 labels; refit without warm_start",
     "warm_start-fit-multilabel-more-labels"),
    ("fresh", lambda e: e.partial_fit(X, YML, classes=[0, 1]),
     r"classes are the label indices np.arange\(3\); got classes=\[0, 1\]",
     "partial_fit-multilabel-first-call-classes-of-values"),
    ("fresh", lambda e: e.partial_fit(X, YML), "classes must be passed on the first call",
     "partial_fit-multilabel-first-call-without-classes"),
    ({"class_weight": {0: 1.0, 1: 2.0, 2: 1.0}}, lambda e: e.fit(X, YML),
     "class_weight is not supported for multilabel targets", "fit-multilabel-class_weight"),
    ({"class_weight": "balanced"}, lambda e: e.fit(X, YML),
     "class_weight is not supported for multilabel targets",
     "fit-multilabel-class_weight-balanced"),
    ("multilabel_class_weight", lambda e: e.partial_fit(X, YML),
     "class_weight is not supported for multilabel targets",
     "partial_fit-multilabel-class_weight"),
    ("fresh", lambda e: e.fit(X, None), "requires y to be passed", "fit-y-None"),
    # --- object / string / complex X
    ("fresh", lambda e: e.fit(np.array([["a", "b"]] * 40), y),
     "could not convert string to float", "fit-string-X"),
    ("fresh", lambda e: e.fit(pd.DataFrame({"a": ["x"] * 40, "b": X[:, 0]}), y),
     "could not convert string to float", "fit-dataframe-string-column"),
    ("fitted", lambda e: e.predict(X.astype(str).astype(object) + "x"),
     "could not convert string to float", "predict-string-X"),
    ("fresh", lambda e: e.fit(np.array([[None, 1.0]] * 40, dtype=object), y),
     "Input X contains NaN", "fit-object-X-with-None"),
    ("fresh", lambda e: e.fit(X.astype(complex), y), "Complex data not supported",
     "fit-complex-X"),
    # --- wrong dimensions
    ("fresh", lambda e: e.fit(X.reshape(40, 5, 1), y), "Found array with dim 3", "fit-3d-X"),
    ("fitted", lambda e: e.predict(X.reshape(40, 5, 1)), "Found array with dim 3",
     "predict-3d-X"),
    ("fitted", lambda e: e.partial_fit(X.reshape(40, 5, 1), y), "Found array with dim 3",
     "partial_fit-3d-X"),
    ("fresh", lambda e: e.fit(X[:, 0], y), "Expected 2D array, got 1D array", "fit-1d-X"),
    ("fitted", lambda e: e.predict(X[0]), "Expected 2D array, got 1D array", "predict-1d-X"),
    ("fresh", lambda e: e.fit(3.0, y), "Expected 2D array, got scalar array", "fit-scalar-X"),
    # --- sample weights and class weights
    ("fresh", lambda e: e.fit(X, y, sample_weight=-np.ones(40)),
     "Negative values in data passed to `sample_weight`", "fit-negative-sample_weight"),
    ("fitted", lambda e: e.partial_fit(X, y, sample_weight=np.r_[-1.0, np.ones(39)]),
     "Negative values in data passed to `sample_weight`", "partial_fit-negative-sample_weight"),
    ("fresh", lambda e: e.fit(X, y, sample_weight=np.zeros(40)),
     "Sample weights must contain at least one non-zero number", "fit-all-zero-sample_weight"),
    ("fitted", lambda e: e.partial_fit(X, y, sample_weight=np.zeros(40)),
     "Sample weights must contain at least one non-zero number",
     "partial_fit-all-zero-sample_weight"),
    ({"class_weight": {0: 0, 1: 0, 2: 0}}, lambda e: e.fit(X, y),
     "Sample weights must contain at least one non-zero number", "fit-all-zero-class_weight"),
    ({"class_weight": {0: -1.0, 1: 1.0, 2: 1.0}}, lambda e: e.fit(X, y),
     "class_weight must be non-negative and finite", "fit-negative-class_weight"),
    ({"class_weight": {0: np.inf, 1: 1.0, 2: 1.0}}, lambda e: e.fit(X, y),
     "class_weight must be non-negative and finite", "fit-inf-class_weight"),
    ("fresh", lambda e: e.fit(X, y, sample_weight=np.ones((40, 1))),
     "Sample weights must be 1D array or scalar", "fit-2d-sample_weight"),
    # --- mismatched lengths
    ("fresh", lambda e: e.fit(X, y[:-1]),
     r"Found input variables with inconsistent numbers of samples: \[40, 39\]",
     "fit-X-y-lengths"),
    ("fitted", lambda e: e.partial_fit(X[:-1], y),
     r"Found input variables with inconsistent numbers of samples: \[39, 40\]",
     "partial_fit-X-y-lengths"),
    ("fresh", lambda e: e.fit(X, y, sample_weight=np.ones(39)),
     r"sample_weight.shape == \(39,\), expected \(40,\)", "fit-sample_weight-length"),
    ("fitted", lambda e: e.partial_fit(X, y, sample_weight=np.ones(41)),
     r"sample_weight.shape == \(41,\), expected \(40,\)", "partial_fit-sample_weight-length"),
    # --- malformed sparse input (would make the kernel write out of bounds)
    ("fresh", lambda e: e.fit(_out_of_range_csr(), y),
     "X is a malformed sparse matrix: indices must be <", "fit-csr-index-out-of-range"),
    ("fitted", lambda e: e.predict_proba(_out_of_range_csr()),
     "X is a malformed sparse matrix: indices must be <", "predict_proba-csr-index-out-of-range"),
    # --- extreme magnitudes at predict time: overflowing logits are an error, not NaN
    ("big_weights", lambda e: e.predict_proba(_HUGE), "The network's output overflowed",
     "predict_proba-logits-overflow-to-inf"),
    ("big_weights", lambda e: e.predict_proba(_HUGE * [[1, -1, 1, -1, 1]]),
     "The network's output overflowed", "predict_proba-logits-overflow-to-nan"),
    ("big_weights", lambda e: e.predict(_HUGE), "The network's output overflowed",
     "predict-logits-overflow"),
    ("big_weights", lambda e: e.predict_log_proba(_HUGE), "The network's output overflowed",
     "predict_log_proba-logits-overflow"),
    ("big_weights", lambda e: e.decision_function(_HUGE), "The network's output overflowed",
     "decision_function-logits-overflow"),
    ("relu", lambda e: e.predict_proba(_HUGE), "The network's output overflowed",
     "predict_proba-relu-hidden-overflow"),
    ("float32", lambda e: e.predict_proba(np.full((2, N_FEATURES), 3e38, np.float32)),
     r"The network's output overflowed \(is infinite or NaN in float32\)",
     "predict_proba-float32-overflow"),
    # --- not fitted
    ("fresh", lambda e: e.predict(X), "This DendriticClassifier instance is not fitted yet",
     "predict-unfitted"),
]


def _no_compiled_frames(tb):
    """True if no frame of the traceback is in Numba or in skadapt's compiled modules."""
    for frame in traceback.extract_tb(tb):
        name = os.path.normpath(frame.filename)
        if f"{os.sep}numba{os.sep}" in name or name.endswith(("_kernel.py", "_rules.py")):
            return False
    return True


@pytest.mark.parametrize(
    "target, call, match",
    [pytest.param(t, c, m, id=i) for t, c, m, i in ERROR_CASES],
)
def test_clear_error(fitted_bytes, target, call, match):
    if isinstance(target, dict):  # a fresh estimator with these parameters
        est = DendriticClassifier(**{**KW, **target})
    else:
        est = TARGETS[target](fitted_bytes)
    before = pickle.dumps(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn's dok and name warnings
        with pytest.raises((ValueError, TypeError), match=match) as info:
            call(est)
    assert _no_compiled_frames(info.tb), "".join(traceback.format_tb(info.tb))
    assert pickle.dumps(est) == before  # unchanged: nothing half-fitted, nothing lost
    if target == "fresh" or isinstance(target, dict):
        with pytest.raises(NotFittedError):
            check_is_fitted(est)


def test_the_error_cases_are_all_distinct():
    ids = [case[-1] for case in ERROR_CASES]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------- correct behaviour
def _fit(X_, y_=y, sample_weight=None, **kw):
    return DendriticClassifier(**{**KW, **kw}).fit(X_, y_, sample_weight=sample_weight)


def _assert_same_model(a, b):
    np.testing.assert_array_equal(a._params, b._params)
    for key in ("pstate", "gstate", "glast", "counters"):
        np.testing.assert_array_equal(a._state[key], b._state[key])


def _assert_sane_output(model, X_):
    proba = model.predict_proba(X_)
    assert np.all(np.isfinite(proba))
    rtol = 1e-6 if proba.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=rtol)
    assert not np.any(np.isnan(model.predict_log_proba(X_)))
    np.testing.assert_array_equal(model.predict(X_), model.classes_[proba.argmax(axis=1)])


def ok_partial_fit_one_sample_with_classes():
    est = DendriticClassifier(**KW).partial_fit(X[:1], y[:1], classes=CLASSES)
    np.testing.assert_array_equal(est.classes_, CLASSES)
    assert est.n_iter_ == 1 and est.t_ == 1 and len(est.loss_curve_) == 1
    assert np.isfinite(est.loss_)
    _assert_sane_output(est, X)
    est.partial_fit(X[1:2], y[1:2])  # and it keeps learning one example at a time
    assert est.t_ == 2


def ok_fit_two_samples():
    est = _fit(X[[0, 1]], np.array([0, 1]))
    assert est.t_ == 2 * KW["max_iter"]
    _assert_sane_output(est, X)


def ok_predict_one_row(fitted):
    np.testing.assert_array_equal(fitted.predict(X[:1]), fitted.predict(X)[:1])


def ok_bool_X():
    Xb = X > 0
    _assert_same_model(_fit(Xb), _fit(Xb.astype(np.float64)))


def ok_object_numeric_X():
    _assert_same_model(_fit(X.astype(object)), _fit(X))


def ok_list_X():
    _assert_same_model(_fit(X.tolist(), y.tolist()), _fit(X))


def ok_float16_X():
    X16 = X.astype(np.float16)
    a = _fit(X16)
    assert a._params.dtype == np.float64
    _assert_same_model(a, _fit(X16.astype(np.float64)))


def ok_float32_X_stays_float32():
    a = _fit(X.astype(np.float32))
    assert a._params.dtype == np.float32
    assert a.predict_proba(X.astype(np.float32)).dtype == np.float32
    _assert_sane_output(a, X.astype(np.float32))
    # float64 input to a float32 model is computed in float64: even 1e300 is no overflow
    assert a.predict_proba(X).dtype == np.float64
    _assert_sane_output(a, X * 1e300)


def _ok_sparse(fmt):
    def check(fitted):
        csr = sp.csr_matrix(X)
        Xs = csr.asformat(fmt)
        assert Xs.format == fmt
        _assert_same_model(_fit(Xs), _fit(csr))
        np.testing.assert_array_equal(fitted.predict_proba(Xs), fitted.predict_proba(csr))

    check.__name__ = f"ok_sparse_{fmt}"
    return check


def ok_sparse_int_and_bool():
    Xi = (X * 10).astype(np.int64)
    _assert_same_model(_fit(sp.csr_matrix(Xi)), _fit(sp.csr_matrix(Xi.astype(np.float64))))
    _assert_same_model(_fit(sp.csr_matrix(X > 0)), _fit(sp.csr_matrix((X > 0).astype(float))))


def ok_sparse_array_api():
    _assert_same_model(_fit(sp.csr_array(X)), _fit(sp.csr_matrix(X)))


def ok_csr_with_duplicates_and_unsorted_indices(fitted):
    """Non-canonical CSR (once a crash in the kernel) is read like its canonical form."""
    canonical = sp.csr_matrix(X)
    coo = canonical.tocoo()
    # every entry split into two halves, columns in reverse order within each row
    order = np.lexsort((-coo.col, coo.row))
    rows = np.repeat(coo.row[order], 2)
    cols = np.repeat(coo.col[order], 2)
    vals = np.repeat(coo.data[order] / 2, 2)
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=X.shape[0]))]
    messy = sp.csr_matrix((vals, cols, indptr), shape=X.shape)
    assert not messy.has_canonical_format
    data_before = messy.data.copy()
    _assert_same_model(_fit(messy), _fit(canonical))
    np.testing.assert_allclose(fitted.predict_proba(messy), fitted.predict_proba(canonical))
    np.testing.assert_array_equal(messy.data, data_before)  # the caller's matrix untouched
    assert not messy.has_canonical_format


def ok_tiny_X():
    est = _fit(X * 1e-300)
    assert np.all(np.isfinite(est._params)) and np.isfinite(est.loss_)
    _assert_sane_output(est, X * 1e-300)


def ok_subnormal_X():
    est = _fit(X * 1e-310)
    assert np.all(np.isfinite(est._params)) and np.isfinite(est.loss_)
    _assert_sane_output(est, X * 1e-310)


def ok_huge_finite_logits_at_predict():
    """Logits around 1e300 are finite: probabilities are the softmax's limit, 0 and 1."""
    lin = _fit(X, hidden_layer_sizes=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning either
        proba = lin.predict_proba(X * 1e300)
        log_proba = lin.predict_log_proba(X * 1e300)
        scores = lin.decision_function(X * 1e300)
    assert np.all(np.isfinite(proba)) and not np.any(np.isnan(log_proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(proba)) <= {0.0, 1.0}
    z = lin._logits(X * 1e300)
    np.testing.assert_array_equal(proba.argmax(axis=1), z.argmax(axis=1))
    np.testing.assert_array_equal(scores, z)
    np.testing.assert_array_equal(lin.predict(X * 1e300), lin.classes_[z.argmax(axis=1)])


def ok_huge_logits_difference_at_predict():
    """Two finite logits whose difference overflows: softmax (0, 1), no NaN, no warning."""
    lin = DendriticClassifier((), max_iter=1, tol=None, random_state=0).fit(X, y > 0)
    lin.coefs_[0][:] = 0.0
    lin.intercepts_[0][:] = [-1e308, 1e308]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(lin.predict_proba(X[:2]), [[0.0, 1.0], [0.0, 1.0]])
        np.testing.assert_array_equal(lin.predict_log_proba(X[:2])[:, 1], 0.0)
        assert np.all(lin.decision_function(X[:2]) == np.inf)
        np.testing.assert_array_equal(lin.predict(X[:2]), [True, True])


def ok_y_column_vector():
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        a = _fit(X, y.reshape(-1, 1))
    _assert_same_model(a, _fit(X))


def ok_partial_fit_classes_reordered_or_repeated(fitted):
    a, b = pickle.loads(pickle.dumps(fitted)), pickle.loads(pickle.dumps(fitted))
    a.partial_fit(X, y, classes=[2, 0, 1, 1])  # the same set: accepted, as in sklearn
    b.partial_fit(X, y)
    _assert_same_model(a, b)
    c = DendriticClassifier(**KW).partial_fit(X, y, classes=[2, 1, 0, 0])
    np.testing.assert_array_equal(c.classes_, CLASSES)


def ok_string_labels_and_huge_int_labels():
    names = np.array(["setosa", "versicolor", "virginica"])
    a, b = _fit(X, names[y]), _fit(X, y * 10**12)
    _assert_same_model(a, b)
    np.testing.assert_array_equal(a.predict(X), names[b.predict(X) // 10**12])


def ok_zero_weight_for_a_whole_class():
    """A class whose examples all have weight 0 is still a class; it is just never seen."""
    est = _fit(X, sample_weight=(y != 2).astype(float))
    np.testing.assert_array_equal(est.classes_, CLASSES)
    assert est.t_ == KW["max_iter"] * np.sum(y != 2)
    _assert_sane_output(est, X)


def ok_large_and_small_sample_weights():
    for scale in (1e-300, 1e300):
        est = _fit(X, sample_weight=np.full(40, scale))
        assert np.isfinite(est.loss_) and np.all(np.isfinite(est._params))
        _assert_sane_output(est, X)


OK_CASES = [
    ok_partial_fit_one_sample_with_classes,
    ok_fit_two_samples,
    ok_predict_one_row,
    ok_bool_X,
    ok_object_numeric_X,
    ok_list_X,
    ok_float16_X,
    ok_float32_X_stays_float32,
    *[_ok_sparse(fmt) for fmt in ("csc", "coo", "lil", "dok", "bsr", "dia")],
    ok_sparse_int_and_bool,
    ok_sparse_array_api,
    ok_csr_with_duplicates_and_unsorted_indices,
    ok_tiny_X,
    ok_subnormal_X,
    ok_huge_finite_logits_at_predict,
    ok_huge_logits_difference_at_predict,
    ok_y_column_vector,
    ok_partial_fit_classes_reordered_or_repeated,
    ok_string_labels_and_huge_int_labels,
    ok_zero_weight_for_a_whole_class,
    ok_large_and_small_sample_weights,
]


@pytest.mark.parametrize("check", OK_CASES, ids=lambda f: f.__name__[3:].replace("_", "-"))
def test_correct_behaviour(fitted_bytes, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn's dok warning
        if check.__code__.co_argcount:
            check(pickle.loads(fitted_bytes))
        else:
            check()


def test_int_X_gives_the_same_model_as_float_X():
    Xi = np.round(X * 10).astype(np.int64)
    for dtype in (np.int64, np.int32, np.int8, np.uint8):
        Xd = (Xi - Xi.min()).astype(dtype) if dtype == np.uint8 else Xi.astype(dtype)
        a, b = _fit(Xd), _fit(Xd.astype(np.float64))
        assert a._params.dtype == np.float64
        _assert_same_model(a, b)
        np.testing.assert_array_equal(a.predict_proba(Xd), b.predict_proba(Xd.astype(float)))
    # and the same for partial_fit continuing a float model with int data
    c = _fit(X)
    d = pickle.loads(pickle.dumps(c))
    c.partial_fit(Xi, y)
    d.partial_fit(Xi.astype(np.float64), y)
    _assert_same_model(c, d)


# --------------------------------------------------- extreme magnitudes in fit
@pytest.mark.parametrize(
    "params",
    [dict(rule="dendritic"), dict(rule="sgd"), dict(rule="adam"), dict(rule="rprop"),
     dict(rule="momentum"), dict(rule="dendritic", activation="relu"),
     dict(rule="sgd", hidden_layer_sizes=()), dict(rule="dendritic", alpha=1e-4)],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_huge_input_fit(fitted_bytes, params):
    """X * 1e300: a clear DivergenceError (nothing changed), or a model with finite outputs."""
    X_huge = X * 1e300
    fitted = DendriticClassifier(**{**KW, **params}).fit(X, y).set_params(warm_start=True)
    for est in (DendriticClassifier(**{**KW, **params}), fitted):
        before = pickle.dumps(est)
        try:
            est.fit(X_huge, y)
        except DivergenceError as exc:
            assert isinstance(exc, ValueError)
            assert "became non-finite during epoch" in str(exc)
            assert pickle.dumps(est) == before
            continue
        assert np.all(np.isfinite(est._params))
        assert np.all(np.isfinite(est.loss_curve_)) and np.isfinite(est.best_loss_)
        for data in (X, X_huge):
            try:
                proba = est.predict_proba(data)
            except ValueError as exc:  # an overflow is reported, never returned as NaN
                assert "The network's output overflowed" in str(exc)
                continue
            assert np.all(np.isfinite(proba))
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------------------------ feature names
def _df(columns=("a", "b", "c", "d", "e")):
    return pd.DataFrame(X, columns=list(columns))


def _messages(fn):
    """The warnings' messages and the exception's message of ``fn()``."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            fn()
            error = None
        except ValueError as exc:
            error = str(exc)
    return [str(w.message) for w in record], error


def _as_sklearn_does(make_call):
    """skadapt's messages equal LogisticRegression's, with the estimator's name swapped."""
    ours = _messages(lambda: make_call(DendriticClassifier(**KW)))
    theirs = _messages(lambda: make_call(LogisticRegression()))
    swap = [m.replace("LogisticRegression", "DendriticClassifier") for m in theirs[0]]
    ours_names = [m for m in ours[0] if "feature names" in m]
    assert ours_names == [m for m in swap if "feature names" in m]
    assert ours[1] == (None if theirs[1] is None else
                       theirs[1].replace("LogisticRegression", "DendriticClassifier"))
    return ours


def test_feature_names_are_stored_and_used():
    est = _fit(_df())
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d", "e"])
    assert est.feature_names_in_.dtype == object
    _assert_same_model(est, _fit(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matching names: no warning
        np.testing.assert_array_equal(est.predict_proba(_df()), _fit(X).predict_proba(X))
    # partial_fit and warm_start keep the names; a refit without names drops them
    est.partial_fit(_df(), y)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d", "e"])
    est.fit(X, y)
    assert not hasattr(est, "feature_names_in_")
    # non-string column names are not feature names (as in sklearn)
    assert not hasattr(_fit(pd.DataFrame(X)), "feature_names_in_")


@pytest.mark.parametrize(
    "case",
    ["renamed", "reordered", "ndarray-after-names", "names-after-ndarray"],
)
def test_feature_names_mismatch_warns_or_raises_as_sklearn(case):
    if case == "renamed":
        call = lambda e: e.fit(_df(), y).predict(_df("zbcde"))  # noqa: E731
    elif case == "reordered":
        call = lambda e: e.fit(_df(), y).predict(_df()[list("bacde")])  # noqa: E731
    elif case == "ndarray-after-names":
        call = lambda e: e.fit(_df(), y).predict(X)  # noqa: E731
    else:
        call = lambda e: e.fit(X, y).predict(_df())  # noqa: E731
    warned, error = _as_sklearn_does(call)
    if case in ("renamed", "reordered"):
        assert error.startswith("The feature names should match those that were passed")
    else:
        assert error is None
        assert any("feature names" in m for m in warned)


def test_feature_names_mismatch_in_partial_fit_leaves_the_model_unchanged():
    est = DendriticClassifier(**KW).partial_fit(_df(), y, classes=CLASSES)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="The feature names should match"):
        est.partial_fit(_df("zbcde"), y)
    with pytest.raises(ValueError, match="The feature names should match"):
        est.set_params(warm_start=True).fit(_df("zbcde"), y)
    est.set_params(warm_start=False)
    assert pickle.dumps(est) == before


def test_a_fit_that_learns_nothing_warns_and_says_what_to_try():
    """Raw wine (features up to 1,680) on sigmoid units with the RMS step, constant over
    the epochs, without input scaling or direct path, trains to the majority rate: a
    ConvergenceWarning says so, and what to try; the default learns it, silently;
    partial_fit (a stream's first steps) never warns of it."""
    from sklearn.datasets import load_wine

    Xw, yw = load_wine(return_X_y=True)
    old = dict(activation="sigmoid", base="rms", input_scaling=None, direct_path=False,
               epoch_decay=0.0, epoch_average=False)
    bad = DendriticClassifier(**old, random_state=0)
    with pytest.warns(ConvergenceWarning, match="learned nothing beyond the class freq"):
        bad.fit(Xw, yw)
    assert bad.score(Xw, yw) < 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good = DendriticClassifier(random_state=0, max_iter=500).fit(Xw, yw)
        DendriticClassifier(**old, random_state=0).partial_fit(Xw, yw, classes=np.unique(yw))
    assert good.score(Xw, yw) > 0.9


def test_a_one_pass_fit_that_learned_is_not_called_a_failure():
    """One pass over 2 digits of each class: the epoch's loss counts the first, ignorant
    examples and is above the frequencies', but the fitted model is well below them (and
    far above chance on the other digits): no 'learned nothing' warning."""
    from sklearn.datasets import load_digits

    Xd, yd = load_digits(return_X_y=True)
    few = np.concatenate([np.flatnonzero(yd == c)[:2] for c in range(10)])
    few = np.random.RandomState(0).permutation(few)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = DendriticClassifier(max_iter=1, tol=None, random_state=0).fit(Xd[few], yd[few])
    assert est.loss_curve_[0] > np.log(10) * 0.99  # the screen alone would have warned
    assert est.score(Xd, yd) > 0.3


def test_a_fit_whose_hidden_units_saturate_warns():
    """Moons in units a thousand times too large, without input scaling: the sigmoid units
    sit in their flat tails for nearly every example, and a ConvergenceWarning says so and
    what to try; with the default input scaling the same data gives no such warning."""
    from sklearn.datasets import make_moons

    Xm, ym = make_moons(500, noise=0.2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="hidden units are saturated"):
        DendriticClassifier(activation="sigmoid", base="rms", input_scaling=None,
                            epoch_decay=0.0, early_stopping=False,
                            random_state=0).fit(Xm * 1000, ym)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DendriticClassifier(random_state=0).fit(Xm * 1000, ym)
