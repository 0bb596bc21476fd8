"""C = A·B in explicit loops, the way BLIS does it: packed panels around a register tile.

The five loops (BLIS's ``bli_gemm_blk_var*``; names as in its papers):

- ``jc`` over column blocks of C and B, ``NC`` wide;
- ``pc`` over the inner dimension in steps of ``KC``: B[pc:pc+KC, jc:jc+NC] is packed into
  micro-panels of ``NR`` columns (``_pack_b``), each ``KC × NR`` and contiguous, so a
  micro-panel stays in L1 while the tiles of a column strip use it;
- ``ic`` over row blocks of ``MC``: A[ic:ic+MC, pc:pc+KC] is packed into micro-panels of
  ``MR`` rows (``_pack_a``), and the block stays in L2;
- ``jr``, ``ir`` over the ``MR × NR`` tiles of the block, each computed by ``_micro``:
  ``KC`` rank-1 updates of an accumulator tile held in registers.

Operands are described by a flat buffer, an offset and two strides (``A[i, k] =
a[a_off + i·a_rs + k·a_cs]``), so one compiled kernel per dtype serves every layout:
the chapter's ``W·A``, the transposed ``Wᵀ·dZ`` and ``dZ·Aᵀ``, and X with one example per
row or per column. Only packing reads the strides; the tile loop sees contiguous panels.

The tile: ``MR = 6`` rows × ``NR`` = two 256-bit vectors of columns (16 float32 or 8
float64) — twelve vector accumulators, two vector loads of B and one broadcast of A per
step: 15 of the 16 AVX2 registers, BLIS's haswell/zen ``s6x16``/``d6x8``. The tile lives
in a stack array (``_stack_tile``): LLVM promotes it to registers once the constant-trip
loops over its rows and columns are unrolled (a heap array would not be: measured 3.5
against ~60 GFLOP/s in float32).

``C`` is a row-major block of rows ``ldc`` apart. How a finished tile is written:
``STORE`` C = acc, ``ADD`` C += acc, ``BIAS`` C = acc + bias[row]. After the last ``pc``
block, the rows of C just finished can be passed through an epilogue while they are in
cache (``EPI_*``): the activation (Z → A, forward) or the product with the activation's
derivative (dA → dZ, backward).
"""

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array

from .._config import JIT, JIT_INLINE, JIT_REDUCE_INLINE
from .activations import activation_backward, activation_forward

#: The two register tiles, chosen by measurement on AVX2 (tile alone, KC = 256, one core,
#: Zen 3; see docs/ARCHITECTURE.md):
#: - outer products (float32 only), 2 rows × 32 columns: for each k, four vector loads of a
#:   row of B, two broadcasts of A, eight FMAs into eight vector accumulators: 78–83
#:   GFLOP/s (4 × 16: 68; 3 × 32: 56, its three broadcasts spill). Needs B's rows
#:   contiguous. In float64 LLVM unrolls any column loop short enough to keep the tile in
#:   registers (≤ 16) before the loop vectoriser sees it, and does not vectorise the
#:   unrolled scalars: 4–5 GFLOP/s whatever the tile, so float64 has no outer tile.
#: - dot products (both dtypes), 3 × 3: nine vector accumulators of partial sums along k,
#:   six loads per nine FMAs: 33 GFLOP/s float64, 50 float32. Needs rows of A and columns
#:   of B contiguous along k — which dW += dZ·A_prevᵀ has in the chapter's layout.
OUTER_TILE = {np.dtype(np.float32): (2, 32)}
DOT_TILE = (3, 3)

#: Longest step along k of the dot tile (see ``gemm``); packing buffers are sized for it.
DOT_KC = 2048

#: The outer-product tile reads B's rows in place when they are at most this many
#: elements apart (a block of the workspace), else they are packed.
DIRECT_ROWS_MAX = 1024

# Every integer constant here is a NumPy int64, not a Python int: passed to gemm, a Python
# int is a literal, and Numba compiles a callee again for each literal value.
ZERO, ONE = np.int64(0), np.int64(1)

#: Write modes of a tile.
STORE, ADD, BIAS = np.int64(0), np.int64(1), np.int64(2)
#: Epilogues on finished rows: none, A = g(Z), dZ = dA * g'(Z).
EPI_NONE, EPI_FORWARD, EPI_BACKWARD = np.int64(0), np.int64(1), np.int64(2)


def tile_shape(dtype, dot):
    """(MR, NR) of the tile a product in ``dtype`` runs on (the dot tile where the dtype
    has no outer one)."""
    return DOT_TILE if dot or np.dtype(dtype) not in OUTER_TILE else OUTER_TILE[np.dtype(dtype)]


def _outer_shape(buf):
    return OUTER_TILE.get(buf.dtype, (0, 0))


@overload(_outer_shape, jit_options=JIT_INLINE)
def _outer_shape_compiled(buf):
    shape = OUTER_TILE.get(np.dtype(str(buf.dtype)), (0, 0))  # constants for the loops
    return lambda buf: shape


@njit(**JIT_INLINE)
def has_outer_tile(buf):
    """Whether ``buf``'s dtype has an outer-product tile (a compile-time constant)."""
    return _outer_shape(buf)[0] > 0


@intrinsic
def _stack_tile(typingctx, like):
    """The outer tile's accumulators for ``like``'s dtype: a 1-D array on the stack."""
    mr, nr = OUTER_TILE[np.dtype(str(like.dtype))]
    n = mr * nr
    out_type = types.Array(like.dtype, 1, "C")

    def codegen(context, builder, sig, args):
        ll = context.get_data_type(like.dtype)
        data = cgutils.alloca_once(builder, ll, size=n)  # in the entry block: promotable
        ary = make_array(out_type)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(ll))
        populate_array(ary, data=data, shape=cgutils.pack_array(builder, [context.get_constant(types.intp, n)]),
                       strides=cgutils.pack_array(builder, [itemsize]), itemsize=itemsize, meminfo=None)
        return ary._getvalue()
    return out_type(like), codegen


def _tile(like):
    mr, nr = OUTER_TILE[like.dtype]
    return np.zeros(mr * nr, like.dtype)


@overload(_tile, jit_options=JIT_INLINE)
def _tile_compiled(like):
    return lambda like: _stack_tile(like)


@njit(**JIT)
def _pack(src, off, row_stride, k_stride, row0, rows, k0, kc, P, k_major, dst):
    """Rows row0..row0+rows-1 × k0..k0+kc-1 of a strided operand into micro-panels of P rows.

    Element (r, k) of panel t goes to ``dst[t·P·kc + k·P + r]`` (``k_major``: the
    outer-product tile reads a column of P values per step) or ``dst[t·P·kc + r·kc + k]``
    (the dot-product tile reads each row along k). Rows past ``rows`` are zeros, so every
    tile is full. A is packed with its rows (``row_stride = a_rs``, ``k_stride = a_cs``),
    B with its columns (``b_cs``, ``b_rs``).
    """
    for t in range((rows + P - 1) // P):
        base = t * P * kc
        for r in range(P):
            i = t * P + r
            if k_major:
                d = dst[base + r:]
                step = P
            else:
                d = dst[base + r * kc:]
                step = 1
            if i < rows:
                s = off + (row0 + i) * row_stride + k0 * k_stride
                if k_stride == 1 and step == 1:
                    for k in range(kc):
                        d[k] = src[s + k]
                else:
                    for k in range(kc):
                        d[k * step] = src[s + k * k_stride]
            else:
                for k in range(kc):
                    d[k * step] = 0


@njit(**JIT)
def _write(value, c, q, mode, bias):
    """Store one finished element of C as ``mode`` says."""
    if mode == ADD:
        c[q] += value
    elif mode == BIAS:
        c[q] = value + bias
    else:
        c[q] = value


@njit(**JIT_INLINE)
def _micro_outer(kc, A, B, C, mr, nr, mode, bias):
    """The outer tile: MR × NR accumulators in a stack array, one outer product per k.

    A = (buf, base, row step, k step): a(i, k) = buf[base + i·row + k·kstep], any strides
    (it is broadcast one value at a time); B = (buf, base, k step): b(k, j) = buf[base +
    k·kstep + j], unit stride along j (its vector loads). Rows past ``mr`` read row
    ``mr - 1`` again (valid memory; not written back). C = (buf, off, ldc).
    """
    a, a0, a_r, a_k = A
    b, b0, b_k = B
    c, c_off, ldc = C
    MR, NR = _outer_shape(c)
    r1 = a0 + min(1, mr - 1) * a_r
    acc = _tile(c)
    for q in range(MR * NR):
        acc[q] = 0
    # Unsigned indices: a signed one carries Numba's negative-index wraparound check on
    # every element, which turned the vector loads of B into element-by-element inserts.
    ia, ib = np.uint64(a0), np.uint64(r1)
    step_a, step_b = np.uint64(a_k), np.uint64(b_k)
    kb = np.uint64(b0)
    for k in range(kc):
        x0 = a[ia]
        x1 = a[ib]
        for j in range(NR):
            bj = b[kb + np.uint64(j)]
            acc[j] += x0 * bj
            acc[NR + j] += x1 * bj
        ia += step_a
        ib += step_a
        kb += step_b
    _write_tile(acc, c, c_off, ldc, mr, nr, mode, bias)


@njit(**JIT_REDUCE_INLINE)
def _micro_dot(kc, A, B, C, mr, nr, mode, bias):
    """The dot tile: 3 × 3 dot products along k, each a vector of partial sums.

    A = (buf, base, row step, ·): row i of A along k at buf[base + i·row:], unit stride;
    B = (buf, base, column step): column j of B along k at buf[base + j·col:], unit
    stride. Rows past ``mr`` and columns past ``nr`` read the last valid one again.
    """
    a, a0, a_r, _ = A
    b, b0, b_c = B
    c, c_off, ldc = C
    u0 = a[a0:a0 + kc]
    u1 = a[a0 + min(1, mr - 1) * a_r:]
    u2 = a[a0 + min(2, mr - 1) * a_r:]
    v0 = b[b0:b0 + kc]
    v1 = b[b0 + min(1, nr - 1) * b_c:]
    v2 = b[b0 + min(2, nr - 1) * b_c:]
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = c.dtype.type(0)
    for k in range(kc):
        p0, p1, p2 = u0[k], u1[k], u2[k]
        q0, q1, q2 = v0[k], v1[k], v2[k]
        s00 += p0 * q0
        s01 += p0 * q1
        s02 += p0 * q2
        s10 += p1 * q0
        s11 += p1 * q1
        s12 += p1 * q2
        s20 += p2 * q0
        s21 += p2 * q1
        s22 += p2 * q2
    sums = ((s00, s01, s02), (s10, s11, s12), (s20, s21, s22))
    bias_buf, b_off = bias
    for i in range(mr):
        row = c_off + i * ldc
        bi = bias_buf[b_off + i] if mode == BIAS else s00
        for j in range(nr):
            _write(sums[i][j], c, row + j, mode, bi)


@njit(**JIT_INLINE)
def _write_tile(acc, c, c_off, ldc, mr, nr, mode, bias):
    """Write the ``mr × nr`` valid part of an outer-product tile to C as ``mode`` says."""
    MR, NR = _outer_shape(c)
    bias_buf, b_off = bias
    if mr == MR and nr == NR:  # a whole tile: constant trip counts, vector stores
        for i in range(MR):
            row = c[c_off + i * ldc:c_off + i * ldc + NR]
            t = acc[i * NR:(i + 1) * NR]
            if mode == ADD:
                for j in range(NR):
                    row[j] += t[j]
            elif mode == BIAS:
                bi = bias_buf[b_off + i]
                for j in range(NR):
                    row[j] = t[j] + bi
            else:
                for j in range(NR):
                    row[j] = t[j]
    else:
        for i in range(mr):
            row = c_off + i * ldc
            bi = bias_buf[b_off + i] if mode == BIAS else acc[0]
            for j in range(nr):
                _write(acc[i * NR + j], c, row + j, mode, bi)


def _tile_product(dot, kc, A, B, C, mr, nr, mode, bias):
    """One tile of C on the dot or the outer tile (the dot tile where the dtype has no
    outer one)."""
    (_micro_dot if dot or C[0].dtype not in OUTER_TILE else _micro_outer)(kc, A, B, C, mr, nr, mode, bias)


@overload(_tile_product, jit_options=JIT_INLINE)
def _tile_product_compiled(dot, kc, A, B, C, mr, nr, mode, bias):
    if np.dtype(str(C[0].dtype)) not in OUTER_TILE:  # never compile an outer tile here
        return lambda dot, kc, A, B, C, mr, nr, mode, bias: _micro_dot(kc, A, B, C, mr, nr, mode, bias)

    def impl(dot, kc, A, B, C, mr, nr, mode, bias):
        if dot:
            _micro_dot(kc, A, B, C, mr, nr, mode, bias)
        else:
            _micro_outer(kc, A, B, C, mr, nr, mode, bias)
    return impl


@njit(**JIT)
def gemm(m, n, k, A, B, C, mode, bias, epi, dot, fast, blocks, ap, bp):
    """C[m × n] (=, +=, = bias +) A[m × k]·B[k × n]; see the module docstring.

    A, B : ``(buf, off, row_stride, col_stride)``, element (i, j) at ``buf[off + i·row_stride
    + j·col_stride]``. C : ``(buf, off, ldc)``, row-major. ``mode``: STORE, ADD or BIAS,
    with row i's bias at ``bias = (buf, off)``: ``buf[off + i]``. ``epi = (kind, code, z,
    a)``: once C's rows are final, kind EPI_FORWARD writes A = g(C) and EPI_BACKWARD
    multiplies C by g'(Z) (``code`` the activation; element (i, j) of Z and A at
    ``z[i·ldc + j]``, ``a[i·ldc + j]``: 1-D views laid out like C). ``dot``: run on the
    dot tile (always, in a dtype without an outer one). ``blocks`` starts with ``(KC, MC,
    NC)``, multiples of both tiles' MR and NR; ``ap`` holds ≥ MC·KC and ``bp`` ≥ KC·NC
    elements: allocated by the caller once per run (``pack_sizes``).

    An operand is packed only when the tile cannot read it where it is: the outer tile
    reads A one value at a time (any strides) and B along rows (packed unless its rows
    are contiguous and close, and for a narrower last column panel); the dot tile reads
    rows of A and columns of B along k (packed unless contiguous along k).

    Every integer is passed as a non-literal int64 (``np.int64(1)``, not ``1``): Numba
    compiles a callee again for each literal value it is called with.
    """
    OMR, ONR = _outer_shape(bp)
    dot = dot or OMR == 0
    MR, NR = (DOT_TILE[0], DOT_TILE[1]) if dot else (OMR, ONR)
    outer = not dot
    a, a_off, a_rs, a_cs = A
    b, b_off, b_rs, b_cs = B
    c, c_off, ldc = C
    kind, code, z, a_out = epi
    a_direct = outer or a_cs == 1
    # Rows of B far apart in memory fall into few L1 sets and evict each other while a
    # column strip is in use: packed instead.
    b_direct = (b_cs == 1 and b_rs <= DIRECT_ROWS_MAX) if outer else b_rs == 1
    MC, NC = blocks[1], blocks[2]
    # k in equal steps of at most KC (784 = 4 × 196, not 3 × 256 + 16: a thin last step
    # would pay the tiles' fixed costs for little work) — for the dot tile, of at most
    # DOT_KC: each step ends in nine horizontal sums, so it wants long ones.
    k_step = DOT_KC if dot else blocks[0]
    KC = -(-k // -(-k // k_step)) if k > 0 else 1
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, max(k, 1), KC):
            kc = min(KC, k - pc)
            tile_mode = mode if pc == 0 else ADD
            if not b_direct:
                _pack(b, b_off, b_cs, b_rs, jc, nc, pc, kc, NR, outer, bp)
            for ic in range(0, m, MC):
                mc = min(MC, m - ic)
                if not a_direct:
                    _pack(a, a_off, a_rs, a_cs, ic, mc, pc, kc, MR, outer, ap)
                for jr in range(0, nc, NR):
                    nr = min(NR, nc - jr)
                    j0 = jc + jr
                    if not b_direct:
                        b_tile = (bp, jr * kc, NR if outer else kc)
                    elif outer and nr < NR:  # a narrow last panel, copied with zeros after it
                        _pack(b, b_off, b_cs, b_rs, j0, nr, pc, kc, NR, outer, bp)
                        b_tile = (bp, ZERO, NR)
                    else:
                        b_tile = (b, b_off + pc * b_rs + j0 * b_cs, b_rs if outer else b_cs)
                    for ir in range(0, mc, MR):
                        i0 = ic + ir
                        if a_direct:
                            a_tile = (a, a_off + i0 * a_rs + pc * a_cs, a_rs, a_cs)
                        elif outer:
                            a_tile = (ap, ir * kc, ONE, MR)
                        else:
                            a_tile = (ap, ir * kc, kc, ONE)
                        _tile_product(dot, kc, a_tile, b_tile, (c, c_off + i0 * ldc + j0, ldc), min(MR, mc - ir),
                                      nr, tile_mode, (bias[0], bias[1] + i0))
                if pc + KC >= k and kind != EPI_NONE:  # these rows of C are final
                    for i in range(ic, ic + mc):
                        e = i * ldc + jc
                        s = c_off + e
                        if kind == EPI_FORWARD:
                            activation_forward(code, c[s:s + nc], a_out[e:e + nc], fast)
                        else:
                            activation_backward(code, z[e:e + nc], a_out[e:e + nc], c[s:s + nc], fast)


def pack_sizes(dtype, blocks, k):
    """Elements of the two packing buffers ``gemm`` needs for ``blocks = (KC, MC, NC)`` and
    products at most ``k`` deep (the dot tile steps along k by up to DOT_KC; MC and NC
    rounded up to whole tiles of either shape)."""
    KC, MC, NC = blocks
    kc = min(max(KC, DOT_KC), max(k, 1))
    return kc * round_to_tiles(dtype, MC, 0), kc * round_to_tiles(dtype, NC, 1)


def round_to_tiles(dtype, x, axis):
    """x rounded up to a multiple of both tiles' extent along ``axis`` (0: MR, 1: NR)."""
    step = np.lcm(tile_shape(dtype, True)[axis], tile_shape(dtype, False)[axis])
    return int(-(-x // step) * step)
