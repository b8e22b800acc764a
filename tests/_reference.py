"""Slow, obvious NumPy reference of the learner, for comparison with the kernel.

Written from the rule's definition (doc/user_guide.md), not from the kernel: whole
matrices, explicit loops over the elements that have an event, no tricks.
"""

import numpy as np
from scipy.special import expit, logsumexp


def unpack(params, sizes):
    """The layers' (W, b), and the direct path's weights after them (or None)."""
    out, pos = [], 0
    for l in range(len(sizes) - 1):
        W = params[pos : pos + sizes[l] * sizes[l + 1]].reshape(sizes[l], sizes[l + 1])
        pos += sizes[l] * sizes[l + 1]
        b = params[pos : pos + sizes[l + 1]]
        pos += sizes[l + 1]
        out.append((W, b))
    D = params[pos:].reshape(sizes[0], sizes[-1]) if pos < params.size else None
    return out, D


def act(z, name):
    return {"sigmoid": expit, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh}[name](z)


def dact(a, name):
    return {"sigmoid": a * (1 - a), "relu": (a > 0).astype(float), "tanh": 1 - a**2}[name]


def loss_and_grad(params, sizes, x, y, s, activation):
    """Cross-entropy loss of one example and s times its gradient (flat).

    ``y`` is the example's class index (softmax outputs, categorical cross-entropy), or a
    vector of 0 and 1, its row of a multilabel indicator matrix (a sigmoid per output,
    the sum of the labels' binary cross-entropies)."""
    layers, D = unpack(params, sizes)
    a = [x]
    for l, (W, b) in enumerate(layers):
        z = a[-1] @ W + b
        a.append(act(z, activation) if l < len(layers) - 1 else z)
    z = a[-1] if D is None else a[-1] + x @ D
    if np.ndim(y) == 1:  # multilabel: -log p(y_u) = log(1 + exp(z_u)) - y_u z_u per label
        loss = np.sum(np.logaddexp(0.0, z) - y * z)
        delta = s * (expit(z) - y)
    else:
        loss = logsumexp(z) - z[y]
        p = np.exp(z - logsumexp(z))
        delta = s * (p - np.eye(len(z))[y])
    direct = [] if D is None else [np.outer(x, delta).ravel()]
    grads = [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        W, _ = layers[l]
        grads[l] = (np.outer(a[l], delta), delta.copy())
        if l > 0:
            delta = (W @ delta) * dact(a[l], activation)
    flat = np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in grads] + direct)
    return loss, flat


def weight_mask(sizes, direct):
    return np.concatenate(
        [np.r_[np.ones(sizes[l] * sizes[l + 1], bool), np.zeros(sizes[l + 1], bool)]
         for l in range(len(sizes) - 1)] + [np.ones(sizes[0] * sizes[-1] * direct, bool)]
    )


def group_index(sizes, scope, n_dendrites, direct):
    """Group of every parameter (flat), written out unit by unit; the number of groups;
    and the groups whose signal is not their parameters' summed gradient: the direct
    path's units' bias groups (it has no biases), driven by the output units' deltas,
    as ``(groups, parameter index of the output bias they read)``."""
    blocks = [(sizes[l], sizes[l + 1], True) for l in range(len(sizes) - 1)]
    if direct:
        blocks.append((sizes[0], sizes[-1], False))
    n_layered = sum(sizes[l] * sizes[l + 1] + sizes[l + 1] for l in range(len(sizes) - 1))
    out_bias = n_layered - sizes[-1] + np.arange(sizes[-1])
    groups, goff, virtual = [], 0, (np.zeros(0, int), np.zeros(0, int))
    for n_in, n_out, has_bias in blocks:
        if scope == "synapse":
            n = n_in * n_out + (n_out if has_bias else 0)
            groups.append(goff + np.arange(n))
            goff += n
            continue
        gW = np.empty((n_in, n_out), int)
        gb = np.empty(n_out, int)
        nd = min(n_dendrites, n_in)
        for u in range(n_out):
            for j in range(n_in):
                if scope == "unit":
                    gW[j, u] = goff + u
                else:
                    block = (j * nd) // n_in  # contiguous input blocks
                    gW[j, u] = goff + u * (nd + 1) + block
            gb[u] = goff + u if scope == "unit" else goff + u * (nd + 1) + nd
        if has_bias:
            groups.append(np.concatenate([gW.ravel(), gb]))
        else:
            groups.append(gW.ravel())
            virtual = (gb, out_bias)
        goff += n_out if scope == "unit" else n_out * (nd + 1)
    return np.concatenate(groups), goff, virtual


def base_step(est):
    """The step the direction is multiplied by (from the docs): ``learning_rate_init``,
    over ``sqrt(1 - beta_2)`` for the leaky sum of ``base="adagrad"``."""
    if est.rule == "dendritic" and est.base == "adagrad":
        return est.learning_rate_init / np.sqrt(1 - est.beta_2)
    return est.learning_rate_init


# ------------------------------------------------------------------ the rules
# Every rule of the estimator's rule table (skadapt._config.RULE_TABLE) has its reference
# here, by name: a baseline as its update and its step size, a member of the
# adaptive-gain family as its settings. tests/test_kernel_vs_reference.py fails for a
# rule of the table that has none.


def _sgd(ref, g):
    ref.params -= ref.rate() * g


def _momentum(ref, g):
    e = ref.est
    ref.m = e.momentum * ref.m - ref.rate() * g
    ref.params += ref.m


def _nesterov(ref, g):
    e = ref.est
    ref.m = e.momentum * ref.m - ref.rate() * g
    ref.params += e.momentum * ref.m - ref.rate() * g


def _adam_rate(ref, rate):
    """Adam's bias-corrected step of update number ``ref.n_updates``, for the base step
    ``rate``."""
    e, s = ref.est, ref.n_updates
    return rate * np.sqrt(1 - e.beta_2**s) / (1 - e.beta_1**s)


def _adam(ref, g):
    e = ref.est
    ref.m = e.beta_1 * ref.m + (1 - e.beta_1) * g
    ref.v = e.beta_2 * ref.v + (1 - e.beta_2) * g**2
    ref.params -= _adam_rate(ref, ref.rate()) * ref.m / (np.sqrt(ref.v) + e.epsilon)


def _base_step(ref):
    return np.full(ref.params.size, ref.est.learning_rate_init)


def _adam_step(ref):
    """Adam's bias-corrected step over the root of the second moment; the base step
    before the first update."""
    if ref.n_updates == 0:
        return _base_step(ref)
    return _adam_rate(ref, ref.est.learning_rate_init) / (np.sqrt(ref.v) + ref.est.epsilon)


def _adagrad(ref, g):
    """Duchi, Hazan and Singer (2011): each weight's step over the root of the sum of its
    squared gradients."""
    ref.v = ref.v + g**2
    ref.params -= ref.rate() * g / (np.sqrt(ref.v) + ref.est.epsilon)


def _adagrad_step(ref):
    """The base step over the root of the sum of squares; the base step before the first
    update."""
    if ref.n_updates == 0:
        return _base_step(ref)
    return ref.est.learning_rate_init / (np.sqrt(ref.v) + ref.est.epsilon)


# name: (update(ref, g) with g the gradient of the update, L2 included; step sizes(ref))
BASELINES = {
    "sgd": (_sgd, _base_step),
    "momentum": (_momentum, _base_step),
    "nesterov": (_nesterov, _base_step),
    "adam": (_adam, _adam_step),
    "adagrad": (_adagrad, _adagrad_step),
}

# the adaptive-gain settings each rule of the family stands for (from the docs)
GAIN_RULES = {
    "dendritic": lambda est: dict(
        growth=est.growth, up=est.gain_up, fallback=est.fallback, down=est.gain_down,
        coherence=est.coherence, theta=est.trace_decay, tau=est.relax_time, base=est.base,
        skip=False, scope=est.scope),
    "delta_bar_delta": lambda est: dict(
        growth="additive", up=est.dbd_kappa, fallback="shrink", down=1 - est.dbd_phi,
        coherence="trace", theta=est.dbd_theta, tau=None, base="gradient", skip=False,
        scope="synapse"),
    "rprop": lambda est: dict(
        growth="multiplicative", up=est.rprop_increase, fallback="shrink",
        down=est.rprop_decrease, coherence="sign", theta=0.0, tau=None, base="sign",
        skip=True, scope="synapse"),
}

REFERENCE_RULES = frozenset(BASELINES) | frozenset(GAIN_RULES)


def gain_rule_settings(est):
    """The adaptive-gain settings ``est.rule`` stands for."""
    return GAIN_RULES[est.rule](est)


class ReferenceLearner:
    """Reference training loop with the same state as the estimator: ``m``, ``v`` per
    parameter, ``gain``, ``prev``, ``last`` per group (the names of the estimator's
    ``skadapt._config.STATE_ROWS``)."""

    def __init__(self, est, sizes, params):
        if est.rule not in REFERENCE_RULES:
            raise NotImplementedError(f"rule={est.rule!r} has no reference")
        self.est = est
        self.sizes = sizes
        self.params = params.astype(np.float64).copy()
        n = params.size
        self.m = np.zeros(n)  # velocity / first moment
        self.v = np.zeros(n)  # second moment / rms mean
        self.t = 0
        self.n_updates = 0
        self.step_factor = 1.0
        n_layered = sum(sizes[l] * sizes[l + 1] + sizes[l + 1] for l in range(len(sizes) - 1))
        direct = params.size > n_layered
        self.n_layered = n_layered
        self.is_weight = weight_mask(sizes, direct)
        # the change detector (drift_threshold): Page-Hinkley statistics of the examples'
        # error probabilities, and the example counts of the changes it declared
        self.detect = direct and est.drift_threshold is not None
        self.ph = dict(n=0, mean=0.0, sum=0.0, min=0.0)
        self.detected = []
        if est.rule in GAIN_RULES:
            self.cfg = gain_rule_settings(est)
            self.group, n_groups, self.virtual = group_index(sizes, self.cfg["scope"],
                                                             est.n_dendrites, direct)
            self.gain = np.ones(n_groups)
            self.prev = np.zeros(n_groups)
            self.last = np.zeros(n_groups, int)

    def step_sizes(self):
        """Each parameter's current step size: the base step times its (relaxed) gain for
        the gain rules, Adam's bias-corrected step over the root of its second moment, the
        base step for the other baselines."""
        e = self.est
        eta = base_step(e)
        if e.rule in BASELINES:
            return BASELINES[e.rule][1](self)
        gain = self.gain
        if self.cfg["tau"] is not None:
            gain = 1 + (gain - 1) * np.exp(-(self.t - self.last) / self.cfg["tau"])
        return eta * gain[self.group]

    def rate(self):
        """The base step of this epoch's updates: ``learning_rate_init`` times the
        epoch's factor (``epoch_decay``)."""
        return self.est.learning_rate_init * self.step_factor

    def train(self, X, y, sw, order, batch_size, step_factor=1.0):
        """One epoch over ``order``; ``step_factor`` multiplies every base step of it
        (``fit``'s epoch ``e`` has ``e ** -epoch_decay``), not the step sizes reported."""
        self.step_factor = step_factor
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            G = np.zeros_like(self.params)
            for k, i in enumerate(idx):
                loss, g = loss_and_grad(self.params, self.sizes, X[i], y[i], sw[i],
                                        self.est.activation)
                G += g
                total += sw[i] * loss
                # the detector's error probability: of the class, or multilabel, one minus
                # the geometric mean of the labels' probabilities (their mean loss)
                n_terms = len(y[i]) if np.ndim(y[i]) == 1 else 1
                if self.detect and self.change_detected(1.0 - np.exp(-loss / n_terms)):
                    self.clear_direct_path(self.t + k + 1)
            self.t += len(idx)
            self.n_updates += 1
            self.update(G, 1.0 / len(idx), sw[idx].mean() / sw[order].mean())
        return total

    def change_detected(self, e):
        """Page-Hinkley: has the error probability risen (summed excess over its running
        mean and a tolerance of 0.05, since its low point) beyond the threshold?"""
        ph = self.ph
        ph["n"] += 1
        ph["mean"] += (e - ph["mean"]) / ph["n"]
        ph["sum"] += e - ph["mean"] - 0.05
        ph["min"] = min(ph["min"], ph["sum"])
        if ph["sum"] - ph["min"] <= self.est.drift_threshold:
            return False
        self.ph = dict(n=0, mean=0.0, sum=0.0, min=0.0)
        return True

    def clear_direct_path(self, t):
        """The direct path starts anew: zero weights, no moments, gains of 1 without a
        history (its groups come after the layers'), clocks at t."""
        self.detected.append(t)
        d = slice(self.n_layered, None)
        self.params[d] = 0.0
        self.m[d] = 0.0
        self.v[d] = 0.0
        if hasattr(self, "gain"):
            k0 = self.group[self.n_layered:].min()
            self.gain[k0:] = 1.0
            self.prev[k0:] = 0.0
            if self.cfg["tau"] is not None:
                self.last[k0:] = t

    def update(self, G, scale, weight):
        e = self.est
        w = self.params
        eta = base_step(e) * self.step_factor
        gd = G * scale
        g = gd + e.alpha * scale * w * self.is_weight
        if e.rule in BASELINES:
            BASELINES[e.rule][0](self, g)
            return
        c = self.cfg
        # the signal of every group
        if c["scope"] == "synapse":
            signal = gd.copy()
        elif c["scope"] == "unit":
            signal = np.zeros(self.gain.size)
            signal[self.group[~self.is_weight]] = gd[~self.is_weight]
        else:
            signal = np.zeros(self.gain.size)
            np.add.at(signal, self.group, gd)
        if c["scope"] != "synapse":
            signal[self.virtual[0]] = gd[self.virtual[1]]
        step_gain = np.empty(self.gain.size)
        for k in range(self.gain.size):
            gain = self.gain[k]
            if c["tau"] is not None:
                gain = 1 + (gain - 1) * np.exp(-(self.t - self.last[k]) / c["tau"])
            if signal[k] == 0:  # no event: nothing changes
                step_gain[k] = gain
                continue
            coherent = signal[k] * self.prev[k]
            skipped = False
            if coherent > 0:
                gain = gain + c["up"] if c["growth"] == "additive" else gain * c["up"]
            elif coherent < 0:
                gain = 1.0 if c["fallback"] == "reset" else gain * c["down"]
                skipped = c["skip"]
            gain = min(max(gain, e.min_gain), e.max_gain)
            if c["coherence"] == "sign":
                self.prev[k] = 0.0 if skipped else np.sign(signal[k])
            else:
                self.prev[k] = c["theta"] * self.prev[k] + (1 - c["theta"]) * signal[k]
            self.gain[k] = gain
            if c["tau"] is not None:  # the clocks run only while relaxation is on
                self.last[k] = self.t
            step_gain[k] = 0.0 if skipped else gain
        for p in np.flatnonzero(gd != 0):
            k = self.group[p]
            if step_gain[k] == 0.0:
                continue
            if c["base"] == "gradient":
                d = g[p]
            elif c["base"] == "sign":
                d = np.sign(g[p]) * weight  # a sign has no size: weights act here
            elif c["base"] == "adagrad":  # the leaky sum of the squared gradients of the events
                self.v[p] = e.beta_2 * self.v[p] + g[p] ** 2
                d = g[p] / (np.sqrt(self.v[p]) + e.epsilon)
            else:
                self.v[p] = g[p] ** 2 if self.v[p] == 0 else (
                    e.beta_2 * self.v[p] + (1 - e.beta_2) * g[p] ** 2)
                d = g[p] / (np.sqrt(self.v[p]) + e.epsilon)
            w[p] -= eta * step_gain[k] * d
