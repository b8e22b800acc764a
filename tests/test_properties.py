"""Property-based tests (hypothesis): invariants over random problems.

Random shapes (2-40 samples, 1-8 features), 2-4 classes labelled by ints or
strings, float32 or float64, dense or CSR with random zeros, optional positive
sample weights; small networks and two epochs keep each example fast.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from skadapt import DendriticClassifier
from skadapt.exceptions import DivergenceError

pytestmark = [
    pytest.mark.filterwarnings("ignore:Got `batch_size` larger:UserWarning"),
    # random labels and a few epochs: the fits learn little, and may say so
    pytest.mark.filterwarnings(
        "ignore:The model learned nothing:sklearn.exceptions.ConvergenceWarning"),
]

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw, labels="any"):
    """(X, y, sample_weight, estimator parameters)."""
    n_samples = draw(st.integers(2, 40))
    n_features = draw(st.integers(1, 8))
    n_classes = draw(st.integers(2, min(4, n_samples)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    X = (rng.randn(n_samples, n_features) * scale).astype(dtype)
    zero_fraction = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    X[rng.rand(n_samples, n_features) < zero_fraction] = 0
    if draw(st.booleans()):
        X = sp.csr_matrix(X)
    # every class appears at least once
    idx = np.concatenate([np.arange(n_classes), rng.randint(0, n_classes, n_samples - n_classes)])
    idx = idx[rng.permutation(n_samples)]
    kind = draw(st.sampled_from(["int", "str"])) if labels == "any" else labels
    if kind == "int":
        values = np.sort(rng.choice(np.arange(-500, 1000), n_classes, replace=False))
    else:
        values = np.array(sorted(draw(st.sets(st.text("abcxyz", min_size=1, max_size=4),
                                              min_size=n_classes, max_size=n_classes))))
    y = values[idx]
    sample_weight = None
    if draw(st.booleans()):
        sample_weight = rng.uniform(0.1, 3.0, n_samples)
    params = dict(
        hidden_layer_sizes=draw(st.sampled_from([(), (3,)])),
        activation=draw(st.sampled_from(["sigmoid", "logistic", "relu", "tanh"])),
        rule=draw(st.sampled_from(["dendritic", "sgd", "adam", "rprop"])),
        batch_size=draw(st.sampled_from([1, 3, None, "auto"])),
        direct_path=draw(st.booleans()),
        input_scaling=draw(st.sampled_from(["max_abs", None])),
        shuffle=draw(st.booleans()),
        max_iter=2,
        tol=None,
        random_state=seed % 1000,
    )
    return X, y, sample_weight, params


def _fit(X, y, sample_weight, params):
    """Fit, or reject the example when training diverges.

    Inputs of scale 1e3 can make a run diverge (a DivergenceError, tested in
    test_divergence.py); such a run is not an example of the properties below.
    Comparisons fit their first model with this helper and the others directly,
    so the others must then train too.
    """
    try:
        return DendriticClassifier(**params).fit(X, y, sample_weight=sample_weight)
    except DivergenceError:
        reject()


def _proba(clf, X):
    """predict_proba, or reject the example when the trained network's output
    overflows on X (a ValueError, tested in test_bad_input.py)."""
    try:
        return clf.predict_proba(X)
    except ValueError as exc:
        if "overflowed" not in str(exc):
            raise
        reject()


@SETTINGS
@given(problems())
def test_probabilities_and_predictions_are_consistent(problem):
    X, y, sample_weight, params = problem
    clf = _fit(X, y, sample_weight, params)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    proba = _proba(clf, X)
    assert proba.shape == (X.shape[0], len(clf.classes_))
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    tol = 1e-6 if proba.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=tol)
    log_proba = clf.predict_log_proba(X)
    assert not np.any(np.isnan(log_proba))
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
    scores = clf.decision_function(X)
    assert np.all(np.isfinite(scores))
    if len(clf.classes_) == 2:
        assert scores.shape == (X.shape[0],)
        by_score = (scores > 0).astype(int)
    else:
        by_score = np.argmax(scores, axis=1)
    # predict takes the largest probability (as MLPClassifier): where two logits differ by
    # less than the softmax's rounding, their probabilities are equal and predict takes
    # the first; the largest score may be the other one, never a less probable class
    rows = np.arange(X.shape[0])
    chosen = np.searchsorted(clf.classes_, pred)
    np.testing.assert_array_equal(proba[rows, chosen], proba[rows, by_score])
    assert np.isfinite(clf.loss_) and clf.n_iter_ == 2


@SETTINGS
@given(problems())
def test_the_same_seed_gives_identical_results(problem):
    X, y, sample_weight, params = problem
    a = _fit(X, y, sample_weight, params)
    b = DendriticClassifier(**params).fit(X, y, sample_weight=sample_weight)
    assert a._params.tobytes() == b._params.tobytes()
    np.testing.assert_array_equal(_proba(a, X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.loss_curve_ == b.loss_curve_


@SETTINGS
@given(problems(labels="int"))
def test_order_preserving_renaming_of_labels_changes_nothing(problem):
    X, y, sample_weight, params = problem
    ints = np.unique(y) + 500  # 0..1499: "c0000".."c1499" sorts like the numbers
    renamed = np.array([f"c{i:04d}" for i in ints])
    shifted = y + 500
    a = _fit(X, shifted, sample_weight, params)
    b = DendriticClassifier(**params).fit(X, renamed[np.searchsorted(ints, shifted)],
                                          sample_weight=sample_weight)
    np.testing.assert_array_equal(b.classes_, renamed)
    assert a._params.tobytes() == b._params.tobytes()
    np.testing.assert_array_equal(_proba(a, X), b.predict_proba(X))
    np.testing.assert_array_equal(renamed[np.searchsorted(ints, a.predict(X))], b.predict(X))


@SETTINGS
@given(problems())
def test_dense_and_sparse_input_give_the_same_model(problem):
    X, y, sample_weight, params = problem
    dense = X.toarray() if sp.issparse(X) else X
    a = _fit(dense, y, sample_weight, params)
    b = DendriticClassifier(**params).fit(sp.csr_matrix(dense), y, sample_weight=sample_weight)
    p_dense = _proba(a, dense)
    rtol = 1e-5 if dense.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(a._params, b._params, rtol=rtol, atol=rtol)
    # the same model on dense and on sparse input: equal up to the rounding of the sums
    # (BLAS and scipy add in other orders), which grows with the logits' magnitude;
    # the softmax moves no probability by more than half the largest logit change
    z_dense, z_sparse = a._logits(dense), a._logits(sp.csr_matrix(dense))
    atol = 1e3 * np.finfo(dense.dtype).eps * (1 + np.abs(z_dense).max())
    np.testing.assert_allclose(z_sparse, z_dense, rtol=0, atol=atol)
    np.testing.assert_allclose(a.predict_proba(sp.csr_matrix(dense)), p_dense,
                               rtol=0, atol=atol)


@SETTINGS
@given(problems(), st.data())
def test_input_scaling_makes_the_model_invariant_to_each_features_scale(problem, data):
    """With ``input_scaling``, multiplying each feature by its own power of two (of four
    with ``"auto"`` and ``"standard"``, whose standard deviations are square roots: exact
    in floating point either way) gives the same network on the transformed inputs: the
    raw weights of the features seen non-zero divided by the factors, identical
    probabilities; ``partial_fit`` too. ``"auto"`` keeps the relative spread of dense
    features whose spreads are alike (the ratio of two of them is information it keeps),
    so it is invariant to one factor of every feature, not to a factor of each."""
    X, y, sample_weight, params = problem
    how = data.draw(st.sampled_from(["max_abs", "auto", "standard"]))
    params = dict(params, input_scaling=how)
    exponents = np.array(data.draw(st.lists(st.integers(-10, 10), min_size=X.shape[1],
                                            max_size=X.shape[1])))
    if how == "auto":
        exponents[:] = exponents[0] if len(exponents) else 0
    factor = np.exp2(exponents * (1 if how == "max_abs" else 2)).astype(X.dtype)
    Xc = X.multiply(factor).tocsr() if sp.issparse(X) else X * factor
    a = _fit(X, y, sample_weight, params)
    b = DendriticClassifier(**params).fit(Xc, y, sample_weight=sample_weight)
    seen = a._state["in_stats"][0] > 0  # (a feature never seen non-zero keeps its weights)
    np.testing.assert_array_equal(b.input_scale_[seen], (a.input_scale_ * factor)[seen])
    np.testing.assert_array_equal(b.input_offset_, a.input_offset_ * factor)
    np.testing.assert_array_equal((b.coefs_[0] * factor[:, None])[seen], a.coefs_[0][seen])
    np.testing.assert_array_equal(b.predict_proba(Xc), _proba(a, X))
    a.partial_fit(X, y, sample_weight=sample_weight)
    b.partial_fit(Xc, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(b.predict_proba(Xc), _proba(a, X))
