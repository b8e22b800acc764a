"""The compiled loops are compiled once per dtype, not once per literal argument, and a
first default fit compiles only the default configuration's kernel.

A count started at the constant 0 in the training loop once had Numba compile the
per-sample functions twice (for ``Literal[int](0)`` and for ``int64``), doubling
the first fit's compile time. This runs a first fit in a fresh process with an
empty Numba cache and records every compilation with Numba's event API. Also part
of a first fit's time: what importing skadapt imports.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CODE = textwrap.dedent("""
    import json
    from numba.core import event
    import scipy.sparse as sp
    from sklearn.datasets import load_iris
    from skadapt import DendriticClassifier

    compiled = []

    class Listener(event.Listener):
        def on_start(self, ev):
            disp = ev.data["dispatcher"]
            compiled.append([disp.py_func.__module__, disp.py_func.__name__,
                             [str(a) for a in ev.data["args"]]])

        def on_end(self, ev):
            pass

    event.register("numba:compile", Listener())
    X, y = load_iris(return_X_y=True)
    counts = []
    DendriticClassifier((5,), max_iter=1, tol=None).fit(X, y)
    counts.append(len(compiled))
    DendriticClassifier((5,), max_iter=1, tol=None, activation="tanh").fit(X, y)
    counts.append(len(compiled))
    DendriticClassifier((5,), max_iter=1, tol=None, batch_size=4,
                        activation="tanh").fit(sp.csr_matrix(X), y)
    counts.append(len(compiled))
    DendriticClassifier((5,), max_iter=1, tol=None, batch_size=4).fit(X, y)
    counts.append(len(compiled))
    print(json.dumps([counts, compiled]))
""")


# what a fit of the defaults compiles: the default configuration's kernel and its helpers
# (its small helpers, the detector's change_detected and _all_finite, are inlined; it gets
# the rule's scalars from Python; it clears the direct path at a change in Python, so no
# clear_direct_path; it allocates nothing, so no implementation of np.zeros either; its
# rule gets its 0 and 1 from the kernel, so no implementation of _rules.like, "impl",
# either)
DEFAULT_KERNEL_FUNCTIONS = ("train_epoch_default", "_add_rows", "_forward_backward",
                            "gather_nonzeros", "default_gain_element")


def _compiled_kernel(stdout, fit=None, modules=("skadapt._kernel", "skadapt._kernel_default")):
    """The functions of the kernels' ``modules`` compiled by the four fits, or by fit
    ``fit`` only (0: the default, 1: online with another activation, 2: mini-batches with
    it, 3: the default in mini-batches)."""
    counts, compiled = json.loads(stdout.strip().splitlines()[-1])
    if fit is not None:
        compiled = compiled[(0 if fit == 0 else counts[fit - 1]) : counts[fit]]
    return [(name, args) for module, name, args in compiled if module in modules]


def test_kernel_compiles_once_per_dtype_without_literal_copies_and_once_for_two_processes(
        tmp_path):
    """Two processes started together on an empty cache: the compile lock lets one
    compile (it says so once, in an EfficiencyWarning) and the other load what it wrote;
    a third process later loads it too, without a word."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", CODE], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    kernels = [_compiled_kernel(out) for out, _ in outs]
    notices = [err.count("EfficiencyWarning: skadapt is compiling") for _, err in outs]
    compiler = [i for i, k in enumerate(kernels) if k]
    assert len(compiler) == 1, kernels  # one compiled, the other loaded
    # one notice per kernel: the default configuration's two, the online one, the general one
    assert notices[compiler[0]] == 4 and sum(notices) == 4, notices
    for group in ("default", "online", "general"):  # each notice names what readies its kernel
        assert f"warm_cache(kernels={group!r}) or `python -m skadapt warm-cache --kernels " \
               f"{group}`" in outs[compiler[0]][1], group
    names = [name for name, _ in kernels[compiler[0]]]
    # dense and sparse input, online and mini-batch: one compilation of each function
    for name in ("train_epoch_default", "train_epoch_online", "train_epoch", "sample_gradient",
                 "apply_update", "online_update", "gather_nonzeros",
                 "train_epoch_default_batched"):
        assert names.count(name) == 1, (name, names)
    # the default fit compiles the default configuration's kernel and its few helpers only
    first = [name for name, _ in _compiled_kernel(outs[compiler[0]][0], 0,
                                                  ("skadapt._kernel", "skadapt._kernel_default",
                                                   "skadapt._rules"))]
    assert sorted(set(first)) == sorted(DEFAULT_KERNEL_FUNCTIONS), first
    # the online fit of another configuration compiles no mini-batch update
    second = [name for name, _ in _compiled_kernel(outs[compiler[0]][0], 1)]
    assert "train_epoch_online" in second and "online_update" in second, second
    assert "apply_update" not in second and "train_epoch" not in second, second
    # the default in mini-batches compiles its kernel and its step only: the rest is the
    # online default kernel's, compiled already
    fourth = [name for name, _ in _compiled_kernel(outs[compiler[0]][0], 3,
                                                   ("skadapt._kernel", "skadapt._kernel_default",
                                                    "skadapt._rules"))]
    assert sorted(set(fourth)) == ["_step_accumulated", "train_epoch_default_batched"], fourth
    literal = [(name, args) for name, args in kernels[compiler[0]]
               if any("Literal" in a for a in args)]
    assert literal == []
    later = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True,
                           text=True, check=True, timeout=600)
    assert _compiled_kernel(later.stdout) == []
    assert "EfficiencyWarning" not in later.stderr


def test_warm_cache_and_its_command(capsys):
    from skadapt import warm_cache
    from skadapt.__main__ import main

    seconds = warm_cache(dtypes=["float32"])
    assert list(seconds) == ["float32"] and seconds["float32"] > 0
    with pytest.raises(ValueError, match="float64' or 'float32"):
        warm_cache(dtypes=["int64"])
    assert main(["warm-cache", "--dtypes", "float64"], prog="skadapt") == 0
    assert "skadapt kernel for float64: ready in" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["warm-cache", "--dtypes", "float16"], prog="skadapt")
    assert exit_.value.code == 2
    assert "expected float64 and/or float32" in capsys.readouterr().err
    for bad in (["mini-batch"], "all", [], [None]):
        with pytest.raises(ValueError, match="kernels must be among|at least one"):
            warm_cache(dtypes="float64", kernels=bad)
    # a string is one dtype, not its characters ('f' alone would be float32's code)
    for bad, shown in (("float16", "'float16'"), ([None], "None")):
        with pytest.raises(ValueError, match=f"float64' or 'float32'; got {shown}"):
            warm_cache(dtypes=bad, kernels="default")
    with pytest.raises(SystemExit) as exit_:
        main(["warm-cache", "--kernels", "default,batched"], prog="skadapt")
    assert exit_.value.code == 2
    assert "expected some of default, online, general" in capsys.readouterr().err


WARM_ONE = textwrap.dedent("""
    import json, sys
    from skadapt import warm_cache
    from skadapt import _kernel, _kernel_default
    warm_cache(dtypes="float64", kernels=sys.argv[1].split(","))
    kernels = dict(default=_kernel_default.train_epoch_default,
                   default_batched=_kernel_default.train_epoch_default_batched,
                   online=_kernel.train_epoch_online, general=_kernel.train_epoch)
    print(json.dumps(sorted(name for name, k in kernels.items() if k.signatures)))
""")


@pytest.mark.parametrize("kernels, expected", [
    ("default", ["default", "default_batched"]),
    ("online,general", ["general", "online"]),
])
def test_warm_cache_readies_the_kernels_asked_for_only(kernels, expected):
    """A fresh process (on the cache the test session warmed: it loads, which registers a
    kernel's version as compiling would) readies only the kernels named."""
    out = subprocess.run([sys.executable, "-c", WARM_ONE, kernels], capture_output=True,
                         text=True, check=True, timeout=600)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


def test_importing_skadapt_leaves_model_selection_unimported():
    """``sklearn.model_selection`` (which imports ``sklearn.metrics``: about 50 ms of a
    fresh process) is imported only for early stopping's validation split and by
    ``skadapt.compare``, not by ``import skadapt``."""
    code = ("import sys, skadapt; "
            "print(sorted(m for m in ('sklearn.model_selection', 'sklearn.metrics') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"


WARM_FIT = textwrap.dedent("""
    from sklearn.datasets import load_iris
    from skadapt import DendriticClassifier
    X, y = load_iris(return_X_y=True)
    DendriticClassifier((5,), max_iter=2, tol=None).fit(X / 8, y)
    DendriticClassifier((5,), max_iter=2, tol=None, batch_size=4).fit(X / 8, y)
    print("fitted")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="the compile lock is an fcntl lock")
def test_a_process_loading_cached_kernels_does_not_wait_for_the_compile_lock():
    """The lock serialises compilations only: a process whose kernels are in the cache (the
    test session warmed it) fits while another holds the lock (one compiling, say), as the
    workers of a search on a warm cache load at the same time."""
    import fcntl

    from skadapt._numba_cache import _LOCK_NAME, _compile_lock, _stamp_path

    stamp = _stamp_path()
    if stamp is None:
        pytest.skip("Numba has no on-disk cache here")
    with _compile_lock():  # the lock every compiling process takes
        other = os.open(os.path.join(os.path.dirname(stamp), _LOCK_NAME), os.O_RDWR)
        try:  # it is held: another taker would wait
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
        out = subprocess.run([sys.executable, "-c", WARM_FIT], capture_output=True,
                             text=True, timeout=120)
    assert out.returncode == 0 and "fitted" in out.stdout, out.stderr
    assert "EfficiencyWarning" not in out.stderr


def test_cold_start_counts_the_instructions_of_a_cachegrind_file():
    """``benchmarks/cold_start.py --instructions`` reads Valgrind's cachegrind output: each
    function's per-line counts, LLVM's functions (``llvm::``, ``(anonymous namespace)::``)
    apart; header and summary lines count nothing."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import cold_start
    finally:
        sys.path.pop(0)
    lines = textwrap.dedent("""
        desc: I1 cache: 32768 B, 64 B, 8-way associative
        cmd: python -c ...
        events: Ir
        fl=/build/Python/ceval.c
        fn=_PyEval_EvalFrameDefault
        10 100
        11 5
        fl=???
        fn=llvm::SelectionDAG::Combine(int)
        0 40
        fn=(anonymous namespace)::DAGCombiner::visit(llvm::SDNode*)
        0 7
        fn=exec_llvm_free_named_helper
        0 3
        summary: 155
    """).lstrip().splitlines(keepends=True)
    assert cold_start.count_instructions(lines) == (155, 47)
    assert cold_start.count_instructions([]) == (0, 0)


def test_the_collector_is_paused_while_a_kernel_compiles_and_as_it_was_after():
    """``_numba_cache.call`` turns Python's garbage collector off for a first call (a
    compilation's millions of short-lived objects set off collections of the whole heap)
    and back to what it was: on after a compilation and after one that fails, off where
    the caller had turned it off."""
    import gc

    import numpy as np
    from numba import njit
    from numba.core import event

    from skadapt import _numba_cache

    @njit
    def twice(x):
        return 2.0 * x

    @njit
    def untypable(x):
        return x.no_such_attribute

    class Listener(event.Listener):
        def on_start(self, ev):
            during.append(gc.isenabled())

        def on_end(self, ev):
            pass

    during = []
    assert gc.isenabled()
    with event.install_listener("numba:compile", Listener()):
        assert _numba_cache.call(twice, 1.5) == 3.0
        assert gc.isenabled()
        with pytest.raises(Exception, match="no_such_attribute"):
            _numba_cache.call(untypable, 1.5)
        assert gc.isenabled()
        gc.disable()
        try:
            assert _numba_cache.call(twice, np.float32(1.5)) == 3.0  # (a new kind: compiles)
            assert not gc.isenabled()
        finally:
            gc.enable()
    assert during == [False, False, False]


def test_the_flat_kernels_compile_through_the_lean_pipeline():
    """The flat kernels and the units they call compile without Numba's rewrites and
    without the passes that have no work in them (``_rules.LEAN_PASSES``), their units
    and the general kernels' helpers to LLVM IR only (``_rules.LEAN_UNIT``,
    ``_rules.KERNEL_ONLY``); a function compiled that way runs every other pass and
    computes what the default pipeline does."""
    import numpy as np
    from numba import njit
    from numba.core import typed_passes
    from numba.core.caching import NullCache

    from skadapt import _kernel, _kernel_default, _rules

    assert _rules.LEAN_PASSES == {"no_rewrites": True, "pipeline_class": _rules.LeanCompiler}
    kernels = [_kernel_default.train_epoch_default, _kernel_default.train_epoch_default_batched]
    units = [_kernel_default._forward_backward, _kernel_default._add_rows,
             _kernel_default._step_accumulated, _kernel.gather_nonzeros,
             _rules.default_gain_element]
    for func in kernels + units:
        assert func.targetoptions.get("no_rewrites") is True, func.py_func.__name__
        lean_unit = func in units
        assert func._compiler.pipeline_class is (
            _rules.LeanUnitCompiler if lean_unit else _rules.LeanCompiler), func.py_func.__name__
        assert func.targetoptions.get("no_cpython_wrapper", False) is lean_unit
        assert isinstance(func._cache, NullCache) is lean_unit  # (not cached)
    # the general kernels keep Numba's pipeline as it is (train_epoch_online prunes constant
    # branches); their helpers, too, compile to LLVM IR only
    for kernel in (_kernel.train_epoch, _kernel.train_epoch_online):
        assert "no_rewrites" not in kernel.targetoptions
        assert kernel._compiler.pipeline_class is _rules.NopythonPipeline
    assert _rules.NopythonPipeline._skipped == ()
    assert _rules.NopythonPipeline._lowering is typed_passes.NativeLowering
    helpers = [_kernel.sample_gradient, _kernel.apply_update, _kernel.online_update,
               _kernel.layer_offsets, _kernel.clear_direct_path, _kernel._active_positions,
               _kernel._to_buffers, _kernel._from_buffers, _rules.gain_row]
    for func in helpers:
        assert "no_rewrites" not in func.targetoptions
        assert func._compiler.pipeline_class is _rules.UnitCompiler, func.py_func.__name__
        assert isinstance(func._cache, NullCache)
    # gain_row is inlined by LLVM (a call instead cost the gain rules' training 2.8% more
    # instructions; doc/speed.md, step (14)); the other helpers are left to LLVM's choice
    for func in helpers:
        assert func.targetoptions.get("forceinline", False) is (func is _rules.gain_row)

    def running_max(x, out):
        m = x[0]
        for i in range(x.shape[0]):
            m = x[i] if x[i] > m else m
            out[i] = m
        return out.sum()

    lean = njit(**_rules.LEAN_PASSES)(running_max)
    default = njit(running_max)
    x = np.random.default_rng(0).normal(size=50)
    out_lean, out_default = np.empty(50), np.empty(50)
    assert lean(x, out_lean) == default(x, out_default)
    np.testing.assert_array_equal(out_lean, np.maximum.accumulate(x))
    np.testing.assert_array_equal(out_lean, out_default)
    (passes,) = lean.overloads[lean.signatures[0]].metadata["pipeline_times"].values()
    ran = {name.split("_", 1)[1] for name in passes}
    assert {"nopython_type_inference", "native_lowering", "inline_inlinables"} <= ran
    skipped = {"inline_closure_likes", "with_lifting", "inline_overloads",
               "nopython_rewrites", "generic_rewrites", "reconstruct_ssa"}
    assert not ran & skipped
    (default_passes,) = default.overloads[default.signatures[0]].metadata[
        "pipeline_times"].values()
    assert skipped <= {name.split("_", 1)[1] for name in default_passes}

    # a unit compiled to LLVM IR only: no machine code of its own; a function that calls it
    # links it in and computes what Numba's default pipeline does
    def twice_of(unit):
        def twice(x, out):
            return unit(x, out) + unit(x[:25], out[:25])
        return twice

    for unit_options, caller_options in ((_rules.LEAN_UNIT, _rules.LEAN_PASSES),
                                         (_rules.KERNEL_ONLY, {})):
        unit = njit(**unit_options)(running_max)
        caller = njit(**caller_options)(twice_of(unit))
        out_caller = np.empty(50)
        got = caller(x, out_caller)
        assert got == default(x, out_default) + default(x[:25], out_default[:25])
        np.testing.assert_array_equal(out_caller, out_default)
        (unit_result,) = unit.overloads.values()
        assert isinstance(unit_result.library, _rules.LinkedOnlyLibrary)
        engine = unit_result.library.codegen._engine
        assert not engine.is_symbol_defined(unit_result.fndesc.mangled_name)
        (caller_result,) = caller.overloads.values()
        assert engine.is_symbol_defined(caller_result.fndesc.mangled_name)


def test_the_pipelines_flags_are_numbas_with_the_same_values_hash_and_equality():
    """``_rules.CompileFlags`` (the flags every skadapt pipeline compiles with) holds and
    compares as Numba's ``Flags`` do, so that the overload caches that type inference
    looks up by flags find the same entries; only computing its values is cheaper."""
    from numba.core.compiler import Flags
    from numba.core.registry import cpu_target

    from skadapt import _rules

    numba_flags = Flags()
    numba_flags.nrt = True
    numba_flags.error_model = "numpy"
    numba_flags.no_cpython_wrapper = True
    flags = _rules.CompileFlags(numba_flags)
    assert list(flags.values().items()) == list(numba_flags.values().items())
    assert set(flags.values()) == set(Flags.options)
    assert hash(flags) == hash(numba_flags) == hash(Flags())
    assert flags == numba_flags and numba_flags == flags
    copied = flags.copy()
    assert type(copied) is _rules.CompileFlags and copied == flags and copied is not flags
    cache = {("context", (1, 2), numba_flags): "implementation"}
    assert cache[("context", (1, 2), flags)] == "implementation"
    # an option set afterwards shows in the values (nothing is kept from before)
    flags.no_compile = True
    assert flags.values()["no_compile"] is True and flags != numba_flags
    assert ("context", (1, 2), flags) not in cache
    del flags.no_compile
    assert flags == numba_flags

    pipeline = _rules.LeanUnitCompiler(cpu_target.typing_context, cpu_target.target_context,
                                       None, (), None, numba_flags, {})
    assert type(pipeline.state.flags) is _rules.CompileFlags
    assert pipeline.state.flags == numba_flags


def test_every_compiled_function_of_skadapt_compiles_through_its_pipelines():
    """Each jitted function of skadapt's kernel modules that Numba compiles on its own (all
    but those inlined into their callers) compiles through a ``_rules.NopythonPipeline``,
    and so with ``_rules.CompileFlags``."""
    from numba.core.registry import CPUDispatcher

    from skadapt import _kernel, _kernel_default, _online, _rules

    compiled = []
    for module in (_rules, _kernel, _kernel_default, _online):
        for name, func in vars(module).items():
            if (isinstance(func, CPUDispatcher) and func.__module__ == module.__name__
                    and func.targetoptions.get("inline", "never") == "never"):
                assert issubclass(func._compiler.pipeline_class, _rules.NopythonPipeline), name
                compiled.append(name)
    assert {"train_epoch", "train_epoch_online", "train_epoch_default",
            "train_epoch_default_batched", "observe", "predict_proba_row", "step_sizes",
            "default_gain_element", "gain_element"} <= set(compiled)
