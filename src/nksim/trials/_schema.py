"""The trial scenario schema: ``[trial]``, ``[cohort]``, ``[eligibility]``, ``[variability]``,
``[parameters]`` and ``[[arms]]`` (documented with examples in ``docs/trials.md``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from nksim.scenario import Quantity, _Section

PositiveInt = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]


class TrialSection(_Section):
    """``[trial]``: design, size, follow-up and numerics."""

    name: str
    design: Literal["randomised", "single_arm"] = "randomised"
    seed: int = 0
    patients_per_arm: PositiveInt = 20
    follow_up_days: Annotated[float, Field(ge=182)] = 365.0
    run_in_days: Annotated[float, Field(ge=7)] = 60.0
    batch_size: PositiveInt | None = None
    rtol: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    atol: Annotated[float, Field(gt=0)] = 1e-6
    threads: PositiveInt | None = None
    model: str = "sle_cd19"


class VariabilitySection(_Section):
    """``[variability]``: log-normal spread of the model's parameters between patients."""

    lognormal_sigma: float | dict[str, float] = 0.2


class StandardOfCareSection(_Section):
    """``[standard_of_care]``: what every patient takes before treatment.

    Baseline SLEDAI-2K is measured on this background prednisone, and virtual patients
    start in equilibrium on it (ASSUMPTION: 0.3 mg/kg/day, capped at 15 mg/day, a
    moderate maintenance dose for refractory disease).
    """

    prednisone_mg_per_kg_per_day: NonNegative = 0.3
    max_prednisone_mg_per_day: Annotated[float, Field(gt=0)] = 15.0


class SteroidSection(_Section):
    """``[arms.steroids]``: glucocorticoids from the start of treatment.

    ``after = "stop"`` stops all glucocorticoid at the start of lymphodepletion (the CAR-T
    protocol of the source article); ``"keep_then_taper"`` keeps
    ``maintenance_mg_per_kg_per_day`` from day 0 for ``hold_weeks``, then tapers linearly
    to zero over ``taper_weeks`` (the CAR-NK protocol); ``"continue"`` keeps the
    standard-of-care dose throughout.
    """

    after: Literal["stop", "keep_then_taper", "continue"] = "stop"
    maintenance_mg_per_kg_per_day: NonNegative = 0.1
    hold_weeks: NonNegative = 4.0
    taper_weeks: NonNegative = 8.0


class LymphodepletionSection(_Section):
    """``[arms.lymphodepletion]``: fludarabine/cyclophosphamide on consecutive days.

    Doses are mg/m2 per day: one number for every day, or one number per day.
    """

    fludarabine_mg_m2: NonNegative | list[NonNegative] = 30.0
    cyclophosphamide_mg_m2: NonNegative | list[NonNegative] = 500.0
    first_day: float = -5.0
    days: PositiveInt = 3

    @model_validator(mode="after")
    def _per_day(self) -> LymphodepletionSection:
        for name in ("fludarabine_mg_m2", "cyclophosphamide_mg_m2"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != self.days:
                raise ValueError(f"{name} lists {len(value)} doses for {self.days} days")
        return self


class ArmSection(_Section):
    """``[[arms]]``: one product and regimen."""

    name: str
    product: Literal["car_t", "car_nk", "none"]
    dose_per_kg: Quantity | None = None  # cells/kg, e.g. "1e6 cell/kg"
    dose: Quantity | None = None  # flat cells per infusion, e.g. "7.5e8 cell"
    infusions: PositiveInt = 1
    interval_days: Annotated[float, Field(gt=0)] | None = None
    lymphodepletion: LymphodepletionSection | Literal[False] = LymphodepletionSection()
    steroids: SteroidSection = SteroidSection()
    manufacturing: dict = {}
    cost: dict = {}

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


class TrialScenario(_Section):
    """A whole trial scenario file."""

    trial: TrialSection
    cohort: dict = {}
    eligibility: dict = {}
    standard_of_care: StandardOfCareSection = StandardOfCareSection()
    variability: VariabilitySection = VariabilitySection()
    parameters: dict[str, Quantity] = {}
    arms: Annotated[list[ArmSection], Field(min_length=1)]

    @model_validator(mode="after")
    def _arms(self) -> TrialScenario:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique (got {names})")
        if self.trial.design == "single_arm" and len(self.arms) != 1:
            raise ValueError("a single_arm trial has exactly one [[arms]] entry")
        return self
