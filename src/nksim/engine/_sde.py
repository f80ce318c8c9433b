"""Batched scalar stochastic differential equations with first passage, compiled with numba.

Each virtual individual ``i`` follows the Itô SDE with additive noise

    dX = a(t, X; p_i, u(t)) dt + sigma_i dW,        X(t0) = x0_i,

integrated by Euler–Maruyama on a fixed grid ``t_k = k * dt``, optionally reflected at
0 (mirror reflection ``X -> |X|``, which is exact in law for Brownian motion: Lévy's
|W|), until the first passage ``X >= threshold_i`` (the individual "dies") or an
extrinsic death with constant hazard ``lambda_i`` per time unit.

First passage between grid points: if both ends of a step lie below the threshold, the
path may still have crossed it in between. For a Brownian bridge from ``x`` to ``y``
over ``dt`` with variance rate ``sigma^2`` the crossing probability is
``exp(-2 (c - x)(c - y) / (sigma^2 dt))`` (e.g. Glasserman, Monte Carlo Methods in
Financial Engineering, 2004, §6.4; the same test as SRtools ``intervention_SR.py``);
a uniform number decides. This removes the O(sqrt(dt)) bias of checking the grid only.
A crossing inside a step is placed by linear interpolation (end above the threshold)
or at mid-step (bridge crossing).

Random numbers are counter-based: Philox4x32-10 (Salmon et al. 2011, "Parallel random
numbers: as easy as 1, 2, 3", SC'11), checked against the Random123 known-answer
vectors. Step ``k`` of individual ``i`` uses the block ``philox(counter=(k, i_lo, i_hi,
stream), key=(seed_lo, seed_hi))``: its four 32-bit words give one normal (Box–Muller),
the bridge uniform and the extrinsic-death uniform. Results therefore depend only on
(seed, individual id, step), never on batch size, thread count or machine.

The drift ``a`` is a numba first-class function (signature :data:`DRIFT_SIGNATURE`)::

    @numba.njit(DRIFT_SIGNATURE)
    def drift(t, x, p, u):   # time, state, this individual's parameters, inputs at t
        return -p[0] * x

``u`` is the row ``inputs[k]`` of a per-run table of time-dependent inputs (schedules:
treatments, declining capacities), held constant over each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numba import prange, types

__all__ = [
    "DRIFT_SIGNATURE",
    "SDEResult",
    "philox4x32",
    "stream_normals",
    "integrate_sde",
]

_U = np.uint64
_U32 = np.uint32
_M0 = _U(0xD2511F53)
_M1 = _U(0xCD9E8D57)
_W0 = _U32(0x9E3779B9)
_W1 = _U32(0xBB67AE85)
_LO32 = _U(0xFFFFFFFF)
_S32 = _U(32)
_TWO_M32 = 1.0 / 4294967296.0
STREAM_STEPS = 0  # per-step noise, bridge and extrinsic uniforms
STREAM_INDIVIDUAL = 1  # per-individual draws (heterogeneity)

# Exit causes.
ALIVE, THRESHOLD, EXTRINSIC, NON_FINITE = 0, 1, 2, 3
CAUSES = {ALIVE: "alive at end", THRESHOLD: "threshold crossed", EXTRINSIC: "extrinsic death",
          NON_FINITE: "failed: the drift gave NaN or infinity (exit_time = time of failure)"}

_f8 = types.float64
_v8 = types.float64[::1]
DRIFT_SIGNATURE = _f8(_f8, _f8, _v8, _v8)


@nb.njit(cache=True, nogil=True)
def _philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0..c3) and key (k0, k1), all uint32."""
    for r in range(10):
        if r > 0:
            k0 = _U32(k0 + _W0)
            k1 = _U32(k1 + _W1)
        p0 = _M0 * _U(c0)
        p1 = _M1 * _U(c2)
        c0, c1, c2, c3 = (_U32(_U32(p1 >> _S32) ^ c1 ^ k0), _U32(p1 & _LO32),
                          _U32(_U32(p0 >> _S32) ^ c3 ^ k1), _U32(p0 & _LO32))
    return c0, c1, c2, c3


@nb.njit(cache=True, nogil=True, inline="always")
def _block(k, i, stream, seed):
    """The four words for step ``k`` of individual ``i`` in ``stream`` (uint64 inputs)."""
    return _philox(_U32(k & _LO32), _U32(i & _LO32), _U32(i >> _S32), _U32(stream),
                   _U32(seed & _LO32), _U32(seed >> _S32))


@nb.njit(cache=True, nogil=True, inline="always")
def _unit_open(w):
    """A uint32 word as a uniform number in (0, 1]."""
    return (float(w) + 1.0) * _TWO_M32


@nb.njit(cache=True, nogil=True, inline="always")
def _unit(w):
    """A uint32 word as a uniform number in [0, 1)."""
    return float(w) * _TWO_M32


@nb.njit(cache=True, nogil=True, inline="always")
def _normal(w0, w1):
    """Box–Muller: one standard normal from two words."""
    return math.sqrt(-2.0 * math.log(_unit_open(w0))) * math.cos(2.0 * math.pi * _unit(w1))


def philox4x32(counter, key) -> np.ndarray:
    """Philox4x32-10 of one 4-word counter and 2-word key: the four output words.

    Checked against the Random123 known-answer vectors (``kat_vectors``).
    """
    c = [_U32(int(v) & 0xFFFFFFFF) for v in counter]
    k = [_U32(int(v) & 0xFFFFFFFF) for v in key]
    return np.array(_philox(c[0], c[1], c[2], c[3], k[0], k[1]), dtype=np.uint32)


@nb.njit(cache=True, nogil=True, parallel=True)
def _stream_normals(seed, ids, n, stream, out):
    for j in prange(ids.size):
        i = _U(ids[j])
        for m in range((n + 1) // 2):
            w0, w1, w2, w3 = _block(_U(m), i, _U(stream), seed)
            r = math.sqrt(-2.0 * math.log(_unit_open(w0)))
            a = 2.0 * math.pi * _unit(w1)
            out[j, 2 * m] = r * math.cos(a)
            if 2 * m + 1 < n:
                out[j, 2 * m + 1] = r * math.sin(a)


def stream_normals(seed: int, ids: np.ndarray, n: int, stream: int = STREAM_INDIVIDUAL
                   ) -> np.ndarray:
    """``n`` standard normals per individual id, from its own counter-based stream.

    Row ``j`` depends only on ``(seed, ids[j], stream)``: use it for per-individual
    heterogeneity that must not change with batch size.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    out = np.empty((ids.size, int(n)))
    if n > 0 and ids.size:
        _stream_normals(_seed_word(seed), ids, int(n), int(stream), out)
    return out


def _seed_word(seed: int) -> np.uint64:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= int(seed) < 2**64):
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return _U(int(seed))


_KERNEL_SIGNATURE = types.void(
    types.FunctionType(DRIFT_SIGNATURE),
    types.int64[::1],  # ids
    _v8, _v8, _v8, _v8,  # x0, sigma, threshold, extrinsic hazard
    types.float64[:, ::1],  # params
    types.float64[:, ::1],  # inputs (time table)
    _f8, types.int64, types.int64,  # dt, k0, k_end
    types.boolean,  # reflect at 0
    types.boolean,  # Brownian-bridge crossing test
    types.uint64,  # seed word
    types.int64[::1],  # record steps (ascending)
    _v8, types.int64[::1], _v8,  # exit time, cause, x at exit / end
    types.float64[:, ::1],  # records
    _v8, _v8,  # level, time below level
)


@nb.njit(_KERNEL_SIGNATURE, cache=True, nogil=True, parallel=True, error_model="numpy")
def _kernel(drift, ids, x0, sigma, threshold, hazard, params, inputs, dt, k0, k_end,
            reflect, bridge, seed, rec_steps, exit_time, cause, x_end, records, level,
            time_below):
    n_rows = inputs.shape[0]
    n_rec = rec_steps.size
    sqdt = math.sqrt(dt)
    for j in prange(ids.size):
        i = _U(ids[j])
        x = x0[j]
        s = sigma[j]
        c = threshold[j]
        lam = hazard[j]
        p_ext = -math.expm1(-lam * dt) if lam > 0.0 else 0.0
        var_dt = s * s * dt
        p = params[j]
        r = 0
        while r < n_rec and rec_steps[r] < k0:
            records[j, r] = np.nan
            r += 1
        exit_time[j] = np.nan
        cause[j] = ALIVE
        below = 0.0
        lev = level[j]
        if x >= c:  # already past the threshold at the start
            exit_time[j] = k0 * dt
            cause[j] = THRESHOLD
        k = k0
        while cause[j] == ALIVE and k < k_end:
            if r < n_rec and rec_steps[r] == k:
                records[j, r] = x
                r += 1
            t = k * dt
            u = inputs[min(k, n_rows - 1)]
            w0, w1, w2, w3 = _block(_U(k), i, _U(STREAM_STEPS), seed)
            z = _normal(w0, w1)
            y = x + drift(t, x, p, u) * dt + s * sqdt * z
            if not math.isfinite(y):
                exit_time[j] = t
                cause[j] = NON_FINITE
                break
            if reflect and y < 0.0:
                y = -y
            t_cross = np.inf
            if y >= c:
                t_cross = t + dt * (c - x) / (y - x)
            elif bridge and var_dt > 0.0:
                if _unit(w2) < math.exp(-2.0 * (c - x) * (c - y) / var_dt):
                    t_cross = t + 0.5 * dt
            t_ext = np.inf
            if p_ext > 0.0:
                v = _unit(w3)
                if v < p_ext:
                    t_ext = t - math.log1p(-v) / lam
            if t_cross < np.inf or t_ext < np.inf:
                if t_cross <= t_ext:
                    exit_time[j] = t_cross
                    cause[j] = THRESHOLD
                else:
                    exit_time[j] = t_ext
                    cause[j] = EXTRINSIC
            if x < lev:
                below += (exit_time[j] - t) if cause[j] != ALIVE else dt
            x = y
            k += 1
        if cause[j] == ALIVE and r < n_rec and rec_steps[r] == k:
            records[j, r] = x
            r += 1
        while r < n_rec:
            records[j, r] = np.nan
            r += 1
        x_end[j] = x
        time_below[j] = below


@dataclass(frozen=True)
class SDEResult:
    """Exit times and records of a batch.

    ``exit_time[j]`` is the time of the first passage or extrinsic death (NaN if alive at
    ``t_end``); ``cause[j]`` is one of :data:`CAUSES`; ``x_end[j]`` is the state at the
    last step taken; ``records[j, r]`` is X at ``record_times[r]`` (NaN once exited or
    before ``t0``); ``time_below[j]`` is the time from ``t0`` to the exit (or ``t_end``)
    spent with X below ``level`` (left-point rule on the grid).
    """

    ids: np.ndarray
    exit_time: np.ndarray
    cause: np.ndarray
    x_end: np.ndarray
    record_times: np.ndarray
    records: np.ndarray
    dt: float
    t0: float
    t_end: float
    seed: int
    time_below: np.ndarray

    @property
    def exited(self) -> np.ndarray:
        return self.cause != ALIVE


def _column(value, n: int, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=float), (n,)))
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr.copy()


def _steps(t: float, dt: float, what: str) -> int:
    k = round(t / dt)
    if abs(k * dt - t) > 1e-9 * max(1.0, abs(t)):
        raise ValueError(f"{what} = {t} is not a multiple of dt = {dt}")
    return int(k)


def integrate_sde(
    drift,
    *,
    n: int | None = None,
    ids: np.ndarray | None = None,
    x0=0.0,
    sigma=1.0,
    threshold=np.inf,
    extrinsic_hazard=0.0,
    params: np.ndarray | None = None,
    inputs: np.ndarray | None = None,
    dt: float,
    t_end: float,
    t0: float = 0.0,
    reflect: bool = False,
    bridge: bool = True,
    seed: int = 0,
    record_times: np.ndarray | None = None,
    level=np.inf,
    threads: int | None = None,
) -> SDEResult:
    """Integrate a batch of individuals of a scalar SDE to ``t_end`` or their exit.

    Parameters
    ----------
    drift : numba function with signature :data:`DRIFT_SIGNATURE`.
    n, ids : batch size, or explicit individual ids (default ``0..n-1``); an id fixes the
        individual's random stream.
    x0, sigma, threshold, extrinsic_hazard : scalars or per-individual arrays (state
        units; state/sqrt(time); state; 1/time).
    params : ``(n, m)`` per-individual parameters passed to ``drift`` (row ``p``).
    inputs : ``(rows, q)`` time table; step ``k`` sees row ``min(k, rows-1)``.
    dt, t0, t_end : grid step and span; ``t0`` and ``t_end`` must be multiples of ``dt``
        (steps are counted from time 0, so a run started at ``t0`` continues the same
        random streams as a run started earlier).
    reflect : mirror reflection at 0.
    bridge : Brownian-bridge test for crossings between grid points (switch off only to
        show the bias it removes).
    seed : non-negative integer.
    record_times : grid times (multiples of ``dt``) at which X is stored.
    level : scalar or per-individual; the result's ``time_below`` is the time spent below.
    threads : numba threads for this call (default: numba's setting).
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be > 0, got {dt}")
    if ids is None:
        if n is None:
            raise ValueError("give n or ids")
        ids = np.arange(int(n), dtype=np.int64)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n = ids.size
    if np.any(ids < 0):
        raise ValueError("ids must be non-negative")
    k0 = _steps(t0, dt, "t0")
    k_end = _steps(t_end, dt, "t_end")
    if k_end < k0:
        raise ValueError("t_end must be >= t0")
    sigma = _column(sigma, n, "sigma")
    if np.any(sigma < 0):
        raise ValueError("sigma must be >= 0")
    x0a = _column(x0, n, "x0")
    thr = np.ascontiguousarray(np.broadcast_to(np.asarray(threshold, float), (n,))).copy()
    haz = _column(extrinsic_hazard, n, "extrinsic_hazard")
    if np.any(haz < 0):
        raise ValueError("extrinsic_hazard must be >= 0")
    params = np.zeros((n, 1)) if params is None else np.ascontiguousarray(params, dtype=float)
    if params.ndim != 2 or params.shape[0] != n:
        raise ValueError(f"params must have shape ({n}, m)")
    if params.shape[1] == 0:
        params = np.zeros((n, 1))
    inputs = np.zeros((1, 1)) if inputs is None else np.ascontiguousarray(inputs, dtype=float)
    if inputs.ndim != 2 or inputs.shape[0] == 0:
        raise ValueError("inputs must be a 2-D table with at least one row")
    if inputs.shape[1] == 0:
        inputs = np.zeros((inputs.shape[0], 1))
    rt = np.zeros(0) if record_times is None else np.asarray(record_times, dtype=float).ravel()
    rec_steps = np.array([_steps(t, dt, "record_times") for t in rt], dtype=np.int64)
    if np.any(np.diff(rec_steps) <= 0):
        raise ValueError("record_times must be strictly increasing")
    exit_time = np.empty(n)
    cause = np.empty(n, dtype=np.int64)
    x_end = np.empty(n)
    records = np.empty((n, rec_steps.size))
    lev = np.ascontiguousarray(np.broadcast_to(np.asarray(level, float), (n,))).copy()
    time_below = np.empty(n)
    old = nb.get_num_threads()
    try:
        if threads is not None:
            nb.set_num_threads(int(threads))
        _kernel(drift, ids, x0a, sigma, thr, haz, params, inputs, float(dt), k0, k_end,
                bool(reflect), bool(bridge), _seed_word(seed), rec_steps, exit_time, cause,
                x_end, records, lev, time_below)
    finally:
        nb.set_num_threads(old)
    return SDEResult(ids, exit_time, cause, x_end, rec_steps * float(dt), records,
                     float(dt), k0 * float(dt), k_end * float(dt), int(seed), time_below)
