"""The update rules, one array element at a time.

This module holds the *rule*: what one adaptable element (a weight, or a group of
weights) does with its gradient. The training loop that calls these functions
lives in :mod:`skadapt._kernel`; the estimator that drives it lives in
:mod:`skadapt._classifier`.

Every function here is Numba-jitted, takes only arrays and scalars, and works in
place on the state arrays it is given. The integer and float configuration of a
run travels as two small arrays, ``icfg`` and ``fcfg``, whose slots are named by
the constants below (built on the Python side by
:func:`skadapt._config.make_config`).

The brain-inspired rule ("dendritic") and the classic sign-coherence rules
(delta-bar-delta, iRprop-) are all members of one *adaptive gain* family: each
element k keeps a gain ``gain_k`` (its step size in units of the base step
``eta0``), the sign or a trace of its previous gradient, and the time of its last
event. See ``doc/user_guide.md`` for the equations.
"""

import math

from numba import njit

# ---------------------------------------------------------------- rule codes
RULE_SGD = 0
RULE_MOMENTUM = 1
RULE_NESTEROV = 2
RULE_ADAM = 3
RULE_GAIN = 4  # dendritic, delta_bar_delta, rprop

SCOPE_SYNAPSE = 0
SCOPE_DENDRITE = 1
SCOPE_UNIT = 2

GROWTH_ADDITIVE = 0
GROWTH_MULTIPLICATIVE = 1

FALLBACK_RESET = 0
FALLBACK_SHRINK = 1

COHERENCE_SIGN = 0
COHERENCE_TRACE = 1

BASE_GRADIENT = 0
BASE_RMS = 1
BASE_SIGN = 2

ACT_SIGMOID = 0
ACT_RELU = 1
ACT_TANH = 2

# ---------------------------------------------------------- icfg / fcfg slots
I_RULE = 0
I_SCOPE = 1
I_N_DENDRITES = 2
I_GROWTH = 3
I_FALLBACK = 4
I_COHERENCE = 5
I_BASE = 6
I_SKIP_INCOHERENT = 7  # iRprop-: no weight step, and forget the sign, on a sign change
I_SPARSE_EVENTS = 8  # a zero data gradient is no event (exact skipping of zero inputs)
I_ACTIVATION = 9
N_ICFG = 10

F_ETA0 = 0
F_ALPHA = 1
F_MOMENTUM = 2
F_BETA1 = 3
F_BETA2 = 4
F_EPS = 5
F_GAIN_UP = 6
F_GAIN_DOWN = 7
F_GAIN_MIN = 8
F_GAIN_MAX = 9
F_TRACE_DECAY = 10
F_RELAX_TIME = 11  # <= 0: no relaxation in time
N_FCFG = 12


# The per-element functions take and return scalars only: Numba then inlines them
# into the kernel's loops at no cost (array arguments would be reference-counted
# on every call, which costs more than the arithmetic).


@njit(cache=True)
def relaxed_gain(gain, dt, relax_time):
    """Gain relaxed toward 1 after ``dt`` examples without an event."""
    if relax_time <= 0.0 or dt <= 0:
        return gain
    return 1.0 + (gain - 1.0) * math.exp(-dt / relax_time)


@njit(cache=True)
def gain_event(gain, prev, dt, signal, growth, fallback, coherence, skip_incoherent,
               gain_up, gain_down, gain_min, gain_max, trace_decay, relax_time):
    """One learning event of an element (or group) of the adaptive-gain family.

    Relaxes ``gain`` for the ``dt`` examples since the element's last event,
    compares the sign of ``signal`` (non-zero) with ``prev`` (the previous sign,
    or a trace of past signals), grows or falls back, clips to
    ``[gain_min, gain_max]`` and updates ``prev``.

    Returns ``(step_gain, gain, prev)``: the gain to step with (0.0 when the step
    is skipped, as iRprop- does after a sign change), and the new state.
    """
    gain = relaxed_gain(gain, dt, relax_time)
    c = signal * prev
    skipped = False
    if c > 0.0:
        if growth == GROWTH_ADDITIVE:
            gain = gain + gain_up
        else:
            gain = gain * gain_up
    elif c < 0.0:
        if fallback == FALLBACK_RESET:
            gain = 1.0
        else:
            gain = gain * gain_down
        skipped = skip_incoherent != 0
    if gain < gain_min:
        gain = gain_min
    elif gain > gain_max:
        gain = gain_max
    if coherence == COHERENCE_SIGN:
        if skipped:
            prev = 0.0
        elif signal > 0.0:
            prev = 1.0
        else:
            prev = -1.0
    else:
        prev = trace_decay * prev + (1.0 - trace_decay) * signal
    if skipped:
        return 0.0, gain, prev
    return gain, gain, prev


@njit(cache=True)
def base_direction(g, v, base, beta2, eps, weight):
    """The base step direction for gradient ``g`` (adaptive-gain rules).

    ``gradient``: g itself; ``rms``: g over the root of a running mean ``v`` of
    g**2, updated on events only and started at g**2 (no carry-over, no bias
    correction needed); ``sign``: the sign of g (Rprop) times ``weight``, the
    batch's mean sample weight relative to the data's (a sign carries no
    magnitude, so sample and class weights act through this factor).

    Returns ``(direction, v)``.
    """
    if base == BASE_GRADIENT:
        return g, v
    if base == BASE_SIGN:
        if g > 0.0:
            return weight, v
        if g < 0.0:
            return -weight, v
        return 0.0, v
    if v == 0.0:
        v = g * g
    else:
        v = beta2 * v + (1.0 - beta2) * g * g
    return g / (math.sqrt(v) + eps), v


@njit(cache=True)
def baseline_step(w, s0, s1, g, rule, eta0, mu, beta1, beta2, eps, adam_lr):
    """One step of a non-gain baseline on weight ``w`` with state ``(s0, s1)``.

    sgd: ``w - eta0 g``; momentum and nesterov (scikit-learn's form): ``s0`` is
    the velocity; adam: ``s0, s1`` are the first and second moments and
    ``adam_lr`` the bias-corrected step of the current update.

    Returns ``(w, s0, s1)``.
    """
    if rule == RULE_SGD:
        return w - eta0 * g, s0, s1
    if rule == RULE_MOMENTUM:
        s0 = mu * s0 - eta0 * g
        return w + s0, s0, s1
    if rule == RULE_NESTEROV:
        s0 = mu * s0 - eta0 * g
        return w + mu * s0 - eta0 * g, s0, s1
    s0 = beta1 * s0 + (1.0 - beta1) * g
    s1 = beta2 * s1 + (1.0 - beta2) * g * g
    return w - adam_lr * s0 / (math.sqrt(s1) + eps), s0, s1
