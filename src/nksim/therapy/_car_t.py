"""Autologous CD19 CAR-T cells: target-driven expansion, contraction, memory.

States (contract ``docs/design-sle.md``): ``CART`` (effector CAR-T, cell/uL) and
``CARTM`` (memory CAR-T, cell/uL). Targets are the disease component's CD19+ ``B`` and
``PB``; CD19-negative ``LLPC`` is never touched.

Structure: the effector/memory model of CARTmath (Barros 2021; science.md §3c) with
saturating antigen stimulation (Hill 2: switch-like activation) and killing
(Michaelis-Menten), and proliferation limited by competition with host T cells for
homeostatic cytokines (Kimmel 2021; lymphodepletion frees them, Gattinoni 2005)::

    A          = B + PB                                    CD19+ targets
    cart_stim  = A^2 / (cart_K_act^2 + A^2)                antigen stimulation (0..1)
    cart_hom   = cart_K_hom^2 / (cart_K_hom^2 + TH^2)      homeostatic share (0..1)
    kill_cart  = cart_kill CART A / (cart_K_kill + A)      targets killed, cell/uL/day

    dCART/dt  = cart_rho cart_hom cart_stim CART + cart_theta cart_stim CARTM
                - (cart_delta + cart_conv) CART - ld_kill_lymph LD CART
    dCARTM/dt = cart_conv CART - cart_theta cart_stim CARTM - cart_beta CARTM
                - ld_kill_lymph LD CARTM
    dB/dt    += - cart_kill CART B  / (cart_K_kill + A)
    dPB/dt   += - cart_kill CART PB / (cart_K_kill + A)

Mapping to Stein 2019 (science.md §3a): while targets last, the effectors grow at
``cart_rho*cart_hom - cart_delta - cart_conv`` (mean doubling ~0.78 d after
lymphodepletion in the reference setting); once targets are cleared they fall at
``cart_delta + cart_conv`` = alpha = 0.16/d, and the memory pool fed by ``cart_conv``
(~0.8 % of the peak, F_B) decays at beta = 0.0032/d. Expansion lasts as long as targets
do, so the peak grows with target burden and hardly with dose (Hardiansyah & Ng 2019).
Without lymphodepletion (host T cells at normal counts) ``cart_rho*cart_hom`` is below
alpha and CAR-T cells do not expand.
"""

from __future__ import annotations

import math

from nksim.model import Component, Parameter, State
from nksim.therapy._lymphodepletion import LD_KILL_LYMPH
from nksim.therapy._sources import (
    ASSUMPTION,
    CARTMATH2021,
    GATTINONI2005,
    HARDIANSYAH2019,
    KIMMEL2021,
    NKSIM_CALIBRATION,
    STEIN2019,
    TURTLE2016,
)

#: Stein 2019 typical values (Table 1 / abstract, science.md §3a): the shape targets.
STEIN2019_TYPICAL = {
    "foldx": 3900.0,
    "tmax_day": 9.3,
    "alpha_per_day": 0.16,
    "memory_fraction": 0.0079,
    "beta_per_day": 0.0032,
    "doubling_time_day": 0.78,
    "initial_half_life_day": 4.3,
    "terminal_half_life_day": 220.0,
}

_ALPHA = STEIN2019_TYPICAL["alpha_per_day"]
_CONV = 0.0009  # effector -> memory, 1/day (calibrated to F_B; see PARAMETERS)

PARAMETERS = (
    Parameter(
        "cart_rho", 2.25, "1/day",
        "maximal CAR-T proliferation rate (full antigen stimulation, no competition); "
        "calibrated with cart_kill and the CAR-T blood fraction so that the reference "
        "setting peaks near day 9.3 after a ~3900-fold expansion (mean doubling ~0.78 d); "
        "T cells divide at most ~2-3 times a day",
        NKSIM_CALIBRATION, bounds=(0.0, 20.0),
    ),
    Parameter(
        "cart_K_hom", 150.0, "cell/uL",
        "host T cells at which CAR-T proliferation is halved by competition for homeostatic "
        "cytokines, Hill coefficient 2 (assumption, range 50-500; chosen so that antigen "
        "alone cannot sustain CAR-T expansion once host T cells have recovered)",
        ASSUMPTION, bounds=(1e-3, 1e5),
    ),
    Parameter(
        "cart_K_act", 10.0, "cell/uL",
        "CD19+ targets for half-maximal CAR-T stimulation, Hill coefficient 2 (switch-like "
        "T-cell activation; assumption, range 5-50)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    Parameter(
        "cart_delta", _ALPHA - _CONV, "1/day",
        "effector CAR-T death rate; with cart_conv it gives Stein's post-peak decline "
        "alpha = 0.16/d (initial-decline half-life 4.3 d)",
        STEIN2019, bounds=(0.0, 10.0),
    ),
    Parameter(
        "cart_conv", _CONV, "1/day",
        "effector -> memory conversion; calibrated so the memory pool is ~0.8 % of the "
        "peak (Stein F_B = 0.0079)",
        NKSIM_CALIBRATION, bounds=(0.0, 10.0),
    ),
    Parameter(
        "cart_beta", STEIN2019_TYPICAL["beta_per_day"], "1/day",
        "memory CAR-T decay rate (Stein beta, terminal half-life ~220 d)",
        STEIN2019, bounds=(0.0, 10.0),
    ),
    Parameter(
        "cart_theta", 0.001, "1/day",
        "memory -> effector re-activation at full antigen stimulation (assumption, range "
        "0.0005-0.05; kept small so that returning antigen drains memory only slowly: the "
        "terminal decline is cart_beta + cart_theta when B cells are back; CARTmath "
        "structure)",
        CARTMATH2021, bounds=(0.0, 10.0),
    ),
    Parameter(
        "cart_kill", 0.3, "1/day",
        "maximal CD19+ targets killed per effector CAR-T per day; calibrated with cart_rho "
        "to the Stein peak day (inside the 0.1-7/d range of in-vivo per-cell rates implied by "
        "CARTmath fits)",
        NKSIM_CALIBRATION, bounds=(0.0, 100.0),
    ),
    Parameter(
        "cart_K_kill", 5.0, "cell/uL",
        "CD19+ targets for half-maximal killing (assumption, range 1-50; low: CAR-T keep "
        "killing the few B cells that return while they persist)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    LD_KILL_LYMPH,
)


def car_t_component() -> Component:
    """The CD19 CAR-T component (states ``CART``, ``CARTM``; kill terms on ``B``, ``PB``).

    Requires ``B``, ``PB`` (disease) and ``TH``, ``LD`` (lymphodepletion). Exports the
    expressions ``cart_stim`` (dimensionless), ``cart_hom`` (dimensionless) and
    ``kill_cart`` (cell/uL/day). Dose ``CART`` with :class:`nksim.therapy.CellProduct`.
    """
    targets = "(B + PB)"
    return Component(
        name="car_t",
        description="Autologous CD19 CAR-T: effector and memory cells, target-driven "
        "expansion, contraction, memory persistence; kills CD19+ B and PB.",
        states=(
            State("CART", "cell/uL", "CAR-T effector cells", 0.0),
            State("CARTM", "cell/uL", "CAR-T memory cells (persistence)", 0.0),
        ),
        parameters=PARAMETERS,
        expressions={
            "cart_stim": (f"{targets}**2/(cart_K_act**2 + {targets}**2)", "dimensionless",
                          "CAR-T antigen stimulation by CD19+ targets (0..1)"),
            "cart_hom": ("cart_K_hom**2/(cart_K_hom**2 + TH**2)", "dimensionless",
                         "share of homeostatic cytokines left to CAR-T by host T cells"),
            "kill_cart": (f"cart_kill*CART*{targets}/(cart_K_kill + {targets})",
                          "cell/uL/day", "CD19+ targets killed by CAR-T"),
        },
        terms={
            "CART": [
                "cart_rho*cart_hom*cart_stim*CART",
                "cart_theta*cart_stim*CARTM",
                "-(cart_delta + cart_conv)*CART",
                "-ld_kill_lymph*LD*CART",
            ],
            "CARTM": [
                "cart_conv*CART",
                "-cart_theta*cart_stim*CARTM",
                "-cart_beta*CARTM",
                "-ld_kill_lymph*LD*CARTM",
            ],
            "B": f"-cart_kill*CART*B/(cart_K_kill + {targets})",
            "PB": f"-cart_kill*CART*PB/(cart_K_kill + {targets})",
        },
        requires=("B", "PB", "TH", "LD"),
        references=(STEIN2019, CARTMATH2021, HARDIANSYAH2019, KIMMEL2021, TURTLE2016,
                    GATTINONI2005),
        notes=(
            "Kill terms act on B and PB only; LLPC (CD19-negative) is never killed.",
            "No extinction threshold: CART has a source from CARTM and vice versa.",
            "Default kinetics calibrated to the shape of Stein 2019 in the reference setting "
            "of docs/cell-products.md (B 200 cells/uL, Flu/Cy 30/500 x 3, 1e6 CAR-T/kg).",
        ),
    )


def stein_doubling_rate() -> float:
    """Stein 2019 expansion rate ln(2)/0.78 d (1/day)."""
    return math.log(2.0) / STEIN2019_TYPICAL["doubling_time_day"]
