"""Reproduce the pancreatic calibration (docs/calibration.md, "Pancreatic"):
``.venv/bin/python docs/calibration_pancreatic.py``.

Research use only. Runs the nk_gs arm of the bundled scenario alone (500 virtual patients,
seed 2025) at several values of pdac_nk_gain and prints ORR, DCR, median PFS/OS; then the
GS-alone arm once (never tuned: a prediction).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nksim.config import TrialScenario, read_toml, validate
from nksim.trials import run_trial

SCENARIO = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios/pancreatic_nk_gs.toml"
KEYS = ("orr_rate", "dcr_rate", "cr_rate", "pfs_median_months", "os_median_months",
        "resection_conversion_rate")


def run(arm: str, n: int = 500, **parameters: float) -> dict[str, float]:
    raw = read_toml(SCENARIO)
    raw["trial"].update(patients_per_arm=n, design="single_arm")
    raw["cohort"]["n_candidates"] = int(1.3 * n) + 10
    raw["arms"] = [a for a in raw["arms"] if a["name"] == arm]
    if parameters:
        raw["parameters"] = parameters
    res = run_trial(validate(TrialScenario, raw), progress=False)
    ep = res.arms[0].summary["endpoints"]
    return {k: ep[k]["value"] for k in KEYS}


if __name__ == "__main__":
    gains = [float(x) for x in sys.argv[1:]] or [0.0, 2.0, 4.0, 6.0]
    for g in gains:
        print(f"nk_gs    pdac_nk_gain = {g:4.1f}:", {k: round(v or float('nan'), 3)
                                                      for k, v in run("nk_gs",
                                                                      pdac_nk_gain=g).items()})
    print("gs_alone (prediction):", {k: round(v or float('nan'), 3)
                                     for k, v in run("gs_alone").items()})
