"""The virtual trial: screen candidates, allocate them to arms, treat, simulate, summarise.

Flow (``docs/trials.md``): candidates (``trials/_cohort``) -> eligibility with a
screening log -> allocation (permuted blocks, seeded) -> per arm: manufacturing and
cost, per-patient parameters and equilibrium at the baseline SLEDAI-2K, dose records
(background steroids, lymphodepletion, product infusions, arm steroid regimen) ->
simulation from ``-run_in_days`` -> per-patient endpoints -> arm statistics with 95 %
confidence intervals.

Per-patient truth: every random draw of a patient comes from its own stream keyed by
the trial seed and the candidate id, so the results do not depend on ``batch_size``,
thread count or which other patients were simulated.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from nksim.disease import prednisone_mg_per_day, sle_initial_state, steroid_taper
from nksim.disease._steroids import GC_STATE
from nksim.dosing import Dose
from nksim.engine import SimulationResult, SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Model
from nksim.population import patient_rng
from nksim.therapy import CellProduct, lymphodepletion_doses
from nksim.therapy._manufacturing import (
    CostSpec,
    ManufacturingSpec,
    patient_costs,
    simulate_manufacturing,
)
from nksim.trials._cohort import CohortSpec, generate_candidates
from nksim.trials._eligibility import EligibilityCriteria, screen
from nksim.trials._endpoints import patient_endpoints, summarise_arm
from nksim.trials._schema import ArmSection, TrialScenario
from nksim.units import to_magnitude

STREAM_PARAMETERS = 11  # log-normal parameter variability
STREAM_TOXICITY = 12  # individual CRS/ICANS thresholds
STREAM_ALLOCATION = 13  # randomisation blocks

T_CELL_FRACTION = 0.7  # ASSUMPTION: T cells are ~60-80 % of blood lymphocytes (textbook range)


@dataclass
class ArmResult:
    """One arm: its patients (covariates, manufacturing, endpoints), time course, summary."""

    name: str
    spec: ArmSection
    patients: pd.DataFrame
    simulation: SimulationResult | None
    summary: dict[str, Any]


@dataclass
class TrialResult:
    """What :func:`run_trial` returns."""

    scenario: TrialScenario
    model: Model
    candidates: pd.DataFrame
    screening_log: pd.DataFrame
    arms: list[ArmResult]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """``{"arms": {ARM: {"n": ..., "endpoints": {NAME: {"value", "ci_low", ...}}}}}``."""
        return {arm.name: arm.summary for arm in self.arms}


def run_trial(scenario: TrialScenario, *, progress: bool | None = None) -> TrialResult:
    """Run a virtual trial described by a validated :class:`TrialScenario`."""
    trial = scenario.trial
    model = get_model(trial.model).with_values(scenario.parameters)
    cohort = CohortSpec.from_dict(scenario.cohort, field="cohort")
    criteria = EligibilityCriteria.from_dict(scenario.eligibility, field="eligibility")
    candidates = generate_candidates(seed=trial.seed, spec=cohort)
    eligible, log = screen(candidates, criteria)
    eligible, log = _equilibrate(model, eligible, log, scenario)
    groups, notes = _allocate(eligible, scenario)
    arms = []
    for i, arm in enumerate(scenario.arms):
        arms.append(_run_arm(i, arm, groups[arm.name], model, scenario, progress))
    return TrialResult(scenario, model, candidates, log, arms, notes)


def _equilibrate(model: Model, eligible: pd.DataFrame, log: pd.DataFrame,
                 scenario: TrialScenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each eligible candidate's parameters and untreated equilibrium at its baseline SLEDAI.

    A candidate whose baseline score is not a stable state of its own parameters (on its
    standard-of-care prednisone) cannot be represented by the model: it leaves the trial
    at screening, with the reason in the screening log.
    """
    params = _patient_parameters(model, eligible, scenario)
    background = _background_prednisone(scenario, eligible)
    keep, rows, states = [], [], []
    log = log.copy()
    for k, cand in enumerate(eligible["candidate"].to_numpy()):
        try:
            base = sle_initial_state(model, params[k:k + 1], int(eligible["sledai"].iloc[k]),
                                     prednisone_mg_per_day=background[k])
        except UserError as exc:
            at = log.index[log["candidate"] == cand][0]
            log.loc[at, "eligible"] = False
            log.loc[at, "n_failed"] += 1
            log.loc[at, "failed_criteria"] = "model_baseline"
            log.loc[at, "reasons"] = f"baseline not representable by the model ({exc})"
            continue
        initial = base.initial[0].copy()
        initial[model.state_names.index("TH")] = params[k, model.parameter_names.index("th_normal")]
        keep.append(k)
        rows.append(base.parameters[0])
        states.append(initial)
    eligible = eligible.iloc[keep].reset_index(drop=True)
    eligible["background_prednisone_mg_day"] = background[keep]
    eligible.attrs["parameters"] = np.array(rows).reshape(len(keep), -1)
    eligible.attrs["initial"] = np.array(states).reshape(len(keep), -1)
    return eligible, log


def _allocate(eligible: pd.DataFrame, scenario: TrialScenario):
    """Permuted-block randomisation of eligible candidates (in candidate order) to arms."""
    names = [a.name for a in scenario.arms]
    per_arm = scenario.trial.patients_per_arm
    groups: dict[str, list[int]] = {n: [] for n in names}
    rows = eligible.sort_values("candidate").index.to_list()
    block = 0
    while rows and min(len(g) for g in groups.values()) < per_arm:
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
        group.attrs = {key: value[g] for key, value in eligible.attrs.items()}
        out[n] = group
    return out, notes


def _run_arm(i: int, arm: ArmSection, patients: pd.DataFrame, model: Model,
             scenario: TrialScenario, progress: bool | None) -> ArmResult:
    trial = scenario.trial
    where = f"arms[{i}]"
    if patients.empty:
        return ArmResult(arm.name, arm, patients, None, {"n": 0, "endpoints": {}})
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

    params = patients.attrs["parameters"]
    initial = patients.attrs["initial"]
    background = patients["background_prednisone_mg_day"].to_numpy(float)
    product = _product(arm, where)
    cap = scenario.standard_of_care.max_prednisone_mg_per_day
    doses = [_patient_doses(arm, product, row, background[k], cap, trial.run_in_days,
                            trial.follow_up_days)
             for k, row in enumerate(patients.itertuples(index=False))]
    times = _output_times(trial.run_in_days, trial.follow_up_days)
    sim = _simulate_in_batches(model, times, params, initial, doses, patients, scenario,
                               progress)
    prednisone = prednisone_mg_per_day(doses, times)
    rngs = [patient_rng(trial.seed, int(c), STREAM_TOXICITY) for c in patients["candidate"]]
    endpoints = patient_endpoints(sim.dataset, prednisone, rngs, trial.follow_up_days)
    patients = pd.concat([patients.reset_index(drop=True), endpoints.reset_index(drop=True)],
                         axis=1)
    patients["status"] = sim.patients["status"].to_numpy()
    summary = summarise_arm(patients, arm.product, trial.follow_up_days, seed=trial.seed)
    return ArmResult(arm.name, arm, patients, sim, summary)


def _patient_parameters(model: Model, patients: pd.DataFrame,
                        scenario: TrialScenario) -> np.ndarray:
    """Typical parameters x exp(sigma z), z from each patient's own stream; covariates set."""
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
    params = np.clip(typical * np.exp(vec * z), lo, hi)
    # covariates, not variability: body weight for steroid exposure, the patient's T cells
    params[:, model.parameter_names.index("weight_GC")] = patients["weight_kg"].to_numpy(float)
    params[:, model.parameter_names.index("th_normal")] = (
        T_CELL_FRACTION * patients["alc_per_ul"].to_numpy(float))
    return params


def _background_prednisone(scenario: TrialScenario, patients: pd.DataFrame) -> np.ndarray:
    """Standard-of-care prednisone before treatment, mg/day, per patient."""
    soc = scenario.standard_of_care
    return np.minimum(soc.prednisone_mg_per_kg_per_day * patients["weight_kg"].to_numpy(float),
                      soc.max_prednisone_mg_per_day)


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


def _patient_doses(arm: ArmSection, product: CellProduct | None, row, background: float,
                   cap: float, run_in: float, follow_up: float) -> list[Dose]:
    """Background steroids, lymphodepletion, product and the arm's steroid regimen."""
    s = arm.steroids
    infused = bool(row.infused)
    ld = arm.lymphodepletion if (infused and arm.lymphodepletion) else None
    if not infused or s.after == "continue":
        change = follow_up  # not treated: stays on the standard of care
    elif s.after == "stop":
        change = ld.first_day if ld else 0.0  # all immunosuppression stops with Flu/Cy
    else:
        change = 0.0
    doses: list[Dose] = []
    if background > 0:
        doses.append(Dose(GC_STATE, background * (change + run_in), -run_in,
                          duration=change + run_in))
    if infused and s.after == "keep_then_taper":
        doses += steroid_taper(0.0, s.maintenance_mg_per_kg_per_day, float(row.weight_kg),
                               s.taper_weeks, hold_weeks=s.hold_weeks,
                               max_mg_per_day=cap, step_days=7.0)
    if ld:
        doses += lymphodepletion_doses(ld.first_day, ld.days, ld.fludarabine_mg_m2,
                                       ld.cyclophosphamide_mg_m2)
    if infused and product is not None:
        doses += product.doses_for(float(row.weight_kg), 0.0, age_years=float(row.age_years))
    return doses


def _output_times(run_in: float, follow_up: float) -> np.ndarray:
    """Sparse during the run-in, every 6 hours for 30 days (cytokines), then daily."""
    return np.unique(np.concatenate([
        np.arange(-run_in, 0.0, 5.0), np.arange(0.0, 30.0, 0.25),
        np.arange(30.0, math.floor(follow_up) + 1.0), [follow_up],
    ]))


def _simulate_in_batches(model, times, params, initial, doses, patients, scenario,
                         progress) -> SimulationResult:
    trial = scenario.trial
    n = params.shape[0]
    size = trial.batch_size or n
    options = SolverOptions(rtol=trial.rtol, atol=trial.atol, threads=trial.threads,
                            progress=progress)
    parts = []
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        parts.append(simulate(model, times, parameters=params[lo:hi], initial=initial[lo:hi],
                              doses=doses[lo:hi], t_start=-trial.run_in_days, options=options,
                              patient_ids=patients["candidate"].to_numpy()[lo:hi]))
    if len(parts) == 1:
        return parts[0]
    return dataclasses.replace(
        parts[0],
        dataset=xr.concat([p.dataset for p in parts], dim="patient"),
        patients=pd.concat([p.patients for p in parts]),
        doses=[d for p in parts for d in p.doses],
        run_time=sum(p.run_time for p in parts),
    )
