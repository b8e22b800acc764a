"""The default configuration's epoch, as flat functions that compile in seconds.

:func:`train_epoch_default` runs the same epoch as :func:`skadapt._kernel.train_epoch_online`
(the same arguments, the same numbers: the kernel tests compare the two bit for bit, and
both with the NumPy reference) for the configurations of :func:`default_configuration`
only: online learning with the dendritic rule's default arithmetic (synapse scope, RMS or
AdaGrad base, additive growth, reset, trace coherence, no L2, no relaxation in time), ReLU
hidden layers and a softmax output; any sizes, with or without the direct path and its
change detector, dense or sparse input, float64 or float32, any values of the parameters it
reads.
:func:`train_epoch_default_batched` is its twin for mini-batches (the default's ``fit`` on
inputs of 50 features or more), with the numbers of the general kernel
(:func:`skadapt._kernel.train_epoch`). Every other configuration runs the general kernels
(:mod:`skadapt._kernel`); :func:`skadapt._learner.epoch_kernel` chooses.

Why other kernels: the general one is written for every rule, scope, activation and
output, through inlined helpers, tuples and generic casts, and its first compilation takes
10-15 s (Numba's type inference, mostly). These are functions on the flat arrays, with
:func:`_add_rows` and :func:`_forward_backward` (theirs), small
helpers of the general kernel (``gather_nonzeros``, the detector's ``change_detected``,
``_all_finite``; ``block_ends`` written out) and the rule's event as one scalar function
(:func:`skadapt._rules.default_gain_element`); they allocate nothing (their work arrays
come from :func:`flat_workspace`, the caller's); the online one compiles in about 3.5 s,
the mini-batch one in about 2 s more (shared helpers compile once): a first fit of the
defaults compiles only the one it uses (doc/speed.md). The online one is also faster per
example: its hot loops index views from 0 or unsigned offsets (see
:func:`train_epoch_default`).
"""
import math

import numpy as np
from numba import njit

from ._kernel import (
    D_THRESHOLD,
    NO_ALLOCATION,
    STATUS_CHANGE,
    STATUS_NONFINITE_LOSS,
    STATUS_NONFINITE_WEIGHTS,
    STATUS_OK,
    _all_finite,
    change_detected,
    gather_nonzeros,
)
from ._rules import (
    ACT_RELU,
    BASE_RMS,
    COHERENCE_TRACE,
    F_ALPHA,
    F_BETA2,
    F_EPS,
    F_ETA0,
    F_GAIN_MAX,
    F_GAIN_MIN,
    F_GAIN_UP,
    F_RELAX_TIME,
    F_TRACE_DECAY,
    F_V_REST,
    FALLBACK_RESET,
    GROWTH_ADDITIVE,
    I_ACTIVATION,
    I_BASE,
    I_COHERENCE,
    I_FALLBACK,
    I_GROWTH,
    I_MULTILABEL,
    I_RULE,
    I_SCOPE,
    I_SKIP_INCOHERENT,
    I_SPARSE_EVENTS,
    LEAN_PASSES,
    LEAN_UNIT,
    RULE_GAIN,
    SCOPE_SYNAPSE,
    default_gain_element,
)

# Longest run of weights stepped from the gradient buffer in one loop (elements; as the
# general kernel's BLOCK_ELEMENTS: 16 KiB of float64 gradient, in L1 cache)
_RUN_ELEMENTS = 2048
# Blocks of at most this many output units (a binary or few-class output layer, and the
# direct path to it) always gather their active units' weights: their rows are so short
# that a loop per run of rows costs more than the gather (an online epoch 8-12% faster on
# anes96, Bananas, Phishing and a 3-class development set, with the same numbers; with 7
# classes gathering was the slower, and the general kernel's update gained nothing from it)
_GATHER_MAX_OUTPUTS = 4
# Slots of the rule's scalars, the work array sc (_rule_scalars)
_N_SCALARS = 12


def default_configuration(icfg, fcfg):
    """Whether the configuration ``icfg``, ``fcfg`` is one of the flat kernels' (a question
    of :func:`skadapt._learner.epoch_kernel`, which picks :func:`train_epoch_default` to
    learn online and :func:`train_epoch_default_batched` in mini-batches): the default
    rule's choices with an event only for a non-zero gradient and a gain for each
    parameter, ReLU and softmax outputs."""
    return (icfg[I_SPARSE_EVENTS] != 0 and icfg[I_SCOPE] == SCOPE_SYNAPSE
            and icfg[I_RULE] == RULE_GAIN and icfg[I_BASE] == BASE_RMS
            and icfg[I_GROWTH] == GROWTH_ADDITIVE and icfg[I_FALLBACK] == FALLBACK_RESET
            and icfg[I_COHERENCE] == COHERENCE_TRACE and icfg[I_SKIP_INCOHERENT] == 0
            and icfg[I_ACTIVATION] == ACT_RELU and icfg[I_MULTILABEL] == 0
            and fcfg[F_ALPHA] == 0.0 and fcfg[F_RELAX_TIME] <= 0.0)


@njit(error_model="numpy", **NO_ALLOCATION, **LEAN_UNIT)
def _add_rows(params, wo, n_out, in_val, in_idx, c, c_end, z, z0):
    """``z[z0 : z0 + n_out] +=`` the rows of the weight matrix at ``wo`` of the inputs
    ``in_val[c:c_end]`` at ``in_idx[c:c_end]``, each times its input, in their order; four
    rows per pass over z (the same sums in the same order as one row at a time)."""
    z_v = z[z0 : z0 + n_out]  # (views, indexed from 0: no index wraparound in the loops)
    while c + 4 <= c_end:
        a0 = in_val[c]
        a1 = in_val[c + 1]
        a2 = in_val[c + 2]
        a3 = in_val[c + 3]
        r0 = wo + in_idx[c] * n_out
        r1 = wo + in_idx[c + 1] * n_out
        r2 = wo + in_idx[c + 2] * n_out
        r3 = wo + in_idx[c + 3] * n_out
        w0 = params[r0 : r0 + n_out]
        w1 = params[r1 : r1 + n_out]
        w2 = params[r2 : r2 + n_out]
        w3 = params[r3 : r3 + n_out]
        for u in range(n_out):
            z_v[u] = (((z_v[u] + a0 * w0[u]) + a1 * w1[u]) + a2 * w2[u]) + a3 * w3[u]
        c += 4
    for c_rest in range(c, c_end):
        a = in_val[c_rest]
        r = wo + in_idx[c_rest] * n_out
        w_row = params[r : r + n_out]
        for u in range(n_out):
            z_v[u] += a * w_row[u]


def flat_workspace(sizes, n_params, dtype, batched, fcfg):
    """The work arrays of a flat kernel (:func:`train_epoch_default` with ``batched``
    False, :func:`train_epoch_default_batched` with True) for a network of layer
    ``sizes`` with ``n_params`` parameters of ``dtype`` and the float configuration
    ``fcfg``, its last fourteen arguments: ``a_off``, ``r_off`` (int64: each layer's
    offsets in the arrays of activations and deltas, one entry per unit of layer
    ``l + 1``, and of non-zero inputs, one entry per unit of layer ``l``, as
    :func:`skadapt._kernel.layer_offsets` computes them), ``resume`` (float64, zeros: where
    a kernel that returned at a declared change goes on, and the loss summed until then:
    :func:`train_epoch_default`), the rule's scalars ``sc`` (:func:`_rule_scalars`), and
    the scratch arrays, whatever they hold: per layer its number of non-zero inputs
    ``n_in_nz`` and of touched rows ``nrows``; every layer's non-zero inputs (positions
    ``in_idx``, values ``in_val``, at ``r_off``), the rows' marks ``touched`` and lists
    ``rows`` (the mini-batch kernel's), the online kernel's positions ``ipool`` (two
    buffers of the widest layer, at least ``_RUN_ELEMENTS``), the activations ``acts`` and
    ``deltas`` (at ``a_off``), and ``fpool``: the mini-batch kernel's accumulated gradient
    (one per parameter), the online kernel's five buffers of the widest layer (parameters'
    dtype), in that order.

    Allocated here, not in the kernels: a kernel's first compilation compiles Numba's
    implementation of ``np.zeros`` for each kind of array it allocates, and the offsets'
    function besides (a cold first fit of the defaults on ``load_digits`` took 0.83-0.85x
    the time without them in paired runs, float32 0.91x; doc/speed.md). Separate arrays,
    not views of two (session 19's layout): a kernel's first compilation lowers each slice
    into a view, and the two kernels then compiled in 0.90x (``load_digits``, 8 alternated
    pairs) and 0.94x (online, ``load_breast_cancer``) the time, with 8% fewer Python calls
    of the compilation."""
    sizes = [int(s) for s in sizes]  # (a few layers: Python ints, a few microseconds)
    n_layers = len(sizes) - 1
    a_off, r_off = [0], [0]
    for l in range(1, n_layers):
        a_off.append(a_off[-1] + sizes[l])
        r_off.append(r_off[-1] + sizes[l - 1])
    n_acts = a_off[-1] + sizes[n_layers]
    n_rows = r_off[-1] + sizes[n_layers - 1]
    widest = 0 if batched else max(_RUN_ELEMENTS, *sizes)
    i64 = np.int64
    n_pool = n_params if batched else 5 * widest
    return (np.array(a_off, i64), np.array(r_off, i64), np.zeros(2),
            _rule_scalars(fcfg, dtype),
            np.zeros(n_layers, i64), np.zeros(n_layers, i64), np.zeros(n_rows, i64),
            np.zeros(n_rows, i64), np.zeros(n_rows, i64), np.zeros(2 * widest, i64),
            np.zeros(n_acts, dtype), np.zeros(n_acts, dtype), np.zeros(n_rows, dtype),
            np.zeros(n_pool, dtype))


def _rule_scalars(fcfg, dtype):
    """The flat kernels' ``sc``: the rule's scalars from the float configuration
    ``fcfg``, in the parameters' ``dtype`` as the general kernel's gain loop casts them
    (each computed in float64, then rounded once): 0, 1, ``eta0``, ``beta_2``,
    ``1 - beta_2``, ``epsilon``, ``gain_up``, the trace's decay and its rest, the gain's
    bounds; slot 11 is the kernels' scratch slot (an example's weight, a batch's scale).
    Written here, not in the kernels: each of the eleven assignments cost a kernel's first
    compilation about 30,000 Python calls (all of them 3.9% of a cold first fit's,
    doc/speed.md)."""
    sc = np.zeros(_N_SCALARS, dtype)
    sc[:11] = (0.0, 1.0, fcfg[F_ETA0], fcfg[F_BETA2], fcfg[F_V_REST], fcfg[F_EPS],
               fcfg[F_GAIN_UP], fcfg[F_TRACE_DECAY], 1.0 - fcfg[F_TRACE_DECAY],
               fcfg[F_GAIN_MIN], fcfg[F_GAIN_MAX])
    return sc


@njit(error_model="numpy", **NO_ALLOCATION, **LEAN_UNIT)
def _forward_backward(params, sizes, w_off, b_off, a_off, r_off, acts, deltas, in_val, in_idx,
                      n_in_nz, yi, swi, sc):
    """One example's forward pass (ReLU layers, each layer's non-zero outputs kept as the
    next one's inputs: ``in_val``, ``in_idx``, ``n_in_nz``, whose input layer the caller
    filled), its softmax's deltas ``swi * (p - y)`` for class ``yi`` and the backward pass,
    into ``acts`` and ``deltas``; returns its loss (unweighted, in float64). ``sc`` holds
    the scalars 0 and 1 in the parameters' dtype (and slot 11 gets ``swi`` in it): the
    arithmetic of :func:`skadapt._kernel.sample_gradient`, in the flat kernels' form.
    A unit of its own, without wrappers (``KERNEL_ONLY``): inlined, Numba types its body
    again inside the kernel, which cost a cold first fit's compilation 9% more Python calls
    and 5% more machine instructions (doc/speed.md, step (7)); with the wrappers for calls
    from Python, as session 14 compiled it, it cost 0.3 s more than inlined."""
    n_layers = len(sizes) - 1
    n_blocks = len(w_off)
    zero = sc[0]
    k = sizes[n_layers]
    zo = a_off[n_layers - 1]  # the output layer's sums and deltas
    # ---- forward
    for l in range(n_layers):
        n_out = sizes[l + 1]
        z0 = a_off[l]
        for u in range(n_out):
            acts[z0 + u] = params[b_off[l] + u]
        if l == n_layers - 1 and n_blocks > n_layers:  # the direct path, from the input
            _add_rows(params, w_off[n_layers], n_out, in_val, in_idx, r_off[0], n_in_nz[0],
                      acts, z0)
        _add_rows(params, w_off[l], n_out, in_val, in_idx, r_off[l],
                  r_off[l] + n_in_nz[l], acts, z0)
        if l < n_layers - 1:  # ReLU, and the layer's non-zero outputs (branch-free)
            r1 = r_off[l + 1]
            m = np.int64(0)  # (not the literal 0: see skadapt._kernel._all_finite's (*))
            for u in range(n_out):
                zu = acts[z0 + u]
                zu = zu if zu > zero else zero
                acts[z0 + u] = zu
                in_val[r1 + m] = zu
                in_idx[r1 + m] = u
                m += zu != 0.0
            n_in_nz[l + 1] = m
    # ---- softmax, cross-entropy of class yi, output deltas si * (p - y)
    sc[11] = swi  # (the example's weight in the parameters' dtype)
    si = sc[11]
    zmax = acts[zo]
    for u in range(1, k):
        if acts[zo + u] > zmax:
            zmax = acts[zo + u]
    s = zero
    for u in range(k):
        s += math.exp(acts[zo + u] - zmax)
    lse = zmax + math.log(s)
    loss = (np.float64(zmax) + math.log(np.float64(s))) - np.float64(acts[zo + yi])
    for u in range(k):
        deltas[zo + u] = si * math.exp(acts[zo + u] - lse)
    deltas[zo + yi] -= si
    # ---- backward: the hidden layers' deltas, summed for the active units only (the
    # non-zero inputs the forward pass kept); the others' are 0 (ReLU's derivative)
    for l in range(n_layers - 1, 0, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        wo = w_off[l]
        d_out = deltas[a_off[l] : a_off[l] + n_out]
        d_in = deltas[a_off[l - 1] : a_off[l - 1] + n_in]
        for j in range(n_in):
            d_in[j] = zero
        for m in range(n_in_nz[l]):  # the layer's non-zero inputs: the active units
            j = in_idx[r_off[l] + m]
            w_row = params[wo + j * n_out : wo + (j + 1) * n_out]
            acc = zero
            for u in range(n_out):
                acc += w_row[u] * d_out[u]
            d_in[j] = acc
    return loss


@njit(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True, **NO_ALLOCATION,
      **LEAN_PASSES)
def train_epoch_default(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw,
                        order, batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg,
                        pstate, gstate, glast, counters, drift, drift_log, a_off, r_off,
                        resume, sc, n_in_nz, nrows, in_idx, touched, rows, ipool, acts, deltas,
                        in_val, fpool):
    """:func:`skadapt._kernel.train_epoch` for the configurations of
    :func:`default_configuration` only (the caller's promise: it is not checked); the same
    arguments and result, and fourteen more: the work arrays of :func:`flat_workspace`
    (``batched=False``; any content but the offsets ``a_off``, ``r_off``, ``resume`` and
    the rule's scalars ``sc``).
    One more result: where the change detector declares a change, at the example
    ``order[q]`` (its forward and backward pass done, its update not), the kernel does not
    clear the direct path itself: it returns ``STATUS_CHANGE`` with ``q + 1`` in
    ``resume[0]`` and the loss summed so far in ``resume[1]``; the caller clears it
    (:func:`skadapt._learner.after_change`) and calls again with the same arguments, and
    the kernel goes on with that example's update (``resume`` zero: a fresh epoch). So a
    first compilation compiles no clearing (4.0% fewer machine instructions in a cold first
    fit's compilation, doc/speed.md); the epoch's numbers are those of the general
    kernels, which clear in place, bit for bit.

    Per example: its non-zero inputs, the forward pass (ReLU layers, each layer's non-zero
    outputs kept as the next one's inputs), the softmax's deltas, the backward pass, the
    change detector, then the update, block by block (the layers, then the direct path):
    the units with a non-zero delta are its active units; each weight whose input and
    delta are non-zero has an event of the dendritic rule
    (:func:`skadapt._rules.default_gain_element`), the others do not change. Each run of
    rows of consecutive inputs gets its gradients in a small buffer and is stepped in place
    in one branch-free loop (LLVM vectorises it); in a block where at most a quarter of the
    units are active, or of at most ``_GATHER_MAX_OUTPUTS`` units, the active units'
    weights of any rows are gathered into buffers,
    stepped there in the same loop and written back (as the online kernel's
    ``online_update`` does). The hot loops run on views indexed from 0, or at unsigned
    offsets (:func:`_step_events`): an index computed from a signed offset costs Numba's
    check for negative indices, which stops vectorisation.
    ``Y``, ``batch_size`` (1), ``g_off``, ``icfg``, ``glast`` and ``drift_log`` are not
    read (they are for :func:`skadapt._learner.after_change`), nor is ``fcfg``: its
    scalars come in ``sc``.
    """
    n_layers = len(sizes) - 1
    n_blocks = len(w_off)
    widest = len(ipool) // 2  # (the widest layer, at least _RUN_ELEMENTS)
    gbuf = fpool[0:widest]  # a run's gradients, and the gathered weights and state
    wbuf = fpool[widest : 2 * widest]
    gnbuf = fpool[2 * widest : 3 * widest]
    pvbuf = fpool[3 * widest : 4 * widest]
    vbuf = fpool[4 * widest : 5 * widest]
    pos = ipool[0:widest]
    active = ipool[widest : 2 * widest]
    gain = gstate[0]
    prev = gstate[1]
    v = pstate[1]
    one = sc[1]
    detect = drift[D_THRESHOLD] > 0.0 and n_blocks > n_layers
    # where to go on: 0, or 1 + the position of the example at which a change was declared
    done = np.int64(resume[0])
    loss_sum = resume[1]
    resume[0] = 0.0
    resume[1] = 0.0
    for q in range(len(order)):
        if q + 1 < done:
            continue  # (learned before the change)
        if q + 1 > done:  # (the example at the change has had its passes: its update is next)
            i = order[q]
            n_in_nz[0] = gather_nonzeros(X, data, indices, indptr, is_sparse, in_shift,
                                         in_scale, i, in_val, in_idx)
            loss = _forward_backward(params, sizes, w_off, b_off, a_off, r_off, acts, deltas,
                                     in_val, in_idx, n_in_nz, y[i], sw[i], sc)
            if not math.isfinite(loss):
                return loss_sum, STATUS_NONFINITE_LOSS
            loss_sum += sw[i] * loss
            if detect and change_detected(loss, drift):
                resume[0] = q + 1  # (the caller clears the direct path and calls again)
                resume[1] = loss_sum
                return loss_sum, STATUS_CHANGE
        counters[0] += 1
        counters[1] += 1
        # ---- the update, block by block (the direct path last)
        for b in range(n_blocks):
            src = b % n_layers  # (block_ends, written out: see the mini-batch kernel)
            dst = b if b < n_layers else n_layers - 1
            n_out = sizes[dst + 1]
            wo = w_off[b]
            bo = b_off[b]
            r0 = r_off[src]
            d0 = a_off[dst]
            d = deltas[d0 : d0 + n_out]
            n_act = np.int64(0)  # (not a literal: see skadapt._kernel._all_finite's (*))
            for u_act in range(n_out):  # the active units (branch-free)
                active[n_act] = u_act
                n_act += d[u_act] != 0.0
            if n_act == 0:
                continue  # no gradient of this block is non-zero: no events
            # few active units, or few units: only the active units' weights step,
            # gathered from any rows into the buffers (one long vector loop) and written
            # back; otherwise runs of rows of consecutive inputs, in place
            compact = 4 * n_act <= n_out or n_out <= _GATHER_MAX_OUTPUTS
            width = n_act if compact else n_out
            max_run = _RUN_ELEMENTS // width if width <= _RUN_ELEMENTS else 1
            c = r0
            c_end = r0 + n_in_nz[src]
            while c < c_end or (c == c_end and bo >= 0):  # the rows, then the biases
                n_run = np.int64(1)
                if c < c_end:  # a run of rows: any rows when compact, else consecutive ones
                    j0 = in_idx[c]
                    while (c + n_run < c_end and n_run < max_run
                           and (compact or in_idx[c + n_run] == j0 + n_run)):
                        n_run += 1
                    row0 = wo + j0 * n_out
                else:  # the biases (the direct path has none)
                    row0 = bo
                n_el = n_run * width
                for r in range(n_run):  # the gradients a_j * d_u (and their positions)
                    a = in_val[c + r] if c < c_end else one
                    g_row = gbuf[r * width : (r + 1) * width]
                    if compact:
                        row = wo + in_idx[c + r] * n_out if c < c_end else bo
                        p_row = pos[r * width : (r + 1) * width]
                        for s_act in range(n_act):
                            u = active[s_act]
                            g_row[s_act] = a * d[u]
                            p_row[s_act] = row + u
                    else:
                        for u_all in range(n_out):
                            g_row[u_all] = a * d[u_all]
                c += n_run
                if compact:
                    for e in range(n_el):
                        p = pos[e]
                        wbuf[e] = params[p]
                        gnbuf[e] = gain[p]
                        pvbuf[e] = prev[p]
                        vbuf[e] = v[p]
                    # (tuples here, unlike _step_events' scalars: these names are set in
                    # two branches, and one per line counted 1.0% more calls of a cold
                    # online fit's compilation, load_breast_cancer)
                    w_r, gain_r, prev_r, v_r = wbuf, gnbuf, pvbuf, vbuf
                    p0 = np.int64(0)
                else:  # (in place: the run starts at row0)
                    w_r, gain_r, prev_r, v_r = params, gain, prev, v
                    p0 = row0
                _step_events(gbuf, 0, one, n_el, w_r, gain_r, prev_r, v_r, p0, sc)
                if compact:  # (back to their places)
                    for e_back in range(n_el):
                        p_back = pos[e_back]
                        params[p_back] = wbuf[e_back]
                        gain[p_back] = gnbuf[e_back]
                        prev[p_back] = pvbuf[e_back]
                        v[p_back] = vbuf[e_back]
    if not _all_finite(params):
        return loss_sum, STATUS_NONFINITE_WEIGHTS
    return loss_sum, STATUS_OK


@njit(cache=True, error_model="numpy", inline="always")
def _step_events(g, g0, scale, n, w_r, gain_r, prev_r, v_r, p0, sc):
    """The dendritic rule's event (:func:`skadapt._rules.default_gain_element`) for each of
    the ``n`` parameters ``w_r[p0 : p0 + n]`` (with their state ``gain_r``, ``prev_r``,
    ``v_r`` at the same positions) whose gradient ``g[g0 : g0 + n] * scale`` is non-zero;
    the others do not change. One branch-free loop (LLVM vectorises it; the ``if`` below
    becomes selects): every element computes its event and keeps it only if its gradient
    is non-zero ("+ zero" keeps the store unconditional). ``g[g0 : g0 + n]`` is consumed
    (zeroed: the mini-batch kernel's accumulated gradient is ready for the next batch; the
    online kernel's buffer is rewritten anyway). ``sc``: the rule's scalars
    (:func:`_rule_scalars`). The update of both flat kernels.

    The positions are unsigned (uint64), which Numba indexes without its check for
    negative indices, so LLVM vectorises the loop without views from 0: five slices fewer
    for the mini-batch kernel to compile, four for the online one (a cold fit's compilation
    2.4% and 0.4% fewer Python calls; the same vectorised square roots and divisions)."""
    zero = sc[0]
    one = sc[1]
    # (one per line, here and in the online kernel's gather and scatter: Python builds and
    # unpacks a tuple for four or more targets, which Numba then types and lowers too)
    eta0 = sc[2]
    beta2 = sc[3]
    beta2_rest = sc[4]
    eps = sc[5]
    gain_up = sc[6]
    theta = sc[7]
    theta_rest = sc[8]
    gain_min = sc[9]
    gain_max = sc[10]
    gu = np.uint64(g0)
    pu = np.uint64(p0)
    for e in range(np.uint64(n)):
        ge = gu + e
        p = pu + e
        gd = g[ge] * scale
        wu = w_r[p]
        gn = gain_r[p]
        pv = prev_r[p]
        vu = v_r[p]
        w_new, gn_new, pv_new, v_new = default_gain_element(
            gd, wu, gn, pv, vu, gain_up, theta, theta_rest, gain_min, gain_max, beta2,
            beta2_rest, eps, eta0, zero, one)
        # no event: the old values. One branch, not four conditional expressions: LLVM
        # makes the same selects of either (the same machine code), and Numba types and
        # lowers one branch instead of four: 1.3-1.8% of a first compilation's Python calls
        if gd == zero:
            w_new = wu + zero
            gn_new = gn + zero
            pv_new = pv + zero
            v_new = vu + zero
        w_r[p] = w_new
        gain_r[p] = gn_new
        prev_r[p] = pv_new
        v_r[p] = v_new
        g[ge] = zero


@njit(error_model="numpy", **NO_ALLOCATION, **LEAN_UNIT)
def _step_accumulated(G, lo, hi, scale, params, gain, prev, v, sc):
    """The events of the parameters ``lo:hi`` (:func:`_step_events`) for the accumulated
    gradient ``G`` times ``scale`` (the general kernel's arithmetic on a row of a
    mini-batch); that part of ``G`` is consumed (zeroed)."""
    _step_events(G, lo, scale, hi - lo, params, gain, prev, v, lo, sc)


@njit(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True, **NO_ALLOCATION,
      **LEAN_PASSES)
def train_epoch_default_batched(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y,
                                sw, order, batch_size, params, sizes, w_off, b_off, g_off, icfg,
                                fcfg, pstate, gstate, glast, counters, drift, drift_log,
                                a_off, r_off, resume, sc, n_in_nz, nrows, in_idx, touched,
                                rows, ipool, acts, deltas, in_val, fpool):
    """:func:`train_epoch_default` in mini-batches of ``batch_size`` (> 1): the same
    arguments (the work arrays of :func:`flat_workspace` with ``batched=True``) and
    result, and the same numbers as the general kernel (:func:`skadapt._kernel.train_epoch`)
    for the configurations of :func:`default_configuration`, which the kernel tests
    compare bit for bit.

    Per example: its non-zero inputs, the forward and backward pass
    (:func:`_forward_backward`, with the weights of the batch's start), the change
    detector, and its gradient added to the accumulated one ``G`` (the rows of its
    non-zero inputs only, which are marked as touched). Per batch: every touched row, and
    the biases, steps with the mean gradient (:func:`_step_accumulated`: a parameter whose
    mean gradient is zero has no event). Only rows some example of the batch touched are
    visited, so sparse inputs stay cheap. At a declared change it returns
    ``STATUS_CHANGE`` as :func:`train_epoch_default` does, in the middle of a batch if so:
    called again, it goes on with that example's gradient, the batch's accumulated one
    kept. ``Y``, ``g_off``, ``icfg``, ``fcfg``, ``glast`` and ``drift_log`` are not read.
    """
    n_layers = len(sizes) - 1
    n_blocks = len(w_off)
    G = fpool
    # G: the batch's summed gradient; touched, rows, nrows: every layer's rows with a
    # non-zero input in the batch (at r_off); all zero at the start of a batch, and kept
    # when the kernel resumes in the batch after a change
    done = np.int64(resume[0])  # (as in train_epoch_default)
    loss_sum = resume[1]
    resume[0] = 0.0
    resume[1] = 0.0
    if done == 0:
        for p in range(len(G)):
            G[p] = 0.0
        for r in range(len(touched)):
            touched[r] = 0
        for l_start in range(n_layers):
            nrows[l_start] = 0
    gain = gstate[0]
    prev = gstate[1]
    v = pstate[1]
    detect = drift[D_THRESHOLD] > 0.0 and n_blocks > n_layers
    n = len(order)
    for start in range(0, n, batch_size):
        stop = start + batch_size if start + batch_size < n else n
        if stop < done:
            continue  # (learned before the change)
        for q in range(start, stop):
            if q + 1 < done:
                continue  # (in G before the change)
            if q + 1 > done:  # (the example at the change: its gradient is next)
                i = order[q]
                n_in_nz[0] = gather_nonzeros(X, data, indices, indptr, is_sparse, in_shift,
                                             in_scale, i, in_val, in_idx)
                loss = _forward_backward(params, sizes, w_off, b_off, a_off, r_off, acts,
                                         deltas, in_val, in_idx, n_in_nz, y[i], sw[i], sc)
                if not math.isfinite(loss):
                    return loss_sum, STATUS_NONFINITE_LOSS
                loss_sum += sw[i] * loss
                if detect and change_detected(loss, drift):
                    resume[0] = q + 1
                    resume[1] = loss_sum
                    return loss_sum, STATUS_CHANGE
            # ---- the gradient, added to G: the biases' (the deltas), the touched rows'
            for b in range(n_blocks):
                src = b % n_layers  # (block_ends, written out: (*) below)
                dst = b if b < n_layers else n_layers - 1
                n_out = sizes[dst + 1]
                wo = w_off[b]
                bo = b_off[b]
                r0 = r_off[src]
                d = deltas[a_off[dst] : a_off[dst] + n_out]
                if bo >= 0:
                    g_bias = G[bo : bo + n_out]
                    for u_bias in range(n_out):
                        g_bias[u_bias] += 1.0 * d[u_bias]
                for c in range(r0, r0 + n_in_nz[src]):
                    j = in_idx[c]
                    if touched[r0 + j] == 0:  # first non-zero input on this row
                        touched[r0 + j] = 1
                        rows[r0 + nrows[src]] = j
                        nrows[src] += 1
                    a = in_val[c]
                    g_row = G[wo + j * n_out : wo + (j + 1) * n_out]
                    for u in range(n_out):
                        g_row[u] += a * d[u]
        counters[0] += stop - start
        counters[1] += 1
        # ---- the update with the mean gradient: every block's touched rows and biases.
        # (*) Names bound once in the kernel, not again in a second loop: Numba's SSA pass
        # rewrites the whole function once for each name bound more than once, and the
        # inlined block_ends bound two more (a first compilation's Python calls: 2.2%
        # fewer on load_digits, doc/speed.md)
        sc[11] = 1.0 / (stop - start)
        scale = sc[11]
        for b_step in range(n_blocks):
            src_step = b_step % n_layers
            n_step = sizes[(b_step if b_step < n_layers else n_layers - 1) + 1]
            wo_step = w_off[b_step]
            bo_step = b_off[b_step]
            if bo_step >= 0:
                _step_accumulated(G, bo_step, bo_step + n_step, scale, params, gain, prev, v,
                                  sc)
            r0_step = r_off[src_step]
            for q_step in range(nrows[src_step]):
                lo = wo_step + rows[r0_step + q_step] * n_step
                _step_accumulated(G, lo, lo + n_step, scale, params, gain, prev, v, sc)
        for l in range(n_layers):  # (the direct path reads the input layer's rows too)
            for q_row in range(nrows[l]):
                touched[r_off[l] + rows[r_off[l] + q_row]] = 0
            nrows[l] = 0
    if not _all_finite(params):
        return loss_sum, STATUS_NONFINITE_WEIGHTS
    return loss_sum, STATUS_OK
