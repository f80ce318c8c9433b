"""Make the figures of docs/nk-patrol-and-products.md.

Run: .venv/bin/python docs/nk_patrol_figures.py

Research use only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nksim.biology import (  # noqa: E402
    ReinfusionSpec,
    patrol_model,
    run_reinfusion,
    steady_state_shares,
)
from nksim.biology._trafficking import POOLS  # noqa: E402
from nksim.engine import SolverOptions, simulate  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"


def distribution_and_first_pass() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    shown = [p for p in POOLS if p != "first"]
    for k, profile in enumerate(("resting", "activated")):
        s = steady_state_shares(profile=profile)
        axes[0].bar(np.arange(len(shown)) + 0.4 * k, [100 * s[p] for p in shown], 0.4,
                    label=profile)
    axes[0].set_xticks(np.arange(len(shown)) + 0.2, shown, rotation=30)
    axes[0].set(ylabel="% of the population", title="where NK cells are (steady state)")
    axes[0].legend(fontsize=8)
    model = patrol_model("activated")
    x0 = np.zeros(len(POOLS))
    x0[POOLS.index("first")] = 1.0e9
    hours = np.concatenate([np.linspace(0, 2, 41), np.linspace(2.5, 72, 140)])
    res = simulate(model, hours / 24, initial=x0[None, :],
                   options=SolverOptions(rtol=1e-8, atol=1.0))
    for pool in ("lung", "liver", "spleen", "marrow"):
        axes[1].plot(hours, 100 * res.dataset[f"nk_{pool}"].values[0] / 1e9, label=pool)
    blood = sum(res.dataset[f"nk_{p}"].values[0] for p in ("ven", "art", "first"))
    axes[1].plot(hours, 100 * blood / 1e9, "k--", label="blood")
    axes[1].set(xlabel="hours after infusion", ylabel="% of infused cells",
                title="infused activated NK cells", xscale="symlog")
    axes[1].legend(fontsize=8)
    fig.suptitle("nksim patrol model - research use only", fontsize=9)
    fig.tight_layout()
    fig.savefig(OUT / "nk-patrol.png", dpi=80)
    plt.close(fig)


def reinfusion() -> None:
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    for loss, style in ((0.069, "-"), (0.3, "--")):
        r = run_reinfusion(ReinfusionSpec(inf_death=loss))
        t = r.table
        ax[0].plot(t["time_day"], t["blood_nk_per_ul"], style,
                   label=f"loss {loss:g}/d (t1/2 {np.log(2) / loss:.1f} d)")
        ax[1].plot(t["time_day"], 100 * t["infused_share_blood"], style,
                   label=f"loss {loss:g}/d")
    ax[0].axhline(r.summary["baseline_blood_nk_per_ul"], color="grey", lw=0.8)
    ax[0].set(xlabel="day", ylabel="blood NK (cells/uL)", title="T1: 5 x 5e9 autologous NK")
    ax[1].set(xlabel="day", ylabel="% of blood NK cells", title="share of infused cells")
    for a in ax:
        a.legend(fontsize=8)
    fig.suptitle("nksim patrol --reinfusion - research use only", fontsize=9)
    fig.tight_layout()
    fig.savefig(OUT / "nk-reinfusion-t1.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    distribution_and_first_pass()
    reinfusion()
