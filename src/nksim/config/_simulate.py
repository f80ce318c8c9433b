"""The ``nksim simulate`` scenario: ``[model]``, ``[parameters]``, ``[initial]``,
``[extinction]``, ``[[doses]]``, ``[simulation]`` and ``[population]``.

Quantities whose unit depends on the model (parameters, initial states, dose amounts,
times) are checked here for form and converted by the loader (:mod:`nksim.scenario`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from nksim.config._types import (
    MAX_DOSE_COUNT,
    MAX_OUTPUT_TIMES,
    MAX_PATIENTS,
    Atol,
    ModelQuantity,
    Section,
    Seed,
    Sigma,
    bounded_int,
    quantity_in,
)
from nksim.errors import UserError

DoseCount = bounded_int(1, MAX_DOSE_COUNT)
PatientCount = bounded_int(1, MAX_PATIENTS)
StepCount = bounded_int(1, 100_000_000)
ThreadCount = bounded_int(1, 4096)


def _threshold(value: Any) -> float | None:
    if value == "off":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise PydanticCustomError("nksim", "must be a threshold > 0 or \"off\"")
    return float(value)


Threshold = Annotated[Any, PlainValidator(_threshold), WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"const": "off"}],
    "description": "extinction threshold in the state's unit, or \"off\""})]


class ModelSection(Section):
    """``[model]``: which library model (``nksim models`` lists them), or an SBML file."""

    name: str | None = Field(None, description="model name, e.g. 'depillis2006'")
    parameter_set: str | None = Field(None, description="a published parameter set")
    file: str | None = Field(None, description="an SBML model file (relative to the "
                             "scenario's folder), instead of 'name'")

    @model_validator(mode="after")
    def _name_or_file(self) -> ModelSection:
        if (self.name is None) == (self.file is None):
            raise ValueError("give either 'name' (a library model) or 'file' (an SBML file)")
        if self.file is not None and self.parameter_set is not None:
            raise ValueError("'parameter_set' goes with 'name', not with 'file'")
        return self


class DoseSection(Section):
    """``[[doses]]``: one NONMEM-style dose record, ``times = [...]`` or
    ``start``/``every``/``count``; times in the model's time unit unless a unit is given."""

    state: str = Field(description="target state (CMT)")
    amount: ModelQuantity = Field(description="amount per dose (AMT), in the state's unit")
    times: Annotated[list[ModelQuantity], Field(min_length=1, max_length=MAX_DOSE_COUNT)] \
        | None = Field(None, description="dose times")
    start: ModelQuantity | None = Field(None, description="time of the first dose")
    every: ModelQuantity | None = Field(None, description="interval between doses (II)")
    count: DoseCount = Field(1, description="number of doses (ADDL + 1)")
    duration: ModelQuantity = Field(0.0, description="infusion duration; 0 is a bolus")

    @model_validator(mode="after")
    def _one_schedule(self) -> DoseSection:
        if (self.times is None) == (self.start is None):
            raise ValueError("give either 'times = [...]' or 'start' (with 'every' and 'count')")
        if self.times is not None and (self.every is not None or self.count != 1):
            raise ValueError("'every' and 'count' go with 'start', not with 'times'")
        if self.start is not None and self.count > 1 and self.every is None:
            raise ValueError("'every' is needed when count > 1")
        return self


class SimulationSection(Section):
    """``[simulation]``: time span, output grid and solver settings."""

    t_start: ModelQuantity = Field(0.0, description="start time")
    t_end: ModelQuantity = Field(description="end time (> t_start)")
    record_every: ModelQuantity | None = Field(None, description="output step")
    times: Annotated[list[ModelQuantity], Field(min_length=1, max_length=MAX_OUTPUT_TIMES)] \
        | None = Field(None, description="output times (instead of record_every)")
    rtol: Annotated[float, Field(ge=1e-13, lt=1)] = Field(1e-6, description="relative tolerance")
    atol: Atol = Field(1e-6, description="absolute tolerance, one number or per state")
    max_steps: StepCount = Field(
        100_000, description="step attempts per patient before it is reported as failed")
    threads: ThreadCount | None = Field(None, description="worker threads (default: all)")
    preequilibrate: bool = Field(
        False, description="start every patient at its steady state (Newton from the initial "
        "state, integration fallback: nksim.analysis.steady_state) before the first dose; "
        "a patient without one fails")

    @model_validator(mode="after")
    def _one_grid(self) -> SimulationSection:
        if self.record_every is not None and self.times is not None:
            raise UserError("give either 'record_every' or 'times', not both",
                            field="simulation.times")
        return self


YearQ = quantity_in("year", ge=0, le=130)
Distribution = dict[str, dict[str, float]]  # {normal = {mean = .., sd = ..}} (population docs)


class CovariatesSection(Section):
    """``[population.covariates]``: how age, sex, weight, height and body-surface area are
    drawn (:class:`nksim.population.CovariateSpec`; CDC 2000 curves below 20 years, NHANES
    adults). Fields not given keep the defaults documented in ``docs/population.md``."""

    age_years: Annotated[list[YearQ], Field(min_length=2, max_length=2)] | Distribution \
        | None = Field(None, description="[low, high) years (uniform), or a distribution "
                       "table such as {normal = {mean = 45, sd = 12, low = 18, high = 80}}")
    female_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    bsa_formula: Literal["mosteller", "dubois"] | None = Field(
        None, description="body-surface area formula (default mosteller)")
    weight_height_correlation: Annotated[float, Field(ge=-1, le=1)] | None = None
    adult_weight_mean_kg_female: quantity_in("kg", gt=0) | None = None
    adult_weight_mean_kg_male: quantity_in("kg", gt=0) | None = None
    adult_weight_sigma: Annotated[float, Field(ge=0, le=2)] | None = None
    adult_height_mean_cm_female: quantity_in("cm", gt=0) | None = None
    adult_height_mean_cm_male: quantity_in("cm", gt=0) | None = None
    adult_height_sd_cm: quantity_in("cm", gt=0) | None = None
    extra: dict[str, Distribution] = Field(
        {}, description="a disease's own covariates: {name = {normal = {...}}} or "
        "{name = {categorical = {A = 0.3, B = 0.7}}}")


class CovariateEffectSection(Section):
    """``[[population.covariate_effects]]``: ``P = THETA * g(covariate)`` on one parameter
    (:class:`nksim.population.CovariateEffect`), with its source."""

    parameter: str
    covariate: str = Field(description="covariate column, e.g. weight_kg")
    model: Literal["power", "exponential", "categorical"] = "power"
    reference: float | None = Field(None, description="in the covariate's unit, e.g. 70 (kg)")
    exponent: float | None = None
    coefficient: float | None = None
    factors: dict[str, Annotated[float, Field(ge=0)]] | None = None
    source: Annotated[str, Field(min_length=1)] = Field(
        description="where the effect comes from (or why it is assumed)")
    verified: Literal["V-src", "V-code", "UNVERIFIED", "assumption"] = "assumption"


class PopulationSection(Section):
    """``[population]``: virtual patients, log-normal around the model or from a file,
    optionally with covariates (needed by per-kg and per-m\u00b2 doses)."""

    size: PatientCount | None = Field(None, description="number of patients")
    seed: Seed = 0
    lognormal_sigma: Sigma | None = Field(
        None, description="log-normal sigma: one number, or per parameter ({all = 0.2, a = 0.3})")
    parameters_file: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="CSV/Parquet, one row per patient, one column per parameter; "
        "relative to the scenario's folder")
    covariates: CovariatesSection | None = Field(
        None, description="draw covariates (age, sex, weight, height, BSA)")
    covariates_file: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="CSV/Parquet of covariates, one row per patient (columns "
        "patient, age_years, sex, weight_kg, height_cm, bsa_m2, ...); relative to the "
        "scenario's folder")
    covariate_effects: Annotated[list[CovariateEffectSection], Field(max_length=1000)] = []

    @model_validator(mode="after")
    def _size_or_file(self) -> PopulationSection:
        if self.parameters_file is None and self.size is None and self.covariates_file is None:
            raise UserError("give 'size' (with 'lognormal_sigma'), 'parameters_file' or "
                            "'covariates_file'", field="population")
        if self.covariates is not None and self.covariates_file is not None:
            raise UserError("'covariates' and 'covariates_file' exclude each other",
                            field="population.covariates_file")
        if self.parameters_file is not None and self.lognormal_sigma is not None:
            raise UserError("'lognormal_sigma' and 'parameters_file' exclude each other",
                            field="population.lognormal_sigma")
        return self


class ExecutionSection(Section):
    """``[execution]``: where and in what pieces a large run is computed (``docs/scale.md``);
    the results do not depend on it."""

    scheduler: str | None = Field(
        None, description="Dask scheduler address (tcp://HOST:PORT); default: this machine")
    chunk_size: bounded_int(1, MAX_PATIENTS) | None = Field(
        None, description="patients per chunk (default: about 100 MB of records per chunk)")


class Scenario(Section):
    """A whole ``nksim simulate`` scenario file (``docs/scenarios.md``)."""

    model: ModelSection
    parameters: dict[str, ModelQuantity] = Field(
        {}, description="parameter overrides: a number in the model's unit or 'VALUE UNIT'")
    initial: dict[str, ModelQuantity] = Field(
        {}, description="initial states; states not named keep the model's default")
    extinction: dict[str, Threshold] = Field(
        {}, description="per-state extinction threshold, or \"off\"")
    doses: Annotated[list[DoseSection], Field(max_length=MAX_DOSE_COUNT)] = []
    simulation: SimulationSection
    population: PopulationSection | None = None
    execution: ExecutionSection | None = None
