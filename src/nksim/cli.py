"""The ``nksim`` command line: a thin layer over the library.

Every user error (:class:`nksim.errors.UserError`) becomes one line on stderr and
exit status 2; nothing else is printed and no output is left half-written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from nksim.errors import UserError

USER_ERROR_EXIT = 2


class _Group(click.Group):
    """A click group that turns :class:`UserError` into one line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"nksim: error: {exc}", err=True)
            ctx.exit(USER_ERROR_EXIT)


@click.group(cls=_Group)
@click.version_option(package_name="nksim")
def cli() -> None:
    """nksim: an in-silico laboratory for NK-cell therapy. Research use only: not medical advice."""


@cli.command()
@click.option("--show", "show", metavar="NAME", help="Print one model: states, parameters "
              "with units and sources, and equations.")
@click.option("--set", "parameter_set", metavar="SET", help="Parameter set to show.")
def models(show: str | None, parameter_set: str | None) -> None:
    """List the published models, or show one of them."""
    from nksim.library import get_model, model_names
    from nksim.model import render_markdown

    if show:
        click.echo(render_markdown(get_model(show, parameter_set)))
        return
    for name in model_names():
        model = get_model(name)
        sets = ", ".join(model.parameter_sets) or "-"
        click.echo(f"{name:14s} {model.title}\n{'':14s} parameter sets: {sets}")


@cli.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output folder (created; files appear only if the run succeeds).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True, help="Format of the time course table.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal, for runs longer than ~2 s).")
def simulate(scenario_file: Path, out_dir: Path, fmt: str, progress: bool | None) -> None:
    """Simulate a scenario file; write timecourse.csv|parquet and summary.json."""
    from nksim._io import atomic_output_dir
    from nksim.report.simulation import write_simulation_outputs
    from nksim.scenario import Scenario, plan_simulation, read_toml, validate

    raw = read_toml(scenario_file)
    plan = plan_simulation(validate(Scenario, raw), base_dir=scenario_file.parent)
    result = plan.run(progress=progress)
    with atomic_output_dir(out_dir) as staging:
        write_simulation_outputs(result, staging, fmt, raw)
    counts = ", ".join(f"{k} {v}" for k, v in result.status_counts.items())
    click.echo(f"{len(result.patients)} patient(s): {counts} in {result.run_time:.2f} s -> "
               f"{out_dir}/timecourse.{fmt}, {out_dir}/summary.json")


@cli.command()
@click.option("--out", "out_dir", default="nksim-demo", show_default=True,
              type=click.Path(path_type=Path), help="Output folder.")
def demo(out_dir: Path) -> None:
    """Run the bundled demo (de Pillis 2006 patient 9: untreated, chemotherapy,
    chemotherapy + IL-2 + TIL) and write a PNG plot and an HTML summary."""
    from nksim._io import atomic_output_dir
    from nksim.report.demo import run_demo, write_demo

    start = time.perf_counter()
    arms = run_demo()
    with atomic_output_dir(out_dir) as staging:
        write_demo(arms, staging)
    for arm in arms:
        T = arm.result.dataset["T"].values[0, -1]
        cleared = arm.result.patients["extinction_time_T"].iloc[0]
        fate = (f"cleared on day {cleared:.1f}" if cleared == cleared
                else f"{T:.3g} cells at the end")
        click.echo(f"{arm.name:28s} tumour {fate}")
    click.echo(f"wrote {out_dir}/demo.html and {out_dir}/demo.png in "
               f"{time.perf_counter() - start:.1f} s. Research use only: not medical advice.")


@cli.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output folder (created; files appear only if the run succeeds).")
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
def trial(scenario_file: Path, out_dir: Path, progress: bool | None) -> None:
    """Run a virtual trial; write summary.json, report.html, screening_log.csv,
    patients.csv and timecourse.parquet."""
    from nksim._io import atomic_output_dir
    from nksim.report.trial import write_trial_outputs
    from nksim.scenario import read_toml, validate
    from nksim.trials import TrialScenario, run_trial

    raw = read_toml(scenario_file)
    result = run_trial(validate(TrialScenario, raw), progress=progress)
    with atomic_output_dir(out_dir) as staging:
        write_trial_outputs(result, staging, raw)
    for arm in result.arms:
        ep = arm.summary["endpoints"]
        doris = ep.get("doris_remission_6m_rate", {})
        crs = ep.get("crs_any_rate", {})
        click.echo(f"{arm.name:10s} n={arm.summary['n']:3d}  DORIS 6 months "
                   f"{doris.get('k')}/{doris.get('n')}  CRS any {crs.get('k')}/{crs.get('n')}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {out_dir}/summary.json and {out_dir}/report.html. "
               "Research use only: not medical advice.")


@cli.command("export-sbml")
@click.argument("name")
@click.option("--set", "parameter_set", metavar="SET", help="Parameter set.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default: stdout).")
def export_sbml(name: str, parameter_set: str | None, output: Path | None) -> None:
    """Write a library model as SBML Level 3 Version 2."""
    from nksim._io import write_text_atomic
    from nksim.library import get_model
    from nksim.model import to_sbml

    text = to_sbml(get_model(name, parameter_set))
    if output is None:
        click.echo(text)
    else:
        write_text_atomic(output, text)


def _register_commands() -> None:
    from nksim.cli_evidence import check_claim, landscape

    cli.add_command(landscape)
    cli.add_command(check_claim)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="nksim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
