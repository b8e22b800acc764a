"""The network's layout in one flat parameter vector, its initialisation and a
NumPy forward pass (used for prediction and as the reference in the tests)."""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

ACTIVATIONS = ("sigmoid", "relu", "tanh")
# other names of the same activations: MLPClassifier's name of the sigmoid
ACTIVATION_ALIASES = {"logistic": "sigmoid"}


def layout(sizes, direct_path=False):
    """Offsets of every block of weights and biases in the flat parameter vector.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    direct_path : bool, default=False
        Whether a direct input-to-output path follows the layers: one more block,
        a weight matrix of shape ``(sizes[0], sizes[-1])`` without biases.

    Returns
    -------
    w_off, b_off : ndarray of int64, shape (n_blocks,)
        Start of block ``b``'s weight matrix (row-major, shape
        ``(sizes[l], sizes[l + 1])`` for layer ``l``) and of its bias vector (-1 for
        the direct path, which has none). The layers come first, in order.
    n_params : int
        Length of the parameter vector.
    """
    n_layers = len(sizes) - 1
    n_blocks = n_layers + int(direct_path)
    w_off = np.zeros(n_blocks, np.int64)
    b_off = np.full(n_blocks, -1, np.int64)
    pos = 0
    for l in range(n_layers):
        w_off[l] = pos
        pos += sizes[l] * sizes[l + 1]
        b_off[l] = pos
        pos += sizes[l + 1]
    if direct_path:
        w_off[n_layers] = pos
        pos += sizes[0] * sizes[-1]
    return w_off, b_off, pos


def init_params(sizes, activation, rng, dtype, direct_path=False):
    """Glorot-uniform weights and biases, as scikit-learn's MLP draws them. With a direct
    path, its weights and the last layer's weights and biases start at zero: the network
    starts as the zero linear model (every class equally likely), learns through the
    direct path first and grows its hidden path from the examples (the same draws, so
    the hidden layers start as without a direct path)."""
    activation = ACTIVATION_ALIASES.get(activation, activation)
    w_off, b_off, n_params = layout(sizes, direct_path)
    params = np.empty(n_params, dtype=dtype)
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        factor = 2.0 if activation == "sigmoid" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        params[w_off[l] : b_off[l]] = rng.uniform(-bound, bound, fan_in * fan_out)
        params[b_off[l] : b_off[l] + fan_out] = rng.uniform(-bound, bound, fan_out)
    if direct_path:
        last = len(sizes) - 2
        params[w_off[last] : b_off[last] + sizes[-1]] = 0.0
        params[w_off[-1] :] = 0.0
    return params


def unpack(params, sizes):
    """Views of the flat vector as lists of the layers' weight matrices and bias
    vectors (the direct path: :func:`direct_block`)."""
    w_off, b_off, _ = layout(sizes)
    coefs, intercepts = [], []
    for l in range(len(sizes) - 1):
        coefs.append(params[w_off[l] : b_off[l]].reshape(sizes[l], sizes[l + 1]))
        intercepts.append(params[b_off[l] : b_off[l] + sizes[l + 1]])
    return coefs, intercepts


def direct_block(params, sizes):
    """View of the direct path's weights, shape ``(sizes[0], sizes[-1])``, or None if
    ``params`` has no direct path."""
    _, _, n_layered = layout(sizes)
    if params.shape[0] == n_layered:
        return None
    return params[n_layered:].reshape(sizes[0], sizes[-1])


def _act(z, activation):
    if activation == "sigmoid":
        return expit(z, out=z)
    if activation == "relu":
        return np.maximum(z, 0, out=z)
    return np.tanh(z, out=z)


def hidden_activations(X, coefs, intercepts, activation):
    """Yield the activations of each hidden layer for X (dense or sparse), first to
    last, each of shape (n_samples, n_units)."""
    activation = ACTIVATION_ALIASES.get(activation, activation)
    a = X
    for l in range(len(coefs) - 1):
        z = safe_sparse_dot(a, coefs[l], dense_output=True)
        z += intercepts[l]
        a = _act(z, activation)
        yield a


def forward(X, coefs, intercepts, activation, direct_coef=None):
    """Output-layer logits for X (dense or sparse), shape (n_samples, n_outputs);
    ``direct_coef``: the direct path's weights, whose ``X @ direct_coef`` adds to them."""
    a = X
    for h in hidden_activations(X, coefs, intercepts, activation):
        a = h
    a = safe_sparse_dot(a, coefs[-1], dense_output=True)
    a += intercepts[-1]
    if direct_coef is not None:
        a += safe_sparse_dot(X, direct_coef, dense_output=True)
    return np.asarray(a)
