"""Glucocorticoids: a one-compartment prednisone-equivalent model with an effect compartment.

States
------
``GC``  (mg)  prednisone-equivalent glucocorticoid in the body; eliminated with the plasma
      half-life of prednisolone (2.1-3.5 h; 3 h used).
``GCE`` (mg)  effect compartment, in body-amount units: ``dGCE/dt = ke0 (GC - GCE)``. Genomic
      glucocorticoid effects outlast plasma levels (prednisone is "intermediate-acting",
      biological half-life 12-36 h); ``ke0`` = ln 2 / 24 h. With it, a once-daily tablet (a
      bolus) and a zero-order infusion of the same mg/day give nearly the same effect.

Expressions exported to the disease component
---------------------------------------------
``gc_dose``   = ``k_GC GCE / weight_GC`` (mg/kg/day): the steady daily dose that would give
                this effect-compartment level (equal to the dose rate / weight at steady state).
``gc_effect`` = ``gc_dose / (ED50_GC + gc_dose)``: receptor-occupancy-like fraction 0-1.

Doses are zero-order infusions into ``GC`` in mg/day (:func:`steroid_taper`,
:func:`constant_steroid`, :func:`steroid_withdrawal`); :func:`prednisone_mg_per_day` reads the
prescribed daily dose back from dose records (for DORIS and steroid-free endpoints).

Ordering: compose the steroid component *before* the SLE component, whose expressions use
``gc_effect``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nksim.disease._sources import BUTTGEREIT2002, GC_PK, assumption
from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Component, Parameter, State

GC_STATE = "GC"
GC_EFFECT_STATE = "GCE"

_HALF_LIFE_DAYS = 3.0 / 24.0  # prednisolone plasma half-life, 2.1-3.5 h
_EFFECT_HALF_LIFE_DAYS = 1.0  # biological half-life of an intermediate-acting glucocorticoid

_KE0 = assumption(
    "nksim glucocorticoid effect compartment",
    "ke0 = ln 2 / 24 h: effect-compartment half-life inside the 12-36 h biological half-life of "
    "intermediate-acting glucocorticoids.",
    "Plausible range ln 2 / (12-36 h) = 0.46-1.4 per day. Disease dynamics (days-weeks) are "
    "insensitive to it; it smooths once-daily boluses.",
)
_WEIGHT = assumption(
    "patient weight",
    "Body weight of the patient; set per patient by the trial (default adult 70 kg).",
    "Children 5-17 years about 15-80 kg. Glucocorticoid exposure is taken as dose per kg.",
)


def steroid_component() -> Component:
    """The glucocorticoid component: states ``GC``, ``GCE``; expressions ``gc_dose``, ``gc_effect``.

    Returns
    -------
    Component
        Compose it before :func:`nksim.disease.sle_disease_component`.
    """
    params = (
        Parameter("k_GC", math.log(2) / _HALF_LIFE_DAYS, "1/day",
                  "glucocorticoid elimination rate (prednisolone plasma half-life 3 h)",
                  GC_PK, bounds=(1e-3, 1e3)),
        Parameter("ke0_GC", math.log(2) / _EFFECT_HALF_LIFE_DAYS, "1/day",
                  "equilibration rate of the glucocorticoid effect compartment", _KE0,
                  bounds=(1e-3, 1e3)),
        Parameter("ED50_GC", 0.1, "mg/kg/day",
                  "prednisone-equivalent daily dose for half-maximal glucocorticoid effect",
                  BUTTGEREIT2002, bounds=(1e-4, 100.0)),
        Parameter("weight_GC", 70.0, "kg", "body weight used to scale glucocorticoid exposure",
                  _WEIGHT, bounds=(1.0, 300.0)),
    )
    return Component(
        name="glucocorticoids",
        description=(
            "Prednisone-equivalent glucocorticoid: one body compartment (mg) with first-order "
            "elimination and an effect compartment; dosed as zero-order infusions of mg/day."
        ),
        states=(
            State(GC_STATE, "mg", "glucocorticoid in the body, prednisone-equivalent", 0.0),
            State(GC_EFFECT_STATE, "mg",
                  "glucocorticoid effect compartment (body amount in equilibrium with it)", 0.0),
        ),
        parameters=params,
        expressions={
            "gc_dose": ("k_GC*GCE/weight_GC", "mg/kg/day",
                        "steady daily dose per kg equivalent to the effect-compartment level"),
            "gc_effect": ("gc_dose/(ED50_GC + gc_dose)", "dimensionless",
                          "fractional glucocorticoid effect (0-1), Emax model with Hill 1"),
        },
        terms={GC_STATE: "-k_GC*GC", GC_EFFECT_STATE: "ke0_GC*(GC - GCE)"},
        references=(GC_PK, BUTTGEREIT2002, _KE0),
        notes=(
            "A constant infusion of R mg/day gives GC = GCE = R/k_GC and gc_dose = R/weight_GC.",
        ),
    )


# ====================================================================== regimens
def _check(value: float, name: str, *, positive: bool = False) -> float:
    value = float(value)
    ok = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise UserError(f"must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}",
                        field=f"steroids.{name}")
    return value


def _round(level: float, step: float) -> float:
    return level if step <= 0 else max(0.0, round(level / step) * step)


def _records(levels: Sequence[tuple[float, float, float]], state: str) -> list[Dose]:
    """(start, duration, mg/day) segments -> infusion records, merging equal neighbours."""
    merged: list[list[float]] = []
    for start, duration, rate in levels:
        if duration <= 0:
            continue
        if merged and merged[-1][2] == rate and math.isclose(merged[-1][0] + merged[-1][1], start):
            merged[-1][1] += duration
        else:
            merged.append([start, duration, rate])
    return [Dose(state, amount=rate * duration, time=start, duration=duration)
            for start, duration, rate in merged if rate > 0]


def constant_steroid(mg_per_day: float, start_day: float, stop_day: float, *,
                     state: str = GC_STATE) -> list[Dose]:
    """A constant daily prednisone-equivalent dose from ``start_day`` to ``stop_day``.

    Parameters
    ----------
    mg_per_day : prednisone-equivalent dose, mg/day.
    start_day, stop_day : days (model time); the dose runs over ``[start_day, stop_day)``.

    Returns
    -------
    list of Dose
        One zero-order infusion record (none if the dose is 0).
    """
    rate = _check(mg_per_day, "mg_per_day")
    if not stop_day > start_day:
        raise UserError(f"stop_day ({stop_day}) must be after start_day ({start_day})",
                        field="steroids.stop_day")
    return _records([(float(start_day), float(stop_day - start_day), rate)], state)


def steroid_taper(
    start_day: float,
    dose_mg_per_kg_per_day: float,
    weight_kg: float,
    taper_weeks: float,
    *,
    hold_weeks: float = 0.0,
    max_mg_per_day: float = 60.0,
    maintenance_mg_per_day: float = 0.0,
    maintenance_weeks: float = 0.0,
    final_taper_weeks: float = 0.0,
    stop: bool = True,
    end_day: float | None = None,
    step_days: float = 7.0,
    round_to_mg: float = 0.0,
    state: str = GC_STATE,
) -> list[Dose]:
    """A prednisone course: start dose, linear step-down taper, optional maintenance, stop.

    Phases (days from ``start_day``):

    1. ``hold_weeks`` at the start dose ``min(dose_mg_per_kg_per_day * weight_kg,
       max_mg_per_day)``;
    2. a linear taper in steps of ``step_days`` from the start dose to
       ``maintenance_mg_per_day``, reaching it ``taper_weeks`` after the hold ends (the first
       step is still at the start dose, each later step is one equal decrement lower);
    3. ``maintenance_weeks`` at the maintenance dose (if it is > 0);
    4. if ``stop``: a linear taper from maintenance to 0 over ``final_taper_weeks`` (0 = stop
       at once); otherwise maintenance continues until ``end_day``.

    Parameters
    ----------
    start_day : first day of the course (model time, days).
    dose_mg_per_kg_per_day : start dose in mg/kg/day prednisone equivalent (e.g. 0.5-1).
    weight_kg : body weight, kg.
    taper_weeks : duration of the step-down from the start dose to maintenance, weeks.
    hold_weeks : weeks at the full start dose before tapering.
    max_mg_per_day : cap on the start dose (60 mg/day is the usual adult maximum).
    maintenance_mg_per_day : low maintenance dose (0 = taper to zero).
    maintenance_weeks, final_taper_weeks : see phases 3-4.
    stop : stop after maintenance (``True``) or continue it until ``end_day``.
    end_day : required when ``stop`` is ``False``.
    step_days : length of one taper step (7 = weekly steps).
    round_to_mg : round each step to a multiple of this (e.g. 2.5 for tablets); 0 = exact.
    state : dose target (``"GC"``).

    Returns
    -------
    list of Dose
        Zero-order infusion records in mg/day, one per dose level (equal neighbouring levels
        merged): NONMEM-style ``AMT = mg/day x days``, ``RATE = mg/day``.
    """
    start_day = float(start_day)
    weight = _check(weight_kg, "weight_kg", positive=True)
    start = min(_check(dose_mg_per_kg_per_day, "dose_mg_per_kg_per_day") * weight,
                _check(max_mg_per_day, "max_mg_per_day"))
    maint = _check(maintenance_mg_per_day, "maintenance_mg_per_day")
    step = _check(step_days, "step_days", positive=True)
    rnd = _check(round_to_mg, "round_to_mg")
    if maint > start:
        raise UserError(f"maintenance ({maint:g} mg/day) is above the start dose ({start:g})",
                        field="steroids.maintenance_mg_per_day")
    segments: list[tuple[float, float, float]] = []
    t = start_day
    hold = 7.0 * _check(hold_weeks, "hold_weeks")
    segments.append((t, hold, _round(start, rnd)))
    t += hold
    t = _taper(segments, t, start, maint, 7.0 * _check(taper_weeks, "taper_weeks"), step, rnd)
    if maint > 0:
        if stop:
            weeks = 7.0 * _check(maintenance_weeks, "maintenance_weeks")
            segments.append((t, weeks, _round(maint, rnd)))
            t += weeks
            _taper(segments, t, maint, 0.0, 7.0 * _check(final_taper_weeks, "final_taper_weeks"),
                   step, rnd)
        else:
            if end_day is None or not end_day > t:
                raise UserError(f"end_day must be given and after day {t:g} when stop is False",
                                field="steroids.end_day")
            segments.append((t, float(end_day) - t, _round(maint, rnd)))
    return _records(segments, state)


def _taper(segments, t, high, low, duration, step, rnd) -> float:
    """Append a linear step-down from ``high`` to ``low`` over ``duration``; return its end."""
    if duration <= 0 or high == low:
        return t
    n = max(1, math.ceil(duration / step - 1e-9))
    width = duration / n
    for k in range(n):
        segments.append((t + k * width, width, _round(high - (high - low) * k / n, rnd)))
    return t + duration


def steroid_withdrawal(background_mg_per_day: float, start_day: float, stop_day: float, *,
                       taper_weeks: float = 0.0, step_days: float = 7.0,
                       state: str = GC_STATE) -> list[Dose]:
    """Background prednisone until ``stop_day``, then stop (at once, or tapered to 0).

    The "stop all immunosuppression" regimen of the paediatric CAR-T arm: the background
    dose runs from ``start_day`` (e.g. the start of the run-in) to ``stop_day``, then falls
    linearly to 0 over ``taper_weeks`` in ``step_days`` steps (0 = abrupt stop).
    Non-glucocorticoid immunosuppressants are not modelled (see docs/sle-disease.md).
    """
    rate = _check(background_mg_per_day, "background_mg_per_day")
    if not stop_day >= start_day:
        raise UserError("stop_day must not be before start_day", field="steroids.stop_day")
    segments = [(float(start_day), float(stop_day - start_day), rate)]
    _taper(segments, float(stop_day), rate, 0.0, 7.0 * _check(taper_weeks, "taper_weeks"),
           _check(step_days, "step_days", positive=True), 0.0)
    return _records(segments, state)


def prednisone_mg_per_day(
    doses: Sequence[Dose] | Sequence[Sequence[Dose]],
    times: Sequence[float] | np.ndarray,
    *,
    state: str = GC_STATE,
) -> np.ndarray:
    """Prescribed prednisone-equivalent dose (mg/day) at each time, read from dose records.

    An infusion contributes its rate while it runs (``[t, t + duration)``); a bolus is read
    as a once-daily tablet and contributes its amount per day over ``[t, t + 1)``.

    Parameters
    ----------
    doses : one patient's dose records, or one list per patient.
    times : days at which to read the dose.

    Returns
    -------
    numpy.ndarray
        Shape ``(time,)`` for one patient's records, ``(patient, time)`` for a list of lists.
    """
    times = np.asarray(times, dtype=float)
    doses = list(doses)
    if doses and not isinstance(doses[0], Dose):
        return np.stack([prednisone_mg_per_day(d, times, state=state) for d in doses])
    out = np.zeros(times.shape)
    for dose in doses:
        if dose.state != state:
            continue
        width = dose.duration if dose.duration > 0 else 1.0
        rate = dose.rate if dose.duration > 0 else dose.amount
        for t0 in dose.times():
            out += np.where((times >= t0) & (times < t0 + width), rate, 0.0)
    return out
