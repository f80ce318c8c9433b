"""CRS and ICANS grades (ASTCT 2019) from simulated cytokine and CAR-cell peaks.

The ASTCT grades are clinical (fever, hypotension, hypoxia; ICE score, consciousness,
seizures, motor findings, cerebral oedema: see docs/cell-products.md). The model has
no blood pressure or oxygen saturation, so nksim maps its cytokine peaks to a grade
through a documented **surrogate** (an assumption, not a published mapping):

CRS
    index ``X = max(IL6_peak - il6_baseline, 0) + ifng_weight * max(IFNG_peak -
    ifng_baseline, 0)`` (pg/mL, IL-6 equivalents; the baselines are the patient's own
    untreated levels where the setting gives them, see :func:`toxicity_table`). Grade =
    number of thresholds ``thresholds[g] * f`` that ``X`` reaches, where
    ``f = exp(sigma * z)`` is the patient's individual threshold factor (``z`` standard
    normal from the patient's random stream): some patients develop fever and hypotension
    at lower cytokine levels than others.
ICANS
    index ``Y = sqrt(max(IL6_peak - il6_baseline, 0) / il6_scale * CAR_peak / car_scale)``
    (dimensionless): neurotoxicity follows high CAR-cell expansion together with high
    cytokines. Grade = number of thresholds ``thresholds[g] * f`` reached, ``f`` drawn
    as for CRS.

Both grades are monotone in their inputs and, for a fixed factor, reproduce
hand-computed values. With the default thresholds, the reference SLE setting (1e6
CAR-T/kg, B 200 cells/uL) gives mostly grade 1 CRS and no ICANS; grade >= 3 CRS
appears only at B-ALL-like target burdens; CAR-NK gives grade 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nksim.therapy._cytokines import IFNG_BASELINE, IL6_BASELINE
from nksim.therapy._sources import ASTCT2019, Citation

TOXICITY_MAPPING = Citation(
    "nksim CRS/ICANS surrogate",
    "Peak-cytokine surrogate for ASTCT 2019 CRS grades and a CAR-peak x IL-6 surrogate for "
    "ICANS grades, with log-normal individual threshold factors.",
    verified="assumption",
    note="Thresholds chosen so that CD19 CAR-T in SLE gives mostly mild CRS (Mackensen "
    "2022: only mild CRS), severe CRS needs B-ALL-like burden, CAR-NK gives none (Liu 2020, "
    "FT596/FT516: no or rare grade 1 CRS). Grade-1 threshold 9 pg/mL (16 until §14.6, 12 "
    "and 20 before; issue 10): CRS of any grade in 60-87 % of lupus CAR-T series, mostly "
    "grade 1-2 (issue 10 [UNVERIFIED]); re-set a third time to the same anchor once the "
    "B-selective Flu/Cy (Lacki 1997) left fewer CD19+ cells to kill at infusion, which "
    "lowered the killing-driven IL-6 (docs/calibration.md §14.6): virtual 0.58 of children "
    "at 1e5/kg, 0.72 of adults at 1e6/kg (0.47 and 0.62 with 10), grade >= 2 <= 0.03, "
    "CAR-NK 0; since each patient's own baselines are subtracted (not re-set): 0.53 of "
    "children, 0.64 of adults. Plausible ranges in docs/cell-products.md.",
)

#: Citations of the grading (ASTCT definitions and the nksim surrogate).
TOXICITY_SOURCES = (ASTCT2019, TOXICITY_MAPPING)

RngLike = np.random.Generator | Sequence[np.random.Generator] | None


@dataclass(frozen=True)
class CRSMapping:
    """Surrogate CRS grading (all values assumptions, see the module docstring).

    Parameters
    ----------
    thresholds : CRS index (pg/mL IL-6 equivalents) for grade >= 1, 2, 3, 4 (increasing).
    ifng_weight : weight of the IFN-gamma excess in the index.
    sigma : log-scale SD of the individual threshold factor.
    il6_baseline, ifng_baseline : baselines subtracted from the peaks (pg/mL).
    """

    thresholds: tuple[float, float, float, float] = (9.0, 100.0, 500.0, 2500.0)
    ifng_weight: float = 0.5
    sigma: float = 0.5
    il6_baseline: float = IL6_BASELINE
    ifng_baseline: float = IFNG_BASELINE

    def __post_init__(self) -> None:
        _check_thresholds(self.thresholds, "CRSMapping.thresholds")
        if not (self.ifng_weight >= 0 and self.sigma >= 0):
            raise ValueError("CRSMapping: ifng_weight and sigma must be >= 0")


@dataclass(frozen=True)
class ICANSMapping:
    """Surrogate ICANS grading (all values assumptions, see the module docstring).

    Parameters
    ----------
    thresholds : ICANS index for grade >= 1, 2, 3, 4 (increasing).
    il6_scale : IL-6 excess (pg/mL) that, with ``car_scale``, gives index 1.
    car_scale : peak CAR cells (cell/uL) that, with ``il6_scale``, gives index 1.
    sigma : log-scale SD of the individual threshold factor.
    il6_baseline : baseline subtracted from the IL-6 peak (pg/mL).
    """

    thresholds: tuple[float, float, float, float] = (1.0, 2.0, 4.0, 8.0)
    il6_scale: float = 500.0
    car_scale: float = 1000.0
    sigma: float = 0.6
    il6_baseline: float = IL6_BASELINE

    def __post_init__(self) -> None:
        _check_thresholds(self.thresholds, "ICANSMapping.thresholds")
        if not (self.il6_scale > 0 and self.car_scale > 0 and self.sigma >= 0):
            raise ValueError("ICANSMapping: scales must be > 0 and sigma >= 0")


def _check_thresholds(values: Sequence[float], field: str) -> None:
    v = np.asarray(values, dtype=float)
    if v.shape != (4,) or not np.all(np.isfinite(v)) or np.any(v <= 0) or np.any(np.diff(v) <= 0):
        raise ValueError(
            f"{field}: need 4 positive, strictly increasing thresholds, got {values!r}")


DEFAULT_CRS = CRSMapping()
DEFAULT_ICANS = ICANSMapping()


def threshold_factors(rng: RngLike, sigma: float, n: int) -> np.ndarray:
    """Individual threshold factors ``exp(sigma * z)``, one per patient.

    Parameters
    ----------
    rng : ``None`` (every factor 1: the typical patient), one ``numpy.random.Generator``
        (``n`` draws from it) or a sequence of ``n`` generators, one per patient (one
        standard-normal draw from each: results then do not depend on batch size).
    sigma : log-scale SD.
    n : number of patients.
    """
    if rng is None:
        return np.ones(n)
    if isinstance(rng, np.random.Generator):
        z = rng.standard_normal(n)
    else:
        gens = list(rng)
        if len(gens) != n:
            raise ValueError(f"expected {n} random generators (one per patient), got {len(gens)}")
        z = np.array([g.standard_normal() for g in gens])
    return np.exp(sigma * z)


def _grade(index: np.ndarray, thresholds: Sequence[float], factor: np.ndarray) -> np.ndarray:
    thr = np.asarray(thresholds, dtype=float)[None, :] * factor[:, None]
    return (index[:, None] >= thr).sum(axis=1).astype(int)


def _factors(rng: RngLike, threshold_factor, sigma: float, n: int) -> np.ndarray:
    if threshold_factor is not None:
        if rng is not None:
            raise ValueError("give rng or threshold_factor, not both")
        f = np.broadcast_to(np.asarray(threshold_factor, dtype=float), (n,)).copy()
        if np.any(~np.isfinite(f)) or np.any(f <= 0):
            raise ValueError("threshold_factor must be finite and > 0")
        return f
    return threshold_factors(rng, sigma, n)


def _as_array(x) -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=float)
    return np.atleast_1d(a), a.ndim == 0


def crs_index(peak_il6, peak_ifng, mapping: CRSMapping = DEFAULT_CRS, *,
              il6_baseline=None, ifng_baseline=None) -> np.ndarray:
    """CRS index (pg/mL IL-6 equivalents) from peak IL-6 and IFN-gamma (pg/mL).

    ``il6_baseline``, ``ifng_baseline``: each patient's own untreated levels (pg/mL);
    ``None``: the mapping's typical baselines."""
    il6, _ = _as_array(peak_il6)
    ifng, _ = _as_array(peak_ifng)
    b_il6 = mapping.il6_baseline if il6_baseline is None else il6_baseline
    b_ifng = mapping.ifng_baseline if ifng_baseline is None else ifng_baseline
    return (np.maximum(il6 - b_il6, 0.0)
            + mapping.ifng_weight * np.maximum(ifng - b_ifng, 0.0))


def crs_grade(
    peak_il6: float | Sequence[float] | np.ndarray,
    peak_ifng: float | Sequence[float] | np.ndarray,
    *,
    rng: RngLike = None,
    threshold_factor: float | Sequence[float] | np.ndarray | None = None,
    mapping: CRSMapping = DEFAULT_CRS,
) -> int | np.ndarray:
    """ASTCT CRS grade 0-4 (surrogate) from peak plasma IL-6 and IFN-gamma.

    Parameters
    ----------
    peak_il6, peak_ifng : peak concentrations (pg/mL), scalars or one per patient.
    rng : random stream(s) for the individual threshold factor (see
        :func:`threshold_factors`); ``None`` and no ``threshold_factor``: the typical
        patient (factor 1).
    threshold_factor : explicit factor(s) multiplying every threshold (instead of rng).
    mapping : thresholds, IFN-gamma weight, variability and baselines.

    Returns
    -------
    int or numpy.ndarray of int
        Grade(s) 0-4; a plain ``int`` for scalar inputs.
    """
    x = crs_index(peak_il6, peak_ifng, mapping)
    scalar = np.ndim(peak_il6) == 0 and np.ndim(peak_ifng) == 0
    f = _factors(rng, threshold_factor, mapping.sigma, x.size)
    g = _grade(x, mapping.thresholds, f)
    return int(g[0]) if scalar else g


def icans_index(peak_il6, peak_car, mapping: ICANSMapping = DEFAULT_ICANS, *,
                il6_baseline=None) -> np.ndarray:
    """ICANS index from peak IL-6 (pg/mL) and peak CAR cells in blood (cell/uL);
    ``il6_baseline`` as in :func:`crs_index`."""
    il6, _ = _as_array(peak_il6)
    car, _ = _as_array(peak_car)
    b_il6 = mapping.il6_baseline if il6_baseline is None else il6_baseline
    return np.sqrt(np.maximum(il6 - b_il6, 0.0) / mapping.il6_scale
                   * np.maximum(car, 0.0) / mapping.car_scale)


def icans_grade(
    peak_il6: float | Sequence[float] | np.ndarray,
    peak_car: float | Sequence[float] | np.ndarray,
    *,
    rng: RngLike = None,
    threshold_factor: float | Sequence[float] | np.ndarray | None = None,
    mapping: ICANSMapping = DEFAULT_ICANS,
) -> int | np.ndarray:
    """ASTCT ICANS grade 0-4 (surrogate) from peak IL-6 and peak CAR cells.

    Parameters
    ----------
    peak_il6 : peak plasma IL-6 (pg/mL).
    peak_car : peak CAR cells in blood (cell/uL; CAR-T effector + memory, or CAR-NK).
    rng, threshold_factor : individual variability, as in :func:`crs_grade`.
    mapping : thresholds, scales, variability and baseline.

    Returns
    -------
    int or numpy.ndarray of int
        Grade(s) 0-4; a plain ``int`` for scalar inputs.
    """
    y = icans_index(peak_il6, peak_car, mapping)
    scalar = np.ndim(peak_il6) == 0 and np.ndim(peak_car) == 0
    f = _factors(rng, threshold_factor, mapping.sigma, y.size)
    g = _grade(y, mapping.thresholds, f)
    return int(g[0]) if scalar else g


def toxicity_table(
    dataset,
    *,
    rngs: Sequence[np.random.Generator] | None = None,
    t_from: float = 0.0,
    t_to: float | None = None,
    crs: CRSMapping = DEFAULT_CRS,
    icans: ICANSMapping = DEFAULT_ICANS,
    baseline_time: float | None = None,
) -> pd.DataFrame:
    """Per-patient peaks and CRS/ICANS grades from a simulation dataset.

    Parameters
    ----------
    dataset : ``SimulationResult.dataset`` (dims patient, time) with ``IL6``, ``IFNG`` and
        any of ``CART``, ``CARTM``, ``CARNK``. Peaks are taken over the output times in
        ``[t_from, t_to]``: record IL-6 finely (every few hours) in the first weeks, since
        it moves on a time scale of hours.
    rngs : one generator per patient; from each, the CRS factor is drawn first, then the
        ICANS factor. ``None``: the typical patient (factors 1).
    t_from, t_to : window (days) for the peaks (default from day 0 to the end).
    crs, icans : the mappings.
    baseline_time : an output time (days) before any treatment: each patient's IL-6 and
        IFN-gamma then are its own baselines, subtracted from its peaks (the baselines
        vary between patients). ``None``: the mappings' typical baselines.

    Returns
    -------
    pandas.DataFrame
        Indexed by patient: ``peak_il6``, ``day_peak_il6``, ``peak_ifng``, ``peak_car``,
        ``day_peak_car``, ``crs_index``, ``crs_grade``, ``icans_index``, ``icans_grade``.
    """
    window = dataset.time >= t_from
    if t_to is not None:
        window = window & (dataset.time <= t_to)
    ds = dataset.sel(time=window)
    il6 = ds["IL6"].values
    ifng = ds["IFNG"].values
    car = np.zeros_like(il6)
    for name in ("CART", "CARTM", "CARNK"):
        if name in ds:
            car = car + np.nan_to_num(ds[name].values)
    times = ds.time.values
    n = il6.shape[0]
    if rngs is not None:
        gens = list(rngs)
        if len(gens) != n:
            raise ValueError(f"expected {n} random generators (one per patient), got {len(gens)}")
        z = np.array([[g.standard_normal(), g.standard_normal()] for g in gens])
        f_crs, f_icans = np.exp(crs.sigma * z[:, 0]), np.exp(icans.sigma * z[:, 1])
    else:
        f_crs = f_icans = np.ones(n)
    peak_il6, day_il6 = _peaks(il6, times)
    peak_ifng, _ = _peaks(ifng, times)
    peak_car, day_car = _peaks(car, times)
    base_il6 = base_ifng = None
    if baseline_time is not None:
        at = dataset.sel(time=baseline_time)
        base_il6, base_ifng = at["IL6"].values, at["IFNG"].values
    x = crs_index(peak_il6, peak_ifng, crs, il6_baseline=base_il6, ifng_baseline=base_ifng)
    y = icans_index(peak_il6, peak_car, icans, il6_baseline=base_il6)
    ok = np.isfinite(x) & np.isfinite(y)  # a failed patient has no grade (<NA>)
    return pd.DataFrame({
        "peak_il6": peak_il6,
        "day_peak_il6": day_il6,
        "peak_ifng": peak_ifng,
        "peak_car": peak_car,
        "day_peak_car": day_car,
        "crs_index": x,
        "crs_grade": _grades_or_na(x, crs.thresholds, f_crs, ok),
        "icans_index": y,
        "icans_grade": _grades_or_na(y, icans.thresholds, f_icans, ok),
    }, index=pd.Index(ds.patient.values, name="patient"))


def _grades_or_na(index: np.ndarray, thresholds, factor: np.ndarray, ok: np.ndarray):
    grades = _grade(np.where(ok, index, 0.0), thresholds, factor)
    return pd.array([int(g) if k else pd.NA for g, k in zip(grades, ok, strict=True)],
                    dtype="Int64")


def _peaks(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise maximum and its time; NaN for rows without any finite value."""
    finite = np.isfinite(values)
    has = finite.any(axis=1)
    filled = np.where(finite, values, -np.inf)
    idx = np.argmax(filled, axis=1)
    peak = np.where(has, filled[np.arange(values.shape[0]), idx], np.nan)
    day = np.where(has, times[idx], np.nan)
    return peak, day
