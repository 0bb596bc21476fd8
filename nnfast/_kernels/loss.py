"""The three costs, summed over a block of examples (one per column).

Each returns the *sum* of the per-example losses as float64 (the caller divides by m):
a scalar accumulator costs nothing, and float64 keeps a float32 run's reported cost from
drifting over 60,000 terms.
"""

import numpy as np
from numba import njit

from .._activations import SIGMOID, SOFTMAX
from .._config import JIT, JIT_REDUCE
from .activations import _softplus_libm, column_max
from .mathfast import exp_fast, log1p_fast, softplus_fast


@njit(**JIT_REDUCE)
def _total(v, w):
    """Σ v[i] in float64, or Σ w[i]·v[i] when ``w`` (the examples' weights) is not empty.
    ``reassoc`` lets LLVM keep partial sums in vector lanes: a strictly sequential float64
    sum waits four cycles per term (measured: half the time of a softmax cost on 10 × 256
    blocks)."""
    s = 0.0
    if w.size:
        for i in range(v.size):
            s += np.float64(v[i]) * np.float64(w[i])
    else:
        for i in range(v.size):
            s += np.float64(v[i])
    return s


@njit(**JIT)
def cost_sum_from_logits(code, Z, A, Y, tmp, fast, w):
    """Σ L(a, y) over a block, from the logits, accurate even where the loss is tiny —
    Σ w_i·L_i with the examples' weights ``w`` (rows,), unweighted when it is empty.

    sigmoid (6.33): -y log a - (1-y) log(1-a) = softplus(z) for y = 0 and softplus(-z) for
    y = 1, finite for any finite z. softmax (6.55.a): -log a_k = lse(z) - z_k for the
    labelled class k. identity: ½ Σ (a - y)². Labels are 0/1 (sigmoid) and one-hot
    columns (softmax), as the callers check. Z, A, Y : (n[L], rows), one example per
    column; tmp : (>= 3·rows,) scratch. ``fast``: mathfast's exp/log instead of libm.

    The textbook forms softplus(z) - y·z and lse - z_k subtract two nearly equal numbers
    when the prediction is confidently right: a loss of 4e-18 came out as 0 (float64) and
    4.5399e-5 as 4.5776e-5 (float32). The forms here have no such subtraction.
    """
    C, rows = Z.shape
    zero = Z.dtype.type(0)
    total = 0.0
    if code == SIGMOID:
        # Per-example losses go to tmp first: a loop that also accumulates the float64
        # total does not vectorise, and softplus is then 10x slower per element.
        loss = tmp[:rows]
        for k in range(C):
            z, y = Z[k], Y[k]
            if fast:
                for i in range(rows):
                    loss[i] = softplus_fast(z[i] if y[i] == 0 else -z[i])
            else:
                for i in range(rows):
                    loss[i] = _softplus_libm(z[i] if y[i] == 0 else -z[i], zero)
            total += _total(loss, w)
    elif code == SOFTMAX:
        # lse - z_k = d + log(u + e^-d), d = zmax - z_k >= 0, u = Σ_{j != k} e^(z_j - zmax);
        # written log1p(u + (e^-d - 1)): for d = 0 that is log1p(u), exact however small u
        # is; for d > 0, u >= 1 (the maximum is another class), so nothing cancels.
        zmax = column_max(Z, tmp[:rows])
        u = tmp[rows:2 * rows]
        zk = tmp[2 * rows:3 * rows]
        u[:] = 0
        zk[:] = 0
        for k in range(C):
            z, y = Z[k], Y[k]
            if fast:
                for i in range(rows):
                    u[i] += exp_fast(z[i] - zmax[i]) if y[i] == 0 else zero
            else:
                for i in range(rows):
                    u[i] += np.exp(z[i] - zmax[i]) if y[i] == 0 else zero
            for i in range(rows):
                zk[i] += z[i] if y[i] != 0 else zero  # the labelled logit (one-hot)
        one = Z.dtype.type(1)
        loss = zmax  # each element is read before it is overwritten
        if fast:
            for i in range(rows):
                d = zmax[i] - zk[i]
                loss[i] = d + log1p_fast(u[i] + (exp_fast(-d) - one))
        else:
            for i in range(rows):
                d = zmax[i] - zk[i]
                loss[i] = d + np.log1p(u[i] + (np.exp(-d) - one))
        total = _total(loss, w)
    else:
        half = A.dtype.type(0.5)
        loss = tmp[:rows]
        for k in range(C):
            a, y = A[k], Y[k]
            for i in range(rows):
                loss[i] = half * (a[i] - y[i]) * (a[i] - y[i])
            total += _total(loss, w)
    return total


@njit(**JIT)
def cost_sum_from_probabilities(A, Y, binary):
    """-Σ [y log a + (1-y) log(1-a)] (binary, 6.12) or -Σ y log a (categorical, 6.55.b)
    over all elements, with the argument of each log clamped at the smallest normal number
    so a probability that rounded to 0 or 1 costs a large finite amount instead of
    infinity. A, Y : 1-D, the same length (any layout, flattened).
    """
    tiny = np.finfo(A.dtype).tiny
    total = 0.0
    for q in range(A.size):
        total -= Y[q] * np.log(max(A[q], tiny))
        if binary:
            total -= (1 - Y[q]) * np.log(max(1 - A[q], tiny))
    return total
