"""Plots of what the learner did: learning curves, loss curves, and step-size maps.

matplotlib is an optional dependency (``pip install 'skadapt[bench]'``); every function
takes an optional ``ax`` and returns the matplotlib ``Axes`` it drew on.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._config import base_step

__all__ = ["plot_learning_curves", "plot_loss_curves", "plot_step_size_map"]


def _axes(ax):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skadapt.plotting needs matplotlib: pip install 'skadapt[bench]'"
        ) from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax


def plot_learning_curves(summary, ax=None):
    """Test accuracy against training-set size, one line per estimator.

    Parameters
    ----------
    summary : list of dict
        Rows with keys ``estimator``, ``train_size``, ``accuracy`` and optionally
        ``accuracy_sem``, as returned by :func:`skadapt.compare.summarize`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    names = list(dict.fromkeys(r["estimator"] for r in summary))
    for name in names:
        rows = sorted((r for r in summary if r["estimator"] == name),
                      key=lambda r: r["train_size"])
        sizes = [r["train_size"] for r in rows]
        acc = [r["accuracy"] for r in rows]
        err = [r.get("accuracy_sem", np.nan) for r in rows]
        err = None if np.all(~np.isfinite(err)) else np.nan_to_num(err)
        ax.errorbar(sizes, acc, yerr=err, marker="o", capsize=2, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training examples")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_loss_curves(estimators, ax=None):
    """Training loss (and validation accuracy, when recorded) per epoch.

    Parameters
    ----------
    estimators : dict of str -> fitted estimator
        Estimators with a ``loss_curve_`` (DendriticClassifier, MLPClassifier).
        Those fitted with ``early_stopping=True`` also show ``validation_scores_``
        on a second y axis.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on (the training losses).
    """
    ax = _axes(ax)
    twin = None
    for name, est in estimators.items():
        check_is_fitted(est)
        epochs = np.arange(1, len(est.loss_curve_) + 1)
        line = ax.plot(epochs, est.loss_curve_, label=f"{name} (training loss)")[0]
        scores = getattr(est, "validation_scores_", None)
        if scores:
            twin = twin or ax.twinx()
            twin.plot(epochs, scores, linestyle="--", color=line.get_color(),
                      label=f"{name} (validation accuracy)")
            twin.set_ylabel("validation accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8)
    return ax


def plot_step_size_map(estimator, image_shape=None, reduce="mean", ax=None):
    """Map of the first layer's step sizes, reshaped to the input image.

    Each pixel shows its outgoing weights' current step sizes (``step_sizes_[0]``)
    reduced over the hidden units, relative to the rule's base step
    (``learning_rate_init``, or ``learning_rate_init / sqrt(1 - beta_2)`` with
    ``base="adagrad"``): where the network adapted (grown gains), and where it
    never stepped (exactly 1).

    Parameters
    ----------
    estimator : fitted DendriticClassifier
        The model.
    image_shape : tuple of int, default=None
        Shape of one input image; inferred for square inputs (64 -> 8 x 8,
        784 -> 28 x 28).
    reduce : {"mean", "max"}, default="mean"
        How to reduce over the hidden units.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If the input size is not a square and no ``image_shape`` is given.
    """
    check_is_fitted(estimator)
    steps = estimator.step_sizes_[0] / base_step(estimator)
    per_pixel = steps.max(axis=1) if reduce == "max" else steps.mean(axis=1)
    if image_shape is None:
        side = int(round(np.sqrt(per_pixel.size)))
        if side * side != per_pixel.size:
            raise ValueError(
                f"Cannot infer an image shape for {per_pixel.size} inputs; pass image_shape."
            )
        image_shape = (side, side)
    ax = _axes(ax)
    im = ax.imshow(per_pixel.reshape(image_shape), cmap="magma")
    ax.figure.colorbar(im, ax=ax, label=f"{reduce} step size / base step")
    ax.set_title(f"first-layer step sizes ({estimator.rule}, scope={estimator.scope})")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
