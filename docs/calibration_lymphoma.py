"""Reproduce the lymphoma calibration (docs/calibration.md, section "Lymphoma").

Research use only. Runs the bundled CD19 CAR-NK scenario with 74 virtual patients (twice
Marin 2024's 37) and one year of follow-up, and prints the calibrated quantities beside
their targets; then runs the FT516 scenario (not calibrated) and prints its predictions.

    .venv/bin/python docs/calibration_lymphoma.py
"""

from __future__ import annotations

import numpy as np

from nksim.config import TrialScenario
from nksim.scenario import read_toml, validate
from nksim.trials import run_trial

TARGETS = {"ORR": 0.486, "ORR d28": 0.486, "1-y PFS": 0.32, "1-y OS": 0.68,  # Marin 2024
           "CRS any": 0.0}


def one_year(path: str, n: int) -> None:
    raw = read_toml(path)
    raw["trial"].update(patients_per_arm=n, follow_up_days=365)
    raw["cohort"]["n_candidates"] = 3 * n
    result = run_trial(validate(TrialScenario, raw))
    for arm in result.arms:
        p = arm.patients[arm.patients["status"].eq("ok")]
        got = {"ORR": p["responder"].mean(), "ORR d28": p["responder_first_visit"].mean(),
               "CR": p["complete_response"].mean(),
               "1-y PFS": np.mean(~(p["pfs_months"] <= 12.0)),
               "1-y OS": np.mean(~(p["os_months"] <= 12.0)),
               "CRS any": p["crs_any"].mean() if p["infused"].any() else float("nan")}
        print(f"{arm.name} (n = {len(p)}):")
        for k, v in got.items():
            target = f" (Marin 2024 target {TARGETS[k]:.3f})" if k in TARGETS and \
                "carnk" in arm.name else ""
            print(f"  {k:8s} {v:.3f}{target}")


if __name__ == "__main__":
    one_year("src/nksim/data/scenarios/lymphoma_cd19_carnk.toml", 74)
    one_year("src/nksim/data/scenarios/lymphoma_ft516_rituximab.toml", 74)
