"""The execution part of ``nksim simulate`` and ``nksim trial``: chunks, ``--scheduler``,
``--resume``, progress (``docs/scale.md``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from nksim.errors import STOPPED_EXIT, UserError, cannot_write


def run_simulation_plan(plan, raw: dict[str, Any], out_dir: str, *, fmt: str,
                        progress: bool | None, chunk_size: int | None,
                        scheduler: str | None, resume: bool, execution=None) -> None:
    """Run a :class:`nksim.scenario.SimulationPlan` in chunks into ``out_dir`` and print one
    line of counts. Command-line options win over the scenario's ``[execution]``."""
    from nksim.execution import run_to_folder
    from nksim.report.simulation import run_summary

    field = "--scheduler"
    if scheduler is None and execution is not None and execution.scheduler is not None:
        scheduler, field = execution.scheduler, "execution.scheduler"
    if chunk_size is None and execution is not None:
        chunk_size = execution.chunk_size
    model = plan.model

    def summary(counts, n, run_time, info):
        return run_summary(model, counts, n, run_time, raw, execution=info)

    bar = None
    if progress or (progress is None and sys.stderr.isatty()):
        from tqdm import tqdm

        bar = tqdm(total=len(plan.parameters), unit="patient", delay=2.0, file=sys.stderr,
                   dynamic_ncols=True)

    def on_chunk(chunk, done, total):
        if bar is not None:
            bar.update(chunk.n_patients)

    try:
        with _stopped_by_surroundings(scheduler):
            outcome = run_to_folder(plan.population(), out_dir, fmt=fmt,
                                    chunk_size=chunk_size, scheduler=scheduler,
                                    resume=resume, summary=summary, on_chunk=on_chunk,
                                    scheduler_field=field)
    finally:
        if bar is not None:
            bar.close()
    if outcome.already_complete:
        click.echo(f"{out_dir} is already complete ({outcome.n_patients} patient(s)); "
                   "nothing to resume")
        return
    counts = ", ".join(f"{k} {v}" for k, v in outcome.status_counts.items())
    resumed = _resumed(outcome, ", ")
    click.echo(f"{outcome.n_patients} patient(s): {counts} in {outcome.run_time:.2f} s "
               f"({outcome.chunks} chunk(s){resumed}) -> {out_dir}/timecourse.{fmt}, "
               f"{out_dir}/patients.parquet, {out_dir}/summary.json. "
               "Research use only: not medical advice.")


def setting_file_option(command):
    """The ``--setting-file`` option of the commands that run trial scenarios."""
    return click.option(
        "--setting-file", type=click.Path(path_type=Path), default=None,
        help="A Python file that registers a disease setting of your own "
        "(docs/trials.md); its code runs on this machine.")(command)


def read_trial_scenario(scenario_file: Path, setting_file: Path | None,
                        out_dir: str | None):
    """``(raw, scenario)``: the output folder checked (the scenario and the setting file
    are inputs it must not hold), the user's setting imported, the scenario validated."""
    from nksim._io import check_output_dir
    from nksim.config import TrialScenario, read_toml, validate
    from nksim.scenario import load_setting_file

    if out_dir is not None:
        check_output_dir(out_dir, inputs=(scenario_file, *filter(None, [setting_file])))
    raw = read_toml(scenario_file)
    if setting_file is not None:
        load_setting_file(setting_file)
    return raw, validate(TrialScenario, raw)


def run_trial_scenario(scenario, raw: dict[str, Any], out_dir: str, *, progress: bool | None,
                       chunk_size: int | None, scheduler: str | None, resume: bool,
                       own_setting: bool = False) -> None:
    """Run a validated trial scenario in chunks into ``out_dir`` and print one line per
    arm. Command-line options win over ``[execution]``; the chunk size falls back to
    ``[trial] batch_size``. ``own_setting``: the setting came from ``--setting-file``
    (this machine only: no Dask scheduler)."""
    from nksim.config import fields_of
    from nksim.report.trial import run_trial_to_folder

    execution = scenario.execution
    field = "--scheduler"
    if scheduler is None and execution is not None and execution.scheduler is not None:
        scheduler, field = execution.scheduler, "execution.scheduler"
    if own_setting and scheduler is not None:
        raise UserError("a setting from a file runs on this machine only: run it without "
                        "a Dask scheduler", field="--setting-file")
    if chunk_size is None and execution is not None:
        chunk_size = execution.chunk_size
    if chunk_size is None and not resume:
        chunk_size = scenario.trial.batch_size
    with fields_of({**{name: f"trial.{name}" for name in ("rtol", "atol", "threads")},
                    "chunk_size": "execution.chunk_size"}), \
            _stopped_by_surroundings(scheduler):
        result, outcome = run_trial_to_folder(scenario, out_dir, raw, chunk_size=chunk_size,
                                              scheduler=scheduler, resume=resume,
                                              progress=progress, scheduler_field=field)
    if result is None:
        click.echo(f"{out_dir} is already complete ({outcome.n_patients} simulated "
                   "patient(s)); nothing to resume")
        return
    # the setting's primary endpoint (DORIS at 6 months in lupus), and CRS if it has it
    shown_endpoints = list(dict.fromkeys((result.primary_endpoint(), "crs_any_rate")))
    for arm in result.arms:
        ep = arm.summary["endpoints"]
        counts = "  ".join(f"{name} {ep[name].get('k')}/{ep[name].get('n')}"
                           for name in shown_endpoints if name in ep)
        click.echo(f"{arm.name:10s} n={arm.summary['n']:3d}  {counts}".rstrip())
    for note in result.notes:
        click.echo(f"note: {note}")
    resumed = _resumed(outcome, "; ")
    click.echo(f"{outcome.chunks} chunk(s){resumed}. wrote {out_dir}/summary.json, "
               f"{out_dir}/report.html and {out_dir}/timecourse.parquet/. "
               "Research use only: not medical advice.")


def _resumed(outcome, sep: str) -> str:
    """How much of a run was resumed (and recomputed: damaged part files), or ""."""
    if not outcome.chunks_resumed and not outcome.chunks_recomputed:
        return ""
    text = f"{sep}{outcome.chunks_resumed} of {outcome.chunks} chunks resumed"
    if outcome.chunks_recomputed:
        text += f", {outcome.chunks_recomputed} damaged and recomputed"
    return text


@contextlib.contextmanager
def _stopped_by_surroundings(scheduler: str | None) -> Iterator[None]:
    """A run stopped by its surroundings (a full or read-only disk, a Dask cluster lost)
    is one line on stderr and exit status :data:`STOPPED_EXIT`, without a traceback: the
    chunks written so far are kept and ``--resume`` continues. Anything else (a bug)
    keeps its traceback."""
    import logging

    # The Dask client logs a lost scheduler with tracebacks (its reconnection attempts)
    # before the run sees it fail: the run's one line says it.
    quiet = [logging.getLogger(name) for name in ("distributed.client", "distributed.batched")
             if scheduler is not None]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    except Exception as exc:
        what = _what_failed(exc, scheduler)
        if what is None:
            raise
        click.echo(f"nksim: error: {what}; the chunks written so far are kept: run the same "
                   "command with --resume to continue", err=True)
        click.get_current_context().exit(STOPPED_EXIT)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _what_failed(exc: BaseException, scheduler: str | None) -> str | None:
    """What failed, in a few words, when ``exc`` comes from the surroundings; ``None``
    otherwise."""
    written = cannot_write(exc)
    if written is not None:
        return written
    package = (type(exc).__module__ or "").split(".")[0]
    if scheduler is not None and (package in ("distributed", "tornado") or
                                  type(exc).__name__ == "CancelledError"):
        text = " ".join(str(exc).split())[:160]
        return (f"the Dask cluster at {scheduler} failed ({type(exc).__name__}"
                f"{': ' + text if text else ''})")
    return None
