"""Persistence: pickle and joblib round trips, the skadapt version check, and the
on-disk Numba cache (absent, unwritable or corrupt must never break import or fit)."""

import copy
import os
import pickle
import stat
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import InconsistentVersionWarning

import skadapt
from skadapt import DendriticClassifier

from ._state import assert_same_state


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


CONFIGS = {
    "dendritic-synapse": dict(rule="dendritic", relax_time=50.0),
    "dendritic-dendrite": dict(rule="dendritic", scope="dendrite", n_dendrites=3),
    "dendritic-unit": dict(rule="dendritic", scope="unit", growth="multiplicative",
                           gain_up=1.05),
    "sgd": dict(rule="sgd", learning_rate_init=0.05),
    "adam": dict(rule="adam"),
    "rprop": dict(rule="rprop"),
    "nesterov-minibatch": dict(rule="nesterov", batch_size=8, learning_rate_init=0.01),
}


def _data(digits, sparse, dtype):
    X, y = digits
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("config", CONFIGS)
def test_round_trips_are_bit_identical_and_keep_learning(digits, tmp_path, config, sparse,
                                                         dtype):
    X, y = _data(digits, sparse, dtype)
    clf = DendriticClassifier((12,), max_iter=2, tol=None, random_state=0, **CONFIGS[config])
    clf.fit(X, y)
    assert clf._params.dtype == dtype
    joblib.dump(clf, tmp_path / "model.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning at all
        restored = {
            "pickle": pickle.loads(pickle.dumps(clf)),
            "pickle-protocol-2": pickle.loads(pickle.dumps(clf, protocol=2)),
            "joblib": joblib.load(tmp_path / "model.joblib"),
        }
    proba = clf.predict_proba(X)
    for how, other in restored.items():
        assert_same_state(other, clf)
        out = other.predict_proba(X)
        assert out.dtype == proba.dtype, how
        assert out.tobytes() == proba.tobytes(), how  # bit-identical
        np.testing.assert_array_equal(other.decision_function(X), clf.decision_function(X))
        np.testing.assert_array_equal(other.predict(X), clf.predict(X))
        for mine, theirs in zip(other.step_sizes_, clf.step_sizes_, strict=True):
            np.testing.assert_array_equal(mine, theirs)
        assert other.coefs_[0].base is not None  # views into the parameter vector
    # every restored copy continues exactly like the original
    for step in range(2):
        batch = slice(50 * step, 50 * step + 80)
        clf.partial_fit(X[batch], y[batch])
        for other in restored.values():
            other.partial_fit(X[batch], y[batch])
    for other in restored.values():
        assert_same_state(other, clf)
        assert other.predict_proba(X).tobytes() == clf.predict_proba(X).tobytes()


@pytest.mark.parametrize("config", ["sgd", "adam", "dendritic-default", "dendritic-synapse"])
def test_a_deepcopy_forks_a_model_that_partial_fit_keeps_apart(digits, config):
    """partial_fit writes its private copy into the arrays of the call before last and
    shares the arrays it never writes; a model forked with ``copy.deepcopy`` (what the
    user guide recommends) must still be independent: the original's later calls leave
    the fork as it was, and each goes on like a twin unpickled at the fork."""
    X, y = digits
    cfg = {} if config == "dendritic-default" else CONFIGS[config]
    est = DendriticClassifier((10,), random_state=0, **cfg)
    est.partial_fit(X[:100], y[:100], classes=np.arange(10))
    est.partial_fit(X[100:200], y[100:200])
    fork = copy.deepcopy(est)
    twin = pickle.loads(pickle.dumps(est))
    for start in (200, 250, 0):
        est.partial_fit(X[start : start + 50], y[start : start + 50])
    assert_same_state(fork, twin)
    for model in (fork, twin):
        model.partial_fit(X[:50], y[:50])
        model.partial_fit(X[50:100], y[50:100])
    assert_same_state(fork, twin)
    assert not np.array_equal(est._params, fork._params)


def test_unfitted_and_warm_start_round_trips(digits):
    X, y = digits
    fresh = DendriticClassifier((5,), max_iter=2, tol=None, random_state=0)
    copy = pickle.loads(pickle.dumps(fresh))
    assert copy.get_params() == fresh.get_params()
    assert_same_state(copy.fit(X, y), fresh.fit(X, y))
    warm = DendriticClassifier((5,), max_iter=1, tol=None, warm_start=True, random_state=0)
    warm.fit(X, y)
    other = pickle.loads(pickle.dumps(warm))
    warm.fit(X, y)
    other.fit(X, y)
    assert_same_state(other, warm)
    assert other.n_iter_ == 1 and len(other.loss_curve_) == 2


# ------------------------------------------------------------- version check
def _fitted(digits):
    X, y = digits
    return DendriticClassifier((5,), max_iter=1, tol=None, random_state=0).fit(X, y)


def test_pickle_records_the_skadapt_version(digits):
    clf = _fitted(digits)
    state = clf.__getstate__()
    assert state["_skadapt_version"] == skadapt.__version__
    assert "_skadapt_version" not in clf.__dict__  # recorded in the pickle only
    restored = pickle.loads(pickle.dumps(clf))
    assert "_skadapt_version" not in restored.__dict__


def _check_version_warning(record, original):
    [w] = [w for w in record if issubclass(w.category, InconsistentVersionWarning)]
    warning = w.message
    assert warning.estimator_name == "DendriticClassifier"
    assert warning.original_sklearn_version == original
    assert warning.current_sklearn_version == skadapt.__version__
    assert f"from skadapt version {original} when using skadapt version" in str(warning)


def test_loading_another_skadapt_versions_pickle_warns(digits):
    clf = _fitted(digits)
    X = digits[0]
    data = pickle.dumps(clf)
    # edit the version in the pickled bytes (same length, so the framing stays valid)
    ours = skadapt.__version__.encode()
    other = b"9" * len(ours)
    assert data.count(ours) == 1
    edited = data.replace(ours, other)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(edited)
    _check_version_warning(record, other.decode())
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert "_skadapt_version" not in loaded.__dict__


def test_input_statistics_of_an_earlier_version_keep_learning(digits):
    """An earlier version kept 5 rows of input statistics (no largest and smallest
    values): a model with them keeps learning, and its statistics get the two rows (the
    mean as both, so that the values seen from then on decide the bound)."""
    X, y = digits
    X = X + 1.0  # every feature dense: centred, so the bound applies
    clf = DendriticClassifier((10,), max_iter=2, random_state=0).fit(X, y)
    old = copy.deepcopy(clf)
    old._state["in_stats"] = old._state["in_stats"][:5].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old.partial_fit(X[:50], y[:50])
    stats = old._state["in_stats"]
    assert stats.shape == clf._state["in_stats"].shape
    mean_before = clf._state["in_stats"][3]
    np.testing.assert_array_equal(stats[5], np.maximum(X[:50].max(axis=0), mean_before))
    np.testing.assert_array_equal(stats[6], np.minimum(X[:50].min(axis=0), mean_before))
    assert np.isfinite(old._params).all()


def test_state_edited_or_without_a_version_warns(digits):
    clf = _fitted(digits)
    for original in ("0.0.1", None):
        state = clf.__getstate__()
        if original is None:  # a pickle from before versions were recorded
            del state["_skadapt_version"]
        else:
            state["_skadapt_version"] = original
        new = DendriticClassifier.__new__(DendriticClassifier)
        with pytest.warns(InconsistentVersionWarning) as record:
            new.__setstate__(state)
        _check_version_warning(record, original or "unknown")
        assert_same_state(new, clf)
    # a filter on scikit-learn's category turns it into an error, as for sklearn models
    state = dict(clf.__getstate__(), _skadapt_version="0.0.1")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            DendriticClassifier.__new__(DendriticClassifier).__setstate__(state)


def test_a_newer_skadapt_at_load_time_warns(digits, monkeypatch):
    data = pickle.dumps(_fitted(digits))
    pickled_by = skadapt.__version__
    monkeypatch.setattr(skadapt, "__version__", "99.0.0")
    with pytest.warns(InconsistentVersionWarning) as record:
        pickle.loads(data)
    _check_version_warning(record, pickled_by)
    assert skadapt.__version__ == "99.0.0"


# -------------------------------------------------------------- Numba cache
# Three subprocesses in all (each may recompile the kernel, 15-30 s): NUMBA_CACHE_DIR
# (1) an empty directory made read-only (for root, who may still write, an empty
#     cache; for anyone else, an unwritable one), (2) a path below a regular file,
#     which cannot be created, (3) a directory of garbage index and data files with
#     the names of a warm cache's files.
SCRIPT = """
import numpy as np
import skadapt
rng = np.random.RandomState(0)
X = rng.randn(80, 4)
y = (X[:, 0] + X[:, 1] > 0).astype(int)
clf = skadapt.DendriticClassifier((4,), learning_rate_init=0.05, max_iter=5, tol=None,
                                   random_state=0).fit(X, y)
print("SCORE", repr(clf.score(X, y)))
"""


def _expected_score():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = DendriticClassifier((4,), learning_rate_init=0.05, max_iter=5, tol=None,
                              random_state=0).fit(X, y)
    return clf.score(X, y)


def _run_with_cache_dir(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)


def _assert_fits(result, expected):
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"SCORE {expected!r}" in result.stdout, (result.stdout, result.stderr[-3000:])


def test_numba_cache_absent_unwritable_or_corrupt_never_breaks_fit(tmp_path):
    expected = _expected_score()
    assert expected > 0.8

    # (1) empty, read-only
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH
                   | stat.S_IXOTH)  # 0o555
    try:
        _assert_fits(_run_with_cache_dir(readonly), expected)
        written = sorted(readonly.rglob("*.nbi"))
    finally:
        readonly.chmod(0o755)

    # (2) a path below a regular file: it cannot be created
    regular = tmp_path / "regular_file"
    regular.write_text("not a directory")
    _assert_fits(_run_with_cache_dir(regular / "sub"), expected)
    assert regular.read_text() == "not a directory"

    # (3) garbage files under the names a warm cache uses
    if not written:  # not root: (1) could not write; take the names from the warm cache
        pytest.skip("no warm cache to copy the file names from (not running as root)")
    garbage = tmp_path / "garbage"
    for index in written:
        for src in [index, *index.parent.glob(index.name[: -len(".nbi")] + ".*.nbc")]:
            dst = garbage / src.relative_to(readonly)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(b"garbage\n" + os.urandom(64))
    names = sorted(p.name for p in garbage.rglob("*"))
    assert any(n.startswith("_kernel_default.train_epoch") and n.endswith(".nbi")
               for n in names)
    assert any(n.endswith(".nbc") for n in names)
    # with the sources' fingerprint in place (the cache is not stale), reading it fails
    from skadapt._numba_cache import _STAMP_NAME, _sources_fingerprint

    # (the default fit's kernel is the default configuration's)
    [train_index] = [p for p in garbage.rglob("_kernel_default.train_epoch_default-*.nbi")]
    (train_index.parent / _STAMP_NAME).write_text(_sources_fingerprint())
    result = _run_with_cache_dir(garbage)
    _assert_fits(result, expected)
    assert "Numba cache could not be read" in result.stderr
    # the cache is usable again: the kernel's index was rewritten
    assert not train_index.read_bytes().startswith(b"garbage")

    # (4) the same garbage without a fingerprint: reset before it is read, no warning
    (train_index.parent / _STAMP_NAME).unlink()
    train_index.write_bytes(b"garbage\n" + os.urandom(64))
    result = _run_with_cache_dir(garbage)
    _assert_fits(result, expected)
    assert "could not be read" not in result.stderr
    assert (train_index.parent / _STAMP_NAME).read_text() == _sources_fingerprint()



def test_changed_kernel_sources_reset_the_numba_cache(tmp_path, monkeypatch):
    """Numba checks only the timestamp of the file defining a cached function, not of
    _rules.py whose functions the kernel inlines: skadapt keeps a fingerprint of both
    sources beside the cache and resets the cache when it differs."""
    from skadapt import _numba_cache

    stamp = tmp_path / "cache" / "skadapt-sources.sha256"
    resets = []
    monkeypatch.setattr(_numba_cache, "_stamp_path", lambda: str(stamp))
    monkeypatch.setattr(_numba_cache, "reset_caches", lambda: resets.append(1))
    assert _numba_cache.ensure_fresh() and len(resets) == 1  # no stamp yet
    assert stamp.read_text() == _numba_cache._sources_fingerprint()
    assert not _numba_cache.ensure_fresh() and len(resets) == 1  # unchanged sources
    stamp.write_text("fingerprint of older sources")
    assert _numba_cache.ensure_fresh() and len(resets) == 2
    assert stamp.read_text() == _numba_cache._sources_fingerprint()
