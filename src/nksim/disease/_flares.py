"""Random flare triggers and the CORTICOLUP steroid-withdrawal experiment (issue 10).

Research use only. Lupus flares in quiescent disease are set off by extrinsic events
(infection, UV light, hormonal change). nksim draws them per patient as a Poisson process
of boluses into the disease state ``FLT`` (:mod:`nksim.disease._sle`), whose effect on
tissue inflammation needs autoreactive plasmablasts (``PB/(PB + K_FLT)``) and is masked
by glucocorticoid (``1 - Emax_INF gc_effect``)::

    arrivals ~ Poisson(FLARE_TRIGGER_RATE per year),  size ~ Exponential(FLARE_TRIGGER_MEAN)

The two numbers are calibrated to CORTICOLUP (Mathian 2020 [UNVERIFIED numbers from the
issue]): stopping 5 mg/day prednisone in clinically quiescent SLE gave a flare within
52 weeks in 17/63 patients, continuing it in 4/61. :func:`corticolup_trial` reruns that
comparison on virtual patients; ``docs/calibration.md`` §11 gives the fit, the test
(``tests/test_sle_flares.py``) checks that the contrast stays inside the trial's
confidence intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from nksim.disease._sources import CORTICOLUP, FLARE_TRIGGERS
from nksim.dosing import Dose
from nksim.population import patient_rng

#: Flare triggers per patient-year (ASSUMPTION calibrated to CORTICOLUP; range 1-10).
FLARE_TRIGGER_RATE = 4.0
#: Mean trigger size, FLT units (= clinical SLEDAI points before masking and immune-complex
#: gating; ASSUMPTION calibrated to CORTICOLUP; range 0.5-3).
FLARE_TRIGGER_MEAN = 2.0
#: Random streams of :func:`nksim.population.patient_rng` used for the triggers from day 0
#: on and before day 0.
STREAM_FLARE_TRIGGERS = 9101
STREAM_FLARE_TRIGGERS_BEFORE = 9102
FLARE_SOURCES = (FLARE_TRIGGERS, CORTICOLUP)

#: CORTICOLUP, 52 weeks: (flares, patients) stopping and continuing 5 mg/day prednisone.
CORTICOLUP_STOP = (17, 63)
CORTICOLUP_CONTINUE = (4, 61)


def flare_trigger_doses(seed: int, patient: int, start_day: float, end_day: float, *,
                        rate_per_year: float = FLARE_TRIGGER_RATE,
                        mean_size: float = FLARE_TRIGGER_MEAN,
                        state: str = "FLT") -> list[Dose]:
    """One patient's flare triggers in ``[start_day, end_day)``: boluses into ``state``.

    A Poisson process walked out from day 0 by exponential gaps, forwards and backwards on
    two of the patient's own streams (``patient_rng(seed, patient, STREAM_FLARE_TRIGGERS)``
    and ``..._BEFORE``), each gap drawn with its trigger's size: adding patients or arms
    never changes another patient's triggers, and a longer follow-up or run-in only adds
    triggers (the count drawn for the whole window, spread uniformly, moved every trigger
    when the window changed).
    """
    if not (rate_per_year >= 0 and mean_size >= 0 and end_day >= start_day) or not all(
            np.isfinite([rate_per_year, mean_size, start_day, end_day])):
        raise ValueError("rate_per_year and mean_size must be finite and >= 0, the days "
                         "finite and end_day >= start_day")
    out: list[Dose] = []
    if rate_per_year == 0:
        return out
    mean_gap = 365.25 / rate_per_year
    for stream, direction in ((STREAM_FLARE_TRIGGERS_BEFORE, -1.0), (STREAM_FLARE_TRIGGERS, 1.0)):
        rng = patient_rng(seed, patient, stream)
        day = 0.0
        while day < end_day if direction > 0 else day >= start_day:
            gap, size = rng.exponential(mean_gap), rng.exponential(mean_size)
            day += direction * gap
            if start_day <= day < end_day and size > 0:
                out.append(Dose(state, float(size), float(day)))
    return sorted(out, key=lambda d: d.time)


def exact_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion ``k/n``."""
    a = 1.0 - level
    lo = stats.beta.ppf(a / 2, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(1 - a / 2, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def risk_difference_interval(k1: int, n1: int, k2: int, n2: int,
                             level: float = 0.95) -> tuple[float, float, float]:
    """Risk difference ``k1/n1 - k2/n2`` with its Newcombe (Wilson score) interval."""
    z = stats.norm.ppf(0.5 + level / 2)

    def wilson(k, n):
        p = k / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return c - h, c + h

    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return (d, d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


@dataclass(frozen=True)
class CorticolupResult:
    """Virtual CORTICOLUP: flare (yes/no) per patient in each arm, and the visit days."""

    flare_stop: np.ndarray
    flare_continue: np.ndarray
    visits: tuple[float, ...]

    @property
    def rates(self) -> tuple[float, float]:
        return float(self.flare_stop.mean()), float(self.flare_continue.mean())


#: CORTICOLUP-like visit days over 52 weeks (ASSUMPTION: every 4 weeks).
CORTICOLUP_VISITS = tuple(float(d) for d in range(0, 365, 28)) + (364.0,)


def corticolup_trial(model, n: int = 200, *, seed: int = 2020, sledai: int = 6,
                     weight_kg: float = 65.0, rate_per_year: float = FLARE_TRIGGER_RATE,
                     mean_size: float = FLARE_TRIGGER_MEAN,
                     visits=CORTICOLUP_VISITS,
                     parameters: dict | None = None) -> CorticolupResult:
    """Virtual CORTICOLUP: ``n`` patients per arm, quiescent on 5 mg/day prednisone.

    Patients start at the lowest disease steady state the model allows on 5 mg/day
    (``sledai``: 6 = serology 4 + clinical 2 with the defaults, the model's "quiescent,
    serologically active" patient; ASSUMPTION: CORTICOLUP enrolled clinically quiescent
    patients); one arm stops prednisone on day 0, the other keeps 5 mg/day; both get the
    same random flare triggers (paired draws, independent patients). A flare is a SELENA
    flare (:func:`nksim.disease.flares`) at any visit over 52 weeks.
    """
    from nksim.disease._sle import sle_initial_state
    from nksim.disease._sle_activity import any_flare
    from nksim.disease._steroids import GC_STATE
    from nksim.engine import simulate

    base = sle_initial_state(model, {"weight_GC": weight_kg, **(parameters or {})}, sledai,
                             prednisone_mg_per_day=5.0)
    P = np.repeat(base.parameters, n, axis=0)
    Y = np.repeat(base.initial, n, axis=0)
    times = np.arange(0.0, 366.0, 1.0)
    out = []
    for keep in (False, True):
        doses = []
        for i in range(n):
            d = flare_trigger_doses(seed, i, 0.0, 365.0, rate_per_year=rate_per_year,
                                    mean_size=mean_size)
            if keep:
                d.append(Dose(GC_STATE, 5.0 * 365.0, 0.0, duration=365.0))
            doses.append(d)
        ds = simulate(model, times, parameters=P, initial=Y, doses=doses).dataset
        out.append(any_flare(ds, visits))
    return CorticolupResult(out[0], out[1], tuple(visits))
