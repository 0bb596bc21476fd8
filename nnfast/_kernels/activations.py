"""Activation forward and derivative kernels, dispatched on the integer codes of
``nnfast._activations``.

Arrays are 1-D views of C-contiguous blocks (elementwise functions do not care about the
layout) except ``softmax_columns``, which normalises each column of a ``(C, rows)`` block
(one example per column, as in ``dense.py``). The code branch sits outside
each loop so every loop body is a straight-line function of one element.
"""

import numpy as np
from numba import njit

from .._activations import (ARCTAN, BINARY_STEP, BIPOLAR_SIGMOID, LEAKY_RELU, LEAKY_SLOPE, RELU,
                            SIGMOID, SOFTMAX, SOFTPLUS, TANH)
from .._config import JIT, JIT_INLINE
from .mathfast import exp_fast, sigmoid_fast, softplus_fast, tanh_fast
from .views import flat


# Each transcendental has two implementations: the vectorisable ones of mathfast.py
# (``fast``, <= 2 ulp) and NumPy's functions as Numba compiles them (one scalar libm call
# per element). The branch on ``fast`` sits outside each loop: inside, it stopped the
# vectoriser (and passing the function as an argument makes Numba refuse to cache).
# ``one`` carries the dtype so float32 stays float32.


@njit(**JIT_INLINE)
def _sigmoid_libm(x, one):
    # exp(-|x|) <= 1 never overflows; the select picks the accurate branch for each sign.
    e = np.exp(-abs(x))
    s = one / (one + e)
    return s if x >= 0 else e * s


@njit(**JIT_INLINE)
def _softplus_libm(x, zero):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): finite for every finite x. The
    # select keeps softplus(-inf) = 0 (x * 0 would be NaN there) and NaN as NaN.
    return (x if not x <= zero else zero) + np.log1p(np.exp(-abs(x)))


@njit(**JIT_INLINE)
def _bipolar_derivative(e, one, two):
    # The bipolar sigmoid's g'(z) = (1 - g(z)^2)/2 = 2e/(1+e)^2 with e = exp(-|z|). The
    # first form is 0 once g(z) rounds to +-1 (|z| > 37.4 float64, 16.6 float32) though
    # g' is still 2e there: 8.2e-9 at z = -20.
    return two * e / ((one + e) * (one + e))


@njit(**JIT_INLINE)
def _arctan_derivative(x, one):
    # 1/(1 + x^2) without overflowing x^2: for |x| > 1 use r = 1/|x|, r^2 / (1 + r^2).
    t = abs(x)
    r = one / t if t > one else t
    r2 = r * r
    return r2 / (one + r2) if t > one else one / (one + r2)


@njit(**JIT)
def activation_forward(code, z, a, fast):
    """a[i] = g(z[i]) for the elementwise activation ``code``. z, a : 1-D, same length/dtype.
    ``fast``: the vectorisable exp/tanh of ``mathfast`` instead of libm."""
    one, zero = z.dtype.type(1), z.dtype.type(0)
    n = z.size
    if code == SIGMOID and fast:
        for i in range(n):
            a[i] = sigmoid_fast(z[i])
    elif code == SIGMOID:
        for i in range(n):
            a[i] = _sigmoid_libm(z[i], one)
    elif code == TANH and fast:
        for i in range(n):
            a[i] = tanh_fast(z[i])
    elif code == TANH:
        for i in range(n):
            a[i] = np.tanh(z[i])
    elif code == SOFTPLUS and fast:
        for i in range(n):
            a[i] = softplus_fast(z[i])
    elif code == SOFTPLUS:
        for i in range(n):
            a[i] = _softplus_libm(z[i], zero)
    elif code == BIPOLAR_SIGMOID and fast:  # (1 - e^-z) / (1 + e^-z) = tanh(z/2), no cancellation
        half = z.dtype.type(0.5)
        for i in range(n):
            a[i] = tanh_fast(z[i] * half)
    elif code == BIPOLAR_SIGMOID:
        half = z.dtype.type(0.5)
        for i in range(n):
            a[i] = np.tanh(z[i] * half)
    elif code == RELU:  # max(z, 0), with relu(-inf) = 0 and NaN kept (as np.maximum)
        for i in range(n):
            a[i] = z[i] if not z[i] <= zero else zero
    elif code == LEAKY_RELU:
        slope = z.dtype.type(LEAKY_SLOPE)
        for i in range(n):
            a[i] = z[i] if z[i] > 0 else z[i] * slope
    elif code == ARCTAN:
        for i in range(n):
            a[i] = np.arctan(z[i])
    elif code == BINARY_STEP:
        for i in range(n):
            a[i] = one if z[i] > 0 else zero
    else:  # IDENTITY (SOFTMAX is not elementwise: see softmax_columns)
        for i in range(n):
            a[i] = z[i]


@njit(**JIT)
def activation_backward(code, z, a, dz, fast):
    """dz[i] *= g'(z[i]) for the elementwise activation ``code`` (6.39), with a = g(z).

    Uses a where it makes the derivative cheaper (sigmoid: a(1-a), tanh: 1-a^2), as the
    chapter does. z, a, dz : 1-D, same length and dtype. ``fast``: mathfast's exp.
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
    elif code == SOFTPLUS and fast:
        for i in range(n):
            dz[i] *= sigmoid_fast(z[i])
    elif code == SOFTPLUS:
        for i in range(n):
            dz[i] *= _sigmoid_libm(z[i], one)
    elif code == BIPOLAR_SIGMOID and fast:  # 2e/(1+e)^2, e = exp(-|z|): see _bipolar_derivative
        two = z.dtype.type(2)
        for i in range(n):
            dz[i] *= _bipolar_derivative(exp_fast(-abs(z[i])), one, two)
    elif code == BIPOLAR_SIGMOID:
        two = z.dtype.type(2)
        for i in range(n):
            dz[i] *= _bipolar_derivative(np.exp(-abs(z[i])), one, two)
    elif code == ARCTAN:
        for i in range(n):
            dz[i] *= _arctan_derivative(z[i], one)
    elif code == BINARY_STEP:
        for i in range(n):
            dz[i] *= 0
    # IDENTITY: g' = 1, nothing to do.


@njit(**JIT)
def column_max(z, out):
    """out[i] = max_k z[k, i] for a ``(C, rows)`` block, along the examples (vectorises)."""
    z0 = z[0]
    for i in range(z.shape[1]):  # a loop, not out[:] = z[0]: an array assignment compiles
        out[i] = z0[i]           # Numba's shape-mismatch message formatting (~3 s cold)
    for k in range(1, z.shape[0]):
        zk = z[k]
        for i in range(z.shape[1]):
            out[i] = max(out[i], zk[i])
    return out


@njit(**JIT)
def softmax_columns(z, a, tmp, fast):
    """a[:, i] = softmax(z[:, i]) for each column (one example per column), stable: the
    column maximum is subtracted before exp so no exponent is positive (6.54).

    z, a : (C, rows); tmp : (>= 2·rows,) scratch; ``fast``: mathfast's exp (else libm).
    The loops run along the examples (contiguous) so they vectorise; the per-example max
    and sum live in ``tmp``.
    """
    C, rows = z.shape
    zmax = column_max(z, tmp[:rows])
    total = tmp[rows:2 * rows]
    total[:] = 0
    for k in range(C):
        zk = z[k]
        ak = a[k]
        if fast:
            for i in range(rows):
                ak[i] = exp_fast(zk[i] - zmax[i])
        else:
            for i in range(rows):
                ak[i] = np.exp(zk[i] - zmax[i])
        for i in range(rows):
            total[i] += ak[i]
    one = z.dtype.type(1)
    for i in range(rows):
        total[i] = one / total[i]
    for k in range(C):
        ak = a[k]
        for i in range(rows):
            ak[i] *= total[i]


@njit(**JIT)
def output_forward(code, z, a, tmp, fast):
    """The output layer's activation on a ``(n[L], rows)`` block: softmax by columns or elementwise."""
    if code == SOFTMAX:
        softmax_columns(z, a, tmp, fast)
    else:
        activation_forward(code, flat(z), flat(a), fast)
