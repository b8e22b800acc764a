"""benchmarks/breadth.py's two suites: the development suite, where the defaults are chosen,
shares no data set with the breadth suite, whose folds report them; and it runs."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import breadth  # noqa: E402


def test_the_suites_share_no_data_set():
    assert not set(breadth.DATASETS) & set(breadth.DEVELOPMENT)
    # the scikit-learn generators both suites use make other data in each
    reported = [breadth.load(name)[0] for name in ("classification", "moons")]
    for name in ("classification_5000x20", "classification_2000x60", "circles"):
        X = breadth.load(name)[0]
        assert all(X.shape != R.shape or not np.allclose(X, R) for R in reported)


def test_the_development_suite_runs_and_says_so(capsys):
    breadth.main(["--suite", "development", "--datasets", "circles", "--learners",
                  "dendritic,mlp", "--folds", "2", "--forms", "raw"])
    page = capsys.readouterr().out
    assert page.count("# Development suite (where the defaults are chosen)") == 1
    assert "| circles | 3000 x 2, 2 |" in page
