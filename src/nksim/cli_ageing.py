"""``nksim ageing SCENARIO.toml --out DIR``: stochastic senescence/lifespan cohorts (issue 12)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True,
              help="Output folder (replaced as a whole; files appear only if the run "
              "succeeds): summary.json, report.html, report.png (survival), lifespans.csv.")
def ageing(scenario_file: Path, out_dir: str) -> None:
    """Run an ageing cohort scenario (SR model of senescent cells; docs/ageing.md)."""
    from nksim._io import atomic_output_dir, check_output_dir
    from nksim.disease.ageing._run import RESEARCH_USE, run_scenario
    from nksim.disease.ageing._scenario import load_scenario

    check_output_dir(out_dir, inputs=(scenario_file,))
    scenario = load_scenario(scenario_file)
    run = run_scenario(scenario, progress=lambda m: click.echo(m, err=True))
    from nksim.report.ageing import write_ageing_outputs  # the CLI glues model and report

    with atomic_output_dir(out_dir) as staging:
        write_ageing_outputs(staging, scenario, run)
    s = run["summary"]
    for name, arm in s["arms"].items():
        human = arm["species"] == "human"
        key = "lifespan_median_years" if human else "lifespan_median_days"
        e = arm["endpoints"][key]
        gain = arm["endpoints"].get("lifespan_gain_pct")
        extra = "" if gain is None or gain["value"] is None else (
            f"; gain {gain['value']:+.1f} % ({gain['ci_low']:+.1f} to {gain['ci_high']:+.1f})")
        val = "not reached" if e["value"] is None else (
            f"{e['value']:.4g} ({e['ci_low']:.4g} to {e['ci_high']:.4g})")
        click.echo(f"{name}: n {arm['n']}, median lifespan {val} "
                   f"{'years' if human else 'days'}{extra}")
    click.echo(f"{RESEARCH_USE}\n-> {out_dir}/summary.json, report.html, report.png, "
               f"lifespans.csv ({s['run_seconds']} s)")
