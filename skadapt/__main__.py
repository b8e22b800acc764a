"""Command line: ``skadapt [compare] [options]`` or ``python -m skadapt [compare] [options]``.

Runs the learning-curve comparison of :mod:`skadapt.compare` and prints a
table of test accuracy against the number of training examples.
"""

import argparse
import math
import os
import sys

import numpy as np

from . import __version__
from .compare import (
    DATASETS,
    FILE_SUFFIXES,
    default_estimators,
    effective_sizes,
    format_table,
    learning_curves,
    load_dataset,
    read_table,
    summarize,
)

_COMMANDS = ("compare", "warm-cache")
_TEST_SIZE = 0.3
# Means closer than this are equal (the same accuracies summed in another order).
_TIE_TOL = 1e-9


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return sizes


def _parser(prog):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="skadapt command line. Without a command, runs 'compare'.",
    )
    parser.add_argument("--version", action="version", version=f"skadapt {__version__}")
    commands = parser.add_subparsers(dest="command")
    compare = commands.add_parser(
        "compare",
        help="learning curves: DendriticClassifier against other classifiers",
        description="Test accuracy against training-set size, averaged over repeated "
        "stratified train/test splits.",
    )
    compare.add_argument("--dataset", default="digits",
                         help=f"one of {', '.join(DATASETS)}; or a table file (.csv, .tsv, "
                         ".txt with a header row, separator detected; .parquet) with one "
                         "label column (see --target); or a .npz file with arrays X and y "
                         "(default: digits)")
    compare.add_argument("--target", default=None, metavar="NAME",
                         help="label column of a table file (default: the column named "
                         "label, target, class or y, in that order and any case, else the "
                         "last column)")
    compare.add_argument("--sizes", type=_sizes, default=None,
                         help="comma-separated training sizes; sizes larger than the training "
                         "part are replaced by all of it (default: 50,100,200,400,800)")
    compare.add_argument("--repeats", type=int, default=3,
                         help="number of train/test splits (default: 3)")
    compare.add_argument("--quick", action="store_true",
                         help="sizes 50,200 and 1 repeat (overridden by --sizes/--repeats "
                         "given explicitly)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the first split (default: 0)")
    compare.add_argument("--estimators", default=None,
                         help="comma-separated subset of: " + ", ".join(default_estimators()))
    compare.add_argument("--progress", action="store_true", default=None,
                         help="show progress on stderr (default: only on a terminal)")
    compare.add_argument("--plot", default=None, metavar="FILE.png",
                         help="also write the learning-curve figure (needs matplotlib; the "
                         "directory must exist)")
    compare.add_argument("--version", action="version", version=f"skadapt {__version__}")
    warm = commands.add_parser(
        "warm-cache",
        help="compile the training kernel ahead (e.g. before a parallel search)",
        description="Compile the training kernel (or load it from Numba's on-disk cache) "
        "for each weight dtype, so that later fits and processes do not compile it.",
    )
    warm.add_argument("--dtypes", default="float64,float32",
                      help="comma-separated weight dtypes (float64, float32); default: both")
    warm.add_argument("--kernels", default="default,online,general",
                      help="comma-separated kernels: default (the default configuration's, "
                      "online and in mini-batches), online (any other configuration, one "
                      "example at a time), general (mini-batches of any other); default: "
                      "all three (a search of the default configuration's values needs "
                      "default only)")
    return parser, compare


def _mean_text(row):
    if math.isnan(row["accuracy_sem"]):
        return f"{row['accuracy']:.3f}"
    return f"{row['accuracy']:.3f} ± {row['accuracy_sem']:.3f}"


def _names(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ranking(summary, name="dendritic"):
    """One sentence on where ``name`` ranks at the largest training size.

    The rank is by mean test accuracy over the repeats; learners with equal
    means share a rank (competition ranking: 1, 1, 1, 4). A gap to the best
    (or, for the best, to the runner-up) no larger than the larger of the two
    standard errors is said to be within one standard error; it does not
    change the rank.
    """
    largest = max(row["train_size"] for row in summary)
    at_largest = [row for row in summary if row["train_size"] == largest]
    mine = [row for row in at_largest if row["estimator"] == name]
    if not mine:
        return f"{name} was not run at n={largest}."
    mine = mine[0]
    acc = mine["accuracy"]
    others = [row for row in at_largest if row is not mine]
    tied = [row["estimator"] for row in others if abs(row["accuracy"] - acc) <= _TIE_TOL]
    rank = 1 + sum(row["accuracy"] > acc + _TIE_TOL for row in others)
    if not tied:
        rank_text = str(rank)
    elif len(tied) <= 2:
        rank_text = f"{rank} (tied with {_names(tied)})"
    else:
        rank_text = f"{rank} (tied with {len(tied)} others)"
    text = (f"At n={largest}, DendriticClassifier ({name}) ranks {rank_text} of "
            f"{len(at_largest)} by mean test accuracy ({_mean_text(mine)}")

    def within_one_se(row):
        sems = [mine["accuracy_sem"], row["accuracy_sem"]]
        if any(math.isnan(sem) for sem in sems):
            return False
        return abs(row["accuracy"] - acc) <= max(sems)

    if rank > 1:
        best_acc = max(row["accuracy"] for row in others)
        best = [row for row in others if abs(row["accuracy"] - best_acc) <= _TIE_TOL]
        text += f"; best: {_names([row['estimator'] for row in best])} {_mean_text(best[0])}"
        if within_one_se(best[0]):
            text += ", within one standard error"
    else:
        below = [row for row in others if row["accuracy"] < acc - _TIE_TOL]
        if below:
            runner = max(below, key=lambda row: row["accuracy"])
            text += f"; next: {runner['estimator']} {_mean_text(runner)}"
            if within_one_se(runner):
                text += ", within one standard error"
    return text + ")."


def _check_output(compare, option, path):
    """Exit with a usage error at once if ``path`` cannot be written later."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        compare.error(f"{option} {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        compare.error(f"{option} {path}: directory {directory} is not writable")
    if os.path.isdir(path):
        compare.error(f"{option} {path} is a directory")


def _check_plot(compare, path):
    _check_output(compare, "--plot", path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        compare.error("--plot needs matplotlib: pip install matplotlib")
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix not in formats:
        compare.error(f"--plot {path}: unknown image format {suffix!r}; use one of "
                      f"{', '.join(sorted(formats))}")


def main(argv=None, prog="skadapt"):
    """Run the skadapt command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None means ``sys.argv[1:]``.
        A missing command means ``compare``.
    prog : str, default="skadapt"
        Program name shown in usage and error messages: ``"skadapt"`` for
        the console script, ``"python -m skadapt"`` when run as a module.

    Returns
    -------
    status : int
        Exit status, 0 on success. Usage errors exit with status 2, as
        :mod:`argparse` does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in _COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "compare")
    parser, compare = _parser(prog)
    args = parser.parse_args(argv)
    if args.command == "warm-cache":
        from ._numba_cache import WARM_FITS, warm_cache

        dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
        bad = [d for d in dtypes if d not in ("float64", "float32")]
        if bad or not dtypes:
            parser.error(f"warm-cache --dtypes: expected float64 and/or float32, got "
                         f"{args.dtypes!r}")
        kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
        if not kernels or any(k not in WARM_FITS for k in kernels):
            parser.error(f"warm-cache --kernels: expected some of {', '.join(WARM_FITS)}, "
                         f"got {args.kernels!r}")
        warm_cache(dtypes, verbose=True, kernels=kernels)
        return 0

    sizes = args.sizes
    repeats = args.repeats
    if args.quick:
        sizes = sizes or [50, 200]
        repeats = repeats if "--repeats" in argv else 1
    sizes = sizes or [50, 100, 200, 400, 800]
    if repeats < 1:
        compare.error("--repeats must be at least 1")

    estimators = default_estimators()
    if args.estimators:
        wanted = [name.strip() for name in args.estimators.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in estimators]
        if unknown or not wanted:
            compare.error(f"unknown estimators {unknown}; choose from {list(estimators)}")
        estimators = {name: estimators[name] for name in wanted}

    is_file = args.dataset.lower().endswith(FILE_SUFFIXES)
    if args.dataset not in DATASETS and not is_file:
        compare.error(f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)} "
                      f"or a file ending in {', '.join(FILE_SUFFIXES)}")
    if args.target is not None and not args.dataset.lower().endswith(
        tuple(s for s in FILE_SUFFIXES if s != ".npz")
    ):
        compare.error("--target applies to a table file (.csv, .tsv, .txt, .parquet) only")
    if args.plot:
        _check_plot(compare, args.plot)

    notes, info = [], None
    try:
        if is_file and not args.dataset.lower().endswith(".npz"):
            X, y, info = read_table(args.dataset, target=args.target)
            standardize = True
            notes = _table_notes(info, X.shape[1])
        else:
            X, y, standardize = load_dataset(args.dataset)
    except (OSError, ValueError, ImportError) as exc:
        compare.error(str(exc))

    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        label = f"label column {info['target']!r}: " if info else ""
        compare.error(
            f"{label}class {classes[counts.argmin()].item()!r} has only {counts.min()} "
            "example(s); stratified splits need at least 2 of each class"
            + (" (is this the label? choose the label column with --target NAME)"
               if info else "")
        )
    n_train = len(y) - math.ceil(_TEST_SIZE * len(y))
    if len(y) - n_train < len(classes):
        compare.error(f"{len(y)} samples are too few for a test part with each of the "
                      f"{len(classes)} classes")
    sizes, too_large = effective_sizes(sizes, n_train)
    if min(sizes) < len(classes):
        compare.error(f"--sizes: {min(sizes)} is fewer than the {len(classes)} classes; every "
                      "training subset holds at least one example of each class")

    print(
        f"Learning curves on {args.dataset} ({X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(classes)} classes): test accuracy, mean ± s.e. over {repeats} stratified "
        f"70/30 split(s) (seed {args.seed}+r); training subsets drawn stratified from the 70%"
        + ("; features standardised on the training subset." if standardize else ".")
    )
    for note in notes:
        print(note)
    if too_large:
        exceed = "Size {} exceeds" if len(too_large) == 1 else "Sizes {} exceed"
        print(exceed.format(", ".join(map(str, too_large))) + f" the {n_train} training "
              f"examples of each split; the whole training part (n={n_train}) is the last size.")
    rows = learning_curves(
        estimators,
        dataset=(X, y),
        train_sizes=sizes,
        n_repeats=repeats,
        test_size=_TEST_SIZE,
        random_state=args.seed,
        progress=args.progress,
        standardize=standardize,
    )
    summary = summarize(rows)
    print(format_table(summary))
    print(_ranking(summary))
    if args.plot:
        from .plotting import plot_learning_curves

        ax = plot_learning_curves(summary)
        ax.set_title(f"{os.path.basename(args.dataset)}: test accuracy vs training examples")
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return 0


def _table_notes(info, n_features):
    """One line for each thing read_table decided on the user's behalf."""
    notes = []
    if info["index_column"] is not None:
        header = (f"header {info['index_column']!r}" if info["index_column"]
                  else "empty header")
        notes.append(f"Dropped the first column ({header}): the row index that pandas' "
                     "to_csv writes; it is not a feature.")
    if info["separator"] not in (None, ","):
        notes.append(f"Separator: {info['separator']!r} (detected).")
    if not info["target_given"]:
        notes.append(f"Label: column {info['target']!r} (choose another with --target NAME).")
    if info["one_hot"]:
        encoded = ", ".join(f"{name!r} ({k})" for name, k in info["one_hot"].items())
        notes.append(f"One-hot encoded {len(info['one_hot'])} text column(s) into their "
                     f"distinct values: {encoded}; {n_features} features in all.")
    return notes


if __name__ == "__main__":
    sys.exit(main(prog="python -m skadapt"))
