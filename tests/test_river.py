"""The River-native classifier, skadapt.river.DendriticClassifier: River's own estimator
checks, the same model as scikit-learn's partial_fit one row at a time, new classes and
features mid-stream, and its failure modes."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

river = pytest.importorskip("river")

from river import checks, datasets  # noqa: E402

from skadapt import DendriticClassifier as SklearnClassifier  # noqa: E402
from skadapt import DivergenceError, _classifier, _online, _rules  # noqa: E402
from skadapt.river import DendriticClassifier  # noqa: E402


@pytest.fixture(scope="module")
def phishing():
    return list(datasets.Phishing())


def _as_arrays(stream, names):
    X = np.array([[x.get(k, 0.0) for k in names] for x, _ in stream], dtype=np.float64)
    return X, np.array([y for _, y in stream])


def test_import_skadapt_does_not_import_river():
    code = ("import sys, skadapt; "
            "assert 'river' not in sys.modules and 'skadapt.river' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "params", [{}, *DendriticClassifier._unit_test_params()], ids=lambda p: str(p) or "default"
)
def test_river_estimator_checks(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks.check_estimator(DendriticClassifier(**params))


def test_constants_shared_with_the_kernel_and_the_estimator_agree():
    assert (_online._SIGMOID, _online._RELU) == (_rules.ACT_SIGMOID, _rules.ACT_RELU)
    assert _online._SMALLEST_SCALE == _classifier._SMALLEST_SCALE == np.finfo(float).tiny


def _learn_both(stream, names, classes, **params):
    """The River model and scikit-learn's partial_fit twin after the same stream."""
    model = DendriticClassifier(classes=tuple(classes), **params)
    twin = SklearnClassifier(**model.to_sklearn_params())
    X, y = _as_arrays(stream, names)
    for i, (x, label) in enumerate(stream):
        model.learn_one(x, label)
        twin.partial_fit(X[i : i + 1], y[i : i + 1], classes=classes)
    return model, twin, X


@pytest.mark.parametrize("params", [
    dict(input_scaling="auto"),
    dict(input_scaling="standard", hidden_layer_sizes=(20, 20)),
    dict(input_scaling="max_abs", hidden_layer_sizes=(7, 5), activation="tanh"),
    dict(input_scaling=None, learning_rate_init=0.01),
    dict(rule="adam", learning_rate_init=0.01, alpha=1e-4),
    dict(scope="dendrite", n_dendrites=3, relax_time=50.0, activation="relu"),
    dict(hidden_layer_sizes=(), rule="sgd", learning_rate_init=0.05),
], ids=str)
def test_learns_the_same_model_as_partial_fit_one_row_at_a_time(phishing, params):
    stream = phishing[:400]
    names = sorted(stream[0][0])
    model, twin, X = _learn_both(stream, names, [False, True], seed=0, **params)
    assert model.feature_names_in_ == names and model.classes_ == [False, True]
    assert model.t_ == twin.t_ == len(stream)
    proba = np.array([list(model.predict_proba_one(x).values()) for x, _ in stream])
    np.testing.assert_allclose(proba, twin.predict_proba(X), rtol=1e-12, atol=1e-13)
    assert [model.predict_one(x) for x, _ in stream] == twin.predict(X).tolist()
    # the weights of the raw features (the transform folded in, as the twin keeps them)
    for ours, theirs in zip(model.coefs_ + model.intercepts_,
                            twin.coefs_ + twin.intercepts_, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)
    if model.direct_coef_ is not None:
        np.testing.assert_allclose(model.direct_coef_, twin.direct_coef_, rtol=1e-12,
                                   atol=1e-13)
    # the optimiser state (in the network's coordinates in both) and the statistics
    for key in ("pstate", "gstate", "glast"):
        np.testing.assert_allclose(model._state[key], twin._state[key], rtol=1e-12,
                                   atol=1e-13, err_msg=key)
    np.testing.assert_array_equal(model._state["counters"], twin._state["counters"])
    # (the detector's statistics are of the losses, equal to rounding)
    np.testing.assert_allclose(model._state["drift"], twin._state["drift"], rtol=1e-12)
    if params.get("input_scaling", "auto") is None:
        assert "in_stats" not in twin._state
    else:
        np.testing.assert_array_equal(model._stats, twin._state["in_stats"])
        shift, scale = twin._state["in_transform"]
        np.testing.assert_array_equal(model._shift, shift)
        np.testing.assert_array_equal(1.0 / model._inv_scale, scale)


@pytest.mark.parametrize("spreads", [(1.0, 1.4, 4.0, 1.4), (1.0, 1.4, 400.0, 1.4)],
                         ids=["alike", "apart"])
def test_auto_input_scaling_of_alike_spreads_matches_partial_fit(spreads):
    """Dense features whose spreads are within 20x of each other keep their relative
    spread (``"auto"``): the River model's transform, example by example, is partial_fit's,
    whether the spreads are alike or, with one feature 500 times another's, not."""
    rng = np.random.RandomState(0)
    X = rng.normal(3.0, 1.0, (300, 4)) * np.array(spreads)
    y = X[:, 0] + X[:, 1] / spreads[1] > 6.0
    names = ["a", "b", "c", "d"]
    stream = [(dict(zip(names, row, strict=True)), bool(label))
              for row, label in zip(X, y, strict=True)]
    model, twin, _ = _learn_both(stream, names, [False, True], seed=0,
                                 hidden_layer_sizes=(5,))
    np.testing.assert_array_equal(model._stats, twin._state["in_stats"])
    shift, scale = twin._state["in_transform"]
    np.testing.assert_array_equal(model._shift, shift)
    np.testing.assert_array_equal(1.0 / model._inv_scale, scale)
    # alike: one divisor (their median deviation, 1.4, rounded up); apart: their own
    assert (len(set(scale.tolist())) == 1) == (spreads[2] < 10.0)


def test_change_detection_matches_partial_fit(phishing):
    # the labels flip after 300 examples: the detector fires, at the same examples
    stream = phishing[:300] + [(x, not y) for x, y in phishing[300:700]]
    names = sorted(stream[0][0])
    # (at 0.01 the default's large first steps relearn the flipped labels before the
    # detector has seen enough errors: nothing to detect)
    model, twin, X = _learn_both(stream, names, [False, True], seed=0,
                                 hidden_layer_sizes=(10,), learning_rate_init=0.001)
    assert len(model.drift_detected_) > 0
    assert model.drift_detected_ == twin.drift_detected_.tolist()
    np.testing.assert_allclose(
        np.array([model.predict_proba_one(x)[True] for x, _ in stream]),
        twin.predict_proba(X)[:, 1], rtol=1e-12, atol=1e-13)


def test_a_new_class_gets_an_output_unit_that_changes_no_other_logit(phishing):
    model = DendriticClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, seed=0)
    assert model.predict_proba_one(phishing[0][0]) == {}
    assert model.predict_one(phishing[0][0]) is None
    for x, y in phishing[:200]:
        model.learn_one(x, y)
    assert model.classes_ == [phishing[0][1], not phishing[0][1]]  # in order of appearance
    x = phishing[300][0]
    before = model.predict_proba_one(x)
    coefs = [c.copy() for c in model.coefs_ + model.intercepts_ + [model.direct_coef_]]
    model._add_class("new")
    after = model.predict_proba_one(x)
    assert list(after) == [*before, "new"]
    for old, new in zip(coefs, model.coefs_ + model.intercepts_ + [model.direct_coef_],
                        strict=True):
        np.testing.assert_array_equal(new[..., : old.shape[-1]], old)
        if new.shape[-1] > old.shape[-1]:  # (the hidden layer's are the same size)
            assert not new[..., -1].any()
    # the old classes' odds are unchanged: their logits are
    a, b = before
    assert after[a] / after[b] == pytest.approx(before[a] / before[b], rel=1e-12)


def test_a_class_that_appears_mid_stream_is_learned():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    labels = np.r_[rng.integers(0, 2, 300), rng.integers(0, 3, 600)]  # class 2 from 300
    X = centres[labels] + rng.normal(0, 0.5, (len(labels), 2))
    model = DendriticClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, seed=0)
    hits = []
    for row, label in zip(X, labels, strict=True):
        x = {"u": row[0], "v": row[1]}
        hits.append(model.predict_one(x) == label)
        model.learn_one(x, int(label))
    assert sorted(model.classes_) == [0, 1, 2]
    late = np.asarray(hits[-300:])[labels[-300:] == 2]
    assert late.mean() > 0.8


def test_a_new_feature_gets_an_input_unit_with_zero_weights(phishing):
    model = DendriticClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, seed=0)
    for x, y in phishing[:100]:
        model.learn_one(x, y)
    x = phishing[150][0]
    before = model.predict_proba_one(x)
    coefs = [model.coefs_[0], model.direct_coef_]  # (the weights of the inputs)
    model._add_features(["zz_new"])
    assert model.feature_names_in_[-1] == "zz_new"
    assert model.predict_proba_one(x) == before
    assert model.predict_proba_one({**x, "zz_new": 5.0}) == before  # zero weights
    for old, new in zip(coefs, [model.coefs_[0], model.direct_coef_], strict=True):
        np.testing.assert_array_equal(new[:-1], old)
        assert not new[-1].any()
    # the statistics count the examples before it as zeros of it
    assert model._stats[1, -1] == model._stats[1, 0] == 100
    assert model._stats[[0, 2, 3, 4], -1].tolist() == [0.0] * 4
    # and it is learned from, through learn_one
    model.learn_one({**x, "zz_new": 5.0}, phishing[150][1])
    assert model.direct_coef_[-1].any() and model.coefs_[0][-1].any()


def test_feature_order_and_absent_zeros_do_not_matter(phishing):
    ordered = DendriticClassifier(hidden_layer_sizes=(10,), seed=0)
    shuffled = ordered.clone()
    rng = np.random.default_rng(0)
    for x, y in phishing[:200]:
        keys = list(x)
        rng.shuffle(keys)
        ordered.learn_one(x, y)
        shuffled.learn_one({k: x[k] for k in keys}, y)
    assert ordered.feature_names_in_ == shuffled.feature_names_in_
    for a, b in zip(ordered.coefs_, shuffled.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    x = phishing[250][0]
    zeros = [k for k, v in x.items() if v == 0]
    assert zeros  # (Phishing has zero features)
    without = {k: v for k, v in x.items() if v != 0}
    assert ordered.predict_proba_one(without) == ordered.predict_proba_one(x)
    assert ordered.predict_proba_one({**x, "unknown": 3.0}) == ordered.predict_proba_one(x)


def test_classes_given_up_front(phishing):
    model = DendriticClassifier(classes=(True, False), seed=0)
    assert model.classes_ == [False, True]  # sorted, as scikit-learn's classes_
    assert model.predict_proba_one(phishing[0][0]) == {False: 0.5, True: 0.5}
    assert model.predict_one(phishing[0][0]) is False


def test_bad_values_change_nothing(phishing):
    model = DendriticClassifier(hidden_layer_sizes=(10,), seed=0)
    for x, y in phishing[:20]:
        model.learn_one(x, y)
    state = pickle.dumps(model)
    x = dict(phishing[20][0])
    for bad in (np.nan, np.inf, "text", None):
        with pytest.raises(ValueError, match="finite|numbers"):
            model.learn_one({**x, "is_popular": bad}, True)
        assert pickle.dumps(model) == state
    with pytest.raises(ValueError, match="numbers"):
        model.predict_proba_one({**x, "is_popular": "text"})


def test_divergence_raises(phishing):
    model = DendriticClassifier(hidden_layer_sizes=(), rule="sgd", learning_rate_init=1e308,
                                input_scaling=None, seed=0)
    with pytest.raises(DivergenceError, match="clone"):
        for x, y in phishing[:50]:
            model.learn_one({k: v * 1e10 for k, v in x.items()}, y)


def test_pickle_round_trip_keeps_learning_the_same(phishing):
    model = DendriticClassifier(hidden_layer_sizes=(10,), seed=0)
    for x, y in phishing[:50]:
        model.learn_one(x, y)
    copy = pickle.loads(pickle.dumps(model))
    for x, y in phishing[50:100]:
        model.learn_one(x, y)
        copy.learn_one(x, y)
    assert model.predict_proba_one(phishing[0][0]) == copy.predict_proba_one(phishing[0][0])
    assert model._state["params"].tobytes() == copy._state["params"].tobytes()


def test_pickle_of_an_earlier_version_keeps_learning(phishing):
    """An earlier version's model kept 5 rows of input statistics: unpickled, it gets the
    largest and smallest values (the mean as both) and keeps learning."""
    model = DendriticClassifier(hidden_layer_sizes=(10,), input_scaling="standard", seed=0)
    for x, y in phishing[:50]:
        model.learn_one(x, y)
    state = model.__getstate__()
    state["_stats"] = state["_stats"][:5].copy()
    old = DendriticClassifier.__new__(DendriticClassifier)
    old.__setstate__(state)
    assert old._stats.shape == model._stats.shape
    np.testing.assert_array_equal(old._stats[5], old._stats[3])
    for x, y in phishing[50:60]:
        old.learn_one(x, y)
    assert np.isfinite(old._state["params"]).all()


def test_parameters_are_checked_and_shared_with_the_sklearn_estimator():
    with pytest.raises(ValueError, match="trace_decay"):
        DendriticClassifier(trace_decay=1.5)
    with pytest.raises(ValueError, match="min_gain"):
        DendriticClassifier(min_gain=2.0)
    with pytest.raises(ValueError, match="positive integers"):
        DendriticClassifier(hidden_layer_sizes=(10, 0))
    est = SklearnClassifier((7,), rule="adam", learning_rate_init=0.02, random_state=3,
                            batch_size=50)
    model = DendriticClassifier.from_sklearn(est, classes=[1, 0])
    assert model.hidden_layer_sizes == (7,) and model.rule == "adam"
    assert model.learning_rate_init == 0.02 and model.seed == 3
    assert model.classes_ == [0, 1]
    params = model.to_sklearn_params()
    assert params["batch_size"] == 1 and params["shuffle"] is False
    assert {k: v for k, v in params.items() if k not in ("batch_size", "shuffle")} == {
        k: v for k, v in est.get_params().items()
        if k in params and k not in ("batch_size", "shuffle")}
    # an empty tuple stays clonable (River's clone cannot copy an empty tuple)
    linear = DendriticClassifier(hidden_layer_sizes=())
    assert linear.clone().hidden_layer_sizes == []


def test_learns_phishing_about_as_well_as_a_scaled_logistic_regression(phishing):
    from river import linear_model, preprocessing

    def accuracy(model):
        hits = 0
        for x, y in phishing:
            hits += model.predict_one(x) == y
            model.learn_one(x, y)
        return hits / len(phishing)

    reference = accuracy(preprocessing.StandardScaler() | linear_model.LogisticRegression())
    ours = accuracy(DendriticClassifier(learning_rate_init=0.01, seed=0))
    assert ours > reference - 0.05


def test_argument_positions_match_the_kernels_signature():
    """The positions river.py reads back from train_epoch's argument tuple name the
    arguments they should (the signature grew once under it: the multilabel matrix)."""
    import inspect

    from skadapt import river
    from skadapt._kernel import train_epoch

    names = list(inspect.signature(train_epoch.py_func).parameters)
    expected = {"_A_X": "X", "_A_SHIFT": "in_shift", "_A_SCALE": "in_scale", "_A_Y": "y",
                "_A_PARAMS": "params", "_A_SIZES": "sizes", "_A_W_OFF": "w_off",
                "_A_B_OFF": "b_off", "_A_DRIFT_LOG": "drift_log"}
    assert {k: names[getattr(river, k)] for k in expected} == expected
