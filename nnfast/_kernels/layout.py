"""Gathers of a block's examples into the workspace, in the layout its first layer's
kernels read: shuffled mini-batches, and the blocks of an X held in the other layout."""

from numba import njit

from .._config import JIT


@njit(**JIT)
def gather_columns(src, idx, r0, r1, dst):
    """dst[:, i - r0] = src[:, idx[i]] for i in [r0, r1).  src : (n, m); dst : (n, r1 - r0)."""
    for k in range(src.shape[0]):
        s = src[k]
        d = dst[k]
        for i in range(r0, r1):
            d[i - r0] = s[idx[i]]


@njit(**JIT)
def gather_columns_of_rows(src, idx, r0, r1, dst):
    """dst[:, i - r0] = src[idx[i], :] for i in [r0, r1): examples held as rows, gathered
    into the chapter's layout.  src : (m, n); dst : (n, r1 - r0)."""
    for i in range(r0, r1):
        s = src[idx[i]]
        for k in range(s.size):
            dst[k, i - r0] = s[k]


@njit(**JIT)
def gather(src, src_rows, idx, r0, r1, dst):
    """The examples idx[r0:r1] of X into a block ``dst (n, r1 - r0)``: ``src`` holds one
    example per row ``(m, n)`` if ``src_rows`` else per column ``(n, m)``."""
    if src_rows:
        gather_columns_of_rows(src, idx, r0, r1, dst)
    else:
        gather_columns(src, idx, r0, r1, dst)
