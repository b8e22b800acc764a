"""The compiled learner against the slow NumPy reference in tests/_reference.py."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils import check_random_state

from skadapt import DendriticClassifier, _config, _learner
from skadapt._classifier import _input_weights_to_network
from skadapt._config import RULE_TABLE, RULES, state_written
from skadapt._learner import views
from skadapt._network import direct_block, forward, init_params, unpack

from ._reference import REFERENCE_RULES, ReferenceLearner, loss_and_grad

# random labels and a few epochs: the fits learn little, and may say so
pytestmark = pytest.mark.filterwarnings(
    "ignore:The model learned nothing:sklearn.exceptions.ConvergenceWarning")

RULE_CONFIGS = [
    dict(rule="sgd"),
    dict(rule="sgd", alpha=0.1),
    dict(rule="momentum", alpha=0.01),
    dict(rule="nesterov"),
    dict(rule="adam", alpha=0.01),
    dict(rule="delta_bar_delta", dbd_kappa=0.5),
    dict(rule="rprop"),
    dict(rule="dendritic"),
    dict(rule="dendritic", growth="multiplicative", gain_up=1.5, fallback="shrink",
         coherence="trace", base="gradient", alpha=0.05),
    dict(rule="dendritic", relax_time=3.0, base="sign", max_gain=3.0),
    dict(rule="dendritic", scope="dendrite", n_dendrites=2, relax_time=2.0),
    dict(rule="dendritic", scope="dendrite", n_dendrites=4, coherence="trace",
         base="gradient", growth="multiplicative", gain_up=2.0, alpha=0.1),
    dict(rule="dendritic", scope="unit", fallback="shrink", gain_down=0.3),
    dict(rule="dendritic", scope="unit", relax_time=4.0, base="gradient", min_gain=0.5),
    dict(rule="dendritic", base="adagrad", alpha=0.01),
    dict(rule="dendritic", base="adagrad", scope="dendrite", n_dendrites=2, relax_time=3.0),
]
# every rule of the table, at its defaults at least (a rule without a reference fails)
RULE_CONFIGS += [dict(rule=rule) for rule in RULES
                 if rule not in {cfg["rule"] for cfg in RULE_CONFIGS}]
ARCHS = [(), (5,), (4, 3)]


def test_every_rule_of_the_table_has_a_reference_and_a_test():
    """A rule added to the table without a NumPy reference in tests/_reference.py fails
    here (and in every test below that runs it)."""
    missing = sorted(set(RULE_TABLE) - REFERENCE_RULES)
    assert not missing, f"rules without a reference in tests/_reference.py: {missing}"
    assert {cfg["rule"] for cfg in RULE_CONFIGS} == set(RULES)


def _data(seed, n=10, d=6, k=3):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 2, (n, d))
    X[rng.rand(n, d) < 0.4] = 0.0  # zero inputs: no events
    y = rng.randint(k, size=n)
    y[:k] = np.arange(k)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, sw


def _multilabel_data(seed, n=10, d=6, k=4):
    """:func:`_data`'s inputs and weights with a multilabel indicator matrix of ``k``
    labels instead of the classes: about 40% ones, one row without any label and one
    with all of them."""
    X, _, sw = _data(seed, n, d)
    Y = (np.random.RandomState(seed + 100).rand(n, k) < 0.4).astype(int)
    Y[0], Y[1] = 0, 1
    return X, Y, sw


def _expected_input_transform(X, how, sparse):
    """``(shift, scale)`` of ``input_scaling`` for the training data X, written from its
    definition: the largest ``|x|``; on dense input, with ``"auto"`` the mean and standard
    deviation of the columns non-zero in >= 90% of rows, with ``"standard"`` of every
    column, the deviation at least a third of the largest ``|x - mean|``; with
    ``"auto"``, where those columns' non-zero deviations are all within a factor 20 of
    each other, each column's deviation replaced by their median (its bound stays a third
    of its largest ``|x - mean|`` relative to its own deviation); each scale rounded up
    to a power of two (1 for a column of zeros or a constant one)."""
    scale = np.abs(X).max(axis=0)
    shift = np.zeros(X.shape[1])
    if how in ("auto", "standard") and not sparse:
        share = 0.9 if how == "auto" else 0.0
        dense = np.count_nonzero(X, axis=0) >= share * X.shape[0]
        shift[dense] = X.mean(axis=0)[dense]
        bound = np.abs(X - X.mean(axis=0)).max(axis=0) / 3
        std = X.std(axis=0)
        scale[dense] = np.maximum(std, bound)[dense]
        varied = dense & (std > 0)
        if how == "auto" and varied.any() and std[varied].max() <= 20 * std[varied].min():
            median = np.median(std[varied])
            scale[varied] = median * np.maximum(1.0, bound[varied] / std[varied])
    scale = np.array([2.0 ** np.ceil(np.log2(v)) if v > 0 else 1.0 for v in scale])
    return shift, scale


def _assert_matches_reference(cfg, hidden, activation, batch_size, sparse=False, seed=0,
                              dtype=np.float64, data=None, epochs=3):
    """The kernel against the float64 reference, over ``epochs`` epochs of ``fit``;
    float32 input trains in float32, so it is held to float32 accuracy. ``data``:
    ``(X, y, sw)`` with 3 classes (or a multilabel indicator matrix ``y``), instead of
    :func:`_data` ``(seed)``. The network is the estimator's: by default with its direct
    path and its input scaling, which the reference reproduces, and so its epoch average
    (which is the last epoch's weights up to 4 epochs)."""
    X, y, sw = _data(seed) if data is None else data
    est = DendriticClassifier(
        hidden, activation=activation, batch_size=batch_size, max_iter=epochs, tol=None,
        shuffle=False, random_state=seed, **cfg,
    )
    if "learning_rate_init" not in cfg:  # first steps of 0.05 (AdaGrad's: its rate's ~32x)
        est.learning_rate_init = 0.05 * est.learning_rate_init / _config.base_step(est)
    Xk = X.astype(dtype)
    est.fit(sp.csr_matrix(Xk) if sparse else Xk, y, sample_weight=sw)
    assert est._params.dtype == dtype
    multilabel = np.ndim(y) == 2
    assert est.out_activation_ == ("logistic" if multilabel else "softmax")
    sizes = [X.shape[1], *hidden, y.shape[1] if multilabel else 3]
    direct = est.direct_path and len(hidden) > 0
    p0 = init_params(sizes, activation, check_random_state(seed), np.float64, direct)
    ref = ReferenceLearner(est, sizes, p0)
    order = np.arange(len(y))
    params = est._params.astype(np.float64)
    if est.input_scaling:  # the reference learns on the inputs as the network sees them
        shift, scale = _expected_input_transform(X, est.input_scaling, sparse)
        tol = 1e-12 if dtype == np.float64 else 1e-6  # (float32 input: its statistics)
        np.testing.assert_allclose(est.input_offset_, shift, rtol=tol, atol=tol)
        np.testing.assert_allclose(est.input_scale_, scale, rtol=tol)
        X = (X - shift) / scale
        _input_weights_to_network(params, sizes, shift, scale)  # the kernel's weights
    curve = []
    # fit's epochs average ("auto": online); the step decays as (epoch + 1) **
    # -epoch_decay ("auto": 0.5 online without the average, else 0)
    average = (batch_size == 1 if est.epoch_average == "auto" else est.epoch_average)
    decay = (est.epoch_decay if est.epoch_decay != "auto" else
             0.5 if batch_size == 1 and not average else 0.0)
    ends = []  # the weights at the end of each epoch
    for epoch in range(epochs):
        factor = (epoch + 1.0) ** -decay
        curve.append(ref.train(X, y, sw, order, batch_size, factor) / len(y))
        ends.append(ref.params.copy())
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 1e-5)
    close = dict(rtol=rtol, atol=atol)
    np.testing.assert_allclose(params, _epoch_average(ends) if average else ref.params,
                               **close)
    # every row of the optimiser state the rule writes (the rule table's), by name
    state = views(est._state)
    for name in state_written(est):
        if name == "last":
            np.testing.assert_array_equal(state[name], ref.last)
        elif name in ("m", "gain"):
            np.testing.assert_allclose(state[name], getattr(ref, name), **close)
        else:
            np.testing.assert_allclose(state[name], getattr(ref, name), rtol=rtol,
                                       atol=atol / 100)
    if cfg.get("alpha", 0) == 0:
        np.testing.assert_allclose(est.loss_curve_, curve, rtol=rtol)
    assert est.t_ == ref.t
    np.testing.assert_array_equal(est.drift_detected_, ref.detected)
    np.testing.assert_allclose(est._step_size_vector(), ref.step_sizes(), rtol=rtol * 10)
    assert (est.direct_coef_ is not None) == direct
    return est


def _epoch_average(ends):
    """``epoch_average``'s weights after the epochs that ended with ``ends``, written out:
    epoch ``j`` (1, 2, ...) enters at the rate ``r(j) = min(1, 4 / j)`` and weighs
    ``r(j)`` times the product of ``1 - r(i)`` over the epochs ``i`` after it."""
    k = len(ends)
    rate = [min(1.0, 4.0 / j) for j in range(1, k + 1)]
    weights = [rate[j] * np.prod([1.0 - r for r in rate[j + 1:]]) for j in range(k)]
    assert np.isclose(sum(weights), 1.0)
    return sum(w * p for w, p in zip(weights, ends, strict=True))


@pytest.mark.parametrize("cfg", [{"rule": "dendritic"}, {"rule": "adam"},
                                 {"rule": "dendritic", "epoch_decay": 0.5}], ids=str)
def test_fit_ends_with_the_average_of_its_epochs(cfg):
    """``epoch_average="auto"`` (online ``fit``): the weights are the running average of
    the 9 epochs' ends, against the reference written out as weights; without it (and
    the same step: "auto" is constant with the average), the last epoch's, which differ."""
    est = _assert_matches_reference(cfg, (5,), "relu", batch_size=1, epochs=9)
    same_step = dict(cfg, epoch_average=False, epoch_decay=cfg.get("epoch_decay", 0.0))
    last = _assert_matches_reference(same_step, (5,), "relu", batch_size=1, epochs=9)
    assert np.abs(est._params - last._params).max() > 1e-3
    np.testing.assert_array_equal(est.loss_curve_, last.loss_curve_)  # (the same learning)


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("hidden", ARCHS, ids=str)
def test_every_rule_matches_reference_online(cfg, hidden):
    _assert_matches_reference(cfg, hidden, "sigmoid", batch_size=1)


def _learning_rate(cfg):
    """A step that learns each half of the change-detection data within its epoch: large
    for the plain-gradient rules; for the leaky AdaGrad sum, whose first steps are
    ``1 / sqrt(1 - beta_2)`` (about 32) times its rate, a rate whose first steps are 0.3."""
    if cfg["rule"] in ("sgd", "momentum", "nesterov", "delta_bar_delta") or (
            cfg.get("base") == "gradient"):
        return 1.0
    base = cfg.get("base", DendriticClassifier().base)
    adagrad = cfg["rule"] == "dendritic" and base == "adagrad"
    return 0.01 if adagrad else 0.1


def _matches_reference_through_changes(cfg, batch_size, data, at_least):
    """The fit of :func:`_assert_matches_reference` with the change detector on, at the
    first rate (the rule's :func:`_learning_rate`, then larger ones) at which the
    detector fires at least ``at_least`` times: a rule whose steps shrink learns each
    half of the data only with a larger one. Every fit tried matches the reference."""
    first = _learning_rate(cfg)
    for rate in (first, *(r for r in (0.3, 1.0) if r > first)):
        est = _assert_matches_reference(dict(cfg, drift_threshold=0.2,
                                             learning_rate_init=rate),
                                        (5,), "sigmoid", batch_size, data=data)
        if len(est.drift_detected_) >= at_least:
            break
    assert len(est.drift_detected_) >= at_least
    assert np.all(np.diff(est.drift_detected_) > 0)
    return est


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("batch_size", [1, 4])
def test_every_rule_matches_reference_through_detected_changes(cfg, batch_size):
    """The change detector (drift_threshold) and the clearing of the direct path, each
    rule's state included, as the reference does them: a learnable concept whose labels
    are permuted in the second half of the data, steps large enough to learn each half,
    and a low threshold make the detector fire several times in every epoch."""
    X, y, sw = _data(1, n=60)
    y = X[:, :3].argmax(axis=1)
    y[30:] = (y[30:] + 1) % 3
    est = _matches_reference_through_changes(cfg, batch_size, (X, y, sw), at_least=3)
    assert est.drift_detected_[0] > 0 and est.t_ == 3 * len(y)  # detections within the fit


MULTILABEL_CASES = [  # (hidden, activation, batch_size, sparse, dtype), as the multiclass
    ((), "sigmoid", 1, False, np.float64),  # tests' online, mini-batch and float32 runs
    ((5,), "sigmoid", 1, False, np.float64),
    ((4, 3), "sigmoid", 1, False, np.float64),
    ((5,), "tanh", 4, False, np.float64),
    ((5,), "sigmoid", 1, False, np.float32),
    ((5,), "sigmoid", 4, False, np.float32),
    ((4, 3), "relu", 1, True, np.float64),
]


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("hidden, activation, batch_size, sparse, dtype", MULTILABEL_CASES,
                         ids=str)
def test_every_rule_matches_reference_multilabel(cfg, hidden, activation, batch_size, sparse,
                                                 dtype):
    """A multilabel indicator matrix: sigmoid outputs, the sum of the labels' binary
    cross-entropies, deltas ``p - y``; every rule, online and in mini-batches, float32,
    sparse input, with the default network (direct path, input scaling) and without
    hidden layers."""
    est = _assert_matches_reference(cfg, hidden, activation, batch_size, sparse, seed=12,
                                    dtype=dtype, data=_multilabel_data(12))
    np.testing.assert_array_equal(est.classes_, np.arange(4))


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_every_rule_matches_reference_multilabel_without_a_direct_path(cfg):
    _assert_matches_reference(dict(cfg, direct_path=False, input_scaling=None), (5,),
                              "sigmoid", 1, seed=13, data=_multilabel_data(13))


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("batch_size", [1, 4])
def test_every_rule_matches_reference_multilabel_through_detected_changes(cfg, batch_size):
    """The change detector on a multilabel target, whose error probability is one minus
    the geometric mean of the labels' probabilities (the mean loss over the labels): a
    learnable indicator matrix whose labels are flipped in the second half of the data
    makes it fire, exactly where the reference's does."""
    X, _, sw = _data(1, n=60)
    Y = (X[:, :3] > 0.5).astype(int)
    Y[30:] = 1 - Y[30:]
    est = _matches_reference_through_changes(cfg, batch_size, (X, Y, sw), at_least=1)
    assert est.drift_detected_[0] > 0 and est.t_ == 3 * len(Y)  # detections within the fit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multilabel_loss_is_exact_for_huge_logits(dtype):
    """The kernel's per-label loss ``max(z, 0) + log1p(exp(-|z|)) - y z`` (in float64)
    stays exact and finite where ``log(1 + exp(z))`` would overflow: a linear model with
    logits of about +-500 (exp overflows float64 near 710, float32 near 89), right and
    wrong labels; ``loss_`` of a one-example partial_fit is that example's loss before
    the update."""
    x = np.array([[1.0, -1.0]], dtype)
    Y = np.array([[1, 0, 1, 0]])
    est = DendriticClassifier((), input_scaling=None, learning_rate_init=1e-12, shuffle=False,
                              random_state=0).partial_fit(x, Y, classes=np.arange(4))
    est.coefs_[0][:] = np.array([[250.0, 250.0, -250.0, -250.0], [-250.0, -250.0, 250.0, 250.0]],
                                dtype)
    est.intercepts_[0][:] = 0.0
    z = (x @ est.coefs_[0]).astype(np.float64).ravel()  # +-500: two right, two wrong
    np.testing.assert_array_equal(np.abs(z), 500.0)
    expected = np.sum(np.logaddexp(0.0, z) - Y[0] * z)
    assert expected == pytest.approx(1000.0)
    est.partial_fit(x, Y)
    assert np.isfinite(est.loss_)
    np.testing.assert_allclose(est.loss_, expected, rtol=1e-12)


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("hidden, batch_size, sparse, dtype",
                         [((5,), 1, False, np.float64), ((4, 3), 1, True, np.float64),
                          ((5,), 4, False, np.float64), ((5,), 1, False, np.float32)], ids=str)
def test_every_rule_without_a_direct_path_matches_reference(cfg, hidden, batch_size, sparse,
                                                           dtype):
    """The network without the direct input-to-output path (and without input scaling),
    online and in mini-batches, sparse input, float32, one and two hidden layers (every
    other test runs the default network, which has both)."""
    _assert_matches_reference(dict(cfg, direct_path=False, input_scaling=None), hidden,
                              "sigmoid", batch_size, sparse, seed=6, dtype=dtype)


@pytest.mark.parametrize("cfg", [dict(rule="dendritic"), dict(rule="adam", direct_path=True),
                                 dict(rule="sgd"), dict(rule="dendritic", scope="unit"),
                                 dict(rule="rprop", direct_path=True)], ids=str)
@pytest.mark.parametrize("hidden, batch_size, sparse, dtype",
                         [((5,), 1, False, np.float64), ((), 1, True, np.float64),
                          ((5,), 3, True, np.float64), ((4, 3), 1, False, np.float32)], ids=str)
@pytest.mark.parametrize("how", ["max_abs", "auto", "standard"])
def test_input_scaling_matches_reference(cfg, hidden, batch_size, sparse, dtype, how):
    """``input_scaling``: the kernel learns the weights of the inputs as the network
    sees them (divided by their largest ``|x|``; with ``"auto"``, the dense columns
    standardised; with ``"standard"``, every column of dense input), exactly as the
    reference does on the transformed data. Two of the six columns are dense, one of them
    constant (its centred input is always zero); the others are 40% zeros."""
    X, y, sw = _data(8)
    X[:, 0] = np.random.RandomState(0).uniform(100, 300, X.shape[0])
    X[:, 3] = -7.0
    _assert_matches_reference(dict(cfg, input_scaling=how), hidden, "sigmoid", batch_size,
                              sparse, seed=8, dtype=dtype, data=(X, y, sw))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("cfg", [dict(rule="dendritic"), dict(rule="adam")], ids=str)
@pytest.mark.parametrize("how", ["auto", "standard"])
def test_input_scaling_bounds_a_heavy_tail(cfg, dtype, how):
    """A centred column with a heavy tail (one value far out) is divided by a third of its
    largest deviation from the mean, not by its standard deviation (which would leave that
    value at about 6): the transform and the training match the reference, and the bound is
    what decided the column's scale."""
    X, y, sw = _data(8, n=40)  # (in n rows no value is more than sqrt(n - 1) s.d. out)
    X[:, 0] = np.random.RandomState(0).uniform(100, 300, X.shape[0])
    X[0, 0] = 3000.0
    est = _assert_matches_reference(dict(cfg, input_scaling=how), (5,), "relu", 1,
                                    seed=8, dtype=dtype, data=(X, y, sw))
    by_bound = 2.0 ** np.ceil(np.log2(np.abs(X[:, 0] - X[:, 0].mean()).max() / 3))
    assert by_bound > 2.0 ** np.ceil(np.log2(X[:, 0].std()))
    assert est.input_scale_[0] == by_bound


@pytest.mark.parametrize("spreads, alike", [((1.0, 1.0, 3.0, 7.0, 1.0, 2.0), True),
                                             ((1.0, 1.0, 3.0, 70.0, 1.0, 2.0), False)],
                         ids=["alike", "apart"])
@pytest.mark.parametrize("how", ["auto", "standard"])
def test_input_scaling_keeps_alike_spreads(spreads, alike, how):
    """``"auto"``: dense columns whose standard deviations are within 20x of each other
    (``make_classification``'s informative features have 3-7x its noise features' spread)
    are divided by their median deviation, so that the network sees their relative spread;
    with one column 70x another's, each is standardised on its own, as ``"standard"``
    always does. The transform and the training match the reference."""
    X, y, sw = _data(8)
    X = np.random.RandomState(1).normal(0.0, 1.0, X.shape) * np.array(spreads)
    est = _assert_matches_reference(dict(input_scaling=how), (5,), "relu", 1, seed=8,
                                    data=(X, y, sw))
    own = np.array([2.0 ** np.ceil(np.log2(max(s, b))) for s, b in
                    zip(X.std(axis=0), np.abs(X - X.mean(axis=0)).max(axis=0) / 3,
                        strict=True)])
    spread_kept = how == "auto" and alike
    assert np.array_equal(est.input_scale_, own) != spread_kept
    if spread_kept:  # the widest column is seen wider than the narrowest
        seen = X.std(axis=0) / est.input_scale_
        assert seen[3] > 3 * seen[0]


def test_input_scaling_keeps_the_scaled_weights_when_a_scale_grows():
    """partial_fit on data whose largest ``|x|`` grows from call to call (a feature first
    seen non-zero in the second call included): each call learns on the inputs scaled by
    the running maximum so far, and the weights in the scaled coordinates carry over."""
    X, y, sw = _data(9, n=12)
    X[:6, 1] = 0.0
    X[6:] *= np.array([1.0, 5.0, 0.5, 3.0, 1.0, 2.0])  # larger in the second half
    est = DendriticClassifier((5,), "sigmoid", input_scaling="max_abs", direct_path=True,
                              shuffle=False, random_state=0, base="rms", learning_rate_init=0.05)
    sizes = [6, 5, 3]
    ref = ReferenceLearner(est, sizes, init_params(sizes, "sigmoid", check_random_state(0),
                                                   np.float64, True))
    seen = np.zeros(6)
    for part in (slice(0, 6), slice(6, 12)):
        est.partial_fit(X[part], y[part], classes=[0, 1, 2], sample_weight=sw[part])
        seen = np.maximum(seen, np.abs(X[part]).max(axis=0))
        scale = _expected_input_transform(np.vstack([seen, -seen]), "max_abs", False)[1]
        ref.train(X[part] / scale, y[part], sw[part], np.arange(6), 1)
        np.testing.assert_array_equal(est.input_scale_, scale)
        params = est._params.copy()
        _input_weights_to_network(params, sizes, np.zeros(6), scale)
        np.testing.assert_allclose(params, ref.params, rtol=1e-9, atol=1e-12)


def test_direct_path_is_ignored_without_hidden_layers():
    """With ``hidden_layer_sizes=()`` the model is linear already: no second copy of it."""
    _assert_matches_reference(dict(rule="dendritic", direct_path=True), (), "sigmoid", 1)


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_every_rule_matches_reference_minibatch(cfg):
    _assert_matches_reference(cfg, (5,), "tanh", batch_size=4, seed=1)


@pytest.mark.parametrize("cfg", RULE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("batch_size", [1, 4])
def test_every_rule_in_float32_matches_reference(cfg, batch_size):
    """float32 input trains in float32 (the parameters, the state, the forward and backward
    passes and every constant of the update; only the loss is computed in float64): the same
    rule as the float64 reference, to float32 accuracy."""
    _assert_matches_reference(cfg, (5,), "sigmoid", batch_size, seed=5, dtype=np.float32)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("sparse", [False, True])
def test_activations_and_sparse_input_match_reference(activation, sparse):
    _assert_matches_reference(dict(rule="dendritic", relax_time=3.0), (5, 4), activation, 1,
                              sparse, seed=2)
    _assert_matches_reference(dict(rule="adam"), (5,), activation, 3, sparse, seed=3)


@pytest.mark.parametrize("hidden, sparse, dtype", [((5,), False, np.float64),
                                                  ((5, 4), True, np.float64),
                                                  ((5,), False, np.float32)], ids=str)
def test_default_configuration_in_mini_batches_matches_reference(hidden, sparse, dtype):
    """The default configuration in mini-batches (ReLU, the dendritic rule's defaults: the
    default's own mini-batch kernel, ``train_epoch_default_batched``) against the
    reference: with the direct path, and (float64) with its detector firing on labels
    permuted half-way (as in the test above)."""
    est = _assert_matches_reference(dict(rule="dendritic"), hidden, "relu", 4, sparse, seed=4,
                                    dtype=dtype)
    assert _learner.epoch_kernel(4, *_config.make_config(est)) == (
        "train_epoch_default_batched")
    if dtype == np.float32:
        return  # (with detections, float32 rounding moves one and the runs part: float64 only)
    X, y, sw = _data(1, n=60)
    y = X[:, :3].argmax(axis=1)
    y[30:] = (y[30:] + 1) % 3
    est = _assert_matches_reference(dict(rule="dendritic", drift_threshold=0.2,
                                         learning_rate_init=0.03), hidden, "relu", 4, sparse,
                                    dtype=dtype, data=(X, y, sw))
    assert len(est.drift_detected_) >= 1


@pytest.mark.parametrize("rule", ["sgd", "momentum", "rprop", "dendritic"])
@pytest.mark.parametrize("n_features, hidden", [(30, (150,)), (3, (2100,))], ids=str)
def test_runs_of_nonzero_inputs_longer_than_a_block_match_reference(rule, n_features,
                                                                     hidden):
    """The online update steps a run of consecutive non-zero inputs' rows as one block
    of at most ``BLOCK_ELEMENTS`` weights: runs cut into several blocks (30 inputs x
    150 units: 13 rows per block), rows longer than a block (2,100 units: one row per
    block), and the output layer (2,100 x 3: 682 rows per block), against the
    reference, which steps element by element."""
    from skadapt._kernel import BLOCK_ELEMENTS

    assert hidden[0] * 13 <= BLOCK_ELEMENTS < hidden[0] * 14 or hidden[0] > BLOCK_ELEMENTS
    rng = np.random.RandomState(7)
    X = rng.uniform(0.1, 1.0, (10, n_features))
    X[3, n_features // 2] = 0.0  # one run broken in two
    y = np.arange(10) % 3
    sw = rng.uniform(0.5, 2.0, 10)
    # (max_abs: "auto" would centre these dense inputs, and online iRprop-'s sign tests
    # make its runs depend on the last bit of a gradient that has gone to about zero)
    _assert_matches_reference(dict(rule=rule, input_scaling="max_abs"), hidden, "sigmoid", 1,
                              seed=7, data=(X, y, sw))


@pytest.mark.parametrize("change", [dict(coherence="sign"), dict(fallback="shrink"),
                                    dict(growth="multiplicative", gain_up=1.5),
                                    dict(alpha=0.01)], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_default_dendritic_rule_changed_in_one_choice_matches_reference(change, dtype):
    """The default dendritic configuration has a loop of its own with its choices as
    constants; a configuration that differs in one choice only runs the general loop,
    and must not be taken for the default."""
    _assert_matches_reference(dict(rule="dendritic", **change), (5,), "sigmoid", 1, seed=4,
                              dtype=dtype)


@pytest.mark.parametrize("case", ["relu", "underflow"])
def test_default_dendritic_rule_with_zero_gradients_in_a_block_matches_reference(case):
    """The default dendritic configuration steps a layer without selecting events when
    every gradient of it is non-zero (``a_j * delta_u``, checked per layer), and with
    the selects otherwise: blocks with zero gradients, from relu units that are off
    (zero deltas) or from inputs so small that ``a_j * delta_u`` underflows to 0 (no
    event either, as in the reference), leave those weights and their state as they
    are."""
    rng = np.random.RandomState(11)
    X = rng.uniform(0.1, 1.0, (12, 20))
    if case == "underflow":  # the smallest float64: times any |delta| <= 0.5 gives 0
        X[rng.rand(12, 20) < 0.3] = 5e-324
        assert (X[:, :, None] * rng.uniform(0, 0.5, 5) == 0).any()
    y = np.arange(12) % 3
    sw = np.ones(12)
    activation = "relu" if case == "relu" else "sigmoid"
    if case == "relu":  # some hidden units are off at the start: their deltas are zero
        p0 = init_params([20, 8, 3], "relu", check_random_state(11), np.float64)
        (W, _), (b, _) = unpack(p0, [20, 8, 3])
        assert (X @ W + b <= 0).any()
    _assert_matches_reference(dict(rule="dendritic"), (8,), activation, 1, seed=11,
                              data=(X, y, sw))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("cfg,hidden", [
    (dict(rule="dendritic", learning_rate_init=0.002), (16,)),
    (dict(rule="dendritic", learning_rate_init=0.002), (16, 16)),
    (dict(rule="dendritic", relax_time=5.0, learning_rate_init=0.005), (16,)),
    (dict(rule="dendritic", alpha=0.01, learning_rate_init=0.005), (16,)),
    (dict(rule="delta_bar_delta", learning_rate_init=0.2), (16,)),
    (dict(rule="sgd", learning_rate_init=0.2), (16,)),
    (dict(rule="adagrad", learning_rate_init=0.2), (16,)),
], ids=lambda v: "-".join(map(str, v.values())) if isinstance(v, dict) else str(v))
def test_online_update_of_few_active_relu_units_matches_reference(cfg, hidden, dtype):
    """Online, a layer whose units are mostly off (zero deltas: ReLU units that died, as
    most do in a one-pass fit) has only its active units' weights gathered and stepped,
    and a layer with none active is skipped: the same numbers as the reference, for the
    rules of the online update (each rule's state gathered and written back, the event
    clocks too). The rates make most units die during the fit, and the test checks that
    the fit ended in that regime (1-4 of 16 units on for several examples)."""
    rng = np.random.RandomState(5)
    X = rng.uniform(0.0, 1.0, (40, 12))
    X[rng.rand(40, 12) < 0.3] = 0.0
    y = np.arange(40) % 3
    cfg = dict(cfg, epoch_decay=0.0)  # (the rates make the units die at a constant step)
    est = _assert_matches_reference(cfg, hidden, "relu", 1, seed=3, data=(X, y, np.ones(40)),
                                    dtype=dtype)
    Xs = (X - est.input_offset_) / est.input_scale_
    n_on = (Xs @ est.coefs_[0] + est.intercepts_[0] > 0).sum(axis=1)
    assert ((n_on >= 1) & (n_on <= 4)).sum() >= 3, np.bincount(n_on)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("cfg", [dict(), dict(rule="sgd", learning_rate_init=0.05),
                                 dict(relax_time=5.0, activation="sigmoid")], ids=str)
def test_general_kernel_trains_online_configurations_as_the_online_kernel(cfg, dtype,
                                                                          monkeypatch):
    """``train_epoch`` runs every configuration, the online ones too (through
    ``apply_update``): with the estimator's choice of kernel turned to it, a
    one-example-per-update fit gives the same model as the online kernels (the other tests
    hold those to the reference for these configurations)."""
    from skadapt import _learner

    X, y, sw = _data(12, n=30)
    X = X.astype(dtype)
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, tol=None, shuffle=False, random_state=0,
              **cfg)
    online = DendriticClassifier(**kw).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(_learner, "epoch_kernel", lambda batch_size, icfg, fcfg: "train_epoch")
    general = DendriticClassifier(**kw).fit(X, y, sample_weight=sw)
    tol = dict(rtol=1e-12, atol=1e-15) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(general._params, online._params, **tol)
    for name in state_written(online):
        np.testing.assert_allclose(views(general._state)[name], views(online._state)[name],
                                   **tol)


def test_csr_input_with_unsorted_indices_trains_as_dense():
    """Runs of non-zero inputs are found by their positions, whatever their order in a
    CSR row: unsorted column indices give the same weights as the dense matrix."""
    rng = np.random.RandomState(3)
    X = rng.uniform(0.1, 1.0, (12, 40))
    X[rng.rand(12, 40) < 0.3] = 0.0
    y = np.arange(12) % 3
    A = sp.csr_matrix(X)
    for i in range(12):  # reverse every row's entries
        lo, hi = A.indptr[i], A.indptr[i + 1]
        A.indices[lo:hi] = A.indices[lo:hi][::-1].copy()
        A.data[lo:hi] = A.data[lo:hi][::-1].copy()
    A.has_sorted_indices = False
    # (input_scaling="auto" would centre the dense matrix's densest columns, never a CSR's)
    kw = dict(max_iter=2, tol=None, shuffle=False, random_state=0, input_scaling="max_abs")
    dense = DendriticClassifier((60,), **kw).fit(X, y)
    unsorted = DendriticClassifier((60,), **kw).fit(A, y)
    np.testing.assert_allclose(unsorted._params, dense._params, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("direct", [False, True])
def test_reference_gradient_is_the_loss_gradient(activation, direct):
    """The reference's backward pass against finite differences of its loss."""
    rng = np.random.RandomState(0)
    sizes = [4, 5, 3, 3]
    params = init_params(sizes, activation, rng, np.float64, direct)
    params[params == 0] = rng.randn(int((params == 0).sum()))  # (the direct path starts at 0)
    x = rng.uniform(0.1, 1, 4)
    _, grad = loss_and_grad(params, sizes, x, 1, 1.0, activation)
    num = np.empty_like(params)
    for p in range(params.size):
        e = np.zeros_like(params)
        e[p] = 1e-6
        num[p] = (loss_and_grad(params + e, sizes, x, 1, 1.0, activation)[0]
                  - loss_and_grad(params - e, sizes, x, 1, 1.0, activation)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("direct", [False, True])
def test_reference_multilabel_gradient_is_the_loss_gradient(activation, direct):
    """The reference's multilabel loss (the sum of the labels' binary cross-entropies) and
    backward pass against finite differences, and its loss against the definition
    ``-sum(y log p + (1 - y) log(1 - p))``."""
    rng = np.random.RandomState(0)
    sizes = [4, 5, 3, 3]
    params = init_params(sizes, activation, rng, np.float64, direct)
    params[params == 0] = rng.randn(int((params == 0).sum()))
    x = rng.uniform(0.1, 1, 4)
    y = np.array([1.0, 0.0, 1.0])
    loss, grad = loss_and_grad(params, sizes, x, y, 1.0, activation)
    coefs, intercepts = unpack(params, sizes)
    z = forward(x[None], coefs, intercepts, activation, direct_block(params, sizes))[0]
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(loss, -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    num = np.empty_like(params)
    for q in range(params.size):
        e = np.zeros_like(params)
        e[q] = 1e-6
        num[q] = (loss_and_grad(params + e, sizes, x, y, 1.0, activation)[0]
                  - loss_and_grad(params - e, sizes, x, y, 1.0, activation)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("direct", [False, True])
def test_forward_matches_reference(activation, direct):
    rng = np.random.RandomState(1)
    sizes = [6, 7, 4]
    params = init_params(sizes, activation, rng, np.float64, direct)
    n_layered = 6 * 7 + 7 + 7 * 4 + 4
    params[n_layered:] = rng.randn(params.size - n_layered)  # (the direct path starts at 0)
    X = rng.randn(5, 6)
    coefs, intercepts = unpack(params, sizes)
    logits = forward(X, coefs, intercepts, activation, direct_block(params, sizes))
    for i in range(5):
        z = X[i]
        for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            z = z @ W + b
            if l == 0:
                z = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0),
                     "tanh": np.tanh}[activation](z)
        if direct:
            z = z + X[i] @ params[n_layered:].reshape(6, 4)
        np.testing.assert_allclose(logits[i], z, rtol=1e-12)


def test_zero_inputs_leave_their_weights_and_state_untouched():
    """A zero gradient is no event: weights, gains, signs and clocks stay."""
    X, y, _ = _data(4)
    X[:, 2] = 0.0  # feature 2 is never active
    est = DendriticClassifier((5,), "sigmoid", relax_time=2.0, max_iter=2, tol=None,
                              random_state=0, learning_rate_init=0.1).fit(X, y)
    p0 = init_params([6, 5, 3], "sigmoid", check_random_state(0), np.float64)
    row = slice(2 * 5, 3 * 5)  # first layer, input 2
    np.testing.assert_array_equal(est._params[row], p0[row])
    np.testing.assert_array_equal(est._state["gstate"][0][row], 1.0)
    np.testing.assert_array_equal(est._state["glast"][row], 0)
    assert np.any(est._params[:10] != p0[:10])  # other inputs did learn


def test_clocks_run_only_while_relaxation_is_on():
    """The time of an element's last event is kept only while relaxation is on (its
    only reader); switching relaxation on in a warm start starts every clock now."""
    X, y, _ = _data(4)
    est = DendriticClassifier((5,), max_iter=2, tol=None, random_state=0,
                              warm_start=True).fit(X, y)
    np.testing.assert_array_equal(est._state["glast"], 0.0)
    seen = est._state["counters"][0]
    est.set_params(relax_time=3.0, max_iter=1).fit(X, y)
    last = est._state["glast"]
    assert np.all(last >= seen) and np.all(last <= est._state["counters"][0])
    assert np.any(last > seen)  # events after the switch moved their clocks on


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_finite_check_matches_numpy(dtype):
    """The end-of-call check of the weights (one branch-free pass, ``x - x != 0``)
    against ``np.isfinite(x).all()``: every kind of non-finite value, at every position
    of a vector loop's body and remainder, and the extremes of the finite range."""
    from skadapt._kernel import _all_finite

    finfo = np.finfo(dtype)
    for n in (1, 7, 33, 1000):
        x = np.random.RandomState(n).standard_normal(n).astype(dtype)
        x[0] = finfo.max
        x[-1] = -finfo.tiny / 2  # a subnormal
        assert _all_finite(x) and np.isfinite(x).all()
        for bad in (np.inf, -np.inf, np.nan):
            for pos in range(n):
                y = x.copy()
                y[pos] = bad
                assert not _all_finite(y), (n, bad, pos)
    assert _all_finite(np.zeros(0, dtype))


@pytest.mark.parametrize("beta_2", [0.999, 0.99])
def test_leaky_adagrad_step_starts_as_adagrad_and_settles_at_the_rms_step(beta_2):
    """``base="adagrad"`` as documented: with a constant gradient, the step (base step
    ``learning_rate_init / sqrt(1 - beta_2)`` times the direction) is that base step on
    the first event, AdaGrad's ``1 / sqrt(t)`` of it while ``t << 1 / (1 - beta_2)``, and
    ``learning_rate_init`` (the RMS base's step) once the leaky sum has settled."""
    from skadapt import _rules as R

    est = DendriticClassifier(base="adagrad", beta_2=beta_2, learning_rate_init=1e-3)
    icfg, fcfg = _config.make_config(est)
    eta0, g = fcfg[R.F_ETA0], -0.37
    assert eta0 == pytest.approx(1e-3 / np.sqrt(1 - beta_2), rel=1e-15)
    v, steps = 0.0, []
    for _ in range(int(20 / (1 - beta_2))):
        d, v = R.base_direction(g, v, icfg[R.I_BASE], fcfg[R.F_BETA2], fcfg[R.F_V_REST],
                                fcfg[R.F_EPS], 1.0)
        steps.append(-eta0 * d)
    assert steps[0] == pytest.approx(eta0, rel=1e-6)  # a sign step of the base step
    for t in (2, 10, 100, 1000):  # the leaky sum of t equal squares, (1 - b**t) / (1 - b)
        expected = eta0 / np.sqrt((1 - beta_2**t) / (1 - beta_2))
        assert steps[t - 1] == pytest.approx(expected, rel=1e-6)
    # early, about AdaGrad's eta0 / sqrt(t); settled, the RMS base's step
    assert steps[9] == pytest.approx(eta0 / np.sqrt(10), rel=0.03)
    assert steps[-1] == pytest.approx(1e-3, rel=1e-6)
    rms = DendriticClassifier(base="rms", beta_2=beta_2, learning_rate_init=1e-3)
    assert _config.make_config(rms)[1][R.F_ETA0] == 1e-3
