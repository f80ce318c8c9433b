"""The virtual trial: screen candidates, allocate them to arms, treat, simulate, summarise.

Flow (``docs/trials.md``): the disease setting's candidates (``[trial] setting``,
:class:`nksim.trials.DiseaseSetting`) -> its eligibility rules, with a screening log ->
per-patient parameters (log-normal variability, then the setting's covariate effects) and
baseline state (a candidate the model cannot represent leaves at screening) ->
allocation (``randomised``: permuted blocks, seeded; ``paired``: every patient receives
every arm; ``single_arm``) -> per arm: manufacturing and cost, dose records
(lymphodepletion and product, plus the setting's background therapy), simulation from
``-run_in_days`` -> the setting's per-patient endpoints -> arm statistics with 95 %
confidence intervals -> between-arm comparisons (``nksim.trials._comparisons``).

The runner knows no disease: everything disease-specific comes from the setting.
:func:`plan_trial` does everything before the simulation (a :class:`TrialPlan`), so that
the simulation can also run in chunks streamed to disk
(``nksim.report.trial.run_trial_to_folder``, what ``nksim trial`` does).

Per-patient truth: every random draw of a patient comes from its own stream keyed by
the trial seed and the candidate id, so the results do not depend on ``batch_size``,
thread count, the design or which other patients were simulated.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from nksim.dosing import Dose
from nksim.engine import SimulationResult, SolverOptions, simulate
from nksim.errors import UserError
from nksim.model import Model
from nksim.population import patient_rng
from nksim.therapy import CellProduct, lymphodepletion_doses
from nksim.therapy._manufacturing import (
    CostSpec,
    ManufacturingSpec,
    patient_costs,
    simulate_manufacturing,
)
from nksim.trials._comparisons import compare_arms
from nksim.trials._eligibility import screen
from nksim.trials._setting import DiseaseSetting, Endpoint, get_setting
from nksim.trials._statistics import StatisticalWarning, cost_per_remission, endpoint_summary
from nksim.units import to_magnitude

if TYPE_CHECKING:  # pragma: no cover
    from nksim.config._trial import ArmSection, TrialScenario  # validated by the loader

STREAM_PARAMETERS = 11  # log-normal parameter variability
STREAM_ENDPOINTS = 12  # the setting's endpoint draws (e.g. individual CRS/ICANS thresholds)
STREAM_ALLOCATION = 13  # randomisation blocks

#: Runner-level endpoints, after the setting's (manufacturing and cost need no disease).
GENERIC_ENDPOINTS = (
    Endpoint("manufacturing_failure_rate", "manufacturing_failed", "binary", (),
             "manufacturing failure", needs_simulation=False),
    Endpoint("cost_per_patient_median", "cost_rmb", "median", ("infused",),
             "cost per patient treated, median (RMB)", needs_simulation=False),
)
#: Seconds a trial must run before its progress bar appears.
PROGRESS_DELAY_S = 2.0


@dataclass
class ArmResult:
    """One arm: its patients (covariates, manufacturing, endpoints), time course, summary,
    and each patient's parameters (patient, parameter) and initial state (patient, state)."""

    name: str
    spec: ArmSection
    patients: pd.DataFrame
    simulation: SimulationResult | None
    summary: dict[str, Any]
    parameters: np.ndarray | None = None
    initial: np.ndarray | None = None


@dataclass
class StreamedSimulation:
    """What a streamed trial (``nksim trial``) keeps of an arm's simulation once its time
    courses are on disk (``timecourse.parquet/``): the status table (indexed by patient),
    the output times, the timing and the analysed (``ok``) patients' values of the report's
    panels (``series``: panel key -> analysed patients x times, disk-backed). ``dataset`` is
    ``None``: the time courses are not in memory."""

    model: Model
    patients: pd.DataFrame
    times: np.ndarray
    run_time: float = 0.0
    compile_time: float = 0.0
    series: dict[str, np.ndarray] = field(default_factory=dict)
    dataset: None = None


@dataclass
class TrialResult:
    """What :func:`run_trial` returns."""

    scenario: TrialScenario
    model: Model
    candidates: pd.DataFrame
    screening_log: pd.DataFrame
    arms: list[ArmResult]
    notes: list[str] = field(default_factory=list)
    setting: DiseaseSetting | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """``{ARM: {"n": ..., "endpoints": {NAME: {"value", "ci_low", "n", ...}}}}``."""
        return {arm.name: arm.summary for arm in self.arms}

    def disease_setting(self) -> DiseaseSetting:
        """The trial's disease setting (the one it ran with, else the registered one)."""
        return self.setting or get_setting(self.scenario.trial.setting)

    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every endpoint of the arms' summaries, with its declaration (kind, label)."""
        return _endpoints(self.disease_setting())

    def primary_endpoint(self) -> str:
        """The name of the setting's primary endpoint."""
        return self.disease_setting().primary()


def _endpoints(setting: DiseaseSetting) -> tuple[Endpoint, ...]:
    extra = ()
    if setting.cost_per_response:
        name, column = setting.cost_per_response
        extra = (Endpoint(name, column, "cost_per_response", (),  # type: ignore[arg-type]
                          f"cost per response ({column}), RMB"),)
    return (*setting.endpoints, *GENERIC_ENDPOINTS, *extra)


def run_trial(scenario: TrialScenario, *, progress: bool | None = None,
              client=None) -> TrialResult:
    """Run a virtual trial described by a validated :class:`TrialScenario`, in memory (the
    time courses of every arm are kept; ``nksim trial`` streams them to disk instead:
    ``nksim.report.trial.run_trial_to_folder``, same numbers).

    ``progress``: a progress bar on stderr for runs longer than :data:`PROGRESS_DELAY_S`
    (``None``: only when stderr is a terminal). ``client``: a ``distributed.Client``; the
    simulation batches then run as tasks on its cluster (same results, docs/scale.md).
    """
    with trial_bar(progress, scenario) as bar:
        plan = plan_trial(scenario, bar)
        arms = []
        for arm in plan.arms:
            if arm.patients.empty:
                arms.append(plan.arm_result(arm, None, None, None))
                continue
            sim = _simulate_in_batches(plan.model, plan.times, arm.parameters, arm.initial,
                                       arm.doses, arm.patients, scenario, bar, client)
            endpoints = plan.patient_endpoints(arm, sim.dataset, 0, len(arm.patients))
            arms.append(plan.arm_result(arm, sim, endpoints, sim.patients["status"].to_numpy()))
    return plan.result(arms)


@dataclass
class ArmPlan:
    """One arm ready to be simulated: its patients (covariates, manufacturing, cost,
    ``infused``), their parameters and initial states (patients x parameters, x states)
    and dose records."""

    index: int
    spec: ArmSection
    patients: pd.DataFrame
    parameters: np.ndarray | None
    initial: np.ndarray | None
    doses: list[list[Dose]]

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class TrialPlan:
    """A trial screened, allocated and treated, before its simulation (:func:`plan_trial`).

    The arms' patients one after the other form one :meth:`population` (shared model,
    output times and solver options), which can be simulated in chunks; the endpoints of
    any run of consecutive patients of an arm come from :meth:`patient_endpoints`, and
    :meth:`arm_result` and :meth:`result` assemble the :class:`TrialResult`.
    """

    scenario: TrialScenario
    setting: DiseaseSetting
    model: Model
    candidates: pd.DataFrame
    screening_log: pd.DataFrame
    notes: list[str]
    arms: list[ArmPlan]
    times: np.ndarray

    @property
    def options(self) -> SolverOptions:
        trial = self.scenario.trial
        return SolverOptions(rtol=trial.rtol, atol=trial.atol, threads=trial.threads,
                             progress=False)  # the trial's own bar counts patients

    @property
    def t_start(self) -> float:
        return -float(self.scenario.trial.run_in_days)

    @property
    def n_patients(self) -> int:
        return sum(len(a.patients) for a in self.arms)

    def population(self):
        """Every simulated patient, arm after arm, as one
        :class:`nksim.engine.Population`; patient ids 0 .. n-1 in that order (a candidate
        is in every arm of a paired trial): :meth:`arm_labels` and
        :meth:`candidate_ids` say whose they are."""
        from nksim.engine import Population

        arms = [a for a in self.arms if not a.patients.empty]
        return Population(
            self.model, self.times,
            np.concatenate([a.parameters for a in arms]),
            np.concatenate([a.initial for a in arms]),
            [d for a in arms for d in a.doses], self.t_start, self.options)

    def arm_labels(self) -> np.ndarray:
        """The arm of each patient of :meth:`population`."""
        return np.asarray([a.name for a in self.arms for _ in range(len(a.patients))],
                          dtype=object)

    def candidate_ids(self) -> np.ndarray:
        """The candidate id of each patient of :meth:`population`."""
        return np.concatenate([a.patients["candidate"].to_numpy() for a in self.arms])

    def patient_endpoints(self, arm: ArmPlan, dataset: xr.Dataset, lo: int,
                          hi: int) -> pd.DataFrame:
        """The setting's endpoints of the arm's patients ``lo .. hi-1`` (``dataset``: their
        time courses). Each patient's draws come from its own stream, so any split of an
        arm gives the same rows as the whole arm at once."""
        trial = self.scenario.trial
        patients = arm.patients.iloc[lo:hi].reset_index(drop=True)
        patients.attrs = rows_of_attrs(arm.patients, slice(lo, hi))
        rngs = [patient_rng(trial.seed, int(c), STREAM_ENDPOINTS)
                for c in patients["candidate"]]
        out = self.setting.patient_endpoints(dataset, arm.doses[lo:hi], patients, rngs,
                                             self.scenario).reset_index(drop=True)
        missing = [e for e in self.setting.endpoints
                   if e.column not in out and e.column not in patients]
        if missing:  # a setting's author's mistake, named before anything is summarised
            raise UserError(f"endpoint {missing[0].name!r} reads the column "
                            f"{missing[0].column!r}, which neither the setting's "
                            "patient_endpoints nor its patient table has (patient_endpoints "
                            f"returned: {', '.join(map(str, out.columns))})",
                            field=f"setting {self.setting.name}")
        return out

    def arm_result(self, arm: ArmPlan, simulation, endpoints: pd.DataFrame | None,
                   status: np.ndarray | None) -> ArmResult:
        """The arm's result from its simulation (a :class:`SimulationResult`, or what a
        streamed run keeps of it), endpoints and each patient's solver status."""
        if arm.patients.empty:
            return ArmResult(arm.name, arm.spec, arm.patients, None, {"n": 0, "endpoints": {}})
        trial = self.scenario.trial
        patients = pd.concat([arm.patients.reset_index(drop=True), endpoints], axis=1)
        patients["status"] = status
        # the solver's message (why a patient failed) from the status table, which both
        # SimulationResult and StreamedSimulation keep as .patients
        patients["message"] = simulation.patients["message"].astype(str).to_numpy()
        failed = patients["status"].astype(str).eq("failed").to_numpy()
        if failed.any():  # (a subgroup, e.g. the dose given, is not an outcome)
            outcomes = [c for c in endpoints.columns if c not in self.setting.subgroups]
            patients = without_outcomes(patients, outcomes, failed)
        summary = summarise_arm(patients, arm.spec.product, self.setting,
                                trial.follow_up_days, seed=trial.seed)
        return ArmResult(arm.name, arm.spec, patients, simulation, summary, arm.parameters,
                         arm.initial)

    def result(self, arms: list[ArmResult]) -> TrialResult:
        """The trial's result, with the between-arm comparisons."""
        trial = self.scenario.trial
        comparisons = compare_arms(arms, _endpoints(self.setting),
                                   paired=trial.design == "paired",
                                   follow_up=trial.follow_up_days, seed=trial.seed)
        return TrialResult(self.scenario, self.model, self.candidates, self.screening_log,
                           arms, self.notes, self.setting, comparisons)


def without_outcomes(patients: pd.DataFrame, columns, rows: np.ndarray) -> pd.DataFrame:
    """``patients`` with the outcome ``columns`` missing (null) in ``rows`` (patients whose
    simulation failed: their time courses are not numbers, nor is anything computed from
    them). Booleans become ``boolean`` and integers ``Int64`` (pandas nullable dtypes), so
    that no missing value is cast to a number or a flag."""
    patients = patients.copy()
    rows = pd.Series(np.asarray(rows, bool), index=patients.index)
    for column in columns:
        values = patients[column]
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype("boolean")
        elif pd.api.types.is_integer_dtype(values.dtype):
            values = values.astype("Int64")
        elif not pd.api.types.is_float_dtype(values.dtype):
            values = values.astype(object)
        patients[column] = values.mask(rows)
    return patients


def plan_trial(scenario: TrialScenario, bar=None) -> TrialPlan:
    """Screen, compute baselines, allocate and prepare every arm (manufacturing, cost,
    parameters, dose records); nothing is simulated. ``bar``: counts the baselines."""
    trial = scenario.trial
    setting = get_setting(trial.setting)
    model = setting.model(scenario)
    candidates = setting.candidates(scenario)
    eligible, log = screen(candidates, setting.criteria(scenario))
    if eligible.empty:
        raise UserError(f"no candidate is eligible ({len(candidates)} screened): loosen "
                        "[eligibility] or change [cohort]", field="eligibility")
    eligible, log = _baseline(setting, model, eligible, log, scenario)
    groups, notes = _allocate(eligible, scenario)
    if bar is not None:
        if getattr(bar, "total", None) is not None:  # now known: baselines + simulated
            bar.total = len(eligible) + sum(len(g) for g in groups.values())
        bar.update(len(eligible))
    arms = [_prepare_arm(i, arm, groups[arm.name], model, setting, scenario)
            for i, arm in enumerate(scenario.arms)]
    return TrialPlan(scenario, setting, model, candidates, log, notes, arms,
                     _output_times(trial.run_in_days, trial.follow_up_days))


def trial_bar(progress: bool | None, scenario: TrialScenario):
    """The trial's progress bar over patients (baselines, then simulated patients)."""
    trial = scenario.trial
    return _bar(progress, trial.patients_per_arm * (1 + len(scenario.arms)))


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def _bar(enabled: bool | None, total: int):
    """A tqdm bar over patients (baselines, then simulated patients of every arm)."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    # each candidate's baseline, then each allocated patient's simulation, counted together
    return tqdm(total=total, unit="step", delay=PROGRESS_DELAY_S, file=sys.stderr,
                dynamic_ncols=True, desc="trial (baselines, then patients)")


def _baseline(setting: DiseaseSetting, model: Model, eligible: pd.DataFrame,
              log: pd.DataFrame, scenario: TrialScenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parameters and baseline state of each eligible candidate (the setting's baseline);
    candidates the model cannot represent leave at screening, with the reason logged."""
    params = setting.covariate_parameters(model, eligible, _varied_parameters(
        model, eligible, scenario))
    base = setting.baseline(model, eligible, params, scenario)
    log = log.copy()
    for cand, reason in base.excluded.items():
        at = log.index[log["candidate"] == cand][0]
        log.loc[at, "eligible"] = False
        log.loc[at, "n_failed"] += 1
        log.loc[at, "failed_criteria"] = "model_baseline"
        log.loc[at, "reasons"] = reason
    kept = base.patients.reset_index(drop=True)
    kept.attrs["parameters"] = np.asarray(base.parameters, float).reshape(len(kept), -1)
    kept.attrs["initial"] = np.asarray(base.initial, float).reshape(len(kept), -1)
    if kept.empty:
        raise UserError("no eligible candidate has a baseline the model can represent "
                        f"({len(base.excluded)} excluded: model_baseline)", field="cohort")
    return kept, log


def _allocate(eligible: pd.DataFrame, scenario: TrialScenario):
    """Allocation in candidate order: permuted blocks (``randomised``, ``single_arm``) or
    the same patients in every arm (``paired``)."""
    names = [a.name for a in scenario.arms]
    per_arm = scenario.trial.patients_per_arm
    groups: dict[str, list[int]] = {n: [] for n in names}
    rows = eligible.sort_values("candidate").index.to_list()
    if scenario.trial.design == "paired":
        groups = {n: rows[:per_arm] for n in names}
    block = 0
    while (scenario.trial.design != "paired" and rows
           and min(len(g) for g in groups.values()) < per_arm):
        chunk, rows = rows[:len(names)], rows[len(names):]
        order = np.random.default_rng([scenario.trial.seed, STREAM_ALLOCATION, block])
        for row, arm in zip(chunk, order.permutation(names), strict=False):
            if len(groups[arm]) < per_arm:
                groups[arm].append(row)
        block += 1
    notes = []
    short = {n: len(g) for n, g in groups.items() if len(g) < per_arm}
    if short:
        notes.append(f"not enough eligible candidates: arms {short} have fewer than "
                     f"{per_arm} patients (screen more candidates: [cohort] n_candidates)")
    out = {}
    for n, g in groups.items():
        group = eligible.loc[g].reset_index(drop=True)
        group.attrs = rows_of_attrs(eligible, g)
        out[n] = group
    return out, notes


def rows_of_attrs(frame: pd.DataFrame, rows) -> dict:
    """``frame.attrs`` for the rows ``rows`` of ``frame``: per-row arrays (the baseline's
    parameters and initial states) follow their rows; anything else (a formula's name
    from :func:`nksim.population.sample_covariates`) is kept as it is."""
    return {key: value[rows] if isinstance(value, np.ndarray) and len(value) == len(frame)
            else value for key, value in frame.attrs.items()}


def _prepare_arm(i: int, arm: ArmSection, patients: pd.DataFrame, model: Model,
                 setting: DiseaseSetting, scenario: TrialScenario) -> ArmPlan:
    """Manufacturing, cost, parameters and dose records of the arm's patients."""
    trial = scenario.trial
    where = f"arms[{i}]"
    if patients.empty:
        return ArmPlan(i, arm, patients, None, None, [])
    patients = patients.copy()
    if arm.product != "none":
        manu = simulate_manufacturing(
            patients, ManufacturingSpec.from_dict(arm.manufacturing, product=arm.product,
                                                  field=f"{where}.manufacturing"), trial.seed)
        costs = patient_costs(
            manu, CostSpec.from_dict(arm.cost, product=arm.product, field=f"{where}.cost"),
            doses=arm.infusions, lymphodepletion_courses=int(bool(arm.lymphodepletion)))
        patients["manufacturing_failed"] = manu["manufacturing_failed"].to_numpy(bool)
        patients["vein_to_vein_days"] = manu["vein_to_vein_days"].to_numpy(float)
        patients["cost_rmb"] = costs["cost_rmb"].to_numpy(float)
    else:
        patients["manufacturing_failed"] = False
        patients["vein_to_vein_days"] = np.nan
        patients["cost_rmb"] = 0.0
    patients["infused"] = (arm.product != "none") & ~patients["manufacturing_failed"]

    params = _arm_parameters(model, arm, patients.attrs["parameters"], where)
    initial = patients.attrs["initial"]
    product = _product(arm, where)
    doses = _arm_doses(setting, arm, patients.itertuples(index=False), product, scenario,
                       where)
    known = set(model.state_names)
    missing = next((d.state for ds in doses for d in ds if d.state not in known), None)
    if missing is not None:  # e.g. a model of one's own (or from SBML) without the product
        raise UserError(f"a dose goes into the state {missing!r}, which the setting's model "
                        f"{model.name!r} does not have (states: {', '.join(model.state_names)});"
                        " compose the model with the component that declares it, e.g. "
                        "nksim.therapy.car_nk_component or lymphodepletion_component",
                        field=where)
    return ArmPlan(i, arm, patients, params, initial, doses)


def _arm_doses(setting: DiseaseSetting, arm: ArmSection, rows, product, scenario,
               where: str) -> list[list[Dose]]:
    """Each patient's dose records (``rows``: patient rows); a dose the product refuses
    (too small to model) is named as the arm's dose field."""
    try:
        return [setting.doses(arm, row, _treatment(arm, product, row), scenario)
                for row in rows]
    except UserError as exc:
        if exc.field != "dose":
            raise
        given = "dose_per_kg" if arm.dose_per_kg is not None else "dose"
        raise UserError(exc.message, field=f"{where}.{given}") from None


def _arm_parameters(model: Model, arm: ArmSection, params: np.ndarray,
                    where: str) -> np.ndarray:
    """Every patient's parameters with the arm's own values (``[arms.parameters]``)."""
    if not arm.parameters:
        return params
    try:
        checked = model.with_values(arm.parameters)  # names, units and bounds
    except UserError as exc:
        raise UserError(exc.message,
                        field=f"{where}.{exc.field or 'parameters'}") from None
    params = np.array(params, dtype=float, copy=True)
    for name in arm.parameters:
        params[:, model.parameter_names.index(name)] = checked.parameter(name).value
    return params


def _varied_parameters(model: Model, patients: pd.DataFrame,
                       scenario: TrialScenario) -> np.ndarray:
    """Typical parameters x exp(sigma z), z from each patient's own stream, within bounds."""
    sigma = scenario.variability.lognormal_sigma
    sig = sigma if isinstance(sigma, dict) else {"all": sigma}
    unknown = set(sig) - {"all"} - set(model.parameter_names)
    if unknown:
        raise UserError(f"unknown parameter(s) {sorted(unknown)}",
                        field="variability.lognormal_sigma")
    vec = np.array([sig.get(n, sig.get("all", 0.0)) for n in model.parameter_names], float)
    typical = model.parameter_vector()
    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    z = np.stack([patient_rng(scenario.trial.seed, int(c), STREAM_PARAMETERS)
                  .standard_normal(typical.size) for c in patients["candidate"]])
    return np.clip(typical * np.exp(vec * z), lo, hi)


def _product(arm: ArmSection, where: str) -> CellProduct | None:
    if arm.product == "none":
        return None
    if arm.dose_per_kg is not None:
        per_kg = to_magnitude(arm.dose_per_kg, "cell/kg", field=f"{where}.dose_per_kg")
        kwargs: dict[str, Any] = {"dose_per_kg": per_kg}
    else:
        kwargs = {"flat_dose": to_magnitude(arm.dose, "cell", field=f"{where}.dose")}
    try:
        return CellProduct(arm.name, arm.product, infusions=arm.infusions,
                           interval_days=arm.interval_days, **kwargs)
    except (ValueError, UserError) as exc:
        raise UserError(str(exc), field=where) from None


def _treatment(arm: ArmSection, product: CellProduct | None, row) -> list[Dose]:
    """A patient's lymphodepletion and product infusions (day 0 = first infusion): none for
    a patient whose product could not be made; in an arm without a product, its
    lymphodepletion where its ``[arms.lymphodepletion]`` table is written (a
    lymphodepletion-only control; the default Flu/Cy precedes cells)."""
    if product is not None and not bool(row.infused):
        return []  # the product could not be made: neither lymphodepletion nor cells
    doses: list[Dose] = []
    ld = arm.given_lymphodepletion
    if ld:
        doses += lymphodepletion_doses(ld.first_day, ld.days, ld.fludarabine_mg_m2,
                                       ld.cyclophosphamide_mg_m2)
    if product is None:
        return doses
    return doses + product.doses_for(float(row.weight_kg), 0.0, age_years=float(row.age_years))


def _output_times(run_in: float, follow_up: float) -> np.ndarray:
    """Sparse during the run-in, every 6 hours for 30 days (cytokines), then daily; none
    after the end of follow-up (a follow-up shorter than 30 days recorded to day 29.75)."""
    times = np.unique(np.concatenate([
        np.arange(-run_in, 0.0, 5.0), np.arange(0.0, 30.0, 0.25),
        np.arange(30.0, math.floor(follow_up) + 1.0), [follow_up],
    ]))
    return times[times <= follow_up]


def _simulate_in_batches(model, times, params, initial, doses, patients, scenario,
                         bar, client=None) -> SimulationResult:
    trial = scenario.trial
    n = params.shape[0]
    size = trial.batch_size or n
    options = SolverOptions(rtol=trial.rtol, atol=trial.atol, threads=trial.threads,
                            progress=False)  # the trial's own bar counts patients
    parts = []
    ids = patients["candidate"].to_numpy()
    if client is not None:  # batches as Dask tasks, gathered in order (docs/scale.md)
        futures = [client.submit(simulate, model, times, parameters=params[lo:lo + size],
                                 initial=initial[lo:lo + size], doses=doses[lo:lo + size],
                                 t_start=-trial.run_in_days, options=options,
                                 patient_ids=ids[lo:lo + size], pure=False)
                   for lo in range(0, n, size)]
        for future in futures:
            parts.append(future.result())
            bar.update(len(parts[-1].patients))
    for lo in range(0, n, size) if client is None else ():
        hi = min(n, lo + size)
        parts.append(simulate(model, times, parameters=params[lo:hi], initial=initial[lo:hi],
                              doses=doses[lo:hi], t_start=-trial.run_in_days, options=options,
                              patient_ids=ids[lo:hi]))
        bar.update(hi - lo)
    if len(parts) == 1:
        return parts[0]
    return dataclasses.replace(
        parts[0],
        dataset=xr.concat([p.dataset for p in parts], dim="patient"),
        patients=pd.concat([p.patients for p in parts]),
        doses=[d for p in parts for d in p.doses],
        run_time=sum(p.run_time for p in parts),
    )


# ---------------------------------------------------------------- arm summaries
def summarise_arm(patients: pd.DataFrame, product: str, setting: DiseaseSetting,
                  follow_up: float, *, seed: int) -> dict[str, Any]:
    """The arm's block of ``summary.json``: counts and endpoints with 95 % CIs.

    Small-sample warnings of the statistics module are not shown: each endpoint's
    ``note`` says when it is undefined (e.g. no infused patient in a control arm).
    """
    ok = patients["status"].eq("ok").to_numpy()
    infused = patients["infused"].to_numpy(bool) & ok
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        endpoints = {e.name: summarise_endpoint(e, patients, follow_up)
                     for e in (*setting.endpoints, *GENERIC_ENDPOINTS)}
        if setting.cost_per_response:
            name, column = setting.cost_per_response
            endpoints[name] = _cost_per_response(patients, column, ok, seed)
    out = {
        "n": int(len(patients)),
        "n_infused": int(patients["infused"].to_numpy(bool).sum()),  # solved or not
        "n_failed_integration": int((~ok).sum()),
        **setting.arm_counts(patients, infused),
        "product": product,
        "endpoints": endpoints,
    }
    if setting.subgroups:
        out["subgroups"] = subgroup_summaries(patients, setting, follow_up)
    return out


def subgroup_summaries(patients: pd.DataFrame, setting: DiseaseSetting,
                       follow_up: float) -> dict[str, dict[str, Any]]:
    """``{COLUMN: {LEVEL: {"n", "endpoints"}}}`` for the setting's declared subgroups
    (every endpoint of the setting, on the patients of each level)."""
    out: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        for column, levels in setting.subgroups.items():
            values = patients[column].map(str)  # a missing value is a level "nan"
            order = tuple(levels) or tuple(sorted(values.unique()))
            out[column] = {}
            for level in order:
                part = patients[values.eq(str(level)).to_numpy()]
                out[column][str(level)] = {
                    "n": int(len(part)),
                    "endpoints": {e.name: summarise_endpoint(e, part, follow_up)
                                  for e in setting.endpoints}}
    return out


def analysed_mask(endpoint: Endpoint, patients: pd.DataFrame) -> np.ndarray:
    """Patients an endpoint is computed on: integration ok (for an endpoint that needs the
    simulation) and every ``among`` column."""
    mask = patients["status"].eq("ok").to_numpy() if endpoint.needs_simulation else \
        np.ones(len(patients), bool)
    for column in endpoint.among:
        mask = mask & patients[column].to_numpy(bool, na_value=False)
    return mask


def evaluable(endpoint: Endpoint, patients: pd.DataFrame) -> pd.DataFrame:
    """The patients whose value of a binary or median endpoint is known: NaN means not
    evaluable (e.g. a 12-month outcome with shorter follow-up), counted in ``n_missing`` by
    the arm summaries and left out of comparisons. A time to event's NaN is no event."""
    if endpoint.kind in ("binary", "median"):
        return patients[patients[endpoint.column].notna()]
    return patients


def summarise_endpoint(endpoint: Endpoint, patients: pd.DataFrame,
                       follow_up: float) -> dict[str, Any]:
    """One endpoint's ``{"value", "ci_low", "ci_high", "n", ...}`` for one arm."""
    mask = analysed_mask(endpoint, patients)
    values = patients[endpoint.column]
    if endpoint.kind == "binary":
        v = pd.Series(values.to_numpy(), dtype=object).where(mask, None)
        return endpoint_summary(endpoint.name, v, "proportion")
    numbers = values.to_numpy(float)[mask]
    if endpoint.kind == "time_to_event":
        return endpoint_summary(endpoint.name, numbers, "time_to_event",
                                followup=endpoint.censoring_time(follow_up))
    return endpoint_summary(endpoint.name, numbers, "median")


def _cost_per_response(patients: pd.DataFrame, column: str, ok: np.ndarray,
                       seed: int) -> dict[str, Any]:
    cost = patients["cost_rmb"].to_numpy(float)[ok]
    response = patients.loc[ok, column].to_numpy(bool)
    if cost.size == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return cost_per_remission(cost, response, seed=seed).to_dict()
