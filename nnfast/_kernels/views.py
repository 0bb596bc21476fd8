"""2-D views into the flat work buffers, and 1-D views of 2-D blocks, made in about a
nanosecond.

``buf[off:off + rows * cols].reshape((rows, cols))`` is what these compute, but Numba's
``reshape`` goes through a generic C helper that handles every layout: measured 30 ns per
call, 60 ns through a small njit function. A gradient pass makes a few views per layer
and block, which on the chapter's planar network (one block of 400 examples) cost more
than its dense layers. Here the array structure is filled in directly instead.
"""

from numba import njit, types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array

from .._config import JIT_INLINE


def _view(context, builder, src_type, src_value, out_type, offset, shape):
    """A C-contiguous ``out_type`` view of ``src_value`` starting ``offset`` elements in."""
    src = make_array(src_type)(context, builder, src_value)
    out = make_array(out_type)(context, builder)
    itemsize = src.itemsize
    strides = [itemsize]
    for n in reversed(shape[1:]):
        strides.insert(0, builder.mul(n, strides[0]))
    populate_array(out, data=builder.gep(src.data, [offset]), shape=cgutils.pack_array(builder, shape),
                   strides=cgutils.pack_array(builder, strides), itemsize=itemsize,
                   meminfo=src.meminfo, parent=src.parent)
    # The view shares the buffer's memory: it holds a reference like any other view.
    return impl_ret_borrowed(context, builder, out_type, out._getvalue())


def _matrix_view(buf, off, rows, cols):
    """What the compiled ``_matrix_view`` computes, for plain Python (``NUMBA_DISABLE_JIT=1``,
    the comparison script's looped column)."""
    return buf[off:off + rows * cols].reshape(rows, cols)


def _flat_view(a):
    """What the compiled ``_flat_view`` computes, for plain Python."""
    return a.reshape(a.size)


@intrinsic
def _matrix_view_ir(typingctx, buf, off, rows, cols):
    """``(rows, cols)`` view of a 1-D C-contiguous ``buf`` from element ``off``; unchecked."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None
    out_type = buf.copy(ndim=2, layout="C")

    def codegen(context, builder, sig, args):
        off_v, rows_v, cols_v = (context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:]))
        return _view(context, builder, sig.args[0], args[0], out_type, off_v, [rows_v, cols_v])
    return out_type(buf, off, rows, cols), codegen


@intrinsic
def _flat_view_ir(typingctx, a):
    """The 1-D view of a C-contiguous 2-D array."""
    if not (isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C"):
        return None
    out_type = a.copy(ndim=1, layout="C")

    def codegen(context, builder, sig, args):
        rows, cols = cgutils.unpack_tuple(builder, make_array(sig.args[0])(context, builder, args[0]).shape)
        return _view(context, builder, sig.args[0], args[0], out_type, context.get_constant(types.intp, 0),
                     [builder.mul(rows, cols)])
    return out_type(a), codegen


@overload(_matrix_view)
def _matrix_view_compiled(buf, off, rows, cols):
    return lambda buf, off, rows, cols: _matrix_view_ir(buf, off, rows, cols)


@overload(_flat_view)
def _flat_view_compiled(a):
    return lambda a: _flat_view_ir(a)


@njit(**JIT_INLINE)
def block(buf, off, rows, cols):
    """The ``(rows, cols)`` C-contiguous view of ``buf[off:off + rows*cols]``.

    buf : 1-D C-contiguous. Raises IndexError rather than make a view that reaches
    outside ``buf`` (the offsets come from ``nnfast._network.Layout``).
    """
    if off < 0 or rows < 0 or cols < 0 or off + rows * cols > buf.size:
        raise IndexError("a block view would reach outside its work buffer")
    return _matrix_view(buf, off, rows, cols)


@njit(**JIT_INLINE)
def flat(a):
    """``a.reshape(a.size)`` for a C-contiguous 2-D array: the same memory, one axis."""
    return _flat_view(a)
