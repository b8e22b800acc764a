"""Recovery from a corrupt or stale on-disk Numba cache.

The compiled kernel is cached on disk (``cache=True``): in ``__pycache__`` next to
the sources, or under ``NUMBA_CACHE_DIR``. An absent, unwritable or stale cache is
handled by Numba itself (it recompiles). A *corrupt* cache file, for instance one
left truncated by a process killed while writing it, is not: Numba (up to at least
0.68) raises the unpickling error from the first call that compiles
(numba/numba#10434). :func:`call` catches exactly that, empties the index of every
cached function of skadapt's compiled modules (or, where that fails too, stops
caching them in this process), and calls again, which recompiles.

A *stale* cache is one Numba cannot see: it checks the timestamp of the file that
defines a cached function, not of the files whose functions it inlined, so after
``_rules.py`` changes (an edit, an upgrade that leaves ``__pycache__``) the cached
kernel would still run the old rules. :func:`call` therefore first compares a
fingerprint of the compiled modules' sources with the one stored beside the cache
and, if they differ, resets the caches (once per process).
"""

import hashlib
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


_STAMP_NAME = "skadapt-sources.sha256"
_checked = False


def _sources_fingerprint():
    from . import _kernel, _rules

    digest = hashlib.sha256()
    for module in (_rules, _kernel):
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


def call(func, *args):
    """``func(*args)``, after :func:`ensure_fresh` (once per process), recompiling
    once if Numba's on-disk cache cannot be read."""
    global _checked
    if not _checked:
        _checked = True
        try:
            ensure_fresh()
        except Exception as exc:  # never let the check itself break a fit
            warnings.warn(f"skadapt could not check its Numba cache: {exc}", RuntimeWarning,
                          stacklevel=2)
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
