"""Copies between the chapter's layout (one example per column) and the kernels' blocks."""

from numba import njit, prange

from .._config import JIT, JIT_PARALLEL

#: Side of the square tiles of ``transpose_into``: a 32×32 tile of float64 is 8 KB, so the
#: tile's source rows and destination rows stay in L1 while it is copied.
_TILE = 32


@njit(**JIT_PARALLEL)
def transpose_into(src, dst):
    """dst = srcᵀ, tile by tile, the tiles of each band of dst rows on one thread.

    src : (n, m); dst : (m, n), C-contiguous, any float dtype (converted on assignment).
    Used once per training run for a wide X (``XT``, one example per row): measured
    78 ms with the allocation for 784 × 60000 float64 on two threads, against 141 ms for
    ``np.ascontiguousarray(X.T)``, whose element-by-element strided reads miss the cache.
    """
    n, m = src.shape
    for t in prange((m + _TILE - 1) // _TILE):
        i0 = t * _TILE
        i1 = min(i0 + _TILE, m)
        for k0 in range(0, n, _TILE):
            k1 = min(k0 + _TILE, n)
            for i in range(i0, i1):
                d = dst[i]
                for k in range(k0, k1):
                    d[k] = src[k, i]


@njit(**JIT)
def gather_columns(src, idx, r0, r1, dst):
    """dst[:, i - r0] = src[:, idx[i]] for i in [r0, r1).  src : (n, m); dst : (n, r1 - r0)."""
    for k in range(src.shape[0]):
        s = src[k]
        d = dst[k]
        for i in range(r0, r1):
            d[i - r0] = s[idx[i]]


@njit(**JIT)
def gather_rows(src, idx, r0, r1, dst):
    """dst[i - r0, :] = src[idx[i], :] for i in [r0, r1).  src : (m, n); dst : (r1 - r0, n)."""
    for i in range(r0, r1):
        s = src[idx[i]]
        d = dst[i - r0]
        for k in range(s.size):
            d[k] = s[k]
