"""Tests for the learning-curve comparison (skadapt.compare, python -m skadapt)."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skadapt import DendriticClassifier
from skadapt.__main__ import main
from skadapt.compare import format_table, learning_curves, summarize


def _cheap_estimators():
    return {
        "logreg": LogisticRegression(max_iter=1000),
        "dendritic-linear": DendriticClassifier(hidden_layer_sizes=(), max_iter=5, random_state=0),
    }


def _records(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


def test_learning_curves_iris_one_row_per_estimator():
    rows = _records(
        learning_curves(_cheap_estimators(), dataset="iris", train_sizes=(30,), n_repeats=1)
    )
    assert [row["estimator"] for row in rows] == ["logreg", "dendritic-linear"]
    for row in rows:
        assert row["train_size"] == 30
        assert row["repeat"] == 0
        assert 0.6 < row["accuracy"] <= 1.0
        assert row["fit_time"] >= 0.0


def test_learning_curves_skips_sizes_larger_than_training_part():
    # iris: 150 samples, 105 in the training part of a 70/30 split.
    rows = _records(
        learning_curves(
            {"logreg": LogisticRegression(max_iter=1000)},
            dataset="iris",
            train_sizes=(30, 105, 500),
            n_repeats=2,
        )
    )
    assert sorted((row["train_size"], row["repeat"]) for row in rows) == [
        (30, 0), (30, 1), (105, 0), (105, 1)
    ]


def test_learning_curves_accepts_x_y_tuple_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    est = {"logreg": LogisticRegression()}
    first = _records(learning_curves(est, dataset=(X, y), train_sizes=(40,), n_repeats=2))
    second = _records(learning_curves(est, dataset=(X, y), train_sizes=(40,), n_repeats=2))
    assert [r["accuracy"] for r in first] == [r["accuracy"] for r in second]
    assert all(r["accuracy"] > 0.8 for r in first)


def test_learning_curves_rejects_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        learning_curves({"logreg": LogisticRegression()}, dataset="fashion")


def test_summarize_and_format_table():
    rows = [
        {"estimator": "a", "train_size": 10, "repeat": 0, "accuracy": 0.8, "fit_time": 0.1},
        {"estimator": "a", "train_size": 10, "repeat": 1, "accuracy": 0.9, "fit_time": 0.3},
        {"estimator": "a", "train_size": 20, "repeat": 0, "accuracy": 0.95, "fit_time": 0.5},
        {"estimator": "a", "train_size": 20, "repeat": 1, "accuracy": 0.95, "fit_time": 0.7},
        {"estimator": "long name", "train_size": 10, "repeat": 0, "accuracy": 0.5, "fit_time": 1.0},
        {"estimator": "long name", "train_size": 20, "repeat": 0, "accuracy": 0.6, "fit_time": 2.0},
    ]
    summary = summarize(rows)
    by_key = {(s["estimator"], s["train_size"]): s for s in summary}
    assert len(summary) == 4
    a10 = by_key[("a", 10)]
    assert a10["n_repeats"] == 2
    assert a10["accuracy"] == pytest.approx(0.85)
    assert a10["accuracy_sem"] == pytest.approx(0.05)  # std(ddof=1) / sqrt(2)
    assert a10["fit_time"] == pytest.approx(0.2)
    assert by_key[("a", 20)]["accuracy_sem"] == pytest.approx(0.0)
    assert math.isnan(by_key[("long name", 10)]["accuracy_sem"])

    table = format_table(summary)
    lines = table.splitlines()
    assert len(lines) == 4  # header, rule, one line per estimator
    assert "n=10" in lines[0] and "n=20" in lines[0] and "fit s (n=20)" in lines[0]
    assert lines[2].split()[0] == "a"
    assert "0.850 ± 0.050" in lines[2]
    assert lines[2].endswith("0.600")  # mean fit time at the largest size
    assert lines[3].startswith("long name")
    assert "0.500" in lines[3] and "±" not in lines[3]
    assert lines[3].endswith("2.000")


def test_summarize_and_format_table_on_learning_curves_output():
    rows = learning_curves(_cheap_estimators(), dataset="iris", train_sizes=(30,), n_repeats=1)
    table = format_table(summarize(rows))
    for name in _cheap_estimators():
        assert name in table


def test_main_compare_iris(capsys):
    status = main(["compare", "--dataset", "iris", "--sizes", "30", "--repeats", "1"])
    out = capsys.readouterr().out
    assert status == 0
    assert "iris" in out.splitlines()[0]
    for name in ("dendritic", "adam (skadapt)", "sgd (skadapt)", "MLPClassifier",
                 "SGDClassifier", "LogisticRegression"):
        assert name in out
    assert "n=30" in out
    assert "ranks" in out


def test_main_defaults_to_compare_and_selects_estimators(capsys):
    status = main(["--dataset", "iris", "--sizes", "30", "--repeats", "1",
                   "--estimators", "dendritic,LogisticRegression"])
    out = capsys.readouterr().out
    assert status == 0
    assert "dendritic" in out and "LogisticRegression" in out
    assert "MLPClassifier" not in out
    assert "of 2" in out  # ranking among the two estimators run


def test_main_rejects_unknown_estimator():
    with pytest.raises(SystemExit):
        main(["compare", "--estimators", "nope"])


def test_main_writes_a_plot_and_reads_csv_and_npz(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    csv = tmp_path / "iris.csv"
    header = ",".join([f"f{i}" for i in range(4)] + ["label"])
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    npz = tmp_path / "iris.npz"
    np.savez(npz, X=X, y=y)
    png = tmp_path / "lc.png"
    for data in (csv, npz):
        status = main(["compare", "--dataset", str(data), "--sizes", "30", "--repeats", "1",
                       "--estimators", "LogisticRegression", "--plot", str(png)])
        assert status == 0
        out = capsys.readouterr().out
        assert "LogisticRegression" in out and f"wrote {png}" in out
        assert png.stat().st_size > 1000
        png.unlink()
