"""
Tuning the dendritic rule in a pipeline with GridSearchCV
=========================================================

``DendriticClassifier`` is an ordinary scikit-learn estimator: it goes in a
``Pipeline`` after a scaler, and every parameter of its rule (here the base step
and the growth of the gain) is a grid-search parameter.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skadapt import DendriticClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = make_pipeline(MinMaxScaler(), DendriticClassifier((30,), max_iter=5, random_state=0))
grid = GridSearchCV(
    pipe,
    {
        "dendriticclassifier__learning_rate_init": [0.001, 0.01],
        "dendriticclassifier__gain_up": [0.0, 0.3],
    },
    cv=3,
).fit(X_train, y_train)
print("best parameters:", grid.best_params_)
print(f"test accuracy: {grid.score(X_test, y_test):.3f}")

scores = grid.cv_results_["mean_test_score"].reshape(2, 2)
fig, ax = plt.subplots()
im = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(2), ["0.0", "0.3"])
ax.set_yticks(range(2), ["0.001", "0.01"])
ax.set_xlabel("gain_up (0: the gain never grows)")
ax.set_ylabel("learning_rate_init")
fig.colorbar(im, label="cross-validated accuracy")
for (i, j), s in np.ndenumerate(scores):
    ax.text(j, i, f"{s:.3f}", ha="center", va="center", color="w")
plt.show()
