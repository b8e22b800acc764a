"""The estimator contract beyond sklearn's checks: state, equivalences, workflow."""

import pickle
import re

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skadapt import DendriticClassifier, DivergenceError, _config
from skadapt._config import RULES
from skadapt._network import init_params


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _params_equal(a, b):
    np.testing.assert_array_equal(a._params, b._params)
    for k in ("pstate", "gstate", "glast", "counters"):
        np.testing.assert_array_equal(a._state[k], b._state[k])




@pytest.mark.parametrize("rule", RULES)
def test_same_random_state_gives_identical_weights(digits, rule):
    X, y = digits[0][:300], digits[1][:300]
    a = DendriticClassifier((20,), rule=rule, max_iter=2, tol=None, random_state=3).fit(X, y)
    b = DendriticClassifier((20,), rule=rule, max_iter=2, tol=None, random_state=3).fit(X, y)
    _params_equal(a, b)
    c = DendriticClassifier((20,), rule=rule, max_iter=2, tol=None, random_state=4).fit(X, y)
    assert not np.array_equal(a._params, c._params)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(
    "params",
    [dict(rule="dendritic", relax_time=20.0), dict(rule="dendritic", scope="dendrite"),
     dict(rule="adam"), dict(rule="rprop", batch_size=4)],
)
def test_fit_equals_repeated_partial_fit(digits, params, shuffle):
    """Bit for bit, with an exact input transform (max_abs: powers of two) and a step
    constant over fit's epochs (partial_fit never decays it; see
    test_fit_decays_the_step_over_its_epochs); the default's centring of dense features is
    folded into the biases at every call, which rounds
    (test_fit_and_repeated_partial_fit_agree_with_centred_inputs)."""
    X, y = digits[0][:200], digits[1][:200]
    # (online: the dendritic rule's fit would learn digits' 64 inputs in mini-batches)
    kw = dict(hidden_layer_sizes=(15,), tol=None, shuffle=shuffle, random_state=0,
              input_scaling="max_abs", epoch_decay=0.0, **{"batch_size": 1, **params})
    fitted = DendriticClassifier(max_iter=3, **kw).fit(X, y)
    inc = DendriticClassifier(**kw)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
    _params_equal(fitted, inc)
    assert fitted.n_iter_ == 3 and inc.n_iter_ == 1  # the last call's epochs, as in MLP
    assert inc.t_ == fitted.t_ == 3 * len(y)
    np.testing.assert_allclose(inc.loss_curve_, fitted.loss_curve_)


def test_fit_and_repeated_partial_fit_agree_with_centred_inputs(digits):
    X, y = digits[0][:200], digits[1][:200]
    X = X + 1.0  # every feature dense: the default centres it
    kw = dict(hidden_layer_sizes=(15,), tol=None, shuffle=False, random_state=0,
              epoch_decay=0.0, epoch_average=False, batch_size=1)
    fitted = DendriticClassifier(max_iter=3, **kw).fit(X, y)
    assert np.all(fitted.input_offset_ != 0)
    inc = DendriticClassifier(**kw)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(inc._params, fitted._params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inc.predict_proba(X), fitted.predict_proba(X), atol=1e-9)


@pytest.mark.parametrize("decay", [0.5, "auto", 1.0])
def test_fit_decays_the_step_over_its_epochs(digits, decay):
    """fit's epoch e steps with learning_rate_init * e ** -epoch_decay ("auto": 0.5
    online without epoch averaging): the weights of partial_fit calls given those rates,
    bit for bit (base="rms", whose eta0 is learning_rate_init itself); a partial_fit after
    the fit is not decayed. With the default epoch averaging, or in mini-batches, "auto"
    is a constant step."""
    X, y = digits[0][:200], digits[1][:200]
    power = 0.5 if decay == "auto" else decay
    kw = dict(hidden_layer_sizes=(15,), tol=None, shuffle=False, random_state=0,
              input_scaling="max_abs", base="rms", learning_rate_init=0.01, batch_size=1,
              epoch_average=False)
    fitted = DendriticClassifier(max_iter=3, epoch_decay=decay, **kw).fit(X, y)
    inc = DendriticClassifier(**kw)
    for e in (1, 2, 3):
        inc.set_params(learning_rate_init=0.01 * e**-power)
        inc.partial_fit(X, y, classes=np.unique(y))
    _params_equal(fitted, inc)
    assert fitted._state["fit_epochs"] == 3
    constant = DendriticClassifier(max_iter=3, epoch_decay=0.0, **kw).fit(X, y)
    assert not np.array_equal(constant._params, fitted._params)
    # partial_fit: the undecayed rate, and it does not count as an epoch of fit
    inc.set_params(learning_rate_init=0.01).partial_fit(X, y)
    fitted.partial_fit(X, y)
    _params_equal(fitted, inc)
    assert fitted._state["fit_epochs"] == 3
    # mini-batches ("auto": a constant step)
    mini = dict(kw, batch_size=20, max_iter=2)
    auto = DendriticClassifier(**mini).fit(X, y)
    _params_equal(auto, DendriticClassifier(epoch_decay=0.0, **mini).fit(X, y))
    # online with epoch averaging ("auto": a constant step)
    averaged = dict(kw, epoch_average="auto", max_iter=6)
    auto = DendriticClassifier(**averaged).fit(X, y)
    _params_equal(auto, DendriticClassifier(epoch_decay=0.0, **averaged).fit(X, y))
    assert not np.array_equal(
        auto._params, DendriticClassifier(epoch_decay=0.5, **averaged).fit(X, y)._params)


def test_epoch_average_in_partial_fit_warm_start_and_early_stopping(digits):
    """partial_fit never averages (one epoch of a stream); a warm-start fit starts a new
    average from the weights the previous fit ended with; with early stopping, the
    validation scores are the average's and the best epoch's average is kept."""
    X, y = digits[0][:300], digits[1][:300]
    kw = dict(hidden_layer_sizes=(15,), shuffle=False, random_state=0,
              input_scaling="max_abs", batch_size=1, epoch_decay=0.0)
    inc = [DendriticClassifier(epoch_average=a, **kw) for a in (True, False)]
    for est in inc:
        for _ in range(6):
            est.partial_fit(X, y, classes=np.unique(y))
    _params_equal(*inc)
    # warm start: 6 averaged epochs, then 6 more: those start from the average (with the
    # optimiser state the learning left), not from the last epoch's weights
    warm = DendriticClassifier(max_iter=6, tol=None, warm_start=True, **kw).fit(X, y)
    first = warm._params.copy()
    warm.fit(X, y)
    last = DendriticClassifier(max_iter=6, tol=None, warm_start=True, epoch_average=False,
                               **kw).fit(X, y)  # the same learning, its last weights
    assert not np.array_equal(last._params, first)
    from_last = pickle.loads(pickle.dumps(last)).set_params(epoch_average=True).fit(X, y)
    last._params[...] = first
    _params_equal(warm, last.set_params(epoch_average=True).fit(X, y))
    assert not np.array_equal(from_last._params, warm._params)
    # early stopping on the average's validation score
    es = dict(kw, max_iter=12, tol=None, early_stopping=True, validation_fraction=0.2)
    averaged = DendriticClassifier(epoch_average=True, **es).fit(X, y)
    plain = DendriticClassifier(epoch_average=False, **es).fit(X, y)
    assert averaged.validation_scores_[:4] == plain.validation_scores_[:4]  # (k <= 4: equal)
    assert averaged.validation_scores_ != plain.validation_scores_
    assert averaged.loss_curve_ == plain.loss_curve_  # the same learning
    assert averaged.best_validation_score_ == max(averaged.validation_scores_)


def test_warm_start_continues_where_fit_stopped(digits):
    X, y = digits[0][:200], digits[1][:200]
    kw = dict(hidden_layer_sizes=(15,), tol=None, shuffle=False, random_state=0,
              input_scaling="max_abs")
    three = DendriticClassifier(max_iter=3, **kw).fit(X, y)
    warm = DendriticClassifier(max_iter=2, warm_start=True, **kw).fit(X, y)
    warm.set_params(max_iter=1).fit(X, y)
    _params_equal(three, warm)
    cold = DendriticClassifier(max_iter=2, **kw).fit(X, y)
    cold.set_params(max_iter=1).fit(X, y)  # no warm start: starts over
    assert not np.array_equal(cold._params, three._params)


def test_warm_start_rejects_a_changed_architecture(digits):
    X, y = digits
    clf = DendriticClassifier((10,), max_iter=1, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="layer sizes"):
        clf.set_params(hidden_layer_sizes=(12,)).fit(X, y)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_sparse_input_matches_dense(digits, fmt):
    X, y = digits[0][:300], digits[1][:300]
    # (input_scaling="auto" centres a dense matrix's dense columns, never a sparse one's)
    kw = dict(hidden_layer_sizes=(10,), max_iter=2, tol=None, random_state=0,
              input_scaling="max_abs")
    dense = DendriticClassifier(**kw).fit(X, y)
    sparse = DendriticClassifier(**kw).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(sparse._params, dense._params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)), dense.predict_proba(X), rtol=1e-9
    )


def test_float32_end_to_end(digits):
    X, y = digits
    X32 = X.astype(np.float32)
    clf = DendriticClassifier((30,), max_iter=3, random_state=0).fit(X32, y)
    assert clf._params.dtype == np.float32
    assert clf.coefs_[0].dtype == np.float32
    ref = DendriticClassifier((30,), max_iter=3, random_state=0).fit(X, y)
    assert abs(clf.score(X, y) - ref.score(X, y)) < 0.02
    clf.partial_fit(X, y)  # float64 input to a float32 model is converted
    assert clf._params.dtype == np.float32


def test_string_labels_binary_and_multiclass():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DendriticClassifier((10,), max_iter=30, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.score(X, names) > 0.9
    assert clf.decision_function(X).shape == (150, 3)
    binary = names != "setosa"
    b = DendriticClassifier((10,), max_iter=30, random_state=0).fit(X, binary)
    df = b.decision_function(X)
    assert df.shape == (150,)
    np.testing.assert_array_equal(b.predict(X), b.classes_[(df > 0).astype(int)])
    proba = b.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(b.predict(X), b.classes_[proba.argmax(axis=1)])
    # (log(p) of a p near 1 is good to about eps in absolute terms, not relative ones)
    np.testing.assert_allclose(b.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-15)


def test_pipeline_gridsearch_cross_validate(digits):
    X, y = digits[0][:600], digits[1][:600]
    pipe = make_pipeline(StandardScaler(), DendriticClassifier((20,), max_iter=5, random_state=0))
    grid = GridSearchCV(
        pipe,
        {"dendriticclassifier__gain_up": [0.0, 0.2],
         "dendriticclassifier__scope": ["synapse", "unit"]},
        cv=3,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    # (600 digits in 3 folds: every configuration gets 0.84-0.85, chance is 0.1)
    assert grid.best_score_ > 0.8
    cv = cross_validate(DendriticClassifier((20,), max_iter=20, random_state=0), X, y, cv=3)
    assert cv["test_score"].mean() > 0.8


def test_clone_pickle_joblib_roundtrip(digits, tmp_path):
    X, y = digits
    clf = DendriticClassifier((20,), max_iter=2, random_state=0).fit(X, y)
    c = clone(clf)
    assert c.get_params() == clf.get_params() and not hasattr(c, "classes_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    joblib.dump(clf, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    # the restored model keeps learning exactly like the original
    restored.partial_fit(X[:50], y[:50])
    clf.partial_fit(X[:50], y[:50])
    _params_equal(restored, clf)
    assert restored.coefs_[0].base is not None  # views into the parameter vector again


def test_step_sizes_shapes_and_semantics(digits):
    X, y = digits
    sgd = DendriticClassifier((20,), rule="sgd", max_iter=1, learning_rate_init=0.03,
                              random_state=0).fit(X, y)
    assert [s.shape for s in sgd.step_sizes_] == [c.shape for c in sgd.coefs_]
    assert all(np.all(s == 0.03) for s in sgd.step_sizes_)
    dend = DendriticClassifier((20,), max_iter=1, random_state=0).fit(X, y)
    first = dend.step_sizes_[0]
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0, 0] = 1.0
    # the default base="adagrad" steps by learning_rate_init / sqrt(1 - beta_2) times the gain
    base_step = dend.learning_rate_init / np.sqrt(1 - dend.beta_2)
    assert first.max() > base_step  # coherent steps grew the gain
    # input 0 of digits is always blank: it never stepped, its step is the base step
    np.testing.assert_allclose(first[0], base_step, rtol=1e-15)
    unit = DendriticClassifier((20,), scope="unit", max_iter=1, random_state=0).fit(X, y)
    s = unit.step_sizes_[0]
    np.testing.assert_array_equal(s, np.broadcast_to(s[:1], s.shape))  # one per unit
    np.testing.assert_array_equal(unit.intercept_step_sizes_[0], s[0])
    dd = DendriticClassifier((20,), scope="dendrite", n_dendrites=4, max_iter=1,
                             random_state=0).fit(X, y)
    s = dd.step_sizes_[0]
    for block in range(4):
        rows = s[block * 16 : (block + 1) * 16]
        np.testing.assert_array_equal(rows, np.broadcast_to(rows[:1], rows.shape))
    relax = DendriticClassifier((20,), relax_time=20.0, max_iter=1, random_state=0)
    relax.fit(X, y)
    s_then = relax.step_sizes_[0].copy()
    relax.partial_fit(X[:1], y[:1])  # time passes; idle elements relax toward the base
    idle = X[0] == 0
    base = relax.learning_rate_init
    before = np.abs(s_then[idle] - base)
    after = np.abs(relax.step_sizes_[0][idle] - base)
    assert np.all(after <= before) and np.any(after < before)


def test_early_stopping_restores_best(digits):
    X, y = digits
    clf = DendriticClassifier((20,), early_stopping=True, n_iter_no_change=2, max_iter=50,
                              learning_rate_init=0.01, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 50
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # the validation split: drawn from the same random stream, right after the weights
    rng = np.random.RandomState(0)
    init_params([64, 20, 10], "sigmoid", rng, np.float64)
    _, va = train_test_split(np.arange(len(y)), test_size=0.1,
                             stratify=np.searchsorted(clf.classes_, y), random_state=rng)
    assert clf.score(X[va], y[va]) == pytest.approx(clf.best_validation_score_)


def _brier_reference(proba, y, sample_weight=None):
    """The multiclass Brier score, obviously: the (weighted) mean squared distance of
    each row of probabilities from its one-hot label."""
    onehot = np.eye(proba.shape[1])[y]
    return np.average(np.sum((proba - onehot) ** 2, axis=1), weights=sample_weight)


def test_held_out_scores_of_the_network_are_the_references(digits):
    from skadapt._classifier import _accuracy_and_brier

    X, y = digits
    clf = DendriticClassifier((20,), max_iter=3, tol=None, random_state=0).fit(X, y)
    y_idx = np.searchsorted(clf.classes_, y)
    accuracy, brier = _accuracy_and_brier(clf._params, clf._sizes, X, y_idx, None,
                                          clf.activation)
    assert accuracy == clf.score(X, y)
    assert brier == pytest.approx(_brier_reference(clf.predict_proba(X), y_idx), rel=1e-12)
    assert 0.0 < brier < 1.0
    # weighted: each example's share
    sw = np.random.RandomState(0).uniform(0.1, 2.0, len(y))
    accuracy_w, brier_w = _accuracy_and_brier(clf._params, clf._sizes, X, y_idx, sw,
                                              clf.activation)
    assert accuracy_w == pytest.approx(clf.score(X, y, sample_weight=sw))
    assert brier_w == pytest.approx(_brier_reference(clf.predict_proba(X), y_idx, sw),
                                    rel=1e-12)


def test_auto_early_stopping_holds_out_data_for_an_online_fit(digits):
    """The default (early_stopping="auto") on an online fit of 100 examples or more:
    validation accuracy per epoch, stopping n_iter_no_change + 1 epochs after the last
    epoch whose held-out accuracy or Brier score improved, and the average of that epoch
    kept: the same weights as the run stopped there by max_iter."""
    X, y = digits
    X = X[:, 8:48]  # (40 pixels: online; 50 inputs and more learn in mini-batches)
    kw = dict(hidden_layer_sizes=(20,), n_iter_no_change=3, random_state=0)
    clf = DendriticClassifier(**kw).fit(X, y)
    assert clf.early_stopping == "auto" and clf.tol == "auto"
    assert len(clf.validation_scores_) == clf.n_iter_ < clf.max_iter
    assert clf.best_loss_ is None
    kept = clf.n_iter_ - (clf.n_iter_no_change + 1)  # the epochs up to the kept one
    assert kept >= 1
    assert clf.best_validation_score_ == clf.validation_scores_[kept - 1]
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        there = DendriticClassifier(**kw, max_iter=kept).fit(X, y)
    assert there.validation_scores_ == clf.validation_scores_[:kept]
    np.testing.assert_array_equal(clf._params, there._params)  # (the direct path too)
    # the held-out examples: 10%, stratified, drawn right after the weights
    rng = np.random.RandomState(0)
    init_params([40, 20, 10], "relu", rng, np.float64, direct_path=True)
    _, va = train_test_split(np.arange(len(y)), test_size=0.1,
                             stratify=np.searchsorted(clf.classes_, y), random_state=rng)
    assert clf.score(X[va], y[va]) == pytest.approx(clf.best_validation_score_)


@pytest.mark.parametrize("case", ["tol", "tol None", "small", "mini-batches", "False"])
def test_auto_early_stopping_holds_out_nothing_elsewhere(digits, case):
    """early_stopping="auto" stops on the training loss (no validation set) where a
    number or None is the tol, with fewer than 10 validation examples (99 examples),
    with mini-batches, and early_stopping=False never holds out."""
    X, y = digits
    X = X[:, 8:48]  # (40 pixels: online)
    kw = dict(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
    kw.update({"tol": dict(tol=1e-3), "tol None": dict(tol=None), "small": {},
               "mini-batches": dict(batch_size=32), "False": dict(early_stopping=False)}[case])
    n = 99 if case == "small" else len(y)
    clf = DendriticClassifier(**kw).fit(X[:n], y[:n])
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)
    if case == "small":  # (100 examples: 10 held out)
        assert DendriticClassifier(**kw).fit(X[:100], y[:100]).validation_scores_ is not None


def test_auto_early_stopping_stops_on_separable_data():
    """Two far-apart blobs: the held-out accuracy is 1 from the first epoch and the Brier
    score goes on falling as the probabilities sharpen; only its gains of 1e-4 and more
    count, so the fit stops within a few epochs instead of running to max_iter."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(200, 4, centers=[[0, 0, 0, 0], [6, 6, 6, 6]], random_state=0)
    clf = DendriticClassifier(random_state=0).fit(X, y)
    assert clf.validation_scores_[0] == 1.0 and clf.n_iter_ < 20


def test_partial_fit_takes_auto_early_stopping(digits):
    X, y = digits
    clf = DendriticClassifier((10,), random_state=0).partial_fit(X, y, classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.validation_scores_ is None


def test_class_weight_balanced_helps_the_minority():
    X, y = make_classification(600, 10, n_informative=5, weights=[0.9, 0.1], random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    kw = dict(hidden_layer_sizes=(10,), max_iter=10, random_state=0)
    plain = DendriticClassifier(**kw).fit(X_tr, y_tr)
    balanced = DendriticClassifier(class_weight="balanced", **kw).fit(X_tr, y_tr)
    assert recall_score(y_te, balanced.predict(X_te)) > recall_score(y_te, plain.predict(X_te))


def test_invalid_parameters_are_rejected_the_sklearn_way(digits):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="'rule' parameter"):
        DendriticClassifier(rule="hebbian").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'scope' parameter"):
        DendriticClassifier(scope="axon").fit(X, y)
    # MLPClassifier's "identity": no such activation here; the error names the ones there are
    with pytest.raises(InvalidParameterError, match=r"'activation' parameter .* must be a str "
                       r"among \{.*'sigmoid'.*\}\. Got 'identity' instead"):
        DendriticClassifier(activation="identity").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter"):
        DendriticClassifier(batch_size="full").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'learning_rate_init' parameter"):
        DendriticClassifier(learning_rate_init=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"'epoch_average' parameter .* must be an "
                       r"instance of 'bool'.* or a str among \{'auto'\}"):
        DendriticClassifier(epoch_average="yes").fit(X, y)
    with pytest.raises(ValueError, match="gain_up must be >= 1"):
        DendriticClassifier(growth="multiplicative", gain_up=0.5).fit(X, y)
    with pytest.raises(ValueError, match="min_gain <= 1 <= max_gain"):
        DendriticClassifier(min_gain=2.0).fit(X, y)
    with pytest.raises(ValueError, match="positive integers"):
        DendriticClassifier(hidden_layer_sizes=(10, 0)).fit(X, y)


def test_partial_fit_errors_leave_the_model_unchanged(digits):
    X, y = digits
    clf = DendriticClassifier((10,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=np.arange(10))
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match=re.escape("is not the same as")):
        clf.partial_fit(X, y, classes=np.arange(11))
    with pytest.raises(ValueError, match="labels not in classes"):
        clf.partial_fit(X[:5], np.full(5, 42))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :10], y)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.set_params(early_stopping=True).partial_fit(X, y)
    clf.set_params(early_stopping="auto")
    assert pickle.dumps(clf) == before


def test_divergence_raises_and_keeps_previous_state(digits):
    X, y = digits
    clf = DendriticClassifier((), rule="sgd", max_iter=1, random_state=0).fit(X, y)
    params = clf._params.copy()
    proba = clf.predict_proba(X)
    with pytest.raises(DivergenceError, match="diverged"):
        clf.set_params(learning_rate_init=1e6, warm_start=True).fit(X * 1e200, y)
    np.testing.assert_array_equal(clf._params, params)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    with pytest.raises(DivergenceError):
        clf.partial_fit(X * 1e200, y)
    np.testing.assert_array_equal(clf._params, params)


def test_verbose_loss_curve_and_convergence_warning(digits, capsys):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        clf = DendriticClassifier((20,), max_iter=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 3, loss = " in out
    assert len(clf.loss_curve_) == clf.n_iter_ == 3
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.t_ == 3 * len(y)
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_tol_stops_training(digits):
    X, y = digits
    clf = DendriticClassifier((20,), tol=10.0, n_iter_no_change=1, max_iter=50,
                              random_state=0).fit(X, y)
    assert clf.n_iter_ == 3  # the first epoch sets best_loss; two more without improvement


def _replay_stopping(curve, tol, patience=5):
    """The epochs a run with this loss curve trains under the stopping rule: an epoch
    that does not beat the best loss so far by ``tol`` counts; more than ``patience``
    such epochs in a row stop it."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(curve):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > patience:
            return epoch + 1
    return len(curve)


@pytest.mark.parametrize("hard, average", [(True, False), (False, False), (True, True)],
                         ids=["noisy labels", "easy digits", "noisy labels, averaged"])
def test_auto_tol_is_a_share_of_the_first_epochs_loss(digits, hard, average):
    """``tol="auto"``: an epoch must gain 0.4% of the first epoch's loss of the call (1%
    with epoch averaging), at least 1e-3. The run stops where the rule, replayed on the
    loss curve of the same run without stopping, says; with 20% of the labels flipped (a
    first loss near 1.3) the share decides and stops it sooner than 1e-3 would, on two
    digits (a first loss below 0.25) the floor, which stops it sooner than the share
    alone would."""
    if hard:
        X, y = make_classification(600, 20, n_informative=5, n_classes=4, flip_y=0.2,
                                   random_state=0)
    else:
        X, y = digits
        X, y = X[y < 2], y[y < 2]
    kw = dict(hidden_layer_sizes=(20,), max_iter=80, random_state=0, batch_size=1,
              epoch_average=average, early_stopping=False)  # (the training loss's rule)
    full = DendriticClassifier(**kw, tol=None).fit(X, y).loss_curve_
    auto = DendriticClassifier(**kw).fit(X, y)
    assert auto.tol == "auto" and auto.n_iter_ < 80  # it stopped, before max_iter
    share = (1e-2 if average else 4e-3) * full[0]
    assert auto.n_iter_ == _replay_stopping(full, max(1e-3, share))
    assert auto.loss_curve_ == full[:auto.n_iter_]  # (the same run up to there)
    if hard:
        assert share > 1e-3 and auto.n_iter_ < _replay_stopping(full, 1e-3)
    else:
        assert share < 1e-3 and auto.n_iter_ < _replay_stopping(full, share)


def test_auto_tol_with_early_stopping_is_1e_3_of_the_score(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(20,), max_iter=60, random_state=0, early_stopping=True)
    auto = DendriticClassifier(**kw).fit(X, y)
    assert auto.validation_scores_ == DendriticClassifier(**kw, tol=1e-3).fit(
        X, y).validation_scores_


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_minibatches_learn(digits, batch_size):
    X, y = digits
    clf = DendriticClassifier((30,), batch_size=batch_size, max_iter=10, early_stopping=False,
                              learning_rate_init=0.003, random_state=0).fit(X[:1200], y[:1200])
    assert clf.score(X[1200:], y[1200:]) > 0.85
    assert clf._state["counters"][1] == 10 * -(-1200 // batch_size)


def test_batch_size_larger_than_data_is_clipped(digits):
    X, y = digits
    with pytest.warns(UserWarning, match="clipped"):
        DendriticClassifier((5,), batch_size=5000, max_iter=1, tol=None).fit(X, y)


def test_linear_and_deep_networks(digits):
    X, y = digits
    lin = DendriticClassifier((), max_iter=5, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert len(lin.coefs_) == 1 and lin.coefs_[0].shape == (64, 10)
    assert lin.n_layers_ == 2 and lin.n_outputs_ == 10
    deep = DendriticClassifier((30, 20, 15), activation="relu", max_iter=5,
                               random_state=0).fit(X, y)
    assert [c.shape for c in deep.coefs_] == [(64, 30), (30, 20), (20, 15), (15, 10)]
    assert lin.score(X, y) > 0.9 and deep.score(X, y) > 0.9


def test_coefs_are_live_views(digits):
    X, y = digits
    clf = DendriticClassifier((5,), max_iter=1, random_state=0).fit(X, y)
    clf.coefs_[1][:] = 0.0
    clf.direct_coef_[:] = 0.0
    clf.intercepts_[1][:] = [0, 0, 0, 9, 0, 0, 0, 0, 0, 0]
    assert np.all(clf.predict(X) == 3)


def test_zero_sample_weights_drop_examples(digits):
    X, y = digits[0][:200], digits[1][:200]
    kw = dict(hidden_layer_sizes=(10,), max_iter=2, tol=None, random_state=0)
    sw = np.ones(len(y))
    sw[::3] = 0
    a = DendriticClassifier(**kw).fit(X, y, sample_weight=sw)
    b = DendriticClassifier(**kw).fit(X[sw > 0], y[sw > 0])
    np.testing.assert_array_equal(a._params, b._params)
    with pytest.raises(ValueError, match="at least one non-zero"):
        DendriticClassifier(**kw).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="Negative"):
        DendriticClassifier(**kw).fit(X, y, sample_weight=-np.ones(len(y)))


def test_partial_fit_trains_in_the_memory_of_the_call_before_and_pickles_without_it():
    """Each partial_fit call trains on a copy (a failing call keeps the fitted state);
    the copy is written into the arrays two calls back, not newly allocated, and
    that scratch memory is not part of the pickled model."""
    X, y = load_iris(return_X_y=True)
    est = DendriticClassifier((5,), random_state=0)
    est.partial_fit(X, y, classes=[0, 1, 2])
    first = est._params
    est.partial_fit(X, y)
    second = est._params
    est.partial_fit(X, y)
    assert est._params is first and second is not first
    assert "_spare" not in est.__getstate__()
    twin = DendriticClassifier((5,), random_state=0)
    for _ in range(3):
        twin.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(est._params, twin._params)


@pytest.mark.parametrize("rule", ["dendritic", "sgd", "adam"])
def test_partial_fit_in_chunks_equals_one_example_per_call(rule):
    """Online learning within a call: chunks of a stream give the model that
    one-example calls give (without shuffling), validation paid per chunk only."""
    X, y = load_iris(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))
    X, y = X[order] / 8.0, y[order]
    # (no input scaling: it learns its statistics per call, other ones from chunks)
    chunked = DendriticClassifier((5,), rule=rule, shuffle=False, random_state=0,
                                  input_scaling=None)
    single = clone(chunked)
    for start in range(0, len(y), 25):
        chunked.partial_fit(X[start:start + 25], y[start:start + 25], classes=[0, 1, 2])
    for i in range(len(y)):
        single.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1, 2])
    np.testing.assert_array_equal(chunked._params, single._params)
    assert chunked.t_ == single.t_ == len(y)


def test_warm_start_with_another_direct_path_setting_is_a_clear_error(digits):
    X, y = digits[0][:100], digits[1][:100]
    est = DendriticClassifier((5,), max_iter=1, tol=None, warm_start=True, random_state=0)
    est.fit(X, y)
    assert est.direct_coef_.shape == (64, 10)
    before = est._params.copy()
    with pytest.raises(ValueError, match="has a direct input-to-output path, and "
                                         "direct_path=False now; refit without warm_start"):
        est.set_params(direct_path=False).fit(X, y)
    np.testing.assert_array_equal(est._params, before)
    plain = DendriticClassifier((5,), max_iter=1, direct_path=False).fit(X, y)
    assert plain.direct_coef_ is None and plain.direct_step_sizes_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_iter_loss_curve_and_t_count_as_mlpclassifier_counts_them():
    """n_iter_: the epochs of the last call (a warm-start fit's own, 1 for partial_fit);
    loss_curve_ and t_: over every call since the model was started. The same sequence of
    calls on MLPClassifier gives the same three numbers after each call."""
    from sklearn.neural_network import MLPClassifier

    X, y = load_iris(return_X_y=True)
    classes = np.unique(y)
    ours = DendriticClassifier((5,), max_iter=3, tol=None, warm_start=True, random_state=0)
    # (tol=0 and a patience of max_iter: MLPClassifier runs every epoch too)
    mlp = MLPClassifier((5,), solver="sgd", max_iter=3, tol=0.0, n_iter_no_change=50,
                        warm_start=True, random_state=0)
    calls = [
        ("fit", {}), ("fit", dict(max_iter=2)), ("partial_fit", {}), ("partial_fit", {}),
        ("fit", dict(max_iter=4)), ("fit", dict(warm_start=False, max_iter=2)),
        ("partial_fit", {}),
    ]
    seen = []
    for method, params in calls:
        counts = []
        for est in (ours, mlp):
            est.set_params(**params)
            if method == "fit":
                est.fit(X, y)
            else:
                est.partial_fit(X, y, classes=classes)
            counts.append((est.n_iter_, len(est.loss_curve_), est.t_))
        assert counts[0] == counts[1], (method, params, counts)
        seen.append(counts[0])
    assert seen == [(3, 3, 450), (2, 5, 750), (1, 6, 900), (1, 7, 1050), (4, 11, 1650),
                    (2, 2, 300), (1, 3, 450)]
    fresh = [DendriticClassifier((5,), random_state=0), MLPClassifier((5,), random_state=0)]
    for est in fresh:
        for _ in range(3):
            est.partial_fit(X, y, classes=classes)
    assert [(e.n_iter_, len(e.loss_curve_), e.t_) for e in fresh] == [(1, 3, 450)] * 2


def test_logistic_is_the_sigmoid(digits):
    """MLPClassifier's name of the sigmoid gives the same model, bit for bit."""
    X, y = digits[0][:300], digits[1][:300]
    kw = dict(hidden_layer_sizes=(10, 5), max_iter=2, tol=None, random_state=0)
    logistic = DendriticClassifier(activation="logistic", **kw).fit(X, y)
    sigmoid = DendriticClassifier(activation="sigmoid", **kw).fit(X, y)
    _params_equal(logistic, sigmoid)
    np.testing.assert_array_equal(logistic.predict_proba(X), sigmoid.predict_proba(X))
    logistic.partial_fit(X, y)
    sigmoid.partial_fit(X, y)
    _params_equal(logistic, sigmoid)
    relu = DendriticClassifier(activation="relu", **kw).fit(X, y)
    assert not np.array_equal(relu._params, sigmoid._params)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n_features", [_config.WIDE_INPUT - 1, 64], ids=["narrow", "wide"])
def test_batch_size_none_is_the_rules_own_regime(digits, rule, n_features):
    """None: one update per example (online), for rprop one per epoch (full batch), and
    for the dendritic rule's fit on inputs of at least ``WIDE_INPUT`` features one per
    ``WIDE_BATCH`` examples; partial_fit online but for rprop. The same model as the
    explicit int, bit for bit, in fit and in partial_fit."""
    X, y = digits[0][:150, :n_features], digits[1][:150]
    kw = dict(hidden_layer_sizes=(10,), max_iter=3, tol=None, random_state=0, rule=rule)
    own = DendriticClassifier(**kw).fit(X, y)
    wide = rule == "dendritic" and n_features >= _config.WIDE_INPUT
    per_update = len(y) if rule == "rprop" else _config.WIDE_BATCH if wide else 1
    explicit = DendriticClassifier(batch_size=per_update, **kw).fit(X, y)
    _params_equal(own, explicit)
    n_updates = 3 * -(-len(y) // per_update)
    assert own._state["counters"][1] == n_updates
    own.partial_fit(X[:50], y[:50])
    explicit.set_params(batch_size=50 if rule == "rprop" else 1).partial_fit(X[:50], y[:50])
    _params_equal(own, explicit)
    assert own._state["counters"][1] == n_updates + (1 if rule == "rprop" else 50)


@pytest.mark.parametrize("n", [150, 450])
def test_batch_size_auto_is_mlpclassifiers(digits, n, recwarn):
    """"auto": min(200, n_samples) examples per update, without a clipping warning."""
    X, y = digits[0][:n], digits[1][:n]
    kw = dict(hidden_layer_sizes=(10,), max_iter=2, tol=None, random_state=0)
    auto = DendriticClassifier(batch_size="auto", **kw).fit(X, y)
    explicit = DendriticClassifier(batch_size=min(200, n), **kw).fit(X, y)
    _params_equal(auto, explicit)
    assert auto._state["counters"][1] == 2 * -(-n // 200)
    assert not [w for w in recwarn if "clipped" in str(w.message)]


def test_rprop_learns_in_its_own_regime(digits):
    """Full batch (the default for rprop) learns digits and iris; online iRprop- learns
    markedly worse (its sign steps need the gradient of all the examples)."""
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    kw = dict(rule="rprop", random_state=0)
    rprop = DendriticClassifier(**kw).fit(X_tr, y_tr)
    assert rprop._state["counters"][1] == rprop.n_iter_  # one update per epoch
    online = DendriticClassifier(batch_size=1, **kw).fit(X_tr, y_tr)
    assert rprop.score(X_te, y_te) > 0.95
    assert rprop.score(X_te, y_te) > online.score(X_te, y_te) + 0.05
    Xi, yi = load_iris(return_X_y=True)
    Xi_tr, Xi_te, yi_tr, yi_te = train_test_split(Xi, yi, stratify=yi, random_state=0)
    assert DendriticClassifier(**kw).fit(Xi_tr, yi_tr).score(Xi_te, yi_te) > 0.9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_row_partial_fit_without_validation_learns_as_with_it(dtype):
    # a plain array of the model's dtype skips validate_data; a list goes through it:
    # the same model, bit for bit, and the same errors for bad rows
    from ._state import assert_same_state

    X, y = load_iris(return_X_y=True)
    X = (X / X.max(axis=0)).astype(dtype)
    fast = DendriticClassifier((5,), random_state=0)
    slow = clone(fast)
    # (the slow path's rows: lists, or float64 rows that a float32 model converts)
    rows = X.astype(np.float64) if dtype == np.float32 else X.tolist()
    for i in range(60):
        fast.partial_fit(X[i : i + 1], y[i : i + 1], classes=[0, 1, 2])
        slow.partial_fit(X[i : i + 1] if i == 0 else rows[i : i + 1], y[i : i + 1].tolist(),
                         classes=[0, 1, 2])
    assert fast._params.dtype == dtype
    assert_same_state(fast, slow)
    state = pickle.dumps(fast)
    bad = X[:1].copy()
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fast.partial_fit(bad, y[:1])
    with pytest.raises(ValueError, match=re.escape("labels not in classes: [7]")):
        fast.partial_fit(X[:1], np.array([7]))
    with pytest.raises(ValueError, match="features"):
        fast.partial_fit(X[:1, :3].copy(), y[:1])
    assert pickle.dumps(fast) == state
