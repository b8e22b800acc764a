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

from numba import njit, types
from numba.extending import overload

# ---------------------------------------------------------------- compile options
# (of every kernel module's functions: here because _kernel and _kernel_default import
# this module, and because skadapt._numba_cache's fingerprint of this file then resets the
# cached kernels when an option changes, which Numba's own cache would not notice)


def numba_option(name, value):
    """``{name: value}`` where this Numba's ``njit`` takes the option ``name``, else ``{}``
    (for options that are not part of Numba's documented API: without them, a function
    compiles as before)."""
    try:
        from numba.core.options import DefaultOptions
    except ImportError:  # pragma: no cover (a Numba that moved its options)
        return {}
    return {name: value} if hasattr(DefaultOptions, name) else {}


try:  # (the pieces of Numba's compiler that a pipeline of its own is built from)
    from numba import _dynfunc
    from numba.core import typed_passes, untyped_passes
    from numba.core.codegen import JITCodeLibrary
    from numba.core.compiler import CompilerBase, DefaultPassBuilder, Flags
    from numba.core.compiler_machinery import PassManager, register_pass

    _PASSES_WITHOUT_WORK = (
        untyped_passes.WithLifting,  # (``with`` blocks)
        untyped_passes.InlineClosureLikes,  # (closures defined in the function)
        typed_passes.InlineOverloads,  # (overloads declared inline)
        # (raises on constructs nopython mode does not support, closures among them; the
        # kernel tests compile every lean unit, so one would still fail there)
        typed_passes.NoPythonSupportedFeatureValidation,
        typed_passes.DumpParforDiagnostics,  # (parallel=True)
        # (SSA form: a name bound more than once is typed per binding; the flat kernels
        # give each name one type, so without it the types and the machine code are the
        # same. A name bound with two types would be unified, or refused, in this
        # pipeline: the kernel tests compare the flat kernels with the general ones bit
        # for bit)
        untyped_passes.ReconstructSSA,
    )
    # (the parts of Numba's code library that LinkedOnlyLibrary replaces or calls)
    for _part in ("_optimize_final_module", "_finalize_final_module",
                  "_finalize_dynamic_globals", "_verify_declare_only_symbols"):
        if not hasattr(JITCodeLibrary, _part):
            raise AttributeError(_part)
    del _part
except (ImportError, AttributeError):  # pragma: no cover (a Numba that moved them)
    CompilerBase = None


if CompilerBase is not None:

    class LinkedOnlyLibrary(JITCodeLibrary):
        """The code library of a unit that only other compiled functions call
        (``KERNEL_ONLY``): finalizing it links in the units it calls and stops at LLVM IR,
        without the module-level optimization and the machine code of a library of its
        own. The library of each kernel that calls the unit links that IR in, then
        optimizes and compiles it with the kernel (as it does with any unit it calls)."""

        def _optimize_final_module(self):
            pass

        def _finalize_final_module(self):
            # (Numba's, without handing the module to the JIT engine, which would compile
            # it to machine code)
            self._finalize_dynamic_globals()
            self._verify_declare_only_symbols()
            self._finalized = True

    @register_pass(mutates_CFG=True, analysis_only=False)
    class LinkedOnlyLowering(typed_passes.NativeLowering):
        """Numba's lowering into a :class:`LinkedOnlyLibrary`, in its "no compile" mode
        (the one its ahead-of-time and C-callback compilers use): LLVM IR only. The
        function's entry point for Python is one without machine code, as that of any
        function compiled without a wrapper for Python (``KERNEL_ONLY``): a kernel
        that calls the unit finds it, as Numba's lowering registers it, by that entry
        point."""

        _name = "skadapt_linked_only_lowering"

        def run_pass(self, state):
            library = LinkedOnlyLibrary(state.targetctx.codegen(), state.func_id.func_qualname)
            state.library = library
            no_compile, state.flags.no_compile = state.flags.no_compile, True
            try:
                super().run_pass(state)
            finally:
                state.flags.no_compile = no_compile
            lowered = state.cr
            fndesc = lowered.fndesc
            entry = _dynfunc.make_function(fndesc.lookup_module(),
                                           fndesc.qualname.split(".")[-1],
                                           f"compiled code of {fndesc.qualname!r}", 0,
                                           lowered.env, (library,))
            state.targetctx.insert_user_function(entry, fndesc, [library])
            state.reload_init.extend(library._reload_init)
            state.cr = lowered._replace(cfunc=entry)
            return True

    class CompileFlags(Flags):
        """Numba's compile flags, whose values and hash take no Python call per option.

        Type inference looks each call's overloads up in caches keyed by the compile's
        flags: every lookup hashed them and compared them with the key's, and Numba builds
        both from all the options' values, each read through a Python property (a cold
        first fit of the defaults: 19,000 such dictionaries). The same values, from the
        defaults and the options set; the same hash (Numba's hashes the options' names)."""

        __slots__ = ()
        _defaults = {name: option.default for name, option in Flags.options.items()}
        _hash = hash(tuple(sorted(Flags.options)))

        def values(self):
            return {**self._defaults, **self._values}

        def __hash__(self):
            return self._hash

    class NopythonPipeline(CompilerBase):
        """Numba's nopython pipeline without the passes of ``_skipped``, lowered by
        ``_lowering``: Numba's documented way to customise the compiler of one function
        (``pipeline_class``). As it is, Numba's own, with the flags a
        :class:`CompileFlags`."""

        _skipped = ()
        _lowering = typed_passes.NativeLowering

        def __init__(self, typingctx, targetctx, library, args, return_type, flags, locals):
            super().__init__(typingctx, targetctx, library, args, return_type,
                             CompileFlags(flags), locals)

        def define_pipelines(self):
            default = DefaultPassBuilder.define_nopython_pipeline(self.state)
            pipeline = PassManager("skadapt")
            for pass_class, description in default.passes:
                if pass_class is typed_passes.NativeLowering:
                    pass_class = self._lowering
                if pass_class not in self._skipped:
                    pipeline.add_pass(pass_class, description)
            pipeline.finalize()
            return [pipeline]

    class UnitCompiler(NopythonPipeline):
        """Numba's nopython pipeline lowered to LLVM IR only (:class:`LinkedOnlyLowering`),
        for the helpers of ``KERNEL_ONLY``."""

        _lowering = LinkedOnlyLowering

    class LeanCompiler(NopythonPipeline):
        """Numba's nopython pipeline without the passes that have no work in the flat
        kernels and their units (``_PASSES_WITHOUT_WORK``), for the flat kernels
        (``LEAN_PASSES``)."""

        _skipped = _PASSES_WITHOUT_WORK

    class LeanUnitCompiler(LeanCompiler):
        """:class:`LeanCompiler` lowered to LLVM IR only, for the flat kernels' units
        (``LEAN_UNIT``)."""

        _lowering = LinkedOnlyLowering


# The options of a helper that only compiled code calls (here, in skadapt._kernel and in
# skadapt._kernel_default): no wrapper for calls from Python nor as a C callback, which a
# cold first fit would compile for nothing (doc/speed.md), and a compilation that stops
# at LLVM IR (``UnitCompiler``): compiled on its own, such a helper was optimized as a
# module and compiled to machine code that nothing ran, since each kernel that calls it
# links its IR into its own module, and optimizes and compiles it there (doc/speed.md,
# step (12)). Not cached: it has no machine code to cache, and the kernels that call it
# are cached and load without compiling it. (Where this Numba lacks the pieces of
# ``UnitCompiler``, cached and compiled to machine code as before.) Calling such a helper
# from Python crashes the interpreter: tests reach them through the kernels or through a
# jitted function of their own. The epoch kernels, which Python calls, go without the C
# wrapper only.
KERNEL_ONLY = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, cache=CompilerBase is None)
if CompilerBase is not None:
    KERNEL_ONLY["pipeline_class"] = UnitCompiler

# The compilation of the other compiled functions that Python or a kernel calls (inlined
# ones compile with their caller): Numba's own pipeline, with the cheaper flags of
# ``CompileFlags``.
PIPELINE = {"pipeline_class": NopythonPipeline} if CompilerBase is not None else {}

# The compilation of the flat kernels (skadapt._kernel_default) and of the units they
# call: (1) Numba's rewrite passes off (``no_rewrites``). Before type inference they fold
# constants and branches on them (none in these functions) and turn constant indices into
# static ones, which arrays then index as any other; after it they fuse whole-array
# expressions (none here). (2) Numba's pipeline without six passes that have nothing to
# do here (``LeanCompiler``). Together they cut a cold first fit of the defaults' Python
# calls by 18-21%, with the same numbers and the same machine code (doc/speed.md, step
# (11)). Not for the general kernels: ``train_epoch_online`` needs the pruning of its
# constant branches. Where this Numba lacks either, the functions compile as before.
# These functions take an array's length as ``len(a)``, not ``a.shape[0]``: without the
# rewrites, a constant index into the shape tuple is an overload of Numba's that compiles
# on its own and is called from the kernel (3% of the calls, 37-39 instructions).
LEAN_PASSES = numba_option("no_rewrites", True)
if CompilerBase is not None:
    LEAN_PASSES["pipeline_class"] = LeanCompiler

# The options of the flat kernels' units: those of ``KERNEL_ONLY`` (their compilation
# stops at LLVM IR) through the lean pipeline (``LEAN_PASSES``).
LEAN_UNIT = {**KERNEL_ONLY, **LEAN_PASSES}
if CompilerBase is not None:
    LEAN_UNIT["pipeline_class"] = LeanUnitCompiler

# ---------------------------------------------------------------- rule codes
RULE_SGD = 0
RULE_MOMENTUM = 1
RULE_NESTEROV = 2
RULE_ADAM = 3
RULE_GAIN = 4  # dendritic, delta_bar_delta, rprop
RULE_ADAGRAD = 5

# What ``step_sizes_`` reports for a parameter (:func:`step_size`), one kind per rule
# (``skadapt._config.RULE_TABLE``)
STEP_BASE = 0  # the base step eta0
STEP_GAIN = 1  # eta0 times the (relaxed) gain of the parameter's group
STEP_ADAPTIVE = 2  # the update's scalar (step_scalar) over the root of ``v``, plus eps

# Which optimiser state arrays a rule writes (``icfg[I_WRITES]``, a bit mask)
WRITES_PSTATE = 1  # per parameter (pstate)
WRITES_GSTATE = 2  # per group (gstate)

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
I_MULTILABEL = 10  # sigmoid outputs with per-label binary cross-entropy (else softmax)
I_STEP_SIZE = 11  # what step_sizes_ reports: STEP_*
I_WRITES = 12  # the state arrays the rule writes: WRITES_* bits
N_ICFG = 13

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
F_V_REST = 12  # the RMS base's weight of a new squared gradient: 1 - beta_2, or 1 (AdaGrad)
N_FCFG = 13


def like(x, ref):
    """``x`` as a scalar of ``ref``'s type: the dtype of an array, or the type of a
    scalar (so float32 state computes in float32)."""
    dtype = getattr(ref, "dtype", None)
    return dtype.type(x) if dtype is not None else type(ref)(x)


@overload(like, inline="always")
def _like_jit(x, ref):
    cast = ref.dtype if isinstance(ref, types.Array) else ref

    def impl(x, ref):
        return cast(x)

    return impl


# The per-element functions take and return scalars only: Numba then inlines them
# into the kernel's loops at no cost (array arguments would be reference-counted on
# every call, which costs more than the arithmetic). Their own constants take the
# type of the state they are given, so with float32 state and float32 coefficients
# (as :func:`gain_row` passes them) they compute in float32; a float64 argument
# promotes the arithmetic to float64, as in NumPy.


@njit(cache=True, error_model="numpy", **PIPELINE)
def relaxed_gain(gain, dt, relax_time):
    """Gain relaxed toward 1 after ``dt`` examples without an event."""
    if relax_time <= 0.0 or dt <= 0:
        return gain
    one = like(1.0, gain)
    return one + (gain - one) * like(math.exp(-dt / relax_time), gain)


@njit(cache=True, error_model="numpy", **PIPELINE)
def gain_coefficients(icfg, fcfg, ref):
    """The gain family's configuration as loop-invariant scalars of ``ref``'s dtype.

    Growth and fall-back are written as ``gain * mul + add`` (additive growth:
    ``mul=1, add=gain_up``; multiplicative: ``mul=gain_up, add=0``; reset:
    ``mul=0, add=1``; shrink: ``mul=gain_down, add=0``), so the event itself has
    no branch on the configuration. Returns ``(up_mul, up_add, fb_mul, fb_add,
    trace, theta, theta_rest, skip_inc, gain_min, gain_max, relax_time)``, where
    ``theta_rest`` is ``1 - theta`` (computed in float64).
    """
    up = fcfg[F_GAIN_UP]
    mult = icfg[I_GROWTH] == GROWTH_MULTIPLICATIVE
    shrink = icfg[I_FALLBACK] == FALLBACK_SHRINK
    theta = fcfg[F_TRACE_DECAY]
    return (like(up if mult else 1.0, ref), like(0.0 if mult else up, ref),
            like(fcfg[F_GAIN_DOWN] if shrink else 0.0, ref), like(0.0 if shrink else 1.0, ref),
            icfg[I_COHERENCE] == COHERENCE_TRACE, like(theta, ref), like(1.0 - theta, ref),
            icfg[I_SKIP_INCOHERENT] != 0, like(fcfg[F_GAIN_MIN], ref),
            like(fcfg[F_GAIN_MAX], ref), like(fcfg[F_RELAX_TIME], ref))


@njit(cache=True, error_model="numpy", **PIPELINE)
def gain_event(gain, prev, dt, signal, up_mul, up_add, fb_mul, fb_add, trace, theta,
               theta_rest, skip_inc, gain_min, gain_max, relax_time):
    """One learning event of an element (or group) of the adaptive-gain family.

    Relaxes ``gain`` for the ``dt`` examples since the element's last event,
    compares the sign of ``signal`` (non-zero) with ``prev`` (the previous sign,
    or a trace of past signals), grows or falls back (coefficients from
    :func:`gain_coefficients`), clips to ``[gain_min, gain_max]`` and updates
    ``prev``.

    Returns ``(skipped, gain, prev)``: whether the step is skipped (as iRprop-
    does after a sign change), and the new state.
    """
    zero = like(0.0, gain)
    one = like(1.0, gain)
    gain = relaxed_gain(gain, dt, relax_time)
    c = signal * prev
    # reset (fb_mul == 0): fb_add; shrink: gain * fb_mul (fb_add is 0). Written so that a
    # constant fb_mul of 0 leaves the constant (gain * 0 + 1 is not folded: NaN and -0)
    fall = fb_add if fb_mul == zero else gain * fb_mul
    gain = gain * up_mul + up_add if c > zero else (fall if c < zero else gain)
    gain = min(max(gain, gain_min), gain_max)
    skipped = skip_inc and c < zero
    sign = zero if skipped else (one if signal > zero else -one)
    prev = theta * prev + theta_rest * signal if trace else sign
    return skipped, gain, prev


@njit(cache=True, error_model="numpy", **PIPELINE)
def base_direction(g, v, base, beta2, beta2_rest, eps, weight):
    """The base step direction for gradient ``g`` (adaptive-gain rules).

    ``gradient``: g itself; ``rms``: g over the root of a running mean ``v`` of
    g**2 (``beta2_rest`` is ``1 - beta2``), updated on events only and started at
    g**2 (no carry-over, no bias correction needed), or with ``beta2 = beta2_rest = 1``
    their running sum (AdaGrad); ``sign``: the sign of g
    (Rprop) times ``weight``, the batch's mean sample weight relative to the
    data's (a sign carries no magnitude, so sample and class weights act through
    this factor).

    Returns ``(direction, v)``.
    """
    zero = like(0.0, g)
    if base == BASE_RMS:
        v = g * g if v == zero else beta2 * v + beta2_rest * g * g
        return g / (math.sqrt(v) + eps), v
    if base == BASE_SIGN:
        return (weight if g > zero else (-weight if g < zero else zero)), v
    return g, v


@njit(cache=True, error_model="numpy", **PIPELINE)
def gain_element(gd, w, gain, prev, v, dt, decay, decay_on, weight, coef, base, eta0, beta2,
                 beta2_rest, eps):
    """One event of one synapse-scope element: :func:`gain_event`, then the step.

    ``gd`` is the data gradient (non-zero for a real event), ``decay`` the L2
    coefficient of the element's row (0 for biases), added only if ``decay_on``;
    ``coef`` the tuple of :func:`gain_coefficients`. A skipped step (iRprop-)
    leaves the weight and the running mean as they are. Returns the new
    ``(w, gain, prev, v)``.
    """
    skipped, gain, prev = gain_event(gain, prev, dt, gd, *coef)
    d, v_new = base_direction(gd + decay * w if decay_on else gd, v, base, beta2, beta2_rest,
                              eps, weight)
    return (w if skipped else w - eta0 * gain * d), gain, prev, (v if skipped else v_new)


@njit(error_model="numpy", **LEAN_UNIT)
def default_gain_element(gd, w, gain, prev, v, gain_up, theta, theta_rest, gain_min, gain_max,
                         beta2, beta2_rest, eps, eta0, zero, one):
    """:func:`gain_element` of the default dendritic configuration (additive growth by
    ``gain_up``, reset to 1, trace coherence, RMS base, no L2, no relaxation in time), these
    choices written as constants; for the event of a non-zero data gradient ``gd``. The
    same numbers as :func:`gain_element` with those coefficients (a test compares the two),
    in fewer functions: it is the whole rule of the default kernel
    (:mod:`skadapt._kernel_default`), which compiles the faster for it. ``zero`` and
    ``one`` are 0 and 1 in the gain's type (the caller's, not ``like``'s: each ``like``
    compiles an overload of its own: 1.3-1.6% of a first compilation's Python calls). Returns
    the new ``(w, gain, prev, v)``. Only the flat kernels call it (``KERNEL_ONLY``: its
    wrappers cost a cold first fit's compilation 1.2% of its machine instructions; its test
    calls it through a jitted function)."""
    c = gd * prev
    gain = gain + gain_up if c > zero else (one if c < zero else gain)
    # min(max(gain, gain_min), gain_max) by Python's rule (the first of equals), written
    # out: Numba compiles its min and max as functions of their own, for each type
    gain = gain_min if gain_min > gain else gain
    gain = gain_max if gain_max < gain else gain
    prev = theta * prev + theta_rest * gd
    v = gd * gd if v == zero else beta2 * v + beta2_rest * gd * gd
    return w - eta0 * gain * (gd / (math.sqrt(v) + eps)), gain, prev, v


# ------------------------------------------------------------ row functions
# One contiguous row of weights at a time (all weights of one input, or the
# biases of a layer). ``w``, ``g`` and the state are views of that row; ``g`` is
# the row's gradient, which the row functions only read (the caller owns it: the
# mini-batch path clears its accumulated rows, the online path overwrites its buffer).


# (typed and lowered once, to LLVM IR only, and inlined by LLVM where update_row calls it
# (``forceinline``): inlined by Numba, it was typed and its IR copied again at each of
# update_row's inlined calls; doc/speed.md, step (14))
@njit(error_model="numpy", forceinline=True, **KERNEL_ONLY)
def gain_row(w, g, gain, prev, last, v, scale, decay, t, weight, icfg, fcfg, all_events):
    """Synapse-scope gain rule on one row: every element with a non-zero gradient
    has an event (:func:`gain_element`); the others do not change at all.

    ``last`` (the time of each element's last event) is kept only while the
    relaxation in time is on (``relax_time > 0``); nothing else reads it.
    ``all_events`` says that the caller knows every gradient of the row to be
    non-zero (the online update checks each layer's).

    Both ways run the same per-element function: with relaxation in time, element
    by element (the clocks); without it (the default dendritic configuration, and
    iRprop-'s skipped steps, which are selects too), as one branch-free loop that
    LLVM vectorises (:func:`_gain_loop`). The default dendritic configuration (RMS
    base, additive growth, reset, trace coherence, no L2), for a row of events only,
    gets its own copy of that loop, with these choices as constants that LLVM folds
    away and without the selects that keep non-events unchanged.
    """
    coef = gain_coefficients(icfg, fcfg, w)
    up_mul, up_add, fb_mul, fb_add, trace, theta, rest, skip_inc, gain_min, gain_max, tau = coef
    base = icfg[I_BASE]
    # every scalar in the row's dtype: a float32 row computes in float32
    zero = like(0.0, w)
    one = like(1.0, w)
    scale = like(scale, w)
    decay = like(decay, w)
    weight = like(weight, w)
    eta0 = like(fcfg[F_ETA0], w)
    beta2 = like(fcfg[F_BETA2], w)
    beta2_rest = like(fcfg[F_V_REST], w)
    eps = like(fcfg[F_EPS], w)
    if tau > zero:
        for u in range(w.shape[0]):
            gd = g[u] * scale
            if gd != zero:
                w[u], gain[u], prev[u], v[u] = gain_element(
                    gd, w[u], gain[u], prev[u], v[u], t - last[u], decay, True,
                    weight, coef, base, eta0, beta2, beta2_rest, eps)
                last[u] = t
        return
    # otherwise one branch-free loop, with "no relaxation" and the base as constants (a
    # branch on the base around a root and a division, even a loop-invariant one, would
    # stop vectorisation)
    coef = (up_mul, up_add, fb_mul, fb_add, trace, theta, rest, skip_inc, gain_min, gain_max,
            zero)
    if base == BASE_RMS:
        if (all_events and up_mul == one and fb_mul == zero and trace and not skip_inc
                and decay == zero):
            # the default dendritic configuration, its choices as constants
            coef = (one, up_add, zero, fb_add, True, theta, rest, False, gain_min, gain_max,
                    zero)
            _gain_loop(w, g, gain, prev, v, scale, decay, False, weight, coef, BASE_RMS,
                       eta0, beta2, beta2_rest, eps, True)
        else:
            _gain_loop(w, g, gain, prev, v, scale, decay, True, weight, coef, BASE_RMS, eta0,
                       beta2, beta2_rest, eps, False)
    elif base == BASE_SIGN:
        _gain_loop(w, g, gain, prev, v, scale, decay, True, weight, coef, BASE_SIGN, eta0,
                   beta2, beta2_rest, eps, False)
    else:
        _gain_loop(w, g, gain, prev, v, scale, decay, True, weight, coef, BASE_GRADIENT, eta0,
                   beta2, beta2_rest, eps, False)


@njit(cache=True, error_model="numpy", inline="always")
def _gain_loop(w, g, gain, prev, v, scale, decay, decay_on, weight, coef, base, eta0, beta2,
               beta2_rest, eps, events_only):
    """The branch-free loop of :func:`gain_row` (no relaxation in time): every
    element computes its event (:func:`gain_element`, whose skipped steps are
    selects too) and selects its new or its old state, stored unconditionally, so
    LLVM vectorises the loop (a conditional store becomes a masked store, several
    times slower). With ``events_only`` (every gradient is non-zero) there is
    nothing to select."""
    zero = like(0.0, w)
    for u in range(w.shape[0]):
        gd = g[u] * scale
        wu = w[u]
        gn = gain[u]
        pv = prev[u]
        vu = v[u]
        w_new, gn_new, pv_new, v_new = gain_element(gd, wu, gn, pv, vu, 0, decay, decay_on,
                                                    weight, coef, base, eta0, beta2,
                                                    beta2_rest, eps)
        if events_only:
            w[u] = w_new
            gain[u] = gn_new
            prev[u] = pv_new
            v[u] = v_new
        else:
            ev = gd != zero
            # "old + 0": a store of the value just loaded would become a (slow) masked
            # store; the sum is the same number (only a -0.0 becomes +0.0)
            w[u] = w_new if ev else wu + zero
            gain[u] = gn_new if ev else gn + zero
            prev[u] = pv_new if ev else pv + zero
            v[u] = v_new if ev else vu + zero


@njit(cache=True, error_model="numpy", inline="always")
def sgd_row(w, g, scale, decay, eta0):
    """sgd on one row: ``w -= eta0 g``, the gradient being ``(g + decay * w) * scale``."""
    scale = like(scale, w)
    decay = like(decay, w)
    eta0 = like(eta0, w)
    for u in range(w.shape[0]):
        w[u] -= eta0 * (g[u] + decay * w[u]) * scale


@njit(cache=True, error_model="numpy", inline="always")
def momentum_row(w, g, vel, scale, decay, eta0, mu, nesterov):
    """momentum and nesterov (scikit-learn's form) on one row: ``vel`` is the velocity,
    ``v = mu v - eta0 g``, then ``w += v`` or, with ``nesterov``, ``w += mu v - eta0 g``.
    The gradient is ``(g + decay * w) * scale``."""
    one = like(1.0, w)
    zero = like(0.0, w)
    scale = like(scale, w)
    decay = like(decay, w)
    eta0 = like(eta0, w)
    mu = like(mu, w)
    nest = one if nesterov else zero
    for u in range(w.shape[0]):
        gu = (g[u] + decay * w[u]) * scale
        vel_u = mu * vel[u] - eta0 * gu
        vel[u] = vel_u
        w[u] += vel_u + nest * (mu * vel_u - eta0 * gu - vel_u)


@njit(cache=True, error_model="numpy", inline="always")
def adam_row(w, g, m, v, scale, decay, beta1, beta2, eps, adam_lr):
    """adam on one row: ``m, v`` are the first and second moments and ``adam_lr`` the
    bias-corrected step of the current update (:func:`step_scalar`). The gradient is
    ``(g + decay * w) * scale``."""
    scale = like(scale, w)
    decay = like(decay, w)
    beta1 = like(beta1, w)
    rest1 = like(1.0 - beta1, w)
    beta2 = like(beta2, w)
    rest2 = like(1.0 - beta2, w)
    eps = like(eps, w)
    adam_lr = like(adam_lr, w)
    for u in range(w.shape[0]):
        gu = (g[u] + decay * w[u]) * scale
        mu = beta1 * m[u] + rest1 * gu
        vv = beta2 * v[u] + rest2 * gu * gu
        m[u] = mu
        v[u] = vv
        w[u] -= adam_lr * mu / (math.sqrt(vv) + eps)


@njit(cache=True, error_model="numpy", inline="always")
def adagrad_row(w, g, v, scale, decay, eta0, eps):
    """AdaGrad (Duchi, Hazan and Singer 2011) on one row: ``v`` is each weight's sum of
    squared gradients, ``v += g**2``, then ``w -= eta0 g / (sqrt(v) + eps)``. The
    gradient is ``(g + decay * w) * scale``; a zero gradient changes nothing."""
    scale = like(scale, w)
    decay = like(decay, w)
    eta0 = like(eta0, w)
    eps = like(eps, w)
    for u in range(w.shape[0]):
        gu = (g[u] + decay * w[u]) * scale
        vv = v[u] + gu * gu
        v[u] = vv
        w[u] -= eta0 * gu / (math.sqrt(vv) + eps)


# ------------------------------------------------------------- the dispatch
# The kernel knows no rule: it calls :func:`step_scalar` once per update and
# :func:`update_row` for every row it steps (``skadapt._config.RULE_TABLE`` names the
# rules and their codes). A new rule is a code, a row function and a branch here.


@njit(cache=True, error_model="numpy", **PIPELINE)
def step_scalar(icfg, fcfg, n_updates):
    """The rule's scalar of the current update, the ``n_updates``-th (float64, computed
    once per update): Adam's bias-corrected step, else the base step ``eta0``."""
    eta0 = fcfg[F_ETA0]
    if icfg[I_RULE] == RULE_ADAM:
        beta1 = fcfg[F_BETA1]
        beta2 = fcfg[F_BETA2]
        return eta0 * math.sqrt(1.0 - beta2**n_updates) / (1.0 - beta1**n_updates)
    return eta0


@njit(cache=True, error_model="numpy", inline="always")
def update_row(w, g, pstate, gstate, glast, row, end, scale, decay, t, weight, scalar, icfg,
               fcfg, all_events, every_rule):
    """The configured rule on one row of parameters, ``row:end`` of the flat vector: the
    one place that dispatches on the rule.

    ``w`` and ``g`` are the row's parameters and gradient (views; ``g`` read only);
    ``pstate`` (rows ``m``, ``v``), ``gstate`` (rows ``gain``, ``prev``) and ``glast``
    (``last``) the whole state arrays, of which each rule takes the views of the row it
    uses (synapse scope: one group per parameter). The gradient is ``(g + decay * w) *
    scale`` (``decay`` the row's L2 coefficient, 0 for biases); ``t`` is the example count,
    ``weight`` the batch's relative sample weight (:func:`base_direction`), ``scalar`` the
    update's :func:`step_scalar`, and ``all_events`` says that every gradient of the row is
    non-zero (a hint for :func:`gain_row`). ``every_rule`` is a constant of the caller: the
    online update passes False, which prunes the rules that step every weight (it never
    runs them) from its compilation.
    """
    rule = icfg[I_RULE]
    if rule == RULE_GAIN:
        gain_row(w, g, gstate[0, row:end], gstate[1, row:end], glast[row:end],
                 pstate[1, row:end], scale, decay * scale, t, weight, icfg, fcfg, all_events)
    elif rule == RULE_SGD:
        sgd_row(w, g, scale, decay, fcfg[F_ETA0])
    elif rule == RULE_ADAGRAD:
        adagrad_row(w, g, pstate[1, row:end], scale, decay, fcfg[F_ETA0], fcfg[F_EPS])
    elif every_rule:  # (a constant: False prunes the rules that step every weight)
        if rule == RULE_MOMENTUM or rule == RULE_NESTEROV:
            momentum_row(w, g, pstate[0, row:end], scale, decay, fcfg[F_ETA0],
                         fcfg[F_MOMENTUM], rule == RULE_NESTEROV)
        elif rule == RULE_ADAM:
            adam_row(w, g, pstate[0, row:end], pstate[1, row:end], scale, decay,
                     fcfg[F_BETA1], fcfg[F_BETA2], fcfg[F_EPS], scalar)


@njit(cache=True, error_model="numpy", **PIPELINE)
def step_size(kind, eta0, scalar, n_updates, gain, dt, relax_time, v, eps):
    """A parameter's current step size, as ``step_sizes_`` reports it (float64 arguments),
    of the kind ``kind`` (``STEP_*``, the rule's): ``eta0``; ``eta0`` times the gain of
    the parameter's group relaxed over the ``dt`` examples since its last event
    (:func:`relaxed_gain`); or the update's ``scalar`` (:func:`step_scalar`) over the
    root of the parameter's ``v`` plus ``eps`` (``eta0`` before the first update)."""
    if kind == STEP_GAIN:
        return eta0 * relaxed_gain(gain, dt, relax_time)
    if kind == STEP_ADAPTIVE and n_updates > 0:
        return scalar / (math.sqrt(v) + eps)
    return eta0
