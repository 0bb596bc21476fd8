"""The three costs, summed over a block of examples stored one per row.

Each returns the *sum* of the per-example losses as float64 (the caller divides by m):
a scalar accumulator costs nothing, and float64 keeps a float32 run's reported cost from
drifting over 60,000 terms.
"""

import numpy as np
from numba import njit

from .._activations import SIGMOID, SOFTMAX
from .._config import JIT


@njit(**JIT)
def cost_sum_from_logits(code, Z, A, Y):
    """Σ L(a, y) over a block, from the logits where that is exact.

    sigmoid: softplus(z) - y·z, which is -y log a - (1-y) log(1-a)  (6.33) and finite
    for any finite z; softmax: Σ_k y_k (logsumexp(z) - z_k) = -Σ_k y_k log a_k  (6.55.a);
    identity: ½ Σ (a - y)².  Z, A, Y : (rows, n[L]).
    """
    rows, n = Z.shape
    total = 0.0
    if code == SIGMOID:
        for i in range(rows):
            for j in range(n):
                z = np.float64(Z[i, j])
                total += max(z, 0.0) + np.log1p(np.exp(-abs(z))) - Y[i, j] * z
    elif code == SOFTMAX:
        for i in range(rows):
            zi = Z[i]
            zmax = np.float64(zi[0])
            for j in range(1, n):
                zmax = max(zmax, np.float64(zi[j]))
            s = 0.0
            for j in range(n):
                s += np.exp(np.float64(zi[j]) - zmax)
            lse = zmax + np.log(s)
            for j in range(n):
                total += Y[i, j] * (lse - zi[j])
    else:
        for i in range(rows):
            for j in range(n):
                d = np.float64(A[i, j]) - Y[i, j]
                total += 0.5 * d * d
    return total


@njit(**JIT)
def cost_sum_from_probabilities(A, Y, binary):
    """-Σ [y log a + (1-y) log(1-a)] (binary, 6.12) or -Σ y log a (categorical, 6.55.b)
    over a block, with the argument of each log clamped at the smallest normal number so
    a probability that rounded to 0 or 1 costs a large finite amount instead of infinity.
    A, Y : (rows, n).
    """
    tiny = np.finfo(A.dtype).tiny
    rows, n = A.shape
    total = 0.0
    for i in range(rows):
        for j in range(n):
            a = A[i, j]
            total -= Y[i, j] * np.log(max(a, tiny))
            if binary:
                total -= (1 - Y[i, j]) * np.log(max(1 - a, tiny))
    return total
