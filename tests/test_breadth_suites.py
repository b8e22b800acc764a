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
    for name in ("classification_5000x20", "classification_2000x60", "circles", "spirals",
                 "classification_600x15"):
        X = breadth.load(name)[0]
        assert all(X.shape != R.shape or not np.allclose(X, R) for R in reported)


def test_the_development_suite_runs_and_says_so(capsys):
    breadth.main(["--suite", "development", "--datasets", "circles", "--learners",
                  "dendritic,mlp", "--folds", "2", "--forms", "raw"])
    page = capsys.readouterr().out
    assert page.count("# Development suite (where the defaults are chosen)") == 1
    assert "| circles | 3000 x 2, 2 |" in page


def test_spirals_are_two_interleaved_noisy_spirals():
    """The development suite's spirals: seeded, two balanced classes, each the other turned
    by half a turn (without noise, a point of one class mirrored through the centre lies
    on the other's spiral)."""
    X, y = breadth.load_spirals(n_samples=2000, noise=0.0)
    X2, y2 = breadth.load_spirals(n_samples=2000, noise=0.0)
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (2000, 2) and set(np.unique(y)) == {0, 1}
    assert 0.45 < y.mean() < 0.55
    radius = np.hypot(X[:, 0], X[:, 1])
    angle = np.arctan2(X[:, 1], X[:, 0])
    # on its spiral the angle is the radius (mod 2 pi), turned by pi for class 1
    turn = np.angle(np.exp(1j * (angle - radius - np.pi * y)))
    np.testing.assert_allclose(turn, 0.0, atol=1e-9)
    noisy = breadth.load_spirals(n_samples=2000, noise=1.0)[0]
    assert 0.5 < np.std(noisy - X) < 1.5


def test_seed_spread_seed_0_is_the_breadth_run(capsys):
    """benchmarks/seed_spread.py's seed 0 is breadth.py's comparison of the same folds; the
    seed-averaged column averages the seeds' accuracies."""
    import seed_spread

    argv = ["--datasets", "iris", "--folds", "2", "--forms", "raw"]
    breadth.main([*argv, "--learners", "dendritic,mlp"])
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| iris | 150 x 4, 3 |"))
    diff, call = (cell.strip() for cell in row.split("|")[5:7])
    seed_spread.main([*argv, "--seeds", "2"])
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| iris | raw |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[2] == f"{diff} {call}"
    X, y = breadth.load("iris")
    acc = np.array([seed_spread.accuracies(X, y, "raw", 2, s) for s in range(2)])
    d, m = acc[:, 0].mean(axis=0), acc[:, 1].mean(axis=0)
    assert cells[4] == f"{d.mean():.3f}, {m.mean():.3f}"
    mean, se, call = breadth.paired(d, m)
    assert cells[5] == f"**{mean:+.3f} ± {se:.3f} {call}**"
