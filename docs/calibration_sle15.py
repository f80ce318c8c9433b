"""Serology at 3 months after CD19 CAR-T (docs/calibration.md §15): why it lagged, and the
SLE anti-dsDNA clearance that fixes it. Research use only.

    .venv/bin/python docs/calibration_sle15.py serology   # per patient, before and after
    .venv/bin/python docs/calibration_sle15.py halflife   # anti-dsDNA half-life sweep
    .venv/bin/python docs/calibration_sle15.py depletion  # immediate / short CD19 depletion
    .venv/bin/python docs/calibration_sle15.py others     # adult, paediatric, CORTICOLUP
    .venv/bin/python docs/calibration_sle15.py kn5501     # the KN5501 prediction, 5th entry

"Before" is the model of commit 1f6ff23 (anti-dsDNA half-life 21 d, secretion 0.36),
entered as parameter overrides. The KN5501 (NCT06010472) outcome was not looked up and
nothing here is tuned to it.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import warnings

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import calibration_sle10 as c10  # noqa: E402

from nksim.disease import sle_initial_state, sle_model, sledai, sledai_components  # noqa: E402
from nksim.disease._flares import corticolup_trial  # noqa: E402
from nksim.engine import SolverOptions, simulate  # noqa: E402
from nksim.model import Citation, Component, Parameter, State  # noqa: E402

warnings.filterwarnings("ignore")


def half_life(th: float) -> dict:
    """Overrides for an anti-dsDNA half-life ``th`` (days), secretion scaled with clearance
    (the plasmablasts behind each IU/mL unchanged)."""
    d = math.log(2) / th
    p = 0.36 * 21.0 / th
    return {"d_AB": d, "p_PB": p, "p_LL": p}


BEFORE = half_life(21.0)


def mackensen(n: int, overrides: dict | None = None, cohort: dict | None = None):
    raw = c10.scenario("sle_adult_cart.toml")
    raw["trial"]["patients_per_arm"] = n
    raw.setdefault("cohort", {}).update(cohort or (
        {"sledai_median": 16, "sledai_sigma": 0.2} if n == 5
        else {"sledai_median": 14, "sledai_sigma": 0.25}))
    raw["cohort"]["n_candidates"] = max(int(raw["cohort"].get("n_candidates", 100)), 15 * n)
    raw.setdefault("parameters", {}).update(overrides or {})
    res = c10.run(raw)
    return res, res.arms[0]


def per_patient(res, arm) -> list[dict]:
    """Baseline and day-91 serology of each infused patient."""
    ds = arm.simulation.dataset
    t = ds["time"].values
    inf = arm.patients["infused"].to_numpy(bool)
    comp = sledai_components(ds)
    i0, i91 = int(np.searchsorted(t, 0.0)), int(np.searchsorted(t, 91.0))
    names = list(res.model.parameter_names)
    P = np.asarray(arm.parameters)

    def par(k):
        return P[:, names.index(k)]

    rows = []
    for j in np.flatnonzero(inf):
        ll, pb, ab = ds["LLPC"].values[j], ds["PB"].values[j], ds["AB"].values[j]
        neg = np.flatnonzero((t > 0) & (ab < 30.0))
        c3n = np.flatnonzero((t > 0) & (ds["C3"].values[j] >= 90.0))
        rows.append({
            "sledai_baseline": int(comp["total"].values[j, 0]),
            "ab_baseline": round(float(ab[0]), 1), "ab_day0": round(float(ab[i0]), 1),
            "llpc_share_baseline": round(float(
                par("p_LL")[j] * ll[0] / (par("p_LL")[j] * ll[0] + par("p_PB")[j] * pb[0])), 4),
            "llpc_ab_floor_day91": round(float(par("p_LL")[j] * ll[i91] / par("d_AB")[j]), 1),
            "ab_half_life": round(float(math.log(2) / par("d_AB")[j]), 1),
            "ab_day91": round(float(ab[i91]), 1),
            "c3_day91": round(float(ds["C3"].values[j, i91]), 1),
            "pb_day91": round(float(pb[i91]), 3),
            "clinical_day91": int(comp["clinical"].values[j, i91]),
            "anti_dsdna_pts_day91": int(comp["anti_dsdna"].values[j, i91]),
            "c3_pts_day91": int(comp["low_complement"].values[j, i91]),
            "total_day91": int(comp["total"].values[j, i91]),
            "seronegative_day": float(t[neg[0]]) if neg.size else None,
            "c3_normal_day": float(t[c3n[0]]) if c3n.size else None,
            "doris_3m": bool(arm.patients["doris_3m"].to_numpy(bool)[j]),
        })
    return rows


def summary(arm, rows) -> dict:
    inf = arm.patients["infused"].to_numpy(bool)
    p = arm.patients[inf]
    tot = np.array([r["total_day91"] for r in rows])
    back = p["b_cell_return_day"].to_numpy(float)
    neg = [r["seronegative_day"] for r in rows if r["seronegative_day"] is not None]
    return {"n": len(rows), "sledai91_median": float(np.median(tot)),
            "sledai91_max": int(tot.max()),
            "share_le2": round(float((tot <= 2).mean()), 3),
            "anti_dsdna_pos91": int(sum(r["anti_dsdna_pts_day91"] > 0 for r in rows)),
            "low_c3_91": int(sum(r["c3_pts_day91"] > 0 for r in rows)),
            "seroneg_day_median": float(np.median(neg)) if neg else None,
            "doris_3m": round(float(p["doris_3m"].mean()), 3),
            "kept_6m": round(float((p["doris_6m"] & ~p["flare_6m"]).mean()), 3),
            "b_return_mean": round(float(np.nanmean(back)), 1),
            "b_return_sd": round(float(np.nanstd(back, ddof=1)), 1),
            "crs_any": round(float((p["crs_grade"] >= 1).mean()), 3)}


def cmd_serology() -> None:
    for label, over in (("before (21 d)", BEFORE), ("after (9.6 d)", None)):
        for n in (5, 40):
            res, arm = mackensen(n, over)
            rows = per_patient(res, arm)
            print(f"== {label}, {n} Mackensen-like patients")
            if n == 5:
                for r in rows:
                    print(json.dumps(r))
            print(json.dumps(summary(arm, rows)))


def cmd_halflife() -> None:
    for th in (21.0, 14.0, 12.0, 9.6, 8.2):
        for n in (5, 40):
            res, arm = mackensen(n, half_life(th))
            print(th, n, json.dumps(summary(arm, per_patient(res, arm))))


_T = Citation("calibration", "stand-in CD19 killer (B, PB; never LLPC)", "assumption", note="-")
KILLER = Component(
    "cd19_kill_standin", "CD19 killer stand-in",
    states=(State("KILL", "1/day", "kill rate of CD19+ cells", 0.0),),
    parameters=(Parameter("d_kill", 0.0, "1/day", "decay of the kill rate", _T),),
    terms={"KILL": "-d_kill*KILL", "B": "-KILL*B", "PB": "-KILL*PB"},
    requires=("B", "PB"),
)


def cmd_depletion() -> None:
    """docs/sle-disease.md 'Behaviour': days to clinical 0 and total 0 after immediate and
    complete depletion (untreated baselines), and which short kills relapse."""
    m = sle_model(KILLER, name="sle_calib_kill")
    opts = SolverOptions(rtol=1e-7, atol=1e-8, threads=1)
    times = np.arange(0.0, 541.0, 1.0)
    for over, label in ((BEFORE, "21 d"), ({}, "9.6 d")):
        out = {}
        for s0 in (8, 12, 16, 24):
            base = sle_initial_state(m, over or None, s0)
            P = base.parameters.copy()
            y0 = base.initial.copy()
            y0[0, m.state_names.index("KILL")] = 50.0
            ds = simulate(m, times, parameters=P, initial=y0, options=opts).dataset
            comp = sledai_components(ds)
            clin = comp["clinical"].values[0]
            tot = comp["total"].values[0]
            out[s0] = (int(np.argmax(clin == 0)), int(np.argmax(tot == 0)))
        print(label, "immediate complete depletion: (clinical 0, total 0) day", out)
        for s0 in (8, 12, 16, 24):
            res = []
            for th in (0.5, 1.0, 2.0, 3.0):
                base = sle_initial_state(m, over or None, s0)
                P = base.parameters.copy()
                P[0, m.parameter_names.index("d_kill")] = math.log(2) / th
                y0 = base.initial.copy()
                y0[0, m.state_names.index("KILL")] = 5.0
                ds = simulate(m, times, parameters=P, initial=y0, options=opts).dataset
                res.append((th, int(sledai(ds).values[0][-1])))
            print(label, "baseline", s0, "short kill (half-life d, SLEDAI day 540):", res)


def cmd_others() -> None:
    for label, over in (("before (21 d)", BEFORE), ("after (9.6 d)", {})):
        raw = c10.scenario("sle_adult_cart.toml")
        raw["trial"]["patients_per_arm"] = 40
        raw["cohort"]["n_candidates"] = 400
        raw["parameters"] = dict(over)
        arm = c10.run(raw).arms[0]
        print(label, "bundled adult (40):", {e: arm.summary["endpoints"][e].get("value") for e in (
            "doris_remission_3m_rate", "doris_remission_6m_rate", "crs_any_rate",
            "b_cell_return_day_median", "flare_6m_rate", "lldas_or_doris_12m_rate")})
        raw = c10.scenario("sle_pediatric_cart_vs_carnk.toml")
        raw["parameters"] = {**raw.get("parameters", {}), **over}
        for arm in c10.run(raw).arms:
            ends = arm.summary["endpoints"]
            print(label, "paediatric", arm.name, {e: ends[e].get("value") for e in (
                "doris_remission_3m_rate", "doris_remission_6m_rate", "doris_remission_12m_rate",
                "flare_6m_rate", "crs_any_rate", "b_cell_return_day_median") if e in ends})
        res = corticolup_trial(c10.model(), n=120, parameters=over or None)
        print(label, "CORTICOLUP (stop, continue):", res.rates)


def kn5501(over: dict, n_large: int = 60) -> dict:
    raw = c10.scenario("sle_adult_carnk_kn5501.toml")
    raw["parameters"] = {**raw.get("parameters", {}), **over}
    small = c10.run(raw)
    big = copy.deepcopy(raw)
    big["trial"]["patients_per_arm"] = n_large
    big["cohort"]["n_candidates"] = 12 * n_large
    big = c10.run(big)
    out = {}
    for res, key in ((small, "18"), (big, "large")):
        k = n = 0
        per = {}
        for arm in res.arms:
            x = arm.patients["lldas_or_doris_12m"].to_numpy(bool)
            per[arm.name] = (int(x.sum()), int(x.size))
            k, n = k + int(x.sum()), n + int(x.size)
        out[key] = {"per_arm": per, "pooled": (k, n)}
    k, n = out["large"]["pooled"]
    out["rate"] = round(k / n, 3)
    out["exact_95"] = tuple(round(v, 3) for v in c10.exact_interval(k, n))
    rng = np.random.default_rng(5501)
    draws = rng.binomial(18, rng.beta(k + 1, n - k + 1, 200_000))
    out["predictive_18"] = (int(np.percentile(draws, 2.5)), int(np.percentile(draws, 97.5)))
    return out


def cmd_kn5501() -> None:
    print("after (current model):", json.dumps(kn5501({})))
    print("before (21 d, one change undone):", json.dumps(kn5501(BEFORE)))


if __name__ == "__main__":
    {"serology": cmd_serology, "halflife": cmd_halflife, "depletion": cmd_depletion,
     "others": cmd_others, "kn5501": cmd_kn5501}[sys.argv[1] if len(sys.argv) > 1 else "serology"]()
