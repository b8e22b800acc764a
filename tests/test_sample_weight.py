"""Sample weights, tested statistically.

Online learning cannot make a weight-2 example identical to a repeated one (the
repeated data set is visited in another order), so sklearn's exact equivalence
checks are expected failures (as for its SGD estimators). In their place: over
several seeds, a weighted fit must behave like the fit on the repeated data,
and clearly unlike the unweighted fit.

Not for ``rule="rprop"``: its step is a sign, which carries no magnitude; sample
weights scale its steps (see the user guide) but cannot stand in for repetition,
which changes the sequence of signs. sklearn's class-weight check still passes
for it (tests/test_estimator_checks.py).
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from skadapt import DendriticClassifier


@pytest.mark.parametrize(
    "params",
    [dict(rule="dendritic"), dict(rule="sgd", learning_rate_init=0.02),
     dict(rule="adam"), dict(rule="delta_bar_delta", learning_rate_init=0.02),
     dict(rule="dendritic", batch_size=5, learning_rate_init=0.003)],
    ids=lambda p: "-".join(map(str, p.values())),
)
def test_integer_weights_act_like_repetition(params):
    params = {"hidden_layer_sizes": (), **params}
    X, y = make_classification(400, 8, n_informative=4, random_state=0, class_sep=0.5)
    X_test = np.random.RandomState(1).randn(500, 8)
    rng = np.random.RandomState(0)
    w = np.where(y == 0, 3, 1) * rng.randint(1, 3, len(y))  # class 0 up-weighted
    d_weighted, d_unweighted = [], []
    for seed in range(5):
        kw = dict(max_iter=5, tol=None, random_state=seed, **params)
        weighted = DendriticClassifier(**kw).fit(X, y, sample_weight=w)
        repeated = DendriticClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
        plain = DendriticClassifier(**kw).fit(X, y)
        p_rep = repeated.predict_proba(X_test)[:, 0].mean()
        d_weighted.append(weighted.predict_proba(X_test)[:, 0].mean() - p_rep)
        d_unweighted.append(plain.predict_proba(X_test)[:, 0].mean() - p_rep)
    # the weighted fit's class-0 probability is much closer to the repeated fit's
    assert np.abs(np.mean(d_weighted)) < 0.5 * np.abs(np.mean(d_unweighted))
    # and the unweighted fit is reliably on the other side
    assert np.all(np.array(d_unweighted) < 0)


def test_all_ones_weights_equal_no_weights():
    X, y = make_classification(200, 6, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, tol=None, random_state=0)
    a = DendriticClassifier(**kw).fit(X, y, sample_weight=np.ones(200))
    b = DendriticClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a._params, b._params)
