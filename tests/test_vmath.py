"""The vectorisable exp/log/pow against the C library (NumPy) over their whole range."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest

from nksim.model._vmath import vexp, vlog, vpow

EPS = np.finfo(float).eps


@nb.njit(error_model="numpy")
def _apply1(f, x, out):
    for i in range(x.size):
        out[i] = f(x[i])


@nb.njit(error_model="numpy")
def _apply_pow(x, y, out):
    for i in range(x.size):
        out[i] = vpow(x[i], y[i])


def _run(f, x):
    out = np.empty_like(x)
    _apply1(f, x, out)
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
