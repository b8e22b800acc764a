"""``skadapt.streams.make_stream`` as it was before its schedules and changes were split
apart (the parent of the commit that split them), kept verbatim as the reference that
the split's streams are compared with bit for bit (tests/test_streams.py). Not to be
edited: a kind of stream added later has no counterpart here, and is tested on its own.
"""

import numpy as np
from sklearn.utils import check_random_state

from skadapt.streams import Stream, _load_source

KINDS = ("label", "input", "gradual", "recurring")
SOURCES = ("digits", "mnist", "synthetic")
_DEFAULT_N_SAMPLES = {"digits": 1200, "mnist": 3000, "synthetic": 3000}
_MAX_EVAL = 2000


def _derangement(k, rng):
    """A random permutation of ``range(k)`` without fixed points (k >= 2)."""
    while True:
        perm = rng.permutation(k)
        if np.all(perm != np.arange(k)):
            return perm


def _rotation_map(side, quarter_turns):
    """Column map that rotates a row-major ``side x side`` image (as ``np.rot90``)."""
    return np.rot90(np.arange(side * side).reshape(side, side), quarter_turns).ravel()


def _concepts(kind, n, change_points, width, rng):
    """Concept of every example of the stream."""
    cps = np.asarray(change_points, dtype=np.int64)
    segment = np.searchsorted(cps, np.arange(n), side="right")
    if kind == "recurring":
        return segment % 2
    if kind != "gradual":
        return segment
    concept = segment.copy()
    for k, cp in enumerate(cps):
        # Over the ramp the new concept's share is (i + 1) / (width + 1) at its
        # i-th example; error diffusion (with a random phase) turns the shares
        # into draws whose count over any stretch is within one of their sum.
        share = np.arange(1, width + 1) / (width + 1)
        phase = rng.uniform()
        new = np.diff(np.floor(phase + np.cumsum(share)), prepend=np.floor(phase)) > 0
        concept[cp:cp + width] = np.where(new, k + 1, k)
    return concept


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
    """The old ``make_stream`` (its docstring: ``skadapt.streams.make_stream``'s)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}.")
    if change not in ("label", "input"):
        raise ValueError(f"change must be 'label' or 'input'; got {change!r}.")
    if input_change not in ("auto", "rotate", "permute"):
        raise ValueError(
            f"input_change must be 'auto', 'rotate' or 'permute'; got {input_change!r}."
        )
    if width is not None and kind != "gradual":
        raise ValueError(f"width is for kind='gradual' only; got width={width} with {kind!r}.")
    rng = check_random_state(random_state)
    n = _DEFAULT_N_SAMPLES[source] if n_samples is None else int(n_samples)
    if n < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples}.")

    # -- the source data and the held-out split
    if source == "synthetic":
        from sklearn.datasets import make_classification

        n_eval = 1000 if n_eval is None else int(n_eval)
        if n_eval < 0:
            raise ValueError(f"n_eval must be >= 0; got {n_eval}.")
        X_src, y_src = make_classification(
            n_samples=n + n_eval, n_features=20, n_informative=10, n_redundant=0,
            n_classes=10, n_clusters_per_class=1, class_sep=1.5, random_state=rng,
        )
        side = None
        eval_rows = np.arange(n, n + n_eval)
        pool = np.arange(n)
    else:
        X_src, y_src, side = _load_source(source)
        n_src = y_src.shape[0]
        if n_eval is None:
            n_eval = min(_MAX_EVAL, max(n_src - n, n_src // 5))
        n_eval = int(n_eval)
        if not 0 <= n_eval < n_src:
            raise ValueError(f"n_eval must be in [0, {n_src}); got {n_eval}.")
        order = rng.permutation(n_src)
        eval_rows, pool = np.sort(order[:n_eval]), order[n_eval:]
    reps = -(-n // pool.shape[0])
    rows = np.concatenate([pool] + [rng.permutation(pool) for _ in range(reps - 1)])[:n]

    # -- change points and concepts
    if change_points is None:
        change_points = (n // 3, 2 * n // 3) if kind == "recurring" else (n // 2,)
    cps = [int(c) for c in change_points]
    if not cps or cps[0] <= 0 or cps[-1] >= n or np.any(np.diff(cps) <= 0):
        raise ValueError(f"change_points must increase strictly within (0, {n}); got {cps}.")
    if kind == "gradual":
        width = n // 6 if width is None else int(width)
        ends = [*cps[1:], n]
        if width < 1 or any(c + width > e for c, e in zip(cps, ends, strict=True)):
            raise ValueError(
                f"width={width} must be >= 1 and each ramp must end before the next change "
                f"point or the end of the stream (change points {cps}, n_samples={n})."
            )
    else:
        width = 0
    concept = _concepts(kind, n, cps, width, rng)
    n_concepts = int(concept.max()) + 1

    # -- what each concept does to the labels and the inputs
    classes = np.unique(y_src)
    n_features = X_src.shape[1]
    what = kind if kind in ("label", "input") else change
    if what == "input" and input_change == "auto":
        input_change = "permute" if side is None else "rotate"
    if what == "input" and input_change == "rotate":
        if side is None:
            raise ValueError("input_change='rotate' needs square images; use 'permute'.")
        if n_concepts > 4:
            raise ValueError(f"A rotation has 4 concepts at most; got {n_concepts}.")
    identity_labels = np.arange(classes.shape[0])
    identity_features = np.arange(n_features)
    label_maps, feature_maps = [identity_labels], [identity_features]
    for c in range(1, n_concepts):
        if what == "label":
            label_maps.append(_derangement(classes.shape[0], rng))
            feature_maps.append(identity_features)
        else:
            label_maps.append(identity_labels)
            feature_maps.append(
                _rotation_map(side, c) if input_change == "rotate"
                else rng.permutation(n_features)
            )

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

    if what == "label":
        how = "labels permuted"
    elif input_change == "rotate":
        how = "images rotated by 90 degrees"
    else:
        how = "features permuted"
    shape = f"{side}x{side} images" if side else f"{n_features} features"
    if kind == "gradual":
        at = ", ".join(f"{c}-{c + width}" for c in cps)
        desc = f"gradual drift ({how}), ramps over examples {at}"
    elif kind == "recurring":
        desc = f"recurring concepts A/B ({how} in B), changes at {cps}"
    else:
        desc = f"sudden change ({how}) at {cps}"
    description = (f"{source} ({shape}), {n} examples, {n_eval} held out: {desc}")
    return Stream(
        X=X, y=y, change_points=cps, concept=concept, description=description,
        X_eval=[e[0] for e in evals], y_eval=[e[1] for e in evals],
        label_maps=label_maps, feature_maps=feature_maps, width=width, index=rows,
        eval_index=eval_rows, kind=kind, source=source,
    )
