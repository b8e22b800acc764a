"""
Cross-validated comparison against MLPClassifier
================================================

The same network (64-100-10) trained by scikit-learn's ``MLPClassifier`` (Adam,
mini-batches of 200) and by ``DendriticClassifier`` with the dendritic rule and
with its Adam and SGD baselines (online, batch size 1), scored by 3-fold
cross-validation.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_validate
from sklearn.neural_network import MLPClassifier

from skadapt import DendriticClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
models = {
    "MLPClassifier": MLPClassifier((100,), max_iter=50, random_state=0),
    "dendritic": DendriticClassifier((100,), max_iter=5, learning_rate_init=0.003,
                                     random_state=0),
    "adam (skadapt)": DendriticClassifier((100,), rule="adam", max_iter=5, random_state=0),
    "sgd (skadapt)": DendriticClassifier((100,), rule="sgd", max_iter=5,
                                         learning_rate_init=0.05, random_state=0),
}
results = {name: cross_validate(m, X, y, cv=3) for name, m in models.items()}
for name, r in results.items():
    print(f"{name:>15}: accuracy {r['test_score'].mean():.3f} ± {r['test_score'].std():.3f}, "
          f"fit {r['fit_time'].mean():.2f} s")

fig, ax = plt.subplots()
ax.boxplot([r["test_score"] for r in results.values()], tick_labels=list(results))
ax.set_ylabel("3-fold test accuracy")
plt.show()
