"""Command line: ``python -m skadapt [compare] [options]``.

Runs the learning-curve comparison of :mod:`skadapt.compare` and prints a
table of test accuracy against the number of training examples.
"""

import argparse
import sys

from .compare import (
    DATASETS,
    default_estimators,
    format_table,
    learning_curves,
    load_dataset,
    summarize,
)

_COMMANDS = ("compare",)


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return sizes


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skadapt",
        description="skadapt command line. Without a command, runs 'compare'.",
    )
    commands = parser.add_subparsers(dest="command")
    compare = commands.add_parser(
        "compare",
        help="learning curves: DendriticClassifier against other classifiers",
        description="Test accuracy against training-set size, averaged over repeated "
        "stratified train/test splits.",
    )
    compare.add_argument("--dataset", default="digits",
                         help=f"one of {', '.join(DATASETS)}, or a .csv (header row; label "
                         "column 'label' or the last) or .npz (arrays X, y) file "
                         "(default: digits)")
    compare.add_argument("--sizes", type=_sizes, default=None,
                         help="comma-separated training sizes (default: 50,100,200,400,800)")
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
                         help="also write the learning-curve figure (needs matplotlib)")
    return parser, compare


def _ranking(summary, name="dendritic"):
    """One sentence on where ``name`` ranks at the largest training size."""
    largest = max(row["train_size"] for row in summary)
    at_largest = [row for row in summary if row["train_size"] == largest]
    mine = [row for row in at_largest if row["estimator"] == name]
    if not mine:
        return f"{name} was not run at n={largest}."
    acc = mine[0]["accuracy"]
    rank = 1 + sum(row["accuracy"] > acc for row in at_largest)
    best = max(at_largest, key=lambda row: row["accuracy"])
    text = (f"At n={largest}, DendriticClassifier ({name}) ranks {rank} of {len(at_largest)} "
            f"by mean test accuracy ({acc:.3f}")
    if best["estimator"] != name and best["accuracy"] > acc:
        text += f"; best: {best['estimator']} {best['accuracy']:.3f}"
    return text + ")."


def main(argv=None):
    """Run the skadapt command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None means ``sys.argv[1:]``.
        A missing command means ``compare``.

    Returns
    -------
    status : int
        Exit status, 0 on success.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in _COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "compare")
    parser, compare = _parser()
    args = parser.parse_args(argv)

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

    if args.dataset not in DATASETS and not args.dataset.endswith((".csv", ".npz")):
        compare.error(f"unknown dataset {args.dataset!r}; choose from {DATASETS} or a "
                      ".csv/.npz file")
    X, y, standardize = load_dataset(args.dataset)
    print(
        f"Learning curves on {args.dataset} ({X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(set(y.tolist()))} classes): test accuracy, mean ± s.e. over {repeats} stratified "
        f"70/30 split(s) (seed {args.seed}+r); training subsets drawn stratified from the 70%"
        + ("; features standardised on the training subset." if standardize else ".")
    )
    rows = learning_curves(
        estimators,
        dataset=args.dataset,
        train_sizes=sizes,
        n_repeats=repeats,
        random_state=args.seed,
        progress=args.progress,
    )
    summary = summarize(rows)
    if not summary:
        print("No training size fits in the training part; nothing was run.")
        return 0
    print(format_table(summary))
    print(_ranking(summary))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import plot_learning_curves

        ax = plot_learning_curves(summary)
        ax.set_title(f"{args.dataset}: test accuracy vs training examples")
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
