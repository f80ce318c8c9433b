"""Build (and refit) nksim's own calibrations as PEtab problems (docs/calibrations-petab.md).

Research use only. ``build`` writes the bundled problem folders under
``src/nksim/data/petab/`` from the current nksim declarations; ``fit`` refits them with
``nksim fit``'s Python API and prints the estimates with their profile intervals::

    .venv/bin/python docs/calibration_petab.py build     # rewrite the bundled tables
    .venv/bin/python docs/calibration_petab.py fit       # multistart + profiles
    .venv/bin/python docs/calibration_petab.py fit car_t_stein_shape   # one problem

Problem ``car_t_stein_shape``: nksim's lupus CAR-T kinetics (the Stein-shape stage of
docs/calibration.md, SLEDAI-16 adult after Flu/Cy, 1e6 CAR-T/kg) against 10 points of
Stein 2019's typical curve (a published model's curve, not observed data); see
:func:`build_car_t_stein_shape`.

Problem ``gemcitabine_tgi`` (the only nksim calibration that is a deterministic model
matched to published numbers at given times): García-Cremades 2018's published summary of
single-agent gemcitabine in advanced pancreatic cancer (22.3 % tumour-growth inhibition
versus no treatment at the end of 6 cycles; resistance removes 57 % of the drug effect by
cycle 6), which nksim turned into ``gem_kd`` and ``tgi_lam`` in closed form
(:func:`nksim.therapy._chemotherapy.derive_gemcitabine_tgi`). Here the same two numbers are
fitted with the ODE of the two-compartment PK (Jiang 2008) instead of the closed form's
"AUC at the dose time"; the 18 doses enter by superposition (linear PK), which keeps the
SBML free of events.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "nksim" / "data" / "petab"

GC2018 = ("García-Cremades 2018, Eur J Pharm Sci 115:296-303, PMID 29366960, abstract "
          "[V-src] (science-nk-cancer-ageing.md §4c)")
#: Relative noise of the two published summary values (log scale). ASSUMPTION: the abstract
#: gives no standard error; 0.1 (10 %) chosen, range 0.05-0.3. The profile intervals scale
#: with it (they are intervals under this assumed noise, not published uncertainties).
SIGMA_REL = 0.1


def gemcitabine_tgi_model():
    """nksim's chemotherapy component (gemcitabine PK, ``chemo_effect``) plus ``LK1``, the
    tumour-volume log-kill of one dose given at t = 0: dLK1/dt = chemo_effect."""
    from nksim.model import Component, State, compose
    from nksim.therapy._chemotherapy import GARCIA_CREMADES2018, chemotherapy_component

    logkill = Component(
        name="gc2018_logkill",
        description="cumulative tumour-volume log-kill of one gemcitabine dose at t = 0",
        states=(State("LK1", "dimensionless", "volume log-kill of one dose given at t = 0",
                      0.0),),
        terms={"LK1": "chemo_effect"},
        requires=("GEMC",),
        references=(GARCIA_CREMADES2018,),
    )
    return compose("gemcitabine_tgi",
                   "Gemcitabine tumour-growth inhibition (García-Cremades 2018 summary)",
                   "Gemcitabine PK (Jiang 2008) and Claret-type inhibition with resistance "
                   "(nksim.therapy chemotherapy component); log-kill of one dose.",
                   [chemotherapy_component(), logkill])


def dose_times() -> list[float]:
    """Single-agent gemcitabine as in derive_gemcitabine_tgi: days 1, 8, 15 of 28-day
    cycles (t = 0, 7, 14, ...), 6 cycles."""
    from nksim.therapy._chemotherapy import GEM_MONO_CYCLE_DAYS, GEM_MONO_DAYS

    return [c * GEM_MONO_CYCLE_DAYS + d for c in range(6) for d in GEM_MONO_DAYS]


def tgi_formula() -> str:
    """TGI of the whole schedule from the one-dose log-kill (linear PK: each dose at t_i
    adds exp(-tgi_lam t_i) LK1(inf); LK1 is constant a day after the dose); volume log-kill
    / 3 = sum-of-diameters log-kill (spheres)."""
    schedule = " + ".join(f"exp(-tgi_lam*{t:g})" for t in dose_times())
    return f"1 - exp(-LK1*({schedule})/3)"


def _write_problem_yaml(folder: Path) -> Path:
    """The PEtab v1 problem file of the four tables and model.xml in ``folder``."""
    yaml = folder / "problem.yaml"
    yaml.write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
        "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n")
    return yaml


def build_gemcitabine_tgi(folder: Path) -> Path:
    """Write the PEtab problem ``gemcitabine_tgi`` into ``folder``; returns the YAML path."""
    from nksim.model import to_sbml
    from nksim.therapy._chemotherapy import (
        GEM_MONO_CYCLE_DAYS,
        GEM_MONO_MG_M2,
        GEM_TGI,
        REFERENCE_BSA_M2,
    )

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(to_sbml(gemcitabine_tgi_model(), extinction_events=False))
    end = 6 * GEM_MONO_CYCLE_DAYS                 # end of cycle 6 (day 168)
    mid_last = end - GEM_MONO_CYCLE_DAYS / 2.0    # middle of cycle 6 (day 154)
    pd.DataFrame({"conditionId": ["gemcitabine_mono"],
                  "conditionName": ["one dose of gemcitabine 1000 mg/m2 (BSA 1.8 m2) at t = 0; "
                                    "the schedule d1,8,15 q28d x 6 is in the observable"],
                  "GEMC": [GEM_MONO_MG_M2 * REFERENCE_BSA_M2]}) \
        .to_csv(folder / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({
        "observableId": ["tgi_sld", "effect_retained"],
        "observableName": ["tumour-growth inhibition vs no treatment (sum of diameters)",
                           "fraction of the drug effect left by resistance"],
        "observableFormula": [tgi_formula(), "exp(-tgi_lam*time)"],
        "observableTransformation": ["log", "log"],
        "noiseFormula": ["sigma_rel", "sigma_rel"],
        "noiseDistribution": ["normal", "normal"],
    }).to_csv(folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame({
        "observableId": ["tgi_sld", "effect_retained"],
        "simulationConditionId": "gemcitabine_mono",
        "time": [end, mid_last],
        "measurement": [0.223, round(1.0 - 0.57, 12)],
        "datasetId": "garcia_cremades_2018",
        "source": [f"{GC2018}: 22.3 % TGI vs no treatment at the end of 6 cycles",
                   f"{GC2018}: resistance reduced the drug effect by 57 % in cycle 6 "
                   "(read at the middle of cycle 6, as derive_gemcitabine_tgi does)"],
    }).to_csv(folder / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame({
        "parameterId": ["gem_kd", "tgi_lam", "sigma_rel"],
        "parameterName": ["gemcitabine kill constant per plasma concentration (L/mg/day)",
                          "treatment-related resistance rate (1/day)",
                          "relative noise of the published summary values (log scale)"],
        "parameterScale": ["log10", "log10", "lin"],
        "lowerBound": [GEM_TGI.kd / 100, 1e-4, 0.01],
        "upperBound": [GEM_TGI.kd * 100, 0.1, 1.0],
        "nominalValue": [GEM_TGI.kd, GEM_TGI.lam, SIGMA_REL],
        "estimate": [1, 1, 0],
        "objectivePriorType": ["parameterScaleUniform", "parameterScaleUniform", ""],
        "objectivePriorParameters": [
            f"{math.log10(GEM_TGI.kd / 100)!r};{math.log10(GEM_TGI.kd * 100)!r}",
            f"{math.log10(1e-4)!r};{math.log10(0.1)!r}", ""],
        "source": ["nksim calibration: derive_gemcitabine_tgi closed form (assumption: "
                   "derivation nksim's, inputs V-src García-Cremades 2018)",
                   "nksim calibration: derive_gemcitabine_tgi closed form (assumption)",
                   "ASSUMPTION: no standard error published; range 0.05-0.3"],
    }).to_csv(folder / "parameters.tsv", sep="\t", index=False)
    return _write_problem_yaml(folder)


def build_gemcitabine_tgi_events(folder: Path) -> Path:
    """The same problem with the 18 infusions as SBML events (to_sbml with dose records) and a
    treated and an untreated tumour (TGI = 1 - (Y/YU)^(1/3); exponential growth cancels in
    the ratio, so none is modelled): a check of the superposition and of the engine's event
    path. Not bundled: the event path is slow (docs page, notes)."""
    from nksim.dosing import Dose
    from nksim.model import Component, State, compose, to_sbml
    from nksim.therapy._chemotherapy import (
        GEM_INFUSION_DAYS,
        GEM_MONO_MG_M2,
        REFERENCE_BSA_M2,
        chemotherapy_component,
    )

    yaml = build_gemcitabine_tgi(folder)
    tumour = Component(
        name="tumours", description="treated (Y) and untreated (YU) tumour, relative size",
        states=(State("Y", "dimensionless", "treated tumour, relative to baseline", 1.0),
                State("YU", "dimensionless", "untreated tumour, relative to baseline", 1.0)),
        terms={"Y": "-chemo_effect*Y"}, requires=("GEMC",))
    model = compose("gemcitabine_tgi_events", "gemcitabine TGI, dosing as events",
                    "chemotherapy component and two tumours", [chemotherapy_component(), tumour])
    doses = [Dose("GEMC", GEM_MONO_MG_M2 * REFERENCE_BSA_M2, t, duration=GEM_INFUSION_DAYS)
             for t in dose_times()]
    (folder / "model.xml").write_text(to_sbml(model, doses, extinction_events=False))
    pd.DataFrame({"conditionId": ["gemcitabine_mono"]}).to_csv(
        folder / "conditions.tsv", sep="\t", index=False)
    obs = pd.read_csv(folder / "observables.tsv", sep="\t")
    obs.loc[obs["observableId"] == "tgi_sld", "observableFormula"] = "1 - (Y/YU)^(1/3)"
    obs.to_csv(folder / "observables.tsv", sep="\t", index=False)
    return yaml


# ------------------------------------------------------------------ car_t_stein_shape
#: Stein 2019 Table 1 typical values (science.md §3a, V-src via the nlmixr2lib model file;
#: the same numbers as nksim.therapy.STEIN2019_TYPICAL).
STEIN2019 = ("Stein 2019, CPT Pharmacometrics Syst Pharmacol 8:285-295, Table 1 typical "
             "values [V-src] (science.md §3a)")
#: Measurement days of the typical curve (after infusion): expansion, peak, contraction,
#: persistence. nksim's choice (ASSUMPTION): the peak day itself and ~2 points per phase.
STEIN_DAYS = (3.0, 6.0, 9.3, 14.0, 21.0, 28.0, 56.0, 90.0, 180.0, 365.0)
#: Log-scale noise of the curve points. ASSUMPTION: the points are a published model's
#: typical curve, not observations; 0.56 is Stein 2019's proportional residual error
#: (Table 1, V-src) read as a log-normal SD, i.e. the scatter of one qPCR sample around a
#: patient's curve. Range 0.1-1; intervals scale with it.
SIGMA_STEIN = 0.56
#: The Stein-shape stage of docs/calibration.md §14.6 (SLEDAI-16 adult, Mackensen regimen:
#: Flu 25 mg/m2 x 3 on days -5..-3 + Cy 1000 mg/m2 on day -3, 1e6 CAR-T/kg at day 0, 70 kg,
#: host T cells 1200 cells/uL), as docs/calibration_sle10.py cart_metrics simulates it.
CART_SETTING = {"sledai0": 16, "weight": 70.0, "th": 1200.0, "dose_per_kg": 1e6}
#: Parameters the Stein-shape stages calibrated (docs/calibration.md §4, §11, §13, §14.6),
#: estimated here on log10 scale; bounds are the documented plausible ranges widened.
CART_ESTIMATED = {
    "cart_rho": (0.3, 10.0, "Stein peak day (§14.6); T cells divide <= 2-3 times a day"),
    "cart_kill": (0.05, 10.0, "Stein peak day (§11); range 0.1-7/d of CARTmath fits"),
    "cart_k_exh": (1e-3, 0.5, "Stein day-90 level with Mackensen's B-cell return (§13, "
                   "§14.6); range 0.01-0.1/d"),
    "cart_conv": (1e-4, 0.01, "Stein F_B = 0.0079 (§4)"),
}


def stein_typical_fold(t) -> np.ndarray:
    """Stein 2019's typical curve relative to the level at infusion, C(t)/C(0):
    exp(rho t) up to Tmax (rho = ln(foldx)/Tmax), then
    foldx ((1 - F_B) exp(-alpha (t - Tmax)) + F_B exp(-beta (t - Tmax)))."""
    from nksim.therapy import STEIN2019_TYPICAL as S

    t = np.asarray(t, dtype=float)
    tmax, foldx = S["tmax_day"], S["foldx"]
    rho = math.log(foldx) / tmax
    late = foldx * ((1 - S["memory_fraction"]) * np.exp(-S["alpha_per_day"] * (t - tmax))
                    + S["memory_fraction"] * np.exp(-S["beta_per_day"] * (t - tmax)))
    return np.where(t < tmax, np.exp(rho * t), late)


def car_t_reference_patient():
    """The lupus model (``sle_cd19``) for the Stein-shape stage's reference patient, and its
    state at the moment of infusion (day 0) after Flu/Cy.

    Returns ``(model, parameters, state0, c0)``: the model, the patient's parameter vector
    (``sle_initial_state``: k_auto for SLEDAI 16, weight 70 kg, th_normal 1200), the state
    at day 0 *before* the infusion (simulated from day -6 with the Flu/Cy boluses; no CAR-T
    parameter acts before infusion: every CAR-T term is zero while CART = CARTM = 0) and the
    infused level c0 (cell/uL)."""
    from nksim.disease import sle_initial_state
    from nksim.engine import SolverOptions, simulate
    from nksim.library import get_model
    from nksim.therapy import CellProduct, lymphodepletion_doses

    s = CART_SETTING
    m = get_model("sle_cd19")
    base = sle_initial_state(m, {"weight_GC": s["weight"], "th_normal": s["th"]}, s["sledai0"])
    P, Y = base.parameters, base.initial.copy()
    Y[0, m.state_names.index("TH")] = s["th"]
    ld = lymphodepletion_doses(-5, 3, 25, [0, 0, 1000])
    ds = simulate(m, np.array([-6.0, 0.0]), parameters=P, initial=Y, doses=[ld], t_start=-6.0,
                  options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1)).dataset
    state0 = {x: float(ds[x].values[0, -1]) for x in m.state_names}
    c0 = CellProduct("t", "car_t", dose_per_kg=s["dose_per_kg"]).doses_for(s["weight"])[0].amount
    return m, P[0], state0, float(c0)


def build_car_t_stein_shape(folder: Path) -> Path:
    """Write the PEtab problem ``car_t_stein_shape`` into ``folder``; returns the YAML path.

    The model is nksim's whole lupus model (sle_cd19) for the reference patient: CAR-T
    expansion depends on the CD19+ targets, host T-cell recovery and the lymphodepleting
    exposure, so the CAR-T component cannot be cut out. Time starts at the infusion: the
    state after Flu/Cy (days -5..-3) is the initial value, and the infusion is added to
    ``CART`` by the condition, so the SBML has no events. No priors: uniform priors would
    only add a constant, and with them nksim's objective returned an infinite gradient
    component at a bound, which stops L-BFGS-B (docs/calibrations-petab.md, notes)."""
    import dataclasses

    from nksim.model import Citation, to_sbml
    from nksim.therapy import STEIN2019_TYPICAL

    m, p, state0, c0 = car_t_reference_patient()
    patient = Citation(
        "Stein-shape reference patient",
        "SLEDAI-16 adult of docs/calibration.md §14.6 (sle_initial_state: k_auto for SLEDAI "
        "16, weight 70 kg, th_normal 1200 cells/uL), as docs/calibration_sle10.py "
        "cart_metrics", "assumption")
    defaults = m.parameter_vector()
    params = tuple(dataclasses.replace(q, value=float(p[i]), source=patient)
                   if float(p[i]) != float(defaults[i]) else q
                   for i, q in enumerate(m.parameters))
    states = tuple(dataclasses.replace(x, initial=state0[x.name]) for x in m.states)
    m = dataclasses.replace(m, parameters=params, states=states)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(to_sbml(m, extinction_events=False))
    pd.DataFrame({"conditionId": ["car_t_1e6_per_kg"],
                  "conditionName": ["1e6 CAR-T cells/kg (70 kg) at day 0 after Flu/Cy; state "
                                    "after Flu/Cy in the model's initial values"],
                  "CART": [state0["CART"] + c0]}) \
        .to_csv(folder / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({
        "observableId": ["cart_fold"],
        "observableName": ["CAR-T cells (effector + memory) relative to the level at infusion"],
        "observableFormula": ["(CART + CARTM)/cart_c0"],
        "observableTransformation": ["log"],
        "noiseFormula": ["sigma_stein"],
        "noiseDistribution": ["normal"],
    }).to_csv(folder / "observables.tsv", sep="\t", index=False)
    fold = stein_typical_fold(STEIN_DAYS)
    S = STEIN2019_TYPICAL
    pd.DataFrame({
        "observableId": "cart_fold",
        "simulationConditionId": "car_t_1e6_per_kg",
        "time": STEIN_DAYS,
        "measurement": [float(f"{v:.6g}") for v in fold],
        "datasetId": "stein_2019_typical_curve",
        "source": [f"{STEIN2019}: typical curve of a published model (tisagenlecleucel, "
                   f"r/r B-ALL), NOT observed data: foldx {S['foldx']:g}, Tmax "
                   f"{S['tmax_day']:g} d, alpha {S['alpha_per_day']:g}/d, F_B "
                   f"{S['memory_fraction']:g}, beta {S['beta_per_day']:g}/d; day chosen by "
                   "nksim"] * len(STEIN_DAYS),
    }).to_csv(folder / "measurements.tsv", sep="\t", index=False)
    ids = list(CART_ESTIMATED)
    nominal = [m.parameter(x).value for x in ids]
    pd.DataFrame({
        "parameterId": [*ids, "cart_c0", "sigma_stein"],
        "parameterName": [m.parameter(x).description.split(";")[0] for x in ids]
        + ["CAR-T level right after the infusion (cell/uL)",
           "log-scale noise of the typical-curve points"],
        "parameterScale": ["log10"] * len(ids) + ["lin", "lin"],
        "lowerBound": [CART_ESTIMATED[x][0] for x in ids] + [c0, 0.01],
        "upperBound": [CART_ESTIMATED[x][1] for x in ids] + [c0, 5.0],
        "nominalValue": [*nominal, c0, SIGMA_STEIN],
        "estimate": [1] * len(ids) + [0, 0],
        "source": [f"nksim calibration (docs/calibration.md): {CART_ESTIMATED[x][2]}; "
                   f"{m.parameter(x).source.label()}" for x in ids]
        + ["1e6 cells/kg x 70 kg x blood fraction 0.004 / 4.9 L blood (nksim CellProduct; "
           "assumption, docs/cell-products.md)",
           "ASSUMPTION: the points are a model's typical curve, not data; 0.56 = Stein 2019's "
           "proportional residual error (Table 1, V-src) read as a log-scale SD; range 0.1-1"],
    }).to_csv(folder / "parameters.tsv", sep="\t", index=False)
    return _write_problem_yaml(folder)


PROBLEMS = {"gemcitabine_tgi": build_gemcitabine_tgi,
            "car_t_stein_shape": build_car_t_stein_shape}


def refit(name: str, starts: int = 20, seed: int = 0):
    """Multistart + profiles of a bundled problem (the API behind ``nksim fit``)."""
    from nksim.analysis import multistart, profiles, read_petab

    problem = read_petab(BUNDLED / name / "problem.yaml")
    return problem, profiles(problem, multistart(problem, starts, seed=seed))


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "fit"
    chosen = sys.argv[2:] or list(PROBLEMS)
    unknown = sorted(set(chosen) - set(PROBLEMS))
    if what not in ("build", "fit") or unknown:
        raise SystemExit(f"usage: calibration_petab.py build|fit [{'|'.join(PROBLEMS)} ...]")
    for name in chosen:
        if what == "build":
            print("wrote", PROBLEMS[name](BUNDLED / name))
        else:
            problem, res = refit(name)
            print(name, problem.nominal_summary())
            print(res.starts[["nll", "status"]].describe().to_string())
            print(res.intervals[["estimate_linear", "lower_linear", "upper_linear",
                                 "lower_open", "upper_open"]].to_string())
