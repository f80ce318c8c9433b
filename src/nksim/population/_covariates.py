"""Covariates of virtual patients: age, sex, body weight, height, body-surface area.

Every covariate of patient ``i`` comes from its own random stream,
``patient_rng(seed, i, STREAMS[name])``, with one draw per covariate (inverse-CDF
sampling), so patient ``i`` is the same whatever the population size, batch size,
number of threads or arms. The streams of age, sex and weight are those of
:func:`nksim.disease.sle_candidates`: a child drawn here with the same seed, age
range and female fraction weighs what the trial's candidate weighs.

Distributions (sources in :mod:`nksim.population._sources`):

* age: uniform on ``[low, high)`` years, or any ``scipy.stats`` distribution;
* sex: female with probability ``female_fraction``;
* below 20 y, weight and height follow the CDC 2000 LMS curves for age and sex
  (``M (1 + L S z)^(1/L)``), with the z-scores of weight and height correlated
  (``weight_height_correlation``, Gaussian copula); from 20 y, weight is log-normal and
  height normal around NHANES 2015-2016 means;
* body-surface area: Mosteller (default) or DuBois, named in ``frame.attrs``;
* extra covariates (a disease's own): a ``scipy.stats`` distribution, a categorical
  ``{value: probability}`` mapping, or a function ``f(frame, u) -> values`` of the
  covariates drawn so far and one uniform per patient.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nksim.errors import UserError, shown
from nksim.population._growth import cdc_stature_lms, cdc_weight_lms, lms_value
from nksim.population._sampling import patient_rng, read_patient_table
from nksim.population._sources import (
    ADULT_SPREAD,
    BSA_DUBOIS,
    BSA_MOSTELLER,
    CDC2000_STATURE,
    CDC2000_WEIGHT,
    LMS_METHOD,
    NHANES_ADULTS,
    WEIGHT_HEIGHT_CORRELATION,
)

if TYPE_CHECKING:  # pandas is imported where a table is read or built (start-up time)
    import pandas as pd

#: Sources of the default covariate distributions (labels in ``frame.attrs["sources"]``).
COVARIATE_SOURCES = (CDC2000_WEIGHT, CDC2000_STATURE, LMS_METHOD, WEIGHT_HEIGHT_CORRELATION,
                     NHANES_ADULTS, ADULT_SPREAD, BSA_MOSTELLER, BSA_DUBOIS)

#: Random stream of each covariate (``patient_rng(seed, patient, stream)``); extra
#: covariates get ``10**7 + crc32(name) % (4 * 10**9)``.
STREAMS: dict[str, int] = {"age": 101, "sex": 102, "weight": 103, "height": 108}

#: Standard covariate columns and their units.
COVARIATE_COLUMNS: dict[str, str] = {
    "patient": "integer id (index of the patient's random streams) or the table's id",
    "age_years": "year",
    "sex": "'F' or 'M'",
    "weight_kg": "kg",
    "height_cm": "cm",
    "bsa_m2": "m^2 (formula in frame.attrs['bsa_formula'])",
}

#: Body-surface-area formulas: name -> (description, function of weight kg, height cm).
BSA_FORMULAS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "mosteller": ("Mosteller 1987: sqrt(height_cm * weight_kg / 3600)",
                  lambda w, h: np.sqrt(h * w / 3600.0)),
    "dubois": ("DuBois & DuBois 1916: 0.007184 * weight_kg^0.425 * height_cm^0.725",
               lambda w, h: 0.007184 * w ** 0.425 * h ** 0.725),
}


def body_surface_area(weight_kg, height_cm, formula: str = "mosteller") -> np.ndarray:
    """Body-surface area in m² from weight (kg) and height (cm).

    ``formula``: ``"mosteller"`` (default; sqrt(h w / 3600)) or ``"dubois"``
    (0.007184 w^0.425 h^0.725). Sources: ``BSA_MOSTELLER``, ``BSA_DUBOIS``.
    """
    if formula not in BSA_FORMULAS:
        raise UserError(f"unknown formula {formula!r} (known: {', '.join(BSA_FORMULAS)})",
                        field="bsa_formula")
    w = np.asarray(weight_kg, dtype=float)
    h = np.asarray(height_cm, dtype=float)
    return BSA_FORMULAS[formula][1](w, h)


Distribution = Any  # a frozen scipy.stats distribution, {value: probability}, or f(frame, u)


def distribution(spec: Mapping[str, Any], *, field: str = "population.covariates") -> Distribution:
    """A covariate distribution from a scenario table.

    ``{"normal": {"mean": m, "sd": s, "low": a, "high": b}}`` (bounds optional: truncated),
    ``{"lognormal": {"median": m, "sigma": s, "low": a, "high": b}}`` (bounds optional),
    ``{"uniform": {"low": a, "high": b}}`` or
    ``{"categorical": {"A": 0.3, "B": 0.7}}``.
    """
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise UserError("give exactly one of normal, lognormal, uniform, categorical "
                        f"(got {spec!r})", field=field)
    (kind, args), = spec.items()
    if not isinstance(args, Mapping):
        raise UserError(f"{kind}: expected a table of settings (got {args!r})", field=field)

    def num(name: str, positive: bool = False) -> float:
        value = args.get(name)
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            raise UserError(f"{kind}.{name}: must be a finite number (got {value!r})", field=field)
        if positive and value <= 0:
            raise UserError(f"{kind}.{name}: must be > 0 (got {value!r})", field=field)
        return float(value)

    known = {"normal": {"mean", "sd", "low", "high"},
             "lognormal": {"median", "sigma", "low", "high"}, "uniform": {"low", "high"}}
    if kind in known and set(args) - known[kind]:
        raise UserError(f"{kind}: unknown setting(s) {sorted(set(args) - known[kind])} "
                        f"(known: {sorted(known[kind])})", field=field)
    from scipy import stats  # imported when used: most runs draw no covariates

    if kind == "normal":
        mean, sd = num("mean"), num("sd", positive=True)
        low = num("low") if "low" in args else -math.inf
        high = num("high") if "high" in args else math.inf
        if not low < high:
            raise UserError(f"normal: low must be < high (got {low:g}, {high:g})", field=field)
        return stats.truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
    if kind == "lognormal":
        dist = stats.lognorm(s=num("sigma", positive=True), scale=num("median", positive=True))
        if "low" not in args and "high" not in args:
            return dist
        low = num("low") if "low" in args else 0.0
        high = num("high") if "high" in args else math.inf
        if not 0 <= low < high:
            raise UserError(f"lognormal: need 0 <= low < high (got {low:g}, {high:g})",
                            field=field)
        return _Truncated(dist, low, high)
    if kind == "uniform":
        low, high = num("low"), num("high")
        if not low < high:
            raise UserError(f"uniform: low must be < high (got {low:g}, {high:g})", field=field)
        return stats.uniform(loc=low, scale=high - low)
    if kind == "categorical":
        return _categorical(args, field)
    raise UserError(f"unknown distribution {kind!r} (known: normal, lognormal, uniform, "
                    "categorical)", field=field)


_KINDS = ("normal", "lognormal", "uniform", "categorical")


class _Truncated:
    """A scipy distribution restricted to ``[low, high]`` (inverse-CDF sampling: ``ppf``)."""

    def __init__(self, dist, low: float, high: float) -> None:
        self.dist, self.low, self.high = dist, low, high
        self._a, self._b = float(dist.cdf(low)), float(dist.cdf(high))

    def ppf(self, u):
        x = self.dist.ppf(self._a + np.asarray(u, float) * (self._b - self._a))
        return np.clip(x, self.low, self.high)


def _is_table(spec: object) -> bool:
    """A scenario-style distribution table: ``{"lognormal": {...}}``."""
    return (isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in _KINDS
            and isinstance(next(iter(spec.values())), Mapping))


def _categorical(probs: Mapping[Any, float], field: str) -> dict[Any, float]:
    values = list(probs.values())
    if not values or any(isinstance(p, bool) or not isinstance(p, int | float) or not p >= 0
                         for p in values):
        raise UserError(f"categorical: probabilities must be numbers >= 0 (got {dict(probs)!r})",
                        field=field)
    total = float(sum(values))
    if not math.isclose(total, 1.0, rel_tol=1e-6):
        raise UserError(f"categorical: probabilities must sum to 1 (got {total:g})", field=field)
    return dict(probs)


@dataclass(frozen=True)
class CovariateSpec:
    """How covariates are drawn (a scenario's ``[population.covariates]`` table).

    Parameters
    ----------
    age_years : ``(low, high)`` years (uniform on [low, high)), a frozen
        ``scipy.stats`` distribution of age in years, or a table for :func:`distribution`.
    female_fraction : probability that a patient is female.
    bsa_formula : ``"mosteller"`` (default) or ``"dubois"``.
    weight_height_correlation : correlation of the weight and height z-scores
        (assumption 0.6, plausible 0.4-0.8).
    adult_weight_mean_kg_female, adult_weight_mean_kg_male, adult_weight_sigma :
        adults (20 y and older): log-normal weight with this mean (NHANES 2015-2016,
        UNVERIFIED) and log-SD (assumption).
    adult_height_mean_cm_female, adult_height_mean_cm_male, adult_height_sd_cm :
        adults: normal height (NHANES 2015-2016 means, UNVERIFIED; SD assumption).
    extra : ``{name: distribution}`` of a disease's own covariates (see module notes); a
        distribution may also be a table for :func:`distribution`.
    """

    age_years: tuple[float, float] | Distribution = (2.0, 18.0)
    female_fraction: float = 0.5
    bsa_formula: str = "mosteller"
    weight_height_correlation: float = 0.6
    adult_weight_mean_kg_female: float = 77.4
    adult_weight_mean_kg_male: float = 89.8
    adult_weight_sigma: float = 0.22
    adult_height_mean_cm_female: float = 161.8
    adult_height_mean_cm_male: float = 175.5
    adult_height_sd_cm: float = 7.0
    extra: Mapping[str, Distribution] = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = "population.covariates"
        # Scenario tables ({"lognormal": {...}}) become scipy distributions here.
        if _is_table(self.age_years):
            object.__setattr__(self, "age_years",
                               distribution(self.age_years, field=f"{f}.age_years"))
        object.__setattr__(self, "extra", {
            name: distribution(d, field=f"{f}.extra.{name}") if _is_table(d) else d
            for name, d in dict(self.extra).items()})
        if isinstance(self.age_years, tuple | list):
            lo, hi = (float(x) for x in self.age_years)
            if not (0 <= lo < hi <= 130):
                raise UserError(f"must be (low, high) with 0 <= low < high <= 130 "
                                f"(got {tuple(self.age_years)!r})", field=f"{f}.age_years")
        elif not hasattr(self.age_years, "ppf"):
            raise UserError("must be (low, high) or a scipy.stats distribution "
                            f"(got {self.age_years!r})", field=f"{f}.age_years")
        if not 0 <= self.female_fraction <= 1:
            raise UserError(f"must be in [0, 1] (got {self.female_fraction!r})",
                            field=f"{f}.female_fraction")
        if self.bsa_formula not in BSA_FORMULAS:
            raise UserError(f"unknown formula {self.bsa_formula!r} "
                            f"(known: {', '.join(BSA_FORMULAS)})", field=f"{f}.bsa_formula")
        if not -1 <= self.weight_height_correlation <= 1:
            raise UserError(f"must be in [-1, 1] (got {self.weight_height_correlation!r})",
                            field=f"{f}.weight_height_correlation")
        for name in ("adult_weight_mean_kg_female", "adult_weight_mean_kg_male",
                     "adult_height_mean_cm_female", "adult_height_mean_cm_male",
                     "adult_height_sd_cm"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise UserError(f"must be a finite number > 0 (got {v!r})", field=f"{f}.{name}")
        if not (math.isfinite(self.adult_weight_sigma) and self.adult_weight_sigma >= 0):
            raise UserError(f"must be >= 0 (got {self.adult_weight_sigma!r})",
                            field=f"{f}.adult_weight_sigma")
        for name, dist in self.extra.items():
            if name in COVARIATE_COLUMNS:
                raise UserError(f"{name!r} is a standard covariate", field=f"{f}.extra.{name}")
            if isinstance(dist, Mapping):
                _categorical(dist, f"{f}.extra.{name}")
            elif not (hasattr(dist, "ppf") or callable(dist)):
                raise UserError("must be a scipy.stats distribution, {value: probability} or "
                                f"a function (got {dist!r})", field=f"{f}.extra.{name}")


def _uniforms(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    return np.array([patient_rng(seed, int(i), stream).random() for i in ids])


def _normals(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    return np.array([patient_rng(seed, int(i), stream).standard_normal() for i in ids])


def extra_stream(name: str) -> int:
    """The random stream of an extra covariate (stable across machines and runs)."""
    # above every fixed stream number, below 2^32 (the fast path of the draws)
    return 10_000_000 + zlib.crc32(name.encode()) % 4_000_000_000


def sample_covariates(size: int, seed: int, spec: CovariateSpec | None = None, *,
                      start: int = 0, ids: np.ndarray | None = None) -> pd.DataFrame:
    """Covariates of patients ``start .. start+size-1`` (columns :data:`COVARIATE_COLUMNS`),
    or of the patients ``ids`` (their random streams keyed by
    :func:`nksim.population._sampling.stream_keys`).

    Patient ``i`` depends only on ``seed``, ``i`` and ``spec``:
    ``sample_covariates(5, s, start=10)`` equals rows 10-14 of ``sample_covariates(15, s)``.
    The BSA formula and sources are in ``frame.attrs``.
    """
    import pandas as pd

    spec = CovariateSpec() if spec is None else spec
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise UserError(f"must be an integer >= 0 (got {size!r})", field="size")
    if ids is not None:
        from nksim.population._sampling import stream_keys

        if len(ids) != size or start != 0:
            raise ValueError("ids must hold one id per patient, and start is not given with "
                             "them")
        patient_ids, keys = np.asarray(ids), stream_keys(ids)
    else:
        keys = patient_ids = np.arange(start, start + size, dtype=np.int64)

    u = _uniforms(seed, keys, STREAMS["age"])
    if isinstance(spec.age_years, tuple | list):
        lo, hi = (float(x) for x in spec.age_years)
        age = np.clip(lo + u * (hi - lo), lo, np.nextafter(hi, -np.inf))
    else:
        # its range, up to one individual in 10^9 (so the answer does not depend on n)
        low, high = (float(x) for x in spec.age_years.ppf([1e-9, 1.0 - 1e-9]))
        if not (low >= 0 and high <= 130):
            raise UserError(f"the distribution reaches ages outside 0-130 years ({low:.3g} to "
                            f"{high:.3g}); bound it with low and high, e.g. {{ normal = "
                            "{ mean = 8, sd = 6, low = 0, high = 18 } }", field="age_years")
        age = np.asarray(spec.age_years.ppf(u), dtype=float)
    sex = np.where(_uniforms(seed, keys, STREAMS["sex"]) < spec.female_fraction, "F", "M")

    z_w = _normals(seed, keys, STREAMS["weight"])
    rho = spec.weight_height_correlation
    z_h = rho * z_w + math.sqrt(max(0.0, 1.0 - rho * rho)) * _normals(seed, keys, STREAMS["height"])
    weight, height = np.empty(size), np.empty(size)
    for s in ("F", "M"):
        child = (sex == s) & (age < 20.0)
        if child.any():
            weight[child] = lms_value(*cdc_weight_lms(age[child], s), z_w[child])
            height[child] = lms_value(*cdc_stature_lms(age[child], s), z_h[child])
        adult = (sex == s) & (age >= 20.0)
        sfx = "female" if s == "F" else "male"
        sig = spec.adult_weight_sigma
        median = getattr(spec, f"adult_weight_mean_kg_{sfx}") * math.exp(-sig * sig / 2)
        weight[adult] = median * np.exp(sig * z_w[adult])
        height[adult] = (getattr(spec, f"adult_height_mean_cm_{sfx}")
                         + spec.adult_height_sd_cm * z_h[adult])
    frame = pd.DataFrame({
        "patient": patient_ids, "age_years": age, "sex": sex.astype(object),
        "weight_kg": weight, "height_cm": height,
        "bsa_m2": body_surface_area(weight, height, spec.bsa_formula),
    })
    for name, dist in spec.extra.items():
        u = _uniforms(seed, keys, extra_stream(name))
        if isinstance(dist, Mapping):
            values = list(dist)
            edges = np.cumsum([float(dist[v]) for v in values])
            k = np.minimum(np.searchsorted(edges / edges[-1], u, side="right"), len(values) - 1)
            frame[name] = pd.Series([values[j] for j in k], dtype=object)
        elif hasattr(dist, "ppf"):
            frame[name] = np.asarray(dist.ppf(u), dtype=float)
        else:
            frame[name] = np.asarray(dist(frame.copy(), u))
    frame.attrs["bsa_formula"] = BSA_FORMULAS[spec.bsa_formula][0]
    frame.attrs["sources"] = [c.label() for c in COVARIATE_SOURCES]
    return frame


_CHECKS = {"age_years": (0.0, 130.0), "weight_kg": (0.2, 700.0), "height_cm": (20.0, 280.0),
           "bsa_m2": (0.05, 5.0)}


def read_covariates(path: str | Path, *, bsa_formula: str = "mosteller",
                    field: str = "population.covariates_file") -> pd.DataFrame:
    """Covariates from a CSV or Parquet table, one row per patient.

    Standard columns (optional, units in the name): ``patient``, ``age_years``, ``sex``
    (F/M), ``weight_kg``, ``height_cm``, ``bsa_m2``; other columns are extra covariates.
    ``bsa_m2`` is computed with ``bsa_formula`` where missing and weight and height are
    given. Values outside physical ranges (e.g. a weight of 7000 kg) are refused.
    """
    path = Path(path)
    table = read_patient_table(path, field=field)
    if len(table) == 0:
        raise UserError(f"{path.name} has no rows", field=field)
    return check_covariates(table, bsa_formula=bsa_formula, field=field)


def check_covariates(table: pd.DataFrame, *, bsa_formula: str = "mosteller",
                     field: str = "covariates") -> pd.DataFrame:
    """Validate a covariate table (see :func:`read_covariates`); adds ``bsa_m2`` if possible."""
    import pandas as pd

    table = table.reset_index(drop=True).copy()
    if "patient" not in table:
        table.insert(0, "patient", np.arange(len(table)))
    elif table["patient"].duplicated().any():
        dup = table["patient"][table["patient"].duplicated()].iloc[0]
        raise UserError(f"patient id {shown(dup)} appears twice", field=f"{field}.patient")
    for name, (lo, hi) in _CHECKS.items():
        if name in table:
            col = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(col) | (col < lo) | (col > hi)
            if bad.any():
                r = int(np.argmax(bad))
                raise UserError(f"row {r + 1}: must be a number in [{lo:g}, {hi:g}] "
                                f"(got {shown(table[name].iloc[r])})", field=f"{field}.{name}")
            table[name] = col
    if "sex" in table:
        bad = ~table["sex"].isin(["F", "M"])
        if bad.any():
            r = int(np.argmax(bad.to_numpy()))
            raise UserError(f"row {r + 1}: must be 'F' or 'M' (got {table['sex'].iloc[r]!r})",
                            field=f"{field}.sex")
    if bsa_formula not in BSA_FORMULAS:
        raise UserError(f"unknown formula {bsa_formula!r} (known: {', '.join(BSA_FORMULAS)})",
                        field="bsa_formula")
    if "bsa_m2" not in table and {"weight_kg", "height_cm"} <= set(table):
        table["bsa_m2"] = body_surface_area(table["weight_kg"], table["height_cm"], bsa_formula)
        table.attrs["bsa_formula"] = BSA_FORMULAS[bsa_formula][0]
    elif "bsa_m2" in table:
        table.attrs["bsa_formula"] = "given in the table"
    return table
