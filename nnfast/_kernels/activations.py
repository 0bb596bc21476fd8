"""Activation forward and derivative kernels, dispatched on the integer codes of
``nnfast._activations``.

Arrays are 1-D views of C-contiguous blocks (elementwise functions do not care about the
layout) except ``softmax_columns``, which normalises each column of a ``(C, rows)`` block
(one example per column, as in ``dense.py``). The code branch sits outside
each loop so every loop body is a straight-line function of one element.
"""

import numpy as np
from numba import njit

from .._activations import (ARCTAN, BINARY_STEP, BIPOLAR_SIGMOID, IDENTITY, LEAKY_RELU,
                            LEAKY_SLOPE, RELU, SIGMOID, SOFTMAX, SOFTPLUS, TANH)
from .._config import JIT


@njit(**JIT)
def _sigmoid(x, one):
    # exp(-|x|) <= 1 never overflows; the select picks the accurate branch for each sign.
    e = np.exp(-abs(x))
    s = one / (one + e)
    return s if x >= 0 else e * s


@njit(**JIT)
def _softplus(x, one):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): finite for every finite x.
    return max(x, x * 0) + np.log1p(np.exp(-abs(x)))


@njit(**JIT)
def _bipolar_sigmoid(x, one):
    # (1 - e^-x) / (1 + e^-x) evaluated at |x| (no overflow) and mirrored: it is odd.
    e = np.exp(-abs(x))
    y = (one - e) / (one + e)
    return y if x >= 0 else -y


@njit(**JIT)
def _arctan_derivative(x, one):
    # 1/(1 + x^2) without overflowing x^2: for |x| > 1 use r = 1/|x|, r^2 / (1 + r^2).
    a = abs(x)
    r = one / a if a > one else a
    r2 = r * r
    return r2 / (one + r2) if a > one else one / (one + r2)


@njit(**JIT)
def activation_forward(code, z, a):
    """a[i] = g(z[i]) for the elementwise activation ``code``. z, a : 1-D, same length/dtype."""
    one = z.dtype.type(1)
    n = z.size
    if code == SIGMOID:
        for i in range(n):
            a[i] = _sigmoid(z[i], one)
    elif code == TANH:
        for i in range(n):
            a[i] = np.tanh(z[i])
    elif code == RELU:
        for i in range(n):
            a[i] = z[i] if z[i] > 0 else z[i] * 0
    elif code == LEAKY_RELU:
        slope = z.dtype.type(LEAKY_SLOPE)
        for i in range(n):
            a[i] = z[i] if z[i] > 0 else z[i] * slope
    elif code == SOFTPLUS:
        for i in range(n):
            a[i] = _softplus(z[i], one)
    elif code == BIPOLAR_SIGMOID:
        for i in range(n):
            a[i] = _bipolar_sigmoid(z[i], one)
    elif code == ARCTAN:
        for i in range(n):
            a[i] = np.arctan(z[i])
    elif code == BINARY_STEP:
        for i in range(n):
            a[i] = one if z[i] > 0 else one * 0
    else:  # IDENTITY (SOFTMAX is not elementwise: see softmax_columns)
        for i in range(n):
            a[i] = z[i]


@njit(**JIT)
def activation_backward(code, z, a, dz):
    """dz[i] *= g'(z[i]) for the elementwise activation ``code`` (6.39), with a = g(z).

    Uses a where it makes the derivative cheaper (sigmoid: a(1-a), tanh: 1-a^2,
    bipolar sigmoid: (1-a^2)/2). z, a, dz : 1-D, same length and dtype.
    """
    one = z.dtype.type(1)
    n = z.size
    if code == SIGMOID:
        for i in range(n):
            dz[i] *= a[i] * (one - a[i])
    elif code == TANH:
        for i in range(n):
            dz[i] *= one - a[i] * a[i]
    elif code == RELU:
        for i in range(n):
            dz[i] = dz[i] if z[i] > 0 else dz[i] * 0
    elif code == LEAKY_RELU:
        slope = z.dtype.type(LEAKY_SLOPE)
        for i in range(n):
            dz[i] = dz[i] if z[i] > 0 else dz[i] * slope
    elif code == SOFTPLUS:
        for i in range(n):
            dz[i] *= _sigmoid(z[i], one)
    elif code == BIPOLAR_SIGMOID:
        half = z.dtype.type(0.5)
        for i in range(n):
            dz[i] *= half * (one - a[i] * a[i])
    elif code == ARCTAN:
        for i in range(n):
            dz[i] *= _arctan_derivative(z[i], one)
    elif code == BINARY_STEP:
        for i in range(n):
            dz[i] *= 0
    # IDENTITY: g' = 1, nothing to do.


@njit(**JIT)
def softmax_columns(z, a, tmp):
    """a[:, i] = softmax(z[:, i]) for each column (one example per column), stable: the
    column maximum is subtracted before exp so no exponent is positive (6.54).

    z, a : (C, rows); tmp : (>= 2·rows,) scratch. The loops run along the examples
    (contiguous) so they vectorise; the per-example max and sum live in ``tmp``.
    """
    C, rows = z.shape
    zmax = tmp[:rows]
    total = tmp[rows:2 * rows]
    for i in range(rows):
        zmax[i] = z[0, i]
        total[i] = 0
    for k in range(1, C):
        zk = z[k]
        for i in range(rows):
            zmax[i] = max(zmax[i], zk[i])
    for k in range(C):
        zk = z[k]
        ak = a[k]
        for i in range(rows):
            ak[i] = np.exp(zk[i] - zmax[i])
            total[i] += ak[i]
    one = z.dtype.type(1)
    for i in range(rows):
        total[i] = one / total[i]
    for k in range(C):
        ak = a[k]
        for i in range(rows):
            ak[i] *= total[i]


@njit(**JIT)
def output_forward(code, z, a, tmp):
    """The output layer's activation on a ``(n[L], rows)`` block: softmax by columns or elementwise."""
    if code == SOFTMAX:
        softmax_columns(z, a, tmp)
    else:
        activation_forward(code, z.reshape(z.size), a.reshape(a.size))
