"""The plots render (Agg backend) and show what they claim."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skadapt import DendriticClassifier  # noqa: E402
from skadapt.plotting import (  # noqa: E402
    plot_learning_curves,
    plot_loss_curves,
    plot_step_size_map,
)


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    return DendriticClassifier((20,), max_iter=3, early_stopping=True, tol=None,
                               random_state=0).fit(X / 16, y)


def test_step_size_map_renders_the_first_layer(fitted, tmp_path):
    ax = plot_step_size_map(fitted)
    img = ax.images[0].get_array()
    assert img.shape == (8, 8)
    base_step = fitted.learning_rate_init / np.sqrt(1 - fitted.beta_2)  # base="adagrad"
    expected = (fitted.step_sizes_[0] / base_step).mean(axis=1)
    np.testing.assert_allclose(np.asarray(img).ravel(), expected)
    assert img[0, 0] == 1.0  # the always-blank corner pixel never stepped
    ax.figure.savefig(tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000
    plt.close("all")


def test_step_size_map_needs_a_shape_for_non_square_inputs():
    X = np.random.RandomState(0).rand(40, 6)
    clf = DendriticClassifier((3,), max_iter=1, tol=None).fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="image_shape"):
        plot_step_size_map(clf)
    assert plot_step_size_map(clf, image_shape=(2, 3)).images[0].get_array().shape == (2, 3)
    plt.close("all")


def test_loss_and_learning_curves_render(fitted, tmp_path):
    ax = plot_loss_curves({"dendritic": fitted})
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == fitted.n_iter_
    summary = [dict(estimator=e, train_size=n, accuracy=a, accuracy_sem=0.01)
               for e, a0 in [("a", 0.5), ("b", 0.6)] for n, a in [(10, a0), (100, a0 + 0.2)]]
    ax = plot_learning_curves(summary)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    ax.figure.savefig(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").stat().st_size > 1000
    plt.close("all")
