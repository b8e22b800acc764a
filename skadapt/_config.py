"""From estimator parameters to the kernel's configuration arrays."""

import math

import numpy as np

from . import _rules as R

RULES = ("dendritic", "sgd", "momentum", "nesterov", "adam", "delta_bar_delta", "rprop")
BASELINE_RULES = ("sgd", "momentum", "nesterov", "adam")
GAIN_RULES = ("dendritic", "delta_bar_delta", "rprop")

# Which rule reads which of the rule-specific parameters: the one place that knows it.
# A parameter a rule does not read is accepted and ignored (it must pass its own
# constraint in ``_parameter_constraints``, but is never checked against another
# parameter, and changing it changes nothing: tests/test_rule_parameters.py). The
# parameters outside this table (the network, ``learning_rate_init``, ``alpha``,
# ``batch_size``, the stopping and data options) are read by every rule. Within
# ``rule="dendritic"`` some are read only in some configurations (``n_dendrites`` with
# ``scope="dendrite"``, ``gain_down`` with ``fallback="shrink"``, ``trace_decay`` with
# ``coherence="trace"``, ``beta_2`` and ``epsilon`` with ``base="rms"`` or
# ``"adagrad"``), as each one's docstring says.
_GAIN_BOUNDS = frozenset({"min_gain", "max_gain"})
RULE_PARAMETERS = {
    "dendritic": frozenset({
        "scope", "n_dendrites", "growth", "gain_up", "fallback", "gain_down", "coherence",
        "trace_decay", "relax_time", "base", "beta_2", "epsilon",
    }) | _GAIN_BOUNDS,
    "sgd": frozenset(),
    "momentum": frozenset({"momentum"}),
    "nesterov": frozenset({"momentum"}),
    "adam": frozenset({"beta_1", "beta_2", "epsilon"}),
    "delta_bar_delta": frozenset({"dbd_kappa", "dbd_phi", "dbd_theta"}) | _GAIN_BOUNDS,
    "rprop": frozenset({"rprop_increase", "rprop_decrease"}) | _GAIN_BOUNDS,
}
RULE_SPECIFIC_PARAMETERS = frozenset().union(*RULE_PARAMETERS.values())


def rules_reading(param):
    """The rules that read the rule-specific parameter ``param``, in ``RULES`` order."""
    return tuple(rule for rule in RULES if param in RULE_PARAMETERS[rule])

_BASELINE_CODE = {
    "sgd": R.RULE_SGD,
    "momentum": R.RULE_MOMENTUM,
    "nesterov": R.RULE_NESTEROV,
    "adam": R.RULE_ADAM,
}
_SCOPE = {"synapse": R.SCOPE_SYNAPSE, "dendrite": R.SCOPE_DENDRITE, "unit": R.SCOPE_UNIT}
_GROWTH = {"additive": R.GROWTH_ADDITIVE, "multiplicative": R.GROWTH_MULTIPLICATIVE}
_FALLBACK = {"reset": R.FALLBACK_RESET, "shrink": R.FALLBACK_SHRINK}
_COHERENCE = {"sign": R.COHERENCE_SIGN, "trace": R.COHERENCE_TRACE}
# "adagrad" is the RMS base with a leaky running sum of the squares instead of their mean
_BASE = {"gradient": R.BASE_GRADIENT, "rms": R.BASE_RMS, "adagrad": R.BASE_RMS,
         "sign": R.BASE_SIGN}
_ACTIVATION = {"sigmoid": R.ACT_SIGMOID, "logistic": R.ACT_SIGMOID, "relu": R.ACT_RELU,
               "tanh": R.ACT_TANH}
# the rules whose own regime is one update per epoch (batch_size=None): iRprop-'s sign
# steps need the gradient of all the examples (online, it learns poorly)
FULL_BATCH_RULES = ("rprop",)


def effective_scope(est):
    """The scope the rule runs at: only ``rule="dendritic"`` has groups."""
    return est.scope if est.rule == "dendritic" else "synapse"


def group_layout(sizes, scope, n_dendrites, direct_path=False):
    """Offsets of each block's groups (the layers', then the direct path's) and the
    total number of groups.

    Synapse scope has one group per parameter (the group index is the
    parameter index); dendrite scope has ``min(n_dendrites, n_in) + 1`` groups
    per unit (the input blocks plus the bias); unit scope one per unit. The direct
    path's groups are laid out as a layer's from the input to the output units, its
    units' bias groups (the dendrite scope's) driven by the output units' deltas but
    stepping no parameter: the path has no biases.
    """
    n_layers = len(sizes) - 1
    blocks = [(sizes[l], sizes[l + 1], True) for l in range(n_layers)]
    if direct_path:
        blocks.append((sizes[0], sizes[-1], False))
    g_off = np.zeros(len(blocks), np.int64)
    pos = 0
    for b, (n_in, n_out, has_bias) in enumerate(blocks):
        g_off[b] = pos
        if scope == "synapse":
            pos += n_in * n_out + (n_out if has_bias else 0)
        elif scope == "dendrite":
            pos += n_out * (min(n_dendrites, n_in) + 1)
        else:
            pos += n_out
    return g_off, pos


def check_rule_parameters(est):
    """Cross-parameter checks that ``_parameter_constraints`` cannot express, made only
    for a rule that reads the parameters involved (``RULE_PARAMETERS``)."""
    reads = RULE_PARAMETERS[est.rule]
    if {"growth", "gain_up"} <= reads and est.growth == "multiplicative" and est.gain_up < 1.0:
        raise ValueError(
            "gain_up must be >= 1 when growth='multiplicative' "
            f"(it is the factor a coherent step multiplies the gain by); got {est.gain_up}."
        )
    if _GAIN_BOUNDS <= reads and (est.min_gain > 1.0 or est.max_gain < 1.0):
        raise ValueError(
            "min_gain <= 1 <= max_gain is required (the gain starts at 1); got "
            f"min_gain={est.min_gain}, max_gain={est.max_gain}."
        )


def batch_size(est, n_samples):
    """The examples per update of ``est.batch_size`` for a call that trains on
    ``n_samples`` examples, and whether an int larger than that was clipped.

    None: the rule's own regime, full batch for ``FULL_BATCH_RULES`` and online (1) for
    the others; ``"auto"``: ``min(200, n_samples)``, as in MLPClassifier.
    """
    if est.batch_size is None:
        return (n_samples if est.rule in FULL_BATCH_RULES else 1), False
    if est.batch_size == "auto":
        return min(200, n_samples), False
    return min(est.batch_size, n_samples), est.batch_size > n_samples


def base_step(est):
    """The step ``eta0`` the rule multiplies its direction by: ``learning_rate_init``, or
    for ``base="adagrad"`` that over ``sqrt(1 - beta_2)``, so that the leaky sum's step
    settles (once ``1 / (1 - beta_2)`` events have added up) where the RMS base's step
    with the same ``learning_rate_init`` is, and starts ``1 / sqrt(1 - beta_2)`` times
    larger (AdaGrad's first steps)."""
    if est.rule == "dendritic" and est.base == "adagrad":
        return est.learning_rate_init / math.sqrt(1.0 - est.beta_2)
    return est.learning_rate_init


def make_config(est, multilabel=False):
    """Integer and float configuration arrays for the kernel; ``multilabel``: sigmoid
    outputs with a binary cross-entropy per label (a 2-D indicator ``y``) instead of
    the softmax."""
    icfg = np.zeros(R.N_ICFG, np.int64)
    fcfg = np.zeros(R.N_FCFG, np.float64)
    rule = est.rule
    icfg[R.I_MULTILABEL] = int(multilabel)
    icfg[R.I_ACTIVATION] = _ACTIVATION[est.activation]
    icfg[R.I_SCOPE] = _SCOPE[effective_scope(est)]
    icfg[R.I_N_DENDRITES] = est.n_dendrites
    fcfg[R.F_ETA0] = base_step(est)
    fcfg[R.F_ALPHA] = est.alpha
    fcfg[R.F_MOMENTUM] = est.momentum
    fcfg[R.F_BETA1] = est.beta_1
    fcfg[R.F_BETA2] = est.beta_2
    fcfg[R.F_V_REST] = 1.0 - est.beta_2
    fcfg[R.F_EPS] = est.epsilon
    fcfg[R.F_GAIN_MIN] = est.min_gain
    fcfg[R.F_GAIN_MAX] = est.max_gain
    if rule in BASELINE_RULES:
        icfg[R.I_RULE] = _BASELINE_CODE[rule]
        # plain SGD without L2 leaves a weight with a zero gradient exactly where it is
        icfg[R.I_SPARSE_EVENTS] = int(rule == "sgd" and est.alpha == 0)
        return icfg, fcfg
    icfg[R.I_RULE] = R.RULE_GAIN
    icfg[R.I_SPARSE_EVENTS] = 1
    if rule == "dendritic":
        icfg[R.I_GROWTH] = _GROWTH[est.growth]
        icfg[R.I_FALLBACK] = _FALLBACK[est.fallback]
        icfg[R.I_COHERENCE] = _COHERENCE[est.coherence]
        icfg[R.I_BASE] = _BASE[est.base]
        fcfg[R.F_GAIN_UP] = est.gain_up
        fcfg[R.F_GAIN_DOWN] = est.gain_down
        fcfg[R.F_TRACE_DECAY] = est.trace_decay
        fcfg[R.F_RELAX_TIME] = 0.0 if est.relax_time is None else est.relax_time
        if est.base == "adagrad":  # v = beta_2 v + g**2: AdaGrad's sum, leaking with beta_2
            fcfg[R.F_V_REST] = 1.0
    elif rule == "delta_bar_delta":
        # Jacobs (1988): additive increase kappa, multiplicative decrease (1 - phi),
        # coherence against an exponential trace with decay theta.
        icfg[R.I_GROWTH] = R.GROWTH_ADDITIVE
        icfg[R.I_FALLBACK] = R.FALLBACK_SHRINK
        icfg[R.I_COHERENCE] = R.COHERENCE_TRACE
        icfg[R.I_BASE] = R.BASE_GRADIENT
        fcfg[R.F_GAIN_UP] = est.dbd_kappa
        fcfg[R.F_GAIN_DOWN] = 1.0 - est.dbd_phi
        fcfg[R.F_TRACE_DECAY] = est.dbd_theta
    else:  # rprop: iRprop- (Igel and Huesken 2000), full batch by default (batch_size)
        icfg[R.I_GROWTH] = R.GROWTH_MULTIPLICATIVE
        icfg[R.I_FALLBACK] = R.FALLBACK_SHRINK
        icfg[R.I_COHERENCE] = R.COHERENCE_SIGN
        icfg[R.I_BASE] = R.BASE_SIGN
        icfg[R.I_SKIP_INCOHERENT] = 1
        fcfg[R.F_GAIN_UP] = est.rprop_increase
        fcfg[R.F_GAIN_DOWN] = est.rprop_decrease
    return icfg, fcfg
