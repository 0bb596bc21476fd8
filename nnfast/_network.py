"""Between the chapter's dicts and the kernels' flat buffers.

A ``Layout`` is built once per call from validated layer sizes and activation names. It
packs ``[(W1, b1), ...]`` into one flat ``theta`` (so an update is a single loop and a
gradient is a single buffer), unpacks it back into a fresh ``{W1, b1, ...}`` dict, and
allocates the per-chunk work buffers the kernels in ``_kernels/loop.py`` expect.
"""

import numpy as np

from . import _activations
from ._config import BLOCK_BYTES, GEMM_BLOCKS, PACKED_MIN_ROWS, PACKED_MIN_WEIGHTS
from ._kernels.gemm import pack_size, round_to_tiles


def packed_layers(dims):
    """Which layers run through ``gemm``: ``[False, packed_1, ..., packed_L]``, those with
    ``PACKED_MIN_WEIGHTS`` weights or more."""
    return [False] + [dims[l] * dims[l - 1] >= PACKED_MIN_WEIGHTS for l in range(1, len(dims))]


def block_rows(dims, batch, dtype, n_chunks=1, packed=False, dropped_units=0):
    """Examples per block: few enough that one block's workspace fits in ``BLOCK_BYTES``
    (but at least 8 — or ``PACKED_MIN_ROWS`` when a layer is ``packed`` —, never more than
    the batch), and chosen so that a batch splits into ``n_chunks`` runs of whole blocks of
    about the same length (one run per thread: a batch of 64 on two threads is two blocks
    of 32). ``dropped_units``: the units of the layers with dropout (two more rows each)."""
    per_example = (dims[0] + dims[-1] + 2 * sum(dims[1:]) + 2 * dropped_units
                   + 3 * max(max(dims[1:]), 2)) * np.dtype(dtype).itemsize
    most = max(PACKED_MIN_ROWS if packed else 8, BLOCK_BYTES // per_example // 8 * 8)
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
    x_rows : bool
        X holds one example per row (see ``_kernels/loop.py``).
    dropout : nnfast._dropout.Dropout, optional
        The layers with dropout get two more regions per block: the mask D[l] and the
        dropped activations A[l]·D[l]/p that layer l+1 reads.
    """

    def __init__(self, dims, names, dtype, block_rows, x_rows=False, dropout=None):
        self.dims = tuple(int(n) for n in dims)
        self.dtype = np.dtype(dtype)
        self.block_rows = int(block_rows)
        self.x_rows = bool(x_rows)
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
        # Where layer l+1 reads A[l]: A[l] itself, or its dropped copy after the mask D[l]
        # (d_off[l] = -1: no dropout).
        in_off = a_off.copy()
        d_off = np.full(L + 1, -1, np.int64)
        for l in ([] if dropout is None else dropout.layers()):
            d_off[l] = used
            in_off[l] = used + R * dims[l]
            used += 2 * R * dims[l]
        self.ws_size = int(used)
        # Scratch rows: dZ[l] and dZ[l-1] of a block in turn, and three per-example values
        # of softmax and its cost (3R), then the block's example weights (R).
        self.scratch_size = R * max(max(dims[1:]), 4)
        codes = np.array([0] + [_activations.CODES[name] for name in names], np.int64)
        packed = packed_layers(dims)
        blocks, self.pack_size = self._gemm_blocks(packed)
        self.net = (np.array(dims, np.int64), w_off, b_off, codes, z_off, a_off,
                    np.array(packed, np.int64), blocks, in_off, d_off)

    def _gemm_blocks(self, packed):
        """``(KC, MC, NC)`` for ``gemm`` and the size of one chunk's packing buffer: the
        configured blocks, cut down to the largest product of the packed layers so that
        small networks do not carry big buffers."""
        KC, MC, NC = GEMM_BLOCKS[self.dtype.name]
        R = self.block_rows
        # (m, n, k) of the three products of each packed layer: forward, dW, dA_prev.
        shapes = [s for l in range(1, len(self.dims)) if packed[l]
                  for s in ((self.dims[l], R, self.dims[l - 1]), (self.dims[l], self.dims[l - 1], R),
                            (self.dims[l - 1], R, self.dims[l]))]
        if not shapes:
            return np.zeros(3, np.int64), 0
        k_most = max(k for _, _, k in shapes)
        kc = min(KC, k_most)
        mc = round_to_tiles(self.dtype, min(MC, max(m for m, _, _ in shapes)), 0)
        nc = round_to_tiles(self.dtype, min(NC, max(n for _, n, _ in shapes)), 1)
        return np.array([kc, mc, nc], np.int64), pack_size((kc, mc, nc))

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

    def buffers(self, n_chunks, backward=True):
        """Work buffers for ``n_chunks`` chunks: ``(ws, scratch, grads, packs, chunk_costs)``
        (``chunk_costs`` (2, n_chunks): each chunk's data cost and penalty)
        (``backward=False``, for a forward pass only: ``grads`` has no columns)."""
        return (np.zeros((n_chunks, self.ws_size), self.dtype),
                np.zeros((n_chunks, 3, self.scratch_size), self.dtype),
                np.zeros((n_chunks, self.size if backward else 0), self.dtype),
                np.zeros((n_chunks, max(self.pack_size, 1)), self.dtype),
                np.zeros((2, n_chunks), np.float64))
