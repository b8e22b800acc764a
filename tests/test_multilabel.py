"""Multilabel targets: a 2-D indicator matrix ``y`` trains sigmoid outputs with a binary
cross-entropy per label, as ``MLPClassifier`` does. The kernel's arithmetic is checked
against the NumPy reference in test_kernel_vs_reference.py, the errors (and that they
keep the fitted state) in test_bad_input.py, the export in test_export.py."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier

from skadapt import DendriticClassifier

from ._state import assert_same_state

KW = dict(hidden_layer_sizes=(16,), max_iter=10, tol=None, random_state=0,
          learning_rate_init=0.01)


@pytest.fixture(scope="module")
def data():
    X, Y = make_multilabel_classification(n_samples=300, n_features=12, n_classes=5,
                                          n_labels=2, random_state=0)
    return X, Y


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return DendriticClassifier(**KW).fit(X, Y)


def _digit_labels(y):
    """Four labels of a handwritten digit: even, at least 5, prime, drawn with a loop."""
    return np.column_stack([y % 2 == 0, y >= 5, np.isin(y, [2, 3, 5, 7]),
                            np.isin(y, [0, 6, 8, 9])]).astype(int)


def test_fitted_attributes_and_outputs_are_mlp_classifiers(data, fitted):
    """classes_, out_activation_, n_outputs_ and the shapes and types of every output as
    MLPClassifier gives them for the same indicator matrix."""
    X, Y = data
    mlp = MLPClassifier((16,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, Y)
    assert_attrs = ("out_activation_", "n_outputs_", "n_layers_")
    for name in assert_attrs:
        assert getattr(fitted, name) == getattr(mlp, name), name
    np.testing.assert_array_equal(fitted.classes_, mlp.classes_)
    np.testing.assert_array_equal(fitted.classes_, np.arange(5))
    assert fitted.out_activation_ == "logistic"
    pred, mlp_pred = fitted.predict(X), mlp.predict(X)
    assert pred.shape == mlp_pred.shape == Y.shape
    assert pred.dtype == mlp_pred.dtype
    assert set(np.unique(pred)) <= {0, 1}
    proba = fitted.predict_proba(X)
    assert proba.shape == mlp.predict_proba(X).shape == Y.shape
    z = fitted.decision_function(X)
    assert z.shape == Y.shape
    np.testing.assert_allclose(proba, expit(z), rtol=1e-14)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    # (log(p) of a p near 1 is good to about eps in absolute terms, not relative ones)
    np.testing.assert_allclose(fitted.predict_log_proba(X), np.log(proba), rtol=1e-12,
                               atol=1e-15)
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent labels, no softmax


def test_it_learns_the_labels(data, fitted):
    """Better than predicting each label's majority value, on every label; the score is
    the subset accuracy, as ClassifierMixin's (accuracy_score of indicator matrices)."""
    X, Y = data
    pred = fitted.predict(X)
    majority = np.maximum(Y.mean(axis=0), 1 - Y.mean(axis=0))
    assert np.all((pred == Y).mean(axis=0) > majority)
    assert fitted.score(X, Y) == accuracy_score(Y, pred)
    _, counts = np.unique(Y, axis=0, return_counts=True)  # the most frequent label set: 0.12
    assert fitted.score(X, Y) > 3 * counts.max() / len(Y)
    assert fitted.score(X, Y) == np.mean(np.all(pred == Y, axis=1))
    sw = np.random.RandomState(0).uniform(0, 2, len(Y))
    assert fitted.score(X, Y, sample_weight=sw) == accuracy_score(Y, pred, sample_weight=sw)


@pytest.mark.parametrize("represent", [
    lambda Y: Y.tolist(), lambda Y: list(Y), lambda Y: Y.astype(bool),
    lambda Y: Y.astype(np.float32), lambda Y: sp.csr_matrix(Y), lambda Y: sp.csc_matrix(Y),
], ids=["list-of-lists", "list-of-arrays", "bool", "float32", "csr", "csc"])
def test_every_representation_of_the_indicator_matrix_trains_the_same(data, fitted,
                                                                      represent):
    X, Y = data
    est = DendriticClassifier(**KW).fit(X, represent(Y))
    np.testing.assert_array_equal(est._params, fitted._params)
    assert est.loss_curve_ == fitted.loss_curve_


def test_a_sparse_indicator_matrix_gives_sparse_predictions(data, fitted):
    """As MLPClassifier (its LabelBinarizer): fitted on a sparse y, predict returns CSR."""
    X, Y = data
    est = DendriticClassifier(**KW).fit(X, sp.csr_matrix(Y))
    pred = est.predict(X)
    assert sp.issparse(pred) and pred.format == "csr"
    np.testing.assert_array_equal(pred.toarray(), fitted.predict(X))
    assert est.score(X, sp.csr_matrix(Y)) == fitted.score(X, Y)
    est.partial_fit(X[:10], Y[:10])  # a dense y later: still the sparse model
    assert sp.issparse(est.predict(X[:3]))
    assert not sp.issparse(fitted.predict(X[:3]))


def test_a_single_column_is_a_binary_target_with_a_warning(data):
    """A column vector is the 1-D y of a binary problem (softmax outputs), as everywhere in
    scikit-learn, with its DataConversionWarning."""
    X, Y = data
    with pytest.warns(DataConversionWarning):
        est = DendriticClassifier(**KW).fit(X, Y[:, :1])
    flat = DendriticClassifier(**KW).fit(X, Y[:, 0])
    assert est.out_activation_ == "softmax"
    np.testing.assert_array_equal(est._params, flat._params)


def test_partial_fit_is_one_epoch_of_fit(data):
    """partial_fit on an indicator matrix (classes: the label indices) is one epoch of fit,
    bit for bit, and keeps learning over calls."""
    X, Y = data
    kw = dict(KW, max_iter=1, shuffle=False)
    est = DendriticClassifier(**kw).partial_fit(X, Y, classes=np.arange(5))
    np.testing.assert_array_equal(est._params, DendriticClassifier(**kw).fit(X, Y)._params)
    assert est.out_activation_ == "logistic" and est.t_ == len(Y)
    est.partial_fit(X[:1], Y[:1])
    est.partial_fit(X[1:2], Y[1:2], classes=np.arange(5))
    assert est.t_ == len(Y) + 2


def test_warm_start_continues(data):
    X, Y = data
    kw = dict(KW, shuffle=False)
    once = DendriticClassifier(**{**kw, "max_iter": 4}).fit(X, Y)
    twice = DendriticClassifier(**{**kw, "max_iter": 2, "warm_start": True}).fit(X, Y).fit(X, Y)
    np.testing.assert_allclose(twice._params, once._params, rtol=1e-12, atol=1e-15)
    assert len(twice.loss_curve_) == 4


def test_zero_sample_weights_leave_the_examples_out(data):
    """sample_weight weights each example's loss (all its labels), as MLPClassifier's; a
    zero weight leaves the example out, bit for bit."""
    X, Y = data
    sw = np.ones(len(Y))
    sw[::3] = 0.0
    weighted = DendriticClassifier(**KW).fit(X, Y, sample_weight=sw)
    kept = DendriticClassifier(**KW).fit(X[sw > 0], Y[sw > 0])
    np.testing.assert_array_equal(weighted._params, kept._params)
    doubled = DendriticClassifier(**KW).fit(X, Y, sample_weight=2 * np.ones(len(Y)))
    assert not np.array_equal(doubled._params, DendriticClassifier(**KW).fit(X, Y)._params)


def test_early_stopping_scores_subset_accuracy(data):
    X, Y = data
    est = DendriticClassifier(**{**KW, "tol": 1e-4, "max_iter": 30},
                              early_stopping=True, n_iter_no_change=3).fit(X, Y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ and est.best_validation_score_ == max(scores)
    # each score is a subset accuracy: a multiple of 1 / (30 validation examples)
    np.testing.assert_allclose(np.array(scores) * 30, np.round(np.array(scores) * 30),
                               atol=1e-9)
    assert max(scores) > 0.3


def test_two_labels_keep_two_columns(data):
    """Two labels are not two classes: decision_function gives both logits."""
    X, Y = data
    est = DendriticClassifier(**KW).fit(X, Y[:, :2])
    assert est.decision_function(X).shape == (len(Y), 2)
    assert est.predict_proba(X).shape == (len(Y), 2)
    assert est.predict(X).shape == (len(Y), 2)


def test_float32_input_trains_in_float32(data):
    X, Y = data
    est = DendriticClassifier(**KW).fit(X.astype(np.float32), Y)
    assert est._params.dtype == np.float32
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(est.predict_proba(X), DendriticClassifier(**KW).fit(
        X, Y).predict_proba(X), atol=1e-3)


def test_pickle_round_trip(data, fitted):
    X, Y = data
    loaded = pickle.loads(pickle.dumps(fitted))
    assert_same_state(loaded, fitted)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    loaded.partial_fit(X[:5], Y[:5])
    assert loaded.t_ == fitted.t_ + 5


def test_a_fresh_fit_may_change_the_kind_of_target(data, fitted):
    """Only continuing (partial_fit, warm_start) must keep the kind of target: a fresh fit
    starts a new model, multiclass after multilabel and back."""
    X, Y = data
    est = pickle.loads(pickle.dumps(fitted))
    est.fit(X, Y[:, 0] + 2 * Y[:, 1])
    assert est.out_activation_ == "softmax" and est.predict(X).ndim == 1
    est.fit(X, Y)
    assert est.out_activation_ == "logistic" and est.predict(X).shape == Y.shape


# ------------------------------------------------------------------ change detector
@pytest.mark.parametrize("n_flipped, lr", [(4, 0.003), (2, 0.01)])
def test_detector_fires_after_the_labels_flip_and_only_then(n_flipped, lr):
    """The detector reads the mean binary cross-entropy over the labels: after some of the
    four labels of a digit flip (all of them; two, with a model that has learnt them
    better: the mean gives half the signal), it fires soon, and never before the change;
    without the detector the model is slower to recover."""
    X, y = load_digits(return_X_y=True)
    X = X[:1200] / 16.0
    Y = _digit_labels(y[:1200])
    Y[600:, :n_flipped] = 1 - Y[600:, :n_flipped]
    fits = {}
    for threshold in (10.0, None):
        est = DendriticClassifier((32,), shuffle=False, random_state=0, learning_rate_init=lr,
                                  drift_threshold=threshold)
        for start in range(0, 1200, 10):
            est.partial_fit(X[start : start + 10], Y[start : start + 10], classes=np.arange(4))
        fits[threshold] = est
    detected = fits[10.0].drift_detected_
    assert len(detected) >= 1
    assert 600 < detected[0] <= 700
    assert len(fits[None].drift_detected_) == 0
    # prequential loss (before each example's update) of the 100 examples after detection
    after = slice(detected[0] // 10 + 1, detected[0] // 10 + 11)
    assert np.mean(fits[10.0].loss_curve_[after]) < np.mean(fits[None].loss_curve_[after])


def test_detector_that_does_not_fire_changes_nothing_for_multilabel():
    X, y = load_digits(return_X_y=True)
    Y = _digit_labels(y)
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, tol=None, random_state=0)
    on = DendriticClassifier(**kw).fit(X / 16.0, Y)
    off = DendriticClassifier(drift_threshold=None, **kw).fit(X / 16.0, Y)
    assert len(on.drift_detected_) == 0 and len(off.drift_detected_) == 0
    np.testing.assert_array_equal(on._params, off._params)
    assert on.score(X / 16.0, Y) > 0.7  # (the most frequent label set: 0.2)


def test_a_multilabel_fit_that_learns_nothing_warns(data):
    """The baseline of the 'learned nothing' warning is each label's frequency: inputs
    that carry nothing (all zero) leave only the frequencies to learn, and warn; the
    learnable labels do not."""
    from sklearn.exceptions import ConvergenceWarning

    X, Y = data
    with pytest.warns(ConvergenceWarning, match="learned nothing"):
        DendriticClassifier(**KW).fit(np.zeros_like(X), Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DendriticClassifier(**KW).fit(X, Y)
