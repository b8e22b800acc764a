"""
Learning from a stream with partial_fit
=======================================

Chunks of digits arrive one after the other; each chunk is first scored (test
then train), then learned with ``partial_fit``. Every step size and gain carries
over from one call to the next.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier

from skadapt import DendriticClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
order = np.random.RandomState(0).permutation(len(y))
X, y = X[order], y[order]
classes = np.unique(y)
models = {
    "dendritic": DendriticClassifier((50,), learning_rate_init=0.003, random_state=0),
    "SGDClassifier": SGDClassifier(loss="log_loss", random_state=0),
}
curves = {name: [] for name in models}
for start in range(0, len(y), 50):
    Xc, yc = X[start : start + 50], y[start : start + 50]
    for name, m in models.items():
        if start > 0:
            curves[name].append(m.score(Xc, yc))
        m.partial_fit(Xc, yc, classes=classes)
for name, c in curves.items():
    print(f"{name}: mean prequential accuracy {np.mean(c):.3f}")
    plt.plot(np.arange(1, len(c) + 1) * 50, c, label=name)
plt.xlabel("examples seen")
plt.ylabel("accuracy on the next chunk")
plt.legend()
plt.show()
