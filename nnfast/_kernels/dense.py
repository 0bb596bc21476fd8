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
    """
    rows, p = A_prev.shape
    n = Z.shape[1]
    for i in range(rows):
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
    """
    rows, n = dZ.shape
    p = A_prev.shape[1]
    for i in range(rows):
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
