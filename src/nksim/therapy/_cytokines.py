"""Cytokines IL-6 and IFN-gamma driven by effector activation and target killing.

States (contract ``docs/design-sle.md``): ``IL6`` and ``IFNG`` (pg/mL). Production is
proportional to engaged effectors (effectors x antigen stimulation) and, for IL-6, to
targets killed (dying targets and CAR-T cells activate monocytes/macrophages, the main
source of IL-6 in CRS). Clearance is first order towards a baseline::

    act_T  = cart_stim CART            engaged CAR-T effectors, cell/uL
    act_NK = carnk_stim CARNK          engaged CAR-NK cells, cell/uL

    dIL6/dt  = il6_k (il6_base - IL6)
               + il6_act (act_T + nk_il6_ratio act_NK)
               + il6_kill (kill_cart + nk_il6_ratio kill_carnk)
    dIFNG/dt = ifng_k (ifng_base - IFNG) + ifng_act (act_T + nk_ifng_ratio act_NK)

``nk_il6_ratio`` < 1 summarises the lower IL-6 output of CAR-NK cells and their lack
of the GM-CSF/monocyte amplification loop (an assumption with a range).
Compose this component after the CAR-T and CAR-NK components: it reads their
expressions ``cart_stim``, ``kill_cart``, ``carnk_stim`` and ``kill_carnk``.
"""

from __future__ import annotations

import math

from nksim.model import Component, Parameter, State
from nksim.therapy._sources import (
    ASSUMPTION,
    HARDIANSYAH2019,
    IFNG_HALF_LIFE,
    IL6_HALF_LIFE,
    LIU2020,
    MYELOID_IL6,
    Citation,
)

_YIELD = Citation(
    "nksim cytokine yields",
    "Production per engaged effector and per killed target, chosen so that the reference "
    "CAR-T setting (B 200 cells/uL, 1e6 CAR-T/kg after Flu/Cy) gives a peak IL-6 of a few "
    "tens of pg/mL (mild CRS, as reported in SLE: Mackensen 2022) and a 10-fold target "
    "burden gives hundreds to thousands of pg/mL (severe CRS range).",
    verified="assumption",
    note="Calibrated in docs/cell-products.md; no published yield was read.",
)

IL6_BASELINE = 5.0
IFNG_BASELINE = 5.0

PARAMETERS = (
    Parameter(
        "il6_base", IL6_BASELINE, "pg/mL",
        "baseline plasma IL-6 (healthy < 7 pg/mL; assumption, range 1-20 in active SLE)",
        ASSUMPTION, bounds=(0.0, 1e4),
    ),
    Parameter(
        "il6_k", math.log(2.0) / (3.0 / 24.0), "1/day",
        "IL-6 elimination rate (plasma half-life 3 h; range 0.4-15 h)",
        IL6_HALF_LIFE, bounds=(0.01, 1e3),
    ),
    Parameter(
        "il6_act", 1.0, "pg*uL/(mL*cell*day)",
        "IL-6 produced per engaged CAR-T effector (per cell/uL) per day",
        _YIELD, bounds=(0.0, 1e6),
    ),
    Parameter(
        "il6_kill", 1.0, "pg*uL/(mL*cell)",
        "IL-6 produced per CD19+ target killed (per cell/uL)",
        _YIELD, bounds=(0.0, 1e6),
    ),
    Parameter(
        "nk_il6_ratio", 0.1, "dimensionless",
        "IL-6 per CAR-NK activation or kill relative to CAR-T (assumption, range 0-0.3: "
        "CAR-NK secrete little IL-6 and lack the GM-CSF/monocyte loop; no CRS in Liu 2020)",
        MYELOID_IL6, bounds=(0.0, 1.0),
    ),
    Parameter(
        "ifng_base", IFNG_BASELINE, "pg/mL",
        "baseline plasma IFN-gamma (assumption, range 1-20)",
        ASSUMPTION, bounds=(0.0, 1e4),
    ),
    Parameter(
        "ifng_k", math.log(2.0) / (1.0 / 24.0), "1/day",
        "IFN-gamma elimination rate (plasma half-life 1 h; range 0.5-6 h)",
        IFNG_HALF_LIFE, bounds=(0.01, 1e3),
    ),
    Parameter(
        "ifng_act", 2.0, "pg*uL/(mL*cell*day)",
        "IFN-gamma produced per engaged CAR-T effector (per cell/uL) per day",
        _YIELD, bounds=(0.0, 1e6),
    ),
    Parameter(
        "nk_ifng_ratio", 0.5, "dimensionless",
        "IFN-gamma per CAR-NK activation relative to CAR-T (assumption, range 0.2-1: NK "
        "cells are strong IFN-gamma producers)",
        ASSUMPTION, bounds=(0.0, 5.0),
    ),
)


def cytokine_component() -> Component:
    """The cytokine component (states ``IL6``, ``IFNG``).

    Requires ``CART``, ``CARNK`` and the expressions of :func:`car_t_component` and
    :func:`car_nk_component` (whatever their targets); compose it after them.
    """
    return Component(
        name="cytokines",
        description="IL-6 and IFN-gamma from CAR-T/CAR-NK activation and target killing.",
        states=(
            State("IL6", "pg/mL", "interleukin-6 in plasma", IL6_BASELINE),
            State("IFNG", "pg/mL", "interferon-gamma in plasma", IFNG_BASELINE),
        ),
        parameters=PARAMETERS,
        terms={
            "IL6": [
                "il6_k*(il6_base - IL6)",
                "il6_act*(cart_stim*CART + nk_il6_ratio*carnk_stim*CARNK)",
                "il6_kill*(kill_cart + nk_il6_ratio*kill_carnk)",
            ],
            "IFNG": [
                "ifng_k*(ifng_base - IFNG)",
                "ifng_act*(cart_stim*CART + nk_ifng_ratio*carnk_stim*CARNK)",
            ],
        },
        requires=("CART", "CARNK"),  # and the products' expressions; targets not needed
        references=(HARDIANSYAH2019, LIU2020, MYELOID_IL6, IL6_HALF_LIFE, IFNG_HALF_LIFE,
                    _YIELD),
        notes=("Set IL6 and IFNG initial values to il6_base and ifng_base.",),
    )
