"""KeyboardInterrupt during fit: keep the last completed epoch, consistently, and
warn "Training interrupted by user." as MLPClassifier does.

The interrupt is simulated by wrapping ``DendriticClassifier._epoch`` (called once
per epoch). A real Ctrl-C cannot land inside the compiled kernel; Python handles it
at the next bytecode, i.e. before the kernel starts or after it has updated the
parameters in place and before the epoch's bookkeeping. Both are simulated
(``when="before"`` and ``when="after"``).
"""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from skadapt import DendriticClassifier
from skadapt._network import init_params

from ._state import assert_same_state

WHEN = ["before", "after"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def _interrupt_at(monkeypatch, call, when):
    """Make the ``call``-th epoch (counting from 1) raise KeyboardInterrupt."""
    original = DendriticClassifier._epoch
    calls = []

    def epoch(self, *args, **kwargs):
        calls.append(None)
        if len(calls) == call and when == "before":
            raise KeyboardInterrupt
        loss = original(self, *args, **kwargs)
        if len(calls) == call and when == "after":  # params already updated in place
            raise KeyboardInterrupt
        return loss

    monkeypatch.setattr(DendriticClassifier, "_epoch", epoch)
    return calls


# max_abs: an exact input transform (powers of two), so that a continued fit is bit for bit
# the uninterrupted one (the default's centring is folded into the biases at every call,
# which rounds)
KW = dict(hidden_layer_sizes=(15,), tol=None, random_state=0, input_scaling="max_abs")


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("rule", ["dendritic", "adam", "rprop"])
def test_interrupt_keeps_the_completed_epochs(digits, monkeypatch, when, shuffle, rule):
    X, y = digits
    kw = dict(KW, rule=rule, shuffle=shuffle)
    reference = DendriticClassifier(max_iter=2, **kw).fit(X, y)
    longer = DendriticClassifier(max_iter=3, **kw).fit(X, y)
    est = DendriticClassifier(max_iter=10, **kw)
    calls = _interrupt_at(monkeypatch, 3, when)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert len(calls) == 3
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2
    assert est.t_ == 2 * len(y)
    assert est.loss_ == est.loss_curve_[-1] and est.best_loss_ == min(est.loss_curve_)
    # it predicts, exactly as the reference
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
    assert np.isin(est.predict(X), est.classes_).all()
    # exactly the model of max_iter=2 (weights, optimiser state, random state, history)
    assert_same_state(est, reference, ignore=("max_iter",))
    # and it goes on as if never interrupted (shuffling included)
    monkeypatch.undo()
    est.set_params(warm_start=True, max_iter=1).fit(X, y)
    assert est.n_iter_ == 1  # the epochs of the last call (as MLPClassifier counts them)
    assert_same_state(est, longer, ignore=("max_iter", "warm_start", "n_iter_"))


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("average", [True, False])
def test_interrupt_late_keeps_the_completed_epochs_and_their_average(digits, monkeypatch,
                                                                     when, average):
    """Online, interrupted in the 7th epoch: the model of 6 epochs, with the average of
    their weights (each epoch's copy is written into the one before last's: the 5th's,
    while the 6th's is kept)."""
    X, y = digits
    kw = dict(KW, batch_size=1, epoch_average=average)
    reference = DendriticClassifier(max_iter=6, **kw).fit(X, y)
    est = DendriticClassifier(max_iter=10, **kw)
    calls = _interrupt_at(monkeypatch, 7, when)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert len(calls) == 7 and est.n_iter_ == 6
    assert_same_state(est, reference, ignore=("max_iter",))
    # the average is not the last epoch's weights (the same learning: a constant step)
    same_step = dict(kw, epoch_average=False, epoch_decay=0.0 if average else "auto")
    last = DendriticClassifier(max_iter=6, **same_step).fit(X, y)
    assert np.array_equal(est._params, last._params) != average


@pytest.mark.parametrize("when", WHEN)
def test_interrupt_with_early_stopping_restores_the_best_weights(digits, monkeypatch, when):
    X, y = digits
    # a large step makes the validation score go up and down: the best epoch is not the last
    kw = dict(KW, rule="sgd", activation="sigmoid", learning_rate_init=1.0,
              early_stopping=True, validation_fraction=0.1)
    reference = DendriticClassifier(max_iter=5, **kw).fit(X, y)
    est = DendriticClassifier(max_iter=50, **kw)
    _interrupt_at(monkeypatch, 6, when)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert est.n_iter_ == 5 and len(est.validation_scores_) == 5
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert_same_state(est, reference, ignore=("max_iter",))
    # the restored weights are those of the best epoch so far, not of the last one
    best = int(np.argmax(est.validation_scores_)) + 1
    assert best < est.n_iter_
    monkeypatch.undo()
    at_best = DendriticClassifier(max_iter=best, **kw).fit(X, y)
    np.testing.assert_array_equal(est._params, at_best._params)
    # and they score the best validation score on the held-out split (drawn, as in fit,
    # after the initial weights from the same random state)
    rng = np.random.RandomState(0)
    init_params([64, 15, 10], "sigmoid", rng, np.float64)
    _, val = train_test_split(np.arange(len(y)), test_size=0.1,
                              stratify=np.searchsorted(est.classes_, y), random_state=rng)
    assert est.score(X[val], y[val]) == est.best_validation_score_
    assert est.best_validation_score_ > est.validation_scores_[-1]


@pytest.mark.parametrize("when", WHEN)
def test_interrupt_in_the_first_epoch_propagates_and_changes_nothing(digits, monkeypatch, when):
    X, y = digits
    fresh = DendriticClassifier(max_iter=5, **KW)
    warm = DendriticClassifier(max_iter=2, warm_start=True, **KW).fit(X, y)
    refit = DendriticClassifier(max_iter=2, **KW).fit(X, y)
    incremental = DendriticClassifier(**KW).partial_fit(X, y, classes=np.arange(10))
    calls = _interrupt_at(monkeypatch, 1, when)
    for est, call in [
        (fresh, lambda e: e.fit(X, y)),
        (warm, lambda e: e.fit(X, y)),  # the first epoch of this call
        (refit, lambda e: e.fit(X, y)),
        (incremental, lambda e: e.partial_fit(X, y)),  # partial_fit has one epoch
        (DendriticClassifier(**KW), lambda e: e.partial_fit(X, y, classes=np.arange(10))),
    ]:
        calls.clear()
        before = pickle.dumps(est)
        with pytest.raises(KeyboardInterrupt):
            call(est)
        assert len(calls) == 1
        assert pickle.dumps(est) == before
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)


@pytest.mark.parametrize("when", WHEN)
def test_interrupted_warm_start_keeps_the_epochs_of_this_call(digits, monkeypatch, when):
    X, y = digits
    est = DendriticClassifier(max_iter=2, warm_start=True, **KW).fit(X, y)
    reference = DendriticClassifier(max_iter=3, shuffle=True, **KW).fit(X, y)
    _interrupt_at(monkeypatch, 2, when)  # the second epoch of this call
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.set_params(max_iter=5).fit(X, y)
    # n_iter_: the epochs of the interrupted call, as MLPClassifier counts them
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 3 and est.t_ == 3 * len(y)
    assert_same_state(est, reference, ignore=("max_iter", "warm_start", "n_iter_"))
