"""Issue 10 calibration and the KN5501 out-of-sample prediction (docs/calibration.md §11-12).

Research use only. Every number of docs/calibration.md §11-12 comes from here::

    .venv/bin/python docs/calibration_sle10.py stein       # CAR-T shape at 1e5 and 1e6/kg
    .venv/bin/python docs/calibration_sle10.py regen       # precursor lag, rituximab-like course
    .venv/bin/python docs/calibration_sle10.py corticolup  # flare-trigger fit to CORTICOLUP
    .venv/bin/python docs/calibration_sle10.py anchors     # Mackensen adult CAR-T anchors
    .venv/bin/python docs/calibration_sle10.py pediatric   # paediatric CAR-T vs CAR-NK scenario
    .venv/bin/python docs/calibration_sle10.py kn5501      # the prediction (large cohort + 18)
    .venv/bin/python docs/calibration_sle10.py kn5501_sensitivity  # one parameter at a time

The KN5501 (NCT06010472) outcome was not looked up and nothing here is tuned to it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import sys
import warnings
from importlib import resources

import numpy as np

from nksim.config import TrialScenario
from nksim.disease import sle_initial_state, sledai
from nksim.disease._flares import (
    CORTICOLUP_CONTINUE,
    CORTICOLUP_STOP,
    corticolup_trial,
    exact_interval,
    risk_difference_interval,
)
from nksim.engine import simulate
from nksim.library import get_model
from nksim.scenario import read_toml, validate
from nksim.therapy import CellProduct, lymphodepletion_doses
from nksim.trials import run_trial

warnings.filterwarnings("ignore")
T = np.round(np.concatenate([np.arange(-6.0, 60.0, 0.1), np.arange(60.0, 600.5, 0.5)]), 10)


def model():
    return get_model("sle_cd19")


def cart_metrics(dose_per_kg: float, overrides: dict | None = None, *, sledai0: int = 16,
                 weight: float = 70.0, th: float = 1200.0) -> dict:
    """CAR-T (effector + memory) shape of one adult on the Mackensen-design regimen."""
    m = model()
    base = sle_initial_state(m, {"weight_GC": weight, "th_normal": th, **(overrides or {})},
                             sledai0)
    P, Y = base.parameters, base.initial.copy()
    Y[0, m.state_names.index("TH")] = th
    d = (lymphodepletion_doses(-5, 3, 25, [0, 0, 1000])
         + CellProduct("t", "car_t", dose_per_kg=dose_per_kg).doses_for(weight, 0.0))
    ds = simulate(m, T, parameters=P, initial=Y, doses=[d], t_start=-6.0).dataset
    tot = ds.CART.values[0] + ds.CARTM.values[0]
    k = int(np.argmax(tot))
    tp = T[k]

    def slope(a, b):
        s = (T >= tp + a) & (T <= tp + b)
        return float(-np.polyfit(T[s], np.log(tot[s]), 1)[0])

    b = ds.B.values[0]
    back = T[(T > tp) & (b >= 10.0)]
    return {"dose_per_kg": dose_per_kg, "tmax": float(tp), "fold": float(tot[k] / d[-1].amount),
            "peak": float(tot[k]), "d90_share": float(tot[np.searchsorted(T, 90.0)] / tot[k]),
            "alpha": slope(2, 12), "terminal_half_life": float(np.log(2) / slope(300, 500)),
            "b_back_day": float(back[0]) if back.size else float("nan"),
            "sledai_90": int(sledai(ds).values[0][np.searchsorted(T, 90.0)])}


def regen() -> dict:
    """Lag after a complete 14-day CD19 depletion, and a rituximab-like course."""
    m = model()
    base = sle_initial_state(m, None, 0)
    y0 = base.initial.copy()
    for s in ("BPRE", "BTR", "B"):
        y0[0, m.state_names.index(s)] = 0.0
    times = np.arange(0.0, 400.0, 1.0)
    ds = simulate(m, times, parameters=base.parameters, initial=y0).dataset
    b = ds.B.values[0]
    first = float(times[np.argmax(b >= 10.0)])
    half = float(times[np.argmax(b >= 0.5 * b[-1])])
    return {"first_back_10_per_ul_day": first, "half_normal_day": half,
            "btr_over_b_at_return": float(ds.BTR.values[0][int(first)] / b[int(first)])}


def corticolup(n: int = 200, grid=None) -> list[dict]:
    grid = grid or [(4.0, 2.0, None)]
    rows = []
    for rate, size, d_flt in grid:
        res = corticolup_trial(model(), n=n, rate_per_year=rate, mean_size=size,
                               parameters={"d_FLT": d_flt} if d_flt else None)
        stop, cont = res.rates
        rows.append({"rate": rate, "mean": size, "d_FLT": d_flt, "stop": stop,
                     "continue": cont, "difference": stop - cont})
    return rows


def scenario(name: str) -> dict:
    return read_toml(resources.files("nksim.data") / "scenarios" / name)


def run(raw: dict):
    with contextlib.redirect_stdout(io.StringIO()):
        return run_trial(validate(TrialScenario, raw))


def endpoint(arm, name):
    e = arm.summary["endpoints"][name]
    return e.get("value"), e.get("n")


def kn5501(n_large: int = 60) -> dict:
    """Predicted LLDAS-or-DORIS at 12 months: the 18-patient scenario and a large cohort."""
    raw = scenario("sle_adult_carnk_kn5501.toml")
    small = run(raw)
    big_raw = copy.deepcopy(raw)
    big_raw["trial"]["patients_per_arm"] = n_large
    big_raw["cohort"]["n_candidates"] = 12 * n_large
    big = run(big_raw)
    out = {"per_arm_18": {}, "per_arm_large": {}}
    k18 = n18 = 0
    kl = nl = 0
    for res, key in ((small, "per_arm_18"), (big, "per_arm_large")):
        for arm in res.arms:
            x = arm.patients["lldas_or_doris_12m"].to_numpy(bool)
            out[key][arm.name] = (int(x.sum()), int(x.size))
            if key == "per_arm_18":
                k18, n18 = k18 + int(x.sum()), n18 + int(x.size)
            else:
                kl, nl = kl + int(x.sum()), nl + int(x.size)
    p = kl / nl
    out["pooled_18"] = (k18, n18)
    out["pooled_large"] = (kl, nl, p, exact_interval(kl, nl))
    # 95 % predictive interval of the count among 18 patients at the model's rate, with the
    # model-rate uncertainty of the large cohort (beta posterior, uniform prior)
    rng = np.random.default_rng(5501)
    draws = rng.binomial(18, rng.beta(kl + 1, nl - kl + 1, 200_000))
    out["predictive_18"] = (int(np.percentile(draws, 2.5)), int(np.percentile(draws, 97.5)))
    return out


def main(argv: list[str]) -> None:
    what = argv[1] if len(argv) > 1 else "stein"
    if what == "stein":
        for dose in (1e5, 3e5, 1e6):
            print(cart_metrics(dose))
    elif what == "regen":
        print(regen())
    elif what == "corticolup":
        lo_s, hi_s = exact_interval(*CORTICOLUP_STOP)
        lo_c, hi_c = exact_interval(*CORTICOLUP_CONTINUE)
        print("CORTICOLUP stop CI", (lo_s, hi_s), "continue CI", (lo_c, hi_c),
              "difference", risk_difference_interval(*CORTICOLUP_STOP, *CORTICOLUP_CONTINUE))
        grid = [(r, s, 0.05) for r in (3.0, 4.0, 5.0) for s in (1.5, 2.0, 2.5)]
        for row in corticolup(120, grid):
            print(row)
    elif what == "anchors":
        raw = scenario("sle_adult_cart.toml")
        raw["trial"]["patients_per_arm"] = 40
        raw["cohort"]["n_candidates"] = 400
        res = run(raw)
        arm = res.arms[0]
        for e in ("doris_remission_3m_rate", "doris_remission_6m_rate", "crs_any_rate",
                  "b_cell_return_day_median", "flare_6m_rate", "lldas_or_doris_12m_rate"):
            print(e, arm.summary["endpoints"][e])
    elif what == "pediatric":
        res = run(scenario("sle_pediatric_cart_vs_carnk.toml"))
        for arm in res.arms:
            print(arm.name, {k: (v.get("value"), v.get("n"))
                             for k, v in arm.summary["endpoints"].items()})
    elif what == "kn5501":
        print(kn5501())
    elif what == "kn5501_sensitivity":
        for over in ({"carnk_kill": 0.5}, {"carnk_kill": 2.0}, {"carnk_delta": 0.1}):
            raw = scenario("sle_adult_carnk_kn5501.toml")
            raw["trial"]["patients_per_arm"] = 60
            raw["cohort"]["n_candidates"] = 720
            raw["parameters"] = over
            k = n = 0
            for arm in run(raw).arms:
                x = arm.patients["lldas_or_doris_12m"].to_numpy(bool)
                k, n = k + int(x.sum()), n + int(x.size)
            print(over, k, n, round(k / n, 3))
    else:
        raise SystemExit(f"unknown command {what!r}")


if __name__ == "__main__":
    main(sys.argv)
