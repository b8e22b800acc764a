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


@njit(cache=True, error_model="numpy")
def relaxed_gain(gain, dt, relax_time):
    """Gain relaxed toward 1 after ``dt`` examples without an event."""
    if relax_time <= 0.0 or dt <= 0:
        return gain
    return 1.0 + (gain - 1.0) * math.exp(-dt / relax_time)


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
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


# ------------------------------------------------------------ row functions
# One contiguous row of weights at a time (all weights of one input, or the
# biases of a layer). ``w``, ``g`` and the state are views of that row; ``g`` is
# the accumulated gradient, which the row function consumes (sets to zero).


@njit(cache=True, error_model="numpy")
def gain_element(gd, w, gain, prev, v, dt, decay, weight, up_mul, up_add, fb_mul, fb_add,
                 trace, theta, skip_inc, base, gmin, gmax, tau, eta0, beta2, eps):
    """One event of one element of the synapse-scope gain family, branch-light.

    ``gd`` is the data gradient (non-zero for a real event), ``decay`` the L2
    coefficient of this row (0 for biases). Growth and fall-back are written as
    ``gain * mul + add`` so that the configuration is loop-invariant data, not
    branches. Returns the new ``(w, gain, prev, v)``.
    """
    gn = relaxed_gain(gain, dt, tau)
    c = gd * prev
    grown = gn * up_mul + up_add
    fell = gn * fb_mul + fb_add
    gn = grown if c > 0.0 else (fell if c < 0.0 else gn)
    gn = min(max(gn, gmin), gmax)
    skipped = skip_inc and c < 0.0
    sgn = (1.0 if gd > 0.0 else 0.0) - (1.0 if gd < 0.0 else 0.0)
    if trace:
        prev = theta * prev + (1.0 - theta) * gd
    else:
        prev = 0.0 if skipped else sgn
    g = gd + decay * w
    if base == BASE_GRADIENT:
        d = g
    elif base == BASE_SIGN:
        d = weight * ((1.0 if g > 0.0 else 0.0) - (1.0 if g < 0.0 else 0.0))
    else:
        v = g * g if v == 0.0 else beta2 * v + (1.0 - beta2) * g * g
        d = g / (math.sqrt(v) + eps)
    step = 0.0 if skipped else gn
    return w - eta0 * step * d, gn, prev, v


@njit(cache=True, error_model="numpy")
def gain_row(w, g, gain, prev, last, v, scale, decay, t, weight, icfg, fcfg):
    """Synapse-scope gain rule on one row: every element with a non-zero gradient
    has an event (:func:`gain_event` semantics, written for speed)."""
    growth = icfg[I_GROWTH]
    up = fcfg[F_GAIN_UP]
    up_mul = up if growth == GROWTH_MULTIPLICATIVE else 1.0
    up_add = 0.0 if growth == GROWTH_MULTIPLICATIVE else up
    shrink = icfg[I_FALLBACK] == FALLBACK_SHRINK
    fb_mul = fcfg[F_GAIN_DOWN] if shrink else 0.0
    fb_add = 0.0 if shrink else 1.0
    trace = icfg[I_COHERENCE] == COHERENCE_TRACE
    theta = fcfg[F_TRACE_DECAY]
    skip_inc = icfg[I_SKIP_INCOHERENT] != 0
    base = icfg[I_BASE]
    gmin = fcfg[F_GAIN_MIN]
    gmax = fcfg[F_GAIN_MAX]
    tau = fcfg[F_RELAX_TIME]
    eta0 = fcfg[F_ETA0]
    beta2 = fcfg[F_BETA2]
    eps = fcfg[F_EPS]
    n = w.shape[0]
    if tau > 0.0:
        for u in range(n):
            gd = g[u] * scale
            if gd != 0.0:
                w[u], gain[u], prev[u], v[u] = gain_element(
                    gd, w[u], gain[u], prev[u], v[u], t - last[u], decay, weight, up_mul,
                    up_add, fb_mul, fb_add, trace, theta, skip_inc, base, gmin, gmax, tau,
                    eta0, beta2, eps)
                last[u] = t
                g[u] = 0.0
    else:
        # no relaxation: compute every element and keep the results of the events
        # only (selects, no branches), so the loop can be vectorised
        for u in range(n):
            gd = g[u] * scale
            nw, ng, npv, nv = gain_element(
                gd, w[u], gain[u], prev[u], v[u], 0, decay, weight, up_mul, up_add,
                fb_mul, fb_add, trace, theta, skip_inc, base, gmin, gmax, 0.0, eta0, beta2,
                eps)
            ev = gd != 0.0
            w[u] = nw if ev else w[u]
            gain[u] = ng if ev else gain[u]
            prev[u] = npv if ev else prev[u]
            v[u] = nv if ev else v[u]
            last[u] = t if ev else last[u]
            g[u] = 0.0


@njit(cache=True, error_model="numpy")
def baseline_row(w, g, s0, s1, scale, decay, rule, eta0, mu, beta1, beta2, eps, adam_lr):
    """sgd / momentum / nesterov / adam on one row; consumes ``g``.

    sgd: ``w -= eta0 g``; momentum and nesterov (scikit-learn's form): ``s0`` is
    the velocity, ``v = mu v - eta0 g``, then ``w += v`` or
    ``w += mu v - eta0 g``; adam: ``s0, s1`` are the first and second moments
    and ``adam_lr`` the bias-corrected step of the current update. The gradient
    is ``(g + decay * w) * scale``.
    """
    n = w.shape[0]
    if rule == RULE_SGD:
        for u in range(n):
            w[u] -= eta0 * (g[u] + decay * w[u]) * scale
            g[u] = 0.0
    elif rule == RULE_MOMENTUM or rule == RULE_NESTEROV:
        nest = 1.0 if rule == RULE_NESTEROV else 0.0
        for u in range(n):
            gu = (g[u] + decay * w[u]) * scale
            vel = mu * s0[u] - eta0 * gu
            s0[u] = vel
            w[u] += vel + nest * (mu * vel - eta0 * gu - vel)
            g[u] = 0.0
    else:
        for u in range(n):
            gu = (g[u] + decay * w[u]) * scale
            m = beta1 * s0[u] + (1.0 - beta1) * gu
            vv = beta2 * s1[u] + (1.0 - beta2) * gu * gu
            s0[u] = m
            s1[u] = vv
            w[u] -= adam_lr * m / (math.sqrt(vv) + eps)
            g[u] = 0.0
