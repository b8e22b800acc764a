"""The default configuration's flat kernels (``skadapt._kernel_default``) against the kernels
they stand in for (online: the online kernel; mini-batches: the general one): the same
numbers, bit for bit, wherever they are chosen; and they are chosen exactly for the
configurations they implement. (All are held to the NumPy reference in
test_kernel_vs_reference.py: its default dendritic cases run these kernels.)"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit

from skadapt import DendriticClassifier, _config, _learner
from skadapt._rules import BASE_RMS, default_gain_element, gain_element

pytestmark = pytest.mark.filterwarnings(
    "ignore:The model learned nothing:sklearn.exceptions.ConvergenceWarning")


@njit
def _default_gain_element(gd, w, gain, prev, v, gain_up, theta, theta_rest, gain_min,
                          gain_max, beta2, beta2_rest, eps, eta0, zero, one):
    # (the rule's element compiles without a wrapper for calls from Python: KERNEL_ONLY)
    return default_gain_element(gd, w, gain, prev, v, gain_up, theta, theta_rest, gain_min,
                                gain_max, beta2, beta2_rest, eps, eta0, zero, one)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_default_gain_element_is_gain_element_of_the_default_configuration(dtype):
    """Every combination of growth, reset and no change of the gain (the signal's sign
    against the trace's, a zero trace), of clipping at either bound, and of a first or a
    later squared gradient (``v`` zero or not), with the default's coefficients and with
    others: the same four numbers as :func:`gain_element` given the default's choices."""
    rng = np.random.RandomState(0)
    f = dtype
    signals = [f(0.3), f(-2.5), f(1e-3), f(-7e-6)]
    gains = [f(1.0), f(0.011), f(9.95), f(3.2)]
    prevs = [f(0.0), f(0.4), f(-0.05)]
    vs = [f(0.0), f(0.02)]
    settings = [(0.1, 0.7, 0.01, 10.0, 1.0, 1.0, 1e-8, 0.0316),  # the default (AdaGrad base)
                (0.5, 0.2, 0.5, 2.0, 0.999, 0.001, 1e-6, 0.01)]  # other values, RMS base
    n = 0
    for (up, theta, gmin, gmax, beta2, rest, eps, eta0), gd, gain, prev, v in itertools.product(
            settings, signals, gains, prevs, vs):
        w = f(rng.uniform(-1, 1))
        coef = (f(1.0), f(up), f(0.0), f(1.0), True, f(theta), f(1.0 - theta), False, f(gmin),
                f(gmax), f(0.0))
        expected = gain_element(gd, w, gain, prev, v, 0, f(0.0), False, f(1.0), coef, BASE_RMS,
                                f(eta0), f(beta2), f(rest), f(eps))
        got = _default_gain_element(gd, w, gain, prev, v, f(up), f(theta), f(1.0 - theta),
                                    f(gmin), f(gmax), f(beta2), f(rest), f(eps), f(eta0),
                                    f(0.0), f(1.0))
        assert got == expected, (gd, gain, prev, v)
        n += 1
    assert n == 2 * 4 * 4 * 3 * 2


def _changing_data(seed, n=80, d=10, k=3, sparse=False):
    """Inputs with zeros (skipped rows) and a label permutation half-way (the change
    detector fires with a low threshold)."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 2.0, (n, d))
    X[rng.rand(n, d) < 0.35] = 0.0
    y = (X[:, :k].argmax(axis=1) + (np.arange(n) >= n // 2)) % k
    sw = rng.uniform(0.5, 2.0, n)
    return (sp.csr_matrix(X) if sparse else X), y, sw


CASES = [
    dict(),
    dict(hidden_layer_sizes=()),
    dict(hidden_layer_sizes=(6, 5)),
    dict(hidden_layer_sizes=(3,)),  # every block gathers (at most 4 units)
    dict(n_classes=6),  # the output and the direct path step in runs of rows
    dict(direct_path=False),
    dict(drift_threshold=0.1),  # fires: the direct path is cleared
    dict(sparse=True),
    dict(sparse=True, input_scaling="max_abs", drift_threshold=0.1),
    dict(input_scaling=None, learning_rate_init=0.05),
    dict(base="rms", beta_2=0.9, gain_up=0.3, trace_decay=0.4, min_gain=0.5, max_gain=1.5),
    dict(hidden_layer_sizes=(40,), learning_rate_init=0.03, few_active=True),
    dict(batch_size=1, shuffle=True, max_iter=3, epoch_decay=0.5, early_stopping=False),
]


def _assert_default_kernel_trains_as(other, case, batch_size, seed, dtype, monkeypatch):
    """``fit`` and then ``partial_fit`` (on :func:`_changing_data` of ``seed``, in batches
    of ``batch_size`` unless ``case`` says otherwise) with the kernel chosen for the
    configuration ``case``, which must be the default's flat kernel, and, with the choice
    turned to it, with the kernel ``other``: the same weights, optimiser state, loss curve
    and detected changes, bit for bit. Returns the first estimator and its training X."""
    case = dict(case)
    X, y, sw = _changing_data(seed, k=case.pop("n_classes", 3), sparse=case.pop("sparse", False))
    X = X.astype(dtype)
    kw = dict(hidden_layer_sizes=(12,), max_iter=4, tol=None, shuffle=False, random_state=0,
              batch_size=batch_size)
    kw.update(case)

    def fit():
        est = DendriticClassifier(**kw).fit(X, y, sample_weight=sw)
        return est.partial_fit(X[:20], y[:20], sample_weight=sw[:20])

    after_change = _learner.after_change
    returned = []  # (the flat kernels return at each declared change; Python clears)

    def counted_after_change(args):
        returned.append(int(args[_learner._FLAT_ARGUMENTS.index("resume")][0]))
        after_change(args)

    monkeypatch.setattr(_learner, "after_change", counted_after_change)
    default = fit()
    monkeypatch.setattr(_learner, "after_change", after_change)
    assert len(returned) == len(default.drift_detected_)
    assert all(position >= 1 for position in returned)  # (where the kernel goes on)
    flat = "train_epoch_default" if kw["batch_size"] == 1 else "train_epoch_default_batched"
    assert _learner.epoch_kernel(kw["batch_size"], *_config.make_config(default)) == flat
    monkeypatch.setattr(_learner, "epoch_kernel", lambda batch_size, icfg, fcfg: other)
    trained = fit()
    assert default._params.dtype == dtype
    np.testing.assert_array_equal(default._params, trained._params)
    for name in ("pstate", "gstate", "counters", "drift"):
        np.testing.assert_array_equal(default._state[name], trained._state[name], err_msg=name)
    assert default.loss_curve_ == trained.loss_curve_
    np.testing.assert_array_equal(default.drift_detected_, trained.drift_detected_)
    if kw.get("drift_threshold") == 0.1 and default.direct_coef_ is not None:
        assert len(default.drift_detected_) >= 1  # (the detector did fire)
    return default, X


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_default_kernel_trains_as_the_online_kernel(case, dtype, monkeypatch):
    """``fit`` and then ``partial_fit`` with the default kernel and, with the choice turned
    to it, with the online kernel: the same weights, optimiser state, loss curve and
    detected changes, bit for bit (dense and sparse input, float64 and float32, no, one or
    two hidden layers, with and without the direct path and its detector firing, sample
    weights, other values of the rule's parameters, layers with few units active)."""
    case = dict(case)
    few_active = case.pop("few_active", False)
    default, X = _assert_default_kernel_trains_as("train_epoch_online", case, 1, 3, dtype,
                                                  monkeypatch)
    if few_active:  # the rate makes most units die: layers with at most a quarter active
        Xs = (X - default.input_offset_) / default.input_scale_
        n_on = (Xs @ default.coefs_[0] + default.intercepts_[0] > 0).sum(axis=1)
        assert ((n_on >= 1) & (4 * n_on <= 40)).sum() >= 10, np.bincount(n_on)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", [c for c in CASES if "batch_size" not in c], ids=str)
def test_default_batched_kernel_trains_as_the_general_kernel(case, dtype, monkeypatch):
    """The same in mini-batches (7 examples; the last batch of an epoch shorter): ``fit``
    and ``partial_fit`` with the default configuration's mini-batch kernel and with the
    general kernel give the same weights, optimiser state, loss curve and detected
    changes, bit for bit."""
    case = {k: v for k, v in case.items() if k != "few_active"}
    _assert_default_kernel_trains_as("train_epoch", case, 7, 4, dtype, monkeypatch)


@pytest.mark.parametrize("change", [
    dict(rule="adagrad"), dict(rule="delta_bar_delta"), dict(base="gradient"),
    dict(base="sign"), dict(growth="multiplicative", gain_up=1.2), dict(fallback="shrink"),
    dict(coherence="sign"), dict(relax_time=5.0), dict(alpha=1e-4), dict(activation="tanh"),
    dict(activation="logistic"), dict(scope="dendrite"), dict(scope="unit"),
    dict(batch_size=2, rule="adam")], ids=str)
def test_the_default_kernel_is_chosen_for_the_default_configuration_only(change):
    """Defaults (and other values of the parameters it reads) take the default kernel, or
    in mini-batches its mini-batch kernel; a change of any choice they do not implement
    takes the others."""
    est = DendriticClassifier()
    icfg, fcfg = _config.make_config(est)
    assert _learner.epoch_kernel(1, icfg, fcfg) == "train_epoch_default"
    tuned = DendriticClassifier(learning_rate_init=0.01, gain_up=0.3, trace_decay=0.2,
                                max_gain=3.0, hidden_layer_sizes=(7, 3), direct_path=False)
    assert _learner.epoch_kernel(1, *_config.make_config(tuned)) == "train_epoch_default"
    assert _learner.epoch_kernel(2, icfg, fcfg) == "train_epoch_default_batched"
    other = DendriticClassifier(**change)
    batch_size = change.get("batch_size", 1)
    assert _learner.epoch_kernel(batch_size, *_config.make_config(other)) not in (
        "train_epoch_default", "train_epoch_default_batched")


def test_after_change_reads_the_arguments_of_both_flat_kernels():
    """``_learner.after_change`` reads a flat kernel's arguments back by the names of
    ``train_epoch_default``'s signature: the mini-batch kernel's are the same, in the same
    order, and the general kernel's 25 are their start."""
    import inspect

    from skadapt._kernel import train_epoch
    from skadapt._kernel_default import train_epoch_default_batched

    def names(kernel):
        return tuple(inspect.signature(kernel.py_func).parameters)

    assert names(train_epoch_default_batched) == _learner._FLAT_ARGUMENTS
    assert _learner._FLAT_ARGUMENTS[:25] == names(train_epoch)
    assert "resume" in _learner._FLAT_ARGUMENTS[25:]


@pytest.mark.parametrize("sizes", [(5, 3), (4, 7, 2), (64, 30, 20, 10), (3, 2100, 3)], ids=str)
def test_flat_workspace_has_the_general_kernels_layer_offsets(sizes):
    """The offsets :func:`flat_workspace` gives are those of ``layer_offsets`` (the general
    kernel's; no wrapper for Python, so asked through a jitted function), the work
    arrays have the kernels' dtypes and sizes, and the rule's scalars are the
    configuration's, in the parameters' dtype."""
    from numba import njit

    from skadapt._kernel import layer_offsets
    from skadapt._kernel_default import _N_SCALARS, _RUN_ELEMENTS, flat_workspace
    from skadapt._rules import F_ETA0, F_TRACE_DECAY

    @njit
    def offsets(sizes):
        return layer_offsets(sizes)

    a_off, r_off, n_acts, n_rows = offsets(np.array(sizes, np.int64))
    n_layers = len(sizes) - 1
    fcfg = _config.make_config(DendriticClassifier(learning_rate_init=0.1, max_gain=7.0))[1]
    for batched in (False, True):
        work = flat_workspace(sizes, 1000, np.float32, batched, fcfg)
        np.testing.assert_array_equal(work[0], a_off)
        np.testing.assert_array_equal(work[1], r_off)
        widest = 0 if batched else max(_RUN_ELEMENTS, *sizes)
        # a_off, r_off; resume; sc; n_in_nz, nrows, in_idx, touched, rows, ipool; acts,
        # deltas, in_val, fpool
        expected = [(n_layers,)] * 2 + [(2,), (_N_SCALARS,)] + [(n_layers,)] * 2
        expected += [(n_rows,)] * 3 + [(2 * widest,), (n_acts,), (n_acts,), (n_rows,),
                                       (1000 if batched else 5 * widest,)]
        assert [w.shape for w in work] == expected
        i64, f64, f32 = np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.float32)
        assert [w.dtype for w in work] == [i64] * 2 + [f64, f32] + [i64] * 6 + [f32] * 4
        assert not work[2].any()  # (resume: a fresh epoch)
        sc = work[3]
        assert (sc[0], sc[1], sc[10]) == (0.0, 1.0, 7.0)
        assert sc[2] == np.float32(fcfg[F_ETA0]) and sc[2] != np.float32(0.0)
        assert sc[8] == np.float32(1.0 - fcfg[F_TRACE_DECAY])
        assert all(w.flags.c_contiguous for w in work)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_flat_kernels_read_nothing_left_in_their_workspace(batch_size, monkeypatch):
    """The work arrays are scratch: a fit and its partial_fit calls (the online kernel's
    River path reuses one pair for every example) give the same numbers, bit for bit,
    when the arrays come filled with leftovers (NaN, and integers that would be wrong
    marks and counts) instead of zeros, and are reused from call to call."""
    X, y, _ = _changing_data(5, k=3)
    kw = dict(hidden_layer_sizes=(9,), max_iter=3, tol=None, shuffle=True, random_state=0,
              batch_size=batch_size, drift_threshold=0.5)

    def fit():
        est = DendriticClassifier(**kw).fit(X, y)
        for _ in range(2):
            est.partial_fit(X[:25], y[:25])
        return est

    clean = fit()
    fresh = _learner.kernel_workspace
    kept = {}

    def leftovers(name, sizes, params, fcfg):
        if name not in kept:
            work = fresh(name, sizes, params, fcfg)
            for w in work[4:]:  # all but the offsets, the resume and scalars (the caller's)
                if w.dtype.kind == "f":
                    w[:] = np.nan
                else:
                    w[:] = np.arange(w.shape[0]) % 5 + 1
            kept[name] = work
        return kept[name]

    monkeypatch.setattr(_learner, "kernel_workspace", leftovers)
    dirty = fit()
    assert list(kept) == ["train_epoch_default" if batch_size == 1
                          else "train_epoch_default_batched"]
    np.testing.assert_array_equal(clean._params, dirty._params)
    for name in ("pstate", "gstate", "counters", "drift"):
        np.testing.assert_array_equal(clean._state[name], dirty._state[name], err_msg=name)
    assert clean.loss_curve_ == dirty.loss_curve_
