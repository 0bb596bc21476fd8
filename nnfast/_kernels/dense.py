"""The dense layer on a block of examples, in the chapter's layout (one example per column).

A block of ``rows`` examples is ``A (n[l-1], rows)``: each row of a block is contiguous,
so the loops over examples are the innermost ones and LLVM vectorises them. Every kernel
works on several output rows at once so that each input row is loaded once per group
(register blocking); the leftover rows go through the same code one at a time.

- forward   Z = W·A_prev + b                   (6.22.a)   ``dense_forward``
- backward  dW += dZ·A_prevᵀ,  db += Σ_i dZ     (6.36, 6.37, 6.40, 6.41: sums, not means)
                                                          ``dense_backward_params``
            dA_prev = Wᵀ·dZ                     (6.38)     ``dense_backward_input``

These serve the small layers (the chapter's 2-4-1 and 64-32-10); layers with more weights
than ``_config.PACKED_MIN_WEIGHTS`` go through ``gemm.py`` instead.

The dot-product kernels compile with ``JIT_REDUCE`` (``reassoc``), which lets LLVM keep
several partial sums per dot product in one vector register; the sums are then added in a
different order than a strict left-to-right loop would (same result on every run).
"""

import numpy as np
from numba import njit

from .._config import JIT, JIT_INLINE, JIT_REDUCE

# Non-literal flags: a literal True or False at a call site would compile the callee
# once for each value.
_W, _W_T = np.bool_(False), np.bool_(True)

#: Columns of ``_add_products`` per pass, in bytes: four rows of C and four of B then
#: take 32 KB, and stay in L1 while every row of B goes by.
_TILE_BYTES = 4096


@njit(**JIT_INLINE)
def _coef(W, transposed, j, k):
    """M[j, k] where M is W or, ``transposed``, Wᵀ."""
    return W[k, j] if transposed else W[j, k]


@njit(**JIT_INLINE)
def _coefs(W, transposed, j, k):
    """M[j, k:k+4] (M as in ``_coef``)."""
    return (_coef(W, transposed, j, k), _coef(W, transposed, j, k + 1), _coef(W, transposed, j, k + 2),
            _coef(W, transposed, j, k + 3))


@njit(**JIT)
def _add_products_columns(W, transposed, B, C, i0, i1):
    """``_add_products`` on columns i0..i1-1 of B and C."""
    r, p = (W.shape[1], W.shape[0]) if transposed else (W.shape[0], W.shape[1])
    n = i1 - i0
    j = 0
    while j + 4 <= r:
        c0, c1, c2, c3 = C[j][i0:i1], C[j + 1][i0:i1], C[j + 2][i0:i1], C[j + 3][i0:i1]
        k = 0
        while k + 4 <= p:
            b0, b1, b2, b3 = B[k][i0:i1], B[k + 1][i0:i1], B[k + 2][i0:i1], B[k + 3][i0:i1]
            m00, m01, m02, m03 = _coefs(W, transposed, j, k)
            m10, m11, m12, m13 = _coefs(W, transposed, j + 1, k)
            m20, m21, m22, m23 = _coefs(W, transposed, j + 2, k)
            m30, m31, m32, m33 = _coefs(W, transposed, j + 3, k)
            for i in range(n):
                x0, x1, x2, x3 = b0[i], b1[i], b2[i], b3[i]
                c0[i] += m00 * x0 + m01 * x1 + m02 * x2 + m03 * x3
                c1[i] += m10 * x0 + m11 * x1 + m12 * x2 + m13 * x3
                c2[i] += m20 * x0 + m21 * x1 + m22 * x2 + m23 * x3
                c3[i] += m30 * x0 + m31 * x1 + m32 * x2 + m33 * x3
            k += 4
        for k in range(k, p):  # the last inputs, one at a time
            x = B[k][i0:i1]
            m0, m1 = _coef(W, transposed, j, k), _coef(W, transposed, j + 1, k)
            m2, m3 = _coef(W, transposed, j + 2, k), _coef(W, transposed, j + 3, k)
            for i in range(n):
                c0[i] += m0 * x[i]
                c1[i] += m1 * x[i]
                c2[i] += m2 * x[i]
                c3[i] += m3 * x[i]
        j += 4
    for j in range(j, r):  # the last rows of C, one at a time, four inputs per pass
        c = C[j][i0:i1]
        k = 0
        while k + 4 <= p:
            b0, b1, b2, b3 = B[k][i0:i1], B[k + 1][i0:i1], B[k + 2][i0:i1], B[k + 3][i0:i1]
            m0, m1, m2, m3 = _coefs(W, transposed, j, k)
            for i in range(n):
                c[i] += m0 * b0[i] + m1 * b1[i] + m2 * b2[i] + m3 * b3[i]
            k += 4
        for k in range(k, p):
            x = B[k][i0:i1]
            m = _coef(W, transposed, j, k)
            for i in range(n):
                c[i] += m * x[i]


@njit(**JIT)
def _add_products(W, transposed, B, C):
    """C += M·B with M = W or, ``transposed``, Wᵀ (one compiled kernel for both: W is read
    one coefficient at a time outside the inner loop, so the layout costs nothing there);
    the inner loop runs along the contiguous rows of B and C, four × four at a time.

    W : (r, p), or (p, r) if transposed; B : (p, q); C : (r, q). Used for Z = W·A (+ b)
    and dA_prev = Wᵀ·dZ. Each pass of
    the inner loop reads four rows of B and updates four rows of C with sixteen
    multiply-adds, so a row of C is loaded and stored once per four of B: one store per
    four FMAs (one per FMA, as in a one-input loop, ran at half the FMA rate: measured 12.6
    vs 30+ GFLOP/s on 32×64 blocks of 256 examples). Long rows go in tiles of
    ``_TILE_BYTES`` so that the four rows of C stay in L1 while every row of B passes
    (25 × 784 × 64 float64: 107 µs untiled, 73 µs tiled).
    """
    q = B.shape[1]
    step = _TILE_BYTES // B.itemsize
    for i0 in range(0, q, step):
        _add_products_columns(W, transposed, B, C, i0, min(i0 + step, q))


@njit(**JIT)
def dense_forward(W, b, A_prev, Z):
    """Z = W·A_prev + b for a block.

    W : (n, p); b : (n,); A_prev : (p, rows); Z : (n, rows) output.
    """
    for j in range(W.shape[0]):
        Z[j, :] = b[j]
    _add_products(W, _W, A_prev, Z)


@njit(**JIT_REDUCE)
def add_row_sums(dZ, db):
    """db += Σ_i dZ[:, i], the bias gradient's sum over a block (6.37, 6.41).

    dZ : (n, rows); db : (n,). ``reassoc`` lets each row's sum use vector lanes."""
    for j in range(dZ.shape[0]):
        d = dZ[j]
        s = db.dtype.type(0)
        for i in range(d.size):
            s += d[i]
        db[j] += s


@njit(**JIT_REDUCE)
def dense_backward_params(dZ, A_prev, dW, db):
    """dW += dZ·A_prevᵀ and db += Σ_i dZ[:, i] (sums over the block; the caller divides by m).

    dZ : (n, rows); A_prev : (p, rows); dW : (n, p); db : (n,). Dot products over the
    examples, four outputs × two inputs at a time.
    """
    n, p = dW.shape
    rows = dZ.shape[1]
    zero = dW.dtype.type(0)
    add_row_sums(dZ, db)
    j = 0
    while j + 4 <= n:
        d0, d1, d2, d3 = dZ[j], dZ[j + 1], dZ[j + 2], dZ[j + 3]
        k = 0
        while k + 2 <= p:
            xa, xb = A_prev[k], A_prev[k + 1]
            s0a = s0b = s1a = s1b = s2a = s2b = s3a = s3b = zero
            for i in range(rows):
                a, c = xa[i], xb[i]
                s0a += d0[i] * a
                s0b += d0[i] * c
                s1a += d1[i] * a
                s1b += d1[i] * c
                s2a += d2[i] * a
                s2b += d2[i] * c
                s3a += d3[i] * a
                s3b += d3[i] * c
            dW[j, k] += s0a
            dW[j, k + 1] += s0b
            dW[j + 1, k] += s1a
            dW[j + 1, k + 1] += s1b
            dW[j + 2, k] += s2a
            dW[j + 2, k + 1] += s2b
            dW[j + 3, k] += s3a
            dW[j + 3, k + 1] += s3b
            k += 2
        for k in range(k, p):
            for r in range(j, j + 4):
                _dot_add(dZ[r], A_prev[k], dW, r, k)
        j += 4
    for j in range(j, n):
        for k in range(p):
            _dot_add(dZ[j], A_prev[k], dW, j, k)


@njit(**JIT_REDUCE)
def _dot_add(d, x, dW, j, k):
    s = dW.dtype.type(0)
    for i in range(d.size):
        s += d[i] * x[i]
    dW[j, k] += s


@njit(**JIT)
def dense_backward_input(W, dZ, dA_prev):
    """dA_prev = Wᵀ·dZ, the gradient flowing to the previous layer's activations.

    W : (n, p); dZ : (n, rows); dA_prev : (p, rows) output.
    """
    dA_prev[:] = 0
    _add_products(W, _W_T, dZ, dA_prev)
