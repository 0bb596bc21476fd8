"""Forward pass, gradient pass and the training loop over blocks of examples.

Data layout (built by ``nnfast._network``):

- the training data: ``Y (n_y, m)`` and ``X`` as the caller holds it, used in place:
  ``(n_x, m)`` (the chapter's layout) or, with ``x_rows``, ``(m, n_x)`` with one example
  per row (how scikit-learn and the MNIST files hold it; the caller passed ``X.T``);
- ``theta``: every parameter in one flat buffer, ``W[l]`` (row-major ``(n[l], n[l-1])``)
  at ``w_off[l]`` and ``b[l]`` at ``b_off[l]``;
- ``net = (dims, w_off, b_off, codes, z_off, a_off, packed, blocks, in_off, d_off)``:
  int64 arrays indexed by layer l; ``codes[l]`` is layer l's activation; ``z_off[l]``/
  ``a_off[l]`` place ``Z[l]``/``A[l]`` ``(n[l], rows)`` of one block in a workspace row,
  ``a_off[0]``/``z_off[0]`` the block's X and Y; ``packed[l]`` sends layer l's products
  through the packed kernel of ``gemm.py`` (else the small-layer kernels of ``dense.py``),
  ``blocks`` is that kernel's ``(KC, MC, NC)``; with dropout on layer l (``d_off[l] >=
  0``) its mask D[l] is at ``d_off[l]`` and layer l+1 reads the dropped A[l]·D[l]/p at
  ``in_off[l]`` (else ``in_off[l] = a_off[l]``);
- ``ws (n_chunks, ·)``, ``scratch (n_chunks, 3, ·)``, ``grads (n_chunks, theta.size)``,
  ``packs (n_chunks, ·)`` (``gemm``'s packing buffer): per-chunk work buffers, allocated once per run by the caller,
  never here.

A block's input reaches the kernels as ``Xb``, C-contiguous ``(n_x, rows)``: X itself
where it already is that block, else the block's examples gathered into the workspace,
transposed where the layouts differ; a packed first layer reads examples in order in
place, in either layout: never a full copy of X (see ``_block_input``).

A batch is split into blocks; each of T threads (the same kernel called T times from
``nnfast._workers``, chunk t on thread t) takes a contiguous run of blocks, runs forward
then backward per block while it is in cache, and accumulates into its own gradient row;
at a barrier (``sync.wait``) the rows are summed in chunk order, each thread a slice of
the parameters, so the result is the same on every run for a given number of chunks.
"""

import math

import numpy as np
from numba import njit

from .._config import JIT, JIT_IR_INLINE
from .activations import activation_backward, activation_forward, output_forward
from .dense import add_row_sums, dense_backward_input, dense_backward_params, dense_forward
from .dropout import dropout_backward, dropout_forward, stream
from .gemm import ADD, BIAS, EPI_BACKWARD, EPI_FORWARD, EPI_NONE, ONE, STORE, ZERO, gemm
from .layout import gather, gather_columns
from .loss import cost_sum_from_logits
from .optim import SGD, add_l2, optimizer_step
from .sync import wait
from .views import block, flat


@njit(**JIT)
def sgd_update(theta, grad, step):
    """theta := theta - step·grad, the gradient descent update (6.14) on the flat buffers."""
    step = theta.dtype.type(step)
    for q in range(theta.size):
        theta[q] -= step * grad[q]


@njit(**JIT_IR_INLINE)
def forward_block(rows, theta, net, ws, Xb, xin, tmp, pack, fast, drop, epoch_key, ids):
    """Z[l] = W[l]·A[l-1] + b[l], A[l] = g[l](Z[l]) for l = 1..L on one block (6.22).

    Xb, xin : the block's input (see ``_block_input``): C-contiguous ``(n_x, rows)`` for
    the small-layer kernels, ``(buf, off, rs, cs)`` for the packed one. Z[l] and
    A[l] are written at ``z_off[l]``, ``a_off[l]`` of ``ws``. tmp : (>= 3·rows,) scratch;
    pack : one chunk's packing buffer. ``fast``: mathfast's exp/tanh (else libm). Layers
    with dropout (``d_off[l] >= 0``) then draw their mask: ``drop = (keep, thresholds)``
    per layer (p in the working dtype, floor(p·2^53) in uint64), ``epoch_key`` s(key,
    epoch) and ``ids`` (rows,) the examples' columns in X (see ``nnfast._dropout``).
    """
    dims, w_off, b_off, codes, z_off, a_off, packed, blocks, in_off, d_off = net
    L = dims.size - 1
    for l in range(1, L + 1):
        n, p = dims[l], dims[l - 1]
        Z = block(ws, z_off[l], n, rows)
        A = block(ws, a_off[l], n, rows)
        if packed[l]:
            # The hidden layers' activation is applied by the kernel to each finished
            # row block of Z while it is in cache; softmax (by columns) comes after.
            kind = EPI_FORWARD if l < L else EPI_NONE
            prev = xin if l == 1 else (ws, in_off[l - 1], rows, ONE)
            gemm(n, rows, p, (theta, w_off[l], p, ONE), prev, (ws, z_off[l], rows), BIAS, (theta, b_off[l]),
                 (kind, codes[l], ws, ws[a_off[l]:]), fast, blocks, pack)
        else:
            W = block(theta, w_off[l], n, p)
            b = theta[b_off[l]:b_off[l] + n]
            dense_forward(W, b, Xb if l == 1 else block(ws, in_off[l - 1], p, rows), Z)
            if l < L:
                activation_forward(codes[l], flat(Z), flat(A), fast)
        if l == L:
            output_forward(codes[l], Z, A, tmp, fast)
        elif d_off[l] >= 0:
            keep, thresholds = drop
            dropout_forward(A, block(ws, in_off[l], n, rows), block(ws, d_off[l], n, rows), keep[l], thresholds[l],
                            stream(epoch_key, l), ids)


@njit(**JIT_IR_INLINE)
def backward_block(rows, theta, net, ws, Xb, xin, Yb, wb, scratch, grad, pack, fast, keep):
    """Add one block's gradient sums Σ_i ∂L_i/∂θ to ``grad`` (6.35–6.41, L layers).

    dZ[L] = A[L] - Y (each output layer is paired with its cost so this holds), then per
    layer dW[l] += dZ[l]·A[l-1]ᵀ, db[l] += Σ dZ[l], dZ[l-1] = (W[l]ᵀ·dZ[l]) * g'(Z[l-1]).
    Xb, xin : the block's input (as in ``forward_block``); Yb : labels ``(n[L], rows)``; wb :
    the examples' weights (rows,) — dZ[L] = w·(A[L] - Y), the gradient of Σ w_i L_i —, or
    empty. ``scratch[0]`` and ``scratch[1]`` hold dZ[l] and dZ[l-1] in turn. A layer
    with dropout multiplies its dZ by D/p (``keep`` : p per layer in the working dtype).
    """
    dims, w_off, b_off, codes, z_off, a_off, packed, blocks, in_off, d_off = net
    L = dims.size - 1
    n = dims[L]
    dZ = block(scratch[0], 0, n, rows)
    AL = flat(block(ws, a_off[L], n, rows))
    Y = flat(Yb)
    dz = flat(dZ)
    for q in range(n * rows):
        dz[q] = AL[q] - Y[q]
    if wb.size:
        for k in range(n):
            d = dz[k * rows:(k + 1) * rows]
            for i in range(rows):
                d[i] *= wb[i]
    cur = 0
    for l in range(L, 0, -1):
        n, p = dims[l], dims[l - 1]
        db = grad[b_off[l]:b_off[l] + n]
        if packed[l]:  # dW += dZ·A_prevᵀ, A_prevᵀ packed
            prevT = (xin[0], xin[1], xin[3], xin[2]) if l == 1 else (ws, in_off[l - 1], ONE, rows)
            add_row_sums(dZ, db)
            gemm(n, p, rows, (scratch[cur], ZERO, rows, ONE), prevT, (grad, w_off[l], p), ADD, (db, ZERO),
                 (EPI_NONE, ZERO, grad, grad), fast, blocks, pack)
        else:
            dense_backward_params(dZ, Xb if l == 1 else block(ws, in_off[l - 1], p, rows),
                                  block(grad, w_off[l], n, p), db)
        if l > 1:
            cur = 1 - cur
            dA = block(scratch[cur], 0, p, rows)
            if packed[l]:  # dZ[l-1] = Wᵀ·dZ * g'(Z[l-1]), the product by g' fused
                gemm(p, rows, n, (theta, w_off[l], ONE, p), (scratch[1 - cur], ZERO, rows, ONE),
                     (scratch[cur], ZERO, rows), STORE, (db, ZERO),
                     (EPI_BACKWARD, codes[l - 1], ws[z_off[l - 1]:], ws[a_off[l - 1]:]), fast, blocks, pack)
            else:
                dense_backward_input(block(theta, w_off[l], n, p), dZ, dA)
                activation_backward(codes[l - 1], flat(block(ws, z_off[l - 1], p, rows)),
                                    flat(block(ws, a_off[l - 1], p, rows)), flat(dA), fast)
            if d_off[l - 1] >= 0:
                dropout_backward(flat(dA), ws[d_off[l - 1]:d_off[l - 1] + p * rows], keep[l - 1])
            dZ = dA


@njit(**JIT_IR_INLINE)
def _block_input(X, x_rows, idx, in_order, r0, r1, net, wsc):
    """The input of examples idx[r0:r1] as the first layer's kernels read it, ``(Xb,
    xin)``, so that no full copy of X is ever made:

    - ``Xb``, C-contiguous ``(n_x, rows)``, for the small-layer kernels of ``dense.py``:
      the whole of an ``(n_x, m)`` X in order where it lies, else the examples gathered
      into the workspace (transposed block by block from X held as rows);
    - ``xin = (buf, off, rs, cs)``, feature f of the block's example i at ``buf[off + f·rs
      + i·cs]``, for the packed kernel (``gemm``, which packs its operand anyway): with
      a packed first layer and the examples in order, X read in place in either layout
      (``Xb`` then has no columns); else ``Xb``.
    """
    dims, a_off, packed = net[0], net[5], net[6]
    rows = r1 - r0
    if in_order and not x_rows and rows == X.shape[1]:
        return X, (flat(X), ZERO, rows, ONE)
    if in_order and packed[1]:
        unused = block(wsc, a_off[0], dims[0], 0)
        if x_rows:
            return unused, (flat(X), r0 * dims[0], ONE, dims[0])
        return unused, (flat(X), r0, X.shape[1], ONE)
    Xb = block(wsc, a_off[0], dims[0], rows)
    gather(X, x_rows, idx, r0, r1, Xb)
    return Xb, (flat(Xb), ZERO, rows, ONE)


@njit(**JIT_IR_INLINE)
def _run_chunk(c, b0, b1, block_rows, X, x_rows, Y, weights, idx, in_order, start, stop, theta, net, ws,
               scratch, grads, packs, want_cost, fast, drop, epoch_key):
    """Blocks b0..b1-1 of the examples idx[start:stop]: forward, cost, backward into grads[c]
    (``weights``: the examples' weights, (m,), or empty; a block's go to scratch; ``drop``
    and ``epoch_key``: the dropout of ``forward_block``)."""
    dims, codes, z_off, a_off = net[0], net[3], net[4], net[5]
    L = dims.size - 1
    m = Y.shape[1]
    wsc = ws[c]
    grad = grads[c]
    tmp = scratch[c, 2]
    grad[:] = 0
    cost = 0.0
    for blk in range(b0, b1):
        r0 = start + blk * block_rows
        r1 = min(r0 + block_rows, stop)
        rows = r1 - r0
        Xb, xin = _block_input(X, x_rows, idx, in_order, r0, r1, net, wsc)
        if in_order and rows == m:
            Yb = Y
        else:
            Yb = block(wsc, z_off[0], dims[L], rows)
            gather_columns(Y, idx, r0, r1, Yb)
        wb = weights
        if weights.size:
            wb = tmp[3 * block_rows:3 * block_rows + rows]  # past the 3·rows softmax uses
            for i in range(rows):
                wb[i] = weights[idx[r0 + i]]
        forward_block(rows, theta, net, wsc, Xb, xin, tmp, packs[c], fast, drop, epoch_key, idx[r0:r1])
        if want_cost:
            cost += cost_sum_from_logits(codes[L], block(wsc, z_off[L], dims[L], rows),
                                         block(wsc, a_off[L], dims[L], rows), Yb, tmp, fast, wb)
        backward_block(rows, theta, net, wsc, Xb, xin, Yb, wb, scratch[c], grad, packs[c], fast, drop[0])
    return cost


@njit(**JIT)
def _sum_chunks(grads, q0, q1):
    """grads[0][q] = Σ_c grads[c][q] for q in [q0, q1), summed in chunk order (the same
    result on every run for a chunk count)."""
    total = grads[0]
    for c in range(1, grads.shape[0]):
        g = grads[c]
        for q in range(q0, q1):
            total[q] += g[q]


@njit(**JIT)
def _mean_gradient(g, q0, q1, theta, net, l2, total_weight, m_batch, norm):
    """g[q0:q1], a batch's gradient sum, made its mean (divided by the batch's total
    weight: its size, unweighted) plus the L2 term (λ/m_batch)·W on the weights; returns
    Σ g² over the slice when ``norm`` (for clipping; a sequential float64 sum, as costly
    as the rest of an Adam step, so only then), else 0."""
    inv_m = theta.dtype.type(1.0 / total_weight)
    for q in range(q0, q1):
        g[q] *= inv_m
    if l2 != 0:
        add_l2(g, theta, net, q0, q1, theta.dtype.type(l2 / m_batch))
    squares = 0.0
    if norm:
        for q in range(q0, q1):
            squares += g[q] * g[q]
    return squares


@njit(**JIT)
def _clip_factor(norms, clip):
    """torch's ``clip_grad_norm_``: max_norm / (‖g‖ + 1e-6) when that is below 1, else 1,
    from the threads' Σ g² in ``norms`` (summed in thread order)."""
    total = 0.0
    for x in norms:
        total += x
    factor = clip / (math.sqrt(total) + 1e-6)
    return factor if factor < 1.0 else 1.0


@njit(**JIT)
def train_epochs(t, sync, block_rows, X, x_rows, Y, weights, orders, in_order, batch_size, epoch_start,
                 epoch_stop, cost_every, rates, update, opt, drop, theta, net, ws, scratch, grads, packs,
                 chunk_costs, costs_out, fast):
    """Training for epochs ``epoch_start..epoch_stop-1`` (6.14, 6.17), as thread ``t`` of
    ``grads.shape[0]``: every thread calls it with the same arguments but ``t``
    (``nnfast._workers``), and they meet at the barrier ``sync`` twice per batch.

    Epoch e visits the examples in the order ``orders[e % len(orders)]`` — all m columns
    of X and Y, or some of them (``in_order``: that order is 0..m-1) — in batches of
    ``batch_size`` (the last one may be smaller) with
    the learning rate ``rates[e]``; full batch is ``batch_size = m``, one batch per epoch,
    i.e. one iteration of the chapter's loop. Per batch, thread t runs its share of the
    blocks into ``grads[t]``; after the first barrier it sums its slice of the parameters
    over the chunks and, with ``update``, applies the optimizer ``opt`` (see
    ``_kernels/optim.py``; plain gradient descent θ := θ - α·(1/m_batch)·Σ∇ by default)
    to it, after the gradient's norm is clipped to ``clip`` if it is > 0 (one more
    barrier: every slice's Σ g² first); the second barrier keeps the next batch from reading θ before every slice is
    updated. Without ``update`` (one batch: a gradient) the sum is left in ``grads[0]``.
    With ``weights`` (m,) not empty, a batch's cost and gradient are the weighted means
    Σ w_i L_i / Σ w_i (the L2 penalty stays (λ/2m_batch)·Σ‖W‖²). When ``e % cost_every ==
    0`` the epoch's cost — the mean of its batches' costs, each from the forward pass
    before that batch's update, with the L2 penalty — is written to
    ``costs_out[e - epoch_start]``; other epochs skip it. ``chunk_costs`` (2, threads):
    each thread's share of a batch's data cost and of its penalty. ``drop = (keep,
    thresholds, seeds)``: the dropout of ``forward_block`` per layer, with ``seeds =
    (key, first_epoch)`` (uint64), epoch e's masks drawn for epoch first_epoch + e.
    """
    n_threads = grads.shape[0]
    m = orders.shape[1]  # the examples trained on: all of X, or a subset (a validation split)
    q0, q1 = t * theta.size // n_threads, (t + 1) * theta.size // n_threads
    code, hyper, state, steps, l2, clip, norms = opt
    plain = code == SGD and l2 == 0 and clip == 0
    k = steps[0]
    keep, thresholds, seeds = drop
    for e in range(epoch_start, epoch_stop):
        idx = orders[e % orders.shape[0]]
        epoch_key = stream(seeds[0], seeds[1] + np.uint64(e))
        want_cost = e % cost_every == 0
        epoch_cost = 0.0
        n_batches = 0
        for start in range(0, m, batch_size):
            stop = min(start + batch_size, m)
            n_blocks = (stop - start + block_rows - 1) // block_rows
            chunk_costs[0, t] = _run_chunk(t, t * n_blocks // n_threads, (t + 1) * n_blocks // n_threads,
                                           block_rows, X, x_rows, Y, weights, idx, in_order, start, stop, theta,
                                           net, ws, scratch, grads, packs, want_cost, fast, (keep, thresholds),
                                           epoch_key)
            # θ is not updated before the barrier: this batch's penalty, on this thread's slice
            chunk_costs[1, t] = 0.5 * l2 * add_l2(theta, theta, net, q0, q1, 0.0) if want_cost and l2 != 0 else 0.0
            m_batch = stop - start
            total_weight = float(m_batch)
            if weights.size:
                total_weight = 0.0
                for q in range(start, stop):
                    total_weight += weights[idx[q]]
            if not wait(sync, n_threads):
                return
            _sum_chunks(grads, q0, q1)
            k += 1
            if update and plain:  # the chapter's update, θ -= (α/m)·Σ∇, rounded as before
                sgd_update(theta[q0:q1], grads[0][q0:q1], rates[e] / total_weight)
            elif update:
                g = grads[0]
                norms[t] = _mean_gradient(g, q0, q1, theta, net, l2, total_weight, m_batch, clip > 0)
                if clip > 0:  # the norm of the whole gradient: every slice's share first
                    if not wait(sync, n_threads):
                        return
                    factor = g.dtype.type(_clip_factor(norms, clip))
                    for q in range(q0, q1):
                        g[q] *= factor
                optimizer_step(code, hyper, theta, g, state, q0, q1, k, rates[e])
            data_cost = penalty = 0.0
            for c in range(n_threads):
                data_cost += chunk_costs[0, c]
                penalty += chunk_costs[1, c]
            if not wait(sync, n_threads):
                return
            epoch_cost += data_cost / total_weight + penalty / m_batch
            n_batches += 1
        if want_cost and t == 0:
            costs_out[e - epoch_start] = epoch_cost / n_batches
    if t == 0 and update:
        steps[0] = k


@njit(**JIT)
def forward_pass(t, sync, block_rows, X, x_rows, idx, theta, net, ws, scratch, packs, out, fast):
    """out = A[L] ``(n[L], m)`` of every example, forward only (``predict``), as thread
    ``t`` of ``ws.shape[0]`` (``nnfast._workers``). The threads share nothing but ``out``,
    in disjoint columns, so they never wait for each other (``sync`` is unused: the same
    call as ``train_epochs``).

    The examples go in blocks, one run of consecutive blocks per thread; nothing of the
    backward pass is computed or stored. idx : 0..m-1 (blocks that must be gathered are
    gathered through it).
    """
    dims, a_off = net[0], net[5]
    L = dims.size - 1
    m = out.shape[1]
    n_threads = ws.shape[0]
    n_blocks = (m + block_rows - 1) // block_rows
    wst = ws[t]
    no_drop = (theta[:0], np.empty(0, np.uint64))  # never read: d_off is -1 everywhere here
    for blk in range(t * n_blocks // n_threads, (t + 1) * n_blocks // n_threads):
        r0 = blk * block_rows
        r1 = min(r0 + block_rows, m)
        rows = r1 - r0
        Xb, xin = _block_input(X, x_rows, idx, True, r0, r1, net, wst)
        forward_block(rows, theta, net, wst, Xb, xin, scratch[t, 2], packs[t], fast, no_drop, np.uint64(0), idx)
        AL = block(wst, a_off[L], dims[L], rows)
        for j in range(dims[L]):
            a, o = AL[j], out[j]
            for i in range(rows):  # not out[j, r0:r1] = a (see activations.column_max)
                o[r0 + i] = a[i]
