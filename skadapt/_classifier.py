"""DendriticClassifier: the scikit-learn estimator over the compiled learner."""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _config, _learner, _numba_cache
from ._kernel import (
    D_THRESHOLD,
    D_TOLERANCE,
    STATUS_CHANGE,
    STATUS_NONFINITE_LOSS,
)
from ._network import (
    ACTIVATION_ALIASES,
    ACTIVATIONS,
    direct_block,
    forward,
    hidden_activations,
    init_params,
    layout,
    unpack,
)
from ._rules import F_ETA0
from .exceptions import DivergenceError, InconsistentSkadaptVersionWarning

_EMPTY_INT = np.empty(0, np.int32)
_NO_LABELS = np.zeros((0, 0), np.uint8)  # the kernel's indicator matrix of a softmax network


class DendriticClassifier(ClassifierMixin, BaseEstimator):
    """Feed-forward classifier trained online with dendritic adaptation.

    A fully connected network (softmax output, cross-entropy loss; for a
    multilabel indicator matrix ``y``, a sigmoid output per label with its
    binary cross-entropy, as in ``MLPClassifier``) trained one
    example at a time (or in mini-batches) by a Numba-compiled learner. The
    default rule, ``"dendritic"``, gives every adaptable element (a weight, a
    dendrite, or a unit) its own step size, which grows while consecutive
    learning steps agree in sign, falls back when they disagree, and relaxes
    back toward the base step with the time since the element last stepped.
    A zero gradient (for instance a blank input pixel) is no event: nothing
    about that element changes. This is skadapt's own formulation of the
    mechanism reported by Sardi et al. (2020); see the user guide.

    The same kernel runs the baselines a comparison needs: plain SGD, momentum,
    Nesterov momentum, Adam, delta-bar-delta and iRprop- (full batch by
    default).

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Number of units of each hidden layer; ``()`` gives a linear softmax
        classifier.
    activation : {"sigmoid", "logistic", "relu", "tanh"}, default="relu"
        Activation of the hidden units (the default, as ``MLPClassifier``'s:
        against the sigmoid it learns curved boundaries from one pass over a
        stream, e.g. River's Bananas and RandomRBF, and ``make_moons``; the
        sigmoid is ahead on ``make_classification``; doc/breadth.md,
        doc/streams.md). ``"logistic"`` is ``MLPClassifier``'s
        name of the sigmoid, and the same activation. ``MLPClassifier``'s
        ``"identity"`` is not offered: hidden units without an activation make
        the network a linear model, which ``hidden_layer_sizes=()`` gives
        directly.
    input_scaling : {"auto", "max_abs", "standard"} or None, default="auto"
        How the network sees the input features, learnt by the learner from the
        data of every ``fit`` and ``partial_fit`` call (running statistics), so
        that learning does not depend on the units the features are measured in:

        - ``"max_abs"``: each feature divided by the largest ``|x|`` seen of it
          (the "normalized" part of Vowpal Wabbit's update; Ross, Mineiro and
          Langford, 2013). A zero input stays zero, and is skipped.
        - ``"auto"``: as ``"max_abs"``, except that a feature that is non-zero
          in at least 90% of the examples seen (a dense feature of dense input)
          is centred on its running mean and divided by its running standard
          deviation, as ``StandardScaler`` would, or by a third of its largest
          deviation from the mean where that is larger (a heavy tail: no centred
          input goes beyond +-3); sparse input is never centred. Where the
          standard deviations of the centred features are all within a factor
          20 of each other (features in one unit: pixels, samples of a signal,
          features already standardised together), each is divided by their
          median instead of its own (and its heavy tail's bound by as much), so
          that the network sees their relative spread: standardising each on its
          own would give a noise feature the spread of an informative one
          (``make_classification``'s informative features have 3 to 7 times its
          noise features' spread; doc/breadth.md).
        - ``"standard"``: every feature of dense input centred and divided as
          with ``"auto"`` (``StandardScaler`` kept by the learner, for dense
          features with many zeros too: 0/1 indicators, ordinal codes); sparse
          input as ``"max_abs"``. The zeros become non-zero inputs, which the
          kernel can no longer skip. For a stream of such features learnt in one
          pass (issue 19's online configuration, doc/streams.md).
        - None: the network sees the raw features.

        Each divisor is rounded up to a power of two (exact in floating point).
        The transform is folded into the first layer's (and the direct path's)
        weights and biases: ``coefs_``, ``intercepts_`` and every prediction take
        the raw features. When the transform of a feature changes (a later call's
        data), its weights in the network's coordinates are kept.
    direct_path : bool, default=True
        Whether the output units also get a direct connection from every input,
        beside the hidden layers: the logits are ``x @ direct_coef_ + h @ W + b``
        (a linear model and the network, trained together as one; Vowpal
        Wabbit's ``--nn`` calls it ``--inpass``). The direct weights and the
        last layer's weights and biases start at zero, so the network starts as
        a (zero) linear model and grows its hidden path from the examples (a
        hidden layer learns once the weights after it have grown); every weight
        adapts with the same rule. Ignored with ``hidden_layer_sizes=()``, which
        is the linear model already.
    drift_threshold : float or None, default=10.0
        With a direct path: the threshold of a change detector (a Page-Hinkley
        test, Page 1954) on the error probability ``1 - p_y`` of every training
        example, taken before the example is learned (for a multilabel ``y``,
        ``1 - exp(-loss / n_labels)``: one minus the geometric mean of the
        probabilities of the labels' true values). When the error has risen
        by more than its running mean plus a tolerance of 0.05, summed over the
        examples since its low point, by more than ``drift_threshold``, the
        concept is taken to have changed: the direct path's weights are cleared
        (set to zero, their optimiser state started anew) and relearnt from the
        next examples, while the hidden layers keep what they learnt. A linear
        path unlearns a changed concept slowly and learns a new one fast from a
        few examples; the hidden features usually still serve (see
        doc/drift.md). The example counts (``t_``) at which changes were
        detected are in ``drift_detected_``. None switches the detector off.
    rule : {"dendritic", "sgd", "momentum", "nesterov", "adam", \
            "delta_bar_delta", "rprop", "adagrad"}, default="dendritic"
        Update rule. ``"adagrad"`` is plain AdaGrad (Duchi, Hazan and Singer
        2011): each weight steps by ``learning_rate_init * g / (sqrt(v) +
        epsilon)``, ``v`` the sum of its squared gradients over every update
        since the model was started (``base="adagrad"`` is the dendritic gain
        on a leaky version of this step, see ``base``). The parameters after
        ``verbose`` belong to one rule or a few, and each says which rules
        read it; a parameter the chosen rule does not read is accepted and
        ignored (it must still be a valid value of its own, but is never
        checked against another parameter, and changing it changes nothing).
    learning_rate_init : float, default=0.001
        Base step ``eta0`` of every rule (for ``"rprop"``: the initial step;
        for the default ``base="adagrad"``: the rate its step settles at, after
        starting ``1 / sqrt(1 - beta_2)`` times larger). 0.001 is
        ``MLPClassifier``'s and Adam's default, and what did best on most
        tabular datasets (doc/breadth.md);
        the plain-gradient baselines (``"sgd"``,
        ``"momentum"``, ``"nesterov"``, ``"delta_bar_delta"``) usually want
        10 to 100 times more.
    alpha : float, default=0.0
        L2 penalty on the weights (not the biases; with ``input_scaling``, on
        the first layer's as the network sees its inputs). For the
        adaptive-gain rules it acts on the weights that step, i.e. that have a
        non-zero gradient.
    batch_size : int, "auto" or None, default=None
        Examples per update; 1 is online learning. None: the rule's own regime,
        online (1) for every rule but ``"rprop"``, and for ``"rprop"`` one full
        batch per epoch (every training example of the call; in
        ``partial_fit``, every example of the call), since iRprop-'s sign steps
        need the gradient of all the examples; except that ``fit`` with the
        dendritic rule learns inputs of 50 features or more in mini-batches of
        32 (on the development suite as accurate as online learning or more,
        and about three times faster: doc/breadth.md; ``partial_fit`` stays
        online). ``"auto"``: ``min(200,
        n_samples)``, as in ``MLPClassifier``. An int larger than the number of
        examples is clipped to it (with a warning in ``fit``).
    max_iter : int, default=200
        Maximum number of epochs of ``fit``.
    epoch_decay : float or "auto", default="auto"
        How the step shrinks over the epochs of ``fit``: epoch ``e`` (1, 2,
        ...) steps with the base step times ``e ** -epoch_decay`` (every rule's
        ``eta0``: ``learning_rate_init``, or its ``base="adagrad"`` value). 0
        keeps the step constant. ``"auto"``: 0.5 when learning online (batch
        size 1, the default of every rule but ``"rprop"``) without
        ``epoch_average``, 0 otherwise: with epoch averaging (the default
        online), or with mini-batches or full batches (a few updates per epoch,
        as in ``MLPClassifier``, whose step is constant). The first epoch is
        never decayed, nor is ``partial_fit`` (a stream has no epochs; it does
        not count as one), so one-pass learning does not depend on it. A
        ``warm_start`` fit goes on counting the epochs of the fits before it
        (the decay is part of the optimiser state: without epoch averaging, two
        warm fits of 2 and 1 epochs give the weights of one of 3).
        ``step_sizes_`` report the undecayed step, ``partial_fit``'s.
    epoch_average : bool or "auto", default="auto"
        End ``fit`` with the running average of the weights its epochs ended
        with (Polyak-Ruppert averaging, over epochs), instead of the last
        epoch's: epoch ``k`` enters the average with weight ``4 / k`` (the first
        four replace it), so that the last half of the epochs count most.
        Learning online with a constant step, the weights keep moving with the
        last examples they saw; their average settles where they move about,
        while the step stays large enough to go on learning. (The decayed step
        of ``epoch_decay`` settles them too, but slows the learning down: on
        the development suite's two spirals, 0.835 against 0.871 averaged,
        doc/breadth.md.) ``"auto"``: averages when ``fit`` learns online (batch
        size 1). With ``early_stopping`` (the default ``"auto"`` included, where
        it holds out data) the validation scores are the average's, and the
        chosen epoch's average is kept; the training loss
        (``loss_curve_``, ``tol``) is that of the weights as they learn.
        ``partial_fit`` never averages (a stream has no epochs), and a
        ``warm_start`` fit starts a new average from the weights the previous
        call ended with (and the optimiser state its learning left).
    tol : float, "auto" or None, default="auto"
        Stop when the training loss (or the validation score with
        ``early_stopping=True``) does not improve by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. ``None`` runs ``max_iter``
        epochs (and holds out nothing). ``"auto"`` lets ``early_stopping="auto"``
        hold out data; on the training loss it is a share of the first epoch's
        training loss of the ``fit`` call, 1% with ``epoch_average`` and 0.4%
        without, and at
        least 1e-3 (with ``early_stopping``, 1e-3 of the validation score;
        1e-3 is ``SGDClassifier``'s ``tol``, which also learns one example at a
        time; ``MLPClassifier``'s is 1e-4). A fixed ``tol`` on the loss asks
        for the same gain from a two-class problem whose loss starts at 0.3 as
        from a ten-class one starting at 1.7: learning online, the second's
        loss goes on falling by more than 1e-3 for hundreds of epochs while its
        held-out accuracy stopped rising after some 40 (MNIST-1D); relative to
        the loss it started from, both stop when their gain has become small.
        The floor keeps an easy problem, whose first loss is already small,
        from running longer than with 1e-3. With epoch averaging the step
        stays constant and the loss goes on falling longer, mostly by fitting
        noise, which the average does not need: the larger share stops it
        about as early as the decayed step did (doc/breadth.md).
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    shuffle : bool, default=True
        Shuffle the examples before each epoch (also in ``partial_fit``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the validation split.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training data (stratified), stop
        when its accuracy stops improving by ``tol`` and restore the best
        weights (``True``, as ``MLPClassifier``), or stop on the training loss
        (``False``). ``"auto"``: a ``fit`` that averages its epochs (it learns
        online, ``epoch_average``) with ``tol="auto"`` holds out data when that
        gives at least 10 validation examples (100 training examples with the
        default fraction); it stops when neither the average's validation
        accuracy nor its Brier score (the squared error of its predicted
        probabilities) has improved for ``n_iter_no_change`` epochs, and keeps
        the average of the last epoch that improved either. Every other call
        (mini-batches, a multilabel target, ``tol`` a number or ``None``, a
        smaller data set) stops on the training loss. Learning online, the
        training loss cannot tell a set whose held-out accuracy peaks after 5
        epochs (a small, noisy, nearly linear one: Waveform, breast_cancer
        behind ``StandardScaler``) from one that needs 50 (two spirals). The
        held-out accuracy moves in steps of whole examples and the Brier score
        goes on falling while it is flat; counted together, the spirals run
        long and the noisy sets stop early (doc/breadth.md, run 12).
    validation_fraction : float, default=0.1
        Share of the training data held out with ``early_stopping``.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimiser state.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights. Not
        supported for a multilabel ``y`` (a ``ValueError``): use
        ``sample_weight``.
    verbose : int, default=0
        Print the loss of each epoch.
    scope : {"synapse", "dendrite", "unit"}, default="synapse"
        What shares one step size. ``"synapse"``: each weight; ``"dendrite"``:
        each block of ``n_dendrites`` contiguous input blocks of a unit (plus
        one for its bias), coherence measured on the block's summed gradient;
        ``"unit"``: all incoming weights of a unit, coherence measured on the
        unit's delta. Read by ``rule="dendritic"`` (the other rules run at
        synapse scope).
    n_dendrites : int, default=4
        Number of input blocks per unit with ``scope="dendrite"``. Read by
        ``rule="dendritic"`` (with ``scope="dendrite"``).
    growth : {"additive", "multiplicative"}, default="additive"
        How the gain grows on a coherent step: ``gain += gain_up`` or
        ``gain *= gain_up``. Read by ``rule="dendritic"``.
    gain_up : float, default=0.1
        Amount (additive) or factor (multiplicative, >= 1) of growth. Read by
        ``rule="dendritic"``.
    fallback : {"reset", "shrink"}, default="reset"
        What an incoherent step does: reset the gain to 1, or multiply it by
        ``gain_down``. Read by ``rule="dendritic"``.
    gain_down : float, default=0.5
        Shrink factor of ``fallback="shrink"``. Read by ``rule="dendritic"`` (with
        ``fallback="shrink"``).
    coherence : {"sign", "trace"}, default="trace"
        Compare the gradient's sign with the previous non-zero gradient's sign,
        or with an exponential trace of past gradients (the default: it was
        better than the sign at small N in the few-shot benchmark, confirmed on
        fresh seeds; doc/few_shot.md). Read by ``rule="dendritic"``.
    trace_decay : float, default=0.7
        Decay of the trace of ``coherence="trace"``. Read by ``rule="dendritic"`` (with
        ``coherence="trace"``).
    relax_time : float or None, default=None
        Time constant, in examples seen, of the gain's relaxation toward 1
        between events; ``None`` disables the relaxation. Read by ``rule="dendritic"``.
    base : {"gradient", "rms", "adagrad", "sign"}, default="adagrad"
        The step the gain multiplies: the gradient; the gradient over the root
        of a running mean of its square (updated on events only, with
        ``beta_2`` and ``epsilon``); the gradient over the root of the running
        *sum* of its squares, leaking with ``beta_2`` (``"adagrad"``: ``v <-
        beta_2 * v + g**2``, AdaGrad's sum (Duchi, Hazan and Singer 2011; the
        "adaptive" part of Vowpal Wabbit's update) over about the last
        ``1 / (1 - beta_2)`` events: each weight's step shrinks as its first
        events add up, as AdaGrad's does, then settles where the RMS base's
        step with the same ``learning_rate_init`` is: it starts ``1 / sqrt(1 -
        beta_2)`` times larger, about 32 times with the default ``beta_2``; with
        ``epsilon``); or its sign. ``"adagrad"`` is the default: on
        few-shot MNIST it is ahead of every one-pass learner measured, and level
        with the RMS base in multi-epoch fits (doc/few_shot.md,
        doc/breadth.md). Read by ``rule="dendritic"``.
    min_gain, max_gain : float, default=0.01, 10.0
        Bounds of the gain (the step size in units of the base step) of
        the adaptive-gain rules; ``min_gain <= 1 <= max_gain``. Read by
        ``rule="dendritic"``, ``"delta_bar_delta"`` and ``"rprop"``.
    momentum : float, default=0.9
        Momentum of the velocity. Read by ``rule="momentum"`` and
        ``"nesterov"``.
    beta_1 : float, default=0.9
        Adam's decay rate of the first moment. Read by ``rule="adam"``.
    beta_2 : float, default=0.999
        Adam's decay rate of the second moment, that of the running mean
        of ``base="rms"`` and that of the leaky sum of ``base="adagrad"``. Read
        by ``rule="adam"`` and ``"dendritic"`` (with the RMS or AdaGrad base).
    epsilon : float, default=1e-8
        Adam's, AdaGrad's (and the RMS and AdaGrad bases') numerical
        stabiliser. Read by ``rule="dendritic"`` (with the RMS or AdaGrad
        base), ``"adam"`` and ``"adagrad"``.
    dbd_kappa : float, default=0.1
        Delta-bar-delta's additive increase, in units of ``learning_rate_init``.
        Read by ``rule="delta_bar_delta"``.
    dbd_phi : float, default=0.1
        Delta-bar-delta's multiplicative decrease (the step is multiplied by
        ``1 - dbd_phi``). Read by ``rule="delta_bar_delta"``.
    dbd_theta : float, default=0.7
        Delta-bar-delta's trace decay. Read by ``rule="delta_bar_delta"``.
    rprop_increase, rprop_decrease : float, default=1.2, 0.5
        iRprop-'s step factors on agreeing and disagreeing signs. Read by
        ``rule="rprop"``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels; for a multilabel ``y``, the label indices
        ``np.arange(n_labels)``, as in ``MLPClassifier``.
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[l]`` of shape ``(n_in, n_out)`` (views into
        the model's parameters).
    intercepts_ : list of ndarray
        Bias vectors.
    input_offset_ : ndarray of shape (`n_features_in_`,) or None
        With ``input_scaling``, the shift of each feature as the network sees it,
        ``(x - input_offset_) / input_scale_`` (0 where a feature is not centred),
        else None.
    input_scale_ : ndarray of shape (`n_features_in_`,) or None
        With ``input_scaling``, the divisor of each feature, a power of two (1 for
        a feature never seen non-zero), else None.
    direct_coef_ : ndarray of shape (`n_features_in_`, `n_outputs_`) or None
        Weights of the direct input-to-output path (a view into the model's
        parameters), or None without one.
    step_sizes_ : list of ndarray
        Read-only: each weight's current step size (for the adaptive-gain
        rules the base step times its relaxed gain, the base step being
        ``learning_rate_init``, or ``learning_rate_init / sqrt(1 - beta_2)``
        with ``base="adagrad"``; for Adam and ``rule="adagrad"`` its effective
        per-weight step; for the other baselines
        ``learning_rate_init``), same shapes as ``coefs_``. With
        ``input_scaling``, the first layer's are those of its weights in the
        scaled inputs' coordinates (a raw weight's step is that over its
        input's scale).
    intercept_step_sizes_ : list of ndarray
        Read-only: the same for the biases.
    direct_step_sizes_ : ndarray of shape (`n_features_in_`, `n_outputs_`) or None
        Read-only: the same for the direct path's weights, or None without one.
    drift_detected_ : ndarray of int
        The example counts (``t_`` at the example) at which the change detector
        (``drift_threshold``) declared a change and cleared the direct path, since
        the last fresh ``fit``, oldest first (empty if none).
    n_iter_ : int
        Epochs run by the last call, as ``MLPClassifier`` counts them: those of
        the last ``fit`` (a ``warm_start`` fit counts its own epochs only), and
        1 after ``partial_fit``. ``loss_curve_`` and ``t_`` count over every call
        since the model was started.
    t_ : int
        Training examples seen by the learner since the model was started
        (over ``warm_start`` fits and ``partial_fit`` calls).
    loss_ : float
        Mean weighted cross-entropy (multilabel: the sum over the labels of
        their binary cross-entropies) of the last epoch (each example's loss
        taken before its update) plus the L2 term.
    loss_curve_ : list of float
        ``loss_`` after each epoch since the model was started (a ``warm_start``
        fit and ``partial_fit`` append to it).
    best_loss_ : float or None
        Lowest ``loss_`` seen (``None`` where the fit held out data,
        ``early_stopping``).
    validation_scores_ : list of float or None
        Validation accuracy after each epoch of a ``fit`` that held out data
        (``early_stopping``), else None.
    best_validation_score_ : float or None
        Validation accuracy of the weights kept: the best with
        ``early_stopping=True``; with ``"auto"``, that of the last epoch whose
        accuracy or Brier score improved. None where no data was held out.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen during fit, when X has string column names.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units (the number of classes, or of labels).
    out_activation_ : str
        ``"softmax"``, or ``"logistic"`` for a multilabel ``y`` (one sigmoid per
        label), as ``MLPClassifier`` names them.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Multi-layer perceptron with global
        step-size solvers.
    sklearn.linear_model.SGDClassifier : Linear models trained by SGD.

    Notes
    -----
    Online learning depends on the order of the examples; see the user guide
    for which invariances the estimator does and does not have.

    References
    ----------
    Sardi S., Vardi R., Meir Y., Tugendhaft Y., Hodassman S., Goldental A. and
    Kanter I. (2020). Brain experiments imply adaptation mechanisms which
    outperform common AI learning algorithms. Scientific Reports 10, 6923.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skadapt import DendriticClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DendriticClassifier(max_iter=5, random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({*ACTIVATIONS, *ACTIVATION_ALIASES})],
        "direct_path": ["boolean"],
        "input_scaling": [StrOptions({"auto", "max_abs", "standard"}), None],
        "drift_threshold": [Interval(Real, 0, None, closed="neither"), None],
        "rule": [StrOptions(set(_config.RULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "epoch_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "epoch_average": ["boolean", StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "verbose": ["verbose"],
        "scope": [StrOptions({"synapse", "dendrite", "unit"})],
        "n_dendrites": [Interval(Integral, 1, None, closed="left")],
        "growth": [StrOptions({"additive", "multiplicative"})],
        "gain_up": [Interval(Real, 0, None, closed="left")],
        "fallback": [StrOptions({"reset", "shrink"})],
        "gain_down": [Interval(Real, 0, 1, closed="neither")],
        "coherence": [StrOptions({"sign", "trace"})],
        "trace_decay": [Interval(Real, 0, 1, closed="left")],
        "relax_time": [Interval(Real, 0, None, closed="neither"), None],
        "base": [StrOptions({"gradient", "rms", "adagrad", "sign"})],
        "min_gain": [Interval(Real, 0, None, closed="neither")],
        "max_gain": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "dbd_kappa": [Interval(Real, 0, None, closed="left")],
        "dbd_phi": [Interval(Real, 0, 1, closed="left")],
        "dbd_theta": [Interval(Real, 0, 1, closed="left")],
        "rprop_increase": [Interval(Real, 1, None, closed="left")],
        "rprop_decrease": [Interval(Real, 0, 1, closed="neither")],
    }

    # The HTML repr links to the API page (under pyproject.toml's Documentation
    # URL), where this class comes first; no #anchor, as scikit-learn appends
    # "#:~:text=<param>" for each parameter's link (tests/test_interop.py).
    _doc_link_module = "skadapt"
    _doc_link_template = "https://skadapt.readthedocs.io/en/stable/api.html"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        rule="dendritic",
        *,
        direct_path=True,
        input_scaling="auto",
        drift_threshold=10.0,
        learning_rate_init=0.001,
        alpha=0.0,
        batch_size=None,
        max_iter=200,
        epoch_decay="auto",
        epoch_average="auto",
        tol="auto",
        n_iter_no_change=5,
        shuffle=True,
        random_state=None,
        early_stopping="auto",
        validation_fraction=0.1,
        warm_start=False,
        class_weight=None,
        verbose=0,
        scope="synapse",
        n_dendrites=4,
        growth="additive",
        gain_up=0.1,
        fallback="reset",
        gain_down=0.5,
        coherence="trace",
        trace_decay=0.7,
        relax_time=None,
        base="adagrad",
        min_gain=0.01,
        max_gain=10.0,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        dbd_kappa=0.1,
        dbd_phi=0.1,
        dbd_theta=0.7,
        rprop_increase=1.2,
        rprop_decrease=0.5,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.rule = rule
        self.direct_path = direct_path
        self.input_scaling = input_scaling
        self.drift_threshold = drift_threshold
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.epoch_decay = epoch_decay
        self.epoch_average = epoch_average
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose
        self.scope = scope
        self.n_dendrites = n_dendrites
        self.growth = growth
        self.gain_up = gain_up
        self.fallback = fallback
        self.gain_down = gain_down
        self.coherence = coherence
        self.trace_decay = trace_decay
        self.relax_time = relax_time
        self.base = base
        self.min_gain = min_gain
        self.max_gain = max_gain
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dbd_kappa = dbd_kappa
        self.dbd_phi = dbd_phi
        self.dbd_theta = dbd_theta
        self.rprop_increase = rprop_increase
        self.rprop_decrease = rprop_decrease

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = True
        return tags

    # ------------------------------------------------------- fitted views
    @property
    def coefs_(self):
        check_is_fitted(self, "_params")
        return unpack(self._params, self._sizes)[0]

    @property
    def intercepts_(self):
        check_is_fitted(self, "_params")
        return unpack(self._params, self._sizes)[1]

    @property
    def input_offset_(self):
        check_is_fitted(self, "_params")
        transform = self._state.get("in_transform")
        return None if transform is None else transform[0].copy()

    @property
    def input_scale_(self):
        check_is_fitted(self, "_params")
        transform = self._state.get("in_transform")
        return None if transform is None else transform[1].copy()

    @property
    def direct_coef_(self):
        check_is_fitted(self, "_params")
        return direct_block(self._params, self._sizes)

    def _step_size_vector(self):
        """Each parameter's current step size, as one flat vector (the learner's)."""
        check_is_fitted(self, "_params")
        return _learner.step_sizes(self, self._params, self._sizes, self._state)

    @property
    def step_sizes_(self):
        vec = self._step_size_vector()
        vec.flags.writeable = False
        return unpack(vec, self._sizes)[0]

    @property
    def intercept_step_sizes_(self):
        vec = self._step_size_vector()
        vec.flags.writeable = False
        return unpack(vec, self._sizes)[1]

    @property
    def direct_step_sizes_(self):
        vec = self._step_size_vector()
        vec.flags.writeable = False
        return direct_block(vec, self._sizes)

    def _has_direct_path(self):
        """Whether the fitted model has a direct input-to-output path."""
        return direct_block(self._params, self._sizes) is not None

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_params")

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_spare", None)  # scratch memory of partial_fit, not part of the model
        from . import __version__

        return dict(state, _skadapt_version=__version__)

    def __setstate__(self, state):
        # scikit-learn checks its own version only for estimators of its own modules
        # (BaseEstimator.__setstate__); this checks skadapt's, the one that matters for
        # the model's parameters and optimiser state, with an InconsistentVersionWarning.
        from . import __version__

        state = dict(state)
        pickled = state.pop("_skadapt_version", "unknown")
        if pickled != __version__:
            warnings.warn(
                InconsistentSkadaptVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklearn_version=__version__,
                    original_sklearn_version=pickled,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used in CSR form; its zero entries
            are skipped, never densified.
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Target labels, or a multilabel indicator matrix of 0 and 1 (one
            column per label; dense or sparse), which trains sigmoid outputs with
            a binary cross-entropy per label, as in ``MLPClassifier``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the examples (of all the labels of an
            example); zero-weight examples are left out.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with _keep_state_on_error(self):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        reuse = self.warm_start and hasattr(self, "_params")
        X, y = self._validate_input(X, y, reset=not reuse)
        Y = _indicator_matrix(y)
        if Y is None:
            _check_classification_targets(y)
            classes = unique_labels(y)
        else:
            classes = np.arange(Y.shape[1])
        if reuse:
            self._check_target_kind(Y, "warm_start")
            if Y is None:
                self._check_labels(y, classes_known=self.classes_)
            classes = self.classes_
        else:
            _check_n_classes(classes)
        _config.check_rule_parameters(self)
        X, y_idx, sw = self._prepare(X, y, Y, classes, sample_weight)
        rng = check_random_state(self.random_state)
        model = self._start_model(X, classes, rng, reuse)
        model.sparse_labels = getattr(self, "_sparse_labels", False) if reuse else sp.issparse(y)
        self._run(model, X, y_idx, Y, sw, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one pass over (X, y).

        The optimiser's state (every step size, gain and running mean) carries
        over between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Target labels, or a multilabel indicator matrix of 0 and 1 (see
            :meth:`fit`). Every call must give the kind of target, and the
            number of labels, of the first.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, must be left out or
            unchanged afterwards. For a multilabel ``y``, the label indices
            ``np.arange(n_labels)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the examples.

        Returns
        -------
        self : object
            Updated estimator.
        """
        with _keep_state_on_error(self):
            return self._partial_fit(X, y, classes, sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight):
        if _early_stopping_forced(self):
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. Use "
                "sklearn.utils.compute_class_weight to compute the weights and "
                "pass them as a dict."
            )
        first = not hasattr(self, "classes_") or not hasattr(self, "_params")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        X, y = self._validate_input(X, y, reset=first)
        Y = _indicator_matrix(y)
        if Y is None:
            _check_classification_targets(y)
        if not first:
            self._check_target_kind(Y, "partial_fit")
        # Validate `classes` on a scratch object so a failing call changes nothing.
        probe = _ClassesProbe(self.classes_ if not first else None)
        _check_partial_fit_first_call(probe, classes)
        classes = probe.classes_
        _check_n_classes(classes)
        if Y is None:
            self._check_labels(y, classes_known=classes)
        elif first and not np.array_equal(classes, np.arange(Y.shape[1])):
            raise ValueError(
                f"y is a multilabel indicator matrix of {Y.shape[1]} labels (columns), whose "
                f"classes are the label indices np.arange({Y.shape[1]}); got classes="
                f"{np.asarray(classes).tolist()}."
            )
        _config.check_rule_parameters(self)
        X, y_idx, sw = self._prepare(X, y, Y, classes, sample_weight)
        rng = check_random_state(self.random_state) if first else None
        model = self._start_model(X, classes, rng, reuse=not first)
        model.sparse_labels = sp.issparse(y) if first else getattr(self, "_sparse_labels", False)
        self._run(model, X, y_idx, Y, sw, incremental=True)
        return self

    # ------------------------------------------------------------ helpers
    def _validate_input(self, X, y, reset):
        if not reset and self._valid_as_is(X, y):
            return X, y
        dtype = [np.float64, np.float32]
        if not reset and hasattr(self, "_params"):
            dtype = self._params.dtype
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            # Every sparse format is converted to CSR before the NaN/inf check (a DOK
            # matrix could not be checked in its own format).
            accept_sparse="csr",
            dtype=dtype,
            order="C",
            multi_output=True,  # a multilabel indicator matrix (checked by the caller)
        )
        if y.ndim == 2 and y.shape[1] == 1:  # a column vector: 1-D, with sklearn's warning
            y = column_or_1d(y.toarray() if sp.issparse(y) else y, warn=True)
        return X, y

    def _is_multilabel(self):
        """Whether the fitted network has sigmoid outputs for a multilabel target."""
        return getattr(self, "out_activation_", "softmax") == "logistic"

    def _check_target_kind(self, Y, call):
        """A ValueError if the target of a ``warm_start`` fit or a later ``partial_fit``
        call (``Y``: its indicator matrix, None for class labels) is of another kind than
        the fitted model's, or has another number of labels."""
        fitted = self._is_multilabel()
        if Y is None and not fitted:
            return
        how = ("refit without warm_start" if call == "warm_start"
               else "start a new model (a fresh estimator or fit)")
        n_out = self.n_outputs_
        if Y is None or not fitted:
            given = ("a 1-D array of class labels" if Y is None
                     else "a multilabel indicator matrix")
            seen = (f"a multilabel indicator matrix of {n_out} labels" if fitted
                    else "class labels (a 1-D y)")
            raise ValueError(
                f"y is {given}, but the model was fitted on {seen}: a {call} call must "
                f"keep the kind of target (multiclass or multilabel); {how}."
            )
        if Y.shape[1] != n_out:
            raise ValueError(
                f"y is a multilabel indicator matrix of {Y.shape[1]} labels (columns), but "
                f"the model was fitted on {n_out} labels; {how}."
            )

    def _valid_as_is(self, X, y):
        """Whether ``validate_data(reset=False)`` would return X and y unchanged, without
        a warning: X a C-ordered 2-D array of the model's dtype, with the fitted number of
        features, finite, fitted without feature names; y a 1-D array of as many integer,
        boolean or string labels. This test costs microseconds where ``validate_data``
        costs a few hundred (a stream's ``partial_fit`` of one row); any other input takes
        the full validation, which converts it or says what is wrong."""
        params = getattr(self, "_params", None)
        return (
            params is not None and type(X) is np.ndarray and type(y) is np.ndarray
            and X.ndim == 2 and y.ndim == 1 and X.dtype == params.dtype
            and X.flags.c_contiguous and 0 < X.shape[0] == y.shape[0]
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_") and y.dtype.kind in "biuU"
            and bool(np.isfinite(X).all())
        )

    @staticmethod
    def _check_labels(y, classes_known):
        y = np.asarray(y)
        known = np.asarray(classes_known)
        same_kind = (y.dtype.kind in "iuf" and known.dtype.kind in "iuf") or (
            y.dtype.kind == known.dtype.kind == "U")
        if same_kind and known.size:
            # every label found in the sorted classes: no sort of y (np.unique) needed
            pos = np.minimum(np.searchsorted(known, y), known.size - 1)
            if (known[pos] == y).all():
                return
        # (unique_labels also rejects a mix of strings and numbers, at ~0.5 ms a call)
        labels = np.unique(y) if same_kind else unique_labels(y)
        unseen = np.setdiff1d(labels, known)
        if unseen.size:
            raise ValueError(
                f"y contains labels not in classes: {unseen.tolist()}; the classes "
                f"are {np.asarray(classes_known).tolist()}."
            )

    def _prepare(self, X, y, Y, classes, sample_weight):
        """CSR with canonical indices, the kernel's targets, per-example weights.

        The targets ``y_idx`` are the examples' class indices, or for a multilabel ``Y``
        (the uint8 indicator matrix, else None) their rows in ``Y``."""
        if sp.issparse(X):
            X = _canonical_csr(X)
        if Y is None and sample_weight is None and self.class_weight is None:
            # (what _check_sample_weight gives for None: every weight 1, nothing to drop)
            return X, np.searchsorted(classes, y).astype(np.int64), np.ones(X.shape[0])
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if Y is not None:
            if self.class_weight is not None:
                raise ValueError(
                    "class_weight is not supported for multilabel targets (y is a 2-D "
                    "indicator matrix): a weight per class cannot weight an example that "
                    "has several labels. Use sample_weight, or class_weight=None."
                )
            y_idx = np.arange(X.shape[0], dtype=np.int64)
        else:
            y_idx = np.searchsorted(classes, y).astype(np.int64)
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=y)
            if not np.all(np.isfinite(cw) & (cw >= 0)):
                raise ValueError(
                    "class_weight must be non-negative and finite; got "
                    f"{dict(zip(np.asarray(classes).tolist(), cw.tolist(), strict=True))}."
                )
            sw = sw * cw[y_idx]
        if not np.any(sw > 0):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        if np.any(sw == 0):  # an example of zero weight carries nothing to learn
            keep = np.flatnonzero(sw > 0)
            X, y_idx, sw = X[keep], y_idx[keep], sw[keep]
        return X, y_idx, sw

    def _start_model(self, X, classes, rng, reuse):
        """The model to train: a copy of the fitted one, or a fresh one."""
        hidden = list(np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object)))
        if not all(isinstance(h, Integral) and h >= 1 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers only; got "
                f"{self.hidden_layer_sizes!r}."
            )
        sizes = [X.shape[1], *[int(h) for h in hidden], len(classes)]
        direct = bool(self.direct_path) and len(hidden) > 0
        if reuse:
            if list(self._sizes) != sizes:
                raise ValueError(
                    f"The network's layer sizes {list(self._sizes)} differ from those "
                    f"asked for now, {sizes}; refit without warm_start."
                )
            if self._has_direct_path() != direct:
                raise ValueError(
                    f"The fitted network {'has a' if self._has_direct_path() else 'has no'} "
                    f"direct input-to-output path, and direct_path={self.direct_path} now; "
                    "refit without warm_start."
                )
            old = self._state
            # partial_fit trains on a copy (a failing call keeps the fitted state) made in
            # the arrays the previous call left behind: no allocation, no page faults
            spare_params, spare_state = _learner.take_spare(self)
            params = _learner.copy_into(self._params, spare_params, fill=False)
            # the copy is made with the weights rewritten in the network's coordinates of
            # the fitted transform, in one pass (_run's rewriting is then done)
            transform = old.get("in_transform")
            if transform is None:
                np.copyto(params, self._params)
            else:
                _input_weights_to_network(params, sizes, *transform, src=self._params)
            if old["key"] == _learner.state_key(self):
                # the random state is drawn from only to shuffle more than one example
                # (or to split off a validation set, which "auto" may); otherwise it can be
                # shared
                draws = (self.shuffle and X.shape[0] > 1) or bool(self.early_stopping)
                state = _learner.private_copy(self, old, spare_state, copy_rng=draws)
                return _learner.Model(classes, sizes, params, state, list(self.loss_curve_),
                                      in_network=True)
            dtype = params.dtype
            rng = _learner.copy_random_state(old["rng"])
        else:
            dtype = X.dtype
            params = init_params(sizes, self.activation, rng, dtype, direct)
        # the rule's state starts anew; the inputs' statistics and transform stay
        state = _learner.fresh_state(self, sizes, params.shape[0], dtype, rng, direct,
                                     keep=old if reuse else None)
        curve = list(self.loss_curve_) if reuse else []
        return _learner.Model(classes, sizes, params, state, curve, in_network=reuse)

    def _epoch(self, model, X_args, y_idx, Y, sw, order, batch_size, net):
        """One kernel epoch. ``X_args`` and ``net`` are built once per call by ``_run``:
        the data as the kernel takes it (dense, or CSR arrays) and the layout and
        configuration arrays ``(sizes, w_off, b_off, g_off, icfg, fcfg)``; ``Y``: the
        kernel's indicator matrix of a multilabel target (see ``_prepare``)."""
        st = model.state
        drift = st["drift"]
        drift[D_THRESHOLD] = self.drift_threshold or 0.0
        drift[D_TOLERANCE] = _DRIFT_TOLERANCE
        drift_log = np.zeros(_DRIFT_LOG, np.int64)
        icfg = net[4]  # (net: sizes, w_off, b_off, g_off, icfg, fcfg)
        name = _learner.epoch_kernel(batch_size, icfg, net[5])
        kernel = _learner.EPOCH_KERNELS[name]
        args = (*X_args, y_idx, Y, sw, order, batch_size, model.params, *net,
                *model.kernel_state(), drift, drift_log,
                *_learner.kernel_workspace(name, net[0], model.params, net[5]))
        loss_sum, status = _numba_cache.call(kernel, *args)
        while status == STATUS_CHANGE:  # (a flat kernel leaves the clearing to Python)
            _learner.after_change(args)
            loss_sum, status = _numba_cache.call(kernel, *args)
        if drift_log[0]:
            st["drift_detected"] = np.concatenate(
                [st["drift_detected"], drift_log[1 : 1 + min(drift_log[0], _DRIFT_LOG - 1)]])
        if status != 0:
            raise self._divergence("loss" if status == STATUS_NONFINITE_LOSS else "weights",
                                   model.n_iter + 1)
        n = order.shape[0]
        loss = loss_sum / n
        if self.alpha:  # (with alpha=0, huge weights must not make 0 * inf = NaN)
            coefs = unpack(model.params, model.sizes)[0]
            direct = direct_block(model.params, model.sizes)
            coefs += [] if direct is None else [direct]
            weights = np.concatenate([c.ravel() for c in coefs]).astype(np.float64, copy=False)
            with np.errstate(over="ignore"):
                loss += 0.5 * self.alpha * float(weights @ weights) / n
        if not np.isfinite(loss):  # finite per example, but the sum or the L2 term overflowed
            raise self._divergence("loss", model.n_iter + 1)
        return loss

    def _input_transform(self, model, X, batch_stats):
        """How the network sees the inputs before and after this call's data X
        (``input_scaling``): ``(shift_before, scale_before, shift, scale)``, the network
        seeing ``(x - shift) / scale``. The running statistics of the inputs are
        updated in ``model.state`` with X's, ``batch_stats`` (:func:`_input_batch_stats`),
        and so is the transform the weights are kept for."""
        n_features = X.shape[1]
        st = model.state
        before = st.get("in_transform")
        before = (np.zeros(n_features), np.ones(n_features)) if before is None else before
        if self.input_scaling is None:
            for key in ("in_stats", "in_transform"):
                st.pop(key, None)
            return (*before, np.zeros(n_features), np.ones(n_features))
        stats = st.get("in_stats")
        stats = _merge_input_stats(
            np.zeros((N_INPUT_STATS, n_features)) if stats is None else _full_input_stats(stats),
            batch_stats)
        max_abs, n, nnz, mean, m2, x_max, x_min = stats
        scale = max_abs
        shift = np.zeros(n_features)
        share = _CENTRED_SHARE.get(self.input_scaling)
        if share is not None and not sp.issparse(X):  # (a sparse matrix is never centred)
            dense = nnz >= share * n
            shift[dense] = mean[dense]
            # the standard deviation, or a share of the largest deviation from the mean
            # where that is larger (a heavy tail: no centred input beyond the bound)
            std = np.sqrt(m2 / n)
            deviation = np.maximum(x_max - mean, mean - x_min) / _CENTRED_BOUND
            scale = np.where(dense, np.maximum(std, deviation), scale)
            if self.input_scaling == "auto":
                _keep_alike_spreads(scale, std, dense)
        # each scale rounded up to a power of two (1 for none, and for one below the
        # smallest normal number, whose reciprocal would overflow): folding it into the
        # weights and out again at every call is then exact, and cannot drift by rounding
        frac, exp = np.frexp(np.where(scale >= _SMALLEST_SCALE, scale, 1.0))
        scale = np.ldexp(1.0, np.where(frac == 0.5, exp - 1, exp))
        st["in_stats"] = stats
        st["in_transform"] = (shift, scale)
        return (*before, shift, scale)

    def _stops_on_held_out_average(self, shape, incremental, multilabel):
        """Whether this call holds out data to stop on (``early_stopping="auto"``): a
        ``fit`` that averages its epochs (it learns online) with ``tol="auto"``, of a
        single-label target, whose validation share is at least
        ``_AUTO_MIN_VALIDATION`` examples."""
        if incremental or multilabel or not (
                isinstance(self.early_stopping, str) and isinstance(self.tol, str)):
            return False
        n_samples, n_features = shape
        batch_size, _ = _config.batch_size(self, n_samples, n_features, incremental)
        return (_config.epoch_average(self, batch_size, incremental)
                and self.validation_fraction * n_samples >= _AUTO_MIN_VALIDATION)

    def _divergence(self, what, epoch):
        return DivergenceError(
            f"Training diverged: the {what} became non-finite during epoch {epoch} of this "
            f"call (rule={self.rule!r}, learning_rate_init={self.learning_rate_init}). The "
            "estimator keeps its previous state. Lower learning_rate_init or max_gain, or "
            "scale the input (e.g. with StandardScaler)."
        )

    def _run(self, model, X, y_idx, Y, sw, incremental):
        """Train ``model`` (a private copy), then commit it to the estimator. ``Y``: the
        indicator matrix of a multilabel target (``y_idx`` its rows), else None."""
        multilabel = Y is not None
        icfg, fcfg = _config.make_config(self, multilabel)
        direct = direct_block(model.params, model.sizes) is not None
        g_off, _ = _config.group_layout(model.sizes, model.state["scope"], self.n_dendrites,
                                        direct)
        X_val = None
        # early_stopping="auto": the average of an online fit is stopped on held-out data
        # (the held-out accuracy and Brier score of the average, _AUTO_MIN_VALIDATION)
        held_out_average = self._stops_on_held_out_average(X.shape, incremental, multilabel)
        if (_early_stopping_forced(self) or held_out_average) and not incremental:
            # imported here: sklearn.model_selection (and sklearn.metrics, which it imports)
            # is about 50 ms of a fresh process's import, needed only for this split
            from sklearn.model_selection import train_test_split

            idx = np.arange(X.shape[0])
            try:
                # (as MLPClassifier: no stratification of multilabel targets)
                tr, va = train_test_split(
                    idx, test_size=self.validation_fraction,
                    stratify=None if multilabel else y_idx, random_state=model.state["rng"],
                )
            except ValueError:
                tr, va = train_test_split(
                    idx, test_size=self.validation_fraction, random_state=model.state["rng"]
                )
            if va.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            X_val, y_val, sw_val = X[va], y_idx[va], sw[va]
            X, y_idx, sw = X[tr], y_idx[tr], sw[tr]
        n = X.shape[0]
        # the inputs' statistics count every example the learner sees: each epoch's; the
        # transform is the one of the statistics at the start of the call (first epoch's)
        batch_stats = _input_batch_stats(X) if self.input_scaling else None
        shift_before, scale_before, shift, scale = self._input_transform(model, X, batch_stats)
        dtype = model.params.dtype
        in_scale = (1.0 / scale).astype(dtype)
        in_shift = shift.astype(dtype)
        if sp.issparse(X):
            X_args = (np.empty((0, 0), X.dtype), X.data, X.indices, X.indptr, True, in_shift,
                      in_scale)
        else:
            X_args = (X, np.empty(0, X.dtype), _EMPTY_INT, _EMPTY_INT, False, in_shift, in_scale)
        w_off, b_off, _ = layout(model.sizes, direct)
        net = (np.asarray(model.sizes, np.int64), w_off, b_off, g_off, icfg, fcfg)
        Y_kernel = _NO_LABELS if Y is None else Y
        batch_size, clipped = _config.batch_size(self, n, X.shape[1], incremental)
        if clipped and not incremental:
            warnings.warn(
                "Got `batch_size` larger than sample size. It is going to be clipped",
                stacklevel=3,
            )
        rng = model.state["rng"]
        epochs = 1 if incremental else self.max_iter
        n_curve_before = len(model.curve)
        best_loss = np.inf
        best_score = -np.inf
        best_accuracy, best_brier = -np.inf, np.inf
        best_params = None
        no_improvement = 0
        val_scores = []
        # The last epoch of this call that is completely recorded, to go back to if a
        # KeyboardInterrupt lands anywhere in the next one (also between the kernel's
        # in-place update and the bookkeeping): (params, state, n_iter, len(curve),
        # len(val_scores), best_score, best_params, avg). partial_fit runs one epoch only.
        # Each epoch's copy is written into the one before last (``spare``), so that the
        # last stays whole while the next is written.
        done = spare = None
        # During the call the weights are those of the inputs as the network sees them
        # (an input whose transform changed keeps its weights in those coordinates), and
        # so is the validation set; they are folded back into the raw inputs' at the end.
        if not model.in_network:
            _input_weights_to_network(model.params, model.sizes, shift_before, scale_before)
        if X_val is not None:
            X_val = _transform_inputs(X_val, shift, scale)
        eta0 = fcfg[F_ETA0]
        # fit's epochs so far: a warm start continues the decay (a state of an earlier
        # version has no count)
        fit_epochs = 0 if incremental else model.state.get("fit_epochs", 0)
        average = _config.epoch_average(self, batch_size, incremental)
        decay = _config.epoch_decay(self, batch_size, average)
        # the running average of this call's epochs' weights (epoch_average), else None
        avg = None
        try:
            for epoch in range(epochs):
                if not incremental:  # (a first epoch's factor is exactly 1)
                    fcfg[F_ETA0] = eta0 * (fit_epochs + epoch + 1.0) ** -decay
                    model.state["fit_epochs"] = fit_epochs + epoch + 1
                order = np.arange(n, dtype=np.int64)
                if self.shuffle:
                    rng.shuffle(order)
                if epoch and self.input_scaling:
                    model.state["in_stats"] = _merge_input_stats(model.state["in_stats"],
                                                                 batch_stats)
                loss = self._epoch(model, X_args, y_idx, Y_kernel, sw, order, batch_size, net)
                model.n_iter += 1
                model.curve.append(loss)
                if self.verbose:
                    print(f"Iteration {model.n_iter}, loss = {loss:.8f}")
                if incremental:
                    break
                if average:
                    avg = _config.update_epoch_average(avg, model.params, epoch + 1)
                # the weights this epoch would end the call with
                fitted = model.params if avg is None else avg
                if X_val is not None:
                    if held_out_average:
                        score, brier = _accuracy_and_brier(fitted, model.sizes, X_val, y_val,
                                                           sw_val, self.activation)
                    else:
                        score = _score(fitted, model.sizes, X_val, y_val, sw_val,
                                       self.activation, Y)
                    val_scores.append(score)
                    if self.verbose:
                        print(f"Validation score: {score:f}")
                    if held_out_average:
                        # either score improving is progress (the Brier score by
                        # _AUTO_TOL_BRIER); the weights kept are those of the last epoch
                        # that improved one (its accuracy reported)
                        improved = score > best_accuracy or brier < best_brier - _AUTO_TOL_BRIER
                        best_accuracy = max(best_accuracy, score)
                        best_brier = min(best_brier, brier)
                        no_improvement = 0 if improved else no_improvement + 1
                        if improved:
                            best_score = score
                            best_params = fitted.copy()
                    else:
                        tol = (-np.inf if self.tol is None else
                               _AUTO_TOL_SCORE if isinstance(self.tol, str) else self.tol)
                        no_improvement = no_improvement + 1 if score < best_score + tol else 0
                        if score > best_score:
                            best_score = score
                            best_params = fitted.copy()
                else:
                    if epoch == 0:
                        tol = (max(_AUTO_TOL_SCORE, _config.auto_tol_share(average) * loss)
                               if isinstance(self.tol, str) else self.tol)
                    if self.tol is not None and loss > best_loss - tol:
                        no_improvement += 1
                    else:
                        no_improvement = 0
                    best_loss = min(best_loss, loss)
                old_params, old_state, *_, old_avg = spare or (None, None, None)
                spare, done = done, (
                    *model.snapshot((old_params, old_state)), model.n_iter, len(model.curve),
                    len(val_scores), best_score, best_params,
                    None if avg is None else _learner.copy_into(avg, old_avg))
                if self.tol is not None and no_improvement > self.n_iter_no_change:
                    if self.verbose:
                        print("Stopping: no improvement by tol for n_iter_no_change epochs.")
                    break
            else:
                if not incremental and self.tol is not None:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
        except KeyboardInterrupt:
            if done is None:  # no epoch of this call completed: nothing to keep
                raise
            warnings.warn("Training interrupted by user.", stacklevel=3)
            (model.params, state, model.n_iter, n_curve, n_val, best_score, best_params,
             avg) = done
            model.state = _learner.restored_state(state)
            del model.curve[n_curve:], val_scores[n_val:]
        if best_params is not None:
            model.params[...] = best_params
        elif avg is not None:
            model.params[...] = avg
        _input_weights_to_raw(model.params, model.sizes, shift, scale)
        if not incremental:
            _warn_if_nothing_learned(model, X, y_idx, Y, sw, self.activation,
                                     model.curve[n_curve_before:])
            _warn_if_units_saturated(model, X, self.activation)
        # commit (the replaced arrays hold the next partial_fit call's copy)
        _learner.commit(self, model, incremental)
        self.n_layers_ = len(model.sizes)
        self.n_outputs_ = len(model.classes)
        self.out_activation_ = "logistic" if multilabel else "softmax"
        self._sparse_labels = bool(multilabel and model.sparse_labels)
        self.loss_curve_ = model.curve
        self.loss_ = model.curve[-1]
        self.n_iter_ = model.n_iter
        self.t_ = int(model.state["counters"][0])
        self.drift_detected_ = model.state["drift_detected"].copy()
        if X_val is not None:
            self.validation_scores_ = val_scores
            self.best_validation_score_ = best_score
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(model.curve)

    # ---------------------------------------------------------- predicting
    def _logits(self, X):
        """Output-layer logits; a ValueError if they overflow (never inf or NaN)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr",
                          dtype=[np.float64, np.float32])
        if sp.issparse(X):
            X = _canonical_csr(X)
        coefs, intercepts = unpack(self._params, self._sizes)
        with np.errstate(over="ignore", invalid="ignore"):
            z = forward(X, coefs, intercepts, self.activation,
                        direct_block(self._params, self._sizes))
        bad = ~np.isfinite(z).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(
                f"The network's output overflowed (is infinite or NaN in {z.dtype}) for "
                f"{rows.size} of {z.shape[0]} samples (first: row {rows[0]}): the input is "
                "far larger than the model can take. Scale it like the training data."
            )
        return z

    def decision_function(self, X):
        """Output-layer scores: logits, or their difference for two classes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For two classes, the score of the second class minus the first's
            (positive means ``classes_[1]``; ``+-inf`` if that difference of two
            finite logits overflows); otherwise one column per class. For a
            multilabel model, one column per label: its logit (whose sigmoid is
            the label's probability). Never NaN.

        Raises
        ------
        ValueError
            If the network's output overflows to inf or NaN for some sample (the
            input is far larger than the model can take), as in every predict
            method.
        """
        z = self._logits(X)
        if z.shape[1] == 2 and not self._is_multilabel():
            with np.errstate(over="ignore"):
                return z[:, 1] - z[:, 0]
        return z

    def predict_proba(self, X):
        """Class probabilities (softmax of the output layer), or label probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_outputs)
            Probability of each class, columns ordered as ``classes_``. Always
            finite: the softmax is computed after subtracting each row's largest
            logit, so a huge but finite logit gives a probability of (nearly) 1
            and the others underflow to 0. For a multilabel model (fitted on an
            indicator matrix), the probability of each label, independently (the
            sigmoid of its logit, as ``MLPClassifier``'s); the rows do not sum to 1.

        Raises
        ------
        ValueError
            If the network's output (a logit) overflows to inf or NaN for some
            sample: then there are no well-defined probabilities, and the input is
            far larger than the model can take (scale it like the training data).
        """
        z = self._logits(X)
        if self._is_multilabel():
            return expit(z, out=z)
        return _softmax(z)

    def predict_log_proba(self, X):
        """Logarithm of the class (or, multilabel, the label) probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_outputs)
            Log-probability of each class (of each label for a multilabel model),
            columns ordered as ``classes_``; never NaN, ``-inf`` only where the
            probability underflows to 0.

        Raises
        ------
        ValueError
            If the network's output overflows for some sample, as in
            :meth:`predict_proba`.
        """
        z = self._logits(X)
        with np.errstate(over="ignore", under="ignore"):
            if self._is_multilabel():
                return log_expit(z)
            return log_softmax(z, axis=1)

    def predict(self, X):
        """Predict class labels, or the label indicator matrix of a multilabel model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels. For a multilabel model, the indicator matrix of
            the labels whose probability exceeds 0.5 (int, 0 and 1), as
            ``MLPClassifier`` predicts it; a CSR sparse matrix if the model was
            fitted on a sparse indicator matrix.

        Raises
        ------
        ValueError
            If the network's output overflows for some sample, as in
            :meth:`predict_proba`.
        """
        if self._is_multilabel():
            labels = (self.predict_proba(X) > 0.5).astype(int)
            return sp.csr_matrix(labels) if self._sparse_labels else labels
        # the class of the largest probability, as MLPClassifier does: logits that differ
        # by less than their rounding (e.g. a model trained with tiny sample weights from
        # its zero start) have equal probabilities, and the first of them is the answer
        proba = _softmax(self._logits(X))
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------------ deploying
    def to_mlp_classifier(self):
        """The equivalent fitted :class:`~sklearn.neural_network.MLPClassifier`.

        It computes the same function: the same weights and biases (the input
        scaling is folded into them already), the hidden activation under
        scikit-learn's name (``"sigmoid"`` is ``"logistic"``), a softmax output
        for three classes or more. For two classes scikit-learn has one logistic
        output where this estimator has two softmax outputs; it gets the
        difference of the two logits, whose logistic is exactly the softmax
        probability of ``classes_[1]``. ``predict``, ``predict_proba`` and
        ``score`` give this estimator's answers (to rounding), with
        scikit-learn only; ``partial_fit`` (or ``fit`` with ``warm_start``)
        continues from these weights with scikit-learn's solver.

        Returns
        -------
        mlp : MLPClassifier
            A fitted ``MLPClassifier`` with ``coefs_``, ``intercepts_``,
            ``classes_``, ``n_features_in_`` (and ``feature_names_in_`` when
            present), ``n_layers_``, ``n_outputs_`` and ``out_activation_``;
            its parameters other than ``hidden_layer_sizes`` and ``activation``
            are scikit-learn's defaults.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If no ``MLPClassifier`` computes the same function: the network
            has a direct input-to-output path with non-zero weights (the default
            ``direct_path=True``), which ``MLPClassifier`` lacks. Refit with
            ``direct_path=False``, or export the model to ONNX with
            ``skl2onnx.to_onnx`` instead (it keeps the path).

        See Also
        --------
        register_onnx_converter : ONNX export through skl2onnx.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skadapt import DendriticClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = DendriticClassifier((8,), direct_path=False, max_iter=20, tol=None,
        ...                           random_state=0).fit(X, y)
        >>> mlp = clf.to_mlp_classifier()
        >>> bool((mlp.predict(X) == clf.predict(X)).all())
        True
        """
        from ._export import to_mlp_classifier

        return to_mlp_classifier(self)


# The input scalings that centre (dense input): a feature that is non-zero in at least
# this share of the examples seen is centred ("auto": a feature with more zeros keeps
# them, they are no events; "standard": every feature)
_CENTRED_SHARE = {"auto": 0.9, "standard": 0.0}
# A centred feature is divided by its standard deviation, or by its largest deviation from
# the mean over this bound where that is larger: no centred input is beyond +-3 (a heavy
# tail, e.g. a pixel that is rarely on, standardised, would otherwise reach 50 and more)
_CENTRED_BOUND = 3.0
# tol="auto": the gain of the validation score with early_stopping, and the least gain of
# the loss (the share of the first epoch's loss: _config.auto_tol_share)
_AUTO_TOL_SCORE = 1e-3
# early_stopping="auto" holds out data only where the validation set has at least this many
# examples (validation_fraction=0.1: 100 examples and more); a smaller fit stops on its
# training loss
_AUTO_MIN_VALIDATION = 10
# early_stopping="auto": the least gain of the held-out Brier score that counts as progress
# (MLPClassifier's tol). Without it a set the average separates perfectly (penguins) goes on
# sharpening its probabilities, and "improving", up to max_iter (one fold ran 200 epochs,
# the others 7-48; with it 7-9); 1e-3 stopped the spirals early (0.904 -> 0.891)
_AUTO_TOL_BRIER = 1e-4
# "auto": centred features whose standard deviations are all within this factor of each
# other are taken to share a unit, and keep their relative spread (_keep_alike_spreads).
# 20: the development suite's make_classification with 400 features has spreads 16x
# apart (10 standardised it each on its own: 0.33 vs MLPClassifier's 0.51, raw)
_ALIKE_SPREAD = 20.0
# Rows of the running input statistics (see _input_batch_stats)
N_INPUT_STATS = 7
# The smallest scale of an input: the smallest normal float64 (skadapt._online repeats it)
_SMALLEST_SCALE = float(np.finfo(np.float64).tiny)
# The change detector's tolerance (the rise of the error probability over its running
# mean that is not yet evidence of a change), and the most changes one epoch can log.
_DRIFT_TOLERANCE = 0.05
# A fit whose best epoch's loss is not below this share of the class frequencies' learned
# nothing worth its name (see _warn_if_nothing_learned).
_NOTHING_LEARNED = 0.99
# A sigmoid (tanh) unit with |a - 1/2| (|a|) above this half of its range (this range) is
# in its flat tail; a unit stuck so (or a relu unit at zero) on this share of the examples
# is stuck; a fit with this share of its hidden units stuck has lost its hidden layers
# (see _warn_if_units_saturated).
_SATURATED = 0.98
_STUCK_EXAMPLES = 0.95
_STUCK_UNITS = 0.9
_DRIFT_LOG = 65


def _keep_alike_spreads(scale, std, centred):
    """Where the ``centred`` features' (non-zero) standard deviations ``std`` are all
    within a factor ``_ALIKE_SPREAD`` of each other, divide them by their median standard
    deviation instead of each by its own, in place in ``scale`` (each feature's divisor,
    its standard deviation or its heavy tail's bound): the features are then taken to be
    measured in one unit (pixels, signal samples, features already standardised
    together), and the larger spread of some of them is information that per-feature
    standardising would throw away (``make_classification``'s informative features have 3
    to 16 times the spread of its noise features). A heavy tail keeps its bound relative to
    the feature's own deviation. Features in different units (a table of counts, sizes
    and rates: spreads often hundreds to thousands of times apart) are standardised each
    on its own."""
    alike = centred & (std > 0.0)
    if not alike.any():
        return
    spread = std[alike]
    if spread.max() <= _ALIKE_SPREAD * spread.min():
        scale[alike] *= np.median(spread) / spread


def _input_batch_stats(X):
    """The statistics of X that the running ones are made of: ``(largest |x|, number of
    examples, of non-zeros, mean, sum of squared deviations from it, largest x, smallest
    x)`` of each column."""
    n = X.shape[0]
    if sp.issparse(X):
        max_abs = abs(X).max(axis=0).toarray().ravel() if X.nnz else np.zeros(X.shape[1])
        nnz = np.bincount(X.indices, weights=X.data != 0, minlength=X.shape[1])
        mean = np.asarray(X.mean(axis=0)).ravel()
        m2 = np.maximum(np.asarray(X.multiply(X).sum(axis=0)).ravel() - n * mean**2, 0.0)
        x_max, x_min = max_abs, -max_abs  # (bounds: a sparse matrix is never centred)
    else:  # passes over X without a temporary of its size (a third of the time)
        x_max = X.max(axis=0).astype(np.float64)
        x_min = X.min(axis=0).astype(np.float64)
        max_abs = np.maximum(x_max, -x_min)
        nnz = np.count_nonzero(X, axis=0)
        mean = X.sum(axis=0, dtype=np.float64) / n
        m2 = np.maximum(np.einsum("ij,ij->j", X, X, dtype=np.float64) - n * mean**2, 0.0)
    return max_abs, n, nnz, mean, m2, x_max, x_min


def _merge_input_stats(stats, batch):
    """The running statistics ``stats`` (``N_INPUT_STATS``, n_features; zeros for none)
    after the examples whose :func:`_input_batch_stats` are ``batch`` (Chan et al.'s
    pairwise update); a new array."""
    old_max, n_a, old_nnz, mean_a, m2_a, old_hi, old_lo = stats
    max_abs, n_b, nnz, mean_b, m2_b, hi, lo = batch
    n = n_a + n_b
    delta = mean_b - mean_a
    seen = n_a > 0  # (zeros for none are no values)
    return np.array([np.maximum(old_max, max_abs), n, old_nnz + nnz,
                     mean_a + delta * (n_b / n), m2_a + m2_b + delta**2 * (n_a * n_b / n),
                     np.where(seen, np.maximum(old_hi, hi), hi),
                     np.where(seen, np.minimum(old_lo, lo), lo)])


def _full_input_stats(stats):
    """``stats`` with every row of ``N_INPUT_STATS``: those of an earlier version (5 rows,
    no largest and smallest values) get the mean as both, so that the deviations seen from
    now on decide the bound (as the earlier version, the standard deviation until then)."""
    if stats.shape[0] == N_INPUT_STATS:
        return stats
    return np.vstack([stats, stats[3], stats[3]])


def _softmax(z):
    """Softmax of the logits ``z``, computed in place in ``z`` and returned."""
    with np.errstate(over="ignore", under="ignore"):  # -inf - finite: exp gives 0
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _transform_inputs(X, shift, scale):
    """``(X - shift) / scale``, column by column, as the network sees X (a sparse X is
    never shifted); a new matrix of X's dtype."""
    if sp.issparse(X):
        return sp.csr_matrix(X.multiply((1.0 / scale).astype(X.dtype)))
    return ((X - shift) / scale).astype(X.dtype, copy=False)


def _input_blocks(params, sizes):
    """The weights that read the network's input, each with the biases of the units they
    feed: ``[(coefs_[0], intercepts_[0])]``, and the direct path's with the output layer's
    (views into ``params``)."""
    coefs, intercepts = unpack(params, sizes)
    direct = direct_block(params, sizes)
    return [(coefs[0], intercepts[0])] + ([] if direct is None else [(direct, intercepts[-1])])


def _input_weights_to_network(params, sizes, shift, scale, src=None):
    """Rewrite, in place, the first layer's (and the direct path's) weights of the raw
    inputs ``x`` as those of the inputs the network sees, ``(x - shift) / scale``, the
    biases taking up the shift: the same function of ``x``. Only the rows of inputs
    with a shift or a scale are visited (on MNIST, about 5% of them), or, where most
    inputs have a scale, the whole block in one pass (a row times 1 is itself).

    With ``src`` (a parameter vector of the same network, in the raw inputs'
    coordinates, not ``params``), ``params`` becomes ``src`` rewritten so, in the same
    passes: the copy of a ``partial_fit`` call and the rewriting read the weights once."""
    scaled, shifted = np.flatnonzero(scale != 1.0), np.flatnonzero(shift)
    whole = 2 * scaled.size > scale.size
    blocks = _input_blocks(params, sizes)
    if src is not None:
        # the parameters outside the input weights: between the first layer's weights and
        # the direct path's (or the end)
        start = sizes[0] * sizes[1]
        stop = params.shape[0] - sum(W.size for W, _ in blocks[1:])
        params[start:stop] = src[start:stop]
        src_blocks = _input_blocks(src, sizes)
    for k, (W, b) in enumerate(blocks):
        W_raw = W if src is None else src_blocks[k][0]
        if shifted.size:
            b += shift[shifted] @ W_raw[shifted]
        if whole:
            np.multiply(W_raw, scale[:, None], out=W)
            continue
        if src is not None:
            W[...] = W_raw
        if scaled.size:
            W[scaled] *= scale[scaled, None]


def _input_weights_to_raw(params, sizes, shift, scale):
    """The inverse of :func:`_input_weights_to_network`."""
    scaled, shifted = np.flatnonzero(scale != 1.0), np.flatnonzero(shift)
    whole = 2 * scaled.size > scale.size
    for W, b in _input_blocks(params, sizes):
        if whole:
            W /= scale[:, None]
        elif scaled.size:
            W[scaled] /= scale[scaled, None]
        if shifted.size:
            b -= shift[shifted] @ W[shifted]


def _canonical_csr(X):
    """X as a CSR matrix with in-range, sorted, unique indices (the kernel needs them).

    A ValueError for a malformed matrix (indices out of range); duplicate entries are
    summed in a copy, as every other sparse operation reads them.
    """
    X = sp.csr_matrix(X)  # a new object: checking it never changes the caller's matrix
    try:
        X.check_format(full_check=True)
    except ValueError as exc:
        raise ValueError(f"X is a malformed sparse matrix: {exc}.") from exc
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _some_rows(X, limit):
    """X, or ``limit`` of its rows spread evenly over it if it has more."""
    if X.shape[0] <= limit:
        return X
    return X[np.linspace(0, X.shape[0] - 1, limit).astype(np.int64)]


def _warn_if_units_saturated(model, X, activation):
    """Warn if most hidden units of the fitted network are stuck for 95% or more of the
    training examples: a sigmoid or tanh unit in its flat tails, a relu unit at zero. Such a
    unit passes no gradient: the network has lost its hidden layer. Checked on (at most
    1,000 of) the training examples: a share of 95% is told from 1,000 within about 1%, and
    the check's forward pass is part of every fit's time."""
    n_hidden = len(model.sizes) - 2
    if n_hidden < 1:
        return
    activation = ACTIVATION_ALIASES.get(activation, activation)
    coefs, intercepts = unpack(model.params, model.sizes)
    stuck, total = 0, 0
    with np.errstate(all="ignore"):
        for a in hidden_activations(_some_rows(X, 1_000), coefs, intercepts, activation):
            if activation == "relu":
                flat = a == 0.0
            elif activation == "sigmoid":
                flat = np.abs(a - 0.5) > _SATURATED / 2
            else:
                flat = np.abs(a) > _SATURATED
            stuck += int(np.count_nonzero(flat.mean(axis=0) >= _STUCK_EXAMPLES))
            total += a.shape[1]
    if stuck >= _STUCK_UNITS * total:
        what = "at zero (dead)" if activation == "relu" else "saturated"
        warnings.warn(
            f"{stuck} of the network's {total} hidden units are {what} for nearly every "
            "training example, so the hidden layers pass almost no gradient and the network "
            "learns like a linear model at best. Try a smaller learning_rate_init, scaled "
            "features (input_scaling='auto' or StandardScaler) or another activation.",
            ConvergenceWarning,
            stacklevel=4,
        )


def _warn_if_nothing_learned(model, X, y_idx, Y, sw, activation, curve):
    """Warn if the fitted model predicts the training data no better than the training
    data's (weighted) class frequencies (for a multilabel ``Y``, each label's frequency):
    its loss on them, as the mean weighted cross-entropy, is not below theirs.

    The epochs' losses (``curve``, each example's before its update) screen for it at no
    cost: a model whose best epoch beat the frequencies learned something. Otherwise
    (a one-pass fit counts the loss of its first, ignorant examples too) the fitted
    model's loss on (at most 10,000 of) the training examples decides.
    """
    if not curve:
        return
    total = sw.sum()
    with np.errstate(all="ignore"):
        if Y is None:
            freq = np.bincount(y_idx, weights=sw, minlength=len(model.classes)) / total
            prior = float(-(sw * np.log(freq[y_idx])).sum() / y_idx.shape[0])
        else:
            T = Y[y_idx].astype(np.float64)
            q = sw @ T / total
            per_label = np.where(T > 0, np.log(q), np.log1p(-q))  # (log 0 only where unused)
            prior = float(-(sw * per_label.sum(axis=1)).sum() / y_idx.shape[0])
    if not prior > 0 or min(curve) < _NOTHING_LEARNED * prior:
        return
    rows = _some_rows(np.arange(X.shape[0]), 10_000)
    coefs, intercepts = unpack(model.params, model.sizes)
    # (all: the caller's error state may make even an underflow raise, as scikit-learn's
    # estimator checks do)
    with np.errstate(all="ignore"):
        z = forward(X[rows], coefs, intercepts, activation,
                    direct_block(model.params, model.sizes)).astype(np.float64)
        if Y is None:
            per_example = -log_softmax(z, axis=1)[np.arange(z.shape[0]), y_idx[rows]]
        else:
            T = Y[y_idx[rows]].astype(np.float64)
            per_example = (np.logaddexp(0.0, z) - T * z).sum(axis=1)
        w = sw[rows]
        loss = float((w * per_example).sum() / w.sum() * total / y_idx.shape[0])
    if not np.isfinite(loss) or loss >= _NOTHING_LEARNED * prior:
        warnings.warn(
            f"The model learned nothing beyond the class frequencies: its loss on the "
            f"training data ({loss:.4g}) is not below that of always predicting the "
            f"frequencies ({prior:.4g}), so its predictions are close to a majority-class "
            "guess. Try a larger learning_rate_init, more epochs (max_iter, or tol=None), "
            "input_scaling='auto' or scaled features, or another rule (rule='adam').",
            ConvergenceWarning,
            stacklevel=4,
        )


def _check_classification_targets(y):
    """scikit-learn's ``check_classification_targets``, without its inference of the
    target type (about a third of a millisecond, several times the kernel's work on one
    example) where the answer is known: a 1-D array of integers or booleans
    holds discrete classes ("binary" or "multiclass")."""
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biu":
        return
    check_classification_targets(y)


def _indicator_matrix(y):
    """The target as the kernel takes a multilabel one: None for a 1-D y (class labels);
    for a 2-D y (dense or sparse) that is a multilabel indicator matrix, its labels as a
    C-contiguous uint8 matrix of 0 and 1; any other 2-D y is a ValueError naming its
    type, as scikit-learn's ``type_of_target`` calls it."""
    if y.ndim == 1:
        return None
    y_type = type_of_target(y, input_name="y")
    if y_type == "multilabel-indicator":
        Y = y.toarray() if sp.issparse(y) else np.asarray(y)
        return np.ascontiguousarray(Y != 0, dtype=np.uint8)
    if y_type == "multiclass-multioutput":
        raise ValueError(
            "Multiclass-multioutput targets are not supported: y is 2-D with values other "
            "than 0 and 1 (type_of_target(y) is 'multiclass-multioutput'). A 2-D y must "
            "be a multilabel indicator matrix (one column per label, of 0 and 1); for "
            "several multiclass outputs, wrap the estimator in "
            "sklearn.multioutput.MultiOutputClassifier."
        )
    check_classification_targets(y)  # "Unknown label type: ..." for a continuous y
    raise ValueError(f"Unknown label type: {y_type!r}; a 2-D y must be a multilabel "
                     "indicator matrix (one column per label, of 0 and 1).")


def _check_n_classes(classes):
    if classes.shape[0] < 2:
        raise ValueError(
            f"The number of classes has to be greater than one; got {classes.shape[0]} class"
        )


@contextmanager
def _keep_state_on_error(est):
    """Restore the estimator's attributes if the block raises (no half-fitted state)."""
    saved = dict(est.__dict__)
    try:
        yield
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        raise


class _ClassesProbe:
    """Stand-in that lets sklearn's partial-fit class check run without side effects."""

    def __init__(self, classes):
        if classes is not None:
            self.classes_ = classes


def _early_stopping_forced(est):
    """Whether ``est.early_stopping`` is true (not ``"auto"``): every ``fit`` holds out a
    validation set and stops on its accuracy."""
    return not isinstance(est.early_stopping, str) and bool(est.early_stopping)


def _accuracy_and_brier(params, sizes, X, y_idx, sw, activation):
    """Accuracy and Brier score of the softmax network of layer ``sizes`` with the weights
    ``params`` on (X, y_idx), from one forward pass: the Brier score is the weighted mean
    over the examples of the squared distance between the predicted probabilities and the
    one-hot label (0 is perfect, 2 the worst)."""
    coefs, intercepts = unpack(params, sizes)
    z = forward(X, coefs, intercepts, activation, direct_block(params, sizes))
    hit = np.argmax(z, axis=1) == y_idx
    p = softmax(z, axis=1)
    p[np.arange(p.shape[0]), y_idx] -= 1.0
    return (float(np.average(hit, weights=sw)),
            float(np.average(np.einsum("ij,ij->i", p, p), weights=sw)))


def _score(params, sizes, X, y_idx, sw, activation, Y=None):
    """Accuracy of the network of layer ``sizes`` with the weights ``params`` on
    (X, y_idx) as ``score`` computes it: for a multilabel ``Y`` (whose rows ``y_idx``
    are), the subset accuracy."""
    coefs, intercepts = unpack(params, sizes)
    z = forward(X, coefs, intercepts, activation, direct_block(params, sizes))
    if Y is None:
        hit = np.argmax(z, axis=1) == y_idx
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            hit = np.all((expit(z) > 0.5) == Y[y_idx].astype(bool), axis=1)
    return float(np.average(hit, weights=sw))
