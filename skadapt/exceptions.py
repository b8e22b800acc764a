"""Exceptions and warnings raised by skadapt."""

from sklearn.exceptions import InconsistentVersionWarning


class DivergenceError(ValueError, FloatingPointError):
    """Training produced a non-finite loss or non-finite weights.

    Raised by ``fit`` and ``partial_fit`` when a step makes the loss or the
    weights infinite or NaN. The estimator keeps the fitted state it had before
    the call. Lowering ``learning_rate_init`` or ``max_gain``, or scaling the
    input (e.g. with :class:`~sklearn.preprocessing.StandardScaler`), usually
    helps.

    It subclasses both :class:`ValueError` (as scikit-learn's MLP reports
    non-finite weights) and :class:`FloatingPointError`.
    """


class InconsistentSkadaptVersionWarning(InconsistentVersionWarning):
    """A model is unpickled by another version of skadapt than the one that pickled it.

    A :class:`sklearn.exceptions.InconsistentVersionWarning` (so filters on that
    category catch it), constructed as scikit-learn does, with the *skadapt*
    versions in its ``current_sklearn_version`` and ``original_sklearn_version``
    fields; its message names skadapt.
    """

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skadapt version "
            f"{self.original_sklearn_version} when using skadapt version "
            f"{self.current_sklearn_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk."
        )
