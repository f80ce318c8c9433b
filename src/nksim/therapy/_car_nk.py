"""Allogeneic CD19 (or CD19/BCMA) CAR-NK in the lupus model, from the shared product catalogue.

State (contract ``docs/design-sle.md``): ``CARNK`` (cell/uL). The product is the catalogue's
CAR-NK (:func:`nksim.therapy.car_nk`, issue 9 §6): its loss, proliferation, host rejection,
IL-15 armour and killing are the values of :data:`nksim.therapy._nk_products.KINETICS`
``["car_nk"]`` and the catalogue's support constants, with the same kinetic law as
:func:`nksim.therapy.product_component` (host T cells ``TH`` scale rejection)::

    A               = B + PB  (the targets; + carnk_dual x second targets for a dual CAR)
    carnk_stim      = A^2 / (carnk_K_act^2 + A^2)       engagement (drives cytokine release)
    carnk_growth    = carnk_rho + carnk_il15 carnk_il15_rho
    carnk_loss      = carnk_delta / (1 + carnk_il15 (carnk_il15_loss - 1))
    carnk_rejection = carnk_rej TH / (carnk_K_rej + TH)       host T cells reject donor cells
    kill_carnk      = carnk_kill CARNK A / (carnk_K_kill + A)   cell/uL/day

    dCARNK/dt = (carnk_growth - carnk_loss - carnk_rejection - ld_kill_lymph LD) CARNK
                + CARNKX carnk_rexp (1 - CARNK/carnk_kexp) CARNK
    dX/dt    += - carnk_kill CARNK X / (carnk_K_kill + A)      for each target X

``CARNKX`` (0 or 1, constant between doses) is the catalogue's per-patient in-vivo expansion
event (``expand``; Bachanova 2014, Cooley 2019: 10-36 % of patients, not a mean rate): the
lupus setting draws it from each patient's own stream with the product's probability
(:func:`nksim.therapy.expansion_events`) and sets it with a dose record at the first infusion.

Two lupus-model additions to the catalogue's law, both switches set per arm: ``carnk_il15``
(0/1, IL-15 armour as the catalogue defines it: loss divided by the IL-15 support factor,
autocrine proliferation added) and ``carnk_dual`` (a second CAR, e.g. BCMA, reaching the
states that carry only the second antigen). Lymphodepletion acts through ``LD`` (drug) and
``TH`` (fewer host T cells, less rejection) rather than through the catalogue's
``lymphodepleted`` factor.

Without targets and with TH constant the product changes exponentially at
``carnk_growth - carnk_loss - carnk_rejection`` (:func:`carnk_half_life`). Unarmoured, the
growth (0.05/d) is below the loss (0.2/d): no expansion; armoured, growth 0.15/d against
loss 0.1/d, so the product persists for months while lymphodepletion keeps host T cells low
(Liu 2020: low levels >= 12 months).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nksim.model import Component, Parameter, State
from nksim.therapy._car_t import _kill_note, _kills, _sum, _target_names
from nksim.therapy._lymphodepletion import LD_KILL_LYMPH
from nksim.therapy._nk_products import (
    IL15_ARMOUR_RHO,
    K_REJ,
    KINETICS,
    PRODUCT_EXTINCTION,
    SUPPORT_LOSS_FACTOR,
    Value,
)
from nksim.therapy._sources import ASSUMPTION, FT596, LIU2020, PRAGER2019, ZHANG2007

#: The catalogue's CAR-NK kinetics (one definition for every disease setting).
CATALOGUE = KINETICS["car_nk"]

DUAL = Parameter(
    "carnk_dual", 0.0, "dimensionless",
    "1 for a dual CAR-NK whose second CAR (BCMA) also reaches the states carrying only the "
    "second antigen (long-lived plasma cells), 0 for a CD19-only product; set per arm "
    "(catalogue car_nk(second_antigen='BCMA'), KN5601-like CD19/BCMA CAR-NK: BCMA on "
    "plasmablasts and plasma cells, Gao 2025 [V-src design] / product description; the kill "
    "rate per cell is the CD19 rate: assumption, range 0.3-1 of it)",
    ASSUMPTION, bounds=(0.0, 1.0),
)

#: Extinction threshold of CARNK (cell/uL): that of every NK product (PRODUCT_EXTINCTION).
CARNK_EXTINCTION = PRODUCT_EXTINCTION


def _from(v: Value, name: str, what: str, bounds: tuple[float, float]) -> Parameter:
    """A lupus parameter carrying a catalogue value, its range and its source."""
    return Parameter(name, v.value, v.unit,
                     f"{what} (shared product catalogue, nksim.therapy.car_nk; range "
                     f"{v.low:g}-{v.high:g} {v.unit})", v.source, bounds=bounds)


PARAMETERS = (
    _from(CATALOGUE.rho, "carnk_rho", "proliferation of infused CAR-NK cells (order of the "
          "endogenous NK proliferation rate, 4.3 %/d; below carnk_delta: no expansion)",
          (0.0, 10.0)),
    Parameter(
        "carnk_K_act", 20.0, "cell/uL",
        "targets for half-maximal CAR-NK engagement, which drives cytokine release "
        "(assumption, range 5-200)",
        ASSUMPTION, bounds=(1e-3, 1e6),
    ),
    _from(CATALOGUE.delta, "carnk_delta", "intrinsic loss rate of infused CAR-NK cells "
          "without cytokine support (half-life 3.5 d)", (0.0, 10.0)),
    _from(CATALOGUE.rej, "carnk_rej", "maximal rejection rate of donor CAR-NK cells by host "
          "T cells (was 0.8 in the lupus model before it used the catalogue)", (0.0, 50.0)),
    _from(K_REJ, "carnk_K_rej", "host T cells for half-maximal rejection", (1e-3, 1e6)),
    _from(CATALOGUE.kill, "carnk_kill", "maximal targets killed per CAR-NK cell per day "
          "(activated NK cells kill serially in vitro, Prager 2019, but many kill none)",
          (0.0, 100.0)),
    _from(CATALOGUE.k_kill, "carnk_K_kill", "targets for half-maximal killing", (1e-3, 1e6)),
    Parameter(
        "carnk_il15", 0.0, "dimensionless",
        "1 for an IL-15-armoured CAR-NK (catalogue car_nk(il15_armoured=True): cord-blood "
        "CAR-NK with IL-15, Liu 2020), 0 without; set per arm",
        LIU2020, bounds=(0.0, 1.0),
    ),
    _from(IL15_ARMOUR_RHO, "carnk_il15_rho", "extra (autocrine IL-15) proliferation of an "
          "armoured product", (0.0, 10.0)),
    _from(SUPPORT_LOSS_FACTOR["il15"], "carnk_il15_loss", "IL-15 divides the loss rate of "
          "infused NK cells by this factor", (1.0, 100.0)),
    _from(CATALOGUE.rexp, "carnk_rexp", "net growth during an in-vivo expansion event "
          "(per-patient, state CARNKX)", (0.0, 10.0)),
    _from(CATALOGUE.kexp, "carnk_kexp", "level where in-vivo expansion stops (Bachanova "
          "2014: median 1000 donor NK/uL)", (1e-3, 1e6)),
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
        description="Allogeneic CD19 CAR-NK from the shared product catalogue: no "
        f"expansion unless IL-15-armoured, host rejection by T cells, kills {_kills(names)}.",
        states=(
            State("CARNK", "cell/uL", "CAR-NK cells (allogeneic, donor-derived)", 0.0,
                  extinction=CARNK_EXTINCTION),
            State("CARNKX", "dimensionless",
                  "1 once this patient's CAR-NK expand in vivo (a per-patient event, set by a "
                  "dose record at the first infusion), else 0", 0.0),
        ),
        parameters=PARAMETERS + ((DUAL,) if second else ()),
        expressions={
            "carnk_stim": (f"{targets}**2/(carnk_K_act**2 + {targets}**2)", "dimensionless",
                           "CAR-NK engagement by CD19+ targets (0..1; cytokine release)"),
            "carnk_growth": ("carnk_rho + carnk_il15*carnk_il15_rho", "1/day",
                             "CAR-NK proliferation (IL-15 armour adds autocrine growth)"),
            "carnk_loss": ("carnk_delta/(1 + carnk_il15*(carnk_il15_loss - 1))", "1/day",
                           "intrinsic CAR-NK loss (IL-15 armour divides it)"),
            "carnk_rejection": ("carnk_rej*TH/(carnk_K_rej + TH)", "1/day",
                                "rejection rate of donor cells by host T cells"),
            "kill_carnk": (f"carnk_kill*CARNK*{targets}/(carnk_K_kill + {targets})",
                           "cell/uL/day", "CD19+ targets killed by CAR-NK"),
        },
        terms={
            "CARNK": [
                "(carnk_growth - carnk_loss - carnk_rejection)*CARNK",
                "CARNKX*carnk_rexp*(1 - CARNK/carnk_kexp)*CARNK",
                "-ld_kill_lymph*LD*CARNK",
            ],
            **{x: f"-carnk_kill*CARNK*{x}/(carnk_K_kill + {targets})" for x in names},
            **{x: f"-carnk_dual*carnk_kill*CARNK*{x}/(carnk_K_kill + {targets})"
               for x in second},
        },
        requires=(*names, *second, "TH", "LD"),
        references=(FT596, LIU2020, ZHANG2007, PRAGER2019, CATALOGUE.delta.source),
        notes=(
            _kill_note(names),
            "Rejection acts at once in proportion to TH (no priming delay): a simplification.",
        ),
    )


def carnk_half_life(th: float, *, carnk_delta: float = CATALOGUE.delta.value,
                    carnk_rej: float = CATALOGUE.rej.value,
                    carnk_K_rej: float = K_REJ.value, carnk_rho: float = CATALOGUE.rho.value,
                    il15_armoured: bool = False) -> float:
    """Persistence half-life (days) of CAR-NK without drug, host T cells ``th`` (catalogue
    values by default): ``ln 2 / (loss + rejection - growth)``, ``inf`` if it grows."""
    growth = carnk_rho + (IL15_ARMOUR_RHO.value if il15_armoured else 0.0)
    loss = carnk_delta / (SUPPORT_LOSS_FACTOR["il15"].value if il15_armoured else 1.0)
    net = loss + carnk_rej * th / (carnk_K_rej + th) - growth
    return math.log(2.0) / net if net > 0 else math.inf
