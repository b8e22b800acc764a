"""
Online learning when the concept changes
========================================

A stream of 8x8 digits whose labels are permuted halfway through (every digit
gets a new name): each example is first predicted, then learned with
``partial_fit`` (test then train, :func:`skadapt.streams.prequential`). The
plot shows the prequential accuracy (a moving average over 50 examples) of
``DendriticClassifier`` with the dendritic rule and of scikit-learn's
``SGDClassifier``, with the change marked: how far does each fall, and how
many examples does it need to recover 80% of its accuracy before the change?
``benchmarks/drift.py`` measures this with tuned step sizes over many seeds.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.linear_model import SGDClassifier

from skadapt import DendriticClassifier
from skadapt.streams import make_stream, prequential

stream = make_stream("label", source="digits", n_samples=1200, random_state=0)
print(stream.description)

models = {
    "DendriticClassifier (dendritic)": DendriticClassifier(
        (32,), learning_rate_init=0.03, shuffle=False, random_state=0
    ),
    "SGDClassifier": SGDClassifier(loss="log_loss", random_state=0),
}
fig, ax = plt.subplots(figsize=(8, 4))
for name, model in models.items():
    result = prequential(model, stream, batch_size=5, window=200, smooth=50)
    change = result.changes[0]
    print(f"{name}: accuracy before the change {change['pre_accuracy']:.3f}, "
          f"after it {change['post_accuracy']:.3f}, "
          f"recovered in {change['recovery']} examples")
    ax.plot(result.moving_average, label=name)
for cp in stream.change_points:
    ax.axvline(cp, color="k", linestyle="--", linewidth=1, label="labels permuted")
ax.set_xlabel("examples seen")
ax.set_ylabel("prequential accuracy (last 50)")
ax.set_ylim(0, 1)
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
