"""Words for the identifiers that reports show: endpoints, covariates, eligibility rules,
comparison measures, products. A report never prints a raw identifier such as
``min_sledai``; an identifier missing here is turned into words by :func:`label` and
the tests check that every identifier of the bundled trials has its own entry."""

from __future__ import annotations

ENDPOINTS = {
    "crs_any_rate": "Cytokine release syndrome, any grade (infused patients)",
    "crs_grade3plus_rate": "Cytokine release syndrome, grade 3 or higher (infused patients)",
    "icans_any_rate": "Neurotoxicity (ICANS), any grade (infused patients)",
    "b_cell_return_day_median": "Days until B cells return, median (B-cell-depleted patients)",
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
}

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
    "car_t": "CD19 CAR-T cells (autologous)",
    "car_nk": "CD19 CAR-NK cells (allogeneic)",
    "none": "no cell product (standard of care)",
}

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
