"""Paired comparisons of two rules from a saved few-shot run (benchmarks/few_shot.py --out).

The comparisons are declared in advance (not chosen by looking at the test accuracies):
``python benchmarks/paired_from_json.py doc/benchmarks/few_shot_mnist_hidden.json
dendritic:adam dendritic:"rms-events (no gain)"``. Several runs on disjoint fresh seeds
pool their seeds: ``python benchmarks/paired_from_json.py run1.json,run2.json a:b`` (the
rules of a pair must be in every run; a tuned rule keeps each run's own choice).
"""

import json
import sys

import numpy as np
from scipy import stats


def paired_table(path, pairs):
    """The table of ``pairs`` (``(a, b)`` rule names) in the run(s) at ``path`` (one JSON
    file, or several separated by commas, whose seeds are pooled)."""
    runs = [json.load(open(p)) for p in path.split(",")]
    sizes = runs[0]["sizes"]
    acc = {rule: {str(n): sum((list(r["accuracy"][rule][str(n)]) for r in runs), [])
                  for n in sizes} for pair in pairs for rule in pair}
    lines = ["| comparison | N | mean difference ± s.e. | wins | paired t-test p |",
             "|---|---|---|---|---|"]
    for a, b in pairs:
        for n in sizes:
            x, y = np.asarray(acc[a][str(n)]), np.asarray(acc[b][str(n)])
            d = x - y
            p = stats.ttest_rel(x, y).pvalue if np.any(d != 0) else 1.0
            lines.append(f"| {a} − {b} | {n} | {d.mean():+.3f} ± "
                         f"{d.std(ddof=1) / np.sqrt(len(d)):.3f} | {(d > 0).sum()}/{len(d)} | "
                         f"{p:.3g} |")
    return "\n".join(lines)


if __name__ == "__main__":
    pairs = [tuple(p.split(":")) for p in sys.argv[2:]]
    print(paired_table(sys.argv[1], pairs))
