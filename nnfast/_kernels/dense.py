"""The dense layer on a block of examples stored one per row.

In the chapter's layout a block is ``A (n[l-1], rows)`` and the layer is
``Z = W·A + b`` (6.22.a). The kernels store the transpose — one example per row — so that
every inner loop below runs over a contiguous row with no reduction in it (an "axpy"),
which LLVM vectorises without reassociating sums:

- forward   Z[i, :]  = b + Σ_k A_prev[i, k] · Wᵀ[k, :]      (Wᵀ is kept beside W)
- backward  dW[j, :] += Σ_i dZ[i, j] · A_prev[i, :]          (6.36, 6.40; sums, not means)
            db[j]    += Σ_i dZ[i, j]                          (6.37, 6.41)
            dA_prev[i, :] = Σ_j dZ[i, j] · W[j, :]           (6.38: (Wᵀ·dZ)ᵀ)

Rows are taken as 1-D views before each inner loop: an index like ``A[i, k0 + kk]``
carries a negative-index check that stops the vectoriser.
"""

from numba import njit

from .._config import JIT


@njit(**JIT)
def dense_forward(A_prev, WT, b, Z):
    """Z = A_prev·Wᵀ + b for a block.

    A_prev : (rows, n[l-1]); WT : (n[l-1], n[l]); b : (n[l],); Z : (rows, n[l]) output.
    Four rows at a time, so each row of Wᵀ is loaded once per four examples.
    """
    rows, p = A_prev.shape
    n = Z.shape[1]
    i = 0
    while i + 4 <= rows:
        z0, z1, z2, z3 = Z[i], Z[i + 1], Z[i + 2], Z[i + 3]
        a0, a1, a2, a3 = A_prev[i], A_prev[i + 1], A_prev[i + 2], A_prev[i + 3]
        for j in range(n):
            z0[j] = b[j]
            z1[j] = b[j]
            z2[j] = b[j]
            z3[j] = b[j]
        for k in range(p):
            wk = WT[k]
            c0, c1, c2, c3 = a0[k], a1[k], a2[k], a3[k]
            for j in range(n):
                w = wk[j]
                z0[j] += c0 * w
                z1[j] += c1 * w
                z2[j] += c2 * w
                z3[j] += c3 * w
        i += 4
    for i in range(i, rows):
        zi = Z[i]
        ai = A_prev[i]
        for j in range(n):
            zi[j] = b[j]
        for k in range(p):
            aik = ai[k]
            wk = WT[k]
            for j in range(n):
                zi[j] += aik * wk[j]


@njit(**JIT)
def dense_backward_params(dZ, A_prev, dW, db):
    """dW += dZᵀ·A_prev and db += column sums of dZ (sums over the block; the caller divides by m).

    dZ : (rows, n[l]); A_prev : (rows, n[l-1]); dW : (n[l], n[l-1]); db : (n[l],).
    Four rows at a time, so each row of dW is loaded and stored once per four examples.
    """
    rows, n = dZ.shape
    p = A_prev.shape[1]
    i = 0
    while i + 4 <= rows:
        a0, a1, a2, a3 = A_prev[i], A_prev[i + 1], A_prev[i + 2], A_prev[i + 3]
        for j in range(n):
            d0, d1, d2, d3 = dZ[i, j], dZ[i + 1, j], dZ[i + 2, j], dZ[i + 3, j]
            dwj = dW[j]
            for k in range(p):
                dwj[k] += d0 * a0[k] + d1 * a1[k] + d2 * a2[k] + d3 * a3[k]
            db[j] += d0 + d1 + d2 + d3
        i += 4
    for i in range(i, rows):
        dzi = dZ[i]
        ai = A_prev[i]
        for j in range(n):
            d = dzi[j]
            dwj = dW[j]
            for k in range(p):
                dwj[k] += d * ai[k]
            db[j] += d


@njit(**JIT)
def dense_backward_input(dZ, W, dA_prev):
    """dA_prev = dZ·W, the gradient flowing to the previous layer's activations.

    dZ : (rows, n[l]); W : (n[l], n[l-1]); dA_prev : (rows, n[l-1]) output.
    """
    rows, n = dZ.shape
    p = W.shape[1]
    for i in range(rows):
        dai = dA_prev[i]
        dzi = dZ[i]
        for k in range(p):
            dai[k] = 0
        for j in range(n):
            d = dzi[j]
            wj = W[j]
            for k in range(p):
                dai[k] += d * wj[k]
