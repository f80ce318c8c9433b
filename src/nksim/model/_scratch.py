"""A float64 scratch array on the stack, for the generated one-patient functions.

``scratch(n)`` (``n`` an integer literal) is a C-contiguous float64 array of ``n``
uninitialised elements in the calling function's stack frame: no allocation and nothing
to free, valid until the caller returns (it must not be returned or stored). It replaces
``np.empty`` in :mod:`nksim.model._generate`'s one-patient wrappers because numba compiles
``np.empty``'s implementation from Python on first use in a process (about 0.2 s of a
first run), where this is a few LLVM instructions.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

_ARRAY = types.Array(types.float64, 1, "C")


@intrinsic
def scratch(typingctx, n):
    if not isinstance(n, types.IntegerLiteral) or n.literal_value < 0:
        return None
    size = n.literal_value

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        with builder.goto_entry_block():  # one alloca per call site, not per loop trip
            data = builder.alloca(ir.DoubleType(), size=ir.Constant(ir.IntType(64), max(size, 1)))
        ary = make_array(_ARRAY)(context, builder)
        populate_array(ary, data=data, shape=[ir.Constant(intp, size)],
                       strides=[ir.Constant(intp, 8)], itemsize=ir.Constant(intp, 8),
                       meminfo=None)
        return ary._getvalue()

    return _ARRAY(n), codegen
