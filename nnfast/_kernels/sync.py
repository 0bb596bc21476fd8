"""A barrier for the kernels' worker threads, in compiled code: no OpenMP, no parfor.

The training loop runs on T threads started from Python (``nnfast._workers``), each in
its own call of the same kernel (``nogil``): every thread works on its share of a batch,
then all meet at ``wait`` before the gradient is reduced and applied, and again before
the next batch reads the parameters. The barrier is a counter and a generation number in
a small int64 array (``sync``), updated with atomic instructions (``@intrinsic``s below,
LLVM ``atomicrmw``/atomic load and store, sequentially consistent).

Why not ``prange``: Numba's parallel region compiled the whole training tree a second time
(about 10 s of a cold start), and its threading layers are each unsafe somewhere (GNU
OpenMP kills a ``fork`` child, workqueue refuses concurrent calls from two Python
threads); Python threads around ``nogil`` kernels are safe in both cases, and a barrier
costs well under a microsecond when the threads are on their own cores.

``sync`` layout: ``[arrived, generation, aborted]``, each on its own 64-byte line (index
0, 8, 16). ``aborted`` is set from Python when a worker raised, so that the others stop
waiting and return instead of spinning forever.
"""

import sys

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from .._config import JIT, JIT_INLINE

#: Indices into ``sync`` (one cache line apart: a waiting thread's loads do not contend
#: with the arriving threads' increments more than they must).
ARRIVED, GENERATION, ABORTED = 0, 8, 16
SYNC_SIZE = 24

#: Spins between two ``sched_yield`` calls while waiting: on an oversubscribed machine a
#: waiting thread gives its core to the thread it waits for instead of spinning through
#: its time slice.
_SPINS_BEFORE_YIELD = 4096


def _pointer(context, builder, arytype, ary, index):
    array = make_array(arytype)(context, builder, ary)
    return builder.gep(array.data, [context.cast(builder, index[1], index[0], types.intp)])


@intrinsic
def atomic_add(typingctx, ary, index, value):
    """``old = ary[index]; ary[index] += value`` as one atomic step; returns ``old``."""
    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], (sig.args[1], args[1]))
        v = context.cast(builder, args[2], sig.args[2], sig.args[0].dtype)
        return builder.atomic_rmw("add", ptr, v, "seq_cst")
    return ary.dtype(ary, index, value), codegen


@intrinsic
def atomic_load(typingctx, ary, index):
    """``ary[index]``, read atomically (never a value cached in a register)."""
    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], (sig.args[1], args[1]))
        return builder.load_atomic(ptr, "seq_cst", context.get_abi_sizeof(ptr.type.pointee))
    return ary.dtype(ary, index), codegen


@intrinsic
def atomic_store(typingctx, ary, index, value):
    """``ary[index] = value``, written atomically."""
    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], (sig.args[1], args[1]))
        v = context.cast(builder, args[2], sig.args[2], sig.args[0].dtype)
        builder.store_atomic(v, ptr, "seq_cst", context.get_abi_sizeof(ptr.type.pointee))
        return context.get_dummy_value()
    return types.void(ary, index, value), codegen


@intrinsic
def _pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``; nothing elsewhere)."""
    def codegen(context, builder, sig, args):
        if builder.module.triple.startswith(("x86_64", "i686", "i386")):
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


if sys.platform == "win32":  # no sched_yield; a pause loop alone
    @njit(**JIT_INLINE)
    def _yield():
        pass
else:
    _sched_yield = types.ExternalFunction("sched_yield", types.int32())

    @njit(**JIT_INLINE)
    def _yield():
        _sched_yield()


@njit(**JIT)
def wait(sync, n_threads):
    """Block until all ``n_threads`` threads sharing ``sync`` have called ``wait`` as often
    as this one. Returns False (at once) if a worker has aborted the run."""
    if n_threads == 1:
        return atomic_load(sync, ABORTED) == 0
    generation = atomic_load(sync, GENERATION)
    if atomic_add(sync, ARRIVED, 1) == n_threads - 1:  # the last to arrive releases the others
        atomic_store(sync, ARRIVED, 0)
        atomic_add(sync, GENERATION, 1)
        return atomic_load(sync, ABORTED) == 0
    spins = 0
    while atomic_load(sync, GENERATION) == generation:
        if atomic_load(sync, ABORTED) != 0:
            return False
        _pause()
        spins += 1
        if spins == _SPINS_BEFORE_YIELD:
            spins = 0
            _yield()
    return atomic_load(sync, ABORTED) == 0
