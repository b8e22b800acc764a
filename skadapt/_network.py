"""The network's layout in one flat parameter vector, its initialisation and a
NumPy forward pass (used for prediction and as the reference in the tests)."""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

ACTIVATIONS = ("sigmoid", "relu", "tanh")


def layout(sizes):
    """Offsets of every layer's weights and biases in the flat parameter vector.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.

    Returns
    -------
    w_off, b_off : ndarray of int64, shape (n_layers,)
        Start of layer ``l``'s weight matrix (row-major, shape
        ``(sizes[l], sizes[l + 1])``) and of its bias vector.
    n_params : int
        Length of the parameter vector.
    """
    n_layers = len(sizes) - 1
    w_off = np.zeros(n_layers, np.int64)
    b_off = np.zeros(n_layers, np.int64)
    pos = 0
    for l in range(n_layers):
        w_off[l] = pos
        pos += sizes[l] * sizes[l + 1]
        b_off[l] = pos
        pos += sizes[l + 1]
    return w_off, b_off, pos


def init_params(sizes, activation, rng, dtype):
    """Glorot-uniform weights and biases, as scikit-learn's MLP draws them."""
    w_off, b_off, n_params = layout(sizes)
    params = np.empty(n_params, dtype=dtype)
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        factor = 2.0 if activation == "sigmoid" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        params[w_off[l] : b_off[l]] = rng.uniform(-bound, bound, fan_in * fan_out)
        params[b_off[l] : b_off[l] + fan_out] = rng.uniform(-bound, bound, fan_out)
    return params


def unpack(params, sizes):
    """Views of the flat vector as lists of weight matrices and bias vectors."""
    w_off, b_off, _ = layout(sizes)
    coefs, intercepts = [], []
    for l in range(len(sizes) - 1):
        coefs.append(params[w_off[l] : b_off[l]].reshape(sizes[l], sizes[l + 1]))
        intercepts.append(params[b_off[l] : b_off[l] + sizes[l + 1]])
    return coefs, intercepts


def _act(z, activation):
    if activation == "sigmoid":
        return expit(z, out=z)
    if activation == "relu":
        return np.maximum(z, 0, out=z)
    return np.tanh(z, out=z)


def forward(X, coefs, intercepts, activation):
    """Output-layer logits for X (dense or sparse), shape (n_samples, n_outputs)."""
    a = X
    n_layers = len(coefs)
    for l in range(n_layers):
        z = safe_sparse_dot(a, coefs[l], dense_output=True)
        z += intercepts[l]
        a = _act(z, activation) if l < n_layers - 1 else z
    return np.asarray(a)
