"""B-cell lymphoma with CD19/CD20 antigen subclones, host NK cells, rituximab ADCC and
infused NK products: the model of the lymphoma trial setting (``docs/cancer.md``).

Research use only. Units are *blood-equivalent* cells per microlitre, as for the shared
cell products (:mod:`nksim.therapy._nk_products`): a tumour of ``N`` cells in a patient
with blood volume ``V`` uL is ``N / V`` cell/uL (``lym_blood_ul`` per patient), so that
the products' kill laws apply unchanged. Three tumour clones::

    L     CD19+ CD20+     killed by CD19 CAR, by ADCC (anti-CD20) and by NK cytotoxicity
    L20N  CD19+ CD20-     escapes anti-CD20 ADCC
    L19N  CD19- CD20+     escapes CD19 CAR

    dX/dt = lym_r X (1 - Ltot/lym_K) - lym_ld_kill LD X  - (product and ADCC kills)
    dNKH/dt = nkh_turn (nkh0 - NKH) - ld_kill_lymph LD NKH          (host NK cells)

Growth rate: Kimmel 2021 give r_B 0.01-0.50/day for LBCL (V-src range); the typical value
and its spread are calibrated (docs/calibration.md, section "Lymphoma"). Host NK
turnover: Zhang 2007. ADCC: :mod:`nksim.therapy._antibodies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nksim.model import Citation, Component, Model, Parameter, State, compose
from nksim.therapy import lymphodepletion_component
from nksim.therapy._antibodies import (
    ANTIBODY_ASSUMPTION,
    FCGR3A_RELATIVE_ADCC,
    PEDIATRIC_RTX_PD,
    adcc_component,
    rituximab_pk_component,
)
from nksim.therapy._nk_products import ZHANG2007, NKProduct, product_component

TUMOUR_STATES = ("L", "L20N", "L19N")
CD20_POSITIVE = ("L", "L19N")
CD19_POSITIVE = ("L", "L20N")

KIMMEL2021 = Citation(
    "Kimmel 2021",
    "Kimmel GJ, Locke FL, Altrock PM. The roles of T cell competition and stochastic "
    "extinction events in chimeric antigen receptor T cell therapy. Proc R Soc B "
    "2021;288:20210229.",
    verified="V-src",
    doi="10.1098/rspb.2021.0229",
    note="LBCL growth r_B 0.01-0.50/day (range); B0 = 9.486e10 cells (median MTV 94.86 mL, "
    "ZUMA-1) (science.md §3b).",
)
LYMPHOMA_CALIBRATION = Citation(
    "nksim lymphoma calibration",
    "Fitted by hand to Marin 2024 (cord-blood CD19 CAR-NK, n = 37: ORR 48.6 %, 1-y PFS "
    "32 %, 1-y OS 68 %) and Liu 2020 (8/11 responses); see docs/calibration.md.",
    verified="assumption",
    note="Targets V-src (science.md §4); the fitted values are nksim's.",
)
LYMPHOMA_ASSUMPTION = Citation(
    "nksim lymphoma assumption",
    "Chosen by nksim where no published value was found; the description gives the range.",
    verified="assumption",
)

#: Typical net growth rate of r/r large B-cell lymphoma (1/day), calibrated to Marin 2024
#: (docs/calibration.md): just below Kimmel 2021's LBCL range 0.01-0.5/day.
GROWTH_RATE = 0.007
#: Kill rate of CD19 CAR-NK cells in lymphoma (targets per CAR-NK cell per day; shared
#: product default 1, range 0.3-3), calibrated to Marin 2024's ORR (docs/calibration.md).
CAR_NK_KILL = 2.0
#: Net growth of CD19 CAR-NK cells during an in-vivo expansion event in lymphoma (1/day;
#: shared product default 0.5, range 0.2-1.0), calibrated to Marin 2024's day-30 response
#: (docs/calibration.md): at 0.5 expanders reached 500 cells/uL only on day ~20, so
#: responses came after the day-30 assessment.
CAR_NK_REXP = 1.0
#: Host-ADCC kill rate of lymphoma cells relative to normal B cells (assumption).
LYMPHOMA_ADCC_SENSITIVITY = 0.1


def tumour_component() -> Component:
    """The three lymphoma clones and the host NK cells (module docstring)."""
    grow = "lym_r*{x}*(1 - (L + L20N + L19N)/lym_K)"
    return Component(
        name="lymphoma",
        description="B-cell lymphoma: CD19+CD20+, CD20-negative and CD19-negative clones; "
                    "host NK cells.",
        states=(
            State("L", "cell/uL", "CD19+ CD20+ lymphoma cells (blood-equivalent)", 0.0,
                  extinction=1e-7, plausible=(0.0, 1e8)),
            State("L20N", "cell/uL", "CD19+ CD20-negative lymphoma cells", 0.0,
                  extinction=1e-7, plausible=(0.0, 1e8)),
            State("L19N", "cell/uL", "CD19-negative CD20+ lymphoma cells", 0.0,
                  extinction=1e-7, plausible=(0.0, 1e8)),
            State("NKH", "cell/uL", "host NK cells in blood", 200.0),
        ),
        parameters=(
            Parameter("lym_r", GROWTH_RATE, "1/day",
                      "net growth rate of r/r LBCL (calibrated; below Kimmel 2021's "
                      "range 0.01-0.5/d)", LYMPHOMA_CALIBRATION, bounds=(0.0, 2.0)),
            Parameter("lym_K", 2e6, "cell/uL", "carrying capacity (~1e13 cells for 70 kg; "
                      "assumption, only keeps growth finite beyond the lethal burden)",
                      LYMPHOMA_ASSUMPTION, bounds=(1.0, 1e9)),
            Parameter("lym_ld_kill", 0.1, "1/day", "kill rate of lymphoma cells per LD "
                      "unit (Flu/Cy or bendamustine; assumption, range 0-0.8: at most the "
                      "normal B-cell rate ld_kill_b)", LYMPHOMA_ASSUMPTION,
                      bounds=(0.0, 10.0)),
            Parameter("lym_blood_ul", 4.9e6, "uL", "blood volume (70 mL/kg x weight; set "
                      "per patient): converts blood-equivalent cells to cells",
                      LYMPHOMA_ASSUMPTION, bounds=(1e5, 1e8)),
            Parameter("lym_cells_per_ml", 1e9, "cell/mL", "tumour cells per mL (Kimmel's "
                      "MTV conversion; assumption, range 1e8-1e9)", KIMMEL2021,
                      bounds=(1e6, 1e10)),
            Parameter("nkh0", 217.0, "cell/uL", "host NK cells at equilibrium: Zhang 2007 "
                      "production 15 cells/uL/day / disappearance 0.069/day (set per "
                      "patient)", ZHANG2007, bounds=(0.0, 1e4)),
            Parameter("nkh_turn", 0.069, "1/day", "host NK disappearance rate (Zhang 2007: "
                      "6.9 +/- 4.0 %/day)", ZHANG2007, bounds=(0.0, 5.0)),
        ),
        terms={
            **{x: [grow.format(x=x), f"-lym_ld_kill*LD*{x}"] for x in TUMOUR_STATES},
            "NKH": ["nkh_turn*(nkh0 - NKH)", "-ld_kill_lymph*LD*NKH"],
        },
        requires=("LD",),
        observables={
            "tumour_ml": ("(L + L20N + L19N)*lym_blood_ul/lym_cells_per_ml", "mL",
                          "tumour volume"),
            "cd20_negative_share": ("L20N/(L + L20N + L19N + 1e-12)", "dimensionless",
                                    "share of CD20-negative cells"),
        },
        unit_exempt={"cd20_negative_share": "1e-12 only guards 0/0 after extinction"},
        references=(KIMMEL2021, ZHANG2007, LYMPHOMA_CALIBRATION, LYMPHOMA_ASSUMPTION),
    )


@dataclass(frozen=True)
class ProductSpec:
    """An infused NK product of one arm, as modelled: its state ``prefix``, the shared
    definition, cytokine support and what it kills."""

    prefix: str
    product: NKProduct
    support: str = "none"
    with_antibody: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        antigen = (self.product.car_antigen or "").upper()
        if antigen == "CD19":
            return CD19_POSITIVE
        if antigen == "CD20":
            return CD20_POSITIVE
        return TUMOUR_STATES  # natural cytotoxicity, no CAR


def product_adcc_component(spec: ProductSpec) -> Component:
    """Extra (ADCC) killing of CD20+ cells by an hnCD16 product with antibody bound, using
    the product's own kill law (shared definition): ``P_kill*P_adcc*C/(ec50 + C)*P*X/
    (P_Kkill + A)``. No host-genotype factor: the CD16 is the product's."""
    p = spec.prefix
    k = spec.product.kinetics(spec.support)
    a = "(" + " + ".join(spec.targets) + ")"
    occ = f"RTXC/({p}_ab_ec50 + RTXC)"
    rate = f"{p}_kill*{p}_adcc*{occ}*{p}/({p}_Kkill + {a})"
    return Component(
        name=f"adcc_{p}",
        description=f"ADCC of CD20+ lymphoma by {spec.product.name} (hnCD16) with rituximab",
        parameters=(
            Parameter(f"{p}_adcc", k["adcc"], "dimensionless", "extra killing with antibody "
                      "bound (hnCD16 shared definition; range 0.5-5)", spec.product.source,
                      bounds=(0.0, 100.0)),
            Parameter(f"{p}_ab_ec50", 5.0, "mg/L", "antibody level for half of the extra "
                      "killing (as host ADCC; assumption, range 0.5-50)",
                      ANTIBODY_ASSUMPTION, bounds=(1e-6, 1e4)),
        ),
        expressions={f"adcc_{p}": (f"{rate}*({' + '.join(CD20_POSITIVE)})", "cell/uL/day",
                                   "CD20+ cells killed by product ADCC per day")},
        terms={x: f"-{rate}*{x}" for x in CD20_POSITIVE},
        requires=(*CD20_POSITIVE, p, "RTX1"),
    )


def lymphoma_model(products: Sequence[ProductSpec] = (), name: str = "lymphoma") -> Model:
    """The composed lymphoma model with the given products (each its own state)."""
    comps = [
        tumour_component(),
        lymphodepletion_component(depletes=()),
        rituximab_pk_component(),
        adcc_component(CD20_POSITIVE, "NKH", prefix="hadcc",
                       kmax=0.68 * LYMPHOMA_ADCC_SENSITIVITY, affinity=1.0, eref=217.0,
                       kmax_source=PEDIATRIC_RTX_PD.anchoring(
                           "Rituximab raises the death rate of normal CD19+ B cells in "
                           "children by 0.68/d; lymphoma cells are taken to be 10 times "
                           "less sensitive (LYMPHOMA_ADCC_SENSITIVITY, nksim's)."),
                       description="ADCC of CD20+ lymphoma by host NK cells (FCGR3A "
                                   "genotype: hadcc_affinity)"),
    ]
    kills = []
    for spec in products:
        comps.append(product_component(spec.product, spec.targets, prefix=spec.prefix,
                                       support=spec.support, host_t="TH"))
        kills.append(f"kill_{spec.prefix}")
        if spec.with_antibody and spec.product.kind == "hncd16_nk":
            comps.append(product_adcc_component(spec))
            kills.append(f"adcc_{spec.prefix}")
    if kills:
        comps.append(Component(
            name="product_kill", description="all killing by infused products",
            observables={"product_kill": (" + ".join(kills), "cell/uL/day",
                                          "tumour cells killed by infused products per day "
                                          "(CRS surrogate)")}))
    model = compose(name, "B-cell lymphoma with NK products and rituximab",
                    "Three antigen clones (CD19/CD20), host NK ADCC with FCGR3A genotype, "
                    "rituximab PK (Rozman 2017), lymphodepletion, infused NK products.",
                    comps)
    calibrated = {f"{s.prefix}_{name}": value for s in products if s.product.kind == "car_nk"
                  for name, value in (("kill", CAR_NK_KILL), ("rexp", CAR_NK_REXP))}
    return model.with_values(calibrated) if calibrated else model


def genotype_affinity(genotype: str) -> float:
    """Relative host-NK ADCC of an FCGR3A V158F genotype (assumption, see _antibodies)."""
    return FCGR3A_RELATIVE_ADCC[genotype]
