"""The disease-setting interface: what the trial runner needs to know about a disease.

The runner (``trials/_trial.py``: design, screening, allocation, manufacturing, dosing,
simulation, endpoints, statistics) knows no disease. A :class:`DiseaseSetting` supplies

1. its model (:meth:`DiseaseSetting.model`);
2. the referred candidates with their covariates (:meth:`~DiseaseSetting.candidates`) and
   the eligibility rules (:meth:`~DiseaseSetting.criteria`), read from its own scenario
   tables (``[cohort]``, ``[eligibility]``, each arm's ``[arms.regimen]``), which it
   declares in :attr:`~DiseaseSetting.tables` for the scenario loader to validate;
3. covariates -> parameters (:meth:`~DiseaseSetting.covariate_parameters`), applied after
   the runner's log-normal between-patient variability;
4. each patient's baseline state, e.g. a steady state (:meth:`~DiseaseSetting.baseline`);
   a candidate the model cannot represent is excluded there, with a reason;
5. the dose records of one patient in one arm (:meth:`~DiseaseSetting.doses`): the runner
   passes the product and lymphodepletion doses; the setting adds background therapy;
6. per-patient endpoint columns (:meth:`~DiseaseSetting.patient_endpoints`) and their
   declarations (:attr:`~DiseaseSetting.endpoints`), which the runner summarises per arm
   (95 % intervals) and compares between arms;
7. the panels its report shows (:attr:`~DiseaseSetting.report_panels`).

Settings are registered by name (:func:`register_setting`); ``[trial] setting = NAME``
chooses one. The bundled settings are listed in :data:`nksim.disease.SETTINGS` (name ->
module) and imported on first use. ``docs/trials.md`` shows a complete example.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from nksim.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from nksim.config._trial import ArmSection, TrialScenario
    from nksim.dosing import Dose
    from nksim.model import Model
    from nksim.trials._eligibility import Criteria

EndpointKind = Literal["binary", "time_to_event", "median"]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint declared by a setting, summarised per arm and compared between arms.

    Parameters
    ----------
    name : key in ``summary.json`` (``arms.ARM.endpoints.NAME``), e.g. ``"crs_any_rate"``.
    column : per-patient column of :meth:`DiseaseSetting.patient_endpoints` (or of the
        runner: ``manufacturing_failed``, ``cost_rmb``).
    kind : ``"binary"`` (booleans; proportion with an exact interval), ``"time_to_event"``
        (day of the event, NaN = no event within follow-up: censored at the end of
        follow-up; Kaplan-Meier median) or ``"median"`` (numbers; median).
    among : boolean columns restricting the patients analysed (all must be true), e.g.
        ``("infused",)``; patients whose integration failed are not analysed (unless
        ``needs_simulation`` is false).
        Binary endpoints count the others as not evaluable (``n_missing``).
    label : readable name for reports ("CRS, any grade (infused)").
    days_per_unit : days per unit of a time-to-event column (30.4375 for months): the
        follow-up, in days, is converted to it for censoring.
    needs_simulation : whether the column comes from the patient's simulation (then a
        patient whose integration failed is not analysed); ``False`` for what is known
        before it (manufacturing, cost).
    """

    name: str
    column: str
    kind: EndpointKind
    among: tuple[str, ...] = ()
    label: str = ""
    days_per_unit: float = 1.0
    needs_simulation: bool = True

    def censoring_time(self, follow_up_days: float) -> float:
        """The end of follow-up in the column's unit (where patients without an event are
        censored)."""
        return follow_up_days / self.days_per_unit

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"endpoint {self.name!r}: kind must be one of "
                             f"{sorted(_KINDS - {'cost_per_response'})}, got {self.kind!r}")
        if isinstance(self.among, str):
            object.__setattr__(self, "among", (self.among,))


#: Endpoint kinds ("cost_per_response" is made by the runner from ``cost_per_response``).
_KINDS = {"binary", "time_to_event", "median", "cost_per_response"}


@dataclass(frozen=True)
class Panel:
    """One plot panel of the trial report.

    ``series(dataset)`` returns a (patient, time) array in ``unit``; ``log`` draws it on a
    log axis; ``detection_limit`` (in ``unit``) is the smallest value drawn; ``plausible``
    is the range outside which a value is flagged in the report's caveats (``scale``: the
    hard range of a clinical score, for the wording).
    """

    key: str
    title: str
    unit: str
    series: Callable[[xr.Dataset], np.ndarray]
    log: bool = True
    detection_limit: float | None = None
    plausible: tuple[float, float] | None = None
    scale: tuple[float, float] | None = None


@dataclass
class Baseline:
    """What :meth:`DiseaseSetting.baseline` returns for the eligible candidates.

    ``patients``: the candidates kept (rows in input order, any columns added, e.g. a
    background dose); ``parameters`` (patient, parameter) and ``initial`` (patient, state)
    arrays for those rows; ``excluded``: candidate id -> reason for each candidate left
    out because the model cannot represent it (logged as ``model_baseline``).
    """

    patients: pd.DataFrame
    parameters: np.ndarray
    initial: np.ndarray
    excluded: dict[int, str] = field(default_factory=dict)


class DiseaseSetting(ABC):
    """A disease plugged into the trial runner (see the module docstring for the contract).

    Subclasses set :attr:`name`, :attr:`endpoints` (and optionally :attr:`report_panels`,
    :attr:`cost_per_response`) and implement the abstract methods. Every array is in
    patient order of the ``patients`` frame given.
    """

    #: Registry name, used by ``[trial] setting``.
    name: ClassVar[str]
    #: Endpoint declarations, in report order.
    endpoints: ClassVar[tuple[Endpoint, ...]] = ()
    #: Report panels (the report draws one panel per model state when empty).
    report_panels: ClassVar[tuple[Panel, ...]] = ()
    #: ``(endpoint name, binary column)``: cost per responder is reported under this name
    #: (total cost / responders, bootstrap interval), or ``None``.
    cost_per_response: ClassVar[tuple[str, str] | None] = None
    #: Subgroups: patient column -> its levels (in report order; empty: sorted values).
    #: Every endpoint is also summarised per level, under
    #: ``arms.ARM.subgroups.COLUMN.LEVEL.endpoints`` of ``summary.json``.
    subgroups: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: The setting's own scenario tables: ``"cohort"``, ``"eligibility"`` and/or
    #: ``"regimen"`` (each arm's ``[arms.regimen]``) -> a strict table class
    #: (:class:`nksim._spec.Table`, a pydantic model) or a spec dataclass with a
    #: ``from_dict(raw, field=...)`` constructor. The scenario loader validates them before
    #: any computation (errors name the field); a table not declared is passed through and
    #: is the setting's to check.
    tables: ClassVar[Mapping[str, type]] = {}
    #: the least ``[trial] follow_up_days`` and ``run_in_days`` the setting's endpoints and
    #: regimens need (days)
    min_follow_up_days: ClassVar[float] = 1.0
    min_run_in_days: ClassVar[float] = 0.0
    #: whether the setting gives glucocorticoids (``[standard_of_care]``, ``[arms.steroids]``);
    #: where it does not, those tables are refused rather than ignored
    uses_steroids: ClassVar[bool] = False
    #: the primary endpoint (``nksim power``'s default, first in the console summary);
    #: default: the first of :attr:`endpoints`
    primary_endpoint: ClassVar[str | None] = None

    def primary(self) -> str:
        """The name of the primary endpoint."""
        return self.primary_endpoint or self.endpoints[0].name

    def check(self, scenario: TrialScenario) -> None:
        """Checks across tables (e.g. an arm's regimen against its product), called by the
        scenario loader after the tables are validated; raise :class:`nksim.errors.UserError`
        naming the field. Default: nothing to check."""
        return None

    def model(self, scenario: TrialScenario) -> Model:
        """The model, with the scenario's ``[parameters]`` (default: ``[trial] model``)."""
        from nksim.library import get_model

        return get_model(scenario.trial.model).with_values(scenario.parameters)

    @abstractmethod
    def candidates(self, scenario: TrialScenario) -> pd.DataFrame:
        """Referred candidates, one row each: an integer ``candidate`` id (index of its
        random streams), ``age_years`` and ``weight_kg`` (dosing) and any covariate the
        criteria or the model use."""

    @abstractmethod
    def criteria(self, scenario: TrialScenario) -> Criteria:
        """Eligibility rules (an empty sequence: everybody referred is eligible)."""

    def covariate_parameters(self, model: Model, patients: pd.DataFrame,
                             parameters: np.ndarray) -> np.ndarray:
        """Covariates -> parameters: returns ``parameters`` (patient, parameter), already
        varied between patients by the runner, with covariate effects applied."""
        return parameters

    @abstractmethod
    def baseline(self, model: Model, patients: pd.DataFrame, parameters: np.ndarray,
                 scenario: TrialScenario) -> Baseline:
        """Each eligible candidate's parameters and initial state (e.g. a steady state)."""

    def doses(self, arm: ArmSection, patient: Any, treatment: list[Dose],
              scenario: TrialScenario) -> list[Dose]:
        """All dose records of one patient (a row of ``patients``, attribute access) in
        ``arm``; ``treatment`` holds the runner's lymphodepletion and product doses
        (empty when nothing is infused). Default: ``treatment`` alone."""
        return treatment

    @abstractmethod
    def patient_endpoints(self, dataset: xr.Dataset, doses: list[list[Dose]],
                          patients: pd.DataFrame, rngs: list[np.random.Generator],
                          scenario: TrialScenario) -> pd.DataFrame:
        """One row per patient (same order) with the columns :attr:`endpoints` read.

        ``dataset`` is the arm's simulation (``time`` from ``-run_in_days``, day 0 = first
        infusion); ``rngs`` are the patients' own random streams for endpoint draws.
        """

    def arm_counts(self, patients: pd.DataFrame, analysed: np.ndarray) -> dict[str, int]:
        """Extra counts for the arm's block of ``summary.json`` (e.g. ``n_b_depleted``)."""
        return {}


# ---------------------------------------------------------------- registry
_REGISTRY: dict[str, DiseaseSetting] = {}


def check_not_before_run_in(day: float, run_in_days: float, field: str) -> None:
    """Refuse a treatment day before the run-in starts (day ``-run_in_days``), the first
    day simulated; one line naming ``field``."""
    if day < -run_in_days:
        start = 0.0 - run_in_days  # not "-0" for no run-in
        raise UserError(f"must not be before the run-in starts (day {start:g}) (got {day:g})",
                        field=field)


def register_setting(setting: DiseaseSetting | type[DiseaseSetting]) -> DiseaseSetting:
    """Make ``setting`` available as ``[trial] setting = setting.name``; returns it.

    A class is instantiated without arguments. Registering a name again replaces it.
    """
    instance = setting() if isinstance(setting, type) else setting
    if not isinstance(instance, DiseaseSetting):
        raise TypeError("a disease setting must be a DiseaseSetting")
    name = getattr(instance, "name", None)
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"a disease setting needs an identifier as name, got {name!r}")
    names = [e.name for e in instance.endpoints]
    if not all(isinstance(e, Endpoint) for e in instance.endpoints) or \
            len(set(names)) != len(names):
        raise ValueError(f"setting {name!r}: endpoints must be Endpoint objects with "
                         f"distinct names (got {names})")
    _REGISTRY[name] = instance
    return instance


def _bundled() -> Mapping[str, str]:
    from nksim.disease import SETTINGS

    return SETTINGS


def setting_names() -> list[str]:
    """Names of the registered and bundled settings."""
    return sorted(set(_REGISTRY) | set(_bundled()))


def get_setting(name: str) -> DiseaseSetting:
    """The setting registered as ``name`` (bundled ones are imported on first use)."""
    if name not in _REGISTRY and name in _bundled():
        importlib.import_module(_bundled()[name])  # registers itself on import
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, setting_names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UserError(f"unknown disease setting: {hint}(known: {', '.join(setting_names())}; "
                        f"got {name!r}; a setting of your own: --setting-file FILE.py, "
                        "docs/trials.md)", field="trial.setting")
    return _REGISTRY[name]
