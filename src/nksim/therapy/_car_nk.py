"""Allogeneic CD19 CAR-NK cells: no meaningful expansion, host rejection, killing.

State (contract ``docs/design-sle.md``): ``CARNK`` (cell/uL). Targets are the disease
component's CD19+ ``B`` and ``PB``; CD19-negative ``LLPC`` is never touched::

    A               = B + PB
    carnk_stim      = A^2 / (carnk_K_act^2 + A^2)
    carnk_rejection = carnk_rej TH / (carnk_K_rej + TH)       host T cells reject donor cells
    kill_carnk      = carnk_kill CARNK A / (carnk_K_kill + A)   cell/uL/day

    dCARNK/dt = (carnk_rho carnk_stim - carnk_delta - carnk_rejection - ld_kill_lymph LD) CARNK
    dB/dt    += - carnk_kill CARNK B  / (carnk_K_kill + A)
    dPB/dt   += - carnk_kill CARNK PB / (carnk_K_kill + A)

Without targets and with TH constant the product decays exponentially with the
persistence half-life ``ln 2 / (carnk_delta + carnk_rejection)`` (:func:`carnk_half_life`).
Lymphodepletion lowers TH and so lengthens persistence. ``carnk_rho`` < ``carnk_delta``
by default: the product cannot expand (an IL-15-armoured product may be explored by
raising it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nksim.model import Component, Parameter, State
from nksim.therapy._car_t import _kill_note, _kills, _sum, _target_names
from nksim.therapy._lymphodepletion import LD_KILL_LYMPH
from nksim.therapy._sources import ASSUMPTION, FT596, LIU2020, PRAGER2019, ZHANG2007, Citation

_PERSISTENCE = Citation(
    "nksim CAR-NK persistence",
    "Intrinsic loss and host rejection chosen so that, after Flu/Cy, an unarmoured "
    "allogeneic CAR-NK product is detectable for about two weeks (FT596: persisted <= 15 d) "
    "and for about one week without lymphodepletion.",
    verified="assumption",
    note="Ranges: carnk_delta 0.07-0.5/d (the lower end is the endogenous NK disappearance "
    "rate of Zhang 2007), carnk_rej 0.2-2/d.",
)

DUAL = Parameter(
    "carnk_dual", 0.0, "dimensionless",
    "1 for a dual CAR-NK whose second CAR (BCMA) also reaches the states carrying only the "
    "second antigen (long-lived plasma cells), 0 for a CD19-only product; set per arm "
    "(KN5601-like CD19/BCMA CAR-NK: BCMA on plasmablasts and plasma cells, Gao 2025 "
    "[V-src design] / product description; the kill rate per cell is the CD19 rate: "
    "assumption, range 0.3-1 of it)",
    ASSUMPTION, bounds=(0.0, 1.0),
)

#: Extinction threshold of CARNK (cell/uL): 1e-4 cells/uL of blood is 250-500 circulating
#: cells in 2.5-5 L of blood, far below flow-cytometry or qPCR detection (~0.1-1 cell/uL).
CARNK_EXTINCTION = 1e-4

PARAMETERS = (
    Parameter(
        "carnk_rho", 0.05, "1/day",
        "maximal antigen-driven CAR-NK proliferation (order of the endogenous NK "
        "proliferation rate, 4.3 %/d; below carnk_delta so the product cannot expand; "
        "range 0-0.3, higher for IL-15-armoured products)",
        ZHANG2007, bounds=(0.0, 10.0),
    ),
    Parameter(
        "carnk_K_act", 20.0, "cell/uL",
        "CD19+ targets for half-maximal CAR-NK stimulation (assumption, range 5-200)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    Parameter(
        "carnk_delta", 0.2, "1/day",
        "intrinsic loss rate of infused CAR-NK cells without cytokine support "
        "(assumption; half-life 3.5 d; range 0.07-0.5)",
        _PERSISTENCE, bounds=(0.0, 10.0),
    ),
    Parameter(
        "carnk_rej", 0.8, "1/day",
        "maximal rejection rate of donor CAR-NK cells by host T cells (assumption, "
        "range 0.2-2)",
        _PERSISTENCE, bounds=(0.0, 50.0),
    ),
    Parameter(
        "carnk_K_rej", 500.0, "cell/uL",
        "host T cells for half-maximal rejection (assumption, range 100-2000)",
        _PERSISTENCE, bounds=(1e-3, 1e6),
    ),
    Parameter(
        "carnk_kill", 1.0, "1/day",
        "maximal CD19+ targets killed per CAR-NK cell per day (assumption, range 0.3-3: "
        "activated NK cells kill serially in vitro, up to a few targets per day, but many "
        "kill none)",
        PRAGER2019, bounds=(0.0, 100.0),
    ),
    Parameter(
        "carnk_K_kill", 20.0, "cell/uL",
        "CD19+ targets for half-maximal killing (assumption, range 5-200)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    LD_KILL_LYMPH,
)


def car_nk_component(targets: Sequence[str] = ("B", "PB"),
                     second_targets: Sequence[str] = ()) -> Component:
    """The CAR-NK component (state ``CARNK``; kill terms on ``targets``).

    ``targets`` are the antigen-carrying states (cell/uL): CD19+ ``B`` and ``PB`` in lupus
    (the default), tumour cells ``("T",)`` in a cancer setting (see
    :func:`nksim.therapy.car_t_component`). Requires the targets and ``TH``, ``LD``
    (lymphodepletion). Exports the
    expressions ``carnk_stim``, ``carnk_rejection`` (1/day) and ``kill_carnk``
    (cell/uL/day). ``CARNK`` goes extinct below :data:`CARNK_EXTINCTION`; a new infusion
    brings it back.

    ``second_targets``: states carrying only a second CAR antigen (a dual CAR, e.g.
    CD19/BCMA: long-lived plasma cells ``("LLPC",)``), killed in proportion to the
    parameter ``carnk_dual`` (0 = single CAR, the default value; 1 = dual CAR, set per arm).
    Cells carrying both antigens belong in ``targets``.
    """
    names = _target_names(targets, "car_nk_component")
    second = tuple(second_targets)
    if second:
        _target_names(second, "car_nk_component")
        if set(second) & set(names):
            raise ValueError("car_nk_component: second_targets must not repeat targets, got "
                             f"{second!r}")
    if second:
        load = _sum(names)[:-1] + " + carnk_dual*" + " + carnk_dual*".join(second) + ")"
    else:
        load = _sum(names)
    targets = load
    return Component(
        name="car_nk",
        description="Allogeneic CD19 CAR-NK: no meaningful expansion, host rejection by "
        f"T cells, kills {_kills(names)}.",
        states=(
            State("CARNK", "cell/uL", "CAR-NK cells (allogeneic, donor-derived)", 0.0,
                  extinction=CARNK_EXTINCTION),
        ),
        parameters=PARAMETERS + ((DUAL,) if second else ()),
        expressions={
            "carnk_stim": (f"{targets}**2/(carnk_K_act**2 + {targets}**2)", "dimensionless",
                           "CAR-NK antigen stimulation by CD19+ targets (0..1)"),
            "carnk_rejection": ("carnk_rej*TH/(carnk_K_rej + TH)", "1/day",
                                "rejection rate of donor cells by host T cells"),
            "kill_carnk": (f"carnk_kill*CARNK*{targets}/(carnk_K_kill + {targets})",
                           "cell/uL/day", "CD19+ targets killed by CAR-NK"),
        },
        terms={
            "CARNK": [
                "carnk_rho*carnk_stim*CARNK",
                "-(carnk_delta + carnk_rejection)*CARNK",
                "-ld_kill_lymph*LD*CARNK",
            ],
            **{x: f"-carnk_kill*CARNK*{x}/(carnk_K_kill + {targets})" for x in names},
            **{x: f"-carnk_dual*carnk_kill*CARNK*{x}/(carnk_K_kill + {targets})"
               for x in second},
        },
        requires=(*names, *second, "TH", "LD"),
        references=(FT596, LIU2020, ZHANG2007, PRAGER2019, _PERSISTENCE),
        notes=(
            _kill_note(names),
            "Rejection acts at once in proportion to TH (no priming delay): a simplification.",
        ),
    )


def carnk_half_life(th: float, *, carnk_delta: float = 0.2, carnk_rej: float = 0.8,
                    carnk_K_rej: float = 500.0) -> float:
    """Persistence half-life (days) of CAR-NK without targets or drug, host T cells ``th``.

    ``ln 2 / (carnk_delta + carnk_rej * th / (carnk_K_rej + th))``.
    """
    loss = carnk_delta + carnk_rej * th / (carnk_K_rej + th)
    return math.log(2.0) / loss
