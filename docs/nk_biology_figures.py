"""Figures of docs/nk-biology.md, generated from the models (run from the repository root).

    .venv/bin/python docs/nk_biology_figures.py      # writes docs/figures/nk-*.png

Research use only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nksim.biology import (  # noqa: E402
    DEATH_RECEPTOR,
    KILLING_PRESETS,
    EscapeProfile,
    NKReceptors,
    TargetLigands,
    activation_probability,
    activation_rate_law,
    escape_tumour_model,
    signals,
    simulate_serial_killing,
    vav1_dose_response,
)

OUT = Path(__file__).resolve().parent / "figures"
DPI = 80


def save(fig, name):
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / name, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote docs/figures/{name}")


def vav1():
    la = np.logspace(-3, 2, 81)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].semilogx(la, vav1_dose_response(la), label="zero-order (Km 0.02)")
    ax[0].semilogx(la, vav1_dose_response(la, Km_K=10, Km_P=10), label="first-order (Km 10)")
    ax[0].semilogx(la, vav1_dose_response(la, fb=5, V0=0), "--", label="feedback fb 5, from off")
    ax[0].semilogx(la, vav1_dose_response(la, fb=5, V0=1), ":", label="feedback fb 5, from on")
    ax[0].set(xlabel="activating ligand LA (x K_D)", ylabel="pVav1 fraction (steady state)",
              title="Activation: switch-like, bistable with feedback")
    ax[0].legend(fontsize=7, frameon=False)
    li = np.logspace(-3, 1, 61)
    for a in (1.0, 100.0):
        ax[1].semilogx(li, vav1_dose_response(np.full_like(li, a), li), label=f"LA = {a:g}")
    ax[1].set(xlabel="inhibitory ligand LI (MHC-I, x K_D)", ylabel="pVav1 fraction",
              title="Inhibition dominates")
    ax[1].legend(fontsize=7, frameon=False)
    save(fig, "nk-vav1-switch.png")


def decision():
    lig = np.logspace(-1, 1.5, 40)
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for mhc, style in ((0.0, "-"), (0.5, "--"), (1.0, ":")):
        sig = [signals(NKReceptors(), TargetLigands(nkg2d_ligand=x, mhc_i=mhc)) for x in lig]
        ax.semilogx(lig, [activation_probability(s) for s in sig], style, color="C0",
                    label=f"licensed, MHC-I {mhc:g}")
        ax.semilogx(lig[::4], [activation_rate_law(s) for s in sig[::4]], "o", color="C0",
                    ms=3)
    unl = [signals(NKReceptors(licensed=False), TargetLigands(nkg2d_ligand=x, mhc_i=1.0))
           for x in lig]
    ax.semilogx(lig, [activation_probability(s) for s in unl], color="C3",
                label="unlicensed (any MHC-I)")
    ax.set(xlabel="NKG2D-ligand level (1 = K562-like)", ylabel="P(activation) per encounter",
           title="Missing self, induced self, licensing (dots: closed form)")
    ax.legend(fontsize=7, frameon=False)
    save(fig, "nk-decision.png")


def killing():
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    runs = {
        "IL-2, 16 h": ("il2_human_k562", {}),
        "resting, 12 h": ("resting_human_k562", {}),
        "perforin-deficient, 16 h": ("il2_human_k562", {"perforin": False}),
        "mouse RMA-MULT1, 12 h": ("mouse_rma_mult1", {}),
    }
    width = 0.2
    for i, (label, (name, change)) in enumerate(runs.items()):
        pre = KILLING_PRESETS[name]
        res = simulate_serial_killing(pre.signals(), 20000, duration_h=pre.duration_h,
                                      params=pre.params.replace(**change))
        fr = res.kill_count_fractions(6)
        ax[0].bar(np.arange(7) + (i - 1.5) * width, fr, width, label=label)
        if name == "il2_human_k562" and not change:
            share = res.route_share_by_kill_index(DEATH_RECEPTOR)[:5]
            ax[1].bar(np.arange(1, 6), share)
    ax[0].set(xlabel="targets killed per NK cell", ylabel="fraction of NK cells",
              title="Kill counts")
    ax[0].legend(fontsize=7, frameon=False)
    ax[1].set(xlabel="kill number in the NK cell's sequence", ylabel="share by death receptor",
              title="Granzyme first, death receptors later (IL-2)")
    save(fig, "nk-serial-killing.png")


def assay():
    from nksim.cli_assay import load_assay_scenario, run_assay_scenario

    root = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"
    names = ["assay_missing_self", "assay_nkg2d_ligand", "assay_car_nk", "assay_adcc_cd16"]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True)
    for ax, name in zip(axes, names, strict=True):
        summary, _ = run_assay_scenario(load_assay_scenario(root / f"{name}.toml"))
        for c in summary["conditions"]:
            pts = sorted(c["lysis"], key=lambda p: p["et_ratio"])
            x = [p["et_ratio"] for p in pts]
            y = [p["specific_lysis_pct"] for p in pts]
            lo = [p["specific_lysis_pct"] - p["ci_low"] for p in pts]
            hi = [p["ci_high"] - p["specific_lysis_pct"] for p in pts]
            ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=2, label=c["name"])
        ax.set_xscale("log")
        ax.set(title=name, xlabel="E:T")
        ax.legend(fontsize=7, frameon=False)
    axes[0].set_ylabel("% specific lysis (95 % CI)")
    save(fig, "nk-assay.png")


def escape():
    from nksim.engine import SolverOptions, simulate

    cases = {"no escape": EscapeProfile(), "MHC-I loss 90 %": EscapeProfile(mhc_loss=0.9),
             "ligand shedding 70 %": EscapeProfile(ligand_shedding=0.7),
             "PD-L1 2": EscapeProfile(pdl1=2.0), "TGF-beta 5 ng/mL": EscapeProfile(tgf_beta=5.0)}
    t = np.linspace(0, 60, 241)
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for label, esc in cases.items():
        m = escape_tumour_model(esc)
        y0 = m.initial_vector()
        y0[m.state_names.index("T")] = 1e4
        res = simulate(m, t, initial=y0[None, :], options=SolverOptions(threads=1))
        ax.semilogy(t, np.maximum(res.dataset["T"].values[0], 1e-1), label=label)
    ax.set(xlabel="day", ylabel="tumour cells",
           title="de Pillis 2005 (ln set) with escape factors")
    ax.legend(fontsize=7, frameon=False)
    save(fig, "nk-escape.png")


if __name__ == "__main__":
    vav1()
    decision()
    killing()
    assay()
    escape()
