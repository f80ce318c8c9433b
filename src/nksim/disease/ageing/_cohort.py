"""Stochastic SR cohorts: one arm of virtual mice or people, on the engine's SDE integrator.

Drift (time in days, row ``p = (eta, beta, kappa)`` per individual, inputs
``u = (beta multiplier, eta multiplier, delta)`` per step, see :mod:`._interventions`)::

    a(t, X) = eta * u1 * t - beta * u0 * X / (X + kappa) - u2 * X

noise ``sqrt(2 epsilon) dW``, X reflected at 0, death at the first passage ``X >= Xc`` or
from the extrinsic hazard. Per-individual heterogeneity: each of eta, beta, kappa,
epsilon and Xc is multiplied by ``max(0.05, 1 + cv * z)``, ``z`` standard normal from the
individual's own counter-based stream (as SRtools multiplies by N(1, var)); with
``paired`` arms an individual keeps its id, noise and heterogeneity in every arm.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

from nksim.disease.ageing._interventions import ArmInputs, input_table
from nksim.engine import integrate_sde
from nksim.engine._sde import DRIFT_SIGNATURE, NON_FINITE, THRESHOLD, stream_normals
from nksim.library import get_model

HETEROGENEITY_PARAMETERS = ("eta", "beta", "kappa", "epsilon", "Xc")


@numba.njit(DRIFT_SIGNATURE, cache=True, nogil=True)
def sr_drift(t, x, p, u):
    """Drift of the SR model with time-varying removal and senolysis (days)."""
    return p[0] * u[1] * t - p[1] * u[0] * x / (x + p[2]) - u[2] * x


@dataclass(frozen=True)
class ArmResult:
    """Lives of one arm: per-individual lifespan (days), cause, healthspan, X records."""

    name: str
    parameter_set: str
    ids: np.ndarray
    lifespan: np.ndarray  # days; NaN = alive at follow-up end (censored)
    cause: np.ndarray
    healthspan: np.ndarray  # days with X < healthspan level
    record_times: np.ndarray
    records: np.ndarray
    follow_up: float
    params: np.ndarray  # (n, 5): eta, beta, kappa, epsilon, Xc as used
    inputs: np.ndarray

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.lifespan)

    @property
    def failed(self) -> np.ndarray:
        """Individuals whose integration failed (drift not finite): reported, not analysed."""
        return self.cause == NON_FINITE

    def analysed(self) -> ArmResult:
        """The same arm without failed individuals."""
        ok = ~self.failed
        if ok.all():
            return self
        return dataclasses.replace(
            self, ids=self.ids[ok], lifespan=self.lifespan[ok], cause=self.cause[ok],
            healthspan=self.healthspan[ok], records=self.records[ok], params=self.params[ok])

    @property
    def durations(self) -> np.ndarray:
        return np.where(self.observed, self.lifespan, self.follow_up)


def individual_parameters(parameter_set: str, ids: np.ndarray, seed: int,
                          cv: Mapping[str, float] | None = None) -> tuple[np.ndarray, float]:
    """``(n, 5)`` array of eta, beta, kappa, epsilon, Xc and the extrinsic hazard (1/day)."""
    model = get_model("karin2019", parameter_set=parameter_set)
    base = np.array([model.parameter(n).value for n in HETEROGENEITY_PARAMETERS])
    p = np.tile(base, (ids.size, 1))
    cv = dict(cv or {})
    if any(v > 0 for v in cv.values()):
        z = stream_normals(seed, ids, len(HETEROGENEITY_PARAMETERS))
        for c, name in enumerate(HETEROGENEITY_PARAMETERS):
            if cv.get(name, 0.0) > 0:
                p[:, c] *= np.maximum(0.05, 1.0 + cv[name] * z[:, c])
    return p, model.parameter("h_ext").value


def simulate_arm(name: str, parameter_set: str, n: int, *, inputs: ArmInputs | None = None,
                 seed: int = 0, dt: float = 1.0, follow_up_days: float,
                 record_every_days: float | None = None, ids: np.ndarray | None = None,
                 heterogeneity: Mapping[str, float] | None = None,
                 extrinsic_hazard_per_day: float | None = None,
                 healthspan_fraction: float = 0.5, t0: float = 0.0,
                 x0: np.ndarray | float = 0.0) -> ArmResult:
    """Simulate one arm from age ``t0`` (days) to death or ``follow_up_days``."""
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    p, h_ext = individual_parameters(parameter_set, ids, seed, heterogeneity)
    if extrinsic_hazard_per_day is not None:
        h_ext = extrinsic_hazard_per_day
    table = input_table(inputs or ArmInputs(), dt, follow_up_days)
    rec = (np.arange(t0, follow_up_days + 0.5 * dt, record_every_days)
           if record_every_days else None)
    if rec is not None:
        rec = np.round(rec / dt) * dt
    res = integrate_sde(
        sr_drift, ids=ids, x0=x0, sigma=np.sqrt(2.0 * p[:, 3]), threshold=p[:, 4],
        extrinsic_hazard=h_ext, params=np.ascontiguousarray(p[:, :3]), inputs=table,
        dt=dt, t0=t0, t_end=follow_up_days, reflect=True, seed=seed, record_times=rec,
        level=healthspan_fraction * p[:, 4])
    return ArmResult(name, parameter_set, ids, res.exit_time, res.cause, res.time_below,
                     res.record_times, res.records, float(follow_up_days), p, table)


def turnover_half_life(parameter_set: str, age_days: float, *, n: int = 2000,
                       pulse: float = 1.0, seed: int = 0, dt: float = 0.25,
                       horizon_days: float = 200.0) -> float:
    """Half-life (days) of an added pulse of senescent cells at ``age_days``.

    Perturbation experiment with common random numbers: each individual is run to
    ``age_days``, then continued twice from the same state and the same noise, once with
    ``pulse`` extra senescent cells. The half-life is the first time at which the mean
    excess (over individuals alive in both runs) falls to half the pulse (linear
    interpolation between steps). NaN if it does not within ``horizon_days``.
    """
    kw = dict(seed=seed, dt=dt)
    before = simulate_arm("before", parameter_set, n, follow_up_days=age_days,
                          record_every_days=age_days, **kw)
    alive = ~np.isnan(before.records[:, -1])
    ids, x = before.ids[alive], before.records[alive, -1]
    end = age_days + horizon_days
    runs = [simulate_arm("after", parameter_set, ids.size, ids=ids, x0=x + extra, t0=age_days,
                         follow_up_days=end, record_every_days=dt, **kw)
            for extra in (0.0, pulse)]
    both = ~np.isnan(runs[0].records) & ~np.isnan(runs[1].records)
    diff = np.where(both, runs[1].records - runs[0].records, 0.0).sum(0)
    excess = diff / np.maximum(both.sum(0), 1)
    below = np.flatnonzero(excess <= 0.5 * pulse)
    if not below.size:
        return math.nan
    i = int(below[0])
    t = runs[0].record_times - age_days
    if i == 0:
        return 0.0
    a, b = excess[i - 1], excess[i]
    return float(t[i - 1] + (a - 0.5 * pulse) / (a - b) * (t[i] - t[i - 1]))


def threshold_deaths(result: ArmResult) -> int:
    return int(np.sum(result.cause == THRESHOLD))
