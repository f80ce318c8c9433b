"""NK and comparison cell products for any target (issue 9 §6): definitions and kinetics.

Research use only. A :class:`NKProduct` says what is infused (source of the cells, dose,
purity, viability, schedule, CAR antigen, IL-15 armour, high-affinity CD16 with an
antibody) and how the cells behave once infused (loss, proliferation, host rejection,
in-vivo expansion). :func:`product_component` turns it into a model
:class:`~nksim.model.Component` that kills whichever disease states are named in
``targets``::

    P           = product cells in blood-equivalent units (cell/uL), state name = prefix
    A           = sum of the target states
    rejection   = rej                         (no host T-cell state given), or
                  rej TH/(K_rej + TH)         (host_t="TH")
    dP/dt       = (rho + expand rexp (1 - P/Kexp) - delta - rejection) P
    dX/dt      += - kill adcc P X/(K_kill + A)          for each X in targets
    adcc        = 1 + boost Ab/(K_ab + Ab)     (antibody_state given; hnCD16 products)

``expand`` is 0 or 1 **per patient**: in-vivo expansion of infused NK cells is an event
that happens in a minority of patients (10-36 %, science-nk-cancer-ageing.md §3b), so it
is drawn from each patient's own random stream (:func:`expansion_events`), never applied
as a mean rate. Cytokine support (``"none"``, ``"il2"``, ``"il15"``) and lymphodepletion
change the typical rates (:meth:`NKProduct.kinetics`) and the expansion probability
(:meth:`NKProduct.expansion_probability`). Every value carries its unit and source, or is
labelled an assumption with a range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation, Component, Parameter, State
from nksim.population import patient_rng

#: Extinction threshold of an NK product's blood-equivalent state (cell/uL): 1e-4 cells/uL
#: of blood is 250-500 circulating cells in 2.5-5 L of blood, far below flow-cytometry or
#: qPCR detection (~0.1-1 cell/uL). Below it the product is gone: it cannot expand again
#: (a dose far below it, e.g. 1 cell/kg, does nothing).
PRODUCT_EXTINCTION = 1e-4

Support = Literal["none", "il2", "il15"]
SUPPORTS = ("none", "il2", "il15")
KINDS = ("autologous_nk", "allogeneic_pb_nk", "cord_blood_nk", "ipsc_nk", "nk92",
         "car_nk", "hncd16_nk", "memory_like_nk", "car_t")
#: Stream of :func:`nksim.population.patient_rng` used for the expansion event.
EXPANSION_STREAM = 9001

# ---------------------------------------------------------------- sources
BACHANOVA2014 = Citation(
    "Bachanova 2014",
    "Bachanova V, Cooley S, Defor TE, et al. Clearance of acute myeloid leukemia by "
    "haploidentical natural killer cells is improved using IL-2 diphtheria toxin fusion "
    "protein. Blood 2014;123:3855-3863.",
    verified="V-src",
    note="PMC4064329 (science-nk-cancer-ageing.md §3b): Cy/Flu then haploidentical NK + "
    "IL-2; donor NK expansion in 10 % without IL2DT (n = 42) vs 27 % with IL2DT (n = 15), "
    "median 1000 NK/uL; persistence >= 7 d predicted response.",
)
COOLEY2019 = Citation(
    "Cooley 2019",
    "Cooley S, He F, Bachanova V, et al. First-in-human trial of rhIL-15 and "
    "haploidentical natural killer cell therapy for advanced acute myeloid leukemia. "
    "Blood Adv 2019;3:1970-1980.",
    verified="V-src",
    note="Cy/Flu then haploidentical NK + rhIL-15: robust d14 expansion 36 % (IV, n = 26), "
    "27 % (SC, n = 16) (science-nk-cancer-ageing.md §3b).",
)
RUBNITZ2010 = Citation(
    "Rubnitz 2010",
    "Rubnitz JE, Inaba H, Ribeiro RC, et al. NKAML: a pilot study to determine the safety "
    "and feasibility of haploidentical natural killer cell transplantation in childhood "
    "acute myeloid leukemia. J Clin Oncol 2010;28:955-959.",
    verified="V-src",
    note="Cy/Flu, median 29e6 NK/kg, IL-2 x 6: transient engraftment median 10 d (2-189).",
)
BEDNARSKI2022 = Citation(
    "Bednarski 2022",
    "Bednarski JJ, Zimmerman C, Berrien-Elliott MM, et al. Donor memory-like NK cells "
    "persist and induce remissions in pediatric patients with relapsed AML after "
    "transplant. Blood 2022;139:1670-1683.",
    verified="V-src",
    note="PMC8931511: memory-like NK with donor lymphocytes, no exogenous cytokine, n = 9: "
    "expanded and kept their phenotype > 3 months.",
)
BERRIEN_ELLIOTT = Citation(
    "Berrien-Elliott (N-803)",
    "Haploidentical NK + N-803 (IL-15 superagonist): low persistence of infused NK "
    "attributed to recipient CD8 T-cell alloresponses induced by IL-15/N-803.",
    verified="V-src",
    note="Blood figure caption (science-nk-cancer-ageing.md §3b).",
)
LIU2020 = Citation(
    "Liu E 2020",
    "Liu E, Marin D, Banerjee P, et al. Use of CAR-transduced natural killer cells in "
    "CD19-positive lymphoid tumors. N Engl J Med 2020;382:545-553.",
    verified="V-src",
    doi="10.1056/NEJMoa1910607",
    note="Cord-blood CD19 CAR-NK with IL-15 and iC9 after Flu/Cy: CAR-NK persisted at low "
    "levels >= 12 months.",
)
FT596 = Citation(
    "Ghobadi 2025 (FT596)",
    "Ghobadi A, et al. iPSC-derived CD19 CAR-NK (FT596) with or without rituximab in B-cell "
    "lymphoma. Lancet 2025;405:127.",
    verified="V-src",
    note="Secondary summary: NK cells peaked at day 1 and persisted <= 15 d.",
)
FT516 = Citation(
    "Strati 2025 (FT516)",
    "Strati P, et al. FT516 (iPSC NK with high-affinity non-cleavable CD16) with anti-CD20 "
    "antibody in B-cell lymphoma. Lancet Haematol 2025.",
    verified="V-src",
    doi="10.1016/S2352-3026(25)00142-5",
    note="Flu 30 + Cy 500 mg/m2 d-5..-3; rituximab 375 mg/m2 d-4; FT516 d1, 8, 15 with "
    "IL-2; RP2D 9e8 cells x 3 (science-nk-cancer-ageing.md §3a).",
)
MELLER2004 = Citation(
    "Meller 2004",
    "Meller B, et al. Eur J Nucl Med Mol Imaging 2004;31:403; Brand JM, et al. 2004 "
    "(PubMed 15186726): 111In-labelled allogeneic expanded NK cells in renal carcinoma.",
    verified="V-src",
    doi="10.1007/s00259-003-1398-4",
    note="Without lymphodepletion, donor cells in blood up to 3 days and none at 7 days.",
)
ZHANG2007 = Citation(
    "Zhang 2007",
    "Zhang Y, et al. In vivo kinetics of human natural killer cells. Immunology "
    "2007;121:258-265.",
    verified="V-src",
    doi="10.1111/j.1365-2567.2007.02573.x",
    note="Endogenous NK disappearance 6.9 +/- 4.0 %/d, proliferation 4.3 %/d.",
)
STEIN2019 = Citation(
    "Stein 2019",
    "Stein AM, et al. Tisagenlecleucel model-based cellular kinetic analysis of CAR-T "
    "cells. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295.",
    verified="V-src",
    doi="10.1002/psp4.12388",
    note="Doubling 0.78 d in expansion, post-peak decline alpha 0.16/d, foldx 3900.",
)
MACKENSEN2022 = Citation(
    "Mackensen 2022",
    "Mackensen A, et al. Anti-CD19 CAR T cell therapy for refractory systemic lupus "
    "erythematosus. Nat Med 2022;28:2124-2132.",
    verified="V-src",
    doi="10.1038/s41591-022-02017-5",
    note="1e6 CAR-T cells/kg after Flu/Cy.",
)
TAN2025 = Citation(
    "Tan 2025",
    "Tan et al. Allogeneic NK cells with gemcitabine/S-1 in advanced pancreatic cancer. "
    "Signal Transduct Target Ther 2025, doi 10.1038/s41392-025-02488-1.",
    verified="V-src",
    note="1e9-8e9 allogeneic NK cells; no GVHD or DLT.",
)
ARTICLE_T1 = Citation(
    "Article T1 (zjnews 2026-02-04)",
    "Autologous reinfusion: about 5e9 autologous NK cells, fifth infusion, purity > 95 %.",
    verified="V-src",
    note="The article is the source of the regimen; the outcomes it reports are UNVERIFIED "
    "(science-nk-cancer-ageing.md §5a).",
)
PRODUCT_ASSUMPTION = Citation(
    "nksim product assumption",
    "Chosen by nksim where no published value was found; the description gives the range.",
    verified="assumption",
)
MILLER_CRITERION = Citation(
    "Miller 2005 expansion criterion",
    "> 100 donor NK/uL in blood at day 14 = successful in-vivo expansion (Miller 2005).",
    verified="UNVERIFIED",
)


@dataclass(frozen=True)
class Value:
    """A typical value with its unit, plausible range and source."""

    value: float
    unit: str
    low: float
    high: float
    source: Citation

    def __post_init__(self) -> None:
        if not (self.low <= self.value <= self.high):
            raise ValueError(f"value {self.value} outside its range [{self.low}, {self.high}]")


def _v(value, unit, low, high, source=PRODUCT_ASSUMPTION) -> Value:
    return Value(float(value), unit, float(low), float(high), source)


@dataclass(frozen=True)
class Kinetics:
    """Typical in-vivo kinetics of a product (blood-equivalent pool).

    ``delta`` loss without cytokine support, ``rho`` proliferation, ``rej`` maximal host
    rejection (allogeneic only), ``rexp`` net growth during an expansion event, ``kexp``
    level where expansion stops (cell/uL), ``p_expand`` probability of an expansion event
    by (support, lymphodepleted), ``kill`` and ``k_kill`` killing of targets.
    """

    delta: Value
    rho: Value
    rej: Value
    rexp: Value
    kexp: Value
    p_expand: dict[tuple[str, bool], Value]
    kill: Value = field(default_factory=lambda: _v(1.0, "1/day", 0.3, 3.0))
    k_kill: Value = field(default_factory=lambda: _v(20.0, "cell/uL", 5.0, 200.0))
    adcc_boost: Value = field(default_factory=lambda: _v(0.0, "dimensionless", 0.0, 0.0))


# Support effects shared by NK products (assumptions with ranges, anchored where noted).
#: IL-2 / IL-15 divide the loss rate of infused NK cells by this factor.
SUPPORT_LOSS_FACTOR = {"none": _v(1.0, "dimensionless", 1.0, 1.0),
                       "il2": _v(1.5, "dimensionless", 1.0, 3.0, RUBNITZ2010.anchoring(
                           "Engraftment with IL-2 lasted a median 10 days; the factor is "
                           "nksim's.")),
                       "il15": _v(2.0, "dimensionless", 1.0, 4.0, COOLEY2019.anchoring(
                           "rhIL-15 gave more expansion than IL-2 in earlier trials; the "
                           "factor is nksim's."))}
#: Lymphodepletion multiplies host rejection of allogeneic cells by this factor.
LD_REJECTION_FACTOR = _v(0.2, "dimensionless", 0.05, 0.5, RUBNITZ2010.anchoring(
    "Donor NK cells engrafted transiently after Cy/Flu; the factor is nksim's."))
#: IL-15 raises alloreactive rejection by this factor (Berrien-Elliott).
IL15_REJECTION_FACTOR = _v(1.5, "dimensionless", 1.0, 3.0, BERRIEN_ELLIOTT.anchoring(
    "IL-15 induced host CD8 T-cell alloresponses (qualitative); the factor is nksim's."))
#: Extra proliferation of an IL-15-armoured product (autocrine IL-15; assumption, range
#: 0.05-0.2/d; Liu 2020: cord-blood CAR-NK with IL-15 persisted at low levels >= 12 months).
IL15_ARMOUR_RHO = _v(0.1, "1/day", 0.05, 0.2, LIU2020.anchoring(
    "IL-15-armoured CAR-NK persisted at low levels >= 12 months; the rate is nksim's."))
#: Host T cells for half-maximal rejection of allogeneic cells (assumption, range 100-2000).
K_REJ = _v(500.0, "cell/uL", 100.0, 2000.0)
WANG_ALLO_CAR_T = Citation(
    "Wang (allogeneic CAR-T in SLE)",
    "Allogeneic CD19 CAR-T in SLE, NCT05859997, n = 3, 1e6 cells/kg.",
    verified="V-src",
    note="CAR-T peaked at day 14; no CRS, ICANS or GvHD (science.md §4). The rejection rate "
    "is calibrated in the lupus model to the peak on day 14 (docs/calibration.md §13).",
)
#: Maximal host rejection of allogeneic (donor) CAR-T cells, 1/day, scaled by host T cells
#: as for allogeneic NK: calibrated in the lupus model (SLEDAI-16 adult, Flu/Cy, 1e6/kg) to
#: Wang's peak on day 14 (docs/calibration.md §13: 1.15; re-fitted to 1.4 in §14.6 with the
#: B-selective Flu/Cy and the CAR-T proliferation programme; range 0.5-2.5).
ALLO_CAR_T_REJ = _v(1.4, "1/day", 0.5, 2.5, WANG_ALLO_CAR_T)


def _p_table(none_ld: float, il2_ld: float, il15_ld: float, no_ld: float,
             src_il2: Citation, src_il15: Citation, width: float = 0.1) -> dict:
    def rng(p, src):
        return _v(p, "probability", max(0.0, p - width), min(1.0, p + width), src)
    return {("none", True): rng(none_ld, PRODUCT_ASSUMPTION),
            ("il2", True): rng(il2_ld, src_il2),
            ("il15", True): rng(il15_ld, src_il15),
            ("none", False): rng(no_ld, PRODUCT_ASSUMPTION),
            ("il2", False): rng(no_ld, PRODUCT_ASSUMPTION),
            ("il15", False): rng(no_ld, PRODUCT_ASSUMPTION)}


_FT596_PERSISTENCE = FT596.anchoring(
    "iPSC NK cells peaked at day 1 and persisted <= 15 d (secondary summary); the loss rate "
    "is nksim's.")
_NK_EXP = dict(rexp=_v(0.5, "1/day", 0.2, 1.0),
               kexp=_v(1000.0, "cell/uL", 100.0, 6000.0, BACHANOVA2014))
_ALLO_P = _p_table(0.05, 0.10, 0.32, 0.0, BACHANOVA2014, COOLEY2019)

KINETICS: dict[str, Kinetics] = {
    "autologous_nk": Kinetics(
        delta=_v(0.069, "1/day", 0.069, 0.7, ZHANG2007), rho=_v(0.0, "1/day", 0.0, 0.043),
        rej=_v(0.0, "1/day", 0.0, 0.0), **_NK_EXP,
        # allogeneic rates (Bachanova 2014, Cooley 2019) carried over to autologous cells
        # after lymphodepletion: an assumption, hence no V-src label
        p_expand=_p_table(0.05, 0.10, 0.3, 0.0, PRODUCT_ASSUMPTION, PRODUCT_ASSUMPTION)),
    "allogeneic_pb_nk": Kinetics(
        delta=_v(0.2, "1/day", 0.069, 0.5), rho=_v(0.0, "1/day", 0.0, 0.043),
        rej=_v(0.5, "1/day", 0.2, 2.0, MELLER2004), **_NK_EXP, p_expand=_ALLO_P),
    "cord_blood_nk": Kinetics(
        delta=_v(0.2, "1/day", 0.069, 0.5), rho=_v(0.0, "1/day", 0.0, 0.043),
        rej=_v(0.5, "1/day", 0.2, 2.0), **_NK_EXP, p_expand=_ALLO_P),
    "ipsc_nk": Kinetics(
        delta=_v(0.3, "1/day", 0.1, 0.7, _FT596_PERSISTENCE),
        rho=_v(0.0, "1/day", 0.0, 0.043), rej=_v(0.5, "1/day", 0.2, 2.0), **_NK_EXP,
        p_expand=_p_table(0.0, 0.02, 0.05, 0.0, PRODUCT_ASSUMPTION, PRODUCT_ASSUMPTION,
                          width=0.05)),
    "nk92": Kinetics(
        delta=_v(1.0, "1/day", 0.5, 2.0), rho=_v(0.0, "1/day", 0.0, 0.0),
        rej=_v(0.5, "1/day", 0.2, 2.0), rexp=_v(0.0, "1/day", 0.0, 0.0),
        kexp=_v(1.0, "cell/uL", 1.0, 1.0),
        p_expand={k: _v(0.0, "probability", 0.0, 0.0) for k in
                  [(s, ld) for s in SUPPORTS for ld in (True, False)]}),
    "car_nk": Kinetics(
        delta=_v(0.2, "1/day", 0.069, 0.5), rho=_v(0.05, "1/day", 0.0, 0.3, ZHANG2007.anchoring(
            "Endogenous NK cells proliferate 4.3 %/d; an infused product's rate is "
            "nksim's.")),
        rej=_v(0.5, "1/day", 0.2, 2.0), **_NK_EXP, p_expand=_ALLO_P),
    "hncd16_nk": Kinetics(
        delta=_v(0.3, "1/day", 0.1, 0.7, _FT596_PERSISTENCE),
        rho=_v(0.0, "1/day", 0.0, 0.043), rej=_v(0.5, "1/day", 0.2, 2.0), **_NK_EXP,
        p_expand=_p_table(0.0, 0.02, 0.05, 0.0, PRODUCT_ASSUMPTION, PRODUCT_ASSUMPTION,
                          width=0.05),
        adcc_boost=_v(2.0, "dimensionless", 0.5, 5.0)),
    "memory_like_nk": Kinetics(
        delta=_v(0.03, "1/day", 0.01, 0.1, BEDNARSKI2022.anchoring(
            "Memory-like NK cells kept their phenotype > 3 months; the rate is nksim's.")),
        rho=_v(0.0, "1/day", 0.0, 0.043),
        rej=_v(0.3, "1/day", 0.1, 1.0), **_NK_EXP,
        p_expand=_p_table(0.6, 0.6, 0.6, 0.05, BEDNARSKI2022, BEDNARSKI2022, width=0.3)),
    "car_t": Kinetics(
        delta=_v(0.16, "1/day", 0.1, 0.3, STEIN2019), rho=_v(0.0, "1/day", 0.0, 0.0),
        rej=_v(0.0, "1/day", 0.0, 0.0), rexp=_v(math.log(2) / 0.78 + 0.16, "1/day",
                                                 0.8, 1.5, STEIN2019),
        kexp=_v(100.0, "cell/uL", 10.0, 1000.0),
        p_expand=_p_table(0.9, 0.9, 0.9, 0.3, PRODUCT_ASSUMPTION, PRODUCT_ASSUMPTION)),
}
#: Share of infused cells in the blood-equivalent pool (NK: 2 % of lymphocytes are in
#: blood, Westermann & Pabst 1992; CAR-T: nksim calibration 0.004).
FRACTION_IN_BLOOD = {"car_t": 0.004}
NK_FRACTION_IN_BLOOD = 0.02


@dataclass(frozen=True)
class NKProduct:
    """A cell product: what is infused and how it behaves (see the module docstring).

    Exactly one of ``flat_dose`` (cells per infusion) and ``dose_per_kg`` is given; the
    effective dose is cells x purity x viability. ``car_antigen`` names the CAR's antigen
    (any target); ``antibody`` the antibody given with an hnCD16 product.
    """

    name: str
    kind: str
    flat_dose: float | None = None
    dose_per_kg: float | None = None
    infusions: int = 1
    interval_days: float | None = None
    purity: float = 0.9
    viability: float = 0.9
    allogeneic: bool = True
    car_antigen: str | None = None
    second_antigen: str | None = None
    il15_armoured: bool = False
    antibody: str | None = None
    trafficking_profile: str = "activated"
    source: Citation = PRODUCT_ASSUMPTION
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        f = f"product.{self.name}"
        if self.kind not in KINDS:
            raise UserError(f"unknown kind {self.kind!r} (known: {', '.join(KINDS)})",
                            field=f"{f}.kind")
        if (self.flat_dose is None) == (self.dose_per_kg is None):
            raise UserError("give exactly one of flat_dose and dose_per_kg", field=f)
        dose = self.flat_dose if self.flat_dose is not None else self.dose_per_kg
        if not (math.isfinite(dose) and dose > 0):
            raise UserError(f"the dose must be a finite number > 0 (got {dose!r})",
                            field=f"{f}.dose")
        if not (isinstance(self.infusions, int) and 1 <= self.infusions <= 100):
            raise UserError(f"must be an integer from 1 to 100 (got {self.infusions!r})",
                            field=f"{f}.infusions")
        if self.infusions > 1 and not (self.interval_days and self.interval_days > 0):
            raise UserError("must be > 0 for repeated infusions (got "
                            f"{self.interval_days!r})", field=f"{f}.interval_days")
        for name in ("purity", "viability"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 < v <= 1):
                raise UserError(f"must be in (0, 1] (got {v!r})", field=f"{f}.{name}")
        if self.kind in ("car_nk", "car_t") and not (self.car_antigen or "").strip():
            raise UserError("a CAR product needs its antigen (e.g. 'CD19')",
                            field=f"{f}.car_antigen")

    # ------------------------------------------------------------ kinetics
    def kinetics(self, support: str = "none", lymphodepleted: bool = False) -> dict[str, float]:
        """Typical rates for this regimen: delta, rho, rej, rexp, kexp, kill, k_kill, adcc.

        Cytokine support divides ``delta`` by :data:`SUPPORT_LOSS_FACTOR`; IL-15
        armouring acts as IL-15 support on the product itself and adds 0.1/d
        proliferation (assumption, range 0.05-0.2; Liu 2020 persistence >= 12 months);
        lymphodepletion multiplies host rejection by :data:`LD_REJECTION_FACTOR`,
        systemic IL-15 multiplies it by :data:`IL15_REJECTION_FACTOR`.
        """
        _check_support(support)
        k = KINETICS[self.kind]
        eff = "il15" if self.il15_armoured else support
        # cytokine support acts on NK products; CAR-T kinetics are Stein 2019's as given
        factor = 1.0 if self.kind == "car_t" else SUPPORT_LOSS_FACTOR[eff].value
        delta = k.delta.value / factor
        rho = k.rho.value + (IL15_ARMOUR_RHO.value if self.il15_armoured else 0.0)
        rej = k.rej.value if self.allogeneic else 0.0
        if self.kind == "car_t" and self.allogeneic:
            rej = ALLO_CAR_T_REJ.value  # donor CAR-T (Wang); autologous CAR-T: none
        if lymphodepleted:
            rej *= LD_REJECTION_FACTOR.value
        if support == "il15":
            rej *= IL15_REJECTION_FACTOR.value
        return {"delta": delta, "rho": rho, "rej": rej, "rexp": k.rexp.value,
                "kexp": k.kexp.value, "kill": k.kill.value, "k_kill": k.k_kill.value,
                "adcc": k.adcc_boost.value}

    def expansion_probability(self, support: str = "none",
                              lymphodepleted: bool = False) -> float:
        """Probability that a patient's infused cells expand in vivo (a per-patient event)."""
        _check_support(support)
        p = KINETICS[self.kind].p_expand[(support, bool(lymphodepleted))].value
        if self.il15_armoured and lymphodepleted:
            p = max(p, 0.5)  # assumption (range 0.3-0.8): armoured CAR-NK persist (Liu 2020)
        return p

    def persistence_half_life(self, support: str = "none", lymphodepleted: bool = False,
                              *, expanding: bool = False) -> float:
        """Half-life (days) of the product without targets, or ``inf`` if it grows."""
        k = self.kinetics(support, lymphodepleted)
        net = k["delta"] + k["rej"] - k["rho"]
        return math.log(2) / net if net > 0 else math.inf

    # ------------------------------------------------------------ dosing
    def cells_per_infusion(self, weight_kg: float) -> float:
        """Viable product cells per infusion (cells x purity x viability)."""
        if not (math.isfinite(weight_kg) and weight_kg > 0):
            raise UserError(f"must be a finite number > 0 (got {weight_kg!r})",
                            field="patient.weight_kg")
        cells = self.flat_dose if self.flat_dose is not None else self.dose_per_kg * weight_kg
        return cells * self.purity * self.viability

    def infusion_days(self, first_day: float = 0.0) -> list[float]:
        step = self.interval_days or 0.0
        return [float(first_day) + i * step for i in range(self.infusions)]

    def doses_for(self, state: str, weight_kg: float, first_day: float = 0.0, *,
                  blood_ml_per_kg: float = 70.0,
                  fraction_in_blood: float | None = None) -> list[Dose]:
        """Dose records (cell/uL blood-equivalent) into ``state`` for one course."""
        frac = (fraction_in_blood if fraction_in_blood is not None
                else FRACTION_IN_BLOOD.get(self.kind, NK_FRACTION_IN_BLOOD))
        amount = self.cells_per_infusion(weight_kg) * frac / (weight_kg * blood_ml_per_kg
                                                              * 1000.0)
        if amount < PRODUCT_EXTINCTION:  # it would be extinct at once, not expand
            raise UserError(f"gives {amount:.3g} viable cells/uL of blood, below the "
                            f"product's extinction level {PRODUCT_EXTINCTION:g} cells/uL: "
                            "too small a dose to model", field="dose")
        return [Dose(state, amount, float(first_day),
                     every=self.interval_days if self.infusions > 1 else None,
                     count=self.infusions)]


def _check_support(support: str) -> None:
    if support not in SUPPORTS:
        raise UserError(f"unknown cytokine support {support!r} (known: {', '.join(SUPPORTS)})",
                        field="support")


# ---------------------------------------------------------------- the catalogue
def autologous_nk(dose: float = 5e9, infusions: int = 5, interval_days: float = 7.0,
                  purity: float = 0.95, viability: float = 0.9) -> NKProduct:
    """Ex-vivo expanded autologous NK cells (article T1: ~5e9 cells, > 95 % purity).

    Interval (7 d, range 7-28) and viability (0.9, range 0.7-0.98) are assumptions.
    """
    return NKProduct("autologous NK", "autologous_nk", flat_dose=dose, infusions=infusions,
                     interval_days=interval_days, purity=purity, viability=viability,
                     allogeneic=False, source=ARTICLE_T1)


def allogeneic_nk(source: str = "peripheral_blood", dose: float = 1e9,
                  infusions: int = 1, interval_days: float | None = None) -> NKProduct:
    """Allogeneic NK from ``peripheral_blood``, ``cord_blood``, ``ipsc`` or ``nk92``.

    NK-92 is irradiated before infusion: it does not proliferate or expand.
    Default dose 1e9 (range 1e9-8e9 in Tan 2025).
    """
    kinds = {"peripheral_blood": "allogeneic_pb_nk", "cord_blood": "cord_blood_nk",
             "ipsc": "ipsc_nk", "nk92": "nk92"}
    if source not in kinds:
        raise UserError(f"unknown NK source {source!r} (known: {', '.join(kinds)})",
                        field="product.source")
    return NKProduct(f"allogeneic NK ({source})", kinds[source], flat_dose=dose,
                     infusions=infusions, interval_days=interval_days, source=TAN2025,
                     notes=("irradiated: no proliferation",) if source == "nk92" else ())


def car_nk(antigen: str, *, il15_armoured: bool = False, dose: float = 0.75e9,
           infusions: int = 3, interval_days: float = 3.0,
           second_antigen: str | None = None) -> NKProduct:
    """Allogeneic cord-blood CAR-NK against ``antigen`` (any target), optionally IL-15 armoured.

    Default 0.75e9 cells x 3 on days 0, 3, 6 (Gao 2025 starting dose; NCT06421701 interval).
    ``second_antigen`` makes a dual CAR-NK (e.g. CD19/BCMA, KN5601-like): cells carrying only
    the second antigen are targets too (same kinetics and kill per cell: assumption).
    """
    tag = "IL-15 " if il15_armoured else ""
    name = f"{antigen}/{second_antigen}" if second_antigen else antigen
    return NKProduct(f"{name} {tag}CAR-NK", "car_nk", flat_dose=dose, infusions=infusions,
                     interval_days=interval_days, car_antigen=antigen,
                     second_antigen=second_antigen, il15_armoured=il15_armoured,
                     source=LIU2020)


def hncd16_nk(antibody: str = "rituximab", dose: float = 9e8, infusions: int = 3,
              interval_days: float = 7.0) -> NKProduct:
    """iPSC NK with high-affinity non-cleavable CD16, given with ``antibody`` (FT516-like).

    RP2D 9e8 cells on days 1, 8, 15 (Strati 2025).
    """
    if not antibody.strip():
        raise UserError("name the antibody given with the hnCD16 product",
                        field="product.antibody")
    return NKProduct(f"hnCD16 NK + {antibody}", "hncd16_nk", flat_dose=dose,
                     infusions=infusions, interval_days=interval_days, antibody=antibody,
                     source=FT516)


def memory_like_nk(dose_per_kg: float = 1e7) -> NKProduct:
    """Cytokine-induced memory-like NK (IL-12/15/18 pre-activated; Bednarski 2022).

    Dose per kg is an assumption (range 1e6-1e7/kg).
    """
    return NKProduct("memory-like NK", "memory_like_nk", dose_per_kg=dose_per_kg,
                     source=BEDNARSKI2022)


def car_t(antigen: str = "CD19", dose_per_kg: float = 1e6, *,
          allogeneic: bool = False) -> NKProduct:
    """Autologous CAR-T against ``antigen``, for comparison (Mackensen 2022 dose); with
    ``allogeneic=True`` a donor CAR-T rejected by host T cells (Wang, NCT05859997)."""
    tag = "allogeneic " if allogeneic else ""
    return NKProduct(f"{antigen} {tag}CAR-T", "car_t", dose_per_kg=dose_per_kg,
                     car_antigen=antigen, allogeneic=allogeneic,
                     trafficking_profile="activated",
                     source=WANG_ALLO_CAR_T if allogeneic else MACKENSEN2022)


def catalogue() -> dict[str, NKProduct]:
    """One default product of each kind."""
    return {
        "autologous_nk": autologous_nk(),
        "allogeneic_pb_nk": allogeneic_nk("peripheral_blood"),
        "cord_blood_nk": allogeneic_nk("cord_blood"),
        "ipsc_nk": allogeneic_nk("ipsc"),
        "nk92": allogeneic_nk("nk92"),
        "car_nk": car_nk("CD19"),
        "car_nk_il15": car_nk("CD19", il15_armoured=True),
        "car_nk_cd19_bcma": car_nk("CD19", second_antigen="BCMA", infusions=6),
        "hncd16_nk": hncd16_nk(),
        "memory_like_nk": memory_like_nk(),
        "car_t": car_t(),
        "car_t_allogeneic": car_t(allogeneic=True),
    }


# ---------------------------------------------------------------- per-patient expansion
def expansion_events(product: NKProduct, seed: int, patient_ids: Sequence[int], *,
                     support: str = "none", lymphodepleted: bool = False) -> np.ndarray:
    """Whether each patient's infused cells expand (bool array), one draw per patient.

    Drawn from ``patient_rng(seed, id, EXPANSION_STREAM)``: a patient's event does not
    depend on the cohort size, on the order of patients or on other random uses.
    """
    p = product.expansion_probability(support, lymphodepleted)
    return np.array([patient_rng(seed, int(i), EXPANSION_STREAM).random() < p
                     for i in patient_ids], dtype=bool)


# ---------------------------------------------------------------- the component
def product_component(product: NKProduct, targets: Sequence[str], *, prefix: str = "PROD",
                      support: str = "none", lymphodepleted: bool = False,
                      host_t: str | None = None, antibody_state: str | None = None,
                      antibody_unit: str = "dimensionless",
                      antibody_half: float = 1.0) -> Component:
    """The product's kinetics and killing as a Component (state ``prefix``, cell/uL).

    ``targets`` names the disease states it kills (any disease). ``host_t`` names a host
    T-cell state that scales rejection (else rejection is the constant typical rate);
    ``antibody_state`` names an antibody state that boosts killing of hnCD16 products
    (half of the extra killing at ``antibody_half``, in ``antibody_unit``, the state's
    unit; assumption).
    The per-patient expansion flag is the parameter ``{prefix}_expand`` (0 by default):
    set it per patient from :func:`expansion_events`.
    """
    if not targets:
        raise UserError("name at least one target state", field="product.targets")
    targets = tuple(targets)
    k = product.kinetics(support, lymphodepleted)
    kin = KINETICS[product.kind]
    P = prefix

    def par(name, value, unit, desc, src, upper=math.inf):
        return Parameter(f"{P}_{name}", float(value), unit, desc, src, bounds=(0.0, upper))

    rng = kin.delta
    params = [
        par("delta", k["delta"], "1/day",
            f"loss rate with support {support!r} (typical {rng.value:g}, range "
            f"{rng.low:g}-{rng.high:g}/d without support)", rng.source),
        par("rho", k["rho"], "1/day", f"proliferation (range {kin.rho.low:g}-{kin.rho.high:g})",
            kin.rho.source),
        par("rej", k["rej"], "1/day",
            f"host rejection (range {kin.rej.low:g}-{kin.rej.high:g}; x "
            f"{LD_REJECTION_FACTOR.value:g} after lymphodepletion)", kin.rej.source),
        par("expand", 0.0, "dimensionless",
            "1 if this patient's cells expand in vivo (per-patient event), else 0",
            BACHANOVA2014, upper=1.0),
        par("rexp", k["rexp"], "1/day",
            f"net growth during expansion (range {kin.rexp.low:g}-{kin.rexp.high:g})",
            kin.rexp.source),
        par("kexp", max(k["kexp"], 1e-9), "cell/uL",
            f"level where expansion stops (range {kin.kexp.low:g}-{kin.kexp.high:g})",
            kin.kexp.source),
        par("kill", k["kill"], "1/day", "maximal targets killed per product cell per day "
            "(range 0.3-3)", kin.kill.source),
        par("Kkill", k["k_kill"], "cell/uL", "targets for half-maximal killing (range 5-200)",
            kin.k_kill.source),
    ]
    rej = f"{P}_rej"
    if host_t:
        params.append(par("Krej", K_REJ.value, "cell/uL", "host T cells for half-maximal "
                          f"rejection (range {K_REJ.low:g}-{K_REJ.high:g})", K_REJ.source))
        rej = f"{P}_rej*{host_t}/({P}_Krej + {host_t})"
    A = "(" + " + ".join(targets) + ")"
    adcc = "1"
    if antibody_state:
        params += [par("adcc", k["adcc"], "dimensionless",
                       "extra killing with antibody bound (hnCD16: range 0.5-5)",
                       kin.adcc_boost.source),
                   par("Kab", antibody_half, antibody_unit, "antibody level for half of "
                       "the extra killing (assumption)", PRODUCT_ASSUMPTION)]
        adcc = f"(1 + {P}_adcc*{antibody_state}/({P}_Kab + {antibody_state}))"
    terms: dict[str, list[str] | str] = {
        P: [f"({P}_rho + {P}_expand*{P}_rexp*(1 - {P}/{P}_kexp) - {P}_delta - {rej})*{P}"],
    }
    for x in targets:
        terms[x] = f"-{P}_kill*{adcc}*{P}*{x}/({P}_Kkill + {A})"
    requires = (*targets, *(s for s in (host_t, antibody_state) if s))
    return Component(
        name=f"product_{P}",
        description=f"{product.name}: kinetics and killing of {', '.join(targets)}",
        states=(State(P, "cell/uL", f"{product.name} cells (blood-equivalent)", 0.0,
                      extinction=PRODUCT_EXTINCTION),),
        parameters=tuple(params),
        expressions={f"kill_{P}": (f"{P}_kill*{adcc}*{P}*{A}/({P}_Kkill + {A})",
                                   "cell/uL/day", f"targets killed by {product.name}")},
        terms=terms, requires=requires,
        references=tuple({c.label(): c for c in (
            product.source, kin.delta.source, kin.rej.source, BACHANOVA2014, COOLEY2019,
            ZHANG2007)}.values()),
        notes=(f"Kills only {', '.join(targets)}.",
               "In-vivo expansion is a per-patient event (parameter expand), not a rate."),
    )


def trafficking_for(product: NKProduct, prefix: str, *, support: str = "none",
                    lymphodepleted: bool = False) -> Component:
    """Where the product's cells go: the patrol model (nine pools) for this product.

    Uses the product's ``trafficking_profile`` (infused products: ``"activated"``, lungs
    first) and its loss rate (delta + rejection - proliferation, 1/day, floored at 0) in
    every pool; doses go into ``{prefix}_first``.
    """
    from nksim.biology import trafficking_component

    k = product.kinetics(support, lymphodepleted)
    loss = max(0.0, k["delta"] + k["rej"] - k["rho"])
    return trafficking_component(prefix, product.trafficking_profile, death=loss,
                                 description=f"{product.name}: where the cells go")


def with_expansion(parameters: np.ndarray, names: Sequence[str], prefix: str,
                   events: np.ndarray) -> np.ndarray:
    """Copy of a (patients x parameters) array with ``{prefix}_expand`` set from events."""
    out = np.array(parameters, dtype=float, copy=True)
    j = list(names).index(f"{prefix}_expand")
    out[:, j] = np.asarray(events, dtype=float)
    return out

