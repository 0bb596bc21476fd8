"""C = A·B in explicit loops, the way BLIS does it: a register tile inside cache blocks.

The five loops (BLIS's ``bli_gemm_blk_var*``; names as in its papers):

- ``jc`` over column blocks of C and B, ``NC`` wide;
- ``pc`` over the inner dimension in steps of at most ``KC``: B[pc:pc+KC, jc:jc+NC] is
  packed into micro-panels of ``NR`` columns (``_pack_b``), each ``KC × NR`` and
  contiguous, so a micro-panel stays in L1 while the tiles of a column strip use it (read
  in place, rows of B a power of two apart — a block of 128 examples — fall into a few L1
  sets and evict each other: float64 29 against 39 GFLOP/s at 512 columns);
- ``ic`` over row blocks of ``MC``: the block of A stays in L2 while the column strips
  use it;
- ``jr``, ``ir`` over the ``MR × NR`` tiles of the block, each computed by ``_micro``:
  ``KC`` rank-1 updates of an accumulator tile held in registers.

A is never packed: the tile reads it one value at a time and broadcasts it, so any
strides serve (W, Wᵀ and dZ are read in place). Operands are described by a flat buffer,
an offset and two strides (``A[i, k] = a[a_off + i·a_rs + k·a_cs]``), so one compiled
kernel per dtype serves every layout: the chapter's ``W·A``, the transposed ``Wᵀ·dZ`` and
``dZ·Aᵀ``, and X with one example per row or per column.

The tile (BLIS's haswell/zen ``s6x16``/``d6x8``): ``MR = 6`` rows × ``NR`` = two vectors of
columns of ``_config.VECTOR_BYTES`` each — 16 float32 or 8 float64 with AVX2's 32-byte
vectors, 32 or 16 with AVX-512's 64-byte ones: per step along k, two vector loads of a row
of B, six broadcasts of A and twelve vector FMAs into twelve accumulators — 15 of AVX2's
16 vector registers, 15 of AVX-512's 32. The vector FMA is the one thing written below
the loops, as an ``@intrinsic`` (``_vfma``: ``acc[q:q+W] += x·b[kb:kb+W]``, one LLVM vector
instruction); the loops around it are Python, and the accumulators are a stack array
(``_stack_tile``) that LLVM keeps in registers once the constant-trip loops over rows and
columns are unrolled. Left to the
loop vectoriser, the same loops did not vectorise in float64 at all (4–5 GFLOP/s) and
reached 78–83 GFLOP/s in float32 with a 2 × 32 tile; see docs/ARCHITECTURE.md.

``C`` is a row-major block of rows ``ldc`` apart. How a tile is written: ``STORE`` C =
A·B, ``ADD`` C += A·B, ``BIAS`` C = A·B + bias[row] (the tile starts from zero, from C or
from the bias). After the last ``pc`` block, the rows of C just finished can be passed
through an epilogue while they are in cache (``EPI_*``): the activation (Z → A, forward)
or the product with the activation's derivative (dA → dZ, backward).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array

from .._config import JIT, JIT_INLINE, VECTOR_BYTES
from .activations import activation_backward, activation_forward


#: Rows of the tile; its columns are two vectors (``tile_shape``).
MR = 6

# Every integer constant here is a NumPy int64, not a Python int: passed to gemm, a Python
# int is a literal, and Numba compiles a callee again for each literal value.
ZERO, ONE = np.int64(0), np.int64(1)

#: Write modes of a tile.
STORE, ADD, BIAS = np.int64(0), np.int64(1), np.int64(2)
#: Epilogues on finished rows: none, A = g(Z), dZ = dA * g'(Z).
EPI_NONE, EPI_FORWARD, EPI_BACKWARD = np.int64(0), np.int64(1), np.int64(2)


def tile_shape(dtype):
    """``(MR, NR, W)`` of the tile in ``dtype``: rows, columns, elements per vector."""
    W = VECTOR_BYTES // np.dtype(dtype).itemsize
    return MR, 2 * W, W


def _tile_shape(buf):
    return tile_shape(buf.dtype)


@overload(_tile_shape, jit_options=JIT_INLINE)
def _tile_shape_compiled(buf):
    shape = tile_shape(np.dtype(str(buf.dtype)))  # constants for the loops
    return lambda buf: shape


@intrinsic
def _stack_tile(typingctx, like):
    """An accumulator tile for ``like``'s dtype, MR·NR elements: a 1-D array on the stack
    (an alloca in the entry block, which LLVM promotes to registers)."""
    mr, nr, _ = tile_shape(np.dtype(str(like.dtype)))
    out_type = types.Array(like.dtype, 1, "C")

    def codegen(context, builder, sig, args):
        ll = context.get_data_type(like.dtype)
        data = cgutils.alloca_once(builder, ll, size=mr * nr)
        ary = make_array(out_type)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(ll))
        populate_array(ary, data=data, shape=cgutils.pack_array(builder, [context.get_constant(types.intp, mr * nr)]),
                       strides=cgutils.pack_array(builder, [itemsize]), itemsize=itemsize, meminfo=None)
        return ary._getvalue()
    return out_type(like), codegen


def _vector_at(context, builder, arytype, ary, index_type, index):
    """Pointer to the vector ``ary[index:index + W]`` (bounds-checked under
    ``NUMBA_BOUNDSCHECK``, like an element)."""
    ll = context.get_data_type(arytype.dtype)
    W = VECTOR_BYTES // context.get_abi_sizeof(ll)
    array = make_array(arytype)(context, builder, ary)
    i = context.cast(builder, index, index_type, types.intp)
    if context.enable_boundscheck:
        size = cgutils.unpack_tuple(builder, array.shape, 1)[0]
        cgutils.do_boundscheck(context, builder, i, size)
        cgutils.do_boundscheck(context, builder, builder.add(i, i.type(W - 1)), size)
    vector = ir.VectorType(ll, W)
    return builder.bitcast(builder.gep(array.data, [i]), vector.as_pointer()), vector, W


@intrinsic
def _vfma(typingctx, acc, q, b, kb, x):
    """``acc[q:q+W] += x·b[kb:kb+W]``: one vector fused multiply-add (W elements of 32 bytes)."""
    def codegen(context, builder, sig, args):
        acc_v, q_v, b_v, kb_v, x_v = args
        p_acc, vector, W = _vector_at(context, builder, sig.args[0], acc_v, sig.args[1], q_v)
        p_b, _, _ = _vector_at(context, builder, sig.args[2], b_v, sig.args[3], kb_v)
        align = context.get_abi_sizeof(vector.element)
        s = context.cast(builder, x_v, sig.args[4], sig.args[0].dtype)
        lane0 = builder.insert_element(ir.Constant(vector, ir.Undefined), s, ir.Constant(ir.IntType(32), 0))
        xs = builder.shuffle_vector(lane0, ir.Constant(vector, ir.Undefined),
                                    ir.Constant(ir.VectorType(ir.IntType(32), W), [0] * W))
        suffix = f"v{W}f{8 * align}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * 3),
                                             f"llvm.fma.{suffix}")
        total = builder.call(fma, [xs, builder.load(p_b, align=align), builder.load(p_acc, align=align)])
        builder.store(total, p_acc, align=align)
        return context.get_dummy_value()
    return types.void(acc, q, b, kb, x), codegen


@intrinsic
def _vcopy(typingctx, dst, i, src, j):
    """``dst[i:i+W] = src[j:j+W]``: one vector load and store."""
    def codegen(context, builder, sig, args):
        dst_v, i_v, src_v, j_v = args
        p_dst, vector, _ = _vector_at(context, builder, sig.args[0], dst_v, sig.args[1], i_v)
        p_src, _, _ = _vector_at(context, builder, sig.args[2], src_v, sig.args[3], j_v)
        align = context.get_abi_sizeof(vector.element)
        builder.store(builder.load(p_src, align=align), p_dst, align=align)
        return context.get_dummy_value()
    return types.void(dst, i, src, j), codegen


@njit(**JIT)
def _pack_b(b, off, rs, cs, k0, kc, j0, cols, dst):
    """B[k0:k0+kc, j0:j0+cols] (element (k, j) at ``b[off + k·rs + j·cs]``) into micro-panels
    of NR columns: (k, j) of panel t goes to ``dst[t·NR·kc + k·NR + j - t·NR]``, and
    columns past ``cols`` are zeros, so that every tile reads whole vectors."""
    _, NR, W = _tile_shape(dst)
    for t in range((cols + NR - 1) // NR):
        base = t * NR * kc
        width = min(NR, cols - t * NR)
        s = off + k0 * rs + (j0 + t * NR) * cs
        if cs == 1 and width == NR:  # a whole panel of contiguous rows: vector copies
            for k in range(kc):
                for j in range(0, NR, W):
                    _vcopy(dst, base + k * NR + j, b, s + k * rs + j)
        else:  # B stored transposed, or a last narrow panel
            for k in range(kc):
                for j in range(NR):
                    dst[base + k * NR + j] = b[s + k * rs + j * cs] if j < width else 0


@njit(**JIT)
def _pack_a_edge(a, off, rs, cs, rows, kc, dst):
    """The ``rows`` (< MR) rows of a last row tile of A, ``a[off + i·rs + k·cs]``, into one
    k-major panel ``dst[k·MR + i]`` with zero rows after them: the tile then reads every
    row at a constant offset (a row index clamped to ``rows - 1`` instead cost 5–10%)."""
    MR_, _, _ = _tile_shape(dst)
    for k in range(kc):
        for i in range(MR_):
            dst[k * MR_ + i] = a[off + i * rs + k * cs] if i < rows else 0


@njit(**JIT_INLINE)
def _micro(kc, A, B, C, mr, nr, mode, bias):
    """One tile: C[:mr, :nr] (=, +=, = bias +) A[:mr, :kc]·B[:kc, :nr].

    A = (buf, base, row step, k step): a(i, k) = buf[base + i·row + k·kstep], any strides
    (broadcast one value at a time), MR valid rows. B = (buf, base, k step): b(k, j) =
    buf[base + k·kstep + j], NR valid elements per k (its vector loads). C = (buf, off, ldc). A partial tile goes
    through a second stack tile, so that the accumulators are only ever indexed by
    constants (which is what keeps them in registers).
    """
    a, a0, a_r, a_k = A
    b, b0, b_k = B
    c, c_off, ldc = C
    MR_, NR, W = _tile_shape(c)
    acc = _stack_tile(c)
    edge = _stack_tile(c)
    full = mr == MR_ and nr == NR
    if mode == ADD and full:
        for i in range(MR_):
            for j in range(0, NR, W):
                _vcopy(acc, i * NR + j, c, c_off + i * ldc + j)
    elif mode == ADD:
        for q in range(MR_ * NR):
            edge[q] = 0
        for i in range(mr):
            for j in range(nr):
                edge[i * NR + j] = c[c_off + i * ldc + j]
        for q in range(0, MR_ * NR, W):
            _vcopy(acc, q, edge, q)
    else:
        bias_buf, b_off = bias
        for i in range(MR_):
            start = bias_buf[b_off + min(i, mr - 1)] if mode == BIAS else 0
            for j in range(NR):
                acc[i * NR + j] = start
    # Unsigned indices into A: a signed one carries Numba's negative-index wraparound
    # check on every load. (The vector steps index raw pointers and carry none.)
    ia, step_r, step_k = np.uint64(a0), np.uint64(a_r), np.uint64(a_k)
    kb, step_b = b0, b_k
    for k in range(kc):
        for i in range(MR_):
            x = a[ia + np.uint64(i) * step_r]
            for j in range(0, NR, W):
                _vfma(acc, i * NR + j, b, kb + j, x)
        ia += step_k
        kb += step_b
    if full:
        for i in range(MR_):
            for j in range(0, NR, W):
                _vcopy(c, c_off + i * ldc + j, acc, i * NR + j)
    else:
        for q in range(0, MR_ * NR, W):
            _vcopy(edge, q, acc, q)
        for i in range(mr):
            for j in range(nr):
                c[c_off + i * ldc + j] = edge[i * NR + j]


@njit(**JIT)
def gemm(m, n, k, A, B, C, mode, bias, epi, fast, blocks, pack):
    """C[m × n] (=, +=, = bias +) A[m × k]·B[k × n]; see the module docstring.

    A, B : ``(buf, off, row_stride, col_stride)``, element (i, j) at ``buf[off + i·row_stride
    + j·col_stride]``. C : ``(buf, off, ldc)``, row-major. ``mode``: STORE, ADD or BIAS,
    with row i's bias at ``bias = (buf, off)``: ``buf[off + i]``. ``epi = (kind, code, z,
    a)``: once C's rows are final, kind EPI_FORWARD writes A = g(C) and EPI_BACKWARD
    multiplies C by g'(Z) (``code`` the activation; element (i, j) of Z and A at
    ``z[i·ldc + j]``, ``a[i·ldc + j]``: 1-D views laid out like C). ``blocks`` starts with
    ``(KC, MC, NC)``, MC a multiple of MR and NC of NR; ``pack`` holds ``pack_size(blocks)``
    elements, allocated by the caller once per run.

    B is packed into ``pack``, a last row tile of A with fewer than MR rows into its end.

    Every integer is passed as a non-literal int64 (``np.int64(1)``, not ``1``): Numba
    compiles a callee again for each literal value it is called with.
    """
    MR_, NR, _ = _tile_shape(pack)
    bp, ap = pack, pack[pack.size - MR_ * blocks[0]:]
    a, a_off, a_rs, a_cs = A
    b, b_off, b_rs, b_cs = B
    c, c_off, ldc = C
    kind, code, z, a_out = epi
    MC, NC = blocks[1], blocks[2]
    # k in equal steps of at most KC (784 = 4 × 196, not 3 × 256 + 16: a thin last step
    # would pay the tiles' fixed costs for little work).
    KC = -(-k // -(-k // blocks[0])) if k > 0 else 1
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, max(k, 1), KC):
            kc = min(KC, k - pc)
            tile_mode = mode if pc == 0 else ADD
            _pack_b(b, b_off, b_rs, b_cs, pc, kc, jc, nc, bp)
            for ic in range(0, m, MC):
                mc = min(MC, m - ic)
                for jr in range(0, nc, NR):
                    nr = min(NR, nc - jr)
                    j0 = jc + jr
                    b_tile = (bp, jr * kc, NR)
                    for ir in range(0, mc, MR):
                        i0 = ic + ir
                        mr = min(MR, mc - ir)
                        a_tile = (a, a_off + i0 * a_rs + pc * a_cs, a_rs, a_cs)
                        if mr < MR:
                            _pack_a_edge(a, a_tile[1], a_rs, a_cs, mr, kc, ap)
                            a_tile = (ap, ZERO, ONE, np.int64(MR))
                        _micro(kc, a_tile, b_tile, (c, c_off + i0 * ldc + j0, ldc), mr, nr, tile_mode,
                               (bias[0], bias[1] + i0))
                if pc + KC >= k and kind != EPI_NONE:  # these rows of C are final
                    for i in range(ic, ic + mc):
                        e = i * ldc + jc
                        s = c_off + e
                        if kind == EPI_FORWARD:
                            activation_forward(code, c[s:s + nc], a_out[e:e + nc], fast)
                        else:
                            activation_backward(code, z[e:e + nc], a_out[e:e + nc], c[s:s + nc], fast)


def round_to_tiles(dtype, x, axis):
    """x rounded up to a multiple of the tile's extent along ``axis`` (0: MR, 1: NR)."""
    step = tile_shape(dtype)[axis]
    return int(-(-x // step) * step)


def pack_size(blocks):
    """Elements of the packing buffer ``gemm`` needs for ``blocks = (KC, MC, NC)`` (NC a
    multiple of NR): a KC × NC block of B and a KC × MR panel of A."""
    KC, _, NC = blocks
    return KC * (NC + MR)
