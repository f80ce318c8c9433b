"""Scenario files: the TOML schema of ``nksim simulate`` and its translation into a run.

A scenario names a library model and parameter set, overrides parameters and
initial states (numbers in the model's unit, or ``"value unit"`` strings), lists
dose records, sets the simulation and, optionally, a virtual population. Every
problem is reported as one line naming the field, e.g.
``simulation.t_end: must be > 0 (got -3)``.

See ``docs/scenarios.md`` for the full schema with examples.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nksim.dosing import Dose
from nksim.engine import SimulationResult, SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Model
from nksim.population import lognormal_parameters, read_parameters_file
from nksim.units import to_magnitude

Quantity = float | str  # a number in the model's unit, or "value unit"
PositiveInt = Annotated[int, Field(ge=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSection(_Section):
    name: str
    parameter_set: str | None = None


class DoseSection(_Section):
    """One ``[[doses]]`` record: ``times = [...]`` or ``start``/``every``/``count``."""

    state: str
    amount: Quantity
    times: list[Quantity] | None = None
    start: Quantity | None = None
    every: Quantity | None = None
    count: PositiveInt = 1
    duration: Quantity = 0.0

    @model_validator(mode="after")
    def _one_schedule(self) -> DoseSection:
        if (self.times is None) == (self.start is None):
            raise ValueError("give either 'times = [...]' or 'start' (with 'every' and 'count')")
        if self.times is not None and (self.every is not None or self.count != 1):
            raise ValueError("'every' and 'count' go with 'start', not with 'times'")
        if self.start is not None and self.count > 1 and self.every is None:
            raise ValueError("'every' is needed when count > 1")
        return self


class SimulationSection(_Section):
    t_start: Quantity = 0.0
    t_end: Quantity
    record_every: Quantity | None = None
    times: list[Quantity] | None = None
    rtol: float = 1e-6
    atol: float | dict[str, float] = 1e-6
    max_steps: PositiveInt = 100_000
    threads: PositiveInt | None = None

    @model_validator(mode="after")
    def _one_grid(self) -> SimulationSection:
        if self.record_every is not None and self.times is not None:
            raise ValueError("give either 'record_every' or 'times', not both")
        return self


class PopulationSection(_Section):
    size: PositiveInt | None = None
    seed: int = 0
    lognormal_sigma: float | dict[str, float] | None = None
    parameters_file: str | None = None

    @model_validator(mode="after")
    def _size_or_file(self) -> PopulationSection:
        if self.parameters_file is None and self.size is None:
            raise ValueError("give 'size' (with 'lognormal_sigma') or 'parameters_file'")
        if self.parameters_file is not None and self.lognormal_sigma is not None:
            raise ValueError("'lognormal_sigma' and 'parameters_file' exclude each other")
        return self


class Scenario(_Section):
    """A whole scenario file, validated (see ``docs/scenarios.md``)."""

    model: ModelSection
    parameters: dict[str, Quantity] = {}
    initial: dict[str, Quantity] = {}
    extinction: dict[str, float | str] = {}
    doses: list[DoseSection] = []
    simulation: SimulationSection
    population: PopulationSection | None = None


# ---------------------------------------------------------------- reading
def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw contents of a TOML file, or a one-line :class:`UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}", field="scenario")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"malformed TOML in {path}: {exc}", field="scenario") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text", field="scenario") from None


def validate(schema: type[BaseModel], raw: dict[str, Any]) -> Any:
    """Validate ``raw`` against ``schema``; the first problem becomes a one-line error."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ""
    for part in err["loc"]:
        if isinstance(part, int):
            loc += f"[{part}]"
        elif part in ("float", "str", "int", "dict[str,float]", "list[union[float,str]]"):
            continue  # pydantic's union branch names: not fields
        else:
            loc += f".{part}" if loc else str(part)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    got = err.get("input")
    if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, dict | list):
        msg = f"{msg} (got {got!r})"
    return f"{loc}: {msg}" if loc else msg


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return validate(Scenario, read_toml(path))


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


def plan_simulation(scenario: Scenario, base_dir: str | Path = ".") -> SimulationPlan:
    """Resolve the model, units, doses, output times and population of a scenario."""
    model = get_model(scenario.model.name, scenario.model.parameter_set)
    model = model.with_values(scenario.parameters, scenario.initial)
    if scenario.extinction:
        model = model.with_extinction(_extinction(scenario.extinction))
    time_unit = model.time_unit
    sim = scenario.simulation

    def t(value: Quantity, field: str) -> float:
        return to_magnitude(value, time_unit, field=field)

    t_start = t(sim.t_start, "simulation.t_start")
    t_end = t(sim.t_end, "simulation.t_end")
    if not t_end > t_start:
        raise UserError(f"must be > t_start ({t_start:g}) (got {t_end:g})",
                        field="simulation.t_end")
    times = _output_times(sim, t_start, t_end, t)
    doses = [x for i, d in enumerate(scenario.doses) for x in _doses(d, i, model, t)]
    options = SolverOptions(rtol=sim.rtol, atol=sim.atol, max_steps=sim.max_steps,
                            threads=sim.threads)
    parameters = model.parameter_vector()[None, :]
    ids = None
    pop = scenario.population
    if pop is not None:
        if pop.parameters_file is not None:
            file = Path(base_dir) / pop.parameters_file
            parameters, ids = read_parameters_file(model, file)
        else:
            parameters = lognormal_parameters(model, pop.size, pop.seed,
                                              pop.lognormal_sigma or 0.0)
    initial = np.tile(model.initial_vector(), (parameters.shape[0], 1))
    return SimulationPlan(model, times, t_start, parameters, initial, doses, options, ids)


def _extinction(spec: dict[str, float | str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, value in spec.items():
        if value == "off":
            out[name] = None
        elif isinstance(value, int | float) and value > 0 and math.isfinite(value):
            out[name] = float(value)
        else:
            raise UserError(f"must be a threshold > 0 or \"off\" (got {value!r})",
                            field=f"extinction.{name}")
    return out


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
    count = math.floor((t_end - t_start) / step + 1e-9)
    if count > 1_000_000:
        raise UserError("more than a million output times", field="simulation.record_every")
    times = t_start + step * np.arange(count + 1)
    return times if math.isclose(times[-1], t_end) else np.append(times, t_end)


def _doses(d: DoseSection, i: int, model: Model, t) -> list[Dose]:
    """The dose records of one ``[[doses]]`` entry, in model units."""
    where = f"doses[{i}]"
    if d.state not in model.state_names:
        raise UserError(f"unknown state {d.state!r} (states: {', '.join(model.state_names)})",
                        field=f"{where}.state")
    amount = to_magnitude(d.amount, model.state(d.state).unit, field=f"{where}.amount")
    duration = t(d.duration, f"{where}.duration")
    try:
        if d.times is not None:
            return [Dose(d.state, amount, t(v, f"{where}.times[{k}]"), duration=duration)
                    for k, v in enumerate(d.times)]
        every = t(d.every, f"{where}.every") if d.every is not None else None
        return [Dose(d.state, amount, t(d.start, f"{where}.start"), every=every,
                     count=d.count, duration=duration)]
    except UserError as exc:  # name the record, not just the field
        name = (exc.field or "").rsplit(".", 1)[-1]
        raise UserError(str(exc).split(": ", 1)[-1], field=f"{where}.{name}") from None
