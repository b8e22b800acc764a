"""
Where did the network adapt? The step-size map
==============================================

Every first-layer weight of ``DendriticClassifier`` has its own step size. After
one pass over the digits, the map shows, per input pixel, the mean step size of
its weights relative to the base step: blank border pixels never had an event
and kept the base step (1.0); frequently and coherently trained pixels grew.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skadapt import DendriticClassifier
from skadapt.plotting import plot_step_size_map

X, y = load_digits(return_X_y=True)
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, relax in zip(axes, [None, 50.0], strict=True):
    clf = DendriticClassifier((50,), max_iter=1, tol=None, gain_up=0.3, relax_time=relax,
                              random_state=0).fit(X / 16, y)
    plot_step_size_map(clf, ax=ax)
    ax.set_title(f"relax_time={relax}")
plt.show()
