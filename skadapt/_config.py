"""The rule table, and from estimator parameters to the kernel's configuration arrays."""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _rules as R

# The optimiser state a rule may write, by name: ``(array, row)`` of the state arrays the
# kernel takes (``row`` None: the array is one row). ``skadapt._learner`` gives these
# names to the rows; tests/_reference.py's learner has an attribute of each name.
STATE_ROWS = {
    "m": ("pstate", 0),  # per parameter: a velocity or a first moment
    "v": ("pstate", 1),  # per parameter: a second moment, a running mean or sum of g**2
    "gain": ("gstate", 0),  # per group: the gain (starts at 1)
    "prev": ("gstate", 1),  # per group: the previous sign, or a trace of the signals
    "last": ("glast", None),  # per group: the clock of the relaxation in time
}

# Whether a zero gradient is an event (changes the weight or its state): where it is
# not, the kernel skips zero inputs' rows exactly (``icfg[I_SPARSE_EVENTS]``).
EVENTS_ALL = "every gradient"  # zero gradients are events (moments decay)
EVENTS_NONZERO = "non-zero gradients"  # a zero gradient changes nothing
EVENTS_NONZERO_WITHOUT_L2 = "non-zero gradients without L2"  # (alpha=0: as NONZERO)


class Rule(NamedTuple):
    """One row of the rule table: everything outside its arithmetic that a rule is.

    Attributes
    ----------
    name : str
        The value of the estimator's ``rule``.
    code : int
        The kernel's code of its arithmetic (``skadapt._rules.RULE_*``; the
        adaptive-gain family shares ``RULE_GAIN`` and differs in its settings).
    params : frozenset of str
        The rule-specific parameters it reads (the others it ignores).
    state : tuple of str
        The rows of the optimiser state it writes (names of ``STATE_ROWS``; ``"last"``
        only while the relaxation in time is on).
    events : str
        Whether zero gradients are events (``EVENTS_*``).
    step_size : int
        What ``step_sizes_`` reports (``skadapt._rules.STEP_*``).
    configure : callable or None
        ``configure(est, icfg, fcfg)`` writes the rule's own settings into the
        configuration arrays, beyond the slots every rule gets.
    full_batch : bool
        Whether its own regime (``batch_size=None``) is one update per epoch.
    wide_batch : int
        Its own regime's examples per update in ``fit`` on inputs of ``WIDE_INPUT``
        features or more (0: online there too).
    """

    name: str
    code: int
    params: frozenset
    state: tuple
    events: str
    step_size: int
    configure: Callable | None = None
    full_batch: bool = False
    wide_batch: int = 0


def rules_reading(param):
    """The rules that read the rule-specific parameter ``param``, in ``RULES`` order."""
    return tuple(rule for rule in RULES if param in RULE_PARAMETERS[rule])


def clock_on(est):
    """Whether the elements' clocks (time of the last event) run: only while the
    relaxation in time is on (a rule that reads ``relax_time``, with a value), the only
    reader of those clocks."""
    return "relax_time" in RULE_PARAMETERS[est.rule] and est.relax_time is not None


def state_written(est):
    """The names of the optimiser state rows (``STATE_ROWS``) that training in ``est``'s
    configuration writes."""
    state = RULE_TABLE[est.rule].state
    return tuple(name for name in state if name != "last" or clock_on(est))


def arrays_not_written(est):
    """The optimiser state arrays (``pstate``, ``gstate``, ``glast``) that training in
    ``est``'s configuration never writes."""
    written = {STATE_ROWS[name][0] for name in state_written(est)}
    return tuple(a for a in ("pstate", "gstate", "glast") if a not in written)


_SCOPE = {"synapse": R.SCOPE_SYNAPSE, "dendrite": R.SCOPE_DENDRITE, "unit": R.SCOPE_UNIT}
_GROWTH = {"additive": R.GROWTH_ADDITIVE, "multiplicative": R.GROWTH_MULTIPLICATIVE}
_FALLBACK = {"reset": R.FALLBACK_RESET, "shrink": R.FALLBACK_SHRINK}
_COHERENCE = {"sign": R.COHERENCE_SIGN, "trace": R.COHERENCE_TRACE}
# "adagrad" is the RMS base with a leaky running sum of the squares instead of their mean
_BASE = {"gradient": R.BASE_GRADIENT, "rms": R.BASE_RMS, "adagrad": R.BASE_RMS,
         "sign": R.BASE_SIGN}
_ACTIVATION = {"sigmoid": R.ACT_SIGMOID, "logistic": R.ACT_SIGMOID, "relu": R.ACT_RELU,
               "tanh": R.ACT_TANH}


def effective_scope(est):
    """The scope the rule runs at: only a rule that reads ``scope`` has groups."""
    return est.scope if "scope" in RULE_PARAMETERS[est.rule] else "synapse"


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


def batch_size(est, n_samples, n_features, incremental):
    """The examples per update of ``est.batch_size`` for a call that trains on
    ``n_samples`` examples of ``n_features`` inputs (``incremental``: a ``partial_fit``),
    and whether an int larger than that was clipped.

    None: the rule's own regime (the rule table's): full batch for a ``full_batch`` rule,
    else online (1), but in ``fit`` on wide inputs (at least ``WIDE_INPUT`` features)
    mini-batches of the rule's ``wide_batch`` where it has one (the dendritic rule:
    doc/breadth.md, as accurate as online learning or more on the development suite's
    wide sets, in about a third of the time); ``"auto"``: ``min(200, n_samples)``, as in
    MLPClassifier.
    """
    if est.batch_size is None:
        rule = RULE_TABLE[est.rule]
        if rule.full_batch:
            return n_samples, False
        if rule.wide_batch and not incremental and n_features >= WIDE_INPUT:
            return min(rule.wide_batch, n_samples), False
        return 1, False
    if est.batch_size == "auto":
        return min(200, n_samples), False
    return min(est.batch_size, n_samples), est.batch_size > n_samples


def epoch_average(est, batch_size, incremental):
    """Whether a call that learns in batches of ``batch_size`` predicts with the running
    average of its epochs' weights (``est.epoch_average``): ``"auto"`` averages a ``fit``
    that learns online (batch size 1); ``partial_fit`` (``incremental``, one epoch) never
    averages."""
    if incremental:
        return False
    if est.epoch_average == "auto":
        return batch_size == 1
    return bool(est.epoch_average)


def epoch_decay(est, batch_size, average):
    """The exponent of the step's decay over fit's epochs (``est.epoch_decay``) for a
    call that learns in batches of ``batch_size``, averaging its epochs or not
    (``average``): ``"auto"`` is 0.5 online (batch size 1) without epoch averaging, 0 (a
    constant step) otherwise."""
    if est.epoch_decay == "auto":
        return 0.5 if batch_size == 1 and not average else 0.0
    return est.epoch_decay


def auto_tol_share(average):
    """``tol="auto"``: the share of the first epoch's training loss an epoch must gain,
    with epoch averaging (``average``) or without."""
    return AUTO_TOL_SHARE_AVERAGED if average else AUTO_TOL_SHARE


# tol="auto": the share of the first epoch's training loss an epoch must gain. With epoch
# averaging the step stays constant, so the loss (of the weights as they learn) goes on
# falling longer, mostly by fitting noise, which the average does not need: a larger share
# stops it as early as the decayed step did, or earlier (doc/breadth.md, run 10)
AUTO_TOL_SHARE = 4e-3
AUTO_TOL_SHARE_AVERAGED = 1e-2
# epoch_average: the running average's rate, EPOCH_AVERAGE_RATE / k at epoch k (the
# weights of epoch j count about as j ** 3: those of the last half of the epochs mostly)
EPOCH_AVERAGE_RATE = 4.0


def update_epoch_average(average, params, k):
    """The running average of the weights at the end of epochs 1..k of a ``fit`` call,
    given ``average`` that of epochs 1..k-1 (None for k = 1), updated in place where it
    can be: the first ``EPOCH_AVERAGE_RATE`` epochs' weights replace it, epoch ``k``'s
    enters with weight ``EPOCH_AVERAGE_RATE / k``."""
    if average is None or k <= EPOCH_AVERAGE_RATE:
        return params.copy()
    average += (params - average) * (EPOCH_AVERAGE_RATE / k)
    return average


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
    spec = RULE_TABLE[rule]
    icfg[R.I_RULE] = spec.code
    # a zero gradient that is no event lets the kernel skip zero inputs exactly (plain SGD
    # without L2 leaves a weight with a zero gradient exactly where it is)
    icfg[R.I_SPARSE_EVENTS] = int(spec.events == EVENTS_NONZERO or (
        spec.events == EVENTS_NONZERO_WITHOUT_L2 and est.alpha == 0))
    icfg[R.I_STEP_SIZE] = spec.step_size
    arrays = {STATE_ROWS[name][0] for name in spec.state}
    icfg[R.I_WRITES] = (R.WRITES_PSTATE * ("pstate" in arrays)
                        + R.WRITES_GSTATE * ("gstate" in arrays))
    if spec.configure is not None:
        spec.configure(est, icfg, fcfg)
    return icfg, fcfg


def _gain_family(est, icfg, fcfg):
    """The adaptive-gain rules' settings (``RULE_GAIN``)."""
    rule = est.rule
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


# The gain family writes every row of its state: its loop stores the running mean ``v``
# whatever the base (unchanged where the base does not read it).
_GAIN_STATE = ("v", "gain", "prev", "last")
_GAIN_BOUNDS = frozenset({"min_gain", "max_gain"})

# batch_size=None for the dendritic rule's fit (its ``wide_batch``): inputs this wide
# (features) learn in mini-batches of WIDE_BATCH examples. Chosen on the development suite
# (doc/breadth.md): with 60 and 400 features mini-batches of 16-64 were as accurate as
# online learning or more (32 the best), with 40 and fewer online learning was the more
# accurate.
WIDE_INPUT = 50
WIDE_BATCH = 32

# The rule table: the one place that names a rule. Which rule reads which rule-specific
# parameter: a parameter a rule does not read is accepted and ignored (it must pass its
# own constraint in ``_parameter_constraints``, but is never checked against another
# parameter, and changing it changes nothing: tests/test_rule_parameters.py). The
# parameters outside ``params`` (the network, ``learning_rate_init``, ``alpha``,
# ``batch_size``, the stopping and data options) are read by every rule. Within
# ``rule="dendritic"`` some are read only in some configurations (``n_dendrites`` with
# ``scope="dendrite"``, ``gain_down`` with ``fallback="shrink"``, ``trace_decay`` with
# ``coherence="trace"``, ``beta_2`` and ``epsilon`` with ``base="rms"`` or ``"adagrad"``),
# as each one's docstring says. Every rule needs a NumPy reference in tests/_reference.py
# (the tests loop over this table and fail for a rule without one).
RULE_TABLE = {rule.name: rule for rule in (
    Rule("dendritic", R.RULE_GAIN, frozenset({
        "scope", "n_dendrites", "growth", "gain_up", "fallback", "gain_down", "coherence",
        "trace_decay", "relax_time", "base", "beta_2", "epsilon",
    }) | _GAIN_BOUNDS, _GAIN_STATE, EVENTS_NONZERO, R.STEP_GAIN, _gain_family,
         wide_batch=WIDE_BATCH),
    Rule("sgd", R.RULE_SGD, frozenset(), (), EVENTS_NONZERO_WITHOUT_L2, R.STEP_BASE),
    Rule("momentum", R.RULE_MOMENTUM, frozenset({"momentum"}), ("m",), EVENTS_ALL,
         R.STEP_BASE),
    Rule("nesterov", R.RULE_NESTEROV, frozenset({"momentum"}), ("m",), EVENTS_ALL,
         R.STEP_BASE),
    Rule("adam", R.RULE_ADAM, frozenset({"beta_1", "beta_2", "epsilon"}), ("m", "v"),
         EVENTS_ALL, R.STEP_ADAPTIVE),
    Rule("delta_bar_delta", R.RULE_GAIN, frozenset({"dbd_kappa", "dbd_phi", "dbd_theta"})
         | _GAIN_BOUNDS, _GAIN_STATE, EVENTS_NONZERO, R.STEP_GAIN, _gain_family),
    # full batch: iRprop-'s sign steps need the gradient of all the examples (online, it
    # learns poorly)
    Rule("rprop", R.RULE_GAIN, frozenset({"rprop_increase", "rprop_decrease"}) | _GAIN_BOUNDS,
         _GAIN_STATE, EVENTS_NONZERO, R.STEP_GAIN, _gain_family, full_batch=True),
    Rule("adagrad", R.RULE_ADAGRAD, frozenset({"epsilon"}), ("v",),
         EVENTS_NONZERO_WITHOUT_L2, R.STEP_ADAPTIVE),
)}

RULES = tuple(RULE_TABLE)
RULE_PARAMETERS = {rule.name: rule.params for rule in RULE_TABLE.values()}
RULE_SPECIFIC_PARAMETERS = frozenset().union(*RULE_PARAMETERS.values())
