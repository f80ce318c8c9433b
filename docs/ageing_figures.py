"""Figures of docs/ageing.md that are not scenario reports: turnover half-life by age.

Run: ``python docs/ageing_figures.py`` (a few minutes on 2 cores); writes
``docs/figures/ageing_turnover.png`` and prints the half-lives.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nksim.disease.ageing import turnover_half_life  # noqa: E402

AGES_YEARS = (0.25, 0.5, 1.0, 1.5, 1.8, 2.0)


def main() -> None:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for ps in ("karin2019_mouse", "raz2026_mice_F", "raz2026_mice_M"):
        h = [turnover_half_life(ps, a * 365.0, n=800, seed=1) for a in AGES_YEARS]
        print(ps, [f"{a} y: {x:.1f} d" for a, x in zip(AGES_YEARS, h, strict=True)],
              flush=True)
        ax.semilogy(AGES_YEARS, h, marker="o", label=ps)
    ax.axhline(7, color="grey", lw=0.5, ls=":")
    ax.set(xlabel="age at the pulse (years)", ylabel="half-life of the pulse (days)",
           title="Senescent-cell turnover slows with age")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(__file__).parent / "figures" / "ageing_turnover.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
