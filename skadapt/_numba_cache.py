"""Recovery from a corrupt or stale on-disk Numba cache.

The compiled kernel is cached on disk (``cache=True``): in ``__pycache__`` next to
the sources, or under ``NUMBA_CACHE_DIR``. An absent, unwritable or stale cache is
handled by Numba itself (it recompiles). A *corrupt* cache file, for instance one
left truncated by a process killed while writing it, is not: Numba (up to at least
0.68) raises the unpickling error from the first call that compiles
(numba/numba#10434). :func:`call` catches exactly that, empties the index of every
cached function of skadapt's compiled modules (or, where that fails too, stops
caching them in this process), and calls again, which recompiles.

The first compilation of a training kernel for an input dtype takes 3-8 s for the default
configuration's kernel, 10-30 s for the others (it is then cached). :func:`call` says so,
once per kernel, in an :class:`~sklearn.exceptions.EfficiencyWarning`, and compiles with
Python's garbage collector paused, under a lock file in the cache's folder: processes that
start cold together (the workers of a parallel search) compile once, one after the other
loading what the first wrote, instead of each compiling on a shared CPU. A process that
finds the kernel in the cache loads it without the lock (the workers of a search on a warm
cache load at the same time). :func:`warm_cache` compiles ahead of time.

A *stale* cache is one Numba cannot see: it checks the timestamp of the file that
defines a cached function, not of the files whose functions it inlined, so after
``_rules.py`` changes (an edit, an upgrade that leaves ``__pycache__``) the cached
kernel would still run the old rules. :func:`call` therefore first compares a
fingerprint of the compiled modules' sources with the one stored beside the cache
and, if they differ, resets the caches (once per process).
"""

import contextlib
import gc
import hashlib
import os
import sys
import time
import traceback
import warnings

import numpy as np
from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher
from sklearn.exceptions import EfficiencyWarning

_CACHING_FILE = os.path.join("numba", "core", "caching.py")


def _raised_by_numba_cache(exc):
    """Whether ``exc`` was raised while Numba was reading its on-disk cache."""
    frames = traceback.extract_tb(exc.__traceback__)
    return any(os.path.normpath(f.filename).endswith(_CACHING_FILE) for f in frames)


def _cached_dispatchers():
    from . import _kernel, _kernel_default, _online, _rules

    for module in (_kernel, _kernel_default, _rules, _online):
        for obj in vars(module).values():
            if isinstance(obj, Dispatcher):
                yield obj


def reset_caches():
    """Forget every cached compilation of skadapt's kernel (the files stay, unread)."""
    for dispatcher in _cached_dispatchers():
        cache = getattr(dispatcher, "_cache", None)
        if cache is None or isinstance(cache, NullCache):
            continue
        try:
            cache.flush()  # writes an empty index: every entry becomes a miss
        except Exception:  # the cache cannot even be rewritten: do without it
            dispatcher._cache = NullCache()


_STAMP_NAME = "skadapt-sources.sha256"
_checked = False


def _sources_fingerprint():
    from . import _kernel, _kernel_default, _rules

    digest = hashlib.sha256()
    for module in (_rules, _kernel, _kernel_default):
        with open(module.__file__, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def _stamp_path():
    from ._kernel import train_epoch

    cache = getattr(train_epoch, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    return None if path is None else os.path.join(path, _STAMP_NAME)


def ensure_fresh():
    """Reset the caches if the compiled modules' sources changed since they were
    cached (see the module docstring). Returns whether they were reset."""
    stamp = _stamp_path()
    if stamp is None:  # no on-disk cache
        return False
    current = _sources_fingerprint()
    try:
        with open(stamp) as f:
            if f.read().strip() == current:
                return False
    except OSError:  # no stamp yet (a new cache, or one from before stamps)
        pass
    reset_caches()
    try:
        os.makedirs(os.path.dirname(stamp), exist_ok=True)
        with open(stamp, "w") as f:
            f.write(current)
    except OSError:  # a read-only cache: Numba copes, and the next process checks again
        pass
    return True


# Argument kinds (each argument's dtype, or type) that ``call`` has run with in this
# process: a call of another kind may compile, and takes the lock first unless its version
# is in the cache.
_ready = set()
# the training kernels, each compiled on its first use: what they train, how long their
# first compilation takes, and the group of warm_cache's ``kernels`` that compiles them
_KERNELS = {"train_epoch_default": ("training kernel of the default configuration", "3-8 s",
                                    "default"),
            "train_epoch_default_batched": (
                "mini-batch training kernel of the default configuration", "3-8 s",
                "default"),
            "train_epoch_online": ("online training kernel", "10-30 s", "online"),
            "train_epoch": ("training kernel (mini-batch and every rule)", "10-30 s",
                            "general")}
_LOCK_NAME = "skadapt-compile.lock"


def _will_compile(func, args):
    """Whether ``func(*args)`` compiles: no version for these argument types in this
    process or in the on-disk cache. None where that cannot be told (Numba's cache
    internals changed)."""
    try:
        sig = tuple(func.typeof_pyval(a) for a in args)
        if sig in func.overloads:
            return False
        cache = func._cache
        if isinstance(cache, NullCache):
            return True
        key = cache._index_key(sig, func.targetctx.codegen())
        return key not in cache._cache_file._load_index()
    except Exception:
        return None


@contextlib.contextmanager
def _compile_lock():
    """An exclusive lock on a file in the kernel's cache folder, held while this process
    compiles or loads the kernel; no lock where there is no cache folder, no ``fcntl``
    (Windows) or the folder is not writable."""
    stamp = _stamp_path()
    try:
        import fcntl

        os.makedirs(os.path.dirname(stamp), exist_ok=True)
        fd = os.open(os.path.join(os.path.dirname(stamp), _LOCK_NAME),
                     os.O_RDWR | os.O_CREAT, 0o666)
    except Exception:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _announce_compilation(args, what, seconds, group):
    # the weights' dtype: that of the largest float vector (the flat parameters)
    params = max((a for a in args if isinstance(a, np.ndarray) and a.ndim == 1
                  and a.dtype.kind == "f"), key=lambda a: a.size, default=None)
    dtype = "its" if params is None else params.dtype.name
    stamp = _stamp_path()
    where = f" in {os.path.dirname(stamp)}" if stamp else ""
    warnings.warn(
        f"skadapt is compiling its {what} for {dtype} weights, once: "
        f"this first fit takes {seconds} more; later fits and processes load it from Numba's "
        f"cache{where}. To compile ahead, e.g. before a parallel search, run "
        f"skadapt.warm_cache(kernels={group!r}) or `python -m skadapt warm-cache --kernels "
        f"{group}` (all kernels: no kernels argument).",
        EfficiencyWarning,
        stacklevel=_outside_skadapt(),
    )


def _outside_skadapt():
    """The ``stacklevel`` of the first frame outside skadapt's package and
    scikit-learn's fit wrapper: the user's ``fit`` call (or the library's that made it)."""
    here = os.path.dirname(os.path.abspath(__file__))
    wrapper = os.path.join("sklearn", "base.py")  # (its fit-context decorator)
    frame, level = sys._getframe(2), 2  # (the warning's caller, from inside this module)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(here) or path.endswith(wrapper)):
            break
        frame, level = frame.f_back, level + 1
    return level


# warm_cache's kernel groups: the tiny fits (estimator parameters) that compile each
WARM_FITS = {
    "default": (dict(), dict(batch_size=2)),  # the default configuration, online and batched
    "online": (dict(activation="tanh"),),  # any other configuration, online
    "general": (dict(activation="tanh", batch_size=2),),  # mini-batches, every other rule
}


def warm_cache(dtypes=("float64", "float32"), verbose=False, *,
               kernels=("default", "online", "general")):
    """Compile (or load from Numba's on-disk cache) the training kernels ahead of time.

    The kernels are compiled once per weight dtype (float64 for float64 input, float32
    for float32 input; dense and sparse input share that compilation): the default
    configuration's two (the default dendritic rule, ReLU and softmax, online and in
    mini-batches, as the default learns on wide inputs: :mod:`skadapt._kernel_default`),
    the online one (``batch_size=1`` with any other rule
    whose zero gradients change nothing: ``"sgd"``, ``"adagrad"``, the gain rules at
    synapse scope, other activations or settings) and the general one (mini-batches and
    every other rule). They are cached on disk, next to skadapt's sources or under
    ``NUMBA_CACHE_DIR``. The first compilation of the four takes 25-70 s (the default's
    two 5-16 s); loading them from the cache about a second per process. Calling this
    once before a search with process workers (``GridSearchCV(n_jobs=...)``) lets each
    worker load the kernels instead of compiling them; concurrent cold compilations are
    serialised by a lock file anyway, so that they cost no more than one. A search that
    varies only the default configuration's values (learning rate, sizes, the rule's
    parameters, ...) needs ``kernels=["default"]`` only.

    Parameters
    ----------
    dtypes : str or iterable of {"float64", "float32"}, default=("float64", "float32")
        The dtypes to compile for.
    verbose : bool, default=False
        Print the time each dtype took.
    kernels : str or iterable of {"default", "online", "general"}, \
            default=("default", "online", "general")
        The kernels to compile: ``"default"``, the default configuration's two (online
        and in mini-batches); ``"online"``, the one for every other configuration learned
        one example at a time; ``"general"``, the one for mini-batches of every other
        configuration.

    Returns
    -------
    seconds : dict
        Seconds taken per dtype (compiling, or loading from the cache, plus a tiny fit
        per kernel).

    Examples
    --------
    >>> import skadapt
    >>> seconds = skadapt.warm_cache(dtypes="float64", kernels="default")
    >>> sorted(seconds)
    ['float64']
    """
    from ._classifier import DendriticClassifier

    dtypes = (dtypes,) if isinstance(dtypes, str) else tuple(dtypes)
    kernels = (kernels,) if isinstance(kernels, str) else tuple(kernels)
    for name in dtypes:
        try:
            ok = name is not None and np.dtype(name) in (np.float64, np.float32)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtypes must be 'float64' or 'float32'; got {name!r}.")
    for name in kernels:
        if not isinstance(name, str) or name not in WARM_FITS:
            raise ValueError(f"kernels must be among {sorted(WARM_FITS)}; got {name!r}.")
    if not dtypes or not kernels:
        raise ValueError(f"warm_cache needs at least one dtype and one kernel; got "
                         f"dtypes={dtypes!r}, kernels={kernels!r}.")
    out = {}
    for name in dtypes:
        dtype = np.dtype(name)
        X = np.eye(4, dtype=dtype)
        y = np.arange(4) % 2
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EfficiencyWarning)
            for kernel in dict.fromkeys(kernels):  # (each once, in the order given)
                for kw in WARM_FITS[kernel]:
                    DendriticClassifier((2,), max_iter=1, tol=None, random_state=0,
                                        **kw).fit(X, y)
        out[dtype.name] = time.perf_counter() - t0
        if verbose:
            print(f"skadapt kernel for {dtype.name}: ready in {out[dtype.name]:.1f} s")
    return out


def call(func, *args):
    """``func(*args)``, after :func:`ensure_fresh` (once per process), recompiling
    once if Numba's on-disk cache cannot be read. The first call of each kind of
    arguments in a process runs under the compile lock, and warns if it compiles, unless
    its compiled version is in this process or in the cache already (it loads without the
    lock)."""
    global _checked
    if not _checked:
        _checked = True
        try:
            ensure_fresh()
        except Exception as exc:  # never let the check itself break a fit
            warnings.warn(f"skadapt could not check its Numba cache: {exc}", RuntimeWarning,
                          stacklevel=2)
    kind = (func, *((a.dtype, a.ndim) if isinstance(a, np.ndarray) else type(a)
                    for a in args))
    if kind in _ready:
        return _call(func, args)
    if _will_compile(func, args) is False:
        # compiled in this process, or on disk: loading needs no lock (the workers of a
        # search on a warm cache load at the same time)
        with _collector_paused():
            out = _call(func, args)
    else:
        with _compile_lock(), _collector_paused():
            # (asked again under the lock: another process may have compiled it meanwhile;
            # the training kernel takes the time, the small helpers compile in a second)
            name = getattr(func, "__name__", "")
            if name in _KERNELS and _will_compile(func, args):
                _announce_compilation(args, *_KERNELS[name])
            out = _call(func, args)
    _ready.add(kind)
    return out


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while Numba compiles or loads a kernel (a
    first call of its kind), as it was before afterwards. A compilation creates millions
    of short-lived objects (Numba's IR, types and LLVM's IR as Python objects), and each
    few hundred set off a collection, which in a process that imported scikit-learn has
    hundreds of thousands of objects to look at: about a tenth of a cold first fit's time
    went to them (doc/speed.md). What the compilation leaves for the collector (about
    100,000 objects) it collects once it is back on."""
    if not gc.isenabled():  # (off already: the caller's, or a compilation in another thread)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _call(func, args):
    try:
        return func(*args)
    except Exception as exc:
        if not _raised_by_numba_cache(exc):
            raise
        warnings.warn(
            f"skadapt's Numba cache could not be read ({type(exc).__name__}: {exc}); "
            "it is reset and the kernel recompiled.",
            RuntimeWarning,
            stacklevel=3,
        )
        reset_caches()
        return func(*args)
