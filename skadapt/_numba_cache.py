"""Recovery from a corrupt on-disk Numba cache.

The compiled kernel is cached on disk (``cache=True``): in ``__pycache__`` next to
the sources, or under ``NUMBA_CACHE_DIR``. An absent, unwritable or stale cache is
handled by Numba itself (it recompiles). A *corrupt* cache file, for instance one
left truncated by a process killed while writing it, is not: Numba (up to at least
0.68) raises the unpickling error from the first call that compiles
(numba/numba#10434). :func:`call` catches exactly that, empties the index of every
cached function of skadapt's compiled modules (or, where that fails too, stops
caching them in this process), and calls again, which recompiles.
"""

import os
import traceback
import warnings

from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher

_CACHING_FILE = os.path.join("numba", "core", "caching.py")


def _raised_by_numba_cache(exc):
    """Whether ``exc`` was raised while Numba was reading its on-disk cache."""
    frames = traceback.extract_tb(exc.__traceback__)
    return any(os.path.normpath(f.filename).endswith(_CACHING_FILE) for f in frames)


def _cached_dispatchers():
    from . import _kernel, _rules

    for module in (_kernel, _rules):
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


def call(func, *args):
    """``func(*args)``, recompiling once if Numba's on-disk cache cannot be read."""
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
