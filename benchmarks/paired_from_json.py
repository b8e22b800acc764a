"""Paired comparisons of two rules from a saved few-shot run (benchmarks/few_shot.py --out).

The comparisons are declared in advance (not chosen by looking at the test accuracies):
``python benchmarks/paired_from_json.py doc/benchmarks/few_shot_mnist_hidden.json
dendritic:adam dendritic:"rms-events (no gain)"``.
"""

import json
import sys

import numpy as np
from scipy import stats


def paired_table(path, pairs):
    data = json.load(open(path))
    acc, sizes = data["accuracy"], data["sizes"]
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
