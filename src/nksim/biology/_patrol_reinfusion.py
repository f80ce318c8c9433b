"""Article T1: a healthy adult given five infusions of ~5e9 autologous NK cells (> 95 % pure).

Research use only. Three NK populations share the trafficking model of
:mod:`nksim.biology._trafficking`:

* ``nk``: the person's own NK cells, resting profile, made at a constant rate and lost at
  the endogenous disappearance rate of Zhang 2007 (6.9 %/d), at steady state throughout
  (linear and independent of the infused cells, so computed, not simulated);
* ``ia``: infused cells while still "activated" (ex-vivo expanded: held in the lungs
  first, then liver, spleen, marrow; Meller 2004);
* ``ir``: infused cells that have reverted to resting behaviour (rate ``k_rev``).

Infused cells are lost at ``inf_death`` in every pool (default: the endogenous rate, the
most persistent case; ASSUMPTION range 0.069-0.7/d, activated cells deprived of IL-2 may
die faster). Because the loss is the same in every pool, the number of infused cells
alive is exactly ``sum_k D_k exp(-inf_death (t - t_k))`` whatever the trafficking, and
the rise of blood NK counts after the last infusion decays with half-life
``ln 2 / inf_death`` (10 d at 6.9 %/d) once the cells have settled.

Readouts: blood NK count (cell/uL), the share of infused cells among blood NK cells and
in the whole body, and blood NK lytic capacity relative to baseline (activated cells
``phi_act`` times as cytotoxic per cell as resting ones: ASSUMPTION 3, range 1-10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nksim.biology._trafficking import (
    HELD,
    NK_DEATH,
    POOLS,
    ZHANG2007,
    held_litres,
    steady_state_with_production,
    trafficking_component,
)
from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation, Component, Model, Parameter, compose

#: Endogenous blood NK count (cell/uL): Zhang 2007 production 15e6 cells/L/d divided by
#: disappearance 0.069/d (derived; range 90-590, a usual adult reference range,
#: UNVERIFIED).
NK_BLOOD_BASELINE = 15e6 / 0.069 / 1e6
REVERSION = Citation(
    "nksim reversion of infused NK cells",
    "Ex-vivo activated NK cells are assumed to lose their activated trafficking and "
    "cytotoxicity and behave like resting NK cells at rate k_rev.",
    verified="assumption",
    note="k_rev 0.5/d (range 0.1-2); phi_act 3 (range 1-10): IL-2-activated NK kill "
    "more targets per cell than resting NK cells (Vanherberghen 2013, Guldevall 2016: "
    "about half vs about a quarter of cells kill; science.md §5).",
)
#: Day-to-day variability of blood NK counts below which a rise is not visible (fraction
#: of baseline). ASSUMPTION 0.15, range 0.1-0.3.
VISIBLE_RISE = 0.15
FEELING_BETTER = (
    "What one person's 'feeling better' can and cannot show: it is one observation, "
    "without a control, without blinding and with the expectations of someone who chose "
    "and paid for the treatment; it cannot separate an effect of the cells from placebo, "
    "regression to the mean, seasonal or lifestyle changes, or chance. In this model the "
    "infused cells are a transient addition to the body's NK pool (most are held in "
    "lungs, liver, spleen and marrow), and the blood count returns to within day-to-day "
    "variability within days to a few months of the last infusion "
    "(rise_lasts_days_after_last_infusion), so any lasting benefit would need a "
    "mechanism the model does not contain. It can show that the infusions were given "
    "and tolerated; only a randomised, blinded trial with pre-specified outcomes (such as "
    "Tang 2022's protocol with a saline arm) can show benefit. Research use only."
)


@dataclass(frozen=True)
class ReinfusionSpec:
    """The T1 regimen and the assumptions that shape its readouts."""

    dose_cells: float = 5e9
    purity: float = 0.95
    viability: float = 0.9
    infusions: int = 5
    interval_days: float = 7.0
    infusion_hours: float = 1.0
    inf_death: float = NK_DEATH.value
    k_rev: float = 0.5
    phi_act: float = 3.0
    baseline_per_ul: float = NK_BLOOD_BASELINE
    nk_death: float = NK_DEATH.value
    days_after: float = 90.0

    def __post_init__(self) -> None:
        checks = {
            "dose_cells": (self.dose_cells, 0.0, 1e12), "purity": (self.purity, 0.0, 1.0),
            "viability": (self.viability, 0.0, 1.0),
            "interval_days": (self.interval_days, 0.0, 365.0),
            "infusion_hours": (self.infusion_hours, 0.0, 24.0),
            "inf_death": (self.inf_death, 0.0, 10.0), "k_rev": (self.k_rev, 0.0, 100.0),
            "phi_act": (self.phi_act, 0.0, 100.0),
            "baseline_per_ul": (self.baseline_per_ul, 0.0, 1e5),
            "nk_death": (self.nk_death, 0.0, 10.0), "days_after": (self.days_after, 0.0, 3650),
        }
        for name, (v, lo, hi) in checks.items():
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo < v <= hi):
                raise UserError(f"must be a number in ({lo:g}, {hi:g}] (got {v!r})",
                                field=f"reinfusion.{name}")
        if not (isinstance(self.infusions, int) and 1 <= self.infusions <= 50):
            raise UserError(f"must be an integer from 1 to 50 (got {self.infusions!r})",
                            field="reinfusion.infusions")

    @property
    def cells_per_infusion(self) -> float:
        """Viable NK cells per infusion (dose x purity x viability)."""
        return self.dose_cells * self.purity * self.viability

    @property
    def infusion_days(self) -> list[float]:
        return [i * self.interval_days for i in range(self.infusions)]


_SPEC_FIELDS = {"dose_cells": float, "purity": float, "viability": float, "infusions": int,
                "interval_days": float, "infusion_hours": float, "inf_death": float,
                "k_rev": float, "phi_act": float, "baseline_per_ul": float,
                "nk_death": float, "days_after": float}


def spec_from_mapping(data: dict, base: ReinfusionSpec | None = None) -> ReinfusionSpec:
    """A :class:`ReinfusionSpec` from a scenario table (``[reinfusion]`` of a TOML file).

    Keys not given keep the values of ``base`` (default: the T1 defaults); unknown keys
    and wrong types are one-line :class:`UserError` naming ``reinfusion.KEY``.
    """
    if not isinstance(data, dict):
        raise UserError("must be a table of regimen values", field="reinfusion")
    values = dict((base or ReinfusionSpec()).__dict__)
    for key, value in data.items():
        if key not in _SPEC_FIELDS:
            raise UserError(f"unknown key {key!r} (known: {', '.join(_SPEC_FIELDS)})",
                            field=f"reinfusion.{key}")
        want = _SPEC_FIELDS[key]
        ok = (isinstance(value, int) and not isinstance(value, bool)) if want is int else (
            isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            raise UserError(f"must be {'an integer' if want is int else 'a number'} "
                            f"(got {value!r})", field=f"reinfusion.{key}")
        values[key] = want(value)
    return ReinfusionSpec(**values)


def endogenous_steady_state(spec: ReinfusionSpec) -> np.ndarray:
    """The person's own NK cells per pool (cells) at steady state, blood at the baseline.

    Production into venous blood is set so that flowing blood holds ``baseline_per_ul``;
    the populations do not interact, so this pool stays exactly here during the scenario.
    """
    blood_l = held_litres()["ven"] + held_litres()["art"]
    unit = steady_state_with_production(1.0, spec.nk_death)
    prod = spec.baseline_per_ul * 1e6 * blood_l / (unit[0] + unit[1])
    return unit * prod


def reinfusion_model(spec: ReinfusionSpec) -> Model:
    """The 18-state model of infused NK cells: activated (``ia_*``) and reverted (``ir_*``).

    The endogenous population is linear and independent of the infused cells, so it is
    not simulated: it stays at :func:`endogenous_steady_state` (a 9-state
    ``trafficking_component("nk", "resting", death=..., prod=...)`` started there would
    stay there).
    """
    act = trafficking_component("ia", "activated", death=spec.inf_death,
                                description="infused NK cells, still activated")
    rev = trafficking_component("ir", "resting", death=spec.inf_death,
                                description="infused NK cells reverted to resting")
    switch = Component(
        name="reversion", description="infused cells revert from activated to resting",
        parameters=(Parameter("k_rev", spec.k_rev, "1/day",
                              "reversion of infused cells to resting (range 0.1-2)",
                              REVERSION, bounds=(0.0, math.inf)),),
        terms={**{f"ia_{p}": f"-k_rev*ia_{p}" for p in POOLS},
               **{f"ir_{p}": f"k_rev*ia_{p}" for p in POOLS}},
        references=(REVERSION,),
    )
    return compose("nk_autologous_reinfusion",
                   "Autologous NK reinfusion in a healthy adult (article T1)",
                   "Infused NK cells over blood and six organ pools.",
                   [act, rev, switch])


@dataclass
class ReinfusionResult:
    spec: ReinfusionSpec
    table: pd.DataFrame
    summary: dict


def run_reinfusion(spec: ReinfusionSpec | None = None) -> ReinfusionResult:
    """Simulate T1 and compute its readouts (table per time point and a summary)."""
    from nksim.engine import SolverOptions, simulate

    spec = spec or ReinfusionSpec()
    model = reinfusion_model(spec)
    last = spec.infusion_days[-1]
    t_end = last + spec.days_after
    fine = [d + h / 24 for d in spec.infusion_days for h in (0.25, 0.5, 1, 2, 4, 8, 12)]
    times = np.unique(np.concatenate([np.arange(0.0, t_end + 1e-9, 0.5), fine]))
    times = times[times <= t_end]
    dur = spec.infusion_hours / 24.0
    doses = [Dose("ia_first", spec.cells_per_infusion, 0.0,
                  every=spec.interval_days if spec.infusions > 1 else None,
                  count=spec.infusions, duration=dur)]
    res = simulate(model, times, doses=doses,
                   options=SolverOptions(rtol=1e-7, atol=1e-2))
    status = res.patients["status"].iloc[0]
    if status != "ok":
        raise UserError(f"the simulation failed ({res.patients['message'].iloc[0]})",
                        field="reinfusion")
    ds = res.dataset
    x = {s: ds[s].values[0] for s in model.state_names}
    litres = held_litres()
    bv_ul = (litres["ven"] + litres["art"]) * 1e6

    def pool(pop: str, pools) -> np.ndarray:
        return sum(x[f"{pop}_{p}"] for p in pools)

    blood = ("ven", "art", "first")  # "first": just infused, still in the vein
    endo = dict(zip(POOLS, endogenous_steady_state(spec), strict=True))
    ones = np.ones_like(times)
    endo_b = sum(endo[p] for p in blood) * ones
    act_b, rev_b = pool("ia", blood), pool("ir", blood)
    inf_b = act_b + rev_b
    inf_all = pool("ia", POOLS) + pool("ir", POOLS)
    endo_all = sum(endo.values()) * ones
    endo_b0 = endo_b[0]
    table = pd.DataFrame({
        "time_day": times,
        "blood_nk_per_ul": (endo_b + inf_b) / bv_ul,
        "endogenous_per_ul": endo_b / bv_ul,
        "infused_per_ul": inf_b / bv_ul,
        "infused_share_blood": inf_b / (endo_b + inf_b),
        "infused_share_body": inf_all / (endo_all + inf_all),
        "infused_alive": inf_all,
        "lytic_capacity_rel": (endo_b + spec.phi_act * act_b + rev_b) / endo_b0,
        **{f"infused_in_{h}": (x[f"ia_{h}"] + x[f"ir_{h}"]) for h in HELD},
    })
    base = endo_b0 / bv_ul
    excess = table["blood_nk_per_ul"] - base
    after = table["time_day"] >= last
    visible = excess > VISIBLE_RISE * base
    idx = np.flatnonzero(after & visible)
    rise_end = float(table["time_day"].iloc[idx[-1]]) if idx.size else last
    peak_i = int(np.argmax(table["blood_nk_per_ul"].values))
    half_life = math.log(2) / spec.inf_death
    summary = {
        "regimen": {"infusions": spec.infusions, "interval_days": spec.interval_days,
                    "dose_cells": spec.dose_cells, "purity": spec.purity,
                    "viability": spec.viability,
                    "viable_nk_per_infusion": spec.cells_per_infusion},
        "baseline_blood_nk_per_ul": round(base, 1),
        "endogenous_nk_in_body": float(endo_all[0]),
        "dose_vs_body_pool": spec.cells_per_infusion / float(endo_all[0]),
        "peak_blood_nk_per_ul": round(float(table["blood_nk_per_ul"].iloc[peak_i]), 1),
        "peak_day": round(float(table["time_day"].iloc[peak_i]), 2),
        "max_infused_share_blood": round(float(table["infused_share_blood"].max()), 3),
        "max_lytic_capacity_rel": round(float(table["lytic_capacity_rel"].max()), 2),
        "rise_visible_until_day": round(rise_end, 1),
        "rise_lasts_days_after_last_infusion": round(rise_end - last, 1),
        "visible_rise_threshold": VISIBLE_RISE,
        "infused_half_life_days": round(half_life, 2),
        "rise_lasts_days_closed_form": round(rise_duration_closed_form(spec), 1),
        "rise_lasts_days_range": [
            round(rise_duration_closed_form(spec, d), 1) for d in (NK_DEATH.high, NK_DEATH.low)
        ],
        "rise_lasts_range_note": (
            "closed form for settled cells with the infused-cell loss at Zhang 2007's "
            f"disappearance mean +/- SD ({NK_DEATH.high:g} and {NK_DEATH.low:g} /day); faster "
            "loss after IL-2 withdrawal would shorten it further"),
        "assumptions": {
            "inf_death_per_day": spec.inf_death, "k_rev_per_day": spec.k_rev,
            "phi_act": spec.phi_act,
            "sources": [ZHANG2007.label(), REVERSION.label(), "Meller 2004 [V-src]"],
        },
        "feeling_better": FEELING_BETTER,
        "research_use_only": True,
    }
    return ReinfusionResult(spec, table, summary)


def rise_duration_closed_form(spec: ReinfusionSpec, inf_death: float | None = None) -> float:
    """Days after the last infusion until the blood NK excess falls below the visible rise.

    Closed form for settled (resting) infused cells: the excess is the resting blood share
    times the cells alive, ``s_b sum_k D exp(-d (t - t_k)) / V_blood``; it crosses
    ``VISIBLE_RISE x baseline`` at ``ln(s_b sum_k D exp(-d (t_last - t_k)) /
    (V_blood VISIBLE_RISE baseline)) / d`` after the last infusion (0 if never above).
    """
    d = spec.inf_death if inf_death is None else inf_death
    litres = held_litres()
    blood_l = litres["ven"] + litres["art"]
    s_b = blood_l / sum(litres.values())
    last = spec.infusion_days[-1]
    alive = sum(spec.cells_per_infusion * math.exp(-d * (last - tk))
                for tk in spec.infusion_days)
    ratio = s_b * alive / (blood_l * 1e6 * VISIBLE_RISE * spec.baseline_per_ul)
    return max(0.0, math.log(ratio) / d) if ratio > 0 else 0.0


def infused_alive_closed_form(spec: ReinfusionSpec, t: np.ndarray) -> np.ndarray:
    """Infused cells alive at ``t`` (days): sum over infusions of dose x exp(-loss x age).

    Each infusion runs at constant rate over ``infusion_hours``: the cells given by ``t``
    are ``D (1 - exp(-d min(t - t_k, T))) exp(-d max(t - t_k - T, 0)) / (d T)``.
    """
    t = np.asarray(t, dtype=float)
    d, T = spec.inf_death, spec.infusion_hours / 24.0
    out = np.zeros_like(t)
    for tk in spec.infusion_days:
        age = t - tk
        on = np.clip(age, 0.0, T)
        given = spec.cells_per_infusion * (1 - np.exp(-d * on)) / (d * T)
        out += np.where(age > 0, given * np.exp(-d * np.clip(age - T, 0.0, None)), 0.0)
    return out
