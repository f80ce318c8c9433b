"""Advanced pancreatic adenocarcinoma: tumour model, RECIST 1.1, resectability, OS link.

Research use only (``docs/cancer.md``, pancreatic section). The tumour is one pool of
cells in blood-equivalent units (cell/uL, as the shared NK products' kill laws expect;
``pdac_blood_ul`` per patient converts to cells)::

    dY/dt = pdac_kg Y (1 - Y/pdac_K) - chemo_effect Y - (1 + pdac_nk_gain) x (product kill)

``pdac_kg``: exponential growth (García-Cremades 2018's untreated growth is exponential);
per patient from the volume-doubling-time distribution of untreated PDAC on serial CT
(mean 132.3 +/- 132.1 d, range 20-977 d; V-src), as a log-normal with that mean and SD;
``pdac_K`` (assumption, ~3 L of tumour) only keeps growth finite far beyond survival.
``chemo_effect``: gemcitabine + 5-FU (:mod:`nksim.therapy._chemotherapy`). NK products:
:func:`nksim.therapy._nk_products.product_component`; ``pdac_nk_gain`` is the extra
killing of the solid tumour per unit of the blood-equivalent kill law (homing and
infiltration are not modelled): the ONLY parameter calibrated to Tan 2025's response rate.

Lesions (assumptions): target lesions are spheres; every lesion changes in proportion to
the total volume (``d_i(t) = d_i(0) (V(t)/V(0))^(1/3)``); a lesion below
:data:`DETECTION_MM` has disappeared. RECIST 1.1: :func:`recist_visit_responses`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nksim.model import Citation, Component, Model, Parameter, State, compose
from nksim.therapy._chemotherapy import GARCIA_CREMADES2018, chemotherapy_component
from nksim.therapy._nk_products import NKProduct, product_component

RECIST11 = Citation(
    "RECIST 1.1",
    "Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid "
    "tumours: revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247.",
    verified="V-src",
    doi="10.1016/j.ejca.2008.10.026",
    note="PMC2755245 Table 3 (science-nk-cancer-ageing.md §3c): CR disappearance; PR >= 30 % "
         "decrease from baseline; PD >= 20 % increase over the nadir and >= 5 mm absolute; "
         "non-nodal targets >= 10 mm; <= 5 targets, <= 2 per organ.",
)
PDAC_CT_GROWTH = Citation(
    "PDAC serial CT 2014",
    "Time to progression of pancreatic cancer: evaluation with multi-detector CT (n = 100 "
    "untreated; authors not recorded).",
    verified="V-src",
    note="Diameter 1.0-6.2 cm (mean 2.9); volume doubling time 20.0-976.8 d, mean 132.3 "
         "+/- 132.1 d (science-nk-cancer-ageing.md §4e).",
)
TAN2025_CALIBRATION = Citation(
    "nksim pancreatic calibration",
    "Fitted by hand to Tan 2025 NK + GS (19 evaluable): ORR 31.6 % (pdac_nk_gain) and "
    "median OS 10.8 months (os_log_median_days); see docs/calibration.md.",
    verified="assumption",
    note="Targets V-src (science.md §4); fitted values are nksim's. GS alone is NOT "
         "calibrated.",
)
PDAC_ASSUMPTION = Citation(
    "nksim pancreatic assumption",
    "Chosen by nksim where no published value was found; the description gives the range.",
    verified="assumption",
)
RESECTABILITY_ASSUMPTION = Citation(
    "nksim resectability rule",
    "ASSUMPTION: conversion to resection when a locally advanced (non-metastatic) tumour "
    "reaches a RECIST partial or complete response with the primary <= 30 mm at an "
    "assessment before progression. Real criteria (NCCN) rest on vascular contact, which "
    "the model does not represent.",
    verified="assumption",
)

#: Volume doubling time of untreated PDAC (days): log-normal with the published mean and SD.
DT_MEAN_DAYS = 132.3
DT_SD_DAYS = 132.1
DT_RANGE_DAYS = (20.0, 976.8)
DT_SIGMA = math.sqrt(math.log(1.0 + (DT_SD_DAYS / DT_MEAN_DAYS) ** 2))
DT_MEDIAN_DAYS = DT_MEAN_DAYS / math.sqrt(1.0 + (DT_SD_DAYS / DT_MEAN_DAYS) ** 2)
#: Tumour cells per mL (assumption, range 1e8-1e9: desmoplastic stroma lowers it).
PDAC_CELLS_PER_ML = 5e8
#: Smallest lesion seen on CT (mm): below it a lesion has "disappeared" (assumption, 2-5).
DETECTION_MM = 3.0
#: RECIST 1.1 thresholds.
PR_DECREASE = 0.30
PD_INCREASE = 0.20
PD_ABSOLUTE_MM = 5.0
MEASURABLE_MM = 10.0
#: Resectability (ASSUMPTION, RESECTABILITY_ASSUMPTION): primary at most this size.
RESECTABLE_PRIMARY_MM = 30.0


def tumour_component(nk_gain: float = 0.0) -> Component:
    """The pancreatic tumour pool (module docstring); chemotherapy acts through
    ``chemo_effect``."""
    return Component(
        name="pancreatic_tumour",
        description="advanced pancreatic adenocarcinoma: one tumour pool, exponential growth",
        states=(State("Y", "cell/uL", "pancreatic tumour cells (blood-equivalent)", 1e4,
                      extinction=1e-6, plausible=(0.0, 1e7)),),
        parameters=(
            Parameter("pdac_kg", math.log(2) / DT_MEDIAN_DAYS, "1/day",
                      f"net growth rate (ln2/volume doubling time; median DT "
                      f"{DT_MEDIAN_DAYS:.1f} d; set per patient)", PDAC_CT_GROWTH,
                      bounds=(0.0, 1.0)),
            Parameter("pdac_K", 3e5, "cell/uL", "carrying capacity (~3 L of tumour at "
                      "5e8 cells/mL in 4.9 L of blood; assumption, only keeps growth finite)",
                      PDAC_ASSUMPTION, bounds=(1.0, 1e9)),
            Parameter("pdac_blood_ul", 4.9e6, "uL", "blood volume (70 mL/kg; per patient): "
                      "blood-equivalent to cells", PDAC_ASSUMPTION, bounds=(1e5, 1e8)),
            Parameter("pdac_cells_per_ml", PDAC_CELLS_PER_ML, "cell/mL", "tumour cells per "
                      "mL (assumption, range 1e8-1e9)", PDAC_ASSUMPTION,
                      bounds=(1e6, 1e10)),
            Parameter("pdac_nk_gain", nk_gain, "dimensionless", "extra killing of the solid "
                      "tumour per unit of the product's blood-equivalent kill law "
                      "(calibrated to Tan 2025 ORR)", TAN2025_CALIBRATION,
                      bounds=(0.0, 1e6)),
        ),
        terms={"Y": ["pdac_kg*Y*(1 - Y/pdac_K)", "-chemo_effect*Y"]},
        requires=("GEMC", "FU"),
        observables={"tumour_ml": ("Y*pdac_blood_ul/pdac_cells_per_ml", "mL",
                                   "tumour volume")},
        references=(PDAC_CT_GROWTH, GARCIA_CREMADES2018, TAN2025_CALIBRATION,
                    PDAC_ASSUMPTION),
    )


def pancreatic_model(product: NKProduct | None = None, *, prefix: str = "NKP",
                     nk_gain: float = 0.0, name: str = "pancreatic") -> Model:
    """Tumour + gemcitabine/S-1 (+ an NK product killing ``Y``, state ``prefix``)."""
    comps = [chemotherapy_component(), tumour_component(nk_gain)]
    if product is not None:
        comps.append(product_component(product, ("Y",), prefix=prefix))
        rate = f"{prefix}_kill*{prefix}*Y/({prefix}_Kkill + Y)"
        comps.append(Component(
            name="nk_solid_tumour",
            description="extra NK killing in the solid tumour (pdac_nk_gain)",
            terms={"Y": f"-pdac_nk_gain*{rate}"},
            requires=("Y", prefix),
            observables={"product_kill": (f"(1 + pdac_nk_gain)*{rate}", "cell/uL/day",
                                          "tumour cells killed by the product per day "
                                          "(CRS surrogate)")},
        ))
    return compose(name, "Advanced pancreatic cancer with gemcitabine/S-1 and NK cells",
                   "Exponential tumour growth (PDAC serial CT), gemcitabine (Jiang 2008) and "
                   "S-1 (Booka) PK with Claret-type inhibition and resistance (derived from "
                   "García-Cremades 2018), allogeneic NK cells (shared product law).", comps)


# ---------------------------------------------------------------- lesions and RECIST 1.1
def lesion_diameters_mm(baseline_mm: Sequence[float], volume_ratio: np.ndarray
                        ) -> np.ndarray:
    """(visit, lesion) diameters (mm): each lesion scales with the cube root of the total
    volume ratio; below :data:`DETECTION_MM` a lesion has disappeared (0)."""
    d0 = np.asarray(baseline_mm, float)
    r = np.cbrt(np.clip(np.asarray(volume_ratio, float), 0.0, None))
    d = np.outer(r, d0)
    return np.where(d < DETECTION_MM, 0.0, d)


def recist_visit_responses(sums_mm: Sequence[float], *, all_gone: Sequence[bool] | None = None,
                           new_lesion: Sequence[bool] | None = None) -> list[str]:
    """RECIST 1.1 target response at each follow-up visit.

    ``sums_mm[0]`` is the baseline sum of diameters, ``sums_mm[1:]`` the visits.
    ``all_gone[i]``: every target has disappeared at visit i (default: sum == 0).
    PD: sum >= 1.2 x nadir (smallest sum so far, baseline included) and >= nadir + 5 mm,
    or a new lesion; CR: all gone; PR: sum <= 0.7 x baseline; SD otherwise.
    """
    s = np.asarray(sums_mm, float)
    if s.ndim != 1 or s.size < 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sums_mm: finite non-negative sums, baseline first")
    if s[0] <= 0:
        raise ValueError("sums_mm: the baseline sum must be > 0 (measurable disease)")
    n = s.size - 1
    gone = [v == 0 for v in s[1:]] if all_gone is None else list(all_gone)
    new = [False] * n if new_lesion is None else list(new_lesion)
    out: list[str] = []
    nadir = s[0]
    for i in range(1, s.size):
        v = s[i]
        if new[i - 1] or (v >= (1.0 + PD_INCREASE) * nadir and v - nadir >= PD_ABSOLUTE_MM):
            out.append("PD")
        elif gone[i - 1]:
            out.append("CR")
        elif v <= (1.0 - PR_DECREASE) * s[0]:
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, v)
    return out


_RANK = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}


def best_overall_response(responses: Sequence[str], visit_days: Sequence[float] | None = None,
                          *, sd_min_days: float = 42.0) -> str:
    """Best response up to the first PD (unconfirmed; SD needs a visit >= ``sd_min_days``,
    RECIST's minimum interval, assumption 6 weeks). No visit: ``"NE"``."""
    if not responses:
        return "NE"
    days = list(visit_days) if visit_days is not None else [math.inf] * len(responses)
    best = "NE"
    for r, d in zip(responses, days, strict=True):
        if r == "SD" and d < sd_min_days:
            continue
        if best == "NE" or _RANK[r] < _RANK[best]:
            best = r
        if r == "PD":
            break
    return best


def first_progression_day(responses: Sequence[str], visit_days: Sequence[float]) -> float:
    """Day of the first PD visit, NaN if none."""
    for r, d in zip(responses, visit_days, strict=True):
        if r == "PD":
            return float(d)
    return math.nan


def resection_conversion(responses: Sequence[str], primary_mm: Sequence[float],
                         metastatic: bool) -> bool:
    """ASSUMPTION (:data:`RESECTABILITY_ASSUMPTION`): non-metastatic, PR or CR with the
    primary <= :data:`RESECTABLE_PRIMARY_MM` at a visit before the first PD."""
    if metastatic:
        return False
    for r, d in zip(responses, primary_mm, strict=True):
        if r == "PD":
            return False
        if r in ("CR", "PR") and d <= RESECTABLE_PRIMARY_MM:
            return True
    return False


# ---------------------------------------------------------------- tumour dynamics -> OS
#: Log-normal OS on the week-8 tumour-size ratio (Claret-type link, structure UNVERIFIED):
#: log(OS days) = os_log_median_days - os_tsr_slope x TSR8 + OS_SIGMA z, TSR8 = relative
#: change of the true tumour sum of diameters at day 56 (>= -1).
OS_SIGMA = 0.6  # assumption, range 0.4-0.9
OS_TSR_DAY = 56.0
#: Calibrated to Tan 2025 NK + GS median OS 10.8 months (docs/calibration.md).
OS_LOG_MEDIAN_DAYS = math.log(270.0)
#: The published effect size (García-Cremades 2018): a responder profile (TSR8 = -0.30,
#: assumption: the PR threshold) lives 30 weeks longer (median) than a stable one (TSR8 = 0).
OS_RESPONDER_GAIN_DAYS = 30 * 7.0
RESPONDER_TSR = -0.30


def os_tsr_slope(log_median_days: float = OS_LOG_MEDIAN_DAYS) -> float:
    """Slope such that median OS at TSR8 = -0.30 exceeds that at TSR8 = 0 by 30 weeks."""
    m = math.exp(log_median_days)
    return math.log(1.0 + OS_RESPONDER_GAIN_DAYS / m) / -RESPONDER_TSR


def os_days(tsr8: np.ndarray | float, z: np.ndarray | float,
            log_median_days: float = OS_LOG_MEDIAN_DAYS, sigma: float = OS_SIGMA
            ) -> np.ndarray:
    """Overall survival (days) from the week-8 tumour-size ratio and a standard normal z."""
    tsr = np.clip(np.asarray(tsr8, float), -1.0, 5.0)
    return np.exp(log_median_days - os_tsr_slope(log_median_days) * tsr
                  + sigma * np.asarray(z, float))
