"""Fill Numba's cache with every compiled kernel of one dtype, ahead of time
(``nnfast compile``): for Docker images, CI caches and cluster workers, which then start
at once.

It makes tiny calls of the public API: what a kernel is compiled for is the types of its
arguments (the dtype; arrays are always C-contiguous, and the input's layout, the packed
and the small layers, the math mode and the thread count are run-time values), so one
small call of each entry point reaches every signature a real call of that dtype uses.
The network still has one layer at or above ``_config.PACKED_MIN_WEIGHTS`` weights and
one below, and X is given in both layouts, so that the calls also run every path once.
"""

import time

import numpy as np

from . import _cache, api, compiled
from ._config import PACKED_MIN_ROWS, PACKED_MIN_WEIGHTS

DTYPES = ("float32", "float64")


def _problem(dtype):
    """``(X, Y, dims)``: X ``(8, m)``, one-hot Y ``(3, m)``; layer 1 packed (8·n_1 >=
    PACKED_MIN_WEIGHTS weights), layer 2 small (3·n_1 < PACKED_MIN_WEIGHTS)."""
    rng = np.random.default_rng(0)
    n_x, n_y = 8, 3
    n_1 = -(-PACKED_MIN_WEIGHTS // n_x)
    m = 2 * PACKED_MIN_ROWS
    X = rng.standard_normal((n_x, m)).astype(dtype)
    Y = np.eye(n_y, dtype=dtype)[:, rng.integers(0, n_y, m)]
    return X, Y, (n_x, n_1, n_y)


def _calls(dtype):
    """Run one tiny call of every entry point that reaches a kernel, in ``dtype``."""
    X, Y, dims = _problem(dtype)
    X_rows = np.ascontiguousarray(X.T)  # one example per row, passed as X_rows.T
    acts = ("tanh", "softmax")
    result = api.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, seed=0)
    api.train(X_rows.T, Y, dims, acts, learning_rate=0.1, batch_size=PACKED_MIN_ROWS, epochs=1, seed=0)
    for data in (X, X_rows.T):
        api.gradients(data, Y, result.parameters, acts)
        api.predict(result.parameters, data, acts)
    # The chapter's functions, one step at a time (nnfast.compiled, section 6.9.2).
    parameters = result.parameters
    AL, cache = compiled.forward_propagation(X, parameters, acts)
    grads = compiled.backward_propagation(parameters, cache, X, Y, acts)
    compiled.update_parameters(parameters, grads, learning_rate=0.1)
    compiled.compute_cost(AL, Y)
    compiled.linear_backward(cache["Z1"], X, parameters["W1"])
    compiled.linear_forward(X, parameters["W1"], parameters["b1"])
    compiled.softmax(X)
    compiled.tanh(X)
    compiled.tanh_derivative(X)


def precompile(dtype):
    """Compile (or load from the cache) every kernel for ``dtype`` ("float32" or
    "float64"). Returns ``(seconds, compiled)``: the time taken, and whether anything
    had to be compiled rather than loaded."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    misses = _cache_misses()
    start = time.perf_counter()
    _calls(dtype)
    return time.perf_counter() - start, _cache_misses() > misses


def _cache_misses():
    """Compiles of nnfast's kernels so far in this process (Numba's cache misses)."""
    return sum(sum(d.stats.cache_misses.values()) for d in _cache.kernel_dispatchers())
