"""The compiled training loop: one epoch of online or mini-batch learning.

:func:`train_epoch` is the entry point. It runs forward pass, backward pass,
gradient accumulation and the update of every rule of :mod:`skadapt._rules` on
plain arrays, one batch after the other, in the order given.
:func:`train_epoch_online` is the same epoch compiled for online learning only
(:func:`online_epoch` says when it applies), so that a first online fit does not compile
the mini-batch update; the default configuration has a flat kernel of its own
(:mod:`skadapt._kernel_default`), and :func:`skadapt._learner.epoch_kernel` chooses among the
three. Everything else (validation, shuffling, epochs, early stopping, warnings) is the
Python side's.

Layout of the network (all in one flat ``params`` vector, see
:mod:`skadapt._network`): layer ``l`` has a weight matrix of shape
``(sizes[l], sizes[l + 1])`` stored row-major at ``w_off[l]`` (one contiguous row
per input, so the weights of one non-zero input are one contiguous run), and a
bias vector at ``b_off[l]``. With a direct input-to-output path, one more block of
weights, of shape ``(sizes[0], sizes[-1])``, follows the last layer: it reads the
network's input (layer 0's) and adds to the output layer's sums, and has no biases of
its own (``b_off`` of that block is -1). The arrays ``w_off``, ``b_off`` and ``g_off``
have one entry per block: the layers, then the direct path if there is one
(:func:`block_ends`).

Zero inputs are skipped exactly: a weight whose input is zero has a zero data
gradient, which for the adaptive-gain rules (and for plain SGD without L2) is no
event at all, so its row is never visited.
"""

import math

import numpy as np
from numba import njit

from ._rules import (
    ACT_RELU,
    ACT_SIGMOID,
    F_ALPHA,
    F_BETA2,
    F_EPS,
    F_ETA0,
    F_RELAX_TIME,
    F_V_REST,
    I_ACTIVATION,
    I_BASE,
    I_MULTILABEL,
    I_N_DENDRITES,
    I_RULE,
    I_SCOPE,
    I_SPARSE_EVENTS,
    I_STEP_SIZE,
    I_WRITES,
    KERNEL_ONLY,
    LEAN_UNIT,
    PIPELINE,
    RULE_GAIN,
    SCOPE_DENDRITE,
    SCOPE_SYNAPSE,
    WRITES_GSTATE,
    WRITES_PSTATE,
    base_direction,
    gain_coefficients,
    gain_event,
    like,
    numba_option,
    relaxed_gain,
    step_scalar,
    step_size,
    update_row,
)

STATUS_OK = 0
STATUS_NONFINITE_LOSS = 1
STATUS_NONFINITE_WEIGHTS = 2
# (the flat kernels only, :mod:`skadapt._kernel_default`) the change detector declared a
# change: the caller clears the direct path (``_learner.after_change``) and calls again
STATUS_CHANGE = 3


# The option of a function that allocates no array (it works on its arguments and views of
# them): no reference counting of the arrays it views or passes on. The flat kernels
# (skadapt._kernel_default) and the helpers they call compile with it: a cold first fit of
# the defaults on load_digits took 0.87-0.93x the time in pairs of processes run at the same
# time, 1.03x in alternated ones (online 0.98x and 0.92x; doc/speed.md). A function with it
# cannot allocate an array (Numba refuses to compile np.zeros there): a new buffer is a view
# of the flat kernels' work arrays.
NO_ALLOCATION = numba_option("_nrt", False)


@njit(cache=True, error_model="numpy", inline="always")
def _activate(z, act):
    """The activation of ``z``, computed in ``z``'s type (float32 stays float32)."""
    zero = like(0.0, z)
    one = like(1.0, z)
    if act == ACT_SIGMOID:
        # 1 / (1 + exp(-z)) for z >= 0, exp(z) / (1 + exp(z)) below (no overflow), as
        # one branch-free expression: the same numbers, without a mispredicted branch on
        # the sign of z per unit
        e = math.exp(-abs(z))
        return (one if z >= zero else e) / (one + e)
    if act == ACT_RELU:
        return z if z > zero else zero
    return math.tanh(z)


@njit(cache=True, error_model="numpy", inline="always")
def _derivative(a, act):
    """Derivative of the activation, from its output ``a`` (in ``a``'s type)."""
    zero = like(0.0, a)
    one = like(1.0, a)
    if act == ACT_SIGMOID:
        return a * (one - a)
    if act == ACT_RELU:
        return one if a > zero else zero
    return one - a * a


@njit(cache=True, error_model="numpy", inline="always")
def _axpy(a, x, y):
    """y += a * x (contiguous views, so the loop vectorises)."""
    for u in range(y.shape[0]):
        y[u] += a * x[u]


@njit(cache=True, error_model="numpy", inline="always")
def _axpy4(a0, x0, a1, x1, a2, x2, a3, x3, y):
    """y += a0 * x0, then += a1 * x1, += a2 * x2, += a3 * x3: the same sums in the same
    order as four :func:`_axpy` calls, with ``y`` loaded and stored once."""
    for u in range(y.shape[0]):
        y[u] = (((y[u] + a0 * x0[u]) + a1 * x1[u]) + a2 * x2[u]) + a3 * x3[u]


@njit(cache=True, error_model="numpy", inline="always")
def _copy(src, dst):
    """dst[:] = src, as a plain loop (slice assignment compiles a broadcasting
    routine with its error messages: seconds of compile time for a copy)."""
    for u in range(dst.shape[0]):
        dst[u] = src[u]


@njit(cache=True, error_model="numpy", inline="always")
def _all_finite(x):
    """Whether every entry of ``x`` is finite, in one branch-free pass: ``x - x`` is 0 for
    a finite number and NaN for an infinity or a NaN (LLVM vectorises the comparisons; a
    loop that stops at the first ``not math.isfinite`` does not vectorise, and took 3-6x
    as long over 79,510 parameters: 55 vs 17 µs float64, 60 vs 9 µs float32).

    (*) A variable that a loop updates starts as ``np.bool_(False)`` or ``np.int64(0)``,
    here and in the kernels, not as the literal ``False`` or ``0``: Numba types a
    literal as its own type (``Literal[int](0)``), which the loop's update then widens,
    and that costs its type inference one more pass over the whole kernel that inlines
    the function (3 passes instead of 2: 5-6% of a first compilation's Python calls)."""
    bad = np.bool_(False)  # (*)
    for p in range(len(x)):
        bad |= (x[p] - x[p]) != 0.0
    return not bad


@njit(cache=True, error_model="numpy", inline="always")
def _nonzeros(x, vals, idx):
    """Write the non-zero entries of the vector ``x`` into ``vals`` and their
    positions into ``idx`` (in order); return their number.

    Branch-free (every entry is written at the next free slot, which advances only
    past a non-zero), so ``vals`` and ``idx`` need ``x``'s length: a branch per
    entry on whether a pixel is blank is mispredicted about a fifth of the time.
    """
    m = 0
    for j in range(x.shape[0]):
        xj = x[j]
        vals[m] = xj
        idx[m] = j
        m += xj != 0.0
    return m


@njit(cache=True, error_model="numpy", inline="always")
def block_ends(b, n_layers):
    """The layers a block connects: ``(src, dst)``, the layer whose inputs it reads
    (their non-zeros) and the layer whose sums it adds to (whose deltas are its
    gradient's). Block ``b < n_layers`` is layer ``b``; block ``n_layers`` is the direct
    path, from the network's input to the output layer."""
    if b < n_layers:
        return b, b
    return 0, n_layers - 1


@njit(cache=True, error_model="numpy", inline="always")
def _add_rows(in_val, in_idx, c, c_end, params, wo, n_out, z):
    """z += the rows of the weight matrix at ``wo`` (``n_out`` columns) of the non-zero
    inputs ``in_val[c:c_end]`` at ``in_idx[c:c_end]``, each times its input."""
    while c + 4 <= c_end:  # four rows per pass over z: a quarter of the loads and stores of z
        r = wo + in_idx[c] * n_out
        r1 = wo + in_idx[c + 1] * n_out
        r2 = wo + in_idx[c + 2] * n_out
        r3 = wo + in_idx[c + 3] * n_out
        _axpy4(in_val[c], params[r : r + n_out], in_val[c + 1], params[r1 : r1 + n_out],
               in_val[c + 2], params[r2 : r2 + n_out], in_val[c + 3],
               params[r3 : r3 + n_out], z)
        c += 4
    for c_rest in range(c, c_end):
        r = wo + in_idx[c_rest] * n_out
        _axpy(in_val[c_rest], params[r : r + n_out], z)


@njit(error_model="numpy", **NO_ALLOCATION, **LEAN_UNIT)
def gather_nonzeros(X, data, indices, indptr, is_sparse, in_shift, in_scale, i, vals, idx):
    """Write the non-zero values of sample ``i`` as the network sees them, ``(x -
    in_shift) * in_scale`` column by column (the inputs' normalisation; CSR input is never
    shifted: its ``in_shift`` is zero), into ``vals`` and their columns into ``idx``;
    return their number. A value equal to its column's shift is a zero: no event."""
    if not is_sparse:  # branch-free, as _nonzeros
        x = X[i]
        m = np.int64(0)  # (not the literal 0: see _all_finite's (*))
        for j in range(len(x)):
            v = (x[j] - in_shift[j]) * in_scale[j]
            vals[m] = v
            idx[m] = j
            m += v != 0.0
        return m
    m = np.int64(0)
    for c in range(indptr[i], indptr[i + 1]):
        if data[c] != 0.0:
            vals[m] = data[c] * in_scale[indices[c]]
            idx[m] = indices[c]
            m += 1
    return m


@njit(error_model="numpy", **KERNEL_ONLY)
def layer_offsets(sizes):
    """Where each layer's values start in the epoch's work arrays: ``a_off[l]``, its
    activations and deltas (one entry per unit of layer ``l + 1``: the hidden layers',
    then the outputs'), and ``r_off[l]``, its non-zero inputs (one entry per unit of layer
    ``l``); with the arrays' lengths ``n_acts`` and ``n_rows``. Returns ``(a_off, r_off,
    n_acts, n_rows)``."""
    n_layers = sizes.shape[0] - 1
    a_off = np.zeros(n_layers, np.int64)
    r_off = np.zeros(n_layers, np.int64)
    for l in range(1, n_layers):
        a_off[l] = a_off[l - 1] + sizes[l]
        r_off[l] = r_off[l - 1] + sizes[l - 1]
    last = n_layers - 1
    return a_off, r_off, a_off[last] + sizes[last + 1], r_off[last] + sizes[last]


@njit(error_model="numpy", **KERNEL_ONLY)
def sample_gradient(in_val, in_idx, n_in_nz, yi, Y, si, params, sizes, w_off, b_off, a_off,
                    r_off, acts, deltas, G, touched, rows, nrows, act, multilabel, accumulate):
    """Forward and backward pass of one sample; adds ``si`` times its gradient to G.

    The output layer is a softmax with the cross-entropy loss of class ``yi``, or with
    ``multilabel`` one sigmoid per label with the sum of the labels' binary
    cross-entropies, the targets being row ``yi`` of the 0/1 indicator matrix ``Y``.
    Either way the output deltas are ``si * (p - y)``, all the rest sees.

    Every layer's input is kept as its non-zero values and their positions: those
    of layer ``l`` are ``in_val[r_off[l] + c]`` at ``in_idx[r_off[l] + c]`` for
    ``c < n_in_nz[l]``. The caller fills layer 0's (the sample); the forward pass
    fills the hidden layers'.
    Only those rows of weights are visited, here and in :func:`online_update`.
    Marks the input rows it touched. Without ``accumulate``, only the activations,
    the layers' non-zero inputs and the deltas (already times ``si``) are left,
    for :func:`online_update`. Returns the sample's loss (unweighted), in float64.
    """
    n_layers = sizes.shape[0] - 1
    n_blocks = w_off.shape[0]
    # ---- forward
    for l in range(n_layers):
        n_out = sizes[l + 1]
        r0 = r_off[l]
        z = acts[a_off[l] : a_off[l] + n_out]
        _copy(params[b_off[l] : b_off[l] + n_out], z)
        if l == n_layers - 1 and n_blocks > n_layers:  # the direct path: from the input
            _add_rows(in_val, in_idx, 0, n_in_nz[0], params, w_off[n_layers], n_out, z)
        _add_rows(in_val, in_idx, r0, r0 + n_in_nz[l], params, w_off[l], n_out, z)
        if l < n_layers - 1:
            for u in range(n_out):
                z[u] = _activate(z[u], act)
            r1 = r_off[l + 1]
            n_in_nz[l + 1] = _nonzeros(z, in_val[r1 : r1 + n_out], in_idx[r1 : r1 + n_out])
    # ---- output deltas si * (p - y), and the loss (in float64 whatever the dtype)
    k = sizes[n_layers]
    z = acts[a_off[n_layers - 1] : a_off[n_layers - 1] + k]
    d = deltas[a_off[n_layers - 1] : a_off[n_layers - 1] + k]
    si_cast = like(si, z)
    if multilabel:
        # a sigmoid per label, the sum of the binary cross-entropies: each label's loss
        # log(1 + exp(z)) - y z, as max(z, 0) + log1p(exp(-|z|)) - y z (no overflow)
        loss = 0.0
        for u in range(k):
            p = _activate(z[u], ACT_SIGMOID)
            z64 = np.float64(z[u])
            loss += max(z64, 0.0) + math.log1p(math.exp(-abs(z64)))
            if Y[yi, u]:
                loss -= z64
                p -= like(1.0, z)
            d[u] = si_cast * p
    else:
        # softmax + cross-entropy of class yi
        zmax = z[0]
        for u in range(1, k):
            if z[u] > zmax:
                zmax = z[u]
        s = like(0.0, z)
        for u in range(k):
            s += math.exp(z[u] - zmax)
        lse = zmax + math.log(s)
        # (for float64, the same as lse - z[yi])
        loss = (np.float64(zmax) + math.log(np.float64(s))) - np.float64(z[yi])
        for u in range(k):
            d[u] = si_cast * math.exp(z[u] - lse)
        d[yi] -= si_cast
    # ---- backward: deltas of the hidden layers
    for l in range(n_layers - 1, 0, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        wo = w_off[l]
        d_out = deltas[a_off[l] : a_off[l] + n_out]
        a_in = acts[a_off[l - 1] : a_off[l - 1] + n_in]
        d_in = deltas[a_off[l - 1] : a_off[l - 1] + n_in]
        for j in range(n_in):
            w = params[wo + j * n_out : wo + (j + 1) * n_out]
            acc = like(0.0, w)
            for u in range(n_out):
                acc += w[u] * d_out[u]
            d_in[j] = acc * _derivative(a_in[j], act)
    if not accumulate:
        return loss
    # ---- gradient accumulation (only rows with a non-zero input)
    for b in range(n_blocks):
        src, dst = block_ends(b, n_layers)
        n_out = sizes[dst + 1]
        wo = w_off[b]
        r0 = r_off[src]
        d = deltas[a_off[dst] : a_off[dst] + n_out]
        if b_off[b] >= 0:
            _axpy(1.0, d, G[b_off[b] : b_off[b] + n_out])
        for c in range(r0, r0 + n_in_nz[src]):
            j = in_idx[c]
            if touched[r0 + j] == 0:  # first non-zero input on this row
                touched[r0 + j] = 1
                rows[r0 + nrows[src]] = j
                nrows[src] += 1
            _axpy(in_val[c], d, G[wo + j * n_out : wo + (j + 1) * n_out])
    return loss


@njit(cache=True, error_model="numpy", inline="always")
def _group_of(j, u, n_in, goff, scope, nd):
    """Group of weight (j, u) of a layer whose groups start at ``goff``.

    ``j == -1`` is the bias of unit ``u``. Dendrite scope: ``nd`` contiguous
    input blocks per unit plus one group for the bias; unit scope: one group
    per unit.
    """
    if scope == SCOPE_DENDRITE:
        ndl = min(nd, n_in)
        if j < 0:
            return goff + u * (ndl + 1) + ndl
        return goff + u * (ndl + 1) + (j * ndl) // n_in
    return goff + u  # SCOPE_UNIT


@njit(error_model="numpy", **KERNEL_ONLY)
def apply_update(params, G, scale, weight, t, scalar, sizes, w_off, b_off, g_off, r_off,
                 touched, rows, nrows, icfg, fcfg, pstate, gstate, glast, gcur):
    """Apply the accumulated gradient ``scale * G`` with the configured rule; zero G.

    ``t`` is the number of examples seen so far (the clock of the relaxation in
    time), ``scalar`` the rule's scalar of this update (:func:`step_scalar`).
    Every row of the synapse scope goes to :func:`update_row`, the rules' one dispatch
    point; the group scopes (the dendritic rule's ``scope="dendrite"`` and ``"unit"``,
    the only rule with groups) step here, in three phases.
    ``weight`` is the batch's mean sample weight relative to the data's mean
    (used by the sign base only, whose step has no magnitude).
    Only the rows marked as touched are visited when zero gradients are no
    events (``icfg[I_SPARSE_EVENTS]``); otherwise every parameter steps.

    The direct path (if any) is stepped first: it reads the rows its input layer
    touched, and in the group scopes its units' signal is the output layer's bias
    gradient (the units' deltas), which the output layer consumes.
    """
    n_layers = sizes.shape[0] - 1
    n_blocks = w_off.shape[0]
    sparse = icfg[I_SPARSE_EVENTS] != 0
    scope = icfg[I_SCOPE]
    nd = icfg[I_N_DENDRITES]
    eta0 = fcfg[F_ETA0]
    alpha = fcfg[F_ALPHA]
    beta2 = fcfg[F_BETA2]
    eps = fcfg[F_EPS]
    tau = fcfg[F_RELAX_TIME]
    # the group scopes' scalars in the parameters' dtype: a float32 model computes in
    # float32 here too, as the row functions do
    scale_g = like(scale, params)
    weight_g = like(weight, params)
    eta0_g = like(eta0, params)
    beta2_g = like(beta2, params)
    beta2_rest_g = like(fcfg[F_V_REST], params)
    eps_g = like(eps, params)
    for q_block in range(n_blocks):
        b = (q_block + n_blocks - 1) % n_blocks if n_blocks > n_layers else q_block
        src, dst = block_ends(b, n_layers)
        n_in = sizes[src]
        n_out = sizes[dst + 1]
        wo = w_off[b]
        bo = b_off[b]
        r0 = r_off[src]
        goff = g_off[b]
        nr = nrows[src] if sparse else n_in
        ndl = min(nd, n_in)
        if scope != SCOPE_SYNAPSE:
            g_end = goff + (n_out * (ndl + 1) if scope == SCOPE_DENDRITE else n_out)
            coef = gain_coefficients(icfg, fcfg, gcur)
            # phase A: the group signals (a block's summed data gradient; a unit's delta)
            if scope == SCOPE_DENDRITE:
                for q in range(nr):
                    j = rows[r0 + q]
                    k0 = goff + (j * ndl) // n_in
                    row = wo + j * n_out
                    for u in range(n_out):
                        gcur[k0 + u * (ndl + 1)] += G[row + u] * scale_g
            sig = b_off[dst]  # the units' deltas: the bias gradient of the layer they are in
            for u in range(n_out):
                gcur[_group_of(-1, u, n_in, goff, scope, nd)] = G[sig + u] * scale_g
            # phase B: one event per group with a non-zero signal; gcur becomes its gain
            for k in range(goff, g_end):
                sig = gcur[k]
                if sig != 0.0:
                    skipped, gstate[0, k], gstate[1, k] = gain_event(
                        gstate[0, k], gstate[1, k], t - glast[k], sig, *coef)
                    gcur[k] = 0.0 if skipped else gstate[0, k]
                    if tau > 0.0:  # the clocks run only while relaxation is on
                        glast[k] = t
                else:
                    gcur[k] = relaxed_gain(gstate[0, k], t - glast[k], tau)
        q = 0
        while q < nr + (1 if bo >= 0 else 0):
            k = 1  # rows stepped in this pass
            if q < nr:  # a row of weights
                j = rows[r0 + q] if sparse else q
                if scope == SCOPE_SYNAPSE:
                    # and the rows after it in memory: every rule is element-wise, so a run
                    # of consecutive rows is one call (the same numbers as a call per row,
                    # without the per-call work)
                    if not sparse:
                        k = nr - q
                    else:
                        while q + k < nr and rows[r0 + q + k] == j + k:
                            k += 1
                row = wo + j * n_out
                decay = alpha
            else:  # the biases, without L2
                j = -1
                row = bo
                decay = 0.0
            end = row + k * n_out
            if scope == SCOPE_SYNAPSE:  # per-parameter state (gains: group p is p)
                update_row(params[row:end], G[row:end], pstate, gstate, glast, row, end, scale,
                           decay, t, weight, scalar, icfg, fcfg, False, True)
            else:  # phase C: each parameter steps with its group's gain
                base = icfg[I_BASE]
                decay_g = like(decay, params) * scale_g
                for u in range(n_out):
                    p = row + u
                    gd = G[p] * scale_g
                    if gd == 0.0:
                        continue
                    d, pstate[1, p] = base_direction(gd + decay_g * params[p], pstate[1, p],
                                                     base, beta2_g, beta2_rest_g, eps_g,
                                                     weight_g)
                    params[p] -= eta0_g * gcur[_group_of(j, u, n_in, goff, scope, nd)] * d
            G[row:end] = 0.0  # these rows' gradient is consumed
            q += k
        if scope != SCOPE_SYNAPSE:
            for k in range(goff, g_end):
                gcur[k] = 0.0
        if b < n_layers:  # forget the touched rows of this layer (the direct path went first)
            for q in range(nrows[b]):
                touched[r0 + rows[r0 + q]] = 0
            nrows[b] = 0


# Longest run of weights the online update hands to a rule in one call (elements;
# 16 KiB of float64 gradient buffer, which stays in L1 cache).
BLOCK_ELEMENTS = 2048


@njit(error_model="numpy", **KERNEL_ONLY)
def online_update(in_val, in_idx, n_in_nz, params, sizes, w_off, b_off, a_off, r_off, deltas,
                  gbuf, work, t, weight, scalar, icfg, fcfg, pstate, gstate, glast):
    """The update of one example, straight from its activations and deltas.

    For online learning (batch size 1) when zero gradients are no events and each
    parameter has its own state (baseline rules, synapse-scope gain rules): the
    gradient of row ``j`` of a layer is ``a_j * delta``. Rows of consecutive
    non-zero inputs are consecutive in memory, so each run of them (up to
    ``BLOCK_ELEMENTS`` weights; a whole dense hidden layer's matrix when it is small)
    is one block: its gradient is written into the small buffer ``gbuf`` (in L1
    cache) and the rule's row function steps the block in one call. Every rule is
    element-wise, so this gives the same numbers as one call per row, and the same
    as :func:`sample_gradient` + :func:`apply_update`, without a full-size gradient
    array that is accumulated, read back and cleared; what it saves is the per-call
    work (the vector loop's set-up and its scalar remainder) of short rows. The
    layers' non-zero inputs are those :func:`sample_gradient` left. When every
    gradient of a layer is non-zero (checked once per layer from the smallest input
    and delta), the gain rules' loop steps it without selecting events. Each block goes
    to :func:`update_row` with the update's ``scalar`` (:func:`step_scalar`).

    Units with a zero delta (ReLU units that are off for this example, most of a
    one-pass ReLU layer) are no events either: a layer with no non-zero delta is
    skipped, and one where at most a quarter of the deltas are non-zero has the weights
    of its active units gathered into ``work`` (:func:`_active_positions` and
    :func:`_to_buffers`; from all its rows, consecutive or not, so that the rule's vector loop
    runs on one long block), stepped there as events and written back to the same
    positions, so the rule runs on the events only. The numbers are the same.
    """
    n_layers = sizes.shape[0] - 1
    rule = icfg[I_RULE]
    alpha = fcfg[F_ALPHA]
    wbuf, pbuf, gsbuf, lbuf, active, pos_buf, zero_row = work
    no_rows = zero_row[:0]
    n_params = params.shape[0]
    per_param = (pstate.shape[1] == n_params and gstate.shape[1] == n_params
                 and glast.shape[0] == n_params)
    # the state the rule reads and writes (the event clocks only while they are kept)
    writes = icfg[I_WRITES]
    state = (writes & WRITES_PSTATE != 0, writes & WRITES_GSTATE != 0,
             rule == RULE_GAIN and fcfg[F_RELAX_TIME] > 0.0)
    for b in range(w_off.shape[0]):
        src, dst = block_ends(b, n_layers)
        n_out = sizes[dst + 1]
        wo = w_off[b]
        bo = b_off[b]
        r0 = r_off[src]
        d = deltas[a_off[dst] : a_off[dst] + n_out]
        n_rows = n_in_nz[src]
        # the units with a non-zero delta (their values land in wbuf, free until the
        # first gather)
        n_act = _nonzeros(d, wbuf[:n_out], active[:n_out])
        if n_act == 0:
            continue  # no gradient of this block is non-zero: no events
        compact = 4 * n_act <= n_out and per_param
        width = n_act if compact else n_out
        max_run = max(1, BLOCK_ELEMENTS // width)
        # Is every gradient a_j * d_u of the layer non-zero (all events: the gain loop
        # needs no selects)? The inputs are non-zero; a product of non-zeros is zero only
        # by underflow, and |a_j * d_u| >= fl(min|a| * min|d|) (rounding is monotone).
        d_min = like(0.0, d)
        a_min = like(1.0, d)  # (a bound of 1 only makes the test stricter)
        if rule == RULE_GAIN:
            # (the stepped units' smallest delta: all of them, or the active ones)
            d_min = abs(d[active[0]])
            for s in range(1, n_act):
                d_min = min(d_min, abs(d[active[s]]))
            if not compact and n_act < n_out:
                d_min = like(0.0, d)  # a zero delta among the stepped units
            for c in range(r0, r0 + n_rows):
                a_min = min(a_min, abs(in_val[c]))
        rows_all_events = d_min * a_min != 0.0
        q = 0
        q_end = n_rows if bo >= 0 else n_rows - 1  # (the direct path has no biases)
        while q <= q_end:
            rows, offset = no_rows, 0  # (the rows a compact step gathers, at offset)
            if q < n_rows and compact:
                # any rows (their active units' weights are gathered anyway): the whole
                # layer in one block, long enough for the rule's vector loop
                k = min(n_rows - q, max_run)
                rows, offset = in_idx[r0 + q : r0 + q + k], wo
                for i in range(k):
                    a = in_val[r0 + q + i]
                    for s in range(n_act):
                        gbuf[i * n_act + s] = a * d[active[s]]
                row = 0  # (unused: the weights are the gathered ones)
                decay = alpha
                all_events = rows_all_events
            elif q < n_rows:  # a run of rows of weights with consecutive non-zero inputs
                j0 = in_idx[r0 + q]
                k = 1
                while q + k < n_rows and k < max_run and in_idx[r0 + q + k] == j0 + k:
                    k += 1
                row = wo + j0 * n_out
                for i in range(k):
                    a = in_val[r0 + q + i]
                    for u in range(n_out):
                        gbuf[i * n_out + u] = a * d[u]
                decay = alpha
                all_events = rows_all_events
            else:  # the biases, without L2
                k = 1
                if compact:
                    rows, offset = zero_row, bo
                    for s in range(n_act):
                        gbuf[s] = d[active[s]]
                else:
                    _copy(d, gbuf[:n_out])
                row = bo
                decay = 0.0
                all_events = d_min != 0.0  # (the biases' gradients are the deltas)
            q += k
            n_el = k * width
            g = gbuf[:n_el]
            # one call site of the (inlined) rule dispatch, on the buffers or in place
            if compact:
                pos = pos_buf[:_active_positions(offset, n_out, rows, active[:n_act], pos_buf)]
                _to_buffers(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state)
                w, ps, gs, gl, lo = wbuf[:n_el], pbuf, gsbuf, lbuf, 0
            else:
                w, ps, gs, gl, lo = params[row : row + n_el], pstate, gstate, glast, row
            update_row(w, g, ps, gs, gl, lo, lo + n_el, 1.0, decay, t, weight, scalar, icfg,
                       fcfg, all_events, False)
            if compact:
                _from_buffers(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf,
                              state)


@njit(error_model="numpy", **KERNEL_ONLY)
def _active_positions(offset, n_out, rows, active, pos):
    """Write into ``pos`` the positions of the active units (``active``) of the rows ``rows``
    of a matrix of ``n_out`` columns at ``offset``, row after row; return their number."""
    m = 0
    for b in range(rows.shape[0]):
        base = offset + rows[b] * n_out
        for s in range(active.shape[0]):
            pos[m] = base + active[s]
            m += 1
    return m


@njit(error_model="numpy", **KERNEL_ONLY)
def _to_buffers(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state):
    """The parameters at the positions ``pos``, and their state, into the buffers."""
    _exchange(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state, True)


@njit(error_model="numpy", **KERNEL_ONLY)
def _from_buffers(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state):
    """The buffers back into the positions ``pos`` (:func:`_to_buffers`' inverse)."""
    _exchange(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state, False)


@njit(cache=True, error_model="numpy", inline="always")
def _exchange(params, pstate, gstate, glast, pos, wbuf, pbuf, gsbuf, lbuf, state, gather):
    """Copy the parameters at the positions ``pos`` into the buffers (``gather``), or the
    buffers back into their places, with the state the rule reads: ``state`` is
    ``(pstate, gstate, glast)`` as flags. One pass per array, each a plain gather or
    scatter loop (:func:`_move`). ``gather`` is a constant of the two callers (inlined, so
    Numba prunes the other direction instead of compiling a literal copy)."""
    with_p, with_g, with_l = state
    _move(params, wbuf, pos, gather)
    if with_p:
        _move(pstate[0], pbuf[0], pos, gather)
        _move(pstate[1], pbuf[1], pos, gather)
    if with_g:
        _move(gstate[0], gsbuf[0], pos, gather)
        _move(gstate[1], gsbuf[1], pos, gather)
    if with_l:
        _move(glast, lbuf, pos, gather)


@njit(cache=True, error_model="numpy", inline="always")
def _move(a, buf, pos, gather):
    """``buf[m] = a[pos[m]]`` (``gather``) or ``a[pos[m]] = buf[m]`` for every ``m``."""
    if gather:
        for m in range(pos.shape[0]):
            buf[m] = a[pos[m]]
    else:
        for m in range(pos.shape[0]):
            a[pos[m]] = buf[m]


# Slots of the change detector's state (``drift``, float64): its two settings, then the
# Page-Hinkley statistics of the examples' error probabilities.
D_THRESHOLD = 0  # <= 0: no detection
D_TOLERANCE = 1
D_COUNT = 2
D_MEAN = 3
D_SUM = 4
D_MIN = 5
N_DRIFT = 6


@njit(cache=True, error_model="numpy", inline="always")
def change_detected(loss, drift):
    """Page-Hinkley test for an increase of the error, one example at a time.

    The example's error probability ``e = 1 - p_y = 1 - exp(-loss)`` (its loss is
    ``-log p_y``, computed before the example is learned; for multilabel outputs the mean
    of the labels' binary cross-entropies, so that ``e`` is one minus the geometric mean
    of the probabilities given to the true value of each label) enters the running mean
    ``m_n``; the cumulative sum ``S_n = sum_i (e_i - m_i - tolerance)`` and its
    minimum are kept in ``drift``; a change is declared when ``S_n - min S`` exceeds
    the threshold, and the statistics then start anew. Returns whether it was.
    """
    e = 1.0 - math.exp(-loss)
    # (the running values in local names, each entry of drift read once: every indexing
    # costs a first compilation of a kernel that inlines this function about 10,000 Python
    # calls; the same arithmetic as the updates in place)
    count = drift[D_COUNT] + 1.0
    mean0 = drift[D_MEAN]
    mean = mean0 + (e - mean0) / count
    total = drift[D_SUM] + (e - mean - drift[D_TOLERANCE])
    drift[D_COUNT] = count
    drift[D_MEAN] = mean
    drift[D_SUM] = total
    if total < drift[D_MIN]:  # (min(), written out: see default_gain_element)
        drift[D_MIN] = total
    if total - drift[D_MIN] <= drift[D_THRESHOLD]:
        return False
    for k in range(D_COUNT, N_DRIFT):
        drift[k] = 0.0
    return True


@njit(error_model="numpy", **KERNEL_ONLY, **NO_ALLOCATION)
def clear_direct_path(params, w_off, g_off, n_layers, t, icfg, fcfg, pstate, gstate, glast):
    """Forget the direct input-to-output path: its weights become zero and its
    optimiser state starts anew (no moments, gains of 1 without a history, clocks at
    ``t``), as at the start of training. The layers keep everything. State that the
    configuration never writes is not written here either (a partial_fit may share it
    with the fitted model): the arrays the rule does not write (``icfg[I_WRITES]``, from
    the rule table), the clocks while the relaxation in time is off."""
    writes = icfg[I_WRITES]
    for p in range(w_off[n_layers], params.shape[0]):
        params[p] = 0.0
        if writes & WRITES_PSTATE:
            pstate[0, p] = 0.0
            pstate[1, p] = 0.0
    if writes & WRITES_GSTATE:
        for k in range(g_off[n_layers], gstate.shape[1]):
            gstate[0, k] = 1.0
            gstate[1, k] = 0.0
            if fcfg[F_RELAX_TIME] > 0.0:
                glast[k] = t


@njit(cache=True, error_model="numpy", inline="always")
def clear_and_log_change(params, w_off, g_off, n_layers, seen, icfg, fcfg, pstate, gstate,
                         glast, drift_log):
    """What a declared change does, after ``seen`` examples: the direct path is cleared
    (:func:`clear_direct_path`) and ``seen`` is logged in ``drift_log`` (``drift_log[0]``
    counts the changes, ``drift_log[1:]`` holds their example counts, as many as fit)."""
    clear_direct_path(params, w_off, g_off, n_layers, seen, icfg, fcfg, pstate, gstate, glast)
    k = drift_log[0] + 1
    if k < drift_log.shape[0]:
        drift_log[k] = seen
    drift_log[0] = k


def online_epoch(batch_size, icfg):
    """Whether :func:`train_epoch_online` is the kernel for ``batch_size`` and the
    configuration ``icfg``: online learning (batch size 1) when zero gradients are no
    events and each parameter has its own state (the update of :func:`online_update`).
    """
    return (batch_size == 1 and icfg[I_SPARSE_EVENTS] != 0
            and icfg[I_SCOPE] == SCOPE_SYNAPSE)


@njit(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True, **PIPELINE)
def train_epoch(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw, order,
                batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg, pstate, gstate,
                glast, counters, drift, drift_log):
    """Train on ``order`` (indices into X) in batches of ``batch_size``.

    X is either dense (``X``, shape (n_samples, n_features)) or CSR (``data``,
    ``indices``, ``indptr``), as ``is_sparse`` says; the unused form is an empty
    array. The network sees every input column ``j`` as ``(x_j - in_shift[j]) *
    in_scale[j]`` (in ``params``' dtype; zeros and ones for none; CSR input is never
    shifted); X is never written.
    ``counters`` holds [examples seen, updates made] and is advanced in place, as are
    ``params`` and the optimiser state.

    ``y[i]`` is example ``i``'s class index (softmax outputs), or, with
    ``icfg[I_MULTILABEL]`` (sigmoid outputs, binary cross-entropy per label), its row in
    ``Y``, the uint8 indicator matrix of the labels (shape ``(n_rows, n_labels)``; an
    empty ``(0, 0)`` array for a softmax network, which never reads it).

    With a direct path and a positive ``drift[D_THRESHOLD]``, every example's loss
    (before it is learned; with multilabel outputs, its mean over the labels) feeds the
    change detector (:func:`change_detected`); when it
    declares a change, the direct path is cleared (:func:`clear_direct_path`) and the
    example count is logged: ``drift_log[0]`` counts the changes, ``drift_log[1:]``
    holds their example counts (as many as fit).

    Returns ``(weighted_loss_sum, status)``; a non-zero status means the loss or
    the weights became non-finite and the arrays must be discarded.

    Runs without the GIL (``nogil``): independent estimators train in parallel
    threads (:func:`skadapt.fit_parallel`).

    This kernel runs every configuration, each update through :func:`apply_update`;
    for those of :func:`online_epoch` (which :func:`skadapt._learner.epoch_kernel` asks),
    :func:`train_epoch_online` runs the same epoch (the same numbers: the kernel tests
    compare both with the reference) with :func:`online_update` instead, faster, and
    compiles only that: a first online fit compiles about a fifth less.
    """
    return _epoch(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw, order,
                  batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg, pstate, gstate,
                  glast, counters, drift, drift_log, False)


@njit(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True, **PIPELINE)
def train_epoch_online(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw,
                       order, batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg,
                       pstate, gstate, glast, counters, drift, drift_log):
    """:func:`train_epoch` for the configurations of :func:`online_epoch` only (the
    caller's promise: it is not checked), each example's update straight from its
    activations and deltas (:func:`online_update`: no gradient array)."""
    return _epoch(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw, order,
                  batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg, pstate, gstate,
                  glast, counters, drift, drift_log, True)


@njit(error_model="numpy", inline="always")
def _epoch(X, data, indices, indptr, is_sparse, in_shift, in_scale, y, Y, sw, order,
           batch_size, params, sizes, w_off, b_off, g_off, icfg, fcfg, pstate, gstate, glast,
           counters, drift, drift_log, online_only):
    """The body of both kernels: the constant ``online_only`` picks the update, and
    Numba prunes the other branch before it compiles."""
    n_layers = sizes.shape[0] - 1
    dt = params.dtype
    a_off, r_off, n_acts, n_rows = layer_offsets(sizes)
    acts = np.zeros(n_acts, dt)
    deltas = np.zeros(n_acts, dt)
    touched = np.zeros(n_rows, np.uint8)
    rows = np.zeros(n_rows, np.int64)
    nrows = np.zeros(n_layers, np.int64)
    gcur = np.zeros(gstate.shape[1] if icfg[I_SCOPE] != SCOPE_SYNAPSE else 0, gstate.dtype)
    in_val = np.zeros(n_rows, dt)  # every layer's non-zero inputs (see sample_gradient)
    in_idx = np.zeros(n_rows, np.int64)
    n_in_nz = np.zeros(n_layers, np.int64)
    act = icfg[I_ACTIVATION]
    multilabel = icfg[I_MULTILABEL] != 0
    # the full-size gradient only where it is accumulated (online_update needs none, and
    # zeroing it is a pass over every parameter, which a partial_fit of one example would
    # pay for nothing); online_update's blocks and buffers only where it runs
    G = np.zeros(0 if online_only else params.shape[0], dt)
    widest = np.int64(0)  # (not a literal: see _all_finite's (*))
    if online_only:
        widest = np.int64(BLOCK_ELEMENTS)  # online_update's blocks: at most this, or one row
        for l in range(n_layers + 1):
            widest = max(widest, sizes[l])
    gbuf = np.zeros(widest, dt)
    # online_update's buffers for the active units' weights and state
    work = (np.zeros(widest, dt), np.zeros((2, widest), dt), np.zeros((2, widest), gstate.dtype),
            np.zeros(widest, np.float64), np.zeros(widest, np.int64), np.zeros(widest, np.int64),
            np.zeros(1, np.int64))
    loss_sum = 0.0
    detect = drift[D_THRESHOLD] > 0.0 and w_off.shape[0] > n_layers
    # the detector's loss: a softmax's, or the binary cross-entropies' mean over the labels
    n_terms = np.float64(sizes[n_layers]) if multilabel else 1.0
    n = order.shape[0]
    sw_mean = 0.0
    for q in range(n):
        sw_mean += sw[order[q]]
    sw_mean /= n
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch_weight = 0.0
        for q in range(start, stop):
            i = order[q]
            batch_weight += sw[i]
            n_in_nz[0] = gather_nonzeros(X, data, indices, indptr, is_sparse, in_shift,
                                         in_scale, i, in_val, in_idx)
            loss = sample_gradient(in_val, in_idx, n_in_nz, y[i], Y, sw[i], params, sizes,
                                   w_off, b_off, a_off, r_off, acts, deltas, G, touched, rows,
                                   nrows, act, multilabel, not online_only)
            if not math.isfinite(loss):
                return loss_sum, STATUS_NONFINITE_LOSS
            loss_sum += sw[i] * loss
            if detect and change_detected(loss / n_terms, drift):
                clear_and_log_change(params, w_off, g_off, n_layers,
                                     counters[0] + (q - start) + 1, icfg, fcfg, pstate,
                                     gstate, glast, drift_log)
        counters[0] += stop - start
        counters[1] += 1
        scalar = step_scalar(icfg, fcfg, counters[1])
        if online_only:
            online_update(in_val, in_idx, n_in_nz, params, sizes, w_off, b_off, a_off, r_off,
                          deltas, gbuf, work, counters[0], batch_weight / sw_mean, scalar, icfg,
                          fcfg, pstate, gstate, glast)
        else:
            apply_update(params, G, 1.0 / (stop - start),
                         batch_weight / (stop - start) / sw_mean, counters[0], scalar, sizes,
                         w_off, b_off, g_off, r_off, touched, rows, nrows, icfg, fcfg, pstate,
                         gstate, glast, gcur)
    if not _all_finite(params):
        return loss_sum, STATUS_NONFINITE_WEIGHTS
    return loss_sum, STATUS_OK


@njit(cache=True, error_model="numpy", **PIPELINE)
def step_sizes(sizes, w_off, b_off, g_off, icfg, fcfg, pstate, gstate, glast, counters, out):
    """Each parameter's current step size into ``out`` (float64, one per parameter), as
    the rule defines it (:func:`skadapt._rules.step_size`, of the rule's kind
    ``icfg[I_STEP_SIZE]``): the group of every parameter as the update finds it
    (:func:`_group_of`), its gain relaxed as the update relaxes it, and the update's
    scalar of the last update (:func:`step_scalar`)."""
    n_layers = sizes.shape[0] - 1
    scope = icfg[I_SCOPE]
    nd = icfg[I_N_DENDRITES]
    kind = icfg[I_STEP_SIZE]
    eta0 = fcfg[F_ETA0]
    eps = fcfg[F_EPS]
    tau = fcfg[F_RELAX_TIME]
    t = counters[0]
    n_updates = counters[1]
    scalar = step_scalar(icfg, fcfg, n_updates)
    for b in range(w_off.shape[0]):
        src, dst = block_ends(b, n_layers)
        n_in = sizes[src]
        n_out = sizes[dst + 1]
        for j in range(-1, n_in):  # -1: the biases
            if j < 0 and b_off[b] < 0:
                continue  # (the direct path has none)
            row = b_off[b] if j < 0 else w_off[b] + j * n_out
            for u in range(n_out):
                p = row + u
                k = p if scope == SCOPE_SYNAPSE else _group_of(j, u, n_in, g_off[b], scope, nd)
                out[p] = step_size(kind, eta0, scalar, n_updates, np.float64(gstate[0, k]),
                                   t - glast[k], tau, np.float64(pstate[1, p]), eps)
