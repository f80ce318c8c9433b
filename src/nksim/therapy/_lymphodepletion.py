"""Lymphodepletion (fludarabine/cyclophosphamide) and host T cells.

States (contract ``docs/design-sle.md``):

``LD`` (dimensionless)
    Lymphodepleting-drug exposure. One *LD unit* is the exposure given by one day of the
    reference regimen fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 (the regimen used
    with FT516 and with commercial CD19 CAR-T products, days -5 to -3). Other regimens
    scale linearly (:func:`ld_exposure_units`). Boluses decay at ``ld_k``.
``TH`` (cell/uL)
    Host T cells: they reject allogeneic donor cells and compete with CAR-T cells for
    homeostatic cytokines. Lymphodepletion kills them; they recover towards
    ``th_normal`` (thymic output and homeostatic proliferation lumped).

Equations::

    dLD/dt = -ld_k LD
    dTH/dt = th_recovery (th_normal - TH) - ld_kill_lymph LD TH
    dB/dt += -ld_kill_b LD B          (Flu/Cy also depletes the B lineage, partially)

The same ``ld_kill_lymph`` acts on infused CAR-T/CAR-NK cells while drug is left
(terms written by the product components): the reason for the wash-out before infusion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nksim.dosing import Dose
from nksim.model import Component, Parameter, State
from nksim.therapy._sources import (
    ASSUMPTION,
    BAIRD2021,
    FLU_PK,
    FT516,
    GAO2025,
    MACKENSEN_RECALIBRATION,
    Citation,
)

#: Reference regimen that defines one LD exposure unit per day (FT516, science.md §4).
REFERENCE_FLUDARABINE_MG_M2 = 30.0
REFERENCE_CYCLOPHOSPHAMIDE_MG_M2 = 500.0
#: Share of the lymphodepleting effect attributed to fludarabine (assumption, 0.3-0.7).
FLUDARABINE_SHARE = 0.5
#: Gao 2025 (CAR-NK in SLE; NCT06010472): fludarabine 25 + cyclophosphamide 300 mg/m2/d.
GAO2025_FLUDARABINE_MG_M2 = 25.0
GAO2025_CYCLOPHOSPHAMIDE_MG_M2 = 300.0

#: Published blood lymphocyte counts around lymphodepletion (issue 10 §1), 10^9 cells/L:
#: Gandler 2025 (ASH 2025 abstract 5506; V-src, abstract read at
#: https://ashpublications.com/blood/article/146/Supplement%201/5506/549796/): 45 adults with
#: NHL given axi-cel after fludarabine/cyclophosphamide (38 %) or bendamustine (62 %).
#: The ALC nadir is at or just before infusion: ALC then rises with CAR-T expansion, to a
#: peak a median 10 days (range 4-30) after infusion. Used by tests/test_sle_lymphodepletion.py.
GANDLER2025_ALC = {
    "n": 45,
    "alc_leukapheresis_median": 0.6, "alc_leukapheresis_range": (0.1, 2.5),
    "alc_infusion_median": 0.1, "alc_infusion_range": (0.0, 0.7),
    "alc_peak_day_median": 10.0, "alc_peak_day_range": (4.0, 30.0),
}
GANDLER2025 = Citation(
    "Gandler 2025",
    "Gandler H, ..., Stack A. Lymphocyte kinetics as a predictor of clinical outcomes after "
    "axicabtagene ciloleucel in non-Hodgkin lymphoma. Blood 2025;146(Suppl 1):5506 (ASH "
    "abstract; https://ashpublications.com/blood/article/146/Supplement%201/5506/549796/; "
    "news summary https://ascopost.com/news/december-2025/"
    "lymphocyte-kinetics-after-car-t-infusion-predict-survival-outcomes-in-non-hodgkin-lymphoma).",
    verified="V-src",
    note="Abstract read: n = 45; Flu/Cy lymphodepletion in 38 %, bendamustine in 62 %; median "
    "ALC 0.6e9/L (0.1-2.5) at leukapheresis and 0.1e9/L (0-0.7) at CAR-T infusion; peak ALC "
    "a median 10 days (4-30) after infusion, median 0.7e9/L. Heavily pretreated lymphoma "
    "patients (median age 63), not lupus; the Flu/Cy dose is not given in the abstract.",
)
KOCHENDERFER2017 = Citation(
    "Kochenderfer 2017",
    "Kochenderfer JN, Somerville RPT, Lu T, et al. Lymphoma remissions caused by anti-CD19 "
    "chimeric antigen receptor T cells are associated with high serum interleukin-15 levels. "
    "J Clin Oncol 2017;35:1803-1813 (https://pmc.ncbi.nlm.nih.gov/articles/PMC5455597).",
    verified="V-src",
    doi="10.1200/JCO.2016.71.3024",
    note="Abstract read: fludarabine 30 + cyclophosphamide 300 (18 patients) or 500 mg/m2/d "
    "(4) for 3 days, CAR-T 2 days later; the regimen 'depleted blood lymphocytes' and raised "
    "serum IL-15 (qualitative: no nadir number in the abstract).",
)
LD_NADIR_CHECK = Citation(
    "nksim Flu/Cy nadir check",
    "Kill rates per LD unit are nksim assumptions, checked (not fitted) against published "
    "lymphocyte nadirs: with the reference regimen the model's blood lymphocytes (host T "
    "cells + B lineage) fall to 0.10 of baseline on the day of infusion (0.14 before the "
    "B-lineage kill was set from Lacki 1997), nadir on day 0; "
    "published median ALC 0.1/0.6 = 0.17 of the leukapheresis value at infusion (Gandler "
    "2025 [V-src]); tests/test_sle_lymphodepletion.py.",
    verified="assumption",
    note="B cells are a small share of blood lymphocytes, so the ALC check constrains mostly "
    "ld_kill_lymph; the B-lineage kill ld_kill_b is set from Lacki 1997 (LD_B_CALIBRATION, docs/"
    "calibration.md §14.1).",
)

#: Cyclophosphamide in SLE depletes B cells more than T cells (issue 10 §1): Lacki 1997
#: (Rheumatol Int 17:55; abstract [V-src] read at
#: https://acnpsearch.tweb-dev.unibo.it/singlejournalindex/8890165): during IV pulse
#: cyclophosphamide in 17 lupus patients CD3+ T cells fell by 31.4 %, CD19+ B cells by 67.4 %,
#: NK cells by 27.4 %; all back to entry levels 6 months after the regimen ended.
LACKI1997_CY_FALL = {"n": 17, "T": 0.314, "B": 0.674, "NK": 0.274, "recovered_months": 6.0}
LACKI1997 = Citation(
    "Lacki 1997",
    "Lacki JK, Mackiewicz SH, Leszczynski P, Muller W. The effect of intravenous "
    "cyclophosphamide pulse on peripheral blood lymphocytes in lupus erythematosus patients. "
    "Rheumatol Int 1997;17:55-60 (abstract in two index records: "
    "https://acnpsearch.tweb-dev.unibo.it/singlejournalindex/8890165, "
    "https://bvbvf1.bib-bvb.de/vufind/PrimoRecord/cdi_proquest_journals_884138005).",
    verified="V-src",
    doi="10.1007/PL00006852",
    note="Abstract read: during IV pulse cyclophosphamide (dose and schedule not in the "
    "abstract; NIH-type monthly pulses assumed [UNVERIFIED]) CD3+ -31.4 %, CD19+ -67.4 %, "
    "CD16+ -27.4 %; recovered 6 months after the regimen. Concordant: Horwitz 1974 (Arthritis "
    "Rheum 1974;17(4), doi 10.1002/art.1780170405, abstract [V-src]: 'selective depletion of "
    "B-lymphocytes by cyclophosphamide' in SLE/RA) and Gabcova 2019 (Arch Immunol Ther Exp, "
    "Euro-Lupus 6 x 500 mg, abstract [V-src]: mainly the lowering of B cells).",
)
LD_B_CALIBRATION = Citation(
    "nksim Flu/Cy B-lineage kill (Lacki 1997)",
    "ld_kill_b 0.8 per LD unit, equal to ld_kill_lymph: the smallest value at which the "
    "B lineage falls at least as far as T cells (B/T log-depletion ratio on the day of "
    "infusion 1.07-1.11 for the three lupus regimens, between 1 and Lacki's 3.0 for "
    "cyclophosphamide alone) and at least as deeply as during pulse cyclophosphamide in SLE "
    "(B + transitional cells 0.08-0.16 of baseline, plasmablasts 0.07-0.15, against -67.4 %): "
    "cyclophosphamide depletes B cells more than T cells in SLE (Lacki 1997, Horwitz 1974, "
    "Gabcova 2019 [V-src]). Was 0.35 (a recorded gap, docs/calibration.md §14.1); the CAR-T "
    "kinetics were re-fitted with it (proliferation programme CARTP, §14.6).",
    verified="assumption",
    note="Plausible range 0.8-1.6 per LD unit (1.6: Lacki's B/T log-depletion ratio 2.97 "
    "applied to the cyclophosphamide half of the LD unit). No B-cell count after a single "
    "Flu/Cy course was found; tests/test_sle_lymphodepletion.py pins both bounds.",
)

_LD_UNIT = Citation(
    "nksim LD exposure unit",
    "1 LD unit = one day of fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2; other doses "
    "scale as 0.5 flu/30 + 0.5 cy/500 (equal, additive shares: an assumption).",
    verified="assumption",
    note="Reference regimen V-src (FT516, science.md §4); linear additivity and the 50/50 "
    "split are assumptions (share of fludarabine plausible 0.3-0.7).",
)

LD_KILL_LYMPH = Parameter(
    "ld_kill_lymph", 0.8, "1/day",
    "kill rate of lymphocytes (host T cells, infused CAR-T/CAR-NK) per LD unit; calibrated "
    "so that the reference regimen (3 x 1 unit) lowers host T cells ~10-fold by day 0 "
    "(assumption, range 0.3-1.2); checked against published ALC at infusion, 0.1 of "
    "0.6e9/L before (Gandler 2025 [V-src]): model lymphocytes 0.10 of baseline on day 0 "
    "(docs/calibration.md §14)",
    LD_NADIR_CHECK, bounds=(0.0, 20.0),
)

TH_NORMAL = Parameter(
    "th_normal", 1200.0, "cell/uL",
    "host T cells at equilibrium (normal CD3+ ~700-2000 cells/uL; set per patient): the "
    "patient's T-cell set-point, also the scale of CAR-T competition (cart_K_hom)",
    ASSUMPTION, bounds=(1e-3, 20000.0),
)

PARAMETERS = (
    Parameter(
        "ld_k", 0.9, "1/day",
        "decay rate of lymphodepleting exposure (half-life ~18 h, near the fludarabine "
        "terminal half-life of ~20 h; assumption, range 0.5-3)",
        FLU_PK, bounds=(0.01, 50.0),
    ),
    TH_NORMAL,
    Parameter(
        "th_recovery", 0.012, "1/day",
        "relative recovery rate of host T cells after lymphodepletion (half-recovery ~58 d); "
        "calibrated to the B-cell return of Mackensen 2022 (110 +/- 32 d) with the marrow "
        "precursor lag and CAR-T kinetics of issue 10 (docs/calibration.md §11; was 0.006, "
        "before that 0.01). Range "
        "0.002-0.05: CD4+ counts stay < 200/uL for 18 months in half of axi-cel patients, and "
        "the length of B-cell aplasia follows CD4 recovery (Blood Adv 2021)",
        MACKENSEN_RECALIBRATION, bounds=(0.0, 10.0),
    ),
    LD_KILL_LYMPH,
    Parameter(
        "ld_kill_b", 0.8, "1/day",
        "kill rate of B-lineage cells (pro/pre-B, transitional, naive/memory, plasmablasts) "
        "per LD unit, calibrated to the B-selectivity of cyclophosphamide in SLE (Lacki 1997 "
        "[V-src]: B cells -67 %, T cells -31 %): B + transitional cells on day 0 at 0.08 of "
        "baseline with the reference regimen, 0.16 with Flu 25 + Cy 300; B/T log-depletion "
        "ratio 1.07-1.11 (docs/calibration.md §14.1, §14.6; was 0.35). Range 0.8-1.6",
        LD_B_CALIBRATION, bounds=(0.0, 20.0),
    ),
)


def lymphodepletion_component(depletes: Sequence[str] = ("B",)) -> Component:
    """The lymphodepletion component: states ``LD`` and ``TH``, kill terms on ``depletes``.

    ``depletes`` are the disease states hit by Flu/Cy at rate ``ld_kill_b`` per LD unit:
    the B cells ``("B",)`` in lupus (the default, required from the disease component);
    ``()`` for a setting without lymphocyte targets (only host T cells ``TH`` are hit).
    Dose ``LD`` with :func:`lymphodepletion_doses`.
    """
    depleted = (depletes,) if isinstance(depletes, str) else tuple(depletes)
    return Component(
        name="lymphodepletion",
        description="Fludarabine/cyclophosphamide exposure (LD) and host T cells (TH).",
        states=(
            State("LD", "dimensionless",
                  "lymphodepleting-drug exposure (1 unit = 1 day of Flu 30 + Cy 500 mg/m2)",
                  0.0),
            State("TH", "cell/uL", "host T cells (reject donor cells; hit by lymphodepletion)",
                  1200.0),
        ),
        parameters=PARAMETERS,
        terms={
            "LD": "-ld_k*LD",
            "TH": "th_recovery*(th_normal - TH) - ld_kill_lymph*LD*TH",
            **{x: f"-ld_kill_b*LD*{x}" for x in depleted},
        },
        requires=depleted,
        references=(FT516, GAO2025, FLU_PK, _LD_UNIT, BAIRD2021, MACKENSEN_RECALIBRATION,
                    GANDLER2025, KOCHENDERFER2017, LACKI1997),
        notes=(
            "LD exposure unit: one day of fludarabine 30 + cyclophosphamide 500 mg/m2.",
            "Set TH's initial value and th_normal to the patient's T-cell count.",
        ),
    )


def ld_exposure_units(fludarabine_mg_m2: float, cyclophosphamide_mg_m2: float) -> float:
    """LD exposure units of one day of fludarabine + cyclophosphamide.

    Parameters
    ----------
    fludarabine_mg_m2, cyclophosphamide_mg_m2 : daily doses in mg per m2 body surface.

    Returns
    -------
    float
        ``0.5 * flu / 30 + 0.5 * cy / 500`` (dimensionless; 1.0 for the reference regimen,
        0.717 for Gao 2025's 25 + 300 mg/m2). The linear, additive form is an assumption.
    """
    for name, v in (("fludarabine_mg_m2", fludarabine_mg_m2),
                    ("cyclophosphamide_mg_m2", cyclophosphamide_mg_m2)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return (FLUDARABINE_SHARE * fludarabine_mg_m2 / REFERENCE_FLUDARABINE_MG_M2
            + (1.0 - FLUDARABINE_SHARE) * cyclophosphamide_mg_m2
            / REFERENCE_CYCLOPHOSPHAMIDE_MG_M2)


def lymphodepletion_doses(
    first_day: float = -5.0,
    days: int = 3,
    fludarabine_mg_m2: float | Sequence[float] = REFERENCE_FLUDARABINE_MG_M2,
    cyclophosphamide_mg_m2: float | Sequence[float] = REFERENCE_CYCLOPHOSPHAMIDE_MG_M2,
) -> list[Dose]:
    """Dose records of a daily Flu/Cy course into ``LD``.

    Parameters
    ----------
    first_day : day of the first dose (default -5, i.e. days -5, -4, -3 before infusion).
    days : number of consecutive daily doses.
    fludarabine_mg_m2, cyclophosphamide_mg_m2 : daily dose (mg/m2), one number for every
        day or one per day (e.g. ``[0, 0, 1000]`` for a single cyclophosphamide dose on
        the last day).

    Returns
    -------
    list of Dose
        One bolus per day (days with zero exposure are left out). Gao 2025 (CAR-NK in
        SLE): ``lymphodepletion_doses(-5, 3, 25, 300)``.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days!r}")

    def per_day(value: float | Sequence[float], name: str) -> list[float]:
        if isinstance(value, int | float):
            return [float(value)] * days
        values = [float(v) for v in value]
        if len(values) != days:
            raise ValueError(f"{name}: expected {days} daily values, got {len(values)}")
        return values

    flu = per_day(fludarabine_mg_m2, "fludarabine_mg_m2")
    cy = per_day(cyclophosphamide_mg_m2, "cyclophosphamide_mg_m2")
    doses = []
    for i, (f, c) in enumerate(zip(flu, cy, strict=True)):
        amount = ld_exposure_units(f, c)
        if amount > 0:
            doses.append(Dose("LD", amount, float(first_day) + i))
    return doses
