"""Small compiled helpers of the one-example-at-a-time path (:mod:`skadapt.river`).

The training itself is :func:`skadapt._kernel.train_epoch`'s; these helpers do, for one
example and in one compiled call each, what the estimator does with NumPy for a batch:
update the running input statistics and the input transform that follows from them
(:func:`observe`, the same arithmetic as ``_input_batch_stats`` and
``_merge_input_stats`` of :mod:`skadapt._classifier` for a batch of one row), and the
forward pass of one example to its class probabilities (:func:`predict_proba_row`).
On 9 inputs a NumPy version of either costs some 10-20 calls of about a microsecond;
each helper is one call. They inline nothing from other modules, so that Numba's on-disk
cache of this module goes stale only with this file.
"""

import math

import numpy as np
from numba import njit

from ._rules import PIPELINE

# the smallest scale of an input (the smallest normal float64; a smaller one's reciprocal
# would overflow): skadapt._classifier's _SMALLEST_SCALE, repeated for the same reason
_SMALLEST_SCALE = 2.2250738585072014e-308
# the activation codes of skadapt._rules (ACT_SIGMOID, ACT_RELU, ACT_TANH), repeated here
# so that this module's cache depends on this file only (tests/test_river.py checks them)
_SIGMOID = 0
_RELU = 1


@njit(cache=True, error_model="numpy", inline="always")
def _add_rows(a, n_in, params, wo, n_out, z):
    """``z += a @ W`` for the block of weights at ``wo`` (``n_in`` rows of ``n_out``),
    visiting only the rows of the non-zero inputs."""
    for j in range(n_in):
        v = a[j]
        if v != 0.0:
            r = wo + j * n_out
            for u in range(n_out):
                z[u] += v * params[r + u]


@njit(cache=True, error_model="numpy", **PIPELINE)
def observe(x, stats, shift, inv_scale, centred_share, centred_bound, alike_spread):
    """Count the example ``x`` in the running input statistics ``stats`` (7, n_features:
    largest ``|x|``, examples, non-zeros, mean, sum of squared deviations, largest and
    smallest ``x``), and write the input transform they give into ``shift`` and
    ``inv_scale`` (the network sees ``(x - shift) * inv_scale``; divisors rounded up to
    powers of two; a feature non-zero in at least ``centred_share`` of the examples (the
    estimator's ``_CENTRED_SHARE`` of its ``input_scaling``; ``inf`` for none) is centred
    on its mean and divided by its standard deviation, or by its largest deviation from
    the mean over ``centred_bound`` where that is larger); where the centred features'
    non-zero standard deviations are all within a factor ``alike_spread`` of each other
    (0: never), each is divided by their median instead of its own (the estimator's
    ``_keep_alike_spreads``). All in place.

    Returns False, changing nothing, if some value of ``x`` is not finite.
    """
    n_features = x.shape[0]
    for j in range(n_features):
        if not math.isfinite(x[j]):
            return False
    n_a = stats[1, 0] if n_features else 0.0
    n = n_a + 1.0
    w_new = 1.0 / n  # (the weight of the new example in the mean: n_b / n, n_b = 1)
    w_old = n_a / n
    for j in range(n_features):
        v = x[j]
        m = abs(v)
        if m > stats[0, j]:
            stats[0, j] = m
        stats[1, j] = n
        if v != 0.0:
            stats[2, j] += 1.0
        delta = v - stats[3, j]
        stats[3, j] = stats[3, j] + delta * w_new
        stats[4, j] = (stats[4, j] + 0.0) + delta * delta * w_old
        if n_a == 0.0 or v > stats[5, j]:
            stats[5, j] = v
        if n_a == 0.0 or v < stats[6, j]:
            stats[6, j] = v
    # the divisors (inv_scale holds them until they are rounded), then the spreads' range
    n_alike = 0
    low = np.inf
    high = 0.0
    for j in range(n_features):
        scale = stats[0, j]
        s = 0.0
        if stats[2, j] >= centred_share * n:
            s = stats[3, j]
            sd = math.sqrt(stats[4, j] / n)
            scale = max(sd, max(stats[5, j] - s, s - stats[6, j]) / centred_bound)
            if sd > 0.0:
                n_alike += 1
                low = min(low, sd)
                high = max(high, sd)
        shift[j] = s
        inv_scale[j] = scale
    alike = alike_spread > 0.0 and n_alike > 0 and high <= alike_spread * low
    median = 0.0
    if alike:
        spreads = np.empty(n_alike)
        k = 0
        for j in range(n_features):
            sd = math.sqrt(stats[4, j] / n)
            if stats[2, j] >= centred_share * n and sd > 0.0:
                spreads[k] = sd
                k += 1
        median = np.median(spreads)
    for j in range(n_features):
        scale = inv_scale[j]
        if alike and stats[2, j] >= centred_share * n:
            sd = math.sqrt(stats[4, j] / n)
            if sd > 0.0:
                scale *= median / sd
        # rounded up to a power of two (1 for none or below the smallest normal number),
        # as np.frexp / np.ldexp do it
        p = 1.0
        if scale >= _SMALLEST_SCALE:
            frac, ex = math.frexp(scale)
            p = math.ldexp(1.0, ex - 1 if frac == 0.5 else ex)
        inv_scale[j] = 1.0 / p
    return True


@njit(cache=True, error_model="numpy", **PIPELINE)
def predict_proba_row(x, shift, inv_scale, params, sizes, w_off, b_off, act, out):
    """The class probabilities of one example ``x`` (raw features), written into
    ``out``: the network's forward pass on ``(x - shift) * inv_scale`` (the parameters
    in the network's coordinates, laid out as :mod:`skadapt._network` says; a direct
    path if ``w_off`` has a block more than the layers), then a softmax after
    subtracting the largest logit. Returns False if a logit is not finite (``out`` is
    then not a distribution)."""
    n_layers = sizes.shape[0] - 1
    n_in = sizes[0]
    xin = np.empty(n_in)
    for j in range(n_in):
        xin[j] = (x[j] - shift[j]) * inv_scale[j]
    a = xin
    for l in range(n_layers):
        n_i = sizes[l]
        n_o = sizes[l + 1]
        z = np.empty(n_o)
        bo = b_off[l]
        for u in range(n_o):
            z[u] = params[bo + u]
        _add_rows(a, n_i, params, w_off[l], n_o, z)
        if l < n_layers - 1:
            for u in range(n_o):
                if act == _SIGMOID:
                    e = math.exp(-abs(z[u]))
                    z[u] = (1.0 if z[u] >= 0.0 else e) / (1.0 + e)
                elif act == _RELU:
                    z[u] = max(z[u], 0.0)
                else:
                    z[u] = math.tanh(z[u])
        a = z
    n_out = sizes[n_layers]
    if w_off.shape[0] > n_layers:  # the direct path
        _add_rows(xin, n_in, params, w_off[n_layers], n_out, a)
    top = -np.inf
    for u in range(n_out):
        if not math.isfinite(a[u]):
            return False
        top = max(top, a[u])
    total = 0.0
    for u in range(n_out):
        out[u] = math.exp(a[u] - top)
        total += out[u]
    for u in range(n_out):
        out[u] /= total
    return True
