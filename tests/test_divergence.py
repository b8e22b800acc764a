"""Divergence: a step that makes the loss or the weights non-finite raises
skadapt.DivergenceError (a ValueError) and the estimator keeps the state it had.

"Keeps" is checked byte for byte: the estimator's pickle is identical before and
after the failed call (parameters, optimiser state, random state, history), an
unfitted estimator stays unfitted, and training continues afterwards exactly as if
the failed call had never happened (compared value by value, tests/_state.py).
"""

import pickle
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skadapt import DendriticClassifier, DivergenceError

from ._state import assert_same_state


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


# Each rule with parameters that make it diverge; the input scale is part of the recipe.
DIVERGING = {
    "sgd": (dict(rule="sgd", learning_rate_init=1e6, hidden_layer_sizes=()), 1e200),
    "momentum": (dict(rule="momentum", learning_rate_init=1e6, hidden_layer_sizes=()), 1e200),
    "adam": (dict(rule="adam", learning_rate_init=1e307), 1.0),
    "rprop": (dict(rule="rprop", learning_rate_init=1e300, max_gain=1e10,
                   rprop_increase=1e5), 1.0),
    # a large max_gain lets the gain grow without bound: diverges after a few epochs
    "dendritic-max_gain": (dict(rule="dendritic", learning_rate_init=1e200, max_gain=1e300,
                                growth="multiplicative", gain_up=1e10), 1.0),
    "dendritic-unit": (dict(rule="dendritic", scope="unit", learning_rate_init=1e200,
                            max_gain=1e300, growth="multiplicative", gain_up=1e10), 1.0),
    "dendritic-dendrite": (dict(rule="dendritic", scope="dendrite", learning_rate_init=1e200,
                                max_gain=1e300, growth="multiplicative", gain_up=1e10), 1.0),
    # relaxation in time on: the clocks are written too
    "dendritic-relax": (dict(rule="dendritic", relax_time=5.0, learning_rate_init=1e200,
                             max_gain=1e300, growth="multiplicative", gain_up=1e10), 1.0),
}
# the same rules with parameters that train normally
SANE = dict(learning_rate_init=1e-3, max_gain=10.0, rprop_increase=1.2, gain_up=1.1)
# (the recipes are for the sigmoid network on the raw inputs: input scaling would bring the
# inputs scaled by 1e200 back to [-1, 1], the default's direct path starts at zero, and
# sigmoid units bound what huge surviving weights pass on to the sane calls that follow)
BASE = dict(hidden_layer_sizes=(10,), activation="sigmoid", max_iter=5, tol=None,
            random_state=0, direct_path=False, input_scaling=None)

MESSAGE = r"Training diverged: the (loss|weights) became non-finite during epoch \d+"


def _sane(params):
    return {**params, **{k: v for k, v in SANE.items() if k in params}}


def _raises_divergence(est, X, y, method="fit", **kw):
    with pytest.raises(DivergenceError, match=MESSAGE) as info:
        getattr(est, method)(X, y, **kw)
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, FloatingPointError)
    assert f"rule={est.rule!r}" in str(exc)
    assert "keeps its previous state" in str(exc)
    return exc


@pytest.mark.parametrize("name", DIVERGING)
def test_fit_from_scratch_stays_unfitted(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **params})
    before = pickle.dumps(est)
    _raises_divergence(est, X * scale, y)
    assert pickle.dumps(est) == before
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    for attr in ("classes_", "n_features_in_", "n_iter_", "loss_curve_", "coefs_"):
        assert not hasattr(est, attr)


@pytest.mark.parametrize("name", DIVERGING)
def test_refit_without_warm_start_keeps_the_previous_fit(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **_sane(params)}).fit(X, y)
    proba = est.predict_proba(X)
    est.set_params(**params)
    before = pickle.dumps(est)
    _raises_divergence(est, X * scale, y)
    assert pickle.dumps(est) == before
    np.testing.assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("name", DIVERGING)
def test_fit_with_warm_start_keeps_state_and_continues_unaffected(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **_sane(params)}, warm_start=True).fit(X, y)
    twin = pickle.loads(pickle.dumps(est))  # never sees the failing call
    est.set_params(**params)
    before = pickle.dumps(est)
    _raises_divergence(est, X * scale, y)
    assert pickle.dumps(est) == before
    # the failed call left no trace: continuing gives exactly what the twin gets
    est.set_params(**_sane(params)).fit(X, y)
    twin.fit(X, y)
    assert_same_state(est, twin)
    assert est.n_iter_ == BASE["max_iter"] and len(est.loss_curve_) == 2 * BASE["max_iter"]


def _partial_fit_until_divergence(est, X, y):
    """partial_fit until a call diverges (some rules need a few calls); assert that the
    failed call left the estimator byte for byte as it was; return the successful calls."""
    survived = 0
    while True:
        before = pickle.dumps(est)
        try:
            est.partial_fit(X, y)
        except DivergenceError as exc:
            assert re.search(MESSAGE, str(exc))
            break
        survived += 1
        assert survived < 10, "partial_fit did not diverge"
    assert pickle.dumps(est) == before
    return survived


@pytest.mark.parametrize("name", DIVERGING)
def test_partial_fit_is_bit_identical_after_divergence(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **_sane(params)})
    est.partial_fit(X, y, classes=np.arange(10))
    twin = pickle.loads(pickle.dumps(est))
    est.set_params(**params)
    survived = _partial_fit_until_divergence(est, X * scale, y)
    # the failed call left no trace: the twin, given the same successful calls, agrees
    twin.set_params(**params)
    for _ in range(survived):
        twin.partial_fit(X * scale, y)
    assert_same_state(twin, est)
    est.set_params(**_sane(params)).partial_fit(X, y)
    twin.set_params(**_sane(params)).partial_fit(X, y)
    assert_same_state(est, twin)


@pytest.mark.parametrize("name", ["sgd", "adam", "dendritic-max_gain", "dendritic-relax"])
def test_partial_fit_shares_only_what_training_never_writes(digits, name):
    """partial_fit trains a private copy of the state, except for the arrays that the
    configuration never writes, which the copy shares with the fitted state: all of
    sgd's state, the other baselines' gains and clocks, the gain rules' clocks while
    relaxation is off. (Every rule's divergence test above then checks that a failed
    call leaves the fitted state byte for byte as it was.)"""
    params, _ = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **_sane(params)})
    est.partial_fit(X, y, classes=np.arange(10))
    est.partial_fit(X, y)  # the first call's arrays hold the next call's copy
    old = est._state
    est.partial_fit(X, y)
    shared = [k for k in ("pstate", "gstate", "glast") if old[k] is est._state[k]]
    assert shared == {"sgd": ["pstate", "gstate", "glast"], "adam": ["gstate", "glast"],
                      "dendritic-max_gain": ["glast"], "dendritic-relax": []}[name]
    assert old["counters"] is not est._state["counters"]
    assert est._spare[0] is not est._params


def test_partial_fit_that_switches_relaxation_on_and_diverges_keeps_the_clocks(digits):
    """Without relaxation the clocks are shared between the fitted state and a
    partial_fit's copy. A call that switches relaxation on sets every clock (in its own
    copy) and, here, diverges: the fitted state, clocks included, must be as it was, and
    training afterwards must agree with a twin that never saw the failed call."""
    params, _ = DIVERGING["dendritic-max_gain"]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **_sane(params)})
    est.partial_fit(X, y, classes=np.arange(10))
    est.partial_fit(X, y)
    assert est._spare[1]["glast"] is est._state["glast"]  # shared, as this test needs
    twin = pickle.loads(pickle.dumps(est))
    for model in (est, twin):
        model.set_params(**DIVERGING["dendritic-relax"][0])
    survived = _partial_fit_until_divergence(est, X, y)
    for _ in range(survived):
        twin.partial_fit(X, y)
    assert_same_state(twin, est)
    sane = _sane(DIVERGING["dendritic-relax"][0])
    est.set_params(**sane).partial_fit(X, y)
    twin.set_params(**sane).partial_fit(X, y)
    assert_same_state(est, twin)
    assert np.all(est._state["glast"] > 0)  # the clocks did run


@pytest.mark.parametrize("name", ["sgd", "dendritic-max_gain"])
def test_first_partial_fit_stays_unfitted(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **params})
    before = pickle.dumps(est)
    # dendritic needs several updates to blow up: repeat the data within one call
    reps = 1 if name == "sgd" else 5
    with pytest.raises(DivergenceError, match=MESSAGE):
        est.partial_fit(np.tile(X * scale, (reps, 1)), np.tile(y, reps), classes=np.arange(10))
    assert pickle.dumps(est) == before
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_divergence_after_successful_epochs_of_the_same_call(digits, monkeypatch):
    """Epochs 1 and 2 of this fit succeeded, epoch 3 diverges: none of them is kept."""
    X, y = digits
    est = DendriticClassifier(**BASE, warm_start=True).fit(X, y)
    before = pickle.dumps(est)
    original = DendriticClassifier._epoch
    calls = []

    def epoch(self, model, *args):
        calls.append(model.n_iter)
        if len(calls) == 3:
            model.params[:] = np.inf  # what a diverging kernel step leaves behind
            raise DivergenceError("Training diverged: simulated")
        return original(self, model, *args)

    monkeypatch.setattr(DendriticClassifier, "_epoch", epoch)
    with pytest.raises(DivergenceError, match="simulated"):
        est.fit(X, y)
    assert calls == [0, 1, 2]  # the epochs of this call done before each
    assert pickle.dumps(est) == before


def test_overflowing_l2_term_is_a_divergence_and_no_l2_term_is_no_nan(digits):
    """Finite but huge weights: with alpha > 0 the penalised loss overflows (an error);
    with alpha = 0 there is no penalty, so the loss must stay finite (not 0 * inf)."""
    X, y = digits
    for alpha in (0.0, 1e-4):
        est = DendriticClassifier((), rule="sgd", alpha=alpha, max_iter=1, random_state=0)
        est.fit(X, y)
        est.coefs_[0][:] = 1e160  # finite; its square is not
        zeros = np.zeros_like(X)  # so the data loss stays finite
        if alpha:
            before = pickle.dumps(est)
            with pytest.raises(DivergenceError, match="the loss became non-finite"):
                est.partial_fit(zeros, y)
            assert pickle.dumps(est) == before
        else:
            est.partial_fit(zeros, y)
            assert np.isfinite(est.loss_) and np.all(np.isfinite(est.loss_curve_))
            assert np.isfinite(est.best_loss_)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_divergence_with_early_stopping_keeps_state(digits, name):
    params, scale = DIVERGING[name]
    X, y = digits
    est = DendriticClassifier(**{**BASE, **params}, early_stopping=True)
    before = pickle.dumps(est)
    _raises_divergence(est, X * scale, y)
    assert pickle.dumps(est) == before
