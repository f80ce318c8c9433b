"""SLE disease component: B cells, plasmablasts, plasma cells, anti-dsDNA, C3, inflammation.

States (cells per microlitre of blood; LLPC as a blood-equivalent count)::

    dBPRE/dt = s_B - k_pre BPRE                                     (+ CAR, Flu/Cy kill terms)
    dBTR/dt  = k_pre BPRE - k_tr BTR                                (+ CAR, Flu/Cy kill terms)
    dB/dt    = k_tr BTR - d_B B - a B                               (+ CAR kill terms)
    dPB/dt   = rho_PB a B - (d_PB + f_LL) PB                        (+ CAR kill terms)
    dLLPC/dt = f_LL PB - d_LL LLPC                                  (CD19-negative: no kill)
    dAB/dt   = p_PB PB + p_LL LLPC - d_AB AB
    dC3/dt   = s_C3 - d_C3 C3 - k_C3 AB/(AB + K_C3) C3
    dINF/dt  = k_INF (1 - Emax_INF E) D - d_INF INF
               + d_INF (1 - Emax_INF E) FLT PB/(PB + K_FLT)         (flare triggers)
    dFLT/dt  = - d_FLT FLT                                          (dosed: random triggers)

    a = k_auto (1 - Emax_auto E) h(AB),   h(AB) = (AB/K_ic)^n / (1 + (AB/K_ic)^n)
    D = (1 - f_INF_PB) AB + f_INF_PB q PB,   q = (p_PB + p_LL f_LL/d_LL) / d_AB

with ``E = gc_effect`` from the glucocorticoid component (:mod:`._steroids`); ``h`` is written
as ``Piecewise((0, AB <= 0), ...)`` so that it and its Jacobian stay finite at ``AB = 0``.

* B lymphopoiesis (issue 10): CD19-negative lymphoid progenitors (never depleted) feed
  CD19+ pro/pre-B cells in the marrow ``BPRE`` at the constant rate ``s_B``; they leave as
  transitional B cells ``BTR`` (rate ``k_pre``), which mature into naive B cells ``B``
  (rate ``k_tr``). At steady state ``BPRE = s_B/k_pre``, ``BTR = s_B/k_tr`` and the flux into
  ``B`` is ``s_B``, so every steady state below is unchanged by the stages; after a CD19
  depletion that also empties the precursors, B cells return only after a lag of weeks,
  transitional cells first (rituximab and CD19 CAR-T repopulation).
* Peripheral B cells are lost at ``d_B`` (net of homeostatic proliferation).
* Flare triggers (infection, UV, hormones: extrinsic) are random boluses into ``FLT``
  (:mod:`nksim.disease._sle_setting` draws them); they become inflammation only where
  autoreactive plasmablasts are present and are masked by glucocorticoid
  (calibrated to CORTICOLUP; docs/calibration.md §11).
* Autoreactive activation ``a`` needs immune complexes of the autoantibody (BCR + TLR9 dual
  engagement by chromatin-IgG complexes): a positive loop AB -> a -> PB -> AB with a steep
  (Hill) threshold. The loop has two stable states: active disease and remission
  (``PB = LLPC = AB = INF = 0``). Deep removal of B cells, plasmablasts and autoantibody can move
  a patient into the remission basin, where B cells coming back from the marrow stay
  naive ("immune reset", Mackensen 2022); residual autoantibody from CD19-negative long-lived
  plasma cells, or too short a depletion, can re-ignite the loop.
* ``k_auto`` is the patient's disease severity: :func:`severity_for_sledai` sets it so that the
  untreated (or background-steroid) steady state has the requested SLEDAI-2K.
* Tissue inflammation is driven by circulating anti-dsDNA immune complexes *and* by the
  autoreactive B-lineage cells themselves (antigen presentation to T cells, local
  inflammation and in-situ antibody; Chan 1999), represented by the plasmablasts: the drive
  ``D`` gives the share ``f_INF_PB`` to ``q PB``, the anti-dsDNA that these plasmablasts
  sustain at equilibrium. At every equilibrium ``q PB = AB``, so ``D = AB`` and steady states,
  the SLEDAI mapping and stability are those of the anti-dsDNA-only model; only the time
  course after B-lineage depletion changes (clinical activity falls within weeks while
  anti-dsDNA falls with the IgG half-life).

Steady state on the disease branch (``E`` constant): with ``G = (p_PB + p_LL f_LL/d_LL) / d_AB
x rho_PB s_B / (d_PB + f_LL)`` (the largest possible AB) and ``phi = AB/G``::

    a = d_B phi / (1 - phi),   B = s_B / (d_B + a),   PB = rho_PB a B / (d_PB + f_LL),
    LLPC = f_LL PB / d_LL,     C3 = s_C3 / (d_C3 + k_C3 AB/(AB + K_C3)),
    INF = (1 - Emax_INF E) k_INF AB / d_INF,   k_auto = a / ((1 - Emax_auto E) h(AB))

(``q PB = AB`` there, so ``f_INF_PB`` does not enter).

It is stable when ``n (1 - h(AB)) (1 - phi) < 1`` (slope of the loop below 1), which bounds the
lowest SLEDAI a disease steady state can have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from nksim.disease._sle_activity import (
    DEFAULT_MAPPING,
    SLEDAI_CLINICAL_MAX,
    SLEDAI_MAX,
    SledaiMapping,
)
from nksim.disease._sources import (
    B_COUNTS,
    B_LYMPHOPOIESIS,
    BHOJ2016,
    C3_SYNTHESIS_SLE,
    C3_TURNOVER,
    CHAN1999,
    FLARE_TRIGGERS,
    IGG_HALF_LIFE,
    IGG_HYPERCATABOLISM_SLE,
    IMMUNE_COMPLEX_BCR_TLR,
    LLPC_AUTOIMMUNITY,
    MACALLAN2005,
    MACKENSEN2022,
    RITUXIMAB_REPOPULATION,
    SEVERITY_MAPPING,
    SLE_PLASMABLASTS,
    SLEDAI_SURROGATE,
    WOCHNER1970,
    assumption,
)
from nksim.disease._steroids import GC_EFFECT_STATE, GC_STATE, steroid_component
from nksim.errors import UserError
from nksim.model import Component, Model, Parameter, State, compose

SLE_STATES = ("BPRE", "BTR", "B", "PB", "LLPC", "AB", "C3", "INF", "FLT")
#: parameters: None (the model's values), {name: value} overrides, or an array
#: (parameter,) / (patient, parameter) in the model's order
ParameterInput = Mapping[str, float] | np.ndarray | Sequence[float] | None
ArrayLike = float | Sequence[float] | np.ndarray
DEFAULT_BASELINE_SLEDAI = 16
_STABILITY_MARGIN = 0.95  # disease steady states must have loop slope <= this

# Reference values behind derived parameters (assumptions, documented in docs/sle-disease.md).
_B_NORMAL = 250.0  # cell/uL, normal blood B-cell count (adult range 100-500)
_C3_NORMAL = 130.0  # mg/dL, normal C3 (range 90-180)
_C3_FLOOR = 45.0  # mg/dL, C3 when immune-complex consumption saturates
_C3_LOW_AT_AB = 40.0  # IU/mL, anti-dsDNA at which C3 reaches 90 mg/dL
_AB_PER_POINT = 30.0  # IU/mL anti-dsDNA per clinical SLEDAI point at steady state, no steroid
_D_C3 = 0.0212 * 24  # 1/day, C3 fractional catabolic rate 2.12 %/h
_F_INF_PB = 0.85  # share of the inflammatory drive carried by plasmablasts (docs/calibration.md)
_K_IC = 90.0  # IU/mL, half-maximal immune-complex activation (docs/calibration.md)
_F_LL = 2e-5  # 1/day, entry into the long-lived plasma-cell pool (docs/calibration.md)
_K_PRE = 1.0 / 21.0  # 1/day, marrow pro/pre-B -> transitional (mean residence 21 d)
_K_TR = 1.0 / 10.0  # 1/day, transitional -> naive (mean 10 d)
# anti-dsDNA IgG half-life in SLE (days): the normal 21 d times the SLE/control IgG survival
# ratio 8.2/18 of the SLE IgG turnover study (IGG_HYPERCATABOLISM_SLE; docs/calibration.md §15)
_AB_HALF_LIFE = 21.0 * 8.2 / 18.0
# anti-dsDNA secretion per plasmablast, IU*uL/(mL*cell*day): 0.36 at the former 21-day
# half-life, scaled with the clearance so that the plasmablasts behind each IU/mL (the CD19+
# targets of CAR cells) are unchanged
_P_SECRETION = 0.36 * 21.0 / _AB_HALF_LIFE


def _a(key: str, text: str, note: str):
    return assumption(key, text, note)


_F_INF_PB_SOURCE = assumption(
    "nksim B-lineage share of inflammation",
    "The inflammatory drive is (1 - f_INF_PB) AB + f_INF_PB q PB, q PB being the anti-dsDNA "
    "that the plasmablasts sustain at equilibrium: autoreactive B-lineage cells drive tissue "
    "inflammation also without circulating antibody (antigen presentation, local "
    "inflammation: Chan 1999 [V-src, mouse]), and circulating plasmablasts track SLE "
    "activity (Odendahl 2000, Jacobi 2003 [UNVERIFIED]).",
    "Calibrated to Mackensen 2022 (DORIS remission 5/5 at 3 months with median SLEDAI 16 -> 0; "
    "docs/calibration.md): 0.85, capped below the objective's optimum 0.95 because antibody-"
    "free disease was less marked than full disease in Chan 1999. Range 0-1 (0 = the former "
    "anti-dsDNA-only model; DORIS at 3 months falls from ~0.74 to ~0.45 between 0.85 and 0.5 "
    "in the calibration cohort). No human measurement of this share was found. It changes "
    "no equilibrium.",
)


def _parameters() -> list[tuple[str, float, str, str, object, tuple[float, float]]]:
    """(name, value, unit, description, source, bounds) of the disease parameters."""
    d_B = 0.01
    k_c3 = (_C3_NORMAL / _C3_FLOOR - 1.0) * _D_C3
    x_low = (_C3_NORMAL / 90.0 - 1.0) * _D_C3 / k_c3  # fraction of saturation at C3 = 90
    K_c3 = _C3_LOW_AT_AB * (1.0 - x_low) / x_low
    d_inf = 0.1
    inf = math.inf
    return [
        ("s_B", _B_NORMAL * d_B, "cell/uL/day", "B-cell output of the bone marrow into blood",
         _a("nksim marrow B-cell output", "s_B = normal B count (250 cells/uL) x d_B.",
            "Normal CD19+ B cells 100-500 cells/uL in adults, higher in children (B-cell "
            "reference ranges [UNVERIFIED]); set s_B per patient for age: 1-10 cells/uL/day."),
         (0.0, inf)),
        ("k_pre", _K_PRE, "1/day",
         "exit rate of CD19+ pro/pre-B cells from the marrow as transitional B cells "
         "(mean residence 21 days; range 1/42-1/10 per day)", B_LYMPHOPOIESIS, (1e-3, 10.0)),
        ("k_tr", _K_TR, "1/day",
         "maturation rate of transitional into naive B cells (mean 10 days; range 1/21-1/3 "
         "per day); with k_pre checked against rituximab repopulation in SLE (median ~6 "
         "months, transitional first)", RITUXIMAB_REPOPULATION, (1e-3, 10.0)),
        ("d_B", d_B, "1/day", "net loss rate of blood B cells (death minus proliferation)",
         _a("nksim B-cell loss", "Net loss 1 %/day (half-life 69 days): sets the months-long "
            "recovery of B cells to normal after depletion.",
            "Range 0.005-0.03/day. Blood B cells divide at 1.9 %/day (Macallan 2005 [V-src]), "
            "so gross turnover is faster; this model has no peripheral proliferation, so d_B "
            "is the net rate that marrow output balances."),
         (1e-5, 10.0)),
        ("k_auto", 0.0, "1/day",
         "maximal rate of autoreactive B-cell activation by immune complexes (disease severity)",
         SEVERITY_MAPPING, (0.0, 100.0)),
        ("K_ic", _K_IC, "IU/mL", "anti-dsDNA level for half-maximal immune-complex activation",
         _a("nksim immune-complex activation threshold", "K_ic = 90 IU/mL, calibrated to "
            "Mackensen 2022 [V-src] (drug-free remission kept after B cells reappeared, with "
            "anti-dsDNA seroconversion; docs/calibration.md §13; was 80, before that 40): "
            "re-fitted once the CAR-T exhaustion state (issue 10) made B cells return at "
            "Mackensen's 110 +/- 32 d instead of ~130-150 d (with 80 the earlier return "
            "re-ignited the loop in ~30 % of Mackensen-like patients); the largest value that "
            "keeps the lowest stable untreated score at 7 and 6 on 5 mg/day prednisone "
            "(CORTICOLUP patients; 100, the stage-2b optimum of §4, raises it to 8). The "
            "loop's re-ignition threshold is then ~37 IU/mL for a SLEDAI-16 patient scored on "
            "9 mg/day prednisone (53 untreated), about the positivity cut-off (12 IU/mL with "
            "40).",
            "Range 20-150 IU/mL. Mechanism: Leadbetter 2002 [UNVERIFIED]. It and n_ic set the "
            "remission threshold of the loop and the lowest attainable disease SLEDAI (7 "
            "untreated with 80 and 90; 5 with 40)."),
         (1e-3, 1e4)),
        ("n_ic", 4.0, "dimensionless", "Hill coefficient of immune-complex activation",
         _a("nksim immune-complex cooperativity", "n_ic = 4: a switch-like threshold (BCR "
            "cross-linking plus TLR engagement), giving a bistable loop.",
            "Range 2-6. n <= 1 would remove bistability and with it any drug-free remission; "
            "(AB <= 0 is guarded, so non-integer n is safe)."),
         (1.0, 8.0)),
        ("rho_PB", 16.0, "dimensionless", "plasmablasts produced per activated B cell",
         _a("nksim plasmablast burst", "16 = four divisions of an activated B cell before "
            "plasmablast differentiation.", "Range 4-64."), (0.0, 1e4)),
        ("d_PB", 0.3, "1/day", "plasmablast death and exit rate",
         _a("nksim plasmablast lifetime", "Plasmablasts are short-lived (days): half-life "
            "2.3 days.", "Range 0.1-1/day (half-life 0.7-7 days); SLE plasmablasts "
            "[UNVERIFIED]: Odendahl 2000, Jacobi 2003."), (1e-3, 100.0)),
        ("f_LL", _F_LL, "1/day", "rate of plasmablast entry into the long-lived plasma-cell pool",
         _a("nksim LLPC entry", "Calibrated (docs/calibration.md; was 6e-5, a 3 % share): CD19-"
            "negative long-lived plasma cells make about 1 % of anti-dsDNA at steady state "
            "(f_LL/d_LL = 0.011), so that anti-dsDNA seroconverts in every Mackensen-like "
            "patient after CD19 CAR-T, as reported (Mackensen 2022 [V-src]), while CD19-negative "
            "plasma cells keep protective titres (Bhoj 2016 [V-src]: anti-dsDNA comes mostly "
            "from CD19+ plasmablasts).",
            "Range 1e-5 to 1e-3 per day (LLPC share 0.5-35 %); the share is larger for other "
            "autoantibodies (anti-Sm/Ro; Hiepe 2011 [UNVERIFIED])."), (0.0, 1.0)),
        ("d_LL", math.log(2) / 365.0, "1/day", "death rate of long-lived plasma cells",
         _a("nksim LLPC lifetime", "Half-life 1 year for autoreactive long-lived plasma cells.",
            "Range 0.25-10+ years: protective antibody titres persist for years to decades "
            "(Amanna 2007; Hiepe 2011 [UNVERIFIED]); CD19-directed cells do not kill them. "
            "Lower bound 1e-6/day: without LLPC death there is no disease equilibrium and the "
            "plasmablast share of the inflammatory drive (f_INF_PB) is undefined."),
         (1e-6, 10.0)),
        ("p_PB", _P_SECRETION, "IU*uL/(mL*cell*day)", "anti-dsDNA secretion per plasmablast",
         _a("nksim antibody secretion", "0.79 IU/mL per day per plasmablast/uL: 33 "
            "plasmablasts/uL sustain 375 IU/mL (SLEDAI 16) with the SLE anti-dsDNA half-life "
            "of 9.6 days (0.36 with the former 21 days: secretion scaled with clearance, so "
            "the plasmablast count per IU/mL is unchanged; docs/calibration.md §15).",
            "Assay-dependent scale; 0.1-2 plausible."), (0.0, inf)),
        ("p_LL", _P_SECRETION, "IU*uL/(mL*cell*day)",
         "anti-dsDNA secretion per long-lived plasma cell",
         _a("nksim LLPC secretion", "Equal to p_PB; only the product f_LL p_LL / d_LL matters at "
            "steady state.", "0.1-3; plasma cells secrete at least as much as plasmablasts."),
         (0.0, inf)),
        ("d_AB", math.log(2) / _AB_HALF_LIFE, "1/day",
         "anti-dsDNA IgG clearance rate (half-life 9.6 days: IgG hypercatabolism in SLE, "
         "the normal 21 days x 8.2/18; range 8.2-21 days)",
         IGG_HYPERCATABOLISM_SLE, (1e-4, 10.0)),
        ("s_C3", _C3_NORMAL * _D_C3, "mg/dL/day", "C3 synthesis rate",
         _a("nksim C3 synthesis", "s_C3 = d_C3 x 130 mg/dL (normal C3).",
            "Normal C3 90-180 mg/dL (Petz 1968 [V-src]: 100-187). Low C3 in SLE is partly "
            "reduced synthesis (Sliwinski 1972 [V-src]); not modelled."), (0.0, inf)),
        ("d_C3", _D_C3, "1/day", "C3 fractional catabolic rate (2.12 %/h)", C3_TURNOVER,
         (1e-3, 100.0)),
        ("k_C3", k_c3, "1/day", "maximal extra C3 consumption by immune complexes",
         _a("nksim C3 consumption", "Saturating consumption; at saturation C3 falls to 45 mg/dL.",
            "Floor 30-70 mg/dL (severe lupus nephritis C3 is often 40-60 mg/dL)."), (0.0, inf)),
        ("K_C3", K_c3, "IU/mL", "anti-dsDNA for half-maximal C3 consumption",
         _a("nksim C3 consumption threshold", "Chosen so that C3 reaches 90 mg/dL at anti-dsDNA "
            "40 IU/mL: low complement accompanies positive anti-dsDNA (a simplification).",
            "Range 50-500 IU/mL; a larger value keeps C3 normal in milder disease."),
         (1e-3, inf)),
        ("k_INF", d_inf / _AB_PER_POINT, "mL/(IU*day)", "tissue inflammation caused per anti-dsDNA",
         _a("nksim inflammation gain", "k_INF = d_INF / 30: at steady state without steroids "
            "30 IU/mL of anti-dsDNA (the positivity cut-off) gives one clinical SLEDAI point. "
            "With the SLE IgG half-life of 9.6 days (hypercatabolism), anti-dsDNA falls below "
            "the cut-off about 6-7 weeks after plasmablast removal also for a SLEDAI-16 "
            "baseline scored on prednisone (~800 IU/mL), as Mackensen 2022 reports by 3 "
            "months (with the normal 21 days it took ~3-5 months: docs/calibration.md §15).",
            "20-100 IU/mL per point; the correlation of anti-dsDNA with clinical activity is "
            "loose in patients (69 % anti-dsDNA positive in BLISS at mean SLEDAI 9.7)."),
         (0.0, inf)),
        ("d_INF", d_inf, "1/day", "resolution rate of tissue inflammation",
         _a("nksim inflammation resolution", "Half-life 7 days: clinical features (rash, "
            "arthritis, serositis) settle over 1-3 weeks once the drive stops.",
            "Range 0.02-0.35/day (half-life 2-35 days; nephritis slower)."), (1e-4, 100.0)),
        ("d_FLT", 0.05, "1/day",
         "decay rate of a flare trigger (half-life 14 days: a flare lasts weeks; calibrated "
         "with the trigger rate and size to CORTICOLUP, docs/calibration.md §11; assumption, "
         "range 0.02-0.2)",
         FLARE_TRIGGERS, (1e-3, 10.0)),
        ("K_FLT", 3.0, "cell/uL",
         "autoreactive plasmablasts at which a flare trigger has half its inflammatory "
         "effect (assumption, range 1-10: about a quarter of the plasmablasts of the least "
         "active disease steady state, 11 cells/uL at SLEDAI 6 on 5 mg/day)", FLARE_TRIGGERS,
         (1e-3, 1e4)),
        ("f_INF_PB", _F_INF_PB, "dimensionless",
         "share of the inflammatory drive carried by autoreactive B-lineage cells (plasmablasts) "
         "rather than by circulating anti-dsDNA",
         _F_INF_PB_SOURCE, (0.0, 1.0)),
        ("Emax_INF", 0.8, "dimensionless", "maximal glucocorticoid suppression of inflammation",
         _a("nksim glucocorticoid efficacy on inflammation", "80 %: high-dose glucocorticoid "
            "controls most, not all, lupus inflammation.", "Range 0.5-0.95."), (0.0, 1.0)),
        ("Emax_auto", 0.3, "dimensionless",
         "maximal glucocorticoid suppression of autoreactive B-cell activation",
         _a("nksim glucocorticoid efficacy on B cells", "30 %: glucocorticoids dampen B-cell "
            "activation and plasmablasts modestly; plasma cells are resistant.",
            "Range 0.1-0.6."), (0.0, 1.0)),
    ]


_EXPRESSIONS = {
    "sle_act": (
        "k_auto*(1 - Emax_auto*gc_effect)"
        "*Piecewise((0, AB <= 0), ((AB/K_ic)**n_ic/(1 + (AB/K_ic)**n_ic), True))",
        "1/day",
        "activation rate of a B cell into plasmablasts by autoantibody immune complexes",
    ),
    "sle_c3_use": ("k_C3*AB/(AB + K_C3)", "1/day", "fractional C3 consumption by immune complexes"),
    "sle_inf_drive": (
        "(1 - f_INF_PB)*AB + f_INF_PB*(p_PB + p_LL*f_LL/d_LL)/d_AB*PB",
        "IU/mL",
        "inflammatory drive: circulating anti-dsDNA and autoreactive plasmablast activity "
        "(in anti-dsDNA equivalents; equal to AB at every equilibrium)",
    ),
}
_TERMS = {
    "BPRE": ["s_B", "-k_pre*BPRE"],
    "BTR": ["k_pre*BPRE", "-k_tr*BTR"],
    "B": ["k_tr*BTR", "-d_B*B", "-sle_act*B"],
    "PB": ["rho_PB*sle_act*B", "-(d_PB + f_LL)*PB"],
    "LLPC": ["f_LL*PB", "-d_LL*LLPC"],
    "AB": ["p_PB*PB + p_LL*LLPC", "-d_AB*AB"],
    "C3": ["s_C3 - d_C3*C3", "-sle_c3_use*C3"],
    "INF": ["k_INF*(1 - Emax_INF*gc_effect)*sle_inf_drive", "-d_INF*INF",
            "d_INF*(1 - Emax_INF*gc_effect)*FLT*PB/(PB + K_FLT)"],
    "FLT": ["-d_FLT*FLT"],
}
_DESCRIPTIONS = {
    "BPRE": ("cell/uL", "CD19+ pro/pre-B cells in the marrow (blood-equivalent)"),
    "BTR": ("cell/uL", "CD19+ transitional B cells (newly emigrated from the marrow)"),
    "B": ("cell/uL", "CD19+ naive/memory B cells"),
    "PB": ("cell/uL", "CD19+ plasmablasts (short-lived)"),
    "LLPC": ("cell/uL", "CD19-negative long-lived plasma cells (blood-equivalent)"),
    "AB": ("IU/mL", "anti-dsDNA autoantibody"),
    "C3": ("mg/dL", "complement C3 (consumed by immune complexes)"),
    "INF": ("dimensionless", "tissue inflammation index (0 = none; 1 unit = 1 clinical "
            "SLEDAI-2K point)"),
    "FLT": ("dimensionless", "extrinsic flare trigger (infection, UV; in INF units, dosed)"),
}


# ====================================================================== component and model
def sle_disease_component() -> Component:
    """The SLE disease component (states ``B, PB, LLPC, AB, C3, INF``).

    The default parameter values and initial states are the untreated steady state with
    SLEDAI-2K 16 (the median baseline of Mackensen 2022); use :func:`sle_initial_state` to
    start each virtual patient at its own baseline. It uses ``gc_effect`` from
    :func:`nksim.disease.steroid_component`, which must come first in ``compose``.
    CAR components add their kill terms to ``B`` and ``PB`` (never to ``LLPC``).
    """
    table = _parameters()
    values = {name: value for name, value, *_ in table}
    p = _P(values)
    k_auto, ab = _solve_target(p, DEFAULT_BASELINE_SLEDAI, 0.0, 0.0, DEFAULT_MAPPING)
    values["k_auto"] = k_auto
    p = _P(values)
    start = _states_from_ab(p, ab, 0.0, 0.0)
    params = tuple(
        Parameter(name, values[name], unit, desc, source, bounds)
        for name, _v, unit, desc, source, bounds in table
    )
    states = tuple(State(n, _DESCRIPTIONS[n][0], _DESCRIPTIONS[n][1], float(start[n]))
                   for n in SLE_STATES)
    refs = (MACKENSEN2022, MACALLAN2005, B_COUNTS, B_LYMPHOPOIESIS, RITUXIMAB_REPOPULATION,
            FLARE_TRIGGERS, SLE_PLASMABLASTS, LLPC_AUTOIMMUNITY,
            CHAN1999, BHOJ2016, IMMUNE_COMPLEX_BCR_TLR, IGG_HALF_LIFE, IGG_HYPERCATABOLISM_SLE,
            WOCHNER1970, C3_TURNOVER,
            C3_SYNTHESIS_SLE, SLEDAI_SURROGATE, SEVERITY_MAPPING)
    return Component(
        name="sle",
        description=(
            "Systemic lupus erythematosus: CD19+ B cells from marrow pro/pre-B and transitional "
            "stages, immune-complex-driven "
            "activation into CD19+ plasmablasts, CD19-negative long-lived plasma cells, "
            "anti-dsDNA, complement C3 consumption and tissue inflammation, with "
            "glucocorticoid suppression of inflammation and B-cell activation."
        ),
        states=states,
        parameters=params,
        expressions=dict(_EXPRESSIONS),
        terms={k: list(v) for k, v in _TERMS.items()},
        requires=(GC_STATE, GC_EFFECT_STATE),
        references=refs,
        notes=(
            "Bistable: active disease and drug-free remission (PB = LLPC = AB = INF = 0) are "
            "both stable; k_auto (severity) is set from the baseline SLEDAI-2K.",
            "Untreated steady state: see nksim.disease.sle_steady_state / sle_initial_state.",
            "B cells come from the marrow through CD19+ pro/pre-B (BPRE) and transitional (BTR) "
            "stages: after a depletion that empties them, B returns after a lag of weeks.",
            "Flare triggers (FLT, dosed) act only where autoreactive plasmablasts are present.",
            "Inflammation is driven by anti-dsDNA and, with share f_INF_PB, by the autoreactive "
            "plasmablasts (equal at every equilibrium; faster fall after CD19 depletion).",
        ),
    )


def sle_model(*extra: Component, name: str = "sle", title: str | None = None) -> Model:
    """The glucocorticoid and SLE components composed (plus ``extra`` components, e.g. CAR cells).

    Parameters
    ----------
    *extra : further components, composed after the disease (they may add terms to ``B``,
        ``PB`` or any other state).
    name, title : model name and title.
    """
    return compose(
        name,
        title or "SLE disease model with glucocorticoids",
        "B cells, plasmablasts, long-lived plasma cells, anti-dsDNA, C3 and tissue "
        "inflammation (nksim.disease), with prednisone-equivalent glucocorticoid.",
        [steroid_component(), sle_disease_component(), *extra],
    )


# ====================================================================== steady states
class _P:
    """One patient's parameter values by name (attribute access)."""

    def __init__(self, values: Mapping[str, float]):
        self.__dict__.update({k: float(v) for k, v in values.items()})


def _gc_effect(p: _P, prednisone: float) -> float:
    if prednisone <= 0:
        return 0.0
    dose = prednisone / p.weight_GC
    return dose / (p.ED50_GC + dose)


def _gain(p: _P) -> float:
    """Largest possible anti-dsDNA, G (IU/mL): all marrow output activated."""
    per_pb = (p.p_PB + p.p_LL * p.f_LL / p.d_LL) / p.d_AB if p.d_LL > 0 else math.inf
    return per_pb * p.rho_PB * p.s_B / (p.d_PB + p.f_LL)


def _hill(p: _P, ab: float) -> float:
    x = (max(ab, 0.0) / p.K_ic) ** p.n_ic
    return x / (1.0 + x)


def _c3(p: _P, ab: float) -> float:
    return p.s_C3 / (p.d_C3 + p.k_C3 * ab / (ab + p.K_C3))


def _states_from_ab(p: _P, ab: float, e_gc: float, prednisone: float) -> dict[str, float]:
    """Steady state with anti-dsDNA ``ab`` on the loop (``0 <= ab < G``)."""
    phi = ab / _gain(p)
    a = p.d_B * phi / (1.0 - phi)
    B = p.s_B / (p.d_B + a)
    PB = p.rho_PB * a * B / (p.d_PB + p.f_LL)
    LLPC = p.f_LL * PB / p.d_LL if p.d_LL > 0 else 0.0
    gc = prednisone / p.k_GC if prednisone > 0 else 0.0
    return {
        "BPRE": p.s_B / p.k_pre, "BTR": p.s_B / p.k_tr,
        "B": B, "PB": PB, "LLPC": LLPC, "AB": ab, "C3": _c3(p, ab),
        "INF": (1.0 - p.Emax_INF * e_gc) * p.k_INF * ab / p.d_INF, "FLT": 0.0,
        GC_STATE: gc, GC_EFFECT_STATE: gc,
    }


def _score(p: _P, ab: float, e_gc: float, mapping: SledaiMapping) -> int:
    inf = (1.0 - p.Emax_INF * e_gc) * p.k_INF * ab / p.d_INF
    return int(mapping.clinical_points(inf) + mapping.anti_dsdna_points(ab)
               + mapping.complement_points(_c3(p, ab)))


def _stable_from(p: _P) -> float:
    """Lowest anti-dsDNA with loop slope n (1 - h)(1 - AB/G) <= margin on the disease branch."""
    G = _gain(p)
    if p.n_ic <= _STABILITY_MARGIN:
        return 0.0

    if not (math.isfinite(G) and G > 0):
        raise ValueError(f"the largest possible anti-dsDNA is {G!r} IU/mL (not a positive "
                         "finite number)")

    def slope(ab):
        return p.n_ic * (1.0 - _hill(p, ab)) * (1.0 - ab / G) - _STABILITY_MARGIN

    lo = G * 1e-12
    if not slope(lo) > 0:  # saturated already (K_ic << G): the root is in [0, lo]
        return brentq(slope, 0.0, lo, xtol=1e-12 * lo, rtol=1e-13)
    return brentq(slope, lo, G, xtol=1e-12 * G, rtol=1e-13)


def _segments(p: _P, e_gc: float, mapping: SledaiMapping) -> list[tuple[float, float, int]]:
    """Disease-branch anti-dsDNA intervals ``(lo, hi, SLEDAI)`` where the score is constant."""
    G = _gain(p)
    lo, hi = _stable_from(p), 0.95 * G
    cuts = {lo, hi, mapping.anti_dsdna_positive}
    inf_per_ab = (1.0 - p.Emax_INF * e_gc) * p.k_INF / p.d_INF
    if inf_per_ab > 0:
        step = mapping.inf_per_point / inf_per_ab
        j_max = min(SLEDAI_CLINICAL_MAX, math.floor(hi / step) + 1)
        cuts.update(j * step for j in range(1, j_max + 1))
    x = (p.s_C3 / mapping.c3_low - p.d_C3) / p.k_C3 if p.k_C3 > 0 else -1.0
    if 0.0 < x < 1.0:
        cuts.add(x * p.K_C3 / (1.0 - x))
    pts = sorted(c for c in cuts if lo <= c <= hi)
    return [(a, b, _score(p, 0.5 * (a + b), e_gc, mapping))
            for a, b in zip(pts[:-1], pts[1:], strict=True) if b > a]


def _solve_target(p: _P, sledai: int, prednisone: float, e_gc: float,
                  mapping: SledaiMapping) -> tuple[float, float]:
    """``(k_auto, AB)`` of the steady state with this SLEDAI-2K (0 -> remission)."""
    if sledai == 0:
        if _score(p, 0.0, e_gc, mapping) != 0:
            raise ValueError("the remission state does not score 0 (normal C3 below c3_low?)")
        return 0.0, 0.0
    blocks = [(a, b) for a, b, s in _segments(p, e_gc, mapping) if s == sledai]
    if not blocks:
        raise ValueError(sledai)
    lo, hi = blocks[0][0], blocks[0][1]
    for a, b in blocks[1:]:  # merge contiguous intervals with the same score
        if math.isclose(a, hi, rel_tol=1e-12):
            hi = b
    ab = 0.5 * (lo + hi)
    G = _gain(p)
    phi = ab / G
    a_eff = p.d_B * phi / (1.0 - phi)
    return a_eff / ((1.0 - p.Emax_auto * e_gc) * _hill(p, ab)), ab


def _disease_branch_ab(p: _P, e_gc: float) -> float:
    """Anti-dsDNA of the disease steady state (largest root of the loop), 0 if there is none."""
    G = _gain(p)
    if p.k_auto <= 0:
        return 0.0
    k = p.k_auto * (1.0 - p.Emax_auto * e_gc)

    def g(ab):
        a = k * _hill(p, ab)
        return G * a / (p.d_B + a) - ab

    grid = G * np.geomspace(1e-9, 1.0, 4001)
    x = (grid / p.K_ic) ** p.n_ic
    act = k * x / (1.0 + x)
    vals = G * act / (p.d_B + act) - grid
    pos = np.flatnonzero(vals > 0)
    if pos.size == 0:
        return 0.0
    i = pos[-1]
    if i + 1 >= grid.size:
        return G
    return brentq(g, grid[i], grid[i + 1], xtol=1e-14 * G, rtol=1e-15)


# ====================================================================== public API
@dataclass(frozen=True)
class SleBaseline:
    """Virtual patients at their baseline steady state (see :func:`sle_initial_state`).

    Attributes
    ----------
    parameters : (patient, parameter) array with ``k_auto`` set, for ``simulate``.
    initial : (patient, state) array: SLE and glucocorticoid states at steady state, other
        states at the model's defaults.
    values : ``{state: (patient,) array}`` for the SLE and glucocorticoid states.
    k_auto : (patient,) disease severity, 1/day.
    """

    parameters: np.ndarray
    initial: np.ndarray
    values: dict[str, np.ndarray]
    k_auto: np.ndarray


def _parameter_rows(model: Model, parameters: ParameterInput) -> np.ndarray:
    missing = [n for n in (*SLE_STATES, GC_STATE, GC_EFFECT_STATE) if n not in model.state_names]
    if missing:
        raise UserError(f"model {model.name!r} lacks the SLE states {missing}", field="model")
    base = model.parameter_vector()
    if parameters is None:
        return base[None, :].copy()
    if isinstance(parameters, Mapping):
        row = base.copy()
        for name, value in parameters.items():
            model.parameter(name, field=f"parameters.{name}")
            row[model.parameter_names.index(name)] = float(value)
        return row[None, :]
    rows = np.atleast_2d(np.asarray(parameters, dtype=float)).copy()
    if rows.shape[1] != base.size:
        raise UserError(f"expected {base.size} parameter columns, got {rows.shape[1]}",
                        field="parameters")
    return rows


def _broadcast(model: Model, parameters: ParameterInput, sledai: ArrayLike,
               prednisone: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameter rows, scores and doses with one entry per patient."""
    rows = _parameter_rows(model, parameters)
    n = max(rows.shape[0], np.size(sledai), np.size(prednisone))
    if rows.shape[0] == 1 and n > 1:
        rows = np.repeat(rows, n, axis=0)
    return (rows, _per_patient(sledai, n, "sledai"),
            _per_patient(prednisone, n, "prednisone_mg_per_day"))


def _per_patient(value, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise UserError(f"expected a number or {n} values, got shape {arr.shape}", field=name)
    return arr


def attainable_sledai(model: Model, parameters: ParameterInput = None, *,
                      prednisone_mg_per_day: float = 0.0,
                      mapping: SledaiMapping = DEFAULT_MAPPING) -> list[int]:
    """Baseline SLEDAI-2K scores that a steady state of these parameters can have.

    0 is remission; disease scores start where the loop becomes stable (5 with the default
    parameters) and are contiguous except where a serology item switches inside a clinical
    point. Uses the first patient's parameters.
    """
    p = _P(dict(zip(model.parameter_names, _parameter_rows(model, parameters)[0], strict=True)))
    e_gc = _gc_effect(p, prednisone_mg_per_day)
    scores = {0} | {s for _a, _b, s in _segments(p, e_gc, mapping)}
    return sorted(s for s in scores if s <= SLEDAI_MAX)


def severity_for_sledai(model: Model, parameters: ParameterInput, sledai: ArrayLike, *,
                        prednisone_mg_per_day: ArrayLike = 0.0,
                        mapping: SledaiMapping = DEFAULT_MAPPING) -> np.ndarray:
    """Disease severity ``k_auto`` (1/day) whose steady state has the given SLEDAI-2K.

    The steady state is untreated, or on a constant background prednisone-equivalent dose.
    Among the anti-dsDNA levels whose score equals ``sledai`` on the stable disease branch,
    the middle of the interval is taken (for scores above the serology range: clinical
    points + 0.5 INF units), so that the score is robust to round-off. ``sledai = 0`` gives
    ``k_auto = 0`` (no autoimmunity).

    Parameters
    ----------
    model : a model containing the SLE and glucocorticoid components.
    parameters : ``None`` (model values), ``{name: value}`` overrides, or an array
        ``(parameter,)`` / ``(patient, parameter)`` in the model's order.
    sledai : integer baseline SLEDAI-2K, one or per patient.
    prednisone_mg_per_day : background dose at baseline, one or per patient.

    Returns
    -------
    numpy.ndarray, shape ``(patient,)``.

    Raises
    ------
    UserError
        If a score cannot be a stable steady state for a patient's parameters (too low for
        the disease branch, above the maximum, or skipped at a serology threshold); the
        message lists the attainable scores.
    """
    rows, scores, pred = _broadcast(model, parameters, sledai, prednisone_mg_per_day)
    out = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        out[i] = _severity_one(model, row, scores[i], pred[i], mapping, i)[0]
    return out


def _severity_one(model, row, score, pred, mapping, i) -> tuple[float, float, _P, float]:
    if score != round(score) or not 0 <= score <= SLEDAI_MAX:
        raise UserError(f"SLEDAI-2K must be an integer 0-{SLEDAI_MAX}, got {score!r}",
                        field="sledai")
    if not (math.isfinite(pred) and pred >= 0):
        raise UserError(f"must be >= 0, got {pred!r}", field="prednisone_mg_per_day")
    p = _P(dict(zip(model.parameter_names, row, strict=True)))
    e_gc = _gc_effect(p, pred)
    try:
        k_auto, ab = _solve_target(p, int(score), pred, e_gc, mapping)
    except (ValueError, ArithmeticError) as exc:
        try:
            ok = attainable_sledai(model, row, prednisone_mg_per_day=pred, mapping=mapping)
        except (ValueError, ArithmeticError):  # e.g. no root of the loop's stability bound
            raise _no_steady_state(i, str(exc)) from None
        raise UserError(
            f"patient {i}: SLEDAI-2K {int(score)} is not a stable steady state of this patient's "
            f"parameters (attainable: 0 and {_ranges(ok)})", field="sledai") from None
    if not (math.isfinite(k_auto) and math.isfinite(ab)):
        raise _no_steady_state(i, f"k_auto = {k_auto!r}, anti-dsDNA = {ab!r}")
    return k_auto, ab, p, e_gc


def _no_steady_state(i: int, detail: str, field: str = "sledai") -> UserError:
    return UserError(f"patient {i}: no baseline steady state found for this patient's "
                     f"parameters ({detail})", field=field)


def _finite_states(p: _P, ab: float, e_gc: float, pred: float, names: Sequence[str], i: int,
                   field: str) -> dict[str, float]:
    """:func:`_states_from_ab`, refused (naming ``field``) if a state is not finite."""
    state = _states_from_ab(p, ab, e_gc, pred)
    bad = [s for s in names if not math.isfinite(state[s])]
    if bad:
        raise _no_steady_state(i, f"states {bad} are not finite", field)
    return state


def _ranges(values: Sequence[int]) -> str:
    vals = [v for v in values if v > 0]
    if not vals:
        return "none"
    out, start, prev = [], vals[0], vals[0]
    for v in [*vals[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(out)


def sle_initial_state(model: Model, parameters: ParameterInput, sledai: ArrayLike, *,
                      prednisone_mg_per_day: ArrayLike = 0.0,
                      mapping: SledaiMapping = DEFAULT_MAPPING) -> SleBaseline:
    """Virtual patients in equilibrium at their baseline SLEDAI-2K.

    Sets ``k_auto`` with :func:`severity_for_sledai` and returns the steady state of the SLE
    states (and of ``GC``/``GCE`` for a constant background dose of
    ``prednisone_mg_per_day``, given as a zero-order infusion), with IL-6 and IFN-gamma at
    each patient's own baselines (``il6_base``, ``ifng_base``). Patients starting here stay
    here until treated (the right-hand side is zero).

    Parameters
    ----------
    model, parameters, sledai, prednisone_mg_per_day : as in :func:`severity_for_sledai`.

    Returns
    -------
    SleBaseline
        ``parameters`` and ``initial`` arrays ready for :func:`nksim.engine.simulate`.
    """
    rows, scores, pred = _broadcast(model, parameters, sledai, prednisone_mg_per_day)
    n = rows.shape[0]
    k_index = model.parameter_names.index("k_auto")
    names = (*SLE_STATES, GC_STATE, GC_EFFECT_STATE)
    values = {s: np.empty(n) for s in names}
    initial = np.tile(model.initial_vector(), (n, 1))
    ks = np.empty(n)
    for i in range(n):
        k_auto, ab, p, e_gc = _severity_one(model, rows[i], scores[i], pred[i], mapping, i)
        rows[i, k_index] = ks[i] = k_auto
        state = _finite_states(p, ab, e_gc, pred[i], names, i, "sledai")
        for s in names:
            values[s][i] = state[s]
            initial[i, model.state_names.index(s)] = state[s]
    for state, base in (("IL6", "il6_base"), ("IFNG", "ifng_base")):  # untreated: at base
        if state in model.state_names:
            initial[:, model.state_names.index(state)] = \
                rows[:, model.parameter_names.index(base)]
    return SleBaseline(parameters=rows, initial=initial, values=values, k_auto=ks)


def sle_steady_state(model: Model, parameters: ParameterInput = None, *,
                     prednisone_mg_per_day: ArrayLike = 0.0,
                     branch: str = "disease") -> dict[str, np.ndarray]:
    """Steady state for given parameters (``k_auto`` as set) and a constant prednisone dose.

    Parameters
    ----------
    branch : ``"disease"`` (the active-disease equilibrium; remission if the loop has none
        for these parameters and dose) or ``"remission"`` (``PB = LLPC = AB = INF = 0``).

    Returns
    -------
    ``{state: (patient,) array}`` for the SLE and glucocorticoid states.
    """
    if branch not in ("disease", "remission"):
        raise UserError("branch must be 'disease' or 'remission'", field="branch")
    rows = _parameter_rows(model, parameters)
    n = max(rows.shape[0], np.size(prednisone_mg_per_day))
    if rows.shape[0] == 1 and n > 1:
        rows = np.repeat(rows, n, axis=0)
    pred = _per_patient(prednisone_mg_per_day, n, "prednisone_mg_per_day")
    names = (*SLE_STATES, GC_STATE, GC_EFFECT_STATE)
    out = {s: np.empty(n) for s in names}
    for i, row in enumerate(rows):
        p = _P(dict(zip(model.parameter_names, row, strict=True)))
        e_gc = _gc_effect(p, pred[i])
        ab = _disease_branch_ab(p, e_gc) if branch == "disease" else 0.0
        state = _finite_states(p, ab, e_gc, pred[i], names, i, "parameters")
        for s in names:
            out[s][i] = state[s]
    return out
