"""Forward pass, gradient pass and the training loop over blocks of examples.

Data layout (built by ``nnfast._network``):

- ``XT (m, n_x)``, ``YT (m, n_y)``: the training data, one example per row;
- ``theta``: every parameter in one flat buffer, ``W[l]`` (row-major ``(n[l], n[l-1])``)
  at ``w_off[l]`` and ``b[l]`` at ``b_off[l]``; ``wt`` holds each ``W[l]ᵀ`` at the same
  offsets (the forward kernel reads Wᵀ, see ``dense.py``);
- ``net = (dims, w_off, b_off, codes, z_off, a_off)``: int64 arrays indexed by layer l;
  ``codes[l]`` is layer l's activation; ``z_off[l]``/``a_off[l]`` place ``Z[l]``/``A[l]``
  of one block in a workspace row, and ``a_off[0]``/``z_off[0]`` place the block's X/Y rows;
- ``ws (n_chunks, ·)``, ``scratch (n_chunks, 2, ·)``, ``grads (n_chunks, theta.size)``:
  per-chunk work buffers, allocated once per call by the wrapper, never here.

A gradient pass splits the batch into blocks of rows, gives each chunk (≈ thread) a
contiguous run of blocks, runs forward then backward per block while it is in cache, and
accumulates into the chunk's own gradient row; the rows are then summed in chunk order,
so the result is the same on every run for a given number of chunks.
"""

import numpy as np
from numba import njit, prange

from .._config import JIT, JIT_PARALLEL
from .activations import activation_backward, activation_forward, output_forward
from .dense import dense_backward_input, dense_backward_params, dense_forward
from .loss import cost_sum_from_logits


@njit(**JIT)
def _block(buf, off, rows, n):
    """The ``(rows, n)`` C-contiguous view of ``buf[off:]``."""
    return buf[off:off + rows * n].reshape((rows, n))


@njit(**JIT)
def refresh_transposed(theta, wt, net):
    """wt[W[l] offsets] = W[l]ᵀ for every layer (after each update of theta)."""
    dims, w_off = net[0], net[1]
    for l in range(1, dims.size):
        n, p = dims[l], dims[l - 1]
        W = _block(theta, w_off[l], n, p)
        WT = _block(wt, w_off[l], p, n)
        for k in range(p):
            for j in range(n):
                WT[k, j] = W[j, k]


@njit(**JIT)
def sgd_update(theta, grad, step):
    """theta := theta - step·grad, the gradient descent update (6.14) on the flat buffers."""
    step = theta.dtype.type(step)
    for q in range(theta.size):
        theta[q] -= step * grad[q]


@njit(**JIT)
def forward_block(rows, theta, wt, net, ws):
    """Z[l] = W[l]·A[l-1] + b[l], A[l] = g[l](Z[l]) for l = 1..L on one block (6.22).

    The block's input rows must already be at ``a_off[0]`` of ``ws``; Z[l] and A[l] are
    written to ``z_off[l]``, ``a_off[l]``.
    """
    dims, w_off, b_off, codes, z_off, a_off = net
    L = dims.size - 1
    A_prev = _block(ws, a_off[0], rows, dims[0])
    for l in range(1, L + 1):
        n, p = dims[l], dims[l - 1]
        Z = _block(ws, z_off[l], rows, n)
        A = _block(ws, a_off[l], rows, n)
        dense_forward(A_prev, _block(wt, w_off[l], p, n), theta[b_off[l]:b_off[l] + n], Z)
        if l == L:
            output_forward(codes[l], Z, A)
        else:
            activation_forward(codes[l], Z.reshape(rows * n), A.reshape(rows * n))
        A_prev = A


@njit(**JIT)
def backward_block(rows, theta, net, ws, scratch, grad):
    """Add one block's gradient sums Σ_i ∂L_i/∂θ to ``grad`` (6.35–6.41, L layers).

    dZ[L] = A[L] - Y (each output layer is paired with its cost so this holds), then per
    layer dW[l] += dZ[l]ᵀ·A[l-1], db[l] += Σ dZ[l], dZ[l-1] = (dZ[l]·W[l]) * g'(Z[l-1]).
    The two rows of ``scratch`` hold dZ[l] and dZ[l-1] in turn.
    """
    dims, w_off, b_off, codes, z_off, a_off = net
    L = dims.size - 1
    n = dims[L]
    dZ = _block(scratch[0], 0, rows, n)
    AL = _block(ws, a_off[L], rows, n)
    Y = _block(ws, z_off[0], rows, n)
    for i in range(rows):
        for j in range(n):
            dZ[i, j] = AL[i, j] - Y[i, j]
    cur = 0
    for l in range(L, 0, -1):
        n, p = dims[l], dims[l - 1]
        A_prev = _block(ws, a_off[l - 1], rows, p)
        dense_backward_params(dZ, A_prev, _block(grad, w_off[l], n, p), grad[b_off[l]:b_off[l] + n])
        if l > 1:
            cur = 1 - cur
            dA = _block(scratch[cur], 0, rows, p)
            dense_backward_input(dZ, _block(theta, w_off[l], n, p), dA)
            Z_prev = _block(ws, z_off[l - 1], rows, p)
            activation_backward(codes[l - 1], Z_prev.reshape(rows * p), A_prev.reshape(rows * p),
                                dA.reshape(rows * p))
            dZ = dA


@njit(**JIT)
def _gather_rows(src, idx, r0, r1, dst):
    """dst[i - r0, :] = src[idx[i], :] for i in [r0, r1)."""
    for i in range(r0, r1):
        s = src[idx[i]]
        d = dst[i - r0]
        for k in range(s.size):
            d[k] = s[k]


@njit(**JIT)
def _run_chunk(c, b0, b1, block_rows, XT, YT, idx, start, stop, theta, wt, net, ws, scratch,
               grads, want_cost):
    """Blocks b0..b1-1 of rows idx[start:stop]: forward, cost, backward into grads[c]."""
    dims, z_off, a_off = net[0], net[4], net[5]
    L = dims.size - 1
    wsc = ws[c]
    grad = grads[c]
    grad[:] = 0
    cost = 0.0
    for blk in range(b0, b1):
        r0 = start + blk * block_rows
        r1 = min(r0 + block_rows, stop)
        rows = r1 - r0
        _gather_rows(XT, idx, r0, r1, _block(wsc, a_off[0], rows, dims[0]))
        _gather_rows(YT, idx, r0, r1, _block(wsc, z_off[0], rows, dims[L]))
        forward_block(rows, theta, wt, net, wsc)
        if want_cost:
            cost += cost_sum_from_logits(net[3][L], _block(wsc, z_off[L], rows, dims[L]),
                                         _block(wsc, a_off[L], rows, dims[L]),
                                         _block(wsc, z_off[0], rows, dims[L]))
        backward_block(rows, theta, net, wsc, scratch[c], grad)
    return cost


@njit(**JIT_PARALLEL)
def gradient_pass(block_rows, XT, YT, idx, start, stop, theta, wt, net, ws, scratch, grads,
                  chunk_costs, want_cost):
    """Gradient sums over the examples idx[start:stop] into ``grads[0]``; returns the cost sum.

    One chunk per row of ``grads``; with a single chunk everything runs on the calling
    thread (no parallel region is entered: it would cost more than a small batch).
    """
    n_chunks = grads.shape[0]
    n_blocks = (stop - start + block_rows - 1) // block_rows
    if n_chunks == 1:
        chunk_costs[0] = _run_chunk(0, 0, n_blocks, block_rows, XT, YT, idx, start, stop, theta, wt,
                                    net, ws, scratch, grads, want_cost)
    else:
        for c in prange(n_chunks):
            chunk_costs[c] = _run_chunk(c, c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks,
                                        block_rows, XT, YT, idx, start, stop, theta, wt, net, ws,
                                        scratch, grads, want_cost)
        total = grads[0]
        for c in range(1, n_chunks):  # fixed order: deterministic for a chunk count
            g = grads[c]
            for q in range(total.size):
                total[q] += g[q]
    cost = 0.0
    for c in range(n_chunks):
        cost += chunk_costs[c]
    return cost


@njit(**JIT)
def train_epochs(block_rows, XT, YT, orders, batch_size, epoch_start, epoch_stop, cost_every,
                 learning_rate, theta, wt, net, ws, scratch, grads, chunk_costs, costs_out):
    """Gradient descent for epochs ``epoch_start..epoch_stop-1`` (6.14, 6.17).

    Epoch e visits the examples in the order ``orders[e % len(orders)]`` in batches of
    ``batch_size`` (the last one may be smaller); full batch is ``batch_size = m``, one
    batch per epoch, i.e. one iteration of the chapter's loop. Every batch updates
    θ := θ - α·(1/m_batch)·Σ∇. When ``e % cost_every == 0`` the epoch's cost — the mean of
    its batches' costs, each from the forward pass before that batch's update — is written
    to ``costs_out[e - epoch_start]``; other epochs skip the cost.
    """
    m = XT.shape[0]
    for e in range(epoch_start, epoch_stop):
        idx = orders[e % orders.shape[0]]
        want_cost = e % cost_every == 0
        epoch_cost = 0.0
        n_batches = 0
        for start in range(0, m, batch_size):
            stop = min(start + batch_size, m)
            cost = gradient_pass(block_rows, XT, YT, idx, start, stop, theta, wt, net, ws, scratch,
                                 grads, chunk_costs, want_cost)
            sgd_update(theta, grads[0], learning_rate / (stop - start))
            refresh_transposed(theta, wt, net)
            epoch_cost += cost / (stop - start)
            n_batches += 1
        if want_cost:
            costs_out[e - epoch_start] = epoch_cost / n_batches
