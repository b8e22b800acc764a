"""Streams: skadapt against the online learners of River and scikit-learn, test-then-train.

Protocol (issue 19, item 1):

- streams, all offline (nothing is downloaded at run time):

  - River's bundled data sets: ``Phishing`` (1,250 x 9, binary), ``Bananas`` (5,300 x 2,
    binary), ``ImageSegments`` (2,310 x 18, 7 classes) and ``Shuttle`` (River's binary version,
    49,097 x 9, 92.8% one class; a stratified subsample of 10,000 rows, ``random_state=0``).
    Their files are in no meaningful order; seed ``s`` presents the rows in a random order
    drawn from ``s``;
  - River's synthetic generators, 10,000 examples each, seeded by the seed:
    ``Agrawal`` (classification function 0, then 4 from a ``ConceptDriftStream`` at 5,000,
    width 100), ``SEA`` (variant 0, then 3, 10% label noise, drift at 5,000, width 100),
    ``LED`` (``LEDDrift`` with 10% noise and the 17 irrelevant features; at 5,000, width 100,
    a ``LEDDrift`` in which all 7 relevant features have been swapped with irrelevant ones:
    ``LEDDrift`` by itself swaps its features from the first example on and never changes),
    ``Hyperplane`` (10 features, 2 of them drifting, ``mag_change=0.001``, 5% noise: a
    hyperplane that moves all the time) and ``RandomRBFDrift`` (2 classes, 10 features, 50
    centroids, all moving at ``change_speed=1e-4``);
  - skadapt's MNIST label-permutation stream, ``make_stream("label", "mnist",
    n_samples=3000, random_state=seed)`` (784 raw pixels 0..1, every label permuted at 1,500).

- learners, with their defaults unless said (``random_state``/``seed`` = the seed where they
  take one):

  - ``dendritic``: skadapt's ``DendriticClassifier()`` (784/…-100-K sigmoid with the direct
    path, ``input_scaling="auto"``, ``drift_threshold=10``; it scales its inputs by itself and
    gets the raw features);
  - ``dendritic-tuned``: ``DendriticClassifier`` with the one configuration that a tuning
    (:data:`TUNE_GRID`) chose on the synthetic streams with seeds that are not reported
    (``--tune-seeds``), scored by the mean progressive accuracy over those streams; the
    bundled data sets and MNIST take no part in the tuning;
  - River: ``LogisticRegression`` (binary) or ``SoftmaxRegression`` (multiclass) behind
    ``preprocessing.StandardScaler``, ``tree.HoeffdingAdaptiveTreeClassifier``,
    ``forest.ARFClassifier(n_models=10)``, ``neighbors.KNNClassifier`` behind the scaler and
    ``naive_bayes.GaussianNB``;
  - scikit-learn: ``SGDClassifier(loss="log_loss")`` and ``MLPClassifier()`` (100 relu units,
    Adam, one step per ``partial_fit`` call) behind a running standardisation: scikit-learn's
    ``StandardScaler.partial_fit`` on every batch, the same statistic as River's running
    ``StandardScaler`` (mean and variance of every example seen so far). Every learner that
    needs scaled inputs gets this one; the trees, the forest and naive Bayes get the raw
    features, as does skadapt.

- evaluation: progressive validation (test-then-train), every example predicted before it is
  learnt, by a model that has learnt every example before it (River: ``predict_one`` then
  ``learn_one``, one example at a time) or every example before its batch (scikit-learn and
  skadapt: ``predict`` then ``partial_fit`` on batches of 10 consecutive examples, the first
  batch being the first example alone; ``DendriticClassifier`` with its default
  ``batch_size=None`` = 1 still makes one update per example, shuffled within the call as its
  default ``shuffle=True`` does; ``MLPClassifier`` and ``SGDClassifier`` make one step per
  call and per example respectively). An example predicted before any learning counts as
  wrong, except where River's untrained model returns a label.

- measured per (stream, learner, seed): accuracy over the whole stream; accuracy over the
  ``--window`` (1,000) examples from each known drift position (Agrawal, SEA, LED, MNIST);
  wall time of the loop (predictions and updates, feature dicts built before) per 1,000
  examples. Reported: mean ± standard error over the seeds; per stream, the gap of
  ``dendritic`` (and ``dendritic-tuned``) to the best other learner, paired over the seeds
  (same stream per seed), called a tie when ``|gap| <= 2 s.e.`` or ``<= 0.005``, else a win
  or a loss; per learner, the mean rank over the streams.

``python benchmarks/streams.py --quick --jobs 2`` (1-3 minutes on 2 cores: 1,500 examples
per synthetic stream, Shuttle, Bananas and ImageSegments subsampled to 1,500, sklearn's 8x8
digits (1,000) instead of MNIST, drift windows of 500, 2 seeds, 1 tuning seed) or
``python benchmarks/streams.py --jobs 2 --out doc/benchmarks/streams`` (the full run; writes
``streams.md`` and ``streams.json``). ``--extra LABEL=JSON`` adds another
``DendriticClassifier`` configuration as a row (doc/streams.md's item-2 row).
"""

import argparse
import datetime
import itertools
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _versions import versions  # benchmarks/_versions.py: this folder is on sys.path
from scipy.stats import rankdata
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skadapt import DendriticClassifier

# -- streams ----------------------------------------------------------------------------------
# Each loader takes (seed, cfg) and returns (X, y, change_points, description): X float64,
# y the labels as ints 0..K-1.

BUNDLED = ("phishing", "bananas", "segment", "shuttle")
SYNTHETIC = ("agrawal", "sea", "led", "hyperplane", "rbf")
STREAMS = (*BUNDLED, *SYNTHETIC, "mnist")
PACKAGES = ("numpy", "scipy", "scikit-learn", "numba", "river", "skadapt")


def _encode(y):
    """Labels as ints 0..K-1 (sorted classes)."""
    _, idx = np.unique(np.asarray(y), return_inverse=True)
    return idx.astype(np.int64)


def _rows(dataset, n=None):
    """(X, y) of the first ``n`` examples of a River dataset (all if None), features in the
    order of the first example's keys."""
    rows = list(itertools.islice(dataset, n))
    keys = list(rows[0][0])
    X = np.array([[float(x[k]) for k in keys] for x, _ in rows])
    return X, np.array([label for _, label in rows])


_BUNDLED_CACHE = {}


def _bundled(name, seed, cfg):
    from river import datasets

    cls = {"phishing": "Phishing", "bananas": "Bananas", "segment": "ImageSegments",
           "shuttle": "Shuttle"}[name]
    if cls not in _BUNDLED_CACHE:
        _BUNDLED_CACHE[cls] = _rows(getattr(datasets, cls)())
    X, y = _BUNDLED_CACHE[cls]
    n_all = len(y)
    limit = cfg["bundled_rows"].get(name)
    if limit is not None and limit < n_all:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(n_all), train_size=limit, stratify=y,
                                   random_state=0)
        X, y = X[np.sort(keep)], y[np.sort(keep)]
    order = np.random.RandomState(seed).permutation(len(y))
    sub = f", a stratified subsample of {len(y):,} of its {n_all:,} rows" if len(y) < n_all else ""
    desc = f"River's {cls} ({X.shape[1]} features{sub}), rows in a random order"
    return X[order], _encode(y[order]), [], desc


def _synthetic(name, seed, cfg):
    from river.datasets import synth

    n = cfg["n_synthetic"]
    cp = n // 2
    s = 1 + 10 * seed  # every generator seed of stream seed s lies in [1 + 10 s, 10 + 10 s]
    if name == "agrawal":
        ds = synth.ConceptDriftStream(synth.Agrawal(0, seed=s), synth.Agrawal(4, seed=s + 1),
                                      position=cp, width=100, seed=s + 2)
        desc = f"Agrawal, function 0 then 4 (drift at {cp}, width 100)"
    elif name == "sea":
        ds = synth.ConceptDriftStream(synth.SEA(0, noise=0.1, seed=s),
                                      synth.SEA(3, noise=0.1, seed=s + 1),
                                      position=cp, width=100, seed=s + 2)
        desc = f"SEA, variant 0 then 3, 10% noise (drift at {cp}, width 100)"
    elif name == "led":
        ds = synth.ConceptDriftStream(
            synth.LEDDrift(seed=s, noise_percentage=0.1, irrelevant_features=True),
            synth.LEDDrift(seed=s + 1, noise_percentage=0.1, irrelevant_features=True,
                           n_drift_features=7),
            position=cp, width=100, seed=s + 2)
        desc = (f"LEDDrift, 10% noise, 24 features; all 7 relevant ones swapped with "
                f"irrelevant ones at {cp} (width 100)")
    elif name == "hyperplane":
        ds = synth.Hyperplane(seed=s, n_features=10, n_drift_features=2, mag_change=0.001,
                              noise_percentage=0.05, sigma=0.1)
        desc = "Hyperplane, 10 features, 2 drifting (mag_change 0.001), 5% noise"
        cp = None
    elif name == "rbf":
        ds = synth.RandomRBFDrift(seed_model=s, seed_sample=s + 1, n_classes=2, n_features=10,
                                  n_centroids=50, change_speed=1e-4, n_drift_centroids=50)
        desc = "RandomRBFDrift, 2 classes, 10 features, 50 centroids moving at 1e-4"
        cp = None
    else:
        raise ValueError(name)
    X, y = _rows(ds, n)
    return X, _encode(y), [] if cp is None else [cp], f"{desc}, {n:,} examples"


def _mnist(seed, cfg):
    from skadapt.streams import make_stream

    s = make_stream("label", cfg["mnist_source"], n_samples=cfg["n_mnist"], random_state=seed)
    return s.X, _encode(s.y), list(s.change_points), s.description


def load_stream(name, seed, cfg):
    """(X, y, change_points, description) of one stream for one seed."""
    if name in BUNDLED:
        return _bundled(name, seed, cfg)
    if name in SYNTHETIC:
        return _synthetic(name, seed, cfg)
    if name == "mnist":
        return _mnist(seed, cfg)
    raise ValueError(f"unknown stream {name!r}")


# -- learners ---------------------------------------------------------------------------------

# The tuning grid of ``dendritic-tuned``: the base step, the activation and the depth (16
# points; the default is the first).
TUNE_GRID = [dict(learning_rate_init=lr, activation=act, hidden_layer_sizes=hidden)
             for act in ("relu", "sigmoid") for hidden in ((100,), (100, 100))
             for lr in (0.001, 0.0003, 0.003, 0.01)]
RIVER = ("river-logreg", "river-HAT", "river-ARF", "river-KNN", "river-GaussianNB")
SKLEARN = ("sklearn-SGD", "sklearn-MLP")
LEARNERS = ("dendritic", "dendritic-tuned", *RIVER, *SKLEARN)


class RunningScaled:
    """A scikit-learn ``partial_fit`` learner behind a running standardisation.

    ``partial_fit`` first adds the batch to the scaler's running mean and variance (every
    example seen so far), then trains the learner on the batch scaled with them; ``predict``
    scales with the statistics of the examples learnt so far. River's
    ``preprocessing.StandardScaler`` keeps the same statistics.
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.scaler = StandardScaler()

    def partial_fit(self, X, y, classes=None):
        self.scaler.partial_fit(X)
        kw = {} if classes is None else dict(classes=classes)
        self.estimator.partial_fit(self.scaler.transform(X), y, **kw)
        return self

    def predict(self, X):
        return self.estimator.predict(self.scaler.transform(X))


def make_learner(name, seed, n_classes, params=None):
    """A fresh learner; ``params`` are the tuned parameters of ``dendritic-tuned``."""
    if name == "dendritic":
        return DendriticClassifier(random_state=seed)
    if name.startswith("dendritic-"):  # dendritic-tuned and the --extra configurations
        return DendriticClassifier(random_state=seed, **(params or {}))
    if name == "sklearn-SGD":
        return RunningScaled(SGDClassifier(loss="log_loss", random_state=seed))
    if name == "sklearn-MLP":
        return RunningScaled(MLPClassifier(random_state=seed))
    from river import forest, linear_model, naive_bayes, neighbors, preprocessing, tree

    if name == "river-logreg":
        lin = (linear_model.LogisticRegression() if n_classes == 2
               else linear_model.SoftmaxRegression())
        return preprocessing.StandardScaler() | lin
    if name == "river-HAT":
        return tree.HoeffdingAdaptiveTreeClassifier(seed=seed)
    if name == "river-ARF":
        return forest.ARFClassifier(n_models=10, seed=seed)
    if name == "river-KNN":
        return preprocessing.StandardScaler() | neighbors.KNNClassifier()
    if name == "river-GaussianNB":
        return naive_bayes.GaussianNB()
    raise ValueError(f"unknown learner {name!r}")


def run_river(model, X, y, binary):
    """Test-then-train one example at a time; returns (correct, seconds)."""
    xs = [dict(enumerate(row)) for row in X.tolist()]
    ys = [bool(v) for v in y.tolist()] if binary else y.tolist()
    correct = np.zeros(len(ys), dtype=np.int8)
    t0 = time.perf_counter()
    for i, (x, label) in enumerate(zip(xs, ys, strict=True)):
        correct[i] = model.predict_one(x) == label
        model.learn_one(x, label)
    return correct, time.perf_counter() - t0


def run_batches(model, X, y, n_classes, batch):
    """Test-then-train on the first example alone, then on batches of ``batch`` examples;
    returns (correct, seconds)."""
    n = len(y)
    correct = np.zeros(n, dtype=np.int8)
    bounds = [0, *range(1, n, batch), n]
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        model.partial_fit(X[:1], y[:1], classes=np.arange(n_classes))
        for a, b in itertools.pairwise(bounds[1:]):
            correct[a:b] = model.predict(X[a:b]) == y[a:b]
            model.partial_fit(X[a:b], y[a:b])
    return correct, time.perf_counter() - t0


def run_learner(name, X, y, n_classes, seed, cfg, params=None):
    """One learner on one stream: (correct, seconds), or (None, message) if it failed."""
    model = make_learner(name, seed, n_classes, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and numerical warnings of the peers
        try:
            if name in RIVER:
                return run_river(model, X, y, n_classes == 2)
            return run_batches(model, X, y, n_classes, cfg["batch"])
        except (ValueError, FloatingPointError, ZeroDivisionError) as e:
            return None, f"{type(e).__name__}: {e}"


def metrics(correct, change_points, window):
    """Whole-stream accuracy and the accuracy over ``window`` examples from each change."""
    post = [float(correct[cp:cp + window].mean()) for cp in change_points]
    return float(correct.mean()), post


def run_unit(stream, seed, jobs, cfg):
    """Every (learner, params) of ``jobs`` on one (stream, seed)."""
    X, y, cps, desc = load_stream(stream, seed, cfg)
    n_classes = int(y.max()) + 1
    out = []
    for name, params in jobs:
        correct, secs = run_learner(name, X, y, n_classes, seed, cfg, params)
        if correct is None:
            out.append(dict(name=name, params=params, failed=secs))
            continue
        acc, post = metrics(correct, cps, cfg["window"])
        out.append(dict(name=name, params=params, failed=None, accuracy=acc, post=post,
                        ms_per_1000=1e6 * secs / len(y)))
    majority = float(np.bincount(y).max() / len(y))
    return dict(stream=stream, seed=seed, n=len(y), n_features=X.shape[1],
                n_classes=n_classes, change_points=cps, description=desc, majority=majority,
                runs=out)


# The units' rough relative cost, to start the slowest first.
_COST = {"mnist": 10.0, "shuttle": 2.0, "bananas": 1.0, "segment": 0.8, "phishing": 0.3}


def run_units(units, cfg, n_jobs):
    """:func:`run_unit` over every (stream, seed, jobs), slowest first, in ``n_jobs``
    processes; returned in the order given."""
    order = sorted(range(len(units)), key=lambda i: -_COST.get(units[i][0], 2.0))
    if n_jobs == 1:
        done = {i: run_unit(*units[i], cfg) for i in order}
    else:
        from joblib import Parallel, delayed

        res = Parallel(n_jobs=n_jobs, batch_size=1)(
            delayed(run_unit)(*units[i], cfg) for i in order)
        done = dict(zip(order, res, strict=True))
    return [done[i] for i in range(len(units))]


def tune(streams, tune_seeds, cfg, n_jobs):
    """The :data:`TUNE_GRID` point with the highest mean progressive accuracy over the
    (synthetic) ``streams`` and ``tune_seeds``; a failed run scores 0. Returns the point and
    every point's score."""
    jobs = [("dendritic-tuned", p) for p in TUNE_GRID]
    scores = np.zeros(len(TUNE_GRID))
    units = [(s, seed, jobs) for s in streams for seed in tune_seeds]
    for unit in run_units(units, cfg, n_jobs):
        for i, r in enumerate(unit["runs"]):
            scores[i] += 0.0 if r["failed"] else r["accuracy"]
    scores /= len(units)
    best = int(np.argmax(scores))
    return TUNE_GRID[best], [dict(params=p, score=float(s)) for p, s in
                             zip(TUNE_GRID, scores, strict=True)]


# -- report -----------------------------------------------------------------------------------
TIE_SE, TIE_ABS = 2.0, 0.005


def mean_se(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan)


def fmt(v, digits=3, sign=False):
    m, se = mean_se(v)
    if not np.isfinite(m):
        return "failed"
    d = f"+.{digits}f" if sign else f".{digits}f"
    return f"{m:{d}} ± {se:.{digits}f}" if np.isfinite(se) else f"{m:{d}}"


def collect(units):
    """stream -> learner -> list over seeds of run dicts (failed runs have ``failed``)."""
    res = {}
    for u in units:
        for r in u["runs"]:
            res.setdefault(u["stream"], {}).setdefault(r["name"], []).append(r)
    return res


def values(runs, key, i=None):
    out = []
    for r in runs:
        if r["failed"]:
            out.append(np.nan)
        else:
            out.append(r[key] if i is None else r[key][i])
    return np.asarray(out, float)


def verdict(d):
    """'win', 'tie' or 'loss' of paired differences ``d`` (ours minus theirs)."""
    m, se = mean_se(d)
    if abs(m) <= TIE_ABS or (np.isfinite(se) and abs(m) <= TIE_SE * se):
        return "tie"
    return "win" if m > 0 else "loss"


def gap_to_best(res, stream, ours, learners):
    """Paired gap of ``ours`` to the best other learner (by mean accuracy) on one stream."""
    others = [n for n in learners if n != ours and n in res[stream]]
    means = {n: np.nanmean(values(res[stream][n], "accuracy")) for n in others}
    best = max(others, key=lambda n: -np.inf if not np.isfinite(means[n]) else means[n])
    d = values(res[stream][ours], "accuracy") - values(res[stream][best], "accuracy")
    return best, d, verdict(d)


def report(units, learners, cfg, title, cmd, elapsed, tuned, tune_scores):
    res = collect(units)
    info = {}
    for u in units:
        info.setdefault(u["stream"], u)
    streams = list(res)
    majority = {s: [u["majority"] for u in units if u["stream"] == s] for s in streams}
    lines = [f"# {title}", "",
             f"Command: `{cmd}` ({elapsed:.0f} s on this machine, with other work running: "
             "compare times within this run only). Progressive validation (test-then-train): "
             "River learners one example at a time, scikit-learn and skadapt through "
             f"`partial_fit` on batches of {cfg['batch']} (each example predicted before it is "
             f"learnt). Mean ± s.e. over seeds {cfg['seeds']}. `dendritic-tuned`: "
             f"`DendriticClassifier(**{tuned})`, chosen on the synthetic streams with seeds "
             f"{cfg['tune_seeds']} (not reported)."]
    for name, p in cfg.get("extras", {}).items():
        lines[-1] += (f" `{name}`: `DendriticClassifier(**{p})`, not tuned here (given on the "
                      "command line), not counted as a peer.")
    lines += ["", "## Streams", ""]
    for s in streams:
        u = info[s]
        cps = f"; drift at {u['change_points']}" if u["change_points"] else ""
        lines.append(f"- `{s}`: {u['description']} ({u['n']:,} examples, {u['n_features']} "
                     f"features, {u['n_classes']} classes; majority rate "
                     f"{np.mean(majority[s]):.3f}{cps})")
    lines += ["", "## Progressive accuracy over the whole stream", ""]
    head = ["learner", *[f"`{s}`" for s in streams], "mean rank"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    acc = {s: {n: np.nanmean(values(res[s][n], "accuracy")) for n in learners if n in res[s]}
           for s in streams}
    extras = cfg.get("extras", {})
    ranks = {n: [] for n in learners if n not in extras}
    for s in streams:
        names = [n for n in ranks if n in acc[s]]
        a = np.array([acc[s][n] if np.isfinite(acc[s][n]) else -1.0 for n in names])
        for n, r in zip(names, rankdata(-a), strict=True):
            ranks[n].append(r)
    for n in learners:
        cells = []
        for s in streams:
            if n not in res[s]:
                cells.append("-")
                continue
            cell = fmt(values(res[s][n], "accuracy"))
            best = max(acc[s].values())
            cells.append(f"**{cell}**" if acc[s][n] == best else cell)
        rank = f"{np.mean(ranks[n]):.2f}" if n in ranks else "-"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {rank} |")
    lines += ["", "Bold: the highest mean on the stream. Mean rank: 1 = most accurate, over the "
              "streams, among the learners other than the `--extra` ones.", ""]

    drift_streams = [s for s in streams if info[s]["change_points"]]
    if drift_streams:
        lines += [f"## Accuracy over the {cfg['window']:,} examples after each drift", ""]
        cols = [(s, i, cp) for s in drift_streams
                for i, cp in enumerate(info[s]["change_points"])]
        head = ["learner", *[f"`{s}` @{cp}" for s, _, cp in cols]]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for n in learners:
            cells = [fmt(values(res[s][n], "post", i)) if n in res[s] else "-"
                     for s, i, _ in cols]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")

    lines += ["## Time per 1,000 examples (ms, predict + learn)", ""]
    head = ["learner", *[f"`{s}`" for s in streams]]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in learners:
        cells = [fmt(values(res[s][n], "ms_per_1000"), 0) if n in res[s] else "-"
                 for s in streams]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")

    gaps = {}
    lines += ["## skadapt against the best other learner on each stream", "",
              f"Paired over the seeds (same stream); a tie when |gap| <= {TIE_SE:g} s.e. or "
              f"<= {TIE_ABS}. The best other learner excludes both skadapt rows.", "",
              "| stream | best other learner | its accuracy | `dendritic` gap | verdict | "
              "`dendritic-tuned` gap | verdict |", "|---|---|---|---|---|---|---|"]
    wtl = {o: {"win": 0, "tie": 0, "loss": 0} for o in ("dendritic", "dendritic-tuned")}
    peers = [n for n in learners if not n.startswith("dendritic")]
    for s in streams:
        row = [f"`{s}`"]
        for j, ours in enumerate(("dendritic", "dendritic-tuned")):
            if ours not in res[s]:
                row += ["-", "-"] if j else ["-", "-", "-", "-"]
                continue
            best, d, v = gap_to_best(res, s, ours, [*peers, ours])
            wtl[ours][v] += 1
            gaps.setdefault(s, {})[ours] = dict(best=best, gap=mean_se(d), verdict=v)
            if j == 0:
                row += [best, fmt(values(res[s][best], "accuracy"))]
            row += [fmt(d, sign=True), v]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Against the best other learner on each stream: " + "; ".join(
        f"`{o}` {w['win']} wins, {w['tie']} ties, {w['loss']} losses"
        for o, w in wtl.items() if sum(w.values())) + ".", ""]

    lines += ["## `dendritic` against each learner", "",
              "Wins / ties / losses over the streams (paired over seeds, same tie rule):", "",
              "| against | wins | ties | losses |", "|---|---|---|---|"]
    pair = {}
    for n in learners:
        if n == "dendritic":
            continue
        c = {"win": 0, "tie": 0, "loss": 0}
        for s in streams:
            if n in res[s] and "dendritic" in res[s]:
                c[verdict(values(res[s]["dendritic"], "accuracy")
                          - values(res[s][n], "accuracy"))] += 1
        pair[n] = c
        lines.append(f"| {n} | {c['win']} | {c['tie']} | {c['loss']} |")
    lines.append("")
    if tune_scores:
        lines += ["## Tuning of `dendritic-tuned`", "",
                  "Mean progressive accuracy over the synthetic streams with the tuning seeds:",
                  "", "| parameters | score |", "|---|---|"]
        for t in sorted(tune_scores, key=lambda t: -t["score"]):
            lines.append(f"| `{t['params']}` | {t['score']:.4f} |")
        lines.append("")
    failed = [(u["stream"], u["seed"], r["name"], r["failed"]) for u in units for r in u["runs"]
              if r["failed"]]
    if failed:
        lines += ["Failed runs: " + "; ".join(f"{n} on {s} seed {sd}: {m}"
                                               for s, sd, n, m in failed), ""]
    return "\n".join(lines), dict(gaps=gaps, wtl_best=wtl, wtl_pairs=pair,
                                  mean_rank={n: float(np.mean(r)) for n, r in ranks.items()})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default=",".join(STREAMS))
    ap.add_argument("--learners", default=",".join(LEARNERS))
    ap.add_argument("--seeds", type=int, default=None, help="reported seeds (default 3; "
                    "--quick: 2)")
    ap.add_argument("--tune-seeds", type=int, default=None,
                    help="tuning seeds, disjoint from the reported ones (default 2; --quick: 1)")
    ap.add_argument("--tuned", default=None,
                    help="JSON parameters of dendritic-tuned: skips the tuning")
    ap.add_argument("--window", type=int, default=None,
                    help="examples after each drift averaged (default 1000; --quick: 500)")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=JSON",
                    help="another DendriticClassifier configuration, reported as "
                    "dendritic-LABEL (not tuned, not counted as a peer); repeatable")
    ap.add_argument("--quick", action="store_true", help="short streams, 8x8 digits, 2 seeds")
    ap.add_argument("--jobs", type=int, default=1, help="parallel (stream, seed) units")
    ap.add_argument("--out", default=None, help="write OUT.md and OUT.json")
    args = ap.parse_args(argv)
    streams = args.streams.split(",")
    learners = args.learners.split(",")
    for s in streams:
        if s not in STREAMS:
            ap.error(f"unknown stream {s!r}; choose from {','.join(STREAMS)}")
    for n in learners:
        if n not in LEARNERS:
            ap.error(f"unknown learner {n!r}; choose from {','.join(LEARNERS)}")
    extras = {}
    for e in args.extra:
        label, _, spec = e.partition("=")
        extras[f"dendritic-{label}"] = json.loads(spec)
    learners += [n for n in extras if n not in learners]
    if args.quick:
        cfg = dict(n_synthetic=1500, n_mnist=1000, mnist_source="digits", window=500,
                   bundled_rows={"shuttle": 1500, "bananas": 1500, "segment": 1500})
        n_seeds, n_tune = 2, 1
    else:
        cfg = dict(n_synthetic=10000, n_mnist=3000, mnist_source="mnist", window=1000,
                   bundled_rows={"shuttle": 10000})
        n_seeds, n_tune = 3, 2
    cfg["batch"] = 10
    cfg["extras"] = extras
    if args.window is not None:
        cfg["window"] = args.window
    cfg["seeds"] = list(range(n_seeds if args.seeds is None else args.seeds))
    cfg["tune_seeds"] = list(range(100, 100 + (n_tune if args.tune_seeds is None
                                               else args.tune_seeds)))
    t0 = time.perf_counter()
    # one tiny fit first, so that the Numba compile (or cache load) is timed on no stream
    DendriticClassifier(max_iter=1).fit(np.eye(4), [0, 1, 0, 1])
    tune_scores = []
    if "dendritic-tuned" not in learners:
        tuned = None
    elif args.tuned is not None:
        tuned = json.loads(args.tuned)
    else:
        tuned, tune_scores = tune([s for s in SYNTHETIC], cfg["tune_seeds"], cfg, args.jobs)
    t_tune = time.perf_counter() - t0
    jobs = [(n, tuned if n == "dendritic-tuned" else extras.get(n)) for n in learners]
    units = run_units([(s, seed, jobs) for s in streams for seed in cfg["seeds"]], cfg,
                      args.jobs)
    elapsed = time.perf_counter() - t0
    cmd = "python benchmarks/streams.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    title = (f"Streams: {len(streams)} streams, {len(learners)} online learners, progressive "
             f"accuracy, {len(cfg['seeds'])} seeds")
    text, summary = report(units, learners, cfg, title, cmd.strip(), elapsed, tuned,
                           tune_scores)
    text += (f"\nTuning {t_tune:.0f} s. Versions: "
             + ", ".join(f"{k} {v}" for k, v in versions(PACKAGES).items()) + ".\n")
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text)
        out.with_suffix(".json").write_text(json.dumps(dict(
            command=cmd.strip(), seconds=elapsed, tune_seconds=t_tune,
            date=datetime.date.today().isoformat(), versions=versions(PACKAGES),
            config={k: v for k, v in cfg.items()}, tuned=tuned, tune_scores=tune_scores,
            summary=summary, units=units), indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
