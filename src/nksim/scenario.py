"""Scenario files of ``nksim simulate``: loading (schema in :mod:`nksim.config`) and the
translation of a validated scenario into a run.

A scenario names a library model and parameter set, overrides parameters and
initial states (numbers in the model's unit, or ``"value unit"`` strings), lists
dose records, sets the simulation and, optionally, a virtual population. Every
problem is reported as one line naming the field, e.g.
``simulation.t_end: must be > t_start (0) (got -3)``.

See ``docs/scenarios.md`` for the schema with examples and ``docs/schema.md`` for every
field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nksim.config import DoseSection, Scenario, SimulationSection
from nksim.config import read_toml as read_toml
from nksim.config import validate as validate
from nksim.dosing import Dose
from nksim.engine import SimulationResult, SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Model
from nksim.population import lognormal_parameters, read_parameters_file
from nksim.units import to_magnitude

__all__ = ["Scenario", "SimulationPlan", "load_scenario", "plan_simulation", "read_toml",
           "validate", "resolve_scenario_path"]

MAX_OUTPUT_TIMES = 1_000_000


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return validate(Scenario, read_toml(path))


def resolve_scenario_path(name: str, base_dir: str | Path, field: str) -> Path:
    """A path given in a scenario, relative to the scenario's folder and inside it.

    Paths that leave the folder (``../x``, ``/etc/x``, links pointing out) are refused: a
    file elsewhere must be given on the command line (e.g. ``--parameters-file``).
    """
    base = Path(base_dir).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise UserError(f"must be inside the scenario's folder {base} (give a file elsewhere "
                        f"on the command line) (got {name!r})", field=field)
    return path


# ---------------------------------------------------------------- translation into a run
@dataclass(frozen=True)
class SimulationPlan:
    """Everything :func:`nksim.engine.simulate` needs, in model units."""

    model: Model
    times: np.ndarray
    t_start: float
    parameters: np.ndarray
    initial: np.ndarray
    doses: list[Dose]
    options: SolverOptions
    patient_ids: np.ndarray | None = None

    def run(self, *, progress: bool | None = None) -> SimulationResult:
        """Simulate the plan (``progress`` overrides the options' progress bar)."""
        options = (self.options if progress is None
                   else dataclasses.replace(self.options, progress=progress))
        return simulate(self.model, self.times, parameters=self.parameters,
                        initial=self.initial, doses=self.doses, t_start=self.t_start,
                        options=options, patient_ids=self.patient_ids)


def plan_simulation(scenario: Scenario, base_dir: str | Path = ".", *,
                    parameters_file: str | Path | None = None) -> SimulationPlan:
    """Resolve the model, units, doses, output times and population of a scenario.

    ``base_dir`` is the scenario's folder (paths in the scenario are relative to it and
    must stay inside it); ``parameters_file`` (from the command line) replaces
    ``[population] parameters_file`` and may lie anywhere.
    """
    model = get_model(scenario.model.name, scenario.model.parameter_set)
    model = model.with_values(scenario.parameters, scenario.initial)
    if scenario.extinction:
        model = model.with_extinction(dict(scenario.extinction))
    time_unit = model.time_unit
    sim = scenario.simulation

    def t(value: Any, field: str) -> float:
        return to_magnitude(value, time_unit, field=field)

    t_start = t(sim.t_start, "simulation.t_start")
    t_end = t(sim.t_end, "simulation.t_end")
    if not t_end > t_start:
        raise UserError(f"must be > t_start ({t_start:g}) (got {t_end:g})",
                        field="simulation.t_end")
    times = _output_times(sim, t_start, t_end, t)
    doses = [x for i, d in enumerate(scenario.doses)
             for x in _doses(d, i, model, t, t_start, t_end)]
    options = SolverOptions(rtol=sim.rtol, atol=sim.atol, max_steps=sim.max_steps,
                            threads=sim.threads)
    parameters = model.parameter_vector()[None, :]
    ids = None
    pop = scenario.population
    if pop is not None or parameters_file is not None:
        if parameters_file is not None:
            parameters, ids = _parameters_file(model, Path(parameters_file))
        elif pop.parameters_file is not None:
            file = resolve_scenario_path(pop.parameters_file, base_dir,
                                         "population.parameters_file")
            parameters, ids = _parameters_file(model, file)
        else:
            parameters = lognormal_parameters(model, pop.size, pop.seed,
                                              pop.lognormal_sigma or 0.0)
    initial = np.tile(model.initial_vector(), (parameters.shape[0], 1))
    return SimulationPlan(model, times, t_start, parameters, initial, doses, options, ids)


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def _parameters_file(model: Model, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a parameters file; errors never echo its content, duplicate ids are refused."""
    field = "population.parameters_file"
    try:
        parameters, ids = read_parameters_file(model, path)
    except UserError as exc:
        message = str(exc).split(": ", 1)[-1] if exc.field else str(exc)

        def names(m: re.Match) -> str:  # show column names only if they look like names
            items = [x.strip(" '\"") for x in m[1].split(",")]
            ok = all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", x) for x in items)
            return m[0] if ok and len(m[0]) < 200 else "[not shown: not parameter names]"

        message = _BRACKETS.sub(names, message)
        if len(message) > 300:
            message = message[:300] + "..."
        raise UserError(message, field=field) from None
    ids = np.asarray(ids)
    _, first, counts = np.unique(ids.astype(str), return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = np.sort(np.setdiff1d(np.arange(len(ids)), first))[0]
        original = int(np.flatnonzero(ids.astype(str) == str(ids[dup]))[0])
        raise UserError(f"duplicate patient id: row {dup + 1} repeats the id of row "
                        f"{original + 1} ({int(np.sum(counts > 1))} id(s) repeated)",
                        field=field)
    return parameters, ids


def _output_times(sim: SimulationSection, t_start: float, t_end: float, t) -> np.ndarray:
    if sim.times is not None:
        times = np.array([t(v, f"simulation.times[{i}]") for i, v in enumerate(sim.times)])
        if times.size == 0 or np.any(np.diff(times) <= 0):
            raise UserError("must be a non-empty increasing list", field="simulation.times")
        if times[0] < t_start or times[-1] > t_end:
            raise UserError(f"must lie within [{t_start:g}, {t_end:g}]", field="simulation.times")
        return times if times[-1] == t_end else np.append(times, t_end)
    step = t(sim.record_every, "simulation.record_every") if sim.record_every is not None \
        else (t_end - t_start) / 100
    if not step > 0:
        raise UserError(f"must be > 0 (got {step:g})", field="simulation.record_every")
    span = (t_end - t_start) / step
    if not span <= MAX_OUTPUT_TIMES:
        raise UserError(f"more than {MAX_OUTPUT_TIMES:,} output times "
                        f"((t_end - t_start) / record_every = {span:.3g})",
                        field="simulation.record_every")
    count = math.floor(span + 1e-9)
    times = t_start + step * np.arange(count + 1)
    return times if math.isclose(times[-1], t_end) else np.append(times, t_end)


def _doses(d: DoseSection, i: int, model: Model, t, t_start: float,
           t_end: float) -> list[Dose]:
    """The dose records of one ``[[doses]]`` entry, in model units.

    A dose before ``t_start`` or after ``t_end`` is an error (it would be given in full at
    the start, or silently dropped).
    """
    where = f"doses[{i}]"
    if d.state not in model.state_names:
        raise UserError(f"unknown state {d.state!r} (states: {', '.join(model.state_names)})",
                        field=f"{where}.state")
    amount = to_magnitude(d.amount, model.state(d.state).unit, field=f"{where}.amount")
    duration = t(d.duration, f"{where}.duration")

    def within(time: float, field: str) -> float:
        if time < t_start:
            raise UserError(f"dose at {time:g} is before simulation.t_start ({t_start:g})",
                            field=field)
        if time > t_end:
            raise UserError(f"dose at {time:g} is after simulation.t_end ({t_end:g})",
                            field=field)
        return time

    try:
        if d.times is not None:
            return [Dose(d.state, amount, within(t(v, f"{where}.times[{k}]"),
                                                 f"{where}.times[{k}]"), duration=duration)
                    for k, v in enumerate(d.times)]
        every = t(d.every, f"{where}.every") if d.every is not None else None
        start = within(t(d.start, f"{where}.start"), f"{where}.start")
        if d.count > 1:
            last = start + (every or 0.0) * (d.count - 1)
            within(last, f"{where}.count")
        return [Dose(d.state, amount, start, every=every, count=d.count, duration=duration)]
    except UserError as exc:  # name the record, not just the field
        if exc.field and exc.field.startswith(where):
            raise
        name = (exc.field or "").rsplit(".", 1)[-1]
        raise UserError(str(exc).split(": ", 1)[-1], field=f"{where}.{name}") from None
