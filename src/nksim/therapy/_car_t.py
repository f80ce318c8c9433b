"""Autologous CD19 CAR-T cells: target-driven expansion, contraction, memory.

States (contract ``docs/design-sle.md``): ``CART`` (effector CAR-T, cell/uL),
``CARTM`` (memory CAR-T, cell/uL) and ``CARTF`` (realised fold expansion of the effector
pool since infusion, dimensionless, 1 before any infusion). Targets are the disease
component's CD19+ ``B`` and ``PB``; CD19-negative ``LLPC`` is never touched.

Structure: the effector/memory model of CARTmath (Barros 2021; science.md §3c) with
saturating antigen stimulation (Hill 2: switch-like activation) and killing
(Michaelis-Menten), and proliferation limited by competition with host T cells for
homeostatic cytokines (Kimmel 2021; lymphodepletion frees them, Gattinoni 2005). The
competition is measured against the patient's own T-cell set-point ``th_normal`` (the
carrying capacity of Kimmel 2021): what lymphodepletion frees is the niche that sets each
person's count, so a child with more lymphocytes is not a worse host for CAR-T cells
(docs/calibration.md)::

    A          = B + PB                                    CD19+ targets
    cart_stim  = A^2 / (cart_K_act^2 + A^2)                antigen stimulation (0..1)
    cart_hom   = cart_K_hom^2 / (cart_K_hom^2 + (TH/th_normal)^2)
                                                           homeostatic share (0..1)
    cart_cap   = 1/(1 + (CARTF/cart_foldx)^4)              proliferative capacity left (0..1)
    kill_cart  = cart_kill CART A / (cart_K_kill + A)      targets killed, cell/uL/day
    w          = CART/(CART + cart_seed)

    dCART/dt  = cart_rho cart_hom CARTP cart_cap CART^2/(CART + cart_seed)
                + cart_theta cart_stim CARTM
                - (cart_delta + cart_conv) CART - ld_kill_lymph LD CART
    dCARTP/dt = w cart_k_prog (cart_stim - CARTP)       proliferation programme (0..1)
    dCARTF/dt = CARTF w (cart_rho cart_hom CARTP cart_cap - cart_delta - cart_conv
                         - ld_kill_lymph LD)
    dCARTM/dt = cart_conv CART - cart_theta cart_stim CARTM - cart_beta CARTM
                - ld_kill_lymph LD CARTM
    dB/dt    += - cart_kill CART B  / (cart_K_kill + A)
    dPB/dt   += - cart_kill CART PB / (cart_K_kill + A)

Proliferation programme (issue 10, docs/calibration.md §14.6): antigen encounter commits T
cells to divisions that continue without further antigen (van Stipdonk 2001; Kaech & Ahmed
2001). ``CARTP`` follows the antigen stimulation with a lag ``1/cart_k_prog`` (~1.2 d), so
infused cells start dividing after about a day and keep dividing for about a day after their
CD19+ targets are cleared: the peak no longer scales with the few CD19+ cells that a
B-selective Flu/Cy leaves at infusion (Lacki 1997). At a steady antigen level ``CARTP`` equals
``cart_stim``, so the slow phases (smouldering effectors, memory) are as before.

The factor ``CART/(CART + cart_seed)`` (``cart_seed`` = 1e-4 cell/uL, a few hundred cells
in the body) is 0.998 at the level one infusion gives (0.057 cell/uL at 1e6/kg) and makes
the no-CAR-T state stable: without it round-off in a patient never given CAR-T grows into
"phantom" CAR-T cells once lymphodepletion and returning B cells favour expansion.

Finite proliferative capacity, a variant (assumption: a finite proliferative burst of
infused cells, as in Stein's fold-expansion Cmax = C0 x foldx; the default ``cart_foldx`` of
1e9 sets no limit, so expansion is target-limited). ``CARTF`` integrates the per-capita net
growth of the effector pool from proliferation, death, conversion and drug (not the inflow
from memory: re-activated memory cells come with fresh capacity), so it is the realised fold
expansion since infusion; proliferation is damped smoothly as it approaches ``cart_foldx``.
The peak is then about the smaller of a dose limit (infused level x ~1.5 cart_foldx) and a
target limit (expansion stops when targets are cleared). With ``cart_foldx`` = 3900, in the
reference setting both are ~3900-fold: lower doses are capacity-limited (less expansion,
less IL-6), higher doses target-limited (saturation). ``CARTF`` falls again as the pool
contracts, so capacity is regained for the re-stimulated "smouldering" effectors and for
memory re-expansion. Its rate carries the factor ``w``: it is exactly 0 when no CAR-T cells
are present (no drift before infusion or in CAR-NK arms), and ``CARTF`` stays positive.

Mapping to Stein 2019 (science.md §3a): while targets last, the effectors grow at
``cart_rho*cart_hom*cart_cap - cart_delta - cart_conv`` (mean doubling ~0.78 d after
lymphodepletion in the reference setting); once targets are cleared they fall at
``cart_delta + cart_conv`` = alpha = 0.16/d, and the memory pool fed by ``cart_conv``
(~0.8 % of the peak, F_B) decays at beta = 0.0032/d. Expansion lasts as long as targets
do and the capacity allows, so the peak grows with target burden up to the dose-limited
level and with dose up to the target-limited level (Stein 2019 foldx; burden:
Hardiansyah & Ng 2019). Without lymphodepletion (host T cells at their set-point)
``cart_rho*cart_hom`` is below alpha and CAR-T cells do not expand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nksim.model import Citation, Component, Parameter, State
from nksim.therapy._lymphodepletion import LD_KILL_LYMPH, TH_NORMAL
from nksim.therapy._nk_products import ALLO_CAR_T_REJ, K_REJ
from nksim.therapy._sources import (
    ASSUMPTION,
    CARTMATH2021,
    GATTINONI2005,
    HARDIANSYAH2019,
    KIMMEL2021,
    NKSIM_CALIBRATION,
    STEIN2019,
    STEIN_FOLDX_CAPACITY,
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
_K_HOM = 0.27  # competition scale as a fraction of th_normal (was 0.3; 150 of 1200 cells/uL)

_COMPETITION = Citation(
    "nksim relative T-cell competition",
    "CAR-T proliferation is limited by host T cells relative to the patient's own set-point "
    "(TH/th_normal), as in the shared carrying capacity of Kimmel 2021 [V-src]: "
    "lymphodepletion frees the homeostatic niche (IL-7/IL-15; Gattinoni 2005 [UNVERIFIED]) "
    "that sets each person's T-cell count. Identical to the former absolute form (150 "
    "cells/uL) for the 1200 cells/uL reference patient of the Stein 2019 calibration; the "
    "scale itself was then calibrated (0.3; docs/calibration.md).",
    verified="assumption",
    note="Range 0.04-0.4 of th_normal. Chosen over the absolute form because the absolute "
    "form made B-cell return depend ~10-fold on the lymphocyte count (26 d to never in 40 "
    "virtual adults), against the narrow spread reported (110 +/- 32 d, Mackensen 2022) and "
    "no covariate retained by Stein 2019; see docs/calibration.md.",
)

_EXHAUSTION = Citation(
    "nksim CAR-T exhaustion under persistent antigen",
    "Persistent antigen stimulation makes effector T cells lose proliferative capacity "
    "(T-cell exhaustion; Wherry 2011 [UNVERIFIED, recalled]). Here CARTX, the exhausted share "
    "of the effector pool's proliferative response, rises with CD19 antigen at rate cart_k_exh "
    "(half-maximal at cart_K_exh targets, below the proliferation threshold cart_K_act: "
    "chronic low-antigen signalling); proliferation is multiplied by (1 - CARTX). It ends the "
    "'smouldering' effector pool that marrow B-cell output would otherwise sustain, so the "
    "post-peak curve keeps Stein 2019's shape (about 0.6 % of the peak at day 90; issue 10).",
    verified="assumption",
    note="cart_k_exh calibrated to Stein 2019's typical day-90 level (science.md 3a, V-src) "
    "and Mackensen 2022's B-cell return (110 +/- 32 d); range 0.01-0.1/d. cart_K_exh range "
    "0.3-10 cell/uL. See docs/calibration.md section 13.",
)

_PROGRAMME = Citation(
    "nksim antigen-triggered proliferation programme (autopilot)",
    "Antigen encounter commits T cells to a programme of divisions that continues without "
    "further antigen: naive CD8+ T cells are committed after as little as 2 h of stimulation "
    "and their daughters divide and differentiate without further antigenic stimulation (van "
    "Stipdonk 2001, Nat Immunol 2:423, doi 10.1038/87730, abstract [V-src, mouse]); after "
    "antigenic stimulation naive CD8+ T cells are committed to dividing at least seven times "
    "(Kaech & Ahmed 2001, Nat Immunol 2:415, doi 10.1038/87720, abstract [V-src, mouse]). "
    "Here CARTP, the effector pool's proliferation programme, follows antigen stimulation "
    "with a lag 1/cart_k_prog; proliferation is driven by CARTP instead of the instantaneous "
    "stimulation, so the pool keeps dividing for about a day after its CD19+ targets are "
    "cleared and the CAR-T peak no longer scales with the few B cells left after a "
    "B-selective Flu/Cy (docs/calibration.md §14.6).",
    verified="assumption",
    note="The form (a first-order lag) and the rate are nksim assumptions: cart_k_prog "
    "0.85/d (programme persistence ~1.2 d, about 2-3 divisions; range 0.3-3 per day), "
    "calibrated with cart_rho, cart_K_hom and cart_k_exh to Stein 2019's peak day, fold "
    "expansion and day-90 level with the B-selective Flu/Cy of Lacki 1997 (ld_kill_b 0.8); "
    "the abstracts are mouse naive CD8+ T cells (seven divisions is an upper bound for the "
    "mostly non-naive CAR-T product). The CD19 antigen drive itself (cart_stim) is "
    "unchanged; memory re-activation and cytokine release still follow it directly.",
)

PARAMETERS = (
    Parameter(
        "cart_rho", 2.3, "1/day",
        "maximal CAR-T proliferation rate (full proliferation programme, no competition, no "
        "exhaustion); re-fitted in issue 10 with the B-selective Flu/Cy (ld_kill_b 0.8) and "
        "the proliferation programme CARTP (docs/calibration.md §14.6; was 1.7 with the "
        "exhaustion state, 1.283 with the capacity limit, 1.238 and 2.25 before): SLEDAI-16 "
        "adult after Flu/Cy peaks on day ~9.3 at 1e6/kg and ~11.5 at 1e5/kg (Stein Tmax "
        "9.3 d, no dose covariate; the difference is ln(10)/growth rate); at the host T-cell "
        "set-point cart_rho*cart_hom = 0.157/d < alpha (no expansion without "
        "lymphodepletion); T cells divide at most ~2-3 times a day",
        NKSIM_CALIBRATION, bounds=(0.0, 20.0),
    ),
    Parameter(
        "cart_K_hom", _K_HOM, "dimensionless",
        "host T cells, as a fraction of the patient's set-point th_normal, at which CAR-T "
        "proliferation is halved by competition for homeostatic cytokines, Hill coefficient 2; "
        "calibrated (docs/calibration.md; 0.3 until §14.6, before that 150 of 1200 cells/uL "
        "= 0.125): the largest value that keeps the Stein terminal decline and no expansion "
        "without lymphodepletion (cart_rho*cart_hom < alpha at the set-point, here with "
        "cart_rho 2.3), making expansion robust to the Flu/Cy dose (SLE series report "
        "expansion and deep B-cell depletion with several regimens). The margin is thin "
        "(0.157 against 0.16/d): it holds for the typical patient, not for all; with the "
        "bundled adult scenario's 20 % variability and no lymphodepletion, 2 of 59 infused "
        "virtual patients expanded over 10-fold (1 over 100-fold). Range 0.04-0.4",
        _COMPETITION, bounds=(1e-6, 100.0),
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
        "cart_kill", 1.2, "1/day",
        "maximal CD19+ targets killed per effector CAR-T per day; re-calibrated in issue 10 "
        "(no capacity limit, marrow precursors as targets; docs/calibration.md §11) so that "
        "the peak comes on day ~10 at 1e6/kg (Stein Tmax 9.3 d) with a dose-independent "
        "peak level (was 0.289 with the capacity limit, before that 0.359, 0.3); inside the "
        "0.1-7/d range of in-vivo per-cell rates implied by CARTmath fits",
        NKSIM_CALIBRATION, bounds=(0.0, 100.0),
    ),
    Parameter(
        "cart_K_kill", 5.0, "cell/uL",
        "CD19+ targets for half-maximal killing (assumption, range 1-50; low: CAR-T keep "
        "killing the few B cells that return while they persist)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    Parameter(
        "cart_foldx", 1e9, "dimensionless",
        "proliferative capacity of the infused effectors: realised fold expansion of the "
        "effector pool (CARTF) at which proliferation is halved, Hill coefficient 4. "
        "Default 1e9 = no capacity limit (issue 10): Stein 2019 retained no dose covariate "
        "and SLE programmes report robust expansion at 1e5 cells/kg, so expansion is "
        "target-limited. The former finite burst (3900, Stein foldx; docs/calibration.md "
        "§10) remains available as a variant. Range 1000-1e9",
        STEIN_FOLDX_CAPACITY, bounds=(1.0, 1e9),
    ),
    Parameter(
        "cart_seed", 1e-4, "cell/uL",
        "CAR-T level below which proliferation fades (CART^2/(CART + cart_seed)); keeps the "
        "no-CAR-T state stable against round-off (assumption: 1e-4 cell/uL is 250-500 cells "
        "in 2.5-5 L of blood, like the CAR-NK extinction threshold; far below the 0.01-0.1 "
        "cell/uL one infusion gives, so the Stein calibration is unaffected)",
        ASSUMPTION, bounds=(0.0, 1.0),
    ),
    Parameter(
        "cart_k_exh", 0.015, "1/day",
        "rate at which CD19 antigen exhausts the effector pool's proliferative response "
        "(CARTX), at full antigen (issue 10: contraction without a proliferation cap); "
        "calibrated to Stein 2019's typical day-90 level and Mackensen's B-cell return "
        "(0.012 until §14.6 re-fitted it with the B-selective Flu/Cy and CARTP); "
        "range 0.01-0.1",
        _EXHAUSTION, bounds=(0.0, 10.0),
    ),
    Parameter(
        "cart_mem_kill", 1.0, "dimensionless",
        "killing by a persisting (memory) CAR-T cell relative to an effector: Stein 2019's "
        "persistence phase is the CAR-T pool that keeps B cells aplastic after the "
        "contraction (assumption, range 0-1; 0 = memory cells do not kill)",
        _EXHAUSTION, bounds=(0.0, 1.0),
    ),
    Parameter(
        "cart_K_exh", 2.0, "cell/uL",
        "CD19+ targets for half-maximal exhaustion drive (assumption: chronic signalling at "
        "antigen levels below the proliferation threshold cart_K_act; calibrated with "
        "cart_k_exh; range 0.3-10)",
        _EXHAUSTION, bounds=(1e-6, 1e6),
    ),
    Parameter(
        "cart_allo", 0.0, "dimensionless",
        "1 for an allogeneic (donor) CAR-T rejected by host T cells (catalogue "
        "car_t(allogeneic=True); Wang, NCT05859997), 0 for autologous; set per arm",
        ALLO_CAR_T_REJ.source, bounds=(0.0, 1.0),
    ),
    Parameter(
        "cart_rej", ALLO_CAR_T_REJ.value, ALLO_CAR_T_REJ.unit,
        "maximal rejection of allogeneic CAR-T cells by host T cells (shared product "
        f"catalogue; range {ALLO_CAR_T_REJ.low:g}-{ALLO_CAR_T_REJ.high:g} 1/day)",
        ALLO_CAR_T_REJ.source, bounds=(0.0, 50.0),
    ),
    Parameter(
        "cart_K_rej", K_REJ.value, K_REJ.unit,
        "host T cells for half-maximal rejection of allogeneic CAR-T (shared product "
        f"catalogue; range {K_REJ.low:g}-{K_REJ.high:g} cell/uL)", K_REJ.source,
        bounds=(1e-3, 1e6),
    ),
    Parameter(
        "cart_k_prog", 0.85, "1/day",
        "rate at which the effector pool's proliferation programme CARTP follows CD19 antigen "
        "stimulation (1/cart_k_prog: how long the cells keep dividing after their targets are "
        "gone, and how long newly infused cells take to start; autopilot expansion, van "
        "Stipdonk 2001 and Kaech & Ahmed 2001 [V-src, mouse]); assumption, range 0.3-3 per day",
        _PROGRAMME, bounds=(1e-3, 100.0),
    ),
    LD_KILL_LYMPH,
    TH_NORMAL,
)


def car_t_component(targets: Sequence[str] = ("B", "PB")) -> Component:
    """The CAR-T component (states ``CART``, ``CARTM``, ``CARTF``; kill terms on ``targets``).

    ``targets`` are the states carrying the CAR's antigen (cell/uL): the disease
    component's CD19+ ``B`` and ``PB`` in lupus (the default), tumour cells ``("T",)`` in a
    cancer setting. Stimulation and killing see their sum ``A``; each target is killed in
    proportion to its share of ``A``. Requires the targets and ``TH``, ``LD``
    (lymphodepletion). Exports the expressions ``cart_stim``, ``cart_hom``, ``cart_cap``
    (dimensionless) and ``kill_cart`` (cell/uL/day). Dose ``CART`` with
    :class:`nksim.therapy.CellProduct`.
    """
    names = _target_names(targets, "car_t_component")
    targets = _sum(names)
    return Component(
        name="car_t",
        description="Autologous CD19 CAR-T: effector and memory cells, target-driven "
        "expansion with a finite proliferative capacity, contraction, memory persistence; "
        f"kills {_kills(names)}.",
        states=(
            State("CART", "cell/uL", "CAR-T effector cells", 0.0),
            State("CARTM", "cell/uL", "CAR-T memory cells (persistence)", 0.0),
            State("CARTF", "dimensionless",
                  "realised fold expansion of the CAR-T effector pool since infusion "
                  "(1 before; memory re-activation not counted)", 1.0),
            State("CARTX", "dimensionless",
                  "exhausted share of the CAR-T effector pool's proliferative response "
                  "(0 before infusion, 0..1)", 0.0),
            State("CARTP", "dimensionless",
                  "proliferation programme of the CAR-T effector pool: antigen stimulation "
                  "followed with a lag 1/cart_k_prog (0 before infusion, 0..1)", 0.0),
        ),
        parameters=PARAMETERS,
        expressions={
            "cart_stim": (f"{targets}**2/(cart_K_act**2 + {targets}**2)", "dimensionless",
                          "CAR-T antigen stimulation by CD19+ targets (0..1)"),
            "cart_hom": ("cart_K_hom**2/(cart_K_hom**2 + (TH/th_normal)**2)", "dimensionless",
                         "share of homeostatic cytokines left to CAR-T by host T cells"),
            "cart_cap": ("(1 - CARTX)/(1 + (CARTF/cart_foldx)**4)", "dimensionless",
                         "proliferative capacity left to the infused effectors (0..1): "
                         "not exhausted and below the fold-expansion limit"),
            "kill_cart": (f"cart_kill*(CART + cart_mem_kill*CARTM)*{targets}"
                          f"/(cart_K_kill + {targets})",
                          "cell/uL/day", "CD19+ targets killed by CAR-T"),
        },
        terms={
            "CART": [
                "cart_rho*cart_hom*CARTP*cart_cap*CART**2/(CART + cart_seed)",
                "cart_theta*cart_stim*CARTM",
                "-(cart_delta + cart_conv)*CART",
                "-ld_kill_lymph*LD*CART",
                "-cart_allo*cart_rej*TH/(cart_K_rej + TH)*CART",
            ],
            "CARTM": [
                "cart_conv*CART",
                "-cart_theta*cart_stim*CARTM",
                "-cart_beta*CARTM",
                "-ld_kill_lymph*LD*CARTM",
                "-cart_allo*cart_rej*TH/(cart_K_rej + TH)*CARTM",
            ],
            "CARTF": "CARTF*CART/(CART + cart_seed)*(cart_rho*cart_hom*CARTP*cart_cap "
                     "- cart_delta - cart_conv - ld_kill_lymph*LD)",
            "CARTX": f"CART/(CART + cart_seed)*cart_k_exh*{targets}/(cart_K_exh + {targets})"
                     "*(1 - CARTX)",
            "CARTP": f"CART/(CART + cart_seed)*cart_k_prog*({targets}**2/(cart_K_act**2 "
                     f"+ {targets}**2) - CARTP)",
            **{x: f"-cart_kill*(CART + cart_mem_kill*CARTM)*{x}/(cart_K_kill + {targets})"
               for x in names},
        },
        requires=(*names, "TH", "LD"),
        references=(STEIN2019, STEIN_FOLDX_CAPACITY, CARTMATH2021, HARDIANSYAH2019, KIMMEL2021,
                    TURTLE2016, GATTINONI2005),
        notes=(
            _kill_note(names),
            "No extinction threshold: CART has a source from CARTM and vice versa.",
            "CARTF (realised fold expansion, 1 before infusion) only changes while CAR-T "
            "effectors are present; it is not a cell count.",
            "Default kinetics calibrated to the shape of Stein 2019 in the reference setting "
            "of docs/cell-products.md (B 200 cells/uL, Flu/Cy 30/500 x 3, 1e6 CAR-T/kg).",
        ),
    )


def stein_doubling_rate() -> float:
    """Stein 2019 expansion rate ln(2)/0.78 d (1/day)."""
    return math.log(2.0) / STEIN2019_TYPICAL["doubling_time_day"]


def _target_names(targets: Sequence[str], where: str) -> tuple[str, ...]:
    """The target state names, checked: a non-empty sequence of distinct identifiers."""
    if isinstance(targets, str):
        targets = (targets,)
    names = tuple(targets)
    if not names or len(set(names)) != len(names) or not all(
            isinstance(n, str) and n.isidentifier() for n in names):
        raise ValueError(f"{where}: targets must be distinct state names, got {targets!r}")
    return names


def _sum(names: Sequence[str]) -> str:
    """``"(B + PB)"``: the antigen load seen by a product, in parentheses."""
    return "(" + " + ".join(names) + ")"


def _kills(names: Sequence[str]) -> str:
    """What a product kills, in words (the lupus wording for the default targets)."""
    return "CD19+ B and PB" if tuple(names) == ("B", "PB") else " and ".join(names)


def _kill_note(names: Sequence[str]) -> str:
    if tuple(names) == ("B", "PB"):
        return "Kill terms act on B and PB only; LLPC (CD19-negative) is never killed."
    return f"Kill terms act on {', '.join(names)} only."
