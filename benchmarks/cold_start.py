"""What a first fit costs on a fresh machine: compile time, cold and warm, and a search.

Every measurement runs in fresh Python processes (subprocesses of this one), each cold one
with an empty ``NUMBA_CACHE_DIR`` of its own:

1. a first fit of ``DendriticClassifier()`` (defaults) on ``load_digits``, float64 and
   float32 input: the wall time of the ``fit`` call, and of the whole process (importing
   scikit-learn and skadapt, the fit, the interpreter's exit), with an empty cache (it
   compiles) and with the cache the cold run left (it loads); next to it, a process that
   only imports the same modules and loads the data, the part that is not skadapt's;
2. ``GridSearchCV`` on ``load_digits``, over three learning rates with 3 folds (9 fits and
   the refit: too few for two workers to pay for their start even on a warm cache) and over
   six with 5 folds (30 fits of 0.1-0.2 s), and over six with 5 folds on a 4,000 x 20
   ``make_classification`` (30 online fits of about 0.4 s: enough work for the workers'
   start): ``n_jobs=1`` vs ``n_jobs=2`` (process workers: each needs the compiled kernel;
   a lock file lets one compile while the other waits and then loads it) vs ``n_jobs=2``
   in threads (``joblib.parallel_backend("threading")``: one process, one compilation; the
   kernels release the GIL), on an empty cache and on a warm one (the cache a previous
   search left); next to them, the same grid's search of ``DummyClassifier`` (which
   learns nothing) with ``n_jobs=1`` and with two process workers: the difference is what
   starting the workers costs any estimator, and the Dendritic search's ``n_jobs=1`` time
   beyond the Dummy one on a warm cache is the most that two workers can halve;
3. ``python -m skadapt warm-cache --dtypes float64`` on an empty cache: all four kernels,
   and ``--kernels default``, the default configuration's two (what a search over its
   values needs).

Cold times are medians over ``--repeat`` runs (each with a new empty cache). Printed as
Markdown tables; the ratios' two sides are measured in this run. Run it alone: other work on
the machine's cores slows the compilation.

With ``--count``, the first table gets a column more: the Python function calls of the
``fit`` call under cProfile, on an empty cache and on a warm one (one more process each):
nearly all of a cold fit's calls are the compilation's (Numba's type inference and
lowering are Python code; LLVM's optimisation is not counted), and a count does not move
with the machine's speed, which on the project's shared 2-core machines moved a cold fit
by up to 1.8x from one process to the next: the figure to compare two versions by.

With ``--instructions`` (needs Valgrind), a table more: the machine instructions a
float64 first fit's whole process ran under Valgrind's cachegrind, on an empty cache and
on a warm one, and of them those in LLVM's functions. The difference is the compilation's,
LLVM's optimisation and machine code included, which ``--count`` does not see (29% of
the instructions at session 22's version); repeatable to 0.05%. Three more processes of
about 2, 1 and 1 minutes (the warm cache is written under Valgrind too: its virtual CPU is
another CPU to Numba's cache, so a cache compiled natively would miss and compile again).

    python benchmarks/cold_start.py [--repeat 3] [--no-search] [--count] [--instructions]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

FIT = textwrap.dedent("""
    import time, warnings
    t0 = time.perf_counter()
    import numpy as np
    from sklearn.datasets import load_digits
    from skadapt import DendriticClassifier
    X, y = load_digits(return_X_y=True)
    X = X.astype({dtype!r})
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = DendriticClassifier(random_state=0).fit(X, y)
    t2 = time.perf_counter()
    print(t1 - t0, t2 - t1, est.n_iter_)
""")

# The same first fit under cProfile: the Python function calls of the ``fit`` call, nearly
# all of them the compilation's (Numba's type inference and lowering are Python) on an
# empty cache. A count, not a time: it does not move with the machine's speed, so it
# compares two versions where their wall times drown in the machine's noise (``--count``)
COUNT = textwrap.dedent("""
    import cProfile, pstats, warnings
    from sklearn.datasets import load_digits
    from skadapt import DendriticClassifier
    X, y = load_digits(return_X_y=True)
    X = X.astype({dtype!r})
    profile = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile.enable()
        DendriticClassifier(random_state=0).fit(X, y)
        profile.disable()
    print(sum(calls for _, calls, *_ in pstats.Stats(profile).stats.values()))
""")

IMPORTS = textwrap.dedent("""
    import numpy as np
    from sklearn.datasets import load_digits
    import skadapt
    X, y = load_digits(return_X_y=True)
""")

SEARCH = textwrap.dedent("""
    import warnings
    from joblib import parallel_backend
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import GridSearchCV
    from skadapt import DendriticClassifier
    X, y = {data}
    rates = [0.001, 0.003, 0.01, 0.0003, 0.03, 0.002][:{n_rates}]
    with warnings.catch_warnings(), parallel_backend({backend!r}):
        warnings.simplefilter("ignore")
        GridSearchCV(DendriticClassifier(random_state=0), dict(learning_rate_init=rates),
                     cv={cv}, n_jobs={n_jobs}).fit(X, y)
""")
# The same grid's search of an estimator that learns nothing: what two process workers'
# start costs any estimator (each starts Python and imports scikit-learn), and what is left
# of a search when its estimator's own work is taken away
FLOOR = textwrap.dedent("""
    from joblib import parallel_backend
    from sklearn.datasets import load_digits, make_classification
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import GridSearchCV
    X, y = {data}
    with parallel_backend("loky"):
        GridSearchCV(DummyClassifier(strategy="stratified"),
                     dict(random_state=list(range({n_rates}))), cv={cv}, n_jobs={n_jobs}).fit(X, y)
""")
# (n_jobs, joblib backend) of the searches compared: the table's three columns
SEARCHES = ((1, "loky"), (2, "loky"), (2, "threading"))
# The grids searched, the table's rows: (data set's name, its code, learning rates, folds)
DIGITS = "load_digits(return_X_y=True)"
CLASSIFICATION = ("make_classification(n_samples=4000, n_features=20, n_informative=10, "
                  "n_classes=3, random_state=0)")
GRIDS = (("digits", DIGITS, 3, 3), ("digits", DIGITS, 6, 5),
         ("4,000 x 20", CLASSIFICATION, 6, 5))


def run(code, cache_dir, **env_vars):
    """Wall time of a fresh process running ``code`` with ``NUMBA_CACHE_DIR=cache_dir``
    (and the environment variables ``env_vars``), and its last line of output."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONWARNINGS="ignore", **env_vars)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    return wall, (lines[-1] if lines else "")


def instructions(code, cache_dir, tool="cachegrind"):
    """Machine instructions of a fresh process running ``code`` under Valgrind's
    ``tool`` with ``NUMBA_CACHE_DIR=cache_dir``: (all, those in LLVM's functions), or None
    with ``tool="none"`` (a run only for what it writes to the cache)."""
    # (one BLAS thread: Valgrind runs threads one at a time, and a thread that waits for
    # work spinning would add a number of instructions that changes from run to run)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONWARNINGS="ignore",
               PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "cachegrind.out")
        command = ["valgrind", f"--tool={tool}"]
        if tool == "cachegrind":
            command += ["--cache-sim=no", f"--cachegrind-out-file={out}"]
        subprocess.run(command + [sys.executable, "-c", code], env=env, capture_output=True,
                       check=True)
        if tool != "cachegrind":
            return None
        with open(out) as f:
            return count_instructions(f)


def count_instructions(lines):
    """(all, those in LLVM's functions) of the instructions in the ``lines`` of a
    cachegrind output file (``--cache-sim=no``: one count per source line): after a line
    ``fn=<name>``, lines ``<line number> <count>`` count that function's instructions;
    LLVM's are named ``llvm::...`` or ``(anonymous namespace)::...`` (its internals; the
    few other C++ functions so named, pyarrow's, ran 0.001 G of a cold first fit's 25 G)."""
    total = llvm = 0
    in_llvm = False
    for line in lines:
        if line.startswith("fn="):
            in_llvm = line.startswith(("fn=llvm::", "fn=(anonymous namespace)::"))
        elif line[:1].isdigit():
            n = int(line.split()[1])
            total += n
            llvm += n if in_llvm else 0
    return total, llvm


def first_fits(dtype, repeat):
    """Median (process wall, fit call) seconds: cold (each run on a new empty cache) and
    warm (``repeat`` runs on the cache the first cold run wrote); and the epochs the fit
    ran."""
    cold, warm = [], []
    code = FIT.format(dtype=dtype)
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            wall, line = run(code, cache)
            _, fit, epochs = line.split()
            cold.append((wall, float(fit)))
            if r == 0:  # the warm runs load what this one compiled
                for _ in range(repeat):
                    wall, line = run(code, cache)
                    warm.append((wall, float(line.split()[1])))
    return np.median(cold, axis=0), np.median(warm, axis=0), int(epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-search", action="store_true", help="skip the searches")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the machine instructions of a float64 first fit's "
                             "process under Valgrind, cold and warm, LLVM's among them "
                             "(about 4 minutes more)")
    parser.add_argument("--count", action="store_true",
                        help="also count the Python calls of a cold fit call (cProfile, one "
                             "more cold process per dtype): a figure the machine's speed "
                             "does not move, to compare versions")
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions runs the fit under Valgrind: install valgrind (it is "
                     "not on this PATH)")

    with tempfile.TemporaryDirectory() as cache:
        imports = float(np.median([run(IMPORTS, cache)[0] for _ in range(args.repeat)]))
    print(f"First fit of DendriticClassifier() on load_digits in a fresh process "
          f"(medians of {args.repeat}; cold: each on an empty NUMBA_CACHE_DIR)\n")
    count = " Python calls of the fit call, M |" if args.count else ""
    print("| input | cache | fit call, s | whole process, s | of it importing scikit-learn "
          f"and skadapt and loading the data, s | epochs |{count}")
    print("|---|---|---|---|---|---|" + ("---|" if args.count else ""))
    for dtype in ("float64", "float32"):
        cold, warm, epochs = first_fits(dtype, args.repeat)
        calls = {}
        if args.count:
            for label in ("empty", "warm"):
                with tempfile.TemporaryDirectory() as cache:
                    if label == "warm":  # (the cache a cold run writes)
                        run(COUNT.format(dtype=dtype), cache)
                    # (a fixed hash seed: the order of Numba's sets moves the count by 2%)
                    n = int(run(COUNT.format(dtype=dtype), cache, PYTHONHASHSEED="0")[1])
                calls[label] = f" {n / 1e6:.2f} |"
        for label, (wall, fit) in (("empty", cold), ("warm", warm)):
            print(f"| {dtype} | {label} | {fit:.2f} | {wall:.2f} | {imports:.2f} | {epochs} |"
                  f"{calls.get(label, '')}")
    if args.instructions:
        with tempfile.TemporaryDirectory() as cold_cache, \
                tempfile.TemporaryDirectory() as warm_cache:
            code = FIT.format(dtype="float64")  # (its timings' print is a line)
            cold = instructions(code, cold_cache)
            instructions(code, warm_cache, tool="none")  # (writes the warm cache)
            warm = instructions(code, warm_cache)
        print("\nThe float64 first fit's whole process under Valgrind (cachegrind): "
              "machine instructions, G\n")
        print("| cache | all | in LLVM's functions |\n|---|---|---|")
        for label, (total, llvm) in (("empty", cold), ("warm", warm),
                                     ("the compilation (empty - warm)",
                                      (cold[0] - warm[0], cold[1] - warm[1]))):
            print(f"| {label} | {total / 1e9:.3f} | {llvm / 1e9:.3f} |")
    if args.no_search:
        return
    print("\nGridSearchCV(DendriticClassifier(), learning rates x folds) on load_digits and "
          "on a 4,000 x 20 make_classification, a fresh process (wall time, medians)\n")
    print("| data | grid | cache | n_jobs=1, s | n_jobs=2, processes, s | n_jobs=2, threads, "
          "s | processes / n_jobs=1 | threads / n_jobs=1 | n_jobs=1 beyond DummyClassifier's, "
          "s | two workers' start (DummyClassifier), s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, data, n_rates, cv in GRIDS:
        floor = []
        for n_jobs in (1, 2):
            code = FLOOR.format(data=data, n_rates=n_rates, cv=cv, n_jobs=n_jobs)
            with tempfile.TemporaryDirectory() as cache:
                floor.append(float(np.median([run(code, cache)[0]
                                              for _ in range(args.repeat)])))
        seconds = []
        for n_jobs, backend in SEARCHES:
            code = SEARCH.format(data=data, n_rates=n_rates, cv=cv, n_jobs=n_jobs,
                                 backend=backend)
            cold, warm = [], []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as cache:
                    cold.append(run(code, cache)[0])
                    warm.append(run(code, cache)[0])
            seconds.append((float(np.median(cold)), float(np.median(warm))))
        for k, label in enumerate(("empty", "warm")):
            one, procs, threads = (sec[k] for sec in seconds)
            print(f"| {name} | {n_rates} x {cv} | {label} | {one:.2f} | {procs:.2f} | "
                  f"{threads:.2f} | {procs / one:.2f}x | {threads / one:.2f}x | "
                  f"{one - floor[0]:.2f} | {floor[1] - floor[0]:.2f} |")
    print("\n(Two process workers save at most half of what n_jobs=1 spends beyond "
          "DummyClassifier's search on a warm cache (on an empty one, the compilation is "
          "in every column: one worker compiles while the other waits), and first pay "
          "their start: where that half is less, n_jobs=1 is faster, whatever the "
          "estimator.)\n")
    for kernels, what in (("default,online,general", "the four kernels"),
                          ("default", "the default configuration's two")):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "skadapt", "warm-cache", "--dtypes",
                            "float64", "--kernels", kernels],
                           env=env, capture_output=True, check=True)
            print(f"`python -m skadapt warm-cache --dtypes float64 --kernels {kernels}` on an "
                  f"empty cache ({what}): {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
