"""How much of a breadth row is the seed: Dendritic against MLPClassifier over several seeds.

``benchmarks/breadth.py`` fits every learner with ``random_state=0``, so its standard error
(over the folds) holds the folds' noise but not the initialisation's and the shuffling's.
This script repeats its comparison of ``DendriticClassifier()`` and ``MLPClassifier()`` on
chosen data sets (breadth.py's loaders, folds, forms and tie rule) with ``random_state``
0, 1, ..., ``--seeds - 1`` for both learners (seed ``s`` against seed ``s``), and prints,
per data set and form: each seed's mean paired difference over the folds and its call, and
the difference of the seed-averaged accuracies (per fold, the mean over the seeds; then its
mean and standard error over the folds, and the call by the same rule). Seed 0 is
breadth.py's own run.

    python benchmarks/seed_spread.py --datasets anes96,bananas --seeds 5
"""

import argparse
import sys
import time

import numpy as np
from breadth import ALL_DATASETS, FORMS, fit_score, load, paired  # (this folder is on sys.path)
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skadapt import DendriticClassifier


def accuracies(X, y, form, n_folds, seed):
    """Per fold, the test accuracies of Dendritic and MLP with ``random_state=seed``, each
    fitted and scored by breadth.py's :func:`breadth.fit_score` (NaN where a fit failed).

    Returns
    -------
    ndarray of shape (2, n_folds)
        Row 0 Dendritic's, row 1 MLPClassifier's.
    """
    out = np.empty((2, n_folds))
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=0).split(X, y)
    for k, (tr, te) in enumerate(folds):
        for row, est in enumerate((DendriticClassifier(random_state=seed),
                                   MLPClassifier(random_state=seed))):
            model = est if form == "raw" else make_pipeline(StandardScaler(), est)
            out[row, k] = fit_score(model, X[tr], y[tr], X[te], y[te])["accuracy"]
    return out


def main(argv=None):
    """Compare on every data set and form of the command line, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", required=True,
                        help=f"comma-separated, of: {','.join(ALL_DATASETS)}")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--forms", default=",".join(FORMS))
    args = parser.parse_args(argv)
    names = args.datasets.split(",")
    unknown = sorted(set(names) - set(ALL_DATASETS))
    if unknown:
        parser.error(f"unknown data sets: {', '.join(unknown)}")
    if args.seeds < 1 or args.folds < 2:
        parser.error("--seeds must be at least 1 and --folds at least 2")
    t0 = time.perf_counter()
    seeds = range(args.seeds)
    print(f"Dendritic - MLPClassifier, defaults, `random_state` = seed for both, "
          f"StratifiedKFold({args.folds}, shuffle=True, random_state=0): mean paired "
          f"difference over the folds ± its s.e., and the call (breadth.py's rule)\n")
    print("| data set | form | " + " | ".join(f"seed {s}" for s in seeds)
          + " | Dendritic, MLP (mean of the seeds) | seed-averaged difference |")
    print("|---|---|" + "---|" * args.seeds + "---|---|")
    for name in names:
        X, y = load(name)
        for form in args.forms.split(","):
            acc = np.array([accuracies(X, y, form, args.folds, s) for s in seeds])
            cells = []
            for s in seeds:
                m, se, call = paired(acc[s, 0], acc[s, 1])
                cells.append(f"{m:+.3f} ± {se:.3f} {call}")
            mean_d, mean_m = acc[:, 0].mean(axis=0), acc[:, 1].mean(axis=0)
            m, se, call = paired(mean_d, mean_m)
            print(f"| {name} | {form} | " + " | ".join(cells)
                  + f" | {mean_d.mean():.3f}, {mean_m.mean():.3f} | "
                  f"**{m:+.3f} ± {se:.3f} {call}** |", flush=True)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"\n`python benchmarks/seed_spread.py {command}`: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
