"""Relapsed/refractory B-cell lymphoma as a trial setting (``[trial] setting = "lymphoma"``).

Research use only. Plugs :func:`nksim.disease._lymphoma.lymphoma_model` into the trial
runner (``docs/cancer.md``):

- candidates (``[cohort]``): r/r large B-cell lymphoma after anti-CD20 failure: age, sex,
  weight, height, BSA, FCGR3A V158F genotype (Koene 1997 frequencies, own stream), baseline
  tumour volume (log-normal around Kimmel 2021's ZUMA-1 median 94.86 mL), 1-6 target
  lesions, CD20- and CD19-negative shares, host NK and T cells;
- eligibility (``[eligibility]``): adult, measurable disease (a lesion LDi > 1.5 cm);
- arm regimen (``[arms.regimen]``): the NK product variant (shared definitions of
  :mod:`nksim.therapy._nk_products`), cytokine support, anti-CD20 antibody, bendamustine;
- endpoints (day 0 = first infusion; all allocated): Lugano 2014 best overall response
  (``orr_rate``, ``cr_rate``), PFS and OS in months (Kaplan-Meier, censored at the end of
  follow-up), CRS (among infused); each also by FCGR3A genotype (subgroups).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from nksim._spec import Table
from nksim.disease._lymphoma import (
    LYMPHOMA_ASSUMPTION,
    ProductSpec,
    genotype_affinity,
    lymphoma_model,
)
from nksim.disease._lymphoma_response import (
    LUGANO2014,
    best_overall_response,
    first_progression,
    lesion_diameters,
    lugano_ct,
)
from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation
from nksim.population import body_surface_area, patient_rng
from nksim.therapy._antibodies import draw_fcgr3a, rituximab_doses
from nksim.therapy._nk_products import (
    KINDS,
    NKProduct,
    allogeneic_nk,
    car_nk,
    expansion_events,
    hncd16_nk,
)
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
#: Response assessments (days after the first infusion; assumption: every 4 weeks to
#: month 4, every 8 weeks to month 9, then every 3 months).
VISITS = (28.0, 56.0, 84.0, 112.0, 168.0, 224.0, 280.0, 365.0, 455.0, 545.0, 635.0, 730.0,
          820.0, 910.0, 1000.0, 1095.0)
#: Burden at which a virtual patient dies of lymphoma (cells; calibrated to Marin 2024's
#: 1-year OS, see docs/calibration.md; range 5e11-5e12).
LETHAL_BURDEN_CELLS = 1.5e12
#: CRS surrogate: peak killing by infused products (blood-equivalent cell/uL/day) that
#: gives grade >= 1 CRS for a median patient (assumption bounded by 0/48 CRS with
#: cord-blood CAR-NK, Liu 2020 + Marin 2024, and 1/55 grade 1 with FT516), log-normal
#: individual threshold, sigma 0.5.
CRS_KILL_THRESHOLD = 5000.0
CRS_SIGMA = 0.5
#: Bendamustine 90 mg/m2 = 1 LD unit per day (assumption: FT516 used it as the alternative
#: to Flu 30/Cy 500 on two days instead of three; range 0.5-1.5).
BENDAMUSTINE_REFERENCE_MG_M2 = 90.0
BLOOD_ML_PER_KG = 70.0

COHORT_SOURCES = Citation(
    "nksim lymphoma cohort",
    "r/r LBCL candidates: female share 26 % (FT596, Ghobadi 2025, V-src); median MTV "
    "94.86 mL (Kimmel 2021 / ZUMA-1, V-src); spreads, antigen-negative shares, lesion counts, "
    "age, height and weight distributions are assumptions (docs/cancer.md).",
    verified="assumption",
)
_STREAM_COHORT = 4201
_STREAM_RESPONSE = 4202


# ---------------------------------------------------------------- scenario tables
class CohortTable(Table):
    """``[cohort]`` of the lymphoma setting (all assumptions, docs/cancer.md)."""

    n_candidates: Annotated[int, Field(ge=1, le=100_000)] = 200
    age_mean_years: Annotated[float, Field(ge=18, le=100)] = 62.0
    female_share: Annotated[float, Field(ge=0, le=1)] = 0.26
    mtv_median_ml: Annotated[float, Field(gt=0, le=5000)] = 94.86
    mtv_sigma: Annotated[float, Field(ge=0, le=3)] = 1.0
    cd20_negative_share_median: Annotated[float, Field(ge=0, lt=1)] = 0.02
    cd19_negative_share_median: Annotated[float, Field(ge=0, lt=1)] = 0.002
    nk_median_per_ul: Annotated[float, Field(gt=0, le=5000)] = 217.0
    t_cells_median_per_ul: Annotated[float, Field(gt=0, le=10000)] = 800.0


class EligibilityTable(Table):
    """``[eligibility]``: ``"off"`` drops a rule."""

    min_age_years: Literal["off"] | Annotated[float, Field(ge=0)] = 18.0
    min_largest_ldi_cm: Literal["off"] | Annotated[float, Field(ge=0)] = 1.5


class RegimenTable(Table):
    """``[arms.regimen]`` of the lymphoma setting."""

    nk_product: Literal["hncd16_nk", "car_nk", "ipsc_nk", "cord_blood_nk",
                        "allogeneic_pb_nk"] | None = None
    car_antigen: Literal["CD19", "CD20"] | None = None
    il15_armoured: bool = False
    support: Literal["none", "il2", "il15"] = "none"
    antibody: Literal["rituximab", "none"] = "none"
    antibody_mg_m2: Annotated[float, Field(ge=0, le=2000)] = 375.0
    antibody_days: list[float] = [-5.0]
    bendamustine_mg_m2: Annotated[float, Field(ge=0, le=200)] = 0.0
    bendamustine_days: list[float] = [-5.0, -4.0]


def _tables(scenario) -> tuple[CohortTable, EligibilityTable, list[RegimenTable]]:
    """The setting's tables (validated by the scenario loader, :attr:`tables`) with the
    checks across them (:meth:`check`)."""
    cohort = CohortTable.model_validate(dict(scenario.cohort))
    elig = EligibilityTable.model_validate(dict(scenario.eligibility))
    regimens = []
    for i, arm in enumerate(scenario.arms):
        reg = RegimenTable.model_validate(dict(arm.regimen))
        where = f"arms[{i}].regimen"
        if arm.product == "car_t":
            raise UserError("the lymphoma setting models NK products: use product = "
                            "'car_nk' with regimen.nk_product (got 'car_t')",
                            field=f"arms[{i}].product")
        if arm.product != "none" and reg.nk_product is None:
            raise UserError(f"name the NK product ({', '.join(k for k in KINDS if 'nk' in k)})",
                            field=f"{where}.nk_product")
        if arm.product == "none" and reg.nk_product is not None:
            raise UserError("an arm without a product infuses no NK cells (set product = "
                            "'car_nk')", field=f"{where}.nk_product")
        if reg.nk_product == "car_nk" and reg.car_antigen is None:
            raise UserError("a CAR-NK product needs its antigen ('CD19' or 'CD20')",
                            field=f"{where}.car_antigen")
        if reg.nk_product not in (None, "car_nk") and reg.car_antigen is not None:
            raise UserError(f"only 'car_nk' carries a CAR (got {reg.nk_product!r})",
                            field=f"{where}.car_antigen")
        for name in ("antibody_days", "bendamustine_days"):
            days = getattr(reg, name)
            if not days or any(not math.isfinite(d) or abs(d) > 3650 for d in days):
                raise UserError(f"give 1 or more finite days within 10 years (got {days})",
                                field=f"{where}.{name}")
            check_not_before_run_in(min(days), scenario.trial.run_in_days, f"{where}.{name}")
            if max(days) > scenario.trial.follow_up_days:
                raise UserError(f"must not be after the end of follow-up (day "
                                f"{scenario.trial.follow_up_days:g}) (got {max(days):g})",
                                field=f"{where}.{name}")
        regimens.append(reg)
    return cohort, elig, regimens


def _nk_product(arm, reg: RegimenTable) -> NKProduct:
    """The shared product definition for an arm (dose from the arm)."""
    kind = reg.nk_product
    if kind == "hncd16_nk":
        p = hncd16_nk(reg.antibody if reg.antibody != "none" else "none given")
    elif kind == "car_nk":
        p = car_nk(reg.car_antigen or "CD19", il15_armoured=reg.il15_armoured)
    else:
        src = {"ipsc_nk": "ipsc", "cord_blood_nk": "cord_blood",
               "allogeneic_pb_nk": "peripheral_blood"}[kind]
        p = allogeneic_nk(src)
    import dataclasses

    dose = {"flat_dose": arm.dose, "dose_per_kg": None} if arm.dose is not None else \
        {"flat_dose": None, "dose_per_kg": arm.dose_per_kg}
    return dataclasses.replace(p, infusions=arm.infusions,
                               interval_days=arm.interval_days, **dose)


def product_specs(scenario) -> dict[str, ProductSpec | None]:
    """Arm name -> its modelled product (``None`` without a product); arms with the same
    product, support and antibody share one state."""
    _, _, regimens = _tables(scenario)
    out: dict[str, ProductSpec | None] = {}
    seen: dict[tuple, str] = {}
    for arm, reg in zip(scenario.arms, regimens, strict=True):
        if arm.product == "none":
            out[arm.name] = None
            continue
        key = (reg.nk_product, reg.car_antigen, reg.il15_armoured, reg.support,
               reg.antibody != "none")
        prefix = seen.setdefault(key, f"NKP{len(seen) + 1}")
        out[arm.name] = ProductSpec(prefix, _nk_product(arm, reg), reg.support,
                                    reg.antibody != "none")
    return out


# ---------------------------------------------------------------- panels
def _total(ds) -> np.ndarray:
    return np.asarray(ds["tumour_ml"].values, float)


def _products(ds) -> np.ndarray:
    names = [n for n in ds.data_vars if str(n).startswith("NKP")]
    return sum((np.asarray(ds[n].values, float) for n in names),
               np.zeros_like(np.asarray(ds["NKH"].values, float)))


#: Figures set beside the estimates of arms with these names (never calibrated to, except
#: Marin 2024, a calibration target: docs/calibration.md).
PUBLISHED = (
    {"arm": "ft516_rituximab", "endpoint": "orr_rate", "value": 0.58,
     "label": "article: 58 % [UNVERIFIED]"},
    {"arm": "ft516_rituximab", "endpoint": "cr_rate", "value": 0.44,
     "label": "article: 44 % [UNVERIFIED]"},
    {"arm": "ft516_rituximab", "endpoint": "cr_rate", "value": 0.56,
     "label": "FT516 early report 2021: CR 56 %, n = 11 [V-src]"},
    {"arm": "cd19_carnk", "endpoint": "orr_rate", "value": 8 / 11,
     "label": "Liu 2020: 8/11 [V-src, check]"},
    {"arm": "cd19_carnk", "endpoint": "orr_rate", "value": 0.486,
     "label": "Marin 2024: 48.6 % at days 30 and 100 [V-src, calibration target]"},
    {"arm": "cd19_carnk", "endpoint": "orr_day28_rate", "value": 0.486,
     "label": "Marin 2024: day-30 ORR 48.6 % [V-src, calibration target]"},
    {"arm": "cd19_carnk", "endpoint": "cr_rate", "value": 7 / 11,
     "label": "Liu 2020: 7/11 CR [V-src]"},
)

_CACHE: dict[tuple, Any] = {}


class LymphomaSetting(DiseaseSetting):
    """Relapsed/refractory B-cell lymphoma after anti-CD20 failure (``docs/cancer.md``)."""

    name = "lymphoma"
    min_follow_up_days = VISITS[0]  # the first response assessment (best response, day 28)
    tables = {"cohort": CohortTable, "eligibility": EligibilityTable, "regimen": RegimenTable}

    def check(self, scenario) -> None:
        _tables(scenario)  # the checks across tables, at load time

    endpoints = (
        Endpoint("orr_rate", "responder", "binary", (),
                 "overall response (Lugano 2014 CR or PR, best)"),
        Endpoint("cr_rate", "complete_response", "binary", (),
                 "complete response (Lugano 2014, best)"),
        Endpoint("orr_day28_rate", "responder_first_visit", "binary", (),
                 f"overall response at the first assessment, day {VISITS[0]:.0f} "
                 "(Lugano 2014 CR or PR)"),
        Endpoint("pfs_median_months", "pfs_months", "time_to_event", (),
                 "progression-free survival, median (months)", days_per_unit=DAYS_PER_MONTH),
        Endpoint("os_median_months", "os_months", "time_to_event", (),
                 "overall survival, median (months)", days_per_unit=DAYS_PER_MONTH),
        Endpoint("crs_any_rate", "crs_any", "binary", ("infused",),
                 "CRS, any grade (infused)"),
    )
    subgroups = {"fcgr3a": ("VV", "VF", "FF")}
    report_panels = (
        Panel("tumour_ml", "lymphoma volume", "mL", _total, detection_limit=0.01),
        Panel("cd20_negative_share", "CD20-negative share of the lymphoma", "fraction",
              lambda ds: np.asarray(ds["cd20_negative_share"].values, float), log=False),
        Panel("RTXC", "serum rituximab", "mg/L",
              lambda ds: np.asarray(ds["rtx_conc"].values, float), log=False),
        Panel("NKH", "host NK cells", "cell/uL", lambda ds: np.asarray(ds["NKH"].values,
                                                                     float),
              detection_limit=1.0),
        Panel("products", "infused NK cells (blood-equivalent)", "cell/uL", _products,
              log=False),
    )
    #: The oncology report (report/_oncology.py): columns and published anchors.
    oncology = {
        "response": "best_response", "best_change": "best_spd_change_pct",
        "spider": "spd_change_pct_at_visits", "visits": VISITS,
        "survival": {"PFS": "pfs_months", "OS": "os_months"},
        "months_per_day": 1.0 / DAYS_PER_MONTH,
        "published": PUBLISHED,
    }

    # ------------------------------------------------------------ model
    def model(self, scenario):
        specs = product_specs(scenario)
        unique = tuple(sorted({s.prefix: s for s in specs.values() if s}.values(),
                              key=lambda s: s.prefix))
        key = tuple((s.prefix, s.product.kind, s.product.car_antigen,
                     s.product.il15_armoured, s.support, s.with_antibody) for s in unique)
        if key not in _CACHE:
            _CACHE[key] = lymphoma_model(unique)
        try:
            return _CACHE[key].with_values(scenario.parameters)
        except UserError as exc:
            raise UserError(exc.message, field="parameters") from None

    # ------------------------------------------------------------ candidates
    def candidates(self, scenario) -> pd.DataFrame:
        cohort, _, _ = _tables(scenario)
        seed = scenario.trial.seed
        ids = np.arange(cohort.n_candidates)
        rows = []
        for i in ids:
            g = patient_rng(seed, int(i), _STREAM_COHORT)
            z = g.standard_normal(8)
            female = g.random() < cohort.female_share
            n_les = int(g.integers(1, 7))
            shares = g.dirichlet(np.ones(n_les))
            rows.append({
                "candidate": int(i),
                "age_years": float(np.clip(cohort.age_mean_years + 12.0 * z[0], 18, 90)),
                "sex": "F" if female else "M",
                "weight_kg": float(np.clip((68.0 if female else 80.0) * math.exp(0.18 * z[1]),
                                           40, 160)),
                "height_cm": float(np.clip((162.0 if female else 175.0) + 7.0 * z[2],
                                           140, 205)),
                "mtv_ml": float(cohort.mtv_median_ml * math.exp(cohort.mtv_sigma * z[3])),
                "cd20_negative_share": float(min(0.9, cohort.cd20_negative_share_median
                                                 * math.exp(1.0 * z[4]))),
                "cd19_negative_share": float(min(0.5, cohort.cd19_negative_share_median
                                                 * math.exp(1.0 * z[5]))),
                "nk_per_ul": float(cohort.nk_median_per_ul * math.exp(0.5 * z[6])),
                "t_cells_per_ul": float(cohort.t_cells_median_per_ul * math.exp(0.5 * z[7])),
                "n_lesions": n_les,
                "lesion_shares": ";".join(f"{s:.6g}" for s in shares),
            })
        frame = pd.DataFrame(rows)
        frame["bsa_m2"] = body_surface_area(frame["weight_kg"], frame["height_cm"])
        frame["fcgr3a"] = draw_fcgr3a(seed, ids)
        frame["blood_ul"] = frame["weight_kg"] * BLOOD_ML_PER_KG * 1000.0
        frame["largest_ldi_cm"] = [
            float(lesion_diameters(np.array([m * 1e9]), _shares(s)).max())
            for m, s in zip(frame["mtv_ml"], frame["lesion_shares"], strict=True)]
        return frame

    def criteria(self, scenario):
        _, elig, _ = _tables(scenario)
        rules = []
        if elig.min_age_years != "off":
            rules.append(Criterion("min_age_years", "age_years", ">=",
                                   float(elig.min_age_years), "age", "years",
                                   "adult", LYMPHOMA_ASSUMPTION))
        if elig.min_largest_ldi_cm != "off":
            rules.append(Criterion("min_largest_ldi_cm", "largest_ldi_cm", ">",
                                   float(elig.min_largest_ldi_cm), "largest lesion", "cm",
                                   "measurable disease (Lugano: a node LDi > 1.5 cm)",
                                   LUGANO2014, decimals=1))
        return rules

    # ------------------------------------------------------------ parameters, baseline
    def covariate_parameters(self, model, patients, parameters):
        out = np.array(parameters, float, copy=True)
        names = list(model.parameter_names)
        out[:, names.index("lym_blood_ul")] = patients["blood_ul"].to_numpy(float)
        out[:, names.index("nkh0")] = patients["nk_per_ul"].to_numpy(float)
        out[:, names.index("th_normal")] = patients["t_cells_per_ul"].to_numpy(float)
        out[:, names.index("hadcc_affinity")] = [genotype_affinity(g)
                                                 for g in patients["fcgr3a"]]
        return out

    def baseline(self, model, patients, parameters, scenario):
        params = np.array(parameters, float, copy=True)
        names = list(model.parameter_names)
        ids = patients["candidate"].to_numpy(int)
        specs = product_specs(scenario)
        for arm, reg in zip(scenario.arms, _tables(scenario)[2], strict=True):
            spec = specs[arm.name]
            if spec is None:
                continue
            ld = bool(arm.lymphodepletion) or reg.bendamustine_mg_m2 > 0
            events = expansion_events(spec.product, scenario.trial.seed, ids,
                                      support="il15" if spec.product.il15_armoured
                                      else spec.support, lymphodepleted=ld)
            params[:, names.index(f"{spec.prefix}_expand")] = events.astype(float)
        init = np.tile(model.initial_vector(), (len(patients), 1))
        s = list(model.state_names)
        burden = (patients["mtv_ml"].to_numpy(float) * 1e9
                  / patients["blood_ul"].to_numpy(float))
        f20 = patients["cd20_negative_share"].to_numpy(float)
        f19 = patients["cd19_negative_share"].to_numpy(float)
        f19 = np.minimum(f19, 1.0 - f20)
        init[:, s.index("L")] = burden * (1.0 - f20 - f19)
        init[:, s.index("L20N")] = burden * f20
        init[:, s.index("L19N")] = burden * f19
        init[:, s.index("NKH")] = params[:, names.index("nkh0")]
        init[:, s.index("TH")] = params[:, names.index("th_normal")]
        return Baseline(patients, params, init)

    # ------------------------------------------------------------ doses
    def doses(self, arm, patient, treatment, scenario):
        i = [a.name for a in scenario.arms].index(arm.name)
        reg = _tables(scenario)[2][i]
        spec = product_specs(scenario)[arm.name]
        out = [d for d in treatment if d.state == "LD"]
        infused = bool(patient.infused)
        if spec is not None and infused:
            out += spec.product.doses_for(spec.prefix, float(patient.weight_kg), 0.0,
                                          blood_ml_per_kg=BLOOD_ML_PER_KG)
        # (an arm without a product gets its bendamustine too: e.g. a rituximab-
        # bendamustine control; a patient whose product failed gets neither)
        if reg.bendamustine_mg_m2 > 0 and (spec is None or infused):
            out += [Dose("LD", reg.bendamustine_mg_m2 / BENDAMUSTINE_REFERENCE_MG_M2,
                         float(d)) for d in reg.bendamustine_days]
        if reg.antibody == "rituximab" and (spec is None or infused):
            out += rituximab_doses(reg.antibody_mg_m2, float(patient.bsa_m2),
                                   reg.antibody_days)
        return out

    # ------------------------------------------------------------ endpoints
    def patient_endpoints(self, dataset, doses, patients, rngs, scenario):
        # Lugano's baseline scan comes before any treatment (lymphodepletion, antibody):
        # the last record before each patient's first dose
        first = [min((d.time for d in ds), default=0.0) for ds in doses]
        return lymphoma_endpoints(dataset, patients, rngs, scenario.trial.follow_up_days,
                                  baseline_day=np.minimum(first, 0.0))


def _shares(text: str) -> np.ndarray:
    return np.array([float(x) for x in str(text).split(";")], float)


def lymphoma_endpoints(dataset, patients: pd.DataFrame, rngs, follow_up: float, *,
                       baseline_day=None) -> pd.DataFrame:
    """Per patient: Lugano response at the visits, best response, PFS/OS (months; NaN =
    no event within follow-up), CRS (surrogate). Day 0 = first infusion; the baseline
    burden is the last record at or before ``baseline_day`` (per patient; default day 0),
    the day of the first treatment."""
    t = dataset["time"].values
    ml = np.asarray(dataset["tumour_ml"].values, float)
    kill = (np.asarray(dataset["product_kill"].values, float)
            if "product_kill" in dataset else np.zeros_like(ml))
    visits = np.array([v for v in VISITS if v <= follow_up + 1e-9])
    vi = np.clip(np.searchsorted(t, visits), 0, t.size - 1)
    base = np.zeros(len(patients)) if baseline_day is None else np.asarray(baseline_day,
                                                                          float)
    i0s = np.clip(np.searchsorted(t, base, side="right") - 1, 0, t.size - 1)
    factors = threshold_factors(list(rngs), CRS_SIGMA, len(patients)) if len(patients) \
        else np.zeros(0)
    rows = []
    for p in range(len(patients)):
        cells = ml[p] * 1e9
        lethal = np.flatnonzero((t >= 0) & (cells >= LETHAL_BURDEN_CELLS))
        death = float(t[lethal[0]]) if lethal.size else math.nan
        alive = visits if math.isnan(death) else visits[visits < death]
        shares = _shares(patients["lesion_shares"].iloc[p])
        burden = np.concatenate([[cells[i0s[p]]], cells[vi[:alive.size]]])
        ldi = lesion_diameters(np.nan_to_num(burden), shares)
        resp = lugano_ct(ldi) if alive.size else []
        best = best_overall_response(resp) if resp else ("PD" if not math.isnan(death)
                                                          else "NE")
        pd_day = first_progression(resp, alive) if resp else math.nan
        pfs = np.nanmin([pd_day, death]) if not (math.isnan(pd_day) and math.isnan(death)) \
            else math.nan
        spd = (ldi ** 2).sum(axis=1)
        change = 100.0 * (spd / spd[0] - 1.0) if spd[0] > 0 else np.zeros_like(spd)
        before = change[1:] if pd_day != pd_day else change[1:1 + resp.index("PD") + 1]
        peak_kill = float(np.nanmax(kill[p][t >= 0])) if kill.size else 0.0
        rows.append({
            "best_response": best,
            "responder": best in ("CR", "PR"),
            "responder_first_visit": bool(resp) and resp[0] in ("CR", "PR"),
            "complete_response": best == "CR",
            "progression_day": pd_day,
            "death_day": death,
            "pfs_months": pfs / DAYS_PER_MONTH,
            "os_months": death / DAYS_PER_MONTH,
            "best_spd_change_pct": float(np.min(before)) if before.size else math.nan,
            "spd_change_pct_at_visits": ";".join(f"{c:.4g}" for c in change[1:]),
            "crs_any": bool(peak_kill >= CRS_KILL_THRESHOLD * factors[p]),
            "peak_product_kill": peak_kill,
        })
    return pd.DataFrame(rows)


register_setting(LymphomaSetting)
