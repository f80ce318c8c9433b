"""Ageing scenario files (TOML): cohort, arms, NK layer and interventions, checked field by field.

Schema (docs/ageing.md)::

    [cohort]            name, seed, dt_days, follow_up_years, record_every_days,
                        healthspan_fraction, paired, control, compare
    [[arms]]            name, parameter_set, n, heterogeneity_cv, extrinsic_hazard_per_year
    [arms.nk]           share, per_cell_decline_per_year, count_change_per_year,
                        decline_start_years, perforin_residual, pool_cells, relative_to_fit
    [[arms.senolysis]]  rate_per_day, start_years, stop_years
    [[arms.nk_infusions]] product, start_years, every_years, count, cells, half_life_days,
                        support, activity, weight_kg
    [[arms.cytokines]]  start_years, every_years, count, duration_days, factor
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nksim._spec import BOOL, INT, NUMBER, choice, quantity, spec_from_mapping
from nksim.disease.ageing._interventions import (
    ArmInputs,
    Cytokines,
    Infusions,
    NKLayer,
    Senolysis,
)
from nksim.disease.ageing._sources import DEFAULTS
from nksim.errors import UserError
from nksim.library._karin2019 import SPECIES

MAX_INDIVIDUALS = 2_000_000
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


#: bounds that keep a cohort's arrays finite (assumptions of input validation, not model
#: parameters: no lifetime reaches 150 years; at most a million steps per individual)
MAX_FOLLOW_UP_YEARS = 150.0
MAX_STEPS = 1_000_000


#: Largest extrinsic hazard accepted (1/year): a design bound against typos (1e300 gave a
#: median lifespan of 1e-298 days and a "gain" of 4e300 %), far above any population's.
MAX_EXTRINSIC_HAZARD = 10.0


def _positive(value: float | None, name: str, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        raise UserError(f"must be {'>= 0' if allow_zero else '> 0'} (got {value!r})",
                        field=name)


def _fraction(value: float, name: str) -> None:
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise UserError(f"must be in [0, 1] (got {value!r})", field=name)


@dataclass(frozen=True)
class CohortSpec:
    name: str = field(default="ageing cohort")
    seed: int = field(default=0, metadata=INT)
    dt_days: float | None = field(default=None, metadata=quantity("day"))
    follow_up_years: float | None = field(default=None, metadata=quantity("year"))
    record_every_days: float | None = field(default=None, metadata=quantity("day"))
    healthspan_fraction: float = field(default=DEFAULTS["healthspan_fraction"].value,
                                       metadata=NUMBER)
    paired: bool = field(default=True, metadata=BOOL)
    control: str | None = None
    compare: bool = field(default=True, metadata=BOOL)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise UserError(f"must be text (got {self.name!r})", field="name")
        if not 0 <= self.seed < 2**63:
            raise UserError(f"must be an integer >= 0 (got {self.seed!r})", field="seed")
        if self.dt_days is not None and not (0 < self.dt_days <= 2):
            raise UserError(f"must be in (0, 2] days (got {self.dt_days!r})", field="dt_days")
        _positive(self.follow_up_years, "follow_up_years")
        if self.follow_up_years is not None and self.follow_up_years > MAX_FOLLOW_UP_YEARS:
            raise UserError(f"must be at most {MAX_FOLLOW_UP_YEARS:g} years, longer than any "
                            f"lifetime (got {self.follow_up_years!r})", field="follow_up_years")
        _positive(self.record_every_days, "record_every_days")
        if not 0 < self.healthspan_fraction <= 1:
            raise UserError(f"must be in (0, 1] (got {self.healthspan_fraction!r})",
                            field="healthspan_fraction")


@dataclass(frozen=True)
class NKSpec:
    share: float = field(default=DEFAULTS["nk_share"].value, metadata=NUMBER)
    per_cell_decline_per_year: float = field(
        default=DEFAULTS["per_cell_decline_per_year"].value, metadata=quantity("1/year"))
    count_change_per_year: float = field(default=0.0, metadata=quantity("1/year"))
    decline_start_years: float = field(default=0.0, metadata=quantity("year"))
    perforin_residual: float = field(default=1.0, metadata=NUMBER)
    pool_cells: float | None = field(default=None, metadata=NUMBER)
    relative_to_fit: bool = field(default=True, metadata=BOOL)

    def __post_init__(self) -> None:
        _fraction(self.share, "share")
        _fraction(self.perforin_residual, "perforin_residual")
        _positive(self.per_cell_decline_per_year, "per_cell_decline_per_year", allow_zero=True)
        _positive(self.decline_start_years, "decline_start_years", allow_zero=True)
        _positive(self.pool_cells, "pool_cells")
        if not math.isfinite(self.count_change_per_year):
            raise UserError("must be finite", field="count_change_per_year")


@dataclass(frozen=True)
class SenolysisSpec:
    rate_per_day: float = field(metadata=quantity("1/day"))
    start_years: float = field(metadata=quantity("year"))
    stop_years: float = field(default=math.inf, metadata=quantity("year"))
    #: The outcome the rate was calibrated to, in words with its source (e.g. "+25 % median
    #: lifespan (Baker 2016; nksim's calibration)"): the report then says that the arm's
    #: median lifespan gain reproduces that target and is not a prediction.
    calibrated_to: str | None = None

    def __post_init__(self) -> None:
        if self.calibrated_to is not None and not (
                isinstance(self.calibrated_to, str) and 0 < len(self.calibrated_to) <= 300):
            raise UserError(f"must be a text of 1-300 characters (got {self.calibrated_to!r})",
                            field="calibrated_to")
        _positive(self.rate_per_day, "rate_per_day", allow_zero=True)
        _positive(self.start_years, "start_years", allow_zero=True)
        if not self.stop_years > self.start_years:
            raise UserError(f"must be after start_years (got {self.stop_years!r})",
                            field="stop_years")


def _product_names() -> tuple[str, ...]:
    from nksim.therapy import catalogue

    return tuple(catalogue())


@dataclass(frozen=True)
class InfusionSpec:
    start_years: float = field(metadata=quantity("year"))
    every_years: float = field(default=1.0, metadata=quantity("year"))
    count: int = field(default=1, metadata=INT)
    product: str = "autologous_nk"
    cells: float | None = field(default=None, metadata=NUMBER)
    half_life_days: float | None = field(default=None, metadata=quantity("day"))
    support: str = field(default="none", metadata=choice("none", "il2", "il15"))
    activity: float = field(default=DEFAULTS["infused_activity"].value, metadata=NUMBER)
    weight_kg: float = field(default=DEFAULTS["weight_kg"].value, metadata=quantity("kg"))

    def __post_init__(self) -> None:
        _positive(self.start_years, "start_years", allow_zero=True)
        _positive(self.every_years, "every_years")
        if not 1 <= self.count <= 1000:
            raise UserError(f"must be 1 to 1000 (got {self.count!r})", field="count")
        names = _product_names()
        if self.product not in names:
            raise UserError(f"unknown product {self.product!r} (known: {', '.join(names)})",
                            field="product")
        _positive(self.cells, "cells")
        _positive(self.half_life_days, "half_life_days")
        _positive(self.activity, "activity", allow_zero=True)
        _positive(self.weight_kg, "weight_kg")

    def resolve(self) -> Infusions:
        """Cells and half-life from the shared NK product (nksim.therapy) unless given."""
        from nksim.therapy import catalogue

        product = catalogue()[self.product]
        cells = self.cells if self.cells is not None else product.cells_per_infusion(
            self.weight_kg)
        half = (self.half_life_days if self.half_life_days is not None
                else product.persistence_half_life(self.support))
        if not math.isfinite(half):
            raise UserError(f"product {self.product!r} with support {self.support!r} does not "
                            "decay (it expands); give half_life_days", field="half_life_days")
        return Infusions(self.start_years, self.every_years, self.count, float(cells),
                         float(half), self.activity, self.product)


@dataclass(frozen=True)
class CytokineSpec:
    start_years: float = field(metadata=quantity("year"))
    duration_days: float = field(default=14.0, metadata=quantity("day"))
    every_years: float = field(default=1.0, metadata=quantity("year"))
    count: int = field(default=1, metadata=INT)
    factor: float = field(default=DEFAULTS["cytokine_factor"].value, metadata=NUMBER)

    def __post_init__(self) -> None:
        _positive(self.start_years, "start_years", allow_zero=True)
        _positive(self.duration_days, "duration_days")
        _positive(self.every_years, "every_years")
        _positive(self.factor, "factor")
        if not 1 <= self.count <= 1000:
            raise UserError(f"must be 1 to 1000 (got {self.count!r})", field="count")


@dataclass(frozen=True)
class ArmSpec:
    name: str
    parameter_set: str = field(metadata=choice(*SPECIES))
    n: int = field(default=1000, metadata=INT)
    heterogeneity_cv: float = field(default=0.0, metadata=NUMBER)
    extrinsic_hazard_per_year: float | None = field(default=None, metadata=quantity("1/year"))
    nk: NKSpec | None = None
    senolysis: tuple[SenolysisSpec, ...] = ()
    nk_infusions: tuple[InfusionSpec, ...] = ()
    cytokines: tuple[CytokineSpec, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise UserError("must be 1-64 letters, digits, '_', '.' or '-' "
                            f"(got {self.name!r})", field="name")
        if not 1 <= self.n <= MAX_INDIVIDUALS:
            raise UserError(f"must be 1 to {MAX_INDIVIDUALS} (got {self.n!r})", field="n")
        if not 0 <= self.heterogeneity_cv <= 1:
            raise UserError(f"must be in [0, 1] (got {self.heterogeneity_cv!r})",
                            field="heterogeneity_cv")
        _positive(self.extrinsic_hazard_per_year, "extrinsic_hazard_per_year", allow_zero=True)
        if (self.extrinsic_hazard_per_year or 0.0) > MAX_EXTRINSIC_HAZARD:
            raise UserError(f"must be at most {MAX_EXTRINSIC_HAZARD:g} per year (a mean "
                            "lifetime of five weeks from causes other than ageing; got "
                            f"{self.extrinsic_hazard_per_year!r})",
                            field="extrinsic_hazard_per_year")

    @property
    def species(self) -> str:
        return SPECIES[self.parameter_set]

    def inputs(self) -> ArmInputs:
        nk = None
        if self.nk is not None or self.nk_infusions or self.cytokines:
            spec = self.nk or NKSpec()
            pool = spec.pool_cells or DEFAULTS[
                "endogenous_nk_human" if self.species == "human" else "endogenous_nk_mouse"].value
            nk = NKLayer(spec.share, spec.per_cell_decline_per_year, spec.count_change_per_year,
                         spec.decline_start_years, spec.perforin_residual, pool,
                         spec.relative_to_fit)
        return ArmInputs(
            nk=nk,
            senolysis=tuple(Senolysis(s.rate_per_day, s.start_years, s.stop_years)
                            for s in self.senolysis),
            infusions=tuple(i.resolve() for i in self.nk_infusions),
            cytokines=tuple(Cytokines(c.start_years, c.every_years, c.count, c.duration_days,
                                      c.factor) for c in self.cytokines))


@dataclass(frozen=True)
class AgeingScenario:
    cohort: CohortSpec
    arms: tuple[ArmSpec, ...]
    source: dict[str, Any]

    @property
    def control(self) -> str:
        return self.cohort.control or self.arms[0].name

    @property
    def human(self) -> bool:
        """Every arm is human (ages reported in years)."""
        return all(a.species == "human" for a in self.arms)

    def dt(self, arm: ArmSpec) -> float:
        return self.cohort.dt_days or (1.0 if arm.species == "human" else 0.5)

    def follow_up_days(self, arm: ArmSpec) -> float:
        years = self.cohort.follow_up_years or (130.0 if arm.species == "human" else 6.0)
        steps = math.ceil(years * 365.0 / self.dt(arm))
        if steps > MAX_STEPS:  # each step is a row of inputs and a step of every individual
            raise UserError(f"{years:g} years in steps of {self.dt(arm):g} days are {steps:,} "
                            f"steps, more than {MAX_STEPS:,}: choose a larger dt_days",
                            field="cohort.dt_days")
        return steps * self.dt(arm)

    def record_every_days(self, arm: ArmSpec) -> float:
        every = self.cohort.record_every_days or (365.0 if arm.species == "human" else 14.0)
        return max(1, round(every / self.dt(arm))) * self.dt(arm)

    def comparable(self, arm: ArmSpec) -> bool:
        """Compared with the control: another arm of the control's species."""
        if not self.cohort.compare:
            return False
        control = next(a for a in self.arms if a.name == self.control)
        return arm.name != control.name and arm.species == control.species


def _list(raw: Any, where: str) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
        raise UserError("must be an array of tables ([[...]])", field=where)
    return raw


def parse_scenario(raw: Mapping[str, Any]) -> AgeingScenario:
    """Check a scenario mapping and build the specification (UserError naming the field)."""
    if not isinstance(raw, Mapping):
        raise UserError("the scenario must be a table")
    unknown = set(raw) - {"cohort", "arms"}
    if unknown:
        key = sorted(unknown)[0]
        raise UserError("unknown section (sections: cohort, arms)", field=key)
    cohort = spec_from_mapping(CohortSpec, raw.get("cohort"), "cohort")
    arms_raw = _list(raw.get("arms"), "arms")
    if not arms_raw:
        raise UserError("at least one [[arms]] table is needed", field="arms")
    arms = []
    for i, a in enumerate(arms_raw):
        where = f"arms[{i}]"
        a = dict(a)
        if "name" not in a:
            raise UserError("missing (every arm needs a name)", field=f"{where}.name")
        if "parameter_set" not in a:
            raise UserError(f"missing (one of {', '.join(SPECIES)})",
                            field=f"{where}.parameter_set")
        nk = a.pop("nk", None)
        fixed: dict[str, Any] = {
            "nk": None if nk is None else spec_from_mapping(NKSpec, nk, f"{where}.nk"),
            "senolysis": tuple(spec_from_mapping(SenolysisSpec, s, f"{where}.senolysis[{j}]")
                               for j, s in enumerate(_list(a.pop("senolysis", None),
                                                           f"{where}.senolysis"))),
            "nk_infusions": tuple(
                spec_from_mapping(InfusionSpec, s, f"{where}.nk_infusions[{j}]")
                for j, s in enumerate(_list(a.pop("nk_infusions", None),
                                            f"{where}.nk_infusions"))),
            "cytokines": tuple(spec_from_mapping(CytokineSpec, s, f"{where}.cytokines[{j}]")
                               for j, s in enumerate(_list(a.pop("cytokines", None),
                                                           f"{where}.cytokines"))),
        }
        arms.append(spec_from_mapping(ArmSpec, a, where, **fixed))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise UserError(f"arm names must be unique (got {names})", field="arms")
    if cohort.control is not None and cohort.control not in names:
        raise UserError(f"no arm named {cohort.control!r} (arms: {', '.join(names)})",
                        field="cohort.control")
    if cohort.paired and len({a.n for a in arms}) > 1:
        raise UserError("paired arms need the same n in every arm (or set paired = false)",
                        field="cohort.paired")
    scenario = AgeingScenario(cohort, tuple(arms), dict(raw))
    for a in arms:  # an intervention after the end of follow-up is a mistake
        for s in (*a.senolysis, *a.nk_infusions, *a.cytokines):
            if s.start_years * 365.0 >= scenario.follow_up_days(a):
                raise UserError(f"starts at {s.start_years:g} years, after the end of "
                                "follow-up", field=f"arms.{a.name}")
    return scenario


def load_scenario(path: str | Path) -> AgeingScenario:
    """Read and check a TOML scenario file (read as every scenario file is:
    :func:`nksim.config.read_toml`)."""
    from nksim.config import read_toml

    return parse_scenario(read_toml(path))
