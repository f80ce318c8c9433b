"""The Vav1 phosphorylation switch (after Mesecke 2011): kinases versus SHP-1, declared once.

Activating receptors engaged by ligand (occupancy ``A = LA/(1 + LA)``, ``LA`` the ligand
density in units of the receptor's 2-D dissociation constant) recruit Src-family kinase
(state ``K``, fraction of kinase associated with receptors); inhibitory receptors engaged
by MHC class I (``I = LI/(1 + LI)``) recruit SHP-1 (state ``S``). Vav1 (state ``V``,
phosphorylated fraction) is a covalent-modification cycle with saturable (Michaelis-Menten)
converter enzymes::

    dK/dt = kon_K A (1 + fb V) (1 - K) - koff_K K
    dS/dt = kon_S I (1 - S) - koff_S S
    dV/dt = kcat_K K (1 - V)/(Km_K + 1 - V) - (kcat_P0 + kcat_P S) V/(Km_P + V)

With ``Km`` small (converter enzymes saturated) the cycle is a zero-order switch
(Goldbeter & Koshland 1981): ``V`` jumps from ~0 to ~1 where kinase activity
``kcat_K K`` crosses phosphatase activity ``kcat_P0 + kcat_P S``; with ``kcat_P >
kcat_K`` (enhanced activity of receptor-bound SHP-1, Mesecke 2011) full inhibition wins
over full activation. ``fb > 0`` (pVav1-driven kinase recruitment, an assumption) adds
positive feedback and, for strong enough ``fb``, bistability (hysteresis). With ``fb = 0``
the steady state is the Goldbeter-Koshland function of the two activities
(:func:`vav1_steady_state`), the closed form that the encounter model uses.
Rate constants of Mesecke 2011 were not found: every rate here is an assumption with a
range; the ratio ``kcat_P/kcat_K`` follows the Das lab's fitted relative magnitudes.
"""

from __future__ import annotations

import numpy as np

from nksim.biology._sources import (
    DAS2010,
    DAS_SPATIAL,
    ENCOUNTER_ASSUMPTION,
    GOLDBETER1981,
    MESECKE2011,
)
from nksim.model import Citation, Model, Parameter, State

_RATE_NOTE = Citation(
    "nksim Vav1 rates",
    "Vav1 switch rate constants chosen by nksim (Mesecke 2011 rates not found).",
    verified="assumption",
    note="Ranges: association/dissociation 0.01-1 /s; catalytic rates 0.1-5 /s with "
    "kcat_P/kcat_K = 3.0/0.776 as in the Das lab's fitted relative magnitudes [V-code]; "
    "Michaelis constants 0.005-1 (fraction of total Vav1; < 0.1 is the zero-order regime); "
    "feedback 0-10 (0 = none).",
)


def _p(name, value, unit, description, source=_RATE_NOTE, upper=float("inf")):
    return Parameter(name, value, unit, description, source, bounds=(0.0, upper))


MODEL = Model(
    name="vav1_switch",
    title="Vav1 phosphorylation switch between Src-family kinases and SHP-1 (after Mesecke 2011)",
    description=(
        "Activating-receptor occupancy recruits kinase, inhibitory-receptor occupancy recruits "
        "SHP-1; Vav1 phosphorylation is a zero-order covalent-modification switch. Optional "
        "positive feedback of pVav1 on kinase recruitment (fb)."
    ),
    states=(
        State("K", "dimensionless", "fraction of Src-family kinase associated with receptors", 0.0),
        State("S", "dimensionless", "fraction of SHP-1 recruited to inhibitory receptors", 0.0),
        State("V", "dimensionless", "phosphorylated fraction of Vav1", 0.0),
    ),
    parameters=(
        _p("LA", 1.0, "dimensionless", "activating ligand density / receptor 2-D K_D (input)",
           ENCOUNTER_ASSUMPTION),
        _p("LI", 0.0, "dimensionless", "inhibitory ligand (MHC-I) density / receptor 2-D K_D "
           "(input)", ENCOUNTER_ASSUMPTION),
        _p("kon_K", 1.0, "1/s", "kinase association with engaged activating receptors"),
        _p("koff_K", 0.1, "1/s", "kinase dissociation"),
        _p("kon_S", 0.1, "1/s", "SHP-1 recruitment to engaged inhibitory receptors"),
        _p("koff_S", 0.1, "1/s", "SHP-1 release"),
        _p("kcat_K", 0.776, "1/s", "Vav1 phosphorylation by receptor-associated kinase",
           DAS_SPATIAL),
        _p("kcat_P0", 0.1, "1/s", "basal Vav1 dephosphorylation (unrecruited phosphatases)"),
        _p("kcat_P", 3.0, "1/s", "Vav1 dephosphorylation by receptor-bound (enhanced) SHP-1",
           DAS_SPATIAL),
        _p("Km_K", 0.02, "dimensionless", "Michaelis constant of the kinase (fraction of Vav1)",
           upper=100.0),
        _p("Km_P", 0.02, "dimensionless", "Michaelis constant of SHP-1 (fraction of Vav1)",
           upper=100.0),
        _p("fb", 0.0, "dimensionless", "positive feedback of pVav1 on kinase recruitment",
           upper=100.0),
    ),
    expressions={
        "A": ("LA/(1 + LA)", "dimensionless", "activating receptor occupancy"),
        "I": ("LI/(1 + LI)", "dimensionless", "inhibitory receptor occupancy"),
    },
    equations={
        "K": "kon_K*A*(1 + fb*V)*(1 - K) - koff_K*K",
        "S": "kon_S*I*(1 - S) - koff_S*S",
        "V": "kcat_K*K*(1 - V)/(Km_K + 1 - V) - (kcat_P0 + kcat_P*S)*V/(Km_P + V)",
    },
    references=(MESECKE2011, DAS2010, GOLDBETER1981, DAS_SPATIAL),
    time_unit="s",
    notes=(
        "Steady state with fb = 0: K* = kon_K A/(kon_K A + koff_K), S* = kon_S I/(kon_S I + "
        "koff_S), V* = GK(kcat_K K*, kcat_P0 + kcat_P S*, Km_K, Km_P).",
        "V* = 1/2 exactly where kcat_K K* = kcat_P0 + kcat_P S* when Km_K = Km_P.",
    ),
)
VAV1_SWITCH_MODEL = MODEL


def goldbeter_koshland(v1, v2, j1, j2):
    """Steady state of ``dW/dt = v1 (1-W)/(j1+1-W) - v2 W/(j2+W)`` (Goldbeter & Koshland 1981).

    ``v1``, ``v2``: converter activities (same unit, e.g. 1/s); ``j1``, ``j2``: Michaelis
    constants as fractions of the total substrate. Arrays broadcast.
    """
    v1, v2 = np.asarray(v1, dtype=float), np.asarray(v2, dtype=float)
    b = v2 - v1 + j1 * v2 + j2 * v1
    disc = np.sqrt(np.maximum(b * b - 4.0 * (v2 - v1) * v1 * j2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(b + disc > 0, 2.0 * v1 * j2 / np.where(b + disc > 0, b + disc, 1.0), 1.0)
    return np.clip(np.where(v1 <= 0, 0.0, w), 0.0, 1.0)


def _values(overrides):
    vals = {p.name: p.value for p in MODEL.parameters}
    vals.update(overrides or {})
    return vals


def vav1_steady_state(LA, LI=0.0, **overrides):
    """Closed-form steady-state pVav1 fraction (valid for ``fb = 0``); arrays broadcast."""
    p = _values(overrides)
    a = np.asarray(LA, dtype=float) / (1.0 + np.asarray(LA, dtype=float))
    i = np.asarray(LI, dtype=float) / (1.0 + np.asarray(LI, dtype=float))
    k = p["kon_K"] * a / (p["kon_K"] * a + p["koff_K"])
    s = p["kon_S"] * i / (p["kon_S"] * i + p["koff_S"])
    return goldbeter_koshland(p["kcat_K"] * k, p["kcat_P0"] + p["kcat_P"] * s,
                              p["Km_K"], p["Km_P"])


def vav1_dose_response(LA, LI=0.0, *, V0: float = 0.0, t_end: float = 3000.0,
                       **overrides) -> np.ndarray:
    """pVav1 fraction after ``t_end`` seconds for each (LA, LI), simulated with the engine.

    Each dose pair is one virtual "patient" of :data:`MODEL`; ``V0`` is the initial pVav1
    fraction (0: resting cell; 1: previously activated, to show hysteresis) and the kinase
    starts in equilibrium with that state's receptors only through the dynamics.
    """
    from nksim.engine import SolverOptions, simulate

    LA, LI = np.broadcast_arrays(np.asarray(LA, dtype=float), np.asarray(LI, dtype=float))
    names = MODEL.parameter_names
    base = _values(overrides)
    params = np.tile([base[n] for n in names], (LA.size, 1))
    params[:, names.index("LA")] = LA.ravel()
    params[:, names.index("LI")] = LI.ravel()
    y0 = np.tile([V0, 0.0, V0], (LA.size, 1))  # K starts at V0: a previously active cell
    result = simulate(MODEL, np.array([t_end]), parameters=params, initial=y0,
                      options=SolverOptions(rtol=1e-9, atol=1e-12, threads=1))
    if result.status_counts.get("ok", 0) != LA.size:
        raise RuntimeError(f"Vav1 switch integration failed: {result.status_counts}")
    return result.dataset["V"].values[:, -1].reshape(LA.shape)
