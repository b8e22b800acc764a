"""A River-native classifier over skadapt's kernel: ``learn_one`` / ``predict_one`` /
``predict_proba_one`` on dicts.

`River <https://riverml.xyz>`_ learns from a stream one example at a time, each a dict
of features. :class:`DendriticClassifier` here is a ``river.base.Classifier`` that trains
the network of :class:`skadapt.DendriticClassifier` with the same compiled kernel, one
example per ``learn_one``, without scikit-learn's per-call validation and bookkeeping
(one learn-and-predict round on River's Phishing stream costs tens of microseconds instead
of the hundreds of a one-row ``partial_fit``; doc/interop.md has the measurements).

This module imports River; ``import skadapt`` does not import this module.
"""

import math
from numbers import Integral
from operator import itemgetter

import numpy as np
from river import base
from sklearn.utils import check_random_state

from . import _config, _learner, _numba_cache, _online
from ._classifier import (
    _ALIKE_SPREAD,
    _CENTRED_BOUND,
    _CENTRED_SHARE,
    _DRIFT_LOG,
    _DRIFT_TOLERANCE,
    _EMPTY_INT,
    _NO_LABELS,
    N_INPUT_STATS,
    _full_input_stats,
)
from ._classifier import DendriticClassifier as _SklearnClassifier
from ._kernel import (
    D_THRESHOLD,
    D_TOLERANCE,
    N_DRIFT,
    STATUS_CHANGE,
    STATUS_NONFINITE_LOSS,
)
from ._network import direct_block, init_params, layout, unpack
from ._rules import I_ACTIVATION
from .exceptions import DivergenceError

__all__ = ["DendriticClassifier"]

# The parameters shared with skadapt.DendriticClassifier, in its order: those of the
# network and of the learning rule. (The rest are a batch learner's: epochs, stopping,
# batches, shuffling, validation; and random_state is River's ``seed``.)
LEARNING_PARAMETERS = (
    "hidden_layer_sizes", "activation", "rule", "direct_path", "input_scaling",
    "drift_threshold", "learning_rate_init", "alpha", "scope", "n_dendrites", "growth",
    "gain_up", "fallback", "gain_down", "coherence", "trace_decay", "relax_time", "base",
    "min_gain", "max_gain", "momentum", "beta_1", "beta_2", "epsilon", "dbd_kappa",
    "dbd_phi", "dbd_theta", "rprop_increase", "rprop_decrease",
)

# Each training kernel's compiled version for this path's argument types (by its name in
# ``_learner.EPOCH_KERNELS``), called directly (the dispatcher's type resolution of its 25-39
# arguments costs about a microsecond a round; doc/interop.md): set by _first_call,
# process-local, never pickled
_ENTRY = {}
_HELPERS_READY = [False]  # whether the _online helpers are ready

# Positions of the arguments read back from the tuple of train_epoch's arguments (its
# signature; tests/test_river.py checks them against it).
_A_X, _A_SHIFT, _A_SCALE, _A_Y = 0, 5, 6, 7
_A_PARAMS, _A_SIZES, _A_W_OFF, _A_B_OFF = 12, 13, 14, 15
_A_DRIFT_LOG = 24


def _sort_key(value):
    """A key that orders any mix of labels or feature names: numbers and strings among
    themselves, then by type name and repr."""
    if isinstance(value, bool | np.bool_ | Integral | float | np.floating):
        return (0, "", float(value), "")
    if isinstance(value, str):
        return (1, "", 0.0, value)
    return (2, type(value).__name__, 0.0, repr(value))


def _sorted(values):
    return sorted(values, key=_sort_key)


class DendriticClassifier(base.Classifier):
    """River classifier trained online, one dict at a time, with dendritic adaptation.

    The network, the rules and their parameters are those of
    :class:`skadapt.DendriticClassifier` (see it for each parameter), trained by the
    same compiled kernel one example per :meth:`learn_one`; with the same parameters,
    classes and features, it learns the same model as
    ``skadapt.DendriticClassifier(batch_size=1, shuffle=False)`` fed the same stream by
    ``partial_fit`` one row at a time (to rounding: ``partial_fit`` folds the input
    transform into the weights and out again at every call). It skips what a
    scikit-learn call costs around the kernel: the validation, the private copy of the
    model, the folding; the weights stay in the coordinates the network sees its inputs
    in, and the input transform is applied as each example is read.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer; ``()`` (kept as ``[]``, which River's ``clone``
        can copy) gives a linear softmax classifier.
    activation : {"sigmoid", "logistic", "relu", "tanh"}, default="relu"
        Activation of the hidden units.
    rule : {"dendritic", "sgd", "momentum", "nesterov", "adam", \
            "delta_bar_delta", "rprop"}, default="dendritic"
        Update rule. It is always applied online, one example at a time (``"rprop"``
        too, whose scikit-learn default is a full batch).
    classes : tuple or None, default=None
        The labels known from the start. They get the first output units, in sorted
        order (as ``classes_`` of scikit-learn), before any example is seen. A label
        not among them (or any label, with None) gets a new output unit when it first
        appears in :meth:`learn_one`, with zero weights and bias and a fresh optimiser
        state: the logits of the other classes do not change, the new class starts at
        logit 0. :meth:`predict_proba_one` gives a probability to every class seen so
        far (an empty dict before the first label; with ``classes``, a uniform
        distribution over them).
    direct_path : bool, default=True
        A direct input-to-output path beside the hidden layers.
    input_scaling : {"auto", "max_abs", "standard"} or None, default="auto"
        How the network sees each feature, from running statistics of the stream
        (updated by every :meth:`learn_one` before the example is learned, as
        ``partial_fit`` does for its rows). A feature absent from a dict is 0, as in a
        sparse row, for the statistics, learning and prediction alike: with
        ``"auto"``, a feature non-zero in at least 90% of the examples is centred on
        its mean, so an absent value of such a feature is far from its mean (impute
        missing values upstream if they are not zeros), and such features whose
        spreads are within 20x of each other keep their relative spread;
        ``"standard"`` centres every feature (see :class:`skadapt.DendriticClassifier`).
    drift_threshold : float or None, default=10.0
        Threshold of the change detector on the direct path (None: off).
    learning_rate_init : float, default=0.001
        Base step of every rule.
    alpha : float, default=0.0
        L2 penalty on the weights.
    seed : int, numpy.random.RandomState or None, default=None
        Seeds the initial weights (scikit-learn's ``random_state``; River's name).
    scope, n_dendrites, growth, gain_up, fallback, gain_down, coherence, trace_decay, \
relax_time, base, min_gain, max_gain, momentum, beta_1, beta_2, epsilon, dbd_kappa, \
dbd_phi, dbd_theta, rprop_increase, rprop_decrease
        The rules' parameters, with the defaults and meanings of
        :class:`skadapt.DendriticClassifier`.

    Attributes
    ----------
    classes_ : list
        The labels, in the order of the output units (``classes`` sorted, then the
        others in the order they appeared).
    feature_names_in_ : list
        The features, in the order of the input units: those of the first dict sorted,
        then each later new feature (its weights starting at zero, so that the
        network's function does not change until it learns from it).
    t_ : int
        Examples learned.
    drift_detected_ : list of int
        The example counts at which the change detector cleared the direct path.

    Notes
    -----
    Features are numbers (bools count as 0 and 1): one-hot encode categorical ones
    first, e.g. with ``river.preprocessing.OneHotEncoder``. A feature that
    :meth:`predict_proba_one` sees but no :meth:`learn_one` has is ignored.

    :meth:`learn_one` raises :class:`skadapt.DivergenceError` when the loss or the
    weights become non-finite. A non-finite loss is found before the example changes
    the weights (only the input statistics counted it); non-finite weights are not
    undone (the model keeps no copy, which would cost more than the update on a large
    network): start again from :meth:`clone`. A non-finite feature value is a
    ``ValueError`` that changes nothing.

    Examples
    --------
    >>> from river import datasets, evaluate, metrics
    >>> from skadapt.river import DendriticClassifier
    >>> model = DendriticClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01,
    ...                             seed=0)
    >>> metric = evaluate.progressive_val_score(datasets.Phishing(), model,
    ...                                         metrics.Accuracy())
    >>> metric.get() > 0.8
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        rule="dendritic",
        *,
        classes=None,
        direct_path=True,
        input_scaling="auto",
        drift_threshold=10.0,
        learning_rate_init=0.001,
        alpha=0.0,
        seed=None,
        scope="synapse",
        n_dendrites=4,
        growth="additive",
        gain_up=0.1,
        fallback="reset",
        gain_down=0.5,
        coherence="trace",
        trace_decay=0.7,
        relax_time=None,
        base="adagrad",
        min_gain=0.01,
        max_gain=10.0,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        dbd_kappa=0.1,
        dbd_phi=0.1,
        dbd_theta=0.7,
        rprop_increase=1.2,
        rprop_decrease=0.5,
    ):
        # an empty tuple is kept as an empty list: River's clone (0.26) takes every tuple
        # parameter for a (class, params) pair and fails on its missing first item
        empty_tuple = isinstance(hidden_layer_sizes, tuple) and not hidden_layer_sizes
        self.hidden_layer_sizes = [] if empty_tuple else hidden_layer_sizes
        self.activation = activation
        self.rule = rule
        self.classes = classes
        self.direct_path = direct_path
        self.input_scaling = input_scaling
        self.drift_threshold = drift_threshold
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.seed = seed
        self.scope = scope
        self.n_dendrites = n_dendrites
        self.growth = growth
        self.gain_up = gain_up
        self.fallback = fallback
        self.gain_down = gain_down
        self.coherence = coherence
        self.trace_decay = trace_decay
        self.relax_time = relax_time
        self.base = base
        self.min_gain = min_gain
        self.max_gain = max_gain
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dbd_kappa = dbd_kappa
        self.dbd_phi = dbd_phi
        self.dbd_theta = dbd_theta
        self.rprop_increase = rprop_increase
        self.rprop_decrease = rprop_decrease

        # the parameters are checked now, by scikit-learn's estimator's own constraints
        spec = self.to_sklearn_params()
        est = _SklearnClassifier(**spec)
        est._validate_params()
        _config.check_rule_parameters(est)
        hidden = list(np.atleast_1d(np.asarray(hidden_layer_sizes, dtype=object)))
        if not all(isinstance(h, Integral) and h >= 1 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers only; got "
                f"{hidden_layer_sizes!r}."
            )
        self._hidden = [int(h) for h in hidden]
        self._direct = bool(direct_path) and len(self._hidden) > 0
        self._scope = _config.effective_scope(est)
        self._clock_on = _config.clock_on(est)
        self._icfg, self._fcfg = _config.make_config(est)
        self._run_settings()
        known = [] if classes is None else _sorted(set(classes))
        self.classes_ = known
        self._class_index = {c: k for k, c in enumerate(known)}
        self.feature_names_in_ = []
        self._features = {}
        self.t_ = 0
        self.drift_detected_ = []
        # built at the first learn_one: the kernel's arguments, the model's arrays, the
        # input statistics and transform, the sizes, scratch buffers, the row reader
        self._args = self._state = self._stats = self._shift = self._inv_scale = None
        self._sizes = self._xbuf = self._pbuf = self._getter = self._act = None

    # ------------------------------------------------------------- River's API
    @property
    def _multiclass(self):
        return True

    def _more_tags(self):
        """No special input: numeric features of any sign (River's tags are for text or
        positive-only input)."""
        return set()

    @classmethod
    def _unit_test_params(cls):
        yield {"hidden_layer_sizes": (10,), "seed": 0}
        yield {"hidden_layer_sizes": (), "rule": "adam", "learning_rate_init": 0.01}
        yield {"hidden_layer_sizes": (5,), "scope": "dendrite", "n_dendrites": 2,
               "relax_time": 100.0, "classes": ("a", "b")}

    def to_sklearn_params(self):
        """The parameters of the equivalent :class:`skadapt.DendriticClassifier`.

        Returns
        -------
        params : dict
            Its learning parameters, ``random_state`` (this ``seed``), and
            ``batch_size=1``, ``shuffle=False``: ``partial_fit`` of one row at a time
            with these (and ``classes=sorted(classes)``) learns as :meth:`learn_one`.
        """
        params = {name: getattr(self, name) for name in LEARNING_PARAMETERS}
        return dict(params, random_state=self.seed, batch_size=1, shuffle=False)

    @classmethod
    def from_sklearn(cls, estimator, classes=None):
        """A River classifier with the learning parameters of a
        :class:`skadapt.DendriticClassifier` (fitted or not; it starts untrained).

        Parameters
        ----------
        estimator : skadapt.DendriticClassifier
            Its network and rule parameters, and its ``random_state`` as ``seed``, are
            taken; those of batch training (``batch_size``, ``max_iter``, ...) have no
            meaning here (training is online).
        classes : sequence or None, default=None
            The labels known from the start (see ``classes``).

        Returns
        -------
        model : DendriticClassifier
        """
        params = estimator.get_params()
        return cls(**{name: params[name] for name in LEARNING_PARAMETERS},
                   seed=params["random_state"],
                   classes=None if classes is None else tuple(classes))

    def learn_one(self, x, y):
        """Update the model with one example.

        Parameters
        ----------
        x : dict
            Features, by name; absent ones are 0. A new name adds an input unit.
        y : hashable
            Label; a new one adds an output unit.

        Raises
        ------
        ValueError
            If a feature value is not a finite number (nothing is changed).
        DivergenceError
            If the loss or the weights became non-finite (see the class notes).
        """
        k = self._class_index.get(y)
        if k is None:
            k = self._add_class(y)
        args = self._args
        if args is None:
            args = self._start(x)
        row = args[_A_X][0]
        if not self._read_known(x, row):
            args = self._read_new(x, row)
        if self.input_scaling is not None and not _online.observe(
                row, self._stats, args[_A_SHIFT], args[_A_SCALE],
                self._centred_share, _CENTRED_BOUND, self._alike_spread):
            raise ValueError(f"Feature values must be finite; got {x!r}.")
        args[_A_Y][0] = k
        entry = _ENTRY.get(self._kernel)
        loss, status = (entry(*args) if entry is not None
                        else _first_call(self._kernel, args))
        if status == STATUS_CHANGE:  # (a flat kernel leaves the clearing to Python)
            _learner.after_change(args)
            loss, status = _ENTRY[self._kernel](*args)
        if status:
            raise self._divergence(status)
        self.t_ += 1
        log = args[_A_DRIFT_LOG]
        if log[0]:
            self.drift_detected_.extend(log[1 : 1 + min(log[0], _DRIFT_LOG - 1)].tolist())
            log[0] = 0

    def predict_proba_one(self, x):
        """Class probabilities of one example.

        Parameters
        ----------
        x : dict
            Features, by name (absent ones are 0; unknown ones are ignored).

        Returns
        -------
        proba : dict
            The probability of every class of ``classes_``; an empty dict before any
            label is known.

        Raises
        ------
        ValueError
            If a feature value is not a number, or the network's output overflows (the
            input is far larger than the model can take).
        """
        out = self._proba(x)
        if out is None:
            n = len(self.classes_)
            return dict.fromkeys(self.classes_, 1.0 / n) if n else {}
        return dict(zip(self.classes_, out.tolist(), strict=True))

    def predict_one(self, x):
        """The most probable class of one example.

        Parameters
        ----------
        x : dict
            Features, by name.

        Returns
        -------
        label : hashable or None
            The first class of the largest probability (as ``predict`` of
            scikit-learn); None before any label is known.
        """
        out = self._proba(x)
        if out is None:
            return self.classes_[0] if self.classes_ else None
        return self.classes_[int(out.argmax())]

    # ------------------------------------------------------------- internals
    def _proba(self, x):
        """The probabilities of ``x``'s classes, in a scratch array (None before the
        network exists)."""
        args = self._args
        if args is None:
            return None
        row = self._xbuf
        if not self._read_known(x, row):
            row[:] = 0.0
            index = self._features
            for name, value in x.items():
                j = index.get(name)
                if j is not None:
                    row[j] = self._number(value, x)
        out = self._pbuf
        if not _online.predict_proba_row(row, *self._forward_args(), self._act, out):
            raise ValueError(
                "The network's output overflowed (is infinite or NaN) for this example: "
                "the input is far larger than the model can take."
            )
        return out

    def _not_numbers(self, x):
        return ValueError(
            f"Feature values must be numbers; got {x!r}. Encode categorical features "
            "as numbers first (e.g. river.preprocessing.OneHotEncoder)."
        )

    def _number(self, value, x):
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise self._not_numbers(x) from exc

    def _forward_args(self):
        """The network arguments of ``_online.predict_proba_row`` (input transform,
        parameters and layout), views of the kernel's arguments."""
        args = self._args
        return tuple(args[i] for i in (_A_SHIFT, _A_SCALE, _A_PARAMS, _A_SIZES, _A_W_OFF,
                                       _A_B_OFF))

    def _read_known(self, x, row):
        """Write the dict ``x`` into ``row`` on the fast path, when it has exactly the
        features known (in any order); returns whether it did."""
        if x.keys() != self._features.keys():
            return False
        try:
            row[:] = self._getter(x)
        except (TypeError, ValueError) as exc:
            raise self._not_numbers(x) from exc
        return True

    def _read_new(self, x, row):
        """Write the dict ``x`` into ``row`` on the slow path: absent features are 0,
        new ones get input units (the arguments are rebuilt); returns the arguments."""
        index = self._features
        new = [name for name in x if name not in index]
        values = {name: self._number(value, x) for name, value in x.items()}
        if new:
            self._add_features(_sorted(new))
            row = self._args[_A_X][0]
            index = self._features
        row[:] = 0.0
        for name, value in values.items():
            row[index[name]] = value
        return self._args

    def _start(self, x):
        """Build the network for the features of the first example ``x`` (and the classes
        known so far); returns the kernel's arguments."""
        names = _sorted(x)
        n_classes = len(self.classes_)
        sizes = [len(names), *self._hidden, n_classes]
        _warm_helpers()
        rng = check_random_state(self.seed)  # (scikit-learn's draws, then init_params)
        params = init_params(sizes, self.activation, rng, np.float64, self._direct)
        _, n_groups = _config.group_layout(sizes, self._scope, self.n_dendrites,
                                           self._direct)
        gstate = np.zeros((2, n_groups))
        gstate[0] = 1.0
        drift = np.zeros(N_DRIFT)
        drift[D_THRESHOLD] = self.drift_threshold or 0.0
        drift[D_TOLERANCE] = _DRIFT_TOLERANCE
        n = len(names)
        self._state = {
            "params": params,
            "pstate": np.zeros((2, params.shape[0])),
            "gstate": gstate,
            "glast": np.zeros(n_groups),
            "counters": np.zeros(2, np.int64),
            "drift": drift,
        }
        self._stats = np.zeros((N_INPUT_STATS, n))
        self._shift = np.zeros(n)
        self._inv_scale = np.ones(n)
        self.feature_names_in_ = names
        self._features = {name: j for j, name in enumerate(names)}
        self._sizes = sizes
        self._act = int(self._icfg[I_ACTIVATION])
        self._rebuild()
        return self._args

    def _rebuild(self):
        """(Re)build every array argument of the kernel, the scratch buffers and the
        row reader, for the current sizes."""
        sizes = self._sizes
        st = self._state
        n = sizes[0]
        w_off, b_off, _ = layout(sizes, self._direct)
        g_off, _ = _config.group_layout(sizes, self._scope, self.n_dendrites, self._direct)
        self._args = (
            np.zeros((1, n)), np.empty(0), _EMPTY_INT, _EMPTY_INT, False,
            self._shift, self._inv_scale,
            np.zeros(1, np.int64), _NO_LABELS, np.ones(1), np.zeros(1, np.int64), 1,
            st["params"], np.asarray(sizes, np.int64), w_off, b_off, g_off,
            self._icfg, self._fcfg, st["pstate"], st["gstate"], st["glast"],
            st["counters"], st["drift"], np.zeros(_DRIFT_LOG, np.int64),
            *_learner.kernel_workspace(self._kernel, sizes, st["params"], self._fcfg),
        )
        self._xbuf = np.zeros(n)
        self._pbuf = np.zeros(sizes[-1])
        names = self.feature_names_in_
        # itemgetter of one key gives the value, not a 1-tuple: both fill the row
        self._getter = itemgetter(*names) if names else (lambda x: ())

    def _grow(self, sizes):
        """Grow the network to ``sizes`` (more inputs or outputs): every old weight, bias
        and optimiser state keeps its value; the new ones start as at the start of
        training (zero weights, gains of 1, clocks at the current example)."""
        old = self._sizes
        st = self._state
        t = float(st["counters"][0])
        grow = lambda a, fill: _embed_params(a, old, sizes, self._direct, fill)  # noqa: E731
        st["params"] = grow(st["params"], 0.0)
        st["pstate"] = np.stack([grow(st["pstate"][0], 0.0), grow(st["pstate"][1], 0.0)])
        if self._scope == "synapse":
            grow_g = grow
        else:
            def grow_g(a, fill):
                return _embed_groups(a, old, sizes, self._direct, self._scope,
                                     self.n_dendrites, fill)
        st["gstate"] = np.stack([grow_g(st["gstate"][0], 1.0), grow_g(st["gstate"][1], 0.0)])
        st["glast"] = grow_g(st["glast"], t)
        n_old, n_new = old[0], sizes[0]
        if n_new > n_old:
            extra = np.zeros((N_INPUT_STATS, n_new - n_old))  # (all zeros so far)
            extra[1] = self._stats[1, 0] if n_old else 0.0  # (the examples seen: zeros)
            self._stats = np.hstack([self._stats, extra])
            self._shift = np.concatenate([self._shift, np.zeros(n_new - n_old)])
            self._inv_scale = np.concatenate([self._inv_scale, np.ones(n_new - n_old)])
        self._sizes = list(sizes)
        self._rebuild()

    def _add_features(self, names):
        for name in names:
            self._features[name] = len(self.feature_names_in_)
            self.feature_names_in_.append(name)
        self._grow([len(self.feature_names_in_), *self._sizes[1:]])

    def _add_class(self, y):
        k = len(self.classes_)
        self.classes_.append(y)
        self._class_index[y] = k
        if self._args is not None:
            self._grow([*self._sizes[:-1], k + 1])
        return k

    def _divergence(self, status):
        what = "loss" if status == STATUS_NONFINITE_LOSS else "weights"
        return DivergenceError(
            f"Training diverged: the {what} became non-finite at example {self.t_ + 1} "
            f"(rule={self.rule!r}, learning_rate_init={self.learning_rate_init}). "
            + ("The example was not learned. " if what == "loss" else
               "The weights are not restored: start again from clone(). ")
            + "Lower learning_rate_init or max_gain, or scale the input."
        )

    def _run_settings(self):
        """What every learning round reads, decided once from the configuration: the
        training kernel (its name, from ``_learner.epoch_kernel``) and the share of non-zero
        values from which the input scaling centres a feature (``inf``: never), and the
        factor within which the centred features' spreads are kept (0: never)."""
        self._kernel = _learner.epoch_kernel(1, self._icfg, self._fcfg)
        self._centred_share = _CENTRED_SHARE.get(self.input_scaling, math.inf)
        self._alike_spread = _ALIKE_SPREAD if self.input_scaling == "auto" else 0.0

    def __getstate__(self):
        # the kernel's argument tuple, the scratch buffers and the row reader are rebuilt
        # from the model's arrays (a pickle holds no scratch values)
        state = dict(self.__dict__)
        state["_args"] = self._args is not None
        for key in ("_xbuf", "_pbuf", "_getter"):
            state[key] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._run_settings()  # (from the configuration: an earlier version's may differ)
        if self._stats is not None:  # (an earlier version's: 5 rows)
            self._stats = _full_input_stats(self._stats)
        if self._args:
            self._rebuild()
        else:
            self._args = None

    # -------------------------------------------------------------- views
    def _raw_weights(self):
        """The parameters in the raw features' coordinates (the input transform folded
        into the first layer's and the direct path's weights and biases), as
        ``skadapt.DendriticClassifier`` keeps them: a new flat vector."""
        from ._classifier import _input_weights_to_raw

        params = self._state["params"].copy()
        _input_weights_to_raw(params, self._sizes, self._shift, 1.0 / self._inv_scale)
        return params

    @property
    def coefs_(self):
        """The weight matrices of the raw features, ``coefs_[l]`` of shape ``(n_in,
        n_out)`` (copies, with the input transform folded in, as in
        :class:`skadapt.DendriticClassifier`); None before the first example."""
        return None if self._args is None else unpack(self._raw_weights(), self._sizes)[0]

    @property
    def intercepts_(self):
        """The bias vectors (copies, as ``coefs_``); None before the first example."""
        return None if self._args is None else unpack(self._raw_weights(), self._sizes)[1]

    @property
    def direct_coef_(self):
        """The direct path's weights of the raw features (a copy), or None."""
        if self._args is None:
            return None
        return direct_block(self._raw_weights(), self._sizes)


def _warm_helpers():
    """Compile (or load) the helpers of ``_online`` once per process, through
    ``_numba_cache.call`` (its compile lock and recovery from a corrupt cache)."""
    if _HELPERS_READY[0]:
        return
    one, row = np.ones(1), np.zeros(1)
    _numba_cache.call(_online.observe, row, np.zeros((N_INPUT_STATS, 1)), row.copy(),
                      one.copy(), 0.9, _CENTRED_BOUND, _ALIKE_SPREAD)
    sizes = np.array([1, 1], np.int64)
    offsets = np.zeros(1, np.int64)
    _numba_cache.call(_online.predict_proba_row, row, row.copy(), one, np.zeros(2), sizes,
                      offsets, offsets + 1, 0, np.zeros(1))
    _HELPERS_READY[0] = True


def _first_call(name, args):
    """The first training call of kernel ``name`` in a process: through the dispatcher,
    under skadapt's compile lock and cache checks (``_numba_cache.call``; it compiles or
    loads the kernel); then the compiled entry point of these argument types is looked up
    for the later calls (the dispatcher if that fails)."""
    kernel = _learner.EPOCH_KERNELS[name]
    out = _numba_cache.call(kernel, *args)
    try:
        sig = tuple(kernel.typeof_pyval(a) for a in args)
        _ENTRY[name] = kernel.overloads[sig].entry_point
    except Exception:  # Numba's internals changed: the dispatcher it is
        _ENTRY[name] = kernel
    return out


def _blocks(sizes, direct):
    """``(n_in, n_out)`` of each block: the layers, then the direct path."""
    n_layers = len(sizes) - 1
    blocks = [(sizes[l], sizes[l + 1]) for l in range(n_layers)]
    return blocks + ([(sizes[0], sizes[-1])] if direct else [])


def _embed_params(old, old_sizes, sizes, direct, fill):
    """A parameter-shaped vector of the network ``sizes`` holding ``old``'s entries (of
    ``old_sizes``, no larger in any layer) where they were, ``fill`` elsewhere: each
    block's weight matrix in the top-left corner of the new one, its biases first."""
    w_old, b_old, _ = layout(old_sizes, direct)
    w_new, b_new, n_new = layout(sizes, direct)
    out = np.full(n_new, fill, old.dtype)
    for b, ((i0, o0), (i1, o1)) in enumerate(zip(_blocks(old_sizes, direct),
                                                  _blocks(sizes, direct), strict=True)):
        out[w_new[b] : w_new[b] + i1 * o1].reshape(i1, o1)[:i0, :o0] = (
            old[w_old[b] : w_old[b] + i0 * o0].reshape(i0, o0))
        if b_old[b] >= 0:
            out[b_new[b] : b_new[b] + o0] = old[b_old[b] : b_old[b] + o0]
    return out


def _embed_groups(old, old_sizes, sizes, direct, scope, n_dendrites, fill):
    """As :func:`_embed_params` for a vector of the groups of ``scope`` "unit" (one per
    unit: the old units' first) or "dendrite" (per unit, its dendrites then its bias
    group; with more inputs the dendrites keep their states and share the inputs anew)."""
    g_old, _ = _config.group_layout(old_sizes, scope, n_dendrites, direct)
    g_new, n_new = _config.group_layout(sizes, scope, n_dendrites, direct)
    out = np.full(n_new, fill, old.dtype)
    for b, ((i0, o0), (i1, o1)) in enumerate(zip(_blocks(old_sizes, direct),
                                                  _blocks(sizes, direct), strict=True)):
        if scope == "unit":
            out[g_new[b] : g_new[b] + o0] = old[g_old[b] : g_old[b] + o0]
            continue
        k0, k1 = min(n_dendrites, i0) + 1, min(n_dendrites, i1) + 1
        src = old[g_old[b] : g_old[b] + o0 * k0].reshape(o0, k0)
        dst = out[g_new[b] : g_new[b] + o1 * k1].reshape(o1, k1)
        dst[:o0, : k0 - 1] = src[:, : k0 - 1]  # the dendrites
        dst[:o0, k1 - 1] = src[:, k0 - 1]  # the bias group
    return out
