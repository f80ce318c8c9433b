"""Virtual lupus candidates: the people referred to a lupus trial, before screening
(the scenario's ``[cohort]`` table of the ``sle`` setting).

Each candidate gets age, sex, body weight, disease duration, failed regimens, baseline
SLEDAI-2K and absolute lymphocyte count from documented distributions (sources and
assumptions in :mod:`nksim.disease._sle_trial_sources`). Every covariate is drawn from its own
random stream of the candidate, ``patient_rng(seed, candidate, stream)``, with exactly
one draw per covariate (inverse-CDF sampling, also for truncated distributions), so:

* candidate 17 is the same whether 20 or 20,000 candidates are generated;
* changing one covariate's distribution never changes another covariate's draws
  (covariates that *depend* on another one, such as weight on age, change with it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nksim._spec import INT, NUMBER, quantity, spec_from_mapping
from nksim.errors import UserError
from nksim.population import cdc_weight_lms, patient_rng

__all__ = ["SleCohortSpec", "sle_candidates", "SLE_CANDIDATE_COLUMNS"]

#: Random stream of each covariate (``patient_rng(seed, candidate, stream)``).
STREAMS: dict[str, int] = {
    "age": 101,
    "sex": 102,
    "weight": 103,
    "disease_duration": 104,
    "failed_regimens": 105,
    "sledai": 106,
    "alc": 107,
}

#: Columns of :func:`sle_candidates`, with units.
SLE_CANDIDATE_COLUMNS: dict[str, str] = {
    "candidate": "integer id (index of the candidate's random streams)",
    "population": "'pediatric' or 'adult'",
    "age_years": "years",
    "sex": "'F' or 'M'",
    "weight_kg": "kg",
    "disease_duration_months": "months since diagnosis",
    "age_at_diagnosis_years": "years",
    "failed_regimens": "count",
    "sledai": "SLEDAI-2K points (integer, 0-105)",
    "alc_per_ul": "absolute lymphocyte count, cells/uL",
}

# CDC 2000 weight-for-age (LMS) lives in nksim.population (shared with covariates).


def _lms_value(L: np.ndarray, M: np.ndarray, S: np.ndarray, z: np.ndarray) -> np.ndarray:
    base = np.maximum(1.0 + L * S * z, 1e-3)  # extreme z only; keeps weights positive
    return M * base ** (1.0 / L)


# ---------------------------------------------------------------- specification helpers


def _require(ok: bool, message: str, name: str) -> None:
    if not ok:
        raise UserError(message, field=name)


# ---------------------------------------------------------------- cohort specification
_POPULATION_DEFAULTS: dict[str, dict[str, Any]] = {
    # Sources: disease._sle_trial_sources (AGE_DISTRIBUTION, CSLE_DEMOGRAPHY, ADULT_SLE_DEMOGRAPHY,
    # DURATION_DISTRIBUTION, ALC_DISTRIBUTION).
    "pediatric": {
        "age_min_years": 3.0, "age_max_years": 18.0,
        "age_mean_years": 12.5, "age_sd_years": 3.5,
        "female_fraction": 0.82,
        "duration_median_months": 30.0,
        "alc_median_per_ul": 1200.0,
    },
    "adult": {
        "age_min_years": 18.0, "age_max_years": 70.0,
        "age_mean_years": 38.0, "age_sd_years": 12.0,
        "female_fraction": 0.90,
        "duration_median_months": 48.0,
        "alc_median_per_ul": 1100.0,
    },
}


@dataclass(frozen=True)
class SleCohortSpec:
    """How virtual candidates are generated (the scenario's ``[cohort]`` table).

    Fields left at ``None`` take the population's default (see
    :meth:`resolved`); every default is documented in :mod:`nksim.disease._sle_trial_sources`.

    Parameters
    ----------
    population : {"pediatric", "adult"}
        Children (candidates aged 3-18 y by default) or adults (18-70 y).
    n_candidates : int
        Default number of candidates for :func:`sle_candidates`.
    age_distribution : {"truncated_normal", "uniform"}
        Age on ``[age_min_years, age_max_years)``: a normal with ``age_mean_years`` and
        ``age_sd_years`` truncated to the range, or uniform on it.
    age_min_years, age_max_years, age_mean_years, age_sd_years : float, years
    female_fraction : float
        Probability that a candidate is female (children 0.82, adults 0.90; V-src).
    adult_weight_median_female_kg, adult_weight_median_male_kg, adult_weight_sigma
        Log-normal body weight from 20 y on (assumption); below 20 y weight follows the
        CDC 2000 weight-for-age LMS curves of the candidate's age and sex.
    duration_median_months, duration_sigma, min_onset_age_years
        Log-normal months since diagnosis, truncated so that the diagnosis came after
        ``min_onset_age_years`` of age.
    regimens_base, regimens_per_year, regimens_max
        Failed regimens ~ Poisson(base + per_year x disease years), at most ``regimens_max``.
    sledai_median, sledai_sigma
        Log-normal baseline SLEDAI-2K, rounded to an integer in [0, 105].
    alc_median_per_ul, alc_sigma
        Log-normal absolute lymphocyte count, cells/uL.
    """

    population: str = field(default="pediatric",
                            metadata={"kind": "choice", "choices": ("pediatric", "adult")})
    n_candidates: int = field(default=200, metadata={**INT, "max": 1_000_000})
    age_distribution: str = field(
        default="truncated_normal",
        metadata={"kind": "choice", "choices": ("truncated_normal", "uniform")})
    age_min_years: float | None = field(default=None, metadata=quantity("year"))
    age_max_years: float | None = field(default=None, metadata=quantity("year"))
    age_mean_years: float | None = field(default=None, metadata=quantity("year"))
    age_sd_years: float | None = field(default=None, metadata=quantity("year"))
    female_fraction: float | None = field(default=None, metadata=NUMBER)
    adult_weight_median_female_kg: float = field(default=58.0, metadata=quantity("kg"))
    adult_weight_median_male_kg: float = field(default=70.0, metadata=quantity("kg"))
    adult_weight_sigma: float = field(default=0.15, metadata=NUMBER)
    duration_median_months: float | None = field(default=None, metadata=quantity("month"))
    duration_sigma: float = field(default=0.9, metadata=NUMBER)
    min_onset_age_years: float = field(default=2.0, metadata=quantity("year"))
    regimens_base: float = field(default=1.0, metadata=NUMBER)
    regimens_per_year: float = field(default=0.8, metadata=NUMBER)
    regimens_max: int = field(default=12, metadata={**INT, "max": 1000})
    sledai_median: float = field(default=10.0, metadata=NUMBER)
    sledai_sigma: float = field(default=0.5, metadata=NUMBER)
    alc_median_per_ul: float | None = field(default=None, metadata=quantity("cell/uL"))
    alc_sigma: float = field(default=0.6, metadata=NUMBER)

    def __post_init__(self) -> None:
        r = self.resolved()
        _require(self.population in _POPULATION_DEFAULTS,
                 f"must be 'pediatric' or 'adult' (got {self.population!r})", "population")
        _require(self.age_distribution in ("truncated_normal", "uniform"),
                 f"must be 'truncated_normal' or 'uniform' (got {self.age_distribution!r})",
                 "age_distribution")
        _require(isinstance(self.n_candidates, int) and self.n_candidates >= 1,
                 f"must be an integer >= 1 (got {self.n_candidates!r})", "n_candidates")
        for name, value in r.items():
            if isinstance(value, float):
                _require(math.isfinite(value), f"must be finite (got {value!r})", name)
        _require(r["age_min_years"] >= 0, f"must be >= 0 (got {r['age_min_years']:g})",
                 "age_min_years")
        _require(r["age_max_years"] > r["age_min_years"],
                 f"must be > age_min_years ({r['age_min_years']:g}) "
                 f"(got {r['age_max_years']:g})", "age_max_years")
        for name in ("age_sd_years", "adult_weight_median_female_kg",
                     "adult_weight_median_male_kg", "duration_median_months",
                     "sledai_median", "alc_median_per_ul"):
            _require(r[name] > 0, f"must be > 0 (got {r[name]:g})", name)
        for name in ("regimens_base", "regimens_per_year", "min_onset_age_years"):
            _require(r[name] >= 0, f"must be >= 0 (got {r[name]:g})", name)
        for name in ("adult_weight_sigma", "duration_sigma", "sledai_sigma", "alc_sigma"):
            # log-normal spreads; the upper bound of 5 (a factor of 150 per standard
            # deviation) is an input-validation assumption that keeps every draw finite
            _require(0 <= r[name] <= 5, f"must be from 0 to 5 on the log scale "
                     f"(got {r[name]:g})", name)
        _require(0.0 <= r["female_fraction"] <= 1.0,
                 f"must be in [0, 1] (got {r['female_fraction']:g})", "female_fraction")
        _require(isinstance(self.regimens_max, int) and self.regimens_max >= 0,
                 f"must be an integer >= 0 (got {self.regimens_max!r})", "regimens_max")

    def resolved(self) -> dict[str, Any]:
        """All settings, with the population's defaults filled in for ``None`` fields."""
        defaults = _POPULATION_DEFAULTS.get(self.population, _POPULATION_DEFAULTS["pediatric"])
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = defaults[f.name] if value is None and f.name in defaults else value
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *, field: str = "cohort") -> SleCohortSpec:
        """The spec of a scenario's ``[cohort]`` table; unknown keys raise :class:`UserError`.

        Quantities with units accept numbers (in the unit of the key's suffix) or
        ``"value unit"`` strings, e.g. ``age_max_years = 18`` or ``"216 month"``.
        """
        return spec_from_mapping(cls, raw, field)


# ---------------------------------------------------------------- generation
def _uniforms(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    return np.array([patient_rng(seed, int(i), stream).random() for i in ids])


def _normals(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    return np.array([patient_rng(seed, int(i), stream).standard_normal() for i in ids])


def sle_candidates(
    n: int | None = None,
    seed: int = 0,
    spec: SleCohortSpec | None = None,
    *,
    start: int = 0,
) -> pd.DataFrame:
    """Generate ``n`` virtual candidates (before screening).

    Parameters
    ----------
    n : int, optional
        Number of candidates (default ``spec.n_candidates``).
    seed : int
        The trial's seed. Candidate ``i`` depends only on ``seed``, ``i`` and ``spec``.
    spec : SleCohortSpec, optional
        Distributions (default: paediatric).
    start : int
        Id of the first candidate: ``sle_candidates(10, s, start=5)`` returns
        candidates 5-14, identical to rows 5-14 of ``sle_candidates(15, s)``
        (so candidates can be generated in batches).

    Returns
    -------
    pandas.DataFrame
        One row per candidate, columns :data:`SLE_CANDIDATE_COLUMNS` (units there).

    Notes
    -----
    Distributions (sources and plausible ranges in :mod:`nksim.disease._sle_trial_sources`):

    * age: truncated normal (or uniform) on ``[age_min, age_max)``, by inverse CDF;
    * sex: female with probability ``female_fraction``;
    * weight: CDC 2000 LMS weight-for-age below 20 y (``M (1 + L S z)^(1/L)``,
      ``z ~ N(0, 1)``), log-normal ``median * exp(sigma z)`` from 20 y;
    * disease duration: log-normal truncated to ``[0, 12 (age - min_onset_age)]`` months;
    * failed regimens: Poisson(``base + per_year * duration_years``), capped;
    * SLEDAI-2K: ``round(median * exp(sigma z))`` clipped to [0, 105];
    * lymphocyte count: ``median * exp(sigma z)`` cells/uL.
    """
    spec = SleCohortSpec() if spec is None else spec
    n = spec.n_candidates if n is None else n
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise UserError(f"must be an integer >= 0 (got {n!r})", field="cohort.n_candidates")
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be an integer >= 0, got {start!r}")
    r = spec.resolved()
    ids = np.arange(start, start + n, dtype=np.int64)

    # age
    u = _uniforms(seed, ids, STREAMS["age"])
    lo, hi = r["age_min_years"], r["age_max_years"]
    if r["age_distribution"] == "uniform":
        age = lo + u * (hi - lo)
    else:
        mu, sd = r["age_mean_years"], r["age_sd_years"]
        a, b = stats.norm.cdf([(lo - mu) / sd, (hi - mu) / sd])
        age = mu + sd * stats.norm.ppf(a + u * (b - a))
    age = np.clip(age, lo, np.nextafter(hi, -np.inf))

    # sex
    female = _uniforms(seed, ids, STREAMS["sex"]) < r["female_fraction"]
    sex = np.where(female, "F", "M")

    # weight
    z = _normals(seed, ids, STREAMS["weight"])
    weight = np.empty(n)
    for s in ("F", "M"):
        child = (sex == s) & (age < 20.0)
        if child.any():
            L, M, S = cdc_weight_lms(age[child], s)
            weight[child] = _lms_value(L, M, S, z[child])
        grown = (sex == s) & (age >= 20.0)
        median = r["adult_weight_median_female_kg" if s == "F" else "adult_weight_median_male_kg"]
        weight[grown] = median * np.exp(r["adult_weight_sigma"] * z[grown])

    # disease duration (months), truncated log-normal by inverse CDF
    u = _uniforms(seed, ids, STREAMS["disease_duration"])
    max_months = np.maximum(12.0 * (age - r["min_onset_age_years"]), 0.0)
    mu_log, sd_log = math.log(r["duration_median_months"]), r["duration_sigma"]
    if sd_log > 0:
        with np.errstate(divide="ignore"):
            upper = stats.norm.cdf((np.log(max_months) - mu_log) / sd_log)
        duration = np.exp(mu_log + sd_log * stats.norm.ppf(u * upper))
        duration = np.where(upper > 0, duration, 0.0)
    else:
        duration = np.full(n, r["duration_median_months"])
    duration = np.minimum(duration, max_months)

    # failed regimens
    u = _uniforms(seed, ids, STREAMS["failed_regimens"])
    lam = r["regimens_base"] + r["regimens_per_year"] * duration / 12.0
    regimens = np.where(lam > 0, stats.poisson.ppf(u, np.maximum(lam, 1e-12)), 0.0)
    regimens = np.minimum(regimens, r["regimens_max"]).astype(np.int64)

    # SLEDAI-2K
    z = _normals(seed, ids, STREAMS["sledai"])
    sledai = np.clip(np.rint(r["sledai_median"] * np.exp(r["sledai_sigma"] * z)), 0, 105)

    # absolute lymphocyte count
    z = _normals(seed, ids, STREAMS["alc"])
    alc = r["alc_median_per_ul"] * np.exp(r["alc_sigma"] * z)

    return pd.DataFrame({
        "candidate": ids,
        "population": np.full(n, r["population"], dtype=object),
        "age_years": age,
        "sex": sex.astype(object),
        "weight_kg": weight,
        "disease_duration_months": duration,
        "age_at_diagnosis_years": age - duration / 12.0,
        "failed_regimens": regimens,
        "sledai": sledai.astype(np.int64),
        "alc_per_ul": alc,
    })
