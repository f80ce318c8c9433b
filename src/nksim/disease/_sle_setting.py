"""Lupus as a trial setting (``[trial] setting = "sle"``, the default).

Plugs the SLE model (``sle_cd19``: lupus, glucocorticoids, lymphodepletion, CD19 CAR-T,
CD19 CAR-NK, cytokines) into the disease-free trial runner through
:class:`nksim.trials.DiseaseSetting`:

- candidates: :func:`nksim.disease.sle_candidates` (age, sex, weight, disease
  duration, failed regimens, SLEDAI-2K, lymphocytes) from ``[cohort]``
  (:class:`nksim.disease.SleCohortSpec`); rules from ``[eligibility]``
  (:class:`nksim.disease.SleEligibility`); both tables are declared in
  :attr:`SleSetting.tables` and validated by the scenario loader;
- covariates -> parameters: body weight sets ``weight_GC`` (steroid exposure) and the
  patient's T cells (``T_CELL_FRACTION`` x lymphocytes) set ``th_normal``;
- baseline: the untreated steady state at the candidate's SLEDAI-2K on its
  standard-of-care prednisone (:func:`nksim.disease.sle_initial_state`); a score that is
  not a stable state of its parameters excludes the candidate at screening;
- doses: standard-of-care prednisone during the run-in, the arm's steroid plan
  (``[arms.steroids]``), then the runner's lymphodepletion and product doses;
- flare triggers (issue 10): each patient's random extrinsic triggers
  (:func:`nksim.disease._flares.flare_trigger_doses`, own random stream) over the run-in and
  follow-up, in every arm;
- endpoints (``docs/trials.md``; day 0 = first infusion): CRS/ICANS among infused, B-cell
  return (Kaplan-Meier) among depleted, DORIS remission at 3, 6 and 12 months, SRI-4,
  steroid freedom and flares at 6 months, LLDAS and "LLDAS or DORIS" at 12 months, flares
  by 12 months (intention to treat); cost per DORIS remission.

Moved here from ``trials/`` without changing a number; the lupus model then changed on
purpose in issue 10 (B-cell precursor stages, flare triggers, CAR-T without a capacity
limit), so the c9c60d2 regression fixture was retired (``tests/test_trial_settings.py``).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from nksim.disease._flares import flare_trigger_doses
from nksim.disease._sle import sle_initial_state
from nksim.disease._sle_activity import (
    any_flare,
    b_cell_depleted,
    b_cell_recovery_day,
    doris_remission,
    lldas,
    sledai,
    sri4_response,
    steroid_free_at,
)
from nksim.disease._sle_cohort import SleCohortSpec, sle_candidates
from nksim.disease._sle_eligibility import SleEligibility
from nksim.disease._steroids import GC_STATE, prednisone_mg_per_day, steroid_taper
from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.therapy import blood_volume_ml_per_kg, toxicity_table
from nksim.therapy._nk_products import NKProduct, car_nk, car_t, expansion_events
from nksim.trials._setting import Baseline, DiseaseSetting, Endpoint, Panel, register_setting

#: ASSUMPTION: T cells are ~60-80 % of blood lymphocytes (textbook range); used for th_normal.
T_CELL_FRACTION = 0.7
MONTH_3, MONTH_6, MONTH_12 = 91.0, 182.0, 365.0
VISITS = (0.0, 14.0, 28.0, 56.0, 91.0, 126.0, 154.0, 182.0)  # flare assessment visits
#: visits of the 12-month flare endpoint (then every 4 weeks; ASSUMPTION)
VISITS_12M = VISITS + (210.0, 238.0, 266.0, 294.0, 322.0, 350.0, 365.0)

_INF = ("infused",)


# Report panels. Detection limits: ASSUMPTION, flow cytometry ~1 cell/uL (range 0.1-10),
# anti-dsDNA ELISA ~1 IU/mL (range 1-10), clinical cytokine immunoassays ~1 pg/mL (range
# 0.5-5). SLEDAI-2K: scale 0-105 (Gladman 2002); ASSUMPTION: above 45 points is flagged as
# implausible (most organ descriptors active at once; refractory-SLE CAR cohorts enrolled
# medians of 8-16, science.md section 4).
CELL_DETECTION_LIMIT = 1.0
ANTIBODY_DETECTION_LIMIT = 1.0
CYTOKINE_DETECTION_LIMIT = 1.0
SLEDAI_PLAUSIBLE = (0.0, 45.0)


def _state(*names: str):
    def series(ds) -> np.ndarray:
        return sum(np.asarray(ds[n].values, dtype=float) for n in names)
    return series


def _sledai(ds) -> np.ndarray:
    return np.asarray(sledai(ds), dtype=float)


class SleSetting(DiseaseSetting):
    """Refractory SLE treated with CD19 CAR-T or CAR-NK (``docs/trials.md``)."""

    name = "sle"
    endpoints = (
        Endpoint("crs_any_rate", "crs_any", "binary", _INF, "CRS, any grade (infused)"),
        Endpoint("crs_grade3plus_rate", "crs_grade3plus", "binary", _INF,
                 "CRS grade ≥ 3 (infused)"),
        Endpoint("icans_any_rate", "icans_any", "binary", _INF, "ICANS, any grade (infused)"),
        Endpoint("b_cell_return_day_median", "b_cell_return_day", "time_to_event",
                 ("infused", "b_depleted"), "B-cell return, median day (depleted)"),
        Endpoint("doris_remission_3m_rate", "doris_3m", "binary", (),
                 "DORIS remission at 3 months"),
        Endpoint("doris_remission_6m_rate", "doris_6m", "binary", (),
                 "DORIS remission at 6 months"),
        Endpoint("sri4_6m_rate", "sri4_6m", "binary", (), "SRI-4 response at 6 months"),
        Endpoint("steroid_free_6m_rate", "steroid_free_6m", "binary", (),
                 "steroid-free at 6 months, no flare"),
        Endpoint("flare_6m_rate", "flare_6m", "binary", (), "flare by 6 months"),
        Endpoint("doris_remission_12m_rate", "doris_12m", "binary", (),
                 "DORIS remission at 12 months"),
        Endpoint("lldas_12m_rate", "lldas_12m", "binary", (), "LLDAS at 12 months"),
        Endpoint("lldas_or_doris_12m_rate", "lldas_or_doris_12m", "binary", (),
                 "LLDAS or DORIS remission at 12 months"),
        Endpoint("flare_12m_rate", "flare_12m", "binary", (), "flare by 12 months"),
    )
    cost_per_response = ("cost_per_remission", "doris_6m")
    tables = {"cohort": SleCohortSpec, "eligibility": SleEligibility}
    # the 6-month endpoints need six months; prednisone has a run-in on standard of care
    min_follow_up_days = MONTH_6
    min_run_in_days = 7.0
    uses_steroids = True
    primary_endpoint = "doris_remission_6m_rate"  # the safety endpoints come first

    report_panels = (
        Panel("B", "CD19+ B cells", "cells/µL", _state("B"),
              detection_limit=CELL_DETECTION_LIMIT),
        Panel("CAR", "CAR cells in blood (CAR-T + memory CAR-T + CAR-NK)", "cells/µL",
              _state("CART", "CARTM", "CARNK"), detection_limit=CELL_DETECTION_LIMIT),
        Panel("SLEDAI", "SLEDAI-2K (model surrogate)", "points", _sledai, log=False,
              plausible=SLEDAI_PLAUSIBLE, scale=(0.0, 105.0)),
        Panel("AB", "anti-dsDNA antibodies", "IU/mL", _state("AB"),
              detection_limit=ANTIBODY_DETECTION_LIMIT),
        Panel("IL6", "IL-6", "pg/mL", _state("IL6"), detection_limit=CYTOKINE_DETECTION_LIMIT),
        Panel("IFNG", "IFN-γ", "pg/mL", _state("IFNG"),
              detection_limit=CYTOKINE_DETECTION_LIMIT),
    )

    def candidates(self, scenario) -> pd.DataFrame:
        cohort = SleCohortSpec.from_dict(scenario.cohort, field="cohort")
        return sle_candidates(seed=scenario.trial.seed, spec=cohort)

    def criteria(self, scenario) -> SleEligibility:
        return SleEligibility.from_dict(scenario.eligibility, field="eligibility")

    def covariate_parameters(self, model, patients, parameters) -> np.ndarray:
        """Body weight for steroid exposure; the patient's T cells set ``th_normal``."""
        names = model.parameter_names
        parameters[:, names.index("weight_GC")] = patients["weight_kg"].to_numpy(float)
        parameters[:, names.index("th_normal")] = (
            T_CELL_FRACTION * patients["alc_per_ul"].to_numpy(float))
        return parameters

    def baseline(self, model, patients, parameters, scenario) -> Baseline:
        """Untreated equilibrium at the baseline SLEDAI-2K on standard-of-care prednisone."""
        background = _background_prednisone(scenario, patients)
        keep, rows, states, excluded = [], [], [], {}
        th = model.state_names.index("TH")
        th_normal = model.parameter_names.index("th_normal")
        for k, cand in enumerate(patients["candidate"].to_numpy()):
            try:
                base = sle_initial_state(model, parameters[k:k + 1],
                                         int(patients["sledai"].iloc[k]),
                                         prednisone_mg_per_day=background[k])
            except UserError as exc:
                excluded[int(cand)] = f"baseline not representable by the model ({exc})"
                continue
            initial = base.initial[0].copy()
            initial[th] = parameters[k, th_normal]
            keep.append(k)
            rows.append(base.parameters[0])
            states.append(initial)
        kept = patients.iloc[keep].reset_index(drop=True)
        kept["background_prednisone_mg_day"] = background[keep]
        return Baseline(kept, np.array(rows).reshape(len(keep), -1),
                        np.array(states).reshape(len(keep), -1), excluded)

    def doses(self, arm, patient, treatment, scenario) -> list[Dose]:
        """Standard-of-care prednisone until the arm's steroid plan starts, the plan, then
        lymphodepletion (``treatment``) and the arm's product from the shared catalogue
        (:func:`arm_product`); for CAR-NK, the catalogue's per-patient in-vivo expansion event
        (a dose record setting ``CARNKX`` to 1, drawn from the patient's own stream)."""
        s = arm.steroids
        run_in = scenario.trial.run_in_days
        follow_up = scenario.trial.follow_up_days
        infused = bool(patient.infused)
        # a patient whose product failed stays on the standard of care; an arm without a
        # product follows a plan only where one is written (ArmSection.given_steroid_plan)
        treated = arm.given_steroid_plan and (infused or arm.product == "none")
        ld = arm.given_lymphodepletion if treated else None
        if not treated or s.after == "continue":
            change = follow_up  # not treated: stays on the standard of care
        elif s.after == "stop":
            change = ld.first_day if ld else 0.0  # all immunosuppression stops with Flu/Cy
        else:
            change = 0.0
        background = float(patient.background_prednisone_mg_day)
        doses: list[Dose] = []
        if background > 0:
            doses.append(Dose(GC_STATE, background * (change + run_in), -run_in,
                              duration=change + run_in))
        if treated and s.after == "keep_then_taper":
            doses += steroid_taper(0.0, s.maintenance_mg_per_kg_per_day,
                                   float(patient.weight_kg), s.taper_weeks,
                                   hold_weeks=s.hold_weeks,
                                   max_mg_per_day=scenario.standard_of_care
                                   .max_prednisone_mg_per_day, step_days=7.0)
        doses += flare_trigger_doses(scenario.trial.seed, int(patient.candidate), -run_in,
                                     follow_up + 1.0)
        product = arm_product(arm)
        if infused and product is not None:  # the catalogue's dose records replace the runner's
            treatment = [d for d in treatment if d.state == "LD"] + product.doses_for(
                PRODUCT_STATE[product.kind], float(patient.weight_kg), 0.0,
                blood_ml_per_kg=blood_volume_ml_per_kg(float(patient.age_years)))
            if product.kind == "car_nk" and expansion_events(
                    product, scenario.trial.seed, [int(patient.candidate)],
                    lymphodepleted=bool(arm.lymphodepletion))[0]:
                treatment.append(Dose(EXPANSION_STATE, 1.0, 0.0))  # in-vivo expansion event
        return doses + list(treatment)

    def patient_endpoints(self, dataset, doses, patients, rngs, scenario) -> pd.DataFrame:
        """Toxicity, B-cell return, remission, steroids, flares and SLEDAI per patient."""
        times = dataset["time"].values
        prednisone = prednisone_mg_per_day(doses, times)
        # baselines: each patient's own cytokine levels at the start of the run-in
        tox = toxicity_table(dataset, rngs=rngs, t_from=0.0, baseline_time=times[0])
        b = dataset["B"].values
        score = np.asarray(sledai(dataset))
        flare = any_flare(dataset, VISITS)
        if times[-1] >= MONTH_12 - 1e-9:
            doris_12 = doris_remission(dataset, prednisone, MONTH_12)
            lldas_12 = lldas(dataset, prednisone, MONTH_12)
            either_12 = lldas_12 | doris_12
            flare_12 = any_flare(dataset, VISITS_12M)
        else:  # follow-up shorter than a year: the 12-month endpoints are missing
            doris_12 = lldas_12 = either_12 = flare_12 = np.full(len(patients), np.nan)
        crs = tox["crs_grade"].to_numpy()
        icans = tox["icans_grade"].to_numpy()
        return pd.DataFrame({
            "crs_grade": crs,
            "icans_grade": icans,
            "crs_any": crs.astype(float) >= 1,
            "crs_grade3plus": crs.astype(float) >= 3,
            "icans_any": icans.astype(float) >= 1,
            "peak_il6_pg_ml": tox["peak_il6"].to_numpy(),
            "peak_car_cells_ul": tox["peak_car"].to_numpy(),
            "carnk_expanded": np.asarray(dataset[EXPANSION_STATE].values[:, -1]) > 0.5,
            "b_depleted": b_cell_depleted(b, times, 0.0),
            "b_cell_return_day": b_cell_recovery_day(b, times, 0.0),
            "sledai_day0": pd.array(score[:, np.searchsorted(times, 0.0)], dtype="Int64"),
            "sledai_6m": pd.array(score[:, np.searchsorted(times, MONTH_6)], dtype="Int64"),
            "doris_3m": doris_remission(dataset, prednisone, MONTH_3),
            "doris_6m": doris_remission(dataset, prednisone, MONTH_6),
            "sri4_6m": sri4_response(dataset, MONTH_6),
            "flare_6m": flare,
            "steroid_free_6m": steroid_free_at(prednisone, times, MONTH_6) & ~flare,
            "doris_12m": doris_12,
            "lldas_12m": lldas_12,
            "lldas_or_doris_12m": either_12,
            "flare_12m": flare_12,
        })

    def arm_counts(self, patients, analysed) -> dict[str, Any]:
        depleted = patients["b_depleted"].to_numpy(bool, na_value=False) & analysed
        return {"n_b_depleted": int(depleted.sum())}


#: The lupus model's state dosed by each catalogue product kind.
PRODUCT_STATE = {"car_t": "CART", "car_nk": "CARNK"}
#: State set to 1 (dose record at the first infusion) when a patient's CAR-NK expand in vivo:
#: the catalogue's per-patient event (nksim.therapy.expansion_events, own random stream).
EXPANSION_STATE = "CARNKX"


def _switch(arm, name: str) -> bool:
    """A 0/1 product switch of ``[arms.parameters]`` (e.g. ``carnk_dual``) is on."""
    value = arm.parameters.get(name, 0.0)
    try:
        return float(str(value).split()[0]) > 0.5
    except ValueError:
        return False


def arm_product(arm) -> NKProduct | None:
    """The arm's product from the shared catalogue (issue 9 §6), or ``None``.

    ``car_t``: :func:`nksim.therapy.car_t` (autologous CD19 CAR-T, allogeneic when the arm
    sets ``cart_allo = 1``); ``car_nk``:
    :func:`nksim.therapy.car_nk` against CD19, with BCMA as second antigen when the arm sets
    ``carnk_dual = 1`` and IL-15 armour when it sets ``carnk_il15 = 1``. Dose, infusions and
    interval come from the arm; purity and viability are 1 because trial doses are stated
    as viable CAR+ cells (ASSUMPTION; the catalogue's 0.9 x 0.9 applies to products dosed
    in total cells).
    """
    if arm.product == "none":
        return None
    if arm.product == "car_t":
        base = car_t("CD19", allogeneic=_switch(arm, "cart_allo"))
    else:
        base = car_nk("CD19", second_antigen="BCMA" if _switch(arm, "carnk_dual") else None,
                      il15_armoured=_switch(arm, "carnk_il15"))
    if arm.dose is not None:
        dose = {"flat_dose": float(arm.dose), "dose_per_kg": None}
    else:
        dose = {"flat_dose": None, "dose_per_kg": float(arm.dose_per_kg)}
    if not next(v for v in dose.values() if v is not None) > 0:
        return None  # a zero dose infuses nothing
    return dataclasses.replace(base, infusions=arm.infusions, interval_days=arm.interval_days,
                               purity=1.0, viability=1.0, **dose)


def _background_prednisone(scenario, patients: pd.DataFrame) -> np.ndarray:
    """Standard-of-care prednisone before treatment, mg/day, per patient."""
    soc = scenario.standard_of_care
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.minimum(soc.prednisone_mg_per_kg_per_day
                          * patients["weight_kg"].to_numpy(float),
                          soc.max_prednisone_mg_per_day)


SETTING = register_setting(SleSetting)
