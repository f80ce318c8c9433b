"""Gemcitabine and S-1 (tegafur -> 5-FU): pharmacokinetics and a tumour-growth-inhibition law.

Research use only. Components for any solid-tumour model (``docs/cancer.md``, pancreatic
section)::

    gemcitabine (Jiang 2008, two compartments, amounts in mg):
      dGEMC/dt = -(gem_cl + gem_q)/gem_vc GEMC + gem_q/gem_vp GEMP
      dGEMP/dt =  gem_q/gem_vc GEMC - gem_q/gem_vp GEMP           C_gem = GEMC/gem_vc (mg/L)
    S-1 (tegafur depot TEG -> apparent 5-FU pool FU, amounts in mg of tegafur):
      dTEG/dt = -s1_ka TEG
      dFU/dt  =  s1_ka TEG - s1_cl/s1_v FU                          C_fu = FU/s1_v (mg/L)
      so the 5-FU AUC of a dose D is D/s1_cl: Booka 2016/2021's renal-function formula,
      s1_cl = (14.5 + 8.23 male + 0.301 CLcr) BSA  L/h.
    tumour-growth inhibition (Claret-type, set on the tumour state Y by the disease):
      dY/dt += -(gem_kd C_gem + fu_kd C_fu) exp(-tgi_lam t) Y   (t >= 0 from the first dose)

The inhibition constants are *derived*, not fitted to any trial arm: ``gem_kd`` and
``tgi_lam`` reproduce García-Cremades 2018's published summary of single-agent gemcitabine
in advanced pancreatic cancer (22.3 % tumour-growth inhibition versus no treatment at the end
of 6 cycles; resistance removes 57 % of the drug effect by cycle 6) under the schedule
assumptions stated with :func:`derive_gemcitabine_tgi`; ``fu_kd`` is an assumption
(equipotent per GS cycle). Their inputs carry their labels; see docs/calibration.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation, Component, Parameter, State

MIN_PER_DAY = 1440.0
H_PER_DAY = 24.0

# ---------------------------------------------------------------- sources
JIANG2008 = Citation(
    "Jiang 2008",
    "Jiang X, Galettis P, Links M, et al. Population pharmacokinetics of gemcitabine and its "
    "metabolite in patients with cancer: effect of oxaliplatin and infusion rate. Br J Clin "
    "Pharmacol 2008;65:326-333.",
    verified="V-src",
    note="PMC2291243 Table 3 (science-nk-cancer-ageing.md §4b): CL 2.7 L/min (BSV 31 %), "
         "Vc 15 L (39 %), Q 0.7 L/min (44 %), Vp 15 L (64 %); residual error 40 %.",
)
GARCIA_CREMADES2018 = Citation(
    "García-Cremades 2018",
    "Gemcitabine tumour-growth-inhibition and overall-survival model in advanced pancreatic "
    "cancer, Eur J Pharm Sci 2018;115:296-303, PMID 29366960 (authors UNVERIFIED).",
    verified="V-src",
    note="Abstract (science-nk-cancer-ageing.md §4c): 285 patients; exponential growth, "
         "doubling 67 weeks; drug effect driven by weekly dFdCTP AUC with treatment-related "
         "resistance; 22.3 % TGI vs no treatment at end of 6 cycles; resistance -57 % in "
         "cycle 6; responder tumour profiles: median OS 30 weeks longer than stable disease. "
         "Equations and parameter table NOT extracted.",
)
CLARET2009 = Citation(
    "Claret 2009",
    "Claret L, Girard P, Hoff PM, et al. Model-based prediction of phase III overall survival "
    "in colorectal cancer on the basis of phase II tumor dynamics. J Clin Oncol "
    "2009;27:4103-4108.",
    verified="UNVERIFIED",
    doi="10.1200/JCO.2008.21.0807",
    note="Structure dY/dt = KL Y - KD E(t) exp(-lambda t) Y and log-normal OS on the "
         "week-7 tumour-size change: recalled, the paper was not read for nksim.",
)
BOOKA2016 = Citation(
    "Booka 2016 / PMC7894007",
    "Booka E, et al. Gastric Cancer 2016 (n = 16) and the refined formula (n = 46, "
    "PMC7894007): S-1 dose = target 5-FU AUC x (14.5 + 8.23 SEX[M=1] + 0.301 CLcr) x BSA.",
    verified="V-src",
    note="Target daily 5-FU AUC 1447.8 +/- 545.4 ng h/mL. The bracket x BSA read as the "
         "apparent 5-FU clearance in L/h (dose mg, AUC mg h/L) is nksim's reading "
         "[UNVERIFIED]; it gives ~80 L/h, i.e. ~115 mg/d at the target AUC.",
)
UENO2013 = Citation(
    "Ueno 2013 (GEST)",
    "Ueno H, Ioka T, Ikeda M, et al. Randomized phase III study of gemcitabine plus S-1, S-1 "
    "alone, or gemcitabine alone in patients with locally advanced and metastatic pancreatic "
    "cancer in Japan and Taiwan: GEST study. J Clin Oncol 2013;31:1640-1648.",
    verified="V-src",
    note="GS regimen: gemcitabine 1000 mg/m2 days 1 and 8 + S-1 60/80/100 mg/d by BSA "
         "(< 1.25, 1.25-1.5, >= 1.5 m2) days 1-14, every 21 days. Its survival outcomes are "
         "deliberately NOT used (out-of-sample check).",
)
CHEMO_ASSUMPTION = Citation(
    "nksim chemotherapy assumption",
    "Chosen by nksim where no published value was found; the description gives the range.",
    verified="assumption",
)

#: Reference patient for the derivation of the inhibition constants (assumptions).
REFERENCE_BSA_M2 = 1.8
#: Single-agent gemcitabine in García-Cremades 2018's trials: 1000 mg/m2 days 1, 8, 15 of
#: 28-day cycles (assumption: the usual schedule; the abstract gives 1000-1250 "mg/kg").
GEM_MONO_MG_M2 = 1000.0
GEM_MONO_DAYS = (0.0, 7.0, 14.0)
GEM_MONO_CYCLE_DAYS = 28.0
GEM_INFUSION_DAYS = 30.0 / MIN_PER_DAY


@dataclass(frozen=True)
class GemcitabineTGI:
    """Inhibition constants derived from García-Cremades 2018's summary (see module)."""

    kd: float  # L/mg/day
    lam: float  # 1/day
    inhibition: float
    resistance_loss: float
    end_day: float


def gemcitabine_auc(dose_mg: float, cl_l_per_day: float = 2.7 * MIN_PER_DAY) -> float:
    """Plasma AUC (mg day/L) of one gemcitabine dose: dose / CL (linear PK)."""
    return dose_mg / cl_l_per_day


def derive_gemcitabine_tgi(inhibition: float = 0.223, resistance_loss: float = 0.57,
                           cycles: int = 6, bsa_m2: float = REFERENCE_BSA_M2, *,
                           volume: bool = True) -> GemcitabineTGI:
    """``gem_kd`` and ``tgi_lam`` that reproduce the published summary.

    Resistance: ``exp(-lam t)`` at the middle of the last cycle equals ``1 -
    resistance_loss``. Inhibition: with linear PK each dose adds ``kd AUC exp(-lam t_i)``
    to the log-kill, so ``-ln(1 - inhibition) = kd AUC sum_i exp(-lam t_i)`` at the end of
    ``cycles`` 28-day cycles (days 1, 8, 15). Exposure is plasma gemcitabine instead of the
    published dFdCTP AUC (assumption: proportional).

    TGI models describe the sum of longest diameters (SLD; assumption: so does this one).
    ``volume=True`` returns the constant for tumour *volume*: spheres scale as SLD^3, so
    the volume log-kill is 3 x the SLD log-kill.
    """
    if not (0 < inhibition < 1 and 0 <= resistance_loss < 1 and cycles >= 1):
        raise UserError("inhibition and resistance_loss must be in (0, 1), cycles >= 1 "
                        f"(got {inhibition}, {resistance_loss}, {cycles})", field="tgi")
    end = cycles * GEM_MONO_CYCLE_DAYS
    mid_last = end - GEM_MONO_CYCLE_DAYS / 2.0
    lam = -math.log(1.0 - resistance_loss) / mid_last
    times = [c * GEM_MONO_CYCLE_DAYS + d for c in range(cycles) for d in GEM_MONO_DAYS]
    auc = gemcitabine_auc(GEM_MONO_MG_M2 * bsa_m2)
    kd = -math.log(1.0 - inhibition) / (auc * sum(math.exp(-lam * t) for t in times))
    if volume:
        kd *= 3.0
    return GemcitabineTGI(kd, lam, inhibition, resistance_loss, end)


GEM_TGI = derive_gemcitabine_tgi()
DERIVED_TGI = Citation(
    "nksim derivation from García-Cremades 2018",
    "gem_kd and tgi_lam solved in closed form from the published 22.3 % inhibition at the "
    "end of 6 cycles and the 57 % loss of effect in cycle 6 (nksim.therapy._chemotherapy."
    "derive_gemcitabine_tgi); schedule (1000 mg/m2 d1, 8, 15 q28d), BSA 1.8 m2, "
    "plasma-AUC exposure and 'tumour size = SLD' (x3 for volume) are assumptions.",
    verified="assumption",
    note="Inputs V-src (García-Cremades 2018 abstract); derivation nksim's.",
)

# ---------------------------------------------------------------- S-1
#: GEST/Ueno 2013 S-1 daily dose by body-surface area (m2 upper bound -> mg/day).
S1_DOSE_BY_BSA = ((1.25, 60.0), (1.5, 80.0), (math.inf, 100.0))
#: Target daily 5-FU AUC of Booka 2016 (mg h/L = 1447.8 ng h/mL).
S1_TARGET_AUC_MG_H_L = 1.4478


def s1_daily_dose_mg(bsa_m2: float) -> float:
    """S-1 (tegafur) mg/day of the GS regimen by body-surface area (Ueno 2013)."""
    if not (math.isfinite(bsa_m2) and 0.5 <= bsa_m2 <= 3.5):
        raise UserError(f"body-surface area must be 0.5-3.5 m2 (got {bsa_m2!r})",
                        field="patient.bsa_m2")
    return next(dose for upper, dose in S1_DOSE_BY_BSA if bsa_m2 < upper)


def cockcroft_gault_ml_min(age_years: float, weight_kg: float, creatinine_mg_dl: float,
                           female: bool) -> float:
    """Creatinine clearance (mL/min), Cockcroft-Gault: (140-age) W / (72 SCr) x 0.85 if F."""
    if not (creatinine_mg_dl > 0 and weight_kg > 0 and 0 < age_years < 140):
        raise UserError(f"need age 0-140 y, weight > 0 and creatinine > 0 (got "
                        f"{age_years}, {weight_kg}, {creatinine_mg_dl})", field="patient")
    return (140.0 - age_years) * weight_kg / (72.0 * creatinine_mg_dl) * (
        0.85 if female else 1.0)


def s1_apparent_clearance_l_h(clcr_ml_min: float, bsa_m2: float, male: bool) -> float:
    """Apparent 5-FU clearance after S-1, L/h (PMC7894007 refined Booka formula)."""
    return (14.5 + 8.23 * float(male) + 0.301 * clcr_ml_min) * bsa_m2


# ---------------------------------------------------------------- components
def chemotherapy_component(fu_kd: float | None = None) -> Component:
    """Gemcitabine and S-1 PK, with the exposure expression ``chemo_effect`` (1/day per
    unit of tumour, before resistance): ``gem_kd C_gem + fu_kd C_fu``."""
    gem_auc_cycle = 2 * gemcitabine_auc(GEM_MONO_MG_M2 * REFERENCE_BSA_M2)  # GS: d1, d8
    cl_ref = s1_apparent_clearance_l_h(80.0, REFERENCE_BSA_M2, True) * H_PER_DAY
    fu_auc_cycle = 14 * s1_daily_dose_mg(REFERENCE_BSA_M2) / cl_ref
    fu_default = GEM_TGI.kd * gem_auc_cycle / fu_auc_cycle  # equipotent per GS cycle
    par = Parameter
    return Component(
        name="chemotherapy",
        description="gemcitabine (Jiang 2008) and S-1 -> 5-FU (Booka formula) PK; "
                    "Claret-type inhibition constants",
        states=(
            State("GEMC", "mg", "gemcitabine, central compartment", 0.0),
            State("GEMP", "mg", "gemcitabine, peripheral compartment", 0.0),
            State("TEG", "mg", "S-1 tegafur not yet converted", 0.0),
            State("FU", "mg", "apparent 5-FU pool (tegafur-equivalent mg)", 0.0),
        ),
        parameters=(
            par("gem_cl", 2.7 * MIN_PER_DAY, "L/day", "gemcitabine clearance (2.7 L/min; "
                "BSV 31 %)", JIANG2008, (1.0, 1e5)),
            par("gem_vc", 15.0, "L", "gemcitabine central volume (BSV 39 %)", JIANG2008,
                (0.1, 1e3)),
            par("gem_q", 0.7 * MIN_PER_DAY, "L/day", "gemcitabine intercompartmental "
                "clearance (0.7 L/min; BSV 44 %)", JIANG2008, (0.0, 1e5)),
            par("gem_vp", 15.0, "L", "gemcitabine peripheral volume (BSV 64 %)", JIANG2008,
                (0.1, 1e3)),
            par("s1_cl", s1_apparent_clearance_l_h(80.0, REFERENCE_BSA_M2, True) * H_PER_DAY,
                "L/day", "apparent 5-FU clearance after S-1 (Booka formula, set per patient "
                "from sex, CLcr and BSA)", BOOKA2016, (1.0, 1e5)),
            par("s1_v", 230.0, "L", "apparent 5-FU volume (assumption: 5-FU t1/2 ~2 h with "
                "the reference clearance; range 100-500; only shapes the profile, not the "
                "AUC)", CHEMO_ASSUMPTION, (1.0, 1e4)),
            par("s1_ka", math.log(2) / 12.0 * H_PER_DAY, "1/day", "tegafur -> 5-FU "
                "conversion (assumption: tegafur t1/2 12 h, range 8-14 h [UNVERIFIED])",
                CHEMO_ASSUMPTION, (0.01, 1e3)),
            par("gem_kd", GEM_TGI.kd, "L/mg/day", "gemcitabine kill constant per plasma "
                "concentration (derived from García-Cremades 2018; range x0.5-x2)",
                DERIVED_TGI, (0.0, 1e3)),
            par("fu_kd", fu_default if fu_kd is None else fu_kd, "L/mg/day",
                "5-FU kill constant (assumption: one GS cycle's S-1 equals its gemcitabine "
                "in log-kill; range x0.5-x2)", CHEMO_ASSUMPTION, (0.0, 1e5)),
            par("tgi_lam", GEM_TGI.lam, "1/day", "treatment-related resistance rate "
                "(derived: 57 % loss of effect in cycle 6)", DERIVED_TGI, (0.0, 1.0)),
        ),
        expressions={
            "chemo_effect": ("(gem_kd*GEMC/gem_vc + fu_kd*FU/s1_v)*exp(-tgi_lam*Max(t, 0))",
                             "1/day", "chemotherapy kill rate per tumour cell"),
        },
        terms={
            "GEMC": ["-(gem_cl + gem_q)/gem_vc*GEMC", "gem_q/gem_vp*GEMP"],
            "GEMP": ["gem_q/gem_vc*GEMC", "-gem_q/gem_vp*GEMP"],
            "TEG": "-s1_ka*TEG",
            "FU": ["s1_ka*TEG", "-s1_cl/s1_v*FU"],
        },
        observables={
            "gem_conc": ("GEMC/gem_vc", "mg/L", "plasma gemcitabine"),
            "fu_conc": ("FU/s1_v", "mg/L", "plasma 5-FU (apparent)"),
        },
        references=(JIANG2008, BOOKA2016, GARCIA_CREMADES2018, CLARET2009, UENO2013,
                    DERIVED_TGI, CHEMO_ASSUMPTION),
        notes=("Exposure drives inhibition through plasma concentrations (the published "
               "model used the weekly dFdCTP AUC; assumption: proportional).",),
    )


def gs_doses(bsa_m2: float, cycles: int, *, gem_mg_m2: float = 1000.0,
             s1_mg_per_day: float | None = None, first_day: float = 0.0,
             cycle_days: float = 21.0, gem_days: Sequence[float] = (0.0, 7.0),
             s1_days: int = 14) -> list[Dose]:
    """Dose records of the GS regimen (Ueno 2013): gemcitabine 30-min infusions on days 1
    and 8, S-1 twice daily on days 1-14 (half the daily dose each), every 21 days.

    ``s1_mg_per_day`` ``None``: by body-surface area (:func:`s1_daily_dose_mg`); 0: no S-1.
    """
    if not (isinstance(cycles, int) and 0 <= cycles <= 100):
        raise UserError(f"must be an integer 0-100 (got {cycles!r})", field="regimen.cycles")
    s1 = s1_daily_dose_mg(bsa_m2) if s1_mg_per_day is None else float(s1_mg_per_day)
    out: list[Dose] = []
    for c in range(cycles):
        start = first_day + c * cycle_days
        if gem_mg_m2 > 0:
            out += [Dose("GEMC", gem_mg_m2 * bsa_m2, start + d, duration=GEM_INFUSION_DAYS)
                    for d in gem_days]
        if s1 > 0 and s1_days > 0:
            out.append(Dose("TEG", s1 / 2.0, start, every=0.5, count=2 * s1_days))
    return out
