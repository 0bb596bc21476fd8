"""Between the chapter's dicts and the kernels' flat buffers.

A ``Layout`` is built once per call from validated layer sizes and activation names. It
packs ``[(W1, b1), ...]`` into one flat ``theta`` (so an update is a single loop and a
gradient is a single buffer), unpacks it back into a fresh ``{W1, b1, ...}`` dict, and
allocates the per-chunk work buffers the kernels in ``_kernels/loop.py`` expect.
"""

import numpy as np

from . import _activations
from ._config import BLOCK_BYTES


def block_rows(dims, batch, dtype, n_chunks=1):
    """Examples per block: few enough that one block's workspace fits in ``BLOCK_BYTES``
    (but at least 8, never more than the batch), and chosen so that a batch splits into
    ``n_chunks`` runs of whole blocks of about the same length (one run per thread: a batch
    of 64 on two threads is two blocks of 32)."""
    per_example = (dims[0] + dims[-1] + 2 * sum(dims[1:]) + 3 * max(max(dims[1:]), 2)) * np.dtype(dtype).itemsize
    most = max(8, BLOCK_BYTES // per_example // 8 * 8)
    share = -(-batch // n_chunks)
    return int(-(-share // -(-share // most)))  # the share in equal blocks of at most `most`


class Layout:
    """Offsets of each layer's parameters and per-block activations.

    Parameters
    ----------
    dims : tuple of int
        ``(n_x, n_1, ..., n_L)``.
    names : tuple of str
        One activation name per layer.
    dtype : numpy dtype
        float32 or float64.
    block_rows : int
        Rows (examples) per block in the workspace.
    """

    def __init__(self, dims, names, dtype, block_rows):
        self.dims = tuple(int(n) for n in dims)
        self.dtype = np.dtype(dtype)
        self.block_rows = int(block_rows)
        L = len(dims) - 1
        w_off = np.zeros(L + 1, np.int64)
        b_off = np.zeros(L + 1, np.int64)
        size = 0
        for l in range(1, L + 1):
            w_off[l] = size
            size += dims[l] * dims[l - 1]
            b_off[l] = size
            size += dims[l]
        self.size = size
        # Workspace row of one chunk: X block, Y block, then Z[l], A[l] per layer, each
        # (n[l], R) with one example per column.
        R = self.block_rows
        z_off = np.zeros(L + 1, np.int64)
        a_off = np.zeros(L + 1, np.int64)
        z_off[0] = R * dims[0]
        used = z_off[0] + R * dims[L]
        for l in range(1, L + 1):
            z_off[l] = used
            a_off[l] = used + R * dims[l]
            used += 2 * R * dims[l]
        self.ws_size = int(used)
        # Scratch rows: dZ[l] and dZ[l-1] of a block in turn, and three per-example values
        # of softmax and its cost (3R).
        self.scratch_size = R * max(max(dims[1:]), 3)
        codes = np.array([0] + [_activations.CODES[name] for name in names], np.int64)
        self.net = (np.array(dims, np.int64), w_off, b_off, codes, z_off, a_off)

    def pack(self, params):
        """``[(W1, b1), ...]`` → a new flat ``theta`` of ``dtype``."""
        theta = np.empty(self.size, self.dtype)
        _, w_off, b_off = self.net[:3]
        for l, (W, b) in enumerate(params, start=1):
            theta[w_off[l]:w_off[l] + W.size] = W.ravel()
            theta[b_off[l]:b_off[l] + b.size] = b.ravel()
        return theta

    def unpack(self, flat, prefix=""):
        """Flat buffer → ``{prefix+'W1': (n1, n0), prefix+'b1': (n1, 1), ...}`` (copies)."""
        out = {}
        _, w_off, b_off = self.net[:3]
        for l in range(1, len(self.dims)):
            n, p = self.dims[l], self.dims[l - 1]
            out[f"{prefix}W{l}"] = flat[w_off[l]:w_off[l] + n * p].reshape(n, p).copy()
            out[f"{prefix}b{l}"] = flat[b_off[l]:b_off[l] + n].reshape(n, 1).copy()
        return out

    def buffers(self, n_chunks):
        """Work buffers for ``n_chunks`` chunks: ``(ws, scratch, grads, chunk_costs)``."""
        return (np.zeros((n_chunks, self.ws_size), self.dtype),
                np.zeros((n_chunks, 3, self.scratch_size), self.dtype),
                np.zeros((n_chunks, self.size), self.dtype),
                np.zeros(n_chunks, np.float64))
