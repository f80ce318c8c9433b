"""Disease-activity readouts of the SLE model: SLEDAI-2K, PGA, DORIS, SRI-4, flares, B-cell return.

All functions take the states as an :class:`xarray.Dataset` from a simulation (variables
``INF``, ``AB``, ``C3``, ``B``; dims ``patient``, ``time``) or as a mapping of arrays shaped
``(patient, time)`` (or ``(time,)``), with ``times`` given separately for the latter.

The SLEDAI-2K surrogate (:class:`SledaiMapping`, an nksim assumption):

- clinical points = ``floor(INF / inf_per_point)`` (at most 101): the model's one tissue
  inflammation index stands for the 22 clinical descriptors (weights 8/4/2/1);
- "increased DNA binding" = 2 points if anti-dsDNA ``AB >= 30 IU/mL``;
- "low complement" = 2 points if ``C3 < 90 mg/dL``;
- total = clinical + serology, 0-105.

Physician global assessment surrogate (0-3): ``PGA = 3 INF / (INF + 7)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from nksim.disease._sources import (
    DORIS2021,
    FURIE2009,
    LLDAS2016,
    MACKENSEN2022,
    PGA_SURROGATE,
    SFI,
    SLEDAI2K,
    SLEDAI_SURROGATE,
    assumption,
)
from nksim.errors import UserError
from nksim.model import Citation

SLEDAI_MAX = 105
SLEDAI_SEROLOGY_MAX = 4
SLEDAI_CLINICAL_MAX = SLEDAI_MAX - SLEDAI_SEROLOGY_MAX

B_CELL_RETURN_THRESHOLD = 10.0  # cell/uL
B_CELL_RETURN = assumption(
    "nksim B-cell return threshold",
    "B cells have returned when CD19+ B cells in blood are back at >= 10 cells/uL after "
    "having fallen below it after the first infusion.",
    "Studies use 'detectable' (>= 1-5 cells/uL) to >= 1 % of lymphocytes; Mackensen 2022 "
    "reports reappearance at a mean of 110 (SD 32) days. Depletion must last >= 7 days (one "
    "weekly visit) to count, so that the transient dip from lymphodepletion around the "
    "infusion is not read as depletion and return.",
)

Data = xr.Dataset | Mapping[str, np.ndarray]


@dataclass(frozen=True)
class SledaiMapping:
    """How model states are scored on the SLEDAI-2K and PGA scales (an nksim assumption).

    Attributes
    ----------
    inf_per_point : INF units per clinical SLEDAI point (the INF index is scaled so that 1 unit
        is one clinical point).
    anti_dsdna_positive : anti-dsDNA level (IU/mL) from which "increased DNA binding" scores 2.
    c3_low : C3 (mg/dL) below which "low complement" scores 2 (lower limit of normal).
    pga_half : INF at which the PGA surrogate is half its maximum (1.5 of 3).
    """

    inf_per_point: float = 1.0
    anti_dsdna_positive: float = 30.0
    c3_low: float = 90.0
    pga_half: float = 7.0
    source: Citation = SLEDAI_SURROGATE

    def clinical_points(self, inf):
        """Integer clinical SLEDAI points for INF values (array-like)."""
        pts = np.floor(np.asarray(inf, dtype=float) / self.inf_per_point + 1e-12)
        return np.clip(pts, 0, SLEDAI_CLINICAL_MAX)

    def anti_dsdna_points(self, ab):
        """2 where anti-dsDNA is positive, else 0."""
        return np.where(np.asarray(ab, dtype=float) >= self.anti_dsdna_positive, 2, 0)

    def complement_points(self, c3):
        """2 where C3 is below the lower limit of normal, else 0."""
        return np.where(np.asarray(c3, dtype=float) < self.c3_low, 2, 0)

    def pga(self, inf):
        """Physician global assessment surrogate, 0-3."""
        inf = np.maximum(np.asarray(inf, dtype=float), 0.0)
        return 3.0 * inf / (inf + self.pga_half)


DEFAULT_MAPPING = SledaiMapping()


# ====================================================================== helpers
def _var(data: Data, name: str):
    try:
        return data[name]
    except KeyError:
        raise UserError(f"the data have no variable {name!r}", field=f"data.{name}") from None


def _wrap(template, values: np.ndarray, name: str, units: str, description: str):
    """Return ``values`` shaped like ``template`` (a DataArray keeps its dims and coords)."""
    if isinstance(template, xr.DataArray):
        out = xr.DataArray(values, coords=template.coords, dims=template.dims, name=name)
        out.attrs.update(units=units, description=description)
        return out
    return values


def _times(data: Data, times) -> np.ndarray:
    if times is None:
        if isinstance(data, xr.Dataset) and "time" in data.coords:
            return np.asarray(data["time"].values, dtype=float)
        raise UserError("times must be given for array data", field="times")
    return np.asarray(times, dtype=float)


def _as_2d(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[None, :] if arr.ndim == 1 else arr


def _at(values: np.ndarray, times: np.ndarray, day: float) -> np.ndarray:
    """Linear interpolation of (patient, time) values at ``day`` -> (patient,)."""
    if not times[0] - 1e-9 <= day <= times[-1] + 1e-9:
        raise UserError(f"day {day:g} is outside the simulated times [{times[0]:g}, "
                        f"{times[-1]:g}]", field="day")
    i = int(np.searchsorted(times, day))
    if i < times.size and abs(times[i] - day) <= 1e-9:
        return values[:, i]
    if i > 0 and abs(times[i - 1] - day) <= 1e-9:
        return values[:, i - 1]
    w = (day - times[i - 1]) / (times[i] - times[i - 1])
    return (1 - w) * values[:, i - 1] + w * values[:, i]


def _states_at(data: Data, times, day: float, names=("INF", "AB", "C3")) -> dict[str, np.ndarray]:
    t = _times(data, times)
    return {n: _at(_as_2d(_var(data, n)), t, day) for n in names}


def _points(points, state) -> np.ndarray:
    """Integer score points; NaN (float array) where the state is NaN (e.g. after a failed
    solve), never a NaN cast to an integer."""
    points = np.asarray(points)
    missing = np.isnan(np.asarray(state, dtype=float))
    if not missing.any():
        return points.astype(int)
    return np.where(missing, np.nan, points.astype(float))


# ====================================================================== SLEDAI and PGA
def sledai_components(data: Data, mapping: SledaiMapping = DEFAULT_MAPPING) -> dict:
    """SLEDAI-2K surrogate by part: ``clinical``, ``anti_dsdna``, ``low_complement``, ``total``.

    Parameters
    ----------
    data : states ``INF`` (dimensionless), ``AB`` (IU/mL) and ``C3`` (mg/dL).
    mapping : score thresholds (:class:`SledaiMapping`).

    Returns
    -------
    dict of integer arrays (DataArrays for Dataset input), ``total = clinical + anti_dsdna +
    low_complement``, 0-105; float arrays, NaN where a state is NaN (a failed solve), if any
    is. Source: SLEDAI-2K weights (Gladman 2002); mapping: assumption.
    """
    inf, ab, c3 = _var(data, "INF"), _var(data, "AB"), _var(data, "C3")
    clinical = _points(mapping.clinical_points(inf), inf)
    dna = _points(mapping.anti_dsdna_points(ab), ab)
    comp = _points(mapping.complement_points(c3), c3)
    return {
        "clinical": _wrap(inf, clinical, "clinical_sledai", "points",
                          "clinical SLEDAI-2K (serology excluded), surrogate from INF"),
        "anti_dsdna": _wrap(ab, dna, "sledai_anti_dsdna", "points",
                            "SLEDAI-2K 'increased DNA binding' (2 points)"),
        "low_complement": _wrap(c3, comp, "sledai_low_complement", "points",
                                "SLEDAI-2K 'low complement' (2 points)"),
        "total": _wrap(inf, clinical + dna + comp, "sledai", "points",
                       "SLEDAI-2K surrogate (0-105)"),
    }


def sledai(data: Data, mapping: SledaiMapping = DEFAULT_MAPPING):
    """SLEDAI-2K surrogate (integer, 0-105) from ``INF``, ``AB`` and ``C3``; see the module doc."""
    return sledai_components(data, mapping)["total"]


def clinical_sledai(data: Data, mapping: SledaiMapping = DEFAULT_MAPPING):
    """Clinical SLEDAI-2K (serology excluded), as used by DORIS: ``floor(INF)``."""
    inf = _var(data, "INF")
    return _wrap(inf, _points(mapping.clinical_points(inf), inf), "clinical_sledai", "points",
                 "clinical SLEDAI-2K surrogate")


def pga(data: Data, mapping: SledaiMapping = DEFAULT_MAPPING):
    """Physician global assessment surrogate (0-3): ``3 INF / (INF + 7)`` (assumption)."""
    inf = _var(data, "INF")
    return _wrap(inf, mapping.pga(inf), "pga", "points", "physician global assessment surrogate")


# ====================================================================== endpoints
def doris_remission(
    data: Data,
    prednisone_mg_per_day,
    day: float,
    *,
    times=None,
    max_prednisone_mg_per_day: float = 5.0,
    max_pga: float = 0.5,
    mapping: SledaiMapping = DEFAULT_MAPPING,
) -> np.ndarray:
    """DORIS 2021 remission at ``day`` for each patient.

    Criteria (van Vollenhoven 2021) and how they are represented:

    - clinical SLEDAI-2K = 0 (serology ignored): ``floor(INF) = 0``;
    - physician/evaluator global assessment < 0.5 (0-3): PGA surrogate < ``max_pga``;
    - prednisolone <= 5 mg/day: the prescribed dose at ``day`` (``prednisone_mg_per_day``);
    - stable antimalarials, immunosuppressives and biologics allowed: not modelled (always
      satisfied).

    Parameters
    ----------
    data : states (Dataset or arrays ``(patient, time)``).
    prednisone_mg_per_day : prescribed dose (mg/day): a scalar or ``(patient,)`` at ``day``, or
        a 2-D ``(patient, time)`` course on the data's time grid (see
        :func:`nksim.disease.prednisone_mg_per_day`).
    day : assessment day (e.g. 90 and 180 after the first infusion); states are linearly
        interpolated between output times.

    Returns
    -------
    numpy.ndarray of bool, shape ``(patient,)``.
    """
    s = _states_at(data, times, day, ("INF",))
    pred = _dose_at(prednisone_mg_per_day, _times(data, times), day, s["INF"].shape)
    return ((mapping.clinical_points(s["INF"]) == 0) & (mapping.pga(s["INF"]) < max_pga)
            & (pred <= max_prednisone_mg_per_day + 1e-9))


def lldas(
    data: Data,
    prednisone_mg_per_day,
    day: float,
    *,
    previous_day: float | None = None,
    times=None,
    max_sledai: int = 4,
    max_pga: float = 1.0,
    max_prednisone_mg_per_day: float = 7.5,
    mapping: SledaiMapping = DEFAULT_MAPPING,
) -> np.ndarray:
    """Lupus Low Disease Activity State (LLDAS, Franklyn 2016) at ``day`` for each patient.

    Criteria (Franklyn 2016 [UNVERIFIED, as recalled]) and how they are represented:

    - SLEDAI-2K <= 4, with no activity in major organ systems (renal, CNS, cardiopulmonary,
      vasculitis, fever) and no haemolytic anaemia or gastrointestinal activity: the
      SLEDAI-2K surrogate <= ``max_sledai`` (the model has one organ index, so "no major
      organ activity" cannot be told apart: an assumption);
    - no new lupus activity compared with the previous assessment: no rise of the clinical
      points since ``previous_day`` (default ``day - 28``);
    - physician global assessment <= 1 (0-3): PGA surrogate <= ``max_pga``;
    - prednisolone <= 7.5 mg/day: the prescribed dose at ``day``;
    - standard maintenance immunosuppressants and approved biologics: not modelled.

    Returns
    -------
    numpy.ndarray of bool, shape ``(patient,)``.
    """
    prev = day - 28.0 if previous_day is None else previous_day
    now = _states_at(data, times, day)
    before = _states_at(data, times, prev, ("INF",))
    pred = _dose_at(prednisone_mg_per_day, _times(data, times), day, now["INF"].shape)
    clin_now = mapping.clinical_points(now["INF"])
    return ((sledai(now, mapping) <= max_sledai)
            & (clin_now <= mapping.clinical_points(before["INF"]))
            & (mapping.pga(now["INF"]) <= max_pga + 1e-12)
            & (pred <= max_prednisone_mg_per_day + 1e-9))


def _dose_at(dose, times: np.ndarray, day: float, shape) -> np.ndarray:
    arr = np.asarray(dose, dtype=float)
    if arr.ndim == 2:
        # a time course: the prescribed dose in force at ``day`` (last grid time <= day)
        if arr.shape[1] != times.size:
            raise UserError("the prednisone time course and the times differ in length",
                            field="prednisone_mg_per_day")
        i = max(0, int(np.searchsorted(times, day + 1e-9)) - 1)
        return arr[:, i]
    return np.broadcast_to(arr, shape).astype(float)


def sri4_response(
    data: Data,
    day: float,
    *,
    baseline_day: float = 0.0,
    times=None,
    mapping: SledaiMapping = DEFAULT_MAPPING,
) -> np.ndarray:
    """SLE Responder Index 4 at ``day`` versus ``baseline_day`` (Furie 2009).

    - SLEDAI reduction >= 4 points: the SLEDAI-2K surrogate stands for SELENA-SLEDAI;
    - no new BILAG A / no more than one new BILAG B: surrogate "no worsening of the clinical
      (organ) SLEDAI part" (the model has one organ index, so a new organ flare shows as a
      rise of clinical points);
    - no PGA worsening >= 0.3: PGA surrogate.

    Returns
    -------
    numpy.ndarray of bool, shape ``(patient,)``.
    """
    base = _states_at(data, times, baseline_day)
    now = _states_at(data, times, day)
    total = {k: sledai(v, mapping) for k, v in (("base", base), ("now", now))}
    clin_b = mapping.clinical_points(base["INF"])
    clin_n = mapping.clinical_points(now["INF"])
    return ((total["base"] - total["now"] >= 4) & (clin_n <= clin_b)
            & (mapping.pga(now["INF"]) - mapping.pga(base["INF"]) < 0.3))


FLARE_NONE, FLARE_MILD_MODERATE, FLARE_SEVERE = 0, 1, 2


def flares(
    data: Data,
    visit_days: Sequence[float],
    *,
    times=None,
    mapping: SledaiMapping = DEFAULT_MAPPING,
) -> np.ndarray:
    """SELENA-SLEDAI flare index (simplified) at each visit, compared with the previous visit.

    A flare at visit k: SLEDAI increase >= 3 or PGA increase >= 1.0 since visit k-1. It is
    severe (2) if the new SLEDAI is > 12 or the new PGA > 2.5, else mild/moderate (1). The
    index's symptom and medication criteria (new prednisone > 0.5 mg/kg/day, new
    immunosuppressant, hospitalisation) are not used: in a virtual trial medication follows
    the protocol, not the disease.

    Returns
    -------
    numpy.ndarray of int, shape ``(patient, visit)``: 0 none, 1 mild/moderate, 2 severe; the
    first visit is 0.
    """
    visits = [_states_at(data, times, float(d)) for d in visit_days]
    if len(visits) < 1:
        raise UserError("need at least one visit", field="visit_days")
    score = np.stack([sledai(v, mapping) for v in visits], axis=1)
    glob = np.stack([mapping.pga(v["INF"]) for v in visits], axis=1)
    out = np.zeros(score.shape, dtype=int)
    d_score = np.diff(score, axis=1)
    d_pga = np.diff(glob, axis=1)
    flare = (d_score >= 3) | (d_pga >= 1.0 - 1e-12)
    severe = flare & ((score[:, 1:] > 12) | (glob[:, 1:] > 2.5))
    out[:, 1:] = np.where(severe, FLARE_SEVERE, np.where(flare, FLARE_MILD_MODERATE, FLARE_NONE))
    return out


def any_flare(data: Data, visit_days: Sequence[float], **kwargs) -> np.ndarray:
    """True for patients with at least one flare (:func:`flares`) over ``visit_days``."""
    return (flares(data, visit_days, **kwargs) > 0).any(axis=1)


def steroid_free_at(prednisone_mg_per_day, times, day: float, *,
                    since_days: float = 0.0) -> np.ndarray:
    """True where no glucocorticoid is prescribed at ``day`` (and for ``since_days`` before).

    Parameters
    ----------
    prednisone_mg_per_day : ``(patient, time)`` or ``(time,)`` prescribed dose, mg/day.
    times : the time grid of the dose array, days.
    day : assessment day (e.g. 180).
    since_days : also require no dose on the grid points in ``[day - since_days, day]``.

    Returns
    -------
    numpy.ndarray of bool, shape ``(patient,)``.
    """
    dose = _as_2d(prednisone_mg_per_day)
    t = np.asarray(times, dtype=float)
    if dose.shape[1] != t.size:
        raise UserError("the dose array and times differ in length", field="times")
    i = max(0, int(np.searchsorted(t, day + 1e-9)) - 1)
    lo = int(np.searchsorted(t, day - since_days - 1e-9))
    lo = min(lo, i)
    return ~(dose[:, lo:i + 1] > 1e-9).any(axis=1)


#: Shortest below-threshold episode (days) that counts as B-cell depletion (aplasia).
B_CELL_MIN_DEPLETION_DAYS = 7.0


def _depletion_episodes(b: np.ndarray, t: np.ndarray, start: int, threshold: float):
    """``(t_down, t_back)`` of each below-threshold run from index ``start`` (``t_back`` NaN
    if the run lasts to the end); crossings are interpolated linearly."""
    episodes = []
    i = start
    n = b.size
    while i < n:
        below = np.flatnonzero(b[i:] < threshold)
        if below.size == 0:
            break
        i0 = i + below[0]
        if i0 > start and b[i0 - 1] >= threshold:
            b0, b1 = b[i0 - 1], b[i0]
            t_down = t[i0 - 1] + (b0 - threshold) / (b0 - b1) * (t[i0] - t[i0 - 1])
        else:
            t_down = t[i0]
        back = np.flatnonzero(b[i0:] >= threshold)
        if back.size == 0:
            episodes.append((t_down, np.nan))
            break
        j = i0 + back[0]
        b0, b1 = b[j - 1], b[j]
        episodes.append((t_down, t[j - 1] + (threshold - b0) / (b1 - b0) * (t[j] - t[j - 1])))
        i = j
    return episodes


def b_cell_recovery_day(
    B,
    times,
    first_infusion_day: float,
    threshold: float = B_CELL_RETURN_THRESHOLD,
    *,
    min_depleted_days: float = B_CELL_MIN_DEPLETION_DAYS,
) -> np.ndarray:
    """Days from the first infusion until B cells are back at ``threshold`` (cells/uL).

    For each patient: the first episode at or after ``first_infusion_day`` in which ``B``
    stays below ``threshold`` for at least ``min_depleted_days`` (B-cell depletion), then
    the time it is back at or above it; crossings are located by linear interpolation
    between output times. Shorter dips (e.g. from lymphodepletion alone, around the
    infusion) are not depletion and are skipped. NaN if B never stayed below the
    threshold that long, or never came back within the simulation.

    Parameters
    ----------
    B : ``(patient, time)`` or ``(time,)`` B cells, cells/uL (a DataArray works too).
    times : output times, days.
    first_infusion_day : day of the first cell infusion.
    threshold : return threshold, cells/uL (default 10; an assumption, see B_CELL_RETURN).
    min_depleted_days : shortest episode below the threshold that counts as depletion
        (default 7 days: one weekly visit; an assumption, see B_CELL_RETURN).

    Returns
    -------
    numpy.ndarray of float, shape ``(patient,)``: days after ``first_infusion_day``.
    """
    b = _as_2d(B)
    t = np.asarray(times, dtype=float)
    out = np.full(b.shape[0], np.nan)
    start = int(np.searchsorted(t, first_infusion_day - 1e-9))
    for p in range(b.shape[0]):
        for t_down, t_back in _depletion_episodes(b[p], t, start, threshold):
            end = t[-1] if np.isnan(t_back) else t_back
            if end - t_down >= min_depleted_days - 1e-9:
                out[p] = t_back - first_infusion_day
                break
    return out


def b_cell_depleted(
    B,
    times,
    first_infusion_day: float,
    threshold: float = B_CELL_RETURN_THRESHOLD,
    *,
    min_depleted_days: float = B_CELL_MIN_DEPLETION_DAYS,
) -> np.ndarray:
    """True for patients whose B cells stayed below ``threshold`` for at least
    ``min_depleted_days`` at or after ``first_infusion_day`` (the population at risk of
    :func:`b_cell_recovery_day`; same definition). Episodes still running at the end of
    the simulation count by their length so far."""
    b = _as_2d(B)
    t = np.asarray(times, dtype=float)
    start = int(np.searchsorted(t, first_infusion_day - 1e-9))
    out = np.zeros(b.shape[0], dtype=bool)
    for p in range(b.shape[0]):
        for t_down, t_back in _depletion_episodes(b[p], t, start, threshold):
            end = t[-1] if np.isnan(t_back) else t_back
            if end - t_down >= min_depleted_days - 1e-9:
                out[p] = True
                break
    return out


READOUT_SOURCES: tuple[Citation, ...] = (
    SLEDAI2K, SLEDAI_SURROGATE, PGA_SURROGATE, DORIS2021, FURIE2009, SFI, MACKENSEN2022,
    B_CELL_RETURN, LLDAS2016,
)
