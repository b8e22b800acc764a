"""Deployment: the equivalent MLPClassifier and the ONNX export (skl2onnx, onnxruntime).

Every model is fitted with ``tol=None`` (no ConvergenceWarning) on features of very
different scales and offsets, so that the default input scaling (centring and scaling
folded into the first layer's and the direct path's weights) is exercised.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier

from skadapt import DendriticClassifier

ROOT = Path(__file__).resolve().parent.parent
ACTIVATIONS = ["sigmoid", "logistic", "relu", "tanh"]  # "logistic": MLPClassifier's name
# (hidden_layer_sizes, direct_path); the direct path needs a hidden layer
ARCHITECTURES = [((), False), ((6,), False), ((6,), True), ((5, 4), False), ((5, 4), True)]


def _data(n_classes, seed=0, n=90):
    """Training data and fresh data from the same distribution (plus a few points beyond
    the training range), with features of scales 1e-2 to 1e2 and non-zero means."""
    X, y = make_classification(n_samples=2 * n, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, class_sep=1.5,
                               random_state=seed)
    X = X * np.array([1.0, 100.0, 0.01, 3.0, 1.0]) + np.array([0.0, 50.0, -1.0, 0.0, 4.0])
    X_new = X[n:].copy()
    X_new[:5] *= 3.0
    return X[:n], y[:n], X_new


def _fit(X, y, dtype=np.float64, **params):
    kw = dict(hidden_layer_sizes=(6,), learning_rate_init=0.01, max_iter=8, tol=None,
              random_state=0)
    kw.update(params)
    return DendriticClassifier(**kw).fit(X.astype(dtype), y)


def _assert_labels_match(labels, expected, proba, margin):
    """Labels equal wherever the two largest probabilities differ by more than ``margin``
    (a closer pair may round either way), and that is nearly every row."""
    top2 = np.sort(proba, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > margin
    assert clear.mean() > 0.9
    assert_array_equal(np.asarray(labels)[clear], np.asarray(expected)[clear])


# ----------------------------------------------------------------- MLPClassifier
@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if not a[1]])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_classifier_is_equivalent(activation, n_classes, arch):
    X, y, X_new = _data(n_classes)
    clf = _fit(X, y, hidden_layer_sizes=arch[0], activation=activation, direct_path=arch[1])
    mlp = clf.to_mlp_classifier()
    assert isinstance(mlp, MLPClassifier)
    assert mlp.activation == {"sigmoid": "logistic"}.get(activation, activation)
    assert mlp.hidden_layer_sizes == arch[0]
    assert_array_equal(mlp.classes_, clf.classes_)
    assert mlp.n_features_in_ == clf.n_features_in_ == 5
    assert mlp.n_layers_ == clf.n_layers_ == len(arch[0]) + 2
    assert mlp.n_outputs_ == (1 if n_classes == 2 else n_classes)
    assert mlp.out_activation_ == ("logistic" if n_classes == 2 else "softmax")
    for Z in (X, X_new):
        p = clf.predict_proba(Z)
        assert p.min() < 0.2  # a model that tells the classes apart: a meaningful check
        # binary: MLPClassifier's first column is 1 - p1, exact to the rounding of 1
        assert_allclose(mlp.predict_proba(Z), p, rtol=1e-10, atol=1e-15 if n_classes > 2
                        else 1e-14)
        _assert_labels_match(mlp.predict(Z), clf.predict(Z), p, 1e-12)
    assert mlp.score(X, y) == clf.score(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_mlp_classifier_of_float32_model_and_string_labels(n_classes):
    X, y, X_new = _data(n_classes, seed=1)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = _fit(X, labels, dtype=np.float32, hidden_layer_sizes=(5, 4), direct_path=False)
    assert clf.coefs_[0].dtype == np.float32
    mlp = clf.to_mlp_classifier()
    assert mlp.coefs_[0].dtype == np.float32
    assert_array_equal(mlp.classes_, clf.classes_)
    for Z in (X.astype(np.float32), X_new.astype(np.float32), X_new):
        p = clf.predict_proba(Z)
        assert_allclose(mlp.predict_proba(Z), p, rtol=1e-5, atol=1e-6)
        _assert_labels_match(mlp.predict(Z), clf.predict(Z), p, 1e-4)
        assert mlp.predict(Z).dtype.kind == "U"


def test_mlp_classifier_keeps_feature_names_and_continues_training():
    pd = pytest.importorskip("pandas")
    X, y, _ = _data(3)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = _fit(df, y, direct_path=False)
    mlp = clf.to_mlp_classifier()
    assert_array_equal(mlp.feature_names_in_, clf.feature_names_in_)
    assert_allclose(mlp.predict_proba(df), clf.predict_proba(df), rtol=1e-10)
    with pytest.warns(UserWarning, match="feature names"):
        mlp.predict(X)
    # scikit-learn's solver continues from the copied weights (and leaves skadapt's alone)
    before = [c.copy() for c in mlp.coefs_]
    mlp.partial_fit(df, y)
    assert mlp.t_ == clf.t_ + len(y)
    assert mlp.loss_curve_[:-1] == clf.loss_curve_ and len(mlp.loss_curve_) == clf.n_iter_ + 1
    assert not np.array_equal(mlp.coefs_[0], before[0])
    assert_array_equal(clf.coefs_[0], before[0])


def _multilabel_data(n_labels, seed=0, n=90):
    """:func:`_data`'s features (scales and offsets) with a multilabel indicator matrix."""
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=2 * n, n_features=5, n_classes=n_labels,
                                          n_labels=2, random_state=seed)
    X = X * np.array([1.0, 100.0, 0.01, 3.0, 1.0]) + np.array([0.0, 50.0, -1.0, 0.0, 4.0])
    X_new = X[n:].copy()
    X_new[:5] *= 3.0
    return X[:n], Y[:n], X_new


def _assert_multilabel_match(labels, expected, proba, margin):
    """Label indicators equal wherever the probability is more than ``margin`` from 0.5,
    and that is nearly every entry."""
    clear = np.abs(proba - 0.5) > margin
    assert clear.mean() > 0.9
    assert_array_equal(np.asarray(labels)[clear], np.asarray(expected)[clear])


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if not a[1]])
@pytest.mark.parametrize("n_labels", [2, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_classifier_is_equivalent_for_multilabel(activation, n_labels, arch):
    """A multilabel model's sigmoid outputs are MLPClassifier's logistic outputs: the
    same probabilities (to rounding), predictions, subset accuracy, and its ``partial_fit``
    continues on an indicator matrix."""
    X, Y, X_new = _multilabel_data(n_labels)
    clf = _fit(X, Y, hidden_layer_sizes=arch[0], activation=activation, direct_path=arch[1])
    mlp = clf.to_mlp_classifier()
    assert mlp.out_activation_ == clf.out_activation_ == "logistic"
    assert mlp.n_outputs_ == clf.n_outputs_ == n_labels
    assert_array_equal(mlp.classes_, np.arange(n_labels))
    for Z in (X, X_new):
        p = clf.predict_proba(Z)
        assert p.shape == (Z.shape[0], n_labels)
        assert np.ptp(p) > 0.3  # a model that has learnt something: a meaningful check
        assert_allclose(mlp.predict_proba(Z), p, rtol=1e-10, atol=1e-15)
        assert mlp.predict(Z).dtype == clf.predict(Z).dtype
        _assert_multilabel_match(mlp.predict(Z), clf.predict(Z), p, 1e-12)
    assert mlp.score(X, Y) == clf.score(X, Y)
    mlp.partial_fit(X, Y)
    assert mlp.t_ == clf.t_ + len(Y)


def test_mlp_classifier_of_sparse_multilabel_model_predicts_sparse():
    import scipy.sparse as sp

    X, Y, X_new = _multilabel_data(3, seed=1)
    clf = _fit(X, sp.csr_matrix(Y), direct_path=False)
    mlp = clf.to_mlp_classifier()
    pred, expected = mlp.predict(X_new), clf.predict(X_new)
    assert sp.issparse(pred) and sp.issparse(expected)
    _assert_multilabel_match(pred.toarray(), expected.toarray(), clf.predict_proba(X_new),
                             1e-12)


def test_mlp_classifier_refuses_a_direct_path():
    X, y, _ = _data(3)
    clf = _fit(X, y, direct_path=True)
    params = clf._params.copy()
    with pytest.raises(ValueError, match=r"direct input-to-output path.*direct_path=False"):
        clf.to_mlp_classifier()
    assert_array_equal(clf._params, params)
    assert_array_equal(clf.predict(X), clf.predict(X))
    # a direct path with zero weights adds nothing: the equivalent exists
    clf.direct_coef_[...] = 0.0
    mlp = clf.to_mlp_classifier()
    assert_allclose(mlp.predict_proba(X), clf.predict_proba(X), rtol=1e-10)


def test_mlp_classifier_errors():
    with pytest.raises(NotFittedError):
        DendriticClassifier().to_mlp_classifier()
    X, y, _ = _data(2)
    clf = _fit(X, y, direct_path=False)
    clf.activation = "softplus"  # not an activation of either
    with pytest.raises(ValueError, match="activation='softplus' has no equivalent"):
        clf.to_mlp_classifier()


# ------------------------------------------------------------------------- ONNX
def _onnx_run(clf, X, dtype, **to_onnx_kw):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    onx = skl2onnx.to_onnx(clf, X[:1].astype(dtype), **to_onnx_kw)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda Z: sess.run(None, {name: np.asarray(Z, dtype=dtype)})


TOL = {np.float64: dict(rtol=1e-10, atol=1e-14), np.float32: dict(rtol=1e-5, atol=1e-6)}
MARGIN = {np.float64: 1e-10, np.float32: 1e-4}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnx_matches_predict(activation, n_classes, arch, dtype):
    X, y, X_new = _data(n_classes)
    clf = _fit(X, y, dtype, hidden_layer_sizes=arch[0], activation=activation,
               direct_path=arch[1])
    assert (clf.direct_coef_ is not None) == arch[1]
    run = _onnx_run(clf, X, dtype, options={"zipmap": False})
    for Z in (X.astype(dtype), X_new.astype(dtype)):
        labels, proba = run(Z)
        p = clf.predict_proba(Z)
        assert proba.dtype == dtype and proba.shape == p.shape
        assert p.min() < 0.2
        assert_allclose(proba, p, **TOL[dtype])
        assert labels.dtype == np.int64
        _assert_labels_match(labels, clf.predict(Z), p, MARGIN[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("arch", [((), False), ((6,), True), ((5, 4), True)])
@pytest.mark.parametrize("n_labels", [2, 4])
def test_onnx_multilabel_matches_predict(n_labels, arch, dtype):
    """A multilabel model: the labels' sigmoid probabilities, and the indicator matrix of
    those above 0.5 as the label (int64, shape (n_samples, n_labels)), as ``predict``."""
    X, Y, X_new = _multilabel_data(n_labels, seed=4)
    clf = _fit(X, Y, dtype, hidden_layer_sizes=arch[0], direct_path=arch[1])
    run = _onnx_run(clf, X, dtype, options={"zipmap": False})
    for Z in (X.astype(dtype), X_new.astype(dtype)):
        labels, proba = run(Z)
        p = clf.predict_proba(Z)
        assert proba.dtype == dtype and proba.shape == p.shape == (Z.shape[0], n_labels)
        assert np.ptp(p) > 0.3  # a model that has learnt something: a meaningful check
        assert_allclose(proba, p, **TOL[dtype])
        assert labels.dtype == np.int64 and labels.shape == p.shape
        _assert_multilabel_match(labels, clf.predict(Z), p, MARGIN[dtype])
    if dtype == np.float32:  # ZipMap: {label index: probability} per row
        labels, dicts = _onnx_run(clf, X, dtype)(X_new)
        assert [list(d) for d in dicts[:2]] == [list(range(n_labels))] * 2
        p = clf.predict_proba(X_new.astype(dtype))
        assert_allclose([[d[k] for k in range(n_labels)] for d in dicts], p, **TOL[dtype])
        _assert_multilabel_match(labels, clf.predict(X_new.astype(dtype)), p, MARGIN[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_onnx_labels_and_zipmap(dtype):
    X, y, X_new = _data(3, seed=2)
    for classes in (np.array(["setosa", "versicolor", "virginica"]), np.array([-3, 7, 42])):
        clf = _fit(X, classes[y], dtype, hidden_layer_sizes=(5, 4))
        p, pred = clf.predict_proba(X_new.astype(dtype)), clf.predict(X_new.astype(dtype))
        if dtype == np.float32:  # (ZipMap takes float only, as for every skl2onnx classifier)
            # default: probabilities as a list of {class: probability} (ZipMap)
            labels, dicts = _onnx_run(clf, X, dtype)(X_new)
            assert labels.dtype == (object if classes.dtype.kind == "U" else np.int64)
            assert [list(d) for d in dicts[:2]] == [classes.tolist()] * 2
            assert_allclose([[d[c] for c in classes] for d in dicts], p, **TOL[dtype])
            _assert_labels_match(labels, pred, p, MARGIN[dtype])
        # one output per class
        out = _onnx_run(clf, X, dtype, options={"zipmap": "columns"})(X_new)
        assert_allclose(np.column_stack(out[1:]), p, **TOL[dtype])
        _assert_labels_match(out[0], pred, p, MARGIN[dtype])
        # class indices instead of labels
        labels, proba = _onnx_run(clf, X, dtype, options={"zipmap": False, "nocl": True})(X_new)
        assert_allclose(proba, p, **TOL[dtype])
        _assert_labels_match(labels, np.searchsorted(clf.classes_, pred), p, MARGIN[dtype])


def test_onnx_pipeline_and_class_labels_output():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, X_new = _data(3, seed=3)
    classes = np.array(["a", "b", "c"])
    pipe = make_pipeline(StandardScaler(), DendriticClassifier(
        (5,), learning_rate_init=0.01, max_iter=8, tol=None, random_state=0))
    pipe.fit(X.astype(np.float32), classes[y])
    options = {DendriticClassifier: {"zipmap": False, "output_class_labels": True}}
    labels, proba, class_labels = _onnx_run(pipe, X, np.float32, options=options)(X_new)
    assert_array_equal(class_labels, classes)
    p = pipe.predict_proba(X_new.astype(np.float32))
    assert_allclose(proba, p, **TOL[np.float32])
    _assert_labels_match(labels, pipe.predict(X_new.astype(np.float32)), p, MARGIN[np.float32])


def test_onnx_float64_model_with_float32_input():
    X, y, X_new = _data(3)
    clf = _fit(X, y, hidden_layer_sizes=(6,))
    labels, proba = _onnx_run(clf, X, np.float32, options={"zipmap": False})(X_new)
    assert proba.dtype == np.float32
    p = clf.predict_proba(X_new)
    assert_allclose(proba, p, **TOL[np.float32])
    _assert_labels_match(labels, clf.predict(X_new), p, MARGIN[np.float32])


def test_onnx_errors():
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y, _ = _data(2)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(DendriticClassifier(), X[:1])
    clf = _fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but DendriticClassifier is "
                       "expecting 5 features"):
        skl2onnx.to_onnx(clf, X[:1, :3])
    # (classes_ of non-integer floats cannot be fitted: a "continuous" target)
    clf_float = _fit(X, y)
    clf_float.classes_ = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="are not integers"):
        skl2onnx.to_onnx(clf_float, X[:1], options={"zipmap": False})
    # a float label that is an integer is exported as one
    labels, _ = _onnx_run(_fit(X, y * 2.0), X, np.float64, options={"zipmap": False})(X)
    assert set(labels.tolist()) <= {0, 2}


def test_register_onnx_converter_is_idempotent():
    pytest.importorskip("skl2onnx")
    import skadapt

    skadapt.register_onnx_converter()
    skadapt.register_onnx_converter()
    X, y, _ = _data(2)
    clf = _fit(X, y)
    labels, proba = _onnx_run(clf, X, np.float64, options={"zipmap": False})(X)
    assert_allclose(proba, clf.predict_proba(X), **TOL[np.float64])


_IMPORT_ORDER = """
import sys
{first}
{second}
from skl2onnx._supported_operators import sklearn_operator_name_map
import skadapt
assert sklearn_operator_name_map[skadapt.DendriticClassifier] == "SkadaptDendriticClassifier"
assert not any(type(f).__name__ == "_Skl2onnxFinder" for f in sys.meta_path)
print("ok")
"""


@pytest.mark.parametrize("skl2onnx_first", [False, True])
def test_registration_follows_either_import_order(skl2onnx_first):
    """``import skadapt`` never imports skl2onnx (nor onnx), and the converter is
    registered whichever is imported first (fresh interpreters)."""
    pytest.importorskip("skl2onnx")
    first, second = "import skadapt", "import skl2onnx"
    if skl2onnx_first:
        first, second = second, first
    else:
        first += "\nassert 'skl2onnx' not in sys.modules and 'onnx' not in sys.modules"
    code = textwrap.dedent(_IMPORT_ORDER.format(first=first, second=second))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=_env_with_repo())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert "could not register" not in proc.stderr


def _env_with_repo():
    import os

    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""))
