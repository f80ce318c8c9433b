"""Figures of docs/cancer.md (pancreatic section) and docs/evidence-statistics.md:
``.venv/bin/python docs/pancreatic_figures.py``.

Research use only. Writes docs/figures/pancreatic-pk.png (gemcitabine and 5-FU over one
GS cycle), pancreatic-tgi.png (one virtual patient: untreated, GS, NK + GS),
pancreatic-trial.png (waterfall and OS of the bundled scenario, 40 per arm),
evidence-power.png (nksim power at 20, 40, 80 per arm) and evidence-n-of-1.png (one
patient, inactive product on a stable tumour, 20 % measurement error).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nksim.config import (  # noqa: E402
    TrialScenario,  # noqa: E402
    read_toml,
    validate,
)
from nksim.disease._pancreatic import pancreatic_model  # noqa: E402
from nksim.disease._pancreatic_setting import NK_GAIN  # noqa: E402
from nksim.dosing import Dose  # noqa: E402
from nksim.engine import SolverOptions, simulate  # noqa: E402
from nksim.therapy._chemotherapy import gs_doses  # noqa: E402
from nksim.therapy._nk_products import allogeneic_nk  # noqa: E402
from nksim.trials import run_trial  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
SCENARIO = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios/pancreatic_nk_gs.toml"
OPTS = SolverOptions(rtol=1e-8, atol=1e-10, progress=False)


def pk() -> None:
    m = pancreatic_model(None)
    t = np.linspace(0, 21, 21 * 96 + 1)
    res = simulate(m, t, doses=gs_doses(1.7, 1), options=OPTS)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
    ax[0].semilogy(t * 24, np.maximum(res.dataset["gem_conc"].values[0], 1e-6))
    ax[0].set_xlim(0, 30)
    ax[0].set_ylim(1e-4, 100)
    ax[0].set_xlabel("hours after the day-1 infusion")
    ax[0].set_ylabel("gemcitabine (mg/L)")
    ax[0].set_title("gemcitabine 1000 mg/m2, 30 min (Jiang 2008)", fontsize=9)
    ax[1].plot(t, res.dataset["fu_conc"].values[0] * 1000)
    ax[1].set_xlabel("day of the GS cycle")
    ax[1].set_ylabel("5-FU (ug/L, apparent)")
    ax[1].set_title("S-1 100 mg/d days 1-14 (Booka clearance)", fontsize=9)
    for a in ax:
        a.grid(alpha=0.3)
    fig.savefig(OUT / "pancreatic-pk.png", dpi=110)
    plt.close(fig)


def tgi() -> None:
    m = pancreatic_model(allogeneic_nk("peripheral_blood", 4e9), nk_gain=NK_GAIN)
    t = np.arange(0, 366.0)
    gs = gs_doses(1.7, 8)
    nk = [Dose("NKP", 4e9 * 0.81 * 0.02 / 4.9e6, 2.0, every=21.0, count=4)]
    res = simulate(m, t, parameters={"pdac_nk_gain": [NK_GAIN] * 3}, doses=[[], gs, gs + nk],
                   options=OPTS)
    y = res.dataset["tumour_ml"].values
    fig, ax = plt.subplots(figsize=(6.5, 3.4), constrained_layout=True)
    for i, lab in enumerate(("untreated", "GS (8 cycles)", "NK 4e9 x 4 + GS")):
        ax.plot(t, 100 * (np.cbrt(y[i] / y[i, 0]) - 1), label=lab)
    ax.axhline(-30, color="#1b7837", ls="--", lw=0.8)
    ax.axhline(20, color="#c2474a", ls=":", lw=0.8)
    ax.set_xlabel("days")
    ax.set_ylabel("change of the sum of diameters (%)")
    ax.set_title("typical patient (volume doubling 93.5 d), no measurement error", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(OUT / "pancreatic-tgi.png", dpi=110)
    plt.close(fig)


def trial() -> None:
    from nksim.report._oncology import km_figure, waterfall_figure
    from nksim.trials._setting import get_setting

    res = run_trial(validate(TrialScenario, read_toml(SCENARIO)), progress=False)
    spec = get_setting("pancreatic").oncology
    waterfall_figure(res, spec).savefig(OUT / "pancreatic-waterfall.png", dpi=100)
    km_figure(res, spec, "OS", "os_months").savefig(OUT / "pancreatic-os.png", dpi=100)
    plt.close("all")
    for a in res.arms:
        ep = a.summary["endpoints"]
        print(a.name, {k: (ep[k]["value"], ep[k]["ci_low"], ep[k]["ci_high"], ep[k]["n"])
                       for k in ("orr_rate", "cr_rate", "dcr_rate", "pfs_median_months",
                                 "os_median_months", "crs_any_rate",
                                 "resection_conversion_rate")})
    for c in res.comparisons:
        if c["measure"] in ("hazard_ratio", "risk_difference") and c["endpoint"] in (
                "orr_rate", "os_median_months", "pfs_median_months"):
            print(c["endpoint"], c["measure"], c["value"], c["ci_low"], c["ci_high"],
                  c["p_value"])


def power() -> None:
    from nksim.cli_power import _power_figure
    from nksim.trials import power_by_simulation

    pts = power_by_simulation(read_toml(SCENARIO), [20, 40, 80], replicates=10, seed=2025,
                              run=lambda r: run_trial(validate(TrialScenario, r),
                                                      progress=False))
    for p in pts:
        print(p)
    _power_figure(pts, OUT / "evidence-power.png")


def n_of_1() -> None:
    from nksim.trials import run_n_of_1
    from nksim.trials._n_of_1 import n_of_1_figure

    raw = read_toml(SCENARIO)
    raw["cohort"]["measurement_sigma"] = 0.2
    sc = validate(TrialScenario, raw)
    res = run_n_of_1(sc, patient=0, replicates=500, inactive=True)
    print("\n".join(res.lines()))
    n_of_1_figure(res, OUT / "evidence-n-of-1.png")
    res = run_n_of_1(validate(TrialScenario, read_toml(SCENARIO)), patient=0,
                     replicates=500)
    print("\n".join(res.lines()))
    n_of_1_figure(res, OUT / "evidence-n-of-1-treated.png")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    pk()
    tgi()
    trial()
    n_of_1()
    power()
