"""``nksim power`` (power by repeated virtual trials), ``nksim simon`` (two-stage designs)
and ``nksim n-of-1`` (one virtual patient across replicates): the statistics of evidence
(issue 11 §3; docs/evidence-statistics.md). Research use only."""

from __future__ import annotations

import math
from pathlib import Path

import click

from nksim.cli_execution import setting_file_option
from nksim.errors import UserError

RESEARCH_USE = "Research use only: virtual patients, not medical advice."


def _sizes(text: str) -> list[int]:
    try:
        ns = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"give comma-separated integers, e.g. 20,40,80 (got {text!r})",
                        field="n") from None
    if not ns or any(n < 2 or n > 10_000 for n in ns):
        raise UserError(f"give sample sizes from 2 to 10000 per arm (got {text!r})",
                        field="n")
    return ns


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(path_type=Path))
@click.option("--n", "sizes", default="20,40,80", show_default=True,
              help="Patients per arm, comma-separated.")
@click.option("--replicates", default=10, show_default=True, type=int,
              help="Virtual trials per sample size (few: the power's CI says how few).")
@click.option("--seed", type=int, default=None, help="First trial seed (default: the "
              "scenario's); replicate i uses seed + i.")
@click.option("--endpoint", default=None, help="Endpoint tested (default: the setting's "
              "primary).")
@click.option("--alpha", default=0.05, show_default=True, type=float,
              help="Two-sided level (Fisher exact, exact McNemar when paired, log-rank, "
              "stratified log-rank when paired; one-sided binomial vs --p0 for a single arm).")
@click.option("--p0", default=None, type=float, help="Null response rate (single arm).")
@click.option("--out", "out_dir", default=None, help="Folder for power.json and power.png.")
@setting_file_option
def power(scenario_file: Path, sizes: str, replicates: int, seed: int | None,
          endpoint: str | None, alpha: float, p0: float | None, out_dir: str | None,
          setting_file: Path | None) -> None:
    """Power of a trial scenario's primary endpoint at several sample sizes, by repeated
    virtual trials (seeded), with exact binomial 95 % CIs."""
    from nksim._io import atomic_output_dir
    from nksim.cli_execution import read_trial_scenario
    from nksim.config import TrialScenario, validate
    from nksim.config._types import MAX_SEED
    from nksim.trials._power import power_by_simulation, power_test

    ns = _sizes(sizes)
    raw, scenario = read_trial_scenario(scenario_file, setting_file, out_dir)
    from nksim.trials._setting import get_setting
    from nksim.trials._trial import _endpoints

    setting = get_setting(scenario.trial.setting)
    kinds = {e.name: e.kind for e in _endpoints(setting)}
    known = list(kinds)
    named = endpoint is not None
    endpoint = endpoint if named else setting.primary()
    if named:
        if endpoint not in known:
            raise UserError(f"unknown endpoint (known: {', '.join(known)}; got "
                            f"{endpoint!r})", field="endpoint")
    names = [a.name for a in scenario.arms]
    test = power_test(kinds[endpoint], len(names), scenario.trial.design == "paired")
    if p0 is not None and len(names) > 1:
        raise UserError(f"is only used with one arm (a single-arm test against p0); this "
                        f"scenario has {len(names)} arms, whose first two are compared",
                        field="--p0")
    if not 1 <= replicates <= 10_000:  # before the seeds, which depend on it
        raise UserError(f"must be an integer from 1 to 10000 (got {replicates})",
                        field="--replicates")
    first = scenario.trial.seed if seed is None else seed
    if not 0 <= first <= MAX_SEED + 1 - max(replicates, 1):  # replicate i uses first + i
        raise UserError(f"must be >= 0 and, with the replicates' seeds seed + i, below 2^63 "
                        f"(got {first})", field="--seed" if seed is not None else "trial.seed")
    from nksim.trials import run_trial

    points = power_by_simulation(
        raw, ns, run=lambda r: run_trial(validate(TrialScenario, r), progress=False),
        replicates=replicates, seed=first, endpoint=endpoint, alpha=alpha, p0=p0)
    compared = names[:2]
    primary = "" if named else " (the setting's primary; --endpoint names another)"
    sides = "two-sided" if len(names) > 1 else "one-sided"
    click.echo(f"endpoint: {endpoint}{primary}; test: {test}, {sides} alpha {alpha:g}")
    if len(names) > 1:
        rest = f" (the first two of {len(names)} arms)" if len(names) > 2 else ""
        click.echo(f"arms compared: {' vs '.join(compared)}{rest}")
    click.echo(f"{'n/arm':>6} {'power':>6}  95 % CI        rejections  mean estimate(s)")
    for p in points:
        est = f"{p.mean_estimate_a:.3g}" + ("" if math.isnan(p.mean_estimate_b)
                                            else f" vs {p.mean_estimate_b:.3g}")
        click.echo(f"{p.n:>6d} {p.power:>6.2f}  {p.ci_low:.2f}-{p.ci_high:.2f}   "
                   f"{p.rejections:>3d}/{p.replicates:<3d}      {est}")
    if out_dir:
        doc = {"scenario": str(scenario_file), "endpoint": endpoint, "test": test,
               "alpha": alpha,
               "arms_compared": compared, "p0": p0, "first_seed": first,
               "research_use_only": RESEARCH_USE,
               "points": [p.__dict__ for p in points]}
        with atomic_output_dir(out_dir) as staging:
            from nksim.report._common import to_json

            (staging / "power.json").write_text(to_json(doc))
            _power_figure(points, staging / "power.png")
        click.echo(f"wrote {out_dir}/power.json and power.png")
    click.echo(RESEARCH_USE)


def _power_figure(points, path: Path) -> None:
    from nksim.report._plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.5), constrained_layout=True)
    n = [p.n for p in points]
    pw = [p.power for p in points]
    ax.errorbar(n, pw, yerr=[[p.power - p.ci_low for p in points],
                             [p.ci_high - p.power for p in points]], fmt="o-", capsize=3)
    ax.axhline(0.8, color="#999", ls=":", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("patients per arm")
    ax.set_ylabel("power (95 % CI, Clopper-Pearson)")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


@click.command()
@click.option("--p0", required=True, type=float, help="Response rate of no interest.")
@click.option("--p1", required=True, type=float, help="Response rate of interest.")
@click.option("--alpha", default=0.05, show_default=True, type=float)
@click.option("--beta", default=0.2, show_default=True, type=float)
def simon(p0: float, p1: float, alpha: float, beta: float) -> None:
    """Simon's optimal and minimax two-stage single-arm designs (exact search)."""
    from nksim.trials._power import simon_two_stage

    for design in ("optimal", "minimax"):
        d = simon_two_stage(p0, p1, alpha, beta, design=design)
        click.echo(f"{design:8s} stage 1: stop if <= {d.r1}/{d.n1} respond; total n {d.n}: "
                   f"inactive if <= {d.r}/{d.n}; EN(p0) {d.en0:.1f}, PET(p0) {d.pet0:.2f}, "
                   f"alpha {d.alpha:.3f}, power {d.power:.3f}")
    click.echo(RESEARCH_USE)


@click.command("n-of-1")
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(path_type=Path))
@click.option("--arm", default=None, help="Arm (default: the first).")
@click.option("--patient", default=0, show_default=True, type=int,
              help="Index of the eligible patient.")
@click.option("--replicates", default=200, show_default=True, type=int)
@click.option("--inactive", is_flag=True, help="Make the product inactive (its cells kill "
              "nothing) and the tumour stable: every 'response' is then noise.")
@click.option("--out", "out_dir", default=None, help="Folder for n_of_1.json and "
              "n_of_1.png.")
@setting_file_option
def n_of_1(scenario_file: Path, arm: str | None, patient: int, replicates: int,
           inactive: bool, out_dir: str | None, setting_file: Path | None) -> None:
    """One virtual patient, the same treatment, many replicates: how much of one course is
    chance (measurement error, stochastic events)."""
    from nksim._io import atomic_output_dir
    from nksim.cli_execution import read_trial_scenario
    from nksim.trials._n_of_1 import n_of_1_figure, run_n_of_1

    raw, scenario = read_trial_scenario(scenario_file, setting_file, out_dir or None)
    res = run_n_of_1(scenario, arm=arm, patient=patient, replicates=replicates,
                     inactive=inactive)
    for line in res.lines():
        click.echo(line)
    if out_dir:
        with atomic_output_dir(out_dir) as staging:
            from nksim.report._common import to_json

            (staging / "n_of_1.json").write_text(to_json(res.summary()))
            n_of_1_figure(res, staging / "n_of_1.png")
        click.echo(f"wrote {out_dir}/n_of_1.json and n_of_1.png")
    click.echo(RESEARCH_USE)
