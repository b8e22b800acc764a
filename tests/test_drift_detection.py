"""The change detector (``drift_threshold``): when it fires, what it clears, and that it
changes nothing while it does not fire. Its arithmetic is checked against the NumPy
reference in test_kernel_vs_reference.py."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError

from skadapt import DendriticClassifier
from skadapt.streams import make_stream, prequential


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.mark.parametrize("seed", [0, 1])
def test_label_permutation_is_detected_soon_after_the_change_and_only_then(seed):
    stream = make_stream("label", "digits", n_samples=1000, random_state=seed)
    [change] = stream.change_points
    est = DendriticClassifier((32,), shuffle=False, random_state=seed,
                              learning_rate_init=0.003)
    on = prequential(est, stream, batch_size=10)
    [detected] = est.drift_detected_
    assert change < detected <= change + 50
    off = prequential(DendriticClassifier((32,), shuffle=False, random_state=seed,
                                          learning_rate_init=0.003, drift_threshold=None),
                      stream, batch_size=10)
    # relearning the linear path from the new examples recovers faster than unlearning it
    assert on.changes[0]["post_accuracy"] > off.changes[0]["post_accuracy"] + 0.05


def test_a_detected_change_clears_the_direct_path_and_keeps_the_layers(digits):
    X, y = digits
    est = DendriticClassifier((16,), shuffle=False, random_state=0, learning_rate_init=0.003)
    est.partial_fit(X[:600], y[:600], classes=np.unique(y))
    assert len(est.drift_detected_) == 0
    coefs = [c.copy() for c in est.coefs_]
    # one example of a permuted concept after the other: the detector fires on one of them
    perm = (y + 1) % 10
    for i in range(600, 700):
        est.partial_fit(X[i : i + 1], perm[i : i + 1])
        if len(est.drift_detected_):
            break
    [detected] = est.drift_detected_
    assert detected == est.t_
    # the example that fired was learned after the clearing: the path holds only its
    # step (weights of the size of one step: the default base="adagrad" starts its steps at
    # learning_rate_init / sqrt(1 - beta_2)); the layers kept what they had learnt
    assert np.abs(est.direct_coef_).max() <= 10 * est.learning_rate_init / np.sqrt(1 - est.beta_2)
    for before, after in zip(coefs, est.coefs_, strict=True):
        assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.9


def test_detector_that_does_not_fire_changes_nothing(digits):
    """On stationary data the detector reads the losses and never fires: the weights are
    those of a learner without it, bit for bit (also over several epochs of fit)."""
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, tol=None, random_state=0)
    on = DendriticClassifier(**kw).fit(X, y)
    off = DendriticClassifier(drift_threshold=None, **kw).fit(X, y)
    assert len(on.drift_detected_) == 0 and len(off.drift_detected_) == 0
    np.testing.assert_array_equal(on._params, off._params)


@pytest.mark.parametrize("kw", [dict(direct_path=False), dict(hidden_layer_sizes=())],
                         ids=["no-direct-path", "linear"])
def test_without_a_direct_path_there_is_nothing_to_clear(kw):
    """The detector runs only where there is a direct path to clear: elsewhere
    drift_threshold changes nothing, even where its threshold would be crossed."""
    stream = make_stream("label", "digits", n_samples=600, random_state=0)
    fits = []
    for threshold in (0.5, None):
        est = DendriticClassifier(**{"hidden_layer_sizes": (16,), **kw}, shuffle=False,
                                  random_state=0, drift_threshold=threshold)
        prequential(est, stream, batch_size=20)
        assert len(est.drift_detected_) == 0
        fits.append(est._params)
    np.testing.assert_array_equal(*fits)


def test_detections_accumulate_over_calls_and_a_fresh_fit_forgets_them(digits):
    X, y = digits
    est = DendriticClassifier((16,), shuffle=False, random_state=0, learning_rate_init=0.003,
                              drift_threshold=2.0)
    classes = np.unique(y)
    concepts = [y, (y + 3) % 10, y]
    for k, labels in enumerate(concepts):
        for start in range(400 * k, 400 * (k + 1), 50):
            est.partial_fit(X[start : start + 50], labels[start : start + 50], classes=classes)
    detected = est.drift_detected_
    assert len(detected) >= 2 and np.all(np.diff(detected) > 0)
    assert detected[0] > 400 and detected[-1] > 800
    est.set_params(drift_threshold=None).fit(X[:100], y[:100])
    assert est.drift_detected_.shape == (0,)


@pytest.mark.parametrize("value", [0, -1.0, "high"])
def test_invalid_threshold_raises(digits, value):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="drift_threshold"):
        DendriticClassifier(drift_threshold=value).fit(X[:50], y[:50])
