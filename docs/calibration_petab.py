"""Build (and refit) nksim's own calibrations as PEtab problems (docs/calibrations-petab.md).

Research use only. ``build`` writes the bundled problem folders under
``src/nksim/data/petab/`` from the current nksim declarations; ``fit`` refits them with
``nksim fit``'s Python API and prints the estimates with their profile intervals::

    .venv/bin/python docs/calibration_petab.py build     # rewrite the bundled tables
    .venv/bin/python docs/calibration_petab.py fit       # multistart + profiles

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
    yaml = folder / "problem.yaml"
    yaml.write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
        "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n")
    return yaml


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


PROBLEMS = {"gemcitabine_tgi": build_gemcitabine_tgi}


def refit(name: str, starts: int = 20, seed: int = 0):
    """Multistart + profiles of a bundled problem (the API behind ``nksim fit``)."""
    from nksim.analysis import multistart, profiles, read_petab

    problem = read_petab(BUNDLED / name / "problem.yaml")
    return problem, profiles(problem, multistart(problem, starts, seed=seed))


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "fit"
    for name, build in PROBLEMS.items():
        if what == "build":
            print("wrote", build(BUNDLED / name))
        else:
            problem, res = refit(name)
            print(name, problem.nominal_summary())
            print(res.intervals[["estimate_linear", "lower_linear", "upper_linear",
                                 "lower_open", "upper_open"]].to_string())
