"""Inverted dropout on a block: the kernel twin of ``nnfast._dropout`` (the generator and
its formulas are described there; this computes the same bits).

- forward   D = (u < p),  A_in = A * D / p         ``dropout_forward``
- backward  dZ = dZ * D / p                        ``dropout_backward``

A (the activation itself) is kept as it is: the derivatives of tanh and sigmoid are
computed from it, so the dropped copy A_in, which the next layer reads, goes to a region
of its own. Multiplying dZ = dA * g'(Z) by D / p instead of dA is the same product in
another order (the reference follows the course: dA first).
"""

import numpy as np
from numba import njit

from .._config import JIT, JIT_INLINE
from .._dropout import GOLDEN, MIX1, MIX2

_G, _M1, _M2 = np.uint64(GOLDEN), np.uint64(MIX1), np.uint64(MIX2)
_S30, _S27, _S31, _S11, _ONE = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(1)


@njit(**JIT_INLINE)
def stream(h, c):
    """s(h, c) = mix(h + G·(c + 1)) mod 2^64; h : uint64, c : a non-negative integer."""
    z = h + _G * (np.uint64(c) + _ONE)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**JIT)
def dropout_forward(A, A_in, D, keep, threshold, layer_key, ids):
    """A_in = A * D / keep with D[j, i] = 1 when unit j of example ``ids[i]`` is kept.

    A, A_in, D : (n, rows) of the working dtype (D holds 0 or 1); keep : p in that dtype;
    threshold : uint64, floor(p · 2^53); layer_key : s(s(key, epoch), l); ids : (rows,)
    int64, the examples' columns in X. The loop runs over the examples outside (one hash
    per example, then one per unit).
    """
    n, rows = A.shape
    one, zero = A.dtype.type(1), A.dtype.type(0)
    for i in range(rows):
        h = stream(layer_key, ids[i])
        for j in range(n):
            if (stream(h, j) >> _S11) < threshold:
                D[j, i] = one
                A_in[j, i] = A[j, i] / keep
            else:
                D[j, i] = zero
                A_in[j, i] = zero


@njit(**JIT)
def dropout_backward(dZ, D, keep):
    """dZ = dZ * D / keep, elementwise on flat (n·rows,) views."""
    for q in range(dZ.size):
        dZ[q] = dZ[q] * D[q] / keep
