"""exp, log and pow that LLVM can vectorise across virtual patients.

``math.exp`` and ``math.pow`` compile to calls into the C library, which stop LLVM
from vectorising a loop over patients (numba's vectorised math library, SVML, needs
a patched LLVM that the PyPI wheels do not have). These versions use only
arithmetic and bit casts, so a generated right-hand side evaluated for a batch of
patients becomes SIMD code.

Accuracy (checked against the C library in ``tests/test_vmath.py``): exp and log
within a few units in the last place; ``pow(x, y) = exp(y log x)`` within about
``|y log x|`` more, i.e. ~1e-14 relative for the magnitudes of cell counts. That is
far below the integration tolerances nksim allows (rtol >= 1e-12).

Methods: Cody-Waite range reduction with a degree-13 Taylor polynomial for exp;
``log(1+f) = f - s (f - R(s^2))`` with ``s = f/(2+f)`` and the atanh series for R
(the arrangement of fdlibm's e_log.c).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LN2_HI = 6.93147180369123816490e-01  # upper bits of ln 2 (exact in 32 bits)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_SQRT2 = 1.4142135623730951
_TWO54 = 18014398509481984.0
_TINY = 2.2250738585072014e-308  # smallest normal double


@intrinsic
def _bits_to_float(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _float_to_bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@nb.njit(inline="always", error_model="numpy")
def _pow2(k):
    """2**k for an integral float k in [-1022, 1023]."""
    return _bits_to_float((np.int64(k) + 1023) << 52)


@nb.njit(inline="always", error_model="numpy")
def vexp(x):
    """e**x."""
    xc = x if x < 710.0 else 710.0
    xc = xc if xc > -746.0 else -746.0
    k = math.floor(xc * _INV_LN2 + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + r * (
        1.0
        + r
        * (
            1.0 / 2
            + r
            * (
                1.0 / 6
                + r
                * (
                    1.0 / 24
                    + r
                    * (
                        1.0 / 120
                        + r
                        * (
                            1.0 / 720
                            + r
                            * (
                                1.0 / 5040
                                + r
                                * (
                                    1.0 / 40320
                                    + r
                                    * (
                                        1.0 / 362880
                                        + r
                                        * (
                                            1.0 / 3628800
                                            + r
                                            * (
                                                1.0 / 39916800
                                                + r * (1.0 / 479001600 + r * (1.0 / 6227020800.0))
                                            )
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
    )
    k1 = math.floor(0.5 * k)
    res = p * _pow2(k1) * _pow2(k - k1)  # two factors: exact for subnormal results too
    if x > 709.782712893384:
        res = np.inf
    if x != x:
        res = x
    return res


@nb.njit(inline="always", error_model="numpy")
def vlog(x):
    """Natural logarithm (``-inf`` at 0, NaN below 0)."""
    scaled = x < _TINY
    xs = x * _TWO54 if scaled else x
    bits = _float_to_bits(xs)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = _bits_to_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    ef = float(e) + (1.0 if big else 0.0) - (54.0 if scaled else 0.0)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = z * (
        2.0 / 3
        + z
        * (
            2.0 / 5
            + z
            * (
                2.0 / 7
                + z
                * (
                    2.0 / 9
                    + z
                    * (
                        2.0 / 11
                        + z
                        * (
                            2.0 / 13
                            + z
                            * (
                                2.0 / 15
                                + z
                                * (
                                    2.0 / 17
                                    + z
                                    * (2.0 / 19 + z * (2.0 / 21 + z * (2.0 / 23 + z * (2.0 / 25))))
                                )
                            )
                        )
                    )
                )
            )
        )
    )
    res = ef * _LN2_HI + ((f - s * (f - r)) + ef * _LN2_LO)
    if x == 0.0:
        res = -np.inf
    if x < 0.0 or x != x:
        res = np.nan
    if x == np.inf:
        res = np.inf
    return res


@nb.njit(inline="always", error_model="numpy")
def vpow(x, y):
    """x**y for real y (NaN for x < 0 unless y is an integer)."""
    ax = abs(x)
    res = vexp(y * vlog(ax))
    if ax == 0.0:
        res = 0.0 if y > 0.0 else (1.0 if y == 0.0 else np.inf)
    if x < 0.0:
        if y != math.floor(y):
            res = np.nan
        elif y - 2.0 * math.floor(0.5 * y) != 0.0:
            res = -res
    if y == 0.0:
        res = 1.0
    return res
