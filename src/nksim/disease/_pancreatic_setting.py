"""Advanced pancreatic cancer as a trial setting (``[trial] setting = "pancreatic"``).

Research use only. Plugs :func:`nksim.disease._pancreatic.pancreatic_model` into the trial
runner (``docs/cancer.md``, pancreatic section):

- candidates (``[cohort]``): first-line advanced PDAC: age, sex, weight, height, BSA,
  serum creatinine -> CLcr (Cockcroft-Gault) -> S-1 apparent clearance (Booka), metastatic
  or locally advanced, 1-3 target lesions (primary + liver metastases), tumour volume
  doubling time (untreated PDAC on CT);
- eligibility (``[eligibility]``): adult, measurable disease (a target >= 10 mm), CLcr
  >= 30 mL/min (S-1);
- arm regimen (``[arms.regimen]``): GS cycles (Ueno 2013: gemcitabine 1000 mg/m2 d1, d8 +
  S-1 by BSA d1-14, q21d), NK product source (shared definitions), first NK day;
- endpoints (day 0 = first GS dose): RECIST 1.1 best response every 8 weeks
  (``orr_rate``, ``cr_rate``, ``dcr_rate``), PFS/OS in months (Kaplan-Meier, censored at
  the end of follow-up), CRS (surrogate, infused), resection conversion (ASSUMPTION rule).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from nksim._spec import Table
from nksim.disease._pancreatic import (
    DT_MEDIAN_DAYS,
    DT_RANGE_DAYS,
    DT_SIGMA,
    MEASURABLE_MM,
    OS_LOG_MEDIAN_DAYS,
    OS_SIGMA,
    OS_TSR_DAY,
    PDAC_ASSUMPTION,
    RECIST11,
    best_overall_response,
    first_progression_day,
    lesion_diameters_mm,
    os_days,
    pancreatic_model,
    recist_visit_responses,
    resection_conversion,
)
from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation
from nksim.population import body_surface_area, patient_rng
from nksim.therapy._chemotherapy import (
    cockcroft_gault_ml_min,
    gs_doses,
    s1_apparent_clearance_l_h,
)
from nksim.therapy._nk_products import NK_FRACTION_IN_BLOOD, NKProduct, allogeneic_nk
from nksim.therapy._toxicity import threshold_factors
from nksim.trials._eligibility import Criterion
from nksim.trials._setting import (
    Baseline,
    DiseaseSetting,
    Endpoint,
    Panel,
    check_not_before_run_in,
    register_setting,
)

DAYS_PER_MONTH = 30.4375
BLOOD_ML_PER_KG = 70.0
#: RECIST assessments every 8 weeks (assumption: Tan 2025's interval not extracted).
VISIT_INTERVAL_DAYS = 56.0
#: CRS surrogate (as the lymphoma setting; assumption): peak product kill (cell/uL/day)
#: giving grade >= 1 CRS in a median patient, log-normal individual threshold.
CRS_KILL_THRESHOLD = 5000.0
CRS_SIGMA = 0.5
#: Measurement error of a lesion diameter on CT (log-normal SD; assumption, range 0.05-0.15).
MEASUREMENT_SIGMA = 0.08
#: Calibrated to Tan 2025 NK + GS ORR 31.6 % (docs/calibration.md).
NK_GAIN = 4.0

COHORT_SOURCES = Citation(
    "nksim pancreatic cohort",
    "First-line advanced PDAC candidates: primary diameter around the serial-CT mean 2.9 cm "
    "(1.0-6.2 cm, V-src); volume doubling times log-normal with the CT study's mean and SD "
    "(V-src); metastatic share, metastasis sizes, creatinine, age, height and weight are "
    "assumptions (docs/cancer.md).",
    verified="assumption",
)
_STREAM_COHORT = 5101
_STREAM_RESPONSE = 5102
_STREAM_DOSE = 5103


class CohortTable(Table):
    """``[cohort]`` of the pancreatic setting (assumptions, docs/cancer.md)."""

    n_candidates: Annotated[int, Field(ge=1, le=100_000)] = 120
    age_mean_years: Annotated[float, Field(ge=18, le=100)] = 62.0
    male_share: Annotated[float, Field(ge=0, le=1)] = 0.6
    metastatic_share: Annotated[float, Field(ge=0, le=1)] = 0.7
    primary_median_mm: Annotated[float, Field(gt=0, le=150)] = 35.0
    metastasis_median_mm: Annotated[float, Field(gt=0, le=150)] = 20.0
    doubling_time_median_days: Annotated[float, Field(gt=0, le=5000)] = DT_MEDIAN_DAYS
    doubling_time_sigma: Annotated[float, Field(ge=0, le=3)] = DT_SIGMA
    creatinine_median_mg_dl: Annotated[float, Field(gt=0, le=10)] = 0.8
    #: imaging measurement error of a lesion diameter at the assessments (log-normal SD)
    measurement_sigma: Annotated[float, Field(ge=0, le=1)] = MEASUREMENT_SIGMA


class EligibilityTable(Table):
    """``[eligibility]``: ``"off"`` drops a rule."""

    min_age_years: Literal["off"] | Annotated[float, Field(ge=0)] = 18.0
    min_target_mm: Literal["off"] | Annotated[float, Field(ge=0)] = MEASURABLE_MM
    min_clcr_ml_min: Literal["off"] | Annotated[float, Field(ge=0)] = 30.0


class RegimenTable(Table):
    """``[arms.regimen]`` of the pancreatic setting."""

    chemotherapy: Literal["gs", "gemcitabine", "s1", "none"] = "gs"
    cycles: Annotated[int, Field(ge=0, le=100)] = 8
    gemcitabine_mg_m2: Annotated[float, Field(ge=0, le=3000)] = 1000.0
    nk_source: Literal["peripheral_blood", "cord_blood", "ipsc", "nk92"] = "peripheral_blood"
    nk_first_day: Annotated[float, Field(ge=-365, le=3650)] = 2.0
    nk_active: bool = True
    #: cells per infusion, one level per patient drawn with nk_dose_weights (replaces the
    #: arm's dose; Tan 2025: 1e9, 2e9, 4e9, 8e9 with 4, 6, 7, 7 patients)
    nk_dose_levels: list[Annotated[float, Field(gt=0, le=1e12)]] | None = None
    nk_dose_weights: list[Annotated[float, Field(gt=0)]] | None = None


def _tables(scenario) -> tuple[CohortTable, EligibilityTable, list[RegimenTable]]:
    """The setting's tables (validated by the scenario loader, :attr:`tables`) with the
    checks across them (:meth:`check`)."""
    cohort = CohortTable.model_validate(dict(scenario.cohort))
    elig = EligibilityTable.model_validate(dict(scenario.eligibility))
    regimens = []
    for i, arm in enumerate(scenario.arms):
        reg = RegimenTable.model_validate(dict(arm.regimen))
        if arm.product == "car_t":
            raise UserError("the pancreatic setting models NK products: use product = "
                            "'car_nk' with regimen.nk_source (got 'car_t')",
                            field=f"arms[{i}].product")
        if arm.given_lymphodepletion:
            raise UserError("Tan 2025 gave NK cells without lymphodepletion; set "
                            "lymphodepletion = false (got a lymphodepletion table)",
                            field=f"arms[{i}].lymphodepletion")
        last = reg.nk_first_day + (arm.infusions - 1) * (arm.interval_days or 0.0)
        if arm.product != "none" and last > scenario.trial.follow_up_days:
            raise UserError(f"the last NK infusion (day {last:g}) is after the end of "
                            f"follow-up (day {scenario.trial.follow_up_days:g})",
                            field=f"arms[{i}].regimen.nk_first_day")
        if arm.product != "none":
            check_not_before_run_in(reg.nk_first_day, scenario.trial.run_in_days,
                                    f"arms[{i}].regimen.nk_first_day")
        levels, weights = reg.nk_dose_levels, reg.nk_dose_weights
        if weights is not None and (levels is None or len(weights) != len(levels)):
            raise UserError(f"give one weight per dose level ({len(levels or [])} levels; "
                            f"got {len(weights)} weights)",
                            field=f"arms[{i}].regimen.nk_dose_weights")
        if levels is not None and (not levels or arm.product == "none"):
            raise UserError("dose levels need an arm with a product and at least one level "
                            f"(got {levels})", field=f"arms[{i}].regimen.nk_dose_levels")
        regimens.append(reg)
    return cohort, elig, regimens


def dose_level(reg: RegimenTable, u: float) -> float | None:
    """The patient's cells per infusion from the regimen's dose levels (uniform draw u)."""
    if not reg.nk_dose_levels:
        return None
    w = np.asarray(reg.nk_dose_weights or [1.0] * len(reg.nk_dose_levels), float)
    k = int(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"))
    return float(reg.nk_dose_levels[min(k, len(w) - 1)])


def arm_product(arm, reg: RegimenTable) -> NKProduct | None:
    """The shared allogeneic NK definition for an arm (dose and schedule from the arm)."""
    if arm.product == "none":
        return None
    p = allogeneic_nk(reg.nk_source)
    dose = {"flat_dose": arm.dose, "dose_per_kg": None} if arm.dose is not None else \
        {"flat_dose": None, "dose_per_kg": arm.dose_per_kg}
    return dataclasses.replace(p, infusions=arm.infusions, interval_days=arm.interval_days,
                               **dose)


def _products(scenario) -> NKProduct | None:
    _, _, regimens = _tables(scenario)
    found = [arm_product(a, r) for a, r in zip(scenario.arms, regimens, strict=True)]
    kinds = {p.kind for p in found if p is not None}
    if len(kinds) > 1:
        raise UserError(f"one NK source per trial (got {sorted(kinds)})",
                        field="arms.regimen.nk_source")
    return next((p for p in found if p is not None), None)


#: Figures set beside the estimates (Tan 2025 NK + GS: calibration targets or checks). The
#: article's "72.2 % tumour shrinkage" is UNVERIFIED, is not a RECIST response rate (any
#: shrinkage is not a 30 % decrease) and is neither used nor drawn (`nksim article`, T8).
PUBLISHED = (
    {"arm": "nk_gs", "endpoint": "orr_rate", "value": 0.316,
     "label": "Tan 2025: ORR 31.6 % (6/19) [V-src, calibration target]"},
    {"arm": "nk_gs", "endpoint": "dcr_rate", "value": 0.737,
     "label": "Tan 2025: DCR 73.7 % (14/19) [V-src, check]"},
)
#: Published medians (months) set beside the KM medians in docs and the report table.
PUBLISHED_MEDIANS = {"pfs_median_months": (6.6, "Tan 2025 NK + GS [V-src, check]"),
                     "os_median_months": (10.8, "Tan 2025 NK + GS [V-src, calibration "
                                                "target]")}

_CACHE: dict[Any, Any] = {}


def _measured(ds) -> np.ndarray:
    return np.asarray(ds["tumour_ml"].values, float)


class PancreaticSetting(DiseaseSetting):
    """First-line advanced pancreatic cancer, NK + gemcitabine/S-1 (``docs/cancer.md``)."""

    name = "pancreatic"
    min_follow_up_days = VISIT_INTERVAL_DAYS  # the first RECIST assessment
    tables = {"cohort": CohortTable, "eligibility": EligibilityTable, "regimen": RegimenTable}

    def check(self, scenario) -> None:
        _tables(scenario)  # the checks across tables, at load time

    endpoints = (
        Endpoint("orr_rate", "responder", "binary", (),
                 "objective response (RECIST 1.1 CR or PR, best, unconfirmed)"),
        Endpoint("cr_rate", "complete_response", "binary", (), "complete response (RECIST)"),
        Endpoint("dcr_rate", "disease_control", "binary", (),
                 "disease control (RECIST CR, PR or SD >= 6 weeks)"),
        Endpoint("pfs_median_months", "pfs_months", "time_to_event", (),
                 "progression-free survival, median (months)", days_per_unit=DAYS_PER_MONTH),
        Endpoint("os_median_months", "os_months", "time_to_event", (),
                 "overall survival, median (months)", days_per_unit=DAYS_PER_MONTH),
        Endpoint("crs_any_rate", "crs_any", "binary", ("infused",),
                 "CRS, any grade (infused; surrogate)"),
        Endpoint("resection_conversion_rate", "resection_conversion", "binary", (),
                 "conversion to resection (ASSUMPTION rule)"),
    )
    report_panels = (
        Panel("tumour_ml", "pancreatic tumour volume", "mL", _measured, detection_limit=0.01),
        Panel("NKP", "infused NK cells (blood-equivalent)", "cell/uL",
              lambda ds: np.asarray(ds["NKP"].values, float) if "NKP" in ds
              else np.zeros_like(_measured(ds)), log=False),
        Panel("FU", "apparent 5-FU pool", "mg",
              lambda ds: np.asarray(ds["FU"].values, float), log=False),
    )
    oncology = {
        "response": "best_response", "best_change": "best_sld_change_pct",
        "spider": "sld_change_pct_at_visits",
        "visits": tuple(VISIT_INTERVAL_DAYS * k for k in range(1, 66)),
        "survival": {"PFS": "pfs_months", "OS": "os_months"},
        "months_per_day": 1.0 / DAYS_PER_MONTH,
        "published": PUBLISHED,
        "measure": "SLD", "thresholds": (-30.0, 20.0),
    }
    #: Every endpoint also by NK cells per infusion (dose levels; "none" without NK cells).
    subgroups = {"nk_dose": ()}
    #: Parameter overrides for a stable tumour (the n-of-1 view's inactive product).
    stable_disease = {"pdac_kg": 0.0}

    def model(self, scenario):
        product = _products(scenario)
        key = None if product is None else product.kind
        if key not in _CACHE:
            _CACHE[key] = pancreatic_model(product, nk_gain=NK_GAIN)
        try:
            return _CACHE[key].with_values(scenario.parameters)
        except UserError as exc:
            raise UserError(exc.message, field="parameters") from None

    def candidates(self, scenario) -> pd.DataFrame:
        cohort, _, _ = _tables(scenario)
        return pancreatic_candidates(cohort, scenario.trial.seed)

    def criteria(self, scenario):
        _, elig, _ = _tables(scenario)
        rules = []
        if elig.min_age_years != "off":
            rules.append(Criterion("min_age_years", "age_years", ">=",
                                   float(elig.min_age_years), "age", "years", "adult",
                                   PDAC_ASSUMPTION))
        if elig.min_target_mm != "off":
            rules.append(Criterion("min_target_mm", "largest_target_mm", ">=",
                                   float(elig.min_target_mm), "largest target lesion", "mm",
                                   "measurable disease (RECIST 1.1: >= 10 mm)", RECIST11))
        if elig.min_clcr_ml_min != "off":
            rules.append(Criterion("min_clcr_ml_min", "clcr_ml_min", ">=",
                                   float(elig.min_clcr_ml_min), "creatinine clearance",
                                   "mL/min", "S-1 needs renal clearance (assumption)",
                                   PDAC_ASSUMPTION))
        return rules

    def covariate_parameters(self, model, patients, parameters):
        out = np.array(parameters, float, copy=True)
        names = list(model.parameter_names)
        out[:, names.index("pdac_blood_ul")] = patients["blood_ul"].to_numpy(float)
        out[:, names.index("pdac_kg")] = patients["growth_per_day"].to_numpy(float)
        out[:, names.index("s1_cl")] = [
            s1_apparent_clearance_l_h(c, b, s == "M") * 24.0 for c, b, s in
            zip(patients["clcr_ml_min"], patients["bsa_m2"], patients["sex"], strict=True)]
        return out

    def baseline(self, model, patients, parameters, scenario):
        params = np.array(parameters, float, copy=True)
        init = np.tile(model.initial_vector(), (len(patients), 1))
        s = list(model.state_names)
        names = list(model.parameter_names)
        cells = patients["tumour_ml"].to_numpy(float) * params[:, names.index(
            "pdac_cells_per_ml")]
        init[:, s.index("Y")] = cells / patients["blood_ul"].to_numpy(float)
        return Baseline(patients, params, init)

    def doses(self, arm, patient, treatment, scenario):
        i = [a.name for a in scenario.arms].index(arm.name)
        reg = _tables(scenario)[2][i]
        bsa = float(patient.bsa_m2)
        chemo = reg.chemotherapy
        out: list[Dose] = []
        if chemo != "none":
            out += gs_doses(bsa, reg.cycles,
                            gem_mg_m2=reg.gemcitabine_mg_m2 if chemo in ("gs", "gemcitabine")
                            else 0.0,
                            s1_mg_per_day=0.0 if chemo == "gemcitabine" else None)
        product = arm_product(arm, reg)
        if product is not None and bool(patient.infused):
            level = dose_level(reg, float(patient.dose_u))
            if level is not None:
                product = dataclasses.replace(product, flat_dose=level, dose_per_kg=None)
            nk = product.doses_for("NKP", float(patient.weight_kg), reg.nk_first_day,
                                   blood_ml_per_kg=BLOOD_ML_PER_KG,
                                   fraction_in_blood=NK_FRACTION_IN_BLOOD)
            out += nk if reg.nk_active else [dataclasses.replace(d, amount=0.0) for d in nk]
        return out

    def patient_endpoints(self, dataset, doses, patients, rngs, scenario):
        out = pancreatic_endpoints(dataset, patients, rngs, scenario.trial.follow_up_days,
                                   _tables(scenario)[0].measurement_sigma)
        levels = [v for reg in _tables(scenario)[2] for v in reg.nk_dose_levels or ()]
        out["nk_dose"] = [_dose_label(d, b, levels) for d, b in
                          zip(doses, patients["blood_ul"].to_numpy(float), strict=True)]
        return out


# ---------------------------------------------------------------- candidates
def pancreatic_candidates(cohort: CohortTable, seed: int) -> pd.DataFrame:
    """Referred candidates (one random stream per candidate; assumptions in CohortTable)."""
    rows = []
    lo, hi = DT_RANGE_DAYS
    for i in range(cohort.n_candidates):
        g = patient_rng(seed, i, _STREAM_COHORT)
        z = g.standard_normal(8)
        male = bool(g.random() < cohort.male_share)
        metastatic = bool(g.random() < cohort.metastatic_share)
        n_mets = int(g.integers(1, 3)) if metastatic else 0
        primary = float(np.clip(cohort.primary_median_mm * math.exp(0.3 * z[0]), 10, 100))
        mets = [float(np.clip(cohort.metastasis_median_mm * math.exp(0.4 * x), 10, 100))
                for x in g.standard_normal(n_mets)]
        age = float(np.clip(cohort.age_mean_years + 9.0 * z[1], 18, 90))
        weight = float(np.clip((72.0 if male else 60.0) * math.exp(0.15 * z[2]), 35, 150))
        height = float(np.clip((170.0 if male else 158.0) + 7.0 * z[3], 135, 205))
        scr = float(cohort.creatinine_median_mg_dl * math.exp(0.25 * z[4]))
        dt = float(np.clip(cohort.doubling_time_median_days
                           * math.exp(cohort.doubling_time_sigma * z[5]), lo, hi))
        diam = [primary, *mets]
        rows.append({
            "candidate": i, "age_years": age, "sex": "M" if male else "F",
            "weight_kg": weight, "height_cm": height, "creatinine_mg_dl": scr,
            "clcr_ml_min": cockcroft_gault_ml_min(age, weight, scr, not male),
            "metastatic": metastatic, "lesions_mm": ";".join(f"{d:.4g}" for d in diam),
            "largest_target_mm": max(diam),
            "tumour_ml": float(sum(math.pi / 6.0 * (d / 10.0) ** 3 for d in diam)),
            "doubling_time_days": dt, "growth_per_day": math.log(2) / dt,
            "dose_u": float(patient_rng(seed, i, _STREAM_DOSE).random()),
        })
    frame = pd.DataFrame(rows)
    frame["bsa_m2"] = body_surface_area(frame["weight_kg"], frame["height_cm"])
    frame["blood_ul"] = frame["weight_kg"] * BLOOD_ML_PER_KG * 1000.0
    return frame


def _dose_label(doses, blood_ul: float, levels=()) -> str:
    """Cells per infusion given (from the NK dose record): a declared dose level exactly
    (``"1.5e+09"``), another dose to two digits (``"4.3e+09"``; doses per kg differ
    between patients); ``"none"``."""
    nk = [d for d in doses if d.state == "NKP" and float(d.amount) > 0]
    if not nk:
        return "none"
    ref = allogeneic_nk()  # purity x viability of the shared allogeneic definitions
    cells = float(nk[0].amount) * blood_ul / (NK_FRACTION_IN_BLOOD * ref.purity
                                              * ref.viability)
    level = next((v for v in levels if math.isclose(cells, v, rel_tol=1e-9)), None)
    return f"{level:g}" if level is not None else f"{float(f'{cells:.2g}'):g}"


def _lesions(text: str) -> np.ndarray:
    return np.array([float(x) for x in str(text).split(";")], float)


# ---------------------------------------------------------------- endpoints
def patient_course(volume_ratio: np.ndarray, lesions_mm: np.ndarray, visit_days: np.ndarray,
                   noise: np.ndarray, *, metastatic: bool) -> dict[str, Any]:
    """One patient's RECIST course from the true volume ratio at baseline + visits.

    ``noise`` (visit+1, lesion) log-normal measurement factors (ones: no error).
    """
    true = lesion_diameters_mm(lesions_mm, volume_ratio)
    gone = np.all(true == 0.0, axis=1)
    measured = true * noise
    sums = measured.sum(axis=1)
    resp = recist_visit_responses(sums, all_gone=list(gone[1:]))
    best = best_overall_response(resp, list(visit_days))
    pd_day = first_progression_day(resp, list(visit_days))
    change = 100.0 * (sums[1:] / sums[0] - 1.0)
    upto = len(resp) if math.isnan(pd_day) else resp.index("PD") + 1
    return {
        "responses": resp, "best_response": best, "progression_day": pd_day,
        "best_sld_change_pct": float(np.min(change[:upto])) if upto else math.nan,
        "sld_change_pct": change,
        "resection_conversion": resection_conversion(resp, list(measured[1:, 0]),
                                                     metastatic),
    }


def pancreatic_endpoints(dataset, patients: pd.DataFrame, rngs, follow_up: float,
                         measurement_sigma: float = MEASUREMENT_SIGMA) -> pd.DataFrame:
    """Per patient: RECIST 1.1 every 8 weeks (measured with error), best response,
    PFS/OS (months; NaN = no event within follow-up), resection conversion, CRS."""
    t = dataset["time"].values
    ml = np.asarray(dataset["tumour_ml"].values, float)
    kill = (np.asarray(dataset["product_kill"].values, float)
            if "product_kill" in dataset else np.zeros_like(ml))
    i0 = int(np.searchsorted(t, 0.0))
    visits_all = np.arange(VISIT_INTERVAL_DAYS, follow_up + 1e-9, VISIT_INTERVAL_DAYS)
    vi = np.clip(np.searchsorted(t, visits_all), 0, t.size - 1)
    it = int(np.clip(np.searchsorted(t, OS_TSR_DAY), 0, t.size - 1))
    rngs = list(rngs)
    factors = threshold_factors(rngs, CRS_SIGMA, len(patients)) if len(patients) \
        else np.zeros(0)
    rows = []
    for p in range(len(patients)):
        g = rngs[p]
        lesions = _lesions(patients["lesions_mm"].iloc[p])
        z_os = float(g.standard_normal())
        noise = np.exp(measurement_sigma * g.standard_normal((visits_all.size + 1,
                                                              lesions.size)))
        v0 = ml[p, i0]
        ratio_tsr = np.cbrt(max(ml[p, it], 0.0) / v0) - 1.0 if v0 > 0 else 0.0
        death = float(os_days(ratio_tsr, z_os))
        alive = visits_all < death
        ratios = np.concatenate([[1.0], ml[p, vi[alive]] / v0])
        course = patient_course(ratios, lesions, visits_all[alive], noise[:alive.sum() + 1],
                                metastatic=bool(patients["metastatic"].iloc[p]))
        best = course["best_response"]
        if best == "NE" and death <= follow_up:
            best = "PD"
        pd_day = course["progression_day"]
        pfs = min(pd_day if not math.isnan(pd_day) else math.inf, death)
        peak = float(np.nanmax(kill[p][t >= 0])) if kill.size else 0.0
        rows.append({
            "best_response": best,
            "responder": best in ("CR", "PR"),
            "complete_response": best == "CR",
            "disease_control": best in ("CR", "PR", "SD"),
            "progression_day": pd_day,
            "death_day": death if death <= follow_up else math.nan,
            "pfs_months": pfs / DAYS_PER_MONTH if pfs <= follow_up else math.nan,
            "os_months": death / DAYS_PER_MONTH if death <= follow_up else math.nan,
            "tsr_week8": ratio_tsr,
            "best_sld_change_pct": course["best_sld_change_pct"],
            "sld_change_pct_at_visits": ";".join(f"{c:.4g}" for c in course["sld_change_pct"]),
            "resection_conversion": bool(course["resection_conversion"]),
            "crs_any": bool(peak >= CRS_KILL_THRESHOLD * factors[p]),
            "peak_product_kill": peak,
        })
    return pd.DataFrame(rows)


def os_parameters() -> dict[str, float]:
    """The OS link's values (for docs/calibration.md and reports)."""
    from nksim.disease._pancreatic import os_tsr_slope

    return {"os_log_median_days": OS_LOG_MEDIAN_DAYS, "os_sigma": OS_SIGMA,
            "os_tsr_slope": os_tsr_slope()}


register_setting(PancreaticSetting)
