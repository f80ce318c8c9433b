"""exp, log and pow that LLVM can vectorise across virtual patients.

``math.exp`` and ``math.pow`` compile to calls into the C library, which stop LLVM
from vectorising a loop over patients (numba's vectorised math library, SVML, needs
a patched LLVM that the PyPI wheels do not have). These versions use only
arithmetic, bit casts and selects, so a generated right-hand side evaluated for a batch
of patients becomes SIMD code.

They are written as LLVM IR (numba ``@intrinsic``\\ s): each call site calls an
``internal alwaysinline`` function that is added once to the caller's LLVM module, and
LLVM's inliner puts the body in place before the loop vectoriser runs. Written in Python
and inlined by numba instead (``inline="always"``), the same arithmetic made compiling a
model about four times slower (numba types every inlined body again at every call).
The caller's fast-math flags (numba's ``fastmath=``) apply to these bodies too, as numba
adds them to every float instruction of the module.

Accuracy (checked against the C library in ``tests/test_vmath.py``): exp and log
within two units in the last place; ``pow(x, y) = exp(y log x)`` within about
``|y log x|`` more, i.e. ~1e-14 relative for the magnitudes of cell counts. That is
far below the integration tolerances nksim allows (rtol >= 1e-12).

Methods: Cody-Waite range reduction with a degree-11 polynomial for exp;
``log(1+f) = f - s (f - R(s^2))`` with ``s = f/(2+f)`` and a degree-6 polynomial in
``s^2`` for R (the arrangement of fdlibm's e_log.c). Both polynomials are near-minimax
(Chebyshev) fits computed with 40 digits (mpmath ``chebyfit``): exp on
``|r| <= 1.0001 ln2/2`` within 3.2e-18 relative, R's polynomial
``(2 atanh(sqrt z)/sqrt z - 2)/z`` on ``0 <= z <= 1.0001 ((sqrt 2 - 1)/(sqrt 2 + 1))^2``
within 3.1e-16 (about 2e-18 of log). They are evaluated by Estrin's scheme, not Horner's:
a loop over patients is bound by the number of operations and their chains, and these
degrees and that order made W1's right-hand side 14 % cheaper (f(y) with the Jacobian
10 %, the whole solve 6 %) than the degree-13 and degree-11 Taylor series by Horner
(issue 13; exp and log stay within 1 ulp of the C library on the inputs of the tests).
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LN2_HI = 6.93147180369123816490e-01  # upper bits of ln 2 (exact in 32 bits)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_SQRT2 = 1.4142135623730951
_TWO54 = 18014398509481984.0
_TINY = 2.2250738585072014e-308  # smallest normal double
_EXP_COEFFICIENTS = [  # e**r, |r| <= ln2/2 (see Methods above); c0 = c1 = 1 exactly
    1.0,
    1.0,
    0.5000000000000019,
    0.1666666666666668,
    0.04166666666648795,
    0.008333333333319589,
    0.0013888888952352863,
    0.00019841269890076403,
    2.4801485441561313e-05,
    2.755724088722987e-06,
    2.763265472252779e-07,
    2.5110049204818658e-08,
]
_LOG_COEFFICIENTS = [  # R(z)/z, z = s**2 (see Methods above)
    0.666666666666667,
    0.39999999999899444,
    0.2857142862600327,
    0.22222211130259878,
    0.18182889455674947,
    0.15331710618210773,
    0.14616585424888623,
]

_F64 = ir.DoubleType()
_I64 = ir.IntType(64)


def _c(value: float) -> ir.Constant:
    return ir.Constant(_F64, value)


def _estrin(b: ir.IRBuilder, x, coefficients: list[float]):
    """c0 + c1 x + c2 x^2 + ... by Estrin's scheme: pairs c_2i + c_2i+1 x, then pairs of
    those with x^2, then with x^4, ...: chains of about log2(degree) multiply-adds
    instead of Horner's degree."""
    terms = [_c(c) for c in coefficients]
    power = x
    while len(terms) > 1:
        pairs = [b.fadd(terms[i], b.fmul(terms[i + 1], power))
                 for i in range(0, len(terms) - 1, 2)]
        terms = pairs + terms[len(pairs) * 2:]
        power = b.fmul(power, power) if len(terms) > 1 else power
    return terms[0]


def _floor(b: ir.IRBuilder, x):
    fn = b.module.declare_intrinsic("llvm.floor", [_F64])
    return b.call(fn, [x])


def _pow2(b: ir.IRBuilder, k):
    """2**k for an integral double k in [-1022, 1023], by building its bits."""
    bits = b.shl(b.add(b.fptosi(k, _I64), ir.Constant(_I64, 1023)), ir.Constant(_I64, 52))
    return b.bitcast(bits, _F64)


def _exp_body(b: ir.IRBuilder, x):
    xc = b.select(b.fcmp_ordered("<", x, _c(710.0)), x, _c(710.0))
    xc = b.select(b.fcmp_ordered(">", xc, _c(-746.0)), xc, _c(-746.0))
    k = _floor(b, b.fadd(b.fmul(xc, _c(_INV_LN2)), _c(0.5)))
    r = b.fsub(b.fsub(xc, b.fmul(k, _c(_LN2_HI))), b.fmul(k, _c(_LN2_LO)))
    # 1 + (r + r^2 (c2 + c3 r + ...)): the leading terms added last, Horner-like, keep the
    # result within 1 ulp; the rest by Estrin
    tail = _estrin(b, r, _EXP_COEFFICIENTS[2:])
    p = b.fadd(_c(1.0), b.fadd(r, b.fmul(b.fmul(r, r), tail)))
    k1 = _floor(b, b.fmul(_c(0.5), k))
    res = b.fmul(b.fmul(p, _pow2(b, k1)), _pow2(b, b.fsub(k, k1)))  # exact for subnormals
    res = b.select(b.fcmp_ordered(">", x, _c(709.782712893384)), _c(math.inf), res)
    return b.select(b.fcmp_unordered("!=", x, x), x, res)


def _log_body(b: ir.IRBuilder, x):
    scaled = b.fcmp_ordered("<", x, _c(_TINY))
    xs = b.select(scaled, b.fmul(x, _c(_TWO54)), x)
    bits = b.bitcast(xs, _I64)
    e = b.sub(b.and_(b.ashr(bits, ir.Constant(_I64, 52)), ir.Constant(_I64, 0x7FF)),
              ir.Constant(_I64, 1023))
    mant = b.or_(b.and_(bits, ir.Constant(_I64, 0x000FFFFFFFFFFFFF)),
                 ir.Constant(_I64, 0x3FF0000000000000))
    m = b.bitcast(mant, _F64)
    big = b.fcmp_ordered(">", m, _c(_SQRT2))
    m = b.select(big, b.fmul(m, _c(0.5)), m)
    ef = b.fsub(b.fadd(b.sitofp(e, _F64), b.select(big, _c(1.0), _c(0.0))),
                b.select(scaled, _c(54.0), _c(0.0)))
    f = b.fsub(m, _c(1.0))
    s = b.fdiv(f, b.fadd(_c(2.0), f))
    z = b.fmul(s, s)
    r = b.fmul(z, _estrin(b, z, _LOG_COEFFICIENTS))
    res = b.fadd(b.fmul(ef, _c(_LN2_HI)),
                 b.fadd(b.fsub(f, b.fmul(s, b.fsub(f, r))), b.fmul(ef, _c(_LN2_LO))))
    res = b.select(b.fcmp_ordered("==", x, _c(0.0)), _c(-math.inf), res)
    nan = b.or_(b.fcmp_ordered("<", x, _c(0.0)), b.fcmp_unordered("!=", x, x))
    res = b.select(nan, _c(math.nan), res)
    return b.select(b.fcmp_ordered("==", x, _c(math.inf)), _c(math.inf), res)


def _pow_body(b: ir.IRBuilder, x, y):
    ax = b.call(b.module.declare_intrinsic("llvm.fabs", [_F64]), [x])
    res = b.call(_function(b.module, "exp"), [
        b.fmul(y, b.call(_function(b.module, "log"), [ax]))])
    at_zero = b.select(b.fcmp_ordered(">", y, _c(0.0)), _c(0.0),
                       b.select(b.fcmp_ordered("==", y, _c(0.0)), _c(1.0), _c(math.inf)))
    res = b.select(b.fcmp_ordered("==", ax, _c(0.0)), at_zero, res)
    fy = _floor(b, y)
    odd = b.fcmp_unordered("!=", b.fsub(y, b.fmul(_c(2.0), _floor(b, b.fmul(_c(0.5), y)))),
                           _c(0.0))
    negative = b.select(b.fcmp_unordered("!=", y, fy), _c(math.nan),
                        b.select(odd, b.fneg(res), res))
    res = b.select(b.fcmp_ordered("<", x, _c(0.0)), negative, res)
    return b.select(b.fcmp_ordered("==", y, _c(0.0)), _c(1.0), res)


_BODIES = {"exp": (_exp_body, 1), "log": (_log_body, 1), "pow": (_pow_body, 2)}


def _function(module: ir.Module, name: str) -> ir.Function:
    """``nksim.v<name>`` in ``module``: declared and defined on first use, internal and
    always inlined."""
    symbol = f"nksim.v{name}"
    try:
        return module.get_global(symbol)
    except KeyError:
        pass
    body, arity = _BODIES[name]
    fn = ir.Function(module, ir.FunctionType(_F64, [_F64] * arity), symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(body(builder, *fn.args))
    return fn


def _math_intrinsic(name: str, arity: int):
    def typer(typingctx, *args):
        if len(args) != arity or not all(isinstance(a, types.Number) for a in args):
            return None
        sig = types.float64(*args)

        def codegen(context, builder, signature, values):
            values = [context.cast(builder, v, t, types.float64)
                      for v, t in zip(values, signature.args, strict=True)]
            return builder.call(_function(builder.module, name), values)

        return sig, codegen

    typer.__name__ = f"v{name}"
    return typer


@intrinsic
def vexp(typingctx, x):
    """e**x (``inf`` above 709.78, 0 far below -745)."""
    return _math_intrinsic("exp", 1)(typingctx, x)


@intrinsic
def vlog(typingctx, x):
    """Natural logarithm (``-inf`` at 0, NaN below 0)."""
    return _math_intrinsic("log", 1)(typingctx, x)


@intrinsic
def vpow(typingctx, x, y):
    """x**y for real y (NaN for x < 0 unless y is an integer)."""
    return _math_intrinsic("pow", 2)(typingctx, x, y)
