"""The learner's state: the optimiser state of a model being trained, its private copy
and its commit, what it reports (``step_sizes_``), and which training kernel trains it
(:func:`epoch_kernel`).

The estimator (:mod:`skadapt._classifier`) validates, runs the epochs, stops early and
warns; this module owns the state it trains. The state of a model is one dict (the
estimator's ``_state`` once fitted; it pickles with the estimator). Its optimiser arrays
are stacked as the kernel takes them, ``pstate`` (per parameter, two rows), ``gstate``
(per group, two rows) and ``glast`` (per group); :func:`views` names their rows
(``skadapt._config.STATE_ROWS``: ``m``, ``v``, ``gain``, ``prev``, ``last``), and the
rule table (``skadapt._config.RULE_TABLE``) says which rows a rule writes. A row no rule
of the configuration writes is shared between the fitted state and a ``partial_fit``
call's private copy instead of copied.
"""

import copy
import inspect

import numpy as np

from . import _config, _numba_cache
from . import _rules as R
from ._kernel import N_DRIFT, online_epoch, train_epoch, train_epoch_online
from ._kernel import step_sizes as _kernel_step_sizes
from ._kernel_default import (
    default_configuration,
    flat_workspace,
    train_epoch_default,
    train_epoch_default_batched,
)
from ._network import direct_block, layout

# The entries of a state dict the kernel takes (the optimiser state and the counters)
OPTIMISER_ARRAYS = ("pstate", "gstate", "glast")

# The training kernels by name (an estimator or River model keeps the name of its own);
# all take the same 25 arguments (the flat ones fourteen more: kernel_workspace) and give the
# same numbers where they apply
EPOCH_KERNELS = {"train_epoch": train_epoch, "train_epoch_online": train_epoch_online,
                 "train_epoch_default": train_epoch_default,
                 "train_epoch_default_batched": train_epoch_default_batched}


def epoch_kernel(batch_size, icfg, fcfg):
    """The name of the training kernel for ``batch_size`` and the configuration ``icfg``,
    ``fcfg`` (:data:`EPOCH_KERNELS`): the default configuration's flat kernels where
    :func:`skadapt._kernel_default.default_configuration` holds (they compile in a few
    seconds; one online, one for mini-batches), the online kernel where
    :func:`skadapt._kernel.online_epoch` holds, else the general one. The only place that
    chooses."""
    if default_configuration(icfg, fcfg):
        return "train_epoch_default" if batch_size == 1 else "train_epoch_default_batched"
    return "train_epoch_online" if online_epoch(batch_size, icfg) else "train_epoch"


# The flat kernels' argument names, in order (to read their arguments back in after_change)
_FLAT_ARGUMENTS = tuple(inspect.signature(train_epoch_default.py_func).parameters)


def after_change(args):
    """What a declared change does where a flat kernel (:mod:`skadapt._kernel_default`)
    returned ``STATUS_CHANGE`` to leave it to its caller, with its arguments ``args``: the
    direct path starts anew, as ``skadapt._kernel.clear_direct_path`` clears it in the
    general kernels (zero weights, no moments, gains of 1 without a history, clocks at
    the example; the state the rule does not write untouched), and the example's count is
    logged in ``drift_log``. The kernel, called again with ``args``, goes on with the
    example (its ``resume`` argument says where). In NumPy, not compiled: a first fit of
    the defaults compiles no clearing (doc/speed.md)."""
    a = dict(zip(_FLAT_ARGUMENTS, args, strict=True))
    q = int(a["resume"][0]) - 1  # (the example's position in order)
    seen = int(a["counters"][0]) + q % a["batch_size"] + 1  # (counted per batch)
    n_layers = a["sizes"].shape[0] - 1
    p0 = a["w_off"][n_layers]  # (the direct path's block is the last)
    k0 = a["g_off"][n_layers]
    writes = a["icfg"][R.I_WRITES]
    a["params"][p0:] = 0.0
    if writes & R.WRITES_PSTATE:
        a["pstate"][:, p0:] = 0.0
    if writes & R.WRITES_GSTATE:
        a["gstate"][0, k0:] = 1.0
        a["gstate"][1, k0:] = 0.0
        if a["fcfg"][R.F_RELAX_TIME] > 0.0:
            a["glast"][k0:] = seen
    log = a["drift_log"]
    k = log[0] + 1
    if k < log.shape[0]:
        log[k] = seen
    log[0] = k


def kernel_workspace(name, sizes, params, fcfg):
    """The arguments the training kernel ``name`` takes after the 25 they all take: the
    flat kernels' work arrays (:func:`skadapt._kernel_default.flat_workspace`) for a
    network of layer ``sizes`` with the parameters ``params`` and the float configuration
    ``fcfg`` (the rule's scalars); none for the others."""
    if name == "train_epoch_default" or name == "train_epoch_default_batched":
        return flat_workspace(sizes, params.shape[0], params.dtype,
                              name == "train_epoch_default_batched", fcfg)
    return ()


def state_key(est):
    """What the shape and meaning of the optimiser state depend on: the rule, its scope
    and (for the dendrite scope only) the number of dendrites. A model whose key differs
    from the estimator's starts its optimiser state anew."""
    scope = _config.effective_scope(est)
    return (est.rule, scope, est.n_dendrites if scope == "dendrite" else None)


def fresh_state(est, sizes, n_params, dtype, rng, direct, keep=None):
    """A new state dict for a model of layer ``sizes`` with ``n_params`` parameters of
    ``dtype``: no moments, gains of 1 without a history, clocks at 0, no examples seen.
    ``keep``: an old state whose inputs' statistics and transform, change detector and
    detections carry over (the rule's state starts anew)."""
    scope = _config.effective_scope(est)
    _, n_groups = _config.group_layout(sizes, scope, est.n_dendrites, direct)
    state = {
        "key": state_key(est),
        "rule": est.rule,
        "scope": scope,
        "n_dendrites": est.n_dendrites,
        "pstate": np.zeros((2, n_params), dtype),
        "gstate": np.zeros((2, n_groups), dtype),
        "glast": np.zeros(n_groups, np.float64),
        "counters": np.zeros(2, np.int64),
        "drift": np.zeros(N_DRIFT),
        "drift_detected": np.empty(0, np.int64),
        "rng": rng,
        "clock_on": _config.clock_on(est),
        "fit_epochs": 0,  # the epochs of fit the step has decayed over (epoch_decay)
    }
    views(state)["gain"][...] = 1.0
    if keep is not None:
        state.update({k: keep[k] for k in ("in_stats", "in_transform", "drift",
                                           "drift_detected") if k in keep})
    return state


def views(state):
    """The optimiser state's rows by name (``skadapt._config.STATE_ROWS``), as views
    into the kernel's stacked arrays: ``m`` and ``v`` per parameter, ``gain``, ``prev``
    and ``last`` per group."""
    return {name: state[array] if row is None else state[array][row]
            for name, (array, row) in _config.STATE_ROWS.items()}


def private_copy(est, state, into=None, copy_rng=True):
    """A copy of the fitted ``state`` for ``est``'s next call to train on (the fitted
    state stays as it is until the call commits): its arrays copied into those of the
    state dict ``into`` where they fit (the spare arrays a previous call left, see
    :func:`take_spare`), the arrays ``est``'s configuration never writes shared, the
    random state copied if ``copy_rng``. If the relaxation in time has been switched on
    since the state was trained, every element's clock starts now."""
    clock = _config.clock_on(est)
    out = copy_state(state, into, copy_rng=copy_rng, share=_config.arrays_not_written(est))
    if clock and not out.get("clock_on", True):
        views(out)["last"][:] = out["counters"][0]
    out["clock_on"] = clock
    return out


def take_spare(est):
    """The arrays of the state the last ``partial_fit`` call replaced, ``(params,
    state)`` (or Nones), for this call's private copy: no allocation, no page faults.
    They are the estimator's no longer (a failing call leaves none)."""
    return est.__dict__.pop("_spare", (None, None))


def commit(est, model, incremental):
    """Make ``model`` the estimator's fitted model: its parameters, state, layer sizes
    and classes. After an incremental call the replaced arrays become the spare ones of
    the next call's copy (:func:`take_spare`)."""
    if incremental and getattr(est, "_params", None) is not None:
        est._spare = (est._params, est._state)
    est.classes_ = model.classes
    est._sizes = list(model.sizes)
    est._params = model.params
    est._state = model.state


def step_sizes(est, params, sizes, state):
    """Each parameter's current step size, as one flat float64 vector: computed by the
    kernel (:func:`skadapt._kernel.step_sizes`) with the rule's own functions, in the
    fitted state's rule and scope and ``est``'s other settings."""
    if est.rule != state["rule"]:
        est = copy.copy(est)
        est.rule = state["rule"]
    icfg, fcfg = _config.make_config(est)
    icfg[R.I_SCOPE] = _config._SCOPE[state["scope"]]
    icfg[R.I_N_DENDRITES] = state["n_dendrites"]
    direct = direct_block(params, sizes) is not None
    g_off, _ = _config.group_layout(sizes, state["scope"], state["n_dendrites"], direct)
    w_off, b_off, _ = layout(sizes, direct)
    out = np.empty(params.shape[0])
    _numba_cache.call(_kernel_step_sizes, np.asarray(sizes, np.int64), w_off, b_off, g_off,
                      icfg, fcfg, state["pstate"], state["gstate"], state["glast"],
                      state["counters"], out)
    return out


class Model:
    """A model being trained: parameters, optimiser state and history (``curve``, the
    loss of every epoch since the model was started; ``n_iter``, the epochs of this call,
    as MLPClassifier counts its ``n_iter_``)."""

    def __init__(self, classes, sizes, params, state, curve, in_network=False):
        self.classes = classes
        # whether params are in the network's coordinates already (else _run rewrites them)
        self.in_network = in_network
        self.sizes = sizes
        self.params = params
        self.state = state
        self.curve = curve
        self.n_iter = 0
        self.sparse_labels = False  # a multilabel target given as a sparse matrix

    def kernel_state(self):
        """The optimiser state and counters as the kernel takes them."""
        st = self.state
        return st["pstate"], st["gstate"], st["glast"], st["counters"]

    def snapshot(self, into=None):
        """Copies of the parameters and the state (to go back to, with
        :func:`restored_state`), written into the arrays of an earlier snapshot ``into``
        (params, state) where they fit. The random state is kept as its ``get_state()``
        only: a RandomState is made of it if the snapshot is gone back to (setting a
        state costs as much as getting it; the copy every epoch paid was ~70 us, some 3% of
        an online epoch of anes96's 755 training examples)."""
        params, state = into or (None, None)
        state = copy_state(self.state, state, copy_rng=False)
        rng = state.get("rng")
        if isinstance(rng, np.random.RandomState):
            state["rng"] = rng.get_state()
        return copy_into(self.params, params), state


def restored_state(snapshot_state):
    """The state of a :meth:`Model.snapshot` to go back to: its random state a
    RandomState again."""
    rng = snapshot_state.get("rng")
    if isinstance(rng, tuple):
        rs = np.random.RandomState()
        rs.set_state(rng)
        snapshot_state = {**snapshot_state, "rng": rs}
    return snapshot_state


def copy_random_state(rng, into=None):
    """A copy of a RandomState (its state only; much faster than deepcopy's pickling),
    written into the RandomState ``into`` when given (creating one costs more than
    copying a state)."""
    out = into if isinstance(into, np.random.RandomState) and into is not rng else (
        np.random.RandomState())
    out.set_state(rng.get_state())
    return out


def copy_into(src, dst, fill=True):
    """A copy of array ``src``, written into ``dst`` when it has the same shape and
    dtype (and is another array), else newly allocated; with ``fill=False``, only the
    array to write the copy into (``dst`` or a new one), its values left as they are."""
    if (dst is not None and dst is not src and dst.shape == src.shape
            and dst.dtype == src.dtype):
        if fill:
            np.copyto(dst, src)
        return dst
    return src.copy() if fill else np.empty_like(src)


def copy_state(state, into=None, copy_rng=True, share=()):
    """A copy of the training state dict: arrays (into the arrays of the state dict
    ``into`` where they fit) and, if ``copy_rng``, the random state copied; the other
    entries (strings, numbers, tuples) are immutable and shared, and so are the arrays
    named in ``share`` (the caller knows that nothing writes them)."""
    into = into or {}
    return {k: v if k in share
            else copy_into(v, into.get(k)) if isinstance(v, np.ndarray)
            else copy_random_state(v, into.get(k))
            if copy_rng and isinstance(v, np.random.RandomState)
            else v
            for k, v in state.items()}
