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
from numba.extending import overload

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


def like(x, arr):
    """``x`` as a scalar of ``arr``'s dtype (so float32 arrays compute in float32)."""
    return arr.dtype.type(x)


@overload(like, inline="always")
def _like_jit(x, arr):
    cast = arr.dtype

    def impl(x, arr):
        return cast(x)

    return impl


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
def gain_coefficients(icfg, fcfg):
    """The gain family's configuration as loop-invariant scalars.

    Growth and fall-back are written as ``gain * mul + add`` (additive growth:
    ``mul=1, add=gain_up``; multiplicative: ``mul=gain_up, add=0``; reset:
    ``mul=0, add=1``; shrink: ``mul=gain_down, add=0``), so the event itself has
    no branch on the configuration. Returns ``(up_mul, up_add, fb_mul, fb_add,
    trace, theta, skip_inc, gain_min, gain_max, relax_time)``.
    """
    up = fcfg[F_GAIN_UP]
    mult = icfg[I_GROWTH] == GROWTH_MULTIPLICATIVE
    shrink = icfg[I_FALLBACK] == FALLBACK_SHRINK
    return (up if mult else 1.0, 0.0 if mult else up,
            fcfg[F_GAIN_DOWN] if shrink else 0.0, 0.0 if shrink else 1.0,
            icfg[I_COHERENCE] == COHERENCE_TRACE, fcfg[F_TRACE_DECAY],
            icfg[I_SKIP_INCOHERENT] != 0, fcfg[F_GAIN_MIN], fcfg[F_GAIN_MAX],
            fcfg[F_RELAX_TIME])


@njit(cache=True, error_model="numpy")
def gain_event(gain, prev, dt, signal, up_mul, up_add, fb_mul, fb_add, trace, theta,
               skip_inc, gain_min, gain_max, relax_time):
    """One learning event of an element (or group) of the adaptive-gain family.

    Relaxes ``gain`` for the ``dt`` examples since the element's last event,
    compares the sign of ``signal`` (non-zero) with ``prev`` (the previous sign,
    or a trace of past signals), grows or falls back (coefficients from
    :func:`gain_coefficients`), clips to ``[gain_min, gain_max]`` and updates
    ``prev``.

    Returns ``(step_gain, gain, prev)``: the gain to step with (0.0 when the step
    is skipped, as iRprop- does after a sign change), and the new state.
    """
    gain = relaxed_gain(gain, dt, relax_time)
    c = signal * prev
    gain = gain * up_mul + up_add if c > 0.0 else (gain * fb_mul + fb_add if c < 0.0 else gain)
    gain = min(max(gain, gain_min), gain_max)
    skipped = skip_inc and c < 0.0
    if trace:
        prev = theta * prev + (1.0 - theta) * signal
    else:
        prev = 0.0 if skipped else (1.0 if signal > 0.0 else -1.0)
    return (0.0 if skipped else gain), gain, prev


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
# the row's gradient, which the row functions only read (the caller owns it: the
# mini-batch path clears its accumulated rows, the online path overwrites its buffer).


@njit(cache=True, error_model="numpy")
def gain_element(gd, w, gain, prev, v, dt, decay, weight, coef, base, eta0, beta2, eps):
    """One event of one synapse-scope element: :func:`gain_event`, then the step.

    ``gd`` is the data gradient (non-zero for a real event), ``decay`` the L2
    coefficient of the element's row (0 for biases), ``coef`` the tuple of
    :func:`gain_coefficients`. Returns the new ``(w, gain, prev, v)``.
    """
    step, gain, prev = gain_event(gain, prev, dt, gd, *coef)
    d, v_new = base_direction(gd + decay * w, v, base, beta2, eps, weight)
    if step == 0.0:  # skipped (iRprop-): no step, the running mean stays
        return w, gain, prev, v
    return w - eta0 * step * d, gain, prev, v_new


@njit(cache=True, error_model="numpy", inline="always")
def gain_row(w, g, gain, prev, last, v, scale, decay, t, weight, icfg, fcfg):
    """Synapse-scope gain rule on one row: every element with a non-zero gradient
    has an event (:func:`gain_element`); the others do not change at all.

    ``last`` (the time of each element's last event) is kept only while the
    relaxation in time is on (``relax_time > 0``); nothing else reads it.

    Without relaxation in time and without skipped steps (the default dendritic
    configuration), the row runs as one branch-free loop: every element computes
    its event and selects its new or its old state, stored unconditionally, so
    LLVM vectorises the loop (a conditional store becomes a masked store, several
    times slower). Otherwise each event goes through :func:`gain_element`.
    """
    coef = gain_coefficients(icfg, fcfg)
    up_mul, up_add, fb_mul, fb_add, trace, theta, skip_inc, gain_min, gain_max, tau = coef
    base = icfg[I_BASE]
    eta0 = fcfg[F_ETA0]
    beta2 = fcfg[F_BETA2]
    eps = fcfg[F_EPS]
    if tau > 0.0 or skip_inc:
        for u in range(w.shape[0]):
            gd = g[u] * scale
            if gd != 0.0:
                w[u], gain[u], prev[u], v[u] = gain_element(
                    gd, w[u], gain[u], prev[u], v[u], t - last[u], decay, weight, coef, base,
                    eta0, beta2, eps)
                if tau > 0.0:
                    last[u] = t
        return
    rms = base == BASE_RMS
    sign = base == BASE_SIGN
    # every scalar in the row's dtype: a float32 row computes in float32
    one = like(1.0, w)
    zero = like(0.0, w)
    scale = like(scale, w)
    decay = like(decay, w)
    weight = like(weight, w)
    up_mul = like(up_mul, w)
    up_add = like(up_add, w)
    fb_mul = like(fb_mul, w)
    fb_add = like(fb_add, w)
    theta = like(theta, w)
    rest = like(1.0 - theta, w)
    gain_min = like(gain_min, w)
    gain_max = like(gain_max, w)
    eta0 = like(eta0, w)
    beta2 = like(beta2, w)
    rest2 = like(1.0 - beta2, w)
    eps = like(eps, w)
    if trace and rms and up_mul == 1.0 and fb_mul == 0.0 and fb_add == 1.0:
        # the default configuration (trace coherence, RMS base, additive growth, reset):
        # the same loop with its configuration as constants, which the compiler folds
        _gain_loop(w, g, gain, prev, v, scale, decay, weight, one, up_add, zero, one, True,
                   theta, rest, gain_min, gain_max, eta0, beta2, rest2, eps, True, False,
                   one, zero)
    else:
        _gain_loop(w, g, gain, prev, v, scale, decay, weight, up_mul, up_add, fb_mul, fb_add,
                   trace, theta, rest, gain_min, gain_max, eta0, beta2, rest2, eps, rms, sign,
                   one, zero)


@njit(cache=True, error_model="numpy", inline="always")
def _gain_loop(w, g, gain, prev, v, scale, decay, weight, up_mul, up_add, fb_mul, fb_add,
               trace, theta, rest, gain_min, gain_max, eta0, beta2, rest2, eps, rms, sign,
               one, zero):
    """The branch-free synapse-scope loop of :func:`gain_row` (no relaxation, no
    skipped steps); every scalar already in the row's dtype."""
    for u in range(w.shape[0]):
        gd = g[u] * scale
        ev = gd != zero
        gn = gain[u]
        pv = prev[u]
        wu = w[u]
        vu = v[u]
        # the event (gain_event without relaxation and skipping)
        c = gd * pv
        gn_new = gn * up_mul + up_add if c > zero else (gn * fb_mul + fb_add if c < zero else gn)
        gn_new = min(max(gn_new, gain_min), gain_max)
        pv_new = theta * pv + rest * gd if trace else (one if gd > zero else -one)
        # the base direction (base_direction)
        gg = gd + decay * wu
        v_new = gg * gg if vu == zero else beta2 * vu + rest2 * gg * gg
        d = gg / (math.sqrt(v_new) + eps) if rms else gg
        d = (weight if gg > zero else (-weight if gg < zero else zero)) if sign else d
        v_new = v_new if rms else vu
        # "old + 0": a store of the value just loaded would become a (slow) masked
        # store; the sum is the same number (only a -0.0 becomes +0.0)
        w[u] = wu - eta0 * gn_new * d if ev else wu + zero
        gain[u] = gn_new if ev else gn + zero
        prev[u] = pv_new if ev else pv + zero
        v[u] = v_new if ev else vu + zero


@njit(cache=True, error_model="numpy", inline="always")
def baseline_row(w, g, s0, s1, scale, decay, rule, eta0, mu, beta1, beta2, eps, adam_lr):
    """sgd / momentum / nesterov / adam on one row.

    sgd: ``w -= eta0 g``; momentum and nesterov (scikit-learn's form): ``s0`` is
    the velocity, ``v = mu v - eta0 g``, then ``w += v`` or
    ``w += mu v - eta0 g``; adam: ``s0, s1`` are the first and second moments
    and ``adam_lr`` the bias-corrected step of the current update. The gradient
    is ``(g + decay * w) * scale``.
    """
    n = w.shape[0]
    one = like(1.0, w)
    zero = like(0.0, w)
    scale = like(scale, w)
    decay = like(decay, w)
    eta0 = like(eta0, w)
    mu = like(mu, w)
    if rule == RULE_SGD:
        for u in range(n):
            w[u] -= eta0 * (g[u] + decay * w[u]) * scale
    elif rule == RULE_MOMENTUM or rule == RULE_NESTEROV:
        nest = one if rule == RULE_NESTEROV else zero
        for u in range(n):
            gu = (g[u] + decay * w[u]) * scale
            vel = mu * s0[u] - eta0 * gu
            s0[u] = vel
            w[u] += vel + nest * (mu * vel - eta0 * gu - vel)
    else:
        beta1 = like(beta1, w)
        rest1 = like(1.0 - beta1, w)
        beta2 = like(beta2, w)
        rest2 = like(1.0 - beta2, w)
        eps = like(eps, w)
        adam_lr = like(adam_lr, w)
        for u in range(n):
            gu = (g[u] + decay * w[u]) * scale
            m = beta1 * s0[u] + rest1 * gu
            vv = beta2 * s1[u] + rest2 * gu * gu
            s0[u] = m
            s1[u] = vv
            w[u] -= adam_lr * m / (math.sqrt(vv) + eps)
