"""The vectorized NumPy reference: the chapter's equations written as the chapter writes them.

This module is the oracle the compiled backend is tested against, so it favours the
obvious over the fast: ``np.dot``, broadcasting, ``np.sum(..., axis=1, keepdims=True)``.
Where the chapter's code is numerically unsafe it is fixed here, and the fix is noted:

- sigmoid ``1/(1+exp(-z))`` overflows (and warns) for z < -709: computed from exp(-|z|);
- softmax ``exp(z)/sum(exp(z))`` overflows for z > 709: the column maximum is subtracted
  first (softmax is invariant to shifting a column);
- ``log(A2)`` and ``log(1-A2)`` are -inf once a probability rounds to 0 or 1: costs computed
  from probabilities clamp the argument of the log at the smallest normal number, and the
  training costs are computed from the logits Z[L] with ``log1p`` instead (exact, finite).

Notation (section 6.5): ``X`` is ``(n_x, m)``, one example per column; ``W[l]`` is
``(n[l], n[l-1])``, ``b[l]`` is ``(n[l], 1)``; ``Z[l]``, ``A[l]`` are ``(n[l], m)``.
All functions keep float32 input in float32.
"""

import math

import numpy as np

from . import _activations, _dropout, optimizers
from ._activations import predictions_from_output
from ._schedule import callback_chunks
from ._validate import (as_float_array, as_real_array, check_cache, check_cost_args, check_count, check_flag,
                        check_learning_rate, check_linear, check_softmax_input, check_update,
                        prepare)

__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "bipolar_sigmoid", "arctan",
    "binary_step", "identity", "softmax",
    "sigmoid_derivative", "tanh_derivative", "relu_derivative", "leaky_relu_derivative",
    "softplus_derivative", "bipolar_sigmoid_derivative", "arctan_derivative",
    "binary_step_derivative", "identity_derivative",
    "layer_sizes", "initialize_parameters", "linear_forward", "linear_backward",
    "forward_propagation", "compute_cost", "backward_propagation", "update_parameters",
    "nn_model", "predict",
]

# ----------------------------------------------------------------------------------------
# Activations (section 6.6 and its table). Each takes Z of any shape.


def sigmoid(Z):
    """sigma(z) = 1/(1+exp(-z))  (6.10, 6.23), without overflow for any z."""
    Z = as_float_array("Z", Z)
    e = np.exp(-np.abs(Z))  # <= 1: never overflows
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(Z):
    """tanh(z) = 2 sigma(2z) - 1  (6.25)."""
    return np.tanh(as_float_array("Z", Z))


def relu(Z):
    """max(0, z)  (6.28)."""
    Z = as_float_array("Z", Z)
    return np.maximum(Z, 0)


def leaky_relu(Z):
    """max(0.01 z, z)  (6.29)."""
    Z = as_float_array("Z", Z)
    return np.where(Z > 0, Z, Z * _activations.LEAKY_SLOPE)


def softplus(Z):
    """Smooth ReLU log(1 + exp(z))  (6.30), as max(z, 0) + log1p(exp(-|z|)) so it never overflows."""
    Z = as_float_array("Z", Z)
    return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))


def bipolar_sigmoid(Z):
    """(1 - exp(-z)) / (1 + exp(-z))  (6.24), computed as the identical tanh(z/2).

    The chapter's quotient loses every digit near z = 0 (1 - exp(-z) cancels: float32 gives
    1.49e-7 for z = 2.76e-7 instead of 1.38e-7) and overflows for z < -709; tanh(z/2) has
    neither problem.
    """
    Z = as_float_array("Z", Z)
    return np.tanh(Z / 2)


def arctan(Z):
    """tan^-1(z)  (6.26)."""
    return np.arctan(as_float_array("Z", Z))


def binary_step(Z):
    """1 for z > 0, else 0  (6.27; the chapter leaves z = 0 open: we return 0, like relu'(0)).

    Its derivative is zero wherever it exists, so no gradient flows through a binary-step
    layer: it is here for the perceptron, not for gradient descent.
    """
    Z = as_float_array("Z", Z)
    return (Z > 0).astype(Z.dtype)


def identity(Z):
    """z (linear output, regression)."""
    return as_float_array("Z", Z).copy()


def softmax(Z):
    """exp(z_j) / sum_k exp(z_k) over axis 0 (each column of ``(C, m)``)  (6.31, 6.54).

    The chapter's code (and its equation 6.31, whose denominator reads sum z_k) computes
    ``exp(Z)`` directly, which overflows for z > 709; subtracting each column's maximum
    leaves the result unchanged and keeps every exponent <= 0.
    """
    Z = check_softmax_input(as_float_array("Z", Z))
    with np.errstate(over="ignore"):  # z - max < -1.8e308 rounds to -inf, and exp(-inf) = 0 is exact
        t = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return t / np.sum(t, axis=0, keepdims=True)


def sigmoid_derivative(Z):
    """sigma'(z) = sigma(z)(1 - sigma(z))."""
    return _sigmoid_derivative_from(sigmoid(Z))


def tanh_derivative(Z):
    """tanh'(z) = 1 - tanh(z)^2."""
    return _tanh_derivative_from(tanh(Z))


def relu_derivative(Z):
    """1 for z > 0, 0 for z < 0 (0 at z = 0)."""
    Z = as_float_array("Z", Z)
    return (Z > 0).astype(Z.dtype)


def leaky_relu_derivative(Z):
    """1 for z > 0, 0.01 for z < 0 (0.01 at z = 0)."""
    Z = as_float_array("Z", Z)
    return np.where(Z > 0, 1, _activations.LEAKY_SLOPE).astype(Z.dtype)


def softplus_derivative(Z):
    """softplus'(z) = 1 / (1 + exp(-z)) = sigma(z)."""
    return sigmoid(Z)


def bipolar_sigmoid_derivative(Z):
    """2 exp(-z) / (1 + exp(-z))^2 = (1 - f(z)^2) / 2  (the table's two forms; even in z).

    Computed as 2e / (1 + e)^2 with e = exp(-|z|): the table's (1 - f^2) / 2 is 0 once f
    rounds to +-1 (|z| > 37.4 in float64, 16.6 in float32), where the true value is still
    2 exp(-|z|), e.g. 8.2e-9 at z = -20 (checked against torch and 40-digit arithmetic).
    """
    Z = as_float_array("Z", Z)
    e = np.exp(-np.abs(Z))
    return 2 * e / ((1 + e) * (1 + e))


def arctan_derivative(Z):
    """1 / (1 + z^2), as r^2/(1 + r^2) with r = 1/z for |z| > 1 so z^2 cannot overflow."""
    Z = as_float_array("Z", Z)
    a = np.abs(Z)
    big = a > 1
    r = np.where(big, 1 / np.where(big, a, 1), a)  # r <= 1; no division by zero
    r2 = r * r
    return np.where(big, r2 / (1 + r2), 1 / (1 + r2))


def binary_step_derivative(Z):
    """0 everywhere (undefined at z = 0; 0 is returned): no gradient flows through a step."""
    return np.zeros_like(as_float_array("Z", Z))


def identity_derivative(Z):
    """1 everywhere."""
    return np.ones_like(as_float_array("Z", Z))


def _sigmoid_derivative_from(A):
    return A * (1 - A)


def _tanh_derivative_from(A):
    # A1 * A1 rather than the chapter's np.power(A1, 2): same value, ~3x faster in NumPy.
    return 1 - A * A


_FORWARD = {name: globals()[name] for name in _activations.NAMES}

# g'(Z) for backpropagation (6.39), computed from A = g(Z) where that is cheaper.
_DERIVATIVE_FROM = {
    "sigmoid": lambda Z, A: _sigmoid_derivative_from(A),
    "tanh": lambda Z, A: _tanh_derivative_from(A),
    "bipolar_sigmoid": lambda Z, A: bipolar_sigmoid_derivative(Z),
    "relu": lambda Z, A: relu_derivative(Z),
    "leaky_relu": lambda Z, A: leaky_relu_derivative(Z),
    "softplus": lambda Z, A: sigmoid(Z),
    "arctan": lambda Z, A: arctan_derivative(Z),
    "binary_step": lambda Z, A: binary_step_derivative(Z),
    "identity": lambda Z, A: identity_derivative(Z),
}

# ----------------------------------------------------------------------------------------
# Costs


def _safe_log(P):
    """log(P) with P clamped at the smallest normal number, so a probability that rounded to
    0 gives a large finite loss instead of -inf (the chapter's ``np.log(A2)``)."""
    return np.log(np.maximum(P, np.finfo(P.dtype).tiny))


def compute_cost(A2, Y, parameters=None):
    """The cross-entropy cost of the output probabilities.

    Binary (6.12/6.32) when ``Y`` has one row, categorical (6.55.b) when it has more, as in
    section 6.9.4. ``parameters`` is accepted for the chapter's signature and not used.

    Parameters
    ----------
    A2 : ndarray of shape (n_y, m)
        Output probabilities (sigmoid or softmax).
    Y : ndarray of shape (n_y, m)
        0/1 labels, or one-hot columns when ``n_y > 1``.

    Returns
    -------
    float
    """
    A2, Y = check_cost_args(A2, Y)
    return _cost_from_probabilities(A2, Y)


def _cost_from_probabilities(A, Y):
    m = Y.shape[1]
    if Y.shape[0] == 1:
        logprobs = np.multiply(_safe_log(A), Y) + np.multiply(_safe_log(1 - A), 1 - Y)
    else:
        logprobs = np.multiply(_safe_log(A), Y)
    return float(-1 / m * np.sum(logprobs))


def _cost_from_logits(ZL, AL, Y, output, weights=None):
    """The cost J of the output layer, computed from the logits Z[L], accurate even where
    the loss is tiny (see ``_kernels/loss.py``, which computes the same forms).

    sigmoid (6.33): -y log a - (1-y) log(1-a) = softplus(z) for y = 0, softplus(-z) for
    y = 1, never -inf; softmax (6.55.a): -log a_k = logsumexp(z) - z_k for the labelled
    class k, as d + log1p(u + (e^-d - 1)) with d = max(z) - z_k and u the sum of
    e^(z_j - max(z)) over the other classes (for d = 0 this is log1p(u), however small);
    identity: (1/2) sum (a - y)^2. Each is summed (in float64) over all elements and
    divided by m — or, with the examples' ``weights`` (m,), the weighted mean
    Σ w_i L_i / Σ w_i. The textbook forms softplus(z) - y z and lse - z_k cancel when the
    prediction is confidently right (a loss of 4e-18 came out as 0).
    """
    m = Y.shape[1]
    if weights is not None:
        per_example = _losses(ZL, AL, Y, output)
        return float(np.sum(weights.astype(np.float64) * per_example) / np.sum(weights, dtype=np.float64))
    if output == "sigmoid":
        total = np.sum(softplus(np.where(Y == 0, ZL, -ZL)), dtype=np.float64)
    elif output == "softmax":
        labelled = Y != 0
        zmax = np.max(ZL, axis=0)
        with np.errstate(over="ignore"):  # logits spanning the float range: exp(-inf) = 0 is exact
            u = np.sum(np.where(labelled, 0, np.exp(ZL - zmax)), axis=0)
            d = zmax - np.sum(np.where(labelled, ZL, 0), axis=0)  # labels are one-hot
        total = np.sum(d + np.log1p(u + (np.exp(-d) - 1)), dtype=np.float64)
    else:
        total = 0.5 * np.sum((AL - Y) ** 2, dtype=np.float64)
    return float(total / m)


def _losses(ZL, AL, Y, output):
    """The per-example losses L_i (m,) of ``_cost_from_logits``, in float64."""
    if output == "sigmoid":
        return np.sum(softplus(np.where(Y == 0, ZL, -ZL)), axis=0, dtype=np.float64)
    if output == "softmax":
        labelled = Y != 0
        zmax = np.max(ZL, axis=0)
        with np.errstate(over="ignore"):
            u = np.sum(np.where(labelled, 0, np.exp(ZL - zmax)), axis=0)
            d = zmax - np.sum(np.where(labelled, ZL, 0), axis=0)
        return (d + np.log1p(u + (np.exp(-d) - 1))).astype(np.float64)
    return 0.5 * np.sum((AL - Y) ** 2, axis=0, dtype=np.float64)

# ----------------------------------------------------------------------------------------
# The two-layer program of section 6.9.2, generalised to L layers where it costs nothing.


def layer_sizes(X, Y, n_h=4):
    """``(n_x, n_h, n_y)`` from the shapes of X ``(n_x, m)`` and Y ``(n_y, m)``; n_h is the
    chapter's 4 unless given."""
    X = as_real_array("X", X)
    Y = as_real_array("Y", Y, allow_bool=True)
    for name, a in (("X", X), ("Y", Y)):
        if a.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array; got {a.ndim}-D of shape {a.shape}")
        if 0 in a.shape:
            raise ValueError(f"{name} must not be empty; got shape {a.shape}")
    return (X.shape[0], check_count("n_h", n_h, minimum=1), Y.shape[0])


def initialize_parameters(n_x, n_h, n_y):
    """The chapter's initialisation: W ~ randn * 0.01, b = 0, from seed 2.

    Draws ``W1`` then ``W2`` from ``np.random.RandomState(2)``, which is the same stream as
    the chapter's ``np.random.seed(2); np.random.randn(...)`` without touching the caller's
    global random state.

    Returns
    -------
    dict
        ``W1 (n_h, n_x)``, ``b1 (n_h, 1)``, ``W2 (n_y, n_h)``, ``b2 (n_y, 1)``, float64.
    """
    n_x, n_h, n_y = (check_count(k, v, minimum=1) for k, v in (("n_x", n_x), ("n_h", n_h), ("n_y", n_y)))
    rng = np.random.RandomState(2)
    W1 = rng.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = rng.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def linear_forward(A_prev, W, b):
    """Z = W·A_prev + b with the broadcast bias  (6.22.a/c).

    A_prev ``(n[l-1], m)``, W ``(n[l], n[l-1])``, b ``(n[l], 1)`` → Z ``(n[l], m)``.
    """
    A_prev, W, b, _ = check_linear(A_prev, W, b)
    return _linear_forward(A_prev, W, b)


def linear_backward(dZ, A_prev, W):
    """dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ dZ over examples, dA_prev = Wᵀ·dZ  (6.36–6.41).

    Returns ``(dA_prev (n[l-1], m), dW (n[l], n[l-1]), db (n[l], 1))``.
    """
    A_prev, W, _, dZ = check_linear(A_prev, W, dZ=dZ)
    return _linear_backward(dZ, A_prev, W)


def _linear_forward(A_prev, W, b):
    return np.dot(W, A_prev) + b


def _linear_backward(dZ, A_prev, W):
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    return np.dot(W.T, dZ), dW, db


def forward_propagation(X, parameters, activations=None):
    """Forward propagation through all layers  (6.22).

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    parameters : dict
        ``W1..WL`` ``(n[l], n[l-1])`` and ``b1..bL`` ``(n[l], 1)``.
    activations : sequence of str, optional
        One name per layer. Default: the chapter's network — tanh hidden layers, sigmoid
        output for one output unit, softmax for more (6.9.4).

    Returns
    -------
    AL : ndarray of shape (n[L], m)
    cache : dict
        ``Z1, A1, ..., ZL, AL`` (for the chapter's network: ``Z1, A1, Z2, A2``).
    """
    X, _, params, names, _, _ = prepare(X, None, parameters, activations)
    cache = _forward(X, params, names)
    return cache[f"A{len(params)}"], cache


def _forward(X, params, names, masks=None):
    """The cache ``Z1, A1, ...``; with ``masks`` ``{l: (D[l], keep_prob)}`` (inverted
    dropout, ``nnfast._dropout``), also ``D{l}`` and the dropped ``A{l}·D{l}/p`` that
    layer l+1 reads as ``Ad{l}`` (``A{l}`` stays g(Z): g' is computed from it)."""
    cache = {}
    A = X
    for l, ((W, b), name) in enumerate(zip(params, names), start=1):
        Z = _linear_forward(A, W, b)
        A = _FORWARD[name](Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        if masks and l in masks:
            D, keep_prob = masks[l]
            A = A * D / keep_prob
            cache[f"D{l}"], cache[f"Ad{l}"] = D, A
    return cache


def backward_propagation(parameters, cache, X, Y, activations=None):
    """Backward propagation  (6.35–6.41, generalised to L layers).

    dZ[L] = A[L] - Y for each output/cost pair; then for l = L..1:
    dW[l] = (1/m) dZ[l]·A[l-1]ᵀ, db[l] = (1/m) Σ_columns dZ[l],
    dZ[l-1] = (W[l]ᵀ·dZ[l]) * g[l-1]'(Z[l-1]).

    Parameters
    ----------
    parameters : dict
    cache : dict
        From ``forward_propagation``: ``Z1, A1, ..., ZL, AL``.
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (n_y, m)
    activations : sequence of str, optional (as in ``forward_propagation``)

    Returns
    -------
    grads : dict
        ``dW1, db1, ..., dWL, dbL`` with the shapes of ``W1, b1, ...``.
    """
    X, Y, params, names, _, _ = prepare(X, Y, parameters, activations)
    return _backward(params, check_cache(cache, X, params), X, Y, names)


def _backward(params, cache, X, Y, names, weights=None, keep_prob=None):
    L = len(params)
    grads = {}
    dZ = cache[f"A{L}"] - Y  # (6.35), (6.56.d) and the squared-error case alike
    if weights is not None:  # the gradient of Σ w_i L_i / Σ w_i: _linear_backward divides by m
        dZ = dZ * (weights * (Y.shape[1] / np.sum(weights, dtype=np.float64))).astype(dZ.dtype)
    for l in range(L, 0, -1):
        A_prev = X if l == 1 else cache.get(f"Ad{l - 1}", cache[f"A{l - 1}"])
        W = params[l - 1][0]
        dA_prev, grads[f"dW{l}"], grads[f"db{l}"] = _linear_backward(dZ, A_prev, W)
        if l > 1:
            if f"D{l - 1}" in cache:  # inverted dropout: the dropped units pass no gradient
                dA_prev = dA_prev * cache[f"D{l - 1}"] / keep_prob[l - 2]
            dZ = dA_prev * _DERIVATIVE_FROM[names[l - 2]](cache[f"Z{l - 1}"], cache[f"A{l - 1}"])  # (6.39)
    return dict(sorted(grads.items(), key=lambda kv: (int(kv[0][2:]), kv[0][1])))


def update_parameters(parameters, grads, learning_rate=1.2):
    """Gradient descent: W[l] := W[l] - alpha dW[l], b[l] := b[l] - alpha db[l]  (6.14).

    Returns a new dict; ``parameters`` is not modified.
    """
    params, grads_list, lr = check_update(parameters, grads, learning_rate)
    return _as_dict(_update(params, {f"d{k}{l}": g for l, pair in enumerate(grads_list, 1)
                                     for k, g in zip("Wb", pair)}, lr))


def _update(params, grads, lr):
    return [(W - lr * grads[f"dW{l}"], b - lr * grads[f"db{l}"])
            for l, (W, b) in enumerate(params, start=1)]


def nn_model(X, Y, n_h, num_iterations=10000, learning_rate=1.2, print_cost=False, *,
             hidden_activation="tanh"):
    """The chapter's two-layer network trained by gradient descent (6.9.2–6.9.3).

    Initialises with ``initialize_parameters`` (seed 2, randn * 0.01), then repeats
    forward propagation, cost, backward propagation and update ``num_iterations`` times,
    printing ``Cost after iteration %i: %f`` every 1000 iterations when ``print_cost``.
    The output layer is sigmoid with the binary cost when Y has one row, softmax with the
    categorical cost when Y is one-hot with more rows (6.9.4).

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (n_y, m)
    n_h : int
        Size of the hidden layer.
    hidden_activation : str
        The hidden layer's activation (the chapter's tanh; exercise 7 uses sigmoid).

    Returns
    -------
    parameters : dict
        ``W1, b1, W2, b2`` (float64).
    """
    n_x, n_h, n_y = layer_sizes(X, Y, n_h)
    parameters = initialize_parameters(n_x, n_h, n_y)
    names = (hidden_activation, "sigmoid" if n_y == 1 else "softmax")
    X, Y, params, names, _, _ = prepare(X, Y, parameters, names, dtype=np.float64)
    num_iterations = check_count("num_iterations", num_iterations)
    print_cost = check_flag("print_cost", print_cost)
    lr = check_learning_rate(learning_rate)
    for i in range(num_iterations):
        cache = _forward(X, params, names)
        cost = _cost_from_probabilities(cache["A2"], Y)
        grads = _backward(params, cache, X, Y, names)
        params = _update(params, grads, lr)
        if print_cost and i % 1000 == 0:
            print("Cost after iteration %i: %f" % (i, cost))
    return _as_dict(params)


def _as_dict(params):
    out = {}
    for l, (W, b) in enumerate(params, start=1):
        out[f"W{l}"], out[f"b{l}"] = W, b
    return out


def predict(parameters, X, activations=None):
    """Class predictions from forward propagation.

    Sigmoid output: ``A[L] > 0.5`` as 0/1 integers of shape ``(n_y, m)`` (the chapter's
    threshold); softmax output: the class index ``argmax`` over axis 0, shape ``(m,)``
    (6.9.4); identity output: ``A[L]`` itself (regression).
    """
    X, _, params, names, _, _ = prepare(X, None, parameters, activations)
    return predictions_from_output(_forward(X, params, names)[f"A{len(params)}"], names[-1])


# ----------------------------------------------------------------------------------------
# The general entry points' backend (called by nnfast.api after validation).


def _gradients(X, Y, params, names, math=None, weights=None, dropout=None, epoch=0, examples=None):
    """(cost, grads) of one batch; with ``dropout`` (``nnfast._dropout.Dropout``), the
    masks of the run's ``epoch`` for the X columns ``examples``."""
    masks = None
    if dropout is not None:
        masks = {l: (_dropout.mask(dropout, epoch, l, examples, params[l - 1][0].shape[0]).astype(X.dtype),
                     dropout.keep_prob[l - 1]) for l in dropout.layers()}
    cache = _forward(X, params, names, masks)
    L = len(params)
    cost = _cost_from_logits(cache[f"Z{L}"], cache[f"A{L}"], Y, names[-1], weights)
    return cost, _backward(params, cache, X, Y, names, weights, None if dropout is None else dropout.keep_prob)


def _gradient_descent(X, Y, params, names, rates, orders, batch_size, n_epochs, hook=None, math=None,
                      optimizer=None, l2=0.0, state=None, clip=0.0, weights=None, dropout=None):
    """Full-batch or mini-batch training; the reference for ``compiled``'s loop.

    Epoch e visits the columns in the order ``orders[e % len(orders)]`` (all of them, or
    a subset) in batches of
    ``batch_size`` (the last may be smaller) with the learning rate ``rates[e]``; full
    batch is one batch of all m columns, i.e. one iteration. Each batch's mean gradient
    gains (λ/m_batch)·W[l] on the weights (``l2`` = λ) and its cost (λ/2m_batch)·Σ‖W[l]‖²;
    the gradient is scaled down to norm ``clip`` when it is longer (torch's
    ``clip_grad_norm_``; 0: never); the update is ``optimizer``'s (``nnfast.optimizers``;
    None: plain gradient descent),
    continuing from ``state`` (``{"step": t, buffer: {W1, b1, ...}}``) when given. The
    cost of an epoch is the mean of its batches' costs, each from the forward pass before
    that batch's update. ``hook(done, n_epochs, cost, parameters)`` is called between
    chunks (``_schedule.callback_chunks``) with a function returning the current
    parameters, and a true result stops the run there. Returns the final parameters,
    the costs (up to the stop) and the optimizer's state. ``dropout``: an
    ``nnfast._dropout.Dropout`` (inverted dropout on its layers during training; the costs
    are those of the dropped forward passes). ``math`` is the compiled backend's option;
    NumPy's functions are used here regardless.
    """
    opt = optimizers.SGD() if optimizer is None else optimizer
    m = orders.shape[1]
    in_order = m == X.shape[1] and len(orders) == 1 and np.array_equal(orders[0], np.arange(m))
    costs = np.empty(n_epochs)
    keys = [f"{k}{l}" for l in range(1, len(params) + 1) for k in "Wb"]
    buffers = {name: {key: np.zeros_like(p) for key, p in zip(keys, (p for pair in params for p in pair))}
               for name in opt.buffers}
    step = 0
    if state is not None:
        step = state["step"]
        buffers = {name: {key: np.array(state[name][key], dtype=params[0][0].dtype) for key in keys}
                   for name in opt.buffers}
    for start, stop in callback_chunks(n_epochs, batch_size == m):
        for e in range(start, stop):
            # One gather per epoch, then each batch is a slice: gathering every batch's
            # columns from the (n_x, m) array separately is ~10x slower on MNIST.
            order = orders[e % len(orders)]
            Xe, Ye = (X, Y) if in_order else (X[:, order], Y[:, order])
            We = None if weights is None else weights[order]
            batch_costs = []
            for first in range(0, m, batch_size):
                Xb, Yb = Xe[:, first:first + batch_size], Ye[:, first:first + batch_size]
                cost, grads = _gradients(Xb, Yb, params, names,
                                         weights=None if We is None else We[first:first + batch_size],
                                         dropout=dropout, epoch=e, examples=order[first:first + batch_size])
                step += 1
                params, cost = _step(params, grads, cost, opt, buffers, step, rates[e], l2, clip, Xb.shape[1])
                batch_costs.append(cost)
            costs[e] = np.mean(batch_costs)
        if hook is not None and hook(stop, n_epochs, costs[stop - 1], lambda: _as_dict(params)):
            costs = costs[:stop]
            break
    return _as_dict(params), costs, {"step": step, **buffers}


def _step(params, grads, cost, opt, buffers, step, lr, l2, clip, m):
    """One batch's update of ``params`` (and the cost with the L2 penalty)."""
    if opt.code == optimizers.SGD_CODE and l2 == 0 and clip == 0:
        return _update(params, grads, lr), cost
    dt = params[0][0].dtype.type
    grads = dict(grads)
    for l, (W, b) in enumerate(params, start=1):
        if l2:
            cost += 0.5 * l2 / m * float(np.sum(W.astype(np.float64) ** 2))
            grads[f"dW{l}"] = grads[f"dW{l}"] + dt(l2 / m) * W
    if clip:
        norm = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))
        factor = clip / (norm + 1e-6)
        if factor < 1:
            grads = {k: g * dt(factor) for k, g in grads.items()}
    new = []
    for l, (W, b) in enumerate(params, start=1):
        pair = []
        for key, p, g in ((f"W{l}", W, grads[f"dW{l}"]), (f"b{l}", b, grads[f"db{l}"])):
            p = p.copy()
            state = np.stack([buffers[name][key].reshape(-1) for name in opt.buffers]) if opt.buffers else None
            optimizers.step(opt, p.reshape(-1), np.ascontiguousarray(g, dtype=p.dtype).reshape(-1), state, step, lr)
            for i, name in enumerate(opt.buffers):
                buffers[name][key] = state[i].reshape(p.shape)
            pair.append(p)
        new.append(tuple(pair))
    return new, cost


def _forward_output(X, params, names, math=None):
    return _forward(X, params, names)[f"A{len(params)}"]
