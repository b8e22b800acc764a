"""Tests for the learning-curve comparison (skadapt.compare, python -m skadapt)."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skadapt import DendriticClassifier
from skadapt.__main__ import main
from skadapt.compare import (
    effective_sizes,
    format_table,
    learning_curves,
    read_table,
    summarize,
)


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


@pytest.mark.parametrize("sizes", [(30, 105, 500), (500, 30, 800)])
def test_learning_curves_uses_the_whole_training_part_for_sizes_too_large(sizes):
    # iris: 150 samples, 105 in the training part of a 70/30 split.
    with pytest.warns(UserWarning, match=r"exceed the 105 examples .* \(n=105\) is the last"):
        rows = _records(
            learning_curves(
                {"logreg": LogisticRegression(max_iter=1000)},
                dataset="iris",
                train_sizes=sizes,
                n_repeats=2,
            )
        )
    assert sorted((row["train_size"], row["repeat"]) for row in rows) == [
        (30, 0), (30, 1), (105, 0), (105, 1)
    ]


def test_effective_sizes():
    assert effective_sizes([50, 10, 50], 100) == ([10, 50], [])
    assert effective_sizes([800, 50, 400], 124) == ([50, 124], [400, 800])
    assert effective_sizes([124, 200], 124) == ([124], [200])


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


# -- reading a user's table ----------------------------------------------------------


@pytest.fixture(scope="module")
def wine_frame():
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_wine

    data = load_wine()
    frame = pd.DataFrame(data.data, columns=data.feature_names)
    frame["label"] = data.target
    return frame


def test_read_table_drops_the_index_pandas_writes(wine_frame, tmp_path):
    path = tmp_path / "wine.csv"
    wine_frame.to_csv(path)  # pandas' default: the index first, under an empty header
    assert path.read_text().startswith(",alcohol,")
    X, y, info = read_table(path)
    assert X.shape == (178, 13)
    np.testing.assert_allclose(X, wine_frame.drop(columns="label").to_numpy())
    np.testing.assert_array_equal(y, wine_frame["label"].to_numpy())
    assert y.dtype.kind == "i"
    assert info["index_column"] == ""
    assert info["target"] == "label" and not info["target_given"]
    assert info["features"] == list(wine_frame.columns[:-1])
    assert info["separator"] == ","

    # read back and written again by pandas, the index is named "Unnamed: 0"
    pd = pytest.importorskip("pandas")
    pd.read_csv(path).to_csv(path, index=False)
    assert path.read_text().startswith("Unnamed: 0,alcohol,")
    X2, _, info = read_table(path)
    assert info["index_column"] == "Unnamed: 0"
    np.testing.assert_array_equal(X2, X)

    # a header that leaves out the index: every row one field longer
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].removeprefix("Unnamed: 0,")] + lines[1:]) + "\n")
    X3, _, info = read_table(path)
    assert info["index_column"] == ""
    np.testing.assert_array_equal(X3, X)


def test_read_table_detects_the_separator_and_decimal_commas(wine_frame, tmp_path):
    for sep, decimal in [(";", ","), ("\t", "."), ("|", ".")]:
        path = tmp_path / "wine.csv"
        wine_frame.to_csv(path, sep=sep, decimal=decimal, index=False)
        X, y, info = read_table(path)
        assert info["separator"] == sep
        np.testing.assert_allclose(X, wine_frame.drop(columns="label").to_numpy())
        np.testing.assert_array_equal(y, wine_frame["label"].to_numpy())


def test_read_table_chooses_the_label_column(wine_frame, tmp_path):
    path = tmp_path / "wine.csv"
    frame = wine_frame.rename(columns={"label": "Class"})
    frame.insert(0, "Class", frame.pop("Class"))  # the label first: found by its name
    frame.to_csv(path, index=False)
    X, y, info = read_table(path)
    assert info["target"] == "Class" and X.shape == (178, 13)
    np.testing.assert_array_equal(y, wine_frame["label"].to_numpy())

    frame.rename(columns={"Class": "cultivar"}).to_csv(path, index=False)
    _, y, info = read_table(path)
    assert info["target"] == "proline"  # no label name: the last column
    X, y, info = read_table(path, target="cultivar")
    assert info["target"] == "cultivar" and info["target_given"]
    np.testing.assert_array_equal(y, wine_frame["label"].to_numpy())
    with pytest.raises(ValueError, match=r"has no column named 'kind'; its columns are "
                                         r"'cultivar', 'alcohol'"):
        read_table(path, target="kind")


def test_read_table_one_hot_encodes_text_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("size,colour,weight,label\n1.5,red,3,yes\n2,blue,4,no\n0.5,red,1,yes\n"
                    "1,green,2,no\n")
    X, y, info = read_table(path)
    assert info["features"] == ["size", "colour=blue", "colour=green", "colour=red", "weight"]
    assert info["one_hot"] == {"colour": 3}
    np.testing.assert_array_equal(X, [[1.5, 0, 0, 1, 3], [2, 1, 0, 0, 4], [0.5, 0, 0, 1, 1],
                                      [1, 0, 1, 0, 2]])
    np.testing.assert_array_equal(y, ["yes", "no", "yes", "no"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,label\n1,,0\n2,NA,1\n,3,0\nnan,4,1\n",
         r"t.csv has 4 missing value\(s\) \(empty or NA cells\) in 2 column\(s\): 'a' \(2\), "
         r"'b' \(2\); fill or drop them first"),
        ("a,b,label\n1,2,0\n2,3,\n", r"1 missing value\(s\) .* 'label' \(1\)"),
        ("a,b,label\n1,2,0\n2,?,1\n3,4,0\n", r"column 'b' of t.csv holds numbers but 1 cell\(s\) "
                                             r"are text \('\?'\)"),
        ("a,b,label\n1,2,0.5\n2,3,1\n", r"label column 'label' .* not whole"),
        ("1,2,3\n4,5,6\n", "numbers, not a header"),
        ("a,b,label\n1,2,0\n1,2\n", "row 3 of t.csv has 2 fields, the header has 3"),
        ("label\n0\n1\n", "needs at least one feature column and a label column"),
        ("a,label\n", "needs a header row and at least one row of data"),
        ("a,b,label\n1,inf,0\n2,3,1\n", "column 'b' of t.csv holds infinite values"),
        ("id,b,label\n" + "".join(f"x{i},{i},{i % 2}\n" for i in range(30)),
         r"column 'id' .* 30 distinct values in 30 rows"),
    ],
    ids=["missing", "missing-label", "text-in-numbers", "continuous-label", "no-header",
         "ragged", "no-feature", "no-data", "infinite", "identifier"],
)
def test_read_table_errors(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_table(path)


def test_read_table_parquet(wine_frame, tmp_path):
    pytest.importorskip("pyarrow")
    frame = wine_frame.assign(origin=np.where(wine_frame["hue"] > 1, "north", "south"))
    path = tmp_path / "wine.parquet"
    frame.to_parquet(path)
    X, y, info = read_table(path)
    assert info["separator"] is None and info["index_column"] is None
    assert info["features"][-2:] == ["origin=north", "origin=south"]
    np.testing.assert_allclose(X[:, :13], wine_frame.drop(columns="label").to_numpy())
    np.testing.assert_array_equal(X[:, 13], frame["origin"] == "north")
    np.testing.assert_array_equal(y, wine_frame["label"].to_numpy())
    frame.loc[[2, 4], "origin"] = None
    frame.to_parquet(path)
    with pytest.raises(ValueError, match=r"2 missing value\(s\) .* 'origin' \(2\)"):
        read_table(path)


def test_read_table_parquet_without_an_engine(tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(ImportError, match="needs pyarrow or fastparquet: pip install pyarrow"):
        read_table(tmp_path / "x.parquet")


# -- the command line ----------------------------------------------------------------


def test_main_on_a_csv_written_by_pandas(wine_frame, tmp_path, capsys):
    path = tmp_path / "wine.csv"
    wine_frame.to_csv(path)
    status = main(["compare", "--dataset", str(path), "--sizes", "30,500", "--repeats", "1",
                   "--estimators", "LogisticRegression,dendritic"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert status == 0
    assert "(178 samples, 13 features, 3 classes)" in lines[0]
    assert lines[1] == ("Dropped the first column (empty header): the row index that pandas' "
                        "to_csv writes; it is not a feature.")
    assert lines[2] == "Label: column 'label' (choose another with --target NAME)."
    assert lines[3] == ("Size 500 exceeds the 124 training examples of each split; the whole "
                        "training part (n=124) is the last size.")
    assert "n=30" in lines[4] and "n=124" in lines[4] and "n=500" not in out
    assert "ranks" in lines[-1] and "of 2" in lines[-1]


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_main_reports_a_bad_table_in_one_line(tmp_path, capsys, monkeypatch):
    import skadapt.__main__ as cli

    monkeypatch.setattr(cli, "learning_curves", None)  # must not be reached
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,,0\n2,3,1\n4,5,0\n6,7,1\n")
    assert _usage_error(capsys, ["--dataset", str(path)]) == (
        "skadapt compare: error: t.csv has 1 missing value(s) (empty or NA cells) in 1 "
        "column(s): 'b' (1); fill or drop them first (e.g. pandas' fillna or dropna)."
    )
    assert _usage_error(capsys, ["--dataset", str(path), "--target", "z"]).endswith(
        "t.csv has no column named 'z'; its columns are 'a', 'b', 'y'.")
    assert "No such file" in _usage_error(capsys, ["--dataset", str(tmp_path / "none.csv")])
    path.write_text("a,b,c\n" + "".join(f"{i},{i % 3},{i}\n" for i in range(20)))
    assert _usage_error(capsys, ["--dataset", str(path)]).endswith(
        "label column 'c': class 0 has only 1 example(s); stratified splits need at least 2 of "
        "each class (is this the label? choose the label column with --target NAME)")
    assert _usage_error(capsys, ["--dataset", "iris", "--sizes", "2,50"]).endswith(
        "--sizes: 2 is fewer than the 3 classes; every training subset holds at least one "
        "example of each class")
    assert _usage_error(capsys, ["--dataset", "iris", "--target", "x"]).endswith(
        "--target applies to a table file (.csv, .tsv, .txt, .parquet) only")


def test_main_checks_the_plot_path_before_the_run(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import skadapt.__main__ as cli

    monkeypatch.setattr(cli, "learning_curves", None)  # must not be reached
    missing = tmp_path / "nodir" / "x.png"
    assert _usage_error(capsys, ["--dataset", "iris", "--plot", str(missing)]) == (
        f"skadapt compare: error: --plot {missing}: directory {missing.parent} does not exist")
    assert "unknown image format 'xyz'" in _usage_error(
        capsys, ["--dataset", "iris", "--plot", str(tmp_path / "x.xyz")])
    assert _usage_error(capsys, ["--dataset", "iris", "--plot", str(tmp_path)]).endswith(
        "is a directory")


def test_version_and_program_name(capsys):
    from skadapt import __version__

    for argv in (["--version"], ["compare", "--version"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert capsys.readouterr().out == f"skadapt {__version__}\n"
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert capsys.readouterr().out.startswith("usage: skadapt compare [-h]")


def test_program_name_when_run_as_a_module():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "skadapt", "compare", "--repeats", "0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: python -m skadapt compare [-h]")
    assert "python -m skadapt compare: error: --repeats must be at least 1" in proc.stderr


# -- ranking ---------------------------------------------------------------------------


def _summary(accuracies, sem=0.01, n=100):
    return [{"estimator": name, "train_size": n, "n_repeats": 3, "accuracy": acc,
             "accuracy_sem": sem, "fit_time": 0.1} for name, acc in accuracies.items()]


def test_ranking_shares_the_rank_of_exact_ties():
    from skadapt.__main__ import _ranking

    # equal means computed in another order differ in the last bit: still a tie
    mean, same = (0.1 + 0.2 + 0.3) / 3, (0.3 + 0.2 + 0.1) / 3
    assert mean != same
    summary = _summary({"dendritic": mean, "a": same, "b": 0.05, "c": mean, "d": 0.3})
    text = _ranking(summary)
    assert text.startswith("At n=100, DendriticClassifier (dendritic) ranks 2 (tied with a and "
                           "c) of 5 by mean test accuracy (0.200 ± 0.010; best: d 0.300 ± 0.010")
    assert "within one standard error" not in text
    summary = _summary({"dendritic": 0.95, "a": 0.95, "b": 0.95, "c": 0.95, "d": 0.5})
    assert "ranks 1 (tied with 3 others) of 5" in _ranking(summary)
    summary = _summary({"a": 0.8, "b": 0.95, "dendritic": 0.95})
    assert "ranks 1 (tied with b) of 3 by mean test accuracy (0.950 ± 0.010; next: a 0.800" in (
        _ranking(summary))


def test_ranking_says_when_a_gap_is_within_one_standard_error():
    from skadapt.__main__ import _ranking

    summary = _summary({"dendritic": 0.95, "a": 0.955, "b": 0.9})
    assert _ranking(summary).endswith("ranks 2 of 3 by mean test accuracy (0.950 ± 0.010; "
                                      "best: a 0.955 ± 0.010, within one standard error).")
    summary = _summary({"dendritic": 0.96, "a": 0.955})
    assert _ranking(summary).endswith("ranks 1 of 2 by mean test accuracy (0.960 ± 0.010; "
                                      "next: a 0.955 ± 0.010, within one standard error).")
    summary = _summary({"dendritic": 0.96, "a": 0.955}, sem=math.nan)  # one repeat
    assert _ranking(summary).endswith("ranks 1 of 2 by mean test accuracy (0.960; next: a "
                                      "0.955).")
