"""Calibration: the senolytic removal rate that gives Baker 2016's ~+25 % median lifespan.

Continuous first-order senolysis (-delta X) from 12 months of age in paired cohorts of
virtual mice (same ids, noise and parameters in both arms); delta is found by bisection
on the median-lifespan gain (monotone in delta). Run: ``python docs/calibration_ageing.py``
(about a minute per parameter set on 2 cores). Results are recorded in docs/calibration.md.
"""

from __future__ import annotations

import sys

import numpy as np

from nksim.disease.ageing import ArmInputs, Senolysis, simulate_arm

TARGET_GAIN_PCT = 25.0  # Baker 2016, ~25 % (secondary: Karin 2019 introduction)
N, DT, FOLLOW_UP = 10_000, 0.5, 6 * 365.0


def gain(parameter_set: str, delta: float, control_median: float, seed: int = 2016) -> float:
    arm = simulate_arm("senolysis", parameter_set, N, dt=DT, follow_up_days=FOLLOW_UP,
                       seed=seed, inputs=ArmInputs(senolysis=(Senolysis(delta, 1.0),)))
    return 100.0 * (np.median(arm.durations) / control_median - 1.0)


def calibrate(parameter_set: str, seed: int = 2016) -> tuple[float, float, float]:
    control = simulate_arm("control", parameter_set, N, dt=DT, follow_up_days=FOLLOW_UP,
                           seed=seed)
    m0 = float(np.median(control.durations))
    lo, hi = 0.0, 0.05
    while gain(parameter_set, hi, m0, seed) < TARGET_GAIN_PCT:
        lo, hi = hi, hi * 2
        if hi > 10:
            raise RuntimeError("no senolytic rate reaches the target")
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        if gain(parameter_set, mid, m0, seed) < TARGET_GAIN_PCT:
            lo = mid
        else:
            hi = mid
    delta = 0.5 * (lo + hi)
    return delta, m0, gain(parameter_set, delta, m0, seed)


if __name__ == "__main__":
    sets = sys.argv[1:] or ["karin2019_mouse", "raz2026_mice_F", "raz2026_mice_M"]
    for ps in sets:
        delta, m0, g = calibrate(ps)
        print(f"{ps}: delta = {delta:.4g} /day from 12 months -> median {m0:.0f} d "
              f"-> gain {g:+.1f} %", flush=True)
