"""One-pass learners outside skadapt, for ``benchmarks/few_shot.py``.

Every peer follows the protocol of the benchmark's own learners: a ``grid`` of 6 points (the
tuning budget every rule gets) and ``fit_one_pass(point, seed, X, y)``, which learns each row of
``X`` once, in the given order, with batch size 1, and returns a fitted model with
``predict(X)``. A model that holds outside resources also has ``close()``; the caller calls it
when it is done with the model.

- ``vw-linear``: Vowpal Wabbit ``--oaa K`` (one linear model per class, squared loss) with its
  default update (adaptive, normalized and invariant), fed VW text lines;
- ``vw-nn100``: Vowpal Wabbit ``--oaa K --nn 100 -b 22`` (one 100-unit hidden layer per class;
  the default ``-b 18`` folds the pixels of MNIST into each other once ``--nn`` multiplies the
  weights);
- ``river-softmax``: River's ``linear_model.SoftmaxRegression`` with ``optim.SGD(lr)``,
  ``learn_one`` per example.

The packages are optional (the ``bench`` extra installs them): :func:`make_peers` says which
peers cannot run and why instead of failing on import.
"""

import importlib.util

import numpy as np

LR_VW = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
LR_VW_NN = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
LR_RIVER = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]


class _Memo:
    """Remember the encoding of the last few arrays, keyed by identity.

    The tuning fits every grid point on the same training and validation arrays, and the
    evaluation predicts the same test array after every fit: each is encoded once. An entry
    holds a reference to its array, so that the array's ``id`` cannot be reused while the
    entry lives.
    """

    def __init__(self, encode, size=16):
        self.encode = encode
        self.size = size
        self.entries = []

    def __call__(self, X):
        for entry in self.entries:
            if entry[0] is X:
                return entry[1]
        encoded = self.encode(X)
        self.entries.append((X, encoded))
        del self.entries[: -self.size]
        return encoded


def _vw_features(X):
    """VW feature strings, one per row: ``"idx:val ..."`` for the non-zero features only."""
    X = np.asarray(X, dtype=float)
    return [" ".join(f"{j}:{row[j]:.7g}" for j in np.flatnonzero(row)) for row in X]


def _river_features(X):
    """River feature dicts, one per row, with the non-zero features only.

    SoftmaxRegression's gradient for a feature whose value is zero is zero, so leaving the
    zeros out changes nothing but the time.
    """
    X = np.asarray(X, dtype=float)
    return [{int(j): float(row[j]) for j in np.flatnonzero(row)} for row in X]


_vw_memo = _Memo(_vw_features)
_river_memo = _Memo(_river_features)


class _VWModel:
    """A fitted VW workspace: ``predict`` maps VW's labels 1..K back to the classes."""

    def __init__(self, workspace, classes):
        self.workspace = workspace
        self.classes = classes

    def predict(self, X):
        ws = self.workspace
        labels = np.array([ws.predict("| " + line) for line in _vw_memo(X)], dtype=int)
        return self.classes[labels - 1]

    def close(self):
        """Finish the workspace (frees its weights)."""
        if self.workspace is not None:
            self.workspace.finish()
            self.workspace = None


class VowpalWabbit:
    """Vowpal Wabbit one-against-all with its default update, one pass.

    Parameters
    ----------
    options : str, default=""
        Options added to ``--oaa K --quiet -l LR --random_seed SEED`` (e.g. ``"--nn 100 -b 22"``).
    grid : list of float, default=LR_VW
        The values of ``-l`` to tune over.
    """

    def __init__(self, options="", grid=LR_VW):
        self.options = options
        self.grid = {"learning_rate": list(grid)}

    def fit_one_pass(self, point, seed, X, y):
        """Learn each row of ``X`` once, in order, in a new workspace.

        Parameters
        ----------
        point : dict
            ``{"learning_rate": float}``, VW's ``-l``.
        seed : int
            VW's ``--random_seed`` (the initial weights of ``--nn``; no effect on the linear
            model, whose weights start at zero).
        X : ndarray of shape (n_samples, n_features)
            The training examples, in the order to learn them.
        y : ndarray of shape (n_samples,)
            Their labels.

        Returns
        -------
        _VWModel
            The fitted model; call its ``close()`` when done.
        """
        from vowpalwabbit import Workspace

        classes, idx = np.unique(y, return_inverse=True)
        args = (f"--oaa {len(classes)} --quiet -l {point['learning_rate']:g} "
                f"--random_seed {int(seed)} {self.options}")
        ws = Workspace(args.strip())
        try:
            for label, line in zip(idx + 1, _vw_memo(X), strict=True):
                ws.learn(f"{label} | {line}")
        except BaseException:
            ws.finish()
            raise
        return _VWModel(ws, classes)


class _RiverModel:
    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return np.array([self.model.predict_one(x) for x in _river_memo(X)])


class RiverSoftmax:
    """River's ``SoftmaxRegression`` trained by plain SGD, ``learn_one`` per example.

    Parameters
    ----------
    grid : list of float, default=LR_RIVER
        The learning rates of ``optim.SGD`` to tune over.
    """

    def __init__(self, grid=LR_RIVER):
        self.grid = {"learning_rate": list(grid)}

    def fit_one_pass(self, point, seed, X, y):
        """Learn each row of ``X`` once, in order.

        Parameters
        ----------
        point : dict
            ``{"learning_rate": float}``, the step of ``optim.SGD``.
        seed : int
            Unused: the weights start at zero and the learner draws nothing at random.
        X : ndarray of shape (n_samples, n_features)
            The training examples, in the order to learn them.
        y : ndarray of shape (n_samples,)
            Their labels.

        Returns
        -------
        _RiverModel
            The fitted model.
        """
        from river import linear_model, optim

        model = linear_model.SoftmaxRegression(optimizer=optim.SGD(point["learning_rate"]))
        for x, label in zip(_river_memo(X), np.asarray(y).tolist(), strict=True):
            model.learn_one(x, label)
        return _RiverModel(model)


# name -> (package it needs, factory)
PEERS = {
    "vw-linear": ("vowpalwabbit", lambda: VowpalWabbit("", LR_VW)),
    "vw-nn100": ("vowpalwabbit", lambda: VowpalWabbit("--nn 100 -b 22", LR_VW_NN)),
    "river-softmax": ("river", lambda: RiverSoftmax(LR_RIVER)),
}


def make_peers(names):
    """Build the peers that can run, and say why the others cannot.

    Parameters
    ----------
    names : list of str
        Keys of :data:`PEERS`.

    Returns
    -------
    peers : dict
        Name -> peer, for those whose package is installed, in the order of ``names``.
    missing : dict
        Name -> the package it needs, for the others.
    """
    peers, missing = {}, {}
    for name in names:
        package, factory = PEERS[name]
        if importlib.util.find_spec(package) is None:
            missing[name] = package
        else:
            peers[name] = factory()
    return peers, missing
