"""Deployment: a fitted :class:`~skadapt.DendriticClassifier` as an equivalent
scikit-learn ``MLPClassifier``, and as an ONNX graph through skl2onnx.

skl2onnx is optional and heavy (importing it takes about a quarter of a second after
scikit-learn), so ``import skadapt`` never imports it. The converter is registered with
skl2onnx when both are in use, whatever the order of the imports:

- if skl2onnx is already imported when skadapt is, at once;
- otherwise a small finder on ``sys.meta_path`` waits for the import of skl2onnx and
  registers the converter right after the module has run (then it removes itself);
- :func:`register_onnx_converter` does the same explicitly (idempotent).

Nothing here imports skl2onnx, onnx or ``sklearn.neural_network`` at module level.
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._network import ACTIVATION_ALIASES

# skadapt's hidden activations as scikit-learn's MLP names them
_MLP_ACTIVATIONS = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}
# ... and as ONNX operators
_ONNX_ACTIVATIONS = {"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh"}

_ONNX_ALIAS = "SkadaptDendriticClassifier"
_ONNX_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "output_class_labels": [False, True],
    "nocl": [True, False],
}


def _hidden_activation(est, target, names):
    """The fitted estimator's hidden activation in ``target``'s names, or a ValueError."""
    activation = ACTIVATION_ALIASES.get(est.activation, est.activation)
    try:
        return names[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation={est.activation!r} has no equivalent in {target}; the "
            f"activations it can take are {sorted(names)}."
        ) from None


# --------------------------------------------------------------------- MLPClassifier
def to_mlp_classifier(est):
    """The :class:`sklearn.neural_network.MLPClassifier` equivalent to the fitted
    ``est``; see :meth:`DendriticClassifier.to_mlp_classifier`."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import LabelBinarizer

    check_is_fitted(est)
    activation = _hidden_activation(est, "MLPClassifier", _MLP_ACTIVATIONS)
    direct = est.direct_coef_
    if direct is not None and np.any(direct != 0):
        raise ValueError(
            "This DendriticClassifier has a direct input-to-output path (direct_path=True, "
            "the default, with non-zero direct_coef_), which MLPClassifier cannot express: "
            "its output layer sees the last hidden layer only. Refit with "
            "direct_path=False to get an MLPClassifier equivalent, or export this model "
            "to ONNX with skl2onnx.to_onnx (after import skadapt), which keeps the path."
        )
    coefs = [np.array(c) for c in est.coefs_]
    intercepts = [np.array(b) for b in est.intercepts_]
    classes = est.classes_
    multilabel = est._is_multilabel()
    if multilabel:
        # a sigmoid per label: MLPClassifier's logistic outputs of a multilabel target
        out_activation = "logistic"
    elif classes.shape[0] == 2:
        # skadapt has two softmax outputs; MLPClassifier one logistic output. With the
        # logit difference d = z1 - z0, sigmoid(d) = softmax(z)[1] exactly.
        coefs[-1] = coefs[-1][:, 1:] - coefs[-1][:, :1]
        intercepts[-1] = intercepts[-1][1:] - intercepts[-1][:1]
        out_activation = "logistic"
    else:
        out_activation = "softmax"

    mlp = MLPClassifier(hidden_layer_sizes=tuple(int(c.shape[1]) for c in coefs[:-1]),
                        activation=activation)
    mlp.coefs_ = coefs
    mlp.intercepts_ = intercepts
    mlp.n_layers_ = len(coefs) + 1
    mlp.n_outputs_ = int(coefs[-1].shape[1])
    mlp.out_activation_ = out_activation
    mlp.classes_ = classes.copy()
    if multilabel:  # fitted on an indicator matrix (a sparse one for sparse predictions)
        indicator = np.eye(classes.shape[0], dtype=int)
        mlp._label_binarizer = LabelBinarizer().fit(
            sp.csr_matrix(indicator) if est._sparse_labels else indicator)
    else:
        mlp._label_binarizer = LabelBinarizer().fit(classes)
    mlp.n_features_in_ = est.n_features_in_
    if hasattr(est, "feature_names_in_"):
        mlp.feature_names_in_ = est.feature_names_in_.copy()
    # the training record, so that partial_fit (and warm_start) continue from these weights
    # with scikit-learn's solver
    mlp.n_iter_ = est.n_iter_
    mlp.t_ = est.t_
    mlp.loss_ = est.loss_
    mlp.loss_curve_ = list(est.loss_curve_)
    mlp.best_loss_ = min(mlp.loss_curve_) if mlp.loss_curve_ else np.inf
    mlp.validation_scores_ = None
    mlp.best_validation_score_ = None
    mlp._no_improvement_count = 0
    return mlp


# ----------------------------------------------------------------------------- ONNX
def _onnx_parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser of classifiers (label, probabilities, the zipmap options), after
    scikit-learn's fitted check (skl2onnx would fail on the missing ``classes_``)."""
    from skl2onnx._parse import _parse_sklearn_classifier

    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


def _onnx_shape_calculator(operator):
    """Output types and shapes: as every skl2onnx classifier, a label ``[N]`` (int64 or
    string) and probabilities ``[N, n_classes]`` (float, or double for double input); for
    a multilabel model, as skl2onnx's ``MLPClassifier``, the label indicator matrix
    ``[N, n_labels]`` (int64) and the labels' probabilities ``[N, n_labels]``."""
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    est = operator.raw_operator
    check_is_fitted(est)
    shape = operator.inputs[0].type.shape
    n_features = shape[1] if len(shape) == 2 else None
    if isinstance(n_features, (int, np.integer)) and n_features != est.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    calculate_linear_classifier_output_shapes(operator)
    if est._is_multilabel():
        N = operator.inputs[0].get_first_dimension()
        operator.outputs[0].set_type(Int64TensorType(shape=[N, int(est.n_outputs_)]))


def _onnx_class_labels(classes):
    """The labels as an ONNX tensor can hold them: int64 (integers, booleans and
    integral floats, as skl2onnx's classifiers give them) or UTF-8 strings."""
    from skl2onnx.proto import onnx_proto

    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64), onnx_proto.TensorProto.INT64
    if classes.dtype.kind == "f":
        if not np.all(np.isfinite(classes) & (classes == np.round(classes))):
            raise ValueError(
                f"The class labels {classes.tolist()} are not integers: an ONNX "
                "classifier's labels are int64 or strings. Fit on integer or string labels, "
                "or convert with options={'nocl': True} (the labels become class indices)."
            )
        return classes.astype(np.int64), onnx_proto.TensorProto.INT64
    return np.array([str(c).encode("utf-8") for c in classes]), onnx_proto.TensorProto.STRING


def _onnx_converter(scope, operator, container):
    """The network as ONNX operators, computed as :meth:`DendriticClassifier.predict_proba`
    computes it (``skadapt._network.forward``): every layer ``a @ W + b`` with the hidden
    activation between them, the direct path's ``X @ direct_coef_`` added to the last
    layer's output, then the softmax; the label is the class of the largest probability
    (the first of equal ones), as in ``predict``. For a multilabel model, a sigmoid per
    output instead, and the label is the indicator matrix of the probabilities above 0.5
    (int64), as ``predict`` gives it. The input scaling is already folded into
    ``coefs_``, ``intercepts_`` and ``direct_coef_`` (they take the raw features). The
    graph computes in double for double input and in float otherwise."""
    from skl2onnx.common._apply_operation import apply_add, apply_cast, apply_reshape
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto

    est = operator.raw_operator
    check_is_fitted(est)
    act_op = _hidden_activation(est, "ONNX", _ONNX_ACTIVATIONS)
    if guess_proto_type(operator.inputs[0].type) == onnx_proto.TensorProto.DOUBLE:
        proto_dtype, dtype = onnx_proto.TensorProto.DOUBLE, np.float64
    else:
        proto_dtype, dtype = onnx_proto.TensorProto.FLOAT, np.float32

    def constant(name, value, proto=proto_dtype):
        name = scope.get_unique_variable_name(name)
        container.add_initializer(name, proto, list(value.shape), value.ravel())
        return name

    def node(op_type, inputs, name, **attrs):
        out = scope.get_unique_variable_name(name)
        container.add_node(op_type, inputs, out, name=scope.get_unique_operator_name(op_type),
                           **attrs)
        return out

    x = scope.get_unique_variable_name("cast_input")
    apply_cast(scope, operator.inputs[0].full_name, x, container, to=proto_dtype)
    coefs, intercepts = est.coefs_, est.intercepts_
    a = x
    for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = node("MatMul", [a, constant("coefficient", W.astype(dtype))], "mul_result")
        a = scope.get_unique_variable_name("add_result")
        apply_add(scope, [z, constant("intercepts", b.astype(dtype)[None, :])], a, container,
                  broadcast=1)
        if l < len(coefs) - 1:
            a = node(act_op, [a], "activations")
    direct = est.direct_coef_
    if direct is not None:
        xd = node("MatMul", [x, constant("direct_coefficient", direct.astype(dtype))],
                  "direct_result")
        logits = scope.get_unique_variable_name("logits")
        apply_add(scope, [a, xd], logits, container, broadcast=0)
        a = logits
    proba = operator.outputs[1].full_name
    if est._is_multilabel():
        container.add_node("Sigmoid", [a], proba, name=scope.get_unique_operator_name("Sigmoid"))
        above = node("Greater", [proba, constant("threshold", np.array([0.5], dtype))],
                     "above_threshold")
        apply_cast(scope, above, operator.outputs[0].full_name, container,
                   to=onnx_proto.TensorProto.INT64)
        return
    container.add_node("Softmax", [a], proba, axis=1,
                       name=scope.get_unique_operator_name("Softmax"))

    labels, label_proto = _onnx_class_labels(get_label_classes(scope, est))
    index = node("ArgMax", [proba], "argmax_output", axis=1)
    picked = node("ArrayFeatureExtractor", [constant("classes", labels, label_proto), index],
                  "label", op_domain="ai.onnx.ml")
    apply_reshape(scope, picked, operator.outputs[0].full_name, container, desired_shape=(-1,))


def register_onnx_converter():
    """Register the ONNX converter of :class:`DendriticClassifier` with skl2onnx.

    Needed only in unusual set-ups: ``import skadapt`` registers the converter by
    itself as soon as skl2onnx is imported, before or after skadapt (without importing
    skl2onnx when it is not). Registering again replaces the converter with itself.

    The converter gives what skl2onnx gives for scikit-learn's classifiers: a label
    (int64 or string) and the class probabilities, as a list of dictionaries (the
    default, ``zipmap``) or, with ``options={"zipmap": False}``, as a tensor; the
    options ``"zipmap"`` (True, False, ``"columns"``), ``"nocl"`` and
    ``"output_class_labels"`` work as for scikit-learn's classifiers. The graph
    computes the estimator's ``predict_proba`` (every activation, any number of
    hidden layers or none, the direct input-to-output path, the input scaling folded
    into the weights) in double for double input and in float otherwise.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install skadapt[onnx]``).

    See Also
    --------
    DendriticClassifier.to_mlp_classifier : The equivalent MLPClassifier, where one
        exists.

    Examples
    --------
    >>> import numpy as np
    >>> from skadapt import DendriticClassifier
    >>> X = np.random.RandomState(0).normal(size=(40, 3)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = DendriticClassifier((4,), max_iter=2, tol=None, random_state=0).fit(X, y)
    >>> from skl2onnx import to_onnx  # doctest: +SKIP
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})  # doctest: +SKIP
    """
    from skl2onnx import update_registered_converter

    from ._classifier import DendriticClassifier

    update_registered_converter(
        DendriticClassifier,
        _ONNX_ALIAS,
        _onnx_shape_calculator,
        _onnx_converter,
        overwrite=True,
        parser=_onnx_parser,
        options=_ONNX_OPTIONS,
    )


def _register_onnx_quietly():
    """:func:`register_onnx_converter`, warning instead of raising: a failed registration
    (an incompatible skl2onnx) must not break the user's ``import``."""
    try:
        register_onnx_converter()
    except Exception as exc:
        warnings.warn(
            f"skadapt could not register its ONNX converter with skl2onnx ({exc!r}); "
            "skl2onnx.to_onnx will not convert DendriticClassifier. Call "
            "skadapt.register_onnx_converter() to see the error.",
            RuntimeWarning,
            stacklevel=2,
        )


class _RegisteringLoader:
    """Runs skl2onnx's own loader, then registers the converter."""

    def __init__(self, loader, finder):
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module):
        # the module keeps its own loader (importlib.resources and the like read it)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        # the import succeeded: the hook's job ends here, whatever the registration does
        try:
            sys.meta_path.remove(self._finder)
        except ValueError:
            pass
        _register_onnx_quietly()


class _Skl2onnxFinder:
    """A ``sys.meta_path`` finder that finds nothing itself: for ``skl2onnx`` it asks the
    finders after it and wraps the loader of what they find in :class:`_RegisteringLoader`.
    Costs one string comparison per import of a module not yet imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "skl2onnx":
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or isinstance(finder, _Skl2onnxFinder) or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader, self)
                return spec
        return None


def _install_onnx_hook():
    """Called by ``import skadapt``: register now if skl2onnx is imported, else wait for
    its import (never importing it)."""
    if "skl2onnx" in sys.modules:
        _register_onnx_quietly()
    elif not any(isinstance(f, _Skl2onnxFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Skl2onnxFinder())
