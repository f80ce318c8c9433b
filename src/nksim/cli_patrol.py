"""``nksim patrol``: circuits a day of a circulating NK cell, and the T1 reinfusion scenario.

Research use only: not medical advice.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from nksim.errors import UserError


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--samples", type=int, default=4000, show_default=True,
              help="Monte Carlo samples over the parameter ranges (100-1000000).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (>= 0).")
@click.option("--reinfusion", is_flag=True,
              help="Run the article's T1 scenario instead: five infusions of ~5e9 "
              "autologous NK cells in a healthy adult.")
@click.option("--scenario", "scenario_file", type=click.Path(path_type=Path),
              help="--reinfusion: TOML file with a [reinfusion] table "
              "(scenarios/nk_autologous_reinfusion.toml); options below override it.")
@click.option("--dose", type=float, help="--reinfusion: NK cells per infusion [5e9].")
@click.option("--infusions", type=int, help="--reinfusion: number of infusions [5].")
@click.option("--interval", "interval_days", type=float,
              help="--reinfusion: days between infusions [7; assumption, range 7-28].")
@click.option("--purity", type=float, help="--reinfusion: NK purity, (0-1] [0.95].")
@click.option("--loss", "inf_death", type=float,
              help="--reinfusion: loss rate of infused cells, 1/day [0.069, Zhang 2007 "
              "endogenous; faster if cells die after IL-2 withdrawal].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="--reinfusion: folder for timecourse.csv, summary.json, reinfusion.png.")
def patrol(as_json: bool, samples: int, seed: int, reinfusion: bool,
           scenario_file: Path | None, dose: float | None, infusions: int | None,
           interval_days: float | None, purity: float | None, inf_death: float | None,
           out_dir: Path | None) -> None:
    """How often does an NK cell patrol the body? Checks the article's "about 240
    circuits a day" against cardiac output, blood volume and organ dwell times.
    With --reinfusion: the article's T1 scenario. Research use only: not medical advice."""
    overrides = {"dose_cells": dose, "infusions": infusions, "interval_days": interval_days,
                 "purity": purity, "inf_death": inf_death}
    if reinfusion:
        from nksim.cli import given_options

        ignored = given_options("samples", "seed")
        if ignored:
            raise UserError("is not used with --reinfusion (a deterministic simulation)",
                            field=ignored[0])
        _reinfusion(as_json, scenario_file,
                    {k: v for k, v in overrides.items() if v is not None}, out_dir)
        return
    used = [_OPTION.get(k, f"--{k}") for k, v in
            {**overrides, "out": out_dir, "scenario": scenario_file}.items() if v is not None]
    if used:
        raise UserError("is only used with --reinfusion", field=used[0])
    from nksim.biology import patrol_answer

    answer = patrol_answer(samples, seed)
    if as_json:
        _emit(answer.to_json())
        return
    click.echo(f"circuits a day of a circulating NK cell: {answer.circuits_per_day:.0f} "
               f"(95 % range {answer.low:.0f}-{answer.high:.0f}; {answer.samples} samples, "
               f"seed {answer.seed})")
    click.echo(f"counting flowing blood only (cardiac output / blood volume): "
               f"{answer.naive:.0f} (range {answer.naive_low:.0f}-{answer.naive_high:.0f})")
    click.echo(f"article's claim: 240 -> {answer.verdict}")
    click.echo(answer.explanation)


#: The command-line option of each reinfusion setting.
_OPTION = {"dose_cells": "--dose", "infusions": "--infusions", "interval_days": "--interval",
           "purity": "--purity", "inf_death": "--loss"}


def _reinfusion(as_json: bool, scenario_file: Path | None, overrides: dict,
                out_dir: Path | None) -> None:
    from nksim.biology import ReinfusionSpec, run_reinfusion
    from nksim.biology._patrol_reinfusion import spec_from_mapping
    from nksim.therapy import autologous_nk

    if out_dir is not None:  # before any computation
        from nksim._io import check_output_dir

        check_output_dir(out_dir, inputs=(scenario_file,))
    product = autologous_nk()  # the catalogue's T1 product: one place for its defaults
    base = ReinfusionSpec(dose_cells=product.flat_dose, purity=product.purity,
                          viability=product.viability, infusions=product.infusions,
                          interval_days=product.interval_days,
                          inf_death=product.kinetics()["delta"])
    if scenario_file is not None:
        from nksim.config import read_toml

        raw = read_toml(scenario_file)
        unknown = set(raw) - {"reinfusion"}
        if unknown or "reinfusion" not in raw:
            raise UserError(f"needs exactly one [reinfusion] table (got {sorted(raw)})",
                            field="scenario")
        base = spec_from_mapping(raw["reinfusion"], base)
    try:
        spec = spec_from_mapping(overrides, base)
    except UserError as exc:  # name the option given, not the scenario field it sets
        key = (exc.field or "").rpartition(".")[2]
        if key not in overrides:
            raise
        raise UserError(exc.message, field=_OPTION[key]) from None
    dose, infusions, purity = spec.dose_cells, spec.infusions, spec.purity
    interval_days = spec.interval_days
    result = run_reinfusion(spec)
    s = result.summary
    if out_dir is not None:
        from nksim._io import atomic_output_dir

        with atomic_output_dir(out_dir) as staging:
            result.table.to_csv(Path(staging) / "timecourse.csv", index=False)
            (Path(staging) / "summary.json").write_text(json.dumps(s, indent=2))
            _plot(result, Path(staging) / "reinfusion.png")
    if as_json:
        _emit(s)
        return
    click.echo(f"{infusions} infusion(s) of {dose:.3g} NK cells (purity {purity:g}), every "
               f"{interval_days:g} d: {s['regimen']['viable_nk_per_infusion']:.3g} viable "
               f"NK cells each = {s['dose_vs_body_pool']:.2f} x the body's own NK pool")
    click.echo(f"blood NK: baseline {s['baseline_blood_nk_per_ul']}/uL, peak "
               f"{s['peak_blood_nk_per_ul']}/uL on day {s['peak_day']}; infused cells at most "
               f"{100 * s['max_infused_share_blood']:.0f} % of blood NK cells")
    click.echo(f"blood NK lytic capacity at most {s['max_lytic_capacity_rel']} x baseline; "
               f"rise visible (> {100 * s['visible_rise_threshold']:.0f} % over baseline) "
               f"until {s['rise_lasts_days_after_last_infusion']} d after the last infusion "
               f"(infused-cell half-life {s['infused_half_life_days']} d; range "
               f"{s['rise_lasts_days_range'][0]}-{s['rise_lasts_days_range'][1]} d over "
               "Zhang 2007's turnover mean +/- SD)")
    click.echo(s["feeling_better"])
    if out_dir is not None:
        click.echo(f"wrote {out_dir}/timecourse.csv, summary.json and reinfusion.png")


def _plot(result, path: Path) -> None:
    from nksim.report._plots import pyplot

    plt = pyplot()

    t = result.table
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(t["time_day"], t["blood_nk_per_ul"], label="all NK")
    axes[0].plot(t["time_day"], t["endogenous_per_ul"], "--", label="own (endogenous)")
    axes[0].set(xlabel="day", ylabel="blood NK (cells/uL)", title="circulating NK")
    axes[0].legend(fontsize=8)
    axes[1].plot(t["time_day"], 100 * t["infused_share_blood"], label="of blood NK")
    axes[1].plot(t["time_day"], 100 * t["infused_share_body"], label="of body NK")
    axes[1].set(xlabel="day", ylabel="infused share (%)", title="share of infused cells")
    axes[1].legend(fontsize=8)
    axes[2].plot(t["time_day"], t["lytic_capacity_rel"])
    axes[2].set(xlabel="day", ylabel="x baseline", title="blood NK lytic capacity")
    fig.suptitle("Autologous NK reinfusion (article T1) - research use only", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
