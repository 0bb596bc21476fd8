"""The compiled backend: the same functions and signatures as ``nnfast.reference``, each
running on the Numba kernels of ``nnfast._kernels`` (explicit loops, no ``np.dot``).

Every function here is a thin wrapper: validate (``_validate``, the same checks as the
reference) → convert to the working dtype, C-contiguous (one example per column, as in the
chapter; wide inputs are also transposed once for the first layer, see ``_kernels/dense.py``) →
one kernel call → the chapter's dicts and arrays. The caller's arrays are never written to.
Switch backends by changing one import::

    from nnfast import compiled as nn      # instead of: from nnfast import reference as nn
"""

import numpy as np

from . import _activations, _dropout, _threads, _workers, optimizers, reference
from ._activations import predictions_from_output
from ._config import MATH, PARALLEL_MIN_WORK
from ._kernels.activations import activation_backward, activation_forward, output_forward
from ._kernels.dense import dense_backward_input, dense_backward_params, dense_forward
from ._kernels.loop import backward_block, forward_block, forward_pass, sgd_update, train_epochs
from ._kernels.loss import cost_sum_from_probabilities
from ._network import Layout, block_rows, packed_layers
from ._schedule import callback_chunks
from ._validate import (as_float_array, check_cache, check_cost_args, check_count, check_flag,
                        check_learning_rate, check_linear, check_math, check_softmax_input,
                        check_update, prepare)
from .reference import initialize_parameters, layer_sizes

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


def _fast(math=None):
    """The kernels' ``fast`` flag for a ``math`` mode (None: ``_config.MATH``)."""
    return (MATH if check_math(math) is None else math) == "fast"

# ----------------------------------------------------------------------------------------
# Activations: one forward kernel and one derivative kernel serve every name.


def _activation(name, Z):
    Z = as_float_array("Z", Z)
    z = np.ascontiguousarray(Z).reshape(-1)
    a = np.empty_like(z)
    activation_forward(_activations.CODES[name], z, a, _fast())
    return a.reshape(Z.shape)


def _derivative(name, Z):
    Z = as_float_array("Z", Z)
    z = np.ascontiguousarray(Z).reshape(-1)
    a = np.empty_like(z)
    code = _activations.CODES[name]
    activation_forward(code, z, a, _fast())
    d = np.ones_like(z)
    activation_backward(code, z, a, d, _fast())
    return d.reshape(Z.shape)


def _make_activation(name):
    def forward(Z):
        return _activation(name, Z)

    def derivative(Z):
        return _derivative(name, Z)

    for function, public in ((forward, name), (derivative, f"{name}_derivative")):
        function.__name__ = function.__qualname__ = public
        function.__doc__ = getattr(reference, public).__doc__
    return forward, derivative


for _name in _activations.HIDDEN:
    globals()[_name], globals()[f"{_name}_derivative"] = _make_activation(_name)
del _name


def softmax(Z):
    """exp(z_j) / sum_k exp(z_k) over axis 0 (each column of ``(C, m)``), stable  (6.31, 6.54)."""
    Z = check_softmax_input(as_float_array("Z", Z))
    columns = np.ascontiguousarray(Z.reshape(Z.shape[0], -1) if Z.ndim else Z.reshape(1, 1))
    out = np.empty_like(columns)
    output_forward(_activations.SOFTMAX, columns, out, np.empty(2 * columns.shape[1], columns.dtype), _fast())
    return out.reshape(Z.shape)


# ----------------------------------------------------------------------------------------
# Dense layer and cost kernels on their own.


def linear_forward(A_prev, W, b):
    """Z = W·A_prev + b with the broadcast bias  (6.22.a/c).

    A_prev ``(n[l-1], m)``, W ``(n[l], n[l-1])``, b ``(n[l], 1)`` → Z ``(n[l], m)``.
    """
    A_prev, W, b, _ = check_linear(A_prev, W, b)
    Z = np.empty((W.shape[0], A_prev.shape[1]), A_prev.dtype)
    dense_forward(W, b.reshape(-1), A_prev, Z)
    return Z


def linear_backward(dZ, A_prev, W):
    """dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ dZ over examples, dA_prev = Wᵀ·dZ  (6.36–6.41).

    Returns ``(dA_prev (n[l-1], m), dW (n[l], n[l-1]), db (n[l], 1))``.
    """
    A_prev, W, _, dZ = check_linear(A_prev, W, dZ=dZ)
    m = A_prev.shape[1]
    dW = np.zeros_like(W)
    db = np.zeros(W.shape[0], W.dtype)
    dense_backward_params(dZ, A_prev, dW, db)
    dA_prev = np.empty((W.shape[1], m), W.dtype)
    dense_backward_input(W, dZ, dA_prev)
    scale = W.dtype.type(m)
    return dA_prev, dW / scale, (db / scale).reshape(-1, 1)


def compute_cost(A2, Y, parameters=None):
    """The cross-entropy cost of output probabilities: binary (6.12) when Y has one row,
    categorical (6.55.b) when it has more. ``parameters`` is unused (the chapter's signature).

    A2, Y : ndarray of shape (n_y, m). Returns a float.
    """
    A2, Y = check_cost_args(A2, Y)
    return float(cost_sum_from_probabilities(A2.reshape(-1), Y.reshape(-1), Y.shape[0] == 1) / Y.shape[1])


# ----------------------------------------------------------------------------------------
# The network: forward, backward, update, the chapter's model, predict.


def _kernel_input(X):
    """``(XK, x_rows)``: X ``(n_x, m)`` as the kernels read it, without a copy — itself when
    C-contiguous, else its transpose ``(m, n_x)`` (C-contiguous: one example per row)."""
    if X.flags.c_contiguous:
        return X, False
    return X.T, True


def _dims(X, params):
    return tuple([X.shape[0]] + [W.shape[0] for W, _ in params])


def _whole_batch(X, params, names):
    """Layout and workspace for all m examples as one block (the chapter's functions)."""
    layout = Layout(_dims(X, params), names, X.dtype, X.shape[1])
    theta = layout.pack(params)
    ws, scratch, grads, packs, _ = layout.buffers(1)
    return layout, theta, ws, scratch, grads, packs


def _region(layout, ws, offsets, l):
    """A copy of Z[l] or A[l] ``(n[l], m)`` of the single block."""
    n, m = layout.dims[l], layout.block_rows
    return ws[0, offsets[l]:offsets[l] + n * m].reshape(n, m).copy()


def _whole_input(X):
    """The packed kernel's view ``(buf, off, rs, cs)`` of a C-contiguous X ``(n_x, m)``,
    one block of all m examples (see ``_kernels/loop._block_input``)."""
    return X.reshape(-1), np.int64(0), np.int64(X.shape[1]), np.int64(1)


def _no_dropout(dtype):
    """The kernels' dropout arguments of a layout without dropout (never read)."""
    return np.empty(0, dtype), np.empty(0, np.uint64)


def _forward_whole(X, params, names):
    layout, theta, ws, scratch, _, packs = _whole_batch(X, params, names)
    forward_block(X.shape[1], theta, layout.net, ws[0], X, _whole_input(X), scratch[0, 2], packs[0], _fast(),
                  _no_dropout(X.dtype), np.uint64(0), np.arange(X.shape[1]))
    return layout, ws


def forward_propagation(X, parameters, activations=None):
    """Forward propagation through all layers  (6.22); see ``reference.forward_propagation``.

    Returns ``(AL, cache)`` with ``cache = {Z1, A1, ..., ZL, AL}``, each ``(n[l], m)``.
    """
    X, _, params, names, _, _ = prepare(X, None, parameters, activations)
    layout, ws = _forward_whole(X, params, names)
    z_off, a_off = layout.net[4], layout.net[5]
    cache = {}
    for l in range(1, len(layout.dims)):
        cache[f"Z{l}"] = _region(layout, ws, z_off, l)
        cache[f"A{l}"] = _region(layout, ws, a_off, l)
    return cache[f"A{len(params)}"], cache


def backward_propagation(parameters, cache, X, Y, activations=None):
    """Backward propagation (6.35–6.41, L layers); see ``reference.backward_propagation``.

    Returns ``grads = {dW1, db1, ..., dWL, dbL}``.
    """
    X, Y, params, names, _, _ = prepare(X, Y, parameters, activations)
    cache = check_cache(cache, X, params)
    layout, theta, ws, scratch, grads, packs = _whole_batch(X, params, names)
    z_off, a_off = layout.net[4], layout.net[5]
    for l in range(1, len(layout.dims)):
        for key, off in ((f"Z{l}", z_off[l]), (f"A{l}", a_off[l])):
            ws[0, off:off + cache[key].size] = cache[key].ravel()
    backward_block(X.shape[1], theta, layout.net, ws[0], X, _whole_input(X), Y, np.empty(0, X.dtype), scratch[0],
                   grads[0], packs[0], _fast(), _no_dropout(X.dtype)[0])
    return layout.unpack(grads[0] / X.dtype.type(X.shape[1]), prefix="d")


def update_parameters(parameters, grads, learning_rate=1.2):
    """Gradient descent: W[l] := W[l] - alpha dW[l], b[l] := b[l] - alpha db[l]  (6.14).

    Returns a new dict; ``parameters`` is not modified.
    """
    params, grads_list, lr = check_update(parameters, grads, learning_rate)
    dims = tuple([params[0][0].shape[1]] + [W.shape[0] for W, _ in params])
    layout = Layout(dims, ("identity",) * (len(dims) - 1), params[0][0].dtype, 1)
    theta = layout.pack(params)
    grad = layout.pack(grads_list)
    sgd_update(theta, grad, lr)
    return layout.unpack(theta)


def _n_chunks(batch_rows, n_weights):
    """One chunk per thread (``_threads.current()``: the call's ``threads=`` or the
    default) when the batch is big enough to pay for starting threads."""
    threads = _threads.current()
    if threads == 1 or batch_rows * n_weights < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(threads, batch_rows // 8))


def _plan(X, params, names, batch_size, dropout=None):
    """``(layout, XK, n_chunks)`` of a run on X ``(n_x, m)`` in batches of ``batch_size``
    (with ``dropout``, an ``nnfast._dropout.Dropout``): the one place where the input's
    layout, the packed layers, the block size and the thread split are decided."""
    XK, x_rows = _kernel_input(X)
    dims = _dims(X, params)
    n_weights = sum(dims[l] * dims[l - 1] for l in range(1, len(dims)))
    n_chunks = _n_chunks(batch_size, n_weights)
    dropped = 0 if dropout is None else sum(dims[l] for l in dropout.layers())
    rows = block_rows(dims, batch_size, X.dtype, n_chunks, any(packed_layers(dims)), dropped)
    return Layout(dims, names, X.dtype, rows, x_rows, dropout), XK, n_chunks


class _Trainer:
    """The state of one compiled training run: packed parameters, the data as the caller
    holds it (never copied), the optimizer's state and the work buffers, allocated once;
    ``run(e0, e1)`` trains epochs e0..e1-1 in one kernel call.

    rates : float64 array, the learning rate of each epoch the run will reach; optimizer :
    an ``nnfast.optimizers`` instance; l2 : λ; state : ``{"step": t, buffer: {W1, b1,
    ...}}`` to continue from (None: a fresh optimizer); clip : the largest gradient norm
    (0: none); weights : the examples' weights (m,), or None; dropout : an
    ``nnfast._dropout.Dropout`` or None."""

    def __init__(self, X, Y, params, names, rates, orders, batch_size, math=None, optimizer=None, l2=0.0,
                 state=None, clip=0.0, weights=None, dropout=None):
        self.layout, self.X, self.n_chunks = _plan(X, params, names, batch_size, dropout)
        self.theta = self.layout.pack(params)
        self.Y = Y
        dtype = self.theta.dtype
        self.weights = np.empty(0, dtype) if weights is None else np.ascontiguousarray(weights, dtype)
        self.orders = np.ascontiguousarray(orders, dtype=np.int64)
        self.in_order = len(orders) == 1 and bool(np.array_equal(orders[0], np.arange(len(orders[0]))))
        self.batch_size = batch_size
        self.rates = np.ascontiguousarray(rates, dtype=np.float64)
        self.fast = _fast(math)
        self.optimizer = optimizers.SGD() if optimizer is None else optimizer
        buffers = self.optimizer.buffers
        self.state = np.zeros((len(buffers), self.layout.size), self.theta.dtype)
        self.steps = np.zeros(1, np.int64)
        if state is not None:
            self.steps[0] = state["step"]
            for i, name in enumerate(buffers):
                self.state[i] = self.layout.pack([(state[name][f"W{l}"], state[name][f"b{l}"])
                                                  for l in range(1, len(self.layout.dims))])
        self.opt = (np.int64(self.optimizer.code), self.optimizer.hyper(), self.state, self.steps, float(l2),
                    float(clip), np.zeros(self.n_chunks))
        if dropout is None:
            self.drop = (*_no_dropout(dtype), np.zeros(2, np.uint64))
        else:
            self.drop = (np.array((1.0, *dropout.keep_prob), dtype),
                         np.array([0] + [_dropout.threshold(p) for p in dropout.keep_prob], np.uint64),
                         np.array([dropout.key, dropout.first_epoch], np.uint64))
        self.ws, self.scratch, self.grads, self.packs, self.chunk_costs = self.layout.buffers(self.n_chunks)

    def _epochs(self, epoch_start, epoch_stop, cost_every, batch_size, update):
        costs = np.full(epoch_stop - epoch_start, np.nan)
        layout = self.layout
        _workers.run(train_epochs, self.n_chunks, _workers.new_sync(), layout.block_rows, self.X, layout.x_rows,
                     self.Y, self.weights, self.orders, self.in_order, batch_size, epoch_start, epoch_stop, cost_every,
                     self.rates, update, self.opt, self.drop, self.theta, layout.net, self.ws, self.scratch, self.grads,
                     self.packs, self.chunk_costs, costs, self.fast)
        return costs

    def run(self, epoch_start, epoch_stop, cost_every=1):
        """Train epochs [epoch_start, epoch_stop); returns their costs (NaN where skipped)."""
        return self._epochs(epoch_start, epoch_stop, cost_every, self.batch_size, True)

    def gradient(self):
        """(cost, grads) over all examples at the current parameters (one batch of all of
        them, in the first order, without an update)."""
        m = self.Y.shape[1]
        cost = self._epochs(0, 1, 1, m, False)[0]
        return cost, self.layout.unpack(self.grads[0] / self.theta.dtype.type(m), prefix="d")

    def parameters(self):
        return self.layout.unpack(self.theta)

    def optimizer_state(self):
        """``{"step": t, buffer: {W1, b1, ...}}``: where the optimizer stands (copies)."""
        out = {"step": int(self.steps[0])}
        for i, name in enumerate(self.optimizer.buffers):
            out[name] = self.layout.unpack(self.state[i])
        return out


def nn_model(X, Y, n_h, num_iterations=10000, learning_rate=1.2, print_cost=False, *,
             hidden_activation="tanh", math=None):
    """The chapter's two-layer network trained by gradient descent (6.9.2–6.9.3), compiled.

    Same arguments, initialisation and printed lines as ``reference.nn_model``; the whole
    iteration loop runs inside one kernel call (with ``print_cost``, one call per 1000
    iterations, each computing the cost only for the iteration it prints). ``math``:
    "fast" or "libm" (see ``nnfast._config.MATH``; default from ``NNFAST_MATH``, "fast").
    """
    n_x, n_h, n_y = layer_sizes(X, Y, n_h)
    parameters = initialize_parameters(n_x, n_h, n_y)
    names = (hidden_activation, "sigmoid" if n_y == 1 else "softmax")
    X, Y, params, names, _, _ = prepare(X, Y, parameters, names, dtype=np.float64)
    num_iterations = check_count("num_iterations", num_iterations)
    print_cost = check_flag("print_cost", print_cost)
    lr = check_learning_rate(learning_rate)
    m = X.shape[1]
    trainer = _Trainer(X, Y, params, names, np.full(num_iterations, lr), np.arange(m)[None, :], m, math)
    every = 1000
    if not print_cost:
        trainer.run(0, num_iterations, cost_every=num_iterations + 1)
    for start in range(0, num_iterations if print_cost else 0, every):
        cost = trainer.run(start, min(start + every, num_iterations), cost_every=every)[0]
        print("Cost after iteration %i: %f" % (start, cost))
    return trainer.parameters()


def predict(parameters, X, activations=None):
    """Class predictions from forward propagation; see ``reference.predict``."""
    X, _, params, names, _, _ = prepare(X, None, parameters, activations)
    return predictions_from_output(_forward_output(X, params, names), names[-1])

# ----------------------------------------------------------------------------------------
# The general entry points' backend (called by nnfast.api after validation).


def _forward_output(X, params, names, math=None):
    """A[L] ``(n[L], m)``: the forward pass alone, in blocks spread over the threads
    (one thread below ``PARALLEL_MIN_WORK``, as in training: starting a thread costs
    ~0.3 ms, more than 2-4-1's whole forward pass on 10,000 examples)."""
    m = X.shape[1]
    layout, XK, n_chunks = _plan(X, params, names, m)
    n_chunks = max(1, min(n_chunks, -(-m // layout.block_rows)))
    ws, scratch, _, packs, _ = layout.buffers(n_chunks, backward=False)
    out = np.empty((layout.dims[-1], m), X.dtype)
    _workers.run(forward_pass, n_chunks, _workers.new_sync(), layout.block_rows, XK, layout.x_rows, np.arange(m),
                 layout.pack(params), layout.net, ws, scratch, packs, out, _fast(math))
    return out


def _gradients(X, Y, params, names, math=None):
    m = X.shape[1]
    return _Trainer(X, Y, params, names, np.ones(1), np.arange(m)[None, :], m, math).gradient()


def _gradient_descent(X, Y, params, names, rates, orders, batch_size, n_epochs, hook=None, math=None,
                      optimizer=None, l2=0.0, state=None, clip=0.0, weights=None, dropout=None):
    trainer = _Trainer(X, Y, params, names, rates, orders, batch_size, math, optimizer, l2, state, clip, weights,
                       dropout)
    if hook is None:
        costs = trainer.run(0, n_epochs)
    else:
        costs = np.empty(n_epochs)
        for start, stop in callback_chunks(n_epochs, batch_size == orders.shape[1]):
            costs[start:stop] = trainer.run(start, stop)
            if hook(stop, n_epochs, costs[stop - 1], trainer.parameters):
                costs = costs[:stop]
                break
    return trainer.parameters(), costs, trainer.optimizer_state()
