"""Gathers of a block's examples into the workspace, in the layout its first layer's
kernels read: shuffled mini-batches, and the blocks of an X held in the other layout."""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from .._config import JIT

#: Rows ahead that ``gather_columns`` prefetches. Each element of a shuffled batch's
#: column gather is in a cache line of its own, so the loop waits on memory; asking for
#: row k + 8's elements into L2 while row k is copied keeps more misses in flight than
#: the out-of-order window does: MNIST's (784, 60000) float32, batches of 128, one
#: epoch's gathers took 0.42-0.50 s without, 0.13 s with (Zen 4; 0.13-0.15 s for 16 rows
#: ahead; prefetching into L1 instead gained nothing).
PREFETCH_ROWS = 8


@intrinsic
def _prefetch(typingctx, row, i):
    """Ask for ``row[i]`` to be brought into L2 (``llvm.prefetch``: read, locality 2): a
    hint, never a fault, so an index past the end of the data is harmless too."""
    def codegen(context, builder, sig, args):
        data = make_array(sig.args[0])(context, builder, args[0]).data
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        address = builder.bitcast(builder.gep(data, [args[1]]), i8p)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.void(row, i), codegen


@njit(**JIT)
def gather_columns(src, idx, r0, r1, dst):
    """dst[:, i - r0] = src[:, idx[i]] for i in [r0, r1).  src : (n, m); dst : (n, r1 - r0).
    Row k + ``PREFETCH_ROWS``'s elements are prefetched while row k is copied."""
    n = src.shape[0]
    for k in range(n):
        s = src[k]
        ahead = src[min(k + PREFETCH_ROWS, n - 1)]
        d = dst[k]
        for i in range(r0, r1):
            _prefetch(ahead, idx[i])
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
