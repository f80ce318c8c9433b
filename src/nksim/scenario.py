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
import numbers
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nksim.config import DoseSection, PopulationSection, Scenario, SimulationSection, fields_of
from nksim.config import read_toml as read_toml
from nksim.config import validate as validate
from nksim.dosing import DOSE_BASES, Dose
from nksim.engine import Population, SimulationResult, SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Citation, Model
from nksim.population import (
    CovariateEffect,
    CovariateSpec,
    distribution,
    lognormal_parameters,
    read_covariates,
    read_parameters_file,
    sample_covariates,
)
from nksim.units import format_quantity, to_magnitude

if TYPE_CHECKING:  # pandas is loaded only by populations with covariates (start-up time)
    import pandas as pd

__all__ = ["Scenario", "SimulationPlan", "load_scenario", "plan_simulation", "read_toml",
           "validate", "resolve_scenario_path"]

MAX_OUTPUT_TIMES = 1_000_000

#: Scenario fields of the arguments that the engine and the population modules name in
#: their errors (nksim.config.fields_of).
SOLVER_FIELDS = {"rtol": "simulation.rtol", "atol": "simulation.atol",
                 "max_steps": "simulation.max_steps", "threads": "simulation.threads",
                 "times": "simulation.times"}
POPULATION_FIELDS = {"size": "population.size", "sigma": "population.lognormal_sigma",
                     "bsa_formula": "population.covariates.bsa_formula",
                     "covariates": "population.covariates"}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return validate(Scenario, read_toml(path))


def load_setting_file(path: str | Path) -> None:
    """Import a Python file that registers a disease setting of the user's own
    (:func:`nksim.trials.register_setting`), given on the command line
    (``--setting-file``): it runs that code, on this machine. Modules beside it can be
    imported by it. Any error in it (an exit too) is one line naming the file and line."""
    import hashlib
    import importlib.util
    import sys
    import traceback

    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        raise UserError(f"must be an existing .py file (got {str(path)!r})",
                        field="--setting-file")
    path = path.resolve()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module_name = f"nksim_user_setting_{path.stem}_{digest}"  # two folders' setting.py differ
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user's own code (an exit too): one line
        del sys.modules[module_name]
        line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
                     if f.filename == str(path)), None)
        where = f"{path.name}, line {line}" if line else path.name
        raise UserError(f"{where}: {type(exc).__name__}: {exc}",
                        field="--setting-file") from None
    finally:
        sys.path.remove(str(path.parent))


def resolve_scenario_path(name: str, base_dir: str | Path, field: str) -> Path:
    """A path given in a scenario, relative to the scenario's folder and inside it.

    Paths that leave the folder (``../x``, ``/etc/x``, links pointing out) are refused: a
    scenario shared with others must not read their files; a parameters file elsewhere can
    be given on the command line (``--parameters-file``).
    """
    base = Path(base_dir).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        how = ("give a file elsewhere with --parameters-file" if field.endswith("parameters_file")
               else "copy the file into that folder")
        raise UserError(f"must be inside the scenario's folder {base} ({how}) (got {name!r})",
                        field=field)
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
    covariates: pd.DataFrame | None = None

    def run(self, *, progress: bool | None = None) -> SimulationResult:
        """Simulate the plan (``progress`` overrides the options' progress bar)."""
        options = (self.options if progress is None
                   else dataclasses.replace(self.options, progress=progress))
        extra = {} if self.covariates is None else {"covariates": self.covariates}
        return simulate(self.model, self.times, parameters=self.parameters,
                        initial=self.initial, doses=self.doses, t_start=self.t_start,
                        options=options, patient_ids=self.patient_ids, **extra)

    def population(self) -> Population:
        """The plan as a :class:`nksim.engine.Population`, to be run in chunks
        (:func:`nksim.execution.run_to_folder`)."""
        return Population(self.model, self.times, self.parameters, self.initial,
                          list(self.doses), self.t_start, self.options, self.patient_ids,
                          self.covariates)


def plan_simulation(scenario: Scenario, base_dir: str | Path = ".", *,
                    parameters_file: str | Path | None = None) -> SimulationPlan:
    """Resolve the model, units, doses, output times and population of a scenario.

    ``base_dir`` is the scenario's folder (paths in the scenario are relative to it and
    must stay inside it); ``parameters_file`` (from the command line) replaces
    ``[population] parameters_file`` and may lie anywhere.
    """
    if scenario.model.file is not None:  # an SBML file (nksim.model.from_sbml)
        from nksim.model import from_sbml

        model = from_sbml(resolve_scenario_path(scenario.model.file, base_dir, "model.file"))
    else:
        with fields_of({"parameter_set": "model.parameter_set"}):
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
    with fields_of(SOLVER_FIELDS):
        options = SolverOptions(rtol=sim.rtol, atol=sim.atol, max_steps=sim.max_steps,
                                threads=sim.threads)
        if isinstance(sim.atol, dict):
            for name in sim.atol:
                model.state(name, field=f"atol.{name}")
    with fields_of(POPULATION_FIELDS):
        parameters, ids, covariates = _population(model, scenario.population, base_dir,
                                                  parameters_file)
    doses = [x for i, d in enumerate(scenario.doses)
             for x in _doses(d, i, model, t, t_start, t_end, covariates)]
    initial = np.tile(model.initial_vector(), (parameters.shape[0], 1))
    if sim.preequilibrate:  # issue 15 §3: steady state before the first dose
        from nksim.analysis import steady_state

        ss = steady_state(model, parameters=parameters, guess=initial)
        initial = ss.states.to_numpy()  # NaN where none was found: that patient fails
    return SimulationPlan(model, times, t_start, parameters, initial, doses, options, ids,
                          covariates)


def _population(model: Model, pop: PopulationSection | None, base_dir: str | Path,
                parameters_file: str | Path | None
                ) -> tuple[np.ndarray, np.ndarray | None, pd.DataFrame | None]:
    """Parameters (patients x parameters), patient ids and covariates of the population."""
    parameters = model.parameter_vector()[None, :]
    if pop is None and parameters_file is None:
        return parameters, None, None
    ids = None
    covariates = None
    size = pop.size if pop is not None else None
    if pop is not None and pop.covariates_file is not None:
        file = resolve_scenario_path(pop.covariates_file, base_dir, "population.covariates_file")
        formula = (pop.covariates.bsa_formula if pop.covariates else None) or "mosteller"
        covariates = read_covariates(file, bsa_formula=formula)
        if size is not None and size != len(covariates):
            raise UserError(f"{file.name} has {len(covariates)} patients but size = {size}",
                            field="population.size")
        size = len(covariates)
        # the file's own patient ids (its rows counted from 0 when it has none)
        ids = _patient_ids(covariates["patient"].to_numpy(), "population.covariates_file")
    if parameters_file is not None or (pop is not None and pop.parameters_file is not None):
        file = Path(parameters_file) if parameters_file is not None else \
            resolve_scenario_path(pop.parameters_file, base_dir, "population.parameters_file")
        parameters, ids = _parameters_file(model, file)
        if size is not None and size != len(parameters):
            raise UserError(f"the parameters file has {len(parameters)} patients but the "
                            f"population has {size}", field="population.size")
        size = len(parameters)
        if covariates is not None:  # both from files: each patient gets its own row
            covariates = _same_patients(covariates, ids)
    else:
        parameters = lognormal_parameters(model, size, pop.seed, pop.lognormal_sigma or 0.0,
                                          ids=ids)
    if covariates is None and pop is not None and pop.covariates is not None:
        spec = pop.covariates.model_dump(exclude_none=True, exclude={"extra"})
        if "age_years" in spec:
            age = spec["age_years"]
            spec["age_years"] = tuple(age) if isinstance(age, list) else \
                distribution(age, field="population.covariates.age_years")
        extra = {name: (dict(d["categorical"]) if set(d) == {"categorical"}
                        else distribution(d, field=f"population.covariates.extra.{name}"))
                 for name, d in pop.covariates.extra.items()}
        with fields_of({"age_years": "population.covariates.age_years"}):
            covariates = sample_covariates(size, pop.seed, CovariateSpec(**spec, extra=extra),
                                           ids=ids)
    if pop is not None and pop.covariate_effects:
        parameters = _covariate_effects(model, parameters, covariates, pop)
    if covariates is not None and ids is not None:
        covariates = covariates.assign(patient=ids)
    return parameters, ids, covariates


def _same_patients(covariates: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The covariates file's rows in the parameters file's patient order, matched by
    ``patient`` id (not by row: per-kg doses and covariate effects use each patient's own
    weight); a one-line error when the two files do not hold the same patients."""
    key = covariates["patient"].astype(str).to_numpy()
    want = np.asarray(ids).astype(str)
    if set(key) != set(want):
        odd = sorted(set(key) ^ set(want))[0]
        raise UserError(f"its patient ids are not those of the parameters file (id {odd} is in "
                        "only one of them); give both files the same ids (a table without a "
                        "patient column counts its rows from 0)",
                        field="population.covariates_file")
    row = {k: i for i, k in enumerate(key)}
    return covariates.iloc[[row[k] for k in want]].reset_index(drop=True)


def _covariate_effects(model: Model, parameters: np.ndarray, covariates: pd.DataFrame | None,
                       pop: PopulationSection) -> np.ndarray:
    """Apply ``[[population.covariate_effects]]`` (``P = P_i * g(covariate)``), within the
    parameters' bounds."""
    if covariates is None:
        raise UserError("covariate effects need covariates: add [population.covariates] or "
                        "a covariates_file", field="population.covariate_effects")
    parameters = parameters.copy()
    for k, e in enumerate(pop.covariate_effects):
        where = f"population.covariate_effects[{k}]"
        j = model.parameter_names.index(model.parameter(e.parameter,
                                                        field=f"{where}.parameter").name)
        if e.covariate not in covariates:
            raise UserError(f"unknown covariate (covariates: "
                            f"{', '.join(map(str, covariates.columns))}) (got {e.covariate!r})",
                            field=f"{where}.covariate")
        source = Citation(f"scenario:{e.parameter}", e.source, e.verified)
        effect = CovariateEffect(e.parameter, e.covariate, e.model, e.reference, e.exponent,
                                 e.coefficient, e.factors, source)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            factor = np.asarray(effect.factor(covariates[e.covariate].to_numpy()), float)
        bad = ~(np.isfinite(factor) & (factor > 0))
        if bad.any():  # an overflow or underflow would be clipped to a bound, silently
            raise UserError(f"the effect gives a factor of 0, infinity or NaN for {int(bad.sum())} "
                            f"of {bad.size} patients (a coefficient or exponent too large?)",
                            field=where)
        parameters[:, j] *= factor
    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    return np.clip(parameters, lo, hi)


def _amount(d: DoseSection, where: str, unit: str,
            covariates: pd.DataFrame | None) -> float | Any:
    """A flat amount in ``unit``, or the per-kg/per-m² quantity (checked, kept for the
    engine to resolve per patient)."""
    if isinstance(d.amount, float):
        return to_magnitude(d.amount, unit, field=f"{where}.amount")
    try:
        probe = Dose(d.state, d.amount, 0.0)
    except UserError as exc:
        raise UserError(exc.message, field=f"{where}.amount") from None
    if probe.basis == "flat":
        return to_magnitude(d.amount, unit, field=f"{where}.amount")
    column = DOSE_BASES[probe.basis]
    needs = "body weights (weight_kg)" if column == "weight_kg" else \
        "body-surface areas (bsa_m2, or weight_kg and height_cm)"
    if covariates is None or column not in covariates:
        raise UserError(f"a {probe.basis.replace('_', ' ')} dose needs {needs}: add "
                        "[population.covariates] or a covariates_file "
                        f"(got {format_quantity(d.amount)!r})", field=f"{where}.amount")
    probe.absolute(unit, {column: 1.0}, field=f"{where}.amount")  # the unit converts
    return d.amount


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def _parameters_file(model: Model, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a parameters file; errors never echo its content, duplicate ids are refused."""
    field = "population.parameters_file"
    try:
        parameters, ids = read_parameters_file(model, path)
    except UserError as exc:
        message = exc.message

        def names(m: re.Match) -> str:  # show column names only if they look like names
            items = [x.strip(" '\"") for x in m[1].split(",")]
            ok = all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", x) for x in items) or all(
                re.fullmatch(r"-?(?:inf|[0-9.]+(?:e[-+]?[0-9]+)?)", x) for x in items)  # bounds
            return m[0] if ok and len(m[0]) < 200 else "[not shown: not parameter names]"

        message = _BRACKETS.sub(names, message)
        if len(message) > 300:
            message = message[:300] + "..."
        raise UserError(message, field=field) from None
    ids = _patient_ids(np.asarray(ids), field)
    _, first, counts = np.unique(ids.astype(str), return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = np.sort(np.setdiff1d(np.arange(len(ids)), first))[0]
        original = int(np.flatnonzero(ids.astype(str) == str(ids[dup]))[0])
        raise UserError(f"duplicate patient id: row {dup + 1} repeats the id of row "
                        f"{original + 1} ({int(np.sum(counts > 1))} id(s) repeated)",
                        field=field)
    return parameters, ids


def _patient_ids(ids: np.ndarray, field: str) -> np.ndarray:
    """The ``patient`` column as 64-bit integers or text; anything else (missing values,
    bytes, lists, dates, fractions, numbers beyond 64 bits) is a one-line error."""
    bad = "the patient column must hold whole numbers below 2^63 or text, without gaps"
    if ids.dtype.kind in "iu":
        if ids.dtype.kind == "u" and ids.size and ids.max() >= 2**63:
            raise UserError(bad + " (a number is 2^63 or more)", field=field)
        return ids.astype(np.int64)
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)) or not np.all(ids == np.round(ids)):
            raise UserError(bad + " (a missing or fractional value)", field=field)
        if not np.all(np.abs(ids) < 2**63):
            raise UserError(bad + " (a number is 2^63 or more)", field=field)
        return ids.astype(np.int64)
    if ids.dtype.kind in "OUT":
        values = ids.tolist() if ids.dtype.kind != "O" else list(ids)
        if all(isinstance(v, str) for v in values):
            if not all(values):
                raise UserError(bad + " (an empty id)", field=field)
            return np.asarray(values, dtype=object)
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)
               for v in values):
            if not all(-2**63 <= int(v) < 2**63 for v in values):
                raise UserError(bad + " (a number is 2^63 or more)", field=field)
            return np.asarray([int(v) for v in values], dtype=np.int64)
        kinds = sorted({type(v).__name__ for v in values})
        raise UserError(bad + f" (found {', '.join(kinds[:4])})", field=field)
    raise UserError(bad + f" (found {ids.dtype})", field=field)


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
    if math.isclose(times[-1], t_end, rel_tol=1e-9, abs_tol=1e-9 * step):
        times[-1] = t_end  # (t_start = -0.3, step 0.1 ends at 5.6e-17, not 0)
    else:
        times = np.append(times, t_end)
    if np.any(np.diff(times) <= 0):  # e.g. t_start = 1e16: the step is below the spacing
        raise UserError(f"output times {step:g} apart are not distinct at t = {t_start:g} "
                        "(floating point): choose a larger record_every or start nearer 0",
                        field="simulation.record_every")
    return times


def _doses(d: DoseSection, i: int, model: Model, t, t_start: float, t_end: float,
           covariates: pd.DataFrame | None = None) -> list[Dose]:
    """The dose records of one ``[[doses]]`` entry, times in model units.

    Flat amounts are converted to the state's unit here; per-kg and per-m² amounts
    (``"1e7 cell/kg"``, ``"1000 mg/m^2"``) are checked here and resolved per patient from
    the covariates by the engine. A per-kg dose for a population without body weights, a
    dose before ``t_start`` or after ``t_end`` (it would be given in full at the start,
    or silently dropped) and an infusion that ends after ``t_end`` (cut short) are errors.
    """
    where = f"doses[{i}]"
    if d.state not in model.state_names:
        raise UserError(f"unknown state {d.state!r} (states: {', '.join(model.state_names)})",
                        field=f"{where}.state")
    unit = model.state(d.state).unit
    amount = _amount(d, where, unit, covariates)
    duration = t(d.duration, f"{where}.duration")

    def within(time: float, field: str) -> float:
        if time < t_start:
            raise UserError(f"dose at {time:g} is before simulation.t_start ({t_start:g})",
                            field=field)
        if time > t_end:
            raise UserError(f"dose at {time:g} is after simulation.t_end ({t_end:g})",
                            field=field)
        if duration and time + duration - t_end > 1e-12 * max(1.0, abs(t_end)):
            raise UserError(f"the infusion from {time:g} for {duration:g} ends after "
                            f"simulation.t_end ({t_end:g}): only part of it would be given",
                            field=f"{where}.duration")
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
        raise UserError(exc.message, field=f"{where}.{name}") from None
