"""Fitting several estimators at once, in threads.

Online learning is sequential: one example's update needs the previous one's
result, so a single fit runs on one core. What parallelises is fitting several
independent models (random seeds, configurations, cross-validation folds). The
compiled training loop releases the GIL, so plain threads run such fits on all
cores without copying the data to other processes, and each fit gives exactly
the numbers it gives alone.
"""

from numbers import Integral

from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.utils._param_validation import validate_params


def _fit_one(estimator, X, y, fit_params):
    return estimator.fit(X, y, **fit_params)


@validate_params(
    {
        "estimators": [list],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def fit_parallel(estimators, X, y, *, n_jobs=None, **fit_params):
    """Fit clones of several estimators on the same data, in parallel threads.

    Each estimator is cloned (the ones passed in are not changed) and fitted on
    ``(X, y)``. :class:`~skadapt.DendriticClassifier` trains in compiled code
    that releases the GIL, so the fits run truly in parallel; other scikit-learn
    estimators work too, with whatever parallelism their ``fit`` has under
    threads. With ``random_state`` set, every fitted model is identical to the
    one a serial ``clone(est).fit(X, y)`` gives.

    Parameters
    ----------
    estimators : list of estimators
        The (unfitted or fitted) estimators to clone and fit, e.g. one
        configuration with several seeds, or several configurations.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data, shared (not copied) by all fits.
    y : array-like of shape (n_samples,)
        Target values.
    n_jobs : int, default=None
        Number of threads. ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1`` means all processors.
    **fit_params : dict
        Passed to every ``fit`` (e.g. ``sample_weight``).

    Returns
    -------
    fitted : list of estimators
        The fitted clones, in the order of ``estimators``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skadapt import DendriticClassifier
    >>> from skadapt import fit_parallel
    >>> X, y = load_iris(return_X_y=True)
    >>> seeds = [DendriticClassifier((10,), max_iter=20, random_state=s) for s in range(4)]
    >>> models = fit_parallel(seeds, X / 8, y, n_jobs=2)
    >>> [m.random_state for m in models]
    [0, 1, 2, 3]
    """
    clones = [clone(est) for est in estimators]
    if not clones:
        return []
    n_threads = min(effective_n_jobs(n_jobs), len(clones))
    return Parallel(n_jobs=n_threads, prefer="threads")(
        delayed(_fit_one)(est, X, y, fit_params) for est in clones
    )
