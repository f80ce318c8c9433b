"""Rodas5P: a stiffly accurate Rosenbrock method of order 5(4), compiled with numba.

Every virtual patient is integrated on its own, with its own adaptive steps, an
analytic Jacobian, dose events (boluses and zero-order infusions), extinction
events and non-negative cell counts. For speed, :data:`LANES` patients run side by
side: one step attempt is made for all lanes at once, so that the model's
right-hand side, the Rosenbrock matrix and its LU factors are computed in SIMD
across patients, while acceptance, step size, doses and records stay per lane. A
lane whose patient is done loads the next one. Arrays are flat and lane-minor
(element ``i`` of lane ``b`` at ``i*LANES + b``). The solver is compiled once for
all models: a model's functions come in as numba first-class functions.

Method: Steinebach G. (2023) Construction of Rosenbrock-Wanner method Rodas5P and
numerical benchmarks within the Julia Differential Equations package. BIT Numer Math
63:27. doi:10.1007/s10543-023-00967-x. Coefficients in Hairer's transformed form
(stage increments ``k_i`` solve ``(I/(h*gamma) - J) k_i = f(u_i) + sum_j C_ij/h k_j``;
Hairer & Wanner, Solving ODEs II, §IV.7), the embedded error estimate is the last
increment ``k8``, and the dense output is of order 4.

Status codes (see :data:`STATUS_MESSAGES`): 0 ok, 1 too many steps, 2 step size
underflow, 3 the model produced NaN or infinity that smaller steps could not avoid.
"""

from __future__ import annotations

import sys
import time

import numba as nb
import numpy as np
from numba import types

from nksim.model import _codegen
from nksim.model._codegen import (
    FW_LANES_SIGNATURE,
    JAC_SIGNATURE,
    LU_LANES_SIGNATURE,
    RHS_LANES_SIGNATURE,
    RHS_SIGNATURE,
    SOLVE_LANES_SIGNATURE,
)
from nksim.model._vmath import vpow

# ---------------------------------------------------------------- tableau
GAMMA = 0.21193756319429014
A = np.zeros((8, 8))
A[1, 0] = 3.0
A[2, :2] = [2.849394379747939, 0.45842242204463923]
A[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
A[4, :4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641]
A[5, :5] = [
    -7.502846399306121,
    2.561846144803919,
    -11.627539656261098,
    -0.18268767659942256,
    0.030198172008377946,
]
C = np.zeros((8, 8))
C[1, :1] = [-14.155112264123755]
C[2, :2] = [-17.97296035885952, -2.859693295451294]
C[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
C[4, :4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306]
C[5, :5] = [
    24.854864614690072,
    -3.0009227002832186,
    47.4931110020768,
    5.5814197821558125,
    -0.6610691825249471,
]
C[6, :6] = [
    30.91273214028599,
    -3.1208243349937974,
    77.79954646070892,
    34.28646028294783,
    -19.097331116725623,
    -28.087943162872662,
]
C[7, :7] = [
    37.80277123390563,
    -3.2571969029072276,
    112.26918849496327,
    66.9347231244047,
    -40.06618937091002,
    -54.66780262877968,
    -9.48861652309627,
]
# Dense output: y(theta) = (1-theta) y0 + theta (y1 + (1-theta)(K1 + theta (K2 + theta K3))),
# with K_m = sum_j H[m, j] k_j.
H = np.array(
    [
        [
            25.948786856663858,
            -2.5579724845846235,
            10.433815404888879,
            -2.3679251022685204,
            0.524948541321073,
            1.1241088310450404,
            0.4272876194431874,
            -0.17202221070155493,
        ],
        [
            -9.91568850695171,
            -0.9689944594115154,
            3.0438037242978453,
            -24.495224566215796,
            20.176138334709044,
            15.98066361424651,
            -6.789040303419874,
            -6.710236069923372,
        ],
        [
            11.419903575922262,
            2.8879645146136994,
            72.92137995996029,
            80.12511834622643,
            -52.072871366152654,
            -59.78993625266729,
            -0.15582684282751913,
            4.883087185713722,
        ],
    ]
)
ORDER_EMBEDDED = 4  # the error estimate is O(h^5)

# Patients per batch. Set here (not imported) so that numba's cache of this file is
# invalidated when it changes; it must equal the lane count of the generated code.
LANES = 32
if LANES != _codegen.LANES:  # pragma: no cover - a development error
    raise ImportError("nksim.engine._rodas5p.LANES must equal nksim.model._codegen.LANES")

# ---------------------------------------------------------------- signatures
_i8, _f8 = types.int64, types.float64
_v8, _m8 = types.float64[::1], types.float64[:, ::1]
_a3 = types.float64[:, :, :]  # out: any strides, so a caller can pass a view
_vi, _vb = types.int64[::1], types.boolean[::1]
SOLVER_SIGNATURE = types.void(
    types.FunctionType(RHS_SIGNATURE),
    types.FunctionType(JAC_SIGNATURE),
    types.FunctionType(RHS_LANES_SIGNATURE),
    types.FunctionType(FW_LANES_SIGNATURE),
    types.FunctionType(LU_LANES_SIGNATURE),
    types.FunctionType(SOLVE_LANES_SIGNATURE),
    _i8,
    _i8,  # patient range [lo, hi)
    _m8,
    _m8,
    _v8,
    _f8,
    _f8,  # y0, params, t_record, t0, t_end
    _vi,
    _v8,
    _vi,
    _v8,
    _v8,  # dose events: ev_ptr, ev_time, ev_state, ev_bolus, ev_rate
    _v8,
    _vb,
    _f8,
    _v8,
    _f8,
    _i8,  # threshold, nonneg, rtol, atol, h_max, max_steps
    _a3,
    _m8,
    _m8,  # out, ext_time, stats
)

OK, TOO_MANY_STEPS, STEP_UNDERFLOW, NON_FINITE = 0, 1, 2, 3
STATUS_MESSAGES = {
    OK: "ok",
    TOO_MANY_STEPS: "too many steps (raise max_steps, or loosen rtol/atol)",
    STEP_UNDERFLOW: "step size fell below 1e-14 of the time scale (the model is too stiff "
    "or not smooth here)",
    NON_FINITE: "the model produced NaN or infinity that smaller steps could not avoid",
}
_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 6.0


# ---------------------------------------------------------------- one-lane helpers
@nb.njit(cache=True, nogil=True, error_model="numpy")
def _lane_lu(a, piv, dinv):
    """Dense LU with partial pivoting of ``a`` (n, n) in place; False if singular."""
    n = a.shape[0]
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > big:
                big = abs(a[i, k])
                p = i
        piv[k] = p
        if not (0.0 < big < np.inf):
            return False
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        dinv[k] = 1.0 / a[k, k]
        for i in range(k + 1, n):
            f = a[i, k] * dinv[k]
            a[i, k] = f
            for j in range(k + 1, n):
                a[i, j] -= f * a[k, j]
    return True


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _lane_solve(a, piv, dinv, r, b):
    """Solve lane ``b`` of the flat lane-minor ``r`` with the factors of :func:`_lane_lu`."""
    n = a.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = r[k * LANES + b]
            r[k * LANES + b] = r[p * LANES + b]
            r[p * LANES + b] = tmp
    for i in range(1, n):
        for j in range(i):
            r[i * LANES + b] -= a[i, j] * r[j * LANES + b]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            r[i * LANES + b] -= a[i, j] * r[j * LANES + b]
        r[i * LANES + b] *= dinv[i]


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _dense(theta, y0, y1, kd, n, i, b):
    """Dense output of state ``i`` of lane ``b`` at ``t + theta*h``."""
    x = i * LANES + b
    th1 = 1.0 - theta
    return th1 * y0[x] + theta * (
        y1[x] + th1 * (kd[x] + theta * (kd[n * LANES + x] + theta * kd[2 * n * LANES + x]))
    )


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _lane_f(rhs, y, p, rate, keep, b, ys, ps, out):
    """f(y) of lane ``b`` alone, with infusion rates; frozen states do not move."""
    for i in range(ys.shape[0]):
        ys[i] = y[i * LANES + b]
    for i in range(ps.shape[0]):
        ps[i] = p[i * LANES + b]
    rhs(ys, ps, out)
    for i in range(ys.shape[0]):
        out[i] = (out[i] + rate[i * LANES + b]) * keep[i * LANES + b]


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _initial_step(rhs, y, p, rate, keep, b, ys, ps, f0, f1, rtol, atol, h_max, span):
    """Starting step size for lane ``b`` (Hairer, Norsett & Wanner, Solving ODEs I, §II.4)."""
    n = ys.shape[0]
    _lane_f(rhs, y, p, rate, keep, b, ys, ps, f0)
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        sc = atol[i] + rtol * abs(ys[i])
        d0 += (ys[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span)
    for i in range(n):
        ys[i] += h0 * f0[i]
    rhs(ys, ps, f1)
    d2 = 0.0
    for i in range(n):
        x = i * LANES + b
        f1[i] = (f1[i] + rate[x]) * keep[x]
        sc = atol[i] + rtol * abs(y[x])
        d2 += ((f1[i] - f0[i]) / sc) ** 2
    d2 = np.sqrt(d2 / n) / h0
    dm = max(d1, d2)
    if not dm < np.inf:
        h1 = h0 * 1e-3
    elif dm <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / dm) ** (1.0 / (ORDER_EMBEDDED + 1))
    return min(100.0 * h0, h1, h_max, span)


# The stage sums u = y + sum_j A[st, j] k_j and sum_j C[st, j] k_j, compiled once per stage
# with st a literal (numba.literally): the sum over the earlier stages is then unrolled with
# constant weights into one vectorised pass over the lanes (each k_j loaded once, one store)
# instead of one pass per earlier stage over a loop-carried u or r. The same additions in
# the same order, so the same bits; W1 solver CPU about 5 % less (issue 13). Called with
# literal stage numbers from the solver: through one more function that picks the stage,
# or inlined into the solver (register pressure), the gain was lost.
@nb.njit(cache=True, nogil=True, error_model="numpy")
def _u_sum(st, y, k, u):
    nb.literally(st)
    nL = u.shape[0]
    for x in range(nL):
        s = y[x]
        for j in range(st):
            s += A[st, j] * k[j * nL + x]
        u[x] = s


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _r_sum(st, k, fu, rate, keep, inv_h_x, r):
    nb.literally(st)
    nL = r.shape[0]
    for x in range(nL):
        s = 0.0
        for j in range(st):
            s += C[st, j] * k[j * nL + x]
        r[x] = (fu[x] + rate[x]) * keep[x] + inv_h_x[x] * s


# ---------------------------------------------------------------- the solver
def _solver_cache_missing() -> bool:
    """True if numba has no cached build of the solver newer than this file (a heuristic:
    numba's index file; numba itself also rebuilds when this file changes)."""
    import os
    from pathlib import Path

    pattern = "_rodas5p.integrate_range-*.nbi"
    root = os.environ.get("NUMBA_CACHE_DIR")
    found = (Path(root).rglob(pattern) if root
             else (Path(__file__).parent / "__pycache__").glob(pattern))
    source = Path(__file__).stat().st_mtime
    return not any(f.stat().st_mtime >= source for f in found)


_T_LOAD = time.perf_counter()
if _solver_cache_missing():
    print("compiling the nksim solver (first run only, about a minute)", file=sys.stderr,
          flush=True)


@nb.njit(SOLVER_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def integrate_range(
    rhs,
    jac,
    rhs_lanes,
    fw_lanes,
    lu_lanes,
    solve_lanes,
    lo,
    hi,
    y0,
    params,
    t_record,
    t0,
    t_end,
    ev_ptr,
    ev_time,
    ev_state,
    ev_bolus,
    ev_rate,
    threshold,
    nonneg,
    rtol,
    atol,
    h_max,
    max_steps,
    out,
    ext_time,
    stats,
):
    """Integrate patients ``lo..hi-1``, :data:`LANES` at a time.

    Patient ``q`` starts from ``y0[q]`` with ``params[q]`` and the dose events
    ``ev_ptr[q]:ev_ptr[q+1]`` (at ``ev_time``, ``ev_bolus`` is added to state
    ``ev_state`` and its infusion rate changes by ``ev_rate``; values recorded at a
    dose time are post-dose). ``threshold[s] > 0`` makes state ``s`` extinct below
    it (held at zero, time in ``ext_time``); ``nonneg[s]`` keeps it >= 0.
    Writes ``out[state, q, record]`` (state-major: each state's block is a patients x
    records table, ready for a columnar output without copying; NaN after a failure) and
    ``stats[q] = (status, time reached, accepted steps, rejected steps)``.
    A patient's arithmetic does not depend on its lane or on the other patients.
    """
    n = y0.shape[1]
    npar = params.shape[1]
    n_rec = t_record.shape[0]
    nL = n * LANES
    # The model's functions compute all lanes, even with fewer patients than lanes: with
    # nl < LANES their loop over lanes ends in LLVM's scalar remainder, whose fused
    # multiply-adds can differ from the vector body's, so a patient's numbers depended on
    # its batch (a chunked W1 run differed from one call in the last bits). Lanes without
    # a patient compute on harmless copies (the first patient, or a finished one's state).
    nl = LANES
    # lane state: flat, lane-minor
    y = np.zeros(nL)
    p = np.zeros(npar * LANES)
    for b in range(LANES):  # idle lanes compute on a harmless copy of the first patient
        for i in range(n):
            y[i * LANES + b] = y0[lo, i]
        for i in range(npar):
            p[i * LANES + b] = params[lo, i]
    f0 = np.zeros(nL)
    w = np.zeros(n * nL)
    dinv = np.zeros(nL)
    k = np.zeros(8 * nL)
    kd = np.zeros(3 * nL)
    u = np.zeros(nL)
    fu = np.zeros(nL)
    r = np.zeros(nL)
    r_save = np.zeros(nL)
    inv_h_x = np.zeros(nL)  # 1/h of each element's lane
    y1 = np.zeros(nL)
    y_new = np.zeros(nL)
    rate = np.zeros(nL)
    keep = np.ones(nL)  # 0 for an extinct (frozen) state
    bad = np.zeros(LANES)
    err = np.zeros(LANES)
    grow = np.zeros(LANES)  # step-size factor suggested by the error estimate
    inv_h = np.ones(LANES)
    fac = np.ones(LANES)
    t = np.zeros(LANES)
    h = np.ones(LANES)
    t_stop = np.zeros(LANES)
    pid = np.full(LANES, -1, dtype=np.int64)
    ie = np.zeros(LANES, dtype=np.int64)
    ir = np.zeros(LANES, dtype=np.int64)
    n_acc = np.zeros(LANES, dtype=np.int64)
    n_rej = np.zeros(LANES, dtype=np.int64)
    status = np.zeros(LANES, dtype=np.int64)
    setup = np.zeros(LANES, dtype=np.bool_)
    last = np.zeros(LANES, dtype=np.bool_)
    stepping = np.zeros(LANES, dtype=np.bool_)
    pivoted = np.zeros(LANES, dtype=np.bool_)  # this lane's W was factorised with pivoting
    singular = np.zeros(LANES, dtype=np.bool_)
    nan_seen = np.zeros(LANES, dtype=np.bool_)  # the last rejection was for NaN/inf
    negative = np.zeros(LANES, dtype=np.bool_)  # a non-negative state went below -atol
    candidate = np.zeros(LANES, dtype=np.bool_)  # a state may have crossed its threshold
    accept = np.zeros(LANES, dtype=np.bool_)
    plain = np.zeros(LANES, dtype=np.bool_)  # accepted without extinction handling
    # one-lane scratch
    ys = np.zeros(n)
    ps = np.zeros(npar)
    f_a = np.zeros(n)
    f_b = np.zeros(n)
    jl = np.zeros((n, n))
    wl = np.zeros((LANES, n, n))
    pivl = np.zeros((LANES, n), dtype=np.int64)
    dinvl = np.zeros((LANES, n))

    next_pid = lo
    active = 0
    need = True  # some lane is done, failed or at a segment start
    while True:
        # ---- 1. lanes that are idle, done, failed or at a segment start (per lane, rare)
        for b in range(LANES if need else 0):
            while True:
                if pid[b] < 0 or status[b] != OK or (not setup[b] and t[b] >= t_end):
                    if pid[b] >= 0:  # the patient in this lane is done
                        q = pid[b]
                        # records not reached (a failure) are NaN: written here, not by
                        # filling the patient's records with NaN when it starts (that
                        # touched fresh memory twice: ~5-8 % of W1's solver time)
                        for i in range(n):
                            for rec in range(ir[b], n_rec):
                                out[i, q, rec] = np.nan
                        stats[q, 0] = status[b]
                        stats[q, 1] = t[b]
                        stats[q, 2] = n_acc[b]
                        stats[q, 3] = n_rej[b]
                        pid[b] = -1
                        active -= 1
                    if next_pid >= hi:
                        break
                    q = next_pid  # load the next patient
                    next_pid += 1
                    pid[b] = q
                    active += 1
                    for i in range(n):
                        y[i * LANES + b] = y0[q, i]
                        rate[i * LANES + b] = 0.0
                        keep[i * LANES + b] = 1.0
                        ext_time[q, i] = np.nan
                    for i in range(npar):
                        p[i * LANES + b] = params[q, i]
                    t[b] = t0
                    ie[b] = ev_ptr[q]
                    ir[b] = 0
                    n_acc[b] = 0
                    n_rej[b] = 0
                    status[b] = OK
                    setup[b] = True
                if not setup[b]:
                    break
                q = pid[b]
                while ie[b] < ev_ptr[q + 1] and ev_time[ie[b]] <= t[b]:
                    e = ie[b]
                    x = ev_state[e] * LANES + b
                    y[x] += ev_bolus[e]
                    rate[x] += ev_rate[e]
                    if keep[x] == 0.0 and (ev_bolus[e] > 0.0 or ev_rate[e] > 0.0):
                        # a dose (a bolus or an infusion's start, not its end) brings an
                        # extinct population back
                        keep[x] = 1.0
                        ext_time[q, ev_state[e]] = np.nan
                    ie[b] += 1
                while ir[b] < n_rec and t_record[ir[b]] <= t[b]:
                    for i in range(n):
                        out[i, q, ir[b]] = y[i * LANES + b]
                    ir[b] += 1
                setup[b] = False
                if t[b] >= t_end:
                    continue  # done: stored and replaced at the top of this loop
                t_stop[b] = t_end
                if ie[b] < ev_ptr[q + 1] and ev_time[ie[b]] < t_end:
                    t_stop[b] = ev_time[ie[b]]
                h[b] = _initial_step(
                    rhs, y, p, rate, keep, b, ys, ps, f_a, f_b, rtol, atol, h_max, t_stop[b] - t[b]
                )
                # at least 100 times the smallest step allowed at this time: an input far
                # larger than the state (an infusion into an emptied compartment) gives a
                # first guess below the time's resolution; the controller shrinks a step
                # that is too long, but must not start below where it gives up
                h[b] = max(h[b], min(1e-12 * max(1.0, abs(t[b])), t_stop[b] - t[b]))
        need = False
        if active == 0:
            break
        # ---- 2. step sizes of this attempt
        for b in range(LANES):
            stepping[b] = False
            if pid[b] < 0:
                continue
            if n_acc[b] + n_rej[b] >= max_steps:
                status[b] = TOO_MANY_STEPS
                need = True
                continue
            if h[b] < 1e-14 * max(1.0, abs(t[b])):
                status[b] = NON_FINITE if nan_seen[b] else STEP_UNDERFLOW
                need = True
                continue
            stepping[b] = True
            last[b] = t[b] + 1.0001 * h[b] >= t_stop[b]
            if last[b]:
                h[b] = t_stop[b] - t[b]
            inv_h[b] = 1.0 / h[b]
            fac[b] = inv_h[b] / GAMMA
        # ---- 3. f(y) and the LU factors of W = I/(h gamma) - J, for all lanes at once
        fw_lanes(y, p, fac, keep, f0, w, nl)
        for x in range(nL):
            f0[x] = (f0[x] + rate[x]) * keep[x]
        lu_lanes(w, dinv, bad, nl)
        any_pivoted = False
        for b in range(LANES):
            pivoted[b] = bad[b] != 0.0 and stepping[b]
            singular[b] = False
            if pivoted[b]:  # rebuild this lane's W densely and factorise it with pivoting
                any_pivoted = True
                for i in range(n):
                    ys[i] = y[i * LANES + b]
                for i in range(npar):
                    ps[i] = p[i * LANES + b]
                jac(ys, ps, jl)
                for i in range(n):
                    for j in range(n):
                        v = jl[i, j]
                        v = v if abs(v) < np.inf else 0.0
                        wl[b, i, j] = -v * keep[i * LANES + b] * keep[j * LANES + b]
                    wl[b, i, i] += fac[b]
                singular[b] = not _lane_lu(wl[b], pivl[b], dinvl[b])
        # ---- 4. the eight stages
        for b in range(LANES):
            for i in range(n):
                inv_h_x[i * LANES + b] = inv_h[b]
        for st in range(8):
            if st == 0:
                for x in range(nL):
                    r[x] = f0[x]
            else:
                # sums over the stages computed so far: one pass each (_u_sum, _r_sum)
                if st == 1:
                    _u_sum(1, y, k, u)
                elif st == 2:
                    _u_sum(2, y, k, u)
                elif st == 3:
                    _u_sum(3, y, k, u)
                elif st == 4:
                    _u_sum(4, y, k, u)
                elif st == 5:
                    _u_sum(5, y, k, u)
                else:
                    for x in range(nL):
                        u[x] += k[(st - 1) * nL + x]
                rhs_lanes(u, p, fu, nl)
                if st == 1:
                    _r_sum(1, k, fu, rate, keep, inv_h_x, r)
                elif st == 2:
                    _r_sum(2, k, fu, rate, keep, inv_h_x, r)
                elif st == 3:
                    _r_sum(3, k, fu, rate, keep, inv_h_x, r)
                elif st == 4:
                    _r_sum(4, k, fu, rate, keep, inv_h_x, r)
                elif st == 5:
                    _r_sum(5, k, fu, rate, keep, inv_h_x, r)
                elif st == 6:
                    _r_sum(6, k, fu, rate, keep, inv_h_x, r)
                else:
                    _r_sum(7, k, fu, rate, keep, inv_h_x, r)
            if any_pivoted:
                for x in range(nL):
                    r_save[x] = r[x]
            solve_lanes(w, dinv, r, nl)
            if any_pivoted:
                for b in range(LANES):
                    if pivoted[b] and not singular[b]:
                        for i in range(n):
                            r[i * LANES + b] = r_save[i * LANES + b]
                        _lane_solve(wl[b], pivl[b], dinvl[b], r, b)
            for x in range(nL):
                k[st * nL + x] = r[x]
        # ---- 5. new state, error estimate (the last increment) and dense output
        for b in range(LANES):
            err[b] = 0.0
        for i in range(n):
            for b in range(LANES):
                x = i * LANES + b
                y1[x] = u[x] + k[7 * nL + x]
                sc = atol[i] + rtol * max(abs(y[x]), abs(y1[x]))
                err[b] += (k[7 * nL + x] / sc) ** 2
        for b in range(LANES):
            err[b] = np.sqrt(err[b] / n)
            grow[b] = _SAFETY * vpow(err[b], -1.0 / (ORDER_EMBEDDED + 1))
        for m in range(3):
            for x in range(nL):
                s = 0.0
                for j in range(8):
                    s += H[m, j] * k[j * nL + x]
                kd[m * nL + x] = s
        # ---- 6. accept or reject: the common case for all lanes at once ...
        for b in range(LANES):
            negative[b] = False
            candidate[b] = False
        for i in range(n):
            guard = nonneg[i] and not threshold[i] > 0.0
            thr = threshold[i]
            for b in range(LANES):
                x = i * LANES + b
                negative[b] = negative[b] or (guard and y1[x] < -atol[i])
                candidate[b] = candidate[b] or (
                    thr > 0.0 and keep[x] != 0.0 and y[x] >= thr and y1[x] < thr
                )
        for b in range(LANES):
            nan_seen[b] = singular[b] or not err[b] < np.inf
            accept[b] = stepping[b] and not nan_seen[b] and not negative[b] and err[b] <= 1.0
            plain[b] = accept[b] and not candidate[b]
        for i in range(n):
            clip = nonneg[i]
            for b in range(LANES):
                x = i * LANES + b
                v = y1[x]
                v = 0.0 if (clip and v < 0.0) else v
                y_new[x] = v if plain[b] else y[x]
        # ... then lane by lane: step sizes, records, extinction
        for b in range(LANES):
            if not stepping[b]:
                continue
            if not accept[b]:
                n_rej[b] += 1
                if nan_seen[b]:
                    h[b] *= 0.25
                elif negative[b]:
                    h[b] *= 0.5
                else:
                    h[b] *= max(_FAC_MIN, grow[b])
                continue
            n_acc[b] += 1
            q = pid[b]
            # earliest extinction crossing inside the step, located on the dense output
            theta_x = 2.0
            if candidate[b]:
                for i in range(n):
                    x = i * LANES + b
                    if (
                        threshold[i] > 0.0
                        and keep[x] != 0.0
                        and y[x] >= threshold[i]
                        and y1[x] < threshold[i]
                    ):
                        a_lo = 0.0
                        a_hi = 1.0
                        for _ in range(60):
                            mid = 0.5 * (a_lo + a_hi)
                            if _dense(mid, y, y1, kd, n, i, b) < threshold[i]:
                                a_hi = mid
                            else:
                                a_lo = mid
                        theta_x = min(theta_x, a_hi)
            crossing = theta_x <= 1.0
            if crossing:
                t_new = t[b] + theta_x * h[b]
            elif last[b]:
                t_new = t_stop[b]
            else:
                t_new = t[b] + h[b]
            # records inside the step; one at the segment end waits for its doses (setup)
            at_stop = t_new >= t_stop[b]
            while ir[b] < n_rec and (t_record[ir[b]] < t_new
                                     or (t_record[ir[b]] == t_new and not at_stop)):
                theta = (t_record[ir[b]] - t[b]) * inv_h[b]
                at_end = (not crossing) and t_record[ir[b]] == t_new
                for i in range(n):
                    x = i * LANES + b
                    if keep[x] == 0.0:
                        v = y[x]
                    elif at_end:
                        v = y1[x]
                    else:
                        v = _dense(theta, y, y1, kd, n, i, b)
                    if nonneg[i] and v < 0.0:
                        v = 0.0
                    out[i, q, ir[b]] = v
                ir[b] += 1
            if crossing:
                # restart from the crossing with the extinct population(s) set to zero
                for i in range(n):
                    x = i * LANES + b
                    if keep[x] == 0.0:
                        y_new[x] = y[x]
                        continue
                    v = _dense(theta_x, y, y1, kd, n, i, b)
                    if threshold[i] > 0.0 and v < threshold[i] * (1.0 + 1e-9):
                        keep[x] = 0.0
                        v = 0.0
                        ext_time[q, i] = t_new
                    elif nonneg[i] and v < 0.0:
                        v = 0.0
                    y_new[x] = v
                h[b] = max(theta_x * h[b], 1e-6 * h[b])
            else:
                if candidate[b]:  # a candidate that did not cross after all
                    for i in range(n):
                        x = i * LANES + b
                        v = y1[x]
                        y_new[x] = 0.0 if (nonneg[i] and v < 0.0) else v
                h[b] = min(h_max, h[b] * min(_FAC_MAX, max(_FAC_MIN, grow[b])))
            t[b] = t_new
            setup[b] = at_stop
            need = need or at_stop
        for x in range(nL):
            y[x] = y_new[x]


#: Seconds spent compiling or loading the solver when this module was imported.
_LOAD_SECONDS = [time.perf_counter() - _T_LOAD]


def take_load_seconds() -> float:
    """The solver's compile/load time, once (the first simulation reports it)."""
    seconds, _LOAD_SECONDS[0] = _LOAD_SECONDS[0], 0.0
    return seconds
