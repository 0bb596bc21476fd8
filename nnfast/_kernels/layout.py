"""Gathers of a batch's examples into a block of the workspace (shuffled mini-batches; an X
with one example per row whose first layer is small)."""

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
def gather_rows(src, idx, r0, r1, dst):
    """dst[i - r0, :] = src[idx[i], :] for i in [r0, r1).  src : (m, n); dst : (r1 - r0, n)."""
    for i in range(r0, r1):
        s = src[idx[i]]
        d = dst[i - r0]
        for k in range(s.size):
            d[k] = s[k]


@njit(**JIT)
def gather_columns_of_rows(src, idx, r0, r1, dst):
    """dst[:, i - r0] = src[idx[i], :] for i in [r0, r1): examples held as rows, gathered
    into the chapter's layout.  src : (m, n); dst : (n, r1 - r0)."""
    for i in range(r0, r1):
        s = src[idx[i]]
        for k in range(s.size):
            dst[k, i - r0] = s[k]
