"""Patrol: where an NK cell goes, declared as a linear trafficking model (issue 9 §4).

Research use only. One *population* of NK cells (endogenous resting cells, or infused
activated cells) is tracked over nine pools, all in cells (not concentrations)::

    ven    venous blood + right heart (mixed; everything in it goes to the lungs next)
    art    arterial blood + left heart
    lung   cells held back (marginated) in the pulmonary microcirculation
    liver  cells held in the liver sinusoids (portal and arterial inflow)
    spleen cells held in the spleen (outflow by the splenic vein to the portal vein)
    marrow cells held in bone marrow sinusoids
    node   cells that entered lymph nodes (back to blood by lymph)
    tissue cells in a tumour or other tissue
    first  cells just infused into a vein, before their first passage through the lungs

Infusions go into ``first``: on that first passage a fraction ``E_first`` is held in the
lungs (freshly infused ex-vivo expanded cells: > 50 %, Meller 2004); afterwards cells
pass the lungs with the recirculating retention ``E_lung``.

Blood leaves ``ven`` through the lungs at the cardiac output ``CO``; a fraction
``E_lung`` of the cells is held there for a mean time ``tau_lung``, the rest goes on to
``art``. Arterial blood is split by the organ blood-flow fractions (Brown 1997): each
organ holds a fraction ``E_x`` of the cells reaching it for a mean time ``tau_x``; the
rest, and all of the remaining cardiac output, go back to ``ven``. Splenic blood (held or
not) reaches the liver through the portal vein. Every pool loses cells at the same death
rate ``death`` (1/day) and new cells enter ``ven`` at ``prod`` (cell/day)::

    F = 1440 CO                      blood flow, L/day (CO in L/min)
    c_ven = ven/(f_ven BV)           c_art = art/((1 - f_ven) BV)          cell/L
    c_first = first/(f_ven BV)
    dfirst/dt  = - F c_first - death first                       (infusions add to it)
    dlung/dt   = E_lung F c_ven + E_first F c_first - 1440 lung/tau_lung - death lung
    dart/dt    = (1 - E_lung) F c_ven + (1 - E_first) F c_first + 1440 lung/tau_lung
                 - F c_art - death art
    dspleen/dt = E_spleen f_spleen F c_art - 1440 spleen/tau_spleen - death spleen
    liver_in   = (f_liver - E_spleen f_spleen) F c_art + 1440 spleen/tau_spleen
    dliver/dt  = E_liver liver_in - 1440 liver/tau_liver - death liver
    dX/dt      = E_X f_X F c_art - 1440 X/tau_X - death X     (X = marrow, node, tissue)
    dven/dt    = prod - F c_ven + (everything that is not held, and every release)
                 - death ven

With ``death = prod = 0`` the total is conserved and the steady state has the closed
form (derived in ``docs/nk-patrol-and-products.md``; :func:`steady_state_shares`)::

    ven : art : lung : liver : spleen : X
      = f_ven BV : (1 - f_ven) BV : CO E_lung tau_lung : CO f_liver E_liver tau_liver
        : CO f_spleen E_spleen tau_spleen : CO f_X E_X tau_X          (litres)

and one circuit (one passage through the lungs) takes ``BV (1 + r) / CO`` on average,
``r`` = (held cells)/(blood cells) = ``CO sum_x f_x E_x tau_x / BV`` with ``f_lung = 1``
(:func:`circuits_per_day`). Every parameter carries its unit and source; retention
fractions and dwell times are assumptions with ranges (:data:`PROFILES`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nksim.errors import UserError
from nksim.model import Citation, Component, Model, Parameter, State, compose

# ---------------------------------------------------------------- sources
BROWN1997 = Citation(
    "Brown 1997",
    "Brown RP, Delp MD, Lindstedt SL, Rhomberg LR, Beliles RP. Physiological parameter "
    "values for physiologically based pharmacokinetic models. Toxicol Ind Health "
    "1997;13:407-484.",
    verified="V-code",
    doi="10.1177/074823379701300401",
    note="Fractions of cardiac output as coded in metrumresearchgroup/BayesPBPK-tutorial "
    "model/mavoPBPKLinODE.jl (reference adult): liver 25.5 % (of which spleen 3 %, gut "
    "14 %, pancreas 1 %, stomach 1 % arrive by the portal vein), bone 5 %, kidney 19 %, "
    "muscle 17 %, brain 12 %; arterial blood 2.81 % and venous blood 5.62 % of body weight "
    "(venous share 2/3). The paper's tables were not seen.",
)
WHITE1968 = Citation(
    "White 1968",
    "Cardiac output CO = 187 WT^0.81 mL/min (White et al. 1968), as coded in "
    "metrumresearchgroup/BayesPBPK-tutorial model/mavoPBPKLinODE.jl.",
    verified="V-code",
    note="5.86 L/min at 70 kg. Range 4.5-7.0 L/min at rest (assumption: covers both sexes "
    "and ICRP 89 reference values of 5.9-6.5 L/min remembered [UNVERIFIED]).",
)
BLOOD_VOLUME_REF = Citation(
    "Blood volume",
    "About 70 mL/kg in adults (65-75), i.e. 4.9 L at 70 kg (nksim.therapy BLOOD_VOLUME "
    "assumption, docs/design-sle.md); Brown 1997 arterial + venous blood 8.4 % of body "
    "weight (5.9 L at 70 kg, V-code).",
    verified="assumption",
    note="Range 4.2-5.9 L.",
)
MELLER2004 = Citation(
    "Meller 2004",
    "Meller B, Frohn C, Brand JM, et al. Monitoring of a new approach of immunotherapy with "
    "allogenic 111In-labelled NK cells in patients with renal cell carcinoma. Eur J Nucl Med "
    "Mol Imaging 2004;31:403-407; and Brand JM, Meller B, et al. Stem Cells Dev "
    "2004;13:307-314 (PubMed 15186726).",
    verified="V-src",
    doi="10.1007/s00259-003-1398-4",
    note="Abstracts: 3 patients, 3-7e8 ex-vivo expanded NK; shortly after transfusion more "
    "than 50 % of the activity was in the lungs, then redistribution to liver, spleen and "
    "bone marrow; no activity in lymph nodes; the circulating fraction of transfused cells "
    "was low at all times; donor DNA in blood up to 3 days, none at 7 days.",
)
EXERCISE_MOBILISATION = Citation(
    "Exercise mobilisation of NK cells",
    "Gustafson MP et al. J Immunother Cancer 2017;5:30 (cytotoxic NK cells rose 5.6-fold on "
    "average immediately after maximal exercise); Bigler MB et al. (PMC3665937): running up "
    "and down 150 stair steps gave a sixfold rise of CD3-CD56+ NK cells.",
    verified="V-src",
    doi="10.1186/s40425-017-0231-8",
    note="Abstracts. Within minutes the blood NK count rises about 6-fold, so the pools "
    "that release NK cells (marginated in lungs, liver, spleen) hold at least about 5 times "
    "the circulating NK cells: r >= fold - 1. nksim uses this as a lower bound on r, not as "
    "a fitted value.",
)
ZHANG2007 = Citation(
    "Zhang 2007",
    "Zhang Y, Wallace DL, de Lara CM, et al. In vivo kinetics of human natural killer "
    "cells: the effects of ageing and acute and chronic viral infection. Immunology "
    "2007;121:258-265.",
    verified="V-src",
    doi="10.1111/j.1365-2567.2007.02573.x",
    note="Deuterium labelling: proliferation 4.3 +/- 2.4 %/d, production 15 +/- 7.6e6 "
    "cells/L/d, disappearance 6.9 +/- 4.0 %/d (t1/2 < 10 d), elderly 2.5 %/d "
    "(science.md §4).",
)
TRAFFICKING_ASSUMPTION = Citation(
    "nksim trafficking assumption",
    "Per-pass retention fractions and mean dwell times of NK cells in each organ: not "
    "found in a source; chosen by nksim within the ranges given, so that the held:blood "
    "ratio of resting NK cells is of the order that exercise mobilisation implies (about 5) "
    "and infused activated NK cells show the lung-first, then liver/spleen/marrow pattern "
    "of Meller 2004.",
    verified="assumption",
)
CIRCUITS_CLAIM = Citation(
    "Article B4 (240 circuits a day)",
    "Source article (zjnews 2026-02-04) row B4: an NK cell patrols the body about 240 "
    "times a day. No primary source found.",
    verified="UNVERIFIED",
    note="science.md §6: cardiac output 5 L/min over 5 L of blood gives ~1400/day; 240/day "
    "would imply ~6 min per circuit, e.g. with marginated or splenic dwell time.",
)

#: The eight pools of one population, in state order.
POOLS = ("ven", "art", "lung", "liver", "spleen", "marrow", "node", "tissue", "first")
#: Pools that hold cells outside flowing blood, and their blood-flow weight parameter.
HELD = ("lung", "liver", "spleen", "marrow", "node", "tissue")
MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class Range:
    """A default value with its plausible range (low, high) and source."""

    value: float
    low: float
    high: float
    unit: str
    source: Citation
    note: str = ""


#: Physiology shared by every population (reference adult, 70 kg).
PHYSIOLOGY: dict[str, Range] = {
    "CO": Range(5.86, 4.5, 7.0, "L/min", WHITE1968, "cardiac output at rest"),
    "BV": Range(4.9, 4.2, 5.9, "L", BLOOD_VOLUME_REF, "blood volume"),
    "f_ven": Range(2 / 3, 0.6, 0.8, "dimensionless", BROWN1997,
                   "venous share of blood volume (venous/(arterial+venous))"),
    "f_liver": Range(0.255, 0.2, 0.3, "dimensionless", BROWN1997,
                     "liver blood flow (portal + arterial), fraction of cardiac output"),
    "f_spleen": Range(0.03, 0.02, 0.04, "dimensionless", BROWN1997,
                      "spleen blood flow, fraction of cardiac output (drains to the liver)"),
    "f_marrow": Range(0.05, 0.02, 0.05, "dimensionless", BROWN1997,
                      "bone (marrow) blood flow, fraction of cardiac output; upper end is "
                      "all bone flow (Brown 1997), lower end red marrow alone [assumption]"),
    "f_node": Range(0.02, 0.005, 0.03, "dimensionless", TRAFFICKING_ASSUMPTION,
                    "lymph-node blood flow, fraction of cardiac output [assumption]"),
    "f_tissue": Range(0.01, 0.001, 0.05, "dimensionless", TRAFFICKING_ASSUMPTION,
                      "blood flow of the tumour/tissue compartment, fraction of cardiac "
                      "output [assumption]"),
}

_E_SRC = TRAFFICKING_ASSUMPTION
#: Retention (E, dimensionless) and dwell (tau, min) of resting circulating NK cells.
RESTING: dict[str, Range] = {
    "E_first": Range(0.1, 0.02, 0.3, "dimensionless", _E_SRC,
                     "lung retention on the first pass after entering a vein (as E_lung)"),
    "E_lung": Range(0.1, 0.02, 0.3, "dimensionless", _E_SRC, "lung retention per pass"),
    "tau_lung": Range(20.0, 5.0, 60.0, "min", _E_SRC, "lung dwell"),
    "E_liver": Range(0.3, 0.1, 0.6, "dimensionless", _E_SRC, "liver retention per pass"),
    "tau_liver": Range(20.0, 5.0, 60.0, "min", _E_SRC, "liver dwell"),
    "E_spleen": Range(0.5, 0.2, 0.9, "dimensionless", _E_SRC, "spleen retention per pass"),
    "tau_spleen": Range(60.0, 15.0, 240.0, "min", _E_SRC, "spleen dwell"),
    "E_marrow": Range(0.1, 0.02, 0.3, "dimensionless", _E_SRC, "marrow retention per pass"),
    "tau_marrow": Range(60.0, 15.0, 240.0, "min", _E_SRC, "marrow dwell"),
    "E_node": Range(0.01, 0.001, 0.05, "dimensionless", _E_SRC,
                    "lymph-node entry per pass (CD56dim NK cells lack CCR7/CD62L mostly)"),
    "tau_node": Range(720.0, 360.0, 1440.0, "min", _E_SRC, "lymph-node dwell"),
    "E_tissue": Range(0.005, 0.001, 0.02, "dimensionless", _E_SRC, "tissue entry per pass"),
    "tau_tissue": Range(1440.0, 480.0, 4320.0, "min", _E_SRC, "tissue dwell"),
}
#: Infused ex-vivo activated NK cells: lung first (> 50 %), then liver, spleen, marrow,
#: no lymph nodes (Meller 2004); dwell times are assumptions with ranges.
ACTIVATED: dict[str, Range] = {
    "E_first": Range(0.6, 0.3, 0.9, "dimensionless", MELLER2004,
                     "lung retention on the first pass after infusion (> 50 % of the "
                     "activity in the lungs shortly after infusion)"),
    "E_lung": Range(0.2, 0.05, 0.5, "dimensionless", _E_SRC,
                    "lung retention per later pass (cells leave the lungs for liver, "
                    "spleen and marrow within hours: Meller 2004) [assumption]"),
    "tau_lung": Range(360.0, 60.0, 1440.0, "min", _E_SRC,
                      "lung dwell (redistribution within hours) [assumption]"),
    "E_liver": Range(0.5, 0.2, 0.8, "dimensionless", _E_SRC, "liver retention per pass"),
    "tau_liver": Range(1440.0, 360.0, 5760.0, "min", _E_SRC, "liver dwell"),
    "E_spleen": Range(0.7, 0.3, 0.9, "dimensionless", _E_SRC, "spleen retention per pass"),
    "tau_spleen": Range(1440.0, 360.0, 5760.0, "min", _E_SRC, "spleen dwell"),
    "E_marrow": Range(0.3, 0.1, 0.6, "dimensionless", _E_SRC, "marrow retention per pass"),
    "tau_marrow": Range(1440.0, 360.0, 5760.0, "min", _E_SRC, "marrow dwell"),
    "E_node": Range(0.001, 0.0, 0.01, "dimensionless", MELLER2004,
                    "lymph-node entry per pass (no activity seen in lymph nodes)"),
    "tau_node": Range(720.0, 360.0, 1440.0, "min", _E_SRC, "lymph-node dwell"),
    "E_tissue": Range(0.01, 0.001, 0.05, "dimensionless", _E_SRC, "tissue entry per pass"),
    "tau_tissue": Range(1440.0, 480.0, 4320.0, "min", _E_SRC, "tissue dwell"),
}
PROFILES: dict[str, dict[str, Range]] = {"resting": RESTING, "activated": ACTIVATED}
#: Endogenous NK disappearance (Zhang 2007), 1/day; range 0.029-0.109 (mean +/- SD).
NK_DEATH = Range(0.069, 0.029, 0.109, "1/day", ZHANG2007, "NK disappearance rate")


def _physiology_parameters() -> tuple[Parameter, ...]:
    out = []
    for name, r in PHYSIOLOGY.items():
        upper = 1.0 if r.unit == "dimensionless" else math.inf
        out.append(Parameter(name, r.value, r.unit,
                             f"{r.note} (range {r.low:g}-{r.high:g})", r.source,
                             bounds=(0.0, upper)))
    return tuple(out)


def trafficking_component(
    prefix: str,
    profile: str | Mapping[str, float] = "resting",
    *,
    death: float = 0.0,
    prod: float = 0.0,
    description: str = "",
    initial: Mapping[str, float] | None = None,
) -> Component:
    """One NK population over the nine pools (states ``{prefix}_{pool}``, cells).

    Parameters
    ----------
    prefix : names the population's states and parameters (``nk``, ``inf``, ...).
    profile : ``"resting"``, ``"activated"`` or a mapping of the thirteen ``E_*``/``tau_*``
        values (tau in min).
    death : loss rate in every pool (1/day); ``prod`` : new cells into ``ven`` (cell/day).
    initial : initial cells per pool (default 0).

    Shares the physiology parameters (``CO``, ``BV``, ``f_*``) with every other
    population of the same composed model.
    """
    values = _profile_values(profile)
    p = prefix
    src = {k: r.source for k, r in PROFILES["resting"].items()}
    if isinstance(profile, str):
        src = {k: r.source for k, r in PROFILES[profile].items()}
    params = [*_physiology_parameters()]
    ranges = PROFILES[profile] if isinstance(profile, str) else {}
    for key, value in values.items():
        unit = "min" if key.startswith("tau") else "dimensionless"
        rng = ranges.get(key)
        note = f" (range {rng.low:g}-{rng.high:g})" if rng else ""
        params.append(Parameter(
            f"{p}_{key}", value, unit,
            f"{'retention per pass' if key.startswith('E') else 'mean dwell'} of "
            f"population {p}, {key.split('_')[1]}{note}",
            src.get(key, TRAFFICKING_ASSUMPTION) if isinstance(profile, str)
            else Citation("user profile", "values given by the caller", "assumption"),
            bounds=(0.0, 1.0) if unit == "dimensionless" else (1e-6, math.inf),
        ))
    params.append(Parameter(f"{p}_death", death, "1/day",
                            f"loss rate of population {p} in every pool", ZHANG2007,
                            bounds=(0.0, math.inf)))
    params.append(Parameter(f"{p}_prod", prod, "cell/day",
                            f"new cells of population {p} entering venous blood",
                            ZHANG2007, bounds=(0.0, math.inf)))
    init = dict(initial or {})
    unknown = set(init) - set(POOLS)
    if unknown:
        raise UserError(f"unknown pool(s) {sorted(unknown)} (pools: {', '.join(POOLS)})",
                        field="initial")
    states = tuple(State(f"{p}_{pool}", "cell", f"{p} NK cells: {pool}",
                         float(init.get(pool, 0.0))) for pool in POOLS)
    s = {pool: f"{p}_{pool}" for pool in POOLS}
    F = "1440*CO"
    cv, ca = f"{p}_cven", f"{p}_cart"
    rel = {h: f"1440*{s[h]}/{p}_tau_{h}" for h in HELD}
    expressions = {
        cv: (f"{s['ven']}/(f_ven*BV)", "cell/L", f"venous concentration of {p}"),
        ca: (f"{s['art']}/((1 - f_ven)*BV)", "cell/L", f"arterial concentration of {p}"),
        f"{p}_liverin": (f"(f_liver - {p}_E_spleen*f_spleen)*{F}*{ca} + {rel['spleen']}",
                         "cell/day", f"{p} cells reaching the liver (portal + arterial)"),
    }
    rest = "(1 - f_liver - f_marrow - f_node - f_tissue)"
    death_t = f"{p}_death"
    cf = f"{s['first']}/(f_ven*BV)"
    terms = {
        s["first"]: [f"-{F}*{cf}", f"-{death_t}*{s['first']}"],
        s["lung"]: [f"{p}_E_lung*{F}*{cv}", f"{p}_E_first*{F}*{cf}", f"-{rel['lung']}",
                    f"-{death_t}*{s['lung']}"],
        s["art"]: [f"(1 - {p}_E_lung)*{F}*{cv}", f"(1 - {p}_E_first)*{F}*{cf}", rel["lung"],
                   f"-{F}*{ca}", f"-{death_t}*{s['art']}"],
        s["spleen"]: [f"{p}_E_spleen*f_spleen*{F}*{ca}", f"-{rel['spleen']}",
                      f"-{death_t}*{s['spleen']}"],
        s["liver"]: [f"{p}_E_liver*{p}_liverin", f"-{rel['liver']}",
                     f"-{death_t}*{s['liver']}"],
        s["ven"]: [f"{p}_prod", f"-{F}*{cv}", f"{rest}*{F}*{ca}",
                   f"(1 - {p}_E_liver)*{p}_liverin", rel["liver"],
                   f"-{death_t}*{s['ven']}"],
    }
    for x in ("marrow", "node", "tissue"):
        terms[s[x]] = [f"{p}_E_{x}*f_{x}*{F}*{ca}", f"-{rel[x]}", f"-{death_t}*{s[x]}"]
        terms[s["ven"]] += [f"(1 - {p}_E_{x})*f_{x}*{F}*{ca}", rel[x]]
    return Component(
        name=f"trafficking_{p}",
        description=description or f"NK population {p} over blood and six organ pools",
        states=states, parameters=tuple(params), expressions=expressions, terms=terms,
        references=(BROWN1997, WHITE1968, MELLER2004, ZHANG2007, TRAFFICKING_ASSUMPTION),
        notes=("Linear: populations sharing the model do not interact.",
               "Rates in 1/day; dwell times in minutes (hence the factors 1440)."),
    )


def _profile_values(profile: str | Mapping[str, float]) -> dict[str, float]:
    keys = list(RESTING)
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise UserError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})",
                            field="profile")
        return {k: PROFILES[profile][k].value for k in keys}
    missing = set(keys) - set(profile)
    extra = set(profile) - set(keys)
    if missing or extra:
        raise UserError(f"a profile needs exactly {keys} (missing {sorted(missing)}, "
                        f"unknown {sorted(extra)})", field="profile")
    out = {k: float(profile[k]) for k in keys}
    for k, v in out.items():
        ok = (0.0 <= v <= 1.0) if k.startswith("E_") else (v > 0 and math.isfinite(v))
        if not ok:
            raise UserError("retention must be in [0, 1] and dwell > 0 (min)",
                            field=f"profile.{k}")
    return out


def patrol_model(profile: str = "resting", *, death: float = 0.0) -> Model:
    """The trafficking model of one NK population (states ``nk_*``), time in days."""
    comp = trafficking_component("nk", profile, death=death)
    return compose("nk_patrol", "NK-cell patrol: blood and six organ pools",
                   "Linear trafficking of one NK population (docs/nk-patrol-and-products.md).",
                   [comp])


# ---------------------------------------------------------------- closed forms
def _values(physiology: Mapping[str, float] | None,
            profile: str | Mapping[str, float]) -> tuple[dict, dict]:
    phys = {k: r.value for k, r in PHYSIOLOGY.items()}
    phys.update(physiology or {})
    return phys, _profile_values(profile)


def held_litres(physiology: Mapping[str, float] | None = None,
                profile: str | Mapping[str, float] = "resting") -> dict[str, float]:
    """Blood-equivalent volume (L) of each pool at steady state without death or production.

    ``ven: f_ven BV``, ``art: (1 - f_ven) BV``, held pool x: ``CO f_x E_x tau_x`` with
    ``f_lung = 1`` (CO in L/min, tau in min). Cells in each pool are proportional to it.
    """
    phys, prof = _values(physiology, profile)
    co, bv = phys["CO"], phys["BV"]
    weight = {"lung": 1.0, "liver": phys["f_liver"], "spleen": phys["f_spleen"],
              "marrow": phys["f_marrow"], "node": phys["f_node"], "tissue": phys["f_tissue"]}
    out = {"ven": phys["f_ven"] * bv, "art": (1 - phys["f_ven"]) * bv}
    for h in HELD:
        out[h] = co * weight[h] * prof[f"E_{h}"] * prof[f"tau_{h}"]
    out["first"] = 0.0  # empty at steady state
    return out


def steady_state_shares(physiology: Mapping[str, float] | None = None,
                        profile: str | Mapping[str, float] = "resting") -> dict[str, float]:
    """Share of the population in each pool at steady state (no death, no production)."""
    litres = held_litres(physiology, profile)
    total = sum(litres.values())
    return {k: v / total for k, v in litres.items()}


def held_to_blood_ratio(physiology: Mapping[str, float] | None = None,
                        profile: str | Mapping[str, float] = "resting") -> float:
    """r = cells held in organs / cells in flowing blood, at steady state."""
    litres = held_litres(physiology, profile)
    return sum(litres[h] for h in HELD) / (litres["ven"] + litres["art"])


def circuits_per_day(physiology: Mapping[str, float] | None = None,
                     profile: str | Mapping[str, float] | None = "resting") -> float:
    """Lung passages per day of an average recirculating NK cell.

    ``1440 CO / (BV (1 + r))``; with ``profile=None`` the naive count ``1440 CO / BV``
    of a cell that never leaves flowing blood.
    """
    phys, _ = _values(physiology, "resting")
    naive = MINUTES_PER_DAY * phys["CO"] / phys["BV"]
    if profile is None:
        return naive
    return naive / (1.0 + held_to_blood_ratio(physiology, profile))


def rate_matrix(physiology: Mapping[str, float] | None = None,
                profile: str | Mapping[str, float] = "resting",
                death: float = 0.0) -> np.ndarray:
    """The 9 x 9 matrix K (1/day) of dx/dt = K x over :data:`POOLS`, assembled by hand.

    A second, independent assembly of the equations of :func:`trafficking_component`
    (used for initial steady states and in tests).
    """
    phys, prof = _values(physiology, profile)
    i = {p: n for n, p in enumerate(POOLS)}
    n = len(POOLS)
    K = np.zeros((n, n))
    F = MINUTES_PER_DAY * phys["CO"]
    kv = F / (phys["f_ven"] * phys["BV"])
    ka = F / ((1 - phys["f_ven"]) * phys["BV"])

    def move(src: str, dst: str, rate: float) -> None:
        K[i[src], i[src]] -= rate
        K[i[dst], i[src]] += rate

    move("first", "lung", prof["E_first"] * kv)
    move("first", "art", (1 - prof["E_first"]) * kv)
    move("ven", "lung", prof["E_lung"] * kv)
    move("ven", "art", (1 - prof["E_lung"]) * kv)
    move("lung", "art", MINUTES_PER_DAY / prof["tau_lung"])
    e_li = prof["E_liver"]
    # arterial blood to the spleen: held, or on to the liver
    move("art", "spleen", phys["f_spleen"] * prof["E_spleen"] * ka)
    rest_sp = phys["f_spleen"] * (1 - prof["E_spleen"]) + (phys["f_liver"] - phys["f_spleen"])
    move("art", "liver", rest_sp * e_li * ka)
    move("art", "ven", rest_sp * (1 - e_li) * ka)
    k_sp = MINUTES_PER_DAY / prof["tau_spleen"]
    move("spleen", "liver", k_sp * e_li)
    move("spleen", "ven", k_sp * (1 - e_li))
    move("liver", "ven", MINUTES_PER_DAY / prof["tau_liver"])
    for x in ("marrow", "node", "tissue"):
        move("art", x, phys[f"f_{x}"] * prof[f"E_{x}"] * ka)
        move("art", "ven", phys[f"f_{x}"] * (1 - prof[f"E_{x}"]) * ka)
        move(x, "ven", MINUTES_PER_DAY / prof[f"tau_{x}"])
    other = 1 - phys["f_liver"] - phys["f_marrow"] - phys["f_node"] - phys["f_tissue"]
    move("art", "ven", other * ka)
    return K - death * np.eye(n)


def steady_state_with_production(prod: float, death: float,
                                 physiology: Mapping[str, float] | None = None,
                                 profile: str | Mapping[str, float] = "resting") -> np.ndarray:
    """Cells per pool at steady state with production ``prod`` (cell/day) into ``ven``."""
    K = rate_matrix(physiology, profile, death)
    b = np.zeros(len(POOLS))
    b[0] = prod
    return np.linalg.solve(K, -b)


# ---------------------------------------------------------------- 240 circuits a day
ARTICLE_CLAIM = 240.0


@dataclass(frozen=True)
class PatrolAnswer:
    """Circuits per day of a circulating NK cell, with its range and a verdict."""

    circuits_per_day: float
    low: float
    high: float
    naive: float
    naive_low: float
    naive_high: float
    held_to_blood: float
    exercise_bound: float
    verdict: str
    explanation: str
    samples: int
    seed: int

    def to_json(self) -> dict:
        """The issue's JSON: circuits_per_day, range, article_claim, verdict, explanation."""
        return {
            "circuits_per_day": round(self.circuits_per_day, 1),
            "range": [round(self.low, 1), round(self.high, 1)],
            "article_claim": int(ARTICLE_CLAIM),
            "verdict": self.verdict,
            "explanation": self.explanation,
        }


def _sample(r: Range, u: float, log: bool) -> float:
    if log and r.low > 0:
        return float(math.exp(math.log(r.low) + u * (math.log(r.high) - math.log(r.low))))
    return r.low + u * (r.high - r.low)


def patrol_answer(samples: int = 4000, seed: int = 0, *,
                  exercise_fold: tuple[float, float] = (5.6, 6.0)) -> PatrolAnswer:
    """Answer "about 240 circuits a day" (article row B4) with a Monte Carlo range.

    Physiology is sampled uniformly and retention/dwell log-uniformly within their
    ranges (:data:`PHYSIOLOGY`, :data:`RESTING`); the range is the central 95 % of
    :func:`circuits_per_day`. The verdict says whether 240 lies in that range.
    """
    if not (isinstance(samples, int) and 100 <= samples <= 1_000_000):
        raise UserError(f"must be an integer from 100 to 1000000 (got {samples!r})",
                        field="samples")
    if not (isinstance(seed, int) and seed >= 0):
        raise UserError(f"must be an integer >= 0 (got {seed!r})", field="seed")
    rng = np.random.default_rng(seed)
    keys_p, keys_r = list(PHYSIOLOGY), list(RESTING)
    u = rng.random((samples, len(keys_p) + len(keys_r)))
    circuits = np.empty(samples)
    naive = np.empty(samples)
    for n in range(samples):
        phys = {k: _sample(PHYSIOLOGY[k], u[n, j], False) for j, k in enumerate(keys_p)}
        prof = {k: _sample(RESTING[k], u[n, len(keys_p) + j], True)
                for j, k in enumerate(keys_r)}
        naive[n] = circuits_per_day(phys, None)
        circuits[n] = circuits_per_day(phys, prof)
    central = circuits_per_day()
    lo, hi = (float(x) for x in np.percentile(circuits, [2.5, 97.5]))
    nlo, nhi = (float(x) for x in np.percentile(naive, [2.5, 97.5]))
    naive0 = circuits_per_day(profile=None)
    r0 = held_to_blood_ratio()
    bound = naive0 / exercise_fold[0]
    if lo <= ARTICLE_CLAIM <= hi:
        verdict = "plausible"
    elif ARTICLE_CLAIM < lo:
        verdict = "too low"
    else:
        verdict = "too high"
    explanation = (
        f"Counting only flowing blood, cardiac output {PHYSIOLOGY['CO'].value:g} L/min over "
        f"{PHYSIOLOGY['BV'].value:g} L of blood gives {naive0:.0f} circuits a day "
        f"(range {nlo:.0f}-{nhi:.0f}; the project's note on the article's row B4 says ~1400). But "
        f"NK cells do not stay in flowing blood: they are held for minutes to hours in the "
        f"lungs, liver, spleen and marrow. In nksim's trafficking model {r0:.1f} times as "
        f"many cells are held as flow (a circuit takes {1440 / central:.1f} min instead of "
        f"{1440 / naive0:.2f}), which gives {central:.0f} circuits a day (95 % range "
        f"{lo:.0f}-{hi:.0f} over the parameter ranges). Independently, blood NK counts rise "
        f"about {exercise_fold[0]:g}-{exercise_fold[1]:g}-fold within minutes of exercise, "
        f"so the held pool is at least ~{exercise_fold[0] - 1:g} times the blood pool and a "
        f"cell makes at most ~{bound:.0f} circuits a day. The article's 240 is "
        f"{'inside' if verdict == 'plausible' else 'outside'} this range: "
        f"{'plausible as an order of magnitude' if verdict == 'plausible' else 'not supported'}"
        f", but no primary source for it was found (UNVERIFIED), and the retention and dwell "
        f"times behind the range are assumptions. Research use only."
    )
    return PatrolAnswer(central, lo, hi, naive0, nlo, nhi, r0, bound, verdict, explanation,
                        samples, seed)
