"""One learn-and-predict round of River's online loop, skadapt against River, in one process.

On River's bundled Phishing stream (1,250 examples, 9 features, binary), each model runs
the test-then-train loop River's ``evaluate.progressive_val_score`` runs:
``predict_proba_one(x)`` then ``learn_one(x, y)`` on every example. The models are timed
alternately, a full pass each, keeping the best pass of ``--repeat`` (microseconds per
round); the progressive accuracy (``predict_one`` before ``learn_one``) of each is
printed beside, so that speed is not bought with a broken learner. Then the cost of each
part of skadapt's round, timed alone on a model that has learned 100 examples.

Models: River's ``preprocessing.StandardScaler() | linear_model.LogisticRegression()``;
``skadapt.river.DendriticClassifier`` (default network, 9-100-2 with its direct path;
``learning_rate_init`` 0.001, the default, and 0.01; the documented online configuration,
two layers of 100 with ``input_scaling="standard"``); and, for reference, the scikit-learn
estimator fed one row per ``partial_fit`` through ``river.compat.convert_sklearn_to_river``.

Run: ``python benchmarks/river_speed.py`` (about a minute; ``--repeat 3`` is quicker).
"""

import argparse
import sys
import time
import timeit
import warnings

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from river import compat, datasets, linear_model, preprocessing

    from skadapt import DendriticClassifier as SklearnClassifier
    from skadapt import _online
    from skadapt._classifier import _CENTRED_BOUND
    from skadapt._learner import EPOCH_KERNELS
    from skadapt.river import _A_X, _ENTRY, DendriticClassifier

    data = list(datasets.Phishing())
    models = {
        "River StandardScaler() | LogisticRegression()": lambda: (
            preprocessing.StandardScaler() | linear_model.LogisticRegression()),
        "skadapt.river.DendriticClassifier()": lambda: DendriticClassifier(seed=0),
        "skadapt.river.DendriticClassifier(learning_rate_init=0.01)": lambda: (
            DendriticClassifier(learning_rate_init=0.01, seed=0)),
        "skadapt.river.DendriticClassifier((10,), learning_rate_init=0.01)": lambda: (
            DendriticClassifier((10,), learning_rate_init=0.01, seed=0)),
        "skadapt.river.DendriticClassifier((100, 100), input_scaling='standard')": lambda: (
            DendriticClassifier([100, 100], input_scaling="standard", seed=0)),
        "skadapt.DendriticClassifier() via convert_sklearn_to_river": lambda: (
            compat.convert_sklearn_to_river(SklearnClassifier(random_state=0),
                                            classes=[False, True])),
    }
    accuracy = {}
    for name, make in models.items():  # (also compiles or loads the kernel)
        model, hits = make(), 0
        for x, y in data:
            hits += model.predict_one(x) == y
            model.learn_one(x, y)
        accuracy[name] = hits / len(data)
    best = dict.fromkeys(models, np.inf)
    for _ in range(args.repeat):
        for name, make in models.items():
            model = make()
            t = time.perf_counter()
            for x, y in data:
                model.predict_proba_one(x)
                model.learn_one(x, y)
            best[name] = min(best[name], time.perf_counter() - t)
    print(f"River's Phishing, {len(data)} examples; best of {args.repeat} passes, interleaved")
    print("| model | us per round (predict_proba_one + learn_one) | progressive accuracy |")
    print("|---|---|---|")
    for name in models:
        label = name.replace("|", "\\|")  # (a Markdown table cell)
        print(f"| {label} | {best[name] / len(data) * 1e6:.1f} | {accuracy[name]:.4f} |")

    model = DendriticClassifier(seed=0)
    for x, y in data[:100]:
        model.learn_one(x, y)
    x, y = data[200]
    a = model._args
    row = a[_A_X][0]

    def cost(fn, n=5000):
        return min(timeit.repeat(fn, number=n, repeat=args.repeat)) / n * 1e6

    parts = [
        ("round: predict_proba_one + learn_one",
         lambda: (model.predict_proba_one(x), model.learn_one(x, y))),
        ("learn_one", lambda: model.learn_one(x, y)),
        ("predict_proba_one", lambda: model.predict_proba_one(x)),
        ("  the dict's keys against the known features",
         lambda: x.keys() == model._features.keys()),
        ("  the dict's values into the row (itemgetter)",
         lambda: row.__setitem__(slice(None), model._getter(x))),
        ("  input statistics and transform (_online.observe)",
         lambda: _online.observe(row, model._stats, model._shift, model._inv_scale,
                                 model._centred_share, _CENTRED_BOUND, model._alike_spread)),
        ("  the training kernel on the example, compiled entry point",
         lambda: _ENTRY[model._kernel](*a)),
        ("  the training kernel on the example, through the dispatcher",
         lambda: EPOCH_KERNELS[model._kernel](*a)),
        ("  forward pass (_online.predict_proba_row)",
         lambda: _online.predict_proba_row(row, *model._forward_args(), 0, model._pbuf)),
        ("  the probabilities as a dict", lambda: dict(zip(model.classes_,
                                                          model._pbuf.tolist(), strict=True))),
    ]
    print()
    print("| part of skadapt.river.DendriticClassifier()'s round | us |")
    print("|---|---|")
    for name, fn in parts:
        print(f"| {name} | {cost(fn):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
