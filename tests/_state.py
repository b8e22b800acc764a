"""Exact comparison of two estimators' complete states.

Two distinct estimators with the same state do not always pickle to the same bytes
(pickle records which objects are shared, e.g. interned strings), so comparing two
*different* estimators goes through their ``__getstate__`` dicts, value by value:
arrays bit for bit (dtype and shape included), random states by their full state.
Comparing one estimator before and after a call can use ``pickle.dumps`` directly.
"""

import numpy as np


def _assert_same(a, b, path):
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape}"
        if a.dtype.kind == "f":  # bit-identical, NaN included
            assert a.tobytes() == b.tobytes(), f"{path}: values differ"
        else:
            assert np.array_equal(a, b), f"{path}: values differ"
    elif isinstance(a, np.random.RandomState):
        _assert_same(a.get_state(), b.get_state(), f"{path}.get_state()")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            _assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: lengths {len(a)} != {len(b)}"
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _assert_same(u, v, f"{path}[{i}]")
    elif isinstance(a, float | np.floating):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def assert_same_state(a, b, ignore=()):
    """Assert that estimators ``a`` and ``b`` hold exactly the same state."""
    sa, sb = dict(a.__getstate__()), dict(b.__getstate__())
    for key in ignore:
        sa.pop(key, None)
        sb.pop(key, None)
    _assert_same(sa, sb, type(a).__name__)
