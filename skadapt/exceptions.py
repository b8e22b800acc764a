"""Exceptions raised by skadapt."""


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
