"""Words for the identifiers that reports show: endpoints, covariates, eligibility rules,
comparison measures, products. A report never prints a raw identifier such as
``min_sledai``; an identifier missing here is turned into words by :func:`label` and
the tests check that every identifier of the bundled trials has its own entry."""

from __future__ import annotations

from nksim.disease._sle_activity import B_CELL_MIN_DEPLETION_DAYS, B_CELL_RETURN_THRESHOLD

ENDPOINTS = {
    "crs_any_rate": "Cytokine release syndrome, any grade (infused patients)",
    "crs_grade3plus_rate": "Cytokine release syndrome, grade 3 or higher (infused patients)",
    "icans_any_rate": "Neurotoxicity (ICANS), any grade (infused patients)",
    "b_cell_return_day_median": (
        f"Days until B cells return to ≥ {B_CELL_RETURN_THRESHOLD:g} cells/µL after at least "
        f"{B_CELL_MIN_DEPLETION_DAYS:g} days below, median (B-cell-depleted patients)"),
    "doris_remission_3m_rate": "DORIS remission at 3 months",
    "doris_remission_6m_rate": "DORIS remission at 6 months",
    "sri4_6m_rate": "SRI-4 response at 6 months",
    "steroid_free_6m_rate": "Off glucocorticoids at 6 months without flare",
    "flare_6m_rate": "Flare by 6 months",
    "doris_remission_12m_rate": "DORIS remission at 12 months",
    "lldas_12m_rate": "Lupus low disease activity state (LLDAS) at 12 months",
    "lldas_or_doris_12m_rate": "LLDAS or DORIS remission at 12 months",
    "flare_12m_rate": "Flare by 12 months",
    "manufacturing_failure_rate": "Product could not be manufactured",
    "cost_per_patient_median": "Cost per treated patient, median (RMB)",
    "cost_per_remission": "Cost per DORIS remission at 6 months (RMB)",
}

COVARIATES = {
    "age_years": ("Age", "years"),
    "sex": ("Female", None),
    "weight_kg": ("Body weight", "kg"),
    "height_cm": ("Height", "cm"),
    "bsa_m2": ("Body-surface area", "m²"),
    "disease_duration_months": ("Disease duration", "months"),
    "age_at_diagnosis_years": ("Age at diagnosis", "years"),
    "failed_regimens": ("Failed treatment regimens", "number"),
    "sledai": ("SLEDAI-2K at screening", "points"),
    "alc_per_ul": ("Absolute lymphocyte count", "cells/µL"),
    "background_prednisone_mg_day": ("Prednisone before treatment", "mg/day"),
    # oncology settings (lymphoma, pancreatic cancer)
    "mtv_ml": ("Metabolic tumour volume", "mL"),
    "cd20_negative_share": ("CD20-negative share of the lymphoma", "fraction"),
    "cd19_negative_share": ("CD19-negative share of the lymphoma", "fraction"),
    "nk_per_ul": ("NK cells in blood", "cells/µL"),
    "t_cells_per_ul": ("T cells in blood", "cells/µL"),
    "n_lesions": ("Number of lesions", "number"),
    "lesion_shares": ("Largest lesion's share of the tumour volume", "fraction"),
    "fcgr3a": ("FCGR3A-158 genotype (V = high-affinity allele)", None),
    "blood_ul": ("Blood volume", "L"),
    "largest_ldi_cm": ("Longest diameter of the largest lesion", "cm"),
    "largest_target_mm": ("Longest diameter of the largest target lesion", "mm"),
    "clcr_ml_min": ("Creatinine clearance", "mL/min"),
    "growth_per_day": ("Tumour growth rate", "per day"),
}

#: Covariates stored in another unit than the one shown: the factor to the shown unit.
COVARIATE_SCALE = {"blood_ul": 1e-6}  # µL -> L
#: List-valued covariates (``;``-separated numbers per patient): how Table 1 sums each
#: patient's list up (``"max"``: the largest value).
COVARIATE_LISTS = {"lesion_shares": "max"}

CRITERIA = {
    "min_age_years": "younger than the minimum age",
    "max_age_years": "older than the maximum age",
    "min_disease_duration_months": "diagnosed too recently",
    "min_failed_regimens": "too few failed treatment regimens",
    "min_sledai": "disease activity (SLEDAI-2K) too low",
    "max_sledai": "disease activity (SLEDAI-2K) too high",
    "min_alc_per_ul": "lymphocyte count too low",
    "min_weight_kg": "body weight too low",
    "max_weight_kg": "body weight too high",
    "model_baseline": "baseline not reproducible by the model",
}

MEASURES = {
    "risk_difference": "difference in proportions (percentage points)",
    "paired_risk_difference": "paired difference in proportions (percentage points)",
    "risk_ratio": "risk ratio",
    "hazard_ratio": "hazard ratio",
    "median_difference": "difference in medians",
    "difference": "difference",
    "odds_ratio": "odds ratio",
    "relative_difference_pct": "relative difference (%: A over B, minus 1)",
}
PERCENT_MEASURES = ("risk_difference", "paired_risk_difference")

PRODUCTS = {
    "car_t": "CAR-T cells",
    "car_nk": "cell product (CAR-NK or other NK cells, as the setting defines)",
    "none": "no cell product",  # its lymphodepletion and steroids are their own rows
}

#: What a product of each catalogue kind (``nksim.therapy._nk_products.KINDS``) is, for a
#: product without a CAR; CAR products are named from their antigens
#: (:func:`nksim.report._regimen.product_words`).
PRODUCT_KINDS = {
    "hncd16_nk": "iPSC-derived NK cells with a high-affinity non-cleavable CD16 (hnCD16), "
                 "no CAR",
    "ipsc_nk": "iPSC-derived NK cells, no CAR",
    "cord_blood_nk": "cord-blood NK cells, no CAR",
    "allogeneic_pb_nk": "donor peripheral-blood NK cells, no CAR",
    "nk92": "NK-92 cells (irradiated), no CAR",
    "autologous_nk": "the patient's own expanded NK cells, no CAR",
    "memory_like_nk": "cytokine-induced memory-like NK cells, no CAR",
}

#: Cytokine support given with an NK product (``[arms.regimen] support``).
SUPPORT = {"none": None, "il2": "IL-2 cytokine support", "il15": "IL-15 cytokine support"}

DESIGNS = {
    "randomised": "randomised, parallel arms (each virtual patient receives one arm)",
    "single_arm": "single arm",
    "paired": "paired in-silico design (every virtual patient receives every arm)",
}

STATUS = {
    "ok": "simulated",
    "failed": "solver failure",
    "implausible": "left the plausible range",
}


def label(key: str, table: dict[str, str] | None = None) -> str:
    """The words for ``key``: from ``table`` (or every table above), else ``key`` with
    underscores as spaces."""
    tables = [table] if table is not None else [ENDPOINTS, CRITERIA, MEASURES, PRODUCTS,
                                                 DESIGNS, STATUS]
    for t in tables:
        if key in t:
            return t[key]
    if key in COVARIATES:
        return COVARIATES[key][0]
    return key.replace("_", " ")
