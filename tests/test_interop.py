"""Working with the rest of the ecosystem: River's online API, skops persistence, and the
HTML repr's link to the documentation. Skipped where River or skops is not installed."""

import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skadapt import DendriticClassifier

from ._state import assert_same_state

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order] / X.max(axis=0), y[order]


# -- River ---------------------------------------------------------------------------


def test_river_wrapper_learns_one_example_at_a_time_like_partial_fit(iris):
    compat = pytest.importorskip("river.compat")
    X, y = iris
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    classes = sorted(set(labels.tolist()))  # River maps probabilities in this order
    params = dict(hidden_layer_sizes=(10,), learning_rate_init=0.01, random_state=0)
    model = compat.convert_sklearn_to_river(DendriticClassifier(**params), classes=classes)
    twin = DendriticClassifier(**params)

    assert model.predict_one(dict(zip(names, X[0], strict=True))) == classes[0]  # unfitted
    hits = 0
    for i, (row, label) in enumerate(zip(X, labels, strict=True)):
        x = dict(zip(names, row.tolist(), strict=True))
        if i > 0:
            proba = model.predict_proba_one(x)
            expected = twin.predict_proba(row[None, :])[0]
            assert list(proba) == classes
            np.testing.assert_array_equal(list(proba.values()), expected)
            assert sum(proba.values()) == pytest.approx(1.0)
            prediction = model.predict_one(x)
            assert prediction == max(proba, key=proba.get)
            hits += prediction == label
        model.learn_one(x, label)
        twin.partial_fit(row[None, :], [label], classes=classes)
    assert_same_state(model.estimator, twin)
    assert hits / (len(labels) - 1) > 0.6  # three classes: chance is 1/3


def test_river_wrapper_needs_the_classes():
    compat = pytest.importorskip("river.compat")
    with pytest.raises(ValueError, match="classes must be provided"):
        compat.convert_sklearn_to_river(DendriticClassifier())


# -- skops ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, dtype, sparse",
    [
        (dict(), np.float64, False),
        (dict(rule="adam", hidden_layer_sizes=(), direct_path=False), np.float32, False),
        (dict(scope="dendrite", n_dendrites=2, relax_time=20.0), np.float64, True),
        (dict(early_stopping=True, validation_fraction=0.2), np.float64, False),
    ],
    ids=["default", "adam-linear-float32", "dendrite-sparse", "early-stopping"],
)
def test_skops_round_trip_trusts_only_dendritic_classifier(iris, tmp_path, config, dtype,
                                                            sparse):
    sio = pytest.importorskip("skops.io")
    X, y = iris
    X = X.astype(dtype)
    X = sp.csr_matrix(X) if sparse else X
    clf = DendriticClassifier(**{"hidden_layer_sizes": (8,), **config}, max_iter=3, tol=None,
                              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fit
        clf.fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)

    assert sio.get_untrusted_types(file=path) == ["skadapt._classifier.DendriticClassifier"]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException, match="DendriticClassifier"):
        sio.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning at all
        restored = sio.load(path, trusted=["skadapt._classifier.DendriticClassifier"])
    assert_same_state(restored, clf)
    assert restored.predict_proba(X).tobytes() == clf.predict_proba(X).tobytes()
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    # the restored model keeps learning exactly like the original
    for model in (clf, restored):
        model.set_params(early_stopping=False)  # which partial_fit does not take
        model.partial_fit(X[:40], y[:40])
        model.partial_fit(X[40:90], y[40:90])
    assert_same_state(restored, clf)
    assert restored.predict_proba(X).tobytes() == clf.predict_proba(X).tobytes()


def test_skops_round_trip_of_an_unfitted_model_and_a_pipeline(iris):
    sio = pytest.importorskip("skops.io")
    X, y = iris
    trusted = ["skadapt._classifier.DendriticClassifier"]
    unfitted = DendriticClassifier((5,), rule="sgd", random_state=3)
    data = sio.dumps(unfitted)
    assert sio.get_untrusted_types(data=data) == trusted
    copy = sio.loads(data, trusted=trusted)
    assert copy.get_params() == unfitted.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(X)

    pipe = make_pipeline(StandardScaler(), DendriticClassifier((8,), max_iter=5, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    data = sio.dumps(pipe)
    assert sio.get_untrusted_types(data=data) == trusted  # scikit-learn's own types are trusted
    restored = sio.loads(data, trusted=trusted)
    assert restored.predict_proba(X).tobytes() == pipe.predict_proba(X).tobytes()


# -- HTML repr -----------------------------------------------------------------------


def _documentation_url():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Documentation"]


def test_html_repr_links_to_the_api_page_of_the_documentation():
    docs = _documentation_url()
    link = DendriticClassifier()._get_doc_link()
    assert link == docs.rstrip("/") + "/api.html"
    html = DendriticClassifier(hidden_layer_sizes=(7,))._repr_html_()
    assert f'href="{link}"' in html
    # scikit-learn links each parameter to its entry on that page by a text fragment
    assert f'href="{link}#:~:text=hidden_layer_sizes' in html
    pipe_html = make_pipeline(StandardScaler(), DendriticClassifier())._repr_html_()
    assert f'href="{link}"' in pipe_html
    assert "scikit-learn.org" in pipe_html  # StandardScaler keeps its own link


def test_the_linked_page_documents_the_classifier_first():
    """The link has no anchor, so the class must open the API page (doc/api.rst)."""
    api = (ROOT / "doc" / "api.rst").read_text(encoding="utf-8")
    directives = [line for line in api.splitlines() if line.startswith(".. auto")]
    assert directives[0] == ".. autosummary::"
    assert directives[1] == ".. autoclass:: DendriticClassifier"
    assert api.index("DendriticClassifier") < api.index("DivergenceError")


def test_skops_load_warns_about_another_skadapt_version(iris, monkeypatch):
    sio = pytest.importorskip("skops.io")
    from sklearn.exceptions import InconsistentVersionWarning

    import skadapt

    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fit
        data = sio.dumps(DendriticClassifier((4,), max_iter=1, random_state=0).fit(X, y))
    monkeypatch.setattr(skadapt, "__version__", "0.0.1")
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        restored = sio.loads(data, trusted=["skadapt._classifier.DendriticClassifier"])
    assert restored.predict(X).shape == y.shape
