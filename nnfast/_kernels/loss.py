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
from .mathfast import exp_fast, log_fast, softplus_fast


@njit(**JIT_REDUCE)
def _total(v):
    """Σ v[i] in float64. ``reassoc`` lets LLVM keep partial sums in vector lanes: a
    strictly sequential float64 sum waits four cycles per term (measured: half the time of
    a softmax cost on 10 × 256 blocks)."""
    s = 0.0
    for i in range(v.size):
        s += np.float64(v[i])
    return s


@njit(**JIT)
def cost_sum_from_logits(code, Z, A, Y, tmp, fast):
    """Σ L(a, y) over a block, from the logits where that is exact.

    sigmoid: softplus(z) - y·z, which is -y log a - (1-y) log(1-a)  (6.33) and finite
    for any finite z; softmax: Σ_k y_k (logsumexp(z) - z_k) = -Σ_k y_k log a_k  (6.55.a);
    identity: ½ Σ (a - y)².  Z, A, Y : (n[L], rows), one example per column;
    tmp : (>= 2·rows,) scratch for softmax's per-example max and sum. ``fast``: the
    vectorisable exp/log of ``mathfast`` instead of libm.
    """
    C, rows = Z.shape
    total = 0.0
    if code == SIGMOID:
        # Per-example losses go to tmp first: a loop that also accumulates the float64
        # total does not vectorise, and softplus is then 10x slower per element.
        loss = tmp[:rows]
        for k in range(C):
            z, y = Z[k], Y[k]
            if fast:
                for i in range(rows):
                    loss[i] = softplus_fast(z[i]) - y[i] * z[i]
            else:
                zero = Z.dtype.type(0)
                for i in range(rows):
                    loss[i] = _softplus_libm(z[i], zero) - y[i] * z[i]
            total += _total(loss)
    elif code == SOFTMAX:
        zmax = column_max(Z, tmp[:rows])
        lse = tmp[rows:2 * rows]
        lse[:] = 0
        for k in range(C):
            if fast:
                for i in range(rows):
                    lse[i] += exp_fast(Z[k, i] - zmax[i])
            else:
                for i in range(rows):
                    lse[i] += np.exp(Z[k, i] - zmax[i])
        if fast:  # the sum is >= 1: its log is finite
            for i in range(rows):
                lse[i] = zmax[i] + log_fast(lse[i])
        else:
            for i in range(rows):
                lse[i] = zmax[i] + np.log(lse[i])
        loss = zmax  # no longer needed: the per-example losses go there
        loss[:] = 0
        zero = Z.dtype.type(0)
        for k in range(C):
            z, y = Z[k], Y[k]
            # Only the labelled class counts: lse - z of another class can overflow to inf
            # when the logits span more than the float range, and 0 * inf would be NaN.
            for i in range(rows):
                loss[i] += y[i] * (lse[i] - z[i]) if y[i] != 0 else zero
        total = _total(loss)
    else:
        half = A.dtype.type(0.5)
        loss = tmp[:rows]
        for k in range(C):
            a, y = A[k], Y[k]
            for i in range(rows):
                loss[i] = half * (a[i] - y[i]) * (a[i] - y[i])
            total += _total(loss)
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
