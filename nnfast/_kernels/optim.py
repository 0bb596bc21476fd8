"""The optimizers' update of one slice of the flat parameters (``nnfast/optimizers.py``
has the rules, their defaults and the NumPy twin ``optimizers.step``, which this follows
operation for operation).

``opt = (code, hyper, state, steps, l2, clip, norms)``: ``code`` one of
``optimizers.*_CODE``; ``hyper`` float64 ``[β1 or μ or α_s, β2, ε, weight decay]``;
``state`` ``(k, θ.size)`` in θ's dtype, the optimizer's buffers (k = 0, 1 or 2);
``steps`` int64 ``[updates so far]``; ``l2`` the L2 penalty λ; ``clip`` the largest
gradient norm (0: no clipping); ``norms`` float64 ``(n_threads,)`` scratch.
"""

import math

import numpy as np
from numba import njit

from .._config import JIT

# The codes of nnfast.optimizers (int64 constants, not literals: see gemm.py).
SGD, MOMENTUM, NESTEROV, RMSPROP, ADAM, ADAMW = (np.int64(c) for c in range(6))


@njit(**JIT)
def optimizer_step(code, hyper, theta, g, state, q0, q1, t, lr):
    """θ[q0:q1] updated in place from the mean gradient ``g[q0:q1]`` (flat buffers of one
    dtype); ``state`` ``(k, θ.size)``: the optimizer's buffers, updated over the same
    slice; t : the number of this update (from 1); lr : α."""
    th, gg = theta[q0:q1], g[q0:q1]
    alpha = theta.dtype.type(lr)
    n = th.size
    if code == SGD:
        for q in range(n):
            th[q] -= alpha * gg[q]
    elif code == MOMENTUM or code == NESTEROV:
        mu = theta.dtype.type(hyper[0])
        v = state[0][q0:q1]
        for q in range(n):
            v[q] = v[q] * mu + gg[q]
        if code == NESTEROV:
            for q in range(n):
                th[q] -= alpha * (gg[q] + mu * v[q])
        else:
            for q in range(n):
                th[q] -= alpha * v[q]
    elif code == RMSPROP:
        a = theta.dtype.type(hyper[0])
        rest = theta.dtype.type(1 - hyper[0])
        eps = theta.dtype.type(hyper[2])
        s = state[0][q0:q1]
        for q in range(n):
            s[q] = s[q] * a + rest * (gg[q] * gg[q])
            th[q] -= alpha * (gg[q] / (math.sqrt(s[q]) + eps))
    else:  # ADAM, ADAMW
        if code == ADAMW:
            decay = theta.dtype.type(1 - lr * hyper[3])
            for q in range(n):
                th[q] *= decay
        b1 = theta.dtype.type(1 - hyper[0])
        b2 = theta.dtype.type(hyper[1])
        rest2 = theta.dtype.type(1 - hyper[1])
        eps = theta.dtype.type(hyper[2])
        step_size = theta.dtype.type(lr / (1 - hyper[0] ** t))
        root = theta.dtype.type(math.sqrt(1 - hyper[1] ** t))
        m, v = state[0][q0:q1], state[1][q0:q1]
        for q in range(n):
            m[q] += b1 * (gg[q] - m[q])
            v[q] = v[q] * b2 + rest2 * (gg[q] * gg[q])
            th[q] -= step_size * (m[q] / (math.sqrt(v[q]) / root + eps))


@njit(**JIT)
def add_l2(g, theta, net, q0, q1, scale):
    """g[q] += scale·θ[q] over the weights (not the biases) of θ[q0:q1] — the gradient of
    (λ/2m)·Σ‖W[l]‖² with scale = λ/m; scale = 0 leaves g alone. Returns Σ W² over those
    weights (the penalty's share of the cost)."""
    dims, w_off = net[0], net[1]
    squares = 0.0
    for l in range(1, dims.size):
        lo = max(q0, w_off[l])
        hi = min(q1, w_off[l] + dims[l] * dims[l - 1])
        for q in range(lo, hi):
            squares += theta[q] * theta[q]
            if scale != 0:
                g[q] += scale * theta[q]
    return squares
