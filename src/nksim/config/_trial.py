"""The trial scenario schema: ``[trial]``, ``[cohort]``, ``[eligibility]``, ``[variability]``,
``[parameters]`` and ``[[arms]]`` (documented with examples in ``docs/trials.md``; field
reference in ``docs/schema.md``).

Built from the shared scenario types of this package (strict, frozen sections; one
quantity type; bounded counts). The disease setting's own tables (``[cohort]``,
``[eligibility]``, ``[arms.regimen]``; declared in ``DiseaseSetting.tables``) and the arms'
``[arms.manufacturing]`` and ``[arms.cost]`` are validated at load time by the sections or
specs that use them, and the setting's cross-checks run last
(``DiseaseSetting.check``), so every mistake is found before any computation. The trial
runner (:mod:`nksim.trials`) reads the validated scenario and never imports this package.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nksim.config._load import validate
from nksim.config._simulate import ExecutionSection
from nksim.config._types import (
    MAX_CANDIDATES,
    MAX_PATIENTS,
    ModelQuantity,
    Section,
    Seed,
    Sigma,
    bounded_int,
    quantity_in,
)
from nksim.errors import UserError
from nksim.therapy._manufacturing import CostSpec, ManufacturingSpec

MAX_DAYS = 3650.0  # follow-up and run-in: at most 10 years

Days = quantity_in("day")
PatientCount = bounded_int(1, MAX_PATIENTS)
InfusionCount = bounded_int(1, 100)
CourseDays = bounded_int(1, 30)
ThreadCount = bounded_int(1, 4096)
MgPerKgDay = quantity_in("mg/kg/day", ge=0)
MgPerM2 = quantity_in("mg/m^2", ge=0)
_Cells = quantity_in("cell", gt=0)


def _cell_dose(value: Any) -> float:
    """Cells per infusion; a dose per m² gets its own message (the products take cells or
    cells/kg)."""
    if isinstance(value, str) and ("m^2" in value or "m**2" in value):
        raise PydanticCustomError("nksim", "a cell dose per m\u00b2 is not supported: give "
                                  "cells or cells/kg")
    return typing.get_args(_Cells)[1].func(value)


CellDose = Annotated[float, PlainValidator(_cell_dose), typing.get_args(_Cells)[2]]


# ---------------------------------------------------------------- tables checked by their specs
def _off_or(tp: Any) -> Any:
    """``tp`` or the string ``"off"`` (a rule turned off)."""
    return Literal["off"] | tp


def _section_from_dataclass(cls: type, name: str, *, max_ints: dict[str, int] | None = None,
                            skip: tuple[str, ...] = ()) -> type[Section]:
    """A strict section mirroring a spec dataclass whose field metadata say what a scenario
    may give (``quantity(unit)``, ``NUMBER``, ``INT``, ``BOOL``, ``choice(...)``; ``"max"``
    bounds an integer, default :data:`MAX_CANDIDATES`; ``"off": True`` also accepts the
    string ``"off"``, a rule turned off)."""
    max_ints = max_ints or {}
    fields: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init or f.name in skip:
            continue
        meta = f.metadata
        kind = meta.get("kind")
        if f.name.endswith("_rmb") and kind == "number":
            tp = quantity_in("RMB", ge=0)  # a cost: 150000 or "150000 RMB" / "150000 CNY"
        elif kind == "quantity" or meta.get("unit"):
            tp = quantity_in(meta["unit"])
        elif kind == "int" or hints[f.name] in (int, int | None):
            tp = bounded_int(0, max_ints.get(f.name, meta.get("max", MAX_CANDIDATES)))
        elif kind == "bool":
            tp = bool
        elif kind == "choice":
            tp = Literal[tuple(meta["choices"])]
        else:
            tp = float
        if meta.get("off"):
            tp = _off_or(tp)
        fields[f.name] = (tp | None, None)
    return create_model(name, __base__=Section, **fields)


ManufacturingSection = _section_from_dataclass(
    ManufacturingSpec, "ManufacturingSection", max_ints={"max_apheresis_attempts": 20})
CostSection = _section_from_dataclass(CostSpec, "CostSection",
                                      max_ints={"doses_per_batch": 10_000}, skip=("product",))


def _schema_of(section: type[Section], text: str) -> Any:
    schema = section.model_json_schema()
    schema.pop("title", None)
    schema["description"] = text
    return WithJsonSchema(schema)


def _setting(raw: Any):
    """The disease setting named by ``[trial] setting`` (default ``"sle"``), or ``None``
    when the name is not a known setting (reported by :class:`TrialSection`)."""
    from nksim.trials import get_setting, setting_names

    trial = raw.get("trial") if isinstance(raw, dict) else None
    name = trial.get("setting", "sle") if isinstance(trial, dict) else "sle"
    return get_setting(name) if isinstance(name, str) and name in setting_names() else None


@functools.cache
def _table_section(table: type) -> type[BaseModel]:
    """The strict section of a setting's table (a pydantic table as it is; a spec dataclass
    mirrored by :func:`_section_from_dataclass`, built once)."""
    if isinstance(table, type) and issubclass(table, BaseModel):
        return table
    return _section_from_dataclass(table, f"{table.__name__}Section")


def _check_table(table: type, raw: Any, where: str) -> dict[str, Any]:
    """Validate one setting table; a plain table of checked values (in the units their keys
    name) comes back."""
    values = validate(_table_section(table), raw, where).model_dump(exclude_unset=True)
    if not (isinstance(table, type) and issubclass(table, BaseModel)):
        table.from_dict(values, field=where)  # the spec's own checks (ranges, relations)
    return values


def _check_tables(raw: Any) -> Any:
    """Validate the arms' ``[manufacturing]``/``[cost]`` tables and the setting's own tables
    (before the rest, as their shape depends on ``[trial] setting``)."""
    if not isinstance(raw, dict):
        return raw
    setting = _setting(raw)
    tables = setting.tables if setting is not None else {}
    raw = dict(raw)
    if isinstance(raw.get("arms"), list):  # arms' [manufacturing]/[cost]: strict, with units
        arms = []
        for i, arm in enumerate(raw["arms"]):
            if isinstance(arm, dict):
                arm = dict(arm)
                for name, section in (("manufacturing", ManufacturingSection),
                                      ("cost", CostSection)):
                    if name in arm:
                        arm[name] = validate(section, arm[name], f"arms[{i}].{name}") \
                            .model_dump(exclude_unset=True)
                if "regimen" in tables and isinstance(arm.get("regimen", {}), dict):
                    arm["regimen"] = _check_table(tables["regimen"], arm.get("regimen", {}),
                                                  f"arms[{i}].regimen")
            arms.append(arm)
        raw["arms"] = arms
    for name in ("cohort", "eligibility"):
        if name in tables:
            raw[name] = _check_table(tables[name], raw.get(name, {}), name)
    return raw


def _table_schema(name: str) -> Any:
    """JSON Schema of a setting-dependent table: any table here; the fields of each
    bundled setting's tables are added as ``if setting == NAME then ...`` by
    :func:`_setting_conditions`."""
    return WithJsonSchema({"type": "object",
                           "description": f"[{name}] of the disease setting "
                                          "([trial] setting); fields per setting below"})


def _setting_conditions(schema: dict[str, Any]) -> None:
    """Add ``allOf: [{if: {setting is NAME}, then: {cohort: ..., eligibility: ...}}]`` for
    the bundled settings (a setting registered at run time is checked all the same, but
    the published schema and docs/schema.md do not depend on what a program registered)."""
    from nksim.disease import SETTINGS
    from nksim.trials import get_setting

    conditions = []
    for setting in sorted(SETTINGS):
        tables = get_setting(setting).tables
        if not tables:
            continue
        test: dict[str, Any] = {"properties": {"trial": {"properties": {
            "setting": {"const": setting}}}}}
        if setting == "sle":  # the default: also when [trial] setting is not given
            test = {"anyOf": [test, {"properties": {"trial": {"not": {
                "required": ["setting"]}}}}]}
        props: dict[str, Any] = {}
        for name, table in tables.items():
            sub = _table_section(table).model_json_schema()
            sub.pop("title", None)
            sub["description"] = f"[{'arms.' if name == 'regimen' else ''}{name}] of the " \
                                 f"'{setting}' setting"
            if name == "regimen":
                props["arms"] = {"items": {"properties": {"regimen": sub}}}
            else:
                props[name] = sub
        conditions.append({"if": test, "then": {"properties": props},
                           "description": f"setting '{setting}'"})
    schema["allOf"] = conditions


# ---------------------------------------------------------------- sections
class TrialSection(Section):
    """``[trial]``: design, size, follow-up and numerics."""

    name: str
    # randomised: parallel arms (permuted blocks); paired: every patient receives every arm
    design: Literal["randomised", "single_arm", "paired"] = "randomised"
    setting: str = "sle"  # disease setting (nksim.trials.get_setting)
    seed: Seed = 0
    patients_per_arm: PatientCount = 20
    # a setting may ask for more (DiseaseSetting.min_follow_up_days, min_run_in_days: the
    # lupus setting 182 and 7 days)
    follow_up_days: quantity_in("day", ge=1, le=MAX_DAYS) = 365.0
    run_in_days: quantity_in("day", ge=0, le=MAX_DAYS) = 60.0
    batch_size: PatientCount | None = None
    rtol: Annotated[float, Field(ge=1e-13, lt=1)] = 1e-6
    atol: Annotated[float, Field(gt=0)] = 1e-6
    threads: ThreadCount | None = None
    model: str = "sle_cd19"

    @model_validator(mode="after")
    def _known_names(self) -> TrialSection:
        from nksim.library import model_names
        from nksim.trials import setting_names

        for field, value, known in (("model", self.model, model_names()),
                                    ("setting", self.setting, setting_names())):
            if value not in known:
                close = difflib.get_close_matches(value, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f" (known: {', '.join(known)})"
                if field == "setting":
                    hint += "; a setting of your own: --setting-file FILE.py"
                raise UserError(f"unknown {field}{hint} (got {value!r})",
                                field=f"trial.{field}")
        return self


class VariabilitySection(Section):
    """``[variability]``: log-normal spread of the model's parameters between patients."""

    lognormal_sigma: Sigma = 0.2


class StandardOfCareSection(Section):
    """``[standard_of_care]``: what every patient takes before treatment.

    Baseline SLEDAI-2K is measured on this background prednisone, and virtual patients
    start in equilibrium on it (ASSUMPTION: 0.3 mg/kg/day, capped at 15 mg/day, a
    moderate maintenance dose for refractory disease).
    """

    prednisone_mg_per_kg_per_day: MgPerKgDay = 0.3
    max_prednisone_mg_per_day: quantity_in("mg/day", gt=0) = 15.0


class SteroidSection(Section):
    """``[arms.steroids]``: glucocorticoids from the start of treatment.

    ``after = "stop"`` stops all glucocorticoid at the start of lymphodepletion (the CAR-T
    protocol of the source article); ``"keep_then_taper"`` keeps
    ``maintenance_mg_per_kg_per_day`` from day 0 for ``hold_weeks``, then tapers linearly
    to zero over ``taper_weeks`` (the CAR-NK protocol); ``"continue"`` keeps the
    standard-of-care dose throughout.
    """

    after: Literal["stop", "keep_then_taper", "continue"] = "stop"
    maintenance_mg_per_kg_per_day: MgPerKgDay = 0.1
    hold_weeks: quantity_in("week", ge=0, le=520) = 4.0
    taper_weeks: quantity_in("week", ge=0, le=520) = 8.0


class LymphodepletionSection(Section):
    """``[arms.lymphodepletion]``: fludarabine/cyclophosphamide on consecutive days.

    Doses are mg/m2 per day: one number for every day, or one number per day.
    ``first_day`` is relative to the first infusion (day 0).
    """

    fludarabine_mg_m2: MgPerM2 | list[MgPerM2] = 30.0
    cyclophosphamide_mg_m2: MgPerM2 | list[MgPerM2] = 500.0
    first_day: Days = -5.0
    days: CourseDays = 3

    @model_validator(mode="after")
    def _per_day(self) -> LymphodepletionSection:
        for name in ("fludarabine_mg_m2", "cyclophosphamide_mg_m2"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != self.days:
                raise ValueError(f"{name} lists {len(value)} doses for {self.days} days")
        return self


class ArmSection(Section):
    """``[[arms]]``: one product and regimen."""

    name: str
    product: Literal["car_t", "car_nk", "none"]
    dose_per_kg: quantity_in("cell/kg", gt=0) | None = None  # e.g. "1e6 cell/kg"
    dose: CellDose | None = None  # "7.5e8 cell" flat, or "1e6 cell/kg"
    infusions: InfusionCount = 1
    interval_days: quantity_in("day", gt=0) | None = None
    lymphodepletion: LymphodepletionSection | Literal[False] = LymphodepletionSection()
    steroids: SteroidSection = SteroidSection()
    manufacturing: Annotated[dict, _schema_of(
        ManufacturingSection, "manufacturing and vein-to-vein time (defaults by product)")] = {}
    cost: Annotated[dict, _schema_of(CostSection, "costs in RMB (defaults by product)")] = {}
    # setting-specific regimen of the arm (e.g. antibody, cytokine support, product
    # variant, chemotherapy): checked by the disease setting (DiseaseSetting.model)
    regimen: Annotated[dict, WithJsonSchema({
        "type": "object", "description": "setting-specific regimen of the arm, checked "
        "by the disease setting ([trial] setting)"})] = {}
    #: this arm's own parameter values (e.g. a product variant such as a dual CAR), set on
    #: every patient of the arm after the baseline: meant for product parameters, which do
    #: not change the untreated steady state
    parameters: Annotated[dict[str, ModelQuantity], Field(
        description="this arm's own parameter values (e.g. a product variant such as a dual "
        "CAR), set on every patient of the arm after the baseline; for product parameters, "
        "which do not change the untreated steady state")] = {}

    @model_validator(mode="before")
    @classmethod
    def _dose_basis(cls, raw: Any) -> Any:
        """``dose`` may be flat (``"7.5e8 cell"``) or per kg (``"1e6 cell/kg"``, then read as
        ``dose_per_kg``); a per-m² cell dose is refused by :data:`CellDose`."""
        if not isinstance(raw, dict) or not isinstance(raw.get("dose"), str):
            return raw
        from nksim.dosing import Dose

        try:
            basis = Dose("cells", raw["dose"], 0.0).basis
        except UserError:
            return raw  # the field's own validation reports it
        if basis == "per_kg":
            if raw.get("dose_per_kg") is not None:
                raise ValueError("give either 'dose_per_kg' or 'dose' (flat cells)")
            raw = {**raw, "dose_per_kg": raw["dose"]}
            del raw["dose"]
        return raw

    @model_validator(mode="after")
    def _dose(self) -> ArmSection:
        if self.product == "none":
            if self.dose_per_kg is not None or self.dose is not None:
                raise ValueError("an arm without a product takes no cell dose")
        elif (self.dose_per_kg is None) == (self.dose is None):
            raise ValueError("give either 'dose_per_kg' or 'dose' (flat cells)")
        if self.infusions > 1 and self.interval_days is None:
            raise ValueError("'interval_days' is needed when infusions > 1")
        return self

    @property
    def given_steroid_plan(self) -> bool:
        """Whether the arm's ``[arms.steroids]`` plan applies: with a product always, in an
        arm without a product only where the table is written (otherwise the standard of
        care continues)."""
        return self.product != "none" or "steroids" in self.model_fields_set

    @property
    def given_lymphodepletion(self) -> LymphodepletionSection | None:
        """The lymphodepletion this arm's patients get: the default Flu/Cy precedes a cell
        product; an arm without a product gets one only where its table is written (a
        lymphodepletion-only control)."""
        if not self.lymphodepletion:
            return None
        if self.product == "none" and "lymphodepletion" not in self.model_fields_set:
            return None
        return self.lymphodepletion


class TrialScenario(Section):
    """A whole trial scenario file."""

    model_config = ConfigDict(**Section.model_config,
                              json_schema_extra=_setting_conditions)

    trial: TrialSection
    cohort: Annotated[dict, _table_schema("cohort")] = {}
    eligibility: Annotated[dict, _table_schema("eligibility")] = {}
    standard_of_care: StandardOfCareSection = StandardOfCareSection()
    variability: VariabilitySection = VariabilitySection()
    parameters: dict[str, ModelQuantity] = {}
    arms: Annotated[list[ArmSection], Field(min_length=1, max_length=20)]
    execution: ExecutionSection | None = Field(
        None, description="chunks and Dask scheduler of `nksim trial` (docs/scale.md)")

    _tables = model_validator(mode="before")(_check_tables)

    @model_validator(mode="after")
    def _arms(self) -> TrialScenario:
        names = [a.name for a in self.arms]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise UserError(f"arm names must be unique (got {name!r} twice)",
                                field=f"arms[{i}].name")
        if self.trial.design == "single_arm" and len(self.arms) != 1:
            raise UserError(f"a single_arm trial has exactly one [[arms]] entry "
                            f"(got {len(self.arms)})", field="trial.design")
        from nksim.trials import get_setting
        from nksim.trials._setting import check_not_before_run_in

        setting = get_setting(self.trial.setting)  # the name is known (TrialSection)
        follow_up, run_in = self.trial.follow_up_days, self.trial.run_in_days
        for name, value, least in (("follow_up_days", follow_up, setting.min_follow_up_days),
                                   ("run_in_days", run_in, setting.min_run_in_days)):
            if value < least:
                raise UserError(f"must be >= {least:g} day in the {setting.name} setting "
                                f"(got {value:g})", field=f"trial.{name}")
        if not setting.uses_steroids:  # a table that would do nothing is refused
            written = ["standard_of_care"] if "standard_of_care" in self.model_fields_set \
                else [f"arms[{i}].steroids" for i, a in enumerate(self.arms)
                      if "steroids" in a.model_fields_set]
            if written:
                raise UserError(f"the {setting.name} setting gives no glucocorticoids, so "
                                "this table would do nothing; remove it", field=written[0])
        for i, arm in enumerate(self.arms):
            where = f"arms[{i}]"
            last = (arm.infusions - 1) * (arm.interval_days or 0.0)
            if arm.product != "none" and last > follow_up:
                raise UserError(f"the last infusion (day {last:g}) is after the end of "
                                f"follow-up (day {follow_up:g})", field=f"{where}.infusions")
            ld = arm.given_lymphodepletion
            if ld:
                check_not_before_run_in(ld.first_day, run_in,
                                        f"{where}.lymphodepletion.first_day")
                if ld.first_day + ld.days - 1 > follow_up:
                    raise UserError(f"the last lymphodepletion day ({ld.first_day + ld.days - 1:g})"
                                    f" is after the end of follow-up (day {follow_up:g})",
                                    field=f"{where}.lymphodepletion.first_day")
            s = arm.steroids
            if s.after == "keep_then_taper" and 7 * (s.hold_weeks + s.taper_weeks) > follow_up:
                raise UserError(f"the taper ends on day {7 * (s.hold_weeks + s.taper_weeks):g}, "
                                f"after the end of follow-up (day {follow_up:g})",
                                field=f"{where}.steroids.taper_weeks")
            if arm.product != "none":
                ManufacturingSpec.from_dict(arm.manufacturing, product=arm.product,
                                            field=f"{where}.manufacturing")
                CostSpec.from_dict(arm.cost, product=arm.product, field=f"{where}.cost")
        setting.check(self)
        return self
