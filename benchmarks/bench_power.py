"""Speed of the statistics of evidence (issue 11 §3): Simon's exact two-stage search, one
bundled pancreatic trial (40 per arm), and ``nksim power`` at 20, 40, 80 per arm with 3
replicates. Prints wall-clock seconds and writes ``benchmarks/results/power.json``.

    .venv/bin/python benchmarks/bench_power.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from nksim.config import TrialScenario, read_toml, validate
from nksim.trials import power_by_simulation, run_trial, simon_two_stage

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "src/nksim/data/scenarios/pancreatic_nk_gs.toml"


def timed(f):
    t = time.perf_counter()
    f()
    return round(time.perf_counter() - t, 3)


def main() -> None:
    raw = read_toml(SCENARIO)
    run_trial(validate(TrialScenario, raw), progress=False)  # compile once (cached on disk)
    out = {
        "machine": platform.platform(), "python": platform.python_version(),
        "simon_optimal_p0_0.3_p1_0.5_s": timed(lambda: simon_two_stage(0.3, 0.5)),
        "simon_minimax_p0_0.3_p1_0.5_s": timed(
            lambda: simon_two_stage(0.3, 0.5, design="minimax")),
        "pancreatic_trial_40_per_arm_s": timed(
            lambda: run_trial(validate(TrialScenario, raw), progress=False)),
        "power_20_40_80_x3_replicates_s": timed(
            lambda: power_by_simulation(
                raw, [20, 40, 80], replicates=3, seed=1,
                run=lambda r: run_trial(validate(TrialScenario, r), progress=False))),
    }
    for k, v in out.items():
        print(f"{k:40s} {v}")
    path = ROOT / "benchmarks" / "results" / "power.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
