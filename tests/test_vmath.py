"""The vectorisable exp/log/pow against the C library (NumPy) over their whole range."""

from __future__ import annotations

import re

import numba as nb
import numpy as np
import pytest

from nksim.model._vmath import vexp, vlog, vpow

EPS = np.finfo(float).eps


@nb.njit(error_model="numpy")
def _apply_exp(x, out):
    for i in range(x.size):
        out[i] = vexp(x[i])


@nb.njit(error_model="numpy")
def _apply_log(x, out):
    for i in range(x.size):
        out[i] = vlog(x[i])


@nb.njit(error_model="numpy")
def _apply_pow(x, y, out):
    for i in range(x.size):
        out[i] = vpow(x[i], y[i])


def _run(f, x):
    out = np.empty_like(x)
    {vexp: _apply_exp, vlog: _apply_log}[f](x, out)
    return out


RNG = np.random.default_rng(12345)


def test_exp_is_within_two_ulp_for_normal_results():
    x = np.concatenate([RNG.uniform(-708, 709, 400_000), RNG.uniform(-1, 1, 100_000)])
    ref = np.exp(x)
    assert np.max(np.abs(_run(vexp, x) - ref) / ref) <= 2 * EPS


def test_log_is_within_two_ulp():
    x = np.concatenate([10.0 ** RNG.uniform(-307, 308, 400_000), RNG.uniform(0.5, 2, 100_000),
                        np.array([5e-324, 1e-310, 2.2250738585072014e-308])])
    ref = np.log(x)
    err = np.abs(_run(vlog, x) - ref) / np.maximum(np.abs(ref), 1e-300)
    assert np.max(err[np.abs(ref) > 1e-3]) <= 2 * EPS
    assert np.max(np.abs(_run(vlog, x) - ref)[np.abs(ref) <= 1e-3]) <= 2 * EPS


@pytest.mark.parametrize("x, expected", [
    (0.0, -np.inf), (-1.0, np.nan), (np.inf, np.inf), (np.nan, np.nan), (1.0, 0.0),
])
def test_log_special_values(x, expected):
    np.testing.assert_equal(_run(vlog, np.array([x]))[0], expected)


@pytest.mark.parametrize("x, expected", [
    (800.0, np.inf), (-800.0, 0.0), (np.nan, np.nan), (np.inf, np.inf), (-np.inf, 0.0),
    (0.0, 1.0), (-740.0, np.exp(-740.0)),
])
def test_exp_special_values(x, expected):
    np.testing.assert_equal(_run(vexp, np.array([x]))[0], expected)


def test_pow_relative_error_for_cell_count_magnitudes():
    x = 10.0 ** RNG.uniform(-3, 13, 200_000)
    y = RNG.uniform(-3, 3, x.size)
    out = np.empty_like(x)
    _apply_pow(x, y, out)
    assert np.max(np.abs(out - x**y) / x**y) < 5e-14


def test_pow_special_cases_follow_ieee_pow():
    x = np.array([0.0, 0.0, 0.0, -2.0, -2.0, -2.0, 2.0, np.inf, 7.0])
    y = np.array([2.0, 0.0, -1.0, 2.0, 3.0, 0.5, 0.0, 2.0, 1.0])
    out = np.empty_like(x)
    _apply_pow(x, y, out)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(out, np.power(x, y), rtol=1e-15)


@nb.njit(error_model="numpy", fastmath={"contract"})
def _lanes_pow(x, y, out):
    for i in range(32):  # like a generated model's loop over LANES patients
        out[i] = vpow(x[i], y[i]) + vexp(-x[i])


def test_math_in_a_loop_over_lanes_is_inlined_and_vectorised():
    """The point of these functions: LLVM inlines them (no call left) and the loop becomes
    SIMD code (vectors of doubles in the optimised IR)."""
    a = np.linspace(0.5, 3.0, 32)
    _lanes_pow(a, a, np.empty(32))
    llvm = _lanes_pow.inspect_llvm(_lanes_pow.signatures[0])
    assert not re.search(r"call .*@nksim\.v(exp|log|pow)", llvm)
    assert re.search(r"<\d+ x double>", llvm)
