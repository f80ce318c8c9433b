"""The ``nksim`` command line: a thin layer over the library.

Every user error (:class:`nksim.errors.UserError`) becomes one line on stderr and
exit status 2; nothing else is printed and no output is left half-written.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import click

from nksim.cli_execution import setting_file_option
from nksim.errors import STOPPED_EXIT, UserError, cannot_write

USER_ERROR_EXIT = 2


MAX_ERROR_CHARS = 400


def one_line(message: str) -> str:
    """An error message as one line of at most :data:`MAX_ERROR_CHARS` characters (a long
    value, or a file's content, is never echoed in full)."""
    text = " ".join(message.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


#: Commands imported on first use: name -> "module:attribute".
_LAZY: dict[str, str] = {}


def given_options(*names: str) -> list[str]:
    """Of the current command's parameters ``names``, those the user gave on the command
    line, as typed (``--samples``)."""
    ctx = click.get_current_context()
    params = {p.name: p for p in ctx.command.params}
    return [max(params[n].opts, key=len) for n in names
            if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]


def lazy_command(name: str, target: str) -> None:
    """Register the command ``name``, defined as ``target`` (``"module:attribute"``), to be
    imported only when it is invoked or listed."""
    _LAZY[name] = target


def _lazy_docstring(name: str) -> str | None:
    """The docstring of a lazy command's function, read from its source without importing
    it (``None`` if it is not a plain ``def`` there)."""
    import ast

    if name not in _LAZY:
        return None
    module, attribute = _LAZY[name].split(":")
    file = Path(__file__).resolve().parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            makers = [d for d in node.decorator_list if isinstance(d, ast.Call) and
                      getattr(d.func, "attr", getattr(d.func, "id", "")) in ("command", "group")]
            if not makers or any(k.arg in ("help", "short_help", "hidden", "cls")
                                 for d in makers for k in d.keywords):
                return None  # not a plain command: import it
            return ast.get_docstring(node)
    return None


class OneLineGroup(click.Group):
    """A click group that turns :class:`UserError` and click's usage errors into one line
    and exit status 2 (nested groups, such as ``nksim landscape``, use it too, so that an
    error names their sub-command)."""

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except _NO_ARGS_IS_HELP:
            raise  # a bare group shows its help (click >= 8.2 raises it as a usage error)
        except click.UsageError as exc:
            raise _OneLineUsageError.of(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"nksim: error: {one_line(str(exc))}", err=True)
            ctx.exit(USER_ERROR_EXIT)
        except _NO_ARGS_IS_HELP:
            raise
        except click.UsageError as exc:  # a sub-command's bad option or argument
            sub = ctx.invoked_subcommand  # named here when click's error has no context
            raise _OneLineUsageError.of(
                exc, f"{ctx.command_path} {sub}" if sub else None) from None
        except OSError as exc:  # a full disk, a read-only file system ... (standard output too)
            what = cannot_write(exc)
            if what is None:
                raise
            _discard_standard_output()  # Python's flush at exit would fail the same way
            click.echo(f"nksim: error: {what}", err=True)
            ctx.exit(STOPPED_EXIT)


def _discard_standard_output() -> None:
    """Point standard output at the null device (what Python's documentation advises
    after a write to it failed), so that nothing more is written or flushed to it."""
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's captured output)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, target)
    os.close(null)


class _Group(OneLineGroup):
    """nksim's top-level group: :class:`OneLineGroup` that imports commands defined
    elsewhere only when they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_LAZY))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, without importing lazy commands: their short help
        is read from the docstring in their source."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            doc = _lazy_docstring(name) if command is None else None
            if doc is not None:
                rows.append((name, click.Command(name, help=doc).get_short_help_str(limit)))
                continue
            try:
                command = command or self.get_command(ctx, name)
            except ImportError:  # a command whose module is missing: not listed
                continue
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in _LAZY:
            import importlib

            module, attribute = _LAZY[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, name)
        return command


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _OneLineUsageError(click.UsageError):
    """click's usage error (bad option value, missing argument...) shown as one line, as
    nksim's own errors are, instead of click's usage, hint and error lines."""

    path: str | None = None  # the command, when click's error has no context

    @classmethod
    def of(cls, exc: click.UsageError, path: str | None = None) -> click.UsageError:
        if isinstance(exc, cls):
            return exc
        new = cls(exc.format_message(), exc.ctx)
        new.exit_code = exc.exit_code
        new.path = path
        return new

    def show(self, file=None) -> None:
        path = self.ctx.command_path if self.ctx is not None else (self.path or "nksim")
        click.echo(f"{path}: error: {one_line(self.format_message())} "
                   f"(see '{path} --help')", err=True)


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
    if parameter_set is not None and not show:
        raise UserError("is only used with --show NAME", field="--set")
    if show:
        from nksim.library import get_model
        from nksim.model import render_markdown

        click.echo(render_markdown(get_model(show, parameter_set)))
        return
    for name, title, sets in model_catalog():
        click.echo(f"{name:14s} {title}\n{'':14s} parameter sets: {', '.join(sets) or '-'}")


def model_catalog() -> list[tuple[str, str, tuple[str, ...]]]:
    """``(name, title, parameter sets)`` of every library model, read from the source of
    the registry and the model declarations without importing them (building a model does
    symbolic work; listing must be instant). A declaration that cannot be read this way is
    built instead. Kept equal to the built models by ``tests/test_cli_simulate.py``."""
    import ast

    root = Path(__file__).resolve().parent
    tree = ast.parse((root / "library" / "__init__.py").read_text(encoding="utf-8"))
    modules = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                   if isinstance(n, ast.Assign | ast.AnnAssign)
                   and getattr(n.targets[0] if isinstance(n, ast.Assign) else n.target,
                               "id", None) == "_MODULES")
    out = []
    for name in sorted(modules):
        file = root.joinpath(*modules[name].split(".")[1:]).with_suffix(".py")
        title, sets = None, ()
        try:
            decl = ast.parse(file.read_text(encoding="utf-8"))
            for node in ast.walk(decl):
                if isinstance(node, ast.keyword) and node.arg == "title" and \
                        isinstance(node.value, ast.Constant) and title is None:
                    title = node.value.value
                elif isinstance(node, ast.keyword) and node.arg == "parameter_sets" and \
                        isinstance(node.value, ast.Dict):
                    sets = tuple(ast.literal_eval(k) for k in node.value.keys)
        except (OSError, SyntaxError, ValueError):
            title = None
        if not isinstance(title, str):  # not a plain declaration: build it
            from nksim.library import get_model

            model = get_model(name)
            title, sets = model.title, tuple(model.parameter_sets)
        out.append((name, title, sets))
    return out


def _out_option(**kwargs):
    return click.option("--out", "out_dir", type=click.Path(path_type=str), **kwargs)


@cli.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(path_type=Path))
@_out_option(required=True, help="Output folder (replaced as a whole; files appear only if "
             "the run succeeds).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True, help="Format of the time course table.")
@click.option("--parameters-file", type=click.Path(path_type=Path),
              help="Patients' parameters (CSV/Parquet), instead of [population] "
              "parameters_file; may lie outside the scenario's folder.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal, for runs longer than ~2 s).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Patients per chunk (default: [execution] chunk_size, else about 100 MB "
              "of records per chunk). Each chunk is written as soon as it is done.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Run the chunks on this Dask scheduler (default: [execution] scheduler, "
              "else this machine). Results are identical.")
@click.option("--resume", is_flag=True, help="Continue a killed run into the same --out "
              "from the chunks it had written.")
def simulate(scenario_file: Path, out_dir: str, fmt: str, parameters_file: Path | None,
             progress: bool | None, chunk_size: int | None, scheduler: str | None,
             resume: bool) -> None:
    """Simulate a scenario file; write timecourse.csv|parquet, patients.parquet and
    summary.json."""
    from nksim._io import check_output_dir
    from nksim.scenario import Scenario, plan_simulation, read_toml, validate

    check_output_dir(out_dir, inputs=(scenario_file, parameters_file))
    raw = read_toml(scenario_file)
    scenario = validate(Scenario, raw)
    plan = plan_simulation(scenario, base_dir=scenario_file.parent,
                           parameters_file=parameters_file)
    from nksim.cli_execution import run_simulation_plan
    from nksim.config import fields_of
    from nksim.scenario import SOLVER_FIELDS

    with fields_of({**SOLVER_FIELDS, "chunk_size": "execution.chunk_size"}):
        run_simulation_plan(plan, raw, out_dir, fmt=fmt, progress=progress,
                            chunk_size=chunk_size, scheduler=scheduler, resume=resume,
                            execution=scenario.execution)


@cli.command()
@click.argument("kind", type=click.Choice(["simulate", "trial"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a scenario file (for editors that validate TOML)."""
    import json

    from nksim.config import json_schema

    click.echo(json.dumps(json_schema(kind), indent=2, ensure_ascii=False))


@cli.command()
@_out_option(default="nksim-demo", show_default=True, help="Output folder.")
def demo(out_dir: str) -> None:
    """Run the bundled demo (de Pillis 2006 patient 9: untreated, chemotherapy,
    chemotherapy + IL-2 + TIL) and write a PNG plot and an HTML summary."""
    from nksim._io import atomic_output_dir, check_output_dir
    from nksim.report.demo import run_demo, write_demo

    check_output_dir(out_dir)
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
@_out_option(required=True, help="Output folder (replaced as a whole; files appear only if "
             "the run succeeds).")
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Patients per chunk (default: [execution] chunk_size, else [trial] "
              "batch_size, else about 100 MB of records per chunk). Each chunk's time "
              "course is written as soon as it is done.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Run the chunks on this Dask scheduler (default: [execution] scheduler, "
              "else this machine). Results are identical.")
@click.option("--resume", is_flag=True, help="Continue a killed run into the same --out "
              "from the chunks it had written.")
@setting_file_option
def trial(scenario_file: Path, out_dir: str, progress: bool | None, chunk_size: int | None,
          scheduler: str | None, resume: bool, setting_file: Path | None) -> None:
    """Run a virtual trial; write summary.json, report.html, screening_log.csv,
    patients.csv and timecourse.parquet/."""
    from nksim.cli_execution import read_trial_scenario, run_trial_scenario

    raw, scenario = read_trial_scenario(scenario_file, setting_file, out_dir)
    run_trial_scenario(scenario, raw, out_dir, progress=progress, chunk_size=chunk_size,
                       scheduler=scheduler, resume=resume, own_setting=setting_file is not None)


@cli.command("export-sbml")
@click.argument("name")
@click.option("--set", "parameter_set", metavar="SET", help="Parameter set.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default: stdout).")
def export_sbml(name: str, parameter_set: str | None, output: Path | None) -> None:
    """Write a library model as SBML Level 3 Version 2."""
    from nksim._io import check_output_file, write_text_atomic
    from nksim.library import get_model
    from nksim.model import to_sbml

    if output is not None:
        check_output_file(output, option="--output")
    text = to_sbml(get_model(name, parameter_set))
    if output is None:
        click.echo(text)
    else:
        write_text_atomic(output, text)


def _register_commands() -> None:
    """Commands defined in other modules, imported only when used (importing them all would
    make every command, ``nksim models`` included, pay for numba and the biology layer).
    Add one with ``lazy_command("NAME", "nksim.cli_x:function")``."""
    lazy_command("landscape", "nksim.cli_evidence:landscape")
    lazy_command("check-claim", "nksim.cli_evidence:check_claim")
    lazy_command("article", "nksim.cli_article:article")  # issue 14 §3
    lazy_command("patrol", "nksim.cli_patrol:patrol")  # issue 9 §4, §6
    lazy_command("assay", "nksim.cli_assay:assay")  # issue 9 §1-3, §5
    lazy_command("ageing", "nksim.cli_ageing:ageing")  # issue 12
    lazy_command("power", "nksim.cli_power:power")  # issue 11 §3
    lazy_command("simon", "nksim.cli_power:simon")  # issue 11 §3
    lazy_command("n-of-1", "nksim.cli_power:n_of_1")  # issue 11 §3
    lazy_command("sensitivity", "nksim.cli_analysis:sensitivity")  # issue 15 §3
    lazy_command("fit", "nksim.cli_analysis:fit")  # issue 15 §4


_register_commands()


def prefer_small_pages() -> None:
    """Ask numpy (imported after this) not to advise transparent huge pages for its arrays,
    unless the user set ``NUMPY_MADVISE_HUGEPAGE`` themselves.

    A run allocates and frees a chunk's output (about 100 MB for W1) again and again, and
    each time the kernel faults the fresh memory in. On the machine of docs/performance.md
    2 MB pages made that 3-5 s of system time per 100,000 W1 patients, 4 KB pages about
    1 s: 16 % less CPU in all (interleaved A/B, issue 13), identical results (page size
    changes no arithmetic)."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


#: Container objects allocated (net) before the first garbage collection of a command-line
#: run. A cached ``nksim simulate`` start allocates about 200,000 (288 collections at
#: Python's default threshold of 700); the budget is a few tens of MB of objects at most.
START_UP_ALLOCATIONS = 500_000
_gc_paused = False  # True while the pause is on


def pause_gc_during_start_up(allocations: int = START_UP_ALLOCATIONS) -> None:
    """Collect no garbage until ``allocations`` container objects have been allocated, then
    freeze what exists (``gc.freeze``) and go back to Python's thresholds.

    Start-up is imports (numpy, numba, pandas, pyarrow, pydantic): hundreds of thousands
    of objects that live as long as the process, which the collector would traverse again
    and again (288 young and 2 full collections in a cached one-patient ``nksim simulate``).
    Pausing it made that run about 0.15-0.3 s faster on the machine of
    docs/performance.md (issue 13); frozen, those objects are also skipped by the full
    collections of a long run. The first collection happens in the command's own work,
    and from then on the collector runs as usual; what is alive then stays (a few MB that
    a command such as ``nksim demo`` no longer needs). Results do not depend on it. A
    second call while paused does nothing."""
    global _gc_paused
    if _gc_paused:
        return
    _gc_paused = True
    default = gc.get_threshold()

    def resume(phase: str, info: dict) -> None:
        global _gc_paused
        if phase == "stop" and _gc_paused:  # (kept, not removed: removing a callback
            _gc_paused = False               # while callbacks run skips the next one)
            gc.freeze()
            gc.set_threshold(*default)

    gc.callbacks.append(resume)
    gc.set_threshold(allocations, *default[1:])


def main() -> None:
    """Console-script entry point."""
    prefer_small_pages()  # before anything imports numpy (``import nksim.cli`` does not)
    pause_gc_during_start_up()
    cli(prog_name="nksim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
