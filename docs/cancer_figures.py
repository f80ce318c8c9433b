"""Figures of docs/cancer.md (lymphoma section): ``.venv/bin/python docs/cancer_figures.py``.

Research use only. Writes docs/figures/cancer-rituximab-pk.png (Rozman 2017 PK),
cancer-lymphoma-clones.png (one virtual patient: rituximab alone versus FT516-like NK +
rituximab, by clone and FCGR3A genotype) and cancer-lymphoma-trial.png (waterfall and
PFS curves of a small run of the bundled FT516 scenario).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nksim.disease._lymphoma import ProductSpec, lymphoma_model  # noqa: E402
from nksim.engine import SolverOptions, simulate  # noqa: E402
from nksim.model import compose  # noqa: E402
from nksim.therapy import hncd16_nk, lymphodepletion_doses  # noqa: E402
from nksim.therapy._antibodies import rituximab_doses, rituximab_pk_component  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
OPTS = SolverOptions(rtol=1e-8, atol=1e-9)


def rituximab_pk() -> None:
    m = compose("rtx_only", "rituximab PK", "docs", [rituximab_pk_component()])
    t = np.linspace(0, 120, 481)
    doses = rituximab_doses(375.0, 1.9, [0.0, 21.0, 42.0, 63.0])
    fig, ax = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
    for label, model in (("Rozman 2017: CL(t) = 0.252 + 0.278 exp(-0.143 t) L/day", m),
                         ("linear clearance only (CL_spec = 0)",
                          m.with_values({"rtx_cl_spec": 0.0}))):
        res = simulate(model, t, doses=doses, options=OPTS)
        ax.plot(t, res.dataset["rtx_conc"].values[0], label=label)
    ax.set_xlabel("days")
    ax.set_ylabel("serum rituximab (mg/L)")
    ax.set_title("Rituximab 375 mg/m2 x 4 every 21 days, BSA 1.9 m2", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(OUT / "cancer-rituximab-pk.png", dpi=110)


def clones() -> None:
    spec = ProductSpec("NKP1", hncd16_nk(), "il2", True)
    model = lymphoma_model([spec])
    s = list(model.state_names)
    t = np.arange(-7.0, 366.0, 1.0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True, sharey=True)
    arms = {"rituximab alone": rituximab_doses(375.0, 1.9, [-5.0]),
            "FT516-like NK + rituximab": rituximab_doses(375.0, 1.9, [-5.0])
            + lymphodepletion_doses(-6.0, 3) + spec.product.doses_for("NKP1", 70.0)}
    for ax, (title, doses) in zip(axes, arms.items(), strict=True):
        for genotype, aff, ls in (("VV", 1.0, "-"), ("FF", 0.3, "--")):
            m = model.with_values({"hadcc_affinity": aff})
            x0 = m.initial_vector()
            b = 94.86e9 / 4.9e6
            x0[s.index("L")], x0[s.index("L20N")], x0[s.index("L19N")] = b * .978, b * .02, \
                b * .002
            x0[s.index("NKH")], x0[s.index("TH")] = 217.0, 800.0
            res = simulate(m, t, initial=x0[None], doses=doses, t_start=-7.0, options=OPTS)
            for state, colour in (("L", "#1f4e79"), ("L20N", "#c2474a")):
                y = res.dataset[state].values[0] * 4.9e6 / 1e9
                ax.semilogy(t, np.maximum(y, 1e-4), color=colour, ls=ls,
                            label=f"{'CD19+CD20+' if state == 'L' else 'CD20-negative'}, "
                                  f"FCGR3A {genotype}")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("days from first infusion")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("tumour volume by clone (mL)")
    axes[1].legend(fontsize=7)
    fig.savefig(OUT / "cancer-lymphoma-clones.png", dpi=110)


def trial() -> None:
    from nksim.config import TrialScenario
    from nksim.report._oncology import km_figure, waterfall_figure
    from nksim.scenario import read_toml, validate
    from nksim.trials import run_trial

    raw = read_toml(Path(__file__).resolve().parents[1]
                    / "src/nksim/data/scenarios/lymphoma_ft516_rituximab.toml")
    result = run_trial(validate(TrialScenario, raw))
    spec = dict(result.setting.oncology)
    waterfall_figure(result, spec).savefig(OUT / "cancer-lymphoma-waterfall.png", dpi=100)
    km_figure(result, spec, "PFS", "pfs_months").savefig(OUT / "cancer-lymphoma-pfs.png",
                                                         dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rituximab_pk()
    clones()
    trial()
