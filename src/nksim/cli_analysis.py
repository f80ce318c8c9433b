"""``nksim sensitivity`` and ``nksim fit``: local sensitivities of a scenario, PEtab fits.

Research use only: not medical advice.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from nksim.errors import UserError

RESEARCH = "Research use only: not medical advice."


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--output", "output", required=True, help="State (or observable) to analyse.")
@click.option("--at", "at", required=True, help="Time, e.g. '30 day' (bare number: model unit).")
@click.option("--parameters", "names", default=None,
              help="Comma-separated parameters (default: every parameter of the model).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for sensitivity.csv, tornado.png and summary.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def sensitivity(scenario_file: Path, output: str, at: str, names: str | None,
                out_dir: Path | None, as_json: bool) -> None:
    """Local sensitivities of OUTPUT at time AT to the model's parameters, from the forward
    sensitivity equations (first patient of the scenario, with its doses): a table of
    d output / d parameter and the relative sensitivity d ln output / d ln parameter, and a
    tornado plot. Research use only: not medical advice."""
    from nksim.analysis import local_sensitivities
    from nksim.scenario import load_scenario, plan_simulation
    from nksim.units import to_magnitude

    if out_dir is not None:
        from nksim._io import check_output_dir

        check_output_dir(out_dir, inputs=(scenario_file,))
    scenario = load_scenario(scenario_file)
    plan = plan_simulation(scenario, scenario_file.parent)
    model = plan.model
    if output not in model.state_names:
        raise UserError(f"not a state of model {model.name} (states: "
                        f"{', '.join(model.state_names)}) (got {output!r})", field="--output")
    try:
        t_at = float(at)
    except ValueError:
        t_at = to_magnitude(at, model.time_unit, field="--at")
    if not plan.t_start < t_at:
        raise UserError(f"must be after the start {plan.t_start:g} (got {at!r})", field="--at")
    params = model.parameter_names if names is None else [n.strip() for n in names.split(",")]
    for p in params:
        model.parameter(p, field=f"--parameters.{p}")
    import dataclasses

    run_model = dataclasses.replace(model, states=tuple(
        dataclasses.replace(s, extinction=None) for s in model.states))
    times = np.array([t_at])
    res, S = local_sensitivities(run_model, times, parameters=list(params),
                                 values=plan.parameters[:1], initial=plan.initial[:1],
                                 doses=list(plan.doses), options=plan.options,
                                 t_start=plan.t_start)
    if res.patients["status"].iloc[0] == "failed":
        raise UserError(f"the simulation failed: {res.patients['message'].iloc[0]}",
                        field="simulation")
    i = model.state_names.index(output)
    y = float(res.dataset[output].values[0, -1])
    values = dict(zip(model.parameter_names, plan.parameters[0], strict=True))
    import pandas as pd

    rows = []
    for j, p in enumerate(params):
        d = float(S[0, -1, i, j])
        par = model.parameter(p)
        rows.append({"parameter": p, "value": values[p], "unit": par.unit,
                     "derivative": d,
                     "relative": d * values[p] / y if y != 0 else float("nan"),
                     "source": par.source.label()})
    table = pd.DataFrame(rows)
    table = table.reindex(table["relative"].abs().sort_values(ascending=False).index)
    summary = {"model": model.name, "output": output, "at": t_at, "time_unit": model.time_unit,
               "value": y, "unit": model.state(output).unit, "patient": "first of the scenario",
               "note": RESEARCH}
    if out_dir is not None:
        from nksim._io import atomic_output_dir, write_text_atomic

        with atomic_output_dir(out_dir) as folder:
            table.to_csv(folder / "sensitivity.csv", index=False)
            _tornado(table, f"{output} at t = {t_at:g} {model.time_unit}", folder / "tornado.png")
            write_text_atomic(folder / "summary.json", json.dumps(summary, indent=2))
    if as_json:
        click.echo(json.dumps({**summary, "sensitivities": table.to_dict("records")}, indent=2))
        return
    click.echo(f"{model.name}: {output} = {y:.6g} {summary['unit']} at t = {t_at:g} "
               f"{model.time_unit}. {RESEARCH}")
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _tornado(table, title: str, path: Path) -> None:
    from nksim.report._plots import pyplot

    plt = pyplot()

    top = table.dropna(subset=["relative"]).head(20).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(top) + 1.5))
    colors = ["#b2182b" if v > 0 else "#2166ac" for v in top["relative"]]
    ax.barh(top["parameter"], top["relative"], color=colors)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("relative sensitivity d ln(output) / d ln(parameter)")
    ax.set_title(f"{title}\n{RESEARCH}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--nominal", is_flag=True,
              help="Only evaluate the log-likelihood at the table's nominal parameters.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--starts", type=int, default=100, show_default=True, help="Multi-start count.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the starts.")
@click.option("--no-profiles", is_flag=True, help="Skip the profile likelihoods.")
@click.option("--profile-steps", type=int, default=30, show_default=True,
              help="Steps across each parameter's bounded range in the profiles (more: "
              "interval ends closer to exact, as they are interpolated between steps).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for best.tsv, starts.csv, waterfall.png, profiles.csv, "
              "profiles.png, summary.json.")
def fit(problem_file: Path, nominal: bool, as_json: bool, starts: int, seed: int,
        no_profiles: bool, profile_steps: int, out_dir: Path | None) -> None:
    """Fit a PEtab problem (YAML): multi-start optimisation with the starts run side by
    side in the batched engine, gradients from forward sensitivities, profile-likelihood
    95 % intervals. Research use only: not medical advice."""
    from nksim._io import missing_file
    from nksim.analysis import read_petab
    from nksim.config._types import MAX_SEED

    if not problem_file.is_file():  # first: the other checks are about the fit of it
        raise UserError(missing_file(problem_file), field="problem")
    if starts < 1:
        raise UserError(f"must be >= 1 (got {starts})", field="--starts")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"must be an integer from 0 to 2^63 - 1 (got {seed})", field="--seed")
    if not 5 <= profile_steps <= 10_000:
        raise UserError(f"must be from 5 to 10000 (got {profile_steps})",
                        field="--profile-steps")
    if nominal:
        from nksim.cli import given_options

        ignored = given_options("out_dir", "starts", "seed", "no_profiles", "profile_steps")
        if ignored:
            raise UserError("is not used with --nominal (which prints the log-likelihood at "
                            "the nominal parameters)", field=ignored[0])
    elif out_dir is None:
        raise UserError("give --out DIR (or --nominal)", field="--out")
    if out_dir is not None and not nominal:
        from nksim._io import check_output_dir

        check_output_dir(out_dir, inputs=(problem_file,))
    problem = read_petab(problem_file)
    if nominal:
        summary = problem.nominal_summary()
        if as_json:
            click.echo(json.dumps(summary))
        else:
            click.echo(f"llh = {summary['llh']:.6f}, chi2 = {summary['chi2']:.6f}, "
                       f"{summary['n_measurements']} measurements. {RESEARCH}")
        return
    from nksim.analysis import multistart, profiles

    result = multistart(problem, starts, seed=seed)
    if not no_profiles and np.isfinite(result.best_nll):
        result = profiles(problem, result, steps=profile_steps)
    summary = {"problem": str(problem_file), "starts": starts, "best_nll": result.best_nll,
               "best": dict(zip(result.parameter_ids, map(float, result.best), strict=True)),
               "seconds": result.seconds, "converged_within_0.1": int(
                   (result.starts["nll"] - result.best_nll < 0.1).sum()),
               "note": RESEARCH}
    from nksim._io import atomic_output_dir, write_text_atomic

    with atomic_output_dir(out_dir) as folder:
        best = problem.full_linear(result.best)[0]
        import pandas as pd

        pd.DataFrame({"parameterId": problem.parameter_ids, "value": best,
                      "estimated": problem.estimated.astype(int)}).to_csv(
            folder / "best.tsv", sep="\t", index=False)
        result.starts.to_csv(folder / "starts.csv", index=False)
        _waterfall(result.starts["nll"].to_numpy(), folder / "waterfall.png")
        if result.intervals is not None:
            result.intervals.to_csv(folder / "intervals.csv")
            pd.concat({k: v for k, v in result.profiles.items()}, names=["parameter"]) \
                .to_csv(folder / "profiles.csv")
            _profiles_plot(result, folder / "profiles.png")
        write_text_atomic(folder / "summary.json", json.dumps(summary, indent=2))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"best objective {result.best_nll:.6g} from {starts} starts "
                   f"({summary['converged_within_0.1']} within 0.1), {result.seconds:.1f} s; "
                   f"written to {out_dir}. {RESEARCH}")


def _waterfall(values: np.ndarray, path: Path) -> None:
    from nksim.report._plots import pyplot

    plt = pyplot()

    v = np.sort(values[np.isfinite(values)])
    fig, ax = plt.subplots(figsize=(6, 4))
    if v.size:
        ax.plot(np.arange(1, v.size + 1), v - v[0] + 1, "o-", ms=3)
        ax.set_yscale("log")
    ax.set_xlabel("start (sorted)")
    ax.set_ylabel("objective - best + 1")
    ax.set_title(f"Waterfall plot\n{RESEARCH}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _profiles_plot(result, path: Path) -> None:
    from nksim.report._plots import pyplot

    plt = pyplot()
    from scipy import stats

    k = len(result.profiles)
    cols = min(4, k)
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.6 * rows), squeeze=False)
    q = stats.chi2.ppf(0.95, 1)
    for ax, (name, frame) in zip(axes.flat, result.profiles.items(), strict=False):
        ax.plot(frame["value"], 2 * (frame["nll"] - result.best_nll), "o-", ms=2)
        ax.axhline(q, color="r", lw=0.8)
        ax.set_title(name, fontsize=8)
        ax.set_ylim(-0.2, 2 * q)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    fig.suptitle(f"Profile likelihoods (2 delta nll; line: 95 %). {RESEARCH}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
