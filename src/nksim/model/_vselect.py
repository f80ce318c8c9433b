"""Branch-free choices for generated model code: ``vselect(c, a, b)`` and ``vfinite(x)``.

``a if c else b`` in Python becomes three blocks of numba IR (a test, two arms and a join),
and numba's passes (SSA reconstruction, liveness, lowering) cost about the number of blocks
times the number of variables: the 20-odd such choices of a de Pillis right-hand side,
Jacobian and LU made compiling it markedly slower. LLVM turns them into ``select``
instructions anyway (it must, to vectorise a loop over patients), so these intrinsics
write the ``select`` directly (numba ``@intrinsic``, as in :mod:`nksim.model._vmath`): the
same value for every input, one numba expression instead of three blocks.

Both arms are computed (as in the vectorised loop already): generated model code is
arithmetic on floats under ``error_model="numpy"``, which never raises (a division by zero
gives inf, a domain error NaN), so computing the arm not taken changes nothing.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_F64 = ir.DoubleType()


@intrinsic
def vselect(typingctx, cond, a, b):
    """``a if cond else b`` as float64, both computed."""
    if not isinstance(cond, types.Boolean) or not all(
            isinstance(t, types.Number | types.Boolean) for t in (a, b)):
        return None

    def codegen(context, builder, signature, args):
        c, x, y = (context.cast(builder, v, t, r) for v, t, r in
                   zip(args, signature.args, (types.boolean, types.float64, types.float64),
                       strict=True))
        return builder.select(c, x, y)

    return types.float64(cond, a, b), codegen


@intrinsic
def vfinite(typingctx, x):
    """``x if abs(x) < inf else 0.0``: 0 for NaN and +-inf."""
    if not isinstance(x, types.Number):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        fabs = builder.module.declare_intrinsic("llvm.fabs", [_F64])
        ok = builder.fcmp_ordered("<", builder.call(fabs, [v]), ir.Constant(_F64, math.inf))
        return builder.select(ok, v, ir.Constant(_F64, 0.0))

    return types.float64(x), codegen
