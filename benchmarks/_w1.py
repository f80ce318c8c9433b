"""Workload W1 and the peer solvers of the W1 benchmark (see benchmarks/README.md).

W1 (the speed requirement of nksim): de Pillis 2006 with patient-9 parameters, start
T = 1e6, N = 1e3, L = 10, C = 6e8, M = 0, I = 0; chemotherapy bolus M += 5 on days
7, 14, ..., 70; 150 days recorded daily; every parameter log-normal with sigma 0.2
around patient 9; rtol = atol = 1e-6. Tumour extinction: T falling below 1 cell sets
T to 0 for the rest of the run.

This module holds everything that is *not* nksim: the population generator (shared by
every solver), an independent NumPy right-hand side and analytic Jacobian written from
the published equations (science.md section 1b, bounded kill form), the SciPy
``solve_ivp`` driver used for LSODA and for the Radau reference, the libRoadRunner
driver, and machine information. It imports nksim only to export the SBML and to read
the parameter names and patient-9 values.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- the workload
T_END = 150.0
RECORD_TIMES = np.arange(0.0, T_END + 0.5, 1.0)  # 151 daily records, days 0..150
DOSE_STATE, DOSE_AMOUNT, DOSE_START, DOSE_EVERY, DOSE_COUNT = "M", 5.0, 7.0, 7.0, 10
DOSE_TIMES = DOSE_START + DOSE_EVERY * np.arange(DOSE_COUNT)  # 7, 14, ..., 70
STATES = ("T", "N", "L", "C", "M", "I")
Y0 = np.array([1e6, 1e3, 10.0, 6e8, 0.0, 0.0])
EXTINCTION = 1.0  # cells; T < 1 -> T = 0 (held)
RTOL = ATOL = 1e-6
SIGMA = 0.2


def w1_model():
    """The nksim model (de Pillis 2006, patient 9) and the W1 dose records."""
    from nksim.dosing import Dose
    from nksim.library import get_model

    model = get_model("depillis2006", parameter_set="patient9")
    assert tuple(model.state_names) == STATES, model.state_names
    doses = [Dose(DOSE_STATE, DOSE_AMOUNT, DOSE_START, every=DOSE_EVERY, count=DOSE_COUNT)]
    return model, doses


def population(nominal: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` virtual patients: every parameter times exp(SIGMA * z), z ~ N(0, 1).

    Rows are drawn row by row from one seeded stream, so the first k rows do not
    depend on ``n`` (a smaller run is a prefix of the full population).
    """
    z = np.random.default_rng(seed).standard_normal((n, nominal.size))
    return nominal[None, :] * np.exp(SIGMA * z)


# ---------------------------------------------------------------- independent RHS
# Parameter order of de Pillis 2006 in nksim (checked against model.parameter_names).
PARAMETER_NAMES = (
    "a", "b", "c", "d", "l", "s", "e", "f", "g", "h", "j", "k", "m", "q", "p", "r1", "r2",
    "u", "K_T", "K_N", "K_L", "K_C", "alpha", "beta", "gamma", "mu_I", "p_I", "g_I",
)


class DePillis2006:
    """de Pillis 2006 (science.md 1b) in plain Python/NumPy for SciPy, one patient.

    Kill term in the bounded form D*T = d L^l T / (s T^l + L^l) (0 when L <= 0 or
    T <= 0), identical to d (L/T)^l / (s + (L/T)^l) T for L, T > 0. ``extinct``: T is
    held at 0 (its derivative and Jacobian row are 0).
    """

    def __init__(self, params: np.ndarray) -> None:
        self.p = [float(v) for v in params]
        self.extinct = False

    def _kill(self, T, L):
        """Kill rate K = d L^l T/(s T^l + L^l) and its partial derivatives dK/dT, dK/dL."""
        a, b, c, d, l, s = self.p[:6]
        if L <= 0.0 or T <= 0.0:
            return 0.0, 0.0, 0.0
        A = L**l
        B = T**l
        den = s * B + A
        K = d * A * T / den
        dK_dT = d * A / den - d * A * s * l * B / (den * den)
        dK_dL = d * l * A * T * s * B / (L * den * den)
        return K, dK_dT, dK_dL

    def rhs(self, t, y):
        (a, b, c, d, l, s, e, f, g, h, j, k, m, q, p, r1, r2, u,
         K_T, K_N, K_L, K_C, alpha, beta, gamma, mu_I, p_I, g_I) = self.p
        T, N, L, C, M, I = y.tolist()
        if self.extinct:
            T = 0.0
        chemo = 1.0 - math.exp(-M)
        K, _, _ = self._kill(T, L)
        dT = 0.0 if self.extinct else a * T * (1.0 - b * T) - c * N * T - K - K_T * chemo * T
        T2 = T * T
        dN = e * C - f * N + g * T2 / (h + T2) * N - p * N * T - K_N * chemo * N
        dL = (-m * L + j * K * K / (k + K * K) * L - q * L * T + (r1 * N + r2 * C) * T
              - u * N * L * L - K_L * chemo * L + p_I * L * I / (g_I + I))
        dC = alpha - beta * C - K_C * chemo * C
        dM = -gamma * M
        dI = -mu_I * I
        return np.array([dT, dN, dL, dC, dM, dI])

    def jac(self, t, y):
        (a, b, c, d, l, s, e, f, g, h, j, k, m, q, p, r1, r2, u,
         K_T, K_N, K_L, K_C, alpha, beta, gamma, mu_I, p_I, g_I) = self.p
        T, N, L, C, M, I = y.tolist()
        if self.extinct:
            T = 0.0
        em = math.exp(-M)
        chemo = 1.0 - em
        K, K_T_, K_L_ = self._kill(T, L)
        J = np.zeros((6, 6))
        if not self.extinct:
            J[0, 0] = a - 2.0 * a * b * T - c * N - K_T_ - K_T * chemo
            J[0, 1] = -c * T
            J[0, 2] = -K_L_
            J[0, 4] = -K_T * em * T
        hT2 = h + T * T
        J[1, 0] = g * N * 2.0 * T * h / (hT2 * hT2) - p * N
        J[1, 1] = -f + g * T * T / hT2 - p * T - K_N * chemo
        J[1, 3] = e
        J[1, 4] = -K_N * em * N
        kK2 = k + K * K
        R = K * K / kK2
        dR = 2.0 * K * k / (kK2 * kK2)
        J[2, 0] = j * L * dR * K_T_ - q * L + r1 * N + r2 * C
        J[2, 1] = r1 * T - u * L * L
        J[2, 2] = (-m + j * R + j * L * dR * K_L_ - q * T - 2.0 * u * N * L - K_L * chemo
                   + p_I * I / (g_I + I))
        J[2, 3] = r2 * T
        J[2, 4] = -K_L * em * L
        J[2, 5] = p_I * L * g_I / ((g_I + I) * (g_I + I))
        J[3, 3] = -beta - K_C * chemo
        J[3, 4] = -K_C * em * C
        J[4, 4] = -gamma
        J[5, 5] = -mu_I
        return J


@dataclass
class ScipyRun:
    """Result of one patient: final state, daily T, extinction time, status."""

    ok: bool
    message: str
    y_final: np.ndarray
    T_daily: np.ndarray
    t_extinct: float
    nfev: int
    njev: int


def solve_scipy(params, method: str, rtol: float, atol: float, jacobian: bool) -> ScipyRun:
    """W1 for one patient with ``scipy.integrate.solve_ivp``.

    Doses are applied between segments [0,7], [7,14], ..., [70,150]. Extinction is a
    terminal event T = 1 (falling); the integration restarts there with T = 0 held.
    """
    from scipy.integrate import solve_ivp

    model = DePillis2006(params)

    def extinction(t, y):
        return y[0] - EXTINCTION

    extinction.terminal = True
    extinction.direction = -1

    bounds = [0.0, *DOSE_TIMES.tolist(), T_END]
    y = Y0.copy()
    T_daily = np.full(RECORD_TIMES.size, np.nan)
    t_ext = math.nan
    nfev = njev = 0
    kw = dict(method=method, rtol=rtol, atol=atol)
    if jacobian:
        kw["jac"] = model.jac
    for seg, (t0, t1) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if seg > 0:
            y[4] += DOSE_AMOUNT  # bolus of chemotherapy at t0 (recorded post-dose)
        t = t0
        while t < t1:
            rec = RECORD_TIMES[(RECORD_TIMES >= t) & (RECORD_TIMES <= t1)]
            events = None if model.extinct else [extinction]
            sol = solve_ivp(model.rhs, (t, t1), y, t_eval=rec, events=events,
                            dense_output=False, **kw)
            nfev += sol.nfev
            njev += sol.njev
            if sol.status < 0:
                return ScipyRun(False, sol.message, y, T_daily, t_ext, nfev, njev)
            if sol.t.size:
                idx = np.searchsorted(RECORD_TIMES, sol.t)
                T_daily[idx] = sol.y[0]
            if sol.status == 1:  # extinction
                t = float(sol.t_events[0][0])
                y = sol.y_events[0][0].copy()
                y[0] = 0.0
                model.extinct = True
                t_ext = t
                # records at exactly the crossing time (rare) are post-extinction
                T_daily[RECORD_TIMES == t] = 0.0
            else:
                # t_eval always holds t1 (every bound is a whole day): the segment's end
                if not (sol.t.size and sol.t[-1] == t1):
                    raise RuntimeError("segment end not among the recorded times")
                y = sol.y[:, -1].copy()
                t = t1
    return ScipyRun(True, "ok", y, T_daily, t_ext, nfev, njev)


def scipy_worker(args):
    """Multiprocessing entry: (index, params, method, rtol, atol, jacobian)."""
    i, params, method, rtol, atol, jacobian = args
    t0 = time.perf_counter()
    r = solve_scipy(params, method, rtol, atol, jacobian)
    return i, r, time.perf_counter() - t0


# ---------------------------------------------------------------- libRoadRunner
class RoadRunnerW1:
    """libRoadRunner on nksim's SBML export of W1 (doses and extinction as SBML events).

    CVODE (roadrunner's default, BDF/Newton, stiff) with rtol = 1e-6 and an absolute
    tolerance *vector* of 1e-6 for every state. (A scalar absolute tolerance is
    multiplied by roadrunner by each state's initial value - 1 cell for T, 600 cells
    for C - which would be a looser setting than the other solvers get.)
    """

    def __init__(self, sbml: str, parameter_names, rtol=RTOL, atol=ATOL) -> None:
        import roadrunner

        t0 = time.perf_counter()
        self.rr = roadrunner.RoadRunner(sbml)
        self.load_time = time.perf_counter() - t0
        integ = self.rr.integrator
        integ.relative_tolerance = rtol
        integ.absolute_tolerance = [atol] * len(STATES)
        self.ids = list(parameter_names)
        known = set(self.rr.model.getGlobalParameterIds())
        missing = [p for p in self.ids if p not in known]
        if missing:
            raise RuntimeError(f"SBML export lacks parameters {missing}")
        self.species = list(self.rr.model.getFloatingSpeciesIds())
        if self.species != list(STATES):
            raise RuntimeError(f"unexpected species order {self.species}")
        self.rr.timeCourseSelections = ["time", *STATES]

    def settings(self) -> dict:
        integ = self.rr.integrator
        out = {"integrator": integ.getName()}
        for k in integ.getSettings():
            v = integ.getValue(k)
            out[k] = list(v) if isinstance(v, list | tuple) else v
        out["absolute_tolerance_vector"] = [float(v) for v in integ.getAbsoluteToleranceVector()]
        return out

    def run(self, params) -> tuple[bool, str, np.ndarray | None]:
        """One patient: reset, set all parameters in one call, simulate 0..150 daily.

        Returns (ok, message, the result table: time and the states, 151 rows).
        """
        rr = self.rr
        rr.resetAll()  # species, time, events and parameters back to the SBML values
        rr.setValues(self.ids, params)
        try:
            res = rr.simulate(0.0, T_END, RECORD_TIMES.size)
        except RuntimeError as exc:  # CVODE failure
            return False, str(exc).splitlines()[0][:200], None
        if res.shape[0] != RECORD_TIMES.size or abs(res[-1, 0] - T_END) > 1e-9:
            return False, f"stopped at t = {res[-1, 0]}", None
        return True, "ok", res


# ---------------------------------------------------------------- machine
def machine_info() -> dict:
    import numba
    import scipy

    info = {
        "cpu_model": "unknown",
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }
    try:
        import roadrunner

        info["libroadrunner"] = roadrunner.__version__
    except ImportError:  # pragma: no cover
        info["libroadrunner"] = None
    try:
        import nksim

        info["nksim"] = nksim.__version__
    except Exception:  # pragma: no cover
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            text = fh.read()
        for line in text.splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
        info["avx512f"] = " avx512f" in flags
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []
